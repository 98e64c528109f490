/* locus-hints: the operator's view into a hint store.
 *
 * Reading commands (status, stats, get, dump, hosts) open the store read-only and
 * work on one snapshot, so they can run next to a live probe and allocator.
 * Writing commands (put/import, delete) run as one batch: an import is
 * parsed and checked line by line into the batch and committed only when the
 * whole file was good, so a bad line names its file and line and writes
 * nothing. Output is JSON (jansson), one object per line for listings, so it
 * can be piped into jq or back into `put`. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "locus/cli.h"
#include "hints_import.h"
#include "locus/hintstore.h"

#define DEFAULT_STORE LOCUS_HINT_STORE_DEFAULT

static const char *g_store;

static const char usage_main[] =
    "usage: locus-hints [--store PATH] COMMAND [ARGS]\n"
    "       locus-hints --help | --version\n"
    "\n"
    "Inspect and seed a Locus hint store (LMDB).\n"
    "\n"
    "  --store PATH   store folder (default: $LOCUS_HINT_STORE, else " DEFAULT_STORE ")\n"
    "  -h, --help     this text; COMMAND --help describes one command\n"
    "  -V, --version  version, plugin ABI and hint store schema\n"
    "\n"
    "commands:\n"
    "  status [--json] [DATASET]   what is cached: per dataset bytes and percent by\n"
    "                              tier, hosts and age as a table (or one dataset's hosts)\n"
    "  stats                       counts, sizes, writer generation, backend polls\n"
    "  get [--blocks] DATASET      one dataset summary (or its blocks) as JSON\n"
    "  dump [--blocks]             every dataset (or block) as JSON lines\n"
    "  hosts                       storage host -> agent bindings as JSON lines\n"
    "  put --backend NAME [--replace] FILE\n"
    "                              write blocks and bindings from JSON lines ('-' = stdin)\n"
    "  import ...                  same as put\n"
    "  delete [--backend NAME] DATASET INDEX\n"
    "                              delete one block\n"
    "\n"
    "`locus-hints COMMAND --help` describes one command.\n";

static const char usage_status[] =
    "usage: locus-hints [--store PATH] status [--json] [DATASET]\n"
    "Without DATASET: the store's counts, each backend's last poll, then one row\n"
    "per dataset in name order: size, blocks, bytes cached in each tier as a\n"
    "percentage of the dataset's size (every copy counts, capped at 100), storage\n"
    "hosts holding it and the age of its newest placement. With DATASET: that\n"
    "dataset's row, then one row per host and tier (host, agent it is bound to,\n"
    "tier, bytes). Sizes in KiB/MiB/GiB/TiB (powers of 1024), ages in s/m/h/d.\n"
    "With --json: JSON lines with the fields of the probe's /v1/datasets (name,\n"
    "total_bytes, block_count, version, updated_at_ms, age_seconds, hosts,\n"
    "cached.{MEM,SSD,HDD}.{bytes,percent}, placement) instead of the table.\n"
    "Exit status 1 if DATASET is absent.\n";
static const char usage_stats[] =
    "usage: locus-hints [--store PATH] stats\n"
    "Prints one JSON object: datasets, blocks, storage hosts holding data, host\n"
    "bindings, map size and bytes in use, schema version, writer generation, the\n"
    "last commit time and every backend's last poll.\n";
static const char usage_get[] =
    "usage: locus-hints [--store PATH] get [--blocks] DATASET\n"
    "Prints the dataset summary as one JSON object: total_bytes, block_count,\n"
    "version, updated_at_ms and placement (host, agent it is bound to, tier,\n"
    "bytes). With --blocks, also the dataset's blocks.\n"
    "Exit status 1 if the dataset is absent.\n";
static const char usage_dump[] =
    "usage: locus-hints [--store PATH] dump [--blocks]\n"
    "Prints every dataset summary as JSON lines, in name order; with --blocks,\n"
    "every block instead (dataset, index, bytes, replicas, backend,\n"
    "updated_at_ms), a format `put` reads back.\n";
static const char usage_hosts[] =
    "usage: locus-hints [--store PATH] hosts\n"
    "Prints every host binding as a JSON line: storage_host, agent_hostname,\n"
    "agent_id.\n";
static const char usage_put[] =
    "usage: locus-hints [--store PATH] put|import --backend NAME [--replace] FILE\n"
    "Reads JSON lines from FILE ('-' = standard input) and writes them in one\n"
    "batch on behalf of backend NAME. A line is a block:\n"
    "  {\"dataset\":\"d\",\"index\":0,\"bytes\":134217728,\n"
    "   \"replicas\":[{\"host\":\"h1\",\"tier\":\"MEM\"}]}\n"
    "or a host binding:\n"
    "  {\"bind\":\"storage-host\",\"agent_hostname\":\"agent1\",\"agent_id\":\"S1\"}\n"
    "Tiers: MEM, SSD, HDD (also RAM_DISK, DISK, ARCHIVE). Blank lines are skipped.\n"
    "With --replace, every other block of the backend is deleted (a full poll).\n"
    "A bad line is reported as FILE:LINE and nothing is written. The store is\n"
    "created if absent.\n";
static const char usage_delete[] =
    "usage: locus-hints [--store PATH] delete [--backend NAME] DATASET INDEX\n"
    "Deletes one block (the batch is recorded for backend NAME, default \"cli\").\n"
    "Exit status: 0 ok, 1 failure (store error, absent dataset or block, bad input\n"
    "file), 2 bad command line. Options with a value also take --opt=value.\n";

static int is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
    fprintf(stderr, "locus-hints: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage);
    return 2;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static locus_hs *open_store(int writable, int create)
{
    locus_hs_options o = {.read_only = !writable, .create = create};
    locus_hs *hs = NULL;
    char err[512];
    int rc = locus_hs_open(g_store, &o, &hs, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "locus-hints: %s (%s)\n", err, locus_strerror(rc));
        return NULL;
    }
    return hs;
}

static void print_json(json_t *j, size_t flags)
{
    char *s = json_dumps(j, flags | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(j);
}

static void warn_decode_errors(locus_hs_snapshot *s)
{
    uint64_t n = locus_hs_snapshot_decode_errors(s);
    if (n)
        fprintf(stderr, "locus-hints: %llu undecodable value(s) skipped; last: %s\n",
                (unsigned long long)n, locus_hs_snapshot_errstr(s));
}

static json_t *dataset_json(locus_hs_snapshot *s, const locus_hs_dataset *d)
{
    json_t *o = json_object(), *p = json_array();
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "total_bytes", json_integer((json_int_t)d->total_bytes));
    json_object_set_new(o, "block_count", json_integer((json_int_t)d->block_count));
    json_object_set_new(o, "version", json_integer((json_int_t)d->version));
    json_object_set_new(o, "updated_at_ms", json_integer(d->updated_at_ms));
    for (size_t i = 0; i < d->n_placement; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "host", json_string(d->placement[i].host));
        json_object_set_new(e, "agent",
                            json_string(locus_hs_snapshot_agent_for_host(s, d->placement[i].host)));
        json_object_set_new(e, "tier", json_string(locus_tier_name(d->placement[i].tier)));
        json_object_set_new(e, "bytes", json_integer((json_int_t)d->placement[i].bytes));
        json_array_append_new(p, e);
    }
    json_object_set_new(o, "placement", p);
    return o;
}

static json_t *block_json(const locus_hs_block_view *b)
{
    json_t *o = json_object(), *r = json_array();
    json_object_set_new(o, "dataset", json_string(b->dataset));
    json_object_set_new(o, "index", json_integer((json_int_t)b->index));
    json_object_set_new(o, "bytes", json_integer((json_int_t)b->bytes));
    for (size_t i = 0; i < b->n_replicas; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "host", json_string(b->replicas[i].host));
        json_object_set_new(e, "tier", json_string(locus_tier_name(b->replicas[i].tier)));
        json_array_append_new(r, e);
    }
    json_object_set_new(o, "replicas", r);
    json_object_set_new(o, "backend", json_string(b->backend));
    json_object_set_new(o, "updated_at_ms", json_integer(b->updated_at_ms));
    return o;
}

/* ---- reading commands ---- */

