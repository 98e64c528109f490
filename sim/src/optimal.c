/* The `optimal` reference policy (see optimal.h): a min-cost flow solver on
 * a small bipartite graph per cycle, the read-time cost model, and the cycle
 * that picks the pending tasks, solves and launches them. Successive
 * shortest paths: Dijkstra on reduced costs gives node potentials, then a
 * depth-first search pushes one task at a time along edges whose reduced
 * cost is zero until none is left, so a cycle needs one Dijkstra per
 * distinct path cost rather than one per task.
 */
#include "optimal.h"

#include <stdlib.h>
#include <string.h>

#include "locus/error.h"
#include "world.h"

#define INF_COST (INT64_MAX / 4)
#define INF_CAP UINT32_MAX
/* Tasks considered per cycle, per free slot: the solver picks which run. */
#define SIM_OPT_WINDOW 4

/* ---- min-cost flow ------------------------------------------------------ */

typedef struct mcf {
    uint32_t n_nodes, n_edges, cap_edges;
    uint32_t *head, *next, *to, *cap;
    int64_t *cost;
    int64_t *pot, *dist;
    uint32_t *it, *seen, stamp;
    uint8_t *dead;
    uint32_t *heap_node;
    int64_t *heap_key;
    uint32_t heap_n, heap_cap;
} mcf;

static int mcf_edge(mcf *g, uint32_t u, uint32_t v, uint32_t cap, int64_t cost)
{
    if (g->n_edges + 2 > g->cap_edges) {
        uint32_t nc = g->cap_edges ? g->cap_edges * 2 : 64;
        uint32_t *nx = realloc(g->next, nc * sizeof *nx);
        if (!nx)
            return LOCUS_ENOMEM;
        g->next = nx;
        uint32_t *nt = realloc(g->to, nc * sizeof *nt);
        if (!nt)
            return LOCUS_ENOMEM;
        g->to = nt;
        uint32_t *np = realloc(g->cap, nc * sizeof *np);
        if (!np)
            return LOCUS_ENOMEM;
        g->cap = np;
        int64_t *ncst = realloc(g->cost, nc * sizeof *ncst);
        if (!ncst)
            return LOCUS_ENOMEM;
        g->cost = ncst;
        g->cap_edges = nc;
    }
    uint32_t e = g->n_edges;
    g->to[e] = v, g->cap[e] = cap, g->cost[e] = cost, g->next[e] = g->head[u], g->head[u] = e;
    g->to[e + 1] = u, g->cap[e + 1] = 0, g->cost[e + 1] = -cost, g->next[e + 1] = g->head[v];
    g->head[v] = e + 1;
    g->n_edges += 2;
    return 0;
}

static void mcf_free(mcf *g)
{
    free(g->head), free(g->next), free(g->to), free(g->cap), free(g->cost);
    free(g->pot), free(g->dist), free(g->it), free(g->seen), free(g->dead);
    free(g->heap_node), free(g->heap_key);
}

static int heap_push(mcf *g, uint32_t v, int64_t key)
{
    if (g->heap_n == g->heap_cap) {
        uint32_t nc = g->heap_cap ? g->heap_cap * 2 : 64;
        uint32_t *hn = realloc(g->heap_node, nc * sizeof *hn);
        if (!hn)
            return LOCUS_ENOMEM;
        g->heap_node = hn;
        int64_t *hk = realloc(g->heap_key, nc * sizeof *hk);
        if (!hk)
            return LOCUS_ENOMEM;
        g->heap_key = hk;
        g->heap_cap = nc;
    }
    uint32_t i = g->heap_n++;
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (g->heap_key[p] <= key)
            break;
        g->heap_node[i] = g->heap_node[p];
        g->heap_key[i] = g->heap_key[p];
        i = p;
    }
    g->heap_node[i] = v;
    g->heap_key[i] = key;
    return 0;
}

static void heap_pop(mcf *g, uint32_t *v, int64_t *key)
{
    *v = g->heap_node[0];
    *key = g->heap_key[0];
    uint32_t n = --g->heap_n, i = 0;
    uint32_t lv = g->heap_node[n];
    int64_t lk = g->heap_key[n];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && g->heap_key[c + 1] < g->heap_key[c])
            c++;
        if (g->heap_key[c] >= lk)
            break;
        g->heap_node[i] = g->heap_node[c];
        g->heap_key[i] = g->heap_key[c];
        i = c;
    }
    g->heap_node[i] = lv;
    g->heap_key[i] = lk;
}

