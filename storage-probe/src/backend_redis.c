/* Redis Cluster backend of locus-probe: where each dataset's keys live.
 *
 * One poll = refresh the topology, then scan every master (and, with
 * read_replicas, every replica) at once, then publish. Everything runs on the
 * daemon's libevent loop through hiredis's async API and its libevent
 * adapter: one connection per node, kept between polls, so a poll costs no
 * thread and never blocks the loop; the nodes' scans overlap, which is where
 * the speed over a sequential pass comes from.
 *
 * Topology: asked at the start of every poll (one round trip) with CLUSTER
 * SHARDS, falling back to CLUSTER SLOTS when a node refuses it, from the node
 * a MOVED pointed at, else the known masters, else the configured seeds.
 * Asking every poll is what makes failovers show up in the next poll; a MOVED
 * in the middle of a poll (a role changed under us) restarts the poll from
 * the node that claimed the slot, at most PROBE_REDIS_MAX_RESTARTS times.
 *
 * Scan of one node: SCAN cursor COUNT scan_count [MATCH glob]; every key of
 * a reply that matches a dataset pattern gets a pipelined MEMORY USAGE whose
 * private data is its dataset's tally entry (no key copies); the next SCAN is
 * sent as soon as fewer than `pipeline` MEMORY USAGE commands are in flight
 * (ahead of the batch just received), so SCAN replies and MEMORY USAGE
 * replies stream on one connection and the server never waits for us.
 * Batches are kept small (300 keys by default): one node's batch is parsed in
 * one callback, and small batches let the single loop serve the nodes in
 * fine turns, so all of them stay busy (1,000-key batches measured up to 2x
 * slower on 1 M keys).
 *
 * Blocks: Redis has no blocks, so the unit of locality is a dataset's part on
 * one shard: its bytes on the shard's master (replicas that hold keys of the
 * dataset are extra replicas). That part is one block, or several of
 * block_bytes when set; block indices count up across shards in slot order.
 *
 * Failures: a master that cannot be reached or answers an error fails the
 * poll (the daemon keeps the last good placements until the staleness bound);
 * a replica that fails is left out of this poll. Malformed replies fail the
 * poll with a message naming the node and the command. Connection attempts
 * back off exponentially per node (100 ms doubling to 5 s). The password is
 * sent with AUTH and never appears in a message.
 *
 * hiredis rules followed here: a context is freed by hiredis after a
 * connection error (we only drop our pointer in the disconnect callback);
 * freeing a context runs its pending callbacks with a NULL reply (ignored
 * while node->closing is set); the poll's end, restarts and topology retries
 * run from a deferred event, never inside a hiredis callback, so contexts are
 * only ever freed from outside their own callbacks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "locus/error.h"

#include "backend_redis.h"
#include "backend_redis_pattern.h"
#include "backend_redis_tally.h"
#include "backend_redis_topo.h"

#define PROBE_REDIS_MAX_RESTARTS 3
#define BACKOFF_MIN_S 0.1
#define BACKOFF_MAX_S 5.0
#define ERRMSG_LEN 512

/* ---- config --------------------------------------------------------------- */

static const locus_cfg_key redis_keys[] = {
    PROBE_BACKEND_COMMON_KEYS("redis", probe_redis_config),
    {"redis", "seeds", LOCUS_CFG_STRING, offsetof(probe_redis_config, seeds), "127.0.0.1:7000", 0,
     0, "", NULL, "Cluster nodes asked for the topology first, as host:port, comma-separated."},
    {"redis", "datasets", LOCUS_CFG_STRING, offsetof(probe_redis_config, datasets), "{*}", 0, 0,
     "", NULL,
     "Dataset key patterns, comma-separated: PREFIX*SUFFIX (name = text matched by *), PREFIX, "
     "or NAME=PREFIX."},
    {"redis", "block_bytes", LOCUS_CFG_INT, offsetof(probe_redis_config, block_bytes), "0", 0,
     1e15, "bytes", NULL,
     "Split a dataset's bytes on one shard into blocks of this size; 0 = one block per shard."},
    {"redis", "scan_count", LOCUS_CFG_INT, offsetof(probe_redis_config, scan_count), "300", 1,
     100000, "keys", NULL, "COUNT hint of each SCAN."},
    {"redis", "pipeline", LOCUS_CFG_INT, offsetof(probe_redis_config, pipeline), "300", 1, 1e6,
     "commands", NULL, "MEMORY USAGE commands in flight per node before the next SCAN is sent."},
    {"redis", "read_replicas", LOCUS_CFG_BOOL, offsetof(probe_redis_config, read_replicas),
     "false", 0, 1, "", NULL, "Also scan replicas (after READONLY) and publish them as replicas."},
    {"redis", "password", LOCUS_CFG_STRING, offsetof(probe_redis_config, password), "", 0, 0, "",
     NULL, "Password sent with AUTH; empty = no AUTH. Never logged."},
    {"redis", "password_env", LOCUS_CFG_STRING, offsetof(probe_redis_config, password_env), "", 0,
     0, "", NULL, "Environment variable holding the AUTH password (wins over password)."},
    {"redis", "connect_timeout", LOCUS_CFG_DOUBLE, offsetof(probe_redis_config, connect_timeout_s),
     "2", 0.01, 60, "s", NULL, "A node that does not accept a connection in this time fails."},
};

/* ---- state ---------------------------------------------------------------- */

typedef struct rbackend rbackend;

enum { SCAN_NONE, SCAN_RUNNING, SCAN_DONE, SCAN_FAILED };
enum { STEP_NONE, STEP_TOPO_NEXT, STEP_RESTART, STEP_FINISH };

