/* Placement for the locality policy: where each framework's pending work
 * runs this cycle. la_place_plan() makes one decision per cycle before any
 * offer: frameworks are served by progressive filling on their projected
 * dominant share (DRF decides how much), and each claims its next pending
 * cached task on the best free copy - memory, SSD, disk, then rack-local or
 * anywhere once it is not waiting (locality decides where); every task is
 * claimed at most once, so slices never overlap, and a framework without
 * cached data keeps room for one task at its DRF turn (the fairness bound).
 * la_place_agent() then offers each agent's planned slices, the reserved
 * remainder, and what is left by the DRF order under delay scheduling.
 * Frameworks that gave no task size keep the older per-agent rules (score
 * within the fairness slack, whole agents). */
#include "la_core.h"
#include "la_roles.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9
#define NONE LA_MAP_NONE

/* Units one framework may try per cycle: its tasks that can read from
 * memory come first, and a full cluster is not searched unit by unit. */
#define LA_PLAN_TRIES 256

/* Frameworks the engine plans for: they said what one task uses and have
 * pending tasks whose blocks it knows. Their local work goes through the
 * plan only. */
static int planned_type(const la_fw *f)
{
    return f->has_task_res && f->n_units > 0;
}

/* The framework's demanded bytes on agent gs (index entry), or NULL. */
const struct la_idxent *la_idx_find(const locus_allocator *a, uint32_t gs, uint32_t fw)
{
    if (!a->idx_off || gs >= a->idx_off_cap)
        return NULL;
    uint32_t i = la_idx_lower_bound(a, gs, fw);
    return i < la_idx_end(a, gs) && a->idx_ent[i].fw == fw ? &a->idx_ent[i] : NULL;
}

/* fw's bytes in rack. Its racks are sorted by rack id, and ids spread
 * over 0 .. n_racks: the first probe goes where the id should be, and a few
 * steps from there (neighbouring memory) usually find it; the binary search
 * is the fallback. It runs for most offers away from the data, where each
 * step of a plain binary search was a cache miss. */
uint64_t la_rack_total(const locus_allocator *a, uint32_t rack, uint32_t fw)
{
    if (rack == NONE)
        return 0;
    const la_fw *f = &a->fws[fw];
    uint32_t n = f->n_racks;
    if (!n || !(f->rack_mask[(rack >> 6) & 3] >> (rack & 63) & 1))
        return 0;
    uint32_t i = la_rack_pos(a, rack, n);
    if (i >= n)
        i = n - 1;
    for (int step = 0; step < 4; step++) {
        uint32_t r = f->racks[i].rack;
        if (r == rack)
            return f->racks[i].bytes;
        if (r < rack) {
            if (i + 1 >= n || f->racks[i + 1].rack > rack)
                return 0; /* between i and i + 1: not there */
            i++;
        } else {
            if (i == 0 || f->racks[i - 1].rack < rack)
                return 0;
            i--;
        }
    }
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->racks[mid].rack == rack)
            return f->racks[mid].bytes;
        if (f->racks[mid].rack < rack)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Fills the locality annotation of framework fw on agent gs; e is its index
 * entry on that agent when the caller has it (e_known: e, even NULL, is what
 * the agent holds; else looked up), rack_known its
 * bytes in the agent's rack when the caller has them (else NULL: searched
 * for in its rack list). */
static void annotate_r(const locus_allocator *a, uint32_t gs, uint32_t fw,
                       const struct la_idxent *e, int e_known, const uint64_t *rack_known,
                       la_pick *p)
{
    const la_fw *f = &a->fws[fw];
    memset(p->local, 0, sizeof p->local);
    p->rack = 0;
    p->score = 0;
    p->tasks = 0;
    if (!f->n_loc || !f->demand_bytes) {
        p->level = -1;
        return;
    }
    if (!e && !e_known)
        e = la_idx_find(a, gs, fw);
    uint64_t here = 0;
    double w = 0;
    if (e) {
        memcpy(p->local, e->bytes, sizeof p->local);
        p->tasks = e->tasks;
        here = e->bytes[0] + e->bytes[1] + e->bytes[2];
        w = a->cfg.weight_mem * (double)e->bytes[0] + a->cfg.weight_ssd * (double)e->bytes[1] +
            a->cfg.weight_hdd * (double)e->bytes[2];
    }
    uint64_t rt = rack_known ? *rack_known : la_rack_total(a, a->agents[gs].rack, fw);
    p->rack = rt > here ? rt - here : 0;
    p->score = (w + a->cfg.rack_bonus * (double)p->rack) / (double)f->demand_bytes;
    p->level = here ? 0 : p->rack ? 1 : 2;
}

static void annotate_e(const locus_allocator *a, uint32_t gs, uint32_t fw,
                       const struct la_idxent *e, la_pick *p)
{
    annotate_r(a, gs, fw, e, e != NULL, NULL, p);
}

static void annotate(const locus_allocator *a, uint32_t gs, uint32_t fw, la_pick *p)
{
    annotate_r(a, gs, fw, NULL, 0, NULL, p);
}

/* Delay scheduling, decided once per cycle: each framework with cached
 * input may take node-local agents only until wait_node has passed since it
 * started waiting (or since its last node-local offer), rack-local ones until
 * a further wait_rack, then any. Frameworks not held back, and those allowed
 * rack-local (for agents in racks holding their data), form, per role, the
 * `ulist` walked in DRF order; frameworks held back for node-local are
 * reached only through the agent's index entries, so they cost nothing
 * elsewhere. */
/* Looks at f's next unplaced tasks (up to 8): *save_s = the read time a
 * local copy saves on them, in the mean, against a read over the network
 * (the read model of locality.read_mbps_* and locality.nic_mbps). */
static double next_tasks_saving(const locus_allocator *a, const la_fw *f)
{
    double save = 0;
    uint32_t seen = 0;
    const double *mbps = a->cfg.read_mbps;
    /* A remote read gets the NIC over the tasks an agent runs at once. */
    double slots = a->n_live && f->task_res[LA_RES_CPUS] > EPS
                       ? a->cluster_total[LA_RES_CPUS] / a->n_live / f->task_res[LA_RES_CPUS]
                       : 1;
    double remote = a->cfg.nic_mbps / (slots > 1 ? slots : 1);
    for (uint32_t i = 0; i < f->n_units && seen < 8; i++) {
        const la_unit *u = &f->units[(f->next_unit + i) % f->n_units];
        seen++;
        double mb = (double)u->bytes / 1048576.0;
        uint32_t t = u->best_tier < LA_READ_SOURCES ? u->best_tier : LA_READ_HDD;
        save += mb / remote - mb / mbps[t];
    }
    return seen ? (save > 0 ? save / seen : 0) : INFINITY;
}

/* Is an agent holding a copy of one of f's pending tasks expected to hand
 * resources back within wait_s? That is when waiting can make a task local
 * (the framework, like a delay-scheduling one, runs whichever of its tasks
 * gets a free copy first): the release rates of the distinct agents holding
 * copies (la_free_rate), summed over the units the plan may try, reach
 * 1 / wait_s. The scan
 * stops as soon as they do, so a framework whose copies are busy agents
 * costs a few units. */
static int copy_frees_within(locus_allocator *a, const la_fw *f, double now, double wait_s)
{
    if (!(wait_s > 0))
        return 0;
    double need = 1.0 / wait_s, rate = 0;
    uint64_t stamp = ++a->rate_visits;
    for (uint32_t i = 0; i < f->n_units && i < LA_PLAN_TRIES; i++) {
        const la_unit *u = &f->units[(f->next_unit + i) % f->n_units];
        for (uint32_t c = 0; c < u->n_copies; c++) {
            la_agent *g = &a->agents[f->copies[u->copy0 + c].agent];
            if (g->rate_visit == stamp)
                continue;
            g->rate_visit = stamp;
            rate += la_free_rate(a, g, now);
            if (rate >= need)
                return 1;
        }
    }
    return 0;
}

/* Per agent, the index entries of the held-back frameworks the plan does not
 * serve, in the cycle's rank order: the agent-entry walk of a pick reads
 * these few instead of every framework's entry on the agent (about 40 per
 * agent at 1,000 agents x 1,000 frameworks, a handful of them held back).
 * Each framework's agents come from its index agent list (idx_ag) with
 * where its entry was written there (idx_at, a hint: others' inserts and
 * removals move entries); the pick checks the hint when it reads the entry
 * anyway and searches the agent's segment when it moved, so building reads
 * no entry (each would be a cache miss). Items are (entry hint, rank,
 * framework). Built once per cycle in O(agents + the held frameworks'
 * entries), and only when those are at most half of all entries: else the
 * walks over all of an agent's entries read about as much. */
static int held_lists_build(locus_allocator *a, const la_role *one)
{
    a->held_on = 0;
    uint32_t na = a->idx_off_cap;
    /* Picks read the lists only at agents with more than 8 entries: with
     * fewer on average (the room handed out counts some slack), building
     * them costs more than it saves. */
    if (!a->idx_off || !na || a->n_idx_ent < 10 * (uint64_t)na)
        return 0;
    uint64_t total = 0;
    for (uint32_t i = 0; i < one->n; i++) {
        uint32_t fw = a->clients[one->list[i]].fw;
        if ((unsigned)a->fstate[fw] - 1u <= 1u && !a->fplanned[fw])
            total += a->fws[fw].n_idx_ag; /* listed, held back, not served by the plan */
    }
    if (2 * total > a->n_idx_ent || total >= UINT32_MAX / 4)
        return 0;
    if (la_grow((void **)&a->held_off, &a->held_off_cap, na + 2, sizeof *a->held_off) ||
        la_grow((void **)&a->held_ent, &a->held_cap, 3 * (uint32_t)total + 3, sizeof *a->held_ent))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    memset(a->held_off, 0, sizeof *a->held_off * (na + 2));
    for (uint32_t i = 0; i < one->n; i++) {
        uint32_t fw = a->clients[one->list[i]].fw;
        if ((unsigned)a->fstate[fw] - 1u > 1u || a->fplanned[fw])
            continue;
        const la_fw *f = &a->fws[fw];
        for (uint32_t k = 0; k < f->n_idx_ag; k++)
            if (f->idx_ag[k] < na)
                a->held_off[f->idx_ag[k] + 2]++;
    }
    for (uint32_t g = 0; g < na; g++)
        a->held_off[g + 2] += a->held_off[g + 1];
    for (uint32_t i = 0; i < one->n; i++) {
        uint32_t fw = a->clients[one->list[i]].fw;
        if ((unsigned)a->fstate[fw] - 1u > 1u || a->fplanned[fw])
            continue;
        const la_fw *f = &a->fws[fw];
        for (uint32_t k = 0; k < f->n_idx_ag; k++) {
            uint32_t g = f->idx_ag[k];
            if (g >= na)
                continue;
            uint32_t to = a->held_off[g + 1]++;
            a->held_ent[3 * to] = f->idx_at[k];
            a->held_ent[3 * to + 1] = i;
            a->held_ent[3 * to + 2] = fw;
        }
    }
    /* held_off[g] .. held_off[g + 1] now spans agent g */
    a->held_on = 1;
    return 0;
}

