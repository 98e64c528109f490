/* Asynchronous HTTP(S) + JSON client shared by the Alluxio and HDFS backends
 * (interface and rules in http_fetch.h), on libcurl's multi interface driven
 * by the probe's libevent loop. The file is named backend_*.c so the probe's
 * build picks it up with the backends.
 *
 * Design:
 * - One CURLM per client. libcurl tells us which sockets to watch
 *   (CURLMOPT_SOCKETFUNCTION: one libevent event per socket) and when to
 *   call it back (CURLMOPT_TIMERFUNCTION: one libevent timer); it keeps
 *   connections alive between requests (a poll's thousands of metadata
 *   requests reuse a few connections) and speaks HTTPS (CA file, client
 *   certificate), Kerberos/SPNEGO and proxies.
 * - At most max_concurrent requests are handed to libcurl at once; the rest
 *   wait in a FIFO. libcurl resolves names in its own thread, so nothing
 *   blocks the loop.
 * - Finished transfers only record the outcome and wake one "pump" event.
 *   The pump parses bodies, calls the user's callback and starts queued
 *   requests, outside any libcurl call, so a user callback may cancel or
 *   free the whole client (the usual reaction to a failed poll).
 * - CURLOPT_TIMEOUT_MS bounds the whole request (connect to last body
 *   byte), so a server that trickles bytes cannot hold a poll forever; the
 *   write callback refuses a body over max_body_bytes.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>

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
    char *full_url;                  /* scheme://host:port<target>, given to libcurl */
    char *url;                       /* "<METHOD> <full_url>" for messages */
    http_fetch_cb cb;
    void *arg;
    CURL *easy;
    struct curl_slist *headers;
    char curl_err[CURL_ERROR_SIZE];
    int too_long;                    /* the write callback refused the body */
    /* outcome */
    int status;                      /* set when failed before a complete response */
    char errmsg[384];
    long code;                       /* HTTP status, 0 = none */
    char *body;
    size_t body_len, body_cap;
};

typedef struct req_list {
    fetch_req *head, *tail;
    size_t n;
} req_list;

/* One socket libcurl asked us to watch. */
typedef struct sock_watch sock_watch;
struct sock_watch {
    http_fetch *f;
    curl_socket_t fd;
    struct event *ev;
    sock_watch *prev, *next;
};

struct http_fetch {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;             /* libcurl's timeout */
    struct event *pump;
    char *scheme;                    /* "http" or "https" */
    char *host;
    uint16_t port;
    char *prefix;                    /* path prefix without trailing '/', may be "" */
    char *endpoint;                  /* for messages */
    http_fetch_limits lim;
    char *ca_file, *cert_file, *key_file, *proxy;
    int spnego;
    req_list queued, active, done;
    sock_watch *watches;
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

/* Takes the transfer away from libcurl (its connection goes back to the
 * cache, or is closed if the transfer was cut short). */
static void req_release_io(fetch_req *r)
{
    if (r->easy) {
        curl_multi_remove_handle(r->f->multi, r->easy);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    curl_slist_free_all(r->headers);
    r->headers = NULL;
}

static void req_free(fetch_req *r)
{
    if (!r)
        return;
    req_release_io(r);
    free(r->target);
    free(r->full_url);
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

/* ---- libcurl callbacks -------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    fetch_req *r = arg;
    size_t n = size * nmemb;
    if (n > r->f->lim.max_body_bytes - r->body_len) {
        r->too_long = 1;
        return 0; /* libcurl ends the transfer with CURLE_WRITE_ERROR */
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *nb = realloc(r->body, cap);
        if (!nb)
            return 0;
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* Why a transfer failed, in the words the backends' messages use. */
static void record_failure(fetch_req *r, CURLcode cc)
{
    const char *detail = r->curl_err[0] ? r->curl_err : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        fail_req(r, LOCUS_ETIMEDOUT, "%s: timed out after %g s", r->url, r->f->lim.timeout_s);
        break;
    case CURLE_FILESIZE_EXCEEDED:
        fail_req(r, LOCUS_EIO, "%s: response body longer than %zu bytes", r->url,
                 r->f->lim.max_body_bytes);
        break;
    case CURLE_WRITE_ERROR:
        if (r->too_long)
            fail_req(r, LOCUS_EIO, "%s: response body longer than %zu bytes", r->url,
                     r->f->lim.max_body_bytes);
        else
            fail_req(r, LOCUS_ENOMEM, "%s: out of memory for the response body", r->url);
        break;
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        fail_req(r, LOCUS_EIO, "%s: connection closed before a complete response (%s)", r->url,
                 detail);
        break;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
        fail_req(r, LOCUS_EIO, "%s: invalid HTTP response header (%s)", r->url, detail);
        break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        fail_req(r, LOCUS_EIO, "%s: connection failed (refused, reset or unreachable): %s", r->url,
                 detail);
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        fail_req(r, LOCUS_EIO, "%s: TLS failed: %s", r->url, detail);
        break;
    case CURLE_OUT_OF_MEMORY:
        fail_req(r, LOCUS_ENOMEM, "%s: out of memory", r->url);
        break;
    default:
        fail_req(r, LOCUS_EIO, "%s: %s", r->url, detail);
        break;
    }
}

/* Moves every transfer libcurl reports finished to the done list. */
static void collect_done(http_fetch *f)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(f->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        fetch_req *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode cc = m->data.result;
        if (!r || r->state != REQ_ACTIVE)
            continue;
        if (cc == CURLE_OK)
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->code);
        else
            record_failure(r, cc);
        req_release_io(r); /* m is invalid from here on */
        move_to(r, REQ_DONE);
    }
    if (f->done.head)
        event_active(f->pump, EV_READ, 0);
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    http_fetch *f = arg;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(f->multi, fd, flags, &running);
    collect_done(f);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    http_fetch *f = arg;
    int running;
    curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_done(f);
}

