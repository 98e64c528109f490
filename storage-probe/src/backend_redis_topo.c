/* Redis Cluster topology parsing (see backend_redis_topo.h).
 *
 * CLUSTER SHARDS is preferred: it states each node's role and health and its
 * announced hostname in one self-describing map, so a failed master is seen
 * as failed instead of being dialled. CLUSTER SLOTS (older servers, or ACLs
 * that deny CLUSTER SHARDS) lists slot ranges with their master first; ranges
 * are grouped into shards by master id. Both replies are checked field by
 * field: any unexpected type is a parse error naming the node and command,
 * never a crash or a silently wrong topology. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"

#include "backend_redis_slot.h"
#include "backend_redis_topo.h"

typedef struct parse_ctx {
    const char *origin;
    const char *command;
    char *err;
    size_t errlen;
    unsigned char claimed[PROBE_REDIS_SLOTS / 8]; /* slots some shard already serves */
} parse_ctx;

static int fail(parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parse_ctx *c, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "node %s: %s: malformed reply: %s", c->origin, c->command, why);
    return LOCUS_EPARSE;
}

static void node_clear(probe_redis_node_info *n)
{
    free(n->ip);
    free(n->host);
    free(n->id);
    memset(n, 0, sizeof *n);
}

static void shard_clear(probe_redis_shard *s)
{
    node_clear(&s->master);
    for (size_t i = 0; i < s->n_replicas; i++)
        node_clear(&s->replicas[i]);
    free(s->replicas);
    memset(s, 0, sizeof *s);
}

void probe_redis_topology_free(probe_redis_topology *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_shards; i++)
        shard_clear(&t->shards[i]);
    free(t->shards);
    free(t);
}

