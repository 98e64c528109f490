/* Fuzz target: RESP bytes as the Redis backend receives them, through
 * hiredis's reader (the one the backend's async context uses) into the
 * topology parsers of CLUSTER SHARDS and CLUSTER SLOTS replies
 * (backend_redis_topo.c), with the element cap the backend puts on its
 * readers (an array header of 111,111,110 elements, found by this target,
 * made hiredis allocate and free 888 MB per reply). Every reply the reader completes is given to both
 * parsers; a refusal must name the node and the command. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "backend_redis.h"
#include "backend_redis_topo.h"
#include "locus/error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader *r = redisReaderCreate();
    if (!r)
        return 0;
    probe_redis_guard_reader(r); /* as on every node connection of the backend */
    redisReaderFeed(r, (const char *)data, size);
    for (int n = 0; n < 16; n++) {
        void *reply = NULL;
        if (redisReaderGetReply(r, &reply) != REDIS_OK || !reply)
            break;
        for (int kind = 0; kind < 2; kind++) {
            probe_redis_topology *t = NULL;
            char err[512] = "";
            int rc = kind ? probe_redis_topology_from_slots(reply, "10.0.0.1:7000", &t, err, sizeof err)
                          : probe_redis_topology_from_shards(reply, "10.0.0.1:7000", &t, err,
                                                             sizeof err);
            if (rc == 0) {
                unsigned total = 0;
                for (size_t i = 0; i < t->n_shards; i++)
                    total += t->shards[i].slots;
                if (total > 16384)
                    abort(); /* overlapping ranges must be refused */
            } else if (t || (rc != LOCUS_ENOMEM && !strstr(err, "10.0.0.1:7000"))) {
                abort(); /* a refusal frees everything and names the node */
            }
            probe_redis_topology_free(t);
        }
        freeReplyObject(reply);
    }
    redisReaderFree(r);
    return 0;
}
