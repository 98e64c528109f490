/* The optimal policy's min-cost assignment on hand-built cases with known
 * answers (crossed replicas a greedy pass gets wrong, capacity forcing the
 * cheapest task remote, memory over HDD, rack and anywhere nodes), plus
 * random small cases checked against exhaustive search: the most tasks
 * placed, then the least total cost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "network.h"
#include "optimal.h"
#include "report.h"

#define NONE UINT32_MAX

static void crossed_replicas_both_local(void **state)
{
    (void)state;
    /* Task 0 has copies on agents 0 and 1, task 1 only on agent 0; one slot
     * each. Taking tasks in order and the first copy would put task 0 on
     * agent 0 and task 1 remote; the least cost runs both locally. */
    uint32_t free_[2] = { 1, 1 }, rack[2] = { 0, 1 };
    sim_assign_cand c[] = {
        { 0, 0, SIM_CAND_AGENT, 10 }, { 0, 1, SIM_CAND_AGENT, 10 }, { 0, 0, SIM_CAND_ANY, 100 },
        { 1, 0, SIM_CAND_AGENT, 10 }, { 1, 0, SIM_CAND_ANY, 100 },
    };
    sim_assign_problem p = { 2, 2, free_, rack, 2, c, 5 };
    uint32_t out[2];
    int64_t total;
    assert_int_equal(sim_assign_solve(&p, out, &total), 0);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 0);
    assert_int_equal(total, 20);
}

static void capacity_sends_the_cheapest_remote(void **state)
{
    (void)state;
    /* Both tasks are local only on agent 0 (one slot); the other slot is in
     * another rack. The small task goes remote, the large one stays. */
    uint32_t free_[2] = { 1, 1 }, rack[2] = { 0, 1 };
    sim_assign_cand c[] = {
        { 0, 0, SIM_CAND_AGENT, 10 }, { 0, 0, SIM_CAND_ANY, 30 },
        { 1, 0, SIM_CAND_AGENT, 100 }, { 1, 0, SIM_CAND_ANY, 300 },
    };
    sim_assign_problem p = { 2, 2, free_, rack, 2, c, 4 };
    uint32_t out[2];
    int64_t total;
    assert_int_equal(sim_assign_solve(&p, out, &total), 0);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 0);
    assert_int_equal(total, 130);
}

static void memory_copy_beats_hdd(void **state)
{
    (void)state;
    sim_read_rates r = { .mem_Bps = 2000e6, .hdd_Bps = 60e6, .nic_Bps = 125e6, .uplink_Bps = 25e6 };
    uint64_t b = 128ull << 20;
    int64_t mem = sim_read_cost_us(&r, SIM_SRC_MEM, SIM_LOCAL_NODE, b);
    int64_t hdd = sim_read_cost_us(&r, SIM_SRC_HDD, SIM_LOCAL_NODE, b);
    int64_t rack_ = sim_read_cost_us(&r, SIM_SRC_HDD, SIM_LOCAL_RACK, b);
    int64_t remote = sim_read_cost_us(&r, SIM_SRC_HDD, SIM_LOCAL_REMOTE, b);
    assert_true(mem < hdd && hdd < rack_ && rack_ < remote);
    /* 128 MiB at 60 MB/s: 2.237 s. */
    assert_int_equal(hdd, (int64_t)((double)b / 60e6 * 1e6 + 0.5));
    /* One task with a memory copy on agent 1 and an HDD replica on agent
     * 0, listed first: it runs on agent 1. */
    uint32_t free_[2] = { 1, 1 }, rk[2] = { 0, 0 };
    sim_assign_cand c[] = {
        { 0, 0, SIM_CAND_AGENT, hdd }, { 0, 1, SIM_CAND_AGENT, mem }, { 0, 0, SIM_CAND_ANY, rack_ },
    };
    sim_assign_problem p = { 1, 2, free_, rk, 1, c, 3 };
    uint32_t out[1];
    assert_int_equal(sim_assign_solve(&p, out, NULL), 0);
    assert_int_equal(out[0], 1);
}

static void rack_node_picks_a_free_agent_of_its_rack(void **state)
{
    (void)state;
    /* Agent 2 (rack 1) holds the copy but is full; agent 1 is the free
     * agent of rack 1, agent 0 of rack 0. */
    uint32_t free_[3] = { 1, 1, 0 }, rack[3] = { 0, 1, 1 };
    sim_assign_cand c[] = {
        { 0, 2, SIM_CAND_AGENT, 10 }, { 0, 1, SIM_CAND_RACK, 20 }, { 0, 0, SIM_CAND_ANY, 40 },
    };
    sim_assign_problem p = { 1, 3, free_, rack, 2, c, 3 };
    uint32_t out[1];
    int64_t total;
    assert_int_equal(sim_assign_solve(&p, out, &total), 0);
    assert_int_equal(out[0], 1);
    assert_int_equal(total, 20);
}

