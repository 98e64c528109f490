/* Allocator state and its life cycle: agents, frameworks, their roles (one
 * DRF client per framework-role), the allocations that make up shares, and
 * refuse filters. Filters are per (agent, framework), kept per agent
 * (la_filter.c: sparse table or dense array, whichever is smaller), so
 * 10,000 agents x 1,000 frameworks fully filtered costs ~40 MB; each agent
 * counts the filters of offerable frameworks and knows its earliest expiry,
 * so an agent filtered for every offerable framework is skipped in O(1) -
 * the case that makes Mesos's DeclineOffers benchmark O(agents x frameworks)
 * per round. Everything here runs on host events, outside the cycle. */
#include "la_core.h"
#include "locus/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9
#define NONE LA_MAP_NONE

static uint32_t filter_get(const la_agent *ag, uint32_t fw)
{
    return la_fset_get(&ag->filters, fw);
}

/* Keeps the locality index's copy of a filter in step (see la_idxent). */
static void idx_note_filter(locus_allocator *a, const la_agent *ag, uint32_t fw, uint32_t exp)
{
    const struct la_idxent *e = la_idx_find(a, (uint32_t)(ag - a->agents), fw);
    if (e)
        a->idx_ent[e - a->idx_ent].fexp = exp;
}

static int fw_offerable(const locus_allocator *a, uint32_t fw)
{
    return a->fws[fw].n_listed > 0;
}

static void filter_clear_one(locus_allocator *a, la_agent *ag, uint32_t fw)
{
    if (!la_fset_del(&ag->filters, fw))
        return;
    idx_note_filter(a, ag, fw, 0);
    a->fws[fw].n_filters--;
    if (fw_offerable(a, fw))
        ag->n_filt_off--;
}

static int filter_set(locus_allocator *a, la_agent *ag, uint32_t fw, uint32_t exp)
{
    int added = 0;
    if (la_fset_set(&ag->filters, fw, exp, a->n_fw_slots, &added))
        return LOCUS_ENOMEM;
    idx_note_filter(a, ag, fw, la_fset_get(&ag->filters, fw));
    if (added)
        a->fws[fw].n_filters++;
    if (added && fw_offerable(a, fw))
        ag->n_filt_off++;
    /* A longer refusal replaces a shorter one, as Mesos keeps the later expiry. */
    if (exp < ag->min_expiry)
        ag->min_expiry = exp;
    return 0;
}

typedef struct drop_ctx {
    locus_allocator *a;
    la_agent *ag;
} drop_ctx;

static void on_drop(void *ctx, uint32_t fw)
{
    drop_ctx *d = ctx;
    idx_note_filter(d->a, d->ag, fw, 0);
    d->a->fws[fw].n_filters--;
    if (fw_offerable(d->a, fw))
        d->ag->n_filt_off--;
}

/* Drops expired filters of one agent and recomputes its earliest expiry. */
void la_filters_expire(locus_allocator *a, la_agent *ag, uint32_t now_t)
{
    drop_ctx d = {a, ag};
    ag->min_expiry = la_fset_expire(&ag->filters, now_t, on_drop, &d);
}

/* The framework's offerability changed: keep n_filt_off of every agent
 * holding one of its filters exact. O(agents), on rare events only. */
static void offerable_changed(locus_allocator *a, uint32_t fw, int now_offerable)
{
    a->n_offerable += now_offerable ? 1 : -1;
    for (uint32_t i = 0; i < a->n_live && a->fws[fw].n_filters; i++) {
        la_agent *ag = &a->agents[a->live[i]];
        if (filter_get(ag, fw))
            ag->n_filt_off += now_offerable ? 1 : -1;
    }
}

static void filters_clear_fw(locus_allocator *a, uint32_t fw)
{
    for (uint32_t i = 0; i < a->n_live && a->fws[fw].n_filters; i++) {
        la_agent *ag = &a->agents[a->live[i]];
        if (ag->filters.n)
            filter_clear_one(a, ag, fw);
    }
}

static int list_client(locus_allocator *a, uint32_t cs)
{
    la_client *c = &a->clients[cs];
    la_fw *f = &a->fws[c->fw];
    if (c->listed || c->detached || c->suppressed || !f->active)
        return 0;
    la_role *ro = &a->roles[c->role];
    if (la_grow((void **)&ro->list, &ro->cap, ro->n + 1, sizeof *ro->list))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    ro->list[ro->n++] = cs; /* sorted at the next cycle */
    c->listed = 1;
    if (f->n_listed++ == 0)
        offerable_changed(a, c->fw, 1);
    return 0;
}