typedef struct rnode {
    rbackend *be;
    char *ip;
    int port;
    char addr[300];            /* "ip:port" for messages */
    redisAsyncContext *ac;     /* NULL when not connected */
    int connected, readonly, closing;
    char fail_reason[160];     /* why we tore the connection down (timeout) */
    struct event *timer;       /* connect timeout */
    double backoff_s, retry_at;
    char last_err[200];        /* why the last connection attempt failed */
    char err[300];             /* message of the last failed node_ensure / node_cmd */
    size_t inflight;           /* commands sent, replies pending */
    unsigned long long gen;    /* poll generation of the last command sent */
    /* scan of the current poll */
    int scan_state, is_replica;
    char *host;
    char cursor[32];
    int cursor_done, scan_pending;
    size_t mu_inflight;
    probe_redis_tally tally;
    uint64_t keys_scanned, mu_replies;
    struct rnode *next;
} rnode;

typedef struct seed {
    char *host;
    int port;
} seed;

struct rbackend {
    probe_redis_config cfg;
    char *password;            /* resolved; NULL = no AUTH */
    struct event_base *base;
    probe_redis_patterns *pat;
    seed *seeds;
    size_t n_seeds;
    rnode *nodes;
    probe_redis_topology *topo;
    struct event *step_ev;
    int step;
    unsigned long long gen;
    probe_redis_stats stats;
    /* the running poll */
    int active;
    probe_sink *sink;
    probe_poll_done_fn done;
    void *done_ctx;
    int status;
    char errmsg[ERRMSG_LEN];
    int restarts;
    char moved_ip[256];
    int moved_port;
    rnode **cands;
    size_t n_cands, cand_i;
    char topo_errs[ERRMSG_LEN];
    size_t scans_pending;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void schedule(rbackend *be, int step)
{
    be->step = step;
    event_active(be->step_ev, EV_TIMEOUT, 1);
}

/* Ends the poll with an error (first one wins); done runs from the loop. */
static void fail_poll(rbackend *be, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_poll(rbackend *be, int status, const char *fmt, ...)
{
    if (!be->active || be->step == STEP_FINISH)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(be->errmsg, sizeof be->errmsg, fmt, ap);
    va_end(ap);
    be->status = status;
    be->gen++; /* replies still in flight are stale from here on */
    schedule(be, STEP_FINISH);
}

/* ---- connections ---------------------------------------------------------- */

static rnode *node_get(rbackend *be, const char *ip, int port)
{
    for (rnode *n = be->nodes; n; n = n->next)
        if (n->port == port && strcmp(n->ip, ip) == 0)
            return n;
    rnode *n = calloc(1, sizeof *n);
    if (!n || !(n->ip = strdup(ip))) {
        free(n);
        return NULL;
    }
    n->port = port;
    n->be = be;
    snprintf(n->addr, sizeof n->addr, "%s:%d", ip, port);
    n->next = be->nodes;
    be->nodes = n;
    return n;
}

static void node_backoff(rnode *n, const char *why)
{
    snprintf(n->last_err, sizeof n->last_err, "%s", why);
    n->backoff_s = n->backoff_s ? n->backoff_s * 2 : BACKOFF_MIN_S;
    if (n->backoff_s > BACKOFF_MAX_S)
        n->backoff_s = BACKOFF_MAX_S;
    n->retry_at = now_s() + n->backoff_s;
    n->be->stats.connect_failures++;
}

/* Tears our connection down on purpose (pending callbacks are ignored). */
static void node_drop(rnode *n)
{
    if (n->timer)
        evtimer_del(n->timer);
    if (n->ac) {
        n->closing = 1;
        redisAsyncFree(n->ac);
        n->closing = 0;
    }
    n->ac = NULL;
    n->connected = n->readonly = 0;
    n->inflight = n->mu_inflight = 0;
    n->scan_pending = 0;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rnode *n = ac->data;
    if (n->timer)
        evtimer_del(n->timer);
    if (status != REDIS_OK) {
        char why[200];
        snprintf(why, sizeof why, "connect: %s", ac->errstr ? ac->errstr : "failed");
        node_backoff(n, why);
        n->ac = NULL; /* hiredis frees it after this callback */
        n->connected = n->readonly = 0;
        return;
    }
    n->connected = 1;
    n->backoff_s = 0;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rnode *n = ac->data;
    (void)status; /* a lost established connection reconnects without backoff */
    if (n->timer)
        evtimer_del(n->timer);
    n->ac = NULL;
    n->connected = n->readonly = 0;
}

static void on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rnode *n = arg;
    if (!n->ac || n->connected)
        return;
    snprintf(n->fail_reason, sizeof n->fail_reason, "connect: timed out after %gs",
             n->be->cfg.connect_timeout_s);
    node_backoff(n, n->fail_reason);
    redisAsyncContext *ac = n->ac;
    redisAsyncFree(ac); /* pending callbacks see NULL and report fail_reason */
    n->ac = NULL;
    n->connected = n->readonly = 0;
    n->inflight = n->mu_inflight = 0;
    n->scan_pending = 0;
}

static void auth_cb(redisAsyncContext *ac, void *r, void *priv);

/* Makes sure a connection exists or is being set up. Returns 0, or LOCUS_EIO
 * with n->err set. */
static int node_ensure(rnode *n)
{
    rbackend *be = n->be;
    if (n->ac)
        return 0;
    double now = now_s();
    if (now < n->retry_at) {
        snprintf(n->err, sizeof n->err, "%.200s (next attempt in %.0f ms)", n->last_err,
                 (n->retry_at - now) * 1e3);
        return LOCUS_EIO;
    }
    n->fail_reason[0] = '\0';
    be->stats.connects++;
    redisAsyncContext *ac = redisAsyncConnect(n->ip, n->port);
    if (!ac) {
        node_backoff(n, "connect: out of memory");
        snprintf(n->err, sizeof n->err, "%s", n->last_err);
        return LOCUS_EIO;
    }
    if (ac->err) {
        char why[200];
        snprintf(why, sizeof why, "connect: %.150s", ac->errstr);
        redisAsyncFree(ac);
        node_backoff(n, why);
        snprintf(n->err, sizeof n->err, "%s", n->last_err);
        return LOCUS_EIO;
    }
    ac->data = n;
    probe_redis_guard_reader(ac->c.reader);
    ac->c.reader->privdata = n; /* for the unsolicited-reply guard */
    if (redisLibeventAttach(ac, be->base) != REDIS_OK) {
        redisAsyncFree(ac);
        node_backoff(n, "connect: cannot attach to the event loop");
        snprintf(n->err, sizeof n->err, "%s", n->last_err);
        return LOCUS_EIO;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    n->ac = ac;
    if (!n->timer)
        n->timer = evtimer_new(be->base, on_connect_timeout, n);
    if (n->timer) {
        double t = be->cfg.connect_timeout_s;
        struct timeval tv = {(time_t)t, (suseconds_t)((t - (double)(time_t)t) * 1e6)};
        evtimer_add(n->timer, &tv);
    }
    if (be->password) {
        const char *argv[2] = {"AUTH", be->password};
        size_t lens[2] = {4, strlen(be->password)};
        n->gen = be->gen;
        if (redisAsyncCommandArgv(ac, auth_cb, NULL, 2, argv, lens) == REDIS_OK)
            n->inflight++;
    }
    return 0;
}

/* Sends one command; 0 or LOCUS_EIO. */
static int node_cmd(rnode *n, redisCallbackFn *fn, void *priv, int argc, const char **argv,
                    const size_t *lens)
{
    if (!n->ac) {
        snprintf(n->err, sizeof n->err, "not connected");
        return LOCUS_EIO;
    }
    n->gen = n->be->gen;
    if (redisAsyncCommandArgv(n->ac, fn, priv, argc, argv, lens) != REDIS_OK) {
        snprintf(n->err, sizeof n->err, "cannot queue a command");
        return LOCUS_EIO;
    }
    n->inflight++;
    return 0;
}

static int node_cmd1(rnode *n, redisCallbackFn *fn, const char *a, const char *b)
{
    const char *argv[2] = {a, b};
    size_t lens[2] = {strlen(a), b ? strlen(b) : 0};
    return node_cmd(n, fn, NULL, b ? 2 : 1, argv, lens);
}

/* Common start of every reply callback: NULL = ignore this reply. */
static rnode *reply_node(redisAsyncContext *ac)
{
    rnode *n = ac->data;
    if (n->closing)
        return NULL;
    if (n->inflight)
        n->inflight--;
    rbackend *be = n->be;
    if (!be->active || n->gen != be->gen || be->step == STEP_FINISH)
        return NULL;
    return n;
}

static const char *lost_reason(const redisAsyncContext *ac, const rnode *n)
{
    if (n->fail_reason[0])
        return n->fail_reason;
    if (!n->connected && n->last_err[0]) /* never got connected: on_connect said why */
        return n->last_err;
    if (ac->err && ac->errstr && ac->errstr[0])
        return ac->errstr;
    return "connection closed";
}

static void auth_cb(redisAsyncContext *ac, void *r, void *priv)
{
    (void)priv;
    rnode *n = reply_node(ac);
    redisReply *reply = r;
    if (!n || !reply)
        return; /* a lost connection is reported by the command queued after AUTH */
    if (reply->type == REDIS_REPLY_ERROR)
        fail_poll(n->be, LOCUS_EIO, "node %s: AUTH: %s", n->addr, reply->str);
    else if (reply->type != REDIS_REPLY_STATUS)
        fail_poll(n->be, LOCUS_EPARSE, "node %s: AUTH: malformed reply (type %d)", n->addr,
                  reply->type);
}

/* Drops connections with replies pending: after a failed, restarted or
 * cancelled poll they would answer commands nobody waits for. */
static void drop_busy(rbackend *be)
{
    for (rnode *n = be->nodes; n; n = n->next)
        if (n->inflight || n->scan_state == SCAN_RUNNING)
            node_drop(n);
}

/* ---- scan ----------------------------------------------------------------- */

static void scan_cb(redisAsyncContext *ac, void *r, void *priv);
static void mu_cb(redisAsyncContext *ac, void *r, void *priv);

static void scan_finished(rnode *n, int state)
{
    rbackend *be = n->be;
    n->scan_state = state;
    if (be->scans_pending && --be->scans_pending == 0)
        schedule(be, STEP_FINISH);
}

/* A node's scan failed: a master fails the poll, a replica is left out. */
static void scan_failed(rnode *n, const char *command, const char *why)
{
    if (n->scan_state != SCAN_RUNNING)
        return;
    if (!n->is_replica) {
        fail_poll(n->be, LOCUS_EIO, "node %s: %s: %s", n->addr, command, why);
        return;
    }
    scan_finished(n, SCAN_FAILED);
}

static void send_scan(rnode *n)
{
    rbackend *be = n->be;
    char count[24];
    snprintf(count, sizeof count, "%" PRId64, be->cfg.scan_count);
    const char *glob = probe_redis_patterns_glob(be->pat);
    const char *argv[6] = {"SCAN", n->cursor, "COUNT", count, "MATCH", glob};
    size_t lens[6] = {4, strlen(n->cursor), 5, strlen(count), 5, glob ? strlen(glob) : 0};
    if (node_cmd(n, scan_cb, NULL, glob ? 6 : 4, argv, lens)) {
        scan_failed(n, "SCAN", n->err);
        return;
    }
    n->scan_pending = 1;
}

/* Next SCAN when the pipeline has room; end of the node's scan when all is in. */
static void scan_advance(rnode *n)
{
    if (n->scan_state != SCAN_RUNNING)
        return;
    if (!n->cursor_done && !n->scan_pending && n->mu_inflight < (size_t)n->be->cfg.pipeline)
        send_scan(n);
    else if (n->cursor_done && n->mu_inflight == 0 && !n->scan_pending)
        scan_finished(n, SCAN_DONE);
}

static void scan_begin(rbackend *be, rnode *n, int replica, const char *host)
{
    probe_redis_tally_clear(&n->tally);
    free(n->host);
    n->host = strdup(host);
    n->is_replica = replica;
    n->scan_state = SCAN_RUNNING;
    n->keys_scanned = n->mu_replies = 0;
    strcpy(n->cursor, "0");
    n->cursor_done = n->scan_pending = 0;
    n->mu_inflight = 0;
    be->scans_pending++;
    if (!n->host) {
        fail_poll(be, LOCUS_ENOMEM, "node %s: out of memory", n->addr);
        return;
    }
    if (node_ensure(n)) {
        scan_failed(n, "connect", n->err);
        return;
    }
    if (replica && !n->readonly) {
        if (node_cmd1(n, scan_cb, "READONLY", NULL)) { /* scan_cb treats the OK as a no-op */
            scan_failed(n, "READONLY", n->err);
            return;
        }
        n->readonly = 1;
    }
    send_scan(n);
}

static int valid_cursor(const redisReply *c)
{
    if (c->type != REDIS_REPLY_STRING || c->len == 0 || c->len >= 32)
        return 0;
    for (size_t i = 0; i < c->len; i++)
        if (c->str[i] < '0' || c->str[i] > '9')
            return 0;
    return 1;
}

static void scan_cb(redisAsyncContext *ac, void *r, void *priv)
{
    (void)priv;
    rnode *n = reply_node(ac);
    redisReply *reply = r;
    if (!n || n->scan_state != SCAN_RUNNING)
        return;
    rbackend *be = n->be;
    if (!reply) {
        n->scan_pending = 0;
        scan_failed(n, "SCAN", lost_reason(ac, n));
        return;
    }
    if (reply->type == REDIS_REPLY_STATUS) /* READONLY's OK */
        return;
    n->scan_pending = 0;
    if (reply->type == REDIS_REPLY_ERROR) {
        scan_failed(n, "SCAN", reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        !valid_cursor(reply->element[0]) || reply->element[1]->type != REDIS_REPLY_ARRAY) {
        fail_poll(be, LOCUS_EPARSE,
                  "node %s: SCAN: malformed reply (expected [cursor, [keys]], got type %d)",
                  n->addr, reply->type);
        return;
    }
    const redisReply *keys = reply->element[1];
    memcpy(n->cursor, reply->element[0]->str, reply->element[0]->len);
    n->cursor[reply->element[0]->len] = '\0';
    n->cursor_done = strcmp(n->cursor, "0") == 0;
    /* The next SCAN goes out ahead of this batch's MEMORY USAGE commands, so
     * the server always has queued work while we parse its replies. */
    if (!n->cursor_done && n->mu_inflight < (size_t)be->cfg.pipeline) {
        send_scan(n);
        if (n->scan_state != SCAN_RUNNING)
            return;
    }
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING) {
            fail_poll(be, LOCUS_EPARSE, "node %s: SCAN: malformed reply (key %zu has type %d)",
                      n->addr, i, k->type);
            return;
        }
        n->keys_scanned++;
        const char *name;
        size_t name_len;
        if (!probe_redis_patterns_match(be->pat, k->str, k->len, &name, &name_len))
            continue;
        if (name_len > PROBE_NAME_MAX) {
            /* The store cannot hold that name: skip the key (counted), not the poll. */
            probe_sink_skip(be->sink, PROBE_SKIP_NAME_TOO_LONG);
            continue;
        }
        probe_redis_tally_entry *e = probe_redis_tally_get(&n->tally, name, name_len);
        if (!e) {
            fail_poll(be, LOCUS_ENOMEM, "node %s: SCAN: out of memory", n->addr);
            return;
        }
        e->keys++;
        const char *argv[3] = {"MEMORY", "USAGE", k->str};
        size_t lens[3] = {6, 5, k->len};
        if (node_cmd(n, mu_cb, e, 3, argv, lens)) {
            scan_failed(n, "MEMORY USAGE", n->err);
            return;
        }
        n->mu_inflight++;
    }
    scan_advance(n);
}

/* "MOVED <slot> <ip>:<port>": restart the poll from that node. */
static void handle_moved(rnode *n, const char *msg)
{
    rbackend *be = n->be;
    unsigned slot;
    char addr[300];
    const char *colon;
    if (sscanf(msg, "MOVED %u %299s", &slot, addr) != 2 || slot >= 16384 ||
        !(colon = strrchr(addr, ':')) || colon == addr || atoi(colon + 1) <= 0 ||
        atoi(colon + 1) > 65535 || (size_t)(colon - addr) >= sizeof be->moved_ip) {
        fail_poll(be, LOCUS_EPARSE, "node %s: MEMORY USAGE: malformed MOVED reply '%.100s'",
                  n->addr, msg);
        return;
    }
    if (be->restarts >= PROBE_REDIS_MAX_RESTARTS) {
        fail_poll(be, LOCUS_EIO, "node %s: MEMORY USAGE: %.100s (still moving after %d topology "
                  "refreshes)", n->addr, msg, PROBE_REDIS_MAX_RESTARTS);
        return;
    }
    be->restarts++;
    be->stats.moved_restarts++;
    memcpy(be->moved_ip, addr, (size_t)(colon - addr));
    be->moved_ip[colon - addr] = '\0';
    be->moved_port = atoi(colon + 1);
    be->gen++;
    schedule(be, STEP_RESTART);
}

static void mu_cb(redisAsyncContext *ac, void *r, void *priv)
{
    rnode *n = reply_node(ac);
    redisReply *reply = r;
    if (!n || n->scan_state != SCAN_RUNNING)
        return;
    if (n->mu_inflight)
        n->mu_inflight--;
    if (!reply) {
        scan_failed(n, "MEMORY USAGE", lost_reason(ac, n));
        return;
    }
    probe_redis_tally_entry *e = priv;
    switch (reply->type) {
    case REDIS_REPLY_INTEGER:
        if (reply->integer < 0) {
            fail_poll(n->be, LOCUS_EPARSE, "node %s: MEMORY USAGE: malformed reply (%lld bytes)",
                      n->addr, reply->integer);
            return;
        }
        e->bytes += (uint64_t)reply->integer;
        n->mu_replies++;
        break;
    case REDIS_REPLY_NIL: /* deleted or expired since SCAN */
        e->keys--;
        break;
    case REDIS_REPLY_ERROR:
        if (strncmp(reply->str, "MOVED ", 6) == 0) {
            handle_moved(n, reply->str);
            return;
        }
        if (strncmp(reply->str, "ASK ", 4) == 0) { /* migrating: the target's scan counts it */
            e->keys--;
            break;
        }
        scan_failed(n, "MEMORY USAGE", reply->str);
        return;
    default:
        fail_poll(n->be, LOCUS_EPARSE, "node %s: MEMORY USAGE: malformed reply (type %d)",
                  n->addr, reply->type);
        return;
    }
    scan_advance(n);
}

static void start_scans(rbackend *be)
{
    for (rnode *n = be->nodes; n; n = n->next)
        n->scan_state = SCAN_NONE;
    be->scans_pending = 1; /* held until every scan has been started */
    for (size_t i = 0; i < be->topo->n_shards && be->step != STEP_FINISH; i++) {
        const probe_redis_shard *s = &be->topo->shards[i];
        if (!s->master_ok) {
            fail_poll(be, LOCUS_EIO, "shard of slot %u: master %s:%d is not healthy (%u slots "
                      "without a reachable master)", s->first_slot,
                      s->master.ip ? s->master.ip : "?", s->master.port, s->slots);
            return;
        }
        rnode *m = node_get(be, s->master.ip, s->master.port);
        if (!m) {
            fail_poll(be, LOCUS_ENOMEM, "out of memory");
            return;
        }
        scan_begin(be, m, 0, s->master.host);
        for (size_t k = 0; be->cfg.read_replicas && k < s->n_replicas; k++) {
            rnode *rn = node_get(be, s->replicas[k].ip, s->replicas[k].port);
            if (!rn) {
                fail_poll(be, LOCUS_ENOMEM, "out of memory");
                return;
            }
            if (rn->scan_state == SCAN_NONE)
                scan_begin(be, rn, 1, s->replicas[k].host);
        }
    }
    if (be->step != STEP_FINISH && --be->scans_pending == 0)
        schedule(be, STEP_FINISH);
}

/* ---- topology ------------------------------------------------------------- */

static void topo_slots_cb(redisAsyncContext *ac, void *r, void *priv);

static void topo_note_error(rbackend *be, const rnode *n, const char *command, const char *why)
{
    char piece[400];
    size_t len = strlen(be->topo_errs);
    int k = snprintf(piece, sizeof piece, "%snode %.100s: %.40s: %.200s", len ? "; " : "", n->addr,
                     command, why);
    size_t room = sizeof be->topo_errs - len - 1;
    size_t take = k < 0 ? 0 : (size_t)k < room ? (size_t)k : room;
    memcpy(be->topo_errs + len, piece, take);
    be->topo_errs[len + take] = '\0';
}

static void topo_install(rbackend *be, const rnode *from, probe_redis_topology *t)
{
    /* Slots nobody serves hold data we cannot see: publishing without them
     * would delete their datasets' hints (a node not yet joined to the
     * cluster, a shard dropped from CLUSTER SLOTS). */
    unsigned covered = 0;
    for (size_t i = 0; i < t->n_shards; i++)
        covered += t->shards[i].slots;
    if (covered < 16384) {
        fail_poll(be, LOCUS_EIO, "node %s: %s: only %u of 16384 slots are served", from->addr,
                  t->from_slots ? "CLUSTER SLOTS" : "CLUSTER SHARDS", covered);
        probe_redis_topology_free(t);
        return;
    }
    probe_redis_topology_free(be->topo);
    be->topo = t;
    be->stats.topology_refreshes++;
    be->stats.slots_fallbacks += (uint64_t)t->from_slots;
    start_scans(be);
}

static void topo_shards_cb(redisAsyncContext *ac, void *r, void *priv)
{
    (void)priv;
    rnode *n = reply_node(ac);
    redisReply *reply = r;
    if (!n)
        return;
    rbackend *be = n->be;
    if (!reply) {
        topo_note_error(be, n, "CLUSTER SHARDS", lost_reason(ac, n));
        schedule(be, STEP_TOPO_NEXT);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) { /* unknown subcommand, ACL: try CLUSTER SLOTS */
        if (node_cmd1(n, topo_slots_cb, "CLUSTER", "SLOTS")) {
            topo_note_error(be, n, "CLUSTER SLOTS", n->err);
            schedule(be, STEP_TOPO_NEXT);
        }
        return;
    }
    probe_redis_topology *t;
    char err[ERRMSG_LEN];
    int rc = probe_redis_topology_from_shards(reply, n->addr, &t, err, sizeof err);
    if (rc) {
        fail_poll(be, rc, "%s", err);
        return;
    }
    topo_install(be, n, t);
}

static void topo_slots_cb(redisAsyncContext *ac, void *r, void *priv)
{
    (void)priv;
    rnode *n = reply_node(ac);
    redisReply *reply = r;
    if (!n)
        return;
    rbackend *be = n->be;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        topo_note_error(be, n, "CLUSTER SLOTS", reply ? reply->str : lost_reason(ac, n));
        schedule(be, STEP_TOPO_NEXT);
        return;
    }
    probe_redis_topology *t;
    char err[ERRMSG_LEN];
    int rc = probe_redis_topology_from_slots(reply, n->addr, &t, err, sizeof err);
    if (rc) {
        fail_poll(be, rc, "%s", err);
        return;
    }
    topo_install(be, n, t);
}

