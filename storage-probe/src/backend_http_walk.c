/* The namespace crawl of the file-tree backends (see http_walk.h).
 *
 * A poll is a set of outstanding HTTP requests on one http_fetch client:
 * directory listings (a root, a dataset directory, or a subdirectory) and
 * per-file block lookups. Every reply may add requests; the poll ends when
 * none is left. Results are only collected during the crawl and put into
 * the sink at the very end, sorted, because replies arrive in any order
 * while block indices must not depend on it: index = position of the block
 * in (file path, offset) order within its dataset. The first failure
 * cancels every outstanding request and ends the poll with a message naming
 * the URL; nothing has been put into the sink at that point.
 *
 * Every request carries a small context owned by the poll (a list), so a
 * cancelled request, whose callback never runs, leaks nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_walk.h"
#include "locus/error.h"
#include "locus/util.h"

typedef struct walk_replica {
    char *host;
    locus_tier tier;
} walk_replica;

typedef struct walk_block {
    uint64_t offset, length;
    walk_replica *replicas;
    size_t n_replicas;
    int skip;                  /* 0, or 1 + the probe_skip_reason it is left out for */
} walk_block;

typedef struct walk_file {
    size_t dataset;
    char *path;
    walk_block *blocks;
    size_t n_blocks, cap_blocks;
} walk_file;

enum req_kind { REQ_ROOT, REQ_DIR, REQ_BLOCKS };

typedef struct walk_poll walk_poll;

typedef struct walk_req {
    walk_poll *p;
    struct walk_req *prev, *next;
    enum req_kind kind;
    size_t dataset;   /* REQ_DIR */
    size_t file;      /* REQ_BLOCKS */
    int depth;        /* REQ_DIR: levels below the dataset path */
    char *path;
} walk_req;

typedef struct http_walk http_walk;

struct walk_poll {
    http_walk *w;
    probe_sink *sink;
    probe_poll_done_fn done;
    void *done_ctx;
    walk_req *reqs;          /* outstanding */
    char **datasets;         /* names (= paths) */
    size_t n_datasets, cap_datasets;
    walk_file *files;
    size_t n_files, cap_files;
};

struct http_walk {
    const http_walk_ops *ops;
    http_walk_config cfg;    /* string fields copied */
    char **dataset_paths, **root_paths;
    size_t n_dataset_paths, n_root_paths;
    http_fetch *fetch;
    walk_poll *poll;         /* NULL when idle */
};

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

/* Grows *arr (of *cap elements of size sz) to hold n + 1. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *na = realloc(*arr, nc * sz);
    if (!na)
        return LOCUS_ENOMEM;
    *arr = na;
    *cap = nc;
    return 0;
}

/* ---- config: path lists ------------------------------------------------ */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Splits "a, b ,c" into absolute paths without trailing '/'. */
static int parse_paths(const char *section, const char *key, const char *s, char ***out,
                       size_t *n_out, char *err, size_t errlen)
{
    *out = NULL;
    *n_out = 0;
    size_t cap = 0;
    const char *p = s ? s : "";
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        while (b - a > 1 && b[-1] == '/')
            b--;
        if (b > a) {
            if (*a != '/') {
                locus_errf(err, errlen, "%s.%s: \"%.*s\" is not an absolute path", section, key,
                        (int)(b - a), a);
                goto fail;
            }
            if (grow((void **)out, &cap, *n_out, sizeof **out) ||
                !((*out)[*n_out] = strndup(a, (size_t)(b - a)))) {
                locus_errf(err, errlen, "%s.%s: out of memory", section, key);
                free_strv(*out, *n_out);
                *out = NULL;
                *n_out = 0;
                return LOCUS_ENOMEM;
            }
            (*n_out)++;
        }
        p = *end ? end + 1 : end;
    }
    return 0;
fail:
    free_strv(*out, *n_out);
    *out = NULL;
    *n_out = 0;
    return LOCUS_ECONFIG;
}

/* ---- poll state ---------------------------------------------------------- */

