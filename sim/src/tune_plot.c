/* The trade-off page of `locus-sim tune`: one self-contained HTML file with
 * an inline SVG scatter of every trial's mean JCT against its network bytes
 * (both as ratios to the default config on the same trace window, so trials
 * stopped on a short window sit on the same axes), the Pareto frontier of
 * the trials that reached the whole training part, the default and the
 * chosen config marked, and the chosen values in a table. No gnuplot needed:
 * the page must exist on any host that ran tune. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune.h"

#define W 760
#define H 500
#define ML 70
#define MR 20
#define MT 20
#define MB 50

static int cmp_x(const void *a, const void *b)
{
    const tune_trial *x = *(tune_trial *const *)a, *y = *(tune_trial *const *)b;
    if (x->bytes_ratio != y->bytes_ratio)
        return x->bytes_ratio < y->bytes_ratio ? -1 : 1;
    if (x->jct_ratio != y->jct_ratio)
        return x->jct_ratio < y->jct_ratio ? -1 : 1;
    return 0;
}

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
}

int tune_plot_write(const tune_plot_input *in, const char *dir, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/tune.html", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    double x0 = 1, x1 = 1, y0 = 1, y1 = 1;
    for (size_t i = 0; i < in->n_trials; i++) {
        const tune_trial *t = &in->trials[i];
        x0 = fmin(x0, t->bytes_ratio);
        x1 = fmax(x1, t->bytes_ratio);
        y0 = fmin(y0, t->jct_ratio);
        y1 = fmax(y1, t->jct_ratio);
    }
    double px = (x1 - x0) * 0.05 + 1e-3, py = (y1 - y0) * 0.05 + 1e-3;
    x0 -= px, x1 += px, y0 -= py, y1 += py;
#define SX(v) (ML + ((v) - x0) / (x1 - x0) * (W - ML - MR))
#define SY(v) (H - MB - ((v) - y0) / (y1 - y0) * (H - MT - MB))
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>locus-sim tune</title>\n"
          "<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
          "text-align:right}</style></head><body>\n<h1>locus-sim tune: ",
          f);
    esc(f, in->trace);
    fprintf(f, "</h1>\n<p>Objective: %s. Each point is one sampled allocator config, placed by "
               "its network bytes (x) and mean job completion time (y), both divided by the "
               "default config's on the same training window; lower-left is better. Pale "
               "points were dropped on a short window, dark points reached the whole training "
               "part; the red line joins those no other dark point beats on both axes (the "
               "frontier). Square: default. Green diamond: the chosen config.</p>\n",
            in->objective);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-size=\"12\">\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
               "fill=\"none\" stroke=\"#888\"/>\n",
            W, H, ML, MT, W - ML - MR, H - MT - MB);
    for (int k = 0; k <= 4; k++) {
        double xv = x0 + (x1 - x0) * k / 4, yv = y0 + (y1 - y0) * k / 4;
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3f</text>\n", SX(xv),
                H - MB + 16, xv);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3f</text>\n", ML - 6,
                SY(yv) + 4, yv);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">network bytes / default</text>\n"
               "<text transform=\"translate(16,%d) rotate(-90)\" text-anchor=\"middle\">"
               "mean JCT / default</text>\n",
            (W + ML) / 2, H - 10, (H - MB + MT) / 2);
    size_t n_full = 0;
    const tune_trial **full = malloc((in->n_trials + 1) * sizeof *full);
    for (size_t i = 0; i < in->n_trials; i++) {
        const tune_trial *t = &in->trials[i];
        int dark = t->rung == TUNE_RUNGS - 1;
        if (dark && full)
            full[n_full++] = t;
        if (t->is_default || i == in->chosen)
            continue;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>trial %zu, "
                   "rung %d: JCT %.4f, bytes %.4f</title></circle>\n",
                SX(t->bytes_ratio), SY(t->jct_ratio), dark ? "#1f4e99" : "#b8c8e8", i,
                t->rung + 1, t->jct_ratio, t->bytes_ratio);
    }
    if (full && n_full) {
        qsort(full, n_full, sizeof *full, cmp_x);
        fputs("<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" points=\"", f);
        double best_y = INFINITY;
        for (size_t i = 0; i < n_full; i++)
            if (full[i]->jct_ratio < best_y) {
                best_y = full[i]->jct_ratio;
                fprintf(f, "%.1f,%.1f ", SX(full[i]->bytes_ratio), SY(full[i]->jct_ratio));
            }
        fputs("\"/>\n", f);
    }
    free(full);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"black\">"
               "<title>default</title></rect>\n",
            SX(1.0) - 5, SY(1.0) - 5);
    if (in->chosen < in->n_trials) {
        const tune_trial *c = &in->trials[in->chosen];
        double cx = SX(c->bytes_ratio), cy = SY(c->jct_ratio);
        fprintf(f, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"#2ca02c\" "
                   "stroke=\"black\"><title>chosen: trial %zu</title></polygon>\n",
                cx, cy - 8, cx + 8, cy, cx, cy + 8, cx - 8, cy, in->chosen);
    }
    fputs("</svg>\n", f);
    if (in->chosen < in->n_trials) {
        const tune_trial *c = &in->trials[in->chosen];
        const tune_trial *d = &in->trials[0];
        fprintf(f, "<p>Chosen: trial %zu, score %.4f on training, %.4f on validation (mean JCT "
                   "%.4f, network bytes %.4f of the default's).</p>\n<table><tr><th>key</th>"
                   "<th>default</th><th>chosen</th></tr>\n",
                in->chosen, in->train_score, in->val_score, in->val_jct_ratio,
                in->val_bytes_ratio);
        for (size_t k = 0; k < in->n_keys; k++)
            fprintf(f, "<tr><td>%s</td><td>%s</td><td>%s</td></tr>\n", in->keys[k],
                    d->values[k], c->values[k]);
        fputs("</table>\n", f);
    } else {
        fputs("<p>No config beat the default on the training part.</p>\n", f);
    }
    fputs("</body></html>\n", f);
#undef SX
#undef SY
    if (fclose(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
