/* Report writers on a hand-built report: the JSON parses (jansson) and holds
 * the values, the CSV has the columns and rows, the table shows the figures,
 * the HTML page references PNGs that exist (when gnuplot is on PATH) and
 * still renders without gnuplot, names with quotes and markup are escaped,
 * the deterministic flag drops the host-clock figures, and writing twice
 * gives the same bytes. sim_report_free releases the heap-built report
 * (LeakSanitizer checks it in the sanitized build). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "locus/error.h"
#include "report.h"
#include "report_fmt.h"
#include "testutil.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmpdir, sizeof tmpdir, "simio");
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_r(tmpdir);
    return 0;
}

static double *series(size_t n, double scale)
{
    double *v = malloc(n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = scale * (double)((i * 7) % 11);
    return v;
}

/* Three policies with distinct, known figures; third_name lets a test use
 * a name that needs escaping. */
static sim_report *make_report(const char *third_name)
{
    sim_report *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->trace = strdup("traces/FB-2009_samples_24_times_1hr_0.tsv");
    r->trace_name = strdup("FB-2009_samples_24_times_1hr_0.tsv");
    r->seed = 42;
    r->n_jobs = 5894;
    r->n_params = 3;
    r->params = calloc(3, sizeof *r->params);
    r->params[0].key = "agents";
    r->params[0].value = strdup("600");
    r->params[1].key = "racks";
    r->params[1].value = strdup("20");
    r->params[2].key = "block_bytes";
    r->params[2].value = strdup("134217728");
    r->n_policies = 3;
    r->policies = calloc(3, sizeof *r->policies);
    const char *names[] = {"drf", "drf+delay", third_name};
    for (size_t i = 0; i < 3; i++) {
        sim_policy_result *p = &r->policies[i];
        p->name = strdup(names[i]);
        p->description = strdup(i == 2 ? "locality plugin; naive frameworks" : "drf allocator");
        p->tasks[SIM_LOCAL_NODE] = 100 * (i + 1);
        p->tasks[SIM_LOCAL_RACK] = 50;
        p->tasks[SIM_LOCAL_REMOTE] = 350 - 100 * i;
        p->read_bytes[SIM_LOCAL_NODE] = (uint64_t)(i + 1) << 30;
        p->read_bytes[SIM_LOCAL_RACK] = 1536;
        p->read_bytes[SIM_LOCAL_REMOTE] = (uint64_t)(3 - i) << 30;
        p->mem_hit_tasks = 10 * i;
        p->network_bytes = (uint64_t)(4 - i) * 1000000007ULL;
        p->uplink_bytes = (uint64_t)(3 - i) * 500000000ULL;
        p->tasks_total = 700;
        p->jobs_total = 5894;
        p->jobs_done = 5894 - i;
        p->jct_all = (sim_jct_stats){5894 - i, 40.5 - i, 12.25, 300.125, 1234.5 + i};
        p->jct_small = (sim_jct_stats){5000, 10.0, 8.0, 30.0, 60.0};
        p->jct_large = (sim_jct_stats){894 - i, 200.0, 150.0, 900.0, 2000.0};
        p->makespan_s = 86500.75;
        p->utilisation = 0.25 + 0.125 * (double)i;
        p->jain_fairness = 0.875;
        p->cycles = 86400;
        p->offers = 1000000 + i;
        p->fallback_cycles = i == 2 ? 12 : 0;
        p->n_jct = 50;
        p->jct_sorted = malloc(50 * sizeof(double));
        for (size_t k = 0; k < 50; k++)
            p->jct_sorted[k] = 1.0 + (double)k * (double)k * (double)(i + 1);
        p->series_bucket_s = 600;
        p->n_series = 145;
        p->series_network_bytes = series(145, 1e9 / (double)(i + 1));
        p->series_utilisation = series(145, 0.09);
        p->cost = (sim_run_cost){1.5 + i, 2000000, 1333333.3, 12e-6, 40e-6, 300u << 20, 1.25 + i};
    }
    return r;
}

