/* Pieces every report writer shares: freeing a report, number formatting
 * that does not depend on the C locale's grouping (so the same report gives
 * the same bytes anywhere), file open/close with messages naming the file,
 * and the one table of per-policy metrics from which both the JSON keys and
 * the CSV columns are generated, so the two never disagree.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"
#include "report_fmt.h"

const char *const sim_size_bin_names[SIM_SIZE_BINS] = { "1", "2", "3-20", "21-150", "151-500", ">500" };

int sim_size_bin(uint32_t m)
{
    return m <= 1 ? 0 : m == 2 ? 1 : m <= 20 ? 2 : m <= 150 ? 3 : m <= 500 ? 4 : 5;
}

void sim_report_free(sim_report *r)
{
    if (!r)
        return;
    free(r->trace);
    free(r->trace_name);
    for (size_t i = 0; i < r->n_params; i++)
        free(r->params[i].value); /* keys are static strings */
    free(r->params);
    for (size_t i = 0; i < r->n_policies; i++) {
        sim_policy_result *p = &r->policies[i];
        free(p->name);
        free(p->description);
        free(p->jct_sorted);
        free(p->series_network_bytes);
        free(p->series_utilisation);
    }
    free(r->policies);
    free(r);
}

/* ---- numbers ---- */

static void group_digits(char *buf, size_t n, const char *digits)
{
    size_t len = strlen(digits), o = 0;
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        if (i && (len - i) % 3 == 0 && o + 2 < n)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    if (n)
        buf[o < n ? o : n - 1] = '\0';
}

void report_fmt_count(char *buf, size_t n, uint64_t v)
{
    char d[24];
    snprintf(d, sizeof d, "%" PRIu64, v);
    group_digits(buf, n, d);
}

void report_fmt_fixed(char *buf, size_t n, double v, int decimals)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "n/a");
        return;
    }
    char d[64], whole[64];
    snprintf(d, sizeof d, "%.*f", decimals, fabs(v));
    const char *dot = strchr(d, '.');
    size_t wl = dot ? (size_t)(dot - d) : strlen(d);
    if (wl >= sizeof whole) { /* beyond 1e63: no grouping */
        snprintf(buf, n, "%.*g", decimals + 1, v);
        return;
    }
    memcpy(whole, d, wl);
    whole[wl] = '\0';
    char g[96];
    group_digits(g, sizeof g, whole);
    /* no "-0.0": a value that rounds to zero prints as zero */
    int neg = v < 0 && strspn(d, "0.") != strlen(d);
    snprintf(buf, n, "%s%s%s", neg ? "-" : "", g, dot ? dot : "");
}

void report_fmt_bytes(char *buf, size_t n, uint64_t bytes)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(buf, n, "%" PRIu64 " B", bytes);
        return;
    }
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 6) {
        v /= 1024;
        u++;
    }
    if (v >= 999.95 && u < 6) { /* "1024.0 KiB" reads better as "1.0 MiB" */
        v /= 1024;
        u++;
    }
    snprintf(buf, n, "%.1f %s", v, unit[u]);
}

void report_fmt_number(char *buf, size_t n, double v)
{
    if (!isfinite(v)) {
        if (n)
            buf[0] = '\0';
        return;
    }
    if (v == 0)
        v = 0; /* -0 prints as 0 */
    /* the shortest of %.15g / %.17g that reads back as the same double:
     * exact, and "0.3" rather than "0.30000000000000004" */
    snprintf(buf, n, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, n, "%.17g", v);
}

double report_pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : NAN;
}

/* ---- files ---- */

FILE *report_open(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f && err && errlen)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return f;
}

int report_close(FILE *f, const char *path, char *err, size_t errlen)
{
    int bad = ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "%s: write error: %s", path, strerror(e ? e : EIO));
    return LOCUS_EIO;
}

char *report_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* ---- metric table ---- */

