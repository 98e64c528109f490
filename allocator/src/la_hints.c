/* Hints for the locality policy: the hint store snapshot of a cycle and the
 * index built from it.
 *
 * Each allocate() opens one read snapshot (an LMDB read transaction: never
 * blocks the writer, never sees half a write) and reads the store's writer
 * generation. The index - for each agent, the frameworks whose pending input
 * is cached there with bytes by tier and an estimate of the pending tasks
 * that would read locally there, and for each (rack, framework) the
 * bytes in that rack - is derived only from the frameworks' demanded datasets
 * and blocks, never by scanning the store. Each framework's part is cached
 * and recomputed only when its demand, the store generation, the agent set
 * or the config changed, or when one of its hints crossed the staleness
 * bound - and then, where the change feed or the expiry names the items,
 * only those items are read again; so a cycle where nothing changed costs
 * one snapshot and one meta read. A framework's block demand is read at most a->first_reads items a
 * cycle (the rest in the next cycles, unseen by the plan until read), so
 * a job arriving with thousands of blocks does not make one cycle slow. The store is borrowed from the host or opened read-only from
 * hints.path; a missing store is retried at most every hints.retry_interval
 * host seconds, never blocking. The source is an interface (la_hint_provider)
 * so unit tests can inject hints without a store. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "la_core.h"

#define NONE LA_MAP_NONE

/* Block demand items one framework reads from the store in one cycle: the
 * plan tries at most 256 units of a framework a cycle (la_place.c), so a
 * batch of as many keeps it supplied while a framework arriving with
 * thousands of pending blocks is read over several cycles. */
#define LA_FIRST_READS 256

/* ---- default provider: the hint store ---------------------------------------- */

static locus_hs *store_of(locus_allocator *a)
{
    return a->host.hint_store ? a->host.hint_store : a->own_store;
}

static int hs_open(void *ctx, void **snap)
{
    locus_hs *hs = store_of(ctx);
    if (!hs)
        return LOCUS_ENOTFOUND;
    locus_hs_snapshot *s = NULL;
    int rc = locus_hs_snapshot_open(hs, &s);
    *snap = s;
    return rc;
}

static void hs_close(void *ctx, void *snap)
{
    (void)ctx;
    locus_hs_snapshot_close(snap);
}

static int hs_meta(void *ctx, void *snap, uint64_t *gen, int64_t *updated)
{
    (void)ctx;
    const locus_hs_meta *m = NULL;
    int rc = locus_hs_snapshot_meta(snap, &m);
    if (rc)
        return rc;
    *gen = m->writer_generation;
    *updated = m->updated_at_ms;
    return 0;
}

static int hs_dataset(void *ctx, void *snap, const char *name, const locus_hs_dataset **out)
{
    (void)ctx;
    return locus_hs_snapshot_dataset(snap, name, out);
}

static int hs_block(void *ctx, void *snap, const char *ds, uint64_t idx,
                    const locus_hs_block_view **out)
{
    (void)ctx;
    return locus_hs_snapshot_block(snap, ds, idx, out);
}

static const char *hs_agent_for_host(void *ctx, void *snap, const char *host)
{
    (void)ctx;
    return locus_hs_snapshot_agent_for_host(snap, host);
}

static uint64_t hs_decode_errors(void *ctx, void *snap)
{
    (void)ctx;
    return locus_hs_snapshot_decode_errors(snap);
}

static int hs_changes(void *ctx, void *snap, uint64_t since, const locus_hs_changes **out)
{
    (void)ctx;
    return locus_hs_snapshot_changes_since(snap, since, out);
}

void la_hints_init_default(locus_allocator *a)
{
    a->prov = (la_hint_provider){a, hs_open, hs_close, hs_meta, hs_dataset, hs_block,
                                 hs_agent_for_host, hs_decode_errors, hs_changes};
    a->prov_injected = 0;
    a->next_open_try = -INFINITY;
    if (!a->first_reads)
        a->first_reads = LA_FIRST_READS;
}

void la_set_hint_provider(locus_allocator *a, const la_hint_provider *p)
{
    if (p) {
        a->prov = *p;
        a->prov_injected = 1;
    } else {
        la_hints_init_default(a);
    }
    a->hint_generation = UINT64_MAX;
    for (uint32_t i = 0; i < a->n_fw_slots; i++)
        a->fws[i].hint_dirty = 1;
    a->index_dirty = 1;
}

void la_hints_close(locus_allocator *a)
{
    locus_hs_close(a->own_store);
    a->own_store = NULL;
    la_u64map_clear(&a->host_cache); /* its names went with the handle */
}

void la_hints_path_changed(locus_allocator *a)
{
    la_hints_close(a);
    a->next_open_try = -INFINITY;
    a->store_missing_logged = 0;
}

/* store_missing_logged value for "logged, and the store was not there". */
#define STORE_ABSENT 2

/* A store that did not exist is opened in the first cycle after its data
 * file appears (the probe often starts after the master), not at the next
 * retry; one that exists but failed to open waits for hints.retry_interval. */
static int store_appeared(const locus_allocator *a)
{
    if (a->store_missing_logged != STORE_ABSENT)
        return 0;
    char data[4096];
    int n = snprintf(data, sizeof data, "%s/data.mdb", a->cfg.hints_path);
    return n > 0 && (size_t)n < sizeof data && access(data, F_OK) == 0;
}

/* Opens hints.path read-only when due; never blocks (LMDB open is local). */
static void ensure_store(locus_allocator *a, double now)
{
    if (a->host.hint_store || a->own_store || !a->cfg.hints_path || !*a->cfg.hints_path)
        return;
    if (now < a->next_open_try && !store_appeared(a))
        return;
    a->next_open_try = now + a->cfg.retry_interval;
    locus_hs_options o = {0};
    o.read_only = 1;
    char err[256] = "";
    int rc = locus_hs_open(a->cfg.hints_path, &o, &a->own_store, err, sizeof err);
    if (rc == 0) {
        /* Its cached pages mapped now, not a fault at a time in the first
         * cycle's lookups. */
        size_t mapped = locus_hs_map_cached(a->own_store);
        la_log(a, LOCUS_LOG_INFO, "hint store %s opened (%.1f MiB of it mapped from the page cache)",
               a->cfg.hints_path, (double)mapped / 1048576.0);
        a->store_missing_logged = 0;
        a->hint_generation = UINT64_MAX;
        return;
    }
    a->own_store = NULL;
    if (rc != LOCUS_ENOTFOUND)
        a->st.hint_read_errors++;
    if (!a->store_missing_logged) {
        la_log(a, LOCUS_LOG_WARN, "hint store %s unavailable (%s), running as drf: %s",
               a->cfg.hints_path, locus_strerror(rc), err);
        a->store_missing_logged = 1;
    }
    a->store_missing_logged = rc == LOCUS_ENOTFOUND ? STORE_ABSENT : 1;
}

/* At create: a store already there is opened (and its cached pages
 * mapped) before the first cycle, which would otherwise pay for both. */
void la_hints_start(locus_allocator *a)
{
    if (a->cfg.policy == LA_POLICY_LOCALITY && !a->prov_injected)
        ensure_store(a, -INFINITY);
}

/* ---- per-framework locality ------------------------------------------------------------ */

/* A block as the index needs it: from the store, its placement read in
 * place (replica hosts as ids, no decode); from an injected provider, its
 * decoded view. */
typedef struct blk_read {
    uint64_t index, bytes;
    int64_t updated_at_ms;
    const locus_hs_block_view *view;    /* injected provider */
    locus_hs_block_placement pl;        /* the store */
} blk_read;

/* Blocks looked up in one call at most: the store's batched lookup takes
 * consecutive keys of a dataset from the leaf the previous one ended on. */
#define BLK_BATCH 64

/* Looks up keys[0..n) (n <= BLK_BATCH) into out[i] with status rc[i] (0,
 * LOCUS_ENOTFOUND, ...), counted in a->block_reads. */
static void blk_get_many(locus_allocator *a, void *snap, const locus_hs_block_ref *keys, size_t n,
                         blk_read *out, int *rc)
{
    a->block_reads += n;
    if (a->prov_injected) {
        for (size_t i = 0; i < n; i++) {
            const locus_hs_block_view *v = NULL;
            rc[i] = a->prov.block(a->prov.ctx, snap, keys[i].dataset, keys[i].index, &v);
            if (!rc[i] && !v)
                rc[i] = LOCUS_ENOTFOUND;
            if (!rc[i])
                out[i] = (blk_read){v->index, v->bytes, v->updated_at_ms, v, {0}};
        }
        return;
    }
    locus_hs_block_placement pl[BLK_BATCH];
    if (locus_hs_snapshot_block_refs(snap, keys, n, pl, rc) != 0) {
        for (size_t i = 0; i < n; i++)
            rc[i] = LOCUS_EINVAL;
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!rc[i])
            out[i] = (blk_read){keys[i].index, pl[i].bytes, pl[i].updated_at_ms, NULL, pl[i]};
}

static int blk_get(locus_allocator *a, void *snap, const char *ds, uint64_t idx, blk_read *out)
{
    locus_hs_block_ref k = {ds, idx};
    int rc;
    blk_get_many(a, snap, &k, 1, out, &rc);
    return rc;
}

static int tier_index(int tier)
{
    return tier >= 1 && tier <= LOCUS_TIERS ? tier - 1 : LOCUS_TIERS - 1;
}

/* Starts a framework's loc computation: no agent has an entry yet. A
 * per-agent array with a token, not a hash map, because launches make this
 * run for a framework many times a cycle and clearing a map that once grew
 * large cost a memset of all of it each time. */
static int loc_begin(locus_allocator *a)
{
    uint32_t n = a->n_agents_slots ? a->n_agents_slots : 1;
    if (n > a->cap_loc_slot) {
        uint32_t *sl = realloc(a->loc_slot, sizeof *sl * n);
        if (!sl)
            return LOCUS_ENOMEM;
        a->loc_slot = sl;
        uint32_t *st = realloc(a->loc_stamp, sizeof *st * n);
        if (!st)
            return LOCUS_ENOMEM;
        a->loc_stamp = st;
        memset(st + a->cap_loc_slot, 0, sizeof *st * (n - a->cap_loc_slot));
        a->cap_loc_slot = n;
    }
    if (++a->loc_token == 0) { /* wrapped: no stamp may look current */
        memset(a->loc_stamp, 0, sizeof *a->loc_stamp * a->cap_loc_slot);
        a->loc_token = 1;
    }
    return 0;
}

/* f's loc entry on agent ag in the current computation, or NONE. */
static uint32_t loc_slot_of(const locus_allocator *a, uint32_t ag)
{
    return ag < a->cap_loc_slot && a->loc_stamp[ag] == a->loc_token ? a->loc_slot[ag] : NONE;
}

/* Agent ag's entry is f->loc[s] in the current computation (ag < cap_loc_slot). */
static void loc_slot_set(locus_allocator *a, uint32_t ag, uint32_t s)
{
    a->loc_slot[ag] = s;
    a->loc_stamp[ag] = a->loc_token;
}