static char *path_in(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void test_fmt_helpers(void **state)
{
    (void)state;
    char b[64];
    report_fmt_bytes(b, sizeof b, 0);
    assert_string_equal(b, "0 B");
    report_fmt_bytes(b, sizeof b, 1536);
    assert_string_equal(b, "1.5 KiB");
    report_fmt_bytes(b, sizeof b, 3ULL << 30);
    assert_string_equal(b, "3.0 GiB");
    report_fmt_bytes(b, sizeof b, (1ULL << 20) - 1);
    assert_string_equal(b, "1.0 MiB");
    report_fmt_count(b, sizeof b, 1234567);
    assert_string_equal(b, "1,234,567");
    report_fmt_count(b, sizeof b, 999);
    assert_string_equal(b, "999");
    report_fmt_fixed(b, sizeof b, -1234.56, 1);
    assert_string_equal(b, "-1,234.6");
    report_fmt_fixed(b, sizeof b, -0.01, 1);
    assert_string_equal(b, "0.0");
    report_fmt_fixed(b, sizeof b, 0.0 / 0.0, 1);
    assert_string_equal(b, "n/a");
    report_fmt_number(b, sizeof b, 0.3);
    assert_string_equal(b, "0.3");
    report_fmt_number(b, sizeof b, 0.1 + 0.2); /* exact: reads back as the same double */
    assert_string_equal(b, "0.30000000000000004");
    report_fmt_number(b, sizeof b, 5e9);
    assert_string_equal(b, "5000000000");
    report_fmt_number(b, sizeof b, 1.0 / 0.0);
    assert_string_equal(b, "");
    sim_report_free(NULL);
}

static void test_json(void **state)
{
    (void)state;
    sim_report *r = make_report("locality");
    char err[512];
    const char *path = path_in("report.json");
    assert_int_equal(sim_report_write_json(r, path, 0, err, sizeof err), 0);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        fail_msg("report.json does not parse: line %d: %s", je.line, je.text);
    assert_int_equal(json_integer_value(json_object_get(j, "seed")), 42);
    assert_int_equal(json_integer_value(json_object_get(j, "jobs")), 5894);
    assert_string_equal(json_string_value(json_object_get(j, "trace_name")), r->trace_name);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "params"), "racks")),
                        "20");
    json_t *ps = json_object_get(j, "policies");
    assert_int_equal(json_array_size(ps), 3);
    for (size_t i = 0; i < 3; i++) {
        const sim_policy_result *p = &r->policies[i];
        json_t *o = json_array_get(ps, i);
        assert_string_equal(json_string_value(json_object_get(o, "name")), p->name);
        assert_int_equal(json_integer_value(json_object_get(o, "network_bytes")), p->network_bytes);
        assert_int_equal(json_integer_value(json_object_get(o, "tasks_remote")),
                         p->tasks[SIM_LOCAL_REMOTE]);
        assert_int_equal(json_integer_value(json_object_get(o, "jct_all_jobs")), p->jct_all.jobs);
        assert_true(json_number_value(json_object_get(o, "jct_all_p99_s")) == p->jct_all.p99_s);
        assert_true(json_number_value(json_object_get(o, "utilisation")) == p->utilisation);
        json_t *s = json_object_get(o, "series_network_bytes");
        assert_int_equal(json_array_size(s), p->n_series);
        assert_true(json_number_value(json_array_get(s, 3)) == p->series_network_bytes[3]);
        json_t *c = json_object_get(o, "cost");
        assert_non_null(c);
        assert_true(json_number_value(json_object_get(c, "wall_s")) == p->cost.wall_s);
        assert_int_equal(json_integer_value(json_object_get(c, "peak_rss_bytes")),
                         p->cost.peak_rss_bytes);
    }
    json_decref(j);

    /* stable key order: as documented, whatever the values */
    char *text = tu_slurp(path, NULL);
    const char *order[] = {"\"trace\"", "\"trace_name\"", "\"seed\"", "\"jobs\"", "\"params\"",
                           "\"agents\"", "\"racks\"", "\"block_bytes\"", "\"policies\"",
                           "\"tasks_node\"", "\"read_bytes_node\"", "\"network_bytes\"",
                           "\"jct_all_mean_s\"", "\"makespan_s\"", "\"series_bucket_s\"", "\"cost\""};
    const char *at = text;
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        const char *hit = strstr(at, order[k]);
        if (!hit)
            fail_msg("key %s missing or out of order", order[k]);
        at = hit;
    }
    free(text);

    /* deterministic: no host-clock figures */
    assert_int_equal(sim_report_write_json(r, path, SIM_REPORT_DETERMINISTIC, err, sizeof err), 0);
    j = json_load_file(path, 0, &je);
    assert_non_null(j);
    assert_null(json_object_get(json_array_get(json_object_get(j, "policies"), 0), "cost"));
    assert_true(json_is_true(json_object_get(j, "deterministic")));
    json_decref(j);

    assert_int_equal(sim_report_write_json(r, path_in("no/such/dir/r.json"), 0, err, sizeof err),
                     LOCUS_EIO);
    assert_non_null(strstr(err, "no/such/dir/r.json"));
    sim_report_free(r);
}

