/* The HTTP API of locus-probe (libevent evhttp on the daemon's loop). */
#ifndef LOCUS_PROBE_HTTP_H
#define LOCUS_PROBE_HTTP_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>

#include "probe_daemon.h"

/* Binds addr:port and serves /healthz, /metrics, /v1/datasets[/{name}],
 * /v1/hosts/{host}. *out is freed by the caller with evhttp_free. */
int probe_http_start(probe_daemon *d, struct event_base *base, const char *addr, int port,
                     struct evhttp **out, char *err, size_t errlen);

#endif
