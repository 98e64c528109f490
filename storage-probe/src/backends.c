/* The registry of storage backend types: a fixed table of slots, one per
 * storage layer Locus knows, in the manner of libevent's eventops[] list.
 *
 * Backends may be left out of a build (a tree without backend_redis.c still
 * builds a probe with the others), so a type whose file is absent is declared
 * weak: its address is then NULL and the registry reports the slot as empty.
 * The build defines LOCUS_PROBE_HAVE_<NAME> for every backend file present;
 * those are referenced strongly, because a weak reference alone would not pull
 * the backend's object out of the static library. */
#include <string.h>

#include "probe_backends.h"

#ifndef LOCUS_PROBE_HAVE_STATIC
extern const probe_backend_type probe_backend_static __attribute__((weak));
#endif
#ifndef LOCUS_PROBE_HAVE_REDIS
extern const probe_backend_type probe_backend_redis __attribute__((weak));
#endif
#ifndef LOCUS_PROBE_HAVE_ALLUXIO
extern const probe_backend_type probe_backend_alluxio __attribute__((weak));
#endif
#ifndef LOCUS_PROBE_HAVE_HDFS
extern const probe_backend_type probe_backend_hdfs __attribute__((weak));
#endif

const probe_backend_type *probe_backend_at(size_t i)
{
    /* Evaluated at run time: the address of a missing weak symbol is NULL. */
    const probe_backend_type *const all[PROBE_BACKEND_SLOTS] = {
        &probe_backend_static, &probe_backend_redis, &probe_backend_alluxio, &probe_backend_hdfs,
    };
    return i < PROBE_BACKEND_SLOTS ? all[i] : NULL;
}

const probe_backend_type *probe_backend_find(const char *name, size_t *slot)
{
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        const probe_backend_type *t = probe_backend_at(i);
        if (t && t->name && strcmp(t->name, name) == 0) {
            if (slot)
                *slot = i;
            return t;
        }
    }
    return NULL;
}
