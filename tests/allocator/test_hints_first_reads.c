/* First reads of block demand spread over cycles: a framework arriving with
 * more pending blocks than a->first_reads has at most that many looked up
 * per cycle, items not read yet are neither units nor uncached work, no
 * item is looked up twice, and once every item is read the framework's
 * units, per-agent locality and index entries equal those of a full read
 * in one cycle - also when tasks launch (demand shrinks) while reads are
 * under way, and when demand grows (the items read before are read again
 * at once, the new ones in batches). Hints are injected through la_hint_provider (no store). */
#include "la_test.h"

#define N_BLOCKS 1000
#define N_AGENTS 8

typedef struct fake {
    locus_hs_block_view blk[N_BLOCKS];
    locus_hs_replica rep[N_BLOCKS][2];
    char names[N_AGENTS][8];
    t_block_table tb;
} fake;

static int no_hints(uint64_t idx)
{
    return idx % 97 == 13; /* some blocks without hints */
}

/* Block i: two copies on agents spread unevenly, tiers mixed so the units'
 * tier order differs from demand order. */
static void fake_init(fake *f)
{
    f->tb = (t_block_table){f->blk, N_BLOCKS, no_hints};
    for (int g = 0; g < N_AGENTS; g++)
        snprintf(f->names[g], sizeof f->names[g], "a%d", g);
    for (int i = 0; i < N_BLOCKS; i++) {
        f->rep[i][0] = (locus_hs_replica){f->names[(i * 7) % N_AGENTS], (locus_tier)(1 + i % 3)};
        f->rep[i][1] = (locus_hs_replica){f->names[(i * i + 3) % N_AGENTS],
                                          (locus_tier)(1 + (i / 5) % 3)};
        f->blk[i] = (locus_hs_block_view){"in", (uint64_t)i, (64u << 20) + (uint64_t)i,
                                          "test", 0, f->rep[i], 2};
    }
}

static locus_allocator *new_alloc(fake *f, uint32_t first_reads)
{
    locus_allocator *a = t_new(NULL, "policy.fairness_slack=0.5", "hints.staleness=1e6", NULL);
    t_use_block_table(a, &f->tb);
    if (first_reads)
        a->first_reads = first_reads;
    for (int g = 0; g < N_AGENTS; g++)
        t_agent(a, f->names[g], 2, 2048);
    t_fw(a, "fa", "*");
    t_task_res(a, "fa", 1, 1024);
    return a;
}

/* Demands blocks [0, N_BLOCKS) of "in" minus those dropped() names; demand
 * bytes 0 (the hint's size) for even blocks. */
static void demand(locus_allocator *a, int (*dropped)(int))
{
    static locus_demand_item it[N_BLOCKS];
    size_t n = 0;
    for (int i = 0; i < N_BLOCKS; i++)
        if (!dropped || !dropped(i))
            it[n++] = (locus_demand_item){"in", i, i % 2 ? (32u << 20) : 0};
    assert_int_equal(la_set_demand(a, "fa", it, n), 0);
}

static la_fw *fw_of(locus_allocator *a)
{
    uint32_t s = la_strmap_get(&a->fw_map, "fa");
    assert_true(s != LA_MAP_NONE);
    return &a->fws[s];
}

/* One cycle; the offers are declined at once (no refuse filter), so every
 * cycle sees the same free agents. */
static void cycle(locus_allocator *a, double now)
{
    locus_offer_list l = t_alloc(a, now);
    for (size_t i = 0; i < l.n; i++)
        t_decline(a, &l.offers[i], 0, now);
}

/* x and y (same demand, every item read) hold the same locality. */
static void assert_same_state(locus_allocator *x, locus_allocator *y)
{
    la_fw *f = fw_of(x), *g = fw_of(y);
    assert_int_equal(f->n_read, f->n_demand);
    assert_int_equal(g->n_read, g->n_demand);
    assert_int_equal(f->n_demand, g->n_demand);
    assert_true(f->demand_bytes == g->demand_bytes);
    assert_true(fabs(f->uncached_tasks - g->uncached_tasks) < 1e-9);
    assert_true(fabs(f->local_tasks - g->local_tasks) < 1e-9);
    assert_true(fabs(f->unit_limit - g->unit_limit) < 1e-9);
    assert_int_equal(f->n_units, g->n_units);
    for (uint32_t u = 0; u < f->n_units; u++) {
        const la_unit *p = &f->units[u], *q = &g->units[u];
        if (p->block != q->block || p->best_tier != q->best_tier || p->n_copies != q->n_copies ||
            p->bytes != q->bytes || p->demand != q->demand)
            fail_msg("unit %u: block %lld/%lld tier %u/%u", u, (long long)p->block,
                     (long long)q->block, p->best_tier, q->best_tier);
        for (uint32_t c = 0; c < p->n_copies; c++) {
            assert_int_equal(f->copies[p->copy0 + c].agent, g->copies[q->copy0 + c].agent);
            assert_int_equal(f->copies[p->copy0 + c].tier, g->copies[q->copy0 + c].tier);
        }
    }
    /* Per-agent bytes and tasks (entries may come in another order). */
    assert_int_equal(f->n_loc, g->n_loc);
    for (uint32_t i = 0; i < f->n_loc; i++) {
        uint32_t k = 0;
        while (k < g->n_loc && g->loc[k].agent != f->loc[i].agent)
            k++;
        assert_true(k < g->n_loc);
        assert_memory_equal(f->loc[i].bytes, g->loc[k].bytes, sizeof f->loc[i].bytes);
        assert_true(fabs(f->loc[i].tasks - g->loc[k].tasks) < 1e-6);
    }
    /* The index: the same entries on every agent. */
    assert_int_equal(x->idx_off_cap, y->idx_off_cap);
    for (uint32_t ag = 0; ag < x->idx_off_cap; ag++) {
        assert_int_equal(x->idx_len[ag], y->idx_len[ag]);
        for (uint32_t i = 0; i < x->idx_len[ag]; i++) {
            const struct la_idxent *p = &x->idx_ent[x->idx_off[ag] + i];
            const struct la_idxent *q = &y->idx_ent[y->idx_off[ag] + i];
            assert_memory_equal(p->bytes, q->bytes, sizeof p->bytes);
            assert_true(fabs(p->tasks - q->tasks) < 1e-3);
        }
    }
}

