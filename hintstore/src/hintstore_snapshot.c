/* Hint store reader: a snapshot is one LMDB read transaction.
 *
 * It never blocks the writer and always sees whole commits. Summaries and
 * blocks are fixed-layout records (hintstore_layout.c) read in place:
 * locus_hs_snapshot_dataset_ref hands out the mapped entries themselves
 * (locus_hs_snapshot_dataset_refs does so for many names at once, their
 * B-tree descents side by side through hintstore_btree.c, and
 * locus_hs_snapshot_block_refs for many blocks, starting on the previous
 * key's leaf when keys come in order);
 * locus_hs_snapshot_dataset (and _block) build a small view in the
 * snapshot's arena, resolving host ids through the handle's host table. The
 * allocator looks up every demanded dataset every cycle, so a view lookup is
 * one hash probe of the snapshot's cache, else one B-tree get plus one pass
 * over the entries. A repeated lookup returns the same view, so a snapshot's
 * memory is bounded by the distinct datasets it reads; at close the arena and
 * cache go back to the handle for the next snapshot (no free/malloc churn,
 * no fresh pages per cycle).
 * Iterators decode each value into a scratch arena that is rewound after each
 * callback, so walking a million blocks uses one small chunk; an iteration
 * nested in another one's callback gets its own arena, so the outer view
 * stays intact.
 *
 * A value that does not decode is counted, described (sub-database and key)
 * in the snapshot's error text and skipped; point lookups return
 * LOCUS_ECORRUPT for it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hintstore_internal.h"
#include "locus/util.h"

typedef struct hs_block_window hs_block_window;

typedef struct cache_ent {
    uint64_t hash;
    const locus_hs_dataset *view;
} cache_ent;

struct locus_hs_snapshot {
    locus_hs *hs;
    MDB_txn *txn;
    MDB_cursor *ds_cur; /* datasets cursor kept for point lookups (opened on first use) */
    MDB_cursor *blk_cur; /* blocks cursor, the same for block lookups */
    hs_bt ds_bt;      /* the datasets tree for batched lookups */
    int ds_bt_state;  /* 0 not set up yet, 1 usable, -1 not (LMDB answers) */
    hs_bt blk_bt;     /* the blocks tree for batched block lookups */
    int blk_bt_state; /* as ds_bt_state */
    struct hs_block_window *blk_window; /* batched block lookups' searches (on first use) */
    hs_arena arena;   /* values handed out until close */
    hs_arena ents;    /* the entries of the views in arena, apart so views pack densely */
    hs_arena scratch; /* iterator views, rewound per item */
    int iter_depth;   /* iterations running (nested ones use their own arena) */
    cache_ent *cache;
    size_t ncache, cache_used;
    uint64_t decode_errors;
    uint64_t generation;
    int generation_known;
    /* The summaries the change feed carried (locus_hs_snapshot_changes_since):
     * lookups of those datasets are answered from the records. feed_bits
     * marks their names' hashes (FEED_BITS bits) so other names skip the
     * search of feed_names. */
    hs_feed_values feed;
    const char *const *feed_names;
    uint64_t *feed_bits;
    char err[HS_ERRLEN];
};

#define FEED_BITS 32768u

/* The cache's allocation holds its slots and then presence bits, 4 per
 * slot, by other bits of the name's hash than the slot's: a first lookup
 * (the usual kind) learns its name is not cached from a bit in a table
 * an eighth the size of the slots, instead of from a slot of a table of
 * 100,000 views, a cache miss. The slot the view will go to is fetched
 * during the lookup. */
#define CACHE_BITS_PER_SLOT 4

static size_t cache_bytes(size_t nslots)
{
    return nslots * sizeof(cache_ent) + nslots * CACHE_BITS_PER_SLOT / 8;
}


/* Hash of a dataset name for the snapshot's cache: the batch's name hash
 * (a repeated lookup is mostly this hash and one probe), never 0. */
static uint64_t name_hash(const char *s, size_t n)
{
    return hs_hash_bytes(s, n) | 1; /* 0 marks an empty slot */
}

int locus_hs_snapshot_open(locus_hs *hs, locus_hs_snapshot **out)
{
    if (!hs || !out)
        return LOCUS_EINVAL;
    *out = NULL;
    locus_hs_snapshot *s = calloc(1, sizeof(*s));
    if (!s) {
        hs_seterr(hs->err, "%s: out of memory opening a snapshot", hs->path);
        return LOCUS_ENOMEM;
    }
    s->hs = hs;
    pthread_mutex_lock(&hs->spare_mu);
    MDB_txn *spare = hs->spare_txn;
    hs->spare_txn = NULL;
    pthread_mutex_unlock(&hs->spare_mu);
    int rc = 0;
    if (spare && mdb_txn_renew(spare) == 0) {
        s->txn = spare;
    } else {
        if (spare)
            mdb_txn_abort(spare); /* e.g. the writer grew the map: begin anew */
        rc = mdb_txn_begin(hs->env, NULL, MDB_RDONLY, &s->txn);
    }
    if (rc == MDB_MAP_RESIZED) {
        /* The writer grew the map: adopt its size (possible when this process
         * has no other transaction open) and retry once. */
        if (mdb_env_set_mapsize(hs->env, 0) == 0)
            rc = mdb_txn_begin(hs->env, NULL, MDB_RDONLY, &s->txn);
    }
    if (rc) {
        char what[HS_ERRLEN];
        snprintf(what, sizeof(what), "%s: open snapshot", hs->path);
        int st = hs_mdb_status(hs->err, rc, what);
        free(s);
        return st == LOCUS_ENOMEM ? st : LOCUS_EIO;
    }
    hs_arena_init(&s->arena, 65536);
    hs_arena_init(&s->ents, 65536);
    hs_arena_init(&s->scratch, 16384);
    pthread_mutex_lock(&hs->spare_mu);
    if (hs->has_spare) {
        s->arena = hs->spare_arena;
        s->arena.pb.allocator_data = &s->arena; /* it points at its own struct */
        s->ents = hs->spare_ents;
        s->ents.pb.allocator_data = &s->ents;
        s->cache = hs->spare_cache;
        s->ncache = hs->spare_ncache;
        hs->has_spare = 0;
        hs->spare_cache = NULL;
        hs->spare_ncache = 0;
    }
    pthread_mutex_unlock(&hs->spare_mu);
    *out = s;
    return 0;
}

