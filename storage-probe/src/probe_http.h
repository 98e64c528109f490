/* The HTTP API of locus-probe (libevent evhttp on the daemon's loop). */
#ifndef LOCUS_PROBE_HTTP_H
#define LOCUS_PROBE_HTTP_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "probe_daemon.h"

typedef struct probe_http probe_http;

/* Binds addr:port and serves / (the endpoint list), /healthz, /readyz,
 * /metrics, /v1/datasets[/{name}], /v1/hosts[/{host}] with the limits of the
 * [probe] http_* keys (read from the daemon's config at start). Raises the
 * soft open-file limit to the hard one (at most 65536) so connections and
 * polls do not compete for a small default. Free with probe_http_free. */
int probe_http_start(probe_daemon *d, struct event_base *base, const char *addr, int port,
                     probe_http **out, char *err, size_t errlen);
/* NULL: no-op. */
void probe_http_free(probe_http *h);

/* Connections refused so far because the process ran short of descriptors
 * (accept failed, or fewer than http_fd_headroom were left). */
unsigned long long probe_http_refused(const probe_http *h);

#endif
