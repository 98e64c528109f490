/* Change feed tests on a real LMDB store in a temporary folder: what each
 * commit records (changed, confirmed and deleted datasets, blocks, host
 * bindings), spans of several generations, snapshot isolation, trimming and
 * overflow falling back to a full read, a randomized check that the feed
 * names exactly the datasets whose version moved between two snapshots and
 * that lookups answered from the summaries the feed carries equal the
 * tree's, and records of the format without values still read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <lmdb.h>

#include "hs_testutil.h"
#include "locus/hintstore.h"

typedef struct fx {
    char *dir;
    locus_hs *hs;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = hs_t_mkdtemp();
    locus_hs_options o = {.create = 1, .no_sync = 1, .map_size = (size_t)1 << 30};
    char err[512];
    if (!f->dir || locus_hs_open(f->dir, &o, &f->hs, err, sizeof err))
        return -1;
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

static void put(locus_hs_batch *b, const char *ds, uint64_t idx, uint64_t bytes, const char *host)
{
    locus_hs_replica r = {host, LOCUS_TIER_MEM};
    locus_hs_block blk = {ds, idx, bytes, &r, 1};
    assert_int_equal(locus_hs_batch_put(b, &blk), 0);
}

static const locus_hs_changes *changes(locus_hs_snapshot *s, uint64_t since)
{
    const locus_hs_changes *c = NULL;
    assert_int_equal(locus_hs_snapshot_changes_since(s, since, &c), 0);
    assert_non_null(c);
    return c;
}

static void test_records_per_commit(void **state)
{
    fx *f = *state;
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_generation(s), 0);
    const locus_hs_changes *c = changes(s, 0);
    assert_false(c->full_read_needed);
    assert_int_equal(c->n_datasets, 0);
    locus_hs_snapshot_close(s);

    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 1, &b), 0);
    put(b, "b", 0, 10, "h1");
    put(b, "a", 1, 10, "h1");
    put(b, "a", 0, 10, "h2");
    assert_int_equal(locus_hs_batch_bind_host(b, "h1", "agent-1", NULL), 0);
    assert_int_equal(locus_hs_batch_commit(b, 1000), 0); /* generation 1 */

    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 1, &b), 0);
    put(b, "a", 0, 10, "h2"); /* a: same content, confirmed */
    put(b, "a", 1, 10, "h1");
    put(b, "b", 0, 10, "h3"); /* b: moved */
    put(b, "c", 7, 5, "h1");  /* c: created */
    assert_int_equal(locus_hs_batch_commit(b, 2000), 0); /* generation 2 */

    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_generation(s), 2);
    c = changes(s, 1);
    assert_false(c->full_read_needed);
    assert_int_equal(c->since_generation, 1);
    assert_int_equal(c->generation, 2);
    assert_int_equal(c->n_datasets, 2);
    assert_string_equal(c->datasets[0], "b");
    assert_string_equal(c->datasets[1], "c");
    assert_int_equal(c->n_confirmed, 1);
    assert_string_equal(c->confirmed[0].dataset, "a");
    assert_int_equal(c->confirmed[0].updated_at_ms, 2000);
    assert_int_equal(c->n_hosts, 0);
    assert_true(c->blocks_complete);
    assert_int_equal(c->n_blocks, 2);
    assert_string_equal(c->blocks[0].dataset, "b");
    assert_int_equal(c->blocks[0].index, 0);
    assert_string_equal(c->blocks[1].dataset, "c");
    assert_int_equal(c->blocks[1].index, 7);

    /* both generations: a was created in 1, so it is a change, not a confirmation */
    c = changes(s, 0);
    assert_false(c->full_read_needed);
    assert_int_equal(c->n_datasets, 3);
    assert_string_equal(c->datasets[0], "a");
    assert_int_equal(c->n_confirmed, 0);
    assert_int_equal(c->n_hosts, 1);
    assert_string_equal(c->hosts[0], "h1");
    assert_int_equal(c->n_blocks, 4);
    c = changes(s, 2);
    assert_false(c->full_read_needed);
    assert_int_equal(c->n_datasets + c->n_confirmed + c->n_hosts + c->n_blocks, 0);
    c = changes(s, 3); /* newer than the store: it was rebuilt */
    assert_true(c->full_read_needed);
    locus_hs_snapshot_close(s);

    /* a failed poll is a generation with nothing in it; an expiry deletes */
    assert_int_equal(locus_hs_record_failure(f->hs, "A", 2500), 0);
    uint64_t dropped = 0;
    assert_int_equal(locus_hs_expire_backend(f->hs, "A", 3000, 3000, &dropped), 0);
    assert_int_equal(dropped, 4);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_generation(s), 4);
    c = changes(s, 2);
    assert_false(c->full_read_needed);
    assert_int_equal(c->n_datasets, 3);
    const locus_hs_dataset *d;
    for (size_t i = 0; i < c->n_datasets; i++)
        assert_int_equal(locus_hs_snapshot_dataset(s, c->datasets[i], &d), LOCUS_ENOTFOUND);
    assert_int_equal(c->n_blocks, 4);
    locus_hs_snapshot_close(s);
}

