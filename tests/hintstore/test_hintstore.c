/* Hint store API tests on a real LMDB environment in a temporary folder:
 * round trips of every call, replace/ownership/expiry semantics, schema
 * refusal, undecodable values, map-full, and a randomized comparison of
 * every summary against an in-test model of the blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hs_testutil.h"
#include "locus/hintstore.h"
#include "locus_hints.pb-c.h"

typedef struct fx {
    char *dir;
    locus_hs *hs;
} fx;

static locus_hs *open_store(const char *dir, size_t map_size)
{
    locus_hs_options o = {.map_size = map_size, .create = 1, .no_sync = 1};
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
    if (!f->dir)
        return -1;
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

static void put1(locus_hs_batch *b, const char *ds, uint64_t idx, uint64_t bytes, const char *h1,
                 locus_tier t1, const char *h2, locus_tier t2)
{
    locus_hs_replica r[2] = {{h1, t1}, {h2, t2}};
    locus_hs_block blk = {ds, idx, bytes, r, h2 ? 2 : (h1 ? 1 : 0)};
    assert_int_equal(locus_hs_batch_put(b, &blk), 0);
}

static uint64_t placement_bytes(const locus_hs_dataset *d, const char *host, locus_tier t)
{
    for (size_t i = 0; i < d->n_placement; i++)
        if (strcmp(d->placement[i].host, host) == 0 && d->placement[i].tier == t)
            return d->placement[i].bytes;
    return 0;
}

/* ---- tiers and open ---- */

static void test_tiers(void **state)
{
    (void)state;
    locus_tier t;
    assert_string_equal(locus_tier_name(LOCUS_TIER_MEM), "MEM");
    assert_string_equal(locus_tier_name(LOCUS_TIER_HDD), "HDD");
    assert_string_equal(locus_tier_name((locus_tier)9), "?");
    assert_int_equal(locus_tier_parse("ssd", &t), 0);
    assert_int_equal(t, LOCUS_TIER_SSD);
    assert_int_equal(locus_tier_parse("RAM_DISK", &t), 0);
    assert_int_equal(t, LOCUS_TIER_MEM);
    assert_int_equal(locus_tier_parse("Disk", &t), 0);
    assert_int_equal(t, LOCUS_TIER_HDD);
    assert_int_equal(locus_tier_parse("ARCHIVE", &t), 0);
    assert_int_equal(t, LOCUS_TIER_HDD);
    assert_int_equal(locus_tier_parse("tape", &t), LOCUS_EINVAL);
}

static void test_open_missing(void **state)
{
    fx *f = *state;
    char path[600], err[512];
    locus_hs *hs = (locus_hs *)1;
    snprintf(path, sizeof(path), "%s/absent", f->dir);
    locus_hs_options ro = {.read_only = 1};
    assert_int_equal(locus_hs_open(path, &ro, &hs, err, sizeof(err)), LOCUS_ENOTFOUND);
    assert_null(hs);
    assert_non_null(strstr(err, "absent"));
    locus_hs_options rw = {0};
    assert_int_equal(locus_hs_open(path, &rw, &hs, err, sizeof(err)), LOCUS_ENOTFOUND);
    /* create makes nested folders */
    snprintf(path, sizeof(path), "%s/a/b/c", f->dir);
    rw.create = 1;
    rw.no_sync = 1;
    assert_int_equal(locus_hs_open(path, &rw, &hs, err, sizeof(err)), 0);
    assert_string_equal(locus_hs_path(hs), path);
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(hs, "x", 0, &b), 0);
    /* one batch per handle */
    locus_hs_batch *b2;
    assert_int_equal(locus_hs_batch_begin(hs, "y", 0, &b2), LOCUS_EBUSY);
    locus_hs_batch_abort(b);
    locus_hs_close(hs);
    /* a read-only handle refuses to write */
    assert_int_equal(locus_hs_open(path, &ro, &hs, err, sizeof(err)), 0);
    assert_int_equal(locus_hs_batch_begin(hs, "x", 0, &b), LOCUS_ESTATE);
    assert_non_null(strstr(locus_hs_errstr(hs), "read-only"));
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(hs, &s), 0);
    const locus_hs_meta *m;
    assert_int_equal(locus_hs_snapshot_meta(s, &m), 0);
    assert_int_equal(m->schema_version, LOCUS_HS_SCHEMA_VERSION);
    assert_int_equal(m->writer_generation, 0);
    locus_hs_snapshot_close(s);
    locus_hs_close(hs);
    locus_hs_close(NULL);
    locus_hs_snapshot_close(NULL);
    locus_hs_batch_abort(NULL);
}

/* ---- round trip ---- */

typedef struct collect {
    char names[16][64];
    uint64_t vals[16];
    int n;
} collect;

static int collect_ds(const locus_hs_dataset *d, void *arg)
{
    collect *c = arg;
    snprintf(c->names[c->n], 64, "%s", d->name);
    c->vals[c->n++] = d->total_bytes;
    return 0;
}

static int collect_block(const locus_hs_block_view *b, void *arg)
{
    collect *c = arg;
    snprintf(c->names[c->n], 64, "%s#%llu@%s", b->dataset, (unsigned long long)b->index,
             b->backend);
    c->vals[c->n++] = b->bytes;
    return 0;
}

static int collect_bind(const char *sh, const char *ah, const char *id, void *arg)
{
    collect *c = arg;
    snprintf(c->names[c->n++], 64, "%s=%s/%s", sh, ah, id);
    return 0;
}

typedef struct nest_ctx {
    locus_hs_snapshot *s;
    int ok, n;
} nest_ctx;

static int count_block(const locus_hs_block_view *b, void *arg)
{
    (void)b;
    (*(int *)arg)++;
    return 0;
}

/* Iterates the dataset's blocks from inside the dataset walk: the outer view
 * must survive the inner iteration. */
static int nested(const locus_hs_dataset *d, void *arg)
{
    nest_ctx *c = arg;
    char name[64];
    uint64_t total = d->total_bytes;
    snprintf(name, sizeof(name), "%s", d->name);
    int blocks = 0;
    if (locus_hs_snapshot_foreach_block(c->s, name, count_block, &blocks) != 0)
        return 1;
    c->ok += strcmp(d->name, name) == 0 && d->total_bytes == total &&
             (uint64_t)blocks == d->block_count;
    c->n++;
    return 0;
}

static int stop_at_first(const locus_hs_dataset *d, void *arg)
{
    (void)d;
    (*(int *)arg)++;
    return 7;
}

