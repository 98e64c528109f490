/* The frameworks of locus-sim: one per job, behaving like Spark's and
 * Hadoop's task schedulers on Mesos.
 *
 * At arrival a job resolves its inputs into blocks (storage.c), makes one map
 * task per block and indexes its pending tasks by preferred agent (HDD
 * replicas and memory copies at that moment, as Spark's preferred locations)
 * and by rack, in sorted arrays searched by binary search; launched tasks are
 * skipped lazily. On an offer it launches pending tasks while they fit,
 * node-local first, then rack-local, then any. A naive framework takes the
 * best task at any level. A delay framework follows Spark's TaskSetManager:
 * the allowed level widens from node to rack to any after
 * spark.locality.wait without a launch at the current level, and a launch
 * brings it back to the launched task's level. Unused resources go back with
 * a refuse filter. Reduce tasks (no preference) follow when every map is done.
 * A framework with nothing pending suppresses offers and revives when its
 * reduce phase starts; it tells the allocator what it will read (set_demand)
 * and, at registration, what one task uses (set_task_resources), so the
 * locality policy can offer it a slice sized to its local tasks.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"
#include "world.h"

#define MB 1048576.0

/* Drops the job's locality index (build_prefs makes it). */
static void prefs_free(sim_job_rt *j)
{
    free(j->node_prefs);
    free(j->rack_prefs);
    free(j->rack_cursor);
    j->node_prefs = j->rack_prefs = NULL;
    j->rack_cursor = NULL;
}

void sim_fw_free_job(sim_job_rt *j)
{
    free(j->tasks);
    free(j->datasets);
    j->datasets = NULL;
    j->tasks = NULL;
    prefs_free(j);
}

static int pref_cmp(const void *x, const void *y)
{
    const sim_pref *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->task > b->task) - (a->task < b->task);
}

/* First index with key >= k. */
static uint32_t pref_lower(const sim_pref *v, uint32_t n, uint32_t k)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v[mid].key < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The job's locality index over its pending map tasks (at arrival: all of
 * them), and pending_pref, their count. */
static int build_prefs(sim_world *w, sim_job_rt *j)
{
    const sim_storage *st = &w->st;
    size_t nn = 0;
    j->n_node_prefs = j->n_rack_prefs = j->pending_pref = 0;
    for (uint32_t t = 0; t < j->n_maps; t++) {
        uint32_t b = j->tasks[t].block;
        if (b == SIM_NONE || j->tasks[t].state != SIM_TASK_PENDING)
            continue;
        nn += st->replicas;
        for (uint32_t e = st->blocks[b].mem_head; e != SIM_NONE; e = st->entries[e].next_in_block)
            nn++;
    }
    if (nn == 0)
        return 0;
    j->node_prefs = malloc(nn * sizeof *j->node_prefs);
    j->rack_prefs = malloc(nn * sizeof *j->rack_prefs);
    j->rack_cursor = calloc(w->cl.n_racks, sizeof *j->rack_cursor);
    if (!j->node_prefs || !j->rack_prefs || !j->rack_cursor)
        return LOCUS_ENOMEM;
    for (uint32_t t = 0; t < j->n_maps; t++) {
        uint32_t b = j->tasks[t].block;
        if (b == SIM_NONE || j->tasks[t].state != SIM_TASK_PENDING)
            continue;
        uint32_t first_n = j->n_node_prefs, first_r = j->n_rack_prefs;
        const uint32_t *h = sim_storage_hdd(st, b);
        for (uint32_t i = 0; i < st->replicas; i++)
            j->node_prefs[j->n_node_prefs++] = (sim_pref){ h[i], t };
        for (uint32_t e = st->blocks[b].mem_head; e != SIM_NONE; e = st->entries[e].next_in_block) {
            uint32_t a = st->entries[e].agent;
            int dup = 0;
            for (uint32_t k = first_n; k < j->n_node_prefs; k++)
                dup |= j->node_prefs[k].key == a;
            if (!dup)
                j->node_prefs[j->n_node_prefs++] = (sim_pref){ a, t };
        }
        for (uint32_t k = first_n; k < j->n_node_prefs; k++) {
            uint32_t r = w->cl.agents[j->node_prefs[k].key].rack_idx;
            int dup = 0;
            for (uint32_t m = first_r; m < j->n_rack_prefs; m++)
                dup |= j->rack_prefs[m].key == r;
            if (!dup)
                j->rack_prefs[j->n_rack_prefs++] = (sim_pref){ r, t };
        }
        j->pending_pref++;
    }
    qsort(j->node_prefs, j->n_node_prefs, sizeof *j->node_prefs, pref_cmp);
    qsort(j->rack_prefs, j->n_rack_prefs, sizeof *j->rack_prefs, pref_cmp);
    for (uint32_t r = 0; r < w->cl.n_racks; r++)
        j->rack_cursor[r] = pref_lower(j->rack_prefs, j->n_rack_prefs, r);
    return 0;
}

