/* locus-hints CLI tests: the built binary (path from the build, or argv[1])
 * run on a store in a temporary folder; its JSON output is parsed back with
 * jansson and compared with what was imported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <jansson.h>

#include "hs_testutil.h"

static const char *g_bin = LOCUS_HINTS_BIN;

typedef struct fx {
    char *dir;
    char store[700], out[700], err[700];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = hs_t_mkdtemp();
    if (!f->dir)
        return -1;
    snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
    snprintf(f->out, sizeof(f->out), "%s/stdout", f->dir);
    snprintf(f->err, sizeof(f->err), "%s/stderr", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    hs_t_rmtree(f->dir);
    free(f);
    return 0;
}

/* Runs locus-hints --store STORE args... with stdout/stderr in files;
 * returns its exit status (or -1). stdin_file may be NULL. */
static int run(fx *f, const char *stdin_file, ...)
{
    const char *argv[32] = {g_bin, "--store", f->store};
    int n = 3;
    va_list ap;
    va_start(ap, stdin_file);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 31)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int o = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(f->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0)
            _exit(126);
        dup2(o, 1);
        dup2(e, 2);
        if (stdin_file) {
            int i = open(stdin_file, O_RDONLY);
            if (i < 0)
                _exit(126);
            dup2(i, 0);
        }
        execv(g_bin, (char *const *)argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return strdup("");
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    if (n > 0 && fread(s, 1, (size_t)n, fp) != (size_t)n)
        s[0] = '\0';
    fclose(fp);
    return s;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static json_t *load_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("output is not JSON: %s\n%s", e.text, text);
    return j;
}

static const char good[] =
    "{\"dataset\":\"logs\",\"index\":0,\"bytes\":134217728,"
    "\"replicas\":[{\"host\":\"h1\",\"tier\":\"MEM\"},{\"host\":\"h2\",\"tier\":\"SSD\"}]}\n"
    "{\"dataset\":\"logs\",\"index\":1,\"bytes\":1000,\"replicas\":[{\"host\":\"h1\",\"tier\":\"DISK\"}]}\n"
    "\n"
    "{\"bind\":\"h1\",\"agent_hostname\":\"agent-1.example\",\"agent_id\":\"S1\"}\n"
    "{\"dataset\":\"clicks\",\"index\":3,\"bytes\":5}\n";

static void test_import_get_dump(void **state)
{
    fx *f = *state;
    char in[700];
    snprintf(in, sizeof(in), "%s/good.jsonl", f->dir);
    write_file(in, good);
    assert_int_equal(run(f, NULL, "put", "--backend", "static", in, NULL), 0);

    assert_int_equal(run(f, NULL, "get", "logs", NULL), 0);
    char *out = slurp(f->out);
    json_t *j = load_json(out);
    assert_int_equal(json_integer_value(json_object_get(j, "total_bytes")), 134218728);
    assert_int_equal(json_integer_value(json_object_get(j, "block_count")), 2);
    json_t *p = json_object_get(j, "placement");
    assert_int_equal(json_array_size(p), 3);
    json_t *first = json_array_get(p, 0);
    assert_string_equal(json_string_value(json_object_get(first, "host")), "h1");
    assert_string_equal(json_string_value(json_object_get(first, "agent")), "agent-1.example");
    assert_string_equal(json_string_value(json_object_get(first, "tier")), "MEM");
    assert_int_equal(json_integer_value(json_object_get(first, "bytes")), 134217728);
    json_decref(j);
    free(out);

    assert_int_equal(run(f, NULL, "dump", NULL), 0);
    out = slurp(f->out);
    assert_int_equal(count_lines(out), 2);
    j = load_json(strchr(out, '\n') + 1); /* second line: logs (name order) */
    assert_string_equal(json_string_value(json_object_get(j, "name")), "logs");
    json_decref(j);
    free(out);

    assert_int_equal(run(f, NULL, "dump", "--blocks", NULL), 0);
    out = slurp(f->out);
    assert_int_equal(count_lines(out), 3);
    free(out);

    /* dump --blocks reads back through put (stdin) into a second store */
    char blocks[700], store2[700];
    snprintf(blocks, sizeof(blocks), "%s/blocks.jsonl", f->dir);
    rename(f->out, blocks);
    snprintf(store2, sizeof(store2), "%s", f->store);
    snprintf(f->store, sizeof(f->store), "%s/store2", f->dir);
    assert_int_equal(run(f, blocks, "import", "--backend", "copy", "-", NULL), 0);
    assert_int_equal(run(f, NULL, "get", "logs", NULL), 0);
    out = slurp(f->out);
    j = load_json(out);
    assert_int_equal(json_integer_value(json_object_get(j, "total_bytes")), 134218728);
    json_decref(j);
    free(out);
    snprintf(f->store, sizeof(f->store), "%s", store2);

    assert_int_equal(run(f, NULL, "hosts", NULL), 0);
    out = slurp(f->out);
    j = load_json(out);
    assert_string_equal(json_string_value(json_object_get(j, "storage_host")), "h1");
    assert_string_equal(json_string_value(json_object_get(j, "agent_id")), "S1");
    json_decref(j);
    free(out);

    assert_int_equal(run(f, NULL, "stats", NULL), 0);
    out = slurp(f->out);
    j = load_json(out);
    assert_int_equal(json_integer_value(json_object_get(j, "blocks")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "datasets")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "writer_generation")), 1);
    json_decref(j);
    free(out);

    assert_int_equal(run(f, NULL, "delete", "logs", "1", NULL), 0);
    assert_int_equal(run(f, NULL, "delete", "logs", "1", NULL), 1);
    char *err = slurp(f->err);
    assert_non_null(strstr(err, "logs#1"));
    free(err);
    assert_int_equal(run(f, NULL, "get", "nope", NULL), 1);
}

