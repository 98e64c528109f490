/* The real plugin .so through the real loader, as the simulator and the
 * Mesos adapter use it: load, full life cycle through the function table,
 * status and reasons; and plugins with a wrong ABI major or a too-small
 * struct refused with a message naming both versions. */
#include <dlfcn.h>

#include "la_test.h"
#include "locus/allocator_loader.h"

static void test_real_plugin(void **state)
{
    (void)state;
    locus_allocator_plugin p;
    char err[512];
    int rc = locus_allocator_load(PLUGIN_PATH, &p, err, sizeof err);
    if (rc)
        fail_msg("load: %s", err);
    const locus_allocator_api *api = p.api;
    assert_int_equal(api->abi_major, LOCUS_ALLOCATOR_ABI_MAJOR);
    assert_string_equal(api->name, "locus");
    assert_non_null(api->status);
    assert_non_null(api->reload_config);
    /* Only the entry point is exported. */
    assert_null(dlsym(p.dl_handle, "la_allocate"));
    assert_null(dlsym(p.dl_handle, "locus_cfg_load"));

    locus_param params[] = {{"policy.name", "drf"}, {"policy.seed", "3"}};
    locus_allocator *a = NULL;
    rc = api->create(NULL, params, 2, NULL, &a, err, sizeof err);
    if (rc)
        fail_msg("create: %s", err);
    locus_scalar s[3] = {{"cpus", 8}, {"mem", 16384}, {"gpus", 1}};
    for (int i = 0; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof id, "s%d", i);
        locus_agent_info ai = {id, id, "r1", {s, 3}};
        assert_int_equal(api->add_agent(a, &ai, NULL, 0, 0), 0);
    }
    const char *roles[] = {"*"};
    locus_framework_info f1 = {"fw1", roles, 1, 1}, f2 = {"fw2", roles, 1, 1};
    assert_int_equal(api->add_framework(a, &f1, NULL, 0, 0), 0);
    assert_int_equal(api->add_framework(a, &f2, NULL, 0, 0), 0);
    locus_offer_list l;
    assert_int_equal(api->allocate(a, 1, &l), 0);
    assert_int_equal(l.n, 4);
    assert_int_equal(t_count_fw(&l, "fw1"), 2);
    for (size_t i = 0; i < l.n; i++) {
        assert_true(fabs(t_res(&l.offers[i].resources, "gpus") - 1) < 1e-9);
        assert_non_null(strstr(l.offers[i].reason, "drf"));
        assert_int_equal(api->recover(a, l.offers[i].framework_id, l.offers[i].agent_id,
                                      &l.offers[i].resources, 60, 1), 0);
    }
    assert_int_equal(api->allocate(a, 2, &l), 0);
    assert_int_equal(l.n, 4); /* each agent refused by one framework only */
    assert_int_equal(api->remove_framework(a, "nope"), LOCUS_ENOTFOUND);
    assert_non_null(strstr(api->last_error(a), "nope"));
    /* A host built against an older, smaller status struct. */
    locus_allocator_status st;
    memset(&st, 0xab, sizeof st);
    st.struct_size = offsetof(locus_allocator_status, offers_local);
    assert_int_equal(api->status(a, &st), 0);
    assert_int_equal(st.cycles, 2);
    assert_int_equal(st.offers, 8);
    assert_true(st.offers_local == 0xababababababababULL); /* untouched beyond its size */
    api->destroy(a);
    locus_allocator_unload(&p);
    locus_allocator_unload(&p); /* twice: no-op */
    locus_allocator_unload(NULL);
}

static void test_bad_major_refused(void **state)
{
    (void)state;
    locus_allocator_plugin p;
    char err[512];
    assert_int_equal(locus_allocator_load(BAD_MAJOR_PATH, &p, err, sizeof err), LOCUS_EABI);
    assert_null(p.api);
    char want[64];
    snprintf(want, sizeof want, "plugin ABI %d.", LOCUS_ALLOCATOR_ABI_MAJOR + 1);
    assert_non_null(strstr(err, want));
    snprintf(want, sizeof want, "host ABI %d.%d", LOCUS_ALLOCATOR_ABI_MAJOR,
             LOCUS_ALLOCATOR_ABI_MINOR);
    assert_non_null(strstr(err, want));
}

static void test_bad_size_refused(void **state)
{
    (void)state;
    locus_allocator_plugin p;
    char err[512];
    assert_int_equal(locus_allocator_load(BAD_SIZE_PATH, &p, err, sizeof err), LOCUS_EABI);
    assert_non_null(strstr(err, "struct_size 40"));
    assert_non_null(strstr(err, "host ABI"));
}

/* ABI 1.1 is additive: a 1.0 plugin (table ending before set_task_resources)
 * still loads, and a host sees from struct_size that it lacks the callback;
 * the real plugin has it. */
static void test_minor0_accepted(void **state)
{
    (void)state;
    const size_t need = offsetof(locus_allocator_api, set_task_resources) + sizeof(void *);
    locus_allocator_plugin p;
    char err[512];
    if (locus_allocator_load(MINOR0_PATH, &p, err, sizeof err) != 0)
        fail_msg("1.0 plugin refused: %s", err);
    assert_int_equal(p.api->abi_minor, 0);
    assert_true(p.api->struct_size < need);
    locus_allocator_unload(&p);
    assert_int_equal(locus_allocator_load(PLUGIN_PATH, &p, err, sizeof err), 0);
    assert_true(p.api->abi_minor >= 1 && p.api->struct_size >= need);
    assert_non_null(p.api->set_task_resources);
    locus_allocator *a = NULL;
    assert_int_equal(p.api->create(NULL, NULL, 0, NULL, &a, err, sizeof err), 0);
    const char *roles[1] = {"*"};
    locus_framework_info fi = {"f1", roles, 1, 1};
    assert_int_equal(p.api->add_framework(a, &fi, NULL, 0, 0), 0);
    locus_scalar one[2] = {{"cpus", 1}, {"mem", 512}};
    locus_resources r = {one, 2};
    assert_int_equal(p.api->set_task_resources(a, "f1", &r), 0);
    assert_int_equal(p.api->set_task_resources(a, "f2", &r), LOCUS_ENOTFOUND);
    p.api->destroy(a);
    locus_allocator_unload(&p);
}

static void test_not_a_plugin(void **state)
{
    (void)state;
    locus_allocator_plugin p;
    char err[512];
    assert_int_equal(locus_allocator_load("/nonexistent/x.so", &p, err, sizeof err), LOCUS_EIO);
    assert_non_null(strstr(err, "/nonexistent/x.so"));
    /* A shared object without the entry symbol. */
    assert_int_equal(locus_allocator_load(HINTS_LIB_PATH, &p, err, sizeof err), LOCUS_EIO);
    assert_non_null(strstr(err, LOCUS_ALLOCATOR_ENTRY_SYMBOL));
    assert_non_null(locus_allocator_default_plugin_path());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_plugin),
        cmocka_unit_test(test_bad_major_refused),
        cmocka_unit_test(test_bad_size_refused),
        cmocka_unit_test(test_minor0_accepted),
        cmocka_unit_test(test_not_a_plugin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
