/* Tests of the poll sink (merging, validation) and of the static backend on
 * a real event loop: a placement file read into the sink, done() delivered
 * from the loop and never from inside poll(), bad lines failing the poll
 * with file:line, cancel() withdrawing a pending done(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe_backends.h"
#include "probe_config.h"
#include "probe_sink.h"
#include "testutil.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/locus-probe-static-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_r(dir);
    return 0;
}

static void sink_merges_and_validates(void **state)
{
    (void)state;
    probe_sink *s = probe_sink_new();
    assert_non_null(s);
    locus_hs_replica r1[] = {{"h1", LOCUS_TIER_MEM}};
    locus_hs_replica r2[] = {{"h2", LOCUS_TIER_SSD}, {"h1", LOCUS_TIER_MEM}};
    locus_hs_block b = {"ds", 0, 100, r1, 1};
    assert_int_equal(probe_sink_put(s, &b), 0);
    b = (locus_hs_block){"ds", 0, 120, r2, 2}; /* same block seen on a replica node */
    assert_int_equal(probe_sink_put(s, &b), 0);
    b = (locus_hs_block){"ds", 1, 5, NULL, 0};
    assert_int_equal(probe_sink_put(s, &b), 0);
    assert_int_equal(probe_sink_blocks(s), 2);
    probe_sink_count_keys(s, 7);
    probe_sink_count_keys(s, 3);
    assert_int_equal(probe_sink_keys(s), 10);

    locus_hs_replica bad_tier[] = {{"h1", (locus_tier)9}};
    b = (locus_hs_block){"ds", 2, 1, bad_tier, 1};
    assert_int_equal(probe_sink_put(s, &b), LOCUS_EINVAL);
    assert_non_null(strstr(probe_sink_errstr(s), "ds/2"));
    b = (locus_hs_block){"", 0, 1, NULL, 0};
    assert_int_equal(probe_sink_put(s, &b), LOCUS_EINVAL);
    assert_int_equal(probe_sink_blocks(s), 2);

    /* Records over the store's caps are skipped and counted by reason, never
     * an error: one odd key must not fail a whole poll. */
    locus_hs_replica empty_host[] = {{"", LOCUS_TIER_MEM}};
    b = (locus_hs_block){"ds", 3, 1, empty_host, 1};
    assert_int_equal(probe_sink_put(s, &b), 0);
    char long_name[PROBE_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    b = (locus_hs_block){long_name, 0, 1, r1, 1};
    assert_int_equal(probe_sink_put(s, &b), 0);
    long_name[PROBE_NAME_MAX] = 0; /* exactly at the cap: kept */
    b = (locus_hs_block){long_name, 0, 1, r1, 1};
    assert_int_equal(probe_sink_put(s, &b), 0);
    char long_host[PROBE_HOST_MAX + 2];
    memset(long_host, 'h', sizeof long_host - 1);
    long_host[sizeof long_host - 1] = 0;
    locus_hs_replica lh[] = {{"h1", LOCUS_TIER_MEM}, {long_host, LOCUS_TIER_MEM}};
    b = (locus_hs_block){"ds", 4, 1, lh, 2};
    assert_int_equal(probe_sink_put(s, &b), 0);
    locus_hs_replica many[PROBE_REPLICAS_MAX + 1];
    char hosts[PROBE_REPLICAS_MAX + 1][16];
    for (int i = 0; i <= PROBE_REPLICAS_MAX; i++) {
        snprintf(hosts[i], sizeof hosts[i], "h%d", i);
        many[i] = (locus_hs_replica){hosts[i], LOCUS_TIER_HDD};
    }
    b = (locus_hs_block){"ds", 5, 1, many, PROBE_REPLICAS_MAX + 1};
    assert_int_equal(probe_sink_put(s, &b), 0);
    assert_int_equal(probe_sink_blocks(s), 3);
    assert_int_equal(probe_sink_skipped(s, PROBE_SKIP_EMPTY_HOST), 1);
    assert_int_equal(probe_sink_skipped(s, PROBE_SKIP_NAME_TOO_LONG), 1);
    assert_int_equal(probe_sink_skipped(s, PROBE_SKIP_HOST_TOO_LONG), 1);
    assert_int_equal(probe_sink_skipped(s, PROBE_SKIP_TOO_MANY_REPLICAS), 1);
    assert_string_equal(probe_skip_reason_name(PROBE_SKIP_TOO_MANY_REPLICAS), "too_many_replicas");
    probe_sink_reset(s);
    assert_int_equal(probe_sink_skipped(s, PROBE_SKIP_EMPTY_HOST), 0);

    /* Many blocks: the table grows and every one stays findable (merge). */
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "set-%d", i % 37);
        b = (locus_hs_block){name, (uint64_t)i, 1, r1, 1};
        assert_int_equal(probe_sink_put(s, &b), 0);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "set-%d", i % 37);
        b = (locus_hs_block){name, (uint64_t)i, 1, r2, 2};
        assert_int_equal(probe_sink_put(s, &b), 0);
    }
    assert_int_equal(probe_sink_blocks(s), 5000);
    probe_sink_reset(s);
    assert_int_equal(probe_sink_blocks(s), 0);
    assert_int_equal(probe_sink_keys(s), 0);
    probe_sink_free(s);
    probe_sink_free(NULL);
}