/* Dataset ds was just rewritten (new blocks, the old ones dropped): the
 * pending map tasks of the jobs already reading it read their bytes from the
 * new blocks now, as a reader of a table rewritten in full does. Their
 * locality index and their demand follow, so every policy sees the blocks
 * the tasks will read (a framework keeping the old locations would launch
 * where the data no longer is). */
static int repoint_readers(sim_world *w, uint32_t ds)
{
    for (size_t i = 0; i < w->n_active; i++) {
        sim_job_rt *j = &w->jobs[w->active[i]];
        int moved = 0;
        for (uint32_t t = 0; t < j->n_maps; t++) {
            sim_task *tk = &j->tasks[t];
            if (tk->state != SIM_TASK_PENDING || tk->block == SIM_NONE)
                continue;
            const sim_block *old = &w->st.blocks[tk->block];
            if (!old->dead || old->dataset != ds)
                continue;
            uint32_t nb = sim_storage_block_at(&w->st, ds, old->offset);
            if (nb == SIM_NONE)
                continue;
            tk->block = nb;
            moved = 1;
        }
        if (!moved)
            continue;
        prefs_free(j);
        int rc = build_prefs(w, j);
        if (rc)
            return rc;
        j->demand_dirty = 1;
    }
    return 0;
}

static void undemand(sim_world *w, sim_job_rt *j)
{
    if (!j->demanding)
        return;
    for (uint32_t k = 0; k < j->n_datasets; k++)
        sim_storage_demand(&w->st, j->datasets[k], -1, w->eng.now);
    j->demanding = 0;
}

static void add_active(sim_world *w, uint32_t job)
{
    w->jobs[job].active_pos = (uint32_t)w->n_active;
    w->active[w->n_active++] = job;
}

static void remove_active(sim_world *w, uint32_t job)
{
    uint32_t pos = w->jobs[job].active_pos;
    uint32_t last = w->active[--w->n_active];
    w->active[pos] = last;
    w->jobs[last].active_pos = pos;
}

static int api_fail(sim_world *w, const char *what, int rc)
{
    snprintf(w->err, sizeof w->err, "%s: %s: %s (%s)", w->name, what, locus_strerror(rc),
             w->api->last_error ? w->api->last_error(w->alloc) : "");
    return rc;
}

/* A task's start-up and compute (its read comes first). */
static double task_work_s(const sim_world *w, const sim_job *tj, const sim_task *tk)
{
    const sim_config *c = w->cfg;
    double mb = (double)tk->bytes / MB;
    if (!tk->reduce)
        return c->task_overhead_s + (tj->map_compute_s >= 0 ? tj->map_compute_s : mb * c->map_s_per_mb);
    return c->task_overhead_s + (tj->reduce_compute_s >= 0 ? tj->reduce_compute_s : mb * c->reduce_s_per_mb);
}

/* The job's completion time alone on the empty cluster: each phase lasts
 * its longest task or its total work spread over every slot, whichever is
 * longer; maps read at one disk stream, reduces at one NIC. The reference
 * of the slowdown figure (docs/report.md). */
