/* Alluxio-like storage model for locus-sim (see storage.h for the model).
 *
 * Blocks live in one array and are never reused (a rewritten dataset's
 * blocks are marked dead), so a block id is a stable handle for tasks and
 * the hint store. Memory copies are cache entries in a pool, linked twice:
 * into the holding agent's LRU list and into the block's list of copies, so
 * eviction, lookup and publishing are all O(copies). Only blocks whose
 * placement changed are written at each publish, as one LMDB batch.
 */
#include "storage.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"
#include "locus/hintstore.h"
#include "report.h"

#define MIB 1048576ULL

int sim_storage_init(sim_storage *s, const sim_config *cfg, const sim_cluster *cl, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->cl = cl;
    sim_rng_seed(&s->rng, seed, 1);
    s->replicas = (uint32_t)(cfg->replicas < cl->n_agents ? cfg->replicas : cl->n_agents);
    s->free_entry = SIM_NONE;
    s->lru_head = malloc(cl->n_agents * sizeof *s->lru_head);
    s->lru_tail = malloc(cl->n_agents * sizeof *s->lru_tail);
    s->mem_used = calloc(cl->n_agents, sizeof *s->mem_used);
    s->ds_index_cap = 1024;
    s->ds_index = calloc(s->ds_index_cap, sizeof *s->ds_index);
    if (!s->lru_head || !s->lru_tail || !s->mem_used || !s->ds_index) {
        sim_storage_free(s);
        return LOCUS_ENOMEM;
    }
    for (uint32_t i = 0; i < cl->n_agents; i++)
        s->lru_head[i] = s->lru_tail[i] = SIM_NONE;
    return 0;
}

void sim_storage_free(sim_storage *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_datasets; i++) {
        free(s->datasets[i].name);
        free(s->datasets[i].blocks);
    }
    free(s->datasets);
    free(s->ds_index);
    free(s->blocks);
    free(s->hdd);
    free(s->entries);
    free(s->lru_head);
    free(s->lru_tail);
    free(s->mem_used);
    free(s->dirty);
    free(s->fresh);
    memset(s, 0, sizeof *s);
}

static uint64_t fnv1a(const char *k)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ULL;
    return h;
}

static uint32_t *ds_slot(sim_storage *s, const char *name)
{
    size_t mask = s->ds_index_cap - 1;
    for (size_t i = fnv1a(name) & mask;; i = (i + 1) & mask) {
        uint32_t v = s->ds_index[i];
        if (!v || strcmp(s->datasets[v - 1].name, name) == 0)
            return &s->ds_index[i];
    }
}

static int ds_index_grow(sim_storage *s)
{
    size_t cap = s->ds_index_cap * 2;
    uint32_t *idx = calloc(cap, sizeof *idx);
    if (!idx)
        return LOCUS_ENOMEM;
    free(s->ds_index);
    s->ds_index = idx;
    s->ds_index_cap = cap;
    for (size_t d = 0; d < s->n_datasets; d++)
        *ds_slot(s, s->datasets[d].name) = (uint32_t)(d + 1);
    return 0;
}

static int mark_dirty(sim_storage *s, uint32_t b)
{
    if (s->blocks[b].dirty)
        return 0;
    if (sim_grow((void **)&s->dirty, &s->cap_dirty, s->n_dirty + 1, sizeof *s->dirty))
        return LOCUS_ENOMEM;
    s->blocks[b].dirty = 1;
    s->dirty[s->n_dirty++] = b;
    return 0;
}

