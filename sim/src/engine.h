/* The simulator's discrete-event engine: a binary min-heap of events keyed by
 * (time, sequence number) and a seeded random number generator.
 *
 * Ties in time break by insertion order (the sequence number), so a replay is
 * a pure function of its inputs and seed (ns-3 orders its scheduler the same
 * way). Nothing here reads the wall clock.
 */
#ifndef LOCUS_SIM_ENGINE_H
#define LOCUS_SIM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_event {
    double t;          /* simulated seconds */
    uint64_t seq;      /* insertion order: the tie breaker */
    uint32_t type;     /* host-defined kind */
    uint32_t a, b;     /* host-defined arguments (e.g. job and task index) */
} sim_event;

typedef struct sim_engine {
    sim_event *heap;
    size_t n, cap;
    uint64_t next_seq;
    uint64_t processed;  /* events popped so far */
    double now;          /* time of the last popped event */
} sim_engine;

void sim_engine_init(sim_engine *e);
void sim_engine_free(sim_engine *e);
/* Schedules an event at time t (>= now). Returns 0 or LOCUS_ENOMEM. */
int sim_engine_push(sim_engine *e, double t, uint32_t type, uint32_t a, uint32_t b);
/* Pops the earliest event into *out and advances now. Returns 0 when the heap is empty. */
int sim_engine_pop(sim_engine *e, sim_event *out);
/* Time of the earliest event, or a huge value when empty. */
double sim_engine_peek_time(const sim_engine *e);

/* xoshiro256** seeded through splitmix64: fast, small state, good quality,
 * and identical on every platform. */
typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

/* Seeds a generator; `stream` gives independent sequences from one seed. */
void sim_rng_seed(sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t sim_rng_next(sim_rng *r);
/* Uniform integer in [0, n), n > 0 (unbiased). */
uint64_t sim_rng_below(sim_rng *r, uint64_t n);
/* Uniform double in [0, 1). */
double sim_rng_unit(sim_rng *r);

/* Grows *p (an array of elem-sized items with capacity *cap) to hold at
 * least need items, doubling. Returns 0 or LOCUS_ENOMEM (*p unchanged). */
int sim_grow(void **p, size_t *cap, size_t need, size_t elem);

#endif
