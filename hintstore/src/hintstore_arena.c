/* Bump arena for decoded hint-store values.
 *
 * The allocator looks up every demanded dataset every allocation cycle; a
 * protobuf-c unpack with the default allocator would malloc every string and
 * sub-message and free them again. Instead a snapshot owns an arena: unpack
 * allocates from it, nothing is freed one by one, and the whole arena goes at
 * snapshot close. Reset keeps the chunks, so a scratch arena reused per
 * iteration step or per written block stops allocating once warm. Chunks
 * grow with what the arena already holds, and from 2 MiB on they are
 * huge-page backed (hs_big_alloc): a snapshot that reads 100,000 datasets
 * holds about 80 MiB of views and their entries, and reading them again at
 * random otherwise misses the TLB on nearly every lookup. */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hintstore_internal.h"

struct hs_chunk {
    hs_chunk *next;
    size_t size, used;
    max_align_t data[]; /* aligned payload */
};

#define HS_HUGE_PAGE ((size_t)2 << 20)
#define HS_MAX_CHUNK ((size_t)32 << 20)

void *hs_big_alloc(size_t n)
{
    if (n < HS_HUGE_PAGE)
        return malloc(n);
    void *p;
    n = (n + HS_HUGE_PAGE - 1) & ~(HS_HUGE_PAGE - 1);
    if (posix_memalign(&p, HS_HUGE_PAGE, n) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, n, MADV_HUGEPAGE); /* advice only: without it, plain pages */
#endif
    return p;
}

void hs_spare_keep(hs_spare *sp, void *p, size_t cap)
{
    if (!p)
        return;
    free(sp->p);
    sp->p = NULL;
    sp->cap = 0;
    if (cap < HS_HUGE_PAGE) {
        free(p);
        return;
    }
#ifdef MADV_FREE
    /* Contents are not kept, pages may be: only whole pages inside the
     * block (a malloc block need not start on a page). */
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + pg - 1) & ~(pg - 1), hi = ((uintptr_t)p + cap) & ~(pg - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_FREE);
#endif
    sp->p = p;
    sp->cap = cap;
}

void *hs_spare_take(hs_spare *sp, size_t *cap)
{
    void *p = sp->p;
    *cap = sp->cap;
    sp->p = NULL;
    sp->cap = 0;
    return p;
}

static void *pb_alloc(void *data, size_t size) { return hs_arena_alloc(data, size); }
static void pb_free(void *data, void *ptr) { (void)data; (void)ptr; }

void hs_arena_init(hs_arena *a, size_t chunk_size)
{
    memset(a, 0, sizeof(*a));
    a->chunk_size = chunk_size ? chunk_size : 16384;
    a->pb.alloc = pb_alloc;
    a->pb.free = pb_free;
    a->pb.allocator_data = a;
}

static size_t align_up(size_t n)
{
    size_t al = _Alignof(max_align_t);
    return (n + al - 1) & ~(al - 1);
}

void *hs_arena_alloc(hs_arena *a, size_t n)
{
    n = align_up(n ? n : 1);
    /* Move through kept chunks (after a reset) before allocating new ones. */
    while (a->head && a->head->used + n > a->head->size && a->head->next) {
        a->head = a->head->next;
        a->head->used = 0;
    }
    if (!a->head || a->head->used + n > a->head->size) {
        /* Grow with the arena (at most doubling it), so a large snapshot
         * gets few, huge-page backed chunks and a small one stays small. */
        size_t held = 0;
        for (hs_chunk *k = a->first; k; k = k->next)
            held += k->size;
        size_t sz = held > a->chunk_size ? held : a->chunk_size;
        if (sz > HS_MAX_CHUNK)
            sz = HS_MAX_CHUNK;
        if (n > sz)
            sz = n;
        if (sizeof(hs_chunk) + sz >= HS_HUGE_PAGE)
            sz = ((sizeof(hs_chunk) + sz + HS_HUGE_PAGE - 1) & ~(HS_HUGE_PAGE - 1)) -
                 sizeof(hs_chunk);
        hs_chunk *c = hs_big_alloc(sizeof(hs_chunk) + sz);
        if (!c) {
            a->failed = 1;
            return NULL;
        }
        c->next = NULL;
        c->size = sz;
        c->used = 0;
        if (a->head) {
            /* Insert after head so kept chunks further on stay reachable. */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            a->first = c;
        }
        a->head = c;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

char *hs_arena_strndup(hs_arena *a, const char *s, size_t n)
{
    char *p = hs_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void hs_arena_reset(hs_arena *a)
{
    a->head = a->first;
    if (a->head)
        a->head->used = 0;
    a->failed = 0;
}

void hs_arena_free(hs_arena *a)
{
    hs_chunk *c = a->first;
    while (c) {
        hs_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->first = a->head = NULL;
}
