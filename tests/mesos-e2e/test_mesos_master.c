/* Locus inside a real mesos-master, end to end: the master loads the Locus
 * allocator module (--modules, --allocator=org_locus_LocusAllocator), three
 * mesos-agents on loopback ports register as node-a, node-b and node-c,
 * locus-probe publishes a static placement file (ds1: four blocks in memory
 * on node-b) into the LMDB hint store the plugin reads, and two v1 HTTP
 * schedulers subscribe. The test checks what an operator relies on: the
 * framework reading ds1 is offered node-b only, as a slice sized to its tasks
 * there; a declined slice comes back after the refuse time and not before;
 * the rest of node-b and the other agents go to a second framework;
 * /metrics/snapshot carries the standard allocator metrics and Locus's own;
 * with the probe killed the hints go stale and offers follow plain DRF.
 * Exits 77 (ctest SKIP) when no Mesos prefix was found at configure time. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "mesos_cluster.h"
#include "testutil.h"

#define SKIP_CODE 77

#ifndef LOCUS_MESOS_ROOT
int main(void)
{
    printf("SKIP: no Mesos prefix found at configure time (set MESOS_ROOT or install Mesos in "
           "/opt/mesos-1.12, e.g. with scripts/install-mesos.sh); the Mesos module was not built\n");
    return SKIP_CODE;
}
#else
#define AGENT_CPUS 8.0
#define AGENT_MEM 16384.0
#define TASK_CPUS 1.0
#define TASK_MEM 1024.0
#define DS1_BLOCKS 4

/* Everything up to main drives a real master; without one only main's skip is built. */
#ifdef LOCUS_MESOS_ROOT
static int failures;
static char dir[256];

static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s - ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    if (!ok)
        failures++;
}

static void dump_log(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = tu_slurp(path, NULL);
    if (!text)
        return;
    /* Without the master's per-request HTTP lines, which drown the rest. */
    char *kept = malloc(strlen(text) + 1), *w = kept;
    for (char *line = strtok(text, "\n"); line && kept; line = strtok(NULL, "\n"))
        if (!strstr(line, "http.cpp:"))
            w += sprintf(w, "%s\n", line);
    if (kept) {
        size_t len = (size_t)(w - kept);
        printf("---- last lines of %s ----\n%s\n", name, len > 5000 ? kept + len - 5000 : kept);
    }
    free(kept);
    free(text);
}

/* A metric value from /metrics/snapshot, or NAN-like -1e300 when absent. */
static double metric(int port, const char *name)
{
    json_t *m = mc_get_json(port, "/metrics/snapshot");
    json_t *v = json_object_get(m, name);
    double d = v ? json_number_value(v) : -1e300;
    json_decref(m);
    return d;
}

static int registered_agents(int port)
{
    json_t *j = mc_get_json(port, "/master/slaves");
    int n = (int)json_array_size(json_object_get(j, "slaves"));
    json_decref(j);
    return n;
}

/* One offer as the test keeps it. */
typedef struct offer {
    char id[128], host[64];
    double cpus, mem;
} offer;

/* Collects the offers that arrive within window_s (stops early after the
 * first OFFERS event when first_only). Returns how many were stored. */
static int collect_offers(mc_scheduler *s, double window_s, int first_only, offer *out, int max)
{
    int n = 0;
    double deadline = tu_now() + window_s;
    while (tu_now() < deadline) {
        json_t *ev = mc_next_event(s, deadline - tu_now());
        if (!ev)
            break;
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (type && strcmp(type, "OFFERS") == 0) {
            json_t *offers = json_object_get(json_object_get(ev, "offers"), "offers");
            size_t i;
            json_t *o;
            json_array_foreach(offers, i, o)
            {
                if (n >= max)
                    break;
                offer *x = &out[n++];
                snprintf(x->id, sizeof x->id, "%s",
                         json_string_value(json_object_get(json_object_get(o, "id"), "value")));
                snprintf(x->host, sizeof x->host, "%s",
                         json_string_value(json_object_get(o, "hostname")));
                x->cpus = mc_scalar(json_object_get(o, "resources"), "cpus");
                x->mem = mc_scalar(json_object_get(o, "resources"), "mem");
                printf("       offer to %.12s...: %s cpus %g mem %g\n", s->framework_id + 37,
                       x->host, x->cpus, x->mem);
            }
            json_decref(ev);
            if (first_only)
                break;
            continue;
        }
        json_decref(ev);
    }
    return n;
}

static double sum_on(const offer *o, int n, const char *host, char what)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(o[i].host, host) == 0)
            sum += what == 'c' ? o[i].cpus : o[i].mem;
    return sum;
}

static int count_on(const offer *o, int n, const char *host)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += strcmp(o[i].host, host) == 0;
    return c;
}

static int count_off(const offer *o, int n, const char *host)
{
    return n - count_on(o, n, host);
}

/* Declines offers on `host` with refuse_on seconds, the others with
 * refuse_off; a negative time keeps those offers. */
