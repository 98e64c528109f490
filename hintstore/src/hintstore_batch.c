/* Hint store writer: batches (one LMDB write transaction each), failure
 * records and expiry.
 *
 * A batch opens the write transaction at begin, so a second writer waits
 * there, but it only records operations in memory until commit: block
 * timestamps are the commit's now_ms, which is not known before. The record is
 * compact (interned dataset and host names, 4-byte replicas, a hash of
 * dataset/index -> latest operation), so a repeated put of one block keeps
 * only the last placement.
 *
 * Commit sorts the operations in key order and walks them together with the
 * backend's previous blocks (for a full poll: the stored blocks naming the
 * backend, read in key order from a snapshot taken at commit so the walk
 * does not see its own writes; an empty store has none to read). The walk
 * visits one
 * dataset at a time: every block change adds or subtracts its bytes from a
 * per-dataset delta (total, count, bytes per host and tier), and when the
 * dataset is done its summary is read once, the delta applied and the summary
 * written once. Summaries therefore stay exactly equal to their blocks
 * without re-reading whole datasets; only a summary or block that fails to
 * decode forces a rescan of that one dataset, which also repairs it. Sorted
 * writes keep LMDB's page cache hot, and keys past a sub-database's end go in
 * with MDB_APPEND. A new dataset gets the next dataset id; the host index
 * changes (host id -> dataset ids) are collected during the walk and written
 * host by host afterwards, a host new to the index in one MDB_MULTIPLE put of
 * its packed ids, so a fresh store writes about one B-tree entry per block.
 *
 * With replace_all a previous block of the backend that the batch did not put
 * is deleted (a full poll result). Blocks and summaries the batch confirms get
 * updated_at_ms = now_ms; a summary's version only moves when content moved. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hintstore_internal.h"
#include "locus/util.h"

enum { OP_PUT = 1, OP_DEL = 2 };

typedef struct hs_op {
    uint64_t index, bytes;
    uint32_t ds;    /* dataset id, replaced by its name rank at commit */
    uint32_t rep;   /* first replica in reps[] */
    uint32_t n_rep;
    uint32_t kind;
    uint32_t seq;   /* recording order: the last op of a block wins */
} hs_op;

typedef struct name_id {
    const char *name;
    uint32_t id;
} name_id;

static int name_id_cmp(const void *a, const void *b)
{
    return strcmp(((const name_id *)a)->name, ((const name_id *)b)->name);
}

/* Per-dataset delta of bytes per (host id, tier); stamped slots so a reset
 * between datasets costs nothing. */
typedef struct pmap {
    uint32_t *skey, *sgen, *sidx;
    size_t nslots;
    uint32_t gen;
    uint32_t *keys;
    uint64_t *vals; /* modular: a subtraction wraps, the final sum is exact */
    size_t n, cap;
} pmap;

typedef struct bdelta {
    char name[HS_MAX_BACKEND + 1];
    int64_t delta;
} bdelta;

typedef struct binding {
    char *storage_host, *agent_hostname, *agent_id;
} binding;

struct locus_hs_batch {
    locus_hs *hs;
    MDB_txn *txn;
    char backend[HS_MAX_BACKEND + 1];
    int replace_all;
    int record_poll; /* 0 for the internal batch of expire_backend */
    hs_strtab datasets, hosts;
    hs_op *ops;
    size_t n_ops, cap_ops;
    uint32_t *reps;
    size_t n_reps, cap_reps;
    /* op index + 1 by (dataset, index) hash, built on the first delete only:
     * a poll of puts appends its ops and the commit's sort keeps the last op
     * of each block, so a full replace pays no hash probe per block. */
    uint32_t *kslots;
    size_t nkslots;
    int hashed;
    int64_t last_ds; /* id of the dataset of the last put, -1 = none */
    binding *binds;
    size_t n_binds, cap_binds;
    hs_arena bind_arena;
};

/* Writing past a sub-database's end. The walk writes keys in ascending
 * order; once a key sorts after the last key the sub-database holds, it and
 * every later key of the walk are known absent (no lookup) and go in with
 * MDB_APPEND: no B-tree search, and pages fill up instead of splitting in
 * half. A full replace into an empty store is all appends. */
typedef struct appender {
    MDB_cursor *cur;
    MDB_dbi dbi;
    int past_end;
    unsigned char *last; /* copy of the last key when the walk began */
    size_t last_len;
} appender;

/* State of the commit walk. */
typedef struct commit_ctx {
    locus_hs_batch *b;
    locus_hs *hs;
    MDB_txn *txn;
    int64_t now;
    /* current dataset */
    char name[HS_MAX_DATASET + 1];
    size_t nlen;
    int active, changed, rescan;
    uint64_t dtotal, dcount; /* modular deltas, exact once applied to the summary */
    pmap pm;
    uint32_t *hmark; /* host id -> stamp (old set = 2*gen, new set = 2*gen+1) */
    size_t nhmark;
    struct hd_change *hd; /* host index changes, applied sorted after the walk */
    size_t n_hd, cap_hd;
    uint32_t mgen;
    hs_arena scratch, sum_arena;
    bdelta *bd;
    size_t n_bd;
    char key[HS_MAX_DATASET + 16];
    uint64_t next_dsid; /* id for the next new dataset (HS_MAX_DATASET_ID: none left) */
    hs_feed feed; /* what this commit changed, stored under its generation */
    /* Storage host ids: batch id -> store id + 1 (every batch host gets its
     * store id before the walk, so the walk never writes the host tables
     * while it holds pointers into mapped values) and store id -> batch id
     * + 1 for hosts read from stored values. */
    uint32_t *sid, *bid;
    size_t nsid, nbid;
    uint32_t *repbuf; /* a block's replicas in store ids */
    size_t cap_repbuf;
    /* The stored block under the walk's key, read in place; its backend is
     * copied because the put that follows may move the page. */
    hs_blockrec old;
    char old_backend[HS_MAX_BACKEND + 1];
    appender ap_blocks, ap_datasets, ap_dsnames;
    MDB_cursor *bcur; /* blocks: positioned on the block the walk just read */
    MDB_cursor *dcur; /* datasets: positioned on the summary being finished */
    uint32_t *hrank; /* batch host id -> rank in name order (ids < nrank) */
    size_t nrank;
} commit_ctx;

static int appender_open(MDB_txn *txn, appender *a, MDB_dbi dbi)
{
    MDB_val k, v;
    memset(a, 0, sizeof(*a));
    a->dbi = dbi;
    int rc = mdb_cursor_open(txn, dbi, &a->cur);
    if (rc) {
        a->cur = NULL;
        return rc;
    }
    rc = mdb_cursor_get(a->cur, &k, &v, MDB_LAST);
    if (rc == MDB_NOTFOUND) {
        a->past_end = 1;
        return 0;
    }
    if (rc)
        return rc;
    if (!(a->last = malloc(k.mv_size ? k.mv_size : 1)))
        return ENOMEM;
    memcpy(a->last, k.mv_data, k.mv_size);
    a->last_len = k.mv_size;
    return 0;
}

static void appender_close(appender *a)
{
    if (a->cur)
        mdb_cursor_close(a->cur);
    free(a->last);
    memset(a, 0, sizeof(*a));
}

/* 1 if key sorts after everything in the sub-database (keys must come in
 * ascending order from one call to the next). */
static int appender_past(MDB_txn *txn, appender *a, const MDB_val *key)
{
    if (!a->past_end && a->cur) {
        MDB_val l = {a->last_len, a->last};
        if (mdb_cmp(txn, a->dbi, key, &l) > 0)
            a->past_end = 1;
    }
    return a->past_end && a->cur;
}


/* ---- per-dataset placement delta ---- */

static void pmap_free(pmap *m)
{
    free(m->skey);
    free(m->sgen);
    free(m->sidx);
    free(m->keys);
    free(m->vals);
}

static void pmap_reset(pmap *m)
{
    m->gen++;
    m->n = 0;
}

static int pmap_rehash(pmap *m, size_t ns)
{
    uint32_t *skey = malloc(ns * sizeof(uint32_t)), *sgen = calloc(ns, sizeof(uint32_t)),
             *sidx = malloc(ns * sizeof(uint32_t));
    if (!skey || !sgen || !sidx) {
        free(skey);
        free(sgen);
        free(sidx);
        return -1;
    }
    free(m->skey);
    free(m->sgen);
    free(m->sidx);
    m->skey = skey;
    m->sgen = sgen;
    m->sidx = sidx;
    m->nslots = ns;
    m->gen = 1;
    for (size_t e = 0; e < m->n; e++) {
        size_t i = locus_hash_mix64(m->keys[e]) & (ns - 1);
        while (sgen[i] == m->gen)
            i = (i + 1) & (ns - 1);
        sgen[i] = m->gen;
        skey[i] = m->keys[e];
        sidx[i] = (uint32_t)e;
    }
    return 0;
}

