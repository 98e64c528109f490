/* The locality policy over a real LMDB hint store written with the hint
 * store's writer API: a store that does not exist yet (retried at most every
 * hints.retry_interval), appears, turns stale and is refreshed; a store
 * already there at create, opened then; a store lent
 * by the host; and a path that is not a store. Writes into a store the
 * allocator opened itself come from a child process, as in production (one
 * LMDB environment per process). A commit's change feed, applied to
 * frameworks demanding datasets, gives what a full read of the same
 * snapshot gives, also while demand changes between commits (new datasets,
 * frameworks replaced, block demand shrinking as tasks launch). A dataset
 * spread over more hosts than a read keeps resolved between its two passes
 * still gives every agent its part. */
#include <lmdb.h>
#include <sys/wait.h>

#include "la_test.h"

static char g_dir[512];

static int setup(void **state)
{
    (void)state;
    t_mkdtemp(g_dir, sizeof g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    t_rm_r(g_dir);
    return 0;
}

/* Writes dataset "x" (one 1 GB block on storage host "cache-2", bound to
 * agent hostname "a2", in MEM) with the writer clock at now_ms. */
static int write_hints(locus_hs *hs, int64_t now_ms)
{
    locus_hs_batch *b = NULL;
    int rc = locus_hs_batch_begin(hs, "test:writer", 0, &b);
    if (rc)
        return rc;
    locus_hs_replica rep[1] = {{"cache-2", LOCUS_TIER_MEM}};
    locus_hs_block blk = {"x", 0, 1ULL << 30, rep, 1};
    if ((rc = locus_hs_batch_put(b, &blk)) ||
        (rc = locus_hs_batch_bind_host(b, "cache-2", "a2", NULL))) {
        locus_hs_batch_abort(b);
        return rc;
    }
    return locus_hs_batch_commit(b, now_ms);
}

static void write_in_child(const char *path, int64_t now_ms)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        locus_hs_options o = {0};
        o.create = 1;
        o.no_sync = 1;
        locus_hs *hs = NULL;
        int rc = locus_hs_open(path, &o, &hs, NULL, 0);
        if (rc == 0)
            rc = write_hints(hs, now_ms);
        locus_hs_close(hs);
        _exit(rc == 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void setup_cluster(locus_allocator *a)
{
    t_agent(a, "a1", 4, 4096);
    t_agent(a, "a2", 4, 4096);
    t_fw(a, "f1", "*");
    locus_demand_item it = {"x", -1, 0};
    assert_int_equal(la_set_demand(a, "f1", &it, 1), 0);
}

static locus_offer_list cycle(locus_allocator *a, double now)
{
    locus_offer_list l = t_alloc(a, now);
    for (size_t i = 0; i < l.n; i++)
        t_decline(a, &l.offers[i], 0, now);
    return l;
}

static void test_missing_then_created_then_stale(void **state)
{
    (void)state;
    char path[600], kv[700];
    snprintf(path, sizeof path, "%s/store", g_dir);
    snprintf(kv, sizeof kv, "hints.path=%s", path);
    locus_allocator *a = t_new(NULL, kv, "hints.retry_interval=5", "hints.staleness=100",
                               "policy.fairness_slack=0.5", NULL);
    setup_cluster(a);
    locus_allocator_status st = {.struct_size = sizeof st};

    /* Missing: drf, counted, not an error. */
    locus_offer_list l = cycle(a, 0);
    assert_int_equal(l.n, 2);
    la_status(a, &st);
    assert_int_equal(st.fallback_cycles, 1);
    assert_int_equal(st.hint_read_errors, 0);

    /* Created at host time 1: opened in the next cycle (t = 2), not at the
     * t = 5 retry - the store appearing is what is waited for. */
    write_in_child(path, 1000);
    l = cycle(a, 2);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a2");
    assert_string_equal(l.offers[0].framework_id, "f1");
    la_status(a, &st);
    assert_int_equal(st.fallback_cycles, 1);
    assert_int_equal(st.offers_local, 1);
    assert_true(fabs(st.hint_age_s - 1.0) < 1e-6);

    /* The writer stops: at t = 102 the store is older than 100 s. */
    l = cycle(a, 102);
    assert_int_equal(l.n, 2);
    la_status(a, &st);
    assert_int_equal(st.fallback_cycles, 2);

    /* The writer is back: the open store serves the new generation. */
    write_in_child(path, 150000);
    l = cycle(a, 151);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a2");
    assert_int_equal(l.offers[0].locality.local_bytes[0], 1ULL << 30);
    la_destroy(a);
}

/* Log lines the allocator gave its host, one after another. */
static char g_log[4096];

static void log_capture(void *ctx, int level, const char *msg)
{
    (void)ctx;
    (void)level;
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof g_log - n, "%s\n", msg);
}

static locus_allocator *create_logged(const char *kv_path, const char *policy)
{
    locus_param p[2] = {{"hints.path", kv_path}, {"policy.name", policy}};
    locus_host_services host = {sizeof host, NULL, log_capture, NULL};
    locus_allocator *a = NULL;
    char err[512] = "";
    g_log[0] = '\0';
    if (la_create(NULL, p, 2, &host, &a, err, sizeof err))
        fail_msg("create: %s", err);
    return a;
}

/* A store already there when the allocator is created is opened then, not
 * in the first cycle (which would pay for the open and for a page fault per
 * page its first lookups touch); drf never opens it. */
static void test_store_opened_at_create(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/store", g_dir);
    write_in_child(path, 1000);
    locus_allocator *a = create_logged(path, "locality");
    assert_non_null(strstr(g_log, "opened"));
    assert_non_null(strstr(g_log, "mapped from the page cache"));
    size_t logged = strlen(g_log);
    setup_cluster(a);
    locus_offer_list l = cycle(a, 1.5);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a2");
    assert_int_equal(strlen(g_log), logged); /* not opened again */
    la_destroy(a);

    a = create_logged(path, "drf");
    assert_null(strstr(g_log, "opened"));
    la_destroy(a);
}

/* A new store in g_dir/name holding write_hints' hints (at 10 s), opened
 * here for a host to lend to the allocator. */
static locus_hs *lent_store(const char *name)
{
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    locus_hs_options o = {0};
    o.create = 1;
    o.no_sync = 1;
    locus_hs *hs = NULL;
    if (locus_hs_open(path, &o, &hs, err, sizeof err) != 0)
        fail_msg("open %s: %s", path, err);
    assert_int_equal(write_hints(hs, 10000), 0);
    return hs;
}

static void test_host_lent_store(void **state)
{
    (void)state;
    locus_hs *hs = lent_store("lent");
    char err[256];
    locus_host_services host = {sizeof host, NULL, NULL, hs};
    locus_param p[] = {{"policy.fairness_slack", "0.5"}, {"hints.path", "/nonexistent/ignored"}};
    locus_allocator *a = NULL;
    assert_int_equal(la_create(NULL, p, 2, &host, &a, err, sizeof err), 0);
    setup_cluster(a);
    /* Block-level demand works on the real store as well. */
    locus_demand_item it = {"x", 0, 0};
    assert_int_equal(la_set_demand(a, "f1", &it, 1), 0);
    locus_offer_list l = cycle(a, 11);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a2");
    assert_int_equal(l.offers[0].locality.level, 0);
    locus_allocator_status st = {.struct_size = sizeof st};
    la_status(a, &st);
    assert_int_equal(st.fallback_cycles, 0);
    la_destroy(a);
    locus_hs_close(hs);
}

/* A dataset on more hosts than a read keeps resolved between its two passes
 * over the summary (the first sums the bytes on known agents, the second
 * adds each agent's part): every host's part reaches its agent, in the
 * store's tier, and a host with no agent counts for none. */
static void test_dataset_on_many_hosts(void **state)
{
    (void)state;
    enum { HOSTS = 80 };
    char path[600], err[256], host[HOSTS][16];
    snprintf(path, sizeof path, "%s/wide", g_dir);
    locus_hs_options o = {.create = 1, .no_sync = 1};
    locus_hs *hs = NULL;
    if (locus_hs_open(path, &o, &hs, err, sizeof err) != 0)
        fail_msg("open %s: %s", path, err);
    locus_hs_batch *b = NULL;
    assert_int_equal(locus_hs_batch_begin(hs, "test:writer", 0, &b), 0);
    for (int i = 0; i < HOSTS; i++) {
        snprintf(host[i], sizeof host[i], "w%d", i);
        /* block i on host i alone, its tier cycling memory, SSD, disk */
        locus_hs_replica rep[1] = {{host[i], (locus_tier)(LOCUS_TIER_MEM + i % 3)}};
        locus_hs_block blk = {"wide", (uint64_t)i, (uint64_t)(i + 1) << 20, rep, 1};
        assert_int_equal(locus_hs_batch_put(b, &blk), 0);
    }
    assert_int_equal(locus_hs_batch_commit(b, 10000), 0);
    locus_host_services hsv = {sizeof hsv, NULL, NULL, hs};
    locus_param p[] = {{"policy.name", "locality"}, {"hints.staleness", "1e6"}};
    locus_allocator *a = NULL;
    assert_int_equal(la_create(NULL, p, 2, &hsv, &a, err, sizeof err), 0);
    for (int i = 0; i < HOSTS - 1; i++) /* the last host runs no agent */
        t_agent(a, host[i], 4, 4096);
    t_fw(a, "f1", "*");
    locus_demand_item it = {"wide", -1, 0};
    assert_int_equal(la_set_demand(a, "f1", &it, 1), 0);
    cycle(a, 11);
    const la_fw *f = &a->fws[la_strmap_get(&a->fw_map, "f1")];
    assert_int_equal(f->n_loc, HOSTS - 1);
    for (uint32_t k = 0; k < f->n_loc; k++) {
        const la_locent *e = &f->loc[k];
        int i = atoi(a->agents[e->agent].id + 1);
        for (int t = 0; t < LOCUS_TIERS; t++)
            if (e->bytes[t] != (t == i % 3 ? (uint64_t)(i + 1) << 20 : 0))
                fail_msg("agent %s tier %d: %llu bytes", a->agents[e->agent].id, t,
                         (unsigned long long)e->bytes[t]);
    }
    la_destroy(a);
    locus_hs_close(hs);
}

/* Rebinds storage host "cache-2" to agent hostname `agent` in its own batch. */
static void rebind(locus_hs *hs, const char *agent, int64_t now_ms)
{
    locus_hs_batch *b = NULL;
    assert_int_equal(locus_hs_batch_begin(hs, "test:writer", 0, &b), 0);
    assert_int_equal(locus_hs_batch_bind_host(b, "cache-2", agent, NULL), 0);
    assert_int_equal(locus_hs_batch_commit(b, now_ms), 0);
}

/* Storage hosts are resolved to agents once and remembered across cycles:
 * a new host binding, and agents leaving and coming back under the bound
 * hostname, must move the block's locality with them. */
static void test_host_binding_and_agents_change(void **state)
{
    (void)state;
    locus_hs *hs = lent_store("rebind");
    char err[256];
    locus_host_services host = {sizeof host, NULL, NULL, hs};
    locus_param p[] = {{"policy.fairness_slack", "0.5"}};
    locus_allocator *a = NULL;
    assert_int_equal(la_create(NULL, p, 1, &host, &a, err, sizeof err), 0);
    setup_cluster(a);
    locus_demand_item it = {"x", 0, 0};
    assert_int_equal(la_set_demand(a, "f1", &it, 1), 0);
    locus_offer_list l = cycle(a, 11);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a2");
    assert_int_equal(l.offers[0].locality.level, 0);

    /* cache-2 now serves agent a1. */
    rebind(hs, "a1", 12000);
    l = cycle(a, 12);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a1");
    assert_int_equal(l.offers[0].locality.level, 0);

    /* a1 leaves: no agent holds the block. Agent a4 joins (in a1's old
     * slot, as slots are reused), then "a3" with hostname a1, which holds
     * the block now. */
    assert_int_equal(la_remove_agent(a, "a1"), 0);
    l = cycle(a, 13);
    for (size_t i = 0; i < l.n; i++)
        assert_int_not_equal(l.offers[i].locality.level, 0);
    t_agent(a, "a4", 4, 4096);
    locus_scalar tot[2] = {{"cpus", 4}, {"mem", 4096}};
    locus_agent_info info = {"a3", "a1", NULL, {tot, 2}};
    assert_int_equal(la_add_agent(a, &info, NULL, 0, 0), 0);
    l = cycle(a, 14);
    int local_a3 = 0;
    for (size_t i = 0; i < l.n; i++) {
        int is_a3 = strcmp(l.offers[i].agent_id, "a3") == 0;
        assert_true(is_a3 || l.offers[i].locality.level != 0);
        local_a3 |= is_a3 && l.offers[i].locality.level == 0;
    }
    assert_true(local_a3);
    la_destroy(a);
    locus_hs_close(hs);
}

/* Plants an undecodable value under `key` in sub-database `db`, as a
 * foreign or broken writer would (from a child: one environment per process). */
static void plant_garbage(const char *path, const char *db, const char *key)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        MDB_env *env;
        MDB_txn *txn;
        MDB_dbi dbi;
        static const unsigned char junk[] = {0xff, 0xfe, 0x07, 0x00, 0x13, 0x37};
        MDB_val k = {strlen(key), (void *)key}, v = {sizeof junk, (void *)junk};
        int rc = mdb_env_create(&env);
        if (!rc) {
            mdb_env_set_maxdbs(env, 16);
            if (!(rc = mdb_env_open(env, path, MDB_NOTLS, 0664)) &&
                !(rc = mdb_txn_begin(env, NULL, 0, &txn))) {
                if (!(rc = mdb_dbi_open(txn, db, 0, &dbi)) && !(rc = mdb_put(txn, dbi, &k, &v, 0)))
                    rc = mdb_txn_commit(txn);
                else
                    mdb_txn_abort(txn);
            }
            mdb_env_close(env);
        }
        _exit(rc ? 1 : 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A value that does not decode is counted and skipped; the rest still works. */
static void test_corrupt_value_counted(void **state)
{
    (void)state;
    char path[600], kv[700];
    snprintf(path, sizeof path, "%s/store", g_dir);
    write_in_child(path, 1000);
    plant_garbage(path, "datasets", "broken");
    snprintf(kv, sizeof kv, "hints.path=%s", path);
    locus_allocator *a = t_new(NULL, kv, "hints.staleness=100", "policy.fairness_slack=0.5",
                               NULL);
    t_agent(a, "a1", 4, 4096);
    t_agent(a, "a2", 4, 4096);
    t_fw(a, "f1", "*");
    locus_demand_item it[2] = {{"broken", -1, 0}, {"x", -1, 0}};
    assert_int_equal(la_set_demand(a, "f1", it, 2), 0);
    locus_offer_list l = cycle(a, 2);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a2");
    locus_allocator_status st = {.struct_size = sizeof st};
    la_status(a, &st);
    assert_int_equal(st.fallback_cycles, 0);
    assert_true(st.hint_read_errors >= 1);
    la_destroy(a);
}

static void test_not_a_store(void **state)
{
    (void)state;
    char path[600], kv[700];
    snprintf(path, sizeof path, "%s/plainfile", g_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not an lmdb environment\n", f);
    fclose(f);
    snprintf(kv, sizeof kv, "hints.path=%s", path);
    locus_allocator *a = t_new(NULL, kv, "hints.retry_interval=1", NULL);
    setup_cluster(a);
    for (int t = 0; t < 4; t++)
        assert_int_equal(cycle(a, t).n, 2);
    locus_allocator_status st = {.struct_size = sizeof st};
    la_status(a, &st);
    assert_int_equal(st.fallback_cycles, 4);
    assert_true(st.hint_read_errors >= 1);
    la_destroy(a);
}

#define FEED_DS 40
#define FEED_HOSTS 8
#define FEED_FW 6
#define FEED_ITEMS 6

/* Writes `n` random datasets of FEED_DS (all when n == FEED_DS), each two
 * blocks on random hosts h0..h7 and tiers, in one commit. */
static void feed_commit(locus_hs *hs, uint64_t *rng, int n, int64_t now_ms)
{
    locus_hs_batch *b = NULL;
    assert_int_equal(locus_hs_batch_begin(hs, "test:writer", 0, &b), 0);
    char ds[16], host[2][8];
    for (int k = 0; k < n; k++) {
        int d = n == FEED_DS ? k : (int)(t_rand(rng) % FEED_DS);
        snprintf(ds, sizeof ds, "d%d", d);
        for (uint64_t blk = 0; blk < 2; blk++) {
            locus_hs_replica rep[2];
            size_t nr = 1 + t_rand(rng) % 2;
            int h0 = (int)(t_rand(rng) % FEED_HOSTS);
            int h1 = (h0 + 1 + (int)(t_rand(rng) % 7)) % FEED_HOSTS;
            for (size_t r = 0; r < nr; r++) { /* distinct hosts */
                snprintf(host[r], sizeof host[r], "h%d", r ? h1 : h0);
                rep[r] = (locus_hs_replica){host[r], (locus_tier)(1 + t_rand(rng) % 3)};
            }
            locus_hs_block bl = {ds, blk, (64ULL << 20) + 4096 * (t_rand(rng) % 64), rep, nr};
            if (locus_hs_batch_put(b, &bl))
                fail_msg("put %s/%llu: %s", ds, (unsigned long long)blk, locus_hs_errstr(hs));
        }
    }
    assert_int_equal(locus_hs_batch_commit(b, now_ms), 0);
}

typedef struct loc_copy {
    uint32_t n;
    la_locent e[FEED_HOSTS];
    uint64_t demand_bytes;
    double local_tasks;
} loc_copy;

/* The store both feed tests write: in g_dir, every dataset written once. */
static locus_hs *feed_store(uint64_t *rng)
{
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/feed", g_dir);
    locus_hs_options o = {0};
    o.create = 1;
    o.no_sync = 1;
    locus_hs *hs = NULL;
    if (locus_hs_open(path, &o, &hs, err, sizeof err) != 0)
        fail_msg("open %s: %s", path, err);
    feed_commit(hs, rng, FEED_DS, 1000);
    return hs;
}

/* An allocator reading hs (lent by the host), with agents h0.. on the
 * storage hosts' names. */
static locus_allocator *feed_allocator(locus_hs *hs)
{
    char err[256], name[16];
    locus_host_services host = {sizeof host, NULL, NULL, hs};
    locus_param p[] = {{"hints.staleness", "1e6"}};
    locus_allocator *a = NULL;
    if (la_create(NULL, p, 1, &host, &a, err, sizeof err) != 0)
        fail_msg("create: %s", err);
    for (int g = 0; g < FEED_HOSTS; g++) {
        snprintf(name, sizeof name, "h%d", g);
        t_agent(a, name, 4, 4096);
    }
    return a;
}

/* A commit's change feed re-reads the changed datasets of frameworks
 * without a task size, looked up together from the real store: after each
 * commit, every framework's per-agent bytes and tasks equal a read of all
 * its items from the same snapshot, to the bit. */
static void test_change_feed_equals_full_read(void **state)
{
    (void)state;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    locus_hs *hs = feed_store(&rng);
    locus_allocator *a = feed_allocator(hs);
    char name[16];
    static char dsn[FEED_FW][FEED_ITEMS][16];
    for (int f = 0; f < FEED_FW; f++) {
        snprintf(name, sizeof name, "f%d", f);
        t_fw(a, name, "*");
        locus_demand_item it[FEED_ITEMS];
        for (int i = 0; i < FEED_ITEMS; i++) {
            snprintf(dsn[f][i], sizeof dsn[f][i], "d%d", (int)(t_rand(&rng) % FEED_DS));
            it[i] = (locus_demand_item){dsn[f][i], -1, 0};
        }
        assert_int_equal(la_set_demand(a, name, it, FEED_ITEMS), 0);
    }
    assert_true(la_hints_refresh(a, 1));
    static loc_copy inc[FEED_FW], full[FEED_FW];
    for (int step = 0; step < 40; step++) {
        feed_commit(hs, &rng, 1 + (int)(t_rand(&rng) % 6), 2000 + step * 1000);
        uint64_t rebuilt = a->index_full_rebuilds;
        assert_true(la_hints_refresh(a, 2 + step));
        for (int pass = 0; pass < 2; pass++) {
            loc_copy *c = pass ? full : inc;
            for (uint32_t fs = 0; fs < FEED_FW; fs++) {
                const la_fw *f = &a->fws[fs];
                assert_true(f->n_loc <= FEED_HOSTS);
                c[fs].n = f->n_loc;
                memcpy(c[fs].e, f->loc, sizeof *f->loc * f->n_loc);
                c[fs].demand_bytes = f->demand_bytes;
                c[fs].local_tasks = f->local_tasks;
            }
            if (pass)
                break;
            assert_int_equal(a->index_full_rebuilds, rebuilt); /* the feed, not a full read */
            for (uint32_t fs = 0; fs < FEED_FW; fs++)
                a->fws[fs].hint_dirty = 1;
            assert_true(la_hints_refresh(a, 2 + step));
        }
        for (uint32_t fs = 0; fs < FEED_FW; fs++) {
            if (inc[fs].n != full[fs].n || inc[fs].demand_bytes != full[fs].demand_bytes ||
                inc[fs].local_tasks != full[fs].local_tasks)
                fail_msg("step %d framework %u: %u/%u agents, %llu/%llu bytes", step, fs,
                         inc[fs].n, full[fs].n, (unsigned long long)inc[fs].demand_bytes,
                         (unsigned long long)full[fs].demand_bytes);
            for (uint32_t i = 0; i < inc[fs].n; i++) {
                const la_locent *x = &inc[fs].e[i], *y = &full[fs].e[i];
                if (x->agent != y->agent || memcmp(x->bytes, y->bytes, sizeof x->bytes) ||
                    x->tasks != y->tasks)
                    fail_msg("step %d framework %u entry %u differs", step, fs, i);
            }
        }
    }
    la_destroy(a);
    locus_hs_close(hs);
}

/* Demand of framework `k`: FEED_ITEMS random datasets, or (odd k) blocks 0
 * and 1 of half as many, as block items. Names live in g_names[k]. */
#define DEMAND_FW 12
static char g_names[DEMAND_FW][FEED_ITEMS][16];
/* Framework k (odd k: with a task size, so its block demand is kept per
 * block and shrinks in place as tasks launch) with demand it[0, n). */
static void add_fw(locus_allocator *a, const char *id, int k, const locus_demand_item *it,
                   size_t n)
{
    t_fw(a, id, "*");
    if (k % 2) {
        locus_scalar per[2] = {{"cpus", 1}, {"mem", 128}};
        locus_resources pr = {per, 2};
        assert_int_equal(la_set_task_resources(a, id, &pr), 0);
    }
    assert_int_equal(la_set_demand(a, id, it, n), 0);
}

static size_t demand_of(int k, uint64_t *rng, locus_demand_item *it)
{
    size_t n = 0;
    for (int i = 0; i < FEED_ITEMS; i++) {
        snprintf(g_names[k][i], sizeof g_names[k][i], "d%d", (int)(t_rand(rng) % FEED_DS));
        if (k % 2 == 0) {
            it[n++] = (locus_demand_item){g_names[k][i], -1, 0};
        } else if (i < FEED_ITEMS / 2) {
            it[n++] = (locus_demand_item){g_names[k][i], 0, 0};
            it[n++] = (locus_demand_item){g_names[k][i], 1, 0};
        }
    }
    return n;
}

static int cmp_locent(const void *p, const void *q)
{
    uint32_t x = ((const la_locent *)p)->agent, y = ((const la_locent *)q)->agent;
    return (x > y) - (x < y);
}

/* The change feed keeps reaching the right frameworks while demand
 * changes between commits: frameworks given new datasets, frameworks
 * removed and their slots taken by new ones, block demand shrinking as tasks
 * launch (kept without a full read). Two allocators see the same store and
 * the same calls; one applies each commit's feed, the other reads
 * everything again: after every step both hold the same locality, to the
 * bit. */
static void test_change_feed_follows_demand_changes(void **state)
{
    (void)state;
    uint64_t rng = 0x2545f4914f6cdd1dULL;
    locus_hs *hs = feed_store(&rng);
    locus_allocator *inc = feed_allocator(hs), *full = feed_allocator(hs);
    locus_allocator *both[2] = {inc, full};
    char ids[DEMAND_FW][16];
    locus_demand_item it[FEED_ITEMS];
    size_t n_items[DEMAND_FW];
    for (int k = 0; k < DEMAND_FW; k++) {
        snprintf(ids[k], sizeof ids[k], "f%d", k);
        n_items[k] = demand_of(k, &rng, it);
        for (int x = 0; x < 2; x++)
            add_fw(both[x], ids[k], k, it, n_items[k]);
    }
    assert_true(la_hints_refresh(inc, 1) && la_hints_refresh(full, 1));
    int shrinks = 0, renames = 0, replaced = 0, reused = 0;
    for (int step = 0; step < 80; step++) {
        feed_commit(hs, &rng, 1 + (int)(t_rand(&rng) % 6), 2000 + step * 1000);
        int k = (int)(t_rand(&rng) % DEMAND_FW);
        switch (t_rand(&rng) % 4) {
        case 0: /* new datasets */
            n_items[k] = demand_of(k, &rng, it);
            for (int x = 0; x < 2; x++)
                assert_int_equal(la_set_demand(both[x], ids[k], it, n_items[k]), 0);
            renames++;
            break;
        case 1: /* gone; a new framework takes its slot */
            for (int x = 0; x < 2; x++)
                assert_int_equal(la_remove_framework(both[x], ids[k]), 0);
            snprintf(ids[k], sizeof ids[k], "g%d", step);
            n_items[k] = demand_of(k, &rng, it);
            for (int x = 0; x < 2; x++)
                add_fw(both[x], ids[k], k, it, n_items[k]);
            reused += la_strmap_get(&inc->fw_map, ids[k]) < DEMAND_FW;
            replaced++;
            break;
        case 2: /* block demand launches its first item: a subset */
            if (k % 2 == 1 && n_items[k] > 1) {
                const la_fw *f = &inc->fws[la_strmap_get(&inc->fw_map, ids[k])];
                static char kept[FEED_ITEMS][16]; /* f's strings go with its old demand */
                for (size_t i = 1; i < f->n_demand; i++) {
                    snprintf(kept[i - 1], sizeof kept[i - 1], "%s", f->demand[i].dataset);
                    it[i - 1] = (locus_demand_item){kept[i - 1], f->demand[i].block, 0};
                }
                n_items[k]--;
                for (int x = 0; x < 2; x++)
                    assert_int_equal(la_set_demand(both[x], ids[k], it, n_items[k]), 0);
                /* kept without a full read: only the launched block's part went */
                assert_false(f->hint_dirty);
                shrinks++;
            }
            break;
        default:
            break;
        }
        assert_true(la_hints_refresh(inc, 2 + step));
        for (uint32_t fs = 0; fs < full->n_fw_slots; fs++)
            full->fws[fs].hint_dirty = 1;
        assert_true(la_hints_refresh(full, 2 + step));
        assert_int_equal(inc->n_fw_slots, full->n_fw_slots);
        for (uint32_t fs = 0; fs < inc->n_fw_slots; fs++) {
            const la_fw *x = &inc->fws[fs], *y = &full->fws[fs];
            assert_int_equal(x->live, y->live);
            if (!x->live)
                continue;
            if (x->n_loc != y->n_loc || x->demand_bytes != y->demand_bytes ||
                x->local_tasks != y->local_tasks)
                fail_msg("step %d framework %u: %u/%u agents, %llu/%llu bytes", step, fs, x->n_loc,
                         y->n_loc, (unsigned long long)x->demand_bytes,
                         (unsigned long long)y->demand_bytes);
            /* the same per-agent parts; their order in the list may differ (a
             * framework with a task size lists them in its units' order) */
            la_locent ex[FEED_HOSTS], ey[FEED_HOSTS];
            assert_true(x->n_loc <= FEED_HOSTS);
            memcpy(ex, x->loc, sizeof *ex * x->n_loc);
            memcpy(ey, y->loc, sizeof *ey * y->n_loc);
            qsort(ex, x->n_loc, sizeof *ex, cmp_locent);
            qsort(ey, y->n_loc, sizeof *ey, cmp_locent);
            for (uint32_t i = 0; i < x->n_loc; i++)
                if (ex[i].agent != ey[i].agent || memcmp(ex[i].bytes, ey[i].bytes, sizeof ex[i].bytes) ||
                    ex[i].tasks != ey[i].tasks)
                    fail_msg("step %d framework %u agent %u differs", step, fs, ex[i].agent);
        }
    }
    assert_true(shrinks > 5 && renames > 5 && replaced > 5 && reused > 5);
    la_destroy(inc);
    la_destroy(full);
    locus_hs_close(hs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_then_created_then_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_opened_at_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_lent_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_on_many_hosts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_binding_and_agents_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_value_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_feed_equals_full_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_feed_follows_demand_changes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
