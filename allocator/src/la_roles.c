/* Role hierarchy, quota and fairness exclusions (see la_roles.h).
 *
 * The role order Mesos's hierarchical sorter gives: two roles are compared at
 * the first level where their paths part, by the share of the two subtrees
 * there (subtree allocation / that node's weight), then times chosen, then
 * name; a role that is itself a prefix of the other ("a" against "a/b") is
 * compared as its own leaf ("a/." in Mesos). Roles below a guarantee come
 * before all others (Mesos's first allocation stage). The order is computed
 * here, per cycle and after every offer, only when nesting or guarantees make
 * it differ from the flat order the DRF code keeps incrementally; with a few
 * roles a re-sort costs less than an offer's bookkeeping.
 *
 * Quota fitting: an offer to role r is cut so that no node on r's path goes
 * over its limit, and so that what stays unallocated still covers the
 * guarantees not yet met by other roles (r may use its own missing part). */
#include "la_roles.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9
#define NONE LA_MAP_NONE
#define MAX_DEPTH 64 /* deeper role paths are compared from their 64th level on by name */

static struct la_roles *ext_get(locus_allocator *a)
{
    if (!a->roles_ext)
        a->roles_ext = calloc(1, sizeof *a->roles_ext);
    return a->roles_ext;
}

static void quota_ent_free(la_quota_ent *q)
{
    for (size_t i = 0; i < q->n_guar; i++)
        free((char *)q->guar[i].name);
    for (size_t i = 0; i < q->n_lim; i++)
        free((char *)q->lim[i].name);
    free(q->guar);
    free(q->lim);
    free(q->role);
}

void la_roles_free(locus_allocator *a)
{
    struct la_roles *x = a ? a->roles_ext : NULL;
    if (!x)
        return;
    for (size_t i = 0; i < x->n_excluded_names; i++)
        free(x->excluded_names[i]);
    free(x->excluded_names);
    for (size_t i = 0; i < x->n_quotas; i++)
        quota_ent_free(&x->quotas[i]);
    free(x->quotas);
    for (uint32_t i = 0; i < x->n_nodes; i++)
        free(x->nodes[i].name);
    free(x->nodes);
    la_strmap_free(&x->node_map);
    free(x->role_node);
    for (uint32_t i = 0; i < x->n_rfilters; i++) {
        free(x->rf[i].fw);
        free(x->rf[i].role);
        free(x->rf[i].agent_id);
    }
    free(x->rf);
    la_u64map_free(&x->rf_map);
    free(x);
    a->roles_ext = NULL;
}

/* The node of path name (its prefixes created as needed), or NONE. */
static uint32_t node_get(struct la_roles *x, const char *name)
{
    uint32_t n = la_strmap_get(&x->node_map, name);
    if (n != NONE)
        return n;
    uint32_t parent = NONE, depth = 0;
    const char *slash = strrchr(name, '/');
    if (slash && slash != name) {
        char *pre = strndup(name, (size_t)(slash - name));
        if (!pre)
            return NONE;
        parent = node_get(x, pre);
        free(pre);
        if (parent == NONE)
            return NONE;
        depth = x->nodes[parent].depth + 1;
    }
    if (la_grow((void **)&x->nodes, &x->cap_nodes, x->n_nodes + 1, sizeof *x->nodes))
        return NONE;
    la_rnode *nd = &x->nodes[x->n_nodes];
    memset(nd, 0, sizeof *nd);
    if (!(nd->name = strdup(name)))
        return NONE;
    if (la_strmap_put(&x->node_map, nd->name, x->n_nodes)) {
        free(nd->name);
        return NONE;
    }
    nd->parent = parent;
    nd->depth = depth;
    if (depth > 0)
        x->ordered = 1;
    return x->n_nodes++;
}

/* Gives every core role slot its node. 0 or LOCUS_ENOMEM. */
static int sync_roles(locus_allocator *a)
{
    struct la_roles *x = a->roles_ext;
    if (x->n_roles_seen == a->n_roles)
        return 0;
    if (la_grow((void **)&x->role_node, &x->cap_role_node, a->n_roles, sizeof *x->role_node))
        return LOCUS_ENOMEM;
    for (; x->n_roles_seen < a->n_roles; x->n_roles_seen++) {
        uint32_t n = node_get(x, a->roles[x->n_roles_seen].name);
        if (n == NONE)
            return LOCUS_ENOMEM;
        x->role_node[x->n_roles_seen] = n;
    }
    return 0;
}

