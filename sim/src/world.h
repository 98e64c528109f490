/* The state of one policy's replay, shared by the replay loop (replay.c),
 * the frameworks (framework.c) and the metrics (metrics.c). Internal to
 * locus-sim.
 */
#ifndef LOCUS_SIM_WORLD_H
#define LOCUS_SIM_WORLD_H

#include <stdint.h>
#include <stdio.h>

#include "cluster.h"
#include "engine.h"
#include "locus/allocator_loader.h"
#include "network.h"
#include "report.h"
#include "simconf.h"
#include "storage.h"
#include "trace.h"

enum sim_fw_mode { SIM_FW_NAIVE = 0, SIM_FW_DELAY = 1 };

enum sim_event_type {
    SIM_EV_ARRIVAL = 1,  /* a = job */
    SIM_EV_TICK = 2,     /* allocation cycle */
    SIM_EV_FINISH = 3,   /* a = job, b = task */
    SIM_EV_PROBE = 4,    /* hint store publish */
    SIM_EV_FLOW = 5,     /* a = flow, b = its version: the flow's bytes are all read */
    SIM_EV_RATES = 6     /* network.rate_update_s > 0: recompute flow rates */
};

enum sim_task_state { SIM_TASK_PENDING = 0, SIM_TASK_RUNNING = 1, SIM_TASK_DONE = 2 };

typedef struct sim_task {
    uint64_t bytes;      /* bytes it reads (map: of its block; reduce: its shuffle share) */
    double start;
    uint32_t block;      /* SIM_NONE: no block (reduce, or a map without input) */
    uint32_t agent;      /* where it ran */
    sim_flow flow;
    uint32_t flow_id;    /* its read in the network model, while it runs */
    double rest;         /* start-up and compute: they follow the read */
    uint8_t state, reduce, level;
} sim_task;

/* A (key, task) pair of a job's locality index: key is an agent or a rack. */
typedef struct sim_pref {
    uint32_t key, task;
} sim_pref;

typedef struct sim_job_rt {
    char fwid[40];
    uint8_t state;           /* 0 waiting, 1 active, 2 done */
    uint8_t phase;           /* 0 maps, 1 reduces */
    uint8_t suppressed, demand_dirty, demanding;
    double submit, finish;
    double first_launch, reduce_ready, first_reduce; /* < 0: not yet */
    double ideal_s;                    /* its time alone on the empty cluster */
    uint64_t input_bytes;
    sim_task *tasks;
    uint32_t n_tasks, n_maps, n_reduces;
    uint32_t pending, running, done;   /* of the current phase */
    uint32_t pending_pref;             /* pending tasks with a preferred location */
    uint64_t pending_bytes;
    sim_pref *node_prefs, *rack_prefs; /* sorted by (key, task) */
    uint32_t n_node_prefs, n_rack_prefs;
    uint32_t *rack_cursor;             /* per rack: first maybe-pending entry in rack_prefs */
    uint32_t any_cursor;
    int loc_index;                     /* delay scheduling: current locality level */
    double last_reset;                 /* delay scheduling: last launch or wait expiry */
    double cpus, mem;
    uint32_t active_pos;
    uint32_t *datasets;                /* its inputs' datasets (storage ids) */
    uint32_t n_datasets;
} sim_job_rt;

/* An offer copied out of the plugin's list (which the next call invalidates). */
typedef struct sim_offer_copy {
    const char *fw, *agent;
    double cpus, mem;
} sim_offer_copy;

typedef struct sim_world {
    const sim_config *cfg;
    const sim_trace *trace;
    size_t n_jobs;                     /* jobs replayed */
    int mode;                          /* enum sim_fw_mode */
    int optimal;                       /* the optimal policy: the replay assigns tasks itself */
    const char *name;
    sim_engine eng;
    sim_rng rng;
    sim_cluster cl;
    sim_network net;
    sim_storage st;
    struct locus_hs *hs;
    const locus_allocator_api *api;
    locus_allocator *alloc;
    sim_job_rt *jobs;
    uint32_t *active;                  /* jobs arrived and not done */
    size_t n_active;
    size_t next_arrival;
    size_t jobs_done;
    int tick_scheduled;
    double series_bucket_s;
    size_t series_cap;
    sim_policy_result *res;
    /* accumulators */
    double busy_cpu_s;
    double jain_sum;
    uint64_t jain_cycles;
    double *cycle_cpu;                 /* allocator CPU time per cycle */
    size_t n_cycle_cpu, cap_cycle_cpu;
    double first_submit, last_finish;
    double last_submit;                /* arrival window: [first_submit, last_submit] */
    double busy_in_window_cpu_s;       /* busy cpu-seconds inside the arrival window */
    /* scratch */
    sim_block_read *reads;
    size_t cap_reads;
    locus_demand_item *demand;
    size_t cap_demand;
    sim_offer_copy *offer_buf;
    size_t cap_offer_buf;
    char *offer_str;
    size_t cap_offer_str;
    double last_progress;              /* last time a task started or finished */
    uint64_t launched;                 /* tasks launched so far */
    int rates_scheduled;               /* a SIM_EV_RATES event is pending */
    int verbose;
    struct sim_board *board;           /* shared progress line */
    size_t slot;
    char err[512];
} sim_world;

/* framework.c */
int sim_fw_arrive(sim_world *w, uint32_t job);
/* Handles one offer: launches what the framework wants, gives the rest back. */
int sim_fw_offer(sim_world *w, const sim_offer_copy *o);
int sim_fw_finish(sim_world *w, uint32_t job, uint32_t task);
/* A task's read flow is done: it finishes after its start-up and compute. */
int sim_fw_read_done(sim_world *w, uint32_t job, uint32_t task);
/* Starts a pending task on agent (the optimal policy's launches; offers go
 * through sim_fw_offer). */
int sim_fw_launch(sim_world *w, uint32_t job, uint32_t task, uint32_t agent);
/* Before a cycle: pushes changed demand. After: suppresses idle frameworks. */
int sim_fw_before_cycle(sim_world *w);
int sim_fw_after_cycle(sim_world *w);
void sim_fw_free_job(sim_job_rt *j);
/* Before a publish: frameworks still waiting for input keep its hints fresh. */
int sim_fw_confirm_demand(sim_world *w);

/* metrics.c */
int sim_series_add(sim_world *w, double *(*arr), double t, double value);
/* Adds value spread evenly over [t0, t1] across the buckets it covers. */
int sim_series_add_span(sim_world *w, double *(*arr), double t0, double t1, double value);
void sim_metrics_cycle(sim_world *w);
int sim_metrics_finish(sim_world *w);

#endif
