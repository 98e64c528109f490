/* Locus binary traces: a stream of records, each a varint byte length and one
 * protobuf-c locus.trace.TraceRecord; the first record is the header. The
 * length prefix lets the reader stream record by record and name the record
 * number and byte offset of a bad one; protobuf keeps the format open to new
 * optional fields. The reader grows its buffer as bytes actually arrive, so
 * a corrupt length cannot make it allocate more than the file holds, and it
 * checks every decoded job (finite, non-negative numbers, names present)
 * before the engine sees it. The writer is the exact inverse of the reader:
 * SWIM -> binary -> load gives the same jobs field for field.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "locus/error.h"
#include "locus_trace.pb-c.h"
#include "trace_parse.h"

#define TRACE_FORMAT_VERSION 1
#define TRACE_MAX_RECORD (64u << 20) /* far above any real job record */

typedef struct bin_ctx {
    FILE *f;
    const char *name;
    uint64_t offset;      /* bytes consumed so far */
    uint64_t record;      /* 1-based number of the record being read */
    uint64_t rec_offset;  /* where it starts */
    char *err;
    size_t errlen;
} bin_ctx;

static int rec_err(const bin_ctx *c, int code, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int n = snprintf(c->err, c->errlen, "%s: record %llu at byte offset %llu: ", c->name,
                         (unsigned long long)c->record, (unsigned long long)c->rec_offset);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

/* Reads the length prefix. 0 with *len, 1 at a clean end of file, or an
 * error code. */
static int read_length(bin_ctx *c, uint64_t *len)
{
    uint64_t v = 0;
    for (int i = 0;; i++) {
        int ch = getc(c->f);
        if (ch == EOF) {
            if (ferror(c->f))
                return rec_err(c, LOCUS_EIO, "read error: %s", strerror(errno ? errno : EIO));
            if (i == 0)
                return 1;
            return rec_err(c, LOCUS_EPARSE, "truncated length prefix (file ends after %d byte%s)",
                           i, i == 1 ? "" : "s");
        }
        c->offset++;
        if (i == 9 && (ch & 0xfe))
            return rec_err(c, LOCUS_EPARSE, "bad length prefix (varint longer than 64 bits)");
        v |= (uint64_t)(ch & 0x7f) << (7 * i);
        if (!(ch & 0x80))
            break;
    }
    *len = v;
    return 0;
}

/* Reads len bytes into *buf (grown as needed, in steps so that only bytes
 * the file really holds get allocated). */
static int read_body(bin_ctx *c, uint64_t len, unsigned char **buf, size_t *cap)
{
    if (len > TRACE_MAX_RECORD)
        return rec_err(c, LOCUS_EPARSE, "record length %llu exceeds the %u-byte limit",
                       (unsigned long long)len, TRACE_MAX_RECORD);
    size_t got = 0;
    while (got < len) {
        size_t want = (size_t)len - got;
        if (want > 65536)
            want = 65536;
        if (got + want > *cap) {
            size_t ncap = *cap ? *cap : 4096;
            while (ncap < got + want)
                ncap *= 2;
            unsigned char *nb = realloc(*buf, ncap);
            if (!nb)
                return rec_err(c, LOCUS_ENOMEM, "out of memory");
            *buf = nb;
            *cap = ncap;
        }
        size_t n = fread(*buf + got, 1, want, c->f);
        got += n;
        c->offset += n;
        if (n < want) {
            if (ferror(c->f))
                return rec_err(c, LOCUS_EIO, "read error: %s", strerror(errno ? errno : EIO));
            return rec_err(c, LOCUS_EPARSE,
                           "truncated message (length %llu, file ends after %zu byte%s)",
                           (unsigned long long)len, got, got == 1 ? "" : "s");
        }
    }
    return 0;
}

static int check_text(const bin_ctx *c, const char *what, const char *s)
{
    if (!s || !*s)
        return rec_err(c, LOCUS_EPARSE, "%s is empty", what);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            char q[200];
            sim_trace_quote(q, sizeof q, s, strlen(s));
            return rec_err(c, LOCUS_EPARSE, "%s %s holds a control character", what, q);
        }
    return 0;
}

