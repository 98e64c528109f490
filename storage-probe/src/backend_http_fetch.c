/* Asynchronous HTTP + JSON client shared by the Alluxio and HDFS backends
 * (interface and rules in http_fetch.h). The file is named backend_*.c so the
 * probe's build picks it up with the backends.
 *
 * Design:
 * - One evhttp connection per request ("Connection: close"). A poll issues a
 *   few hundred to a few thousand small metadata requests; a fresh connection
 *   each time keeps every failure local to its request and makes the bound
 *   on concurrency a plain count. evdns resolves names so nothing blocks.
 * - libevent's callbacks only record the outcome and wake one "pump" event.
 *   The pump frees finished connections, parses bodies, calls the user's
 *   callback and starts queued requests. Doing the work there, outside any
 *   evhttp callback, is what lets a user callback cancel or free the whole
 *   client (the usual reaction to a failed poll) without freeing a
 *   connection from inside its own callback.
 * - Each request has its own deadline timer on top of evhttp's per-I/O
 *   timeout, so a server that trickles bytes cannot hold a poll forever.
 *   Expiry frees the connection, which drops the evhttp request silently.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "http_fetch.h"
#include "locus/error.h"

#define BODY_EXCERPT 160 /* bytes of an error body quoted in messages */

enum req_state { REQ_QUEUED, REQ_ACTIVE, REQ_DONE };

typedef struct fetch_req fetch_req;
struct fetch_req {
    http_fetch *f;
    fetch_req *prev, *next;          /* in one of f's three lists */
    enum req_state state;
    http_fetch_method method;
    char *target;                    /* request path + query, with the endpoint prefix */
    char *url;                       /* "<METHOD> http://host:port<target>" for messages */
    http_fetch_cb cb;
    void *arg;
    struct evhttp_connection *conn;
    struct event *deadline;
    /* outcome, recorded by the evhttp callbacks or the deadline */
    int status;                      /* set when failed before a response */
    char errmsg[256];
    int have_ev_err;
    enum evhttp_request_error ev_err;
    int code;                        /* HTTP status, 0 = none */
    char *body;
    size_t body_len;
};

typedef struct req_list {
    fetch_req *head, *tail;
    size_t n;
} req_list;

struct http_fetch {
    struct event_base *base;
    struct evdns_base *dns;          /* NULL when the host is a numeric address */
    char *host;
    uint16_t port;
    char *prefix;                    /* path prefix without trailing '/', may be "" */
    char *endpoint;                  /* for messages */
    http_fetch_limits lim;
    req_list queued, active, done;
    struct event *pump;
    int in_pump;
    int dying;                       /* http_fetch_free called from a callback */
};