static void test_round_trip(void **state)
{
    fx *f = *state;
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "redis:main", 0, &b), 0);
    put1(b, "logs", 1, 100, "h2", LOCUS_TIER_SSD, "h1", LOCUS_TIER_MEM);
    put1(b, "logs", 0, 50, "h1", LOCUS_TIER_MEM, NULL, 0);
    put1(b, "clicks", 7, 30, "h3", LOCUS_TIER_HDD, NULL, 0);
    put1(b, "empty-copy", 0, 10, NULL, 0, NULL, 0);
    assert_int_equal(locus_hs_batch_bind_host(b, "h1", "agent-1.example", "S1"), 0);
    assert_int_equal(locus_hs_batch_bind_host(b, "h2", "agent-2.example", NULL), 0);
    assert_int_equal(locus_hs_batch_commit(b, 1000), 0);

    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    const locus_hs_dataset *d, *d2;
    assert_int_equal(locus_hs_snapshot_dataset(s, "logs", &d), 0);
    assert_string_equal(d->name, "logs");
    assert_int_equal(d->total_bytes, 150);
    assert_int_equal(d->block_count, 2);
    assert_int_equal(d->version, 1);
    assert_int_equal(d->updated_at_ms, 1000);
    assert_int_equal(d->n_placement, 2);
    assert_string_equal(d->placement[0].host, "h1"); /* sorted by host */
    assert_int_equal(d->placement[0].tier, LOCUS_TIER_MEM);
    assert_int_equal(d->placement[0].bytes, 150);
    assert_string_equal(d->placement[1].host, "h2");
    assert_int_equal(d->placement[1].bytes, 100);
    /* the same view again (cached in the snapshot) */
    assert_int_equal(locus_hs_snapshot_dataset(s, "logs", &d2), 0);
    assert_ptr_equal(d, d2);
    assert_int_equal(locus_hs_snapshot_dataset(s, "empty-copy", &d2), 0);
    assert_int_equal(d2->total_bytes, 10);
    assert_int_equal(d2->n_placement, 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "nope", &d2), LOCUS_ENOTFOUND);

    const locus_hs_block_view *bv;
    assert_int_equal(locus_hs_snapshot_block(s, "logs", 1, &bv), 0);
    assert_string_equal(bv->dataset, "logs");
    assert_int_equal(bv->index, 1);
    assert_int_equal(bv->bytes, 100);
    assert_string_equal(bv->backend, "redis:main");
    assert_int_equal(bv->updated_at_ms, 1000);
    assert_int_equal(bv->n_replicas, 2);
    assert_string_equal(bv->replicas[0].host, "h2");
    assert_int_equal(bv->replicas[0].tier, LOCUS_TIER_SSD);
    assert_int_equal(locus_hs_snapshot_block(s, "logs", 2, &bv), LOCUS_ENOTFOUND);

    collect c = {0};
    assert_int_equal(locus_hs_snapshot_foreach_dataset(s, collect_ds, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.names[0], "clicks");
    assert_string_equal(c.names[1], "empty-copy");
    assert_string_equal(c.names[2], "logs");
    memset(&c, 0, sizeof(c));
    assert_int_equal(locus_hs_snapshot_foreach_host_dataset(s, "h1", collect_ds, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.names[0], "logs");
    memset(&c, 0, sizeof(c));
    assert_int_equal(locus_hs_snapshot_foreach_host_dataset(s, "h9", collect_ds, &c), 0);
    assert_int_equal(c.n, 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(locus_hs_snapshot_foreach_block(s, "logs", collect_block, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.names[0], "logs#0@redis:main");
    assert_string_equal(c.names[1], "logs#1@redis:main");
    memset(&c, 0, sizeof(c));
    assert_int_equal(locus_hs_snapshot_foreach_binding(s, collect_bind, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.names[0], "h1=agent-1.example/S1");
    assert_string_equal(c.names[1], "h2=agent-2.example/");
    nest_ctx nc = {s, 0, 0};
    assert_int_equal(locus_hs_snapshot_foreach_dataset(s, nested, &nc), 0);
    assert_int_equal(nc.n, 3);
    assert_int_equal(nc.ok, 3);
    int calls = 0;
    assert_int_equal(locus_hs_snapshot_foreach_dataset(s, stop_at_first, &calls), 7);
    assert_int_equal(calls, 1);
    assert_string_equal(locus_hs_snapshot_agent_for_host(s, "h1"), "agent-1.example");
    assert_string_equal(locus_hs_snapshot_agent_for_host(s, "h3"), "h3");

    const locus_hs_meta *m;
    assert_int_equal(locus_hs_snapshot_meta(s, &m), 0);
    assert_int_equal(m->writer_generation, 1);
    assert_int_equal(m->updated_at_ms, 1000);
    assert_int_equal(m->n_backends, 1);
    assert_string_equal(m->backends[0].backend, "redis:main");
    assert_int_equal(m->backends[0].last_success_ms, 1000);
    assert_int_equal(m->backends[0].blocks, 4);
    locus_hs_stats st;
    assert_int_equal(locus_hs_snapshot_stats(s, &st), 0);
    assert_int_equal(st.datasets, 3);
    assert_int_equal(st.blocks, 4);
    assert_int_equal(st.hosts, 3);
    assert_int_equal(st.bindings, 2);
    assert_true(st.map_size >= ((size_t)1 << 30));
    assert_true(st.used_bytes > 0 && st.used_bytes < st.map_size);
    assert_int_equal(locus_hs_snapshot_decode_errors(s), 0);
    assert_string_equal(locus_hs_snapshot_errstr(s), "");
    locus_hs_snapshot_close(s);
}

static void test_put_validation(void **state)
{
    fx *f = *state;
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "", 0, &b), LOCUS_EINVAL);
    assert_int_equal(locus_hs_batch_begin(f->hs, "v", 0, &b), 0);
    locus_hs_replica dup[2] = {{"h1", LOCUS_TIER_MEM}, {"h1", LOCUS_TIER_MEM}};
    locus_hs_block blk = {"d", 0, 1, dup, 2};
    assert_int_equal(locus_hs_batch_put(b, &blk), LOCUS_EINVAL);
    assert_non_null(strstr(locus_hs_errstr(f->hs), "duplicate replica on host 'h1'"));
    locus_hs_replica badtier = {"h1", (locus_tier)0};
    blk.replicas = &badtier;
    blk.n_replicas = 1;
    assert_int_equal(locus_hs_batch_put(b, &blk), LOCUS_EINVAL);
    locus_hs_replica nohost = {"", LOCUS_TIER_MEM};
    blk.replicas = &nohost;
    assert_int_equal(locus_hs_batch_put(b, &blk), LOCUS_EINVAL);
    blk.dataset = "";
    blk.n_replicas = 0;
    assert_int_equal(locus_hs_batch_put(b, &blk), LOCUS_EINVAL);
    assert_int_equal(locus_hs_batch_delete(b, "d", 3), LOCUS_ENOTFOUND);
    assert_non_null(strstr(locus_hs_errstr(f->hs), "d#3"));
    /* put then delete in one batch: nothing remains */
    put1(b, "d", 3, 5, "h1", LOCUS_TIER_MEM, NULL, 0);
    assert_int_equal(locus_hs_batch_delete(b, "d", 3), 0);
    assert_int_equal(locus_hs_batch_delete(b, "d", 3), LOCUS_ENOTFOUND);
    put1(b, "d", 4, 5, "h1", LOCUS_TIER_MEM, NULL, 0);
    put1(b, "d", 4, 9, "h2", LOCUS_TIER_SSD, NULL, 0); /* the last put wins */
    assert_int_equal(locus_hs_batch_commit(b, 5), 0);

    locus_hs_snapshot *s;
    const locus_hs_dataset *d;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "d", &d), 0);
    assert_int_equal(d->block_count, 1);
    assert_int_equal(d->total_bytes, 9);
    assert_int_equal(placement_bytes(d, "h2", LOCUS_TIER_SSD), 9);
    assert_int_equal(placement_bytes(d, "h1", LOCUS_TIER_MEM), 0);
    locus_hs_snapshot_close(s);

    /* abort leaves the store as it was */
    assert_int_equal(locus_hs_batch_begin(f->hs, "v", 1, &b), 0);
    assert_int_equal(locus_hs_batch_delete(b, "d", 4), 0);
    locus_hs_batch_abort(b);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "d", &d), 0);
    assert_int_equal(d->total_bytes, 9);
    const locus_hs_meta *m;
    assert_int_equal(locus_hs_snapshot_meta(s, &m), 0);
    assert_int_equal(m->writer_generation, 1);
    locus_hs_snapshot_close(s);
}

