/* Locus allocator plugin ABI.
 *
 * An allocator policy is a shared object that exports one function,
 * LOCUS_ALLOCATOR_ENTRY_SYMBOL ("locus_allocator_entry"), returning a static
 * locus_allocator_api. A function rather than a data symbol because dlsym is
 * only guaranteed for functions. Hosts (locus-sim, the Mesos module adapter,
 * test hosts) load it with locus_allocator_load() (locus/allocator_loader.h),
 * which refuses the plugin unless abi_major equals the host's and struct_size
 * covers every callback the host uses.
 *
 * Evolution: fields are only ever appended to the structs here (API, host
 * services, status); each starts with its own size so either side reads a
 * field only when the size says it is present. A NULL callback means "not
 * supported" and the host falls back (noted per call). Any incompatible change
 * bumps LOCUS_ALLOCATOR_ABI_MAJOR.
 *
 * The life cycle mirrors mesos::allocator::Allocator in C terms. All calls on
 * one handle come from one thread at a time; none blocks or does network I/O.
 * The host owns time: every time is the host's clock in seconds (monotonic,
 * simulated in locus-sim); the plugin never reads the wall clock for policy.
 *
 * Ownership: every pointer passed in is borrowed for the call and copied if
 * kept. Every pointer handed out (offers, status, errors) is owned by the
 * plugin and valid until the next call on the same handle.
 *
 * Returns: 0 or a negative LOCUS_E* code (locus/error.h); last_error() then
 * says why. Unknown ids give LOCUS_ENOTFOUND, duplicates LOCUS_EEXIST.
 */
#ifndef LOCUS_ALLOCATOR_H
#define LOCUS_ALLOCATOR_H

#include <stddef.h>
#include <stdint.h>

#include "locus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LOCUS_ALLOCATOR_ABI_MAJOR 1
#define LOCUS_ALLOCATOR_ABI_MINOR 2
#define LOCUS_ALLOCATOR_ENTRY_SYMBOL "locus_allocator_entry"

struct locus_hs; /* locus/hintstore.h */

typedef struct locus_allocator locus_allocator; /* opaque policy instance */

/* ---- values ----------------------------------------------------------- */

/* A named scalar quantity: "cpus", "mem" (MB), "disk" (MB), "gpus", or any
 * other scalar resource name. */
typedef struct locus_scalar {
    const char *name;
    double value;
} locus_scalar;

typedef struct locus_resources {
    const locus_scalar *items;
    size_t n;               /* names unique within one set */
} locus_resources;

typedef struct locus_param {
    const char *key;        /* "section.key" of the config file (docs/config.md) */
    const char *value;
} locus_param;

typedef struct locus_agent_info {
    const char *id;         /* Mesos SlaveID */
    const char *hostname;   /* matched against storage host names in the hint store */
    const char *rack;       /* rack or zone attribute; NULL or "" = unknown */
    locus_resources total;
} locus_agent_info;

typedef struct locus_framework_info {
    const char *id;                 /* Mesos FrameworkID */
    const char *const *roles;       /* roles it subscribes to (at least one) */
    size_t n_roles;
    int active;                     /* 0: added deactivated (no offers until activated) */
} locus_framework_info;

/* Resources already in use at add time (agent re-registration, master
 * failover): Mesos's `used` maps. */
typedef struct locus_allocation {
    const char *framework_id;
    const char *role;
    const char *agent_id;           /* ignored by add_agent (the agent being added) */
    locus_resources resources;
} locus_allocation;

/* One item of a framework's data demand: a whole dataset, or one block of it. */
typedef struct locus_demand_item {
    const char *dataset;
    int64_t block;          /* block index, or -1 for the whole dataset */
    uint64_t bytes;         /* bytes still to read; 0 = the size the hint store gives */
} locus_demand_item;

#define LOCUS_TIERS 3 /* MEM, SSD, HDD: index = locus_tier - 1 */

typedef struct locus_locality {
    uint64_t local_bytes[LOCUS_TIERS]; /* demanded bytes cached on the agent, by tier */
    uint64_t rack_bytes;               /* demanded bytes cached elsewhere in the agent's rack */
    double score;                      /* policy score that ranked this agent (0 for drf) */
    int level;                         /* 0 node-local, 1 rack-local, 2 any, -1 no demand/hints */
} locus_locality;

typedef struct locus_offer {
    const char *framework_id;
    const char *role;
    const char *agent_id;
    locus_resources resources;         /* what is offered: the agent's whole available set, or
                                          for the locality policy and a framework with task
                                          resources, a slice sized to its local tasks */
    locus_locality locality;
    const char *reason;                /* short human-readable why, e.g. "local MEM 1.2 GB, share 0.12" */
} locus_offer;