static double ideal_alone(const sim_world *w, const sim_job_rt *j, const sim_job *tj)
{
    double per_agent = floor(w->cl.cpus / w->cfg->task_cpus + 1e-9);
    double slots = per_agent * w->cl.n_agents;
    if (slots < 1)
        slots = 1;
    double phase[2] = { 0, 0 }, longest[2] = { 0, 0 };
    for (uint32_t t = 0; t < j->n_tasks; t++) {
        const sim_task *tk = &j->tasks[t];
        double rate = tk->reduce ? w->net.nic_Bps : w->net.hdd_stream_Bps;
        double d = task_work_s(w, tj, tk) + (tk->bytes ? (double)tk->bytes / rate : 0);
        phase[tk->reduce] += d;
        if (d > longest[tk->reduce])
            longest[tk->reduce] = d;
    }
    return fmax(longest[0], phase[0] / slots) + fmax(longest[1], phase[1] / slots);
}

int sim_fw_arrive(sim_world *w, uint32_t job)
{
    const sim_job *tj = &w->trace->jobs[job];
    sim_job_rt *j = &w->jobs[job];
    const sim_config *c = w->cfg;
    int rc;
    size_t n_reads = 0;
    if (tj->n_inputs && !(j->datasets = calloc(tj->n_inputs, sizeof *j->datasets)))
        return LOCUS_ENOMEM;
    for (size_t i = 0; i < tj->n_inputs; i++) {
        const sim_dataset_ref *in = &tj->inputs[i];
        uint64_t bb = in->block_bytes ? in->block_bytes : w->trace->default_block_bytes;
        uint64_t rewrites = w->st.rewrites;
        if ((rc = sim_storage_resolve(&w->st, in->name, in->bytes, bb, &w->reads, &n_reads,
                                      &w->cap_reads, &j->datasets[j->n_datasets++])))
            return rc;
        if (w->st.rewrites != rewrites && (rc = repoint_readers(w, j->datasets[j->n_datasets - 1])))
            return rc;
        j->input_bytes += in->bytes;
    }
    uint32_t n_maps = (uint32_t)n_reads;
    if (n_maps == 0)
        n_maps = tj->map_tasks ? tj->map_tasks : 1; /* a job without input still runs */
    uint64_t rb = (uint64_t)c->reduce_bytes;
    uint64_t nr = tj->reduce_tasks ? tj->reduce_tasks : (tj->shuffle_bytes + rb - 1) / rb;
    if (nr > (uint64_t)c->max_reduce_tasks)
        nr = (uint64_t)c->max_reduce_tasks;
    j->n_maps = n_maps;
    j->n_reduces = (uint32_t)nr;
    j->n_tasks = n_maps + j->n_reduces;
    j->tasks = calloc(j->n_tasks, sizeof *j->tasks);
    if (!j->tasks)
        return LOCUS_ENOMEM;
    for (uint32_t t = 0; t < n_maps; t++) {
        sim_task *tk = &j->tasks[t];
        tk->block = t < n_reads ? w->reads[t].block : SIM_NONE;
        tk->bytes = t < n_reads ? w->reads[t].bytes : 0;
        j->pending_bytes += tk->bytes;
    }
    for (uint32_t t = n_maps; t < j->n_tasks; t++) {
        sim_task *tk = &j->tasks[t];
        tk->block = SIM_NONE;
        tk->reduce = 1;
        tk->bytes = tj->shuffle_bytes / nr + (t - n_maps < tj->shuffle_bytes % nr ? 1 : 0);
    }
    if ((rc = build_prefs(w, j)))
        return rc;
    j->first_launch = j->reduce_ready = j->first_reduce = -1;
    j->ideal_s = ideal_alone(w, j, tj);
    for (uint32_t k = 0; k < j->n_datasets; k++)
        if ((rc = sim_storage_demand(&w->st, j->datasets[k], 1, w->eng.now)))
            return rc;
    j->demanding = 1;
    j->state = 1;
    j->pending = n_maps;
    j->submit = w->eng.now;
    j->last_reset = w->eng.now;
    j->demand_dirty = 1;
    add_active(w, job);
    snprintf(j->fwid, sizeof j->fwid, "%u-%.28s", job, tj->id);
    const char *role = tj->role && tj->role[0] ? tj->role : "*";
    locus_framework_info fi = { .id = j->fwid, .roles = &role, .n_roles = 1, .active = 1 };
    if ((rc = w->api->add_framework(w->alloc, &fi, NULL, 0, w->eng.now)))
        return api_fail(w, "add_framework", rc);
    /* What one task uses, so a locality policy can size offers to local
     * work (ABI 1.1; an older plugin's table ends before the callback). */
    if (w->api->struct_size >= offsetof(locus_allocator_api, set_task_resources) + sizeof(void *) &&
        w->api->set_task_resources) {
        const locus_scalar per[2] = { { "cpus", c->task_cpus }, { "mem", (double)c->task_mem_mb } };
        const locus_resources r = { per, 2 };
        if ((rc = w->api->set_task_resources(w->alloc, j->fwid, &r)))
            return api_fail(w, "set_task_resources", rc);
    }
    w->res->jobs_total++;
    w->res->tasks_total += j->n_tasks;
    return 0;
}

