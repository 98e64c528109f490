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

#include "probe_daemon.h"
#include "probe_log.h"

#define MAX_SETS 64

static void usage(FILE *out)
{
    fprintf(out,
            "usage: locus-probe [--config FILE] [--set section.key=value]... [--foreground]\n"
            "       locus-probe --check --config FILE\n"
            "       locus-probe --print-reference | --print-example\n"
            "\n"
            "Polls storage backends for where datasets' blocks are cached and keeps the\n"
            "Locus hint store up to date; serves /healthz, /metrics and /v1/... over HTTP.\n"
            "\n"
            "  -c, --config FILE      config file (INI; see locus-probe.conf.example)\n"
            "  -s, --set K=V          override one key, e.g. --set probe.log_level=debug\n"
            "  -n, --check            validate the config (keys, host map, backend settings)\n"
            "                         and exit: 0 valid, 1 invalid\n"
            "  -f, --foreground       stay attached, log to stderr\n"
            "      --print-reference  print the Markdown table of every config key\n"
            "      --print-example    print a commented example config\n"
            "  -h, --help             this text\n"
            "\n"
            "Signals: SIGHUP reloads the config file, SIGTERM/SIGINT stop cleanly.\n");
}

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
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 's'},
        {"check", no_argument, NULL, 'n'},        {"foreground", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},         {"print-reference", no_argument, NULL, 'R'},
        {"print-example", no_argument, NULL, 'E'}, {NULL, 0, NULL, 0}};
    const char *path = NULL;
    int check = 0, foreground = 0, opt;
    locus_cfg_override sets[MAX_SETS];
    char *set_buf[MAX_SETS];
    size_t n_sets = 0;
    while ((opt = getopt_long(argc, argv, "c:s:nfh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': path = optarg; break;
        case 'n': check = 1; break;
        case 'f': foreground = 1; break;
        case 'h': usage(stdout); return 0;
        case 'R': return probe_config_write_reference(stdout) ? 1 : 0;
        case 'E': return probe_config_write_example(stdout) ? 1 : 0;
        case 's': {
            char *eq = strchr(optarg, '=');
            if (!eq || n_sets == MAX_SETS) {
                fprintf(stderr, "locus-probe: --set wants section.key=value (at most %d)\n",
                        MAX_SETS);
                return 1;
            }
            /* A secret on the command line is readable by every local user
             * in /proc/PID/cmdline and ps: refuse it and say where it goes. */
            if ((size_t)(eq - optarg) == strlen("redis.password") &&
                strncmp(optarg, "redis.password", (size_t)(eq - optarg)) == 0) {
                fprintf(stderr, "locus-probe: --set redis.password would show the password to "
                                "every local user (ps, /proc/PID/cmdline); put it in the config "
                                "file (mode 0600) or name an environment variable with "
                                "redis.password_env\n");
                return 1;
            }
            set_buf[n_sets] = strndup(optarg, (size_t)(eq - optarg));
            sets[n_sets] = (locus_cfg_override){set_buf[n_sets], eq + 1};
            n_sets++;
            break;
        }
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "locus-probe: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 1;
    }

    char err[2048] = "";
    probe_config *cfg = NULL;
    int rc = probe_config_load(path, sets, n_sets, &cfg, err, sizeof err);
    for (size_t i = 0; i < n_sets; i++)
        free(set_buf[i]);
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
        printf("%s: valid\n", path ? path : "(defaults)");
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

    event_base_dispatch(base);

    probe_daemon_free(d);
    event_base_free(base);
    if (pid_copy)
        unlink(pid_copy);
    free(pid_copy);
    probe_log(PROBE_LOG_INFO, "locus-probe stopped");
    return 0;
}
