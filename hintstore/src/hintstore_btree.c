/* Read-only search of a sub-database's B-tree straight from LMDB's mapped
 * pages, several keys side by side.
 *
 * A first lookup of a dataset is bound by memory latency: the descent from
 * the root touches a page header and a few nodes per level, each a cache (and
 * often TLB) miss, and LMDB's own search takes them one after another. This
 * module walks the same pages for a group of keys at once, one step of each
 * search per round, prefetching what the next step of each will read, so the
 * misses of different keys overlap. It reads LMDB's page format (data
 * version 1, LMDB 0.9: 16-byte page header, 16-bit node offsets, nodes of
 * {lo, hi, flags, ksize, key, data}) and checks every offset, length and
 * page number it follows against the page and the map; anything it does not
 * expect (an overflow value, an unknown page kind, a deeper tree than the
 * sub-database records) makes it hand that key back to LMDB's own search
 * instead of guessing. hs_bt_open finds the sub-database's root in the read
 * transaction (its record in LMDB's main database) and the map's address
 * (from the page number a mapped page carries in its header). */
#include <string.h>

#include "hintstore_internal.h"

#define BT_PAGEHDR 16
#define BT_P_BRANCH 0x01
#define BT_P_LEAF 0x02
#define BT_F_NODE_SPECIAL 0x07 /* F_BIGDATA | F_SUBDATA | F_DUPDATA */
#define BT_MAX_DEPTH 32
#define BT_MAX_FIND_NEAR 64 /* keys of one hs_bt_find_near that may move to a next leaf */

