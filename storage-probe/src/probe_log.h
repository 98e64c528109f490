/* Logging of locus-probe: levelled lines to stderr (foreground) or syslog. */
#ifndef LOCUS_PROBE_LOG_H
#define LOCUS_PROBE_LOG_H

enum probe_log_level { PROBE_LOG_ERROR = 0, PROBE_LOG_WARN, PROBE_LOG_INFO, PROBE_LOG_DEBUG };

/* Names for the log_level config key, indexed by level; NULL-terminated. */
extern const char *const probe_log_level_names[];

/* Sets the threshold and the destination (use_syslog = 0: stderr). */
void probe_log_setup(int level, int use_syslog);
void probe_log_set_level(int level);
int probe_log_enabled(int level);

void probe_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
