/* The DRF order: Mesos's hierarchical weighted DRF, kept the way its
 * DRFSorter keeps it (share, then times chosen, then name) but
 * incrementally. Every role holds its listed clients (active, unsuppressed
 * framework-roles) in an array sorted once per cycle; after an offer only the
 * chosen client and its role move (binary search + memmove), where Mesos
 * re-sorts per agent. Near saturation an agent's dense filter array is
 * scanned instead of walking the order (same choice, sequential memory). */
#include "la_core.h"
#include "la_roles.h"

#include <stdlib.h>
#include <string.h>

#define EPS 1e-9
#define NONE LA_MAP_NONE

double la_dominant(const locus_allocator *a, const double *alloc)
{
    double s = 0;
    for (uint32_t k = 0; k < a->n_res; k++)
        if (a->cluster_total[k] > EPS && !(a->roles_ext && a->roles_ext->excluded[k])) {
            double x = alloc[k] / a->cluster_total[k];
            if (x > s)
                s = x;
        }
    return s;
}

/* The first 8 bytes of s, big-endian, zero-padded: orders like strcmp for
 * strings that differ there, so most name ties need no strcmp. */
uint64_t la_key8(const char *s)
{
    uint64_t k = 0;
    int i = 0;
    for (; i < 8 && s[i]; i++)
        k = k << 8 | (unsigned char)s[i];
    return k << (8 * (8 - i));
}

/* The client order, inline for the walks in this file that compare many. */
static inline int cmp_client(const locus_allocator *a, uint32_t x, uint32_t y)
{
    const la_client *cx = &a->clients[x], *cy = &a->clients[y];
    int o = la_drf_order(cx->share, cx->count, cx->key8, cy->share, cy->count, cy->key8);
    return o ? o : strcmp(a->fws[cx->fw].id, a->fws[cy->fw].id);
}

int la_cmp_client(const locus_allocator *a, uint32_t x, uint32_t y)
{
    return cmp_client(a, x, y);
}

int la_cmp_role(const locus_allocator *a, uint32_t x, uint32_t y)
{
    if (a->roles_ext && (a->roles_ext->ordered || a->roles_ext->any_guar))
        return la_roles_cmp_role(a, x, y);
    const la_role *rx = &a->roles[x], *ry = &a->roles[y];
    if (rx->share != ry->share)
        return rx->share < ry->share ? -1 : 1;
    if (rx->count != ry->count)
        return rx->count < ry->count ? -1 : 1;
    return strcmp(rx->name, ry->name);
}

typedef struct sortkey {
    double share;
    uint64_t count;
    uint64_t key8;
    const char *name;
    uint32_t slot;
} sortkey;

static int cmp_key(const void *p, const void *q)
{
    const sortkey *x = p, *y = q;
    int o = la_drf_order(x->share, x->count, x->key8, y->share, y->count, y->key8);
    return o ? o : strcmp(x->name, y->name);
}

/* Recomputes every share against the current cluster total and sorts every
 * role's list and the role order (once per cycle). */
int la_drf_resort(locus_allocator *a)
{
    la_roles_prepare(a); /* also turns the role tree on at the first nested name */
    memset(a->cluster_total, 0, sizeof a->cluster_total);
    for (uint32_t i = 0; i < a->n_live; i++) {
        const la_agent *ag = &a->agents[a->live[i]];
        for (uint32_t k = 0; k < a->n_res; k++)
            a->cluster_total[k] += ag->total[k];
    }
    uint32_t maxn = a->n_roles;
    for (uint32_t r = 0; r < a->n_roles; r++)
        if (a->roles[r].n > maxn)
            maxn = a->roles[r].n;
    sortkey *keys = malloc(sizeof *keys * (maxn ? maxn : 1));
    if (!keys)
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    for (uint32_t r = 0; r < a->n_roles; r++) {
        la_role *ro = &a->roles[r];
        ro->share = la_dominant(a, ro->alloc) / la_role_weight(ro);
        for (uint32_t i = 0; i < ro->n; i++) {
            la_client *c = &a->clients[ro->list[i]];
            c->share = c->share0 = la_dominant(a, c->alloc);
            c->count0 = c->count;
            keys[i] = (sortkey){c->share, c->count, c->key8, a->fws[c->fw].id, ro->list[i]};
        }
        qsort(keys, ro->n, sizeof *keys, cmp_key);
        for (uint32_t i = 0; i < ro->n; i++)
            ro->list[i] = keys[i].slot;
        ro->min_share = ro->n ? keys[0].share : 0;
    }
    for (uint32_t i = 0; i < a->n_roles; i++) {
        la_role *ro = &a->roles[a->role_order[i]];
        keys[i] = (sortkey){ro->share, ro->count, la_key8(ro->name), ro->name, a->role_order[i]};
    }
    qsort(keys, a->n_roles, sizeof *keys, cmp_key);
    for (uint32_t i = 0; i < a->n_roles; i++)
        a->role_order[i] = keys[i].slot;
    free(keys);
    if (a->roles_ext)
        la_roles_resort(a); /* hierarchy and quota order */
    return 0;
}

