/* The HTTP API of locus-probe, served by libevent's evhttp on the daemon's
 * own loop: a request is answered between polls, and every answer about
 * placements is read from one hint store snapshot (a consistent view, never
 * half of a poll). Read-only: GET and HEAD only. Errors are JSON bodies
 * {"error": ..., "status": ...} so clients need one parser.
 *
 * Path segments are URL-decoded after splitting, so a dataset named "a/b" is
 * reached as /v1/datasets/a%2Fb. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "probe_backends.h"
#include "probe_http.h"
#include "probe_log.h"
#include "probe_metrics.h"

/* Sends buf as the body; for HEAD only its length (evhttp would still write
 * the body of an HTTP/1.0 HEAD request). */
static void reply(struct evhttp_request *req, int code, const char *reason, struct evbuffer *buf)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        char len[32];
        snprintf(len, sizeof len, "%zu", evbuffer_get_length(buf));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", len);
        evhttp_send_reply(req, code, reason, NULL);
        return;
    }
    evhttp_send_reply(req, code, reason, buf);
}

/* A JSON string for a name from the store or the request. Names are
 * normally UTF-8, but Redis keys may be any bytes: an invalid name is shown
 * with its non-ASCII bytes as '?' instead of failing the whole answer. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static void send_json(struct evhttp_request *req, int code, const char *reason, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct evbuffer *buf = evbuffer_new();
    if (!text || !buf) {
        free(text);
        if (buf)
            evbuffer_free(buf);
        json_decref(body);
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    evbuffer_add(buf, text, strlen(text));
    evbuffer_add(buf, "\n", 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    reply(req, code, reason, buf);
    evbuffer_free(buf);
    free(text);
    json_decref(body);
}

static void send_error(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
    send_json(req, code, reason, json_pack("{s:o, s:i}", "error", jstr(msg), "status", code));
}

static json_t *dataset_json(locus_hs_snapshot *s, const locus_hs_dataset *d)
{
    json_t *placement = json_array();
    for (size_t i = 0; i < d->n_placement; i++) {
        const locus_hs_host_bytes *p = &d->placement[i];
        const char *agent = locus_hs_snapshot_agent_for_host(s, p->host);
        json_array_append_new(placement,
                              json_pack("{s:o, s:o, s:s, s:I}", "host", jstr(p->host), "agent",
                                        jstr(agent ? agent : p->host), "tier", locus_tier_name(p->tier),
                                        "bytes", (json_int_t)p->bytes));
    }
    return json_pack("{s:o, s:I, s:I, s:I, s:I, s:o}", "name", jstr(d->name), "total_bytes",
                     (json_int_t)d->total_bytes, "block_count", (json_int_t)d->block_count,
                     "version", (json_int_t)d->version, "updated_at_ms",
                     (json_int_t)d->updated_at_ms, "placement", placement);
}

typedef struct list_ctx {
    locus_hs_snapshot *snap;
    json_t *array;
    const char *host; /* /v1/hosts: only this host's bytes */
} list_ctx;

static int add_dataset(const locus_hs_dataset *d, void *arg)
{
    list_ctx *c = arg;
    json_array_append_new(c->array, dataset_json(c->snap, d));
    return 0;
}

static int add_block(const locus_hs_block_view *b, void *arg)
{
    list_ctx *c = arg;
    json_t *reps = json_array();
    for (size_t i = 0; i < b->n_replicas; i++)
        json_array_append_new(reps, json_pack("{s:o, s:s}", "host", jstr(b->replicas[i].host), "tier",
                                              locus_tier_name(b->replicas[i].tier)));
    json_array_append_new(c->array,
                          json_pack("{s:I, s:I, s:o, s:I, s:o}", "index", (json_int_t)b->index,
                                    "bytes", (json_int_t)b->bytes, "backend",
                                    jstr(b->backend), "updated_at_ms",
                                    (json_int_t)b->updated_at_ms, "replicas", reps));
    return 0;
}

