/* Helpers shared by the allocator tests: build agents, frameworks and
 * resource sets in one line, and find offers. Header-only so each test
 * binary stays a single file. */
#ifndef LA_TEST_H
#define LA_TEST_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "la_core.h"

/* An allocator from overrides given as "section.key=value" strings. */
static inline locus_allocator *t_new(const char *path, ...)
{
    locus_param p[32];
    char buf[32][128];
    size_t n = 0;
    va_list ap;
    va_start(ap, path);
    const char *kv;
    while ((kv = va_arg(ap, const char *)) != NULL && n < 32) {
        snprintf(buf[n], sizeof buf[n], "%s", kv);
        char *eq = strchr(buf[n], '=');
        assert_non_null(eq);
        *eq = '\0';
        p[n].key = buf[n];
        p[n].value = eq + 1;
        n++;
    }
    va_end(ap);
    locus_allocator *a = NULL;
    char err[512] = "";
    int rc = la_create(path, p, n, NULL, &a, err, sizeof err);
    if (rc)
        fail_msg("create: %s", err);
    return a;
}

static inline void t_agent_r(locus_allocator *a, const char *id, const char *rack, double cpus,
                             double mem)
{
    locus_scalar s[2] = {{"cpus", cpus}, {"mem", mem}};
    locus_agent_info ai = {id, id, rack, {s, 2}};
    int rc = la_add_agent(a, &ai, NULL, 0, 0);
    if (rc)
        fail_msg("add_agent %s: %s", id, la_last_error(a));
}

static inline void t_agent(locus_allocator *a, const char *id, double cpus, double mem)
{
    t_agent_r(a, id, NULL, cpus, mem);
}

/* xorshift64: the randomised tests' numbers, the same run for the same seed *s. */
static inline uint64_t t_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static inline void t_fw(locus_allocator *a, const char *id, const char *role)
{
    const char *roles[1] = {role};
    locus_framework_info fi = {id, roles, 1, 1};
    int rc = la_add_framework(a, &fi, NULL, 0, 0);
    if (rc)
        fail_msg("add_framework %s: %s", id, la_last_error(a));
}

/* What one task of fw uses (offer slicing). */
static inline void t_task_res(locus_allocator *a, const char *fw, double cpus, double mem)
{
    locus_scalar s[2] = {{"cpus", cpus}, {"mem", mem}};
    locus_resources r = {s, 2};
    int rc = la_set_task_resources(a, fw, &r);
    if (rc)
        fail_msg("set_task_resources %s: %s", fw, la_last_error(a));
}

static inline double t_res(const locus_resources *r, const char *name)
{
    double v = 0;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].name, name) == 0)
            v += r->items[i].value;
    return v;
}

/* Two offer lists are the same offers, in order: framework, agent, level,
 * cpus, mem and reason (tests comparing a fast path with the plain one). */
static inline void t_assert_same_offers(const locus_offer_list *x, const locus_offer_list *y)
{
    assert_int_equal(x->n, y->n);
    for (size_t i = 0; i < x->n; i++) {
        const locus_offer *o = &x->offers[i], *q = &y->offers[i];
        assert_string_equal(o->framework_id, q->framework_id);
        assert_string_equal(o->agent_id, q->agent_id);
        assert_int_equal(o->locality.level, q->locality.level);
        assert_true(t_res(&o->resources, "cpus") == t_res(&q->resources, "cpus"));
        assert_true(t_res(&o->resources, "mem") == t_res(&q->resources, "mem"));
        assert_string_equal(o->reason, q->reason);
    }
}

static inline const locus_offer *t_offer_for_agent(const locus_offer_list *l, const char *agent)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->offers[i].agent_id, agent) == 0)
            return &l->offers[i];
    return NULL;
}

static inline size_t t_count_fw(const locus_offer_list *l, const char *fw)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += strcmp(l->offers[i].framework_id, fw) == 0;
    return n;
}

/* Blocks of dataset "in" held in memory and served as hints through
 * la_hint_provider, for engine tests that need no store: block i is blk[i]
 * for i < n unless missing(i) says it has no hints; no dataset summaries,
 * no change feed, generation 1, storage hosts are agent ids. The struct
 * must outlive the allocator it is installed in (t_use_block_table). */
typedef struct t_block_table {
    const locus_hs_block_view *blk;
    size_t n;
    int (*missing)(uint64_t idx);
} t_block_table;

static inline int tb_open(void *ctx, void **snap)
{
    *snap = ctx;
    return 0;
}
static inline void tb_close(void *ctx, void *snap)
{
    (void)ctx;
    (void)snap;
}
static inline int tb_meta(void *ctx, void *snap, uint64_t *gen, int64_t *upd)
{
    (void)ctx;
    (void)snap;
    *gen = 1;
    *upd = 0;
    return 0;
}
static inline int tb_dataset(void *ctx, void *snap, const char *name,
                             const locus_hs_dataset **out)
{
    (void)ctx;
    (void)snap;
    (void)name;
    (void)out;
    return LOCUS_ENOTFOUND;
}
static inline int tb_block(void *ctx, void *snap, const char *ds, uint64_t idx,
                           const locus_hs_block_view **out)
{
    (void)snap;
    const t_block_table *b = ctx;
    if (strcmp(ds, "in") != 0 || idx >= b->n || (b->missing && b->missing(idx)))
        return LOCUS_ENOTFOUND;
    *out = &b->blk[idx];
    return 0;
}
static inline const char *tb_host(void *ctx, void *snap, const char *host)
{
    (void)ctx;
    (void)snap;
    return host;
}
static inline uint64_t tb_errs(void *ctx, void *snap)
{
    (void)ctx;
    (void)snap;
    return 0;
}

static inline void t_use_block_table(locus_allocator *a, t_block_table *b)
{
    la_hint_provider p = {b, tb_open, tb_close, tb_meta, tb_dataset, tb_block, tb_host, tb_errs,
                          NULL};
    la_set_hint_provider(a, &p);
}

static inline locus_offer_list t_alloc(locus_allocator *a, double now)
{
    locus_offer_list l = {0};
    int rc = la_allocate(a, now, &l);
    if (rc)
        fail_msg("allocate: %s", la_last_error(a));
    return l;
}

/* Declines an offer (gives back everything in it). */
static inline void t_decline(locus_allocator *a, const locus_offer *o, double refuse, double now)
{
    int rc = la_recover(a, o->framework_id, o->agent_id, &o->resources, refuse, now);
    if (rc)
        fail_msg("recover: %s", la_last_error(a));
}

#endif

/* ---- temporary folders ---------------------------------------------------- */

#include <unistd.h>

#include "testutil.h"

#define t_rm_r tu_rm_r

/* A fresh temporary folder into buf, or the test fails. */
static inline void t_mkdtemp(char *buf, size_t len)
{
    if (tu_mkdtemp(buf, len, "alloc") != 0)
        fail_msg("mkdtemp failed");
}