static void poll_free(walk_poll *p)
{
    if (!p)
        return;
    while (p->reqs) {
        walk_req *r = p->reqs;
        p->reqs = r->next;
        free(r->path);
        free(r);
    }
    free_strv(p->datasets, p->n_datasets);
    for (size_t i = 0; i < p->n_files; i++) {
        walk_file *f = &p->files[i];
        for (size_t j = 0; j < f->n_blocks; j++) {
            for (size_t k = 0; k < f->blocks[j].n_replicas; k++)
                free(f->blocks[j].replicas[k].host);
            free(f->blocks[j].replicas);
        }
        free(f->blocks);
        free(f->path);
    }
    free(p->files);
    free(p);
}

static void req_unlink(walk_req *r)
{
    walk_poll *p = r->p;
    if (r->prev)
        r->prev->next = r->next;
    else
        p->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    free(r->path);
    free(r);
}

/* Ends the running poll: frees it, then reports (done may destroy the walk). */
static void finish(http_walk *w, int status, const char *msg)
{
    walk_poll *p = w->poll;
    probe_poll_done_fn done = p->done;
    void *done_ctx = p->done_ctx;
    http_fetch_cancel_all(w->fetch);
    w->poll = NULL;
    poll_free(p);
    done(done_ctx, status, status ? msg : NULL);
}

static void on_reply(void *arg, int status, json_t *root, const char *url, const char *errmsg);

static int add_dataset(walk_poll *p, const char *name, size_t *idx)
{
    if (grow((void **)&p->datasets, &p->cap_datasets, p->n_datasets, sizeof *p->datasets))
        return LOCUS_ENOMEM;
    if (!(p->datasets[p->n_datasets] = strdup(name)))
        return LOCUS_ENOMEM;
    *idx = p->n_datasets++;
    return 0;
}

static int issue(walk_poll *p, enum req_kind kind, const char *path, size_t dataset, size_t file,
                 int depth)
{
    http_walk *w = p->w;
    walk_req *r = calloc(1, sizeof *r);
    if (!r)
        return LOCUS_ENOMEM;
    r->p = p;
    r->kind = kind;
    r->dataset = dataset;
    r->file = file;
    r->depth = depth;
    r->path = strdup(path);
    char *target = kind == REQ_BLOCKS ? w->ops->blocks_request(&w->cfg, path)
                                      : w->ops->list_request(&w->cfg, path);
    int rc = (!r->path || !target) ? LOCUS_ENOMEM : 0;
    if (rc == 0)
        rc = http_fetch_json(w->fetch, w->ops->method, target, on_reply, r);
    free(target);
    if (rc) {
        free(r->path);
        free(r);
        return rc;
    }
    r->next = p->reqs;
    if (p->reqs)
        p->reqs->prev = r;
    p->reqs = r;
    return 0;
}

/* ---- listing replies ------------------------------------------------------ */

typedef struct emit_ctx {
    walk_req *r;
    int status;
    char msg[512];
} emit_ctx;

static int emit_child(void *arg, const char *path, int is_dir)
{
    emit_ctx *e = arg;
    walk_req *r = e->r;
    walk_poll *p = r->p;
    http_walk *w = p->w;
    int rc;
    if (!path || path[0] != '/') {
        locus_errf(e->msg, sizeof e->msg, "entry path \"%s\" is not absolute", path ? path : "");
        return e->status = LOCUS_EPARSE;
    }
    if (is_dir && strcmp(path, r->path) == 0)
        return 0; /* a listing that names the directory itself */
    if (r->kind == REQ_ROOT) {
        if (!is_dir)
            return 0; /* files directly under a root belong to no dataset */
        size_t ds;
        rc = add_dataset(p, path, &ds);
        if (rc == 0)
            rc = issue(p, REQ_DIR, path, ds, 0, 0);
    } else if (is_dir) {
        if (r->depth + 1 > w->cfg.max_depth) {
            locus_errf(e->msg, sizeof e->msg,
                    "directory %s is deeper than %s.max_depth = %lld levels below dataset %s",
                    path, w->ops->name, (long long)w->cfg.max_depth, p->datasets[r->dataset]);
            return e->status = LOCUS_EINVAL;
        }
        rc = issue(p, REQ_DIR, path, r->dataset, 0, r->depth + 1);
    } else if ((int64_t)p->n_files >= w->cfg.max_files) {
        locus_errf(e->msg, sizeof e->msg, "file %s is one more than %s.max_files = %lld", path,
                w->ops->name, (long long)w->cfg.max_files);
        return e->status = LOCUS_EINVAL;
    } else {
        rc = grow((void **)&p->files, &p->cap_files, p->n_files, sizeof *p->files);
        if (rc == 0) {
            walk_file *f = &p->files[p->n_files];
            memset(f, 0, sizeof *f);
            f->dataset = r->dataset;
            f->path = strdup(path);
            if (!f->path)
                rc = LOCUS_ENOMEM;
            else
                rc = issue(p, REQ_BLOCKS, path, r->dataset, p->n_files++, 0);
        }
    }
    if (rc) {
        locus_errf(e->msg, sizeof e->msg, "out of memory at entry %s", path);
        e->status = rc;
    }
    return rc;
}