static void test_replace_all(void **state)
{
    fx *f = *state;
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 1, &b), 0);
    for (int i = 0; i < 5; i++)
        put1(b, "x", (uint64_t)i, 10, "h1", LOCUS_TIER_MEM, NULL, 0);
    put1(b, "y", 0, 7, "h2", LOCUS_TIER_MEM, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 100), 0);
    assert_int_equal(locus_hs_batch_begin(f->hs, "B", 0, &b), 0);
    put1(b, "x", 9, 1, "h3", LOCUS_TIER_HDD, NULL, 0); /* B's own block in x */
    put1(b, "y", 0, 8, "h3", LOCUS_TIER_SSD, NULL, 0); /* B takes over y#0 */
    assert_int_equal(locus_hs_batch_commit(b, 200), 0);

    /* A's full poll: x#0..2 (x#1 changed), not x#3, x#4, nor y#0 (now B's) */
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 1, &b), 0);
    put1(b, "x", 0, 10, "h1", LOCUS_TIER_MEM, NULL, 0);
    put1(b, "x", 1, 20, "h1", LOCUS_TIER_MEM, NULL, 0);
    put1(b, "x", 2, 10, "h1", LOCUS_TIER_MEM, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 300), 0);

    locus_hs_snapshot *s;
    const locus_hs_dataset *d;
    const locus_hs_block_view *bv;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "x", &d), 0);
    assert_int_equal(d->block_count, 4);
    assert_int_equal(d->total_bytes, 41);
    assert_int_equal(d->updated_at_ms, 300);
    assert_int_equal(d->version, 3); /* created, B's block, A's change */
    assert_int_equal(placement_bytes(d, "h3", LOCUS_TIER_HDD), 1);
    assert_int_equal(locus_hs_snapshot_block(s, "x", 3, &bv), LOCUS_ENOTFOUND);
    assert_int_equal(locus_hs_snapshot_block(s, "x", 0, &bv), 0);
    assert_int_equal(bv->updated_at_ms, 300);
    assert_int_equal(locus_hs_snapshot_block(s, "x", 9, &bv), 0);
    assert_string_equal(bv->backend, "B");
    assert_int_equal(bv->updated_at_ms, 200);
    assert_int_equal(locus_hs_snapshot_block(s, "y", 0, &bv), 0);
    assert_string_equal(bv->backend, "B");
    assert_int_equal(bv->bytes, 8);
    collect c = {0};
    assert_int_equal(locus_hs_snapshot_foreach_host_dataset(s, "h2", collect_ds, &c), 0);
    assert_int_equal(c.n, 0); /* y left h2 when B took it to h3 */
    const locus_hs_meta *m;
    assert_int_equal(locus_hs_snapshot_meta(s, &m), 0);
    assert_int_equal(m->writer_generation, 3);
    for (size_t i = 0; i < m->n_backends; i++) {
        if (strcmp(m->backends[i].backend, "A") == 0) {
            assert_int_equal(m->backends[i].blocks, 3);
            assert_int_equal(m->backends[i].last_success_ms, 300);
        } else {
            assert_string_equal(m->backends[i].backend, "B");
            assert_int_equal(m->backends[i].blocks, 2);
        }
    }
    locus_hs_snapshot_close(s);

    /* A confirms exactly the same blocks: version stays, time moves */
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 1, &b), 0);
    put1(b, "x", 0, 10, "h1", LOCUS_TIER_MEM, NULL, 0);
    put1(b, "x", 1, 20, "h1", LOCUS_TIER_MEM, NULL, 0);
    put1(b, "x", 2, 10, "h1", LOCUS_TIER_MEM, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 400), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "x", &d), 0);
    assert_int_equal(d->version, 3);
    assert_int_equal(d->updated_at_ms, 400);
    assert_int_equal(d->total_bytes, 41);
    locus_hs_snapshot_close(s);

    /* an empty full poll of B removes all of B's blocks */
    assert_int_equal(locus_hs_batch_begin(f->hs, "B", 1, &b), 0);
    assert_int_equal(locus_hs_batch_commit(b, 500), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "y", &d), LOCUS_ENOTFOUND);
    assert_int_equal(locus_hs_snapshot_dataset(s, "x", &d), 0);
    assert_int_equal(d->total_bytes, 40);
    assert_int_equal(placement_bytes(d, "h3", LOCUS_TIER_HDD), 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(locus_hs_snapshot_foreach_host_dataset(s, "h3", collect_ds, &c), 0);
    assert_int_equal(c.n, 0);
    locus_hs_snapshot_close(s);
}

