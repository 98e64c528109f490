/* locus-sim: the command-line front end of the simulator.
 *
 *   locus-sim run [options]       replay a trace under several policies, compare
 *   locus-sim convert IN OUT      SWIM trace -> Locus binary trace
 *   locus-sim config              print an example config file
 *
 * `run` parses its options with getopt_long and the shared convention of
 * locus/cli.h (-c/--config, -s/--set, --check, --opt=value, exit 0/1/2); its
 * model flags (--agents, --seed, ...) are aliases of `--set section.key=value`
 * overrides of the config table in simconf.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "locus/allocator_loader.h"
#include "locus/cli.h"
#include "locus/error.h"
#include "replay.h"
#include "report.h"
#include "simconf.h"
#include "trace.h"
#include "tune.h"

static void usage_main(FILE *f)
{
    fputs("usage: locus-sim COMMAND [options]\n"
          "       locus-sim --help | --version\n"
          "\n"
          "Replays workload traces through a simulated Mesos master that loads allocator\n"
          "plugins through the Locus ABI, and compares policies on the same trace and seed.\n"
          "\n"
          "commands:\n"
          "  run        replay a trace under several policies and report (default: the\n"
          "             shipped FB-2009 trace, policies drf, drf+delay, locality)\n"
          "  convert    convert a SWIM trace into a Locus binary trace\n"
          "  config     print an example config file with every key and its default\n"
          "  tune       search the allocator's tunable keys on a trace, write a config\n"
          "\n"
          "`locus-sim COMMAND --help` describes each command. docs/simulator.md has the model.\n",
          f);
}

static void usage_run(FILE *f)
{
    fprintf(f,
            "usage: locus-sim run [options]\n"
            "\n"
            "  --trace PATH          trace to replay (SWIM .tsv or Locus binary; default\n"
            "                        %s)\n"
            "  -c, --config FILE     model settings (INI; `locus-sim config` prints every key)\n"
            "  -s, --set KEY=VALUE   override one setting, e.g. --set cluster.agents=300 (repeatable)\n"
            "  --check               load the config and overrides, report errors, exit\n"
            "  --seed N              sim.seed\n"
            "  --agents N            cluster.agents\n"
            "  --racks N             cluster.racks\n"
            "  --compress X          sim.time_compression: submit times divided by X (default\n"
            "                        0 = auto, aiming at sim.target_load = 25%% busy CPUs)\n"
            "  --hours H             sim.max_hours: only jobs submitted in the first H hours\n"
            "                        after the first job replayed\n"
            "  --skip-hours H        sim.skip_hours: leave out the jobs of the first H hours\n"
            "                        after the trace's first job (--skip-hours 4 --hours 4:\n"
            "                        hours 4-8)\n"
            "  --jobs N              sim.max_jobs: only the first N jobs\n"
            "  --profile NAME        sim.profile: hadoop-2009 (default), datacenter-10g, cloud-vm\n"
            "  --policies LIST       built-in policies, comma separated (default\n"
            "                        drf,drf+delay,locality; also optimal, the min-cost\n"
            "                        flow bound; \"\" for none)\n"
            "  --policy NAME=PLUGIN[:key=value,...]\n"
            "                        add a policy: any allocator plugin .so on the Locus ABI and\n"
            "                        its create() parameters; sim.framework=naive|delay picks the\n"
            "                        frameworks' behaviour (repeatable)\n"
            "  --plugin PATH         plugin of the built-in policies (default %s)\n"
            "  --allocator-config F  config file given to every plugin's create()\n"
            "  --out DIR             report folder (default ./locus-sim-report)\n"
            "  --no-html             skip plots and the HTML page\n"
            "  --deterministic       leave wall-clock figures out of every output\n"
            "  --hints-dir DIR       where the temporary hint stores go (default $TMPDIR or /tmp)\n"
            "  --threads N           policies replayed at once (default: one per CPU); the\n"
            "                        report is the same whatever N\n"
            "  --progress            progress line on stderr (default: when stderr is a terminal)\n"
            "  --no-progress\n"
            "  --verbose             show the plugins' informational logs\n"
            "  -h, --help            this text\n"
            "  -V, --version         version, plugin ABI and hint store schema\n"
            "\n"
            "Options with a value also take --opt=value. Exit status: 0 ok, 1 failure,\n"
            "2 bad command line.\n",
            sim_default_trace(), locus_allocator_default_plugin_path());
}

static void usage_convert(FILE *f)
{
    fputs("usage: locus-sim convert IN OUT\n"
          "\n"
          "Reads a trace (SWIM tab-separated or Locus binary) and writes it as a Locus binary\n"
          "trace (length-delimited protobuf records, docs/traces.md).\n",
          f);
}

static int has_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

static int cmd_convert(int argc, char **argv)
{
    if (has_help(argc, argv)) {
        usage_convert(stdout);
        return 0;
    }
    if (argc != 2) {
        usage_convert(stderr);
        return 2;
    }
    char err[1024];
    sim_trace *t = NULL;
    sim_trace_load_opts lo = { .format = SIM_TRACE_AUTO };
    if (sim_trace_load(argv[0], &lo, &t, err, sizeof err)) {
        fprintf(stderr, "locus-sim: %s\n", err);
        return 1;
    }
    int rc = sim_trace_write_binary(t, argv[1], err, sizeof err);
    if (rc)
        fprintf(stderr, "locus-sim: %s\n", err);
    else
        printf("wrote %zu jobs to %s\n", t->n_jobs, argv[1]);
    sim_trace_free(t);
    return rc ? 1 : 0;
}

static int cmd_config(int argc, char **argv)
{
    if (has_help(argc, argv)) {
        puts("usage: locus-sim config [--reference]\n\nPrints an example config file: every key, "
             "its default, unit and meaning.\n--reference prints the same as a Markdown table.");
        return 0;
    }
    if (argc == 1 && strcmp(argv[0], "--reference") == 0)
        return locus_cfg_write_reference(sim_config_keys, sim_config_n_keys, stdout) ? 1 : 0;
    if (argc != 0) {
        fputs("usage: locus-sim config [--reference]\n", stderr);
        return 2;
    }
    return locus_cfg_write_example(sim_config_keys, sim_config_n_keys, stdout) ? 1 : 0;
}

typedef struct run_args {
    const char *trace, *config, *plugin, *alloc_config, *out, *hints_dir;
    const char *policies;
    const char *threads;
    const char *extra[64];
    size_t n_extra;
    int no_html, deterministic, progress, verbose;
} run_args;

static locus_cli g_cli = {.tool = "locus-sim"};

/* Parses `run` options (argv[0] is "run") with the shared convention of
 * locus/cli.h; the model flags are aliases of --set overrides. Returns -1 to
 * go on, or an exit code. */
