/* locus-probe as a real process: the built binary is started on a free
 * loopback port with a temporary hint store and a static backend, and
 * checked from outside through the hint store reader and its HTTP API:
 * placements appear, a changed file replaces them (vanished removed), a
 * malformed file keeps the last good placements and counts a failure, the
 * staleness bound drops them, SIGHUP reloads (a bad file is refused), and
 * SIGTERM exits 0. The child is killed in teardown whatever happened. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/http.h>
#include <jansson.h>

#include "locus/hintstore.h"
#include "testutil.h"

#define STALENESS "2"

static struct {
    char dir[64];
    char store[128], conf[128], placements[128], other[128], log[128];
    int port;
    pid_t pid;
} T;

#define LINE(ds, ix, host, tier)                                                              \
    "{\"dataset\":\"" ds "\",\"index\":" #ix ",\"bytes\":1000,\"replicas\":[{\"host\":\"" host \
    "\",\"tier\":\"" tier "\"}]}\n"

static void write_conf_full(const char *placements, int enabled, const char *staleness)
{
    char text[2048];
    snprintf(text, sizeof text,
             "[probe]\n"
             "store_path = %s\n"
             "map_size = 16M\n"
             "no_sync = true\n"
             "http_port = %d\n"
             "host_map = h1=agent-one/A1\n"
             "backoff_max = 0.3\n"
             "http_timeout = 1\n"
             "http_max_connections = 8\n"
             "log_level = debug\n"
             "[static]\n"
             "enabled = %s\n"
             "path = %s\n"
             "poll_interval = 0.15\n"
             "poll_timeout = 2\n"
             "staleness = %s\n",
             T.store, T.port, enabled ? "true" : "false", placements, staleness);
    assert_int_equal(tu_write_file(T.conf, text), 0);
}

static void write_conf(const char *placements) { write_conf_full(placements, 1, STALENESS); }

static void dump_log(void)
{
    char *log = tu_slurp(T.log, NULL);
    fprintf(stderr, "---- locus-probe log ----\n%s\n-------------------------\n", log ? log : "");
    free(log);
}

static int setup(void **state)
{
    (void)state;
    strcpy(T.dir, "/tmp/locus-probe-run-XXXXXX");
    if (!mkdtemp(T.dir))
        return -1;
    snprintf(T.store, sizeof T.store, "%s/hints", T.dir);
    snprintf(T.conf, sizeof T.conf, "%s/probe.conf", T.dir);
    snprintf(T.placements, sizeof T.placements, "%s/placements.jsonl", T.dir);
    snprintf(T.other, sizeof T.other, "%s/other.jsonl", T.dir);
    snprintf(T.log, sizeof T.log, "%s/probe.log", T.dir);
    T.port = tu_free_port();
    T.pid = -1;
    return T.port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (T.pid > 0) {
        kill(T.pid, SIGKILL);
        waitpid(T.pid, NULL, 0);
        T.pid = -1;
    }
    tu_rm_r(T.dir);
    return 0;
}

/* ---- reading the store from outside ----------------------------------- */

typedef struct seen {
    int found;
    uint64_t blocks, bytes;
} seen;

static seen dataset(const char *name)
{
    seen r = {0};
    locus_hs *hs = NULL;
    locus_hs_options o = {.read_only = 1};
    if (locus_hs_open(T.store, &o, &hs, NULL, 0))
        return r;
    locus_hs_snapshot *s = NULL;
    const locus_hs_dataset *d = NULL;
    if (locus_hs_snapshot_open(hs, &s) == 0 && locus_hs_snapshot_dataset(s, name, &d) == 0) {
        r.found = 1;
        r.blocks = d->block_count;
        r.bytes = d->total_bytes;
    }
    locus_hs_snapshot_close(s);
    locus_hs_close(hs);
    return r;
}

static int block_exists(const char *name, uint64_t index)
{
    locus_hs *hs = NULL;
    locus_hs_options o = {.read_only = 1};
    if (locus_hs_open(T.store, &o, &hs, NULL, 0))
        return 0;
    locus_hs_snapshot *s = NULL;
    const locus_hs_block_view *b = NULL;
    int found = locus_hs_snapshot_open(hs, &s) == 0 &&
                locus_hs_snapshot_block(s, name, index, &b) == 0;
    locus_hs_snapshot_close(s);
    locus_hs_close(hs);
    return found;
}