void locus_hs_snapshot_close(locus_hs_snapshot *s)
{
    if (!s)
        return;
    locus_hs *hs = s->hs;
    if (s->ds_cur)
        mdb_cursor_close(s->ds_cur);
    if (s->blk_cur)
        mdb_cursor_close(s->blk_cur);
    mdb_txn_reset(s->txn); /* kept for the next snapshot (or aborted below) */
    hs_arena_free(&s->scratch);
    /* Hand the arena and the cache to the next snapshot of this handle. A
     * cache far larger than this snapshot needed is dropped rather than
     * cleared at every close of small snapshots to come. */
    if (s->ncache > 4096 && s->cache_used * 16 < s->ncache) {
        free(s->cache);
        s->cache = NULL;
        s->ncache = 0;
    } else if (s->cache && s->cache_used) {
        memset(s->cache, 0, cache_bytes(s->ncache));
    }
    hs_arena_reset(&s->arena);
    hs_arena_reset(&s->ents);
    pthread_mutex_lock(&hs->spare_mu);
    if (!hs->has_spare) {
        hs->spare_arena = s->arena;
        hs->spare_arena.pb.allocator_data = &hs->spare_arena;
        hs->spare_ents = s->ents;
        hs->spare_ents.pb.allocator_data = &hs->spare_ents;
        s->ents.first = s->ents.head = NULL;
        hs->spare_cache = s->cache;
        hs->spare_ncache = s->ncache;
        hs->has_spare = 1;
        s->cache = NULL;
        s->arena.first = s->arena.head = NULL;
    }
    if (s->blk_window && !hs->spare_blk_window) {
        hs->spare_blk_window = s->blk_window;
        s->blk_window = NULL;
    }
    if (!hs->spare_txn) {
        hs->spare_txn = s->txn;
        s->txn = NULL;
    }
    pthread_mutex_unlock(&hs->spare_mu);
    if (s->txn)
        mdb_txn_abort(s->txn);
    free(s->blk_window);
    hs_arena_free(&s->arena);
    hs_arena_free(&s->ents);
    free(s->cache);
    free(s);
}

uint64_t locus_hs_snapshot_decode_errors(const locus_hs_snapshot *s)
{
    return s ? s->decode_errors : 0;
}

const char *locus_hs_snapshot_errstr(const locus_hs_snapshot *s) { return s ? s->err : ""; }

/* Records an undecodable value and returns LOCUS_ECORRUPT (or LOCUS_ENOMEM
 * when the arena, not the value, failed). */
static int corrupt(locus_hs_snapshot *s, hs_arena *a, const char *db, const void *key, size_t klen)
{
    char kt[300];
    hs_key_text(db, key, klen, kt, sizeof(kt));
    if (a->failed) {
        hs_seterr(s->err, "%s: out of memory decoding %s key '%s'", s->hs->path, db, kt);
        return LOCUS_ENOMEM;
    }
    s->decode_errors++;
    hs_seterr(s->err, "%s: sub-database %s, key '%s': value does not decode", s->hs->path, db,
              kt);
    return LOCUS_ECORRUPT;
}

static int lmdb_err(locus_hs_snapshot *s, int rc, const char *db, const void *key, size_t klen)
{
    char kt[300], what[HS_ERRLEN];
    hs_key_text(db, key, klen, kt, sizeof(kt));
    snprintf(what, sizeof(what), "%s: %s, key '%s'", s->hs->path, db, kt);
    return hs_mdb_status(s->err, rc, what);
}

/* Builds the public view of a parsed summary in arena a, its entries in
 * arena ea (a snapshot's looked-up views sit densely apart from their
 * entries, so a repeated lookup's name check and the caller's read of the
 * totals touch a small, mostly cached area); NULL with *bad set if a host
 * id is unknown to this snapshot. */
static locus_hs_dataset *dataset_view(locus_hs_snapshot *s, hs_arena *a, hs_arena *ea,
                                      const hs_summary *m, const char *name, size_t nlen,
                                      int *bad)
{
    *bad = 0;
    if (hs_hosttab_cover(s->hs, s->txn, m->max_host) != 0) {
        *bad = 1;
        return NULL;
    }
    /* The view with its name right after it (the cache compares the name,
     * then the caller reads the view); the entries apart. */
    locus_hs_dataset *d = hs_arena_alloc(a, sizeof(*d) + nlen + 1);
    locus_hs_host_bytes *p = hs_arena_alloc(ea, (m->n + 1) * sizeof(locus_hs_host_bytes));
    if (!d || !p)
        return NULL;
    char *dn = (char *)(d + 1);
    memcpy(dn, name, nlen);
    dn[nlen] = '\0';
    for (uint32_t i = 0; i < m->n; i++) {
        uint32_t host, tier;
        hs_summary_entry(m, i, &host, &tier, &p[i].bytes);
        p[i].host = hs_hosttab_name_known(s->hs, host);
        p[i].tier = (locus_tier)tier;
    }
    d->name = dn;
    d->total_bytes = m->total_bytes;
    d->block_count = m->block_count;
    d->version = m->version;
    d->updated_at_ms = m->updated_at_ms;
    d->placement = p;
    d->n_placement = m->n;
    return d;
}

/* Block view from its key and parsed value; NULL with *bad set as above. */
static locus_hs_block_view *block_view(locus_hs_snapshot *s, hs_arena *a, const MDB_val *k,
                                       const hs_blockrec *m, int *bad)
{
    const char *ds;
    size_t dlen;
    uint64_t index;
    *bad = 0;
    if (hs_block_key_parse(k->mv_data, k->mv_size, &ds, &dlen, &index) != 0 ||
        hs_hosttab_cover(s->hs, s->txn, m->max_host) != 0) {
        *bad = 1;
        return NULL;
    }
    locus_hs_block_view *b = hs_arena_alloc(a, sizeof(*b));
    locus_hs_replica *r = hs_arena_alloc(a, (m->n_rep + 1) * sizeof(*r));
    char *dn = hs_arena_strndup(a, ds, dlen), *bn = hs_arena_strndup(a, m->backend, m->backend_len);
    if (!b || !r || !dn || !bn)
        return NULL;
    for (uint32_t i = 0; i < m->n_rep; i++) {
        uint32_t v = hs_le32_get(m->reps + 4 * (size_t)i);
        r[i].host = hs_hosttab_name_known(s->hs, v >> 2);
        r[i].tier = (locus_tier)(v & 3);
    }
    b->dataset = dn;
    b->index = index;
    b->bytes = m->bytes;
    b->backend = bn;
    b->updated_at_ms = m->updated_at_ms;
    b->replicas = r;
    b->n_replicas = m->n_rep;
    return b;
}

/* One get through a cursor the snapshot keeps for sub-database dbi (opened
 * on first use): no cursor set-up per lookup (mdb_get builds one each
 * call), and a key on the page the cursor is already on skips the descent
 * from the root - so a reader walking keys in order (a dataset's blocks by
 * index) stays on one leaf page for most of them. */
static int kept_cursor_get(locus_hs_snapshot *s, MDB_cursor **cur, MDB_dbi dbi, MDB_val *k,
                           MDB_val *v)
{
    if (!*cur) {
        int rc = mdb_cursor_open(s->txn, dbi, cur);
        if (rc) {
            *cur = NULL;
            return rc;
        }
    }
    return mdb_cursor_get(*cur, k, v, MDB_SET);
}

