/* Dataset patterns of the Redis backend: which keys form which dataset.
 *
 * The `datasets` config value is a comma-separated list of items, tried in
 * order (the first that matches a key wins; keys no item matches are not
 * counted in any dataset):
 *   PREFIX*SUFFIX   the key starts with PREFIX; the dataset name is the
 *                   non-empty text up to the first SUFFIX after it
 *                   (e.g. "{*}:" maps "{sales}:0007" to "sales": hash-tagged
 *                   keys, one slot per dataset);
 *   PREFIX          every key starting with PREFIX is dataset "PREFIX";
 *   NAME=PREFIX     every key starting with PREFIX is dataset "NAME".
 * SUFFIX must not be empty, and an item holds at most one '*'.
 */
#ifndef LOCUS_PROBE_BACKEND_REDIS_PATTERN_H
#define LOCUS_PROBE_BACKEND_REDIS_PATTERN_H

#include <stddef.h>

typedef struct probe_redis_patterns probe_redis_patterns;

/* Parses spec. Returns 0, LOCUS_ECONFIG (message in err naming the item) or
 * LOCUS_ENOMEM. The caller frees *out with probe_redis_patterns_free. */
int probe_redis_patterns_parse(const char *spec, probe_redis_patterns **out, char *err,
                               size_t errlen);
void probe_redis_patterns_free(probe_redis_patterns *p);

/* Returns 1 when key (len bytes) belongs to a dataset, whose name is then
 * (*name, *name_len): a span of key or of the pattern (valid while both
 * live); 0 otherwise. */
int probe_redis_patterns_match(const probe_redis_patterns *p, const char *key, size_t len,
                               const char **name, size_t *name_len);

/* A SCAN MATCH glob that selects a superset of the matching keys, or NULL
 * when the patterns need every key (several items). Owned by p. */
const char *probe_redis_patterns_glob(const probe_redis_patterns *p);

#endif
