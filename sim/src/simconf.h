/* locus-sim's model settings: one struct, described once by a table of
 * locus_cfg_key (locus/config.h) that gives the INI parser, range checks,
 * `--set section.key=value` overrides, the example file and the reference
 * table in docs/simulator.md. Every default and where it comes from is
 * documented there.
 */
#ifndef LOCUS_SIM_SIMCONF_H
#define LOCUS_SIM_SIMCONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "locus/config.h"

enum sim_demand_mode { SIM_DEMAND_DATASETS = 0, SIM_DEMAND_BLOCKS = 1 };

enum sim_profile_id { SIM_PROFILE_HADOOP_2009 = 0, SIM_PROFILE_DC_10G = 1, SIM_PROFILE_CLOUD_VM = 2 };

/* A hardware profile: the network.* values it gives. */
typedef struct sim_profile {
    const char *name;
    double nic_gbps, oversubscription, hdd_stream_mbps, hdd_agent_mbps, mem_mbps, mem_agent_mbps;
} sim_profile;

/* A pilot replay covers at least this many jobs and agents (or all). */
#define SIM_PILOT_MIN_JOBS 1000
#define SIM_PILOT_MIN_AGENTS 100
/* Samples a pilot replays (at once on two threads), whose mean stands for the trace. */
#define SIM_PILOT_SAMPLES 1
/* Farther than this from sim.target_load, the first policy's replay of the
 * whole trace corrects the factor once more (all policies replay again). */
#define SIM_LOAD_RECHECK 0.045

typedef struct sim_config {
    /* [sim] */
    int profile;                 /* enum sim_profile_id */
    int64_t seed;
    double time_compression;     /* arrivals at submit / compression; 0 = auto */
    double target_load;          /* busy CPU share aimed at by auto compression */
    int64_t calibration_runs;    /* pilot replays of the first policy that refine it */
    double calibration_share;    /* share of the jobs and agents a pilot replays (at least SIM_PILOT_MIN_*) */
    double max_hours;            /* replay only jobs submitted before this (trace time); 0 = all */
    double skip_hours;           /* leave out jobs submitted before this (trace time); 0 = none */
    int64_t max_jobs;            /* 0 = all */
    double series_bucket_s;      /* 0 = auto */
    /* [cluster] */
    int64_t agents;
    int64_t racks;               /* 0 = ceil(agents / 40) */
    double agent_cpus;
    int64_t agent_mem_mb;
    double alloc_interval_s;
    /* [task] */
    double task_cpus;
    int64_t task_mem_mb;
    double task_overhead_s;
    double map_s_per_mb;
    double reduce_s_per_mb;
    int64_t reduce_bytes;        /* shuffle bytes per reduce task */
    int64_t max_reduce_tasks;
    /* [storage] */
    int64_t block_bytes;
    int64_t replicas;
    int64_t max_map_tasks;       /* per job: bigger blocks beyond this */
    int64_t mem_capacity;        /* bytes of memory tier per agent */
    int cache_on_read;
    double probe_interval_s;
    double confirm_s;
    /* [network] */
    double nic_gbps;
    double oversubscription;
    double hdd_stream_mbps;
    double hdd_agent_mbps;
    double mem_mbps;
    double mem_agent_mbps;
    double rate_update_s;        /* 0: at every instant with a change; T: at most every T s (-1 in the file: alloc_interval_s) */
    /* [framework] */
    double locality_wait_s;
    double refuse_s;
    int demand;                  /* enum sim_demand_mode */
} sim_config;

extern const locus_cfg_key sim_config_keys[];
extern const size_t sim_config_n_keys;

/* Defaults, then the file (NULL: none), then overrides. Returns 0 or a
 * LOCUS_E* code with err naming the file and line or the key. */
int sim_config_load(sim_config *c, const char *path, const locus_cfg_override *ov, size_t n_ov,
                    char *err, size_t errlen);
/* The compression a replay uses: time_compression, or with 0 the factor
 * that brings the trace's estimated CPU demand over its span to target_load
 * of the cluster (at least 1). Estimate: every job's map tasks (one per
 * block) and reduce tasks, each lasting its start-up, compute and a read at
 * one HDD stream's rate. n_jobs: jobs replayed. */
struct sim_trace;
double sim_config_compression(const sim_config *c, const struct sim_trace *t, size_t n_jobs);
/* That estimate's load of the first n_jobs at the trace's own pace (busy
 * CPU-seconds over the cluster's CPUs times their arrival span; x times
 * this at factor x); 0 when it has no span or no work. */
double sim_config_estimated_load(const sim_config *c, const struct sim_trace *t, size_t n_jobs);

/* A profile's constants (an unknown id gives the first). */
const sim_profile *sim_config_profile(int profile);
/* Fills every network value left at 0 from the profile (sim_config_load
 * does this; a config built by hand calls it). */
void sim_config_apply_profile(sim_config *c);

/* Effective racks count. */
uint32_t sim_config_racks(const sim_config *c);

#endif