static void ds_bt_setup(locus_hs_snapshot *s)
{
    if (s->ds_bt_state == 0)
        s->ds_bt_state = hs_bt_open(&s->ds_bt, s->hs->env, s->txn, HS_DB_DATASETS) == 0 ? 1 : -1;
}

/* A summary's value, found by the search over the mapped pages (which
 * prefetches each page's nodes before comparing, so a first lookup waits
 * for about one batch of misses per level instead of one per comparison);
 * what that search does not read goes to LMDB through the kept cursor. */
/* The value the change feed carried for dataset name[0..len): 0 with *v set,
 * MDB_NOTFOUND when the feed says it was deleted, 1 when the feed does not
 * carry it (or its copy does not decode: the tree's value is then read, and
 * judged, as if there were no feed). */
static int feed_get(const locus_hs_snapshot *s, const char *name, size_t len, MDB_val *v)
{
    if (!s->feed.n_known)
        return 1;
    uint64_t h = hs_hash_bytes(name, len) % FEED_BITS;
    if (!(s->feed_bits[h / 64] & (1ull << (h % 64))))
        return 1;
    size_t lo = 0, hi = s->feed.n;
    while (lo < hi) { /* feed_names are in strcmp order */
        size_t mid = lo + (hi - lo) / 2;
        const char *m = s->feed_names[mid];
        size_t ml = strlen(m);
        int r = memcmp(name, m, len < ml ? len : ml);
        if (r == 0)
            r = (len > ml) - (len < ml);
        if (r == 0) {
            uint32_t vl = s->feed.len[mid];
            hs_summary sum;
            if (vl == HS_FEED_VALUE_DELETED)
                return MDB_NOTFOUND;
            if (vl == HS_FEED_VALUE_UNKNOWN || hs_summary_parse(s->feed.value[mid], vl, &sum))
                return 1;
            v->mv_data = (void *)s->feed.value[mid];
            v->mv_size = vl;
            return 0;
        }
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 1;
}

static int summary_get(locus_hs_snapshot *s, MDB_val *k, MDB_val *v)
{
    int fr = feed_get(s, k->mv_data, k->mv_size, v);
    if (fr != 1)
        return fr;
    ds_bt_setup(s);
    if (s->ds_bt_state == 1) {
        hs_bt_query q = {.key = k->mv_data, .klen = k->mv_size};
        hs_bt_find_one(&s->ds_bt, &q);
        if (q.state == HS_BT_FOUND) {
            v->mv_data = (void *)q.value;
            v->mv_size = q.vlen;
            return 0;
        }
        if (q.state == HS_BT_ABSENT)
            return MDB_NOTFOUND;
    }
    return kept_cursor_get(s, &s->ds_cur, s->hs->db_datasets, k, v);
}

static int block_get(locus_hs_snapshot *s, MDB_val *k, MDB_val *v)
{
    return kept_cursor_get(s, &s->blk_cur, s->hs->db_blocks, k, v);
}

static void blk_bt_setup(locus_hs_snapshot *s)
{
    if (s->blk_bt_state == 0)
        s->blk_bt_state = hs_bt_open(&s->blk_bt, s->hs->env, s->txn, HS_DB_BLOCKS) == 0 ? 1 : -1;
}

static uint64_t *cache_bits(const locus_hs_snapshot *s)
{
    return (uint64_t *)(s->cache + s->ncache);
}

static size_t cache_bit(const locus_hs_snapshot *s, uint64_t h)
{
    return (size_t)(h >> 32) & (s->ncache * CACHE_BITS_PER_SLOT - 1);
}

static const locus_hs_dataset **cache_find(locus_hs_snapshot *s, const char *name, uint64_t h)
{
    if (!s->ncache)
        return NULL;
    size_t b = cache_bit(s, h);
    if (!(cache_bits(s)[b / 64] >> (b % 64) & 1)) {
        __builtin_prefetch(&s->cache[h & (s->ncache - 1)], 1); /* where cache_add goes */
        return NULL;
    }
    size_t i = h & (s->ncache - 1);
    while (s->cache[i].hash) {
        if (s->cache[i].hash == h && strcmp(s->cache[i].view->name, name) == 0)
            return &s->cache[i].view;
        i = (i + 1) & (s->ncache - 1);
    }
    return NULL;
}

static void cache_put(locus_hs_snapshot *s, uint64_t h, const locus_hs_dataset *d)
{
    size_t i = h & (s->ncache - 1);
    while (s->cache[i].hash)
        i = (i + 1) & (s->ncache - 1);
    s->cache[i].hash = h;
    s->cache[i].view = d;
    size_t b = cache_bit(s, h);
    cache_bits(s)[b / 64] |= (uint64_t)1 << (b % 64);
}

static void cache_add(locus_hs_snapshot *s, uint64_t h, const locus_hs_dataset *d)
{
    if ((s->cache_used + 1) * 2 > s->ncache) {
        size_t nn = s->ncache ? s->ncache * 2 : 256;
        cache_ent *nc = hs_big_alloc(cache_bytes(nn));
        if (!nc)
            return; /* the cache is an optimisation only */
        memset(nc, 0, cache_bytes(nn));
        cache_ent *old = s->cache;
        size_t nold = s->ncache;
        s->cache = nc;
        s->ncache = nn;
        for (size_t j = 0; j < nold; j++)
            if (old[j].hash)
                cache_put(s, old[j].hash, old[j].view);
        free(old);
    }
    cache_put(s, h, d);
    s->cache_used++;
}

int locus_hs_snapshot_dataset(locus_hs_snapshot *s, const char *name, const locus_hs_dataset **out)
{
    if (!s || !name || !out)
        return LOCUS_EINVAL;
    *out = NULL;
    size_t n = strlen(name);
    if (n == 0 || n > HS_MAX_DATASET)
        return LOCUS_ENOTFOUND;
    uint64_t h = name_hash(name, n);
    const locus_hs_dataset **hit = cache_find(s, name, h);
    if (hit) {
        *out = *hit;
        return 0;
    }
    MDB_val k = {n, (void *)name}, v;
    int rc = summary_get(s, &k, &v), bad;
    if (rc == MDB_NOTFOUND)
        return LOCUS_ENOTFOUND;
    if (rc)
        return lmdb_err(s, rc, HS_DB_DATASETS, name, n);
    hs_summary m;
    if (hs_summary_parse(v.mv_data, v.mv_size, &m) != 0)
        return corrupt(s, &s->arena, HS_DB_DATASETS, name, n);
    locus_hs_dataset *d = dataset_view(s, &s->arena, &s->ents, &m, name, n, &bad);
    if (!d)
        return bad ? corrupt(s, &s->arena, HS_DB_DATASETS, name, n) : LOCUS_ENOMEM;
    cache_add(s, h, d);
    *out = d;
    return 0;
}

int locus_hs_snapshot_block(locus_hs_snapshot *s, const char *dataset, uint64_t index,
                            const locus_hs_block_view **out)
{
    if (!s || !dataset || !out)
        return LOCUS_EINVAL;
    *out = NULL;
    size_t n = strlen(dataset);
    if (n == 0 || n > HS_MAX_DATASET)
        return LOCUS_ENOTFOUND;
    char key[HS_MAX_DATASET + 16];
    MDB_val k = {hs_block_key(key, dataset, n, index), key}, v;
    int rc = block_get(s, &k, &v), bad;
    if (rc == MDB_NOTFOUND)
        return LOCUS_ENOTFOUND;
    if (rc)
        return lmdb_err(s, rc, HS_DB_BLOCKS, key, k.mv_size);
    hs_blockrec m;
    if (hs_blockrec_parse(v.mv_data, v.mv_size, &m) != 0)
        return corrupt(s, &s->arena, HS_DB_BLOCKS, key, k.mv_size);
    *out = block_view(s, &s->arena, &k, &m, &bad);
    if (!*out)
        return bad ? corrupt(s, &s->arena, HS_DB_BLOCKS, key, k.mv_size) : LOCUS_ENOMEM;
    return 0;
}

static hs_arena *iter_begin(locus_hs_snapshot *s, hs_arena *local)
{
    if (s->iter_depth++ == 0)
        return &s->scratch;
    hs_arena_init(local, 4096);
    return local;
}

static void iter_end(locus_hs_snapshot *s, hs_arena *a)
{
    s->iter_depth--;
    if (a == &s->scratch)
        hs_arena_reset(a);
    else
        hs_arena_free(a);
}

/* Calls cb on the summary stored in v; with a host id (>= 0), only if it
 * really has bytes there (the host index may hold leftovers after a repair). */
static int visit_summary(locus_hs_snapshot *s, hs_arena *a, const MDB_val *k, const MDB_val *v,
                         int64_t host, locus_hs_dataset_cb cb, void *arg, int *ret)
{
    hs_arena_reset(a);
    hs_summary m;
    int bad = 1;
    locus_hs_dataset *d = NULL;
    if (hs_summary_parse(v->mv_data, v->mv_size, &m) == 0) {
        if (host >= 0) {
            /* only a dataset really holding bytes on the host is visited */
            uint32_t i, id, tier;
            uint64_t bytes;
            for (i = 0; i < m.n; i++) {
                hs_summary_entry(&m, i, &id, &tier, &bytes);
                if (id == (uint64_t)host && bytes)
                    break;
            }
            if (i == m.n)
                return 0;
        }
        d = dataset_view(s, a, a, &m, k->mv_data, k->mv_size, &bad);
    }
    if (!d && !bad)
        return LOCUS_ENOMEM;
    if (!d) {
        corrupt(s, a, HS_DB_DATASETS, k->mv_data, k->mv_size);
        return 0;
    }
    *ret = cb(d, arg);
    return 0;
}

int locus_hs_snapshot_foreach_dataset(locus_hs_snapshot *s, locus_hs_dataset_cb cb, void *arg)
{
    if (!s || !cb)
        return LOCUS_EINVAL;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(s->txn, s->hs->db_datasets, &cur), ret = 0, st = 0;
    if (rc)
        return lmdb_err(s, rc, HS_DB_DATASETS, "", 0);
    hs_arena local, *a = iter_begin(s, &local);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && ret == 0 && st == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        st = visit_summary(s, a, &k, &v, -1, cb, arg, &ret);
    mdb_cursor_close(cur);
    iter_end(s, a);
    if (st)
        return st;
    if (ret)
        return ret;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(s, rc, HS_DB_DATASETS, "", 0);
}

typedef struct host_ds {
    const char *name; /* in the mapped page, valid for the snapshot */
    size_t len;
    uint32_t id;
} host_ds;

static int host_ds_cmp(const void *a, const void *b)
{
    const host_ds *x = a, *y = b;
    int r = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
    return r ? r : (x->len > y->len) - (x->len < y->len);
}

/* The host's dataset ids (packed duplicates of its host index key) resolved
 * to names, sorted by name into *out (malloc'd); LMDB status. */
static int host_datasets(locus_hs_snapshot *s, uint32_t host, host_ds **out, size_t *n)
{
    MDB_cursor *cur;
    MDB_val k = {sizeof(host), &host}, v;
    host_ds *list = NULL;
    size_t cnt = 0, cap = 0;
    *out = NULL;
    *n = 0;
    int rc = mdb_cursor_open(s->txn, s->hs->db_host_datasets, &cur);
    if (rc)
        return rc;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET);
    if (rc == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_GET_MULTIPLE);
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_MULTIPLE)) {
        size_t m = v.mv_size / sizeof(uint32_t);
        if (cnt + m > cap) {
            size_t nc = cap ? cap * 2 : 64;
            while (nc < cnt + m)
                nc *= 2;
            host_ds *nl = realloc(list, nc * sizeof(*nl));
            if (!nl) {
                rc = ENOMEM;
                break;
            }
            list = nl;
            cap = nc;
        }
        for (size_t i = 0; i < m; i++) {
            uint32_t id;
            memcpy(&id, (const char *)v.mv_data + i * sizeof(id), sizeof(id));
            MDB_val ik = {sizeof(id), &id}, nv;
            int g = mdb_get(s->txn, s->hs->db_dataset_names, &ik, &nv);
            if (g == MDB_NOTFOUND || (g == 0 && (nv.mv_size == 0 || nv.mv_size > HS_MAX_DATASET)))
                continue; /* a leftover of a repaired dataset: skipped */
            if (g) {
                rc = g;
                break;
            }
            list[cnt++] = (host_ds){nv.mv_data, nv.mv_size, id};
        }
        if (rc)
            break;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        free(list);
        return rc;
    }
    if (cnt > 1)
        qsort(list, cnt, sizeof(*list), host_ds_cmp);
    *out = list;
    *n = cnt;
    return 0;
}

