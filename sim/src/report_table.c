/* The comparison as a plain-text table for a terminal: policies as columns,
 * figures as rows (from the shared display grid, so the HTML page shows the
 * same), labels left-aligned, values right-aligned, ASCII only so it lines
 * up in any terminal and log. Each policy's one-line description follows.
 */
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"
#include "report_fmt.h"

int sim_report_write_table(const sim_report *r, FILE *out, unsigned flags)
{
    if (!r || !out)
        return LOCUS_EINVAL;
    report_grid g;
    if (report_grid_build(r, flags, &g) != 0)
        return LOCUS_ENOMEM;
    size_t n = r->n_policies;
    size_t *w = calloc(n ? n : 1, sizeof *w);
    if (!w) {
        report_grid_free(&g);
        return LOCUS_ENOMEM;
    }
    size_t lw = 0;
    for (size_t k = 0; k < g.n_rows; k++) {
        size_t l = strlen(g.rows[k].label) + (g.rows[k].section ? 0 : 2);
        if (!g.rows[k].section && l > lw)
            lw = l;
    }
    for (size_t i = 0; i < n; i++) {
        w[i] = strlen(r->policies[i].name ? r->policies[i].name : "");
        for (size_t k = 0; k < g.n_rows; k++)
            if (!g.rows[k].section && strlen(g.rows[k].cells[i]) > w[i])
                w[i] = strlen(g.rows[k].cells[i]);
    }

    char jobs[32];
    report_fmt_count(jobs, sizeof jobs, r->n_jobs);
    char setting[256];
    report_setting_line(r, setting, sizeof setting);
    fprintf(out, "Locus simulation: %s, %s jobs, seed %llu\n%s\n\n",
            r->trace_name ? r->trace_name : (r->trace ? r->trace : "?"), jobs,
            (unsigned long long)r->seed, setting);
    for (size_t i = 0; i < n; i++) {
        char h[512];
        report_headline(r, i, h, sizeof h);
        fprintf(out, "  %s\n", h);
    }
    fputc('\n', out);
    fprintf(out, "%-*s", (int)lw, "");
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %*s", (int)w[i], r->policies[i].name ? r->policies[i].name : "");
    fputc('\n', out);
    for (size_t k = 0; k < g.n_rows; k++) {
        const report_row *row = &g.rows[k];
        if (row->section) {
            fprintf(out, "%s\n", row->label);
            continue;
        }
        fprintf(out, "  %-*s", (int)(lw - 2), row->label);
        for (size_t i = 0; i < n; i++)
            fprintf(out, "  %*s", (int)w[i], row->cells[i]);
        fputc('\n', out);
    }
    fputc('\n', out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s: %s\n", r->policies[i].name ? r->policies[i].name : "",
                r->policies[i].description ? r->policies[i].description : "");
    free(w);
    report_grid_free(&g);
    return ferror(out) ? LOCUS_EIO : 0;
}
