/* What one locus-sim run measured, per policy, and its writers: a text table
 * on a stream, JSON, CSV, gnuplot plots and one HTML page that gathers them.
 * The engine fills sim_report; the writers only format it, so the same
 * report bytes come from the same trace, config and seed (wall-clock figures
 * are kept apart in sim_run_cost and left out of the deterministic outputs
 * when SIM_REPORT_DETERMINISTIC is set).
 */
#ifndef LOCUS_SIM_REPORT_H
#define LOCUS_SIM_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum sim_locality { SIM_LOCAL_NODE = 0, SIM_LOCAL_RACK = 1, SIM_LOCAL_REMOTE = 2, SIM_LOCALITY_LEVELS = 3 };

/* Job sizes in map tasks, as binned by the delay scheduling paper (Zaharia
 * et al., EuroSys 2010, Table 2): 1, 2, 3-20, 21-150, 151-500, > 500. */
#define SIM_SIZE_BINS 6
extern const char *const sim_size_bin_names[SIM_SIZE_BINS];
int sim_size_bin(uint32_t map_tasks);

typedef struct sim_jct_stats {
    size_t jobs;
    double mean_s, p50_s, p95_s, p99_s;
} sim_jct_stats;

/* Measured by the host's clocks, so not reproducible byte for byte. */
typedef struct sim_run_cost {
    double wall_s;               /* simulator wall time of this policy's replay */
    uint64_t events;             /* events processed */
    double events_per_s;
    double alloc_cpu_mean_s;     /* allocator CPU time per allocate() call */
    double alloc_cpu_p99_s;
    uint64_t peak_rss_bytes;     /* process peak RSS after this replay */
    double cpu_s;                /* CPU time of the thread that replayed it (simulator + plugin) */
} sim_run_cost;

typedef struct sim_policy_result {
    char *name;                  /* "drf", "drf+delay", "locality", or the plugin's label */
    char *description;           /* one line: allocator plugin and framework behaviour */
    int optimal;                 /* the min-cost flow bound: the others' gap is measured to it */
    uint64_t tasks[SIM_LOCALITY_LEVELS];      /* map tasks by where their block was read from */
    uint64_t read_bytes[SIM_LOCALITY_LEVELS]; /* input bytes by the same split */
    uint64_t mem_hit_tasks;      /* node-local tasks served from the memory tier */
    uint64_t mem_copy_tasks;     /* map tasks whose block had a memory copy when they launched */
    uint64_t mem_read_bytes;     /* input bytes read from a memory tier, local or remote */
    uint64_t mem_node_bytes;     /* of which from the task's own agent */
    uint64_t bin_tasks[SIM_SIZE_BINS];      /* map tasks with input, by their job's size bin */
    uint64_t bin_node_tasks[SIM_SIZE_BINS]; /* of which node-local */
    sim_jct_stats first_launch;  /* per job: submit to its first task's launch */
    sim_jct_stats first_reduce;  /* per job with reduces: maps done to its first reduce's launch */
    double slowdown_mean;        /* per job: JCT / its time running alone on the empty cluster */
    double slowdown_p95;
    uint64_t network_bytes;      /* bytes that crossed any agent NIC (remote and rack reads, shuffle) */
    uint64_t uplink_bytes;       /* bytes that crossed a rack uplink */
    double flow_bytes;           /* bytes the network model moved for reads (= bytes read) */
    double max_link_utilisation; /* highest load / capacity of any link or flow cap seen (checks) */
    uint64_t net_updates;        /* rate recomputations (one per instant with a change) */
    uint64_t net_flows_recomputed; /* flows whose rate was recomputed, summed over updates */
    uint64_t tasks_total, jobs_total, jobs_done;
    sim_jct_stats jct_all, jct_small, jct_large; /* small: input < 64 MB */
    double makespan_s;           /* last job finish - first job submit */
    double utilisation;          /* busy cpu-seconds / (cluster cpus * makespan) */
    double load;                 /* busy share of the cluster's CPUs while jobs arrived (first to last submit) */
    double offered_load;         /* all busy cpu-seconds / (cluster cpus * arrival span): what sim.target_load aims at */
    double jain_fairness;        /* Jain's index of dominant shares, averaged over cycles with >1 active framework */
    uint64_t cycles;             /* allocation cycles */
    uint64_t offer_rounds;       /* allocate() calls: a cycle re-offers what delay frameworks declined */
    uint64_t offers;
    uint64_t fallback_cycles;    /* cycles the plugin ran as plain drf (hints stale or missing) */
    double *jct_sorted;          /* every finished job's completion time, ascending (for the CDF) */
    size_t n_jct;
    double series_bucket_s;      /* width of one time-series bucket */
    double *series_network_bytes;/* network bytes per bucket */
    double *series_utilisation;  /* mean utilisation per bucket */
    size_t n_series;
    sim_run_cost cost;
} sim_policy_result;

typedef struct sim_report_param {
    const char *key;             /* e.g. "agents", "racks", "block_bytes"; a static string, never freed */
    char *value;                 /* heap, freed by sim_report_free */
} sim_report_param;

typedef struct sim_report {
    char *trace;                 /* trace path as given */
    double target_load;          /* sim.target_load when the compression was automatic, else 0 */
    double compression;          /* the factor used */
    int calibration_runs;        /* pilot replays of the first policy that set the factor */
    size_t pilot_jobs;           /* jobs of the sample a pilot replayed; 0: pilots replayed everything */
    int64_t pilot_agents;        /* agents of that pilot's cluster */
    char *trace_name;            /* file name */
    uint64_t seed;
    size_t n_jobs;
    sim_report_param *params;    /* the model's effective settings, in a stable order */
    size_t n_params;
    sim_policy_result *policies;
    size_t n_policies;
} sim_report;

enum { SIM_REPORT_DETERMINISTIC = 1 }; /* leave sim_run_cost out */

/* Writers: return 0 or LOCUS_EIO with err naming the file. */
int sim_report_write_table(const sim_report *r, FILE *out, unsigned flags);
int sim_report_write_json(const sim_report *r, const char *path, unsigned flags, char *err, size_t errlen);
int sim_report_write_csv(const sim_report *r, const char *path, unsigned flags, char *err, size_t errlen);
/* Writes plot data and gnuplot scripts into dir, runs gnuplot (if found on
 * PATH; otherwise the page says how to draw them) for PNGs: JCT CDF per
 * policy, locality bars, network bytes over time; then dir/index.html that
 * gathers table and plots. *html_path (if given) gets a malloc'd path. */
int sim_report_write_html(const sim_report *r, const char *dir, unsigned flags, char **html_path,
                          char *err, size_t errlen);
/* Frees r, every string and array it holds (each heap-allocated and owned
 * by the report) except the static param keys. NULL: no-op. */
void sim_report_free(sim_report *r);

#endif
