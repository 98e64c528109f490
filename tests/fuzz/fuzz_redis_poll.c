/* Fuzz target: RESP replies through a real poll of the Redis backend. A
 * scripted server (tests/probe-redis/fake_redis.c) on a loopback port
 * announces itself as the single master of all 16384 slots, then answers
 * the first SCAN with the input (up to a "\n--\n" separator) and every
 * MEMORY USAGE with the rest (":100\r\n" when there is none). Every input
 * must end the poll exactly once - complete, failed with a message naming
 * the node, or cancelled by the harness's timeout when the reply is left
 * incomplete - and leave nothing behind. NUL bytes end a reply (the script
 * replies are C strings). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_redis.h"
#include "fuzz.h"
#include "redis_poll_harness.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char shards[1024];
static char *scan_reply, *mu_reply;
static int scans;
/* The server thread writes a reply after the script returns it, possibly
 * after the poll was cancelled and the next input began: replies are kept
 * for RING more inputs before they are freed. */
#define RING 64
static char *ring[RING][2];
static unsigned ring_next;

static const char *script(int argc, char **argv, void *arg)
{
    (void)arg;
    const char *out = "-ERR unknown command\r\n";
    pthread_mutex_lock(&lock);
    if (argc >= 2 && strcasecmp(argv[0], "CLUSTER") == 0 && strcasecmp(argv[1], "SHARDS") == 0)
        out = shards;
    else if (argc >= 1 && strcasecmp(argv[0], "SCAN") == 0)
        out = scans++ == 0 ? scan_reply : "*2\r\n$1\r\n0\r\n*0\r\n";
    else if (argc >= 1 && strcasecmp(argv[0], "MEMORY") == 0)
        out = mu_reply;
    pthread_mutex_unlock(&lock);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fake_redis *f;
    static probe_sink *sink;
    static char seeds[64];
    if (!f) {
        if (!(f = fake_redis_start(script, NULL)) || !(sink = probe_sink_new()))
            abort();
        int port = fake_redis_port(f);
        snprintf(seeds, sizeof seeds, "127.0.0.1:%d", port);
        char node[512];
        int nl = snprintf(node, sizeof node,
                          "*12\r\n$2\r\nid\r\n$2\r\nn1\r\n$4\r\nport\r\n:%d\r\n$2\r\nip\r\n$9\r\n"
                          "127.0.0.1\r\n$8\r\nhostname\r\n$5\r\nnode1\r\n$4\r\nrole\r\n$6\r\n"
                          "master\r\n$6\r\nhealth\r\n$6\r\nonline\r\n",
                          port);
        snprintf(shards, sizeof shards,
                 "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n%.*s", nl,
                 node);
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *sep = strstr(text, "\n--\n");
    pthread_mutex_lock(&lock);
    char **slot = ring[ring_next++ % RING];
    free(slot[0]);
    free(slot[1]);
    scan_reply = strdup(text);
    mu_reply = strdup(sep ? sep + 4 : ":100\r\n");
    if (sep && scan_reply)
        scan_reply[sep - text] = 0;
    slot[0] = scan_reply;
    slot[1] = mu_reply;
    scans = 0;
    pthread_mutex_unlock(&lock);
    free(text);
    if (!scan_reply || !mu_reply)
        return 0;

    locus_cfg_override ov[] = {{"redis.seeds", seeds}, {"redis.connect_timeout", "0.5"}};
    rph h;
    char err[512];
    if (rph_open(&h, ov, 2, err, sizeof err) != 0)
        abort();
    rph_result res;
    int rc = rph_poll(&h, sink, &res, 0.3);
    if (rc == 0 && (res.done_calls != 1 || (res.status && !strstr(res.msg, seeds) &&
                                            !strstr(res.msg, "node"))))
        abort();
    rph_close(&h);
    return 0;
}
