/* Cluster topology for locus-sim (see cluster.h). Agents are numbered and
 * named from their index so that looking one up from an offer is a parse,
 * not a hash lookup; racks take agents round-robin so every rack has the
 * same size within one.
 */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"

int sim_cluster_init(sim_cluster *c, const sim_config *cfg)
{
    memset(c, 0, sizeof *c);
    c->n_agents = (uint32_t)cfg->agents;
    c->n_racks = sim_config_racks(cfg);
    c->cpus = cfg->agent_cpus;
    c->mem_mb = (double)cfg->agent_mem_mb;
    c->agents = calloc(c->n_agents, sizeof *c->agents);
    c->use = calloc(c->n_agents, sizeof *c->use);
    c->rack_size = calloc(c->n_racks, sizeof *c->rack_size);
    c->rack_agents = calloc(c->n_racks, sizeof *c->rack_agents);
    if (!c->agents || !c->use || !c->rack_size || !c->rack_agents)
        goto oom;
    for (uint32_t i = 0; i < c->n_agents; i++) {
        sim_agent *a = &c->agents[i];
        a->rack_idx = i % c->n_racks;
        snprintf(a->id, sizeof a->id, "S%u", i);
        snprintf(a->host, sizeof a->host, "agent-%05u", i);
        snprintf(a->rack, sizeof a->rack, "rack-%03u", a->rack_idx);
        c->rack_size[a->rack_idx]++;
    }
    for (uint32_t r = 0; r < c->n_racks; r++) {
        c->rack_agents[r] = malloc(c->rack_size[r] * sizeof(uint32_t));
        if (!c->rack_agents[r])
            goto oom;
        c->rack_size[r] = 0;
    }
    for (uint32_t i = 0; i < c->n_agents; i++) {
        uint32_t r = c->agents[i].rack_idx;
        c->rack_agents[r][c->rack_size[r]++] = i;
    }
    return 0;
oom:
    sim_cluster_free(c);
    return LOCUS_ENOMEM;
}

void sim_cluster_free(sim_cluster *c)
{
    if (!c)
        return;
    if (c->rack_agents)
        for (uint32_t r = 0; r < c->n_racks; r++)
            free(c->rack_agents[r]);
    free(c->rack_agents);
    free(c->rack_size);
    free(c->agents);
    free(c->use);
    memset(c, 0, sizeof *c);
}

int64_t sim_cluster_agent_index(const sim_cluster *c, const char *id)
{
    if (!id || id[0] != 'S' || id[1] < '0' || id[1] > '9')
        return -1;
    char *end;
    unsigned long v = strtoul(id + 1, &end, 10);
    if (*end || v >= c->n_agents)
        return -1;
    return (int64_t)v;
}
