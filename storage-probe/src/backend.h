/* Storage backends of locus-probe: one table of callbacks per storage layer,
 * in the manner of libevent's `struct eventop`. Each backend lives in its own
 * file (backend_redis.c, backend_alluxio.c, backend_hdfs.c, backend_static.c)
 * and exports one probe_backend_type.
 *
 * A poll is asynchronous on the daemon's libevent loop: poll() starts it and
 * returns; the backend puts every block it finds into the sink, then calls
 * done() exactly once, from the loop (never from inside poll()). The daemon
 * commits a successful poll as one replace-all write of the hint store under
 * the backend's name; a failed poll writes nothing and only records the
 * failure, so the last good placements stay until the staleness bound.
 */
#ifndef LOCUS_PROBE_BACKEND_H
#define LOCUS_PROBE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "locus/config.h"
#include "locus/hintstore.h"

/* Collects the blocks of one poll; owned by the daemon. */
typedef struct probe_sink probe_sink;

/* Caps on one record from a storage layer (those of the hint store, plus a
 * replica cap that keeps duplicate checks cheap). Backends check them while
 * parsing, before any work that grows with the record. */
#define PROBE_NAME_MAX 400     /* bytes of a dataset name */
#define PROBE_HOST_MAX 255     /* bytes of a host name */
#define PROBE_REPLICAS_MAX 256 /* replicas of one block */

/* Why a record was skipped (a metric label each; see probe_skip_reason_name). */
typedef enum probe_skip_reason {
    PROBE_SKIP_NAME_TOO_LONG,
    PROBE_SKIP_HOST_TOO_LONG,
    PROBE_SKIP_EMPTY_HOST,
    PROBE_SKIP_TOO_MANY_REPLICAS,
    PROBE_SKIP_REASONS
} probe_skip_reason;

/* "name_too_long", "host_too_long", "empty_host", "too_many_replicas". */
const char *probe_skip_reason_name(probe_skip_reason r);

/* Copies one block into the poll result. A block over a cap above (or with an
 * empty host) is skipped and counted, never failing the poll: returns 0. Returns
 * LOCUS_EINVAL for a block no storage layer could produce (empty dataset
 * name, missing replicas, bad tier: the poll fails with that message),
 * LOCUS_ENOMEM. Putting the same dataset/index twice merges the replicas (a
 * replica seen on a master and on its replica node), up to PROBE_REPLICAS_MAX. */
int probe_sink_put(probe_sink *sink, const locus_hs_block *block);
/* Counts a record the backend skipped itself (checked while parsing). */
void probe_sink_skip(probe_sink *sink, probe_skip_reason reason);
/* Adds to the "keys seen" metric (Redis keys, Alluxio files, HDFS files). */
void probe_sink_count_keys(probe_sink *sink, uint64_t keys);

/* status 0 = complete poll; otherwise a LOCUS_E* code and a message naming
 * the node, URL or key at fault. */
typedef void (*probe_poll_done_fn)(void *done_ctx, int status, const char *errmsg);

/* Every backend config struct starts with this; keys come from
 * PROBE_BACKEND_COMMON_KEYS so every section has the same scheduling knobs. */
typedef struct probe_backend_common {
    int enabled;              /* 0 = backend not run */
    double poll_interval_s;   /* mean time between poll starts */
    double poll_jitter;       /* fraction of the interval, uniformly +/- */
    double poll_timeout_s;    /* a poll still running after this fails with LOCUS_ETIMEDOUT */
    double staleness_s;       /* placements not confirmed for this long are dropped */
} probe_backend_common;

#define PROBE_BACKEND_COMMON_KEYS(section, type)                                              \
    {section, "enabled", LOCUS_CFG_BOOL, offsetof(type, common.enabled), "false", 0, 1, "",   \
     NULL, "Run this backend."},                                                              \
    {section, "poll_interval", LOCUS_CFG_DOUBLE, offsetof(type, common.poll_interval_s), "5", \
     0.05, 86400, "s", NULL, "Mean time between two polls."},                                 \
    {section, "poll_jitter", LOCUS_CFG_DOUBLE, offsetof(type, common.poll_jitter), "0.1", 0,   \
     0.5, "fraction", NULL, "Random spread of the poll interval, +/- this fraction."},         \
    {section, "poll_timeout", LOCUS_CFG_DOUBLE, offsetof(type, common.poll_timeout_s), "30",   \
     0.05, 3600, "s", NULL, "A poll still running after this long fails."},                   \
    {section, "staleness", LOCUS_CFG_DOUBLE, offsetof(type, common.staleness_s), "60", 0.1,    \
     604800, "s", NULL, "Placements not confirmed by a poll for this long are dropped."}

typedef struct probe_backend_type {
    const char *name;                 /* "redis", "alluxio", "hdfs", "static": config section and
                                         hint store backend name */
    const locus_cfg_key *keys;        /* its config section's keys (common ones included) */
    size_t n_keys;
    size_t config_size;               /* sizeof its config struct (starts with probe_backend_common) */

    /* Creates a backend instance bound to the loop. config is the parsed
     * section (copied by the backend if kept). */
    int (*create)(const void *config, struct event_base *base, void **state,
                  char *err, size_t errlen);
    void (*destroy)(void *state);
    /* Starts one poll (see above). Returns 0 or an error if it could not start
     * (then done is not called). */
    int (*poll)(void *state, probe_sink *sink, probe_poll_done_fn done, void *done_ctx);
    /* Aborts a running poll (timeout, shutdown); done is not called after. */
    void (*cancel)(void *state);
} probe_backend_type;

extern const probe_backend_type probe_backend_static;
extern const probe_backend_type probe_backend_redis;
extern const probe_backend_type probe_backend_alluxio;
extern const probe_backend_type probe_backend_hdfs;

#endif