int locus_hs_snapshot_foreach_host_dataset(locus_hs_snapshot *s, const char *host,
                                           locus_hs_dataset_cb cb, void *arg)
{
    if (!s || !host || !cb)
        return LOCUS_EINVAL;
    uint32_t id;
    if (!*host || strlen(host) > HS_MAX_HOST)
        return 0; /* a name the store cannot hold */
    int rc = hs_host_id_get(s->hs, s->txn, host, strlen(host), &id), ret = 0, st = 0;
    if (rc == MDB_NOTFOUND)
        return 0; /* a host the store never saw */
    if (rc)
        return lmdb_err(s, rc, HS_DB_HOST_IDS, host, strlen(host));
    host_ds *list;
    size_t n;
    if ((rc = host_datasets(s, id, &list, &n)) != 0)
        return rc == ENOMEM ? LOCUS_ENOMEM : lmdb_err(s, rc, HS_DB_HOST_DATASETS, host,
                                                      strlen(host));
    hs_arena local, *a = iter_begin(s, &local);
    for (size_t i = 0; i < n && ret == 0 && st == 0; i++) {
        MDB_val dv = {list[i].len, (void *)list[i].name}, v;
        int g = mdb_get(s->txn, s->hs->db_datasets, &dv, &v);
        if (g == MDB_NOTFOUND)
            continue;
        if (g) {
            st = lmdb_err(s, g, HS_DB_DATASETS, dv.mv_data, dv.mv_size);
            break;
        }
        hs_summary m;
        if (hs_summary_parse(v.mv_data, v.mv_size, &m) == 0 && m.dataset_id != list[i].id)
            continue; /* the name's id moved on: a leftover entry */
        st = visit_summary(s, a, &dv, &v, id, cb, arg, &ret);
    }
    iter_end(s, a);
    free(list);
    if (st)
        return st;
    return ret;
}

