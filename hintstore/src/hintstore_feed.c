/* Hint store change feed: what each commit changed, so a reader that holds
 * an index built at generation g can update it instead of rebuilding it.
 *
 * The writer collects, during a commit, the datasets whose content changed
 * (created, deleted, blocks or placement moved), the datasets a poll only
 * confirmed (same content, newer updated_at_ms), the storage hosts whose
 * binding was set and the blocks whose placement changed. write_meta stores
 * them as one record under the new generation in the `changes` sub-database
 * and trims the oldest records (at most HS_FEED_KEEP records and
 * HS_FEED_KEEP_BYTES bytes). A list longer than its cap is not stored; the
 * record says it overflowed instead, and a reader crossing it is told to read
 * in full (for blocks: that the block list is incomplete, the dataset list
 * still is).
 *
 * Record value (native byte order - the store never leaves its machine):
 *   u32 magic "LCF2", u32 flags (HS_FEED_*_OVERFLOW, HS_FEED_VALUES), i64 commit ms,
 *   u32 n_datasets, u32 n_confirmed, u32 n_hosts, u32 n_blocks,
 *   then n_datasets + n_confirmed + n_hosts names as (u16 length, bytes,
 *   a NUL: the reader hands names out in place),
 *   then n_blocks entries (u32 ordinal in the datasets list, u64 index),
 *   then, with HS_FEED_VALUES, one entry per dataset of the datasets list:
 *   u32 length (UINT32_MAX: the commit deleted it) and the dataset's new
 *   summary value, byte for byte what the datasets sub-database holds.
 * Records written before values were carried ("LCF1": names without the
 * NUL, copied by the reader) end after the blocks and are still read; their
 * datasets are looked up in the tree.
 *
 * The reader (locus_hs_snapshot_changes_since) reads the records g+1 .. its
 * own generation inside its snapshot's read transaction, so the answer is
 * exactly the difference between the two generations. The newest value of
 * each dataset the records carry is handed to the snapshot, which answers
 * lookups of those datasets from it: a reader catching up with a commit
 * reads the changed summaries in one sequential record instead of one
 * B-tree descent each into pages the writer has just rewritten. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hintstore_internal.h"

#define HS_FEED_MAGIC_V1 0x3146434cu /* "LCF1" read as little-endian */
#define HS_FEED_MAGIC 0x3246434cu    /* "LCF2" */
#define HS_FEED_DS_OVERFLOW 1u
#define HS_FEED_CONF_OVERFLOW 2u
#define HS_FEED_HOSTS_OVERFLOW 4u
#define HS_FEED_BLOCKS_OVERFLOW 8u
#define HS_FEED_VALUES_OVERFLOW 16u
#define HS_FEED_VALUES 32u /* the values section follows the blocks */
#define HS_FEED_HEADER 32

/* ---- writer side ---- */