static int pmap_add(pmap *m, uint32_t key, uint64_t delta)
{
    if ((m->n + 1) * 2 > m->nslots && pmap_rehash(m, m->nslots ? m->nslots * 2 : 256) != 0)
        return -1;
    size_t i = locus_hash_mix64(key) & (m->nslots - 1);
    while (m->sgen[i] == m->gen) {
        if (m->skey[i] == key) {
            m->vals[m->sidx[i]] += delta;
            return 0;
        }
        i = (i + 1) & (m->nslots - 1);
    }
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 256;
        uint32_t *k = realloc(m->keys, nc * sizeof(*k));
        if (!k)
            return -1;
        m->keys = k;
        uint64_t *v = realloc(m->vals, nc * sizeof(*v));
        if (!v)
            return -1;
        m->vals = v;
        m->cap = nc;
    }
    m->sgen[i] = m->gen;
    m->skey[i] = key;
    m->sidx[i] = (uint32_t)m->n;
    m->keys[m->n] = key;
    m->vals[m->n++] = delta;
    return 0;
}

/* ---- batch recording ---- */

static int fail(locus_hs *hs, int st, const char *fmt, const char *a, const char *b)
{
    char tmp[HS_ERRLEN];
    snprintf(tmp, sizeof(tmp), fmt, a ? a : "", b ? b : "");
    memcpy(hs->err, tmp, sizeof(tmp));
    return st;
}

static int valid_backend(locus_hs *hs, const char *backend)
{
    if (!backend || !*backend || strlen(backend) > HS_MAX_BACKEND)
        return fail(hs, LOCUS_EINVAL, "backend name must be 1..64 bytes: '%s'%s",
                    backend ? backend : "(null)", NULL);
    return 0;
}

static void batch_free(locus_hs_batch *b)
{
    if (!b)
        return;
    hs_strtab_free(&b->datasets);
    hs_strtab_free(&b->hosts);
    hs_spare_keep(&b->hs->spare_ops, b->ops, b->cap_ops * sizeof(*b->ops));
    hs_spare_keep(&b->hs->spare_reps, b->reps, b->cap_reps * sizeof(*b->reps));
    free(b->kslots);
    free(b->binds);
    hs_arena_free(&b->bind_arena);
    b->hs->batch_active = 0;
    free(b);
}

static locus_hs_batch *batch_new(locus_hs *hs, const char *backend, int replace_all)
{
    locus_hs_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->hs = hs;
    snprintf(b->backend, sizeof(b->backend), "%s", backend);
    b->replace_all = replace_all;
    b->record_poll = 1;
    b->last_ds = -1;
    hs_arena_init(&b->datasets.arena, 65536);
    hs_arena_init(&b->hosts.arena, 16384);
    hs_arena_init(&b->bind_arena, 4096);
    size_t cap;
    b->ops = hs_spare_take(&hs->spare_ops, &cap);
    b->cap_ops = cap / sizeof(*b->ops);
    b->reps = hs_spare_take(&hs->spare_reps, &cap);
    b->cap_reps = cap / sizeof(*b->reps);
    return b;
}

static int begin_txn(locus_hs *hs, const char *backend, int replace_all, locus_hs_batch **out)
{
    *out = NULL;
    if (hs->read_only)
        return fail(hs, LOCUS_ESTATE, "%s: opened read-only%s", hs->path, NULL);
    if (hs->batch_active)
        return fail(hs, LOCUS_EBUSY, "%s: a batch is already open on this handle%s", hs->path,
                    NULL);
    int st = valid_backend(hs, backend);
    if (st)
        return st;
    /* Free reader slots of dead processes (a killed allocator) so their old
     * snapshots stop pinning pages; cheap next to a poll. */
    mdb_reader_check(hs->env, NULL);
    locus_hs_batch *b = batch_new(hs, backend, replace_all);
    if (!b)
        return fail(hs, LOCUS_ENOMEM, "%s: out of memory%s", hs->path, NULL);
    int rc = mdb_txn_begin(hs->env, NULL, 0, &b->txn);
    if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(hs->env, 0) == 0)
        rc = mdb_txn_begin(hs->env, NULL, 0, &b->txn); /* another process grew the map */
    if (rc) {
        st = hs_store_status(hs, rc, "begin write transaction");
        b->hs->batch_active = 0;
        batch_free(b);
        return st;
    }
    hs->batch_active = 1;
    *out = b;
    return 0;
}

int locus_hs_batch_begin(locus_hs *hs, const char *backend, int replace_all,
                         locus_hs_batch **out)
{
    if (!hs || !out)
        return LOCUS_EINVAL;
    return begin_txn(hs, backend, replace_all, out);
}

static size_t op_hash(uint32_t ds, uint64_t index, size_t ns)
{
    return locus_hash_mix64(index * 0x9e3779b97f4a7c15ULL ^ ds) & (ns - 1);
}

/* (Re)builds the hash over every op so far; of several ops of one block
 * (recorded before the hash existed) the last one is found. */
static int kslots_build(locus_hs_batch *b, size_t ns)
{
    uint32_t *s = calloc(ns, sizeof(*s));
    if (!s)
        return -1;
    for (size_t o = 0; o < b->n_ops; o++) {
        size_t i = op_hash(b->ops[o].ds, b->ops[o].index, ns);
        while (s[i] && (b->ops[s[i] - 1].ds != b->ops[o].ds ||
                        b->ops[s[i] - 1].index != b->ops[o].index))
            i = (i + 1) & (ns - 1);
        s[i] = (uint32_t)o + 1;
    }
    free(b->kslots);
    b->kslots = s;
    b->nkslots = ns;
    b->hashed = 1;
    return 0;
}

/* Makes room for one more op in the hash, building it on first use. */
static int kslots_room(locus_hs_batch *b)
{
    size_t ns = b->nkslots ? b->nkslots : 4096;
    while ((b->n_ops + 1) * 2 > ns)
        ns *= 2;
    if (b->hashed && ns == b->nkslots)
        return 0;
    return kslots_build(b, ns);
}

/* Finds the op of (ds, index), or the empty slot where it belongs. */
static uint32_t *op_slot(locus_hs_batch *b, uint32_t ds, uint64_t index)
{
    size_t i = op_hash(ds, index, b->nkslots);
    while (b->kslots[i]) {
        hs_op *o = &b->ops[b->kslots[i] - 1];
        if (o->ds == ds && o->index == index)
            break;
        i = (i + 1) & (b->nkslots - 1);
    }
    return &b->kslots[i];
}

/* Appends a fresh op (not entered in the hash). The batch's arrays (ops,
 * replicas, host index changes) grow with plain realloc, in 4 KiB pages
 * (glibc moves a large block with mremap, not a copy): they are written
 * once, in order, and a fresh process's first touch of huge pages cost a
 * 1,000,000-block replace 0.1-0.4 s more on a virtual machine than their
 * fewer page faults saved (locus-bench-hints). */
static hs_op *op_append(locus_hs_batch *b, uint32_t ds, uint64_t index)
{
    if (b->n_ops == b->cap_ops) {
        size_t nc = b->cap_ops ? b->cap_ops * 2 : 1024;
        hs_op *no = realloc(b->ops, nc * sizeof(*no));
        if (!no)
            return NULL;
        b->ops = no;
        b->cap_ops = nc;
    }
    hs_op *o = &b->ops[b->n_ops];
    memset(o, 0, sizeof(*o));
    o->ds = ds;
    o->index = index;
    o->seq = (uint32_t)b->n_ops++;
    return o;
}

/* Returns the op for (ds, index), appending a fresh one if absent. */
static hs_op *op_get(locus_hs_batch *b, uint32_t ds, uint64_t index, int *fresh)
{
    if (kslots_room(b) != 0)
        return NULL;
    uint32_t *slot = op_slot(b, ds, index);
    if (*slot) {
        *fresh = 0;
        return &b->ops[*slot - 1];
    }
    hs_op *o = op_append(b, ds, index);
    if (!o)
        return NULL;
    *slot = (uint32_t)b->n_ops;
    *fresh = 1;
    return o;
}

static int check_dataset(locus_hs *hs, const char *dataset)
{
    if (!dataset || !*dataset || strlen(dataset) > HS_MAX_DATASET)
        return fail(hs, LOCUS_EINVAL, "dataset name must be 1..400 bytes: '%.100s'%s",
                    dataset ? dataset : "(null)", NULL);
    return 0;
}

