/* Per-dataset tallies (see backend_redis_tally.h): an open-addressing table
 * of pointers with FNV-1a hashes, grown at 50% load. A scan touches each
 * entry once per key, so lookups must be a hash and a compare; entries are
 * separately allocated so pointers to them stay valid while the table grows. */
#include <stdlib.h>
#include <string.h>

#include "backend_redis_tally.h"

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static size_t probe_at(probe_redis_tally_entry *const *slots, size_t cap, uint64_t h,
                       const char *name, size_t len)
{
    size_t i = (size_t)h & (cap - 1);
    while (slots[i] && !(slots[i]->hash == h && slots[i]->len == len &&
                         memcmp(slots[i]->name, name, len) == 0))
        i = (i + 1) & (cap - 1);
    return i;
}

probe_redis_tally_entry *probe_redis_tally_find(const probe_redis_tally *t, const char *name,
                                               size_t len)
{
    if (!t->cap)
        return NULL;
    return t->slots[probe_at(t->slots, t->cap, fnv1a(name, len), name, len)];
}

static int grow(probe_redis_tally *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    probe_redis_tally_entry **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        probe_redis_tally_entry *e = t->slots[i];
        if (e)
            slots[probe_at(slots, cap, e->hash, e->name, e->len)] = e;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

probe_redis_tally_entry *probe_redis_tally_get(probe_redis_tally *t, const char *name, size_t len)
{
    if ((t->n + 1) * 2 > t->cap && grow(t))
        return NULL;
    uint64_t h = fnv1a(name, len);
    size_t i = probe_at(t->slots, t->cap, h, name, len);
    if (t->slots[i])
        return t->slots[i];
    probe_redis_tally_entry *e = calloc(1, sizeof *e);
    if (!e || !(e->name = malloc(len + 1))) {
        free(e);
        return NULL;
    }
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->len = len;
    e->hash = h;
    t->slots[i] = e;
    t->n++;
    return e;
}

void probe_redis_tally_clear(probe_redis_tally *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i]) {
            free(t->slots[i]->name);
            free(t->slots[i]);
        }
    }
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}
