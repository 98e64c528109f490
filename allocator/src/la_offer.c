/* Offers and the allocation cycle. la_allocate() re-sorts the DRF order,
 * visits agents in a fresh random order (as Mesos does) and makes offers:
 * under drf each agent goes whole to the DRF-first unfiltered framework;
 * under locality la_place.c decides. Each offer carries its reason (policy,
 * level, tier, bytes, shares, the tasks a slice was sized for). Offers, their
 * resource items and reason strings live in per-instance arrays reused by
 * every cycle (valid until the next call, as the ABI says). */
#include "la_core.h"
#include "la_roles.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EPS 1e-9
#define NONE LA_MAP_NONE

/* Appends v in fixed point with `decimals` digits (0..3): reasons are
 * written for every offer, and printf's %f is the slowest part of doing so.
 * The digits go straight into the reason, with no copy or strlen after. */
static void sb_fix(la_sbuf *b, double v, int decimals)
{
    static const uint64_t scale[] = {1, 10, 100, 1000};
    char tmp[32];
    size_t n = sizeof tmp;
    if (!isfinite(v) || fabs(v) > 1e15) {
        int len = snprintf(tmp, sizeof tmp, "%g", v);
        la_sb_put(b, tmp, len > 0 ? (size_t)len : 0);
        return;
    }
    /* llround of a non-negative y below 2^63, without the libm call: the
     * truncation and y minus it are exact, and half rounds up (away from
     * zero) as llround does. */
    double y = fabs(v) * (double)scale[decimals];
    uint64_t x = (uint64_t)y;
    if (y - (double)x >= 0.5)
        x++;
    for (int d = 0; d < decimals; d++, x /= 10)
        tmp[--n] = (char)('0' + x % 10);
    if (decimals)
        tmp[--n] = '.';
    do {
        tmp[--n] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    if (v < 0)
        tmp[--n] = '-';
    la_sb_put(b, tmp + n, sizeof tmp - n);
}

static void sb_bytes(la_sbuf *b, uint64_t bytes)
{
    static const char u[][4] = {" B", " KB", " MB", " GB", " TB", " PB"};
    if (bytes < (uint64_t)1 << 49) {
        /* In integers (most locality offers print bytes), the number and
         * its unit built in one buffer and appended at once: below 2^49
         * bytes x 10 is exact in a double, so this rounds as sb_fix's
         * llround of bytes / 1024^i x 10 would, half away from zero. */
        char tmp[32];
        size_t n = sizeof tmp;
        int i = bytes ? (63 - __builtin_clzll(bytes)) / 10 : 0; /* 1024^i <= bytes */
        if (!i) {
            tmp[--n] = 'B';
            tmp[--n] = ' ';
            do {
                tmp[--n] = (char)('0' + bytes % 10);
                bytes /= 10;
            } while (bytes);
            la_sb_put(b, tmp + n, sizeof tmp - n);
            return;
        }
        unsigned sh = 10u * (unsigned)i;
        uint64_t x = (bytes * 10 + ((uint64_t)1 << (sh - 1))) >> sh;
        tmp[--n] = 'B';
        tmp[--n] = u[i][1];
        tmp[--n] = ' ';
        tmp[--n] = (char)('0' + x % 10);
        tmp[--n] = '.';
        x /= 10;
        do {
            tmp[--n] = (char)('0' + x % 10);
            x /= 10;
        } while (x);
        la_sb_put(b, tmp + n, sizeof tmp - n);
        return;
    }
    double v = (double)bytes;
    int i = 0;
    while (v >= 1024 && i < 5) {
        v /= 1024;
        i++;
    }
    sb_fix(b, v, i ? 1 : 0);
    la_sb_put(b, u[i], i ? 3 : 2);
}

#define LA_REASON_MAX 320 /* bytes of one offer's reason, its terminator included */

int la_make_offer(locus_allocator *a, uint32_t gs, const double *avail, const la_pick *p,
                      int use_loc, int hints_ok, double now, uint32_t slice_tasks, const char *extra)
{
    uint32_t rslot = a->role_order[p->ri];
    la_role *ro = &a->roles[rslot];
    uint32_t cs = use_loc ? p->cs : ro->list[p->li];
    la_client *c = &a->clients[cs];
    la_fw *f = &a->fws[c->fw];
    la_agent *g = &a->agents[gs];
    double fitted[LA_MAX_RES];
    /* The filter compares what the agent has free (what Mesos would offer),
     * not the slice: a slice is smaller than the agent once it has grown. */
    if (a->roles_ext && a->roles_ext->n_rfilters && la_roles_rfiltered(a, cs, g, NULL)) {
        a->roles_ext->refused = 1;
        return 0; /* this role declined as much on this agent */
    }
    if (a->roles_ext && a->roles_ext->quota_on) {
        if (!la_roles_fit(a, rslot, avail, fitted)) {
            a->roles_ext->refused = 1;
            return 0; /* quota leaves nothing for this role here */
        }
        avail = fitted;
    }
    /* The arrays grow only in a cycle's first offers: the call is made
     * then only. */
    if ((a->cap_offers < a->n_offers + 1 &&
         la_growz((void **)&a->offers, &a->cap_offers, a->n_offers + 1, sizeof *a->offers)) ||
        (a->cap_aux < 2 * (a->n_offers + 1) &&
         la_growz((void **)&a->offer_aux, &a->cap_aux, 2 * (a->n_offers + 1), sizeof(size_t))) ||
        (a->cap_items < a->n_items + a->n_res &&
         la_growz((void **)&a->items, &a->cap_items, a->n_items + a->n_res, sizeof *a->items)) ||
        (a->cap_reasons < a->n_reasons + LA_REASON_MAX &&
         la_growz((void **)&a->reasons, &a->cap_reasons, a->n_reasons + LA_REASON_MAX, 1)))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    int rc = la_alloc_add(a, gs, cs, avail);
    if (rc)
        return rc;

    locus_offer *o = &a->offers[a->n_offers];
    memset(o, 0, sizeof *o);
    o->framework_id = f->id;
    o->role = ro->name;
    o->agent_id = g->id;
    a->offer_aux[2 * a->n_offers] = a->n_items;
    for (uint32_t k = 0; k < a->n_res; k++)
        if (avail[k] > 0)
            a->items[a->n_items++] = (locus_scalar){a->res_names[k], avail[k]};
    o->resources.n = a->n_items - a->offer_aux[2 * a->n_offers];
    double share_before = c->share;

    /* The reason is written in place (room reserved above). */
    la_sbuf rb = {a->reasons + a->n_reasons, 0, LA_REASON_MAX};
    rb.buf[0] = '\0';
    if (!use_loc) {
        o->locality.level = -1;
        la_sb_str(&rb, a->cfg.policy == LA_POLICY_DRF ? "drf"
                       : hints_ok                     ? "drf order"
                                                      : "drf (no hints)");
        la_sb_str(&rb, ": role ");
        la_sb_str(&rb, ro->name);
        la_sb_str(&rb, " share ");
        sb_fix(&rb, ro->share, 3);
        la_sb_str(&rb, ", fw share ");
        sb_fix(&rb, share_before, 3);
    } else {
        memcpy(o->locality.local_bytes, p->local, sizeof p->local);
        o->locality.rack_bytes = p->rack;
        o->locality.score = p->score;
        o->locality.level = p->level;
        if (p->level == 0) {
            int t = p->local[0] ? 0 : p->local[1] ? 1 : 2;
            static const char *const tn[] = {"local MEM ", "local SSD ", "local HDD "};
            la_sb_str(&rb, tn[t]);
            sb_bytes(&rb, p->local[t]);
            la_sb_str(&rb, ", score ");
            sb_fix(&rb, p->score, 2);
        } else if (p->level == 1) {
            la_sb_str(&rb, "rack-local ");
            sb_bytes(&rb, p->rack);
            la_sb_str(&rb, " after ");
            sb_fix(&rb, p->waited, 1);
            la_sb_str(&rb, " s wait");
        } else if (p->level == 2) {
            la_sb_str(&rb, "any after ");
            sb_fix(&rb, p->waited, 1);
            la_sb_str(&rb, " s wait");
        }
        la_sb_str(&rb, p->level >= 0 && p->level <= 2 ? ", share " : "no cached demand, drf share ");
        sb_fix(&rb, share_before, 3);
    }
    if (slice_tasks) {
        la_sb_str(&rb, ", slice for ");
        la_sb_u64(&rb, slice_tasks);
        la_sb_str(&rb, slice_tasks == 1 ? " local task" : " local tasks");
    }
    if (extra)
        la_sb_str(&rb, extra);
    a->offer_aux[2 * a->n_offers + 1] = a->n_reasons;
    a->n_reasons += rb.len + 1;
    a->n_offers++;

    a->st.offers++;
    int lvl = o->locality.level;
    if (lvl == 0)
        a->st.offers_local++;
    else if (lvl == 1)
        a->st.offers_rack++;
    else
        a->st.offers_any++;
    if (use_loc && lvl == 0) /* a local launch restarts the wait, as in delay scheduling */
        f->wait_since = f->waited_from = now;

    /* Mesos's sorters: the chosen client and its role move right. */
    uint32_t ui = use_loc ? p->ui : NONE;
    if (use_loc && ui == NONE && f->allowed >= 1) {
        /* Its place in ulist, found before its key changes (one allowed
         * rack-local is there too, for agents in its racks). */
        uint32_t lo = 0, hi = ro->un;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            int k = la_cmp_client(a, ro->ulist[mid], cs);
            if (k == 0) {
                ui = mid;
                break;
            }
            if (k < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    c->count++;
    ro->count++;
    c->share = la_dominant(a, c->alloc);
    ro->share = la_dominant(a, ro->alloc) / la_role_weight(ro);
    if (a->held_ranked) { /* the held-back walks' copy of the key */
        a->fw_key[c->fw].share = c->share;
        a->fw_key[c->fw].count = c->count;
    }
    /* In a locality cycle only ulist is walked, so only it is kept in order
     * (every list is sorted afresh at the next cycle). */
    if (!use_loc)
        la_move_right_client(a, ro->list, ro->n, p->li);
    else if (ui != NONE)
        la_move_right_client(a, ro->ulist, ro->un, ui);
    if (p->ri + 1 < a->n_roles) /* the last role (or the only one) stays */
        la_move_right(a, a->role_order, a->n_roles, p->ri, la_cmp_role);
    if (a->roles_ext)
        la_roles_offered(a, rslot, avail);
    return 0;
}


/* Did the agent get an offer for client cs since offer index from? */
static int offered_since(const locus_allocator *a, size_t from, uint32_t gs, uint32_t cs)
{
    const la_client *c = &a->clients[cs];
    for (size_t i = from; i < a->n_offers; i++)
        if (a->offers[i].agent_id == a->agents[gs].id &&
            a->offers[i].framework_id == a->fws[c->fw].id &&
            a->offers[i].role == a->roles[c->role].name)
            return 1;
    return 0;
}

/* A pick turned down by a refuse filter or a quota limit must not leave the
 * agent idle for the round: what is left goes to the first framework in
 * hierarchical DRF order that can take it, as Mesos allocates the agent to
 * the others in the same run. Clients offered on this agent since offer
 * index from are skipped (one offer per agent and client a cycle). */
static int offer_rest_in_drf(locus_allocator *a, uint32_t gs, double *avail, uint32_t now_t,
                             double now, size_t from)
{
    la_agent *g = &a->agents[gs];
    while (a->roles_ext && a->roles_ext->refused && la_allocatable(a, g, avail)) {
        a->roles_ext->refused = 0;
        int offered = 0;
        for (uint32_t ri = 0; ri < a->n_roles && !offered; ri++) {
            const la_role *ro = &a->roles[a->role_order[ri]];
            if (ro->n && a->roles_ext->quota_on && !la_roles_admits(a, a->role_order[ri], g))
                continue;
            for (uint32_t li = 0; li < ro->n && !offered; li++) {
                uint32_t cs = ro->list[li];
                if (la_filtered(g, a->clients[cs].fw, now_t) || offered_since(a, from, gs, cs))
                    continue;
                la_pick p;
                memset(&p, 0, sizeof p);
                p.ri = ri;
                p.li = li;
                p.level = -1;
                size_t before = a->n_offers;
                int rc = la_make_offer(a, gs, avail, &p, 0, a->hints_valid, now, 0,
                                       ", after a refused pick");
                if (rc)
                    return rc;
                offered = a->n_offers > before;
            }
        }
        if (!offered)
            break;
        /* A quota-fitted offer may leave some: go round again only if a
         * later pick is refused as well. */
    }
    if (a->roles_ext)
        a->roles_ext->refused = 0;
    return 0;
}

/* Was a pick on this agent turned down (a refuse filter, quota)? Only
 * then is there a rest to offer in DRF order: the agent loop asks this
 * inline instead of calling offer_rest_in_drf for every agent. */
static inline int refused_pick(const locus_allocator *a)
{
    return a->roles_ext && a->roles_ext->refused;
}

int la_allocate(locus_allocator *a, double now, locus_offer_list *out)
{
    if (!a || !out)
        return LOCUS_EINVAL;
    out->offers = NULL;
    out->n = 0;
    a->n_offers = a->n_items = a->n_reasons = 0;
    if (a->paused)
        return 0;
    if (!isfinite(now))
        return la_seterr(a, LOCUS_EINVAL, "allocate: time is not finite");
    la_note_time(a, now);
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    la_maybe_reload(a, now);
    a->st.cycles++;
    /* How often placement gets a chance: waiting for less than that is
     * waiting a whole cycle. Intervals longer than a minute (an idle
     * cluster, a paused master) say nothing about the cadence. */
    if (a->st.cycles > 1 && now > a->last_alloc_now && now - a->last_alloc_now < 60) {
        double dt = now - a->last_alloc_now;
        a->cycle_s = a->cycle_s > 0 ? 0.75 * a->cycle_s + 0.25 * dt : dt;
    }
    a->last_alloc_now = now;
    la_roles_expire_filters(a);

    int use_loc = 0;
    if (a->cfg.policy == LA_POLICY_LOCALITY) {
        use_loc = la_hints_refresh(a, now);
        if (!use_loc)
            a->st.fallback_cycles++;
    }
    int rc = la_drf_resort(a);
    if (rc)
        return rc;
    a->held_ranked = 0; /* la_place_prepare sets it for this cycle */
    if (use_loc && (rc = la_place_prepare(a, now)))
        return rc;

    /* Mesos visits agents in a fresh random order every cycle. */
    for (uint32_t i = a->n_live; i > 1; i--) {
        uint32_t j = (uint32_t)(la_rng_next(&a->rng) % i);
        uint32_t t = a->live[i - 1];
        a->live[i - 1] = a->live[j];
        a->live[j] = t;
    }
    for (uint32_t i = 0; i < a->n_live; i++)
        a->agents[a->live[i]].live_pos = i;

    uint32_t now_t = la_ticks_floor(a, now);
    a->plan_open_valid = 0;
    if (use_loc && (rc = la_place_plan(a, now_t)))
        return rc;
    double avail[LA_MAX_RES];
    for (uint32_t i = 0; i < a->n_live && a->n_offerable; i++) {
        uint32_t gs = a->live[i];
        la_agent *g = &a->agents[gs];
        if (i + 1 < a->n_live) {
            /* The next agent's lines read first thing there (state, free
             * resources, filters): agents come in random order, so nothing
             * else fetches them, and with 10,000 agents each is a miss. */
            const la_agent *nx = &a->agents[a->live[i + 1]];
            __builtin_prefetch(&nx->active);
            __builtin_prefetch(&nx->alloc[0]);
            __builtin_prefetch(&nx->filters);
        }
        if (a->plan_open_valid) {
            /* The plan read this agent (active, its room, its filters
             * expired, not filtered for every framework) and nothing has
             * changed it since: its free resources are taken from there. */
            if (!a->plan_open[gs])
                continue; /* the plan found nothing to offer here */
            memcpy(avail, &a->plan_avail[(size_t)gs * a->n_res], sizeof *avail * a->n_res);
        } else {
            if (!g->active || !la_allocatable(a, g, avail))
                continue;
            if (g->filters.n && now_t >= g->min_expiry)
                la_filters_expire(a, g, now_t);
            if (g->n_filt_off >= a->n_offerable)
                continue; /* filtered for every framework that could take it */
        }
        size_t from = a->n_offers;
        if (a->roles_ext)
            a->roles_ext->refused = 0;
        if (use_loc) {
            /* The next agent's index entries, read first thing there: the
             * agents come in random order, so nothing else fetches them. */
            if (i + 1 < a->n_live && a->idx_ent && a->live[i + 1] < a->idx_off_cap) {
                uint32_t nx = a->live[i + 1];
                const char *p = (const char *)&a->idx_ent[a->idx_off[nx]];
                const char *e = (const char *)&a->idx_ent[la_idx_end(a, nx)];
                for (int k = 0; k < 12 && p < e; k++, p += 64)
                    __builtin_prefetch(p);
            }
            if ((rc = la_place_agent(a, gs, avail, now_t, now)) ||
                (refused_pick(a) && (rc = offer_rest_in_drf(a, gs, avail, now_t, now, from))))
                return rc;
            continue;
        }
        la_pick p;
        memset(&p, 0, sizeof p);
        int ok;
        if (!(a->roles_ext && (a->roles_ext->quota_on || a->roles_ext->n_rfilters)) &&
            la_scan_wanted(a, g)) {
            uint32_t cs = la_scan_pick(a, gs, 0);
            ok = cs != NONE;
            if (ok) {
                p.ri = la_role_order_find(a, a->clients[cs].role);
                p.li = la_list_find(a, &a->roles[a->clients[cs].role], cs, 1);
            }
        } else {
            ok = la_drf_first(a, g, now_t, &p);
        }
        if (!ok)
            continue;
        p.level = -1;
        if ((rc = la_make_offer(a, gs, avail, &p, 0, a->hints_valid, now, 0, NULL)) ||
            (refused_pick(a) && (rc = offer_rest_in_drf(a, gs, avail, now_t, now, from))))
            return rc;
    }
    for (size_t i = 0; i < a->n_offers; i++) {
        a->offers[i].resources.items = a->items + a->offer_aux[2 * i];
        a->offers[i].reason = a->reasons + a->offer_aux[2 * i + 1];
    }
    out->offers = a->offers;
    out->n = a->n_offers;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    a->st.last_cycle_cpu_s =
        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    return 0;
}