static void list_push(req_list *l, fetch_req *r)
{
    r->prev = l->tail;
    r->next = NULL;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

static void list_remove(req_list *l, fetch_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->prev = r->next = NULL;
    l->n--;
}

static req_list *list_of(http_fetch *f, enum req_state s)
{
    return s == REQ_QUEUED ? &f->queued : s == REQ_ACTIVE ? &f->active : &f->done;
}

static void move_to(fetch_req *r, enum req_state s)
{
    list_remove(list_of(r->f, r->state), r);
    r->state = s;
    list_push(list_of(r->f, s), r);
}

static void req_release_io(fetch_req *r)
{
    if (r->deadline) {
        event_free(r->deadline);
        r->deadline = NULL;
    }
    if (r->conn) {
        /* Frees a still-pending evhttp request too, without its callbacks. */
        evhttp_connection_free(r->conn);
        r->conn = NULL;
    }
}

static void req_free(fetch_req *r)
{
    if (!r)
        return;
    req_release_io(r);
    free(r->target);
    free(r->url);
    free(r->body);
    free(r);
}

static void fail_req(fetch_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_req(fetch_req *r, int status, const char *fmt, ...)
{
    r->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errmsg, sizeof r->errmsg, fmt, ap);
    va_end(ap);
}

/* ---- evhttp callbacks: record and wake the pump, nothing else ---------- */

static void on_ev_error(enum evhttp_request_error err, void *arg)
{
    fetch_req *r = arg;
    r->have_ev_err = 1;
    r->ev_err = err;
}

static void on_response(struct evhttp_request *req, void *arg)
{
    fetch_req *r = arg;
    if (r->state != REQ_ACTIVE)
        return;
    int code = req ? evhttp_request_get_response_code(req) : 0;
    if (code <= 0) {
        /* No response: libevent reported why through on_ev_error, or not at
         * all when the connection itself failed. */
        enum evhttp_request_error e = r->have_ev_err ? r->ev_err : EVREQ_HTTP_REQUEST_CANCEL;
        if (e == EVREQ_HTTP_TIMEOUT)
            fail_req(r, LOCUS_ETIMEDOUT, "%s: timed out after %g s", r->url, r->f->lim.timeout_s);
        else if (e == EVREQ_HTTP_DATA_TOO_LONG)
            fail_req(r, LOCUS_EIO, "%s: response body longer than %zu bytes", r->url,
                     r->f->lim.max_body_bytes);
        else if (e == EVREQ_HTTP_EOF)
            fail_req(r, LOCUS_EIO, "%s: connection closed before a complete response", r->url);
        else if (e == EVREQ_HTTP_INVALID_HEADER)
            fail_req(r, LOCUS_EIO, "%s: invalid HTTP response header", r->url);
        else if (e == EVREQ_HTTP_BUFFER_ERROR)
            fail_req(r, LOCUS_EIO, "%s: socket error while reading the response", r->url);
        else
            fail_req(r, LOCUS_EIO, "%s: connection failed (refused, reset or unreachable)",
                     r->url);
    } else {
        r->code = code;
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = in ? evbuffer_get_length(in) : 0;
        if (len > r->f->lim.max_body_bytes) {
            fail_req(r, LOCUS_EIO, "%s: response body longer than %zu bytes", r->url,
                     r->f->lim.max_body_bytes);
        } else {
            r->body = malloc(len + 1);
            if (!r->body) {
                fail_req(r, LOCUS_ENOMEM, "%s: out of memory for a %zu-byte body", r->url, len);
            } else {
                if (len)
                    evbuffer_remove(in, r->body, len);
                r->body[len] = '\0';
                r->body_len = len;
            }
        }
    }
    move_to(r, REQ_DONE);
    event_active(r->f->pump, EV_READ, 0);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fetch_req *r = arg;
    if (r->state != REQ_ACTIVE)
        return;
    req_release_io(r); /* drops the evhttp request; its callbacks do not run */
    fail_req(r, LOCUS_ETIMEDOUT, "%s: timed out after %g s", r->url, r->f->lim.timeout_s);
    move_to(r, REQ_DONE);
    event_active(r->f->pump, EV_READ, 0);
}

/* ---- starting a request ------------------------------------------------ */

static void start_req(fetch_req *r)
{
    http_fetch *f = r->f;
    move_to(r, REQ_ACTIVE);
    struct timeval tv;
    tv.tv_sec = (time_t)f->lim.timeout_s;
    tv.tv_usec = (suseconds_t)((f->lim.timeout_s - (double)tv.tv_sec) * 1e6);
    r->deadline = evtimer_new(f->base, on_deadline, r);
    r->conn = evhttp_connection_base_new(f->base, f->dns, f->host, f->port);
    struct evhttp_request *req = r->conn ? evhttp_request_new(on_response, r) : NULL;
    if (!r->deadline || !req) {
        if (req)
            evhttp_request_free(req);
        req_release_io(r);
        fail_req(r, LOCUS_ENOMEM, "%s: out of memory starting the request", r->url);
        move_to(r, REQ_DONE);
        return;
    }
    evhttp_connection_set_timeout_tv(r->conn, &tv);
    evhttp_connection_set_retries(r->conn, 0);
    evhttp_connection_set_max_body_size(r->conn, (ev_ssize_t)f->lim.max_body_bytes);
    evhttp_request_set_error_cb(req, on_ev_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%s:%u", f->host, (unsigned)f->port);
    evhttp_add_header(h, "Host", hostport);
    evhttp_add_header(h, "Accept", "application/json");
    evhttp_add_header(h, "Connection", "close");
    if (r->method == HTTP_FETCH_POST) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(req), "{}", 2);
    }
    evtimer_add(r->deadline, &tv);
    /* May complete (fail) synchronously: on_response then moves r to done. */
    if (evhttp_make_request(r->conn, req,
                            r->method == HTTP_FETCH_POST ? EVHTTP_REQ_POST : EVHTTP_REQ_GET,
                            r->target) != 0 &&
        r->state == REQ_ACTIVE) {
        req_release_io(r);
        fail_req(r, LOCUS_EIO, "%s: could not start the request", r->url);
        move_to(r, REQ_DONE);
    }
}

