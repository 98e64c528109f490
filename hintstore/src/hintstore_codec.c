/* Key encodings, value codecs and error text of the hint store.
 *
 * Keys are chosen so LMDB's default byte order is the order callers want:
 * a blocks key is the dataset name, a NUL, then the index in 8 big-endian
 * bytes, so a dataset's blocks are contiguous and in index order, and
 * datasets sort by name (a NUL sorts before any name byte). Meta and host
 * bindings are protobuf-c messages packed straight into the LMDB page with
 * MDB_RESERVE; summaries and blocks use the fixed layout of
 * hintstore_layout.c. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "hintstore_internal.h"
#include "locus/util.h"

void hs_seterr(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, HS_ERRLEN, fmt, ap);
    va_end(ap);
}

int hs_mdb_status(char *buf, int rc, const char *what)
{
    int st;
    switch (rc) {
    case MDB_SUCCESS: return 0;
    case MDB_NOTFOUND: st = LOCUS_ENOTFOUND; break;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL: st = LOCUS_EFULL; break;
    case ENOMEM: st = LOCUS_ENOMEM; break;
    case MDB_CORRUPTED:
    case MDB_INVALID: /* no LMDB magic: damage, not another version */
    case MDB_PAGE_NOTFOUND: st = LOCUS_ECORRUPT; break;
    case MDB_VERSION_MISMATCH: st = LOCUS_ESCHEMA; break;
    case EBUSY: st = LOCUS_EBUSY; break;
    default: st = LOCUS_EIO; break;
    }
    hs_seterr(buf, "%s: %s", what, mdb_strerror(rc));
    return st;
}

int hs_store_status(locus_hs *hs, int rc, const char *what)
{
    char why[160] = "";
    if (rc == EIO || rc == ENOSPC || rc == EFBIG) {
        struct statvfs fs;
        struct stat st;
        struct rlimit rl;
        char data[4096];
        snprintf(data, sizeof data, "%s/data.mdb", hs->path);
        if (statvfs(hs->path, &fs) == 0 && fs.f_bavail == 0)
            snprintf(why, sizeof why, "; the file system holding it is full (ENOSPC: %s)",
                     strerror(ENOSPC));
        else if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
                 stat(data, &st) == 0 && (rlim_t)st.st_size + 65536 >= rl.rlim_cur)
            snprintf(why, sizeof why, "; the process file size limit is reached (EFBIG: %s)",
                     strerror(EFBIG));
    }
    int st = hs_mdb_status(hs->err, rc, what);
    char msg[HS_ERRLEN];
    snprintf(msg, sizeof msg, "hint store %s/data.mdb: %s: %s%s", hs->path, what,
             mdb_strerror(rc), why);
    memcpy(hs->err, msg, sizeof msg);
    return st;
}

void hs_key_text(const char *db, const void *key, size_t len, char *out, size_t outlen)
{
    const unsigned char *k = key;
    const char *ds;
    size_t dlen, o = 0;
    uint64_t idx;
    int block = db && strcmp(db, HS_DB_BLOCKS) == 0 &&
                hs_block_key_parse(key, len, &ds, &dlen, &idx) == 0;
    if (block)
        len = dlen;
    if (outlen == 0)
        return;
    for (size_t i = 0; i < len && o + 5 < outlen; i++) {
        if (isprint(k[i]) && k[i] != '\\')
            out[o++] = (char)k[i];
        else
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", k[i]);
    }
    out[o] = '\0';
    if (block)
        snprintf(out + o, outlen - o, "#%llu", (unsigned long long)idx);
}

uint64_t hs_hash_bytes(const char *s, size_t n)
{
    /* eight bytes a step: a batch interns several names per block */
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, s + i, n - i);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    }
    return locus_hash_mix64(h);
}

void hs_be64_put(unsigned char *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v); /* one instruction instead of a loop per byte (a key per lookup) */
#endif
    memcpy(p, &v, 8);
}

uint64_t hs_be64_get(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

size_t hs_block_key(char *buf, const char *dataset, size_t dlen, uint64_t index)
{
    memcpy(buf, dataset, dlen);
    buf[dlen] = '\0';
    hs_be64_put((unsigned char *)buf + dlen + 1, index);
    return dlen + 9;
}

int hs_block_key_parse(const void *key, size_t len, const char **dataset, size_t *dlen,
                       uint64_t *index)
{
    const char *k = key;
    if (len < 10 || k[len - 9] != '\0' || memchr(k, '\0', len - 9))
        return -1;
    *dataset = k;
    *dlen = len - 9;
    *index = hs_be64_get((const unsigned char *)k + len - 8);
    return 0;
}

locus_tier hs_tier_from_pb(int t)
{
    return (t == LOCUS_TIER_MEM || t == LOCUS_TIER_SSD) ? (locus_tier)t : LOCUS_TIER_HDD;
}

const char *locus_tier_name(locus_tier tier)
{
    switch (tier) {
    case LOCUS_TIER_MEM: return "MEM";
    case LOCUS_TIER_SSD: return "SSD";
    case LOCUS_TIER_HDD: return "HDD";
    }
    return "?";
}

int locus_tier_parse(const char *s, locus_tier *out)
{
    static const struct { const char *name; locus_tier tier; } names[] = {
        {"MEM", LOCUS_TIER_MEM},  {"RAM_DISK", LOCUS_TIER_MEM}, {"SSD", LOCUS_TIER_SSD},
        {"HDD", LOCUS_TIER_HDD},  {"DISK", LOCUS_TIER_HDD},     {"ARCHIVE", LOCUS_TIER_HDD},
    };
    if (!s || !out)
        return LOCUS_EINVAL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].tier;
            return 0;
        }
    }
    return LOCUS_EINVAL;
}

#define HS_DECODER(fn, type, desc)                                                         \
    type *fn(hs_arena *a, const MDB_val *v)                                               \
    {                                                                                     \
        return (type *)protobuf_c_message_unpack(&desc, &a->pb, v->mv_size, v->mv_data); \
    }
HS_DECODER(hs_decode_binding, Locus__HostBinding, locus__host_binding__descriptor)
HS_DECODER(hs_decode_meta, Locus__StoreMeta, locus__store_meta__descriptor)

int hs_put_message(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, const ProtobufCMessage *msg,
                   unsigned flags)
{
    MDB_val v;
    v.mv_size = protobuf_c_message_get_packed_size(msg);
    v.mv_data = NULL;
    int rc = mdb_put(txn, dbi, key, &v, flags | MDB_RESERVE);
    if (rc == 0)
        protobuf_c_message_pack(msg, v.mv_data);
    return rc;
}

int hs_meta_read(locus_hs *hs, MDB_txn *txn, hs_arena *a, Locus__StoreMeta **out, char *err)
{
    MDB_val k = {sizeof(HS_META_KEY) - 1, (void *)HS_META_KEY}, v;
    *out = NULL;
    int rc = mdb_get(txn, hs->db_meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return hs_mdb_status(err, rc, "meta");
    *out = hs_decode_meta(a, &v);
    if (!*out) {
        if (a->failed) {
            hs_seterr(err, "%s: out of memory decoding meta", hs->path);
            return LOCUS_ENOMEM;
        }
        hs_seterr(err, "%s: sub-database meta, key 'meta': value does not decode", hs->path);
        return LOCUS_ECORRUPT;
    }
    return 0;
}
