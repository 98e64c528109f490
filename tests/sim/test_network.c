/* The simulator's flow-level network model on its own: max-min fair rates
 * on hand-built cases with known answers, finish times that move when a
 * flow ends, and randomized runs that check after every update that no link
 * carries more than its capacity, that every flow is held back by its own
 * cap or by a saturated link on which it has the largest rate (the max-min
 * bottleneck condition), and that every byte added is moved exactly once.
 * Also: the profiles' constants reach the model through the config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>

#include "cluster.h"
#include "engine.h"
#include "locus/error.h"
#include "network.h"
#include "simconf.h"

#define MAXF 4096

/* What the model told the host. */
typedef struct host {
    double finish[MAXF];
    uint32_t version[MAXF];
    double moved[MAXF];
    double moved_total;
} host;

static int on_schedule(void *ctx, double t, uint32_t flow, uint32_t version)
{
    host *h = ctx;
    assert_true(flow < MAXF);
    h->finish[flow] = t;
    h->version[flow] = version;
    return 0;
}

static int on_progress(void *ctx, const sim_net_flow *f, double t0, double t1, double bytes)
{
    host *h = ctx;
    assert_true(t1 >= t0);
    assert_true(bytes >= 0);
    /* never faster than the rate it had */
    assert_true(bytes <= f->rate * (t1 - t0) * (1 + 1e-9) + 1e-6 || f->remaining <= bytes + 1e-6);
    h->moved[f->owner_a] += bytes;
    h->moved_total += bytes;
    return 0;
}

typedef struct world {
    sim_config cfg;
    sim_cluster cl;
    sim_network net;
    host h;
} world;

static void setup_world(world *w, const char *const *kv, size_t n)
{
    locus_cfg_override ov[16];
    static char keys[16][64];
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        snprintf(keys[i], sizeof keys[i], "%.*s", (int)(eq - kv[i]), kv[i]);
        ov[i] = (locus_cfg_override){ keys[i], eq + 1 };
    }
    char err[512] = "";
    memset(w, 0, sizeof *w);
    if (sim_config_load(&w->cfg, NULL, ov, n, err, sizeof err))
        fail_msg("config: %s", err);
    assert_int_equal(sim_cluster_init(&w->cl, &w->cfg), 0);
    assert_int_equal(sim_network_init(&w->net, &w->cl, &w->cfg), 0);
    w->net.schedule = on_schedule;
    w->net.on_progress = on_progress;
    w->net.ctx = &w->h;
}

static void teardown_world(world *w)
{
    sim_network_free(&w->net);
    sim_cluster_free(&w->cl);
    locus_cfg_free(sim_config_keys, sim_config_n_keys, &w->cfg);
}

static uint32_t add(world *w, int kind, uint32_t src, uint32_t dst, double bytes, double now, uint32_t tag)
{
    sim_flow f = { .src = src, .dst = dst, .kind = (uint8_t)kind };
    uint32_t id;
    assert_int_equal(sim_network_add(&w->net, &f, bytes, now, tag, 0, &id), 0);
    return id;
}

/* Load / capacity of every link and the bottleneck condition of every flow. */
static void check_max_min(const sim_network *n)
{
    assert_true(sim_network_max_utilisation(n) <= 1.0 + 1e-9);
    for (uint32_t i = 0; i < n->n_flows; i++) {
        const sim_net_flow *f = &n->flows[i];
        if (!f->active)
            continue;
        assert_true(f->rate > 0);
        if (f->rate >= f->cap * (1 - 1e-9))
            continue;
        int bottlenecked = 0;
        for (uint32_t k = 0; k < f->n_links && !bottlenecked; k++) {
            const sim_net_link *l = &n->links[f->links[k]];
            double sum = 0, top = 0;
            for (uint32_t m = 0; m < l->n; m++) {
                double r = n->flows[l->flows[m]].rate;
                sum += r;
                top = r > top ? r : top;
            }
            bottlenecked = sum >= l->cap * (1 - 1e-9) && f->rate >= top * (1 - 1e-9);
        }
        if (!bottlenecked)
            fail_msg("flow %u at %.6g B/s (cap %.6g) has no saturated link it leads", i, f->rate, f->cap);
    }
}

