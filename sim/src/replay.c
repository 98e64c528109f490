/* The replay loop of locus-sim (see replay.h).
 *
 * One policy's replay is a discrete-event run over four event kinds: job
 * arrival, allocation cycle, task finish and hint store publish. Allocation
 * cycles run on the interval grid only while some framework has pending
 * tasks: the plugin would offer resources nobody wants, and skipping those
 * cycles keeps a 12-hour replay of a 3,000-agent cluster fast. Everything a
 * replay does is a function of the trace, the config and the seed; the only
 * wall-clock figures (sim_run_cost) are kept apart by report.h.
 */
#include "replay.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "locus/allocator_loader.h"
#include "locus/error.h"
#include "locus/hintstore.h"
#include "optimal.h"
#include "world.h"

/* A replay that makes no progress (no task starts or ends) for this long
 * in simulated time while work is pending has stalled: the policy never
 * offers what the frameworks need. */
#define SIM_STALL_S 86400.0

/* ---- policy specs ------------------------------------------------------ */

static int spec_add_param(sim_policy_spec *p, const char *key, const char *value)
{
    locus_param *v = realloc(p->params, (p->n_params + 1) * sizeof *v);
    if (!v)
        return LOCUS_ENOMEM;
    p->params = v;
    char *k = strdup(key), *val = strdup(value);
    if (!k || !val) {
        free(k);
        free(val);
        return LOCUS_ENOMEM;
    }
    p->params[p->n_params++] = (locus_param){ k, val };
    return 0;
}

void sim_policy_spec_free(sim_policy_spec *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_params; i++) {
        free((char *)p->params[i].key);
        free((char *)p->params[i].value);
    }
    free(p->params);
    free(p->name);
    free(p->plugin_path);
    memset(p, 0, sizeof *p);
}

int sim_policy_builtin(const char *name, const char *plugin_path, sim_policy_spec *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *policy;
    int mode = SIM_FW_NAIVE;
    if (strcmp(name, "drf") == 0)
        policy = "drf";
    else if (strcmp(name, "drf+delay") == 0) {
        policy = "drf";
        mode = SIM_FW_DELAY;
    } else if (strcmp(name, "locality") == 0)
        policy = "locality";
    else if (strcmp(name, "optimal") == 0)
        policy = "optimal";
    else {
        snprintf(err, errlen, "unknown policy '%s' (built in: drf, drf+delay, locality, optimal; "
                              "or NAME=PLUGIN_PATH[:key=value,...])", name);
        return LOCUS_EINVAL;
    }
    out->name = strdup(name);
    out->plugin_path = strdup(plugin_path);
    out->framework_mode = mode;
    out->builtin = 1;
    out->optimal = strcmp(name, "optimal") == 0;
    if (!out->name || !out->plugin_path || spec_add_param(out, "policy.name", policy)) {
        sim_policy_spec_free(out);
        snprintf(err, errlen, "out of memory");
        return LOCUS_ENOMEM;
    }
    return 0;
}

int sim_policy_parse(const char *spec, sim_policy_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1]) {
        snprintf(err, errlen, "--policy '%s': expected NAME=PLUGIN_PATH[:key=value,...]", spec);
        return LOCUS_EINVAL;
    }
    const char *colon = strchr(eq + 1, ':');
    out->name = strndup(spec, (size_t)(eq - spec));
    out->plugin_path = colon ? strndup(eq + 1, (size_t)(colon - eq - 1)) : strdup(eq + 1);
    if (!out->name || !out->plugin_path)
        goto oom;
    if (colon) {
        char *list = strdup(colon + 1);
        if (!list)
            goto oom;
        char *save = NULL;
        for (char *kv = strtok_r(list, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            char *e = strchr(kv, '=');
            if (!e || e == kv) {
                snprintf(err, errlen, "--policy '%s': parameter '%s' is not key=value", spec, kv);
                free(list);
                sim_policy_spec_free(out);
                return LOCUS_EINVAL;
            }
            *e = '\0';
            if (strcmp(kv, "sim.framework") == 0) {
                if (strcmp(e + 1, "naive") == 0)
                    out->framework_mode = SIM_FW_NAIVE;
                else if (strcmp(e + 1, "delay") == 0)
                    out->framework_mode = SIM_FW_DELAY;
                else {
                    snprintf(err, errlen, "--policy '%s': sim.framework must be naive or delay", spec);
                    free(list);
                    sim_policy_spec_free(out);
                    return LOCUS_EINVAL;
                }
                continue;
            }
            if (spec_add_param(out, kv, e + 1)) {
                free(list);
                goto oom;
            }
        }
        free(list);
    }
    return 0;
oom:
    sim_policy_spec_free(out);
    snprintf(err, errlen, "out of memory");
    return LOCUS_ENOMEM;
}

/* PREFIX/DATADIR/locus/traces/<trace> when this program runs from
 * PREFIX/bin and that file exists: an installed locus-sim reads its own
 * prefix's copy (even after the prefix moved), never the source tree's. */
static int trace_beside_self(char *out, size_t len)
{
#if defined(LOCUS_SIM_DATADIR_REL) && defined(LOCUS_SIM_TRACE_NAME)
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 0;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash)
        return 0;
    *slash = 0;
    size_t k = strlen(self);
    if (k < 4 || strcmp(self + k - 4, "/bin") != 0)
        return 0;
    self[k - 4] = 0;
    int w = snprintf(out, len, "%s/%s/locus/traces/%s", self, LOCUS_SIM_DATADIR_REL, LOCUS_SIM_TRACE_NAME);
    return w > 0 && (size_t)w < len && access(out, R_OK) == 0;
#else
    (void)out;
    (void)len;
    return 0;
#endif
}