/* ---- the pump: deliver results, start queued requests ------------------- */

static void body_excerpt(const char *body, size_t len, char *out, size_t outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < outlen && i < BODY_EXCERPT; i++) {
        unsigned char c = (unsigned char)body[i];
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
    }
    if (len > BODY_EXCERPT && n + 4 < outlen) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static void deliver(fetch_req *r)
{
    json_t *root = NULL;
    char msg[sizeof r->errmsg + BODY_EXCERPT + 64];
    int status = r->status;
    if (status) {
        snprintf(msg, sizeof msg, "%s", r->errmsg);
    } else if (r->code < 200 || r->code > 299) {
        char ex[BODY_EXCERPT + 8];
        body_excerpt(r->body, r->body_len, ex, sizeof ex);
        status = LOCUS_EIO;
        snprintf(msg, sizeof msg, "%s: HTTP status %d%s%s", r->url, r->code, ex[0] ? ": " : "", ex);
    } else {
        json_error_t jerr;
        root = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &jerr);
        if (!root) {
            status = LOCUS_EPARSE;
            snprintf(msg, sizeof msg, "%s: malformed JSON body (%zu bytes) at line %d column %d: %s",
                     r->url, r->body_len, jerr.line, jerr.column, jerr.text);
        } else {
            msg[0] = '\0';
        }
    }
    r->cb(r->arg, status, root, r->url, status ? msg : NULL);
    json_decref(root);
}

static void do_free(http_fetch *f);

static void pump(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    http_fetch *f = arg;
    f->in_pump = 1;
    for (;;) {
        while (f->done.head && !f->dying) {
            fetch_req *r = f->done.head;
            list_remove(&f->done, r);
            req_release_io(r);
            deliver(r); /* may queue, cancel or free */
            req_free(r);
        }
        if (f->dying)
            break;
        while (f->queued.head && f->active.n < f->lim.max_concurrent)
            start_req(f->queued.head);
        if (!f->done.head)
            break; /* requests that failed synchronously go round again */
    }
    f->in_pump = 0;
    if (f->dying)
        do_free(f);
}

/* ---- public API -------------------------------------------------------- */