static int has(const uint32_t *v, uint32_t n, uint32_t x)
{
    for (uint32_t i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

/* HDFS's default placement: writer's node (random here), a node on another
 * rack, a second node on that rack; further replicas anywhere. */
static void place_replicas(sim_storage *s, uint32_t *out)
{
    const sim_cluster *cl = s->cl;
    uint32_t n = 0;
    out[n++] = (uint32_t)sim_rng_below(&s->rng, cl->n_agents);
    uint32_t r0 = cl->agents[out[0]].rack_idx;
    if (s->replicas >= 2 && cl->n_racks > 1) {
        uint32_t r = (uint32_t)sim_rng_below(&s->rng, cl->n_racks - 1);
        if (r >= r0)
            r++;
        out[n++] = cl->rack_agents[r][sim_rng_below(&s->rng, cl->rack_size[r])];
        if (s->replicas >= 3 && cl->rack_size[r] > 1) {
            uint32_t a;
            do
                a = cl->rack_agents[r][sim_rng_below(&s->rng, cl->rack_size[r])];
            while (a == out[1]);
            out[n++] = a;
        }
    }
    while (n < s->replicas) {
        uint32_t a = (uint32_t)sim_rng_below(&s->rng, cl->n_agents);
        if (!has(out, n, a))
            out[n++] = a;
    }
}

static void unlink_entry(sim_storage *s, uint32_t e)
{
    sim_cache_entry *en = &s->entries[e];
    uint32_t a = en->agent;
    if (en->prev != SIM_NONE)
        s->entries[en->prev].next = en->next;
    else
        s->lru_head[a] = en->next;
    if (en->next != SIM_NONE)
        s->entries[en->next].prev = en->prev;
    else
        s->lru_tail[a] = en->prev;
    uint32_t *pp = &s->blocks[en->block].mem_head;
    while (*pp != e)
        pp = &s->entries[*pp].next_in_block;
    *pp = en->next_in_block;
    s->mem_used[a] -= s->blocks[en->block].bytes;
    en->next_in_block = s->free_entry;
    s->free_entry = e;
}

static int append_blocks(sim_storage *s, uint32_t ds, uint64_t bytes)
{
    /* Appends blocks of the dataset's block size for `bytes` more bytes. */
    while (bytes > 0) {
        sim_dataset *d = &s->datasets[ds];
        uint64_t bb = d->block_bytes;
        uint64_t take = bytes < bb ? bytes : bb;
        if (d->n_blocks == d->cap) {
            uint32_t cap = d->cap ? d->cap * 2 : 4;
            uint32_t *v = realloc(d->blocks, cap * sizeof *v);
            if (!v)
                return LOCUS_ENOMEM;
            d->blocks = v;
            d->cap = cap;
        }
        uint32_t b;
        if (sim_grow((void **)&s->blocks, &s->cap_blocks, s->n_blocks + 1, sizeof *s->blocks))
            return LOCUS_ENOMEM;
        uint32_t *h = realloc(s->hdd, s->cap_blocks * s->replicas * sizeof *h);
        if (!h)
            return LOCUS_ENOMEM;
        s->hdd = h;
        b = (uint32_t)s->n_blocks++;
        s->blocks[b] = (sim_block){ .dataset = ds, .mem_head = SIM_NONE, .bytes = take,
                                    .offset = d->bytes, .index = d->n_blocks };
        place_replicas(s, &s->hdd[(size_t)b * s->replicas]);
        if (mark_dirty(s, b))
            return LOCUS_ENOMEM;
        d = &s->datasets[ds];
        d->blocks[d->n_blocks++] = b;
        d->bytes += take;
        bytes -= take;
    }
    return 0;
}

static uint64_t block_size_for(const sim_storage *s, uint64_t bytes, uint64_t bb)
{
    uint64_t max = (uint64_t)s->cfg->max_map_tasks;
    if (bb == 0)
        bb = (uint64_t)s->cfg->block_bytes;
    if (bytes / bb >= max && bytes > bb * max) {
        bb = (bytes + max - 1) / max;
        bb = (bb + MIB - 1) / MIB * MIB; /* whole MiB, as block sizes are set */
    }
    return bb;
}

static int rewrite(sim_storage *s, uint32_t ds, uint64_t bytes, uint64_t bb)
{
    sim_dataset *d = &s->datasets[ds];
    for (uint32_t i = 0; i < d->n_blocks; i++) {
        uint32_t b = d->blocks[i];
        while (s->blocks[b].mem_head != SIM_NONE)
            unlink_entry(s, s->blocks[b].mem_head);
        s->blocks[b].dead = 1;
        if (mark_dirty(s, b))
            return LOCUS_ENOMEM;
    }
    d->n_blocks = 0;
    d->bytes = 0;
    d->block_bytes = block_size_for(s, bytes, bb);
    d->version++;
    d->rewritten = 1;
    s->rewrites++;
    return append_blocks(s, ds, bytes);
}

uint32_t sim_storage_block_at(const sim_storage *s, uint32_t dataset, uint64_t offset)
{
    const sim_dataset *d = &s->datasets[dataset];
    if (!d->n_blocks)
        return SIM_NONE;
    /* Every block but the last holds exactly block_bytes. */
    uint64_t i = d->block_bytes ? offset / d->block_bytes : 0;
    return d->blocks[i < d->n_blocks ? i : d->n_blocks - 1];
}

int sim_storage_resolve(sim_storage *s, const char *name, uint64_t bytes, uint64_t block_bytes,
                        sim_block_read **reads, size_t *n_reads, size_t *cap_reads,
                        uint32_t *dataset)
{
    uint32_t *slot = ds_slot(s, name);
    uint32_t ds;
    int rc;
    if (!*slot) {
        if (sim_grow((void **)&s->datasets, &s->cap_datasets, s->n_datasets + 1, sizeof *s->datasets))
            return LOCUS_ENOMEM;
        char *nm = strdup(name);
        if (!nm)
            return LOCUS_ENOMEM;
        ds = (uint32_t)s->n_datasets++;
        s->datasets[ds] = (sim_dataset){ .name = nm, .block_bytes = block_size_for(s, bytes, block_bytes),
                                         .published_at = -1 };
        *slot = ds + 1;
        if (s->n_datasets * 2 > s->ds_index_cap && (rc = ds_index_grow(s)))
            return rc;
        if ((rc = append_blocks(s, ds, bytes)))
            return rc;
    } else {
        ds = *slot - 1;
        sim_dataset *d = &s->datasets[ds];
        if (bytes > d->bytes) {
            uint64_t extra = bytes - d->bytes;
            uint64_t bb = d->block_bytes;
            uint64_t last_room = 0;
            if (d->n_blocks) {
                uint64_t lb = s->blocks[d->blocks[d->n_blocks - 1]].bytes;
                last_room = lb < bb ? bb - lb : 0;
            }
            uint64_t after = extra > last_room ? extra - last_room : 0;
            uint64_t new_blocks = (after + bb - 1) / bb;
            if (d->n_blocks + new_blocks > (uint64_t)s->cfg->max_map_tasks) {
                if ((rc = rewrite(s, ds, bytes, block_bytes)))
                    return rc;
            } else {
                if (last_room) {
                    uint32_t lb = d->blocks[d->n_blocks - 1];
                    uint64_t add = extra < last_room ? extra : last_room;
                    /* Cached copies of the old, shorter block are stale. */
                    while (s->blocks[lb].mem_head != SIM_NONE)
                        unlink_entry(s, s->blocks[lb].mem_head);
                    s->blocks[lb].bytes += add;
                    d->bytes += add;
                    extra -= add;
                    if (mark_dirty(s, lb))
                        return LOCUS_ENOMEM;
                }
                if ((rc = append_blocks(s, ds, extra)))
                    return rc;
            }
            /* The longer input existed before the job that reads it was
             * submitted, so a real probe would have seen it: written whole
             * before the next cycle, as a newly named dataset. */
            s->datasets[ds].stale = 1;
        }
    }
    *dataset = ds;
    /* The read: a prefix of the dataset covering `bytes`. */
    const sim_dataset *d = &s->datasets[ds];
    uint64_t left = bytes;
    for (uint32_t i = 0; i < d->n_blocks && left > 0; i++) {
        uint32_t b = d->blocks[i];
        uint64_t take = s->blocks[b].bytes < left ? s->blocks[b].bytes : left;
        if (sim_grow((void **)reads, cap_reads, *n_reads + 1, sizeof **reads))
            return LOCUS_ENOMEM;
        (*reads)[(*n_reads)++] = (sim_block_read){ .block = b, .bytes = take };
        left -= take;
    }
    return 0;
}

const sim_dataset *sim_storage_dataset_of(const sim_storage *s, uint32_t block)
{
    return &s->datasets[s->blocks[block].dataset];
}

int sim_storage_on_agent(const sim_storage *s, uint32_t block, uint32_t agent)
{
    if (has(sim_storage_hdd(s, block), s->replicas, agent))
        return 1;
    for (uint32_t e = s->blocks[block].mem_head; e != SIM_NONE; e = s->entries[e].next_in_block)
        if (s->entries[e].agent == agent)
            return 1;
    return 0;
}

int sim_storage_source(const sim_storage *s, const sim_network *net, uint32_t block,
                       uint32_t agent, sim_flow *flow)
{
    const sim_cluster *cl = s->cl;
    uint32_t rack = cl->agents[agent].rack_idx;
    int best_class = 1 << 30;
    uint32_t best_load = UINT32_MAX, best_src = agent;
    int best_kind = SIM_SRC_HDD;
    /* class = 2 * level + (HDD ? 1 : 0): memory beats HDD at equal distance. */
    for (int pass = 0; pass < 2; pass++) {
        uint32_t e = s->blocks[block].mem_head;
        const uint32_t *h = sim_storage_hdd(s, block);
        for (uint32_t i = 0;; i++) {
            uint32_t src;
            if (pass == 0) {
                if (e == SIM_NONE)
                    break;
                src = s->entries[e].agent;
                e = s->entries[e].next_in_block;
            } else {
                if (i >= s->replicas)
                    break;
                src = h[i];
            }
            int level = src == agent ? SIM_LOCAL_NODE
                      : cl->agents[src].rack_idx == rack ? SIM_LOCAL_RACK : SIM_LOCAL_REMOTE;
            int cls = 2 * level + pass;
            uint32_t load = net->nic_out[src] + (pass ? net->hdd_readers[src] : 0);
            if (cls < best_class || (cls == best_class && load < best_load)) {
                best_class = cls;
                best_load = load;
                best_src = src;
                best_kind = pass ? SIM_SRC_HDD : SIM_SRC_MEM;
            }
        }
    }
    flow->src = best_src;
    flow->dst = agent;
    flow->kind = (uint8_t)best_kind;
    return best_class / 2;
}

void sim_storage_touch(sim_storage *s, uint32_t block, uint32_t agent)
{
    for (uint32_t e = s->blocks[block].mem_head; e != SIM_NONE; e = s->entries[e].next_in_block) {
        sim_cache_entry *en = &s->entries[e];
        if (en->agent != agent)
            continue;
        if (en->prev == SIM_NONE)
            return; /* already the most recent */
        s->entries[en->prev].next = en->next;
        if (en->next != SIM_NONE)
            s->entries[en->next].prev = en->prev;
        else
            s->lru_tail[agent] = en->prev;
        en->prev = SIM_NONE;
        en->next = s->lru_head[agent];
        s->entries[s->lru_head[agent]].prev = e;
        s->lru_head[agent] = e;
        return;
    }
}

int sim_storage_cache(sim_storage *s, uint32_t block, uint32_t agent)
{
    uint64_t cap = (uint64_t)s->cfg->mem_capacity;
    uint64_t bytes = s->blocks[block].bytes;
    if (s->blocks[block].dead || bytes > cap || bytes == 0)
        return 0;
    for (uint32_t e = s->blocks[block].mem_head; e != SIM_NONE; e = s->entries[e].next_in_block)
        if (s->entries[e].agent == agent) {
            sim_storage_touch(s, block, agent);
            return 0;
        }
    while (s->mem_used[agent] + bytes > cap) {
        uint32_t victim = s->lru_tail[agent];
        uint32_t vb = s->entries[victim].block;
        unlink_entry(s, victim);
        s->evictions++;
        if (mark_dirty(s, vb))
            return LOCUS_ENOMEM;
    }
    uint32_t e;
    if (s->free_entry != SIM_NONE) {
        e = s->free_entry;
        s->free_entry = s->entries[e].next_in_block;
    } else {
        if (sim_grow((void **)&s->entries, &s->cap_entries, s->n_entries + 1, sizeof *s->entries))
            return LOCUS_ENOMEM;
        e = (uint32_t)s->n_entries++;
    }
    sim_cache_entry *en = &s->entries[e];
    en->block = block;
    en->agent = agent;
    en->prev = SIM_NONE;
    en->next = s->lru_head[agent];
    if (en->next != SIM_NONE)
        s->entries[en->next].prev = e;
    else
        s->lru_tail[agent] = e;
    s->lru_head[agent] = e;
    en->next_in_block = s->blocks[block].mem_head;
    s->blocks[block].mem_head = e;
    s->mem_used[agent] += bytes;
    return mark_dirty(s, block);
}

int sim_storage_confirm(sim_storage *s, uint32_t dataset, double now_s, double max_age_s)
{
    sim_dataset *d = &s->datasets[dataset];
    if (d->published_at < 0 || now_s - d->published_at < max_age_s)
        return 0;
    for (uint32_t i = 0; i < d->n_blocks; i++)
        if (mark_dirty(s, d->blocks[i]))
            return LOCUS_ENOMEM;
    d->published_at = now_s; /* once per max_age_s, even if the publish is late */
    return 0;
}

static int put_block(sim_storage *s, locus_hs_batch *b, uint32_t id, double now_s)
{
    locus_hs_replica rep[64];
    const sim_block *bl = &s->blocks[id];
    size_t n = 0;
    const uint32_t *h = sim_storage_hdd(s, id);
    for (uint32_t r = 0; r < s->replicas && n < 64; r++)
        rep[n++] = (locus_hs_replica){ .host = s->cl->agents[h[r]].host, .tier = LOCUS_TIER_HDD };
    for (uint32_t e = bl->mem_head; e != SIM_NONE && n < 64; e = s->entries[e].next_in_block)
        rep[n++] = (locus_hs_replica){ .host = s->cl->agents[s->entries[e].agent].host,
                                       .tier = LOCUS_TIER_MEM };
    locus_hs_block blk = { .dataset = s->datasets[bl->dataset].name, .index = bl->index,
                           .bytes = bl->bytes, .replicas = rep, .n_replicas = n };
    (void)now_s;
    int rc = locus_hs_batch_put(b, &blk);
    if (!rc)
        s->published_blocks++;
    return rc;
}

int sim_storage_demand(sim_storage *s, uint32_t dataset, int delta, double now_s)
{
    sim_dataset *d = &s->datasets[dataset];
    if (delta < 0) {
        if (d->demand)
            d->demand--;
        return 0;
    }
    d->demand++;
    if ((d->stale || d->published_at < 0 || now_s - d->published_at >= s->cfg->confirm_s) &&
        !d->queued) {
        if (sim_grow((void **)&s->fresh, &s->cap_fresh, s->n_fresh + 1, sizeof *s->fresh))
            return LOCUS_ENOMEM;
        s->fresh[s->n_fresh++] = dataset;
        d->queued = 1;
    }
    return 0;
}

int sim_storage_publish_fresh(sim_storage *s, struct locus_hs *hs, double now_s, char *err,
                              size_t errlen)
{
    if (s->n_fresh == 0)
        return 0;
    locus_hs_batch *b = NULL;
    int rc = hs ? locus_hs_batch_begin(hs, "sim", 0, &b) : 0;
    for (size_t i = 0; !rc && i < s->n_fresh; i++) {
        sim_dataset *d = &s->datasets[s->fresh[i]];
        d->queued = 0;
        d->stale = 0;
        /* A rewrite's new blocks reuse the old indexes: the old blocks are
         * deleted first, in the same batch, not by a later publish. */
        for (size_t k = 0; d->rewritten && !rc && k < s->n_dirty; k++) {
            sim_block *bl = &s->blocks[s->dirty[k]];
            if (!bl->dirty || !bl->dead || bl->dataset != s->fresh[i])
                continue;
            bl->dirty = 0;
            if (hs && (rc = locus_hs_batch_delete(b, d->name, bl->index)) == LOCUS_ENOTFOUND)
                rc = 0;
        }
        d->rewritten = 0;
        for (uint32_t k = 0; !rc && k < d->n_blocks; k++) {
            uint32_t id = d->blocks[k];
            s->blocks[id].dirty = 0; /* written now; its entry in the dirty list is skipped */
            if (hs)
                rc = put_block(s, b, id, now_s);
        }
        /* Every block written now: the next full confirm is due
         * storage.confirm_s from here. A write of some blocks (their
         * placement changed) does not refresh the others, so it does not
         * move this time. */
        d->published_at = now_s;
    }
    s->n_fresh = 0;
    if (!hs)
        return 0;
    if (rc)
        locus_hs_batch_abort(b);
    else
        rc = locus_hs_batch_commit(b, (int64_t)llround(now_s * 1000.0));
    if (rc)
        snprintf(err, errlen, "hint store %s: %s", locus_hs_path(hs), locus_hs_errstr(hs));
    return rc;
}

int sim_storage_publish(sim_storage *s, struct locus_hs *hs, double now_s, char *err, size_t errlen)
{
    int rc = 0;
    if (!hs) {
        for (size_t i = 0; i < s->n_dirty; i++)
            s->blocks[s->dirty[i]].dirty = 0;
        s->n_dirty = 0;
        return 0;
    }
    locus_hs_batch *b = NULL;
    if ((rc = locus_hs_batch_begin(hs, "sim", 0, &b)))
        goto fail;
    /* Dirty order is change order: a rewritten dataset's dead blocks come
     * before the new blocks that reuse their indexes. */
    for (size_t i = 0; i < s->n_dirty; i++) {
        uint32_t id = s->dirty[i];
        sim_block *bl = &s->blocks[id];
        if (!bl->dirty)
            continue; /* already written by sim_storage_publish_fresh */
        bl->dirty = 0;
        if (!bl->dead && s->datasets[bl->dataset].demand == 0) {
            s->datasets[bl->dataset].stale = 1; /* written when next demanded */
            continue;
        }
        if (bl->dead) {
            rc = locus_hs_batch_delete(b, s->datasets[bl->dataset].name, bl->index);
            if (rc == LOCUS_ENOTFOUND)
                rc = 0;
            if (rc)
                goto fail_batch;
            continue;
        }
        if ((rc = put_block(s, b, id, now_s)))
            goto fail_batch;
    }
    s->n_dirty = 0;
    rc = locus_hs_batch_commit(b, (int64_t)llround(now_s * 1000.0));
    b = NULL;
    if (rc)
        goto fail;
    s->publishes++;
    return 0;
fail_batch:
    locus_hs_batch_abort(b);
fail:
    snprintf(err, errlen, "hint store %s: %s", locus_hs_path(hs), locus_hs_errstr(hs));
    return rc;
}
