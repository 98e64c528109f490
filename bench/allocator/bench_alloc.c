/* locus-bench-alloc: Mesos's HierarchicalAllocator_BENCHMARK_Test
 * DeclineOffers scenario on the Locus policy core.
 *
 * Per grid point (agents x frameworks) and policy: add F frameworks (role
 * "*", each demanding 10 datasets), add N agents (cpus:24;mem:4096;disk:4096,
 * each with cpus:16;mem:2014;disk:1024 already used by framework i % F, as in
 * Mesos) and time that; then repeat: decline every outstanding offer with a
 * very long refuse filter, and time one allocate(). Mesos runs 2F rounds, after
 * which every agent is filtered for every framework; we do the same where
 * N x F <= 10^7 and cap the rounds elsewhere (--max-rounds). The locality
 * policy reads a real LMDB hint store of 100,000 datasets (2 blocks of 64 MB,
 * 2 replicas each on random agents) written once per agent count. Each
 * point runs in a forked child so its peak RSS is its own. Times are the
 * process's CPU time around each call (the core is single-threaded and never
 * sleeps, and CPU time is steady on a shared machine where wall time is not);
 * ratios locality/drf come from the same run, whose --repeat runs of each
 * point alternate the two policies (the fastest of each counts). --task-res
 * gives every framework task resources (cpus:1;mem:128), so the locality
 * policy offers slices sized to local tasks instead of whole agents (compare
 * with a run without it: the cost of slicing).
 *
 * --commit-between makes the hint store change during the rounds as it does
 * under a polling probe: a writer process (forked per point, as the probe is
 * its own process) commits a batch moving 1% of the blocks to other hosts
 * before every second round, and the rounds right after a commit are
 * reported apart from the rounds without one (mean CPU ms of each, and their
 * ratio). --bindings names the storage hosts store-N and binds each to agent
 * host-N, so every replica resolves through a host binding. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "la_core.h"
#include "locus/hintstore.h"

typedef struct result {
    double add_ms, first_ms, mean_ms, max_ms, steady_ms, rss_mb, anon_mb;
    double commit_ms, nocommit_ms; /* mean of rounds after a commit / without (--commit-between) */
    int rounds, steady_rounds, full, commit_rounds, nocommit_rounds;
    uint64_t offers, local, fallback;
} result;

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A /proc/self/status field in MB (VmHWM: peak resident; RssAnon: the
 * process's own heap, without file pages such as the hint store's map). */
static double status_mb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = atof(line + n + 1);
    if (f)
        fclose(f);
    return kb / 1024.0;
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int g_bindings, g_commit_between;

static void storage_host(char *buf, size_t n, int i)
{
    snprintf(buf, n, g_bindings ? "store-%d" : "host-%d", i);
}

/* Puts block blk of dataset d on two random hosts. */
static int put_random_block(locus_hs_batch *b, int d, uint64_t blk, int agents)
{
    char name[32], h[2][32];
    snprintf(name, sizeof name, "ds-%d", d);
    locus_hs_replica rep[2];
    int h0 = (int)(rnd() % (uint64_t)agents), h1 = (int)(rnd() % (uint64_t)agents);
    if (h1 == h0)
        h1 = (h0 + 1) % agents;
    storage_host(h[0], sizeof h[0], h0);
    storage_host(h[1], sizeof h[1], h1);
    rep[0] = (locus_hs_replica){h[0], (locus_tier)(1 + rnd() % 3)};
    rep[1] = (locus_hs_replica){h[1], (locus_tier)(1 + rnd() % 3)};
    locus_hs_block blkv = {name, blk, 64ULL << 20, rep, agents > 1 ? 2 : 1};
    return locus_hs_batch_put(b, &blkv);
}

