/* The agent-side index kept up to date framework by framework equals a
 * full rebuild: over random runs of cycles where frameworks decline offers
 * with refuse filters of random length (set, expired, cleared), launch
 * tasks (demand shrinks), demand new blocks, leave and arrive, with first
 * reads spread over cycles, each agent's entries (framework, bytes, tasks,
 * filter copy) and memory-cached sums equal those a full
 * rebuild of the same state makes (la_index_rebuild); a segment that fills
 * up moves instead of making the index rebuild; rack totals are right on
 * more racks than a framework's rack mask has bits. Hints are injected through
 * la_hint_provider (no store). */
#include "la_test.h"

#define N_BLOCKS 400
#define N_AGENTS 12
#define N_FW 6

typedef struct fake {
    locus_hs_block_view blk[N_BLOCKS];
    locus_hs_replica rep[N_BLOCKS][3];
    char names[N_AGENTS][8];
    t_block_table tb;
} fake;

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
    return (uint32_t)(t_rand(&rng) % n);
}

static void fake_init(fake *f)
{
    f->tb = (t_block_table){f->blk, N_BLOCKS, NULL};
    for (int g = 0; g < N_AGENTS; g++)
        snprintf(f->names[g], sizeof f->names[g], "a%d", g);
    for (int i = 0; i < N_BLOCKS; i++) {
        int n = 1 + (int)rnd(3);
        for (int k = 0; k < n; k++)
            f->rep[i][k] = (locus_hs_replica){f->names[rnd(N_AGENTS)], (locus_tier)(1 + rnd(3))};
        f->blk[i] = (locus_hs_block_view){"in", (uint64_t)i, (64u << 20) + (uint64_t)i * 4096,
                                          "test", 0, f->rep[i], (size_t)n};
    }
}

typedef struct idx_entry_copy {
    uint32_t agent, n;
    struct la_idxent e[N_FW];
    uint64_t mem;
} idx_entry_copy;

static void idx_snapshot(const locus_allocator *a, idx_entry_copy *c)
{
    assert_int_equal(a->idx_off_cap, N_AGENTS);
    for (uint32_t g = 0; g < N_AGENTS; g++) {
        assert_true(a->idx_len[g] <= N_FW);
        c[g].agent = g;
        c[g].n = a->idx_len[g];
        memset(c[g].e, 0, sizeof c[g].e);
        memcpy(c[g].e, &a->idx_ent[a->idx_off[g]], sizeof c[g].e[0] * a->idx_len[g]);
        c[g].mem = a->idx_mem_bytes[g];
    }
}

/* One cycle; offers declined with a refuse filter of 0-3 s or launched
 * (demand shrinks by the blocks that could run there). */
static void cycle(locus_allocator *a, double now, char demands[N_FW][N_BLOCKS])
{
    locus_offer_list l = t_alloc(a, now);
    for (size_t i = 0; i < l.n; i++) {
        const locus_offer *o = &l.offers[i];
        int fw = o->framework_id[2] - '0';
        if (rnd(3) == 0 && fw >= 0 && fw < N_FW) {
            /* Launch: up to 3 pending blocks drop out of its demand. */
            int dropped = 0;
            for (int b = 0; b < N_BLOCKS && dropped < 3; b++)
                if (demands[fw][b] && rnd(4) == 0) {
                    demands[fw][b] = 0;
                    dropped++;
                }
        }
        t_decline(a, o, (double)rnd(4), now);
    }
}

static void set_demand(locus_allocator *a, int fw, const char *d)
{
    static locus_demand_item it[N_BLOCKS];
    size_t n = 0;
    for (int b = 0; b < N_BLOCKS; b++)
        if (d[b])
            it[n++] = (locus_demand_item){"in", b, 0};
    char id[8];
    snprintf(id, sizeof id, "fw%d", fw);
    assert_int_equal(la_set_demand(a, id, it, n), 0);
}

/* The agents of f, and frameworks fw0 .. fw<n_fw - 1> with a task size. */
static void cluster(locus_allocator *a, fake *f, int n_fw)
{
    t_use_block_table(a, &f->tb);
    for (int g = 0; g < N_AGENTS; g++)
        t_agent(a, f->names[g], 4, 4096);
    for (int fw = 0; fw < n_fw; fw++) {
        char id[16];
        snprintf(id, sizeof id, "fw%d", fw);
        t_fw(a, id, "*");
        t_task_res(a, id, 1, 256);
    }
}