/* f's loc as the index last wrote it (n_idx_ag entries, in idx_ag's order)
 * and the room there. The index keeps loc itself until loc is rebuilt
 * (loc_restart), which then takes idx_loc's buffer in exchange: no copy of
 * a framework's whole loc per update (thousands of agents for a job with a
 * large input), only a pointer swap when it is read again. */
static const la_locent *loc_written(const la_fw *f)
{
    return f->idx_loc_in_loc ? f->loc : f->idx_loc;
}

static uint32_t loc_written_cap(const la_fw *f)
{
    return f->idx_loc_in_loc ? f->cap_loc : f->cap_idx_loc;
}

/* Empties f's loc for a new computation, keeping what the index wrote. */
static void loc_restart(la_fw *f)
{
    if (f->idx_loc_in_loc) {
        la_locent *p = f->idx_loc;
        uint32_t cap = f->cap_idx_loc;
        f->idx_loc = f->loc;
        f->cap_idx_loc = f->cap_loc;
        f->loc = p;
        f->cap_loc = cap;
        f->idx_loc_in_loc = 0;
    }
    f->n_loc = 0;
}

static int loc_add(locus_allocator *a, la_fw *f, uint32_t agent, int t, uint64_t bytes,
                   double tasks)
{
    if (agent >= a->cap_loc_slot)
        return LOCUS_ENOMEM; /* agents are not added while a framework is computed */
    uint32_t s = loc_slot_of(a, agent);
    if (s == NONE) {
        if (f->n_loc == f->cap_loc) {
            uint32_t n = f->cap_loc ? f->cap_loc * 2 : 8;
            la_locent *p = realloc(f->loc, sizeof *p * n);
            if (!p)
                return LOCUS_ENOMEM;
            f->loc = p;
            f->cap_loc = n;
        }
        s = f->n_loc++;
        memset(&f->loc[s], 0, sizeof f->loc[s]);
        f->loc[s].agent = agent;
        loc_slot_set(a, agent, s);
    }
    f->loc[s].bytes[t] += bytes;
    f->loc[s].tasks += tasks;
    return 0;
}

/* One demand item's part of a framework's per-agent bytes and tasks. */
typedef struct la_part {
    uint32_t agent, tier;
    uint64_t bytes;
    double tasks;
} la_part;

/* A framework's locality item by item, as fw_compute read it (frameworks
 * without a task size, which have no units), so a change feed naming a few
 * of its datasets re-reads those items alone (items_patch) and adds the
 * others' recorded parts back in demand order: the same sums as a full
 * read, for a tenth of the lookups when one dataset in ten changed. */
typedef struct la_items {
    const la_demand *demand;    /* the demand array it describes (NULL: none) */
    size_t n;
    la_part *p;
    uint32_t n_c, cap_c;
    uint32_t *off;              /* per item: its first part; off[n] = n_c */
    uint32_t cap_off;
    double *local;              /* per item: its pending tasks with a copy on an agent */
    uint32_t cap_local;
    uint64_t *name_key;         /* per item: name_key of its dataset, so the change feed's
                                   names are matched without touching the item's string */
    uint32_t cap_name_key;
} la_items;

/* Bits of a dataset name's hash its key keeps: all of them, except in a
 * test build that makes different names share keys on purpose. */
#ifndef LA_NAME_KEY_MASK
#define LA_NAME_KEY_MASK UINT64_MAX
#endif

/* A dataset name's key from its la_hash_str (the map's empty key moved). */
static uint64_t key_of_hash(uint64_t h)
{
    h &= (uint64_t)LA_NAME_KEY_MASK;
    return h == UINT64_MAX ? h - 1 : h;
}

static uint64_t name_key(const char *name)
{
    return key_of_hash(la_hash_str(name));
}

/* The datasets a change feed lists, found by name key: most demand items
 * name none of them, which one bit of `listed` (the key's low bits) says
 * without a probe; a key found is confirmed by one strcmp with the listed
 * name. Two listed names sharing a key (a 64-bit hash twin) switch to a
 * lookup by name. */
#define FEED_BITS 65536u
typedef struct feed_index {
    const locus_hs_changes *ch;
    la_u64map keys;  /* name key -> i (changed) or n_datasets + i (confirmed) */
    la_strmap names; /* with twins only: name -> NONE - 1 (changed) or i (confirmed) */
    int twins;
    uint64_t listed[FEED_BITS / 64];
} feed_index;

static int feed_listed(const feed_index *x, uint64_t key)
{
    return (x->listed[(key % FEED_BITS) / 64] >> (key % 64)) & 1;
}

/* NONE (not listed), NONE - 1 (content changed) or the index of its entry in
 * ch->confirmed. key is name_key(name). */
static uint32_t feed_find(const feed_index *x, const char *name, uint64_t key)
{
    if (!feed_listed(x, key))
        return NONE;
    if (x->twins)
        return la_strmap_get(&x->names, name);
    uint32_t c = la_u64map_get(&x->keys, key);
    if (c == NONE)
        return NONE;
    size_t nd = x->ch->n_datasets;
    if (strcmp(c < nd ? x->ch->datasets[c] : x->ch->confirmed[c - nd].dataset, name) != 0)
        return NONE;
    return c < nd ? NONE - 1 : (uint32_t)(c - nd);
}

/* 0, or nonzero when out of memory. */
static int feed_index_build(feed_index *x, const locus_hs_changes *ch)
{
    x->ch = ch;
    size_t nd = ch->n_datasets, n = nd + ch->n_confirmed;
    if (n >= NONE - 1)
        return 1;
    for (size_t i = 0; i < n; i++) {
        const char *nm = i < nd ? ch->datasets[i] : ch->confirmed[i - nd].dataset;
        uint64_t k = name_key(nm);
        size_t before = x->keys.n;
        x->listed[(k % FEED_BITS) / 64] |= 1ull << (k % 64);
        if (la_u64map_put(&x->keys, k, (uint32_t)i))
            return 1;
        x->twins |= x->keys.n == before;
    }
    for (size_t i = 0; x->twins && i < n; i++)
        if (la_strmap_put(&x->names, i < nd ? ch->datasets[i] : ch->confirmed[i - nd].dataset,
                          i < nd ? NONE - 1 : (uint32_t)(i - nd)))
            return 1;
    return 0;
}

static void feed_index_free(feed_index *x)
{
    la_u64map_free(&x->keys);
    la_strmap_free(&x->names);
}

/* loc_add, and the part recorded in rec (may be NULL). */
static int loc_add_item(locus_allocator *a, la_fw *f, la_items *rec, uint32_t agent, int t,
                        uint64_t bytes, double tasks)
{
    if (loc_add(a, f, agent, t, bytes, tasks))
        return LOCUS_ENOMEM;
    if (!rec)
        return 0;
    if (la_grow((void **)&rec->p, &rec->cap_c, rec->n_c + 1, sizeof *rec->p))
        return LOCUS_ENOMEM;
    rec->p[rec->n_c++] = (la_part){agent, (uint32_t)t, bytes, tasks};
    return 0;
}

/* f's item record, emptied for a full read; NULL when f keeps none (it has
 * a task size, or no memory: it is then always read in full). */
static la_items *items_begin(locus_allocator *a, la_fw *f)
{
    uint32_t fs = (uint32_t)(f - a->fws);
    if (fs < a->cap_fw_items)
        a->fw_items[fs].demand = NULL;
    if (f->has_task_res || f->n_demand >= UINT32_MAX ||
        la_grow((void **)&a->fw_items, &a->cap_fw_items, fs + 1, sizeof *a->fw_items))
        return NULL;
    la_items *rec = &a->fw_items[fs];
    rec->n_c = 0;
    if (la_grow((void **)&rec->off, &rec->cap_off, (uint32_t)f->n_demand + 1, sizeof *rec->off) ||
        la_grow((void **)&rec->local, &rec->cap_local, (uint32_t)f->n_demand + 1,
                sizeof *rec->local) ||
        la_grow((void **)&rec->name_key, &rec->cap_name_key, (uint32_t)f->n_demand + 1,
                sizeof *rec->name_key))
        return NULL;
    for (size_t i = 0; i < f->n_demand; i++)
        rec->name_key[i] = i > 0 && f->demand[i].same_dataset ? rec->name_key[i - 1]
                                                              : name_key(f->demand[i].dataset);
    return rec;
}

/* f's item record when it describes f's current demand, else NULL. */
static la_items *items_of(const locus_allocator *a, const la_fw *f)
{
    uint32_t fs = (uint32_t)(f - a->fws);
    if (f->has_task_res || fs >= a->cap_fw_items)
        return NULL;
    la_items *rec = &a->fw_items[fs];
    return rec->demand && rec->demand == f->demand && rec->n == f->n_demand ? rec : NULL;
}

static void items_end(la_items *rec, const la_fw *f)
{
    rec->off[f->n_demand] = rec->n_c;
    rec->demand = f->demand;
    rec->n = f->n_demand;
}

static void items_free(locus_allocator *a)
{
    for (uint32_t i = 0; i < a->cap_fw_items; i++) {
        free(a->fw_items[i].p);
        free(a->fw_items[i].off);
        free(a->fw_items[i].local);
        free(a->fw_items[i].name_key);
    }
    free(a->fw_items);
    a->fw_items = NULL;
    a->cap_fw_items = 0;
}

static uint32_t resolve_host(locus_allocator *a, void *snap, const char *host)
{
    const char *h = a->prov.agent_for_host(a->prov.ctx, snap, host);
    return la_strmap_get(&a->host_map, h ? h : host);
}

/* Agent slot of a storage host, NONE if no agent runs there. The store's
 * host names are interned (one pointer per host while the handle is open),
 * so the default provider's answers are cached by pointer (see
 * host_cache_valid): a new framework's thousands of replicas cost one hash
 * probe each. An injected provider's pointers promise nothing. */
static uint32_t agent_of_host(locus_allocator *a, void *snap, const char *host)
{
    if (a->prov_injected)
        return resolve_host(a, snap, host);
    uint64_t key = (uint64_t)(uintptr_t)host;
    uint32_t v = la_u64map_get(&a->host_cache, key);
    if (v != NONE)
        return v - 1; /* slot + 1; 0 (no agent) wraps to NONE */
    uint32_t ag = resolve_host(a, snap, host);
    (void)la_u64map_put(&a->host_cache, key, ag + 1); /* no memory: resolved again next time */
    return ag;
}

/* Agent slot of storage host id `id` of the store (default provider), NONE
 * if no agent runs there. Ids are stable for the store's life, so the
 * answer is cached beside the name pointers (a key no pointer can be). */
static uint32_t agent_of_host_id(locus_allocator *a, void *snap, uint32_t id)
{
    uint64_t key = 1ULL << 63 | id;
    uint32_t v = la_u64map_get(&a->host_cache, key);
    if (v != NONE)
        return v - 1;
    const char *name = locus_hs_snapshot_host_name(snap, id);
    uint32_t ag = name ? resolve_host(a, snap, name) : NONE;
    (void)la_u64map_put(&a->host_cache, key, ag + 1);
    return ag;
}

/* A dataset summary as item_read needs it: from the store, read in place
 * (no decode, no copy); from an injected provider, its decoded view. */
typedef struct ds_read {
    uint64_t total_bytes, block_count;
    int64_t updated_at_ms;
    size_t n_placement;
    const locus_hs_dataset *view;   /* injected provider */
    locus_hs_dataset_ref ref;       /* the store */
} ds_read;

