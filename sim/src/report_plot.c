/* Plots of a report, drawn by gnuplot rather than by hand: for each plot a
 * tab-separated data file and a self-contained gnuplot script are written
 * into the report folder (so a user can restyle and redraw them), then
 * gnuplot, if found on PATH, runs each script in that folder to make a PNG.
 * One gnuplot process per plot keeps settings from leaking between plots and
 * lets one failed plot leave the others. The scripts pick the pngcairo
 * terminal when this gnuplot has it and fall back to the libgd png terminal.
 * gnuplot's output goes to gnuplot.log in the folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "locus/error.h"
#include "report_plot.h"

const char *const report_plot_names[REPORT_N_PLOTS] = {"jct_cdf", "locality", "network",
                                                        "utilisation"};
const char *const report_plot_titles[REPORT_N_PLOTS] = {
    "Job completion time, CDF per policy",
    "Locality of map tasks and input bytes per policy",
    "Network traffic over time per policy",
    "Cluster utilisation over time per policy",
};

/* gnuplot single-quoted string: only ' needs escaping (as ''). */
static void gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (s = s ? s : ""; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
    fputc('\'', f);
}

static void gp_preamble(FILE *f, const char *name, const char *title)
{
    fprintf(f, "# %s: written by locus-sim; redraw with `gnuplot %s.gp` in this folder.\n", title,
            name);
    fputs("reset\n"
          "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
          "    set terminal pngcairo size 960,540 noenhanced font ',11'\n"
          "} else {\n"
          "    set terminal png size 960,540 noenhanced\n"
          "}\n",
          f);
    fprintf(f, "set output '%s.png'\nset datafile separator '\\t'\nset grid\nset key outside right top\n",
            name);
    fputs("set title ", f);
    gp_str(f, title);
    fputc('\n', f);
}

/* Writes one "name.dat" or "name.gp" in dir. */
static FILE *open_in(const char *dir, const char *name, const char *ext, char *err, size_t errlen)
{
    char file[64];
    snprintf(file, sizeof file, "%s.%s", name, ext);
    char *path = report_join(dir, file);
    if (!path) {
        snprintf(err, errlen, "%s: out of memory", dir);
        return NULL;
    }
    FILE *f = report_open(path, err, errlen);
    free(path);
    return f;
}

static int close_in(FILE *f, const char *dir, const char *name, const char *ext, char *err,
                    size_t errlen)
{
    char file[64];
    snprintf(file, sizeof file, "%s.%s", name, ext);
    char *path = report_join(dir, file);
    int rc = report_close(f, path ? path : dir, err, errlen);
    free(path);
    return rc;
}

/* x axis for time series: hours, minutes or seconds by the longest series. */
static void time_axis(const sim_report *r, double *div, const char **unit)
{
    double span = 0;
    for (size_t i = 0; i < r->n_policies; i++) {
        const sim_policy_result *p = &r->policies[i];
        double s = (double)p->n_series * p->series_bucket_s;
        if (s > span)
            span = s;
    }
    *div = span >= 7200 ? 3600 : span >= 120 ? 60 : 1;
    *unit = span >= 7200 ? "hours" : span >= 120 ? "minutes" : "seconds";
}

#define JCT_POINTS 2000

/* Data: one block per policy that has data, two blank lines apart (gnuplot's
 * "index"). Script: one line per such policy, each with its own dash pattern
 * so that policies with equal curves stay distinguishable. */
static int write_jct(const sim_report *r, const char *dir, int *drawable, char *err, size_t errlen)
{
    const char *name = report_plot_names[REPORT_PLOT_JCT];
    FILE *d = open_in(dir, name, "dat", err, errlen);
    if (!d)
        return LOCUS_EIO;
    fputs("# job completion time (s)\tfraction of finished jobs; one block per policy\n", d);
    int blocks = 0, positive = 1;
    for (size_t i = 0; i < r->n_policies; i++) {
        const sim_policy_result *p = &r->policies[i];
        if (!p->n_jct || !p->jct_sorted)
            continue;
        fprintf(d, "%s# %s\n", blocks ? "\n\n" : "", p->name ? p->name : "");
        /* at most JCT_POINTS evenly spaced ranks (always the last): a
         * smooth curve, and a data file that stays small on big traces */
        size_t step = (p->n_jct + JCT_POINTS - 1) / JCT_POINTS;
        if (!(p->jct_sorted[0] > 0)) /* ascending: the first is the least */
            positive = 0;
        for (size_t k = step - 1;; k = k + step < p->n_jct ? k + step : p->n_jct - 1) {
            char x[40], y[40];
            report_fmt_number(x, sizeof x, p->jct_sorted[k]);
            report_fmt_number(y, sizeof y, (double)(k + 1) / (double)p->n_jct);
            fprintf(d, "%s\t%s\n", x[0] ? x : "NaN", y);
            if (k + 1 == p->n_jct)
                break;
        }
        blocks++;
    }
    int rc = close_in(d, dir, name, "dat", err, errlen);
    if (rc)
        return rc;
    FILE *g = open_in(dir, name, "gp", err, errlen);
    if (!g)
        return LOCUS_EIO;
    gp_preamble(g, name, report_plot_titles[REPORT_PLOT_JCT]);
    fputs("set xlabel 'job completion time (s)'\nset ylabel 'fraction of jobs finished'\n"
          "set yrange [0:1]\nset key inside right bottom\n", g);
    if (positive)
        fputs("set logscale x\n", g);
    int idx = 0;
    for (size_t i = 0; i < r->n_policies; i++) {
        const sim_policy_result *p = &r->policies[i];
        if (!p->n_jct || !p->jct_sorted)
            continue;
        fprintf(g, "%s'%s.dat' index %d using 1:2 with steps linewidth 2 dashtype %d title ",
                idx ? ", \\\n     " : "plot ", name, idx, idx % 5 + 1);
        gp_str(g, p->name);
        idx++;
    }
    fputc('\n', g);
    *drawable = blocks > 0;
    return close_in(g, dir, name, "gp", err, errlen);
}

