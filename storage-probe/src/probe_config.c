/* Configuration of locus-probe. The [probe] keys are described once in
 * probe_core_keys; each backend type brings its own table (backend.h), and
 * the shared parser loads all of them from one file in a single
 * all-or-nothing pass (locus_cfg_load_parts), so a key no table knows is an
 * error with its file:line, and a bad reload leaves the running config alone.
 *
 * The host map (storage host -> Mesos agent) is one string key so that small
 * clusters write it inline and large ones point to a file; it is parsed here,
 * after the INI pass, with errors naming the key or the map file's line. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"
#include "locus/util.h"
#include "probe_config.h"
#include "probe_log.h"

#define CORE(name, type, field, def, lo, hi, unit, choices, help) \
    {"probe", name, type, offsetof(probe_core_config, field), def, lo, hi, unit, choices, help}

const locus_cfg_key probe_core_keys[] = {
    CORE("store_path", LOCUS_CFG_STRING, store_path, "/var/lib/locus/hints", 0, 0, "path", NULL,
         "Folder of the hint store (LMDB environment); created if absent."),
    CORE("map_size", LOCUS_CFG_INT, map_size, "1G", 1048576, 1099511627776.0, "bytes", NULL,
         "Address space reserved for the hint store map (only ever grows an existing store)."),
    CORE("no_sync", LOCUS_CFG_BOOL, no_sync, "false", 0, 1, "", NULL,
         "Skip fsync at each commit (a crash may lose the last polls, never corrupts the store)."),
    CORE("http_listen", LOCUS_CFG_STRING, http_listen, "127.0.0.1", 0, 0, "address", NULL,
         "Address the HTTP API (health, metrics, placements) listens on."),
    CORE("http_port", LOCUS_CFG_INT, http_port, "9471", 0, 65535, "port", NULL,
         "TCP port of the HTTP API; 0 disables it."),
    CORE("http_timeout", LOCUS_CFG_DOUBLE, http_timeout_s, "10", 0.1, 3600, "s", NULL,
         "A connection idle this long, or a request not fully received in this time, is closed."),
    CORE("http_max_header_bytes", LOCUS_CFG_INT, http_max_header_bytes, "16K", 1024, 1048576,
         "bytes", NULL, "Largest request line plus headers; a larger request is refused and closed."),
    CORE("http_page_limit", LOCUS_CFG_INT, http_page_limit, "1000", 1, 100000, "entries", NULL,
         "Entries per page of /v1/datasets, /v1/hosts and a dataset's blocks (and the cap of "
         "?limit=)."),
    CORE("http_fd_headroom", LOCUS_CFG_INT, http_fd_headroom, "64", 8, 65536, "descriptors", NULL,
         "File descriptors kept free for polls and the store: new connections wait while fewer "
         "are left."),
    CORE("http_max_connections", LOCUS_CFG_INT, http_max_connections, "2048", 1, 65536,
         "connections", NULL,
         "Connections to the HTTP API open at once; more are answered 503 and closed."),
    CORE("host_map", LOCUS_CFG_STRING, host_map, "", 0, 0, "", NULL,
         "Storage host to Mesos agent table: inline 'storage=agent[/agent_id], ...' or the path "
         "of a file of 'storage agent [agent_id]' lines; empty = match by hostname."),
    CORE("log_level", LOCUS_CFG_ENUM, log_level, "info", 0, 0, "", probe_log_level_names,
         "Least severe messages logged."),
    CORE("backoff_max", LOCUS_CFG_DOUBLE, backoff_max_s, "300", 0.05, 86400, "s", NULL,
         "Cap of the poll interval, doubled after each consecutive failed poll."),
    CORE("pid_file", LOCUS_CFG_STRING, pid_file, "", 0, 0, "path", NULL,
         "File that receives the daemon's pid; empty = none."),
};
const size_t probe_core_n_keys = sizeof probe_core_keys / sizeof probe_core_keys[0];

void probe_host_map_free(probe_host_binding *hosts, size_t n)
{
    for (size_t i = 0; hosts && i < n; i++) {
        free(hosts[i].storage_host);
        free(hosts[i].agent_hostname);
        free(hosts[i].agent_id);
    }
    free(hosts);
}

/* Appends one binding; where names the origin for messages. */
static int add_binding(probe_host_binding **v, size_t *n, size_t *cap, const char *storage,
                       size_t sl, const char *agent, size_t al, const char *id, size_t il,
                       const char *where, char *err, size_t errlen)
{
    if (!sl || !al) {
        locus_errf(err, errlen, "%s: expected storage_host and agent_hostname", where);
        return LOCUS_ECONFIG;
    }
    for (size_t i = 0; i < *n; i++) {
        if (strlen((*v)[i].storage_host) == sl && !strncmp((*v)[i].storage_host, storage, sl)) {
            locus_errf(err, errlen, "%s: storage host '%.*s' is mapped twice", where, (int)sl, storage);
            return LOCUS_ECONFIG;
        }
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        probe_host_binding *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            goto oom;
        *v = nv;
        *cap = nc;
    }
    probe_host_binding *b = &(*v)[*n];
    b->storage_host = strndup(storage, sl);
    b->agent_hostname = strndup(agent, al);
    b->agent_id = il ? strndup(id, il) : NULL;
    if (!b->storage_host || !b->agent_hostname || (il && !b->agent_id)) {
        free(b->storage_host);
        free(b->agent_hostname);
        free(b->agent_id);
        goto oom;
    }
    (*n)++;
    return 0;
oom:
    locus_errf(err, errlen, "%s: out of memory", where);
    return LOCUS_ENOMEM;
}

