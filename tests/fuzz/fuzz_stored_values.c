/* Fuzz target: the decoder of every kind of value the hint store keeps.
 *
 * The first input byte picks the kind, the rest is the stored value exactly
 * as LMDB would hand it to a reader: 0 dataset summary and 1 block
 * placement (fixed layout, hintstore_layout.c), 2 host binding and 3 store
 * meta (protobuf-c), 4 change-feed record (hintstore_feed.c), 5 host name of
 * the id table, 6 LMDB pages searched by the batched lookup's B-tree walk
 * (hintstore_btree.c; page 0 is the root), searched for dataset names and,
 * as the batched block lookup does, for block keys. A value must either be
 * refused or decode to something sane (a key found lies inside the pages);
 * for the fixed layouts the decoded fields must also encode back to exactly
 * the input bytes (the layout has no slack a reader could misread). The
 * seed corpus (corpus/stored_values/) holds real values copied from a store
 * written by the library. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hintstore_internal.h"

static unsigned char g_out[1 << 20];

static void check_summary(const uint8_t *v, size_t n)
{
    hs_summary s;
    if (hs_summary_parse(v, n, &s) != 0)
        return;
    if (hs_summary_size(s.n) != n || s.total_bytes > (uint64_t)INT64_MAX)
        abort();
    if (n > sizeof g_out)
        return;
    hs_summary_write(g_out, &s);
    for (uint32_t i = 0; i < s.n; i++) {
        uint32_t host, tier;
        uint64_t bytes;
        hs_summary_entry(&s, i, &host, &tier, &bytes);
        if (tier < LOCUS_TIER_MEM || tier > LOCUS_TIER_HDD || bytes > s.total_bytes ||
            host >= s.max_host)
            abort();
        hs_summary_entry_put(g_out, i, host, tier, bytes);
    }
    if (memcmp(g_out, v, n) != 0)
        abort();
}

static void check_block(const uint8_t *v, size_t n)
{
    hs_blockrec b;
    static uint32_t reps[HS_MAX_REPLICAS];
    if (hs_blockrec_parse(v, n, &b) != 0)
        return;
    if (b.n_rep > HS_MAX_REPLICAS || b.backend_len == 0 || b.backend_len > HS_MAX_BACKEND ||
        hs_blockrec_size(b.n_rep, b.backend_len) != n || b.bytes > HS_MAX_BLOCK_BYTES)
        abort();
    for (uint32_t i = 0; i < b.n_rep; i++) {
        reps[i] = hs_le32_get(b.reps + 4 * (size_t)i);
        if ((reps[i] & 3) == 0 || (reps[i] >> 2) >= b.max_host)
            abort();
    }
    if (memchr(b.backend, '\0', b.backend_len))
        abort();
    /* the batched lookup hands the record out in place: its accessor reads
     * back the replicas the parser checked */
    locus_hs_block_placement p = {b.bytes, b.updated_at_ms, b.n_rep, b.reps, b.backend,
                                  b.backend_len};
    for (uint32_t i = 0; i < b.n_rep; i++) {
        uint32_t id;
        locus_tier tier;
        locus_hs_block_replica_at(&p, i, &id, &tier);
        if (id != reps[i] >> 2 || (uint32_t)tier != (reps[i] & 3))
            abort();
    }
    hs_blockrec_write(g_out, b.bytes, b.updated_at_ms, reps, b.n_rep, b.backend, b.backend_len);
    if (memcmp(g_out, v, n) != 0)
        abort();
}

/* The batched block lookup's use of the walk: groups of block keys in
 * index order (and one going back), each key starting on the leaf the
 * previous group's last search ended on, or the one the key before it
 * starts on, at a node index given as a hint (in range or not); a key past
 * that leaf's last key goes on to the next leaf under the branch page the
 * search came through, and a key not there and outside that leaf's keys
 * starts again from the root. Every
 * search ends; a value found and a leaf ended on lie inside the pages. */