static void more_tasks_than_slots(void **state)
{
    (void)state;
    /* Three tasks, two slots on one agent: the two cheapest run there. */
    uint32_t free_[1] = { 2 }, rack[1] = { 0 };
    sim_assign_cand c[] = { { 0, 0, SIM_CAND_ANY, 50 }, { 1, 0, SIM_CAND_AGENT, 5 }, { 2, 0, SIM_CAND_ANY, 7 } };
    sim_assign_problem p = { 3, 1, free_, rack, 1, c, 3 };
    uint32_t out[3];
    int64_t total;
    assert_int_equal(sim_assign_solve(&p, out, &total), 0);
    assert_int_equal(out[0], NONE);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 0);
    assert_int_equal(total, 12);
}

/* Exhaustive: every task to one of its candidates or to nothing. */
static void brute(const sim_assign_problem *p, const uint32_t *rack, uint32_t k, uint32_t *used,
                  uint32_t placed, int64_t cost, uint32_t *best_n, int64_t *best_c)
{
    if (k == p->n_tasks) {
        if (placed > *best_n || (placed == *best_n && cost < *best_c))
            *best_n = placed, *best_c = cost;
        return;
    }
    brute(p, rack, k + 1, used, placed, cost, best_n, best_c);
    for (size_t i = 0; i < p->n_cands; i++) {
        const sim_assign_cand *c = &p->cands[i];
        if (c->task != k)
            continue;
        for (uint32_t a = 0; a < p->n_agents; a++) {
            int ok = c->kind == SIM_CAND_ANY || (c->kind == SIM_CAND_AGENT && c->target == a) ||
                     (c->kind == SIM_CAND_RACK && rack[a] == c->target);
            if (!ok || used[a] >= p->agent_free[a])
                continue;
            used[a]++;
            brute(p, rack, k + 1, used, placed + 1, cost + c->cost, best_n, best_c);
            used[a]--;
        }
    }
}

static void random_cases_match_exhaustive_search(void **state)
{
    (void)state;
    srand(7);
    for (int round = 0; round < 300; round++) {
        uint32_t na = 1 + (uint32_t)rand() % 4, nt = 1 + (uint32_t)rand() % 5, nr = 1 + (uint32_t)rand() % 2;
        uint32_t free_[4], rack[4], used[4] = { 0 };
        for (uint32_t a = 0; a < na; a++)
            free_[a] = (uint32_t)rand() % 3, rack[a] = a % nr;
        sim_assign_cand c[40];
        size_t nc = 0;
        for (uint32_t t = 0; t < nt; t++) {
            int k = 1 + rand() % 3;
            for (int i = 0; i < k; i++) {
                uint8_t kind = (uint8_t)(rand() % 3);
                uint32_t target = kind == SIM_CAND_AGENT ? (uint32_t)rand() % na
                                : kind == SIM_CAND_RACK ? (uint32_t)rand() % nr : 0;
                c[nc++] = (sim_assign_cand){ t, target, kind, rand() % 50 };
            }
        }
        sim_assign_problem p = { nt, na, free_, rack, nr, c, nc };
        uint32_t out[5], best_n = 0;
        int64_t total, best_c = 0;
        assert_int_equal(sim_assign_solve(&p, out, &total), 0);
        brute(&p, rack, 0, used, 0, 0, &best_n, &best_c);
        /* The answer is feasible, places as many, and costs as little. */
        uint32_t placed = 0, load[4] = { 0 };
        for (uint32_t t = 0; t < nt; t++) {
            if (out[t] == NONE)
                continue;
            assert_true(out[t] < na);
            placed++;
            load[out[t]]++;
        }
        for (uint32_t a = 0; a < na; a++)
            assert_true(load[a] <= free_[a]);
        assert_int_equal(placed, best_n);
        assert_int_equal(total, best_c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crossed_replicas_both_local),
        cmocka_unit_test(capacity_sends_the_cheapest_remote),
        cmocka_unit_test(memory_copy_beats_hdd),
        cmocka_unit_test(rack_node_picks_a_free_agent_of_its_rack),
        cmocka_unit_test(more_tasks_than_slots),
        cmocka_unit_test(random_cases_match_exhaustive_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
