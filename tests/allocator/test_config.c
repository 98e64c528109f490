/* The allocator's config: errors naming file:line, overrides, the rule that
 * spans keys, hot reload accepted and rejected (the previous config stays),
 * the reload interval, and the committed example file and reference table
 * equal to what the key table generates. */
#include <fcntl.h>
#include <sys/stat.h>

#include "la_config.h"
#include "la_test.h"

static char g_dir[512], g_file[700];

static int setup(void **state)
{
    (void)state;
    t_mkdtemp(g_dir, sizeof g_dir);
    snprintf(g_file, sizeof g_file, "%s/locus.conf", g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    t_rm_r(g_dir);
    return 0;
}

/* Writes the file and gives it a distinct mtime (seconds from now). */
static void write_conf(const char *text, int mtime_shift)
{
    FILE *f = fopen(g_file, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec += mtime_shift;
    ts[1] = ts[0];
    assert_int_equal(utimensat(AT_FDCWD, g_file, ts, 0), 0);
}

static void expect_create_error(const char *text, const char *want)
{
    write_conf(text, 0);
    locus_allocator *a = NULL;
    char err[512] = "";
    int rc = la_create(g_file, NULL, 0, NULL, &a, err, sizeof err);
    assert_int_equal(rc, LOCUS_ECONFIG);
    assert_null(a);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
    assert_non_null(strstr(err, g_file));
}

static void test_errors_name_file_and_line(void **state)
{
    (void)state;
    char want[800];
    snprintf(want, sizeof want, "%s:3", g_file);
    expect_create_error("[policy]\nname = drf\nbogus = 1\n", want);
    expect_create_error("[policy]\nname = drf\nbogus = 1\n", "bogus");
    snprintf(want, sizeof want, "%s:2", g_file);
    expect_create_error("[locality]\nwait_node = 1e6\n", want);
    expect_create_error("[policy]\n\nname = fastest\n", "policy.name");
    expect_create_error("[hints]\nstaleness = soon\n", "hints.staleness");
    expect_create_error("[locality]\nweight_mem = 0.1\nweight_ssd = 0.5\n", "locality.weight_ssd");
    expect_create_error("[nosuchsection]\nx = 1\n", "nosuchsection");
}

static void test_overrides(void **state)
{
    (void)state;
    write_conf("[policy]\nname = locality\nfairness_slack = 0.2\n", 0);
    locus_param p[] = {{"policy.name", "drf"}};
    locus_allocator *a = NULL;
    char err[512];
    assert_int_equal(la_create(g_file, p, 1, NULL, &a, err, sizeof err), 0);
    locus_allocator_status st = {.struct_size = sizeof st};
    la_status(a, &st);
    assert_int_equal(st.policy, 0);
    la_destroy(a);
    locus_param bad[] = {{"policy.fairness_slack", "2"}};
    assert_int_equal(la_create(g_file, bad, 1, NULL, &a, err, sizeof err), LOCUS_ECONFIG);
    assert_non_null(strstr(err, "policy.fairness_slack"));
    /* A missing file is an error naming it. */
    assert_int_equal(la_create("/nonexistent/locus.conf", NULL, 0, NULL, &a, err, sizeof err),
                     LOCUS_EIO);
    assert_non_null(strstr(err, "/nonexistent/locus.conf"));
}

static void test_hot_reload(void **state)
{
    (void)state;
    write_conf("[policy]\nname = locality\n[config]\nreload_interval = 10\n", -100);
    locus_allocator *a = NULL;
    char err[512];
    assert_int_equal(la_create(g_file, NULL, 0, NULL, &a, err, sizeof err), 0);
    t_fw(a, "f1", "*");
    t_agent(a, "a1", 4, 4096);
    locus_allocator_status st = {.struct_size = sizeof st};
    (void)t_alloc(a, 0); /* first check at t = 0 */

    /* Accepted: picked up at the first check after reload_interval. */
    write_conf("[policy]\nname = drf\n[config]\nreload_interval = 10\n", -50);
    (void)t_alloc(a, 5);
    la_status(a, &st);
    assert_int_equal(st.config_reloads, 0);
    assert_int_equal(st.policy, 1);
    (void)t_alloc(a, 10);
    la_status(a, &st);
    assert_int_equal(st.config_reloads, 1);
    assert_int_equal(st.policy, 0);

    /* Rejected: counted, the previous config stays, the error names the line. */
    write_conf("[policy]\nname = locality\nfairness_slack = -1\n", -20);
    (void)t_alloc(a, 20);
    la_status(a, &st);
    assert_int_equal(st.config_reload_errors, 1);
    assert_int_equal(st.config_reloads, 1);
    assert_int_equal(st.policy, 0);
    char want[800];
    snprintf(want, sizeof want, "%s:3", g_file);
    assert_non_null(strstr(la_last_error(a), want));
    /* Not retried while the file is unchanged. */
    (void)t_alloc(a, 40);
    la_status(a, &st);
    assert_int_equal(st.config_reload_errors, 1);
    /* reload_config() reads it now, and reports. */
    assert_int_equal(la_reload_config(a), LOCUS_ECONFIG);
    write_conf("[policy]\nname = locality\n", -10);
    assert_int_equal(la_reload_config(a), 0);
    la_status(a, &st);
    assert_int_equal(st.policy, 1);
    assert_int_equal(st.config_reloads, 2);
    assert_int_equal(st.config_reload_errors, 2);
    la_destroy(a);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static char *generate(int (*fn)(const locus_cfg_key *, size_t, FILE *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    assert_int_equal(fn(la_config_keys, la_config_n_keys, m), 0);
    fclose(m);
    return buf;
}

static void test_committed_example_and_reference(void **state)
{
    (void)state;
    char *ex = generate(locus_cfg_write_example), *file = slurp(EXAMPLE_PATH);
    assert_non_null(file);
    if (strcmp(ex, file) != 0)
        fail_msg("%s differs from the key table: regenerate with locus-alloc-config --print-example",
                 EXAMPLE_PATH);
    char *ref = generate(locus_cfg_write_reference), *doc = slurp(DOC_PATH);
    assert_non_null(doc);
    if (!strstr(doc, ref))
        fail_msg("%s lacks the generated table: regenerate with locus-alloc-config --print-reference",
                 DOC_PATH);
    /* The example parses and gives exactly the defaults. */
    la_config from_file = {0}, defaults = {0};
    char err[512];
    assert_int_equal(la_config_load(&from_file, EXAMPLE_PATH, NULL, 0, err, sizeof err), 0);
    assert_int_equal(la_config_load(&defaults, NULL, NULL, 0, err, sizeof err), 0);
    assert_int_equal(from_file.policy, defaults.policy);
    assert_true(from_file.fairness_slack == defaults.fairness_slack);
    assert_true(from_file.staleness == defaults.staleness);
    assert_string_equal(from_file.hints_path, defaults.hints_path);
    la_config_free(&from_file);
    la_config_free(&defaults);
    free(ex);
    free(file);
    free(ref);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_errors_name_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hot_reload, setup, teardown),
        cmocka_unit_test(test_committed_example_and_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