static void unlist_client(locus_allocator *a, uint32_t cs)
{
    la_client *c = &a->clients[cs];
    if (!c->listed)
        return;
    la_role *ro = &a->roles[c->role];
    uint32_t i = la_list_find(a, ro, cs, 0);
    if (i != NONE) {
        memmove(&ro->list[i], &ro->list[i + 1], sizeof *ro->list * (ro->n - i - 1));
        ro->n--;
    }
    c->listed = 0;
    la_fw *f = &a->fws[c->fw];
    if (--f->n_listed == 0)
        offerable_changed(a, c->fw, 0);
}

static void relist_fw(locus_allocator *a, uint32_t fw)
{
    la_fw *f = &a->fws[fw];
    for (uint32_t i = 0; i < f->n_clients; i++) {
        if (f->active)
            list_client(a, f->clients[i]);
        else
            unlist_client(a, f->clients[i]);
    }
}

static uint32_t role_get(locus_allocator *a, const char *name, int create)
{
    uint32_t r = la_strmap_get(&a->role_map, name);
    if (r != NONE || !create)
        return r;
    if (la_grow((void **)&a->roles, &a->cap_roles, a->n_roles + 1, sizeof *a->roles))
        return NONE;
    uint32_t *order = realloc(a->role_order, sizeof *order * (a->n_roles + 1));
    if (!order)
        return NONE;
    a->role_order = order;
    la_role *ro = &a->roles[a->n_roles];
    memset(ro, 0, sizeof *ro);
    if (!(ro->name = strdup(name)))
        return NONE;
    ro->weight = 1.0;
    if (la_strmap_put(&a->role_map, ro->name, a->n_roles)) {
        free(ro->name);
        return NONE;
    }
    a->role_order[a->n_roles] = a->n_roles;
    return a->n_roles++;
}

static uint32_t rack_get(locus_allocator *a, const char *name)
{
    if (!name || !*name)
        return NONE;
    uint32_t r = la_strmap_get(&a->rack_map, name);
    if (r != NONE)
        return r;
    if (la_grow((void **)&a->racks, &a->cap_racks, a->n_racks + 1, sizeof *a->racks))
        return NONE;
    char *copy = strdup(name);
    if (!copy || la_strmap_put(&a->rack_map, copy, a->n_racks)) {
        free(copy);
        return NONE;
    }
    a->racks[a->n_racks] = copy;
    a->rack_recip = (uint32_t)(UINT32_MAX / (a->n_racks + 1));
    return a->n_racks++;
}

static uint32_t agent_find(const locus_allocator *a, const char *id)
{
    return id ? la_strmap_get(&a->agent_map, id) : NONE;
}

static uint32_t fw_find(const locus_allocator *a, const char *id)
{
    return id ? la_strmap_get(&a->fw_map, id) : NONE;
}

static uint64_t alloc_key(uint32_t agent, uint32_t client)
{
    return (uint64_t)agent << 32 | client;
}

/* Adds r to client cs on agent ag (offer made or resources in use). */
/* Fetches the slot of alloc_map where la_alloc_add will look (agent ag,
 * client cs): the locality pick knows its likely winner while it still
 * walks the other candidates, and with the index in cache this map's line
 * is a miss on most offers at 10,000 agents. */
void la_alloc_prefetch(const locus_allocator *a, uint32_t ag, uint32_t cs)
{
    const la_u64map *m = &a->alloc_map;
    if (!m->cap)
        return;
    size_t i = locus_hash_mix64(alloc_key(ag, cs)) & (m->cap - 1);
    __builtin_prefetch(&m->keys[i]);
    __builtin_prefetch(&m->vals[i]);
}

int la_alloc_add(locus_allocator *a, uint32_t ag, uint32_t cs, const double *r)
{
    uint64_t key = alloc_key(ag, cs);
    uint32_t s = la_u64map_get(&a->alloc_map, key);
    la_client *c = &a->clients[cs];
    if (s == NONE) {
        if (a->n_free_allocs)
            s = a->free_allocs[--a->n_free_allocs];
        else {
            if (la_grow((void **)&a->allocs, &a->cap_allocs, a->n_alloc_slots + 1,
                     sizeof *a->allocs))
                return la_seterr(a, LOCUS_ENOMEM, "out of memory");
            /* The free list holds every slot, so a release never allocates. */
            uint32_t *fl = realloc(a->free_allocs, sizeof *fl * a->cap_allocs);
            if (!fl)
                return la_seterr(a, LOCUS_ENOMEM, "out of memory");
            a->free_allocs = fl;
            s = a->n_alloc_slots++;
        }
        if (la_u64map_put(&a->alloc_map, key, s)) {
            a->free_allocs[a->n_free_allocs++] = s; /* never fails: slot came from there or is new */
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        }
        la_alloc *al = &a->allocs[s];
        memset(al, 0, sizeof *al);
        al->live = 1;
        al->agent = ag;
        al->client = cs;
        la_agent *g = &a->agents[ag];
        la_fw *f = &a->fws[c->fw];
        al->a_prev = NONE;
        al->a_next = g->alloc_head;
        if (g->alloc_head != NONE)
            a->allocs[g->alloc_head].a_prev = s;
        g->alloc_head = s;
        al->f_prev = NONE;
        al->f_next = f->alloc_head;
        if (f->alloc_head != NONE)
            a->allocs[f->alloc_head].f_prev = s;
        f->alloc_head = s;
    }
    la_alloc *al = &a->allocs[s];
    la_agent *g = &a->agents[ag];
    la_role *ro = &a->roles[c->role];
    for (uint32_t k = 0; k < a->n_res; k++) {
        al->r[k] += r[k];
        g->alloc[k] += r[k];
        c->alloc[k] += r[k];
        ro->alloc[k] += r[k];
    }
    return 0;
}