/* Splits a CSV line (no quoted commas expected) into fields. */
static size_t csv_split(char *line, char **f, size_t max)
{
    size_t n = 0;
    for (char *s = line; n < max;) {
        f[n++] = s;
        char *c = strchr(s, ',');
        if (!c)
            break;
        *c = '\0';
        s = c + 1;
    }
    return n;
}

static void test_csv(void **state)
{
    (void)state;
    sim_report *r = make_report("locality");
    char err[512];
    const char *path = path_in("report.csv");
    assert_int_equal(sim_report_write_csv(r, path, 0, err, sizeof err), 0);
    char *text = tu_slurp(path, NULL);
    char *lines[8];
    size_t nl = 0;
    for (char *s = strtok(text, "\n"); s && nl < 8; s = strtok(NULL, "\n"))
        lines[nl++] = s;
    assert_int_equal(nl, 4);
    char *head[128], *row[128];
    size_t nh = csv_split(lines[0], head, 128);
    assert_string_equal(head[0], "policy");
    assert_string_equal(head[1], "description");
    int col_net = -1, col_wall = -1, col_p95 = -1;
    for (size_t k = 0; k < nh; k++) {
        if (!strcmp(head[k], "network_bytes"))
            col_net = (int)k;
        if (!strcmp(head[k], "wall_s"))
            col_wall = (int)k;
        if (!strcmp(head[k], "jct_large_p95_s"))
            col_p95 = (int)k;
    }
    assert_true(col_net > 0 && col_wall > 0 && col_p95 > 0);
    assert_int_equal(nh, 2 + report_n_metrics);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(csv_split(lines[1 + i], row, 128), nh);
        assert_string_equal(row[0], r->policies[i].name);
        assert_int_equal(strtoull(row[col_net], NULL, 10), r->policies[i].network_bytes);
        assert_true(strtod(row[col_p95], NULL) == r->policies[i].jct_large.p95_s);
        assert_true(strtod(row[col_wall], NULL) == r->policies[i].cost.wall_s);
    }
    free(text);

    assert_int_equal(sim_report_write_csv(r, path, SIM_REPORT_DETERMINISTIC, err, sizeof err), 0);
    text = tu_slurp(path, NULL);
    assert_null(strstr(text, "wall_s"));
    assert_null(strstr(text, "events_per_s"));
    assert_non_null(strstr(text, "jain_fairness"));
    free(text);
    sim_report_free(r);
}

static char *table_text(const sim_report *r, unsigned flags)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(sim_report_write_table(r, f, flags), 0);
    fclose(f);
    return buf;
}

