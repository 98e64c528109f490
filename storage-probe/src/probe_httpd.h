/* A small HTTP/1.1 server for the probe's read-only API, on the daemon's
 * libevent loop (GET and HEAD; keep-alive; chunked answers).
 *
 * Why not libevent's evhttp: version 2.1 (Debian 12) has no hook for the
 * answers it makes itself (HTML error pages for a malformed or oversized
 * request), no connection cap and no deadline for a request that trickles
 * in. Here every answer is the handler's or a JSON error, and the limits are
 * explicit (probe_httpd_limits). */
#ifndef LOCUS_PROBE_HTTPD_H
#define LOCUS_PROBE_HTTPD_H

#include <stddef.h>

#include <event2/buffer.h>
#include <event2/event.h>

typedef struct probe_httpd probe_httpd;
typedef struct probe_httpd_req probe_httpd_req;

typedef struct probe_httpd_limits {
    size_t max_header_bytes;    /* request line + headers; larger: 431 and close */
    size_t max_body_bytes;      /* Content-Length above this: 413 and close */
    double timeout_s;           /* idle keep-alive connection, or a request not complete: closed */
    long max_connections;       /* open at once; more are answered 503 and closed */
    long fd_headroom;           /* descriptors kept free: below, new connections wait */
} probe_httpd_limits;

/* Called once per complete request; must answer it (reply, or start/chunk/
 * end) before returning. */
typedef void (*probe_httpd_handler)(probe_httpd_req *req, void *arg);

typedef struct probe_httpd_stats {
    unsigned long long accepted, refused_busy, refused_fds, timeouts, bad_requests;
    long open;
} probe_httpd_stats;

/* Binds addr:port (numeric address or host name) and serves. Returns 0 or
 * LOCUS_EIO / LOCUS_ENOMEM with err. */
int probe_httpd_start(struct event_base *base, const char *addr, int port,
                      const probe_httpd_limits *limits, probe_httpd_handler handler, void *arg,
                      probe_httpd **out, char *err, size_t errlen);
/* Closes the listener and every connection. NULL: no-op. */
void probe_httpd_free(probe_httpd *h);
void probe_httpd_get_stats(const probe_httpd *h, probe_httpd_stats *out);

/* The request: method as sent ("GET"), the target's path (raw, not
 * decoded) and query ("" if none). */
const char *probe_httpd_method(const probe_httpd_req *r);
const char *probe_httpd_path(const probe_httpd_req *r);
const char *probe_httpd_query(const probe_httpd_req *r);
int probe_httpd_is_head(const probe_httpd_req *r);

/* Adds a response header (before the reply starts). */
void probe_httpd_add_header(probe_httpd_req *r, const char *name, const char *value);
/* Whole answer with Content-Length; body may be NULL; HEAD sends no body. */
void probe_httpd_reply(probe_httpd_req *r, int code, const char *reason, struct evbuffer *body);
/* Chunked answer (HEAD: headers only); chunk drains body. */
void probe_httpd_reply_start(probe_httpd_req *r, int code, const char *reason);
void probe_httpd_reply_chunk(probe_httpd_req *r, struct evbuffer *body);
void probe_httpd_reply_end(probe_httpd_req *r);
/* {"error": msg, "status": code} with Content-Type application/json. */
void probe_httpd_reply_error(probe_httpd_req *r, int code, const char *reason, const char *msg);

#endif
