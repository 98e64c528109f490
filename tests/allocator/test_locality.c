/* The locality policy with hints injected through la_hint_provider (no
 * store): the framework gets the agent holding its data, tier weights order
 * MEM > SSD > HDD, delay scheduling falls back to rack then anywhere after
 * the configured waits, the fairness slack bounds every choice, slack 0
 * reproduces drf exactly, and missing or stale hints make the cycle drf.
 * With task resources, frameworks with local work get offer slices sized to
 * their local tasks and the rest of the agent goes on in DRF order. */
#include "la_test.h"

#define GB (1024ULL * 1024 * 1024)

typedef struct fake_ds {
    locus_hs_dataset d;
    locus_hs_host_bytes pl[48];
} fake_ds;

typedef struct fake {
    fake_ds ds[32];
    int n_ds;
    locus_hs_block_view blk[8];
    locus_hs_replica rep[8][4];
    int n_blk;
    const char *bind_from[8], *bind_to[8];
    int n_bind;
    uint64_t gen;
    int64_t updated_ms;
    int open_rc;
    int opens;
} fake;

static int f_open(void *ctx, void **snap)
{
    fake *f = ctx;
    f->opens++;
    *snap = f;
    return f->open_rc;
}
static void f_close(void *ctx, void *snap)
{
    (void)ctx;
    (void)snap;
}
static int f_meta(void *ctx, void *snap, uint64_t *gen, int64_t *upd)
{
    (void)snap;
    fake *f = ctx;
    *gen = f->gen;
    *upd = f->updated_ms;
    return 0;
}
static int f_dataset(void *ctx, void *snap, const char *name, const locus_hs_dataset **out)
{
    (void)snap;
    fake *f = ctx;
    for (int i = 0; i < f->n_ds; i++)
        if (strcmp(f->ds[i].d.name, name) == 0) {
            *out = &f->ds[i].d;
            return 0;
        }
    return LOCUS_ENOTFOUND;
}
static int f_block(void *ctx, void *snap, const char *ds, uint64_t idx,
                   const locus_hs_block_view **out)
{
    (void)snap;
    fake *f = ctx;
    for (int i = 0; i < f->n_blk; i++)
        if (strcmp(f->blk[i].dataset, ds) == 0 && f->blk[i].index == idx) {
            *out = &f->blk[i];
            return 0;
        }
    return LOCUS_ENOTFOUND;
}
static const char *f_host(void *ctx, void *snap, const char *host)
{
    (void)snap;
    fake *f = ctx;
    for (int i = 0; i < f->n_bind; i++)
        if (strcmp(f->bind_from[i], host) == 0)
            return f->bind_to[i];
    return host;
}
static uint64_t f_errs(void *ctx, void *snap)
{
    (void)ctx;
    (void)snap;
    return 0;
}

static void fake_install(locus_allocator *a, fake *f)
{
    la_hint_provider p = {f, f_open, f_close, f_meta, f_dataset, f_block, f_host, f_errs, NULL};
    la_set_hint_provider(a, &p);
}

/* Adds dataset `name` with one (host, tier, bytes) entry per call of put. */
static fake_ds *fake_ds_new(fake *f, const char *name, int64_t updated_ms)
{
    fake_ds *d = &f->ds[f->n_ds++];
    memset(d, 0, sizeof *d);
    d->d.name = name;
    d->d.updated_at_ms = updated_ms;
    d->d.placement = d->pl;
    f->gen++;
    return d;
}
static void fake_put(fake_ds *d, const char *host, locus_tier t, uint64_t bytes)
{
    d->pl[d->d.n_placement++] = (locus_hs_host_bytes){host, t, bytes};
    d->d.total_bytes += bytes;
}

static void t_demand(locus_allocator *a, const char *fw, const char *ds, uint64_t bytes)
{
    locus_demand_item it = {ds, -1, bytes};
    assert_int_equal(la_set_demand(a, fw, &it, 1), 0);
}