static int parse_run(int argc, char **argv, run_args *a)
{
    enum {
        O_TRACE = 0x2001, O_PLUGIN, O_ALLOC_CONFIG, O_OUT, O_HINTS_DIR, O_THREADS, O_POLICIES,
        O_POLICY, O_NO_HTML, O_DETERMINISTIC, O_PROGRESS, O_NO_PROGRESS, O_VERBOSE, O_ALIAS
    };
    static const char *const alias_key[] = {"sim.seed",      "cluster.agents",
                                            "cluster.racks", "sim.time_compression",
                                            "sim.max_hours", "sim.max_jobs",
                                            "sim.profile",   "sim.skip_hours"};
    static const struct option opts[] = {
        LOCUS_CLI_LONGOPTS,
        {"trace", required_argument, NULL, O_TRACE},
        {"plugin", required_argument, NULL, O_PLUGIN},
        {"allocator-config", required_argument, NULL, O_ALLOC_CONFIG},
        {"out", required_argument, NULL, O_OUT},
        {"hints-dir", required_argument, NULL, O_HINTS_DIR},
        {"threads", required_argument, NULL, O_THREADS},
        {"policies", required_argument, NULL, O_POLICIES},
        {"policy", required_argument, NULL, O_POLICY},
        {"no-html", no_argument, NULL, O_NO_HTML},
        {"deterministic", no_argument, NULL, O_DETERMINISTIC},
        {"progress", no_argument, NULL, O_PROGRESS},
        {"no-progress", no_argument, NULL, O_NO_PROGRESS},
        {"verbose", no_argument, NULL, O_VERBOSE},
        {"seed", required_argument, NULL, O_ALIAS + 0},
        {"agents", required_argument, NULL, O_ALIAS + 1},
        {"racks", required_argument, NULL, O_ALIAS + 2},
        {"compress", required_argument, NULL, O_ALIAS + 3},
        {"hours", required_argument, NULL, O_ALIAS + 4},
        {"jobs", required_argument, NULL, O_ALIAS + 5},
        {"profile", required_argument, NULL, O_ALIAS + 6},
        {"skip-hours", required_argument, NULL, O_ALIAS + 7},
        {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    while ((opt = locus_cli_getopt(&g_cli, argc, argv, LOCUS_CLI_SHORTOPTS, opts)) != -1) {
        int stop = -1;
        switch (opt) {
        case O_TRACE: a->trace = optarg; break;
        case O_PLUGIN: a->plugin = optarg; break;
        case O_ALLOC_CONFIG: a->alloc_config = optarg; break;
        case O_OUT: a->out = optarg; break;
        case O_HINTS_DIR: a->hints_dir = optarg; break;
        case O_THREADS: a->threads = optarg; break;
        case O_POLICIES: a->policies = optarg; break;
        case O_POLICY:
            if (a->n_extra >= 64)
                return locus_cli_usage_error(&g_cli, "too many --policy options");
            a->extra[a->n_extra++] = optarg;
            break;
        case O_NO_HTML: a->no_html = 1; break;
        case O_DETERMINISTIC: a->deterministic = 1; break;
        case O_PROGRESS: a->progress = 1; break;
        case O_NO_PROGRESS: a->progress = 0; break;
        case O_VERBOSE: a->verbose = 1; break;
        case LOCUS_CLI_OPT_STORE:
            return locus_cli_usage_error(&g_cli, "run makes its own temporary stores: use "
                                                 "--hints-dir DIR for where they go");
        default:
            if (opt >= O_ALIAS && opt < O_ALIAS + 8) {
                const char *key = alias_key[opt - O_ALIAS];
                stop = locus_cli_add_override(&g_cli, key, strlen(key), optarg);
            } else {
                stop = locus_cli_option(&g_cli, opt, optarg);
            }
        }
        if (stop >= 0)
            return stop;
    }
    if (optind < argc)
        return locus_cli_usage_error(&g_cli, "run: unexpected argument '%s'", argv[optind]);
    a->config = g_cli.config_path;
    return -1;
}

static int cmd_run(int argc, char **argv)
{
    run_args a;
    memset(&a, 0, sizeof a);
    a.progress = isatty(STDERR_FILENO);
    a.policies = "drf,drf+delay,locality";
    a.out = "locus-sim-report";
    char usage[4096];
    FILE *uf = fmemopen(usage, sizeof usage, "w");
    if (uf) {
        usage_run(uf);
        fclose(uf);
    }
    g_cli.usage = uf ? usage : "usage: locus-sim run [options]\n";
    int status = parse_run(argc, argv, &a);
    char err[2048] = "";
    sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    sim_trace *t = NULL;
    sim_report *r = NULL;
    sim_policy_spec specs[80];
    size_t n_specs = 0;
    char *html = NULL;
    if (status >= 0)
        goto out;
    status = 1;
    if (sim_config_load(&cfg, a.config, g_cli.sets, g_cli.n_sets, err, sizeof err)) {
        fprintf(stderr, "locus-sim: %s\n", err);
        goto out;
    }
    if (g_cli.check) {
        printf("%s: ok\n", a.config ? a.config : "(defaults)");
        status = 0;
        goto out;
    }
    const char *plugin = a.plugin ? a.plugin : locus_allocator_default_plugin_path();
    if (a.policies && *a.policies) {
        char *list = strdup(a.policies), *save = NULL;
        if (!list)
            goto out;
        for (char *p = strtok_r(list, ",", &save); p && n_specs < 16; p = strtok_r(NULL, ",", &save)) {
            if (sim_policy_builtin(p, plugin, &specs[n_specs], err, sizeof err)) {
                fprintf(stderr, "locus-sim: %s\n", err);
                free(list);
                goto out;
            }
            n_specs++;
        }
        free(list);
    }
    for (size_t i = 0; i < a.n_extra; i++) {
        if (sim_policy_parse(a.extra[i], &specs[n_specs], err, sizeof err)) {
            fprintf(stderr, "locus-sim: %s\n", err);
            goto out;
        }
        n_specs++;
    }
    if (n_specs == 0) {
        fputs("locus-sim: no policy to replay (--policies or --policy)\n", stderr);
        goto out;
    }
    const char *trace = a.trace ? a.trace : sim_default_trace();
    sim_trace_load_opts lo = { .format = SIM_TRACE_AUTO, .max_jobs = (size_t)cfg.max_jobs,
                               .max_submit_s = cfg.max_hours * 3600.0,
                               .skip_submit_s = cfg.skip_hours * 3600.0 };
    if (sim_trace_load(trace, &lo, &t, err, sizeof err)) {
        fprintf(stderr, "locus-sim: %s\n", err);
        goto out;
    }
    sim_run_opts ro = { .hints_dir = a.hints_dir, .allocator_config = a.alloc_config,
                        .progress = a.progress, .verbose = a.verbose };
    if (a.threads) {
        char *end;
        long n = strtol(a.threads, &end, 10);
        if (*end || n < 1 || n > 16) {
            fprintf(stderr, "locus-sim: --threads '%s': expected 1 to 16\n", a.threads);
            goto out;
        }
        ro.threads = (int)n;
    }
    size_t n_jobs = sim_jobs_replayed(t, &cfg);
    fprintf(stderr, "locus-sim: replaying %zu jobs of %s under %zu policies on %lld agents, "
            "arrivals %gx faster than the trace%s\n", n_jobs, trace, n_specs, (long long)cfg.agents,
            sim_config_compression(&cfg, t, n_jobs),
            cfg.time_compression <= 0 && cfg.calibration_runs > 0 ? " (estimate; pilot replays of the first policy refine it)" : "");
    if (sim_run(t, trace, &cfg, specs, n_specs, &ro, &r, err, sizeof err)) {
        fprintf(stderr, "locus-sim: %s\n", err);
        goto out;
    }
    unsigned flags = a.deterministic ? SIM_REPORT_DETERMINISTIC : 0;
    if (mkdir(a.out, 0755) != 0 && access(a.out, W_OK) != 0) {
        fprintf(stderr, "locus-sim: cannot create report folder %s\n", a.out);
        goto out;
    }
    char path[4096];
    sim_report_write_table(r, stdout, flags);
    snprintf(path, sizeof path, "%s/report.json", a.out);
    if (sim_report_write_json(r, path, flags, err, sizeof err)) {
        fprintf(stderr, "locus-sim: %s\n", err);
        goto out;
    }
    snprintf(path, sizeof path, "%s/report.csv", a.out);
    if (sim_report_write_csv(r, path, flags, err, sizeof err)) {
        fprintf(stderr, "locus-sim: %s\n", err);
        goto out;
    }
    if (!a.no_html) {
        if (sim_report_write_html(r, a.out, flags, &html, err, sizeof err)) {
            fprintf(stderr, "locus-sim: %s\n", err);
            goto out;
        }
        printf("\nreport: %s (also report.json, report.csv in %s)\n", html, a.out);
    } else {
        printf("\nreport: %s/report.json, %s/report.csv\n", a.out, a.out);
    }
    status = 0;
out:
    free(html);
    sim_report_free(r);
    sim_trace_free(t);
    for (size_t i = 0; i < n_specs; i++)
        sim_policy_spec_free(&specs[i]);
    locus_cfg_free(sim_config_keys, sim_config_n_keys, &cfg);
    locus_cli_free(&g_cli);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return locus_cli_usage_error(&g_cli, "a command is required (run, convert, config)");
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage_main(stdout);
        return 0;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        locus_cli_print_version("locus-sim", stdout);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "tune") == 0)
        return sim_tune_main(argc - 1, argv + 1);
    if (strcmp(cmd, "convert") == 0)
        return cmd_convert(argc - 2, argv + 2);
    if (strcmp(cmd, "config") == 0)
        return cmd_config(argc - 2, argv + 2);
    if (cmd[0] == '-')
        return locus_cli_usage_error(&g_cli, "unknown option '%s'", cmd);
    return locus_cli_usage_error(&g_cli, "unknown command '%s'", cmd);
}