static double node_weight(const locus_allocator *a, const la_rnode *nd)
{
    uint32_t r = la_strmap_get(&a->role_map, nd->name);
    return r != NONE ? la_role_weight(&a->roles[r]) : 1.0;
}

/* Missing part of node nd's guarantee in resource k. */
static double missing(const la_rnode *nd, uint32_t k)
{
    double m = nd->has_guar ? nd->guar[k] - nd->alloc[k] : 0;
    return m > EPS ? m : 0;
}

/* Is the subtree below its guarantee in some resource? */
static int unsatisfied(const locus_allocator *a, const la_rnode *nd)
{
    for (uint32_t k = 0; nd->has_guar && k < a->n_res; k++)
        if (missing(nd, k) > 0)
            return 1;
    return 0;
}

/* The highest node with a guarantee on the path of node n, or NONE: only
 * those count toward the headroom (a child's guarantee is part of its
 * parent's in Mesos). */
static uint32_t top_guaranteed(const struct la_roles *x, uint32_t n)
{
    uint32_t top = NONE;
    for (; n != NONE; n = x->nodes[n].parent)
        if (x->nodes[n].has_guar)
            top = n;
    return top;
}

static void compute_required(const locus_allocator *a)
{
    struct la_roles *x = a->roles_ext;
    memset(x->required, 0, sizeof x->required);
    for (uint32_t n = 0; n < x->n_nodes; n++)
        if (x->nodes[n].has_guar && top_guaranteed(x, n) == n)
            for (uint32_t k = 0; k < a->n_res; k++)
                x->required[k] += missing(&x->nodes[n], k);
}

static int role_unsatisfied(const locus_allocator *a, uint32_t r)
{
    const struct la_roles *x = a->roles_ext;
    for (uint32_t n = x->role_node[r]; n != NONE; n = x->nodes[n].parent)
        if (unsatisfied(a, &x->nodes[n]))
            return 1;
    return 0;
}

static int cmp_stats(double s1, uint64_t c1, const char *n1, double s2, uint64_t c2,
                     const char *n2)
{
    if (s1 != s2)
        return s1 < s2 ? -1 : 1;
    if (c1 != c2)
        return c1 < c2 ? -1 : 1;
    return strcmp(n1, n2);
}

/* Role slot r as its own leaf beside its children, against node other. */
static int cmp_leaf(const locus_allocator *a, uint32_t r, const la_rnode *other)
{
    const la_role *ro = &a->roles[r];
    double s = la_dominant(a, ro->alloc) / la_role_weight(ro);
    if (s != other->share)
        return s < other->share ? -1 : 1;
    if (ro->count != other->count)
        return ro->count < other->count ? -1 : 1;
    return -1; /* "." sorts first among equals */
}

int la_roles_cmp_role(const locus_allocator *a, uint32_t x_, uint32_t y_)
{
    const struct la_roles *x = a->roles_ext;
    if (x_ == y_)
        return 0;
    if (x_ >= x->n_roles_seen || y_ >= x->n_roles_seen) /* the tree could not be synced */
        return strcmp(a->roles[x_].name, a->roles[y_].name);
    if (x->any_guar) {
        int ux = role_unsatisfied(a, x_), uy = role_unsatisfied(a, y_);
        if (ux != uy)
            return ux ? -1 : 1;
    }
    uint32_t cx[MAX_DEPTH], cy[MAX_DEPTH];
    uint32_t dx = 0, dy = 0;
    for (uint32_t n = x->role_node[x_]; n != NONE; n = x->nodes[n].parent)
        dx++;
    for (uint32_t n = x->role_node[y_]; n != NONE; n = x->nodes[n].parent)
        dy++;
    if (dx > MAX_DEPTH || dy > MAX_DEPTH)
        return strcmp(a->roles[x_].name, a->roles[y_].name);
    uint32_t i = dx;
    for (uint32_t n = x->role_node[x_]; n != NONE; n = x->nodes[n].parent)
        cx[--i] = n;
    i = dy;
    for (uint32_t n = x->role_node[y_]; n != NONE; n = x->nodes[n].parent)
        cy[--i] = n;
    for (i = 0; i < dx && i < dy && cx[i] == cy[i]; i++)
        ;
    if (i == dx && i == dy)
        return 0;
    if (i == dx) /* x is an ancestor of y */
        return cmp_leaf(a, x_, &x->nodes[cy[i]]);
    if (i == dy)
        return -cmp_leaf(a, y_, &x->nodes[cx[i]]);
    const la_rnode *p = &x->nodes[cx[i]], *q = &x->nodes[cy[i]];
    return cmp_stats(p->share, p->count, p->name, q->share, q->count, q->name);
}

