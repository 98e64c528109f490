/* Trace loading front end: opens the file (or wraps a buffer with fmemopen,
 * so the fuzz target runs the very same code), detects the format from the
 * content, and hands the stream to the SWIM or binary parser. Both parsers
 * feed one builder that owns what the formats share: load limits, the
 * non-decreasing submit-time rule and unique job ids (an open-addressing set,
 * so a 13k-job trace costs no quadratic scan). Parsers stream line by line or
 * record by record; nothing is slurped whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"
#include "trace_parse.h"

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

void sim_job_clear(sim_job *j)
{
    if (!j)
        return;
    free(j->id);
    free(j->role);
    free(j->framework);
    for (size_t i = 0; i < j->n_inputs; i++)
        free(j->inputs[i].name);
    free(j->inputs);
    memset(j, 0, sizeof *j);
}

void sim_trace_free(sim_trace *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_jobs; i++)
        sim_job_clear(&t->jobs[i]);
    free(t->jobs);
    free(t->source);
    free(t);
}

/* ---- builder ---- */

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

int sim_tb_init(sim_trace_builder *b, const char *source, sim_trace_format format,
                const sim_trace_load_opts *opts)
{
    memset(b, 0, sizeof *b);
    b->t = calloc(1, sizeof *b->t);
    if (!b->t)
        return LOCUS_ENOMEM;
    b->t->source = dup_str(source ? source : "");
    if (!b->t->source) {
        free(b->t);
        b->t = NULL;
        return LOCUS_ENOMEM;
    }
    b->t->format = format;
    if (opts) {
        b->max_jobs = opts->max_jobs;
        b->max_submit_s = opts->max_submit_s;
        b->skip_submit_s = opts->skip_submit_s;
    }
    return 0;
}

/* Slot of id in the set: where it is, or the empty slot where it would go. */
static size_t id_slot(const sim_trace_builder *b, const char *id)
{
    size_t mask = b->ids_cap - 1;
    size_t i = (size_t)hash_id(id) & mask;
    while (b->ids[i] && strcmp(b->t->jobs[b->ids[i] - 1].id, id) != 0)
        i = (i + 1) & mask;
    return i;
}

static int grow_ids(sim_trace_builder *b)
{
    size_t ncap = b->ids_cap ? b->ids_cap * 2 : 1024;
    size_t *old = b->ids, oldcap = b->ids_cap;
    b->ids = calloc(ncap, sizeof *b->ids);
    if (!b->ids) {
        b->ids = old;
        return LOCUS_ENOMEM;
    }
    b->ids_cap = ncap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i])
            b->ids[id_slot(b, b->t->jobs[old[i] - 1].id)] = old[i];
    free(old);
    return 0;
}

int sim_tb_add(sim_trace_builder *b, sim_job *job, uint64_t origin, uint64_t *dup_origin)
{
    sim_trace *t = b->t;
    if (b->seen && job->submit_s < b->last_seen)
        return SIM_TB_EORDER;
    if (!b->seen)
        b->first_seen = job->submit_s;
    b->seen = 1;
    b->last_seen = job->submit_s;
    /* Skipped jobs are read on (each line is still parsed and checked):
     * the window starts at the file's first job, not at the first kept. */
    if (b->skip_submit_s > 0 && job->submit_s - b->first_seen < b->skip_submit_s)
        return SIM_TB_SKIPPED;
    if ((b->max_jobs && t->n_jobs >= b->max_jobs) ||
        (b->max_submit_s > 0 && t->n_jobs > 0 &&
         job->submit_s - t->jobs[0].submit_s > b->max_submit_s)) {
        b->stopped = 1;
        return SIM_TB_STOP;
    }
    if ((t->n_jobs + 1) * 2 > b->ids_cap && grow_ids(b) != 0)
        return LOCUS_ENOMEM;
    size_t slot = id_slot(b, job->id);
    if (b->ids[slot]) {
        if (dup_origin)
            *dup_origin = b->origin[b->ids[slot] - 1];
        return SIM_TB_EDUP;
    }
    if (t->n_jobs == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        sim_job *nj = realloc(t->jobs, ncap * sizeof *nj);
        if (!nj)
            return LOCUS_ENOMEM;
        t->jobs = nj;
        uint64_t *no = realloc(b->origin, ncap * sizeof *no);
        if (!no)
            return LOCUS_ENOMEM;
        b->origin = no;
        b->cap = ncap;
    }
    t->jobs[t->n_jobs] = *job;
    b->origin[t->n_jobs] = origin;
    t->n_jobs++;
    b->ids[slot] = t->n_jobs;
    memset(job, 0, sizeof *job);
    return SIM_TB_ADDED;
}

