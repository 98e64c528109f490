/* Locus hint store: where each dataset's blocks are cached, in one LMDB
 * environment shared by processes on one machine.
 *
 * One writer (the storage probe, or the simulator's storage model) and any
 * number of readers (the allocator plugin in the Mesos master). Readers work
 * on a snapshot, one LMDB read transaction: it never blocks the writer, never
 * sees half of a write, and costs no network I/O. Dataset summaries and
 * block placements are fixed-layout records read in place from the map, with
 * storage hosts interned as stable ids; the hot read paths are
 * locus_hs_snapshot_dataset_ref(s) and locus_hs_snapshot_block_refs.
 * proto/locus_hints.proto is the schema of every value; the layout,
 * sub-databases and keys are in docs/hint-store.md.
 *
 * Every write transaction keeps each dataset summary exactly equal to the
 * aggregate of its blocks. A value that does not decode is counted, reported
 * with its key (locus_hs_snapshot_errstr) and skipped; it never crashes a
 * reader.
 *
 * Conventions: functions return 0 or a negative LOCUS_E* code (locus/error.h);
 * the handle they were called on then holds a message (locus_hs_errstr).
 * Strings passed in are copied; pointers handed out are owned by the store and
 * valid as stated on each function. *_close(NULL) and *_abort(NULL) are no-ops.
 * Open one locus_hs per environment per process (an LMDB rule): a host that
 * also loads the allocator plugin passes its handle to the plugin.
 */
#ifndef LOCUS_HINTSTORE_H
#define LOCUS_HINTSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "locus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Layout version of keys and values. 2: dataset summaries and block
 * placements in a fixed little-endian layout read in place, storage hosts
 * interned as ids. 3: datasets interned as ids too, a host index of packed
 * dataset ids per host, no per-block owners index (docs/hint-store.md). A
 * version 1 or 2 store is converted by a writable open (its hints are
 * dropped and come back with the next poll) and refused by a read-only one
 * with LOCUS_ESCHEMA; any other version is refused by both. */
#define LOCUS_HS_SCHEMA_VERSION 3

/* Storage tiers, fastest first; values match proto locus.Tier. */
typedef enum locus_tier {
    LOCUS_TIER_MEM = 1,
    LOCUS_TIER_SSD = 2,
    LOCUS_TIER_HDD = 3
} locus_tier;
#define LOCUS_TIER_COUNT 3 /* index arrays by tier - 1 */

/* "MEM", "SSD", "HDD"; "?" for anything else. */
const char *locus_tier_name(locus_tier tier);
/* Parses "MEM"/"SSD"/"HDD" (any case; also Alluxio and HDFS spellings "DISK",
 * "RAM_DISK", "ARCHIVE"). Returns 0 or LOCUS_EINVAL. */
int locus_tier_parse(const char *s, locus_tier *out);

typedef struct locus_hs locus_hs;                   /* an open environment */
typedef struct locus_hs_batch locus_hs_batch;       /* an open write transaction */
typedef struct locus_hs_snapshot locus_hs_snapshot; /* an open read transaction */

typedef struct locus_hs_options {
    size_t map_size;       /* bytes of address space for the map; 0 = 1 GiB. Only grows an existing store. */
    unsigned max_readers;  /* concurrent read snapshots across processes; 0 = 126 */
    int read_only;         /* open for reading only (the allocator) */
    int create;            /* create the folder and store if absent (ignored when read_only) */
    int no_sync;           /* skip fsync at commit (tests and the simulator; a crash may lose the
                              last commits but never corrupts) */
} locus_hs_options;

/* Opens (or creates) the store in the folder `path`. Returns 0, LOCUS_ESCHEMA
 * (other schema version), LOCUS_ENOTFOUND (absent and not create), LOCUS_EIO,
 * LOCUS_ENOMEM. On failure *out is NULL and err (if given) holds the reason. */
int locus_hs_open(const char *path, const locus_hs_options *opts, locus_hs **out,
                  char *err, size_t errlen);
