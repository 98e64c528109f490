/* Prometheus text exposition of locus-probe's counters. */
#ifndef LOCUS_PROBE_METRICS_H
#define LOCUS_PROBE_METRICS_H

#include <event2/buffer.h>

#include "probe_daemon.h"

/* Appends every metric family (HELP and TYPE lines, one sample per built
 * backend type) to out. Returns 0 or LOCUS_ENOMEM. */
int probe_metrics_render(const probe_daemon *d, struct evbuffer *out);

#endif
