/* locus-hints: the operator's view into a hint store.
 *
 * Reading commands (stats, get, dump, hosts) open the store read-only and
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
        {"stats", cmd_stats}, {"get", cmd_get},       {"dump", cmd_dump},     {"hosts", cmd_hosts},
        {"put", cmd_put},     {"import", cmd_put},    {"delete", cmd_delete},
    };
    for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
        if (strcmp(argv[i], cmds[c].name) == 0)
            return cmds[c].fn(argc - i, argv + i);
    return usage_error(usage_main, "unknown command '%s'", argv[i]);
}