void locus_hs_close(locus_hs *hs);
/* Last error on this handle or its batches; "" if none. Valid until the next call. */
const char *locus_hs_errstr(const locus_hs *hs);
const char *locus_hs_path(const locus_hs *hs);

/* Maps into this process the pages of the store's file that are already in
 * the page cache, so that the first lookups after an open do not take a
 * page fault each (a reader's first lookups of 1,000 datasets in a
 * 100,000-dataset store spent about half their time in page faults). Reads
 * nothing from disk: pages that are not cached fault in when read, as
 * before. Pages a later commit appends are not covered; pages it rewrites
 * in place stay mapped. Returns the bytes mapped: 0 where the kernel has no
 * MADV_POPULATE_READ (Linux < 5.14) or nothing is cached. */
size_t locus_hs_map_cached(locus_hs *hs);

/* ---- writing ---------------------------------------------------------- */

typedef struct locus_hs_replica {
    const char *host;     /* storage host name */
    locus_tier tier;
} locus_hs_replica;

typedef struct locus_hs_block {
    const char *dataset;
    uint64_t index;       /* block number within the dataset */
    uint64_t bytes;
    const locus_hs_replica *replicas;
    size_t n_replicas;    /* 0 = known block with no cached copy */
} locus_hs_block;

/* Starts a write transaction on behalf of `backend` (a name such as
 * "redis:main"; blocks it puts are owned by it). With replace_all, commit also
 * deletes every block owned by this backend that the batch did not put: a
 * full poll result. Only one batch at a time per environment (LMDB has one
 * writer; another process's batch waits). */
int locus_hs_batch_begin(locus_hs *hs, const char *backend, int replace_all,
                         locus_hs_batch **out);
/* Puts one block (replaces the previous placement of dataset/index). Returns
 * 0 or LOCUS_EINVAL (empty dataset name or host, bad tier, duplicate replica). */
int locus_hs_batch_put(locus_hs_batch *b, const locus_hs_block *block);
/* Deletes one block; LOCUS_ENOTFOUND if absent (the batch stays usable). */
int locus_hs_batch_delete(locus_hs_batch *b, const char *dataset, uint64_t index);
/* Binds a storage host name to a Mesos agent (hostname, optional id). */
int locus_hs_batch_bind_host(locus_hs_batch *b, const char *storage_host,
                             const char *agent_hostname, const char *agent_id);
/* Commits: recomputes the summaries of every touched dataset, records a
 * successful poll of the backend at now_ms, bumps the writer generation.
 * Frees the batch whatever the outcome. LOCUS_EFULL if the map is full (the
 * store keeps its previous content). */
int locus_hs_batch_commit(locus_hs_batch *b, int64_t now_ms);
/* Discards the batch; the store is unchanged. */
void locus_hs_batch_abort(locus_hs_batch *b);

/* Records a failed poll of a backend (its blocks stay). */
int locus_hs_record_failure(locus_hs *hs, const char *backend, int64_t now_ms);
/* Deletes every block of a backend whose placement is older than
 * older_than_ms (the staleness bound expired); *dropped gets the count. */
int locus_hs_expire_backend(locus_hs *hs, const char *backend, int64_t older_than_ms,
                            int64_t now_ms, uint64_t *dropped);

/* ---- reading ---------------------------------------------------------- */

typedef struct locus_hs_host_bytes {
    const char *host;
    locus_tier tier;
    uint64_t bytes;
} locus_hs_host_bytes;

typedef struct locus_hs_dataset {
    const char *name;
    uint64_t total_bytes;
    uint64_t block_count;
    uint64_t version;
    int64_t updated_at_ms;
    const locus_hs_host_bytes *placement; /* sorted by host, then tier */
    size_t n_placement;
} locus_hs_dataset;

typedef struct locus_hs_block_view {
    const char *dataset;
    uint64_t index;
    uint64_t bytes;
    const char *backend;
    int64_t updated_at_ms;
    const locus_hs_replica *replicas;
    size_t n_replicas;
} locus_hs_block_view;

