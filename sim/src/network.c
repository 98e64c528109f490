/* Contention model for reads (see network.h). Counters per resource are
 * enough because every flow's rate is fixed at its start: the share of each
 * resource is its bandwidth over the flows using it, this one included.
 */
#include "network.h"

#include <stdlib.h>
#include <string.h>

#include "locus/error.h"

#define MB 1048576.0

int sim_network_init(sim_network *n, const sim_cluster *cl, const sim_config *cfg)
{
    memset(n, 0, sizeof *n);
    n->cl = cl;
    n->nic_in = calloc(cl->n_agents, sizeof *n->nic_in);
    n->nic_out = calloc(cl->n_agents, sizeof *n->nic_out);
    n->hdd_readers = calloc(cl->n_agents, sizeof *n->hdd_readers);
    n->up = calloc(cl->n_racks, sizeof *n->up);
    n->down = calloc(cl->n_racks, sizeof *n->down);
    n->uplink_Bps = calloc(cl->n_racks, sizeof *n->uplink_Bps);
    if (!n->nic_in || !n->nic_out || !n->hdd_readers || !n->up || !n->down || !n->uplink_Bps) {
        sim_network_free(n);
        return LOCUS_ENOMEM;
    }
    n->nic_Bps = cfg->nic_gbps * 1e9 / 8.0;
    n->hdd_stream_Bps = cfg->hdd_stream_mbps * MB;
    n->hdd_agent_Bps = cfg->hdd_agent_mbps * MB;
    n->mem_Bps = cfg->mem_mbps * MB;
    for (uint32_t r = 0; r < cl->n_racks; r++)
        n->uplink_Bps[r] = cl->rack_size[r] * n->nic_Bps / cfg->oversubscription;
    return 0;
}

void sim_network_free(sim_network *n)
{
    if (!n)
        return;
    free(n->nic_in);
    free(n->nic_out);
    free(n->hdd_readers);
    free(n->up);
    free(n->down);
    free(n->uplink_Bps);
    memset(n, 0, sizeof *n);
}

int sim_flow_crosses_nic(const sim_network *n, const sim_flow *f)
{
    (void)n;
    return f->kind == SIM_SRC_SHUFFLE || ((f->kind == SIM_SRC_MEM || f->kind == SIM_SRC_HDD) && f->src != f->dst);
}

int sim_flow_crosses_uplink(const sim_network *n, const sim_flow *f)
{
    if (n->cl->n_racks < 2)
        return 0;
    if (f->kind == SIM_SRC_SHUFFLE)
        return 1;
    if (!sim_flow_crosses_nic(n, f))
        return 0;
    return n->cl->agents[f->src].rack_idx != n->cl->agents[f->dst].rack_idx;
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

static void count(sim_network *n, const sim_flow *f, int d)
{
    const sim_cluster *cl = n->cl;
    if (f->kind == SIM_SRC_HDD)
        n->hdd_readers[f->src] += (uint32_t)d;
    if (sim_flow_crosses_nic(n, f)) {
        if (f->kind != SIM_SRC_SHUFFLE)
            n->nic_out[f->src] += (uint32_t)d;
        n->nic_in[f->dst] += (uint32_t)d;
    }
    if (sim_flow_crosses_uplink(n, f)) {
        if (f->kind != SIM_SRC_SHUFFLE)
            n->up[cl->agents[f->src].rack_idx] += (uint32_t)d;
        n->down[cl->agents[f->dst].rack_idx] += (uint32_t)d;
    }
}

double sim_network_start(sim_network *n, const sim_flow *f)
{
    const sim_cluster *cl = n->cl;
    count(n, f, 1);
    double rate;
    switch (f->kind) {
    case SIM_SRC_MEM:
        rate = n->mem_Bps;
        break;
    case SIM_SRC_HDD:
        rate = min2(n->hdd_stream_Bps, n->hdd_agent_Bps / n->hdd_readers[f->src]);
        break;
    case SIM_SRC_SHUFFLE:
        rate = n->nic_Bps; /* map outputs are read from many sources at once */
        break;
    default:
        return 0.0;
    }
    if (sim_flow_crosses_nic(n, f)) {
        if (f->kind != SIM_SRC_SHUFFLE)
            rate = min2(rate, n->nic_Bps / n->nic_out[f->src]);
        rate = min2(rate, n->nic_Bps / n->nic_in[f->dst]);
    }
    if (sim_flow_crosses_uplink(n, f)) {
        uint32_t rs = cl->agents[f->src].rack_idx, rd = cl->agents[f->dst].rack_idx;
        if (f->kind != SIM_SRC_SHUFFLE)
            rate = min2(rate, n->uplink_Bps[rs] / n->up[rs]);
        rate = min2(rate, n->uplink_Bps[rd] / n->down[rd]);
    }
    return rate;
}

void sim_network_end(sim_network *n, const sim_flow *f)
{
    count(n, f, -1);
}
