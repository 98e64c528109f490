/* Internal pieces of the hint store shared by its modules: the environment
 * handle, sub-database handles, key encodings, the decode arena and the
 * value codecs. Nothing here is part of the public API. */
#ifndef LOCUS_HINTSTORE_INTERNAL_H
#define LOCUS_HINTSTORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "locus/hintstore.h"
#include "locus_hints.pb-c.h"

/* Sub-database names (docs/hint-store.md describes keys and values). */
#define HS_DB_META "meta"
#define HS_DB_DATASETS "datasets"
#define HS_DB_BLOCKS "blocks"
/* host index (version 3): key = storage host id, sorted duplicate values =
 * the ids of the datasets with bytes there (u32, native order: MDB_INTEGERKEY
 * | MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP), so a host's datasets sit
 * packed 4 bytes each and a fresh store writes each host's list in one call */
#define HS_DB_HOST_DATASETS "host_sets"
/* dataset id -> dataset name (MDB_INTEGERKEY); the id is in the summary */
#define HS_DB_DATASET_NAMES "dataset_names"
/* sub-databases of older versions, deleted by the upgrade */
#define HS_DB_HOST_DATASETS_V1 "host_datasets" /* version 1: DUPSORT host name -> dataset */
#define HS_DB_HOST_INDEX_V2 "host_index"       /* version 2: be32 host id + name keys */
#define HS_DB_OWNERS_V2 "owners"               /* versions 1-2: backend NUL block key */
#define HS_DB_HOSTS "hosts"
#define HS_DB_CHANGES "changes"
#define HS_DB_HOST_IDS "host_ids"
#define HS_DB_HOST_NAMES "host_names"
#define HS_META_KEY "meta"

/* Length limits keep every key under LMDB's 511-byte key limit (the longest,
 * a blocks key, is dataset NUL be64; they were set when version 2's owners
 * key, backend NUL blocks key, had to fit as well, and stay for callers). */
#define HS_MAX_DATASET 400
#define HS_MAX_BACKEND 64
#define HS_MAX_HOST 255
/* Bytes of one block (64 PiB): sums over a store stay far from 2^63. */
#define HS_MAX_BLOCK_BYTES ((uint64_t)1 << 56)
/* Dataset ids stay below 2^31 (the writer packs an add/remove bit beside
 * one); a store that used them all is rebuilt. */
#define HS_MAX_DATASET_ID ((uint32_t)1 << 31)

#define HS_ERRLEN 512

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
/* malloc for memory read at random; from 2 MiB on aligned to and advised as
 * huge pages (fewer TLB misses). Released with free(). */
void *hs_big_alloc(size_t n);
/* A grown array kept for reuse: p holding cap bytes, or NULL. */
typedef struct hs_spare {
    void *p;
    size_t cap;
} hs_spare;
/* Keeps p (cap bytes, from malloc) in *sp for the next user if it is 2 MiB
 * or more (its pages handed back with MADV_FREE, so the kernel may take
 * them under memory pressure and a reuse refaults nothing otherwise), frees
 * it if not; whatever *sp held before is released. A NULL p changes
 * nothing. */
void hs_spare_keep(hs_spare *sp, void *p, size_t cap);
/* Takes what *sp holds (*cap its bytes; NULL and 0 if nothing). */
void *hs_spare_take(hs_spare *sp, size_t *cap);

/* ---- interned host names (hintstore_hosts.c) ---- */
/* Ids 0 .. HS_MAX_HOST_IDS-1; a replica packs id << 2 | tier in 32 bits. */
#define HS_HOSTTAB_CHUNK 4096
#define HS_HOSTTAB_CHUNKS 1024
#define HS_MAX_HOST_IDS ((uint32_t)HS_HOSTTAB_CHUNK * HS_HOSTTAB_CHUNKS)

typedef struct hs_hosttab {
    pthread_mutex_t mu;          /* held while extending */
    _Atomic uint32_t n;          /* ids 0..n-1 are resolved */
    char **chunks[HS_HOSTTAB_CHUNKS];
    hs_arena names;
} hs_hosttab;

