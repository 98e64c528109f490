/* Scratch file and input filters shared by the fuzz targets (see fuzz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char scratch_dir[512], scratch_path[600];

static void remove_scratch(void)
{
    if (scratch_path[0])
        unlink(scratch_path);
    if (scratch_dir[0])
        rmdir(scratch_dir);
}

const char *fuzz_scratch_file(const uint8_t *data, size_t size)
{
    if (!scratch_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch_dir, sizeof scratch_dir, "%s/locus-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch_dir)) {
            scratch_dir[0] = 0;
            return NULL;
        }
        snprintf(scratch_path, sizeof scratch_path, "%s/input.conf", scratch_dir);
        atexit(remove_scratch);
    }
    FILE *f = fopen(scratch_path, "wb");
    if (!f)
        return NULL;
    int ok = fwrite(data, 1, size, f) == size;
    ok &= fclose(f) == 0;
    return ok ? scratch_path : NULL;
}

int fuzz_names_special_file(const uint8_t *data, size_t size)
{
    static const char *const bad[] = {"/dev", "/proc", "/sys", "/run"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = strlen(bad[i]);
        for (size_t k = 0; k + n <= size; k++)
            if (memcmp(data + k, bad[i], n) == 0)
                return 1;
    }
    return 0;
}