int http_fetch_new(struct event_base *base, const char *endpoint, uint16_t default_port,
                   const http_fetch_limits *limits, http_fetch **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!limits || limits->max_concurrent < 1 || !(limits->timeout_s > 0) ||
        limits->max_body_bytes < 1) {
        snprintf(err, errlen, "http client for %s: bad limits", endpoint ? endpoint : "(null)");
        return LOCUS_ECONFIG;
    }
    struct evhttp_uri *u = endpoint ? evhttp_uri_parse(endpoint) : NULL;
    if (!u) {
        snprintf(err, errlen, "endpoint \"%s\": not a URL (expected http://host[:port][/prefix])",
                 endpoint ? endpoint : "");
        return LOCUS_ECONFIG;
    }
    const char *scheme = evhttp_uri_get_scheme(u);
    const char *host = evhttp_uri_get_host(u);
    const char *path = evhttp_uri_get_path(u);
    int port = evhttp_uri_get_port(u);
    int rc = LOCUS_ECONFIG;
    if (!scheme || strcasecmp(scheme, "http") != 0) {
        snprintf(err, errlen, "endpoint \"%s\": only http:// is supported", endpoint);
        goto out_uri;
    }
    if (!host || !host[0]) {
        snprintf(err, errlen, "endpoint \"%s\": no host", endpoint);
        goto out_uri;
    }
    if (evhttp_uri_get_query(u) || evhttp_uri_get_fragment(u) || evhttp_uri_get_userinfo(u)) {
        snprintf(err, errlen, "endpoint \"%s\": query, fragment and user info are not allowed",
                 endpoint);
        goto out_uri;
    }
    http_fetch *f = calloc(1, sizeof *f);
    rc = LOCUS_ENOMEM;
    if (!f) {
        snprintf(err, errlen, "endpoint \"%s\": out of memory", endpoint);
        goto out_uri;
    }
    f->base = base;
    f->lim = *limits;
    f->port = port > 0 ? (uint16_t)port : default_port;
    f->host = strdup(host);
    f->prefix = strdup(path ? path : "");
    if (f->prefix) {
        size_t n = strlen(f->prefix);
        while (n > 0 && f->prefix[n - 1] == '/')
            f->prefix[--n] = '\0';
    }
    size_t elen = strlen(host) + (f->prefix ? strlen(f->prefix) : 0) + 32;
    f->endpoint = malloc(elen);
    if (f->endpoint)
        snprintf(f->endpoint, elen, "http://%s:%u%s", host, (unsigned)f->port,
                 f->prefix ? f->prefix : "");
    f->pump = event_new(base, -1, 0, pump, f);
    struct evutil_addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = EVUTIL_AI_NUMERICHOST;
    hints.ai_family = AF_UNSPEC;
    int numeric = evutil_getaddrinfo(host, NULL, &hints, &ai) == 0;
    if (ai)
        evutil_freeaddrinfo(ai);
    if (!numeric)
        f->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (!f->host || !f->prefix || !f->endpoint || !f->pump || (!numeric && !f->dns)) {
        snprintf(err, errlen, "endpoint \"%s\": out of memory or no DNS resolver", endpoint);
        do_free(f);
        goto out_uri;
    }
    *out = f;
    rc = 0;
out_uri:
    evhttp_uri_free(u);
    return rc;
}

static void drop_list(req_list *l)
{
    while (l->head) {
        fetch_req *r = l->head;
        list_remove(l, r);
        req_free(r);
    }
}

void http_fetch_cancel_all(http_fetch *f)
{
    if (!f)
        return;
    drop_list(&f->queued);
    drop_list(&f->active);
    drop_list(&f->done);
}

static void do_free(http_fetch *f)
{
    http_fetch_cancel_all(f);
    if (f->pump)
        event_free(f->pump);
    if (f->dns)
        evdns_base_free(f->dns, 0);
    free(f->host);
    free(f->prefix);
    free(f->endpoint);
    free(f);
}

void http_fetch_free(http_fetch *f)
{
    if (!f)
        return;
    if (f->in_pump) {
        http_fetch_cancel_all(f);
        f->dying = 1; /* the pump frees it when the callback returns */
        return;
    }
    do_free(f);
}

int http_fetch_json(http_fetch *f, http_fetch_method method, const char *path_query,
                    http_fetch_cb cb, void *arg)
{
    if (!f || !path_query || path_query[0] != '/' || !cb || f->dying)
        return LOCUS_EINVAL;
    fetch_req *r = calloc(1, sizeof *r);
    if (!r)
        return LOCUS_ENOMEM;
    r->f = f;
    r->method = method;
    r->cb = cb;
    r->arg = arg;
    size_t tlen = strlen(f->prefix) + strlen(path_query) + 1;
    r->target = malloc(tlen);
    size_t ulen = tlen + strlen(f->host) + 40;
    r->url = malloc(ulen);
    if (!r->target || !r->url) {
        req_free(r);
        return LOCUS_ENOMEM;
    }
    snprintf(r->target, tlen, "%s%s", f->prefix, path_query);
    snprintf(r->url, ulen, "%s http://%s:%u%s", method == HTTP_FETCH_POST ? "POST" : "GET",
             f->host, (unsigned)f->port, r->target);
    r->state = REQ_QUEUED;
    list_push(&f->queued, r);
    event_active(f->pump, EV_READ, 0);
    return 0;
}