int locus_hs_snapshot_foreach_block(locus_hs_snapshot *s, const char *dataset,
                                    locus_hs_block_cb cb, void *arg)
{
    if (!s || !dataset || !cb)
        return LOCUS_EINVAL;
    size_t n = strlen(dataset);
    if (n == 0 || n > HS_MAX_DATASET)
        return 0;
    char prefix[HS_MAX_DATASET + 16];
    MDB_cursor *cur;
    MDB_val k = {hs_block_key(prefix, dataset, n, 0), prefix}, v;
    int rc = mdb_cursor_open(s->txn, s->hs->db_blocks, &cur), ret = 0, st = 0;
    if (rc)
        return lmdb_err(s, rc, HS_DB_BLOCKS, prefix, k.mv_size);
    hs_arena local, *a = iter_begin(s, &local);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && ret == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != n + 9 || memcmp(k.mv_data, prefix, n + 1) != 0)
            break;
        hs_arena_reset(a);
        hs_blockrec m;
        int bad = 1;
        locus_hs_block_view *b = NULL;
        if (hs_blockrec_parse(v.mv_data, v.mv_size, &m) == 0)
            b = block_view(s, a, &k, &m, &bad);
        if (!b && !bad) {
            st = LOCUS_ENOMEM;
            break;
        }
        if (!b) {
            corrupt(s, a, HS_DB_BLOCKS, k.mv_data, k.mv_size);
            continue;
        }
        ret = cb(b, arg);
    }
    mdb_cursor_close(cur);
    iter_end(s, a);
    if (st)
        return st;
    if (ret)
        return ret;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(s, rc, HS_DB_BLOCKS, prefix, n + 9);
}

int locus_hs_snapshot_foreach_binding(locus_hs_snapshot *s, locus_hs_binding_cb cb, void *arg)
{
    if (!s || !cb)
        return LOCUS_EINVAL;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(s->txn, s->hs->db_hosts, &cur), ret = 0, st = 0;
    if (rc)
        return lmdb_err(s, rc, HS_DB_HOSTS, "", 0);
    hs_arena local, *a = iter_begin(s, &local);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        hs_arena_reset(a);
        Locus__HostBinding *m = hs_decode_binding(a, &v);
        if (!m) {
            if ((st = corrupt(s, a, HS_DB_HOSTS, k.mv_data, k.mv_size)) ==
                LOCUS_ENOMEM)
                break;
            st = 0;
            continue;
        }
        ret = cb(m->storage_host, m->agent_hostname, m->agent_id ? m->agent_id : "", arg);
    }
    mdb_cursor_close(cur);
    iter_end(s, a);
    if (st)
        return st;
    if (ret)
        return ret;
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : lmdb_err(s, rc, HS_DB_HOSTS, "", 0);
}

const char *locus_hs_snapshot_agent_for_host(locus_hs_snapshot *s, const char *storage_host)
{
    if (!s || !storage_host)
        return storage_host;
    MDB_val k = {strlen(storage_host), (void *)storage_host}, v;
    if (mdb_get(s->txn, s->hs->db_hosts, &k, &v) != 0)
        return storage_host;
    Locus__HostBinding *m = hs_decode_binding(&s->arena, &v);
    if (!m || !m->agent_hostname) {
        corrupt(s, &s->arena, HS_DB_HOSTS, storage_host, k.mv_size);
        return storage_host;
    }
    return m->agent_hostname;
}

int locus_hs_snapshot_meta(locus_hs_snapshot *s, const locus_hs_meta **out)
{
    if (!s || !out)
        return LOCUS_EINVAL;
    *out = NULL;
    Locus__StoreMeta *m;
    int st = hs_meta_read(s->hs, s->txn, &s->arena, &m, s->err);
    if (st == LOCUS_ECORRUPT)
        s->decode_errors++;
    if (st)
        return st;
    locus_hs_meta *mv = hs_arena_alloc(&s->arena, sizeof(*mv));
    size_t nb = m ? m->n_backends : 0;
    locus_hs_backend_poll *bp = hs_arena_alloc(&s->arena, (nb + 1) * sizeof(*bp));
    if (!mv || !bp)
        return LOCUS_ENOMEM;
    memset(mv, 0, sizeof(*mv));
    mv->schema_version = m ? m->schema_version : LOCUS_HS_SCHEMA_VERSION;
    if (m) {
        mv->writer_generation = m->writer_generation;
        mv->updated_at_ms = m->updated_at_ms;
        s->generation = m->writer_generation; /* locus_hs_snapshot_generation needs no decode */
        s->generation_known = 1;
        size_t n = 0;
        for (size_t i = 0; i < nb; i++) {
            const Locus__BackendPoll *p = m->backends[i];
            if (!p || !p->backend)
                continue;
            bp[n].backend = p->backend;
            bp[n].last_success_ms = p->last_success_ms;
            bp[n].last_attempt_ms = p->last_attempt_ms;
            bp[n].consecutive_failures = p->consecutive_failures;
            bp[n++].blocks = p->blocks;
        }
        mv->n_backends = n;
    }
    mv->backends = bp;
    *out = mv;
    return 0;
}

/* Fills *out from the summary value v of dataset name (checked first). */
static int ref_from_value(locus_hs_snapshot *s, const char *name, size_t name_len,
                          const void *v, size_t vlen, locus_hs_dataset_ref *out)
{
    hs_summary m;
    if (hs_summary_parse(v, vlen, &m) != 0 || hs_hosttab_cover(s->hs, s->txn, m.max_host) != 0)
        return corrupt(s, &s->arena, HS_DB_DATASETS, name, name_len);
    out->total_bytes = m.total_bytes;
    out->block_count = m.block_count;
    out->version = m.version;
    out->updated_at_ms = m.updated_at_ms;
    out->n_placement = m.n;
    out->entries = m.ents;
    return 0;
}