static int cmd_stats(int argc, char **argv)
{
    if (argc > 1)
        return is_help(argv[1]) ? (fputs(usage_stats, stdout), 0)
                                : usage_error(usage_stats, "stats: unexpected '%s'", argv[1]);
    locus_hs *hs = open_store(0, 0);
    if (!hs)
        return 1;
    locus_hs_snapshot *s;
    locus_hs_stats st;
    const locus_hs_meta *m;
    int rc = locus_hs_snapshot_open(hs, &s);
    if (rc == 0 && (rc = locus_hs_snapshot_stats(s, &st)) == 0 &&
        (rc = locus_hs_snapshot_meta(s, &m)) == 0) {
        json_t *o = json_object(), *bs = json_array();
        json_object_set_new(o, "store", json_string(locus_hs_path(hs)));
        json_object_set_new(o, "schema_version", json_integer(m->schema_version));
        json_object_set_new(o, "writer_generation", json_integer((json_int_t)m->writer_generation));
        json_object_set_new(o, "updated_at_ms", json_integer(m->updated_at_ms));
        json_object_set_new(o, "datasets", json_integer((json_int_t)st.datasets));
        json_object_set_new(o, "blocks", json_integer((json_int_t)st.blocks));
        json_object_set_new(o, "hosts", json_integer((json_int_t)st.hosts));
        json_object_set_new(o, "bindings", json_integer((json_int_t)st.bindings));
        json_object_set_new(o, "map_size", json_integer((json_int_t)st.map_size));
        json_object_set_new(o, "used_bytes", json_integer((json_int_t)st.used_bytes));
        for (size_t i = 0; i < m->n_backends; i++) {
            const locus_hs_backend_poll *p = &m->backends[i];
            json_t *e = json_object();
            json_object_set_new(e, "backend", json_string(p->backend));
            json_object_set_new(e, "blocks", json_integer((json_int_t)p->blocks));
            json_object_set_new(e, "last_success_ms", json_integer(p->last_success_ms));
            json_object_set_new(e, "last_attempt_ms", json_integer(p->last_attempt_ms));
            json_object_set_new(e, "consecutive_failures",
                                json_integer((json_int_t)p->consecutive_failures));
            json_array_append_new(bs, e);
        }
        json_object_set_new(o, "backends", bs);
        print_json(o, JSON_INDENT(2));
    } else {
        fprintf(stderr, "locus-hints: stats: %s (%s)\n",
                s ? locus_hs_snapshot_errstr(s) : locus_hs_errstr(hs), locus_strerror(rc));
    }
    locus_hs_snapshot_close(s);
    locus_hs_close(hs);
    return rc ? 1 : 0;
}