int locus_hs_batch_put(locus_hs_batch *b, const locus_hs_block *blk)
{
    if (!b || !blk)
        return LOCUS_EINVAL;
    locus_hs *hs = b->hs;
    int st = check_dataset(hs, blk->dataset);
    if (st)
        return st;
    if (blk->n_replicas && !blk->replicas)
        return fail(hs, LOCUS_EINVAL, "block of '%s': replicas missing%s", blk->dataset, NULL);
    if (blk->bytes > HS_MAX_BLOCK_BYTES)
        return fail(hs, LOCUS_EINVAL, "block of '%s': bytes above 2^56%s", blk->dataset, NULL);
    if (blk->n_replicas > 4096)
        return fail(hs, LOCUS_EINVAL, "block of '%s': more than 4096 replicas%s",
                    blk->dataset, NULL);
    /* host name lengths and hashes of the first replicas, for interning:
     * their lookups are started here, side by side (a miss each in a large
     * batch, whose arrays push the table out of the cache) */
    size_t hlen[8];
    uint64_t hh[8];
    for (size_t i = 0; i < blk->n_replicas; i++) {
        const locus_hs_replica *r = &blk->replicas[i];
        size_t len = r->host ? strlen(r->host) : 0;
        if (len == 0 || len > HS_MAX_HOST)
            return fail(hs, LOCUS_EINVAL, "block of '%s': replica host must be 1..255 bytes%s",
                        blk->dataset, NULL);
        if (i < 8) {
            hlen[i] = len;
            hh[i] = hs_hash_bytes(r->host, len);
            hs_strtab_prefetch(&b->hosts, hh[i]);
        }
        if (r->tier < LOCUS_TIER_MEM || r->tier > LOCUS_TIER_HDD)
            return fail(hs, LOCUS_EINVAL, "block of '%s': bad tier for host '%s'",
                        blk->dataset, r->host);
        for (size_t j = 0; j < i; j++)
            if (blk->replicas[j].tier == r->tier && strcmp(blk->replicas[j].host, r->host) == 0)
                return fail(hs, LOCUS_EINVAL, "block of '%s': duplicate replica on host '%s'",
                            blk->dataset, r->host);
    }
    if (b->n_reps + blk->n_replicas > UINT32_MAX)
        return fail(hs, LOCUS_ENOMEM, "batch too large%s%s", NULL, NULL);
    if (b->n_reps + blk->n_replicas > b->cap_reps) {
        size_t nc = b->cap_reps ? b->cap_reps * 2 : 4096;
        while (nc < b->n_reps + blk->n_replicas)
            nc *= 2;
        uint32_t *nr = realloc(b->reps, nc * sizeof(*nr));
        if (!nr)
            return fail(hs, LOCUS_ENOMEM, "out of memory%s%s", NULL, NULL);
        b->reps = nr;
        b->cap_reps = nc;
    }
    size_t first = b->n_reps;
    for (size_t i = 0; i < blk->n_replicas; i++) {
        const char *host = blk->replicas[i].host;
        int64_t h = i < 8 ? hs_strtab_intern_h(&b->hosts, host, hlen[i], hh[i])
                          : hs_strtab_intern(&b->hosts, host, strlen(host));
        if (h < 0)
            return fail(hs, LOCUS_ENOMEM, "out of memory%s%s", NULL, NULL);
        b->reps[first + i] = (uint32_t)h << 2 | (uint32_t)blk->replicas[i].tier;
    }
    /* a poll puts a dataset's blocks one after another: try the last name first */
    int64_t ds = b->last_ds >= 0 && strcmp(b->datasets.strs[b->last_ds], blk->dataset) == 0
                     ? b->last_ds
                     : hs_strtab_intern(&b->datasets, blk->dataset, strlen(blk->dataset));
    b->last_ds = ds;
    int fresh;
    hs_op *o = ds < 0                ? NULL
               : b->hashed ? op_get(b, (uint32_t)ds, blk->index, &fresh)
                           : op_append(b, (uint32_t)ds, blk->index);
    if (!o)
        return fail(hs, LOCUS_ENOMEM, "out of memory%s%s", NULL, NULL);
    b->n_reps += blk->n_replicas;
    o->kind = OP_PUT;
    o->bytes = blk->bytes;
    o->rep = (uint32_t)first;
    o->n_rep = (uint32_t)blk->n_replicas;
    return 0;
}

int locus_hs_batch_delete(locus_hs_batch *b, const char *dataset, uint64_t index)
{
    if (!b)
        return LOCUS_EINVAL;
    locus_hs *hs = b->hs;
    int st = check_dataset(hs, dataset);
    if (st)
        return st;
    int64_t ds = hs_strtab_intern(&b->datasets, dataset, strlen(dataset));
    if (ds < 0 || kslots_room(b) != 0)
        return fail(hs, LOCUS_ENOMEM, "out of memory%s%s", NULL, NULL);
    uint32_t *slot = op_slot(b, (uint32_t)ds, index);
    if (*slot) {
        hs_op *o = &b->ops[*slot - 1];
        if (o->kind == OP_DEL)
            goto notfound;
        /* Put earlier in this batch: commit deletes whatever the store holds. */
        o->kind = OP_DEL;
        o->n_rep = 0;
        return 0;
    }
    char key[HS_MAX_DATASET + 16];
    MDB_val k = {hs_block_key(key, dataset, strlen(dataset), index), key}, v;
    int rc = mdb_get(b->txn, hs->db_blocks, &k, &v);
    if (rc == MDB_NOTFOUND)
        goto notfound;
    if (rc)
        return hs_mdb_status(hs->err, rc, "blocks: look up block to delete");
    int fresh;
    hs_op *o = op_get(b, (uint32_t)ds, index, &fresh);
    if (!o)
        return fail(hs, LOCUS_ENOMEM, "out of memory%s%s", NULL, NULL);
    o->kind = OP_DEL;
    return 0;
notfound:;
    char idx[32];
    snprintf(idx, sizeof(idx), "%llu", (unsigned long long)index);
    return fail(hs, LOCUS_ENOTFOUND, "blocks: no block %.400s#%s", dataset, idx);
}

int locus_hs_batch_bind_host(locus_hs_batch *b, const char *storage_host,
                             const char *agent_hostname, const char *agent_id)
{
    if (!b)
        return LOCUS_EINVAL;
    if (!storage_host || !*storage_host || strlen(storage_host) > HS_MAX_HOST || !agent_hostname ||
        !*agent_hostname || strlen(agent_hostname) > HS_MAX_HOST)
        return fail(b->hs, LOCUS_EINVAL,
                    "bind_host: storage host and agent hostname must be 1..255 bytes ('%.255s')%s",
                    storage_host ? storage_host : "(null)", NULL);
    if (b->n_binds == b->cap_binds) {
        size_t nc = b->cap_binds ? b->cap_binds * 2 : 16;
        binding *nb = realloc(b->binds, nc * sizeof(*nb));
        if (!nb)
            return fail(b->hs, LOCUS_ENOMEM, "out of memory%s%s", NULL, NULL);
        b->binds = nb;
        b->cap_binds = nc;
    }
    binding *x = &b->binds[b->n_binds];
    x->storage_host = hs_arena_strndup(&b->bind_arena, storage_host, strlen(storage_host));
    x->agent_hostname = hs_arena_strndup(&b->bind_arena, agent_hostname, strlen(agent_hostname));
    x->agent_id = agent_id ? hs_arena_strndup(&b->bind_arena, agent_id, strlen(agent_id)) : NULL;
    if (!x->storage_host || !x->agent_hostname || (agent_id && !x->agent_id))
        return fail(b->hs, LOCUS_ENOMEM, "out of memory%s%s", NULL, NULL);
    b->n_binds++;
    return 0;
}

void locus_hs_batch_abort(locus_hs_batch *b)
{
    if (!b)
        return;
    mdb_txn_abort(b->txn);
    batch_free(b);
}

/* ---- commit walk ---- */

/* LMDB failures in the walk: the message names the sub-database and key. */
static int mdb_fail(commit_ctx *c, int rc, const char *db, const void *key, size_t klen)
{
    char kt[300], what[HS_ERRLEN];
    hs_key_text(db, key, klen, kt, sizeof(kt));
    snprintf(what, sizeof(what), "%s: %s, key '%s'", c->hs->path, db, kt);
    return hs_mdb_status(c->hs->err, rc, what);
}

static int nomem(commit_ctx *c)
{
    return fail(c->hs, LOCUS_ENOMEM, "%s: out of memory in commit%s", c->hs->path, NULL);
}

static int backend_delta(commit_ctx *c, const char *backend, int64_t d)
{
    for (size_t i = 0; i < c->n_bd; i++)
        if (strcmp(c->bd[i].name, backend) == 0) {
            c->bd[i].delta += d;
            return 0;
        }
    if (strlen(backend) > HS_MAX_BACKEND)
        return 0; /* not one of ours; nothing to account */
    bdelta *n = realloc(c->bd, (c->n_bd + 1) * sizeof(*n));
    if (!n)
        return nomem(c);
    c->bd = n;
    snprintf(n[c->n_bd].name, sizeof(n[c->n_bd].name), "%s", backend);
    n[c->n_bd++].delta = d;
    return 0;
}

static int grow_u32(uint32_t **a, size_t *n, size_t need)
{
    if (need <= *n)
        return 0;
    size_t nn = *n ? *n : 1024;
    while (nn < need)
        nn *= 2;
    uint32_t *m = realloc(*a, nn * sizeof(*m));
    if (!m)
        return -1;
    memset(m + *n, 0, (nn - *n) * sizeof(*m));
    *a = m;
    *n = nn;
    return 0;
}