static int parse_inline(const char *s, probe_host_binding **v, size_t *n, size_t *cap, char *err,
                        size_t errlen)
{
    const char *p = s;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ',' && !isspace((unsigned char)*p))
            p++;
        size_t len = (size_t)(p - start);
        const char *eq = memchr(start, '=', len);
        char where[160];
        snprintf(where, sizeof where, "probe.host_map: entry '%.*s'", (int)(len > 100 ? 100 : len),
                 start);
        if (!eq) {
            locus_errf(err, errlen, "%s: expected storage_host=agent_hostname[/agent_id]", where);
            return LOCUS_ECONFIG;
        }
        const char *agent = eq + 1;
        const char *slash = memchr(agent, '/', (size_t)(p - agent));
        size_t al = (size_t)((slash ? slash : p) - agent);
        int rc = add_binding(v, n, cap, start, (size_t)(eq - start), agent, al,
                             slash ? slash + 1 : NULL, slash ? (size_t)(p - slash - 1) : 0, where,
                             err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_file(const char *path, probe_host_binding **v, size_t *n, size_t *cap, char *err,
                      size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        locus_errf(err, errlen, "probe.host_map: %s: %s", path, strerror(errno));
        return LOCUS_EIO;
    }
    char *line = NULL;
    size_t linecap = 0;
    int lineno = 0, rc = 0;
    while (!rc && getline(&line, &linecap, f) >= 0) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        const char *tok[4];
        size_t len[4], nt = 0;
        for (char *p = line; *p && nt < 4;) {
            while (isspace((unsigned char)*p))
                p++;
            if (!*p)
                break;
            tok[nt] = p;
            while (*p && !isspace((unsigned char)*p))
                p++;
            len[nt] = (size_t)(p - tok[nt]);
            nt++;
        }
        if (nt == 0)
            continue;
        char where[4200];
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        if (nt < 2 || nt > 3) {
            locus_errf(err, errlen, "%s: expected 'storage_host agent_hostname [agent_id]'", where);
            rc = LOCUS_ECONFIG;
            break;
        }
        rc = add_binding(v, n, cap, tok[0], len[0], tok[1], len[1], nt == 3 ? tok[2] : NULL,
                         nt == 3 ? len[2] : 0, where, err, errlen);
    }
    if (!rc && ferror(f)) {
        locus_errf(err, errlen, "probe.host_map: %s: read error", path);
        rc = LOCUS_EIO;
    }
    free(line);
    fclose(f);
    return rc;
}

int probe_config_parse_host_map(const char *value, probe_host_binding **out, size_t *n, char *err,
                                size_t errlen)
{
    probe_host_binding *v = NULL;
    size_t count = 0, cap = 0;
    int rc = 0;
    *out = NULL;
    *n = 0;
    if (value && *value)
        rc = strchr(value, '=') ? parse_inline(value, &v, &count, &cap, err, errlen)
                                : parse_file(value, &v, &count, &cap, err, errlen);
    if (rc) {
        probe_host_map_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return 0;
}

void probe_config_free(probe_config *cfg)
{
    if (!cfg)
        return;
    locus_cfg_free(probe_core_keys, probe_core_n_keys, &cfg->core);
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        const probe_backend_type *t = probe_backend_at(i);
        if (t && cfg->backend[i])
            locus_cfg_free(t->keys, t->n_keys, cfg->backend[i]);
        free(cfg->backend[i]);
    }
    probe_host_map_free(cfg->hosts, cfg->n_hosts);
    free(cfg->path);
    free(cfg);
}

