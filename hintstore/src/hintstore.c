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
 * snapshots in hintstore_snapshot.c.
 *
 * Before LMDB maps data.mdb its two meta pages are read and checked here: a
 * file shorter than the last page the meta names would be mapped past its end
 * and the first touch of a missing page kills the process with SIGBUS, and a
 * zeroed meta page is damage, not "another version". A writable handle holds
 * an exclusive flock on writer.lock for its lifetime, so a second writer (a
 * second probe) is refused with the first one's pid instead of silently
 * interleaving full replaces; the kernel drops the lock when a writer dies. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* LMDB 0.9 meta page: page header (pgno u64, pad u16, flags u16, lower u16,
 * upper u16) then MDB_meta (magic u32, version u32, address ptr, mapsize,
 * two MDB_db of 48 bytes - the first one's leading u32 is the page size -
 * last_pg u64, txnid u64). Offsets for a 64-bit build. */
#define LMDB_P_META 0x08
#define LMDB_MAGIC 0xBEEFC0DEu
#define LMDB_DATA_VERSION 1u
#define LMDB_OFF_FLAGS 10
#define LMDB_OFF_MAGIC 16
#define LMDB_OFF_VERSION 20
#define LMDB_OFF_PSIZE 40
#define LMDB_OFF_LAST_PG 136
#define LMDB_OFF_TXNID 144
#define LMDB_META_BYTES 152

typedef struct lmdb_meta {
    int valid;
    uint32_t psize;
    uint64_t last_pg, txnid;
} lmdb_meta;

static uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint16_t rd16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }

static int parse_meta(const unsigned char *p, lmdb_meta *m, uint32_t *version)
{
    memset(m, 0, sizeof *m);
    *version = rd32(p + LMDB_OFF_VERSION);
    if (!(rd16(p + LMDB_OFF_FLAGS) & LMDB_P_META) || rd32(p + LMDB_OFF_MAGIC) != LMDB_MAGIC)
        return -1;
    m->psize = rd32(p + LMDB_OFF_PSIZE);
    m->last_pg = rd64(p + LMDB_OFF_LAST_PG);
    m->txnid = rd64(p + LMDB_OFF_TXNID);
    m->valid = 1;
    return 0;
}

/* Checks data.mdb against its own meta pages before LMDB maps it. */
static int check_data_file(locus_hs *hs, const char *data)
{
    int fd = open(data, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        hs_seterr(hs->err, "%s: %s", data, strerror(errno));
        return LOCUS_EIO;
    }
    struct stat st;
    unsigned char page[LMDB_META_BYTES];
    lmdb_meta m[2];
    uint32_t version[2];
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        hs_seterr(hs->err, "%s: %s", data, strerror(errno));
        rc = LOCUS_EIO;
        goto out;
    }
    if (st.st_size == 0) {
        /* A writer that died between creating and first syncing the file:
         * LMDB initialises an empty file itself. */
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        /* The second meta page starts one page in; its size comes from the first. */
        off_t off = i == 0 ? 0 : (off_t)(m[0].valid ? m[0].psize : 4096);
        ssize_t n = pread(fd, page, sizeof page, off);
        if (n < 0) {
            hs_seterr(hs->err, "%s: read meta page %d: %s", data, i, strerror(errno));
            rc = LOCUS_EIO;
            goto out;
        }
        if ((size_t)n < sizeof page) {
            hs_seterr(hs->err, "%s: truncated: %lld bytes, too short for LMDB's two meta pages; "
                      "the store is damaged (move the folder away; the probe rebuilds it)",
                      data, (long long)st.st_size);
            rc = LOCUS_ECORRUPT;
            goto out;
        }
        if (parse_meta(page, &m[i], &version[i]) != 0) {
            hs_seterr(hs->err, "%s: LMDB meta page %d is zeroed or damaged (no LMDB magic): "
                      "the store is corrupt, not of another version (move the folder away; "
                      "the probe rebuilds it)", data, i);
            rc = LOCUS_ECORRUPT;
            goto out;
        }
        if (version[i] != LMDB_DATA_VERSION) {
            hs_seterr(hs->err, "%s: LMDB data format version %u, this build reads %u",
                      data, version[i], LMDB_DATA_VERSION);
            rc = LOCUS_ESCHEMA;
            goto out;
        }
        uint32_t ps = m[i].psize;
        if (ps < 512 || ps > 65536 || (ps & (ps - 1)) || m[i].last_pg < 1 ||
            m[i].last_pg > ((uint64_t)1 << 40)) {
            hs_seterr(hs->err, "%s: LMDB meta page %d is damaged (page size %u, last page "
                      "%llu): the store is corrupt (move the folder away; the probe rebuilds it)",
                      data, i, ps, (unsigned long long)m[i].last_pg);
            rc = LOCUS_ECORRUPT;
            goto out;
        }
    }
    /* LMDB uses the meta with the newer transaction id; every page up to its
     * last_pg must be in the file or reading it faults. */
    const lmdb_meta *cur = m[1].txnid > m[0].txnid ? &m[1] : &m[0];
    uint64_t need = (cur->last_pg + 1) * (uint64_t)cur->psize;
    if ((uint64_t)st.st_size < need) {
        hs_seterr(hs->err, "%s: truncated: %lld bytes, but its LMDB meta needs %llu (%llu pages "
                  "of %u); the store is damaged (move the folder away; the probe rebuilds it)",
                  data, (long long)st.st_size, (unsigned long long)need,
                  (unsigned long long)(cur->last_pg + 1), cur->psize);
        rc = LOCUS_ECORRUPT;
    }
