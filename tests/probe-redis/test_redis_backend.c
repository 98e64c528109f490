/* The Redis backend against a real 3-master 3-replica Redis Cluster (and a
 * scripted fake node for replies a real server never sends), through the
 * locus_probe_core library: a real sink committed to a real hint store in a
 * temporary folder, read back with the reader API.
 *
 * Checked: bytes per dataset equal the servers' own MEMORY USAGE sums and sit
 * on the master that serves the dataset's slot; replicas after READONLY;
 * block_bytes splitting; the CLUSTER SLOTS fallback (CLUSTER SHARDS denied by
 * an ACL); a MOVED reply restarting the poll from the slot's owner; AUTH with
 * requirepass/masterauth (no password, wrong password never echoed, password
 * from the environment); garbage and malformed replies failing the poll with
 * the node and command named; an unreachable seed; cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "backend_redis.h"
#include "backend_redis_slot.h"
#include "fake_redis.h"
#include "locus/hintstore.h"
#include "probe_sink.h"
#include "testutil.h"
#include "redis_cluster_fixture.h"
#include "redis_poll_harness.h"

#define N_DS 12
#define KEYS_PER_DS 40

static struct {
    rcf_cluster c;
    char dir[64], store[128];
    locus_hs *hs;
    probe_sink *sink;
    char seeds[64];
    uint64_t expect_bytes[N_DS];
    int master[N_DS];  /* node serving the dataset's slot */
    int64_t clock_ms;
} T;

static void ds_name(int d, char *out, size_t cap) { snprintf(out, cap, "ds%05d", d); }

/* Sum of MEMORY USAGE of the dataset's keys, asked of its master directly. */
static uint64_t server_bytes(int d)
{
    char tag[32];
    ds_name(d, tag, sizeof tag);
    redisContext *rc = rcf_connect(&T.c, T.master[d]);
    assert_non_null(rc);
    uint64_t sum = 0;
    for (int k = 0; k < KEYS_PER_DS; k++) {
        redisReply *r = redisCommand(rc, "MEMORY USAGE {%s}:%07d", tag, k);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        sum += (uint64_t)r->integer;
        freeReplyObject(r);
    }
    redisFree(rc);
    return sum;
}

static int group_teardown(void **state);

/* On any failure everything started so far is torn down here: cmocka runs
 * no group teardown after a failed setup. */
static int group_setup_steps(void)
{
    char err[256];
    if (rcf_start(&T.c, 3, 1, err, sizeof err)) {
        fprintf(stderr, "cluster: %s\n", err);
        return -1;
    }
    if (rcf_load(&T.c, "ds", N_DS, KEYS_PER_DS, 100))
        return -1;
    /* a key outside every dataset pattern: scanned, never counted */
    redisContext *rc = rcf_connect(&T.c, rcf_slot_master(&T.c, probe_redis_key_slot("stray", 5)));
    if (!rc)
        return -1;
    freeReplyObject(redisCommand(rc, "SET stray x"));
    redisFree(rc);
    snprintf(T.seeds, sizeof T.seeds, "127.0.0.1:%d", T.c.nodes[0].port);
    strcpy(T.dir, "/tmp/locus-redis-store-XXXXXX");
    if (!mkdtemp(T.dir))
        return -1;
    snprintf(T.store, sizeof T.store, "%s/hints", T.dir);
    locus_hs_options o = {.create = 1, .no_sync = 1, .map_size = 64u << 20};
    if (locus_hs_open(T.store, &o, &T.hs, err, sizeof err))
        return -1;
    T.sink = probe_sink_new();
    return T.sink ? 0 : -1;
}

static int group_setup(void **state)
{
    if (group_setup_steps() == 0)
        return 0;
    group_teardown(state);
    return -1;
}

static int group_teardown(void **state)
{
    (void)state;
    probe_sink_free(T.sink);
    T.sink = NULL;
    locus_hs_close(T.hs);
    T.hs = NULL;
    if (T.dir[0])
        tu_rm_r(T.dir);
    T.dir[0] = '\0';
    rcf_stop(&T.c);
    return 0;
}

