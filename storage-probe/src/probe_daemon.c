/* The locus-probe daemon object. It owns the one hint store handle of the
 * process (LMDB wants one per environment per process; the HTTP API reads
 * snapshots from it), the counters of every backend type (kept by registry
 * slot so metrics survive a reload), the runners and the HTTP server.
 *
 * A reload builds the whole new config first (all-or-nothing parse); only
 * then are the runners replaced. Polls in flight are cancelled, which is safe
 * because a poll writes nothing before it completes. If a backend of the new
 * config cannot be created, the old config is put back.
 *
 * A once-a-second janitor expires the placements of backends that are built
 * but not enabled, so switching one off cannot leave its hints forever. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "probe_daemon.h"
#include "probe_http.h"
#include "probe_log.h"
#include "probe_notify.h"

struct probe_daemon {
    struct event_base *base;
    probe_config *cfg;
    locus_hs *hs;
    probe_env env;
    probe_stats stats[PROBE_BACKEND_SLOTS];
    probe_runner *runners[PROBE_BACKEND_SLOTS];
    probe_http *http;
    struct event *sig_hup, *sig_term, *sig_int;
    struct event *janitor;        /* expires placements of disabled backends */
    int64_t started_ms;
};

locus_hs *probe_daemon_store(const probe_daemon *d) { return d->hs; }
const probe_config *probe_daemon_config(const probe_daemon *d) { return d->cfg; }
const probe_stats *probe_daemon_stats(const probe_daemon *d, size_t slot)
{
    return slot < PROBE_BACKEND_SLOTS ? &d->stats[slot] : NULL;
}
int64_t probe_daemon_started_ms(const probe_daemon *d) { return d->started_ms; }
unsigned long long probe_daemon_http_refused(const probe_daemon *d)
{
    return probe_http_refused(d->http);
}

static void free_runners(probe_daemon *d)
{
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        probe_runner_free(d->runners[i]);
        d->runners[i] = NULL;
    }
}

/* Creates the runners of d->env.cfg; all or none. */
static int create_runners(probe_daemon *d, char *err, size_t errlen)
{
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        const probe_backend_common *c = probe_config_common(d->env.cfg, i);
        if (!probe_backend_at(i) || !c || !c->enabled)
            continue; /* left out of this build, or not enabled */
        int rc = probe_runner_create(&d->env, probe_backend_at(i), d->env.cfg->backend[i],
                                     &d->stats[i], &d->runners[i], err, errlen);
        if (rc) {
            free_runners(d);
            return rc;
        }
    }
    return 0;
}

static void start_runners(probe_daemon *d)
{
    size_t n = 0;
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS; i++) {
        if (d->runners[i]) {
            probe_runner_start(d->runners[i], 0);
            probe_log(PROBE_LOG_INFO, "%s: polling every %.3g s", probe_backend_at(i)->name,
                      probe_config_common(d->cfg, i)->poll_interval_s);
            n++;
        }
    }
    if (!n)
        probe_log(PROBE_LOG_WARN, "no backend is enabled: nothing will be polled");
}

/* Last successful poll of each backend from the store, so that the staleness
 * bound holds across a restart of the probe. */
static void load_last_success(probe_daemon *d)
{
    locus_hs_snapshot *s = NULL;
    const locus_hs_meta *meta = NULL;
    if (locus_hs_snapshot_open(d->hs, &s))
        return;
    if (!locus_hs_snapshot_meta(s, &meta)) {
        for (size_t i = 0; i < meta->n_backends; i++) {
            size_t slot;
            if (meta->backends[i].backend &&
                probe_backend_find(meta->backends[i].backend, &slot))
                d->stats[slot].last_success_ms = meta->backends[i].last_success_ms;
        }
    }
    locus_hs_snapshot_close(s);
}

/* A backend switched off (in the config, or by a reload) polls no more, but
 * its placements must not be trusted forever either: once they are older
 * than its section's staleness they are dropped like those of a failing
 * backend. Checked once a second from the store's metadata (one snapshot). */
