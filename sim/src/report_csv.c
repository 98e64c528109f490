/* The report as CSV (RFC 4180 quoting, LF line ends) for spreadsheets: a
 * header row, then one row per policy with its name, description and every metric of the shared
 * metric table in the JSON's order; the host-clock columns are left out when
 * deterministic. A non-finite real is an empty field.
 */
#include <string.h>

#include "locus/error.h"
#include "report_fmt.h"

static void csv_field(FILE *f, const char *s)
{
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int sim_report_write_csv(const sim_report *r, const char *path, unsigned flags, char *err,
                         size_t errlen)
{
    if (!r || !path) {
        snprintf(err, errlen, "%s: no report to write", path ? path : "report.csv");
        return LOCUS_EINVAL;
    }
    FILE *f = report_open(path, err, errlen);
    if (!f)
        return LOCUS_EIO;
    int skip_cost = (flags & SIM_REPORT_DETERMINISTIC) != 0;
    fputs("policy,description", f);
    for (size_t k = 0; k < report_n_metrics; k++)
        if (!(skip_cost && report_metrics[k].cost))
            fprintf(f, ",%s", report_metrics[k].key);
    fputs("\n", f);
    for (size_t i = 0; i < r->n_policies; i++) {
        const sim_policy_result *p = &r->policies[i];
        csv_field(f, p->name);
        fputc(',', f);
        csv_field(f, p->description);
        for (size_t k = 0; k < report_n_metrics; k++) {
            if (skip_cost && report_metrics[k].cost)
                continue;
            char b[40];
            report_metric_value(&report_metrics[k], p, b, sizeof b);
            fprintf(f, ",%s", b);
        }
        fputs("\n", f);
    }
    return report_close(f, path, err, errlen);
}
