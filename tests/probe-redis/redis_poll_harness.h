/* Runs the Redis backend outside the daemon: config from `redis.key=value`
 * overrides through the backend's own key table, one poll on a private
 * event loop into a real probe_sink, optionally committed to a hint store. */
#ifndef LOCUS_TEST_REDIS_POLL_HARNESS_H
#define LOCUS_TEST_REDIS_POLL_HARNESS_H

#include <stddef.h>

#include <event2/event.h>

#include "locus/config.h"
#include "locus/hintstore.h"
#include "probe_sink.h"

typedef struct rph {
    struct event_base *base;
    void *state;              /* backend instance */
} rph;

typedef struct rph_result {
    int done_calls;
    int status;
    char msg[1024];
    double seconds;           /* poll() to done() */
} rph_result;

/* Creates the backend with the defaults plus overrides. Returns 0 or the
 * create/config error (message in err). */
int rph_open(rph *h, const locus_cfg_override *ov, size_t n_ov, char *err, size_t errlen);
void rph_close(rph *h);

/* One poll into sink (reset first), run until done or timeout_s. Returns 0
 * when done was called (see res->status), -1 on timeout (the poll is then
 * cancelled). */
int rph_poll(rph *h, probe_sink *sink, rph_result *res, double timeout_s);

/* Runs the loop for s seconds (for cancel tests). */
void rph_run_for(rph *h, double s);

#endif