static void test_picks_data_agent(void **state)
{
    (void)state;
    fake f = {.gen = 1};
    locus_allocator *a = t_new(NULL, "policy.name=locality", "policy.fairness_slack=0.5", NULL);
    fake_install(a, &f);
    for (int i = 0; i < 10; i++) {
        char id[8], rack[8];
        snprintf(id, sizeof id, "a%d", i);
        snprintf(rack, sizeof rack, "r%d", i);
        t_agent_r(a, id, rack, 4, 4096);
    }
    t_fw(a, "f1", "*");
    t_fw(a, "f2", "*");
    fake_ds *d = fake_ds_new(&f, "logs", 0);
    fake_put(d, "a7", LOCUS_TIER_MEM, GB);
    t_demand(a, "f1", "logs", 0);
    for (int round = 0; round < 5; round++) {
        locus_offer_list l = t_alloc(a, 1.0 + round * 0.1);
        assert_int_equal(l.n, 10);
        const locus_offer *o = t_offer_for_agent(&l, "a7");
        assert_non_null(o);
        assert_string_equal(o->framework_id, "f1");
        assert_int_equal(o->locality.level, 0);
        assert_int_equal(o->locality.local_bytes[0], GB);
        assert_true(o->locality.score > 0.99);
        if (strncmp(o->reason, "local MEM 1.0 GB, score 1.00, share 0.0", 39) != 0)
            fail_msg("reason \"%s\"", o->reason);
        /* f1 waits for its data: every other agent went to f2. */
        assert_int_equal(t_count_fw(&l, "f1"), 1);
        for (size_t i = 0; i < l.n; i++)
            t_decline(a, &l.offers[i], 0, 1.0);
    }
    locus_allocator_status st = {.struct_size = sizeof st};
    la_status(a, &st);
    assert_int_equal(st.offers_local, 5);
    assert_int_equal(st.fallback_cycles, 0);
    assert_int_equal(st.policy, 1);
    la_destroy(a);
}

static void test_tier_order(void **state)
{
    (void)state;
    fake f = {.gen = 1};
    locus_allocator *a = t_new(NULL, "policy.fairness_slack=0.5", NULL);
    fake_install(a, &f);
    t_agent(a, "a1", 4, 4096);
    /* DRF alone would pick a-hdd first (name order): locality must invert it. */
    t_fw(a, "a-hdd", "*");
    t_fw(a, "b-ssd", "*");
    t_fw(a, "c-mem", "*");
    fake_ds *d;
    d = fake_ds_new(&f, "dh", 0), fake_put(d, "a1", LOCUS_TIER_HDD, GB);
    d = fake_ds_new(&f, "ds", 0), fake_put(d, "a1", LOCUS_TIER_SSD, GB);
    d = fake_ds_new(&f, "dm", 0), fake_put(d, "a1", LOCUS_TIER_MEM, GB);
    t_demand(a, "a-hdd", "dh", 0);
    t_demand(a, "b-ssd", "ds", 0);
    t_demand(a, "c-mem", "dm", 0);
    const char *want[] = {"c-mem", "b-ssd", "a-hdd"};
    for (int i = 0; i < 3; i++) {
        locus_offer_list l = t_alloc(a, i);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.offers[0].framework_id, want[i]);
        assert_int_equal(l.offers[0].locality.level, 0);
        t_decline(a, &l.offers[0], 100, i); /* refuse: the next tier gets it */
    }
    la_destroy(a);
}

