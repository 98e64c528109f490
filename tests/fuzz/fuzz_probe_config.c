/* Fuzz target: locus-probe's config file (the [probe] keys and every built
 * backend's section through the shared parser, then the host map) on
 * arbitrary contents. Inputs naming device or kernel files are skipped: a
 * host map may be a path, and reading /dev/zero would only hang the run. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz.h"
#include "probe_config.h"
#include "probe_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        probe_log_setup(PROBE_LOG_ERROR, 0); /* the no-backend warning on every input */
        quiet = 1;
    }
    if (fuzz_names_special_file(data, size))
        return 0;
    const char *path = fuzz_scratch_file(data, size);
    if (!path)
        return 0;
    probe_config *cfg = NULL;
    char err[512] = "";
    int rc = probe_config_load(path, NULL, 0, &cfg, err, sizeof err);
    if (rc ? (cfg != NULL || !err[0]) : cfg == NULL)
        abort();
    probe_config_free(cfg);
    return 0;
}