static void test_failure_and_expire(void **state)
{
    fx *f = *state;
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    put1(b, "x", 0, 10, "h1", LOCUS_TIER_MEM, NULL, 0);
    put1(b, "x", 1, 10, "h1", LOCUS_TIER_MEM, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 1000), 0);
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    put1(b, "x", 1, 11, "h2", LOCUS_TIER_MEM, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 2000), 0);
    assert_int_equal(locus_hs_batch_begin(f->hs, "B", 0, &b), 0);
    put1(b, "x", 2, 5, "h1", LOCUS_TIER_MEM, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 500), 0);

    assert_int_equal(locus_hs_record_failure(f->hs, "A", 2500), 0);
    assert_int_equal(locus_hs_record_failure(f->hs, "A", 2600), 0);
    uint64_t dropped = 99;
    assert_int_equal(locus_hs_expire_backend(f->hs, "A", 1500, 3000, &dropped), 0);
    assert_int_equal(dropped, 1); /* x#0 only; x#1 is newer, x#2 is B's */

    locus_hs_snapshot *s;
    const locus_hs_dataset *d;
    const locus_hs_meta *m;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "x", &d), 0);
    assert_int_equal(d->block_count, 2);
    assert_int_equal(d->total_bytes, 16);
    assert_int_equal(placement_bytes(d, "h1", LOCUS_TIER_MEM), 5);
    assert_int_equal(locus_hs_snapshot_meta(s, &m), 0);
    assert_int_equal(m->writer_generation, 6);
    int seen = 0;
    for (size_t i = 0; i < m->n_backends; i++)
        if (strcmp(m->backends[i].backend, "A") == 0) {
            seen = 1;
            assert_int_equal(m->backends[i].consecutive_failures, 2);
            assert_int_equal(m->backends[i].last_attempt_ms, 2600);
            assert_int_equal(m->backends[i].last_success_ms, 2000);
            assert_int_equal(m->backends[i].blocks, 1);
        }
    assert_true(seen);
    locus_hs_snapshot_close(s);
    /* nothing left to expire */
    assert_int_equal(locus_hs_expire_backend(f->hs, "A", 1500, 3100, &dropped), 0);
    assert_int_equal(dropped, 0);
    /* a successful poll clears the failure count */
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    assert_int_equal(locus_hs_batch_commit(b, 4000), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_meta(s, &m), 0);
    for (size_t i = 0; i < m->n_backends; i++)
        if (strcmp(m->backends[i].backend, "A") == 0)
            assert_int_equal(m->backends[i].consecutive_failures, 0);
    locus_hs_snapshot_close(s);
}

/* ---- schema, corruption, map full ---- */

static void test_schema_refusal(void **state)
{
    fx *f = *state;
    locus_hs_close(f->hs);
    f->hs = NULL;
    Locus__StoreMeta m = LOCUS__STORE_META__INIT;
    m.schema_version = LOCUS_HS_SCHEMA_VERSION + 1;
    uint8_t buf[64];
    size_t n = locus__store_meta__pack(&m, buf);
    assert_int_equal(hs_t_raw_put(f->dir, "meta", "meta", 4, buf, n), 0);
    char err[512];
    locus_hs *hs = NULL;
    locus_hs_options o = {.read_only = 1};
    assert_int_equal(locus_hs_open(f->dir, &o, &hs, err, sizeof(err)), LOCUS_ESCHEMA);
    assert_null(hs);
    char want[64];
    snprintf(want, sizeof(want), "schema version %d", LOCUS_HS_SCHEMA_VERSION + 1);
    assert_non_null(strstr(err, want));
    snprintf(want, sizeof(want), "reads version %d", LOCUS_HS_SCHEMA_VERSION);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, f->dir));
    o.read_only = 0; /* the writer refuses too, and changes nothing */
    assert_int_equal(locus_hs_open(f->dir, &o, &hs, err, sizeof(err)), LOCUS_ESCHEMA);
}

static void test_corrupt_values(void **state)
{
    fx *f = *state;
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    put1(b, "a", 0, 10, "h1", LOCUS_TIER_MEM, NULL, 0);
    put1(b, "c", 0, 10, "h1", LOCUS_TIER_MEM, NULL, 0);
    put1(b, "c", 1, 20, "h1", LOCUS_TIER_MEM, NULL, 0);
    put1(b, "c", 2, 30, "h1", LOCUS_TIER_MEM, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 10), 0);
    locus_hs_close(f->hs);
    f->hs = NULL;
    static const unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99, 0x01};
    char key[64];
    assert_int_equal(hs_t_raw_put(f->dir, "datasets", "b-bad", 5, junk, sizeof(junk)), 0);
    assert_int_equal(hs_t_raw_put(f->dir, "blocks", key, hs_t_block_key(key, "c", 1), junk,
                                  sizeof(junk)),
                     0);
    f->hs = open_store(f->dir, 0);

    locus_hs_snapshot *s;
    const locus_hs_dataset *d;
    const locus_hs_block_view *bv;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "b-bad", &d), LOCUS_ECORRUPT);
    assert_int_equal(locus_hs_snapshot_decode_errors(s), 1);
    assert_non_null(strstr(locus_hs_snapshot_errstr(s), "datasets"));
    assert_non_null(strstr(locus_hs_snapshot_errstr(s), "'b-bad'"));
    collect c = {0};
    assert_int_equal(locus_hs_snapshot_foreach_dataset(s, collect_ds, &c), 0);
    assert_int_equal(c.n, 2); /* a and c; b-bad skipped */
    assert_string_equal(c.names[0], "a");
    assert_string_equal(c.names[1], "c");
    assert_int_equal(locus_hs_snapshot_decode_errors(s), 2);
    assert_int_equal(locus_hs_snapshot_block(s, "c", 1, &bv), LOCUS_ECORRUPT);
    assert_non_null(strstr(locus_hs_snapshot_errstr(s), "blocks"));
    assert_non_null(strstr(locus_hs_snapshot_errstr(s), "'c#1'"));
    memset(&c, 0, sizeof(c));
    assert_int_equal(locus_hs_snapshot_foreach_block(s, "c", collect_block, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.names[0], "c#0@A");
    assert_string_equal(c.names[1], "c#2@A");
    assert_int_equal(locus_hs_snapshot_decode_errors(s), 4);
    locus_hs_snapshot_close(s);

    /* The writer does not re-read untouched blocks: the summary keeps the
     * last written aggregate. A put over the bad block replaces it, and the
     * dataset is then recomputed from its blocks. */
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    put1(b, "c", 3, 1, "h2", LOCUS_TIER_SSD, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 20), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "c", &d), 0);
    assert_int_equal(d->block_count, 4);
    assert_int_equal(d->total_bytes, 61);
    locus_hs_snapshot_close(s);
    /* a bad summary is recomputed from the blocks on the next write */
    locus_hs_close(f->hs);
    f->hs = NULL;
    assert_int_equal(hs_t_raw_put(f->dir, "datasets", "a", 1, junk, sizeof(junk)), 0);
    f->hs = open_store(f->dir, 0);
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    put1(b, "a", 1, 5, "h2", LOCUS_TIER_SSD, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 25), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "a", &d), 0);
    assert_int_equal(d->block_count, 2);
    assert_int_equal(d->total_bytes, 15);
    assert_int_equal(placement_bytes(d, "h1", LOCUS_TIER_MEM), 10);
    assert_int_equal(placement_bytes(d, "h2", LOCUS_TIER_SSD), 5);
    locus_hs_snapshot_close(s);
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 1, &b), 0);
    put1(b, "c", 1, 20, "h1", LOCUS_TIER_MEM, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 30), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "c", &d), 0);
    assert_int_equal(d->block_count, 1);
    assert_int_equal(d->total_bytes, 20);
    assert_int_equal(locus_hs_snapshot_dataset(s, "a", &d), LOCUS_ENOTFOUND);
    assert_int_equal(locus_hs_snapshot_decode_errors(s), 0);
    locus_hs_snapshot_close(s);
}