#define U64(key, field) {key, REPORT_U64, offsetof(sim_policy_result, field), 0}
#define DBL(key, field) {key, REPORT_DBL, offsetof(sim_policy_result, field), 0}
#define JCT(set)                                                                                  \
    {"jct_" #set "_jobs", REPORT_SIZE, offsetof(sim_policy_result, jct_##set.jobs), 0},          \
        DBL("jct_" #set "_mean_s", jct_##set.mean_s), DBL("jct_" #set "_p50_s", jct_##set.p50_s), \
        DBL("jct_" #set "_p95_s", jct_##set.p95_s), DBL("jct_" #set "_p99_s", jct_##set.p99_s)

const report_metric report_metrics[] = {
    U64("tasks_node", tasks[SIM_LOCAL_NODE]),
    U64("tasks_rack", tasks[SIM_LOCAL_RACK]),
    U64("tasks_remote", tasks[SIM_LOCAL_REMOTE]),
    U64("read_bytes_node", read_bytes[SIM_LOCAL_NODE]),
    U64("read_bytes_rack", read_bytes[SIM_LOCAL_RACK]),
    U64("read_bytes_remote", read_bytes[SIM_LOCAL_REMOTE]),
    U64("mem_hit_tasks", mem_hit_tasks),
    U64("mem_copy_tasks", mem_copy_tasks),
    U64("mem_read_bytes", mem_read_bytes),
    U64("mem_node_bytes", mem_node_bytes),
    U64("bin1_tasks", bin_tasks[0]), U64("bin1_node_tasks", bin_node_tasks[0]),
    U64("bin2_tasks", bin_tasks[1]), U64("bin2_node_tasks", bin_node_tasks[1]),
    U64("bin3_20_tasks", bin_tasks[2]), U64("bin3_20_node_tasks", bin_node_tasks[2]),
    U64("bin21_150_tasks", bin_tasks[3]), U64("bin21_150_node_tasks", bin_node_tasks[3]),
    U64("bin151_500_tasks", bin_tasks[4]), U64("bin151_500_node_tasks", bin_node_tasks[4]),
    U64("bin_over500_tasks", bin_tasks[5]), U64("bin_over500_node_tasks", bin_node_tasks[5]),
    U64("network_bytes", network_bytes),
    U64("uplink_bytes", uplink_bytes),
    U64("tasks_total", tasks_total),
    U64("jobs_total", jobs_total),
    U64("jobs_done", jobs_done),
    JCT(all),
    JCT(small),
    JCT(large),
    {"first_launch_jobs", REPORT_SIZE, offsetof(sim_policy_result, first_launch.jobs), 0},
    DBL("first_launch_mean_s", first_launch.mean_s), DBL("first_launch_p95_s", first_launch.p95_s),
    DBL("first_launch_p99_s", first_launch.p99_s),
    {"first_reduce_jobs", REPORT_SIZE, offsetof(sim_policy_result, first_reduce.jobs), 0},
    DBL("first_reduce_mean_s", first_reduce.mean_s), DBL("first_reduce_p95_s", first_reduce.p95_s),
    DBL("first_reduce_p99_s", first_reduce.p99_s),
    DBL("slowdown_mean", slowdown_mean),
    DBL("slowdown_p95", slowdown_p95),
    DBL("makespan_s", makespan_s),
    DBL("utilisation", utilisation),
    DBL("load", load),
    DBL("offered_load", offered_load),
    DBL("jain_fairness", jain_fairness),
    U64("cycles", cycles),
    U64("offer_rounds", offer_rounds),
    U64("offers", offers),
    U64("fallback_cycles", fallback_cycles),
    U64("net_updates", net_updates),
    U64("net_flows_recomputed", net_flows_recomputed),
    {"wall_s", REPORT_DBL, offsetof(sim_policy_result, cost.wall_s), 1},
    {"cpu_s", REPORT_DBL, offsetof(sim_policy_result, cost.cpu_s), 1},
    {"events", REPORT_U64, offsetof(sim_policy_result, cost.events), 1},
    {"events_per_s", REPORT_DBL, offsetof(sim_policy_result, cost.events_per_s), 1},
    {"alloc_cpu_mean_s", REPORT_DBL, offsetof(sim_policy_result, cost.alloc_cpu_mean_s), 1},
    {"alloc_cpu_p99_s", REPORT_DBL, offsetof(sim_policy_result, cost.alloc_cpu_p99_s), 1},
    {"peak_rss_bytes", REPORT_U64, offsetof(sim_policy_result, cost.peak_rss_bytes), 1},
};
const size_t report_n_metrics = sizeof report_metrics / sizeof report_metrics[0];

void report_metric_value(const report_metric *m, const sim_policy_result *p, char *buf, size_t n)
{
    const char *base = (const char *)p + m->offset;
    switch (m->kind) {
    case REPORT_U64: {
        uint64_t v;
        memcpy(&v, base, sizeof v);
        snprintf(buf, n, "%" PRIu64, v);
        break;
    }
    case REPORT_SIZE: {
        size_t v;
        memcpy(&v, base, sizeof v);
        snprintf(buf, n, "%zu", v);
        break;
    }
    default: {
        double v;
        memcpy(&v, base, sizeof v);
        report_fmt_number(buf, n, v);
        break;
    }
    }
}