static inline uint16_t bt_u16(const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline const unsigned char *bt_page(const hs_bt *t, uint64_t pgno)
{
    return pgno < t->npages ? t->base + pgno * t->psize : NULL;
}

int hs_bt_open(hs_bt *t, MDB_env *env, MDB_txn *txn, const char *dbname)
{
    MDB_stat es;
    MDB_envinfo info;
    memset(t, 0, sizeof(*t));
    /* The page format read here is LMDB 0.9's; another release may change
     * it, and then every key goes to LMDB's own search. */
    int major = -1, minor = -1;
    mdb_version(&major, &minor, NULL);
    if (major != 0 || minor != 9)
        return -1;
    if (mdb_env_stat(env, &es) != 0 || mdb_env_info(env, &info) != 0 || es.ms_psize < 512 ||
        (es.ms_psize & (es.ms_psize - 1)))
        return -1;
    t->psize = es.ms_psize;
    t->npages = (uint64_t)info.me_last_pgno + 1;
    MDB_val k = {strlen(dbname), (void *)dbname}, v;
    MDB_dbi main_db;
    if (mdb_dbi_open(txn, NULL, 0, &main_db) != 0 || mdb_get(txn, main_db, &k, &v) != 0 ||
        v.mv_size != 48)
        return -1;
    /* MDB_db: pad(4) flags(2) depth(2) branch(8) leaf(8) overflow(8) entries(8) root(8) */
    const unsigned char *db = v.mv_data;
    uint16_t flags = bt_u16(db + 4), depth = bt_u16(db + 6);
    memcpy(&t->root, db + 40, 8);
    if ((flags & ~(unsigned)MDB_INTEGERKEY) != 0 || depth > BT_MAX_DEPTH)
        return -1; /* a custom key order or duplicates: not this search's job */
    t->depth = depth;
    t->integer_keys = (flags & MDB_INTEGERKEY) != 0;
    /* The record sits in a leaf page of the map, whose header names its page
     * number: the map starts that many pages before it. */
    uintptr_t page = (uintptr_t)v.mv_data & ~(uintptr_t)(t->psize - 1);
    uint64_t pgno;
    memcpy(&pgno, (const void *)page, 8);
    if (pgno >= t->npages || (bt_u16((const unsigned char *)page + 10) & BT_P_LEAF) == 0 ||
        page < pgno * t->psize)
        return -1;
    t->base = (const unsigned char *)(page - pgno * t->psize);
    t->ok = !t->integer_keys; /* byte-order keys only (the datasets sub-database) */
    return t->ok ? 0 : -1;
}

static inline int bt_keycmp(const hs_bt_query *q, const unsigned char *node)
{
    size_t nl = bt_u16(node + 6);
    int r = memcmp(q->key, node + 8, q->klen < nl ? q->klen : nl);
    return r ? r : (q->klen > nl) - (q->klen < nl);
}

/* Node i of page p, checked to lie (header and key) inside the page; NULL if not. */
static inline const unsigned char *bt_node(const hs_bt *t, const unsigned char *p, int i)
{
    size_t off = bt_u16(p + BT_PAGEHDR + 2 * (size_t)i);
    if (off < BT_PAGEHDR || off + 8 > t->psize || off + 8 + bt_u16(p + off + 6) > t->psize)
        return NULL;
    return p + off;
}

static inline void bt_enter(const hs_bt *t, hs_bt_query *q, uint64_t pgno)
{
    q->page = bt_page(t, pgno);
    if (!q->page || ++q->level > t->depth) {
        q->state = HS_BT_FALLBACK;
        return;
    }
    q->state = HS_BT_ENTER;
    __builtin_prefetch(q->page);
    __builtin_prefetch(q->page + 64);
}

/* Descends to the child of branch node i. */
static inline void bt_child(const hs_bt *t, hs_bt_query *q, int i)
{
    const unsigned char *n = bt_node(t, q->page, i);
    if (!n) {
        q->state = HS_BT_FALLBACK;
        return;
    }
    q->parent = q->page;
    q->pidx = i;
    uint64_t pgno = (uint64_t)bt_u16(n) | (uint64_t)bt_u16(n + 2) << 16 |
                    (uint64_t)bt_u16(n + 4) << 32;
    bt_enter(t, q, pgno);
}

/* Picks the next node to compare with and prefetches it. Only its offset is
 * checked here: reading the node (its key size) would wait for the very miss
 * the prefetch is for, before the other searches get their turn; bt_step
 * checks the whole node when it compares. */
static inline void bt_probe_at(const hs_bt *t, hs_bt_query *q, int mid)
{
    q->mid = mid;
    size_t off = bt_u16(q->page + BT_PAGEHDR + 2 * (size_t)q->mid);
    if (off < BT_PAGEHDR || off + 8 > t->psize) {
        q->state = HS_BT_FALLBACK;
        return;
    }
    __builtin_prefetch(q->page + off);
    /* the node's key is likely about as long as the one searched: its end
     * may lie on the next cache line */
    if (off + 8 + q->klen <= t->psize)
        __builtin_prefetch(q->page + off + 7 + q->klen);
}

static inline void bt_probe(const hs_bt *t, hs_bt_query *q)
{
    bt_probe_at(t, q, (q->lo + q->hi) >> 1);
}

/* Prefetches the nodes the first four rounds of a binary search over
 * [lo, hi] of page p can compare with (all of a leaf's nodes, usually), so
 * the search waits for one batch of misses instead of one miss per round.
 * Offsets are only read here; bt_node checks each before it is used. */
static void bt_prefetch_search(const hs_bt *t, const unsigned char *p, int lo, int hi)
{
    int span = hi - lo + 1;
    if (span <= 16) {
        for (int i = lo; i <= hi; i++) {
            size_t off = bt_u16(p + BT_PAGEHDR + 2 * (size_t)i);
            if (off < t->psize)
                __builtin_prefetch(p + off);
        }
        return;
    }
    for (int step = 1; step <= 8; step <<= 1)
        for (int j = 1; j < 2 * step; j += 2) {
            int i = lo + (int)((long)span * j / (2 * step));
            size_t off = bt_u16(p + BT_PAGEHDR + 2 * (size_t)i);
            if (off < t->psize)
                __builtin_prefetch(p + off);
        }
}

/* One step of one search: enter a page, or compare with one node. */
static inline __attribute__((always_inline)) void bt_step(const hs_bt *t, hs_bt_query *q)
{
    const unsigned char *p = q->page;
    int branch;
    if (q->state == HS_BT_ENTER) {
        /* the page's kind and size are checked once, on entering it (the
         * map is read-only: they stay as checked for the search's steps) */
        uint16_t flags = bt_u16(p + 10) & (BT_P_BRANCH | BT_P_LEAF | 0x04 | 0x08 | 0x20 | 0x40);
        uint16_t lower = bt_u16(p + 12);
        if ((flags != BT_P_BRANCH && flags != BT_P_LEAF) || lower < BT_PAGEHDR ||
            lower > t->psize) {
            q->state = HS_BT_FALLBACK;
            return;
        }
        branch = q->branch = flags == BT_P_BRANCH;
        int nkeys = (lower - BT_PAGEHDR) >> 1;
        /* a branch's first key is implicit (lower than any key) */
        q->lo = branch ? 1 : 0;
        q->hi = nkeys - 1;
        if (q->lo > q->hi) {
            if (branch && nkeys == 1)
                bt_child(t, q, 0);
            else
                q->state = branch ? HS_BT_FALLBACK : HS_BT_ABSENT;
            return;
        }
        q->state = HS_BT_SEARCH;
        if (q->wide) {
            bt_prefetch_search(t, p, q->lo, q->hi);
            if (!branch) {
                uint16_t upper = bt_u16(p + 14);
                for (size_t off = upper & ~(size_t)63; off < t->psize; off += 64)
                    __builtin_prefetch(p + off);
            }
        }
        /* a reader going through keys in order knows where to look first */
        if (q->hint >= q->lo && q->hint <= q->hi)
            bt_probe_at(t, q, q->hint);
        else
            bt_probe(t, q);
        q->hint = -1;
        return;
    }
    branch = q->branch;
    const unsigned char *n = bt_node(t, p, q->mid);
    if (!n) {
        q->state = HS_BT_FALLBACK;
        return;
    }
    int c = bt_keycmp(q, n);
    if (c == 0) {
        if (branch) {
            bt_child(t, q, q->mid);
            return;
        }
        size_t dsize = (size_t)bt_u16(n) | (size_t)bt_u16(n + 2) << 16;
        size_t data = (size_t)(n - p) + 8 + bt_u16(n + 6);
        if ((bt_u16(n + 4) & BT_F_NODE_SPECIAL) || data + dsize > t->psize) {
            q->state = HS_BT_FALLBACK; /* an overflow value: LMDB reads it */
            return;
        }
        q->value = p + data;
        q->vlen = dsize;
        q->state = HS_BT_FOUND;
        for (size_t off = 0; off < dsize; off += 64)
            __builtin_prefetch(q->value + off);
        return;
    }
    if (c > 0)
        q->lo = q->mid + 1;
    else
        q->hi = q->mid - 1;
    if (q->lo <= q->hi) {
        bt_probe(t, q);
        return;
    }
    if (!branch)
        q->state = HS_BT_ABSENT;
    else
        bt_child(t, q, q->hi); /* the last key below the one searched */
}

/* Steps the searches of q[0..n) until each has ended. */
static void bt_run(const hs_bt *t, hs_bt_query *q, size_t n)
{
    for (size_t active = n; active;) {
        active = 0;
        for (size_t i = 0; i < n; i++)
            if (q[i].state == HS_BT_ENTER || q[i].state == HS_BT_SEARCH) {
                bt_step(t, &q[i]);
                active++;
            }
    }
}

void hs_bt_find(const hs_bt *t, hs_bt_query *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        q[i].level = 0;
        q[i].value = NULL;
        q[i].vlen = 0;
        q[i].wide = 0;
        q[i].hint = -1;
        q[i].parent = NULL;
        if (t->root == (uint64_t)-1) /* an empty sub-database */
            q[i].state = HS_BT_ABSENT;
        else
            bt_enter(t, &q[i], t->root);
    }
    bt_run(t, q, n);
}

