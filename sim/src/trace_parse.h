/* Internal to the trace loaders (trace.c, trace_swim.c, trace_binary.c) and
 * their tests: the job builder both parsers feed, the per-format parsers over
 * a FILE *, loading from memory (for the fuzz target) and the binary encoder
 * over a stream.
 */
#ifndef LOCUS_SIM_TRACE_PARSE_H
#define LOCUS_SIM_TRACE_PARSE_H

#include <stdio.h>

#include "trace.h"

/* Collects jobs in file order, applies the load limits and checks what both
 * formats require: non-decreasing submit times, unique job ids. */
typedef struct sim_trace_builder {
    sim_trace *t;
    size_t cap;
    uint64_t *origin;       /* line (SWIM) or record number (binary) of each job */
    size_t *ids;            /* open-addressing set of job indexes + 1, keyed by id */
    size_t ids_cap;         /* power of two */
    size_t max_jobs;
    double max_submit_s;
    double skip_submit_s;
    double first_seen, last_seen; /* submit times of the first and the last job read */
    int seen;               /* a job was read (added or skipped) */
    int stopped;            /* a load limit was reached: read no further */
} sim_trace_builder;

enum {
    SIM_TB_ADDED = 0,
    SIM_TB_STOP = 1,        /* job not added: beyond max_jobs / max_submit_s */
    SIM_TB_EORDER = 2,      /* submit time earlier than the previous job's */
    SIM_TB_EDUP = 3,        /* job id already used (its origin in *dup_origin) */
    SIM_TB_SKIPPED = 4      /* job not added: before skip_submit_s; read on */
};

int sim_tb_init(sim_trace_builder *b, const char *source, sim_trace_format format,
                const sim_trace_load_opts *opts);
/* Appends *job (moving its heap fields into the trace) and zeroes *job on
 * SIM_TB_ADDED. On any other result *job is left to the caller. Returns
 * SIM_TB_* or LOCUS_ENOMEM. */
int sim_tb_add(sim_trace_builder *b, sim_job *job, uint64_t origin, uint64_t *dup_origin);
/* Submit time of the last job read, added or skipped (0 before any). */
double sim_tb_last_submit(const sim_trace_builder *b);
/* When jobs were read but the skip left none: LOCUS_EINVAL with err saying
 * so (name: the file); else 0. */
int sim_tb_all_skipped(const sim_trace_builder *b, const char *name, char *err, size_t errlen);
/* Hands over the trace; the builder is empty afterwards. */
sim_trace *sim_tb_finish(sim_trace_builder *b);
void sim_tb_discard(sim_trace_builder *b);

/* Frees a job's heap fields and zeroes it. */
void sim_job_clear(sim_job *j);

/* Parsers: read f to its end (or a load limit) into b. name is used in
 * messages. Return 0 or LOCUS_EPARSE / LOCUS_EIO / LOCUS_ENOMEM with err. */
int sim_trace_parse_swim(FILE *f, const char *name, sim_trace_builder *b, char *err, size_t errlen);
int sim_trace_parse_binary(FILE *f, const char *name, sim_trace_builder *b, char *err, size_t errlen);

/* Format of a trace from its first bytes: SIM_TRACE_BINARY if they hold
 * bytes no text file has (the binary header's field tags), else SWIM. */
sim_trace_format sim_trace_detect(const unsigned char *head, size_t n);

/* sim_trace_load over a buffer; name stands for the path in messages and in
 * t->source. */
int sim_trace_load_mem(const void *data, size_t size, const char *name,
                       const sim_trace_load_opts *opts, sim_trace **out, char *err, size_t errlen);

/* Writes t as a binary trace to f (the body of sim_trace_write_binary).
 * Returns 0, LOCUS_EINVAL (a job without an id), LOCUS_ENOMEM or LOCUS_EIO. */
int sim_trace_write_binary_stream(const sim_trace *t, FILE *f, const char *name, char *err,
                                  size_t errlen);

/* Compares the jobs of two traces field by field (doubles bit for bit) and
 * default_block_bytes; source and format are not compared. Returns 0 if
 * equal, else 1 with what differs (job index and field) in why. */
int sim_trace_diff(const sim_trace *a, const sim_trace *b, char *why, size_t whylen);

/* 'text' for a message: at most max_shown bytes, non-printable bytes as \xNN. */
void sim_trace_quote(char *dst, size_t cap, const char *s, size_t len);

#endif
