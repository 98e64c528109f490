/* Hint store tests for the batched in-place block lookup
 * (locus_hs_snapshot_block_refs): over a real LMDB store in a mkdtemp
 * folder, every key's outcome, bytes, time, backend and replicas (host and
 * tier, in order) must equal what one locus_hs_snapshot_block call gives
 * and what was written - for thousands of keys present, absent, of other
 * datasets, past the end, empty or over-long, in random, key and reverse
 * order, in one call or many; for a block too large for a leaf page (LMDB's
 * overflow pages); for damaged values planted raw (ECORRUPT, counted and
 * named as the single call does); and on an empty store. */
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hs_testutil.h"
#include "other_lmdb_version.h"
#include "locus/hintstore.h"

#define N_DS 40
#define N_HOSTS 50
#define MAX_REP 4
#define BIG_REPLICAS 1100 /* 4,400+ bytes: beyond a 4 KiB page's node limit */

typedef struct model_block {
    uint64_t bytes;
    int n_rep;
    int host[MAX_REP];
    locus_tier tier[MAX_REP];
    int damaged; /* value replaced raw: outcome known only from the single call */
} model_block;

typedef struct fx {
    char *dir;
    locus_hs *hs;
    char names[N_DS][32];
    int count[N_DS];
    model_block *blocks[N_DS];
} fx;

static locus_hs *open_store(const char *dir)
{
    locus_hs_options o = {.create = 1, .no_sync = 1};
    locus_hs *hs = NULL;
    char err[512];
    if (locus_hs_open(dir, &o, &hs, err, sizeof(err)))
        fail_msg("open %s: %s", dir, err);
    return hs;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = hs_t_mkdtemp();
    f->hs = open_store(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    locus_hs_close(f->hs);
    for (int d = 0; d < N_DS; d++)
        free(f->blocks[d]);
    hs_t_rmtree(f->dir);
    free(f);
    return 0;
}

static void host_name(char *buf, size_t len, int h) { snprintf(buf, len, "host-%02d", h); }

/* Writes N_DS datasets of 0-499 random blocks (0-4 replicas on 50 hosts,
 * random tiers) through one backend, the odd ones later again
 * through another (write_second_backend), and records them in f's model. "ds-1" and "ds-10" make
 * one name a prefix of another. */
static void write_store(fx *f, uint64_t seed)
{
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "alluxio:main", 1, &b), 0);
    char hosts[N_HOSTS][16];
    for (int h = 0; h < N_HOSTS; h++)
        host_name(hosts[h], sizeof hosts[h], h);
    for (int d = 0; d < N_DS; d++) {
        snprintf(f->names[d], sizeof f->names[d], "ds-%d", d);
        f->count[d] = (int)(hs_t_rng(&seed) % 500);
        f->blocks[d] = calloc((size_t)f->count[d] + 1, sizeof(model_block));
        assert_non_null(f->blocks[d]);
    }
    for (int d = 0; d < N_DS; d++) {
        for (int i = 0; i < f->count[d]; i++) {
            model_block *m = &f->blocks[d][i];
            locus_hs_replica r[MAX_REP];
            m->bytes = hs_t_rng(&seed) % (1u << 28);
            m->n_rep = (int)(hs_t_rng(&seed) % MAX_REP) + (i % 17 != 0); /* some with none */
            int first = (int)(hs_t_rng(&seed) % N_HOSTS);
            for (int j = 0; j < m->n_rep; j++) {
                m->host[j] = (first + 7 * j) % N_HOSTS; /* distinct */
                m->tier[j] = (locus_tier)(1 + hs_t_rng(&seed) % 3);
                r[j].host = hosts[m->host[j]];
                r[j].tier = m->tier[j];
            }
            locus_hs_block blk = {f->names[d], (uint64_t)i, m->bytes, r, (size_t)m->n_rep};
            assert_int_equal(locus_hs_batch_put(b, &blk), 0);
        }
    }
    assert_int_equal(locus_hs_batch_commit(b, 1000), 0);
}

