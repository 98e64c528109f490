/* Logging of locus-probe. One process-wide threshold and destination: the
 * daemon is single-threaded (everything runs on its libevent loop), so no
 * locking. In the foreground lines go to stderr with a UTC timestamp, as a
 * service manager expects; a detached daemon logs to syslog instead.
 * Callers never pass secrets (passwords stay inside the backends). */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "probe_log.h"

const char *const probe_log_level_names[] = {"error", "warn", "info", "debug", NULL};

static int log_level = PROBE_LOG_INFO;
static int log_syslog;

void probe_log_setup(int level, int use_syslog)
{
    log_level = level;
    if (use_syslog && !log_syslog)
        openlog("locus-probe", LOG_PID, LOG_DAEMON);
    log_syslog = use_syslog;
}

void probe_log_set_level(int level) { log_level = level; }

int probe_log_enabled(int level) { return level <= log_level; }

void probe_log(int level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (log_syslog) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        vsyslog(prio[level < 0 ? 0 : level > 3 ? 3 : level], fmt, ap);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s.%03ldZ %-5s ", stamp, ts.tv_nsec / 1000000L,
                probe_log_level_names[level < 0 ? 0 : level > 3 ? 3 : level]);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}