/* Resolves quota and exclusion names against the core's resource names. */
static void resolve(locus_allocator *a)
{
    struct la_roles *x = a->roles_ext;
    memset(x->excluded, 0, sizeof x->excluded);
    for (size_t i = 0; i < x->n_excluded_names; i++) {
        uint32_t k = la_strmap_get(&a->res_map, x->excluded_names[i]);
        if (k != NONE && k < LA_MAX_RES)
            x->excluded[k] = 1;
    }
    for (uint32_t n = 0; n < x->n_nodes; n++) {
        la_rnode *nd = &x->nodes[n];
        nd->has_guar = nd->has_lim = 0;
        for (uint32_t k = 0; k < LA_MAX_RES; k++) {
            nd->guar[k] = 0;
            nd->lim[k] = -1;
        }
    }
    x->any_guar = 0;
    x->quota_on = 0;
    for (size_t i = 0; i < x->n_quotas; i++) {
        const la_quota_ent *q = &x->quotas[i];
        uint32_t n = la_strmap_get(&x->node_map, q->role);
        if (n == NONE)
            continue;
        la_rnode *nd = &x->nodes[n];
        for (size_t j = 0; j < q->n_guar; j++) {
            uint32_t k = la_strmap_get(&a->res_map, q->guar[j].name);
            if (k != NONE && q->guar[j].value > 0) {
                nd->guar[k] = q->guar[j].value;
                nd->has_guar = 1;
            }
        }
        for (size_t j = 0; j < q->n_lim; j++) {
            uint32_t k = la_strmap_get(&a->res_map, q->lim[j].name);
            if (k != NONE) {
                nd->lim[k] = q->lim[j].value;
                nd->has_lim = 1;
            }
        }
        x->any_guar |= nd->has_guar;
        x->quota_on |= nd->has_guar || nd->has_lim;
    }
}

void la_roles_prepare(locus_allocator *a)
{
    struct la_roles *x = a->roles_ext;
    if (!x) {
        /* Nothing set yet: a nested role name is what turns the tree on. */
        uint32_t r = 0;
        while (r < a->n_roles && !strchr(a->roles[r].name, '/'))
            r++;
        if (r == a->n_roles || !(x = ext_get(a)))
            return;
    }
    if (sync_roles(a)) {
        la_log(a, LOCUS_LOG_ERROR, "role tree: out of memory; roles compared flat this cycle");
        x->ordered = 0;
        return;
    }
    resolve(a);
}

/* Node shares from their allocations. */
static void node_shares(const locus_allocator *a)
{
    struct la_roles *x = a->roles_ext;
    for (uint32_t n = 0; n < x->n_nodes; n++)
        x->nodes[n].share = la_dominant(a, x->nodes[n].alloc) / node_weight(a, &x->nodes[n]);
}

/* Insertion sort of the role order: nearly sorted after one offer. */
static void sort_roles(locus_allocator *a)
{
    for (uint32_t i = 1; i < a->n_roles; i++) {
        uint32_t v = a->role_order[i], j = i;
        while (j > 0 && la_roles_cmp_role(a, a->role_order[j - 1], v) > 0) {
            a->role_order[j] = a->role_order[j - 1];
            j--;
        }
        a->role_order[j] = v;
    }
}

