/* Offers to frameworks that gave no task size while some of them are held
 * back by delay scheduling (la_place.c, loc_pick): an agent's candidates are
 * the DRF-first framework not held back, the held-back frameworks with data
 * on the agent and those allowed rack-local with data in its rack. When one
 * role lists every client, those walks compare candidates on a dense copy
 * of their DRF keys and a rack's walk stops at the first framework ranked
 * (in the cycle's starting DRF order) at or after the best candidate's key
 * now, as none from there can come first. Over random clusters (racks,
 * blocks with 1-3 copies on random agents and tiers, frameworks demanding
 * random blocks, offers declined with short filters or kept), the offers -
 * framework, agent, resources, level, reason - are the same as when every
 * candidate is read, cycle after cycle, and the walks did skip candidates.
 * Frameworks allowed rack-local are found by the DRF walk of the frameworks
 * not held back (they are in its list, for agents in their racks); with
 * every candidate read they are tried one by one, so that list's order is
 * checked too, also when a slack of shares gives offers out of it.
 * With more frameworks than eight holding data on an agent, a pick reads
 * only the held-back frameworks' entries there (lists built per cycle from
 * each framework's index agents); a second test checks those picks against
 * full walks too, with demands changed between cycles so that index
 * entries move and frameworks stop or start being held back.
 * Hints are injected through la_hint_provider. */
#include "la_test.h"

#define MB (1024ULL * 1024)
#define MAX_AGENTS 16
#define MAX_FWS 20
#define N_BLOCKS 40

static const char *const agent_names[MAX_AGENTS] = {"g0", "g1", "g2",  "g3",  "g4",  "g5",
                                                    "g6", "g7", "g8",  "g9",  "g10", "g11",
                                                    "g12", "g13", "g14", "g15"};
static const char *const fw_names[MAX_FWS] = {"f0",  "f1",  "f2",  "f3",  "f4",  "f5",  "f6",
                                              "f7",  "f8",  "f9",  "f10", "f11", "f12", "f13",
                                              "f14", "f15", "f16", "f17", "f18", "f19"};
static const char *const rack_names[4] = {"r0", "r1", "r2", "r3"};

typedef struct world {
    int n_agents, n_fws, n_racks;
    double cpus[MAX_AGENTS];
    int demand[MAX_FWS][N_BLOCKS], n_demand[MAX_FWS];
    int demand2[MAX_FWS][N_BLOCKS], n_demand2[MAX_FWS]; /* what some switch to mid-run */
    int second_role;           /* f1 in role "b": no ranking (two roles list clients) */
    locus_hs_block_view v[N_BLOCKS];
    locus_hs_replica rep[N_BLOCKS][3];
    t_block_table tb;
} world;

static void draw_demand(uint64_t *r, int *demand, int *n)
{
    *n = 0;
    if (t_rand(r) % 5 == 0)
        return; /* no cached input: never held back */
    for (int b = 0; b < N_BLOCKS; b++)
        if (t_rand(r) % 6 == 0)
            demand[(*n)++] = b;
}

static void draw_world(world *w, uint64_t *r, int seed, int max_fws)
{
    static const locus_tier tiers[3] = {LOCUS_TIER_MEM, LOCUS_TIER_SSD, LOCUS_TIER_HDD};
    w->n_agents = 6 + (int)(t_rand(r) % (MAX_AGENTS - 5));
    w->n_racks = 1 + (int)(t_rand(r) % 4);
    w->n_fws = 2 + (int)(t_rand(r) % (uint64_t)(max_fws - 1));
    w->second_role = seed % 5 == 0;
    for (int g = 0; g < w->n_agents; g++)
        w->cpus[g] = (double)(2 + t_rand(r) % 7);
    for (int b = 0; b < N_BLOCKS; b++) {
        int nc = 1 + (int)(t_rand(r) % 3), used = 0;
        size_t n = 0;
        for (int c = 0; c < nc; c++) {
            int g = (int)(t_rand(r) % (uint64_t)w->n_agents);
            if (used & (1 << g))
                continue;
            used |= 1 << g;
            w->rep[b][n++] = (locus_hs_replica){agent_names[g], tiers[t_rand(r) % 3]};
        }
        w->v[b] = (locus_hs_block_view){"in", (uint64_t)b, 128 * MB, "hdfs", 0, w->rep[b], n};
    }
    for (int i = 0; i < w->n_fws; i++)
        draw_demand(r, w->demand[i], &w->n_demand[i]);
}

static void set_demand(locus_allocator *a, int fw, const int *demand, int n)
{
    locus_demand_item it[N_BLOCKS];
    for (int k = 0; k < n; k++)
        it[k] = (locus_demand_item){"in", demand[k], 0};
    assert_int_equal(la_set_demand(a, fw_names[fw], it, (size_t)n), 0);
}

