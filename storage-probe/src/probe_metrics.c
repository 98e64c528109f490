/* Prometheus text format (version 0.0.4) for locus-probe.
 *
 * Conventions followed (https://prometheus.io/docs/practices/naming/):
 * counters and only counters end in _total; durations are histograms in
 * seconds; the process_* family and a locus_build_info gauge describe the
 * process the way every Prometheus client library does; a value that has
 * never been set is +Inf where an alert compares it against a bound (the
 * age of hints that were never confirmed is infinitely old), never NaN.
 *
 * Per-backend families are described once in a table and rendered from the
 * daemon's counters, so a family cannot lose its HELP/TYPE lines and every
 * backend type built into the binary appears (with enabled 0 or 1), which
 * keeps dashboards stable when a backend is switched off. Store-wide gauges
 * come from one snapshot of the hint store. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "probe_backends.h"
#include "probe_metrics.h"

#ifndef LOCUS_PROBE_VERSION
#define LOCUS_PROBE_VERSION "unknown"
#endif

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
    return s->last_success_ms ? (double)(now - s->last_success_ms) / 1000.0 : INFINITY;
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
    {"locus_probe_last_poll_keys", "gauge", "Keys or files examined by the last complete poll.", m_keys},
    {"locus_probe_last_poll_blocks", "gauge", "Blocks placed by the last complete poll.", m_blocks},
    {"locus_probe_keys_seen_total", "counter", "Keys or files examined, summed over complete polls.", m_keys_t},
    {"locus_probe_blocks_seen_total", "counter", "Blocks placed, summed over complete polls.", m_blocks_t},
    {"locus_probe_last_poll_duration_seconds", "gauge", "Duration of the last finished poll.", m_dur_last},
    {"locus_probe_last_success_timestamp_seconds", "gauge", "Wall clock of the last complete poll (0 = never).", m_last_ok},
    {"locus_probe_hint_age_seconds", "gauge", "Time since the backend's placements were last confirmed (+Inf = never).", m_age},
    {"locus_probe_expired_blocks_total", "counter", "Placements dropped by the staleness bound.", m_expired},
};

static void value(struct evbuffer *out, double v)
{
    if (isnan(v))
        evbuffer_add_printf(out, "NaN\n");
    else if (isinf(v))
        evbuffer_add_printf(out, "%s\n", v > 0 ? "+Inf" : "-Inf");
    else
        evbuffer_add_printf(out, "%.17g\n", v);
}

static void histogram(struct evbuffer *out, const char *name, const char *help,
                      const probe_daemon *d, int commit)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        const probe_backend_type *t = probe_backend_at(i);
        if (!t)
            continue;
        const probe_stats *s = probe_daemon_stats(d, i);
        const probe_hist *h = commit ? &s->commit_hist : &s->poll_hist;
        for (int b = 0; b < PROBE_HIST_BUCKETS; b++)
            evbuffer_add_printf(out, "%s_bucket{backend=\"%s\",le=\"%g\"} %llu\n", name, t->name,
                                probe_duration_buckets[b], (unsigned long long)h->le[b]);
        evbuffer_add_printf(out, "%s_bucket{backend=\"%s\",le=\"+Inf\"} %llu\n", name, t->name,
                            (unsigned long long)h->count);
        evbuffer_add_printf(out, "%s_sum{backend=\"%s\"} %.17g\n", name, t->name, h->sum);
        evbuffer_add_printf(out, "%s_count{backend=\"%s\"} %llu\n", name, t->name,
                            (unsigned long long)h->count);
    }
}

static void gauge(struct evbuffer *out, const char *name, const char *type, const char *help,
                  double v)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s ", name, help, name, type, name);
    value(out, v);
}

/* The standard process_* family, from the kernel's view of this process. */
static void process_metrics(const probe_daemon *d, struct evbuffer *out)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        gauge(out, "process_cpu_seconds_total", "counter",
              "Total user and system CPU time spent in seconds.",
              (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long vm_pages = 0, rss_pages = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &vm_pages, &rss_pages) == 2) {
            double page = (double)sysconf(_SC_PAGESIZE);
            gauge(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                  (double)vm_pages * page);
            gauge(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                  (double)rss_pages * page);
        }
        fclose(f);
    }
    DIR *dir = opendir("/proc/self/fd");
    if (dir) {
        long n = 0;
        struct dirent *e;
        while ((e = readdir(dir)))
            n += e->d_name[0] != '.';
        closedir(dir);
        gauge(out, "process_open_fds", "gauge", "Number of open file descriptors.",
              (double)(n - 1)); /* less the descriptor of the listing itself */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        gauge(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
              rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
    gauge(out, "process_start_time_seconds", "gauge",
          "Start time of the process since unix epoch in seconds.",
          (double)probe_daemon_started_ms(d) / 1000.0);
}

int probe_metrics_render(const probe_daemon *d, struct evbuffer *out)
{
    int64_t now = probe_now_ms();
    evbuffer_add_printf(out,
                        "# HELP locus_build_info Version of locus-probe (the value is always 1).\n"
                        "# TYPE locus_build_info gauge\n"
                        "locus_build_info{program=\"locus-probe\",version=\"%s\"} 1\n",
                        LOCUS_PROBE_VERSION);
    process_metrics(d, out);
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
    histogram(out, "locus_probe_poll_duration_seconds",
              "Duration of finished polls (successful, failed or timed out).", d, 0);
    histogram(out, "locus_probe_commit_duration_seconds",
              "Duration of hint store commits of complete polls.", d, 1);
    gauge(out, "locus_probe_http_refused_connections_total", "counter",
          "Connections not accepted for a while because descriptors ran short.",
          (double)probe_daemon_http_refused(d));

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
