/* Replaying one trace under several policies and gathering a sim_report.
 *
 * A policy is an allocator plugin (.so on the locus_allocator ABI) with its
 * create() parameters, plus how the frameworks behave (naive: take any
 * offer; delay: Spark-style delay scheduling). Every policy replays the same
 * trace from the same seed on a fresh cluster, storage model and hint store
 * (its own LMDB environment in a temporary folder, removed afterwards).
 */
#ifndef LOCUS_SIM_REPLAY_H
#define LOCUS_SIM_REPLAY_H

#include <stddef.h>

#include "locus/allocator.h"
#include "report.h"
#include "simconf.h"
#include "trace.h"

typedef struct sim_policy_spec {
    char *name;
    char *plugin_path;
    locus_param *params;   /* keys and values owned by the spec */
    size_t n_params;
    int framework_mode;    /* enum sim_fw_mode (world.h): 0 naive, 1 delay */
    int builtin;           /* a built-in policy: gets policy.seed from the replay's seed */
    int optimal;           /* the min-cost flow bound (optimal.h): no plugin */
} sim_policy_spec;

/* The built-in policies: "drf", "drf+delay", "locality", using the plugin at
 * plugin_path, and "optimal", the min-cost flow bound replayed without one. Returns 0 or LOCUS_EINVAL for another name. */
int sim_policy_builtin(const char *name, const char *plugin_path, sim_policy_spec *out,
                       char *err, size_t errlen);
/* Parses "NAME=PLUGIN_PATH[:key=value,...]". The key `sim.framework`
 * (naive|delay) sets the framework behaviour and is not passed to the plugin.
 * Returns 0 or LOCUS_EINVAL with err. */
int sim_policy_parse(const char *spec, sim_policy_spec *out, char *err, size_t errlen);
void sim_policy_spec_free(sim_policy_spec *p);

typedef struct sim_run_opts {
    const char *hints_dir;        /* parent of the temporary hint stores; NULL: $TMPDIR or /tmp */
    const char *allocator_config; /* config file passed to every plugin's create(); NULL: none */
    int progress;                 /* progress line on stderr */
    int verbose;                  /* plugin INFO logs */
    int threads;                  /* policies replayed at once; 0 = one per online CPU */
} sim_run_opts;

/* Replays the trace under each policy. *out gets a report to release with
 * sim_report_free. Returns 0 or a LOCUS_E* code with err. */
int sim_run(const sim_trace *t, const char *trace_path, const sim_config *cfg,
            const sim_policy_spec *pols, size_t n_pols, const sim_run_opts *opts,
            sim_report **out, char *err, size_t errlen);

/* The trace `locus-sim run` replays when none is given (the FB-2009 copy
 * shipped in sim/traces/). */
const char *sim_default_trace(void);

/* How many jobs of the trace a config replays (max_jobs, max_hours). */
size_t sim_jobs_replayed(const sim_trace *t, const sim_config *cfg);

#endif
