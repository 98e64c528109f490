/* The namespace crawl shared by the probe's file-tree backends (Alluxio and
 * HDFS): walk the configured dataset paths over HTTP, fetch every file's
 * block locations, and hand the poll result to the sink in a stable order.
 *
 * A backend supplies only its protocol (http_walk_ops: how to ask for a
 * directory listing and for a file's blocks, and how to read the replies);
 * configuration, concurrency, failure handling and the mapping from files to
 * dataset block indices live here, once. The implementation is in
 * backend_http_walk.c.
 *
 * Datasets: every path in `datasets` is one dataset; every child directory
 * of a path in `roots` is one dataset. A dataset's name is its path. Its
 * blocks are the blocks of all files below it (recursively, up to
 * max_depth directory levels), numbered 0, 1, 2... in order of file path
 * (byte-wise), then of offset within the file.
 */
#ifndef LOCUS_PROBE_HTTP_WALK_H
#define LOCUS_PROBE_HTTP_WALK_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "backend.h"
#include "http_fetch.h"

/* Config section of a file-tree backend. Strings are owned by the struct
 * (locus_cfg_free). `user` exists only in sections whose table lists it. */
typedef struct http_walk_config {
    probe_backend_common common;
    char *endpoint;
    char *datasets;          /* comma-separated absolute paths */
    char *roots;             /* comma-separated absolute paths */
    double request_timeout_s;
    int64_t max_concurrent;
    int64_t max_body_bytes;
    int64_t max_depth;
    char *user;
    int64_t max_files;
    char *tls_ca_file;
    char *tls_cert_file;
    char *tls_key_file;
    char *proxy;
    int spnego;
} http_walk_config;

/* The keys every file-tree backend section has (common ones included). */
#define HTTP_WALK_KEYS(section, default_endpoint)                                                 \
    PROBE_BACKEND_COMMON_KEYS(section, http_walk_config),                                         \
    {section, "endpoint", LOCUS_CFG_STRING, offsetof(http_walk_config, endpoint),                 \
     default_endpoint, 0, 0, "URL", NULL,                                                         \
     "Base URL of the service: http://host[:port][/prefix] or https://host[:port][/prefix]."},   \
    {section, "datasets", LOCUS_CFG_STRING, offsetof(http_walk_config, datasets), "", 0, 0,      \
     "paths", NULL, "Comma-separated absolute paths; each one is a dataset named by its path."},  \
    {section, "roots", LOCUS_CFG_STRING, offsetof(http_walk_config, roots), "", 0, 0, "paths",   \
     NULL, "Comma-separated absolute paths; each child directory of one is a dataset."},         \
    {section, "request_timeout", LOCUS_CFG_DOUBLE, offsetof(http_walk_config, request_timeout_s), \
     "10", 0.05, 600, "s", NULL, "One HTTP request (connect to last body byte) fails after this."}, \
    {section, "max_concurrent", LOCUS_CFG_INT, offsetof(http_walk_config, max_concurrent), "8",  \
     1, 256, "requests", NULL, "HTTP requests in flight at once."},                               \
    {section, "max_body_bytes", LOCUS_CFG_INT, offsetof(http_walk_config, max_body_bytes), "64M", \
     1024, 1073741824.0, "bytes", NULL, "A longer response body fails the poll."},                \
    {section, "max_depth", LOCUS_CFG_INT, offsetof(http_walk_config, max_depth), "16", 0, 256,   \
     "levels", NULL, "Directory levels walked below a dataset path; deeper fails the poll."},    \
    {section, "max_files", LOCUS_CFG_INT, offsetof(http_walk_config, max_files), "1000000", 1,  \
     1e9, "files", NULL, "Files one poll may visit; more fails the poll (bounds memory and load)."}, \
    {section, "tls_ca_file", LOCUS_CFG_STRING, offsetof(http_walk_config, tls_ca_file), "", 0, 0, \
     "path", NULL, "PEM file of the CA certificates an https endpoint is verified against; "      \
     "empty = the system's."},                                                                   \
    {section, "tls_cert_file", LOCUS_CFG_STRING, offsetof(http_walk_config, tls_cert_file), "", 0, \
     0, "path", NULL, "PEM client certificate presented to an https endpoint; empty = none."},   \
    {section, "tls_key_file", LOCUS_CFG_STRING, offsetof(http_walk_config, tls_key_file), "", 0, \
     0, "path", NULL, "PEM private key of tls_cert_file; empty = in tls_cert_file."},            \
    {section, "proxy", LOCUS_CFG_STRING, offsetof(http_walk_config, proxy), "", 0, 0, "URL",     \
     NULL, "Proxy for every request (http://host:port, socks5://...); empty = direct (the "      \
     "http_proxy variables are not read)."},                                                     \
    {section, "spnego", LOCUS_CFG_BOOL, offsetof(http_walk_config, spnego), "false", 0, 0, "",   \
     NULL, "Authenticate with Kerberos (SPNEGO) from the probe's ticket cache (KRB5CCNAME), as "  \
     "a secured HDFS asks."}

/* A protocol. Request builders return a malloc'd path+query (encoded, for
 * http_fetch_json) or NULL when out of memory. Parsers return 0 or
 * LOCUS_EPARSE / LOCUS_EINVAL / LOCUS_ENOMEM with err naming the JSON path;
 * the walk prefixes the URL. */
typedef struct http_walk_ops {
    const char *name;          /* config section, for messages */
    uint16_t default_port;
    http_fetch_method method;  /* of every request */
    char *(*list_request)(const http_walk_config *cfg, const char *path);
    char *(*blocks_request)(const http_walk_config *cfg, const char *path);
    /* Listing of `dir` (a directory, or a file: then it names the file
     * itself): calls emit(ctx, child_path, is_dir) for each entry; a non-zero
     * return of emit is returned at once. */
    int (*parse_list)(json_t *root, const char *dir,
                      int (*emit)(void *ctx, const char *path, int is_dir), void *ctx,
                      char *err, size_t errlen);
    /* A file's block locations: calls http_walk_add_block for each block. */
    int (*parse_blocks)(json_t *root, void *file, char *err, size_t errlen);
} http_walk_ops;

/* For parse_blocks: a block of `file` at byte offset within the file, with
 * n replicas (hosts[i], tiers[i]). A host listed twice keeps its fastest
 * tier. Returns 0, LOCUS_EINVAL (empty host), LOCUS_ENOMEM; err is set. */
int http_walk_add_block(void *file, uint64_t offset, uint64_t length, const char *const *hosts,
                        const locus_tier *tiers, size_t n, char *err, size_t errlen);

/* The protocols of the built-in file-tree backends. */
extern const http_walk_ops http_walk_alluxio_ops;
extern const http_walk_ops http_walk_hdfs_ops;

/* Reads one reply body as a poll would - a directory listing of "/d"
 * (blocks = 0) or a file's block locations (blocks = 1) - and throws the
 * result away. Returns the parser's status (err set) or LOCUS_EPARSE for
 * malformed JSON. For the fuzz targets and tests: the same code as a poll,
 * without the network. */
int http_walk_parse_reply(const http_walk_ops *ops, int blocks, const char *body, size_t len,
                          char *err, size_t errlen);

/* The probe_backend_type callbacks, given the backend's ops. */
int http_walk_create(const http_walk_ops *ops, const void *config, struct event_base *base,
                     void **state, char *err, size_t errlen);
void http_walk_destroy(void *state);
int http_walk_poll(void *state, probe_sink *sink, probe_poll_done_fn done, void *done_ctx);
void http_walk_cancel(void *state);

#endif