static int setup_expect(void)
{
    for (int d = 0; d < N_DS; d++) {
        char tag[32];
        ds_name(d, tag, sizeof tag);
        T.master[d] = rcf_slot_master(&T.c, probe_redis_key_slot(tag, strlen(tag)));
        if (T.master[d] < 0)
            return -1;
        T.expect_bytes[d] = server_bytes(d);
    }
    return 0;
}

/* Polls with the overrides (seeds added) and commits to the store. */
static void poll_ok(const char **kv, size_t n, rph_result *res, probe_redis_stats *st)
{
    locus_cfg_override ov[16] = {{"redis.seeds", T.seeds}, {"redis.poll_timeout", "20"}};
    size_t n_ov = 2;
    for (size_t i = 0; i + 1 < n; i += 2)
        ov[n_ov++] = (locus_cfg_override){kv[i], kv[i + 1]};
    rph h;
    char err[512];
    assert_int_equal(rph_open(&h, ov, n_ov, err, sizeof err), 0);
    int rc = rph_poll(&h, T.sink, res, 20);
    if (rc || res->status)
        fprintf(stderr, "poll: %s\n", res->msg);
    assert_int_equal(rc, 0);
    assert_int_equal(res->done_calls, 1);
    assert_int_equal(res->status, 0);
    if (st)
        probe_redis_get_stats(h.state, st);
    rph_close(&h);
    T.clock_ms += 1000;
    assert_int_equal(probe_sink_commit(T.sink, T.hs, "redis", NULL, 0, T.clock_ms, err, sizeof err), 0);
}

/* Polls expecting a failure; returns the message. */
static void poll_fail(const char **kv, size_t n, rph_result *res)
{
    locus_cfg_override ov[16] = {{"redis.poll_timeout", "10"}, {"redis.connect_timeout", "1"}};
    size_t n_ov = 2;
    for (size_t i = 0; i + 1 < n; i += 2)
        ov[n_ov++] = (locus_cfg_override){kv[i], kv[i + 1]};
    rph h;
    char err[512];
    assert_int_equal(rph_open(&h, ov, n_ov, err, sizeof err), 0);
    assert_int_equal(rph_poll(&h, T.sink, res, 10), 0);
    printf("    poll failed as expected: %s\n", res->msg);
    assert_int_equal(res->done_calls, 1);
    assert_int_not_equal(res->status, 0);
    rph_close(&h);
}

static const locus_hs_dataset *get_ds(locus_hs_snapshot *s, int d)
{
    char name[32];
    ds_name(d, name, sizeof name);
    const locus_hs_dataset *ds = NULL;
    assert_int_equal(locus_hs_snapshot_dataset(s, name, &ds), 0);
    return ds;
}

static uint64_t bytes_on(const locus_hs_dataset *ds, const char *host)
{
    for (size_t i = 0; i < ds->n_placement; i++)
        if (strcmp(ds->placement[i].host, host) == 0) {
            assert_int_equal(ds->placement[i].tier, LOCUS_TIER_MEM);
            return ds->placement[i].bytes;
        }
    return 0;
}

static void full_poll_matches_servers(void **state)
{
    (void)state;
    assert_int_equal(setup_expect(), 0);
    rph_result res;
    probe_redis_stats st;
    poll_ok(NULL, 0, &res, &st);
    assert_int_equal(st.last_masters, 3);
    assert_int_equal(st.last_replicas, 0);
    assert_int_equal(st.last_keys_scanned, N_DS * KEYS_PER_DS); /* MATCH {*}* skips "stray" */
    assert_int_equal(st.slots_fallbacks, 0);
    assert_int_equal(probe_sink_blocks(T.sink), N_DS);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(T.hs, &s), 0);
    for (int d = 0; d < N_DS; d++) {
        const locus_hs_dataset *ds = get_ds(s, d);
        assert_int_equal(ds->total_bytes, T.expect_bytes[d]);
        assert_int_equal(ds->block_count, 1);
        assert_int_equal(ds->n_placement, 1);
        assert_string_equal(ds->placement[0].host, T.c.nodes[T.master[d]].host);
        assert_int_equal(ds->placement[0].bytes, T.expect_bytes[d]);
    }
    const locus_hs_dataset *ds;
    assert_int_equal(locus_hs_snapshot_dataset(s, "stray", &ds), LOCUS_ENOTFOUND);
    locus_hs_snapshot_close(s);
}

