/* Writing a test file into a sim-io test's temporary folder (the folder
 * itself comes from tests/util: tu_mkdtemp, tu_rm_r). */
#ifndef SIMIO_UTIL_H
#define SIMIO_UTIL_H

#include <stddef.h>

/* Writes len bytes to dir/name; the path goes to out (out_len bytes). 0 or -1. */
int simio_write(const char *dir, const char *name, const void *data, size_t len, char *out,
                size_t out_len);

#endif
