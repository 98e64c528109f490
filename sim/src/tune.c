/* `locus-sim tune`: from a cluster's trace to a validated allocator config.
 *
 * The trace (after --hours/--jobs) is split by submit time: the first 60%
 * of its time range trains, the rest validates. Search: successive halving
 * (Jamieson & Talwalkar 2016) with eta = 3 over three rungs, the first 1/9,
 * 1/3 and all of the training jobs: a bracket samples up to 27 configs of
 * the tunable keys (uniform or log-uniform in each key's range), replays
 * them on the smallest window, keeps the best third for the next, and so
 * on; brackets repeat while the budget lasts. Every score is a ratio to the
 * default config replayed on the same window, so windows of different
 * length compare. All replays use one fixed time compression (the one the
 * whole trace gets), so a window runs at the load it has in the trace. The
 * best config on the whole training part is then replayed on the validation
 * part; it is written only if it beats the default there.
 */
#include "tune.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "la_config.h"
#include "locus/allocator_loader.h"
#include "locus/cli.h"
#include "locus/error.h"
#include "replay.h"
#include "simconf.h"
#include "trace.h"

#define ETA 3
#define BRACKET_MAX 27
#define TRAIN_SHARE 0.6
#define MIN_GAIN_DEFAULT 0.5 /* %: a validation gain smaller than this is not worth a file */

static const double rung_share[TUNE_RUNGS] = {1.0 / 9, 1.0 / 3, 1.0};

typedef struct tune_ctx {
    sim_config cfg;
    const char *plugin;
    const char *hints_dir;
    int threads;
    int objective;
    int progress;
    double t0, budget_s;
    const la_config_tunable *tun;
    size_t n_tun;
    const locus_cfg_key *keydef[TUNE_MAX_KEYS];
    char defaults[TUNE_MAX_KEYS][32];
    sim_trace rung_trace[TUNE_RUNGS], val_trace;
    double def_jct[TUNE_RUNGS], def_bytes[TUNE_RUNGS], def_wall[TUNE_RUNGS];
    double val_def_jct, val_def_bytes, val_wall;
    tune_trial *trials;
    size_t n_trials, cap_trials;
    uint64_t rng;
    size_t done_runs;
} tune_ctx;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return (double)(splitmix(s) >> 11) * 0x1.0p-53; }

static const locus_cfg_key *find_key(const char *dotted)
{
    for (size_t i = 0; i < la_config_n_keys; i++) {
        const locus_cfg_key *k = &la_config_keys[i];
        size_t sl = strlen(k->section);
        if (strncmp(dotted, k->section, sl) == 0 && dotted[sl] == '.' &&
            strcmp(dotted + sl + 1, k->name) == 0)
            return k;
    }
    return NULL;
}

static double score_of(int objective, double jct_ratio, double bytes_ratio)
{
    switch (objective) {
    case TUNE_BYTES: return bytes_ratio;
    case TUNE_BALANCED: return 0.5 * (jct_ratio + bytes_ratio);
    default: return jct_ratio;
    }
}

static double ratio(double v, double base) { return base > 0 ? v / base : (v > 0 ? 1 + v : 1); }

/* A sample the allocator's own loader accepts (cross-key rules included);
 * values are rounded to three significant digits so that the file holds
 * exactly what was replayed. */
static int sample(tune_ctx *c, tune_trial *t)
{
    for (int attempt = 0; attempt < 1000; attempt++) {
        locus_cfg_override ov[TUNE_MAX_KEYS];
        for (size_t i = 0; i < c->n_tun; i++) {
            const la_config_tunable *k = &c->tun[i];
            double u = uniform01(&c->rng), v;
            if (k->log_scale && k->lo > 0)
                v = exp(log(k->lo) + u * (log(k->hi) - log(k->lo)));
            else
                v = k->lo + u * (k->hi - k->lo);
            if (c->keydef[i]->type == LOCUS_CFG_INT)
                snprintf(t->values[i], sizeof t->values[i], "%lld", (long long)llround(v));
            else
                snprintf(t->values[i], sizeof t->values[i], "%.3g", v);
            ov[i] = (locus_cfg_override){k->key, t->values[i]};
        }
        la_config tmp;
        memset(&tmp, 0, sizeof tmp);
        char err[256];
        if (la_config_load(&tmp, NULL, ov, c->n_tun, err, sizeof err) == 0) {
            la_config_free(&tmp);
            return 0;
        }
    }
    return -1;
}

