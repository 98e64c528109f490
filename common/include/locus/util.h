/* Small helpers every Locus component needs: formatting an error message
 * into a caller's buffer, and hashing for the hash tables. */
#ifndef LOCUS_UTIL_H
#define LOCUS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* printf into err[errlen] (truncating); no-op when err is NULL or errlen 0. */
void locus_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Finalizer of MurmurHash3 (fmix64): spreads every input bit over the result,
 * so power-of-two tables can take the low bits. */
static inline uint64_t locus_hash_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

#ifdef __cplusplus
}
#endif
#endif
