/* The whole Locus chain with real parts: locus-probe (a child process) polls
 * a static placement file into an LMDB hint store; the allocator plugin .so,
 * loaded through the host loader and lent the test's store handle as a host
 * does, offers each framework the agent that holds its dataset; when the
 * probe is gone and the hints age past the staleness bound, the plugin runs
 * its cycles as plain DRF and counts them. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "locus/allocator_loader.h"
#include "locus/hintstore.h"
#include "testutil.h"

typedef struct fixture {
    char dir[256], store[512], placement[512], log[512];
    pid_t probe;
    locus_hs *hs;
    locus_allocator_plugin plugin;
    locus_allocator *alloc;
} fixture;

static double wall_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || tu_mkdtemp(f->dir, sizeof f->dir, "e2e") != 0)
        return -1;
    snprintf(f->store, sizeof f->store, "%s/hints", f->dir);
    snprintf(f->placement, sizeof f->placement, "%s/placement.jsonl", f->dir);
    snprintf(f->log, sizeof f->log, "%s/probe.log", f->dir);
    f->probe = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->probe > 0) {
        kill(f->probe, SIGKILL);
        tu_wait(f->probe, 5);
    }
    if (f->alloc)
        f->plugin.api->destroy(f->alloc);
    locus_allocator_unload(&f->plugin);
    locus_hs_close(f->hs);
    tu_rm_r(f->dir);
    free(f);
    return 0;
}

/* ds1 lives in memory on node-b, ds2 on disk on node-c: two 128 MiB blocks each. */
static const char placement[] =
    "{\"dataset\":\"ds1\",\"index\":0,\"bytes\":134217728,\"replicas\":[{\"host\":\"node-b\",\"tier\":\"MEM\"}]}\n"
    "{\"dataset\":\"ds1\",\"index\":1,\"bytes\":134217728,\"replicas\":[{\"host\":\"node-b\",\"tier\":\"MEM\"}]}\n"
    "{\"dataset\":\"ds2\",\"index\":0,\"bytes\":134217728,\"replicas\":[{\"host\":\"node-c\",\"tier\":\"HDD\"}]}\n"
    "{\"dataset\":\"ds2\",\"index\":1,\"bytes\":134217728,\"replicas\":[{\"host\":\"node-c\",\"tier\":\"HDD\"}]}\n";

static void start_probe(fixture *f)
{
    char store[600], path[600];
    snprintf(store, sizeof store, "probe.store_path=%s", f->store);
    snprintf(path, sizeof path, "static.path=%s", f->placement);
    char *argv[] = {LOCUS_PROBE_BIN, "--foreground", "--set", store, "--set", "probe.http_port=0",
                    "--set", "static.enabled=true", "--set", path,
                    "--set", "static.poll_interval=0.2", NULL};
    f->probe = tu_spawn(argv, f->log);
    assert_true(f->probe > 0);
}

/* Waits until the probe has committed both datasets, then keeps the handle
 * open: it is the one the plugin borrows (one LMDB environment per process). */
static void wait_for_hints(fixture *f)
{
    double deadline = tu_now() + 20;
    while (tu_now() < deadline) {
        if (!f->hs) {
            locus_hs_options o = {.read_only = 1};
            if (locus_hs_open(f->store, &o, &f->hs, NULL, 0) != 0)
                f->hs = NULL;
        }
        if (f->hs) {
            locus_hs_snapshot *s = NULL;
            const locus_hs_dataset *d1 = NULL, *d2 = NULL;
            int ok = locus_hs_snapshot_open(f->hs, &s) == 0 &&
                     locus_hs_snapshot_dataset(s, "ds1", &d1) == 0 &&
                     locus_hs_snapshot_dataset(s, "ds2", &d2) == 0 && d1->block_count == 2 &&
                     d2->block_count == 2;
            locus_hs_snapshot_close(s);
            if (ok)
                return;
        }
        tu_sleep(0.05);
    }
    char *log = tu_slurp(f->log, NULL);
    fail_msg("the probe did not publish ds1 and ds2 within 20 s; its log:\n%s", log ? log : "");
}

