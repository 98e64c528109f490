/* The Redis Cluster backend of locus-probe (probe_backend_redis, declared in
 * backend.h): its config struct and the counters that tests and the
 * benchmark read. Everything else goes through the backend table.
 *
 * The host process must ignore SIGPIPE (locus-probe does): hiredis writes
 * with write(2), and a node that dies mid-poll would otherwise kill it. */
#ifndef LOCUS_PROBE_BACKEND_REDIS_H
#define LOCUS_PROBE_BACKEND_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

/* Section [redis]; strings are owned by the struct (locus_cfg_free). */
typedef struct probe_redis_config {
    probe_backend_common common;
    char *seeds;              /* "host:port, host:port" */
    char *datasets;           /* dataset patterns (backend_redis_pattern.h) */
    int64_t block_bytes;      /* split a dataset's bytes on a shard into blocks of this size; 0 = one */
    int64_t scan_count;       /* SCAN COUNT hint */
    int64_t pipeline;         /* MEMORY USAGE commands in flight per node before the next SCAN */
    int read_replicas;        /* also scan replicas (READONLY) and publish them */
    char *password;           /* AUTH password; "" = none */
    char *password_env;       /* environment variable holding the password (wins over password) */
    double connect_timeout_s;
} probe_redis_config;

/* Counters since create; "last_" fields describe the last finished poll. */
typedef struct probe_redis_stats {
    uint64_t polls_ok, polls_failed;
    uint64_t topology_refreshes;   /* topologies fetched */
    uint64_t slots_fallbacks;      /* topologies that came from CLUSTER SLOTS */
    uint64_t moved_restarts;       /* polls restarted on a MOVED reply */
    uint64_t connects, connect_failures;
    uint64_t last_keys_scanned;    /* keys SCAN returned on masters */
    uint64_t last_memory_usage;    /* MEMORY USAGE replies counted (masters and replicas) */
    size_t last_masters, last_replicas; /* nodes scanned (replicas: scanned successfully) */
} probe_redis_stats;

/* Replies announcing more elements than this are refused by the reader (a
 * node, or whatever answers on its port, could otherwise make the probe
 * allocate and walk an array of 2^31 pointers from a 12-byte reply). */
#define PROBE_REDIS_MAX_ELEMENTS (1 << 20)

/* Installs the element cap above on a hiredis reader (every node connection
 * gets it; the RESP fuzz target too). */
struct redisReader;
void probe_redis_guard_reader(struct redisReader *r);

/* Copies the counters of a backend created by probe_backend_redis.create. */
void probe_redis_get_stats(const void *state, probe_redis_stats *out);

#endif
