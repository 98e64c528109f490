/* The allocator's config: one key table read by the shared table-driven
 * parser (locus/config.h), so the file format, range checks, error messages
 * (file:line: section.key: why), module-parameter overrides and the generated
 * reference all come from this single description. Rules that relate two
 * keys (tier weights must keep MEM >= SSD >= HDD) are checked after parsing,
 * on a scratch copy, so a bad file still leaves the previous config intact. */
#include "la_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"

static const char *const policy_names[] = {"drf", "locality", NULL};
static const char *const clock_names[] = {"host", "wall", NULL};

#define K(sec, nm, ty, field, def, lo, hi, unit, ch, help) \
    {sec, nm, ty, offsetof(la_config, field), def, lo, hi, unit, ch, help}

const locus_cfg_key la_config_keys[] = {
    K("policy", "name", LOCUS_CFG_ENUM, policy, "locality", 0, 0, "", policy_names,
      "Policy: drf (Mesos hierarchical weighted DRF, the baseline) or locality (same fairness, "
      "agents ranked by cached input)."),
    K("policy", "seed", LOCUS_CFG_INT, seed, "1", 0, 4294967295.0, "",
      NULL, "Seed of the random agent order of each allocation cycle."),
    K("policy", "fairness_slack", LOCUS_CFG_DOUBLE, fairness_slack, "0", 0, 1, "share", NULL,
      "locality, frameworks that gave no task size: those whose dominant share is within this "
      "much of the lowest may take a whole agent holding their data out of DRF order; 0 = strict "
      "DRF order (any slack lets them hold back frameworks without cached data)."),
    K("policy", "min_allocatable_cpus", LOCUS_CFG_DOUBLE, min_cpus, "0.01", 0, 1e6, "cpus", NULL,
      "An agent is offered only if it has at least this many free cpus or min_allocatable_mem "
      "free memory (Mesos's min_allocatable_resources)."),
    K("policy", "min_allocatable_mem", LOCUS_CFG_DOUBLE, min_mem, "32", 0, 1e12, "MB", NULL,
      "See min_allocatable_cpus."),

    K("locality", "wait_node", LOCUS_CFG_DOUBLE, wait_node, "3", 0, 3600, "s", NULL,
      "Delay scheduling: a framework whose input is cached on some agent is held back from other "
      "agents for this long (host time)."),
    K("locality", "wait_rack", LOCUS_CFG_DOUBLE, wait_rack, "3", 0, 3600, "s", NULL,
      "After wait_node, rack-local agents are accepted; after a further wait_rack, any agent."),
    K("locality", "weight_mem", LOCUS_CFG_DOUBLE, weight_mem, "1.0", 0, 1000, "", NULL,
      "Score weight of a demanded byte cached in memory on the agent."),
    K("locality", "weight_ssd", LOCUS_CFG_DOUBLE, weight_ssd, "0.5", 0, 1000, "", NULL,
      "Score weight of a demanded byte cached on SSD (at most weight_mem)."),
    K("locality", "weight_hdd", LOCUS_CFG_DOUBLE, weight_hdd, "0.25", 0, 1000, "", NULL,
      "Score weight of a demanded byte on HDD (at most weight_ssd)."),
    K("locality", "rack_bonus", LOCUS_CFG_DOUBLE, rack_bonus, "0.1", 0, 1000, "", NULL,
      "Score weight of a demanded byte cached on another agent of the same rack."),
    K("locality", "read_mbps_mem", LOCUS_CFG_DOUBLE, read_mbps[LA_READ_MEM], "2000", 1, 1e6,
      "MB/s", NULL,
      "Read model: one task reading a local memory copy (a JVM task deserialising from a local "
      "memory tier, Alluxio short-circuit reads). With the other read_mbps keys and nic_mbps it "
      "decides how long waiting for a copy can pay: at most the read time the copy saves."),
    K("locality", "read_mbps_ssd", LOCUS_CFG_DOUBLE, read_mbps[LA_READ_SSD], "500", 1, 1e6,
      "MB/s", NULL, "Read model: one task reading a local SATA SSD copy."),
    K("locality", "read_mbps_hdd", LOCUS_CFG_DOUBLE, read_mbps[LA_READ_HDD], "100", 1, 1e6,
      "MB/s", NULL, "Read model: one task reading a local disk copy (one 7,200 rpm SATA disk "
      "stream)."),
    K("locality", "nic_mbps", LOCUS_CFG_DOUBLE, nic_mbps, "117", 1, 1e6, "MB/s", NULL,
      "Read model: an agent's network rate (117 MB/s = 1 GbE payload). A task reading a copy on "
      "another agent is taken to get this over the tasks one agent runs at once (its cpus over "
      "the task's): 14.6 MB/s for 8 one-cpu tasks on 1 GbE, 146 MB/s on 10 GbE - faster than a "
      "disk stream, so there waiting for locality saves no time."),

    K("hints", "path", LOCUS_CFG_STRING, hints_path, "", 0, 0, "path", NULL,
      "Hint store folder opened read-only when the host lends none; empty = no hints (locality "
      "then runs as drf)."),
    K("hints", "staleness", LOCUS_CFG_DOUBLE, staleness, "60", 0.001, 1e9, "s", NULL,
      "Hints (per dataset or block) older than this are ignored; a wholly stale store makes the "
      "cycle run as drf."),
    K("hints", "retry_interval", LOCUS_CFG_DOUBLE, retry_interval, "5", 0, 3600, "s", NULL,
      "How often (host time) to retry opening a hint store that is missing or unreadable."),
    K("hints", "clock", LOCUS_CFG_ENUM, clock, "host", 0, 0, "", clock_names,
      "Clock of the hint timestamps (writer ms): host = the host's now (the simulator writes its "
      "simulated clock; the Mesos adapter passes wall-clock seconds), wall = the wall clock."),

    K("filters", "default_refuse", LOCUS_CFG_DOUBLE, default_refuse, "5", 0, 31536000, "s", NULL,
      "Refuse filter installed by a decline that gives a negative refuse time (Mesos: 5 s)."),
    K("filters", "max_refuse", LOCUS_CFG_DOUBLE, max_refuse, "31536000", 0, 31536000, "s", NULL,
      "Cap on any refuse filter (365 days)."),

    K("config", "reload_interval", LOCUS_CFG_DOUBLE, reload_interval, "5", 0, 86400, "s", NULL,
      "allocate() checks the config file's modification time at most this often (host time) and "
      "reloads it when it changed; 0 = every cycle."),
};
const size_t la_config_n_keys = sizeof la_config_keys / sizeof la_config_keys[0];