typedef struct done_rec {
    int calls, status;
    char msg[1024];
} done_rec;

static void on_done(void *ctx, int status, const char *msg)
{
    done_rec *d = ctx;
    d->calls++;
    d->status = status;
    snprintf(d->msg, sizeof d->msg, "%s", msg ? msg : "");
}

typedef struct fixture {
    struct event_base *base;
    probe_config *cfg;
    const probe_backend_type *t;
    void *state;
    probe_sink *sink;
    char path[256];
} fixture;

static void open_fixture(fixture *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s/placements.jsonl", dir);
    size_t slot;
    f->t = probe_backend_find("static", &slot);
    assert_non_null(f->t);
    locus_cfg_override o[] = {{"static.enabled", "true"}, {"static.path", f->path}};
    char err[512] = "";
    assert_int_equal(probe_config_load(NULL, o, 2, &f->cfg, err, sizeof err), 0);
    f->base = event_base_new();
    assert_non_null(f->base);
    assert_int_equal(f->t->create(f->cfg->backend[slot], f->base, &f->state, err, sizeof err), 0);
    f->sink = probe_sink_new();
}

static void close_fixture(fixture *f)
{
    f->t->destroy(f->state);
    probe_sink_free(f->sink);
    event_base_free(f->base);
    probe_config_free(f->cfg);
}

static done_rec run_poll(fixture *f)
{
    done_rec d = {0};
    probe_sink_reset(f->sink);
    assert_int_equal(f->t->poll(f->state, f->sink, on_done, &d), 0);
    assert_int_equal(d.calls, 0); /* never from inside poll() */
    event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_equal(d.calls, 1);
    return d;
}

static void static_reads_file(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f);
    assert_int_equal(tu_write_file(f.path,
        "# placements\n"
        "{\"dataset\":\"d\",\"index\":0,\"bytes\":134217728,\"replicas\":[{\"host\":\"h1\",\"tier\":\"MEM\"}]}\n"
        "\n"
        "{\"dataset\":\"d\",\"index\":1,\"bytes\":10,\"replicas\":[{\"host\":\"h1\",\"tier\":\"ssd\"},{\"host\":\"h2\",\"tier\":\"HDD\"}]}\n"
        "{\"dataset\":\"e\",\"index\":0,\"bytes\":0,\"replicas\":[]}\n"
        "{\"dataset\":\"d\",\"index\":0,\"bytes\":134217728,\"replicas\":[{\"host\":\"h3\",\"tier\":\"MEM\"}]}\n"),
        0);
    done_rec d = run_poll(&f);
    assert_int_equal(d.status, 0);
    assert_int_equal(probe_sink_blocks(f.sink), 3); /* d/0 twice: merged */
    assert_int_equal(probe_sink_keys(f.sink), 4);
    close_fixture(&f);
}

static void static_bad_lines(void **state)
{
    (void)state;
    static const struct { const char *line, *expect; } cases[] = {
        {"{\"dataset\":\"d\",\"index\":0,\"bytes\":1,\"replicas\":[{\"host\":\"h\",\"tier\":\"TAPE\"}]}", "unknown tier 'TAPE'"},
        {"{\"dataset\":\"d\",\"index\":-1,\"bytes\":1}", "\"index\""},
        {"{\"dataset\":\"\",\"index\":0,\"bytes\":1}", "\"dataset\""},
        {"{\"dataset\":\"d\",\"index\":0,\"bytes\":\"big\"}", "\"bytes\""},
        {"{\"dataset\":\"d\",\"index\":0,\"bytes\":1,\"replicas\":{}}", "\"replicas\""},
        {"{\"dataset\":\"d\",\"index\":0,\"bytes\":1,\"replicas\":[{\"tier\":\"MEM\"}]}", "replica 0"},
        {"{\"dataset\":\"d\",\"index\":0,\"bytes\":1,\"replicas\":[{\"host\":\"h\",\"tier\":\"MEM\"}", "not JSON"},
        {"[1,2]", "expected a JSON object"},
        {"{\"dataset\":\"d\",\"dataset\":\"e\",\"index\":0,\"bytes\":1}", "not JSON"},
    };
    fixture f;
    open_fixture(&f);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"dataset\":\"ok\",\"index\":0,\"bytes\":1,\"replicas\":[{\"host\":\"h\",\"tier\":\"MEM\"}]}\n"
                 "\n%s\n", cases[i].line);
        assert_int_equal(tu_write_file(f.path, text), 0);
        done_rec d = run_poll(&f);
        assert_int_not_equal(d.status, 0);
        char where[300];
        snprintf(where, sizeof where, "%s:3: ", f.path);
        if (!strstr(d.msg, where) || !strstr(d.msg, cases[i].expect))
            fail_msg("case %zu: '%s' lacks '%s' or '%s'", i, d.msg, where, cases[i].expect);
    }
    unlink(f.path);
    done_rec d = run_poll(&f);
    assert_int_equal(d.status, LOCUS_ENOTFOUND);
    assert_non_null(strstr(d.msg, f.path));
    close_fixture(&f);
}