void la_roles_resort(locus_allocator *a)
{
    struct la_roles *x = a->roles_ext;
    if (x->n_roles_seen != a->n_roles)
        return; /* prepare failed */
    for (uint32_t n = 0; n < x->n_nodes; n++) {
        memset(x->nodes[n].alloc, 0, sizeof x->nodes[n].alloc);
        x->nodes[n].count = 0;
    }
    for (uint32_t r = 0; r < a->n_roles; r++)
        for (uint32_t n = x->role_node[r]; n != NONE; n = x->nodes[n].parent) {
            for (uint32_t k = 0; k < a->n_res; k++)
                x->nodes[n].alloc[k] += a->roles[r].alloc[k];
            x->nodes[n].count += a->roles[r].count;
        }
    node_shares(a);
    if (x->quota_on) {
        memset(x->free_, 0, sizeof x->free_);
        for (uint32_t i = 0; i < a->n_live; i++) {
            const la_agent *g = &a->agents[a->live[i]];
            for (uint32_t k = 0; k < a->n_res; k++)
                if (g->total[k] > g->alloc[k])
                    x->free_[k] += g->total[k] - g->alloc[k];
        }
        compute_required(a);
    }
    if (x->ordered || x->any_guar)
        sort_roles(a);
}

int la_roles_fit(const locus_allocator *a, uint32_t r, const double *avail, double *out)
{
    const struct la_roles *x = a->roles_ext;
    memcpy(out, avail, sizeof(double) * LA_MAX_RES);
    if (r >= x->n_roles_seen)
        return 1;
    uint32_t leaf = x->role_node[r];
    for (uint32_t n = leaf; n != NONE; n = x->nodes[n].parent) {
        const la_rnode *nd = &x->nodes[n];
        for (uint32_t k = 0; nd->has_lim && k < a->n_res; k++)
            if (nd->lim[k] >= 0) {
                double room = nd->lim[k] - nd->alloc[k];
                if (out[k] > room)
                    out[k] = room > EPS ? room : 0;
            }
    }
    if (x->any_guar) {
        uint32_t top = top_guaranteed(x, leaf);
        for (uint32_t k = 0; k < a->n_res; k++) {
            if (!(x->required[k] > 0))
                continue;
            double own = top != NONE ? missing(&x->nodes[top], k) : 0;
            double spare = x->free_[k] - x->required[k];
            double allowed = own + (spare > 0 ? spare : 0);
            if (out[k] > allowed)
                out[k] = allowed > EPS ? allowed : 0;
        }
    }
    int any = 0;
    for (uint32_t k = 0; k < a->n_res; k++)
        any |= out[k] > EPS;
    if (!any)
        return 0;
    if (avail[LA_RES_CPUS] <= 0 && avail[LA_RES_MEM] <= 0)
        return 1;
    return (out[LA_RES_CPUS] > 0 && out[LA_RES_CPUS] >= a->cfg.min_cpus) ||
           (out[LA_RES_MEM] > 0 && out[LA_RES_MEM] >= a->cfg.min_mem);
}

int la_roles_admits(const locus_allocator *a, uint32_t r, const la_agent *g)
{
    double avail[LA_MAX_RES], out[LA_MAX_RES];
    return la_allocatable(a, g, avail) && la_roles_fit(a, r, avail, out);
}

void la_roles_offered(locus_allocator *a, uint32_t r, const double *given)
{
    struct la_roles *x = a->roles_ext;
    if (r >= x->n_roles_seen)
        return;
    for (uint32_t n = x->role_node[r]; n != NONE; n = x->nodes[n].parent) {
        la_rnode *nd = &x->nodes[n];
        for (uint32_t k = 0; k < a->n_res; k++)
            nd->alloc[k] += given[k];
        nd->count++;
        nd->share = la_dominant(a, nd->alloc) / node_weight(a, nd);
    }
    if (x->quota_on) {
        for (uint32_t k = 0; k < a->n_res; k++)
            x->free_[k] = x->free_[k] > given[k] ? x->free_[k] - given[k] : 0;
        compute_required(a);
    }
    if (x->ordered || x->any_guar)
        sort_roles(a);
}

/* ---- role filters ---------------------------------------------------------- */

static uint64_t rf_key(uint32_t agent, uint32_t client)
{
    return (uint64_t)agent << 32 | client;
}

/* Removes filter i (the last one takes its place). */
static void rf_drop(struct la_roles *x, uint32_t i)
{
    la_rfilter *e = &x->rf[i];
    la_u64map_del(&x->rf_map, rf_key(e->agent, e->client));
    free(e->fw);
    free(e->role);
    free(e->agent_id);
    uint32_t last = --x->n_rfilters;
    if (i != last) {
        x->rf[i] = x->rf[last];
        /* never fails: the key is present, only its value changes */
        la_u64map_put(&x->rf_map, rf_key(x->rf[i].agent, x->rf[i].client), i);
    }
}

