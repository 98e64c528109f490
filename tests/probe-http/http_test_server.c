/* A scripted HTTP/1.1 server for the probe's HTTP backend tests (see
 * http_test_server.h). It speaks raw HTTP over bufferevents instead of using
 * evhttp's server so that it can send exactly the bytes a broken server
 * sends: a short body under a longer Content-Length, or nothing at all. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "http_test_server.h"
#include "testutil.h"

#define MAX_ROUTES 256
#define MAX_SEEN 1024

typedef struct route {
    char *method, *target, *body;
    int status;
    hts_mode mode;
} route;

typedef struct conn conn;
struct conn {
    hts *s;
    struct bufferevent *bev;
    struct event *delay;
    conn *next;
    int counted;     /* in in_flight */
    int closing;     /* free once the output drained */
};

struct hts {
    struct event_base *base;
    struct evconnlistener *listener, *listener6; /* 127.0.0.1 and, if present, ::1 */
    int port;
    route routes[MAX_ROUTES];
    size_t n_routes;
    char *seen[MAX_SEEN];
    size_t n_seen;
    int in_flight, max_in_flight;
    int delay_ms;
    int keep_alive;
    int accepted;
    conn *conns;
};

typedef struct late { /* a delayed response */
    conn *c;
    const route *r;
    struct event *ev;
} late;

static void uncount(conn *c)
{
    if (c->counted) {
        c->counted = 0;
        c->s->in_flight--;
    }
}

static void conn_close(conn *c)
{
    uncount(c);
    if (c->delay) {
        late *l = event_get_callback_arg(c->delay);
        event_free(c->delay);
        c->delay = NULL;
        free(l);
    }
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
}

static const route *find_route(hts *s, const char *method, const char *target)
{
    for (size_t i = 0; i < s->n_routes; i++)
        if (strcmp(s->routes[i].method, method) == 0 && strcmp(s->routes[i].target, target) == 0)
            return &s->routes[i];
    return NULL;
}

static void send_response(conn *c, const route *r)
{
    static const route not_found = {"", "", "{}", 404, HTS_OK};
    if (!r)
        r = &not_found;
    if (r->mode == HTS_HANG)
        return;
    if (r->mode == HTS_CLOSE) {
        conn_close(c);
        return;
    }
    size_t len = strlen(r->body);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (r->mode == HTS_GARBAGE) {
        evbuffer_add_printf(out, "SMTP/9 hello\r\nnot: http\r\n\r\n");
        uncount(c);
        c->closing = 1;
        return;
    }
    int keep = c->s->keep_alive && r->mode == HTS_OK;
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
                        r->status, r->status < 300 ? "OK" : "Error", len,
                        keep ? "keep-alive" : "close");
    evbuffer_add(out, r->body, r->mode == HTS_TRUNCATE ? len / 2 : len);
    uncount(c);
    if (keep)
        bufferevent_enable(c->bev, EV_READ); /* the next request on this connection */
    else
        c->closing = 1;
}

static void on_read(struct bufferevent *bev, void *arg);

static void respond_now_or_later(conn *c, const route *r);