const char *sim_default_trace(void)
{
    /* An installed program: its own prefix's copy. Run from a build tree:
     * the source tree's copy while it exists, else the configured install
     * path. */
    static char beside[PATH_MAX];
    if (trace_beside_self(beside, sizeof beside))
        return beside;
#if defined(LOCUS_SIM_DEFAULT_TRACE) && defined(LOCUS_SIM_INSTALLED_TRACE)
    return access(LOCUS_SIM_DEFAULT_TRACE, R_OK) == 0 ? LOCUS_SIM_DEFAULT_TRACE
                                                      : LOCUS_SIM_INSTALLED_TRACE;
#else
    return "sim/traces/FB-2009_samples_24_times_1hr_0.tsv";
#endif
}

size_t sim_jobs_replayed(const sim_trace *t, const sim_config *cfg)
{
    size_t n = t->n_jobs;
    if (cfg->max_jobs > 0 && (size_t)cfg->max_jobs < n)
        n = (size_t)cfg->max_jobs;
    if (cfg->max_hours > 0 && n > 0) {
        /* Hours count from the trace's first job: a trace that starts late
         * (FB-2010's hours 12-23 start at 43,200 s) still replays them. */
        double lim = t->jobs[0].submit_s + cfg->max_hours * 3600.0;
        size_t k = 0;
        while (k < n && t->jobs[k].submit_s < lim)
            k++;
        n = k;
    }
    return n;
}

/* ---- helpers ------------------------------------------------------------ */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void host_log(void *ctx, int level, const char *msg)
{
    const sim_world *w = ctx;
    if (level <= LOCUS_LOG_WARN || w->verbose)
        fprintf(stderr, "locus-sim: [%s] %s\n", w->name, msg);
}

static double submit_time(const sim_world *w, size_t job)
{
    return w->trace->jobs[job].submit_s / w->cfg->time_compression;
}

static int any_pending(const sim_world *w)
{
    for (size_t i = 0; i < w->n_active; i++)
        if (w->jobs[w->active[i]].pending > 0)
            return 1;
    return 0;
}

/* Tasks launched so far (every map at its locality level, plus reduces). */
static uint64_t launched_total(const sim_world *w)
{
    return w->launched;
}

static int ensure_tick(sim_world *w)
{
    if (w->tick_scheduled)
        return 0;
    double iv = w->cfg->alloc_interval_s;
    double t = ceil(w->eng.now / iv) * iv;
    if (t < w->eng.now)
        t += iv;
    w->tick_scheduled = 1;
    return sim_engine_push(&w->eng, t, SIM_EV_TICK, 0, 0);
}

/* One allocate() call and the frameworks' answers to its offers; *n_offers
 * gets how many offers it made and *cpu_s adds the allocator's CPU time. */
