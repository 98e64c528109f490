/* Poll scheduling of one backend instance: timers, timeout, commit, failure
 * accounting, backoff and staleness expiry. */
#ifndef LOCUS_PROBE_SCHED_H
#define LOCUS_PROBE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "probe_config.h"

/* A Prometheus histogram of durations: fixed upper bounds in seconds
 * (probe_duration_buckets), cumulative counts per bound, sum and count. */
#define PROBE_HIST_BUCKETS 14
extern const double probe_duration_buckets[PROBE_HIST_BUCKETS];
typedef struct probe_hist {
    uint64_t le[PROBE_HIST_BUCKETS];  /* observations <= bound i */
    uint64_t count;
    double sum;
} probe_hist;
void probe_hist_observe(probe_hist *h, double seconds);

/* Counters of one backend type, kept by the daemon across reloads (read by
 * the metrics and the HTTP API). */
typedef struct probe_stats {
    int enabled;                   /* a runner exists for it in the current config */
    int running;                   /* a poll is in flight */
    uint64_t polls;                /* polls started */
    uint64_t successes, failures, timeouts;
    uint64_t consecutive_failures;
    uint64_t keys_last, blocks_last;   /* of the last complete poll */
    uint64_t keys_total, blocks_total; /* summed over complete polls */
    uint64_t expired_blocks;       /* dropped by the staleness bound */
    uint64_t skipped[PROBE_SKIP_REASONS]; /* records left out (over a cap), by reason */
    double duration_last_s, duration_sum_s;
    uint64_t duration_count;
    probe_hist poll_hist;          /* every finished poll (success, failure, timeout) */
    probe_hist commit_hist;        /* hint store commits of complete polls */
    int64_t last_summary_ms;       /* when the last info-level poll summary was logged */
    uint64_t ok_since_summary, failed_since_summary;
    int64_t last_success_ms;       /* wall clock; 0 = never */
    int64_t last_attempt_ms;
    char last_error[512];
    int expired_all;               /* the staleness bound dropped everything the last success
                                      confirmed: no need to scan again until the next success */
} probe_stats;

/* Services the daemon lends its runners; the daemon keeps cfg current. */
typedef struct probe_env {
    struct event_base *base;
    locus_hs *hs;
    const probe_config *cfg;
} probe_env;

typedef struct probe_runner probe_runner;

/* Creates a backend instance of type t from its parsed config section
 * (a struct starting with probe_backend_common; it must stay alive while the
 * runner does). Counters go to *stats. Does not start polling. */
int probe_runner_create(probe_env *env, const probe_backend_type *t, const void *config,
                        probe_stats *stats, probe_runner **out, char *err, size_t errlen);
/* Arms the first poll after delay_s and the staleness timer from
 * stats->last_success_ms. */
void probe_runner_start(probe_runner *r, double delay_s);
/* Cancels a poll in flight (nothing is written), destroys the backend.
 * NULL: no-op. */
void probe_runner_free(probe_runner *r);

/* Wall clock in ms (the hint store's clock) and a monotonic clock in s. */
int64_t probe_now_ms(void);
double probe_mono_s(void);

#endif
