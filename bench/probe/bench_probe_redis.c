/* Redis backend benchmark: a local 3-master 3-replica Redis Cluster holding
 * DATASETS x KEYS hash-tagged keys (default 1,000 x 1,000 = 1,000,000).
 *
 *   1. baseline: one thread, one master after the other, SCAN COUNT 1000 then
 *      the batch's MEMORY USAGE commands pipelined and read back -- the
 *      straightforward pass a script would do;
 *   2. the backend's full poll (all masters at once on one libevent loop,
 *      SCAN and MEMORY USAGE streamed), measured in the same run on the same
 *      data; the ratio of the two is the figure (target >= 2);
 *   3. the real locus-probe daemon: time from a write in Redis to the new
 *      dataset in the hint store, and from killing a master to its datasets'
 *      hints naming the promoted replica.
 *
 * usage: locus-bench-probe-redis [DATASETS [KEYS_PER_DATASET [POLL_INTERVAL_S [PIPELINE
 *        [SCAN_COUNT]]]]] (the last two are the backend's redis.pipeline and
 *        redis.scan_count; default: the backend's defaults) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "backend_redis.h"
#include "backend_redis_slot.h"
#include "locus/hintstore.h"
#include "probe_sink.h"
#include "testutil.h"
#include "redis_cluster_fixture.h"
#include "redis_poll_harness.h"

#define RUNS 5

static rcf_cluster C;
static char dir[64];
static pid_t probe = -1;

static void cleanup(void)
{
    if (probe > 0) {
        kill(probe, SIGKILL);
        waitpid(probe, NULL, 0);
        probe = -1;
    }
    rcf_stop(&C);
    if (dir[0])
        tu_rm_r(dir);
    dir[0] = '\0';
}

static void on_signal(int sig)
{
    cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Sequential pipelined SCAN + MEMORY USAGE over every master; returns keys
 * measured and adds their bytes to *bytes. */
static long baseline_pass(uint64_t *bytes)
{
    long keys = 0;
    for (int i = 0; i < C.n; i++) {
        if (rcf_master_of(&C, i) >= 0)
            continue; /* replicas */
        redisContext *rc = rcf_connect(&C, i);
        if (!rc)
            return -1;
        char cursor[32] = "0";
        do {
            redisReply *r = redisCommand(rc, "SCAN %s COUNT 1000 MATCH {*}*", cursor);
            if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
                if (r)
                    freeReplyObject(r);
                redisFree(rc);
                return -1;
            }
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            redisReply *k = r->element[1];
            for (size_t j = 0; j < k->elements; j++)
                redisAppendCommand(rc, "MEMORY USAGE %b", k->element[j]->str,
                                   (size_t)k->element[j]->len);
            for (size_t j = 0; j < k->elements; j++) {
                redisReply *m = NULL;
                if (redisGetReply(rc, (void **)&m) != REDIS_OK)
                    return -1;
                if (m->type == REDIS_REPLY_INTEGER)
                    *bytes += (uint64_t)m->integer;
                freeReplyObject(m);
            }
            keys += (long)k->elements;
            freeReplyObject(r);
        } while (strcmp(cursor, "0") != 0);
        redisFree(rc);
    }
    return keys;
}

static int store_host(const char *store, const char *dataset, char *host, size_t cap)
{
    locus_hs *hs = NULL;
    locus_hs_options o = {.read_only = 1};
    if (locus_hs_open(store, &o, &hs, NULL, 0))
        return 0;
    locus_hs_snapshot *s = NULL;
    const locus_hs_dataset *d = NULL;
    int found = 0;
    if (locus_hs_snapshot_open(hs, &s) == 0 && locus_hs_snapshot_dataset(s, dataset, &d) == 0) {
        found = 1;
        snprintf(host, cap, "%s", d->n_placement ? d->placement[0].host : "");
    }
    locus_hs_snapshot_close(s);
    locus_hs_close(hs);
    return found;
}