typedef struct locus_hs_backend_poll {
    const char *backend;
    int64_t last_success_ms;
    int64_t last_attempt_ms;
    uint64_t consecutive_failures;
    uint64_t blocks;
} locus_hs_backend_poll;

typedef struct locus_hs_meta {
    uint32_t schema_version;
    uint64_t writer_generation;   /* 0 = never written */
    int64_t updated_at_ms;        /* writer clock of the last commit */
    const locus_hs_backend_poll *backends;
    size_t n_backends;
} locus_hs_meta;

typedef struct locus_hs_stats {
    uint64_t datasets, blocks, hosts, bindings;
    uint64_t map_size, used_bytes;   /* LMDB map size and pages in use * page size */
} locus_hs_stats;

/* Opens a snapshot (one read transaction). Thread-free: a snapshot may be
 * used from any one thread at a time. Returns 0, LOCUS_EIO, LOCUS_ENOMEM. */
int locus_hs_snapshot_open(locus_hs *hs, locus_hs_snapshot **out);
void locus_hs_snapshot_close(locus_hs_snapshot *s);

/* Looks up one dataset summary. *out points into memory owned by the
 * snapshot, valid until locus_hs_snapshot_close. Returns 0, LOCUS_ENOTFOUND,
 * or LOCUS_ECORRUPT (counted; see locus_hs_snapshot_errstr). */
int locus_hs_snapshot_dataset(locus_hs_snapshot *s, const char *name, const locus_hs_dataset **out);
/* ---- zero-copy reads (the allocator's hot path) --------------------------- */

/* One dataset summary read in place from the mapped page: no decode, no copy,
 * no allocation. The placement entries stay in the map, valid until the
 * snapshot closes; read entry i with locus_hs_placement_at. Storage hosts are
 * ids: stable for the life of the store (never reused or renamed), so a
 * reader may cache what it derives from an id (its agent) across snapshots;
 * locus_hs_snapshot_host_name gives the name. */
typedef struct locus_hs_dataset_ref {
    uint64_t total_bytes;
    uint64_t block_count;
    uint64_t version;
    int64_t updated_at_ms;
    size_t n_placement;          /* sorted by host name, then tier */
    const unsigned char *entries; /* n_placement x 12 bytes, little-endian */
} locus_hs_dataset_ref;

/* Looks up dataset name[0..name_len) into *out (a small struct filled by
 * value). The value's length, header, tiers and host ids are checked first.
 * Costs one B-tree get and a pass over the entries; the first id beyond the
 * handle's host table reads the new names once (the table is shared by all
 * snapshots of the handle). Returns 0, LOCUS_ENOTFOUND or LOCUS_ECORRUPT
 * (counted; see locus_hs_snapshot_errstr). */
int locus_hs_snapshot_dataset_ref(locus_hs_snapshot *s, const char *name, size_t name_len,
                                  locus_hs_dataset_ref *out);

/* Looks up n datasets at once: status[i] and out[i] are what
 * locus_hs_snapshot_dataset_ref gives for names[i] (name_lens[i] bytes, or
 * strlen when name_lens is NULL). The B-tree descents of up to 8 names go
 * side by side, so their cache and TLB misses overlap: a reader that knows
 * the datasets it needs this cycle (the allocator's demanded datasets) gets
 * them about twice as fast as one call per name. Returns 0 (the lookups'
 * outcomes are in status[]) or LOCUS_EINVAL. */
int locus_hs_snapshot_dataset_refs(locus_hs_snapshot *s, const char *const *names,
                                   const size_t *name_lens, size_t n,
                                   locus_hs_dataset_ref *out, int *status);