static int is_str(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

static int str_eq(const redisReply *r, const char *s)
{
    return is_str(r) && strlen(s) == r->len && memcmp(r->str, s, r->len) == 0;
}

/* Fills node fields; ip "" or "?" means the node announces no address. */
static int node_set(probe_redis_node_info *n, const char *ip, const char *hostname,
                    const char *id, long long port)
{
    n->ip = strdup(ip);
    n->host = strdup(hostname && *hostname ? hostname : ip);
    n->id = strdup(id ? id : "");
    n->port = (int)port;
    return n->ip && n->host && n->id ? 0 : LOCUS_ENOMEM;
}

static int addr_usable(const char *ip) { return *ip && strcmp(ip, "?") != 0; }

static int shards_cmp(const void *a, const void *b)
{
    const probe_redis_shard *x = a, *y = b;
    return (x->first_slot > y->first_slot) - (x->first_slot < y->first_slot);
}

/* A range must lie in 0-16383 and overlap no range seen before in this
 * reply: coverage is counted by adding ranges, so two shards claiming the
 * same slots would otherwise pass for a complete cluster. */
static int check_range(parse_ctx *c, long long lo, long long hi)
{
    if (lo < 0 || hi >= PROBE_REDIS_SLOTS || lo > hi)
        return fail(c, "slot range %lld-%lld out of 0-16383", lo, hi);
    for (long long s = lo; s <= hi; s++) {
        if (c->claimed[s >> 3] & (1u << (s & 7)))
            return fail(c, "slot %lld is claimed twice (range %lld-%lld overlaps an earlier one)",
                        s, lo, hi);
        c->claimed[s >> 3] |= (unsigned char)(1u << (s & 7));
    }
    return 0;
}

/* ---- CLUSTER SHARDS ------------------------------------------------------ */

typedef struct shard_node_fields {
    char ip[256], hostname[256], id[64], role[16], health[16];
    long long port;
} shard_node_fields;

static void copy_field(char *dst, size_t cap, const redisReply *v)
{
    size_t n = v->len < cap - 1 ? v->len : cap - 1;
    memcpy(dst, v->str, n);
    dst[n] = '\0';
}

static int parse_shard_node(parse_ctx *c, const redisReply *m, shard_node_fields *f)
{
    memset(f, 0, sizeof *f);
    f->port = -1;
    if (m->type != REDIS_REPLY_ARRAY || m->elements % 2)
        return fail(c, "node entry is not a map");
    for (size_t i = 0; i < m->elements; i += 2) {
        const redisReply *k = m->element[i], *v = m->element[i + 1];
        if (!is_str(k))
            return fail(c, "node entry key is not a string");
        if (str_eq(k, "port")) {
            if (v->type != REDIS_REPLY_INTEGER)
                return fail(c, "node port is not an integer");
            f->port = v->integer;
            continue;
        }
        char *dst = NULL;
        size_t cap = 0;
        if (str_eq(k, "ip")) { dst = f->ip; cap = sizeof f->ip; }
        else if (str_eq(k, "hostname")) { dst = f->hostname; cap = sizeof f->hostname; }
        else if (str_eq(k, "id")) { dst = f->id; cap = sizeof f->id; }
        else if (str_eq(k, "role")) { dst = f->role; cap = sizeof f->role; }
        else if (str_eq(k, "health")) { dst = f->health; cap = sizeof f->health; }
        if (!dst)
            continue; /* endpoint, tls-port, replication-offset, later additions */
        if (!is_str(v))
            return fail(c, "node field '%.*s' is not a string", (int)k->len, k->str);
        copy_field(dst, cap, v);
    }
    if (f->port < 0 && f->ip[0])
        return fail(c, "node %s has no port", f->ip);
    if (f->port == 0 || f->port > 65535)
        f->port = -1; /* tls-only or unknown: not dialable */
    if (strcmp(f->role, "master") != 0 && strcmp(f->role, "replica") != 0)
        return fail(c, "node role '%s' is neither master nor replica", f->role);
    return 0;
}

static int parse_one_shard(parse_ctx *c, const redisReply *sh, probe_redis_shard *s)
{
    if (sh->type != REDIS_REPLY_ARRAY || sh->elements % 2)
        return fail(c, "shard entry is not a map");
    const redisReply *slots = NULL, *nodes = NULL;
    for (size_t i = 0; i < sh->elements; i += 2) {
        if (str_eq(sh->element[i], "slots"))
            slots = sh->element[i + 1];
        else if (str_eq(sh->element[i], "nodes"))
            nodes = sh->element[i + 1];
    }
    if (!slots || slots->type != REDIS_REPLY_ARRAY || slots->elements % 2)
        return fail(c, "shard has no slot range list");
    if (!nodes || nodes->type != REDIS_REPLY_ARRAY)
        return fail(c, "shard has no node list");
    s->first_slot = PROBE_REDIS_SLOTS;
    for (size_t i = 0; i < slots->elements; i += 2) {
        const redisReply *lo = slots->element[i], *hi = slots->element[i + 1];
        if (lo->type != REDIS_REPLY_INTEGER || hi->type != REDIS_REPLY_INTEGER)
            return fail(c, "slot bound is not an integer");
        int rc = check_range(c, lo->integer, hi->integer);
        if (rc)
            return rc;
        if ((unsigned)lo->integer < s->first_slot)
            s->first_slot = (unsigned)lo->integer;
        s->slots += (unsigned)(hi->integer - lo->integer + 1);
    }
    s->replicas = calloc(nodes->elements ? nodes->elements : 1, sizeof *s->replicas);
    if (!s->replicas)
        return LOCUS_ENOMEM;
    for (size_t i = 0; i < nodes->elements; i++) {
        shard_node_fields f;
        int rc = parse_shard_node(c, nodes->element[i], &f);
        if (rc)
            return rc;
        /* Only "fail" rules a node out: Redis 7.0 reports a replica whose
         * offset it has not yet heard of as "loading" although it serves
         * reads; a node really loading answers -LOADING and fails its scan. */
        int healthy = strcmp(f.health, "fail") != 0 && strcmp(f.health, "failed") != 0 &&
                      addr_usable(f.ip) && f.port > 0;
        if (strcmp(f.role, "master") == 0) {
            if (s->master.ip)
                return fail(c, "shard lists two masters (%s:%lld and %s:%d)", f.ip, f.port,
                            s->master.ip, s->master.port);
            if (node_set(&s->master, f.ip, f.hostname, f.id, f.port))
                return LOCUS_ENOMEM;
            s->master_ok = healthy;
        } else if (healthy) {
            if (node_set(&s->replicas[s->n_replicas], f.ip, f.hostname, f.id, f.port))
                return LOCUS_ENOMEM;
            s->n_replicas++;
        }
    }
    return 0;
}

int probe_redis_topology_from_shards(const redisReply *r, const char *origin,
                                     probe_redis_topology **out, char *err, size_t errlen)
{
    parse_ctx c = {origin, "CLUSTER SHARDS", err, errlen, {0}};
    *out = NULL;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return fail(&c, "expected an array of shards");
    probe_redis_topology *t = calloc(1, sizeof *t);
    if (!t || !(t->shards = calloc(r->elements ? r->elements : 1, sizeof *t->shards))) {
        free(t);
        return LOCUS_ENOMEM;
    }
    for (size_t i = 0; i < r->elements; i++) {
        probe_redis_shard *s = &t->shards[t->n_shards];
        int rc = parse_one_shard(&c, r->element[i], s);
        t->n_shards++;
        if (rc) {
            probe_redis_topology_free(t);
            return rc;
        }
        if (s->slots == 0) { /* a master without slots holds no data */
            shard_clear(s);
            t->n_shards--;
        }
    }
    qsort(t->shards, t->n_shards, sizeof *t->shards, shards_cmp);
    *out = t;
    return 0;
}

/* ---- CLUSTER SLOTS ------------------------------------------------------- */

/* [ip, port, id?, metadata?]; metadata is a flat map that may hold "hostname". */
static int parse_slots_node(parse_ctx *c, const redisReply *n, char *ip, size_t ipcap,
                            char *hostname, size_t hcap, char *id, size_t idcap, long long *port)
{
    if (n->type != REDIS_REPLY_ARRAY || n->elements < 2 || !is_str(n->element[0]) ||
        n->element[1]->type != REDIS_REPLY_INTEGER)
        return fail(c, "node entry is not [ip, port, ...]");
    copy_field(ip, ipcap, n->element[0]);
    *port = n->element[1]->integer;
    if (*port <= 0 || *port > 65535)
        return fail(c, "node %s port %lld out of range", ip, *port);
    id[0] = hostname[0] = '\0';
    if (n->elements >= 3) {
        if (!is_str(n->element[2]))
            return fail(c, "node %s id is not a string", ip);
        copy_field(id, idcap, n->element[2]);
    }
    if (n->elements >= 4) {
        const redisReply *meta = n->element[3];
        if (meta->type != REDIS_REPLY_ARRAY || meta->elements % 2)
            return fail(c, "node %s metadata is not a map", ip);
        for (size_t i = 0; i < meta->elements; i += 2)
            if (str_eq(meta->element[i], "hostname") && is_str(meta->element[i + 1]))
                copy_field(hostname, hcap, meta->element[i + 1]);
    }
    return 0;
}

int probe_redis_topology_from_slots(const redisReply *r, const char *origin,
                                    probe_redis_topology **out, char *err, size_t errlen)
{
    parse_ctx c = {origin, "CLUSTER SLOTS", err, errlen, {0}};
    *out = NULL;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return fail(&c, "expected an array of slot ranges");
    probe_redis_topology *t = calloc(1, sizeof *t);
    if (!t || !(t->shards = calloc(r->elements ? r->elements : 1, sizeof *t->shards))) {
        free(t);
        return LOCUS_ENOMEM;
    }
    t->from_slots = 1;
    int rc = 0;
    for (size_t i = 0; i < r->elements && rc == 0; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER || e->element[1]->type != REDIS_REPLY_INTEGER) {
            rc = fail(&c, "entry %zu is not [start, end, master, replicas...]", i);
            break;
        }
        long long lo = e->element[0]->integer, hi = e->element[1]->integer;
        if ((rc = check_range(&c, lo, hi)))
            break;
        char ip[256], hostname[256], id[64];
        long long port;
        if ((rc = parse_slots_node(&c, e->element[2], ip, sizeof ip, hostname, sizeof hostname, id,
                                   sizeof id, &port)))
            break;
        /* Same master (by id, else by address) = same shard. */
        probe_redis_shard *s = NULL;
        for (size_t k = 0; k < t->n_shards && !s; k++) {
            probe_redis_shard *o = &t->shards[k];
            if (id[0] ? strcmp(o->master.id, id) == 0
                      : (strcmp(o->master.ip, ip) == 0 && o->master.port == port))
                s = o;
        }
        if (s) {
            if ((unsigned)lo < s->first_slot)
                s->first_slot = (unsigned)lo;
            s->slots += (unsigned)(hi - lo + 1);
            continue; /* replicas were taken from the shard's first range */
        }
        s = &t->shards[t->n_shards++];
        s->first_slot = (unsigned)lo;
        s->slots = (unsigned)(hi - lo + 1);
        if (node_set(&s->master, ip, hostname, id, port)) {
            rc = LOCUS_ENOMEM;
            break;
        }
        s->master_ok = addr_usable(ip);
        s->replicas = calloc(e->elements - 2, sizeof *s->replicas);
        if (!s->replicas) {
            rc = LOCUS_ENOMEM;
            break;
        }
        for (size_t k = 3; k < e->elements; k++) {
            if ((rc = parse_slots_node(&c, e->element[k], ip, sizeof ip, hostname, sizeof hostname,
                                       id, sizeof id, &port)))
                break;
            if (!addr_usable(ip))
                continue;
            if (node_set(&s->replicas[s->n_replicas], ip, hostname, id, port)) {
                rc = LOCUS_ENOMEM;
                break;
            }
            s->n_replicas++;
        }
    }
    if (rc) {
        probe_redis_topology_free(t);
        return rc;
    }
    qsort(t->shards, t->n_shards, sizeof *t->shards, shards_cmp);
    *out = t;
    return 0;
}