/* Shortest reduced-cost distances from s; returns whether t is reachable,
 * after moving the potentials so every residual edge stays non-negative. */
static int mcf_dijkstra(mcf *g, uint32_t s, uint32_t t, int *rc)
{
    for (uint32_t v = 0; v < g->n_nodes; v++)
        g->dist[v] = INF_COST;
    g->dist[s] = 0;
    g->heap_n = 0;
    if ((*rc = heap_push(g, s, 0)))
        return 0;
    while (g->heap_n) {
        uint32_t u;
        int64_t d;
        heap_pop(g, &u, &d);
        if (d > g->dist[u])
            continue;
        for (uint32_t e = g->head[u]; e != UINT32_MAX; e = g->next[e]) {
            if (!g->cap[e])
                continue;
            uint32_t v = g->to[e];
            int64_t nd = d + g->cost[e] + g->pot[u] - g->pot[v];
            if (nd < g->dist[v]) {
                g->dist[v] = nd;
                if ((*rc = heap_push(g, v, nd)))
                    return 0;
            }
        }
    }
    if (g->dist[t] >= INF_COST)
        return 0;
    int64_t far = 0;
    for (uint32_t v = 0; v < g->n_nodes; v++)
        if (g->dist[v] < INF_COST && g->dist[v] > far)
            far = g->dist[v];
    /* Unreachable nodes move by the farthest distance: edges into the
     * reachable part keep a non-negative reduced cost. */
    for (uint32_t v = 0; v < g->n_nodes; v++)
        g->pot[v] += g->dist[v] < INF_COST ? g->dist[v] : far;
    return 1;
}

/* One unit from u to t along tight edges (reduced cost 0). */
static int mcf_push(mcf *g, uint32_t u, uint32_t t)
{
    if (u == t)
        return 1;
    g->seen[u] = g->stamp;
    for (; g->it[u] != UINT32_MAX; g->it[u] = g->next[g->it[u]]) {
        uint32_t e = g->it[u], v = g->to[e];
        if (!g->cap[e] || g->dead[v] || g->seen[v] == g->stamp ||
            g->cost[e] + g->pot[u] - g->pot[v] != 0)
            continue;
        if (mcf_push(g, v, t)) {
            if (g->cap[e] != INF_CAP)
                g->cap[e]--;
            if (g->cap[e ^ 1] != INF_CAP)
                g->cap[e ^ 1]++;
            return 1;
        }
    }
    g->dead[u] = 1;
    return 0;
}

/* ---- the assignment ----------------------------------------------------- */

