/* Asynchronous HTTP(S) + JSON requests for the probe's HTTP storage backends
 * (Alluxio REST proxy, WebHDFS), with libcurl's multi interface on the
 * daemon's libevent loop.
 *
 * One http_fetch talks to one endpoint (http[s]://host[:port][/prefix]) over
 * kept-alive connections, at most max_concurrent requests at a time (the
 * rest wait in a FIFO), each with a whole-request deadline, a body size
 * bound, a 2xx status check and a jansson parse; HTTPS may verify against a
 * CA file and present a client certificate, requests may authenticate with
 * Kerberos (SPNEGO) and go through a proxy. Every failure reaches the callback as
 * a LOCUS_E* code plus a message that names the method and URL.
 *
 * Callbacks always run from the loop, never from inside http_fetch_json(),
 * and at a point where the callback may call http_fetch_cancel_all() or
 * http_fetch_free() on its own client.
 *
 * The implementation lives in backend_http_fetch.c (the build compiles the
 * probe's backend_*.c files into locus_probe_core).
 */
#ifndef LOCUS_PROBE_HTTP_FETCH_H
#define LOCUS_PROBE_HTTP_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

typedef struct http_fetch http_fetch;

typedef struct http_fetch_limits {
    double timeout_s;       /* whole request: connect, send, response, body */
    size_t max_body_bytes;  /* a longer response body fails the request */
    unsigned max_concurrent;/* requests in flight at once (>= 1) */
} http_fetch_limits;

/* Security and routing; NULL or "" leaves a setting at its default. */
typedef struct http_fetch_options {
    const char *ca_file;    /* PEM CA certificates for https (default: the system's) */
    const char *cert_file;  /* PEM client certificate for https (default: none) */
    const char *key_file;   /* its PEM private key (default: in cert_file) */
    const char *proxy;      /* proxy URL (default: direct; http_proxy variables are not read) */
    int spnego;             /* authenticate with Kerberos (SPNEGO) from the ticket cache */
} http_fetch_options;

typedef enum http_fetch_method { HTTP_FETCH_GET, HTTP_FETCH_POST } http_fetch_method;

/* Parses endpoint (scheme http or https; port defaults to default_port; a
 * path becomes a prefix of every request path). opts may be NULL. Returns
 * 0, LOCUS_ECONFIG (bad URL, SPNEGO asked of a libcurl without it; message
 * in err), LOCUS_EIO (libcurl failed to initialise), LOCUS_ENOMEM. */
int http_fetch_new(struct event_base *base, const char *endpoint, uint16_t default_port,
                   const http_fetch_limits *limits, const http_fetch_options *opts,
                   http_fetch **out, char *err, size_t errlen);
/* Drops every pending request without calling its callback. NULL: no-op. */
void http_fetch_free(http_fetch *f);

/* Result of one request. status 0: root is the parsed body, borrowed (valid
 * during the call only). Otherwise root is NULL, status is LOCUS_EIO
 * (connection failed, non-2xx status, body too long or cut short),
 * LOCUS_ETIMEDOUT or LOCUS_EPARSE (body is not JSON), and errmsg names the
 * URL. url is "<METHOD> <full URL>", valid during the call. */
typedef void (*http_fetch_cb)(void *arg, int status, json_t *root, const char *url,
                              const char *errmsg);

/* Queues a request for path_query (appended to the endpoint prefix; must
 * start with '/' and be encoded already, see http_fetch_encode_path). POST
 * sends the JSON body "{}". Returns 0 (cb will be called exactly once,
 * unless cancelled) or LOCUS_ENOMEM / LOCUS_EINVAL (then cb is never called). */
int http_fetch_json(http_fetch *f, http_fetch_method method, const char *path_query,
                    http_fetch_cb cb, void *arg);
/* Drops every pending request; their callbacks are not called. */
void http_fetch_cancel_all(http_fetch *f);
/* Requests queued or in flight. */
size_t http_fetch_pending(const http_fetch *f);
/* "http[s]://host:port/prefix" as parsed, for messages. */
const char *http_fetch_endpoint(const http_fetch *f);

/* Percent-encodes a file system path for a URL path: every byte except
 * unreserved characters and '/' becomes %XX. Returns a malloc'd string
 * (caller frees) or NULL when out of memory. */
char *http_fetch_encode_path(const char *path);
/* Same for a query parameter value ('/' encoded too). */
char *http_fetch_encode_query(const char *value);

/* ---- typed access to parsed JSON, with errors naming the JSON path ----
 * `where` is the JSON path of `obj` (e.g. "$.fileBlockInfos[2]"); on error
 * err gets "<where>.<key>: <why>" and the call returns LOCUS_EPARSE. */

/* obj.key as an object / array / string; required. */
int http_json_object(json_t *obj, const char *where, const char *key, json_t **out,
                     char *err, size_t errlen);
int http_json_array(json_t *obj, const char *where, const char *key, json_t **out,
                    char *err, size_t errlen);
int http_json_string(json_t *obj, const char *where, const char *key, const char **out,
                     char *err, size_t errlen);
/* obj.key as a non-negative integer. */
int http_json_u64(json_t *obj, const char *where, const char *key, uint64_t *out,
                  char *err, size_t errlen);
/* obj.key as a boolean. */
int http_json_bool(json_t *obj, const char *where, const char *key, int *out,
                   char *err, size_t errlen);
/* Element i of array arr (at path where) as an object / string. */
int http_json_item_object(json_t *arr, const char *where, size_t i, json_t **out,
                          char *err, size_t errlen);
int http_json_item_string(json_t *arr, const char *where, size_t i, const char **out,
                          char *err, size_t errlen);

#endif
