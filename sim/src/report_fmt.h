/* Internal to the report writers (report*.c): number formatting, file
 * helpers, the table of per-policy metrics that JSON and CSV share, and the
 * formatted grid that the text table and the HTML page share.
 */
#ifndef LOCUS_SIM_REPORT_FMT_H
#define LOCUS_SIM_REPORT_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"

/* ---- numbers ---- */
/* IEC units: "0 B", "512 B", "1.5 KiB", "12.3 GiB". */
void report_fmt_bytes(char *buf, size_t n, uint64_t bytes);
/* Thousands separated: "1,234,567". */
void report_fmt_count(char *buf, size_t n, uint64_t v);
/* Fixed decimals, thousands separated: "1,234.5"; "n/a" if not finite. */
void report_fmt_fixed(char *buf, size_t n, double v, int decimals);
/* Machine form for JSON and CSV: %.15g, or %.17g where needed to read back
 * the same double; "" if not finite (the caller decides what stands for it). */
void report_fmt_number(char *buf, size_t n, double v);
/* part / whole * 100, or NAN when whole is 0. */
double report_pct(uint64_t part, uint64_t whole);

/* ---- files ---- */
/* fopen(path, "wb") with err "path: why"; NULL on failure. */
FILE *report_open(const char *path, char *err, size_t errlen);
/* Closes f; 0, or LOCUS_EIO with err if any write or the close failed. */
int report_close(FILE *f, const char *path, char *err, size_t errlen);
/* dir "/" name, malloc'd; NULL if out of memory. */
char *report_join(const char *dir, const char *name);

/* ---- per-policy metrics (JSON keys and CSV columns, in this order) ---- */
typedef enum report_kind { REPORT_U64, REPORT_DBL, REPORT_SIZE } report_kind;

typedef struct report_metric {
    const char *key;
    report_kind kind;
    size_t offset;      /* into sim_policy_result */
    int cost;           /* 1: part of sim_run_cost, left out when deterministic */
} report_metric;

extern const report_metric report_metrics[];
extern const size_t report_n_metrics;
/* The metric's value formatted for JSON/CSV ("" when not finite). */
void report_metric_value(const report_metric *m, const sim_policy_result *p, char *buf, size_t n);

/* ---- display grid (text table and HTML) ---- */
typedef struct report_row {
    char *label;        /* row label, or the section title */
    int section;        /* 1: a section heading without cells */
    char **cells;       /* one per policy (NULL for a section) */
} report_row;

typedef struct report_grid {
    report_row *rows;
    size_t n_rows, cap;
    size_t n_cols;      /* policies */
} report_grid;

/* One line naming the hardware profile and the arrival factor (and how it
 * was calibrated), for the table's and the page's heading. */
void report_setting_line(const sim_report *r, char *buf, size_t n);
/* The headline of policy i: node-local share, NIC bytes saved, mean and p95
 * JCT change against the first policy, slowdown and Jain's index. */
void report_headline(const sim_report *r, size_t i, char *buf, size_t n);
/* The optimal policy's index in the report, or -1 when none was replayed. */
long report_optimal_index(const sim_report *r);
/* Policy i against the optimal bound: node-local share in points, bytes not
 * read on the task's own agent (minus the bound's), mean JCT change in %.
 * Returns 0, or -1 when there is no bound or i is the bound. */
int report_gap_to_optimal(const sim_report *r, size_t i, double *node_points, double *remote_bytes,
                          double *mean_jct_pct);
/* The value of a parameter ("sim.profile"), or "" when absent. */
const char *report_param(const sim_report *r, const char *key);

/* Formats every figure of r as display text. 0 or LOCUS_ENOMEM. */
int report_grid_build(const sim_report *r, unsigned flags, report_grid *g);
void report_grid_free(report_grid *g);

#endif
