/* The allocator policy core: the instance's life cycle (create, destroy,
 * config reload, status) and the small helpers every module shares (growing
 * arrays, interned resource vectors, host time in filter ticks, the seeded
 * random stream). The policy itself lives beside it, one job per file:
 * la_state.c (agents, frameworks, roles, allocations, refuse filters),
 * la_drf.c (the hierarchical weighted DRF order), la_place.c (where locality
 * puts work), la_offer.c (offers, their reasons, the allocation cycle), and
 * la_hints.c (the hint snapshot and the locality index).
 *
 * Design, and why: every id is interned once into a slot (hash tables in
 * la_map.c); the hot loop works on slot numbers and dense resource vectors
 * (LA_MAX_RES doubles, names interned per instance), never on strings. The
 * host owns time: `now` is only compared, never read from a clock, except to
 * measure the CPU time of a cycle for status(). */
#include "la_core.h"
#include "la_roles.h"

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

int la_grow_to(void **arr, uint32_t *cap, uint32_t need, size_t elem)
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

int la_growz(void **arr, size_t *cap, size_t need, size_t elem)
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

uint64_t la_rng_next(uint64_t *s)
{ /* splitmix64: tiny, seedable, good enough for a shuffle */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void la_note_time(locus_allocator *a, double now)
{
    if (!a->epoch_set && isfinite(now)) {
        a->epoch = now;
        a->epoch_set = 1;
    }
}

uint32_t la_ticks_floor(const locus_allocator *a, double t)
{
    double v = (t - a->epoch) * LA_TICKS_PER_S;
    if (!(v > 0))
        return 0;
    if (v >= (double)UINT32_MAX - 1)
        return UINT32_MAX - 1;
    return (uint32_t)v;
}

uint32_t la_ticks_ceil(const locus_allocator *a, double t)
{
    double v = ceil((t - a->epoch) * LA_TICKS_PER_S);
    if (!(v > 1))
        return 1;
    if (v >= (double)UINT32_MAX)
        return UINT32_MAX;
    return (uint32_t)v;
}

/* Resource name -> dense index, interning new names. */
int la_res_index(locus_allocator *a, const char *name, int create, uint32_t *out)
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
int la_res_vec(locus_allocator *a, const locus_resources *r, int create, double *v,
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
        int rc = la_res_index(a, s->name, create, &k);
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

int la_res_empty(const double *v, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        if (v[k] > EPS)
            return 0;
    return 1;
}

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
        if (la_res_index(a, builtin_res[i], 1, &k)) {
            rc = LOCUS_ENOMEM;
            goto fail;
        }
    }
    la_hints_init_default(a);
    a->st.policy = (uint32_t)a->cfg.policy;
    a->st.hint_age_s = -1;
    la_hints_start(a);
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
    la_roles_free(a);
    la_hints_free_index(a);
    la_place_free(a);
    for (uint32_t i = 0; i < a->n_agents_slots; i++) {
        la_agent *g = &a->agents[i];
        free(g->id);
        free(g->hostname);
        la_fset_free(&g->filters);
    }
    free(a->agents);
    free(a->free_agents);
    free(a->live);
    for (uint32_t i = 0; i < a->n_fw_slots; i++)
        la_fw_free_fields(&a->fws[i]);
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
    free(a->urack);
    free(a->rank_key);
    free(a->fw_key);
    free(a->fw_rk);
    free(a->held_off);
    free(a->held_ent);
    free(a->fplanned);
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
    la_mark_hints_dirty(a); /* staleness or weights may have changed */
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

void la_maybe_reload(locus_allocator *a, double now)
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