/* A key whose dataset name is longer than the store holds (401 bytes) used
 * to fail every poll, and after the staleness bound drop the whole cluster's
 * datasets: it is skipped and counted, and the poll succeeds. */
static void long_key_name_skipped(void **state)
{
    (void)state;
    char name[PROBE_NAME_MAX + 2], key[PROBE_NAME_MAX + 16];
    memset(name, 'L', sizeof name - 1);
    name[sizeof name - 1] = 0;
    snprintf(key, sizeof key, "{%s}:k", name);
    int node = rcf_slot_master(&T.c, probe_redis_key_slot(name, strlen(name)));
    assert_true(node >= 0);
    redisContext *rc = rcf_connect(&T.c, node);
    assert_non_null(rc);
    redisReply *r = redisCommand(rc, "SET %s v", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    rph_result res;
    poll_ok(NULL, 0, &res, NULL);
    assert_int_equal(probe_sink_blocks(T.sink), N_DS);
    assert_int_equal(probe_sink_skipped(T.sink, PROBE_SKIP_NAME_TOO_LONG), 1);
    r = redisCommand(rc, "DEL %s", key);
    freeReplyObject(r);
    redisFree(rc);
}

static void replicas_are_published(void **state)
{
    (void)state;
    const char *kv[] = {"redis.read_replicas", "true"};
    rph_result res;
    probe_redis_stats st;
    poll_ok(kv, 2, &res, &st);
    assert_int_equal(st.last_replicas, 3);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(T.hs, &s), 0);
    for (int d = 0; d < N_DS; d++) {
        const locus_hs_dataset *ds = get_ds(s, d);
        for (size_t i = 0; i < ds->n_placement; i++)
            printf("    %s on %s: %llu\n", ds->name, ds->placement[i].host,
                   (unsigned long long)ds->placement[i].bytes);
        assert_int_equal(ds->n_placement, 2);
        assert_int_equal(bytes_on(ds, T.c.nodes[T.master[d]].host), T.expect_bytes[d]);
        int replica = -1;
        for (int i = 0; i < T.c.n; i++)
            if (rcf_master_of(&T.c, i) == T.master[d])
                replica = i;
        assert_true(replica >= 0);
        assert_int_equal(bytes_on(ds, T.c.nodes[replica].host), T.expect_bytes[d]);
    }
    locus_hs_snapshot_close(s);
}

static void block_bytes_split(void **state)
{
    (void)state;
    const char *kv[] = {"redis.block_bytes", "1000", "redis.datasets", "x=nomatch:, {*}"};
    rph_result res;
    poll_ok(kv, 4, &res, NULL);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(T.hs, &s), 0);
    for (int d = 0; d < N_DS; d++) {
        const locus_hs_dataset *ds = get_ds(s, d);
        assert_int_equal(ds->total_bytes, T.expect_bytes[d]);
        assert_int_equal(ds->block_count, (T.expect_bytes[d] + 999) / 1000);
    }
    locus_hs_snapshot_close(s);
}

static void slots_fallback_when_shards_denied(void **state)
{
    (void)state;
    assert_int_equal(rcf_all(&T.c, "ACL SETUSER default -cluster|shards"), 0);
    rph_result res;
    probe_redis_stats st;
    poll_ok(NULL, 0, &res, &st);
    assert_int_equal(rcf_all(&T.c, "ACL SETUSER default +cluster|shards"), 0);
    assert_int_equal(st.slots_fallbacks, 1);
    assert_int_equal(st.last_masters, 3);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(T.hs, &s), 0);
    for (int d = 0; d < N_DS; d++) {
        const locus_hs_dataset *ds = get_ds(s, d);
        assert_int_equal(ds->total_bytes, T.expect_bytes[d]);
        assert_string_equal(ds->placement[0].host, T.c.nodes[T.master[d]].host); /* hostname metadata */
    }
    locus_hs_snapshot_close(s);
}

/* A seed that lies: CLUSTER SHARDS unknown, CLUSTER SLOTS names a replica as
 * master of every slot. Its MEMORY USAGE answers MOVED to the real master. */
static char lie_slots[512];
static const char *lying_seed(int argc, char **argv, void *arg)
{
    (void)arg;
    if (argc >= 2 && strcasecmp(argv[0], "CLUSTER") == 0 && strcasecmp(argv[1], "SLOTS") == 0)
        return lie_slots;
    return "-ERR unknown subcommand\r\n";
}

