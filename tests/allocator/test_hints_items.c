/* A change feed naming some of a framework's datasets re-reads only the
 * demand items of those datasets, and the framework's locality then equals
 * a full read of the same snapshot: over random runs of commits that move
 * (same bytes on other hosts), rewrite, confirm or delete datasets (and so their blocks), frameworks without a
 * task size demanding datasets and blocks have, after each refresh, the
 * same per-agent bytes and task estimates (in the same order, to the bit),
 * pending bytes, local tasks and expiry as when every framework is read
 * again in full, and the index equals a full rebuild (entries whose inputs
 * did not change are left alone, those of a rack whose total changed are
 * rewritten); the dataset lookups
 * made are those of the changed items only. Hints come from an in-memory
 * store with a change feed, injected through la_hint_provider. */
#include "la_test.h"

#define N_DS 30
#define N_AGENTS 8
#define N_FW 6
#define N_ITEMS 8
#define MAX_PL 4
#define LOG_KEPT 4 /* commits the fake feed remembers; older: full read */

typedef struct fake_ds {
    char name[16];
    int deleted;
    locus_hs_dataset ds;
    locus_hs_host_bytes pl[MAX_PL];
    locus_hs_block_view blk[2];
    locus_hs_replica rep[2][2];
} fake_ds;

typedef struct fake {
    fake_ds d[N_DS];
    char hosts[N_AGENTS + 2][8]; /* the last two run no agent */
    uint64_t gen;
    int64_t now_ms;
    /* per generation g (g % LOG_KEPT): datasets changed (1) or confirmed (2) */
    uint8_t log[LOG_KEPT][N_DS];
    uint64_t log_gen[LOG_KEPT];
    /* the answer of the last changes() call */
    locus_hs_changes ch;
    const char *changed[N_DS];
    locus_hs_confirmed confirmed[N_DS];
    uint64_t ds_lookups;
} fake;

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n)
{
    return (uint32_t)(t_rand(&rng) % n);
}

static void ds_fill(fake *f, int i)
{
    fake_ds *x = &f->d[i];
    x->deleted = 0;
    size_t n = 1 + rnd(MAX_PL);
    for (size_t j = 0; j < n; j++)
        x->pl[j] = (locus_hs_host_bytes){f->hosts[rnd(N_AGENTS + 2)], (locus_tier)(1 + rnd(3)),
                                         (uint64_t)(1 + rnd(64)) << 20};
    x->ds = (locus_hs_dataset){x->name, (uint64_t)(64 + rnd(64)) << 20, 1 + rnd(4), f->gen,
                               f->now_ms, x->pl, n};
    for (int b = 0; b < 2; b++) {
        x->rep[b][0] = (locus_hs_replica){f->hosts[rnd(N_AGENTS + 2)], (locus_tier)(1 + rnd(3))};
        x->rep[b][1] = (locus_hs_replica){f->hosts[rnd(N_AGENTS + 2)], (locus_tier)(1 + rnd(3))};
        x->blk[b] = (locus_hs_block_view){x->name, (uint64_t)b, (uint64_t)(1 + rnd(64)) << 20,
                                          "test", f->now_ms, x->rep[b], 1 + rnd(2)};
    }
}

/* Dataset i's copies move to other hosts; its bytes stay (the frameworks'
 * pending bytes do not change, only where they are). */
static void ds_move(fake *f, int i)
{
    fake_ds *x = &f->d[i];
    for (size_t j = 0; j < x->ds.n_placement; j++)
        x->pl[j].host = f->hosts[rnd(N_AGENTS + 2)];
    x->ds.version = f->gen;
    x->ds.updated_at_ms = f->now_ms;
    for (int b = 0; b < 2; b++) {
        x->rep[b][0].host = f->hosts[rnd(N_AGENTS + 2)];
        x->rep[b][1].host = f->hosts[rnd(N_AGENTS + 2)];
        x->blk[b].updated_at_ms = f->now_ms;
    }
}

static fake_ds *ds_find(fake *f, const char *name)
{
    for (int i = 0; i < N_DS; i++)
        if (strcmp(f->d[i].name, name) == 0)
            return f->d[i].deleted ? NULL : &f->d[i];
    return NULL;
}