static int write_store(const char *path, int agents, int datasets)
{
    locus_hs_options o = {0};
    o.create = 1;
    o.no_sync = 1;
    o.map_size = (size_t)2 << 30;
    locus_hs *hs = NULL;
    char err[256];
    int rc = locus_hs_open(path, &o, &hs, err, sizeof err);
    if (rc) {
        fprintf(stderr, "hint store %s: %s\n", path, err);
        return rc;
    }
    locus_hs_batch *b = NULL;
    for (int i = 0; g_bindings && i < agents && !rc; i++) {
        char sh[32], ah[32];
        if (!b && (rc = locus_hs_batch_begin(hs, "bench", 0, &b)))
            break;
        storage_host(sh, sizeof sh, i);
        snprintf(ah, sizeof ah, "host-%d", i);
        rc = locus_hs_batch_bind_host(b, sh, ah, NULL);
    }
    for (int d = 0; d < datasets && !rc; d++) {
        if (!b && (rc = locus_hs_batch_begin(hs, "bench", 0, &b)))
            break;
        for (uint64_t blk = 0; blk < 2 && !rc; blk++)
            rc = put_random_block(b, d, blk, agents);
        if (!rc && (d % 5000 == 4999 || d == datasets - 1)) {
            rc = locus_hs_batch_commit(b, 1000);
            b = NULL;
        }
    }
    if (b)
        locus_hs_batch_abort(b);
    if (rc)
        fprintf(stderr, "hint store %s: %s (%s)\n", path, locus_strerror(rc), locus_hs_errstr(hs));
    locus_hs_close(hs);
    return rc;
}

/* The writer process of --commit-between: each byte read on `go` asks for
 * one commit moving 1% of the blocks; a byte written on `done` answers. */
static void writer_loop(const char *store, int agents, int datasets, int go, int done)
{
    locus_hs_options o = {.no_sync = 1};
    locus_hs *hs = NULL;
    char err[256], c;
    if (locus_hs_open(store, &o, &hs, err, sizeof err)) {
        fprintf(stderr, "writer: %s\n", err);
        _exit(1);
    }
    int64_t now = 2000;
    int moves = datasets * 2 / 100 > 0 ? datasets * 2 / 100 : 1;
    while (read(go, &c, 1) == 1) {
        locus_hs_batch *b;
        int rc = locus_hs_batch_begin(hs, "bench", 0, &b);
        for (int i = 0; i < moves && !rc; i++)
            rc = put_random_block(b, (int)(rnd() % (uint64_t)datasets), rnd() % 2, agents);
        rc = rc ? (locus_hs_batch_abort(b), rc) : locus_hs_batch_commit(b, now++);
        if (rc) {
            fprintf(stderr, "writer: %s\n", locus_hs_errstr(hs));
            _exit(1);
        }
        if (write(done, "c", 1) != 1)
            _exit(1);
    }
    locus_hs_close(hs);
    _exit(0);
}

static locus_param g_extra[16];
static size_t g_n_extra;
static int g_task_res;