static int write_locality(const sim_report *r, const char *dir, int *drawable, char *err,
                          size_t errlen)
{
    const char *name = report_plot_names[REPORT_PLOT_LOCALITY];
    FILE *d = open_in(dir, name, "dat", err, errlen);
    if (!d)
        return LOCUS_EIO;
    fputs("# policy\ttasks node %\ttasks rack %\ttasks remote %\tbytes node %\tbytes rack %\t"
          "bytes remote %\n", d);
    for (size_t i = 0; i < r->n_policies; i++) {
        const sim_policy_result *p = &r->policies[i];
        uint64_t tt = p->tasks[0] + p->tasks[1] + p->tasks[2];
        uint64_t bt = p->read_bytes[0] + p->read_bytes[1] + p->read_bytes[2];
        fprintf(d, "%zu", i);
        for (int l = 0; l < SIM_LOCALITY_LEVELS; l++) {
            char v[40];
            report_fmt_number(v, sizeof v, tt ? report_pct(p->tasks[l], tt) : 0);
            fprintf(d, "\t%s", v);
        }
        for (int l = 0; l < SIM_LOCALITY_LEVELS; l++) {
            char v[40];
            report_fmt_number(v, sizeof v, bt ? report_pct(p->read_bytes[l], bt) : 0);
            fprintf(d, "\t%s", v);
        }
        fputc('\n', d);
    }
    int rc = close_in(d, dir, name, "dat", err, errlen);
    if (rc)
        return rc;
    FILE *g = open_in(dir, name, "gp", err, errlen);
    if (!g)
        return LOCUS_EIO;
    gp_preamble(g, name, report_plot_titles[REPORT_PLOT_LOCALITY]);
    fputs("unset title\nset style data histograms\nset style histogram rowstacked\n"
          "set style fill solid 0.85 border -1\nset boxwidth 0.7\nset yrange [0:100]\n"
          "set ylabel 'share (%)'\nset grid ytics\nset bmargin 5\n"
          "set xtics (", g);
    for (size_t i = 0; i < r->n_policies; i++) {
        if (i)
            fputs(", ", g);
        gp_str(g, r->policies[i].name);
        fprintf(g, " %zu", i);
    }
    fputs(")\nset multiplot layout 1,2 title ", g);
    gp_str(g, report_plot_titles[REPORT_PLOT_LOCALITY]);
    fputs("\n", g);
    static const char *const colour[] = {"#1b9e77", "#e6ab02", "#d95f02"};
    static const char *const level[] = {"node-local", "rack-local", "remote"};
    for (int panel = 0; panel < 2; panel++) {
        /* one key for both panels, centred under them */
        fprintf(g, "set title '%s'\n%s\nplot ", panel ? "input bytes" : "map tasks",
                panel ? "unset key" : "set key horizontal center at screen 0.5, 0.04");
        for (int l = 0; l < SIM_LOCALITY_LEVELS; l++)
            fprintf(g, "%s'%s.dat' using %d lc rgb '%s' title '%s'", l ? ", \\\n     " : "", name,
                    2 + panel * 3 + l, colour[l], level[l]);
        fputc('\n', g);
    }
    fputs("unset multiplot\n", g);
    *drawable = r->n_policies > 0;
    return close_in(g, dir, name, "gp", err, errlen);
}