static void cand_add(rbackend *be, const char *ip, int port, size_t cap)
{
    if (!ip || port <= 0 || be->n_cands >= cap)
        return;
    rnode *n = node_get(be, ip, port);
    if (!n)
        return;
    for (size_t i = 0; i < be->n_cands; i++)
        if (be->cands[i] == n)
            return;
    be->cands[be->n_cands++] = n;
}

/* Candidates for the topology: the MOVED target, known masters, seeds. */
static int topo_begin(rbackend *be)
{
    size_t cap = 1 + be->n_seeds + (be->topo ? be->topo->n_shards : 0);
    free(be->cands);
    be->cands = calloc(cap, sizeof *be->cands);
    if (!be->cands)
        return LOCUS_ENOMEM;
    be->n_cands = be->cand_i = 0;
    be->topo_errs[0] = '\0';
    if (be->moved_ip[0])
        cand_add(be, be->moved_ip, be->moved_port, cap);
    be->moved_ip[0] = '\0';
    for (size_t i = 0; be->topo && i < be->topo->n_shards; i++)
        if (be->topo->shards[i].master_ok)
            cand_add(be, be->topo->shards[i].master.ip, be->topo->shards[i].master.port, cap);
    for (size_t i = 0; i < be->n_seeds; i++)
        cand_add(be, be->seeds[i].host, be->seeds[i].port, cap);
    return 0;
}