static void test_bad_line_writes_nothing(void **state)
{
    fx *f = *state;
    char in[700];
    snprintf(in, sizeof(in), "%s/first.jsonl", f->dir);
    write_file(in, good);
    assert_int_equal(run(f, NULL, "put", "--backend", "static", in, NULL), 0);

    static const char *bad[] = {
        "{\"dataset\":\"new\",\"index\":0,\"bytes\":1}\n"
        "{\"dataset\":\"new\",\"index\":1,\"bytes\":1}\n"
        "{\"dataset\":\"new\",\"index\":2,\"bytes\":1,\"replicas\":[{\"host\":\"h1\",\"tier\":\"TAPE\"}]}\n",
        "{\"dataset\":\"new\",\"index\":0,\"bytes\":1}\n"
        "\n"
        "{\"dataset\":\"new\",\"index\":1,\"bytes\":1\n",
        "{\"dataset\":\"new\",\"index\":0,\"bytes\":1}\n"
        "{\"dataset\":\"new\",\"index\":1,\"bytes\":1}\n"
        "{\"dataset\":\"new\",\"index\":1,\"byte\":1}\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(in, sizeof(in), "%s/bad%zu.jsonl", f->dir, i);
        write_file(in, bad[i]);
        /* --replace: had anything been written, "logs" would be gone too */
        assert_int_equal(run(f, NULL, "put", "--backend", "static", "--replace", in, NULL), 1);
        char *err = slurp(f->err), want[800];
        snprintf(want, sizeof(want), "%s:3:", in);
        if (!strstr(err, want))
            fail_msg("stderr lacks '%s': %s", want, err);
        free(err);
        assert_int_equal(run(f, NULL, "get", "new", NULL), 1);
        assert_int_equal(run(f, NULL, "get", "logs", NULL), 0);
        assert_int_equal(run(f, NULL, "stats", NULL), 0);
        char *out = slurp(f->out);
        json_t *j = load_json(out);
        assert_int_equal(json_integer_value(json_object_get(j, "writer_generation")), 1);
        json_decref(j);
        free(out);
    }
    /* stdin is named too */
    assert_int_equal(run(f, in, "import", "--backend", "static", "-", NULL), 1);
    char *err = slurp(f->err);
    assert_non_null(strstr(err, "<stdin>:3:"));
    free(err);
}

static void test_help_and_usage(void **state)
{
    fx *f = *state;
    static const char *cmds[] = {"stats", "get", "dump", "hosts", "put", "import", "delete"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        assert_int_equal(run(f, NULL, cmds[i], "--help", NULL), 0);
        char *out = slurp(f->out);
        if (!strstr(out, "usage: locus-hints") || !strstr(out, cmds[i]))
            fail_msg("%s --help: %s", cmds[i], out);
        free(out);
    }
    assert_int_equal(run(f, NULL, "--help", NULL), 0);
    assert_int_equal(run(f, NULL, "frobnicate", NULL), 2);
    assert_int_equal(run(f, NULL, "put", "x.jsonl", NULL), 2); /* --backend missing */
    assert_int_equal(run(f, NULL, "stats", NULL), 1);         /* no store yet */
    char *err = slurp(f->err);
    assert_non_null(strstr(err, f->store));
    free(err);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import_get_dump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_line_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help_and_usage, setup, teardown),
    };
    return cmocka_run_group_tests_name("locus-hints-cli", tests, NULL, NULL);
}
