/* A minimal allocator plugin on the Locus ABI for the simulator's tests: it
 * makes no offer at all for the first `test.silent_cycles` allocation cycles
 * (a policy that declines everything for a while), then offers every agent's
 * free resources (at most `test.offer_cpus` CPUs of each, 0 = all: a slice
 * too small for any task) to the active, unsuppressed frameworks in turn. Built like
 * a third party would build one: it includes only locus/allocator.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locus/allocator.h"

#define MAX_AGENTS 4096
#define MAX_FWS 4096

typedef struct agent {
    char id[32];
    double cpus, mem, free_cpus, free_mem;
} agent;

typedef struct fw {
    char id[64];
    int active, suppressed;
} fw;

struct locus_allocator {
    agent agents[MAX_AGENTS];
    size_t n_agents;
    fw *fws;
    size_t n_fws;
    size_t rr;
    long silent;
    long cycles;
    double offer_cpus;
    locus_offer offers[MAX_AGENTS];
    locus_scalar items[MAX_AGENTS][2];
    char err[256];
};

static int create(const char *config_path, const locus_param *params, size_t n_params,
                  const locus_host_services *host, locus_allocator **out, char *err, size_t errlen)
{
    (void)config_path;
    (void)host;
    locus_allocator *a = calloc(1, sizeof *a);
    if (!a || !(a->fws = calloc(MAX_FWS, sizeof *a->fws))) {
        free(a);
        snprintf(err, errlen, "out of memory");
        return LOCUS_ENOMEM;
    }
    for (size_t i = 0; i < n_params; i++) {
        if (strcmp(params[i].key, "test.silent_cycles") == 0)
            a->silent = strtol(params[i].value, NULL, 10);
        else if (strcmp(params[i].key, "test.offer_cpus") == 0)
            a->offer_cpus = strtod(params[i].value, NULL);
        else if (strcmp(params[i].key, "policy.seed") != 0 && strcmp(params[i].key, "policy.name") != 0) {
            snprintf(err, errlen, "override: %s: unknown key", params[i].key);
            free(a->fws);
            free(a);
            return LOCUS_ECONFIG;
        }
    }
    *out = a;
    return 0;
}

static void destroy(locus_allocator *a)
{
    if (a)
        free(a->fws);
    free(a);
}

static const char *last_error(const locus_allocator *a)
{
    return a->err;
}

static double get(const locus_resources *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].name, name) == 0)
            return r->items[i].value;
    return 0;
}

static agent *find_agent(locus_allocator *a, const char *id)
{
    for (size_t i = 0; i < a->n_agents; i++)
        if (strcmp(a->agents[i].id, id) == 0)
            return &a->agents[i];
    return NULL;
}

static fw *find_fw(locus_allocator *a, const char *id)
{
    for (size_t i = 0; i < a->n_fws; i++)
        if (strcmp(a->fws[i].id, id) == 0)
            return &a->fws[i];
    return NULL;
}

static int add_agent(locus_allocator *a, const locus_agent_info *info, const locus_allocation *used,
                     size_t n_used, double now)
{
    (void)used;
    (void)n_used;
    (void)now;
    if (a->n_agents == MAX_AGENTS)
        return LOCUS_EINVAL;
    agent *g = &a->agents[a->n_agents++];
    snprintf(g->id, sizeof g->id, "%s", info->id);
    g->cpus = g->free_cpus = get(&info->total, "cpus");
    g->mem = g->free_mem = get(&info->total, "mem");
    return 0;
}

static int add_framework(locus_allocator *a, const locus_framework_info *info,
                         const locus_allocation *used, size_t n_used, double now)
{
    (void)used;
    (void)n_used;
    (void)now;
    if (find_fw(a, info->id))
        return LOCUS_EEXIST;
    if (a->n_fws == MAX_FWS)
        return LOCUS_EINVAL;
    fw *f = &a->fws[a->n_fws++];
    snprintf(f->id, sizeof f->id, "%s", info->id);
    f->active = info->active;
    return 0;
}

static int remove_framework(locus_allocator *a, const char *id)
{
    fw *f = find_fw(a, id);
    if (!f)
        return LOCUS_ENOTFOUND;
    *f = a->fws[--a->n_fws];
    return 0;
}

static int suppress(locus_allocator *a, const char *id, const char *role)
{
    (void)role;
    fw *f = find_fw(a, id);
    if (!f)
        return LOCUS_ENOTFOUND;
    f->suppressed = 1;
    return 0;
}

static int revive(locus_allocator *a, const char *id, const char *role)
{
    (void)role;
    fw *f = find_fw(a, id);
    if (!f)
        return LOCUS_ENOTFOUND;
    f->suppressed = 0;
    return 0;
}

static int recover(locus_allocator *a, const char *fw_id, const char *agent_id,
                   const locus_resources *r, double refuse, double now)
{
    (void)fw_id;
    (void)refuse;
    (void)now;
    agent *g = find_agent(a, agent_id);
    if (!g)
        return LOCUS_ENOTFOUND;
    g->free_cpus += get(r, "cpus");
    g->free_mem += get(r, "mem");
    if (g->free_cpus > g->cpus + 1e-6 || g->free_mem > g->mem + 1e-6) {
        snprintf(a->err, sizeof a->err, "recover: %s over its total", agent_id);
        return LOCUS_EINVAL;
    }
    return 0;
}

static int set_demand(locus_allocator *a, const char *id, const locus_demand_item *items, size_t n)
{
    (void)items;
    (void)n;
    return find_fw(a, id) ? 0 : LOCUS_ENOTFOUND;
}

static int allocate(locus_allocator *a, double now, locus_offer_list *out)
{
    (void)now;
    out->offers = a->offers;
    out->n = 0;
    if (a->cycles++ < a->silent)
        return 0;
    for (size_t i = 0; i < a->n_agents; i++) {
        agent *g = &a->agents[i];
        if (g->free_cpus < 1e-9 || a->n_fws == 0)
            continue;
        fw *f = NULL;
        for (size_t k = 0; k < a->n_fws && !f; k++) {
            fw *c = &a->fws[(a->rr + k) % a->n_fws];
            if (c->active && !c->suppressed)
                f = c;
        }
        if (!f)
            break;
        a->rr = (size_t)(f - a->fws) + 1;
        locus_scalar *it = a->items[out->n];
        double cpus = a->offer_cpus > 0 && a->offer_cpus < g->free_cpus ? a->offer_cpus : g->free_cpus;
        it[0] = (locus_scalar){ "cpus", cpus };
        it[1] = (locus_scalar){ "mem", g->free_mem };
        a->offers[out->n++] = (locus_offer){ .framework_id = f->id, .role = "*", .agent_id = g->id,
                                             .resources = { it, 2 }, .locality = { .level = -1 },
                                             .reason = "test" };
        g->free_cpus -= cpus;
        g->free_mem = 0;
    }
    return 0;
}

static const locus_allocator_api api = {
    LOCUS_ALLOCATOR_API_HEADER("silent-test", "1"),
    .create = create,
    .destroy = destroy,
    .last_error = last_error,
    .add_agent = add_agent,
    .add_framework = add_framework,
    .remove_framework = remove_framework,
    .suppress = suppress,
    .revive = revive,
    .recover = recover,
    .set_demand = set_demand,
    .allocate = allocate,
};

LOCUS_ALLOCATOR_EXPORT const locus_allocator_api *locus_allocator_entry(void)
{
    return &api;
}