static int add_block_to_array(const locus_hs_block_view *b, void *arg)
{
    json_array_append_new(arg, block_json(b));
    return 0;
}

static int cmd_get(int argc, char **argv)
{
    const char *name = NULL;
    int blocks = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i]))
            return fputs(usage_get, stdout), 0;
        if (strcmp(argv[i], "--blocks") == 0)
            blocks = 1;
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            return usage_error(usage_get, "get: unexpected '%s'", argv[i]);
    }
    if (!name)
        return usage_error(usage_get, "get: DATASET missing%s", "");
    locus_hs *hs = open_store(0, 0);
    if (!hs)
        return 1;
    locus_hs_snapshot *s = NULL;
    const locus_hs_dataset *d;
    int rc = locus_hs_snapshot_open(hs, &s);
    if (rc == 0)
        rc = locus_hs_snapshot_dataset(s, name, &d);
    if (rc == 0) {
        json_t *o = dataset_json(s, d);
        if (blocks) {
            json_t *arr = json_array();
            locus_hs_snapshot_foreach_block(s, name, add_block_to_array, arr);
            json_object_set_new(o, "blocks", arr);
        }
        print_json(o, JSON_INDENT(2));
    } else if (rc == LOCUS_ENOTFOUND) {
        fprintf(stderr, "locus-hints: dataset '%s' not found in %s\n", name, g_store);
    } else {
        fprintf(stderr, "locus-hints: get %s: %s (%s)\n", name,
                s ? locus_hs_snapshot_errstr(s) : locus_hs_errstr(hs), locus_strerror(rc));
    }
    warn_decode_errors(s);
    locus_hs_snapshot_close(s);
    locus_hs_close(hs);
    return rc ? 1 : 0;
}

typedef struct dump_ctx {
    locus_hs_snapshot *s;
    int blocks;
} dump_ctx;

static int dump_block(const locus_hs_block_view *b, void *arg)
{
    (void)arg;
    print_json(block_json(b), JSON_COMPACT);
    return 0;
}

static int dump_dataset(const locus_hs_dataset *d, void *arg)
{
    dump_ctx *c = arg;
    if (c->blocks) {
        char name[512];
        snprintf(name, sizeof(name), "%s", d->name); /* d is gone once blocks decode */
        return locus_hs_snapshot_foreach_block(c->s, name, dump_block, NULL);
    }
    print_json(dataset_json(c->s, d), JSON_COMPACT);
    return 0;
}

