/* Redis Cluster fixture (see redis_cluster_fixture.h).
 *
 * Servers run in the foreground as our children (never --daemonize): their
 * pids are known for sure, kill -9 by pid is the teardown, and the parent
 * death signal stops them even when a test crashes or is killed on timeout.
 * Ports come from the kernel (a bound-then-closed socket); a server that
 * still loses the race exits, and its port is retried. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "backend_redis_slot.h"
#include "redis_cluster_fixture.h"

static int start_node(rcf_cluster *c, int i)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        int port = tu_free_port();
        if (port <= 0 || port + 10000 > 65535)
            continue;
        char ports[16], conf[192], logf[192], dir[128], host[16];
        snprintf(ports, sizeof ports, "%d", port);
        snprintf(dir, sizeof dir, "%s/%d", c->dir, port);
        mkdir(dir, 0700);
        snprintf(conf, sizeof conf, "%s/nodes.conf", dir);
        snprintf(logf, sizeof logf, "%s/redis.log", dir);
        snprintf(host, sizeof host, "node%d", i + 1);
        char *argv[] = {"/usr/bin/redis-server", "--port", ports, "--bind", "127.0.0.1",
                        "--cluster-enabled", "yes", "--cluster-config-file", conf,
                        "--cluster-node-timeout", "2000", "--repl-diskless-sync-delay", "0",
                        "--save", "", "--appendonly", "no", "--dir", dir,
                        "--cluster-announce-hostname", host, "--protected-mode", "no",
                        "--logfile", "", NULL};
        pid_t pid = tu_spawn(argv, logf);
        if (pid < 0)
            return -1;
        double deadline = tu_now() + 5;
        while (tu_now() < deadline) {
            redisContext *rc = redisConnect("127.0.0.1", port);
            redisReply *r = rc && !rc->err ? redisCommand(rc, "PING") : NULL;
            int ok = r && r->type == REDIS_REPLY_STATUS;
            if (r)
                freeReplyObject(r);
            redisFree(rc);
            if (ok) {
                c->nodes[i].port = port;
                c->nodes[i].pid = pid;
                snprintf(c->nodes[i].host, sizeof c->nodes[i].host, "%s", host);
                return 0;
            }
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) { /* exited: port taken, try another */
                pid = 0;
                break;
            }
            tu_sleep(0.02);
        }
        if (pid > 0) {
            kill(pid, SIGKILL);
            tu_wait(pid, 5);
        }
    }
    return -1;
}

int rcf_start(rcf_cluster *c, int masters, int replicas, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->n = masters * (1 + replicas);
    c->want_replicas = masters * replicas;
    if (c->n > RCF_MAX_NODES || masters < 1) {
        snprintf(err, errlen, "too many nodes");
        return -1;
    }
    strcpy(c->dir, "/tmp/locus-redis-XXXXXX");
    if (!mkdtemp(c->dir)) {
        snprintf(err, errlen, "mkdtemp failed");
        c->dir[0] = '\0';
        return -1;
    }
    for (int i = 0; i < c->n; i++) {
        if (start_node(c, i)) {
            snprintf(err, errlen, "redis-server %d did not start (see %s)", i, c->dir);
            rcf_stop(c);
            return -1;
        }
    }
    char *argv[RCF_MAX_NODES + 8];
    char addrs[RCF_MAX_NODES][32], reps[8];
    int a = 0;
    argv[a++] = "/usr/bin/redis-cli";
    argv[a++] = "--cluster";
    argv[a++] = "create";
    for (int i = 0; i < c->n; i++) {
        snprintf(addrs[i], sizeof addrs[i], "127.0.0.1:%d", c->nodes[i].port);
        argv[a++] = addrs[i];
    }
    snprintf(reps, sizeof reps, "%d", replicas);
    argv[a++] = "--cluster-replicas";
    argv[a++] = reps;
    argv[a++] = "--cluster-yes";
    argv[a] = NULL;
    char logf[128];
    snprintf(logf, sizeof logf, "%s/create.log", c->dir);
    if (tu_run(argv, logf, 60) != 0) {
        snprintf(err, errlen, "redis-cli --cluster create failed (see %s)", logf);
        rcf_stop(c);
        return -1;
    }
    if (rcf_wait_healthy(c, 30)) {
        snprintf(err, errlen, "cluster did not become healthy");
        rcf_stop(c);
        return -1;
    }
    return 0;
}