int sim_assign_solve(const sim_assign_problem *p, uint32_t *out_agent, int64_t *total_cost)
{
    mcf g;
    memset(&g, 0, sizeof g);
    const uint32_t S = 0, T = 1, task0 = 2, agent0 = task0 + p->n_tasks,
                   rack0 = agent0 + p->n_agents, any = rack0 + p->n_racks;
    g.n_nodes = any + 1;
    int rc = LOCUS_ENOMEM;
    size_t n = g.n_nodes;
    g.head = malloc(n * sizeof *g.head);
    g.pot = calloc(n, sizeof *g.pot);
    g.dist = malloc(n * sizeof *g.dist);
    g.it = malloc(n * sizeof *g.it);
    g.seen = calloc(n, sizeof *g.seen);
    g.dead = malloc(n);
    if (!g.head || !g.pot || !g.dist || !g.it || !g.seen || !g.dead)
        goto out;
    memset(g.head, 0xff, n * sizeof *g.head);
    for (uint32_t a = 0; a < p->n_agents; a++) {
        if (!p->agent_free[a])
            continue;
        if (mcf_edge(&g, agent0 + a, T, p->agent_free[a], 0) ||
            (p->n_racks && mcf_edge(&g, rack0 + p->agent_rack[a], agent0 + a, INF_CAP, 0)) ||
            mcf_edge(&g, any, agent0 + a, INF_CAP, 0))
            goto out;
    }
    /* Candidate edges: first edge of candidate i is at cand_edge0 + 2i. */
    uint32_t cand_edge0 = g.n_edges;
    for (size_t i = 0; i < p->n_cands; i++) {
        const sim_assign_cand *c = &p->cands[i];
        uint32_t v = c->kind == SIM_CAND_AGENT ? agent0 + c->target
                   : c->kind == SIM_CAND_RACK ? rack0 + c->target : any;
        if (mcf_edge(&g, task0 + c->task, v, 1, c->cost))
            goto out;
    }
    for (uint32_t k = 0; k < p->n_tasks; k++)
        if (mcf_edge(&g, S, task0 + k, 1, 0))
            goto out;
    rc = 0;
    while (mcf_dijkstra(&g, S, T, &rc)) {
        memset(g.dead, 0, n);
        memcpy(g.it, g.head, n * sizeof *g.it);
        do
            g.stamp++;
        while (mcf_push(&g, S, T));
    }
    if (rc)
        goto out;
    /* Read the assignment: a task's used candidate edge names an agent, a
     * rack or anywhere; flows out of rack and anywhere nodes go to agents in
     * task order. */
    int64_t total = 0;
    for (uint32_t k = 0; k < p->n_tasks; k++)
        out_agent[k] = UINT32_MAX;
    for (size_t i = 0; i < p->n_cands; i++) {
        uint32_t e = cand_edge0 + 2 * (uint32_t)i;
        if (g.cap[e] != 0)
            continue;
        const sim_assign_cand *c = &p->cands[i];
        total += c->cost;
        uint32_t from = c->kind == SIM_CAND_AGENT ? UINT32_MAX
                      : c->kind == SIM_CAND_RACK ? rack0 + c->target : any;
        if (from == UINT32_MAX) {
            out_agent[c->task] = c->target;
            continue;
        }
        /* Flow on a rack/any -> agent edge is its reverse edge's capacity. */
        for (uint32_t f = g.head[from]; f != UINT32_MAX; f = g.next[f]) {
            if ((f & 1) || g.to[f] < agent0 || g.to[f] >= rack0 || g.cap[f ^ 1] == 0)
                continue;
            g.cap[f ^ 1]--;
            out_agent[c->task] = g.to[f] - agent0;
            break;
        }
    }
    if (total_cost)
        *total_cost = total;
out:
    mcf_free(&g);
    return rc;
}

int64_t sim_read_cost_us(const sim_read_rates *r, int src_kind, int level, uint64_t bytes)
{
    double b = (double)bytes;
    double s = b / (src_kind == SIM_SRC_MEM ? r->mem_Bps : r->hdd_Bps);
    if (level >= SIM_LOCAL_RACK)
        s += b / r->nic_Bps;
    if (level >= SIM_LOCAL_REMOTE)
        s += b / r->uplink_Bps;
    return (int64_t)(s * 1e6 + 0.5);
}

/* ---- the stand-in allocator --------------------------------------------- */

static int null_create(const char *config_path, const locus_param *params, size_t n_params,
                       const locus_host_services *host, locus_allocator **out, char *err, size_t errlen)
{
    (void)config_path, (void)params, (void)n_params, (void)host, (void)err, (void)errlen;
    static char token;
    *out = (locus_allocator *)(void *)&token;
    return 0;
}
static void null_destroy(locus_allocator *a) { (void)a; }
static int null_add_agent(locus_allocator *a, const locus_agent_info *agent,
                          const locus_allocation *used, size_t n_used, double now)
{
    (void)a, (void)agent, (void)used, (void)n_used, (void)now;
    return 0;
}
static int null_add_framework(locus_allocator *a, const locus_framework_info *fw,
                              const locus_allocation *used, size_t n_used, double now)
{
    (void)a, (void)fw, (void)used, (void)n_used, (void)now;
    return 0;
}
static int null_recover(locus_allocator *a, const char *framework_id, const char *agent_id,
                        const locus_resources *r, double refuse_s, double now)
{
    (void)a, (void)framework_id, (void)agent_id, (void)r, (void)refuse_s, (void)now;
    return 0;
}
static int null_allocate(locus_allocator *a, double now, locus_offer_list *out)
{
    (void)a, (void)now;
    out->n = 0;
    return 0;
}

