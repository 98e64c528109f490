/* Poll scheduling of one backend instance (a "runner").
 *
 * Everything happens on the daemon's libevent loop, so a poll's commit runs
 * to completion inside one callback: a signal can only be handled between
 * two callbacks, never in the middle of a write transaction.
 *
 * Life of a poll: the poll timer fires -> the backend's poll() starts and a
 * timeout timer is armed -> the backend calls done() -> on success the sink
 * is committed as one replace-all batch (vanished placements removed) and the
 * staleness timer is re-armed at last_success + staleness; on failure (error,
 * timeout, rejected commit) only the failure is recorded, so the last good
 * placements stay until that timer drops them. Consecutive failures double
 * the interval up to probe.backoff_max; the jitter keeps backends (and
 * probes on several hosts polling one storage layer) out of lockstep. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe_log.h"
#include "probe_sched.h"
#include "probe_sink.h"

struct probe_runner {
    probe_env *env;
    const probe_backend_type *type;
    const probe_backend_common *common; /* head of the backend's config section */
    void *state;                   /* the backend instance */
    probe_stats *stats;
    probe_sink *sink;
    struct event *poll_ev, *timeout_ev, *stale_ev;
    double started_mono;           /* start of the poll in flight (monotonic) */
    uint64_t rng;
};

int64_t probe_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double probe_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* From a fast static file to a slow Redis or HDFS crawl. */
const double probe_duration_buckets[PROBE_HIST_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1,    2.5,   5,    10,  30,
                                                            60,    300};

void probe_hist_observe(probe_hist *h, double s)
{
    for (int i = 0; i < PROBE_HIST_BUCKETS; i++)
        if (s <= probe_duration_buckets[i])
            h->le[i]++;
    h->count++;
    h->sum += s;
}

#define SUMMARY_EVERY_MS 60000 /* info-level poll summaries: at most one a minute per backend */

static const probe_backend_common *knobs(const probe_runner *r)
{
    return r->common;
}

