/* Tests of the table-driven config parser: defaults, types, ranges, the
 * file:line of every error, overrides, multi-part files and the
 * all-or-nothing rule that keeps a previous config on a bad reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include <cmocka.h>

#include "locus/config.h"
#include "locus/error.h"
#include "testutil.h"

typedef struct demo_cfg {
    int policy;
    double slack;
    int64_t cache;
    int enabled;
    char *path;
    int untouched_by_keys;
} demo_cfg;

static const char *const policies[] = {"drf", "locality", NULL};

static const locus_cfg_key demo_keys[] = {
    {"policy", "name", LOCUS_CFG_ENUM, offsetof(demo_cfg, policy), "locality", 0, 0, "", policies,
     "Policy."},
    {"policy", "slack", LOCUS_CFG_DOUBLE, offsetof(demo_cfg, slack), "0.1", 0, 1, "", NULL,
     "Fairness slack."},
    {"cache", "size", LOCUS_CFG_INT, offsetof(demo_cfg, cache), "64M", 0, 1e12, "bytes", NULL,
     "Cache size."},
    {"cache", "enabled", LOCUS_CFG_BOOL, offsetof(demo_cfg, enabled), "yes", 0, 1, "", NULL,
     "Use the cache."},
    {"hints", "path", LOCUS_CFG_STRING, offsetof(demo_cfg, path), "/var/lib/locus/hints", 0, 0, "",
     NULL, "Store."},
};
#define N_DEMO (sizeof demo_keys / sizeof demo_keys[0])

typedef struct other_cfg {
    double interval;
} other_cfg;
static const locus_cfg_key other_keys[] = {
    {"redis", "poll_interval", LOCUS_CFG_DOUBLE, offsetof(other_cfg, interval), "5", 0.05, 60, "s",
     NULL, "Poll interval."},
};

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmpdir, sizeof tmpdir, "cfg");
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_r(tmpdir);
    return 0;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_defaults(void **state)
{
    (void)state;
    demo_cfg c = {0};
    char err[256];
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, NULL, NULL, 0, err, sizeof err), 0);
    assert_int_equal(c.policy, 1);
    assert_true(c.slack == 0.1);
    assert_int_equal(c.cache, 64LL << 20);
    assert_int_equal(c.enabled, 1);
    assert_string_equal(c.path, "/var/lib/locus/hints");
    locus_cfg_free(demo_keys, N_DEMO, &c);
    assert_null(c.path);
}

static void test_file_values(void **state)
{
    (void)state;
    const char *p = write_file("ok.conf", "# comment\n[policy]\nname = drf\nslack = 0.25 ; why\n"
                                          "[cache]\nsize = 2G\nenabled = off\n[hints]\npath = /x/y\n");
    demo_cfg c = {0};
    c.untouched_by_keys = 42;
    char err[256];
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, p, NULL, 0, err, sizeof err), 0);
    assert_int_equal(c.policy, 0);
    assert_true(c.slack == 0.25);
    assert_int_equal(c.cache, 2LL << 30);
    assert_int_equal(c.enabled, 0);
    assert_string_equal(c.path, "/x/y");
    assert_int_equal(c.untouched_by_keys, 42);
    locus_cfg_free(demo_keys, N_DEMO, &c);
}

/* Each bad file: the message must name file:line and the key. */
static void expect_error(const char *text, const char *needle1, const char *needle2)
{
    const char *p = write_file("bad.conf", text);
    demo_cfg c = {0};
    char err[512] = "";
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, p, NULL, 0, err, sizeof err),
                     LOCUS_ECONFIG);
    if (!strstr(err, needle1) || !strstr(err, needle2))
        fail_msg("error '%s' lacks '%s' or '%s'", err, needle1, needle2);
    assert_null(c.path); /* untouched */
}

static void test_errors_name_line(void **state)
{
    (void)state;
    expect_error("[policy]\nname = drf\nbogus = 1\n", "bad.conf:3", "unknown key 'bogus'");
    expect_error("[policy]\n\nslack = abc\n", "bad.conf:3", "policy.slack");
    expect_error("[policy]\nslack = 1.5\n", "bad.conf:2", "out of range");
    expect_error("[policy]\nname = fifo\n", "bad.conf:2", "drf, locality");
    expect_error("[cache]\nenabled = maybe\n", "bad.conf:2", "cache.enabled");
    expect_error("[cache]\nsize = 12Q\n", "bad.conf:2", "cache.size");
    expect_error("[cache]\nsize = -1\n", "bad.conf:2", "out of range");
    expect_error("[policy]\nslack = 0.1\nslack = 0.2\n", "bad.conf:3", "first at line 2");
    expect_error("[nosuch]\nslack = 0.1\n", "bad.conf:2", "[nosuch]");
    expect_error("slack = 0.1\n", "bad.conf:1", "outside any [section]");
    expect_error("[policy]\nthis line has no equals\n", "bad.conf:2", "syntax");
    expect_error("[policy\nslack = 0.1\n", "bad.conf:1", "without ']'");
    expect_error("[policy]\n= 0.1\n", "bad.conf:2", "no key");
    /* A file that sets nothing must not load as "every default". */
    expect_error("", "bad.conf", "sets no key");
    expect_error("# only a comment\n\n[policy]\n; and another\n", "bad.conf", "sets no key");
}

/* Lines of any length; comments after a value are cut, `#` inside a word is
 * kept (a path or a URL fragment may contain one). */
