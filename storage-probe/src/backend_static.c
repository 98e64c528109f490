/* The static backend: placements read from a file of JSON lines, for tests,
 * demos and storage layers without an API (a cron job can write the file).
 *
 * One block per line, the same format as `locus-hints import`:
 *   {"dataset":"d","index":0,"bytes":134217728,"replicas":[{"host":"h1","tier":"MEM"}]}
 * Blank lines and lines starting with '#' are skipped. The file is re-read in
 * full on every poll, so its content at that moment is the complete
 * placement of this backend (what vanished from it is removed). Any bad line
 * fails the whole poll with file:line, so a half-edited file never replaces
 * good placements; write it elsewhere and rename it over the old one.
 *
 * Reading a local file completes at once, but the backend contract wants
 * done() from the loop, never from inside poll(): the result is parked and
 * delivered by a zero-timeout event, which cancel() can still withdraw. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backend.h"
#include "probe_sink.h"

typedef struct static_config {
    probe_backend_common common;
    char *path;
} static_config;

static const locus_cfg_key static_keys[] = {
    PROBE_BACKEND_COMMON_KEYS("static", static_config),
    {"static", "path", LOCUS_CFG_STRING, offsetof(static_config, path), "", 0, 0, "path", NULL,
     "Placement file, one JSON block per line (required when enabled)."},
};

typedef struct static_state {
    char *path;
    struct event *done_ev;
    probe_poll_done_fn done;
    void *done_ctx;
    int status;
    char err[1024];
} static_state;

#define MAX_REPLICAS 64

/* Parses one line into the sink. Returns 0 or a code with st->err set. */
static int parse_line(static_state *st, probe_sink *sink, const char *line, size_t len, long lineno)
{
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = LOCUS_EPARSE;
    const char *what = NULL;
    char detail[300] = "";
    locus_hs_replica reps[MAX_REPLICAS];
    if (!root) {
        snprintf(detail, sizeof detail, "not JSON: %s (column %d)", jerr.text, jerr.column);
        goto bad;
    }
    json_t *ds = json_object_get(root, "dataset"), *ix = json_object_get(root, "index"),
           *by = json_object_get(root, "bytes"), *rp = json_object_get(root, "replicas");
    if (!json_is_object(root))
        what = "expected a JSON object";
    else if (!json_is_string(ds) || json_string_length(ds) == 0 ||
             strlen(json_string_value(ds)) != json_string_length(ds))
        what = "\"dataset\" must be a non-empty string";
    else if (!json_is_integer(ix) || json_integer_value(ix) < 0)
        what = "\"index\" must be an integer >= 0";
    else if (!json_is_integer(by) || json_integer_value(by) < 0)
        what = "\"bytes\" must be an integer >= 0";
    else if (rp && !json_is_array(rp))
        what = "\"replicas\" must be an array";
    else if (json_array_size(rp) > MAX_REPLICAS)
        what = "too many replicas (at most 64)";
    if (what) {
        snprintf(detail, sizeof detail, "%s", what);
        goto bad;
    }
    size_t n = json_array_size(rp);
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(rp, i);
        json_t *h = json_object_get(r, "host"), *t = json_object_get(r, "tier");
        if (!json_is_object(r) || !json_is_string(h) || json_string_length(h) == 0 ||
            !json_is_string(t)) {
            snprintf(detail, sizeof detail,
                     "replica %zu needs a non-empty \"host\" and a \"tier\" string", i);
            goto bad;
        }
        reps[i].host = json_string_value(h);
        if (locus_tier_parse(json_string_value(t), &reps[i].tier)) {
            snprintf(detail, sizeof detail, "replica %zu: unknown tier '%.40s' (MEM, SSD, HDD)", i,
                     json_string_value(t));
            goto bad;
        }
    }
    locus_hs_block blk = {json_string_value(ds), (uint64_t)json_integer_value(ix),
                          (uint64_t)json_integer_value(by), reps, n};
    rc = probe_sink_put(sink, &blk);
    if (rc) {
        snprintf(st->err, sizeof st->err, "%s:%ld: %s", st->path, lineno, probe_sink_errstr(sink));
        json_decref(root);
        return rc;
    }
    json_decref(root);
    return 0;
bad:
    json_decref(root);
    snprintf(st->err, sizeof st->err, "%s:%ld: %s", st->path, lineno, detail);
    return rc;
}

static void deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    static_state *st = arg;
    probe_poll_done_fn done = st->done;
    st->done = NULL;
    if (done)
        done(st->done_ctx, st->status, st->status ? st->err : NULL);
}

static int static_poll(void *state, probe_sink *sink, probe_poll_done_fn done, void *done_ctx)
{
    static_state *st = state;
    if (st->done)
        return LOCUS_EBUSY;
    st->status = 0;
    st->err[0] = 0;
    FILE *f = fopen(st->path, "r");
    if (!f) {
        st->status = errno == ENOENT ? LOCUS_ENOTFOUND : LOCUS_EIO;
        snprintf(st->err, sizeof st->err, "%s: %s", st->path, strerror(errno));
    } else {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        long lineno = 0;
        uint64_t blocks = 0;
        while (!st->status && (len = getline(&line, &cap, f)) >= 0) {
            lineno++;
            size_t i = 0;
            while (i < (size_t)len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' ||
                                       line[i] == '\n'))
                i++;
            if (i == (size_t)len || line[i] == '#')
                continue;
            st->status = parse_line(st, sink, line, (size_t)len, lineno);
            blocks++;
        }
        if (!st->status && ferror(f)) {
            st->status = LOCUS_EIO;
            snprintf(st->err, sizeof st->err, "%s: read error after line %ld", st->path, lineno);
        }
        if (!st->status)
            probe_sink_count_keys(sink, blocks);
        free(line);
        fclose(f);
    }
    st->done = done;
    st->done_ctx = done_ctx;
    struct timeval zero = {0, 0};
    evtimer_add(st->done_ev, &zero);
    return 0;
}

static void static_cancel(void *state)
{
    static_state *st = state;
    evtimer_del(st->done_ev);
    st->done = NULL;
}

static void static_destroy(void *state)
{
    static_state *st = state;
    if (!st)
        return;
    if (st->done_ev)
        event_free(st->done_ev);
    free(st->path);
    free(st);
}

static int static_create(const void *config, struct event_base *base, void **state, char *err,
                         size_t errlen)
{
    const static_config *cfg = config;
    *state = NULL;
    if (!cfg->path || !*cfg->path) {
        snprintf(err, errlen, "static.path: required when the static backend is enabled");
        return LOCUS_ECONFIG;
    }
    static_state *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(cfg->path)) ||
        !(st->done_ev = evtimer_new(base, deliver, st))) {
        static_destroy(st);
        snprintf(err, errlen, "out of memory");
        return LOCUS_ENOMEM;
    }
    *state = st;
    return 0;
}

const probe_backend_type probe_backend_static = {
    .name = "static",
    .keys = static_keys,
    .n_keys = sizeof static_keys / sizeof static_keys[0],
    .config_size = sizeof(static_config),
    .create = static_create,
    .destroy = static_destroy,
    .poll = static_poll,
    .cancel = static_cancel,
};
