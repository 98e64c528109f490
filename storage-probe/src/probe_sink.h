/* The poll result sink (the daemon side of probe_sink in backend.h). */
#ifndef LOCUS_PROBE_SINK_H
#define LOCUS_PROBE_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "probe_config.h"

/* Returns NULL on allocation failure. probe_sink_free(NULL) is a no-op. */
probe_sink *probe_sink_new(void);
void probe_sink_free(probe_sink *sink);
/* Empties the sink for the next poll (keeps its memory). */
void probe_sink_reset(probe_sink *sink);

size_t probe_sink_blocks(const probe_sink *sink);
uint64_t probe_sink_keys(const probe_sink *sink);
/* Records skipped in this poll for reason r. */
uint64_t probe_sink_skipped(const probe_sink *sink, probe_skip_reason r);
/* Message of the last rejected put; "" if none. */
const char *probe_sink_errstr(const probe_sink *sink);

/* Writes the sink as one replace-all batch of `backend` (blocks in dataset,
 * index order; every host binding of the map bound), committed at now_ms.
 * Returns 0 or the hint store's error with its message in err; on error the
 * store keeps its previous content. */
int probe_sink_commit(probe_sink *sink, locus_hs *hs, const char *backend,
                      const probe_host_binding *hosts, size_t n_hosts, int64_t now_ms, char *err,
                      size_t errlen);

#endif
