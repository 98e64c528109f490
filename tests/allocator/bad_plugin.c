/* A plugin that must be refused: built twice, once claiming another ABI
 * major version (BAD_MAJOR) and once with a struct too small to hold the
 * callbacks (BAD_SIZE). Its callbacks must never run. Built a third time as
 * a plugin of ABI 1.0 (BAD_MINOR0): its table ends before set_task_resources,
 * and the loader must still accept it. */
#include <stddef.h>
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
#elif defined(BAD_MINOR0)
#define SIZE offsetof(locus_allocator_api, set_task_resources)
#else
#define SIZE sizeof(locus_allocator_api)
#endif

#ifdef BAD_MINOR0
static void never_destroy(locus_allocator *a)
{
    (void)a;
    abort();
}
static int never_agent(locus_allocator *a, const locus_agent_info *ag, const locus_allocation *u,
                       size_t n, double now)
{
    (void)a, (void)ag, (void)u, (void)n, (void)now;
    abort();
}
static int never_fw(locus_allocator *a, const locus_framework_info *fw, const locus_allocation *u,
                    size_t n, double now)
{
    (void)a, (void)fw, (void)u, (void)n, (void)now;
    abort();
}
static int never_recover(locus_allocator *a, const char *f, const char *g,
                         const locus_resources *r, double s, double now)
{
    (void)a, (void)f, (void)g, (void)r, (void)s, (void)now;
    abort();
}
static int never_allocate(locus_allocator *a, double now, locus_offer_list *out)
{
    (void)a, (void)now, (void)out;
    abort();
}
#endif

/* Stamped by hand, as a plugin built against another header would be. */
static const locus_allocator_api api = {
    .abi_major = MAJOR,
    .abi_minor = 0,
    .struct_size = (uint32_t)SIZE,
    .name = "bad",
    .version = "0",
    .create = never_create,
#ifdef BAD_MINOR0
    .destroy = never_destroy,
    .add_agent = never_agent,
    .add_framework = never_fw,
    .recover = never_recover,
    .allocate = never_allocate,
#endif
};

LOCUS_ALLOCATOR_EXPORT const locus_allocator_api *locus_allocator_entry(void)
{
    return &api;
}