static int cmd_dump(int argc, char **argv)
{
    dump_ctx c = {0};
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i]))
            return fputs(usage_dump, stdout), 0;
        if (strcmp(argv[i], "--blocks") == 0)
            c.blocks = 1;
        else
            return usage_error(usage_dump, "dump: unexpected '%s'", argv[i]);
    }
    locus_hs *hs = open_store(0, 0);
    if (!hs)
        return 1;
    int rc = locus_hs_snapshot_open(hs, &c.s);
    if (rc == 0)
        rc = locus_hs_snapshot_foreach_dataset(c.s, dump_dataset, &c);
    if (rc)
        fprintf(stderr, "locus-hints: dump: %s (%s)\n",
                c.s ? locus_hs_snapshot_errstr(c.s) : locus_hs_errstr(hs), locus_strerror(rc));
    warn_decode_errors(c.s);
    locus_hs_snapshot_close(c.s);
    locus_hs_close(hs);
    return rc ? 1 : 0;
}

static int print_binding(const char *sh, const char *ah, const char *id, void *arg)
{
    (void)arg;
    json_t *o = json_object();
    json_object_set_new(o, "storage_host", json_string(sh));
    json_object_set_new(o, "agent_hostname", json_string(ah));
    json_object_set_new(o, "agent_id", json_string(id));
    print_json(o, JSON_COMPACT);
    return 0;
}

static int cmd_hosts(int argc, char **argv)
{
    if (argc > 1)
        return is_help(argv[1]) ? (fputs(usage_hosts, stdout), 0)
                                : usage_error(usage_hosts, "hosts: unexpected '%s'", argv[1]);
    locus_hs *hs = open_store(0, 0);
    if (!hs)
        return 1;
    locus_hs_snapshot *s = NULL;
    int rc = locus_hs_snapshot_open(hs, &s);
    if (rc == 0)
        rc = locus_hs_snapshot_foreach_binding(s, print_binding, NULL);
    if (rc)
        fprintf(stderr, "locus-hints: hosts: %s (%s)\n",
                s ? locus_hs_snapshot_errstr(s) : locus_hs_errstr(hs), locus_strerror(rc));
    warn_decode_errors(s);
    locus_hs_snapshot_close(s);
    locus_hs_close(hs);
    return rc ? 1 : 0;
}

/* ---- status: what is cached, for people ---- */

/* Bytes each tier holds summed over hosts (every copy counts) and the number
 * of distinct storage hosts: the figures the probe's /v1/datasets gives. */
typedef struct cached_totals {
    uint64_t tier_bytes[LOCUS_TIER_COUNT];
    size_t hosts;
} cached_totals;

static cached_totals totals_of(const locus_hs_dataset *d)
{
    cached_totals c;
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < d->n_placement; i++) {
        const locus_hs_host_bytes *p = &d->placement[i];
        if (p->tier >= LOCUS_TIER_MEM && p->tier <= LOCUS_TIER_HDD)
            c.tier_bytes[p->tier - 1] += p->bytes;
        /* placement is sorted by host: a new host starts where the name changes */
        c.hosts += i == 0 || strcmp(d->placement[i - 1].host, p->host) != 0;
    }
    return c;
}

/* Share of the dataset's size, capped at 100 (copies on several hosts add up). */
static double percent_of(const locus_hs_dataset *d, uint64_t bytes)
{
    double pct = d->total_bytes ? 100.0 * (double)bytes / (double)d->total_bytes : 0;
    return pct > 100 ? 100.0 : pct;
}

static double age_seconds(int64_t updated_at_ms, int64_t now)
{
    return updated_at_ms > 0 && now >= updated_at_ms ? (double)(now - updated_at_ms) / 1000.0 : 0;
}

/* "512 B", "1.5 KiB", "128.0 MiB": powers of 1024, one decimal. */
static void format_bytes(char *dst, size_t cap, uint64_t b)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (b < 1024) {
        snprintf(dst, cap, "%llu B", (unsigned long long)b);
        return;
    }
    double v = (double)b / 1024.0;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    snprintf(dst, cap, "%.1f %s", v, units[u]);
}