static void test_incremental_index_equals_rebuild(void **state)
{
    (void)state;
    static fake f;
    static char demands[N_FW][N_BLOCKS];
    fake_init(&f);
    locus_allocator *a = t_new(NULL, "policy.fairness_slack=0.5", "hints.staleness=1e6", NULL);
    a->first_reads = 16; /* first reads spread over several cycles */
    cluster(a, &f, N_FW);
    for (int fw = 0; fw < N_FW; fw++) {
        for (int b = 0; b < N_BLOCKS; b++)
            demands[fw][b] = rnd(3) == 0;
        set_demand(a, fw, demands[fw]);
    }
    static idx_entry_copy inc[N_AGENTS], full[N_AGENTS];
    double now = 1;
    for (int step = 0; step < 300; step++, now += 1) {
        cycle(a, now, demands);
        int fw = (int)rnd(N_FW);
        char id[8];
        snprintf(id, sizeof id, "fw%d", fw);
        switch (rnd(6)) {
        case 0: /* new blocks demanded */
            for (int b = 0; b < N_BLOCKS; b++)
                demands[fw][b] |= rnd(8) == 0;
            break;
        case 1: /* leaves and comes back with the same demand */
            assert_int_equal(la_remove_framework(a, id), 0);
            t_fw(a, id, "*");
            t_task_res(a, id, 1, 256);
            break;
        default:
            break;
        }
        for (int k = 0; k < N_FW; k++)
            set_demand(a, k, demands[k]);
        /* The state this cycle's refresh leaves, then the same state
         * rebuilt in full (same host time: no filter expires between). */
        assert_true(la_hints_refresh(a, now + 0.5));
        if (a->index_dirty || a->n_idx_queue)
            fail_msg("index not up to date after a refresh");
        idx_snapshot(a, inc);
        assert_int_equal(la_index_rebuild(a), 0);
        idx_snapshot(a, full);
        for (uint32_t g = 0; g < N_AGENTS; g++) {
            if (inc[g].n != full[g].n || inc[g].mem != full[g].mem)
                fail_msg("step %d agent %u: %u/%u entries, mem %llu/%llu", step, g, inc[g].n,
                         full[g].n, (unsigned long long)inc[g].mem,
                         (unsigned long long)full[g].mem);
            for (uint32_t i = 0; i < inc[g].n; i++) {
                const struct la_idxent *x = &inc[g].e[i], *y = &full[g].e[i];
                if (x->fw != y->fw || memcmp(x->bytes, y->bytes, sizeof x->bytes) ||
                    x->tasks != y->tasks || x->fexp != y->fexp)
                    fail_msg("step %d agent %u entry %u: fw %u/%u fexp %u/%u", step, g, i, x->fw,
                             y->fw, x->fexp, y->fexp);
            }
        }
    }
    assert_true(a->index_updates > 100); /* entries were replaced, not only rebuilt */
    la_destroy(a);
}

#define N_FW_MANY 16

/* Agent g's entries, copied (at most N_FW_MANY). */
static uint32_t seg_copy(const locus_allocator *a, uint32_t g, struct la_idxent *out)
{
    assert_true(a->idx_len[g] <= N_FW_MANY);
    memcpy(out, &a->idx_ent[a->idx_off[g]], sizeof *out * a->idx_len[g]);
    return a->idx_len[g];
}

/* A segment that fills up moves to the end of the array with more room
 * instead of making the whole index rebuild: frameworks one by one gain a
 * block on an agent none of them had data on, so its segment (4 entries of
 * room) overflows; no full rebuild happens, and the entries equal a
 * rebuild's. */
