/* Pure parts of the Redis backend, no server: CRC16 and key slots against
 * the values of the Redis Cluster specification, dataset patterns, per
 * dataset tallies, and topology parsing of CLUSTER SHARDS / CLUSTER SLOTS
 * replies (real shapes captured from Redis 7.0, and malformed ones) fed
 * through hiredis's own reply reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "backend_redis_pattern.h"
#include "backend_redis_slot.h"
#include "backend_redis_tally.h"
#include "backend_redis.h"
#include "backend_redis_topo.h"
#include "locus/error.h"

static void crc16_and_slots(void **state)
{
    (void)state;
    assert_int_equal(probe_redis_crc16("123456789", 9), 0x31C3); /* the spec's check value */
    assert_int_equal(probe_redis_key_slot("foo", 3), 12182);      /* CLUSTER KEYSLOT foo */
    assert_int_equal(probe_redis_key_slot("{user1000}.following", 20),
                     probe_redis_key_slot("user1000", 8));
    assert_int_equal(probe_redis_key_slot("{user1000}.followers", 20),
                     probe_redis_key_slot("{user1000}.following", 20));
    /* empty tag: the whole key is hashed */
    assert_int_equal(probe_redis_key_slot("foo{}{bar}", 10), probe_redis_crc16("foo{}{bar}", 10) & 16383);
    /* only the first tag counts */
    assert_int_equal(probe_redis_key_slot("foo{{bar}}zap", 13), probe_redis_key_slot("{bar", 4));
    assert_int_equal(probe_redis_key_slot("foo{bar}{zap}", 13), probe_redis_key_slot("bar", 3));
    assert_int_equal(probe_redis_key_slot("{no-close", 9), probe_redis_crc16("{no-close", 9) & 16383);
}

static int match(const probe_redis_patterns *p, const char *key, char *name)
{
    const char *n;
    size_t len;
    if (!probe_redis_patterns_match(p, key, strlen(key), &n, &len))
        return 0;
    memcpy(name, n, len);
    name[len] = '\0';
    return 1;
}

static void patterns(void **state)
{
    (void)state;
    probe_redis_patterns *p;
    char err[256], name[64];
    assert_int_equal(probe_redis_patterns_parse("{*}", &p, err, sizeof err), 0);
    assert_string_equal(probe_redis_patterns_glob(p), "{*}*");
    assert_true(match(p, "{sales}:0001", name));
    assert_string_equal(name, "sales");
    assert_false(match(p, "{}:1", name));     /* empty name */
    assert_false(match(p, "sales:1", name));
    assert_false(match(p, "{open", name));
    probe_redis_patterns_free(p);

    assert_int_equal(probe_redis_patterns_parse(" cache:*: , logs=applog:, raw[1]* ", &p, err,
                                                sizeof err),
                     LOCUS_ECONFIG); /* '*' last */
    assert_non_null(strstr(err, "raw[1]*"));
    assert_int_equal(probe_redis_patterns_parse(" cache:*: , logs=applog:, raw[1]", &p, err, sizeof err), 0);
    assert_null(probe_redis_patterns_glob(p)); /* several items: every key is scanned */
    assert_true(match(p, "cache:users:42", name));
    assert_string_equal(name, "users");
    assert_true(match(p, "applog:2024", name));
    assert_string_equal(name, "logs");
    assert_true(match(p, "raw[1]x", name));
    assert_string_equal(name, "raw[1]");
    assert_false(match(p, "cache:nocolon", name));
    probe_redis_patterns_free(p);

    assert_int_equal(probe_redis_patterns_parse("a[*]?", &p, err, sizeof err), 0);
    assert_string_equal(probe_redis_patterns_glob(p), "a\\[*\\]\\?*"); /* glob specials escaped */
    probe_redis_patterns_free(p);

    const char *bad[] = {"", " , ", "a*b*c", "=x", "n=a*b", "*"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(probe_redis_patterns_parse(bad[i], &p, err, sizeof err), LOCUS_ECONFIG);
        assert_null(p);
        assert_non_null(strstr(err, "redis.datasets"));
    }
}

static void tally(void **state)
{
    (void)state;
    probe_redis_tally t = {0};
    probe_redis_tally_entry *first = probe_redis_tally_get(&t, "ds0", 3);
    assert_non_null(first);
    first->bytes = 7;
    char name[16];
    for (int i = 1; i < 1000; i++) { /* grows several times; entries do not move */
        snprintf(name, sizeof name, "ds%d", i);
        probe_redis_tally_entry *e = probe_redis_tally_get(&t, name, strlen(name));
        assert_non_null(e);
        e->bytes = (uint64_t)i;
    }
    assert_int_equal(t.n, 1000);
    assert_ptr_equal(probe_redis_tally_get(&t, "ds0", 3), first);
    assert_int_equal(probe_redis_tally_find(&t, "ds0", 3)->bytes, 7);
    assert_int_equal(probe_redis_tally_find(&t, "ds999", 5)->bytes, 999);
    assert_null(probe_redis_tally_find(&t, "ds1000", 6));
    probe_redis_tally_clear(&t);
    assert_int_equal(t.n, 0);
    assert_null(probe_redis_tally_find(&t, "ds0", 3));
}

