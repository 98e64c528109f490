/* The allocator's config keys (one table: parser, checks, docs/config.md and
 * locus.conf.example are all generated from it). Internal. */
#ifndef LA_CONFIG_H
#define LA_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "locus/config.h"

enum la_policy { LA_POLICY_DRF = 0, LA_POLICY_LOCALITY = 1 };
enum la_hint_clock { LA_CLOCK_HOST = 0, LA_CLOCK_WALL = 1 };
/* Where a task's input is read from: a local copy, by tier. */
enum la_read_source { LA_READ_MEM = 0, LA_READ_SSD = 1, LA_READ_HDD = 2, LA_READ_SOURCES = 3 };

typedef struct la_config {
    int policy;               /* policy.name */
    int64_t seed;             /* policy.seed */
    double fairness_slack;    /* policy.fairness_slack */
    double min_cpus, min_mem; /* policy.min_allocatable_cpus / _mem */

    double wait_node, wait_rack;                      /* locality.wait_node/_rack (s) */
    double weight_mem, weight_ssd, weight_hdd;        /* locality.weight_* */
    double rack_bonus;                                /* locality.rack_bonus */
    double read_mbps[LA_READ_SOURCES];                /* locality.read_mbps_* (MB/s) */
    double nic_mbps;                                  /* locality.nic_mbps (MB/s) */

    char *hints_path;         /* hints.path */
    double staleness;         /* hints.staleness (s) */
    double retry_interval;    /* hints.retry_interval (s) */
    int clock;                /* hints.clock */

    double default_refuse;    /* filters.default_refuse (s) */
    double max_refuse;        /* filters.max_refuse (s) */

    double reload_interval;   /* config.reload_interval (s) */
} la_config;

extern const locus_cfg_key la_config_keys[];
extern const size_t la_config_n_keys;

/* Keys `locus-sim tune` searches, with the range searched (inside the key's
 * own range) and whether to sample it on a log scale (then lo > 0). */
typedef struct la_config_tunable {
    const char *key;          /* "section.key" of la_config_keys */
    double lo, hi;
    int log_scale;
} la_config_tunable;
extern const la_config_tunable la_config_tunables[];
extern const size_t la_config_n_tunables;

/* Loads defaults, then path (NULL: none), then overrides; then checks the
 * rules that span keys (tier weight order). All-or-nothing into *cfg. */
int la_config_load(la_config *cfg, const char *path, const locus_cfg_override *ov, size_t n_ov,
                   char *err, size_t errlen);
void la_config_free(la_config *cfg);

#endif
