/* Fixed little-endian layout of the hot stored values (schema version 3).
 *
 * Dataset summaries and block placements are read every allocation cycle, so
 * they are stored as flat records read straight from the mapped LMDB page:
 * a 4-byte header (magic, kind, layout version), fixed-width fields, then
 * fixed-size entries whose storage hosts are interned 32-bit ids (the
 * `host_names` / `host_ids` sub-databases). Parsing is a length check and a
 * pass over the entries; no allocation, no copy. LMDB aligns values to two
 * bytes only, so every field is read with memcpy. The byte-by-byte layout is
 * in docs/hint-store.md. Protobuf (proto/locus_hints.proto) stays the schema
 * of these records and the format of everything else. */
#include <string.h>

#include "hintstore_internal.h"

static int header_ok(const unsigned char *p, unsigned kind)
{
    return p[0] == HS_LAYOUT_MAGIC0 && p[1] == HS_LAYOUT_MAGIC1 && p[2] == kind &&
           p[3] == HS_LAYOUT_VERSION;
}

static void header_put(unsigned char *p, unsigned kind)
{
    p[0] = HS_LAYOUT_MAGIC0;
    p[1] = HS_LAYOUT_MAGIC1;
    p[2] = (unsigned char)kind;
    p[3] = HS_LAYOUT_VERSION;
}

int hs_summary_parse(const void *data, size_t len, hs_summary *out)
{
    const unsigned char *p = data;
    if (len < HS_SUMMARY_HEAD || !header_ok(p, HS_KIND_SUMMARY))
        return -1;
    uint32_t n = hs_le32_get(p + 4);
    if (n > HS_SUMMARY_MAX_ENTRIES || len != HS_SUMMARY_HEAD + (size_t)n * HS_SUMMARY_ENTRY)
        return -1;
    /* A first lookup is bound by memory latency: ask for every cache line
     * of the record at once instead of missing on them one after another. */
    for (size_t off = 64; off < len; off += 64)
        __builtin_prefetch(p + off);
    out->n = n;
    out->total_bytes = hs_le64_get(p + 8);
    out->block_count = hs_le64_get(p + 16);
    out->version = hs_le64_get(p + 24);
    out->updated_at_ms = (int64_t)hs_le64_get(p + 32);
    out->dataset_id = hs_le32_get(p + 40);
    out->ents = p + HS_SUMMARY_HEAD;
    out->max_host = 0;
    if (out->total_bytes > (uint64_t)INT64_MAX || out->block_count > (uint64_t)INT64_MAX)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t host, tier;
        uint64_t bytes;
        hs_summary_entry(out, i, &host, &tier, &bytes);
        if (tier < LOCUS_TIER_MEM || host >= HS_MAX_HOST_IDS || bytes > out->total_bytes)
            return -1;
        if (host + 1 > out->max_host)
            out->max_host = host + 1;
    }
    return 0;
}

size_t hs_summary_size(uint32_t n) { return HS_SUMMARY_HEAD + (size_t)n * HS_SUMMARY_ENTRY; }

void hs_summary_write(unsigned char *p, const hs_summary *s)
{
    header_put(p, HS_KIND_SUMMARY);
    hs_le32_put(p + 4, s->n);
    hs_le64_put(p + 8, s->total_bytes);
    hs_le64_put(p + 16, s->block_count);
    hs_le64_put(p + 24, s->version);
    hs_le64_put(p + 32, (uint64_t)s->updated_at_ms);
    hs_le32_put(p + 40, s->dataset_id);
}

void hs_summary_entry_put(unsigned char *p, uint32_t i, uint32_t host, uint32_t tier,
                          uint64_t bytes)
{
    unsigned char *e = p + HS_SUMMARY_HEAD + (size_t)i * HS_SUMMARY_ENTRY;
    hs_le32_put(e, host << 2 | tier);
    hs_le64_put(e + 4, bytes);
}

int hs_blockrec_parse(const void *data, size_t len, hs_blockrec *out)
{
    const unsigned char *p = data;
    if (len < HS_BLOCK_HEAD || !header_ok(p, HS_KIND_BLOCK))
        return -1;
    uint32_t n = (uint32_t)p[4] | (uint32_t)p[5] << 8;
    size_t blen = p[6];
    if (n > HS_MAX_REPLICAS || blen == 0 || blen > HS_MAX_BACKEND || p[7] != 0 ||
        len != HS_BLOCK_HEAD + (size_t)n * 4 + blen)
        return -1;
    out->n_rep = n;
    out->bytes = hs_le64_get(p + 8);
    out->updated_at_ms = (int64_t)hs_le64_get(p + 16);
    out->reps = p + HS_BLOCK_HEAD;
    out->backend = (const char *)p + HS_BLOCK_HEAD + (size_t)n * 4;
    out->backend_len = blen;
    out->max_host = 0;
    if (out->bytes > HS_MAX_BLOCK_BYTES || memchr(out->backend, '\0', blen))
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = hs_le32_get(out->reps + 4 * (size_t)i), tier = r & 3, host = r >> 2;
        if (tier < LOCUS_TIER_MEM || host >= HS_MAX_HOST_IDS)
            return -1;
        if (host + 1 > out->max_host)
            out->max_host = host + 1;
    }
    return 0;
}

size_t hs_blockrec_size(uint32_t n_rep, size_t backend_len)
{
    return HS_BLOCK_HEAD + (size_t)n_rep * 4 + backend_len;
}

void hs_blockrec_write(unsigned char *p, uint64_t bytes, int64_t updated_at_ms,
                       const uint32_t *reps, uint32_t n_rep, const char *backend,
                       size_t backend_len)
{
    header_put(p, HS_KIND_BLOCK);
    p[4] = (unsigned char)(n_rep & 0xff);
    p[5] = (unsigned char)(n_rep >> 8);
    p[6] = (unsigned char)backend_len;
    p[7] = 0;
    hs_le64_put(p + 8, bytes);
    hs_le64_put(p + 16, (uint64_t)updated_at_ms);
    for (uint32_t i = 0; i < n_rep; i++)
        hs_le32_put(p + HS_BLOCK_HEAD + 4 * (size_t)i, reps[i]);
    memcpy(p + HS_BLOCK_HEAD + (size_t)n_rep * 4, backend, backend_len);
}
