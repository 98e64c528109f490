/* Internal to the report writers: gnuplot plots of a report (report_plot.c),
 * used by the HTML page. */
#ifndef LOCUS_SIM_REPORT_PLOT_H
#define LOCUS_SIM_REPORT_PLOT_H

#include "report_fmt.h"

enum {
    REPORT_PLOT_JCT = 0,      /* jct_cdf: JCT CDF per policy */
    REPORT_PLOT_LOCALITY,     /* locality: stacked node/rack/remote bars per policy */
    REPORT_PLOT_NETWORK,      /* network: network bytes over time per policy */
    REPORT_PLOT_UTIL,         /* utilisation: utilisation over time per policy */
    REPORT_N_PLOTS
};

extern const char *const report_plot_names[REPORT_N_PLOTS];  /* file stem: NAME.dat/.gp/.png */
extern const char *const report_plot_titles[REPORT_N_PLOTS];

typedef struct report_plots {
    int gnuplot_found;            /* an executable gnuplot was on PATH */
    int drawn[REPORT_N_PLOTS];    /* NAME.png was made by this call */
    int failed;                   /* plots gnuplot was asked for but did not draw */
} report_plots;

/* Writes NAME.dat and NAME.gp for every plot into dir (which must exist),
 * removes PNGs of an earlier run, and runs gnuplot if found. Returns 0 (also
 * when gnuplot is missing or fails: see *out) or LOCUS_EIO with err. */
int report_plots_write(const sim_report *r, const char *dir, report_plots *out, char *err,
                       size_t errlen);

#endif
