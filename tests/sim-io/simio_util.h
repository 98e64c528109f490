/* Helpers shared by the sim-io tests: a private temporary folder per test
 * (removed with everything in it, also after a failed check) and small files
 * written into it. */
#ifndef SIMIO_UTIL_H
#define SIMIO_UTIL_H

#include <stddef.h>

/* Creates /tmp/locus-simio-XXXXXX into dir (at least 64 bytes). 0 or -1. */
int simio_mkdtemp(char *dir);
/* Removes dir and everything below it; "" is a no-op. */
void simio_rmtree(const char *dir);
/* Writes len bytes to dir/name; the path goes to out (out_len bytes). 0 or -1. */
int simio_write(const char *dir, const char *name, const void *data, size_t len, char *out,
                size_t out_len);
/* Reads a whole file into a malloc'd buffer (NUL-terminated); NULL on error. */
char *simio_slurp(const char *path, size_t *len);

#endif