/* Moves element at index i of a sorted array to its place after its key
 * grew (it only moves right). Inlined into both callers below, so the one
 * given cmp_client compares inline instead of through a pointer. */
static inline __attribute__((always_inline)) void
move_right(locus_allocator *a, uint32_t *arr, uint32_t n, uint32_t i,
           int (*cmp)(const locus_allocator *, uint32_t, uint32_t))
{
    uint32_t v = arr[i], lo = i + 1, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cmp(a, arr[mid], v) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo - 1 > i) {
        memmove(&arr[i], &arr[i + 1], sizeof *arr * (lo - 1 - i));
        arr[lo - 1] = v;
    }
}

void la_move_right(locus_allocator *a, uint32_t *arr, uint32_t n, uint32_t i,
                       int (*cmp)(const locus_allocator *, uint32_t, uint32_t))
{
    move_right(a, arr, n, i, cmp);
}

/* la_move_right for a role's list of clients (an offer moves its client,
 * and drf makes one per agent served). */
void la_move_right_client(locus_allocator *a, uint32_t *arr, uint32_t n, uint32_t i)
{
    move_right(a, arr, n, i, cmp_client);
}

/* Index of a listed client in its role's list: binary search (valid inside a
 * cycle, where lists are sorted), else a scan. */
uint32_t la_list_find(locus_allocator *a, const la_role *ro, uint32_t cslot, int sorted)
{
    if (sorted) {
        uint32_t lo = 0, hi = ro->n;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            int c = cmp_client(a, ro->list[mid], cslot);
            if (c == 0)
                return mid;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    for (uint32_t i = 0; i < ro->n; i++)
        if (ro->list[i] == cslot)
            return i;
    return NONE;
}

uint32_t la_role_order_find(const locus_allocator *a, uint32_t r)
{
    for (uint32_t i = 0; i < a->n_roles; i++)
        if (a->role_order[i] == r)
            return i;
    return NONE;
}

int la_drf_first(const locus_allocator *a, const la_agent *g, uint32_t now_t, la_pick *p)
{
    for (uint32_t ri = 0; ri < a->n_roles; ri++) {
        const la_role *ro = &a->roles[a->role_order[ri]];
        if (ro->n && a->roles_ext && a->roles_ext->quota_on &&
            !la_roles_admits(a, a->role_order[ri], g))
            continue; /* at its quota limit, or only headroom left */
        for (uint32_t li = 0; li < ro->n; li++)
            if (!la_filtered(g, a->clients[ro->list[li]].fw, now_t) &&
                !(a->roles_ext && a->roles_ext->n_rfilters &&
                  la_roles_rfiltered(a, ro->list[li], g, NULL))) {
                p->ri = ri;
                p->li = li;
                return 1;
            }
    }
    return 0;
}

/* Is client x before client y in hierarchical DRF order? */
int la_drf_before(const locus_allocator *a, uint32_t x, uint32_t y)
{
    if (y == NONE)
        return 1;
    uint32_t rx = a->clients[x].role, ry = a->clients[y].role;
    if (rx != ry)
        return la_cmp_role(a, rx, ry) < 0;
    return cmp_client(a, x, y) < 0;
}

/* Near saturation (few frameworks left unfiltered on a densely filtered
 * agent), walking the DRF order meets mostly filtered frameworks: scan the
 * agent's filter array instead (sequential) and take the DRF-first of the
 * unfiltered frameworks the agent is allowed for. Same choice as the walk. */
int la_scan_wanted(const locus_allocator *a, const la_agent *g)
{
    return g->filters.dense && (a->n_offerable - g->n_filt_off) * 16 <= a->n_offerable;
}

uint32_t la_scan_pick(const locus_allocator *a, uint32_t gs, int use_loc)
{
    const la_agent *g = &a->agents[gs];
    const la_fset *fs = &g->filters;
    uint32_t best = NONE;
    for (uint32_t fw = 0; fw < a->n_fw_slots; fw++) {
        if (fw < fs->cap && fs->v[fw])
            continue; /* filtered: expired filters were dropped before */
        const la_fw *f = &a->fws[fw];
        if (!f->live || !f->n_listed || (use_loc && !a->fstate[fw]))
            continue;
        uint32_t cand = best;
        for (uint32_t j = 0; j < f->n_clients; j++)
            if (a->clients[f->clients[j]].listed && la_drf_before(a, f->clients[j], cand))
                cand = f->clients[j];
        /* Whether a held-back framework may take this agent (its data here
         * or in the rack) is asked only of one that would come first. */
        if (cand == best || (use_loc && f->allowed < 2 && !la_idx_find(a, gs, fw) &&
                             (f->allowed == 0 || !la_rack_total(a, g->rack, fw))))
            continue;
        best = cand;
    }
    return best;
}