static void moved_restarts_from_owner(void **state)
{
    (void)state;
    int replica = -1;
    for (int i = 0; i < T.c.n && replica < 0; i++)
        if (rcf_master_of(&T.c, i) >= 0)
            replica = i;
    assert_true(replica >= 0);
    redisContext *rc = rcf_connect(&T.c, replica);
    assert_non_null(rc);
    redisReply *role = redisCommand(rc, "ROLE");
    assert_non_null(role);
    assert_string_equal(role->element[0]->str, "slave");
    freeReplyObject(role);
    redisReply *size = redisCommand(rc, "DBSIZE");
    assert_true(size && size->type == REDIS_REPLY_INTEGER && size->integer > 0);
    freeReplyObject(size);
    redisFree(rc);
    snprintf(lie_slots, sizeof lie_slots,
             "*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:%d\r\n$40\r\n"
             "0000000000000000000000000000000000000000\r\n",
             T.c.nodes[replica].port);
    fake_redis *f = fake_redis_start(lying_seed, NULL);
    assert_non_null(f);
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d", fake_redis_port(f));
    const char *kv[] = {"redis.seeds", seeds};
    rph_result res;
    probe_redis_stats st;
    poll_ok(kv, 2, &res, &st);
    fake_redis_stop(f);
    assert_int_equal(st.moved_restarts, 1);
    assert_int_equal(st.topology_refreshes, 2);
    assert_int_equal(st.last_masters, 3);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(T.hs, &s), 0);
    for (int d = 0; d < N_DS; d++) {
        const locus_hs_dataset *ds = get_ds(s, d);
        assert_int_equal(ds->total_bytes, T.expect_bytes[d]);
        assert_string_equal(ds->placement[0].host, T.c.nodes[T.master[d]].host);
    }
    locus_hs_snapshot_close(s);
}

static void auth_required(void **state)
{
    (void)state;
    assert_int_equal(rcf_all(&T.c, "CONFIG SET masterauth s3cret-pw"), 0);
    assert_int_equal(rcf_all(&T.c, "CONFIG SET requirepass s3cret-pw"), 0);
    strcpy(T.c.password, "s3cret-pw");
    rph_result res;
    poll_fail((const char *[]){"redis.seeds", T.seeds}, 2, &res);
    assert_non_null(strstr(res.msg, "NOAUTH"));

    const char *wrong[] = {"redis.seeds", T.seeds, "redis.password", "not-the-pw-4711"};
    poll_fail(wrong, 4, &res);
    assert_non_null(strstr(res.msg, "AUTH"));
    assert_non_null(strstr(res.msg, T.seeds));
    assert_null(strstr(res.msg, "not-the-pw-4711"));

    setenv("LOCUS_TEST_REDIS_PW", "s3cret-pw", 1);
    const char *good[] = {"redis.password_env", "LOCUS_TEST_REDIS_PW", "redis.read_replicas", "true"};
    probe_redis_stats st;
    poll_ok(good, 4, &res, &st);
    assert_int_equal(st.last_masters, 3);
    assert_int_equal(st.last_replicas, 3);
    unsetenv("LOCUS_TEST_REDIS_PW");
    assert_int_equal(rcf_all(&T.c, "CONFIG SET requirepass %s", ""), 0);
    T.c.password[0] = '\0';
    assert_int_equal(rcf_all(&T.c, "CONFIG SET masterauth %s", ""), 0);
}

static const char *garbage(int argc, char **argv, void *arg)
{
    (void)argc;
    (void)argv;
    (void)arg;
    return "%%% this is not RESP\r\n";
}

/* A reply that answers no command (here one sent right after the topology)
 * tripped an assert() inside hiredis and aborted the whole probe: the
 * backend's reader refuses it (the connection fails, the probe lives on). */
static char extra_reply[1024];
static const char *unsolicited(int argc, char **argv, void *arg)
{
    (void)arg;
    if (argc >= 1 && strcasecmp(argv[0], "SCAN") == 0)
        return "*2\r\n$1\r\n0\r\n*0\r\n:1\r\n"; /* the scan's end, then a stray reply */
    return extra_reply;
}

