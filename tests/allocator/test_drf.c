/* Mesos semantics of the policy core in drf mode: weighted DRF order checked
 * offer by offer against an independent reference model, refuse filters and
 * their expiry, suppress/revive, removal with outstanding offers, weights,
 * pause/resume, used resources at add time, and the error codes. */
#include "la_test.h"

/* ---- a reference hierarchical DRF model --------------------------------- */

#define RM_MAX 64
typedef struct rm {
    int n_fw, n_role, n_agent;
    char fw[RM_MAX][16], role[RM_MAX][16], agent[RM_MAX][16];
    int fw_role[RM_MAX];
    double w[RM_MAX];
    double fa[RM_MAX][2], ra[RM_MAX][2]; /* cpus, mem allocated */
    unsigned long fc[RM_MAX], rc[RM_MAX];
    double tot[RM_MAX][2], used[RM_MAX][2], ct[2];
} rm;

static double rm_dom(const rm *m, const double *x)
{
    double s = 0;
    for (int k = 0; k < 2; k++)
        if (m->ct[k] > 0 && x[k] / m->ct[k] > s)
            s = x[k] / m->ct[k];
    return s;
}

static int rm_find(char (*names)[16], int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* The framework hierarchical DRF must pick next among those not excluded
 * (refuse filters on the agent at hand; NULL: all eligible). */
static int rm_expect_excl(const rm *m, const int *excl)
{
    int best_r = -1;
    double brs = 0;
    for (int r = 0; r < m->n_role; r++) {
        int has = 0;
        for (int f = 0; f < m->n_fw; f++)
            has |= m->fw_role[f] == r && !(excl && excl[f]);
        if (!has)
            continue;
        double s = rm_dom(m, m->ra[r]) / m->w[r];
        if (best_r < 0 || s < brs || (s == brs && (m->rc[r] < m->rc[best_r] ||
                                                   (m->rc[r] == m->rc[best_r] &&
                                                    strcmp(m->role[r], m->role[best_r]) < 0)))) {
            best_r = r;
            brs = s;
        }
    }
    int best_f = -1;
    double bfs = 0;
    for (int f = 0; f < m->n_fw; f++) {
        if (m->fw_role[f] != best_r || (excl && excl[f]))
            continue;
        double s = rm_dom(m, m->fa[f]);
        if (best_f < 0 || s < bfs || (s == bfs && (m->fc[f] < m->fc[best_f] ||
                                                   (m->fc[f] == m->fc[best_f] &&
                                                    strcmp(m->fw[f], m->fw[best_f]) < 0)))) {
            best_f = f;
            bfs = s;
        }
    }
    return best_f;
}

static int rm_expect(const rm *m)
{
    return rm_expect_excl(m, NULL);
}

static void rm_give(rm *m, int f, int g, double cpus, double mem)
{
    m->fa[f][0] += cpus;
    m->fa[f][1] += mem;
    m->ra[m->fw_role[f]][0] += cpus;
    m->ra[m->fw_role[f]][1] += mem;
    m->used[g][0] += cpus;
    m->used[g][1] += mem;
}

/* Checks every offer of one cycle against the model, then applies it. */
static void rm_check_cycle(rm *m, const locus_offer_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const locus_offer *o = &l->offers[i];
        int want = rm_expect(m);
        int got = rm_find(m->fw, m->n_fw, o->framework_id);
        int g = rm_find(m->agent, m->n_agent, o->agent_id);
        assert_true(got >= 0 && g >= 0);
        if (want != got)
            fail_msg("offer %zu: DRF order wants %s, allocator chose %s", i, m->fw[want],
                     m->fw[got]);
        assert_string_equal(o->role, m->role[m->fw_role[got]]);
        /* The whole available set is offered. */
        assert_true(fabs(t_res(&o->resources, "cpus") - (m->tot[g][0] - m->used[g][0])) < 1e-9);
        assert_true(fabs(t_res(&o->resources, "mem") - (m->tot[g][1] - m->used[g][1])) < 1e-9);
        rm_give(m, got, g, t_res(&o->resources, "cpus"), t_res(&o->resources, "mem"));
        m->fc[got]++;
        m->rc[m->fw_role[got]]++;
        assert_int_equal(o->locality.level, -1);
        assert_non_null(o->reason);
        assert_true(strlen(o->reason) > 0);
    }
    /* Every agent with free resources got an offer. */
    for (int g = 0; g < m->n_agent; g++)
        if (m->tot[g][0] - m->used[g][0] > 0.01)
            fail_msg("agent %s left unoffered", m->agent[g]);
}