/* The odd datasets again, owned by a second backend (so values name two). */
static void write_second_backend(fx *f)
{
    locus_hs_batch *b;
    char hosts[N_HOSTS][16];
    for (int h = 0; h < N_HOSTS; h++)
        host_name(hosts[h], sizeof hosts[h], h);
    assert_int_equal(locus_hs_batch_begin(f->hs, "redis:cache", 0, &b), 0);
    for (int d = 1; d < N_DS; d += 2)
        for (int i = 0; i < f->count[d]; i++) {
            model_block *m = &f->blocks[d][i];
            locus_hs_replica r[MAX_REP];
            for (int j = 0; j < m->n_rep; j++) {
                r[j].host = hosts[m->host[j]];
                r[j].tier = m->tier[j];
            }
            locus_hs_block blk = {f->names[d], (uint64_t)i, m->bytes, r, (size_t)m->n_rep};
            assert_int_equal(locus_hs_batch_put(b, &blk), 0);
        }
    assert_int_equal(locus_hs_batch_commit(b, 2000), 0);
}

/* Checks out/status of keys[0..n) against one locus_hs_snapshot_block call
 * per key (in snapshot one) and against f's model. */
static void check_match(fx *f, locus_hs_snapshot *batched, locus_hs_snapshot *one,
                        const locus_hs_block_ref *keys, size_t n,
                        const locus_hs_block_placement *out, const int *status)
{
    for (size_t i = 0; i < n; i++) {
        const locus_hs_block_view *v = NULL;
        int rc = locus_hs_snapshot_block(one, keys[i].dataset, keys[i].index, &v);
        if (status[i] != rc)
            fail_msg("key %zu '%.40s'#%llu: batched %d, single %d", i, keys[i].dataset,
                     (unsigned long long)keys[i].index, status[i], rc);
        if (rc)
            continue;
        const locus_hs_block_placement *p = &out[i];
        assert_int_equal(p->bytes, v->bytes);
        assert_int_equal(p->updated_at_ms, v->updated_at_ms);
        assert_int_equal(p->n_replicas, v->n_replicas);
        assert_int_equal(p->backend_len, strlen(v->backend));
        assert_memory_equal(p->backend, v->backend, p->backend_len);
        for (size_t j = 0; j < p->n_replicas; j++) {
            uint32_t id;
            locus_tier tier;
            locus_hs_block_replica_at(p, j, &id, &tier);
            const char *name = locus_hs_snapshot_host_name(batched, id);
            assert_non_null(name);
            assert_string_equal(name, v->replicas[j].host);
            assert_int_equal(tier, v->replicas[j].tier);
        }
        /* and what was written */
        int d = -1;
        for (int k = 0; k < N_DS; k++)
            if (strcmp(keys[i].dataset, f->names[k]) == 0)
                d = k;
        if (d < 0)
            continue; /* the overflow block's dataset */
        assert_true(keys[i].index < (uint64_t)f->count[d]);
        const model_block *m = &f->blocks[d][keys[i].index];
        if (m->damaged)
            continue;
        assert_int_equal(p->bytes, m->bytes);
        assert_int_equal(p->n_replicas, (size_t)m->n_rep);
        for (int j = 0; j < m->n_rep; j++) {
            uint32_t id;
            locus_tier tier;
            char want[16];
            locus_hs_block_replica_at(p, (size_t)j, &id, &tier);
            host_name(want, sizeof want, m->host[j]);
            assert_string_equal(locus_hs_snapshot_host_name(batched, id), want);
            assert_int_equal(tier, m->tier[j]);
        }
    }
}

static char g_long[402];
static const char *g_other[] = {"ds-", "ds-4x", "a", "zz", "ds-10\x01", "ds-9999", "", g_long};

/* n keys: a third in (dataset, index) order runs, the rest random among
 * present, past the end, huge, of other datasets, empty and over-long. */