static int offer_round(sim_world *w, size_t *n_offers, double *alloc_cpu)
{
    int rc;
    locus_offer_list offers = { 0 };
    double c0 = cpu_s();
    rc = w->optimal ? sim_optimal_cycle(w) : w->api->allocate(w->alloc, w->eng.now, &offers);
    *alloc_cpu += cpu_s() - c0;
    if (rc && w->optimal)
        return rc;
    if (rc) {
        snprintf(w->err, sizeof w->err, "%s: allocate: %s (%s)", w->name, locus_strerror(rc),
                 w->api->last_error ? w->api->last_error(w->alloc) : "");
        return rc;
    }
    /* The list is valid until the next call on the handle, and handling an
     * offer calls recover(): copy it first. */
    size_t n = offers.n;
    *n_offers = n;
    if (n) {
        if (sim_grow((void **)&w->offer_buf, &w->cap_offer_buf, n, sizeof *w->offer_buf))
            return LOCUS_ENOMEM;
        size_t bytes = 0;
        for (size_t i = 0; i < n; i++)
            bytes += strlen(offers.offers[i].framework_id) + strlen(offers.offers[i].agent_id) + 2;
        if (sim_grow((void **)&w->offer_str, &w->cap_offer_str, bytes, 1))
            return LOCUS_ENOMEM;
        char *s = w->offer_str;
        for (size_t i = 0; i < n; i++) {
            const locus_offer *o = &offers.offers[i];
            sim_offer_copy *c = &w->offer_buf[i];
            size_t lf = strlen(o->framework_id) + 1, la = strlen(o->agent_id) + 1;
            memcpy(s, o->framework_id, lf);
            c->fw = s;
            s += lf;
            memcpy(s, o->agent_id, la);
            c->agent = s;
            s += la;
            c->cpus = c->mem = 0;
            for (size_t k = 0; k < o->resources.n; k++) {
                if (strcmp(o->resources.items[k].name, "cpus") == 0)
                    c->cpus = o->resources.items[k].value;
                else if (strcmp(o->resources.items[k].name, "mem") == 0)
                    c->mem = o->resources.items[k].value;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = sim_fw_offer(w, &w->offer_buf[i])))
            return rc;
    return sim_fw_after_cycle(w);
}

static int tick(sim_world *w)
{
    int rc;
    w->tick_scheduled = 0;
    /* Datasets named since the last cycle existed before their jobs: their
     * placement goes into the hint store before the allocator looks. */
    if ((rc = sim_storage_publish_fresh(&w->st, w->hs, w->eng.now, w->err, sizeof w->err)))
        return rc;
    if ((rc = sim_fw_before_cycle(w)))
        return rc;
    uint64_t launched_before = launched_total(w);
    double alloc_cpu = 0;
    size_t n_offers = 0, rounds = 0;
    /* Delay frameworks decline at once what they will not use, and the
     * resources go on to the next framework in DRF order (the decliners'
     * refuse filters now cover them), as the Mesos master re-offers
     * rejected resources and as the delay scheduling paper's scheduler
     * passes a freed slot down the jobs until one has data there. Without
     * this a freed slot would reach one framework per cycle. Naive
     * frameworks decline only what they cannot use, so they get one round. */
    do {
        if ((rc = offer_round(w, &n_offers, &alloc_cpu)))
            return rc;
        rounds++;
    } while (w->mode == SIM_FW_DELAY && !w->optimal && n_offers > 0 && w->cfg->refuse_s > 0 &&
             rounds <= w->n_active);
    w->res->cycles++;
    w->res->offer_rounds += rounds;
    if (sim_grow((void **)&w->cycle_cpu, &w->cap_cycle_cpu, w->n_cycle_cpu + 1, sizeof(double)))
        return LOCUS_ENOMEM;
    w->cycle_cpu[w->n_cycle_cpu++] = alloc_cpu;
    sim_metrics_cycle(w);
    /* Only a launch is progress: offers that every framework declines (no
     * task fits) must not keep the stall guard from firing. */
    if (launched_total(w) != launched_before)
        w->last_progress = w->eng.now;
    if (any_pending(w)) {
        if (w->eng.now - w->last_progress > SIM_STALL_S) {
            snprintf(w->err, sizeof w->err,
                     "%s: stalled: tasks pending but no task started or finished for %.0f simulated seconds",
                     w->name, SIM_STALL_S);
            return LOCUS_ESTATE;
        }
        double t = w->eng.now + w->cfg->alloc_interval_s;
        w->tick_scheduled = 1;
        return sim_engine_push(&w->eng, t, SIM_EV_TICK, 0, 0);
    }
    return 0;
}

/* One progress line for every policy replaying at once. */
typedef struct sim_board {
    pthread_mutex_t mu;
    size_t n;
    const char **names;
    double *sim_t, *frac;
    double last, t0;
    int printed;
} sim_board;

static void progress(sim_world *w, int force)
{
    sim_board *b = w->board;
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->sim_t[w->slot] = w->eng.now;
    b->frac[w->slot] = w->n_jobs ? (double)w->jobs_done / (double)w->n_jobs : 1.0;
    double now = mono_s();
    if (force || now - b->last >= 0.5) {
        b->last = now;
        fprintf(stderr, "\r%6.0f s:", now - b->t0);
        for (size_t i = 0; i < b->n; i++)
            fprintf(stderr, "  %s %5.1f%% (sim %.0f s)", b->names[i], 100.0 * b->frac[i], b->sim_t[i]);
        fputs("   ", stderr);
        fflush(stderr);
        b->printed = 1;
    }
    pthread_mutex_unlock(&b->mu);
}

static int add_agents(sim_world *w)
{
    for (uint32_t i = 0; i < w->cl.n_agents; i++) {
        const sim_agent *a = &w->cl.agents[i];
        locus_scalar items[2] = { { "cpus", w->cl.cpus }, { "mem", w->cl.mem_mb } };
        locus_agent_info ai = { .id = a->id, .hostname = a->host, .rack = a->rack,
                                .total = { items, 2 } };
        int rc = w->api->add_agent(w->alloc, &ai, NULL, 0, 0.0);
        if (rc) {
            snprintf(w->err, sizeof w->err, "%s: add_agent %s: %s (%s)", w->name, a->id,
                     locus_strerror(rc), w->api->last_error ? w->api->last_error(w->alloc) : "");
            return rc;
        }
    }
    return 0;
}

/* The network model's callbacks: a flow's finish becomes an event (stale
 * ones are skipped by version), and its bytes are booked in the network
 * plot over the time they moved. */
static int net_schedule(void *ctx, double t, uint32_t flow, uint32_t version)
{
    sim_world *w = ctx;
    return sim_engine_push(&w->eng, t, SIM_EV_FLOW, flow, version);
}

static int net_progress(void *ctx, const sim_net_flow *f, double t0, double t1, double bytes)
{
    sim_world *w = ctx;
    const sim_task *tk = &w->jobs[f->owner_a].tasks[f->owner_b];
    double share;
    if (tk->flow.kind == SIM_SRC_SHUFFLE)
        share = 1.0 - 1.0 / w->cl.n_agents;
    else
        share = sim_flow_crosses_nic(&w->net, &tk->flow) ? 1.0 : 0.0;
    w->res->flow_bytes += bytes;
    if (share <= 0)
        return 0;
    return sim_series_add_span(w, &w->res->series_network_bytes, t0, t1, bytes * share);
}

static int run_events(sim_world *w, const sim_run_opts *o)
{
    int rc = 0;
    sim_event ev;
    (void)o;
    if (w->n_jobs == 0)
        return 0;
    if ((rc = sim_engine_push(&w->eng, submit_time(w, 0), SIM_EV_ARRIVAL, 0, 0)) ||
        (rc = sim_engine_push(&w->eng, submit_time(w, 0), SIM_EV_PROBE, 0, 0)))
        return rc;
    w->next_arrival = 1;
    w->net.schedule = net_schedule;
    w->net.on_progress = net_progress;
    w->net.ctx = w;
    for (;;) {
        /* Flows started or ended at this instant get their rates before
         * time moves on: one recomputation per instant, not per flow. */
        double q = w->cfg->rate_update_s;
        if (sim_network_dirty(&w->net) && q > 0 && !w->rates_scheduled) {
            double t = ceil(w->eng.now / q) * q;
            if ((rc = sim_engine_push(&w->eng, t > w->eng.now ? t : w->eng.now, SIM_EV_RATES, 0, 0)))
                return rc;
            w->rates_scheduled = 1;
        } else if (q <= 0 && sim_network_dirty(&w->net) && sim_engine_peek_time(&w->eng) > w->eng.now &&
                   (rc = sim_network_update(&w->net, w->eng.now))) {
            return rc;
        }
        if (!sim_engine_pop(&w->eng, &ev))
            break;
        switch (ev.type) {
        case SIM_EV_RATES:
            w->rates_scheduled = 0;
            rc = sim_network_update(&w->net, w->eng.now);
            break;
        case SIM_EV_FLOW: {
            const sim_net_flow *f = ev.a < w->net.n_flows ? &w->net.flows[ev.a] : NULL;
            if (!f || !f->active || f->version != ev.b)
                break; /* its rate changed since: a later event stands */
            rc = sim_fw_read_done(w, f->owner_a, f->owner_b);
            break;
        }
        case SIM_EV_ARRIVAL:
            if (w->next_arrival < w->n_jobs &&
                (rc = sim_engine_push(&w->eng, submit_time(w, w->next_arrival), SIM_EV_ARRIVAL,
                                      (uint32_t)w->next_arrival, 0)))
                return rc;
            w->next_arrival++;
            if ((rc = sim_fw_arrive(w, ev.a)))
                return rc;
            rc = ensure_tick(w);
            break;
        case SIM_EV_TICK:
            rc = tick(w);
            break;
        case SIM_EV_FINISH:
            w->last_progress = w->eng.now;
            if ((rc = sim_fw_finish(w, ev.a, ev.b)))
                return rc;
            if (w->jobs[ev.a].state == 1 && w->jobs[ev.a].pending > 0)
                rc = ensure_tick(w);
            break;
        case SIM_EV_PROBE:
            if ((rc = sim_fw_confirm_demand(w)))
                return rc;
            if ((rc = sim_storage_publish(&w->st, w->hs, w->eng.now, w->err, sizeof w->err)))
                return rc;
            if (w->jobs_done < w->n_jobs)
                rc = sim_engine_push(&w->eng, w->eng.now + w->cfg->probe_interval_s, SIM_EV_PROBE, 0, 0);
            break;
        default:
            rc = LOCUS_ESTATE;
        }
        if (rc)
            return rc;
        if ((w->eng.processed & 0x3fff) == 0)
            progress(w, 0);
    }
    progress(w, 1);
    if (w->jobs_done != w->n_jobs) {
        snprintf(w->err, sizeof w->err, "%s: replay ended with %zu of %zu jobs done", w->name,
                 w->jobs_done, w->n_jobs);
        return LOCUS_ESTATE;
    }
    return 0;
}

static char *describe(const sim_policy_spec *p, const locus_allocator_api *api)
{
    if (p->optimal)
        return strdup("min-cost flow bound: every cycle assigns pending tasks (round-robin over jobs, "
                      "up to 4 per free slot) to free slots at the least read time; no offers, no DRF");
    const char *plugin_name = api->name;
    /* The frameworks declare their task size when the plugin takes it
     * (ABI 1.1); a policy may then size offers to local tasks. */
    int task_res = api->struct_size >= offsetof(locus_allocator_api, set_task_resources) + sizeof(void *) &&
                   api->set_task_resources;
    char buf[1024];
    size_t off = (size_t)snprintf(buf, sizeof buf, "plugin %s", plugin_name ? plugin_name : p->plugin_path);
    for (size_t i = 0; i < p->n_params && off < sizeof buf; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s=%s", i ? "," : " (",
                                p->params[i].key, p->params[i].value);
    if (p->n_params && off < sizeof buf)
        off += (size_t)snprintf(buf + off, sizeof buf - off, ")");
    if (off < sizeof buf)
        snprintf(buf + off, sizeof buf - off, ", %s frameworks%s",
                 p->framework_mode == SIM_FW_DELAY ? "delay-scheduling (Spark)" : "naive",
                 task_res ? " declaring their task size" : "");
    return strdup(buf);
}

static int run_policy(const sim_trace *t, const sim_config *cfg, const sim_policy_spec *p,
                      const sim_run_opts *o, const char *store_dir, double bucket_s,
                      sim_policy_result *res, sim_board *board, size_t slot, char *err, size_t errlen)
{
    sim_world w;
    memset(&w, 0, sizeof w);
    w.board = board;
    w.slot = slot;
    w.cfg = cfg;
    w.trace = t;
    w.n_jobs = sim_jobs_replayed(t, cfg);
    w.mode = p->framework_mode;
    w.name = p->name;
    w.verbose = o->verbose;
    w.res = res;
    res->optimal = p->optimal;
    w.series_bucket_s = bucket_s;
    locus_allocator_plugin plugin;
    memset(&plugin, 0, sizeof plugin);
    double wall0 = mono_s(), cpu0 = cpu_s();
    int rc;
    sim_engine_init(&w.eng);
    sim_rng_seed(&w.rng, (uint64_t)cfg->seed, 2);
    if ((rc = sim_cluster_init(&w.cl, cfg)) || (rc = sim_network_init(&w.net, &w.cl, cfg)) ||
        (rc = sim_storage_init(&w.st, cfg, &w.cl, (uint64_t)cfg->seed))) {
        snprintf(w.err, sizeof w.err, "%s: out of memory building the cluster", p->name);
        goto out;
    }
    w.jobs = calloc(w.n_jobs ? w.n_jobs : 1, sizeof *w.jobs);
    w.active = calloc(w.n_jobs ? w.n_jobs : 1, sizeof *w.active);
    if (!w.jobs || !w.active) {
        rc = LOCUS_ENOMEM;
        snprintf(w.err, sizeof w.err, "%s: out of memory", p->name);
        goto out;
    }
    w.first_submit = w.n_jobs ? submit_time(&w, 0) : 0;
    w.last_submit = w.n_jobs ? submit_time(&w, w.n_jobs - 1) : 0;
    w.last_finish = w.first_submit;
    w.last_progress = w.first_submit;
    locus_hs_options hso = { .map_size = (size_t)8 << 30, .create = 1, .no_sync = 1 };
    char herr[512] = "";
    if ((rc = locus_hs_open(store_dir, &hso, &w.hs, herr, sizeof herr))) {
        snprintf(w.err, sizeof w.err, "%s: hint store: %.400s", p->name, herr);
        goto out;
    }
    char lerr[512] = "";
    w.optimal = p->optimal;
    if (p->optimal) {
        w.api = sim_optimal_api();
    } else if ((rc = locus_allocator_load(p->plugin_path, &plugin, lerr, sizeof lerr))) {
        snprintf(w.err, sizeof w.err, "%s: %.400s", p->name, lerr);
        goto out;
    } else {
        w.api = plugin.api;
    }
    if (!w.api->create || !w.api->destroy || !w.api->add_agent || !w.api->add_framework ||
        !w.api->recover || !w.api->allocate) {
        rc = LOCUS_EABI;
        snprintf(w.err, sizeof w.err, "%s: plugin %s lacks a callback the simulator needs "
                 "(create, destroy, add_agent, add_framework, recover, allocate)", p->name, p->plugin_path);
        goto out;
    }
    locus_host_services hs = { .struct_size = sizeof hs, .ctx = &w, .log = host_log, .hint_store = w.hs };
    /* Built-in policies get the replay's seed for their agent order. */
    locus_param *params = calloc(p->n_params + 1, sizeof *params);
    if (!params) {
        rc = LOCUS_ENOMEM;
        goto out;
    }
    memcpy(params, p->params, p->n_params * sizeof *params);
    size_t np = p->n_params;
    char seedbuf[32];
    if (p->builtin) {
        snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)((uint64_t)cfg->seed & 0xffffffffULL));
        params[np++] = (locus_param){ "policy.seed", seedbuf };
    }
    char cerr[512] = "";
    rc = w.api->create(o->allocator_config, params, np, &hs, &w.alloc, cerr, sizeof cerr);
    free(params);
    if (rc) {
        snprintf(w.err, sizeof w.err, "%s: create: %.400s", p->name, cerr);
        goto out;
    }
    if ((rc = add_agents(&w)))
        goto out;
    if ((rc = run_events(&w, o)))
        goto out;
    res->net_updates = w.net.updates;
    res->net_flows_recomputed = w.net.flows_recomputed;
    if (w.api->status) {
        locus_allocator_status st;
        memset(&st, 0, sizeof st);
        st.struct_size = sizeof st;
        if (w.api->status(w.alloc, &st) == 0)
            res->fallback_cycles = st.fallback_cycles;
    }
    if ((rc = sim_metrics_finish(&w)))
        goto out;
    res->description = describe(p, w.api);
    double wall = mono_s() - wall0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    res->cost.wall_s = wall;
    res->cost.cpu_s = cpu_s() - cpu0;
    res->cost.events = w.eng.processed;
    res->cost.events_per_s = wall > 0 ? (double)w.eng.processed / wall : 0;
    res->cost.peak_rss_bytes = (uint64_t)ru.ru_maxrss * 1024ULL;
out:
    if (rc && w.err[0] == '\0')
        snprintf(w.err, sizeof w.err, "%s: %s", p->name, locus_strerror(rc));
    if (rc)
        snprintf(err, errlen, "%s", w.err);
    if (w.alloc)
        w.api->destroy(w.alloc);
    locus_allocator_unload(&plugin);
    locus_hs_close(w.hs);
    if (w.jobs)
        for (size_t i = 0; i < w.n_jobs; i++)
            sim_fw_free_job(&w.jobs[i]);
    free(w.jobs);
    free(w.active);
    free(w.cycle_cpu);
    free(w.reads);
    free(w.demand);
    free(w.offer_buf);
    free(w.offer_str);
    sim_storage_free(&w.st);
    sim_network_free(&w.net);
    sim_cluster_free(&w.cl);
    sim_engine_free(&w.eng);
    return rc;
}