static void alloc_unlink(locus_allocator *a, uint32_t s)
{
    la_alloc *al = &a->allocs[s];
    la_agent *g = &a->agents[al->agent];
    la_fw *f = &a->fws[a->clients[al->client].fw];
    if (al->a_prev != NONE)
        a->allocs[al->a_prev].a_next = al->a_next;
    else
        g->alloc_head = al->a_next;
    if (al->a_next != NONE)
        a->allocs[al->a_next].a_prev = al->a_prev;
    if (al->f_prev != NONE)
        a->allocs[al->f_prev].f_next = al->f_next;
    else
        f->alloc_head = al->f_next;
    if (al->f_next != NONE)
        a->allocs[al->f_next].f_prev = al->f_prev;
    la_u64map_del(&a->alloc_map, alloc_key(al->agent, al->client));
    al->live = 0;
    a->free_allocs[a->n_free_allocs++] = s;
}

/* Subtracts r (clamped) from allocation slot s; frees it when empty. */
static void alloc_sub(locus_allocator *a, uint32_t s, const double *r)
{
    la_alloc *al = &a->allocs[s];
    la_agent *g = &a->agents[al->agent];
    la_client *c = &a->clients[al->client];
    la_role *ro = &a->roles[c->role];
    for (uint32_t k = 0; k < a->n_res; k++) {
        double x = r[k] < al->r[k] ? r[k] : al->r[k];
        if (x <= 0)
            continue;
        al->r[k] -= x;
        g->alloc[k] -= x;
        c->alloc[k] -= x;
        ro->alloc[k] -= x;
        if (al->r[k] < EPS)
            al->r[k] = 0;
        if (g->alloc[k] < EPS)
            g->alloc[k] = 0;
        if (c->alloc[k] < EPS)
            c->alloc[k] = 0;
        if (ro->alloc[k] < EPS)
            ro->alloc[k] = 0;
    }
    if (la_res_empty(al->r, a->n_res))
        alloc_unlink(a, s);
}

static uint32_t client_new(locus_allocator *a, uint32_t fw, uint32_t role)
{
    uint32_t s;
    if (a->n_free_clients)
        s = a->free_clients[--a->n_free_clients];
    else {
        if (la_grow((void **)&a->clients, &a->cap_clients, a->n_client_slots + 1,
                 sizeof *a->clients))
            return NONE;
        uint32_t fcap = a->cap_clients;
        uint32_t *fl = realloc(a->free_clients, sizeof *fl * fcap);
        if (!fl)
            return NONE;
        a->free_clients = fl;
        s = a->n_client_slots++;
    }
    la_client *c = &a->clients[s];
    memset(c, 0, sizeof *c);
    c->live = 1;
    c->fw = fw;
    c->role = role;
    c->key8 = la_key8(a->fws[fw].id);
    return s;
}

static void client_free(locus_allocator *a, uint32_t s)
{
    unlist_client(a, s);
    a->clients[s].live = 0;
    a->free_clients[a->n_free_clients++] = s;
}

/* Agents changed (host names, racks, slots): every framework's locality
 * must be recomputed. O(1): frameworks compare epochs at the next cycle. */
void la_mark_hints_dirty(locus_allocator *a)
{
    a->hint_epoch++;
    a->index_dirty = 1;
}