double sim_tb_last_submit(const sim_trace_builder *b)
{
    return b->seen ? b->last_seen : 0.0;
}

int sim_tb_all_skipped(const sim_trace_builder *b, const char *name, char *err, size_t errlen)
{
    if (!b->seen || !b->t || b->t->n_jobs > 0)
        return 0;
    snprintf(err, errlen,
             "%s: no job left after skipping the first %.17g s (sim.skip_hours): its last job is "
             "%.17g s after its first",
             name, b->skip_submit_s, b->last_seen - b->first_seen);
    return LOCUS_EINVAL;
}

sim_trace *sim_tb_finish(sim_trace_builder *b)
{
    sim_trace *t = b->t;
    b->t = NULL;
    if (t && t->n_jobs < b->cap && t->n_jobs > 0) {
        sim_job *nj = realloc(t->jobs, t->n_jobs * sizeof *nj); /* give back the slack */
        if (nj)
            t->jobs = nj;
    }
    sim_tb_discard(b);
    return t;
}

void sim_tb_discard(sim_trace_builder *b)
{
    sim_trace_free(b->t);
    free(b->origin);
    free(b->ids);
    memset(b, 0, sizeof *b);
}

/* ---- helpers shared by the parsers ---- */

void sim_trace_quote(char *dst, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const size_t max_shown = 40;
    size_t o = 0;
    if (cap < 8) {
        if (cap)
            dst[0] = '\0';
        return;
    }
    dst[o++] = '\'';
    for (size_t i = 0; i < len && i < max_shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 8 >= cap)
            break;
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            dst[o++] = (char)c;
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    if (len > max_shown && o + 5 < cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o++] = '\'';
    dst[o] = '\0';
}