static void decline_where(mc_scheduler *s, const offer *o, int n, const char *host,
                          double refuse_on, double refuse_off)
{
    for (int pass = 0; pass < 2; pass++) {
        json_t *ids = json_array();
        for (int i = 0; i < n; i++)
            if ((strcmp(o[i].host, host) == 0) == (pass == 0))
                json_array_append_new(ids, json_pack("{s:s}", "value", o[i].id));
        if (json_array_size(ids) == 0 || (pass == 0 ? refuse_on : refuse_off) < 0) {
            json_decref(ids);
            continue;
        }
        size_t count = json_array_size(ids);
        json_t *call = json_pack("{s:s,s:{s:o,s:{s:f}}}", "type", "DECLINE", "decline",
                                 "offer_ids", ids, "filters", "refuse_seconds",
                                 pass == 0 ? refuse_on : refuse_off);
        if (mc_call(s, call) != 202)
            check(0, "DECLINE of %zu offer(s) accepted by the master", count);
    }
}

static pid_t spawn_agent(const char *root, int master_port, char name, const char *resources,
                         const char *log)
{
    char cmd[2048], res[256];
    if (!resources) {
        snprintf(res, sizeof res, "cpus:%g;mem:%g;disk:10000", AGENT_CPUS, AGENT_MEM);
        resources = res;
    }
    int port = tu_free_port();
    /* Mesos 1.12 refuses to start beside a cgroup v2 mount at
     * /sys/fs/cgroup/unified: each agent gets a mount namespace without it. */
    snprintf(cmd, sizeof cmd,
             "umount /sys/fs/cgroup/unified 2>/dev/null; exec %s/sbin/mesos-agent "
             "--master=127.0.0.1:%d --ip=127.0.0.1 --port=%d --hostname=node-%c "
             "--no-hostname_lookup --work_dir=%s/agent-%c --launcher=posix "
             "--isolation=posix/cpu,posix/mem --no-systemd_enable_support "
             "--launcher_dir=%s/libexec/mesos --resources='%s'",
             root, master_port, port, name, dir, name, root, resources);
    char *argv[] = {"/usr/bin/unshare", "-m", "/bin/sh", "-c", cmd, NULL};
    return tu_spawn(argv, log);
}

static int wait_until(int (*cond)(int), int arg, double timeout_s)
{
    double deadline = tu_now() + timeout_s;
    while (tu_now() < deadline) {
        if (cond(arg))
            return 1;
        tu_sleep(0.1);
    }
    return 0;
}

static int three_agents(int port) { return registered_agents(port) == 3; }

static int four_agents(int port) { return registered_agents(port) == 4; }

static int five_agents(int port) { return registered_agents(port) == 5; }

/* Whether the master lists all of node-d's extra0..extra13 as offered or
 * used (those beyond the plugin's 16 names too). */
static int node_d_offered(int port)
{
    json_t *j = mc_get_json(port, "/master/slaves");
    size_t i;
    json_t *s;
    int seen = 0;
    json_array_foreach(json_object_get(j, "slaves"), i, s)
    {
        const char *host = json_string_value(json_object_get(s, "hostname"));
        if (!host || strcmp(host, "node-d") != 0)
            continue;
        json_t *offered = json_object_get(s, "offered_resources");
        json_t *used = json_object_get(s, "used_resources");
        seen = 1;
        for (int k = 0; k < 14; k++) {
            char name[16];
            snprintf(name, sizeof name, "extra%d", k);
            json_t *o = offered ? json_object_get(offered, name) : NULL;
            json_t *u = used ? json_object_get(used, name) : NULL;
            seen &= (o && json_number_value(o) == 1) || (u && json_number_value(u) == 1);
        }
    }
    json_decref(j);
    return seen && metric(port, "allocator/mesos/resources/extra13/total") == 1;
}

/* Whether the master lists the framework as inactive (its scheduler gone). */
static const char *g_inactive_id;
static int framework_inactive(int port)
{
    json_t *j = mc_get_json(port, "/master/frameworks");
    size_t i;
    json_t *f;
    int inactive = 0;
    json_array_foreach(json_object_get(j, "frameworks"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "id")), g_inactive_id) == 0)
            inactive = json_is_false(json_object_get(f, "active"));
    }
    json_decref(j);
    return inactive;
}

static int hints_opened(int port) { return metric(port, "allocator/locus/hint_age_secs") >= 0; }

/* Offers arriving within window_s, by the role they are allocated to: the
 * number in role `role` (NULL: any), their ids, hostnames and roles appended
 * to ids, hosts and roles (each if not NULL). */