/* Attributes `used` resources on agent ag to their frameworks. */
static int add_used(locus_allocator *a, uint32_t ag, const locus_allocation *used, size_t n,
                    uint32_t only_fw, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        const locus_allocation *u = &used[i];
        double r[LA_MAX_RES];
        int rc = la_res_vec(a, &u->resources, 1, r, what);
        if (rc)
            return rc;
        uint32_t fw = only_fw != NONE ? only_fw : fw_find(a, u->framework_id);
        uint32_t g = ag != NONE ? ag : agent_find(a, u->agent_id);
        if (g == NONE)
            return la_seterr(a, LOCUS_ENOTFOUND, "%s: used resources on unknown agent %s", what,
                             u->agent_id ? u->agent_id : "(null)");
        uint32_t cs = NONE;
        if (fw != NONE) {
            la_fw *f = &a->fws[fw];
            for (uint32_t j = 0; j < f->n_clients; j++) {
                const la_client *c = &a->clients[f->clients[j]];
                if (!u->role || strcmp(a->roles[c->role].name, u->role) == 0) {
                    cs = f->clients[j];
                    break;
                }
            }
        }
        if (cs == NONE) {
            /* A framework not (yet) known: the resources are busy on the agent
             * but count towards no share. */
            la_agent *gg = &a->agents[g];
            for (uint32_t k = 0; k < a->n_res; k++) {
                gg->alloc[k] += r[k];
                gg->unattributed[k] += r[k];
            }
            continue;
        }
        if (only_fw != NONE) {
            /* The agent reported these as used before the framework was
             * known (master failover): attribute them, do not count twice. */
            la_agent *gg = &a->agents[g];
            for (uint32_t k = 0; k < a->n_res; k++) {
                double moved = r[k] < gg->unattributed[k] ? r[k] : gg->unattributed[k];
                gg->unattributed[k] -= moved;
                gg->alloc[k] -= moved;
            }
        }
        if ((rc = la_alloc_add(a, g, cs, r)))
            return rc;
    }
    return 0;
}

int la_add_agent(locus_allocator *a, const locus_agent_info *info, const locus_allocation *used,
                 size_t n_used, double now)
{
    if (!a || !info || !info->id || !*info->id)
        return a ? la_seterr(a, LOCUS_EINVAL, "add_agent: missing agent id") : LOCUS_EINVAL;
    if (n_used && !used)
        return la_seterr(a, LOCUS_EINVAL, "add_agent %s: n_used without used", info->id);
    la_note_time(a, now);
    if (agent_find(a, info->id) != NONE)
        return la_seterr(a, LOCUS_EEXIST, "add_agent: agent %s already exists", info->id);
    double total[LA_MAX_RES];
    int rc = la_res_vec(a, &info->total, 1, total, info->id);
    if (rc)
        return rc;
    uint32_t s;
    if (a->n_free_agents)
        s = a->free_agents[--a->n_free_agents];
    else {
        if (la_grow((void **)&a->agents, &a->cap_agents, a->n_agents_slots + 1, sizeof *a->agents))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        uint32_t *fl = realloc(a->free_agents, sizeof *fl * a->cap_agents);
        uint32_t *lv = fl ? realloc(a->live, sizeof *lv * a->cap_agents) : NULL;
        if (fl)
            a->free_agents = fl;
        if (!lv)
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        a->live = lv;
        s = a->n_agents_slots++;
    }
    la_agent *g = &a->agents[s];
    memset(g, 0, sizeof *g);
    g->id = strdup(info->id);
    g->hostname = strdup(info->hostname ? info->hostname : "");
    if (!g->id || !g->hostname || la_strmap_put(&a->agent_map, g->id, s) ||
        (*g->hostname && la_strmap_put(&a->host_map, g->hostname, s))) {
        la_strmap_del(&a->agent_map, info->id);
        free(g->id);
        free(g->hostname);
        g->id = g->hostname = NULL;
        a->free_agents[a->n_free_agents++] = s;
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    }
    g->rack = rack_get(a, info->rack);
    g->live = g->active = 1;
    memcpy(g->total, total, sizeof total);
    g->alloc_head = NONE;
    g->min_expiry = UINT32_MAX;
    g->live_pos = a->n_live;
    a->live[a->n_live++] = s;
    a->st.agents++;
    la_mark_hints_dirty(a);
    if ((rc = add_used(a, s, used, n_used, NONE, info->id)))
        la_log(a, LOCUS_LOG_WARN, "add_agent %s: %s", info->id, a->err);
    return rc;
}