/* Batch host id of a store host id read from a stored value: 0, 1 if the
 * store has no such id (the value is damaged), or an error status. */
static int batch_host_of(commit_ctx *c, uint32_t store_id, uint32_t *out)
{
    if (store_id < c->nbid && c->bid[store_id]) {
        *out = c->bid[store_id] - 1;
        return 0;
    }
    const char *name;
    size_t len;
    int rc = hs_host_name_get(c->hs, c->txn, store_id, &name, &len);
    if (rc == MDB_NOTFOUND || rc == MDB_CORRUPTED)
        return 1;
    if (rc)
        return mdb_fail(c, rc, HS_DB_HOST_NAMES, "", 0);
    int64_t h = hs_strtab_intern(&c->b->hosts, name, len);
    if (h < 0 || grow_u32(&c->bid, &c->nbid, (size_t)store_id + 1) ||
        grow_u32(&c->sid, &c->nsid, (size_t)h + 1))
        return nomem(c);
    c->bid[store_id] = (uint32_t)h + 1;
    c->sid[h] = store_id + 1;
    *out = (uint32_t)h;
    return 0;
}

/* Gives every host of the batch its store id, adding new names to the host
 * tables. Runs before the walk. */
static int assign_store_ids(commit_ctx *c)
{
    hs_strtab *t = &c->b->hosts;
    uint32_t next;
    int rc = hs_host_id_count(c->hs, c->txn, &next);
    if (rc)
        return mdb_fail(c, rc, HS_DB_HOST_NAMES, "", 0);
    if (grow_u32(&c->sid, &c->nsid, (size_t)t->n + 1))
        return nomem(c);
    for (uint32_t h = 0; h < t->n; h++) {
        uint32_t id;
        size_t len = strlen(t->strs[h]);
        rc = hs_host_id_get(c->hs, c->txn, t->strs[h], len, &id);
        if (rc == MDB_NOTFOUND || rc == MDB_CORRUPTED) {
            if (next >= HS_MAX_HOST_IDS)
                return fail(c->hs, LOCUS_EFULL,
                            "%s: the store has interned its maximum of storage host names; "
                            "rebuild it (remove data.mdb) to reclaim ids of hosts gone%s",
                            c->hs->path, NULL);
            id = next++;
            rc = hs_host_id_add(c->hs, c->txn, t->strs[h], len, id);
        }
        if (rc)
            return mdb_fail(c, rc, HS_DB_HOST_IDS, t->strs[h], len);
        if (grow_u32(&c->bid, &c->nbid, (size_t)id + 1))
            return nomem(c);
        c->sid[h] = id + 1;
        c->bid[id] = h + 1;
    }
    /* Rank the batch's hosts by name once, so each summary's entries sort
     * by integer compare (hosts met later in stored values compare by name). */
    name_id *order = malloc((t->n + 1) * sizeof(*order));
    c->hrank = malloc((t->n + 1) * sizeof(*c->hrank));
    if (!order || !c->hrank) {
        free(order);
        return nomem(c);
    }
    for (uint32_t h = 0; h < t->n; h++)
        order[h] = (name_id){t->strs[h], h};
    qsort(order, t->n, sizeof(*order), name_id_cmp);
    for (uint32_t r = 0; r < t->n; r++)
        c->hrank[order[r].id] = r;
    c->nrank = t->n;
    free(order);
    return 0;
}

/* Adds (sign = 1) or subtracts (sign = -1) a stored block's contribution.
 * A replica naming an unknown host id marks the dataset for a rescan. */
static int account_stored(commit_ctx *c, const hs_blockrec *p, int sign)
{
    uint64_t d = sign > 0 ? p->bytes : (uint64_t)0 - p->bytes;
    c->dtotal += d;
    c->dcount += sign > 0 ? 1 : (uint64_t)0 - 1;
    for (uint32_t i = 0; i < p->n_rep; i++) {
        uint32_t r = hs_le32_get(p->reps + 4 * (size_t)i), h = 0;
        int st = batch_host_of(c, r >> 2, &h);
        if (st == 1) {
            c->rescan = 1;
            continue;
        }
        if (st)
            return st;
        if (pmap_add(&c->pm, h << 2 | (r & 3), d))
            return nomem(c);
    }
    return 0;
}

static int same_content(commit_ctx *c, const hs_op *o, const hs_blockrec *p)
{
    const locus_hs_batch *b = c->b;
    if (p->bytes != o->bytes || p->n_rep != o->n_rep || p->backend_len != strlen(b->backend) ||
        memcmp(p->backend, b->backend, p->backend_len) != 0)
        return 0;
    for (uint32_t i = 0; i < o->n_rep; i++) {
        uint32_t r = b->reps[o->rep + i];
        uint32_t want = (c->sid[r >> 2] - 1) << 2 | (r & 3);
        uint32_t j;
        for (j = 0; j < p->n_rep; j++)
            if (hs_le32_get(p->reps + 4 * (size_t)j) == want)
                break;
        if (j == p->n_rep)
            return 0;
    }
    return 1;
}

/* Reads the stored block under bk in place into c->old (backend copied to
 * c->old_backend). *p NULL and *found 1 means present but undecodable. */
static int stored_block(commit_ctx *c, MDB_val *bk, hs_blockrec **p, int *found)
{
    MDB_val v;
    *p = NULL;
    if (appender_past(c->txn, &c->ap_blocks, bk)) {
        *found = 0;
        return 0;
    }
    /* The lookup leaves c->bcur on the block: its rewrite or delete that
     * follows (with no other write in between) needs no second search. */
    MDB_val k = *bk;
    int rc = mdb_cursor_get(c->bcur, &k, &v, MDB_SET_KEY);
    *found = rc == 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return mdb_fail(c, rc, HS_DB_BLOCKS, bk->mv_data, bk->mv_size);
    if (hs_blockrec_parse(v.mv_data, v.mv_size, &c->old) != 0) {
        c->rescan = 1; /* its bytes are unknown: recompute this dataset */
        return 0;
    }
    memcpy(c->old_backend, c->old.backend, c->old.backend_len);
    c->old_backend[c->old.backend_len] = '\0';
    c->old.backend = c->old_backend;
    *p = &c->old;
    return 0;
}

static int apply_put(commit_ctx *c, const hs_op *o)
{
    locus_hs_batch *b = c->b;
    MDB_val bk = {hs_block_key(c->key, c->name, c->nlen, o->index), c->key};
    hs_blockrec *old;
    int found, st;
    if ((st = stored_block(c, &bk, &old, &found)))
        return st;
    int moved = !old || !same_content(c, o, old);
    if (moved) {
        c->changed = 1;
        if (hs_feed_block(&c->feed, o->index))
            return nomem(c);
    }
    if (old && (st = account_stored(c, old, -1)))
        return st;

    if (grow_u32(&c->repbuf, &c->cap_repbuf, (size_t)o->n_rep + 1))
        return nomem(c);
    for (uint32_t i = 0; i < o->n_rep; i++) {
        uint32_t r = b->reps[o->rep + i];
        c->repbuf[i] = (c->sid[r >> 2] - 1) << 2 | (r & 3);
        if (pmap_add(&c->pm, r, o->bytes))
            return nomem(c);
    }
    c->dtotal += o->bytes;
    c->dcount++;
    size_t blen = strlen(b->backend);
    MDB_val nv = {hs_blockrec_size(o->n_rep, blen), NULL};
    int rc = found  ? mdb_cursor_put(c->bcur, &bk, &nv, MDB_RESERVE | MDB_CURRENT)
             : appender_past(c->txn, &c->ap_blocks, &bk)
                 ? mdb_cursor_put(c->ap_blocks.cur, &bk, &nv, MDB_RESERVE | MDB_APPEND)
                 : mdb_put(c->txn, c->hs->db_blocks, &bk, &nv, MDB_RESERVE);
    if (rc)
        return mdb_fail(c, rc, HS_DB_BLOCKS, bk.mv_data, bk.mv_size);
    hs_blockrec_write(nv.mv_data, o->bytes, c->now, c->repbuf, o->n_rep, b->backend, blen);

    /* the backends' block counts follow the blocks' backend field */
    if (old && strcmp(old->backend, b->backend) == 0)
        return 0;
    if (old && (st = backend_delta(c, old->backend, -1)))
        return st;
    return backend_delta(c, b->backend, 1);
}

/* Deletes the stored block under (current dataset, index). only_backend set:
 * a block of the backend's previous poll that this one did not confirm,
 * deleted only if that backend still owns it (or it does not decode). */