static int check_seconds(const bin_ctx *c, const char *what, double v)
{
    if (!isfinite(v) || v < 0)
        return rec_err(c, LOCUS_EPARSE, "%s %g is not a non-negative number", what, v);
    return 0;
}

/* Decoded job -> sim_job, after checking it. */
static int convert_job(const bin_ctx *c, const Locus__Trace__Job *pj, sim_job *j)
{
    int rc;
    if ((rc = check_text(c, "job id", pj->id)) ||
        (rc = check_seconds(c, "submit_time_s", pj->submit_time_s)) ||
        (rc = check_text(c, "role", pj->role)) ||
        (pj->framework && (rc = check_text(c, "framework", pj->framework))) ||
        (pj->has_map_compute_s && (rc = check_seconds(c, "map_compute_s", pj->map_compute_s))) ||
        (pj->has_reduce_compute_s &&
         (rc = check_seconds(c, "reduce_compute_s", pj->reduce_compute_s))))
        return rc;
    for (size_t i = 0; i < pj->n_inputs; i++)
        if ((rc = check_text(c, "input dataset name", pj->inputs[i]->name)))
            return rc;

    j->id = strdup(pj->id);
    j->submit_s = pj->submit_time_s;
    j->role = strdup(pj->role);
    j->framework = pj->framework ? strdup(pj->framework) : NULL;
    if (!j->id || !j->role || (pj->framework && !j->framework))
        return rec_err(c, LOCUS_ENOMEM, "out of memory");
    if (pj->n_inputs) {
        j->inputs = calloc(pj->n_inputs, sizeof *j->inputs);
        if (!j->inputs)
            return rec_err(c, LOCUS_ENOMEM, "out of memory");
        j->n_inputs = pj->n_inputs;
        for (size_t i = 0; i < pj->n_inputs; i++) {
            j->inputs[i].name = strdup(pj->inputs[i]->name);
            j->inputs[i].bytes = pj->inputs[i]->bytes;
            j->inputs[i].block_bytes = pj->inputs[i]->has_block_bytes ? pj->inputs[i]->block_bytes : 0;
            if (!j->inputs[i].name)
                return rec_err(c, LOCUS_ENOMEM, "out of memory");
        }
    }
    j->shuffle_bytes = pj->has_shuffle_bytes ? pj->shuffle_bytes : 0;
    j->output_bytes = pj->has_output_bytes ? pj->output_bytes : 0;
    j->map_tasks = pj->has_map_tasks ? pj->map_tasks : 0;
    j->reduce_tasks = pj->has_reduce_tasks ? pj->reduce_tasks : 0;
    j->map_compute_s = pj->has_map_compute_s ? pj->map_compute_s : -1.0;
    j->reduce_compute_s = pj->has_reduce_compute_s ? pj->reduce_compute_s : -1.0;
    return 0;
}

