/* Locus status codes, shared by every library and the plugin ABI.
 *
 * Like LMDB: 0 is success, Locus's own errors sit in a reserved negative band,
 * positive values are plain errno values. locus_strerror() covers both. A
 * function that fails also leaves a human-readable detail (naming the file,
 * line, key or backend) in the handle it was called on, or in the err buffer it
 * was given; the code says what kind of failure it was.
 */
#ifndef LOCUS_ERROR_H
#define LOCUS_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum locus_status {
    LOCUS_OK = 0,
    LOCUS_EINVAL = -31000,   /* bad argument or malformed input */
    LOCUS_ENOMEM = -30999,   /* allocation failed */
    LOCUS_ENOTFOUND = -30998,/* no such key, dataset, agent or framework */
    LOCUS_EEXIST = -30997,   /* already present (duplicate id) */
    LOCUS_ECORRUPT = -30996, /* a stored value could not be decoded */
    LOCUS_ESCHEMA = -30995,  /* store written with another schema version */
    LOCUS_EIO = -30994,      /* storage backend or file I/O failed */
    LOCUS_EFULL = -30993,    /* store map size exhausted */
    LOCUS_EABI = -30992,     /* plugin ABI version or struct size mismatch */
    LOCUS_ECONFIG = -30991,  /* bad config key or value */
    LOCUS_ESTALE = -30990,   /* data older than its staleness bound */
    LOCUS_EPARSE = -30989,   /* malformed trace, reply or record */
    LOCUS_ETIMEDOUT = -30988,/* a backend did not answer in time */
    LOCUS_EBUSY = -30987,    /* resource in use (e.g. a second writer) */
    LOCUS_ESTATE = -30986    /* call not valid in the current state */
};

/* Static description of a status code: a Locus code or a positive errno.
 * Never NULL; the string is owned by the library. */
const char *locus_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
