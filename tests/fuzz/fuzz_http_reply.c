/* Fuzz target: the JSON replies of the probe's file-tree backends, as a poll
 * reads them (http_walk_parse_reply). FUZZ_OPS selects the protocol
 * (http_walk_alluxio_ops or http_walk_hdfs_ops); the first input byte picks
 * the reply kind (even: directory listing, odd: block locations), the rest is
 * the body. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz.h"
#include "http_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char err[512] = "";
    int rc = http_walk_parse_reply(&FUZZ_OPS, data[0] & 1, (const char *)data + 1, size - 1, err,
                                   sizeof err);
    if (rc && !err[0])
        abort(); /* every refusal names what is wrong */
    return 0;
}
