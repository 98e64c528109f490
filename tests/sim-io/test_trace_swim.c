/* SWIM trace loader: good FB-2009 and FB-2010 files field by field, CRLF and
 * trailing blank lines, load limits, format detection, the shipped FB-2009
 * trace, and every kind of malformed line with its exact file:line message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "locus/error.h"
#include "simio_util.h"
#include "testutil.h"
#include "trace.h"
#include "trace_parse.h"

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

/* Writes text to tmpdir/name and loads it. */
static int load_text(const char *name, const char *text, size_t len, const sim_trace_load_opts *o,
                     sim_trace **t, char *path, char *err)
{
    assert_int_equal(simio_write(tmpdir, name, text, len, path, 512), 0);
    err[0] = '\0';
    return sim_trace_load(path, o, t, err, 512);
}
#define LOAD(name, text, o, t, path, err) load_text(name, text, strlen(text), o, t, path, err)

static void test_fb2009_lines(void **state)
{
    (void)state;
    char path[512], err[512];
    sim_trace *t = NULL;
    const char *text = "job0\t49\t49\t740773\t2339561\t627471\n"
                       "job1\t101\t52\t736346\t1700537\t432269\n"
                       "job2\t101\t0\t0\t594312\t233549\n";
    assert_int_equal(LOAD("fb09.tsv", text, NULL, &t, path, err), 0);
    assert_non_null(t);
    assert_int_equal(t->n_jobs, 3);
    assert_int_equal(t->format, SIM_TRACE_SWIM);
    assert_string_equal(t->source, path);
    assert_int_equal(t->default_block_bytes, 0);
    const sim_job *j = &t->jobs[0];
    assert_string_equal(j->id, "job0");
    assert_true(j->submit_s == 49.0);
    assert_string_equal(j->role, "*");
    assert_null(j->framework);
    assert_int_equal(j->n_inputs, 1);
    assert_string_equal(j->inputs[0].name, "job0.input");
    assert_int_equal(j->inputs[0].bytes, 740773);
    assert_int_equal(j->inputs[0].block_bytes, 0);
    assert_int_equal(j->shuffle_bytes, 2339561);
    assert_int_equal(j->output_bytes, 627471);
    assert_int_equal(j->map_tasks, 0);
    assert_int_equal(j->reduce_tasks, 0);
    assert_true(j->map_compute_s < 0 && j->reduce_compute_s < 0);
    assert_string_equal(t->jobs[1].inputs[0].name, "job1.input");
    assert_true(t->jobs[1].submit_s == 101.0);
    /* no input bytes: no map input at all */
    assert_int_equal(t->jobs[2].n_inputs, 0);
    assert_null(t->jobs[2].inputs);
    assert_int_equal(t->jobs[2].shuffle_bytes, 594312);
    sim_trace_free(t);
}

static void test_fb2010_paths_crlf_trailing_blank(void **state)
{
    (void)state;
    char path[512], err[512];
    sim_trace *t = NULL;
    const char *text = "job0\t1\t1\t2267942\t0\t1937944\tinputPath1\t\t\r\n"
                       "job1\t2\t1\t20791551476\t12295202125\t1491950225\tinputPath2\r\n"
                       "job2\t2.5\t0.5\t90015105\t110986156\t2783997\tinputPath1\t\t\r\n"
                       "job3\t3\t0\t5\t0\t0\t\t\t\r\n"
                       "\r\n"
                       "\n";
    assert_int_equal(LOAD("fb10.tsv", text, NULL, &t, path, err), 0);
    assert_int_equal(t->n_jobs, 4);
    assert_string_equal(t->jobs[0].inputs[0].name, "inputPath1");
    assert_string_equal(t->jobs[1].inputs[0].name, "inputPath2");
    assert_int_equal(t->jobs[1].inputs[0].bytes, 20791551476ULL);
    assert_int_equal(t->jobs[1].shuffle_bytes, 12295202125ULL);
    assert_string_equal(t->jobs[2].inputs[0].name, "inputPath1");
    assert_true(t->jobs[2].submit_s == 2.5);
    /* an empty path column: the job's own dataset */
    assert_string_equal(t->jobs[3].inputs[0].name, "job3.input");
    sim_trace_free(t);

    /* no newline after the last line */
    assert_int_equal(LOAD("nonl.tsv", "a\t0\t0\t1\t2\t3", NULL, &t, path, err), 0);
    assert_int_equal(t->n_jobs, 1);
    assert_int_equal(t->jobs[0].output_bytes, 3);
    sim_trace_free(t);
}