static int handle_record(bin_ctx *c, sim_trace_builder *b, const Locus__Trace__TraceRecord *r)
{
    if (c->record == 1) {
        if (r->record_case != LOCUS__TRACE__TRACE_RECORD__RECORD_HEADER)
            return rec_err(c, LOCUS_EPARSE, "missing header (the first record must be a TraceHeader)");
        if (r->header->format_version != TRACE_FORMAT_VERSION)
            return rec_err(c, LOCUS_EPARSE, "unknown format_version %u (this build reads %d)",
                           r->header->format_version, TRACE_FORMAT_VERSION);
        b->t->default_block_bytes =
            r->header->has_default_block_bytes ? r->header->default_block_bytes : 0;
        return 0;
    }
    if (r->record_case == LOCUS__TRACE__TRACE_RECORD__RECORD_HEADER)
        return rec_err(c, LOCUS_EPARSE, "a second header record");
    if (r->record_case != LOCUS__TRACE__TRACE_RECORD__RECORD_JOB)
        return rec_err(c, LOCUS_EPARSE, "record holds neither a header nor a job");

    sim_job job = {0};
    int rc = convert_job(c, r->job, &job);
    if (rc == 0) {
        uint64_t dup = 0;
        int a = sim_tb_add(b, &job, c->record, &dup);
        if (a == SIM_TB_EORDER)
            rc = rec_err(c, LOCUS_EPARSE,
                         "job '%s': submit_time_s %.17g is earlier than the previous job's %.17g",
                         job.id, job.submit_s, sim_tb_last_submit(b));
        else if (a == SIM_TB_EDUP)
            rc = rec_err(c, LOCUS_EPARSE, "job id '%s' repeats the id of record %llu", job.id,
                         (unsigned long long)dup);
        else if (a == LOCUS_ENOMEM)
            rc = rec_err(c, LOCUS_ENOMEM, "out of memory");
    }
    sim_job_clear(&job);
    return rc;
}

int sim_trace_parse_binary(FILE *f, const char *name, sim_trace_builder *b, char *err, size_t errlen)
{
    bin_ctx c = {.f = f, .name = name, .err = err, .errlen = errlen};
    unsigned char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    while (!b->stopped) {
        c.record++;
        c.rec_offset = c.offset;
        uint64_t len = 0;
        rc = read_length(&c, &len);
        if (rc == 1) {
            rc = 0;
            if (c.record == 1)
                rc = rec_err(&c, LOCUS_EPARSE, "missing header (the file is empty)");
            else if ((rc = sim_tb_all_skipped(b, name, err, errlen)) == 0 && b->t->n_jobs == 0)
                rc = rec_err(&c, LOCUS_EPARSE, "no job records after the header");
            break;
        }
        if (rc || (rc = read_body(&c, len, &buf, &cap)))
            break;
        Locus__Trace__TraceRecord *r =
            locus__trace__trace_record__unpack(NULL, (size_t)len, buf);
        if (!r) {
            rc = rec_err(&c, LOCUS_EPARSE,
                         "undecodable record (%llu bytes that are not a locus.trace.TraceRecord)",
                         (unsigned long long)len);
            break;
        }
        rc = handle_record(&c, b, r);
        locus__trace__trace_record__free_unpacked(r, NULL);
        if (rc)
            break;
    }
    free(buf);
    return rc;
}

/* ---- writer ---- */

