/* systemd's readiness protocol (sd_notify) without libsystemd: under a
 * Type=notify unit, systemd passes a datagram socket in $NOTIFY_SOCKET and
 * waits for "READY=1" before it counts the service as started. */
#ifndef LOCUS_PROBE_NOTIFY_H
#define LOCUS_PROBE_NOTIFY_H

/* Sends state ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...", several
 * joined by newlines) to $NOTIFY_SOCKET. Returns 1 if sent, 0 when the
 * variable is unset (not run by systemd), -1 on error (errno set). */
int probe_notify(const char *state);

#endif