void rcf_kill(rcf_cluster *c, int i)
{
    if (c->nodes[i].pid > 0) {
        kill(c->nodes[i].pid, SIGKILL);
        tu_wait(c->nodes[i].pid, 10);
        c->nodes[i].pid = 0;
    }
}

void rcf_stop(rcf_cluster *c)
{
    for (int i = 0; i < c->n; i++)
        rcf_kill(c, i);
    if (c->dir[0])
        tu_rm_r(c->dir);
    c->dir[0] = '\0';
}

redisContext *rcf_connect(const rcf_cluster *c, int i)
{
    if (c->nodes[i].pid <= 0)
        return NULL;
    struct timeval tv = {2, 0};
    redisContext *rc = redisConnectWithTimeout("127.0.0.1", c->nodes[i].port, tv);
    if (!rc || rc->err) {
        redisFree(rc);
        return NULL;
    }
    redisSetTimeout(rc, tv);
    if (c->password[0]) {
        redisReply *r = redisCommand(rc, "AUTH %s", c->password);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        if (!ok) {
            redisFree(rc);
            return NULL;
        }
    }
    return rc;
}

int rcf_all(const rcf_cluster *c, const char *fmt, ...)
{
    int bad = 0;
    for (int i = 0; i < c->n; i++) {
        redisContext *rc = rcf_connect(c, i);
        if (!rc)
            continue;
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = redisvCommand(rc, fmt, ap);
        va_end(ap);
        bad |= !r || r->type == REDIS_REPLY_ERROR;
        if (r)
            freeReplyObject(r);
        redisFree(rc);
    }
    return bad ? -1 : 0;
}

static int node_by_port(const rcf_cluster *c, int port)
{
    for (int i = 0; i < c->n; i++)
        if (c->nodes[i].port == port)
            return i;
    return -1;
}

/* CLUSTER NODES of a live node, as a heap string. */
static char *cluster_nodes(const rcf_cluster *c)
{
    for (int i = 0; i < c->n; i++) {
        redisContext *rc = rcf_connect(c, i);
        if (!rc)
            continue;
        redisReply *r = redisCommand(rc, "CLUSTER NODES");
        char *out = r && r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
        if (r)
            freeReplyObject(r);
        redisFree(rc);
        if (out)
            return out;
    }
    return NULL;
}

/* Walks CLUSTER NODES lines: id ip:port@bus[,host] flags master-id ... slots */
static int nodes_walk(const rcf_cluster *c, int want_node, unsigned want_slot, int mode)
{
    char *text = cluster_nodes(c);
    if (!text)
        return -1;
    int found = -1;
    char ids[RCF_MAX_NODES][48] = {{0}};
    char masters[RCF_MAX_NODES][48] = {{0}};
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char id[48], addr[128], flags[128], master[48];
        int off = 0;
        if (sscanf(line, "%47s %127s %127s %47s %n", id, addr, flags, master, &off) < 4)
            continue;
        char *colon = strchr(addr, ':');
        int idx = colon ? node_by_port(c, atoi(colon + 1)) : -1;
        if (idx < 0)
            continue;
        snprintf(ids[idx], sizeof ids[idx], "%s", id);
        snprintf(masters[idx], sizeof masters[idx], "%s", master);
        if (mode == 0 && strstr(flags, "master") && !strstr(flags, "fail") && !strstr(flags, "fail?")) {
            /* fields after master-id: ping pong epoch state slots... */
            char *p = line + off;
            for (int f = 0; f < 4 && p; f++) {
                p = strchr(p, ' ');
                if (p)
                    p++;
            }
            while (p && *p) {
                unsigned lo, hi;
                int n = 0;
                if (sscanf(p, "%u-%u%n", &lo, &hi, &n) == 2 || (sscanf(p, "%u%n", &lo, &n) == 1 && (hi = lo, 1))) {
                    if (want_slot >= lo && want_slot <= hi)
                        found = idx;
                }
                p = strchr(p, ' ');
                if (p)
                    p++;
            }
        }
    }
    if (mode == 1 && want_node >= 0 && masters[want_node][0] != '-') {
        for (int i = 0; i < c->n; i++)
            if (ids[i][0] && strcmp(ids[i], masters[want_node]) == 0)
                found = i;
    }
    free(text);
    return found;
}

