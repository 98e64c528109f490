/* A small HTTP/1.1 server for the probe's API (see probe_httpd.h).
 *
 * One connection = one bufferevent. A request is read as a header block
 * (ended by an empty line, at most max_header_bytes) and an optional body
 * (Content-Length only, at most max_body_bytes, read and discarded: the API
 * is read-only); the handler answers it synchronously, then the next
 * pipelined request is read. Limits, each answered with a JSON error and a
 * closed connection: header block too long (431), body too long (413),
 * request not complete within timeout_s of its first byte (408), too many
 * connections or too few descriptors left (503, sent straight from the
 * accept callback). An idle keep-alive connection, or a client that stops
 * reading its answer, is dropped after timeout_s. While an answer waits to
 * be written (over OUT_HIGH bytes) no further request of that connection is
 * read, so one slow reader cannot make the probe buffer without bound. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "locus/error.h"
#include "locus/util.h"
#include "probe_httpd.h"
#include "probe_log.h"

#define OUT_HIGH (1u << 20)          /* pause reading requests above this much unsent */
#define ACCEPT_PAUSE_S 0.2
#define ACCEPT_LOG_EVERY_S 10.0

typedef struct conn conn;

struct probe_httpd_req {
    conn *c;
    char *method, *path, *query;
    int head, http11, keep_alive;
    struct evbuffer *headers;        /* response header lines */
    int started, done;
};

struct conn {
    probe_httpd *h;
    struct bufferevent *bev;
    struct event *deadline;          /* armed while a request is incomplete */
    int deadline_armed;
    int in_body;                     /* reading (and dropping) a request body */
    size_t body_left;
    probe_httpd_req req;             /* the request whose body is being read */
    int close_after;                 /* close once the output is written */
    int paused;                      /* reading stopped: output over OUT_HIGH */
    conn *prev, *next;
};

struct probe_httpd {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *resume_ev;
    probe_httpd_limits lim;
    probe_httpd_handler handler;
    void *arg;
    long fd_limit;
    int listener_paused;
    double last_pause_log;
    conn *conns;
    probe_httpd_stats st;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timeval tv_of(double s)
{
    struct timeval tv = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
    return tv;
}

/* ---- requests and answers --------------------------------------------------- */

static void req_clear(probe_httpd_req *r)
{
    free(r->method);
    free(r->path);
    free(r->query);
    if (r->headers)
        evbuffer_free(r->headers);
    memset(r, 0, sizeof *r);
}

const char *probe_httpd_method(const probe_httpd_req *r) { return r->method; }
const char *probe_httpd_path(const probe_httpd_req *r) { return r->path; }
const char *probe_httpd_query(const probe_httpd_req *r) { return r->query ? r->query : ""; }
int probe_httpd_is_head(const probe_httpd_req *r) { return r->head; }

void probe_httpd_add_header(probe_httpd_req *r, const char *name, const char *value)
{
    if (r->started || r->done || !r->headers)
        return;
    /* A header may not smuggle a line break into the answer. */
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return;
    evbuffer_add_printf(r->headers, "%s: %s\r\n", name, value);
}

static struct evbuffer *out_of(probe_httpd_req *r) { return bufferevent_get_output(r->c->bev); }

static void status_and_headers(probe_httpd_req *r, int code, const char *reason)
{
    struct evbuffer *out = out_of(r);
    evbuffer_add_printf(out, "HTTP/1.%d %d %s\r\n", r->http11, code, reason ? reason : "");
    if (r->headers)
        evbuffer_add_buffer(out, r->headers);
    if (!r->keep_alive)
        evbuffer_add_printf(out, "Connection: close\r\n");
    else if (!r->http11)
        evbuffer_add_printf(out, "Connection: keep-alive\r\n");
}

void probe_httpd_reply(probe_httpd_req *r, int code, const char *reason, struct evbuffer *body)
{
    if (r->started || r->done)
        return;
    status_and_headers(r, code, reason);
    size_t len = body ? evbuffer_get_length(body) : 0;
    evbuffer_add_printf(out_of(r), "Content-Length: %zu\r\n\r\n", len);
    if (body && !r->head)
        evbuffer_add_buffer(out_of(r), body);
    else if (body)
        evbuffer_drain(body, len);
    r->done = 1;
}

void probe_httpd_reply_start(probe_httpd_req *r, int code, const char *reason)
{
    if (r->started || r->done)
        return;
    if (!r->http11)
        r->keep_alive = 0; /* HTTP/1.0 has no chunks: the end of the answer is the close */
    status_and_headers(r, code, reason);
    evbuffer_add_printf(out_of(r), "%s\r\n", r->http11 ? "Transfer-Encoding: chunked\r\n" : "");
    r->started = 1;
    if (r->head)
        r->done = 1;
}

void probe_httpd_reply_chunk(probe_httpd_req *r, struct evbuffer *body)
{
    size_t len = evbuffer_get_length(body);
    if (!r->started || r->done || r->head || len == 0) {
        evbuffer_drain(body, len);
        return;
    }
    if (r->http11)
        evbuffer_add_printf(out_of(r), "%zx\r\n", len);
    evbuffer_add_buffer(out_of(r), body);
    if (r->http11)
        evbuffer_add(out_of(r), "\r\n", 2);
}

void probe_httpd_reply_end(probe_httpd_req *r)
{
    if (!r->started || r->done)
        return;
    if (r->http11)
        evbuffer_add(out_of(r), "0\r\n\r\n", 5);
    r->done = 1;
}

/* The JSON string of msg (quotes, backslashes and control bytes escaped). */
static void add_json_string(struct evbuffer *b, const char *s)
{
    evbuffer_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            evbuffer_add_printf(b, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x80)
            evbuffer_add_printf(b, "\\u%04x", ch < 0x80 ? ch : '?');
        else
            evbuffer_add(b, s, 1);
    }
    evbuffer_add(b, "\"", 1);
}