int la_remove_agent(locus_allocator *a, const char *agent_id)
{
    uint32_t s = agent_find(a, agent_id);
    if (s == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "remove_agent: unknown agent %s",
                         agent_id ? agent_id : "(null)");
    la_agent *g = &a->agents[s];
    while (g->alloc_head != NONE)
        alloc_sub(a, g->alloc_head, a->allocs[g->alloc_head].r);
    drop_ctx d = {a, g};
    (void)la_fset_expire(&g->filters, UINT32_MAX, on_drop, &d); /* keeps per-framework counts */
    la_fset_free(&g->filters);
    la_strmap_del(&a->agent_map, g->id);
    if (*g->hostname && la_strmap_get(&a->host_map, g->hostname) == s)
        la_strmap_del(&a->host_map, g->hostname);
    uint32_t pos = g->live_pos;
    a->live[pos] = a->live[--a->n_live];
    a->agents[a->live[pos]].live_pos = pos;
    free(g->id);
    free(g->hostname);
    memset(g, 0, sizeof *g);
    a->free_agents[a->n_free_agents++] = s;
    a->st.agents--;
    la_mark_hints_dirty(a);
    return 0;
}

int la_update_agent(locus_allocator *a, const locus_agent_info *info)
{
    uint32_t s = info ? agent_find(a, info->id) : NONE;
    if (s == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "update_agent: unknown agent %s",
                         info && info->id ? info->id : "(null)");
    double total[LA_MAX_RES];
    int rc = la_res_vec(a, &info->total, 1, total, info->id);
    if (rc)
        return rc;
    la_agent *g = &a->agents[s];
    memcpy(g->total, total, sizeof total);
    uint32_t rack = rack_get(a, info->rack);
    if (info->hostname && strcmp(info->hostname, g->hostname) != 0) {
        char *h = strdup(info->hostname);
        if (!h)
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        if (*g->hostname && la_strmap_get(&a->host_map, g->hostname) == s)
            la_strmap_del(&a->host_map, g->hostname);
        free(g->hostname);
        g->hostname = h;
        if (*h && la_strmap_put(&a->host_map, h, s))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    }
    g->rack = rack;
    la_mark_hints_dirty(a);
    return 0;
}

static int agent_set_active(locus_allocator *a, const char *id, int on)
{
    uint32_t s = agent_find(a, id);
    if (s == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "%s: unknown agent %s",
                         on ? "activate_agent" : "deactivate_agent", id ? id : "(null)");
    a->agents[s].active = on;
    return 0;
}

int la_activate_agent(locus_allocator *a, const char *id)
{
    return agent_set_active(a, id, 1);
}

int la_deactivate_agent(locus_allocator *a, const char *id)
{
    return agent_set_active(a, id, 0);
}

static int fw_set_roles(locus_allocator *a, uint32_t fs, const locus_framework_info *info)
{
    la_fw *f = &a->fws[fs];
    uint32_t *nc = malloc(sizeof *nc * (info->n_roles + f->n_clients));
    if (!nc)
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    uint32_t n = 0;
    for (size_t i = 0; i < info->n_roles; i++) {
        const char *rn = info->roles[i];
        if (!rn || !*rn) {
            free(nc);
            return la_seterr(a, LOCUS_EINVAL, "framework %s: empty role name", info->id);
        }
        uint32_t r = role_get(a, rn, 1);
        if (r == NONE) {
            free(nc);
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        }
        uint32_t found = NONE;
        for (uint32_t j = 0; j < f->n_clients; j++)
            if (a->clients[f->clients[j]].role == r)
                found = f->clients[j];
        for (uint32_t j = 0; j < n; j++)
            if (a->clients[nc[j]].role == r)
                found = NONE, r = NONE; /* duplicate role in the list: once is enough */
        if (r == NONE)
            continue;
        if (found == NONE && (found = client_new(a, fs, r)) == NONE) {
            free(nc);
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        }
        a->clients[found].detached = 0;
        nc[n++] = found;
    }
    /* Roles dropped: a client with resources still allocated stays (its
     * allocation keeps counting) but is never offered again. */
    for (uint32_t j = 0; j < f->n_clients; j++) {
        uint32_t cs = f->clients[j];
        int kept = 0;
        for (uint32_t i = 0; i < n; i++)
            kept |= nc[i] == cs;
        if (kept)
            continue;
        if (la_res_empty(a->clients[cs].alloc, a->n_res))
            client_free(a, cs);
        else {
            unlist_client(a, cs);
            a->clients[cs].detached = 1;
            nc[n++] = cs;
        }
    }
    free(f->clients);
    f->clients = nc;
    f->n_clients = n;
    relist_fw(a, fs);
    return 0;
}