/* Policies are independent replays (own cluster, storage, plugin instance
 * and hint store), so they run on worker threads pulling from one queue;
 * each result lands in its own slot, so the report does not depend on the
 * order they finish in. */
typedef struct sim_job_queue {
    pthread_mutex_t mu;
    size_t next, n;
    const sim_trace *t;
    const sim_config *cfg;
    const sim_policy_spec *pols;
    const sim_run_opts *opts;
    const char *tmp;
    double bucket;
    sim_report *r;
    sim_board *board;
    int *rcs;
    char *errs;
} sim_job_queue;

static void *policy_worker(void *arg)
{
    sim_job_queue *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        size_t i = q->next++;
        pthread_mutex_unlock(&q->mu);
        if (i >= q->n)
            return NULL;
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%zu", q->tmp, i);
        q->rcs[i] = run_policy(q->t, q->cfg, &q->pols[i], q->opts, dir, q->bucket,
                               &q->r->policies[i], q->board, i, q->errs + i * 1024, 1024);
        remove_tree(dir);
    }
}

/* ---- the report ---------------------------------------------------------- */

static double series_bucket(const sim_trace *t, const sim_config *cfg, size_t n_jobs)
{
    double bucket = cfg->series_bucket_s;
    if (bucket <= 0) {
        double span = n_jobs ? (t->jobs[n_jobs - 1].submit_s - t->jobs[0].submit_s) /
                                   cfg->time_compression : 0;
        bucket = span / 200.0;
        if (bucket < 1.0)
            bucket = 1.0;
    }
    return bucket;
}

