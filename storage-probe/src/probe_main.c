/* locus-probe: command line, daemonizing, pid file; the daemon proper is
 * probe_daemon.c. When detaching, the parent waits on a pipe until the child
 * has opened the store and bound the HTTP port, so a start-up error is
 * printed on the terminal and reflected in the exit status instead of being
 * lost in syslog. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "locus/cli.h"
#include "probe_daemon.h"
#include "probe_log.h"
#include "probe_notify.h"

static const char usage[] =
    "usage: locus-probe [-c FILE] [--set section.key=value]... [--store PATH] [--foreground]\n"
    "       locus-probe --check -c FILE [--set section.key=value]...\n"
    "       locus-probe --print-reference | --print-example\n"
    "\n"
    "Polls storage backends for where datasets' blocks are cached and keeps the\n"
    "Locus hint store up to date; serves /healthz, /metrics and /v1/... over HTTP.\n"
    "\n"
    "  -c, --config FILE      config file (INI; see locus-probe.conf.example)\n"
    "  -s, --set K=V          override one key, e.g. --set probe.log_level=debug\n"
    "      --store PATH       hint store folder (probe.store_path; also $LOCUS_HINT_STORE)\n"
    "  -n, --check            validate the config (keys, host map, backend settings)\n"
    "                         and exit: 0 valid, 1 invalid\n"
    "  -f, --foreground       stay attached, log to stderr (what a service manager wants)\n"
    "      --print-reference  print the Markdown table of every config key\n"
    "      --print-example    print a commented example config\n"
    "  -h, --help             this text\n"
    "  -V, --version          version, plugin ABI and hint store schema\n"
    "\n"
    "Signals: SIGHUP reloads the config file, SIGTERM/SIGINT stop cleanly.\n"
    "Exit status: 0 ok, 1 runtime failure (bad config, store, port), 2 bad command line.\n";

/* Forks; the parent exits with the child's start-up status. Returns the
 * write end of the status pipe in the child. */
static int detach(void)
{
    int fds[2];
    if (pipe(fds)) {
        perror("locus-probe: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("locus-probe: fork");
        exit(1);
    }
    if (pid > 0) {
        close(fds[1]);
        char msg[2048];
        ssize_t n, total = 0;
        while (total < (ssize_t)sizeof msg - 1 &&
               (n = read(fds[0], msg + total, sizeof msg - 1 - (size_t)total)) != 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                break;
            total += n;
        }
        msg[total] = 0;
        if (total == 1 && msg[0] == '0')
            _exit(0);
        fprintf(stderr, "locus-probe: %s\n", total ? msg : "daemon exited during start-up");
        _exit(1);
    }
    close(fds[0]);
    setsid();
    return fds[1];
}

static void report_start(int fd, const char *msg)
{
    if (fd < 0)
        return;
    ssize_t ignored = write(fd, msg, strlen(msg));
    (void)ignored;
    close(fd);
    if (!*msg || strcmp(msg, "0") == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            if (null > 2)
                close(null);
        }
    }
}

static int write_pid_file(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f);
}