static void test_table(void **state)
{
    (void)state;
    sim_report *r = make_report("locality");
    char *t = table_text(r, 0);
    /* locality: 300 node-local of 300+50+150 tasks = 60.0% */
    const char *want[] = {"drf+delay", "locality", "FB-2009_samples_24_times_1hr_0.tsv",
                          "5,894 jobs", "seed 42", "300 (60.0%)", "100 (20.0%)", "1.5 KiB",
                          "3.7 GiB", "1,234.5 s", "1,236.5 s", "86,500.8 s", "50.0%", "0.875",
                          "12 (0.0%)", "-50.0%", "1,000,002", "simulator wall time", "1,333,333",
                          "locality plugin; naive frameworks"};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (!strstr(t, want[k]))
            fail_msg("table lacks \"%s\":\n%s", want[k], t);
    free(t);
    t = table_text(r, SIM_REPORT_DETERMINISTIC);
    assert_null(strstr(t, "simulator wall time"));
    assert_null(strstr(t, "events per second"));
    assert_non_null(strstr(t, "300 (60.0%)"));
    free(t);
    sim_report_free(r);
}

static int file_nonempty(const char *dir, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 && st.st_size > 0;
}

static int gnuplot_on_path(void)
{
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : ""), *save = NULL;
    int found = 0;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char p[1024];
        snprintf(p, sizeof p, "%s/gnuplot", d);
        found = access(p, X_OK) == 0;
    }
    free(copy);
    return found;
}

static void test_html_with_plots(void **state)
{
    (void)state;
    sim_report *r = make_report("locality");
    char err[512], *html = NULL;
    const char *dir = strdup(path_in("html"));
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(sim_report_write_json(r, path_in("html/report.json"), 0, err, sizeof err), 0);
    assert_int_equal(sim_report_write_html(r, dir, 0, &html, err, sizeof err), 0);
    assert_non_null(html);
    assert_true(file_nonempty(dir, "index.html"));
    assert_non_null(strstr(html, "index.html"));
    char *page = tu_slurp(html, NULL);
    assert_non_null(strstr(page, "<table class=\"cmp\">"));
    assert_non_null(strstr(page, "300 (60.0%)"));
    assert_non_null(strstr(page, "block_bytes"));
    assert_null(strstr(page, "<script"));
    assert_non_null(strstr(page, "<a href=\"report.json\">"));
    assert_null(strstr(page, "report.csv")); /* not written, so not linked */
    assert_null(strstr(page, "http"));
    for (int k = 0; k < 4; k++) {
        static const char *const stems[] = {"jct_cdf", "locality", "network", "utilisation"};
        char n[64];
        snprintf(n, sizeof n, "%s.gp", stems[k]);
        assert_true(file_nonempty(dir, n));
        snprintf(n, sizeof n, "%s.dat", stems[k]);
        assert_true(file_nonempty(dir, n));
    }
    if (gnuplot_on_path()) {
        int imgs = 0;
        for (const char *s = strstr(page, "<img src=\""); s; s = strstr(s + 1, "<img src=\"")) {
            char name[128];
            const char *b = s + strlen("<img src=\""), *e = strchr(b, '"');
            assert_non_null(e);
            assert_true((size_t)(e - b) < sizeof name);
            memcpy(name, b, (size_t)(e - b));
            name[e - b] = '\0';
            assert_null(strchr(name, '/')); /* relative, inside the folder */
            if (!file_nonempty(dir, name))
                fail_msg("page references %s, which is missing", name);
            imgs++;
        }
        assert_int_equal(imgs, 4);
        assert_null(strstr(page, "class=\"note\""));
    } else {
        print_message("gnuplot not on PATH: checked the page without plots\n");
        assert_non_null(strstr(page, "gnuplot was not found"));
    }
    free(page);
    free(html);
    free((void *)dir);
    sim_report_free(r);
}

