/* The allocator policy core: Mesos's hierarchical weighted DRF, with the
 * locality ranking of la_hints.c on top.
 *
 * Design, and why:
 *  - Every id is interned once into a slot (hash tables in la_map.c); the hot
 *    loop works on slot numbers and dense resource vectors (LA_MAX_RES
 *    doubles, names interned per instance), never on strings.
 *  - DRF order is kept the way Mesos's DRFSorter keeps it (share, then times
 *    chosen, then name) but incrementally: every role holds its listed
 *    clients (active, unsuppressed framework-roles) in an array sorted once
 *    per cycle; after an offer only the chosen client and its role move
 *    (binary search + memmove), where Mesos re-sorts per agent.
 *  - Refuse filters are per (agent, framework), kept per agent (la_filter.c:
 *    sparse table or dense array, whichever is smaller), so 10,000 agents x
 *    1,000 frameworks fully filtered costs ~40 MB. Each
 *    agent counts the filters of offerable frameworks and knows its earliest
 *    expiry, so an agent filtered for every offerable framework is skipped in
 *    O(1) - the case that makes Mesos's DeclineOffers benchmark O(agents x
 *    frameworks) per round.
 *  - Locality sizes offers to local work: a framework that said what one
 *    task uses (set_task_resources) and has pending tasks whose input is on
 *    an agent gets a slice of it sized to those tasks, not the whole agent,
 *    so a framework that takes any offer does not fill the agent with tasks
 *    reading remotely; the rest of the agent goes on to the next framework.
 *  - Offers, their resource items and reason strings live in per-instance
 *    arrays reused by every cycle (valid until the next call, as the ABI says).
 * The host owns time: `now` is only compared, never read from a clock, except
 * to measure the CPU time of a cycle for status(). */
#include "la_core.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define EPS 1e-9
#define NONE LA_MAP_NONE

static const char *const builtin_res[] = {"cpus", "mem", "disk", "gpus"};

/* ---- errors and logging --------------------------------------------------- */

void la_log(locus_allocator *a, int level, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (a->host.log)
        a->host.log(a->host.ctx, level, msg);
    else if (level <= LOCUS_LOG_WARN)
        fprintf(stderr, "locus-allocator: %s\n", msg);
}

int la_seterr(locus_allocator *a, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err, sizeof a->err, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- small helpers ---------------------------------------------------------- */

static int grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return LOCUS_ENOMEM;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return 0;
}

