/* Helpers shared by the locus-probe tests: child processes, files, a tiny
 * HTTP client over plain sockets, temp folder removal. */
#ifndef LOCUS_PROBE_TEST_UTIL_H
#define LOCUS_PROBE_TEST_UTIL_H

#include <sys/types.h>

/* Starts argv[0] with stdout and stderr appended to log_path; the child gets
 * SIGKILL if the test process dies. Returns the pid or -1. */
pid_t ptu_spawn(char *const argv[], const char *log_path);
/* Waits up to timeout_s for pid; returns its exit status, 128+signal if
 * killed, or -1 on timeout (the child is then killed and reaped). */
int ptu_wait(pid_t pid, double timeout_s);
/* ptu_spawn + ptu_wait. */
int ptu_run(char *const argv[], const char *log_path, double timeout_s);

/* Whole file as a NUL-terminated heap string, or NULL. */
char *ptu_slurp(const char *path);
/* Writes text to path atomically (temp file + rename). Returns 0 or -1. */
int ptu_write_file(const char *path, const char *text);
/* Removes a folder tree. */
void ptu_rmrf(const char *path);

/* A loopback TCP port that was free a moment ago. */
int ptu_free_port(void);
/* One HTTP/1.0 request to 127.0.0.1:port. Returns the status code (or -1)
 * and the body in *body (heap, may be NULL on error). */
int ptu_http(int port, const char *method, const char *path, char **body);

/* Monotonic seconds. */
double ptu_now(void);
void ptu_sleep(double s);

#endif