static void check_block_walk(const hs_bt *t, const uint8_t *pages)
{
    const uint8_t *end = pages + t->npages * t->psize;
    const unsigned char *leaf = NULL; /* where the previous group's last search ended */
    const unsigned char *parent = NULL; /* and the branch page above that leaf */
    int next = -1, pidx = -1;
    char key[8][16];
    hs_bt_query q[8];
    for (int group = 0; group < 5; group++) {
        size_t n = 8 - (size_t)group;
        for (size_t i = 0; i < n; i++) {
            uint64_t index = group == 4 ? 7 - i : (uint64_t)group * 40 + i * 5;
            const char *ds = group == 3 ? "ds-2" : "ds-1";
            memset(&q[i], 0, sizeof(q[i]));
            q[i].key = key[i];
            q[i].klen = hs_block_key(key[i], ds, 4, index);
            /* as the batched lookup does for followers: start on the leaf
             * the key before ended on (or is starting on), a node further */
            q[i].start = i == 0 ? leaf : q[i - 1].start;
            q[i].hint = i == 0 ? next : q[i - 1].hint + 1;
            q[i].parent = i == 0 ? parent : q[i - 1].parent;
            q[i].pidx = i == 0 ? pidx : q[i - 1].pidx;
        }
        hs_bt_find_near(t, q, n);
        for (size_t i = 0; i < n; i++) {
            if (q[i].state != HS_BT_FOUND && q[i].state != HS_BT_ABSENT &&
                q[i].state != HS_BT_FALLBACK)
                abort();
            if (q[i].state == HS_BT_FOUND && (q[i].value < pages || q[i].value + q[i].vlen > end))
                abort();
        }
        const hs_bt_query *last = &q[n - 1];
        leaf = last->state == HS_BT_FOUND || last->state == HS_BT_ABSENT ? last->page : NULL;
        next = last->state == HS_BT_FOUND ? last->mid + 1 : last->lo;
        parent = leaf ? last->parent : NULL;
        pidx = last->pidx;
        if (parent && (parent < pages || parent >= end || (size_t)(parent - pages) % t->psize))
            abort();
        if (leaf && (leaf < pages || leaf >= end || (size_t)(leaf - pages) % t->psize))
            abort();
    }
}

/* Pages as the batched lookup reads them from the map: every key's search
 * ends, and a value it finds lies inside the pages. */
static void check_pages(const uint8_t *pages, size_t n)
{
    hs_bt t;
    memset(&t, 0, sizeof(t));
    t.psize = n >= 8192 ? 4096 : 512;
    t.npages = n / t.psize;
    if (!t.npages)
        return;
    t.base = pages;
    t.root = 0;
    t.depth = 8;
    t.ok = 1;
    hs_bt_query q[4] = {{.key = "a", .klen = 1},
                        {.key = "ml/features/v3", .klen = 14},
                        {.key = "warehouse/clicks/2024-06-01", .klen = 27},
                        {.key = "\xff\xff", .klen = 2}};
    hs_bt_find(&t, q, 4);
    for (int i = 0; i < 4; i++) {
        if (q[i].state != HS_BT_FOUND && q[i].state != HS_BT_ABSENT &&
            q[i].state != HS_BT_FALLBACK)
            abort();
        if (q[i].state == HS_BT_FOUND &&
            (q[i].value < pages || q[i].value + q[i].vlen > pages + t.npages * t.psize))
            abort();
    }
    /* the single-key search, one key after another, so later keys may start
     * on the leaf an earlier one ended on */
    for (int i = 0; i < 4; i++) {
        hs_bt_query one = {.key = q[i].key, .klen = q[i].klen};
        hs_bt_find_one(&t, &one);
        if (one.state != HS_BT_FOUND && one.state != HS_BT_ABSENT && one.state != HS_BT_FALLBACK)
            abort();
        if (one.state == HS_BT_FOUND &&
            (one.value < pages || one.value + one.vlen > pages + t.npages * t.psize))
            abort();
    }
    check_block_walk(&t, pages);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned kind = data[0] % 7;
    const uint8_t *v = data + 1;
    size_t n = size - 1;
    /* LMDB hands values out from the map: copy into an exact-size buffer so
     * ASan sees any read past the end. */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return 0;
    memcpy(copy, v, n);
    MDB_val mv = {n, copy};
    hs_arena a;
    hs_arena_init(&a, 4096);
    switch (kind) {
    case 0:
        check_summary(copy, n);
        break;
    case 1:
        check_block(copy, n);
        break;
    case 2: {
        Locus__HostBinding *b = hs_decode_binding(&a, &mv);
        if (b && (!b->storage_host || !b->agent_hostname))
            abort();
        break;
    }
    case 3: {
        Locus__StoreMeta *m = hs_decode_meta(&a, &mv);
        if (m)
            for (size_t i = 0; i < m->n_backends; i++)
                if (m->backends[i] && !m->backends[i]->backend)
                    abort();
        break;
    }
    case 4:
        (void)hs_feed_parse(&a, &mv);
        break;
    case 6:
        check_pages(copy, n);
        break;
    default: {
        /* a host_names value: what the id table accepts */
        int ok = n > 0 && n <= HS_MAX_HOST && !memchr(copy, '\0', n);
        if (ok && strnlen((const char *)hs_arena_strndup(&a, (const char *)copy, n), n + 1) != n)
            abort();
        break;
    }
    }
    hs_arena_free(&a);
    free(copy);
    return 0;
}