/* Value of one metric sample line "name{backend="static"} v"; -1 if absent. */
static double metric(const char *name)
{
    char *body = NULL;
    double v = -1;
    if (tu_http(T.port, "GET", "/metrics", &body) == 200 && body) {
        char key[256];
        snprintf(key, sizeof key, "\n%s{backend=\"static\"} ", name);
        const char *p = strstr(body, key);
        if (p)
            v = strtod(p + strlen(key), NULL);
    }
    free(body);
    return v;
}

#define WAIT_FOR(cond, secs)                                          \
    do {                                                              \
        double deadline_ = tu_now() + (secs);                        \
        while (!(cond) && tu_now() < deadline_)                      \
            tu_sleep(0.05);                                          \
        if (!(cond)) {                                                \
            dump_log();                                               \
            fail_msg("timed out waiting for: %s", #cond);             \
        }                                                             \
    } while (0)

static json_t *get_json(const char *method, const char *path, int expect_status)
{
    char *body = NULL;
    int status = tu_http(T.port, method, path, &body);
    if (status != expect_status) {
        dump_log();
        fail_msg("%s %s: status %d, expected %d; body: %s", method, path, status, expect_status,
                 body ? body : "");
    }
    json_error_t jerr;
    json_t *j = json_loads(body, 0, &jerr);
    if (!j)
        fail_msg("%s %s: body is not JSON (%s): %s", method, path, jerr.text, body);
    free(body);
    return j;
}

static void start_probe(void)
{
    char *argv[] = {(char *)LOCUS_PROBE_BIN, "--foreground", "--config", T.conf, NULL};
    T.pid = tu_spawn(argv, T.log);
    assert_true(T.pid > 0);
    char *body = NULL;
    WAIT_FOR((free(body), body = NULL, tu_http(T.port, "GET", "/healthz", &body) == 200), 10);
    free(body);
}

/* A connection to the probe with a receive timeout; -1 on failure. */
static int raw_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)T.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Sends len bytes of req (NULL: nothing) on fd and reads until the probe
 * closes or 3 s pass; returns the answer (heap). */
static char *raw_exchange(int fd, const char *req, size_t len)
{
    if (req)
        (void)!send(fd, req, len, MSG_NOSIGNAL);
    size_t cap = 1 << 16, n = 0;
    char *out = calloc(1, cap + 1);
    ssize_t r;
    while (n < cap && (r = recv(fd, out + n, cap - n, 0)) > 0)
        n += (size_t)r;
    return out;
}

/* Every refusal is a JSON error with its status, never an HTML page, and
 * the limits of probe.http_* hold. */
