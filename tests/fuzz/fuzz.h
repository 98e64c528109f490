/* Shared by the fuzz targets: the libFuzzer entry point every target
 * defines, and a scratch file for parsers that read a path. */
#ifndef LOCUS_FUZZ_H
#define LOCUS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data to a private file (one per process, in $TMPDIR or /tmp,
 * removed at exit) and returns its path; NULL on failure. */
const char *fuzz_scratch_file(const uint8_t *data, size_t size);

/* True when data names a device or kernel file (/dev/, /proc/, /sys/): a
 * config may point a key at a path, and reading /dev/zero or a terminal
 * would hang the run rather than find a bug. */
int fuzz_names_special_file(const uint8_t *data, size_t size);

#endif
