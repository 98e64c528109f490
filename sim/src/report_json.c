/* The report as JSON for scripts: keys in a fixed order (report, params in
 * the engine's order, then one object per policy with the metrics of the
 * shared metric table, time series, and "cost" unless deterministic),
 * integers printed as integers and reals in the shortest of %.15g/%.17g that
 * reads back exactly, a non-finite real as null. Written by hand rather than through a JSON library so that the byte
 * layout is ours and stays the same across library versions.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "locus/error.h"
#include "report_fmt.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    if (s[0] < 0x80)
        return 1;
    else if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
        n = 2;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3;
    else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
        n = 4;
    else
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* Overlong forms, UTF-16 surrogates (U+D800..DFFF, which JSON parsers
     * refuse as lone code points) and code points above U+10FFFF. */
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return n;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            p++;
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
            p++;
        } else {
            size_t n = utf8_len(p);
            if (n == 0) {
                fputs("\\ufffd", f); /* not UTF-8: keep the JSON valid */
                p++;
            } else {
                fwrite(p, 1, n, f);
                p += n;
            }
        }
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    char b[40];
    report_fmt_number(b, sizeof b, v);
    fputs(b[0] ? b : "null", f);
}

static void json_series(FILE *f, const char *key, const double *v, size_t n)
{
    fprintf(f, ",\n      \"%s\": [", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(i % 10 ? ", " : ",\n        ", f);
        json_num(f, v ? v[i] : NAN);
    }
    fputc(']', f);
}

int sim_report_write_json(const sim_report *r, const char *path, unsigned flags, char *err,
                          size_t errlen)
{
    if (!r || !path) {
        snprintf(err, errlen, "%s: no report to write", path ? path : "report.json");
        return LOCUS_EINVAL;
    }
    FILE *f = report_open(path, err, errlen);
    if (!f)
        return LOCUS_EIO;
    fputs("{\n  \"trace\": ", f);
    json_str(f, r->trace);
    fputs(",\n  \"trace_name\": ", f);
    json_str(f, r->trace_name);
    fprintf(f, ",\n  \"seed\": %" PRIu64 ",\n  \"jobs\": %zu,\n  \"deterministic\": %s,\n  \"params\": {",
            r->seed, r->n_jobs, (flags & SIM_REPORT_DETERMINISTIC) ? "true" : "false");
    for (size_t i = 0; i < r->n_params; i++) {
        fputs(i ? ",\n    " : "\n    ", f);
        json_str(f, r->params[i].key);
        fputs(": ", f);
        json_str(f, r->params[i].value);
    }
    fputs(r->n_params ? "\n  },\n  \"policies\": [" : "},\n  \"policies\": [", f);
    for (size_t i = 0; i < r->n_policies; i++) {
        const sim_policy_result *p = &r->policies[i];
        fputs(i ? ",\n    {\n      \"name\": " : "\n    {\n      \"name\": ", f);
        json_str(f, p->name);
        fputs(",\n      \"description\": ", f);
        json_str(f, p->description);
        fprintf(f, ",\n      \"optimal\": %s,\n      \"gap_to_optimal\": ", p->optimal ? "true" : "false");
        double g_pts, g_bytes, g_jct;
        if (report_gap_to_optimal(r, i, &g_pts, &g_bytes, &g_jct) == 0) {
            fputs("{\"node_local_points\": ", f);
            json_num(f, g_pts);
            fputs(", \"off_node_read_bytes\": ", f);
            json_num(f, g_bytes);
            fputs(", \"mean_jct_pct\": ", f);
            json_num(f, g_jct);
            fputc('}', f);
        } else {
            fputs("null", f);
        }
        char b[40];
        for (size_t k = 0; k < report_n_metrics; k++) {
            if (report_metrics[k].cost)
                continue;
            report_metric_value(&report_metrics[k], p, b, sizeof b);
            fprintf(f, ",\n      \"%s\": %s", report_metrics[k].key, b[0] ? b : "null");
        }
        fputs(",\n      \"series_bucket_s\": ", f);
        json_num(f, p->series_bucket_s);
        json_series(f, "series_network_bytes", p->series_network_bytes, p->n_series);
        json_series(f, "series_utilisation", p->series_utilisation, p->n_series);
        if (!(flags & SIM_REPORT_DETERMINISTIC)) {
            fputs(",\n      \"cost\": {", f);
            int first = 1;
            for (size_t k = 0; k < report_n_metrics; k++) {
                if (!report_metrics[k].cost)
                    continue;
                report_metric_value(&report_metrics[k], p, b, sizeof b);
                fprintf(f, "%s\"%s\": %s", first ? "\n        " : ",\n        ",
                        report_metrics[k].key, b[0] ? b : "null");
                first = 0;
            }
            fputs("\n      }", f);
        }
        fputs("\n    }", f);
    }
    fputs(r->n_policies ? "\n  ]\n}\n" : "]\n}\n", f);
    return report_close(f, path, err, errlen);
}
