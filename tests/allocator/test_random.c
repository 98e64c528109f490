/* Randomized operation sequences (thousands of add/remove/activate/suppress/
 * allocate/recover calls, seeded) against a small independent model, with
 * invariants checked after every step: no agent offered twice in a cycle,
 * what is offered is exactly the agent's free resources, offered + allocated
 * never exceeds an agent's total, and every free agent with an eligible,
 * unfiltered framework is offered (so recovered resources come back).
 * Runs for drf and for locality with injected hints, and for locality with
 * task resources (offer slices), where an agent may be offered to several
 * frameworks in a cycle: then no (agent, framework) pair is offered twice,
 * a slice is whole tasks of the framework's task resources and smaller than
 * what is free, and any other offer is all that is still free on the agent
 * (nothing follows it). */
#include "la_test.h"

#define NA 24
#define NF 8

typedef struct model {
    int agent_live[NA], agent_active[NA];
    double tot[NA][2];
    int fw_live[NF], fw_active[NF], fw_supp[NF];
    double out[NF][NA][2];   /* outstanding (offered or in use) */
    double filt[NF][NA];     /* refuse filter until, or 0 */
} model;

static uint64_t rs;
static uint32_t rnd(uint32_t n)
{
    return (uint32_t)(t_rand(&rs) % n);
}

static void aname(char *b, int i) { snprintf(b, 8, "ag%d", i); }
static void fname(char *b, int i) { snprintf(b, 8, "fw%d", i); }

static double used(const model *m, int g, int k)
{
    double s = 0;
    for (int f = 0; f < NF; f++)
        s += m->out[f][g][k];
    return s;
}

/* Locality input: every framework demands "d<f>", cached on a few agents. */
static locus_hs_dataset g_ds[NF];
static locus_hs_host_bytes g_pl[NF][3];
static char g_dsname[NF][8], g_host[NA][8];
static int r_open(void *c, void **s) { (void)c; *s = NULL; return 0; }
static void r_close(void *c, void *s) { (void)c; (void)s; }
static int r_meta(void *c, void *s, uint64_t *g, int64_t *u)
{
    (void)c, (void)s;
    *g = 1;
    *u = 0;
    return 0;
}
static int r_ds(void *c, void *s, const char *n, const locus_hs_dataset **o)
{
    (void)c, (void)s;
    for (int i = 0; i < NF; i++)
        if (strcmp(g_dsname[i], n) == 0) {
            *o = &g_ds[i];
            return 0;
        }
    return LOCUS_ENOTFOUND;
}
static int r_blk(void *c, void *s, const char *d, uint64_t i, const locus_hs_block_view **o)
{
    (void)c, (void)s, (void)d, (void)i, (void)o;
    return LOCUS_ENOTFOUND;
}
static const char *r_host(void *c, void *s, const char *h) { (void)c, (void)s; return h; }
static uint64_t r_err(void *c, void *s) { (void)c, (void)s; return 0; }

