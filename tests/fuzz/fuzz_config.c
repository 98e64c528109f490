/* Fuzz target: the shared table-driven config parser (common/src/config.c)
 * on arbitrary file contents, with a key table of every type. Any input must
 * load or fail with a message, leave the target untouched on failure, and
 * free what it allocated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "locus/config.h"

typedef struct demo {
    int policy, flag;
    double slack;
    int64_t size, count;
    char *path, *name;
} demo;

static const char *const choices[] = {"drf", "locality", "fifo", NULL};

static const locus_cfg_key keys[] = {
    {"policy", "name", LOCUS_CFG_ENUM, offsetof(demo, policy), "locality", 0, 0, "", choices, "."},
    {"policy", "slack", LOCUS_CFG_DOUBLE, offsetof(demo, slack), "0.1", 0, 1, "", NULL, "."},
    {"cache", "size", LOCUS_CFG_INT, offsetof(demo, size), "64M", 0, 1e15, "bytes", NULL, "."},
    {"cache", "count", LOCUS_CFG_INT, offsetof(demo, count), "3", -5, 1000, "", NULL, "."},
    {"cache", "enabled", LOCUS_CFG_BOOL, offsetof(demo, flag), "yes", 0, 1, "", NULL, "."},
    {"hints", "path", LOCUS_CFG_STRING, offsetof(demo, path), "/x", 0, 0, "", NULL, "."},
    {"", "name", LOCUS_CFG_STRING, offsetof(demo, name), "", 0, 0, "", NULL, "."},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(data, size);
    if (!path)
        return 0;
    demo d = {0};
    d.count = 42;
    char err[512];
    int rc = locus_cfg_load(keys, sizeof keys / sizeof keys[0], &d, sizeof d, path, NULL, 0, err,
                            sizeof err);
    if (rc) {
        if (!err[0] || d.path || d.count != 42)
            abort(); /* a failure must say why and leave the target alone */
    } else if (!d.path || d.slack < 0 || d.slack > 1 || d.count < -5 || d.count > 1000) {
        abort(); /* a success must respect every range */
    }
    locus_cfg_free(keys, sizeof keys / sizeof keys[0], &d);
    return 0;
}