static int run_point(int locality, int agents, int fws, const char *store, int datasets,
                     int max_rounds, result *r)
{
    memset(r, 0, sizeof *r);
    r->anon_mb = status_mb("RssAnon"); /* baseline inherited from the parent */
    char kv_path[600];
    snprintf(kv_path, sizeof kv_path, "%s", store ? store : "");
    locus_param p[3 + 16] = {{"policy.name", locality ? "locality" : "drf"},
                             {"hints.path", kv_path},
                             {"hints.staleness", "1e9"}};
    for (size_t i = 0; i < g_n_extra; i++)
        p[3 + i] = g_extra[i];
    locus_allocator *a = NULL;
    char err[512];
    if (la_create(NULL, p, 3 + g_n_extra, NULL, &a, err, sizeof err)) {
        fprintf(stderr, "create: %s\n", err);
        return 1;
    }
    char id[64], host[64], rack[64];
    const char *roles[] = {"*"};
    for (int f = 0; f < fws; f++) {
        snprintf(id, sizeof id, "fw-%d", f);
        locus_framework_info fi = {id, roles, 1, 1};
        if (la_add_framework(a, &fi, NULL, 0, 0))
            return 1;
        char dsn[10][32];
        locus_demand_item items[10];
        for (int j = 0; j < 10; j++) {
            snprintf(dsn[j], sizeof dsn[j], "ds-%d",
                     (int)(((uint64_t)f * 7919 + (uint64_t)j * 104729) % (uint64_t)datasets));
            items[j] = (locus_demand_item){dsn[j], -1, 0};
        }
        if (la_set_demand(a, id, items, 10))
            return 1;
        locus_scalar per[2] = {{"cpus", 1}, {"mem", 128}};
        locus_resources pr = {per, 2};
        if (g_task_res && la_set_task_resources(a, id, &pr))
            return 1;
    }
    locus_scalar total[3] = {{"cpus", 24}, {"mem", 4096}, {"disk", 4096}};
    locus_scalar used[3] = {{"cpus", 16}, {"mem", 2014}, {"disk", 1024}};
    double t0 = cpu_ms();
    for (int i = 0; i < agents; i++) {
        snprintf(id, sizeof id, "agent-%d", i);
        snprintf(host, sizeof host, "host-%d", i);
        snprintf(rack, sizeof rack, "rack-%d", i / 40);
        char fw[64];
        snprintf(fw, sizeof fw, "fw-%d", i % fws);
        locus_allocation u = {fw, "*", NULL, {used, 3}};
        locus_agent_info ai = {id, host, rack, {total, 3}};
        if (la_add_agent(a, &ai, &u, 1, 0)) {
            fprintf(stderr, "add_agent: %s\n", la_last_error(a));
            return 1;
        }
    }
    r->add_ms = cpu_ms() - t0;

    long full_rounds = 2L * fws;
    r->full = (double)agents * fws <= 1e7;
    int rounds = r->full ? (int)full_rounds : (max_rounds < full_rounds ? max_rounds : (int)full_rounds);
    locus_offer_list l = {0};
    double sum = 0, steady = 0, with_commit = 0, without = 0;
    int go[2] = {-1, -1}, done[2] = {-1, -1};
    pid_t writer = -1;
    if (g_commit_between && store) {
        if (pipe(go) || pipe(done))
            return 1;
        writer = fork();
        if (writer < 0)
            return 1;
        if (writer == 0) {
            close(go[1]);
            close(done[0]);
            writer_loop(store, agents, datasets, go[0], done[1]);
        }
        close(go[0]);
        close(done[1]);
    }
    for (int k = 0; k < rounds; k++) {
        /* every second round (never the first) follows a commit */
        int committed = writer > 0 && k > 0 && k % 2 == 1;
        char c;
        if (committed && (write(go[1], "g", 1) != 1 || read(done[0], &c, 1) != 1)) {
            fprintf(stderr, "writer process failed\n");
            return 1;
        }
        double now = 1.0 + k;
        for (size_t i = 0; i < l.n; i++)
            if (la_recover(a, l.offers[i].framework_id, l.offers[i].agent_id,
                           &l.offers[i].resources, 1e12, now)) {
                fprintf(stderr, "recover: %s\n", la_last_error(a));
                return 1;
            }
        double s = cpu_ms();
        if (la_allocate(a, now, &l)) {
            fprintf(stderr, "allocate: %s\n", la_last_error(a));
            return 1;
        }
        double ms = cpu_ms() - s;
        if (k == 0)
            r->first_ms = ms;
        else if (committed)
            with_commit += ms, r->commit_rounds++;
        else
            without += ms, r->nocommit_rounds++;
        sum += ms;
        if (ms > r->max_ms)
            r->max_ms = ms;
        if (l.n == 0 && k > 0) {
            steady += ms;
            r->steady_rounds++;
        }
    }
    if (writer > 0) {
        close(go[1]);
        close(done[0]);
        waitpid(writer, NULL, 0);
    }
    r->commit_ms = r->commit_rounds ? with_commit / r->commit_rounds : NAN;
    r->nocommit_ms = r->nocommit_rounds ? without / r->nocommit_rounds : NAN;
    r->rounds = rounds;
    r->mean_ms = rounds ? sum / rounds : 0;
    r->steady_ms = r->steady_rounds ? steady / r->steady_rounds : NAN;
    locus_allocator_status st = {.struct_size = sizeof st};
    la_status(a, &st);
    r->offers = st.offers;
    r->local = st.offers_local;
    r->fallback = st.fallback_cycles;
    r->rss_mb = status_mb("VmHWM");
    r->anon_mb = status_mb("RssAnon") - r->anon_mb;
    la_destroy(a);
    return 0;
}