static void test_long_lines_and_inline_comments(void **state)
{
    (void)state;
    size_t n = 100000;
    char *text = malloc(n + 64);
    assert_non_null(text);
    strcpy(text, "[hints]\npath = /");
    size_t used = strlen(text);
    memset(text + used, 'a', n);
    strcpy(text + used + n, "   # a comment\n");
    const char *p = write_file("long.conf", text);
    demo_cfg c = {0};
    char err[512] = "";
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, p, NULL, 0, err, sizeof err), 0);
    assert_int_equal(strlen(c.path), n + 1);
    assert_int_equal(c.path[n], 'a');
    free(text);

    p = write_file("comments.conf", "[hints]\npath = /x # the store\n[policy]\nname = drf\t; why\n"
                                    "  [cache]  # a section comment\nsize = 1K;not a comment\n");
    /* "1K;not a comment": no blank before ';', so the whole text is the value
     * and must fail as an integer rather than be truncated silently. */
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, p, NULL, 0, err, sizeof err),
                     LOCUS_ECONFIG);
    assert_non_null(strstr(err, "comments.conf:6"));
    p = write_file("comments.conf", "[hints]\npath = /x # the store\n[policy]\nname = drf\t; why\n"
                                    "  [cache]  # a section comment\nsize = 1K ;a comment\n"
                                    "[hints]\r\n");
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, p, NULL, 0, err, sizeof err), 0);
    assert_string_equal(c.path, "/x");
    assert_int_equal(c.policy, 0);
    assert_int_equal(c.cache, 1024);
    locus_cfg_free(demo_keys, N_DEMO, &c);
}

static void test_missing_file(void **state)
{
    (void)state;
    demo_cfg c = {0};
    char err[256];
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, "/nonexistent/x.conf", NULL, 0,
                                    err, sizeof err),
                     LOCUS_EIO);
    assert_non_null(strstr(err, "/nonexistent/x.conf"));
}

static void test_bad_reload_keeps_previous(void **state)
{
    (void)state;
    const char *good = write_file("good.conf", "[hints]\npath = /first\n[policy]\nslack = 0.5\n");
    demo_cfg c = {0};
    char err[256];
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, good, NULL, 0, err, sizeof err), 0);
    const char *bad = write_file("bad2.conf", "[hints]\npath = /second\n[policy]\nslack = 7\n");
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, bad, NULL, 0, err, sizeof err),
                     LOCUS_ECONFIG);
    assert_string_equal(c.path, "/first");
    assert_true(c.slack == 0.5);
    locus_cfg_free(demo_keys, N_DEMO, &c);
}

static void test_overrides(void **state)
{
    (void)state;
    const char *p = write_file("ov.conf", "[policy]\nslack = 0.5\n");
    demo_cfg c = {0};
    char err[256];
    locus_cfg_override ov[] = {{"policy.slack", "0.75"}, {"hints.path", "/ov"}};
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, p, ov, 2, err, sizeof err), 0);
    assert_true(c.slack == 0.75);
    assert_string_equal(c.path, "/ov");
    locus_cfg_override bad[] = {{"policy.nope", "1"}};
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, p, bad, 1, err, sizeof err),
                     LOCUS_ECONFIG);
    assert_non_null(strstr(err, "policy.nope"));
    assert_string_equal(c.path, "/ov");
    assert_ptr_equal(locus_cfg_find(demo_keys, N_DEMO, "cache.size"), &demo_keys[2]);
    assert_null(locus_cfg_find(demo_keys, N_DEMO, "cache"));
    locus_cfg_free(demo_keys, N_DEMO, &c);
}

static void test_parts(void **state)
{
    (void)state;
    const char *p = write_file("parts.conf", "[policy]\nslack = 0.3\n[redis]\npoll_interval = 2\n");
    demo_cfg d = {0};
    other_cfg o = {0};
    locus_cfg_part parts[] = {{demo_keys, N_DEMO, &d, sizeof d}, {other_keys, 1, &o, sizeof o}};
    char err[256];
    assert_int_equal(locus_cfg_load_parts(parts, 2, p, NULL, 0, err, sizeof err), 0);
    assert_true(d.slack == 0.3);
    assert_true(o.interval == 2);
    const char *bad = write_file("parts2.conf", "[policy]\nslack = 0.4\n[redis]\npoll_interval = 0\n");
    assert_int_equal(locus_cfg_load_parts(parts, 2, bad, NULL, 0, err, sizeof err), LOCUS_ECONFIG);
    assert_non_null(strstr(err, "parts2.conf:4"));
    assert_true(d.slack == 0.3); /* no part changed */
    locus_cfg_free(demo_keys, N_DEMO, &d);
}

static void test_reference_and_example(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/example.conf", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(locus_cfg_write_example(demo_keys, N_DEMO, f), 0);
    fclose(f);
    /* The generated example must itself load and give the defaults. */
    demo_cfg c = {0};
    char err[256];
    assert_int_equal(locus_cfg_load(demo_keys, N_DEMO, &c, sizeof c, path, NULL, 0, err, sizeof err), 0);
    assert_int_equal(c.cache, 64LL << 20);
    locus_cfg_free(demo_keys, N_DEMO, &c);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(locus_cfg_write_reference(demo_keys, N_DEMO, m), 0);
    fclose(m);
    assert_non_null(strstr(buf, "| `cache.size` | integer | `64M` | bytes |"));
    free(buf);
    assert_string_equal(locus_strerror(LOCUS_ECONFIG), "bad configuration");
    assert_string_equal(locus_strerror(ENOENT), strerror(ENOENT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_values),
        cmocka_unit_test(test_errors_name_line),
        cmocka_unit_test(test_long_lines_and_inline_comments),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_bad_reload_keeps_previous),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_reference_and_example),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