typedef struct locus_offer_list {
    const locus_offer *offers;         /* valid until the next call on the handle */
    size_t n;
} locus_offer_list;

/* Counters for observability; struct_size first so it can grow. */
typedef struct locus_allocator_status {
    uint32_t struct_size;
    uint32_t policy;                   /* 0 drf, 1 locality (as configured) */
    uint64_t cycles;                   /* allocate() calls that ran (not paused) */
    uint64_t offers;                   /* offers made */
    uint64_t offers_local;             /* level 0 */
    uint64_t offers_rack;              /* level 1 */
    uint64_t offers_any;               /* level 2 or no demand */
    uint64_t fallback_cycles;          /* cycles run as plain drf: hints stale, missing or unreadable */
    uint64_t hint_read_errors;         /* snapshot opens and undecodable values */
    double hint_age_s;                 /* age of the newest hint at the last cycle; <0 unknown */
    uint64_t agents, frameworks, roles;
    uint64_t config_reloads, config_reload_errors;
    double last_cycle_cpu_s;           /* CPU time of the last allocate() */
} locus_allocator_status;

/* ---- host services ---------------------------------------------------- */

enum locus_log_level { LOCUS_LOG_ERROR = 0, LOCUS_LOG_WARN = 1, LOCUS_LOG_INFO = 2, LOCUS_LOG_DEBUG = 3 };

/* What the host lends the plugin; append-only, struct_size first. */
typedef struct locus_host_services {
    uint32_t struct_size;
    void *ctx;                                  /* passed back to every callback */
    void (*log)(void *ctx, int level, const char *msg); /* NULL: the plugin logs to stderr */
    struct locus_hs *hint_store;                /* borrowed open store, or NULL: the plugin opens
                                                   the config's hints.path read-only itself */
} locus_host_services;

/* ---- the API ---------------------------------------------------------- */