sim_trace_format sim_trace_detect(const unsigned char *head, size_t n)
{
    /* A binary trace opens with a header record whose TraceHeader always
     * holds the format_version tag 0x08 within its first bytes; SWIM text
     * holds only printable bytes, tabs and line ends. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = head[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return SIM_TRACE_BINARY;
    }
    return SIM_TRACE_SWIM;
}

/* ---- comparison (round-trip checks in tests and the fuzz target) ---- */

static int str_differs(const char *a, const char *b)
{
    return (!a || !b) ? a != b : strcmp(a, b) != 0;
}

int sim_trace_diff(const sim_trace *a, const sim_trace *b, char *why, size_t whylen)
{
#define DIFF(cond, ...)                                                                           \
    do {                                                                                          \
        if (cond) {                                                                               \
            snprintf(why, whylen, __VA_ARGS__);                                                   \
            return 1;                                                                             \
        }                                                                                         \
    } while (0)
    DIFF(a->n_jobs != b->n_jobs, "n_jobs %zu != %zu", a->n_jobs, b->n_jobs);
    DIFF(a->default_block_bytes != b->default_block_bytes, "default_block_bytes");
    for (size_t i = 0; i < a->n_jobs; i++) {
        const sim_job *x = &a->jobs[i], *y = &b->jobs[i];
        DIFF(str_differs(x->id, y->id), "job %zu: id", i);
        DIFF(memcmp(&x->submit_s, &y->submit_s, sizeof(double)), "job %zu: submit_s", i);
        DIFF(str_differs(x->role, y->role), "job %zu: role", i);
        DIFF(str_differs(x->framework, y->framework), "job %zu: framework", i);
        DIFF(x->n_inputs != y->n_inputs, "job %zu: n_inputs", i);
        for (size_t k = 0; k < x->n_inputs; k++) {
            DIFF(str_differs(x->inputs[k].name, y->inputs[k].name), "job %zu: input %zu name", i, k);
            DIFF(x->inputs[k].bytes != y->inputs[k].bytes, "job %zu: input %zu bytes", i, k);
            DIFF(x->inputs[k].block_bytes != y->inputs[k].block_bytes,
                 "job %zu: input %zu block_bytes", i, k);
        }
        DIFF(x->shuffle_bytes != y->shuffle_bytes, "job %zu: shuffle_bytes", i);
        DIFF(x->output_bytes != y->output_bytes, "job %zu: output_bytes", i);
        DIFF(x->map_tasks != y->map_tasks, "job %zu: map_tasks", i);
        DIFF(x->reduce_tasks != y->reduce_tasks, "job %zu: reduce_tasks", i);
        DIFF(memcmp(&x->map_compute_s, &y->map_compute_s, sizeof(double)), "job %zu: map_compute_s", i);
        DIFF(memcmp(&x->reduce_compute_s, &y->reduce_compute_s, sizeof(double)),
             "job %zu: reduce_compute_s", i);
    }
#undef DIFF
    return 0;
}

/* ---- loading ---- */

static void set_err(char *err, size_t errlen, const char *name, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", name, what);
}

static int load_stream(FILE *f, const char *name, const sim_trace_load_opts *opts,
                       sim_trace **out, char *err, size_t errlen)
{
    sim_trace_format fmt = opts ? opts->format : SIM_TRACE_AUTO;
    if (fmt != SIM_TRACE_AUTO && fmt != SIM_TRACE_SWIM && fmt != SIM_TRACE_BINARY) {
        set_err(err, errlen, name, "unknown trace format requested");
        return LOCUS_EINVAL;
    }
    unsigned char head[512];
    size_t n = fread(head, 1, sizeof head, f);
    if (ferror(f)) {
        set_err(err, errlen, name, strerror(errno ? errno : EIO));
        return LOCUS_EIO;
    }
    if (n == 0) {
        set_err(err, errlen, name, "empty file, not a trace");
        return LOCUS_EPARSE;
    }
    if (fseek(f, 0, SEEK_SET) != 0) {
        set_err(err, errlen, name, "cannot rewind (a trace must be a regular file)");
        return LOCUS_EIO;
    }
    if (fmt == SIM_TRACE_AUTO)
        fmt = sim_trace_detect(head, n);

    sim_trace_builder b;
    if (sim_tb_init(&b, name, fmt, opts) != 0) {
        set_err(err, errlen, name, "out of memory");
        return LOCUS_ENOMEM;
    }
    int rc = fmt == SIM_TRACE_SWIM ? sim_trace_parse_swim(f, name, &b, err, errlen)
                                   : sim_trace_parse_binary(f, name, &b, err, errlen);
    if (rc != 0) {
        sim_tb_discard(&b);
        return rc;
    }
    *out = sim_tb_finish(&b);
    return 0;
}

int sim_trace_load(const char *path, const sim_trace_load_opts *opts, sim_trace **out,
                   char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!path || !out) {
        set_err(err, errlen, "trace", "no path given");
        return LOCUS_EINVAL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        set_err(err, errlen, path, strerror(e));
        return e == ENOMEM ? LOCUS_ENOMEM : LOCUS_EIO;
    }
    int rc = load_stream(f, path, opts, out, err, errlen);
    fclose(f);
    return rc;
}

int sim_trace_load_mem(const void *data, size_t size, const char *name,
                       const sim_trace_load_opts *opts, sim_trace **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!name)
        name = "<memory>";
    if (!out || (!data && size)) {
        set_err(err, errlen, name, "no buffer given");
        return LOCUS_EINVAL;
    }
    if (size == 0) {
        set_err(err, errlen, name, "empty file, not a trace");
        return LOCUS_EPARSE;
    }
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f) {
        set_err(err, errlen, name, strerror(errno));
        return LOCUS_ENOMEM;
    }
    int rc = load_stream(f, name, opts, out, err, errlen);
    fclose(f);
    return rc;
}