/* A relative host map file is taken relative to the config file's folder, so
 * a config and its map can move together. Returns a heap string. */
static char *resolve_relative(const char *cfg_path, const char *value)
{
    if (!value || !*value || strchr(value, '=') || value[0] == '/' || !cfg_path)
        return strdup(value ? value : "");
    const char *slash = strrchr(cfg_path, '/');
    if (!slash)
        return strdup(value);
    size_t dl = (size_t)(slash - cfg_path) + 1, vl = strlen(value);
    char *s = malloc(dl + vl + 1);
    if (s) {
        memcpy(s, cfg_path, dl);
        memcpy(s + dl, value, vl + 1);
    }
    return s;
}

int probe_config_load(const char *path, const locus_cfg_override *overrides, size_t n_overrides,
                      probe_config **out, char *err, size_t errlen)
{
    *out = NULL;
    probe_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        locus_errf(err, errlen, "out of memory");
        return LOCUS_ENOMEM;
    }
    locus_cfg_part parts[1 + PROBE_BACKEND_SLOTS];
    size_t np = 0;
    parts[np++] = (locus_cfg_part){probe_core_keys, probe_core_n_keys, &cfg->core, sizeof cfg->core};
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        const probe_backend_type *t = probe_backend_at(i);
        if (!t)
            continue;
        cfg->backend[i] = calloc(1, t->config_size);
        if (!cfg->backend[i]) {
            probe_config_free(cfg);
            locus_errf(err, errlen, "out of memory");
            return LOCUS_ENOMEM;
        }
        parts[np++] = (locus_cfg_part){t->keys, t->n_keys, cfg->backend[i], t->config_size};
    }
    int rc = locus_cfg_load_parts(parts, np, path, overrides, n_overrides, err, errlen);
    if (rc) {
        probe_config_free(cfg);
        return rc;
    }
    const char *origin = path ? path : "defaults";
    if (!cfg->core.store_path || !*cfg->core.store_path) {
        locus_errf(err, errlen, "%s: probe.store_path must not be empty", origin);
        probe_config_free(cfg);
        return LOCUS_ECONFIG;
    }
    if (cfg->core.http_port && (!cfg->core.http_listen || !*cfg->core.http_listen)) {
        locus_errf(err, errlen, "%s: probe.http_listen must not be empty when http_port is set",
                origin);
        probe_config_free(cfg);
        return LOCUS_ECONFIG;
    }
    char *map = resolve_relative(path, cfg->core.host_map);
    char merr[512] = "";
    rc = map ? probe_config_parse_host_map(map, &cfg->hosts, &cfg->n_hosts, merr, sizeof merr)
             : LOCUS_ENOMEM;
    free(map);
    if (rc) {
        locus_errf(err, errlen, "%s: %s", origin, *merr ? merr : "out of memory");
        probe_config_free(cfg);
        return rc;
    }
    /* A file that enables no backend is allowed (the probe then only serves
     * the store it finds), but it is almost always a mistake: say so. */
    int any = 0;
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        const probe_backend_common *c = probe_config_common(cfg, i);
        any |= c && c->enabled;
    }
    if (path && !any)
        probe_log(PROBE_LOG_WARN, "%s: no backend is enabled (enabled = true in [static], "
                                  "[redis], [alluxio] or [hdfs]): the probe will only serve the "
                                  "hint store as it is", path);
    if (path && !(cfg->path = strdup(path))) {
        probe_config_free(cfg);
        locus_errf(err, errlen, "out of memory");
        return LOCUS_ENOMEM;
    }
    *out = cfg;
    return 0;
}

const probe_backend_common *probe_config_common(const probe_config *cfg, size_t slot)
{
    /* Every backend config struct starts with probe_backend_common (backend.h). */
    return slot < PROBE_BACKEND_SLOTS ? (const probe_backend_common *)cfg->backend[slot] : NULL;
}

static int write_all(FILE *out, int example)
{
    int rc = example ? locus_cfg_write_example(probe_core_keys, probe_core_n_keys, out)
                     : locus_cfg_write_reference(probe_core_keys, probe_core_n_keys, out);
    for (size_t i = 0; !rc && i < PROBE_BACKEND_SLOTS; i++) {
        const probe_backend_type *t = probe_backend_at(i);
        if (!t)
            continue;
        fputc('\n', out);
        rc = example ? locus_cfg_write_example(t->keys, t->n_keys, out)
                     : locus_cfg_write_reference(t->keys, t->n_keys, out);
    }
    return rc;
}

int probe_config_write_reference(FILE *out) { return write_all(out, 0); }
int probe_config_write_example(FILE *out) { return write_all(out, 1); }
