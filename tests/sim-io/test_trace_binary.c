/* Binary traces: SWIM -> binary -> load gives the same jobs field for field
 * (on both shipped traces and on a trace using every optional field),
 * and every kind of damaged record is reported with its record number and
 * byte offset. Damaged files are built record by record with protobuf-c, so
 * the expected offsets are computed, not copied from the output. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "locus/error.h"
#include "locus_trace.pb-c.h"
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

static void assert_traces_equal(const sim_trace *a, const sim_trace *b)
{
    char why[200];
    if (sim_trace_diff(a, b, why, sizeof why))
        fail_msg("traces differ: %s", why);
}

/* The comparison itself must see a difference in any field. */
static void test_diff_sees_changes(void **state)
{
    (void)state;
    sim_trace *t = NULL, *u = NULL;
    char err[512], why[200];
    const char *text = "j0\t1\t1\t10\t20\t30\tp\n";
    assert_int_equal(sim_trace_load_mem(text, strlen(text), "a", NULL, &t, err, sizeof err), 0);
    assert_int_equal(sim_trace_load_mem(text, strlen(text), "b", NULL, &u, err, sizeof err), 0);
    assert_int_equal(sim_trace_diff(t, u, why, sizeof why), 0);
    u->jobs[0].inputs[0].bytes++;
    assert_int_equal(sim_trace_diff(t, u, why, sizeof why), 1);
    assert_string_equal(why, "job 0: input 0 bytes");
    u->jobs[0].inputs[0].bytes--;
    u->jobs[0].reduce_compute_s = 2;
    assert_int_equal(sim_trace_diff(t, u, why, sizeof why), 1);
    assert_string_equal(why, "job 0: reduce_compute_s");
    sim_trace_free(t);
    sim_trace_free(u);
}

static void round_trip_shipped(const char *trace)
{
    char err[512], bin[512];
    sim_trace *swim = NULL, *back = NULL;
    assert_int_equal(sim_trace_load(trace, NULL, &swim, err, sizeof err), 0);
    snprintf(bin, sizeof bin, "%s/fb09.ltrace", tmpdir);
    assert_int_equal(sim_trace_write_binary(swim, bin, err, sizeof err), 0);
    assert_int_equal(sim_trace_load(bin, NULL, &back, err, sizeof err), 0);
    assert_int_equal(back->format, SIM_TRACE_BINARY);
    assert_string_equal(back->source, bin);
    assert_traces_equal(swim, back);

    /* the same bytes again, and the same trace from memory */
    size_t len = 0;
    char *bytes = tu_slurp(bin, &len);
    assert_non_null(bytes);
    sim_trace *mem = NULL;
    assert_int_equal(sim_trace_load_mem(bytes, len, "mem", NULL, &mem, err, sizeof err), 0);
    assert_traces_equal(swim, mem);
    free(bytes);
    sim_trace_free(mem);

    /* a window (hours 1-2) is the same jobs from either format */
    sim_trace_load_opts w = {.max_submit_s = 3600, .skip_submit_s = 3600};
    sim_trace *ws = NULL, *wb = NULL;
    assert_int_equal(sim_trace_load(trace, &w, &ws, err, sizeof err), 0);
    assert_int_equal(sim_trace_load(bin, &w, &wb, err, sizeof err), 0);
    assert_traces_equal(ws, wb);
    assert_true(ws->n_jobs > 0 && ws->n_jobs < swim->n_jobs);
    assert_true(ws->jobs[0].submit_s - swim->jobs[0].submit_s >= 3600);
    assert_true(ws->jobs[ws->n_jobs - 1].submit_s - ws->jobs[0].submit_s <= 3600);
    sim_trace_free(ws);
    sim_trace_free(wb);
    sim_trace_free(swim);
    sim_trace_free(back);
}

static void test_round_trip_shipped(void **state)
{
    (void)state;
    round_trip_shipped(SIMIO_FB2009);
    round_trip_shipped(SIMIO_FB2010);
}

static void test_round_trip_all_fields(void **state)
{
    (void)state;
    sim_dataset_ref in1[] = {{(char *)"warehouse/clicks", 1u << 30, 256u << 20},
                             {(char *)"dim/users", 12345, 0}};
    sim_job jobs[] = {
        {(char *)"etl-1", 0.25, (char *)"analytics", (char *)"spark-7", in1, 2, 77, 88, 9, 3, 1.5,
         0.0},
        {(char *)"adhoc", 0.25, (char *)"*", NULL, NULL, 0, 0, 0, 0, 0, -1.0, -1.0},
    };
    sim_trace t = {jobs, 2, (char *)"hand-built", SIM_TRACE_BINARY, 128u << 20};
    char err[512], bin[512];
    snprintf(bin, sizeof bin, "%s/all.ltrace", tmpdir);
    assert_int_equal(sim_trace_write_binary(&t, bin, err, sizeof err), 0);
    sim_trace *back = NULL;
    assert_int_equal(sim_trace_load(bin, NULL, &back, err, sizeof err), 0);
    assert_traces_equal(&t, back);
    assert_int_equal(back->default_block_bytes, 128u << 20);
    sim_trace_free(back);

    /* unwritable destination */
    snprintf(bin, sizeof bin, "%s/no/such/dir.ltrace", tmpdir);
    assert_int_equal(sim_trace_write_binary(&t, bin, err, sizeof err), LOCUS_EIO);
    assert_non_null(strstr(err, bin));
}

