/* Tests of locus-probe's configuration: the [probe] keys and a backend
 * section through the shared parser, the host map (inline and file), the
 * file:line of every error, and the command line (--check, --help,
 * --print-reference, --print-example) run on the built binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe_config.h"
#include "testutil.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/locus-probe-cfg-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_r(dir);
    return 0;
}

static const char *file_with(const char *name, const char *text)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    assert_int_equal(tu_write_file(p, text), 0);
    return p;
}

static size_t static_slot(void)
{
    size_t slot = 99;
    assert_non_null(probe_backend_find("static", &slot));
    return slot;
}

static void defaults(void **state)
{
    (void)state;
    probe_config *cfg = NULL;
    char err[512];
    assert_int_equal(probe_config_load(NULL, NULL, 0, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg->core.store_path, "/var/lib/locus/hints");
    assert_string_equal(cfg->core.http_listen, "127.0.0.1");
    assert_int_equal(cfg->core.http_port, 9471);
    assert_int_equal(cfg->core.map_size, 1024LL * 1024 * 1024);
    assert_int_equal(cfg->n_hosts, 0);
    const probe_backend_common *c = probe_config_common(cfg, static_slot());
    assert_non_null(c);
    assert_false(c->enabled);
    assert_true(c->poll_interval_s == 5.0);
    assert_true(c->staleness_s == 60.0);
    assert_null(cfg->path);
    probe_config_free(cfg);
    probe_config_free(NULL);
}

static void full_file(void **state)
{
    (void)state;
    const char *path = file_with("ok.conf",
                                 "[probe]\n"
                                 "store_path = /tmp/x/hints\n"
                                 "map_size = 64M\n"
                                 "http_port = 18080\n"
                                 "log_level = debug\n"
                                 "host_map = s1=agent1, s2=agent2/S2-id\n"
                                 "\n"
                                 "[static]\n"
                                 "enabled = yes\n"
                                 "poll_interval = 0.5\n"
                                 "staleness = 10\n"
                                 "path = /tmp/x/placements.jsonl\n");
    probe_config *cfg = NULL;
    char err[512] = "";
    assert_int_equal(probe_config_load(path, NULL, 0, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg->core.store_path, "/tmp/x/hints");
    assert_int_equal(cfg->core.map_size, 64LL * 1024 * 1024);
    assert_int_equal(cfg->core.http_port, 18080);
    assert_int_equal(cfg->n_hosts, 2);
    assert_string_equal(cfg->hosts[0].storage_host, "s1");
    assert_string_equal(cfg->hosts[0].agent_hostname, "agent1");
    assert_null(cfg->hosts[0].agent_id);
    assert_string_equal(cfg->hosts[1].agent_hostname, "agent2");
    assert_string_equal(cfg->hosts[1].agent_id, "S2-id");
    const probe_backend_common *c = probe_config_common(cfg, static_slot());
    assert_true(c->enabled);
    assert_true(c->poll_interval_s == 0.5);
    assert_true(c->staleness_s == 10.0);
    assert_true(c->poll_jitter == 0.1); /* default kept */
    assert_string_equal(cfg->path, path);
    probe_config_free(cfg);
}

