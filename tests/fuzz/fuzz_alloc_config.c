/* Fuzz target: the allocator's config file through the shared parser and
 * the allocator's own cross-key rules (la_config_load), on arbitrary
 * contents; a failure must leave the previous config in place. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "la_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(data, size);
    if (!path)
        return 0;
    la_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[512] = "";
    if (la_config_load(&cfg, NULL, NULL, 0, err, sizeof err) != 0)
        abort(); /* the defaults always load */
    la_config before = cfg;
    int rc = la_config_load(&cfg, path, NULL, 0, err, sizeof err);
    if (rc && (memcmp(&before, &cfg, sizeof cfg) != 0 || !err[0]))
        abort(); /* all-or-nothing */
    la_config_free(&cfg);
    return 0;
}
