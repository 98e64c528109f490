/* A scripted RESP server on a loopback port, for replies a real Redis never
 * gives: garbage bytes, malformed shapes, a lying topology. It runs in its own
 * thread; each complete command (RESP array of bulk strings) is passed to the
 * reply function, whose bytes are sent back verbatim. */
#ifndef LOCUS_TEST_FAKE_REDIS_H
#define LOCUS_TEST_FAKE_REDIS_H

#include <stddef.h>

/* Returns the raw reply for one command (argv[0] upper- or lower-case as
 * sent), or NULL to close the connection. The string must outlive the call. */
typedef const char *(*fake_redis_fn)(int argc, char **argv, void *arg);

typedef struct fake_redis fake_redis;

/* NULL on failure. */
fake_redis *fake_redis_start(fake_redis_fn fn, void *arg);
int fake_redis_port(const fake_redis *f);
/* Commands received so far. */
int fake_redis_commands(const fake_redis *f);
void fake_redis_stop(fake_redis *f);

#endif