/* A write that fails part-way leaves no partial trace behind (but never
 * removes something that is not a regular file, like /dev/full). */
static void test_failed_write(void **state)
{
    (void)state;
    char err[512], bin[512];
    sim_trace *t = NULL;
    assert_int_equal(sim_trace_load(SIMIO_FB2009, NULL, &t, err, sizeof err), 0);

    struct stat st;
    if (stat("/dev/full", &st) == 0) {
        assert_int_equal(sim_trace_write_binary(t, "/dev/full", err, sizeof err), LOCUS_EIO);
        assert_non_null(strstr(err, "/dev/full"));
        assert_int_equal(stat("/dev/full", &st), 0);
    }

    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 4096; /* the file may not grow past 4 KiB */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    snprintf(bin, sizeof bin, "%s/partial.ltrace", tmpdir);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = sim_trace_write_binary(t, bin, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    sim_trace_free(t);
    assert_int_equal(rc, LOCUS_EIO);
    assert_non_null(strstr(err, bin));
    assert_int_not_equal(stat(bin, &st), 0);
}

/* ---- damaged files, built record by record ---- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
    size_t rec_off[16]; /* offset of each record appended */
    size_t n_rec;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put_varint(buf *b, uint64_t v)
{
    unsigned char c[10];
    size_t n = 0;
    do {
        c[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put(b, c, n);
}

static void put_raw_record(buf *b, const void *d, size_t n)
{
    b->rec_off[b->n_rec++] = b->n;
    put_varint(b, n);
    put(b, d, n);
}

static void put_record(buf *b, const Locus__Trace__TraceRecord *r)
{
    size_t n = locus__trace__trace_record__get_packed_size(r);
    unsigned char *tmp = malloc(n + 1);
    assert_non_null(tmp);
    locus__trace__trace_record__pack(r, tmp);
    put_raw_record(b, tmp, n);
    free(tmp);
}

static void put_header(buf *b, uint32_t version)
{
    Locus__Trace__TraceHeader h = LOCUS__TRACE__TRACE_HEADER__INIT;
    h.format_version = version;
    Locus__Trace__TraceRecord r = LOCUS__TRACE__TRACE_RECORD__INIT;
    r.record_case = LOCUS__TRACE__TRACE_RECORD__RECORD_HEADER;
    r.header = &h;
    put_record(b, &r);
}

static void put_job(buf *b, const char *id, double submit)
{
    Locus__Trace__Job j = LOCUS__TRACE__JOB__INIT;
    j.id = (char *)id;
    j.submit_time_s = submit;
    Locus__Trace__TraceRecord r = LOCUS__TRACE__TRACE_RECORD__INIT;
    r.record_case = LOCUS__TRACE__TRACE_RECORD__RECORD_JOB;
    r.job = &j;
    put_record(b, &r);
}

/* Loads b (as a file) and checks the message after "<path>". */
static void expect_error(buf *b, const char *msg_fmt, ...)
{
    char path[512], err[512], msg[512], want[1100];
    va_list ap;
    va_start(ap, msg_fmt);
    vsnprintf(msg, sizeof msg, msg_fmt, ap);
    va_end(ap);
    assert_int_equal(simio_write(tmpdir, "bad.ltrace", b->p, b->n, path, sizeof path), 0);
    sim_trace *t = (sim_trace *)&path;
    sim_trace_load_opts o = {.format = SIM_TRACE_BINARY};
    int rc = sim_trace_load(path, &o, &t, err, sizeof err);
    snprintf(want, sizeof want, "%s: %s", path, msg);
    if (rc != LOCUS_EPARSE || strcmp(err, want) != 0)
        fail_msg("rc %d\n got: %s\nwant: %s", rc, err, want);
    assert_null(t);
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void test_truncated(void **state)
{
    (void)state;
    buf b = {0};
    /* length prefix cut short */
    put_header(&b, 1);
    put_job(&b, "j0", 1);
    size_t off = b.n;
    unsigned char cont = 0x85;
    put(&b, &cont, 1);
    expect_error(&b, "record 3 at byte offset %zu: truncated length prefix (file ends after 1 byte)",
                 off);

    /* message cut short */
    put_header(&b, 1);
    put_job(&b, "j0", 1);
    put_job(&b, "j1", 2);
    size_t last = b.rec_off[2], len = b.n - last - 1;
    b.n--;
    expect_error(&b, "record 3 at byte offset %zu: truncated message (length %zu, file ends after %zu "
                     "bytes)", last, len, len - 1);

    /* a length no file could hold */
    put_header(&b, 1);
    off = b.n;
    put_varint(&b, 1ULL << 40);
    expect_error(&b, "record 2 at byte offset %zu: record length 1099511627776 exceeds the 67108864-byte "
                     "limit", off);

    /* a varint longer than 64 bits */
    put_header(&b, 1);
    off = b.n;
    unsigned char ff[11];
    memset(ff, 0xff, sizeof ff);
    put(&b, ff, sizeof ff);
    expect_error(&b, "record 2 at byte offset %zu: bad length prefix (varint longer than 64 bits)", off);
}

static void test_corrupt(void **state)
{
    (void)state;
    buf b = {0};
    put_header(&b, 1);
    put_job(&b, "j0", 1);
    const unsigned char junk[] = {0xff, 0xff, 0xff};
    put_raw_record(&b, junk, sizeof junk);
    expect_error(&b, "record 3 at byte offset %zu: undecodable record (3 bytes that are not a "
                     "locus.trace.TraceRecord)", b.rec_off[2]);

    put_job(&b, "j0", 1);
    expect_error(&b, "record 1 at byte offset 0: missing header (the first record must be a "
                     "TraceHeader)");

    put_header(&b, 7);
    put_job(&b, "j0", 1);
    expect_error(&b, "record 1 at byte offset 0: unknown format_version 7 (this build reads 1)");

    put_header(&b, 1);
    put_job(&b, "j0", 1);
    put_header(&b, 1);
    expect_error(&b, "record 3 at byte offset %zu: a second header record", b.rec_off[2]);

    put_header(&b, 1);
    put_raw_record(&b, "", 0);
    expect_error(&b, "record 2 at byte offset %zu: record holds neither a header nor a job",
                 b.rec_off[1]);

    put_header(&b, 1);
    size_t end = b.n;
    expect_error(&b, "record 2 at byte offset %zu: no job records after the header", end);

    put_header(&b, 1);
    put_job(&b, "j0", 5);
    put_job(&b, "j1", 4);
    expect_error(&b, "record 3 at byte offset %zu: job 'j1': submit_time_s 4 is earlier than the "
                     "previous job's 5", b.rec_off[2]);

    put_header(&b, 1);
    put_job(&b, "j0", 5);
    put_job(&b, "j0", 6);
    expect_error(&b, "record 3 at byte offset %zu: job id 'j0' repeats the id of record 2",
                 b.rec_off[2]);

    put_header(&b, 1);
    put_job(&b, "j0", NAN);
    expect_error(&b, "record 2 at byte offset %zu: submit_time_s nan is not a non-negative number",
                 b.rec_off[1]);

    put_header(&b, 1);
    put_job(&b, "", 1);
    expect_error(&b, "record 2 at byte offset %zu: job id is empty", b.rec_off[1]);

    put_header(&b, 1);
    put_job(&b, "a\nb", 1);
    expect_error(&b, "record 2 at byte offset %zu: job id 'a\\x0ab' holds a control character",
                 b.rec_off[1]);

    /* auto-detection sends a binary file to the binary reader */
    put_header(&b, 1);
    put_job(&b, "j0", 1);
    assert_int_equal(sim_trace_detect(b.p, b.n), SIM_TRACE_BINARY);
    free(b.p);
}

static void test_limits(void **state)
{
    (void)state;
    buf b = {0};
    put_header(&b, 1);
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof id, "j%d", i);
        put_job(&b, id, i * 10);
    }
    char err[512];
    sim_trace *t = NULL;
    sim_trace_load_opts o = {.max_jobs = 3};
    assert_int_equal(sim_trace_load_mem(b.p, b.n, "m", &o, &t, err, sizeof err), 0);
    assert_int_equal(t->n_jobs, 3);
    assert_int_equal(t->format, SIM_TRACE_BINARY);
    sim_trace_free(t);
    o.max_jobs = 0;
    o.max_submit_s = 15;
    assert_int_equal(sim_trace_load_mem(b.p, b.n, "m", &o, &t, err, sizeof err), 0);
    assert_int_equal(t->n_jobs, 2);
    assert_string_equal(t->jobs[1].id, "j1");
    sim_trace_free(t);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_shipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_all_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_diff_sees_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