/* The changed datasets that frameworks re-read when a commit's change feed
 * is applied, looked up together first (locus_hs_snapshot_dataset_refs
 * overlaps the misses of several descents; one at a time they were a third
 * of a commit's cost): ds_lookup answers from here while a->ds_batch is set. */
typedef struct la_ds_batch {
    la_u64map at;                   /* name_key -> index */
    const char **names;
    locus_hs_dataset_ref *refs;
    int *st;
    size_t n, cap;
} la_ds_batch;

/* The ds_read of a summary the store handed out in place. */
static ds_read ds_read_ref(const locus_hs_dataset_ref *r)
{
    return (ds_read){r->total_bytes, r->block_count, r->updated_at_ms, r->n_placement, NULL, *r};
}

static const locus_hs_dataset_ref *ds_batch_get(const la_ds_batch *b, const char *name, int *rc)
{
    uint32_t i = la_u64map_get(&b->at, name_key(name));
    if (i == NONE || strcmp(b->names[i], name) != 0)
        return NULL;
    *rc = b->st[i];
    return &b->refs[i];
}

static int ds_lookup(locus_allocator *a, void *snap, const char *name, ds_read *x)
{
    if (a->ds_batch) {
        int rc;
        const locus_hs_dataset_ref *r = ds_batch_get(a->ds_batch, name, &rc);
        if (r) {
            if (rc)
                return rc;
            *x = ds_read_ref(r);
            return 0;
        }
    }
    if (a->prov_injected) {
        const locus_hs_dataset *v = NULL;
        int rc = a->prov.dataset(a->prov.ctx, snap, name, &v);
        if (rc || !v)
            return rc ? rc : LOCUS_ENOTFOUND;
        *x = (ds_read){v->total_bytes, v->block_count, v->updated_at_ms, v->n_placement, v, {0}};
        return 0;
    }
    locus_hs_dataset_ref r;
    int rc = locus_hs_snapshot_dataset_ref(snap, name, strlen(name), &r);
    if (rc)
        return rc;
    *x = ds_read_ref(&r);
    return 0;
}

/* The store's summaries of a framework's dataset items, looked up together
 * before they are read: locus_hs_snapshot_dataset_refs overlaps the cache
 * and TLB misses of up to 8 descents, which the first read of a framework's
 * datasets is made of. rc[i]: item i's status, PRE_NONE when not looked up
 * (a block item). */
#define PRE_NONE INT32_MIN
typedef struct ds_pre {
    ds_read *ds;
    int *rc;
} ds_pre;

static void ds_pre_free(ds_pre *p)
{
    free(p->ds);
    free(p->rc);
    p->ds = NULL;
    p->rc = NULL;
}

/* Fills *p for f's dataset items; 0 when it did not (an injected provider,
 * fewer than two dataset items, no memory): each is then looked up alone. */
static int ds_prefetch(locus_allocator *a, void *snap, const la_fw *f, ds_pre *p)
{
    size_t n = f->n_demand, k = 0;
    if (a->prov_injected || n < 2)
        return 0;
    const char **names = malloc(sizeof *names * n);
    size_t *at = malloc(sizeof *at * n);
    locus_hs_dataset_ref *refs = malloc(sizeof *refs * n);
    int *st = malloc(sizeof *st * n);
    p->ds = malloc(sizeof *p->ds * n);
    p->rc = malloc(sizeof *p->rc * n);
    int ok = names && at && refs && st && p->ds && p->rc;
    for (size_t i = 0; ok && i < n; i++) {
        p->rc[i] = PRE_NONE;
        if (f->demand[i].block < 0) {
            at[k] = i;
            names[k++] = f->demand[i].dataset;
        }
    }
    ok = ok && k >= 2 && locus_hs_snapshot_dataset_refs(snap, names, NULL, k, refs, st) == 0;
    for (size_t j = 0; ok && j < k; j++) {
        size_t i = at[j];
        p->rc[i] = st[j];
        if (st[j] == 0)
            p->ds[i] = ds_read_ref(&refs[j]);
    }
    free(names);
    free(at);
    free(refs);
    free(st);
    if (!ok)
        ds_pre_free(p);
    return ok;
}

/* Placement entry j of x: its agent (NONE: none runs on that host), tier
 * and bytes. */
static uint32_t ds_entry(locus_allocator *a, void *snap, const ds_read *x, size_t j, int *tier,
                         uint64_t *bytes)
{
    if (x->view) {
        const locus_hs_host_bytes *p = &x->view->placement[j];
        *tier = (int)p->tier;
        *bytes = p->bytes;
        return agent_of_host(a, snap, p->host);
    }
    uint32_t id;
    locus_tier t;
    locus_hs_placement_at(&x->ref, j, &id, &t, bytes);
    *tier = (int)t;
    return agent_of_host_id(a, snap, id);
}

/* Block b's copies on known agents, one per agent in its fastest tier:
 * ags[i], tiers[i] for i < return value (at most max). Each replica's host is
 * resolved once. */
static uint32_t block_copies(locus_allocator *a, void *snap, const blk_read *b, uint32_t *ags,
                             int *tiers, uint32_t max)
{
    uint32_t n = 0;
    size_t nr = b->view ? b->view->n_replicas : b->pl.n_replicas;
    for (size_t j = 0; j < nr; j++) {
        uint32_t ag;
        int t;
        if (b->view) {
            ag = agent_of_host(a, snap, b->view->replicas[j].host);
            t = tier_index((int)b->view->replicas[j].tier);
        } else {
            uint32_t id;
            locus_tier tier;
            locus_hs_block_replica_at(&b->pl, j, &id, &tier);
            ag = agent_of_host_id(a, snap, id);
            t = tier_index((int)tier);
        }
        if (ag == NONE)
            continue;
        uint32_t k = 0;
        while (k < n && ags[k] != ag)
            k++;
        if (k < n) {
            if (t < tiers[k])
                tiers[k] = t;
            continue;
        }
        if (n == max)
            break;
        ags[n] = ag;
        tiers[n++] = t;
    }
    return n;
}

#define LA_MAX_COPIES 16

typedef struct clockmap {
    double now;      /* host s */
    int64_t now_ms;  /* on the hint clock */
    int64_t stale_ms;
} clockmap;

/* Host time at which a hint written at updated_ms turns stale. In doubles:
 * a stored timestamp may be anything (INT64_MIN included) and must not
 * overflow the arithmetic. */
static double stale_at(const clockmap *cm, int64_t updated_ms)
{
    return cm->now + ((double)updated_ms + (double)cm->stale_ms - (double)cm->now_ms) / 1000.0;
}

/* Is a hint written at updated_ms older than the staleness bound? */
static int is_stale(const clockmap *cm, int64_t updated_ms)
{
    return (double)cm->now_ms - (double)updated_ms > (double)cm->stale_ms;
}

/* Blocks of one dataset the engine reads to derive per-block units from
 * dataset demand; larger datasets keep the per-agent estimate only. */
#define LA_DATASET_BLOCK_CAP 4096

/* Appends block b (demand item di) as a placement unit of f: its copies, one
 * per agent in its fastest tier, fastest first. No copy on a known agent:
 * nothing added. */
static int unit_add(locus_allocator *a, void *snap, la_fw *f, uint32_t di, const blk_read *b,
                    uint64_t bytes)
{
    uint32_t ags[LA_MAX_COPIES];
    int tiers[LA_MAX_COPIES];
    uint32_t nc = block_copies(a, snap, b, ags, tiers, LA_MAX_COPIES);
    uint32_t n = 0;
    for (uint32_t j = 0; j < nc; j++) {
        if (la_grow((void **)&f->copies, &f->cap_copies, f->n_copies + n + 1, sizeof *f->copies))
            return LOCUS_ENOMEM;
        la_copy c = {ags[j], (uint32_t)tiers[j]};
        uint32_t k = f->n_copies + n++;
        while (k > f->n_copies && f->copies[k - 1].tier > c.tier) { /* insertion by tier */
            f->copies[k] = f->copies[k - 1];
            k--;
        }
        f->copies[k] = c;
    }
    if (!n || n > UINT16_MAX)
        return 0;
    if (la_grow((void **)&f->units, &f->cap_units, f->n_units + 1, sizeof *f->units))
        return LOCUS_ENOMEM;
    f->units[f->n_units++] = (la_unit){.copy0 = f->n_copies, .n_copies = (uint16_t)n,
                                       .best_tier = (uint8_t)f->copies[f->n_copies].tier,
                                       .demand = di, .block = b->index, .bytes = bytes};
    f->n_copies += n;
    return 0;
}

/* Units fastest tier first (stable: demand order within a tier), so the
 * engine tries the tasks that can read from memory before the others. */
static int units_sort(la_fw *f)
{
    if (f->n_units < 2)
        return 0;
    la_unit *tmp = malloc(sizeof *tmp * f->n_units);
    if (!tmp)
        return LOCUS_ENOMEM;
    uint32_t n = 0;
    for (uint8_t t = 0; t < LOCUS_TIERS; t++)
        for (uint32_t i = 0; i < f->n_units; i++)
            if (f->units[i].best_tier == t)
                tmp[n++] = f->units[i];
    memcpy(f->units, tmp, sizeof *tmp * n);
    free(tmp);
    return 0;
}

/* f's pending tasks local to agent ag (estimate), while fw_compute's
 * loc slots are valid (loc_begin). */
static double local_tasks_on(const locus_allocator *a, const la_fw *f, uint32_t ag)
{
    uint32_t s = loc_slot_of(a, ag);
    return s == NONE ? 0 : f->loc[s].tasks;
}

/* Tasks that `want` pending bytes make at mean_block bytes a task: at least
 * one whenever anything is pending (a last, short block still is a task). */
static double tasks_of_bytes(uint64_t want, double mean_block)
{
    if (!want || !(mean_block > 0))
        return 1.0;
    double n = ceil((double)want / mean_block - 1e-6);
    return n < 1 ? 1.0 : n;
}

/* Among copies of one tier, the agent holding more of the framework's
 * pending input first: the plan then gives an agent all the tasks it can
 * run locally, so a framework that launches any of its local tasks on a
 * slice launches one the plan meant for that agent. Needs the loc slots
 * of f's loc (fw_compute, derive_from_units). */
static void copies_order(const locus_allocator *a, la_fw *f)
{
    for (uint32_t u = 0; u < f->n_units; u++) {
        la_copy *c = &f->copies[f->units[u].copy0];
        uint32_t n = f->units[u].n_copies;
        for (uint32_t i = 1; i < n; i++) {
            la_copy x = c[i];
            double wx = local_tasks_on(a, f, x.agent);
            uint32_t k = i;
            while (k > 0 && c[k - 1].tier == x.tier && local_tasks_on(a, f, c[k - 1].agent) < wx) {
                c[k] = c[k - 1];
                k--;
            }
            c[k] = x;
        }
    }
}

static int blocks_only(const la_fw *f);
static int fw_compute_blocks(locus_allocator *a, void *snap, la_fw *f, const clockmap *cm);

/* Counts bytes as item d's part of f's pending bytes. */
static void item_count(la_fw *f, la_demand *d, uint64_t bytes)
{
    f->demand_bytes += bytes;
    d->counted = bytes;
}

