/* The comparison as display text: one row per figure, one cell per policy,
 * grouped in sections. Built once and drawn twice, by the terminal table and
 * by the HTML page, so both show the same figures in the same words and
 * units (docs/report.md defines each row). Counts are thousands-separated,
 * bytes in IEC units, times in seconds, shares as percentages.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"
#include "report_fmt.h"

const char *report_param(const sim_report *r, const char *key)
{
    for (size_t i = 0; i < r->n_params; i++)
        if (r->params[i].key && strcmp(r->params[i].key, key) == 0)
            return r->params[i].value ? r->params[i].value : "";
    return "";
}

void report_setting_line(const sim_report *r, char *buf, size_t n)
{
    const char *prof = report_param(r, "sim.profile");
    int off = snprintf(buf, n, "profile %s, arrivals %gx faster than the trace", prof[0] ? prof : "?",
                       r->compression > 0 ? r->compression : atof(report_param(r, "sim.time_compression")));
    if (off < 0 || (size_t)off >= n)
        return;
    if (r->target_load > 0 && r->calibration_runs > 0 && r->pilot_jobs > 0)
        snprintf(buf + off, n - (size_t)off, " (calibrated to %.0f%% offered load of the first policy by %d "
                 "replay%s of a sample, %zu jobs on %lld agents)", 100.0 * r->target_load, r->calibration_runs,
                 r->calibration_runs > 1 ? "s" : "", r->pilot_jobs, (long long)r->pilot_agents);
    else if (r->target_load > 0 && r->calibration_runs > 0)
        snprintf(buf + off, n - (size_t)off, " (calibrated to %.0f%% offered load of the first policy by %d "
                 "replay%s)", 100.0 * r->target_load, r->calibration_runs, r->calibration_runs > 1 ? "s" : "");
    else if (r->target_load > 0)
        snprintf(buf + off, n - (size_t)off, " (estimated for %.0f%% load)", 100.0 * r->target_load);
}

static double pct_change(double v, double first)
{
    return first > 0 ? 100.0 * (v - first) / first : NAN;
}

long report_optimal_index(const sim_report *r)
{
    for (size_t i = 0; i < r->n_policies; i++)
        if (r->policies[i].optimal)
            return (long)i;
    return -1;
}

static double node_share(const sim_policy_result *p)
{
    uint64_t maps = p->tasks[0] + p->tasks[1] + p->tasks[2];
    return maps ? 100.0 * (double)p->tasks[SIM_LOCAL_NODE] / (double)maps : 0;
}

int report_gap_to_optimal(const sim_report *r, size_t i, double *node_points, double *remote_bytes,
                          double *mean_jct_pct)
{
    long o = report_optimal_index(r);
    if (o < 0 || (size_t)o == i)
        return -1;
    const sim_policy_result *p = &r->policies[i], *b = &r->policies[o];
    *node_points = node_share(p) - node_share(b);
    *remote_bytes = ((double)p->read_bytes[SIM_LOCAL_RACK] + (double)p->read_bytes[SIM_LOCAL_REMOTE]) -
                    ((double)b->read_bytes[SIM_LOCAL_RACK] + (double)b->read_bytes[SIM_LOCAL_REMOTE]);
    *mean_jct_pct = pct_change(p->jct_all.mean_s, b->jct_all.mean_s);
    return 0;
}

/* " | vs optimal: -1.2 node-local points, +3.4 GiB read off-node, mean JCT +5.0%" */
static void gap_suffix(const sim_report *r, size_t i, char *buf, size_t n)
{
    double pts, bytes, jct;
    buf[0] = 0;
    if (report_gap_to_optimal(r, i, &pts, &bytes, &jct))
        return;
    char b[40];
    report_fmt_bytes(b, sizeof b, (uint64_t)fabs(bytes));
    snprintf(buf, n, " | vs optimal: %+.1f node-local points, %s%s read off-node, mean JCT %+.1f%%", pts,
             bytes < 0 ? "-" : "+", b, jct);
}

