/* Hint store environment: open, schema check, close.
 *
 * One LMDB environment per store folder, opened with MDB_NOTLS so that a read
 * transaction (a snapshot) belongs to its handle rather than to a thread: the
 * allocator may open a snapshot on one thread and use it on another, and a
 * process may keep a snapshot while it also writes. The sub-database handles
 * are opened once here and shared by every transaction of this handle.
 *
 * The `meta` record carries the schema version; a store written with another
 * layout is refused at open instead of being misread. A writer initialises
 * meta in the same transaction that creates the sub-databases, so a reader
 * never sees a half-created store. Batches live in hintstore_batch.c,
 * snapshots in hintstore_snapshot.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hintstore_internal.h"

#define HS_DEFAULT_MAP ((size_t)1 << 30)

static void copy_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* mkdir -p: the probe's default store folder may not exist on a fresh host. */
static int make_dirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return ENOMEM;
    int rc = 0;
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0775) != 0 && errno != EEXIST) {
                rc = errno;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return rc;
}

static int open_dbis(locus_hs *hs, MDB_txn *txn, unsigned create)
{
    static const struct { const char *name; size_t off; unsigned flags; } dbs[] = {
        {HS_DB_META, offsetof(locus_hs, db_meta), 0},
        {HS_DB_DATASETS, offsetof(locus_hs, db_datasets), 0},
        {HS_DB_BLOCKS, offsetof(locus_hs, db_blocks), 0},
        {HS_DB_HOST_DATASETS, offsetof(locus_hs, db_host_datasets), MDB_DUPSORT},
        {HS_DB_OWNERS, offsetof(locus_hs, db_owners), 0},
        {HS_DB_HOSTS, offsetof(locus_hs, db_hosts), 0},
    };
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        MDB_dbi *d = (MDB_dbi *)((char *)hs + dbs[i].off);
        int rc = mdb_dbi_open(txn, dbs[i].name, dbs[i].flags | create, d);
        if (rc == MDB_NOTFOUND) {
            hs_seterr(hs->err, "%s: not a Locus hint store (sub-database '%s' missing)",
                      hs->path, dbs[i].name);
            return LOCUS_ENOTFOUND;
        }
        if (rc) {
            char what[HS_ERRLEN];
            snprintf(what, sizeof(what), "%s: open sub-database %s", hs->path, dbs[i].name);
            return hs_mdb_status(hs->err, rc, what);
        }
    }
    return 0;
}

/* Checks (reader) or initialises (writer) the meta record. */
static int check_meta(locus_hs *hs, MDB_txn *txn)
{
    hs_arena a;
    Locus__StoreMeta *m;
    hs_arena_init(&a, 4096);
    int rc = hs_meta_read(hs, txn, &a, &m, hs->err);
    if (rc == 0 && m && m->schema_version != LOCUS_HS_SCHEMA_VERSION) {
        hs_seterr(hs->err, "hint store %s has schema version %u; this build reads version %d",
                  hs->path, m->schema_version, LOCUS_HS_SCHEMA_VERSION);
        rc = LOCUS_ESCHEMA;
    } else if (rc == 0 && !m) {
        if (hs->read_only) {
            hs_seterr(hs->err, "%s: not a Locus hint store (no meta record)", hs->path);
            rc = LOCUS_ENOTFOUND;
        } else {
            Locus__StoreMeta nm = LOCUS__STORE_META__INIT;
            nm.schema_version = LOCUS_HS_SCHEMA_VERSION;
            MDB_val k = {sizeof(HS_META_KEY) - 1, (void *)HS_META_KEY};
            int mrc = hs_put_message(txn, hs->db_meta, &k, &nm.base, 0);
            if (mrc)
                rc = hs_mdb_status(hs->err, mrc, "initialise meta");
        }
    }
    hs_arena_free(&a);
    return rc;
}

