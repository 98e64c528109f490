/* Helpers shared by the Locus test suites: temporary folders, files, child
 * processes, a free loopback port and a tiny HTTP client over plain sockets. */
#ifndef LOCUS_TESTUTIL_H
#define LOCUS_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Starts argv[0] with stdout and stderr appended to log_path; the child gets
 * SIGKILL if the test process dies. Returns the pid or -1. */
pid_t tu_spawn(char *const argv[], const char *log_path);
/* Waits up to timeout_s for pid; returns its exit status, 128+signal if
 * killed, or -1 on timeout (the child is then killed and reaped). */
int tu_wait(pid_t pid, double timeout_s);
/* tu_spawn + tu_wait. */
int tu_run(char *const argv[], const char *log_path, double timeout_s);

/* Whole file as a NUL-terminated heap buffer, or NULL; its length in *len
 * when len is not NULL. */
char *tu_slurp(const char *path, size_t *len);
/* Writes text to path atomically (temp file + rename). Returns 0 or -1. */
int tu_write_file(const char *path, const char *text);
/* Writes len bytes to path. Returns 0 or -1. */
int tu_write_bytes(const char *path, const void *data, size_t len);
/* Creates $TMPDIR/locus-TAG-XXXXXX (TMPDIR default /tmp) into dir[len]. Returns 0 or -1. */
int tu_mkdtemp(char *dir, size_t len, const char *tag);
/* Removes a folder tree without following symlinks; NULL or "" is a no-op. */
void tu_rm_r(const char *path);

/* A loopback TCP port that was free a moment ago. */
int tu_free_port(void);
/* One HTTP/1.0 request to 127.0.0.1:port. Returns the status code (or -1)
 * and the body in *body (heap, may be NULL on error). */
int tu_http(int port, const char *method, const char *path, char **body);

/* Monotonic seconds. */
double tu_now(void);
void tu_sleep(double s);

#endif
