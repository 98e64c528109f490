/* Descriptions of Locus status codes. Locus codes live in a negative band of
 * their own (see locus/error.h); anything positive is an errno value and is
 * described by strerror(). */
#include <string.h>

#include "locus/error.h"

const char *locus_strerror(int code)
{
    switch (code) {
    case LOCUS_OK: return "success";
    case LOCUS_EINVAL: return "invalid argument or input";
    case LOCUS_ENOMEM: return "out of memory";
    case LOCUS_ENOTFOUND: return "not found";
    case LOCUS_EEXIST: return "already exists";
    case LOCUS_ECORRUPT: return "stored value could not be decoded";
    case LOCUS_ESCHEMA: return "store has another schema version";
    case LOCUS_EIO: return "I/O error";
    case LOCUS_EFULL: return "store map size exhausted";
    case LOCUS_EABI: return "plugin ABI mismatch";
    case LOCUS_ECONFIG: return "bad configuration";
    case LOCUS_ESTALE: return "data is stale";
    case LOCUS_EPARSE: return "malformed input";
    case LOCUS_ETIMEDOUT: return "timed out";
    case LOCUS_EBUSY: return "resource busy";
    case LOCUS_ESTATE: return "call not valid in this state";
    default: break;
    }
    if (code > 0)
        return strerror(code);
    return "unknown error";
}