int la_add_framework(locus_allocator *a, const locus_framework_info *info,
                     const locus_allocation *used, size_t n_used, double now)
{
    if (!a || !info || !info->id || !*info->id)
        return a ? la_seterr(a, LOCUS_EINVAL, "add_framework: missing framework id") : LOCUS_EINVAL;
    la_note_time(a, now);
    if (fw_find(a, info->id) != NONE)
        return la_seterr(a, LOCUS_EEXIST, "add_framework: framework %s already exists", info->id);
    if (!info->n_roles || !info->roles)
        return la_seterr(a, LOCUS_EINVAL, "add_framework %s: no roles", info->id);
    if (n_used && !used)
        return la_seterr(a, LOCUS_EINVAL, "add_framework %s: n_used without used", info->id);
    uint32_t s;
    if (a->n_free_fws)
        s = a->free_fws[--a->n_free_fws];
    else {
        if (la_grow((void **)&a->fws, &a->cap_fws, a->n_fw_slots + 1, sizeof *a->fws))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        uint32_t *fl = realloc(a->free_fws, sizeof *fl * a->cap_fws);
        if (!fl)
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        a->free_fws = fl;
        s = a->n_fw_slots++;
    }
    la_fw *f = &a->fws[s];
    memset(f, 0, sizeof *f);
    f->alloc_head = NONE;
    f->wait_since = f->waited_from = -1;
    f->hint_dirty = 1;
    if (!(f->id = strdup(info->id)) || la_strmap_put(&a->fw_map, f->id, s)) {
        free(f->id);
        f->id = NULL;
        a->free_fws[a->n_free_fws++] = s;
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    }
    f->live = 1;
    f->active = info->active != 0;
    a->n_fws++;
    a->st.frameworks++;
    int rc = fw_set_roles(a, s, info);
    if (rc) {
        char keep[sizeof a->err];
        memcpy(keep, a->err, sizeof keep);
        la_remove_framework(a, info->id);
        memcpy(a->err, keep, sizeof keep);
        return rc;
    }
    if ((rc = add_used(a, NONE, used, n_used, s, info->id)))
        la_log(a, LOCUS_LOG_WARN, "add_framework %s: %s", info->id, a->err);
    return rc;
}

int la_remove_framework(locus_allocator *a, const char *id)
{
    uint32_t s = fw_find(a, id);
    if (s == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "remove_framework: unknown framework %s",
                         id ? id : "(null)");
    la_fw *f = &a->fws[s];
    while (f->alloc_head != NONE)
        alloc_sub(a, f->alloc_head, a->allocs[f->alloc_head].r);
    for (uint32_t j = 0; j < f->n_clients; j++)
        client_free(a, f->clients[j]);
    filters_clear_fw(a, s);
    la_index_remove_fw(a, s);
    la_strmap_del(&a->fw_map, f->id);
    la_fw_free_fields(f);
    memset(f, 0, sizeof *f);
    a->free_fws[a->n_free_fws++] = s;
    a->n_fws--;
    a->st.frameworks--;
    return 0;
}

int la_update_framework(locus_allocator *a, const locus_framework_info *info)
{
    uint32_t s = info ? fw_find(a, info->id) : NONE;
    if (s == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "update_framework: unknown framework %s",
                         info && info->id ? info->id : "(null)");
    if (!info->n_roles || !info->roles)
        return la_seterr(a, LOCUS_EINVAL, "update_framework %s: no roles", info->id);
    return fw_set_roles(a, s, info);
}

static int fw_set_active(locus_allocator *a, const char *id, int on)
{
    uint32_t s = fw_find(a, id);
    if (s == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "%s: unknown framework %s",
                         on ? "activate_framework" : "deactivate_framework", id ? id : "(null)");
    a->fws[s].active = on;
    relist_fw(a, s);
    return 0;
}

int la_activate_framework(locus_allocator *a, const char *id)
{
    return fw_set_active(a, id, 1);
}

int la_deactivate_framework(locus_allocator *a, const char *id)
{
    return fw_set_active(a, id, 0);
}

static int set_suppressed(locus_allocator *a, const char *id, const char *role, int on)
{
    const char *what = on ? "suppress" : "revive";
    uint32_t s = fw_find(a, id);
    if (s == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "%s: unknown framework %s", what, id ? id : "(null)");
    la_fw *f = &a->fws[s];
    int hit = 0;
    for (uint32_t j = 0; j < f->n_clients; j++) {
        la_client *c = &a->clients[f->clients[j]];
        if (c->detached || (role && strcmp(a->roles[c->role].name, role) != 0))
            continue;
        hit = 1;
        c->suppressed = on;
        if (on)
            unlist_client(a, f->clients[j]);
        else
            list_client(a, f->clients[j]);
    }
    if (!hit)
        return la_seterr(a, LOCUS_ENOTFOUND, "%s: framework %s has no role %s", what, id, role);
    if (!on)
        filters_clear_fw(a, s);
    return 0;
}

int la_suppress(locus_allocator *a, const char *id, const char *role)
{
    return set_suppressed(a, id, role, 1);
}

int la_revive(locus_allocator *a, const char *id, const char *role)
{
    return set_suppressed(a, id, role, 0);
}