static locus_hs_block_ref *make_keys(fx *f, size_t n, uint64_t *seed, char (*copies)[32])
{
    memset(g_long, 'x', 401);
    locus_hs_block_ref *k = calloc(n, sizeof(*k));
    assert_non_null(k);
    size_t i = 0;
    while (i < n / 3) {
        int d = (int)(hs_t_rng(seed) % N_DS);
        uint64_t start = hs_t_rng(seed) % ((uint64_t)f->count[d] + 1);
        int run = 1 + (int)(hs_t_rng(seed) % 150), step = 1 + (hs_t_rng(seed) % 4 == 0) * 3;
        for (int r = 0; r < run && i < n / 3; r++)
            k[i++] = (locus_hs_block_ref){f->names[d], start + (uint64_t)(r * step)};
    }
    for (; i < n; i++) {
        uint64_t x = hs_t_rng(seed) % 100;
        int d = (int)(hs_t_rng(seed) % N_DS);
        if (x < 60) {
            k[i].dataset = f->names[d];
            k[i].index = f->count[d] ? hs_t_rng(seed) % (uint64_t)f->count[d] : 0;
        } else if (x < 70) {
            k[i].dataset = f->names[d];
            k[i].index = (uint64_t)f->count[d] + hs_t_rng(seed) % 3;
        } else if (x < 73) {
            k[i].dataset = f->names[d];
            k[i].index = UINT64_MAX - hs_t_rng(seed) % 2;
        } else if (x < 85) {
            k[i].dataset = g_other[hs_t_rng(seed) % (sizeof g_other / sizeof *g_other)];
            k[i].index = hs_t_rng(seed) % 4;
        } else {
            /* the same name at another address */
            memcpy(copies[i % 64], f->names[d], sizeof copies[0]);
            k[i].dataset = copies[i % 64];
            k[i].index = hs_t_rng(seed) % ((uint64_t)f->count[d] + 1);
        }
    }
    return k;
}

/* Runs the batched lookup on keys in one call and in random-sized pieces
 * (runs of keys in order cut anywhere), each checked against single calls. */
static void check_keys(fx *f, const locus_hs_block_ref *keys, size_t n, uint64_t *seed)
{
    locus_hs_snapshot *s1, *s2;
    locus_hs_block_placement *out = calloc(n + 1, sizeof(*out));
    int *st = calloc(n + 1, sizeof(*st));
    assert_non_null(out);
    assert_non_null(st);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s1), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s2), 0);
    assert_int_equal(locus_hs_snapshot_block_refs(s1, keys, n, out, st), 0);
    check_match(f, s1, s2, keys, n, out, st);
    assert_int_equal(locus_hs_snapshot_decode_errors(s1), locus_hs_snapshot_decode_errors(s2));
    memset(out, 0, n * sizeof(*out));
    for (size_t i = 0; i < n;) {
        size_t piece = 1 + hs_t_rng(seed) % 40;
        if (piece > n - i)
            piece = n - i;
        assert_int_equal(locus_hs_snapshot_block_refs(s1, keys + i, piece, out + i, st + i), 0);
        i += piece;
    }
    check_match(f, s1, s2, keys, n, out, st);
    locus_hs_snapshot_close(s1);
    locus_hs_snapshot_close(s2);
    free(out);
    free(st);
}

static int cmp_key(const void *a, const void *b)
{
    const locus_hs_block_ref *x = a, *y = b;
    int r = strcmp(x->dataset, y->dataset);
    return r ? r : (x->index > y->index) - (x->index < y->index);
}