static void test_weighted_drf_exact(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", "policy.seed=7", NULL);
    rm m;
    memset(&m, 0, sizeof m);
    const char *roles[] = {"analytics", "batch", "web"};
    double weights[] = {1.0, 2.5, 0.5};
    m.n_role = 3;
    for (int r = 0; r < 3; r++) {
        snprintf(m.role[r], 16, "%s", roles[r]);
        m.w[r] = weights[r];
    }
    assert_int_equal(la_update_weights(a, roles, weights, 3), 0);
    m.n_fw = 7;
    for (int f = 0; f < m.n_fw; f++) {
        snprintf(m.fw[f], 16, "fw-%d", f);
        m.fw_role[f] = f % 3;
        t_fw(a, m.fw[f], roles[f % 3]);
    }
    m.n_agent = 40;
    for (int g = 0; g < m.n_agent; g++) {
        snprintf(m.agent[g], 16, "a%02d", g);
        /* Mixed shapes so cpus dominate for some and memory for others. */
        m.tot[g][0] = 2 + (g % 5) * 3;
        m.tot[g][1] = 1024.0 * (1 + (g * 7) % 9);
        m.ct[0] += m.tot[g][0];
        m.ct[1] += m.tot[g][1];
        t_agent(a, m.agent[g], m.tot[g][0], m.tot[g][1]);
    }
    double now = 0;
    for (int cycle = 0; cycle < 25; cycle++, now += 1) {
        locus_offer_list l = t_alloc(a, now);
        rm_check_cycle(&m, &l);
        /* Give back a pseudo-random half of what was offered, no filter. */
        for (size_t i = 0; i < l.n; i++) {
            if ((i * 31 + (size_t)cycle * 17) % 2)
                continue;
            const locus_offer *o = &l.offers[i];
            int f = rm_find(m.fw, m.n_fw, o->framework_id), g = rm_find(m.agent, m.n_agent, o->agent_id);
            double c = t_res(&o->resources, "cpus"), mm = t_res(&o->resources, "mem");
            t_decline(a, o, 0, now);
            rm_give(&m, f, g, -c, -mm);
        }
    }
    la_destroy(a);
}

/* Mesos's DeclineOffers pattern on a small scale: every offer declined with
 * a long filter until every agent is filtered for every framework. Each
 * choice must be the DRF-first unfiltered framework, also once few are left
 * (where the core scans the agent's filters instead of walking the order). */