static void test_delay_fallback_rack_then_any(void **state)
{
    (void)state;
    fake f = {.gen = 1};
    locus_allocator *a = t_new(NULL, "locality.wait_node=3", "locality.wait_rack=4",
                               "hints.staleness=1000", NULL);
    fake_install(a, &f);
    t_agent_r(a, "a-data", "r1", 4, 4096);
    t_agent_r(a, "a-rack", "r1", 4, 4096);
    t_agent_r(a, "a-far", "r2", 4, 4096);
    assert_int_equal(la_deactivate_agent(a, "a-data"), 0); /* its data is there, it is not */
    t_fw(a, "f1", "*");
    fake_ds *d = fake_ds_new(&f, "in", 0);
    fake_put(d, "a-data", LOCUS_TIER_SSD, 10 * GB);
    t_demand(a, "f1", "in", 0);
    for (double t = 0; t < 3; t += 0.5)
        assert_int_equal(t_alloc(a, t).n, 0);
    locus_offer_list l = t_alloc(a, 3);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a-rack");
    assert_int_equal(l.offers[0].locality.level, 1);
    assert_int_equal(l.offers[0].locality.rack_bytes, 10 * GB);
    if (strncmp(l.offers[0].reason, "rack-local 10.0 GB after 3.0 s wait, share 0.", 45) != 0)
        fail_msg("reason \"%s\"", l.offers[0].reason);
    t_decline(a, &l.offers[0], 0, 3);
    l = t_alloc(a, 6.9);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a-rack");
    t_decline(a, &l.offers[0], 0, 6.9);
    l = t_alloc(a, 7);
    assert_int_equal(l.n, 2);
    const locus_offer *far = t_offer_for_agent(&l, "a-far");
    assert_non_null(far);
    assert_int_equal(far->locality.level, 2);
    for (size_t i = 0; i < l.n; i++)
        t_decline(a, &l.offers[i], 0, 7);
    /* A node-local offer resets the wait. */
    assert_int_equal(la_activate_agent(a, "a-data"), 0);
    l = t_alloc(a, 8);
    const locus_offer *loc = t_offer_for_agent(&l, "a-data");
    assert_non_null(loc);
    assert_int_equal(loc->locality.level, 0);
    for (size_t i = 0; i < l.n; i++)
        t_decline(a, &l.offers[i], 0, 8);
    assert_int_equal(la_deactivate_agent(a, "a-data"), 0);
    assert_int_equal(t_alloc(a, 9).n, 0);
    locus_allocator_status st = {.struct_size = sizeof st};
    la_status(a, &st);
    assert_true(st.offers_rack >= 2);
    assert_true(st.offers_any >= 1);
    la_destroy(a);
}

/* Every framework with demand is offered something within the waits. */
static void test_no_starvation(void **state)
{
    (void)state;
    fake f = {.gen = 1};
    locus_allocator *a = t_new(NULL, "locality.wait_node=2", "locality.wait_rack=2",
                               "hints.staleness=1e6", "policy.fairness_slack=0.2", NULL);
    fake_install(a, &f);
    for (int i = 0; i < 6; i++) {
        char id[8];
        snprintf(id, sizeof id, "a%d", i);
        t_agent_r(a, id, i < 3 ? "r1" : "r2", 4, 4096);
    }
    /* f-busy's data sits on a0, which is permanently taken by f-hog. */
    t_fw(a, "f-busy", "*");
    t_fw(a, "f-hog", "*");
    fake_ds *d = fake_ds_new(&f, "x", 0);
    fake_put(d, "a0", LOCUS_TIER_MEM, GB);
    t_demand(a, "f-busy", "x", 0);
    assert_int_equal(la_suppress(a, "f-busy", NULL), 0);
    locus_offer_list l = t_alloc(a, 0); /* f-hog takes everything, keeps a0 */
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.offers[i].agent_id, "a0") != 0)
            t_decline(a, &l.offers[i], 0, 0);
    assert_int_equal(la_revive(a, "f-busy", NULL), 0);
    assert_int_equal(la_suppress(a, "f-hog", NULL), 0);
    double first = -1;
    for (double t = 1; t <= 10 && first < 0; t += 0.5) {
        l = t_alloc(a, t);
        if (t_count_fw(&l, "f-busy"))
            first = t;
        for (size_t i = 0; i < l.n; i++)
            t_decline(a, &l.offers[i], 0, t);
    }
    assert_true(first >= 3 && first <= 1 + 2 + 0.5);
    la_destroy(a);
}