size_t http_fetch_pending(const http_fetch *f)
{
    return f ? f->queued.n + f->active.n + f->done.n : 0;
}

const char *http_fetch_endpoint(const http_fetch *f)
{
    return f ? f->endpoint : "";
}

static char *encode(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            out[j++] = (char)c;
        } else {
            out[j++] = '%';
            out[j++] = hex[c >> 4];
            out[j++] = hex[c & 15];
        }
    }
    out[j] = '\0';
    return out;
}

char *http_fetch_encode_path(const char *path) { return encode(path, 1); }
char *http_fetch_encode_query(const char *value) { return encode(value, 0); }

/* ---- JSON access ------------------------------------------------------- */

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static int member(json_t *obj, const char *where, const char *key, json_type want,
                  const char *want_name, json_t **out, char *err, size_t errlen)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "%s: expected an object, got %s", where, obj ? type_name(obj) : "nothing");
        return LOCUS_EPARSE;
    }
    if (!v) {
        snprintf(err, errlen, "%s.%s: missing", where, key);
        return LOCUS_EPARSE;
    }
    int ok = want == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == want;
    if (!ok) {
        snprintf(err, errlen, "%s.%s: expected %s, got %s", where, key, want_name, type_name(v));
        return LOCUS_EPARSE;
    }
    *out = v;
    return 0;
}

int http_json_object(json_t *obj, const char *where, const char *key, json_t **out,
                     char *err, size_t errlen)
{
    return member(obj, where, key, JSON_OBJECT, "an object", out, err, errlen);
}

int http_json_array(json_t *obj, const char *where, const char *key, json_t **out,
                    char *err, size_t errlen)
{
    return member(obj, where, key, JSON_ARRAY, "an array", out, err, errlen);
}

int http_json_string(json_t *obj, const char *where, const char *key, const char **out,
                     char *err, size_t errlen)
{
    json_t *v;
    int rc = member(obj, where, key, JSON_STRING, "a string", &v, err, errlen);
    if (rc == 0)
        *out = json_string_value(v);
    return rc;
}

int http_json_u64(json_t *obj, const char *where, const char *key, uint64_t *out,
                  char *err, size_t errlen)
{
    json_t *v;
    int rc = member(obj, where, key, JSON_INTEGER, "an integer", &v, err, errlen);
    if (rc)
        return rc;
    json_int_t i = json_integer_value(v);
    if (i < 0) {
        snprintf(err, errlen, "%s.%s: expected a non-negative integer, got %lld", where, key,
                 (long long)i);
        return LOCUS_EPARSE;
    }
    *out = (uint64_t)i;
    return 0;
}

int http_json_bool(json_t *obj, const char *where, const char *key, int *out,
                   char *err, size_t errlen)
{
    json_t *v;
    int rc = member(obj, where, key, JSON_TRUE, "a boolean", &v, err, errlen);
    if (rc == 0)
        *out = json_is_true(v);
    return rc;
}

int http_json_item_object(json_t *arr, const char *where, size_t i, json_t **out,
                          char *err, size_t errlen)
{
    json_t *v = json_array_get(arr, i);
    if (!json_is_object(v)) {
        snprintf(err, errlen, "%s[%zu]: expected an object, got %s", where, i,
                 v ? type_name(v) : "nothing");
        return LOCUS_EPARSE;
    }
    *out = v;
    return 0;
}

int http_json_item_string(json_t *arr, const char *where, size_t i, const char **out,
                          char *err, size_t errlen)
{
    json_t *v = json_array_get(arr, i);
    if (!json_is_string(v)) {
        snprintf(err, errlen, "%s[%zu]: expected a string, got %s", where, i,
                 v ? type_name(v) : "nothing");
        return LOCUS_EPARSE;
    }
    *out = json_string_value(v);
    return 0;
}