static void watch_free(sock_watch *w)
{
    http_fetch *f = w->f;
    if (w->prev)
        w->prev->next = w->next;
    else
        f->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (w->ev)
        event_free(w->ev);
    free(w);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what libcurl wants, or stop. */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    http_fetch *f = userp;
    sock_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            curl_multi_assign(f->multi, s, NULL);
            watch_free(w);
        }
        return 0;
    }
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w)
            return -1;
        w->f = f;
        w->fd = s;
        w->next = f->watches;
        if (f->watches)
            f->watches->prev = w;
        f->watches = w;
        curl_multi_assign(f->multi, s, w);
    }
    short ev = (short)((what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0) |
                       EV_PERSIST);
    if (w->ev)
        event_free(w->ev);
    w->ev = event_new(f->base, s, ev, on_socket_event, f);
    return w->ev && event_add(w->ev, NULL) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: call libcurl back after timeout_ms (-1: never). */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    http_fetch *f = userp;
    if (timeout_ms < 0) {
        evtimer_del(f->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    return evtimer_add(f->timer, &tv);
}

/* ---- starting a request ------------------------------------------------ */

static int set_options(fetch_req *r)
{
    http_fetch *f = r->f;
    CURL *e = r->easy;
    int bad = 0;
#define SET(opt, val) bad |= curl_easy_setopt(e, opt, val) != CURLE_OK
    SET(CURLOPT_URL, r->full_url);
    SET(CURLOPT_PRIVATE, (void *)r);
    SET(CURLOPT_ERRORBUFFER, r->curl_err);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, (void *)r);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, (long)ceil(f->lim.timeout_s * 1000));
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->lim.max_body_bytes);
    SET(CURLOPT_PROTOCOLS_STR, f->scheme);
    SET(CURLOPT_FOLLOWLOCATION, 0L); /* WebHDFS redirects only data reads, which we never make */
    SET(CURLOPT_HTTPHEADER, r->headers);
    /* "" makes libcurl ignore http_proxy and friends: a daemon's route
     * should come from its config, not from whoever started it. */
    SET(CURLOPT_PROXY, f->proxy ? f->proxy : "");
    if (f->ca_file)
        SET(CURLOPT_CAINFO, f->ca_file);
    if (f->cert_file)
        SET(CURLOPT_SSLCERT, f->cert_file);
    if (f->key_file)
        SET(CURLOPT_SSLKEY, f->key_file);
    if (f->spnego) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_NEGOTIATE);
        SET(CURLOPT_USERPWD, ":"); /* the credentials come from the Kerberos ticket cache */
    }
    if (r->method == HTTP_FETCH_POST) {
        SET(CURLOPT_POSTFIELDS, "{}");
        SET(CURLOPT_POSTFIELDSIZE, 2L);
    }
#undef SET
    return bad ? -1 : 0;
}

static void start_req(fetch_req *r)
{
    http_fetch *f = r->f;
    move_to(r, REQ_ACTIVE);
    r->easy = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (h && r->method == HTTP_FETCH_POST) {
        struct curl_slist *h2 = curl_slist_append(h, "Content-Type: application/json");
        if (!h2) {
            curl_slist_free_all(h);
            h = NULL;
        } else {
            h = h2;
        }
    }
    r->headers = h;
    if (!r->easy || !r->headers || set_options(r) != 0) {
        req_release_io(r);
        fail_req(r, LOCUS_ENOMEM, "%s: out of memory starting the request", r->url);
        move_to(r, REQ_DONE);
        return;
    }
    if (curl_multi_add_handle(f->multi, r->easy) != CURLM_OK) {
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
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
        body_excerpt(r->body ? r->body : "", r->body_len, ex, sizeof ex);
        status = LOCUS_EIO;
        snprintf(msg, sizeof msg, "%s: HTTP status %ld%s%s", r->url, r->code, ex[0] ? ": " : "", ex);
    } else {
        json_error_t jerr;
        root = json_loadb(r->body ? r->body : "", r->body_len, JSON_DECODE_ANY, &jerr);
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
            deliver(r); /* may queue, cancel or free */
            req_free(r);
        }
        if (f->dying)
            break;
        while (f->queued.head && f->active.n < f->lim.max_concurrent)
            start_req(f->queued.head);
        if (!f->done.head)
            break; /* requests that failed to start go round again */
    }
    f->in_pump = 0;
    if (f->dying)
        do_free(f);
}

