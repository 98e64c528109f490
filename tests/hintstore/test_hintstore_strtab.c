/* The write batch's name table (hintstore_strtab.c), built into this test
 * from its sources: a probe compares 16 bits of a name's hash and its length
 * before the name, so names that agree on both must still get ids of their
 * own. The pairs are found with the table's own hash, so they collide
 * whatever that hash is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hintstore_internal.h"

#define NAMES 300000
#define PAIRS 40

static void name_of(char *buf, uint32_t i) { snprintf(buf, 16, "c%07u", i); }

typedef struct keyed {
    uint32_t key, i;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Pairs of equal-length names whose hashes agree in their top 16 bits and
 * their low 10 (the first slot of a table of 1,024): the second name's
 * probe meets the first one's slot and must compare the names. */
static size_t find_pairs(uint32_t (*pairs)[2], size_t want)
{
    keyed *k = malloc(NAMES * sizeof(*k));
    assert_non_null(k);
    char buf[16];
    for (uint32_t i = 0; i < NAMES; i++) {
        name_of(buf, i);
        uint64_t h = hs_hash_bytes(buf, strlen(buf));
        k[i] = (keyed){(uint32_t)(h >> 48) << 10 | (uint32_t)(h & 1023), i};
    }
    qsort(k, NAMES, sizeof(*k), keyed_cmp);
    size_t n = 0;
    for (size_t i = 1; i < NAMES && n < want; i++)
        if (k[i].key == k[i - 1].key) {
            pairs[n][0] = k[i - 1].i;
            pairs[n][1] = k[i].i;
            n++;
            i++; /* each name in one pair at most */
        }
    free(k);
    return n;
}

static void test_colliding_names(void **state)
{
    (void)state;
    uint32_t pairs[PAIRS][2];
    size_t np = find_pairs(pairs, PAIRS);
    /* 300,000 names over 2^26 keys make about 670 pairs */
    assert_true(np >= PAIRS / 2);
    hs_strtab t;
    memset(&t, 0, sizeof(t));
    hs_arena_init(&t.arena, 4096);
    int64_t first[PAIRS], second[PAIRS];
    char a[16], b[16];
    /* fewer than 512 names: the table keeps its first 1,024 slots */
    for (size_t p = 0; p < np; p++) {
        name_of(a, pairs[p][0]);
        first[p] = hs_strtab_intern(&t, a, strlen(a));
        assert_true(first[p] >= 0);
    }
    for (size_t p = 0; p < np; p++) {
        name_of(b, pairs[p][1]);
        second[p] = hs_strtab_intern(&t, b, strlen(b));
        assert_true(second[p] >= 0);
        if (second[p] == first[p])
            fail_msg("pair %zu: %s and %s got one id", p, a, b);
    }
    assert_int_equal(t.n, 2 * np);
    assert_int_equal(t.nslots, 1024);
    for (size_t p = 0; p < np; p++) {
        name_of(a, pairs[p][0]);
        name_of(b, pairs[p][1]);
        /* found again, in either order of the pair */
        assert_int_equal(hs_strtab_intern(&t, b, strlen(b)), second[p]);
        assert_int_equal(hs_strtab_intern(&t, a, strlen(a)), first[p]);
        assert_string_equal(t.strs[first[p]], a);
        assert_string_equal(t.strs[second[p]], b);
    }
    assert_int_equal(t.n, 2 * np);
    hs_strtab_free(&t);
}

/* Growth rehashes every name; a name and its prefixes (same hash bits
 * possible, other lengths) stay apart. */
static void test_growth_and_lengths(void **state)
{
    (void)state;
    hs_strtab t;
    memset(&t, 0, sizeof(t));
    hs_arena_init(&t.arena, 4096);
    char buf[16];
    for (uint32_t i = 0; i < 50000; i++) {
        name_of(buf, i);
        assert_int_equal(hs_strtab_intern(&t, buf, strlen(buf)), (int64_t)i);
    }
    assert_true(t.nslots >= 2 * 50000);
    for (uint32_t i = 0; i < 50000; i += 7) {
        name_of(buf, i);
        uint64_t h = hs_hash_bytes(buf, strlen(buf));
        assert_int_equal(hs_strtab_intern_h(&t, buf, strlen(buf), h), (int64_t)i);
        /* its prefixes are other names */
        int64_t p = hs_strtab_intern(&t, buf, 5);
        assert_true(p >= 50000);
        assert_int_equal((int)strlen(t.strs[p]), 5);
        assert_memory_equal(t.strs[p], buf, 5);
    }
    hs_strtab_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colliding_names),
        cmocka_unit_test(test_growth_and_lengths),
    };
    return cmocka_run_group_tests_name("hintstore_strtab", tests, NULL, NULL);
}