/* Is item d's hint (written at updated_ms) fresh? Then notes when it turns
 * stale, for d and for f; else marks d stale. */
static int item_fresh(la_fw *f, la_demand *d, const clockmap *cm, int64_t updated_ms)
{
    if (is_stale(cm, updated_ms)) {
        d->stale = 1;
        return 0;
    }
    d->expire = stale_at(cm, updated_ms);
    if (d->expire < f->loc_expire_at)
        f->loc_expire_at = d->expire;
    return 1;
}

/* Units of the blocks [0, count) of dataset item i of f, looked up in
 * batches: the blocks not offered before (marked_only 0; *marked counts the
 * others), or only those offered before (marked_only 1). A stale block marks
 * the item stale. */
static int dataset_units(locus_allocator *a, void *snap, la_fw *f, size_t i, uint64_t count,
                         int marked_only, const clockmap *cm, uint64_t *marked)
{
    la_demand *d = &f->demand[i];
    locus_hs_block_ref keys[BLK_BATCH];
    blk_read got[BLK_BATCH];
    int rc[BLK_BATCH];
    uint64_t bi = 0;
    while (bi < count) {
        size_t n = 0;
        for (; bi < count && n < BLK_BATCH; bi++) {
            int was_offered = f->offered_blocks.n &&
                              la_u64map_get(&f->offered_blocks, la_block_key(d->dataset, bi)) != NONE;
            if (!marked_only && was_offered)
                (*marked)++; /* given a slice before: taken as launched */
            if (was_offered == marked_only)
                keys[n++] = (locus_hs_block_ref){d->dataset, bi};
        }
        blk_get_many(a, snap, keys, n, got, rc);
        for (size_t k = 0; k < n; k++) {
            if (rc[k])
                continue;
            if (is_stale(cm, got[k].updated_at_ms)) {
                if (!marked_only)
                    d->stale = 1;
                continue;
            }
            if (unit_add(a, snap, f, (uint32_t)i, &got[k], got[k].bytes))
                return LOCUS_ENOMEM;
        }
    }
    return 0;
}

/* Reads demand item i of f (not block-only: fw_compute_blocks reads those)
 * and adds its part: pending bytes (d->counted), per-agent bytes and tasks,
 * local tasks, expiry and, with a task size, its units. rec (may be NULL)
 * records the part as item_replay adds it again. */
static int item_read(locus_allocator *a, void *snap, la_fw *f, size_t i, const clockmap *cm,
                     la_items *rec, const ds_pre *pre)
{
    la_demand *d = &f->demand[i];
    d->expire = INFINITY;
    d->stale = 0;
    if (rec)
        rec->local[i] = 0;
    if (d->block < 0) {
        ds_read dsr;
        const ds_read *ds = &dsr;
        if (pre && pre->rc[i] != PRE_NONE ? (dsr = pre->ds[i], pre->rc[i] != 0)
                                           : ds_lookup(a, snap, d->dataset, &dsr) != 0) {
            item_count(f, d, d->bytes);
            return 0;
        }
        uint64_t want = d->bytes ? d->bytes : ds->total_bytes;
        item_count(f, d, want);
        if (!item_fresh(f, d, cm, ds->updated_at_ms))
            return 0;
        /* The first entries' answers are kept for the second pass (each is
         * a host lookup); a dataset on more hosts resolves the rest twice. */
        enum { KEPT = 32 };
        struct {
            uint32_t ag;
            int t;
            uint64_t pb;
        } kept[KEPT];
        double scale = ds->total_bytes && want < ds->total_bytes
                           ? (double)want / (double)ds->total_bytes
                           : 1.0;
        /* Dataset-level demand names no blocks: the local task count is
         * estimated as local bytes over the dataset's mean block size. */
        double mean_block = ds->block_count && ds->total_bytes
                                ? (double)ds->total_bytes / (double)ds->block_count
                                : 0;
        /* ... and divided by the replication (placed bytes over dataset
         * bytes), as each task runs once whichever copy it reads. */
        double placed = 0;
        for (size_t j = 0; j < ds->n_placement; j++) {
            int t;
            uint64_t pb;
            uint32_t ag = ds_entry(a, snap, ds, j, &t, &pb);
            if (j < KEPT)
                kept[j].ag = ag, kept[j].t = t, kept[j].pb = pb;
            if (ag != NONE)
                placed += (double)pb;
        }
        double copies = ds->total_bytes && placed > (double)ds->total_bytes
                            ? placed / (double)ds->total_bytes
                            : 1.0;
        int cached = 0;
        for (size_t j = 0; j < ds->n_placement; j++) {
            int t;
            uint64_t pb;
            uint32_t ag;
            if (j < KEPT)
                ag = kept[j].ag, t = kept[j].t, pb = kept[j].pb;
            else
                ag = ds_entry(a, snap, ds, j, &t, &pb);
            if (ag == NONE)
                continue;
            cached = 1;
            double lb = (double)pb * scale;
            if (loc_add_item(a, f, rec, ag, tier_index(t), (uint64_t)lb,
                             mean_block > 0 ? lb / mean_block / copies : 1.0))
                return LOCUS_ENOMEM;
        }
        double pending_tasks = tasks_of_bytes(want, mean_block);
        if (cached)
            f->local_tasks += pending_tasks;
        if (rec && cached)
            rec->local[i] = pending_tasks;
        /* Units from the dataset's blocks: the engine claims at most as
         * many as the pending bytes make tasks. */
        if (cached && f->has_task_res && ds->block_count <= LA_DATASET_BLOCK_CAP) {
            uint32_t first = f->n_units;
            uint64_t marked = 0;
            if (dataset_units(a, snap, f, i, ds->block_count, 0, cm, &marked))
                return LOCUS_ENOMEM;
            /* Every block marked while tasks are pending: some slices
             * were used for other blocks, so some marked blocks are
             * still pending. Which ones is not known: all come back.
             * (Re-admitting them as soon as fewer unmarked blocks than
             * pending tasks remain plans launched blocks on agents with
             * nothing pending: fewer node-local launches.) */
            if (marked && f->n_units == first &&
                dataset_units(a, snap, f, i, ds->block_count, 1, cm, &marked))
                return LOCUS_ENOMEM;
            f->unit_limit += pending_tasks;
        }
    } else {
        blk_read br;
        const blk_read *b = &br;
        if (blk_get(a, snap, d->dataset, (uint64_t)d->block, &br)) {
            item_count(f, d, d->bytes);
            return 0;
        }
        uint64_t bytes = d->bytes ? d->bytes : b->bytes;
        item_count(f, d, bytes);
        if (!item_fresh(f, d, cm, b->updated_at_ms))
            return 0;
        /* The task counts once, split over the agents holding a copy:
         * whichever of them is offered first runs it. */
        uint32_t ags[LA_MAX_COPIES];
        int tiers[LA_MAX_COPIES];
        uint32_t copies = block_copies(a, snap, b, ags, tiers, LA_MAX_COPIES);
        for (uint32_t j = 0; j < copies; j++)
            if (loc_add_item(a, f, rec, ags[j], tiers[j], bytes, 1.0 / copies))
                return LOCUS_ENOMEM;
        f->local_tasks += copies > 0;
        if (rec && copies)
            rec->local[i] = 1;
        if (copies && f->has_task_res) {
            if (unit_add(a, snap, f, (uint32_t)i, b, bytes))
                return LOCUS_ENOMEM;
            f->unit_limit += 1;
        }
    }
    return 0;
}

static void expiry_from_items(la_fw *f);

/* Re-reads only the items of f (read in full before, recorded) whose dataset
 * the feed lists as changed, that were stale in a dataset it lists as
 * confirmed, or whose hint expired; the other items' recorded parts are
 * added back in demand order, so the result equals a full read. feed may be
 * NULL (expiry only). Returns 0, or 1 when f must be read in full. */
static int items_patch(locus_allocator *a, void *snap, la_fw *f, const feed_index *feed,
                       const clockmap *cm)
{
    la_items *rec = items_of(a, f);
    if (!rec)
        return 1;
    /* New parts go to a fresh array; off and local are rewritten in place
     * (item i's old range is read before off[i] is overwritten). */
    la_items t = *rec;
    t.p = NULL;
    t.n_c = t.cap_c = 0;
    int rc = la_grow((void **)&t.p, &t.cap_c, rec->n_c + 8, sizeof *t.p);
    loc_restart(f);
    f->demand_bytes = 0;
    f->local_tasks = 0;
    if (!rc)
        rc = loc_begin(a);
    uint32_t lo = rec->off[0], v = NONE;
    for (size_t i = 0; i < f->n_demand && !rc; i++) {
        la_demand *d = &f->demand[i];
        uint32_t hi = rec->off[i + 1];
        rec->off[i] = t.n_c;
        if (feed && (i == 0 || !d->same_dataset))
            v = feed_find(feed, d->dataset, rec->name_key[i]);
        int reread = d->expire <= cm->now || (v != NONE && (v == NONE - 1 || d->stale));
        if (reread) {
            rc = item_read(a, snap, f, i, cm, &t, NULL);
        } else {
            for (uint32_t k = lo; k < hi && !rc; k++)
                rc = loc_add_item(a, f, &t, rec->p[k].agent, (int)rec->p[k].tier,
                                  rec->p[k].bytes, rec->p[k].tasks);
            f->demand_bytes += d->counted;
            f->local_tasks += rec->local[i];
        }
        lo = hi;
    }
    free(rec->p);
    rec->p = t.p;
    rec->cap_c = t.cap_c;
    rec->n_c = t.n_c;
    if (rc) {
        rec->demand = NULL;
        return 1;
    }
    items_end(rec, f);
    expiry_from_items(f);
    la_index_touch(a, (uint32_t)(f - a->fws));
    return 0;
}

static int fw_compute(locus_allocator *a, void *snap, la_fw *f, const clockmap *cm)
{
    loc_restart(f);
    f->demand_bytes = 0;
    f->local_tasks = 0;
    f->loc_expire_at = INFINITY;
    f->hint_dirty = 0;
    f->hint_epoch = a->hint_epoch;
    f->n_units = f->n_copies = 0;
    f->unit_limit = f->uncached_tasks = 0;
    if (loc_begin(a))
        return LOCUS_ENOMEM;
    if (blocks_only(f))
        return fw_compute_blocks(a, snap, f, cm);
    f->n_read = (uint32_t)f->n_demand;
    la_items *rec = items_begin(a, f);
    ds_pre pre = {0};
    int have_pre = ds_prefetch(a, snap, f, &pre);
    for (size_t i = 0; i < f->n_demand; i++) {
        if (rec)
            rec->off[i] = rec->n_c;
        if (item_read(a, snap, f, i, cm, rec, have_pre ? &pre : NULL)) {
            ds_pre_free(&pre);
            return LOCUS_ENOMEM;
        }
    }
    ds_pre_free(&pre);
    if (rec)
        items_end(rec, f);
    copies_order(a, f);
    /* Demand items that gave no unit: pending work no copy is known for
     * (at least one task each), which only non-local offers can run. */
    if (f->has_task_res && f->n_demand) {
        uint8_t *has = calloc(f->n_demand, 1);
        if (!has)
            return LOCUS_ENOMEM;
        for (uint32_t u = 0; u < f->n_units; u++)
            has[f->units[u].demand] = 1;
        for (size_t i = 0; i < f->n_demand; i++)
            f->uncached_tasks += !has[i];
        free(has);
    }
    return units_sort(f);
}

