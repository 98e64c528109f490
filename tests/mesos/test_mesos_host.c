/* A C stand-in for the Mesos module adapter: it loads the real plugin
 * (<build>/allocator/locus-allocator.so) with the host loader and replays, through
 * the ABI entry points the adapter calls, the call sequences a Mesos master
 * makes in Mesos's own allocator tests (src/tests/hierarchical_allocator_tests.cpp:
 * UnreservedDRF, OfferFilter, RecoverResources, RemoveSlaveRecoverResources,
 * SuppressAndReviveOffers, DeactivateAndReactivateFramework, UpdateWeight,
 * NoDoubleAccounting, UpdateSlaveTotalResources, pause/resume), plus the
 * patterns only the adapter uses (nothing offerable to the chosen role; part
 * of the agent offerable; an agent re-added with its allocations). Each test asserts what the Mesos test asserts where it applies
 * to scalar DRF.
 *
 * Time is explicit here: the host's clock is passed to every call, so a
 * "filter expires after two allocation intervals" check is exact, not timed.
 * The policy runs as drf without hints (policy.name=drf, hints.path=""), the
 * configuration the adapter uses as its baseline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "locus/allocator.h"
#include "locus/allocator_loader.h"
#include "locus/hintstore.h"
#include "testutil.h"

#define INTERVAL 1.0 /* Mesos's default allocation interval, seconds */

typedef struct host {
    locus_allocator_plugin plugin;
    const locus_allocator_api *api;
    locus_allocator *a;
    double now;
} host;

/* One allocation cycle's offers, copied (the plugin's list lives only until
 * the next call on the handle). */
#define MAX_OFFERS 32
typedef struct cycle {
    size_t n;
    struct {
        char fw[64], role[64], agent[64];
        double cpus, mem, disk;
    } o[MAX_OFFERS];
} cycle;

static int setup(void **state)
{
    host *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    char err[512] = "";
    if (locus_allocator_load(LOCUS_TEST_PLUGIN, &h->plugin, err, sizeof err) != 0) {
        fprintf(stderr, "cannot load %s: %s\n", LOCUS_TEST_PLUGIN, err);
        free(h);
        return -1;
    }
    h->api = h->plugin.api;
    static const locus_param params[] = {{"policy.name", "drf"}, {"hints.path", ""}};
    locus_host_services services = {.struct_size = sizeof services};
    int rc = h->api->create(NULL, params, 2, &services, &h->a, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "create: %s (%s)\n", err, locus_strerror(rc));
        locus_allocator_unload(&h->plugin);
        free(h);
        return -1;
    }
    h->now = 1000.0;
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    host *h = *state;
    if (h) {
        h->api->destroy(h->a);
        locus_allocator_unload(&h->plugin);
        free(h);
    }
    return 0;
}

/* Fails the test with the plugin's own message. */
#define CHECK_OK(h, call)                                                               \
    do {                                                                                \
        int rc_ = (call);                                                               \
        if (rc_ != 0)                                                                   \
            fail_msg("%s: %s: %s", #call, locus_strerror(rc_), (h)->api->last_error((h)->a)); \
    } while (0)

static locus_resources res3(locus_scalar items[3], double cpus, double mem, double disk)
{
    items[0] = (locus_scalar){"cpus", cpus};
    items[1] = (locus_scalar){"mem", mem};
    items[2] = (locus_scalar){"disk", disk};
    return (locus_resources){items, 3};
}

static void add_agent(host *h, const char *id, double cpus, double mem)
{
    locus_scalar items[3];
    locus_agent_info info = {.id = id, .hostname = id, .rack = "", .total = res3(items, cpus, mem, 0)};
    CHECK_OK(h, h->api->add_agent(h->a, &info, NULL, 0, h->now));
}

static void add_agent_used(host *h, const char *id, double cpus, double mem, const char *fw,
                           const char *role)
{
    locus_scalar items[3], used_items[3];
    locus_agent_info info = {.id = id, .hostname = id, .rack = "", .total = res3(items, cpus, mem, 0)};
    locus_allocation used = {fw, role, id, res3(used_items, cpus, mem, 0)};
    CHECK_OK(h, h->api->add_agent(h->a, &info, &used, 1, h->now));
}

static void add_framework(host *h, const char *id, const char *role)
{
    const char *roles[] = {role};
    locus_framework_info info = {.id = id, .roles = roles, .n_roles = 1, .active = 1};
    CHECK_OK(h, h->api->add_framework(h->a, &info, NULL, 0, h->now));
}

static void add_framework_used(host *h, const char *id, const char *role, const char *agent,
                               double cpus, double mem)
{
    const char *roles[] = {role};
    locus_framework_info info = {.id = id, .roles = roles, .n_roles = 1, .active = 1};
    locus_scalar items[3];
    locus_allocation used = {id, role, agent, res3(items, cpus, mem, 0)};
    CHECK_OK(h, h->api->add_framework(h->a, &info, &used, 1, h->now));
}

static void update_total(host *h, const char *id, double cpus, double mem, double disk)
{
    locus_scalar items[3];
    locus_agent_info info = {.id = id, .hostname = id, .rack = "", .total = res3(items, cpus, mem, disk)};
    CHECK_OK(h, h->api->update_agent(h->a, &info));
}

static double scalar_of(const locus_offer *o, const char *name)
{
    for (size_t i = 0; i < o->resources.n; i++)
        if (strcmp(o->resources.items[i].name, name) == 0)
            return o->resources.items[i].value;
    return 0;
}

static void allocate(host *h, cycle *c)
{
    locus_offer_list list = {NULL, 0};
    CHECK_OK(h, h->api->allocate(h->a, h->now, &list));
    assert_true(list.n <= MAX_OFFERS);
    memset(c, 0, sizeof *c);
    c->n = list.n;
    for (size_t i = 0; i < list.n; i++) {
        const locus_offer *o = &list.offers[i];
        assert_non_null(o->framework_id);
        assert_non_null(o->agent_id);
        snprintf(c->o[i].fw, sizeof c->o[i].fw, "%s", o->framework_id);
        snprintf(c->o[i].role, sizeof c->o[i].role, "%s", o->role ? o->role : "");
        snprintf(c->o[i].agent, sizeof c->o[i].agent, "%s", o->agent_id);
        c->o[i].cpus = scalar_of(o, "cpus");
        c->o[i].mem = scalar_of(o, "mem");
        c->o[i].disk = scalar_of(o, "disk");
    }
}

/* The cycle one allocation interval later. */
static void next_cycle(host *h, cycle *c)
{
    h->now += INTERVAL;
    allocate(h, c);
}

/* A cycle now that offers nothing (the failure names the first offer). */
static void assert_no_offer(host *h, cycle *c)
{
    allocate(h, c);
    if (c->n)
        fail_msg("%zu offers, expected none: the first is agent %s to %s (%g cpus, %g mem)",
                 c->n, c->o[0].agent, c->o[0].fw, c->o[0].cpus, c->o[0].mem);
}

/* The framework the agent was offered to in this cycle, or NULL. */
static const char *offered_to(const cycle *c, const char *agent)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->o[i].agent, agent) == 0)
            return c->o[i].fw;
    return NULL;
}

