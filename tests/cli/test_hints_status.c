/* `locus-hints status` on a real store: blocks with known sizes and copies
 * are imported with `locus-hints import` into a store in a temporary folder
 * (named by LOCUS_HINT_STORE, as an operator would), then the JSON form is
 * checked field by field against what the input implies (bytes and percent
 * per tier, hosts, blocks, age), the table against the same figures in its
 * human-readable form, the one-dataset view for its host rows, and the exit
 * statuses for an absent dataset and a bad argument. */
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#ifndef LOCUS_HINTS_BIN
#error LOCUS_HINTS_BIN must name the locus-hints program
#endif

#define MIB (1024ULL * 1024ULL)

static char g_dir[512], g_store[600];

typedef struct result {
    int status;
    char *out, *err;
} result;

/* Runs locus-hints with LOCUS_HINT_STORE set to the test's store and stdin
 * from in_path (or /dev/null). */
static result run(const char *in_path, ...)
{
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)LOCUS_HINTS_BIN;
    va_list ap;
    va_start(ap, in_path);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 15)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    char out_path[700], err_path[700];
    snprintf(out_path, sizeof out_path, "%s/out", g_dir);
    snprintf(err_path, sizeof err_path, "%s/err", g_dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int i = open(in_path ? in_path : "/dev/null", O_RDONLY);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (i < 0 || o < 0 || e < 0)
            _exit(127);
        dup2(i, 0);
        dup2(o, 1);
        dup2(e, 2);
        setenv("LOCUS_HINT_STORE", g_store, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    result r = {.status = tu_wait(pid, 60)};
    r.out = tu_slurp(out_path, NULL);
    r.err = tu_slurp(err_path, NULL);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

static void result_free(result *r)
{
    free(r->out);
    free(r->err);
}

/* Dataset "logs" (4 blocks of 1 MiB): block 0 in memory on h1 and on disk on
 * h2, block 1 in memory on h1, block 2 on SSD on h3, block 3 nowhere.
 * Dataset "wide" (one 2 MiB block) on disk on three hosts: 300% of its size,
 * reported as 100. */
static const char input[] =
    "{\"dataset\":\"logs\",\"index\":0,\"bytes\":1048576,\"replicas\":"
    "[{\"host\":\"h1\",\"tier\":\"MEM\"},{\"host\":\"h2\",\"tier\":\"HDD\"}]}\n"
    "{\"dataset\":\"logs\",\"index\":1,\"bytes\":1048576,\"replicas\":[{\"host\":\"h1\",\"tier\":\"MEM\"}]}\n"
    "{\"dataset\":\"logs\",\"index\":2,\"bytes\":1048576,\"replicas\":[{\"host\":\"h3\",\"tier\":\"SSD\"}]}\n"
    "{\"dataset\":\"logs\",\"index\":3,\"bytes\":1048576,\"replicas\":[]}\n"
    "{\"dataset\":\"wide\",\"index\":0,\"bytes\":2097152,\"replicas\":[{\"host\":\"h1\",\"tier\":\"HDD\"},"
    "{\"host\":\"h2\",\"tier\":\"HDD\"},{\"host\":\"h3\",\"tier\":\"HDD\"}]}\n"
    "{\"bind\":\"h1\",\"agent_hostname\":\"agent-one\",\"agent_id\":\"S1\"}\n";

static int setup(void **state)
{
    (void)state;
    if (tu_mkdtemp(g_dir, sizeof g_dir, "hints-status") != 0)
        return -1;
    snprintf(g_store, sizeof g_store, "%s/store", g_dir);
    char in[700];
    snprintf(in, sizeof in, "%s/in.jsonl", g_dir);
    if (tu_write_file(in, input) != 0)
        return -1;
    result r = run(in, "import", "--backend", "static", "-", NULL);
    int rc = r.status;
    result_free(&r);
    return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_r(g_dir);
    return 0;
}

static json_t *parse_line(const char *line)
{
    json_error_t e;
    json_t *j = json_loads(line, 0, &e);
    if (!j)
        fail_msg("not JSON (%s): %s", e.text, line);
    return j;
}

static void assert_tier(json_t *d, const char *tier, uint64_t bytes, double percent)
{
    json_t *t = json_object_get(json_object_get(d, "cached"), tier);
    assert_non_null(t);
    assert_int_equal(json_integer_value(json_object_get(t, "bytes")), bytes);
    double got = json_real_value(json_object_get(t, "percent"));
    if (fabs(got - percent) > 1e-9)
        fail_msg("%s percent %g, expected %g", tier, got, percent);
}

static void test_status_json_lines(void **state)
{
    (void)state;
    result r = run(NULL, "status", "--json", NULL);
    assert_int_equal(r.status, 0);
    char *second = strchr(r.out, '\n');
    assert_non_null(second);
    *second++ = '\0';
    json_t *logs = parse_line(r.out), *wide = parse_line(second);
    assert_string_equal(json_string_value(json_object_get(logs, "name")), "logs");
    assert_int_equal(json_integer_value(json_object_get(logs, "total_bytes")), 4 * MIB);
    assert_int_equal(json_integer_value(json_object_get(logs, "block_count")), 4);
    assert_int_equal(json_integer_value(json_object_get(logs, "hosts")), 3);
    assert_tier(logs, "MEM", 2 * MIB, 50.0);
    assert_tier(logs, "SSD", 1 * MIB, 25.0);
    assert_tier(logs, "HDD", 1 * MIB, 25.0);
    double age = json_real_value(json_object_get(logs, "age_seconds"));
    assert_true(age >= 0 && age < 60);
    assert_string_equal(json_string_value(json_object_get(wide, "name")), "wide");
    assert_int_equal(json_integer_value(json_object_get(wide, "hosts")), 3);
    assert_tier(wide, "HDD", 6 * MIB, 100.0); /* three copies: capped */
    assert_tier(wide, "MEM", 0, 0.0);
    json_decref(logs);
    json_decref(wide);
    result_free(&r);
}

/* The table row of a dataset: whitespace-separated columns. */
static void assert_row(const char *out, const char *name, const char *const *cols, size_t n)
{
    char want[512] = "";
    for (size_t i = 0; i < n; i++) {
        strcat(want, i ? " " : "");
        strcat(want, cols[i]);
    }
    const char *p = out;
    while (p && *p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char line[512], squeezed[512];
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        size_t k = 0;
        for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " "))
            k += (size_t)snprintf(squeezed + k, sizeof squeezed - k, "%s%s", k ? " " : "", tok);
        squeezed[k] = '\0';
        if (strncmp(squeezed, name, strlen(name)) == 0 && squeezed[strlen(name)] == ' ') {
            if (strcmp(squeezed + strlen(name) + 1, want) != 0)
                fail_msg("row of %s is '%s', expected '%s'", name, squeezed, want);
            return;
        }
        p = end ? end + 1 : NULL;
    }
    fail_msg("no row for %s in:\n%s", name, out);
}