static double uniform01(probe_runner *r)
{
    uint64_t x = r->rng; /* xorshift64*: no shared state, no locking */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->rng = x;
    return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static struct timeval tv_of(double s)
{
    if (s < 0)
        s = 0;
    struct timeval tv = {(time_t)s, (suseconds_t)((s - floor(s)) * 1e6)};
    return tv;
}

/* Delay before the next poll start, counted from the start of the last one. */
static double next_interval(probe_runner *r)
{
    const probe_backend_common *c = knobs(r);
    double base = c->poll_interval_s;
    uint64_t k = r->stats->consecutive_failures;
    if (k) {
        double cap = fmax(base, r->env->cfg->core.backoff_max_s);
        base = k >= 30 ? cap : fmin(cap, base * (double)(1ULL << k));
    }
    return base * (1.0 + c->poll_jitter * (2.0 * uniform01(r) - 1.0));
}

static void schedule_next(probe_runner *r)
{
    double elapsed = probe_mono_s() - r->started_mono;
    struct timeval tv = tv_of(next_interval(r) - elapsed);
    evtimer_add(r->poll_ev, &tv);
}

static void arm_staleness(probe_runner *r, int after_expiry)
{
    evtimer_del(r->stale_ev);
    if (!r->stats->last_success_ms || r->stats->expired_all)
        return;
    /* libevent counts a timer from the time it cached when the callback
     * began; after a long commit that is well before now, and the timer
     * would fire early. */
    event_base_update_cache_time(r->env->base);
    double due = ((double)r->stats->last_success_ms / 1000.0 + knobs(r)->staleness_s) -
                 (double)probe_now_ms() / 1000.0;
    if (due < 0 && after_expiry)
        due = 1.0; /* past the bound but not expired: the expiry failed, retry in a second */
    struct timeval tv = tv_of(due + 0.001);
    evtimer_add(r->stale_ev, &tv);
}

static void expire(probe_runner *r)
{
    int64_t now = probe_now_ms();
    int64_t bound = now - (int64_t)llround(knobs(r)->staleness_s * 1000.0);
    /* Once the bound has passed the last success, every block of this
     * backend is gone until the next success: no need to scan again. */
    if (r->stats->expired_all)
        return;
    uint64_t dropped = 0;
    int rc = locus_hs_expire_backend(r->env->hs, r->type->name, bound, now, &dropped);
    if (rc) {
        probe_log(PROBE_LOG_ERROR, "%s: expiring stale placements: %s", r->type->name,
                  locus_hs_errstr(r->env->hs));
        return;
    }
    r->stats->expired_blocks += dropped;
    r->stats->expired_all = bound > r->stats->last_success_ms;
    if (dropped)
        probe_log(PROBE_LOG_WARN,
                  "%s: dropped %llu placements not confirmed for %.3g s (staleness bound)",
                  r->type->name, (unsigned long long)dropped, knobs(r)->staleness_s);
}

static void on_stale(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    probe_runner *r = arg;
    expire(r);
    /* Fired before the bound passed (clock steps, timer slack) or the expiry
     * failed: try again at the bound instead of waiting for a failed poll. */
    arm_staleness(r, 1);
}

static void finish(probe_runner *r)
{
    double d = probe_mono_s() - r->started_mono;
    r->stats->running = 0;
    r->stats->duration_last_s = d;
    r->stats->duration_sum_s += d;
    r->stats->duration_count++;
    probe_hist_observe(&r->stats->poll_hist, d);
    evtimer_del(r->timeout_ev);
}

static void fail(probe_runner *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(probe_runner *r, int status, const char *fmt, ...)
{
    probe_stats *st = r->stats;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->last_error, sizeof st->last_error, fmt, ap);
    va_end(ap);
    st->failures++;
    st->failed_since_summary++;
    st->consecutive_failures++;
    if (status == LOCUS_ETIMEDOUT)
        st->timeouts++;
    probe_log(PROBE_LOG_WARN, "%s: poll failed (%s): %s; keeping the last good placements",
              r->type->name, locus_strerror(status), st->last_error);
    int64_t now = probe_now_ms();
    if (locus_hs_record_failure(r->env->hs, r->type->name, now))
        probe_log(PROBE_LOG_ERROR, "%s: recording the failed poll: %s", r->type->name,
                  locus_hs_errstr(r->env->hs));
    if ((double)(now - st->last_success_ms) >= knobs(r)->staleness_s * 1000.0)
        expire(r);
    probe_sink_reset(r->sink);
    schedule_next(r);
}

static void on_done(void *ctx, int status, const char *errmsg)
{
    probe_runner *r = ctx;
    probe_stats *st = r->stats;
    if (!st->running) {
        probe_log(PROBE_LOG_ERROR, "%s: backend finished a poll that was not running (ignored)",
                  r->type->name);
        return;
    }
    finish(r);
    for (int k = 0; k < PROBE_SKIP_REASONS; k++) {
        uint64_t n = probe_sink_skipped(r->sink, (probe_skip_reason)k);
        st->skipped[k] += n;
        if (n)
            probe_log(PROBE_LOG_DEBUG, "%s: skipped %llu records (%s)", r->type->name,
                      (unsigned long long)n, probe_skip_reason_name((probe_skip_reason)k));
    }
    if (status) {
        fail(r, status, "%s", errmsg && *errmsg ? errmsg : locus_strerror(status));
        return;
    }
    int64_t now = probe_now_ms();
    char err[512];
    const probe_config *cfg = r->env->cfg;
    double commit_start = probe_mono_s();
    int rc = probe_sink_commit(r->sink, r->env->hs, r->type->name, cfg->hosts, cfg->n_hosts, now,
                               err, sizeof err);
    double commit_s = probe_mono_s() - commit_start;
    probe_hist_observe(&st->commit_hist, commit_s);
    if (rc) {
        fail(r, rc, "%s", err);
        return;
    }
    if (st->consecutive_failures)
        probe_log(PROBE_LOG_INFO, "%s: poll succeeded again after %llu failures", r->type->name,
                  (unsigned long long)st->consecutive_failures);
    st->successes++;
    st->consecutive_failures = 0;
    st->last_success_ms = now;
    st->last_error[0] = 0;
    r->stats->expired_all = 0;
    st->keys_last = probe_sink_keys(r->sink);
    st->blocks_last = probe_sink_blocks(r->sink);
    st->keys_total += st->keys_last;
    st->blocks_total += st->blocks_last;
    probe_log(PROBE_LOG_DEBUG, "%s: committed %llu blocks (%llu keys) in %.3f s", r->type->name,
              (unsigned long long)st->blocks_last, (unsigned long long)st->keys_last,
              st->duration_last_s);
    /* One line at info level so an operator sees the probe working, but at
     * most once a minute per backend whatever the poll interval. */
    st->ok_since_summary++;
    if (!st->last_summary_ms || now - st->last_summary_ms >= SUMMARY_EVERY_MS) {
        uint64_t skipped = 0;
        for (int k = 0; k < PROBE_SKIP_REASONS; k++)
            skipped += probe_sink_skipped(r->sink, (probe_skip_reason)k);
        probe_log(PROBE_LOG_INFO,
                  "%s: poll ok: %llu blocks, %llu keys, %llu records skipped, %.3f s (commit %.3f s); "
                  "%llu ok and %llu failed since the last summary",
                  r->type->name, (unsigned long long)st->blocks_last,
                  (unsigned long long)st->keys_last, (unsigned long long)skipped,
                  st->duration_last_s, commit_s, (unsigned long long)st->ok_since_summary,
                  (unsigned long long)st->failed_since_summary);
        st->last_summary_ms = now;
        st->ok_since_summary = st->failed_since_summary = 0;
    }
    probe_sink_reset(r->sink);
    arm_staleness(r, 0);
    schedule_next(r);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    probe_runner *r = arg;
    if (!r->stats->running)
        return;
    r->type->cancel(r->state); /* done() is not called after this */
    finish(r);
    fail(r, LOCUS_ETIMEDOUT, "poll still running after %.3g s (poll_timeout)",
         knobs(r)->poll_timeout_s);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    probe_runner *r = arg;
    probe_stats *st = r->stats;
    if (st->running)
        return;
    probe_sink_reset(r->sink);
    r->started_mono = probe_mono_s();
    st->last_attempt_ms = probe_now_ms();
    st->polls++;
    st->running = 1;
    struct timeval tv = tv_of(knobs(r)->poll_timeout_s);
    evtimer_add(r->timeout_ev, &tv);
    int rc = r->type->poll(r->state, r->sink, on_done, r);
    if (rc) {
        finish(r);
        fail(r, rc, "could not start a poll: %s",
             *probe_sink_errstr(r->sink) ? probe_sink_errstr(r->sink) : locus_strerror(rc));
    }
}

int probe_runner_create(probe_env *env, const probe_backend_type *t, const void *config,
                        probe_stats *stats, probe_runner **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!t || !config) {
        snprintf(err, errlen, "backend not built");
        return LOCUS_EINVAL;
    }
    probe_runner *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return LOCUS_ENOMEM;
    }
    r->env = env;
    r->type = t;
    r->common = config; /* every backend config struct starts with probe_backend_common */
    r->stats = stats;
    r->rng = ((uint64_t)probe_now_ms() << 16) ^ ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)stats;
    if (!r->rng)
        r->rng = 1;
    r->sink = probe_sink_new();
    r->poll_ev = evtimer_new(env->base, on_poll, r);
    r->timeout_ev = evtimer_new(env->base, on_timeout, r);
    r->stale_ev = evtimer_new(env->base, on_stale, r);
    if (!r->sink || !r->poll_ev || !r->timeout_ev || !r->stale_ev) {
        snprintf(err, errlen, "out of memory");
        probe_runner_free(r);
        return LOCUS_ENOMEM;
    }
    char berr[512] = "";
    int rc = t->create(config, env->base, &r->state, berr, sizeof berr);
    if (rc) {
        snprintf(err, errlen, "[%s]: %s", t->name, *berr ? berr : locus_strerror(rc));
        r->state = NULL;
        probe_runner_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void probe_runner_start(probe_runner *r, double delay_s)
{
    r->stats->enabled = 1;
    if (!r->stats->last_success_ms)
        r->stats->expired_all = 1; /* never committed: the store holds nothing of it */
    struct timeval tv = tv_of(delay_s);
    evtimer_add(r->poll_ev, &tv);
    arm_staleness(r, 0);
}

void probe_runner_free(probe_runner *r)
{
    if (!r)
        return;
    if (r->state) {
        if (r->stats->running)
            r->type->cancel(r->state); /* nothing of this poll was written */
        r->type->destroy(r->state);
    }
    r->stats->running = 0;
    r->stats->enabled = 0;
    if (r->poll_ev)
        event_free(r->poll_ev);
    if (r->timeout_ev)
        event_free(r->timeout_ev);
    if (r->stale_ev)
        event_free(r->stale_ev);
    probe_sink_free(r->sink);
    free(r);
}