static void test_bounded_then_same_as_full_read(void **state)
{
    (void)state;
    static fake f;
    fake_init(&f);
    locus_allocator *a = new_alloc(&f, 256), *b = new_alloc(&f, UINT32_MAX);
    demand(a, NULL);
    demand(b, NULL);
    cycle(b, 1);
    assert_int_equal(b->block_reads, N_BLOCKS);
    double now = 1;
    uint64_t before = a->block_reads;
    cycle(a, now);
    la_fw *fa = fw_of(a);
    /* First cycle: one batch read; the unread items are not uncached work. */
    assert_int_equal(a->block_reads - before, 256);
    assert_int_equal(fa->n_read, 256);
    uint32_t no_hint = 0;
    for (int i = 0; i < 256; i++)
        no_hint += i % 97 == 13;
    assert_int_equal(fa->n_units, 256 - no_hint);
    assert_true(fabs(fa->uncached_tasks - no_hint) < 1e-9);
    assert_true(fabs(fa->unit_limit - fa->n_units) < 1e-9);
    /* Every unread item counts its demanded bytes (0 = not known yet). */
    uint64_t want = 0;
    for (int i = 0; i < N_BLOCKS; i++) {
        uint64_t asked = i % 2 ? (32u << 20) : 0;
        want += asked ? asked : i < 256 && i % 97 != 13 ? f.blk[i].bytes : 0;
    }
    assert_true(fa->demand_bytes == want);
    /* Then one batch a cycle, each item once. */
    while (fa->n_read < fa->n_demand) {
        before = a->block_reads;
        cycle(a, now += 1);
        assert_true(a->block_reads - before <= 256);
        assert_true(a->block_reads - before > 0);
    }
    assert_int_equal(a->block_reads, N_BLOCKS);
    cycle(a, now += 1);
    assert_int_equal(a->block_reads, N_BLOCKS); /* nothing read again */
    assert_same_state(a, b);
    la_destroy(a);
    la_destroy(b);
}

static int launched(int i)
{
    return (i >= 10 && i < 110) || (i >= 300 && i < 310) || i == 999;
}

static void test_launches_while_reading(void **state)
{
    (void)state;
    static fake f;
    fake_init(&f);
    locus_allocator *a = new_alloc(&f, 256), *b = new_alloc(&f, UINT32_MAX);
    demand(a, NULL);
    cycle(a, 1);
    la_fw *fa = fw_of(a);
    assert_int_equal(fa->n_read, 256);
    /* Tasks launched: 100 read items, 11 unread ones; the rest stays. */
    demand(a, launched);
    assert_int_equal(fa->n_demand, N_BLOCKS - 111);
    assert_int_equal(fa->n_read, 156); /* the read items kept are a prefix again */
    for (uint32_t u = 0; u < fa->n_units; u++)
        assert_true(fa->units[u].demand < fa->n_read);
    double now = 1;
    while (fa->n_read < fa->n_demand)
        cycle(a, now += 1);
    assert_int_equal(a->block_reads, N_BLOCKS - 11); /* launched unread items never read */
    demand(b, launched);
    cycle(b, 1);
    cycle(a, now += 1);
    assert_same_state(a, b);
    la_destroy(a);
    la_destroy(b);
}

static int past_half(int i)
{
    return i >= N_BLOCKS / 2;
}

/* Demand that changes other than by launches (new blocks appended) is read
 * again: the items read before stay read (the plan keeps seeing them), and
 * the new ones come in batches. */
static void test_grown_demand_keeps_read_items(void **state)
{
    (void)state;
    static fake f;
    fake_init(&f);
    locus_allocator *a = new_alloc(&f, 256);
    demand(a, past_half); /* blocks [0, 500) */
    double now = 1;
    la_fw *fa = fw_of(a);
    while (fa->n_read < fa->n_demand)
        cycle(a, now += 1);
    assert_int_equal(fa->n_read, N_BLOCKS / 2);
    uint64_t before = a->block_reads;
    demand(a, NULL); /* all 1,000: 500 new ones after the old */
    cycle(a, now += 1);
    assert_int_equal(fa->n_read, N_BLOCKS / 2 + 256);
    assert_int_equal(a->block_reads - before, N_BLOCKS / 2 + 256);
    while (fa->n_read < fa->n_demand)
        cycle(a, now += 1);
    locus_allocator *b = new_alloc(&f, UINT32_MAX);
    demand(b, NULL);
    cycle(b, 1);
    assert_same_state(a, b);
    la_destroy(a);
    la_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounded_then_same_as_full_read),
        cmocka_unit_test(test_launches_while_reading),
        cmocka_unit_test(test_grown_demand_keeps_read_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
