/* One HTML page a user opens to see a run: the comparison table (the shared
 * display grid, as in the terminal), each policy's description, the plots,
 * the model parameters, and links to report.json / report.csv when they are
 * in the same folder. Self-contained: inline CSS, no scripts, images by
 * relative path, so the folder can be copied or served anywhere. Without gnuplot the page still renders and says how to
 * draw the plots from the scripts written beside it. Nothing time-dependent
 * is written, so the page is as deterministic as the report.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "locus/error.h"
#include "report_plot.h"

static void html_text(FILE *f, const char *s)
{
    for (s = s ? s : ""; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
                fputc(*s, f);
        }
    }
}

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
    "max-width:1100px;padding:0 1em;color:#222;line-height:1.4}\n"
    "h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}\n"
    "table{border-collapse:collapse;margin:.5em 0}\n"
    "th,td{padding:.25em .8em;border-bottom:1px solid #eee}\n"
    "table.cmp td{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "table.cmp th{text-align:left;font-weight:normal}\n"
    "table.cmp thead th{font-weight:bold;text-align:right}\n"
    "table.cmp tr.section th{font-weight:bold;background:#f4f4f4;padding-top:.6em}\n"
    "table.params th{text-align:left;font-weight:normal;font-family:monospace}\n"
    "table.params td{font-family:monospace}\n"
    "figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}\n"
    ".note{background:#fff6d5;border:1px solid #e6c200;padding:.6em 1em}\n"
    "code{background:#f4f4f4;padding:0 .2em}\n";

static void write_table(FILE *f, const sim_report *r, const report_grid *g)
{
    fputs("<table class=\"cmp\">\n<thead><tr><th></th>", f);
    for (size_t i = 0; i < r->n_policies; i++) {
        fputs("<th>", f);
        html_text(f, r->policies[i].name);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (size_t k = 0; k < g->n_rows; k++) {
        const report_row *row = &g->rows[k];
        if (row->section) {
            fprintf(f, "<tr class=\"section\"><th colspan=\"%zu\">", r->n_policies + 1);
            html_text(f, row->label);
            fputs("</th></tr>\n", f);
            continue;
        }
        fputs("<tr><th>", f);
        html_text(f, row->label);
        fputs("</th>", f);
        for (size_t i = 0; i < g->n_cols; i++) {
            fputs("<td>", f);
            html_text(f, row->cells[i]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody>\n</table>\n", f);
}

static void write_plots(FILE *f, const report_plots *pl)
{
    fputs("<h2>Plots</h2>\n", f);
    if (!pl->gnuplot_found)
        fputs("<p class=\"note\">gnuplot was not found on <code>PATH</code>, so the plots were "
              "not drawn. Their data (<code>*.dat</code>) and gnuplot scripts (<code>*.gp</code>) "
              "are in this folder: install gnuplot (Debian: <code>apt-get install gnuplot-nox</code>) "
              "and run <code>gnuplot NAME.gp</code> here for each, or run the simulation again.</p>\n",
              f);
    else if (pl->failed)
        fputs("<p class=\"note\">gnuplot did not draw every plot; see <code>gnuplot.log</code> "
              "in this folder.</p>\n", f);
    for (int k = 0; k < REPORT_N_PLOTS; k++) {
        if (!pl->drawn[k])
            continue;
        fprintf(f, "<figure><img src=\"%s.png\" alt=\"", report_plot_names[k]);
        html_text(f, report_plot_titles[k]);
        fputs("\"><figcaption>", f);
        html_text(f, report_plot_titles[k]);
        fprintf(f, " (data <a href=\"%s.dat\">%s.dat</a>, script <a href=\"%s.gp\">%s.gp</a>)"
                   "</figcaption></figure>\n",
                report_plot_names[k], report_plot_names[k], report_plot_names[k],
                report_plot_names[k]);
    }
}

int sim_report_write_html(const sim_report *r, const char *dir, unsigned flags, char **html_path,
                          char *err, size_t errlen)
{
    if (html_path)
        *html_path = NULL;
    if (!r || !dir) {
        snprintf(err, errlen, "%s: no report to write", dir ? dir : "report");
        return LOCUS_EINVAL;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return LOCUS_EIO;
    }
    report_plots pl;
    int rc = report_plots_write(r, dir, &pl, err, errlen);
    if (rc)
        return rc;
    report_grid g;
    if (report_grid_build(r, flags, &g) != 0) {
        snprintf(err, errlen, "%s: out of memory", dir);
        return LOCUS_ENOMEM;
    }
    char *path = report_join(dir, "index.html");
    FILE *f = path ? report_open(path, err, errlen) : NULL;
    if (!f) {
        if (!path)
            snprintf(err, errlen, "%s: out of memory", dir);
        report_grid_free(&g);
        free(path);
        return path ? LOCUS_EIO : LOCUS_ENOMEM;
    }

    const char *tname = r->trace_name ? r->trace_name : r->trace;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Locus "
          "simulation: ", f);
    html_text(f, tname);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>Locus simulation: ", style);
    html_text(f, tname);
    fputs("</h1>\n<p>Trace <code>", f);
    html_text(f, r->trace);
    char jobs[32];
    report_fmt_count(jobs, sizeof jobs, r->n_jobs);
    fprintf(f, "</code>, %s jobs, seed %llu; every policy replayed the same jobs with the same "
               "seed; ", jobs, (unsigned long long)r->seed);
    char setting[256];
    report_setting_line(r, setting, sizeof setting);
    html_text(f, setting);
    fputs(".</p>\n<h2>Headline</h2>\n<ul>\n", f);
    for (size_t i = 0; i < r->n_policies; i++) {
        char h[512];
        report_headline(r, i, h, sizeof h);
        fputs("<li>", f);
        html_text(f, h);
        fputs("</li>\n", f);
    }
    fputs("</ul>\n<h2>Comparison</h2>\n", f);
    write_table(f, r, &g);
    fputs("<h2>Policies</h2>\n<dl>\n", f);
    for (size_t i = 0; i < r->n_policies; i++) {
        fputs("<dt><b>", f);
        html_text(f, r->policies[i].name);
        fputs("</b></dt><dd>", f);
        html_text(f, r->policies[i].description);
        fputs("</dd>\n", f);
    }
    fputs("</dl>\n", f);
    write_plots(f, &pl);
    fputs("<h2>Parameters</h2>\n<table class=\"params\">\n", f);
    for (size_t i = 0; i < r->n_params; i++) {
        fputs("<tr><th>", f);
        html_text(f, r->params[i].key);
        fputs("</th><td>", f);
        html_text(f, r->params[i].value);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    /* the machine-readable forms, when the caller wrote them into the same folder */
    static const char *const data_files[] = {"report.json", "report.csv"};
    int listed = 0;
    for (size_t k = 0; k < sizeof data_files / sizeof data_files[0]; k++) {
        char *p = report_join(dir, data_files[k]);
        struct stat st;
        if (p && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            fprintf(f, "%s<a href=\"%s\">%s</a>", listed ? ", " : "<p>The same figures as data: ",
                    data_files[k], data_files[k]);
            listed = 1;
        }
        free(p);
    }
    if (listed)
        fputs(".</p>\n", f);
    fputs("<p>Figures are defined in Locus's <code>docs/report.md</code>.", f);
    if (flags & SIM_REPORT_DETERMINISTIC)
        fputs(" Host-clock figures (wall time, events per second, allocator CPU) are left out so "
              "that the same trace, configuration and seed give the same page.", f);
    fputs("</p>\n</body>\n</html>\n", f);
    report_grid_free(&g);
    rc = report_close(f, path, err, errlen);
    if (rc == 0 && html_path)
        *html_path = path;
    else
        free(path);
    return rc;
}