out:
    close(fd);
    return rc;
}

/* Takes the store's writer lock, or says which process holds it. */
static int take_writer_lock(locus_hs *hs, int created)
{
    char lock[4096];
    snprintf(lock, sizeof lock, "%s/writer.lock", hs->path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0664);
    if (fd < 0) {
        hs_seterr(hs->err, "%s: %s", lock, strerror(errno));
        return LOCUS_EIO;
    }
    if (created)
        (void)fchmod(fd, 0664);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK) {
            hs_seterr(hs->err, "hint store %s already has a writer (pid %s holds %s); "
                      "one store takes one writer", hs->path, *pid ? pid : "?", lock);
            return LOCUS_EBUSY;
        }
        hs_seterr(hs->err, "%s: lock: %s", lock, strerror(e));
        return LOCUS_EIO;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* The pid is only for the message; the lock itself holds. */
    }
    hs->lock_fd = fd;
    return 0;
}

/* LMDB creates its files with mode & ~umask; the store is shared by the
 * probe's user and the master's group, so a file this call created is made
 * group-writable as documented (0664). */
static void make_group_writable(const char *path, const char *file, int existed)
{
    if (existed)
        return;
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", path, file);
    (void)chmod(p, 0664);
}

static int open_dbis(locus_hs *hs, MDB_txn *txn, unsigned create, int *tables_missing)
{
    static const unsigned host_index_flags =
        MDB_INTEGERKEY | MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP;
    static const struct { const char *name; size_t off; unsigned flags; } dbs[] = {
        {HS_DB_META, offsetof(locus_hs, db_meta), 0},
        {HS_DB_DATASETS, offsetof(locus_hs, db_datasets), 0},
        {HS_DB_BLOCKS, offsetof(locus_hs, db_blocks), 0},
        {HS_DB_HOST_DATASETS, offsetof(locus_hs, db_host_datasets), host_index_flags},
        {HS_DB_DATASET_NAMES, offsetof(locus_hs, db_dataset_names), MDB_INTEGERKEY},
        {HS_DB_HOSTS, offsetof(locus_hs, db_hosts), 0},
        {HS_DB_CHANGES, offsetof(locus_hs, db_changes), 0},
        {HS_DB_HOST_IDS, offsetof(locus_hs, db_host_ids), 0},
        {HS_DB_HOST_NAMES, offsetof(locus_hs, db_host_names), 0},
    };
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        MDB_dbi *d = (MDB_dbi *)((char *)hs + dbs[i].off);
        int rc = mdb_dbi_open(txn, dbs[i].name, dbs[i].flags | create, d);
        if (rc == MDB_NOTFOUND && d == &hs->db_changes)
            continue; /* a store from before the change feed: readers read in full */
        if (rc == MDB_NOTFOUND &&
            (d == &hs->db_host_ids || d == &hs->db_host_names || d == &hs->db_host_datasets ||
             d == &hs->db_dataset_names)) {
            *tables_missing = 1; /* an older version: check_meta refuses it */
            continue;
        }
        if (d == &hs->db_changes && rc == 0)
            hs->has_changes = 1;
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

/* Deletes sub-database `name` of an older version, if present. */
static int drop_old_db(locus_hs *hs, MDB_txn *txn, const char *name, unsigned from)
{
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, name, 0, &dbi);
    if (rc == 0)
        rc = mdb_drop(txn, dbi, 1);
    if (rc && rc != MDB_NOTFOUND) {
        char what[HS_ERRLEN];
        snprintf(what, sizeof(what), "upgrade from schema version %u: delete %s", from, name);
        return hs_store_status(hs, rc, what);
    }
    return 0;
}

/* Converts a version 1 or 2 store in the writer's open transaction: its
 * hints are dropped - the next poll of each backend puts them back in the
 * current layout - while host bindings, storage host ids and the backends'
 * poll records stay. The generation moves on with no feed record, so every
 * reader re-reads in full. */