static void test_full_segment_moves(void **state)
{
    (void)state;
    static fake f;
    static char demands[N_FW_MANY][N_BLOCKS];
    fake_init(&f);
    for (int i = 0; i < N_BLOCKS; i++) { /* blocks < 200 on a0, the others on a1 */
        f.rep[i][0] = (locus_hs_replica){f.names[i < 200 ? 0 : 1], LOCUS_TIER_MEM};
        f.blk[i].n_replicas = 1;
    }
    locus_allocator *a = t_new(NULL, "hints.staleness=1e6", NULL);
    cluster(a, &f, N_FW_MANY);
    for (int fw = 0; fw < N_FW_MANY; fw++) {
        demands[fw][fw] = 1;
        set_demand(a, fw, demands[fw]);
    }
    assert_true(la_hints_refresh(a, 1));
    uint64_t rebuilds = a->index_full_rebuilds;
    uint32_t a1_off = a->idx_off[1];
    assert_int_equal(a->idx_len[1], 0);
    for (int fw = 0; fw < N_FW_MANY; fw++) {
        demands[fw][200 + fw] = 1;
        set_demand(a, fw, demands[fw]);
        assert_true(la_hints_refresh(a, 2 + fw));
    }
    assert_int_equal(a->index_full_rebuilds, rebuilds); /* updated, never rebuilt */
    assert_int_equal(a->idx_len[1], N_FW_MANY);
    assert_true(a->idx_off[1] != a1_off); /* a1's segment moved */
    assert_true(a->idx_garbage > 0);
    static struct la_idxent inc[N_AGENTS][N_FW_MANY], full[N_AGENTS][N_FW_MANY];
    uint32_t n_inc[N_AGENTS], mem_inc[N_AGENTS];
    for (uint32_t g = 0; g < N_AGENTS; g++) {
        n_inc[g] = seg_copy(a, g, inc[g]);
        mem_inc[g] = (uint32_t)(a->idx_mem_bytes[g] >> 20);
    }
    assert_int_equal(la_index_rebuild(a), 0);
    assert_int_equal(a->idx_garbage, 0);
    for (uint32_t g = 0; g < N_AGENTS; g++) {
        assert_int_equal(seg_copy(a, g, full[g]), n_inc[g]);
        assert_int_equal((uint32_t)(a->idx_mem_bytes[g] >> 20), mem_inc[g]);
        for (uint32_t i = 0; i < n_inc[g]; i++) {
            const struct la_idxent *x = &inc[g][i], *y = &full[g][i];
            assert_int_equal(x->fw, y->fw);
            assert_memory_equal(x->bytes, y->bytes, sizeof x->bytes);
            assert_true(x->tasks == y->tasks);
            assert_int_equal(x->fexp, y->fexp);
        }
    }
    la_destroy(a);
}

/* la_rack_total against a sum over the framework's per-agent bytes, for
 * every rack of a cluster with more racks (600) than the 256 bits of a
 * framework's rack mask: racks 256 apart share a bit, and a rack whose bit
 * another rack set must still read 0. */
#define MANY_RACKS 600
static void test_rack_totals_past_mask(void **state)
{
    (void)state;
    static locus_hs_block_view blk[64];
    static locus_hs_replica rep[64][2];
    static char names[MANY_RACKS][8], racks[MANY_RACKS][8];
    locus_allocator *a = t_new(NULL, "policy.name=locality", NULL);
    for (int g = 0; g < MANY_RACKS; g++) {
        snprintf(names[g], sizeof names[g], "a%d", g);
        snprintf(racks[g], sizeof racks[g], "r%d", g);
        t_agent_r(a, names[g], racks[g], 4, 4096);
    }
    /* copies on racks 3, 259 (same bit as 3 and 515) and 5 + 7k */
    for (int i = 0; i < 64; i++) {
        int g0 = i % 2 ? 259 : 3, g1 = 5 + 7 * i;
        rep[i][0] = (locus_hs_replica){names[g0], LOCUS_TIER_MEM};
        rep[i][1] = (locus_hs_replica){names[g1], LOCUS_TIER_HDD};
        blk[i] = (locus_hs_block_view){"in", (uint64_t)i, 64u << 20, "test", 0, rep[i], 2};
    }
    t_block_table tb = {blk, 64, NULL};
    t_use_block_table(a, &tb);
    t_fw(a, "fw0", "*");
    t_task_res(a, "fw0", 1, 256);
    static locus_demand_item it[64];
    for (int i = 0; i < 64; i++)
        it[i] = (locus_demand_item){"in", i, 0};
    assert_int_equal(la_set_demand(a, "fw0", it, 64), 0);
    t_alloc(a, 1.0);
    uint32_t fw = 0;
    while (fw < a->n_fw_slots && strcmp(a->fws[fw].id, "fw0") != 0)
        fw++;
    assert_true(fw < a->n_fw_slots);
    const la_fw *f = &a->fws[fw];
    assert_true(f->n_loc > 0);
    uint64_t nonzero = 0;
    for (uint32_t g = 0; g < a->n_agents_slots; g++) {
        uint32_t rack = a->agents[g].rack;
        uint64_t want = 0;
        for (uint32_t i = 0; i < f->n_loc; i++)
            if (a->agents[f->loc[i].agent].rack == rack)
                want += f->loc[i].bytes[0] + f->loc[i].bytes[1] + f->loc[i].bytes[2];
        assert_int_equal(la_rack_total(a, rack, fw), want);
        nonzero += want > 0;
    }
    assert_true(nonzero >= 60); /* racks 3, 259 and the 5 + 7k ones */
    assert_int_equal(la_rack_total(a, a->agents[515].rack, fw), 0);
    la_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incremental_index_equals_rebuild),
        cmocka_unit_test(test_full_segment_moves),
        cmocka_unit_test(test_rack_totals_past_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
