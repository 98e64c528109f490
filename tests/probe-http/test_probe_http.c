/* Contract tests of the Alluxio and HDFS backends of locus-probe.
 *
 * Each test owns an event loop, a scripted HTTP server on a free loopback
 * port (http_test_server.c) serving bodies shaped as the Alluxio and WebHDFS
 * documentation shows (data/README.md), the daemon's real sink, and drives
 * the backend only through its probe_backend_type. A successful poll is
 * committed to a real LMDB hint store in a temporary folder and read back,
 * so the checks see exactly the blocks, hosts and tiers the daemon would
 * store. Failures (bad JSON, cut bodies, wrong types, HTTP errors, refused
 * connections, silent servers) must end the poll once, from the loop, with
 * the URL in the message and nothing put into the sink. Every wait is
 * bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend.h"
#include "http_fetch.h"
#include "http_test_server.h"
#include "http_walk.h"
#include "locus/config.h"
#include "locus/error.h"
#include "locus/hintstore.h"
#include "probe_sink.h"
#include "testutil.h"

#define WAIT_S 5.0 /* bound on any one poll */

typedef struct harness {
    struct event_base *base;
    hts *srv;
    const probe_backend_type *type;
    void *cfg;
    void *state;
    probe_sink *sink;
    int in_poll, done_inside_poll, done_calls, status;
    int waited; /* run_loop's timer fired */
    char msg[2048];
    char dir[64];
    locus_hs *hs;
    locus_hs_snapshot *snap;
} harness;

static harness *H(void **state) { return *state; }