/* Loads text as tmpdir/name with o and checks it holds exactly the jobs
 * ids (space separated), in order. */
static void expect_jobs(const char *name, const char *text, const sim_trace_load_opts *o,
                        const char *ids)
{
    char path[512], err[512], got[256] = "";
    sim_trace *t = NULL;
    assert_int_equal(LOAD(name, text, o, &t, path, err), 0);
    for (size_t i = 0; i < t->n_jobs; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "", t->jobs[i].id);
    assert_string_equal(got, ids);
    sim_trace_free(t);
}

static void test_limits(void **state)
{
    (void)state;
    char path[512], err[512];
    sim_trace *t = NULL;
    const char *text = "j0\t0\t0\t1\t0\t0\nj1\t10\t10\t1\t0\t0\nj2\t20\t10\t1\t0\t0\n"
                       "j3\t30\t10\t1\t0\t0\n";
    sim_trace_load_opts o = {.format = SIM_TRACE_AUTO, .max_jobs = 2};
    expect_jobs("lim.tsv", text, &o, "j0 j1");
    o.max_jobs = 0;
    o.max_submit_s = 20;
    expect_jobs("lim.tsv", text, &o, "j0 j1 j2");
    /* the limit counts from the first job: a trace that starts late keeps
     * its first jobs */
    o.max_submit_s = 10;
    const char *late = "j0\t43200\t5\t1\t0\t0\nj1\t43205\t5\t1\t0\t0\nj2\t43211\t5\t1\t0\t0\n";
    expect_jobs("late.tsv", late, &o, "j0 j1");
    /* skip: the jobs less than 20 s after the file's first job are left
     * out; the max then counts from the first job kept (a window) */
    o.max_submit_s = 0;
    o.skip_submit_s = 20;
    expect_jobs("lim.tsv", text, &o, "j2 j3");
    o.skip_submit_s = 10;
    o.max_submit_s = 10;
    expect_jobs("lim.tsv", text, &o, "j1 j2");
    o.max_submit_s = 0;
    o.skip_submit_s = 5;
    expect_jobs("late.tsv", late, &o, "j1 j2"); /* 43205 - 43200 >= 5 */
    /* past the end: an error that says why nothing is left */
    o.skip_submit_s = 3600;
    assert_int_equal(LOAD("lim.tsv", text, &o, &t, path, err), LOCUS_EINVAL);
    assert_null(t);
    assert_non_null(strstr(err, "lim.tsv: no job left after skipping the first 3600 s"));
    assert_non_null(strstr(err, "its last job is 30 s after its first"));
    /* skipped lines are still checked: an earlier submit time among them
     * is the same error at the same line */
    o.skip_submit_s = 100;
    const char *disorder = "j0\t10\t0\t1\t0\t0\nj1\t5\t0\t1\t0\t0\nj2\t200\t0\t1\t0\t0\n";
    assert_int_equal(LOAD("order.tsv", disorder, &o, &t, path, err), LOCUS_EPARSE);
    assert_null(t);
    assert_non_null(strstr(err, "order.tsv:2:"));
    assert_non_null(strstr(err, "earlier than the previous job's 10"));
}

static void test_detection_and_forced_format(void **state)
{
    (void)state;
    char path[512], err[512];
    sim_trace *t = NULL;
    const char *text = "job0\t1\t1\t10\t0\t0\n";
    assert_int_equal(sim_trace_detect((const unsigned char *)text, strlen(text)), SIM_TRACE_SWIM);
    sim_trace_load_opts o = {.format = SIM_TRACE_BINARY};
    assert_int_equal(LOAD("forced.tsv", text, &o, &t, path, err), LOCUS_EPARSE);
    assert_null(t);
    char want[600];
    snprintf(want, sizeof want, "%s: record 1 at byte offset 0: ", path);
    assert_memory_equal(err, want, strlen(want));
    o.format = SIM_TRACE_SWIM;
    assert_int_equal(LOAD("forced.tsv", text, &o, &t, path, err), 0);
    assert_int_equal(t->n_jobs, 1);
    sim_trace_free(t);
}

static void test_missing_file(void **state)
{
    (void)state;
    char path[600], err[512];
    sim_trace *t = (sim_trace *)&path; /* must be reset to NULL */
    snprintf(path, sizeof path, "%s/nope.tsv", tmpdir);
    assert_int_equal(sim_trace_load(path, NULL, &t, err, sizeof err), LOCUS_EIO);
    assert_null(t);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));
}

