/* Hint store tests for the fixed value layout (schema version 2): the bytes
 * of a stored summary and block as docs/hint-store.md lays them out, the
 * zero-copy dataset ref and host id calls against the decoded views, values
 * naming unknown host ids, snapshots reusing a closed snapshot's arena,
 * lookups in key, reverse and scattered order over 20,000 datasets, a
 * reader mapping the cached pages at open (no page fault per first lookup),
 * repeated puts of a block in one batch, and
 * a version 1 store (protobuf values) refused by a reader and converted by a
 * writer. Each test uses a real LMDB environment in a mkdtemp folder. */
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "hs_testutil.h"
#include "other_lmdb_version.h"
#include "locus/hintstore.h"
#include "locus_hints.pb-c.h"

typedef struct fx {
    char *dir;
    locus_hs *hs;
} fx;

static locus_hs *open_store(const char *dir, int read_only)
{
    locus_hs_options o = {.create = !read_only, .read_only = read_only, .no_sync = 1};
    locus_hs *hs = NULL;
    char err[512];
    int rc = locus_hs_open(dir, &o, &hs, err, sizeof(err));
    if (rc)
        fail_msg("open %s: %s", dir, err);
    return hs;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = hs_t_mkdtemp();
    f->hs = open_store(f->dir, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    locus_hs_close(f->hs);
    hs_t_rmtree(f->dir);
    free(f);
    return 0;
}

/* d0: blocks 0 (100 B on h1 MEM, h2 HDD) and 1 (50 B on h2 SSD). */
static void write_two_blocks(locus_hs *hs, int64_t now)
{
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(hs, "alluxio:main", 1, &b), 0);
    locus_hs_replica r0[2] = {{"h1", LOCUS_TIER_MEM}, {"h2", LOCUS_TIER_HDD}};
    locus_hs_replica r1[1] = {{"h2", LOCUS_TIER_SSD}};
    locus_hs_block b0 = {"d0", 0, 100, r0, 2}, b1 = {"d0", 1, 50, r1, 1};
    assert_int_equal(locus_hs_batch_put(b, &b0), 0);
    assert_int_equal(locus_hs_batch_put(b, &b1), 0);
    assert_int_equal(locus_hs_batch_commit(b, now), 0);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/* The raw value under key in sub-database db of the (closed) store at dir,
 * asserted present and n bytes long; malloc'd. */
static unsigned char *raw_value(const char *dir, const char *db, const void *key, size_t klen,
                                size_t n)
{
    size_t got = 0;
    unsigned char *v = hs_t_raw_get(dir, db, key, klen, &got);
    assert_non_null(v);
    assert_int_equal(got, n);
    return v;
}

/* Asserts that the raw value under key in db is exactly want[0..n). */
static void expect_raw(const char *dir, const char *db, const void *key, size_t klen,
                       const void *want, size_t n)
{
    unsigned char *v = raw_value(dir, db, key, klen, n);
    assert_memory_equal(v, want, n);
    free(v);
}

static void test_stored_bytes(void **state)
{
    fx *f = *state;
    write_two_blocks(f->hs, 1234);
    locus_hs_close(f->hs);
    f->hs = NULL;
    /* header 'L' 'H' kind 1 version 3; 3 entries of 12 bytes after 44 */
    unsigned char *v = raw_value(f->dir, "datasets", "d0", 2, 44 + 3 * 12);
    assert_memory_equal(v, "LH\x01\x03", 4);
    assert_int_equal(le32(v + 4), 3);
    assert_int_equal(le64(v + 8), 150);  /* total bytes */
    assert_int_equal(le64(v + 16), 2);   /* blocks */
    assert_int_equal(le64(v + 24), 1);   /* version */
    assert_int_equal(le64(v + 32), 1234); /* updated_at_ms */
    assert_int_equal(le32(v + 40), 0);    /* dataset id: the store's first */
    /* sorted by host then tier: h1 MEM 100, h2 SSD 50, h2 HDD 100; ids are
     * interned in first-seen order of the batch (h1 = 0, h2 = 1) */
    uint32_t want[3][3] = {{0, 1, 100}, {1, 2, 50}, {1, 3, 100}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(le32(v + 44 + 12 * i), want[i][0] << 2 | want[i][1]);
        assert_int_equal(le64(v + 48 + 12 * i), want[i][2]);
    }
    free(v);
    char key[32];
    size_t klen = hs_t_block_key(key, "d0", 0);
    v = raw_value(f->dir, "blocks", key, klen, 24 + 2 * 4 + strlen("alluxio:main"));
    assert_memory_equal(v, "LH\x02\x03", 4);
    assert_int_equal(v[4] | v[5] << 8, 2); /* replicas */
    assert_int_equal(v[6], strlen("alluxio:main"));
    assert_int_equal(le64(v + 8), 100);
    assert_int_equal(le64(v + 16), 1234);
    assert_int_equal(le32(v + 24), 0u << 2 | 1); /* h1 MEM */
    assert_int_equal(le32(v + 28), 1u << 2 | 3); /* h2 HDD */
    assert_memory_equal(v + 32, "alluxio:main", strlen("alluxio:main"));
    free(v);
    /* host_names: big-endian id -> name */
    unsigned char id1[4] = {0, 0, 0, 1};
    expect_raw(f->dir, "host_names", id1, 4, "h2", 2);
    /* dataset_names: id (native u32) -> name; host_sets: host id -> ids */
    uint32_t ds0 = 0, host1 = 1;
    expect_raw(f->dir, "dataset_names", &ds0, 4, "d0", 2);
    expect_raw(f->dir, "host_sets", &host1, 4, "\0\0\0\0", 4); /* h2 holds d0 (id 0) */
    assert_int_equal(hs_t_raw_count(f->dir, "host_sets"), 2);
}

static void test_ref_matches_view(void **state)
{
    fx *f = *state;
    write_two_blocks(f->hs, 10);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    const locus_hs_dataset *d;
    locus_hs_dataset_ref r;
    assert_int_equal(locus_hs_snapshot_dataset(s, "d0", &d), 0);
    assert_int_equal(locus_hs_snapshot_dataset_ref(s, "d0", 2, &r), 0);
    assert_int_equal(r.total_bytes, d->total_bytes);
    assert_int_equal(r.block_count, d->block_count);
    assert_int_equal(r.version, d->version);
    assert_int_equal(r.updated_at_ms, d->updated_at_ms);
    assert_int_equal(r.n_placement, d->n_placement);
    for (size_t i = 0; i < r.n_placement; i++) {
        uint32_t id, back;
        locus_tier t;
        uint64_t bytes;
        locus_hs_placement_at(&r, i, &id, &t, &bytes);
        assert_string_equal(locus_hs_snapshot_host_name(s, id), d->placement[i].host);
        assert_int_equal(t, d->placement[i].tier);
        assert_int_equal(bytes, d->placement[i].bytes);
        assert_int_equal(locus_hs_snapshot_host_id(s, d->placement[i].host, &back), 0);
        assert_int_equal(back, id);
    }
    uint32_t id;
    assert_int_equal(locus_hs_snapshot_host_id(s, "nowhere", &id), LOCUS_ENOTFOUND);
    assert_null(locus_hs_snapshot_host_name(s, 12345));
    assert_int_equal(locus_hs_snapshot_dataset_ref(s, "d0x", 2, &r), 0); /* length counts */
    assert_int_equal(locus_hs_snapshot_dataset_ref(s, "nope", 4, &r), LOCUS_ENOTFOUND);
    assert_int_equal(locus_hs_snapshot_dataset_ref(s, "", 0, &r), LOCUS_ENOTFOUND);
    static char longname[1200];
    memset(longname, 'x', sizeof(longname) - 1);
    assert_int_equal(locus_hs_snapshot_dataset_ref(s, longname, strlen(longname), &r),
                     LOCUS_ENOTFOUND);
    assert_int_equal(locus_hs_snapshot_dataset(s, longname, &d), LOCUS_ENOTFOUND);
    assert_int_equal(locus_hs_snapshot_dataset(s, "", &d), LOCUS_ENOTFOUND);
    assert_int_equal(locus_hs_snapshot_host_id(s, longname, &id), LOCUS_ENOTFOUND);
    assert_int_equal(locus_hs_snapshot_host_id(s, "", &id), LOCUS_ENOTFOUND);
    const locus_hs_block_view *bv;
    assert_int_equal(locus_hs_snapshot_block(s, "d0", 0, &bv), 0);
    assert_string_equal(bv->dataset, "d0");
    assert_string_equal(bv->backend, "alluxio:main");
    assert_int_equal(bv->n_replicas, 2);
    assert_string_equal(bv->replicas[0].host, "h1");
    assert_int_equal(bv->replicas[0].tier, LOCUS_TIER_MEM);
    assert_string_equal(bv->replicas[1].host, "h2");
    assert_int_equal(bv->updated_at_ms, 10);
    locus_hs_snapshot_close(s);
}

/* Host ids stay with their names across commits, and a host that appears
 * after a snapshot's handle learnt the table is read when first seen. */
static void test_host_ids_stable(void **state)
{
    fx *f = *state;
    write_two_blocks(f->hs, 10);
    locus_hs *rd = open_store(f->dir, 1);
    locus_hs_snapshot *s;
    uint32_t h1, h2, h9;
    assert_int_equal(locus_hs_snapshot_open(rd, &s), 0);
    assert_int_equal(locus_hs_snapshot_host_id(s, "h1", &h1), 0);
    assert_int_equal(locus_hs_snapshot_host_id(s, "h2", &h2), 0);
    assert_string_equal(locus_hs_snapshot_host_name(s, h2), "h2");
    locus_hs_snapshot_close(s);

    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "other", 0, &b), 0);
    locus_hs_replica r[2] = {{"h9", LOCUS_TIER_SSD}, {"h1", LOCUS_TIER_SSD}};
    locus_hs_block blk = {"d1", 0, 7, r, 2};
    assert_int_equal(locus_hs_batch_put(b, &blk), 0);
    assert_int_equal(locus_hs_batch_commit(b, 20), 0);

    assert_int_equal(locus_hs_snapshot_open(rd, &s), 0);
    uint32_t again;
    assert_int_equal(locus_hs_snapshot_host_id(s, "h1", &again), 0);
    assert_int_equal(again, h1);
    assert_int_equal(locus_hs_snapshot_host_id(s, "h9", &h9), 0);
    assert_true(h9 != h1 && h9 != h2);
    const locus_hs_dataset *d;
    assert_int_equal(locus_hs_snapshot_dataset(s, "d1", &d), 0);
    assert_int_equal(d->n_placement, 2);
    assert_string_equal(d->placement[0].host, "h1");
    assert_string_equal(d->placement[1].host, "h9");
    assert_string_equal(locus_hs_snapshot_host_name(s, h9), "h9");
    locus_hs_snapshot_close(s);
    locus_hs_close(rd);
}