static int buf_add(hs_feed_list *l, const void *p, size_t n, size_t cap)
{
    if (l->overflow)
        return 0;
    if (l->len + n > cap) {
        l->overflow = 1;
        return 0;
    }
    if (l->len + n > l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4096;
        while (nc < l->len + n)
            nc *= 2;
        unsigned char *nb = realloc(l->buf, nc);
        if (!nb)
            return -1;
        l->buf = nb;
        l->cap = nc;
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
    return 0;
}

static int name_add(hs_feed_list *l, const char *s, size_t n)
{
    if (n > UINT16_MAX) {
        l->overflow = 1;
        return 0;
    }
    unsigned char e[2 + HS_MAX_DATASET + HS_MAX_HOST + 3];
    uint16_t len = (uint16_t)n;
    if (n > sizeof e - 3) {
        l->overflow = 1;
        return 0;
    }
    memcpy(e, &len, 2);
    memcpy(e + 2, s, n);
    e[2 + n] = 0; /* a reader hands the name out in place, as a C string */
    if (buf_add(l, e, n + 3, HS_FEED_MAX_NAME_BYTES))
        return -1;
    if (!l->overflow)
        l->count++;
    return 0;
}

int hs_feed_dataset(hs_feed *f, const char *name, size_t n, int changed, const void *value,
                    size_t vlen)
{
    if (!changed)
        return name_add(&f->confirmed, name, n);
    uint32_t before = f->datasets.count;
    if (name_add(&f->datasets, name, n))
        return -1;
    if (f->datasets.overflow || f->datasets.count == before)
        return 0; /* not listed: its value is not either */
    if (vlen >= HS_FEED_VALUE_DELETED) {
        f->values.overflow = 1;
        return 0;
    }
    uint32_t len = value ? (uint32_t)vlen : UINT32_MAX;
    if (buf_add(&f->values, &len, 4, HS_FEED_MAX_VALUE_BYTES) ||
        (value && buf_add(&f->values, value, vlen, HS_FEED_MAX_VALUE_BYTES)))
        return -1;
    return 0;
}

int hs_feed_host(hs_feed *f, const char *host)
{
    return name_add(&f->hosts, host, strlen(host));
}

int hs_feed_block(hs_feed *f, uint64_t index)
{
    /* The block's dataset is the one being walked; it is added to the
     * datasets list when the walk leaves it, as the next entry. */
    unsigned char e[12];
    uint32_t ord = f->datasets.count;
    if (f->datasets.overflow) {
        f->blocks.overflow = 1;
        return 0;
    }
    memcpy(e, &ord, 4);
    memcpy(e + 4, &index, 8);
    if (buf_add(&f->blocks, e, sizeof e, (size_t)HS_FEED_MAX_BLOCKS * sizeof e))
        return -1;
    if (!f->blocks.overflow)
        f->blocks.count++;
    return 0;
}

void hs_feed_free(hs_feed *f)
{
    free(f->datasets.buf);
    free(f->confirmed.buf);
    free(f->hosts.buf);
    free(f->blocks.buf);
    free(f->values.buf);
    memset(f, 0, sizeof *f);
}

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

int hs_feed_write(locus_hs *hs, MDB_txn *txn, const hs_feed *f, uint64_t generation,
                  int64_t now_ms)
{
    const hs_feed_list *lists[4] = {&f->datasets, &f->confirmed, &f->hosts, &f->blocks};
    size_t size = HS_FEED_HEADER;
    uint32_t flags = 0;
    for (int i = 0; i < 4; i++) {
        if (lists[i]->overflow)
            flags |= 1u << i;
        else
            size += lists[i]->len;
    }
    /* Values only beside a whole datasets list (one per name). */
    const hs_feed_list *vals = &f->values;
    if (f->values.overflow)
        flags |= HS_FEED_VALUES_OVERFLOW;
    else if (!f->datasets.overflow) {
        flags |= HS_FEED_VALUES;
        size += vals->len;
    }
    unsigned char key[8];
    hs_be64_put(key, generation);
    MDB_val k = {8, key}, v = {size, NULL};
    int rc = mdb_put(txn, hs->db_changes, &k, &v, MDB_RESERVE);
    if (rc)
        return hs_mdb_status(hs->err, rc, "changes: write record");
    unsigned char *p = v.mv_data;
    put32(p, HS_FEED_MAGIC);
    put32(p + 4, flags);
    memcpy(p + 8, &now_ms, 8);
    for (int i = 0; i < 4; i++)
        put32(p + 16 + 4 * i, lists[i]->overflow ? 0 : lists[i]->count);
    p += HS_FEED_HEADER;
    for (int i = 0; i < 4; i++) {
        if (!lists[i]->overflow && lists[i]->len) {
            memcpy(p, lists[i]->buf, lists[i]->len);
            p += lists[i]->len;
        }
    }
    if ((flags & HS_FEED_VALUES) && vals->len)
        memcpy(p, vals->buf, vals->len);
    /* Trim: keep the newest records within both bounds. */
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, hs->db_changes, &cur)) != 0)
        return hs_mdb_status(hs->err, rc, "changes: trim");
    size_t kept = 0, bytes = 0;
    int drop = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_LAST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        if (!drop) {
            kept++;
            bytes += v.mv_size;
            drop = kept > HS_FEED_KEEP || (kept > 1 && bytes > HS_FEED_KEEP_BYTES);
        }
        if (drop && (rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return hs_mdb_status(hs->err, rc, "changes: trim");
    return 0;
}

/* ---- reader side ---- */

typedef struct pending_block {
    const char *dataset;
    uint64_t index;
} pending_block;

/* A changed dataset as the records list it: its newest listing wins. */
typedef struct feed_ds {
    const char *name;
    const unsigned char *value; /* its summary value in the record, if carried */
    uint32_t len;               /* value bytes or HS_FEED_VALUE_UNKNOWN / _DELETED */
    uint32_t seq;               /* listing order over the records read */
} feed_ds;

typedef struct collect {
    hs_arena *a;
    feed_ds *ds;
    size_t n_ds, cap_ds;
    locus_hs_confirmed *conf;
    size_t n_conf, cap_conf;
    const char **hosts;
    size_t n_hosts, cap_hosts;
    locus_hs_block_ref *blocks;
    size_t n_blocks, cap_blocks;
} collect;

#define GROW(arr, n, cap)                                                     \
    do {                                                                      \
        if ((n) == (cap)) {                                                   \
            size_t nc_ = (cap) ? (cap) * 2 : 64;                              \
            void *np_ = realloc((arr), nc_ * sizeof(*(arr)));                 \
            if (!np_)                                                         \
                return -1;                                                    \
            (arr) = np_;                                                      \
            (cap) = nc_;                                                      \
        }                                                                     \
    } while (0)

static int add_ds(collect *c, const char *s)
{
    GROW(c->ds, c->n_ds, c->cap_ds);
    c->ds[c->n_ds] = (feed_ds){s, NULL, HS_FEED_VALUE_UNKNOWN, (uint32_t)c->n_ds};
    c->n_ds++;
    return 0;
}
static int add_conf(collect *c, const char *s, int64_t ms)
{
    GROW(c->conf, c->n_conf, c->cap_conf);
    c->conf[c->n_conf].dataset = s;
    c->conf[c->n_conf++].updated_at_ms = ms;
    return 0;
}
static int add_host(collect *c, const char *s)
{
    GROW(c->hosts, c->n_hosts, c->cap_hosts);
    c->hosts[c->n_hosts++] = s;
    return 0;
}
static int add_block(collect *c, const char *ds, uint64_t index)
{
    GROW(c->blocks, c->n_blocks, c->cap_blocks);
    c->blocks[c->n_blocks].dataset = ds;
    c->blocks[c->n_blocks++].index = index;
    return 0;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}
static int ds_cmp(const void *a, const void *b)
{
    const feed_ds *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    /* newest first within a name, so the unique pass keeps the newest */
    return r ? r : (x->seq < y->seq) - (x->seq > y->seq);
}
static int name_cmp(const void *a, const void *b)
{
    return strcmp(((const feed_ds *)a)->name, ((const feed_ds *)b)->name);
}
static int conf_cmp(const void *a, const void *b)
{
    const locus_hs_confirmed *x = a, *y = b;
    int r = strcmp(x->dataset, y->dataset);
    /* newest first within a name, so the unique pass keeps the newest */
    return r ? r : (x->updated_at_ms < y->updated_at_ms) - (x->updated_at_ms > y->updated_at_ms);
}
static int block_cmp(const void *a, const void *b)
{
    const locus_hs_block_ref *x = a, *y = b;
    int r = strcmp(x->dataset, y->dataset);
    return r ? r : (x->index > y->index) - (x->index < y->index);
}

/* qsort unless v is already in order: the records of one commit list their
 * names and blocks in key order, and a reader one generation behind (the
 * allocator, every cycle) reads just one record. */
static void sort_unless_sorted(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    const char *p = v;
    for (size_t i = 1; i < n; i++)
        if (cmp(p + (i - 1) * size, p + i * size) > 0) {
            qsort(v, n, size, cmp);
            return;
        }
}

static size_t uniq_str(const char **v, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (o == 0 || strcmp(v[o - 1], v[i]) != 0)
            v[o++] = v[i];
    return o;
}

/* Parses one record into c; -1 = malformed, -2 = out of memory. Sets the
 * overflow flags it carries. */
static int parse_record(collect *c, const MDB_val *v, int *full, int *blocks_incomplete)
{
    const unsigned char *p = v->mv_data, *end = p + v->mv_size;
    if (v->mv_size < HS_FEED_HEADER || (get32(p) != HS_FEED_MAGIC && get32(p) != HS_FEED_MAGIC_V1))
        return -1;
    uint32_t flags = get32(p + 4);
    int64_t ms;
    memcpy(&ms, p + 8, 8);
    uint32_t n[4];
    for (int i = 0; i < 4; i++)
        n[i] = get32(p + 16 + 4 * i);
    if (flags & (HS_FEED_DS_OVERFLOW | HS_FEED_CONF_OVERFLOW | HS_FEED_HOSTS_OVERFLOW))
        *full = 1;
    if (flags & HS_FEED_BLOCKS_OVERFLOW)
        *blocks_incomplete = 1;
    p += HS_FEED_HEADER;
    const feed_ds *names;
    size_t first_ds = c->n_ds;
    /* LCF2 names end in a NUL and are handed out in place (the record stays
     * mapped while the read transaction lives); LCF1 names are copied. */
    int in_place = get32(v->mv_data) == HS_FEED_MAGIC;
    for (int list = 0; list < 3; list++) {
        for (uint32_t i = 0; i < n[list]; i++) {
            uint16_t len;
            if (end - p < 2)
                return -1;
            memcpy(&len, p, 2);
            p += 2;
            if ((size_t)(end - p) < (size_t)len + (size_t)in_place)
                return -1;
            const char *s;
            if (in_place) {
                if (p[len] != 0 || memchr(p, 0, len))
                    return -1;
                s = (const char *)p;
                p += len + 1;
            } else {
                s = hs_arena_strndup(c->a, (const char *)p, len);
                if (!s)
                    return -2;
                p += len;
            }
            int rc = list == 0 ? add_ds(c, s) : list == 1 ? add_conf(c, s, ms) : add_host(c, s);
            if (rc)
                return -2;
        }
    }
    for (uint32_t i = 0; i < n[3]; i++) {
        uint32_t ord;
        uint64_t idx;
        if (end - p < 12)
            return -1;
        memcpy(&ord, p, 4);
        memcpy(&idx, p + 4, 8);
        p += 12;
        if (ord >= n[0])
            return -1;
        names = c->ds + first_ds; /* add_ds may have moved the array: re-read */
        if (add_block(c, names[ord].name, idx))
            return -2;
    }
    if (get32(v->mv_data) == HS_FEED_MAGIC && (flags & HS_FEED_VALUES)) {
        if (flags & (HS_FEED_DS_OVERFLOW | HS_FEED_VALUES_OVERFLOW))
            return -1; /* the writer never pairs values with a partial list */
        for (uint32_t i = 0; i < n[0]; i++) {
            uint32_t len;
            if (end - p < 4)
                return -1;
            len = get32(p);
            p += 4;
            feed_ds *d = &c->ds[first_ds + i];
            if (len == UINT32_MAX) {
                d->len = HS_FEED_VALUE_DELETED;
                continue;
            }
            if (len >= HS_FEED_VALUE_DELETED || (size_t)(end - p) < len)
                return -1;
            d->value = p;
            d->len = len;
            p += len;
        }
    }
    return p == end ? 0 : -1;
}

int hs_feed_parse(hs_arena *a, const MDB_val *v)
{
    collect c = {.a = a};
    int full = 0, incomplete = 0;
    int rc = parse_record(&c, v, &full, &incomplete);
    free(c.ds);
    free(c.conf);
    free(c.hosts);
    free(c.blocks);
    return rc == 0 ? 0 : -1;
}

int hs_feed_read(locus_hs *hs, MDB_txn *txn, hs_arena *a, uint64_t since, uint64_t current,
                 locus_hs_changes *out, hs_feed_values *vals, char *err)
{
    memset(out, 0, sizeof *out);
    if (vals)
        memset(vals, 0, sizeof *vals);
    out->since_generation = since;
    out->generation = current;
    out->blocks_complete = 1;
    if (since == current)
        return 0;
    if (since > current || !hs->has_changes) {
        out->full_read_needed = 1;
        return 0;
    }
    collect c = {.a = a};
    int full = 0, incomplete = 0, st = 0;
    unsigned char key[8];
    hs_be64_put(key, since + 1);
    MDB_val k = {8, key}, v;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, hs->db_changes, &cur);
    if (rc)
        return hs_mdb_status(err, rc, "changes: open cursor");
    uint64_t want = since + 1;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0 && want <= current && !full;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 || hs_be64_get(k.mv_data) != want)
            break; /* a gap: a generation written without a record */
        int pr = parse_record(&c, &v, &full, &incomplete);
        if (pr == -2) {
            st = LOCUS_ENOMEM;
            break;
        }
        if (pr == -1) {
            hs_seterr(err, "%s: sub-database changes, generation %llu: record does not decode; "
                      "reading in full", hs->path, (unsigned long long)want);
            break;
        }
        want++;
    }
    mdb_cursor_close(cur);
    if (st == 0 && rc && rc != MDB_NOTFOUND)
        st = hs_mdb_status(err, rc, "changes: read");
    if (st == 0 && (full || want != current + 1)) {
        out->full_read_needed = 1; /* too old, trimmed, overflowed or damaged */
    } else if (st == 0) {
        sort_unless_sorted(c.ds, c.n_ds, sizeof *c.ds, ds_cmp);
        size_t o = 0;
        for (size_t i = 0; i < c.n_ds; i++)
            if (o == 0 || strcmp(c.ds[o - 1].name, c.ds[i].name) != 0)
                c.ds[o++] = c.ds[i];
        c.n_ds = o;
        sort_unless_sorted(c.hosts, c.n_hosts, sizeof *c.hosts, str_cmp);
        c.n_hosts = uniq_str(c.hosts, c.n_hosts);
        sort_unless_sorted(c.conf, c.n_conf, sizeof *c.conf, conf_cmp);
        o = 0;
        for (size_t i = 0; i < c.n_conf; i++) {
            if (o && strcmp(c.conf[o - 1].dataset, c.conf[i].dataset) == 0)
                continue;
            /* a dataset whose content changed is listed there only */
            feed_ds key = {.name = c.conf[i].dataset}, *d;
            if (c.n_ds && (d = bsearch(&key, c.ds, c.n_ds, sizeof *c.ds, name_cmp))) {
                /* Changed, then confirmed by a later record: the value
                 * carried predates the confirmation's time; read the tree. */
                hs_summary m;
                if (d->len < HS_FEED_VALUE_DELETED &&
                    (hs_summary_parse(d->value, d->len, &m) ||
                     m.updated_at_ms != c.conf[i].updated_at_ms)) {
                    d->len = HS_FEED_VALUE_UNKNOWN;
                    d->value = NULL;
                }
                continue;
            }
            c.conf[o++] = c.conf[i];
        }
        c.n_conf = o;
        sort_unless_sorted(c.blocks, c.n_blocks, sizeof *c.blocks, block_cmp);
        o = 0;
        for (size_t i = 0; i < c.n_blocks; i++)
            if (!o || block_cmp(&c.blocks[o - 1], &c.blocks[i]) != 0)
                c.blocks[o++] = c.blocks[i];
        c.n_blocks = o;
        /* hand out copies in the snapshot's arena: they live until close */
        const char **ds = hs_arena_alloc(a, (c.n_ds + 1) * sizeof *ds);
        const char **hosts = hs_arena_alloc(a, (c.n_hosts + 1) * sizeof *hosts);
        locus_hs_confirmed *conf = hs_arena_alloc(a, (c.n_conf + 1) * sizeof *conf);
        locus_hs_block_ref *blocks = hs_arena_alloc(a, (c.n_blocks + 1) * sizeof *blocks);
        const unsigned char **vv = vals ? hs_arena_alloc(a, (c.n_ds + 1) * sizeof *vv) : NULL;
        uint32_t *vl = vals ? hs_arena_alloc(a, (c.n_ds + 1) * sizeof *vl) : NULL;
        if (!ds || !hosts || !conf || !blocks || (vals && (!vv || !vl))) {
            st = LOCUS_ENOMEM;
        } else {
            size_t known = 0;
            for (size_t i = 0; i < c.n_ds; i++) {
                ds[i] = c.ds[i].name;
                if (vals) {
                    vv[i] = c.ds[i].value;
                    vl[i] = c.ds[i].len;
                    known += c.ds[i].len != HS_FEED_VALUE_UNKNOWN;
                }
            }
            if (vals) {
                vals->value = vv;
                vals->len = vl;
                vals->n = c.n_ds;
                vals->n_known = known;
            }
            if (c.n_hosts)
                memcpy(hosts, c.hosts, c.n_hosts * sizeof *hosts);
            if (c.n_conf)
                memcpy(conf, c.conf, c.n_conf * sizeof *conf);
            if (c.n_blocks)
                memcpy(blocks, c.blocks, c.n_blocks * sizeof *blocks);
            out->datasets = ds;
            out->n_datasets = c.n_ds;
            out->confirmed = conf;
            out->n_confirmed = c.n_conf;
            out->hosts = hosts;
            out->n_hosts = c.n_hosts;
            out->blocks = blocks;
            out->n_blocks = incomplete ? 0 : c.n_blocks;
            out->blocks_complete = !incomplete;
        }
    }
    free(c.ds);
    free(c.conf);
    free(c.hosts);
    free(c.blocks);
    return st;
}