/* "-" for never, else whole seconds, minutes, hours or days. */
static void format_age(char *dst, size_t cap, int64_t updated_at_ms, int64_t now)
{
    if (updated_at_ms <= 0) {
        snprintf(dst, cap, "-");
        return;
    }
    double s = age_seconds(updated_at_ms, now);
    if (s < 120)
        snprintf(dst, cap, "%.0fs", s);
    else if (s < 120 * 60)
        snprintf(dst, cap, "%.0fm", s / 60);
    else if (s < 48 * 3600)
        snprintf(dst, cap, "%.0fh", s / 3600);
    else
        snprintf(dst, cap, "%.0fd", s / 86400);
}

static json_t *status_json(locus_hs_snapshot *s, const locus_hs_dataset *d, int64_t now)
{
    cached_totals c = totals_of(d);
    json_t *o = dataset_json(s, d), *cached = json_object();
    for (int t = 0; t < LOCUS_TIER_COUNT; t++) {
        json_t *e = json_object();
        json_object_set_new(e, "bytes", json_integer((json_int_t)c.tier_bytes[t]));
        json_object_set_new(e, "percent", json_real(percent_of(d, c.tier_bytes[t])));
        json_object_set_new(cached, locus_tier_name((locus_tier)(t + 1)), e);
    }
    json_object_set_new(o, "age_seconds", json_real(age_seconds(d->updated_at_ms, now)));
    json_object_set_new(o, "hosts", json_integer((json_int_t)c.hosts));
    json_object_set_new(o, "cached", cached);
    return o;
}

typedef struct status_ctx {
    locus_hs_snapshot *s;
    int64_t now;
    int json;
    int name_width;
} status_ctx;

static void print_dataset_header(int name_width)
{
    printf("%-*s  %10s  %8s  %6s  %6s  %6s  %5s  %5s\n", name_width, "DATASET", "SIZE", "BLOCKS",
           "MEM", "SSD", "HDD", "HOSTS", "AGE");
}

static int print_dataset_row(const locus_hs_dataset *d, void *arg)
{
    status_ctx *c = arg;
    if (c->json) {
        print_json(status_json(c->s, d, c->now), JSON_COMPACT);
        return 0;
    }
    cached_totals t = totals_of(d);
    char size[32], age[32], pct[LOCUS_TIER_COUNT][16];
    format_bytes(size, sizeof size, d->total_bytes);
    format_age(age, sizeof age, d->updated_at_ms, c->now);
    for (int i = 0; i < LOCUS_TIER_COUNT; i++)
        snprintf(pct[i], sizeof pct[i], "%.1f%%", percent_of(d, t.tier_bytes[i]));
    printf("%-*s  %10s  %8llu  %6s  %6s  %6s  %5zu  %5s\n", c->name_width, d->name, size,
           (unsigned long long)d->block_count, pct[0], pct[1], pct[2], t.hosts, age);
    return 0;
}

static int widest_name(const locus_hs_dataset *d, void *arg)
{
    int *w = arg, n = (int)strlen(d->name);
    if (n > *w)
        *w = n > 60 ? 60 : n; /* a longer name overflows its column, not the screen */
    return 0;
}

static void print_store_summary(locus_hs *hs, locus_hs_snapshot *s, int64_t now)
{
    locus_hs_stats st;
    const locus_hs_meta *m;
    if (locus_hs_snapshot_stats(s, &st) != 0 || locus_hs_snapshot_meta(s, &m) != 0)
        return;
    char age[32];
    format_age(age, sizeof age, m->updated_at_ms, now);
    printf("store %s: %llu dataset(s), %llu block(s), %llu storage host(s), %llu binding(s); "
           "last commit %s%s (generation %llu)\n",
           locus_hs_path(hs), (unsigned long long)st.datasets, (unsigned long long)st.blocks,
           (unsigned long long)st.hosts, (unsigned long long)st.bindings,
           m->updated_at_ms > 0 ? age : "never", m->updated_at_ms > 0 ? " ago" : "",
           (unsigned long long)m->writer_generation);
    if (m->n_backends == 0)
        return;
    int w = 7;
    for (size_t i = 0; i < m->n_backends; i++)
        if ((int)strlen(m->backends[i].backend) > w)
            w = (int)strlen(m->backends[i].backend);
    printf("\n%-*s  %12s  %8s  %8s\n", w, "BACKEND", "LAST SUCCESS", "FAILURES", "BLOCKS");
    for (size_t i = 0; i < m->n_backends; i++) {
        const locus_hs_backend_poll *p = &m->backends[i];
        char ok[40];
        format_age(ok, sizeof ok, p->last_success_ms, now);
        if (p->last_success_ms > 0)
            strcat(ok, " ago");
        else
            snprintf(ok, sizeof ok, "never");
        printf("%-*s  %12s  %8llu  %8llu\n", w, p->backend, ok,
               (unsigned long long)p->consecutive_failures, (unsigned long long)p->blocks);
    }
}