static void on_janitor(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    probe_daemon *d = arg;
    int64_t now = probe_now_ms();
    int due[PROBE_BACKEND_SLOTS] = {0};
    size_t n_due = 0;
    locus_hs_snapshot *s = NULL;
    const locus_hs_meta *meta = NULL;
    if (locus_hs_snapshot_open(d->hs, &s))
        return;
    if (!locus_hs_snapshot_meta(s, &meta)) {
        for (size_t i = 0; i < meta->n_backends; i++) {
            const locus_hs_backend_poll *p = &meta->backends[i];
            size_t slot;
            if (!p->backend || !probe_backend_find(p->backend, &slot) || d->runners[slot] ||
                !p->blocks)
                continue;
            const probe_backend_common *c = probe_config_common(d->cfg, slot);
            if (c && (double)(now - p->last_success_ms) >= c->staleness_s * 1000.0) {
                due[slot] = 1;
                n_due++;
            }
        }
    }
    locus_hs_snapshot_close(s);
    for (size_t slot = 0; n_due && slot < PROBE_BACKEND_SLOTS; slot++) {
        if (!due[slot])
            continue;
        const probe_backend_common *c = probe_config_common(d->cfg, slot);
        uint64_t dropped = 0;
        const char *name = probe_backend_at(slot)->name;
        if (locus_hs_expire_backend(d->hs, name, now - (int64_t)(c->staleness_s * 1000.0), now,
                                    &dropped))
            probe_log(PROBE_LOG_ERROR, "%s (disabled): expiring stale placements: %s", name,
                      locus_hs_errstr(d->hs));
        else if (dropped)
            probe_log(PROBE_LOG_WARN,
                      "%s (disabled): dropped %llu placements older than its staleness bound",
                      name, (unsigned long long)dropped);
        d->stats[slot].expired_blocks += dropped;
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    probe_daemon *d = arg;
    if (sig == SIGHUP) {
        char err[1024];
        probe_log(PROBE_LOG_INFO, "SIGHUP: reloading %s", d->cfg->path ? d->cfg->path : "(none)");
        probe_notify("RELOADING=1");
        if (probe_daemon_reload(d, err, sizeof err)) {
            probe_log(PROBE_LOG_ERROR, "reload failed, keeping the running config: %s", err);
            probe_notify("READY=1\nSTATUS=reload failed, running the previous config");
        } else {
            probe_notify("READY=1\nSTATUS=polling (config reloaded)");
        }
        return;
    }
    probe_log(PROBE_LOG_INFO, "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    probe_notify("STOPPING=1");
    probe_daemon_stop(d);
}

int probe_daemon_check(const probe_config *cfg, char *err, size_t errlen)
{
    struct event_base *base = event_base_new();
    if (!base) {
        snprintf(err, errlen, "cannot create an event loop");
        return LOCUS_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < PROBE_BACKEND_SLOTS && !rc; i++) {
        const probe_backend_type *t = probe_backend_at(i);
        const probe_backend_common *c = probe_config_common(cfg, i);
        if (!t || !c || !c->enabled)
            continue;
        void *state = NULL;
        char berr[512] = "";
        rc = t->create(cfg->backend[i], base, &state, berr, sizeof berr);
        if (rc)
            snprintf(err, errlen, "%s: [%s]: %s", cfg->path ? cfg->path : "(defaults)", t->name,
                     *berr ? berr : locus_strerror(rc));
        else
            t->destroy(state);
    }
    event_base_free(base);
    return rc;
}

int probe_daemon_create(struct event_base *base, probe_config *cfg, probe_daemon **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    probe_daemon *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return LOCUS_ENOMEM;
    }
    d->base = base;
    d->started_ms = probe_now_ms();
    locus_hs_options opts = {.map_size = (size_t)cfg->core.map_size, .create = 1,
                             .no_sync = cfg->core.no_sync};
    char herr[512] = "";
    int rc = locus_hs_open(cfg->core.store_path, &opts, &d->hs, herr, sizeof herr);
    if (rc) {
        snprintf(err, errlen, "hint store %s: %s", cfg->core.store_path,
                 *herr ? herr : locus_strerror(rc));
        free(d);
        return rc;
    }
    d->cfg = cfg;
    d->env = (probe_env){base, d->hs, cfg};
    load_last_success(d);
    rc = create_runners(d, err, errlen);
    if (!rc && cfg->core.http_port)
        rc = probe_http_start(d, base, cfg->core.http_listen, (int)cfg->core.http_port, &d->http,
                              err, errlen);
    if (!rc) {
        d->sig_hup = evsignal_new(base, SIGHUP, on_signal, d);
        d->sig_term = evsignal_new(base, SIGTERM, on_signal, d);
        d->sig_int = evsignal_new(base, SIGINT, on_signal, d);
        d->janitor = event_new(base, -1, EV_PERSIST, on_janitor, d);
        struct timeval second = {1, 0};
        if (!d->sig_hup || !d->sig_term || !d->sig_int || !d->janitor ||
            evsignal_add(d->sig_hup, NULL) || evsignal_add(d->sig_term, NULL) ||
            evsignal_add(d->sig_int, NULL) || event_add(d->janitor, &second)) {
            snprintf(err, errlen, "cannot install signal handlers");
            rc = LOCUS_ENOMEM;
        }
    }
    if (rc) {
        d->cfg = NULL; /* the caller keeps cfg on failure */
        probe_daemon_free(d);
        return rc;
    }
    start_runners(d);
    *out = d;
    return 0;
}

/* Keys that cannot change under a running daemon keep their old values. */
static void keep_restart_keys(probe_config *old, probe_config *nc)
{
    char **pairs[][2] = {{&old->core.store_path, &nc->core.store_path},
                         {&old->core.http_listen, &nc->core.http_listen},
                         {&old->core.pid_file, &nc->core.pid_file}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (strcmp(*pairs[i][0], *pairs[i][1]) != 0) {
            probe_log(PROBE_LOG_WARN, "reload: a change of probe.%s needs a restart (kept '%s')",
                      i == 0 ? "store_path" : i == 1 ? "http_listen" : "pid_file", *pairs[i][0]);
            char *t = *pairs[i][0];
            *pairs[i][0] = *pairs[i][1];
            *pairs[i][1] = t;
        }
    }
    if (old->core.http_port != nc->core.http_port || old->core.map_size != nc->core.map_size ||
        old->core.no_sync != nc->core.no_sync) {
        probe_log(PROBE_LOG_WARN,
                  "reload: changes of probe.http_port, probe.map_size, probe.no_sync need a "
                  "restart (kept)");
        nc->core.http_port = old->core.http_port;
        nc->core.map_size = old->core.map_size;
        nc->core.no_sync = old->core.no_sync;
    }
}

int probe_daemon_reload(probe_daemon *d, char *err, size_t errlen)
{
    if (!d->cfg->path) {
        snprintf(err, errlen, "no config file to reload");
        return LOCUS_ESTATE;
    }
    probe_config *nc = NULL;
    int rc = probe_config_load(d->cfg->path, NULL, 0, &nc, err, errlen);
    if (rc)
        return rc;
    keep_restart_keys(d->cfg, nc);
    free_runners(d);
    d->env.cfg = nc;
    rc = create_runners(d, err, errlen);
    if (rc) {
        d->env.cfg = d->cfg;
        char again[512];
        if (create_runners(d, again, sizeof again))
            probe_log(PROBE_LOG_ERROR, "reload: restoring the old backends failed too: %s", again);
        start_runners(d);
        probe_config_free(nc);
        return rc;
    }
    probe_config_free(d->cfg);
    d->cfg = nc;
    probe_log_set_level(nc->core.log_level);
    start_runners(d);
    probe_log(PROBE_LOG_INFO, "reloaded %s", nc->path);
    return 0;
}

void probe_daemon_stop(probe_daemon *d)
{
    free_runners(d);
    if (d->janitor)
        event_del(d->janitor);
    event_base_loopbreak(d->base);
}

void probe_daemon_free(probe_daemon *d)
{
    if (!d)
        return;
    free_runners(d);
    probe_http_free(d->http);
    if (d->sig_hup)
        event_free(d->sig_hup);
    if (d->sig_term)
        event_free(d->sig_term);
    if (d->sig_int)
        event_free(d->sig_int);
    if (d->janitor)
        event_free(d->janitor);
    locus_hs_close(d->hs);
    probe_config_free(d->cfg);
    free(d);
}
