/* The table of locus-sim model settings (see simconf.h). One row per key:
 * the parser, the docs and the example file all come from this table, so
 * they cannot drift apart. Where each default comes from is written in
 * docs/simulator.md next to the generated reference.
 */
#include "simconf.h"

#include <math.h>
#include <stddef.h>

#include "trace.h"

#define K(sec, name, type, field, def, lo, hi, unit, help) \
    { sec, name, type, offsetof(sim_config, field), def, lo, hi, unit, NULL, help }

static const char *const demand_choices[] = { "datasets", "blocks", NULL };

static const char *const profile_choices[] = { "hadoop-2009", "datacenter-10g", "cloud-vm", NULL };

const locus_cfg_key sim_config_keys[] = {
    { "sim", "profile", LOCUS_CFG_ENUM, offsetof(sim_config, profile), "hadoop-2009", 0, 0, "",
      profile_choices,
      "Hardware profile giving every network.* value left at 0: hadoop-2009 (1 GbE, local disks), "
      "datacenter-10g (10 GbE, local disks), cloud-vm (a few Gb/s, network-attached disks)" },
    K("sim", "seed", LOCUS_CFG_INT, seed, "1", 0, 9.2e18, "",
      "Seed of every random choice (replica placement, tie breaks); same seed, same report"),
    K("sim", "time_compression", LOCUS_CFG_DOUBLE, time_compression, "0", 0, 1e6, "x",
      "Divides every submit time: 2 replays the trace twice as fast (twice the load); "
      "0 = auto: as fast as needed for target_load, never slower than real time"),
    K("sim", "target_load", LOCUS_CFG_DOUBLE, target_load, "0.25", 0.001, 10, "share",
      "With time_compression 0: the offered load the replay aims at (busy CPU-seconds over the cluster's CPUs times the arrival span), "
      "estimated from the trace and the task model"),
    K("sim", "calibration_runs", LOCUS_CFG_INT, calibration_runs, "4", 0, 20, "replays",
      "With time_compression 0: at most this many replays of the first policy refine the estimate "
      "until its measured offered load is within 2 points of target_load (the last one is its result); "
      "0 = the estimate alone"),
    K("sim", "calibration_share", LOCUS_CFG_DOUBLE, calibration_share, "0.125", 0.001, 1, "share",
      "Share of the jobs and agents a pilot replay covers: every k-th job (k = 1 / share) on 1/k of "
      "the agents, at least 1,000 jobs and 100 agents; 1 = pilots replay everything"),
    K("sim", "max_hours", LOCUS_CFG_DOUBLE, max_hours, "0", 0, 1e6, "h",
      "Replays only jobs submitted in the first H hours after the first job replayed (the trace's "
      "first, or the first after sim.skip_hours); 0 = the whole trace"),
    K("sim", "skip_hours", LOCUS_CFG_DOUBLE, skip_hours, "0", 0, 1e6, "h",
      "Leaves out the jobs submitted in the first H hours after the trace's first job (with "
      "max_hours, a window: skip 4 and max 4 replay hours 4-8); 0 = none"),
    K("sim", "max_jobs", LOCUS_CFG_INT, max_jobs, "0", 0, 1e9, "jobs",
      "Replays only the first N jobs; 0 = all"),
    K("sim", "series_bucket_s", LOCUS_CFG_DOUBLE, series_bucket_s, "0", 0, 1e9, "s",
      "Width of one time-series bucket in the report; 0 = the replayed span / 200"),
    K("cluster", "agents", LOCUS_CFG_INT, agents, "600", 1, 1000000, "agents",
      "Number of Mesos agents (600: the FB-2009 cluster)"),
    K("cluster", "racks", LOCUS_CFG_INT, racks, "0", 0, 1000000, "racks",
      "Number of racks, agents spread round-robin; 0 = one rack per 40 agents"),
    K("cluster", "agent_cpus", LOCUS_CFG_DOUBLE, agent_cpus, "8", 0.01, 1e6, "cpus",
      "CPUs of every agent"),
    K("cluster", "agent_mem_mb", LOCUS_CFG_INT, agent_mem_mb, "16384", 1, 1e9, "MB",
      "Memory of every agent offered to tasks"),
    K("cluster", "alloc_interval_s", LOCUS_CFG_DOUBLE, alloc_interval_s, "1", 0.001, 3600, "s",
      "Allocation interval of the master (Mesos --allocation_interval, default 1 s)"),
    K("task", "cpus", LOCUS_CFG_DOUBLE, task_cpus, "1", 0.001, 1e6, "cpus", "CPUs of every task"),
    K("task", "mem_mb", LOCUS_CFG_INT, task_mem_mb, "2048", 1, 1e9, "MB", "Memory of every task"),
    K("task", "overhead_s", LOCUS_CFG_DOUBLE, task_overhead_s, "1", 0, 3600, "s",
      "Fixed start-up time of every task"),
    K("task", "map_s_per_mb", LOCUS_CFG_DOUBLE, map_s_per_mb, "0.1", 0, 1000, "s/MB",
      "Map compute time per MB of input (after reading it)"),
    K("task", "reduce_s_per_mb", LOCUS_CFG_DOUBLE, reduce_s_per_mb, "0.05", 0, 1000, "s/MB",
      "Reduce compute time per MB of shuffle input"),
    K("task", "reduce_bytes", LOCUS_CFG_INT, reduce_bytes, "1G", 1, 1e15, "bytes",
      "Shuffle bytes per reduce task (Hive hive.exec.reducers.bytes.per.reducer)"),
    K("task", "max_reduce_tasks", LOCUS_CFG_INT, max_reduce_tasks, "999", 1, 1e7, "tasks",
      "Most reduce tasks per job (Hive hive.exec.reducers.max)"),
    K("storage", "block_bytes", LOCUS_CFG_INT, block_bytes, "128M", 1, 1e15, "bytes",
      "Block size of a dataset (HDFS dfs.blocksize)"),
    K("storage", "replicas", LOCUS_CFG_INT, replicas, "3", 1, 16, "copies",
      "HDD replicas of every block, rack-aware as HDFS places them (dfs.replication)"),
    K("storage", "max_map_tasks", LOCUS_CFG_INT, max_map_tasks, "2000", 1, 1e8, "tasks",
      "Most blocks (map tasks) per dataset: a larger dataset gets bigger blocks"),
    K("storage", "mem_capacity", LOCUS_CFG_INT, mem_capacity, "4G", 0, 1e15, "bytes",
      "Memory tier of every agent (LRU); 0 = no memory tier"),
    K("storage", "cache_on_read", LOCUS_CFG_BOOL, cache_on_read, "true", 0, 1, "",
      "A read caches the block in the reader's memory tier (Alluxio CACHE read type)"),
    K("storage", "probe_interval_s", LOCUS_CFG_DOUBLE, probe_interval_s, "5", 0.001, 86400, "s",
      "How often the storage model publishes placement into the hint store"),
    K("storage", "confirm_s", LOCUS_CFG_DOUBLE, confirm_s, "30", 0, 86400, "s",
      "A dataset some framework still waits for is re-written (confirmed) when its hints are "
      "this old, as a probe's full poll would (half the allocator's 60 s hints.staleness)"),
    K("network", "nic_gbps", LOCUS_CFG_DOUBLE, nic_gbps, "0", 0, 1e6, "Gbit/s",
      "NIC bandwidth of every agent, each direction; 0 = the profile's"),
    K("network", "oversubscription", LOCUS_CFG_DOUBLE, oversubscription, "0", 0, 1000, "ratio",
      "Rack uplink oversubscription: uplink = agents in rack x NIC / ratio; 0 = the profile's"),
    K("network", "hdd_stream_mbps", LOCUS_CFG_DOUBLE, hdd_stream_mbps, "0", 0, 1e6, "MB/s",
      "Read rate of one disk stream (one flow's cap); 0 = the profile's"),
    K("network", "hdd_agent_mbps", LOCUS_CFG_DOUBLE, hdd_agent_mbps, "0", 0, 1e6, "MB/s",
      "Disk read bandwidth of one agent, max-min shared by its concurrent reads; 0 = the profile's"),
    K("network", "mem_mbps", LOCUS_CFG_DOUBLE, mem_mbps, "0", 0, 1e7, "MB/s",
      "Read rate of one copy from a memory tier (one flow's cap); 0 = the profile's"),
    K("network", "mem_agent_mbps", LOCUS_CFG_DOUBLE, mem_agent_mbps, "0", 0, 1e7, "MB/s",
      "Memory-tier read bandwidth of one agent, shared by its concurrent reads; 0 = the profile's"),
    K("network", "rate_update_s", LOCUS_CFG_DOUBLE, rate_update_s, "-1", -1, 60, "s",
      "When flow rates are recomputed: -1 = once per allocation interval (cluster.alloc_interval_s), "
      "at the instants tasks and so flows start; 0 = at every instant a flow starts or ends (exact "
      "max-min); T > 0 = at most every T s. Batched, an ended flow's bandwidth stays unused until "
      "the next recomputation, so no link is ever over capacity"),
    K("framework", "locality_wait_s", LOCUS_CFG_DOUBLE, locality_wait_s, "3", 0, 3600, "s",
      "Delay scheduling wait per locality level (spark.locality.wait)"),
    K("framework", "refuse_s", LOCUS_CFG_DOUBLE, refuse_s, "5", 0, 3600, "s",
      "Refuse filter on declined resources (Mesos Filters.refuse_seconds default)"),
    { "framework", "demand", LOCUS_CFG_ENUM, offsetof(sim_config, demand), "blocks", 0, 0, "",
      demand_choices,
      "What a framework tells the allocator it will read: whole datasets or pending blocks" },
};
const size_t sim_config_n_keys = sizeof sim_config_keys / sizeof sim_config_keys[0];

