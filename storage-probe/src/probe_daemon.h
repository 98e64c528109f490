/* The locus-probe daemon: the hint store, one runner per enabled backend,
 * the HTTP API and the signal handling, all on one libevent loop. */
#ifndef LOCUS_PROBE_DAEMON_H
#define LOCUS_PROBE_DAEMON_H

#include <stddef.h>

#include <event2/event.h>

#include "probe_config.h"
#include "probe_sched.h"

typedef struct probe_daemon probe_daemon;

/* Opens the store, creates the backends, binds the HTTP API, installs
 * SIGHUP/SIGTERM/SIGINT handlers and arms the first polls. Takes ownership
 * of cfg on success only. Returns 0 or a LOCUS_E* code with err. */
int probe_daemon_create(struct event_base *base, probe_config *cfg, probe_daemon **out, char *err,
                        size_t errlen);
/* Checks what the parser cannot: creates every enabled backend on a
 * throwaway loop (no I/O: creation only validates and allocates) and
 * destroys it. Returns 0 or the first backend's error, prefixed with the
 * config file. Used by --check. */
int probe_daemon_check(const probe_config *cfg, char *err, size_t errlen);

/* Re-reads the config file. On error the running config is kept and err
 * says why. Keys that need a restart (store, HTTP address, pid file) keep
 * their old values with a warning. */
int probe_daemon_reload(probe_daemon *d, char *err, size_t errlen);
/* Cancels polls in flight (nothing half-written) and leaves the loop. */
void probe_daemon_stop(probe_daemon *d);
/* NULL: no-op. */
void probe_daemon_free(probe_daemon *d);

locus_hs *probe_daemon_store(const probe_daemon *d);
const probe_config *probe_daemon_config(const probe_daemon *d);
/* Counters of registry slot i (valid for the daemon's life). */
const probe_stats *probe_daemon_stats(const probe_daemon *d, size_t slot);
/* The HTTP API's counters (NULL when http_port = 0). */
unsigned long long probe_daemon_http_refused(const probe_daemon *d);
/* Wall clock (ms) when the daemon started. */
int64_t probe_daemon_started_ms(const probe_daemon *d);

#endif
