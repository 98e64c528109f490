/* The simulated cluster: agents, their racks, names and the resources the
 * simulator sees in use on each (the allocator keeps its own books; the
 * simulator's copy feeds utilisation and checks every launch fits).
 */
#ifndef LOCUS_SIM_CLUSTER_H
#define LOCUS_SIM_CLUSTER_H

#include <stdint.h>

#include "simconf.h"

typedef struct sim_agent {
    char id[24];        /* Mesos agent id, "S<n>" */
    char host[24];      /* hostname, also its storage host name in the hint store */
    char rack[16];
    uint32_t rack_idx;
} sim_agent;

/* What the simulator sees in use on an agent, apart from its names: every
 * offer checks it, and 16 bytes per agent stay in cache where the 72-byte
 * records did not (one miss per offer was most of sim_fw_offer's time). */
typedef struct sim_agent_use {
    double cpus;
    double mem;
} sim_agent_use;

typedef struct sim_cluster {
    sim_agent *agents;
    sim_agent_use *use;      /* per agent */
    uint32_t n_agents;
    uint32_t n_racks;
    uint32_t *rack_size;     /* agents per rack */
    uint32_t **rack_agents;  /* agents of each rack */
    double cpus, mem_mb;     /* per agent */
    double busy_cpus;        /* sum of use[].cpus */
} sim_cluster;

/* Agents are spread over racks round-robin (agent i in rack i % racks).
 * Returns 0 or LOCUS_ENOMEM. */
int sim_cluster_init(sim_cluster *c, const sim_config *cfg);
void sim_cluster_free(sim_cluster *c);
/* Parses "S<n>" back to an index; -1 if not an agent of this cluster. */
int64_t sim_cluster_agent_index(const sim_cluster *c, const char *id);

#endif
