/* Flow-level network and disk model with max-min fair sharing.
 *
 * Every read is a flow over a path of links: the source's disk or memory
 * tier, the source's NIC (out), the rack uplink, the destination rack's
 * downlink and the destination's NIC (in), each only where the bytes cross
 * it. A flow also has its own cap (one disk stream, one memory copy, one
 * NIC). Rates are the max-min fair allocation (progressive filling), so no
 * link ever carries more than its capacity and a flow speeds up when others
 * end. Changes are batched: flows added or removed at one simulated instant
 * mark their links dirty, and sim_network_update recomputes only the flows
 * connected to a dirty link through links that can be saturated (a link
 * whose flows' caps sum to at most its capacity never constrains anyone, so
 * it does not couple its flows). Cost per update: O((F + L) log(F + L)) over
 * the F flows and L links of the affected part only (docs/simulator.md).
 */
#ifndef LOCUS_SIM_NETWORK_H
#define LOCUS_SIM_NETWORK_H

#include <stdint.h>

#include "cluster.h"
#include "simconf.h"

enum sim_read_src {
    SIM_SRC_NONE = 0,   /* no input */
    SIM_SRC_MEM = 1,    /* a memory-tier copy */
    SIM_SRC_HDD = 2,    /* an HDD replica */
    SIM_SRC_SHUFFLE = 3 /* reduce input: map outputs spread over the cluster */
};

typedef struct sim_flow {
    uint32_t src, dst;  /* agents (src unused for shuffle) */
    uint8_t kind;       /* enum sim_read_src */
} sim_flow;

#define SIM_NET_MAX_PATH 5

/* One active flow (a slot of sim_network.flows). */
typedef struct sim_net_flow {
    uint32_t links[SIM_NET_MAX_PATH];
    uint32_t pos[SIM_NET_MAX_PATH];  /* its index in each link's flow list */
    uint8_t n_links, active, crosses_nic;
    double cap;                      /* own cap, bytes/s */
    double rate;                     /* bytes/s; 0 until the first update */
    double remaining;                /* bytes still to move */
    double t_last;                   /* when remaining was last brought up to date */
    uint32_t version;                /* bumped when its finish time changes */
    uint32_t owner_a, owner_b;       /* the host's (job, task) */
} sim_net_flow;

typedef struct sim_net_link {
    double cap;                      /* bytes/s */
    double sum_cap;                  /* sum of its flows' own caps */
    uint32_t *flows;
    uint32_t n, n_cap;
    uint32_t mark;                   /* scratch: visited in update n */
    uint8_t dirty, touched;
    double rem;                      /* scratch: capacity left while filling */
    uint32_t unfrozen;               /* scratch */
} sim_net_link;

/* Called when a flow's finish time is (re)set: the host schedules an event
 * at t for (flow id, version); events with an older version are stale. */
typedef int (*sim_net_schedule_fn)(void *ctx, double t, uint32_t flow, uint32_t version);
/* Called when a flow moved bytes at a constant rate over [t0, t1]. */
typedef int (*sim_net_progress_fn)(void *ctx, const sim_net_flow *f, double t0, double t1, double bytes);

typedef struct sim_net_heap_item {
    double key;
    uint32_t id;       /* link index, flow index | 0x80000000, or cap class | 0x40000000 */
} sim_net_heap_item;

typedef struct sim_network {
    const sim_cluster *cl;
    uint32_t *nic_in, *nic_out, *hdd_readers; /* flows per agent (source choice) */
    double nic_Bps, hdd_stream_Bps, hdd_agent_Bps, mem_Bps, mem_agent_Bps;
    sim_net_link *links;
    uint32_t n_links;
    sim_net_flow *flows;
    uint32_t n_flows, cap_flows, *free_ids, n_free, n_active;
    uint32_t *dirty;                  /* dirty links */
    uint32_t n_dirty, cap_dirty;
    uint32_t pass;                    /* update counter for marks */
    /* scratch of an update */
    uint32_t *q_flows, *q_links;
    uint32_t cap_qf, cap_ql;
    uint32_t *touched, n_touched;     /* links whose share changed in a batch */
    sim_net_heap_item *heap;
    uint32_t n_heap, cap_heap;
    uint32_t *hpos;                   /* per link: its heap position, or UINT32_MAX */
    double *new_rate;                 /* per flow: the rate filling gave it */
    /* per flow, apart from the flows so that scanning a link's flows reads
     * 4 or 1 bytes each: the update that last visited it, fixed yet */
    uint32_t *fmark;
    uint8_t *ffrozen;
    uint32_t *by_cap;                 /* affected flows grouped by own cap */
    uint32_t cap_by_cap;
    sim_net_schedule_fn schedule;
    sim_net_progress_fn on_progress;
    void *ctx;
    /* statistics */
    uint64_t updates, flows_recomputed, links_recomputed;
} sim_network;

int sim_network_init(sim_network *n, const sim_cluster *cl, const sim_config *cfg);
void sim_network_free(sim_network *n);
/* Adds a flow of `bytes` at time now for the host's (a, b); its rate is set
 * by the next sim_network_update. Returns the flow id in *id, or LOCUS_ENOMEM. */
int sim_network_add(sim_network *n, const sim_flow *f, double bytes, double now, uint32_t a,
                    uint32_t b, uint32_t *id);
/* Removes a flow (finished). Its bytes moved so far are reported first. */
int sim_network_remove(sim_network *n, uint32_t id, double now);
/* Recomputes the rates of flows touched since the last update; reschedules
 * the finish of every flow whose rate changed. */
int sim_network_update(sim_network *n, double now);
/* Whether any change waits for an update. */
static inline int sim_network_dirty(const sim_network *n) { return n->n_dirty > 0; }
/* Whether a flow crosses an agent NIC / a rack uplink. */
int sim_flow_crosses_nic(const sim_network *n, const sim_flow *f);
int sim_flow_crosses_uplink(const sim_network *n, const sim_flow *f);
/* Largest load / capacity over all links right now (1 + rounding at most);
 * for tests: walks every link. */
double sim_network_max_utilisation(const sim_network *n);

#endif