static int spec_for(tune_ctx *c, const tune_trial *t, size_t idx, sim_policy_spec *s, char *err,
                    size_t errlen)
{
    if (sim_policy_builtin("locality", c->plugin, s, err, errlen))
        return -1;
    char name[32];
    snprintf(name, sizeof name, "trial%zu", idx);
    free(s->name);
    s->name = strdup(name);
    locus_param *p = realloc(s->params, (s->n_params + c->n_tun) * sizeof *p);
    if (!s->name || !p) {
        if (p)
            s->params = p;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->params = p;
    for (size_t i = 0; i < c->n_tun; i++) {
        char *k = strdup(c->tun[i].key), *v = strdup(t->values[i]);
        if (!k || !v) {
            free(k);
            free(v);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        s->params[s->n_params++] = (locus_param){k, v};
    }
    return 0;
}

static void fmt_time(double s, char *buf, size_t n)
{
    if (s < 0)
        s = 0;
    snprintf(buf, n, "%d:%02d", (int)(s / 60), (int)s % 60);
}

/* Replays trials idx[0..n) on trace tr; fills jct/bytes/wall (arrays of n). */
static int replay_batch(tune_ctx *c, const sim_trace *tr, tune_trial *const *ts, size_t n,
                        double *jct, double *bytes, double *wall, char *err, size_t errlen)
{
    sim_policy_spec specs[16];
    memset(specs, 0, sizeof specs);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = spec_for(c, ts[i], i, &specs[i], err, errlen);
    sim_report *r = NULL;
    if (!rc) {
        sim_run_opts ro = {.hints_dir = c->hints_dir, .threads = c->threads};
        rc = sim_run(tr, tr->source, &c->cfg, specs, n, &ro, &r, err, errlen);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        jct[i] = r->policies[i].jct_all.mean_s;
        bytes[i] = (double)r->policies[i].network_bytes;
        wall[i] = r->policies[i].cost.wall_s;
    }
    sim_report_free(r);
    for (size_t i = 0; i < n; i++)
        sim_policy_spec_free(&specs[i]);
    c->done_runs += n;
    return rc ? -1 : 0;
}

static tune_trial *new_trial(tune_ctx *c)
{
    if (c->n_trials == c->cap_trials) {
        size_t cap = c->cap_trials ? 2 * c->cap_trials : 64;
        tune_trial *t = realloc(c->trials, cap * sizeof *t);
        if (!t)
            return NULL;
        c->trials = t;
        c->cap_trials = cap;
    }
    tune_trial *t = &c->trials[c->n_trials++];
    memset(t, 0, sizeof *t);
    return t;
}

static double rung_cost(const tune_ctx *c, size_t n0)
{
    double s = 0;
    size_t n = n0;
    for (int r = 0; r < TUNE_RUNGS; r++) {
        s += (double)n * c->def_wall[r];
        n = (n + ETA - 1) / ETA;
    }
    /* Replays at once slow each other down (memory bandwidth, a shared
     * machine): a quarter more than the lone default's wall time. */
    return 1.25 * s / c->threads;
}

static int cmp_score(const void *a, const void *b)
{
    const tune_trial *x = *(tune_trial *const *)a, *y = *(tune_trial *const *)b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return x < y ? -1 : (x > y); /* earlier trial first: deterministic */
}

/* One bracket of successive halving with n0 fresh samples. */
static int bracket(tune_ctx *c, size_t n0, int b, size_t max_trials, char *err, size_t errlen)
{
    size_t first = c->n_trials;
    for (size_t i = 0; i < n0; i++) {
        tune_trial *t = new_trial(c);
        if (!t) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (sample(c, t)) {
            snprintf(err, errlen, "no sample of the tunable keys passes the config checks");
            return -1;
        }
    }
    (void)max_trials;
    tune_trial **alive = malloc(n0 * sizeof *alive);
    if (!alive) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t n_alive = n0;
    for (size_t i = 0; i < n0; i++)
        alive[i] = &c->trials[first + i];
    int rc = 0;
    for (int r = 0; r < TUNE_RUNGS && !rc; r++) {
        size_t batch = (size_t)c->threads * 2;
        if (batch > 16)
            batch = 16;
        for (size_t i = 0; i < n_alive && !rc; i += batch) {
            size_t n = n_alive - i < batch ? n_alive - i : batch;
            double jct[16], bytes[16], wall[16];
            rc = replay_batch(c, &c->rung_trace[r], alive + i, n, jct, bytes, wall, err, errlen);
            for (size_t j = 0; !rc && j < n; j++) {
                tune_trial *t = alive[i + j];
                t->rung = r;
                t->jct_ratio = ratio(jct[j], c->def_jct[r]);
                t->bytes_ratio = ratio(bytes[j], c->def_bytes[r]);
                t->score = score_of(c->objective, t->jct_ratio, t->bytes_ratio);
            }
            if (c->progress && !rc) {
                double el = mono_s() - c->t0;
                double left_rung = 0;
                size_t rem = n_alive - i - n;
                left_rung = (double)rem * c->def_wall[r] / c->threads;
                size_t nn = (n_alive + ETA - 1) / ETA;
                for (int rr = r + 1; rr < TUNE_RUNGS; rr++) {
                    left_rung += (double)nn * c->def_wall[rr] / c->threads;
                    nn = (nn + ETA - 1) / ETA;
                }
                double more = c->budget_s - el - left_rung - c->val_wall;
                size_t room = more > 0 ? (size_t)(more / rung_cost(c, BRACKET_MAX)) : 0;
                size_t left_trials = max_trials > c->n_trials ? max_trials - c->n_trials : 0;
                double eta_s = el + left_rung + c->val_wall;
                if (left_trials && room)
                    eta_s = c->budget_s;
                char e1[16], e2[16];
                fmt_time(el, e1, sizeof e1);
                fmt_time(eta_s - el, e2, sizeof e2);
                fprintf(stderr, "\rtune: bracket %d rung %d/%d, %zu/%zu configs, %zu replays, "
                                "elapsed %s, ETA %s   ",
                        b + 1, r + 1, TUNE_RUNGS, i + n, n_alive, c->done_runs, e1, e2);
            }
        }
        if (rc)
            break;
        qsort(alive, n_alive, sizeof *alive, cmp_score);
        n_alive = (n_alive + ETA - 1) / ETA;
    }
    free(alive);
    return rc;
}

static int write_window(const sim_job *jobs, size_t n, const char *src, sim_trace *out)
{
    memset(out, 0, sizeof *out);
    out->jobs = malloc((n ? n : 1) * sizeof *out->jobs);
    if (!out->jobs)
        return -1;
    memcpy(out->jobs, jobs, n * sizeof *jobs);
    /* Windows start at time 0, as a trace of their own would. */
    double t0 = n ? jobs[0].submit_s : 0;
    for (size_t i = 0; i < n; i++)
        out->jobs[i].submit_s -= t0;
    out->n_jobs = n;
    out->source = (char *)src;
    out->format = SIM_TRACE_BINARY;
    return 0;
}

static int write_config(const tune_ctx *c, const tune_trial *t, const char *path,
                        const char *trace, const char *objective, double train_score,
                        double val_jct, double val_bytes, double val_score, char *err,
                        size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "# Locus allocator config found by `locus-sim tune` for %s\n"
               "# (objective %s, seed %lld, %lld agents, time compression %g).\n"
               "# Measured against the default config, as ratios (below 1 = better):\n"
               "#   training window (first %.0f%% of the trace's time): %s score %.4f\n"
               "#   validation window (the rest):  mean JCT %.4f, network bytes %.4f, "
               "score %.4f\n"
               "# Keys not listed keep their defaults (docs/config.md).\n",
            trace, objective, (long long)c->cfg.seed, (long long)c->cfg.agents,
            c->cfg.time_compression, TRAIN_SHARE * 100, objective, train_score, val_jct,
            val_bytes, val_score);
    const char *section = NULL;
    for (size_t i = 0; i < c->n_tun; i++) {
        if (strcmp(t->values[i], c->defaults[i]) == 0)
            continue;
        const locus_cfg_key *k = c->keydef[i];
        if (!section || strcmp(section, k->section) != 0) {
            fprintf(f, "\n[%s]\n", k->section);
            section = k->section;
        }
        fprintf(f, "# %s (default %s%s%s)\n%s = %s\n", k->help, c->defaults[i],
                *k->unit ? " " : "", k->unit, k->name, t->values[i]);
    }
    if (fclose(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: locus-sim tune --trace PATH --objective jct|bytes|balanced --budget MINUTES\n"
            "                      --out FILE [options]\n"
            "\n"
            "Searches the allocator keys the config table marks tunable for the values that\n"
            "suit the trace: trains on the first 60%% of its time range, validates on the rest,\n"
            "and writes FILE (an allocator config) only if it beats the default there.\n"
            "\n"
            "  --trace PATH          trace (SWIM .tsv or Locus binary)\n"
            "  --objective O         jct (mean job completion time), bytes (network bytes) or\n"
            "                        balanced (the mean of both ratios to the default)\n"
            "  --budget MINUTES      wall-clock budget of the whole search (default 10)\n"
            "  --out FILE            tuned allocator config to write\n"
            "  --report DIR          trade-off page, trial table and the validation window as a\n"
            "                        trace (default ./locus-tune-report)\n"
            "  --seed N              sim.seed and the sampler's seed (default 1)\n"
            "  --agents N            cluster.agents\n"
            "  --profile NAME        sim.profile\n"
            "  --hours H, --jobs N   sim.max_hours, sim.max_jobs: the part of the trace used\n"
            "  --skip-hours H        sim.skip_hours: leave out the trace's first H hours\n"
            "  --compress X          sim.time_compression (default 0: calibrated as `run` does,\n"
            "                        by replays of the default on the whole trace first)\n"
            "  --max-trials N        stop sampling after N configs (default: budget only)\n"
            "  --min-gain PCT        validation gain needed to write FILE (default 0.5); a\n"
            "                        negative value accepts the best trained config up to\n"
            "                        that much worse than the default\n"
            "  --threads N           replays at once (default: one per CPU)\n"
            "  --plugin PATH         allocator plugin (default %s)\n"
            "  -c, --config FILE     simulator model settings; -s, --set KEY=VALUE overrides\n"
            "  --hints-dir DIR       where the temporary hint stores go\n"
            "  --progress, --no-progress   progress line with an ETA on stderr (default: on)\n"
            "\n"
            "Exit status: 0 a better config was written, 3 no config beat the default on the\n"
            "validation window (FILE not written), 1 failure, 2 bad command line.\n",
            locus_allocator_default_plugin_path());
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

/* Writes argv-like text for a shell, quoting what needs it. */
static void shell_word(FILE *f, const char *w)
{
    if (w[strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./=:,+")] == 0) {
        fputs(w, f);
        return;
    }
    fputc('\'', f);
    for (; *w; w++)
        if (*w == '\'')
            fputs("'\\''", f);
        else
            fputc(*w, f);
    fputc('\'', f);
}

int sim_tune_main(int argc, char **argv)
{
    enum {
        O_TRACE = 0x2001, O_OBJECTIVE, O_BUDGET, O_OUT, O_REPORT, O_MAX_TRIALS, O_THREADS,
        O_PLUGIN, O_HINTS_DIR, O_PROGRESS, O_NO_PROGRESS, O_MIN_GAIN, O_ALIAS
    };
    static const char *const alias_key[] = {"sim.seed", "cluster.agents", "sim.profile",
                                            "sim.max_hours", "sim.max_jobs",
                                            "sim.time_compression", "sim.skip_hours"};
    static const struct option opts[] = {
        LOCUS_CLI_LONGOPTS,
        {"trace", required_argument, NULL, O_TRACE},
        {"objective", required_argument, NULL, O_OBJECTIVE},
        {"budget", required_argument, NULL, O_BUDGET},
        {"out", required_argument, NULL, O_OUT},
        {"report", required_argument, NULL, O_REPORT},
        {"max-trials", required_argument, NULL, O_MAX_TRIALS},
        {"threads", required_argument, NULL, O_THREADS},
        {"plugin", required_argument, NULL, O_PLUGIN},
        {"hints-dir", required_argument, NULL, O_HINTS_DIR},
        {"progress", no_argument, NULL, O_PROGRESS},
        {"no-progress", no_argument, NULL, O_NO_PROGRESS},
        {"min-gain", required_argument, NULL, O_MIN_GAIN},
        {"seed", required_argument, NULL, O_ALIAS + 0},
        {"agents", required_argument, NULL, O_ALIAS + 1},
        {"profile", required_argument, NULL, O_ALIAS + 2},
        {"hours", required_argument, NULL, O_ALIAS + 3},
        {"jobs", required_argument, NULL, O_ALIAS + 4},
        {"compress", required_argument, NULL, O_ALIAS + 5},
        {"skip-hours", required_argument, NULL, O_ALIAS + 6},
        {NULL, 0, NULL, 0}};
    static locus_cli cli = {.tool = "locus-sim"};
    char ubuf[4096];
    FILE *uf = fmemopen(ubuf, sizeof ubuf, "w");
    if (uf) {
        usage(uf);
        fclose(uf);
    }
    cli.usage = uf ? ubuf : "usage: locus-sim tune --help\n";
    const char *trace = NULL, *objective = NULL, *out = NULL, *report = "locus-tune-report";
    const char *plugin = NULL, *hints_dir = NULL;
    double budget_min = 10, max_trials_d = 0, threads_d = 0, min_gain_pct = MIN_GAIN_DEFAULT;
    int progress = 1;
    int opt, status = -1;
    optind = 1;
    while (status < 0 && (opt = locus_cli_getopt(&cli, argc, argv, LOCUS_CLI_SHORTOPTS, opts)) != -1) {
        switch (opt) {
        case O_TRACE: trace = optarg; break;
        case O_OBJECTIVE: objective = optarg; break;
        case O_OUT: out = optarg; break;
        case O_REPORT: report = optarg; break;
        case O_PLUGIN: plugin = optarg; break;
        case O_HINTS_DIR: hints_dir = optarg; break;
        case O_PROGRESS: progress = 1; break;
        case O_NO_PROGRESS: progress = 0; break;
        case O_BUDGET:
            if (parse_num(optarg, 0.01, 10080, &budget_min))
                status = locus_cli_usage_error(&cli, "--budget '%s': expected minutes, 0.01 to 10080", optarg);
            break;
        case O_MIN_GAIN:
            if (parse_num(optarg, -100, 100, &min_gain_pct))
                status = locus_cli_usage_error(&cli, "--min-gain '%s': expected a percentage, -100 to 100", optarg);
            break;
        case O_MAX_TRIALS:
            if (parse_num(optarg, 1, 1e6, &max_trials_d))
                status = locus_cli_usage_error(&cli, "--max-trials '%s': expected 1 or more", optarg);
            break;
        case O_THREADS:
            if (parse_num(optarg, 1, 16, &threads_d))
                status = locus_cli_usage_error(&cli, "--threads '%s': expected 1 to 16", optarg);
            break;
        case LOCUS_CLI_OPT_STORE:
            status = locus_cli_usage_error(&cli, "tune makes its own temporary stores: use --hints-dir DIR");
            break;
        default:
            if (opt >= O_ALIAS && opt < O_ALIAS + 7) {
                const char *key = alias_key[opt - O_ALIAS];
                status = locus_cli_add_override(&cli, key, strlen(key), optarg);
            } else {
                status = locus_cli_option(&cli, opt, optarg);
            }
        }
    }
    int obj = -1;
    if (status < 0 && optind < argc)
        status = locus_cli_usage_error(&cli, "tune: unexpected argument '%s'", argv[optind]);
    if (status < 0 && (!trace || !objective || !out))
        status = locus_cli_usage_error(&cli, "tune: --trace, --objective and --out are required");
    if (status < 0) {
        if (strcmp(objective, "jct") == 0)
            obj = TUNE_JCT;
        else if (strcmp(objective, "bytes") == 0)
            obj = TUNE_BYTES;
        else if (strcmp(objective, "balanced") == 0)
            obj = TUNE_BALANCED;
        else
            status = locus_cli_usage_error(&cli, "--objective '%s': expected jct, bytes or balanced", objective);
    }
    if (status >= 0) {
        locus_cli_free(&cli);
        return status;
    }

    status = 1;
    char err[2048] = "";
    tune_ctx c;
    memset(&c, 0, sizeof c);
    c.t0 = mono_s();
    c.budget_s = budget_min * 60;
    c.objective = obj;
    c.progress = progress;
    c.plugin = plugin ? plugin : locus_allocator_default_plugin_path();
    c.hints_dir = hints_dir;
    c.threads = threads_d > 0 ? (int)threads_d : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (c.threads < 1)
        c.threads = 1;
    if (c.threads > 8)
        c.threads = 8;
    c.tun = la_config_tunables;
    c.n_tun = la_config_n_tunables < TUNE_MAX_KEYS ? la_config_n_tunables : TUNE_MAX_KEYS;
    sim_trace *t = NULL;
    sim_report *r = NULL;
    const char *keynames[TUNE_MAX_KEYS];
    for (size_t i = 0; i < c.n_tun; i++) {
        c.keydef[i] = find_key(c.tun[i].key);
        keynames[i] = c.tun[i].key;
        if (!c.keydef[i] || (c.keydef[i]->type != LOCUS_CFG_DOUBLE && c.keydef[i]->type != LOCUS_CFG_INT)) {
            fprintf(stderr, "locus-sim: tunable key %s is not a numeric key of the allocator's "
                            "config table\n", c.tun[i].key);
            goto out;
        }
        /* The default as the parser reads it, in the sampler's format. */
        double d = strtod(c.keydef[i]->default_value, NULL);
        if (c.keydef[i]->type == LOCUS_CFG_INT)
            snprintf(c.defaults[i], sizeof c.defaults[i], "%lld", (long long)llround(d));
        else
            snprintf(c.defaults[i], sizeof c.defaults[i], "%.3g", d);
    }
    if (sim_config_load(&c.cfg, cli.config_path, cli.sets, cli.n_sets, err, sizeof err)) {
        fprintf(stderr, "locus-sim: %s\n", err);
        goto out;
    }
    c.rng = (uint64_t)c.cfg.seed * 0x2545F4914F6CDD1Dull + 1;
    sim_trace_load_opts lo = {.format = SIM_TRACE_AUTO, .max_jobs = (size_t)c.cfg.max_jobs,
                              .max_submit_s = c.cfg.max_hours * 3600.0,
                              .skip_submit_s = c.cfg.skip_hours * 3600.0};
    if (sim_trace_load(trace, &lo, &t, err, sizeof err)) {
        fprintf(stderr, "locus-sim: %s\n", err);
        goto out;
    }
    if (t->n_jobs < 4) {
        fprintf(stderr, "locus-sim: %s: %zu jobs; tune needs at least 4 to train and validate\n",
                trace, t->n_jobs);
        goto out;
    }
    if (mkdir(report, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "locus-sim: cannot create report folder %s: %s\n", report, strerror(errno));
        goto out;
    }

    /* One compression for every window: the whole trace's, calibrated as
     * `run` would (its default-config replay on the whole trace). */
    sim_run_opts ro = {.hints_dir = hints_dir, .threads = c.threads};
    if (c.cfg.time_compression <= 0) {
        if (progress)
            fprintf(stderr, "locus-sim: calibrating the time compression on the whole trace "
                            "(replays of the default; --compress X skips this)\n");
        sim_policy_spec s;
        tune_trial def;
        memset(&def, 0, sizeof def);
        memcpy(def.values, c.defaults, sizeof def.values);
        if (spec_for(&c, &def, 0, &s, err, sizeof err) ||
            sim_run(t, trace, &c.cfg, &s, 1, &ro, &r, err, sizeof err)) {
            sim_policy_spec_free(&s);
            fprintf(stderr, "locus-sim: %s\n", err);
            goto out;
        }
        sim_policy_spec_free(&s);
        c.cfg.time_compression = r->compression;
        sim_report_free(r);
        r = NULL;
    }
    c.cfg.calibration_runs = 0;
    c.cfg.max_jobs = 0;
    c.cfg.max_hours = 0;
    c.cfg.skip_hours = 0;

    double first = t->jobs[0].submit_s, last = t->jobs[t->n_jobs - 1].submit_s;
    double split = first + TRAIN_SHARE * (last - first);
    size_t n_train = 0;
    while (n_train < t->n_jobs && t->jobs[n_train].submit_s < split)
        n_train++;
    if (n_train < 2 || n_train > t->n_jobs - 2) {
        fprintf(stderr, "locus-sim: %s: the first %.0f%% of the time range holds %zu of %zu "
                        "jobs; both parts need two or more\n",
                trace, TRAIN_SHARE * 100, n_train, t->n_jobs);
        goto out;
    }
    for (int k = 0; k < TUNE_RUNGS; k++) {
        size_t n = (size_t)ceil(rung_share[k] * (double)n_train);
        if (n < 2)
            n = 2;
        if (write_window(t->jobs, n, trace, &c.rung_trace[k]))
            goto oom;
    }
    if (write_window(t->jobs + n_train, t->n_jobs - n_train, trace, &c.val_trace))
        goto oom;
    char val_path[4200], conf_check[256];
    snprintf(val_path, sizeof val_path, "%s/validation.trace", report);
    if (sim_trace_write_binary(&c.val_trace, val_path, err, sizeof err)) {
        fprintf(stderr, "locus-sim: %s\n", err);
        goto out;
    }
    (void)conf_check;
    fprintf(stderr, "locus-sim: tuning %zu keys on %s: %zu jobs train (%zu/%zu/%zu per rung), "
                    "%zu validate, compression %g, objective %s, budget %g min, %d threads\n",
            c.n_tun, trace, n_train, c.rung_trace[0].n_jobs, c.rung_trace[1].n_jobs,
            c.rung_trace[2].n_jobs, c.val_trace.n_jobs, c.cfg.time_compression, objective,
            budget_min, c.threads);

    /* The default on every window: the reference of every ratio, and the
     * cost estimate of a replay on each. */
    {
        tune_trial *def = new_trial(&c);
        if (!def)
            goto oom;
        memcpy(def->values, c.defaults, sizeof def->values);
        def->is_default = 1;
        sim_policy_spec specs[TUNE_RUNGS + 1];
        memset(specs, 0, sizeof specs);
        int rc = 0;
        for (int k = 0; k <= TUNE_RUNGS && !rc; k++)
            rc = spec_for(&c, def, (size_t)k, &specs[k], err, sizeof err);
        for (int k = 0; k <= TUNE_RUNGS && !rc; k++) {
            const sim_trace *w = k < TUNE_RUNGS ? &c.rung_trace[k] : &c.val_trace;
            rc = sim_run(w, trace, &c.cfg, &specs[k], 1, &ro, &r, err, sizeof err);
            if (rc)
                break;
            double jct = r->policies[0].jct_all.mean_s, bytes = (double)r->policies[0].network_bytes;
            double wall = r->policies[0].cost.wall_s;
            if (k < TUNE_RUNGS) {
                c.def_jct[k] = jct;
                c.def_bytes[k] = bytes;
                c.def_wall[k] = wall > 0.01 ? wall : 0.01;
            } else {
                c.val_def_jct = jct;
                c.val_def_bytes = bytes;
                c.val_wall = wall > 0.01 ? wall : 0.01;
            }
            sim_report_free(r);
            r = NULL;
        }
        for (int k = 0; k <= TUNE_RUNGS; k++)
            sim_policy_spec_free(&specs[k]);
        if (rc) {
            fprintf(stderr, "locus-sim: %s\n", err);
            goto out;
        }
        def->rung = TUNE_RUNGS - 1;
        def->jct_ratio = def->bytes_ratio = def->score = 1;
    }

    /* Brackets while the budget lasts: the next one must fit with the
     * final validation replay after it (a smaller bracket when a full one
     * does not). */
    size_t max_trials = max_trials_d > 0 ? (size_t)max_trials_d : (size_t)-1;
    int b = 0;
    for (;;) {
        size_t sampled = c.n_trials - 1;
        if (sampled >= max_trials)
            break;
        size_t n0 = BRACKET_MAX;
        if (n0 > max_trials - sampled)
            n0 = max_trials - sampled;
        /* Kept back: the final validation replay and 3% of the budget for
         * estimates that run short. */
        double left = c.budget_s * 0.97 - (mono_s() - c.t0) - c.val_wall * 1.5;
        while (n0 >= ETA && rung_cost(&c, n0) > left)
            n0 /= ETA;
        if (n0 < 1 || rung_cost(&c, n0) > left)
            break;
        if (bracket(&c, n0, b++, max_trials, err, sizeof err)) {
            fprintf(stderr, "\nlocus-sim: %s\n", err);
            goto out;
        }
    }
    if (progress)
        fputc('\n', stderr);

    /* The best config that reached the whole training part (with a
     * negative --min-gain, the best sampled one even if the default is
     * better: the caller accepts a loss). */
    double min_gain = min_gain_pct / 100;
    size_t best = 0;
    for (size_t i = 1; i < c.n_trials; i++)
        if (c.trials[i].rung == TUNE_RUNGS - 1 &&
            ((min_gain < 0 && best == 0) || c.trials[i].score < c.trials[best].score))
            best = i;
    char csv[4200];
    snprintf(csv, sizeof csv, "%s/trials.csv", report);
    FILE *cf = fopen(csv, "w");
    if (cf) {
        fputs("trial,rung,jct_ratio,bytes_ratio,score", cf);
        for (size_t k = 0; k < c.n_tun; k++)
            fprintf(cf, ",%s", c.tun[k].key);
        fputc('\n', cf);
        for (size_t i = 0; i < c.n_trials; i++) {
            const tune_trial *x = &c.trials[i];
            fprintf(cf, "%zu,%d,%.6f,%.6f,%.6f", i, x->rung, x->jct_ratio, x->bytes_ratio, x->score);
            for (size_t k = 0; k < c.n_tun; k++)
                fprintf(cf, ",%s", x->values[k]);
            fputc('\n', cf);
        }
        fclose(cf);
    }
    double el = mono_s() - c.t0;
    printf("tune: %zu configs sampled in %d brackets, %zu replays, %.0f s of a %.0f s budget\n",
           c.n_trials - 1, b, c.done_runs, el, c.budget_s);
    tune_plot_input pi = {.trace = trace, .objective = objective, .trials = c.trials,
                          .n_trials = c.n_trials, .chosen = c.n_trials, .keys = keynames,
                          .n_keys = c.n_tun};
    int found = 0;
    if (c.n_trials == 1) {
        printf("tune: no config replayed within the budget (one replay of the training part "
               "took %.0f s); give a larger --budget or a shorter trace (--hours, --jobs); %s "
               "not written\n", c.def_wall[TUNE_RUNGS - 1], out);
    } else if (best == 0 || (min_gain >= 0 && c.trials[best].score >= 1 - 1e-12)) {
        printf("tune: no config beat the default on the training part; %s not written\n", out);
    } else {
        tune_trial *bt = &c.trials[best];
        tune_trial *one = bt;
        double jct, bytes, wall;
        if (replay_batch(&c, &c.val_trace, &one, 1, &jct, &bytes, &wall, err, sizeof err)) {
            fprintf(stderr, "locus-sim: %s\n", err);
            goto out;
        }
        double vj = ratio(jct, c.val_def_jct), vb = ratio(bytes, c.val_def_bytes);
        double vs = score_of(obj, vj, vb);
        pi.chosen = best;
        pi.train_score = bt->score;
        pi.val_score = vs;
        pi.val_jct_ratio = vj;
        pi.val_bytes_ratio = vb;
        printf("tune: best on training (trial %zu): score %.4f (mean JCT %+.2f%%, network bytes "
               "%+.2f%% vs default)\n",
               best, bt->score, (bt->jct_ratio - 1) * 100, (bt->bytes_ratio - 1) * 100);
        printf("tune: on validation: score %.4f - mean JCT %.3f s vs default %.3f s (%+.2f%%), "
               "network bytes %.0f vs %.0f (%+.2f%%)\n",
               vs, jct, c.val_def_jct, (vj - 1) * 100, bytes, c.val_def_bytes, (vb - 1) * 100);
        if (vs < 1 - min_gain) {
            if (write_config(&c, bt, out, trace, objective, bt->score, vj, vb, vs, err, sizeof err)) {
                fprintf(stderr, "locus-sim: %s\n", err);
                goto out;
            }
            la_config chk;
            memset(&chk, 0, sizeof chk);
            if (la_config_load(&chk, out, NULL, 0, err, sizeof err)) {
                fprintf(stderr, "locus-sim: the written config does not load: %s\n", err);
                goto out;
            }
            la_config_free(&chk);
            found = 1;
            printf("tune: validation gain %.2f%% (%s); wrote %s\n", (1 - vs) * 100, objective, out);
        } else {
            printf("tune: no better config found: the best on training gains %.2f%% on validation "
                   "(%g%% needed); %s not written\n", (1 - vs) * 100, min_gain_pct, out);
        }
    }
    printf("tune: reproduce the validation figures with (default, then tuned config):\n");
    for (int k = 0; k < 2; k++) {
        printf("  ");
        const char *w[] = {"locus-sim", "run", "--trace", val_path, "--policies", "locality",
                           "--no-html", "--deterministic", "--plugin", c.plugin};
        for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
            shell_word(stdout, w[i]);
            putchar(' ');
        }
        if (cli.config_path) {
            printf("-c ");
            shell_word(stdout, cli.config_path);
            putchar(' ');
        }
        for (size_t i = 0; i < cli.n_sets; i++) {
            char kv[1024];
            snprintf(kv, sizeof kv, "%s=%s", cli.sets[i].key, cli.sets[i].value);
            if (strncmp(kv, "sim.max_hours=", 14) == 0 || strncmp(kv, "sim.max_jobs=", 13) == 0 ||
                strncmp(kv, "sim.skip_hours=", 15) == 0 ||
                strncmp(kv, "sim.time_compression=", 21) == 0)
                continue; /* the window is already cut, the compression given below */
            printf("--set ");
            shell_word(stdout, kv);
            putchar(' ');
        }
        printf("--compress %.17g --out %s/run-%s", c.cfg.time_compression, report,
               k ? "tuned" : "default");
        if (k) {
            printf(" --allocator-config ");
            shell_word(stdout, out);
        }
        putchar('\n');
    }
    if (tune_plot_write(&pi, report, err, sizeof err))
        fprintf(stderr, "locus-sim: %s\n", err);
    else
        printf("tune: trade-off plot %s/tune.html, trials %s\n", report, csv);
    status = found ? 0 : 3;
    goto out;
oom:
    fprintf(stderr, "locus-sim: out of memory\n");
out:
    for (int k = 0; k < TUNE_RUNGS; k++)
        free(c.rung_trace[k].jobs);
    free(c.val_trace.jobs);
    free(c.trials);
    sim_report_free(r);
    sim_trace_free(t);
    locus_cfg_free(sim_config_keys, sim_config_n_keys, &c.cfg);
    locus_cli_free(&cli);
    return status;
}
