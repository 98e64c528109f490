/* Fuzz target: the static backend's placement file (JSON lines), read by a
 * real poll of the backend on an event loop into a real sink: every input
 * must end the poll with done() exactly once, either complete or failed with
 * a message naming the file and line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "fuzz.h"
#include "probe_sink.h"

typedef struct result {
    int calls, status;
} result;

static void on_done(void *ctx, int status, const char *msg)
{
    result *r = ctx;
    r->calls++;
    r->status = status;
    if (status && (!msg || !strstr(msg, ":")))
        abort(); /* a failed poll says where */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct event_base *base;
    static probe_sink *sink;
    if (!base && !(base = event_base_new()))
        return 0;
    if (!sink && !(sink = probe_sink_new()))
        return 0;
    const char *path = fuzz_scratch_file(data, size);
    if (!path)
        return 0;
    const probe_backend_type *t = &probe_backend_static;
    void *cfg = calloc(1, t->config_size);
    locus_cfg_override ov[] = {{"static.enabled", "true"}, {"static.path", path}};
    char err[512];
    void *state = NULL;
    if (!cfg || locus_cfg_load(t->keys, t->n_keys, cfg, t->config_size, NULL, ov, 2, err, sizeof err) ||
        t->create(cfg, base, &state, err, sizeof err)) {
        if (cfg)
            locus_cfg_free(t->keys, t->n_keys, cfg);
        free(cfg);
        return 0;
    }
    probe_sink_reset(sink);
    result r = {0, 0};
    if (t->poll(state, sink, on_done, &r) == 0) {
        for (int i = 0; i < 100 && r.calls == 0; i++)
            event_base_loop(base, EVLOOP_ONCE);
        if (r.calls != 1)
            abort();
    }
    t->destroy(state);
    locus_cfg_free(t->keys, t->n_keys, cfg);
    free(cfg);
    return 0;
}
