/* The v1 scheduler HTTP API spoken over plain blocking sockets: SUBSCRIBE
 * keeps one HTTP/1.1 connection whose chunked body carries RecordIO records
 * ("<length>\n<json>"); every other call is a separate POST carrying the
 * Mesos-Stream-Id header and answered 202. Only what the end-to-end test
 * needs; no libmesos, so the test depends on nothing of Mesos but its wire
 * protocol. */
#include "mesos_cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

static int connect_master(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_post(int fd, int port, const char *path, const char *stream_id, const char *body,
                     int keep_alive)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                     "Accept: application/json\r\n%s%s%sContent-Length: %zu\r\nConnection: %s\r\n\r\n",
                     path, port, stream_id ? "Mesos-Stream-Id: " : "", stream_id ? stream_id : "",
                     stream_id ? "\r\n" : "", strlen(body), keep_alive ? "keep-alive" : "close");
    if (n < 0 || (size_t)n >= sizeof head)
        return -1;
    return send_all(fd, head, (size_t)n) == 0 && send_all(fd, body, strlen(body)) == 0 ? 0 : -1;
}

static int append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n + 1)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static void consume(char *buf, size_t *len, size_t n)
{
    memmove(buf, buf + n, *len - n);
    *len -= n;
    buf[*len] = '\0';
}

/* Reads what the socket has within timeout_s into s->raw; 0 data, -1 error or timeout. */
static int read_some(mc_scheduler *s, double timeout_s)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int r = poll(&p, 1, (int)(timeout_s * 1000));
    if (r <= 0)
        return -1;
    char tmp[8192];
    ssize_t n = recv(s->fd, tmp, sizeof tmp, 0);
    if (n <= 0)
        return -1;
    return append(&s->raw, &s->raw_len, &s->raw_cap, tmp, (size_t)n);
}

/* Moves whole chunks (and partial chunk data) from raw into body. */
static void dechunk(mc_scheduler *s)
{
    for (;;) {
        if (s->chunk_left < 0) {
            char *eol = strstr(s->raw, "\r\n");
            if (!eol)
                return;
            s->chunk_left = (int)strtol(s->raw, NULL, 16);
            consume(s->raw, &s->raw_len, (size_t)(eol - s->raw) + 2);
            continue;
        }
        size_t take = (size_t)s->chunk_left < s->raw_len ? (size_t)s->chunk_left : s->raw_len;
        if (take > 0) {
            append(&s->body, &s->body_len, &s->body_cap, s->raw, take);
            consume(s->raw, &s->raw_len, take);
            s->chunk_left -= (int)take;
        }
        if (s->chunk_left > 0 || s->raw_len < 2)
            return;
        consume(s->raw, &s->raw_len, 2); /* the CRLF after a chunk */
        s->chunk_left = -1;
    }
}

/* One whole RecordIO record from body as JSON, or NULL if none is complete yet. */
static json_t *take_record(mc_scheduler *s)
{
    char *nl = s->body ? memchr(s->body, '\n', s->body_len) : NULL;
    if (!nl)
        return NULL;
    size_t len = strtoul(s->body, NULL, 10), head = (size_t)(nl - s->body) + 1;
    if (s->body_len < head + len)
        return NULL;
    json_error_t e;
    json_t *j = json_loadb(s->body + head, len, 0, &e);
    consume(s->body, &s->body_len, head + len);
    if (!j)
        fprintf(stderr, "mesos-e2e: undecodable event: %s\n", e.text);
    return j;
}

json_t *mc_next_event(mc_scheduler *s, double timeout_s)
{
    double deadline = tu_now() + timeout_s;
    for (;;) {
        dechunk(s);
        json_t *j = take_record(s);
        if (j)
            return j;
        double left = deadline - tu_now();
        if (left <= 0 || read_some(s, left) != 0)
            return NULL;
    }
}

/* The header line starting with name (case-insensitive) in a header block. */
static const char *find_header(const char *head, const char *name)
{
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, strlen(name)) == 0)
            return p + 2 + strlen(name);
    return NULL;
}