/* With slack s, an offer may go out of DRF order only to a framework whose
 * share is within s of the lowest; with every framework keeping what it is
 * offered, final shares differ by at most s plus one agent's share. With
 * task resources (offer slices) the same holds, an agent's remainder going
 * to the DRF-next framework adding at most one agent's share. */
static void test_slack_bound(void **state)
{
    (void)state;
    const double slack = 0.15;
    for (int sliced = 0; sliced < 2; sliced++)
    for (int seed = 1; seed <= 6; seed++) {
        fake f = {.gen = 1};
        char sp[48], ss[48];
        snprintf(sp, sizeof sp, "policy.seed=%d", seed);
        snprintf(ss, sizeof ss, "policy.fairness_slack=%g", slack);
        locus_allocator *a = t_new(NULL, sp, ss, "locality.wait_node=0", "locality.wait_rack=0",
                                   NULL);
        fake_install(a, &f);
        const int NA = 40, NF = 4;
        static char names[40][8];
        for (int i = 0; i < NA; i++) {
            snprintf(names[i], sizeof names[i], "a%d", i);
            t_agent(a, names[i], 4, 4096);
        }
        static const char *fws[] = {"f0", "f1", "f2", "f3"};
        static const char *dsn[] = {"d0", "d1", "d2", "d3"};
        for (int j = 0; j < NF; j++) {
            t_fw(a, fws[j], "*");
            if (sliced)
                t_task_res(a, fws[j], 1, 1024);
            fake_ds *d = fake_ds_new(&f, dsn[j], 0);
            /* Data skewed: f0's input sits on half the cluster. */
            for (int i = 0; i < NA; i++)
                if ((j == 0 && i % 2 == 0) || (i * 7 + j * 3 + seed) % 11 == 0)
                    fake_put(d, names[i], (locus_tier)(1 + (i + j) % 3), GB);
            t_demand(a, fws[j], dsn[j], 0);
        }
        double held[4] = {0}, total = 4.0 * NA, agent_share = 4.0 / total;
        locus_offer_list l = t_alloc(a, 1);
        if (!sliced)
            assert_int_equal(l.n, (size_t)NA);
        size_t n_slices = 0;
        for (size_t i = 0; i < l.n; i++) {
            int j = l.offers[i].framework_id[1] - '0';
            double lo = held[0];
            for (int k = 1; k < NF; k++)
                if (held[k] < lo)
                    lo = held[k];
            double sh = held[j] / total, min = lo / total;
            if (sh > min + slack + (sliced ? agent_share : 0) + 1e-9)
                fail_msg("seed %d offer %zu to %s at share %.3f, lowest %.3f", seed, i,
                         l.offers[i].framework_id, sh, min);
            double c = t_res(&l.offers[i].resources, "cpus");
            n_slices += c < 4 - 1e-9;
            held[j] += c;
        }
        double mx = 0, mn = total, sum = 0;
        for (int k = 0; k < NF; k++) {
            mx = held[k] > mx ? held[k] : mx;
            mn = held[k] < mn ? held[k] : mn;
            sum += held[k];
        }
        assert_true(fabs(sum - total) < 1e-6); /* every agent fully offered */
        if (sliced)
            assert_true(n_slices > 0);
        assert_true((mx - mn) / total <= slack + agent_share * (1 + sliced) + 1e-9);
        la_destroy(a);
    }
}