int locus_hs_snapshot_dataset_ref(locus_hs_snapshot *s, const char *name, size_t name_len,
                                  locus_hs_dataset_ref *out)
{
    if (!s || !name || !out)
        return LOCUS_EINVAL;
    if (name_len == 0 || name_len > HS_MAX_DATASET)
        return LOCUS_ENOTFOUND; /* no such key can exist (and LMDB would refuse it) */
    MDB_val k = {name_len, (void *)name}, v;
    int rc = summary_get(s, &k, &v);
    if (rc == MDB_NOTFOUND)
        return LOCUS_ENOTFOUND;
    if (rc)
        return lmdb_err(s, rc, HS_DB_DATASETS, name, name_len);
    return ref_from_value(s, name, name_len, v.mv_data, v.mv_size, out);
}

/* Lookups in flight at once: enough to overlap the misses of a descent,
 * few enough that their pages stay in the first-level cache. */
#define REFS_GROUP 8

int locus_hs_snapshot_dataset_refs(locus_hs_snapshot *s, const char *const *names,
                                   const size_t *name_lens, size_t n,
                                   locus_hs_dataset_ref *out, int *status)
{
    if (!s || (n && (!names || !out || !status)))
        return LOCUS_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!names[i])
            return LOCUS_EINVAL;
    ds_bt_setup(s);
    hs_bt_query q[REFS_GROUP];
    size_t qi[REFS_GROUP];
    for (size_t i = 0; i < n;) {
        size_t g = 0;
        for (; i < n && g < REFS_GROUP; i++) {
            size_t len = name_lens ? name_lens[i] : strlen(names[i]);
            if (len == 0 || len > HS_MAX_DATASET) {
                status[i] = LOCUS_ENOTFOUND;
                continue;
            }
            MDB_val fv;
            int fr = feed_get(s, names[i], len, &fv);
            if (fr == MDB_NOTFOUND) {
                status[i] = LOCUS_ENOTFOUND;
                continue;
            }
            if (fr == 0) { /* carried by the change feed: no descent */
                status[i] = ref_from_value(s, names[i], len, fv.mv_data, fv.mv_size, &out[i]);
                continue;
            }
            q[g].key = names[i];
            q[g].klen = len;
            qi[g++] = i;
        }
        if (s->ds_bt_state == 1)
            hs_bt_find(&s->ds_bt, q, g);
        for (size_t j = 0; j < g; j++) {
            size_t k = qi[j];
            if (s->ds_bt_state != 1 || q[j].state == HS_BT_FALLBACK)
                status[k] = locus_hs_snapshot_dataset_ref(s, q[j].key, q[j].klen, &out[k]);
            else if (q[j].state == HS_BT_ABSENT)
                status[k] = LOCUS_ENOTFOUND;
            else
                status[k] = ref_from_value(s, q[j].key, q[j].klen, q[j].value, q[j].vlen,
                                           &out[k]);
        }
    }
    return 0;
}

/* Fills *out from the block value v (checked as locus_hs_snapshot_block
 * checks it: layout, then host ids known); 0 or LOCUS_ECORRUPT, which the
 * caller reports (so that reports follow the caller's key order). */
static int placement_read(locus_hs_snapshot *s, const void *v, size_t vlen,
                          locus_hs_block_placement *out)
{
    hs_blockrec m;
    if (hs_blockrec_parse(v, vlen, &m) != 0 || hs_hosttab_cover(s->hs, s->txn, m.max_host) != 0)
        return LOCUS_ECORRUPT;
    out->bytes = m.bytes;
    out->updated_at_ms = m.updated_at_ms;
    out->n_replicas = m.n_rep;
    out->replicas = m.reps;
    out->backend = m.backend;
    out->backend_len = m.backend_len;
    return 0;
}

/* One block through LMDB's own get (the kept cursor): what the walk does not
 * read, or every key when the walk cannot read this store. */
static int placement_get(locus_hs_snapshot *s, const char *key, size_t klen,
                         locus_hs_block_placement *out)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = block_get(s, &k, &v);
    if (rc == MDB_NOTFOUND)
        return LOCUS_ENOTFOUND;
    if (rc)
        return lmdb_err(s, rc, HS_DB_BLOCKS, key, klen);
    return placement_read(s, v.mv_data, v.mv_size, out);
}

/* Batched block lookups. Keys are searched side by side, 16 at a time (more
 * misses in flight than 8, about as many as a core tracks). A key of the
 * previous key's dataset whose index lies at most BLOCK_NEAR_SPAN above it
 * (a "follower") is most likely on the leaf that key's search ends on (a
 * leaf holds some 30-100 block records), so it waits for that search and
 * then starts on its leaf; the other keys ("leaders") descend side by side.
 * A window holds up to BLOCK_REFS_GROUP leaders and BLOCK_FOLLOWERS
 * followers: its leaders are searched first, then its followers in order,
 * so keys in (dataset, index) order cost one descent per dataset and leaf,
 * and the descents of different datasets overlap. */
#define BLOCK_REFS_GROUP 16
#define BLOCK_NEAR_SPAN 64
#define BLOCK_FOLLOWERS 256

typedef struct block_group {
    hs_bt_query q[BLOCK_REFS_GROUP];
    size_t at[BLOCK_REFS_GROUP]; /* the key's place in the caller's array */
    int fol[BLOCK_REFS_GROUP];   /* its follower number, or -1 for a leader */
    char key[BLOCK_REFS_GROUP][HS_MAX_DATASET + 16];
    size_t n;
} block_group;

struct hs_block_window {
    block_group leaders, followers;
    /* where each search ended: its leaf (or NULL) and the node a next key
     * in order would be at (-1: unknown) */
    const unsigned char *leader_leaf[BLOCK_REFS_GROUP];
    int leader_next[BLOCK_REFS_GROUP];
    const unsigned char *leader_parent[BLOCK_REFS_GROUP]; /* the leaf's branch page */
    int leader_pidx[BLOCK_REFS_GROUP];                    /* and its node there */
    size_t fat[BLOCK_FOLLOWERS];  /* a follower's place in the caller's array */
    int fprev[BLOCK_FOLLOWERS];   /* the key before it: follower number, or -1 - leader slot */
    const unsigned char *fleaf[BLOCK_FOLLOWERS];
    int fnext[BLOCK_FOLLOWERS];
    const unsigned char *fparent[BLOCK_FOLLOWERS];
    int fpidx[BLOCK_FOLLOWERS];
    size_t nf;
};

/* Searches the keys of g side by side and writes their outcomes; each
 * search's end leaf goes to its leader or follower slot. */