static int setup(void **state)
{
    harness *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    *state = h;
    h->base = event_base_new();
    h->srv = h->base ? hts_new(h->base) : NULL;
    h->sink = probe_sink_new();
    strcpy(h->dir, "/tmp/locus-probe-http-XXXXXX");
    if (!h->srv || !h->sink || !mkdtemp(h->dir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    harness *h = H(state);
    if (h->state)
        h->type->destroy(h->state);
    if (h->cfg) {
        locus_cfg_free(h->type->keys, h->type->n_keys, h->cfg);
        free(h->cfg);
    }
    locus_hs_snapshot_close(h->snap);
    locus_hs_close(h->hs);
    probe_sink_free(h->sink);
    hts_free(h->srv);
    if (h->base)
        event_base_free(h->base);
    if (h->dir[0] == '/')
        tu_rm_r(h->dir);
    free(h);
    return 0;
}

/* ---- driving the backend ---------------------------------------------------- */

/* Loads the backend's config from overrides ("key=value", section added). */
static int configure(harness *h, const probe_backend_type *type, char *err, size_t errlen, ...)
{
    h->type = type;
    h->cfg = calloc(1, type->config_size);
    assert_non_null(h->cfg);
    locus_cfg_override ov[16];
    char keys[16][64];
    size_t n = 0;
    va_list ap;
    va_start(ap, errlen);
    const char *kv;
    while ((kv = va_arg(ap, const char *)) != NULL && n < 16) {
        const char *eq = strchr(kv, '=');
        assert_non_null(eq);
        snprintf(keys[n], sizeof keys[n], "%s.%.*s", type->name, (int)(eq - kv), kv);
        ov[n].key = keys[n];
        ov[n].value = eq + 1;
        n++;
    }
    va_end(ap);
    int rc = locus_cfg_load(type->keys, type->n_keys, h->cfg, type->config_size, NULL, ov, n,
                            err, errlen);
    if (rc)
        return rc;
    return type->create(h->cfg, h->base, &h->state, err, errlen);
}

static void on_done(void *ctx, int status, const char *errmsg)
{
    harness *h = ctx;
    h->done_calls++;
    h->status = status;
    snprintf(h->msg, sizeof h->msg, "%s", errmsg ? errmsg : "");
    if (h->in_poll)
        h->done_inside_poll = 1;
    event_base_loopbreak(h->base);
}

static void on_wait_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    harness *h = arg;
    h->waited = 1;
    event_base_loopbreak(h->base);
}

/* Runs the loop for up to seconds, or until done() when until_done. */
static void run_loop(harness *h, double seconds, int until_done)
{
    struct event *t = evtimer_new(h->base, on_wait_timer, h);
    assert_non_null(t);
    struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    h->waited = 0;
    evtimer_add(t, &tv);
    int calls = h->done_calls;
    while (!h->waited && !(until_done && h->done_calls > calls))
        event_base_loop(h->base, EVLOOP_ONCE);
    event_free(t);
}

/* One poll to completion; returns its status. */
static int poll_once(harness *h)
{
    int before = h->done_calls;
    h->in_poll = 1;
    int rc = h->type->poll(h->state, h->sink, on_done, h);
    h->in_poll = 0;
    assert_int_equal(rc, 0);
    assert_int_equal(h->done_calls, before); /* never from inside poll() */
    run_loop(h, WAIT_S, 1);
    assert_int_equal(h->done_calls, before + 1);
    assert_false(h->done_inside_poll);
    return h->status;
}

/* ---- reading back what the sink would commit -------------------------------- */

typedef struct exp_rep {
    const char *host;
    locus_tier tier;
} exp_rep;

typedef struct exp_block {
    uint64_t bytes;
    size_t n;
    exp_rep reps[4];
} exp_block;

static void commit(harness *h)
{
    char err[512];
    locus_hs_options o = {0};
    o.create = 1;
    o.no_sync = 1;
    if (!h->hs)
        assert_int_equal(locus_hs_open(h->dir, &o, &h->hs, err, sizeof err), 0);
    locus_hs_snapshot_close(h->snap);
    h->snap = NULL;
    int rc = probe_sink_commit(h->sink, h->hs, h->type->name, NULL, 0, 1764150000000LL, err,
                               sizeof err);
    if (rc)
        fail_msg("commit: %s", err);
    assert_int_equal(locus_hs_snapshot_open(h->hs, &h->snap), 0);
}

typedef struct collect {
    const exp_block *exp;
    size_t n, seen;
} collect;

static int check_block(const locus_hs_block_view *b, void *arg)
{
    collect *c = arg;
    if (b->index >= c->n)
        fail_msg("%s: unexpected block %llu", b->dataset, (unsigned long long)b->index);
    const exp_block *e = &c->exp[b->index];
    if (b->bytes != e->bytes)
        fail_msg("%s/%llu: %llu bytes, expected %llu", b->dataset, (unsigned long long)b->index,
                 (unsigned long long)b->bytes, (unsigned long long)e->bytes);
    if (b->n_replicas != e->n)
        fail_msg("%s/%llu: %zu replicas, expected %zu", b->dataset, (unsigned long long)b->index,
                 b->n_replicas, e->n);
    for (size_t i = 0; i < e->n; i++) {
        size_t k;
        for (k = 0; k < b->n_replicas; k++)
            if (strcmp(b->replicas[k].host, e->reps[i].host) == 0)
                break;
        if (k == b->n_replicas)
            fail_msg("%s/%llu: no replica on %s", b->dataset, (unsigned long long)b->index,
                     e->reps[i].host);
        if (b->replicas[k].tier != e->reps[i].tier)
            fail_msg("%s/%llu: %s on %s, expected %s", b->dataset, (unsigned long long)b->index,
                     e->reps[i].host, locus_tier_name(b->replicas[k].tier),
                     locus_tier_name(e->reps[i].tier));
    }
    c->seen++;
    return 0;
}

static void expect_dataset(harness *h, const char *name, const exp_block *exp, size_t n)
{
    collect c = {exp, n, 0};
    assert_int_equal(locus_hs_snapshot_foreach_block(h->snap, name, check_block, &c), 0);
    if (c.seen != n)
        fail_msg("%s: %zu blocks, expected %zu", name, c.seen, n);
}

static int count_dataset(const locus_hs_dataset *d, void *arg)
{
    (void)d;
    (*(size_t *)arg)++;
    return 0;
}

static size_t datasets_stored(harness *h)
{
    size_t n = 0;
    assert_int_equal(locus_hs_snapshot_foreach_dataset(h->snap, count_dataset, &n), 0);
    return n;
}

/* ---- fixtures ------------------------------------------------------------------ */

static char *fixture(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", PROBE_HTTP_DATA_DIR, file);
    char *s = tu_slurp(path, NULL);
    if (!s)
        fail_msg("cannot read fixture %s", path);
    return s;
}

/* fixture with the first occurrence of `from` replaced by `to` (must occur). */
static char *fixture_edit(const char *file, const char *from, const char *to)
{
    char *s = fixture(file);
    char *at = strstr(s, from);
    if (!at)
        fail_msg("%s: \"%s\" not found", file, from);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    free(s);
    return out;
}

static void route_file(harness *h, const char *method, const char *target, const char *file)
{
    assert_int_equal(hts_route_file(h->srv, method, target, 200, file, HTS_OK), 0);
}

static void alluxio_routes(harness *h)
{
    static const char *const r[][2] = {
        {"/api/v1/paths//datasets/list-status", "alluxio/list-datasets.json"},
        {"/api/v1/paths//datasets/clicks/list-status", "alluxio/list-clicks.json"},
        {"/api/v1/paths//datasets/logs/list-status", "alluxio/list-logs.json"},
        {"/api/v1/paths//datasets/logs/2026/list-status", "alluxio/list-logs-2026.json"},
        {"/api/v1/paths//models/resnet/list-status", "alluxio/list-resnet.json"},
        {"/api/v1/paths//datasets/clicks/part-00000/get-status", "alluxio/status-part-00000.json"},
        {"/api/v1/paths//datasets/clicks/part-00001/get-status", "alluxio/status-part-00001.json"},
        {"/api/v1/paths//datasets/logs/2026/app.log/get-status", "alluxio/status-app-log.json"},
        {"/api/v1/paths//models/resnet/weights.bin/get-status", "alluxio/status-weights.json"},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        route_file(h, "POST", r[i][0], r[i][1]);
}

static void hdfs_routes(harness *h)
{
    static const char *const r[][2] = {
        {"/webhdfs/v1/warehouse?op=LISTSTATUS&user.name=locus", "hdfs/list-warehouse.json"},
        {"/webhdfs/v1/warehouse/events?op=LISTSTATUS&user.name=locus", "hdfs/list-events.json"},
        {"/webhdfs/v1/warehouse/users?op=LISTSTATUS&user.name=locus", "hdfs/list-users.json"},
        {"/webhdfs/v1/warehouse/users/2026?op=LISTSTATUS&user.name=locus",
         "hdfs/list-users-2026.json"},
        {"/webhdfs/v1/tmp/single.csv?op=LISTSTATUS&user.name=locus", "hdfs/list-single.json"},
        {"/webhdfs/v1/warehouse/events/part-0?op=GETFILEBLOCKLOCATIONS&user.name=locus",
         "hdfs/blocks-part-0.json"},
        {"/webhdfs/v1/warehouse/events/part-1?op=GETFILEBLOCKLOCATIONS&user.name=locus",
         "hdfs/blocks-part-1.json"},
        {"/webhdfs/v1/warehouse/users/2026/u.parquet?op=GETFILEBLOCKLOCATIONS&user.name=locus",
         "hdfs/blocks-u-parquet.json"},
        {"/webhdfs/v1/tmp/single.csv?op=GETFILEBLOCKLOCATIONS&user.name=locus",
         "hdfs/blocks-single.json"},
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        route_file(h, "GET", r[i][0], r[i][1]);
}

static char *endpoint(harness *h, char *buf, size_t len, int port)
{
    snprintf(buf, len, "endpoint=http://127.0.0.1:%d", port ? port : hts_port(h->srv));
    return buf;
}

#define A "worker-a.example"
#define B "worker-b.example"
#define C "worker-c.example"
#define D1 "dn1.example"
#define D2 "dn2.example"
#define D3 "dn3.example"
#define MEM LOCUS_TIER_MEM
#define SSD LOCUS_TIER_SSD
#define HDD LOCUS_TIER_HDD

/* ---- end to end ----------------------------------------------------------------- */

static void alluxio_poll_reads_documented_shapes(void **state)
{
    harness *h = H(state);
    char ep[128], err[512];
    alluxio_routes(h);
    assert_int_equal(configure(h, &probe_backend_alluxio, err, sizeof err, endpoint(h, ep, sizeof ep, 0),
                               "roots=/datasets", "datasets=/models/resnet/", "enabled=true", NULL),
                     0);
    for (int round = 0; round < 2; round++) { /* a second poll gives the same indices */
        probe_sink_reset(h->sink);
        int rc = poll_once(h);
        if (rc)
            fail_msg("poll failed: %s", h->msg);
        assert_int_equal(probe_sink_blocks(h->sink), 6);
        assert_int_equal(probe_sink_keys(h->sink), 4); /* files */
        commit(h);
        const exp_block clicks[] = {
            {67108864, 2, {{A, MEM}, {B, SSD}}}, /* part-00000 block 0 */
            {1000, 1, {{B, MEM}}},               /* part-00000 block 1 */
            {5000, 2, {{C, MEM}, {A, SSD}}},     /* part-00001: C on HDD and MEM keeps MEM */
        };
        const exp_block logs[] = {{67108864, 0, {{0}}}, {777, 1, {{A, HDD}}}};
        const exp_block resnet[] = {{4096, 2, {{B, MEM}, {C, MEM}}}};
        expect_dataset(h, "/datasets/clicks", clicks, 3);
        expect_dataset(h, "/datasets/logs", logs, 2);
        expect_dataset(h, "/models/resnet", resnet, 1);
        assert_int_equal(datasets_stored(h), 3); /* README under the root is no dataset */
    }
    /* Exactly the documented requests, each POST, the README never fetched. */
    assert_int_equal(hts_requests(h->srv), 2 * 9);
    for (size_t i = 0; i < hts_requests(h->srv); i++)
        assert_true(strncmp(hts_request(h->srv, i), "POST /api/v1/paths//", 20) == 0);
    assert_false(hts_seen(h->srv, "POST", "/api/v1/paths//datasets/README/get-status"));
}

/* A host name goes through the asynchronous resolver (/etc/hosts here). */
static void endpoint_by_host_name(void **state)
{
    harness *h = H(state);
    char ep[128], err[512];
    route_file(h, "POST", "/api/v1/paths//models/resnet/list-status", "alluxio/list-resnet.json");
    route_file(h, "POST", "/api/v1/paths//models/resnet/weights.bin/get-status",
               "alluxio/status-weights.json");
    snprintf(ep, sizeof ep, "endpoint=http://localhost:%d/", hts_port(h->srv));
    assert_int_equal(configure(h, &probe_backend_alluxio, err, sizeof err, ep,
                               "datasets=/models/resnet", NULL), 0);
    int rc = poll_once(h);
    if (rc)
        fail_msg("poll failed: %s", h->msg);
    assert_int_equal(probe_sink_blocks(h->sink), 1);
}

static void hdfs_poll_reads_documented_shapes(void **state)
{
    harness *h = H(state);
    char ep[128], err[512];
    hdfs_routes(h);
    assert_int_equal(configure(h, &probe_backend_hdfs, err, sizeof err, endpoint(h, ep, sizeof ep, 0),
                               "roots=/warehouse", "datasets=/tmp/single.csv", "user=locus", NULL),
                     0);
    int rc = poll_once(h);
    if (rc)
        fail_msg("poll failed: %s", h->msg);
    assert_int_equal(probe_sink_blocks(h->sink), 5);
    assert_int_equal(probe_sink_keys(h->sink), 4);
    commit(h);
    const exp_block events[] = {
        {134217728, 3, {{D1, HDD}, {D2, MEM}, {D3, HDD}}}, /* D2 also in cachedHosts */
        {62599364, 2, {{D2, HDD}, {D3, SSD}}},
        {62599364, 3, {{D3, HDD}, {D1, MEM}, {D2, SSD}}}, /* ARCHIVE, RAM_DISK, SSD */
    };
    const exp_block users[] = {{1366, 2, {{D1, MEM}, {D3, MEM}}}}; /* cached only on D3 */
    const exp_block single[] = {{1366, 1, {{D2, HDD}}}};
    expect_dataset(h, "/warehouse/events", events, 3);
    expect_dataset(h, "/warehouse/users", users, 1);
    expect_dataset(h, "/tmp/single.csv", single, 1);
    assert_int_equal(datasets_stored(h), 3);
    assert_int_equal(hts_requests(h->srv), 9);
    for (size_t i = 0; i < hts_requests(h->srv); i++) {
        const char *r = hts_request(h->srv, i);
        assert_true(strncmp(r, "GET /webhdfs/v1/", 16) == 0);
        assert_non_null(strstr(r, "&user.name=locus"));
        assert_null(strstr(r, "latest")); /* symlinks are not followed */
        assert_null(strstr(r, "_SUCCESS"));
    }
}

/* A WebHDFS block on 20,000 hosts (a 560 KB reply) used to cost a quadratic
 * duplicate-host check on the loop (2.4 s per poll): it is skipped before
 * that work and counted; the file's other blocks keep their numbers. */
static void hdfs_block_on_too_many_hosts_is_skipped(void **state)
{
    harness *h = H(state);
    enum { N = 20000 };
    size_t cap = (size_t)N * 40 + 4096, used = 0;
    char *body = malloc(cap);
    assert_non_null(body);
    used += (size_t)snprintf(body + used, cap - used,
                             "{\"BlockLocations\":{\"BlockLocation\":[{\"offset\":0,"
                             "\"length\":10,\"cachedHosts\":[],\"hosts\":[");
    for (int i = 0; i < N; i++)
        used += (size_t)snprintf(body + used, cap - used, "%s\"dn%d.example\"", i ? "," : "", i);
    used += (size_t)snprintf(body + used, cap - used, "],\"storageTypes\":[");
    for (int i = 0; i < N; i++)
        used += (size_t)snprintf(body + used, cap - used, "%s\"DISK\"", i ? "," : "");
    snprintf(body + used, cap - used,
             "]},{\"offset\":10,\"length\":5,\"hosts\":[\"dn1.example\"],"
             "\"storageTypes\":[\"SSD\"]}]}}");
    route_file(h, "GET", "/webhdfs/v1/tmp/single.csv?op=LISTSTATUS", "hdfs/list-single.json");
    assert_int_equal(hts_route(h->srv, "GET", "/webhdfs/v1/tmp/single.csv?op=GETFILEBLOCKLOCATIONS",
                               200, body, HTS_OK),
                     0);
    free(body);
    char ep[128], err[512];
    assert_int_equal(configure(h, &probe_backend_hdfs, err, sizeof err, endpoint(h, ep, sizeof ep, 0),
                               "roots=", "datasets=/tmp/single.csv", NULL),
                     0);
    double t0 = tu_now();
    int rc = poll_once(h);
    if (rc)
        fail_msg("poll failed: %s", h->msg);
    assert_true(tu_now() - t0 < 1.0);
    assert_int_equal(probe_sink_blocks(h->sink), 1);
    assert_int_equal(probe_sink_skipped(h->sink, PROBE_SKIP_TOO_MANY_REPLICAS), 1);
    commit(h);
    const locus_hs_block_view *b = NULL;
    assert_int_equal(locus_hs_snapshot_block(h->snap, "/tmp/single.csv", 1, &b), 0);
    assert_int_equal(b->bytes, 5);
    assert_int_equal(locus_hs_snapshot_block(h->snap, "/tmp/single.csv", 0, &b), LOCUS_ENOTFOUND);
}

/* ---- failures --------------------------------------------------------------------- */

typedef struct fail_case {
    const char *name;
    int hdfs;
    const char *from, *to;  /* edit of the block reply fixture; NULL: unchanged */
    int status;             /* HTTP status of the block reply */
    hts_mode mode;
    const char *extra;      /* an extra config override */
    int refused;            /* point the endpoint at a closed port */
    int want;               /* expected poll status */
    const char *substr;     /* expected in the message besides the URL */
} fail_case;

static const fail_case cases[] = {
    {"alluxio malformed JSON", 0, "\"fileBlockInfos\": [", "\"fileBlockInfos\": [ {,", 200, HTS_OK,
     NULL, 0, LOCUS_EPARSE, "malformed JSON"},
    {"alluxio truncated body", 0, NULL, NULL, 200, HTS_TRUNCATE, NULL, 0, LOCUS_EIO,
     "closed before a complete response"},
    {"alluxio wrong type", 0, "\"length\": 4096", "\"length\": \"4096\"", 200, HTS_OK, NULL, 0,
     LOCUS_EPARSE, "$.fileBlockInfos[0].blockInfo.length: expected an integer, got a string"},
    {"alluxio missing member", 0, "\"workerAddress\"", "\"workerAddr\"", 200, HTS_OK, NULL, 0,
     LOCUS_EPARSE, "$.fileBlockInfos[0].blockInfo.locations[0].workerAddress: missing"},
    {"alluxio unknown tier", 0, "\"tierAlias\": \"MEM\"", "\"tierAlias\": \"NVME\"", 200, HTS_OK,
     NULL, 0, LOCUS_EPARSE, "unknown tier alias \"NVME\""},
    {"alluxio HTTP 500", 0, NULL, NULL, 500, HTS_OK, NULL, 0, LOCUS_EIO, "HTTP status 500"},
    {"alluxio closed without reply", 0, NULL, NULL, 200, HTS_CLOSE, NULL, 0, LOCUS_EIO, NULL},
    {"alluxio timeout", 0, NULL, NULL, 200, HTS_HANG, "request_timeout=0.3", 0, LOCUS_ETIMEDOUT,
     "timed out after 0.3 s"},
    {"alluxio body too long", 0, NULL, NULL, 200, HTS_OK, "max_body_bytes=1024", 0, LOCUS_EIO,
     "longer than 1024 bytes"},
    {"alluxio connection refused", 0, NULL, NULL, 200, HTS_OK, NULL, 1, LOCUS_EIO,
     "connection failed"},
    {"hdfs HTTP 404", 1, NULL, NULL, 404, HTS_OK, NULL, 0, LOCUS_EIO, "FileNotFoundException"},
    {"hdfs malformed JSON", 1, "\"BlockLocation\": [", "\"BlockLocation\": [[", 200, HTS_OK, NULL,
     0, LOCUS_EPARSE, "malformed JSON"},
    {"hdfs truncated body", 1, NULL, NULL, 200, HTS_TRUNCATE, NULL, 0, LOCUS_EIO, NULL},
    {"hdfs hosts without storage types", 1, "\"storageTypes\": [\n          \"DISK\"\n        ]",
     "\"storageTypes\": []", 200, HTS_OK, NULL, 0, LOCUS_EPARSE, "1 hosts but 0 storageTypes"},
    {"hdfs unknown storage type", 1, "\"DISK\"", "\"TAPE\"", 200, HTS_OK, NULL, 0, LOCUS_EPARSE,
     "$.BlockLocations.BlockLocation[0].storageTypes[0]: unknown storage type \"TAPE\""},
    {"hdfs wrong type", 1, "\"offset\": 0", "\"offset\": -1", 200, HTS_OK, NULL, 0, LOCUS_EPARSE,
     "$.BlockLocations.BlockLocation[0].offset: expected a non-negative integer"},
    {"hdfs timeout", 1, NULL, NULL, 200, HTS_HANG, "request_timeout=0.2", 0, LOCUS_ETIMEDOUT,
     "timed out"},
    {"hdfs connection refused", 1, NULL, NULL, 200, HTS_OK, NULL, 1, LOCUS_EIO,
     "connection failed"},
    {"alluxio not an HTTP response", 0, NULL, NULL, 200, HTS_GARBAGE, NULL, 0, LOCUS_EIO,
     "invalid HTTP response header"},
};

static void run_failure(void **state, const fail_case *fc)
{
    harness *h = H(state);
    char ep[128], err[512], url[512];
    int port = fc->refused ? tu_free_port() : 0;
    const char *list_target, *blocks_target, *list_file, *blocks_file, *method;
    if (fc->hdfs) {
        method = "GET";
        list_target = "/webhdfs/v1/warehouse/users/2026?op=LISTSTATUS";
        list_file = "hdfs/list-users-2026.json";
        blocks_target = "/webhdfs/v1/warehouse/users/2026/u.parquet?op=GETFILEBLOCKLOCATIONS";
        blocks_file = fc->status == 404 ? "hdfs/error-404.json" : "hdfs/blocks-single.json";
    } else {
        method = "POST";
        list_target = "/api/v1/paths//models/resnet/list-status";
        list_file = "alluxio/list-resnet.json";
        blocks_target = "/api/v1/paths//models/resnet/weights.bin/get-status";
        blocks_file = fc->status == 500 ? "alluxio/error-500.json" : "alluxio/status-weights.json";
    }
    route_file(h, method, list_target, list_file);
    char *body = fc->from ? fixture_edit(blocks_file, fc->from, fc->to) : fixture(blocks_file);
    assert_int_equal(hts_route(h->srv, method, blocks_target, fc->status, body, fc->mode), 0);
    free(body);
    /* The request that fails: the listing when refused, else the block lookup. */
    snprintf(url, sizeof url, "%s http://127.0.0.1:%d%s", method, port ? port : hts_port(h->srv),
             port ? list_target : blocks_target);
    int rc = configure(h, fc->hdfs ? &probe_backend_hdfs : &probe_backend_alluxio, err, sizeof err,
                       endpoint(h, ep, sizeof ep, port),
                       fc->hdfs ? "datasets=/warehouse/users/2026" : "datasets=/models/resnet",
                       fc->extra ? fc->extra : "max_depth=16", NULL);
    if (rc)
        fail_msg("%s: create: %s", fc->name, err);
    double t0 = tu_now();
    rc = poll_once(h);
    if (rc != fc->want || !strstr(h->msg, url) || (fc->substr && !strstr(h->msg, fc->substr)))
        fail_msg("%s: status %d (%s), message \"%s\"; expected %d, \"%s\" and \"%s\"", fc->name, rc,
                 locus_strerror(rc), h->msg, fc->want, url, fc->substr ? fc->substr : "");
    assert_true(tu_now() - t0 < 3.0);
    assert_int_equal(probe_sink_blocks(h->sink), 0); /* nothing put */
    assert_int_equal(probe_sink_keys(h->sink), 0);
    /* The backend is ready for the next poll after a failure. */
    rc = poll_once(h);
    assert_int_equal(rc, fc->want);
}

#define FAIL_TEST(i)                                                                          \
    static void failure_##i(void **state) { run_failure(state, &cases[i]); }
FAIL_TEST(0) FAIL_TEST(1) FAIL_TEST(2) FAIL_TEST(3) FAIL_TEST(4) FAIL_TEST(5) FAIL_TEST(6)
FAIL_TEST(7) FAIL_TEST(8) FAIL_TEST(9) FAIL_TEST(10) FAIL_TEST(11) FAIL_TEST(12) FAIL_TEST(13)
FAIL_TEST(14) FAIL_TEST(15) FAIL_TEST(16) FAIL_TEST(17) FAIL_TEST(18)

static void listing_failures_name_url_and_json_path(void **state)
{
    harness *h = H(state);
    char ep[128], err[512];
    /* A directory listing of the wrong shape: FileStatus[0].type is a number. */
    char *body = fixture_edit("hdfs/list-users-2026.json", "\"type\": \"FILE\"", "\"type\": 1");
    assert_int_equal(hts_route(h->srv, "GET", "/webhdfs/v1/warehouse/users/2026?op=LISTSTATUS",
                               200, body, HTS_OK), 0);
    free(body);
    assert_int_equal(configure(h, &probe_backend_hdfs, err, sizeof err,
                               endpoint(h, ep, sizeof ep, 0), "datasets=/warehouse/users/2026", NULL),
                     0);
    assert_int_equal(poll_once(h), LOCUS_EPARSE);
    assert_non_null(strstr(h->msg, "/webhdfs/v1/warehouse/users/2026?op=LISTSTATUS"));
    assert_non_null(strstr(h->msg, "$.FileStatuses.FileStatus[0].type: expected a string, got an integer"));
    assert_int_equal(probe_sink_blocks(h->sink), 0);
}

static void alluxio_listing_must_be_an_array(void **state)
{
    harness *h = H(state);
    char ep[128], err[512];
    route_file(h, "POST", "/api/v1/paths//models/resnet/list-status", "alluxio/status-weights.json");
    assert_int_equal(configure(h, &probe_backend_alluxio, err, sizeof err,
                               endpoint(h, ep, sizeof ep, 0), "datasets=/models/resnet", NULL), 0);
    assert_int_equal(poll_once(h), LOCUS_EPARSE);
    assert_non_null(strstr(h->msg, "/api/v1/paths//models/resnet/list-status"));
    assert_non_null(strstr(h->msg, "$: expected an array"));
}

static void max_depth_bounds_the_walk(void **state)
{
    harness *h = H(state);
    char ep[128], err[512];
    hdfs_routes(h);
    assert_int_equal(configure(h, &probe_backend_hdfs, err, sizeof err, endpoint(h, ep, sizeof ep, 0),
                               "datasets=/warehouse/users", "user=locus", "max_depth=0", NULL),
                     0);
    assert_int_equal(poll_once(h), LOCUS_EINVAL);
    assert_non_null(strstr(h->msg, "hdfs.max_depth"));
    assert_non_null(strstr(h->msg, "/warehouse/users/2026"));
    assert_int_equal(probe_sink_blocks(h->sink), 0);
}

static void max_files_bounds_the_poll(void **state)
{
    harness *h = H(state);
    char ep[128], err[512];
    alluxio_routes(h);
    assert_int_equal(configure(h, &probe_backend_alluxio, err, sizeof err,
                               endpoint(h, ep, sizeof ep, 0), "roots=/datasets", "max_files=2", NULL),
                     0);
    assert_int_equal(poll_once(h), LOCUS_EINVAL); /* three files below /datasets */
    assert_non_null(strstr(h->msg, "one more than alluxio.max_files = 2"));
    assert_non_null(strstr(h->msg, "POST http://127.0.0.1:"));
    assert_int_equal(probe_sink_blocks(h->sink), 0);
}

/* ---- concurrency, cancel, destroy ------------------------------------------------- */

static void requests_run_concurrently_within_the_bound(void **state)
{
    harness *h = H(state);
    char ep[128], err[512];
    enum { FILES = 40 };
    /* A directory of 40 files, each shaped like weights.bin. */
    char *one = fixture("alluxio/status-weights.json");
    size_t cap = FILES * (strlen(one) + 64) + 16, len = 0;
    char *list = malloc(cap);
    assert_non_null(list);
    len += (size_t)snprintf(list + len, cap - len, "[");
    for (int i = 0; i < FILES; i++) {
        char to[64], target[128];
        snprintf(to, sizeof to, "\"path\": \"/big/f%02d\"", i);
        char *st = fixture_edit("alluxio/status-weights.json",
                                "\"path\": \"/models/resnet/weights.bin\"", to);
        snprintf(target, sizeof target, "/api/v1/paths//big/f%02d/get-status", i);
        assert_int_equal(hts_route(h->srv, "POST", target, 200, st, HTS_OK), 0);
        len += (size_t)snprintf(list + len, cap - len, "%s%s", i ? "," : "", st);
        free(st);
    }
    snprintf(list + len, cap - len, "]");
    assert_int_equal(hts_route(h->srv, "POST", "/api/v1/paths//big/list-status", 200, list, HTS_OK),
                     0);
    free(list);
    free(one);
    hts_set_delay_ms(h->srv, 20);
    assert_int_equal(configure(h, &probe_backend_alluxio, err, sizeof err,
                               endpoint(h, ep, sizeof ep, 0), "datasets=/big", "max_concurrent=3",
                               NULL),
                     0);
    int rc = poll_once(h);
    if (rc)
        fail_msg("poll failed: %s", h->msg);
    assert_int_equal(probe_sink_blocks(h->sink), FILES);
    assert_int_equal(hts_requests(h->srv), FILES + 1);
    assert_true(hts_max_in_flight(h->srv) <= 3);
    assert_true(hts_max_in_flight(h->srv) >= 2);
}

/* A poll's requests share kept-alive connections when the server keeps
 * them open: one request slot, one connection for the whole poll (two polls
 * with a server that closes after each answer take one per request). */
static void requests_reuse_kept_alive_connections(void **state)
{
    harness *h = H(state);
    char ep[128], err[512];
    alluxio_routes(h);
    hts_set_keep_alive(h->srv, 1);
    assert_int_equal(configure(h, &probe_backend_alluxio, err, sizeof err,
                               endpoint(h, ep, sizeof ep, 0), "roots=/datasets",
                               "datasets=/models/resnet/", "max_concurrent=1", NULL),
                     0);
    for (int round = 0; round < 2; round++) {
        probe_sink_reset(h->sink);
        int rc = poll_once(h);
        if (rc)
            fail_msg("poll failed: %s", h->msg);
        assert_int_equal(probe_sink_blocks(h->sink), 6);
    }
    assert_int_equal(hts_requests(h->srv), 2 * 9);
    assert_int_equal(hts_connections(h->srv), 1);

    hts_set_keep_alive(h->srv, 0);
    probe_sink_reset(h->sink);
    int rc = poll_once(h);
    if (rc)
        fail_msg("poll failed: %s", h->msg);
    /* the kept-alive connection answers once more, then each request opens one */
    assert_int_equal(hts_requests(h->srv), 3 * 9);
    assert_int_equal(hts_connections(h->srv), 1 + 9 - 1);
}

static void cancel_withdraws_done_and_destroy_mid_poll_is_clean(void **state)
{
    harness *h = H(state);
    char ep[128], err[512];
    assert_int_equal(hts_route(h->srv, "POST", "/api/v1/paths//models/resnet/list-status", 200, "[]",
                               HTS_HANG), 0);
    assert_int_equal(configure(h, &probe_backend_alluxio, err, sizeof err,
                               endpoint(h, ep, sizeof ep, 0), "datasets=/models/resnet",
                               "request_timeout=0.2", NULL),
                     0);
    assert_int_equal(h->type->poll(h->state, h->sink, on_done, h), 0);
    assert_int_equal(h->type->poll(h->state, h->sink, on_done, h), LOCUS_EBUSY);
    run_loop(h, 0.05, 0);
    assert_int_equal(hts_requests(h->srv), 1); /* the request is in flight */
    h->type->cancel(h->state);
    run_loop(h, 0.4, 0); /* past the request timeout: nothing may fire */
    assert_int_equal(h->done_calls, 0);
    /* A new poll starts after cancel; destroy it half-way (no leak, no call). */
    assert_int_equal(h->type->poll(h->state, h->sink, on_done, h), 0);
    run_loop(h, 0.05, 0);
    h->type->destroy(h->state);
    h->state = NULL;
    run_loop(h, 0.3, 0);
    assert_int_equal(h->done_calls, 0);
}

/* The daemon may destroy the backend from inside done(). */
static void on_done_destroy(void *ctx, int status, const char *errmsg)
{
    harness *h = ctx;
    on_done(ctx, status, errmsg);
    h->type->destroy(h->state);
    h->state = NULL;
}

static void destroy_from_done_is_safe(void **state)
{
    harness *h = H(state);
    char ep[128], err[512];
    alluxio_routes(h);
    assert_int_equal(configure(h, &probe_backend_alluxio, err, sizeof err,
                               endpoint(h, ep, sizeof ep, 0), "roots=/datasets", NULL), 0);
    assert_int_equal(h->type->poll(h->state, h->sink, on_done_destroy, h), 0);
    run_loop(h, WAIT_S, 1);
    assert_int_equal(h->done_calls, 1);
    assert_int_equal(h->status, 0);
    assert_null(h->state);
    run_loop(h, 0.05, 0);
}

/* ---- mutated replies ---------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13; /* xorshift64: a fixed seed keeps runs reproducible */
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void collect_nodes(json_t *v, json_t ***nodes, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *nodes = realloc(*nodes, *cap * sizeof **nodes);
        assert_non_null(*nodes);
    }
    (*nodes)[(*n)++] = v;
    const char *k;
    json_t *c;
    size_t i;
    if (json_is_object(v))
        json_object_foreach(v, k, c) collect_nodes(c, nodes, n, cap);
    else if (json_is_array(v))
        json_array_foreach(v, i, c) collect_nodes(c, nodes, n, cap);
}

static json_t *random_value(void)
{
    switch (rnd(8)) {
    case 0: return json_null();
    case 1: return json_integer(-1);
    case 2: return json_integer(INT64_MAX);
    case 3: return json_string("");
    case 4: return json_string("\xff\x01");
    case 5: return json_array();
    case 6: return json_object();
    default: return json_real(1.5);
    }
}

/* One mutation of a fixture: a node's content replaced by a value of another
 * kind, a member or item removed, or the text cut short. */
static char *mutate(const char *text)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    assert_non_null(root);
    char *out;
    if (rnd(4) == 0) {
        size_t len = strlen(text);
        out = strndup(text, len ? rnd((uint32_t)len) : 0);
    } else {
        json_t **nodes = NULL;
        size_t n = 0, cap = 0;
        collect_nodes(root, &nodes, &n, &cap);
        json_t *v = nodes[rnd((uint32_t)n)];
        if (json_is_object(v) && json_object_size(v)) {
            const char *k;
            json_t *c;
            size_t pick = rnd((uint32_t)json_object_size(v)), i = 0;
            json_object_foreach(v, k, c) {
                if (i++ == pick) {
                    if (rnd(2))
                        json_object_set_new(v, k, random_value());
                    else
                        json_object_del(v, k);
                    break;
                }
            }
        } else if (json_is_array(v) && json_array_size(v)) {
            size_t i = rnd((uint32_t)json_array_size(v));
            if (rnd(2))
                json_array_set_new(v, i, random_value());
            else
                json_array_remove(v, i);
        } else if (v == root) {
            json_decref(root);
            root = random_value();
        }
        free(nodes);
        out = json_dumps(root, JSON_ENCODE_ANY);
    }
    json_decref(root);
    assert_non_null(out);
    return out;
}

/* Whatever the reply, a poll ends once, from the loop, with either a result
 * or an error naming the URL and an empty sink; never a crash (the
 * sanitized build checks memory too). */
static void mutated_replies_never_crash(void **state)
{
    harness *h = H(state);
    char ep[128], err[512], prefix[64];
    for (int backend = 0; backend < 2; backend++) {
        const char *method = backend ? "GET" : "POST";
        const char *list_t = backend ? "/webhdfs/v1/warehouse/events?op=LISTSTATUS"
                                     : "/api/v1/paths//datasets/clicks/list-status";
        const char *list_f = backend ? "hdfs/list-events.json" : "alluxio/list-clicks.json";
        const char *blk_t[2] = {
            backend ? "/webhdfs/v1/warehouse/events/part-0?op=GETFILEBLOCKLOCATIONS"
                    : "/api/v1/paths//datasets/clicks/part-00000/get-status",
            backend ? "/webhdfs/v1/warehouse/events/part-1?op=GETFILEBLOCKLOCATIONS"
                    : "/api/v1/paths//datasets/clicks/part-00001/get-status"};
        const char *blk_f[2] = {backend ? "hdfs/blocks-part-0.json" : "alluxio/status-part-00000.json",
                                backend ? "hdfs/blocks-part-1.json" : "alluxio/status-part-00001.json"};
        char *list = fixture(list_f), *b0 = fixture(blk_f[0]), *b1 = fixture(blk_f[1]);
        assert_int_equal(configure(h, backend ? &probe_backend_hdfs : &probe_backend_alluxio, err,
                                   sizeof err, endpoint(h, ep, sizeof ep, 0),
                                   backend ? "datasets=/warehouse/events" : "datasets=/datasets/clicks",
                                   NULL), 0);
        snprintf(prefix, sizeof prefix, "%s http://127.0.0.1:%d/", method, hts_port(h->srv));
        int ok = 0, failed = 0;
        for (int it = 0; it < 150; it++) {
            int which = (int)rnd(3);
            char *m = mutate(which == 0 ? list : which == 1 ? b0 : b1);
            hts_clear_routes(h->srv);
            assert_int_equal(hts_route(h->srv, method, list_t, 200, which == 0 ? m : list, HTS_OK), 0);
            assert_int_equal(hts_route(h->srv, method, blk_t[0], 200, which == 1 ? m : b0, HTS_OK), 0);
            assert_int_equal(hts_route(h->srv, method, blk_t[1], 200, which == 2 ? m : b1, HTS_OK), 0);
            free(m);
            probe_sink_reset(h->sink);
            if (poll_once(h) == 0) {
                ok++;
            } else {
                failed++;
                if (!strstr(h->msg, prefix))
                    fail_msg("iteration %d: message without URL: %s", it, h->msg);
                assert_int_equal(probe_sink_blocks(h->sink), 0);
            }
        }
        assert_true(failed > 0); /* the mutations do reach the checks */
        assert_true(ok + failed == 150);
        free(list);
        free(b0);
        free(b1);
        h->type->destroy(h->state);
        h->state = NULL;
        locus_cfg_free(h->type->keys, h->type->n_keys, h->cfg);
        free(h->cfg);
        h->cfg = NULL;
    }
}

/* ---- config and helpers ------------------------------------------------------------ */

static void config_errors_name_the_key(void **state)
{
    harness *h = H(state);
    char err[512];
    assert_int_equal(configure(h, &probe_backend_alluxio, err, sizeof err, "endpoint=http://x", NULL),
                     LOCUS_ECONFIG);
    assert_non_null(strstr(err, "alluxio.datasets"));
    locus_cfg_free(h->type->keys, h->type->n_keys, h->cfg);
    free(h->cfg);
    h->cfg = NULL;
    assert_int_equal(configure(h, &probe_backend_hdfs, err, sizeof err, "datasets=/a, data/b", NULL),
                     LOCUS_ECONFIG);
    assert_non_null(strstr(err, "hdfs.datasets: \"data/b\" is not an absolute path"));
    locus_cfg_free(h->type->keys, h->type->n_keys, h->cfg);
    free(h->cfg);
    h->cfg = NULL;
    assert_int_equal(configure(h, &probe_backend_hdfs, err, sizeof err, "datasets=/a",
                               "endpoint=ftp://nn:9871", NULL),
                     LOCUS_ECONFIG);
    assert_non_null(strstr(err, "hdfs.endpoint"));
    assert_non_null(strstr(err, "only http:// and https://"));
    locus_cfg_free(h->type->keys, h->type->n_keys, h->cfg);
    free(h->cfg);
    h->cfg = NULL;
    /* Ranges come from the key table. */
    assert_int_equal(configure(h, &probe_backend_alluxio, err, sizeof err, "datasets=/a",
                               "max_concurrent=0", NULL),
                     LOCUS_ECONFIG);
    assert_non_null(strstr(err, "alluxio.max_concurrent"));
    assert_null(h->state);
}

static void defaults_are_documented_values(void **state)
{
    harness *h = H(state);
    char err[512];
    assert_int_equal(configure(h, &probe_backend_hdfs, err, sizeof err, "datasets=/a", NULL), 0);
    const http_walk_config *c = h->cfg;
    assert_string_equal(c->endpoint, "http://127.0.0.1:9870");
    assert_true(c->request_timeout_s == 10.0);
    assert_int_equal(c->max_concurrent, 8);
    assert_int_equal(c->max_body_bytes, 64 * 1024 * 1024);
    assert_int_equal(c->max_depth, 16);
    assert_int_equal(c->max_files, 1000000);
    assert_string_equal(c->user, "");
    assert_int_equal(c->common.enabled, 0);
}

static void paths_are_percent_encoded(void **state)
{
    (void)state;
    char *p = http_fetch_encode_path("/a b/\xc3\xbc%x_~.-");
    assert_string_equal(p, "/a%20b/%C3%BC%25x_~.-");
    free(p);
    p = http_fetch_encode_query("us/er&x");
    assert_string_equal(p, "us%2Fer%26x");
    free(p);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(alluxio_poll_reads_documented_shapes),
        T(hdfs_poll_reads_documented_shapes),
        T(hdfs_block_on_too_many_hosts_is_skipped),
        T(endpoint_by_host_name),
        T(failure_0), T(failure_1), T(failure_2), T(failure_3), T(failure_4), T(failure_5),
        T(failure_6), T(failure_7), T(failure_8), T(failure_9), T(failure_10), T(failure_11),
        T(failure_12), T(failure_13), T(failure_14), T(failure_15), T(failure_16), T(failure_17),
        T(failure_18),
        T(listing_failures_name_url_and_json_path),
        T(alluxio_listing_must_be_an_array),
        T(max_depth_bounds_the_walk),
        T(max_files_bounds_the_poll),
        T(requests_run_concurrently_within_the_bound),
        T(requests_reuse_kept_alive_connections),
        T(cancel_withdraws_done_and_destroy_mid_poll_is_clean),
        T(destroy_from_done_is_safe),
        T(mutated_replies_never_crash),
        T(config_errors_name_the_key),
        T(defaults_are_documented_values),
        T(paths_are_percent_encoded),
    };
    return cmocka_run_group_tests_name("probe-http", tests, NULL, NULL);
}