/* The profiles' constants; docs/simulator.md gives the source of each. */
static const sim_profile profiles[] = {
    /* nic   oversub  hdd stream  hdd agent  mem   mem agent */
    { "hadoop-2009", 1.0, 10.0, 100.0, 400.0, 2000.0, 10000.0 },
    { "datacenter-10g", 10.0, 5.0, 100.0, 400.0, 2000.0, 10000.0 },
    { "cloud-vm", 5.0, 1.0, 125.0, 250.0, 4000.0, 20000.0 },
};

const sim_profile *sim_config_profile(int profile)
{
    if (profile < 0 || (size_t)profile >= sizeof profiles / sizeof profiles[0])
        return &profiles[0];
    return &profiles[profile];
}

void sim_config_apply_profile(sim_config *c)
{
    const sim_profile *p = sim_config_profile(c->profile);
    if (c->nic_gbps <= 0)
        c->nic_gbps = p->nic_gbps;
    if (c->oversubscription <= 0)
        c->oversubscription = p->oversubscription;
    if (c->hdd_stream_mbps <= 0)
        c->hdd_stream_mbps = p->hdd_stream_mbps;
    if (c->hdd_agent_mbps <= 0)
        c->hdd_agent_mbps = p->hdd_agent_mbps;
    if (c->mem_mbps <= 0)
        c->mem_mbps = p->mem_mbps;
    if (c->mem_agent_mbps <= 0)
        c->mem_agent_mbps = p->mem_agent_mbps;
    if (c->oversubscription < 1)
        c->oversubscription = 1;
}