static void group_run(locus_hs_snapshot *s, hs_block_window *w, block_group *g,
                      locus_hs_block_placement *out, int *status)
{
    hs_bt_find_near(&s->blk_bt, g->q, g->n);
    for (size_t j = 0; j < g->n; j++) {
        const hs_bt_query *q = &g->q[j];
        size_t i = g->at[j];
        const unsigned char *leaf = q->page;
        int next = -1;
        if (q->state == HS_BT_ABSENT) {
            status[i] = LOCUS_ENOTFOUND;
            next = q->lo; /* where the key would be */
        } else if (q->state == HS_BT_FOUND) {
            status[i] = placement_read(s, q->value, q->vlen, &out[i]);
            next = q->mid + 1;
        } else { /* an overflow value or a page the walk does not read */
            status[i] = placement_get(s, q->key, q->klen, &out[i]);
            leaf = NULL;
        }
        const unsigned char *parent = leaf ? q->parent : NULL;
        if (g->fol[j] >= 0) {
            w->fleaf[g->fol[j]] = leaf;
            w->fnext[g->fol[j]] = next;
            w->fparent[g->fol[j]] = parent;
            w->fpidx[g->fol[j]] = q->pidx;
        } else {
            w->leader_leaf[j] = leaf;
            w->leader_next[j] = next;
            w->leader_parent[j] = parent;
            w->leader_pidx[j] = q->pidx;
        }
    }
    g->n = 0;
}

/* Adds the key of keys[i] to g, to start on `leaf` (NULL: the root) at
 * node `hint`; the leaf is node pidx of branch page parent (NULL: unknown). */
static void group_add(block_group *g, const locus_hs_block_ref *key, size_t dlen, size_t i,
                      int fol, const unsigned char *leaf, int hint, const unsigned char *parent,
                      int pidx)
{
    hs_bt_query *q = &g->q[g->n];
    q->key = g->key[g->n];
    q->klen = hs_block_key(g->key[g->n], key->dataset, dlen, key->index);
    q->start = leaf;
    q->hint = leaf ? hint : -1;
    q->parent = leaf ? parent : NULL;
    q->pidx = pidx;
    g->at[g->n] = i;
    g->fol[g->n++] = fol;
}

/* Searches the window's leaders, then its followers in order. */
static void window_run(locus_hs_snapshot *s, hs_block_window *w, const locus_hs_block_ref *keys,
                       locus_hs_block_placement *out, int *status)
{
    block_group *fg = &w->followers;
    if (w->leaders.n)
        group_run(s, w, &w->leaders, out, status);
    for (size_t f = 0; f < w->nf; f++) {
        if (fg->n == BLOCK_REFS_GROUP)
            group_run(s, w, fg, out, status);
        const unsigned char *leaf, *parent;
        int hint, pidx, p = w->fprev[f];
        const locus_hs_block_ref *k = &keys[w->fat[f]];
        /* Blocks of a dataset sit in index order, usually all of them: a
         * key `gap` indexes after the one before is most likely `gap` nodes
         * after it (a reader asking for every other block, or for a job's
         * share of a file, would otherwise search the leaf at every key). */
        uint64_t before = p < 0 ? keys[w->leaders.at[-1 - p]].index : keys[w->fat[p]].index;
        int gap = (int)(k->index - before); /* 1 ..BLOCK_NEAR_SPAN: a follower's */
        if (p < 0) {
            leaf = w->leader_leaf[-1 - p];
            hint = w->leader_next[-1 - p];
            hint = hint >= 0 ? hint + gap - 1 : -1;
            parent = w->leader_parent[-1 - p];
            pidx = w->leader_pidx[-1 - p];
        } else if (fg->n && fg->fol[fg->n - 1] == p && fg->q[fg->n - 1].start) {
            /* the key before is in this group, started on a leaf: most
             * likely it ends there, found where it looks first */
            const hs_bt_query *pq = &fg->q[fg->n - 1];
            leaf = pq->start;
            hint = pq->hint >= 0 ? pq->hint + gap : -1;
            parent = pq->parent;
            pidx = pq->pidx;
        } else {
            if (fg->n && fg->fol[fg->n - 1] == p) /* a descent: wait for it */
                group_run(s, w, fg, out, status);
            leaf = w->fleaf[p];
            hint = w->fnext[p];
            hint = hint >= 0 ? hint + gap - 1 : -1;
            parent = w->fparent[p];
            pidx = w->fpidx[p];
        }
        group_add(fg, k, strlen(k->dataset), w->fat[f], (int)f, leaf, hint, parent, pidx);
    }
    if (fg->n)
        group_run(s, w, fg, out, status);
    w->nf = 0;
}

/* Reports the corrupt values of keys[from..to) in key order, as one call
 * per key would (each counted; the snapshot's message names the last). */
static void report_corrupt(locus_hs_snapshot *s, const locus_hs_block_ref *keys, size_t from,
                           size_t to, int *status)
{
    for (size_t i = from; i < to; i++)
        if (status[i] == LOCUS_ECORRUPT) {
            char key[HS_MAX_DATASET + 16];
            size_t klen = hs_block_key(key, keys[i].dataset, strlen(keys[i].dataset),
                                       keys[i].index);
            status[i] = corrupt(s, &s->arena, HS_DB_BLOCKS, key, klen);
        }
}