/* A summary naming a host id the store never assigned is damage: counted,
 * reported with its key, never resolved to a wrong name. */
static void test_unknown_host_id(void **state)
{
    fx *f = *state;
    write_two_blocks(f->hs, 10);
    locus_hs_close(f->hs);
    f->hs = NULL;
    size_t n = 44 + 3 * 12;
    unsigned char *v = raw_value(f->dir, "datasets", "d0", 2, n);
    v[45] = 0x77; /* first entry's host id -> 0x77 << 6 (only 0 and 1 exist) */
    assert_int_equal(hs_t_raw_put(f->dir, "datasets", "d0", 2, v, n), 0);
    free(v);
    f->hs = open_store(f->dir, 0);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    const locus_hs_dataset *d;
    locus_hs_dataset_ref r;
    assert_int_equal(locus_hs_snapshot_dataset(s, "d0", &d), LOCUS_ECORRUPT);
    assert_int_equal(locus_hs_snapshot_dataset_ref(s, "d0", 2, &r), LOCUS_ECORRUPT);
    assert_int_equal(locus_hs_snapshot_decode_errors(s), 2);
    assert_non_null(strstr(locus_hs_snapshot_errstr(s), "datasets, key 'd0'"));
    locus_hs_snapshot_close(s);
    /* the next poll repairs it from the blocks */
    write_two_blocks(f->hs, 20);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "d0", &d), 0);
    assert_int_equal(d->total_bytes, 150);
    assert_int_equal(d->n_placement, 3);
    locus_hs_snapshot_close(s);
}