int main(int argc, char **argv)
{
    enum { OPT_REFERENCE = 0x2001, OPT_EXAMPLE };
    static const struct option opts[] = {
        LOCUS_CLI_LONGOPTS,
        {"foreground", no_argument, NULL, 'f'},
        {"print-reference", no_argument, NULL, OPT_REFERENCE},
        {"print-example", no_argument, NULL, OPT_EXAMPLE},
        {NULL, 0, NULL, 0}};
    locus_cli cli = {.tool = "locus-probe", .usage = usage};
    int foreground = 0, opt;
    /* $LOCUS_HINT_STORE first, so --store and --set probe.store_path win. */
    const char *env_store = getenv(LOCUS_HINT_STORE_ENV);
    if (env_store && *env_store)
        locus_cli_add_override(&cli, "probe.store_path", 16, env_store);
    while ((opt = locus_cli_getopt(&cli, argc, argv, LOCUS_CLI_SHORTOPTS "nf", opts)) != -1) {
        int stop = -1;
        if (opt == 'n')
            cli.check = 1;
        else if (opt == 'f')
            foreground = 1;
        else if (opt == OPT_REFERENCE)
            stop = probe_config_write_reference(stdout) ? LOCUS_EXIT_FAILURE : LOCUS_EXIT_OK;
        else if (opt == OPT_EXAMPLE)
            stop = probe_config_write_example(stdout) ? LOCUS_EXIT_FAILURE : LOCUS_EXIT_OK;
        else if (opt == LOCUS_CLI_OPT_STORE)
            stop = locus_cli_add_override(&cli, "probe.store_path", 16, optarg);
        else
            stop = locus_cli_option(&cli, opt, optarg);
        /* A secret on the command line is readable by every local user
         * in /proc/PID/cmdline and ps: refuse it and say where it goes. */
        if (stop == -1 && opt == 's' && strcmp(cli.sets[cli.n_sets - 1].key, "redis.password") == 0)
            stop = locus_cli_usage_error(&cli, "--set redis.password would show the password to "
                                               "every local user (ps, /proc/PID/cmdline); put it in "
                                               "the config file (mode 0600) or name an environment "
                                               "variable with redis.password_env");
        if (stop >= 0) {
            locus_cli_free(&cli);
            return stop;
        }
    }
    if (optind < argc) {
        locus_cli_free(&cli);
        return locus_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    }
    const char *path = cli.config_path;
    int check = cli.check;

    char err[2048] = "";
    probe_config *cfg = NULL;
    int rc = probe_config_load(path, cli.sets, cli.n_sets, &cfg, err, sizeof err);
    locus_cli_free(&cli);
    if (rc) {
        fprintf(stderr, "locus-probe: %s\n", err);
        return 1;
    }
    if (check && (rc = probe_daemon_check(cfg, err, sizeof err)) != 0) {
        fprintf(stderr, "locus-probe: %s\n", err);
        probe_config_free(cfg);
        return 1;
    }
    if (check) {
        printf("%s: ok\n", path ? path : "(defaults)");
        probe_config_free(cfg);
        return 0;
    }

    int status_fd = foreground ? -1 : detach();
    probe_log_setup(cfg->core.log_level, !foreground);
    signal(SIGPIPE, SIG_IGN);

    struct event_base *base = event_base_new();
    probe_daemon *d = NULL;
    if (!base) {
        snprintf(err, sizeof err, "cannot create the event loop");
        rc = LOCUS_ENOMEM;
    } else {
        rc = probe_daemon_create(base, cfg, &d, err, sizeof err);
    }
    if (rc) {
        probe_log(PROBE_LOG_ERROR, "%s", err);
        if (foreground)
            fprintf(stderr, "locus-probe: %s\n", err);
        report_start(status_fd, err);
        probe_config_free(cfg);
        if (base)
            event_base_free(base);
        return 1;
    }
    const char *pid_file = probe_daemon_config(d)->core.pid_file;
    char *pid_copy = *pid_file ? strdup(pid_file) : NULL;
    if (pid_copy && write_pid_file(pid_copy))
        probe_log(PROBE_LOG_WARN, "cannot write pid file %s: %s", pid_copy, strerror(errno));
    probe_log(PROBE_LOG_INFO, "locus-probe started (store %s)", probe_daemon_config(d)->core.store_path);
    report_start(status_fd, "0");
    /* Ready: the store is open, the backends are created and the HTTP API
     * listens (a Type=notify unit's dependents start now). */
    if (probe_notify("READY=1\nSTATUS=polling") < 0)
        probe_log(PROBE_LOG_WARN, "cannot notify systemd at %s: %s", getenv("NOTIFY_SOCKET"),
                  strerror(errno));

    event_base_dispatch(base);

    probe_daemon_free(d);
    event_base_free(base);
    if (pid_copy)
        unlink(pid_copy);
    free(pid_copy);
    probe_log(PROBE_LOG_INFO, "locus-probe stopped");
    return 0;
}