/* Releases what a replay put into a result, keeping its name. */
static void clear_result(sim_policy_result *p)
{
    char *name = p->name;
    free(p->description);
    free(p->jct_sorted);
    free(p->series_network_bytes);
    free(p->series_utilisation);
    memset(p, 0, sizeof *p);
    p->name = name;
}

static char param_keys[64][64];

static int fill_params(sim_report *r, const sim_config *cfg)
{
    size_t n = sim_config_n_keys;
    r->params = calloc(n, sizeof *r->params);
    if (!r->params)
        return LOCUS_ENOMEM;
    for (size_t i = 0; i < n && i < 64; i++) {
        const locus_cfg_key *k = &sim_config_keys[i];
        const char *base = (const char *)cfg + k->offset;
        char v[128];
        switch (k->type) {
        case LOCUS_CFG_BOOL:
            snprintf(v, sizeof v, "%s", *(const int *)base ? "true" : "false");
            break;
        case LOCUS_CFG_INT:
            snprintf(v, sizeof v, "%lld", (long long)*(const int64_t *)base);
            break;
        case LOCUS_CFG_DOUBLE:
            snprintf(v, sizeof v, "%.15g", *(const double *)base); /* shortest for config values */
            break;
        case LOCUS_CFG_ENUM:
            snprintf(v, sizeof v, "%s", k->choices[*(const int *)base]);
            break;
        default:
            snprintf(v, sizeof v, "%s", *(char *const *)base ? *(char *const *)base : "");
        }
        snprintf(param_keys[i], sizeof param_keys[i], "%s.%s", k->section, k->name);
        r->params[i].key = param_keys[i];
        r->params[i].value = strdup(v);
        if (!r->params[i].value)
            return LOCUS_ENOMEM;
        r->n_params = i + 1;
    }
    return 0;
}