/* ---- choosing a task for an offer ------------------------------------- */

static int is_pending(const sim_job_rt *j, uint32_t t)
{
    return j->tasks[t].state == SIM_TASK_PENDING;
}

static uint32_t pick_node(sim_job_rt *j, uint32_t agent)
{
    uint32_t i = pref_lower(j->node_prefs, j->n_node_prefs, agent);
    for (; i < j->n_node_prefs && j->node_prefs[i].key == agent; i++)
        if (is_pending(j, j->node_prefs[i].task))
            return j->node_prefs[i].task;
    return SIM_NONE;
}

static uint32_t pick_rack(sim_job_rt *j, uint32_t rack)
{
    uint32_t i = j->rack_cursor[rack];
    while (i < j->n_rack_prefs && j->rack_prefs[i].key == rack && !is_pending(j, j->rack_prefs[i].task))
        i++;
    j->rack_cursor[rack] = i;
    if (i < j->n_rack_prefs && j->rack_prefs[i].key == rack)
        return j->rack_prefs[i].task;
    return SIM_NONE;
}

static uint32_t phase_end(const sim_job_rt *j)
{
    return j->phase ? j->n_tasks : j->n_maps;
}

static uint32_t pick_any(sim_job_rt *j)
{
    uint32_t end = phase_end(j);
    while (j->any_cursor < end && !is_pending(j, j->any_cursor))
        j->any_cursor++;
    return j->any_cursor < end ? j->any_cursor : SIM_NONE;
}

/* The first pending task without a preferred location (a map without input
 * or a reduce): Spark runs these at any level. */
static uint32_t pick_nopref(sim_job_rt *j)
{
    if (j->phase == 1)
        return pick_any(j);
    if (j->pending_pref == j->pending)
        return SIM_NONE;
    for (uint32_t t = j->any_cursor; t < j->n_maps; t++)
        if (is_pending(j, t) && j->tasks[t].block == SIM_NONE)
            return t;
    return SIM_NONE;
}

/* Best pending task for agent at a level no wider than max_level; *level
 * gets the level relative to its preferred locations. */