static void test_html_without_gnuplot(void **state)
{
    (void)state;
    sim_report *r = make_report("locality");
    char err[512], *html = NULL;
    char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
    char *empty = strdup(path_in("empty-bin"));
    assert_int_equal(mkdir(empty, 0755), 0);
    setenv("PATH", empty, 1);
    int rc = sim_report_write_html(r, path_in("nognuplot"), SIM_REPORT_DETERMINISTIC, &html, err,
                                   sizeof err);
    if (old)
        setenv("PATH", old, 1);
    free(old);
    free(empty);
    assert_int_equal(rc, 0);
    char *page = tu_slurp(html, NULL);
    assert_non_null(page);
    assert_non_null(strstr(page, "gnuplot was not found"));
    assert_null(strstr(page, "<img"));
    assert_non_null(strstr(page, "300 (60.0%)"));
    assert_null(strstr(page, "simulator wall time"));
    assert_true(file_nonempty(path_in("nognuplot"), "jct_cdf.gp"));
    free(page);
    free(html);
    sim_report_free(r);
}

static void test_escaping(void **state)
{
    (void)state;
    sim_report *r = make_report("it's \"<b>local</b>\", really");
    char err[512], *html = NULL;
    const char *jpath = strdup(path_in("esc.json"));
    assert_int_equal(sim_report_write_json(r, jpath, 0, err, sizeof err), 0);
    json_error_t je;
    json_t *j = json_load_file(jpath, 0, &je);
    assert_non_null(j);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "policies"), 2), "name")),
        r->policies[2].name);
    json_decref(j);
    free((void *)jpath);

    const char *cpath = strdup(path_in("esc.csv"));
    assert_int_equal(sim_report_write_csv(r, cpath, 0, err, sizeof err), 0);
    char *csv = tu_slurp(cpath, NULL);
    assert_non_null(strstr(csv, "\n\"it's \"\"<b>local</b>\"\", really\",locality plugin;"));
    free(csv);
    free((void *)cpath);

    assert_int_equal(sim_report_write_html(r, path_in("esc"), 0, &html, err, sizeof err), 0);
    char *page = tu_slurp(html, NULL);
    assert_null(strstr(page, "<b>local"));
    assert_non_null(strstr(page, "it&#39;s &quot;&lt;b&gt;local&lt;/b&gt;&quot;, really"));
    char *gp = tu_slurp(path_in("esc/jct_cdf.gp"), NULL);
    assert_non_null(strstr(gp, "'it''s \"<b>local</b>\", really'"));
    free(gp);
    free(page);
    free(html);
    sim_report_free(r);
}

static void test_deterministic_bytes(void **state)
{
    (void)state;
    sim_report *r = make_report("locality");
    char err[512];
    char *a_html = NULL, *b_html = NULL;
    static const char *const names[2][3] = {{"a.json", "a.csv", "a-html"},
                                            {"b.json", "b.csv", "b-html"}};
    for (int k = 0; k < 2; k++) {
        char *p = strdup(path_in(names[k][0]));
        assert_int_equal(sim_report_write_json(r, p, SIM_REPORT_DETERMINISTIC, err, sizeof err), 0);
        free(p);
        p = strdup(path_in(names[k][1]));
        assert_int_equal(sim_report_write_csv(r, p, SIM_REPORT_DETERMINISTIC, err, sizeof err), 0);
        free(p);
        assert_int_equal(sim_report_write_html(r, path_in(names[k][2]), SIM_REPORT_DETERMINISTIC,
                                               k ? &b_html : &a_html, err, sizeof err),
                         0);
    }
    const char *pairs[][2] = {{"a.json", "b.json"}, {"a.csv", "b.csv"},
                              {"a-html/index.html", "b-html/index.html"},
                              {"a-html/jct_cdf.dat", "b-html/jct_cdf.dat"},
                              {"a-html/network.gp", "b-html/network.gp"}};
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        size_t la, lb;
        char *x = tu_slurp(path_in(pairs[k][0]), &la);
        char *y = tu_slurp(path_in(pairs[k][1]), &lb);
        assert_non_null(x);
        assert_non_null(y);
        assert_int_equal(la, lb);
        assert_memory_equal(x, y, la);
        free(x);
        free(y);
    }
    char *t1 = table_text(r, SIM_REPORT_DETERMINISTIC), *t2 = table_text(r, SIM_REPORT_DETERMINISTIC);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    /* and a changed figure changes the bytes */
    r->policies[1].network_bytes++;
    char *p = strdup(path_in("b.json"));
    assert_int_equal(sim_report_write_json(r, p, SIM_REPORT_DETERMINISTIC, err, sizeof err), 0);
    free(p);
    char *x = tu_slurp(path_in("a.json"), NULL), *y = tu_slurp(path_in("b.json"), NULL);
    assert_string_not_equal(x, y);
    free(x);
    free(y);
    free(a_html);
    free(b_html);
    sim_report_free(r);
}