/* The sample a pilot replays: every k-th dataset in order of first use
 * with every job whose first input it is (a job without input counts as a
 * dataset of its own). In job order (FB-2009: every k-th job) it spreads
 * over the whole span, as the work does; whole datasets keep the re-reads,
 * so the memory tier hits as often as in the trace (every k-th FB-2010 job
 * would miss them). `offset` (< k) picks which k-th. Returns 0 or
 * LOCUS_ENOMEM. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

static int sample_trace(const sim_trace *t, size_t n_jobs, size_t k, size_t offset, sim_trace *out)
{
    size_t cap = 16;
    while (cap < 2 * n_jobs)
        cap *= 2;
    /* open addressing: a slot holds 1 + the job index that first named it */
    size_t *slot = calloc(cap, sizeof *slot);
    uint8_t *keep_ds = calloc(cap, 1);
    out->jobs = malloc((n_jobs ? n_jobs : 1) * sizeof *out->jobs);
    if (!slot || !keep_ds || !out->jobs) {
        free(slot);
        free(keep_ds);
        free(out->jobs);
        out->jobs = NULL;
        return LOCUS_ENOMEM;
    }
    size_t rank = 0;
    for (size_t i = 0; i < n_jobs; i++) {
        const sim_job *j = &t->jobs[i];
        int keep;
        if (j->n_inputs == 0) {
            keep = rank++ % k == offset;
        } else {
            const char *name = j->inputs[0].name;
            size_t h = (size_t)name_hash(name) & (cap - 1);
            while (slot[h] && strcmp(t->jobs[slot[h] - 1].inputs[0].name, name) != 0)
                h = (h + 1) & (cap - 1);
            if (!slot[h]) {
                slot[h] = i + 1;
                keep_ds[h] = rank++ % k == offset;
            }
            keep = keep_ds[h];
        }
        if (keep)
            out->jobs[out->n_jobs++] = *j; /* shares the trace's strings */
    }
    free(slot);
    free(keep_ds);
    out->source = t->source;
    out->format = t->format;
    out->default_block_bytes = t->default_block_bytes;
    return 0;
}

/* How much smaller a pilot replay is: every k-th job on 1/k of the
 * agents, k about 1 / calibration_share but keeping at least
 * SIM_PILOT_MIN_JOBS jobs and SIM_PILOT_MIN_AGENTS agents (1: the whole
 * replay). */
static size_t pilot_thinning(const sim_config *c, size_t n_jobs)
{
    double k = c->calibration_share > 0 ? floor(1.0 / c->calibration_share + 0.5) : 1;
    double by_jobs = floor((double)n_jobs / SIM_PILOT_MIN_JOBS);
    double by_agents = floor((double)c->agents / SIM_PILOT_MIN_AGENTS);
    if (k > by_jobs)
        k = by_jobs;
    if (k > by_agents)
        k = by_agents;
    return k < 1 ? 1 : (size_t)k;
}

/* One sampled pilot: its trace and cluster, and what it measured. */
typedef struct pilot_run {
    sim_trace sample;
    sim_config cfg;
    double scale; /* the estimate's load of the whole over the sample's */
    const sim_policy_spec *pol;
    const sim_run_opts *opts;
    char dir[4200];
    sim_policy_result res;
    int rc;
    char err[1024];
} pilot_run;

static void *pilot_worker(void *arg)
{
    pilot_run *p = arg;
    p->rc = run_policy(&p->sample, &p->cfg, p->pol, p->opts, p->dir,
                       series_bucket(&p->sample, &p->cfg, p->sample.n_jobs), &p->res, NULL, 0, p->err,
                       sizeof p->err);
    remove_tree(p->dir);
    return NULL;
}

/* Replays every sample at factor x (two at once when allowed: they are
 * independent) and gives the mean of their offered loads carried over to
 * the whole trace. The same figure whatever the thread count. */
static int run_pilots(pilot_run *pr, size_t n, double x, int parallel, double *measured, char *err,
                      size_t errlen)
{
    pthread_t th[SIM_PILOT_SAMPLES];
    int started[SIM_PILOT_SAMPLES] = { 0 };
    for (size_t s = 0; s < n; s++) {
        pr[s].cfg.time_compression = x;
        memset(&pr[s].res, 0, sizeof pr[s].res);
        if (parallel && s + 1 < n && pthread_create(&th[s], NULL, pilot_worker, &pr[s]) == 0)
            started[s] = 1;
        else
            pilot_worker(&pr[s]);
    }
    int rc = 0;
    double sum = 0;
    for (size_t s = 0; s < n; s++) {
        if (started[s])
            pthread_join(th[s], NULL);
        if (pr[s].rc && !rc) {
            rc = pr[s].rc;
            snprintf(err, errlen, "%s", pr[s].err);
        }
        sum += pr[s].res.offered_load * pr[s].scale;
        clear_result(&pr[s].res);
    }
    *measured = sum / (double)n;
    return rc;
}

