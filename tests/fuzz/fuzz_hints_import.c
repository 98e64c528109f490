/* Fuzz target: the JSON-lines import of `locus-hints put`/`import`
 * (hints_import_stream, the command's own reader) into a batch on a real
 * hint store in a private temporary folder. A rejected input must name the
 * input and line and leave the store as it was (the batch is aborted); an
 * accepted one is committed as a full replace for one backend, which must
 * succeed and leave that backend owning at least one block and at most as
 * many as the input's block lines. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "hints_import.h"

static char store_dir[512];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_store(void)
{
    if (store_dir[0])
        nftw(store_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static locus_hs *open_scratch_store(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(store_dir, sizeof store_dir, "%s/locus-fuzz-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(store_dir)) {
        store_dir[0] = 0;
        return NULL;
    }
    atexit(remove_store);
    locus_hs_options o = {.create = 1, .no_sync = 1};
    locus_hs *hs = NULL;
    char err[512];
    if (locus_hs_open(store_dir, &o, &hs, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz: cannot open a scratch store: %s\n", err);
        abort();
    }
    return hs;
}

static uint64_t backend_blocks(locus_hs *hs, const char *backend)
{
    locus_hs_snapshot *s = NULL;
    const locus_hs_meta *m;
    uint64_t n = UINT64_MAX;
    if (locus_hs_snapshot_open(hs, &s) == 0 && locus_hs_snapshot_meta(s, &m) == 0) {
        for (size_t i = 0; i < m->n_backends; i++)
            if (strcmp(m->backends[i].backend, backend) == 0)
                n = m->backends[i].blocks;
    }
    locus_hs_snapshot_close(s);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static locus_hs *hs;
    static int64_t clock_ms = 1700000000000;
    if (!hs && !(hs = open_scratch_store()))
        return 0;
    FILE *in = size ? fmemopen((void *)data, size, "rb") : fopen("/dev/null", "rb");
    if (!in)
        return 0;
    locus_hs_batch *b = NULL;
    if (locus_hs_batch_begin(hs, "fuzz", 1, &b) != 0) {
        fprintf(stderr, "fuzz: batch_begin: %s\n", locus_hs_errstr(hs));
        abort();
    }
    hints_import_counts n;
    char err[1024] = "";
    int rc = hints_import_stream(in, "input.jsonl", hs, b, &n, err, sizeof err);
    fclose(in);
    if (rc) {
        char where[64];
        snprintf(where, sizeof where, "input.jsonl:%zu: ", n.lines ? n.lines : 1);
        if (strncmp(err, where, strlen(where)) != 0) {
            fprintf(stderr, "fuzz: a rejected line must be named as FILE:LINE: (got '%s')\n", err);
            abort();
        }
        locus_hs_batch_abort(b);
        return 0;
    }
    if (n.blocks == 0) {
        locus_hs_batch_abort(b); /* nothing to check; keeps the store small */
        return 0;
    }
    int crc = locus_hs_batch_commit(b, ++clock_ms);
    if (crc == LOCUS_EFULL)
        return 0;
    if (crc != 0) {
        fprintf(stderr, "fuzz: commit of an accepted import failed: %s\n", locus_hs_errstr(hs));
        abort();
    }
    uint64_t owned = backend_blocks(hs, "fuzz");
    if (owned == 0 || owned > n.blocks) {
        fprintf(stderr, "fuzz: %zu block line(s) committed, backend owns %llu\n", n.blocks,
                (unsigned long long)owned);
        abort();
    }
    return 0;
}