/* Snapshots reuse the arena of the one closed before: views of a new
 * snapshot show the new content, and many cycles settle (no growth). */
static void test_arena_reuse(void **state)
{
    fx *f = *state;
    write_two_blocks(f->hs, 10);
    for (int cycle = 0; cycle < 50; cycle++) {
        locus_hs_snapshot *s;
        assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
        const locus_hs_dataset *d;
        assert_int_equal(locus_hs_snapshot_dataset(s, "d0", &d), 0);
        assert_int_equal(d->total_bytes, 150 + (uint64_t)cycle);
        assert_int_equal(locus_hs_snapshot_dataset(s, "d0", &d), 0); /* cached view */
        assert_int_equal(d->total_bytes, 150 + (uint64_t)cycle);
        locus_hs_snapshot_close(s);
        locus_hs_batch *b;
        assert_int_equal(locus_hs_batch_begin(f->hs, "alluxio:main", 0, &b), 0);
        locus_hs_replica r1[1] = {{"h2", LOCUS_TIER_SSD}};
        locus_hs_block b1 = {"d0", 1, 51 + (uint64_t)cycle, r1, 1};
        assert_int_equal(locus_hs_batch_put(b, &b1), 0);
        assert_int_equal(locus_hs_batch_commit(b, 20 + cycle), 0);
    }
}

/* Lookups through the snapshot's kept cursor in key order, reverse order and
 * scattered order, with absent names between, before and after the stored
 * ones, all answer as the store holds; enough views for the arena to grow
 * into huge-page backed chunks and the cache past 2 MiB, each view keeping
 * its content and address until close. */
