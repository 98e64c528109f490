/* Interned storage host names: `host_ids` (name -> 4-byte little-endian id)
 * and `host_names` (4-byte big-endian id -> name), so summaries and blocks
 * hold 4-byte ids instead of strings.
 *
 * Ids are handed out densely from 0 by the writer and never reused or
 * renamed, so a name learnt for an id stays true for the life of the store.
 * That lets a handle keep one id -> name table for all its snapshots: it is
 * append-only (fixed chunks that never move), extended under a mutex from a
 * read transaction when a value names an id beyond it, and read without a
 * lock (the count is published with release/acquire ordering). A write
 * transaction never extends it: ids it assigns may still be rolled back. */
#include <stdlib.h>
#include <string.h>

#include "hintstore_internal.h"

void hs_hosttab_init(hs_hosttab *t)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    atomic_init(&t->n, 0);
    hs_arena_init(&t->names, 65536);
}

void hs_hosttab_free(hs_hosttab *t)
{
    for (size_t i = 0; i < HS_HOSTTAB_CHUNKS; i++)
        free(t->chunks[i]);
    hs_arena_free(&t->names);
    pthread_mutex_destroy(&t->mu);
}

/* Reads ids n, n+1, ... from txn until one is missing (or damaged). */
static void extend(locus_hs *hs, MDB_txn *txn)
{
    hs_hosttab *t = &hs->hosttab;
    uint32_t n = atomic_load_explicit(&t->n, memory_order_relaxed);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, hs->db_host_names, &cur) != 0)
        return;
    unsigned char kb[4];
    hs_be32_put(kb, n);
    MDB_val k = {4, kb}, v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0 && n < HS_MAX_HOST_IDS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 4 || hs_be32_get(k.mv_data) != n || v.mv_size == 0 ||
            v.mv_size > HS_MAX_HOST || memchr(v.mv_data, '\0', v.mv_size))
            break;
        char **chunk = t->chunks[n / HS_HOSTTAB_CHUNK];
        if (!chunk && !(chunk = t->chunks[n / HS_HOSTTAB_CHUNK] =
                            calloc(HS_HOSTTAB_CHUNK, sizeof(char *))))
            break;
        char *s = hs_arena_strndup(&t->names, v.mv_data, v.mv_size);
        if (!s)
            break;
        chunk[n % HS_HOSTTAB_CHUNK] = s;
        n++;
        atomic_store_explicit(&t->n, n, memory_order_release);
    }
    mdb_cursor_close(cur);
}

int hs_hosttab_cover(locus_hs *hs, MDB_txn *txn, uint32_t max_host)
{
    hs_hosttab *t = &hs->hosttab;
    if (max_host <= atomic_load_explicit(&t->n, memory_order_acquire))
        return 0;
    pthread_mutex_lock(&t->mu);
    if (max_host > atomic_load_explicit(&t->n, memory_order_relaxed))
        extend(hs, txn);
    pthread_mutex_unlock(&t->mu);
    return max_host <= atomic_load_explicit(&t->n, memory_order_acquire) ? 0 : -1;
}

const char *hs_hosttab_name(locus_hs *hs, MDB_txn *txn, uint32_t id)
{
    if (id >= HS_MAX_HOST_IDS || hs_hosttab_cover(hs, txn, id + 1) != 0)
        return NULL;
    return hs_hosttab_name_known(hs, id);
}

uint32_t hs_be32_get(const void *p)
{
    const unsigned char *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

void hs_be32_put(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

int hs_host_id_get(locus_hs *hs, MDB_txn *txn, const char *name, size_t len, uint32_t *id)
{
    MDB_val k = {len, (void *)name}, v;
    int rc = mdb_get(txn, hs->db_host_ids, &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != 4)
        return MDB_CORRUPTED;
    *id = hs_le32_get(v.mv_data);
    return *id < HS_MAX_HOST_IDS ? 0 : MDB_CORRUPTED;
}

int hs_host_id_count(locus_hs *hs, MDB_txn *txn, uint32_t *n)
{
    /* The last key of host_names is the highest id: ids are dense. */
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, hs->db_host_names, &cur);
    if (rc)
        return rc;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        *n = 0;
        return 0;
    }
    if (rc)
        return rc;
    if (k.mv_size != 4)
        return MDB_CORRUPTED;
    *n = hs_be32_get(k.mv_data) + 1;
    return 0;
}

int hs_host_id_add(locus_hs *hs, MDB_txn *txn, const char *name, size_t len, uint32_t id)
{
    unsigned char kb[4], vb[4];
    hs_be32_put(kb, id);
    hs_le32_put(vb, id);
    MDB_val k = {4, kb}, v = {len, (void *)name}, nk = {len, (void *)name}, nv = {4, vb};
    int rc = mdb_put(txn, hs->db_host_names, &k, &v, MDB_APPEND);
    if (rc == 0)
        rc = mdb_put(txn, hs->db_host_ids, &nk, &nv, 0);
    return rc;
}

int hs_host_name_get(locus_hs *hs, MDB_txn *txn, uint32_t id, const char **name, size_t *len)
{
    unsigned char kb[4];
    hs_be32_put(kb, id);
    MDB_val k = {4, kb}, v;
    int rc = mdb_get(txn, hs->db_host_names, &k, &v);
    if (rc)
        return rc;
    if (v.mv_size == 0 || v.mv_size > HS_MAX_HOST || memchr(v.mv_data, '\0', v.mv_size))
        return MDB_CORRUPTED;
    *name = v.mv_data;
    *len = v.mv_size;
    return 0;
}