static locus_allocator *build(world *w, int seed, int rank_off)
{
    char sd[32];
    snprintf(sd, sizeof sd, "policy.seed=%d", seed);
    /* A third of the worlds let frameworks take agents holding their data
     * within a slack of shares: those offers come from the agent's entries,
     * not from the DRF walk, and must still move the framework in it. */
    locus_allocator *a = t_new(NULL, "policy.name=locality", "hints.staleness=1e6",
                               "locality.wait_node=2", "locality.wait_rack=2", sd,
                               seed % 3 ? "policy.fairness_slack=0" : "policy.fairness_slack=0.5",
                               NULL);
    w->tb = (t_block_table){w->v, N_BLOCKS, NULL};
    t_use_block_table(a, &w->tb);
    a->held_rank_off = rank_off;
    for (int g = 0; g < w->n_agents; g++)
        t_agent_r(a, agent_names[g], rack_names[g % w->n_racks], w->cpus[g], 1024 * w->cpus[g]);
    for (int i = 0; i < w->n_fws; i++) {
        t_fw(a, fw_names[i], w->second_role && i == 1 ? "b" : "*");
        set_demand(a, i, w->demand[i], w->n_demand[i]);
    }
    return a;
}

/* Each offer of a cycle is declined with a filter of 0-3 s, or kept (the
 * framework's share grows), the same way on both allocators. Returns how
 * many offers were at `level`. */
static uint64_t decline_alike(locus_allocator *a, locus_allocator *full, const locus_offer_list *la,
                              const locus_offer_list *lf, uint64_t *r, int cycle, int level)
{
    uint64_t at_level = 0;
    for (size_t i = 0; i < la->n; i++) {
        at_level += la->offers[i].locality.level == level;
        uint64_t act = t_rand(r) % 5;
        if (act == 4)
            continue;
        t_decline(a, &la->offers[i], (double)act, cycle);
        t_decline(full, &lf->offers[i], (double)act, cycle);
    }
    return at_level;
}

static void test_ranked_walks_offer_as_full_walks(void **state)
{
    (void)state;
    uint64_t skipped = 0, rack_level = 0, offers = 0;
    for (int seed = 1; seed <= 300; seed++) {
        uint64_t r = 0x9e3779b97f4a7c15ULL * (uint64_t)seed;
        world w;
        draw_world(&w, &r, seed, 8);
        locus_allocator *a = build(&w, seed, 0), *full = build(&w, seed, 1);
        for (int cycle = 1; cycle <= 12; cycle++) {
            locus_offer_list la = t_alloc(a, cycle), lf = t_alloc(full, cycle);
            t_assert_same_offers(&la, &lf);
            offers += la.n;
            rack_level += decline_alike(a, full, &la, &lf, &r, cycle, 1);
        }
        assert_int_equal(full->held_skips, 0);
        if (w.second_role)
            assert_int_equal(a->held_skips, 0);
        skipped += a->held_skips;
        la_destroy(a);
        la_destroy(full);
    }
    assert_true(offers > 0);
    assert_true(rack_level > 0);
    assert_true(skipped > 0);
}

/* Up to 20 frameworks, so agents hold more than eight entries and picks
 * read the per-agent lists of held-back frameworks; at cycle 5 a third of
 * the frameworks demand other blocks (their index entries are rewritten,
 * others' move in their segments, waits start over). */
static void test_held_lists_offer_as_full_walks(void **state)
{
    (void)state;
    uint64_t list_picks = 0, offers = 0, local = 0;
    for (int seed = 1; seed <= 150; seed++) {
        uint64_t r = 0x7f4a7c159e3779b9ULL * (uint64_t)seed;
        world w;
        draw_world(&w, &r, seed, MAX_FWS);
        for (int i = 0; i < w.n_fws; i++)
            draw_demand(&r, w.demand2[i], &w.n_demand2[i]);
        locus_allocator *a = build(&w, seed, 0), *full = build(&w, seed, 1);
        for (int cycle = 1; cycle <= 12; cycle++) {
            if (cycle == 5)
                for (int i = seed % 3; i < w.n_fws; i += 3) {
                    set_demand(a, i, w.demand2[i], w.n_demand2[i]);
                    set_demand(full, i, w.demand2[i], w.n_demand2[i]);
                }
            locus_offer_list la = t_alloc(a, cycle), lf = t_alloc(full, cycle);
            t_assert_same_offers(&la, &lf);
            offers += la.n;
            local += decline_alike(a, full, &la, &lf, &r, cycle, 0);
        }
        assert_int_equal(full->held_list_picks, 0);
        if (w.second_role)
            assert_int_equal(a->held_list_picks, 0);
        list_picks += a->held_list_picks;
        la_destroy(a);
        la_destroy(full);
    }
    assert_true(offers > 0);
    assert_true(local > 0);
    assert_true(list_picks > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranked_walks_offer_as_full_walks),
        cmocka_unit_test(test_held_lists_offer_as_full_walks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