#define MANY_DS 40000
static void many_name(char *buf, int i) { snprintf(buf, 32, "ds-%06d", i); }

/* One block of each even-numbered many_name dataset (odd names stay absent). */
static void put_many(locus_hs_batch *b)
{
    for (int i = 0; i < MANY_DS; i += 2) {
        char name[32], host[16];
        many_name(name, i);
        snprintf(host, sizeof(host), "h%d", i % 7);
        locus_hs_replica r[1] = {{host, LOCUS_TIER_MEM}};
        locus_hs_block blk = {name, 0, 1000 + (uint64_t)i, r, 1};
        assert_int_equal(locus_hs_batch_put(b, &blk), 0);
    }
}

static void test_lookup_orders(void **state)
{
    fx *f = *state;
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "alluxio:main", 1, &b), 0);
    put_many(b);
    assert_int_equal(locus_hs_batch_commit(b, 5), 0);

    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    locus_hs_dataset_ref r;
    char name[32];
    assert_int_equal(locus_hs_snapshot_dataset_ref(s, "ds-", 3, &r), LOCUS_ENOTFOUND);
    for (int pass = 0; pass < 2; pass++) {
        for (int j = 0; j < MANY_DS; j++) {
            int i = pass == 0 ? j : MANY_DS - 1 - j;
            many_name(name, i);
            int rc = locus_hs_snapshot_dataset_ref(s, name, strlen(name), &r);
            if (i % 2) {
                assert_int_equal(rc, LOCUS_ENOTFOUND);
                continue;
            }
            assert_int_equal(rc, 0);
            assert_int_equal(r.total_bytes, 1000 + (uint64_t)i);
            assert_int_equal(r.n_placement, 1);
        }
        assert_int_equal(locus_hs_snapshot_dataset_ref(s, "zz", 2, &r), LOCUS_ENOTFOUND);
    }
    /* scattered order through the cached views */
    const locus_hs_dataset **views = calloc(MANY_DS, sizeof(*views));
    assert_non_null(views);
    uint32_t x = 12345;
    for (int j = 0; j < 2 * MANY_DS; j++) {
        x = x * 1103515245u + 12345u;
        int i = (int)((x >> 8) % MANY_DS);
        many_name(name, i);
        const locus_hs_dataset *d;
        int rc = locus_hs_snapshot_dataset(s, name, &d);
        if (i % 2) {
            assert_int_equal(rc, LOCUS_ENOTFOUND);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(d->total_bytes, 1000 + (uint64_t)i);
        if (views[i])
            assert_ptr_equal(d, views[i]); /* a repeated lookup returns the same view */
        views[i] = d;
    }
    for (int i = 0; i < MANY_DS; i += 2) {
        const locus_hs_dataset *d;
        many_name(name, i);
        assert_int_equal(locus_hs_snapshot_dataset(s, name, &d), 0);
        if (views[i])
            assert_ptr_equal(d, views[i]);
        assert_string_equal(d->name, name);
        assert_int_equal(d->total_bytes, 1000 + (uint64_t)i);
        assert_int_equal(d->n_placement, 1);
        char host[16];
        snprintf(host, sizeof(host), "h%d", i % 7);
        assert_string_equal(d->placement[0].host, host);
    }
    free(views);
    locus_hs_snapshot_close(s);
}

/* Batched lookups (the B-tree search over mapped pages, several names side
 * by side) answer exactly what one call per name answers: present, absent
 * before, between and after the stored names, empty and over-long names, a
 * summary too large for a leaf page (LMDB's overflow pages: handed back to
 * LMDB), an empty store, and a damaged summary (ECORRUPT, counted). */
static void check_refs_match(locus_hs_snapshot *s, const char **names, size_t n, int with_lens)
{
    size_t *lens = calloc(n + 1, sizeof(*lens));
    locus_hs_dataset_ref *out = calloc(n + 1, sizeof(*out));
    int *st = calloc(n + 1, sizeof(*st));
    assert_non_null(lens);
    assert_non_null(out);
    assert_non_null(st);
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(names[i]);
    assert_int_equal(locus_hs_snapshot_dataset_refs(s, names, with_lens ? lens : NULL, n, out, st),
                     0);
    for (size_t i = 0; i < n; i++) {
        locus_hs_dataset_ref one;
        int rc = locus_hs_snapshot_dataset_ref(s, names[i], lens[i], &one);
        if (st[i] != rc)
            fail_msg("'%.40s': batched %d, single %d", names[i], st[i], rc);
        if (rc)
            continue;
        assert_int_equal(out[i].total_bytes, one.total_bytes);
        assert_int_equal(out[i].block_count, one.block_count);
        assert_int_equal(out[i].version, one.version);
        assert_int_equal(out[i].n_placement, one.n_placement);
        assert_ptr_equal(out[i].entries, one.entries); /* the same mapped bytes */
    }
    free(lens);
    free(out);
    free(st);
}