static uint32_t pick(sim_world *w, sim_job_rt *j, uint32_t agent, int max_level, int *level)
{
    uint32_t t;
    if (j->phase == 0 && j->pending_pref > 0) {
        if ((t = pick_node(j, agent)) != SIM_NONE) {
            *level = SIM_LOCAL_NODE;
            return t;
        }
    }
    if ((t = pick_nopref(j)) != SIM_NONE) {
        *level = SIM_LOCAL_NODE; /* no preference: never a locality miss */
        return t;
    }
    if (j->phase == 0 && j->pending_pref > 0 && max_level >= SIM_LOCAL_RACK && w->cl.n_racks > 1) {
        if ((t = pick_rack(j, w->cl.agents[agent].rack_idx)) != SIM_NONE) {
            *level = SIM_LOCAL_RACK;
            return t;
        }
    }
    if (max_level >= SIM_LOCAL_REMOTE && (t = pick_any(j)) != SIM_NONE) {
        *level = SIM_LOCAL_REMOTE;
        return t;
    }
    return SIM_NONE;
}

/* Spark's TaskSetManager.getAllowedLocalityLevel over levels node, rack
 * (with more than one rack), any. */
static int allowed_level(sim_world *w, sim_job_rt *j)
{
    double now = w->eng.now, wait = w->cfg->locality_wait_s;
    if (j->phase == 1 || j->pending_pref == 0)
        return SIM_LOCAL_REMOTE;
    for (;;) {
        int lvl = j->loc_index;
        if (lvl == SIM_LOCAL_RACK && w->cl.n_racks < 2) {
            j->loc_index = SIM_LOCAL_REMOTE;
            continue;
        }
        if (lvl >= SIM_LOCAL_REMOTE)
            return SIM_LOCAL_REMOTE;
        if (now - j->last_reset >= wait) {
            j->last_reset += wait;
            j->loc_index++;
        } else {
            return lvl;
        }
    }
}

static int launch(sim_world *w, uint32_t job, uint32_t t, uint32_t agent)
{
    sim_job_rt *j = &w->jobs[job];
    sim_task *tk = &j->tasks[t];
    const sim_config *c = w->cfg;
    const sim_job *tj = &w->trace->jobs[job];
    sim_policy_result *res = w->res;
    double now = w->eng.now;
    double dur = c->task_overhead_s;
    if (tk->state != SIM_TASK_PENDING) {
        snprintf(w->err, sizeof w->err, "%s: task %u of job %u launched twice", w->name, t, job);
        return LOCUS_ESTATE;
    }
    tk->state = SIM_TASK_RUNNING;
    tk->agent = agent;
    tk->start = now;
    if (j->first_launch < 0)
        j->first_launch = now;
    if (tk->reduce && j->first_reduce < 0)
        j->first_reduce = now;
    tk->flow = (sim_flow){ .src = agent, .dst = agent, .kind = SIM_SRC_NONE };
    double mb = (double)tk->bytes / MB;
    if (!tk->reduce) {
        if (tk->block != SIM_NONE) {
            if (w->st.blocks[tk->block].mem_head != SIM_NONE)
                res->mem_copy_tasks++; /* before the read caches one */
            int level = sim_storage_source(&w->st, &w->net, tk->block, agent, &tk->flow);
            tk->level = (uint8_t)level;
            res->tasks[level]++;
            res->read_bytes[level] += tk->bytes;
            if (tk->flow.kind == SIM_SRC_MEM) {
                res->mem_read_bytes += tk->bytes;
                if (level == SIM_LOCAL_NODE)
                    res->mem_node_bytes += tk->bytes;
            }
            int bin = sim_size_bin(j->n_maps);
            res->bin_tasks[bin]++;
            if (level == SIM_LOCAL_NODE)
                res->bin_node_tasks[bin]++;
            if (level == SIM_LOCAL_NODE && tk->flow.kind == SIM_SRC_MEM) {
                res->mem_hit_tasks++;
                sim_storage_touch(&w->st, tk->block, agent);
            }
            if (--j->pending_pref == 0)
                undemand(w, j);
            j->pending_bytes -= tk->bytes;
            j->demand_dirty = 1;
        }
        dur += tj->map_compute_s >= 0 ? tj->map_compute_s : mb * c->map_s_per_mb;
    } else {
        if (tk->bytes > 0)
            tk->flow.kind = SIM_SRC_SHUFFLE;
        dur += tj->reduce_compute_s >= 0 ? tj->reduce_compute_s : mb * c->reduce_s_per_mb;
    }
    tk->rest = dur;
    int reads = tk->flow.kind != SIM_SRC_NONE && tk->bytes > 0;
    if (reads) {
        uint64_t net = 0, up = 0;
        if (tk->flow.kind == SIM_SRC_SHUFFLE) {
            /* Map outputs are spread over the cluster: the share held by
             * other agents crosses the NIC, the share in other racks the
             * uplinks. */
            net = (uint64_t)((double)tk->bytes * (1.0 - 1.0 / w->cl.n_agents));
            up = (uint64_t)((double)tk->bytes * (1.0 - (double)w->cl.rack_size[w->cl.agents[agent].rack_idx] / w->cl.n_agents));
        } else {
            net = sim_flow_crosses_nic(&w->net, &tk->flow) ? tk->bytes : 0;
            up = sim_flow_crosses_uplink(&w->net, &tk->flow) ? tk->bytes : 0;
        }
        res->network_bytes += net;
        res->uplink_bytes += up;
        /* The read is a flow whose rate the network model sets (max-min
         * fair); the task's start-up and compute follow when it is done. */
        int rc = sim_network_add(&w->net, &tk->flow, (double)tk->bytes, now, job, t, &tk->flow_id);
        if (rc)
            return rc;
    }
    j->pending--;
    j->running++;
    w->launched++;
    j->cpus += c->task_cpus;
    j->mem += (double)c->task_mem_mb;
    w->cl.use[agent].cpus += c->task_cpus;
    w->cl.use[agent].mem += (double)c->task_mem_mb;
    w->cl.busy_cpus += c->task_cpus;
    if (reads)
        return 0; /* finishes after its read: sim_fw_read_done */
    return sim_engine_push(&w->eng, now + dur, SIM_EV_FINISH, job, t);
}