static int apply_del(commit_ctx *c, uint64_t index, const char *only_backend)
{
    MDB_val bk = {hs_block_key(c->key, c->name, c->nlen, index), c->key};
    hs_blockrec *old;
    int found, st, rc;
    if ((st = stored_block(c, &bk, &old, &found)))
        return st;
    if (only_backend && (!found || (old && strcmp(old->backend, only_backend) != 0)))
        return 0;
    if (!found)
        return 0;
    c->changed = 1;
    if (hs_feed_block(&c->feed, index))
        return nomem(c);
    const char *owner = old ? old->backend : only_backend;
    if (old && (st = account_stored(c, old, -1)))
        return st;
    if ((rc = mdb_cursor_del(c->bcur, 0)) != 0) /* positioned by stored_block */
        return mdb_fail(c, rc, HS_DB_BLOCKS, bk.mv_data, bk.mv_size);
    return owner ? backend_delta(c, owner, -1) : 0;
}

/* Recomputes the current dataset's aggregate from its blocks (undecodable
 * blocks are left out). Used only after a decode failure. */
static int rescan_dataset(commit_ctx *c, uint64_t *total, uint64_t *count)
{
    MDB_cursor *cur;
    MDB_val k = {hs_block_key(c->key, c->name, c->nlen, 0), c->key}, v;
    int rc = mdb_cursor_open(c->txn, c->hs->db_blocks, &cur);
    if (rc)
        return mdb_fail(c, rc, HS_DB_BLOCKS, c->name, c->nlen);
    pmap_reset(&c->pm);
    c->dtotal = c->dcount = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != c->nlen + 9 || memcmp(k.mv_data, c->key, c->nlen + 1) != 0)
            break;
        hs_blockrec p;
        int st;
        /* an unknown host id cannot be repaired here: leave that replica out */
        if (hs_blockrec_parse(v.mv_data, v.mv_size, &p) == 0 &&
            (st = account_stored(c, &p, 1)) != 0) {
            mdb_cursor_close(cur);
            return st;
        }
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return mdb_fail(c, rc, HS_DB_BLOCKS, c->name, c->nlen);
    *total = c->dtotal;
    *count = c->dcount;
    return 0;
}

typedef struct ph_entry {
    const char *host;
    uint32_t hid, tier;
    uint32_t rank; /* host's place in name order, UINT32_MAX = not ranked */
    uint64_t bytes;
} ph_entry;

/* Name order: the ranks (computed once per commit for the batch's hosts,
 * agreeing with strcmp) where both have one, else the names themselves. */
static int ph_cmp(const void *a, const void *b)
{
    const ph_entry *x = a, *y = b;
    int r;
    if (x->rank != UINT32_MAX && y->rank != UINT32_MAX)
        r = (x->rank > y->rank) - (x->rank < y->rank);
    else
        r = strcmp(x->host, y->host);
    return r ? r : (int)x->tier - (int)y->tier;
}

static int mark_hosts_grow(commit_ctx *c)
{
    size_t need = c->b->hosts.n;
    if (need <= c->nhmark)
        return 0;
    size_t nn = c->nhmark ? c->nhmark : 1024;
    while (nn < need)
        nn *= 2;
    uint32_t *m = realloc(c->hmark, nn * sizeof(*m));
    if (!m)
        return nomem(c);
    memset(m + c->nhmark, 0, (nn - c->nhmark) * sizeof(*m));
    c->hmark = m;
    c->nhmark = nn;
    return 0;
}

/* A (host, dataset) entry of the host index to add or remove. They are
 * collected during the walk (which goes in dataset order) and applied in
 * host order afterwards: random inserts across thousands of hosts would
 * touch, copy and split pages all over the index. */
/* 8 bytes per change: a fresh store's walk records three million. */
typedef struct hd_change {
    uint32_t host; /* batch host id */
    uint32_t ds;   /* dataset id << 1 | 1 to add, 0 to remove */
} hd_change;