static void assert_offer(const cycle *c, const char *agent, const char *fw, const char *role,
                         double cpus, double mem)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->o[i].agent, agent) != 0)
            continue;
        if (strcmp(c->o[i].fw, fw) != 0)
            fail_msg("agent %s offered to %s, expected %s", agent, c->o[i].fw, fw);
        assert_string_equal(c->o[i].role, role);
        assert_true(c->o[i].cpus == cpus);
        assert_true(c->o[i].mem == mem);
        return;
    }
    fail_msg("agent %s not offered (expected to %s); %zu offers this cycle", agent, fw, c->n);
}

/* The cycle made exactly one offer, this one. */
static void assert_sole_offer(const cycle *c, const char *agent, const char *fw, const char *role,
                              double cpus, double mem)
{
    if (c->n != 1)
        fail_msg("%zu offers, expected one (agent %s to %s)", c->n, agent, fw);
    assert_offer(c, agent, fw, role, cpus, mem);
}

/* What the adapter's recoverResources passes: the scalars of the Mesos
 * resources, the refuse time computed as Mesos does. */
static void recover(host *h, const char *fw, const char *agent, double cpus, double mem,
                    double refuse)
{
    locus_scalar items[3];
    locus_resources r = res3(items, cpus, mem, 0);
    CHECK_OK(h, h->api->recover(h->a, fw, agent, &r, refuse, h->now));
}

/* UnreservedDRF: each new agent goes to the role with the lowest dominant
 * share, then the framework with the lowest share within it. */
static void test_unreserved_drf(void **state)
{
    host *h = *state;
    cycle c;

    add_agent(h, "agent1", 2, 1024);
    add_framework(h, "framework1", "role1");
    allocate(h, &c);
    assert_sole_offer(&c, "agent1", "framework1", "role1", 2, 1024);

    add_framework(h, "framework2", "role2");
    add_agent(h, "agent2", 1, 512);
    allocate(h, &c);
    assert_sole_offer(&c, "agent2", "framework2", "role2", 1, 512);

    /* role1 share 2/3 cpus, role2 1/3: role2 again. */
    add_agent(h, "agent3", 3, 2048);
    allocate(h, &c);
    assert_sole_offer(&c, "agent3", "framework2", "role2", 3, 2048);

    /* role1 now lower; within role1 framework3 (share 0) beats framework1. */
    add_framework(h, "framework3", "role1");
    add_agent(h, "agent4", 4, 4096);
    allocate(h, &c);
    assert_sole_offer(&c, "agent4", "framework3", "role1", 4, 4096);

    /* role1 holds 6 of 11 cpus and 5120 of 8192 MB, role2 4 cpus and
     * 2560 MB: role2 is lower. */
    add_framework(h, "framework4", "role1");
    add_agent(h, "agent5", 1, 512);
    allocate(h, &c);
    assert_sole_offer(&c, "agent5", "framework2", "role2", 1, 512);
}

/* OfferFilter: a decline with refuse_seconds = 2 intervals keeps the agent
 * from the framework for exactly that long. */
static void test_offer_filter(void **state)
{
    host *h = *state;
    cycle c;

    /* The adapter's clock is wall-clock seconds: not a round number. */
    h->now = 1764100000.123456;
    add_framework(h, "framework", "role");
    add_agent(h, "agent", 1, 512);
    allocate(h, &c);
    assert_offer(&c, "agent", "framework", "role", 1, 512);

    recover(h, "framework", "agent", 1, 512, 2 * INTERVAL);

    h->now += INTERVAL;
    assert_no_offer(h, &c);

    next_cycle(h, &c);
    if (c.n == 0)
        fail_msg("agent not offered 2 intervals after a decline with refuse_seconds = 2 "
                 "intervals (Mesos offers it then): the filter outlived its timeout");
    assert_sole_offer(&c, "agent", "framework", "role", 1, 512);
}

/* RecoverResources (decline without a filter, and a finished task): the
 * resources are offered again at the next allocation. */
static void test_recover_resources(void **state)
{
    host *h = *state;
    cycle c;

    add_agent(h, "agent", 4, 2048);
    add_framework(h, "framework", "role1");
    allocate(h, &c);
    assert_offer(&c, "agent", "framework", "role1", 4, 2048);

    /* Nothing left: no offer while everything is out. */
    h->now += INTERVAL;
    assert_no_offer(h, &c);

    /* Half comes back (a task finished), no filter. */
    recover(h, "framework", "agent", 2, 1024, 0);
    next_cycle(h, &c);
    assert_sole_offer(&c, "agent", "framework", "role1", 2, 1024);

    /* Recovering more than the framework holds is refused, state unchanged. */
    locus_scalar items[3];
    locus_resources too_much = res3(items, 8, 0, 0);
    assert_int_not_equal(h->api->recover(h->a, "framework", "agent", &too_much, 0, h->now), 0);
    h->now += INTERVAL;
    assert_no_offer(h, &c);
}

/* RemoveSlaveRecoverResources: removing an agent with an outstanding offer
 * releases it from the framework's share; a late recovery for the removed
 * agent is refused (the adapter drops it, as Mesos does). */
