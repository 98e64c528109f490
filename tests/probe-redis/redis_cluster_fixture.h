/* A real Redis Cluster for tests and benchmarks: redis-server processes on
 * free loopback ports in a temporary folder, created with
 * `redis-cli --cluster create`, torn down by pid (the servers also die with
 * the test process, through PR_SET_PDEATHSIG). Node i announces hostname
 * "node<i+1>" so each node is its own storage host although all share
 * 127.0.0.1. */
#ifndef LOCUS_TEST_REDIS_CLUSTER_FIXTURE_H
#define LOCUS_TEST_REDIS_CLUSTER_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#define RCF_MAX_NODES 12

typedef struct rcf_node {
    int port;
    pid_t pid;        /* 0 once stopped */
    char host[16];    /* announced hostname */
} rcf_node;

typedef struct rcf_cluster {
    char dir[64];     /* temp folder (removed by rcf_stop) */
    int n;
    rcf_node nodes[RCF_MAX_NODES];
    char password[64]; /* sent with AUTH by rcf_connect when set */
    int want_replicas; /* rcf_wait_healthy waits for this many linked replicas */
} rcf_cluster;

/* Starts masters * (1 + replicas) nodes and creates the cluster; waits for
 * cluster_state:ok everywhere and master_link_status:up on every replica.
 * Returns 0, or -1 with a message in err (everything started is stopped). */
int rcf_start(rcf_cluster *c, int masters, int replicas, char *err, size_t errlen);
/* Kills every node still running (SIGKILL, reaped) and removes the folder. */
void rcf_stop(rcf_cluster *c);
/* Kills node i for good (SIGKILL, reaped). */
void rcf_kill(rcf_cluster *c, int i);

/* A synchronous connection to node i (NULL on failure); caller frees. */
redisContext *rcf_connect(const rcf_cluster *c, int i);
/* Runs a command on every live node; returns 0 if all replied without error. */
int rcf_all(const rcf_cluster *c, const char *fmt, ...);

/* Index of the node that serves slot as master (asked of live nodes), or -1. */
int rcf_slot_master(const rcf_cluster *c, unsigned slot);
/* Index of the master of node i (-1 when i is a master or unknown). */
int rcf_master_of(const rcf_cluster *c, int i);
/* Waits until every live node reports cluster_state:ok, at least
 * c->want_replicas live nodes are replicas, and every live replica has
 * master_link_status:up. Returns 0, or -1 on timeout. */
int rcf_wait_healthy(const rcf_cluster *c, double timeout_s);

/* Loads n_datasets datasets "<prefix>%05d" of keys_per_dataset keys each,
 * hash-tagged "{<prefix>%05d}:%07d", values of value_bytes, pipelined to
 * each key's master, and waits (WAIT) until every replica has them. Returns
 * 0 or -1. */
int rcf_load(const rcf_cluster *c, const char *prefix, int n_datasets, int keys_per_dataset,
             size_t value_bytes);

#endif
