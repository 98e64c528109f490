/* Backend harness (see redis_poll_harness.h). The loop runs one iteration at
 * a time so a timeout can stop it without touching the backend's events. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "redis_poll_harness.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int rph_open(rph *h, const locus_cfg_override *ov, size_t n_ov, char *err, size_t errlen)
{
    const probe_backend_type *t = &probe_backend_redis;
    memset(h, 0, sizeof *h);
    signal(SIGPIPE, SIG_IGN); /* as locus-probe does: hiredis write()s to sockets peers may close */
    h->base = event_base_new();
    void *cfg = calloc(1, t->config_size);
    if (!h->base || !cfg) {
        free(cfg);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = locus_cfg_load(t->keys, t->n_keys, cfg, t->config_size, NULL, ov, n_ov, err, errlen);
    if (rc == 0)
        rc = t->create(cfg, h->base, &h->state, err, errlen);
    locus_cfg_free(t->keys, t->n_keys, cfg);
    free(cfg);
    if (rc) {
        event_base_free(h->base);
        h->base = NULL;
    }
    return rc;
}

void rph_close(rph *h)
{
    if (h->state)
        probe_backend_redis.destroy(h->state);
    if (h->base)
        event_base_free(h->base);
    memset(h, 0, sizeof *h);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static double g_started;
static struct event_base *g_base;

static void on_done(void *ctx, int status, const char *msg)
{
    rph_result *res = ctx;
    res->done_calls++;
    res->status = status;
    res->seconds = now_s() - g_started;
    snprintf(res->msg, sizeof res->msg, "%s", msg ? msg : "");
    event_base_loopbreak(g_base);
}

int rph_poll(rph *h, probe_sink *sink, rph_result *res, double timeout_s)
{
    memset(res, 0, sizeof *res);
    probe_sink_reset(sink);
    g_base = h->base;
    g_started = now_s();
    int rc = probe_backend_redis.poll(h->state, sink, on_done, res);
    if (rc) {
        res->status = rc;
        snprintf(res->msg, sizeof res->msg, "poll refused to start");
        return -1;
    }
    if (res->done_calls) { /* done must never run inside poll() */
        snprintf(res->msg, sizeof res->msg, "done() ran inside poll()");
        res->status = -1;
        return -1;
    }
    struct event *ev = evtimer_new(h->base, stop_cb, h->base);
    struct timeval tv = {(time_t)timeout_s,
                         (suseconds_t)((timeout_s - (double)(time_t)timeout_s) * 1e6)};
    evtimer_add(ev, &tv);
    event_base_dispatch(h->base);
    event_free(ev);
    if (!res->done_calls) {
        probe_backend_redis.cancel(h->state);
        snprintf(res->msg, sizeof res->msg, "poll timed out");
        return -1;
    }
    return 0;
}

void rph_run_for(rph *h, double s)
{
    struct event *ev = evtimer_new(h->base, stop_cb, h->base);
    struct timeval tv = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
    evtimer_add(ev, &tv);
    event_base_dispatch(h->base);
    event_free(ev);
}