static void test_remove_agent_with_outstanding_offer(void **state)
{
    host *h = *state;
    cycle c;

    add_framework(h, "framework1", "role1");
    add_agent(h, "agent1", 8, 8192);
    allocate(h, &c);
    assert_offer(&c, "agent1", "framework1", "role1", 8, 8192);

    add_framework(h, "framework2", "role2");
    add_agent(h, "agent2", 1, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent2", "framework2", "role2", 1, 1024);

    CHECK_OK(h, h->api->remove_agent(h->a, "agent1"));
    locus_scalar items[3];
    locus_resources r = res3(items, 8, 8192, 0);
    assert_int_equal(h->api->recover(h->a, "framework1", "agent1", &r, 0, h->now),
                     LOCUS_ENOTFOUND);

    /* framework1 holds nothing now, framework2 holds agent2: agent3 goes to
     * framework1. Had the offer on agent1 survived, framework2 would win. */
    add_agent(h, "agent3", 1, 1024);
    allocate(h, &c);
    assert_sole_offer(&c, "agent3", "framework1", "role1", 1, 1024);
}

/* SuppressAndReviveOffers. */
static void test_suppress_and_revive(void **state)
{
    host *h = *state;
    cycle c;

    add_agent(h, "agent", 2, 1024);
    add_framework(h, "framework", "role1");
    allocate(h, &c);
    assert_offer(&c, "agent", "framework", "role1", 2, 1024);

    /* Revive while everything is offered: nothing new. */
    CHECK_OK(h, h->api->revive(h->a, "framework", NULL));
    assert_no_offer(h, &c);

    recover(h, "framework", "agent", 2, 1024, 0);
    CHECK_OK(h, h->api->suppress(h->a, "framework", "role1"));
    h->now += INTERVAL;
    assert_no_offer(h, &c);

    CHECK_OK(h, h->api->revive(h->a, "framework", "role1"));
    allocate(h, &c);
    assert_sole_offer(&c, "agent", "framework", "role1", 2, 1024);
}

/* Revive clears refuse filters (Mesos reviveRoles erases the role's offer
 * filters), so a declined agent comes back at once. */
static void test_revive_clears_filters(void **state)
{
    host *h = *state;
    cycle c;

    add_agent(h, "agent", 2, 1024);
    add_framework(h, "framework", "role1");
    allocate(h, &c);
    assert_offer(&c, "agent", "framework", "role1", 2, 1024);
    recover(h, "framework", "agent", 2, 1024, 3600);
    h->now += INTERVAL;
    assert_no_offer(h, &c);
    CHECK_OK(h, h->api->revive(h->a, "framework", "role1"));
    allocate(h, &c);
    assert_offer(&c, "agent", "framework", "role1", 2, 1024);
}

/* DeactivateAndReactivateFramework. */
static void test_deactivate_and_reactivate(void **state)
{
    host *h = *state;
    cycle c;

    add_agent(h, "agent", 2, 1024);
    add_framework(h, "framework", "role1");
    allocate(h, &c);
    assert_offer(&c, "agent", "framework", "role1", 2, 1024);

    recover(h, "framework", "agent", 2, 1024, 0);
    CHECK_OK(h, h->api->suppress(h->a, "framework", NULL));
    CHECK_OK(h, h->api->deactivate_framework(h->a, "framework"));
    h->now += INTERVAL;
    assert_no_offer(h, &c);

    CHECK_OK(h, h->api->activate_framework(h->a, "framework"));
    CHECK_OK(h, h->api->revive(h->a, "framework", NULL));
    allocate(h, &c);
    assert_sole_offer(&c, "agent", "framework", "role1", 2, 1024);
}

/* A deactivated agent (disconnected) is not offered; activated again, it is. */
static void test_deactivate_agent(void **state)
{
    host *h = *state;
    cycle c;

    add_framework(h, "framework", "role1");
    add_agent(h, "agent", 2, 1024);
    CHECK_OK(h, h->api->deactivate_agent(h->a, "agent"));
    assert_no_offer(h, &c);
    CHECK_OK(h, h->api->activate_agent(h->a, "agent"));
    next_cycle(h, &c);
    assert_offer(&c, "agent", "framework", "role1", 2, 1024);
}

/* UpdateWeight: with role1 at weight 2 and role2 at 1, six equal agents
 * split 4:2 (weighted shares equal), whatever the tie-breaks. */
static void test_update_weights(void **state)
{
    host *h = *state;
    cycle c;

    const char *roles[] = {"role1", "role2"};
    const double weights[] = {2.0, 1.0};
    CHECK_OK(h, h->api->update_weights(h->a, roles, weights, 2));
    add_framework(h, "framework1", "role1");
    add_framework(h, "framework2", "role2");
    char id[16];
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "agent%d", i);
        add_agent(h, id, 2, 1024);
    }
    allocate(h, &c);
    assert_int_equal(c.n, 6);
    int n1 = 0, n2 = 0;
    for (size_t i = 0; i < c.n; i++) {
        n1 += strcmp(c.o[i].fw, "framework1") == 0;
        n2 += strcmp(c.o[i].fw, "framework2") == 0;
        assert_true(c.o[i].cpus == 2 && c.o[i].mem == 1024);
    }
    assert_int_equal(n1, 4);
    assert_int_equal(n2, 2);
}

/* NoDoubleAccounting: used resources reported by both addSlave (framework
 * still unknown) and addFramework are counted once. Observable: once the
 * framework gives its agent back, the agent is whole again and is offered. */
static void test_no_double_accounting(void **state)
{
    host *h = *state;
    cycle c;

    /* The adapter passes a framework's used resources only for agents the
     * allocator knows (Mesos skips the others): agent1 is not known yet. */
    add_framework(h, "framework1", "ROLE1");
    add_agent_used(h, "agent1", 1, 0, "framework1", "ROLE1");
    add_agent_used(h, "agent2", 1, 0, "framework2", "ROLE2");    /* framework2 unknown yet */
    add_framework_used(h, "framework2", "ROLE2", "agent2", 1, 0);

    assert_no_offer(h, &c); /* both agents fully used */

    recover(h, "framework2", "agent2", 1, 0, 0);
    next_cycle(h, &c);
    if (c.n == 0)
        fail_msg("agent2 not offered after framework2 gave back its 1 cpu: framework2's used "
                 "resources were counted on agent2 twice (add_agent, then add_framework)");
    assert_int_equal(c.n, 1);
    assert_non_null(offered_to(&c, "agent2"));
    assert_true(c.o[0].cpus == 1);
}

/* Recovery after master failover with quota pauses allocation (the adapter
 * calls pause/resume): no offers while paused, all of them after resume. */
static void test_pause_resume(void **state)
{
    host *h = *state;
    cycle c;

    h->api->pause(h->a);
    add_framework(h, "framework", "role1");
    add_agent(h, "agent", 2, 1024);
    assert_no_offer(h, &c);
    h->api->resume(h->a);
    allocate(h, &c);
    assert_offer(&c, "agent", "framework", "role1", 2, 1024);
}