/* Minor page faults of this process so far. */
static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* Minor faults taken by one pass of first lookups over the many_name
 * datasets in a new snapshot of hs (its host table read beforehand). */
static long lookup_faults(locus_hs *hs)
{
    locus_hs_snapshot *s;
    locus_hs_dataset_ref r;
    char name[32];
    assert_int_equal(locus_hs_snapshot_open(hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset_ref(s, "ds-000000", 9, &r), 0);
    for (int h = 0; h < 7; h++)
        assert_non_null(locus_hs_snapshot_host_name(s, (uint32_t)h));
    long before = minor_faults();
    for (int i = 0; i < MANY_DS; i += 2) {
        many_name(name, i);
        assert_int_equal(locus_hs_snapshot_dataset_ref(s, name, strlen(name), &r), 0);
        assert_int_equal(r.total_bytes, 1000 + (uint64_t)i);
    }
    long faults = minor_faults() - before;
    locus_hs_snapshot_close(s);
    return faults;
}

/* A reader that maps the store's cached pages at open takes (next to) no
 * page fault in its first lookups, where one that does not takes many; the
 * bytes it reports mapped cover the datasets' pages and never pass the
 * file. */
static void test_map_cached(void **state)
{
#ifdef MADV_POPULATE_READ
    char *probe = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(probe != MAP_FAILED);
    int supported = madvise(probe, 4096, MADV_POPULATE_READ) == 0;
    munmap(probe, 4096);
    if (!supported)
        skip(); /* Linux < 5.14: locus_hs_map_cached maps nothing, by design */
    fx *f = *state;
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "alluxio:main", 1, &b), 0);
    put_many(b);
    assert_int_equal(locus_hs_batch_commit(b, 5), 0);
    assert_true(locus_hs_map_cached(f->hs) > 0); /* a writer's handle too */
    locus_hs_close(f->hs);
    f->hs = NULL;
    char data[600];
    snprintf(data, sizeof data, "%s/data.mdb", f->dir);
    struct stat st;
    assert_int_equal(stat(data, &st), 0);

    locus_hs *cold = open_store(f->dir, 1);
    long faults_cold = lookup_faults(cold);
    locus_hs_close(cold);

    locus_hs *warm = open_store(f->dir, 1);
    size_t mapped = locus_hs_map_cached(warm);
    long faults_warm = lookup_faults(warm);
    locus_hs_close(warm);

    /* 20,000 summaries are more than a megabyte of pages, all cached (just
     * written); fault-around maps up to 16 pages a fault */
    assert_true(mapped >= (size_t)1 << 20);
    assert_true(mapped <= (size_t)st.st_size);
    assert_true(faults_cold >= 16);
    assert_true(faults_warm * 8 <= faults_cold);
#else
    (void)state;
    skip();
#endif
}