static void run(const char *policy, uint64_t seed, int steps, int slices)
{
    rs = seed;
    char sp[48];
    snprintf(sp, sizeof sp, "policy.seed=%llu", (unsigned long long)seed);
    locus_allocator *a = t_new(NULL, policy, sp, "locality.wait_node=0", "locality.wait_rack=0",
                               "policy.fairness_slack=0.3", "hints.staleness=1e9", NULL);
    la_hint_provider p = {NULL, r_open, r_close, r_meta, r_ds, r_blk, r_host, r_err, NULL};
    for (int f = 0; f < NF; f++) {
        snprintf(g_dsname[f], 8, "d%d", f);
        g_ds[f] = (locus_hs_dataset){g_dsname[f], 3 << 20, 3, 1, 0, g_pl[f], 3};
        for (int j = 0; j < 3; j++) {
            aname(g_host[(f * 5 + j * 7) % NA], (f * 5 + j * 7) % NA);
            g_pl[f][j] = (locus_hs_host_bytes){g_host[(f * 5 + j * 7) % NA],
                                               (locus_tier)(1 + j), 1 << 20};
        }
    }
    la_set_hint_provider(a, &p);
    model m;
    memset(&m, 0, sizeof m);
    double now = 0;
    char an[8], fn[8];
    unsigned long offers = 0, recovers = 0, local = 0, sliced = 0;
    for (int step = 0; step < steps; step++) {
        int op = (int)rnd(100);
        int g = (int)rnd(NA), f = (int)rnd(NF);
        aname(an, g);
        fname(fn, f);
        if (op < 10) { /* add or remove an agent */
            if (!m.agent_live[g]) {
                m.tot[g][0] = 1 + rnd(8);
                m.tot[g][1] = 512.0 * (1 + rnd(8));
                t_agent_r(a, an, g % 3 ? "r1" : "r2", m.tot[g][0], m.tot[g][1]);
                m.agent_live[g] = m.agent_active[g] = 1;
            } else {
                assert_int_equal(la_remove_agent(a, an), 0);
                m.agent_live[g] = 0;
                for (int i = 0; i < NF; i++) {
                    m.out[i][g][0] = m.out[i][g][1] = 0;
                    m.filt[i][g] = 0;
                }
            }
        } else if (op < 18) { /* add or remove a framework */
            if (!m.fw_live[f]) {
                t_fw(a, fn, f % 2 ? "ra" : "rb");
                locus_demand_item it = {g_dsname[f], -1, 0};
                assert_int_equal(la_set_demand(a, fn, &it, 1), 0);
                if (slices && f % 2 == 0)
                    t_task_res(a, fn, 1, 512);
                m.fw_live[f] = m.fw_active[f] = 1;
                m.fw_supp[f] = 0;
            } else {
                assert_int_equal(la_remove_framework(a, fn), 0);
                m.fw_live[f] = 0;
                for (int i = 0; i < NA; i++) {
                    m.out[f][i][0] = m.out[f][i][1] = 0;
                    m.filt[f][i] = 0;
                }
            }
        } else if (op < 22 && m.agent_live[g]) {
            m.agent_active[g] = !m.agent_active[g];
            assert_int_equal(m.agent_active[g] ? la_activate_agent(a, an)
                                               : la_deactivate_agent(a, an), 0);
        } else if (op < 26 && m.fw_live[f]) {
            m.fw_active[f] = !m.fw_active[f];
            assert_int_equal(m.fw_active[f] ? la_activate_framework(a, fn)
                                            : la_deactivate_framework(a, fn), 0);
        } else if (op < 30 && m.fw_live[f]) {
            m.fw_supp[f] = !m.fw_supp[f];
            assert_int_equal(m.fw_supp[f] ? la_suppress(a, fn, NULL) : la_revive(a, fn, NULL), 0);
            if (!m.fw_supp[f])
                for (int i = 0; i < NA; i++)
                    m.filt[f][i] = 0;
        } else if (op < 55) { /* recover part or all of something outstanding */
            /* Pick an outstanding (framework, agent) pair from a random start. */
            int found = 0;
            for (int t = 0; t < NF * NA && !found; t++) {
                int ff = (f + t / NA) % NF, gg = (g + t) % NA;
                if (m.fw_live[ff] && m.agent_live[gg] && m.out[ff][gg][0] + m.out[ff][gg][1] > 0) {
                    f = ff;
                    g = gg;
                    found = 1;
                }
            }
            if (!found)
                continue;
            aname(an, g);
            fname(fn, f);
            int all = rnd(3) != 0;
            double c = all ? m.out[f][g][0] : m.out[f][g][0] / 2;
            double mm = all ? m.out[f][g][1] : 0;
            locus_scalar s[2] = {{"cpus", c}, {"mem", mm}};
            locus_resources r = {s, 2};
            double refuse = rnd(4) == 0 ? (double)rnd(5) : 0;
            assert_int_equal(la_recover(a, fn, an, &r, refuse, now), 0);
            recovers++;
            m.out[f][g][0] -= c;
            m.out[f][g][1] -= mm;
            if (refuse > 0 && now + refuse > m.filt[f][g])
                m.filt[f][g] = now + refuse;
        } else { /* an allocation cycle */
            now += 1;
            locus_offer_list l = t_alloc(a, now);
            int seen[NA] = {0}, closed[NA] = {0}, pair[NA][NF];
            memset(pair, 0, sizeof pair);
            for (size_t i = 0; i < l.n; i++) {
                const locus_offer *o = &l.offers[i];
                int gi = atoi(o->agent_id + 2), fi = atoi(o->framework_id + 2);
                assert_true(m.agent_live[gi] && m.agent_active[gi]);
                assert_true(m.fw_live[fi] && m.fw_active[fi] && !m.fw_supp[fi]);
                assert_false(m.filt[fi][gi] > now);
                offers++;
                local += o->locality.level == 0;
                seen[gi]++;
                if (!slices && seen[gi] > 1)
                    fail_msg("step %d: agent %s offered twice", step, o->agent_id);
                if (pair[gi][fi]++ || closed[gi])
                    fail_msg("step %d: agent %s offered to %s twice or after its remainder", step,
                             o->agent_id, o->framework_id);
                double v[2], free_[2];
                int slice = 0;
                for (int k = 0; k < 2; k++) {
                    v[k] = t_res(&o->resources, k ? "mem" : "cpus");
                    free_[k] = m.tot[gi][k] - used(&m, gi, k);
                    if (v[k] > free_[k] + 1e-6)
                        fail_msg("step %d: %s offered %g of %g free", step, o->agent_id, v[k],
                                 free_[k]);
                    slice |= v[k] < free_[k] - 1e-6;
                }
                if (slice) {
                    /* Only to a framework with task resources, node-local, whole tasks
                     * (1 cpu, 512 MB each) unless clipped by what is free. */
                    sliced++;
                    if (!slices || fi % 2 || o->locality.level != 0)
                        fail_msg("step %d: partial offer of %s to %s", step, o->agent_id,
                                 o->framework_id);
                    double n = v[0] < free_[0] - 1e-6 ? v[0] : v[1] / 512;
                    assert_true(n >= 1 - 1e-9 && fabs(n - round(n)) < 1e-9);
                    assert_true(fabs(v[0] - fmin(n, free_[0])) < 1e-6);
                    assert_true(fabs(v[1] - fmin(512 * n, free_[1])) < 1e-6);
                } else {
                    closed[gi] = 1;
                }
                for (int k = 0; k < 2; k++)
                    m.out[fi][gi][k] += v[k];
            }
            /* Every free agent with an eligible unfiltered framework was offered. */
            for (int gi = 0; gi < NA; gi++) {
                if (!m.agent_live[gi] || !m.agent_active[gi] || seen[gi])
                    continue;
                double fc = m.tot[gi][0] - used(&m, gi, 0), fm = m.tot[gi][1] - used(&m, gi, 1);
                if (!(fc >= 0.01 || fm >= 32))
                    continue;
                for (int fi = 0; fi < NF; fi++)
                    if (m.fw_live[fi] && m.fw_active[fi] && !m.fw_supp[fi] &&
                        !(m.filt[fi][gi] > now))
                        fail_msg("step %d: agent ag%d free (%g cpus) but not offered to fw%d",
                                 step, gi, fc, fi);
            }
        }
        /* offered + allocated never exceeds an agent's total */
        for (int gi = 0; gi < NA; gi++)
            for (int k = 0; k < 2; k++)
                assert_true(used(&m, gi, k) <= m.tot[gi][k] + 1e-6);
    }
    /* The sequence really exercised the core. */
    if (!(offers > 300 && recovers > 300))
        fail_msg("%s seed %llu: only %lu offers, %lu recovers", policy, (unsigned long long)seed, offers, recovers);
    if (strstr(policy, "locality"))
        assert_true(local > 20);
    if (slices && !(sliced > 20))
        fail_msg("seed %llu: only %lu slices", (unsigned long long)seed, sliced);
    la_destroy(a);
}

static void test_random_drf(void **state)
{
    (void)state;
    for (uint64_t s = 1; s <= 4; s++)
        run("policy.name=drf", s * 7919, 2500, 0);
}

static void test_random_locality(void **state)
{
    (void)state;
    for (uint64_t s = 1; s <= 4; s++)
        run("policy.name=locality", s * 104729, 2500, 0);
}

static void test_random_locality_slices(void **state)
{
    (void)state;
    for (uint64_t s = 1; s <= 4; s++)
        run("policy.name=locality", s * 15485863, 2500, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_drf),
        cmocka_unit_test(test_random_locality),
        cmocka_unit_test(test_random_locality_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