int la_place_prepare(locus_allocator *a, double now)
{
    a->n_allowed1 = a->n_held_unplanned = 0;
    if (la_grow((void **)&a->fstate, &a->fstate_cap, a->n_fw_slots + 1, 1) ||
        la_grow((void **)&a->urack, &a->urack_cap, a->n_fw_slots + 1, 1) ||
        la_grow((void **)&a->fplanned, &a->fplanned_cap, a->n_fw_slots + 1, 1) ||
        la_grow((void **)&a->fw_rk, &a->fw_rk_cap, a->n_fw_slots + 1, sizeof *a->fw_rk))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < a->n_fw_slots; i++) {
        la_fw *f = &a->fws[i];
        a->fstate[i] = 0;
        a->fplanned[i] = 0;
        a->urack[i] = 0;
        a->fw_rk[i] = (struct la_rkref){f->racks, f->live ? f->n_racks : 0};
        if (!f->live)
            continue;
        a->fplanned[i] = (uint8_t)planned_type(f);
        f->allowed = 2;
        f->budget = f->local_tasks;
        if (f->n_listed)
            a->fstate[i] = 3;
        if (!f->n_listed || !f->n_loc || !f->demand_bytes)
            continue;
        /* A wait needs consecutive locality cycles: after a drf fallback, a
         * suppression or a deactivation the framework starts waiting afresh. */
        if (f->wait_since < 0 || f->wait_cycle + 1 != a->st.cycles)
            f->wait_since = f->waited_from = now;
        f->wait_cycle = a->st.cycles;
        double w = now - f->wait_since;
        /* Waiting pays at most the read time a copy saves: the waits are
         * the config's, cut to that (a task of a few MB does not wait). */
        double save_s = next_tasks_saving(a, f);
        double wn = save_s < a->cfg.wait_node ? save_s : a->cfg.wait_node;
        double wr = save_s < a->cfg.wait_rack ? save_s : a->cfg.wait_rack;
        /* The next chance comes a cycle later: a saving shorter than a
         * cycle is not worth one. */
        if (save_s < a->cycle_s)
            wn = wr = 0;
        f->allowed = w >= wn + wr ? 2 : w >= wn ? 1 : 0;
        /* ...and only while a copy's agent is expected to free a slot within
         * that wait: else rack-local now (then any after wait_rack). */
        if (f->allowed == 0 && f->waiting && !copy_frees_within(a, f, now, wn)) {
            f->allowed = 1;
            f->wait_since = now - wn;
        }
        a->fstate[i] = (uint8_t)(1 + f->allowed);
        a->n_allowed1 += f->allowed == 1;
        a->n_held_unplanned += f->allowed < 2 && !planned_type(f);
    }
    /* With one role listing clients, its list (sorted just now) ranks the
     * frameworks: the held-back walks can then skip (or stop at) those that
     * cannot come before the best candidate found. */
    const la_role *one = NULL;
    a->held_ranked = 0;
    if ((a->n_allowed1 || a->n_held_unplanned) && !a->held_rank_off) {
        for (uint32_t r = 0; r < a->n_roles; r++)
            if (a->roles[r].n) {
                if (one) {
                    one = NULL;
                    break;
                }
                one = &a->roles[r];
            }
    }
    if (one) {
        if (la_grow((void **)&a->fw_key, &a->fw_key_cap, a->n_fw_slots + 1, sizeof *a->fw_key) ||
            la_grow((void **)&a->rank_key, &a->rank_key_cap, one->n + 1, sizeof *a->rank_key))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < one->n; i++) {
            const la_client *c = &a->clients[one->list[i]];
            a->rank_key[i] = (struct la_drfkey){c->share0, c->count0, c->key8, one->list[i]};
            a->fw_key[c->fw] = (struct la_drfkey){c->share, c->count, c->key8, one->list[i]};
        }
        a->n_rank_key = one->n;
        a->held_ranked = 1;
    }
    a->held_on = 0;
    if (one && a->n_held_unplanned && held_lists_build(a, one))
        return LOCUS_ENOMEM;
    for (uint32_t r = 0; r < a->n_roles; r++) {
        la_role *ro = &a->roles[r];
        if (la_grow((void **)&ro->ulist, &ro->ucap, ro->n + 1, sizeof *ro->ulist))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        ro->un = 0;
        /* Frameworks past their waits, and those with pending work no copy
         * is known for (waiting cannot make it local), for any agent; those
         * allowed rack-local, for agents in racks holding their data
         * (urack). One list in DRF order serves both: a pick reads it up to
         * the first framework that may take the agent, where a list per
         * rack in the cycle's starting order was read up to the first that
         * started after the best, which is most of it once most frameworks
         * have had an offer in the cycle. */
        for (uint32_t i = 0; i < ro->n; i++) {
            uint32_t fw = a->clients[ro->list[i]].fw;
            const la_fw *f = &a->fws[fw];
            int any = f->allowed == 2 || (planned_type(f) && f->uncached_tasks > 0.5);
            /* (The test hook reads every framework instead: see loc_pick.) */
            a->urack[fw] = !any && f->allowed == 1 && !a->held_rank_off;
            if (any || a->urack[fw])
                ro->ulist[ro->un++] = ro->list[i];
        }
    }
    return 0;
}

/* Makes *best the DRF-first of *best and framework fw's listed clients,
 * when fw is not filtered on g. The filter (a memory lookup) is checked only
 * for a client that would win: most candidates lose on shares alone. */
static void consider_fw(const locus_allocator *a, const la_agent *g, uint32_t fw, uint32_t now_t,
                        uint32_t *best)
{
    const la_fw *f = &a->fws[fw];
    int checked = 0;
    for (uint32_t j = 0; j < f->n_clients; j++) {
        uint32_t cs = f->clients[j];
        if (!a->clients[cs].listed || !la_drf_before(a, cs, *best))
            continue;
        if (!checked++ && g && la_filtered(g, fw, now_t))
            return;
        if (g && a->roles_ext && a->roles_ext->n_rfilters && la_roles_rfiltered(a, cs, g, NULL))
            continue; /* this role declined as much on g: the next role may take it */
        *best = cs;
    }
}

/* la_filtered, inlined: the pick's walks ask it of most candidates they
 * test, several per offer. */
static inline int filtered_at(const la_agent *g, uint32_t fw, uint32_t now_t)
{
    uint32_t e = la_fset_get(&g->filters, fw);
    return e && now_t < e;
}

/* la_drf_order of two keys: 0 on an exact tie (the callers then compare ids). */
static inline int drfkey_order(const struct la_drfkey *kx, const struct la_drfkey *ky)
{
    return la_drf_order(kx->share, kx->count, kx->key8, ky->share, ky->count, ky->key8);
}

/* When held_ranked: is framework x's client before framework y's in the
 * DRF order now, ky being y's key (fw_key[y], which the walks keep a copy
 * of while y is their best)? The same order as la_drf_before within one
 * role. */
static inline int key_before(const locus_allocator *a, uint32_t x, const struct la_drfkey *ky,
                             uint32_t y)
{
    int o = drfkey_order(&a->fw_key[x], ky);
    return o ? o < 0 : x != y && strcmp(a->fws[x].id, a->fws[y].id) < 0;
}

/* When held_ranked: does the role's client ranked r in the cycle's
 * starting order start before framework y's key now (ky, its copy)? The
 * walks over lists in rank order stop at the first that does not: keys only
 * grow within a cycle, so neither it nor any client ranked after it can come
 * before y. The same order as key_before, on the starting keys. */
static inline int starts_before(const locus_allocator *a, uint32_t r, const struct la_drfkey *ky,
                                uint32_t y)
{
    const struct la_drfkey *k = &a->rank_key[r];
    int o = drfkey_order(k, ky);
    return o ? o < 0
             : k->cs != ky->cs && strcmp(a->fws[a->clients[k->cs].fw].id, a->fws[y].id) < 0;
}

/* A held-back framework fw found in an agent's entries: it becomes the best
 * (bfw, its key bk, its client best_cs) when its key comes before the
 * best's; else it is counted as skipped. 1 when taken. */
static inline int held_take(locus_allocator *a, uint32_t fw, uint32_t *bfw,
                            struct la_drfkey *bk, uint32_t *best_cs)
{
    if (*bfw != NONE && !key_before(a, fw, bk, *bfw)) {
        a->held_skips++;
        return 0;
    }
    *bfw = fw;
    *bk = a->fw_key[fw];
    *best_cs = bk->cs;
    /* What annotate will read of it if it stays the best (its bytes in the
     * rack): fetched while the walk goes on. */
    __builtin_prefetch(&a->fws[fw].rack_mask);
    return 1;
}

/* Role r's place in the role order: with one role (the usual case) that
 * is 0, known without a call; every pick asks it. */
static inline uint32_t role_pos(const locus_allocator *a, uint32_t r)
{
    return a->n_roles == 1 && a->role_order[0] == r ? 0 : la_role_order_find(a, r);
}

/* Locality: the best-scoring node-local framework within the slack of the
 * lowest share; else the DRF-first framework this agent is allowed for. */