static void create_allocator(fixture *f)
{
    char err[512];
    assert_int_equal(locus_allocator_load(LOCUS_PLUGIN, &f->plugin, err, sizeof err), 0);
    locus_param params[] = {{"policy.name", "locality"}, {"hints.staleness", "2"},
                            {"policy.fairness_slack", "1"}};
    locus_host_services host = {.struct_size = sizeof host, .hint_store = f->hs};
    int rc = f->plugin.api->create(NULL, params, 3, &host, &f->alloc, err, sizeof err);
    if (rc)
        fail_msg("create: %s", err);
    const locus_allocator_api *api = f->plugin.api;
    locus_scalar res[] = {{"cpus", 8}, {"mem", 16384}};
    const char *nodes[] = {"node-a", "node-b", "node-c"};
    for (int i = 0; i < 3; i++) {
        locus_agent_info agent = {nodes[i], nodes[i], "rack1", {res, 2}};
        assert_int_equal(api->add_agent(f->alloc, &agent, NULL, 0, wall_now()), 0);
    }
    const char *role = "*";
    const char *fws[] = {"f1", "f2"};
    const char *datasets[] = {"ds1", "ds2"};
    for (int i = 0; i < 2; i++) {
        locus_framework_info fw = {fws[i], &role, 1, 1};
        assert_int_equal(api->add_framework(f->alloc, &fw, NULL, 0, wall_now()), 0);
        locus_demand_item demand = {datasets[i], -1, 0};
        assert_int_equal(api->set_demand(f->alloc, fws[i], &demand, 1), 0);
    }
}

static const locus_offer *find_offer(const locus_offer_list *l, const char *fw, const char *agent)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->offers[i].framework_id, fw) == 0 && strcmp(l->offers[i].agent_id, agent) == 0)
            return &l->offers[i];
    return NULL;
}

static void test_hints_become_local_offers(void **state)
{
    fixture *f = *state;
    assert_int_equal(tu_write_file(f->placement, placement), 0);
    start_probe(f);
    wait_for_hints(f);
    create_allocator(f);
    const locus_allocator_api *api = f->plugin.api;

    locus_offer_list offers;
    assert_int_equal(api->allocate(f->alloc, wall_now(), &offers), 0);
    const locus_offer *o1 = find_offer(&offers, "f1", "node-b");
    const locus_offer *o2 = find_offer(&offers, "f2", "node-c");
    if (!o1 || !o2)
        fail_msg("expected f1 on node-b and f2 on node-c among %zu offers", offers.n);
    assert_int_equal(o1->locality.level, 0);
    assert_int_equal(o1->locality.local_bytes[LOCUS_TIER_MEM - 1], 2 * 134217728ULL);
    assert_int_equal(o2->locality.level, 0);
    assert_int_equal(o2->locality.local_bytes[LOCUS_TIER_HDD - 1], 2 * 134217728ULL);
    assert_true(o1->locality.score > 0 && o2->locality.score > 0);
    /* Delay scheduling: neither framework is sent to an agent without its data yet. */
    assert_null(find_offer(&offers, "f1", "node-a"));
    assert_null(find_offer(&offers, "f2", "node-a"));
    assert_null(find_offer(&offers, "f1", "node-c"));
    assert_null(find_offer(&offers, "f2", "node-b"));

    locus_allocator_status st = {.struct_size = sizeof st};
    assert_int_equal(api->status(f->alloc, &st), 0);
    assert_int_equal(st.fallback_cycles, 0);
    assert_true(st.offers_local >= 2);

    /* The probe dies: its hints age past hints.staleness (2 s) and the plugin
     * falls back to plain DRF instead of trusting them. */
    kill(f->probe, SIGTERM);
    assert_int_equal(tu_wait(f->probe, 10), 0);
    f->probe = -1;
    assert_int_equal(api->recover(f->alloc, "f1", "node-b", &o1->resources, 0, wall_now()), 0);
    assert_int_equal(api->allocate(f->alloc, wall_now() + 30, &offers), 0);
    assert_int_equal(api->status(f->alloc, &st), 0);
    assert_int_equal(st.fallback_cycles, 1);
    for (size_t i = 0; i < offers.n; i++)
        assert_int_not_equal(offers.offers[i].locality.level, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hints_become_local_offers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