static void unsolicited_reply_does_not_abort(void **state)
{
    (void)state;
    fake_redis *f = fake_redis_start(unsolicited, NULL);
    assert_non_null(f);
    int port = fake_redis_port(f);
    char node[512];
    int nl = snprintf(node, sizeof node,
                      "*12\r\n$2\r\nid\r\n$2\r\nn1\r\n$4\r\nport\r\n:%d\r\n$2\r\nip\r\n$9\r\n"
                      "127.0.0.1\r\n$8\r\nhostname\r\n$5\r\nnode1\r\n$4\r\nrole\r\n$6\r\n"
                      "master\r\n$6\r\nhealth\r\n$6\r\nonline\r\n",
                      port);
    snprintf(extra_reply, sizeof extra_reply,
             "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n%.*s",
             nl, node);
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d", port);
    locus_cfg_override ov[] = {{"redis.seeds", seeds}, {"redis.connect_timeout", "1"}};
    rph h;
    char err[512];
    assert_int_equal(rph_open(&h, ov, 2, err, sizeof err), 0);
    rph_result res;
    assert_int_equal(rph_poll(&h, T.sink, &res, 5), 0); /* still alive: done was called */
    assert_int_equal(res.done_calls, 1);
    rph_run_for(&h, 0.2); /* the stray reply is read by now */
    rph_close(&h);
    fake_redis_stop(f);
}

static void garbage_fails_cleanly(void **state)
{
    (void)state;
    fake_redis *f = fake_redis_start(garbage, NULL);
    assert_non_null(f);
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d", fake_redis_port(f));
    rph_result res;
    poll_fail((const char *[]){"redis.seeds", seeds}, 2, &res);
    fake_redis_stop(f);
    assert_non_null(strstr(res.msg, seeds));
    assert_non_null(strstr(res.msg, "CLUSTER SHARDS"));
    assert_non_null(strstr(res.msg, "Protocol error"));
}

/* Valid RESP, wrong shapes: a topology of one shard on the fake itself, then
 * a SCAN reply whose key list is an integer. */
static char self_shards[512], partial_shards[512];
static const char *bad_shapes(int argc, char **argv, void *arg)
{
    int *phase = arg;
    if (argc >= 2 && strcasecmp(argv[1], "SHARDS") == 0)
        return *phase == 0 ? ":42\r\n" : *phase == 1 ? self_shards : partial_shards;
    if (strcasecmp(argv[0], "SCAN") == 0)
        return "*2\r\n$1\r\n0\r\n:7\r\n";
    return "-ERR unexpected\r\n";
}

static void malformed_replies_name_node_and_command(void **state)
{
    (void)state;
    int phase = 0;
    fake_redis *f = fake_redis_start(bad_shapes, &phase);
    assert_non_null(f);
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d", fake_redis_port(f));
    snprintf(self_shards, sizeof self_shards,
             "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n*10\r\n"
             "$2\r\nid\r\n$3\r\nabc\r\n$4\r\nport\r\n:%d\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
             "$4\r\nrole\r\n$6\r\nmaster\r\n$6\r\nhealth\r\n$6\r\nonline\r\n",
             fake_redis_port(f));
    const char *hi = strstr(self_shards, ":16383"); /* serve slots 0-100 only */
    snprintf(partial_shards, sizeof partial_shards, "%.*s:100%s", (int)(hi - self_shards),
             self_shards, hi + 6);
    rph_result res;
    poll_fail((const char *[]){"redis.seeds", seeds}, 2, &res);
    assert_int_equal(res.status, LOCUS_EPARSE);
    assert_non_null(strstr(res.msg, seeds));
    assert_non_null(strstr(res.msg, "CLUSTER SHARDS: malformed reply"));
    phase = 2;
    poll_fail((const char *[]){"redis.seeds", seeds}, 2, &res);
    assert_int_equal(res.status, LOCUS_EIO);
    assert_non_null(strstr(res.msg, seeds));
    assert_non_null(strstr(res.msg, "only 101 of 16384 slots"));
    phase = 0;
    phase = 1;
    poll_fail((const char *[]){"redis.seeds", seeds}, 2, &res);
    fake_redis_stop(f);
    assert_int_equal(res.status, LOCUS_EPARSE);
    assert_non_null(strstr(res.msg, seeds));
    assert_non_null(strstr(res.msg, "SCAN: malformed reply"));
}