void report_headline(const sim_report *r, size_t i, char *buf, size_t n)
{
    char gap[160];
    gap_suffix(r, i, gap, sizeof gap);
    const sim_policy_result *p = &r->policies[i], *f = &r->policies[0];
    uint64_t maps = p->tasks[0] + p->tasks[1] + p->tasks[2];
    double node = maps ? 100.0 * (double)p->tasks[SIM_LOCAL_NODE] / (double)maps : 0;
    if (i == 0) {
        snprintf(buf, n, "%s: %.1f%% node-local, mean JCT %.1f s, p95 %.1f s, slowdown %.2fx (Jain %.3f)%s",
                 p->name, node, p->jct_all.mean_s, p->jct_all.p95_s, p->slowdown_mean, p->jain_fairness, gap);
        return;
    }
    double saved = f->network_bytes > 0 ? 100.0 * ((double)f->network_bytes - (double)p->network_bytes) /
                                              (double)f->network_bytes : 0;
    snprintf(buf, n, "%s: %.1f%% node-local, %.1f%% fewer NIC bytes than %s, mean JCT %+.1f%%, "
             "p95 %+.1f%%, slowdown %.2fx vs %.2fx (Jain %.3f)%s", p->name, node, saved, f->name,
             pct_change(p->jct_all.mean_s, f->jct_all.mean_s), pct_change(p->jct_all.p95_s, f->jct_all.p95_s),
             p->slowdown_mean, f->slowdown_mean, p->jain_fairness, gap);
}

static report_row *add_row(report_grid *g, const char *label, int section)
{
    if (g->n_rows == g->cap) {
        size_t ncap = g->cap ? g->cap * 2 : 64;
        report_row *nr = realloc(g->rows, ncap * sizeof *nr);
        if (!nr)
            return NULL;
        g->rows = nr;
        g->cap = ncap;
    }
    report_row *row = &g->rows[g->n_rows];
    memset(row, 0, sizeof *row);
    row->label = strdup(label);
    row->section = section;
    if (!row->label)
        return NULL;
    g->n_rows++; /* counted now, so report_grid_free frees it whatever happens next */
    if (!section) {
        row->cells = calloc(g->n_cols ? g->n_cols : 1, sizeof *row->cells);
        if (!row->cells)
            return NULL;
    }
    return row;
}

static int set_cell(report_row *row, size_t i, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    row->cells[i] = strdup(buf);
    return row->cells[i] ? 0 : LOCUS_ENOMEM;
}

static uint64_t sum3(const uint64_t v[SIM_LOCALITY_LEVELS])
{
    return v[0] + v[1] + v[2];
}

/* "1,234 (12.3%)" */
static int count_pct(report_row *row, size_t i, uint64_t v, uint64_t whole)
{
    char c[40], p[32];
    report_fmt_count(c, sizeof c, v);
    report_fmt_fixed(p, sizeof p, report_pct(v, whole), 1);
    return set_cell(row, i, "%s (%s%s)", c, p, whole ? "%" : "");
}

static int bytes_pct(report_row *row, size_t i, uint64_t v, uint64_t whole)
{
    char c[40], p[32];
    report_fmt_bytes(c, sizeof c, v);
    report_fmt_fixed(p, sizeof p, report_pct(v, whole), 1);
    return set_cell(row, i, "%s (%s%s)", c, p, whole ? "%" : "");
}

static int seconds(report_row *row, size_t i, double v)
{
    char c[64];
    report_fmt_fixed(c, sizeof c, v, 1);
    return set_cell(row, i, isfinite(v) ? "%s s" : "%s", c);
}