static void test_snapshot_sees_its_own_generation(void **state)
{
    fx *f = *state;
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    put(b, "x", 0, 1, "h1");
    assert_int_equal(locus_hs_batch_commit(b, 10), 0);
    locus_hs_snapshot *old;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &old), 0);
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    put(b, "y", 0, 1, "h1");
    assert_int_equal(locus_hs_batch_commit(b, 20), 0);
    const locus_hs_changes *c = changes(old, 0);
    assert_int_equal(c->generation, 1);
    assert_int_equal(c->n_datasets, 1);
    assert_string_equal(c->datasets[0], "x");
    locus_hs_snapshot_close(old);
}

static void test_trimmed_and_overflow(void **state)
{
    fx *f = *state;
    locus_hs_batch *b;
    for (int g = 1; g <= 140; g++) {
        assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
        put(b, "t", (uint64_t)g, 1, "h1");
        assert_int_equal(locus_hs_batch_commit(b, g), 0);
    }
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_true(changes(s, 0)->full_read_needed); /* its first records are trimmed */
    assert_true(changes(s, 140 - 128 - 1)->full_read_needed);
    const locus_hs_changes *c = changes(s, 140 - 128);
    assert_false(c->full_read_needed);
    assert_int_equal(c->n_blocks, 128);
    locus_hs_snapshot_close(s);

    /* more blocks than a record holds: datasets still listed, blocks not */
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    for (uint64_t i = 0; i < 70000; i++)
        put(b, i % 2 ? "big1" : "big2", i, 1, "h1");
    assert_int_equal(locus_hs_batch_commit(b, 500), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    c = changes(s, 140);
    assert_false(c->full_read_needed);
    assert_false(c->blocks_complete);
    assert_int_equal(c->n_blocks, 0);
    assert_int_equal(c->n_datasets, 2);
    locus_hs_snapshot_close(s);

    /* more dataset names than a record holds: read in full */
    char name[420];
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "%0390d", i);
        put(b, name, 0, 1, "h1");
    }
    assert_int_equal(locus_hs_batch_commit(b, 600), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_true(changes(s, 141)->full_read_needed);
    assert_true(changes(s, 140)->full_read_needed);
    locus_hs_snapshot_close(s);
    /* and the next small commit is exact again from there */
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    put(b, "z", 0, 1, "h1");
    assert_int_equal(locus_hs_batch_commit(b, 700), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    c = changes(s, 142);
    assert_false(c->full_read_needed);
    assert_int_equal(c->n_datasets, 1);
    locus_hs_snapshot_close(s);
}

/* Every lookup of every dataset d00..d<n-1> through s (whose change feed
 * was read) equals the same lookup through a snapshot of the same
 * generation that read no feed: the point lookup, the batched one and the
 * view. Returns how many were answered from the feed's copy (their entries
 * lie elsewhere than the tree's). */
static int same_as_tree(locus_hs *hs, locus_hs_snapshot *s, int n)
{
    locus_hs_snapshot *t;
    assert_int_equal(locus_hs_snapshot_open(hs, &t), 0);
    assert_int_equal(locus_hs_snapshot_generation(t), locus_hs_snapshot_generation(s));
    char names[64][16];
    const char *np[64];
    assert_true(n <= 64);
    for (int d = 0; d < n; d++) {
        snprintf(names[d], sizeof names[d], "d%02d", d);
        np[d] = names[d];
    }
    locus_hs_dataset_ref batch[64];
    int bst[64];
    assert_int_equal(locus_hs_snapshot_dataset_refs(s, np, NULL, (size_t)n, batch, bst), 0);
    int served = 0;
    for (int d = 0; d < n; d++) {
        locus_hs_dataset_ref x, y;
        int rx = locus_hs_snapshot_dataset_ref(s, np[d], 3, &x);
        int ry = locus_hs_snapshot_dataset_ref(t, np[d], 3, &y);
        assert_int_equal(rx, ry);
        assert_int_equal(bst[d], ry);
        const locus_hs_dataset *vx, *vy;
        assert_int_equal(locus_hs_snapshot_dataset(s, np[d], &vx), ry);
        assert_int_equal(locus_hs_snapshot_dataset(t, np[d], &vy), ry);
        if (ry)
            continue;
        const locus_hs_dataset_ref *b = &batch[d];
        assert_int_equal(x.total_bytes, y.total_bytes);
        assert_int_equal(x.block_count, y.block_count);
        assert_int_equal(x.version, y.version);
        assert_int_equal(x.updated_at_ms, y.updated_at_ms);
        assert_int_equal(x.n_placement, y.n_placement);
        assert_memory_equal(x.entries, y.entries, 12 * y.n_placement);
        assert_int_equal(b->version, y.version);
        assert_int_equal(b->updated_at_ms, y.updated_at_ms);
        assert_int_equal(b->n_placement, y.n_placement);
        assert_memory_equal(b->entries, y.entries, 12 * y.n_placement);
        assert_int_equal(vx->version, vy->version);
        assert_int_equal(vx->total_bytes, vy->total_bytes);
        assert_int_equal(vx->n_placement, vy->n_placement);
        for (size_t i = 0; i < vy->n_placement; i++) {
            assert_string_equal(vx->placement[i].host, vy->placement[i].host);
            assert_int_equal(vx->placement[i].tier, vy->placement[i].tier);
            assert_int_equal(vx->placement[i].bytes, vy->placement[i].bytes);
        }
        served += y.n_placement && x.entries != y.entries;
        assert_true(x.entries == b->entries);
    }
    locus_hs_snapshot_close(t);
    return served;
}

/* ---- randomized: the feed names exactly the datasets whose version moved ---- */

#define R_DS 12
#define R_GENS 8

typedef struct ver {
    int present;
    uint64_t version;
    int64_t updated;
} ver;

static void versions(locus_hs *hs, ver *out)
{
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(hs, &s), 0);
    for (int d = 0; d < R_DS; d++) {
        char name[16];
        snprintf(name, sizeof name, "d%02d", d);
        const locus_hs_dataset *v;
        int rc = locus_hs_snapshot_dataset(s, name, &v);
        out[d].present = rc == 0;
        out[d].version = rc == 0 ? v->version : 0;
        out[d].updated = rc == 0 ? v->updated_at_ms : 0;
    }
    locus_hs_snapshot_close(s);
}

