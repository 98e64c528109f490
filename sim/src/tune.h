/* `locus-sim tune`: searches the allocator keys the config table marks
 * tunable (la_config_tunables) for the values that suit one trace, by
 * successive halving over growing windows of the trace's first part, checks
 * the winner on a later, disjoint part, and writes it as an allocator config
 * file. The trial records are shared by the search (tune.c) and the trade-off
 * page (tune_plot.c). */
#ifndef LOCUS_SIM_TUNE_H
#define LOCUS_SIM_TUNE_H

#include <stddef.h>
#include <stdio.h>

#define TUNE_MAX_KEYS 32
#define TUNE_RUNGS 3

enum tune_objective { TUNE_JCT = 0, TUNE_BYTES = 1, TUNE_BALANCED = 2 };

/* One sampled config and what it measured on the last rung it reached,
 * as ratios to the default config on the same window. */
typedef struct tune_trial {
    char values[TUNE_MAX_KEYS][32]; /* each tunable key's value, as written to the file */
    int rung;                       /* highest rung replayed (0 .. TUNE_RUNGS-1) */
    double jct_ratio, bytes_ratio;  /* mean JCT and network bytes over the default's */
    double score;                   /* objective over the default's: < 1 is better */
    int is_default;                 /* the default config (always trial 0) */
} tune_trial;

/* What the trade-off page shows. */
typedef struct tune_plot_input {
    const char *trace;
    const char *objective;
    const tune_trial *trials;
    size_t n_trials;
    size_t chosen;                  /* index into trials; n_trials: none */
    const char *const *keys;        /* tunable key names */
    size_t n_keys;
    double train_score, val_score;  /* chosen's score on train / validation (0: none) */
    double val_jct_ratio, val_bytes_ratio;
} tune_plot_input;

/* Writes dir/tune.html (inline SVG: mean JCT against network bytes, one
 * point per trial, the frontier, default and chosen). Returns 0 or -1 with
 * err naming the file. */
int tune_plot_write(const tune_plot_input *in, const char *dir, char *err, size_t errlen);

/* The `tune` command: argv[0] is "tune". Exit status: 0 a better config was
 * written, 3 none beat the default on the validation window (nothing
 * written), 1 failure, 2 bad command line. */
int sim_tune_main(int argc, char **argv);

#endif
