/* The HTTP API of locus-probe, served by probe_httpd on the daemon's own
 * loop: a request is answered between polls, and every answer about
 * placements is read from one hint store snapshot (a consistent view, never
 * half of a poll). Read-only: GET and HEAD only. Errors are JSON bodies
 * {"error": ..., "status": ...} so clients need one parser.
 *
 * The loop is shared with the polls, so no answer may grow with the store:
 * lists are pages (?limit=, ?cursor=) of at most probe.http_page_limit
 * entries, written to the connection in chunks as they are built. Requests
 * have a header size cap and an idle timeout (slow or silent clients are
 * dropped); new connections wait while fewer than probe.http_fd_headroom
 * descriptors are left, so clients cannot starve the polls of sockets, and
 * accept() failures are logged once per interval instead of spinning.
 *
 * Path segments are URL-decoded after splitting, so a dataset named "a/b" is
 * reached as /v1/datasets/a%2Fb. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "probe_backends.h"
#include "probe_http.h"
#include "probe_httpd.h"
#include "probe_log.h"
#include "probe_metrics.h"

#define CHUNK_BYTES 65536        /* flush a list answer to the connection every this much */

struct probe_http {
    probe_daemon *d;
    probe_httpd *srv;
};

/* ---- answers -------------------------------------------------------------- */

