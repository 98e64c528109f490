/* The `optimal` reference policy: a bound, not an allocator.
 *
 * Every allocation cycle it sees every free slot and every pending task and
 * assigns tasks to slots by min-cost flow (Quincy, Isard et al., SOSP 2009)
 * on the read-time cost model: a task's cost on an agent is the time its
 * input takes to read there (bytes over the memory or HDD stream rate, plus
 * one NIC transfer for a rack-local read and one uplink transfer more for a
 * remote read, with the profile's constants). It ignores offer mechanics
 * (no offers, no declines, no refuse timers, no hint staleness) and weighted
 * DRF: tasks are taken round-robin over the active jobs, one per job in
 * turn, up to 4 per free slot, and the solver picks which run. The graph is bipartite and small:
 * each task links to its copies' agents, to one node per rack holding a
 * copy and to one "anywhere" node; rack and anywhere nodes link to the free
 * agents; agents link to the sink with their free slots.
 */
#ifndef LOCUS_SIM_OPTIMAL_H
#define LOCUS_SIM_OPTIMAL_H

#include <stddef.h>
#include <stdint.h>

#include "locus/allocator.h"

enum sim_cand_kind { SIM_CAND_AGENT = 0, SIM_CAND_RACK = 1, SIM_CAND_ANY = 2 };

/* Task `task` may run on `target` (an agent, every agent of a rack, or any
 * agent) at `cost` (microseconds of reading). */
typedef struct sim_assign_cand {
    uint32_t task;
    uint32_t target;
    uint8_t kind;
    int64_t cost;
} sim_assign_cand;

typedef struct sim_assign_problem {
    uint32_t n_tasks;
    uint32_t n_agents;
    const uint32_t *agent_free;   /* free task slots per agent */
    const uint32_t *agent_rack;   /* rack of each agent */
    uint32_t n_racks;
    const sim_assign_cand *cands;
    size_t n_cands;
} sim_assign_problem;

/* Assigns as many tasks as the free slots allow at the least total cost
 * (successive shortest paths with potentials; each Dijkstra is followed by
 * every augmentation its tight edges allow). out_agent[task] gets the agent
 * or UINT32_MAX. Deterministic for a given problem. Returns 0 or
 * LOCUS_ENOMEM. The total cost goes to *total_cost when not NULL. */
int sim_assign_solve(const sim_assign_problem *p, uint32_t *out_agent, int64_t *total_cost);

/* Read time in microseconds of `bytes` from tier `src_kind` (SIM_SRC_MEM or
 * SIM_SRC_HDD) at locality `level` (enum sim_locality), with rates in
 * bytes/s. */
typedef struct sim_read_rates {
    double mem_Bps, hdd_Bps, nic_Bps, uplink_Bps;
} sim_read_rates;
int64_t sim_read_cost_us(const sim_read_rates *r, int src_kind, int level, uint64_t bytes);

/* A stand-in allocator table for the optimal policy: it keeps no books and
 * offers nothing; the replay assigns tasks itself. */
const locus_allocator_api *sim_optimal_api(void);

struct sim_world;
/* One cycle of the optimal policy: assigns and launches. Returns 0 or a
 * LOCUS_E* code with w->err. */
int sim_optimal_cycle(struct sim_world *w);

#endif
