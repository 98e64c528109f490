/* Placement for the locality policy: which framework gets which part of an
 * agent. Delay scheduling is decided once per cycle (which frameworks are
 * held back to node- or rack-local agents); then, agent by agent, frameworks
 * with pending input cached there get a slice sized to those local tasks,
 * best locality score first within the fairness slack, and what remains goes
 * to the framework the DRF order picks among those allowed on this agent. */
#include "la_core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9
#define NONE LA_MAP_NONE

/* The framework's demanded bytes on agent gs (index entry), or NULL. */
const struct la_idxent *la_idx_find(const locus_allocator *a, uint32_t gs, uint32_t fw)
{
    if (!a->idx_off || gs >= a->idx_off_cap)
        return NULL;
    for (uint32_t i = a->idx_off[gs]; i < a->idx_off[gs + 1]; i++)
        if (a->idx_ent[i].fw == fw)
            return &a->idx_ent[i];
    return NULL;
}

uint64_t la_rack_total(const locus_allocator *a, uint32_t rack, uint32_t fw)
{
    if (rack == NONE)
        return 0;
    const la_fw *f = &a->fws[fw];
    uint32_t lo = 0, hi = f->n_racks;
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
 * entry on that agent when the caller has it (else looked up). */
static void annotate_e(const locus_allocator *a, uint32_t gs, uint32_t fw,
                       const struct la_idxent *e, la_pick *p)
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
    if (!e)
        e = la_idx_find(a, gs, fw);
    uint64_t here = 0, rt;
    double w = 0;
    if (e) {
        memcpy(p->local, e->bytes, sizeof p->local);
        p->tasks = e->tasks;
        here = e->bytes[0] + e->bytes[1] + e->bytes[2];
        w = a->cfg.weight_mem * (double)e->bytes[0] + a->cfg.weight_ssd * (double)e->bytes[1] +
            a->cfg.weight_hdd * (double)e->bytes[2];
        rt = e->rack;
    } else {
        rt = la_rack_total(a, a->agents[gs].rack, fw);
    }
    p->rack = rt > here ? rt - here : 0;
    p->score = (w + a->cfg.rack_bonus * (double)p->rack) / (double)f->demand_bytes;
    p->level = here ? 0 : p->rack ? 1 : 2;
}

static void annotate(const locus_allocator *a, uint32_t gs, uint32_t fw, la_pick *p)
{
    annotate_e(a, gs, fw, NULL, p);
}

/* Delay scheduling, decided once per cycle: each framework with cached
 * input may take node-local agents only until wait_node has passed since it
 * started waiting (or since its last node-local offer), rack-local ones until
 * a further wait_rack, then any. Frameworks not held back form, per role, the
 * `ulist` walked in DRF order; held-back ones are reached only through the
 * agent's and the rack's index entries, so they cost nothing elsewhere. */
int la_place_prepare(locus_allocator *a, double now)
{
    a->n_allowed1 = 0;
    if (la_grow((void **)&a->fstate, &a->fstate_cap, a->n_fw_slots + 1, 1))
        return la_seterr(a, LOCUS_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < a->n_fw_slots; i++) {
        la_fw *f = &a->fws[i];
        a->fstate[i] = 0;
        if (!f->live)
            continue;
        f->allowed = 2;
        f->budget = f->local_tasks;
        if (f->n_listed)
            a->fstate[i] = 3;
        if (!f->n_listed || !f->n_loc || !f->demand_bytes)
            continue;
        /* A wait needs consecutive locality cycles: after a drf fallback, a
         * suppression or a deactivation the framework starts waiting afresh. */
        if (f->wait_since < 0 || f->wait_cycle + 1 != a->st.cycles)
            f->wait_since = now;
        f->wait_cycle = a->st.cycles;
        double w = now - f->wait_since;
        f->allowed = w >= a->cfg.wait_node + a->cfg.wait_rack ? 2 : w >= a->cfg.wait_node ? 1 : 0;
        a->fstate[i] = (uint8_t)(1 + f->allowed);
        a->n_allowed1 += f->allowed == 1;
    }
    /* Rack-allowed frameworks by the racks holding their data, so an agent
     * looks only at those of its own rack. */
    if (a->n_allowed1) {
        uint32_t nr = a->n_racks, total = 0;
        if (la_grow((void **)&a->r1_off, &a->r1_off_cap, nr + 2, sizeof *a->r1_off))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        memset(a->r1_off, 0, sizeof *a->r1_off * (nr + 2));
        for (uint32_t i = 0; i < a->n_fw_slots; i++) {
            const la_fw *f = &a->fws[i];
            if (f->live && f->allowed == 1)
                for (uint32_t j = 0; j < f->n_racks; j++, total++)
                    a->r1_off[f->racks[j].rack + 2]++;
        }
        if (la_grow((void **)&a->r1_fw, &a->r1_fw_cap, total + 1, sizeof *a->r1_fw))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        for (uint32_t r = 0; r < nr; r++)
            a->r1_off[r + 2] += a->r1_off[r + 1];
        for (uint32_t i = 0; i < a->n_fw_slots; i++) {
            const la_fw *f = &a->fws[i];
            if (f->live && f->allowed == 1)
                for (uint32_t j = 0; j < f->n_racks; j++)
                    a->r1_fw[a->r1_off[f->racks[j].rack + 1]++] = i;
        }
        /* r1_off[r] .. r1_off[r + 1] now spans rack r */
    }
    for (uint32_t r = 0; r < a->n_roles; r++) {
        la_role *ro = &a->roles[r];
        if (la_grow((void **)&ro->ulist, &ro->ucap, ro->n + 1, sizeof *ro->ulist))
            return la_seterr(a, LOCUS_ENOMEM, "out of memory");
        ro->un = 0;
        for (uint32_t i = 0; i < ro->n; i++)
            if (a->fws[a->clients[ro->list[i]].fw].allowed == 2)
                ro->ulist[ro->un++] = ro->list[i];
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
        *best = cs;
    }
}