static void test_decline_all_drf_order(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", NULL);
    rm m;
    memset(&m, 0, sizeof m);
    m.n_role = 2;
    snprintf(m.role[0], 16, "ra");
    snprintf(m.role[1], 16, "rb");
    m.w[0] = 1;
    m.w[1] = 2;
    const char *roles[] = {"ra", "rb"};
    assert_int_equal(la_update_weights(a, roles, m.w, 2), 0);
    m.n_fw = 48;
    for (int f = 0; f < m.n_fw; f++) {
        snprintf(m.fw[f], 16, "fw-%02d", (f * 17) % 48);
        m.fw_role[f] = f % 3 == 0;
        t_fw(a, m.fw[f], roles[m.fw_role[f]]);
    }
    m.n_agent = 5;
    for (int g = 0; g < m.n_agent; g++) {
        snprintf(m.agent[g], 16, "a%d", g);
        m.tot[g][0] = 4 + g;
        m.tot[g][1] = 2048;
        m.ct[0] += m.tot[g][0];
        m.ct[1] += m.tot[g][1];
        t_agent(a, m.agent[g], m.tot[g][0], m.tot[g][1]);
    }
    static int filt[64][64];
    memset(filt, 0, sizeof filt);
    int total = 0;
    for (int round = 0; round < 60; round++) {
        locus_offer_list l = t_alloc(a, round);
        for (size_t i = 0; i < l.n; i++) {
            const locus_offer *o = &l.offers[i];
            int g = rm_find(m.agent, m.n_agent, o->agent_id);
            int got = rm_find(m.fw, m.n_fw, o->framework_id);
            int want = rm_expect_excl(&m, filt[g]);
            if (want != got)
                fail_msg("round %d agent %s: DRF wants %s, got %s", round, o->agent_id,
                         m.fw[want], m.fw[got]);
            assert_false(filt[g][got]);
            rm_give(&m, got, g, t_res(&o->resources, "cpus"), t_res(&o->resources, "mem"));
            m.fc[got]++;
            m.rc[m.fw_role[got]]++;
            total++;
        }
        for (size_t i = 0; i < l.n; i++) {
            const locus_offer *o = &l.offers[i];
            int g = rm_find(m.agent, m.n_agent, o->agent_id);
            int f = rm_find(m.fw, m.n_fw, o->framework_id);
            rm_give(&m, f, g, -t_res(&o->resources, "cpus"), -t_res(&o->resources, "mem"));
            t_decline(a, o, 1e6, round);
            filt[g][f] = 1;
        }
    }
    assert_int_equal(total, m.n_fw * m.n_agent); /* each pair exactly once */
    la_destroy(a);
}

static void test_weights_update(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", NULL);
    const char *roles[] = {"r1", "r2"};
    double w[] = {1, 3};
    assert_int_equal(la_update_weights(a, roles, w, 2), 0);
    t_fw(a, "f1", "r1");
    t_fw(a, "f2", "r2");
    for (int i = 0; i < 8; i++) {
        char id[8];
        snprintf(id, sizeof id, "a%d", i);
        t_agent(a, id, 4, 4096);
    }
    locus_offer_list l = t_alloc(a, 0);
    assert_int_equal(l.n, 8);
    assert_int_equal(t_count_fw(&l, "f1"), 2);
    assert_int_equal(t_count_fw(&l, "f2"), 6);
    for (size_t i = 0; i < l.n; i++)
        t_decline(a, &l.offers[i], 0, 0);
    double w2[] = {3, 1};
    assert_int_equal(la_update_weights(a, roles, w2, 2), 0);
    l = t_alloc(a, 1);
    assert_int_equal(t_count_fw(&l, "f1"), 6);
    assert_int_equal(t_count_fw(&l, "f2"), 2);
    double bad[] = {0};
    assert_int_equal(la_update_weights(a, roles, bad, 1), LOCUS_EINVAL);
    la_destroy(a);
}

static void test_refuse_filters_expire(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", "filters.max_refuse=30", NULL);
    t_fw(a, "f1", "*");
    t_agent(a, "a1", 4, 4096);
    locus_offer_list l = t_alloc(a, 0);
    assert_int_equal(l.n, 1);
    t_decline(a, &l.offers[0], 10, 0);
    for (double t = 1; t < 10; t += 1)
        assert_int_equal(t_alloc(a, t).n, 0);
    l = t_alloc(a, 10);
    assert_int_equal(l.n, 1);
    /* Negative: the default 5 s. */
    t_decline(a, &l.offers[0], -1, 10);
    assert_int_equal(t_alloc(a, 14.9).n, 0);
    l = t_alloc(a, 15);
    assert_int_equal(l.n, 1);
    /* Capped by filters.max_refuse. */
    t_decline(a, &l.offers[0], 1e9, 15);
    assert_int_equal(t_alloc(a, 44.5).n, 0);
    l = t_alloc(a, 45);
    assert_int_equal(l.n, 1);
    /* Zero: no filter. */
    t_decline(a, &l.offers[0], 0, 45);
    assert_int_equal(t_alloc(a, 45).n, 1);
    la_destroy(a);
}