void probe_httpd_reply_error(probe_httpd_req *r, int code, const char *reason, const char *msg)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return;
    evbuffer_add_printf(b, "{\"error\":");
    add_json_string(b, msg);
    evbuffer_add_printf(b, ",\"status\":%d}\n", code);
    probe_httpd_add_header(r, "Content-Type", "application/json");
    probe_httpd_reply(r, code, reason, b);
    evbuffer_free(b);
}

/* ---- connections ------------------------------------------------------------ */

static void conn_free(conn *c)
{
    probe_httpd *h = c->h;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->st.open--;
    req_clear(&c->req);
    if (c->deadline)
        event_free(c->deadline);
    if (c->bev)
        bufferevent_free(c->bev);
    free(c);
}

/* Answers a protocol error (JSON) and closes once it is written. */
static void fail_conn(conn *c, int code, const char *reason, const char *msg)
{
    probe_httpd_req r = {0};
    r.c = c;
    r.http11 = 1;
    r.headers = evbuffer_new();
    c->h->st.bad_requests++;
    if (r.headers)
        probe_httpd_reply_error(&r, code, reason, msg);
    req_clear(&r);
    c->close_after = 1;
    bufferevent_disable(c->bev, EV_READ);
    if (c->deadline_armed) {
        evtimer_del(c->deadline);
        c->deadline_armed = 0;
    }
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        conn_free(c);
}

/* Case-insensitive: does the header value name this connection option? */
static int has_option(const char *v, const char *opt)
{
    size_t n = strlen(opt);
    for (; *v; v++)
        if (strncasecmp(v, opt, n) == 0)
            return 1;
    return 0;
}

static int token_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Parses the header block (NUL-terminated, CRLF lines) into c->req.
 * Returns 0, or the HTTP status of the refusal with msg set. */