/* ---- the end of a poll: order and hand over ------------------------------- */

typedef struct file_ref {
    const char *dataset;
    walk_file *file;
} file_ref;

static int cmp_files(const void *a, const void *b)
{
    const file_ref *x = a, *y = b;
    int c = strcmp(x->dataset, y->dataset);
    return c ? c : strcmp(x->file->path, y->file->path);
}

static int cmp_blocks(const void *a, const void *b)
{
    const walk_block *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int commit_to_sink(walk_poll *p, char *msg, size_t msglen)
{
    file_ref *order = malloc((p->n_files ? p->n_files : 1) * sizeof *order);
    if (!order) {
        locus_errf(msg, msglen, "%s: out of memory ordering %zu files", p->w->ops->name, p->n_files);
        return LOCUS_ENOMEM;
    }
    for (size_t i = 0; i < p->n_files; i++) {
        order[i].dataset = p->datasets[p->files[i].dataset];
        order[i].file = &p->files[i];
    }
    qsort(order, p->n_files, sizeof *order, cmp_files);

    int rc = 0;
    uint64_t files = 0;
    const char *prev_ds = NULL, *prev_path = NULL;
    uint64_t index = 0;
    locus_hs_replica *reps = NULL;
    size_t cap_reps = 0;
    for (size_t i = 0; i < p->n_files && rc == 0; i++) {
        walk_file *f = order[i].file;
        const char *ds = order[i].dataset;
        if (prev_ds && strcmp(prev_ds, ds) == 0 && strcmp(prev_path, f->path) == 0)
            continue; /* same file reached twice (a dataset named twice) */
        if (!prev_ds || strcmp(prev_ds, ds) != 0)
            index = 0;
        prev_ds = ds;
        prev_path = f->path;
        files++;
        if (f->n_blocks > 1)
            qsort(f->blocks, f->n_blocks, sizeof *f->blocks, cmp_blocks);
        for (size_t j = 0; j < f->n_blocks && rc == 0; j++) {
            walk_block *b = &f->blocks[j];
            if (b->skip) {
                probe_sink_skip(p->sink, (probe_skip_reason)(b->skip - 1));
                index++; /* later blocks keep their numbers */
                continue;
            }
            if (b->n_replicas > cap_reps) {
                locus_hs_replica *nr = realloc(reps, b->n_replicas * sizeof *nr);
                if (!nr) {
                    rc = LOCUS_ENOMEM;
                    locus_errf(msg, msglen, "%s: out of memory", p->w->ops->name);
                    break;
                }
                reps = nr;
                cap_reps = b->n_replicas;
            }
            for (size_t k = 0; k < b->n_replicas; k++) {
                reps[k].host = b->replicas[k].host;
                reps[k].tier = b->replicas[k].tier;
            }
            locus_hs_block blk = {ds, index++, b->length, reps, b->n_replicas};
            rc = probe_sink_put(p->sink, &blk);
            if (rc)
                locus_errf(msg, msglen, "%s: dataset %s block %llu (file %s offset %llu) refused: %s",
                        p->w->ops->name, ds, (unsigned long long)blk.index, f->path,
                        (unsigned long long)b->offset, locus_strerror(rc));
        }
    }
    free(reps);
    free(order);
    if (rc == 0)
        probe_sink_count_keys(p->sink, files);
    return rc;
}

static void on_reply(void *arg, int status, json_t *root, const char *url, const char *errmsg)
{
    walk_req *r = arg;
    walk_poll *p = r->p;
    http_walk *w = p->w;
    char msg[1024];
    char perr[512] = "";
    if (status) {
        req_unlink(r);
        finish(w, status, errmsg);
        return;
    }
    int rc;
    if (r->kind == REQ_BLOCKS) {
        rc = w->ops->parse_blocks(root, &p->files[r->file], perr, sizeof perr);
    } else {
        emit_ctx e = {r, 0, ""};
        rc = w->ops->parse_list(root, r->path, emit_child, &e, perr, sizeof perr);
        if (rc && e.status)
            snprintf(perr, sizeof perr, "%s", e.msg);
    }
    req_unlink(r);
    if (rc) {
        snprintf(msg, sizeof msg, "%s: %s", url, perr);
        finish(w, rc, msg);
        return;
    }
    if (p->reqs)
        return; /* more replies to come */
    rc = commit_to_sink(p, msg, sizeof msg);
    finish(w, rc, msg);
}

/* ---- for parse_blocks ------------------------------------------------------ */

int http_walk_add_block(void *file, uint64_t offset, uint64_t length, const char *const *hosts,
                        const locus_tier *tiers, size_t n, char *err, size_t errlen)
{
    walk_file *f = file;
    if (grow((void **)&f->blocks, &f->cap_blocks, f->n_blocks, sizeof *f->blocks)) {
        locus_errf(err, errlen, "out of memory");
        return LOCUS_ENOMEM;
    }
    walk_block *b = &f->blocks[f->n_blocks];
    memset(b, 0, sizeof *b);
    b->offset = offset;
    b->length = length;
    if (n) {
        b->replicas = calloc(n, sizeof *b->replicas);
        if (!b->replicas) {
            locus_errf(err, errlen, "out of memory");
            return LOCUS_ENOMEM;
        }
    }
    f->n_blocks++; /* counted now so poll_free frees what follows */
    /* Caps first: the duplicate check below is quadratic in n, and a block
     * the store cannot hold is skipped (counted at publish), not an error. */
    if (n > PROBE_REPLICAS_MAX) {
        b->skip = PROBE_SKIP_TOO_MANY_REPLICAS + 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!hosts[i] || !hosts[i][0] || strnlen(hosts[i], PROBE_HOST_MAX + 1) > PROBE_HOST_MAX) {
            b->skip = (!hosts[i] || !hosts[i][0] ? PROBE_SKIP_EMPTY_HOST : PROBE_SKIP_HOST_TOO_LONG) + 1;
            return 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t k;
        for (k = 0; k < b->n_replicas; k++)
            if (strcmp(b->replicas[k].host, hosts[i]) == 0)
                break;
        if (k < b->n_replicas) {
            if (tiers[i] < b->replicas[k].tier)
                b->replicas[k].tier = tiers[i];
            continue;
        }
        if (!(b->replicas[k].host = strdup(hosts[i]))) {
            locus_errf(err, errlen, "out of memory");
            return LOCUS_ENOMEM;
        }
        b->replicas[k].tier = tiers[i];
        b->n_replicas++;
    }
    return 0;
}

/* ---- one reply, outside a poll (fuzzing, tests) ----------------------------- */

static int discard_entry(void *ctx, const char *path, int is_dir)
{
    (void)ctx;
    (void)path;
    (void)is_dir;
    return 0;
}

int http_walk_parse_reply(const http_walk_ops *ops, int blocks, const char *body, size_t len,
                          char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        locus_errf(err, errlen, "malformed JSON: %s", jerr.text);
        return LOCUS_EPARSE;
    }
    int rc;
    if (!blocks) {
        rc = ops->parse_list(root, "/d", discard_entry, NULL, err, errlen);
    } else {
        walk_file f = {0};
        rc = ops->parse_blocks(root, &f, err, errlen);
        for (size_t j = 0; j < f.n_blocks; j++) {
            for (size_t k = 0; k < f.blocks[j].n_replicas; k++)
                free(f.blocks[j].replicas[k].host);
            free(f.blocks[j].replicas);
        }
        free(f.blocks);
    }
    json_decref(root);
    return rc;
}