/* Entry i (< d->n_placement) of a dataset ref: {host id, tier, bytes}. */
static inline void locus_hs_placement_at(const locus_hs_dataset_ref *d, size_t i,
                                         uint32_t *host_id, locus_tier *tier, uint64_t *bytes)
{
    const unsigned char *e = d->entries + i * 12;
    uint32_t ht = (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 |
                  (uint32_t)e[3] << 24;
    uint64_t b = 0;
    for (int k = 7; k >= 0; k--)
        b = b << 8 | e[4 + k];
    *host_id = ht >> 2;
    *tier = (locus_tier)(ht & 3);
    *bytes = b;
}

/* Name of a storage host id seen in this snapshot (a pointer into the
 * handle's host table, valid until locus_hs_close); NULL for an unknown id.
 * An array index once the id is known. */
const char *locus_hs_snapshot_host_name(locus_hs_snapshot *s, uint32_t host_id);

/* Id of a storage host name; LOCUS_ENOTFOUND if the store never saw it. One
 * B-tree get. */
int locus_hs_snapshot_host_id(locus_hs_snapshot *s, const char *host, uint32_t *host_id);

/* Looks up one block; same ownership and returns as above. */
int locus_hs_snapshot_block(locus_hs_snapshot *s, const char *dataset, uint64_t index,
                            const locus_hs_block_view **out);

/* One block's placement read in place from the mapped page, the block
 * counterpart of locus_hs_dataset_ref: no decode, no copy, no allocation;
 * valid until the snapshot closes. Read replica i with
 * locus_hs_block_replica_at; host ids are those of locus_hs_dataset_ref. */
typedef struct locus_hs_block_placement {
    uint64_t bytes;
    int64_t updated_at_ms;
    size_t n_replicas;              /* in the order of locus_hs_block_view's replicas */
    const unsigned char *replicas;  /* n_replicas x 4 bytes, little-endian */
    const char *backend;            /* owning backend: backend_len bytes, NOT NUL-terminated */
    size_t backend_len;
} locus_hs_block_placement;

/* Replica i (< b->n_replicas) of a block placement: {host id, tier}. */
static inline void locus_hs_block_replica_at(const locus_hs_block_placement *b, size_t i,
                                             uint32_t *host_id, locus_tier *tier)
{
    const unsigned char *e = b->replicas + i * 4;
    uint32_t ht = (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 |
                  (uint32_t)e[3] << 24;
    *host_id = ht >> 2;
    *tier = (locus_tier)(ht & 3);
}

/* A block's key: dataset name and block index (also the change feed's). */
typedef struct locus_hs_block_ref {
    const char *dataset;
    uint64_t index;
} locus_hs_block_ref;

/* Looks up n blocks at once: status[i] is what locus_hs_snapshot_block
 * returns for keys[i] (0, LOCUS_ENOTFOUND, or LOCUS_ECORRUPT counted and
 * reported with its key), and out[i] holds its placement when 0. The
 * values are checked as that call checks them, but read in place. Keys in
 * (dataset, index) order cost about one B-tree descent per leaf page (the
 * others start on the leaf the previous key ended on); other keys descend
 * up to 8 side by side so their cache misses overlap. A key's dataset is
 * read with strlen (an empty or over-long one is LOCUS_ENOTFOUND). Returns
 * 0 (the outcomes are in status[]) or LOCUS_EINVAL (a NULL argument or
 * dataset). */
int locus_hs_snapshot_block_refs(locus_hs_snapshot *s, const locus_hs_block_ref *keys, size_t n,
                                 locus_hs_block_placement *out, int *status);

/* Iteration callbacks: the view is valid only during the call. Return 0 to
 * go on, anything else to stop (the iterator then returns that value).
 * Undecodable values are counted and skipped. */
typedef int (*locus_hs_dataset_cb)(const locus_hs_dataset *d, void *arg);
typedef int (*locus_hs_block_cb)(const locus_hs_block_view *b, void *arg);
typedef int (*locus_hs_binding_cb)(const char *storage_host, const char *agent_hostname,
                                   const char *agent_id, void *arg);

/* Every dataset, in name order. */
int locus_hs_snapshot_foreach_dataset(locus_hs_snapshot *s, locus_hs_dataset_cb cb, void *arg);
/* Every dataset with bytes cached on storage host `host`, in name order. */
int locus_hs_snapshot_foreach_host_dataset(locus_hs_snapshot *s, const char *host,
                                           locus_hs_dataset_cb cb, void *arg);
/* Every block of one dataset, in index order. */
int locus_hs_snapshot_foreach_block(locus_hs_snapshot *s, const char *dataset,
                                    locus_hs_block_cb cb, void *arg);
/* Every host binding, in storage host order. */
int locus_hs_snapshot_foreach_binding(locus_hs_snapshot *s, locus_hs_binding_cb cb, void *arg);
/* Agent hostname bound to a storage host; the storage host itself when unbound. */
const char *locus_hs_snapshot_agent_for_host(locus_hs_snapshot *s, const char *storage_host);

/* Store metadata; *out owned by the snapshot. */
int locus_hs_snapshot_meta(locus_hs_snapshot *s, const locus_hs_meta **out);
int locus_hs_snapshot_stats(locus_hs_snapshot *s, locus_hs_stats *out);

/* ---- change feed -------------------------------------------------------- */

/* Generation of the store this snapshot reads (meta.writer_generation; 0 =
 * never written). Cheap: no decode after the first call. */
uint64_t locus_hs_snapshot_generation(locus_hs_snapshot *s);

typedef struct locus_hs_confirmed {
    const char *dataset;
    int64_t updated_at_ms; /* the summary's new updated_at_ms (its content is unchanged) */
} locus_hs_confirmed;

/* What changed between two generations. */
typedef struct locus_hs_changes {
    uint64_t since_generation; /* the generation asked about */
    uint64_t generation;       /* the snapshot's generation */
    /* 1: the difference is not known (since is older than the oldest record
     * kept, newer than the store - it was rebuilt -, written by a library
     * without the feed, or a commit changed more than a record holds). The
     * lists are then empty: read everything again from this snapshot. */
    int full_read_needed;
    /* Datasets whose content changed, were created or deleted (look them up:
     * LOCUS_ENOTFOUND = deleted). Sorted, unique. */
    const char *const *datasets;
    size_t n_datasets;
    /* Datasets a poll only confirmed: same blocks and placement, newer
     * updated_at_ms. Sorted, unique, none of them in `datasets`. */
    const locus_hs_confirmed *confirmed;
    size_t n_confirmed;
    /* Storage hosts whose binding was set (re-resolve them). Sorted, unique. */
    const char *const *hosts;
    size_t n_hosts;
    /* Blocks whose placement changed or that were deleted, sorted by dataset
     * then index; every one's dataset is in `datasets`. blocks_complete = 0
     * when a commit changed more blocks than a record holds: the list is then
     * empty and a reader that needs blocks re-reads those of `datasets`. */
    const locus_hs_block_ref *blocks;
    size_t n_blocks;
    int blocks_complete;
} locus_hs_changes;

/* What changed from generation `since` to this snapshot's generation, read
 * in the snapshot's own read transaction (so it is exact for this snapshot).
 * since == the snapshot's generation gives empty lists. The store keeps the
 * records of its last 128 commits (at most 32 MiB); an older `since` gives
 * full_read_needed. *out is owned by the snapshot, valid until close.
 * The records carry the new summaries of the datasets they list: once this
 * has been called, the snapshot answers lookups of those datasets from them
 * (the same answer as the tree's, without a B-tree descent into the pages
 * the writer has just rewritten).
 * Returns 0, LOCUS_EIO or LOCUS_ENOMEM. */
int locus_hs_snapshot_changes_since(locus_hs_snapshot *s, uint64_t since,
                                    const locus_hs_changes **out);

/* Values that failed to decode in this snapshot so far, and the last such
 * error naming its sub-database and key ("" if none). */
uint64_t locus_hs_snapshot_decode_errors(const locus_hs_snapshot *s);
const char *locus_hs_snapshot_errstr(const locus_hs_snapshot *s);

#ifdef __cplusplus
}
#endif
#endif