static void test_filter_is_per_framework(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", NULL);
    t_fw(a, "f1", "*");
    t_fw(a, "f2", "*");
    t_agent(a, "a1", 4, 4096);
    locus_offer_list l = t_alloc(a, 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].framework_id, "f1"); /* tie: name order */
    t_decline(a, &l.offers[0], 100, 0);
    l = t_alloc(a, 1);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].framework_id, "f2");
    t_decline(a, &l.offers[0], 100, 1);
    assert_int_equal(t_alloc(a, 2).n, 0); /* filtered for both: skipped */
    /* Revive clears f1's filters. */
    assert_int_equal(la_revive(a, "f1", NULL), 0);
    l = t_alloc(a, 3);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].framework_id, "f1");
    la_destroy(a);
}

static void test_suppress_revive(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", NULL);
    t_fw(a, "f1", "*");
    t_agent(a, "a1", 4, 4096);
    t_agent(a, "a2", 4, 4096);
    assert_int_equal(la_suppress(a, "f1", NULL), 0);
    assert_int_equal(t_alloc(a, 0).n, 0);
    assert_int_equal(la_suppress(a, "f1", "nosuchrole"), LOCUS_ENOTFOUND);
    assert_int_equal(la_revive(a, "f1", "*"), 0);
    locus_offer_list l = t_alloc(a, 1);
    assert_int_equal(l.n, 2);
    assert_int_equal(la_suppress(a, "nope", NULL), LOCUS_ENOTFOUND);
    la_destroy(a);
}

static void test_multi_role_suppress_one(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", NULL);
    const char *roles[] = {"ra", "rb"};
    locus_framework_info fi = {"f1", roles, 2, 1};
    assert_int_equal(la_add_framework(a, &fi, NULL, 0, 0), 0);
    t_agent(a, "a1", 4, 4096);
    t_agent(a, "a2", 4, 4096);
    assert_int_equal(la_suppress(a, "f1", "ra"), 0);
    locus_offer_list l = t_alloc(a, 0);
    assert_int_equal(l.n, 2);
    for (size_t i = 0; i < l.n; i++)
        assert_string_equal(l.offers[i].role, "rb");
    la_destroy(a);
}

static void test_remove_with_outstanding_offers(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", NULL);
    t_fw(a, "f1", "*");
    t_fw(a, "f2", "*");
    t_agent(a, "a1", 4, 4096);
    t_agent(a, "a2", 4, 4096);
    locus_offer_list l = t_alloc(a, 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(t_count_fw(&l, "f1"), 1);
    /* Removing a framework releases its offers: the agent is whole again. */
    const locus_offer *o1 = NULL;
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.offers[i].framework_id, "f1") == 0)
            o1 = &l.offers[i];
    char agent[16];
    snprintf(agent, sizeof agent, "%s", o1->agent_id);
    assert_int_equal(la_remove_framework(a, "f1"), 0);
    l = t_alloc(a, 1);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].framework_id, "f2");
    assert_string_equal(l.offers[0].agent_id, agent);
    assert_true(fabs(t_res(&l.offers[0].resources, "cpus") - 4) < 1e-9);
    /* Removing an agent drops f2's offers on it; recovering them is refused. */
    assert_int_equal(la_remove_agent(a, agent), 0);
    locus_scalar s[1] = {{"cpus", 4}};
    locus_resources r = {s, 1};
    assert_int_equal(la_recover(a, "f2", agent, &r, 0, 2), LOCUS_ENOTFOUND);
    assert_int_equal(la_recover(a, "f1", "a1", &r, 0, 2), LOCUS_ENOTFOUND);
    locus_allocator_status st = {.struct_size = sizeof st};
    assert_int_equal(la_status(a, &st), 0);
    assert_int_equal(st.agents, 1);
    assert_int_equal(st.frameworks, 1);
    /* A re-added agent of that id is a fresh, whole agent. */
    t_agent(a, agent, 8, 8192);
    l = t_alloc(a, 3);
    assert_int_equal(l.n, 1);
    assert_true(fabs(t_res(&l.offers[0].resources, "cpus") - 8) < 1e-9);
    la_destroy(a);
}

