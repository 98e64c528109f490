/* String interning for the write batch: dataset and host names to dense
 * ids (hintstore_internal.h). Open addressing with linear probing, at most
 * half full; the names live in an arena freed with the table. */
#include <stdlib.h>
#include <string.h>

#include "hintstore_internal.h"

void hs_strtab_free(hs_strtab *t)
{
    free(t->strs);
    free(t->slots);
    hs_arena_free(&t->arena);
}

/* What the slot of s[0..n) (hash h) holds to be compared with. */
static uint32_t slot_check(uint64_t h, size_t n)
{
    return (uint32_t)(h >> 48) << 16 | (uint32_t)n;
}

static int grow(hs_strtab *t)
{
    size_t ns = t->nslots ? t->nslots * 2 : 1024;
    hs_strslot *slots = calloc(ns, sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t j = 0; j < t->nslots; j++) {
        if (!t->slots[j].id1)
            continue;
        size_t i = hs_hash_bytes(t->slots[j].str, t->slots[j].check & 0xffff) & (ns - 1);
        while (slots[i].id1)
            i = (i + 1) & (ns - 1);
        slots[i] = t->slots[j];
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = ns;
    return 0;
}

int64_t hs_strtab_intern_h(hs_strtab *t, const char *s, size_t n, uint64_t h)
{
    if ((t->n + 1) * 2 > t->nslots && grow(t) != 0)
        return -1;
    uint32_t check = slot_check(h, n);
    size_t i = h & (t->nslots - 1);
    /* a slot whose check matches holds a name of length n: comparing n
     * bytes reads nothing past it */
    while (t->slots[i].id1) {
        const hs_strslot *e = &t->slots[i];
        if (e->check == check && memcmp(e->str, s, n) == 0)
            return e->id1 - 1;
        i = (i + 1) & (t->nslots - 1);
    }
    if (t->n == t->cap) {
        uint32_t nc = t->cap ? t->cap * 2 : 256;
        char **ns = realloc(t->strs, nc * sizeof(*ns));
        if (!ns)
            return -1;
        t->strs = ns;
        t->cap = nc;
    }
    char *copy = hs_arena_strndup(&t->arena, s, n);
    if (!copy)
        return -1;
    t->strs[t->n] = copy;
    t->slots[i] = (hs_strslot){check, t->n + 1, copy};
    return t->n++;
}

int64_t hs_strtab_intern(hs_strtab *t, const char *s, size_t n)
{
    return hs_strtab_intern_h(t, s, n, hs_hash_bytes(s, n));
}