static void http_limits(void)
{
    static const struct { const char *name, *req; int status; } bad[] = {
        {"garbage", "GARBAGE\r\n\r\n", 400},
        {"not a path", "GET http://x/ HTTP/1.1\r\n\r\n", 400},
        {"HTTP/2", "GET / HTTP/2.0\r\n\r\n", 505},
        {"body", "GET /healthz HTTP/1.1\r\nContent-Length: 100000\r\n\r\n", 413},
        {"chunked body", "GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
        {"bad header", "GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = raw_connect();
        assert_true(fd >= 0);
        char *out = raw_exchange(fd, bad[i].req, strlen(bad[i].req));
        close(fd);
        char want[64];
        snprintf(want, sizeof want, "HTTP/1.1 %d ", bad[i].status);
        char status[32];
        snprintf(status, sizeof status, "\"status\":%d}", bad[i].status);
        if (strncmp(out, want, strlen(want)) != 0 || !strstr(out, "application/json") ||
            !strstr(out, status))
            fail_msg("%s: answer '%s'", bad[i].name, out);
        free(out);
    }
    /* Headers over http_max_header_bytes (16 KiB): 431, connection closed. */
    size_t big = 40000;
    char *req = malloc(big + 64);
    assert_non_null(req);
    int w = snprintf(req, 64, "GET /healthz HTTP/1.1\r\nX-Big: ");
    memset(req + w, 'a', big);
    memcpy(req + w + big, "\r\n\r\n", 5);
    int fd = raw_connect();
    char *out = raw_exchange(fd, req, (size_t)w + big + 4);
    close(fd);
    free(req);
    if (strncmp(out, "HTTP/1.1 431 ", 13) != 0 || !strstr(out, "http_max_header_bytes"))
        fail_msg("big header: '%s'", out);
    free(out);

    /* Keep-alive: two pipelined requests on one connection, then close. */
    const char *two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      "HEAD /readyz HTTP/1.1\r\nConnection: close\r\n\r\n";
    fd = raw_connect();
    out = raw_exchange(fd, two, strlen(two));
    close(fd);
    char *second = strstr(out + 1, "HTTP/1.1 ");
    if (strncmp(out, "HTTP/1.1 200 ", 13) != 0 || !second || !strstr(second, "Connection: close"))
        fail_msg("keep-alive: '%s'", out);
    free(out);

    /* A client that half-closes after its request still gets the answer. */
    fd = raw_connect();
    const char *one = "GET /healthz HTTP/1.1\r\n\r\n";
    (void)!send(fd, one, strlen(one), MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    out = raw_exchange(fd, NULL, 0);
    close(fd);
    if (strncmp(out, "HTTP/1.1 200 ", 13) != 0)
        fail_msg("half-closed client: '%s'", out);
    free(out);

    /* A request that trickles in: 408 after http_timeout (1 s). */
    fd = raw_connect();
    double t0 = tu_now();
    out = raw_exchange(fd, "GET /healthz HTTP/1.1\r\nX-Slow: ", 30);
    close(fd);
    if (strncmp(out, "HTTP/1.1 408 ", 13) != 0)
        fail_msg("slow request: '%s'", out);
    assert_true(tu_now() - t0 >= 0.9);
    free(out);

    /* http_max_connections (8): idle connections fill it, the next one is
     * answered 503 at once; once they go, /healthz answers again. */
    int idle[8];
    for (int i = 0; i < 8; i++)
        assert_true((idle[i] = raw_connect()) >= 0);
    tu_sleep(0.1);
    fd = raw_connect();
    out = raw_exchange(fd, NULL, 0);
    close(fd);
    if (strncmp(out, "HTTP/1.1 503 ", 13) != 0 || !strstr(out, "http_max_connections"))
        fail_msg("over the connection cap: '%s'", out);
    free(out);
    for (int i = 0; i < 8; i++)
        close(idle[i]);
    char *body = NULL;
    WAIT_FOR((free(body), body = NULL, tu_http(T.port, "GET", "/healthz", &body) == 200), 3);
    free(body);
}

/* ---- the scenario ------------------------------------------------------ */

static void http_api(void)
{
    json_t *j = get_json("GET", "/healthz", 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_int_equal(json_array_size(json_object_get(j, "backends")), 1);
    json_decref(j);

    /* /metrics: Prometheus text with HELP and TYPE for every family. */
    char *body = NULL;
    assert_int_equal(tu_http(T.port, "GET", "/metrics", &body), 200);
    static const char *const families[] = {
        "locus_probe_polls_total counter", "locus_probe_poll_failures_total counter",
        "locus_probe_last_poll_keys gauge", "locus_probe_last_poll_blocks gauge",
        "locus_probe_poll_duration_seconds histogram",
        "locus_probe_commit_duration_seconds histogram", "locus_probe_hint_age_seconds gauge",
        "locus_probe_records_skipped_total counter", "process_cpu_seconds_total counter",
        "process_resident_memory_bytes gauge", "process_open_fds gauge",
        "process_start_time_seconds gauge", "locus_build_info gauge"};
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        char type[128], help[128];
        snprintf(type, sizeof type, "# TYPE %s\n", families[i]);
        snprintf(help, sizeof help, "# HELP %.*s ", (int)strcspn(families[i], " "), families[i]);
        if (!strstr(body, type) || !strstr(body, help))
            fail_msg("/metrics lacks '%s' or its HELP:\n%s", type, body);
    }
#ifdef LOCUS_PROMTOOL
    /* The exposition as Prometheus's own linter reads it. */
    char mfile[300], cmd[1200];
    snprintf(mfile, sizeof mfile, "%s/metrics.txt", T.dir);
    assert_int_equal(tu_write_file(mfile, body), 0);
    snprintf(cmd, sizeof cmd, "%s check metrics < %s > %s.out 2>&1", LOCUS_PROMTOOL, mfile, mfile);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof cmd, "%s.out", mfile);
        char *why = tu_slurp(cmd, NULL);
        fail_msg("promtool check metrics refused /metrics:\n%s", why ? why : "");
    }
#endif
    /* Every sample line is "name{labels} value" or "name value"; a counter
     * name ends in _total and only a counter's does. */
    int poll_buckets = 0;
    for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char name[200], type[32];
            assert_int_equal(sscanf(line + 7, "%199s %31s", name, type), 2);
            size_t nl = strlen(name);
            int total = nl > 6 && strcmp(name + nl - 6, "_total") == 0;
            if (total != (strcmp(type, "counter") == 0))
                fail_msg("%s: _total suffix and type %s disagree", name, type);
        }
        if (line[0] == '#')
            continue;
        char name[200], val[64];
        if (sscanf(line, "%199s %63s", name, val) != 2 ||
            (strncmp(name, "locus_", 6) != 0 && strncmp(name, "process_", 8) != 0))
            fail_msg("bad sample line '%s'", line);
        static const char bucket[] = "locus_probe_poll_duration_seconds_bucket{backend=\"static\"";
        poll_buckets += strncmp(name, bucket, sizeof bucket - 1) == 0;
        char *end;
        double v = strtod(val, &end);
        (void)v;
        assert_true(*end == 0);
    }
    assert_int_equal(poll_buckets, 15);
    free(body);
    assert_true(metric("locus_probe_polls_total") >= 1);
    assert_true(metric("locus_probe_last_poll_blocks") == 4);
    assert_true(metric("locus_probe_last_poll_keys") == 4);

    j = get_json("GET", "/v1/datasets", 200);
    json_t *list = json_object_get(j, "datasets");
    assert_int_equal(json_array_size(list), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "alpha");
    json_decref(j);

    /* Pages: ?limit and the cursor walk every dataset once, in order. */
    const char *want[] = {"alpha", "beta", "gamma ray"};
    char path[256] = "/v1/datasets?limit=2";
    size_t seen_n = 0;
    for (int page = 0; page < 3; page++) {
        j = get_json("GET", path, 200);
        list = json_object_get(j, "datasets");
        for (size_t i = 0; i < json_array_size(list); i++) {
            assert_true(seen_n < 3);
            assert_string_equal(json_string_value(json_object_get(json_array_get(list, i), "name")),
                                want[seen_n++]);
        }
        json_t *next = json_object_get(j, "next_cursor");
        if (json_is_null(next)) {
            json_decref(j);
            break;
        }
        char *enc = evhttp_encode_uri(json_string_value(next));
        snprintf(path, sizeof path, "/v1/datasets?limit=2&cursor=%s", enc);
        free(enc);
        json_decref(j);
    }
    assert_int_equal(seen_n, 3);

    /* Per-dataset summary fields: bytes and percent by tier, hosts, age. */
    j = get_json("GET", "/v1/datasets?limit=1", 200);
    json_t *first = json_array_get(json_object_get(j, "datasets"), 0);
    assert_int_equal(json_integer_value(json_object_get(first, "hosts")), 2);
    json_t *mem = json_object_get(json_object_get(first, "cached"), "MEM");
    assert_int_equal(json_integer_value(json_object_get(mem, "bytes")), 1000);
    assert_true(json_real_value(json_object_get(mem, "percent")) == 50.0);
    assert_true(json_real_value(json_object_get(first, "age_seconds")) >= 0);
    json_decref(j);

    /* Hosts list, and the index of endpoints. */
    j = get_json("GET", "/v1/hosts", 200);
    list = json_object_get(j, "hosts");
    assert_int_equal(json_array_size(list), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "host")), "h1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "agent")),
                        "agent-one");
    json_decref(j);
    j = get_json("GET", "/", 200);
    assert_true(json_array_size(json_object_get(j, "endpoints")) >= 7);
    json_decref(j);
    j = get_json("GET", "/readyz", 200);
    assert_true(json_is_true(json_object_get(j, "ready")));
    json_decref(j);

    /* A dataset's blocks page too. */
    j = get_json("GET", "/v1/datasets/alpha?limit=1", 200);
    assert_int_equal(json_array_size(json_object_get(j, "blocks")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "next_cursor")), "0");
    json_decref(j);
    j = get_json("GET", "/v1/datasets/alpha?limit=1&cursor=0", 200);
    assert_int_equal(json_integer_value(
                         json_object_get(json_array_get(json_object_get(j, "blocks"), 0), "index")),
                     1);
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    json_decref(j);

    j = get_json("GET", "/v1/datasets/alpha", 200);
    assert_int_equal(json_integer_value(json_object_get(j, "block_count")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "total_bytes")), 2000);
    assert_int_equal(json_array_size(json_object_get(j, "blocks")), 2);
    json_t *pl = json_object_get(j, "placement");
    assert_true(json_array_size(pl) >= 1);
    int saw_agent = 0;
    for (size_t i = 0; i < json_array_size(pl); i++) {
        json_t *p = json_array_get(pl, i);
        if (strcmp(json_string_value(json_object_get(p, "host")), "h1") == 0)
            saw_agent = strcmp(json_string_value(json_object_get(p, "agent")), "agent-one") == 0;
    }
    assert_true(saw_agent); /* bound through probe.host_map */
    json_decref(j);

    /* URL-decoded names. */
    j = get_json("GET", "/v1/datasets/gamma%20ray", 200);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "gamma ray");
    json_decref(j);

    j = get_json("GET", "/v1/hosts/h1", 200);
    assert_string_equal(json_string_value(json_object_get(j, "agent")), "agent-one");
    list = json_object_get(j, "datasets");
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "bytes")), 1000);
    json_decref(j);

    char *head = NULL;
    assert_int_equal(tu_http(T.port, "HEAD", "/v1/datasets/alpha", &head), 200);
    assert_string_equal(head, ""); /* HEAD: headers only */
    free(head);

    /* Random bytes in the path (escaped as the client must) and odd
     * methods: always an answer, never a crash. */
    uint64_t rng = 7;
    for (int i = 0; i < 60; i++) {
        char path[200] = "/v1/datasets/";
        size_t used = strlen(path);
        if (i % 3 == 1)
            used = (size_t)snprintf(path, sizeof path, "/v1/hosts/");
        else if (i % 3 == 2)
            used = (size_t)snprintf(path, sizeof path, "/%c", 'a' + i % 26);
        int n = 1 + i % 20;
        for (int k = 0; k < n; k++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            used += (size_t)snprintf(path + used, sizeof path - used, "%%%02X",
                                     (unsigned)(rng >> 56));
        }
        char *b = NULL;
        int st = tu_http(T.port, i % 5 == 0 ? "OPTIONS" : "GET", path, &b);
        if (st != 200 && st != 400 && st != 404 && st != 405)
            fail_msg("%s: status %d", path, st);
        free(b);
    }

    static const struct { const char *method, *path; int status; } errors[] = {
        {"GET", "/v1/datasets/nope", 404}, {"GET", "/v1/hosts/nobody", 404},
        {"GET", "/nope", 404},             {"GET", "/v1/datasets/a/b", 404},
        {"GET", "/v1/datasets/a%zzb", 400}, {"GET", "/v1/datasets/a%00b", 400},
        {"GET", "/v1/datasets/ab%2", 400}, {"GET", "/v1/datasets?limit=0", 400},
        {"GET", "/v1/datasets?limit=x", 400}, {"GET", "/v1/datasets?bogus=1", 400},
        {"GET", "/v1/datasets/alpha?cursor=x", 400},
        {"POST", "/v1/datasets", 405},
        {"DELETE", "/v1/datasets/alpha", 405}, {"PUT", "/healthz", 405},
    };
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        j = get_json(errors[i].method, errors[i].path, errors[i].status);
        assert_non_null(json_string_value(json_object_get(j, "error")));
        assert_int_equal(json_integer_value(json_object_get(j, "status")), errors[i].status);
        json_decref(j);
    }
}