static void test_shipped_fb2009(void **state)
{
    (void)state;
    char err[512];
    sim_trace *t = NULL;
    assert_int_equal(sim_trace_load(SIMIO_FB2009, NULL, &t, err, sizeof err), 0);
    assert_int_equal(t->n_jobs, 5894);
    assert_string_equal(t->jobs[0].id, "job0");
    assert_true(t->jobs[0].submit_s == 49.0);
    assert_int_equal(t->jobs[0].inputs[0].bytes, 740773);
    for (size_t i = 1; i < t->n_jobs; i++)
        assert_true(t->jobs[i].submit_s >= t->jobs[i - 1].submit_s);
    assert_string_equal(t->jobs[5893].id, "job5893");
    assert_true(t->jobs[5893].submit_s == 86404.0);
    sim_trace_free(t);
}

static void test_shipped_fb2010(void **state)
{
    (void)state;
    char err[512];
    sim_trace *t = NULL;
    assert_int_equal(sim_trace_load(SIMIO_FB2010, NULL, &t, err, sizeof err), 0);
    assert_int_equal(t->n_jobs, 13483);
    assert_string_equal(t->jobs[0].inputs[0].name, "inputPath1");
    assert_int_equal(t->jobs[1].inputs[0].bytes, 20791551476ULL);
    size_t no_input = 0;
    for (size_t i = 0; i < t->n_jobs; i++) {
        no_input += t->jobs[i].n_inputs == 0;
        assert_true(t->jobs[i].submit_s < 43200);
        if (t->jobs[i].n_inputs)
            assert_memory_equal(t->jobs[i].inputs[0].name, "inputPath", 9);
    }
    assert_int_equal(no_input, 582);
    sim_trace_free(t);
    /* the first three hours */
    sim_trace_load_opts o = {.max_submit_s = 3 * 3600};
    assert_int_equal(sim_trace_load(SIMIO_FB2010, &o, &t, err, sizeof err), 0);
    assert_true(t->n_jobs > 0 && t->n_jobs < 13483);
    assert_true(t->jobs[t->n_jobs - 1].submit_s <= 3 * 3600);
    sim_trace_free(t);
}

static void test_byte_order_mark(void **state)
{
    (void)state;
    char path[512], err[512];
    sim_trace *t = NULL;
    assert_int_equal(LOAD("bom.tsv", "\xef\xbb\xbfjob0\t1\t1\t10\t0\t0\n", NULL, &t, path, err), 0);
    assert_string_equal(t->jobs[0].id, "job0");
    sim_trace_free(t);
}

/* Malformed input and the exact message after "<path>". */
typedef struct bad_case {
    const char *text;
    size_t len; /* 0: strlen(text) */
    const char *msg;
} bad_case;

#define GOOD2 "job0\t1\t1\t10\t0\t0\njob1\t2\t1\t10\t0\t0\n"