/* Locality: the best-scoring node-local framework within the slack of the
 * lowest share; else the DRF-first framework this agent is allowed for. */
static int loc_pick(locus_allocator *a, uint32_t gs, uint32_t now_t, double now, la_pick *out)
{
    const la_agent *g = &a->agents[gs];
    double slack = a->cfg.fairness_slack + 1e-12;
    double base_role = -1;
    for (uint32_t ri = 0; ri < a->n_roles && base_role < 0; ri++)
        if (a->roles[a->role_order[ri]].n)
            base_role = a->roles[a->role_order[ri]].share;
    int found = 0;
    la_pick best = {0};
    uint32_t best_cs = NONE;
    int have_idx = a->idx_off && gs < a->idx_off_cap;
    int use_slack = a->cfg.fairness_slack > 0; /* 0: strict DRF order, nobody jumps the queue */
    uint32_t walk_ui = NONE, best_ent = NONE;
    if (have_idx && use_slack) {
        for (uint32_t i = a->idx_off[gs]; i < a->idx_off[gs + 1]; i++) {
            /* The entry alone (score, copy of the filter) first: only a
             * possible winner costs the framework and client lookups. */
            double sc0 = a->idx_ent[i].score;
            if (sc0 < 0 || (found && sc0 < best.score) || a->idx_ent[i].fexp > now_t)
                continue;
            uint32_t fw = a->idx_ent[i].fw;
            if (!a->fstate[fw])
                continue;
            const la_fw *f = &a->fws[fw];
            if (f->has_task_res && !(f->budget > 0))
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
                int better = !found || sc > best.score ||
                             (sc == best.score && la_drf_before(a, cs, best_cs));
                if (better) {
                    best.score = sc;
                    best_ent = i;
                    best_cs = cs;
                    found = 1;
                }
            }
        }
    }
    if (found) {
        annotate_e(a, gs, a->clients[best_cs].fw, &a->idx_ent[best_ent], &best);
        best.waited = 0;
    } else if (la_scan_wanted(a, g)) {
        best_cs = la_scan_pick(a, gs, 1);
        if (best_cs == NONE)
            return 0;
        annotate(a, gs, a->clients[best_cs].fw, &best);
        const la_fw *f = &a->fws[a->clients[best_cs].fw];
        best.waited = f->wait_since >= 0 && best.level > 0 ? now - f->wait_since : 0;
    } else if (!found) {
        /* DRF order among the frameworks not held back... */
        for (uint32_t ri = 0; ri < a->n_roles && best_cs == NONE; ri++) {
            const la_role *ro = &a->roles[a->role_order[ri]];
            for (uint32_t ui = 0; ui < ro->un; ui++)
                if (!la_filtered(g, a->clients[ro->ulist[ui]].fw, now_t) &&
                    (!a->n_sliced || a->fstate[a->clients[ro->ulist[ui]].fw])) {
                    best_cs = ro->ulist[ui];
                    walk_ui = ui;
                    break;
                }
        }
        /* ...and the held-back ones this agent is local (or rack-local) for. */
        if (have_idx)
            for (uint32_t i = a->idx_off[gs]; i < a->idx_off[gs + 1]; i++) {
                uint32_t fw = a->idx_ent[i].fw;
                if ((a->fstate[fw] == 1 || a->fstate[fw] == 2) /* listed, held back */
                    && a->idx_ent[i].fexp <= now_t)
                    consider_fw(a, NULL, fw, now_t, &best_cs);
            }
        if (a->n_allowed1 && g->rack != NONE && g->rack < a->n_racks)
            for (uint32_t i = a->r1_off[g->rack]; i < a->r1_off[g->rack + 1]; i++) {
                uint32_t fw = a->r1_fw[i];
                if (a->fstate[fw])
                    consider_fw(a, g, fw, now_t, &best_cs);
            }
        if (best_cs == NONE)
            return 0;
        annotate(a, gs, a->clients[best_cs].fw, &best);
        const la_fw *f = &a->fws[a->clients[best_cs].fw];
        best.waited = f->wait_since >= 0 && best.level > 0 ? now - f->wait_since : 0;
    }
    const la_client *c = &a->clients[best_cs];
    best.ri = la_role_order_find(a, c->role);
    best.li = NONE;
    best.cs = best_cs;
    best.ui = walk_ui != NONE && a->roles[c->role].ulist[walk_ui] == best_cs ? walk_ui : NONE;
    *out = best;
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
    a->n_sliced = 0;
    for (;;) {
        la_pick p;
        memset(&p, 0, sizeof p);
        if (!loc_pick(a, gs, now_t, now, &p))
            break;
        uint32_t fw = a->clients[p.cs].fw;
        la_fw *f = &a->fws[fw];
        double slice[LA_MAX_RES];
        uint32_t nt = slice_of(a, f, &p, avail, slice);
        if ((rc = la_make_offer(a, gs, nt ? slice : avail, &p, 1, a->hints_valid, now, nt)))
            break;
        if (!nt)
            break;
        f->budget -= nt;
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
        if (a->fws[fw].budget > 0 || a->fws[fw].allowed == 2)
            a->fstate[fw] = (uint8_t)a->sliced[2 * i + 1];
    }
    a->n_sliced = 0;
    return rc;
}
