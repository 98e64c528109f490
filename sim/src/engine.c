/* Event heap and random numbers for locus-sim (see engine.h).
 *
 * The heap is an implicit binary heap in one growable array: push and pop are
 * O(log n) with no per-event allocation, which matters at millions of task
 * events per replay. Events compare by time, then by sequence number, so two
 * events at the same simulated time always run in the order they were
 * scheduled.
 */
#include "engine.h"

#include <math.h>
#include <stdlib.h>

#include "locus/error.h"

void sim_engine_init(sim_engine *e)
{
    e->heap = NULL;
    e->n = e->cap = 0;
    e->next_seq = 0;
    e->processed = 0;
    e->now = 0.0;
}

void sim_engine_free(sim_engine *e)
{
    if (!e)
        return;
    free(e->heap);
    e->heap = NULL;
    e->n = e->cap = 0;
}

static int ev_less(const sim_event *x, const sim_event *y)
{
    if (x->t != y->t)
        return x->t < y->t;
    return x->seq < y->seq;
}

int sim_engine_push(sim_engine *e, double t, uint32_t type, uint32_t a, uint32_t b)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 1024;
        sim_event *h = realloc(e->heap, cap * sizeof *h);
        if (!h)
            return LOCUS_ENOMEM;
        e->heap = h;
        e->cap = cap;
    }
    if (t < e->now)
        t = e->now; /* never schedule into the past */
    sim_event ev = { .t = t, .seq = e->next_seq++, .type = type, .a = a, .b = b };
    size_t i = e->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_less(&ev, &e->heap[p]))
            break;
        e->heap[i] = e->heap[p];
        i = p;
    }
    e->heap[i] = ev;
    return 0;
}

int sim_engine_pop(sim_engine *e, sim_event *out)
{
    if (e->n == 0)
        return 0;
    *out = e->heap[0];
    sim_event last = e->heap[--e->n];
    size_t i = 0, n = e->n;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= n)
            break;
        size_t c = l;
        if (l + 1 < n && ev_less(&e->heap[l + 1], &e->heap[l]))
            c = l + 1;
        if (!ev_less(&e->heap[c], &last))
            break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (n > 0)
        e->heap[i] = last;
    e->now = out->t;
    e->processed++;
    return 1;
}

double sim_engine_peek_time(const sim_engine *e)
{
    return e->n ? e->heap[0].t : HUGE_VAL;
}

int sim_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return LOCUS_ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
    /* Rejection sampling keeps the draw unbiased for any n. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = sim_rng_next(r);
    while (x >= limit);
    return x % n;
}

double sim_rng_unit(sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
