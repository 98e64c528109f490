/* Max-min fair flows over disks, memory tiers, NICs and rack links (see
 * network.h). Links are numbered per agent (disk, memory, NIC out, NIC in)
 * then per rack (uplink, downlink). An update is progressive filling over
 * the affected flows: a heap holds every affected link's fair share
 * (capacity left / flows not yet fixed), once per link and moved when it
 * changes, and every distinct own cap of flows; the smallest is popped and
 * its flows are fixed at that rate.
 */
#include "network.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "locus/error.h"

#define MB 1048576.0
#define FLOW_BIT 0x80000000u
#define CLASS_BIT 0x40000000u
/* Flows have few distinct own caps (a disk stream, a memory copy, a NIC):
 * one heap entry per distinct cap instead of one per flow. */
#define MAX_CAP_CLASSES 8
#define NO_POS UINT32_MAX /* a link not in the filling heap */

enum { L_DISK = 0, L_MEM = 1, L_OUT = 2, L_IN = 3 };

static uint32_t agent_link(uint32_t agent, int which)
{
    return agent * 4u + (uint32_t)which;
}

static uint32_t rack_link(const sim_network *n, uint32_t rack, int down)
{
    return n->cl->n_agents * 4u + rack * 2u + (uint32_t)down;
}

int sim_network_init(sim_network *n, const sim_cluster *cl, const sim_config *cfg)
{
    memset(n, 0, sizeof *n);
    n->cl = cl;
    n->nic_in = calloc(cl->n_agents, sizeof *n->nic_in);
    n->nic_out = calloc(cl->n_agents, sizeof *n->nic_out);
    n->hdd_readers = calloc(cl->n_agents, sizeof *n->hdd_readers);
    n->n_links = cl->n_agents * 4u + cl->n_racks * 2u;
    n->links = calloc(n->n_links, sizeof *n->links);
    n->hpos = malloc((size_t)n->n_links * sizeof *n->hpos);
    if (!n->nic_in || !n->nic_out || !n->hdd_readers || !n->links || !n->hpos) {
        sim_network_free(n);
        return LOCUS_ENOMEM;
    }
    for (uint32_t i = 0; i < n->n_links; i++)
        n->hpos[i] = NO_POS;
    n->nic_Bps = cfg->nic_gbps * 1e9 / 8.0;
    n->hdd_stream_Bps = cfg->hdd_stream_mbps * MB;
    n->hdd_agent_Bps = cfg->hdd_agent_mbps * MB;
    n->mem_Bps = cfg->mem_mbps * MB;
    n->mem_agent_Bps = cfg->mem_agent_mbps * MB;
    for (uint32_t a = 0; a < cl->n_agents; a++) {
        n->links[agent_link(a, L_DISK)].cap = n->hdd_agent_Bps;
        n->links[agent_link(a, L_MEM)].cap = n->mem_agent_Bps;
        n->links[agent_link(a, L_OUT)].cap = n->nic_Bps;
        n->links[agent_link(a, L_IN)].cap = n->nic_Bps;
    }
    for (uint32_t r = 0; r < cl->n_racks; r++) {
        double up = cl->rack_size[r] * n->nic_Bps / cfg->oversubscription;
        n->links[rack_link(n, r, 0)].cap = up;
        n->links[rack_link(n, r, 1)].cap = up;
    }
    return 0;
}