static redisReply *parse_resp(const char *text)
{
    redisReader *r = redisReaderCreate();
    redisReaderFeed(r, text, strlen(text));
    void *reply = NULL;
    int rc = redisReaderGetReply(r, &reply);
    redisReaderFree(r);
    assert_int_equal(rc, REDIS_OK);
    assert_non_null(reply);
    return reply;
}

#define BULK(s) "$" #s
/* One CLUSTER SHARDS shard as Redis 7.0 sends it (RESP2 maps are flat arrays). */
#define NODE(id, port, host, role, health)                                                       \
    "*16\r\n$2\r\nid\r\n$2\r\n" id "\r\n$4\r\nport\r\n:" port "\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n" \
    "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$8\r\nhostname\r\n$5\r\n" host "\r\n$4\r\nrole\r\n"   \
    "$" role "\r\n$18\r\nreplication-offset\r\n:10\r\n$6\r\nhealth\r\n$" health "\r\n"

static void shards_reply(void **state)
{
    (void)state;
    const char *text =
        "*3\r\n"
        "*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*2\r\n"
        NODE("n2", "7001", "node2", "6\r\nmaster", "6\r\nonline")
        NODE("n5", "7004", "node5", "7\r\nreplica", "7\r\nloading")
        "*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:99\r\n:200\r\n:5460\r\n$5\r\nnodes\r\n*3\r\n"
        NODE("n1", "7000", "node1", "6\r\nmaster", "6\r\nonline")
        NODE("n4", "7003", "node4", "7\r\nreplica", "4\r\nfail")
        NODE("n6", "7005", "node6", "7\r\nreplica", "6\r\nonline")
        "*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n"
        NODE("n3", "7002", "node3", "6\r\nmaster", "6\r\nonline");
    redisReply *r = parse_resp(text);
    probe_redis_topology *t;
    char err[256];
    assert_int_equal(probe_redis_topology_from_shards(r, "127.0.0.1:7000", &t, err, sizeof err), 0);
    freeReplyObject(r);
    assert_int_equal(t->n_shards, 2); /* the slotless master holds no data */
    assert_int_equal(t->from_slots, 0);
    assert_int_equal(t->shards[0].first_slot, 0);
    assert_int_equal(t->shards[0].slots, 100 + 5261);
    assert_string_equal(t->shards[0].master.host, "node1");
    assert_int_equal(t->shards[0].master.port, 7000);
    assert_int_equal(t->shards[0].n_replicas, 1); /* the failed one is left out */
    assert_string_equal(t->shards[0].replicas[0].host, "node6");
    assert_int_equal(t->shards[1].first_slot, 5461);
    assert_int_equal(t->shards[1].n_replicas, 1); /* "loading" replicas serve reads */
    assert_true(t->shards[1].master_ok);
    probe_redis_topology_free(t);
}

static void shards_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        ":1\r\n",
        "*1\r\n:1\r\n",
        "*1\r\n*3\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16384\r\n$5\r\nnodes\r\n*0\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:9\r\n:3\r\n$5\r\nnodes\r\n*0\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n$1\r\n0\r\n:3\r\n$5\r\nnodes\r\n*0\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:3\r\n$5\r\nnodes\r\n*1\r\n*2\r\n$4\r\nport\r\n$2\r\nno\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:3\r\n$5\r\nnodes\r\n*1\r\n*2\r\n$4\r\nrole\r\n$4\r\nboss\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:3\r\n$5\r\nnodes\r\n*2\r\n"
        NODE("aa", "1", "host1", "6\r\nmaster", "6\r\nonline") NODE("bb", "2", "host2", "6\r\nmaster", "6\r\nonline"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        redisReply *r = parse_resp(bad[i]);
        probe_redis_topology *t = (void *)1;
        char err[256] = "";
        assert_int_equal(probe_redis_topology_from_shards(r, "10.0.0.9:6379", &t, err, sizeof err),
                         LOCUS_EPARSE);
        freeReplyObject(r);
        assert_null(t);
        assert_non_null(strstr(err, "node 10.0.0.9:6379: CLUSTER SHARDS: malformed reply"));
    }
}