/* Per-agent bytes and task estimates of a framework with block demand only,
 * from its units - as fw_compute derives them: each block's bytes on every
 * copy, its task split over them. Out of memory: recomputed next cycle. */
static void derive_from_units(locus_allocator *a, la_fw *f)
{
    loc_restart(f);
    if (loc_begin(a)) {
        f->hint_dirty = 1;
        return;
    }
    for (uint32_t u = 0; u < f->n_units; u++) {
        const la_unit *un = &f->units[u];
        for (uint32_t c = 0; c < un->n_copies; c++) {
            const la_copy *cp = &f->copies[un->copy0 + c];
            if (loc_add(a, f, cp->agent, (int)cp->tier, un->bytes, 1.0 / un->n_copies)) {
                f->hint_dirty = 1;
                return;
            }
        }
    }
    f->local_tasks = f->n_units;
    f->unit_limit = f->n_units;
    f->scan_from = 0;
    la_index_touch(a, (uint32_t)(f - a->fws));
}

/* The earliest expiry of f's demand items. */
static void expiry_from_items(la_fw *f)
{
    f->loc_expire_at = INFINITY;
    for (size_t i = 0; i < f->n_demand; i++)
        if (f->demand[i].expire < f->loc_expire_at)
            f->loc_expire_at = f->demand[i].expire;
}

/* Block demand only, with a task size: what the change-feed patch and the
 * shrink can update without reading everything again. */
static int blocks_only(const la_fw *f)
{
    if (!f->has_task_res)
        return 0;
    for (size_t i = 0; i < f->n_demand; i++)
        if (f->demand[i].block < 0)
            return 0;
    return 1;
}

/* ---- first reads of block demand, spread over cycles ------------------------------------ */

/* Reads f's block demand items [f->n_read, end) and appends their units.
 * Until read, an item counts its demanded bytes (d->counted = d->bytes) and
 * is neither a unit nor uncached work: the plan does not see it yet. */
static int blocks_read(locus_allocator *a, void *snap, la_fw *f, const clockmap *cm, size_t end)
{
    locus_hs_block_ref keys[BLK_BATCH];
    blk_read got[BLK_BATCH];
    int rc[BLK_BATCH];
    while (f->n_read < end) {
        size_t from = f->n_read, n = end - from < BLK_BATCH ? end - from : BLK_BATCH;
        for (size_t k = 0; k < n; k++)
            keys[k] = (locus_hs_block_ref){f->demand[from + k].dataset,
                                           (uint64_t)f->demand[from + k].block};
        blk_get_many(a, snap, keys, n, got, rc);
        for (size_t k = 0; k < n; k++) {
            size_t i = from + k;
            la_demand *d = &f->demand[i];
            const blk_read *b = &got[k];
            d->expire = INFINITY;
            d->stale = 0;
            f->demand_bytes -= d->counted;
            d->counted = !rc[k] && !d->bytes ? b->bytes : d->bytes;
            f->demand_bytes += d->counted;
            f->n_read = (uint32_t)i + 1;
            if (rc[k])
                continue;
            if (is_stale(cm, b->updated_at_ms)) {
                d->stale = 1;
                continue;
            }
            d->expire = stale_at(cm, b->updated_at_ms);
            if (unit_add(a, snap, f, (uint32_t)i, b, d->counted))
                return LOCUS_ENOMEM;
        }
    }
    return 0;
}

/* After units were added: per-agent bytes and tasks, copy order, units by
 * tier, uncached count and expiry. The plan's scan position is kept (units
 * read later go after it, or before it when in a faster tier). Returns
 * nonzero when out of memory (f is then read again in full). */
static int blocks_finish(locus_allocator *a, la_fw *f)
{
    uint32_t scan = f->scan_from;
    derive_from_units(a, f);
    if (f->hint_dirty)
        return LOCUS_ENOMEM;
    copies_order(a, f);
    if (units_sort(f))
        return LOCUS_ENOMEM;
    f->uncached_tasks = (double)f->n_read - f->n_units;
    expiry_from_items(f);
    f->scan_from = scan;
    return 0;
}

/* The end of the batch of first reads starting at item `from`: at most
 * a->first_reads items a cycle, so a framework arriving with thousands of
 * pending blocks costs about the same in each of its first cycles instead
 * of all in one. The
 * plan tries at most 256 units of a framework a cycle (LA_PLAN_TRIES), so
 * a batch of as many keeps it supplied. */
static size_t read_end(const locus_allocator *a, const la_fw *f, size_t from)
{
    size_t cap = a->first_reads ? a->first_reads : SIZE_MAX;
    return f->n_demand - from > cap ? from + cap : f->n_demand;
}

/* fw_compute for block demand only: every item counted; as many items read
 * as were read before (new demand usually keeps the old items first, and
 * those stay visible to the plan) plus one batch. */
static int fw_compute_blocks(locus_allocator *a, void *snap, la_fw *f, const clockmap *cm)
{
    size_t before = f->n_read < f->n_demand ? f->n_read : f->n_demand;
    for (size_t i = 0; i < f->n_demand; i++) {
        la_demand *d = &f->demand[i];
        d->expire = INFINITY;
        d->stale = 0;
        d->counted = d->bytes;
        f->demand_bytes += d->bytes;
    }
    size_t end = read_end(a, f, before);
    f->n_read = 0;
    if (blocks_read(a, snap, f, cm, end))
        return LOCUS_ENOMEM;
    return blocks_finish(a, f);
}

/* The next batch of f's first reads (f up to date otherwise). Returns
 * nonzero when f must be read again in full. */
static int blocks_read_more(locus_allocator *a, void *snap, la_fw *f, const clockmap *cm)
{
    if (blocks_read(a, snap, f, cm, read_end(a, f, f->n_read)))
        return 1;
    return blocks_finish(a, f) != 0;
}

/* Re-reads the blocks of f's demand the feed lists as changed (keys in
 * `changed`; datasets in `in_feed`; both may be NULL) and patches their units: a new copy set is appended (the old
 * one is left as a hole until the next full read), a block gone or stale
 * leaves the units. Returns 0, or 1 when f must be read again in full. */
static int patch_blocks(locus_allocator *a, void *snap, la_fw *f, const la_u64map *changed,
                        const feed_index *in_feed, const clockmap *cm)
{
    /* Also re-read: items whose hint expired (a refresh not in the feed's
     * block list may have moved it), and stale items of datasets the feed
     * names (written or confirmed again: they may be fresh now). */
    uint32_t *unit_of = malloc(sizeof *unit_of * (f->n_demand ? f->n_demand : 1));
    if (!unit_of)
        return 1;
    for (size_t i = 0; i < f->n_demand; i++)
        unit_of[i] = NONE;
    for (uint32_t u = 0; u < f->n_units; u++)
        unit_of[f->units[u].demand] = u;
    int drop = 0, rc = 0;
    int prev_in_feed = 0;
    uint64_t prev_hash = 0;
    for (size_t i = 0; i < f->n_read && i < f->n_demand && !rc; i++) { /* unread: read later */
        la_demand *d = &f->demand[i];
        /* Items of one dataset come together: one lookup and one hash per run. */
        if (in_feed && (i == 0 || !d->same_dataset)) {
            prev_hash = la_hash_str(d->dataset);
            prev_in_feed = feed_find(in_feed, d->dataset, key_of_hash(prev_hash)) != NONE;
        }
        int reread = d->stale ? prev_in_feed
                              : d->expire <= cm->now ||
                                    (changed && prev_in_feed &&
                                     la_u64map_get(changed, la_block_key_h(prev_hash,
                                                                           (uint64_t)d->block)) != NONE);
        if (!reread)
            continue;
        blk_read br;
        const blk_read *b = &br;
        uint32_t u = unit_of[i];
        f->demand_bytes -= d->counted;
        d->expire = INFINITY;
        d->stale = 0;
        int got = blk_get(a, snap, d->dataset, (uint64_t)d->block, &br) == 0;
        d->counted = got ? (d->bytes ? d->bytes : b->bytes) : d->bytes;
        f->demand_bytes += d->counted;
        if (got && is_stale(cm, b->updated_at_ms))
            d->stale = 1;
        else if (got)
            d->expire = stale_at(cm, b->updated_at_ms);
        uint32_t before = f->n_units;
        if (got && !d->stale && unit_add(a, snap, f, (uint32_t)i, b, d->counted))
            rc = 1;
        if (f->n_units > before && u != NONE) { /* the new copy set replaces the old */
            f->units[u] = f->units[--f->n_units];
        } else if (f->n_units == before && u != NONE) {
            f->units[u].n_copies = 0; /* no copy any more: dropped below */
            drop = 1;
        }
    }
    free(unit_of);
    if (rc)
        return 1;
    if (drop) {
        uint32_t n = 0;
        for (uint32_t u = 0; u < f->n_units; u++)
            if (f->units[u].n_copies)
                f->units[n++] = f->units[u];
        f->n_units = n;
    }
    /* Holes left by replaced copy sets: a full read compacts them. */
    uint64_t used = 0;
    for (uint32_t u = 0; u < f->n_units; u++)
        used += f->units[u].n_copies;
    if (f->n_copies > 4 * used + 1024)
        return 1;
    if (units_sort(f))
        return 1;
    f->uncached_tasks = (double)f->n_read - f->n_units;
    expiry_from_items(f);
    derive_from_units(a, f);
    return f->hint_dirty;
}

/* Is new item y the old item x (same block, same bytes)? */
static int same_item(const la_demand *x, const la_demand *y)
{
    return x->block == y->block && x->bytes == y->bytes && strcmp(x->dataset, y->dataset) == 0;
}