static void test_map_full(void **state)
{
    fx *f = *state;
    locus_hs_close(f->hs);
    hs_t_rmtree(f->dir);
    f->dir = hs_t_mkdtemp();
    f->hs = open_store(f->dir, 256 * 1024);
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    put1(b, "keep", 0, 10, "h1", LOCUS_TIER_MEM, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 10), 0);
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 1, &b), 0);
    char name[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof(name), "big-%06d", i);
        put1(b, name, 0, 10, "h1", LOCUS_TIER_MEM, "h2", LOCUS_TIER_SSD);
    }
    assert_int_equal(locus_hs_batch_commit(b, 20), LOCUS_EFULL);
    assert_non_null(strstr(locus_hs_errstr(f->hs), "MDB_MAP_FULL"));
    locus_hs_snapshot *s;
    const locus_hs_dataset *d;
    const locus_hs_meta *m;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_dataset(s, "keep", &d), 0);
    assert_int_equal(d->total_bytes, 10);
    assert_int_equal(locus_hs_snapshot_dataset(s, "big-000000", &d), LOCUS_ENOTFOUND);
    assert_int_equal(locus_hs_snapshot_meta(s, &m), 0);
    assert_int_equal(m->writer_generation, 1);
    locus_hs_snapshot_close(s);
    /* the store still takes a batch that fits */
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    put1(b, "keep", 1, 5, "h1", LOCUS_TIER_MEM, NULL, 0);
    assert_int_equal(locus_hs_batch_commit(b, 30), 0);
}

/* ---- randomized model check ---- */

#define M_DS 6
#define M_IDX 40
#define M_HOSTS 9
#define M_BACKENDS 3

typedef struct mblock {
    int present, backend, nrep;
    uint64_t bytes;
    int64_t t;
    int host[3], tier[3];
} mblock;

static const char *m_backend[M_BACKENDS] = {"A", "B", "C"};

static void m_ds_name(char *buf, int d) { snprintf(buf, 16, "ds%d", d); }
static void m_host_name(char *buf, int h) { snprintf(buf, 16, "h%d", h); }

static void check_against_model(locus_hs *hs, mblock (*m)[M_IDX], uint64_t seed, int step)
{
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(hs, &s), 0);
    uint64_t nblocks = 0, nds = 0, per_backend[M_BACKENDS] = {0};
    for (int d = 0; d < M_DS; d++) {
        uint64_t total = 0, count = 0, ph[M_HOSTS][4] = {{0}};
        for (int i = 0; i < M_IDX; i++) {
            mblock *b = &m[d][i];
            if (!b->present)
                continue;
            total += b->bytes;
            count++;
            per_backend[b->backend]++;
            for (int r = 0; r < b->nrep; r++)
                ph[b->host[r]][b->tier[r]] += b->bytes;
        }
        nblocks += count;
        char name[16];
        m_ds_name(name, d);
        const locus_hs_dataset *v;
        int rc = locus_hs_snapshot_dataset(s, name, &v);
        if (count == 0) {
            if (rc != LOCUS_ENOTFOUND)
                fail_msg("seed %llu step %d: %s should be absent", (unsigned long long)seed, step,
                         name);
            continue;
        }
        nds++;
        if (rc != 0 || v->total_bytes != total || v->block_count != count)
            fail_msg("seed %llu step %d: %s total/count mismatch (rc %d)",
                     (unsigned long long)seed, step, name, rc);
        size_t expect_entries = 0;
        for (int h = 0; h < M_HOSTS; h++)
            for (int t = 1; t <= 3; t++) {
                char hn[16];
                m_host_name(hn, h);
                if (ph[h][t])
                    expect_entries++;
                if (placement_bytes(v, hn, (locus_tier)t) != ph[h][t])
                    fail_msg("seed %llu step %d: %s bytes on %s/%d differ",
                             (unsigned long long)seed, step, name, hn, t);
            }
        if (v->n_placement != expect_entries)
            fail_msg("seed %llu step %d: %s has %zu placement entries, want %zu",
                     (unsigned long long)seed, step, name, v->n_placement, expect_entries);
        for (size_t i = 1; i < v->n_placement; i++) {
            int c = strcmp(v->placement[i - 1].host, v->placement[i].host);
            assert_true(c < 0 || (c == 0 && v->placement[i - 1].tier < v->placement[i].tier));
        }
    }
    /* host index: exactly the datasets with bytes on each host */
    uint64_t hosts_with_bytes = 0;
    for (int h = 0; h < M_HOSTS; h++) {
        char hn[16];
        m_host_name(hn, h);
        collect c = {0};
        assert_int_equal(locus_hs_snapshot_foreach_host_dataset(s, hn, collect_ds, &c), 0);
        int want = 0;
        for (int d = 0; d < M_DS; d++) {
            int on = 0;
            for (int i = 0; i < M_IDX && !on; i++)
                for (int r = 0; r < m[d][i].nrep && m[d][i].present; r++)
                    if (m[d][i].host[r] == h && m[d][i].bytes)
                        on = 1;
            want += on;
        }
        if (c.n != want)
            fail_msg("seed %llu step %d: host %s lists %d datasets, want %d",
                     (unsigned long long)seed, step, hn, c.n, want);
        hosts_with_bytes += want > 0;
    }
    locus_hs_stats st;
    assert_int_equal(locus_hs_snapshot_stats(s, &st), 0);
    assert_int_equal(st.blocks, nblocks);
    assert_int_equal(st.datasets, nds);
    if (st.hosts != hosts_with_bytes) /* no leftover host index keys */
        fail_msg("seed %llu step %d: %llu hosts indexed, want %llu", (unsigned long long)seed,
                 step, (unsigned long long)st.hosts, (unsigned long long)hosts_with_bytes);
    const locus_hs_meta *meta;
    assert_int_equal(locus_hs_snapshot_meta(s, &meta), 0);
    for (size_t i = 0; i < meta->n_backends; i++)
        for (int k = 0; k < M_BACKENDS; k++)
            if (strcmp(meta->backends[i].backend, m_backend[k]) == 0 &&
                meta->backends[i].blocks != per_backend[k])
                fail_msg("seed %llu step %d: backend %s owns %llu blocks, want %llu",
                         (unsigned long long)seed, step, m_backend[k],
                         (unsigned long long)meta->backends[i].blocks,
                         (unsigned long long)per_backend[k]);
    assert_int_equal(locus_hs_snapshot_decode_errors(s), 0);
    locus_hs_snapshot_close(s);
}

