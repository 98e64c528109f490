/* The JSON-lines reader behind `locus-hints put`/`import`: each line is a
 * block or a host binding, checked and added to a hint store batch. Kept
 * apart from the command so its fuzz target runs the very same code. */
#ifndef LOCUS_HINTS_IMPORT_H
#define LOCUS_HINTS_IMPORT_H

#include <stddef.h>
#include <stdio.h>

#include "locus/hintstore.h"

typedef struct hints_import_counts {
    size_t blocks;
    size_t bindings;
    size_t lines; /* lines read, blank ones included */
} hints_import_counts;

/* Parses one JSON object of len bytes into batch b (hs gives the store's
 * error text). Returns 0 for a block, 1 for a binding, -1 with the reason in
 * why (the line is not added). */
int hints_import_line(locus_hs *hs, locus_hs_batch *b, const char *line, size_t len, char *why,
                      size_t whylen);

/* Reads every line of in into b; blank lines are skipped, a trailing CR is
 * dropped. Returns 0, or -1 at the first bad line or read error with
 * "NAME:LINE: reason" in err (b then holds an incomplete import: abort it). */
int hints_import_stream(FILE *in, const char *name, locus_hs *hs, locus_hs_batch *b,
                        hints_import_counts *counts, char *err, size_t errlen);

#endif
