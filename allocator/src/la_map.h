/* Open-addressing hash tables used by the allocator core: names to slot
 * numbers (agents, frameworks, roles, racks, host names) and 64-bit keys to
 * slot numbers (allocations, per-cycle locality sets). Internal. */
#ifndef LA_MAP_H
#define LA_MAP_H

#include <stddef.h>
#include <stdint.h>

#define LA_MAP_NONE UINT32_MAX

/* Keys are borrowed: the caller keeps each key string alive while it is in
 * the map (the entity that owns the slot owns its name). */
typedef struct la_strmap {
    const char **keys;
    uint32_t *vals;
    size_t cap, n; /* cap is 0 or a power of two */
} la_strmap;

uint32_t la_strmap_get(const la_strmap *m, const char *key);
int la_strmap_put(la_strmap *m, const char *key, uint32_t val); /* 0 or LOCUS_ENOMEM; replaces */
void la_strmap_del(la_strmap *m, const char *key);
void la_strmap_free(la_strmap *m);

/* Key UINT64_MAX is reserved (empty slot). */
typedef struct la_u64map {
    uint64_t *keys;
    uint32_t *vals;
    size_t cap, n;
} la_u64map;

uint32_t la_u64map_get(const la_u64map *m, uint64_t key);
int la_u64map_put(la_u64map *m, uint64_t key, uint32_t val);
void la_u64map_del(la_u64map *m, uint64_t key);
void la_u64map_clear(la_u64map *m); /* keeps capacity */
void la_u64map_free(la_u64map *m);

uint64_t la_hash_str(const char *s);
#endif