int sim_fw_launch(sim_world *w, uint32_t job, uint32_t task, uint32_t agent)
{
    return launch(w, job, task, agent);
}

int sim_fw_read_done(sim_world *w, uint32_t job, uint32_t t)
{
    sim_task *tk = &w->jobs[job].tasks[t];
    int rc = sim_network_remove(&w->net, tk->flow_id, w->eng.now);
    if (rc)
        return rc;
    return sim_engine_push(&w->eng, w->eng.now + tk->rest, SIM_EV_FINISH, job, t);
}

static int give_back(sim_world *w, const char *fwid, const char *agent_id, double cpus, double mem,
                     double refuse)
{
    if (cpus <= 1e-9 && mem <= 1e-9)
        return 0;
    locus_scalar items[2] = { { "cpus", cpus }, { "mem", mem } };
    locus_resources r = { items, 2 };
    int rc = w->api->recover(w->alloc, fwid, agent_id, &r, refuse, w->eng.now);
    return rc ? api_fail(w, "recover", rc) : 0;
}

/* Finds a job by its framework id "<index>-<job id>". */
static int64_t job_of(const sim_world *w, const char *fwid)
{
    char *end;
    unsigned long v = strtoul(fwid, &end, 10);
    if (end == fwid || *end != '-' || v >= w->n_jobs || strcmp(w->jobs[v].fwid, fwid) != 0)
        return -1;
    return (int64_t)v;
}