static int upgrade_old(locus_hs *hs, MDB_txn *txn, Locus__StoreMeta *m)
{
    unsigned from = m->schema_version;
    MDB_dbi drop[] = {hs->db_datasets, hs->db_blocks, hs->db_host_datasets,
                      hs->db_dataset_names, hs->db_changes};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        int rc = mdb_drop(txn, drop[i], 0);
        if (rc) {
            char what[HS_ERRLEN];
            snprintf(what, sizeof(what), "upgrade from schema version %u: empty sub-databases",
                     from);
            return hs_store_status(hs, rc, what);
        }
    }
    int rc;
    if ((rc = drop_old_db(hs, txn, HS_DB_HOST_DATASETS_V1, from)) != 0 ||
        (rc = drop_old_db(hs, txn, HS_DB_HOST_INDEX_V2, from)) != 0 ||
        (rc = drop_old_db(hs, txn, HS_DB_OWNERS_V2, from)) != 0)
        return rc;
    m->schema_version = LOCUS_HS_SCHEMA_VERSION;
    m->writer_generation++;
    for (size_t i = 0; i < m->n_backends; i++)
        if (m->backends[i]) {
            m->backends[i]->blocks = 0;
            m->backends[i]->last_success_ms = 0; /* no hints of it until its next poll */
        }
    MDB_val k = {sizeof(HS_META_KEY) - 1, (void *)HS_META_KEY};
    rc = hs_put_message(txn, hs->db_meta, &k, &m->base, 0);
    if (rc) {
        char what[HS_ERRLEN];
        snprintf(what, sizeof(what), "upgrade from schema version %u: write meta", from);
        return hs_store_status(hs, rc, what);
    }
    return 0;
}

/* What each older version held, for the refusal message. */
static const char *old_layout(unsigned v)
{
    return v == 1 ? "protobuf values" : "fixed layout, host index by name";
}