static void test_status_table(void **state)
{
    (void)state;
    result r = run(NULL, "status", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, g_store));
    assert_non_null(strstr(r.out, "2 dataset(s), 5 block(s), 3 storage host(s), 1 binding(s)"));
    static const char *const logs[] = {"4.0", "MiB", "4", "50.0%", "25.0%", "25.0%", "3"};
    static const char *const wide[] = {"2.0", "MiB", "1", "0.0%", "0.0%", "100.0%", "3"};
    /* the age column (last) is checked apart: it moves with the clock */
    assert_row(r.out, "BACKEND", (const char *const[]){"LAST", "SUCCESS", "FAILURES", "BLOCKS"}, 4);
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", r.out);
    /* drop the age column of every dataset row: the last token before '\n' */
    for (char *line = copy; line && *line;) {
        char *end = strchr(line, '\n');
        if ((strncmp(line, "logs ", 5) == 0 || strncmp(line, "wide ", 5) == 0) && end) {
            char *sp = end;
            while (sp > line && sp[-1] != ' ')
                sp--;
            if (!(sp[0] >= '0' && sp[0] <= '9' && (end[-1] == 's' || end[-1] == 'm')))
                fail_msg("age column of '%.*s' is not a duration", (int)(end - line), line);
            memset(sp, ' ', (size_t)(end - sp));
        }
        line = end ? end + 1 : NULL;
    }
    assert_row(copy, "logs", logs, 7);
    assert_row(copy, "wide", wide, 7);
    result_free(&r);
}

static void test_status_one_dataset(void **state)
{
    (void)state;
    result r = run(NULL, "status", "logs", NULL);
    assert_int_equal(r.status, 0);
    assert_null(strstr(r.out, "\nwide "));
    /* one row per host and tier; h1 is bound to an agent, the others are not */
    assert_row(r.out, "h1", (const char *const[]){"agent-one", "MEM", "2.0", "MiB", "50.0%"}, 5);
    assert_row(r.out, "h2", (const char *const[]){"h2", "HDD", "1.0", "MiB", "25.0%"}, 5);
    assert_row(r.out, "h3", (const char *const[]){"h3", "SSD", "1.0", "MiB", "25.0%"}, 5);
    result_free(&r);

    r = run(NULL, "status", "--json", "wide", NULL);
    assert_int_equal(r.status, 0);
    json_t *wide = parse_line(r.out);
    assert_int_equal(json_array_size(json_object_get(wide, "placement")), 3);
    assert_tier(wide, "HDD", 6 * MIB, 100.0);
    json_decref(wide);
    result_free(&r);
}

static void test_status_errors(void **state)
{
    (void)state;
    result r = run(NULL, "status", "absent", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "locus-hints: dataset 'absent' not found"));
    result_free(&r);
    r = run(NULL, "status", "--wide", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "locus-hints: status: unexpected '--wide'"));
    result_free(&r);
    r = run(NULL, "status", "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: locus-hints [--store PATH] status"));
    result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_json_lines),
        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_status_one_dataset),
        cmocka_unit_test(test_status_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