/* Asks the next candidate; runs outside hiredis callbacks. */
static void topo_next(rbackend *be)
{
    while (be->cand_i < be->n_cands) {
        rnode *n = be->cands[be->cand_i++];
        if (node_ensure(n)) {
            topo_note_error(be, n, "connect", n->err);
            continue;
        }
        if (node_cmd1(n, topo_shards_cb, "CLUSTER", "SHARDS")) {
            topo_note_error(be, n, "CLUSTER SHARDS", n->err);
            continue;
        }
        return;
    }
    fail_poll(be, LOCUS_EIO, "no cluster node gave a topology: %s",
              be->topo_errs[0] ? be->topo_errs : "no seeds");
}

/* ---- publish -------------------------------------------------------------- */

static int put_blocks(rbackend *be, char *err, size_t errlen)
{
    probe_redis_tally next_index = {0}; /* dataset -> next block index (in .bytes) */
    locus_hs_replica *reps = NULL;
    size_t max_reps = 1;
    int rc = 0;
    uint64_t keys = 0;
    if (be->topo)
        for (size_t i = 0; i < be->topo->n_shards; i++)
            if (be->topo->shards[i].n_replicas + 1 > max_reps)
                max_reps = be->topo->shards[i].n_replicas + 1;
    reps = calloc(max_reps, sizeof *reps);
    if (!reps)
        return LOCUS_ENOMEM;
    be->stats.last_masters = be->stats.last_replicas = 0;
    be->stats.last_memory_usage = 0;
    for (rnode *n = be->nodes; n; n = n->next)
        if (n->scan_state == SCAN_DONE)
            be->stats.last_memory_usage += n->mu_replies;
    for (size_t i = 0; be->topo && i < be->topo->n_shards && rc == 0; i++) {
        const probe_redis_shard *s = &be->topo->shards[i];
        rnode *m = node_get(be, s->master.ip, s->master.port);
        if (!m || m->scan_state != SCAN_DONE) {
            snprintf(err, errlen, "node %s:%d: scan did not complete", s->master.ip, s->master.port);
            rc = LOCUS_EIO;
            break;
        }
        be->stats.last_masters++;
        keys += m->keys_scanned;
        rnode *rep_nodes[64];
        size_t n_rep_nodes = 0;
        for (size_t k = 0; be->cfg.read_replicas && k < s->n_replicas && n_rep_nodes < 64; k++) {
            rnode *rn = node_get(be, s->replicas[k].ip, s->replicas[k].port);
            if (rn && rn->scan_state == SCAN_DONE) {
                rep_nodes[n_rep_nodes++] = rn;
                be->stats.last_replicas++;
            }
        }
        for (size_t slot = 0; slot < m->tally.cap && rc == 0; slot++) {
            const probe_redis_tally_entry *e = m->tally.slots[slot];
            if (!e || e->keys == 0)
                continue;
            size_t nr = 0;
            reps[nr++] = (locus_hs_replica){m->host, LOCUS_TIER_MEM};
            for (size_t k = 0; k < n_rep_nodes; k++) {
                const probe_redis_tally_entry *re =
                    probe_redis_tally_find(&rep_nodes[k]->tally, e->name, e->len);
                if (!re || re->keys == 0 || nr >= max_reps)
                    continue;
                int dup = 0;
                for (size_t j = 0; j < nr; j++)
                    dup |= strcmp(reps[j].host, rep_nodes[k]->host) == 0;
                if (!dup)
                    reps[nr++] = (locus_hs_replica){rep_nodes[k]->host, LOCUS_TIER_MEM};
            }
            probe_redis_tally_entry *ni = probe_redis_tally_get(&next_index, e->name, e->len);
            if (!ni) {
                rc = LOCUS_ENOMEM;
                break;
            }
            uint64_t left = e->bytes, bs = (uint64_t)be->cfg.block_bytes;
            do {
                uint64_t b = bs && left > bs ? bs : left;
                locus_hs_block blk = {e->name, ni->bytes++, b, reps, nr};
                rc = probe_sink_put(be->sink, &blk);
                if (rc) {
                    snprintf(err, errlen, "node %s: dataset '%s' block %" PRIu64 " refused: %s",
                             m->addr, e->name, blk.index, locus_strerror(rc));
                    break;
                }
                left -= b;
            } while (left > 0);
        }
    }
    if (rc == 0) {
        probe_sink_count_keys(be->sink, keys);
        be->stats.last_keys_scanned = keys;
    }
    probe_redis_tally_clear(&next_index);
    free(reps);
    return rc;
}