/* Sends buf as the body (for HEAD only its length). */
static void reply(probe_httpd_req *req, int code, const char *reason, struct evbuffer *buf)
{
    probe_httpd_reply(req, code, reason, buf);
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

static const char oom_body[] = "{\"error\":\"out of memory\",\"status\":500}\n";

static void send_json(probe_httpd_req *req, int code, const char *reason, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct evbuffer *buf = evbuffer_new();
    probe_httpd_add_header(req, "Content-Type", "application/json");
    if (!text || !buf) {
        free(text);
        json_decref(body);
        if (buf) {
            evbuffer_add(buf, oom_body, sizeof oom_body - 1);
            reply(req, 500, "Internal Server Error", buf);
            evbuffer_free(buf);
        } else {
            probe_httpd_reply(req, 500, "Internal Server Error", NULL);
        }
        return;
    }
    evbuffer_add(buf, text, strlen(text));
    evbuffer_add(buf, "\n", 1);
    reply(req, code, reason, buf);
    evbuffer_free(buf);
    free(text);
    json_decref(body);
}

static void send_error(probe_httpd_req *req, int code, const char *reason, const char *msg)
{
    send_json(req, code, reason, json_pack("{s:o, s:i}", "error", jstr(msg), "status", code));
}

/* A list answer written in chunks as it is built: memory stays at one chunk
 * whatever the page size, and HEAD gets the headers only. */
typedef struct stream {
    probe_httpd_req *req;
    struct evbuffer *buf;
    int head, started, n;
} stream;

static int stream_begin(stream *s, probe_httpd_req *req, const char *open)
{
    s->req = req;
    s->head = probe_httpd_is_head(req);
    s->started = 0;
    s->n = 0;
    s->buf = evbuffer_new();
    if (!s->buf)
        return -1;
    evbuffer_add_printf(s->buf, "%s", open);
    return 0;
}

static void stream_flush(stream *s, int force)
{
    if (s->head || (!force && evbuffer_get_length(s->buf) < CHUNK_BYTES))
        return;
    if (!s->started) {
        probe_httpd_add_header(s->req, "Content-Type",
                          "application/json");
        probe_httpd_reply_start(s->req, 200, "OK");
        s->started = 1;
    }
    probe_httpd_reply_chunk(s->req, s->buf);
}

/* Appends one array item (consumed). */
static int stream_item(stream *s, json_t *item)
{
    if (!item)
        return -1;
    if (!s->head) {
        char *text = json_dumps(item, JSON_COMPACT);
        if (!text) {
            json_decref(item);
            return -1;
        }
        if (s->n)
            evbuffer_add(s->buf, ",", 1);
        evbuffer_add(s->buf, text, strlen(text));
        free(text);
        stream_flush(s, 0);
    }
    s->n++;
    json_decref(item);
    return 0;
}

/* Closes the array with the rest of the object (tail: `"key":value` pairs). */
static void stream_end(stream *s, json_t *tail)
{
    if (s->head) {
        probe_httpd_add_header(s->req, "Content-Type",
                          "application/json");
        probe_httpd_reply(s->req, 200, "OK", NULL);
    } else {
        char *text = tail ? json_dumps(tail, JSON_COMPACT) : NULL;
        evbuffer_add(s->buf, "]", 1);
        if (text && strlen(text) > 2) { /* "{...}" -> ",..." */
            evbuffer_add(s->buf, ",", 1);
            evbuffer_add(s->buf, text + 1, strlen(text) - 2);
        }
        evbuffer_add(s->buf, "}\n", 2);
        free(text);
        if (!s->started) {
            probe_httpd_add_header(s->req, "Content-Type",
                              "application/json");
            probe_httpd_reply(s->req, 200, "OK", s->buf);
        } else {
            stream_flush(s, 1);
            probe_httpd_reply_end(s->req);
        }
    }
    json_decref(tail);
    evbuffer_free(s->buf);
    s->buf = NULL;
}

/* ---- query parameters ----------------------------------------------------- */

typedef struct page_args {
    long limit;
    char *cursor;   /* heap; NULL = from the start */
} page_args;

/* ?limit=N&cursor=C. Returns 0, or -1 with msg set (a 400). */
static int parse_page(probe_daemon *d, probe_httpd_req *req, page_args *pa, char *msg,
                      size_t msglen)
{
    long cap = (long)probe_daemon_config(d)->core.http_page_limit;
    pa->limit = cap;
    pa->cursor = NULL;
    const char *q = probe_httpd_query(req);
    if (!*q)
        return 0;
    struct evkeyvalq params;

    if (evhttp_parse_query_str(q, &params) != 0) {
        snprintf(msg, msglen, "malformed query string");
        return -1;
    }
    int rc = 0;
    for (struct evkeyval *kv = params.tqh_first; kv && !rc; kv = kv->next.tqe_next) {
        if (strcmp(kv->key, "limit") == 0) {
            char *end = NULL;
            errno = 0;
            long n = strtol(kv->value, &end, 10);
            if (!*kv->value || *end || errno || n < 1 || n > cap) {
                snprintf(msg, msglen, "limit must be an integer in 1..%ld (probe.http_page_limit)",
                         cap);
                rc = -1;
            } else {
                pa->limit = n;
            }
        } else if (strcmp(kv->key, "cursor") == 0) {
            free(pa->cursor);
            pa->cursor = strdup(kv->value);
            if (!pa->cursor) {
                snprintf(msg, msglen, "out of memory");
                rc = -1;
            }
        } else {
            snprintf(msg, msglen, "unknown query parameter '%.100s' (expected limit, cursor)",
                     kv->key);
            rc = -1;
        }
    }
    evhttp_clear_headers(&params);
    if (rc) {
        free(pa->cursor);
        pa->cursor = NULL;
    }
    return rc;
}

/* ---- datasets ------------------------------------------------------------- */

static json_t *dataset_json(locus_hs_snapshot *s, const locus_hs_dataset *d, int64_t now_ms)
{
    json_t *placement = json_array();
    uint64_t tier_bytes[LOCUS_TIER_COUNT] = {0};
    size_t hosts = 0;
    for (size_t i = 0; i < d->n_placement; i++) {
        const locus_hs_host_bytes *p = &d->placement[i];
        const char *agent = locus_hs_snapshot_agent_for_host(s, p->host);
        json_array_append_new(placement,
                              json_pack("{s:o, s:o, s:s, s:I}", "host", jstr(p->host), "agent",
                                        jstr(agent ? agent : p->host), "tier", locus_tier_name(p->tier),
                                        "bytes", (json_int_t)p->bytes));
        if (p->tier >= LOCUS_TIER_MEM && p->tier <= LOCUS_TIER_HDD)
            tier_bytes[p->tier - 1] += p->bytes;
        /* placement is sorted by host: a new host starts where the name changes */
        hosts += i == 0 || strcmp(d->placement[i - 1].host, p->host) != 0;
    }
    /* Bytes held in each tier summed over hosts (every replica counts), and
     * the share of the dataset that represents, capped at 100. */
    json_t *cached = json_object();
    for (int t = 0; t < LOCUS_TIER_COUNT; t++) {
        double pct = d->total_bytes ? 100.0 * (double)tier_bytes[t] / (double)d->total_bytes : 0;
        json_object_set_new(cached, locus_tier_name((locus_tier)(t + 1)),
                            json_pack("{s:I, s:f}", "bytes", (json_int_t)tier_bytes[t], "percent",
                                      pct > 100 ? 100.0 : pct));
    }
    double age = d->updated_at_ms > 0 && now_ms >= d->updated_at_ms
                     ? (double)(now_ms - d->updated_at_ms) / 1000.0
                     : 0;
    return json_pack("{s:o, s:I, s:I, s:I, s:I, s:f, s:I, s:o, s:o}", "name", jstr(d->name),
                     "total_bytes", (json_int_t)d->total_bytes, "block_count",
                     (json_int_t)d->block_count, "version", (json_int_t)d->version,
                     "updated_at_ms", (json_int_t)d->updated_at_ms, "age_seconds", age, "hosts",
                     (json_int_t)hosts, "cached", cached, "placement", placement);
}

typedef struct list_ctx {
    locus_hs_snapshot *snap;
    stream *st;
    const page_args *pa;
    int64_t now_ms;
    long taken;
    int more;                 /* an entry exists past the page */
    char *last;               /* name of the last entry on the page (heap) */
    int error;
} list_ctx;

static int page_dataset(const locus_hs_dataset *d, void *arg)
{
    list_ctx *c = arg;
    if (c->pa->cursor && strcmp(d->name, c->pa->cursor) <= 0)
        return 0; /* before the cursor (the store iterates in name order) */
    if (c->taken == c->pa->limit) {
        c->more = 1;
        return 1;
    }
    if (stream_item(c->st, dataset_json(c->snap, d, c->now_ms))) {
        c->error = 1;
        return 1;
    }
    c->taken++;
    free(c->last);
    c->last = strdup(d->name);
    return 0;
}

static void snapshot_failed(probe_daemon *d, probe_httpd_req *req, int rc)
{
    char msg[600];
    snprintf(msg, sizeof msg, "hint store: %s: %s", locus_strerror(rc),
             locus_hs_errstr(probe_daemon_store(d)));
    send_error(req, HTTP_INTERNAL, "Internal Server Error", msg);
}

static json_t *next_cursor(const list_ctx *c)
{
    return c->more && c->last ? jstr(c->last) : json_null();
}

static void serve_dataset_list(probe_daemon *d, probe_httpd_req *req)
{
    page_args pa;
    char msg[200];
    if (parse_page(d, req, &pa, msg, sizeof msg)) {
        send_error(req, HTTP_BADREQUEST, "Bad Request", msg);
        return;
    }
    locus_hs_snapshot *snap = NULL;
    int rc = locus_hs_snapshot_open(probe_daemon_store(d), &snap);
    if (rc) {
        free(pa.cursor);
        snapshot_failed(d, req, rc);
        return;
    }
    stream st;
    if (stream_begin(&st, req, "{\"datasets\":[")) {
        free(pa.cursor);
        locus_hs_snapshot_close(snap);
        send_error(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
        return;
    }
    list_ctx c = {.snap = snap, .st = &st, .pa = &pa, .now_ms = probe_now_ms()};
    rc = locus_hs_snapshot_foreach_dataset(snap, page_dataset, &c);
    /* Once chunks are out the status is sent: a late error can only end the
     * answer early (the client sees invalid JSON), never turn it into a 500. */
    stream_end(&st, json_pack("{s:o, s:i}", "next_cursor", next_cursor(&c), "limit", (int)pa.limit));
    if (c.error || (rc && rc != 1))
        probe_log(PROBE_LOG_WARN, "http: /v1/datasets: %s", c.error ? "out of memory"
                                                                    : locus_hs_errstr(probe_daemon_store(d)));
    free(c.last);
    free(pa.cursor);
    locus_hs_snapshot_close(snap);
}

typedef struct block_ctx {
    stream *st;
    uint64_t after;           /* blocks with index > after (when has_after) */
    int has_after;
    long limit, taken;
    int more, error;
    uint64_t last;
} block_ctx;

static int page_block(const locus_hs_block_view *b, void *arg)
{
    block_ctx *c = arg;
    if (c->has_after && b->index <= c->after)
        return 0;
    if (c->taken == c->limit) {
        c->more = 1;
        return 1;
    }
    json_t *reps = json_array();
    for (size_t i = 0; i < b->n_replicas; i++)
        json_array_append_new(reps, json_pack("{s:o, s:s}", "host", jstr(b->replicas[i].host), "tier",
                                              locus_tier_name(b->replicas[i].tier)));
    if (stream_item(c->st, json_pack("{s:I, s:I, s:o, s:I, s:o}", "index", (json_int_t)b->index,
                                     "bytes", (json_int_t)b->bytes, "backend", jstr(b->backend),
                                     "updated_at_ms", (json_int_t)b->updated_at_ms, "replicas",
                                     reps))) {
        c->error = 1;
        return 1;
    }
    c->taken++;
    c->last = b->index;
    return 0;
}

/* One dataset: its summary, then a page of its blocks (cursor = last index). */
static void serve_dataset(probe_daemon *d, probe_httpd_req *req, const char *name)
{
    page_args pa;
    char msg[300];
    if (parse_page(d, req, &pa, msg, sizeof msg)) {
        send_error(req, HTTP_BADREQUEST, "Bad Request", msg);
        return;
    }
    block_ctx bc = {.limit = pa.limit};
    if (pa.cursor) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(pa.cursor, &end, 10);
        if (!*pa.cursor || *end || errno || pa.cursor[0] == '-') {
            free(pa.cursor);
            send_error(req, HTTP_BADREQUEST, "Bad Request",
                       "cursor of a dataset's blocks must be a block index");
            return;
        }
        bc.after = v;
        bc.has_after = 1;
        free(pa.cursor);
    }
    locus_hs_snapshot *snap = NULL;
    int rc = locus_hs_snapshot_open(probe_daemon_store(d), &snap);
    if (rc) {
        snapshot_failed(d, req, rc);
        return;
    }
    const locus_hs_dataset *ds = NULL;
    rc = locus_hs_snapshot_dataset(snap, name, &ds);
    if (rc) {
        locus_hs_snapshot_close(snap);
        if (rc == LOCUS_ENOTFOUND) {
            snprintf(msg, sizeof msg, "no dataset '%.200s'", name);
            send_error(req, HTTP_NOTFOUND, "Not Found", msg);
        } else {
            snapshot_failed(d, req, rc);
        }
        return;
    }
    json_t *summary = dataset_json(snap, ds, probe_now_ms());
    char *text = summary ? json_dumps(summary, JSON_COMPACT) : NULL;
    json_decref(summary);
    stream st;
    if (!text || strlen(text) < 2 || stream_begin(&st, req, "")) {
        free(text);
        locus_hs_snapshot_close(snap);
        send_error(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
        return;
    }
    /* "{...summary...}" -> "{...summary...,"blocks":[" */
    text[strlen(text) - 1] = 0;
    evbuffer_add_printf(st.buf, "%s,\"blocks\":[", text);
    free(text);
    bc.st = &st;
    rc = locus_hs_snapshot_foreach_block(snap, name, page_block, &bc);
    json_t *next = json_null();
    if (bc.more) {
        char idx[32];
        snprintf(idx, sizeof idx, "%llu", (unsigned long long)bc.last);
        next = json_string(idx);
    }
    stream_end(&st, json_pack("{s:o}", "next_cursor", next));
    if (bc.error || (rc && rc != 1))
        probe_log(PROBE_LOG_WARN, "http: /v1/datasets/%s: %s", name,
                  bc.error ? "out of memory" : locus_hs_errstr(probe_daemon_store(d)));
    locus_hs_snapshot_close(snap);
}

/* ---- hosts ---------------------------------------------------------------- */

typedef struct host_ctx {
    json_t *array;
    const char *host;
} host_ctx;

static int add_host_dataset(const locus_hs_dataset *d, void *arg)
{
    host_ctx *c = arg;
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

static void serve_host(probe_daemon *d, probe_httpd_req *req, const char *host)
{
    locus_hs_snapshot *snap = NULL;
    int rc = locus_hs_snapshot_open(probe_daemon_store(d), &snap);
    if (rc) {
        snapshot_failed(d, req, rc);
        return;
    }
    host_ctx c = {json_array(), host};
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

/* Every storage host with cached bytes or an agent binding: bytes by tier
 * and dataset count, aggregated over one snapshot (jansson's object is the
 * host table), then a page in host name order. */
typedef struct hosts_ctx {
    json_t *by_host;
    int error;
} hosts_ctx;

static json_t *host_entry(hosts_ctx *c, locus_hs_snapshot *snap, const char *host)
{
    json_t *e = json_object_get(c->by_host, host);
    if (e)
        return e;
    const char *agent = locus_hs_snapshot_agent_for_host(snap, host);
    e = json_pack("{s:o, s:o, s:I, s:{s:I, s:I, s:I}}", "host", jstr(host), "agent",
                  jstr(agent ? agent : host), "datasets", (json_int_t)0, "bytes", "MEM",
                  (json_int_t)0, "SSD", (json_int_t)0, "HDD", (json_int_t)0);
    if (!e || json_object_set_new(c->by_host, host, e)) {
        c->error = 1;
        return NULL;
    }
    return e;
}

typedef struct hosts_walk {
    hosts_ctx *c;
    locus_hs_snapshot *snap;
} hosts_walk;

static int hosts_add_dataset(const locus_hs_dataset *d, void *arg)
{
    hosts_walk *w = arg;
    for (size_t i = 0; i < d->n_placement; i++) {
        const locus_hs_host_bytes *p = &d->placement[i];
        json_t *e = host_entry(w->c, w->snap, p->host);
        if (!e)
            return 1;
        if (i == 0 || strcmp(d->placement[i - 1].host, p->host) != 0) {
            json_t *n = json_object_get(e, "datasets");
            json_integer_set(n, json_integer_value(n) + 1);
        }
        json_t *b = json_object_get(json_object_get(e, "bytes"), locus_tier_name(p->tier));
        if (b)
            json_integer_set(b, json_integer_value(b) + (json_int_t)p->bytes);
    }
    return 0;
}

static int hosts_add_binding(const char *storage_host, const char *agent_hostname,
                             const char *agent_id, void *arg)
{
    (void)agent_hostname;
    (void)agent_id;
    hosts_walk *w = arg;
    return host_entry(w->c, w->snap, storage_host) ? 0 : 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void serve_host_list(probe_daemon *d, probe_httpd_req *req)
{
    page_args pa;
    char msg[200];
    if (parse_page(d, req, &pa, msg, sizeof msg)) {
        send_error(req, HTTP_BADREQUEST, "Bad Request", msg);
        return;
    }
    locus_hs_snapshot *snap = NULL;
    int rc = locus_hs_snapshot_open(probe_daemon_store(d), &snap);
    if (rc) {
        free(pa.cursor);
        snapshot_failed(d, req, rc);
        return;
    }
    hosts_ctx c = {json_object(), 0};
    hosts_walk w = {&c, snap};
    rc = locus_hs_snapshot_foreach_dataset(snap, hosts_add_dataset, &w);
    if (!rc && !c.error)
        rc = locus_hs_snapshot_foreach_binding(snap, hosts_add_binding, &w);
    size_t n = json_object_size(c.by_host);
    const char **names = malloc((n ? n : 1) * sizeof *names);
    if (rc || c.error || !names) {
        free(names);
        free(pa.cursor);
        json_decref(c.by_host);
        if (rc && !c.error)
            snapshot_failed(d, req, rc);
        else
            send_error(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
        locus_hs_snapshot_close(snap);
        return;
    }
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach(c.by_host, key, val)
        names[k++] = key;
    qsort(names, n, sizeof *names, cmp_str);
    stream st;
    if (stream_begin(&st, req, "{\"hosts\":[")) {
        free(names);
        free(pa.cursor);
        json_decref(c.by_host);
        locus_hs_snapshot_close(snap);
        send_error(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
        return;
    }
    long taken = 0;
    int more = 0;
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if (pa.cursor && strcmp(names[i], pa.cursor) <= 0)
            continue;
        if (taken == pa.limit) {
            more = 1;
            break;
        }
        stream_item(&st, json_incref(json_object_get(c.by_host, names[i])));
        last = names[i];
        taken++;
    }
    stream_end(&st, json_pack("{s:o, s:i}", "next_cursor", more && last ? jstr(last) : json_null(),
                              "limit", (int)pa.limit));
    free(names);
    free(pa.cursor);
    json_decref(c.by_host);
    locus_hs_snapshot_close(snap);
}

/* ---- health, readiness, metrics, index ------------------------------------ */

static void serve_healthz(probe_daemon *d, probe_httpd_req *req)
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

/* Ready = the store is writable and every enabled backend has had a
 * complete poll within its staleness bound (its hints are being kept
 * fresh). 503 with the reasons otherwise. */
static void serve_readyz(probe_daemon *d, probe_httpd_req *req)
{
    json_t *reasons = json_array();
    json_t *backends = json_array();
    const probe_config *cfg = probe_daemon_config(d);
    char line[700];
    const char *store = cfg->core.store_path;
    char data[4200];
    snprintf(data, sizeof data, "%s/data.mdb", store);
    if (access(store, W_OK) != 0 || access(data, W_OK) != 0) {
        snprintf(line, sizeof line, "hint store %s is not writable: %s", store, strerror(errno));
        json_array_append_new(reasons, jstr(line));
    }
    int64_t now = probe_now_ms();
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        const probe_backend_type *t = probe_backend_at(i);
        const probe_stats *s = probe_daemon_stats(d, i);
        const probe_backend_common *c = probe_config_common(cfg, i);
        if (!t || !s->enabled || !c)
            continue;
        double age = s->last_success_ms ? (double)(now - s->last_success_ms) / 1000.0 : -1;
        int ok = age >= 0 && age <= c->staleness_s;
        if (!ok) {
            if (age < 0)
                snprintf(line, sizeof line, "%s: no complete poll yet%s%s", t->name,
                         *s->last_error ? ": " : "", s->last_error);
            else
                snprintf(line, sizeof line, "%s: last complete poll %.1f s ago, over its staleness "
                                            "bound of %.1f s%s%s", t->name, age, c->staleness_s,
                         *s->last_error ? ": " : "", s->last_error);
            json_array_append_new(reasons, jstr(line));
        }
        json_array_append_new(backends, json_pack("{s:s, s:b, s:o, s:f}", "name", t->name, "ready",
                                                  ok, "age_seconds",
                                                  age < 0 ? json_null() : json_real(age),
                                                  "staleness_seconds", c->staleness_s));
    }
    int ready = json_array_size(reasons) == 0;
    send_json(req, ready ? 200 : 503, ready ? "OK" : "Service Unavailable",
              json_pack("{s:b, s:o, s:o}", "ready", ready, "reasons", reasons, "backends", backends));
}

static void serve_metrics(probe_daemon *d, probe_httpd_req *req)
{
    struct evbuffer *buf = evbuffer_new();
    if (!buf || probe_metrics_render(d, buf)) {
        if (buf)
            evbuffer_free(buf);
        send_error(req, HTTP_INTERNAL, "Internal Server Error", "out of memory");
        return;
    }
    probe_httpd_add_header(req, "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    reply(req, HTTP_OK, "OK", buf);
    evbuffer_free(buf);
}

static const struct endpoint {
    const char *path, *what;
} endpoints[] = {
    {"/healthz", "liveness: 200 while the daemon's loop answers"},
    {"/readyz", "readiness: 200 when the store is writable and every enabled backend polled "
                "within its staleness bound, else 503 with the reasons"},
    {"/metrics", "Prometheus text format"},
    {"/v1/datasets", "datasets in name order, paginated (?limit=, ?cursor=)"},
    {"/v1/datasets/{name}", "one dataset and a page of its blocks (?limit=, ?cursor=)"},
    {"/v1/hosts", "storage hosts with cached bytes by tier, paginated (?limit=, ?cursor=)"},
    {"/v1/hosts/{host}", "datasets cached on one storage host"},
};

static void serve_index(probe_httpd_req *req)
{
    json_t *list = json_array();
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "path", endpoints[i].path,
                                              "description", endpoints[i].what));
    send_json(req, HTTP_OK, "OK", json_pack("{s:s, s:o}", "service", "locus-probe", "endpoints",
                                            list));
}

/* ---- routing -------------------------------------------------------------- */

enum route { R_NONE, R_INDEX, R_HEALTHZ, R_READYZ, R_METRICS, R_DATASETS, R_DATASET, R_HOSTS,
             R_HOST };

/* evhttp_uridecode leaves a bad escape ("%zz", a trailing "%") as it is:
 * such a name is malformed, not a name that merely does not exist. */
static int escapes_valid(const char *s)
{
    for (; *s; s++) {
        if (*s != '%')
            continue;
        if (!isxdigit((unsigned char)s[1]) || !isxdigit((unsigned char)s[2]))
            return 0;
        s += 2;
    }
    return 1;
}

/* Matches path; *seg gets the decoded last segment (heap) for routes with a
 * name. Returns R_NONE for unknown paths, -1 for an undecodable name. */
static int route(const char *path, char **seg)
{
    *seg = NULL;
    static const struct { const char *path; int r; } fixed[] = {
        {"/", R_INDEX},           {"/healthz", R_HEALTHZ},      {"/readyz", R_READYZ},
        {"/metrics", R_METRICS},  {"/v1/datasets", R_DATASETS}, {"/v1/datasets/", R_DATASETS},
        {"/v1/hosts", R_HOSTS},   {"/v1/hosts/", R_HOSTS},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(path, fixed[i].path) == 0)
            return fixed[i].r;
    static const struct { const char *prefix; int r; } named[] = {
        {"/v1/datasets/", R_DATASET}, {"/v1/hosts/", R_HOST}};
    for (size_t i = 0; i < 2; i++) {
        size_t pl = strlen(named[i].prefix);
        if (strncmp(path, named[i].prefix, pl) != 0)
            continue;
        const char *raw = path + pl;
        if (!*raw || strchr(raw, '/'))
            return R_NONE;
        if (!escapes_valid(raw))
            return -1;
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

static void on_request(probe_httpd_req *req, void *arg)
{
    probe_http *h = arg;
    probe_daemon *d = h->d;
    const char *path = probe_httpd_path(req);
    char *seg = NULL;
    int r = route(path, &seg);
    if (r == R_NONE) {
        char msg[300];
        snprintf(msg, sizeof msg, "no such resource: %.200s (GET / lists the endpoints)", path);
        send_error(req, HTTP_NOTFOUND, "Not Found", msg);
        return;
    }
    if (r < 0) {
        send_error(req, HTTP_BADREQUEST, "Bad Request",
                   "malformed name in the path (bad %-escape or a NUL byte)");
        return;
    }
    if (strcmp(probe_httpd_method(req), "GET") != 0 && !probe_httpd_is_head(req)) {
        free(seg);
        probe_httpd_add_header(req, "Allow", "GET, HEAD");
        send_error(req, 405, "Method Not Allowed", "only GET and HEAD are allowed");
        return;
    }
    switch (r) {
    case R_INDEX: serve_index(req); break;
    case R_HEALTHZ: serve_healthz(d, req); break;
    case R_READYZ: serve_readyz(d, req); break;
    case R_METRICS: serve_metrics(d, req); break;
    case R_DATASETS: serve_dataset_list(d, req); break;
    case R_DATASET: serve_dataset(d, req, seg); break;
    case R_HOSTS: serve_host_list(d, req); break;
    case R_HOST: serve_host(d, req, seg); break;
    }
    free(seg);
}

/* ---- start and stop --------------------------------------------------------- */

void probe_http_free(probe_http *h)
{
    if (!h)
        return;
    probe_httpd_free(h->srv);
    free(h);
}

unsigned long long probe_http_refused(const probe_http *h)
{
    probe_httpd_stats st;
    probe_httpd_get_stats(h ? h->srv : NULL, &st);
    return st.refused_fds + st.refused_busy;
}

int probe_http_start(probe_daemon *d, struct event_base *base, const char *addr, int port,
                     probe_http **out, char *err, size_t errlen)
{
    *out = NULL;
    const probe_core_config *core = &probe_daemon_config(d)->core;
    probe_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "http: out of memory");
        return LOCUS_ENOMEM;
    }
    h->d = d;
    probe_httpd_limits lim = {
        .max_header_bytes = (size_t)core->http_max_header_bytes,
        .max_body_bytes = 4096, /* GET and HEAD only: no body is ever needed */
        .timeout_s = core->http_timeout_s,
        .max_connections = (long)core->http_max_connections,
        .fd_headroom = (long)core->http_fd_headroom,
    };
    int rc = probe_httpd_start(base, addr, port, &lim, on_request, h, &h->srv, err, errlen);
    if (rc) {
        free(h);
        return rc;
    }
    probe_log(PROBE_LOG_INFO, "HTTP API on http://%s:%d/ (GET / lists the endpoints)", addr, port);
    *out = h;
    return 0;
}
