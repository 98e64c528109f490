/* Redis Cluster topology as the probe sees it: shards (slot ranges, one
 * master, its replicas), each node with the address to connect to and the
 * storage host it stands for (its announced hostname, else its IP).
 *
 * Built from a CLUSTER SHARDS reply (Redis 7) or, when a node refuses that
 * command, from CLUSTER SLOTS. Parsing is pure (no I/O) so malformed replies
 * are tested without a server. */
#ifndef LOCUS_PROBE_BACKEND_REDIS_TOPO_H
#define LOCUS_PROBE_BACKEND_REDIS_TOPO_H

#include <stddef.h>

#include <hiredis/hiredis.h>

typedef struct probe_redis_node_info {
    char *ip;     /* address to connect to */
    int port;
    char *host;   /* storage host: announced hostname, else ip */
    char *id;     /* node id; "" when the reply gave none */
} probe_redis_node_info;

typedef struct probe_redis_shard {
    unsigned first_slot;            /* lowest slot served: orders shards */
    unsigned slots;                 /* number of slots served */
    int master_ok;                  /* 0: no reachable master announced (failed / unknown) */
    probe_redis_node_info master;
    probe_redis_node_info *replicas; /* healthy replicas only */
    size_t n_replicas;
} probe_redis_shard;

typedef struct probe_redis_topology {
    probe_redis_shard *shards;      /* shards that serve slots, by first_slot */
    size_t n_shards;
    int from_slots;                 /* built from CLUSTER SLOTS (fallback) */
} probe_redis_topology;

/* Parse a reply of CLUSTER SHARDS / CLUSTER SLOTS received from node
 * `origin` ("ip:port", for messages). Return 0, LOCUS_EPARSE (err names the
 * origin, the command and what is wrong) or LOCUS_ENOMEM. Free *out with
 * probe_redis_topology_free. */
int probe_redis_topology_from_shards(const redisReply *r, const char *origin,
                                     probe_redis_topology **out, char *err, size_t errlen);
int probe_redis_topology_from_slots(const redisReply *r, const char *origin,
                                    probe_redis_topology **out, char *err, size_t errlen);
void probe_redis_topology_free(probe_redis_topology *t);

#endif