static void slots_reply(void **state)
{
    (void)state;
    /* two ranges of one master (grouped), hostname metadata, a replica with
     * an unknown address ("?") that is left out */
    const char *text =
        "*3\r\n"
        "*4\r\n:0\r\n:99\r\n*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nn1\r\n*2\r\n$8\r\nhostname\r\n$5\r\nnode1\r\n"
        "*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$2\r\nn4\r\n"
        "*3\r\n:100\r\n:8000\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$2\r\nn2\r\n"
        "*4\r\n:8001\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nn1\r\n*3\r\n$1\r\n?\r\n:7004\r\n$2\r\nn5\r\n";
    redisReply *r = parse_resp(text);
    probe_redis_topology *t;
    char err[256];
    assert_int_equal(probe_redis_topology_from_slots(r, "x:1", &t, err, sizeof err), 0);
    freeReplyObject(r);
    assert_int_equal(t->from_slots, 1);
    assert_int_equal(t->n_shards, 2);
    assert_string_equal(t->shards[0].master.host, "node1");
    assert_int_equal(t->shards[0].slots, 100 + 8383);
    assert_int_equal(t->shards[0].n_replicas, 1);
    assert_string_equal(t->shards[0].replicas[0].host, "127.0.0.1"); /* no hostname: the IP */
    assert_int_equal(t->shards[1].first_slot, 100);
    assert_int_equal(t->shards[1].master.port, 7001);
    probe_redis_topology_free(t);

    const char *bad[] = {"$3\r\nabc\r\n", "*1\r\n*2\r\n:0\r\n:1\r\n",
                         "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n",
                         "*1\r\n*3\r\n:5\r\n:1\r\n*2\r\n$1\r\nh\r\n:1\r\n",
                         "*1\r\n*3\r\n:0\r\n:1\r\n*3\r\n$1\r\nh\r\n:1\r\n:7\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = parse_resp(bad[i]);
        char e[256] = "";
        assert_int_equal(probe_redis_topology_from_slots(r, "x:1", &t, e, sizeof e), LOCUS_EPARSE);
        freeReplyObject(r);
        assert_non_null(strstr(e, "node x:1: CLUSTER SLOTS: malformed reply"));
    }
}

/* Two shards both claiming slots 0-8191 used to add up to "16384 slots
 * served" and pass as complete coverage. */
static void overlapping_ranges_refused(void **state)
{
    (void)state;
    const char *shards =
        "*2\r\n"
        "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:8191\r\n$5\r\nnodes\r\n*1\r\n"
        NODE("n1", "7000", "node1", "6\r\nmaster", "6\r\nonline")
        "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:8191\r\n$5\r\nnodes\r\n*1\r\n"
        NODE("n2", "7001", "node2", "6\r\nmaster", "6\r\nonline");
    redisReply *r = parse_resp(shards);
    probe_redis_topology *t = NULL;
    char err[256] = "";
    assert_int_equal(probe_redis_topology_from_shards(r, "x:1", &t, err, sizeof err), LOCUS_EPARSE);
    freeReplyObject(r);
    assert_null(t);
    assert_non_null(strstr(err, "slot 0 is claimed twice"));

    const char *slots =
        "*2\r\n"
        "*3\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nn1\r\n"
        "*3\r\n:100\r\n:200\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n$2\r\nn2\r\n";
    r = parse_resp(slots);
    err[0] = 0;
    assert_int_equal(probe_redis_topology_from_slots(r, "x:1", &t, err, sizeof err), LOCUS_EPARSE);
    freeReplyObject(r);
    assert_non_null(strstr(err, "slot 100 is claimed twice"));
}

/* A 12-byte reply announcing 111 million elements made hiredis allocate
 * (and free) an 888 MB table: the backend's readers refuse such counts. */
static void reader_caps_array_elements(void **state)
{
    (void)state;
    redisReader *r = redisReaderCreate();
    probe_redis_guard_reader(r);
    const char *huge = "*111111110\r\n*0\r\n";
    redisReaderFeed(r, huge, strlen(huge));
    void *reply = NULL;
    assert_int_equal(redisReaderGetReply(r, &reply), REDIS_ERR);
    assert_null(reply);
    redisReaderFree(r);

    r = redisReaderCreate();
    probe_redis_guard_reader(r);
    const char *ok = "*2\r\n:1\r\n$1\r\nx\r\n";
    redisReaderFeed(r, ok, strlen(ok));
    assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
    assert_non_null(reply);
    assert_int_equal(((redisReply *)reply)->elements, 2);
    freeReplyObject(reply);
    redisReaderFree(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc16_and_slots), cmocka_unit_test(patterns),
        cmocka_unit_test(tally),           cmocka_unit_test(shards_reply),
        cmocka_unit_test(shards_malformed), cmocka_unit_test(slots_reply),
        cmocka_unit_test(overlapping_ranges_refused),
        cmocka_unit_test(reader_caps_array_elements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
