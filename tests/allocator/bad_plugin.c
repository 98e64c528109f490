/* A plugin that must be refused: built twice, once claiming another ABI
 * major version (BAD_MAJOR) and once with a struct too small to hold the
 * callbacks (BAD_SIZE). Its callbacks must never run. */
#include <stdlib.h>

#include "locus/allocator.h"

static int never_create(const char *p, const locus_param *pp, size_t n,
                        const locus_host_services *h, locus_allocator **out, char *e, size_t el)
{
    (void)p, (void)pp, (void)n, (void)h, (void)out, (void)e, (void)el;
    abort();
}

#ifdef BAD_MAJOR
#define MAJOR (LOCUS_ALLOCATOR_ABI_MAJOR + 1)
#else
#define MAJOR LOCUS_ALLOCATOR_ABI_MAJOR
#endif
#ifdef BAD_SIZE
#define SIZE 40
#else
#define SIZE sizeof(locus_allocator_api)
#endif

/* Stamped by hand, as a plugin built against another header would be. */
static const locus_allocator_api api = {
    .abi_major = MAJOR,
    .abi_minor = 0,
    .struct_size = (uint32_t)SIZE,
    .name = "bad",
    .version = "0",
    .create = never_create,
};

LOCUS_ALLOCATOR_EXPORT const locus_allocator_api *locus_allocator_entry(void)
{
    return &api;
}