static int offers_in_role(mc_scheduler *s, double window_s, const char *role, json_t *ids,
                          json_t *hosts, json_t *roles)
{
    int n = 0;
    double deadline = tu_now() + window_s;
    while (tu_now() < deadline) {
        json_t *ev = mc_next_event(s, deadline - tu_now());
        if (!ev)
            break;
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (type && strcmp(type, "OFFERS") == 0) {
            size_t i;
            json_t *o;
            json_array_foreach(json_object_get(json_object_get(ev, "offers"), "offers"), i, o)
            {
                const char *r = json_string_value(
                    json_object_get(json_object_get(o, "allocation_info"), "role"));
                if (r && (!role || strcmp(r, role) == 0)) {
                    n++;
                    if (ids)
                        json_array_append(ids, json_object_get(o, "id"));
                    if (hosts)
                        json_array_append(hosts, json_object_get(o, "hostname"));
                    if (roles)
                        json_array_append_new(roles, json_string(r));
                }
            }
        }
        json_decref(ev);
    }
    return n;
}

/* Declines every offer the master lists as outstanding for s, with refuse_s;
 * returns how many. */
static size_t decline_outstanding(mc_scheduler *s, int port, double refuse_s)
{
    json_t *ids = json_array();
    json_t *fw = mc_get_json(port, "/master/frameworks");
    size_t i, j;
    json_t *f, *o;
    json_array_foreach(json_object_get(fw, "frameworks"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "id")), s->framework_id) != 0)
            continue;
        json_array_foreach(json_object_get(f, "offers"), j, o)
        {
            json_array_append_new(ids, json_pack("{s:s}", "value",
                                                 json_string_value(json_object_get(o, "id"))));
        }
    }
    json_decref(fw);
    size_t n = json_array_size(ids);
    if (n == 0) {
        json_decref(ids);
        return 0;
    }
    json_t *call = json_pack("{s:s,s:{s:o,s:{s:f}}}", "type", "DECLINE", "decline", "offer_ids",
                             ids, "filters", "refuse_seconds", refuse_s);
    return mc_call(s, call) == 202 ? n : 0;
}
#endif