static int parse_head(conn *c, char *block, const char **msg)
{
    probe_httpd_req *r = &c->req;
    char *save = NULL;
    char *line = strtok_r(block, "\n", &save);
    if (!line) {
        *msg = "empty request";
        return 400;
    }
    size_t ll = strlen(line);
    if (ll && line[ll - 1] == '\r')
        line[--ll] = 0;
    char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || sp1 == line) {
        *msg = "malformed request line (expected METHOD TARGET HTTP/1.x)";
        return 400;
    }
    *sp1 = *sp2 = 0;
    for (const char *p = line; *p; p++)
        if (!token_char(*p)) {
            *msg = "malformed method";
            return 400;
        }
    const char *target = sp1 + 1, *version = sp2 + 1;
    if (strcmp(version, "HTTP/1.1") == 0)
        r->http11 = 1;
    else if (strcmp(version, "HTTP/1.0") != 0) {
        *msg = "unsupported HTTP version (HTTP/1.0 and HTTP/1.1 are served)";
        return 505;
    }
    if (target[0] != '/') {
        *msg = "request target must be a path starting with '/'";
        return 400;
    }
    for (const char *p = target; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            *msg = "request target has a byte that must be %-escaped";
            return 400;
        }
    size_t pl = strcspn(target, "?#");
    r->method = strdup(line);
    r->path = strndup(target, pl);
    const char *q = target[pl] == '?' ? target + pl + 1 : "";
    r->query = strndup(q, strcspn(q, "#"));
    r->headers = evbuffer_new();
    if (!r->method || !r->path || !r->query || !r->headers) {
        *msg = "out of memory";
        return 500;
    }
    r->head = strcmp(r->method, "HEAD") == 0;
    int conn_close = 0, conn_keep = 0;
    long long length = 0;
    while ((line = strtok_r(NULL, "\n", &save))) {
        ll = strlen(line);
        if (ll && line[ll - 1] == '\r')
            line[--ll] = 0;
        if (!ll)
            continue;
        char *colon = strchr(line, ':');
        if (!colon || colon == line || line[0] == ' ' || line[0] == '\t') {
            *msg = "malformed header line (expected Name: value)";
            return 400;
        }
        *colon = 0;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcasecmp(line, "Content-Length") == 0) {
            char *end = NULL;
            errno = 0;
            length = strtoll(v, &end, 10);
            if (end == v || *end || errno || length < 0) {
                *msg = "malformed Content-Length";
                return 400;
            }
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            *msg = "request bodies with Transfer-Encoding are not accepted";
            return 501;
        } else if (strcasecmp(line, "Connection") == 0) {
            conn_close |= has_option(v, "close");
            conn_keep |= has_option(v, "keep-alive");
        }
    }
    if ((unsigned long long)length > c->h->lim.max_body_bytes) {
        *msg = "request body too large (GET and HEAD need none)";
        return 413;
    }
    c->body_left = (size_t)length;
    r->keep_alive = r->http11 ? !conn_close : conn_keep && !conn_close;
    return 0;
}

static void dispatch(conn *c)
{
    probe_httpd_req *r = &c->req;
    r->c = c;
    c->h->handler(r, c->h->arg);
    if (!r->done) {
        if (r->started)
            probe_httpd_reply_end(r);
        else
            probe_httpd_reply_error(r, 500, "Internal Server Error", "no answer");
    }
    if (!r->keep_alive)
        c->close_after = 1;
    req_clear(r);
}

static void arm_deadline(conn *c)
{
    if (c->deadline_armed)
        return;
    struct timeval tv = tv_of(c->h->lim.timeout_s);
    evtimer_add(c->deadline, &tv);
    c->deadline_armed = 1;
}

/* Reads and answers every complete request in the input. Returns -1 if c
 * was freed. */
