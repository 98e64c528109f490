/* Fuzz target: one of locus-sim's trace parsers, chosen at build time
 * (FUZZ_FORMAT=SIM_TRACE_SWIM for SWIM tab-separated files,
 * SIM_TRACE_BINARY for Locus binary traces), through sim_trace_load_mem,
 * the same code that reads a file. A failed load must give no trace and a
 * message; a loaded trace must keep the rules the replay relies on
 * (non-decreasing submit times, a job id on every job) and come back
 * unchanged through the binary writer and reader. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "trace.h"
#include "trace_parse.h"

#ifndef FUZZ_FORMAT
#error "FUZZ_FORMAT names the trace format (SIM_TRACE_SWIM or SIM_TRACE_BINARY)"
#endif

static void check_round_trip(const sim_trace *t)
{
    char *buf = NULL, err[512], why[200];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    int rc = sim_trace_write_binary_stream(t, f, "fuzz.ltrace", err, sizeof err);
    fclose(f);
    if (rc) {
        fprintf(stderr, "fuzz: writing a loaded trace failed: %s\n", err);
        abort();
    }
    sim_trace *back = NULL;
    sim_trace_load_opts o = {.format = SIM_TRACE_BINARY};
    rc = sim_trace_load_mem(buf, len, "fuzz.ltrace", &o, &back, err, sizeof err);
    if (rc && t->n_jobs > 0) {
        fprintf(stderr, "fuzz: reading back a written trace failed: %s\n", err);
        abort();
    }
    if (rc == 0 && sim_trace_diff(t, back, why, sizeof why)) {
        fprintf(stderr, "fuzz: the round trip changed the trace: %s\n", why);
        abort();
    }
    sim_trace_free(back);
    free(buf);
}

/* The same input with a window (skip the first half of its span, keep a
 * quarter after that): the jobs loaded are the full trace's, in a row,
 * inside the window; or, when the skip leaves none, an error naming it. */
static void check_window(const uint8_t *data, size_t size, const sim_trace *t)
{
    if (t->n_jobs == 0)
        return;
    double first = t->jobs[0].submit_s, span = t->jobs[t->n_jobs - 1].submit_s - first;
    if (!(span > 0))
        return;
    sim_trace_load_opts o = {.format = FUZZ_FORMAT, .skip_submit_s = span / 2,
                             .max_submit_s = span / 4};
    sim_trace *w = NULL;
    char err[512] = "";
    int rc = sim_trace_load_mem(data, size, "fuzz", &o, &w, err, sizeof err);
    if (rc) {
        if (w || !strstr(err, "fuzz"))
            abort();
        return;
    }
    size_t k = 0;
    while (k < t->n_jobs && t->jobs[k].submit_s - first < o.skip_submit_s)
        k++;
    if (w->n_jobs == 0 || k + w->n_jobs > t->n_jobs)
        abort();
    for (size_t i = 0; i < w->n_jobs; i++)
        if (strcmp(w->jobs[i].id, t->jobs[k + i].id) != 0 ||
            w->jobs[i].submit_s - w->jobs[0].submit_s > o.max_submit_s)
            abort();
    sim_trace_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sim_trace_load_opts o = {.format = FUZZ_FORMAT};
    sim_trace *t = NULL;
    char err[512] = "";
    int rc = sim_trace_load_mem(data, size, "fuzz", &o, &t, err, sizeof err);
    if (rc) {
        if (t || !err[0] || !strstr(err, "fuzz"))
            abort(); /* no trace, and a message naming the input */
        return 0;
    }
    for (size_t i = 0; i < t->n_jobs; i++) {
        if (!t->jobs[i].id || (i > 0 && t->jobs[i].submit_s < t->jobs[i - 1].submit_s))
            abort();
    }
    check_round_trip(t);
    check_window(data, size, t);
    sim_trace_free(t);
    return 0;
}
