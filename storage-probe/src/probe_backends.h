/* Registry of the storage backend types built into locus-probe. */
#ifndef LOCUS_PROBE_BACKENDS_H
#define LOCUS_PROBE_BACKENDS_H

#include <stddef.h>

#include "backend.h"

/* Number of registry slots (every known type, built or not). */
#define PROBE_BACKEND_SLOTS 4

/* The type in slot i (0 <= i < PROBE_BACKEND_SLOTS), or NULL when that
 * backend was left out of this build. Slots are stable: the daemon indexes
 * its per-backend state and metrics by them. */
const probe_backend_type *probe_backend_at(size_t i);

/* The built type named `name`, or NULL; *slot (if given) gets its slot. */
const probe_backend_type *probe_backend_find(const char *name, size_t *slot);

#endif
