/* One environment variable names the hint store for every program: the real
 * allocator plugin (loaded with dlopen through the plugin loader, as the
 * Mesos adapter loads it) opens the store named by LOCUS_HINT_STORE when its
 * config gives no hints.path, prefers the variable to the file's hints.path,
 * and a hints.path parameter (a Mesos module parameter) wins over the
 * variable - the order the probe applies to probe.store_path. The store is a
 * real LMDB store in a temporary folder holding one block; "opened" is seen
 * in the plugin's own log line and in its status (the age of the newest hint
 * becomes known). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "locus/allocator_loader.h"
#include "locus/hintstore.h"
#include "testutil.h"

#ifndef PLUGIN_PATH
#error PLUGIN_PATH must name the allocator plugin
#endif

static char g_dir[512], g_env_store[600], g_file_store[600], g_conf[600];
static locus_allocator_plugin g_plugin;
static char g_log[8192];

static void capture_log(void *ctx, int level, const char *msg)
{
    (void)ctx, (void)level;
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof g_log - n, "%s\n", msg);
}

static int make_store(const char *path)
{
    locus_hs_options o = {.create = 1, .no_sync = 1};
    locus_hs *hs = NULL;
    locus_hs_batch *b = NULL;
    char err[512];
    if (locus_hs_open(path, &o, &hs, err, sizeof err) != 0)
        return -1;
    locus_hs_replica r = {"agent1", LOCUS_TIER_MEM};
    locus_hs_block blk = {"logs", 0, 1 << 20, &r, 1};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int rc = locus_hs_batch_begin(hs, "static", 0, &b);
    if (rc == 0 && (rc = locus_hs_batch_put(b, &blk)) != 0)
        locus_hs_batch_abort(b);
    else if (rc == 0)
        rc = locus_hs_batch_commit(b, (int64_t)ts.tv_sec * 1000);
    locus_hs_close(hs);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    char err[512];
    if (tu_mkdtemp(g_dir, sizeof g_dir, "store-env") != 0)
        return -1;
    snprintf(g_env_store, sizeof g_env_store, "%s/from-env", g_dir);
    snprintf(g_file_store, sizeof g_file_store, "%s/from-file", g_dir);
    snprintf(g_conf, sizeof g_conf, "%s/allocator.conf", g_dir);
    char text[1024];
    snprintf(text, sizeof text, "[policy]\nname = locality\n[hints]\npath = %s\n", g_file_store);
    if (make_store(g_env_store) || make_store(g_file_store) || tu_write_file(g_conf, text))
        return -1;
    if (locus_allocator_load(PLUGIN_PATH, &g_plugin, err, sizeof err) != 0) {
        fprintf(stderr, "load: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    locus_allocator_unload(&g_plugin);
    unsetenv("LOCUS_HINT_STORE");
    tu_rm_r(g_dir);
    return 0;
}

/* Creates an allocator (config file or none, parameters), runs one cycle
 * with one agent and one framework, and returns the age of the newest hint
 * it read (< 0: it read none); its log is in g_log. */
static double one_cycle(const char *config, const locus_param *params, size_t n_params)
{
    const locus_allocator_api *api = g_plugin.api;
    locus_host_services host = {.struct_size = sizeof host, .log = capture_log};
    locus_allocator *a = NULL;
    char err[512];
    g_log[0] = '\0';
    if (api->create(config, params, n_params, &host, &a, err, sizeof err) != 0)
        fail_msg("create: %s", err);
    locus_scalar s[2] = {{"cpus", 4}, {"mem", 4096}};
    locus_agent_info ai = {"agent1", "agent1", "r1", {s, 2}};
    assert_int_equal(api->add_agent(a, &ai, NULL, 0, 0), 0);
    const char *roles[] = {"*"};
    locus_framework_info fw = {"fw1", roles, 1, 1};
    assert_int_equal(api->add_framework(a, &fw, NULL, 0, 0), 0);
    locus_offer_list l;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    assert_int_equal(api->allocate(a, (double)ts.tv_sec, &l), 0);
    locus_allocator_status st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    assert_int_equal(api->status(a, &st), 0);
    api->destroy(a);
    return st.hint_age_s;
}

static void assert_opened(const char *store)
{
    char want[700];
    snprintf(want, sizeof want, "hint store %s opened", store);
    if (!strstr(g_log, want))
        fail_msg("expected '%s' in the plugin's log:\n%s", want, g_log);
}

static void test_variable_alone(void **state)
{
    (void)state;
    locus_param params[] = {{"policy.name", "locality"}};
    unsetenv("LOCUS_HINT_STORE");
    assert_true(one_cycle(NULL, params, 1) < 0); /* no store anywhere: no hint read */
    assert_null(strstr(g_log, "opened"));
    setenv("LOCUS_HINT_STORE", g_env_store, 1);
    double age = one_cycle(NULL, params, 1);
    assert_opened(g_env_store);
    assert_true(age >= 0 && age < 120);
}

static void test_variable_over_file(void **state)
{
    (void)state;
    unsetenv("LOCUS_HINT_STORE");
    assert_true(one_cycle(g_conf, NULL, 0) >= 0);
    assert_opened(g_file_store);
    setenv("LOCUS_HINT_STORE", g_env_store, 1);
    assert_true(one_cycle(g_conf, NULL, 0) >= 0);
    assert_opened(g_env_store);
    assert_null(strstr(g_log, g_file_store));
    setenv("LOCUS_HINT_STORE", "", 1); /* empty: as if unset */
    assert_true(one_cycle(g_conf, NULL, 0) >= 0);
    assert_opened(g_file_store);
}

static void test_parameter_over_variable(void **state)
{
    (void)state;
    setenv("LOCUS_HINT_STORE", g_env_store, 1);
    locus_param params[] = {{"hints.path", g_file_store}};
    assert_true(one_cycle(g_conf, params, 1) >= 0);
    assert_opened(g_file_store);
    assert_null(strstr(g_log, g_env_store));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variable_alone),
        cmocka_unit_test(test_variable_over_file),
        cmocka_unit_test(test_parameter_over_variable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