static void test_random_model(void **state)
{
    fx *f = *state;
    static mblock model[M_DS][M_IDX], staged[M_DS][M_IDX];
    static int put_in_batch[M_DS][M_IDX];
    uint64_t seed = 0x1234abcdULL, rng;
    const char *env = getenv("LOCUS_TEST_SEED");
    if (env)
        seed = strtoull(env, NULL, 0);
    rng = seed | 1;
    memset(model, 0, sizeof(model));
    int64_t now = 1000;
    for (int step = 0; step < 1200; step++) {
        now += 10;
        int roll = (int)(hs_t_rng(&rng) % 100);
        if (roll < 4) {
            /* expire one backend's blocks older than a random bound */
            int k = (int)(hs_t_rng(&rng) % M_BACKENDS);
            int64_t bound = now - (int64_t)(hs_t_rng(&rng) % 200);
            uint64_t dropped, want = 0;
            for (int d = 0; d < M_DS; d++)
                for (int i = 0; i < M_IDX; i++)
                    if (model[d][i].present && model[d][i].backend == k && model[d][i].t < bound) {
                        model[d][i].present = 0;
                        want++;
                    }
            assert_int_equal(locus_hs_expire_backend(f->hs, m_backend[k], bound, now, &dropped), 0);
            assert_int_equal(dropped, want);
            check_against_model(f->hs, model, seed, step);
            continue;
        }
        int k = (int)(hs_t_rng(&rng) % M_BACKENDS);
        int replace = hs_t_rng(&rng) % 5 == 0;
        locus_hs_batch *b;
        assert_int_equal(locus_hs_batch_begin(f->hs, m_backend[k], replace, &b), 0);
        memcpy(staged, model, sizeof(model));
        memset(put_in_batch, 0, sizeof(put_in_batch));
        int nops = replace ? 60 : 1 + (int)(hs_t_rng(&rng) % 20);
        for (int o = 0; o < nops; o++) {
            int d = (int)(hs_t_rng(&rng) % M_DS), i = (int)(hs_t_rng(&rng) % M_IDX);
            char name[16];
            m_ds_name(name, d);
            if (hs_t_rng(&rng) % 4 == 0) {
                int rc = locus_hs_batch_delete(b, name, (uint64_t)i);
                assert_int_equal(rc, staged[d][i].present ? 0 : LOCUS_ENOTFOUND);
                staged[d][i].present = 0;
                put_in_batch[d][i] = 0;
                continue;
            }
            mblock nb = {.present = 1, .backend = k, .t = now};
            nb.bytes = hs_t_rng(&rng) % 4 == 0 ? 0 : 1 + hs_t_rng(&rng) % 1000000;
            nb.nrep = (int)(hs_t_rng(&rng) % 4);
            locus_hs_replica reps[3];
            char hn[3][16];
            for (int r = 0; r < nb.nrep; r++) {
                nb.host[r] = (int)(hs_t_rng(&rng) % M_HOSTS);
                nb.tier[r] = 1 + (int)(hs_t_rng(&rng) % 3);
                for (int q = 0; q < r; q++)
                    if (nb.host[q] == nb.host[r] && nb.tier[q] == nb.tier[r])
                        nb.tier[r] = nb.tier[r] % 3 + 1; /* keep (host, tier) unique */
                for (int q = 0; q < r; q++)
                    if (nb.host[q] == nb.host[r] && nb.tier[q] == nb.tier[r])
                        nb.host[r] = (nb.host[r] + 1) % M_HOSTS;
                m_host_name(hn[r], nb.host[r]);
                reps[r].host = hn[r];
                reps[r].tier = (locus_tier)nb.tier[r];
            }
            int dupe = 0;
            for (int r = 0; r < nb.nrep; r++)
                for (int q = 0; q < r; q++)
                    dupe |= nb.host[q] == nb.host[r] && nb.tier[q] == nb.tier[r];
            if (dupe)
                nb.nrep = 1;
            locus_hs_block blk = {name, (uint64_t)i, nb.bytes, reps, (size_t)nb.nrep};
            assert_int_equal(locus_hs_batch_put(b, &blk), 0);
            staged[d][i] = nb;
            put_in_batch[d][i] = 1;
        }
        if (hs_t_rng(&rng) % 10 == 0) {
            locus_hs_batch_abort(b);
        } else {
            if (replace)
                for (int d = 0; d < M_DS; d++)
                    for (int i = 0; i < M_IDX; i++)
                        if (staged[d][i].present && staged[d][i].backend == k &&
                            !put_in_batch[d][i])
                            staged[d][i].present = 0;
            assert_int_equal(locus_hs_batch_commit(b, now), 0);
            memcpy(model, staged, sizeof(model));
        }
        if (step % 3 == 0 || step > 1150)
            check_against_model(f->hs, model, seed, step);
        if (step % 100 == 99) {
            /* The host index holds exactly one entry per (host, dataset with
             * bytes there): no leftovers. Checked with raw LMDB, so the store
             * is closed and reopened around it. */
            long long want = 0;
            for (int h = 0; h < M_HOSTS; h++)
                for (int d = 0; d < M_DS; d++) {
                    int on = 0;
                    for (int i = 0; i < M_IDX && !on; i++)
                        for (int r = 0; r < model[d][i].nrep && model[d][i].present; r++)
                            on |= model[d][i].host[r] == h && model[d][i].bytes > 0;
                    want += on;
                }
            locus_hs_close(f->hs);
            f->hs = NULL;
            long long got = hs_t_raw_count(f->dir, "host_sets");
            if (got != want)
                fail_msg("seed %llu step %d: host index has %lld entries, want %lld",
                         (unsigned long long)seed, step, got, want);
            /* one dataset id per dataset with blocks: ids of deleted
             * datasets go with them */
            long long names = hs_t_raw_count(f->dir, "dataset_names"), datasets = 0;
            for (int d = 0; d < M_DS; d++) {
                int any = 0;
                for (int i = 0; i < M_IDX; i++)
                    any |= model[d][i].present;
                datasets += any;
            }
            if (names != datasets)
                fail_msg("seed %llu step %d: dataset_names has %lld entries, want %lld",
                         (unsigned long long)seed, step, names, datasets);
            f->hs = open_store(f->dir, 0);
        }
    }
}

/* ---- damaged values: random byte flips, truncations and tails ---- */

static int count_any_ds(const locus_hs_dataset *d, void *arg)
{
    (void)d;
    (*(int *)arg)++;
    return 0;
}

static int count_any_block(const locus_hs_block_view *b, void *arg)
{
    /* touch every field: a damaged value must still give sane pointers */
    *(int *)arg += (int)(strlen(b->dataset) + strlen(b->backend) > 0);
    for (size_t i = 0; i < b->n_replicas; i++)
        *(int *)arg += b->replicas[i].host[0] != '\1' && b->replicas[i].tier >= LOCUS_TIER_MEM &&
                       b->replicas[i].tier <= LOCUS_TIER_HDD;
    return 0;
}

static int count_any_binding(const char *sh, const char *ah, const char *id, void *arg)
{
    *(int *)arg += (int)(strlen(sh) + strlen(ah) + strlen(id) > 0);
    return 0;
}