static int loc_pick(locus_allocator *a, uint32_t gs, uint32_t now_t, double now, la_pick *out)
{
    const la_agent *g = &a->agents[gs];
    int found = 0;
    uint32_t best_cs = NONE;
    int have_idx = a->idx_off && gs < a->idx_off_cap;
    int use_slack = a->cfg.fairness_slack > 0; /* 0: strict DRF order, nobody jumps the queue */
    uint32_t walk_ui = NONE, best_ent = NONE;
    if (have_idx && use_slack) {
        double slack = a->cfg.fairness_slack + 1e-12;
        double base_role = -1;
        for (uint32_t ri = 0; ri < a->n_roles && base_role < 0; ri++)
            if (a->roles[a->role_order[ri]].n)
                base_role = a->roles[a->role_order[ri]].share;
        for (uint32_t i = a->idx_off[gs]; i < la_idx_end(a, gs); i++) {
            /* The entry alone (cached bytes, copy of the filter) first:
             * only a possible winner costs the framework and client lookups. */
            const struct la_idxent *x = &a->idx_ent[i];
            if (!(x->bytes[0] | x->bytes[1] | x->bytes[2]) || x->fexp > now_t)
                continue;
            uint32_t fw = x->fw;
            if (!a->fstate[fw])
                continue;
            const la_fw *f = &a->fws[fw];
            if (!f->demand_bytes)
                continue;
            la_pick cand;
            annotate_e(a, gs, fw, x, &cand);
            double sc0 = cand.score;
            if (found && sc0 < out->score)
                continue;
            if (planned_type(f) || (f->has_task_res && !(f->budget > 0)))
                continue; /* its local tasks are all offered this cycle */
            for (uint32_t j = 0; j < f->n_clients; j++) {
                uint32_t cs = f->clients[j];
                const la_client *c = &a->clients[cs];
                if (!c->listed)
                    continue;
                const la_role *ro = &a->roles[c->role];
                if (ro->share > base_role + slack ||
                    c->share > ro->min_share + slack)
                    continue;
                double sc = sc0;
                int better = !found || sc > out->score ||
                             (sc == out->score && la_drf_before(a, cs, best_cs));
                if (better) {
                    out->score = sc;
                    best_ent = i;
                    best_cs = cs;
                    found = 1;
                }
            }
        }
    }
    if (found) {
        annotate_e(a, gs, a->clients[best_cs].fw, &a->idx_ent[best_ent], out);
        out->waited = 0;
    } else if (la_scan_wanted(a, g)) {
        best_cs = la_scan_pick(a, gs, 1);
        if (best_cs == NONE)
            return 0;
        annotate(a, gs, a->clients[best_cs].fw, out);
        const la_fw *f = &a->fws[a->clients[best_cs].fw];
        out->waited = f->waited_from >= 0 && out->level > 0 ? now - f->waited_from : 0;
    } else if (!found) {
        /* DRF order among the frameworks not held back (and those allowed
         * rack-local, where the agent's rack holds their data)... */
        uint64_t u_rack = 0; /* the winner's bytes in g's rack, when it was asked */
        int u_rack_known = 0;
        for (uint32_t ri = 0; ri < a->n_roles && best_cs == NONE; ri++) {
            const la_role *ro = &a->roles[a->role_order[ri]];
            for (uint32_t ui = 0; ui < ro->un; ui++) {
                uint32_t cs = ro->ulist[ui], fw = a->clients[cs].fw;
                if (!a->fstate[fw] || filtered_at(g, fw, now_t))
                    continue;
                if (a->urack[fw]) { /* rack-local only: its data in g's rack */
                    if (g->rack == NONE || !(u_rack = la_rack_total(a, g->rack, fw)) ||
                        (a->roles_ext && a->roles_ext->n_rfilters &&
                         la_roles_rfiltered(a, cs, g, NULL)))
                        continue; /* (this role declined as much on g) */
                    u_rack_known = 1;
                }
                best_cs = cs;
                walk_ui = ui;
                break;
            }
        }
        /* ...and the held-back ones this agent is local for (those the
         * plan serves are offered their room through it). Where the winner
         * was found says what annotate would look up again: its entry here,
         * or its bytes in this rack. */
        uint32_t win_ent = NONE;
        /* The DRF-first framework not held back: its annotation needs its
         * entry here and, without one, its rack bytes; the line of its rack
         * list to be searched is fetched while the walks below run. */
        uint32_t ufw = best_cs != NONE ? a->clients[best_cs].fw : NONE, uent = NONE;
        int walked_all = 0;
        if (ufw != NONE) {
            la_alloc_prefetch(a, gs, best_cs); /* the offer's allocation lookup */
            __builtin_prefetch(&a->clients[best_cs].share); /* its key, as the offer moves it */
            const la_fw *uf = &a->fws[ufw]; /* what annotate and the offer read of it */
            __builtin_prefetch(&uf->alloc_head);
            __builtin_prefetch(&uf->demand_bytes);
            __builtin_prefetch(&uf->waited_from);
            __builtin_prefetch(&uf->has_task_res);
            const struct la_rkref *rk = &a->fw_rk[ufw];
            if (rk->n && g->rack != NONE) {
                uint32_t at = la_rack_pos(a, g->rack, rk->n);
                __builtin_prefetch(&rk->p[at < rk->n ? at : rk->n - 1]);
            }
        }
        if (a->held_ranked) {
            /* One role: frameworks ranked at or after the place of the
             * best's key now cannot come first (the agents' held lists are
             * in rank order, so a walk stops there), and the others are
             * compared on fw_key before anything else of them is read. */
            uint32_t bfw = ufw;
            struct la_drfkey bk = {0}; /* bfw's key while bfw is not NONE */
            if (bfw != NONE)
                bk = a->fw_key[bfw];
            if (have_idx && a->held_on && a->idx_len[gs] > 8) {
                /* Many entries here: only the held-back frameworks' (in
                 * rank order, so the walk stops as said above). */
                uint32_t h0 = a->held_off[gs], h1 = a->held_off[gs + 1];
                a->held_list_picks++;
                for (uint32_t h = h0; h < h1; h++) {
                    const uint32_t *it = &a->held_ent[3 * h];
                    if (bfw != NONE && !starts_before(a, it[1], &bk, bfw)) {
                        a->held_skips += h1 - h;
                        break;
                    }
                    uint32_t i = it[0], fw = it[2];
                    if ((unsigned)a->fstate[fw] - 1u > 1u)
                        continue;
                    if (i < a->idx_off[gs] || i >= la_idx_end(a, gs) || a->idx_ent[i].fw != fw) {
                        i = la_idx_lower_bound(a, gs, fw); /* moved since it was written */
                        if (i >= la_idx_end(a, gs) || a->idx_ent[i].fw != fw)
                            continue;
                    }
                    if (a->idx_ent[i].fexp <= now_t && held_take(a, fw, &bfw, &bk, &best_cs))
                        win_ent = i;
                }
            } else if (have_idx && a->n_held_unplanned) {
                for (uint32_t i = a->idx_off[gs]; i < la_idx_end(a, gs); i++) {
                    uint32_t fw = a->idx_ent[i].fw;
                    if (fw == ufw)
                        uent = i;
                    if ((unsigned)a->fstate[fw] - 1u > 1u /* not listed and held back */
                        || a->idx_ent[i].fexp > now_t || a->fplanned[fw])
                        continue;
                    if (held_take(a, fw, &bfw, &bk, &best_cs))
                        win_ent = i;
                }
                walked_all = 1;
            }
        } else {
            if (have_idx && a->n_held_unplanned)
                for (uint32_t i = a->idx_off[gs]; i < la_idx_end(a, gs); i++) {
                    uint32_t fw = a->idx_ent[i].fw;
                    if (!(a->fstate[fw] == 1 || a->fstate[fw] == 2) /* listed, held back */
                        || a->idx_ent[i].fexp > now_t || a->fplanned[fw])
                        continue;
                    uint32_t was = best_cs;
                    consider_fw(a, NULL, fw, now_t, &best_cs);
                    if (best_cs != was)
                        win_ent = i;
                }
            /* Test hook (held_rank_off): the frameworks allowed rack-local
             * are not in ulist but read one by one, so tests compare the
             * DRF walk's answer with every candidate's. */
            if (a->held_rank_off && a->n_allowed1 && g->rack != NONE)
                for (uint32_t fw = 0; fw < a->n_fw_slots; fw++)
                    if (a->fstate[fw] && a->fws[fw].allowed == 1 &&
                        la_rack_total(a, g->rack, fw))
                        consider_fw(a, g, fw, now_t, &best_cs);
        }
        if (best_cs == NONE)
            return 0;
        uint32_t bfw = a->clients[best_cs].fw;
        if (u_rack_known && ufw == bfw)
            annotate_r(a, gs, bfw, NULL, 0, &u_rack, out);
        else if (win_ent != NONE && a->idx_ent[win_ent].fw == bfw)
            annotate_e(a, gs, bfw, &a->idx_ent[win_ent], out);
        else if (walked_all && ufw == bfw) /* the walk saw all of gs's entries */
            annotate_r(a, gs, bfw, uent != NONE ? &a->idx_ent[uent] : NULL, 1, NULL, out);
        else
            annotate(a, gs, bfw, out);
        const la_fw *f = &a->fws[a->clients[best_cs].fw];
        out->waited = f->waited_from >= 0 && out->level > 0 ? now - f->waited_from : 0;
        /* The allocation the offer adds goes at the head of the framework's
         * and the agent's lists: their current heads are written. */
        if (f->alloc_head != NONE)
            __builtin_prefetch(&a->allocs[f->alloc_head].f_prev, 1);
        if (g->alloc_head != NONE)
            __builtin_prefetch(&a->allocs[g->alloc_head].a_prev, 1);
    }
    const la_client *c = &a->clients[best_cs];
    out->ri = role_pos(a, c->role);
    out->li = NONE;
    out->cs = best_cs;
    out->ui = walk_ui != NONE && a->roles[c->role].ulist[walk_ui] == best_cs ? walk_ui : NONE;
    return 1;
}

/* Offer slicing: the part of avail that `tasks` tasks of framework fw use,
 * in *slice. Returns the task count when that is less than avail (a slice),
 * 0 when the framework gets avail whole (no task resources, not node-local,
 * or its local tasks need all of it). Resources the per-task set does not
 * name are left out of a slice. */
