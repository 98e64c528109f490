/* The sink that collects one poll's blocks before they are committed.
 *
 * A poll may report the same block several times (a Redis key range seen on a
 * master and on its replica, HDFS hosts and cachedHosts), so blocks are kept
 * in an open-addressing hash table keyed by (dataset, index) and replicas are
 * merged. Dataset and host names repeat across millions of blocks: they are
 * interned once per poll, which also makes the (dataset, index) comparison a
 * pointer compare. Nothing reaches the hint store until the poll completes;
 * then the blocks are written sorted by key (LMDB appends in order cheaply)
 * in one replace-all batch, so a reader sees the old poll or the new one,
 * never a mix. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe_sink.h"

typedef struct sink_block {
    const char *dataset;        /* interned */
    uint64_t index, bytes;
    locus_hs_replica *replicas; /* hosts interned */
    size_t n_replicas, cap;
} sink_block;

typedef struct str_table {
    char **slots;               /* open addressing; NULL = empty */
    size_t cap, n;
} str_table;

struct probe_sink {
    sink_block *blocks;
    size_t n_blocks, cap_blocks;
    size_t *index;              /* open addressing over blocks: position + 1, 0 = empty */
    size_t index_cap;
    str_table names;
    uint64_t keys;
    uint64_t skipped[PROBE_SKIP_REASONS];
    char err[512];
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static uint64_t hash_block(const char *dataset, uint64_t index)
{
    /* dataset is interned: its address identifies it within one poll. */
    uint64_t h = (uint64_t)(uintptr_t)dataset * 0x9E3779B97F4A7C15ULL ^ index;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    return h ^ (h >> 32);
}

static void set_err(probe_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(probe_sink *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
}

static const char *intern(str_table *t, const char *s)
{
    if ((t->n + 1) * 2 > t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        char **ns = calloc(nc, sizeof *ns);
        if (!ns)
            return NULL;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slots[i])
                continue;
            size_t j = hash_str(t->slots[i]) & (nc - 1);
            while (ns[j])
                j = (j + 1) & (nc - 1);
            ns[j] = t->slots[i];
        }
        free(t->slots);
        t->slots = ns;
        t->cap = nc;
    }
    size_t j = hash_str(s) & (t->cap - 1);
    while (t->slots[j]) {
        if (strcmp(t->slots[j], s) == 0)
            return t->slots[j];
        j = (j + 1) & (t->cap - 1);
    }
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    t->slots[j] = copy;
    t->n++;
    return copy;
}

static void str_table_clear(str_table *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        free(t->slots[i]);
        t->slots[i] = NULL;
    }
    t->n = 0;
}

probe_sink *probe_sink_new(void) { return calloc(1, sizeof(probe_sink)); }

void probe_sink_reset(probe_sink *s)
{
    for (size_t i = 0; i < s->n_blocks; i++)
        free(s->blocks[i].replicas);
    s->n_blocks = 0;
    if (s->index)
        memset(s->index, 0, s->index_cap * sizeof *s->index);
    str_table_clear(&s->names);
    s->keys = 0;
    memset(s->skipped, 0, sizeof s->skipped);
    s->err[0] = 0;
}

void probe_sink_free(probe_sink *s)
{
    if (!s)
        return;
    probe_sink_reset(s);
    free(s->names.slots);
    free(s->blocks);
    free(s->index);
    free(s);
}

size_t probe_sink_blocks(const probe_sink *s) { return s->n_blocks; }
uint64_t probe_sink_keys(const probe_sink *s) { return s->keys; }
const char *probe_sink_errstr(const probe_sink *s) { return s->err; }
void probe_sink_count_keys(probe_sink *s, uint64_t keys) { s->keys += keys; }

const char *probe_skip_reason_name(probe_skip_reason r)
{
    static const char *const names[PROBE_SKIP_REASONS] = {"name_too_long", "host_too_long",
                                                          "empty_host", "too_many_replicas"};
    return (unsigned)r < PROBE_SKIP_REASONS ? names[r] : "unknown";
}

void probe_sink_skip(probe_sink *s, probe_skip_reason r)
{
    if ((unsigned)r < PROBE_SKIP_REASONS)
        s->skipped[r]++;
}

uint64_t probe_sink_skipped(const probe_sink *s, probe_skip_reason r)
{
    return (unsigned)r < PROBE_SKIP_REASONS ? s->skipped[r] : 0;
}

static int grow_index(probe_sink *s)
{
    size_t nc = s->index_cap ? s->index_cap * 2 : 1024;
    size_t *ni = calloc(nc, sizeof *ni);
    if (!ni)
        return LOCUS_ENOMEM;
    for (size_t i = 0; i < s->n_blocks; i++) {
        size_t j = hash_block(s->blocks[i].dataset, s->blocks[i].index) & (nc - 1);
        while (ni[j])
            j = (j + 1) & (nc - 1);
        ni[j] = i + 1;
    }
    free(s->index);
    s->index = ni;
    s->index_cap = nc;
    return 0;
}

static int add_replica(probe_sink *s, sink_block *b, const locus_hs_replica *r)
{
    for (size_t i = 0; i < b->n_replicas; i++) {
        if (b->replicas[i].tier == r->tier && strcmp(b->replicas[i].host, r->host) == 0)
            return 0; /* seen twice: merged */
    }
    if (b->n_replicas >= PROBE_REPLICAS_MAX) {
        s->skipped[PROBE_SKIP_TOO_MANY_REPLICAS]++; /* merged copies beyond the cap: left out */
        return 0;
    }
    if (b->n_replicas == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 2;
        locus_hs_replica *nr = realloc(b->replicas, nc * sizeof *nr);
        if (!nr)
            return LOCUS_ENOMEM;
        b->replicas = nr;
        b->cap = nc;
    }
    const char *host = intern(&s->names, r->host);
    if (!host)
        return LOCUS_ENOMEM;
    b->replicas[b->n_replicas++] = (locus_hs_replica){host, r->tier};
    return 0;
}