/* A report with no policies and no strings still gives valid outputs. */
static void test_empty_report(void **state)
{
    (void)state;
    sim_report *r = calloc(1, sizeof *r);
    assert_non_null(r);
    char err[512], *html = NULL;
    char *jp = strdup(path_in("e.json")), *cp = strdup(path_in("e.csv"));
    assert_int_equal(sim_report_write_json(r, jp, 0, err, sizeof err), 0);
    json_error_t je;
    json_t *j = json_load_file(jp, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "policies")), 0);
    json_decref(j);
    assert_int_equal(sim_report_write_csv(r, cp, 0, err, sizeof err), 0);
    char *csv = tu_slurp(cp, NULL);
    assert_non_null(csv);
    assert_memory_equal(csv, "policy,description,", 19);
    assert_int_equal(strchr(csv, '\n') - csv + 1, (long)strlen(csv)); /* header only */
    free(csv);
    char *t = table_text(r, 0);
    assert_non_null(strstr(t, "Map tasks"));
    free(t);
    assert_int_equal(sim_report_write_html(r, path_in("e-html"), 0, &html, err, sizeof err), 0);
    assert_non_null(html);
    free(html);
    free(jp);
    free(cp);
    sim_report_free(r);
}

/* A trace file name is bytes, not UTF-8: a lone UTF-16 surrogate, an
 * overlong form, a code point above U+10FFFF and a cut-off sequence each
 * become U+FFFD per byte, valid characters stay, and report.json parses. */
static void test_invalid_utf8_name(void **state)
{
    (void)state;
    sim_report *r = make_report("locality");
    free(r->trace_name);
    free(r->trace);
    r->trace_name = strdup("a\xed\xa0\x80" "b\xc0\xaf" "c\xf4\x90\x80\x80" "d\xc3\xa9" "e\xe2\x82");
    r->trace = strdup("traces/\xed\xb0\x80.tsv");
    char err[512];
    const char *path = strdup(path_in("utf8.json"));
    assert_int_equal(sim_report_write_json(r, path, 0, err, sizeof err), 0);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j)
        fail_msg("report.json with an invalid UTF-8 name does not parse: line %d: %s", je.line, je.text);
#define FFFD "\xef\xbf\xbd"
    assert_string_equal(json_string_value(json_object_get(j, "trace_name")),
                        "a" FFFD FFFD FFFD "b" FFFD FFFD "c" FFFD FFFD FFFD FFFD "d\xc3\xa9" "e" FFFD FFFD);
    assert_string_equal(json_string_value(json_object_get(j, "trace")), "traces/" FFFD FFFD FFFD ".tsv");
#undef FFFD
    json_decref(j);
    free((void *)path);
    sim_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_helpers),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
        cmocka_unit_test(test_table),
        cmocka_unit_test_setup_teardown(test_html_with_plots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_html_without_gnuplot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deterministic_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_report, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