void sim_network_free(sim_network *n)
{
    if (!n)
        return;
    free(n->nic_in);
    free(n->nic_out);
    free(n->hdd_readers);
    if (n->links)
        for (uint32_t i = 0; i < n->n_links; i++)
            free(n->links[i].flows);
    free(n->links);
    free(n->flows);
    free(n->free_ids);
    free(n->dirty);
    free(n->q_flows);
    free(n->q_links);
    free(n->heap);
    free(n->hpos);
    free(n->touched);
    free(n->new_rate);
    free(n->fmark);
    free(n->ffrozen);
    free(n->by_cap);
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

static void count(sim_network *n, const sim_flow *f, int d)
{
    if (f->kind == SIM_SRC_HDD)
        n->hdd_readers[f->src] += (uint32_t)d;
    if (sim_flow_crosses_nic(n, f)) {
        if (f->kind != SIM_SRC_SHUFFLE)
            n->nic_out[f->src] += (uint32_t)d;
        n->nic_in[f->dst] += (uint32_t)d;
    }
}

static int mark_dirty(sim_network *n, uint32_t l)
{
    if (n->links[l].dirty)
        return 0;
    size_t cap = n->cap_dirty;
    if (sim_grow((void **)&n->dirty, &cap, n->n_dirty + 1, sizeof *n->dirty))
        return LOCUS_ENOMEM;
    n->cap_dirty = (uint32_t)cap;
    n->links[l].dirty = 1;
    n->dirty[n->n_dirty++] = l;
    return 0;
}

int sim_network_add(sim_network *n, const sim_flow *f, double bytes, double now, uint32_t a,
                    uint32_t b, uint32_t *id_out)
{
    const sim_cluster *cl = n->cl;
    uint32_t path[SIM_NET_MAX_PATH], np = 0;
    double cap;
    uint32_t rd = cl->agents[f->dst].rack_idx;
    if (f->kind == SIM_SRC_SHUFFLE) {
        /* Map outputs come from many agents at once: the reduce's own NIC
         * and its rack's downlink are what it contends on. */
        cap = n->nic_Bps;
        path[np++] = agent_link(f->dst, L_IN);
        if (cl->n_racks > 1)
            path[np++] = rack_link(n, rd, 1);
    } else if (f->kind == SIM_SRC_HDD || f->kind == SIM_SRC_MEM) {
        int hdd = f->kind == SIM_SRC_HDD;
        cap = hdd ? n->hdd_stream_Bps : n->mem_Bps;
        path[np++] = agent_link(f->src, hdd ? L_DISK : L_MEM);
        if (f->src != f->dst) {
            path[np++] = agent_link(f->src, L_OUT);
            path[np++] = agent_link(f->dst, L_IN);
            uint32_t rs = cl->agents[f->src].rack_idx;
            if (cl->n_racks > 1 && rs != rd) {
                path[np++] = rack_link(n, rs, 0);
                path[np++] = rack_link(n, rd, 1);
            }
        }
    } else {
        return LOCUS_EINVAL;
    }
    uint32_t id;
    if (n->n_free) {
        id = n->free_ids[--n->n_free];
    } else {
        size_t c = n->cap_flows;
        if (sim_grow((void **)&n->flows, &c, n->n_flows + 1, sizeof *n->flows))
            return LOCUS_ENOMEM;
        uint32_t *fi = realloc(n->free_ids, c * sizeof *fi);
        double *orr = realloc(n->new_rate, c * sizeof *orr);
        uint32_t *fm = realloc(n->fmark, c * sizeof *fm);
        uint8_t *ff = realloc(n->ffrozen, c * sizeof *ff);
        if (fi)
            n->free_ids = fi;
        if (orr)
            n->new_rate = orr;
        if (fm)
            n->fmark = fm;
        if (ff)
            n->ffrozen = ff;
        if (!fi || !orr || !fm || !ff)
            return LOCUS_ENOMEM;
        n->cap_flows = (uint32_t)c;
        id = n->n_flows++;
        memset(&n->flows[id], 0, sizeof n->flows[id]);
        n->fmark[id] = 0; /* passes start at 1 */
        n->ffrozen[id] = 0;
    }
    sim_net_flow *fl = &n->flows[id];
    uint32_t version = fl->version + 1; /* never reused: stale events stay stale */
    memset(fl, 0, sizeof *fl);
    fl->version = version;
    fl->active = 1;
    fl->cap = cap;
    fl->remaining = bytes;
    fl->t_last = now;
    fl->owner_a = a;
    fl->owner_b = b;
    fl->crosses_nic = (uint8_t)sim_flow_crosses_nic(n, f);
    for (uint32_t i = 0; i < np; i++) {
        sim_net_link *l = &n->links[path[i]];
        if (l->n == l->n_cap) {
            uint32_t nc = l->n_cap ? l->n_cap * 2 : 4;
            uint32_t *v = realloc(l->flows, nc * sizeof *v);
            if (!v)
                return LOCUS_ENOMEM;
            l->flows = v;
            l->n_cap = nc;
        }
        fl->links[i] = path[i];
        fl->pos[i] = l->n;
        l->flows[l->n++] = id;
        l->sum_cap += cap;
        if (mark_dirty(n, path[i]))
            return LOCUS_ENOMEM;
    }
    fl->n_links = (uint8_t)np;
    count(n, f, 1);
    n->n_active++;
    *id_out = id;
    return 0;
}

/* Brings remaining up to date at now, reporting the bytes moved. */
static int advance(sim_network *n, sim_net_flow *f, double now, int final)
{
    if (now <= f->t_last && !final)
        return 0;
    double moved = f->rate * (now - f->t_last);
    if (final || moved > f->remaining)
        moved = f->remaining;
    int rc = 0;
    if (moved > 0 && n->on_progress)
        rc = n->on_progress(n->ctx, f, f->t_last, now, moved);
    f->remaining -= moved;
    f->t_last = now;
    return rc;
}

int sim_network_remove(sim_network *n, uint32_t id, double now)
{
    if (id >= n->n_flows || !n->flows[id].active)
        return LOCUS_EINVAL;
    sim_net_flow *f = &n->flows[id];
    int rc = advance(n, f, now, 1);
    for (uint32_t i = 0; i < f->n_links; i++) {
        uint32_t li = f->links[i];
        sim_net_link *l = &n->links[li];
        uint32_t p = f->pos[i], last = l->flows[--l->n];
        if (last != id) {
            l->flows[p] = last;
            sim_net_flow *m = &n->flows[last];
            for (uint32_t k = 0; k < m->n_links; k++)
                if (m->links[k] == li) {
                    m->pos[k] = p;
                    break;
                }
        }
        l->sum_cap -= f->cap;
        if (l->n == 0)
            l->sum_cap = 0; /* no drift from float sums */
        if (mark_dirty(n, li))
            return LOCUS_ENOMEM;
    }
    /* The source-choice counters: rebuilt from the path's first link. */
    uint32_t first = f->links[0];
    if (first < n->cl->n_agents * 4u) {
        uint32_t agent = first / 4u, kind = first % 4u;
        if (kind == L_DISK)
            n->hdd_readers[agent]--;
        if (kind == L_DISK || kind == L_MEM) {
            if (f->n_links > 1) {
                n->nic_out[agent]--;
                n->nic_in[f->links[2] / 4u]--;
            }
        } else if (kind == L_IN) {
            n->nic_in[agent]--;
        }
    }
    f->active = 0;
    f->rate = 0;
    n->n_active--;
    n->free_ids[n->n_free++] = id;
    return rc;
}

static int saturable(const sim_net_link *l)
{
    /* With every flow at its own cap the link would still have room: it
     * never binds, so it does not couple its flows. */
    return l->sum_cap > l->cap * (1.0 + 1e-12);
}

/* The filling heap is ordered by (key, id) and holds at most one entry per
 * link: a link whose share changes has its entry moved (n->hpos gives its
 * position), so no stale entries are popped. Flow and cap-class entries
 * never change. Ties by id keep the filling order, hence the rates,
 * deterministic. */
static int heap_less(const sim_net_heap_item *a, const sim_net_heap_item *b)
{
    return a->key < b->key || (a->key == b->key && a->id < b->id);
}

static void heap_put(sim_network *n, uint32_t i, sim_net_heap_item it)
{
    n->heap[i] = it;
    if (!(it.id & (FLOW_BIT | CLASS_BIT)))
        n->hpos[it.id] = i;
}

static void sift_up(sim_network *n, uint32_t i, sim_net_heap_item it)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!heap_less(&it, &n->heap[p]))
            break;
        heap_put(n, i, n->heap[p]);
        i = p;
    }
    heap_put(n, i, it);
}