int main(void)
{
    const char *root = LOCUS_MESOS_ROOT;
    char master_bin[512];
    snprintf(master_bin, sizeof master_bin, "%s/sbin/mesos-master", root);
    if (access(master_bin, X_OK) != 0) {
        printf("SKIP: %s not found (Mesos prefix %s is gone)\n", master_bin, root);
        return SKIP_CODE;
    }
    if (tu_mkdtemp(dir, sizeof dir, "mesos-e2e") != 0)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char path[600], text[4096];
    pid_t master = -1, probe = -1, agents[3] = {-1, -1, -1}, agent_d = -1, agent_e = -1;
    mc_scheduler blockers[5] = {{.fd = -1}, {.fd = -1}, {.fd = -1}, {.fd = -1}, {.fd = -1}};
    mc_scheduler ops = {.fd = -1}, late = {.fd = -1}, quota = {.fd = -1}, multi = {.fd = -1};
    mc_scheduler reader = {.fd = -1}, other = {.fd = -1};
    double t0 = tu_now();

    /* ds1: four 128 MiB blocks, all in memory on node-b. */
    snprintf(path, sizeof path, "%s/placement.jsonl", dir);
    text[0] = '\0';
    for (int i = 0; i < DS1_BLOCKS; i++) {
        char line[256];
        snprintf(line, sizeof line,
                 "{\"dataset\":\"ds1\",\"index\":%d,\"bytes\":134217728,"
                 "\"replicas\":[{\"host\":\"node-b\",\"tier\":\"MEM\"}]}\n", i);
        strcat(text, line);
    }
    tu_write_file(path, text);

    int port = tu_free_port();
    snprintf(path, sizeof path, "%s/modules.json", dir);
    snprintf(text, sizeof text,
             "{\"libraries\":[{\"file\":\"%s\",\"modules\":[{\"name\":\"org_locus_LocusAllocator\","
             "\"parameters\":[{\"key\":\"plugin\",\"value\":\"%s\"},"
             "{\"key\":\"policy.name\",\"value\":\"locality\"},"
             "{\"key\":\"hints.path\",\"value\":\"%s/hints\"},"
             "{\"key\":\"hints.staleness\",\"value\":\"3\"}]}]}]}",
             LOCUS_MESOS_MODULE, LOCUS_PLUGIN, dir);
    tu_write_file(path, text);

    char a_port[32], a_work[600], a_mod[700], log[600];
    snprintf(a_port, sizeof a_port, "--port=%d", port);
    snprintf(a_work, sizeof a_work, "--work_dir=%s/master", dir);
    snprintf(a_mod, sizeof a_mod, "--modules=file://%s", path);
    snprintf(log, sizeof log, "%s/master.log", dir);
    char *margv[] = {master_bin, "--ip=127.0.0.1", a_port, a_work, a_mod,
                     "--allocator=org_locus_LocusAllocator", "--allocation_interval=250ms",
                     "--registry=in_memory", "--hostname=127.0.0.1", NULL};
    master = tu_spawn(margv, log);
    double up = tu_now() + 15;
    while (tu_now() < up && metric(port, "allocator/locus/cycles") < 0)
        tu_sleep(0.1);
    check(metric(port, "allocator/locus/cycles") >= 0,
          "mesos-master loaded the Locus module and runs its allocation cycles");
    if (failures)
        goto done;

    for (int i = 0; i < 3; i++) {
        snprintf(log, sizeof log, "%s/agent-%c.log", dir, 'a' + i);
        agents[i] = spawn_agent(root, port, (char)('a' + i), NULL, log);
    }
    check(wait_until(three_agents, port, 30), "three agents registered (node-a, node-b, node-c)");
    if (failures)
        goto done;

    /* The store is created after the master started: the plugin opens it as
     * soon as it appears, not at its next retry. */
    char a_store[600], a_static[600];
    snprintf(a_store, sizeof a_store, "probe.store_path=%s/hints", dir);
    snprintf(a_static, sizeof a_static, "static.path=%s/placement.jsonl", dir);
    snprintf(log, sizeof log, "%s/probe.log", dir);
    char *pargv[] = {LOCUS_PROBE_BIN, "--foreground", "--set", a_store, "--set",
                     "probe.http_port=0", "--set", "static.enabled=true", "--set", a_static,
                     "--set", "static.poll_interval=0.5", NULL};
    double probe_start = tu_now();
    probe = tu_spawn(pargv, log);
    int opened = wait_until(hints_opened, port, 15);
    double open_s = tu_now() - probe_start;
    /* The retry timer (hints.retry_interval, 5 s) would take up to 5 s. */
    check(opened && open_s < 1.5,
          "the allocator read the hint store %.1f s after locus-probe started (want < 1.5 s)",
          open_s);
    if (!opened)
        goto done;

    /* The reader subscribes suppressed, tells one task's size and its data,
     * then revives: its first offer is already sized to its work. */
    char err[512];
    json_t *info = json_pack("{s:s,s:s,s:[s],s:[{s:s}],s:{s:[{s:s,s:s}]}}", "user", "root", "name",
                             "reader", "roles", "*", "capabilities", "type", "MULTI_ROLE",
                             "labels", "labels", "key", "locus.datasets", "value", "ds1");
    /* A failover timeout keeps the framework (inactive) when its stream drops. */
    json_object_set_new(info, "failover_timeout", json_real(60));
    if (mc_subscribe(&reader, port, info, "*", err, sizeof err) != 0) {
        check(0, "reader subscribes: %s", err);
        goto done;
    }
    json_t *request = json_pack(
        "{s:s,s:{s:[{s:[{s:s,s:s,s:{s:f},s:s},{s:s,s:s,s:{s:f},s:s},{s:s,s:s,s:{s:[s]}}]}]}}",
        "type", "REQUEST", "request", "requests", "resources", "name", "cpus", "type", "SCALAR",
        "scalar", "value", TASK_CPUS, "role", "*", "name", "mem", "type", "SCALAR", "scalar",
        "value", TASK_MEM, "role", "*", "name", "locus.datasets", "type", "SET", "set", "item",
        "ds1");
    check(mc_call(&reader, request) == 202, "REQUEST with one task's size and ds1 accepted");
    tu_sleep(0.3);
    check(mc_call(&reader, json_pack("{s:s}", "type", "REVIVE")) == 202, "REVIVE accepted");

    /* The first offer event after the revive: node-b only, the slice. */
    offer first[16], more[64], fb[64];
    int n = collect_offers(&reader, 5, 1, first, 16);
    double cpus = sum_on(first, n, "node-b", 'c'), mem = sum_on(first, n, "node-b", 'm');
    check(n > 0 && count_off(first, n, "node-b") == 0,
          "the framework reading ds1 is offered node-b only (%d offer(s))", n);
    check(cpus == DS1_BLOCKS * TASK_CPUS && mem == DS1_BLOCKS * TASK_MEM,
          "its offer is the slice for its %d local tasks: cpus %g (want %g), mem %g (want %g)",
          DS1_BLOCKS, cpus, DS1_BLOCKS * TASK_CPUS, mem, DS1_BLOCKS * TASK_MEM);

    /* Everything it holds is declined with a 2 s filter (other agents for
     * an hour): node-b is not offered again before 2 s, and is after. */
    int k = collect_offers(&reader, 1, 0, more, 64);
    double declined_at = tu_now();
    decline_where(&reader, first, n, "node-b", 2.0, 3600);
    decline_where(&reader, more, k, "node-b", 2.0, 3600);
    int early = 0, back = 0;
    double back_at = 0, cpus2 = 0;
    while (!back && tu_now() < declined_at + 8) {
        offer got[16];
        int g = collect_offers(&reader, 0.5, 1, got, 16);
        if (count_on(got, g, "node-b") > 0) {
            if (tu_now() < declined_at + 1.9)
                early++;
            back = 1;
            back_at = tu_now() - declined_at;
            cpus2 = sum_on(got, g, "node-b", 'c');
        }
        decline_where(&reader, got, g, "node-b", -1, 3600); /* other agents: not wanted */
        if (back)
            memcpy(more, got, sizeof got), k = g;
    }
    check(back && !early && cpus2 == cpus,
          "the declined slice comes back on node-b after the 2 s filter: %.1f s, cpus %g (want %g)",
          back_at, cpus2, cpus);

    /* A second framework without data gets node-b's rest and the other agents whole. */
    info = json_pack("{s:s,s:s,s:[s],s:[{s:s}]}", "user", "root", "name", "other", "roles", "*",
                     "capabilities", "type", "MULTI_ROLE");
    if (mc_subscribe(&other, port, info, NULL, err, sizeof err) != 0) {
        check(0, "second framework subscribes: %s", err);
        goto done;
    }
    /* Further slices of node-b the reader may be offered meanwhile are declined to the other. */
    offer rest[64];
    int r = 0;
    double until = tu_now() + 4;
    while (tu_now() < until) {
        offer got[16];
        int g = collect_offers(&reader, 0.2, 0, got, 16);
        decline_where(&reader, got, g, "", 3600, 3600);
        r += collect_offers(&other, 0.2, 0, rest + r, 64 - r);
    }
    double b_rest = sum_on(rest, r, "node-b", 'c');
    int whole = 0;
    for (int i = 0; i < r; i++)
        whole += strcmp(rest[i].host, "node-b") != 0 && rest[i].cpus == AGENT_CPUS;
    check(b_rest == AGENT_CPUS - cpus2,
          "the rest of node-b goes to the second framework: cpus %g (want %g)", b_rest,
          AGENT_CPUS - cpus2);
    check(whole == 2, "node-a and node-c go whole to the second framework (%d)", whole);

    /* A decline holds what was refused (Mesos's RefusedOfferFilter): the
     * reader declines its node-b slice for an hour and is not offered node-b
     * while only that slice is free; once the second framework hands back
     * its part of node-b, the reader is offered node-b again within seconds. */
    {
        decline_where(&reader, more, k, "node-b", 3600, 3600);
        offer got[16];
        int g = collect_offers(&reader, 1.5, 0, got, 16);
        int early = count_on(got, g, "node-b");
        decline_where(&reader, got, g, "", 3600, 3600);
        double handed_back = tu_now();
        decline_where(&other, rest, r, "node-b", 0, -1);
        int back = 0;
        while (!back && tu_now() < handed_back + 6) {
            g = collect_offers(&reader, 0.5, 1, got, 16);
            back = count_on(got, g, "node-b") > 0;
            if (back) {
                memcpy(more, got, sizeof got);
                k = g;
            } else {
                decline_where(&reader, got, g, "", 3600, 3600);
            }
        }
        check(!early && back,
              "a slice declined for an hour stays filtered while node-b has no more free (%d "
              "offer(s)) and comes back %.1f s after the second framework frees its part",
              early, tu_now() - handed_back);
        /* What node-b has left goes to the second framework again. */
        r += collect_offers(&other, 1, 0, rest + r, 64 - r);
    }

    /* Both metric sets on the master's snapshot. */
    json_t *snap = mc_get_json(port, "/metrics/snapshot");
    const char *standard[] = {"allocator/mesos/allocation_runs", "allocator/mesos/allocation_run_ms",
                              "allocator/mesos/event_queue_dispatches",
                              "allocator/mesos/resources/cpus/total",
                              "allocator/mesos/resources/cpus/offered_or_allocated",
                              "allocator/mesos/roles/*/shares/dominant"};
    const char *own[] = {"allocator/locus/cycles", "allocator/locus/offers_node_local",
                         "allocator/locus/fallback_cycles", "allocator/locus/hint_age_secs"};
    for (size_t i = 0; i < sizeof standard / sizeof *standard; i++)
        check(json_object_get(snap, standard[i]) != NULL, "/metrics/snapshot has %s = %g",
              standard[i], json_number_value(json_object_get(snap, standard[i])));
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        check(json_object_get(snap, own[i]) != NULL, "/metrics/snapshot has %s = %g", own[i],
              json_number_value(json_object_get(snap, own[i])));
    check(json_number_value(json_object_get(snap, "allocator/mesos/resources/cpus/total")) ==
              3 * AGENT_CPUS,
          "allocator/mesos/resources/cpus/total is the three agents' cpus");
    double local = json_number_value(json_object_get(snap, "allocator/locus/offers_node_local"));
    check(local >= 2, "allocator/locus/offers_node_local counts both node-b slices (%g)", local);
    json_decref(snap);

    /* Probe killed: once the hints are older than hints.staleness (3 s) the
     * cycles run as DRF, which ignores task sizes: node-b comes whole. The
     * other framework declines what it holds and suppresses: a decline
     * alone holds only while node-b has no more free than it refused, and
     * the reader's own declines free more (Mesos's RefusedOfferFilter). */
    kill(probe, SIGKILL);
    tu_wait(probe, 5);
    probe = -1;
    double killed = tu_now(), fallback0 = metric(port, "allocator/locus/fallback_cycles");
    decline_where(&other, rest, r, "", 3600, 3600);
    check(mc_call(&other, json_pack("{s:s}", "type", "SUPPRESS")) == 202,
          "the other framework suppresses its offers");
    decline_where(&reader, more, k, "", 0.1, 0.1);
    check(mc_call(&reader, json_pack("{s:s}", "type", "REVIVE")) == 202, "reader revives");
    int whole_b = 0, g = 0;
    while (tu_now() < killed + 20 && !whole_b) {
        g = collect_offers(&reader, 0.5, 0, fb, 64);
        whole_b = sum_on(fb, g, "node-b", 'c') == AGENT_CPUS && metric(port,
                  "allocator/locus/fallback_cycles") > fallback0;
        if (!whole_b)
            decline_where(&reader, fb, g, "", 0.1, 0.1);
    }
    check(whole_b,
          "with the probe killed the cycles fall back to DRF after %.1f s and node-b is offered "
          "whole (cpus %g)", tu_now() - killed, AGENT_CPUS);

    /* Deactivation clears refuse filters, as in Mesos: everything the reader
     * declines for an hour comes back once its scheduler reconnects. */
    {
        offer held[64];
        int h = collect_offers(&reader, 1, 0, held, 64);
        decline_where(&reader, fb, g, "", 3600, 3600);
        decline_where(&reader, held, h, "", 3600, 3600);
    }
    {
        offer got[64];
        int g = collect_offers(&reader, 1.5, 0, got, 64);
        decline_where(&reader, got, g, "", 3600, 3600);
        int late = collect_offers(&reader, 1, 0, got, 64);
        check(late == 0, "after declining all for an hour the reader is offered nothing (%d)",
              late);
    }
    char reader_id[128];
    snprintf(reader_id, sizeof reader_id, "%s", reader.framework_id);
    mc_close(&reader);
    g_inactive_id = reader_id;
    check(wait_until(framework_inactive, port, 10), "the master deactivates the reader when its "
          "stream closes");
    info = json_pack("{s:{s:s},s:s,s:s,s:[s],s:[{s:s}],s:f}", "id", "value", reader_id, "user",
                     "root", "name", "reader", "roles", "*", "capabilities", "type", "MULTI_ROLE",
                     "failover_timeout", 60.0);
    if (mc_subscribe(&reader, port, info, NULL, err, sizeof err) != 0) {
        check(0, "reader resubscribes: %s", err);
        goto done;
    }
    {
        offer got[64];
        int g = collect_offers(&reader, 4, 0, got, 64);
        check(count_on(got, g, "node-b") > 0,
              "after reconnecting the reader is offered node-b again: its filters were cleared "
              "(%d offer(s))", g);
    }

    /* An agent with more distinct scalar resource names than the plugin
     * accounts (16) is registered and offered: the names beyond stay with
     * the module, which offers them with the agent (outside the shares). */
    {
        char res[512] = "cpus:1;mem:512;disk:100";
        for (int i = 0; i < 14; i++) {
            char one[32];
            snprintf(one, sizeof one, ";extra%d:1", i);
            strcat(res, one);
        }
        snprintf(log, sizeof log, "%s/agent-d.log", dir);
        agent_d = spawn_agent(root, port, 'd', res, log);
        check(wait_until(four_agents, port, 30), "node-d with 17 scalar resource names registers");
        check(wait_until(node_d_offered, port, 10),
              "node-d is offered with all its 17 resources (extra0..extra13, also the ones beyond "
              "the plugin's 16 names); allocator/mesos/resources/extra13/total = %g",
              metric(port, "allocator/mesos/resources/extra13/total"));
        check(metric(port, "allocator/locus/agents_refused") == 0,
              "allocator/locus/agents_refused stays 0");
    }

    /* A MULTI_ROLE framework may subscribe with no role at all; once it
     * takes one (UPDATE_FRAMEWORK) it is offered what the reader gives back. */
    {
        info = json_pack("{s:s,s:s,s:[],s:[{s:s}]}", "user", "root", "name", "late", "roles",
                         "capabilities", "type", "MULTI_ROLE");
        if (mc_subscribe(&late, port, info, NULL, err, sizeof err) != 0) {
            check(0, "framework without roles subscribes: %s", err);
            goto done;
        }
        json_t *upd = json_pack("{s:s,s:{s:{s:{s:s},s:s,s:s,s:[s],s:[{s:s}]}}}", "type",
                                "UPDATE_FRAMEWORK", "update_framework", "framework_info", "id",
                                "value", late.framework_id, "user", "root", "name", "late",
                                "roles", "late", "capabilities", "type", "MULTI_ROLE");
        int st = mc_call(&late, upd); /* answered 200 once applied */
        check(st == 200 || st == 202, "it takes role 'late' with UPDATE_FRAMEWORK (%d)", st);
        offer held[64], got[16];
        int h = collect_offers(&reader, 0.5, 0, held, 64);
        decline_where(&reader, held, h, "", 3600, 3600);
        /* the offers it holds since it reconnected, as the master lists them */
        size_t n_ids = decline_outstanding(&reader, port, 3600);
        check(n_ids > 0, "the reader declines its %zu outstanding offers for an hour", n_ids);
        int g = collect_offers(&late, 5, 1, got, 16);
        check(g > 0, "the framework that subscribed without roles is offered %s once it has one",
              g > 0 ? got[0].host : "nothing");
    }

    /* Five frameworks that cannot use an agent, ahead in DRF order (share 0,
     * roles a1..a5 sort before ops), do not starve the one that can: node-e
     * is wholly reserved for role ops and the ops framework gets it within
     * one run of its arrival (one plugin round per framework role). The
     * other agents are held by the reader, so the five hold nothing. */
    {
        snprintf(log, sizeof log, "%s/agent-e.log", dir);
        agent_e = spawn_agent(root, port, 'e',
                              "cpus(ops):2;mem(ops):1024;disk(ops):100;ports(ops):[31000-31010]",
                              log);
        check(wait_until(five_agents, port, 30), "node-e, reserved for role ops, registers");
        double unusable0 = metric(port, "allocator/locus/core_offers_unusable");
        for (int i = 0; i < 5; i++) {
            char role[8];
            snprintf(role, sizeof role, "a%d", i + 1);
            info = json_pack("{s:s,s:s,s:[s],s:[{s:s}]}", "user", "root", "name", role, "roles",
                             role, "capabilities", "type", "MULTI_ROLE");
            if (mc_subscribe(&blockers[i], port, info, NULL, err, sizeof err) != 0)
                check(0, "framework in role %s subscribes: %s", role, err);
        }
        tu_sleep(0.5);
        info = json_pack("{s:s,s:s,s:[s],s:[{s:s}]}", "user", "root", "name", "ops", "roles", "ops",
                         "capabilities", "type", "MULTI_ROLE");
        if (mc_subscribe(&ops, port, info, NULL, err, sizeof err) != 0) {
            check(0, "framework in role ops subscribes: %s", err);
            goto done;
        }
        offer got[16];
        double t_ops = tu_now();
        int g = collect_offers(&ops, 5, 1, got, 16);
        check(count_on(got, g, "node-e") == 1,
              "the ops framework is offered node-e %.1f s after subscribing, behind five "
              "frameworks that cannot use it", tu_now() - t_ops);
        double unusable = metric(port, "allocator/locus/core_offers_unusable") - unusable0;
        check(unusable >= 5, "the plugin did pick node-e for the five first: %g unusable picks "
              "handed back", unusable);
        int stray = 0;
        for (int i = 0; i < 5; i++)
            stray += collect_offers(&blockers[i], 0.1, 0, got, 16);
        check(stray == 0, "the five frameworks in roles a1..a5 are offered nothing (%d)", stray);
    }

    /* Quota as Mesos 1.12 sets it (UPDATE_QUOTA, quota_configs) on a parent
     * role: a limit of 1 cpu and 2048 MB on q holds for a framework in q/sub,
     * which is offered no more of the free agents than that. */
    {
        json_t *q = json_pack("{s:s,s:{s:b,s:[{s:s,s:{s:{s:f},s:{s:f}}}]}}", "type",
                              "UPDATE_QUOTA", "update_quota", "force", 1, "quota_configs", "role",
                              "q", "limits", "cpus", "value", 1.0, "mem", "value", 2048.0);
        check(mc_operator(port, q) == 200, "UPDATE_QUOTA limits role q to 1 cpu and 2048 MB");
        /* The framework in q/sub subscribes before anything is free: were
         * it to arrive after the agents the framework in role late gives
         * back, an allocation cycle in between would offer them to the
         * frameworks in a1..a5, which hold them. */
        info = json_pack("{s:s,s:s,s:[s],s:[{s:s}]}", "user", "root", "name", "quota", "roles",
                         "q/sub", "capabilities", "type", "MULTI_ROLE");
        if (mc_subscribe(&quota, port, info, NULL, err, sizeof err) != 0) {
            check(0, "framework in role q/sub subscribes: %s", err);
            goto done;
        }
        /* What the framework in role late holds becomes free. */
        tu_sleep(0.3);
        size_t freed = decline_outstanding(&late, port, 3600);
        check(freed > 0, "the framework in role late declines its %zu offers for an hour", freed);
        offer got[32];
        int g = collect_offers(&quota, 3, 0, got, 32);
        double qc = 0, qm = 0;
        for (int i = 0; i < g; i++)
            qc += got[i].cpus, qm += got[i].mem;
        /* Which agents are free here depends on earlier declines: a small
         * agent (node-d, 1 cpu) may come first and take the whole cpu limit. */
        check(g > 0 && qc == 1 && qm > 0 && qm <= 2048,
              "the framework in q/sub is offered the cpu limit of q and no more than its mem "
              "limit: cpus %g (want 1), mem %g (want <= 2048)", qc, qm);
        double lim = metric(port, "allocator/mesos/quota/roles/q/resources/cpus/limit");
        check(lim == 1, "allocator/mesos/quota/roles/q/resources/cpus/limit = %g", lim);
        double filters = metric(port, "allocator/mesos/offer_filters/roles/*/active");
        check(filters >= 1,
              "allocator/mesos/offer_filters/roles/*/active counts the reader's declines (%g)",
              filters);
    }

    /* A framework in two roles declines everything it is offered in one of
     * them (the role of its first offer) for an hour: that filters that role
     * only, so the same agents come back in the other. The frameworks in
     * a1..a5, late, ops and q/sub leave (they would take what it declines
     * first); the reader and the other framework in * have declined every
     * agent for an hour. */
    {
        mc_close(&quota);
        mc_close(&late);
        mc_close(&ops);
        for (int i = 0; i < 5; i++)
            mc_close(&blockers[i]);
        tu_sleep(1.0);
        info = json_pack("{s:s,s:s,s:[s,s],s:[{s:s}]}", "user", "root", "name", "multi", "roles",
                         "m1", "m2", "capabilities", "type", "MULTI_ROLE");
        if (mc_subscribe(&multi, port, info, NULL, err, sizeof err) != 0) {
            check(0, "framework in roles m1 and m2 subscribes: %s", err);
            goto done;
        }
        json_t *ids = json_array(), *hosts = json_array(), *roles = json_array();
        offers_in_role(&multi, 2, NULL, ids, hosts, roles);
        const char *r1 = json_string_value(json_array_get(roles, 0));
        char first[8] = "m1", second[8] = "m2";
        if (r1 && strcmp(r1, "m2") == 0)
            snprintf(first, sizeof first, "m2"), snprintf(second, sizeof second, "m1");
        json_t *decline = json_array(), *declined = json_array(), *back = json_array();
        size_t i, j;
        json_t *x;
        json_array_foreach(roles, i, x)
        {
            if (strcmp(json_string_value(x), first) == 0) {
                json_array_append(decline, json_array_get(ids, i));
                json_array_append(declined, json_array_get(hosts, i));
            }
        }
        size_t n_ids = json_array_size(decline);
        json_t *call = json_pack("{s:s,s:{s:o,s:{s:f}}}", "type", "DECLINE", "decline",
                                 "offer_ids", decline, "filters", "refuse_seconds", 3600.0);
        check(n_ids > 0 && mc_call(&multi, call) == 202,
              "the framework in roles m1, m2 declines its %zu offer(s) in %s for an hour", n_ids,
              first);
        offers_in_role(&multi, 3, second, NULL, back, NULL);
        size_t again = 0;
        json_array_foreach(declined, i, x)
        {
            json_t *b;
            json_array_foreach(back, j, b)
            {
                if (json_equal(x, b)) {
                    again++;
                    break;
                }
            }
        }
        check(n_ids > 0 && again == n_ids,
              "the %zu agent(s) declined in %s come back to it in role %s (%zu)", n_ids, first,
              second, again);
        char m_first[96], m_second[96];
        snprintf(m_first, sizeof m_first, "allocator/mesos/offer_filters/roles/%s/active", first);
        snprintf(m_second, sizeof m_second, "allocator/mesos/offer_filters/roles/%s/active",
                 second);
        double f1 = metric(port, m_first), f2 = metric(port, m_second);
        check(f1 == (double)n_ids && f2 == 0,
              "offer_filters/roles/%s/active = %g (want %zu), %s = %g (want 0)", first, f1, n_ids,
              second, f2);
        json_decref(ids);
        json_decref(hosts);
        json_decref(roles);
        json_decref(declined);
        json_decref(back);
    }

done:
    if (failures) {
        dump_log("master.log");
        dump_log("probe.log");
        dump_log("agent-a.log");
    }
    mc_close(&reader);
    mc_close(&other);
    mc_close(&ops);
    mc_close(&late);
    mc_close(&quota);
    mc_close(&multi);
    for (int i = 0; i < 5; i++)
        mc_close(&blockers[i]);
    if (agent_e > 0)
        kill(agent_e, SIGKILL);
    if (probe > 0)
        kill(probe, SIGKILL);
    for (int i = 0; i < 3; i++)
        if (agents[i] > 0)
            kill(agents[i], SIGKILL);
    if (agent_d > 0)
        kill(agent_d, SIGKILL);
    if (master > 0)
        kill(master, SIGKILL);
    if (probe > 0)
        tu_wait(probe, 5);
    for (int i = 0; i < 3; i++)
        if (agents[i] > 0)
            tu_wait(agents[i], 5);
    if (agent_d > 0)
        tu_wait(agent_d, 5);
    if (agent_e > 0)
        tu_wait(agent_e, 5);
    if (master > 0)
        tu_wait(master, 5);
    tu_rm_r(dir);
    printf("%s: %d failure(s), %.1f s\n", failures ? "FAILED" : "PASSED", failures, tu_now() - t0);
    return failures ? 1 : 0;
}
#endif /* LOCUS_MESOS_ROOT */