/* ---- probe_backend_type callbacks ----------------------------------------- */

static void walk_free(http_walk *w)
{
    if (!w)
        return;
    http_fetch_free(w->fetch);
    free_strv(w->dataset_paths, w->n_dataset_paths);
    free_strv(w->root_paths, w->n_root_paths);
    free(w->cfg.endpoint);
    free(w->cfg.datasets);
    free(w->cfg.roots);
    free(w->cfg.user);
    free(w);
}

int http_walk_create(const http_walk_ops *ops, const void *config, struct event_base *base,
                     void **state, char *err, size_t errlen)
{
    *state = NULL;
    const http_walk_config *c = config;
    http_walk *w = calloc(1, sizeof *w);
    if (!w) {
        locus_errf(err, errlen, "%s: out of memory", ops->name);
        return LOCUS_ENOMEM;
    }
    w->ops = ops;
    w->cfg = *c;
    w->cfg.endpoint = xstrdup(c->endpoint);
    w->cfg.datasets = xstrdup(c->datasets);
    w->cfg.roots = xstrdup(c->roots);
    w->cfg.user = xstrdup(c->user);
    /* Read once, by the HTTP client, which keeps its own copies. */
    w->cfg.tls_ca_file = w->cfg.tls_cert_file = w->cfg.tls_key_file = w->cfg.proxy = NULL;
    if ((c->endpoint && !w->cfg.endpoint) || (c->datasets && !w->cfg.datasets) ||
        (c->roots && !w->cfg.roots) || (c->user && !w->cfg.user)) {
        walk_free(w);
        locus_errf(err, errlen, "%s: out of memory", ops->name);
        return LOCUS_ENOMEM;
    }
    int rc = parse_paths(ops->name, "datasets", c->datasets, &w->dataset_paths,
                         &w->n_dataset_paths, err, errlen);
    if (rc == 0)
        rc = parse_paths(ops->name, "roots", c->roots, &w->root_paths, &w->n_root_paths, err,
                         errlen);
    if (rc == 0 && w->n_dataset_paths + w->n_root_paths == 0) {
        locus_errf(err, errlen, "neither %s.datasets nor %s.roots names a path", ops->name,
                ops->name);
        rc = LOCUS_ECONFIG;
    }
    if (rc == 0) {
        http_fetch_limits lim = {c->request_timeout_s, (size_t)c->max_body_bytes,
                                 (unsigned)c->max_concurrent};
        http_fetch_options fo = {c->tls_ca_file, c->tls_cert_file, c->tls_key_file, c->proxy,
                                 c->spnego};
        char ferr[256];
        rc = http_fetch_new(base, c->endpoint, ops->default_port, &lim, &fo, &w->fetch, ferr,
                            sizeof ferr);
        if (rc)
            locus_errf(err, errlen, "%s.%s", ops->name, ferr);
    }
    if (rc) {
        walk_free(w);
        return rc;
    }
    *state = w;
    return 0;
}