/* Network (MiB/s averaged over each bucket) or utilisation (%) over time. */
static int write_series(const sim_report *r, const char *dir, int which, int *drawable, char *err,
                        size_t errlen)
{
    const char *name = report_plot_names[which];
    int net = which == REPORT_PLOT_NETWORK;
    FILE *d = open_in(dir, name, "dat", err, errlen);
    if (!d)
        return LOCUS_EIO;
    fprintf(d, "# bucket start (s)\t%s; one block per policy\n",
            net ? "network bytes in the bucket" : "mean utilisation in the bucket (0-1)");
    int blocks = 0;
    for (size_t i = 0; i < r->n_policies; i++) {
        const sim_policy_result *p = &r->policies[i];
        const double *v = net ? p->series_network_bytes : p->series_utilisation;
        if (!p->n_series || !v)
            continue;
        fprintf(d, "%s# %s\n", blocks ? "\n\n" : "", p->name ? p->name : "");
        for (size_t k = 0; k < p->n_series; k++) {
            char x[40], y[40];
            report_fmt_number(x, sizeof x, (double)k * p->series_bucket_s);
            report_fmt_number(y, sizeof y, v[k]);
            fprintf(d, "%s\t%s\n", x[0] ? x : "NaN", y[0] ? y : "NaN");
        }
        blocks++;
    }
    int rc = close_in(d, dir, name, "dat", err, errlen);
    if (rc)
        return rc;
    FILE *g = open_in(dir, name, "gp", err, errlen);
    if (!g)
        return LOCUS_EIO;
    gp_preamble(g, name, report_plot_titles[which]);
    double div;
    const char *unit;
    time_axis(r, &div, &unit);
    fprintf(g, "set xlabel 'time since the first submit (%s)'\n", unit);
    if (net)
        fputs("set ylabel 'network traffic (MiB/s, bucket mean)'\nset yrange [0:*]\n", g);
    else
        fputs("set ylabel 'utilisation (%, bucket mean)'\nset yrange [0:100]\n", g);
    int idx = 0;
    for (size_t i = 0; i < r->n_policies; i++) {
        const sim_policy_result *p = &r->policies[i];
        const double *v = net ? p->series_network_bytes : p->series_utilisation;
        if (!p->n_series || !v)
            continue;
        double bucket = p->series_bucket_s > 0 ? p->series_bucket_s : 1;
        char ys[64];
        if (net)
            snprintf(ys, sizeof ys, "($2/%.9g/1048576)", bucket);
        else
            snprintf(ys, sizeof ys, "($2*100)");
        fprintf(g, "%s'%s.dat' index %d using ($1/%g):%s with lines linewidth 2 dashtype %d title ",
                idx ? ", \\\n     " : "plot ", name, idx, div, ys, idx % 5 + 1);
        gp_str(g, p->name);
        idx++;
    }
    fputc('\n', g);
    *drawable = blocks > 0;
    return close_in(g, dir, name, "gp", err, errlen);
}

/* First executable "gnuplot" on PATH, malloc'd; NULL if none. */
static char *find_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        return NULL;
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *found = NULL, *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *cand = report_join(*d ? d : ".", "gnuplot");
        struct stat st;
        if (cand && stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
            found = cand;
        else
            free(cand);
    }
    free(copy);
    return found;
}

/* Runs `gnuplot name.gp` in dir, output appended to dir/gnuplot.log.
 * Returns the exit status (0 = drawn), or -1 if it could not run. */
static int run_gnuplot(const char *gnuplot, const char *dir, const char *name)
{
    char script[64];
    snprintf(script, sizeof script, "%s.gp", name);
    char *log = report_join(dir, "gnuplot.log");
    if (!log)
        return -1;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    free(log);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || devnull < 0) {
        if (fd >= 0)
            close(fd);
        if (devnull >= 0)
            close(devnull);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* only async-signal-safe calls between fork and exec */
        if (chdir(dir) != 0 || dup2(devnull, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        char *const argv[] = {(char *)"gnuplot", script, NULL};
        execv(gnuplot, argv);
        _exit(127);
    }
    close(fd);
    close(devnull);
    if (pid < 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int report_plots_write(const sim_report *r, const char *dir, report_plots *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    int drawable[REPORT_N_PLOTS] = {0};
    int rc;
    if ((rc = write_jct(r, dir, &drawable[REPORT_PLOT_JCT], err, errlen)) ||
        (rc = write_locality(r, dir, &drawable[REPORT_PLOT_LOCALITY], err, errlen)) ||
        (rc = write_series(r, dir, REPORT_PLOT_NETWORK, &drawable[REPORT_PLOT_NETWORK], err,
                           errlen)) ||
        (rc = write_series(r, dir, REPORT_PLOT_UTIL, &drawable[REPORT_PLOT_UTIL], err, errlen)))
        return rc;

    /* PNGs of an earlier run must not pass for this run's */
    for (int k = 0; k < REPORT_N_PLOTS; k++) {
        char file[64];
        snprintf(file, sizeof file, "%s.png", report_plot_names[k]);
        char *png = report_join(dir, file);
        if (png)
            unlink(png);
        free(png);
    }
    char *log = report_join(dir, "gnuplot.log");
    if (log)
        unlink(log);
    free(log);

    char *gnuplot = find_gnuplot();
    out->gnuplot_found = gnuplot != NULL;
    if (!gnuplot)
        return 0;
    for (int k = 0; k < REPORT_N_PLOTS; k++) {
        if (!drawable[k])
            continue;
        int st = run_gnuplot(gnuplot, dir, report_plot_names[k]);
        char file[64];
        snprintf(file, sizeof file, "%s.png", report_plot_names[k]);
        char *png = report_join(dir, file);
        struct stat sb;
        out->drawn[k] = st == 0 && png && stat(png, &sb) == 0 && sb.st_size > 0;
        if (!out->drawn[k])
            out->failed++;
        free(png);
    }
    free(gnuplot);
    return 0;
}