int probe_sink_put(probe_sink *s, const locus_hs_block *blk)
{
    if (!blk || !blk->dataset || !*blk->dataset) {
        set_err(s, "block with an empty dataset name");
        return LOCUS_EINVAL;
    }
    if (blk->n_replicas && !blk->replicas) {
        set_err(s, "block %s/%llu: replicas missing", blk->dataset, (unsigned long long)blk->index);
        return LOCUS_EINVAL;
    }
    /* Records a storage layer may really hold but the store cannot: skipped
     * and counted, so one odd key or file never fails the whole poll. */
    if (strnlen(blk->dataset, PROBE_NAME_MAX + 1) > PROBE_NAME_MAX) {
        s->skipped[PROBE_SKIP_NAME_TOO_LONG]++;
        return 0;
    }
    if (blk->n_replicas > PROBE_REPLICAS_MAX) {
        s->skipped[PROBE_SKIP_TOO_MANY_REPLICAS]++;
        return 0;
    }
    for (size_t i = 0; i < blk->n_replicas; i++) {
        const locus_hs_replica *r = &blk->replicas[i];
        if (!r->host || !*r->host) {
            s->skipped[PROBE_SKIP_EMPTY_HOST]++;
            return 0;
        }
        if (strnlen(r->host, PROBE_HOST_MAX + 1) > PROBE_HOST_MAX) {
            s->skipped[PROBE_SKIP_HOST_TOO_LONG]++;
            return 0;
        }
        if (r->tier < LOCUS_TIER_MEM || r->tier > LOCUS_TIER_HDD) {
            set_err(s, "block %s/%llu: replica %zu on %s has an invalid tier %d", blk->dataset,
                    (unsigned long long)blk->index, i, r->host, (int)r->tier);
            return LOCUS_EINVAL;
        }
    }
    const char *dataset = intern(&s->names, blk->dataset);
    if (!dataset)
        goto oom;
    if ((s->n_blocks + 1) * 2 > s->index_cap && grow_index(s))
        goto oom;
    size_t j = hash_block(dataset, blk->index) & (s->index_cap - 1);
    sink_block *b = NULL;
    while (s->index[j]) {
        sink_block *c = &s->blocks[s->index[j] - 1];
        if (c->dataset == dataset && c->index == blk->index) {
            b = c;
            break;
        }
        j = (j + 1) & (s->index_cap - 1);
    }
    if (!b) {
        if (s->n_blocks == s->cap_blocks) {
            size_t nc = s->cap_blocks ? s->cap_blocks * 2 : 256;
            sink_block *nb = realloc(s->blocks, nc * sizeof *nb);
            if (!nb)
                goto oom;
            s->blocks = nb;
            s->cap_blocks = nc;
        }
        b = &s->blocks[s->n_blocks];
        *b = (sink_block){.dataset = dataset, .index = blk->index, .bytes = blk->bytes};
        s->index[j] = ++s->n_blocks;
    } else if (blk->bytes > b->bytes) {
        b->bytes = blk->bytes; /* copies seen at different sizes: the largest is the block */
    }
    for (size_t i = 0; i < blk->n_replicas; i++) {
        if (add_replica(s, b, &blk->replicas[i]))
            goto oom;
    }
    return 0;
oom:
    set_err(s, "out of memory collecting block %s/%llu", blk->dataset,
            (unsigned long long)blk->index);
    return LOCUS_ENOMEM;
}

static int cmp_block(const void *a, const void *b)
{
    const sink_block *x = *(const sink_block *const *)a, *y = *(const sink_block *const *)b;
    if (x->dataset != y->dataset) {
        int c = strcmp(x->dataset, y->dataset);
        if (c)
            return c;
    }
    return x->index < y->index ? -1 : x->index > y->index;
}

int probe_sink_commit(probe_sink *s, locus_hs *hs, const char *backend,
                      const probe_host_binding *hosts, size_t n_hosts, int64_t now_ms, char *err,
                      size_t errlen)
{
    sink_block **order = malloc((s->n_blocks ? s->n_blocks : 1) * sizeof *order);
    if (!order) {
        snprintf(err, errlen, "out of memory sorting %zu blocks", s->n_blocks);
        return LOCUS_ENOMEM;
    }
    for (size_t i = 0; i < s->n_blocks; i++)
        order[i] = &s->blocks[i];
    qsort(order, s->n_blocks, sizeof *order, cmp_block);

    locus_hs_batch *batch = NULL;
    int rc = locus_hs_batch_begin(hs, backend, 1, &batch);
    for (size_t i = 0; !rc && i < s->n_blocks; i++) {
        const sink_block *b = order[i];
        locus_hs_block blk = {b->dataset, b->index, b->bytes, b->replicas, b->n_replicas};
        rc = locus_hs_batch_put(batch, &blk);
    }
    for (size_t i = 0; !rc && i < n_hosts; i++)
        rc = locus_hs_batch_bind_host(batch, hosts[i].storage_host, hosts[i].agent_hostname,
                                      hosts[i].agent_id);
    free(order);
    if (rc) {
        snprintf(err, errlen, "hint store: %s", locus_hs_errstr(hs));
        locus_hs_batch_abort(batch);
        return rc;
    }
    rc = locus_hs_batch_commit(batch, now_ms);
    if (rc)
        snprintf(err, errlen, "hint store commit: %s", locus_hs_errstr(hs));
    return rc;
}