int mc_subscribe(mc_scheduler *s, int port, json_t *framework_info, const char *suppressed_role,
                 char *err, size_t err_len)
{
    memset(s, 0, sizeof *s);
    s->port = port;
    s->chunk_left = -1;
    s->fd = connect_master(port);
    /* A resubscription names the framework in the call too. */
    json_t *fw_id = json_incref(json_object_get(framework_info, "id"));
    json_t *sub = json_pack("{s:o}", "framework_info", framework_info);
    if (suppressed_role)
        json_object_set_new(sub, "suppressed_roles", json_pack("[s]", suppressed_role));
    json_t *call = json_pack("{s:s,s:o}", "type", "SUBSCRIBE", "subscribe", sub);
    if (fw_id)
        json_object_set_new(call, "framework_id", fw_id);
    char *body = json_dumps(call, JSON_COMPACT);
    json_decref(call);
    int rc = s->fd >= 0 ? send_post(s->fd, port, "/api/v1/scheduler", NULL, body, 1) : -1;
    free(body);
    if (rc != 0) {
        snprintf(err, err_len, "cannot send SUBSCRIBE to 127.0.0.1:%d", port);
        return -1;
    }
    double deadline = tu_now() + 10;
    char *end = NULL;
    while (!(end = s->raw ? strstr(s->raw, "\r\n\r\n") : NULL))
        if (read_some(s, deadline - tu_now()) != 0) {
            snprintf(err, err_len, "no response to SUBSCRIBE within 10 s");
            return -1;
        }
    *end = '\0';
    int status = 0;
    sscanf(s->raw, "HTTP/1.%*d %d", &status);
    const char *sid = find_header(s->raw, "Mesos-Stream-Id: ");
    if (status != 200 || !sid) {
        snprintf(err, err_len, "SUBSCRIBE answered %d: %.300s", status, s->raw);
        return -1;
    }
    sscanf(sid, "%127[^\r\n]", s->stream_id);
    consume(s->raw, &s->raw_len, (size_t)(end - s->raw) + 4);
    json_t *ev = mc_next_event(s, deadline - tu_now());
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *id = json_string_value(
        json_object_get(json_object_get(json_object_get(ev, "subscribed"), "framework_id"), "value"));
    if (!type || strcmp(type, "SUBSCRIBED") != 0 || !id) {
        snprintf(err, err_len, "first event is not SUBSCRIBED");
        json_decref(ev);
        return -1;
    }
    snprintf(s->framework_id, sizeof s->framework_id, "%s", id);
    json_decref(ev);
    return 0;
}

int mc_call(mc_scheduler *s, json_t *call)
{
    json_object_set_new(call, "framework_id", json_pack("{s:s}", "value", s->framework_id));
    char *body = json_dumps(call, JSON_COMPACT);
    json_decref(call);
    int fd = connect_master(s->port), status = -1;
    if (fd >= 0 && send_post(fd, s->port, "/api/v1/scheduler", s->stream_id, body, 0) == 0) {
        char buf[512];
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) == 1) {
            ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
            if (n > 0) {
                buf[n] = '\0';
                sscanf(buf, "HTTP/1.%*d %d", &status);
                if (status != 202 && status != 200)
                    fprintf(stderr, "mesos-e2e: call %s answered: %s\n", body, buf);
            }
        }
    }
    if (fd >= 0)
        close(fd);
    free(body);
    return status;
}

int mc_operator(int port, json_t *call)
{
    char *body = json_dumps(call, JSON_COMPACT);
    json_decref(call);
    int fd = body ? connect_master(port) : -1, status = -1;
    if (fd >= 0 && send_post(fd, port, "/api/v1", NULL, body, 0) == 0) {
        char buf[1024];
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) == 1) {
            ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
            if (n > 0) {
                buf[n] = '\0';
                sscanf(buf, "HTTP/1.%*d %d", &status);
                if (status != 200 && status != 202)
                    fprintf(stderr, "mesos-e2e: operator call %s answered: %s\n", body, buf);
            }
        }
    }
    if (fd >= 0)
        close(fd);
    free(body);
    return status;
}

void mc_close(mc_scheduler *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    free(s->raw);
    free(s->body);
    s->raw = s->body = NULL;
}

double mc_scalar(const json_t *resources, const char *name)
{
    double sum = 0;
    size_t i;
    json_t *r;
    json_array_foreach(resources, i, r)
    {
        const char *n = json_string_value(json_object_get(r, "name"));
        if (n && strcmp(n, name) == 0)
            sum += json_number_value(json_object_get(json_object_get(r, "scalar"), "value"));
    }
    return sum;
}

json_t *mc_get_json(int port, const char *path)
{
    char *body = NULL;
    int status = tu_http(port, "GET", path, &body);
    json_t *j = status == 200 && body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return j;
}