int la_hints_demand_shrunk(locus_allocator *a, la_fw *f, la_demand *d, size_t n)
{
    if (!f->live || f->hint_dirty || f->hint_epoch != a->hint_epoch || !blocks_only(f) ||
        n > f->n_demand || !f->n_demand)
        return 0;
    uint32_t *new_of_old = malloc(sizeof *new_of_old * f->n_demand);
    if (!new_of_old)
        return 0;
    for (size_t i = 0; i < f->n_demand; i++)
        new_of_old[i] = NONE;
    /* The kept items in their old order (the common case): one pass. */
    int ok = 1;
    for (size_t i = 0, j = 0; ok && j < n; j++) {
        while (i < f->n_demand && !same_item(&f->demand[i], &d[j]))
            i++;
        ok = i < f->n_demand;
        if (ok)
            new_of_old[i++] = (uint32_t)j;
    }
    if (!ok && f->n_read < f->n_demand) {
        /* Reordered while first reads are under way: which items were read
         * is not a prefix any more. */
        free(new_of_old);
        return 0;
    }
    if (!ok) {
        /* Any order: the old item of each new one, by (dataset, block); a
         * new or changed item, or a repeated one, is not a plain subset. */
        la_u64map old = {0};
        ok = 1;
        for (size_t i = 0; ok && i < f->n_demand; i++) {
            new_of_old[i] = NONE;
            uint64_t k = la_block_key(f->demand[i].dataset, (uint64_t)f->demand[i].block);
            ok = la_u64map_get(&old, k) == NONE && la_u64map_put(&old, k, (uint32_t)i) == 0;
        }
        for (size_t j = 0; ok && j < n; j++) {
            uint32_t i = d[j].block < 0 ? NONE
                                        : la_u64map_get(&old, la_block_key(d[j].dataset,
                                                                           (uint64_t)d[j].block));
            ok = i != NONE && new_of_old[i] == NONE && same_item(&f->demand[i], &d[j]);
            if (ok)
                new_of_old[i] = (uint32_t)j;
        }
        la_u64map_free(&old);
        if (!ok) {
            free(new_of_old);
            return 0;
        }
    }
    for (size_t i = 0; i < f->n_demand; i++) {
        uint32_t j = new_of_old[i];
        if (j == NONE)
            continue;
        d[j].counted = f->demand[i].counted;
        d[j].expire = f->demand[i].expire;
        d[j].stale = f->demand[i].stale;
    }
    uint32_t n_read = 0; /* kept in order: the kept items read are a prefix again */
    for (size_t i = 0; i < f->n_demand; i++) {
        if (new_of_old[i] == NONE)
            f->demand_bytes -= f->demand[i].counted;
        else if (i < f->n_read)
            n_read++;
    }
    /* Units of the items kept, in their order (copies stay where they are). */
    uint32_t nu = 0;
    for (uint32_t u = 0; u < f->n_units; u++) {
        uint32_t j = new_of_old[f->units[u].demand];
        if (j == NONE)
            continue;
        f->units[nu] = f->units[u];
        f->units[nu++].demand = j;
    }
    f->n_units = nu;
    free(new_of_old);
    f->n_read = n_read;
    f->uncached_tasks = (double)n_read - nu;
    derive_from_units(a, f);
    return 1;
}

/* ---- the agent-side index ---------------------------------------------------------------- */

void la_hints_free_index(locus_allocator *a)
{
    free(a->idx_off);
    free(a->idx_len);
    free(a->idx_stamp);
    free(a->idx_prev);
    free(a->idx_cap);
    a->idx_cap = NULL;
    free(a->rack_of);
    a->rack_of = NULL;
    a->cap_rack_of = 0;
    a->rack_of_epoch = 0;
    free(a->idx_mem_bytes);
    free(a->idx_queue);
    a->idx_len = a->idx_stamp = a->idx_prev = a->idx_queue = NULL;
    a->idx_mem_bytes = NULL;
    a->n_idx_queue = a->cap_idx_queue = 0;
    free(a->idx_ent);
    free(a->rack_bytes);
    free(a->rack_pairs);
    a->rack_pairs = NULL;
    free(a->loc_slot);
    free(a->loc_stamp);
    a->loc_slot = a->loc_stamp = NULL;
    a->cap_loc_slot = a->loc_token = 0;
    la_u64map_free(&a->host_cache);
    items_free(a);
    free(a->idx_newat);
    a->idx_newat = NULL;
    a->cap_idx_newat = 0;
    a->idx_off = NULL;
    a->idx_ent = NULL;
    a->rack_bytes = NULL;
    a->idx_off_cap = a->cap_idx_ent = a->n_idx_ent = a->cap_rack_bytes = 0;
}

/* Fills a->rack_of once per agent epoch (agents added or removed, racks
 * changed: la_mark_hints_dirty bumps it). */
static int rack_of_ensure(locus_allocator *a)
{
    if (a->rack_of_epoch == a->hint_epoch + 1 && a->cap_rack_of >= a->n_agents_slots)
        return 0;
    if (la_grow((void **)&a->rack_of, &a->cap_rack_of, a->n_agents_slots + 1, sizeof *a->rack_of))
        return LOCUS_ENOMEM;
    for (uint32_t g = 0; g < a->n_agents_slots; g++)
        a->rack_of[g] = a->agents[g].rack;
    a->rack_of_epoch = a->hint_epoch + 1;
    return 0;
}

static int cmp_u64(const void *p, const void *q)
{
    uint64_t x = *(const uint64_t *)p, y = *(const uint64_t *)q;
    return x < y ? -1 : x > y;
}

/* f's bytes per rack into f->racks (sorted by rack) and a->rack_bytes
 * (by rack id, +1 when touched; a->rack_pairs lists the racks touched, to
 * be cleared by racks_clear). Racks are dense ids, so no hash lookup. */
static int racks_sum(locus_allocator *a, la_fw *f, uint32_t *n_touched)
{
    uint32_t nr = a->n_racks, nt = 0;
    for (uint32_t i = 0; i < f->n_loc; i++) {
        const la_locent *e = &f->loc[i];
        uint32_t rack = a->rack_of[e->agent];
        if (rack == NONE || rack >= nr)
            continue;
        if (!a->rack_bytes[rack]++) /* +1 marks it touched even with 0 bytes */
            a->rack_pairs[nt++] = rack;
        a->rack_bytes[rack] += e->bytes[0] + e->bytes[1] + e->bytes[2];
    }
    *n_touched = nt;
    if (nt > 32 && (uint64_t)nt * 8 >= nr) {
        /* Many of the racks: read them in order from the marks instead of
         * sorting (a framework on 40 of 250 racks sorted 40 keys per update). */
        nt = 0;
        for (uint32_t r = 0; r < nr; r++)
            if (a->rack_bytes[r])
                a->rack_pairs[nt++] = r;
    } else if (nt > 32) {
        qsort(a->rack_pairs, nt, sizeof *a->rack_pairs, cmp_u64);
    }
    for (uint32_t i = 1; nt <= 32 && i < nt; i++) { /* few racks: insertion sort */
        uint64_t r = a->rack_pairs[i];
        uint32_t k = i;
        for (; k > 0 && a->rack_pairs[k - 1] > r; k--)
            a->rack_pairs[k] = a->rack_pairs[k - 1];
        a->rack_pairs[k] = r;
    }
    f->n_racks = 0;
    if (nt > f->cap_racks) {
        void *p = realloc(f->racks, sizeof *f->racks * nt);
        if (!p)
            return LOCUS_ENOMEM;
        f->racks = p;
        f->cap_racks = nt;
    }
    memset(f->rack_mask, 0, sizeof f->rack_mask);
    for (uint32_t i = 0; i < nt; i++) {
        uint32_t r = (uint32_t)a->rack_pairs[i];
        f->racks[i] = (struct la_rackbytes){r, a->rack_bytes[r] - 1};
        f->rack_mask[(r >> 6) & 3] |= 1ull << (r & 63);
    }
    f->n_racks = nt;
    return 0;
}

static void racks_clear(locus_allocator *a, uint32_t nt)
{
    for (uint32_t i = 0; i < nt; i++)
        a->rack_bytes[a->rack_pairs[i]] = 0;
}

/* Index entry of framework fs for its loc entry e. An entry rewritten in
 * place keeps its filter copy (kept_filter): every change of a filter
 * updates the copy of the entry it belongs to (la_state.c), so only a new
 * entry looks its filter up. */
static void entry_fill(const locus_allocator *a, struct la_idxent *x, uint32_t fs,
                       const la_locent *e, int kept_filter)
{
    x->fw = fs;
    memcpy(x->bytes, e->bytes, sizeof x->bytes);
    x->tasks = (float)e->tasks;
    if (!kept_filter)
        x->fexp = la_fset_get(&a->agents[e->agent].filters, fs);
}

static int note_agent(la_fw *f, uint32_t g, uint32_t at)
{
    if (la_grow((void **)&f->idx_ag, &f->cap_idx_ag, f->n_idx_ag + 1, sizeof *f->idx_ag) ||
        la_grow((void **)&f->idx_at, &f->cap_idx_at, f->n_idx_ag + 1, sizeof *f->idx_at))
        return LOCUS_ENOMEM;
    f->idx_at[f->n_idx_ag] = at;
    f->idx_ag[f->n_idx_ag++] = g;
    return 0;
}

static int racks_reserve(locus_allocator *a)
{
    uint32_t nr = a->n_racks ? a->n_racks : 1;
    if (a->cap_rack_bytes >= nr && a->rack_bytes)
        return 0;
    uint64_t *p = realloc(a->rack_bytes, sizeof *p * nr);
    if (!p)
        return LOCUS_ENOMEM;
    a->rack_bytes = p;
    uint64_t *q = realloc(a->rack_pairs, sizeof *q * nr);
    if (!q)
        return LOCUS_ENOMEM;
    a->rack_pairs = q;
    memset(a->rack_bytes, 0, sizeof *a->rack_bytes * nr);
    a->cap_rack_bytes = nr;
    return 0;
}

static void queue_clear(locus_allocator *a)
{
    for (uint32_t i = 0; i < a->n_idx_queue; i++)
        a->fws[a->idx_queue[i]].idx_queued = 0;
    a->n_idx_queue = 0;
}

/* Records f's loc as the index now holds it (index_update compares the next
 * loc with it). Out of memory: nothing recorded, the next update writes
 * every entry. */
static void idx_loc_save(la_fw *f)
{
    f->idx_loc_in_loc = 1; /* loc_written: loc is what was written */
}

/* The whole index, framework by framework. Each agent's segment keeps a
 * quarter of slack (and 4 entries) so a framework's entries can later be
 * replaced alone (index_update; a segment that fills up moves, seg_move);
 * within a segment entries are ordered by framework slot. */
