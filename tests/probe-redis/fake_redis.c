/* Scripted RESP server (see fake_redis.h): one thread, poll() over the
 * listening socket and up to 8 clients, a stop flag checked every 20 ms. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_redis.h"

#define MAX_CLIENTS 8

typedef struct client {
    int fd;
    char buf[65536];
    size_t len;
} client;

struct fake_redis {
    int lfd, port;
    fake_redis_fn fn;
    void *arg;
    pthread_t thread;
    atomic_int stop;
    atomic_int commands;
    client clients[MAX_CLIENTS];
};

/* Parses one command at the start of buf; returns bytes used, 0 if incomplete,
 * -1 if not RESP. argv points into buf (NUL-terminated in place). */
static long parse_command(char *buf, size_t len, int *argc, char **argv, int max)
{
    char *end = buf + len, *p = buf;
    char *nl = memchr(p, '\n', len);
    if (!nl)
        return 0;
    if (*p != '*')
        return -1;
    int n = atoi(p + 1);
    if (n <= 0 || n > max)
        return -1;
    p = nl + 1;
    for (int i = 0; i < n; i++) {
        if (p >= end)
            return 0;
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return 0;
        if (*p != '$')
            return -1;
        long l = atol(p + 1);
        p = nl + 1;
        if (end - p < l + 2)
            return 0;
        argv[i] = p;
        p[l] = '\0';
        p += l + 2;
    }
    *argc = n;
    return p - buf;
}

static void *serve(void *arg)
{
    fake_redis *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd pfd[MAX_CLIENTS + 1];
        pfd[0] = (struct pollfd){f->lfd, POLLIN, 0};
        for (int i = 0; i < MAX_CLIENTS; i++)
            pfd[i + 1] = (struct pollfd){f->clients[i].fd, POLLIN, 0};
        if (poll(pfd, MAX_CLIENTS + 1, 20) <= 0)
            continue;
        if (pfd[0].revents & POLLIN) {
            int c = accept(f->lfd, NULL, NULL);
            int placed = 0;
            for (int i = 0; i < MAX_CLIENTS && c >= 0 && !placed; i++)
                if (f->clients[i].fd < 0) {
                    f->clients[i].fd = c;
                    f->clients[i].len = 0;
                    placed = 1;
                }
            if (c >= 0 && !placed)
                close(c);
        }
        for (int i = 0; i < MAX_CLIENTS; i++) {
            client *cl = &f->clients[i];
            if (cl->fd < 0 || !(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(cl->fd, cl->buf + cl->len, sizeof cl->buf - cl->len - 1);
            if (r <= 0) {
                close(cl->fd);
                cl->fd = -1;
                continue;
            }
            cl->len += (size_t)r;
            for (;;) {
                int argc = 0;
                char *argv[16];
                long used = parse_command(cl->buf, cl->len, &argc, argv, 16);
                if (used == 0)
                    break;
                const char *reply = used > 0 ? f->fn(argc, argv, f->arg) : NULL;
                atomic_fetch_add(&f->commands, 1);
                if (!reply || write(cl->fd, reply, strlen(reply)) < 0) {
                    close(cl->fd);
                    cl->fd = -1;
                    break;
                }
                memmove(cl->buf, cl->buf + used, cl->len - (size_t)used);
                cl->len -= (size_t)used;
            }
        }
    }
    return NULL;
}

fake_redis *fake_redis_start(fake_redis_fn fn, void *arg)
{
    fake_redis *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    for (int i = 0; i < MAX_CLIENTS; i++)
        f->clients[i].fd = -1;
    f->fn = fn;
    f->arg = arg;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof a) || listen(f->lfd, 8) ||
        getsockname(f->lfd, (struct sockaddr *)&a, &len)) {
        if (f->lfd >= 0)
            close(f->lfd);
        free(f);
        return NULL;
    }
    f->port = ntohs(a.sin_port);
    if (pthread_create(&f->thread, NULL, serve, f)) {
        close(f->lfd);
        free(f);
        return NULL;
    }
    return f;
}

int fake_redis_port(const fake_redis *f) { return f->port; }

int fake_redis_commands(const fake_redis *f) { return atomic_load(&((fake_redis *)f)->commands); }

void fake_redis_stop(fake_redis *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (f->clients[i].fd >= 0)
            close(f->clients[i].fd);
    close(f->lfd);
    free(f);
}