static void sift_down(sim_network *n, uint32_t i, sim_net_heap_item it)
{
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n->n_heap)
            break;
        if (c + 1 < n->n_heap && heap_less(&n->heap[c + 1], &n->heap[c]))
            c++;
        if (!heap_less(&n->heap[c], &it))
            break;
        heap_put(n, i, n->heap[c]);
        i = c;
    }
    heap_put(n, i, it);
}

/* Adds an entry, or for a link already in the heap moves it to its new key. */
static int heap_set(sim_network *n, double key, uint32_t id)
{
    sim_net_heap_item it = { key, id };
    if (!(id & (FLOW_BIT | CLASS_BIT)) && n->hpos[id] != NO_POS) {
        uint32_t i = n->hpos[id];
        if (i > 0 && heap_less(&it, &n->heap[(i - 1) / 2]))
            sift_up(n, i, it);
        else
            sift_down(n, i, it);
        return 0;
    }
    size_t cap = n->cap_heap;
    if (sim_grow((void **)&n->heap, &cap, n->n_heap + 1, sizeof *n->heap))
        return LOCUS_ENOMEM;
    n->cap_heap = (uint32_t)cap;
    sift_up(n, n->n_heap++, it);
    return 0;
}

static sim_net_heap_item heap_pop(sim_network *n)
{
    sim_net_heap_item top = n->heap[0], last = n->heap[--n->n_heap];
    if (!(top.id & (FLOW_BIT | CLASS_BIT)))
        n->hpos[top.id] = NO_POS;
    if (n->n_heap)
        sift_down(n, 0, last);
    return top;
}