static int fk_open(void *ctx, void **snap)
{
    *snap = ctx;
    return 0;
}
static void fk_close(void *ctx, void *snap)
{
    (void)ctx;
    (void)snap;
}
static int fk_meta(void *ctx, void *snap, uint64_t *gen, int64_t *upd)
{
    (void)snap;
    const fake *f = ctx;
    *gen = f->gen;
    *upd = f->now_ms;
    return 0;
}
static int fk_dataset(void *ctx, void *snap, const char *name, const locus_hs_dataset **out)
{
    (void)snap;
    fake *f = ctx;
    f->ds_lookups++;
    fake_ds *x = ds_find(f, name);
    if (!x)
        return LOCUS_ENOTFOUND;
    *out = &x->ds;
    return 0;
}
static int fk_block(void *ctx, void *snap, const char *ds, uint64_t idx,
                    const locus_hs_block_view **out)
{
    (void)snap;
    fake_ds *x = ds_find(ctx, ds);
    if (!x || idx >= 2)
        return LOCUS_ENOTFOUND;
    *out = &x->blk[idx];
    return 0;
}
static const char *fk_host(void *ctx, void *snap, const char *host)
{
    (void)ctx;
    (void)snap;
    return host;
}
static uint64_t fk_errs(void *ctx, void *snap)
{
    (void)ctx;
    (void)snap;
    return 0;
}
static int fk_changes(void *ctx, void *snap, uint64_t since, const locus_hs_changes **out)
{
    (void)snap;
    fake *f = ctx;
    memset(&f->ch, 0, sizeof f->ch);
    f->ch.since_generation = since;
    f->ch.generation = f->gen;
    *out = &f->ch;
    if (since > f->gen || f->gen - since > LOG_KEPT - 1) {
        f->ch.full_read_needed = 1;
        return 0;
    }
    uint8_t what[N_DS] = {0};
    for (uint64_t g = since + 1; g <= f->gen; g++)
        for (int i = 0; i < N_DS; i++)
            if (f->log[g % LOG_KEPT][i] == 1 || (f->log[g % LOG_KEPT][i] == 2 && !what[i]))
                what[i] = f->log[g % LOG_KEPT][i];
    for (int i = 0; i < N_DS; i++) {
        if (what[i] == 1)
            f->changed[f->ch.n_datasets++] = f->d[i].name;
        else if (what[i] == 2)
            f->confirmed[f->ch.n_confirmed++] =
                (locus_hs_confirmed){f->d[i].name, f->d[i].ds.updated_at_ms};
    }
    f->ch.datasets = f->changed;
    f->ch.confirmed = f->confirmed;
    f->ch.blocks_complete = 0;
    return 0;
}

/* One framework's locality as the index reads it. */
typedef struct fw_copy {
    uint32_t n_loc;
    la_locent loc[N_AGENTS];
    uint64_t demand_bytes;
    double local_tasks, expire;
} fw_copy;

static void fw_snapshot(const locus_allocator *a, fw_copy *c)
{
    for (uint32_t fs = 0; fs < N_FW; fs++) {
        const la_fw *f = &a->fws[fs];
        assert_true(f->live);
        assert_true(f->n_loc <= N_AGENTS);
        c[fs].n_loc = f->n_loc;
        memset(c[fs].loc, 0, sizeof c[fs].loc);
        memcpy(c[fs].loc, f->loc, sizeof *f->loc * f->n_loc);
        c[fs].demand_bytes = f->demand_bytes;
        c[fs].local_tasks = f->local_tasks;
        c[fs].expire = f->loc_expire_at;
    }
}

static void set_demand(locus_allocator *a, int fw, const int *ds, const int *blk)
{
    static char names[N_ITEMS][16];
    locus_demand_item it[N_ITEMS];
    for (int i = 0; i < N_ITEMS; i++) {
        snprintf(names[i], sizeof names[i], "ds-%d", ds[i]);
        it[i] = (locus_demand_item){names[i], blk[i], blk[i] < 0 && i % 3 == 0 ? 8u << 20 : 0};
    }
    char id[8];
    snprintf(id, sizeof id, "fw%d", fw);
    assert_int_equal(la_set_demand(a, id, it, N_ITEMS), 0);
}