int la_recover(locus_allocator *a, const char *fid, const char *aid,
               const locus_resources *resources, double refuse_seconds, double now)
{
    la_note_time(a, now);
    uint32_t fs = fw_find(a, fid), gs = agent_find(a, aid);
    if (fs == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "recover: unknown framework %s", fid ? fid : "(null)");
    if (gs == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "recover: unknown agent %s", aid ? aid : "(null)");
    double want[LA_MAX_RES], have[LA_MAX_RES] = {0};
    int rc = la_res_vec(a, resources, 0, want, "recover");
    if (rc)
        return rc;
    la_fw *f = &a->fws[fs];
    uint32_t slots[64];
    uint32_t ns = 0;
    for (uint32_t j = 0; j < f->n_clients && ns < 64; j++) {
        uint32_t s = la_u64map_get(&a->alloc_map, alloc_key(gs, f->clients[j]));
        if (s == NONE)
            continue;
        slots[ns++] = s;
        for (uint32_t k = 0; k < a->n_res; k++)
            have[k] += a->allocs[s].r[k];
    }
    for (uint32_t k = 0; k < a->n_res; k++)
        if (want[k] > have[k] + 1e-6 * (1 + have[k]))
            return la_seterr(a, LOCUS_EINVAL,
                             "recover: framework %s holds %g %s on agent %s, not %g", fid,
                             have[k], a->res_names[k], aid, want[k]);
    for (uint32_t i = 0; i < ns && !la_res_empty(want, a->n_res); i++) {
        double take[LA_MAX_RES];
        const la_alloc *al = &a->allocs[slots[i]];
        for (uint32_t k = 0; k < a->n_res; k++) {
            take[k] = want[k] < al->r[k] ? want[k] : al->r[k];
            want[k] -= take[k];
        }
        alloc_sub(a, slots[i], take);
    }
    /* Resources handed back later than the cycle that offered them are taken
     * as a task's end (a decline answers its offer at that cycle's time in
     * the simulator; in Mesos shortly after): they tell how soon this agent
     * frees a slot. */
    if (now > a->last_alloc_now)
        la_note_release(a, now);
    if (!resources || resources->n == 0)
        return 0; /* as Mesos: an empty recovery installs no filter */
    double d = refuse_seconds < 0 ? a->cfg.default_refuse : refuse_seconds;
    if (!isfinite(d) || d > a->cfg.max_refuse)
        d = a->cfg.max_refuse;
    if (d > 0 && isfinite(now)) {
        la_agent *g = &a->agents[gs];
        if ((rc = filter_set(a, g, fs, la_ticks_ceil(a, now + d))))
            return la_seterr(a, rc, "out of memory");
    }
    return 0;
}

int la_update_weights(locus_allocator *a, const char *const *roles, const double *weights,
                      size_t n)
{
    if (n && (!roles || !weights))
        return la_seterr(a, LOCUS_EINVAL, "update_weights: NULL arrays");
    for (size_t i = 0; i < n; i++)
        if (!roles[i] || !*roles[i] || !isfinite(weights[i]) || weights[i] <= 0)
            return la_seterr(a, LOCUS_EINVAL, "update_weights: role %s: bad weight %g",
                             roles[i] ? roles[i] : "(null)", weights[i]);
    for (size_t i = 0; i < n; i++) {
        uint32_t r = role_get(a, roles[i], 1);
        if (r == NONE)
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        a->roles[r].weight = weights[i];
    }
    return 0;
}

void la_pause(locus_allocator *a)
{
    if (a)
        a->paused = 1;
}

void la_resume(locus_allocator *a)
{
    if (a)
        a->paused = 0;
}

int la_set_demand(locus_allocator *a, const char *fid, const locus_demand_item *items, size_t n)
{
    uint32_t s = fw_find(a, fid);
    if (s == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "set_demand: unknown framework %s",
                         fid ? fid : "(null)");
    if (n && !items)
        return la_seterr(a, LOCUS_EINVAL, "set_demand %s: n without items", fid);
    for (size_t i = 0; i < n; i++)
        if (!items[i].dataset || !*items[i].dataset || items[i].block < -1)
            return la_seterr(a, LOCUS_EINVAL, "set_demand %s: item %zu: bad dataset or block",
                             fid, i);
    la_demand *d = n ? calloc(n, sizeof *d) : NULL;
    if (n && !d)
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        d[i].block = items[i].block;
        d[i].bytes = items[i].bytes;
        if (!(d[i].dataset = strdup(items[i].dataset))) {
            for (size_t j = 0; j < i; j++)
                free(d[j].dataset);
            free(d);
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        }
        d[i].same_dataset = i > 0 && strcmp(d[i - 1].dataset, d[i].dataset) == 0;
    }
    la_fw *f = &a->fws[s];
    /* Blocks offered under dataset demand are remembered while the framework
     * demands the same datasets (its pending bytes shrink as it launches). */
    int same = f->n_demand == n;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(f->demand[i].dataset, d[i].dataset) == 0 &&
               (f->demand[i].block < 0) == (d[i].block < 0);
    if (!same)
        la_u64map_clear(&f->offered_blocks);
    /* Tasks launched (a subset of the blocks demanded): updated from what
     * was read, no store read. */
    int shrunk = la_hints_demand_shrunk(a, f, d, n);
    for (size_t i = 0; i < f->n_demand; i++)
        free(f->demand[i].dataset);
    free(f->demand);
    f->demand = d;
    f->n_demand = n;
    if (!shrunk)
        f->hint_dirty = 1;
    la_index_touch(a, s);
    return 0;
}