int sim_run(const sim_trace *t, const char *trace_path, const sim_config *cfg_in,
            const sim_policy_spec *pols, size_t n_pols, const sim_run_opts *opts,
            sim_report **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t n_replayed = sim_jobs_replayed(t, cfg_in);
    if (n_replayed == 0) {
        snprintf(err, errlen, "%s: no job to replay (the trace is empty or sim.max_jobs / "
                 "sim.max_hours / sim.skip_hours leave none)", trace_path);
        return LOCUS_EINVAL;
    }
    /* A task that fits no agent would wait forever: say so up front. */
    if (cfg_in->task_cpus > cfg_in->agent_cpus + 1e-9 || cfg_in->task_mem_mb > cfg_in->agent_mem_mb) {
        snprintf(err, errlen, "a task (task.cpus %g, task.mem_mb %lld) fits no agent "
                 "(cluster.agent_cpus %g, cluster.agent_mem_mb %lld)", cfg_in->task_cpus,
                 (long long)cfg_in->task_mem_mb, cfg_in->agent_cpus, (long long)cfg_in->agent_mem_mb);
        return LOCUS_EINVAL;
    }
    /* The effective settings: auto compression resolved, so the report
     * states the factor used. The config holds no strings: a plain copy. */
    sim_config eff = *cfg_in;
    eff.time_compression = sim_config_compression(cfg_in, t, sim_jobs_replayed(t, cfg_in));
    const sim_config *cfg = &eff;
    sim_run_opts defaults = { 0 };
    if (!opts)
        opts = &defaults;
    sim_report *r = calloc(1, sizeof *r);
    if (!r)
        return LOCUS_ENOMEM;
    int rc = LOCUS_ENOMEM;
    const char *slash = strrchr(trace_path, '/');
    r->trace = strdup(trace_path);
    r->trace_name = strdup(slash ? slash + 1 : trace_path);
    r->seed = (uint64_t)cfg->seed;
    r->n_jobs = sim_jobs_replayed(t, cfg);
    r->policies = calloc(n_pols ? n_pols : 1, sizeof *r->policies);
    if (!r->trace || !r->trace_name || !r->policies) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    const char *base = opts->hints_dir ? opts->hints_dir : getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/locus-sim-XXXXXX", base);
    if (!mkdtemp(tmp)) {
        snprintf(err, errlen, "%s: cannot create a temporary folder: %s", tmp, strerror(errno));
        rc = LOCUS_EIO;
        goto fail;
    }
    r->n_policies = n_pols;
    for (size_t i = 0; i < n_pols; i++)
        if (!(r->policies[i].name = strdup(pols[i].name))) {
            snprintf(err, errlen, "out of memory");
            rc = LOCUS_ENOMEM;
            remove_tree(tmp);
            goto fail;
        }
    /* Calibration: the estimate cannot know contention (a busy 1 GbE
     * cluster stretches reads several times), so pilot replays of the first
     * policy measure its offered load (busy CPU-seconds over the cluster's
     * CPUs times the arrival span) and correct the factor. A pilot replays
     * two samples of the trace (two sets of every k-th dataset with their
     * jobs, see sample_trace) each on a cluster k times smaller (racks of
     * the same size), so the load per agent and the job mix over the whole
     * span are the trace's at 1/k of the cost each; the estimate's ratio of
     * the whole to a sample (its share of the work and of the CPUs) carries
     * its measurement over, and the two samples' mean halves the variance
     * one sample's few large jobs bring. Prefixes do not carry over:
     * FB-2009's first 1,000 jobs stretch with contention by 1.4x the
     * estimate, the whole trace by 2.1x. A pilot of the whole replay (k = 1)
     * is that policy's result, so a good estimate then costs
     * nothing extra. */
    size_t first_queued = 0;
    int sampled = 0; /* the factor came from samples' pilots */
    if (cfg_in->time_compression <= 0 && cfg_in->calibration_runs > 0 && n_pols > 0) {
        size_t k = pilot_thinning(cfg, r->n_jobs);
        pilot_run pr[SIM_PILOT_SAMPLES];
        size_t n_pr = k > 1 ? SIM_PILOT_SAMPLES : 0;
        memset(pr, 0, sizeof pr);
        double e_all = sim_config_estimated_load(cfg, t, r->n_jobs);
        for (size_t s = 0; s < n_pr; s++) {
            pilot_run *p = &pr[s];
            if (sample_trace(t, r->n_jobs, k, s * k / SIM_PILOT_SAMPLES, &p->sample)) {
                for (size_t q = 0; q <= s; q++)
                    free(pr[q].sample.jobs);
                snprintf(err, errlen, "out of memory");
                rc = LOCUS_ENOMEM;
                remove_tree(tmp);
                goto fail;
            }
            p->cfg = eff;
            p->cfg.max_jobs = 0;
            p->cfg.max_hours = 0;
            p->cfg.agents = cfg->agents / (int64_t)k;
            if (cfg->racks > 0)
                p->cfg.racks = cfg->racks / (int64_t)k > 0 ? cfg->racks / (int64_t)k : 1;
            double e_part = sim_config_estimated_load(&p->cfg, &p->sample, p->sample.n_jobs);
            p->scale = e_part > 0 ? e_all / e_part : 0;
            if (e_all <= 0 || e_part <= 0)
                k = 1; /* no work to scale by: pilots of the whole replay */
            p->pol = &pols[0];
            p->opts = opts;
            snprintf(p->dir, sizeof p->dir, "%s/pilot%zu", tmp, s);
        }
        if (k == 1) {
            for (size_t s = 0; s < n_pr; s++)
                free(pr[s].sample.jobs);
            n_pr = 0;
        }
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        int parallel = opts->threads > 1 || (opts->threads <= 0 && ncpu > 1);
        double prev_x = 0, prev_u = 0;
        for (int64_t run = 0; run < cfg_in->calibration_runs; run++) {
            double measured = 0;
            if (n_pr == 0) {
                char dir[4200];
                snprintf(dir, sizeof dir, "%s/pilot", tmp);
                clear_result(&r->policies[0]);
                rc = run_policy(t, cfg, &pols[0], opts, dir, series_bucket(t, cfg, r->n_jobs),
                                &r->policies[0], NULL, 0, err, errlen);
                remove_tree(dir);
                measured = r->policies[0].offered_load;
            } else {
                rc = run_pilots(pr, n_pr, eff.time_compression, parallel, &measured, err, errlen);
            }
            if (rc) {
                for (size_t s = 0; s < n_pr; s++)
                    free(pr[s].sample.jobs);
                remove_tree(tmp);
                goto fail;
            }
            r->calibration_runs = (int)run + 1;
            /* The offered load, not utilisation over the makespan nor the
             * busy share while jobs arrive: the queue left at the last
             * arrival drains on an emptying cluster, so utilisation flattens
             * (FB-2009 on 600 agents: 54% at 30x, 52% at 100x), and the
             * busy share while jobs arrive flattens too once work queues
             * past the last arrival (its first 1,500 jobs on 100 agents: 64%
             * at 40x, 67% at 133x, 65% at 300x). */
            if (opts->verbose)
                fprintf(stderr, "locus-sim: pilot %lld of %s at %.2fx (%s): offered load %.1f%%\n",
                        (long long)run + 1, pols[0].name, eff.time_compression,
                        n_pr ? "a sample on a smaller cluster" : "the whole replay", 100.0 * measured);
            double target = cfg->target_load;
            if (fabs(measured - target) <= 0.02 || measured <= 0 || run + 1 == cfg_in->calibration_runs)
                break;
            /* Utilisation grows with the factor but flattens as the cluster
             * saturates: proportional first, then the secant through the
             * last two pilots. */
            double x0 = eff.time_compression, x;
            /* The secant only while load grows with the factor: a flat or
             * falling pair would send it far off. */
            if (run > 0 && (measured - prev_u) * (x0 - prev_x) > 1e-3 * fabs(x0 - prev_x))
                x = x0 + (target - measured) * (x0 - prev_x) / (measured - prev_u);
            else
                x = x0 * target / measured;
            if (x < x0 / 4)
                x = x0 / 4;
            if (x > x0 * 4)
                x = x0 * 4;
            x = round(x * 100.0) / 100.0;
            if (x < 1.0)
                x = 1.0; /* never slower than the trace */
            if (x == x0)
                break;
            prev_x = x0;
            prev_u = measured;
            eff.time_compression = x;
        }
        for (size_t s = 0; s < n_pr; s++)
            free(pr[s].sample.jobs);
        /* A pilot of the whole replay ran at the final factor: it is the
         * first policy's result. Samples are not: the first policy replays
         * everything with the others. */
        if (n_pr == 0)
            first_queued = 1;
        sampled = n_pr > 0;
        if (sampled) {
            r->pilot_jobs = pr[0].sample.n_jobs;
            r->pilot_agents = pr[0].cfg.agents;
        }
    }
    r->target_load = cfg_in->time_compression <= 0 ? cfg->target_load : 0;
    /* A sample's pilots may miss: the first policy's replay of everything
     * checks the factor, and one more round of every policy follows at the
     * corrected factor when its offered load is off by more than
     * SIM_LOAD_RECHECK (a replay's figures depend only on its inputs, so this
     * is the same for any thread count). */
    for (int round_no = 0;; round_no++) {
        r->compression = cfg->time_compression;
        double bucket = series_bucket(t, cfg, r->n_jobs);
        sim_board board = { .n = n_pols, .t0 = mono_s() };
        const char *names[64];
        double sim_t[64] = { 0 }, frac[64] = { 0 };
        board.names = names;
        board.sim_t = sim_t;
        board.frac = frac;
        for (size_t i = 0; i < n_pols && i < 64; i++)
            names[i] = pols[i].name;
        pthread_mutex_init(&board.mu, NULL);
        sim_job_queue q = { .t = t, .cfg = cfg, .pols = pols, .n = n_pols, .opts = opts, .tmp = tmp,
                            .bucket = bucket, .r = r, .board = opts->progress && n_pols <= 64 ? &board : NULL };
        q.next = first_queued;
        pthread_mutex_init(&q.mu, NULL);
        q.rcs = calloc(n_pols ? n_pols : 1, sizeof *q.rcs);
        q.errs = calloc(n_pols ? n_pols : 1, 1024);
        if (!q.rcs || !q.errs) {
            rc = LOCUS_ENOMEM;
            snprintf(err, errlen, "out of memory");
        } else {
            long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
            size_t nt = opts->threads > 0 ? (size_t)opts->threads : (ncpu > 0 ? (size_t)ncpu : 1);
            if (nt > n_pols)
                nt = n_pols;
            if (nt > 16)
                nt = 16;
            pthread_t th[16];
            size_t started = 0;
            for (size_t i = 1; i < nt; i++)
                if (pthread_create(&th[started], NULL, policy_worker, &q) == 0)
                    started++;
            policy_worker(&q);
            for (size_t i = 0; i < started; i++)
                pthread_join(th[i], NULL);
            if (board.printed)
                fputc('\n', stderr);
            rc = 0;
            for (size_t i = 0; i < n_pols; i++)
                if (q.rcs[i]) {
                    rc = q.rcs[i];
                    snprintf(err, errlen, "%s", q.errs + i * 1024);
                    break;
                }
        }
        free(q.rcs);
        free(q.errs);
        pthread_mutex_destroy(&q.mu);
        pthread_mutex_destroy(&board.mu);
        if (rc || !sampled || round_no > 0)
            break;
        double u = r->policies[0].offered_load, x0 = eff.time_compression;
        if (u <= 0 || fabs(u - cfg->target_load) <= SIM_LOAD_RECHECK)
            break;
        double x = round(x0 * cfg->target_load / u * 100.0) / 100.0;
        if (x < 1.0)
            x = 1.0;
        if (x == x0)
            break;
        if (opts->verbose)
            fprintf(stderr, "locus-sim: %s measured %.1f%% offered load at %.2fx: every policy again at %.2fx\n",
                    pols[0].name, 100.0 * u, x0, x);
        eff.time_compression = x;
        for (size_t i = 0; i < n_pols; i++)
            clear_result(&r->policies[i]);
        first_queued = 0;
        r->calibration_runs++;
    }
    if (!rc && fill_params(r, cfg)) {
        snprintf(err, errlen, "out of memory");
        rc = LOCUS_ENOMEM;
    }
    remove_tree(tmp);
    if (rc)
        goto fail;
    *out = r;
    return 0;
fail:
    sim_report_free(r);
    return rc;
}