int sim_fw_offer(sim_world *w, const sim_offer_copy *o)
{
    int64_t ji = job_of(w, o->fw);
    int64_t ai = sim_cluster_agent_index(&w->cl, o->agent);
    if (ji < 0 || ai < 0) {
        snprintf(w->err, sizeof w->err, "%s: offer names unknown framework '%s' or agent '%s'",
                 w->name, o->fw, o->agent);
        return LOCUS_EINVAL;
    }
    sim_job_rt *j = &w->jobs[ji];
    const sim_config *c = w->cfg;
    double cpus = o->cpus, mem = o->mem;
    w->res->offers++;
    if (j->state != 1) {
        snprintf(w->err, sizeof w->err, "%s: offer to finished framework '%s'", w->name, o->fw);
        return LOCUS_ESTATE;
    }
    const sim_agent_use *ag = &w->cl.use[ai];
    if (ag->cpus + cpus > w->cl.cpus + 1e-6 || ag->mem + mem > w->cl.mem_mb + 1e-6) {
        snprintf(w->err, sizeof w->err, "%s: offer of agent %s exceeds its free resources",
                 w->name, o->agent);
        return LOCUS_ESTATE;
    }
    int max_level = w->mode == SIM_FW_DELAY ? allowed_level(w, j) : SIM_LOCAL_REMOTE;
    int rc;
    while (j->pending > 0 && cpus + 1e-9 >= c->task_cpus && mem + 1e-9 >= (double)c->task_mem_mb) {
        int level;
        uint32_t t = pick(w, j, (uint32_t)ai, max_level, &level);
        if (t == SIM_NONE)
            break;
        if ((rc = launch(w, (uint32_t)ji, t, (uint32_t)ai)))
            return rc;
        cpus -= c->task_cpus;
        mem -= (double)c->task_mem_mb;
        if (w->mode == SIM_FW_DELAY && j->phase == 0) {
            j->loc_index = level;
            j->last_reset = w->eng.now;
        }
    }
    return give_back(w, j->fwid, o->agent, cpus, mem, c->refuse_s);
}

static int demand_push(sim_world *w, sim_job_rt *j, uint32_t job)
{
    const sim_job *tj = &w->trace->jobs[job];
    size_t n = 0;
    int rc;
    if (j->phase == 0 && j->pending_pref > 0) {
        if (w->cfg->demand == SIM_DEMAND_BLOCKS) {
            for (uint32_t t = 0; t < j->n_maps; t++) {
                const sim_task *tk = &j->tasks[t];
                if (tk->state != SIM_TASK_PENDING || tk->block == SIM_NONE)
                    continue;
                if (sim_grow((void **)&w->demand, &w->cap_demand, n + 1, sizeof *w->demand))
                    return LOCUS_ENOMEM;
                w->demand[n++] = (locus_demand_item){
                    .dataset = sim_storage_dataset_of(&w->st, tk->block)->name,
                    .block = w->st.blocks[tk->block].index, .bytes = tk->bytes };
            }
        } else {
            /* One item per input dataset; the pending bytes are split in
             * proportion to each input's size. */
            for (size_t i = 0; i < tj->n_inputs; i++) {
                if (!tj->inputs[i].bytes)
                    continue;
                if (sim_grow((void **)&w->demand, &w->cap_demand, n + 1, sizeof *w->demand))
                    return LOCUS_ENOMEM;
                double share = j->input_bytes ? (double)tj->inputs[i].bytes / (double)j->input_bytes : 0;
                uint64_t b = (uint64_t)((double)j->pending_bytes * share);
                w->demand[n++] = (locus_demand_item){ .dataset = tj->inputs[i].name, .block = -1,
                                                      .bytes = b ? b : 1 };
            }
        }
    }
    if ((rc = w->api->set_demand(w->alloc, j->fwid, w->demand, n)))
        return api_fail(w, "set_demand", rc);
    j->demand_dirty = 0;
    return 0;
}

