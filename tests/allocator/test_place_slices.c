/* The plan's replay of each framework's own choice of tasks on its slices
 * (la_place.c, align_slices) runs only for frameworks whose slices can take
 * each other's planned blocks. Over random clusters (agents of 1-3 task
 * slots, blocks with 1-3 copies on random agents and tiers, frameworks
 * demanding random blocks), the offers - agents, resources, reasons naming
 * the blocks - are the same as with the replay run for every framework with
 * two slices, over several cycles; and the skipped and the replayed cases
 * both occur. And a planned slice that a quota turns down leaves the whole
 * agent to the next framework. Hints are injected through
 * la_hint_provider. */
#include "la_test.h"
#include "la_roles.h"

#define MB (1024ULL * 1024)
#define N_AGENTS 6
#define MAX_BLOCKS 40

static const char *const agent_names[N_AGENTS] = {"g0", "g1", "g2", "g3", "g4", "g5"};
static const char *const fw_names[3] = {"f0", "f1", "f2"};

typedef struct rstore {
    locus_hs_block_view v[MAX_BLOCKS];
    locus_hs_replica rep[MAX_BLOCKS][3];
    int n;
    t_block_table tb;
} rstore;

/* Random blocks of dataset "in": 1-3 copies each on distinct agents. */
static void fill_store(rstore *f, uint64_t *r)
{
    static const locus_tier tiers[3] = {LOCUS_TIER_MEM, LOCUS_TIER_SSD, LOCUS_TIER_HDD};
    f->n = 6 + (int)(t_rand(r) % (MAX_BLOCKS - 6));
    for (int b = 0; b < f->n; b++) {
        int nc = 1 + (int)(t_rand(r) % 3), used = 0;
        size_t n = 0;
        for (int c = 0; c < nc; c++) {
            int g = (int)(t_rand(r) % N_AGENTS);
            if (used & (1 << g))
                continue;
            used |= 1 << g;
            f->rep[b][n++] = (locus_hs_replica){agent_names[g], tiers[t_rand(r) % 3]};
        }
        f->v[b] = (locus_hs_block_view){"in", (uint64_t)b, 128 * MB, "hdfs", 0, f->rep[b], n};
    }
}

typedef struct scenario {
    double cpus[N_AGENTS];
    int n_fw;
    int demand[3][MAX_BLOCKS];
    int n_demand[3];
} scenario;

static void draw_scenario(scenario *s, const rstore *f, uint64_t *r)
{
    for (int g = 0; g < N_AGENTS; g++)
        s->cpus[g] = (double)(1 + t_rand(r) % 3);
    s->n_fw = 1 + (int)(t_rand(r) % 3);
    for (int i = 0; i < s->n_fw; i++) {
        s->n_demand[i] = 0;
        for (int b = 0; b < f->n; b++)
            if (t_rand(r) % 3)
                s->demand[i][s->n_demand[i]++] = b;
    }
}

static locus_allocator *build(rstore *f, const scenario *s, int seed, int replay_all)
{
    char sd[32];
    snprintf(sd, sizeof sd, "policy.seed=%d", seed);
    locus_allocator *a = t_new(NULL, "policy.name=locality", "hints.staleness=1e6", sd, NULL);
    f->tb = (t_block_table){f->v, (size_t)f->n, NULL};
    t_use_block_table(a, &f->tb);
    a->plan_replay_all = replay_all;
    for (int g = 0; g < N_AGENTS; g++)
        t_agent(a, agent_names[g], s->cpus[g], 1024 * s->cpus[g]);
    for (int i = 0; i < s->n_fw; i++) {
        t_fw(a, fw_names[i], "*");
        t_task_res(a, fw_names[i], 1, 1024);
        locus_demand_item it[MAX_BLOCKS];
        for (int k = 0; k < s->n_demand[i]; k++)
            it[k] = (locus_demand_item){"in", s->demand[i][k], 0};
        assert_int_equal(la_set_demand(a, fw_names[i], it, (size_t)s->n_demand[i]), 0);
    }
    return a;
}

static void test_replay_skipped_only_where_it_changes_nothing(void **state)
{
    (void)state;
    uint64_t skipped = 0, replayed = 0;
    for (int seed = 1; seed <= 300; seed++) {
        uint64_t r = 0x9e3779b97f4a7c15ULL * (uint64_t)seed;
        rstore f;
        fill_store(&f, &r);
        scenario s;
        draw_scenario(&s, &f, &r);
        locus_allocator *a = build(&f, &s, seed, 0), *all = build(&f, &s, seed, 1);
        for (int cycle = 1; cycle <= 3; cycle++) {
            locus_offer_list la = t_alloc(a, cycle), lall = t_alloc(all, cycle);
            t_assert_same_offers(&la, &lall);
            /* Each framework launches one task per offer and gives the
             * rest back, so later cycles plan around running tasks. */
            for (size_t i = 0; i < la.n; i++) {
                const locus_offer *o = &la.offers[i];
                double c = t_res(&o->resources, "cpus"), m = t_res(&o->resources, "mem");
                if (c <= 1 || m <= 1024)
                    continue;
                locus_scalar back[2] = {{"cpus", c - 1}, {"mem", m - 1024}};
                locus_resources rb = {back, 2};
                assert_int_equal(la_recover(a, o->framework_id, o->agent_id, &rb, 0, cycle), 0);
                assert_int_equal(la_recover(all, o->framework_id, o->agent_id, &rb, 0, cycle), 0);
            }
        }
        replayed += a->plan_replays;
        skipped += all->plan_replays - a->plan_replays;
        la_destroy(a);
        la_destroy(all);
    }
    assert_true(replayed > 0);
    assert_true(skipped > 0);
}

/* A planned slice turned down after it was cut from the agent's free
 * resources (here a quota limit leaves its role nothing) gives nothing
 * away: the rest of the agent goes whole to the next framework, not the
 * agent less the refused slice. */
static void test_refused_slice_leaves_the_whole_agent(void **state)
{
    (void)state;
    static locus_hs_replica rep[1] = {{"g0", LOCUS_TIER_HDD}};
    static const locus_hs_block_view blk[1] = {{"in", 0, 128 * MB, "hdfs", 0, rep, 1}};
    t_block_table tb = {blk, 1, NULL};
    locus_allocator *a = t_new(NULL, "policy.name=locality", "hints.staleness=1e6", NULL);
    t_use_block_table(a, &tb);
    t_agent(a, "g0", 8, 8192);
    t_fw(a, "capped", "capped");
    t_fw(a, "other", "other");
    t_task_res(a, "capped", 1, 1024);
    locus_demand_item it = {"in", 0, 0};
    assert_int_equal(la_set_demand(a, "capped", &it, 1), 0);
    locus_scalar none[2] = {{"cpus", 0}, {"mem", 0}};
    locus_resources limit = {none, 2};
    assert_int_equal(la_set_quota(a, "capped", NULL, &limit), 0);
    locus_offer_list l = t_alloc(a, 1);
    assert_int_equal(a->n_plan, 1); /* the capped framework's task was planned on g0 */
    assert_int_equal(t_count_fw(&l, "capped"), 0);
    assert_int_equal(t_count_fw(&l, "other"), 1);
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.offers[i].framework_id, "other") == 0) {
            assert_true(t_res(&l.offers[i].resources, "cpus") == 8);
            assert_true(t_res(&l.offers[i].resources, "mem") == 8192);
        }
    la_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_skipped_only_where_it_changes_nothing),
        cmocka_unit_test(test_refused_slice_leaves_the_whole_agent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