static int run_forked(int locality, int agents, int fws, const char *store, int datasets,
                      int max_rounds, result *r)
{
    int fd[2];
    if (pipe(fd))
        return 1;
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        close(fd[0]);
        result x;
        int rc = run_point(locality, agents, fws, store, datasets, max_rounds, &x);
        if (!rc && write(fd[1], &x, sizeof x) != (ssize_t)sizeof x)
            rc = 1;
        _exit(rc);
    }
    close(fd[1]);
    ssize_t n = read(fd[0], r, sizeof *r);
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return n == (ssize_t)sizeof *r && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static void rm_store(const char *dir)
{
    char p[700];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/writer.lock", dir);
    unlink(p);
    rmdir(dir);
}

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        out[n++] = atoi(s);
        const char *c = strchr(s, ',');
        if (!c)
            break;
        s = c + 1;
    }
    return n;
}

int main(int argc, char **argv)
{
    int agents[8] = {1000, 10000, 50000}, fws[8] = {100, 1000, 3000};
    int na = 3, nf = 3, max_rounds = 100, datasets = 100000, only = -1, repeat = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            agents[0] = 1000, agents[1] = 10000, na = 2;
            fws[0] = 100, fws[1] = 1000, nf = 2;
            max_rounds = 20;
        } else if (strcmp(argv[i], "--agents") == 0 && i + 1 < argc) {
            na = parse_list(argv[++i], agents, 8);
        } else if (strcmp(argv[i], "--frameworks") == 0 && i + 1 < argc) {
            nf = parse_list(argv[++i], fws, 8);
        } else if (strcmp(argv[i], "--max-rounds") == 0 && i + 1 < argc) {
            max_rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc) {
            i++;
            only = strcmp(argv[i], "drf") == 0 ? 0 : strcmp(argv[i], "locality") == 0 ? 1 : -2;
            if (only == -2)
                return 2;
        } else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc && g_n_extra < 16) {
            char *kv = argv[++i], *eq = strchr(kv, '=');
            if (!eq)
                return 2;
            *eq = '\0';
            g_extra[g_n_extra++] = (locus_param){kv, eq + 1};
        } else if (strcmp(argv[i], "--task-res") == 0) {
            g_task_res = 1;
        } else if (strcmp(argv[i], "--commit-between") == 0) {
            g_commit_between = 1;
        } else if (strcmp(argv[i], "--bindings") == 0) {
            g_bindings = 1;
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--datasets") == 0 && i + 1 < argc) {
            datasets = atoi(argv[++i]);
        } else {
            fprintf(stderr,
                    "usage: %s [--quick] [--agents N,N..] [--frameworks N,N..] "
                    "[--max-rounds N] [--datasets N] [--policy drf|locality] [--set section.key=value] "
                    "[--repeat N] [--task-res] [--commit-between] [--bindings]\n",
                    argv[0]);
            return 2;
        }
    }
    if (datasets < 1 || max_rounds < 1 || repeat < 1)
        return 2;
    const char *base = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/locus-bench-alloc-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("DeclineOffers: every framework declines every offer with a long filter.\n"
           "Full Mesos run (2F rounds) where agents x frameworks <= 1e7, else %d rounds.\n"
           "Hint store: %d datasets x 2 blocks x 2 replicas. Best of %d run(s); CPU ms.%s\n\n",
           max_rounds, datasets, repeat,
           g_task_res ? "\nTask resources cpus:1;mem:128 (locality offers slices)." : "");
    if (g_commit_between)
        printf("A writer process commits 1%% of the blocks moved before every second round.\n");
    if (g_bindings)
        printf("Every storage host is bound to its agent (store-N -> host-N).\n");
    printf("%-8s %7s %6s %6s %9s %9s %9s %9s %9s %8s %8s %9s %7s\n", "policy", "agents", "fws",
           "rounds", "add ms", "first ms", "mean ms", "max ms", "steady ms", "peak MB", "heap MB",
           "offers", "local%");
    int rc = 0;
    double ratios[64];
    int nr = 0;
    for (int i = 0; i < na; i++) {
        char store[600];
        snprintf(store, sizeof store, "%s/store-%d", dir, agents[i]);
        double t = cpu_ms();
        if (write_store(store, agents[i], datasets)) {
            rc = 1;
            break;
        }
        fprintf(stderr, "(hint store for %d agents written in %.1f CPU s)\n", agents[i],
                (cpu_ms() - t) / 1e3);
        for (int j = 0; j < nf; j++) {
            result res[2];
            memset(res, 0, sizeof res);
            /* Each policy runs `repeat` times, the two alternating (so a
             * moment when the shared machine is slower falls on both), and
             * each policy's fastest run counts (the one least disturbed by
             * other processes). */
            int bad[2] = {0, 0};
            for (int k = 0; k < repeat; k++)
                for (int loc = 0; loc < 2; loc++) {
                    if ((only >= 0 && loc != only) || bad[loc])
                        continue;
                    result x;
                    if (run_forked(loc, agents[i], fws[j], loc ? store : NULL, datasets,
                                   max_rounds, &x)) {
                        bad[loc] = 1;
                        continue;
                    }
                    if (k == 0 || x.mean_ms < res[loc].mean_ms)
                        res[loc] = x;
                }
            for (int loc = 0; loc < 2; loc++) {
                if (only >= 0 && loc != only)
                    continue;
                if (bad[loc]) {
                    fprintf(stderr, "point %d x %d failed\n", agents[i], fws[j]);
                    rc = 1;
                    continue;
                }
                const result *r = &res[loc];
                printf("%-8s %7d %6d %5d%s %9.2f %9.2f %9.3f %9.2f %9.3f %8.1f %8.1f %9llu "
                       "%6.1f%%\n",
                       loc ? "locality" : "drf", agents[i], fws[j], r->rounds, r->full ? " " : "*",
                       r->add_ms, r->first_ms, r->mean_ms, r->max_ms, r->steady_ms, r->rss_mb,
                       r->anon_mb,
                       (unsigned long long)r->offers,
                       r->offers ? 100.0 * (double)r->local / (double)r->offers : 0.0);
                if (loc && g_commit_between)
                    printf("%-8s %7d %6d  rounds after a commit: %d, mean %.3f ms; without: %d, "
                           "mean %.3f ms; ratio %.2fx\n",
                           "commit", agents[i], fws[j], r->commit_rounds, r->commit_ms,
                           r->nocommit_rounds, r->nocommit_ms, r->commit_ms / r->nocommit_ms);
                fflush(stdout);
            }
            if (only >= 0)
                continue;
            if (res[0].mean_ms > 0 && nr < 64)
                ratios[nr++] = res[1].mean_ms / res[0].mean_ms;
            printf("%-8s %7d %6d  locality/drf mean round time: %.2fx\n", "ratio", agents[i],
                   fws[j], res[1].mean_ms / res[0].mean_ms);
        }
        rm_store(store);
    }
    rmdir(dir);
    double worst = 0;
    for (int i = 0; i < nr; i++)
        worst = ratios[i] > worst ? ratios[i] : worst;
    printf("\n* = rounds capped (not all agents filtered for all frameworks)\n"
           "worst locality/drf ratio: %.2fx\n",
           worst);
    return rc;
}
