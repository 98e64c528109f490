/* The command-line convention every Locus program follows (locus/cli.h),
 * checked on the built programs themselves: --help on stdout with exit 0,
 * -V/--version naming the version, plugin ABI and store schema, unknown
 * options and malformed --set exit 2 with a `locus-TOOL: ` message, and for
 * the programs that read a config file, --check with --config=FILE and
 * --set=section.key=value exits 0 for a good override and 1 (naming the key)
 * for a bad one.
 *
 * Arguments, one per program: NAME=PATH[,CONFIG,GOOD_SET,BAD_SET[,PREFIX]]
 * where PREFIX is a sub-command put before the options (e.g. "run"). */
#include <fcntl.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#ifndef LOCUS_VERSION
#error LOCUS_VERSION must be defined
#endif

typedef struct tool {
    char name[64];
    char path[1024];
    char config[1024];
    char good_set[256];
    char bad_set[256];
    char prefix[64];
} tool;

typedef struct result {
    int status;
    char *out;
    char *err;
} result;

static tool g_tools[8];
static size_t g_n_tools;
static char g_dir[512];

/* Runs the tool with the given arguments (NULL-terminated), capturing
 * stdout and stderr apart. */
static result run(const tool *t, ...)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)t->path;
    va_list ap;
    va_start(ap, t);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 31)
        if (a[0]) /* "" stands for an absent sub-command */
            argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;

    char out_path[600], err_path[600];
    snprintf(out_path, sizeof out_path, "%s/out", g_dir);
    snprintf(err_path, sizeof err_path, "%s/err", g_dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0)
            _exit(127);
        dup2(o, 1);
        dup2(e, 2);
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

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Every line of stderr starts with "NAME: " or is the pointer to --help. */
static void assert_prefixed(const tool *t, const char *err)
{
    char want[80];
    snprintf(want, sizeof want, "%.63s: ", t->name);
    if (!starts_with(err, want))
        fail_msg("%s: stderr does not start with '%s': %s", t->name, want, err);
}

static void test_help(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_n_tools; i++) {
        const tool *t = &g_tools[i];
        const char *forms[] = {"--help", "-h"};
        for (size_t f = 0; f < 2; f++) {
            result r = run(t, forms[f], NULL);
            char want[128];
            snprintf(want, sizeof want, "usage: %.63s", t->name);
            if (r.status != 0 || !starts_with(r.out, want) || r.err[0])
                fail_msg("%s %s: status %d, stdout '%.60s', stderr '%s'", t->name, forms[f],
                         r.status, r.out, r.err);
            result_free(&r);
        }
    }
}

static void test_version(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_n_tools; i++) {
        const tool *t = &g_tools[i];
        const char *forms[] = {"--version", "-V"};
        for (size_t f = 0; f < 2; f++) {
            result r = run(t, forms[f], NULL);
            char want[160];
            snprintf(want, sizeof want, "%.63s %.63s\n", t->name, LOCUS_VERSION);
            if (r.status != 0 || !starts_with(r.out, want) || !strstr(r.out, "plugin ABI ") ||
                !strstr(r.out, "hint store schema ") || r.err[0])
                fail_msg("%s %s: status %d, stdout '%s'", t->name, forms[f], r.status, r.out);
            result_free(&r);
        }
    }
}

static void test_usage_errors_exit_2(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_n_tools; i++) {
        const tool *t = &g_tools[i];
        result r = run(t, "--no-such-option", NULL);
        if (r.status != 2 || r.out[0] || !strstr(r.err, "--no-such-option"))
            fail_msg("%s --no-such-option: status %d, stderr '%s'", t->name, r.status, r.err);
        assert_prefixed(t, r.err);
        result_free(&r);

        r = run(t, "-Z", NULL);
        if (r.status != 2)
            fail_msg("%s -Z: status %d", t->name, r.status);
        assert_prefixed(t, r.err);
        result_free(&r);
    }
}

/* --set, --config and --check in both spellings: "--opt value" and
 * "--opt=value". */
static void test_check_and_set(void **state)
{
    (void)state;
    for (size_t i = 0; i < g_n_tools; i++) {
        const tool *t = &g_tools[i];
        if (!t->config[0])
            continue;
        char cfg_eq[1100], good_eq[300], bad_eq[300];
        snprintf(cfg_eq, sizeof cfg_eq, "--config=%s", t->config);
        snprintf(good_eq, sizeof good_eq, "--set=%s", t->good_set);
        snprintf(bad_eq, sizeof bad_eq, "--set=%s", t->bad_set);
        const char *pre = t->prefix; /* sub-command or "" */

        result r = run(t, pre, "--check", cfg_eq, good_eq, NULL);
        if (r.status != 0)
            fail_msg("%s --check %s %s: status %d, stderr '%s'", t->name, cfg_eq, good_eq,
                     r.status, r.err);
        result_free(&r);

        r = run(t, pre, "--check", "-c", t->config, "-s", t->good_set, NULL);
        if (r.status != 0)
            fail_msg("%s --check -c -s: status %d, stderr '%s'", t->name, r.status, r.err);
        result_free(&r);

        /* A bad value is a runtime failure (1) naming the key. */
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(t->bad_set, "="), t->bad_set);
        r = run(t, pre, "--check", "--config", t->config, bad_eq, NULL);
        if (r.status != 1 || !strstr(r.err, key))
            fail_msg("%s --check %s: status %d, stderr '%s'", t->name, bad_eq, r.status, r.err);
        assert_prefixed(t, r.err);
        result_free(&r);

        /* A --set without section.key=value is a usage error (2). */
        r = run(t, pre, "--check", "--config", t->config, "--set=nodot", NULL);
        if (r.status != 2)
            fail_msg("%s --set=nodot: status %d, stderr '%s'", t->name, r.status, r.err);
        assert_prefixed(t, r.err);
        result_free(&r);

        /* A config file that does not exist is a runtime failure naming it. */
        r = run(t, pre, "--check", "--config=/nonexistent/locus.conf", NULL);
        if (r.status != 1 || !strstr(r.err, "/nonexistent/locus.conf"))
            fail_msg("%s missing config: status %d, stderr '%s'", t->name, r.status, r.err);
        result_free(&r);
    }
}

/* Copies src into dst[cap], truncating. */
static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static void parse_tool(const char *arg)
{
    assert_true(g_n_tools < sizeof g_tools / sizeof g_tools[0]);
    tool *t = &g_tools[g_n_tools++];
    char buf[4096];
    copy(buf, sizeof buf, arg);
    char *eq = strchr(buf, '=');
    assert_non_null(eq);
    *eq = 0;
    copy(t->name, sizeof t->name, buf);
    char *fields[5] = {0};
    int n = 0;
    for (char *p = eq + 1; p && n < 5; n++) {
        fields[n] = p;
        p = strchr(p, ',');
        if (p)
            *p++ = 0;
    }
    copy(t->path, sizeof t->path, fields[0]);
    if (n >= 4) {
        copy(t->config, sizeof t->config, fields[1]);
        copy(t->good_set, sizeof t->good_set, fields[2]);
        copy(t->bad_set, sizeof t->bad_set, fields[3]);
    }
    if (n >= 5)
        copy(t->prefix, sizeof t->prefix, fields[4]);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        parse_tool(argv[i]);
    if (g_n_tools == 0) {
        fprintf(stderr, "usage: test_cli_conventions NAME=PATH[,CONFIG,GOOD,BAD[,PREFIX]]...\n");
        return 2;
    }
    if (tu_mkdtemp(g_dir, sizeof g_dir, "cli"))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_check_and_set),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tu_rm_r(g_dir);
    return rc;
}