/* Value relative to the first policy: "-45.2%", "+3.0%", "=" (first column). */
static int vs_first(report_row *row, size_t i, double v, double first)
{
    if (i == 0)
        return set_cell(row, i, "=");
    if (!(first > 0) || !isfinite(v))
        return set_cell(row, i, "n/a");
    char c[48];
    report_fmt_fixed(c, sizeof c, 100.0 * (v - first) / first, 1);
    return set_cell(row, i, "%s%s%%", v >= first ? "+" : "", c);
}

#define ROW(label)                                                                                \
    do {                                                                                          \
        if (!(row = add_row(g, label, 0)))                                                        \
            goto nomem;                                                                           \
    } while (0)
#define SECTION(label)                                                                            \
    do {                                                                                          \
        if (!add_row(g, label, 1))                                                                \
            goto nomem;                                                                           \
    } while (0)
#define EACH(expr)                                                                                \
    do {                                                                                          \
        for (size_t i = 0; i < n; i++) {                                                          \
            const sim_policy_result *p = &r->policies[i];                                         \
            (void)p;                                                                              \
            if ((expr) != 0)                                                                      \
                goto nomem;                                                                       \
        }                                                                                         \
    } while (0)

static int jct_rows(report_grid *g, const sim_report *r, const char *title, size_t off)
{
    size_t n = r->n_policies;
    report_row *row;
#define J(i) ((const sim_jct_stats *)((const char *)&r->policies[i] + off))
    SECTION(title);
    ROW("jobs");
    EACH(set_cell(row, i, "%zu", J(i)->jobs));
    ROW("mean");
    EACH(seconds(row, i, J(i)->mean_s));
    ROW("p50");
    EACH(seconds(row, i, J(i)->p50_s));
    ROW("p95");
    EACH(seconds(row, i, J(i)->p95_s));
    ROW("p99");
    EACH(seconds(row, i, J(i)->p99_s));
#undef J
    return 0;
nomem:
    return LOCUS_ENOMEM;
}

