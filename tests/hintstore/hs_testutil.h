/* Shared helpers of the hint store tests: a temporary store folder that is
 * removed again (also when a check fails, via the cmocka teardown), raw LMDB
 * access for planting bad values, and a tiny seeded RNG. */
#ifndef HS_TESTUTIL_H
#define HS_TESTUTIL_H

#include <dirent.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* mkdtemp under TMPDIR (or /tmp); returns a malloc'd path or NULL. */
static inline char *hs_t_mkdtemp(void)
{
    char buf[512];
    return tu_mkdtemp(buf, sizeof buf, "hs") == 0 ? strdup(buf) : NULL;
}

static inline void hs_t_rmtree(char *path)
{
    if (path) {
        tu_rm_r(path);
        free(path);
    }
}

/* Puts raw bytes under key in sub-database db of the store at path (no
 * locus_hs may be open on it in this process). Returns an LMDB code. */
static inline int hs_t_raw_put(const char *path, const char *db, const void *key, size_t klen,
                        const void *val, size_t vlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc = mdb_env_create(&env);
    if (rc)
        return rc;
    mdb_env_set_maxdbs(env, 8);
    if ((rc = mdb_env_open(env, path, MDB_NOTLS, 0664)) == 0 &&
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
        if ((rc = mdb_dbi_open(txn, db, 0, &dbi)) == 0 && (rc = mdb_put(txn, dbi, &k, &v, 0)) == 0)
            rc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    mdb_env_close(env);
    return rc;
}

/* Copy of the raw value under key in sub-database db (malloc'd, *vlen set),
 * or NULL. No locus_hs may be open on the store in this process. */
static inline void *hs_t_raw_get(const char *path, const char *db, const void *key, size_t klen,
                                 size_t *vlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v;
    void *out = NULL;
    if (mdb_env_create(&env))
        return NULL;
    mdb_env_set_maxdbs(env, 8);
    if (mdb_env_open(env, path, MDB_NOTLS | MDB_RDONLY, 0664) == 0 &&
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
        if (mdb_dbi_open(txn, db, 0, &dbi) == 0 && mdb_get(txn, dbi, &k, &v) == 0 &&
            (out = malloc(v.mv_size + 1)) != NULL) {
            memcpy(out, v.mv_data, v.mv_size);
            *vlen = v.mv_size;
        }
        mdb_txn_abort(txn);
    }
    mdb_env_close(env);
    return out;
}

/* Number of entries (all duplicates) in sub-database db, or -1. */
static inline long long hs_t_raw_count(const char *path, const char *db)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat st;
    long long n = -1;
    if (mdb_env_create(&env))
        return -1;
    mdb_env_set_maxdbs(env, 8);
    if (mdb_env_open(env, path, MDB_NOTLS | MDB_RDONLY, 0664) == 0 &&
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
        if (mdb_dbi_open(txn, db, 0, &dbi) == 0 && mdb_stat(txn, dbi, &st) == 0)
            n = (long long)st.ms_entries;
        mdb_txn_abort(txn);
    }
    mdb_env_close(env);
    return n;
}

static inline uint64_t hs_t_rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Block key as the store writes it: dataset NUL be64(index). */
static inline size_t hs_t_block_key(char *buf, const char *ds, uint64_t index)
{
    size_t n = strlen(ds);
    memcpy(buf, ds, n + 1);
    for (int i = 0; i < 8; i++)
        buf[n + 1 + i] = (char)(index >> (56 - 8 * i));
    return n + 9;
}

#endif