static void print_host_rows(locus_hs_snapshot *s, const locus_hs_dataset *d)
{
    int hw = 4, aw = 5;
    for (size_t i = 0; i < d->n_placement; i++) {
        const char *agent = locus_hs_snapshot_agent_for_host(s, d->placement[i].host);
        int h = (int)strlen(d->placement[i].host), a = agent ? (int)strlen(agent) : 1;
        hw = h > hw ? (h > 60 ? 60 : h) : hw;
        aw = a > aw ? (a > 60 ? 60 : a) : aw;
    }
    printf("\n%-*s  %-*s  %-4s  %10s  %6s\n", hw, "HOST", aw, "AGENT", "TIER", "BYTES", "SHARE");
    for (size_t i = 0; i < d->n_placement; i++) {
        const locus_hs_host_bytes *p = &d->placement[i];
        const char *agent = locus_hs_snapshot_agent_for_host(s, p->host);
        char size[32];
        format_bytes(size, sizeof size, p->bytes);
        printf("%-*s  %-*s  %-4s  %10s  %5.1f%%\n", hw, p->host, aw, agent ? agent : "-",
               locus_tier_name(p->tier), size, percent_of(d, p->bytes));
    }
}

static int cmd_status(int argc, char **argv)
{
    const char *name = NULL;
    status_ctx c = {.json = 0, .name_width = 7};
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i]))
            return fputs(usage_status, stdout), 0;
        if (strcmp(argv[i], "--json") == 0)
            c.json = 1;
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            return usage_error(usage_status, "status: unexpected '%s'", argv[i]);
    }
    locus_hs *hs = open_store(0, 0);
    if (!hs)
        return 1;
    c.now = now_ms();
    int rc = locus_hs_snapshot_open(hs, &c.s);
    if (rc == 0 && name) {
        const locus_hs_dataset *d;
        rc = locus_hs_snapshot_dataset(c.s, name, &d);
        if (rc == 0 && c.json) {
            print_json(status_json(c.s, d, c.now), JSON_INDENT(2));
        } else if (rc == 0) {
            widest_name(d, &c.name_width);
            print_dataset_header(c.name_width);
            print_dataset_row(d, &c);
            print_host_rows(c.s, d);
        } else if (rc == LOCUS_ENOTFOUND) {
            fprintf(stderr, "locus-hints: dataset '%s' not found in %s\n", name, g_store);
        }
    } else if (rc == 0) {
        if (!c.json) {
            print_store_summary(hs, c.s, c.now);
            rc = locus_hs_snapshot_foreach_dataset(c.s, widest_name, &c.name_width);
            putchar('\n');
            print_dataset_header(c.name_width);
        }
        if (rc == 0)
            rc = locus_hs_snapshot_foreach_dataset(c.s, print_dataset_row, &c);
    }
    if (rc && rc != LOCUS_ENOTFOUND)
        fprintf(stderr, "locus-hints: status: %s (%s)\n",
                c.s ? locus_hs_snapshot_errstr(c.s) : locus_hs_errstr(hs), locus_strerror(rc));
    warn_decode_errors(c.s);
    locus_hs_snapshot_close(c.s);
    locus_hs_close(hs);
    return rc ? 1 : 0;
}

/* ---- writing commands ---- */