void http_walk_cancel(void *state)
{
    http_walk *w = state;
    if (!w || !w->poll)
        return;
    http_fetch_cancel_all(w->fetch);
    poll_free(w->poll);
    w->poll = NULL;
}

void http_walk_destroy(void *state)
{
    http_walk *w = state;
    if (!w)
        return;
    http_walk_cancel(w);
    walk_free(w);
}

int http_walk_poll(void *state, probe_sink *sink, probe_poll_done_fn done, void *done_ctx)
{
    http_walk *w = state;
    if (!w || !sink || !done)
        return LOCUS_EINVAL;
    if (w->poll)
        return LOCUS_EBUSY;
    walk_poll *p = calloc(1, sizeof *p);
    if (!p)
        return LOCUS_ENOMEM;
    p->w = w;
    p->sink = sink;
    p->done = done;
    p->done_ctx = done_ctx;
    w->poll = p;
    int rc = 0;
    for (size_t i = 0; i < w->n_dataset_paths && rc == 0; i++) {
        size_t ds;
        rc = add_dataset(p, w->dataset_paths[i], &ds);
        if (rc == 0)
            rc = issue(p, REQ_DIR, w->dataset_paths[i], ds, 0, 0);
    }
    for (size_t i = 0; i < w->n_root_paths && rc == 0; i++)
        rc = issue(p, REQ_ROOT, w->root_paths[i], 0, 0, 0);
    if (rc)
        http_walk_cancel(w); /* nothing was reported; done is not called */
    return rc;
}