static int rebuild_index(locus_allocator *a)
{
    uint32_t na = a->n_agents_slots;
    queue_clear(a);
    if (rack_of_ensure(a))
        return LOCUS_ENOMEM;
    if (a->idx_off_cap < na + 1 || !a->idx_len) {
        uint32_t *p = realloc(a->idx_off, sizeof *p * (na + 1));
        if (!p)
            return LOCUS_ENOMEM;
        a->idx_off = p;
        uint32_t *q = realloc(a->idx_len, sizeof *q * (na + 1));
        if (!q)
            return LOCUS_ENOMEM;
        a->idx_len = q;
        uint32_t *t = realloc(a->idx_stamp, sizeof *t * (na + 1));
        if (!t)
            return LOCUS_ENOMEM;
        a->idx_stamp = t;
        uint32_t *pv = realloc(a->idx_prev, sizeof *pv * (na + 1));
        if (!pv)
            return LOCUS_ENOMEM;
        a->idx_prev = pv;
        uint32_t *cp = realloc(a->idx_cap, sizeof *cp * (na + 1));
        if (!cp)
            return LOCUS_ENOMEM;
        a->idx_cap = cp;
        uint64_t *m = realloc(a->idx_mem_bytes, sizeof *m * (na + 1));
        if (!m)
            return LOCUS_ENOMEM;
        a->idx_mem_bytes = m;
    }
    memset(a->idx_mem_bytes, 0, sizeof *a->idx_mem_bytes * (na + 1));
    memset(a->idx_stamp, 0, sizeof *a->idx_stamp * (na + 1));
    a->idx_token = 0;
    a->idx_off_cap = na; /* valid agent slots: 0 .. na-1, offsets 0 .. na */
    memset(a->idx_len, 0, sizeof *a->idx_len * (na + 1));
    for (uint32_t fs = 0; fs < a->n_fw_slots; fs++) {
        const la_fw *f = &a->fws[fs];
        if (!f->live)
            continue;
        for (uint32_t i = 0; i < f->n_loc; i++)
            a->idx_len[f->loc[i].agent]++;
    }
    uint64_t total = 0;
    for (uint32_t g = 0; g < na; g++) {
        a->idx_off[g] = (uint32_t)total;
        a->idx_cap[g] = a->idx_len[g] + a->idx_len[g] / 4 + 4;
        total += a->idx_cap[g];
    }
    if (total > UINT32_MAX / 2)
        return LOCUS_ENOMEM;
    a->idx_off[na] = (uint32_t)total;
    if (total > a->cap_idx_ent) {
        void *p = realloc(a->idx_ent, sizeof *a->idx_ent * total);
        if (!p)
            return LOCUS_ENOMEM;
        a->idx_ent = p;
        a->cap_idx_ent = (uint32_t)total;
    }
    a->n_idx_ent = (uint32_t)total;
    a->idx_garbage = 0;
    if (racks_reserve(a))
        return LOCUS_ENOMEM;
    memset(a->idx_len, 0, sizeof *a->idx_len * (na + 1));
    for (uint32_t fs = 0; fs < a->n_fw_slots; fs++) {
        la_fw *f = &a->fws[fs];
        f->n_racks = 0;
        f->n_idx_ag = 0;
        if (!f->live)
            continue;
        uint32_t nt;
        int rc = racks_sum(a, f, &nt);
        /* Its agent list takes n_loc entries: grown once, not entry by entry. */
        if (!rc && f->n_loc &&
            (la_grow((void **)&f->idx_ag, &f->cap_idx_ag, f->n_loc, sizeof *f->idx_ag) ||
             la_grow((void **)&f->idx_at, &f->cap_idx_at, f->n_loc, sizeof *f->idx_at)))
            rc = LOCUS_ENOMEM;
        for (uint32_t i = 0; i < f->n_loc && !rc; i++) {
            const la_locent *e = &f->loc[i];
            uint32_t at = a->idx_off[e->agent] + a->idx_len[e->agent]++;
            entry_fill(a, &a->idx_ent[at], fs, e, 0);
            a->idx_mem_bytes[e->agent] += e->bytes[0];
            rc = note_agent(f, e->agent, at);
        }
        racks_clear(a, nt);
        if (rc)
            return rc;
        idx_loc_save(f);
    }
    a->index_dirty = 0;
    a->index_full_rebuilds++;
    return 0;
}

/* Position of framework fs's entry in agent g's segment, or where it
 * would go; *found says which. */
static uint32_t seg_find(const locus_allocator *a, uint32_t g, uint32_t fs, int *found)
{
    uint32_t i = la_idx_lower_bound(a, g, fs);
    *found = i < la_idx_end(a, g) && a->idx_ent[i].fw == fs;
    return i;
}

static void seg_remove(locus_allocator *a, uint32_t g, uint32_t fs)
{
    int found;
    uint32_t i = seg_find(a, g, fs, &found);
    if (!found)
        return;
    a->idx_mem_bytes[g] -= a->idx_ent[i].bytes[0];
    memmove(&a->idx_ent[i], &a->idx_ent[i + 1], sizeof *a->idx_ent * (la_idx_end(a, g) - i - 1));
    a->idx_len[g]--;
}

/* Agent g's segment is full: it moves to the end of the array with twice
 * the room, leaving its old place unused until the next rebuild. A commit
 * that moves blocks gives frameworks entries on agents they had none on, so
 * segments fill one by one; moving one costs its own entries, where a
 * rebuild costs the whole index (at 10,000 agents x 1,000 frameworks, one
 * commit in fourteen overflowed some segment). Returns nonzero when the
 * unused room would exceed what is in use (the caller then rebuilds, which
 * compacts) or out of memory. */
static int seg_move(locus_allocator *a, uint32_t g)
{
    uint32_t cap = a->idx_cap[g], room = 2 * cap + 4;
    if (a->idx_garbage + cap > a->n_idx_ent / 2 || a->n_idx_ent > UINT32_MAX / 2 - room)
        return 1;
    uint32_t at = a->n_idx_ent;
    if (at + room > a->cap_idx_ent) {
        uint32_t want = at + room + (at + room) / 4;
        void *p = realloc(a->idx_ent, sizeof *a->idx_ent * want);
        if (!p)
            return LOCUS_ENOMEM;
        a->idx_ent = p;
        a->cap_idx_ent = want;
    }
    memcpy(&a->idx_ent[at], &a->idx_ent[a->idx_off[g]], sizeof *a->idx_ent * a->idx_len[g]);
    a->idx_off[g] = at;
    a->idx_cap[g] = room;
    a->n_idx_ent = at + room;
    a->idx_garbage += cap;
    return 0;
}

/* Drops framework fs's entries from the segments of the agents it had
 * them on. */
static void index_drop(locus_allocator *a, uint32_t fs)
{
    la_fw *f = &a->fws[fs];
    for (uint32_t k = 0; k < f->n_idx_ag; k++)
        if (f->idx_ag[k] < a->idx_off_cap)
            seg_remove(a, f->idx_ag[k], fs);
    f->n_idx_ag = 0;
}

/* Replaces framework fs's entries alone: an agent it keeps has its entry
 * rewritten in place, one it left loses it, a new one gets it inserted.
 * A full segment moves (seg_move). Returns nonzero when moving is not worth
 * it any more, or out of memory: the caller rebuilds everything. */
static int index_update(locus_allocator *a, uint32_t fs)
{
    la_fw *f = &a->fws[fs];
    a->index_updates++;
    if (!f->live) {
        index_drop(a, fs);
        f->n_racks = 0;
        return 0;
    }
    if (racks_reserve(a))
        return LOCUS_ENOMEM;
    /* Two tokens per update: an agent stamped `had` holds an entry of fs
     * (at idx_prev, unless another framework's insert or removal moved it),
     * one stamped `kept` has been written. Agents are looked up by slot, not
     * by their place in f's list: a launch reorders that list. */
    if (a->idx_token > UINT32_MAX - 2) { /* wrapping: no stamp may look current */
        memset(a->idx_stamp, 0, sizeof *a->idx_stamp * a->idx_off_cap);
        a->idx_token = 0;
    }
    uint32_t had = a->idx_token + 1, kept = a->idx_token + 2;
    a->idx_token = kept;
    for (uint32_t k = 0; k < f->n_idx_ag; k++) {
        uint32_t g = f->idx_ag[k];
        if (g < a->idx_off_cap) {
            a->idx_stamp[g] = had;
            a->idx_prev[g] = f->idx_at[k];
        }
    }
    if (la_grow((void **)&a->idx_newat, &a->cap_idx_newat, f->n_loc + 1, sizeof *a->idx_newat))
        return LOCUS_ENOMEM;
    /* An entry whose inputs did not change since it was written - bytes and
     * tasks there - is left alone: touching it is a cache miss (a
     * framework's entries are spread over the whole array), and a commit
     * moving a few blocks, or a launch, changes a few of a framework's
     * agents. Its old entry is found by agent slot. */
    int compare = loc_written_cap(f) >= f->n_idx_ag && f->n_idx_ag && loc_begin(a) == 0;
    if (compare)
        for (uint32_t k = 0; k < f->n_idx_ag; k++) {
            uint32_t g = f->idx_ag[k];
            if (g < a->cap_loc_slot)
                loc_slot_set(a, g, k);
        }
    uint32_t nt;
    int rc = racks_sum(a, f, &nt);
    for (uint32_t i = 0; i < f->n_loc && !rc; i++) {
        const la_locent *e = &f->loc[i];
        uint32_t g = e->agent;
        if (g >= a->idx_off_cap) {
            rc = 1;
            break;
        }
        if (compare && a->idx_stamp[g] == had) {
            uint32_t k = loc_slot_of(a, g);
            const la_locent *o = k != NONE ? &loc_written(f)[k] : NULL;
            if (o && o->agent == g && memcmp(o->bytes, e->bytes, sizeof e->bytes) == 0 &&
                o->tasks == e->tasks) {
                a->idx_stamp[g] = kept;
                a->idx_newat[i] = a->idx_prev[g];
                continue;
            }
        }
        int found = 0;
        uint32_t j = NONE;
        if (a->idx_stamp[g] == had) {
            uint32_t h = a->idx_prev[g];
            found = h >= a->idx_off[g] && h < la_idx_end(a, g) && a->idx_ent[h].fw == fs;
            if (found)
                j = h;
        }
        a->idx_stamp[g] = kept;
        if (!found)
            j = seg_find(a, g, fs, &found);
        if (!found) {
            if (a->idx_len[g] >= a->idx_cap[g]) {
                uint32_t pos = j - a->idx_off[g];
                if ((rc = seg_move(a, g)) != 0)
                    break;
                j = a->idx_off[g] + pos;
            }
            memmove(&a->idx_ent[j + 1], &a->idx_ent[j],
                    sizeof *a->idx_ent * (la_idx_end(a, g) - j));
            a->idx_len[g]++;
        } else {
            a->idx_mem_bytes[g] -= a->idx_ent[j].bytes[0];
        }
        entry_fill(a, &a->idx_ent[j], fs, e, found);
        a->idx_mem_bytes[g] += e->bytes[0];
        a->idx_newat[i] = j;
    }
    racks_clear(a, nt);
    if (rc)
        return rc;
    /* Agents it left; then its agent list is its loc's. */
    for (uint32_t k = 0; k < f->n_idx_ag; k++) {
        uint32_t g = f->idx_ag[k];
        if (g < a->idx_off_cap && a->idx_stamp[g] == had)
            seg_remove(a, g, fs);
    }
    if (la_grow((void **)&f->idx_ag, &f->cap_idx_ag, f->n_loc ? f->n_loc : 1, sizeof *f->idx_ag) ||
        la_grow((void **)&f->idx_at, &f->cap_idx_at, f->n_loc ? f->n_loc : 1, sizeof *f->idx_at))
        return LOCUS_ENOMEM;
    for (uint32_t i = 0; i < f->n_loc; i++)
        f->idx_ag[i] = f->loc[i].agent;
    memcpy(f->idx_at, a->idx_newat, sizeof *f->idx_at * f->n_loc);
    f->n_idx_ag = f->n_loc;
    idx_loc_save(f);
    return 0;
}

/* Framework fs's locality changed: its entries are replaced at the next
 * refresh (nothing to do while a full rebuild is due anyway). */
void la_index_touch(locus_allocator *a, uint32_t fs)
{
    la_fw *f = &a->fws[fs];
    if (a->index_dirty || f->idx_queued)
        return;
    if (la_grow((void **)&a->idx_queue, &a->cap_idx_queue, a->n_idx_queue + 1,
                sizeof *a->idx_queue)) {
        a->index_dirty = 1;
        return;
    }
    a->idx_queue[a->n_idx_queue++] = fs;
    f->idx_queued = 1;
}

/* Framework fs is being removed: its entries go now, while it still knows
 * which agents they are on. */