static int cmd_put(int argc, char **argv)
{
    const char *backend = NULL, *file = NULL;
    int replace = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i]))
            return fputs(usage_put, stdout), 0;
        if (strcmp(argv[i], "--replace") == 0)
            replace = 1;
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            backend = argv[++i];
        else if (strncmp(argv[i], "--backend=", 10) == 0)
            backend = argv[i] + 10;
        else if (!file && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
            file = argv[i];
        else
            return usage_error(usage_put, "put: unexpected '%s'", argv[i]);
    }
    if (!backend)
        return usage_error(usage_put, "put: --backend NAME is required%s", "");
    if (!file)
        return usage_error(usage_put, "put: FILE missing (use - for stdin)%s", "");
    int is_stdin = strcmp(file, "-") == 0;
    const char *fname = is_stdin ? "<stdin>" : file;
    FILE *in = is_stdin ? stdin : fopen(file, "r");
    if (!in) {
        fprintf(stderr, "locus-hints: %s: %s\n", file, strerror(errno));
        return 1;
    }
    locus_hs *hs = open_store(1, 1);
    if (!hs) {
        if (!is_stdin)
            fclose(in);
        return 1;
    }
    locus_hs_batch *b;
    int rc = locus_hs_batch_begin(hs, backend, replace, &b);
    if (rc) {
        fprintf(stderr, "locus-hints: %s (%s)\n", locus_hs_errstr(hs), locus_strerror(rc));
        goto done;
    }
    hints_import_counts n;
    char why[700];
    if (hints_import_stream(in, fname, hs, b, &n, why, sizeof(why)) != 0) {
        fprintf(stderr, "%s; nothing written\n", why);
        rc = 1;
    }
    if (rc) {
        locus_hs_batch_abort(b);
        goto done;
    }
    rc = locus_hs_batch_commit(b, now_ms());
    if (rc)
        fprintf(stderr, "locus-hints: %s: commit failed: %s (%s)\n", fname, locus_hs_errstr(hs),
                locus_strerror(rc));
    else
        fprintf(stderr, "locus-hints: %s: %zu block(s), %zu binding(s) written for %s%s\n", fname,
                n.blocks, n.bindings, backend, replace ? " (full replace)" : "");
done:
    if (!is_stdin)
        fclose(in);
    locus_hs_close(hs);
    return rc ? 1 : 0;
}

static int cmd_delete(int argc, char **argv)
{
    const char *backend = "cli", *pos[2] = {NULL, NULL};
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i]))
            return fputs(usage_delete, stdout), 0;
        if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            backend = argv[++i];
        else if (strncmp(argv[i], "--backend=", 10) == 0)
            backend = argv[i] + 10;
        else if (np < 2 && argv[i][0] != '-')
            pos[np++] = argv[i];
        else
            return usage_error(usage_delete, "delete: unexpected '%s'", argv[i]);
    }
    if (np != 2)
        return usage_error(usage_delete, "delete: DATASET and INDEX are required%s", "");
    char *end;
    errno = 0;
    unsigned long long idx = strtoull(pos[1], &end, 10);
    if (errno || *end || !*pos[1] || pos[1][0] == '-')
        return usage_error(usage_delete, "delete: INDEX must be a non-negative integer, not '%s'",
                           pos[1]);
    locus_hs *hs = open_store(1, 0);
    if (!hs)
        return 1;
    locus_hs_batch *b;
    int rc = locus_hs_batch_begin(hs, backend, 0, &b);
    if (rc == 0) {
        rc = locus_hs_batch_delete(b, pos[0], idx);
        if (rc)
            locus_hs_batch_abort(b);
        else
            rc = locus_hs_batch_commit(b, now_ms());
    }
    if (rc)
        fprintf(stderr, "locus-hints: delete: %s (%s)\n", locus_hs_errstr(hs), locus_strerror(rc));
    locus_hs_close(hs);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    /* Options before the command follow the shared convention (locus/cli.h);
     * "+" stops at the command, whose own options come after it. */
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"store", required_argument, NULL, LOCUS_CLI_OPT_STORE},
                                         {NULL, 0, NULL, 0}};
    locus_cli cli = {.tool = "locus-hints", .usage = usage_main};
    int opt;
    while ((opt = locus_cli_getopt(&cli, argc, argv, "+hV", opts)) != -1) {
        int stop = locus_cli_option(&cli, opt, optarg);
        if (stop >= 0)
            return stop;
    }
    g_store = locus_cli_store_path(&cli);
    int i = optind;
    if (i >= argc)
        return usage_error(usage_main, "a command is required%s", "");
    static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
        {"status", cmd_status}, {"stats", cmd_stats}, {"get", cmd_get},
        {"dump", cmd_dump},     {"hosts", cmd_hosts}, {"put", cmd_put},
        {"import", cmd_put},    {"delete", cmd_delete},
    };
    for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
        if (strcmp(argv[i], cmds[c].name) == 0)
            return cmds[c].fn(argc - i, argv + i);
    return usage_error(usage_main, "unknown command '%s'", argv[i]);
}