/* Frees what a framework slot owns; the slot itself stays. */
void la_fw_free_fields(la_fw *f)
{
    free(f->id);
    free(f->clients);
    for (size_t d = 0; d < f->n_demand; d++)
        free(f->demand[d].dataset);
    free(f->demand);
    free(f->loc);
    free(f->racks);
    free(f->units);
    free(f->copies);
    free(f->idx_ag);
    free(f->idx_at);
    free(f->idx_loc);
    la_u64map_free(&f->offered_blocks);
}

int la_set_task_resources(locus_allocator *a, const char *fid, const locus_resources *per_task)
{
    if (!a)
        return LOCUS_EINVAL;
    uint32_t s = fw_find(a, fid);
    if (s == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "set_task_resources: unknown framework %s",
                         fid ? fid : "(null)");
    double v[LA_MAX_RES];
    char what[96];
    snprintf(what, sizeof what, "set_task_resources %.64s", fid);
    int rc = la_res_vec(a, per_task, 1, v, what);
    if (rc)
        return rc;
    la_fw *f = &a->fws[s];
    memcpy(f->task_res, v, sizeof v);
    int had = f->has_task_res;
    f->has_task_res = !la_res_empty(v, a->n_res);
    if (had != f->has_task_res) {
        f->hint_dirty = 1; /* placement units are built only for sized tasks */
        la_index_touch(a, s);
    }
    return 0;
}

int la_filtered(const la_agent *g, uint32_t fw, uint32_t now_t)
{
    uint32_t e = filter_get(g, fw);
    return e && now_t < e;
}

int la_allocatable(const locus_allocator *a, const la_agent *g, double *avail)
{
    int any = 0;
    for (uint32_t k = 0; k < a->n_res; k++) {
        double v = g->total[k] - g->alloc[k];
        avail[k] = v > EPS ? v : 0;
        any |= avail[k] > 0;
    }
    if (!any)
        return 0;
    if (g->total[LA_RES_CPUS] <= 0 && g->total[LA_RES_MEM] <= 0)
        return 1;
    return (avail[LA_RES_CPUS] > 0 && avail[LA_RES_CPUS] >= a->cfg.min_cpus) ||
           (avail[LA_RES_MEM] > 0 && avail[LA_RES_MEM] >= a->cfg.min_mem);
}

/* Time constant of the release rate: long enough to hold many task ends,
 * short enough to follow a change of workload. */
#define LA_RELEASE_TAU_S 60.0

static double cluster_release_rate(const locus_allocator *a, double now)
{
    double dt = now - a->release_rate_at;
    return dt > 0 ? a->release_rate * exp(-dt / LA_RELEASE_TAU_S) : a->release_rate;
}

/* Little's law: the tasks running on the cluster end at the cluster's rate,
 * each as soon as any other, so an agent ends its share of them - its share
 * of the allocated CPUs - at that share of the rate. The cluster-wide count
 * has many events where one agent's has few (an agent running a handful of
 * long tasks, or one that has never released yet, would look as if it never
 * frees anything), and it follows a busy agent at once. */
double la_free_rate(locus_allocator *a, const la_agent *g, double now)
{
    if (a->used_cpus_cycle != a->st.cycles) {
        double used = 0;
        for (uint32_t i = 0; i < a->n_live; i++)
            used += a->agents[a->live[i]].alloc[LA_RES_CPUS];
        a->used_cpus = used;
        a->used_cpus_cycle = a->st.cycles;
    }
    if (!(a->used_cpus > EPS))
        return 0;
    return cluster_release_rate(a, now) * g->alloc[LA_RES_CPUS] / a->used_cpus;
}

void la_note_release(locus_allocator *a, double now)
{
    a->release_rate = cluster_release_rate(a, now) + 1.0 / LA_RELEASE_TAU_S;
    a->release_rate_at = now;
}