static int process(conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    probe_httpd *h = c->h;
    while (!c->close_after) {
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) > OUT_HIGH) {
            bufferevent_disable(c->bev, EV_READ); /* resumed by on_write */
            c->paused = 1;
            return 0;
        }
        size_t len = evbuffer_get_length(in);
        if (c->in_body) {
            size_t n = len < c->body_left ? len : c->body_left;
            evbuffer_drain(in, n);
            c->body_left -= n;
            if (c->body_left) {
                arm_deadline(c);
                return 0;
            }
            c->in_body = 0;
            evtimer_del(c->deadline);
            c->deadline_armed = 0;
            dispatch(c);
            continue;
        }
        if (len == 0) {
            if (c->deadline_armed) {
                evtimer_del(c->deadline);
                c->deadline_armed = 0;
            }
            return 0;
        }
        struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (end.pos < 0) {
            if (len > h->lim.max_header_bytes) {
                fail_conn(c, 431, "Request Header Fields Too Large",
                          "request line and headers over probe.http_max_header_bytes");
                return -1;
            }
            arm_deadline(c);
            return 0;
        }
        size_t block = (size_t)end.pos + 4;
        if (block > h->lim.max_header_bytes) {
            fail_conn(c, 431, "Request Header Fields Too Large",
                      "request line and headers over probe.http_max_header_bytes");
            return -1;
        }
        char *text = malloc(block + 1);
        if (!text) {
            fail_conn(c, 500, "Internal Server Error", "out of memory");
            return -1;
        }
        evbuffer_remove(in, text, block);
        text[block] = 0;
        if (memchr(text, 0, block)) {
            free(text);
            fail_conn(c, 400, "Bad Request", "NUL byte in the request head");
            return -1;
        }
        const char *msg = NULL;
        int status = parse_head(c, text, &msg);
        free(text);
        if (status) {
            req_clear(&c->req);
            fail_conn(c, status, status == 413 ? "Payload Too Large"
                                 : status == 501 ? "Not Implemented"
                                 : status == 505 ? "HTTP Version Not Supported"
                                 : status == 500 ? "Internal Server Error" : "Bad Request",
                      msg);
            return -1;
        }
        if (c->body_left) {
            c->in_body = 1;
            continue;
        }
        if (c->deadline_armed) {
            evtimer_del(c->deadline);
            c->deadline_armed = 0;
        }
        dispatch(c);
    }
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        conn_free(c);
        return -1;
    }
    return 0;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    process(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
        return;
    if (c->close_after) {
        conn_free(c);
        return;
    }
    if (c->paused) {
        c->paused = 0;
        bufferevent_enable(c->bev, EV_READ);
        process(c);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn *c = arg;
    /* A client that half-closes after its request still gets the answer. */
    if ((what & BEV_EVENT_EOF) && !(what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
        c->close_after = 1;
        bufferevent_disable(c->bev, EV_READ);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->deadline_armed &&
        !c->close_after) {
        /* The idle timer beat the request deadline (both are http_timeout):
         * a request is under way, so it gets the 408 all the same. */
        c->h->st.timeouts++;
        fail_conn(c, 408, "Request Timeout", "request not complete within probe.http_timeout");
        return;
    }
    if (what & BEV_EVENT_TIMEOUT)
        c->h->st.timeouts++;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        conn_free(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn *c = arg;
    c->deadline_armed = 0;
    c->h->st.timeouts++;
    fail_conn(c, 408, "Request Timeout", "request not complete within probe.http_timeout");
}

/* ---- accepting -------------------------------------------------------------- */

static void pause_listener(probe_httpd *h, const char *why)
{
    if (!h->listener_paused) {
        evconnlistener_disable(h->listener);
        h->listener_paused = 1;
    }
    double now = mono_s();
    if (now - h->last_pause_log >= ACCEPT_LOG_EVERY_S) {
        probe_log(PROBE_LOG_WARN, "http: not accepting connections for now: %s (%ld open; %llu "
                                  "refused for descriptors so far)", why, h->st.open,
                  h->st.refused_fds);
        h->last_pause_log = now;
    }
    struct timeval tv = tv_of(ACCEPT_PAUSE_S);
    evtimer_add(h->resume_ev, &tv);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    probe_httpd *h = arg;
    h->listener_paused = 0;
    evconnlistener_enable(h->listener);
}

/* A refusal written straight to the new socket (it is empty, so the short
 * answer fits its send buffer), then closed. */
static void refuse(evutil_socket_t fd, const char *msg)
{
    char buf[400];
    char body[256];
    int bl = snprintf(body, sizeof body, "{\"error\":\"%s\",\"status\":503}\n", msg);
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n%s",
                     bl, body);
    if (n > 0)
        (void)!send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    evutil_closesocket(fd);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    (void)l;
    (void)sa;
    (void)len;
    probe_httpd *h = arg;
    /* Descriptors are handed out lowest first: the new one's number is
     * about how many are open. */
    if ((long)fd >= h->fd_limit - h->lim.fd_headroom) {
        h->st.refused_fds++;
        refuse(fd, "the probe is short of file descriptors; retry later");
        pause_listener(h, "fewer than probe.http_fd_headroom descriptors left");
        return;
    }
    if (h->st.open >= h->lim.max_connections) {
        h->st.refused_busy++;
        refuse(fd, "too many connections (probe.http_max_connections); retry later");
        return;
    }
    conn *c = calloc(1, sizeof *c);
    if (c) {
        c->h = h;
        c->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
        c->deadline = evtimer_new(h->base, on_deadline, c);
    }
    if (!c || !c->bev || !c->deadline) {
        if (c && c->bev)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        if (c && c->deadline)
            event_free(c->deadline);
        free(c);
        return;
    }
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->st.open++;
    h->st.accepted++;
    struct timeval tmo = tv_of(h->lim.timeout_s);
    bufferevent_set_timeouts(c->bev, &tmo, &tmo);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    probe_httpd *h = arg;
    int e = EVUTIL_SOCKET_ERROR();
    h->st.refused_fds++;
    char why[200];
    snprintf(why, sizeof why, "accept: %s", evutil_socket_error_to_string(e));
    pause_listener(h, why);
}

static long raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1L << 30) ? (1L << 30) : (long)rl.rlim_cur;
}