static const locus_allocator_api optimal_api = {
    LOCUS_ALLOCATOR_API_HEADER("optimal (min-cost flow bound inside locus-sim)", "1"),
    .create = null_create,
    .destroy = null_destroy,
    .add_agent = null_add_agent,
    .add_framework = null_add_framework,
    .recover = null_recover,
    .allocate = null_allocate,
};

const locus_allocator_api *sim_optimal_api(void)
{
    return &optimal_api;
}

/* ---- one cycle ---------------------------------------------------------- */

typedef struct opt_scratch {
    uint32_t *agent_free, *agent_rack, *task_job, *task_idx, *out, *rr, *cursor;
    sim_assign_cand *cands;
    size_t cap_cands;
} opt_scratch;

static int add_cand(opt_scratch *s, size_t *n, uint32_t task, uint8_t kind, uint32_t target, int64_t cost)
{
    if (*n == s->cap_cands) {
        size_t nc = s->cap_cands ? s->cap_cands * 2 : 256;
        sim_assign_cand *v = realloc(s->cands, nc * sizeof *v);
        if (!v)
            return LOCUS_ENOMEM;
        s->cands = v;
        s->cap_cands = nc;
    }
    s->cands[(*n)++] = (sim_assign_cand){ .task = task, .target = target, .kind = kind, .cost = cost };
    return 0;
}

/* Candidates of one map task reading `block`: each free agent holding a
 * copy (its best tier), each rack holding one (best tier in it), anywhere. */
static int block_cands(sim_world *w, opt_scratch *s, size_t *n, uint32_t task, uint32_t block,
                       uint64_t bytes, const sim_read_rates *r)
{
    const sim_storage *st = &w->st;
    const sim_cluster *cl = &w->cl;
    enum { MAXC = 64 };
    uint32_t src[MAXC];
    uint8_t kind[MAXC];
    uint32_t nsrc = 0;
    for (uint32_t e = st->blocks[block].mem_head; e != SIM_NONE && nsrc < MAXC; e = st->entries[e].next_in_block)
        src[nsrc] = st->entries[e].agent, kind[nsrc++] = SIM_SRC_MEM;
    const uint32_t *h = sim_storage_hdd(st, block);
    for (uint32_t i = 0; i < st->replicas && nsrc < MAXC; i++)
        src[nsrc] = h[i], kind[nsrc++] = SIM_SRC_HDD;
    int any_mem = 0;
    int rc;
    for (uint32_t i = 0; i < nsrc; i++) {
        any_mem |= kind[i] == SIM_SRC_MEM;
        /* An agent listed twice (memory and HDD): the memory copy came first. */
        int dup = 0;
        for (uint32_t k = 0; k < i; k++)
            dup |= src[k] == src[i];
        if (!dup && s->agent_free[src[i]] &&
            (rc = add_cand(s, n, task, SIM_CAND_AGENT, src[i], sim_read_cost_us(r, kind[i], SIM_LOCAL_NODE, bytes))))
            return rc;
    }
    if (cl->n_racks > 1) {
        for (uint32_t i = 0; i < nsrc; i++) {
            uint32_t rack = cl->agents[src[i]].rack_idx;
            int dup = 0;
            for (uint32_t k = 0; k < i; k++)
                dup |= cl->agents[src[k]].rack_idx == rack;
            if (!dup && (rc = add_cand(s, n, task, SIM_CAND_RACK, rack,
                                       sim_read_cost_us(r, kind[i], SIM_LOCAL_RACK, bytes))))
                return rc;
        }
    }
    int level = cl->n_racks > 1 ? SIM_LOCAL_REMOTE : SIM_LOCAL_RACK;
    return add_cand(s, n, task, SIM_CAND_ANY, 0,
                    sim_read_cost_us(r, any_mem ? SIM_SRC_MEM : SIM_SRC_HDD, level, bytes));
}