/* slack 0 and no waits: the offer sequence is exactly drf's. */
static void test_slack0_equals_drf(void **state)
{
    (void)state;
    fake f = {.gen = 1};
    locus_allocator *loc = t_new(NULL, "policy.name=locality", "policy.fairness_slack=0",
                                 "locality.wait_node=0", "locality.wait_rack=0", NULL);
    locus_allocator *drf = t_new(NULL, "policy.name=drf", NULL);
    fake_install(loc, &f);
    static char names[30][8];
    for (int i = 0; i < 30; i++) {
        snprintf(names[i], sizeof names[i], "a%d", i);
        t_agent(loc, names[i], 2 + i % 3, 2048);
        t_agent(drf, names[i], 2 + i % 3, 2048);
    }
    static const char *fws[] = {"f0", "f1", "f2"};
    static const char *dsn[] = {"d0", "d1", "d2"};
    for (int j = 0; j < 3; j++) {
        t_fw(loc, fws[j], j == 2 ? "other" : "*");
        t_fw(drf, fws[j], j == 2 ? "other" : "*");
        fake_ds *d = fake_ds_new(&f, dsn[j], 0);
        for (int i = j; i < 30; i += 4)
            fake_put(d, names[i], LOCUS_TIER_MEM, GB);
        t_demand(loc, fws[j], dsn[j], 0);
    }
    for (int c = 0; c < 5; c++) {
        locus_offer_list x = t_alloc(loc, c), y = t_alloc(drf, c);
        assert_int_equal(x.n, y.n);
        for (size_t i = 0; i < x.n; i++) {
            assert_string_equal(x.offers[i].agent_id, y.offers[i].agent_id);
            assert_string_equal(x.offers[i].framework_id, y.offers[i].framework_id);
        }
        for (size_t i = 0; i < x.n; i += 2) {
            t_decline(loc, &x.offers[i], 0, c);
            t_decline(drf, &y.offers[i], 0, c);
        }
    }
    la_destroy(loc);
    la_destroy(drf);
}

/* DeclineOffers until saturation with 48 frameworks: slack 0 and no waits
 * still equal drf offer for offer, through the near-saturation scan too. */
static void test_slack0_decline_all_equals_drf(void **state)
{
    (void)state;
    fake f = {.gen = 1};
    locus_allocator *loc = t_new(NULL, "policy.name=locality", "policy.fairness_slack=0",
                                 "locality.wait_node=0", "locality.wait_rack=0", NULL);
    locus_allocator *drf = t_new(NULL, "policy.name=drf", NULL);
    fake_install(loc, &f);
    static char names[6][8], fws[48][8];
    for (int i = 0; i < 6; i++) {
        snprintf(names[i], sizeof names[i], "a%d", i);
        t_agent(loc, names[i], 4, 2048);
        t_agent(drf, names[i], 4, 2048);
    }
    fake_ds *d = fake_ds_new(&f, "shared", 0);
    fake_put(d, names[2], LOCUS_TIER_MEM, GB);
    for (int j = 0; j < 48; j++) {
        snprintf(fws[j], sizeof fws[j], "f%02d", (j * 29) % 48);
        t_fw(loc, fws[j], j % 4 ? "*" : "other");
        t_fw(drf, fws[j], j % 4 ? "*" : "other");
        t_demand(loc, fws[j], "shared", 0);
    }
    size_t total = 0;
    for (int c = 0; c < 60; c++) {
        locus_offer_list x = t_alloc(loc, c), y = t_alloc(drf, c);
        assert_int_equal(x.n, y.n);
        for (size_t i = 0; i < x.n; i++) {
            assert_string_equal(x.offers[i].agent_id, y.offers[i].agent_id);
            assert_string_equal(x.offers[i].framework_id, y.offers[i].framework_id);
        }
        total += x.n;
        for (size_t i = 0; i < x.n; i++) {
            t_decline(loc, &x.offers[i], 1e6, c);
            t_decline(drf, &y.offers[i], 1e6, c);
        }
    }
    assert_int_equal(total, 48 * 6);
    la_destroy(loc);
    la_destroy(drf);
}