/* Drops the filters matching fw (and role, agent when not NULL), and those
 * expired at host time now. */
static void rf_drop_where(locus_allocator *a, const char *fw, const char *role, const char *agent)
{
    struct la_roles *x = a->roles_ext;
    if (!x)
        return;
    for (uint32_t i = 0; i < x->n_rfilters;) {
        const la_rfilter *e = &x->rf[i];
        int match = (fw && strcmp(e->fw, fw) == 0 && (!role || strcmp(e->role, role) == 0)) ||
                    (agent && strcmp(e->agent_id, agent) == 0) ||
                    e->until <= a->last_alloc_now;
        if (match)
            rf_drop(x, i);
        else
            i++;
    }
}

void la_roles_expire_filters(locus_allocator *a)
{
    struct la_roles *x = a->roles_ext;
    if (!x || !x->n_rfilters || a->last_alloc_now < x->rf_next_until)
        return;
    rf_drop_where(a, NULL, NULL, NULL);
    x->rf_next_until = INFINITY;
    for (uint32_t i = 0; i < x->n_rfilters; i++)
        if (x->rf[i].until < x->rf_next_until)
            x->rf_next_until = x->rf[i].until;
}

int la_roles_rfiltered(const locus_allocator *a, uint32_t cs, const la_agent *g,
                       const double *avail)
{
    const struct la_roles *x = a->roles_ext;
    uint32_t gs = (uint32_t)(g - a->agents);
    uint32_t i = la_u64map_get(&x->rf_map, rf_key(gs, cs));
    if (i == NONE)
        return 0;
    const la_rfilter *e = &x->rf[i];
    const la_client *c = &a->clients[cs];
    if (e->until <= a->last_alloc_now || strcmp(e->fw, a->fws[c->fw].id) != 0 ||
        strcmp(e->role, a->roles[c->role].name) != 0 || strcmp(e->agent_id, g->id) != 0)
        return 0;
    double free_[LA_MAX_RES];
    if (!avail) {
        la_allocatable(a, g, free_);
        avail = free_;
    }
    /* More than was refused is worth offering again, as in Mesos. */
    for (uint32_t k = 0; k < a->n_res; k++)
        if (avail[k] > e->refused[k] + 1e-6 * (1 + e->refused[k]))
            return 0;
    return 1;
}

/* Installs (or replaces) the filter of client cs on agent gs. */
static int rf_set(locus_allocator *a, uint32_t cs, uint32_t gs, const double *refused,
                  double until)
{
    struct la_roles *x = ext_get(a);
    if (!x)
        return LOCUS_ENOMEM;
    uint32_t i = la_u64map_get(&x->rf_map, rf_key(gs, cs));
    if (i != NONE)
        rf_drop(x, i);
    if (la_grow((void **)&x->rf, &x->cap_rf, x->n_rfilters + 1, sizeof *x->rf))
        return LOCUS_ENOMEM;
    la_rfilter *e = &x->rf[x->n_rfilters];
    memset(e, 0, sizeof *e);
    e->agent = gs;
    e->client = cs;
    e->until = until;
    memcpy(e->refused, refused, sizeof e->refused);
    e->fw = strdup(a->fws[a->clients[cs].fw].id);
    e->role = strdup(a->roles[a->clients[cs].role].name);
    e->agent_id = strdup(a->agents[gs].id);
    if (!e->fw || !e->role || !e->agent_id ||
        la_u64map_put(&x->rf_map, rf_key(gs, cs), x->n_rfilters)) {
        free(e->fw);
        free(e->role);
        free(e->agent_id);
        return LOCUS_ENOMEM;
    }
    x->n_rfilters++;
    if (until < x->rf_next_until || x->n_rfilters == 1)
        x->rf_next_until = until;
    return 0;
}

int la_roles_revive(locus_allocator *a, const char *fid, const char *role)
{
    int rc = la_revive(a, fid, role);
    if (!rc && fid)
        rf_drop_where(a, fid, role, NULL);
    return rc;
}

int la_roles_remove_framework(locus_allocator *a, const char *fid)
{
    int rc = la_remove_framework(a, fid);
    if (!rc && fid)
        rf_drop_where(a, fid, NULL, NULL);
    return rc;
}