static void static_cancel_withdraws_done(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f);
    assert_int_equal(tu_write_file(f.path, "{\"dataset\":\"d\",\"index\":0,\"bytes\":1}\n"), 0);
    done_rec d = {0};
    assert_int_equal(f.t->poll(f.state, f.sink, on_done, &d), 0);
    f.t->cancel(f.state);
    event_base_loop(f.base, EVLOOP_NONBLOCK);
    assert_int_equal(d.calls, 0);
    /* The backend is usable again after a cancel. */
    d = run_poll(&f);
    assert_int_equal(d.status, 0);
    /* A destroy with a poll pending must not call done either. */
    done_rec pending = {0};
    assert_int_equal(f.t->poll(f.state, f.sink, on_done, &pending), 0);
    f.t->cancel(f.state);
    close_fixture(&f);
    assert_int_equal(pending.calls, 0);
}

/* Mutated placement lines (bytes flipped, cut, duplicated) never crash the
 * parser: each poll either succeeds or fails with file:line. Seeded, so a
 * failure replays. */
static void static_mutated_lines(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "{\"dataset\":\"d\",\"index\":0,\"bytes\":134217728,\"replicas\":[{\"host\":\"h1\",\"tier\":\"MEM\"}]}",
        "{\"dataset\":\"e\",\"index\":9223372036854775807,\"bytes\":0,\"replicas\":[]}",
        "{\"dataset\":\"f\",\"index\":1,\"bytes\":2,\"replicas\":[{\"host\":\"a\",\"tier\":\"DISK\"},{\"host\":\"a\",\"tier\":\"DISK\"}]}",
    };
    fixture f;
    open_fixture(&f);
    uint64_t rng = 42;
    int ok = 0, bad = 0;
    for (int round = 0; round < 400; round++) {
        char text[4096] = "";
        size_t used = 0;
        for (int l = 0; l < 3; l++) {
            char line[512];
            snprintf(line, sizeof line, "%s", seeds[(size_t)(round + l) % 3]);
            size_t len = strlen(line);
            int edits = (int)(rng % 4);
            for (int e = 0; e < edits; e++) {
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                size_t at = (size_t)(rng >> 33) % len;
                switch ((rng >> 20) % 3) {
                case 0: line[at] = (char)(1 + (rng >> 8) % 255); break;  /* flip a byte */
                case 1: line[at] = 0; len = strlen(line); break;         /* cut */
                default: line[at] = line[(at + 7) % len]; break;         /* copy */
                }
                if (!len)
                    break;
                len = strlen(line);
                if (!len)
                    break;
            }
            used += (size_t)snprintf(text + used, sizeof text - used, "%s\n", line);
        }
        assert_int_equal(tu_write_file(f.path, text), 0);
        done_rec d = run_poll(&f);
        if (d.status == 0) {
            ok++;
        } else {
            bad++;
            if (!strstr(d.msg, f.path))
                fail_msg("round %d: message '%s' does not name the file", round, d.msg);
        }
    }
    assert_true(ok > 0 && bad > 0); /* both paths were exercised */
    close_fixture(&f);
}

static void static_needs_path(void **state)
{
    (void)state;
    size_t slot;
    const probe_backend_type *t = probe_backend_find("static", &slot);
    probe_config *cfg = NULL;
    char err[512] = "";
    assert_int_equal(probe_config_load(NULL, NULL, 0, &cfg, err, sizeof err), 0);
    struct event_base *base = event_base_new();
    void *st = (void *)1;
    assert_int_equal(t->create(cfg->backend[slot], base, &st, err, sizeof err), LOCUS_ECONFIG);
    assert_null(st);
    assert_non_null(strstr(err, "static.path"));
    event_base_free(base);
    probe_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sink_merges_and_validates),
        cmocka_unit_test(static_reads_file),
        cmocka_unit_test(static_bad_lines),
        cmocka_unit_test(static_cancel_withdraws_done),
        cmocka_unit_test(static_mutated_lines),
        cmocka_unit_test(static_needs_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
