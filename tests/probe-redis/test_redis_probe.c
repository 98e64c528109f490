/* locus-probe, the real binary, against a real 3-master 3-replica Redis
 * Cluster: placements in the hint store (reader API) and on the HTTP API
 * match what the servers hold; a killed master's datasets move to its
 * promoted replica within two poll intervals of the failover; a shard that
 * is gone for good fails every poll, its hints stay until the staleness
 * bound and are dropped after it. Servers and the probe are killed by pid in
 * teardown whatever happened (and die with the test through the parent death
 * signal). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend_redis_slot.h"
#include "locus/hintstore.h"
#include "testutil.h"
#include "redis_cluster_fixture.h"

#define N_DS 9
#define KEYS_PER_DS 30
#define POLL_INTERVAL 0.5
#define STALENESS 3.0

static struct {
    rcf_cluster c;
    char dir[64], store[128], conf[128], log[128];
    int http_port;
    pid_t probe;
} T;

static void ds_name(int d, char *out, size_t cap) { snprintf(out, cap, "ds%05d", d); }

static int ds_master(int d)
{
    char tag[32];
    ds_name(d, tag, sizeof tag);
    return rcf_slot_master(&T.c, probe_redis_key_slot(tag, strlen(tag)));
}

static uint64_t server_bytes(int d, int node)
{
    char tag[32];
    ds_name(d, tag, sizeof tag);
    redisContext *rc = rcf_connect(&T.c, node);
    if (!rc)
        return 0;
    uint64_t sum = 0;
    for (int k = 0; k < KEYS_PER_DS; k++) {
        redisReply *r = redisCommand(rc, "MEMORY USAGE {%s}:%07d", tag, k);
        if (r && r->type == REDIS_REPLY_INTEGER)
            sum += (uint64_t)r->integer;
        if (r)
            freeReplyObject(r);
    }
    redisFree(rc);
    return sum;
}

/* The dataset's placement as the allocator would read it: host of its single
 * placement entry (into host) and total bytes; 0 if absent. */
static int store_dataset(int d, char *host, size_t cap, uint64_t *bytes)
{
    char name[32];
    ds_name(d, name, sizeof name);
    locus_hs *hs = NULL;
    locus_hs_options o = {.read_only = 1};
    if (locus_hs_open(T.store, &o, &hs, NULL, 0))
        return 0;
    locus_hs_snapshot *s = NULL;
    const locus_hs_dataset *ds = NULL;
    int found = 0;
    if (locus_hs_snapshot_open(hs, &s) == 0 && locus_hs_snapshot_dataset(s, name, &ds) == 0) {
        found = 1;
        snprintf(host, cap, "%s", ds->n_placement ? ds->placement[0].host : "");
        *bytes = ds->total_bytes;
    }
    locus_hs_snapshot_close(s);
    locus_hs_close(hs);
    return found;
}

static void dump_log(void)
{
    char *log = tu_slurp(T.log, NULL);
    fprintf(stderr, "---- locus-probe log (tail) ----\n%s\n", log ? log + (strlen(log) > 4000 ? strlen(log) - 4000 : 0) : "");
    free(log);
}

static int teardown(void **state);

/* cmocka runs no teardown after a failed setup: undo here. */
static int setup_steps(void);
static int setup(void **state)
{
    if (setup_steps() == 0)
        return 0;
    teardown(state);
    return -1;
}

static int setup_steps(void)
{
    char err[256];
    T.probe = -1;
    if (rcf_start(&T.c, 3, 1, err, sizeof err)) {
        fprintf(stderr, "cluster: %s\n", err);
        return -1;
    }
    if (rcf_load(&T.c, "ds", N_DS, KEYS_PER_DS, 64))
        return -1;
    strcpy(T.dir, "/tmp/locus-redis-probe-XXXXXX");
    if (!mkdtemp(T.dir))
        return -1;
    snprintf(T.store, sizeof T.store, "%s/hints", T.dir);
    snprintf(T.conf, sizeof T.conf, "%s/probe.conf", T.dir);
    snprintf(T.log, sizeof T.log, "%s/probe.log", T.dir);
    T.http_port = tu_free_port();
    char text[1024];
    snprintf(text, sizeof text,
             "[probe]\nstore_path = %s\nmap_size = 16M\nno_sync = true\nhttp_port = %d\n"
             "log_level = debug\nbackoff_max = %g\n"
             "[redis]\nenabled = true\nseeds = 127.0.0.1:%d, 127.0.0.1:%d\npoll_interval = %g\n"
             "poll_jitter = 0\npoll_timeout = 5\nstaleness = %g\nconnect_timeout = 1\n",
             T.store, T.http_port, POLL_INTERVAL, T.c.nodes[0].port, T.c.nodes[1].port,
             POLL_INTERVAL, STALENESS);
    if (tu_write_file(T.conf, text))
        return -1;
    char *argv[] = {LOCUS_PROBE_BIN, "--config", T.conf, "--foreground", NULL};
    T.probe = tu_spawn(argv, T.log);
    return T.probe > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (T.probe > 0) {
        kill(T.probe, SIGKILL);
        waitpid(T.probe, NULL, 0);
    }
    T.probe = -1;
    rcf_stop(&T.c);
    if (T.dir[0])
        tu_rm_r(T.dir);
    T.dir[0] = '\0';
    return 0;
}

