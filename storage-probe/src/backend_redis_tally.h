/* Per-dataset tallies of one Redis node scan: dataset name -> bytes, keys.
 * Entries never move once created (the table holds pointers), so an entry
 * can ride as the private data of a pipelined MEMORY USAGE command. */
#ifndef LOCUS_PROBE_BACKEND_REDIS_TALLY_H
#define LOCUS_PROBE_BACKEND_REDIS_TALLY_H

#include <stddef.h>
#include <stdint.h>

typedef struct probe_redis_tally_entry {
    char *name;       /* NUL-terminated copy */
    size_t len;
    uint64_t bytes;
    uint64_t keys;
    uint64_t hash;
} probe_redis_tally_entry;

typedef struct probe_redis_tally {
    probe_redis_tally_entry **slots; /* open addressing, power-of-two capacity */
    size_t cap, n;
} probe_redis_tally;

/* The entry for name (created with zero counts if absent); NULL when out of
 * memory. */
probe_redis_tally_entry *probe_redis_tally_get(probe_redis_tally *t, const char *name, size_t len);
/* The entry for name, or NULL. */
probe_redis_tally_entry *probe_redis_tally_find(const probe_redis_tally *t, const char *name,
                                               size_t len);
/* Frees every entry; the tally is empty and reusable. */
void probe_redis_tally_clear(probe_redis_tally *t);

#endif