static uint32_t slice_of(const locus_allocator *a, const la_fw *f, const la_pick *p,
                         const double *avail, double *slice)
{
    if (planned_type(f)) {
        /* Its cached work went through the plan: what it gets here is sized
         * to the rest (tasks with no free or no known copy); while it waits
         * for copies, to the tasks with no known copy only. */
        double n = ceil((f->allowed < 2 && f->uncached_left < f->budget ? f->uncached_left
                                                                         : f->budget) - 1e-6);
        if (n < 1)
            n = 1;
        if (n > 1e6)
            return 0;
        int smaller = 0, any = 0;
        for (uint32_t k = 0; k < a->n_res; k++) {
            double want = n * f->task_res[k];
            slice[k] = want < avail[k] ? want : avail[k];
            smaller |= slice[k] < avail[k] - EPS;
            any |= slice[k] > EPS;
        }
        return smaller && any ? (uint32_t)n : 0;
    }
    if (!f->has_task_res || p->level != 0 || !(p->tasks > 0) || !(f->budget > 0))
        return 0;
    /* A task whose block has replicas on several agents counts on each of
     * them: the framework's budget keeps one cycle's slices to its pending
     * local tasks, counted once. */
    double n = ceil((p->tasks < f->budget ? p->tasks : f->budget) - 1e-6);
    if (n < 1)
        n = 1;
    if (n > 1e6)
        return 0;
    int smaller = 0, any = 0;
    for (uint32_t k = 0; k < a->n_res; k++) {
        double want = n * f->task_res[k];
        slice[k] = want < avail[k] ? want : avail[k];
        smaller |= slice[k] < avail[k] - EPS;
        any |= slice[k] > EPS;
    }
    return smaller && any ? (uint32_t)n : 0;
}

/* ---- the plan: one decision per cycle -------------------------------------- */

uint64_t la_block_key_h(uint64_t ds_hash, uint64_t idx)
{
    uint64_t k = ds_hash ^ (idx + 1) * 0x9e3779b97f4a7c15ULL;
    return k == UINT64_MAX ? 0 : k;
}

uint64_t la_block_key(const char *ds, uint64_t idx)
{
    return la_block_key_h(la_hash_str(ds), idx);
}

/* Does one task of f fit in free? */
static int task_fits(const locus_allocator *a, const la_fw *f, const double *free_)
{
    for (uint32_t k = 0; k < a->n_res; k++)
        if (f->task_res[k] > free_[k] + EPS)
            return 0;
    return 1;
}

/* The framework's DRF-first listed client, or NONE. */
static uint32_t first_client(const locus_allocator *a, uint32_t fw)
{
    const la_fw *f = &a->fws[fw];
    uint32_t best = NONE;
    for (uint32_t j = 0; j < f->n_clients; j++)
        if (a->clients[f->clients[j]].listed && la_drf_before(a, f->clients[j], best))
            best = f->clients[j];
    return best;
}

/* A pick of framework fw on agent gs (locality annotation filled in). */
static int pick_of_fw(const locus_allocator *a, uint32_t gs, uint32_t fw, la_pick *p)
{
    uint32_t cs = first_client(a, fw);
    if (cs == NONE)
        return 0;
    annotate(a, gs, fw, p);
    p->cs = cs;
    p->ri = role_pos(a, a->clients[cs].role);
    p->li = NONE;
    p->ui = NONE;
    p->waited = 0;
    return 1;
}

/* Binary min-heap of frameworks keyed by plan_key (ties: slot order). */
static int heap_less(const locus_allocator *a, uint32_t x, uint32_t y)
{
    double kx = a->fws[x].plan_key, ky = a->fws[y].plan_key;
    return kx < ky || (kx == ky && x < y);
}

static void heap_push(locus_allocator *a, uint32_t *n, uint32_t fw)
{
    uint32_t i = (*n)++;
    while (i > 0) {
        uint32_t up = (i - 1) / 2;
        if (!heap_less(a, fw, a->heap[up]))
            break;
        a->heap[i] = a->heap[up];
        i = up;
    }
    a->heap[i] = fw;
}

static uint32_t heap_pop(locus_allocator *a, uint32_t *n)
{
    uint32_t top = a->heap[0], last = a->heap[--*n], i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && heap_less(a, a->heap[c + 1], a->heap[c]))
            c++;
        if (!heap_less(a, a->heap[c], last))
            break;
        a->heap[i] = a->heap[c];
        i = c;
    }
    if (*n)
        a->heap[i] = last;
    return top;
}

/* Records one task of fw (unit ui) planned on agent ag. */
static int plan_add(locus_allocator *a, uint32_t ag, uint32_t fw, uint32_t ui, uint32_t tier,
                    int level)
{
    /* An agent holds the entries of a few frameworks: its list is searched
     * (a map would need clearing every cycle). */
    uint32_t e = a->plan_head[ag];
    while (e != NONE && a->plan[e].fw != fw)
        e = a->plan[e].next;
    if (e == NONE) {
        if (la_grow((void **)&a->plan, &a->cap_plan, a->n_plan + 1, sizeof *a->plan))
            return LOCUS_ENOMEM;
        e = a->n_plan++;
        struct la_plan *p = &a->plan[e];
        memset(p, 0, sizeof *p);
        p->agent = ag;
        p->fw = fw;
        p->best_tier = tier;
        p->level = level;
        p->unit_head = NONE;
        p->next = a->plan_head[ag];
        a->plan_head[ag] = e;
    }
    if (la_grow((void **)&a->plan_units, &a->cap_plan_units, a->n_plan_units + 1,
                sizeof *a->plan_units))
        return LOCUS_ENOMEM;
    struct la_plan *p = &a->plan[e];
    a->plan_units[a->n_plan_units] = (struct la_plan_unit){ui, p->unit_head};
    p->unit_head = a->n_plan_units++;
    p->n_tasks++;
    if (tier < p->best_tier)
        p->best_tier = tier;
    if (level < p->level)
        p->level = level;
    if (tier < LOCUS_TIERS) /* node-local bytes only */
        p->bytes[tier] += a->fws[fw].units[ui].bytes;
    return 0;
}

/* Does the smallest planned task still fit on agent ag? */
static int min_room(const locus_allocator *a, uint32_t ag)
{
    const double *fr = &a->plan_free[(size_t)ag * LA_MAX_RES];
    return fr[LA_RES_CPUS] >= a->plan_min_task[0] - EPS &&
           fr[LA_RES_MEM] >= a->plan_min_task[1] - EPS && (fr[LA_RES_CPUS] > EPS || fr[LA_RES_MEM] > EPS);
}

/* Takes one task of f's room on agent ag from the plan's free resources. */
static void take_room(locus_allocator *a, const la_fw *f, uint32_t ag)
{
    double *fr = &a->plan_free[(size_t)ag * LA_MAX_RES];
    for (uint32_t k = 0; k < a->n_res; k++)
        fr[k] -= f->task_res[k];
    if (!(fr[LA_RES_CPUS] >= a->plan_min_task[0] - EPS &&
          fr[LA_RES_MEM] >= a->plan_min_task[1] - EPS)) {
        a->plan_room--;
        a->plan_fit[ag] = 0;
    }
}

/* Can fw's next task go on agent ag (room, no refuse filter)? */
static int room_for(const locus_allocator *a, const la_fw *f, uint32_t fw, uint32_t ag,
                    uint32_t now_t)
{
    return a->plan_fit[ag] && task_fits(a, f, &a->plan_free[(size_t)ag * LA_MAX_RES]) &&
           !la_filtered(&a->agents[ag], fw, now_t);
}

/* Agents probed per rack-local or anywhere placement: the room is usually
 * found at once; a full cluster is not searched agent by agent. */
#define LA_PLAN_PROBES 16

/* Live agents by rack, in this cycle's random order, for rack-local
 * placement. Built only for an away pass that has frameworks to serve: most
 * cycles place every task on a copy or have none past its node wait. */
static int plan_racks_build(locus_allocator *a)
{
    uint32_t nr = a->n_racks;
    if (la_grow((void **)&a->plan_rack_off, &a->cap_plan_rack, nr + 2, sizeof(uint32_t)) ||
        la_grow((void **)&a->plan_rack_cur, &a->cap_plan_rack_cur, nr + 1, sizeof(uint32_t)) ||
        la_grow((void **)&a->plan_rack_ag, &a->cap_plan_rack_ag, a->n_live + 1, sizeof(uint32_t)))
        return LOCUS_ENOMEM;
    memset(a->plan_rack_off, 0, sizeof(uint32_t) * (nr + 2));
    memset(a->plan_rack_cur, 0, sizeof(uint32_t) * (nr + 1));
    for (uint32_t i = 0; i < a->n_live; i++) {
        uint32_t r = a->agents[a->live[i]].rack;
        if (r != NONE && r < nr)
            a->plan_rack_off[r + 2]++;
    }
    for (uint32_t r = 0; r < nr; r++)
        a->plan_rack_off[r + 2] += a->plan_rack_off[r + 1];
    for (uint32_t i = 0; i < a->n_live; i++) {
        uint32_t r = a->agents[a->live[i]].rack;
        if (r != NONE && r < nr)
            a->plan_rack_ag[a->plan_rack_off[r + 1]++] = a->live[i];
    }
    a->plan_racks_ready = 1;
    return 0;
}

/* A unit with no free copy, for a framework no longer waiting: an agent
 * with room in a copy's rack (level 1), else, allowed to go anywhere, any
 * agent with room (level 2); NONE if none was found. */