int rcf_slot_master(const rcf_cluster *c, unsigned slot) { return nodes_walk(c, -1, slot, 0); }

int rcf_master_of(const rcf_cluster *c, int i) { return nodes_walk(c, i, 0, 1); }

static int info_has(redisContext *rc, const char *section, const char *needle)
{
    redisReply *r = redisCommand(rc, "INFO %s", section);
    int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, needle);
    if (r)
        freeReplyObject(r);
    return ok;
}

int rcf_wait_healthy(const rcf_cluster *c, double timeout_s)
{
    double deadline = tu_now() + timeout_s;
    while (tu_now() < deadline) {
        int ok = 1, linked = 0;
        for (int i = 0; i < c->n && ok; i++) {
            redisContext *rc = rcf_connect(c, i);
            if (!rc)
                continue; /* stopped nodes do not count */
            redisReply *r = redisCommand(rc, "CLUSTER INFO");
            ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "cluster_state:ok");
            if (r)
                freeReplyObject(r);
            if (ok) { /* this node's view must know every replica (gossip lags) */
                redisReply *n = redisCommand(rc, "CLUSTER NODES");
                int seen = 0;
                for (const char *p = n && n->type == REDIS_REPLY_STRING ? n->str : ""; *p;) {
                    const char *eol = strchr(p, '\n');
                    size_t len = eol ? (size_t)(eol - p) : strlen(p);
                    char line[512];
                    snprintf(line, sizeof line, "%.*s", (int)(len < 511 ? len : 511), p);
                    seen += strstr(line, "slave") && !strstr(line, "fail");
                    p += len + (eol ? 1 : 0);
                }
                if (n)
                    freeReplyObject(n);
                ok = seen >= c->want_replicas;
            }
            if (ok && info_has(rc, "replication", "role:slave")) {
                ok = info_has(rc, "replication", "master_link_status:up");
                linked += ok;
            }
            redisFree(rc);
        }
        if (ok && linked >= c->want_replicas)
            return 0;
        tu_sleep(0.05);
    }
    return -1;
}

int rcf_load(const rcf_cluster *c, const char *prefix, int n_datasets, int keys_per_dataset,
             size_t value_bytes)
{
    redisContext *conn[RCF_MAX_NODES] = {0};
    long pending[RCF_MAX_NODES] = {0};
    char *value = malloc(value_bytes + 1);
    if (!value)
        return -1;
    memset(value, 'v', value_bytes);
    value[value_bytes] = '\0';
    int rc = 0;
    for (int d = 0; d < n_datasets && rc == 0; d++) {
        char tag[64];
        snprintf(tag, sizeof tag, "%s%05d", prefix, d);
        int m = rcf_slot_master(c, probe_redis_key_slot(tag, strlen(tag)));
        if (m < 0 || (!conn[m] && !(conn[m] = rcf_connect(c, m)))) {
            rc = -1;
            break;
        }
        for (int k = 0; k < keys_per_dataset; k++) {
            char key[96];
            int len = snprintf(key, sizeof key, "{%s}:%07d", tag, k);
            redisAppendCommand(conn[m], "SET %b %b", key, (size_t)len, value, value_bytes);
            if (++pending[m] >= 10000) {
                for (; pending[m] > 0; pending[m]--) {
                    redisReply *r = NULL;
                    if (redisGetReply(conn[m], (void **)&r) != REDIS_OK || !r ||
                        r->type == REDIS_REPLY_ERROR)
                        rc = -1;
                    if (r)
                        freeReplyObject(r);
                }
            }
        }
    }
    for (int m = 0; m < RCF_MAX_NODES; m++) {
        for (; conn[m] && pending[m] > 0; pending[m]--) {
            redisReply *r = NULL;
            if (redisGetReply(conn[m], (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR)
                rc = -1;
            if (r)
                freeReplyObject(r);
        }
        if (conn[m] && c->want_replicas > 0) {
            /* WAIT counts this connection's writes: every replica has them after */
            redisReply *r = redisCommand(conn[m], "WAIT %d 60000", c->want_replicas / (c->n - c->want_replicas));
            if (!r || r->type != REDIS_REPLY_INTEGER ||
                r->integer < c->want_replicas / (c->n - c->want_replicas))
                rc = -1;
            if (r)
                freeReplyObject(r);
        }
        redisFree(conn[m]);
    }
    free(value);
    return rc;
}
