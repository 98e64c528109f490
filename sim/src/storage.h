/* The storage model: an Alluxio-like layer co-located with the agents.
 *
 * Every dataset is split into blocks when a trace first names it; each block
 * gets HDD replicas placed rack-aware as HDFS does (first on a random agent,
 * the second on another rack, the third beside the second). Every agent has
 * a memory tier of fixed capacity with LRU eviction; a read can cache the
 * block in the reader's memory tier. Placement changes are published into
 * the real LMDB hint store through the writer API every probe interval, so
 * the allocator reads hints that are as stale as a real probe's.
 *
 * Re-reads (FB-2010 input paths): a path names one dataset. A later job that
 * names it with a smaller size reads a prefix of its blocks; with a larger
 * size the dataset grows by new blocks; growth past the per-dataset block cap
 * rewrites it (new blocks, old copies dropped), as a table rewritten in full.
 */
#ifndef LOCUS_SIM_STORAGE_H
#define LOCUS_SIM_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "engine.h"
#include "network.h"
#include "simconf.h"

struct locus_hs;

#define SIM_NONE UINT32_MAX

typedef struct sim_block {
    uint32_t dataset;
    uint32_t mem_head;    /* first cache entry holding it, or SIM_NONE */
    uint64_t bytes;
    uint64_t offset;      /* where it starts in its dataset's bytes */
    uint32_t index;       /* position in its dataset (the hint store's block index) */
    uint8_t dirty;        /* placement changed since the last publish */
    uint8_t dead;         /* dropped by a rewrite; deleted from the hint store at publish */
} sim_block;

typedef struct sim_cache_entry {
    uint32_t block, agent;
    uint32_t prev, next;  /* the agent's LRU list, most recent first */
    uint32_t next_in_block;
} sim_cache_entry;

typedef struct sim_dataset {
    char *name;
    uint64_t bytes;
    uint64_t block_bytes;
    uint32_t *blocks;
    uint32_t n_blocks, cap;
    uint32_t version;     /* rewrites */
    double published_at;  /* simulated time all its blocks were last written to the hint store; < 0 never */
    uint32_t demand;      /* frameworks that will still read it */
    uint8_t stale;        /* changed while nobody demanded it, or grown by a job that
                             reads it: written whole before the next cycle */
    uint8_t rewritten;    /* rewritten since its last whole write: the old blocks'
                             deletes go first */
    uint8_t queued;       /* in the fresh list */
} sim_dataset;

/* One block a map task reads, and how many of its bytes. */
typedef struct sim_block_read {
    uint32_t block;
    uint64_t bytes;
} sim_block_read;

typedef struct sim_storage {
    const sim_config *cfg;
    const sim_cluster *cl;
    sim_rng rng;                   /* replica placement */
    sim_dataset *datasets;
    size_t n_datasets, cap_datasets;
    uint32_t *ds_index;            /* open-addressing hash: dataset name -> index+1 */
    size_t ds_index_cap;
    sim_block *blocks;
    uint32_t *hdd;                 /* replicas per block, block * replicas */
    size_t n_blocks, cap_blocks;
    uint32_t replicas;
    sim_cache_entry *entries;
    size_t n_entries, cap_entries;
    uint32_t free_entry;
    uint32_t *lru_head, *lru_tail; /* per agent */
    uint64_t *mem_used;            /* per agent */
    uint32_t *dirty;               /* blocks to publish */
    size_t n_dirty, cap_dirty;
    uint32_t *fresh;               /* datasets to write whole before the next cycle */
    size_t n_fresh, cap_fresh;
    uint64_t publishes, published_blocks, evictions, rewrites;
} sim_storage;

int sim_storage_init(sim_storage *s, const sim_config *cfg, const sim_cluster *cl, uint64_t seed);
void sim_storage_free(sim_storage *s);

/* Resolves one job input: creates, grows, rewrites or takes a prefix of the
 * dataset, then appends the blocks read to *reads (grown with realloc).
 * default_block_bytes: the trace's, or 0. Returns 0 or LOCUS_ENOMEM. */
int sim_storage_resolve(sim_storage *s, const char *name, uint64_t bytes, uint64_t block_bytes,
                        sim_block_read **reads, size_t *n_reads, size_t *cap_reads,
                        uint32_t *dataset);
/* A probe confirms what it still sees: re-writes a dataset's blocks at the
 * next publish when its hints are older than max_age_s, so hints of data a
 * framework still waits for never go stale in the allocator. */
int sim_storage_confirm(sim_storage *s, uint32_t dataset, double now_s, double max_age_s);
const sim_dataset *sim_storage_dataset_of(const sim_storage *s, uint32_t block);
/* The live block of a dataset holding byte `offset` (the last one past its
 * end), or SIM_NONE if it has none: where a read of a rewritten dataset's
 * dropped block goes now. */
uint32_t sim_storage_block_at(const sim_storage *s, uint32_t dataset, uint64_t offset);

/* HDD replica agents of a block (count = s->replicas). */
static inline const uint32_t *sim_storage_hdd(const sim_storage *s, uint32_t block)
{
    return &s->hdd[(size_t)block * s->replicas];
}

/* Where a reader on `agent` reads `block` from: local memory, local HDD, a
 * copy in its rack, then anywhere; memory before HDD at equal distance, the
 * least loaded source among equals. Fills *flow and returns the locality
 * level (enum sim_locality in report.h). */
int sim_storage_source(const sim_storage *s, const sim_network *net, uint32_t block,
                       uint32_t agent, sim_flow *flow);
/* Whether the block has a copy (any tier) on agent. */
int sim_storage_on_agent(const sim_storage *s, uint32_t block, uint32_t agent);
/* A read hit the memory tier of agent: refresh its LRU position. */
void sim_storage_touch(sim_storage *s, uint32_t block, uint32_t agent);
/* Caches the block in agent's memory tier (evicting LRU blocks) unless
 * already there or larger than the tier. Returns 0 or LOCUS_ENOMEM. */
int sim_storage_cache(sim_storage *s, uint32_t block, uint32_t agent);

/* Writes every placement change since the last call of a dataset some
 * framework demands into the hint store as one batch committed at now_s (an
 * empty batch still records the poll). Changes of datasets nobody demands
 * wait until one does (sim_storage_demand): the allocator only reads
 * demanded datasets, and every write re-sums the dataset's summary.
 * hs NULL: only clears the dirty set. Returns 0 or the store's error with
 * err set. */
int sim_storage_publish(sim_storage *s, struct locus_hs *hs, double now_s, char *err, size_t errlen);

/* A framework starts (+1) or stops (-1) waiting to read the dataset at
 * simulated time now_s. A dataset that becomes demanded and has never been
 * written, changed while nobody demanded it, or was last written
 * storage.confirm_s or more ago (a probe's polls would have confirmed it
 * since) is queued to be written whole. */
int sim_storage_demand(sim_storage *s, uint32_t dataset, int delta, double now_s);
/* Writes the queued datasets whole, at once: a dataset a trace names for the
 * first time was written before its job was submitted, so a real probe
 * would have seen its HDD replicas long ago; one named again was polled all
 * along. Called before each allocation cycle. */
int sim_storage_publish_fresh(sim_storage *s, struct locus_hs *hs, double now_s, char *err,
                              size_t errlen);

#endif
