/* Read rates under contention: per-agent HDD bandwidth, per-agent NIC (in
 * and out) and per-rack uplink (up and down) with an oversubscription ratio.
 *
 * Model: a read is a flow that holds one slot on every resource on its path
 * for the whole task (a streaming map task reads while it computes). Its rate
 * is fixed when it starts: the fair share of the most loaded resource on its
 * path, counting itself, capped by the source device (HDD stream or memory).
 * Fixing the rate at start keeps the cost O(1) per task; docs/simulator.md
 * discusses what that leaves out.
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

typedef struct sim_network {
    const sim_cluster *cl;
    uint32_t *nic_in, *nic_out, *hdd_readers; /* per agent */
    uint32_t *up, *down;                      /* per rack */
    double nic_Bps, hdd_stream_Bps, hdd_agent_Bps, mem_Bps;
    double *uplink_Bps;                       /* per rack */
} sim_network;

int sim_network_init(sim_network *n, const sim_cluster *cl, const sim_config *cfg);
void sim_network_free(sim_network *n);
/* Starts a flow and returns its rate in bytes/s. */
double sim_network_start(sim_network *n, const sim_flow *f);
/* Ends a flow started with the same sim_flow. */
void sim_network_end(sim_network *n, const sim_flow *f);
/* Whether a flow crosses an agent NIC / a rack uplink. */
int sim_flow_crosses_nic(const sim_network *n, const sim_flow *f);
int sim_flow_crosses_uplink(const sim_network *n, const sim_flow *f);

#endif