int la_roles_remove_agent(locus_allocator *a, const char *aid)
{
    int rc = la_remove_agent(a, aid);
    if (!rc && aid)
        rf_drop_where(a, NULL, NULL, aid);
    return rc;
}

/* ---- ABI 1.2 ------------------------------------------------------------- */

/* Copies a resource set, checking names and values. */
static int copy_set(locus_allocator *a, const locus_resources *r, locus_scalar **out, size_t *n,
                    const char *what, const char *role)
{
    *out = NULL;
    *n = 0;
    if (!r || r->n == 0)
        return 0;
    if (!r->items)
        return la_seterr(a, LOCUS_EINVAL, "set_quota %s: %s with n=%zu and no items", role, what,
                         r->n);
    locus_scalar *v = calloc(r->n, sizeof *v);
    if (!v)
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->n; i++) {
        const locus_scalar *s = &r->items[i];
        int bad = !s->name || !*s->name || !isfinite(s->value) || s->value < 0;
        if (bad || !(v[i].name = strdup(s->name))) {
            for (size_t j = 0; j < i; j++)
                free((char *)v[j].name);
            free(v);
            if (bad)
                return la_seterr(a, LOCUS_EINVAL, "set_quota %s: %s: resource %s: bad value %g",
                                 role, what, s->name ? s->name : "(null)", s->value);
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        }
        v[i].value = s->value;
    }
    *out = v;
    *n = r->n;
    return 0;
}

int la_set_quota(locus_allocator *a, const char *role, const locus_resources *guarantees,
                 const locus_resources *limits)
{
    if (!a)
        return LOCUS_EINVAL;
    if (!role || !*role || role[0] == '/' || role[strlen(role) - 1] == '/')
        return la_seterr(a, LOCUS_EINVAL, "set_quota: bad role name '%s'", role ? role : "(null)");
    struct la_roles *x = ext_get(a);
    if (!x)
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    la_quota_ent q = {0};
    int rc = copy_set(a, guarantees, &q.guar, &q.n_guar, "guarantees", role);
    if (!rc)
        rc = copy_set(a, limits, &q.lim, &q.n_lim, "limits", role);
    for (size_t i = 0; !rc && i < q.n_guar; i++)
        for (size_t j = 0; j < q.n_lim; j++)
            if (strcmp(q.guar[i].name, q.lim[j].name) == 0 && q.lim[j].value < q.guar[i].value)
                rc = la_seterr(a, LOCUS_EINVAL,
                               "set_quota %s: %s: limit %g is below guarantee %g", role,
                               q.guar[i].name, q.lim[j].value, q.guar[i].value);
    if (!rc && !(q.role = strdup(role)))
        rc = la_seterr(a, LOCUS_ENOMEM, "out of memory");
    if (!rc && node_get(x, role) == NONE)
        rc = la_seterr(a, LOCUS_ENOMEM, "out of memory");
    if (rc) {
        quota_ent_free(&q);
        return rc;
    }
    size_t i = 0;
    while (i < x->n_quotas && strcmp(x->quotas[i].role, role) != 0)
        i++;
    if (i < x->n_quotas) {
        quota_ent_free(&x->quotas[i]);
    } else {
        la_quota_ent *grown = realloc(x->quotas, sizeof *grown * (x->n_quotas + 1));
        if (!grown) {
            quota_ent_free(&q);
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        }
        x->quotas = grown;
        x->n_quotas++;
    }
    if (q.n_guar == 0 && q.n_lim == 0) { /* the default quota: drop the entry */
        quota_ent_free(&q);
        x->quotas[i] = x->quotas[--x->n_quotas];
    } else {
        x->quotas[i] = q;
    }
    /* Seen by the next cycle; flags set now so hooks before it agree. */
    int guar = 0;
    for (size_t j = 0; j < x->n_quotas; j++)
        guar |= x->quotas[j].n_guar > 0;
    x->any_guar = guar;
    x->quota_on = x->n_quotas > 0;
    return 0;
}