static int add_host_dataset(const locus_hs_dataset *d, void *arg)
{
    list_ctx *c = arg;
    json_t *tiers = json_object();
    json_int_t total = 0;
    for (size_t i = 0; i < d->n_placement; i++) {
        if (strcmp(d->placement[i].host, c->host) != 0)
            continue;
        json_object_set_new(tiers, locus_tier_name(d->placement[i].tier),
                            json_integer((json_int_t)d->placement[i].bytes));
        total += (json_int_t)d->placement[i].bytes;
    }
    json_array_append_new(c->array, json_pack("{s:o, s:I, s:I, s:o}", "name", jstr(d->name), "bytes",
                                              total, "total_bytes", (json_int_t)d->total_bytes,
                                              "tiers", tiers));
    return 0;
}

static void serve_healthz(probe_daemon *d, struct evhttp_request *req)
{
    json_t *backends = json_array();
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        const probe_backend_type *t = probe_backend_at(i);
        const probe_stats *s = probe_daemon_stats(d, i);
        if (!t || !s->enabled)
            continue;
        json_array_append_new(backends,
                              json_pack("{s:s, s:I, s:I, s:o}", "name", t->name, "last_success_ms",
                                        (json_int_t)s->last_success_ms, "consecutive_failures",
                                        (json_int_t)s->consecutive_failures, "last_error",
                                        jstr(s->last_error)));
    }
    send_json(req, HTTP_OK, "OK", json_pack("{s:s, s:o}", "status", "ok", "backends", backends));
}