static int hd_update(commit_ctx *c, uint32_t host, uint32_t dsid, int add)
{
    if (!c->hd && c->hs->spare_hd.p) {
        size_t cap;
        c->hd = hs_spare_take(&c->hs->spare_hd, &cap);
        c->cap_hd = cap / sizeof(*c->hd);
    }
    if (c->n_hd == c->cap_hd) {
        size_t nc = c->cap_hd ? c->cap_hd * 2 : 4096;
        hd_change *n = realloc(c->hd, nc * sizeof(*n));
        if (!n)
            return nomem(c);
        c->hd = n;
        c->cap_hd = nc;
    }
    c->hd[c->n_hd] = (hd_change){host, dsid << 1 | (add ? 1u : 0u)};
    c->n_hd++;
    return 0;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Writes one host's changes ch[0..n) (dataset id << 1 | add, sorted). A host
 * new to the index gets its whole list in one MDB_MULTIPLE put of packed
 * ids (ch is rewritten to the ids). */
static int apply_host_changes(commit_ctx *c, appender *ap, uint32_t host, uint32_t *ch,
                              size_t n)
{
    MDB_val k = {sizeof(host), &host}, v;
    int all_add = 1, rc;
    for (size_t i = 0; i < n; i++)
        all_add &= (int)(ch[i] & 1);
    int past = appender_past(c->txn, ap, &k);
    int absent = past;
    if (!past && all_add) {
        MDB_val lk = k;
        rc = mdb_cursor_get(ap->cur, &lk, &v, MDB_SET);
        if (rc && rc != MDB_NOTFOUND)
            return mdb_fail(c, rc, HS_DB_HOST_DATASETS, "", 0);
        absent = rc == MDB_NOTFOUND;
    }
    if (absent && all_add) {
        for (size_t i = 0; i < n; i++)
            ch[i] >>= 1;
        MDB_val mv[2] = {{sizeof(uint32_t), ch}, {n, NULL}};
        rc = mdb_cursor_put(ap->cur, &k, mv, MDB_MULTIPLE | (past ? MDB_APPEND : 0));
        if (rc)
            return mdb_fail(c, rc, HS_DB_HOST_DATASETS, "", 0);
        if (mv[1].mv_size == n)
            return 0;
        /* LMDB stops a multiple put early at an id already there; the
         * rest go in one by one */
        for (size_t i = 0; i < n; i++)
            ch[i] = ch[i] << 1 | 1;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t id = ch[i] >> 1;
        MDB_val dv = {sizeof(id), &id};
        rc = ch[i] & 1 ? mdb_put(c->txn, c->hs->db_host_datasets, &k, &dv, MDB_NODUPDATA)
                       : mdb_del(c->txn, c->hs->db_host_datasets, &k, &dv);
        if (rc && rc != MDB_KEYEXIST && rc != MDB_NOTFOUND)
            return mdb_fail(c, rc, HS_DB_HOST_DATASETS, "", 0);
    }
    return 0;
}

/* Applies the collected host index changes in key order: by host id, then
 * dataset id. Hosts past the index's end - every host of a fresh store - are
 * appended. */
static int apply_host_index(commit_ctx *c)
{
    if (!c->n_hd)
        return 0;
    /* Counting sort by store host id: linear where a comparison sort of
     * three entries per block was not; stable, so each host's entries stay
     * in the walk's order, which is dataset id order whenever the walk
     * handed the ids out (a fresh store). */
    uint32_t nh = 0;
    for (size_t i = 0; i < c->n_hd; i++) {
        c->hd[i].host = c->sid[c->hd[i].host] - 1;
        if (c->hd[i].host + 1 > nh)
            nh = c->hd[i].host + 1;
    }
    /* host h's changes end up in ch[start[h] .. start[h + 1]) */
    size_t *start = calloc((size_t)nh + 2, sizeof(*start));
    uint32_t *ch = hs_big_alloc(c->n_hd * sizeof(*ch));
    if (!start || !ch) {
        free(start);
        free(ch);
        return nomem(c);
    }
    for (size_t i = 0; i < c->n_hd; i++)
        start[c->hd[i].host + 2]++;
    for (uint32_t h = 0; h < nh; h++)
        start[h + 2] += start[h + 1];
    for (size_t i = 0; i < c->n_hd; i++)
        ch[start[c->hd[i].host + 1]++] = c->hd[i].ds;
    hs_spare_keep(&c->hs->spare_hd, c->hd, c->cap_hd * sizeof(*c->hd));
    c->hd = NULL;
    c->n_hd = c->cap_hd = 0;
    appender ap = {0};
    int rc = appender_open(c->txn, &ap, c->hs->db_host_datasets), st = 0;
    if (rc)
        st = mdb_fail(c, rc, HS_DB_HOST_DATASETS, "", 0);
    for (uint32_t h = 0; st == 0 && h < nh; h++) {
        uint32_t *hc = ch + start[h];
        size_t n = start[h + 1] - start[h];
        if (!n)
            continue;
        int in_order = 1;
        for (size_t j = 1; j < n; j++)
            in_order &= hc[j] > hc[j - 1];
        if (!in_order)
            qsort(hc, n, sizeof(*hc), u32_cmp);
        st = apply_host_changes(c, &ap, h, hc, n);
    }
    appender_close(&ap);
    free(start);
    free(ch);
    return st;
}

/* Id of the current dataset for a new summary: the next free one, its name
 * written to dataset_names (past the end: appended). */
static int new_dataset_id(commit_ctx *c, uint32_t *id)
{
    if (c->next_dsid >= HS_MAX_DATASET_ID)
        return fail(c->hs, LOCUS_EFULL,
                    "%s: the store has used every dataset id; rebuild it (remove data.mdb)%s",
                    c->hs->path, NULL);
    *id = (uint32_t)c->next_dsid;
    MDB_val k = {sizeof(*id), id}, v = {c->nlen, c->name};
    int rc = appender_past(c->txn, &c->ap_dsnames, &k)
                 ? mdb_cursor_put(c->ap_dsnames.cur, &k, &v, MDB_APPEND)
                 : mdb_put(c->txn, c->hs->db_dataset_names, &k, &v, 0);
    if (rc)
        return mdb_fail(c, rc, HS_DB_DATASET_NAMES, c->name, c->nlen);
    c->next_dsid++;
    return 0;
}

/* *ours = 1 if dataset_names holds the current dataset's name under id, 0
 * if not (a damaged summary: the dataset then gets a new id). */
static int dataset_id_check(commit_ctx *c, uint32_t id, int *ours)
{
    MDB_val k = {sizeof(id), &id}, v;
    int rc = mdb_get(c->txn, c->hs->db_dataset_names, &k, &v);
    *ours = 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return mdb_fail(c, rc, HS_DB_DATASET_NAMES, c->name, c->nlen);
    *ours = v.mv_size == c->nlen && memcmp(v.mv_data, c->name, c->nlen) == 0;
    return 0;
}

/* Applies the accumulated delta of the current dataset: one summary read,
 * one summary write, host index entries only for hosts that came or went. */
static int finish_dataset(commit_ctx *c)
{
    locus_hs *hs = c->hs;
    MDB_val dk = {c->nlen, c->name}, v;
    hs_summary *old = NULL;
    uint64_t total = 0, count = 0, version = 0;
    int st, rc;
    uint32_t oldstamp, newstamp;

    if (!c->active)
        return 0;
    c->active = 0;
    hs_arena_reset(&c->sum_arena);
    /* c->dcur stays on the summary for its rewrite or delete below (nothing
     * is written in between) */
    MDB_val lk = dk;
    rc = appender_past(c->txn, &c->ap_datasets, &dk) ? MDB_NOTFOUND
                                                      : mdb_cursor_get(c->dcur, &lk, &v, MDB_SET_KEY);
    if (rc && rc != MDB_NOTFOUND)
        return mdb_fail(c, rc, HS_DB_DATASETS, c->name, c->nlen);
    int found = rc == 0;
    hs_summary oldrec;
    if (found) {
        /* read in place: nothing is written before the last use of old */
        if (hs_summary_parse(v.mv_data, v.mv_size, &oldrec) == 0)
            old = &oldrec;
        else
            c->rescan = 1;
    }
    c->mgen++;
    oldstamp = 2 * c->mgen;
    newstamp = oldstamp + 1;
    if (!c->rescan) {
        uint64_t t = c->dtotal + (old ? old->total_bytes : 0);
        uint64_t n = c->dcount + (old ? old->block_count : 0);
        if (old) {
            for (uint32_t i = 0; i < old->n && !c->rescan; i++) {
                uint32_t h = 0, sh, tier;
                uint64_t bytes;
                hs_summary_entry(old, i, &sh, &tier, &bytes);
                st = batch_host_of(c, sh, &h);
                if (st == 1) {
                    c->rescan = 1; /* an unknown host: recompute from the blocks */
                    break;
                }
                if (st || (st = mark_hosts_grow(c)))
                    return st;
                c->hmark[h] = oldstamp;
                if (pmap_add(&c->pm, h << 2 | tier, bytes))
                    return nomem(c);
            }
            version = old->version;
        }
        /* A consistent result has no "negative" (wrapped) sum and no (host,
         * tier) holding more than the total; otherwise repair from the blocks. */
        if (t > (uint64_t)INT64_MAX || n > (uint64_t)INT64_MAX)
            c->rescan = 1;
        for (size_t i = 0; !c->rescan && i < c->pm.n; i++)
            if (c->pm.vals[i] > t)
                c->rescan = 1;
        total = t;
        count = n;
    }
    if (c->rescan) {
        if ((st = rescan_dataset(c, &total, &count)))
            return st;
        c->changed = 1;
    }
    if ((st = mark_hosts_grow(c)))
        return st;

    ph_entry *ents = hs_arena_alloc(&c->sum_arena, (c->pm.n + 1) * sizeof(*ents));
    if (!ents)
        return nomem(c);
    size_t ne = 0;
    int ranked = 1; /* every host has a rank */
    for (size_t i = 0; i < c->pm.n; i++) {
        if (c->pm.vals[i] == 0)
            continue;
        ents[ne].hid = c->pm.keys[i] >> 2;
        ents[ne].tier = c->pm.keys[i] & 3;
        ents[ne].host = c->b->hosts.strs[ents[ne].hid];
        ents[ne].rank = ents[ne].hid < c->nrank ? c->hrank[ents[ne].hid] : UINT32_MAX;
        ranked &= ents[ne].rank != UINT32_MAX;
        ents[ne++].bytes = c->pm.vals[i];
    }
    if (ranked && ne <= 64) {
        /* The usual case (every host ranked, few entries): an insertion
         * sort of 8-byte keys, rank then tier (ph_cmp's order) above the
         * entry's place, then the entries in key order. Ranks are below
         * HS_MAX_HOST_IDS, so rank << 2 | tier fits 32 bits. */
        uint64_t key[64];
        ph_entry tmp[64];
        for (size_t i = 0; i < ne; i++) {
            uint64_t k = ((uint64_t)ents[i].rank << 2 | ents[i].tier) << 32 | i;
            size_t j = i;
            for (; j > 0 && key[j - 1] > k; j--)
                key[j] = key[j - 1];
            key[j] = k;
        }
        memcpy(tmp, ents, ne * sizeof(*ents));
        for (size_t i = 0; i < ne; i++)
            ents[i] = tmp[(uint32_t)key[i]];
    } else if (ne <= 64) { /* an insertion sort, no qsort set-up */
        for (size_t i = 1; i < ne; i++) {
            ph_entry e = ents[i];
            size_t j = i;
            for (; j > 0 && ph_cmp(&ents[j - 1], &e) > 0; j--)
                ents[j] = ents[j - 1];
            ents[j] = e;
        }
    } else {
        qsort(ents, ne, sizeof(*ents), ph_cmp);
    }

    /* The dataset's id: kept from its summary, or a new one for a new
     * dataset (or one whose summary did not decode or names another's id). */
    uint32_t dsid = 0;
    int id_known = 0;
    if (old && (st = dataset_id_check(c, old->dataset_id, &id_known)))
        return st;
    if (id_known)
        dsid = old->dataset_id;
    else if (ne && (st = new_dataset_id(c, &dsid)))
        return st;

    /* Host index: new hosts are added; with a trusted old summary, hosts that
     * left are removed (after a rescan readers filter leftovers). */
    for (size_t i = 0; i < ne; i++) {
        uint32_t h = ents[i].hid;
        /* once per host (it has an entry per tier); under a new id even
         * the hosts the old summary had */
        if (c->hmark[h] != newstamp && (c->hmark[h] != oldstamp || !id_known) &&
            (st = hd_update(c, h, dsid, 1)))
            return st;
        c->hmark[h] = newstamp;
    }
    if (old && !c->rescan && id_known) {
        for (uint32_t i = 0; i < old->n; i++) {
            uint32_t h = 0, sh, tier;
            uint64_t bytes;
            hs_summary_entry(old, i, &sh, &tier, &bytes);
            if (batch_host_of(c, sh, &h))
                continue;
            if (c->hmark[h] == oldstamp) {
                if ((st = hd_update(c, h, dsid, 0)))
                    return st;
                c->hmark[h] = 0;
            }
        }
    }

    if (count == 0) {
        if (found && (rc = mdb_cursor_del(c->dcur, 0)) != 0)
            return mdb_fail(c, rc, HS_DB_DATASETS, c->name, c->nlen);
        if (id_known) {
            MDB_val ik = {sizeof(dsid), &dsid};
            rc = mdb_del(c->txn, hs->db_dataset_names, &ik, NULL);
            if (rc && rc != MDB_NOTFOUND)
                return mdb_fail(c, rc, HS_DB_DATASET_NAMES, c->name, c->nlen);
        }
        if (found && hs_feed_dataset(&c->feed, c->name, c->nlen, 1, NULL, 0))
            return nomem(c);
        return 0;
    }
    hs_summary ns = {.total_bytes = total,
                     .block_count = count,
                     .version = version + (c->changed || !found ? 1 : 0),
                     .updated_at_ms = c->now,
                     .n = (uint32_t)ne,
                     .dataset_id = dsid};
    MDB_val nv = {hs_summary_size((uint32_t)ne), NULL};
    if (ne > HS_SUMMARY_MAX_ENTRIES)
        return fail(hs, LOCUS_EINVAL, "%s: dataset '%.400s' has too many (host, tier) entries",
                    hs->path, c->name);
    rc = found ? mdb_cursor_put(c->dcur, &dk, &nv, MDB_RESERVE | MDB_CURRENT)
         : appender_past(c->txn, &c->ap_datasets, &dk)
             ? mdb_cursor_put(c->ap_datasets.cur, &dk, &nv, MDB_RESERVE | MDB_APPEND)
             : mdb_put(c->txn, hs->db_datasets, &dk, &nv, MDB_RESERVE);
    if (rc)
        return mdb_fail(c, rc, HS_DB_DATASETS, c->name, c->nlen);
    hs_summary_write(nv.mv_data, &ns);
    for (size_t i = 0; i < ne; i++)
        hs_summary_entry_put(nv.mv_data, (uint32_t)i, c->sid[ents[i].hid] - 1, ents[i].tier,
                             ents[i].bytes);
    if (hs_feed_dataset(&c->feed, c->name, c->nlen, c->changed || !found, nv.mv_data, nv.mv_size))
        return nomem(c);
    return 0;
}

/* Switches the walk to dataset name[0..n), finishing the previous one. */
static int enter_dataset(commit_ctx *c, const char *name, size_t n)
{
    if (c->active && n == c->nlen && memcmp(name, c->name, n) == 0)
        return 0;
    int st = finish_dataset(c);
    if (st)
        return st;
    memcpy(c->name, name, n);
    c->name[n] = '\0';
    c->nlen = n;
    c->active = 1;
    c->changed = c->rescan = 0;
    c->dtotal = c->dcount = 0;
    pmap_reset(&c->pm);
    return 0;
}

static int name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int r = memcmp(a, b, an < bn ? an : bn);
    return r ? r : (an > bn) - (an < bn);
}