static void test_pause_resume(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", NULL);
    t_fw(a, "f1", "*");
    t_agent(a, "a1", 4, 4096);
    la_pause(a);
    assert_int_equal(t_alloc(a, 0).n, 0);
    locus_allocator_status st = {.struct_size = sizeof st};
    la_status(a, &st);
    assert_int_equal(st.cycles, 0);
    la_resume(a);
    assert_int_equal(t_alloc(a, 1).n, 1);
    la_status(a, &st);
    assert_int_equal(st.cycles, 1);
    assert_int_equal(st.offers, 1);
    assert_int_equal(st.offers_any, 1);
    la_destroy(a);
}

static void test_deactivate(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", NULL);
    t_fw(a, "f1", "*");
    t_agent(a, "a1", 4, 4096);
    t_agent(a, "a2", 4, 4096);
    assert_int_equal(la_deactivate_agent(a, "a1"), 0);
    locus_offer_list l = t_alloc(a, 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a2");
    assert_int_equal(la_activate_agent(a, "a1"), 0);
    assert_int_equal(la_deactivate_framework(a, "f1"), 0);
    assert_int_equal(t_alloc(a, 1).n, 0);
    assert_int_equal(la_activate_framework(a, "f1"), 0);
    l = t_alloc(a, 2);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].agent_id, "a1");
    /* A framework added inactive gets nothing until activated. */
    const char *roles[] = {"*"};
    locus_framework_info fi = {"f2", roles, 1, 0};
    assert_int_equal(la_add_framework(a, &fi, NULL, 0, 0), 0);
    t_agent(a, "a3", 4, 4096);
    assert_int_equal(la_suppress(a, "f1", NULL), 0);
    assert_int_equal(t_alloc(a, 3).n, 0);
    assert_int_equal(la_activate_framework(a, "f2"), 0);
    l = t_alloc(a, 4);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.offers[0].framework_id, "f2");
    la_destroy(a);
}

static void test_used_at_add(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", NULL);
    t_fw(a, "f1", "*");
    t_fw(a, "f2", "*");
    locus_scalar tot[2] = {{"cpus", 4}, {"mem", 4096}};
    locus_scalar u[2] = {{"cpus", 3}, {"mem", 1024}};
    locus_allocation used = {"f1", "*", NULL, {u, 2}};
    locus_agent_info ai = {"a1", "h1", NULL, {tot, 2}};
    assert_int_equal(la_add_agent(a, &ai, &used, 1, 0), 0);
    t_agent(a, "a2", 4, 4096);
    locus_offer_list l = t_alloc(a, 0);
    assert_int_equal(l.n, 2);
    const locus_offer *o = t_offer_for_agent(&l, "a1");
    assert_non_null(o);
    assert_true(fabs(t_res(&o->resources, "cpus") - 1) < 1e-9);
    assert_true(fabs(t_res(&o->resources, "mem") - 3072) < 1e-9);
    /* f1 already holds 3 cpus: the first agent visited goes to f2. */
    assert_string_equal(l.offers[0].framework_id, "f2");
    /* f1 may give back its used resources, not more. */
    locus_scalar back[1] = {{"cpus", 3}};
    locus_resources rb = {back, 1};
    locus_scalar more[1] = {{"cpus", 5}};
    locus_resources rm_ = {more, 1};
    assert_int_equal(la_recover(a, "f1", "a1", &rm_, 0, 1), LOCUS_EINVAL);
    assert_int_equal(la_recover(a, "f1", "a1", &rb, 0, 1), 0);
    la_destroy(a);
}

/* Master failover: an agent reports resources used by a framework that has
 * not re-registered yet; when it does, with the same used resources, they
 * are counted once, and giving them back makes the agent whole. */