static void test_random_against_versions(void **state)
{
    fx *f = *state;
    const char *env = getenv("LOCUS_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) | 1 : 0xfeed;
    ver hist[400][R_DS];
    int gens = 0, served = 0;
    versions(f->hs, hist[gens++]);
    for (int step = 0; step < 300; step++) {
        const char *backend = hs_t_rng(&seed) % 3 ? "A" : "B";
        locus_hs_batch *b;
        assert_int_equal(locus_hs_batch_begin(f->hs, backend, (int)(hs_t_rng(&seed) % 2), &b), 0);
        int n = (int)(hs_t_rng(&seed) % 10);
        for (int i = 0; i < n; i++) {
            char ds[16], host[16];
            snprintf(ds, sizeof ds, "d%02d", (int)(hs_t_rng(&seed) % R_DS));
            snprintf(host, sizeof host, "h%d", (int)(hs_t_rng(&seed) % 3));
            uint64_t idx = hs_t_rng(&seed) % 4;
            if (hs_t_rng(&seed) % 4 == 0) {
                int rc = locus_hs_batch_delete(b, ds, idx);
                assert_true(rc == 0 || rc == LOCUS_ENOTFOUND);
            } else {
                put(b, ds, idx, 1 + hs_t_rng(&seed) % 3, host);
            }
        }
        assert_int_equal(locus_hs_batch_commit(b, 100 + step), 0);
        versions(f->hs, hist[gens++]);

        locus_hs_snapshot *s;
        assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
        uint64_t cur = locus_hs_snapshot_generation(s);
        assert_int_equal(cur, (uint64_t)gens - 1);
        uint64_t back = 1 + hs_t_rng(&seed) % R_GENS;
        uint64_t since = cur > back ? cur - back : 0;
        const locus_hs_changes *c = changes(s, since);
        assert_false(c->full_read_needed);
        for (int d = 0; d < R_DS; d++) {
            char name[16];
            snprintf(name, sizeof name, "d%02d", d);
            const ver *was = &hist[since][d], *now = &hist[cur][d];
            /* moved in some commit of the span (a dataset created and deleted
             * again within it is listed though both ends lack it) */
            int moved = 0;
            for (uint64_t g = since + 1; g <= cur; g++)
                moved |= hist[g - 1][d].present != hist[g][d].present ||
                         (hist[g][d].present && hist[g - 1][d].version != hist[g][d].version);
            int listed = 0, confirmed = 0;
            for (size_t i = 0; i < c->n_datasets; i++)
                listed |= strcmp(c->datasets[i], name) == 0;
            for (size_t i = 0; i < c->n_confirmed; i++)
                if (strcmp(c->confirmed[i].dataset, name) == 0) {
                    confirmed = 1;
                    assert_int_equal(c->confirmed[i].updated_at_ms, now->updated);
                }
            if (moved != listed)
                fail_msg("step %d since %llu: %s moved %d listed %d", step,
                         (unsigned long long)since, name, moved, listed);
            assert_false(listed && confirmed);
            if (now->present && !moved && now->updated != was->updated)
                assert_true(confirmed);
        }
        served += same_as_tree(f->hs, s, R_DS);
        locus_hs_snapshot_close(s);
    }
    /* the lookups above did take the feed's copies (else they prove nothing) */
    assert_true(served > 100);
}

/* Rewrites the feed record of `gen` as the format before values were
 * carried ("LCF1": same header and lists, names without their NUL, no
 * values section), through LMDB directly with the store closed. */
static void strip_values(const char *dir, uint64_t gen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0644), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "changes", 0, &dbi), 0);
    unsigned char key[8];
    for (int i = 0; i < 8; i++)
        key[i] = (unsigned char)(gen >> (56 - 8 * i));
    MDB_val k = {8, key}, v;
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    unsigned char *rec = malloc(v.mv_size);
    memcpy(rec, v.mv_data, v.mv_size);
    assert_memory_equal(rec, "LCF2", 4);
    uint32_t flags, n[4];
    memcpy(&flags, rec + 4, 4);
    memcpy(n, rec + 16, sizeof n);
    assert_true(flags & 32u); /* values follow */
    /* names lose their NUL; the blocks follow; the values are dropped */
    size_t off = 32, to = 32;
    for (uint32_t i = 0; i < n[0] + n[1] + n[2]; i++) {
        uint16_t len;
        memcpy(&len, rec + off, 2);
        assert_int_equal(rec[off + 2 + len], 0);
        memmove(rec + to, rec + off, 2u + len);
        off += 3u + len;
        to += 2u + len;
    }
    memmove(rec + to, rec + off, 12u * n[3]);
    off += 12u * n[3];
    to += 12u * n[3];
    assert_true(off < v.mv_size);
    memcpy(rec, "LCF1", 4);
    flags &= ~32u;
    memcpy(rec + 4, &flags, 4);
    MDB_val nv = {to, rec};
    assert_int_equal(mdb_put(txn, dbi, &k, &nv, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    free(rec);
}

static void test_records_without_values(void **state)
{
    fx *f = *state;
    locus_hs_batch *b;
    for (int g = 1; g <= 3; g++) {
        assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
        for (int d = 0; d < 6; d++) {
            char ds[16], host[16];
            snprintf(ds, sizeof ds, "d%02d", d);
            snprintf(host, sizeof host, "h%d", (d + g) % 4);
            put(b, ds, (uint64_t)g, (uint64_t)(d + 1), host);
        }
        assert_int_equal(locus_hs_batch_commit(b, 100 * g), 0);
    }
    locus_hs_close(f->hs);
    f->hs = NULL;
    strip_values(f->dir, 2);
    strip_values(f->dir, 3);
    locus_hs_options o = {.no_sync = 1, .map_size = (size_t)1 << 30};
    char err[512];
    assert_int_equal(locus_hs_open(f->dir, &o, &f->hs, err, sizeof err), 0);
    locus_hs_snapshot *s;
    /* the old records read as before, and their datasets come from the tree */
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    const locus_hs_changes *c = changes(s, 1);
    assert_false(c->full_read_needed);
    assert_int_equal(c->n_datasets, 6);
    assert_int_equal(c->n_blocks, 12);
    assert_int_equal(same_as_tree(f->hs, s, 6), 0);
    locus_hs_snapshot_close(s);
    /* a new record after them carries values again; a span over both takes
     * each dataset's newest listing */
    assert_int_equal(locus_hs_batch_begin(f->hs, "A", 0, &b), 0);
    put(b, "d01", 9, 7, "h3");
    put(b, "d04", 9, 7, "h3");
    assert_int_equal(locus_hs_batch_commit(b, 400), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    c = changes(s, 1);
    assert_false(c->full_read_needed);
    assert_int_equal(c->n_datasets, 6);
    assert_int_equal(same_as_tree(f->hs, s, 6), 2);
    locus_hs_snapshot_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_records_per_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_sees_its_own_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trimmed_and_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_without_values, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