static int op_cmp(const void *a, const void *b)
{
    const hs_op *x = a, *y = b;
    if (x->ds != y->ds)
        return x->ds < y->ds ? -1 : 1;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Replaces dataset ids by their rank in name order and sorts the ops in key
 * order. Returns the names by rank and their lengths in *lens (both
 * malloc'd) or NULL. */
static char **sort_ops(locus_hs_batch *b, size_t **lens)
{
    uint32_t n = b->datasets.n;
    name_id *order = malloc((n + 1) * sizeof(*order));
    uint32_t *rank = malloc((n + 1) * sizeof(*rank));
    char **by_rank = malloc((n + 1) * sizeof(*by_rank));
    *lens = malloc((n + 1) * sizeof(**lens));
    if (!order || !rank || !by_rank || !*lens) {
        free(order);
        free(rank);
        free(by_rank);
        free(*lens);
        *lens = NULL;
        return NULL;
    }
    /* a poll that lists its datasets, or its blocks, in key order (as
     * a walk of the source's namespace does) skips the sorts */
    int sorted = 1;
    for (uint32_t i = 0; i < n; i++) {
        order[i].name = b->datasets.strs[i];
        order[i].id = i;
        if (i && sorted && name_id_cmp(&order[i - 1], &order[i]) > 0)
            sorted = 0;
    }
    if (!sorted)
        qsort(order, n, sizeof(*order), name_id_cmp);
    for (uint32_t r = 0; r < n; r++) {
        rank[order[r].id] = r;
        by_rank[r] = b->datasets.strs[order[r].id];
        (*lens)[r] = strlen(by_rank[r]);
    }
    sorted = 1;
    for (size_t i = 0; i < b->n_ops; i++) {
        b->ops[i].ds = rank[b->ops[i].ds];
        if (i && sorted && op_cmp(&b->ops[i - 1], &b->ops[i]) > 0)
            sorted = 0;
    }
    if (!sorted)
        qsort(b->ops, b->n_ops, sizeof(*b->ops), op_cmp);
    /* Several ops of one block: the last recorded one is the block's. */
    size_t w = 0;
    for (size_t i = 0; i < b->n_ops; i++) {
        if (w && b->ops[w - 1].ds == b->ops[i].ds && b->ops[w - 1].index == b->ops[i].index)
            b->ops[w - 1] = b->ops[i];
        else
            b->ops[w++] = b->ops[i];
    }
    b->n_ops = w;
    free(order);
    free(rank);
    return by_rank;
}

/* The stored blocks of one backend, in key order, from the pre-commit
 * snapshot: blocks naming another backend are passed over; a block that
 * does not decode is handed out too (its backend is unknown; a full poll
 * deletes it, which also repairs its dataset's summary). */
typedef struct stored_stream {
    MDB_txn *rtxn;
    MDB_cursor *cur;
    const char *backend;
    size_t blen;
    int valid;
    const char *ds;
    size_t dlen;
    uint64_t index;
} stored_stream;

static int stored_next(stored_stream *s, MDB_cursor_op op)
{
    MDB_val k, v;
    for (;;) {
        int rc = mdb_cursor_get(s->cur, &k, &v, op);
        op = MDB_NEXT;
        s->valid = 0;
        if (rc == MDB_NOTFOUND)
            return 0;
        if (rc)
            return rc;
        if (hs_block_key_parse(k.mv_data, k.mv_size, &s->ds, &s->dlen, &s->index) != 0 ||
            s->dlen == 0 || s->dlen > HS_MAX_DATASET)
            continue; /* not a key this code writes: leave it */
        hs_blockrec p;
        if (hs_blockrec_parse(v.mv_data, v.mv_size, &p) == 0 &&
            (p.backend_len != s->blen || memcmp(p.backend, s->backend, s->blen) != 0))
            continue;
        s->valid = 1;
        return 0;
    }
}

static int write_meta(commit_ctx *c, int poll_ok, int poll_failed)
{
    locus_hs *hs = c->hs;
    Locus__StoreMeta *m;
    hs_arena_reset(&c->sum_arena);
    int st = hs_meta_read(hs, c->txn, &c->sum_arena, &m, hs->err);
    if (st == LOCUS_ENOMEM)
        return st;
    Locus__StoreMeta nm = LOCUS__STORE_META__INIT;
    if (m) /* an undecodable meta is rewritten from scratch */
        nm = *m;
    nm.schema_version = LOCUS_HS_SCHEMA_VERSION;
    nm.writer_generation++;
    nm.updated_at_ms = c->now;
    size_t cap = nm.n_backends + c->n_bd + 1;
    Locus__BackendPoll **bp = hs_arena_alloc(&c->sum_arena, cap * sizeof(*bp));
    Locus__BackendPoll *fresh = hs_arena_alloc(&c->sum_arena, cap * sizeof(*fresh));
    if (!bp || !fresh)
        return nomem(c);
    size_t n = 0;
    for (size_t i = 0; i < nm.n_backends; i++)
        if (nm.backends[i] && nm.backends[i]->backend)
            bp[n++] = nm.backends[i];
    for (size_t d = 0; d <= c->n_bd; d++) {
        const char *name = d < c->n_bd ? c->bd[d].name : c->b->backend;
        size_t i;
        for (i = 0; i < n; i++)
            if (strcmp(bp[i]->backend, name) == 0)
                break;
        if (i == n) {
            if (d == c->n_bd && !poll_ok && !poll_failed)
                break;
            locus__backend_poll__init(&fresh[i]);
            fresh[i].backend = (char *)name;
            bp[n++] = &fresh[i];
        }
        if (d < c->n_bd) {
            int64_t nb = (int64_t)bp[i]->blocks + c->bd[d].delta;
            bp[i]->blocks = nb < 0 ? 0 : (uint64_t)nb;
        } else if (poll_ok) {
            bp[i]->last_success_ms = bp[i]->last_attempt_ms = c->now;
            bp[i]->consecutive_failures = 0;
        } else if (poll_failed) {
            bp[i]->last_attempt_ms = c->now;
            bp[i]->consecutive_failures++;
        }
    }
    nm.backends = bp;
    nm.n_backends = n;
    MDB_val k = {sizeof(HS_META_KEY) - 1, (void *)HS_META_KEY};
    int rc = hs_put_message(c->txn, hs->db_meta, &k, &nm.base, 0);
    if (rc)
        return mdb_fail(c, rc, HS_DB_META, HS_META_KEY, 4);
    return hs_feed_write(hs, c->txn, &c->feed, nm.writer_generation, c->now);
}

static void ctx_free(commit_ctx *c)
{
    pmap_free(&c->pm);
    free(c->hmark);
    hs_spare_keep(&c->hs->spare_hd, c->hd, c->cap_hd * sizeof(*c->hd));
    free(c->bd);
    hs_feed_free(&c->feed);
    appender_close(&c->ap_blocks);
    appender_close(&c->ap_dsnames);
    appender_close(&c->ap_datasets);
    if (c->bcur)
        mdb_cursor_close(c->bcur);
    if (c->dcur)
        mdb_cursor_close(c->dcur);
    free(c->hrank);
    free(c->sid);
    free(c->bid);
    free(c->repbuf);
    hs_arena_free(&c->scratch);
    hs_arena_free(&c->sum_arena);
}

static int apply_binds(commit_ctx *c)
{
    for (size_t i = 0; i < c->b->n_binds; i++) {
        binding *x = &c->b->binds[i];
        Locus__HostBinding hb = LOCUS__HOST_BINDING__INIT;
        hb.storage_host = x->storage_host;
        hb.agent_hostname = x->agent_hostname;
        hb.agent_id = x->agent_id;
        MDB_val k = {strlen(x->storage_host), x->storage_host};
        int rc = hs_put_message(c->txn, c->hs->db_hosts, &k, &hb.base, 0);
        if (rc)
            return mdb_fail(c, rc, HS_DB_HOSTS, k.mv_data, k.mv_size);
        if (hs_feed_host(&c->feed, x->storage_host))
            return nomem(c);
    }
    return 0;
}

/* The walk: ops (sorted) merged with the backend's previous blocks. */
static int walk(commit_ctx *c, char **names, const size_t *lens)
{
    locus_hs_batch *b = c->b;
    stored_stream os = {0};
    int st = 0, rc;
    size_t oi = 0;
    MDB_stat bst;

    /* A full poll reads the backend's previous blocks, unless the store has
     * no blocks at all (its first poll into an empty store). */
    if (b->replace_all && (rc = mdb_stat(c->txn, c->hs->db_blocks, &bst)) != 0)
        st = hs_mdb_status(c->hs->err, rc, "blocks: stat");
    else if (b->replace_all && bst.ms_entries > 0) {
        os.backend = b->backend;
        os.blen = strlen(b->backend);
        if ((rc = mdb_txn_begin(c->hs->env, NULL, MDB_RDONLY, &os.rtxn)) != 0 ||
            (rc = mdb_cursor_open(os.rtxn, c->hs->db_blocks, &os.cur)) != 0)
            st = hs_mdb_status(c->hs->err, rc, "blocks: open snapshot");
        else if ((rc = stored_next(&os, MDB_FIRST)) != 0)
            st = hs_mdb_status(c->hs->err, rc, "blocks: read");
    }
    while (st == 0 && (oi < b->n_ops || os.valid)) {
        const hs_op *o = oi < b->n_ops ? &b->ops[oi] : NULL;
        int cmp;
        if (!o)
            cmp = 1;
        else if (!os.valid)
            cmp = -1;
        else {
            cmp = name_cmp(names[o->ds], lens[o->ds], os.ds, os.dlen);
            if (cmp == 0)
                cmp = (o->index > os.index) - (o->index < os.index);
        }
        if (cmp <= 0) {
            if ((st = enter_dataset(c, names[o->ds], lens[o->ds])))
                break;
            st = o->kind == OP_PUT ? apply_put(c, o) : apply_del(c, o->index, NULL);
            oi++;
        } else {
            if ((st = enter_dataset(c, os.ds, os.dlen)))
                break;
            st = apply_del(c, os.index, b->backend); /* not confirmed by this poll */
        }
        if (st == 0 && cmp >= 0 && (rc = stored_next(&os, MDB_NEXT)) != 0)
            st = hs_mdb_status(c->hs->err, rc, "blocks: read");
    }
    if (os.cur)
        mdb_cursor_close(os.cur);
    if (os.rtxn)
        mdb_txn_abort(os.rtxn);
    if (st == 0)
        st = finish_dataset(c);
    return st;
}

/* The next dataset id: one past the highest in dataset_names. */
static int first_free_dataset_id(commit_ctx *c)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(c->ap_dsnames.cur, &k, &v, MDB_LAST);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (k.mv_size != sizeof(uint32_t))
        return MDB_CORRUPTED;
    uint32_t last;
    memcpy(&last, k.mv_data, sizeof(last));
    c->next_dsid = (uint64_t)last + 1;
    return 0;
}

static int commit_batch(locus_hs_batch *b, int64_t now_ms, int poll_ok)
{
    locus_hs *hs = b->hs;
    commit_ctx c;
    memset(&c, 0, sizeof(c));
    c.b = b;
    c.hs = hs;
    c.txn = b->txn;
    c.now = now_ms;
    hs_arena_init(&c.scratch, 16384);
    hs_arena_init(&c.sum_arena, 65536);
    size_t *lens = NULL;
    char **names = sort_ops(b, &lens);
    int st = names ? 0 : nomem(&c);
    if (st == 0)
        st = apply_binds(&c);
    if (st == 0)
        st = assign_store_ids(&c);
    if (st == 0) {
        int rc = appender_open(c.txn, &c.ap_blocks, hs->db_blocks);
        if (rc == 0)
            rc = appender_open(c.txn, &c.ap_datasets, hs->db_datasets);
        if (rc == 0)
            rc = appender_open(c.txn, &c.ap_dsnames, hs->db_dataset_names);
        if (rc == 0)
            rc = first_free_dataset_id(&c);
        if (rc == 0 && (rc = mdb_cursor_open(c.txn, hs->db_blocks, &c.bcur)) != 0)
            c.bcur = NULL;
        if (rc == 0 && (rc = mdb_cursor_open(c.txn, hs->db_datasets, &c.dcur)) != 0)
            c.dcur = NULL;
        if (rc)
            st = hs_mdb_status(hs->err, rc, "open write cursors");
    }
    if (st == 0)
        st = walk(&c, names, lens);
    if (st == 0)
        st = apply_host_index(&c);
    if (st == 0)
        st = write_meta(&c, poll_ok, 0);
    free(names);
    free(lens);
    ctx_free(&c);
    if (st) {
        mdb_txn_abort(b->txn);
    } else {
        int rc = mdb_txn_commit(b->txn);
        if (rc)
            st = hs_store_status(hs, rc, "commit");
        else
            hs->err[0] = '\0';
    }
    batch_free(b);
    return st;
}

int locus_hs_batch_commit(locus_hs_batch *b, int64_t now_ms)
{
    if (!b)
        return LOCUS_EINVAL;
    return commit_batch(b, now_ms, b->record_poll);
}

int locus_hs_record_failure(locus_hs *hs, const char *backend, int64_t now_ms)
{
    locus_hs_batch *b;
    if (!hs)
        return LOCUS_EINVAL;
    int st = begin_txn(hs, backend, 0, &b);
    if (st)
        return st;
    commit_ctx c;
    memset(&c, 0, sizeof(c));
    c.b = b;
    c.hs = hs;
    c.txn = b->txn;
    c.now = now_ms;
    hs_arena_init(&c.scratch, 4096);
    hs_arena_init(&c.sum_arena, 4096);
    st = write_meta(&c, 0, 1);
    ctx_free(&c);
    if (st) {
        locus_hs_batch_abort(b);
        return st;
    }
    int rc = mdb_txn_commit(b->txn);
    batch_free(b);
    return rc ? hs_store_status(hs, rc, "commit") : 0;
}

int locus_hs_expire_backend(locus_hs *hs, const char *backend, int64_t older_than_ms,
                            int64_t now_ms, uint64_t *dropped)
{
    locus_hs_batch *b;
    if (dropped)
        *dropped = 0;
    if (!hs)
        return LOCUS_EINVAL;
    int st = begin_txn(hs, backend, 0, &b);
    if (st)
        return st;
    b->record_poll = 0;
    /* Collect the backend's blocks older than the bound, then delete them
     * through the ordinary commit walk (summaries stay exact). The blocks
     * are read in key order; those of other backends are passed over. */
    size_t blen = strlen(backend);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t n = 0;
    int rc = mdb_cursor_open(b->txn, hs->db_blocks, &cur);
    if (rc) {
        cur = NULL;
        st = hs_mdb_status(hs->err, rc, "blocks: open cursor");
    }
    for (rc = st ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && st == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *ds;
        size_t dlen;
        uint64_t idx;
        if (hs_block_key_parse(k.mv_data, k.mv_size, &ds, &dlen, &idx) != 0 || dlen == 0 ||
            dlen > HS_MAX_DATASET)
            continue;
        hs_blockrec p;
        if (hs_blockrec_parse(v.mv_data, v.mv_size, &p) == 0 &&
            (p.backend_len != blen || memcmp(p.backend, backend, blen) != 0 ||
             p.updated_at_ms >= older_than_ms))
            continue;
        /* undecodable blocks (whose backend is unknown) count as expired too */
        int64_t id = hs_strtab_intern(&b->datasets, ds, dlen);
        int fresh;
        hs_op *o = id < 0 ? NULL : op_get(b, (uint32_t)id, idx, &fresh);
        if (!o) {
            st = fail(hs, LOCUS_ENOMEM, "out of memory%s%s", NULL, NULL);
            break;
        }
        o->kind = OP_DEL;
        n++;
    }
    if (cur)
        mdb_cursor_close(cur);
    if (st == 0 && rc && rc != MDB_NOTFOUND)
        st = hs_mdb_status(hs->err, rc, "blocks: read");
    if (st) {
        locus_hs_batch_abort(b);
        return st;
    }
    st = commit_batch(b, now_ms, 0);
    if (st == 0 && dropped)
        *dropped = n;
    return st;
}