static void test_stale_and_missing_hints(void **state)
{
    (void)state;
    fake f = {.gen = 1, .updated_ms = 0};
    locus_allocator *a = t_new(NULL, "hints.staleness=10", "policy.fairness_slack=0.5", NULL);
    fake_install(a, &f);
    t_agent(a, "a1", 4, 4096);
    t_agent(a, "a2", 4, 4096);
    t_fw(a, "f1", "*");
    fake_ds *d = fake_ds_new(&f, "x", 0);
    fake_put(d, "a2", LOCUS_TIER_MEM, GB);
    t_demand(a, "f1", "x", 0);
    /* Fresh: f1 only takes a2 (waits for its data elsewhere). */
    locus_offer_list l = t_alloc(a, 5);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a2");
    t_decline(a, &l.offers[0], 0, 5);
    /* The whole store is stale at t=11: plain drf, both agents, counted. */
    l = t_alloc(a, 11);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.offers[0].locality.level, -1);
    locus_allocator_status st = {.struct_size = sizeof st};
    la_status(a, &st);
    assert_int_equal(st.fallback_cycles, 1);
    assert_true(st.hint_age_s > 10.9 && st.hint_age_s < 11.1);
    for (size_t i = 0; i < l.n; i++)
        t_decline(a, &l.offers[i], 0, 11);
    /* The store is alive (meta fresh) but this dataset's hint is stale: ignored. */
    f.updated_ms = 20000;
    f.gen++;
    l = t_alloc(a, 21);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.offers[0].locality.level, -1);
    la_status(a, &st);
    assert_int_equal(st.fallback_cycles, 1);
    for (size_t i = 0; i < l.n; i++)
        t_decline(a, &l.offers[i], 0, 21);
    /* Unreadable store: drf, counted as a read error. */
    f.open_rc = LOCUS_EIO;
    l = t_alloc(a, 22);
    assert_int_equal(l.n, 2);
    la_status(a, &st);
    assert_int_equal(st.fallback_cycles, 2);
    assert_int_equal(st.hint_read_errors, 1);
    la_destroy(a);
}

static void test_blocks_and_bindings(void **state)
{
    (void)state;
    fake f = {.gen = 1};
    locus_allocator *a = t_new(NULL, "policy.fairness_slack=0.5", "hints.staleness=100", NULL);
    fake_install(a, &f);
    t_agent(a, "node-1", 4, 4096);
    t_agent(a, "node-2", 4, 4096);
    t_fw(a, "f0", "*");
    t_fw(a, "f1", "*");
    /* Block 3 of "big" is on storage host "cache-b", which is agent node-2. */
    f.bind_from[0] = "cache-b";
    f.bind_to[0] = "node-2";
    f.n_bind = 1;
    f.rep[0][0] = (locus_hs_replica){"cache-b", LOCUS_TIER_SSD};
    f.blk[0] = (locus_hs_block_view){"big", 3, 128 << 20, "redis:main", 0, f.rep[0], 1};
    f.n_blk = 1;
    locus_demand_item it[2] = {{"big", 3, 0}, {"big", 4, 64 << 20}};
    assert_int_equal(la_set_demand(a, "f1", it, 2), 0);
    locus_offer_list l = t_alloc(a, 1);
    const locus_offer *o = t_offer_for_agent(&l, "node-2");
    assert_non_null(o);
    assert_string_equal(o->framework_id, "f1");
    assert_int_equal(o->locality.local_bytes[1], 128 << 20);
    /* score = SSD weight 0.5 * 128 MB / (128 + 64) MB demanded */
    assert_true(fabs(o->locality.score - 0.5 * 128.0 / 192.0) < 1e-9);
    la_destroy(a);
}


/* Block `idx` of dataset ds, one replica on each host given (NULL-ended). */
static void fake_block(fake *f, const char *ds, uint64_t idx, ...)
{
    int b = f->n_blk++;
    va_list ap;
    va_start(ap, idx);
    size_t n = 0;
    const char *h;
    while ((h = va_arg(ap, const char *)) != NULL && n < 4)
        f->rep[b][n++] = (locus_hs_replica){h, LOCUS_TIER_HDD};
    va_end(ap);
    f->blk[b] = (locus_hs_block_view){ds, idx, 128 << 20, "hdfs", 0, f->rep[b], n};
    f->gen++;
}

