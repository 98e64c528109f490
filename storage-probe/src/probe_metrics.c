/* Prometheus text format (version 0.0.4) for locus-probe.
 *
 * The families are described once in a table and rendered per backend from
 * the daemon's counters, so a family cannot lose its HELP/TYPE lines and
 * every backend type built into the binary appears (with enabled 0 or 1),
 * which keeps dashboards stable when a backend is switched off. Store-wide
 * gauges come from one snapshot of the hint store. */
#include <math.h>

#include "probe_backends.h"
#include "probe_metrics.h"

typedef double (*stat_fn)(const probe_stats *s, int64_t now_ms);

static double m_polls(const probe_stats *s, int64_t n) { (void)n; return (double)s->polls; }
static double m_succ(const probe_stats *s, int64_t n) { (void)n; return (double)s->successes; }
static double m_fail(const probe_stats *s, int64_t n) { (void)n; return (double)s->failures; }
static double m_tmo(const probe_stats *s, int64_t n) { (void)n; return (double)s->timeouts; }
static double m_cons(const probe_stats *s, int64_t n) { (void)n; return (double)s->consecutive_failures; }
static double m_keys(const probe_stats *s, int64_t n) { (void)n; return (double)s->keys_last; }
static double m_blocks(const probe_stats *s, int64_t n) { (void)n; return (double)s->blocks_last; }
static double m_keys_t(const probe_stats *s, int64_t n) { (void)n; return (double)s->keys_total; }
static double m_blocks_t(const probe_stats *s, int64_t n) { (void)n; return (double)s->blocks_total; }
static double m_expired(const probe_stats *s, int64_t n) { (void)n; return (double)s->expired_blocks; }
static double m_dur_last(const probe_stats *s, int64_t n) { (void)n; return s->duration_last_s; }
static double m_running(const probe_stats *s, int64_t n) { (void)n; return s->running; }
static double m_enabled(const probe_stats *s, int64_t n) { (void)n; return s->enabled; }
static double m_age(const probe_stats *s, int64_t now)
{
    return s->last_success_ms ? (double)(now - s->last_success_ms) / 1000.0 : NAN;
}
static double m_last_ok(const probe_stats *s, int64_t n)
{
    (void)n;
    return s->last_success_ms ? (double)s->last_success_ms / 1000.0 : 0;
}

static const struct family {
    const char *name, *type, *help;
    stat_fn fn;
} families[] = {
    {"locus_probe_backend_enabled", "gauge", "1 if the backend is enabled in the running config.", m_enabled},
    {"locus_probe_polls_total", "counter", "Polls started.", m_polls},
    {"locus_probe_poll_successes_total", "counter", "Polls completed and committed to the hint store.", m_succ},
    {"locus_probe_poll_failures_total", "counter", "Polls that failed (error, timeout or rejected commit); placements kept.", m_fail},
    {"locus_probe_poll_timeouts_total", "counter", "Polls cancelled after poll_timeout (also counted as failures).", m_tmo},
    {"locus_probe_consecutive_failures", "gauge", "Failed polls since the last success.", m_cons},
    {"locus_probe_poll_running", "gauge", "1 while a poll is in flight.", m_running},
    {"locus_probe_keys_seen", "gauge", "Keys or files examined by the last complete poll.", m_keys},
    {"locus_probe_blocks_seen", "gauge", "Blocks placed by the last complete poll.", m_blocks},
    {"locus_probe_keys_seen_total", "counter", "Keys or files examined, summed over complete polls.", m_keys_t},
    {"locus_probe_blocks_seen_total", "counter", "Blocks placed, summed over complete polls.", m_blocks_t},
    {"locus_probe_last_poll_duration_seconds", "gauge", "Duration of the last finished poll.", m_dur_last},
    {"locus_probe_last_success_timestamp_seconds", "gauge", "Wall clock of the last complete poll (0 = never).", m_last_ok},
    {"locus_probe_hint_age_seconds", "gauge", "Time since the backend's placements were last confirmed (NaN = never).", m_age},
    {"locus_probe_expired_blocks_total", "counter", "Placements dropped by the staleness bound.", m_expired},
};

static void value(struct evbuffer *out, double v)
{
    if (isnan(v))
        evbuffer_add_printf(out, "NaN\n");
    else
        evbuffer_add_printf(out, "%.17g\n", v);
}

int probe_metrics_render(const probe_daemon *d, struct evbuffer *out)
{
    int64_t now = probe_now_ms();
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", families[f].name,
                            families[f].help, families[f].name, families[f].type);
        for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
            const probe_backend_type *t = probe_backend_at(i);
            if (!t)
                continue;
            evbuffer_add_printf(out, "%s{backend=\"%s\"} ", families[f].name, t->name);
            value(out, families[f].fn(probe_daemon_stats(d, i), now));
        }
    }
    evbuffer_add_printf(out, "# HELP locus_probe_records_skipped_total Records from a storage "
                             "layer left out of the poll because the hint store cannot hold them "
                             "(the poll goes on).\n"
                             "# TYPE locus_probe_records_skipped_total counter\n");
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        const probe_backend_type *t = probe_backend_at(i);
        if (!t)
            continue;
        const probe_stats *s = probe_daemon_stats(d, i);
        for (int k = 0; k < PROBE_SKIP_REASONS; k++)
            evbuffer_add_printf(out,
                                "locus_probe_records_skipped_total{backend=\"%s\",reason=\"%s\"} "
                                "%llu\n",
                                t->name, probe_skip_reason_name((probe_skip_reason)k),
                                (unsigned long long)s->skipped[k]);
    }
    /* A summary without quantiles: rate(sum)/rate(count) gives the mean. */
    evbuffer_add_printf(out, "# HELP locus_probe_poll_duration_seconds Duration of finished polls.\n"
                             "# TYPE locus_probe_poll_duration_seconds summary\n");
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        const probe_backend_type *t = probe_backend_at(i);
        if (!t)
            continue;
        const probe_stats *s = probe_daemon_stats(d, i);
        evbuffer_add_printf(out, "locus_probe_poll_duration_seconds_sum{backend=\"%s\"} %.17g\n",
                            t->name, s->duration_sum_s);
        evbuffer_add_printf(out, "locus_probe_poll_duration_seconds_count{backend=\"%s\"} %llu\n",
                            t->name, (unsigned long long)s->duration_count);
    }
    evbuffer_add_printf(out,
                        "# HELP locus_probe_start_time_seconds Wall clock when the probe started.\n"
                        "# TYPE locus_probe_start_time_seconds gauge\n"
                        "locus_probe_start_time_seconds %.3f\n",
                        (double)probe_daemon_started_ms(d) / 1000.0);

    locus_hs_snapshot *snap = NULL;
    locus_hs_stats st;
    if (locus_hs_snapshot_open(probe_daemon_store(d), &snap) == 0 &&
        locus_hs_snapshot_stats(snap, &st) == 0) {
        const struct { const char *name, *help; uint64_t v; } g[] = {
            {"locus_probe_store_datasets", "Datasets in the hint store.", st.datasets},
            {"locus_probe_store_blocks", "Blocks in the hint store.", st.blocks},
            {"locus_probe_store_hosts", "Storage hosts with cached blocks.", st.hosts},
            {"locus_probe_store_used_bytes", "Bytes of the hint store map in use.", st.used_bytes},
            {"locus_probe_store_map_bytes", "Size of the hint store map.", st.map_size},
        };
        for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
            evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", g[i].name,
                                g[i].help, g[i].name, g[i].name, (unsigned long long)g[i].v);
    }
    locus_hs_snapshot_close(snap);
    return 0;
}