/* Checks (reader) or initialises (writer) the meta record. */
static int check_meta(locus_hs *hs, MDB_txn *txn, int tables_missing)
{
    hs_arena a;
    Locus__StoreMeta *m;
    hs_arena_init(&a, 4096);
    int rc = hs_meta_read(hs, txn, &a, &m, hs->err);
    int old = rc == 0 && m && (m->schema_version == 1 || m->schema_version == 2);
    if (old && !hs->read_only) {
        rc = upgrade_old(hs, txn, m);
    } else if (old) {
        hs_seterr(hs->err,
                  "hint store %s has schema version %u (%s); this build reads "
                  "version %d (datasets and hosts as ids). Open it once with its writer "
                  "(locus-probe, or locus-hints import), which converts it in place and "
                  "refills it at the next poll, or remove %s/data.mdb to start empty",
                  hs->path, m->schema_version, old_layout(m->schema_version),
                  LOCUS_HS_SCHEMA_VERSION, hs->path);
        rc = LOCUS_ESCHEMA;
    } else if (rc == 0 && m && m->schema_version != LOCUS_HS_SCHEMA_VERSION) {
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
    } else if (rc == 0 && tables_missing) {
        hs_seterr(hs->err, "%s: not a Locus hint store of version %d (sub-database '%s' missing)",
                  hs->path, LOCUS_HS_SCHEMA_VERSION, HS_DB_HOST_DATASETS);
        rc = LOCUS_ENOTFOUND;
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
    hs->lock_fd = -1;
    hs_hosttab_init(&hs->hosttab);
    pthread_mutex_init(&hs->spare_mu, NULL);

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
    if (!exists && errno != ENOENT) {
        hs_seterr(hs->err, "%s: %s", data, strerror(errno)); /* EACCES: name it, not "missing" */
        rc = LOCUS_EIO;
        goto fail;
    }
    if (!exists && (o.read_only || !o.create)) {
        hs_seterr(hs->err, "%s: no hint store here (data.mdb missing)", path);
        rc = LOCUS_ENOTFOUND;
        goto fail;
    }
    if (!o.read_only && (rc = take_writer_lock(hs, !exists)) != 0)
        goto fail;
    if (exists && (rc = check_data_file(hs, data)) != 0)
        goto fail;
    char lockfile[4096];
    snprintf(lockfile, sizeof(lockfile), "%s/lock.mdb", path);
    int lock_existed = stat(lockfile, &st) == 0;
    size_t want = o.map_size ? o.map_size : HS_DEFAULT_MAP;

    if ((rc = mdb_env_create(&hs->env)) != 0 || (rc = mdb_env_set_maxdbs(hs->env, 16)) != 0 ||
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
    make_group_writable(path, "data.mdb", exists);
    make_group_writable(path, "lock.mdb", lock_existed);
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
    int tables_missing = 0;
    rc = open_dbis(hs, txn, o.read_only ? 0 : MDB_CREATE, &tables_missing);
    if (rc == 0)
        rc = check_meta(hs, txn, tables_missing);
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
    if (hs->spare_txn)
        mdb_txn_abort(hs->spare_txn);
    if (hs->env)
        mdb_env_close(hs->env);
    if (hs->lock_fd >= 0)
        close(hs->lock_fd); /* releases the writer lock */
    hs_hosttab_free(&hs->hosttab);
    if (hs->has_spare) {
        hs_arena_free(&hs->spare_arena);
        hs_arena_free(&hs->spare_ents);
    }
    free(hs->spare_cache);
    free(hs->spare_blk_window);
    free(hs->spare_ops.p);
    free(hs->spare_reps.p);
    free(hs->spare_hd.p);
    pthread_mutex_destroy(&hs->spare_mu);
    free(hs->path);
    free(hs);
}

const char *locus_hs_errstr(const locus_hs *hs) { return hs ? hs->err : "no handle"; }

const char *locus_hs_path(const locus_hs *hs) { return hs ? hs->path : NULL; }

/* Residency is asked of mincore() a window at a time (a byte per page), and
 * each run of cached pages is mapped with one madvise call. */
#define MAP_CACHED_WINDOW ((size_t)64 << 20)

#ifdef MADV_POPULATE_READ
#define LMDB_PAGE_HEADER 16    /* a page's header: page number, flags, bounds */
#define LMDB_MAGIC 0xBEEFC0DEu /* mm_magic, first field after the header of meta pages 0 and 1 */

static int is_meta_page(const char *page)
{
    uint32_t magic;
    memcpy(&magic, page + LMDB_PAGE_HEADER, sizeof magic);
    return magic == LMDB_MAGIC;
}

/* Where LMDB mapped the file: mdb_env_info gives it only for MDB_FIXEDMAP.
 * A key read in place lies in a page whose header starts with its page
 * number; the map starts that many pages before it. That start is read
 * only if the page number is one the file has and both its pages are mapped
 * in this process (mincore fails on an unmapped range), and is believed
 * only if both carry the meta pages' magic; NULL when anything does not
 * fit. */
static char *map_base(locus_hs *hs, size_t psize, size_t os_page, size_t last_pgno)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    char *base = NULL;
    if (psize != os_page || mdb_txn_begin(hs->env, NULL, MDB_RDONLY, &txn))
        return NULL;
    if (mdb_cursor_open(txn, hs->db_meta, &cur) == 0) {
        if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0) {
            char *page = (char *)((uintptr_t)k.mv_data & ~(uintptr_t)(psize - 1));
            size_t pgno;
            memcpy(&pgno, page, sizeof pgno);
            char *b = page - pgno * psize;
            unsigned char res[2];
            if (pgno >= 2 && pgno <= last_pgno && mincore(b, 2 * psize, res) == 0 &&
                is_meta_page(b) && is_meta_page(b + psize))
                base = b;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return base;
}
#endif

size_t locus_hs_map_cached(locus_hs *hs)
{
#ifdef MADV_POPULATE_READ
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    int fd;
    long pg = sysconf(_SC_PAGESIZE);
    if (!hs || pg <= 0 || mdb_env_info(hs->env, &info) || mdb_env_stat(hs->env, &st) ||
        mdb_env_get_fd(hs->env, &fd) || fstat(fd, &fs))
        return 0;
    size_t page = (size_t)pg, mapped = 0;
    char *base = map_base(hs, st.ms_psize, page, (size_t)info.me_last_pgno);
    if (!base)
        return 0;
    /* The pages in use end at the last page number of the newest commit;
     * the file may be longer (free space), never shorter. */
    size_t end = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
    if (end > (size_t)fs.st_size)
        end = (size_t)fs.st_size;
    if (end > info.me_mapsize)
        end = info.me_mapsize;
    unsigned char *vec = malloc(MAP_CACHED_WINDOW / page);
    if (!vec)
        return 0;
    for (size_t off = 0; off < end; off += MAP_CACHED_WINDOW) {
        size_t len = end - off < MAP_CACHED_WINDOW ? end - off : MAP_CACHED_WINDOW;
        size_t n = (len + page - 1) / page;
        if (mincore(base + off, len, vec) != 0)
            break;
        for (size_t i = 0; i < n;) {
            if (!(vec[i] & 1)) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < n && (vec[j] & 1))
                j++;
            size_t run = (j - i) * page;
            if (off + i * page + run > end)
                run = end - off - i * page;
            if (madvise(base + off + i * page, run, MADV_POPULATE_READ) != 0) {
                free(vec); /* EINVAL: a kernel without it; else a page gone meanwhile */
                return mapped;
            }
            mapped += run;
            i = j;
        }
    }
    free(vec);
    return mapped;
#else
    (void)hs;
    return 0;
#endif
}
