/* Workload traces for locus-sim: the in-memory form every loader produces and
 * the engine replays.
 *
 * Loaders: SWIM tab-separated files (FB-2009, FB-2010 withInputPaths) and
 * Locus's binary trace (length-delimited protobuf-c TraceRecord, see
 * proto/locus_trace.proto). The format is detected from the content. A
 * malformed line or record is an error naming the file and line (SWIM) or
 * record number and byte offset (binary). docs/traces.md describes both.
 */
#ifndef LOCUS_SIM_TRACE_H
#define LOCUS_SIM_TRACE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_dataset_ref {
    char *name;             /* SWIM FB-2010: the input path; FB-2009: "<job id>.input" */
    uint64_t bytes;
    uint64_t block_bytes;   /* 0 = the trace's default_block_bytes, or the sim's config */
} sim_dataset_ref;

typedef struct sim_job {
    char *id;
    double submit_s;        /* seconds from the start of the trace, non-decreasing */
    char *role;             /* "*" when the trace names none */
    char *framework;        /* NULL: one framework per job, named by the job id */
    sim_dataset_ref *inputs;
    size_t n_inputs;        /* 0: a job with no map input */
    uint64_t shuffle_bytes;
    uint64_t output_bytes;
    uint32_t map_tasks;     /* 0 = derive: one per input block */
    uint32_t reduce_tasks;  /* 0 = derive from shuffle bytes */
    double map_compute_s;   /* < 0 = derive from the model */
    double reduce_compute_s;/* < 0 = derive from the model */
} sim_job;

typedef enum sim_trace_format { SIM_TRACE_AUTO = 0, SIM_TRACE_SWIM, SIM_TRACE_BINARY } sim_trace_format;

typedef struct sim_trace {
    sim_job *jobs;
    size_t n_jobs;
    char *source;               /* path it was read from */
    sim_trace_format format;
    uint64_t default_block_bytes; /* 0 = unset */
} sim_trace;

typedef struct sim_trace_load_opts {
    sim_trace_format format;    /* SIM_TRACE_AUTO detects */
    size_t max_jobs;            /* 0 = all */
    double max_submit_s;        /* <= 0 = all; jobs submitted more than this after
                                 * the first job loaded are not loaded */
    double skip_submit_s;       /* <= 0 = none; jobs submitted less than this after
                                 * the file's first job are read (and checked for
                                 * order) but not loaded */
} sim_trace_load_opts;

/* Loads a trace. Returns 0, or LOCUS_EPARSE / LOCUS_EIO / LOCUS_ENOMEM with
 * err naming the file and line or record offset. *out is NULL on failure. */
int sim_trace_load(const char *path, const sim_trace_load_opts *opts, sim_trace **out,
                   char *err, size_t errlen);
/* Writes a trace as a Locus binary trace. Returns 0 or LOCUS_EIO with err. */
int sim_trace_write_binary(const sim_trace *t, const char *path, char *err, size_t errlen);
void sim_trace_free(sim_trace *t);

#endif
