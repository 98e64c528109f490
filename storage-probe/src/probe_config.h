/* Configuration of locus-probe: the [probe] core keys plus one section per
 * backend type, loaded in one all-or-nothing pass by the shared parser. */
#ifndef LOCUS_PROBE_CONFIG_H
#define LOCUS_PROBE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "probe_backends.h"

typedef struct probe_core_config {
    char *store_path;        /* hint store folder */
    int64_t map_size;        /* bytes */
    int no_sync;             /* skip fsync at commit */
    char *http_listen;       /* address of the HTTP API */
    int64_t http_port;       /* 0 = no HTTP API */
    double http_timeout_s;   /* a connection idle (or a request unfinished) this long is closed */
    int64_t http_max_header_bytes; /* request line + headers; larger requests are refused */
    int64_t http_page_limit; /* default (and cap of ?limit=) entries per page */
    int64_t http_fd_headroom; /* descriptors kept free for polls and the store */
    int64_t http_max_connections; /* open at once; more are refused with 503 */
    char *host_map;          /* "" = none; inline list or file (see probe_config_parse_host_map) */
    int log_level;           /* enum probe_log_level */
    double backoff_max_s;    /* cap of the poll interval after consecutive failures */
    char *pid_file;          /* "" = none */
} probe_core_config;

/* One storage host -> Mesos agent binding from host_map. */
typedef struct probe_host_binding {
    char *storage_host;
    char *agent_hostname;
    char *agent_id;          /* NULL when not given */
} probe_host_binding;

typedef struct probe_config {
    char *path;                                 /* file it was read from (NULL: defaults) */
    probe_core_config core;
    void *backend[PROBE_BACKEND_SLOTS];         /* parsed section per built type, else NULL */
    probe_host_binding *hosts;
    size_t n_hosts;
} probe_config;

/* The [probe] key table. */
extern const locus_cfg_key probe_core_keys[];
extern const size_t probe_core_n_keys;

/* Loads path (NULL: defaults only) with the overrides. Returns 0 or a LOCUS_E*
 * code with "file:line: ..." in err. *out is owned by the caller
 * (probe_config_free). */
int probe_config_load(const char *path, const locus_cfg_override *overrides, size_t n_overrides,
                      probe_config **out, char *err, size_t errlen);
void probe_config_free(probe_config *cfg);

/* Scheduling knobs of the backend in slot i; NULL if that type is not built. */
const probe_backend_common *probe_config_common(const probe_config *cfg, size_t slot);

/* Parses a host map value: either an inline list
 * "storage_host=agent_hostname[/agent_id], ..." (separated by commas or
 * blanks) or, when the value has no '=', the path of a file with one
 * "storage_host agent_hostname [agent_id]" per line ('#' starts a comment).
 * Errors name the key or file:line. *out and *n are owned by the caller
 * (probe_host_map_free). */
int probe_config_parse_host_map(const char *value, probe_host_binding **out, size_t *n,
                                char *err, size_t errlen);
void probe_host_map_free(probe_host_binding *hosts, size_t n);

/* Markdown reference / commented example of every key (core and each built
 * backend type). */
int probe_config_write_reference(FILE *out);
int probe_config_write_example(FILE *out);

#endif