/* Writes the reference content: 3 datasets x 4 blocks, 2 bindings. */
static int write_reference(locus_hs *hs, int64_t now)
{
    locus_hs_batch *b;
    int rc = locus_hs_batch_begin(hs, "A", 1, &b);
    for (int d = 0; rc == 0 && d < 3; d++)
        for (int i = 0; rc == 0 && i < 4; i++) {
            char name[8], h1[8], h2[8];
            snprintf(name, sizeof(name), "d%d", d);
            snprintf(h1, sizeof(h1), "h%d", (d + i) % 4);
            snprintf(h2, sizeof(h2), "h%d", (d + i + 1) % 4);
            locus_hs_replica r[2] = {{h1, (locus_tier)(1 + i % 3)}, {h2, LOCUS_TIER_HDD}};
            locus_hs_block blk = {name, (uint64_t)i, (uint64_t)(100 * d + i + 1), r, 2};
            rc = locus_hs_batch_put(b, &blk);
        }
    if (rc == 0)
        rc = locus_hs_batch_bind_host(b, "h0", "agent-0", "S0");
    if (rc == 0)
        rc = locus_hs_batch_bind_host(b, "h1", "agent-1", NULL);
    if (rc) {
        locus_hs_batch_abort(b);
        return rc;
    }
    return locus_hs_batch_commit(b, now);
}

/* Reads everything; every call must answer with an expected status. */
static void read_everything(locus_hs *hs)
{
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(hs, &s), 0);
    int n = 0;
    assert_int_equal(locus_hs_snapshot_foreach_dataset(s, count_any_ds, &n), 0);
    for (int d = 0; d < 3; d++) {
        char name[8];
        snprintf(name, sizeof(name), "d%d", d);
        const locus_hs_dataset *v;
        int rc = locus_hs_snapshot_dataset(s, name, &v);
        assert_true(rc == 0 || rc == LOCUS_ECORRUPT || rc == LOCUS_ENOTFOUND);
        if (rc == 0)
            for (size_t i = 0; i < v->n_placement; i++)
                assert_non_null(v->placement[i].host);
        assert_int_equal(locus_hs_snapshot_foreach_block(s, name, count_any_block, &n), 0);
        for (int i = 0; i < 4; i++) {
            const locus_hs_block_view *bv;
            rc = locus_hs_snapshot_block(s, name, (uint64_t)i, &bv);
            assert_true(rc == 0 || rc == LOCUS_ECORRUPT || rc == LOCUS_ENOTFOUND);
        }
    }
    for (int h = 0; h < 4; h++) {
        char hn[8];
        snprintf(hn, sizeof(hn), "h%d", h);
        assert_int_equal(locus_hs_snapshot_foreach_host_dataset(s, hn, count_any_ds, &n), 0);
        assert_non_null(locus_hs_snapshot_agent_for_host(s, hn));
    }
    assert_int_equal(locus_hs_snapshot_foreach_binding(s, count_any_binding, &n), 0);
    const locus_hs_meta *m;
    int rc = locus_hs_snapshot_meta(s, &m);
    assert_true(rc == 0 || rc == LOCUS_ECORRUPT);
    locus_hs_stats st;
    assert_int_equal(locus_hs_snapshot_stats(s, &st), 0);
    if (locus_hs_snapshot_decode_errors(s))
        assert_non_null(strstr(locus_hs_snapshot_errstr(s), "key '"));
    locus_hs_snapshot_close(s);
}

static void test_damaged_values(void **state)
{
    fx *f = *state;
    uint64_t rng = 0xdeadbeefULL;
    const char *env = getenv("LOCUS_TEST_SEED");
    if (env)
        rng ^= strtoull(env, NULL, 0) * 0x9e3779b97f4a7c15ULL;
    static const char *dbs[] = {"datasets", "blocks", "hosts", "meta"};
    for (int round = 0; round < 150; round++) {
        locus_hs_close(f->hs);
        hs_t_rmtree(f->dir);
        f->dir = hs_t_mkdtemp();
        assert_non_null(f->dir);
        f->hs = open_store(f->dir, 0);
        assert_int_equal(write_reference(f->hs, 100), 0);
        locus_hs_close(f->hs);
        f->hs = NULL;

        const char *db = dbs[hs_t_rng(&rng) % 4];
        char key[32];
        size_t klen;
        int d = (int)(hs_t_rng(&rng) % 3);
        if (strcmp(db, "blocks") == 0) {
            char name[8];
            snprintf(name, sizeof(name), "d%d", d);
            klen = hs_t_block_key(key, name, hs_t_rng(&rng) % 4);
        } else if (strcmp(db, "datasets") == 0) {
            klen = (size_t)snprintf(key, sizeof(key), "d%d", d);
        } else if (strcmp(db, "hosts") == 0) {
            klen = (size_t)snprintf(key, sizeof(key), "h%d", d % 2);
        } else {
            klen = (size_t)snprintf(key, sizeof(key), "meta");
        }
        size_t vlen = 0;
        unsigned char *val = hs_t_raw_get(f->dir, db, key, klen, &vlen);
        assert_non_null(val);
        unsigned char buf[1024];
        size_t n = vlen < sizeof(buf) - 16 ? vlen : sizeof(buf) - 16;
        memcpy(buf, val, n);
        free(val);
        switch (hs_t_rng(&rng) % 3) {
        case 0: /* flip up to four bytes */
            for (int k = 0, flips = 1 + (int)(hs_t_rng(&rng) % 4); k < flips && n; k++)
                buf[hs_t_rng(&rng) % n] ^= (unsigned char)(1 + hs_t_rng(&rng) % 255);
            break;
        case 1: /* truncate */
            n = n ? (size_t)(hs_t_rng(&rng) % n) : 0;
            break;
        default: /* random tail */
            for (int k = 0, t = 1 + (int)(hs_t_rng(&rng) % 12); k < t; k++)
                buf[n++] = (unsigned char)hs_t_rng(&rng);
        }
        assert_int_equal(hs_t_raw_put(f->dir, db, key, klen, buf, n), 0);

        locus_hs_options o = {.create = 1, .no_sync = 1};
        char err[512];
        int rc = locus_hs_open(f->dir, &o, &f->hs, err, sizeof(err));
        if (rc != 0) {
            /* only a damaged meta may stop an open, with a clear reason */
            assert_string_equal(db, "meta");
            assert_true(rc == LOCUS_ECORRUPT || rc == LOCUS_ESCHEMA);
            assert_non_null(strstr(err, f->dir));
            continue;
        }
        read_everything(f->hs);
        /* The next full poll overwrites every block and binding, recomputes
         * what it cannot trust and rewrites meta: nothing undecodable is left. */
        assert_int_equal(write_reference(f->hs, 200), 0);
        read_everything(f->hs);
        locus_hs_snapshot *s;
        assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
        int cnt = 0;
        assert_int_equal(locus_hs_snapshot_foreach_dataset(s, count_any_ds, &cnt), 0);
        for (int k = 0; k < 3; k++) {
            char name[8];
            snprintf(name, sizeof(name), "d%d", k);
            assert_int_equal(locus_hs_snapshot_foreach_block(s, name, count_any_block, &cnt), 0);
        }
        assert_int_equal(locus_hs_snapshot_foreach_binding(s, count_any_binding, &cnt), 0);
        if (locus_hs_snapshot_decode_errors(s) != 0)
            fail_msg("round %d (%s): still undecodable after a full poll: %s", round, db,
                     locus_hs_snapshot_errstr(s));
        locus_hs_snapshot_close(s);
    }
}