int locus_hs_open(const char *path, const locus_hs_options *opts, locus_hs **out,
                  char *err, size_t errlen)
{
    locus_hs_options o = {0};
    struct stat st;
    int rc;

    if (out)
        *out = NULL;
    if (!path || !*path || !out) {
        copy_err(err, errlen, "locus_hs_open: path and out are required");
        return LOCUS_EINVAL;
    }
    if (opts)
        o = *opts;
    locus_hs *hs = calloc(1, sizeof(*hs));
    if (!hs || !(hs->path = strdup(path))) {
        free(hs);
        copy_err(err, errlen, "locus_hs_open: out of memory");
        return LOCUS_ENOMEM;
    }
    hs->read_only = o.read_only;

    if (stat(path, &st) != 0) {
        if (errno != ENOENT || o.read_only || !o.create) {
            hs_seterr(hs->err, "%s: %s", path, strerror(errno));
            rc = errno == ENOENT ? LOCUS_ENOTFOUND : LOCUS_EIO;
            goto fail;
        }
        int mrc = make_dirs(path);
        if (mrc) {
            hs_seterr(hs->err, "%s: cannot create folder: %s", path, strerror(mrc));
            rc = LOCUS_EIO;
            goto fail;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        hs_seterr(hs->err, "%s: not a folder", path);
        rc = LOCUS_EINVAL;
        goto fail;
    }
    char data[4096];
    snprintf(data, sizeof(data), "%s/data.mdb", path);
    int exists = stat(data, &st) == 0;
    if (!exists && (o.read_only || !o.create)) {
        hs_seterr(hs->err, "%s: no hint store here (data.mdb missing)", path);
        rc = LOCUS_ENOTFOUND;
        goto fail;
    }
    size_t want = o.map_size ? o.map_size : HS_DEFAULT_MAP;

    if ((rc = mdb_env_create(&hs->env)) != 0 || (rc = mdb_env_set_maxdbs(hs->env, 8)) != 0 ||
        (rc = mdb_env_set_maxreaders(hs->env, o.max_readers ? o.max_readers : 126)) != 0 ||
        (!exists && (rc = mdb_env_set_mapsize(hs->env, want)) != 0)) {
        rc = hs_mdb_status(hs->err, rc, path);
        goto fail;
    }
    /* A reader (the allocator) looks datasets up at random: OS read-ahead would
     * only pull unrelated pages into its resident memory. */
    unsigned flags = MDB_NOTLS | (o.no_sync ? MDB_NOSYNC : 0) |
                     (o.read_only ? MDB_RDONLY | MDB_NORDAHEAD : 0);
    rc = mdb_env_open(hs->env, path, flags, 0664);
    if (rc) {
        rc = hs_mdb_status(hs->err, rc, path);
        goto fail;
    }
    if (!o.read_only && exists) {
        /* The map only grows: an existing larger store keeps its size. */
        MDB_envinfo info;
        mdb_env_info(hs->env, &info);
        if (want > info.me_mapsize && (rc = mdb_env_set_mapsize(hs->env, want)) != 0) {
            rc = hs_mdb_status(hs->err, rc, path);
            goto fail;
        }
    }

    MDB_txn *txn;
    rc = mdb_txn_begin(hs->env, NULL, o.read_only ? MDB_RDONLY : 0, &txn);
    if (rc) {
        rc = hs_mdb_status(hs->err, rc, path);
        goto fail;
    }
    rc = open_dbis(hs, txn, o.read_only ? 0 : MDB_CREATE);
    if (rc == 0)
        rc = check_meta(hs, txn);
    if (rc) {
        mdb_txn_abort(txn);
        goto fail;
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        rc = hs_mdb_status(hs->err, rc, path);
        goto fail;
    }
    hs->err[0] = '\0';
    *out = hs;
    return 0;

fail:
    copy_err(err, errlen, hs->err);
    locus_hs_close(hs);
    return rc;
}

void locus_hs_close(locus_hs *hs)
{
    if (!hs)
        return;
    if (hs->env)
        mdb_env_close(hs->env);
    free(hs->path);
    free(hs);
}

const char *locus_hs_errstr(const locus_hs *hs) { return hs ? hs->err : "no handle"; }

const char *locus_hs_path(const locus_hs *hs) { return hs ? hs->path : NULL; }