/* Every error names the file and the line, and nothing is returned. */
static void errors_name_file_and_line(void **state)
{
    (void)state;
    static const struct { const char *text, *expect; } cases[] = {
        {"[probe]\nstore_path = /a\nbogus = 1\n", ":3: unknown key 'bogus' in section [probe]"},
        {"[static]\n\npoll_interval = 0\n", ":3: static.poll_interval"},
        {"[probe]\nlog_level = loud\n", ":2: probe.log_level"},
        {"[probe]\nhttp_port = 70000\n", ":2: probe.http_port"},
        {"[nosuch]\nkey = 1\n", ":2: unknown key 'key' in section [nosuch]"},
        {"[probe]\nhost_map = a=b, c\n", "probe.host_map: entry 'c'"},
        {"[probe]\nhost_map = a=b, a=c\n", "'a' is mapped twice"},
        {"[probe]\nstore_path =\n", "probe.store_path must not be empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = file_with("bad.conf", cases[i].text);
        probe_config *cfg = (probe_config *)1;
        char err[512] = "";
        int rc = probe_config_load(path, NULL, 0, &cfg, err, sizeof err);
        assert_int_not_equal(rc, 0);
        assert_null(cfg);
        if (!strstr(err, cases[i].expect) || !strstr(err, path))
            fail_msg("case %zu: '%s' lacks '%s' or the path", i, err, cases[i].expect);
    }
}

/* A host map file is read relative to the config file; its errors name
 * the map file and line. */
static void host_map_file(void **state)
{
    (void)state;
    file_with("hosts.map", "# storage host, agent, agent id\n"
                           "redis-1  mesos-agent-1  S1\n"
                           "\n"
                           "redis-2 mesos-agent-2   # no id\n");
    const char *path = file_with("map.conf", "[probe]\nhost_map = hosts.map\n");
    probe_config *cfg = NULL;
    char err[512] = "";
    assert_int_equal(probe_config_load(path, NULL, 0, &cfg, err, sizeof err), 0);
    assert_int_equal(cfg->n_hosts, 2);
    assert_string_equal(cfg->hosts[0].storage_host, "redis-1");
    assert_string_equal(cfg->hosts[0].agent_id, "S1");
    assert_string_equal(cfg->hosts[1].agent_hostname, "mesos-agent-2");
    assert_null(cfg->hosts[1].agent_id);
    probe_config_free(cfg);

    file_with("hosts.map", "redis-1 mesos-agent-1\nonly-one-field\n");
    assert_int_not_equal(probe_config_load(path, NULL, 0, &cfg, err, sizeof err), 0);
    assert_non_null(strstr(err, "hosts.map:2:"));

    const char *missing = file_with("missing.conf", "[probe]\nhost_map = /nonexistent/map\n");
    assert_int_not_equal(probe_config_load(missing, NULL, 0, &cfg, err, sizeof err), 0);
    assert_non_null(strstr(err, "/nonexistent/map"));
}

static void overrides(void **state)
{
    (void)state;
    locus_cfg_override o[] = {{"static.enabled", "true"}, {"probe.http_port", "0"}};
    probe_config *cfg = NULL;
    char err[512] = "";
    assert_int_equal(probe_config_load(NULL, o, 2, &cfg, err, sizeof err), 0);
    assert_true(probe_config_common(cfg, static_slot())->enabled);
    assert_int_equal(cfg->core.http_port, 0);
    probe_config_free(cfg);
    locus_cfg_override bad[] = {{"static.nope", "1"}};
    assert_int_not_equal(probe_config_load(NULL, bad, 1, &cfg, err, sizeof err), 0);
    assert_non_null(strstr(err, "static.nope"));
}

/* ---- the binary ------------------------------------------------------- */

static int run_probe(const char *a1, const char *a2, const char *a3, char **output)
{
    char log[256];
    snprintf(log, sizeof log, "%s/run.log", dir);
    unlink(log);
    char *argv[] = {(char *)LOCUS_PROBE_BIN, (char *)a1, (char *)a2, (char *)a3, NULL};
    int rc = tu_run(argv, log, 20);
    *output = tu_slurp(log, NULL);
    assert_non_null(*output);
    return rc;
}

static void check_flag(void **state)
{
    (void)state;
    char *out = NULL;
    const char *good = file_with("good.conf", "[probe]\nstore_path = /tmp/none\n[static]\n"
                                              "enabled = true\npath = /tmp/p.jsonl\n");
    assert_int_equal(run_probe("--check", "--config", good, &out), 0);
    assert_non_null(strstr(out, ": ok"));
    free(out);

    const char *bad = file_with("badkey.conf", "[probe]\n# comment\nstore_path = /tmp/none\n"
                                               "[static]\nenabeld = true\n");
    assert_int_equal(run_probe("--check", "--config", bad, &out), 1);
    char expect[300];
    snprintf(expect, sizeof expect, "%s:5: unknown key 'enabeld' in section [static]", bad);
    if (!strstr(out, expect))
        fail_msg("--check said '%s', expected '%s'", out, expect);
    free(out);

    /* Backend settings the parser cannot judge: checked by creating it. */
    const char *nopath = file_with("nopath.conf", "[static]\nenabled = true\n");
    assert_int_equal(run_probe("--check", "--config", nopath, &out), 1);
    if (!strstr(out, nopath) || !strstr(out, "static.path"))
        fail_msg("--check said '%s'", out);
    free(out);

    /* Seeds separated by tabs: the seed array was sized counting only ','
     * and ' ', so three tab-separated seeds overflowed it. */
    size_t slot;
    if (probe_backend_find("redis", &slot)) {
        const char *tabs = file_with("tabs.conf", "[redis]\nenabled = true\nseeds = "
                                                  "127.0.0.1:7000\t127.0.0.1:7001\t127.0.0.1:7002"
                                                  "\t127.0.0.1:7003 ,\t127.0.0.1:7004\n");
        assert_int_equal(run_probe("--check", "--config", tabs, &out), 0);
        assert_non_null(strstr(out, ": ok"));
        free(out);
        /* A password on the command line is refused with where to put it. */
        assert_int_equal(run_probe("--check", "--set", "redis.password=hunter2", &out), 2);
        if (!strstr(out, "password_env"))
            fail_msg("--set redis.password said '%s'", out);
        free(out);
    }

    assert_int_equal(run_probe("--check", "--config", "/nonexistent.conf", &out), 1);
    assert_non_null(strstr(out, "/nonexistent.conf"));
    free(out);

    assert_int_equal(run_probe("--help", NULL, NULL, &out), 0);
    assert_non_null(strstr(out, "--check"));
    free(out);
    assert_int_equal(run_probe("--no-such-flag", NULL, NULL, &out), 2);
    free(out);
}

/* The generated reference lists every key; the generated example is itself
 * a valid config. */
static void reference_and_example(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(run_probe("--print-reference", NULL, NULL, &out), 0);
    for (size_t i = 0; i < probe_core_n_keys; i++) {
        char key[128];
        snprintf(key, sizeof key, "`probe.%s`", probe_core_keys[i].name);
        if (!strstr(out, key))
            fail_msg("reference lacks %s", key);
    }
    assert_non_null(strstr(out, "`static.path`"));
    assert_non_null(strstr(out, "`static.staleness`"));
    free(out);

    assert_int_equal(run_probe("--print-example", NULL, NULL, &out), 0);
    const char *example = file_with("example.conf", out);
    free(out);
    assert_int_equal(run_probe("--check", "--config", example, &out), 0);
    free(out);
}

/* docs/probe.md carries the generated tables of [probe] and [static]: every
 * row must be there verbatim, so the docs follow the key tables. */
/* The shipped example file is its comment header plus exactly what
 * --print-example prints: it cannot drift from the key tables. */
static void example_file_follows_tables(void **state)
{
    (void)state;
    char *file = tu_slurp(LOCUS_SOURCE_DIR "/storage-probe/locus-probe.conf.example", NULL);
    assert_non_null(file);
    char *out = NULL;
    assert_int_equal(run_probe("--print-example", NULL, NULL, &out), 0);
    const char *body = strstr(file, "[probe]\n");
    assert_non_null(body);
    if (strcmp(body, out) != 0)
        fail_msg("storage-probe/locus-probe.conf.example differs from locus-probe --print-example "
                 "(regenerate its body from the [probe] line on)");
    free(out);
    free(file);
}

static void docs_follow_tables(void **state)
{
    (void)state;
    char *doc = tu_slurp(LOCUS_SOURCE_DIR "/docs/probe.md", NULL);
    assert_non_null(doc);
    char *out = NULL;
    assert_int_equal(run_probe("--print-reference", NULL, NULL, &out), 0);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "| `probe.", 9) != 0 && strncmp(line, "| `static.", 10) != 0)
            continue;
        if (!strstr(doc, line))
            fail_msg("docs/probe.md lacks the row: %s\n(regenerate with locus-probe "
                     "--print-reference)", line);
    }
    free(out);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(full_file),
        cmocka_unit_test(errors_name_file_and_line),
        cmocka_unit_test(host_map_file),
        cmocka_unit_test(overrides),
        cmocka_unit_test(check_flag),
        cmocka_unit_test(reference_and_example),
        cmocka_unit_test(docs_follow_tables),
        cmocka_unit_test(example_file_follows_tables),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