static void on_write(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        conn_close(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_close(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    hts *s = c->s;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0)
        return;
    size_t head_len = (size_t)end.pos + 4;
    char *head = malloc(head_len + 1);
    if (!head)
        return;
    evbuffer_copyout(in, head, head_len);
    head[head_len] = '\0';
    size_t body_len = 0;
    for (char *p = head; (p = strstr(p, "\r\n")) != NULL; p += 2)
        if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
            body_len = strtoul(p + 17, NULL, 10);
    if (evbuffer_get_length(in) < head_len + body_len) {
        free(head);
        return;
    }
    evbuffer_drain(in, head_len + body_len);
    char method[16] = "", target[1024] = "";
    sscanf(head, "%15s %1023s", method, target);
    free(head);
    if (s->n_seen < MAX_SEEN) {
        size_t n = strlen(method) + strlen(target) + 2;
        s->seen[s->n_seen] = malloc(n);
        if (s->seen[s->n_seen]) {
            snprintf(s->seen[s->n_seen], n, "%s %s", method, target);
            s->n_seen++;
        }
    }
    c->counted = 1;
    if (++s->in_flight > s->max_in_flight)
        s->max_in_flight = s->in_flight;
    bufferevent_disable(bev, EV_READ);
    respond_now_or_later(c, find_route(s, method, target));
}

static void on_late(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    late *l = arg;
    conn *c = l->c;
    const route *r = l->r;
    c->delay = NULL;
    event_free(l->ev);
    free(l);
    send_response(c, r);
}

static void respond_now_or_later(conn *c, const route *r)
{
    if (c->s->delay_ms <= 0) {
        send_response(c, r);
        return;
    }
    late *l = calloc(1, sizeof *l);
    if (!l)
        return;
    l->c = c;
    l->r = r;
    l->ev = evtimer_new(c->s->base, on_late, l);
    c->delay = l->ev;
    struct timeval tv = {0, c->s->delay_ms * 1000};
    evtimer_add(l->ev, &tv);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    (void)l;
    (void)sa;
    (void)len;
    hts *s = arg;
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->s = s;
    s->accepted++;
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    c->next = s->conns;
    s->conns = c;
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

hts *hts_new(struct event_base *base)
{
    hts *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    s->listener = evconnlistener_new_bind(base, on_accept, s,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
                                          (struct sockaddr *)&sin, sizeof sin);
    if (!s->listener) {
        free(s);
        return NULL;
    }
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&bound, &blen);
    s->port = ntohs(bound.sin_port);
    /* The same port on ::1, so "localhost" works whichever family resolves first. */
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    sin6.sin6_port = htons((uint16_t)s->port);
    s->listener6 = evconnlistener_new_bind(base, on_accept, s, LEV_OPT_CLOSE_ON_FREE, 64,
                                           (struct sockaddr *)&sin6, sizeof sin6);
    return s;
}

void hts_free(hts *s)
{
    if (!s)
        return;
    evconnlistener_free(s->listener);
    if (s->listener6)
        evconnlistener_free(s->listener6);
    while (s->conns) {
        conn *c = s->conns;
        s->conns = c->next;
        conn_close(c);
        free(c);
    }
    hts_clear_routes(s);
    for (size_t i = 0; i < s->n_seen; i++)
        free(s->seen[i]);
    free(s);
}

int hts_port(const hts *s) { return s->port; }

int hts_route(hts *s, const char *method, const char *target, int status, const char *body,
              hts_mode mode)
{
    if (s->n_routes >= MAX_ROUTES)
        return -1;
    route *r = &s->routes[s->n_routes];
    r->method = strdup(method);
    r->target = strdup(target);
    r->body = strdup(body ? body : "");
    r->status = status;
    r->mode = mode;
    if (!r->method || !r->target || !r->body) {
        free(r->method);
        free(r->target);
        free(r->body);
        return -1;
    }
    s->n_routes++;
    return 0;
}

int hts_route_file(hts *s, const char *method, const char *target, int status, const char *file,
                   hts_mode mode)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", PROBE_HTTP_DATA_DIR, file);
    char *body = tu_slurp(path, NULL);
    if (!body)
        return -1;
    int rc = hts_route(s, method, target, status, body, mode);
    free(body);
    return rc;
}

void hts_clear_routes(hts *s)
{
    for (size_t i = 0; i < s->n_routes; i++) {
        free(s->routes[i].method);
        free(s->routes[i].target);
        free(s->routes[i].body);
    }
    s->n_routes = 0;
}

void hts_set_delay_ms(hts *s, int ms) { s->delay_ms = ms; }

size_t hts_requests(const hts *s) { return s->n_seen; }

const char *hts_request(const hts *s, size_t i) { return i < s->n_seen ? s->seen[i] : NULL; }

int hts_seen(const hts *s, const char *method, const char *target)
{
    char want[1200];
    snprintf(want, sizeof want, "%s %s", method, target);
    for (size_t i = 0; i < s->n_seen; i++)
        if (strcmp(s->seen[i], want) == 0)
            return 1;
    return 0;
}

int hts_max_in_flight(const hts *s) { return s->max_in_flight; }

void hts_set_keep_alive(hts *s, int on) { s->keep_alive = on; }

int hts_connections(const hts *s) { return s->accepted; }