int sim_config_load(sim_config *c, const char *path, const locus_cfg_override *ov, size_t n_ov,
                    char *err, size_t errlen)
{
    int rc = locus_cfg_load(sim_config_keys, sim_config_n_keys, c, sizeof *c, path, ov, n_ov, err,
                            errlen);
    /* Every network value left at 0 comes from the profile, so the rest of
     * the simulator (and the report) sees the effective values. */
    if (rc == 0)
        sim_config_apply_profile(c);
    /* The report states the interval used, not the -1 that picked it. */
    if (rc == 0 && c->rate_update_s < 0)
        c->rate_update_s = c->alloc_interval_s;
    return rc;
}

double sim_config_estimated_load(const sim_config *c, const sim_trace *t, size_t n_jobs)
{
    if (n_jobs < 2)
        return 0;
    const double mb = 1048576.0;
    double bb = (double)c->block_bytes, busy = 0;
    for (size_t i = 0; i < n_jobs; i++) {
        const sim_job *j = &t->jobs[i];
        double in = 0;
        for (size_t k = 0; k < j->n_inputs; k++)
            in += (double)j->inputs[k].bytes;
        double maps = in > 0 ? ceil(in / bb) : 1;
        if (maps > (double)c->max_map_tasks)
            maps = (double)c->max_map_tasks;
        double reduces = ceil((double)j->shuffle_bytes / (double)c->reduce_bytes);
        if (reduces > (double)c->max_reduce_tasks)
            reduces = (double)c->max_reduce_tasks;
        busy += maps * c->task_overhead_s + in / mb * (c->map_s_per_mb + 1.0 / c->hdd_stream_mbps);
        busy += reduces * c->task_overhead_s + (double)j->shuffle_bytes / mb * c->reduce_s_per_mb;
        busy += (double)j->shuffle_bytes / (c->nic_gbps * 1e9 / 8.0);
    }
    busy *= c->task_cpus;
    double span = t->jobs[n_jobs - 1].submit_s - t->jobs[0].submit_s;
    double cpus = (double)c->agents * c->agent_cpus;
    if (span <= 0 || busy <= 0)
        return 0;
    return busy / (cpus * span);
}

double sim_config_compression(const sim_config *c, const sim_trace *t, size_t n_jobs)
{
    if (c->time_compression > 0)
        return c->time_compression;
    double load = sim_config_estimated_load(c, t, n_jobs);
    if (load <= 0)
        return 1.0;
    double x = c->target_load / load;
    if (x < 1.0)
        x = 1.0;
    return round(x * 10.0) / 10.0; /* one decimal: readable in the report */
}

uint32_t sim_config_racks(const sim_config *c)
{
    int64_t r = c->racks > 0 ? c->racks : (c->agents + 39) / 40;
    if (r < 1)
        r = 1;
    if (r > c->agents)
        r = c->agents;
    return (uint32_t)r;
}