static void unreachable_seed(void **state)
{
    (void)state;
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d", tu_free_port());
    rph_result res;
    poll_fail((const char *[]){"redis.seeds", seeds}, 2, &res);
    assert_int_equal(res.status, LOCUS_EIO);
    assert_non_null(strstr(res.msg, seeds));
    assert_non_null(strstr(res.msg, "connect"));

    /* the same instance backs off: an immediate second poll does not dial */
    locus_cfg_override ov[] = {{"redis.seeds", seeds}};
    rph h;
    char err[256];
    assert_int_equal(rph_open(&h, ov, 1, err, sizeof err), 0);
    assert_int_equal(rph_poll(&h, T.sink, &res, 10), 0);
    assert_int_not_equal(res.status, 0);
    probe_redis_stats st;
    probe_redis_get_stats(h.state, &st);
    assert_int_equal(st.connects, 1);
    assert_int_equal(rph_poll(&h, T.sink, &res, 10), 0);
    assert_non_null(strstr(res.msg, "next attempt in"));
    probe_redis_get_stats(h.state, &st);
    assert_int_equal(st.connects, 1);
    assert_int_equal(st.polls_failed, 2);
    rph_run_for(&h, 0.15); /* past the first 100 ms backoff: dialled again */
    assert_int_equal(rph_poll(&h, T.sink, &res, 10), 0);
    probe_redis_get_stats(h.state, &st);
    assert_int_equal(st.connects, 2);
    rph_close(&h);
}

static void count_done(void *ctx, int status, const char *msg)
{
    (void)status;
    (void)msg;
    ++*(int *)ctx;
}

/* A listener whose accept queue is full: the kernel drops further SYNs, so a
 * connect never completes and connect_timeout must end it. */
static void connect_timeout_fails_the_node(void **state)
{
    (void)state;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 0), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
    int fill[2];
    for (int i = 0; i < 2; i++) { /* backlog 0 still queues one; fill it */
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof a);
    }
    tu_sleep(0.05);
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d", ntohs(a.sin_port));
    locus_cfg_override ov[] = {{"redis.seeds", seeds}, {"redis.connect_timeout", "0.3"}};
    rph h;
    char err[256];
    assert_int_equal(rph_open(&h, ov, 2, err, sizeof err), 0);
    rph_result res;
    assert_int_equal(rph_poll(&h, T.sink, &res, 10), 0);
    printf("    poll failed as expected: %s (%.2f s)\n", res.msg, res.seconds);
    assert_int_equal(res.status, LOCUS_EIO);
    assert_non_null(strstr(res.msg, seeds));
    assert_non_null(strstr(res.msg, "connect: timed out after 0.3s"));
    assert_true(res.seconds >= 0.25 && res.seconds < 3);
    rph_close(&h);
    for (int i = 0; i < 2; i++)
        close(fill[i]);
    close(lfd);
}

static void cancel_withdraws_done(void **state)
{
    (void)state;
    locus_cfg_override ov[] = {{"redis.seeds", T.seeds}};
    rph h;
    char err[256];
    assert_int_equal(rph_open(&h, ov, 1, err, sizeof err), 0);
    probe_sink_reset(T.sink);
    int calls = 0;
    assert_int_equal(probe_backend_redis.poll(h.state, T.sink, count_done, &calls), 0);
    assert_int_equal(probe_backend_redis.poll(h.state, T.sink, count_done, &calls), LOCUS_EBUSY);
    probe_backend_redis.cancel(h.state);
    rph_run_for(&h, 0.2);
    assert_int_equal(calls, 0);
    /* the next poll works on the same instance */
    rph_result res;
    assert_int_equal(rph_poll(&h, T.sink, &res, 20), 0);
    assert_int_equal(res.status, 0);
    assert_int_equal(probe_sink_blocks(T.sink), N_DS);
    rph_close(&h);
}

static const char *silent(int argc, char **argv, void *arg)
{
    (void)argc;
    (void)argv;
    (void)arg;
    return ""; /* never answers */
}