int locus_hs_snapshot_block_refs(locus_hs_snapshot *s, const locus_hs_block_ref *keys, size_t n,
                                 locus_hs_block_placement *out, int *status)
{
    if (!s || (n && (!keys || !out || !status)))
        return LOCUS_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!keys[i].dataset)
            return LOCUS_EINVAL;
    blk_bt_setup(s);
    if (s->blk_bt_state == 1 && !s->blk_window && n) {
        /* a closed snapshot's, else a new one: a cycle of snapshots settles
         * to no malloc here either */
        pthread_mutex_lock(&s->hs->spare_mu);
        s->blk_window = s->hs->spare_blk_window;
        s->hs->spare_blk_window = NULL;
        pthread_mutex_unlock(&s->hs->spare_mu);
        if (!s->blk_window)
            s->blk_window = malloc(sizeof(*s->blk_window));
        if (s->blk_window) {
            s->blk_window->leaders.n = s->blk_window->followers.n = 0;
            s->blk_window->nf = 0;
        }
    }
    hs_block_window *w = s->blk_bt_state == 1 ? s->blk_window : NULL;
    const char *prev_ds = NULL;
    size_t prev_dlen = 0, from = 0;
    uint64_t prev_index = 0;
    int prev = 0, have_prev = 0; /* the previous key's follower number or -1 - leader slot */
    for (size_t i = 0; i < n; i++) {
        const char *ds = keys[i].dataset;
        if (i + BLOCK_REFS_GROUP < n) /* a group ahead: its name arrives meanwhile */
            __builtin_prefetch(keys[i + BLOCK_REFS_GROUP].dataset);
        /* the same pointer again within one call is the same string */
        size_t dlen = ds == prev_ds ? prev_dlen : strlen(ds);
        if (dlen == 0 || dlen > HS_MAX_DATASET) {
            status[i] = LOCUS_ENOTFOUND; /* no such key can exist */
            have_prev = 0;
            continue;
        }
        if (!w) { /* LMDB answers every key (the walk cannot read this store) */
            char key[HS_MAX_DATASET + 16];
            size_t klen = hs_block_key(key, ds, dlen, keys[i].index);
            status[i] = placement_get(s, key, klen, &out[i]);
            if (status[i] == LOCUS_ECORRUPT)
                status[i] = corrupt(s, &s->arena, HS_DB_BLOCKS, key, klen);
            continue;
        }
        int follows = have_prev && keys[i].index > prev_index &&
                      keys[i].index - prev_index <= BLOCK_NEAR_SPAN && dlen == prev_dlen &&
                      (ds == prev_ds || memcmp(ds, prev_ds, dlen) == 0);
        if ((follows && w->nf == BLOCK_FOLLOWERS) ||
            (!follows && w->leaders.n == BLOCK_REFS_GROUP)) {
            window_run(s, w, keys, out, status);
            report_corrupt(s, keys, from, i, status);
            from = i;
            follows = 0; /* its predecessor's window is gone */
        }
        if (follows) {
            w->fat[w->nf] = i;
            w->fprev[w->nf] = prev;
            prev = (int)w->nf++;
        } else {
            prev = -1 - (int)w->leaders.n;
            group_add(&w->leaders, &keys[i], dlen, i, -1, NULL, -1, NULL, -1);
        }
        prev_ds = ds;
        prev_dlen = dlen;
        prev_index = keys[i].index;
        have_prev = 1;
    }
    if (w) {
        window_run(s, w, keys, out, status);
        report_corrupt(s, keys, from, n, status);
    }
    return 0;
}

const char *locus_hs_snapshot_host_name(locus_hs_snapshot *s, uint32_t host_id)
{
    return s ? hs_hosttab_name(s->hs, s->txn, host_id) : NULL;
}

int locus_hs_snapshot_host_id(locus_hs_snapshot *s, const char *host, uint32_t *host_id)
{
    if (!s || !host || !host_id)
        return LOCUS_EINVAL;
    if (!*host || strlen(host) > HS_MAX_HOST)
        return LOCUS_ENOTFOUND;
    int rc = hs_host_id_get(s->hs, s->txn, host, strlen(host), host_id);
    if (rc == MDB_NOTFOUND)
        return LOCUS_ENOTFOUND;
    return rc ? lmdb_err(s, rc, HS_DB_HOST_IDS, host, strlen(host)) : 0;
}

uint64_t locus_hs_snapshot_generation(locus_hs_snapshot *s)
{
    if (!s)
        return 0;
    if (!s->generation_known) {
        hs_arena a;
        Locus__StoreMeta *m = NULL;
        hs_arena_init(&a, 1024);
        if (hs_meta_read(s->hs, s->txn, &a, &m, s->err) == 0) {
            s->generation = m ? m->writer_generation : 0;
            s->generation_known = 1;
        }
        hs_arena_free(&a);
    }
    return s->generation;
}

int locus_hs_snapshot_changes_since(locus_hs_snapshot *s, uint64_t since,
                                    const locus_hs_changes **out)
{
    if (!s || !out)
        return LOCUS_EINVAL;
    *out = NULL;
    uint64_t cur = locus_hs_snapshot_generation(s);
    if (!s->generation_known)
        return LOCUS_EIO; /* meta unreadable: message in the snapshot's errstr */
    locus_hs_changes *c = hs_arena_alloc(&s->arena, sizeof(*c));
    if (!c)
        return LOCUS_ENOMEM;
    hs_feed_values vals;
    int st = hs_feed_read(s->hs, s->txn, &s->arena, since, cur, c, &vals, s->err);
    if (st)
        return st;
    if (vals.n_known) {
        uint64_t *bits = hs_arena_alloc(&s->arena, FEED_BITS / 8);
        if (bits) { /* else lookups read the tree */
            memset(bits, 0, FEED_BITS / 8);
            for (size_t i = 0; i < vals.n; i++) {
                uint64_t h = hs_hash_bytes(c->datasets[i], strlen(c->datasets[i])) % FEED_BITS;
                bits[h / 64] |= 1ull << (h % 64);
            }
            s->feed = vals;
            s->feed_names = c->datasets;
            s->feed_bits = bits;
        }
    }
    *out = c;
    return 0;
}

int locus_hs_snapshot_stats(locus_hs_snapshot *s, locus_hs_stats *out)
{
    if (!s || !out)
        return LOCUS_EINVAL;
    memset(out, 0, sizeof(*out));
    MDB_stat st;
    MDB_envinfo info;
    int rc;
    if ((rc = mdb_stat(s->txn, s->hs->db_datasets, &st)) != 0)
        return lmdb_err(s, rc, HS_DB_DATASETS, "", 0);
    out->datasets = st.ms_entries;
    if ((rc = mdb_stat(s->txn, s->hs->db_blocks, &st)) != 0)
        return lmdb_err(s, rc, HS_DB_BLOCKS, "", 0);
    out->blocks = st.ms_entries;
    if ((rc = mdb_stat(s->txn, s->hs->db_hosts, &st)) != 0)
        return lmdb_err(s, rc, HS_DB_HOSTS, "", 0);
    out->bindings = st.ms_entries;
    /* Distinct keys of the host index: storage hosts holding any bytes. */
    MDB_cursor *cur;
    MDB_val k, v;
    if ((rc = mdb_cursor_open(s->txn, s->hs->db_host_datasets, &cur)) != 0)
        return lmdb_err(s, rc, HS_DB_HOST_DATASETS, "", 0);
    /* one step per host: its datasets are duplicates of one key */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP))
        out->hosts++;
    mdb_cursor_close(cur);
    /* Pages in use = pages up to the last one used - pages on LMDB's free
     * list (sub-database 0; each record is an ID list led by its length). */
    uint64_t free_pages = 0;
    if ((rc = mdb_cursor_open(s->txn, 0, &cur)) != 0)
        return lmdb_err(s, rc, "free list", "", 0);
    while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
        if (v.mv_size >= sizeof(size_t)) {
            size_t n;
            memcpy(&n, v.mv_data, sizeof(n));
            free_pages += n;
        }
    mdb_cursor_close(cur);
    mdb_env_info(s->hs->env, &info);
    mdb_env_stat(s->hs->env, &st);
    out->map_size = info.me_mapsize;
    uint64_t last = (uint64_t)info.me_last_pgno + 1;
    out->used_bytes = (last > free_pages ? last - free_pages : 0) * st.ms_psize;
    return 0;
}