/* Fixes flow id at rate s and takes s off its affected links; the links
 * whose share changed are collected once (touched) and re-pushed by
 * flush_touched, so a batch of flows frozen together costs one heap entry
 * per link, not one per flow. */
static int freeze(sim_network *n, uint32_t id, double s)
{
    sim_net_flow *f = &n->flows[id];
    n->ffrozen[id] = 1;
    n->new_rate[id] = s; /* swapped in after filling */
    for (uint32_t i = 0; i < f->n_links; i++) {
        uint32_t li = f->links[i];
        sim_net_link *l = &n->links[li];
        if (l->mark != n->pass)
            continue;
        l->rem -= s;
        if (l->rem < 0)
            l->rem = 0;
        l->unfrozen--;
        if (!l->touched) {
            l->touched = 1;
            n->touched[n->n_touched++] = li;
        }
    }
    return 0;
}

static int flush_touched(sim_network *n)
{
    for (uint32_t i = 0; i < n->n_touched; i++) {
        sim_net_link *l = &n->links[n->touched[i]];
        l->touched = 0;
        if (l->unfrozen > 0 && heap_set(n, l->rem / l->unfrozen, n->touched[i]))
            return LOCUS_ENOMEM;
    }
    n->n_touched = 0;
    return 0;
}

int sim_network_update(sim_network *n, double now)
{
    if (n->n_dirty == 0)
        return 0;
    n->pass++;
    n->updates++;
    uint32_t nf = 0, nl = 0;
    size_t cap;
    /* Every flow of a dirty link may change; links that can bind couple
     * their flows, so the affected part grows through them only. */
    cap = n->cap_qf;
    if (sim_grow((void **)&n->q_flows, &cap, n->n_flows + 1, sizeof *n->q_flows))
        return LOCUS_ENOMEM;
    n->cap_qf = (uint32_t)cap;
    cap = n->cap_ql;
    if (sim_grow((void **)&n->q_links, &cap, n->n_links + 1, sizeof *n->q_links))
        return LOCUS_ENOMEM;
    n->cap_ql = (uint32_t)cap;
    if (!n->touched && !(n->touched = malloc((size_t)n->n_links * sizeof *n->touched)))
        return LOCUS_ENOMEM;
    for (uint32_t d = 0; d < n->n_dirty; d++) {
        sim_net_link *l = &n->links[n->dirty[d]];
        l->dirty = 0;
        if (saturable(l) && l->mark != n->pass) {
            l->mark = n->pass;
            n->q_links[nl++] = n->dirty[d];
        }
        for (uint32_t k = 0; k < l->n; k++)
            if (n->fmark[l->flows[k]] != n->pass) {
                n->fmark[l->flows[k]] = n->pass;
                n->q_flows[nf++] = l->flows[k];
            }
    }
    n->n_dirty = 0;
    for (uint32_t i = 0; i < nf; i++) {
        const sim_net_flow *f = &n->flows[n->q_flows[i]];
        for (uint32_t k = 0; k < f->n_links; k++) {
            uint32_t li = f->links[k];
            sim_net_link *l = &n->links[li];
            if (l->mark == n->pass || !saturable(l))
                continue;
            l->mark = n->pass;
            n->q_links[nl++] = li;
            for (uint32_t m = 0; m < l->n; m++)
                if (n->fmark[l->flows[m]] != n->pass) {
                    n->fmark[l->flows[m]] = n->pass;
                    n->q_flows[nf++] = l->flows[m];
                }
        }
    }
    n->flows_recomputed += nf;
    n->links_recomputed += nl;
    /* Progressive filling. */
    n->n_heap = 0;
    for (uint32_t i = 0; i < nl; i++) {
        sim_net_link *l = &n->links[n->q_links[i]];
        l->rem = l->cap;
        l->unfrozen = l->n;
        if (l->n && heap_set(n, l->rem / l->n, n->q_links[i]))
            return LOCUS_ENOMEM;
    }
    /* Group the affected flows by own cap (counting sort over the few
     * distinct caps); with more distinct caps than classes, one heap entry
     * per flow as before. */
    double caps[MAX_CAP_CLASSES];
    uint32_t cls_start[MAX_CAP_CLASSES + 1] = { 0 }, n_cls = 0;
    int grouped = 1;
    for (uint32_t i = 0; i < nf && grouped; i++) {
        sim_net_flow *f = &n->flows[n->q_flows[i]];
        n->ffrozen[n->q_flows[i]] = 0;
        uint32_t c = 0;
        while (c < n_cls && caps[c] != f->cap)
            c++;
        if (c == n_cls) {
            if (n_cls == MAX_CAP_CLASSES) {
                grouped = 0;
                break;
            }
            caps[n_cls++] = f->cap;
        }
        cls_start[c + 1]++;
    }
    if (grouped) {
        cap = n->cap_by_cap;
        if (sim_grow((void **)&n->by_cap, &cap, nf + 1, sizeof *n->by_cap))
            return LOCUS_ENOMEM;
        n->cap_by_cap = (uint32_t)cap;
        for (uint32_t c = 0; c < n_cls; c++)
            cls_start[c + 1] += cls_start[c];
        uint32_t fill[MAX_CAP_CLASSES];
        memcpy(fill, cls_start, sizeof fill);
        for (uint32_t i = 0; i < nf; i++) {
            uint32_t id = n->q_flows[i], c = 0;
            while (caps[c] != n->flows[id].cap)
                c++;
            n->by_cap[fill[c]++] = id;
        }
        for (uint32_t c = 0; c < n_cls; c++)
            if (heap_set(n, caps[c], c | CLASS_BIT))
                return LOCUS_ENOMEM;
    } else {
        for (uint32_t i = 0; i < nf; i++) {
            uint32_t id = n->q_flows[i];
            n->ffrozen[id] = 0;
            if (heap_set(n, n->flows[id].cap, id | FLOW_BIT))
                return LOCUS_ENOMEM;
        }
    }
    while (n->n_heap) {
        sim_net_heap_item it = heap_pop(n);
        if (it.id & FLOW_BIT) {
            uint32_t id = it.id & ~FLOW_BIT;
            if (!n->ffrozen[id] && (freeze(n, id, it.key) || flush_touched(n)))
                return LOCUS_ENOMEM;
            continue;
        }
        if (it.id & CLASS_BIT) {
            /* Every flow of this cap not yet fixed by a link reaches its cap. */
            uint32_t c = it.id & ~CLASS_BIT;
            for (uint32_t k = cls_start[c]; k < cls_start[c + 1]; k++)
                if (!n->ffrozen[n->by_cap[k]] && freeze(n, n->by_cap[k], it.key))
                    return LOCUS_ENOMEM;
            if (flush_touched(n))
                return LOCUS_ENOMEM;
            continue;
        }
        sim_net_link *l = &n->links[it.id];
        if (l->unfrozen == 0) /* every flow fixed by other links */
            continue;
        double s = l->rem / l->unfrozen;
        for (uint32_t k = 0; k < l->n; k++)
            if (!n->ffrozen[l->flows[k]] && freeze(n, l->flows[k], s))
                return LOCUS_ENOMEM;
        if (flush_touched(n))
            return LOCUS_ENOMEM;
    }
    /* New rates: a flow whose rate changed moves its finish. */
    for (uint32_t i = 0; i < nf; i++) {
        uint32_t id = n->q_flows[i];
        sim_net_flow *f = &n->flows[id];
        double r = n->new_rate[id];
        if (f->rate > 0 && fabs(r - f->rate) <= 1e-12 * f->rate)
            continue;
        int rc = advance(n, f, now, 0);
        if (rc)
            return rc;
        f->rate = r;
        f->version++;
        if (n->schedule && (rc = n->schedule(n->ctx, now + f->remaining / r, id, f->version)))
            return rc;
    }
    return 0;
}

double sim_network_max_utilisation(const sim_network *n)
{
    double worst = 0;
    for (uint32_t i = 0; i < n->n_links; i++) {
        const sim_net_link *l = &n->links[i];
        double sum = 0;
        for (uint32_t k = 0; k < l->n; k++)
            sum += n->flows[l->flows[k]].rate;
        if (l->cap > 0 && sum / l->cap > worst)
            worst = sum / l->cap;
    }
    for (uint32_t i = 0; i < n->n_flows; i++)
        if (n->flows[i].active && n->flows[i].cap > 0 && n->flows[i].rate / n->flows[i].cap > worst)
            worst = n->flows[i].rate / n->flows[i].cap;
    return worst;
}