static void t_blocks(locus_allocator *a, const char *fw, const char *ds, int from, int to)
{
    locus_demand_item it[8];
    int n = 0;
    for (int i = from; i < to; i++)
        it[n++] = (locus_demand_item){ds, i, 0};
    assert_int_equal(la_set_demand(a, fw, it, (size_t)n), 0);
}

/* Two frameworks whose blocks sit on the same agent each get a slice sized
 * to their local tasks there; the rest of the agent goes whole to the
 * framework next in DRF order (not to one by name, not to a sliced one). */
static void test_slices_sized_to_local_tasks(void **state)
{
    (void)state;
    fake f = {.gen = 1};
    locus_allocator *a = t_new(NULL, "policy.fairness_slack=0.5", "hints.staleness=1e6", NULL);
    fake_install(a, &f);
    t_agent(a, "a0", 4, 4096);
    t_agent(a, "a1", 8, 8192);
    t_fw(a, "fa", "*");
    t_fw(a, "fb", "*");
    t_fw(a, "fc", "*");
    t_fw(a, "fd", "*");
    t_task_res(a, "fa", 1, 1024);
    t_task_res(a, "fb", 1, 1024);
    t_task_res(a, "fc", 1, 1024);
    t_task_res(a, "fd", 1, 1024);
    fake_block(&f, "in", 0, "a1", NULL);
    fake_block(&f, "in", 1, "a1", NULL);
    fake_block(&f, "in", 2, "a1", NULL);
    t_blocks(a, "fa", "in", 0, 2); /* two tasks local to a1 */
    t_blocks(a, "fb", "in", 2, 3); /* one */
    /* a1 held back first: a0 goes to fc (fa, fb wait for a1; fc < fd by name). */
    assert_int_equal(la_deactivate_agent(a, "a1"), 0);
    locus_offer_list l = t_alloc(a, 1);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].framework_id, "fc");
    assert_true(fabs(t_res(&l.offers[0].resources, "cpus") - 4) < 1e-9); /* no local work: whole */
    assert_int_equal(la_activate_agent(a, "a1"), 0);
    l = t_alloc(a, 1.5);
    assert_int_equal(l.n, 3);
    double want_cpus[] = {2, 1, 5}, want_mem[] = {2048, 1024, 5120};
    const char *want_fw[] = {"fa", "fb", "fd"};
    for (int i = 0; i < 3; i++) {
        const locus_offer *o = &l.offers[i];
        assert_string_equal(o->agent_id, "a1");
        assert_string_equal(o->framework_id, want_fw[i]);
        if (fabs(t_res(&o->resources, "cpus") - want_cpus[i]) > 1e-9 ||
            fabs(t_res(&o->resources, "mem") - want_mem[i]) > 1e-9)
            fail_msg("offer %d to %s: %g cpus %g mem", i, o->framework_id,
                     t_res(&o->resources, "cpus"), t_res(&o->resources, "mem"));
        assert_int_equal(o->locality.level, i < 2 ? 0 : -1);
    }
    assert_non_null(strstr(l.offers[0].reason, "slice for 2 local tasks"));
    /* Nothing left on a1, nothing offered twice. */
    l = t_alloc(a, 2);
    assert_int_equal(l.n, 0);
    la_destroy(a);
}

/* A framework that gave no task resources (or cleared them) keeps getting
 * the whole agent holding its data, as before. */
