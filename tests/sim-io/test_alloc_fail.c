/* Allocation-failure injection, as SQLite and hiredis test it: the k-th
 * malloc/calloc/realloc made by the trace loaders and report writers fails,
 * for k = 1, 2, ... until a run makes no k-th allocation; every run must end
 * in success or LOCUS_ENOMEM with a message, never a crash, and (under
 * LeakSanitizer) leak nothing. The calls are intercepted with the linker's
 * --wrap, so only allocations made by Locus code are failed, not libc's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "locus/error.h"
#include "report.h"
#include "trace.h"
#include "trace_parse.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

static long fail_at = 0; /* 0: never */
static long calls = 0;

static int should_fail(void)
{
    return fail_at && ++calls == fail_at;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    return should_fail() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

/* Runs op with the k-th allocation failing, for every k it reaches. */
static void sweep(int (*op)(char *err, size_t errlen), const char *what)
{
    long k;
    for (k = 1; k < 100000; k++) {
        char err[512] = "";
        fail_at = k;
        calls = 0;
        int rc = op(err, sizeof err);
        long made = calls;
        fail_at = 0;
        if (rc != 0 && rc != LOCUS_ENOMEM)
            fail_msg("%s: allocation %ld failed: rc %d (%s)", what, k, rc, err);
        if (rc == LOCUS_ENOMEM && err[0] == '\0')
            fail_msg("%s: allocation %ld failed without a message", what, k);
        if (made < k) /* no k-th allocation: every failure point was tried */
            break;
    }
    print_message("%s: %ld allocation failure points survived\n", what, k - 1);
    assert_true(k > 3);
}

static const char swim_text[] = "job0\t1\t1\t100\t5\t6\tinputPath1\t\t\n"
                                "job1\t2\t1\t0\t5\t6\tinputPath2\t\t\n"
                                "job2\t3\t1\t300\t5\t6\n";

static int load_swim(char *err, size_t errlen)
{
    sim_trace *t = NULL;
    int rc = sim_trace_load_mem(swim_text, sizeof swim_text - 1, "m.tsv", NULL, &t, err, errlen);
    if (rc == 0 && (!t || t->n_jobs != 3))
        return LOCUS_EINVAL;
    sim_trace_free(t);
    return rc;
}

static int load_binary(char *err, size_t errlen)
{
    /* build the binary form with failures off, then load it with them on */
    long saved = fail_at;
    fail_at = 0;
    sim_trace *t = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc = sim_trace_load_mem(swim_text, sizeof swim_text - 1, "m.tsv", NULL, &t, err, errlen);
    if (rc == 0)
        rc = sim_trace_write_binary_stream(t, f, "m.ltrace", err, errlen);
    fclose(f);
    sim_trace_free(t);
    t = NULL;
    fail_at = saved;
    calls = 0;
    if (rc == 0)
        rc = sim_trace_load_mem(buf, len, "m.ltrace", NULL, &t, err, errlen);
    if (rc == 0 && (!t || t->n_jobs != 3 || t->format != SIM_TRACE_BINARY))
        rc = LOCUS_EINVAL;
    sim_trace_free(t);
    free(buf);
    return rc;
}

static int write_binary(char *err, size_t errlen)
{
    long saved = fail_at;
    fail_at = 0;
    sim_trace *t = NULL;
    int rc = sim_trace_load_mem(swim_text, sizeof swim_text - 1, "m.tsv", NULL, &t, err, errlen);
    fail_at = saved;
    calls = 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (rc == 0)
        rc = sim_trace_write_binary_stream(t, f, "m.ltrace", err, errlen);
    fclose(f);
    free(buf);
    fail_at = 0;
    sim_trace_free(t);
    return rc;
}

static int table(char *err, size_t errlen)
{
    long saved = fail_at;
    fail_at = 0;
    sim_report r = {0};
    sim_policy_result p[2] = {{0}};
    p[0].name = (char *)"drf";
    p[1].name = (char *)"locality";
    p[0].tasks[0] = 5;
    p[1].network_bytes = 1 << 20;
    r.policies = p;
    r.n_policies = 2;
    r.trace_name = (char *)"t.tsv";
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fail_at = saved;
    calls = 0;
    int rc = sim_report_write_table(&r, f, 0);
    fail_at = 0;
    fclose(f);
    free(buf);
    if (rc == LOCUS_ENOMEM)
        snprintf(err, errlen, "table: out of memory");
    return rc;
}

static void test_swim(void **state)
{
    (void)state;
    sweep(load_swim, "SWIM loader");
}

static void test_binary(void **state)
{
    (void)state;
    sweep(load_binary, "binary loader");
    sweep(write_binary, "binary writer");
}

static void test_table(void **state)
{
    (void)state;
    sweep(table, "text table");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swim),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