static void test_matches_single_lookup(void **state)
{
    fx *f = *state;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    write_store(f, seed);
    write_second_backend(f);
    static char copies[64][32];
    size_t n = 8000;
    locus_hs_block_ref *keys = make_keys(f, n, &seed, copies);
    check_keys(f, keys, n, &seed);
    qsort(keys, n, sizeof(*keys), cmp_key); /* all in key order */
    check_keys(f, keys, n, &seed);
    for (size_t i = 0; i < n / 2; i++) { /* reverse order */
        locus_hs_block_ref t = keys[i];
        keys[i] = keys[n - 1 - i];
        keys[n - 1 - i] = t;
    }
    check_keys(f, keys, n, &seed);
    /* two snapshots reading at once (each its own search state; one is
     * kept by the handle at close and taken by the next snapshot) */
    {
        locus_hs_snapshot *sa, *sb;
        locus_hs_block_placement *oa = calloc(n, sizeof(*oa)), *ob = calloc(n, sizeof(*ob));
        int *sta = calloc(n, sizeof(*sta)), *stb = calloc(n, sizeof(*stb));
        assert_int_equal(locus_hs_snapshot_open(f->hs, &sa), 0);
        assert_int_equal(locus_hs_snapshot_open(f->hs, &sb), 0);
        for (size_t i = 0; i < n; i += 500) {
            size_t m = n - i < 500 ? n - i : 500;
            assert_int_equal(locus_hs_snapshot_block_refs(sa, keys + i, m, oa + i, sta + i), 0);
            assert_int_equal(locus_hs_snapshot_block_refs(sb, keys + i, m, ob + i, stb + i), 0);
        }
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(sta[i], stb[i]);
            if (sta[i] == 0)
                assert_ptr_equal(oa[i].replicas, ob[i].replicas); /* the same mapped bytes */
        }
        locus_hs_snapshot_close(sa);
        locus_hs_snapshot_close(sb);
        free(oa);
        free(ob);
        free(sta);
        free(stb);
    }
    /* every stored block of three datasets, in order: all found */
    for (int d = 0; d < 3; d++) {
        size_t m = (size_t)f->count[d];
        for (size_t i = 0; i < m; i++)
            keys[i] = (locus_hs_block_ref){f->names[d], i};
        locus_hs_snapshot *s;
        locus_hs_block_placement *out = calloc(m + 1, sizeof(*out));
        int *st = calloc(m + 1, sizeof(*st));
        assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
        assert_int_equal(locus_hs_snapshot_block_refs(s, keys, m, out, st), 0);
        for (size_t i = 0; i < m; i++) {
            assert_int_equal(st[i], 0);
            assert_int_equal(out[i].bytes, f->blocks[d][i].bytes);
        }
        locus_hs_snapshot_close(s);
        free(out);
        free(st);
    }
    free(keys);
}

/* Damaged values planted raw: the batched lookup gives the single call's
 * outcome (ECORRUPT for a bad layout, a bad tier, an unknown host id, a
 * short value; the same bytes for a value that still parses), counts it and
 * names its key. */
static void test_damaged_values(void **state)
{
    fx *f = *state;
    uint64_t seed = 77;
    write_store(f, seed);
    locus_hs_close(f->hs);
    f->hs = NULL;
    int d = 0;
    while (f->count[d] < 10)
        d++;
    char key[64];
    for (int kind = 0; kind < 5; kind++) {
        size_t kl = hs_t_block_key(key, f->names[d], (uint64_t)kind * 2), vn = 0;
        unsigned char *v = hs_t_raw_get(f->dir, "blocks", key, kl, &vn);
        assert_non_null(v);
        switch (kind) {
        case 0: v[3] = 9; break;                            /* layout version */
        case 1: if (vn > 28) v[24] &= (unsigned char)~3; else v[0] = 0; break; /* tier 0 */
        case 2: if (vn > 28) v[26] = 0x70; else v[1] = 0; break; /* host id far beyond */
        case 3: vn--; break;                                /* short */
        case 4: v[8] ^= 0x55; break;                        /* other bytes: still parses */
        }
        f->blocks[d][kind * 2].damaged = 1;
        assert_int_equal(hs_t_raw_put(f->dir, "blocks", key, kl, v, vn), 0);
        free(v);
    }
    f->hs = open_store(f->dir);
    locus_hs_block_ref keys[12];
    for (int i = 0; i < 10; i++)
        keys[i] = (locus_hs_block_ref){f->names[d], (uint64_t)i};
    keys[10] = (locus_hs_block_ref){f->names[d], 6}; /* the short one again */
    keys[11] = (locus_hs_block_ref){"nope", 0};
    locus_hs_block_placement out[12];
    int st[12];
    locus_hs_snapshot *s1, *s2;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s1), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s2), 0);
    assert_int_equal(locus_hs_snapshot_block_refs(s1, keys, 12, out, st), 0);
    check_match(f, s1, s2, keys, 12, out, st);
    assert_int_equal(st[0], LOCUS_ECORRUPT);
    assert_int_equal(st[2], LOCUS_ECORRUPT);
    assert_int_equal(st[4], LOCUS_ECORRUPT);
    assert_int_equal(st[6], LOCUS_ECORRUPT);
    assert_int_equal(st[10], LOCUS_ECORRUPT);
    assert_int_equal(st[8], 0);
    assert_int_equal(st[11], LOCUS_ENOTFOUND);
    assert_int_equal(locus_hs_snapshot_decode_errors(s1), locus_hs_snapshot_decode_errors(s2));
    assert_true(locus_hs_snapshot_decode_errors(s1) >= 5);
    char want[64];
    snprintf(want, sizeof want, "blocks, key '%s#6'", f->names[d]);
    assert_non_null(strstr(locus_hs_snapshot_errstr(s1), want));
    assert_string_equal(locus_hs_snapshot_errstr(s1), locus_hs_snapshot_errstr(s2));
    locus_hs_snapshot_close(s1);
    locus_hs_snapshot_close(s2);
    uint64_t kseed = 5;
    static char copies[64][32];
    locus_hs_block_ref *many = make_keys(f, 3000, &kseed, copies);
    check_keys(f, many, 3000, &kseed);
    free(many);
}