static void test_no_task_resources_whole_agent(void **state)
{
    (void)state;
    fake f = {.gen = 1};
    locus_allocator *a = t_new(NULL, "policy.fairness_slack=0.5", "hints.staleness=1e6", NULL);
    fake_install(a, &f);
    t_agent(a, "a1", 8, 8192);
    t_fw(a, "fa", "*");
    t_fw(a, "fb", "*");
    t_task_res(a, "fb", 1, 1024);
    fake_block(&f, "in", 0, "a1", NULL);
    t_blocks(a, "fa", "in", 0, 1);
    locus_offer_list l = t_alloc(a, 1);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].framework_id, "fa");
    assert_int_equal(l.offers[0].locality.level, 0);
    assert_true(fabs(t_res(&l.offers[0].resources, "cpus") - 8) < 1e-9);
    t_decline(a, &l.offers[0], 0, 1);
    /* With task resources it gets one task's worth; cleared, the whole agent. */
    t_task_res(a, "fa", 0.5, 256);
    l = t_alloc(a, 2);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.offers[0].framework_id, "fa");
    assert_true(fabs(t_res(&l.offers[0].resources, "cpus") - 0.5) < 1e-9);
    assert_true(fabs(t_res(&l.offers[0].resources, "mem") - 256) < 1e-9);
    assert_string_equal(l.offers[1].framework_id, "fb");
    assert_true(fabs(t_res(&l.offers[1].resources, "cpus") - 7.5) < 1e-9);
    for (size_t i = 0; i < l.n; i++)
        t_decline(a, &l.offers[i], 0, 2);
    assert_int_equal(la_set_task_resources(a, "fa", NULL), 0);
    l = t_alloc(a, 3);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].framework_id, "fa");
    assert_true(fabs(t_res(&l.offers[0].resources, "cpus") - 8) < 1e-9);
    /* Bad input is refused with a reason, unknown frameworks too. */
    locus_scalar bad = {"cpus", -1};
    locus_resources rb = {&bad, 1};
    assert_int_equal(la_set_task_resources(a, "fa", &rb), LOCUS_EINVAL);
    assert_non_null(strstr(la_last_error(a), "cpus"));
    assert_int_equal(la_set_task_resources(a, "nope", NULL), LOCUS_ENOTFOUND);
    la_destroy(a);
}

/* A block with replicas on several agents is one task: in one cycle the
 * framework gets slices for at most its pending local tasks, however many
 * agents hold a copy. */
static void test_slices_count_each_task_once(void **state)
{
    (void)state;
    fake f = {.gen = 1};
    locus_allocator *a = t_new(NULL, "policy.fairness_slack=0.5", "hints.staleness=1e6", NULL);
    fake_install(a, &f);
    t_agent(a, "a1", 8, 8192);
    t_agent(a, "a2", 8, 8192);
    t_agent(a, "a3", 8, 8192);
    t_fw(a, "fa", "*");
    t_task_res(a, "fa", 1, 1024);
    fake_block(&f, "in", 0, "a1", "a2", "a3", NULL);
    t_blocks(a, "fa", "in", 0, 1);
    locus_offer_list l = t_alloc(a, 1);
    assert_int_equal(l.n, 1); /* one slice; the other copies' agents wait (delay) */
    assert_int_equal(l.offers[0].locality.level, 0);
    assert_true(fabs(t_res(&l.offers[0].resources, "cpus") - 1) < 1e-9);
    la_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_picks_data_agent),
        cmocka_unit_test(test_tier_order),
        cmocka_unit_test(test_delay_fallback_rack_then_any),
        cmocka_unit_test(test_no_starvation),
        cmocka_unit_test(test_slack_bound),
        cmocka_unit_test(test_slack0_equals_drf),
        cmocka_unit_test(test_slack0_decline_all_equals_drf),
        cmocka_unit_test(test_stale_and_missing_hints),
        cmocka_unit_test(test_blocks_and_bindings),
        cmocka_unit_test(test_slices_sized_to_local_tasks),
        cmocka_unit_test(test_no_task_resources_whole_agent),
        cmocka_unit_test(test_slices_count_each_task_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
