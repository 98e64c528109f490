/* See simio_util.h. */
#include <stdio.h>

#include "simio_util.h"
#include "testutil.h"

int simio_write(const char *dir, const char *name, const void *data, size_t len, char *out,
                size_t out_len)
{
    if ((size_t)snprintf(out, out_len, "%s/%s", dir, name) >= out_len)
        return -1;
    return tu_write_bytes(out, data, len);
}