int sim_fw_confirm_demand(sim_world *w)
{
    for (size_t i = 0; i < w->n_active; i++) {
        const sim_job_rt *j = &w->jobs[w->active[i]];
        if (j->phase != 0 || j->pending_pref == 0)
            continue;
        for (uint32_t k = 0; k < j->n_datasets; k++) {
            int rc = sim_storage_confirm(&w->st, j->datasets[k], w->eng.now, w->cfg->confirm_s);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int sim_fw_before_cycle(sim_world *w)
{
    for (size_t i = 0; i < w->n_active; i++) {
        uint32_t job = w->active[i];
        sim_job_rt *j = &w->jobs[job];
        int rc;
        if (j->demand_dirty && w->api->set_demand && (rc = demand_push(w, j, job)))
            return rc;
        if (j->suppressed && j->pending > 0 && w->api->revive) {
            if ((rc = w->api->revive(w->alloc, j->fwid, NULL)))
                return api_fail(w, "revive", rc);
            j->suppressed = 0;
        }
    }
    return 0;
}

int sim_fw_after_cycle(sim_world *w)
{
    for (size_t i = 0; i < w->n_active; i++) {
        sim_job_rt *j = &w->jobs[w->active[i]];
        if (!j->suppressed && j->pending == 0 && w->api->suppress) {
            int rc = w->api->suppress(w->alloc, j->fwid, NULL);
            if (rc)
                return api_fail(w, "suppress", rc);
            j->suppressed = 1;
        }
    }
    return 0;
}

static int job_done(sim_world *w, uint32_t job)
{
    sim_job_rt *j = &w->jobs[job];
    j->state = 2;
    j->finish = w->eng.now;
    w->jobs_done++;
    w->res->jobs_done++;
    if (j->finish > w->last_finish)
        w->last_finish = j->finish;
    remove_active(w, job);
    undemand(w, j);
    int rc = w->api->remove_framework ? w->api->remove_framework(w->alloc, j->fwid) : 0;
    sim_fw_free_job(j);
    return rc ? api_fail(w, "remove_framework", rc) : 0;
}

int sim_fw_finish(sim_world *w, uint32_t job, uint32_t t)
{
    sim_job_rt *j = &w->jobs[job];
    sim_task *tk = &j->tasks[t];
    const sim_config *c = w->cfg;
    double now = w->eng.now;
    int rc;
    if (tk->state != SIM_TASK_RUNNING) {
        snprintf(w->err, sizeof w->err, "%s: task %u of job %u finished but was not running", w->name, t, job);
        return LOCUS_ESTATE;
    }
    if (tk->block != SIM_NONE && c->cache_on_read && (rc = sim_storage_cache(&w->st, tk->block, tk->agent)))
        return rc;
    tk->state = SIM_TASK_DONE;
    sim_agent_use *ag = &w->cl.use[tk->agent];
    ag->cpus -= c->task_cpus;
    ag->mem -= (double)c->task_mem_mb;
    w->cl.busy_cpus -= c->task_cpus;
    j->cpus -= c->task_cpus;
    j->mem -= (double)c->task_mem_mb;
    j->running--;
    j->done++;
    double cpu_s = c->task_cpus * (now - tk->start);
    w->busy_cpu_s += cpu_s;
    double in0 = tk->start > w->first_submit ? tk->start : w->first_submit;
    double in1 = now < w->last_submit ? now : w->last_submit;
    if (in1 > in0)
        w->busy_in_window_cpu_s += c->task_cpus * (in1 - in0);
    /* Busy cpu-seconds spread over the buckets the task ran in. */
    for (double t0 = tk->start; t0 < now;) {
        double idx = floor((t0 - w->first_submit) / w->series_bucket_s);
        double end = w->first_submit + (idx + 1) * w->series_bucket_s;
        double t1 = end < now ? end : now;
        if (sim_series_add(w, &w->res->series_utilisation, t0, c->task_cpus * (t1 - t0)))
            return LOCUS_ENOMEM;
        if (t1 <= t0)
            break;
        t0 = t1;
    }
    if ((rc = give_back(w, j->fwid, w->cl.agents[tk->agent].id, c->task_cpus, (double)c->task_mem_mb, 0)))
        return rc;
    uint32_t phase_n = j->phase ? j->n_reduces : j->n_maps;
    if (j->done < phase_n)
        return 0;
    if (j->phase == 0 && j->n_reduces > 0) {
        j->reduce_ready = now;
        j->phase = 1;
        j->done = 0;
        j->pending = j->n_reduces;
        j->any_cursor = j->n_maps;
        j->loc_index = SIM_LOCAL_REMOTE;
        j->demand_dirty = 1;
        return 0;
    }
    return job_done(w, job);
}