int report_grid_build(const sim_report *r, unsigned flags, report_grid *g)
{
    memset(g, 0, sizeof *g);
    size_t n = r->n_policies;
    g->n_cols = n;
    report_row *row;
    char a[64], b[64];

    SECTION("Jobs and tasks");
    ROW("jobs done / submitted");
    EACH((report_fmt_count(a, sizeof a, p->jobs_done), report_fmt_count(b, sizeof b, p->jobs_total),
          set_cell(row, i, "%s / %s", a, b)));
    ROW("tasks run");
    EACH((report_fmt_count(a, sizeof a, p->tasks_total), set_cell(row, i, "%s", a)));

    SECTION("Map tasks by where their block was read");
    static const char *const level[] = {"node-local", "rack-local", "remote"};
    for (int l = 0; l < SIM_LOCALITY_LEVELS; l++) {
        ROW(level[l]);
        EACH(count_pct(row, i, p->tasks[l], sum3(p->tasks)));
    }
    ROW("node-local from memory");
    EACH(count_pct(row, i, p->mem_hit_tasks, sum3(p->tasks)));
    ROW("had a memory copy: read it locally");
    EACH(count_pct(row, i, p->mem_hit_tasks, p->mem_copy_tasks));

    SECTION("Input bytes by source");
    ROW("memory tier (any agent)");
    EACH(bytes_pct(row, i, p->mem_read_bytes, sum3(p->read_bytes)));
    ROW("local disk");
    EACH(bytes_pct(row, i, p->read_bytes[SIM_LOCAL_NODE] - p->mem_node_bytes, sum3(p->read_bytes)));
    ROW("remote disk");
    EACH(bytes_pct(row, i, p->read_bytes[SIM_LOCAL_RACK] + p->read_bytes[SIM_LOCAL_REMOTE] -
                               (p->mem_read_bytes - p->mem_node_bytes), sum3(p->read_bytes)));

    SECTION("Node-local map tasks by job size (map tasks per job)");
    for (int b = 0; b < SIM_SIZE_BINS; b++) {
        char lbl[48];
        snprintf(lbl, sizeof lbl, "%s map%s", sim_size_bin_names[b], b == 0 ? "" : "s");
        ROW(lbl);
        EACH(count_pct(row, i, p->bin_node_tasks[b], p->bin_tasks[b]));
    }

    SECTION("Input bytes by where they were read");
    for (int l = 0; l < SIM_LOCALITY_LEVELS; l++) {
        ROW(level[l]);
        EACH(bytes_pct(row, i, p->read_bytes[l], sum3(p->read_bytes)));
    }

    SECTION("Network");
    ROW("bytes over agent NICs");
    EACH((report_fmt_bytes(a, sizeof a, p->network_bytes), set_cell(row, i, "%s", a)));
    ROW("NIC bytes vs first policy");
    EACH(vs_first(row, i, (double)p->network_bytes, (double)r->policies[0].network_bytes));
    ROW("bytes over rack uplinks");
    EACH((report_fmt_bytes(a, sizeof a, p->uplink_bytes), set_cell(row, i, "%s", a)));
    ROW("rate recomputations");
    EACH((report_fmt_count(a, sizeof a, p->net_updates), set_cell(row, i, "%s", a)));
    ROW("flows per recomputation, mean");
    EACH((report_fmt_fixed(a, sizeof a, p->net_updates ? (double)p->net_flows_recomputed / (double)p->net_updates : 0, 1),
          set_cell(row, i, "%s", a)));

    if (jct_rows(g, r, "Job completion time, all jobs", offsetof(sim_policy_result, jct_all)) ||
        jct_rows(g, r, "Job completion time, small jobs (input < 64 MiB)",
                 offsetof(sim_policy_result, jct_small)) ||
        jct_rows(g, r, "Job completion time, large jobs", offsetof(sim_policy_result, jct_large)))
        goto nomem;
    ROW("mean JCT vs first policy");
    EACH(vs_first(row, i, p->jct_all.mean_s, r->policies[0].jct_all.mean_s));
    ROW("p95 JCT vs first policy");
    EACH(vs_first(row, i, p->jct_all.p95_s, r->policies[0].jct_all.p95_s));

    if (report_optimal_index(r) >= 0) {
        /* Each policy against the min-cost flow bound (optimal.h). */
        double pts[64], bytes[64], jct[64];
        int has[64];
        for (size_t i = 0; i < n && i < 64; i++)
            has[i] = report_gap_to_optimal(r, i, &pts[i], &bytes[i], &jct[i]) == 0;
        SECTION("Gap to optimal (min-cost flow bound)");
        ROW("node-local share, points");
        EACH(i < 64 && has[i] ? set_cell(row, i, "%+.1f", pts[i]) : set_cell(row, i, "="));
        ROW("bytes read off-node");
        EACH(i < 64 && has[i] ? (report_fmt_bytes(a, sizeof a, (uint64_t)fabs(bytes[i])),
                                 set_cell(row, i, "%s%s", bytes[i] < 0 ? "-" : "+", a))
                              : set_cell(row, i, "="));
        ROW("mean JCT");
        EACH(i < 64 && has[i] ? set_cell(row, i, "%+.1f%%", jct[i]) : set_cell(row, i, "="));
    }

    SECTION("Time to a job's first launch");
    ROW("mean");
    EACH(seconds(row, i, p->first_launch.mean_s));
    ROW("p95");
    EACH(seconds(row, i, p->first_launch.p95_s));
    ROW("p99");
    EACH(seconds(row, i, p->first_launch.p99_s));
    ROW("reduce phase: mean");
    EACH(seconds(row, i, p->first_reduce.mean_s));
    ROW("reduce phase: p95");
    EACH(seconds(row, i, p->first_reduce.p95_s));
    ROW("reduce phase: p99");
    EACH(seconds(row, i, p->first_reduce.p99_s));

    SECTION("Cluster");
    ROW("makespan");
    EACH(seconds(row, i, p->makespan_s));
    ROW("load while jobs arrive");
    EACH((report_fmt_fixed(a, sizeof a, 100.0 * p->load, 1), set_cell(row, i, "%s%%", a)));
    ROW("offered load (work / arrival span)");
    EACH((report_fmt_fixed(a, sizeof a, 100.0 * p->offered_load, 1), set_cell(row, i, "%s%%", a)));
    ROW("utilisation");
    EACH((report_fmt_fixed(a, sizeof a, 100.0 * p->utilisation, 1),
          set_cell(row, i, isfinite(p->utilisation) ? "%s%%" : "%s", a)));
    ROW("Jain's fairness");
    EACH((report_fmt_fixed(a, sizeof a, p->jain_fairness, 3), set_cell(row, i, "%s", a)));
    ROW("slowdown vs running alone, mean");
    EACH((report_fmt_fixed(a, sizeof a, p->slowdown_mean, 2), set_cell(row, i, "%sx", a)));
    ROW("slowdown vs running alone, p95");
    EACH((report_fmt_fixed(a, sizeof a, p->slowdown_p95, 2), set_cell(row, i, "%sx", a)));
    ROW("allocation cycles");
    EACH((report_fmt_count(a, sizeof a, p->cycles), set_cell(row, i, "%s", a)));
    ROW("offer rounds (declined offers re-offered)");
    EACH((report_fmt_count(a, sizeof a, p->offer_rounds), set_cell(row, i, "%s", a)));
    ROW("offers");
    EACH((report_fmt_count(a, sizeof a, p->offers), set_cell(row, i, "%s", a)));
    ROW("cycles as plain drf");
    EACH(count_pct(row, i, p->fallback_cycles, p->cycles));

    if (!(flags & SIM_REPORT_DETERMINISTIC)) {
        SECTION("Cost of the replay (host clocks)");
        ROW("allocator CPU per cycle, mean");
        EACH((report_fmt_fixed(a, sizeof a, p->cost.alloc_cpu_mean_s * 1e6, 1),
              set_cell(row, i, "%s us", a)));
        ROW("allocator CPU per cycle, p99");
        EACH((report_fmt_fixed(a, sizeof a, p->cost.alloc_cpu_p99_s * 1e6, 1),
              set_cell(row, i, "%s us", a)));
        ROW("simulator wall time");
        EACH((report_fmt_fixed(a, sizeof a, p->cost.wall_s, 2), set_cell(row, i, "%s s", a)));
        ROW("replay CPU time");
        EACH((report_fmt_fixed(a, sizeof a, p->cost.cpu_s, 2), set_cell(row, i, "%s s", a)));
        ROW("replay CPU vs first policy");
        EACH((report_fmt_fixed(a, sizeof a, r->policies[0].cost.cpu_s > 0 ? p->cost.cpu_s / r->policies[0].cost.cpu_s : 0, 2),
              set_cell(row, i, "%sx", a)));
        ROW("events");
        EACH((report_fmt_count(a, sizeof a, p->cost.events), set_cell(row, i, "%s", a)));
        ROW("events per second");
        EACH((report_fmt_fixed(a, sizeof a, p->cost.events_per_s, 0), set_cell(row, i, "%s", a)));
        ROW("peak RSS");
        EACH((report_fmt_bytes(a, sizeof a, p->cost.peak_rss_bytes), set_cell(row, i, "%s", a)));
    }
    return 0;
nomem:
    report_grid_free(g);
    return LOCUS_ENOMEM;
}

void report_grid_free(report_grid *g)
{
    if (!g)
        return;
    for (size_t k = 0; k < g->n_rows; k++) {
        if (g->rows[k].cells)
            for (size_t i = 0; i < g->n_cols; i++)
                free(g->rows[k].cells[i]);
        free(g->rows[k].cells);
        free(g->rows[k].label);
    }
    free(g->rows);
    memset(g, 0, sizeof *g);
}