static void test_batched_refs(void **state)
{
    fx *f = *state;
    locus_hs_snapshot *s;
    const char *none[] = {"a", "", "zz"};
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0); /* an empty store */
    check_refs_match(s, none, 3, 1);
    locus_hs_snapshot_close(s);

    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "alluxio:main", 1, &b), 0);
    put_many(b);
    /* 300 hosts: a 3,644-byte summary, beyond a 4 KiB page's node limit */
    for (int h = 0; h < 300; h++) {
        char host[16];
        snprintf(host, sizeof(host), "big%03d", h);
        locus_hs_replica r[1] = {{host, LOCUS_TIER_SSD}};
        locus_hs_block blk = {"ds-big", (uint64_t)h, 10, r, 1};
        assert_int_equal(locus_hs_batch_put(b, &blk), 0);
    }
    assert_int_equal(locus_hs_batch_commit(b, 5), 0);

    size_t n = MANY_DS + 8;
    const char **names = calloc(n, sizeof(*names));
    char (*buf)[32] = calloc(MANY_DS, sizeof(*buf));
    static char longname[402];
    memset(longname, 'x', 401);
    assert_non_null(names);
    assert_non_null(buf);
    uint32_t x = 777;
    for (int j = 0; j < MANY_DS; j++) {
        x = x * 1103515245u + 12345u;
        many_name(buf[j], (int)((x >> 8) % MANY_DS)); /* odd ones absent */
        names[j] = buf[j];
    }
    const char *extra[] = {"", "a", "ds-", "ds-big", "zz", longname, "ds-big", "ds-00000"};
    for (int j = 0; j < 8; j++)
        names[MANY_DS + j] = extra[j];
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    check_refs_match(s, names, n, 1);
    check_refs_match(s, names + 5, 3, 0); /* lengths by strlen, a group of fewer than 8 */
    locus_hs_dataset_ref r;
    int st;
    const char *big = "ds-big";
    assert_int_equal(locus_hs_snapshot_dataset_refs(s, &big, NULL, 1, &r, &st), 0);
    assert_int_equal(st, 0);
    assert_int_equal(r.n_placement, 300);
    assert_int_equal(r.total_bytes, 3000);
    assert_int_equal(locus_hs_snapshot_dataset_refs(s, NULL, NULL, 0, NULL, NULL), 0);
    assert_int_equal(locus_hs_snapshot_dataset_refs(s, names, NULL, 1, NULL, &st), LOCUS_EINVAL);
    locus_hs_snapshot_close(s);
    free(names);
    free(buf);

    /* a damaged summary is ECORRUPT, counted, as for one call */
    locus_hs_close(f->hs);
    f->hs = NULL;
    char name0[32];
    many_name(name0, 0);
    size_t vn = 0;
    unsigned char *v = hs_t_raw_get(f->dir, "datasets", name0, strlen(name0), &vn);
    assert_non_null(v);
    v[3] = 9; /* layout version */
    assert_int_equal(hs_t_raw_put(f->dir, "datasets", name0, strlen(name0), v, vn), 0);
    free(v);
    f->hs = open_store(f->dir, 1);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    const char *one = name0;
    assert_int_equal(locus_hs_snapshot_dataset_refs(s, &one, NULL, 1, &r, &st), 0);
    assert_int_equal(st, LOCUS_ECORRUPT);
    assert_int_equal(locus_hs_snapshot_decode_errors(s), 1);
    assert_non_null(strstr(locus_hs_snapshot_errstr(s), name0));
    locus_hs_snapshot_close(s);
}

static int collect_names(const locus_hs_dataset *d, void *arg)
{
    char *out = arg;
    strcat(out, d->name);
    strcat(out, ";");
    return 0;
}

/* The host index is keyed by host id; an entry whose summary has no bytes on
 * that host (a leftover after a repair), or naming a dataset id that has no
 * name, is not visited; datasets come in name order whatever their ids. */
static void test_host_index_by_id(void **state)
{
    fx *f = *state;
    write_two_blocks(f->hs, 10); /* d0 (id 0) on h1 (id 0) and h2 (id 1) */
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "other", 0, &b), 0);
    locus_hs_replica r = {"h2", LOCUS_TIER_MEM};
    locus_hs_block blk = {"d1", 0, 5, &r, 1}, blk2 = {"a0", 0, 5, &r, 1};
    assert_int_equal(locus_hs_batch_put(b, &blk), 0);
    assert_int_equal(locus_hs_batch_commit(b, 11), 0); /* d1 gets id 1 */
    assert_int_equal(locus_hs_batch_begin(f->hs, "other", 0, &b), 0);
    assert_int_equal(locus_hs_batch_put(b, &blk2), 0);
    assert_int_equal(locus_hs_batch_commit(b, 12), 0); /* a0 gets id 2 */
    locus_hs_close(f->hs);
    f->hs = NULL;
    uint32_t h1 = 0, d1 = 1, nameless = 77;
    assert_int_equal(hs_t_raw_put(f->dir, "host_sets", &h1, 4, &d1, 4), 0); /* h1 -> d1: not true */
    assert_int_equal(hs_t_raw_put(f->dir, "host_sets", &h1, 4, &nameless, 4), 0);
    assert_int_equal(hs_t_raw_count(f->dir, "host_sets"), 6);
    f->hs = open_store(f->dir, 0);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    char names[64] = "";
    assert_int_equal(locus_hs_snapshot_foreach_host_dataset(s, "h1", collect_names, names), 0);
    assert_string_equal(names, "d0;");
    names[0] = '\0';
    assert_int_equal(locus_hs_snapshot_foreach_host_dataset(s, "h2", collect_names, names), 0);
    assert_string_equal(names, "a0;d0;d1;");
    names[0] = '\0';
    assert_int_equal(locus_hs_snapshot_foreach_host_dataset(s, "nowhere", collect_names, names),
                     0);
    assert_string_equal(names, "");
    locus_hs_snapshot_close(s);
}

/* Several puts of one block in a batch: the last one recorded wins, before
 * and after a delete makes the batch look its blocks up by hash. */
