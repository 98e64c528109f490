/* systemd readiness: the real locus-probe, run in the foreground with
 * NOTIFY_SOCKET naming a datagram socket the test listens on (as systemd
 * does for a Type=notify unit), sends READY=1 once its HTTP API answers,
 * RELOADING=1 then READY=1 around a SIGHUP reload (also when the new file is
 * bad), and STOPPING=1 on SIGTERM; an abstract socket name ('@...') works
 * too, and without NOTIFY_SOCKET the probe runs as before. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#ifndef LOCUS_PROBE_BIN
#error LOCUS_PROBE_BIN must name the probe
#endif

static char g_dir[512], g_conf[600], g_log[600], g_sock[600];
static int g_port;

static void write_conf(int valid)
{
    char text[2048], placements[700];
    snprintf(placements, sizeof placements, "%s/placements.jsonl", g_dir);
    assert_int_equal(tu_write_file(placements, "{\"dataset\":\"d\",\"index\":0,\"bytes\":1,"
                                               "\"replicas\":[{\"host\":\"h\",\"tier\":\"MEM\"}]}\n"),
                     0);
    snprintf(text, sizeof text,
             "[probe]\nstore_path = %s/store\nmap_size = 16M\nno_sync = true\nhttp_port = %d\n"
             "log_level = debug\n[static]\nenabled = true\npath = %s\npoll_interval = 0.2\n%s",
             g_dir, g_port, placements, valid ? "" : "bogus_key = 1\n");
    assert_int_equal(tu_write_file(g_conf, text), 0);
}

static int setup(void **state)
{
    (void)state;
    if (tu_mkdtemp(g_dir, sizeof g_dir, "probe-notify") != 0)
        return -1;
    snprintf(g_conf, sizeof g_conf, "%s/probe.conf", g_dir);
    snprintf(g_log, sizeof g_log, "%s/probe.log", g_dir);
    snprintf(g_sock, sizeof g_sock, "%s/notify", g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    tu_rm_r(g_dir);
    return 0;
}

/* A datagram socket bound to name (a path, or '@' + abstract name). */
static int listen_notify(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t len = strlen(name);
    assert_true(len < sizeof a.sun_path);
    memcpy(a.sun_path, name, len);
    if (name[0] == '@')
        a.sun_path[0] = '\0';
    assert_int_equal(bind(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)), 0);
    return fd;
}

/* Next datagram within timeout_s, NUL-terminated in buf; fails the test on
 * timeout. */
static void expect_message(int fd, const char *want, double timeout_s, char *buf, size_t cap)
{
    struct pollfd p = {fd, POLLIN, 0};
    int rc = poll(&p, 1, (int)(timeout_s * 1000));
    if (rc <= 0) {
        char *log = tu_slurp(g_log, NULL);
        fail_msg("no '%s' from the probe within %.0f s; its log:\n%s", want, timeout_s,
                 log ? log : "");
    }
    ssize_t n = recv(fd, buf, cap - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    if (strncmp(buf, want, strlen(want)) != 0)
        fail_msg("expected '%s', got '%s'", want, buf);
}

static void run_probe_lifecycle(const char *notify_name)
{
    g_port = tu_free_port();
    write_conf(1);
    int fd = listen_notify(notify_name);
    setenv("NOTIFY_SOCKET", notify_name, 1);
    char *argv[] = {(char *)LOCUS_PROBE_BIN, "--foreground", "--config", g_conf, NULL};
    pid_t pid = tu_spawn(argv, g_log);
    assert_true(pid > 0);
    char msg[512];
    expect_message(fd, "READY=1", 20, msg, sizeof msg);
    /* ready means serving: the API answers at once */
    char *body = NULL;
    assert_int_equal(tu_http(g_port, "GET", "/healthz", &body), 200);
    free(body);

    kill(pid, SIGHUP);
    expect_message(fd, "RELOADING=1", 10, msg, sizeof msg);
    expect_message(fd, "READY=1", 10, msg, sizeof msg);
    assert_non_null(strstr(msg, "reloaded"));

    write_conf(0); /* a bad file: the probe keeps its config and is ready again */
    kill(pid, SIGHUP);
    expect_message(fd, "RELOADING=1", 10, msg, sizeof msg);
    expect_message(fd, "READY=1", 10, msg, sizeof msg);
    assert_non_null(strstr(msg, "reload failed"));

    kill(pid, SIGTERM);
    expect_message(fd, "STOPPING=1", 10, msg, sizeof msg);
    assert_int_equal(tu_wait(pid, 20), 0);
    close(fd);
    unlink(g_sock);
    unsetenv("NOTIFY_SOCKET");
}

static void test_path_socket(void **state)
{
    (void)state;
    run_probe_lifecycle(g_sock);
}

static void test_abstract_socket(void **state)
{
    (void)state;
    char name[128];
    snprintf(name, sizeof name, "@locus-probe-notify-test-%ld", (long)getpid());
    run_probe_lifecycle(name);
}

static void test_without_systemd(void **state)
{
    (void)state;
    g_port = tu_free_port();
    write_conf(1);
    unsetenv("NOTIFY_SOCKET");
    char *argv[] = {(char *)LOCUS_PROBE_BIN, "--foreground", "--config", g_conf, NULL};
    pid_t pid = tu_spawn(argv, g_log);
    assert_true(pid > 0);
    int status = -1;
    for (int i = 0; i < 100 && status != 200; i++) {
        char *body = NULL;
        status = tu_http(g_port, "GET", "/healthz", &body);
        free(body);
        if (status != 200)
            tu_sleep(0.1);
    }
    assert_int_equal(status, 200);
    kill(pid, SIGTERM);
    assert_int_equal(tu_wait(pid, 20), 0);
    char *log = tu_slurp(g_log, NULL);
    assert_non_null(log);
    assert_null(strstr(log, "cannot notify"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_without_systemd),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
