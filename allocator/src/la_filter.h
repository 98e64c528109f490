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

/* Expiry tick of fw's filter, 0 if none. */
uint32_t la_fset_get(const la_fset *s, uint32_t fw);
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