/* ---- known answers --------------------------------------------------------- */

static void test_hand_built_rates(void **state)
{
    (void)state;
    world *w = calloc(1, sizeof *w);
    /* One rack: NICs only. 1 Gb/s NICs = 125e6 B/s. */
    static const char *const kv[] = { "cluster.agents=6", "cluster.racks=1", "network.nic_gbps=1",
                                      "network.hdd_stream_mbps=100" };
    setup_world(w, kv, 4);
    const double nic = 125e6;
    /* X: 0->1, Y: 0->2 share agent 0's NIC out; X, Z: 3->1, V: 4->1 share
     * agent 1's NIC in. In: three flows, 125/3 each; out: Y gets the rest. */
    uint32_t x = add(w, SIM_SRC_HDD, 0, 1, 1e9, 0, 0);
    uint32_t y = add(w, SIM_SRC_HDD, 0, 2, 1e9, 0, 1);
    uint32_t z = add(w, SIM_SRC_HDD, 3, 1, 1e9, 0, 2);
    uint32_t v = add(w, SIM_SRC_MEM, 4, 1, 1e9, 0, 3);
    assert_int_equal(sim_network_update(&w->net, 0), 0);
    assert_float_equal(w->net.flows[x].rate, nic / 3, 1);
    assert_float_equal(w->net.flows[z].rate, nic / 3, 1);
    assert_float_equal(w->net.flows[v].rate, nic / 3, 1);
    assert_float_equal(w->net.flows[y].rate, nic * 2 / 3, 1);
    check_max_min(&w->net);
    /* A local read touches no NIC: only its disk stream caps it. */
    uint32_t l = add(w, SIM_SRC_HDD, 5, 5, 1e9, 0, 4);
    assert_int_equal(sim_network_update(&w->net, 0), 0);
    assert_float_equal(w->net.flows[l].rate, 100 * 1048576.0, 1);
    assert_float_equal(w->net.flows[y].rate, nic * 2 / 3, 1);
    /* Z and V end: X is alone on agent 1's NIC in and splits agent 0's NIC
     * out with Y. */
    assert_int_equal(sim_network_remove(&w->net, z, 0), 0);
    assert_int_equal(sim_network_remove(&w->net, v, 0), 0);
    assert_int_equal(sim_network_update(&w->net, 0), 0);
    assert_float_equal(w->net.flows[x].rate, nic / 2, 1);
    assert_float_equal(w->net.flows[y].rate, nic / 2, 1);
    check_max_min(&w->net);
    teardown_world(w);
    free(w);
}

/* Two flows on one NIC: the shorter one ends, and the other speeds up to
 * its disk stream's rate; finish times follow. */
static void test_finish_moves_when_a_flow_ends(void **state)
{
    (void)state;
    world *w = calloc(1, sizeof *w);
    static const char *const kv[] = { "cluster.agents=3", "cluster.racks=1", "network.nic_gbps=1",
                                      "network.hdd_stream_mbps=100" };
    setup_world(w, kv, 4);
    const double nic = 125e6, hdd = 100 * 1048576.0;
    uint32_t a = add(w, SIM_SRC_HDD, 0, 1, 1e9, 0, 0);
    uint32_t b = add(w, SIM_SRC_HDD, 0, 2, 250e6, 0, 1);
    assert_int_equal(sim_network_update(&w->net, 0), 0);
    double tb = 250e6 / (nic / 2);
    assert_float_equal(w->h.finish[b], tb, 1e-9);
    assert_float_equal(w->h.finish[a], 1e9 / (nic / 2), 1e-9);
    uint32_t va = w->h.version[a];
    assert_int_equal(sim_network_remove(&w->net, b, tb), 0);
    assert_int_equal(sim_network_update(&w->net, tb), 0);
    assert_true(w->h.version[a] != va); /* the old finish event is stale */
    double left = 1e9 - tb * nic / 2;
    assert_float_equal(w->h.finish[a], tb + left / hdd, 1e-6);
    assert_int_equal(sim_network_remove(&w->net, a, w->h.finish[a]), 0);
    assert_float_equal(w->h.moved[0], 1e9, 1e-3);
    assert_float_equal(w->h.moved[1], 250e6, 1e-3);
    teardown_world(w);
    free(w);
}