/* ---- the deferred step ------------------------------------------------------ */

static void step_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    rbackend *be = arg;
    if (!be->active)
        return;
    switch (be->step) {
    case STEP_TOPO_NEXT:
        be->step = STEP_NONE;
        topo_next(be);
        break;
    case STEP_RESTART:
        be->step = STEP_NONE;
        drop_busy(be);
        if (topo_begin(be)) {
            fail_poll(be, LOCUS_ENOMEM, "out of memory");
            break;
        }
        topo_next(be);
        break;
    case STEP_FINISH: {
        if (be->status == 0)
            be->status = put_blocks(be, be->errmsg, sizeof be->errmsg);
        drop_busy(be);
        for (rnode *n = be->nodes; n; n = n->next)
            n->scan_state = SCAN_NONE;
        int status = be->status;
        char msg[ERRMSG_LEN];
        snprintf(msg, sizeof msg, "%s", status ? be->errmsg : "");
        if (status)
            be->stats.polls_failed++;
        else
            be->stats.polls_ok++;
        probe_poll_done_fn done = be->done;
        void *ctx = be->done_ctx;
        be->active = 0;
        be->step = STEP_NONE;
        be->sink = NULL;
        be->gen++;
        done(ctx, status, status ? msg : NULL); /* may destroy be */
        break;
    }
    default:
        break;
    }
}