int sim_optimal_cycle(sim_world *w)
{
    const sim_config *c = w->cfg;
    sim_cluster *cl = &w->cl;
    opt_scratch s;
    memset(&s, 0, sizeof s);
    int rc = LOCUS_ENOMEM;
    uint32_t na = cl->n_agents;
    s.agent_free = malloc(na * sizeof *s.agent_free);
    s.agent_rack = malloc(na * sizeof *s.agent_rack);
    if (!s.agent_free || !s.agent_rack)
        goto out;
    uint64_t free_total = 0;
    for (uint32_t a = 0; a < na; a++) {
        const sim_agent_use *ag = &cl->use[a];
        double fc = (cl->cpus - ag->cpus + 1e-9) / c->task_cpus;
        double fm = c->task_mem_mb > 0 ? (cl->mem_mb - ag->mem + 1e-9) / (double)c->task_mem_mb : fc;
        double f = fc < fm ? fc : fm;
        s.agent_free[a] = f > 0 ? (uint32_t)f : 0;
        s.agent_rack[a] = cl->agents[a].rack_idx;
        free_total += s.agent_free[a];
    }
    rc = 0;
    if (free_total == 0 || w->n_active == 0)
        goto out;
    /* Tasks: round-robin over the active jobs in arrival order, one pending
     * task of each in turn, up to the free slots. */
    size_t nact = w->n_active;
    s.rr = malloc(nact * sizeof *s.rr);
    s.cursor = malloc(nact * sizeof *s.cursor);
    uint64_t want = free_total * SIM_OPT_WINDOW;
    size_t cap_t = want < 1u << 20 ? (size_t)want : 1u << 20;
    s.task_job = malloc(cap_t * sizeof *s.task_job);
    s.task_idx = malloc(cap_t * sizeof *s.task_idx);
    s.out = malloc(cap_t * sizeof *s.out);
    rc = LOCUS_ENOMEM;
    if (!s.rr || !s.cursor || !s.task_job || !s.task_idx || !s.out)
        goto out;
    size_t live = 0;
    for (size_t i = 0; i < nact; i++) {
        sim_job_rt *j = &w->jobs[w->active[i]];
        if (j->state == 1 && j->pending > 0) {
            s.rr[live] = w->active[i];
            s.cursor[live++] = j->any_cursor;
        }
    }
    uint32_t nt = 0;
    while (live > 0 && nt < cap_t) {
        size_t keep = 0;
        for (size_t i = 0; i < live && nt < cap_t; i++) {
            sim_job_rt *j = &w->jobs[s.rr[i]];
            uint32_t end = j->phase ? j->n_tasks : j->n_maps, t = s.cursor[i];
            while (t < end && j->tasks[t].state != SIM_TASK_PENDING)
                t++;
            if (t < end) {
                s.task_job[nt] = s.rr[i];
                s.task_idx[nt++] = t;
                s.rr[keep] = s.rr[i];
                s.cursor[keep++] = t + 1;
            }
        }
        live = keep;
    }
    sim_read_rates r = { .mem_Bps = w->net.mem_Bps, .hdd_Bps = w->net.hdd_stream_Bps,
                         .nic_Bps = w->net.nic_Bps,
                         .uplink_Bps = c->oversubscription > 0 ? w->net.nic_Bps / c->oversubscription
                                                               : w->net.nic_Bps };
    size_t ncand = 0;
    for (uint32_t k = 0; k < nt; k++) {
        const sim_task *tk = &w->jobs[s.task_job[k]].tasks[s.task_idx[k]];
        rc = !tk->reduce && tk->block != SIM_NONE
                 ? block_cands(w, &s, &ncand, k, tk->block, tk->bytes, &r)
                 : add_cand(&s, &ncand, k, SIM_CAND_ANY, 0, 0);
        if (rc)
            goto out;
    }
    sim_assign_problem p = { .n_tasks = nt, .n_agents = na, .agent_free = s.agent_free,
                             .agent_rack = s.agent_rack, .n_racks = cl->n_racks,
                             .cands = s.cands, .n_cands = ncand };
    if ((rc = sim_assign_solve(&p, s.out, NULL)))
        goto out;
    for (uint32_t k = 0; k < nt; k++)
        if (s.out[k] != UINT32_MAX && (rc = sim_fw_launch(w, s.task_job[k], s.task_idx[k], s.out[k])))
            goto out;
    rc = 0;
out:
    if (rc == LOCUS_ENOMEM && !w->err[0])
        snprintf(w->err, sizeof w->err, "%s: out of memory", w->name);
    free(s.agent_free), free(s.agent_rack), free(s.task_job), free(s.task_idx), free(s.out);
    free(s.rr), free(s.cursor), free(s.cands);
    return rc;
}