static int growz(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return LOCUS_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static uint64_t rng_next(uint64_t *s)
{ /* splitmix64: tiny, seedable, good enough for a shuffle */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void note_time(locus_allocator *a, double now)
{
    if (!a->epoch_set && isfinite(now)) {
        a->epoch = now;
        a->epoch_set = 1;
    }
}

static uint32_t ticks_floor(const locus_allocator *a, double t)
{
    double v = (t - a->epoch) * LA_TICKS_PER_S;
    if (!(v > 0))
        return 0;
    if (v >= (double)UINT32_MAX - 1)
        return UINT32_MAX - 1;
    return (uint32_t)v;
}

static uint32_t ticks_ceil(const locus_allocator *a, double t)
{
    double v = ceil((t - a->epoch) * LA_TICKS_PER_S);
    if (!(v > 1))
        return 1;
    if (v >= (double)UINT32_MAX)
        return UINT32_MAX;
    return (uint32_t)v;
}

/* Resource name -> dense index, interning new names. */
static int res_index(locus_allocator *a, const char *name, int create, uint32_t *out)
{
    uint32_t k = la_strmap_get(&a->res_map, name);
    if (k != NONE) {
        *out = k;
        return 0;
    }
    if (!create)
        return LOCUS_ENOTFOUND;
    if (a->n_res == LA_MAX_RES)
        return la_seterr(a, LOCUS_EINVAL, "resource %s: more than %d distinct resource names",
                         name, LA_MAX_RES);
    char *copy = strdup(name);
    if (!copy || la_strmap_put(&a->res_map, copy, a->n_res)) {
        free(copy);
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    }
    a->res_names[a->n_res] = copy;
    *out = a->n_res++;
    return 0;
}

/* Converts a locus_resources set into a dense vector. */
static int res_vec(locus_allocator *a, const locus_resources *r, int create, double *v,
                   const char *what)
{
    memset(v, 0, sizeof(double) * LA_MAX_RES);
    if (!r)
        return 0;
    if (r->n && !r->items)
        return la_seterr(a, LOCUS_EINVAL, "%s: resources with n=%zu and no items", what, r->n);
    for (size_t i = 0; i < r->n; i++) {
        const locus_scalar *s = &r->items[i];
        if (!s->name || !*s->name)
            return la_seterr(a, LOCUS_EINVAL, "%s: resource without a name", what);
        if (!isfinite(s->value) || s->value < 0)
            return la_seterr(a, LOCUS_EINVAL, "%s: resource %s: bad value %g", what, s->name,
                             s->value);
        uint32_t k = 0; /* set by res_index on success; initialised for -O2 flow analysis */
        int rc = res_index(a, s->name, create, &k);
        if (rc == LOCUS_ENOTFOUND) {
            if (s->value == 0)
                continue;
            return la_seterr(a, LOCUS_EINVAL, "%s: resource %s is unknown", what, s->name);
        }
        if (rc)
            return rc;
        v[k] += s->value;
    }
    return 0;
}

static int is_empty(const double *v, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        if (v[k] > EPS)
            return 0;
    return 1;
}

/* ---- DRF shares and order ------------------------------------------------ */

static double dominant(const locus_allocator *a, const double *alloc)
{
    double s = 0;
    for (uint32_t k = 0; k < a->n_res; k++)
        if (a->cluster_total[k] > EPS) {
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

static int cmp_client(const locus_allocator *a, uint32_t x, uint32_t y)
{
    const la_client *cx = &a->clients[x], *cy = &a->clients[y];
    if (cx->share != cy->share)
        return cx->share < cy->share ? -1 : 1;
    if (cx->count != cy->count)
        return cx->count < cy->count ? -1 : 1;
    if (cx->key8 != cy->key8)
        return cx->key8 < cy->key8 ? -1 : 1;
    return strcmp(a->fws[cx->fw].id, a->fws[cy->fw].id);
}

static int cmp_role(const locus_allocator *a, uint32_t x, uint32_t y)
{
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
    if (x->share != y->share)
        return x->share < y->share ? -1 : 1;
    if (x->count != y->count)
        return x->count < y->count ? -1 : 1;
    if (x->key8 != y->key8)
        return x->key8 < y->key8 ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Recomputes every share against the current cluster total and sorts every
 * role's list and the role order (once per cycle). */
static int resort_all(locus_allocator *a)
{
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
        ro->share = dominant(a, ro->alloc) / (ro->weight > 0 ? ro->weight : 1);
        for (uint32_t i = 0; i < ro->n; i++) {
            la_client *c = &a->clients[ro->list[i]];
            c->share = dominant(a, c->alloc);
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
    return 0;
}

/* Moves element at index i of a sorted array to its place after its key
 * grew (it only moves right). */
static void move_right(locus_allocator *a, uint32_t *arr, uint32_t n, uint32_t i,
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

/* Index of a listed client in its role's list: binary search (valid inside a
 * cycle, where lists are sorted), else a scan. */
static uint32_t list_find(locus_allocator *a, const la_role *ro, uint32_t cslot, int sorted)
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

static uint32_t role_order_find(const locus_allocator *a, uint32_t r)
{
    for (uint32_t i = 0; i < a->n_roles; i++)
        if (a->role_order[i] == r)
            return i;
    return NONE;
}

/* ---- refuse filters --------------------------------------------------------- */

static uint32_t filter_get(const la_agent *ag, uint32_t fw)
{
    return la_fset_get(&ag->filters, fw);
}

/* Keeps the locality index's copy of a filter in step (see la_idxent). */
static void idx_note_filter(locus_allocator *a, const la_agent *ag, uint32_t fw, uint32_t exp)
{
    uint32_t gs = (uint32_t)(ag - a->agents);
    if (!a->idx_off || gs >= a->idx_off_cap)
        return;
    for (uint32_t i = a->idx_off[gs]; i < a->idx_off[gs + 1]; i++)
        if (a->idx_ent[i].fw == fw) {
            a->idx_ent[i].fexp = exp;
            return;
        }
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
static void filters_expire(locus_allocator *a, la_agent *ag, uint32_t now_t)
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

/* ---- listing (activation, suppression) -------------------------------------- */

static int list_client(locus_allocator *a, uint32_t cs)
{
    la_client *c = &a->clients[cs];
    la_fw *f = &a->fws[c->fw];
    if (c->listed || c->detached || c->suppressed || !f->active)
        return 0;
    la_role *ro = &a->roles[c->role];
    if (grow((void **)&ro->list, &ro->cap, ro->n + 1, sizeof *ro->list))
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
    uint32_t i = list_find(a, ro, cs, 0);
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

/* ---- interning ----------------------------------------------------------------- */

static uint32_t role_get(locus_allocator *a, const char *name, int create)
{
    uint32_t r = la_strmap_get(&a->role_map, name);
    if (r != NONE || !create)
        return r;
    if (grow((void **)&a->roles, &a->cap_roles, a->n_roles + 1, sizeof *a->roles))
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
    if (grow((void **)&a->racks, &a->cap_racks, a->n_racks + 1, sizeof *a->racks))
        return NONE;
    char *copy = strdup(name);
    if (!copy || la_strmap_put(&a->rack_map, copy, a->n_racks)) {
        free(copy);
        return NONE;
    }
    a->racks[a->n_racks] = copy;
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

/* ---- allocations ----------------------------------------------------------------- */

static uint64_t alloc_key(uint32_t agent, uint32_t client)
{
    return (uint64_t)agent << 32 | client;
}

/* Adds r to client cs on agent ag (offer made or resources in use). */
static int alloc_add(locus_allocator *a, uint32_t ag, uint32_t cs, const double *r)
{
    uint64_t key = alloc_key(ag, cs);
    uint32_t s = la_u64map_get(&a->alloc_map, key);
    la_client *c = &a->clients[cs];
    if (s == NONE) {
        if (a->n_free_allocs)
            s = a->free_allocs[--a->n_free_allocs];
        else {
            if (grow((void **)&a->allocs, &a->cap_allocs, a->n_alloc_slots + 1,
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
    if (is_empty(al->r, a->n_res))
        alloc_unlink(a, s);
}

/* ---- client pool ------------------------------------------------------------------- */

static uint32_t client_new(locus_allocator *a, uint32_t fw, uint32_t role)
{
    uint32_t s;
    if (a->n_free_clients)
        s = a->free_clients[--a->n_free_clients];
    else {
        if (grow((void **)&a->clients, &a->cap_clients, a->n_client_slots + 1,
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

/* ---- create / destroy --------------------------------------------------------------- */

static void free_overrides(locus_allocator *a)
{
    for (size_t i = 0; a->override_buf && i < 2 * a->n_overrides; i++)
        free(a->override_buf[i]);
    free(a->override_buf);
    free(a->overrides);
    a->override_buf = NULL;
    a->overrides = NULL;
    a->n_overrides = 0;
}

static void stat_mtime(const char *path, struct timespec *out)
{
    struct stat sb;
    if (path && stat(path, &sb) == 0)
        *out = sb.st_mtim;
    else
        memset(out, 0, sizeof *out);
}

int la_create(const char *config_path, const locus_param *params, size_t n_params,
              const locus_host_services *host, locus_allocator **out, char *err, size_t errlen)
{
    if (!out)
        return LOCUS_EINVAL;
    *out = NULL;
    if (n_params && !params) {
        if (err && errlen)
            snprintf(err, errlen, "create: n_params=%zu and no params", n_params);
        return LOCUS_EINVAL;
    }
    locus_allocator *a = calloc(1, sizeof *a);
    if (!a)
        return LOCUS_ENOMEM;
    int rc = LOCUS_ENOMEM;
    if (host) {
        size_t n = host->struct_size < sizeof a->host ? host->struct_size : sizeof a->host;
        memcpy(&a->host, host, n);
    }
    a->host.struct_size = sizeof a->host;
    if (n_params) {
        a->overrides = calloc(n_params, sizeof *a->overrides);
        a->override_buf = calloc(n_params * 2, sizeof *a->override_buf);
        if (!a->overrides || !a->override_buf)
            goto fail;
        for (size_t i = 0; i < n_params; i++) {
            a->override_buf[2 * i] = strdup(params[i].key ? params[i].key : "");
            a->override_buf[2 * i + 1] = strdup(params[i].value ? params[i].value : "");
            a->n_overrides = i + 1;
            if (!a->override_buf[2 * i] || !a->override_buf[2 * i + 1])
                goto fail;
            a->overrides[i].key = a->override_buf[2 * i];
            a->overrides[i].value = a->override_buf[2 * i + 1];
        }
    }
    if (config_path && !(a->config_path = strdup(config_path)))
        goto fail;
    rc = la_config_load(&a->cfg, a->config_path, a->overrides, a->n_overrides, err, errlen);
    if (rc)
        goto fail;
    stat_mtime(a->config_path, &a->config_mtime);
    a->last_reload_check = -INFINITY;
    a->rng = (uint64_t)a->cfg.seed;
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t k;
        if (res_index(a, builtin_res[i], 1, &k)) {
            rc = LOCUS_ENOMEM;
            goto fail;
        }
    }
    la_hints_init_default(a);
    a->st.policy = (uint32_t)a->cfg.policy;
    a->st.hint_age_s = -1;
    *out = a;
    return 0;
fail:
    if (rc == LOCUS_ENOMEM && err && errlen)
        snprintf(err, errlen, "create: out of memory");
    la_destroy(a);
    /* la_destroy frees the overrides too */
    return rc;
}

void la_destroy(locus_allocator *a)
{
    if (!a)
        return;
    la_hints_close(a);
    la_hints_free_index(a);
    for (uint32_t i = 0; i < a->n_agents_slots; i++) {
        la_agent *g = &a->agents[i];
        free(g->id);
        free(g->hostname);
        la_fset_free(&g->filters);
    }
    free(a->agents);
    free(a->free_agents);
    free(a->live);
    for (uint32_t i = 0; i < a->n_fw_slots; i++) {
        la_fw *f = &a->fws[i];
        free(f->id);
        free(f->clients);
        for (size_t d = 0; d < f->n_demand; d++)
            free(f->demand[d].dataset);
        free(f->demand);
        free(f->loc);
        free(f->racks);
    }
    free(a->fws);
    free(a->free_fws);
    free(a->clients);
    free(a->free_clients);
    for (uint32_t r = 0; r < a->n_roles; r++) {
        free(a->roles[r].name);
        free(a->roles[r].list);
        free(a->roles[r].ulist);
    }
    free(a->roles);
    free(a->role_order);
    for (uint32_t r = 0; r < a->n_racks; r++)
        free(a->racks[r]);
    free(a->racks);
    free(a->allocs);
    free(a->free_allocs);
    for (uint32_t k = 0; k < a->n_res; k++)
        free(a->res_names[k]);
    la_strmap_free(&a->res_map);
    la_strmap_free(&a->agent_map);
    la_strmap_free(&a->host_map);
    la_strmap_free(&a->fw_map);
    la_strmap_free(&a->role_map);
    la_strmap_free(&a->rack_map);
    la_u64map_free(&a->alloc_map);
    free(a->offers);
    free(a->items);
    free(a->reasons);
    free(a->offer_aux);
    free(a->r1_off);
    free(a->r1_fw);
    free(a->fstate);
    free(a->sliced);
    la_config_free(&a->cfg);
    free(a->config_path);
    free_overrides(a);
    free(a);
}

const char *la_last_error(const locus_allocator *a)
{
    return a ? a->err : "no allocator";
}

/* ---- agents -------------------------------------------------------------------------- */

/* Agents changed (host names, racks, slots): every framework's locality
 * must be recomputed. O(1): frameworks compare epochs at the next cycle. */
static void mark_hints_dirty(locus_allocator *a)
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
        int rc = res_vec(a, &u->resources, 1, r, what);
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
        if ((rc = alloc_add(a, g, cs, r)))
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
    note_time(a, now);
    if (agent_find(a, info->id) != NONE)
        return la_seterr(a, LOCUS_EEXIST, "add_agent: agent %s already exists", info->id);
    double total[LA_MAX_RES];
    int rc = res_vec(a, &info->total, 1, total, info->id);
    if (rc)
        return rc;
    uint32_t s;
    if (a->n_free_agents)
        s = a->free_agents[--a->n_free_agents];
    else {
        if (grow((void **)&a->agents, &a->cap_agents, a->n_agents_slots + 1, sizeof *a->agents))
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
    mark_hints_dirty(a);
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
    mark_hints_dirty(a);
    return 0;
}

int la_update_agent(locus_allocator *a, const locus_agent_info *info)
{
    uint32_t s = info ? agent_find(a, info->id) : NONE;
    if (s == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "update_agent: unknown agent %s",
                         info && info->id ? info->id : "(null)");
    double total[LA_MAX_RES];
    int rc = res_vec(a, &info->total, 1, total, info->id);
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
    mark_hints_dirty(a);
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

/* ---- frameworks ------------------------------------------------------------------------ */

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
        if (is_empty(a->clients[cs].alloc, a->n_res))
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
    note_time(a, now);
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
        if (grow((void **)&a->fws, &a->cap_fws, a->n_fw_slots + 1, sizeof *a->fws))
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
    f->wait_since = -1;
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
    la_strmap_del(&a->fw_map, f->id);
    free(f->id);
    free(f->clients);
    for (size_t d = 0; d < f->n_demand; d++)
        free(f->demand[d].dataset);
    free(f->demand);
    free(f->loc);
    free(f->racks);
    memset(f, 0, sizeof *f);
    a->free_fws[a->n_free_fws++] = s;
    a->n_fws--;
    a->st.frameworks--;
    a->index_dirty = 1;
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
    note_time(a, now);
    uint32_t fs = fw_find(a, fid), gs = agent_find(a, aid);
    if (fs == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "recover: unknown framework %s", fid ? fid : "(null)");
    if (gs == NONE)
        return la_seterr(a, LOCUS_ENOTFOUND, "recover: unknown agent %s", aid ? aid : "(null)");
    double want[LA_MAX_RES], have[LA_MAX_RES] = {0};
    int rc = res_vec(a, resources, 0, want, "recover");
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
    for (uint32_t i = 0; i < ns && !is_empty(want, a->n_res); i++) {
        double take[LA_MAX_RES];
        const la_alloc *al = &a->allocs[slots[i]];
        for (uint32_t k = 0; k < a->n_res; k++) {
            take[k] = want[k] < al->r[k] ? want[k] : al->r[k];
            want[k] -= take[k];
        }
        alloc_sub(a, slots[i], take);
    }
    if (!resources || resources->n == 0)
        return 0; /* as Mesos: an empty recovery installs no filter */
    double d = refuse_seconds < 0 ? a->cfg.default_refuse : refuse_seconds;
    if (!isfinite(d) || d > a->cfg.max_refuse)
        d = a->cfg.max_refuse;
    if (d > 0 && isfinite(now)) {
        la_agent *g = &a->agents[gs];
        if ((rc = filter_set(a, g, fs, ticks_ceil(a, now + d))))
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
    }
    la_fw *f = &a->fws[s];
    for (size_t i = 0; i < f->n_demand; i++)
        free(f->demand[i].dataset);
    free(f->demand);
    f->demand = d;
    f->n_demand = n;
    f->hint_dirty = 1;
    a->index_dirty = 1;
    return 0;
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
    int rc = res_vec(a, per_task, 1, v, what);
    if (rc)
        return rc;
    la_fw *f = &a->fws[s];
    memcpy(f->task_res, v, sizeof v);
    f->has_task_res = !is_empty(v, a->n_res);
    return 0;
}

/* ---- config reload ------------------------------------------------------------------------ */

static int do_reload(locus_allocator *a)
{
    char *old_path = a->cfg.hints_path ? strdup(a->cfg.hints_path) : NULL;
    int64_t old_seed = a->cfg.seed;
    la_config before = a->cfg;
    char err[sizeof a->err];
    int rc = la_config_load(&a->cfg, a->config_path, a->overrides, a->n_overrides, err,
                            sizeof err);
    if (rc) {
        free(old_path);
        a->st.config_reload_errors++;
        la_log(a, LOCUS_LOG_ERROR, "config reload rejected, previous config kept: %s", err);
        return la_seterr(a, rc, "%s", err);
    }
    (void)before;
    a->st.config_reloads++;
    a->st.policy = (uint32_t)a->cfg.policy;
    if (a->cfg.seed != old_seed)
        a->rng = (uint64_t)a->cfg.seed;
    if (strcmp(old_path ? old_path : "", a->cfg.hints_path ? a->cfg.hints_path : "") != 0)
        la_hints_path_changed(a);
    free(old_path);
    mark_hints_dirty(a); /* staleness or weights may have changed */
    la_log(a, LOCUS_LOG_INFO, "config %s reloaded", a->config_path);
    return 0;
}

int la_reload_config(locus_allocator *a)
{
    if (!a)
        return LOCUS_EINVAL;
    if (!a->config_path)
        return 0; /* built from defaults and overrides only: nothing to re-read */
    stat_mtime(a->config_path, &a->config_mtime);
    return do_reload(a);
}

static void maybe_reload(locus_allocator *a, double now)
{
    if (!a->config_path || now - a->last_reload_check < a->cfg.reload_interval)
        return;
    a->last_reload_check = now;
    struct timespec m;
    stat_mtime(a->config_path, &m);
    if (m.tv_sec == a->config_mtime.tv_sec && m.tv_nsec == a->config_mtime.tv_nsec)
        return;
    a->config_mtime = m;
    (void)do_reload(a);
}

/* ---- the allocation cycle ------------------------------------------------------------------ */

typedef struct pick {
    uint32_t ri, li;            /* role position in role_order, client position in its list */
    uint32_t cs;                /* the client (locality: list order is not kept in a cycle) */
    uint32_t ui;                /* locality: its position in ulist, NONE if unknown */
    double score;
    int level;
    uint64_t local[LOCUS_TIERS];
    uint64_t rack;
    double waited;
    double tasks;               /* locality: the framework's local pending tasks on the agent */
} pick;

static int filtered(const la_agent *g, uint32_t fw, uint32_t now_t)
{
    uint32_t e = filter_get(g, fw);
    return e && now_t < e;
}

static int allocatable(const locus_allocator *a, const la_agent *g, double *avail)
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

/* The framework's demanded bytes on agent gs (index entry), or NULL. */
static const struct la_idxent *idx_find(const locus_allocator *a, uint32_t gs, uint32_t fw)
{
    if (!a->idx_off || gs >= a->idx_off_cap)
        return NULL;
    for (uint32_t i = a->idx_off[gs]; i < a->idx_off[gs + 1]; i++)
        if (a->idx_ent[i].fw == fw)
            return &a->idx_ent[i];
    return NULL;
}

static uint64_t rack_total(const locus_allocator *a, uint32_t rack, uint32_t fw)
{
    if (rack == NONE)
        return 0;
    const la_fw *f = &a->fws[fw];
    uint32_t lo = 0, hi = f->n_racks;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->racks[mid].rack == rack)
            return f->racks[mid].bytes;
        if (f->racks[mid].rack < rack)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Fills the locality annotation of framework fw on agent gs; e is its index
 * entry on that agent when the caller has it (else looked up). */
static void annotate_e(const locus_allocator *a, uint32_t gs, uint32_t fw,
                       const struct la_idxent *e, pick *p)
{
    const la_fw *f = &a->fws[fw];
    memset(p->local, 0, sizeof p->local);
    p->rack = 0;
    p->score = 0;
    p->tasks = 0;
    if (!f->n_loc || !f->demand_bytes) {
        p->level = -1;
        return;
    }
    if (!e)
        e = idx_find(a, gs, fw);
    uint64_t here = 0, rt;
    double w = 0;
    if (e) {
        memcpy(p->local, e->bytes, sizeof p->local);
        p->tasks = e->tasks;
        here = e->bytes[0] + e->bytes[1] + e->bytes[2];
        w = a->cfg.weight_mem * (double)e->bytes[0] + a->cfg.weight_ssd * (double)e->bytes[1] +
            a->cfg.weight_hdd * (double)e->bytes[2];
        rt = e->rack;
    } else {
        rt = rack_total(a, a->agents[gs].rack, fw);
    }
    p->rack = rt > here ? rt - here : 0;
    p->score = (w + a->cfg.rack_bonus * (double)p->rack) / (double)f->demand_bytes;
    p->level = here ? 0 : p->rack ? 1 : 2;
}

static void annotate(const locus_allocator *a, uint32_t gs, uint32_t fw, pick *p)
{
    annotate_e(a, gs, fw, NULL, p);
}

static int drf_first(const locus_allocator *a, const la_agent *g, uint32_t now_t, pick *p)
{
    for (uint32_t ri = 0; ri < a->n_roles; ri++) {
        const la_role *ro = &a->roles[a->role_order[ri]];
        for (uint32_t li = 0; li < ro->n; li++)
            if (!filtered(g, a->clients[ro->list[li]].fw, now_t)) {
                p->ri = ri;
                p->li = li;
                return 1;
            }
    }
    return 0;
}

/* Delay scheduling, decided once per cycle: each framework with cached
 * input may take node-local agents only until wait_node has passed since it
 * started waiting (or since its last node-local offer), rack-local ones until
 * a further wait_rack, then any. Frameworks not held back form, per role, the
 * `ulist` walked in DRF order; held-back ones are reached only through the
 * agent's and the rack's index entries, so they cost nothing elsewhere. */
static int loc_prepare(locus_allocator *a, double now)
{
    a->n_allowed1 = 0;
    if (grow((void **)&a->fstate, &a->fstate_cap, a->n_fw_slots + 1, 1))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < a->n_fw_slots; i++) {
        la_fw *f = &a->fws[i];
        a->fstate[i] = 0;
        if (!f->live)
            continue;
        f->allowed = 2;
        f->budget = f->local_tasks;
        if (f->n_listed)
            a->fstate[i] = 3;
        if (!f->n_listed || !f->n_loc || !f->demand_bytes)
            continue;
        /* A wait needs consecutive locality cycles: after a drf fallback, a
         * suppression or a deactivation the framework starts waiting afresh. */
        if (f->wait_since < 0 || f->wait_cycle + 1 != a->st.cycles)
            f->wait_since = now;
        f->wait_cycle = a->st.cycles;
        double w = now - f->wait_since;
        f->allowed = w >= a->cfg.wait_node + a->cfg.wait_rack ? 2 : w >= a->cfg.wait_node ? 1 : 0;
        a->fstate[i] = (uint8_t)(1 + f->allowed);
        a->n_allowed1 += f->allowed == 1;
    }
    /* Rack-allowed frameworks by the racks holding their data, so an agent
     * looks only at those of its own rack. */
    if (a->n_allowed1) {
        uint32_t nr = a->n_racks, total = 0;
        if (grow((void **)&a->r1_off, &a->r1_off_cap, nr + 2, sizeof *a->r1_off))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        memset(a->r1_off, 0, sizeof *a->r1_off * (nr + 2));
        for (uint32_t i = 0; i < a->n_fw_slots; i++) {
            const la_fw *f = &a->fws[i];
            if (f->live && f->allowed == 1)
                for (uint32_t j = 0; j < f->n_racks; j++, total++)
                    a->r1_off[f->racks[j].rack + 2]++;
        }
        if (grow((void **)&a->r1_fw, &a->r1_fw_cap, total + 1, sizeof *a->r1_fw))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        for (uint32_t r = 0; r < nr; r++)
            a->r1_off[r + 2] += a->r1_off[r + 1];
        for (uint32_t i = 0; i < a->n_fw_slots; i++) {
            const la_fw *f = &a->fws[i];
            if (f->live && f->allowed == 1)
                for (uint32_t j = 0; j < f->n_racks; j++)
                    a->r1_fw[a->r1_off[f->racks[j].rack + 1]++] = i;
        }
        /* r1_off[r] .. r1_off[r + 1] now spans rack r */
    }
    for (uint32_t r = 0; r < a->n_roles; r++) {
        la_role *ro = &a->roles[r];
        if (grow((void **)&ro->ulist, &ro->ucap, ro->n + 1, sizeof *ro->ulist))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        ro->un = 0;
        for (uint32_t i = 0; i < ro->n; i++)
            if (a->fws[a->clients[ro->list[i]].fw].allowed == 2)
                ro->ulist[ro->un++] = ro->list[i];
    }
    return 0;
}

/* Is client x before client y in hierarchical DRF order? */
static int drf_before(const locus_allocator *a, uint32_t x, uint32_t y)
{
    if (y == NONE)
        return 1;
    uint32_t rx = a->clients[x].role, ry = a->clients[y].role;
    if (rx != ry)
        return cmp_role(a, rx, ry) < 0;
    return cmp_client(a, x, y) < 0;
}

/* Makes *best the DRF-first of *best and framework fw's listed clients,
 * when fw is not filtered on g. The filter (a memory lookup) is checked only
 * for a client that would win: most candidates lose on shares alone. */
static void consider_fw(const locus_allocator *a, const la_agent *g, uint32_t fw, uint32_t now_t,
                        uint32_t *best)
{
    const la_fw *f = &a->fws[fw];
    int checked = 0;
    for (uint32_t j = 0; j < f->n_clients; j++) {
        uint32_t cs = f->clients[j];
        if (!a->clients[cs].listed || !drf_before(a, cs, *best))
            continue;
        if (!checked++ && g && filtered(g, fw, now_t))
            return;
        *best = cs;
    }
}

/* Near saturation (few frameworks left unfiltered on a densely filtered
 * agent), walking the DRF order meets mostly filtered frameworks: scan the
 * agent's filter array instead (sequential) and take the DRF-first of the
 * unfiltered frameworks the agent is allowed for. Same choice as the walk. */
static int scan_wanted(const locus_allocator *a, const la_agent *g)
{
    return g->filters.dense && (a->n_offerable - g->n_filt_off) * 16 <= a->n_offerable;
}

static uint32_t scan_pick(const locus_allocator *a, uint32_t gs, int use_loc)
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
        if (use_loc && f->allowed < 2 && !idx_find(a, gs, fw) &&
            (f->allowed == 0 || !rack_total(a, g->rack, fw)))
            continue;
        for (uint32_t j = 0; j < f->n_clients; j++)
            if (a->clients[f->clients[j]].listed && drf_before(a, f->clients[j], best))
                best = f->clients[j];
    }
    return best;
}

/* Locality: the best-scoring node-local framework within the slack of the
 * lowest share; else the DRF-first framework this agent is allowed for. */
static int loc_pick(locus_allocator *a, uint32_t gs, uint32_t now_t, double now, pick *out)
{
    const la_agent *g = &a->agents[gs];
    double slack = a->cfg.fairness_slack + 1e-12;
    double base_role = -1;
    for (uint32_t ri = 0; ri < a->n_roles && base_role < 0; ri++)
        if (a->roles[a->role_order[ri]].n)
            base_role = a->roles[a->role_order[ri]].share;
    int found = 0;
    pick best = {0};
    uint32_t best_cs = NONE;
    int have_idx = a->idx_off && gs < a->idx_off_cap;
    int use_slack = a->cfg.fairness_slack > 0; /* 0: strict DRF order, nobody jumps the queue */
    uint32_t walk_ui = NONE, best_ent = NONE;
    if (have_idx && use_slack) {
        for (uint32_t i = a->idx_off[gs]; i < a->idx_off[gs + 1]; i++) {
            /* The entry alone (score, copy of the filter) first: only a
             * possible winner costs the framework and client lookups. */
            double sc0 = a->idx_ent[i].score;
            if (sc0 < 0 || (found && sc0 < best.score) || a->idx_ent[i].fexp > now_t)
                continue;
            uint32_t fw = a->idx_ent[i].fw;
            if (!a->fstate[fw])
                continue;
            const la_fw *f = &a->fws[fw];
            if (f->has_task_res && !(f->budget > 0))
                continue; /* its local tasks are all offered this cycle */
            for (uint32_t j = 0; j < f->n_clients; j++) {
                uint32_t cs = f->clients[j];
                const la_client *c = &a->clients[cs];
                if (!c->listed)
                    continue;
                const la_role *ro = &a->roles[c->role];
                if (ro->share > base_role + slack ||
                    c->share > ro->min_share + slack)
                    continue;
                double sc = sc0;
                int better = !found || sc > best.score ||
                             (sc == best.score && drf_before(a, cs, best_cs));
                if (better) {
                    best.score = sc;
                    best_ent = i;
                    best_cs = cs;
                    found = 1;
                }
            }
        }
    }
    if (found) {
        annotate_e(a, gs, a->clients[best_cs].fw, &a->idx_ent[best_ent], &best);
        best.waited = 0;
    } else if (scan_wanted(a, g)) {
        best_cs = scan_pick(a, gs, 1);
        if (best_cs == NONE)
            return 0;
        annotate(a, gs, a->clients[best_cs].fw, &best);
        const la_fw *f = &a->fws[a->clients[best_cs].fw];
        best.waited = f->wait_since >= 0 && best.level > 0 ? now - f->wait_since : 0;
    } else if (!found) {
        /* DRF order among the frameworks not held back... */
        for (uint32_t ri = 0; ri < a->n_roles && best_cs == NONE; ri++) {
            const la_role *ro = &a->roles[a->role_order[ri]];
            for (uint32_t ui = 0; ui < ro->un; ui++)
                if (!filtered(g, a->clients[ro->ulist[ui]].fw, now_t) &&
                    (!a->n_sliced || a->fstate[a->clients[ro->ulist[ui]].fw])) {
                    best_cs = ro->ulist[ui];
                    walk_ui = ui;
                    break;
                }
        }
        /* ...and the held-back ones this agent is local (or rack-local) for. */
        if (have_idx)
            for (uint32_t i = a->idx_off[gs]; i < a->idx_off[gs + 1]; i++) {
                uint32_t fw = a->idx_ent[i].fw;
                if ((a->fstate[fw] == 1 || a->fstate[fw] == 2) /* listed, held back */
                    && a->idx_ent[i].fexp <= now_t)
                    consider_fw(a, NULL, fw, now_t, &best_cs);
            }
        if (a->n_allowed1 && g->rack != NONE && g->rack < a->n_racks)
            for (uint32_t i = a->r1_off[g->rack]; i < a->r1_off[g->rack + 1]; i++) {
                uint32_t fw = a->r1_fw[i];
                if (a->fstate[fw])
                    consider_fw(a, g, fw, now_t, &best_cs);
            }
        if (best_cs == NONE)
            return 0;
        annotate(a, gs, a->clients[best_cs].fw, &best);
        const la_fw *f = &a->fws[a->clients[best_cs].fw];
        best.waited = f->wait_since >= 0 && best.level > 0 ? now - f->wait_since : 0;
    }
    const la_client *c = &a->clients[best_cs];
    best.ri = role_order_find(a, c->role);
    best.li = NONE;
    best.cs = best_cs;
    best.ui = walk_ui != NONE && a->roles[c->role].ulist[walk_ui] == best_cs ? walk_ui : NONE;
    *out = best;
    return 1;
}

/* Fixed-point text of v with `decimals` digits (0..3): reasons are written
 * for every offer, and printf's %f is the slowest part of doing so. */
static const char *fmt_fix(double v, int decimals, char *buf, size_t len)
{
    static const uint64_t scale[] = {1, 10, 100, 1000};
    char tmp[32];
    size_t n = 0;
    int neg = v < 0;
    if (!isfinite(v) || fabs(v) > 1e15) {
        snprintf(buf, len, "%g", v);
        return buf;
    }
    uint64_t x = (uint64_t)llround(fabs(v) * (double)scale[decimals]);
    for (int d = 0; d < decimals; d++, x /= 10)
        tmp[n++] = (char)('0' + x % 10);
    if (decimals)
        tmp[n++] = '.';
    do {
        tmp[n++] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    if (neg)
        tmp[n++] = '-';
    size_t i = 0;
    for (; i < n && i + 1 < len; i++)
        buf[i] = tmp[n - 1 - i];
    buf[i] = '\0';
    return buf;
}

static const char *fmt_bytes(uint64_t b, char *buf, size_t len)
{
    static const char *const u[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 5) {
        v /= 1024;
        i++;
    }
    char num[32];
    snprintf(buf, len, "%s %s", fmt_fix(v, i ? 1 : 0, num, sizeof num), u[i]);
    return buf;
}

static int add_reason(locus_allocator *a, const char *text)
{
    size_t n = strlen(text) + 1;
    if (growz((void **)&a->reasons, &a->cap_reasons, a->n_reasons + n, 1))
        return LOCUS_ENOMEM;
    memcpy(a->reasons + a->n_reasons, text, n);
    a->n_reasons += n;
    return 0;
}

static int make_offer(locus_allocator *a, uint32_t gs, const double *avail, const pick *p,
                      int use_loc, int hints_ok, double now, uint32_t slice_tasks)
{
    uint32_t rslot = a->role_order[p->ri];
    la_role *ro = &a->roles[rslot];
    uint32_t cs = use_loc ? p->cs : ro->list[p->li];
    la_client *c = &a->clients[cs];
    la_fw *f = &a->fws[c->fw];
    la_agent *g = &a->agents[gs];
    if (growz((void **)&a->offers, &a->cap_offers, a->n_offers + 1, sizeof *a->offers) ||
        growz((void **)&a->offer_aux, &a->cap_aux, 2 * (a->n_offers + 1), sizeof(size_t)) ||
        growz((void **)&a->items, &a->cap_items, a->n_items + a->n_res, sizeof *a->items))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    int rc = alloc_add(a, gs, cs, avail);
    if (rc)
        return rc;

    locus_offer *o = &a->offers[a->n_offers];
    memset(o, 0, sizeof *o);
    o->framework_id = f->id;
    o->role = ro->name;
    o->agent_id = g->id;
    a->offer_aux[2 * a->n_offers] = a->n_items;
    for (uint32_t k = 0; k < a->n_res; k++)
        if (avail[k] > 0)
            a->items[a->n_items++] = (locus_scalar){a->res_names[k], avail[k]};
    o->resources.n = a->n_items - a->offer_aux[2 * a->n_offers];
    double share_before = c->share;

    char reason[160], b1[32], n1[32], n2[32], n3[32];
    if (!use_loc) {
        o->locality.level = -1;
        snprintf(reason, sizeof reason, "%s: role %s share %s, fw share %s",
                 a->cfg.policy == LA_POLICY_DRF ? "drf" : hints_ok ? "drf order" : "drf (no hints)",
                 ro->name, fmt_fix(ro->share, 3, n1, sizeof n1),
                 fmt_fix(share_before, 3, n2, sizeof n2));
    } else {
        memcpy(o->locality.local_bytes, p->local, sizeof p->local);
        o->locality.rack_bytes = p->rack;
        o->locality.score = p->score;
        o->locality.level = p->level;
        fmt_fix(share_before, 3, n1, sizeof n1);
        if (p->level == 0) {
            int t = p->local[0] ? 0 : p->local[1] ? 1 : 2;
            static const char *const tn[] = {"MEM", "SSD", "HDD"};
            snprintf(reason, sizeof reason, "local %s %s, score %s, share %s", tn[t],
                     fmt_bytes(p->local[t], b1, sizeof b1), fmt_fix(p->score, 2, n2, sizeof n2),
                     n1);
        } else if (p->level == 1) {
            snprintf(reason, sizeof reason, "rack-local %s after %s s wait, share %s",
                     fmt_bytes(p->rack, b1, sizeof b1), fmt_fix(p->waited, 1, n3, sizeof n3), n1);
        } else if (p->level == 2) {
            snprintf(reason, sizeof reason, "any after %s s wait, share %s",
                     fmt_fix(p->waited, 1, n3, sizeof n3), n1);
        } else {
            snprintf(reason, sizeof reason, "no cached demand, drf share %s", n1);
        }
    }
    if (slice_tasks) {
        size_t rl = strlen(reason);
        snprintf(reason + rl, sizeof reason - rl, ", slice for %s local task%s",
                 fmt_fix(slice_tasks, 0, n2, sizeof n2), slice_tasks == 1 ? "" : "s");
    }
    a->offer_aux[2 * a->n_offers + 1] = a->n_reasons;
    if (add_reason(a, reason))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    a->n_offers++;

    a->st.offers++;
    int lvl = o->locality.level;
    if (lvl == 0)
        a->st.offers_local++;
    else if (lvl == 1)
        a->st.offers_rack++;
    else
        a->st.offers_any++;
    if (use_loc && lvl == 0)
        f->wait_since = now; /* a local launch restarts the wait, as in delay scheduling */

    /* Mesos's sorters: the chosen client and its role move right. */
    uint32_t ui = use_loc ? p->ui : NONE;
    if (use_loc && ui == NONE && f->allowed == 2) {
        /* Its place in ulist, found before its key changes. */
        uint32_t lo = 0, hi = ro->un;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            int k = cmp_client(a, ro->ulist[mid], cs);
            if (k == 0) {
                ui = mid;
                break;
            }
            if (k < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    c->count++;
    ro->count++;
    c->share = dominant(a, c->alloc);
    ro->share = dominant(a, ro->alloc) / (ro->weight > 0 ? ro->weight : 1);
    /* In a locality cycle only ulist is walked, so only it is kept in order
     * (every list is sorted afresh at the next cycle). */
    if (!use_loc)
        move_right(a, ro->list, ro->n, p->li, cmp_client);
    else if (ui != NONE)
        move_right(a, ro->ulist, ro->un, ui, cmp_client);
    move_right(a, a->role_order, a->n_roles, p->ri, cmp_role);
    return 0;
}

/* Offer slicing: the part of avail that `tasks` tasks of framework fw use,
 * in *slice. Returns the task count when that is less than avail (a slice),
 * 0 when the framework gets avail whole (no task resources, not node-local,
 * or its local tasks need all of it). Resources the per-task set does not
 * name are left out of a slice. */
static uint32_t slice_of(const locus_allocator *a, const la_fw *f, const pick *p,
                         const double *avail, double *slice)
{
    if (!f->has_task_res || p->level != 0 || !(p->tasks > 0) || !(f->budget > 0))
        return 0;
    /* A task whose block has replicas on several agents counts on each of
     * them: the framework's budget keeps one cycle's slices to its pending
     * local tasks, counted once. */
    double n = ceil((p->tasks < f->budget ? p->tasks : f->budget) - 1e-6);
    if (n < 1)
        n = 1;
    if (n > 1e6)
        return 0;
    int smaller = 0, any = 0;
    for (uint32_t k = 0; k < a->n_res; k++) {
        double want = n * f->task_res[k];
        slice[k] = want < avail[k] ? want : avail[k];
        smaller |= slice[k] < avail[k] - EPS;
        any |= slice[k] > EPS;
    }
    return smaller && any ? (uint32_t)n : 0;
}

/* Locality, one agent: frameworks with local pending work each get a slice
 * sized to their local tasks (best score first within the fairness slack,
 * DRF shares updated after each), while resources remain; what remains goes
 * whole to the framework the usual rules pick (DRF order, delay scheduling).
 * A framework given a slice is taken out of this agent's candidates by
 * clearing its fstate until the agent is done, so every later pick path
 * skips it at no cost when nothing was sliced. */
static int loc_offer_agent(locus_allocator *a, uint32_t gs, double *avail, uint32_t now_t,
                           double now)
{
    int rc = 0;
    a->n_sliced = 0;
    for (;;) {
        pick p;
        memset(&p, 0, sizeof p);
        if (!loc_pick(a, gs, now_t, now, &p))
            break;
        uint32_t fw = a->clients[p.cs].fw;
        la_fw *f = &a->fws[fw];
        double slice[LA_MAX_RES];
        uint32_t nt = slice_of(a, f, &p, avail, slice);
        if ((rc = make_offer(a, gs, nt ? slice : avail, &p, 1, a->hints_valid, now, nt)))
            break;
        if (!nt)
            break;
        f->budget -= nt;
        if (grow((void **)&a->sliced, &a->cap_sliced, 2 * (a->n_sliced + 1), sizeof *a->sliced)) {
            rc = la_seterr(a, LOCUS_ENOMEM, "out of memory");
            break;
        }
        a->sliced[2 * a->n_sliced] = fw;
        a->sliced[2 * a->n_sliced + 1] = a->fstate[fw];
        a->n_sliced++;
        a->fstate[fw] = 0;
        if (!allocatable(a, &a->agents[gs], avail))
            break;
    }
    /* A held-back framework whose local tasks are all offered is done for
     * this cycle: only locality brings it offers, and none is left. */
    for (uint32_t i = 0; i < a->n_sliced; i++) {
        uint32_t fw = a->sliced[2 * i];
        if (a->fws[fw].budget > 0 || a->fws[fw].allowed == 2)
            a->fstate[fw] = (uint8_t)a->sliced[2 * i + 1];
    }
    a->n_sliced = 0;
    return rc;
}

int la_allocate(locus_allocator *a, double now, locus_offer_list *out)
{
    if (!a || !out)
        return LOCUS_EINVAL;
    out->offers = NULL;
    out->n = 0;
    a->n_offers = a->n_items = a->n_reasons = 0;
    if (a->paused)
        return 0;
    if (!isfinite(now))
        return la_seterr(a, LOCUS_EINVAL, "allocate: time is not finite");
    note_time(a, now);
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    maybe_reload(a, now);
    a->st.cycles++;

    int use_loc = 0;
    if (a->cfg.policy == LA_POLICY_LOCALITY) {
        use_loc = la_hints_refresh(a, now);
        if (!use_loc)
            a->st.fallback_cycles++;
    }
    int rc = resort_all(a);
    if (rc)
        return rc;
    if (use_loc && (rc = loc_prepare(a, now)))
        return rc;

    /* Mesos visits agents in a fresh random order every cycle. */
    for (uint32_t i = a->n_live; i > 1; i--) {
        uint32_t j = (uint32_t)(rng_next(&a->rng) % i);
        uint32_t t = a->live[i - 1];
        a->live[i - 1] = a->live[j];
        a->live[j] = t;
    }
    for (uint32_t i = 0; i < a->n_live; i++)
        a->agents[a->live[i]].live_pos = i;

    uint32_t now_t = ticks_floor(a, now);
    double avail[LA_MAX_RES];
    for (uint32_t i = 0; i < a->n_live && a->n_offerable; i++) {
        uint32_t gs = a->live[i];
        la_agent *g = &a->agents[gs];
        if (!g->active || !allocatable(a, g, avail))
            continue;
        if (g->filters.n && now_t >= g->min_expiry)
            filters_expire(a, g, now_t);
        if (g->n_filt_off >= a->n_offerable)
            continue; /* filtered for every framework that could take it */
        if (use_loc) {
            if ((rc = loc_offer_agent(a, gs, avail, now_t, now)))
                return rc;
            continue;
        }
        pick p;
        memset(&p, 0, sizeof p);
        int ok;
        if (scan_wanted(a, g)) {
            uint32_t cs = scan_pick(a, gs, 0);
            ok = cs != NONE;
            if (ok) {
                p.ri = role_order_find(a, a->clients[cs].role);
                p.li = list_find(a, &a->roles[a->clients[cs].role], cs, 1);
            }
        } else {
            ok = drf_first(a, g, now_t, &p);
        }
        if (!ok)
            continue;
        p.level = -1;
        if ((rc = make_offer(a, gs, avail, &p, 0, a->hints_valid, now, 0)))
            return rc;
    }
    for (size_t i = 0; i < a->n_offers; i++) {
        a->offers[i].resources.items = a->items + a->offer_aux[2 * i];
        a->offers[i].reason = a->reasons + a->offer_aux[2 * i + 1];
    }
    out->offers = a->offers;
    out->n = a->n_offers;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    a->st.last_cycle_cpu_s =
        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    return 0;
}

int la_status(const locus_allocator *a, locus_allocator_status *out)
{
    if (!a || !out)
        return LOCUS_EINVAL;
    uint32_t want = out->struct_size;
    if (want < sizeof(uint32_t))
        return LOCUS_EINVAL;
    locus_allocator_status s = a->st;
    s.roles = a->n_roles;
    s.agents = a->n_live;
    s.frameworks = a->n_fws;
    size_t n = want < sizeof s ? want : sizeof s;
    s.struct_size = (uint32_t)n;
    memcpy(out, &s, n);
    return 0;
}