int la_set_fairness_excluded(locus_allocator *a, const char *const *names, size_t n)
{
    if (!a)
        return LOCUS_EINVAL;
    if (n && !names)
        return la_seterr(a, LOCUS_EINVAL, "set_fairness_excluded: n=%zu and no names", n);
    for (size_t i = 0; i < n; i++)
        if (!names[i] || !*names[i])
            return la_seterr(a, LOCUS_EINVAL, "set_fairness_excluded: name %zu is empty", i);
    struct la_roles *x = ext_get(a);
    if (!x)
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    char **v = n ? calloc(n, sizeof *v) : NULL;
    if (n && !v)
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = strdup(names[i]))) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        }
    for (size_t i = 0; i < x->n_excluded_names; i++)
        free(x->excluded_names[i]);
    free(x->excluded_names);
    x->excluded_names = v;
    x->n_excluded_names = n;
    resolve(a);
    return 0;
}

int la_recover_role(locus_allocator *a, const char *fid, const char *role, const char *aid,
                    const locus_resources *resources, double refuse_seconds, double now)
{
    if (!a)
        return LOCUS_EINVAL;
    if (!role)
        return la_recover(a, fid, aid, resources, refuse_seconds, now);
    uint32_t fs = fid ? la_strmap_get(&a->fw_map, fid) : NONE;
    uint32_t gs = aid ? la_strmap_get(&a->agent_map, aid) : NONE;
    uint32_t rs = la_strmap_get(&a->role_map, role);
    if (fs == NONE || gs == NONE)
        return la_recover(a, fid, aid, resources, refuse_seconds, now); /* names the unknown one */
    la_fw *f = &a->fws[fs];
    /* A role the framework left still holds what was allocated in it
     * (a detached client): that comes back to it too. */
    uint32_t j = 0;
    while (j < f->n_clients && (rs == NONE || a->clients[f->clients[j]].role != rs))
        j++;
    if (j == f->n_clients)
        return la_seterr(a, LOCUS_ENOTFOUND, "recover: framework %s has no role %s", fid, role);
    /* The role's allocation must cover what comes back: resources handed back
     * in one role are never taken from another. */
    double want[LA_MAX_RES];
    int rc = la_res_vec(a, resources, 0, want, "recover");
    if (rc)
        return rc;
    uint32_t s = la_u64map_get(&a->alloc_map, (uint64_t)gs << 32 | f->clients[j]);
    for (uint32_t k = 0; k < a->n_res; k++) {
        double have = s == NONE ? 0 : a->allocs[s].r[k];
        if (want[k] > have + 1e-6 * (1 + have))
            return la_seterr(a, LOCUS_EINVAL,
                             "recover: framework %s holds %g %s in role %s on agent %s, not %g",
                             fid, have, a->res_names[k], role, aid, want[k]);
    }
    /* The framework is filtered in this role only, and only for what it
     * refused (Mesos's per-role RefusedOfferFilter): once the agent has more
     * free than that (a task ended, the agent grew) it is offered again
     * before the timeout. recover() keeps the plain whole-agent filter. */
    double d = refuse_seconds < 0 ? a->cfg.default_refuse : refuse_seconds;
    if (!isfinite(d) || d > a->cfg.max_refuse)
        d = a->cfg.max_refuse;
    int role_filter = !a->clients[f->clients[j]].detached && d > 0 &&
                      resources && resources->n > 0 && isfinite(now);
    if (role_filter) {
        double refused[LA_MAX_RES];
        const la_agent *g = &a->agents[gs];
        /* Refused: what was handed back plus what was free beside it. */
        for (uint32_t k = 0; k < LA_MAX_RES; k++) {
            double free_ = k < a->n_res ? g->total[k] - g->alloc[k] : 0;
            refused[k] = want[k] + (free_ > 0 ? free_ : 0);
        }
        if ((rc = rf_set(a, f->clients[j], gs, refused, now + d)))
            return la_seterr(a, rc, "out of memory");
    }
    /* la_recover takes from the framework's roles in client order: put this
     * role's client first for the call. */
    uint32_t first = f->clients[0];
    f->clients[0] = f->clients[j];
    f->clients[j] = first;
    rc = la_recover(a, fid, aid, resources, role_filter ? 0 : refuse_seconds, now);
    f = &a->fws[fs];
    first = f->clients[0];
    f->clients[0] = f->clients[j];
    f->clients[j] = first;
    return rc;
}

uint32_t la_max_resource_names(const locus_allocator *a)
{
    (void)a;
    return LA_MAX_RES;
}