static void test_used_before_framework_known(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", NULL);
    locus_scalar tot[2] = {{"cpus", 2}, {"mem", 1024}};
    locus_scalar u[2] = {{"cpus", 2}, {"mem", 1024}};
    locus_allocation used = {"late", "*", NULL, {u, 2}};
    locus_agent_info ai = {"a1", "h1", NULL, {tot, 2}};
    assert_int_equal(la_add_agent(a, &ai, &used, 1, 0), 0);
    t_fw(a, "other", "*");
    assert_int_equal(t_alloc(a, 0).n, 0); /* fully used */
    const char *roles[] = {"*"};
    locus_framework_info fi = {"late", roles, 1, 1};
    locus_allocation fu = {"late", "*", "a1", {u, 2}};
    assert_int_equal(la_add_framework(a, &fi, &fu, 1, 1), 0);
    assert_int_equal(t_alloc(a, 1).n, 0);
    locus_resources r = {u, 2};
    assert_int_equal(la_recover(a, "late", "a1", &r, 0, 2), 0);
    locus_offer_list l = t_alloc(a, 2);
    assert_int_equal(l.n, 1);
    assert_true(fabs(t_res(&l.offers[0].resources, "cpus") - 2) < 1e-9);
    la_destroy(a);
}

static void test_errors(void **state)
{
    (void)state;
    locus_allocator *a = t_new(NULL, "policy.name=drf", NULL);
    t_fw(a, "f1", "*");
    t_agent(a, "a1", 4, 4096);
    const char *roles[] = {"*"};
    locus_framework_info fi = {"f1", roles, 1, 1};
    assert_int_equal(la_add_framework(a, &fi, NULL, 0, 0), LOCUS_EEXIST);
    assert_non_null(strstr(la_last_error(a), "f1"));
    locus_scalar s[1] = {{"cpus", 1}};
    locus_agent_info ai = {"a1", "a1", NULL, {s, 1}};
    assert_int_equal(la_add_agent(a, &ai, NULL, 0, 0), LOCUS_EEXIST);
    assert_int_equal(la_remove_agent(a, "zz"), LOCUS_ENOTFOUND);
    assert_int_equal(la_remove_framework(a, "zz"), LOCUS_ENOTFOUND);
    locus_scalar neg[1] = {{"cpus", -1}};
    locus_agent_info bad = {"a9", "a9", NULL, {neg, 1}};
    assert_int_equal(la_add_agent(a, &bad, NULL, 0, 0), LOCUS_EINVAL);
    assert_non_null(strstr(la_last_error(a), "cpus"));
    locus_framework_info noroles = {"f9", NULL, 0, 1};
    assert_int_equal(la_add_framework(a, &noroles, NULL, 0, 0), LOCUS_EINVAL);
    /* Named scalars beyond the four built in are carried through. */
    locus_scalar g[3] = {{"cpus", 2}, {"mem", 512}, {"fpgas", 2}};
    locus_agent_info ag = {"a2", "a2", NULL, {g, 3}};
    assert_int_equal(la_add_agent(a, &ag, NULL, 0, 0), 0);
    locus_offer_list l = t_alloc(a, 0);
    const locus_offer *o = t_offer_for_agent(&l, "a2");
    assert_non_null(o);
    assert_true(fabs(t_res(&o->resources, "fpgas") - 2) < 1e-9);
    la_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weighted_drf_exact),
        cmocka_unit_test(test_decline_all_drf_order),
        cmocka_unit_test(test_weights_update),
        cmocka_unit_test(test_refuse_filters_expire),
        cmocka_unit_test(test_filter_is_per_framework),
        cmocka_unit_test(test_suppress_revive),
        cmocka_unit_test(test_multi_role_suppress_one),
        cmocka_unit_test(test_remove_with_outstanding_offers),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_deactivate),
        cmocka_unit_test(test_used_at_add),
        cmocka_unit_test(test_used_before_framework_known),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