/* A rack uplink oversubscribed 10:1 is the bottleneck of cross-rack reads
 * and only of them. */
static void test_rack_uplink(void **state)
{
    (void)state;
    world *w = calloc(1, sizeof *w);
    static const char *const kv[] = { "cluster.agents=40", "cluster.racks=2", "network.nic_gbps=1",
                                      "network.oversubscription=10" };
    setup_world(w, kv, 4);
    /* 20 agents per rack: uplink 20 x 125e6 / 10 = 250e6 B/s. Agents 2i are
     * in rack 0, 2i+1 in rack 1 (round robin). Five cross-rack flows from
     * distinct sources to distinct destinations share rack 0's uplink. */
    uint32_t ids[5];
    for (uint32_t i = 0; i < 5; i++)
        ids[i] = add(w, SIM_SRC_HDD, 2 * i, 2 * i + 11, 1e9, 0, i);
    uint32_t in_rack = add(w, SIM_SRC_HDD, 20, 22, 1e9, 0, 9);
    assert_int_equal(sim_network_update(&w->net, 0), 0);
    for (int i = 0; i < 5; i++)
        assert_float_equal(w->net.flows[ids[i]].rate, 250e6 / 5, 1);
    assert_float_equal(w->net.flows[in_rack].rate, 100 * 1048576.0, 1);
    check_max_min(&w->net);
    teardown_world(w);
    free(w);
}

/* ---- randomized ------------------------------------------------------------ */

static void random_run(const char *profile, uint64_t seed)
{
    world *w = calloc(1, sizeof *w);
    char prof[64];
    snprintf(prof, sizeof prof, "sim.profile=%s", profile);
    const char *kv[] = { "cluster.agents=24", "cluster.racks=3", prof };
    setup_world(w, kv, 3);
    sim_rng rng;
    sim_rng_seed(&rng, seed, 7);
    double now = 0, added = 0;
    uint32_t live[MAXF], n_live = 0, tag = 0;
    for (int step = 0; step < 3000; step++) {
        int n_add = (int)sim_rng_below(&rng, 4);
        for (int k = 0; k < n_add && n_live < 200 && tag < MAXF; k++) {
            int kind = 1 + (int)sim_rng_below(&rng, 3);
            uint32_t src = (uint32_t)sim_rng_below(&rng, 24), dst = (uint32_t)sim_rng_below(&rng, 24);
            double bytes = 1e6 + (double)sim_rng_below(&rng, 500000000);
            live[n_live++] = add(w, kind, src, dst, bytes, now, tag++);
            added += bytes;
        }
        assert_int_equal(sim_network_update(&w->net, now), 0);
        check_max_min(&w->net);
        if (n_live == 0)
            continue;
        /* Advance to the earliest finish and end that flow. */
        uint32_t best = 0;
        for (uint32_t i = 1; i < n_live; i++)
            if (w->h.finish[live[i]] < w->h.finish[live[best]])
                best = i;
        double t = w->h.finish[live[best]];
        assert_true(t >= now - 1e-9);
        now = t > now ? t : now;
        const sim_net_flow *f = &w->net.flows[live[best]];
        /* at its finish its bytes are (all but rounding) moved */
        assert_true(f->remaining - f->rate * (now - f->t_last) < 1e-3 * (f->remaining + 1));
        assert_int_equal(sim_network_remove(&w->net, live[best], now), 0);
        live[best] = live[--n_live];
    }
    while (n_live) {
        assert_int_equal(sim_network_update(&w->net, now), 0);
        uint32_t best = 0;
        for (uint32_t i = 1; i < n_live; i++)
            if (w->h.finish[live[i]] < w->h.finish[live[best]])
                best = i;
        now = w->h.finish[live[best]] > now ? w->h.finish[live[best]] : now;
        assert_int_equal(sim_network_remove(&w->net, live[best], now), 0);
        live[best] = live[--n_live];
    }
    /* Conservation: every byte added was moved once, flow by flow. */
    assert_float_equal(w->h.moved_total, added, added * 1e-12);
    assert_int_equal(w->net.n_active, 0);
    teardown_world(w);
    free(w);
}