static void cancel_with_commands_in_flight(void **state)
{
    (void)state;
    fake_redis *f = fake_redis_start(silent, NULL);
    assert_non_null(f);
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d", fake_redis_port(f));
    locus_cfg_override ov[] = {{"redis.seeds", seeds}};
    rph h;
    char err[256];
    assert_int_equal(rph_open(&h, ov, 1, err, sizeof err), 0);
    int calls = 0;
    assert_int_equal(probe_backend_redis.poll(h.state, T.sink, count_done, &calls), 0);
    double t0 = tu_now();
    while (fake_redis_commands(f) == 0 && tu_now() < t0 + 5)
        rph_run_for(&h, 0.01);
    assert_true(fake_redis_commands(f) >= 1); /* CLUSTER SHARDS waits for an answer */
    probe_backend_redis.cancel(h.state);
    rph_run_for(&h, 0.2);
    assert_int_equal(calls, 0);
    rph_close(&h);
    fake_redis_stop(f);
}

static void config_errors(void **state)
{
    (void)state;
    rph h;
    char err[256];
    locus_cfg_override a[] = {{"redis.seeds", "nohostport"}};
    assert_int_equal(rph_open(&h, a, 1, err, sizeof err), LOCUS_ECONFIG);
    assert_non_null(strstr(err, "redis.seeds"));
    locus_cfg_override b[] = {{"redis.datasets", "{*"}};
    assert_int_equal(rph_open(&h, b, 1, err, sizeof err), LOCUS_ECONFIG);
    assert_non_null(strstr(err, "redis.datasets"));
    unsetenv("LOCUS_TEST_REDIS_NOPE");
    locus_cfg_override c[] = {{"redis.password_env", "LOCUS_TEST_REDIS_NOPE"}};
    assert_int_equal(rph_open(&h, c, 1, err, sizeof err), LOCUS_ECONFIG);
    assert_non_null(strstr(err, "LOCUS_TEST_REDIS_NOPE"));
}

/* Last test: it kills a node. A replica that is down is left out of the
 * poll, which still succeeds with the masters (and the live replicas). */
static void dead_replica_left_out(void **state)
{
    (void)state;
    int replica = -1;
    for (int i = 0; i < T.c.n && replica < 0; i++)
        if (rcf_master_of(&T.c, i) >= 0)
            replica = i;
    assert_true(replica >= 0);
    int master = rcf_master_of(&T.c, replica);
    rcf_kill(&T.c, replica);
    const char *kv[] = {"redis.read_replicas", "true", "redis.connect_timeout", "1"};
    rph_result res;
    probe_redis_stats st;
    poll_ok(kv, 4, &res, &st);
    assert_int_equal(st.last_masters, 3);
    assert_int_equal(st.last_replicas, 2);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(T.hs, &s), 0);
    int checked = 0;
    for (int d = 0; d < N_DS; d++) {
        const locus_hs_dataset *ds = get_ds(s, d);
        assert_int_equal(bytes_on(ds, T.c.nodes[T.master[d]].host), T.expect_bytes[d]);
        assert_int_equal(bytes_on(ds, T.c.nodes[replica].host), 0);
        if (T.master[d] == master) {
            assert_int_equal(ds->n_placement, 1);
            checked++;
        } else {
            assert_int_equal(ds->n_placement, 2);
        }
    }
    locus_hs_snapshot_close(s);
    printf("    %d datasets on the shard of the dead replica\n", checked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_poll_matches_servers),
        cmocka_unit_test(long_key_name_skipped),
        cmocka_unit_test(replicas_are_published),
        cmocka_unit_test(block_bytes_split),
        cmocka_unit_test(slots_fallback_when_shards_denied),
        cmocka_unit_test(moved_restarts_from_owner),
        cmocka_unit_test(auth_required),
        cmocka_unit_test(garbage_fails_cleanly),
        cmocka_unit_test(unsolicited_reply_does_not_abort),
        cmocka_unit_test(malformed_replies_name_node_and_command),
        cmocka_unit_test(unreachable_seed),
        cmocka_unit_test(connect_timeout_fails_the_node),
        cmocka_unit_test(cancel_withdraws_done),
        cmocka_unit_test(cancel_with_commands_in_flight),
        cmocka_unit_test(config_errors),
        cmocka_unit_test(dead_replica_left_out),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
