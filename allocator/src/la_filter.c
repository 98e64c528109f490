/* Refuse filters of one agent, in the smaller of two forms.
 *
 * Mesos's DeclineOffers pattern ends with every agent filtered for every
 * framework: 10,000 x 1,000 filters. Sparse filter sets (a few frameworks
 * per agent, the usual case) live in a small open-addressing table of
 * (framework, expiry) word pairs; when the table would grow past the size of
 * a dense array indexed by framework slot (4 bytes per framework), the set
 * switches to that array. So memory is ~16 bytes per filter when sparse and
 * at most 4 bytes per framework per agent when dense (40 MB at 10,000 x
 * 1,000). Expiry ticks are 10 ms units from the instance's first time stamp. */
#include "la_filter.h"

#include <stdlib.h>
#include <string.h>

#include "locus/error.h"

/* Filters a sparse set may hold for its expiry to work on the stack. */
#define LA_FSET_STACK_KEEP 64

static uint32_t slot_of(uint32_t fw, uint32_t cap)
{
    return (fw * 2654435761u) & (cap - 1);
}

static void sparse_insert(uint32_t *v, uint32_t cap, uint32_t fw, uint32_t exp)
{
    uint32_t i = slot_of(fw, cap);
    while (v[2 * i])
        i = (i + 1) & (cap - 1);
    v[2 * i] = fw + 1;
    v[2 * i + 1] = exp;
}

/* Re-lays the set out at a new size, sparse or dense. */
static int relayout(la_fset *s, uint32_t ncap, int dense)
{
    uint32_t *nv = calloc(dense ? ncap : 2 * (size_t)ncap, sizeof *nv);
    if (!nv)
        return LOCUS_ENOMEM;
    if (s->v) {
        for (uint32_t i = 0; i < s->cap; i++) {
            uint32_t fw, exp;
            if (s->dense) {
                if (!s->v[i])
                    continue;
                fw = i;
                exp = s->v[i];
            } else {
                if (!s->v[2 * i])
                    continue;
                fw = s->v[2 * i] - 1;
                exp = s->v[2 * i + 1];
            }
            if (dense)
                nv[fw] = exp;
            else
                sparse_insert(nv, ncap, fw, exp);
        }
    }
    free(s->v);
    s->v = nv;
    s->cap = ncap;
    s->dense = (uint8_t)dense;
    return 0;
}

int la_fset_set(la_fset *s, uint32_t fw, uint32_t exp, uint32_t n_fw_slots, int *added)
{
    *added = 0;
    uint32_t cur = la_fset_get(s, fw);
    if (cur) {
        if (exp <= cur)
            return 0;
        if (s->dense)
            s->v[fw] = exp;
        else
            for (uint32_t i = slot_of(fw, s->cap);; i = (i + 1) & (s->cap - 1))
                if (s->v[2 * i] == fw + 1) {
                    s->v[2 * i + 1] = exp;
                    break;
                }
        return 0;
    }
    if (s->dense) {
        if (fw >= s->cap) {
            uint32_t ncap = s->cap;
            while (ncap <= fw)
                ncap *= 2;
            if (relayout(s, ncap, 1))
                return LOCUS_ENOMEM;
        }
        s->v[fw] = exp;
    } else {
        if ((s->n + 1) * 2 > s->cap) {
            uint32_t ncap = s->cap ? s->cap * 2 : 4;
            /* Dense once a sparse table would take more words than slots. */
            uint32_t dense_cap = 16;
            while (dense_cap < n_fw_slots || dense_cap <= fw)
                dense_cap *= 2;
            int rc = 2 * ncap >= dense_cap ? relayout(s, dense_cap, 1) : relayout(s, ncap, 0);
            if (rc)
                return rc;
        }
        if (s->dense)
            s->v[fw] = exp;
        else
            sparse_insert(s->v, s->cap, fw, exp);
    }
    s->n++;
    *added = 1;
    return 0;
}

int la_fset_del(la_fset *s, uint32_t fw)
{
    if (!s->n)
        return 0;
    if (s->dense) {
        if (fw >= s->cap || !s->v[fw])
            return 0;
        s->v[fw] = 0;
    } else {
        uint32_t mask = s->cap - 1, i = slot_of(fw, s->cap);
        while (s->v[2 * i] && s->v[2 * i] != fw + 1)
            i = (i + 1) & mask;
        if (!s->v[2 * i])
            return 0;
        /* Backward-shift deletion keeps probe runs intact without tombstones. */
        uint32_t j = i;
        for (;;) {
            j = (j + 1) & mask;
            if (!s->v[2 * j])
                break;
            uint32_t home = slot_of(s->v[2 * j] - 1, s->cap);
            if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
                s->v[2 * i] = s->v[2 * j];
                s->v[2 * i + 1] = s->v[2 * j + 1];
                i = j;
            }
        }
        s->v[2 * i] = 0;
        s->v[2 * i + 1] = 0;
    }
    if (--s->n == 0)
        la_fset_free(s);
    return 1;
}

uint32_t la_fset_expire(la_fset *s, uint32_t now_t, void (*on_drop)(void *ctx, uint32_t fw),
                        void *ctx)
{
    uint32_t minexp = UINT32_MAX;
    if (!s->n)
        return minexp;
    if (s->dense) {
        for (uint32_t fw = 0; fw < s->cap; fw++) {
            uint32_t e = s->v[fw];
            if (!e)
                continue;
            if (e <= now_t) {
                s->v[fw] = 0;
                s->n--;
                on_drop(ctx, fw);
            } else if (e < minexp) {
                minexp = e;
            }
        }
    } else {
        /* The survivors are set aside, the table cleared and they are put
         * back: deleting while scanning would move probe runs. A small set
         * (the usual one) sets them aside on the stack, which spares an
         * allocation on every agent visit. */
        uint32_t stack[2 * LA_FSET_STACK_KEEP], *keep = stack, nk = 0;
        if (s->n > LA_FSET_STACK_KEEP && !(keep = malloc(2 * sizeof *keep * s->n))) {
            for (uint32_t i = 0; i < s->cap; i++)
                if (s->v[2 * i] && s->v[2 * i + 1] < minexp)
                    minexp = s->v[2 * i + 1];
            return minexp; /* out of memory: expire at the next look */
        }
        for (uint32_t i = 0; i < s->cap; i++) {
            if (!s->v[2 * i])
                continue;
            uint32_t fw = s->v[2 * i] - 1, e = s->v[2 * i + 1];
            if (e <= now_t) {
                s->n--;
                on_drop(ctx, fw);
            } else {
                keep[nk++] = fw;
                keep[nk++] = e;
                if (e < minexp)
                    minexp = e;
            }
        }
        memset(s->v, 0, 2 * sizeof *s->v * s->cap);
        for (uint32_t i = 0; i < nk; i += 2)
            sparse_insert(s->v, s->cap, keep[i], keep[i + 1]);
        if (keep != stack)
            free(keep);
    }
    if (!s->n)
        la_fset_free(s);
    return minexp;
}

void la_fset_free(la_fset *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}
