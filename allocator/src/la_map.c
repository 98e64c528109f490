/* Linear-probing hash tables with backward-shift deletion (no tombstones, so
 * a long-running master that adds and removes agents for months never needs
 * a rehash to purge them). Load factor at most 1/2 keeps probes short; keys
 * are hashed once with FNV-1a (strings) or a 64-bit mixer (integers). */
#include "la_map.h"

#include <stdlib.h>
#include <string.h>

#include "locus/error.h"
#include "locus/util.h"

/* Backward-shift deletion: the member at slot j (whose home slot is home)
 * may move into the hole at slot i unless its home lies cyclically in
 * (i, j], where moving it would put it before its home. Shared by both maps. */
static inline int shift_into_hole(size_t i, size_t j, size_t home)
{
    return (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j);
}

uint64_t la_hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

/* ---- strings ---------------------------------------------------------- */

uint32_t la_strmap_get(const la_strmap *m, const char *key)
{
    if (!m->cap || !key)
        return LA_MAP_NONE;
    size_t mask = m->cap - 1, i = la_hash_str(key) & mask;
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0)
            return m->vals[i];
        i = (i + 1) & mask;
    }
    return LA_MAP_NONE;
}

static int strmap_grow(la_strmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    const char **nk = calloc(ncap, sizeof *nk);
    uint32_t *nv = malloc(ncap * sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return LOCUS_ENOMEM;
    }
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->keys[j])
            continue;
        size_t i = la_hash_str(m->keys[j]) & (ncap - 1);
        while (nk[i])
            i = (i + 1) & (ncap - 1);
        nk[i] = m->keys[j];
        nv[i] = m->vals[j];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    return 0;
}

int la_strmap_put(la_strmap *m, const char *key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap && strmap_grow(m))
        return LOCUS_ENOMEM;
    size_t mask = m->cap - 1, i = la_hash_str(key) & mask;
    while (m->keys[i]) {
        if (strcmp(m->keys[i], key) == 0) {
            m->keys[i] = key;
            m->vals[i] = val;
            return 0;
        }
        i = (i + 1) & mask;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 0;
}

void la_strmap_del(la_strmap *m, const char *key)
{
    if (!m->cap || !key)
        return;
    size_t mask = m->cap - 1, i = la_hash_str(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & mask;
    if (!m->keys[i])
        return;
    /* Backward shift: pull later members of the probe run into the hole. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->keys[j])
            break;
        size_t home = la_hash_str(m->keys[j]) & mask;
        if (shift_into_hole(i, j, home)) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = NULL;
    m->n--;
}

void la_strmap_free(la_strmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- 64-bit keys ------------------------------------------------------ */

#define EMPTY UINT64_MAX

uint32_t la_u64map_get(const la_u64map *m, uint64_t key)
{
    if (!m->cap)
        return LA_MAP_NONE;
    size_t mask = m->cap - 1, i = locus_hash_mix64(key) & mask;
    while (m->keys[i] != EMPTY) {
        if (m->keys[i] == key)
            return m->vals[i];
        i = (i + 1) & mask;
    }
    return LA_MAP_NONE;
}

static int u64map_grow(la_u64map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    uint64_t *nk = malloc(ncap * sizeof *nk);
    uint32_t *nv = malloc(ncap * sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return LOCUS_ENOMEM;
    }
    memset(nk, 0xff, ncap * sizeof *nk);
    for (size_t j = 0; j < m->cap; j++) {
        if (m->keys[j] == EMPTY)
            continue;
        size_t i = locus_hash_mix64(m->keys[j]) & (ncap - 1);
        while (nk[i] != EMPTY)
            i = (i + 1) & (ncap - 1);
        nk[i] = m->keys[j];
        nv[i] = m->vals[j];
    }
    free(m->keys);
    free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    return 0;
}

int la_u64map_put(la_u64map *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap && u64map_grow(m))
        return LOCUS_ENOMEM;
    size_t mask = m->cap - 1, i = locus_hash_mix64(key) & mask;
    while (m->keys[i] != EMPTY) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return 0;
        }
        i = (i + 1) & mask;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 0;
}

void la_u64map_del(la_u64map *m, uint64_t key)
{
    if (!m->cap)
        return;
    size_t mask = m->cap - 1, i = locus_hash_mix64(key) & mask;
    while (m->keys[i] != EMPTY && m->keys[i] != key)
        i = (i + 1) & mask;
    if (m->keys[i] == EMPTY)
        return;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->keys[j] == EMPTY)
            break;
        size_t home = locus_hash_mix64(m->keys[j]) & mask;
        if (shift_into_hole(i, j, home)) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            i = j;
        }
    }
    m->keys[i] = EMPTY;
    m->n--;
}

void la_u64map_clear(la_u64map *m)
{
    if (m->cap)
        memset(m->keys, 0xff, m->cap * sizeof *m->keys);
    m->n = 0;
}

void la_u64map_free(la_u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