/* ---- reader guard --------------------------------------------------------- */

/* Two things hiredis 0.14 does with whatever a node sends, guarded here at
 * the reader (the only hook it offers):
 * - it allocates an array reply's element table as soon as the header
 *   arrives, whatever the count: counts over the cap are refused;
 * - a reply that answers no command sent (and is not an error) trips an
 *   assert() in redisProcessCallbacks and aborts the whole probe: a
 *   top-level reply on a node with no command in flight is refused.
 * A refusal is a reader error: hiredis fails the connection, and the poll
 * fails naming the node. The node rides in the reader's privdata (unused by
 * hiredis's async layer). */
static redisReplyObjectFunctions guarded_functions;
static redisReplyObjectFunctions plain_functions;

static int unsolicited(const redisReadTask *task)
{
    if (task->parent)
        return 0; /* an element of a reply already accounted for */
    const rnode *n = task->privdata; /* hiredis copies the reader's privdata into each task */
    return n && n->inflight == 0;
}

static void *guarded_create_array(const redisReadTask *task, int elements)
{
    if (elements < 0 || elements > PROBE_REDIS_MAX_ELEMENTS || unsolicited(task))
        return NULL;
    return plain_functions.createArray(task, elements);
}

static void *guarded_create_string(const redisReadTask *task, char *str, size_t len)
{
    return unsolicited(task) ? NULL : plain_functions.createString(task, str, len);
}