void la_index_remove_fw(locus_allocator *a, uint32_t fs)
{
    if (fs < a->cap_fw_items) /* its demand array goes: a new one may take its address */
        a->fw_items[fs].demand = NULL;
    if (a->index_dirty || !a->idx_len)
        return;
    index_drop(a, fs);
    la_fw *f = &a->fws[fs];
    if (f->idx_queued) { /* out of the queue too: the slot may be reused */
        for (uint32_t i = 0; i < a->n_idx_queue; i++)
            if (a->idx_queue[i] == fs) {
                a->idx_queue[i] = a->idx_queue[--a->n_idx_queue];
                break;
            }
        f->idx_queued = 0;
    }
}

int la_index_rebuild(locus_allocator *a)
{
    return rebuild_index(a);
}

/* Brings the index up to date: in full when dirty, else only the queued
 * frameworks' entries (in full if a segment overflows). */
static int refresh_index(locus_allocator *a)
{
    if (!a->index_dirty && a->idx_len) {
        int rc = rack_of_ensure(a);
        for (uint32_t i = 0; i < a->n_idx_queue && !rc; i++)
            rc = index_update(a, a->idx_queue[i]);
        if (!rc) {
            queue_clear(a);
            return 0;
        }
    }
    return rebuild_index(a);
}

/* ---- one cycle ------------------------------------------------------------------------------ */

/* Adds dataset name to the batch (once). Nonzero when out of memory. */
static int ds_batch_add(la_ds_batch *b, const char *name)
{
    uint64_t k = name_key(name);
    if (la_u64map_get(&b->at, k) != NONE)
        return 0; /* listed (or a hash twin: that one is then read alone) */
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        const char **nm = realloc(b->names, sizeof *nm * cap);
        if (!nm)
            return 1;
        b->names = nm;
        b->cap = cap;
    }
    if (la_u64map_put(&b->at, k, (uint32_t)b->n))
        return 1;
    b->names[b->n++] = name;
    return 0;
}

static void ds_batch_free(la_ds_batch *b)
{
    la_u64map_free(&b->at);
    free(b->names);
    free(b->refs);
    free(b->st);
}

#define FEED_AHEAD 4u

/* Applies the store's change feed since the generation the index was
 * built at. A framework demanding a dataset whose content changed is read
 * again - only the changed blocks when it demands blocks and the feed lists
 * them, in full otherwise; one demanding only datasets a poll confirmed
 * just moves its expiry (same content, newer time). Returns 1 when the
 * difference is not known (no feed, too old, host bindings changed): the
 * caller then recomputes every framework. */
static int apply_changes(locus_allocator *a, void *snap, uint64_t gen, const clockmap *cm)
{
    const locus_hs_changes *ch = NULL;
    if (!a->prov.changes || a->hint_generation == 0 || a->hint_generation == UINT64_MAX ||
        a->hint_generation > gen ||
        a->prov.changes(a->prov.ctx, snap, a->hint_generation, &ch) || !ch ||
        ch->full_read_needed || ch->n_hosts)
        return 1;
    if (!ch->n_datasets && !ch->n_confirmed)
        return 0;
    feed_index *feed = calloc(1, sizeof *feed);
    la_u64map blocks = {0};
    la_ds_batch batch = {0};
    uint32_t *todo = malloc(sizeof *todo * (a->n_fw_slots + 1)), n_todo = 0;
    int full = !todo || !feed || feed_index_build(feed, ch), blocks_built = 0;
    /* First the frameworks the feed concerns, and the changed datasets they
     * re-read; then those looked up together; then the frameworks patched. */
    for (uint32_t fs = 0; fs < a->n_fw_slots && !full; fs++) {
        la_fw *f = &a->fws[fs];
        if (fs + FEED_AHEAD < a->cap_fw_items) {
            /* Each framework's keys sit in their own allocation: a miss
             * per framework unless asked for a few frameworks ahead. */
            const uint64_t *nk = a->fw_items[fs + FEED_AHEAD].name_key;
            __builtin_prefetch(nk);
            __builtin_prefetch(nk + 8);
        }
        if (!f->live || f->hint_dirty || f->hint_epoch != a->hint_epoch)
            continue;
        int changed = 0, confirmed = 0, by_blocks = blocks_only(f);
        uint32_t v = NONE;
        const la_items *rec = items_of(a, f);
        for (size_t d = 0; d < f->n_demand; d++) {
            if (rec && !feed_listed(feed, rec->name_key[d])) {
                /* Not listed: neither is the rest of its dataset's run,
                 * which shares its key. The item itself is not read. */
                v = NONE;
                continue;
            }
            /* Items of one dataset come together: one lookup per run. */
            if (d == 0 || !f->demand[d].same_dataset)
                v = feed_find(feed, f->demand[d].dataset,
                              rec ? rec->name_key[d] : name_key(f->demand[d].dataset));
            if (v == NONE)
                continue;
            if (v == NONE - 1) {
                changed = 1;
                if (!by_blocks && f->demand[d].block < 0 && !a->prov_injected &&
                    (d == 0 || !f->demand[d].same_dataset) &&
                    ds_batch_add(&batch, f->demand[d].dataset))
                    full = 1;
                continue;
            }
            confirmed = 1;
            la_demand *it = &f->demand[d];
            if (it->stale) { /* was skipped as stale: it may count again */
                changed = 1;
                continue;
            }
            if (it->expire < INFINITY) /* only hints that were read */
                it->expire = stale_at(cm, ch->confirmed[v].updated_at_ms);
        }
        if (changed && by_blocks && ch->blocks_complete && !blocks_built) {
            /* Only frameworks with block demand need the blocks: built once,
             * when the first of them does. */
            blocks_built = 1;
            for (size_t i = 0; i < ch->n_blocks && !full; i++)
                full = la_u64map_put(&blocks, la_block_key(ch->blocks[i].dataset,
                                                           ch->blocks[i].index), 1) != 0;
        }
        if (changed)
            todo[n_todo++] = fs;
        else if (confirmed)
            expiry_from_items(f);
    }
    if (!full && batch.n >= 2) {
        batch.refs = malloc(sizeof *batch.refs * batch.n);
        batch.st = malloc(sizeof *batch.st * batch.n);
        if (batch.refs && batch.st &&
            locus_hs_snapshot_dataset_refs(snap, batch.names, NULL, batch.n, batch.refs,
                                           batch.st) == 0)
            a->ds_batch = &batch; /* else each is looked up alone */
    }
    for (uint32_t i = 0; i < n_todo && !full; i++) {
        la_fw *f = &a->fws[todo[i]];
        if (blocks_only(f) ? !ch->blocks_complete || patch_blocks(a, snap, f, &blocks, feed, cm)
                           : items_patch(a, snap, f, feed, cm))
            f->hint_dirty = 1;
    }
    a->ds_batch = NULL;
    ds_batch_free(&batch);
    free(todo);
    if (feed)
        feed_index_free(feed);
    free(feed);
    la_u64map_free(&blocks);
    return full;
}

/* The host cache holds while the store handle and the agents' host names
 * (hint epoch) stay; a change of host bindings clears it where the change
 * feed reports one (apply_changes returning 1). */
static void host_cache_check(locus_allocator *a)
{
    const void *store = store_of(a);
    if (a->host_cache_store != store || a->host_cache_epoch != a->hint_epoch) {
        la_u64map_clear(&a->host_cache);
        a->host_cache_store = store;
        a->host_cache_epoch = a->hint_epoch;
    }
}

static int64_t hint_now_ms(const locus_allocator *a, double now)
{
    if (a->cfg.clock == LA_CLOCK_WALL) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    return (int64_t)llround(now * 1000.0);
}

int la_hints_refresh(locus_allocator *a, double now)
{
    a->hints_valid = 0;
    if (!a->prov_injected) {
        ensure_store(a, now);
        if (!store_of(a))
            return 0;
    }
    void *snap = NULL;
    int rc = a->prov.open(a->prov.ctx, &snap);
    if (rc) {
        if (rc != LOCUS_ENOTFOUND)
            a->st.hint_read_errors++;
        return 0;
    }
    uint64_t gen = 0;
    int64_t updated = 0;
    clockmap cm = {now, hint_now_ms(a, now), (int64_t)(a->cfg.staleness * 1000.0)};
    int ok = 0;
    rc = a->prov.meta(a->prov.ctx, snap, &gen, &updated);
    if (rc) {
        if (rc != LOCUS_ENOTFOUND)
            a->st.hint_read_errors++;
        goto out;
    }
    if (gen == 0)
        goto out; /* never written */
    a->st.hint_age_s = ((double)cm.now_ms - (double)updated) / 1000.0;
    if (is_stale(&cm, updated))
        goto out; /* the writer is dead or stuck: do not trust anything */
    host_cache_check(a);
    if (gen != a->hint_generation) {
        if (apply_changes(a, snap, gen, &cm)) {
            /* Host bindings may have changed too. */
            la_u64map_clear(&a->host_cache);
            for (uint32_t i = 0; i < a->n_fw_slots; i++)
                a->fws[i].hint_dirty = 1;
        }
        a->hint_generation = gen;
        /* Confirmed hints moved their expiry. */
        a->index_expire_at = INFINITY;
        for (uint32_t i = 0; i < a->n_fw_slots; i++)
            if (a->fws[i].live && !a->fws[i].hint_dirty &&
                a->fws[i].loc_expire_at < a->index_expire_at)
                a->index_expire_at = a->fws[i].loc_expire_at;
    }
    /* Some hints turned stale: only the frameworks holding them are read
     * again (block demand: only the expired blocks). */
    if (now >= a->index_expire_at)
        for (uint32_t i = 0; i < a->n_fw_slots; i++) {
            la_fw *f = &a->fws[i];
            if (f->live && !f->hint_dirty && f->hint_epoch == a->hint_epoch &&
                now >= f->loc_expire_at &&
                (blocks_only(f) ? patch_blocks(a, snap, f, NULL, NULL, &cm)
                                : items_patch(a, snap, f, NULL, &cm)))
                f->hint_dirty = 1;
        }
    uint64_t errs_before = a->prov.decode_errors ? a->prov.decode_errors(a->prov.ctx, snap) : 0;
    double expire = INFINITY;
    for (uint32_t i = 0; i < a->n_fw_slots; i++) {
        la_fw *f = &a->fws[i];
        if (!f->live)
            continue;
        if (f->hint_dirty || f->hint_epoch != a->hint_epoch) {
            if (fw_compute(a, snap, f, &cm)) {
                a->st.hint_read_errors++;
                f->hint_dirty = 1;
                goto out;
            }
            la_index_touch(a, i);
        } else if (f->n_read < f->n_demand && blocks_only(f) &&
                   blocks_read_more(a, snap, f, &cm)) {
            f->hint_dirty = 1; /* out of memory: read in full next cycle */
        }
        if (f->loc_expire_at < expire)
            expire = f->loc_expire_at;
    }
    a->index_expire_at = expire;
    if (a->prov.decode_errors)
        a->st.hint_read_errors += a->prov.decode_errors(a->prov.ctx, snap) - errs_before;
    if ((a->index_dirty || a->n_idx_queue) && refresh_index(a)) {
        a->st.hint_read_errors++;
        goto out;
    }
    ok = 1;
out:
    a->prov.close(a->prov.ctx, snap);
    a->hints_valid = ok;
    return ok;
}