static void test_repeated_puts(void **state)
{
    fx *f = *state;
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "p", 1, &b), 0);
    struct { uint64_t index, bytes; const char *host; } puts[] = {
        {0, 5, "h1"}, {0, 7, "h2"}, {1, 3, "h1"}, {1, 4, "h1"},
    };
    for (size_t i = 0; i < sizeof(puts) / sizeof(puts[0]); i++) {
        locus_hs_replica r = {puts[i].host, LOCUS_TIER_MEM};
        locus_hs_block blk = {"d", puts[i].index, puts[i].bytes, &r, 1};
        assert_int_equal(locus_hs_batch_put(b, &blk), 0);
    }
    assert_int_equal(locus_hs_batch_delete(b, "d", 1), 0); /* the put of 4 bytes goes */
    assert_int_equal(locus_hs_batch_delete(b, "d", 1), LOCUS_ENOTFOUND);
    locus_hs_replica r3 = {"h3", LOCUS_TIER_SSD};
    locus_hs_block last = {"d", 0, 9, &r3, 1};
    assert_int_equal(locus_hs_batch_put(b, &last), 0);
    assert_int_equal(locus_hs_batch_commit(b, 10), 0);
    locus_hs_snapshot *s;
    const locus_hs_dataset *d;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "d", &d), 0);
    assert_int_equal(d->block_count, 1);
    assert_int_equal(d->total_bytes, 9);
    assert_int_equal(d->n_placement, 1);
    assert_string_equal(d->placement[0].host, "h3");
    assert_int_equal(d->placement[0].tier, LOCUS_TIER_SSD);
    const locus_hs_block_view *bv;
    assert_int_equal(locus_hs_snapshot_block(s, "d", 1, &bv), LOCUS_ENOTFOUND);
    locus_hs_snapshot_close(s);
    /* without any delete: the last of three puts of a block is stored */
    assert_int_equal(locus_hs_batch_begin(f->hs, "p", 1, &b), 0);
    for (uint64_t bytes = 1; bytes <= 3; bytes++) {
        locus_hs_replica r = {bytes == 3 ? "h9" : "h1", LOCUS_TIER_HDD};
        locus_hs_block blk = {"e", 0, bytes, &r, 1};
        assert_int_equal(locus_hs_batch_put(b, &blk), 0);
    }
    assert_int_equal(locus_hs_batch_commit(b, 20), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "e", &d), 0);
    assert_int_equal(d->total_bytes, 3);
    assert_int_equal(d->n_placement, 1);
    assert_string_equal(d->placement[0].host, "h9");
    assert_int_equal(locus_hs_snapshot_dataset(s, "d", &d), LOCUS_ENOTFOUND); /* replaced */
    locus_hs_snapshot_close(s);
}

/* Turns the store at dir into what an older library left. Version 1: meta
 * says 1, no id tables, a DUPSORT host_datasets and a protobuf block value.
 * Version 2: meta says 2, no dataset ids, the flat host_index and owners. */