/* Adapter pattern 1: the chosen role can take nothing on the agent (all of
 * it reserved for another role, say). The adapter gives the whole offer back
 * with a refuse filter of half an interval and asks again at the same time:
 * the agent must go to the next framework, and return to the first one at
 * the next interval. */
static void test_giveback_to_next_framework(void **state)
{
    host *h = *state;
    cycle c;

    add_framework(h, "framework1", "role1");
    add_framework(h, "framework2", "role2");
    add_agent(h, "agent", 2, 1024);
    allocate(h, &c);
    assert_int_equal(c.n, 1);
    const char *first = strcmp(c.o[0].fw, "framework1") == 0 ? "framework1" : "framework2";
    const char *second = first[9] == '1' ? "framework2" : "framework1";
    const char *second_role = first[9] == '1' ? "role2" : "role1";

    recover(h, first, "agent", 2, 1024, INTERVAL / 2);
    allocate(h, &c);
    assert_sole_offer(&c, "agent", second, second_role, 2, 1024);

    /* The second framework takes it for good; the half-interval filter of
     * the first lapses before the next run. */
    recover(h, second, "agent", 2, 1024, 0);
    CHECK_OK(h, h->api->suppress(h->a, second, NULL));
    next_cycle(h, &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.o[0].fw, first);
}

/* Adapter pattern 2: only part of the agent was offerable to the chosen
 * role; the rest is given back with no filter and offered in the next round
 * of the same run. */
static void test_partial_giveback(void **state)
{
    host *h = *state;
    cycle c;

    add_framework(h, "framework1", "role1");
    add_agent(h, "agent", 4, 4096);
    allocate(h, &c);
    assert_offer(&c, "agent", "framework1", "role1", 4, 4096);

    recover(h, "framework1", "agent", 3, 1024, 0); /* Mesos offered 1 cpu, 3072 MB */
    allocate(h, &c);
    assert_sole_offer(&c, "agent", "framework1", "role1", 3, 1024);
}

/* UpdateSlaveTotalResources: a grown agent offers the difference; a shrunk
 * one offers its new total once everything is back. */
static void test_update_agent_total(void **state)
{
    host *h = *state;
    cycle c;

    locus_scalar items[3];
    locus_agent_info info = {.id = "agent", .hostname = "agent", .rack = "",
                             .total = res3(items, 100, 100, 100)};
    CHECK_OK(h, h->api->add_agent(h->a, &info, NULL, 0, h->now));
    add_framework(h, "framework", "role1");
    allocate(h, &c);
    assert_offer(&c, "agent", "framework", "role1", 100, 100);

    update_total(h, "agent", 112, 100, 100);
    allocate(h, &c);
    assert_sole_offer(&c, "agent", "framework", "role1", 12, 0);

    update_total(h, "agent", 50, 50, 50);
    locus_resources all = res3(items, 112, 100, 100);
    CHECK_OK(h, h->api->recover(h->a, "framework", "agent", &all, 0, h->now));
    next_cycle(h, &c);
    assert_sole_offer(&c, "agent", "framework", "role1", 50, 50);
    assert_true(c.o[0].disk == 50);

    update_total(h, "agent", 100, 100, 100);
    allocate(h, &c);
    assert_sole_offer(&c, "agent", "framework", "role1", 50, 50);
}

/* addFramework with active = false: no offers until activated. */
static void test_add_inactive_framework(void **state)
{
    host *h = *state;
    cycle c;

    const char *roles[] = {"role1"};
    locus_framework_info info = {.id = "framework", .roles = roles, .n_roles = 1, .active = 0};
    CHECK_OK(h, h->api->add_framework(h->a, &info, NULL, 0, h->now));
    add_agent(h, "agent", 2, 1024);
    assert_no_offer(h, &c);
    CHECK_OK(h, h->api->activate_framework(h->a, "framework"));
    allocate(h, &c);
    assert_offer(&c, "agent", "framework", "role1", 2, 1024);
}

/* updateFramework dropping a role: the framework is no longer offered
 * anything for it; a multi-role framework's remaining role still is. */