/* A block of 1,100 replicas lives in LMDB's overflow pages: handed to
 * LMDB's own get, same answer; its neighbours still come from the walk. */
static void test_overflow_block(void **state)
{
    fx *f = *state;
    write_store(f, 3);
    locus_hs_batch *b;
    assert_int_equal(locus_hs_batch_begin(f->hs, "big", 1, &b), 0);
    static char hosts[BIG_REPLICAS][16];
    static locus_hs_replica r[BIG_REPLICAS];
    for (int h = 0; h < BIG_REPLICAS; h++) {
        snprintf(hosts[h], sizeof hosts[h], "big%04d", h);
        r[h] = (locus_hs_replica){hosts[h], (locus_tier)(1 + h % 3)};
    }
    for (uint64_t i = 0; i < 3; i++) {
        locus_hs_block blk = {"ds-big", i, 10 + i, r, i == 1 ? BIG_REPLICAS : 1};
        assert_int_equal(locus_hs_batch_put(b, &blk), 0);
    }
    assert_int_equal(locus_hs_batch_commit(b, 5), 0);
    locus_hs_block_ref keys[5] = {{"ds-big", 0}, {"ds-big", 1}, {"ds-big", 2}, {"ds-big", 3},
                                  {"ds-big", 1}};
    locus_hs_block_placement out[5];
    int st[5];
    locus_hs_snapshot *s1, *s2;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s1), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s2), 0);
    assert_int_equal(locus_hs_snapshot_block_refs(s1, keys, 5, out, st), 0);
    check_match(f, s1, s2, keys, 5, out, st);
    assert_int_equal(st[1], 0);
    assert_int_equal(out[1].n_replicas, BIG_REPLICAS);
    assert_int_equal(st[3], LOCUS_ENOTFOUND);
    uint32_t id;
    locus_tier tier;
    locus_hs_block_replica_at(&out[1], BIG_REPLICAS - 1, &id, &tier);
    assert_string_equal(locus_hs_snapshot_host_name(s1, id), hosts[BIG_REPLICAS - 1]);
    assert_int_equal(tier, 1 + (BIG_REPLICAS - 1) % 3);
    locus_hs_snapshot_close(s1);
    locus_hs_snapshot_close(s2);
}

/* An empty store answers ENOTFOUND to all; bad arguments are EINVAL. */
static void test_empty_and_args(void **state)
{
    fx *f = *state;
    locus_hs_snapshot *s;
    locus_hs_block_ref keys[3] = {{"a", 0}, {"", 1}, {"zz", UINT64_MAX}};
    locus_hs_block_placement out[3];
    int st[3] = {1, 1, 1};
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(locus_hs_snapshot_block_refs(s, keys, 3, out, st), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(st[i], LOCUS_ENOTFOUND);
    assert_int_equal(locus_hs_snapshot_block_refs(s, NULL, 0, NULL, NULL), 0);
    assert_int_equal(locus_hs_snapshot_block_refs(NULL, keys, 1, out, st), LOCUS_EINVAL);
    assert_int_equal(locus_hs_snapshot_block_refs(s, keys, 1, NULL, st), LOCUS_EINVAL);
    assert_int_equal(locus_hs_snapshot_block_refs(s, keys, 1, out, NULL), LOCUS_EINVAL);
    keys[1].dataset = NULL;
    assert_int_equal(locus_hs_snapshot_block_refs(s, keys, 3, out, st), LOCUS_EINVAL);
    locus_hs_snapshot_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_matches_single_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_args, setup, teardown),
        OTHER_LMDB_TESTS
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