static void test_random_never_over_capacity(void **state)
{
    (void)state;
    random_run("hadoop-2009", 1);
    random_run("datacenter-10g", 2);
    random_run("cloud-vm", 3);
}

/* ---- profiles ---------------------------------------------------------------- */

static void test_profiles_from_config(void **state)
{
    (void)state;
    sim_config c;
    char err[256];
    memset(&c, 0, sizeof c);
    assert_int_equal(sim_config_load(&c, NULL, NULL, 0, err, sizeof err), 0);
    assert_int_equal(c.profile, SIM_PROFILE_HADOOP_2009);
    assert_float_equal(c.nic_gbps, 1.0, 0);
    locus_cfg_free(sim_config_keys, sim_config_n_keys, &c);
    locus_cfg_override ov[2] = { { "sim.profile", "cloud-vm" }, { "network.nic_gbps", "8" } };
    assert_int_equal(sim_config_load(&c, NULL, ov, 1, err, sizeof err), 0);
    const sim_profile *p = sim_config_profile(SIM_PROFILE_CLOUD_VM);
    assert_float_equal(c.nic_gbps, p->nic_gbps, 0);
    assert_float_equal(c.hdd_agent_mbps, p->hdd_agent_mbps, 0);
    assert_float_equal(c.mem_agent_mbps, p->mem_agent_mbps, 0);
    assert_true(c.hdd_agent_mbps >= 100 && c.hdd_agent_mbps <= 250);
    locus_cfg_free(sim_config_keys, sim_config_n_keys, &c);
    /* a key given explicitly wins over the profile */
    assert_int_equal(sim_config_load(&c, NULL, ov, 2, err, sizeof err), 0);
    assert_float_equal(c.nic_gbps, 8.0, 0);
    assert_float_equal(c.hdd_stream_mbps, p->hdd_stream_mbps, 0);
    locus_cfg_free(sim_config_keys, sim_config_n_keys, &c);
    locus_cfg_override bad = { "sim.profile", "mainframe" };
    assert_int_not_equal(sim_config_load(&c, NULL, &bad, 1, err, sizeof err), 0);
    assert_non_null(strstr(err, "sim.profile"));
    /* and from a file */
    char path[] = "/tmp/locus-simconf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fputs("[sim]\nprofile = datacenter-10g\n", fp);
    fclose(fp);
    memset(&c, 0, sizeof c);
    assert_int_equal(sim_config_load(&c, path, NULL, 0, err, sizeof err), 0);
    assert_float_equal(c.nic_gbps, sim_config_profile(SIM_PROFILE_DC_10G)->nic_gbps, 0);
    unlink(path);
    locus_cfg_free(sim_config_keys, sim_config_n_keys, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_built_rates),
        cmocka_unit_test(test_finish_moves_when_a_flow_ends),
        cmocka_unit_test(test_rack_uplink),
        cmocka_unit_test(test_random_never_over_capacity),
        cmocka_unit_test(test_profiles_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