typedef struct locus_allocator_api {
    uint32_t abi_major;         /* LOCUS_ALLOCATOR_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;
    uint32_t struct_size;       /* sizeof(locus_allocator_api) in the plugin's build */
    const char *name;           /* policy family, e.g. "locus" */
    const char *version;        /* plugin version string */

    /* Creates an instance from a config file (NULL: defaults) and overrides.
     * On failure *out is NULL and err holds the reason (file:line: key: why). */
    int (*create)(const char *config_path, const locus_param *params, size_t n_params,
                  const locus_host_services *host, locus_allocator **out,
                  char *err, size_t errlen);
    void (*destroy)(locus_allocator *a);
    const char *(*last_error)(const locus_allocator *a);

    /* Agents. A removed agent's outstanding offers and allocations vanish. */
    int (*add_agent)(locus_allocator *a, const locus_agent_info *agent,
                     const locus_allocation *used, size_t n_used, double now);
    int (*remove_agent)(locus_allocator *a, const char *agent_id);
    int (*update_agent)(locus_allocator *a, const locus_agent_info *agent); /* new total/rack */
    int (*activate_agent)(locus_allocator *a, const char *agent_id);
    int (*deactivate_agent)(locus_allocator *a, const char *agent_id);     /* no offers while inactive */

    /* Frameworks. Removing one releases everything offered or allocated to it. */
    int (*add_framework)(locus_allocator *a, const locus_framework_info *fw,
                         const locus_allocation *used, size_t n_used, double now);
    int (*remove_framework)(locus_allocator *a, const char *framework_id);
    int (*update_framework)(locus_allocator *a, const locus_framework_info *fw);
    int (*activate_framework)(locus_allocator *a, const char *framework_id);
    int (*deactivate_framework)(locus_allocator *a, const char *framework_id);

    /* Suppress/revive offers for one role of a framework, or all its roles
     * (role NULL). Revive also clears the framework's refuse filters. */
    int (*suppress)(locus_allocator *a, const char *framework_id, const char *role);
    int (*revive)(locus_allocator *a, const char *framework_id, const char *role);

    /* Gives back resources offered or allocated to framework on agent
     * (declined offer, finished task). refuse_seconds > 0 installs a filter:
     * no offer of that agent to that framework until now + refuse_seconds;
     * < 0 means the default (5 s, as Mesos); values are capped by the config's
     * filters.max_refuse_s; 0 installs none. */
    int (*recover)(locus_allocator *a, const char *framework_id, const char *agent_id,
                   const locus_resources *resources, double refuse_seconds, double now);

    /* Role weights (default 1). */
    int (*update_weights)(locus_allocator *a, const char *const *roles, const double *weights,
                          size_t n);

    /* Stops and restarts offer generation (allocate() returns no offers while paused). */
    void (*pause)(locus_allocator *a);
    void (*resume)(locus_allocator *a);

    /* Replaces the framework's data demand (what it will still read). n = 0 clears it. */
    int (*set_demand)(locus_allocator *a, const char *framework_id,
                      const locus_demand_item *items, size_t n);

    /* Runs one allocation cycle at host time now and returns the offers it
     * made (the offered resources count as allocated until recovered). */
    int (*allocate)(locus_allocator *a, double now, locus_offer_list *out);

    /* Fills *out (up to out->struct_size, which the host sets). */
    int (*status)(const locus_allocator *a, locus_allocator_status *out);

    /* Re-reads the config file now (it is also re-read by allocate() when its
     * modification time changes). A bad file keeps the previous config and
     * returns LOCUS_ECONFIG. NULL: not supported. */
    int (*reload_config)(locus_allocator *a);

    /* ---- ABI 1.1 ---- A host calls what follows only if struct_size covers it. */

    /* Resources one task of this framework uses (Mesos: Request.resources of
     * requestResources). Lets the locality policy size an offer to the work
     * the framework has local to the agent instead of offering the whole
     * agent. NULL or an empty set clears it (whole-agent offers, as Mesos).
     * Resources the set does not name are not part of a sized offer. */
    int (*set_task_resources)(locus_allocator *a, const char *framework_id,
                              const locus_resources *per_task);

    /* ---- ABI 1.2 ---- Roles as Mesos 1.12 has them. Role names with '/'
     * are a hierarchy: "a/b"'s allocation counts for "a", and update_weights
     * weights any level of it. */

    /* Replaces a role's quota (Mesos quota_configs): guarantees are offered
     * to the role before other roles, and every other offer leaves unallocated
     * what unmet guarantees still need; limits are never exceeded by an offer
     * (an offer is cut to fit). Both count the role's nested roles. NULL or
     * empty sets clear that part. A limit below a guarantee is LOCUS_EINVAL. */
    int (*set_quota)(locus_allocator *a, const char *role, const locus_resources *guarantees,
                     const locus_resources *limits);

    /* Resource names left out of dominant shares (Mesos's
     * --fair_sharing_excluded_resource_names); replaces the set, n = 0 clears. */
    int (*set_fairness_excluded)(locus_allocator *a, const char *const *names, size_t n);

    /* recover() for resources a framework held in one of its roles: taken
     * from that role's allocation only (LOCUS_EINVAL if it holds less there).
     * role NULL: as recover(). */
    int (*recover_role)(locus_allocator *a, const char *framework_id, const char *role,
                        const char *agent_id, const locus_resources *resources,
                        double refuse_seconds, double now);

    /* How many distinct scalar resource names the instance can account; an
     * agent or request naming more is refused with LOCUS_EINVAL. */
    uint32_t (*max_resource_names)(const locus_allocator *a);
} locus_allocator_api;

/* Is callback `field` present in a plugin's table (its struct_size covers it
 * and it is not NULL)? For hosts built against a newer ABI minor. */
#define LOCUS_ALLOCATOR_HAS(api, field)                                                  \
    ((api)->struct_size >= offsetof(locus_allocator_api, field) + sizeof((api)->field) && \
     (api)->field != NULL)

/* The entry point a plugin exports under LOCUS_ALLOCATOR_ENTRY_SYMBOL. */
typedef const locus_allocator_api *(*locus_allocator_entry_fn)(void);

/* For plugin authors: stamps the version fields. Usage:
 *   static const locus_allocator_api api = { LOCUS_ALLOCATOR_API_HEADER("mine", "1.0"),
 *                                            .create = my_create, ... };
 *   LOCUS_ALLOCATOR_EXPORT const locus_allocator_api *locus_allocator_entry(void) { return &api; }
 */
#define LOCUS_ALLOCATOR_API_HEADER(plugin_name, plugin_version)                      \
    .abi_major = LOCUS_ALLOCATOR_ABI_MAJOR, .abi_minor = LOCUS_ALLOCATOR_ABI_MINOR,  \
    .struct_size = (uint32_t)sizeof(locus_allocator_api), .name = (plugin_name),     \
    .version = (plugin_version)
#define LOCUS_ALLOCATOR_EXPORT __attribute__((visibility("default")))

#ifdef __cplusplus
}
#endif
#endif