void probe_httpd_get_stats(const probe_httpd *h, probe_httpd_stats *out)
{
    if (h)
        *out = h->st;
    else
        memset(out, 0, sizeof *out);
}

void probe_httpd_free(probe_httpd *h)
{
    if (!h)
        return;
    while (h->conns)
        conn_free(h->conns);
    if (h->listener)
        evconnlistener_free(h->listener);
    if (h->resume_ev)
        event_free(h->resume_ev);
    free(h);
}

int probe_httpd_start(struct event_base *base, const char *addr, int port,
                      const probe_httpd_limits *limits, probe_httpd_handler handler, void *arg,
                      probe_httpd **out, char *err, size_t errlen)
{
    *out = NULL;
    probe_httpd *h = calloc(1, sizeof *h);
    if (!h || !(h->resume_ev = evtimer_new(base, on_resume, h))) {
        free(h);
        locus_errf(err, errlen, "http: out of memory");
        return LOCUS_ENOMEM;
    }
    h->base = base;
    h->lim = *limits;
    h->handler = handler;
    h->arg = arg;
    h->fd_limit = raise_fd_limit();
    h->last_pause_log = -ACCEPT_LOG_EVERY_S;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct evutil_addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
    int gai = evutil_getaddrinfo(addr, portstr, &hints, &res);
    if (gai != 0 || !res) {
        locus_errf(err, errlen, "http: cannot resolve %s (probe.http_listen): %s", addr,
                   evutil_gai_strerror(gai));
        probe_httpd_free(h);
        return LOCUS_EIO;
    }
    h->listener = evconnlistener_new_bind(base, on_accept, h,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                              LEV_OPT_CLOSE_ON_EXEC,
                                          128, res->ai_addr, (int)res->ai_addrlen);
    int e = errno;
    evutil_freeaddrinfo(res);
    if (!h->listener) {
        locus_errf(err, errlen, "http: cannot listen on %s:%d (probe.http_listen, probe.http_port): %s",
                   addr, port, strerror(e));
        probe_httpd_free(h);
        return LOCUS_EIO;
    }
    evconnlistener_set_error_cb(h->listener, on_accept_error);
    *out = h;
    return 0;
}