/* CPU seconds used so far by this process and by the live redis-servers. */
static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double cpu_servers(void)
{
    double sum = 0;
    long hz = sysconf(_SC_CLK_TCK);
    for (int i = 0; i < C.n; i++) {
        if (C.nodes[i].pid <= 0)
            continue;
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)C.nodes[i].pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')'); /* fields after the command name */
        unsigned long ut = 0, st = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            sum += (double)(ut + st) / (double)hz;
    }
    return sum;
}

static double loadavg(void)
{
    double l = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = 0;
        fclose(f);
    }
    return l;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int datasets = argc > 1 ? atoi(argv[1]) : 1000;
    int per = argc > 2 ? atoi(argv[2]) : 1000;
    double interval = argc > 3 ? atof(argv[3]) : 1.0;
    long total = (long)datasets * per;
    char err[512];
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    printf("probe-redis benchmark: %ld keys in %d datasets, 3 masters + 3 replicas on loopback\n",
           total, datasets);
    if (rcf_start(&C, 3, 1, err, sizeof err)) {
        fprintf(stderr, "cluster: %s\n", err);
        return 1;
    }
    double t0 = tu_now();
    if (rcf_load(&C, "ds", datasets, per, 32)) {
        fprintf(stderr, "load failed\n");
        return 1;
    }
    printf("loaded in %.2f s (pipelined SET to each key's master)\n", tu_now() - t0);

    /* 1 + 2: baseline and concurrent poll, alternated so both see the same load */
    char seeds[64];
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d", C.nodes[0].port);
    locus_cfg_override ov[4] = {{"redis.seeds", seeds}, {"redis.poll_timeout", "600"}};
    size_t n_ov = 2;
    if (argc > 4)
        ov[n_ov++] = (locus_cfg_override){"redis.pipeline", argv[4]};
    if (argc > 5)
        ov[n_ov++] = (locus_cfg_override){"redis.scan_count", argv[5]};
    rph h;
    if (rph_open(&h, ov, n_ov, err, sizeof err)) {
        fprintf(stderr, "backend: %s\n", err);
        return 1;
    }
    probe_sink *sink = probe_sink_new();
    double base_rate[RUNS], poll_rate[RUNS];
    uint64_t base_bytes = 0;
    double cpu[2][2] = {{0}}; /* [baseline|poll][client|servers] */
    double wall[2] = {0};
    for (int run = 0; run < RUNS; run++) {
        uint64_t bytes = 0;
        double c0 = cpu_self(), s0 = cpu_servers();
        double s = tu_now();
        long keys = baseline_pass(&bytes);
        double e = tu_now() - s;
        wall[0] += e;
        cpu[0][0] += cpu_self() - c0;
        cpu[0][1] += cpu_servers() - s0;
        if (keys != total) {
            fprintf(stderr, "baseline saw %ld keys, expected %ld\n", keys, total);
            return 1;
        }
        base_bytes = bytes;
        base_rate[run] = (double)keys / e;
        rph_result res;
        c0 = cpu_self();
        s0 = cpu_servers();
        int prc = rph_poll(&h, sink, &res, 600);
        cpu[1][0] += cpu_self() - c0;
        cpu[1][1] += cpu_servers() - s0;
        if (prc || res.status) {
            fprintf(stderr, "poll: %s\n", res.msg);
            return 1;
        }
        probe_redis_stats st;
        probe_redis_get_stats(h.state, &st);
        if ((long)st.last_keys_scanned != total || (long)probe_sink_blocks(sink) != datasets) {
            fprintf(stderr, "poll saw %llu keys / %zu blocks\n",
                    (unsigned long long)st.last_keys_scanned, probe_sink_blocks(sink));
            return 1;
        }
        poll_rate[run] = (double)total / res.seconds;
        wall[1] += res.seconds;
        printf("run %d: baseline %.0f keys/s (%.2f s), concurrent poll %.0f keys/s (%.2f s)\n",
               run + 1, base_rate[run], e, poll_rate[run], res.seconds);
    }
    rph_close(&h);
    probe_sink_free(sink);
    double us = 1e6 / ((double)total * RUNS);
    printf("cpu per key: baseline client %.2f us + servers %.2f us; poll client %.2f us + "
           "servers %.2f us (load average %.2f on %ld cores)\n",
           cpu[0][0] * us, cpu[0][1] * us, cpu[1][0] * us, cpu[1][1] * us, loadavg(),
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("cores used (cpu / wall): baseline %.2f, poll %.2f\n",
           (cpu[0][0] + cpu[0][1]) / wall[0], (cpu[1][0] + cpu[1][1]) / wall[1]);
    qsort(base_rate, RUNS, sizeof(double), cmp_double);
    qsort(poll_rate, RUNS, sizeof(double), cmp_double);
    printf("RESULT baseline_keys_per_s=%.0f poll_keys_per_s=%.0f ratio=%.2f (median of %d; "
           "baseline bytes %llu)\n",
           base_rate[RUNS / 2], poll_rate[RUNS / 2], poll_rate[RUNS / 2] / base_rate[RUNS / 2],
           RUNS, (unsigned long long)base_bytes);

    /* 3: the daemon */
    strcpy(dir, "/tmp/locus-bench-redis-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    char store[128], conf[128], logf[128], text[1024];
    snprintf(store, sizeof store, "%s/hints", dir);
    snprintf(conf, sizeof conf, "%s/probe.conf", dir);
    snprintf(logf, sizeof logf, "%s/probe.log", dir);
    snprintf(text, sizeof text,
             "[probe]\nstore_path = %s\nmap_size = 256M\nno_sync = true\nhttp_port = 0\n"
             "backoff_max = %g\n[redis]\nenabled = true\nseeds = %s\npoll_interval = %g\n"
             "poll_jitter = 0\npoll_timeout = 120\nstaleness = 600\n",
             store, interval, seeds, interval);
    tu_write_file(conf, text);
    char *pargv[] = {LOCUS_PROBE_BIN, "--config", conf, "--foreground", NULL};
    probe = tu_spawn(pargv, logf);
    char host[64];
    double deadline = tu_now() + 120;
    while (!store_host(store, "ds00000", host, sizeof host) && tu_now() < deadline)
        tu_sleep(0.05);
    if (tu_now() >= deadline) {
        fprintf(stderr, "the probe wrote no hints (see %s)\n", logf);
        return 1;
    }
    double lat[5];
    for (int i = 0; i < 5; i++) {
        char name[32], key[48];
        snprintf(name, sizeof name, "change%d", i);
        snprintf(key, sizeof key, "{%s}:0", name);
        int m = rcf_slot_master(&C, probe_redis_key_slot(name, strlen(name)));
        redisContext *rc = rcf_connect(&C, m);
        tu_sleep(0.37 * interval * (i + 1)); /* spread the writes over the poll phase */
        double s = tu_now();
        freeReplyObject(redisCommand(rc, "SET %s v", key));
        redisFree(rc);
        while (!store_host(store, name, host, sizeof host) && tu_now() < s + 120)
            tu_sleep(0.01);
        lat[i] = tu_now() - s;
    }
    qsort(lat, 5, sizeof(double), cmp_double);
    printf("RESULT change_to_hint_s median=%.2f max=%.2f (poll_interval %.2f s, 5 changes)\n",
           lat[2], lat[4], interval);

    int victim = rcf_slot_master(&C, probe_redis_key_slot("ds00000", 7)), replica = -1;
    for (int i = 0; i < C.n; i++)
        if (rcf_master_of(&C, i) == victim)
            replica = i;
    if (replica < 0 || rcf_wait_healthy(&C, 60)) {
        fprintf(stderr, "no healthy replica to fail over to\n");
        return 1;
    }
    double killed = tu_now();
    rcf_kill(&C, victim);
    double promoted = 0, followed = 0;
    while (tu_now() < killed + 120 && !followed) {
        if (!promoted && rcf_slot_master(&C, probe_redis_key_slot("ds00000", 7)) == replica)
            promoted = tu_now() - killed;
        if (store_host(store, "ds00000", host, sizeof host) &&
            strcmp(host, C.nodes[replica].host) == 0)
            followed = tu_now() - killed;
        tu_sleep(0.02);
    }
    printf("RESULT failover kill_to_promoted_s=%.2f kill_to_hints_s=%.2f (node timeout 2 s, "
           "poll_interval %.2f s)\n",
           promoted, followed, interval);
    return followed > 0 ? 0 : 1;
}