static const bad_case bad_cases[] = {
    {GOOD2 "job2\t3\t1\tx\t0\t0\n", 0,
     ":3: column 4 (map input bytes): 'x' is not a non-negative integer"},
    {"job0\t1\t1\t-5\t0\t0\n", 0, ":1: column 4 (map input bytes): '-5' is not a non-negative integer"},
    {"job0\t1\t1\t99999999999999999999\t0\t0\n", 0,
     ":1: column 4 (map input bytes): '99999999999999999999' is too large for a 64-bit count"},
    {"job0\t1\t1\t1\t\t0\n", 0,
     ":1: column 5 (shuffle bytes): '' is empty, expected a non-negative integer"},
    {"job0\t1\t1\t1\t0\t1.5\n", 0,
     ":1: column 6 (reduce output bytes): '1.5' is not a non-negative integer"},
    {"job0\tabc\t1\t1\t0\t0\n", 0, ":1: column 2 (submit time): 'abc' is not a non-negative number"},
    {"job0\tinf\t1\t1\t0\t0\n", 0, ":1: column 2 (submit time): 'inf' is not a non-negative number"},
    {"job0\t0x10\t1\t1\t0\t0\n", 0, ":1: column 2 (submit time): '0x10' is not a non-negative number"},
    {"job0\t-1\t1\t1\t0\t0\n", 0, ":1: column 2 (submit time): '-1' is not a non-negative number"},
    {"job0\t1e999\t1\t1\t0\t0\n", 0, ":1: column 2 (submit time): '1e999' is out of range"},
    {"job0\t1\t1 \t1\t0\t0\n", 0,
     ":1: column 3 (gap to previous submit): '1 ' is not a non-negative number"},
    {"\t1\t1\t1\t0\t0\n", 0, ":1: column 1 (job id): '' is empty"},
    {"job0\t1\t1\t1\t0\t0\tpa\x01th\n", 0,
     ":1: column 7 (input path): 'pa\\x01th' holds a control character"},
    {GOOD2 "job2\t1\t0\t1\t0\t0\n", 0,
     ":3: column 2 (submit time): '1' is earlier than the previous job's 2 (submit times must not "
     "decrease)"},
    {GOOD2 "job0\t3\t1\t1\t0\t0\n", 0, ":3: column 1 (job id): 'job0' repeats the job id of line 1"},
    {"job0\t1\t1\t1\t0\n", 0,
     ":1: 5 tab-separated columns, expected 6 (FB-2009) or 7 to 9 (FB-2010 withInputPaths)"},
    {"job0 1 1 1 0 0\n", 0,
     ":1: 1 tab-separated column, expected 6 (FB-2009) or 7 to 9 (FB-2010 withInputPaths)"},
    {"job0\t1\t1\t1\t0\t0\tp\t\t\t\n", 0,
     ":1: more than 9 tab-separated columns (FB-2009 has 6, FB-2010 withInputPaths 7 to 9)"},
    {"job0\t1\t1\t1\t0\t0\tp\tx\t\n", 0, ":1: column 8 (unused): 'x' should be empty"},
    {GOOD2 "\n  \njob2\t3\t1\t1\t0\t0\n", 0,
     ":3: blank line inside the trace (only trailing blank lines are allowed)"},
    {"job0\t1\t1\t1\t0\x00\t0\n", 15, ":1: holds a NUL or carriage-return byte inside the line"},
    {"job0\t1\t1\t1\r\t0\t0\n", 0, ":1: holds a NUL or carriage-return byte inside the line"},
    {"\n\n", 0, ": no jobs (an empty SWIM trace)"},
    {"", 0, ": empty file, not a trace"},
};

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        char path[512], err[512], want[1024], name[32];
        sim_trace *t = (sim_trace *)&path;
        snprintf(name, sizeof name, "FB-%zu.tsv", i);
        sim_trace_load_opts o = {.format = SIM_TRACE_SWIM};
        int rc = load_text(name, c->text, c->len ? c->len : strlen(c->text), &o, &t, path, err);
        snprintf(want, sizeof want, "%s%s", path, c->msg);
        if (rc != LOCUS_EPARSE || strcmp(err, want) != 0)
            fail_msg("case %zu: rc %d\n got: %s\nwant: %s", i, rc, err, want);
        assert_null(t);
    }
}

static void test_line_too_long(void **state)
{
    (void)state;
    size_t n = 70000;
    char *text = malloc(n + 64);
    assert_non_null(text);
    strcpy(text, "job0\t1\t1\t1\t0\t0\nj");
    size_t o = strlen(text);
    memset(text + o, 'x', n);
    strcpy(text + o + n, "\t1\t1\t1\t0\t0\n");
    char path[512], err[512], want[600];
    sim_trace *t = NULL;
    int rc = LOAD("long.tsv", text, NULL, &t, path, err);
    free(text);
    assert_int_equal(rc, LOCUS_EPARSE);
    snprintf(want, sizeof want, "%s:2: line longer than 65535 bytes", path);
    assert_string_equal(err, want);
    assert_null(t);
}

static void test_quote(void **state)
{
    (void)state;
    char q[64];
    sim_trace_quote(q, sizeof q, "a\tb\\", 4);
    assert_string_equal(q, "'a\\x09b\\x5c'");
    char big[100];
    memset(big, 'z', sizeof big);
    sim_trace_quote(q, sizeof q, big, sizeof big);
    assert_true(strlen(q) < sizeof q);
    assert_non_null(strstr(q, "..."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fb2009_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fb2010_paths_crlf_trailing_blank, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detection_and_forced_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test(test_shipped_fb2009),
        cmocka_unit_test(test_shipped_fb2010),
        cmocka_unit_test_setup_teardown(test_byte_order_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_too_long, setup, teardown),
        cmocka_unit_test(test_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