static void test_changed_items_alone_equal_full_read(void **state)
{
    (void)state;
    static fake f;
    for (int h = 0; h < N_AGENTS + 2; h++)
        snprintf(f.hosts[h], sizeof f.hosts[h], "a%d", h);
    f.gen = 1;
    f.now_ms = 1000;
    for (int i = 0; i < N_DS; i++) {
        snprintf(f.d[i].name, sizeof f.d[i].name, "ds-%d", i);
        ds_fill(&f, i);
    }
    locus_allocator *a = t_new(NULL, "hints.staleness=1e9", NULL);
    la_hint_provider p = {&f, fk_open, fk_close, fk_meta, fk_dataset, fk_block, fk_host, fk_errs,
                          fk_changes};
    la_set_hint_provider(a, &p);
    for (int g = 0; g < N_AGENTS; g++) { /* racks of three: a rack's total can change while
                                            an agent's own bytes do not */
        char id[8], rack[8];
        snprintf(id, sizeof id, "a%d", g);
        snprintf(rack, sizeof rack, "r%d", g / 3);
        t_agent_r(a, id, rack, 4, 4096);
    }
    int ds[N_FW][N_ITEMS], blk[N_FW][N_ITEMS];
    for (int fw = 0; fw < N_FW; fw++) {
        char id[8];
        snprintf(id, sizeof id, "fw%d", fw);
        t_fw(a, id, "*");
        for (int i = 0; i < N_ITEMS; i++) {
            /* runs of one dataset (as the simulator's demand has) and repeats */
            ds[fw][i] = i > 0 && rnd(3) == 0 ? ds[fw][i - 1] : (int)rnd(N_DS);
            blk[fw][i] = rnd(3) == 0 ? (int)rnd(2) : -1;
        }
        set_demand(a, fw, ds[fw], blk[fw]);
    }
    double now = 1;
    assert_true(la_hints_refresh(a, now));
    static fw_copy inc[N_FW], full[N_FW];
    uint64_t lookups = 0, changed_items = 0, refreshes_with_change = 0;
    for (int step = 0; step < 400; step++) {
        now += 1;
        f.now_ms = (int64_t)(now * 1000);
        f.gen++;
        uint8_t *lg = f.log[f.gen % LOG_KEPT];
        memset(lg, 0, N_DS);
        f.log_gen[f.gen % LOG_KEPT] = f.gen;
        /* a few datasets change, a few are only confirmed (newer time) */
        for (int k = (int)rnd(3); k > 0; k--) {
            int i = (int)rnd(N_DS);
            if (rnd(6) == 0)
                f.d[i].deleted = 1;
            else if (!f.d[i].deleted && rnd(2) == 0)
                ds_move(&f, i);
            else
                ds_fill(&f, i);
            lg[i] = 1;
        }
        for (int k = (int)rnd(4); k > 0; k--) {
            int i = (int)rnd(N_DS);
            if (lg[i] || f.d[i].deleted)
                continue;
            f.d[i].ds.updated_at_ms = f.now_ms;
            f.d[i].blk[0].updated_at_ms = f.d[i].blk[1].updated_at_ms = f.now_ms;
            lg[i] = 2;
        }
        /* Sometimes a framework's demand changes, or the reader skips
         * commits (older than the feed keeps: read in full). */
        if (rnd(10) == 0) {
            int fw = (int)rnd(N_FW);
            ds[fw][rnd(N_ITEMS)] = (int)rnd(N_DS);
            set_demand(a, fw, ds[fw], blk[fw]);
        }
        if (rnd(20) == 0)
            continue;
        /* Items whose dataset changed since the reader's generation, of
         * frameworks not read in full anyway. */
        uint64_t expect = 0;
        int feed = a->hint_generation != UINT64_MAX && f.gen - a->hint_generation < LOG_KEPT;
        for (int fw = 0; fw < N_FW && feed; fw++) {
            for (int i = 0; i < N_ITEMS && a->fws[fw].hint_dirty; i++)
                expect += blk[fw][i] < 0; /* new demand: read in full */
            for (int i = 0; i < N_ITEMS && !a->fws[fw].hint_dirty; i++) {
                int hit = 0;
                for (uint64_t g = a->hint_generation + 1; g <= f.gen; g++)
                    hit |= f.log[g % LOG_KEPT][ds[fw][i]] == 1;
                expect += hit && blk[fw][i] < 0;
            }
        }
        uint64_t before = f.ds_lookups;
        assert_true(la_hints_refresh(a, now));
        if (feed) {
            lookups += f.ds_lookups - before;
            changed_items += expect;
            refreshes_with_change += expect > 0;
        }
        fw_snapshot(a, inc);
        struct la_idxent idx_inc[N_AGENTS][N_FW];
        uint64_t rack_inc[N_AGENTS][N_FW]; /* the rack totals offers read with each entry */
        uint32_t len_inc[N_AGENTS];
        for (uint32_t g = 0; g < N_AGENTS; g++) {
            len_inc[g] = a->idx_len[g];
            memcpy(idx_inc[g], &a->idx_ent[a->idx_off[g]], sizeof idx_inc[g][0] * len_inc[g]);
            for (uint32_t i = 0; i < len_inc[g]; i++)
                rack_inc[g][i] = la_rack_total(a, a->agents[g].rack, idx_inc[g][i].fw);
        }
        /* The same snapshot read in full. */
        for (int fw = 0; fw < N_FW; fw++)
            a->fws[fw].hint_dirty = 1;
        assert_true(la_hints_refresh(a, now));
        fw_snapshot(a, full);
        assert_int_equal(la_index_rebuild(a), 0);
        for (int fw = 0; fw < N_FW; fw++) {
            const fw_copy *x = &inc[fw], *y = &full[fw];
            if (x->n_loc != y->n_loc || x->demand_bytes != y->demand_bytes ||
                x->local_tasks != y->local_tasks || x->expire != y->expire)
                fail_msg("step %d fw %d: %u/%u agents, %llu/%llu bytes, %g/%g local tasks, "
                         "expiry %g/%g",
                         step, fw, x->n_loc, y->n_loc, (unsigned long long)x->demand_bytes,
                         (unsigned long long)y->demand_bytes, x->local_tasks, y->local_tasks,
                         x->expire, y->expire);
            for (uint32_t k = 0; k < x->n_loc; k++)
                if (x->loc[k].agent != y->loc[k].agent ||
                    memcmp(x->loc[k].bytes, y->loc[k].bytes, sizeof x->loc[k].bytes) ||
                    x->loc[k].tasks != y->loc[k].tasks)
                    fail_msg("step %d fw %d entry %u: agent %u/%u tasks %g/%g", step, fw, k,
                             x->loc[k].agent, y->loc[k].agent, x->loc[k].tasks, y->loc[k].tasks);
        }
        for (uint32_t g = 0; g < N_AGENTS; g++) {
            assert_int_equal(len_inc[g], a->idx_len[g]);
            for (uint32_t i = 0; i < len_inc[g]; i++) {
                const struct la_idxent *x = &idx_inc[g][i], *y = &a->idx_ent[a->idx_off[g] + i];
                uint64_t rack = la_rack_total(a, a->agents[g].rack, y->fw);
                if (x->fw != y->fw || memcmp(x->bytes, y->bytes, sizeof x->bytes) ||
                    x->tasks != y->tasks || rack_inc[g][i] != rack)
                    fail_msg("step %d agent %u entry %u: fw %u/%u rack bytes %llu/%llu", step, g,
                             i, x->fw, y->fw, (unsigned long long)rack_inc[g][i],
                             (unsigned long long)rack);
            }
        }
    }
    /* Only changed items were looked up again: with a full read of every
     * framework a changed dataset touches, each of those would cost all
     * N_ITEMS items. */
    assert_true(refreshes_with_change > 50);
    if (lookups != changed_items)
        fail_msg("%llu dataset lookups after commits for %llu changed dataset items",
                 (unsigned long long)lookups, (unsigned long long)changed_items);
    la_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changed_items_alone_equal_full_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