struct locus_hs {
    MDB_env *env;
    MDB_dbi db_meta, db_datasets, db_blocks, db_host_datasets, db_hosts, db_changes;
    MDB_dbi db_host_ids, db_host_names, db_dataset_names;
    hs_hosttab hosttab;  /* id -> name of committed ids, shared by this handle's snapshots */
    /* A closed snapshot's arena and cache, kept for the next snapshot so a
     * cycle of snapshots settles to no malloc and no fresh pages. */
    pthread_mutex_t spare_mu;
    hs_arena spare_arena, spare_ents;
    int has_spare;
    void *spare_cache;
    size_t spare_ncache;
    void *spare_blk_window; /* a closed snapshot's batched block lookup state (about 20 KB) */
    /* A closed snapshot's read transaction, reset: it keeps its reader slot
     * (and pins no pages), so the next snapshot renews it instead of finding
     * a slot in the shared reader table, which took most of an open. */
    MDB_txn *spare_txn;
    /* A finished batch's large arrays (operations, replicas, host index
     * changes; from 2 MiB on, given back lazily with MADV_FREE), kept for the
     * next batch: a steady poll settles to no fresh memory for them. */
    hs_spare spare_ops, spare_reps, spare_hd;
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
/* Hash of s[0..n) for in-memory tables (the batch's name interning, the
 * snapshot's dataset cache); not stored anywhere, so it may change. */
uint64_t hs_hash_bytes(const char *s, size_t n);
void hs_be64_put(unsigned char *p, uint64_t v);
uint64_t hs_be64_get(const unsigned char *p);

/* ---- string interning (hintstore_strtab.c) ---- */
/* Names to dense ids and back, for a batch's datasets and hosts. A slot
 * holds what a probe compares (16 bits of the hash and the length) and the
 * string itself, so a lookup reads the slot and then the string, without
 * the id's entry in strs in between: a batch interns three host names a
 * block, and in a large one the table is out of the cache. */
typedef struct hs_strslot {
    uint32_t check; /* the hash's top 16 bits << 16 | the length */
    uint32_t id1;   /* id + 1; 0 = empty */
    const char *str;
} hs_strslot;

typedef struct hs_strtab {
    char **strs; /* id -> name (NUL-terminated, in arena) */
    uint32_t n, cap;
    hs_strslot *slots;
    size_t nslots;
    hs_arena arena;
} hs_strtab;

/* The id of s[0..n) (n <= HS_MAX_DATASET, no NUL inside), adding it if
 * new; -1 on allocation failure. _h takes hs_hash_bytes(s, n) computed by
 * the caller (who may have prefetched its slot). */
int64_t hs_strtab_intern(hs_strtab *t, const char *s, size_t n);
int64_t hs_strtab_intern_h(hs_strtab *t, const char *s, size_t n, uint64_t h);
void hs_strtab_free(hs_strtab *t);

/* Fetches the slot where a name of hash h is looked up first. */
static inline void hs_strtab_prefetch(const hs_strtab *t, uint64_t h)
{
    if (t->nslots)
        __builtin_prefetch(&t->slots[h & (t->nslots - 1)]);
}

/* Name of an id already covered (hs_hosttab_cover): an array index. */
static inline const char *hs_hosttab_name_known(const locus_hs *hs, uint32_t id)
{
    return hs->hosttab.chunks[id / HS_HOSTTAB_CHUNK][id % HS_HOSTTAB_CHUNK];
}

/* ---- codecs ---- */
/* protobuf-c unpack into the arena; NULL if the bytes do not decode. */
Locus__HostBinding *hs_decode_binding(hs_arena *a, const MDB_val *v);
Locus__StoreMeta *hs_decode_meta(hs_arena *a, const MDB_val *v);
/* Packs msg and puts it under key with MDB_RESERVE (no intermediate copy). */
int hs_put_message(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, const ProtobufCMessage *msg,
                   unsigned flags);
/* Tier of a stored value: unknown values read as HDD (proto comment). */
locus_tier hs_tier_from_pb(int t);

/* ---- fixed layout of summaries and blocks (hintstore_layout.c) ---- */
#define HS_LAYOUT_MAGIC0 0x4c /* 'L' */
#define HS_LAYOUT_MAGIC1 0x48 /* 'H' */
#define HS_LAYOUT_VERSION 3
#define HS_KIND_SUMMARY 1
#define HS_KIND_BLOCK 2
#define HS_SUMMARY_HEAD 44
#define HS_SUMMARY_ENTRY 12
#define HS_SUMMARY_MAX_ENTRIES (1u << 24)
#define HS_BLOCK_HEAD 24
#define HS_MAX_REPLICAS 4096

/* A summary read in place: entries are {le32 host id << 2 | tier, le64 bytes}. */
typedef struct hs_summary {
    uint64_t total_bytes, block_count, version;
    int64_t updated_at_ms;
    uint32_t n;
    uint32_t dataset_id; /* the dataset's key in dataset_names and the host index */
    uint32_t max_host; /* highest host id + 1 (0 if none) */
    const unsigned char *ents;
} hs_summary;

/* A block placement read in place: replicas are le32 (host id << 2 | tier). */
typedef struct hs_blockrec {
    uint64_t bytes;
    int64_t updated_at_ms;
    uint32_t n_rep, max_host;
    const unsigned char *reps;
    const char *backend; /* not NUL-terminated */
    size_t backend_len;
} hs_blockrec;

/* Little-endian fields at any alignment (LMDB aligns values to 2 bytes);
 * inline, as they sit on every read. */
static inline uint32_t hs_le32_get(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}
static inline uint64_t hs_le64_get(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}
static inline void hs_le32_put(unsigned char *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(p, &v, 4);
}
static inline void hs_le64_put(unsigned char *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}
/* Entry i of a parsed summary. */
static inline void hs_summary_entry(const hs_summary *s, uint32_t i, uint32_t *host,
                                    uint32_t *tier, uint64_t *bytes)
{
    const unsigned char *e = s->ents + (size_t)i * HS_SUMMARY_ENTRY;
    uint32_t ht = hs_le32_get(e);
    *host = ht >> 2;
    *tier = ht & 3;
    *bytes = hs_le64_get(e + 4);
}

/* Validate lengths, header, tiers and id range; 0 or -1 (does not decode). */
int hs_summary_parse(const void *data, size_t len, hs_summary *out);
int hs_blockrec_parse(const void *data, size_t len, hs_blockrec *out);
size_t hs_summary_size(uint32_t n);
/* Writes the head of s (n, totals, dataset id); entries follow with hs_summary_entry_put. */
void hs_summary_write(unsigned char *p, const hs_summary *s);
void hs_summary_entry_put(unsigned char *p, uint32_t i, uint32_t host, uint32_t tier,
                          uint64_t bytes);
size_t hs_blockrec_size(uint32_t n_rep, size_t backend_len);
void hs_blockrec_write(unsigned char *p, uint64_t bytes, int64_t updated_at_ms,
                       const uint32_t *reps, uint32_t n_rep, const char *backend,
                       size_t backend_len);

void hs_hosttab_init(hs_hosttab *t);
void hs_hosttab_free(hs_hosttab *t);
/* Makes ids below max_host resolvable, reading committed names from the read
 * transaction txn; 0, or -1 if txn does not know them all (a damaged value). */
int hs_hosttab_cover(locus_hs *hs, MDB_txn *txn, uint32_t max_host);
/* Name of id (covering it first); NULL if unknown. */
const char *hs_hosttab_name(locus_hs *hs, MDB_txn *txn, uint32_t id);
uint32_t hs_be32_get(const void *p);
void hs_be32_put(unsigned char *p, uint32_t v);
/* Writer side, inside any transaction; LMDB return codes. */
int hs_host_id_get(locus_hs *hs, MDB_txn *txn, const char *name, size_t len, uint32_t *id);
int hs_host_id_count(locus_hs *hs, MDB_txn *txn, uint32_t *n);
int hs_host_id_add(locus_hs *hs, MDB_txn *txn, const char *name, size_t len, uint32_t id);
int hs_host_name_get(locus_hs *hs, MDB_txn *txn, uint32_t id, const char **name, size_t *len);

/* ---- read-only B-tree search over mapped pages (hintstore_btree.c) ---- */
typedef struct hs_bt {
    const unsigned char *base; /* the map */
    size_t psize;
    uint64_t npages; /* pages in the file when the search was set up */
    uint64_t root;   /* (uint64_t)-1: empty */
    unsigned depth;
    int integer_keys;
    int ok;
    const unsigned char *last_leaf; /* leaf of the last hs_bt_find_one, or NULL */
} hs_bt;

enum { HS_BT_ENTER, HS_BT_SEARCH, HS_BT_FOUND, HS_BT_ABSENT, HS_BT_FALLBACK };

typedef struct hs_bt_query {
    const char *key;
    size_t klen;
    /* out: state HS_BT_FOUND (value, vlen), HS_BT_ABSENT, or HS_BT_FALLBACK
     * (ask LMDB: something this search does not read) */
    int state;
    const unsigned char *value;
    size_t vlen;
    /* search state */
    const unsigned char *page;
    int lo, hi, mid;
    int branch; /* the page searched is a branch page */
    unsigned level;
    int wide; /* prefetch the nodes of a page's first search rounds at once */
    /* in, hs_bt_find_near only: a leaf to start on instead of the root
     * (one a search of this tree ended on), or NULL; and the node index to
     * compare with first there (-1: none). Out, at HS_BT_FOUND: mid is the
     * index of the node found */
    const unsigned char *start;
    int hint;
    /* the branch page above the leaf a search ends on and the leaf's node
     * there (out: where this search went; in, with start: start's, or
     * NULL), so that a key past the end of start is looked for on the next
     * leaf before a descent from the root */
    const unsigned char *parent;
    int pidx;
} hs_bt_query;

/* Sets t up for sub-database dbname in read transaction txn; 0, or -1 if
 * this search cannot read it (every key then falls back to LMDB). */
int hs_bt_open(hs_bt *t, MDB_env *env, MDB_txn *txn, const char *dbname);
/* Searches the n keys side by side (t opened with hs_bt_open). */
void hs_bt_find(const hs_bt *t, hs_bt_query *q, size_t n);
/* Searches one key (q->key, q->klen), prefetching the nodes each page's
 * binary search will compare with; starts on the leaf of the previous call
 * when the key lies within it. */
void hs_bt_find_one(hs_bt *t, hs_bt_query *q);
/* Searches the n keys side by side as hs_bt_find does, except that a query
 * with start set begins on that leaf (comparing with node hint first)
 * instead of the root, goes on to the next leaf under parent if the key lies
 * past start's last key, and starts again from the root if the key is not
 * there and lies outside the leaf's keys. A query that ends on a leaf
 * (HS_BT_FOUND or HS_BT_ABSENT with page set) tells the next key in order
 * where to start: page, and mid + 1 (found) or lo (absent). A reader going
 * through keys in order thus descends about once per leaf and compares
 * about once per key. */
void hs_bt_find_near(const hs_bt *t, hs_bt_query *q, size_t n);

/* ---- change feed (hintstore_feed.c) ---- */
/* Bounds of the feed: records kept, bytes kept, and per-record caps beyond
 * which a list is replaced by an overflow flag. */
#define HS_FEED_KEEP 128
#define HS_FEED_KEEP_BYTES ((size_t)32 << 20)
#define HS_FEED_MAX_NAME_BYTES ((size_t)1 << 20)
#define HS_FEED_MAX_BLOCKS 65536
#define HS_FEED_MAX_VALUE_BYTES ((size_t)4 << 20)

typedef struct hs_feed_list {
    unsigned char *buf;
    size_t len, cap;
    uint32_t count;
    int overflow;
} hs_feed_list;

/* What one commit changed, collected during the walk. */
typedef struct hs_feed {
    hs_feed_list datasets, confirmed, hosts, blocks;
    hs_feed_list values; /* each changed dataset's new summary value, in datasets order */
} hs_feed;

/* changed = content moved (or created/deleted); else only confirmed. A
 * changed dataset's new summary value is value[0..vlen) (copied), NULL when
 * the commit deleted it. */
int hs_feed_dataset(hs_feed *f, const char *name, size_t n, int changed, const void *value,
                    size_t vlen);
int hs_feed_host(hs_feed *f, const char *host);
/* A block of the dataset being walked (listed next by hs_feed_dataset). */
int hs_feed_block(hs_feed *f, uint64_t index);
void hs_feed_free(hs_feed *f);
/* Parses one stored feed record (the fuzz target's entry); 0 or -1. */
int hs_feed_parse(hs_arena *a, const MDB_val *v);
/* Stores f as the record of `generation` and trims old records. */
int hs_feed_write(locus_hs *hs, MDB_txn *txn, const hs_feed *f, uint64_t generation,
                  int64_t now_ms);
/* The summary values the feed carries for out->datasets (parallel to it),
 * pointing into the records in the read transaction: a reader of those
 * datasets takes them from here instead of the datasets tree. */
#define HS_FEED_VALUE_UNKNOWN UINT32_MAX /* not carried: read the tree */
#define HS_FEED_VALUE_DELETED (UINT32_MAX - 1)
typedef struct hs_feed_values {
    const unsigned char *const *value;
    const uint32_t *len; /* bytes, or HS_FEED_VALUE_UNKNOWN / _DELETED */
    size_t n, n_known;
} hs_feed_values;

/* Fills out with the changes between generations since and current, read in
 * txn into arena a; a missing or overflowed record sets full_read_needed.
 * vals (may be NULL) gets the summary values the records carry. */
int hs_feed_read(locus_hs *hs, MDB_txn *txn, hs_arena *a, uint64_t since, uint64_t current,
                 locus_hs_changes *out, hs_feed_values *vals, char *err);

/* ---- meta (used by the writer paths) ---- */
/* Reads and decodes the meta record in txn into arena a; *out NULL if absent.
 * Returns 0, LOCUS_ECORRUPT or an LMDB-derived status (message in err). */
int hs_meta_read(locus_hs *hs, MDB_txn *txn, hs_arena *a, Locus__StoreMeta **out, char *err);

#endif
