/* Internal pieces of the hint store shared by its modules: the environment
 * handle, sub-database handles, key encodings, the decode arena and the
 * value codecs. Nothing here is part of the public API. */
#ifndef LOCUS_HINTSTORE_INTERNAL_H
#define LOCUS_HINTSTORE_INTERNAL_H

#include <lmdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "locus/hintstore.h"
#include "locus_hints.pb-c.h"

/* Sub-database names (docs/hint-store.md describes keys and values). */
#define HS_DB_META "meta"
#define HS_DB_DATASETS "datasets"
#define HS_DB_BLOCKS "blocks"
#define HS_DB_HOST_DATASETS "host_datasets"
#define HS_DB_OWNERS "owners"
#define HS_DB_HOSTS "hosts"
#define HS_DB_CHANGES "changes"
#define HS_META_KEY "meta"

/* Length limits keep every key under LMDB's 511-byte key limit:
 * owners key = backend NUL dataset NUL be64. */
#define HS_MAX_DATASET 400
#define HS_MAX_BACKEND 64
#define HS_MAX_HOST 255
/* Bytes of one block (64 PiB): sums over a store stay far from 2^63. */
#define HS_MAX_BLOCK_BYTES ((uint64_t)1 << 56)

#define HS_ERRLEN 512

struct locus_hs {
    MDB_env *env;
    MDB_dbi db_meta, db_datasets, db_blocks, db_host_datasets, db_owners, db_hosts, db_changes;
    int has_changes;  /* 0: a store written before the change feed, opened read-only */
    char *path;
    int read_only;
    int batch_active; /* one write transaction at a time per handle */
    int lock_fd;      /* writer.lock held (flock) by a writable handle; -1 otherwise */
    char err[HS_ERRLEN];
};

/* ---- errors ---- */
void hs_seterr(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Maps an LMDB return code to a Locus status and writes "<what>: <reason>" to buf. */
int hs_mdb_status(char *buf, int rc, const char *what);
/* Like hs_mdb_status for operations that touch the store's files: the
 * message names the store's data file, the OS reason and, when a write failed
 * with a bare I/O error, whether the file system is full (ENOSPC) or the
 * process file size limit was hit (EFBIG) - LMDB reports a short write as EIO. */
int hs_store_status(locus_hs *hs, int rc, const char *what);
/* Printable form of a key for messages (non-printable bytes escaped; block
 * keys shown as dataset#index). Writes at most outlen bytes, NUL-terminated. */
void hs_key_text(const char *db, const void *key, size_t len, char *out, size_t outlen);

/* ---- keys ---- */
/* blocks key: dataset NUL be64(index). Returns its length; buf must hold
 * strlen(dataset) + 9 bytes. */
size_t hs_block_key(char *buf, const char *dataset, size_t dlen, uint64_t index);
/* Splits a blocks key; returns 0 or -1 if it is not one. */
int hs_block_key_parse(const void *key, size_t len, const char **dataset, size_t *dlen,
                       uint64_t *index);
/* FNV-1a of s[0..n): the batch's name interning and the snapshot's cache. */
uint64_t hs_hash_bytes(const char *s, size_t n);
void hs_be64_put(unsigned char *p, uint64_t v);
uint64_t hs_be64_get(const unsigned char *p);

/* ---- arena ---- */
/* Bump allocator for decoded values. Chunks are kept on reset so a reused
 * arena settles to no allocation at all. */
typedef struct hs_chunk hs_chunk;
typedef struct hs_arena {
    hs_chunk *head;  /* chunk being filled */
    hs_chunk *first; /* all chunks, in order */
    size_t chunk_size;
    int failed;      /* an allocation failed since the last reset */
    ProtobufCAllocator pb; /* protobuf-c allocator bound to this arena */
} hs_arena;

void hs_arena_init(hs_arena *a, size_t chunk_size);
void *hs_arena_alloc(hs_arena *a, size_t n);
char *hs_arena_strndup(hs_arena *a, const char *s, size_t n);
void hs_arena_reset(hs_arena *a);
void hs_arena_free(hs_arena *a);

/* ---- codecs ---- */
/* protobuf-c unpack into the arena; NULL if the bytes do not decode. */
Locus__DatasetSummary *hs_decode_summary(hs_arena *a, const MDB_val *v);
Locus__BlockPlacement *hs_decode_block(hs_arena *a, const MDB_val *v);
Locus__HostBinding *hs_decode_binding(hs_arena *a, const MDB_val *v);
Locus__StoreMeta *hs_decode_meta(hs_arena *a, const MDB_val *v);
/* Packs msg and puts it under key with MDB_RESERVE (no intermediate copy). */
int hs_put_message(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, const ProtobufCMessage *msg,
                   unsigned flags);
/* Tier of a stored value: unknown values read as HDD (proto comment). */
locus_tier hs_tier_from_pb(int t);

/* ---- change feed (hintstore_feed.c) ---- */
/* Bounds of the feed: records kept, bytes kept, and per-record caps beyond
 * which a list is replaced by an overflow flag. */
#define HS_FEED_KEEP 128
#define HS_FEED_KEEP_BYTES ((size_t)32 << 20)
#define HS_FEED_MAX_NAME_BYTES ((size_t)1 << 20)
#define HS_FEED_MAX_BLOCKS 65536

typedef struct hs_feed_list {
    unsigned char *buf;
    size_t len, cap;
    uint32_t count;
    int overflow;
} hs_feed_list;

/* What one commit changed, collected during the walk. */
typedef struct hs_feed {
    hs_feed_list datasets, confirmed, hosts, blocks;
} hs_feed;

/* changed = content moved (or created/deleted); else only confirmed. */
int hs_feed_dataset(hs_feed *f, const char *name, size_t n, int changed);
int hs_feed_host(hs_feed *f, const char *host);
/* A block of the dataset being walked (listed next by hs_feed_dataset). */
int hs_feed_block(hs_feed *f, uint64_t index);
void hs_feed_free(hs_feed *f);
/* Stores f as the record of `generation` and trims old records. */
int hs_feed_write(locus_hs *hs, MDB_txn *txn, const hs_feed *f, uint64_t generation,
                  int64_t now_ms);
/* Fills out with the changes between generations since and current, read in
 * txn into arena a; a missing or overflowed record sets full_read_needed. */
int hs_feed_read(locus_hs *hs, MDB_txn *txn, hs_arena *a, uint64_t since, uint64_t current,
                 locus_hs_changes *out, char *err);

/* ---- meta (used by the writer paths) ---- */
/* Reads and decodes the meta record in txn into arena a; *out NULL if absent.
 * Returns 0, LOCUS_ECORRUPT or an LMDB-derived status (message in err). */
int hs_meta_read(locus_hs *hs, MDB_txn *txn, hs_arena *a, Locus__StoreMeta **out, char *err);

#endif