static uint32_t place_away(locus_allocator *a, const la_fw *f, uint32_t fw, const la_unit *u,
                           uint32_t now_t, int *level)
{
    if (f->allowed >= 1 && a->plan_racks_ready)
        for (uint32_t c = 0; c < u->n_copies; c++) {
            uint32_t r = a->agents[f->copies[u->copy0 + c].agent].rack;
            if (r == NONE || r >= a->n_racks)
                continue;
            uint32_t lo = a->plan_rack_off[r], n = a->plan_rack_off[r + 1] - lo;
            for (uint32_t i = 0; i < n && i < LA_PLAN_PROBES; i++) {
                uint32_t ag = a->plan_rack_ag[lo + (a->plan_rack_cur[r] + i) % n];
                if (room_for(a, f, fw, ag, now_t)) {
                    a->plan_rack_cur[r] = (a->plan_rack_cur[r] + i) % n;
                    *level = 1;
                    return ag;
                }
            }
        }
    if (f->allowed >= 2) {
        /* Agents only lose room within a cycle: those without room for the
         * smallest task are passed once for all, so a nearly full cluster
         * is still searched among the agents that have room. */
        while (a->room_cur < a->n_room_ag && !min_room(a, a->plan_room_ag[a->room_cur]))
            a->room_cur++;
        for (uint32_t i = a->room_cur, probes = 0; i < a->n_room_ag && probes < LA_PLAN_PROBES; i++) {
            uint32_t ag = a->plan_room_ag[i];
            if (!min_room(a, ag))
                continue;
            probes++;
            if (room_for(a, f, fw, ag, now_t)) {
                *level = 2;
                return ag;
            }
        }
    }
    return NONE;
}

/* The copy of u to claim: the first with room in the fastest tier that
 * has one. A disk (or SSD) read takes, among its equally fast copies, the
 * agent where the least pending work is cached in memory: a slot there is
 * worth more to a task that would read memory, and the index knows which
 * agents those are (idx_mem_bytes). NONE if no copy has room. */
static uint32_t free_copy(const locus_allocator *a, const la_fw *f, uint32_t fw,
                          const la_unit *u, uint32_t now_t)
{
    uint32_t best = NONE;
    uint64_t best_mem = UINT64_MAX;
    for (uint32_t c = 0; c < u->n_copies; c++) {
        const la_copy *cp = &f->copies[u->copy0 + c];
        if (best != NONE && cp->tier != f->copies[u->copy0 + best].tier)
            break;
        if (!room_for(a, f, fw, cp->agent, now_t))
            continue;
        if (cp->tier == 0 || !a->idx_mem_bytes || cp->agent >= a->idx_off_cap)
            return c;
        uint64_t mem = a->idx_mem_bytes[cp->agent];
        if (mem < best_mem) {
            best = c;
            best_mem = mem;
        }
        if (!mem)
            break;
    }
    return best;
}

/* Tries fw's next units until one is placed: on its best free copy, else
 * (in the plan's second pass, away_ok, when fw is not waiting for a copy)
 * rack-local first, then anywhere. */
static int claim_next(locus_allocator *a, uint32_t fw, uint32_t now_t, int away_ok, int *placed)
{
    la_fw *f = &a->fws[fw];
    *placed = 0;
    while (f->tries < f->n_units && f->tries < LA_PLAN_TRIES &&
           (double)f->planned < f->unit_limit - 1e-9 && a->plan_room) {
        uint32_t ui = f->next_unit;
        f->next_unit = f->next_unit + 1 < f->n_units ? f->next_unit + 1 : 0;
        f->tries++;
        const la_unit *u = &f->units[ui];
        uint32_t c = free_copy(a, f, fw, u, now_t);
        if (c != NONE) {
            const la_copy *cp = &f->copies[u->copy0 + c];
            take_room(a, f, cp->agent);
            f->planned++;
            f->planned_local++;
            *placed = 1;
            return plan_add(a, cp->agent, fw, ui, cp->tier, 0);
        }
        int level = 2;
        uint32_t ag = away_ok && f->allowed >= 1 ? place_away(a, f, fw, u, now_t, &level) : NONE;
        if (ag != NONE) {
            take_room(a, f, ag);
            f->planned++;
            *placed = 1;
            return plan_add(a, ag, fw, ui, LOCUS_TIERS, level);
        }
        f->unplaced++;
    }
    return 0;
}

/* Keeps room for one task of fw (a framework without local work whose turn
 * in DRF order came) on the first agent of this cycle's random order (from
 * *cursor) with that room and no other reservation; fw is offered that
 * agent's remainder after its planned slices. */
static void reserve_agent(locus_allocator *a, uint32_t fw, uint32_t now_t, uint32_t *cursor)
{
    for (uint32_t i = *cursor; i < a->n_live; i++) {
        uint32_t ag = a->live[i];
        const double *fr = &a->plan_free[(size_t)ag * LA_MAX_RES];
        int room = fr[LA_RES_CPUS] >= a->cfg.min_cpus && fr[LA_RES_CPUS] > EPS;
        room |= fr[LA_RES_MEM] >= a->cfg.min_mem && fr[LA_RES_MEM] > EPS;
        if (a->fws[fw].has_task_res)
            room = task_fits(a, &a->fws[fw], fr);
        int taken = a->plan_reserved[ag] != NONE;
        if (i == *cursor && (taken || !room))
            (*cursor)++;
        if (taken || !room || la_filtered(&a->agents[ag], fw, now_t))
            continue;
        a->plan_reserved[ag] = fw;
        /* One task's room is kept for it; later claims may use the rest. */
        double *w = &a->plan_free[(size_t)ag * LA_MAX_RES];
        if (a->fws[fw].has_task_res)
            for (uint32_t k = 0; k < a->n_res; k++)
                w[k] -= a->fws[fw].task_res[k];
        if (i == *cursor)
            (*cursor)++;
        return;
    }
}

/* Sort records: a framework's units in the order it lists them (demand
 * item, then block), plan entries by framework then offer order. */
typedef struct unit_key {
    uint64_t block;
    uint32_t demand, unit;
} unit_key;

/* Is x after y in demand order (item, then block)? */
static inline int unit_key_after(const unit_key *x, const unit_key *y)
{
    return x->demand != y->demand ? x->demand > y->demand : x->block > y->block;
}

/* Sorts v[0..n) by demand order, stably (equal keys keep their order, as
 * the merge sort qsort used before did). A framework's units come as a few
 * runs already in that order (one per tier), so runs are found and merged
 * pairwise through tmp (room for n): n log(runs) steps with the comparison
 * inline, where a general sort took n log n calls through a pointer. */
static void units_sort(unit_key *v, unit_key *tmp, uint32_t n)
{
    while (n > 1) {
        uint32_t runs = 0, out = 0;
        for (uint32_t lo = 0; lo < n;) {
            uint32_t mid = lo + 1;
            while (mid < n && !unit_key_after(&v[mid - 1], &v[mid]))
                mid++;
            uint32_t hi = mid;
            if (mid < n)
                for (hi = mid + 1; hi < n && !unit_key_after(&v[hi - 1], &v[hi]); hi++)
                    ;
            /* merge v[lo..mid) and v[mid..hi); on a tie the left one first */
            uint32_t i = lo, j = mid;
            while (i < mid && j < hi)
                tmp[out++] = unit_key_after(&v[i], &v[j]) ? v[j++] : v[i++];
            while (i < mid)
                tmp[out++] = v[i++];
            while (j < hi)
                tmp[out++] = v[j++];
            runs++;
            lo = hi;
        }
        memcpy(v, tmp, sizeof *v * n);
        if (runs == 1)
            break;
    }
}

typedef struct entry_key {
    uint32_t fw, pos, entry;
} entry_key;

/* Sorts a few of one framework's entries by offer order (their agents'
 * places in the cycle's order, distinct, so any sort gives the same order)
 * by insertion, with no call per comparison. */