/* Where q's key lies against leaf page p: 0 between its first and last
 * keys (so it can only be on that page), 1 past its last key, -1 before its
 * first key or when p is no leaf this search reads. */
static int bt_leaf_side(const hs_bt *t, const unsigned char *p, const hs_bt_query *q)
{
    uint16_t lower = bt_u16(p + 12);
    if ((bt_u16(p + 10) & 0x7f) != BT_P_LEAF || lower <= BT_PAGEHDR || lower > t->psize)
        return -1;
    int nkeys = (lower - BT_PAGEHDR) >> 1;
    const unsigned char *first = bt_node(t, p, 0), *last = bt_node(t, p, nkeys - 1);
    if (!first || !last || bt_keycmp(q, first) < 0)
        return -1;
    return bt_keycmp(q, last) > 0;
}

static int bt_leaf_covers(const hs_bt *t, const unsigned char *p, const hs_bt_query *q)
{
    return bt_leaf_side(t, p, q) == 0;
}

/* Moves q, which ended absent past the last key of leaf q->start, to the
 * next leaf under the same branch page; 0 when there is none (the last
 * child, or a parent this search does not read): q is left as it was. */
static int bt_next_leaf(const hs_bt *t, hs_bt_query *q)
{
    const unsigned char *p = q->parent;
    if (!p || t->depth < 2)
        return 0;
    uint16_t lower = bt_u16(p + 12);
    if ((bt_u16(p + 10) & 0x7f) != BT_P_BRANCH || lower <= BT_PAGEHDR || lower > t->psize)
        return 0;
    int nkeys = (lower - BT_PAGEHDR) >> 1;
    if (q->pidx < 0 || q->pidx + 1 >= nkeys)
        return 0;
    q->page = p;
    q->level = t->depth - 1;
    q->hint = 0; /* a key just past the previous leaf is first on this one */
    bt_child(t, q, q->pidx + 1);
    return 1;
}