static void placements_failover_and_expiry(void **state)
{
    (void)state;
    char host[64];
    uint64_t bytes = 0;
    /* 1. every dataset appears on its master with the servers' byte count */
    double deadline = tu_now() + 15;
    int all = 0;
    while (!all && tu_now() < deadline) {
        all = 1;
        for (int d = 0; d < N_DS && all; d++)
            all = store_dataset(d, host, sizeof host, &bytes);
        if (!all)
            tu_sleep(0.1);
    }
    if (!all)
        dump_log();
    assert_true(all);
    for (int d = 0; d < N_DS; d++) {
        int m = ds_master(d);
        assert_true(m >= 0);
        assert_true(store_dataset(d, host, sizeof host, &bytes));
        assert_string_equal(host, T.c.nodes[m].host);
        assert_int_equal(bytes, server_bytes(d, m));
    }

    /* 2. the HTTP API serves the same placement */
    char *body = NULL, path[64], name[32];
    ds_name(0, name, sizeof name);
    snprintf(path, sizeof path, "/v1/datasets/%s", name);
    assert_int_equal(tu_http(T.http_port, "GET", path, &body), 200);
    char want[64];
    snprintf(want, sizeof want, "\"%s\"", T.c.nodes[ds_master(0)].host);
    assert_non_null(strstr(body, want));
    assert_non_null(strstr(body, "\"MEM\""));
    free(body);
    assert_int_equal(tu_http(T.http_port, "GET", "/v1/datasets/no-such-dataset", &body), 404);
    free(body);
    snprintf(path, sizeof path, "/v1/hosts/%s", T.c.nodes[ds_master(0)].host);
    assert_int_equal(tu_http(T.http_port, "GET", path, &body), 200);
    assert_non_null(strstr(body, name));
    free(body);
    snprintf(path, sizeof path, "/v1/datasets/%s", name);
    assert_int_equal(tu_http(T.http_port, "GET", "/metrics", &body), 200);
    char keys_line[128];
    snprintf(keys_line, sizeof keys_line, "locus_probe_last_poll_keys{backend=\"redis\"} %d",
             N_DS * KEYS_PER_DS);
    if (!strstr(body, keys_line))
        fprintf(stderr, "%s\n", body);
    assert_non_null(strstr(body, keys_line));
    free(body);

    /* 3. kill the master of dataset 0; its replica takes over; the hints follow */
    int old_master = ds_master(0), replica = -1;
    for (int i = 0; i < T.c.n; i++)
        if (rcf_master_of(&T.c, i) == old_master)
            replica = i;
    assert_true(replica >= 0);
    assert_int_equal(rcf_wait_healthy(&T.c, 10), 0); /* master_link_status:up everywhere */
    double killed = tu_now();
    rcf_kill(&T.c, old_master);
    deadline = killed + 20;
    while (ds_master(0) != replica && tu_now() < deadline)
        tu_sleep(0.05);
    double promoted = tu_now();
    assert_int_equal(ds_master(0), replica);
    int moved = 0;
    while (!moved && tu_now() < promoted + 10) {
        moved = store_dataset(0, host, sizeof host, &bytes) &&
                strcmp(host, T.c.nodes[replica].host) == 0;
        if (!moved)
            tu_sleep(0.02);
    }
    double followed = tu_now();
    printf("    failover: promoted %.2f s after the kill, hints followed %.2f s later\n",
           promoted - killed, followed - promoted);
    if (!moved)
        dump_log();
    assert_true(moved);
    assert_true(followed - promoted <= 2 * POLL_INTERVAL);
    assert_int_equal(bytes, server_bytes(0, replica));

    /* 4. stop the promoted replica for good: its slots have no master, every
     * poll fails, the hints stay until the staleness bound, then go */
    rcf_kill(&T.c, replica);
    double stopped = tu_now();
    tu_sleep(STALENESS / 3);
    assert_true(store_dataset(0, host, sizeof host, &bytes)); /* still trusted */
    assert_string_equal(host, T.c.nodes[replica].host);
    int gone = 0;
    while (!gone && tu_now() < stopped + STALENESS + 4 * POLL_INTERVAL + 2) {
        gone = !store_dataset(0, host, sizeof host, &bytes);
        if (!gone)
            tu_sleep(0.05);
    }
    double dropped = tu_now();
    printf("    shard gone: hints dropped %.2f s after the node stopped (staleness %.1f s)\n",
           dropped - stopped, STALENESS);
    if (!gone)
        dump_log();
    assert_true(gone);
    assert_true(dropped - stopped >= STALENESS - 2 * POLL_INTERVAL);
    assert_int_equal(tu_http(T.http_port, "GET", path, &body), 404);
    free(body);
    assert_int_equal(tu_http(T.http_port, "GET", "/metrics", &body), 200);
    const char *f = strstr(body, "locus_probe_poll_failures_total{backend=\"redis\"} ");
    assert_non_null(f);
    assert_true(atoi(f + strlen("locus_probe_poll_failures_total{backend=\"redis\"} ")) >= 1);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(placements_failover_and_expiry, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