static void make_old(const char *dir, int version)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    assert_int_equal(mdb_env_open(env, dir, MDB_NOTLS, 0664), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "host_sets", 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    assert_int_equal(mdb_dbi_open(txn, "dataset_names", 0, &dbi), 0);
    assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    if (version == 1) {
        assert_int_equal(mdb_dbi_open(txn, "host_ids", 0, &dbi), 0);
        assert_int_equal(mdb_drop(txn, dbi, 1), 0);
        assert_int_equal(mdb_dbi_open(txn, "host_names", 0, &dbi), 0);
        assert_int_equal(mdb_drop(txn, dbi, 1), 0);
        /* version 1's host index: storage host name -> dataset names as dups */
        assert_int_equal(mdb_dbi_open(txn, "host_datasets", MDB_CREATE | MDB_DUPSORT, &dbi), 0);
        MDB_val hk = {2, "h1"}, hv = {2, "d0"};
        assert_int_equal(mdb_put(txn, dbi, &hk, &hv, 0), 0);
    } else {
        /* version 2's host index (be32 host id + name) and owners index */
        assert_int_equal(mdb_dbi_open(txn, "host_index", MDB_CREATE, &dbi), 0);
        MDB_val hk = {6, "\0\0\0\0d0"}, empty = {0, ""};
        assert_int_equal(mdb_put(txn, dbi, &hk, &empty, 0), 0);
        assert_int_equal(mdb_dbi_open(txn, "owners", MDB_CREATE, &dbi), 0);
        char ok[64];
        memcpy(ok, "alluxio:main", 13);
        MDB_val okv = {13 + hs_t_block_key(ok + 13, "d0", 0), ok};
        assert_int_equal(mdb_put(txn, dbi, &okv, &empty, 0), 0);
    }
    Locus__BackendPoll bp = LOCUS__BACKEND_POLL__INIT, *bpp = &bp;
    bp.backend = "alluxio:main";
    bp.last_success_ms = bp.last_attempt_ms = 10;
    bp.blocks = 2;
    Locus__StoreMeta m = LOCUS__STORE_META__INIT;
    m.schema_version = (uint32_t)version;
    m.writer_generation = 7;
    m.n_backends = 1;
    m.backends = &bpp;
    uint8_t buf[256];
    MDB_val k = {4, "meta"}, v = {locus__store_meta__pack(&m, buf), buf};
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    Locus__Replica r = LOCUS__REPLICA__INIT, *rp = &r;
    r.host = "h1";
    r.tier = LOCUS__TIER__TIER_MEM;
    Locus__BlockPlacement p = LOCUS__BLOCK_PLACEMENT__INIT;
    p.dataset = "d0";
    p.bytes = 100;
    p.n_replicas = 1;
    p.replicas = &rp;
    p.backend = "alluxio:main";
    char key[32];
    MDB_val bk = {hs_t_block_key(key, "d0", 0), key}, bv = {locus__block_placement__pack(&p, buf), buf};
    assert_int_equal(mdb_dbi_open(txn, "blocks", 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &bk, &bv, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void check_old_store(fx *f, int version)
{
    write_two_blocks(f->hs, 10);
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "alluxio:main", 0, &b), 0);
    assert_int_equal(locus_hs_batch_bind_host(b, "h1", "agent-1", "S1"), 0);
    assert_int_equal(locus_hs_batch_commit(b, 11), 0);
    locus_hs_close(f->hs);
    f->hs = NULL;
    make_old(f->dir, version);

    /* a reader is refused with the path, both versions and the way out */
    locus_hs_options ro = {.read_only = 1};
    locus_hs *hs = NULL;
    char err[512];
    assert_int_equal(locus_hs_open(f->dir, &ro, &hs, err, sizeof(err)), LOCUS_ESCHEMA);
    assert_null(hs);
    assert_non_null(strstr(err, f->dir));
    char want[64];
    snprintf(want, sizeof(want), "schema version %d", version);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "reads version 3"));
    assert_non_null(strstr(err, "writer"));

    /* the writer converts it: hints dropped, bindings and polls kept */
    f->hs = open_store(f->dir, 0);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    const locus_hs_meta *m;
    assert_int_equal(locus_hs_snapshot_meta(s, &m), 0);
    assert_int_equal(m->schema_version, 3);
    assert_int_equal(m->writer_generation, 8);
    assert_int_equal(m->n_backends, 1);
    assert_int_equal(m->backends[0].blocks, 0);
    assert_int_equal(m->backends[0].last_success_ms, 0);
    assert_int_equal(m->backends[0].last_attempt_ms, 10);
    locus_hs_stats st;
    assert_int_equal(locus_hs_snapshot_stats(s, &st), 0);
    assert_int_equal(st.hosts, 0);
    assert_int_equal(st.datasets, 0);
    assert_int_equal(st.blocks, 0);
    assert_int_equal(st.bindings, 1);
    assert_string_equal(locus_hs_snapshot_agent_for_host(s, "h1"), "agent-1");
    const locus_hs_changes *c;
    assert_int_equal(locus_hs_snapshot_changes_since(s, 7, &c), 0);
    assert_int_equal(c->full_read_needed, 1);
    locus_hs_snapshot_close(s);

    /* the next poll refills it and a reader opens it */
    write_two_blocks(f->hs, 30);
    hs = open_store(f->dir, 1);
    assert_int_equal(locus_hs_snapshot_open(hs, &s), 0);
    const locus_hs_dataset *d;
    assert_int_equal(locus_hs_snapshot_dataset(s, "d0", &d), 0);
    assert_int_equal(d->total_bytes, 150);
    assert_int_equal(locus_hs_snapshot_decode_errors(s), 0);
    assert_int_equal(locus_hs_snapshot_stats(s, &st), 0);
    assert_int_equal(st.hosts, 2);
    locus_hs_snapshot_close(s);
    locus_hs_close(hs);
    /* the old indexes are gone */
    assert_true(hs_t_raw_count(f->dir, "host_datasets") < 0);
    assert_true(hs_t_raw_count(f->dir, "host_index") < 0);
    assert_true(hs_t_raw_count(f->dir, "owners") < 0);
    assert_int_equal(hs_t_raw_count(f->dir, "host_sets"), 2);
}

static void test_v1_store(void **state) { check_old_store(*state, 1); }
static void test_v2_store(void **state) { check_old_store(*state, 2); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stored_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ref_matches_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_ids_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_host_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arena_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batched_refs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_puts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_index_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v2_store, setup, teardown),
        OTHER_LMDB_TESTS
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