void hs_bt_find_near(const hs_bt *t, hs_bt_query *q, size_t n)
{
    size_t descents = 0;
    for (size_t i = 0; i < n; i++)
        descents += !q[i].start;
    for (size_t i = 0; i < n; i++) {
        q[i].level = 0;
        q[i].value = NULL;
        q[i].vlen = 0;
        q[i].wide = 0;
        q[i].page = NULL;
        if (t->root == (uint64_t)-1) {
            q[i].state = HS_BT_ABSENT;
        } else if (q[i].start) {
            q[i].page = q[i].start; /* just searched: in the cache, no prefetch */
            q[i].level = t->depth;
            q[i].state = HS_BT_ENTER;
        } else {
            /* A lone descent has no other search to overlap its misses
             * with: prefetch each page's search nodes at once instead. */
            q[i].wide = descents == 1;
            q[i].hint = -1;
            q[i].parent = NULL;
            bt_enter(t, &q[i], t->root);
        }
    }
    bt_run(t, q, n);
    /* A key found on its start leaf is there; one not found there is absent
     * only if it lies within that leaf's keys. One past its last key is
     * looked for on the next leaf (keys in order cross leaves one at a
     * time); another, or one past that next leaf too, is on another page:
     * those searches start again from the root. */
    size_t next = 0, again = 0;
    const unsigned char *from[BT_MAX_FIND_NEAR];
    for (size_t i = 0; i < n; i++) {
        if (i < BT_MAX_FIND_NEAR)
            from[i] = NULL;
        if (!q[i].start || q[i].state != HS_BT_ABSENT)
            continue;
        int side = bt_leaf_side(t, q[i].start, &q[i]);
        if (side == 0)
            continue;
        if (side > 0 && i < BT_MAX_FIND_NEAR && bt_next_leaf(t, &q[i])) {
            from[i] = q[i].page;
            next++;
        } else {
            q[i].level = 0;
            q[i].hint = -1;
            q[i].parent = NULL;
            bt_enter(t, &q[i], t->root);
            again++;
        }
    }
    if (next) {
        bt_run(t, q, n);
        for (size_t i = 0; i < n && i < BT_MAX_FIND_NEAR; i++)
            if (from[i] && q[i].state == HS_BT_ABSENT && !bt_leaf_covers(t, from[i], &q[i])) {
                q[i].level = 0;
                q[i].hint = -1;
                q[i].parent = NULL;
                bt_enter(t, &q[i], t->root);
                again++;
            }
    }
    if (again)
        bt_run(t, q, n);
}

void hs_bt_find_one(hs_bt *t, hs_bt_query *q)
{
    q->level = 0;
    q->value = NULL;
    q->vlen = 0;
    q->hint = -1;
    if (t->root == (uint64_t)-1) {
        q->state = HS_BT_ABSENT;
        return;
    }
    /* A reader going through its names in key order finds most of them on
     * the leaf it found the previous one on: no descent. */
    if (t->last_leaf && bt_leaf_covers(t, t->last_leaf, q)) {
        q->page = t->last_leaf;
        q->level = t->depth;
        q->state = HS_BT_ENTER;
    } else {
        bt_enter(t, q, t->root);
    }
    q->wide = 1;
    while (q->state == HS_BT_ENTER || q->state == HS_BT_SEARCH) {
        const unsigned char *page = q->page;
        bt_step(t, q);
        if (q->state == HS_BT_FOUND || q->state == HS_BT_ABSENT)
            t->last_leaf = page;
    }
}