static void *guarded_create_integer(const redisReadTask *task, long long value)
{
    return unsolicited(task) ? NULL : plain_functions.createInteger(task, value);
}

static void *guarded_create_nil(const redisReadTask *task)
{
    return unsolicited(task) ? NULL : plain_functions.createNil(task);
}

void probe_redis_guard_reader(redisReader *r)
{
    if (!r || !r->fn)
        return;
    if (!plain_functions.createArray) { /* the loop's thread only: no race */
        plain_functions = *r->fn;
        guarded_functions = *r->fn;
        guarded_functions.createArray = guarded_create_array;
        guarded_functions.createString = guarded_create_string;
        guarded_functions.createInteger = guarded_create_integer;
        guarded_functions.createNil = guarded_create_nil;
    }
    if (r->fn->createArray == plain_functions.createArray)
        r->fn = &guarded_functions;
}

/* ---- the backend table ---------------------------------------------------- */

static int parse_seeds(rbackend *be, const char *spec, char *err, size_t errlen)
{
    /* Sized by the same separators the loop below splits on: a separator it
     * honours but this count ignored once overflowed the array. */
    size_t cap = 1;
    for (const char *c = spec; *c; c++)
        cap += *c == ',' || *c == ' ' || *c == '\t';
    be->seeds = calloc(cap, sizeof *be->seeds);
    if (!be->seeds)
        return LOCUS_ENOMEM;
    const char *s = spec;
    while (*s) {
        size_t len = strcspn(s, ", \t");
        if (len) {
            char item[300];
            if (len >= sizeof item) {
                snprintf(err, errlen, "redis.seeds: item too long");
                return LOCUS_ECONFIG;
            }
            memcpy(item, s, len);
            item[len] = '\0';
            char *colon = strrchr(item, ':');
            char *end = NULL;
            long port = colon ? strtol(colon + 1, &end, 10) : 0;
            if (!colon || colon == item || !end || *end || port <= 0 || port > 65535) {
                snprintf(err, errlen, "redis.seeds: '%s' is not host:port", item);
                return LOCUS_ECONFIG;
            }
            *colon = '\0';
            char *host = item;
            if (host[0] == '[' && colon[-1] == ']') { /* [v6]:port */
                colon[-1] = '\0';
                host++;
            }
            if (!(be->seeds[be->n_seeds].host = strdup(host)))
                return LOCUS_ENOMEM;
            be->seeds[be->n_seeds++].port = (int)port;
        }
        s += len;
        while (*s == ',' || *s == ' ' || *s == '\t')
            s++;
    }
    if (be->n_seeds == 0) {
        snprintf(err, errlen, "redis.seeds: no seed node given");
        return LOCUS_ECONFIG;
    }
    return 0;
}