/* Policy knobs whose best value depends on the workload; hardware
 * descriptions (read_mbps_*, nic_mbps) and operational keys are not tuned. */
const la_config_tunable la_config_tunables[] = {
    {"policy.fairness_slack", 0, 0.2, 0},
    {"locality.wait_node", 0, 10, 0},
    {"locality.wait_rack", 0, 10, 0},
    {"locality.weight_ssd", 0.05, 1, 1},
    {"locality.weight_hdd", 0.01, 1, 1},
    {"locality.rack_bonus", 0, 1, 0},
};
const size_t la_config_n_tunables = sizeof la_config_tunables / sizeof la_config_tunables[0];

int la_config_load(la_config *cfg, const char *path, const locus_cfg_override *ov, size_t n_ov,
                   char *err, size_t errlen)
{
    la_config tmp;
    memset(&tmp, 0, sizeof tmp);
    /* $LOCUS_HINT_STORE names the hint store for every Locus program: as for
     * the probe, it overrides the file's hints.path and explicit overrides
     * (module parameters, --set) override it, so it goes first among them. */
    const char *env_store = getenv("LOCUS_HINT_STORE");
    locus_cfg_override *with_env = NULL;
    if (env_store && *env_store) {
        with_env = malloc((n_ov + 1) * sizeof *with_env);
        if (!with_env) {
            if (err && errlen)
                snprintf(err, errlen, "out of memory");
            return LOCUS_ENOMEM;
        }
        with_env[0] = (locus_cfg_override){"hints.path", env_store};
        if (n_ov)
            memcpy(with_env + 1, ov, n_ov * sizeof *ov);
        ov = with_env;
        n_ov++;
    }
    int rc = locus_cfg_load(la_config_keys, la_config_n_keys, &tmp, sizeof tmp, path, ov, n_ov,
                            err, errlen);
    free(with_env);
    if (rc)
        return rc;
    const char *origin = path ? path : "config";
    const char *bad = NULL;
    if (tmp.weight_ssd > tmp.weight_mem)
        bad = "locality.weight_ssd: must not exceed locality.weight_mem";
    else if (tmp.weight_hdd > tmp.weight_ssd)
        bad = "locality.weight_hdd: must not exceed locality.weight_ssd";
    if (bad) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", origin, bad);
        locus_cfg_free(la_config_keys, la_config_n_keys, &tmp);
        return LOCUS_ECONFIG;
    }
    la_config_free(cfg);
    *cfg = tmp;
    return 0;
}

void la_config_free(la_config *cfg)
{
    locus_cfg_free(la_config_keys, la_config_n_keys, cfg);
}