static int put_record(FILE *f, const Locus__Trace__TraceRecord *r, unsigned char **buf, size_t *cap)
{
    size_t len = locus__trace__trace_record__get_packed_size(r);
    if (len > *cap) {
        size_t ncap = len * 2;
        unsigned char *nb = realloc(*buf, ncap);
        if (!nb)
            return LOCUS_ENOMEM;
        *buf = nb;
        *cap = ncap;
    }
    locus__trace__trace_record__pack(r, *buf);
    unsigned char pre[10];
    size_t n = 0;
    uint64_t v = len;
    do {
        pre[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    if (fwrite(pre, 1, n, f) != n || fwrite(*buf, 1, len, f) != len)
        return LOCUS_EIO;
    return 0;
}

int sim_trace_write_binary_stream(const sim_trace *t, FILE *f, const char *name, char *err,
                                  size_t errlen)
{
    unsigned char *buf = NULL;
    size_t cap = 0;
    int rc = 0;

    Locus__Trace__TraceHeader h = LOCUS__TRACE__TRACE_HEADER__INIT;
    h.format_version = TRACE_FORMAT_VERSION;
    h.source = t->source && *t->source ? t->source : NULL;
    h.has_default_block_bytes = t->default_block_bytes != 0;
    h.default_block_bytes = t->default_block_bytes;
    Locus__Trace__TraceRecord r = LOCUS__TRACE__TRACE_RECORD__INIT;
    r.record_case = LOCUS__TRACE__TRACE_RECORD__RECORD_HEADER;
    r.header = &h;
    rc = put_record(f, &r, &buf, &cap);

    Locus__Trace__DatasetRef *refs = NULL, **refp = NULL;
    size_t refs_cap = 0;
    for (size_t i = 0; rc == 0 && i < t->n_jobs; i++) {
        const sim_job *j = &t->jobs[i];
        if (!j->id) {
            snprintf(err, errlen, "%s: job %zu has no id", name, i + 1);
            rc = LOCUS_EINVAL;
            break;
        }
        if (j->n_inputs > refs_cap) {
            Locus__Trace__DatasetRef *nr = realloc(refs, j->n_inputs * sizeof *nr);
            Locus__Trace__DatasetRef **np = nr ? realloc(refp, j->n_inputs * sizeof *np) : NULL;
            if (nr)
                refs = nr;
            if (!nr || !np) {
                rc = LOCUS_ENOMEM;
                break;
            }
            refp = np;
            refs_cap = j->n_inputs;
        }
        Locus__Trace__Job pj = LOCUS__TRACE__JOB__INIT;
        pj.id = j->id;
        pj.submit_time_s = j->submit_s;
        if (j->role)
            pj.role = j->role;
        pj.framework = j->framework;
        for (size_t k = 0; k < j->n_inputs; k++) {
            Locus__Trace__DatasetRef d = LOCUS__TRACE__DATASET_REF__INIT;
            d.name = j->inputs[k].name ? j->inputs[k].name : (char *)"";
            d.bytes = j->inputs[k].bytes;
            d.has_block_bytes = j->inputs[k].block_bytes != 0;
            d.block_bytes = j->inputs[k].block_bytes;
            refs[k] = d;
            refp[k] = &refs[k];
        }
        pj.n_inputs = j->n_inputs;
        pj.inputs = refp;
        pj.has_shuffle_bytes = 1;
        pj.shuffle_bytes = j->shuffle_bytes;
        pj.has_output_bytes = 1;
        pj.output_bytes = j->output_bytes;
        pj.has_map_tasks = j->map_tasks != 0;
        pj.map_tasks = j->map_tasks;
        pj.has_reduce_tasks = j->reduce_tasks != 0;
        pj.reduce_tasks = j->reduce_tasks;
        pj.has_map_compute_s = j->map_compute_s >= 0;
        pj.map_compute_s = j->map_compute_s;
        pj.has_reduce_compute_s = j->reduce_compute_s >= 0;
        pj.reduce_compute_s = j->reduce_compute_s;
        r.record_case = LOCUS__TRACE__TRACE_RECORD__RECORD_JOB;
        r.job = &pj;
        rc = put_record(f, &r, &buf, &cap);
    }
    free(refs);
    free(refp);
    free(buf);
    if (rc == LOCUS_ENOMEM)
        snprintf(err, errlen, "%s: out of memory", name);
    else if (rc == LOCUS_EIO)
        snprintf(err, errlen, "%s: write error: %s", name, strerror(errno ? errno : EIO));
    return rc;
}

int sim_trace_write_binary(const sim_trace *t, const char *path, char *err, size_t errlen)
{
    if (!t || !path) {
        snprintf(err, errlen, "%s: no trace to write", path ? path : "trace");
        return LOCUS_EINVAL;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return LOCUS_EIO;
    }
    int rc = sim_trace_write_binary_stream(t, f, path, err, errlen);
    if (fclose(f) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: write error: %s", path, strerror(errno));
        rc = LOCUS_EIO;
    }
    struct stat st;
    if (rc != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
        unlink(path); /* a partial trace must not pass for a whole one */
    return rc;
}