static void entries_sort(entry_key *v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        entry_key x = v[i];
        uint32_t j = i;
        for (; j > 0 && (v[j - 1].fw > x.fw || (v[j - 1].fw == x.fw && v[j - 1].pos > x.pos)); j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Sorts one framework's entries (many) by offer order: their places are
 * distinct numbers up to max_pos, sorted a byte at a time (least
 * significant first, through tmp), a few passes over the entries where a
 * sort took ne log ne compares through a pointer. */
static void entries_radix(entry_key *v, entry_key *tmp, uint32_t n, uint32_t max_pos)
{
    entry_key *from = v, *to = tmp;
    for (unsigned sh = 0; sh < 32 && (max_pos >> sh); sh += 8) {
        uint32_t at[256] = {0};
        for (uint32_t i = 0; i < n; i++)
            at[(from[i].pos >> sh) & 255]++;
        for (uint32_t d = 0, sum = 0; d < 256; d++) {
            uint32_t c = at[d];
            at[d] = sum;
            sum += c;
        }
        for (uint32_t i = 0; i < n; i++)
            to[at[(from[i].pos >> sh) & 255]++] = from[i];
        entry_key *t = from;
        from = to;
        to = t;
    }
    if (from != v)
        memcpy(v, from, sizeof *v * n);
}

/* Does unit un of f have a copy on agent ag? */
static int unit_on(const la_fw *f, const la_unit *un, uint32_t ag)
{
    for (uint32_t c = 0; c < un->n_copies; c++)
        if (f->copies[un->copy0 + c].agent == ag)
            return 1;
    return 0;
}

/* Appends unit u to a plan entry's new unit list (head/tail). */
static int list_add(locus_allocator *a, uint32_t u, uint32_t *head, uint32_t *tail)
{
    if (la_grow((void **)&a->plan_units, &a->cap_plan_units, a->n_plan_units + 1,
                sizeof *a->plan_units))
        return LOCUS_ENOMEM;
    a->plan_units[a->n_plan_units] = (struct la_plan_unit){u, NONE};
    if (*tail == NONE)
        *head = a->n_plan_units;
    else
        a->plan_units[*tail].next = a->n_plan_units;
    *tail = a->n_plan_units++;
    return 0;
}

/* Scratch of align_slices, kept across cycles. */
typedef struct align_buf {
    entry_key *ent, *ent_tmp;
    unit_key *order, *order_tmp;
    uint32_t *off, *bucket, *took;
    uint32_t *agent_k;          /* per agent slot: its entry among the framework's, or NONE */
    uint32_t *fw_head;          /* per framework slot: its first plan entry (NONE between uses) */
    uint32_t *enext, *fws;      /* per plan entry: the framework's next; frameworks planned */
    uint32_t *elast;            /* per plan entry: its last planned unit in demand order */
    uint32_t cap_ent, cap_order, cap_off, cap_bucket, cap_took, cap_agent_k;
    uint32_t cap_fw_head, cap_enext, cap_fws, cap_elast, cap_order_tmp, cap_ent_tmp;
} align_buf;

/* Cuts one framework's slices (entries ent[0..ne), in offer order) to the
 * local tasks its own choice leaves for each. */
static int align_entries(locus_allocator *a, align_buf *w, const la_fw *f, const entry_key *ek,
                         uint32_t ne);

static int align_fw(locus_allocator *a, align_buf *w, const entry_key *ek, uint32_t ne)
{
    const la_fw *f = &a->fws[ek[0].fw];
    if (la_grow((void **)&w->order, &w->cap_order, f->n_units + 1, sizeof *w->order) ||
        la_grow((void **)&w->off, &w->cap_off, ne + 2, sizeof *w->off))
        return LOCUS_ENOMEM;
    int sorted = 1;
    for (uint32_t u = 0; u < f->n_units; u++) {
        w->order[u] = (unit_key){f->units[u].block, f->units[u].demand, u};
        sorted &= u == 0 || unit_key_after(&w->order[u], &w->order[u - 1]);
    }
    /* Units of one tier are in demand order already: no sort then. */
    if (!sorted) {
        if (la_grow((void **)&w->order_tmp, &w->cap_order_tmp, f->n_units + 1,
                    sizeof *w->order_tmp))
            return LOCUS_ENOMEM;
        units_sort(w->order, w->order_tmp, f->n_units);
    }
    /* A dense agent -> entry array: this runs for every copy of the units walked. */
    for (uint32_t k = 0; k < ne; k++)
        w->agent_k[a->plan[ek[k].entry].agent] = k;
    int rc = align_entries(a, w, f, ek, ne);
    for (uint32_t k = 0; k < ne; k++)
        w->agent_k[a->plan[ek[k].entry].agent] = NONE;
    return rc;
}

static int align_entries(locus_allocator *a, align_buf *w, const la_fw *f, const entry_key *ek,
                         uint32_t ne)
{
    /* Entry k keeps its choice in bucket[off[k] .. off[k] + took), at most
     * its n_tasks. One walk in demand order gives each unit to the first
     * entry in offer order with a copy of it and room left - what each
     * entry's choice in turn, from the units the earlier ones left, takes -
     * and stops once every entry is full. */
    uint32_t total = 0;
    for (uint32_t k = 0; k < ne; k++) {
        w->off[k] = total;
        total += a->plan[ek[k].entry].n_tasks;
    }
    if (la_grow((void **)&w->bucket, &w->cap_bucket, total + 1, sizeof *w->bucket) ||
        la_grow((void **)&w->took, &w->cap_took, ne + 1, sizeof *w->took))
        return LOCUS_ENOMEM;
    memset(w->took, 0, sizeof *w->took * ne);
    uint32_t left = total;
    for (uint32_t oi = 0; oi < f->n_units && left; oi++) {
        uint32_t unit = w->order[oi].unit;
        const la_unit *un = &f->units[unit];
        uint32_t best = NONE;
        for (uint32_t c = 0; c < un->n_copies; c++) {
            uint32_t ag = f->copies[un->copy0 + c].agent;
            uint32_t k = ag < a->n_agents_slots ? w->agent_k[ag] : NONE;
            if (k < best && w->took[k] < a->plan[ek[k].entry].n_tasks)
                best = k;
        }
        if (best != NONE) {
            w->bucket[w->off[best] + w->took[best]++] = unit;
            left--;
        }
    }
    for (uint32_t k = 0; k < ne; k++) {
        struct la_plan *pl = &a->plan[ek[k].entry];
        uint32_t planned_local = 0;
        for (uint32_t x = pl->unit_head; x != NONE; x = a->plan_units[x].next)
            planned_local += unit_on(f, &f->units[a->plan_units[x].unit], pl->agent);
        uint32_t took = w->took[k];
        const uint32_t *chosen = &w->bucket[w->off[k]];
        if (took >= planned_local)
            continue; /* as planned, or more of its tasks local */
        /* Cut to what stays local; the slice names those blocks. Its tasks
         * planned away from their data keep their places. */
        uint32_t head = NONE, tail = NONE, away = pl->n_tasks - planned_local;
        for (uint32_t i = 0; i < took; i++)
            if (list_add(a, chosen[i], &head, &tail))
                return LOCUS_ENOMEM;
        for (uint32_t x = pl->unit_head; x != NONE; x = a->plan_units[x].next)
            if (!unit_on(f, &f->units[a->plan_units[x].unit], pl->agent) &&
                list_add(a, a->plan_units[x].unit, &head, &tail))
                return LOCUS_ENOMEM;
        pl->n_tasks = took + away;
        pl->unit_head = head;
        memset(pl->bytes, 0, sizeof pl->bytes);
        pl->best_tier = LOCUS_TIERS;
        for (uint32_t i = 0; i < took; i++) {
            const la_unit *un = &f->units[chosen[i]];
            for (uint32_t c = 0; c < un->n_copies; c++)
                if (f->copies[un->copy0 + c].agent == pl->agent) {
                    uint32_t t = f->copies[un->copy0 + c].tier;
                    if (t < LOCUS_TIERS) {
                        pl->bytes[t] += un->bytes;
                        if (t < pl->best_tier)
                            pl->best_tier = t;
                    }
                    break;
                }
        }
        if (!took)
            pl->level = 2;
    }
    return 0;
}

/* Grows a per-slot array kept NONE (all ones) between uses. */
static int grow_none(uint32_t **arr, uint32_t *cap, uint32_t need)
{
    if (*cap >= need)
        return 0;
    uint32_t old = *cap;
    if (la_grow((void **)arr, cap, need, sizeof **arr))
        return LOCUS_ENOMEM;
    memset(*arr + old, 0xff, sizeof **arr * (*cap - old));
    return 0;
}

/* A unit's place in the order of the framework's demand (item, block). */
static int unit_before(const la_unit *x, const la_unit *y)
{
    return x->demand != y->demand ? x->demand < y->demand : x->block < y->block;
}

/* Can one of the framework's slices (plan entries e0, linked by enext) run
 * a block planned for another? Slice j takes its framework's first local
 * tasks in demand order; while its own planned blocks are all left to it
 * they are as many as it has room for, so it takes none after the last of
 * them (its `last`). A planned block of slice k can thus be taken by slice
 * j only if it has a copy on j's agent and comes before j's last: when no
 * planned block does, by induction over the offer order no slice loses a
 * planned block, and replaying the framework's choice changes nothing. A
 * slice with tasks planned away from their data may take more local tasks
 * than it planned: its `last` is the end. Costs the planned tasks' copies,
 * not the pending ones. */
static int slices_overlap(locus_allocator *a, align_buf *w, const la_fw *f, uint32_t e0)
{
    for (uint32_t e = e0; e != NONE; e = w->enext[e]) {
        const struct la_plan *pl = &a->plan[e];
        uint32_t local = 0, last = NONE;
        for (uint32_t x = pl->unit_head; x != NONE; x = a->plan_units[x].next) {
            uint32_t u = a->plan_units[x].unit;
            local += unit_on(f, &f->units[u], pl->agent);
            if (last == NONE || unit_before(&f->units[last], &f->units[u]))
                last = u;
        }
        w->elast[e] = local == pl->n_tasks ? last : NONE;
        w->agent_k[pl->agent] = e;
    }
    int overlap = 0;
    for (uint32_t e = e0; e != NONE && !overlap; e = w->enext[e]) {
        const struct la_plan *pl = &a->plan[e];
        for (uint32_t x = pl->unit_head; x != NONE && !overlap; x = a->plan_units[x].next) {
            const la_unit *un = &f->units[a->plan_units[x].unit];
            for (uint32_t c = 0; c < un->n_copies; c++) {
                uint32_t ag = f->copies[un->copy0 + c].agent;
                uint32_t j = ag != pl->agent && ag < a->n_agents_slots ? w->agent_k[ag] : NONE;
                if (j != NONE && (w->elast[j] == NONE || unit_before(un, &f->units[w->elast[j]]))) {
                    overlap = 1;
                    break;
                }
            }
        }
    }
    for (uint32_t e = e0; e != NONE; e = w->enext[e])
        w->agent_k[a->plan[e].agent] = NONE;
    return overlap;
}

/* A framework that takes any offer runs, on a slice, its own choice of its
 * tasks local to that agent - whatever blocks the plan named - taken here
 * as the first ones in the order of its demand (a task scheduler walks its
 * pending list in order). Replayed over each framework's slices in offer
 * order: a block the plan gave to a later slice may be run by an earlier
 * one, and the later slice would then run a task away from its data. Each
 * slice is cut to the local tasks left for it (and names them); what is cut
 * waits for the next cycle. A framework that launches the blocks the offer
 * names, or in another order, loses at most that cycle for them. The replay
 * walks all the framework's pending tasks, so it runs only for frameworks
 * with local slices on two agents sharing a planned block's copies
 * (slices_overlap); the others' slices stay as planned either way. */
static int align_slices(locus_allocator *a)
{
    int rc = 0;
    if (a->n_plan < 2)
        return 0;
    if (!a->align && !(a->align = calloc(1, sizeof *a->align)))
        return LOCUS_ENOMEM;
    align_buf *b = a->align;
    if (grow_none(&b->agent_k, &b->cap_agent_k, a->n_agents_slots) ||
        grow_none(&b->fw_head, &b->cap_fw_head, a->n_fw_slots) ||
        la_grow((void **)&b->enext, &b->cap_enext, a->n_plan, sizeof *b->enext) ||
        la_grow((void **)&b->fws, &b->cap_fws, a->n_plan, sizeof *b->fws) ||
        la_grow((void **)&b->elast, &b->cap_elast, a->n_plan, sizeof *b->elast))
        return LOCUS_ENOMEM;
    /* Each framework's entries, newest first. */
    uint32_t nf = 0;
    for (uint32_t i = 0; i < a->n_plan; i++) {
        uint32_t fw = a->plan[i].fw;
        if (b->fw_head[fw] == NONE)
            b->fws[nf++] = fw;
        b->enext[i] = b->fw_head[fw];
        b->fw_head[fw] = i;
    }
    for (uint32_t i = 0; i < nf; i++) {
        uint32_t fw = b->fws[i], e0 = b->fw_head[fw];
        b->fw_head[fw] = NONE;
        if (rc || b->enext[e0] == NONE)
            continue;
        if (!a->plan_replay_all &&
            (!a->fws[fw].planned_local || !slices_overlap(a, b, &a->fws[fw], e0)))
            continue;
        a->plan_replays++;
        /* In offer order (the cycle's agent order). */
        uint32_t ne = 0;
        for (uint32_t e = e0; e != NONE; e = b->enext[e])
            ne++;
        if (la_grow((void **)&b->ent, &b->cap_ent, ne, sizeof *b->ent)) {
            rc = LOCUS_ENOMEM;
            continue;
        }
        if (ne > 32 && la_grow((void **)&b->ent_tmp, &b->cap_ent_tmp, ne, sizeof *b->ent_tmp)) {
            rc = LOCUS_ENOMEM;
            continue;
        }
        ne = 0;
        uint32_t max_pos = 0;
        for (uint32_t e = e0; e != NONE; e = b->enext[e]) {
            uint32_t pos = a->agents[a->plan[e].agent].live_pos;
            max_pos = pos > max_pos ? pos : max_pos;
            b->ent[ne++] = (entry_key){fw, pos, e};
        }
        if (ne <= 32)
            entries_sort(b->ent, ne);
        else
            entries_radix(b->ent, b->ent_tmp, ne, max_pos);
        rc = align_fw(a, b, b->ent, ne);
    }
    return rc;
}

static void align_free(align_buf *b)
{
    if (!b)
        return;
    free(b->ent);
    free(b->ent_tmp);
    free(b->agent_k);
    free(b->fw_head);
    free(b->enext);
    free(b->fws);
    free(b->elast);
    free(b->order);
    free(b->order_tmp);
    free(b->off);
    free(b->bucket);
    free(b->took);
    free(b);
}

/* One DRF-ordered pass of the plan over the heap of n frameworks, n_local
 * of them with units: the lowest projected share is served one task at a
 * time (a framework without cached data keeps room for one task instead)
 * until no framework with units can place more. away_ok: the second pass,
 * where tasks with no free copy may go rack-local or anywhere. */
static int plan_pass(locus_allocator *a, uint32_t *n, uint32_t *n_local, uint32_t now_t,
                     int away_ok, uint32_t *cursor)
{
    while (*n && *n_local) {
        uint32_t fw = heap_pop(a, n);
        la_fw *f = &a->fws[fw];
        if (!planned_type(f)) {
            reserve_agent(a, fw, now_t, cursor);
            continue;
        }
        int placed = 0;
        int rc = claim_next(a, fw, now_t, away_ok, &placed);
        if (rc)
            return rc;
        if (!placed) {
            /* Next cycle goes on from here, unless every unit was tried. */
            f->scan_from = f->tries >= f->n_units ? 0 : f->next_unit;
            (*n_local)--;
            continue;
        }
        f->plan_key += f->plan_step;
        heap_push(a, n, fw);
    }
    return 0;
}

int la_place_plan(locus_allocator *a, uint32_t now_t)
{
    a->n_plan = a->n_plan_units = 0;
    uint32_t na = a->n_agents_slots;
    if (na > a->plan_agent_cap) {
        double *pf = realloc(a->plan_free, sizeof *pf * LA_MAX_RES * na);
        if (pf)
            a->plan_free = pf;
        uint32_t *ph = pf ? realloc(a->plan_head, sizeof *ph * na) : NULL;
        if (ph)
            a->plan_head = ph;
        uint32_t *pr = ph ? realloc(a->plan_reserved, sizeof *pr * na) : NULL;
        if (!pr)
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        a->plan_reserved = pr;
        a->plan_agent_cap = na;
    }
    if (na) {
        memset(a->plan_head, 0xff, sizeof *a->plan_head * na);
        memset(a->plan_reserved, 0xff, sizeof *a->plan_reserved * na);
    }
    if (la_grow((void **)&a->heap, &a->cap_heap, a->n_fw_slots + 1, sizeof *a->heap))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    a->plan_racks_ready = 0;
    uint32_t n = 0, n_local = 0;
    a->plan_min_task[0] = a->plan_min_task[1] = INFINITY;
    for (uint32_t fw = 0; fw < a->n_fw_slots; fw++) {
        la_fw *f = &a->fws[fw];
        if (!f->live || !a->fstate[fw])
            continue;
        f->planned = f->planned_local = f->unplaced = f->tries = 0;
        /* Tries start where the last cycle's stopped, or at the front (the
         * memory copies) when that cycle tried them all. */
        f->next_unit = f->scan_start = f->scan_from < f->n_units ? f->scan_from : 0;
        if (!planned_type(f))
            continue; /* those without planned work join below, if there is any */
        uint32_t cs = first_client(a, fw);
        if (cs == NONE)
            continue;
        const la_role *ro = &a->roles[a->clients[cs].role];
        /* Progressive filling: the projected dominant share, over the role's weight. */
        f->plan_key = a->clients[cs].share / la_role_weight(ro);
        /* A task's share of the cluster over the weight: the same for each
         * of f's tasks this cycle (its role and the cluster do not change
         * while the plan runs), so computed once, not per task placed. */
        f->plan_step = la_dominant(a, f->task_res) / la_role_weight(ro);
        f->budget = 0; /* set below: the work the plan leaves */
        n_local++;
        if (f->task_res[LA_RES_CPUS] < a->plan_min_task[0])
            a->plan_min_task[0] = f->task_res[LA_RES_CPUS];
        if (f->task_res[LA_RES_MEM] < a->plan_min_task[1])
            a->plan_min_task[1] = f->task_res[LA_RES_MEM];
        heap_push(a, &n, fw);
    }
    /* Frameworks past their waits without planned work keep room for one
     * task at their DRF turn - in a plan that has planned work to share the
     * room with (the heap pops in the same order whatever the push order:
     * ties go to the lower slot). Held back, locality without a plan: the
     * per-agent rules. */
    for (uint32_t fw = 0; fw < a->n_fw_slots && n_local; fw++) {
        la_fw *f = &a->fws[fw];
        if (!f->live || !a->fstate[fw] || planned_type(f) || f->allowed != 2)
            continue;
        uint32_t cs = first_client(a, fw);
        if (cs == NONE)
            continue;
        const la_role *ro = &a->roles[a->clients[cs].role];
        f->plan_key = a->clients[cs].share / la_role_weight(ro);
        heap_push(a, &n, fw);
    }
    /* Nothing to plan (every framework takes the per-agent rules): the
     * agents' room is not looked at. */
    a->plan_open_valid = 0;
    if (n_local && (la_grow((void **)&a->plan_fit, &a->cap_plan_fit, na + 1, 1) ||
                    la_grow((void **)&a->plan_open, &a->cap_plan_open, na + 1, 1)))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    /* Agents where the smallest planned task still fits: none left, the plan is done. */
    a->plan_room = a->n_room_ag = a->room_cur = 0;
    if (la_grow((void **)&a->plan_room_ag, &a->cap_room_ag, a->n_live + 1, sizeof *a->plan_room_ag))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    if (n_local && la_grow((void **)&a->plan_avail, &a->cap_plan_avail,
                           (na + 1) * a->n_res, sizeof *a->plan_avail))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    if (n_local) {
        memset(a->plan_open, 0, na);
        memset(a->plan_fit, 0, na);
    }
    /* One walk over the agents in slot order (sequential memory, which the
     * hardware prefetches; the cycle's order is random) reads each live
     * one's room. An agent filtered for every offerable framework has no
     * room for anyone (the saturated case costs the plan nothing); filters
     * are expired only on agents with something to offer, as the agent loop
     * does. The agent loop of la_allocate() skips the agents found closed
     * here and takes an open one's free resources from plan_avail: nothing
     * changes them before their turn. */
    for (uint32_t ag = 0; ag < na && n_local; ag++) {
        double *fr = &a->plan_free[(size_t)ag * LA_MAX_RES];
        la_agent *g = &a->agents[ag];
        int open = g->live && g->active && la_allocatable(a, g, fr);
        if (open && g->filters.n && now_t >= g->min_expiry)
            la_filters_expire(a, g, now_t);
        if (!open || g->n_filt_off >= a->n_offerable) {
            memset(fr, 0, sizeof *fr * LA_MAX_RES);
            continue;
        }
        a->plan_open[ag] = 1;
        memcpy(&a->plan_avail[(size_t)ag * a->n_res], fr, sizeof *fr * a->n_res);
        a->plan_fit[ag] = (uint8_t)min_room(a, ag);
    }
    /* The agents with room for the smallest planned task, in the cycle's order. */
    for (uint32_t i = 0; i < a->n_live && n_local; i++)
        if (a->plan_fit[a->live[i]])
            a->plan_room_ag[a->n_room_ag++] = a->live[i];
    a->plan_open_valid = n_local > 0;
    a->plan_room = a->n_room_ag;
    uint32_t cursor = 0;
    /* Two passes, as a delay-scheduling framework takes a node-local task of
     * an offer before a rack-local one and returns to node level after a
     * local launch: first every framework claims copies only, then those
     * allowed further that found no free copy at all this cycle place their
     * tasks rack-local or anywhere. So a task away from its data never takes
     * the room another task's copy needed, and a framework that still runs
     * locally keeps waiting for its busy copies. */
    uint32_t planned_fws = n_local;
    int rc = plan_pass(a, &n, &n_local, now_t, 0, &cursor);
    if (!rc && planned_fws) {
        n = n_local = 0;
        for (uint32_t fw = 0; fw < a->n_fw_slots; fw++) {
            la_fw *f = &a->fws[fw];
            if (!f->live || !a->fstate[fw] || !planned_type(f) || f->allowed < 1 ||
                f->planned_local || first_client(a, fw) == NONE)
                continue;
            f->tries = 0;
            f->next_unit = f->scan_start;
            n_local++;
            heap_push(a, &n, fw);
        }
        if (n_local && plan_racks_build(a))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        rc = plan_pass(a, &n, &n_local, now_t, 1, &cursor);
    }
    if (rc)
        return la_seterr(a, rc, "out of memory");
    if (align_slices(a))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    /* A framework whose pending work is all in the plan takes no other
     * offer this cycle: a whole agent elsewhere would only run one of its
     * planned tasks away from its copy. */
    for (uint32_t fw = 0; fw < a->n_fw_slots; fw++) {
        la_fw *f = &a->fws[fw];
        if (!f->live || !a->fstate[fw] || !planned_type(f))
            continue;
        double rest = f->unit_limit - (double)f->planned;
        f->waiting = rest > 0.5;
        /* A framework that runs some of its tasks on their copies this cycle
         * is back at node level for the rest of it, as a delay-scheduling
         * framework is after a node-local launch: its other cached tasks
         * wait for their copies instead of taking another agent. */
        if (f->planned_local && f->allowed >= 1)
            rest = 0;
        f->budget = (rest > 0 ? rest : 0) + f->uncached_tasks;
        f->uncached_left = f->uncached_tasks;
        /* Nothing planned and nothing left by the estimates: the estimates
         * are wrong (the framework asks for offers), so it keeps the room
         * for one task any framework without cached data has. */
        if (f->budget < 0.5 && !f->planned)
            f->budget = 1;
        if (f->budget < 0.5)
            a->fstate[fw] = 0;
    }
    /* A framework out of the cycle now (fstate 0) stays out until the next
     * one: the DRF walks of ulist would pass it at every pick, so it leaves
     * the list (which stays sorted; an offer to it through its planned
     * slices finds it absent and moves nothing that is walked). */
    for (uint32_t r = 0; r < a->n_roles; r++) {
        la_role *ro = &a->roles[r];
        uint32_t kept = 0;
        for (uint32_t i = 0; i < ro->un; i++)
            if (a->fstate[a->clients[ro->ulist[i]].fw])
                ro->ulist[kept++] = ro->ulist[i];
        ro->un = kept;
    }
    return 0;
}

void la_place_free(locus_allocator *a)
{
    free(a->plan_free);
    free(a->plan_head);
    free(a->plan_reserved);
    free(a->plan);
    free(a->plan_units);
    align_free(a->align);
    a->align = NULL;
    free(a->heap);
    free(a->plan_rack_off);
    free(a->plan_rack_cur);
    free(a->plan_rack_ag);
    free(a->plan_room_ag);
    free(a->plan_fit);
    free(a->plan_open);
    free(a->plan_avail);
}

/* Offers agent gs's planned slices: each framework planned here gets the
 * resources of its planned tasks, with the blocks they were planned for in
 * the reason. *touched: a slice was cut from avail (offered or not: a role
 * filter or quota may turn the offer down after avail was cut). */
static int offer_planned(locus_allocator *a, uint32_t gs, double *avail, double now,
                         int *touched)
{
    static const char *const tn[] = {"on MEM", "on SSD", "on HDD"};
    *touched = 0;
    if (a->plan_head[gs] == NONE)
        return 0;
    /* The list is newest first: offer in the order the plan made them (DRF). */
    uint32_t n = 0;
    for (uint32_t e = a->plan_head[gs]; e != NONE; e = a->plan[e].next)
        n++;
    if (la_grow((void **)&a->sliced, &a->cap_sliced, n + 1, sizeof *a->sliced))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    uint32_t i = n;
    for (uint32_t e = a->plan_head[gs]; e != NONE; e = a->plan[e].next)
        a->sliced[--i] = e;
    for (i = 0; i < n; i++) {
        const struct la_plan *pl = &a->plan[a->sliced[i]];
        la_fw *f = &a->fws[pl->fw];
        la_pick p;
        memset(&p, 0, sizeof p);
        if (!f->live || !f->n_listed || !pick_of_fw(a, gs, pl->fw, &p))
            continue;
        double slice[LA_MAX_RES];
        int any = 0;
        for (uint32_t k = 0; k < a->n_res; k++) {
            double want = pl->n_tasks * f->task_res[k];
            slice[k] = want < avail[k] ? want : avail[k];
            any |= slice[k] > EPS;
        }
        if (!any)
            continue;
        *touched = 1;
        p.level = pl->level;
        p.tasks = pl->n_tasks;
        /* away from the data: how long it waited, as the per-agent picks say */
        p.waited = pl->level > 0 && f->waited_from >= 0 ? now - f->waited_from : 0;
        if (pl->level == 0) {
            memset(p.local, 0, sizeof p.local);
            memcpy(p.local, pl->bytes, sizeof pl->bytes);
        }
        char extra[200];
        la_sbuf eb = {extra, 0, sizeof extra};
        la_sb_str(&eb, ", planned ");
        la_sb_str(&eb, pl->level == 0 ? tn[pl->best_tier < LOCUS_TIERS ? pl->best_tier : 2]
                       : pl->level == 1 ? "rack-local"
                                        : "anywhere");
        la_sb_str(&eb, ", blocks");
        uint32_t shown = 0;
        for (uint32_t u = pl->unit_head; u != NONE && eb.len + 1 < eb.cap;
             u = a->plan_units[u].next) {
            const la_unit *un = &f->units[a->plan_units[u].unit];
            if (shown == 3) {
                la_sb_str(&eb, " +");
                la_sb_u64(&eb, pl->n_tasks - shown);
                la_sb_str(&eb, " more");
                break;
            }
            la_sb_str(&eb, " ");
            la_sb_strn(&eb, f->demand[un->demand].dataset, 40);
            la_sb_str(&eb, "#");
            la_sb_u64(&eb, (uint64_t)un->block);
            shown++;
        }
        int rc = la_make_offer(a, gs, slice, &p, 1, a->hints_valid, now, pl->n_tasks, extra);
        if (rc)
            return rc;
        /* Dataset demand does not say which blocks are still pending: a block
         * given a slice is taken as launched and not planned again. */
        for (uint32_t u = pl->unit_head; u != NONE; u = a->plan_units[u].next) {
            const la_unit *un = &f->units[a->plan_units[u].unit];
            if (f->demand[un->demand].block < 0 &&
                la_u64map_put(&f->offered_blocks,
                              la_block_key(f->demand[un->demand].dataset, un->block), 1))
                return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        }
        for (uint32_t k = 0; k < a->n_res; k++) {
            avail[k] -= slice[k];
            if (avail[k] < EPS)
                avail[k] = 0;
        }
    }
    return 0;
}


/* Locality, one agent: frameworks with local pending work each get a slice
 * sized to their local tasks (best score first within the fairness slack,
 * DRF shares updated after each), while resources remain; what remains goes
 * whole to the framework the usual rules pick (DRF order, delay scheduling).
 * A framework given a slice is taken out of this agent's candidates by
 * clearing its fstate until the agent is done, so every later pick path
 * skips it at no cost when nothing was sliced. */
int la_place_agent(locus_allocator *a, uint32_t gs, double *avail, uint32_t now_t,
                           double now)
{
    int rc = 0;
    if (a->plan_head && gs < a->plan_agent_cap) {
        int touched = 0;
        /* an agent without planned slices costs no call */
        if (a->plan_head[gs] != NONE && (rc = offer_planned(a, gs, avail, now, &touched)))
            return rc;
        /* Once a slice was cut from avail, what is free is read again from
         * the agent's allocations, whether or not the slice was offered: the
         * reserved framework and the DRF walk below must not work from the
         * cut copy (with it the Mesos module's end-to-end test offered a
         * framework a planned agent's rest with the slice subtracted twice).
         * Untouched, avail is what the caller just read. */
        if (touched && !la_allocatable(a, &a->agents[gs], avail))
            return 0;
        uint32_t rfw = a->plan_reserved[gs];
        if (rfw != NONE && a->fws[rfw].live && a->fws[rfw].n_listed &&
            !la_filtered(&a->agents[gs], rfw, now_t)) {
            la_pick p;
            memset(&p, 0, sizeof p);
            if (pick_of_fw(a, gs, rfw, &p))
                return la_make_offer(a, gs, avail, &p, 1, a->hints_valid, now, 0,
                                     ", agent kept for the lowest share");
        }
    }
    a->n_sliced = 0;
    for (;;) {
        la_pick p; /* loc_pick fills every field */
        if (!loc_pick(a, gs, now_t, now, &p))
            break;
        uint32_t fw = a->clients[p.cs].fw;
        la_fw *f = &a->fws[fw];
        double slice[LA_MAX_RES];
        uint32_t nt = slice_of(a, f, &p, avail, slice);
        if ((rc = la_make_offer(a, gs, nt ? slice : avail, &p, 1, a->hints_valid, now, nt, NULL)))
            break;
        if (!nt) {
            /* The whole agent: it holds at most the rest of the work. */
            if (planned_type(f)) {
                double fit = INFINITY;
                for (uint32_t k = 0; k < a->n_res; k++)
                    if (f->task_res[k] > EPS && avail[k] / f->task_res[k] < fit)
                        fit = avail[k] / f->task_res[k];
                fit = isfinite(fit) ? floor(fit + 1e-9) : 1;
                f->budget -= fit;
                f->uncached_left -= fit;
                if (f->allowed < 2 && f->uncached_left < 0.5)
                    a->fstate[fw] = 0;
            }
            break;
        }
        f->budget -= nt;
        f->uncached_left -= nt;
        if (la_grow((void **)&a->sliced, &a->cap_sliced, 2 * (a->n_sliced + 1), sizeof *a->sliced)) {
            rc = la_seterr(a, LOCUS_ENOMEM, "out of memory");
            break;
        }
        a->sliced[2 * a->n_sliced] = fw;
        a->sliced[2 * a->n_sliced + 1] = a->fstate[fw];
        a->n_sliced++;
        a->fstate[fw] = 0;
        if (!la_allocatable(a, &a->agents[gs], avail))
            break;
    }
    /* A held-back framework whose local tasks are all offered is done for
     * this cycle: only locality brings it offers, and none is left. */
    for (uint32_t i = 0; i < a->n_sliced; i++) {
        uint32_t fw = a->sliced[2 * i];
        const la_fw *f = &a->fws[fw];
        if (planned_type(f) && f->allowed < 2 && f->uncached_left < 0.5)
            continue; /* waiting for copies, its uncached tasks all offered */
        if (f->budget > 0 || (f->allowed == 2 && !planned_type(f)))
            a->fstate[fw] = (uint8_t)a->sliced[2 * i + 1];
    }
    a->n_sliced = 0;
    return rc;
}
