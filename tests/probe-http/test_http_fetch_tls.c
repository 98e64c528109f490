/* HTTPS in the probe's HTTP client (http_fetch, libcurl on the libevent
 * loop) against a real TLS server: `openssl s_server -WWW` on loopback with
 * certificates made for the test. The server's certificate is verified
 * against tls_ca_file and refused without it (the system's CAs do not know
 * it), and a server that demands a client certificate is answered only when
 * one is configured. Skipped when the openssl program is not installed. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "http_fetch.h"
#include "locus/error.h"
#include "testutil.h"

static char g_dir[512];
static int g_have_openssl;

typedef struct outcome {
    int calls, status;
    char msg[1024];
    char value[64];
} outcome;

static int sh(const char *cmd)
{
    char log[700], full[4096];
    snprintf(log, sizeof log, "%s/openssl.log", g_dir);
    snprintf(full, sizeof full, "cd '%s' && %s >>'%s' 2>&1", g_dir, cmd, log);
    int rc = system(full);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* A self-signed certificate for 127.0.0.1 (server) and one for a client. */
static int setup(void **state)
{
    (void)state;
    if (tu_mkdtemp(g_dir, sizeof g_dir, "fetch-tls") != 0)
        return -1;
    g_have_openssl = system("command -v openssl >/dev/null 2>&1") == 0;
    if (!g_have_openssl)
        return 0;
    static const char *const make[] = {
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout server.key -out server.pem",
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=locus-probe -keyout client.key -out client.pem",
    };
    for (size_t i = 0; i < sizeof make / sizeof make[0]; i++)
        if (sh(make[i]) != 0)
            return -1;
    char doc[700];
    snprintf(doc, sizeof doc, "%s/status.json", g_dir);
    return tu_write_file(doc, "{\"served\": \"over tls\"}\n");
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_r(g_dir);
    return 0;
}

static int listening(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Starts s_server on a free port (requiring a client certificate signed by
 * client.pem when want_client_cert); returns its pid, the port in *port. */
static pid_t start_server(int want_client_cert, int *port)
{
    *port = tu_free_port();
    char p[16], log[700], cert[700], key[700], ca[700];
    snprintf(p, sizeof p, "%d", *port);
    snprintf(log, sizeof log, "%s/s_server.log", g_dir);
    snprintf(cert, sizeof cert, "%s/server.pem", g_dir);
    snprintf(key, sizeof key, "%s/server.key", g_dir);
    snprintf(ca, sizeof ca, "%s/client.pem", g_dir);
    char *argv[] = {"/bin/sh", "-c", NULL, NULL};
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec openssl s_server -quiet -WWW -accept %s -cert '%s' "
             "-key '%s'%s%s%s", g_dir, p, cert, key, want_client_cert ? " -Verify 1 -CAfile '" : "",
             want_client_cert ? ca : "", want_client_cert ? "'" : "");
    argv[2] = cmd;
    pid_t pid = tu_spawn(argv, log);
    assert_true(pid > 0);
    for (int i = 0; i < 200 && !listening(*port); i++) /* until it listens */
        tu_sleep(0.05);
    return pid;
}

static void stop_server(pid_t pid)
{
    kill(pid, SIGTERM);
    tu_wait(pid, 10);
}

static void on_reply(void *arg, int status, json_t *root, const char *url, const char *errmsg)
{
    (void)url;
    outcome *o = arg;
    o->calls++;
    o->status = status;
    snprintf(o->msg, sizeof o->msg, "%s", errmsg ? errmsg : "");
    json_t *v = root ? json_object_get(root, "served") : NULL;
    snprintf(o->value, sizeof o->value, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* One GET of /status.json over https with the given options. */
static outcome fetch(int port, const http_fetch_options *opts)
{
    struct event_base *base = event_base_new();
    assert_non_null(base);
    char ep[64], err[512];
    snprintf(ep, sizeof ep, "https://127.0.0.1:%d", port);
    http_fetch_limits lim = {10, 1 << 20, 2};
    http_fetch *f = NULL;
    int rc = http_fetch_new(base, ep, 443, &lim, opts, &f, err, sizeof err);
    if (rc)
        fail_msg("http_fetch_new: %s", err);
    outcome o = {0, 0, "", ""};
    assert_int_equal(http_fetch_json(f, HTTP_FETCH_GET, "/status.json", on_reply, &o), 0);
    double end = tu_now() + 15;
    while (o.calls == 0 && tu_now() < end)
        event_base_loop(base, EVLOOP_ONCE);
    http_fetch_free(f);
    event_base_free(base);
    assert_int_equal(o.calls, 1);
    return o;
}

static void test_server_verified_against_ca_file(void **state)
{
    (void)state;
    if (!g_have_openssl)
        skip();
    int port;
    pid_t pid = start_server(0, &port);
    char ca[700];
    snprintf(ca, sizeof ca, "%s/server.pem", g_dir);
    http_fetch_options with_ca = {.ca_file = ca};
    outcome o = fetch(port, &with_ca);
    if (o.status)
        fail_msg("https with the CA file failed: %s", o.msg);
    assert_string_equal(o.value, "over tls");

    outcome refused = fetch(port, NULL); /* the system's CAs do not know this server */
    assert_int_equal(refused.status, LOCUS_EIO);
    assert_non_null(strstr(refused.msg, "TLS failed"));
    assert_non_null(strstr(refused.msg, "GET https://127.0.0.1:"));
    stop_server(pid);
}

static void test_client_certificate(void **state)
{
    (void)state;
    if (!g_have_openssl)
        skip();
    int port;
    pid_t pid = start_server(1, &port);
    char ca[700], cert[700], key[700];
    snprintf(ca, sizeof ca, "%s/server.pem", g_dir);
    snprintf(cert, sizeof cert, "%s/client.pem", g_dir);
    snprintf(key, sizeof key, "%s/client.key", g_dir);
    http_fetch_options without = {.ca_file = ca};
    outcome o = fetch(port, &without);
    assert_int_not_equal(o.status, 0); /* the server wants a certificate */
    http_fetch_options with = {.ca_file = ca, .cert_file = cert, .key_file = key};
    o = fetch(port, &with);
    if (o.status)
        fail_msg("https with a client certificate failed: %s", o.msg);
    assert_string_equal(o.value, "over tls");
    stop_server(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_verified_against_ca_file),
        cmocka_unit_test(test_client_certificate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