static void probe_lifecycle(void **state)
{
    (void)state;
    assert_int_equal(tu_write_file(T.placements, LINE("alpha", 0, "h1", "MEM")
                                                      LINE("alpha", 1, "h2", "SSD")
                                                      LINE("beta", 0, "h2", "MEM")
                                                      LINE("gamma ray", 0, "h3", "HDD")),
                     0);
    write_conf(T.placements);
    start_probe();

    /* 1. Hints appear in the store. */
    WAIT_FOR(dataset("alpha").blocks == 2 && dataset("beta").found, 10);
    assert_int_equal(dataset("alpha").bytes, 2000);
    http_api();
    http_limits();

    /* 2. The file changes: the next poll replaces, vanished placements go. */
    assert_int_equal(tu_write_file(T.placements, LINE("alpha", 0, "h1", "MEM")
                                                      LINE("delta", 7, "h4", "MEM")),
                     0);
    WAIT_FOR(dataset("delta").found && !dataset("beta").found, 10);
    assert_int_equal(dataset("alpha").blocks, 1);
    assert_false(block_exists("alpha", 1));
    assert_false(dataset("gamma ray").found);
    assert_true(block_exists("delta", 7));

    /* 3. A malformed file: the poll fails, is counted, the last good
     * placements stay (until the staleness bound). */
    double failures = metric("locus_probe_poll_failures_total");
    assert_true(failures == 0);
    assert_int_equal(tu_write_file(T.placements, LINE("alpha", 0, "h1", "MEM") "{\"dataset\":\n"),
                     0);
    WAIT_FOR(metric("locus_probe_poll_failures_total") >= 1, 5);
    assert_true(dataset("alpha").found);
    assert_true(block_exists("delta", 7));
    json_t *j = get_json("GET", "/healthz", 200);
    json_t *r = NULL;
    const char *last_error = json_string_value(
        json_object_get(json_array_get(json_object_get(j, "backends"), 0), "last_error"));
    char where[200];
    snprintf(where, sizeof where, "%s:2:", T.placements);
    if (!last_error || !strstr(last_error, where))
        fail_msg("healthz last_error '%s' lacks '%s'", last_error ? last_error : "", where);
    json_decref(j);

    /* 4. Past the staleness bound the placements are dropped, and the probe
     * is no longer ready (it is still alive). */
    WAIT_FOR(!dataset("alpha").found && !dataset("delta").found, atof(STALENESS) + 5);
    r = get_json("GET", "/readyz", 503);
    assert_true(json_is_false(json_object_get(r, "ready")));
    const char *reason = json_string_value(json_array_get(json_object_get(r, "reasons"), 0));
    if (!reason || !strstr(reason, "static: last complete poll") || !strstr(reason, where))
        fail_msg("readyz reason '%s'", reason ? reason : "");
    json_decref(r);
    assert_true(metric("locus_probe_hint_age_seconds") > atof(STALENESS));
    assert_true(metric("locus_probe_expired_blocks_total") >= 2);
    assert_true(metric("locus_probe_consecutive_failures") >= 1);

    /* 5. SIGHUP with a bad file: refused, the probe goes on. */
    assert_int_equal(tu_write_file(T.other, LINE("epsilon", 0, "h5", "MEM")), 0);
    assert_int_equal(tu_write_file(T.conf, "[static]\nenabled = true\npath = x\nbogus = 1\n"), 0);
    double polls = metric("locus_probe_polls_total");
    assert_int_equal(kill(T.pid, SIGHUP), 0);
    WAIT_FOR(metric("locus_probe_polls_total") >= polls + 2, 5);
    assert_int_equal(waitpid(T.pid, NULL, WNOHANG), 0);
    char *log = tu_slurp(T.log, NULL);
    assert_non_null(log);
    snprintf(where, sizeof where, "%s:4: unknown key 'bogus'", T.conf);
    if (!strstr(log, where))
        fail_msg("log lacks the reload error '%s'", where);
    free(log);

    /* 5b. A file that parses but whose backend cannot be created: refused
     * too, and the previous backend is put back and polls on. */
    assert_int_equal(tu_write_file(T.conf, "[static]\nenabled = true\n"), 0);
    polls = metric("locus_probe_polls_total");
    assert_int_equal(kill(T.pid, SIGHUP), 0);
    WAIT_FOR(metric("locus_probe_polls_total") >= polls + 2, 5);
    assert_true(metric("locus_probe_backend_enabled") == 1);
    log = tu_slurp(T.log, NULL);
    assert_non_null(log);
    if (!strstr(log, "static.path: required"))
        fail_msg("log lacks the refused reload");
    free(log);

    /* 6. SIGHUP with a good file pointing elsewhere: applied. */
    write_conf(T.other);
    assert_int_equal(kill(T.pid, SIGHUP), 0);
    WAIT_FOR(dataset("epsilon").found, 5);
    assert_true(metric("locus_probe_consecutive_failures") == 0);

    /* 7. The backend switched off by a reload: it polls no more, and its
     * placements go once older than its staleness bound. */
    write_conf_full(T.other, 0, "1");
    assert_int_equal(kill(T.pid, SIGHUP), 0);
    WAIT_FOR(metric("locus_probe_backend_enabled") == 0, 5);
    polls = metric("locus_probe_polls_total");
    WAIT_FOR(!dataset("epsilon").found, 6);
    assert_true(metric("locus_probe_polls_total") == polls);
    j = get_json("GET", "/healthz", 200);
    assert_int_equal(json_array_size(json_object_get(j, "backends")), 0);
    json_decref(j);

    /* 8. SIGTERM: a clean exit with status 0. */
    assert_int_equal(kill(T.pid, SIGTERM), 0);
    int status = tu_wait(T.pid, 10);
    T.pid = -1;
    if (status != 0)
        dump_log();
    assert_int_equal(status, 0);
    /* The store is intact and records the polls. */
    locus_hs *hs = NULL;
    locus_hs_options ro = {.read_only = 1};
    assert_int_equal(locus_hs_open(T.store, &ro, &hs, NULL, 0), 0);
    locus_hs_snapshot *snap = NULL;
    const locus_hs_meta *meta = NULL;
    assert_int_equal(locus_hs_snapshot_open(hs, &snap), 0);
    assert_int_equal(locus_hs_snapshot_meta(snap, &meta), 0);
    assert_true(meta->writer_generation > 0);
    int saw_static = 0;
    for (size_t i = 0; i < meta->n_backends; i++)
        if (strcmp(meta->backends[i].backend, "static") == 0)
            saw_static = meta->backends[i].last_success_ms > 0 && meta->backends[i].blocks == 0;
    assert_true(saw_static);
    locus_hs_snapshot_close(snap);
    locus_hs_close(hs);
}