static void serve_metrics(probe_daemon *d, struct evhttp_request *req)
{
    struct evbuffer *buf = evbuffer_new();
    if (!buf || probe_metrics_render(d, buf)) {
        if (buf)
            evbuffer_free(buf);
        send_error(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    reply(req, HTTP_OK, "OK", buf);
    evbuffer_free(buf);
}

static void snapshot_failed(probe_daemon *d, struct evhttp_request *req, int rc)
{
    char msg[600];
    snprintf(msg, sizeof msg, "hint store: %s: %s", locus_strerror(rc),
             locus_hs_errstr(probe_daemon_store(d)));
    send_error(req, HTTP_INTERNAL, "Internal Server Error", msg);
}

/* name == NULL: every dataset. */
static void serve_datasets(probe_daemon *d, struct evhttp_request *req, const char *name)
{
    locus_hs_snapshot *snap = NULL;
    int rc = locus_hs_snapshot_open(probe_daemon_store(d), &snap);
    if (rc) {
        snapshot_failed(d, req, rc);
        return;
    }
    list_ctx c = {snap, json_array(), NULL};
    json_t *body = NULL;
    if (!name) {
        rc = locus_hs_snapshot_foreach_dataset(snap, add_dataset, &c);
        body = json_pack("{s:o}", "datasets", c.array);
    } else {
        const locus_hs_dataset *ds = NULL;
        rc = locus_hs_snapshot_dataset(snap, name, &ds);
        if (rc == LOCUS_ENOTFOUND) {
            json_decref(c.array);
            locus_hs_snapshot_close(snap);
            char msg[300];
            snprintf(msg, sizeof msg, "no dataset '%.200s'", name);
            send_error(req, HTTP_NOTFOUND, "Not Found", msg);
            return;
        }
        if (!rc)
            rc = locus_hs_snapshot_foreach_block(snap, name, add_block, &c);
        body = rc ? NULL : dataset_json(snap, ds);
        if (body)
            json_object_set_new(body, "blocks", c.array);
        else
            json_decref(c.array);
    }
    if (rc) {
        json_decref(body);
        snapshot_failed(d, req, rc);
    } else {
        send_json(req, HTTP_OK, "OK", body);
    }
    locus_hs_snapshot_close(snap);
}

static void serve_host(probe_daemon *d, struct evhttp_request *req, const char *host)
{
    locus_hs_snapshot *snap = NULL;
    int rc = locus_hs_snapshot_open(probe_daemon_store(d), &snap);
    if (rc) {
        snapshot_failed(d, req, rc);
        return;
    }
    list_ctx c = {snap, json_array(), host};
    rc = locus_hs_snapshot_foreach_host_dataset(snap, host, add_host_dataset, &c);
    const char *agent = locus_hs_snapshot_agent_for_host(snap, host);
    if (rc) {
        json_decref(c.array);
        snapshot_failed(d, req, rc);
    } else if (json_array_size(c.array) == 0 && (!agent || strcmp(agent, host) == 0)) {
        json_decref(c.array);
        char msg[300];
        snprintf(msg, sizeof msg, "no cached data and no agent binding for host '%.200s'", host);
        send_error(req, HTTP_NOTFOUND, "Not Found", msg);
    } else {
        send_json(req, HTTP_OK, "OK",
                  json_pack("{s:o, s:o, s:o}", "host", jstr(host), "agent",
                            jstr(agent ? agent : host), "datasets", c.array));
    }
    locus_hs_snapshot_close(snap);
}

enum route { R_NONE, R_HEALTHZ, R_METRICS, R_DATASETS, R_DATASET, R_HOST };

/* Matches path; *seg gets the decoded last segment (heap) for routes with a
 * name. Returns R_NONE for unknown paths, -1 for an undecodable name. */
static int route(const char *path, char **seg)
{
    *seg = NULL;
    if (strcmp(path, "/healthz") == 0)
        return R_HEALTHZ;
    if (strcmp(path, "/metrics") == 0)
        return R_METRICS;
    if (strcmp(path, "/v1/datasets") == 0 || strcmp(path, "/v1/datasets/") == 0)
        return R_DATASETS;
    static const struct { const char *prefix; int r; } named[] = {
        {"/v1/datasets/", R_DATASET}, {"/v1/hosts/", R_HOST}};
    for (size_t i = 0; i < 2; i++) {
        size_t pl = strlen(named[i].prefix);
        if (strncmp(path, named[i].prefix, pl) != 0)
            continue;
        const char *raw = path + pl;
        if (!*raw || strchr(raw, '/'))
            return R_NONE;
        size_t len = 0;
        char *dec = evhttp_uridecode(raw, 0, &len);
        if (!dec || strlen(dec) != len || len == 0) {
            free(dec);
            return -1;
        }
        *seg = dec;
        return named[i].r;
    }
    return R_NONE;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    probe_daemon *d = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path)
        path = "/";
    char *seg = NULL;
    int r = route(path, &seg);
    if (r == R_NONE) {
        char msg[300];
        snprintf(msg, sizeof msg, "no such resource: %.200s", path);
        send_error(req, HTTP_NOTFOUND, "Not Found", msg);
        return;
    }
    if (r < 0) {
        send_error(req, HTTP_BADREQUEST, "Bad Request", "malformed name in the path");
        return;
    }
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        free(seg);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        send_error(req, 405, "Method Not Allowed", "only GET and HEAD are allowed");
        return;
    }
    switch (r) {
    case R_HEALTHZ: serve_healthz(d, req); break;
    case R_METRICS: serve_metrics(d, req); break;
    case R_DATASETS: serve_datasets(d, req, NULL); break;
    case R_DATASET: serve_datasets(d, req, seg); break;
    case R_HOST: serve_host(d, req, seg); break;
    }
    free(seg);
}

int probe_http_start(probe_daemon *d, struct event_base *base, const char *addr, int port,
                     struct evhttp **out, char *err, size_t errlen)
{
    *out = NULL;
    struct evhttp *http = evhttp_new(base);
    if (!http) {
        snprintf(err, errlen, "http: out of memory");
        return LOCUS_ENOMEM;
    }
    /* Accept every method so that the wrong ones get our JSON 405. */
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                         EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_timeout(http, 30);
    evhttp_set_max_body_size(http, 65536);
    evhttp_set_gencb(http, on_request, d);
    if (!evhttp_bind_socket_with_handle(http, addr, (ev_uint16_t)port)) {
        snprintf(err, errlen, "http: cannot listen on %s:%d (probe.http_listen, probe.http_port)",
                 addr, port);
        evhttp_free(http);
        return LOCUS_EIO;
    }
    probe_log(PROBE_LOG_INFO, "HTTP API on http://%s:%d/", addr, port);
    *out = http;
    return 0;
}