static void redis_destroy(void *state);

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static int redis_create(const void *config, struct event_base *base, void **state, char *err,
                        size_t errlen)
{
    const probe_redis_config *c = config;
    *state = NULL;
    rbackend *be = calloc(1, sizeof *be);
    if (!be)
        return LOCUS_ENOMEM;
    be->cfg = *c;
    be->cfg.seeds = dup_or_empty(c->seeds);
    be->cfg.datasets = dup_or_empty(c->datasets);
    be->cfg.password = NULL; /* never kept beyond be->password */
    be->cfg.password_env = dup_or_empty(c->password_env);
    be->base = base;
    int rc = LOCUS_ENOMEM;
    if (!be->cfg.seeds || !be->cfg.datasets || !be->cfg.password_env)
        goto fail;
    if ((rc = parse_seeds(be, be->cfg.seeds, err, errlen)))
        goto fail;
    if ((rc = probe_redis_patterns_parse(be->cfg.datasets, &be->pat, err, errlen)))
        goto fail;
    if (be->cfg.password_env[0]) {
        const char *pw = getenv(be->cfg.password_env);
        if (!pw || !*pw) {
            snprintf(err, errlen, "redis.password_env: environment variable %s is not set",
                     be->cfg.password_env);
            rc = LOCUS_ECONFIG;
            goto fail;
        }
        be->password = strdup(pw);
    } else if (c->password && c->password[0]) {
        be->password = strdup(c->password);
    }
    rc = LOCUS_ENOMEM;
    if ((be->cfg.password_env[0] || (c->password && c->password[0])) && !be->password)
        goto fail;
    if (!(be->step_ev = event_new(base, -1, 0, step_cb, be)))
        goto fail;
    *state = be;
    return 0;
fail:
    if (rc == LOCUS_ENOMEM)
        snprintf(err, errlen, "redis: out of memory");
    redis_destroy(be);
    return rc;
}

static void redis_destroy(void *state)
{
    rbackend *be = state;
    if (!be)
        return;
    be->active = 0;
    for (rnode *n = be->nodes, *next; n; n = next) {
        next = n->next;
        node_drop(n);
        if (n->timer)
            event_free(n->timer);
        probe_redis_tally_clear(&n->tally);
        free(n->host);
        free(n->ip);
        free(n);
    }
    if (be->step_ev)
        event_free(be->step_ev);
    probe_redis_topology_free(be->topo);
    probe_redis_patterns_free(be->pat);
    for (size_t i = 0; i < be->n_seeds; i++)
        free(be->seeds[i].host);
    free(be->seeds);
    free(be->cands);
    if (be->password) {
        memset(be->password, 0, strlen(be->password));
        free(be->password);
    }
    free(be->cfg.seeds);
    free(be->cfg.datasets);
    free(be->cfg.password_env);
    free(be);
}

static int redis_poll(void *state, probe_sink *sink, probe_poll_done_fn done, void *done_ctx)
{
    rbackend *be = state;
    if (be->active)
        return LOCUS_EBUSY;
    be->active = 1;
    be->sink = sink;
    be->done = done;
    be->done_ctx = done_ctx;
    be->status = 0;
    be->errmsg[0] = '\0';
    be->restarts = 0;
    be->moved_ip[0] = '\0';
    be->gen++;
    if (topo_begin(be)) {
        be->active = 0;
        return LOCUS_ENOMEM;
    }
    /* Start from the loop: done must never run inside poll(). */
    schedule(be, STEP_TOPO_NEXT);
    return 0;
}

static void redis_cancel(void *state)
{
    rbackend *be = state;
    if (!be || !be->active)
        return;
    be->active = 0;
    be->step = STEP_NONE;
    be->gen++;
    event_del(be->step_ev);
    drop_busy(be);
    for (rnode *n = be->nodes; n; n = n->next)
        n->scan_state = SCAN_NONE;
    be->sink = NULL;
}

void probe_redis_get_stats(const void *state, probe_redis_stats *out)
{
    const rbackend *be = state;
    *out = be->stats;
}

const probe_backend_type probe_backend_redis = {
    .name = "redis",
    .keys = redis_keys,
    .n_keys = sizeof redis_keys / sizeof redis_keys[0],
    .config_size = sizeof(probe_redis_config),
    .create = redis_create,
    .destroy = redis_destroy,
    .poll = redis_poll,
    .cancel = redis_cancel,
};