/* Without --foreground the probe detaches once it is up; a start-up error
 * reaches the terminal and the exit status. */
static void detached_start(void **state)
{
    (void)state;
    char pid_file[200];
    snprintf(pid_file, sizeof pid_file, "%s/probe.pid", T.dir);
    assert_int_equal(tu_write_file(T.placements, LINE("zeta", 0, "h1", "MEM")), 0);
    write_conf(T.placements);
    char set_pid[260];
    snprintf(set_pid, sizeof set_pid, "probe.pid_file=%s", pid_file);
    char *argv[] = {(char *)LOCUS_PROBE_BIN, "--config", T.conf, "--set", set_pid, NULL};
    assert_int_equal(tu_run(argv, T.log, 10), 0);
    char *text = tu_slurp(pid_file, NULL);
    assert_non_null(text);
    pid_t pid = (pid_t)atol(text);
    free(text);
    assert_true(pid > 1);
    T.pid = pid; /* killed by teardown if a check below fails */
    WAIT_FOR(dataset("zeta").found, 10);
    /* A second probe on the same port fails to start, and says why. */
    char log2[200];
    snprintf(log2, sizeof log2, "%s/second.log", T.dir);
    char store2[200];
    snprintf(store2, sizeof store2, "probe.store_path=%s/hints2", T.dir);
    char *argv2[] = {(char *)LOCUS_PROBE_BIN, "--config", T.conf, "--set", store2, NULL};
    int second = tu_run(argv2, log2, 10);
    kill(pid, SIGTERM);
    double deadline = tu_now() + 10;
    while (kill(pid, 0) == 0 && tu_now() < deadline)
        tu_sleep(0.05);
    int alive = kill(pid, 0) == 0;
    if (alive)
        kill(pid, SIGKILL);
    T.pid = -1;
    assert_false(alive);
    assert_int_equal(second, 1);
    text = tu_slurp(log2, NULL);
    assert_non_null(text);
    if (!strstr(text, "cannot listen"))
        fail_msg("second probe said: %s", text);
    free(text);
    struct stat sb;
    assert_int_not_equal(stat(pid_file, &sb), 0); /* removed at exit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(probe_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(detached_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
