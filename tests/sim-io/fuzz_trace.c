/* Fuzz target for both trace loaders. Each input is parsed from memory as
 * auto-detected, as SWIM and as binary; whatever loads must also survive the
 * round trip through the binary writer unchanged (a wrong writer or reader
 * aborts). Built with clang -fsanitize=fuzzer this is a libFuzzer target;
 * built normally (SIMIO_REPLAY_MAIN) its main() replays the seed corpus
 * folders given as arguments, then a fixed number of deterministic
 * mutations of every seed (bit flips, truncations, spliced bytes), so the
 * plain and sanitized test runs exercise the parsers on damaged input too. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace.h"
#include "trace_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const sim_trace *t)
{
    char *buf = NULL;
    size_t len = 0;
    char err[512], why[200];
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    int rc = sim_trace_write_binary_stream(t, f, "fuzz.ltrace", err, sizeof err);
    fclose(f);
    if (rc != 0) {
        fprintf(stderr, "fuzz: writing a loaded trace failed: %s\n", err);
        abort();
    }
    sim_trace *back = NULL;
    rc = sim_trace_load_mem(buf, len, "fuzz.ltrace", NULL, &back, err, sizeof err);
    if (rc != 0 && t->n_jobs > 0) {
        fprintf(stderr, "fuzz: reloading a written trace failed: %s\n", err);
        abort();
    }
    if (rc == 0 && sim_trace_diff(t, back, why, sizeof why)) {
        fprintf(stderr, "fuzz: round trip changed the trace: %s\n", why);
        abort();
    }
    sim_trace_free(back);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const sim_trace_format formats[] = {SIM_TRACE_AUTO, SIM_TRACE_SWIM, SIM_TRACE_BINARY};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        sim_trace_load_opts o = {.format = formats[i]};
        sim_trace *t = NULL;
        char err[512];
        err[0] = '\0';
        int rc = sim_trace_load_mem(data, size, "fuzz", &o, &t, err, sizeof err);
        if (rc == 0) {
            round_trip(t);
        } else if (t != NULL || err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL) {
            fprintf(stderr, "fuzz: a failed load must give no trace and a message\n");
            abort();
        }
        sim_trace_free(t);
    }
    return 0;
}

#ifdef SIMIO_REPLAY_MAIN

#define MUTATIONS_PER_SEED 300

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    uint64_t x = rng_state; /* xorshift64: fixed seed, so every run replays the same inputs */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void mutate_and_run(const uint8_t *seed, size_t n)
{
    uint8_t *m = malloc(n + 16);
    if (!m)
        return;
    for (int k = 0; k < MUTATIONS_PER_SEED; k++) {
        size_t len = n;
        memcpy(m, seed, n);
        int edits = 1 + (int)(rng() % 4);
        for (int e = 0; e < edits; e++) {
            switch (rng() % 4) {
            case 0: /* flip a bit */
                if (len)
                    m[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
                break;
            case 1: /* truncate */
                if (len)
                    len = (size_t)(rng() % len);
                break;
            case 2: /* interesting byte */ {
                static const uint8_t bytes[] = {0, '\t', '\n', '\r', '-', '.', 'e', 0x80, 0xff, '9'};
                if (len)
                    m[rng() % len] = bytes[rng() % sizeof bytes];
                break;
            }
            default: /* append a byte */
                if (len < n + 16)
                    m[len++] = (uint8_t)rng();
                break;
            }
        }
        LLVMFuzzerTestOneInput(m, len);
    }
    free(m);
}

static int run_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    mutate_and_run(buf, n);
    free(buf);
    *count += 1;
    return 0;
}

static int skip_entry(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i], &count) != 0)
                return 1;
            continue;
        }
        struct dirent **names = NULL;
        int n = scandir(argv[i], &names, skip_entry, alphasort); /* sorted: same order every run */
        if (n < 0) {
            perror(argv[i]);
            return 1;
        }
        int rc = 0;
        for (int k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
            if (rc == 0 && run_file(path, &count) != 0)
                rc = 1;
            free(names[k]);
        }
        free(names);
        if (rc)
            return 1;
    }
    if (count == 0) {
        fprintf(stderr, "usage: %s corpus-dir-or-file...  (no seed inputs found)\n", argv[0]);
        return 1;
    }
    printf("replayed %zu seeds and %zu mutations without a crash\n", count,
           count * (size_t)MUTATIONS_PER_SEED);
    return 0;
}
#endif