/* ---- batches large enough that their arrays grow into huge-page blocks ---- */

#define LB_DATASETS 25000
#define LB_BLOCKS 8
#define LB_HOSTS 400

/* Replica k of block i of dataset d; `moved` shifts the hosts of block 0. */
static int lb_host(int d, int i, int k, int moved)
{
    static const int offset[3] = {0, 131, 263};
    return (d * 7 + i + offset[k] + (moved && i == 0 ? 17 : 0)) % LB_HOSTS;
}

static uint64_t lb_bytes(int d, int i) { return 1000 + (uint64_t)(d % 7) + (uint64_t)i; }

static void lb_replace(locus_hs *hs, int moved, int64_t now)
{
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(hs, "big", 1, &b), 0);
    char ds[32], hn[3][16];
    for (int d = 0; d < LB_DATASETS; d++) {
        snprintf(ds, sizeof ds, "lb/%05d", d);
        for (int i = 0; i < LB_BLOCKS; i++) {
            locus_hs_replica r[3];
            for (int k = 0; k < 3; k++) {
                snprintf(hn[k], sizeof hn[k], "h%03d", lb_host(d, i, k, moved));
                r[k].host = hn[k];
                r[k].tier = (locus_tier)(1 + (d + i + k) % 3);
            }
            locus_hs_block blk = {ds, (uint64_t)i, lb_bytes(d, i), r, 3};
            assert_int_equal(locus_hs_batch_put(b, &blk), 0);
        }
    }
    assert_int_equal(locus_hs_batch_commit(b, now), 0);
}

static int lb_count(const locus_hs_dataset *d, void *arg)
{
    (void)d;
    ++*(size_t *)arg;
    return 0;
}

/* Every 97th dataset's summary, and host h000's datasets, against the model. */
static void lb_check(locus_hs *hs, int moved)
{
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(hs, &s), 0);
    for (int d = 0; d < LB_DATASETS; d += 97) {
        char ds[32];
        snprintf(ds, sizeof ds, "lb/%05d", d);
        const locus_hs_dataset *v;
        assert_int_equal(locus_hs_snapshot_dataset(s, ds, &v), 0);
        uint64_t total = 0, placed = 0, on_first = 0;
        for (int i = 0; i < LB_BLOCKS; i++)
            total += lb_bytes(d, i);
        for (size_t j = 0; j < v->n_placement; j++)
            placed += v->placement[j].bytes;
        char first[16];
        snprintf(first, sizeof first, "h%03d", lb_host(d, 0, 0, moved));
        for (locus_tier t = LOCUS_TIER_MEM; t <= LOCUS_TIER_HDD; t++)
            on_first += placement_bytes(v, first, t);
        assert_int_equal(v->total_bytes, total);
        assert_int_equal(v->block_count, LB_BLOCKS);
        assert_int_equal(placed, 3 * total);
        assert_true(on_first >= lb_bytes(d, 0));
    }
    size_t want = 0, got = 0;
    for (int d = 0; d < LB_DATASETS; d++) {
        int on = 0;
        for (int i = 0; i < LB_BLOCKS && !on; i++)
            for (int k = 0; k < 3; k++)
                on |= lb_host(d, i, k, moved) == 0;
        want += (size_t)on;
    }
    assert_int_equal(locus_hs_snapshot_foreach_host_dataset(s, "h000", lb_count, &got), 0);
    assert_int_equal(got, want);
    locus_hs_snapshot_close(s);
}

static void test_large_batch(void **state)
{
    fx *f = *state;
    /* 200,000 blocks: the batch's operations (8 MB), replicas (2.4 MB) and
     * host index changes (4.8 MB) grow past 2 MiB, and the second batch
     * starts from the first one's arrays, kept by the handle */
    lb_replace(f->hs, 0, 1000);
    lb_check(f->hs, 0);
    lb_replace(f->hs, 1, 2000);
    lb_check(f->hs, 1);
}

/* 60,000 host names of one length, three new ones a block, through the
 * public API (test_hintstore_strtab forces the name table's collisions):
 * every block reads back its own three hosts, each host one dataset with
 * its block's bytes, also after some blocks were put twice. */
#define MH_BLOCKS 20000
static void mh_host(char *buf, int i, int k) { snprintf(buf, 16, "n%06d", 3 * i + k); }

/* Block i of mh/one: three new hosts, one per tier. */
static void mh_put(locus_hs_batch *b, int i)
{
    char hn[3][16];
    locus_hs_replica r[3];
    for (int k = 0; k < 3; k++) {
        mh_host(hn[k], i, k);
        r[k] = (locus_hs_replica){hn[k], (locus_tier)(1 + k)};
    }
    locus_hs_block blk = {"mh/one", (uint64_t)i, 100 + (uint64_t)i, r, 3};
    assert_int_equal(locus_hs_batch_put(b, &blk), 0);
}

static void test_many_hosts(void **state)
{
    fx *f = *state;
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "mh", 1, &b), 0);
    for (int i = 0; i < MH_BLOCKS; i++)
        mh_put(b, i);
    /* the same names again, as a poll's second pass over a block would */
    for (int i = 0; i < MH_BLOCKS; i += 7)
        mh_put(b, i);
    assert_int_equal(locus_hs_batch_commit(b, 1000), 0);

    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    for (int i = 0; i < MH_BLOCKS; i++) {
        const locus_hs_block_view *v;
        assert_int_equal(locus_hs_snapshot_block(s, "mh/one", (uint64_t)i, &v), 0);
        assert_int_equal(v->n_replicas, 3);
        for (int k = 0; k < 3; k++) {
            char want[16];
            mh_host(want, i, k);
            int seen = 0;
            for (size_t j = 0; j < v->n_replicas; j++)
                seen += strcmp(v->replicas[j].host, want) == 0 &&
                        v->replicas[j].tier == (locus_tier)(1 + k);
            if (seen != 1)
                fail_msg("block %d: host %s (tier %d) read back %d times", i, want, 1 + k, seen);
        }
    }
    const locus_hs_dataset *d;
    assert_int_equal(locus_hs_snapshot_dataset(s, "mh/one", &d), 0);
    assert_int_equal(d->n_placement, 3 * MH_BLOCKS);
    for (int i = 0; i < MH_BLOCKS; i += 1999) {
        char h[16];
        mh_host(h, i, 2);
        size_t got = 0;
        assert_int_equal(locus_hs_snapshot_foreach_host_dataset(s, h, lb_count, &got), 0);
        assert_int_equal(got, 1);
        assert_int_equal(placement_bytes(d, h, LOCUS_TIER_HDD), 100 + (uint64_t)i);
    }
    locus_hs_snapshot_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiers),
        cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_and_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_hosts, setup, teardown),
    };
    return cmocka_run_group_tests_name("hintstore", tests, NULL, NULL);
}