/* ---- public API -------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

int http_fetch_new(struct event_base *base, const char *endpoint, uint16_t default_port,
                   const http_fetch_limits *limits, const http_fetch_options *opts,
                   http_fetch **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!limits || limits->max_concurrent < 1 || !(limits->timeout_s > 0) ||
        limits->max_body_bytes < 1) {
        snprintf(err, errlen, "http client for %s: bad limits", endpoint ? endpoint : "(null)");
        return LOCUS_ECONFIG;
    }
    static int curl_ready;
    if (!curl_ready) {
        /* Once per process; the probe's loop is single-threaded. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errlen, "endpoint \"%s\": libcurl failed to initialise", endpoint);
            return LOCUS_EIO;
        }
        curl_ready = 1;
    }
    if (opts && opts->spnego &&
        !(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_SPNEGO)) {
        snprintf(err, errlen, "spnego: this libcurl was built without SPNEGO (Kerberos) support");
        return LOCUS_ECONFIG;
    }
    struct evhttp_uri *u = endpoint ? evhttp_uri_parse(endpoint) : NULL;
    if (!u) {
        snprintf(err, errlen,
                 "endpoint \"%s\": not a URL (expected http[s]://host[:port][/prefix])",
                 endpoint ? endpoint : "");
        return LOCUS_ECONFIG;
    }
    const char *scheme = evhttp_uri_get_scheme(u);
    const char *host = evhttp_uri_get_host(u);
    const char *path = evhttp_uri_get_path(u);
    int port = evhttp_uri_get_port(u);
    int rc = LOCUS_ECONFIG;
    int https = scheme && strcasecmp(scheme, "https") == 0;
    if (!scheme || (strcasecmp(scheme, "http") != 0 && !https)) {
        snprintf(err, errlen, "endpoint \"%s\": only http:// and https:// are supported", endpoint);
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
    f->scheme = strdup(https ? "https" : "http");
    /* An IPv6 literal goes back in brackets in every URL. */
    int v6 = strchr(host, ':') != NULL && host[0] != '[';
    size_t hl = strlen(host) + 3;
    f->host = malloc(hl);
    if (f->host)
        snprintf(f->host, hl, v6 ? "[%s]" : "%s", host);
    f->prefix = strdup(path ? path : "");
    if (f->prefix) {
        size_t n = strlen(f->prefix);
        while (n > 0 && f->prefix[n - 1] == '/')
            f->prefix[--n] = '\0';
    }
    size_t elen = hl + (f->prefix ? strlen(f->prefix) : 0) + 40;
    f->endpoint = malloc(elen);
    if (f->endpoint && f->host)
        snprintf(f->endpoint, elen, "%s://%s:%u%s", https ? "https" : "http", f->host,
                 (unsigned)f->port, f->prefix ? f->prefix : "");
    int opts_ok = 1;
    if (opts) {
        f->spnego = opts->spnego;
        f->ca_file = dup_or_null(opts->ca_file);
        f->cert_file = dup_or_null(opts->cert_file);
        f->key_file = dup_or_null(opts->key_file);
        f->proxy = dup_or_null(opts->proxy);
        opts_ok = (!opts->ca_file || !*opts->ca_file || f->ca_file) &&
                  (!opts->cert_file || !*opts->cert_file || f->cert_file) &&
                  (!opts->key_file || !*opts->key_file || f->key_file) &&
                  (!opts->proxy || !*opts->proxy || f->proxy);
    }
    f->pump = event_new(base, -1, 0, pump, f);
    f->timer = evtimer_new(base, on_timer, f);
    f->multi = curl_multi_init();
    if (!f->scheme || !f->host || !f->prefix || !f->endpoint || !f->pump || !f->timer ||
        !f->multi || !opts_ok) {
        snprintf(err, errlen, "endpoint \"%s\": out of memory", endpoint);
        do_free(f);
        goto out_uri;
    }
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
    /* Connections kept alive for the next requests: one per request slot. */
    curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)f->lim.max_concurrent);
    curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)f->lim.max_concurrent);
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
    if (f->multi)
        curl_multi_cleanup(f->multi); /* closes the kept-alive connections */
    while (f->watches)
        watch_free(f->watches);
    if (f->pump)
        event_free(f->pump);
    if (f->timer)
        event_free(f->timer);
    free(f->scheme);
    free(f->host);
    free(f->prefix);
    free(f->endpoint);
    free(f->ca_file);
    free(f->cert_file);
    free(f->key_file);
    free(f->proxy);
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
    size_t flen = tlen + strlen(f->host) + 24;
    r->full_url = malloc(flen);
    size_t ulen = flen + 8;
    r->url = malloc(ulen);
    if (!r->target || !r->full_url || !r->url) {
        req_free(r);
        return LOCUS_ENOMEM;
    }
    snprintf(r->target, tlen, "%s%s", f->prefix, path_query);
    snprintf(r->full_url, flen, "%s://%s:%u%s", f->scheme, f->host, (unsigned)f->port, r->target);
    snprintf(r->url, ulen, "%s %s", method == HTTP_FETCH_POST ? "POST" : "GET", r->full_url);
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
