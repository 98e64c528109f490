/* Refuse filters of one agent: framework slot -> expiry tick. Internal. */
#ifndef LA_FILTER_H
#define LA_FILTER_H

#include <stdint.h>

typedef struct la_fset {
    uint32_t *v;     /* sparse: 2*cap words (fw+1, expiry); dense: cap expiries by fw */
    uint32_t cap;
    uint32_t n;      /* filters set */
    uint8_t dense;
} la_fset;

/* Expiry tick of fw's filter, 0 if none. Inline: the allocation loop asks
 * this for nearly every (agent, framework) pair it looks at. */
static inline uint32_t la_fset_get(const la_fset *s, uint32_t fw)
{
    if (!s->n)
        return 0;
    if (s->dense)
        return fw < s->cap ? s->v[fw] : 0;
    for (uint32_t i = (fw * 2654435761u) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        uint32_t k = s->v[2 * i];
        if (k == 0)
            return 0;
        if (k == fw + 1)
            return s->v[2 * i + 1];
    }
}
/* Sets (or lengthens) fw's filter. n_fw_slots sizes the dense form. *added
 * is 1 when fw had no filter. Returns 0 or LOCUS_ENOMEM. */
int la_fset_set(la_fset *s, uint32_t fw, uint32_t exp, uint32_t n_fw_slots, int *added);
/* Removes fw's filter; returns 1 if there was one. */
int la_fset_del(la_fset *s, uint32_t fw);
/* Drops every filter with expiry <= now_t, calling on_drop for each; returns
 * the earliest remaining expiry (UINT32_MAX if none). */
uint32_t la_fset_expire(la_fset *s, uint32_t now_t, void (*on_drop)(void *ctx, uint32_t fw),
                        void *ctx);
void la_fset_free(la_fset *s);

#endif
