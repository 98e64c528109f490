/* Appending to offer reasons (la_sbuf of la_core.h) a whole string at a
 * time: every offer carries a reason of 100-300 characters, and copying them
 * character by character with a bound check each was most of the cost of
 * making an offer. Same truncation as snprintf: at cap - 1 bytes, the buffer
 * stays terminated. Internal to la_offer.c and la_place.c. */
#ifndef LA_TEXT_H
#define LA_TEXT_H

#include <string.h>

#include "la_core.h"

static inline void la_tx_put(la_sbuf *b, const char *s, size_t n)
{
    size_t room = b->cap - 1 - b->len;
    if (n > room)
        n = room;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static inline void la_tx_str(la_sbuf *b, const char *s)
{
    la_tx_put(b, s, strlen(s));
}

/* At most max characters of s. */
static inline void la_tx_strn(la_sbuf *b, const char *s, size_t max)
{
    la_tx_put(b, s, strnlen(s, max));
}

#endif