static void test_update_framework_roles(void **state)
{
    host *h = *state;
    cycle c;

    const char *both[] = {"role1", "role2"};
    locus_framework_info info = {.id = "framework", .roles = both, .n_roles = 2, .active = 1};
    CHECK_OK(h, h->api->add_framework(h->a, &info, NULL, 0, h->now));
    CHECK_OK(h, h->api->suppress(h->a, "framework", "role1"));
    add_agent(h, "agent1", 2, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent1", "framework", "role2", 2, 1024);

    const char *only1[] = {"role1"};
    info.roles = only1;
    info.n_roles = 1;
    CHECK_OK(h, h->api->update_framework(h->a, &info));
    CHECK_OK(h, h->api->revive(h->a, "framework", "role1"));
    add_agent(h, "agent2", 2, 1024);
    allocate(h, &c);
    assert_sole_offer(&c, "agent2", "framework", "role1", 2, 1024);
    assert_int_not_equal(h->api->suppress(h->a, "framework", "role2"), 0);
}

/* Adapter pattern 3 (changed attributes, a resource provider added, a
 * conversion that changes quantities): the agent is removed and re-added
 * with everything offered or allocated on it. The allocation stays the
 * framework's: it is not re-offered, it weighs in DRF, and it can be
 * recovered. */
static void test_resync_agent(void **state)
{
    host *h = *state;
    cycle c;

    add_framework(h, "framework1", "role1");
    add_agent(h, "agent1", 4, 4096);
    allocate(h, &c);
    assert_offer(&c, "agent1", "framework1", "role1", 4, 4096);
    add_framework(h, "framework2", "role2");

    CHECK_OK(h, h->api->remove_agent(h->a, "agent1"));
    add_agent_used(h, "agent1", 4, 4096, "framework1", "role1");
    assert_no_offer(h, &c);

    /* framework1 still holds agent1, so a new agent goes to framework2. */
    add_agent(h, "agent2", 1, 1024);
    allocate(h, &c);
    assert_sole_offer(&c, "agent2", "framework2", "role2", 1, 1024);

    recover(h, "framework1", "agent1", 4, 4096, 0);
    next_cycle(h, &c);
    assert_int_equal(c.n, 1);
    assert_non_null(offered_to(&c, "agent1"));
}

/* requestResources / FrameworkInfo.labels: the demand of a known framework
 * is replaced and cleared; an unknown framework is refused (the adapter
 * drops requests of frameworks it does not know). */
static void test_set_demand(void **state)
{
    host *h = *state;
    cycle c;

    add_framework(h, "framework", "role1");
    const locus_demand_item items[] = {{"clicks", -1, 0}, {"users", -1, 0}};
    CHECK_OK(h, h->api->set_demand(h->a, "framework", items, 2));
    CHECK_OK(h, h->api->set_demand(h->a, "framework", items + 1, 1));
    CHECK_OK(h, h->api->set_demand(h->a, "framework", NULL, 0));
    assert_int_equal(h->api->set_demand(h->a, "nobody", items, 1), LOCUS_ENOTFOUND);
    /* Without hints a demand changes nothing about who gets the agent. */
    CHECK_OK(h, h->api->set_demand(h->a, "framework", items, 2));
    add_agent(h, "agent", 2, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent", "framework", "role1", 2, 1024);
}

/* requestResources' scalars: the task resources of a known framework are
 * set and cleared through the plugin's ABI 1.1 callback; an unknown framework
 * or a negative amount is refused; drf (the adapter's baseline) still offers
 * whole agents, as Mesos. */
static void test_set_task_resources(void **state)
{
    host *h = *state;
    cycle c;

    assert_true(h->api->struct_size >=
                offsetof(locus_allocator_api, set_task_resources) + sizeof(void *));
    add_framework(h, "framework", "role1");
    const locus_scalar one[] = {{"cpus", 1}, {"mem", 256}};
    const locus_resources per = {one, 2};
    CHECK_OK(h, h->api->set_task_resources(h->a, "framework", &per));
    assert_int_equal(h->api->set_task_resources(h->a, "nobody", &per), LOCUS_ENOTFOUND);
    const locus_scalar neg[] = {{"cpus", -1}};
    const locus_resources bad = {neg, 1};
    assert_int_equal(h->api->set_task_resources(h->a, "framework", &bad), LOCUS_EINVAL);
    add_agent(h, "agent", 2, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent", "framework", "role1", 2, 1024);
    CHECK_OK(h, h->api->set_task_resources(h->a, "framework", NULL));
}

/* ---- ABI 1.2: roles as Mesos 1.12 has them ------------------------------ */

static void require_abi_1_2(host *h)
{
    assert_true(LOCUS_ALLOCATOR_HAS(h->api, set_quota));
    assert_true(LOCUS_ALLOCATOR_HAS(h->api, set_fairness_excluded));
    assert_true(LOCUS_ALLOCATOR_HAS(h->api, recover_role));
    assert_true(LOCUS_ALLOCATOR_HAS(h->api, max_resource_names));
}

static void set_quota2(host *h, const char *role, double g_cpus, double g_mem, double l_cpus,
                       double l_mem)
{
    /* Negative: that part not set. */
    locus_scalar g[2], l[2];
    size_t ng = 0, nl = 0;
    if (g_cpus >= 0)
        g[ng++] = (locus_scalar){"cpus", g_cpus};
    if (g_mem >= 0)
        g[ng++] = (locus_scalar){"mem", g_mem};
    if (l_cpus >= 0)
        l[nl++] = (locus_scalar){"cpus", l_cpus};
    if (l_mem >= 0)
        l[nl++] = (locus_scalar){"mem", l_mem};
    locus_resources gr = {g, ng}, lr = {l, nl};
    CHECK_OK(h, h->api->set_quota(h->a, role, &gr, &lr));
}

/* Offered to framework fw in this cycle, summed over agents. */
static double offered_cpus(const cycle *c, const char *fw)
{
    double s = 0;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->o[i].fw, fw) == 0)
            s += c->o[i].cpus;
    return s;
}

/* NestedRoleDRF: roles compare by the share of their subtree at the level
 * where their paths part ("a/b"'s agent counts against "a/c"), then within
 * the subtree. Flat DRF would give agent2 to a/c (share 0, name first). */
static void test_nested_role_drf(void **state)
{
    host *h = *state;
    cycle c;
    add_agent(h, "agent1", 2, 1024);
    add_framework(h, "fw-ab", "a/b");
    allocate(h, &c);
    assert_offer(&c, "agent1", "fw-ab", "a/b", 2, 1024);

    add_framework(h, "fw-ac", "a/c");
    add_framework(h, "fw-de", "d/e");
    add_agent(h, "agent2", 1, 512);
    allocate(h, &c);
    assert_sole_offer(&c, "agent2", "fw-de", "d/e", 1, 512);

    /* a: 2 of 7 cpus, d: 1 of 7: d/e again. */
    add_agent(h, "agent3", 4, 2048);
    allocate(h, &c);
    assert_offer(&c, "agent3", "fw-de", "d/e", 4, 2048);

    /* Now a is lower, and within a, a/c (nothing yet) before a/b. */
    add_agent(h, "agent4", 1, 512);
    allocate(h, &c);
    assert_offer(&c, "agent4", "fw-ac", "a/c", 1, 512);
}

/* A weight on "a" weighs the whole subtree: "a/b" with a = 3 gets the agent
 * that flat or unweighted DRF would give to "c". */
static void test_nested_role_weight(void **state)
{
    host *h = *state;
    cycle c;
    const char *roles[] = {"a"};
    const double w[] = {3.0};
    CHECK_OK(h, h->api->update_weights(h->a, roles, w, 1));
    add_framework(h, "fw-ab", "a/b");
    add_framework(h, "fw-c", "c");
    add_agent(h, "agent1", 2, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent1", "fw-ab", "a/b", 2, 1024);
    add_agent(h, "agent2", 2, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent2", "fw-c", "c", 2, 1024);
    add_agent(h, "agent3", 2, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent3", "fw-ab", "a/b", 2, 1024);
    /* a: 4 of 8 cpus / 3 = 0.17 against c: 0.25. */
    add_agent(h, "agent4", 2, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent4", "fw-ab", "a/b", 2, 1024);
}

static void add_gpu_agent(host *h, const char *id, double cpus, double mem, double gpus)
{
    locus_scalar items[3] = {{"cpus", cpus}, {"mem", mem}, {"gpus", gpus}};
    locus_agent_info info = {.id = id, .hostname = id, .rack = "", .total = {items, 3}};
    CHECK_OK(h, h->api->add_agent(h->a, &info, NULL, 0, h->now));
}

/* --fair_sharing_excluded_resource_names=gpus: r1's 4 of 4 GPUs no longer
 * make it the role with the highest share. */
static void run_gpu_share(host *h, const char *expect_fw, const char *expect_role)
{
    cycle c;
    add_framework(h, "fw1", "r1");
    add_gpu_agent(h, "agent1", 1, 512, 4);
    allocate(h, &c);
    assert_offer(&c, "agent1", "fw1", "r1", 1, 512);
    add_framework(h, "fw2", "r2");
    add_agent(h, "agent2", 4, 2048);
    allocate(h, &c);
    assert_offer(&c, "agent2", "fw2", "r2", 4, 2048);
    add_agent(h, "agent3", 1, 512);
    allocate(h, &c);
    assert_offer(&c, "agent3", expect_fw, expect_role, 1, 512);
}

static void test_fairness_excluded_counted(void **state)
{
    run_gpu_share(*state, "fw2", "r2"); /* GPUs count: r1's share is 1.0 */
}

static void test_fairness_excluded(void **state)
{
    host *h = *state;
    require_abi_1_2(h);
    const char *names[] = {"gpus"};
    CHECK_OK(h, h->api->set_fairness_excluded(h->a, names, 1));
    run_gpu_share(h, "fw1", "r1"); /* r1: 1/6 cpus against r2's 4/6 */
}

/* Quota limits: an offer is cut to the role's limit, and a role at its limit
 * is passed over for the next one in the same cycle. */
static void test_quota_limit(void **state)
{
    host *h = *state;
    cycle c;
    require_abi_1_2(h);
    set_quota2(h, "r1", -1, -1, 1, 256);
    add_framework(h, "fw1", "r1");
    add_framework(h, "fw2", "r2");
    add_agent(h, "agent1", 4, 1024);
    allocate(h, &c);
    assert_sole_offer(&c, "agent1", "fw1", "r1", 1, 256);

    /* r1 is lowest in DRF (1/8 cpus) but at its limit: both agents go to r2. */
    add_agent(h, "agent2", 4, 1024);
    allocate(h, &c);
    assert_int_equal(c.n, 2);
    assert_offer(&c, "agent1", "fw2", "r2", 3, 768);
    assert_offer(&c, "agent2", "fw2", "r2", 4, 1024);

    /* Raised limit: what r2 gives back goes to r1 up to the new limit. */
    set_quota2(h, "r1", -1, -1, 3, 768);
    recover(h, "fw2", "agent2", 4, 1024, 0);
    allocate(h, &c);
    assert_sole_offer(&c, "agent2", "fw1", "r1", 2, 512);

    /* Cleared: no limit at all. */
    CHECK_OK(h, h->api->set_quota(h->a, "r1", NULL, NULL));
    allocate(h, &c);
    assert_offer(&c, "agent2", "fw1", "r1", 2, 512);
}

/* A limit on "p" holds for everything below it. */
static void test_quota_limit_nested(void **state)
{
    host *h = *state;
    cycle c;
    require_abi_1_2(h);
    set_quota2(h, "p", -1, -1, 3, -1);
    add_framework(h, "fw-q", "p/q");
    add_framework(h, "fw-r", "p/r");
    add_agent(h, "agent1", 2, 1024);
    add_agent(h, "agent2", 2, 1024);
    allocate(h, &c);
    assert_int_equal(c.n, 2);
    assert_true(offered_cpus(&c, "fw-q") + offered_cpus(&c, "fw-r") == 3);
    allocate(h, &c);
    assert_true(offered_cpus(&c, "fw-q") + offered_cpus(&c, "fw-r") == 0);
}

/* Quota guarantees: what unmet guarantees need stays unallocated for them
 * (here mem-only offers to r), and the guaranteed role, once it has a
 * framework, is offered it before roles lower in DRF order. */
static void test_quota_guarantee(void **state)
{
    host *h = *state;
    cycle c;
    require_abi_1_2(h);
    set_quota2(h, "q", 4, -1, -1, -1);
    add_framework(h, "fw-r", "r");
    add_agent(h, "agent1", 4, 1024);
    add_agent(h, "agent2", 4, 1024);
    allocate(h, &c);
    assert_int_equal(c.n, 2);
    assert_true(offered_cpus(&c, "fw-r") == 4);
    assert_true(c.o[0].mem + c.o[1].mem == 2048);

    add_framework(h, "fw-q", "q");
    allocate(h, &c);
    assert_int_equal(c.n, 1);
    assert_true(offered_cpus(&c, "fw-q") == 4);

    /* q gives it back: a new role s (share 0, q's share 0 too) comes after q
     * while q is below its guarantee. */
    for (size_t i = 0; i < c.n; i++)
        recover(h, "fw-q", c.o[i].agent, c.o[i].cpus, c.o[i].mem, 0);
    add_framework(h, "fw-a", "a");
    allocate(h, &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.o[0].fw, "fw-q");
}

/* A guarantee on "p" is met by what its nested roles hold: p/c comes first
 * until p holds 4 cpus, then plain DRF. */
static void test_quota_guarantee_nested(void **state)
{
    host *h = *state;
    cycle c;
    require_abi_1_2(h);
    set_quota2(h, "p", 4, -1, -1, -1);
    add_framework(h, "fw-a", "a"); /* "a" sorts before "p/c" on a tie */
    add_framework(h, "fw-pc", "p/c");
    add_agent(h, "agent1", 2, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent1", "fw-pc", "p/c", 2, 1024);
    add_agent(h, "agent2", 2, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent2", "fw-pc", "p/c", 2, 1024); /* p holds 2 of its 4 */
    add_agent(h, "agent3", 2, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent3", "fw-a", "a", 2, 1024); /* p's guarantee is met */
}

/* A multi-role framework's resources come back to the role they were
 * allocated in, never another. */
static void test_recover_role(void **state)
{
    host *h = *state;
    require_abi_1_2(h);
    add_agent(h, "agent1", 8, 4096);
    const char *roles[] = {"x", "y"};
    locus_framework_info info = {.id = "fw", .roles = roles, .n_roles = 2, .active = 1};
    locus_scalar ix[3], iy[3];
    locus_allocation used[2] = {{"fw", "x", "agent1", res3(ix, 1, 512, 0)},
                                {"fw", "y", "agent1", res3(iy, 2, 1024, 0)}};
    CHECK_OK(h, h->api->add_framework(h->a, &info, used, 2, h->now));

    locus_scalar it[3];
    locus_resources two = res3(it, 2, 1024, 0);
    /* x holds 1 cpu: 2 from x is refused, naming the role. */
    assert_int_equal(h->api->recover_role(h->a, "fw", "x", "agent1", &two, 0, h->now),
                     LOCUS_EINVAL);
    assert_non_null(strstr(h->api->last_error(h->a), "role x"));
    CHECK_OK(h, h->api->recover_role(h->a, "fw", "y", "agent1", &two, 0, h->now));
    /* y is empty now and x still holds its 1 cpu. */
    locus_scalar io[3];
    locus_resources one = res3(io, 1, 512, 0);
    assert_int_equal(h->api->recover_role(h->a, "fw", "y", "agent1", &one, 0, h->now),
                     LOCUS_EINVAL);
    CHECK_OK(h, h->api->recover_role(h->a, "fw", "x", "agent1", &one, 0, h->now));
    assert_int_equal(h->api->recover_role(h->a, "fw", "z", "agent1", &one, 0, h->now),
                     LOCUS_ENOTFOUND);

    /* Dropping role y while it holds resources: they still come back to y. */
    assert_int_equal(h->api->recover_role(h->a, "fw", "y", "agent1", &two, 0, h->now),
                     LOCUS_EINVAL); /* y is empty */
    locus_scalar iy2[3];
    locus_allocation again = {"fw", "y", "agent1", res3(iy2, 2, 1024, 0)};
    CHECK_OK(h, h->api->remove_framework(h->a, "fw"));
    CHECK_OK(h, h->api->add_framework(h->a, &info, &again, 1, h->now));
    const char *only_x[] = {"x"};
    locus_framework_info info_x = {.id = "fw", .roles = only_x, .n_roles = 1, .active = 1};
    CHECK_OK(h, h->api->update_framework(h->a, &info_x));
    CHECK_OK(h, h->api->recover_role(h->a, "fw", "y", "agent1", &two, 0, h->now));
}

static void recover_in(host *h, const char *fw, const char *role, const char *agent,
                       double cpus, double mem, double refuse)
{
    locus_scalar items[3];
    locus_resources r = res3(items, cpus, mem, 0);
    CHECK_OK(h, h->api->recover_role(h->a, fw, role, agent, &r, refuse, h->now));
}

/* A multi-role framework's decline filters its role only, and only while
 * the agent has no more to offer than was refused (Mesos's
 * RefusedOfferFilter); revive and expiry lift it. */
static void test_role_filters(void **state)
{
    host *h = *state;
    cycle c;
    require_abi_1_2(h);
    const char *roles[] = {"x", "y"};
    locus_framework_info info = {.id = "fw", .roles = roles, .n_roles = 2, .active = 1};
    CHECK_OK(h, h->api->add_framework(h->a, &info, NULL, 0, h->now));
    add_agent(h, "agent1", 4, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent1", "fw", "x", 4, 1024);

    recover_in(h, "fw", "x", "agent1", 4, 1024, 10);
    allocate(h, &c);
    assert_sole_offer(&c, "agent1", "fw", "y", 4, 1024);
    recover_in(h, "fw", "y", "agent1", 4, 1024, 10);
    assert_no_offer(h, &c);

    /* The agent grows: more than either role refused. */
    update_total(h, "agent1", 8, 2048, 0);
    allocate(h, &c);
    assert_offer(&c, "agent1", "fw", "x", 8, 2048);
    recover_in(h, "fw", "x", "agent1", 8, 2048, 10);
    allocate(h, &c);
    assert_offer(&c, "agent1", "fw", "y", 8, 2048); /* y refused only 4 cpus */
    recover_in(h, "fw", "y", "agent1", 8, 2048, 10);
    assert_no_offer(h, &c);

    /* Revive of y lifts y's filter only. */
    CHECK_OK(h, h->api->revive(h->a, "fw", "y"));
    allocate(h, &c);
    assert_offer(&c, "agent1", "fw", "y", 8, 2048);
    recover_in(h, "fw", "y", "agent1", 8, 2048, 10);
    h->now += 9.5;
    assert_no_offer(h, &c);
    h->now += 1;
    allocate(h, &c);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.o[0].fw, "fw");

    /* A removed agent takes its filters with it: re-added, it is offered. */
    recover_in(h, "fw", c.o[0].role, "agent1", 8, 2048, 100);
    CHECK_OK(h, h->api->remove_agent(h->a, "agent1"));
    add_agent(h, "agent1", 8, 2048);
    allocate(h, &c);
    assert_int_equal(c.n, 1);
}

/* A single-role framework's decline holds what it refused (Mesos's
 * RefusedOfferFilter): the agent stays filtered while it has no more free
 * than that, and is offered again as soon as a task's resources come back,
 * long before the refuse timeout. */
static void test_refuse_filter_holds_resources(void **state)
{
    host *h = *state;
    cycle c;
    require_abi_1_2(h);
    add_framework(h, "fw", "r");
    add_agent(h, "agent", 4, 1024);
    allocate(h, &c);
    assert_offer(&c, "agent", "fw", "r", 4, 1024);

    /* One task launched (1 cpu, 256 MB), the rest declined for 100 s. */
    recover_in(h, "fw", "r", "agent", 3, 768, 100);
    h->now += INTERVAL;
    assert_no_offer(h, &c);
    h->now += INTERVAL;
    assert_no_offer(h, &c);

    /* The task ends: 4 cpus free, more than the 3 refused. */
    recover_in(h, "fw", "r", "agent", 1, 256, 0);
    next_cycle(h, &c);
    if (c.n == 0)
        fail_msg("agent with more free than was refused not offered: the filter held the "
                 "whole agent for its timeout");
    assert_sole_offer(&c, "agent", "fw", "r", 4, 1024);

    /* Declined whole: filtered until the timeout, then offered again. */
    recover_in(h, "fw", "r", "agent", 4, 1024, 10);
    h->now += 9.5;
    assert_no_offer(h, &c);
    h->now += 1;
    allocate(h, &c);
    assert_offer(&c, "agent", "fw", "r", 4, 1024);

    /* Another framework is not held by fw's filter. */
    recover_in(h, "fw", "r", "agent", 4, 1024, 100);
    add_framework(h, "fw2", "r2");
    allocate(h, &c);
    assert_offer(&c, "agent", "fw2", "r2", 4, 1024);
}

/* Writes dataset "x" (one 1 GB block in MEM on agent "a2") into a new hint
 * store at path. */
static void write_store(const char *path)
{
    locus_hs_options o = {0};
    o.create = 1;
    o.no_sync = 1;
    locus_hs *hs = NULL;
    char err[256] = "";
    if (locus_hs_open(path, &o, &hs, err, sizeof err) != 0)
        fail_msg("hint store %s: %s", path, err);
    locus_hs_batch *b = NULL;
    assert_int_equal(locus_hs_batch_begin(hs, "test:writer", 0, &b), 0);
    locus_hs_replica rep[1] = {{"a2", LOCUS_TIER_MEM}};
    locus_hs_block blk = {"x", 0, 1ULL << 30, rep, 1};
    assert_int_equal(locus_hs_batch_put(b, &blk), 0);
    assert_int_equal(locus_hs_batch_bind_host(b, "a2", "a2", NULL), 0);
    assert_int_equal(locus_hs_batch_commit(b, 1000 * 1000), 0);
    locus_hs_close(hs);
}

/* Locality under quota: the DRF-first framework's local pick on a2 is cut
 * to nothing by its role's limit. Mesos allocates the agent to the others
 * in the same run; a2 must go to fw2 this cycle, not stay idle. */
static void test_quota_cut_pick_goes_to_next(void **state)
{
    (void)state;
    char dir[512], store[600], err[512] = "";
    assert_int_equal(tu_mkdtemp(dir, sizeof dir, "mesos-host"), 0);
    snprintf(store, sizeof store, "%s/store", dir);
    write_store(store);

    host h = {0};
    assert_int_equal(locus_allocator_load(LOCUS_TEST_PLUGIN, &h.plugin, err, sizeof err), 0);
    h.api = h.plugin.api;
    const locus_param params[] = {{"policy.name", "locality"}, {"hints.path", store}};
    locus_host_services services = {.struct_size = sizeof services};
    if (h.api->create(NULL, params, 2, &services, &h.a, err, sizeof err) != 0)
        fail_msg("create: %s", err);
    h.now = 1000.0;
    require_abi_1_2(&h);
    cycle c;

    add_agent(&h, "a1", 4, 1024);
    add_agent(&h, "a2", 4, 1024);
    /* r1 holds 1 cpu (its whole limit), r2 holds 2: r1 is first in DRF. */
    set_quota2(&h, "r1", -1, -1, 1, 256);
    add_framework_used(&h, "fw1", "r1", "a1", 1, 256);
    add_framework_used(&h, "fw2", "r2", "a1", 2, 512);
    const locus_demand_item want = {"x", -1, 0};
    CHECK_OK(&h, h.api->set_demand(h.a, "fw1", &want, 1));

    allocate(&h, &c);
    const char *to = offered_to(&c, "a2");
    if (!to)
        fail_msg("a2 left idle: fw1's local pick was cut by its quota limit and no other "
                 "framework was offered the agent");
    assert_offer(&c, "a2", "fw2", "r2", 4, 1024);
    assert_true(offered_cpus(&c, "fw1") == 0); /* r1 at its limit gets nothing */

    h.api->destroy(h.a);
    locus_allocator_unload(&h.plugin);
    tu_rm_r(dir);
}

/* Bad quota: a limit below the guarantee, a negative value, an empty role. */
static void test_quota_errors(void **state)
{
    host *h = *state;
    require_abi_1_2(h);
    locus_scalar g = {"cpus", 4}, l = {"cpus", 2}, bad = {"mem", -1};
    locus_resources gr = {&g, 1}, lr = {&l, 1}, br = {&bad, 1};
    assert_int_equal(h->api->set_quota(h->a, "r", &gr, &lr), LOCUS_EINVAL);
    assert_non_null(strstr(h->api->last_error(h->a), "below guarantee"));
    assert_int_equal(h->api->set_quota(h->a, "r", &br, NULL), LOCUS_EINVAL);
    assert_int_equal(h->api->set_quota(h->a, "", &gr, NULL), LOCUS_EINVAL);
    assert_int_equal(h->api->set_quota(h->a, "a/", &gr, NULL), LOCUS_EINVAL);
}

/* The resource-name capacity the plugin reports is the one it enforces
 * (cpus, mem, disk and gpus always hold a place). */
static void test_max_resource_names(void **state)
{
    host *h = *state;
    require_abi_1_2(h);
    uint32_t max = h->api->max_resource_names(h->a);
    assert_true(max >= 5);
    locus_scalar *items = calloc(max + 1, sizeof *items);
    char (*names)[16] = calloc(max + 1, sizeof *names);
    assert_non_null(items);
    assert_non_null(names);
    for (uint32_t i = 0; i <= max; i++) {
        snprintf(names[i], sizeof names[i], "res%u", i);
        items[i] = (locus_scalar){names[i], 1};
    }
    items[0].name = "cpus";
    items[1].name = "mem";
    items[2].name = "disk";
    items[3].name = "gpus";
    locus_agent_info info = {.id = "wide", .hostname = "wide", .rack = "", .total = {items, max}};
    CHECK_OK(h, h->api->add_agent(h->a, &info, NULL, 0, h->now));
    info.id = info.hostname = "wider";
    info.total.n = max + 1;
    assert_int_equal(h->api->add_agent(h->a, &info, NULL, 0, h->now), LOCUS_EINVAL);
    assert_non_null(strstr(h->api->last_error(h->a), names[max]));
    free(items);
    free(names);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unreserved_drf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offer_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_agent_with_outstanding_offer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suppress_and_revive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revive_clears_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deactivate_and_reactivate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deactivate_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_weights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_double_accounting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_giveback_to_next_framework, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_giveback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_agent_total, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_inactive_framework, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_framework_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resync_agent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_demand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_task_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_role_drf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_role_weight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fairness_excluded_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fairness_excluded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_limit_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_guarantee, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_guarantee_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_role_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_filter_holds_resources, setup, teardown),
        cmocka_unit_test(test_quota_cut_pick_goes_to_next),
        cmocka_unit_test_setup_teardown(test_max_resource_names, setup, teardown),
    };
    return cmocka_run_group_tests_name("mesos-host", tests, NULL, NULL);
}
