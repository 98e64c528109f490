/* Internal state of the allocator policy core, shared by its modules
 * (la_core.c: life cycle and helpers; la_state.c: agents, frameworks,
 * allocations, filters; la_drf.c: the DRF order; la_place.c: locality
 * placement; la_offer.c: offers and the cycle; la_hints.c: the hint store
 * reader and the locality index) and by the unit
 * tests, which link the core statically and may inject hints through
 * la_hint_provider instead of a real store. Not installed. */
#ifndef LA_CORE_H
#define LA_CORE_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "la_config.h"
#include "la_filter.h"
#include "la_map.h"
#include "locus/allocator.h"
#include "locus/hintstore.h"

#ifndef LA_MAX_RES          /* cmake -DLOCUS_MAX_RESOURCE_NAMES=N sets it */
#define LA_MAX_RES 16       /* distinct scalar resource names per instance */
#endif
#define LA_RES_CPUS 0
#define LA_RES_MEM 1
#define LA_TICKS_PER_S 100.0 /* filter expiry resolution: 10 ms */

/* ---- hint source (injectable) ------------------------------------------ */

/* What the core needs from a hint snapshot. The default provider wraps
 * locus_hs (la_hints.c); tests may install their own. Pointers returned stay
 * valid until close. Return codes as in locus/hintstore.h. */
typedef struct la_hint_provider {
    void *ctx;
    int (*open)(void *ctx, void **snap);
    void (*close)(void *ctx, void *snap);
    int (*meta)(void *ctx, void *snap, uint64_t *generation, int64_t *updated_at_ms);
    int (*dataset)(void *ctx, void *snap, const char *name, const locus_hs_dataset **out);
    int (*block)(void *ctx, void *snap, const char *dataset, uint64_t index,
                 const locus_hs_block_view **out);
    const char *(*agent_for_host)(void *ctx, void *snap, const char *storage_host);
    uint64_t (*decode_errors)(void *ctx, void *snap);
    /* Optional (NULL: every new generation recomputes every framework): what
     * changed since generation `since`, as locus_hs_snapshot_changes_since. */
    int (*changes)(void *ctx, void *snap, uint64_t since, const locus_hs_changes **out);
} la_hint_provider;

/* ---- entities ------------------------------------------------------------ */

typedef struct la_agent {
    char *id, *hostname;
    uint32_t rack;              /* rack slot or LA_MAP_NONE */
    int live, active;
    double total[LA_MAX_RES], alloc[LA_MAX_RES];
    double unattributed[LA_MAX_RES]; /* used by frameworks unknown at add time */
    uint32_t alloc_head;        /* la_alloc list of this agent */
    uint32_t live_pos;          /* index in core->live */
    la_fset filters;            /* refuse filters: framework slot -> expiry tick */
    uint32_t n_filt_off;        /* ... of frameworks that are currently offerable */
    uint32_t min_expiry;        /* earliest filter expiry tick (UINT32_MAX: none) */
    uint64_t rate_visit;        /* placement: last copy-frees scan that counted this agent */
} la_agent;

typedef struct la_demand {
    char *dataset;
    int64_t block;
    uint64_t bytes;
    uint64_t counted;           /* its bytes in la_fw.demand_bytes (set by fw_compute) */
    double expire;              /* host time its hint turns stale (INFINITY: none read) */
    uint8_t stale;              /* its hint (or one of its dataset's blocks) was stale */
    uint8_t same_dataset;       /* same dataset as the item before it (set_demand sets it once,
                                   so per-cycle walks over runs of one dataset need no strcmp) */
} la_demand;

typedef struct la_locent {      /* a framework's demanded bytes on one agent */
    uint32_t agent;
    uint64_t bytes[LOCUS_TIERS];
    double tasks;               /* pending tasks that would read locally there (estimate) */
} la_locent;

/* One pending task with cached input, as the placement engine sees it: the
 * block it reads and the agents holding a copy (one per agent, its fastest
 * tier), in la_fw.copies[copy0 .. copy0 + n_copies), fastest tier first. */
typedef struct la_unit {
    uint32_t copy0;
    uint16_t n_copies;
    uint8_t best_tier;          /* 0 memory, 1 SSD, 2 HDD */
    uint8_t pad;
    uint32_t demand;            /* index of the demand item it comes from */
    uint64_t block;             /* block index in that item's dataset */
    uint64_t bytes;
} la_unit;

typedef struct la_copy {
    uint32_t agent;
    uint32_t tier;
} la_copy;

typedef struct la_fw {
    char *id;
    int live, active;
    uint32_t *clients;          /* one client per role */
    uint32_t n_clients;
    uint32_t n_listed;          /* clients in their role's order (offerable iff > 0) */
    uint32_t n_filters;         /* agents holding a refuse filter of this framework */
    uint32_t alloc_head;
    la_demand *demand;
    size_t n_demand;
    /* locality (rebuilt when dirty) */
    int hint_dirty;
    uint64_t hint_epoch;        /* core hint_epoch its locality was computed at */
    la_locent *loc;
    uint32_t n_loc, cap_loc;
    uint64_t demand_bytes;      /* total pending bytes known from demand + hints */
    struct la_rackbytes { uint32_t rack; uint64_t bytes; } *racks; /* sorted by rack */
    uint32_t n_racks, cap_racks;
    uint64_t rack_mask[4];      /* bit rack % 256 set for each rack in racks: most offers go
                                   where a framework has no data, and the bit answers "none in
                                   this rack" without searching racks (a cache miss) */
    uint32_t *idx_ag;           /* agents where the index holds an entry of it (valid while the
                                   index is not dirty), so its entries can be replaced alone */
    uint32_t n_idx_ag, cap_idx_ag;
    uint32_t *idx_at;           /* per idx_ag[i]: where its entry was written (a hint: other
                                   frameworks' inserts and removals move it) */
    uint32_t cap_idx_at;
    la_locent *idx_loc;         /* its loc as the index last wrote it, in idx_ag's order: an */
    uint32_t cap_idx_loc;       /* update writes only the entries whose inputs changed since */
    int idx_loc_in_loc;         /* what the index last wrote is still loc itself (not
                                   rebuilt since): idx_loc is then stale, see loc_written */
    int idx_queued;             /* in the core's idx_queue: its entries are out of date */
    double loc_expire_at;       /* host time at which one of its hints turns stale */
    double wait_since;          /* delay scheduling: waiting since (host s), <0 not waiting */
    double waited_from;         /* ... when it really began: wait_since moves forward past a
                                   wait that cannot pay; offer reasons tell this one */
    uint64_t wait_cycle;        /* last cycle it was waiting in (waits need consecutive cycles) */
    uint8_t allowed;            /* per cycle: farthest level it may take (0 node, 1 rack, 2 any) */
    int has_task_res;           /* set_task_resources gave a non-empty set */
    double local_tasks;         /* pending tasks whose input is cached on some agent (estimate,
                                   each task once however many replicas it has) */
    double budget;              /* per cycle: local_tasks not yet covered by slices */
    double task_res[LA_MAX_RES]; /* resources of one task (offer slicing) */
    /* placement engine (rebuilt with the locality part above) */
    la_unit *units;             /* pending cached tasks, best tier first */
    uint32_t n_units, cap_units;
    la_copy *copies;
    uint32_t n_copies, cap_copies;
    double uncached_tasks;      /* pending tasks with no known copy (estimate) */
    double uncached_left;       /* of them, not offered yet this cycle */
    la_u64map offered_blocks;   /* dataset demand: blocks already given a planned slice
                                   (la_block_key), taken as launched; kept while the demanded
                                   datasets stay the same */
    double unit_limit;          /* pending tasks the units stand for (dataset demand names
                                   every block of the dataset; its pending bytes say how many) */
    uint32_t n_read;            /* block demand: items [0, n_read) read from the store; the rest
                                   are read over the next cycles (la_hints.c, first reads) */
    /* per cycle */
    uint32_t next_unit;         /* placement: next unit to try */
    uint32_t tries;             /* placement: units tried this cycle */
    uint32_t scan_from;         /* placement: where the next cycle's tries start (kept) */
    uint32_t scan_start;        /* placement: where this cycle's tries started */
    uint32_t planned;           /* placement: tasks planned this cycle */
    uint32_t planned_local;     /* placement: of which on a copy */
    uint32_t unplaced;          /* placement: units with no free copy this cycle */
    double plan_key;            /* placement: projected dominant share */
    double plan_step;           /* placement: what one task adds to plan_key (fixed in a cycle) */
    int waiting;                /* the last plan left some of its cached work unplaced */
} la_fw;

typedef struct la_client {      /* a framework in one role (a DRF sorter client) */
    uint32_t fw, role;
    uint64_t key8;              /* first 8 bytes of the framework id, big-endian (fast ties) */
    int live, suppressed, listed, detached;
    double alloc[LA_MAX_RES];
    double share;
    uint64_t count;             /* times chosen (Mesos's tie-break) */
    double share0;              /* share and count when the cycle sorted the lists: within a */
    uint64_t count0;            /* cycle both only grow, so a list in that order can stop early */
} la_client;

typedef struct la_role {
    char *name;
    double weight;
    double alloc[LA_MAX_RES];
    double share;               /* weighted dominant share */
    uint64_t count;
    uint32_t *list;             /* listed clients in DRF order */
    uint32_t n, cap;
    double min_share;           /* lowest client share at the start of the cycle (slack base) */
    uint32_t *ulist;            /* locality, per cycle: the listed clients not held back */
    uint32_t un, ucap;
} la_role;

/* What a role's shares are divided by: its weight, or 1 for a weight of 0
 * or less. */
static inline double la_role_weight(const la_role *ro) { return ro->weight > 0 ? ro->weight : 1; }

typedef struct la_alloc {       /* resources of one client on one agent */
    int live;
    uint32_t agent, client;
    double r[LA_MAX_RES];
    uint32_t a_prev, a_next;    /* agent's list */
    uint32_t f_prev, f_next;    /* framework's list */
} la_alloc;

/* ---- the instance -------------------------------------------------------- */

struct locus_allocator {
    la_config cfg;
    char *config_path;
    locus_cfg_override *overrides;
    char **override_buf;
    size_t n_overrides;
    struct timespec config_mtime;
    double last_reload_check;

    locus_host_services host;
    char err[512];

    char *res_names[LA_MAX_RES];
    uint32_t n_res;
    la_strmap res_map;

    la_agent *agents;
    uint32_t n_agents_slots, cap_agents;
    uint32_t *free_agents;
    uint32_t n_free_agents;
    uint32_t *live;             /* live agent slots (shuffled per cycle) */
    uint32_t n_live;
    la_strmap agent_map, host_map;

    la_fw *fws;
    uint32_t n_fw_slots, cap_fws;
    uint32_t *free_fws;
    uint32_t n_free_fws, n_fws, n_offerable;
    la_strmap fw_map;

    la_client *clients;
    uint32_t n_client_slots, cap_clients;
    uint32_t *free_clients;
    uint32_t n_free_clients;

    la_role *roles;
    uint32_t n_roles, cap_roles;
    uint32_t *role_order;       /* role slots in DRF order */
    la_strmap role_map;

    char **racks;
    uint32_t n_racks, cap_racks;
    uint32_t rack_recip;        /* (2^32 - 1) / n_racks, for la_rack_pos */
    la_strmap rack_map;

    la_alloc *allocs;
    uint32_t n_alloc_slots, cap_allocs;
    uint32_t *free_allocs;
    uint32_t n_free_allocs;
    la_u64map alloc_map;        /* agent << 32 | client -> alloc slot */

    double cluster_total[LA_MAX_RES];
    uint64_t *idx_mem_bytes;    /* index, per agent slot: pending bytes all frameworks have
                                   cached in its memory (sum of its entries' bytes[0]), so a
                                   disk read can go to a copy nobody would read from memory */
    int epoch_set;
    double epoch;
    double last_alloc_now;      /* host time of the latest allocate() */
    double cycle_s;             /* mean host seconds between allocate() calls (0: unknown) */
    uint64_t rng;
    int paused;

    /* hints */
    la_hint_provider prov;      /* active provider (default: the store) */
    int prov_injected;
    locus_hs *own_store;
    double next_open_try;
    int store_missing_logged;
    uint64_t hint_generation;
    uint64_t hint_epoch;        /* bumped when agents (host names, racks) change */
    int hints_valid;            /* last snapshot usable */
    int index_dirty;            /* agent-side index must be rebuilt in full */
    uint32_t *idx_queue;        /* frameworks whose entries alone must be replaced */
    uint32_t n_idx_queue, cap_idx_queue;
    uint32_t *idx_len;          /* per agent slot: entries used of its idx_off segment (the
                                   segment keeps slack so one framework's entries can change
                                   without moving the others) */
    uint32_t *idx_stamp;        /* per agent slot: the token of the last framework update that
                                   found an entry of it there (had) or wrote one (kept) */
    uint32_t *idx_prev;         /* per agent slot, while its stamp says had: where that entry
                                   was written (a hint: checked before use) */
    uint32_t *idx_cap;          /* per agent slot: room of its segment (used + slack) */
    struct la_ds_batch *ds_batch; /* while the change feed is applied: the changed datasets
                                   looked up together (la_hints.c), else NULL */
    uint32_t *rack_of;          /* per agent slot: its rack (la_agent.rack), packed so the index
                                   updates do not read a whole agent for it; for rack_of_epoch */
    uint32_t cap_rack_of;
    uint64_t rack_of_epoch;     /* hint_epoch + 1 when rack_of was filled (0: never) */
    uint32_t idx_garbage;       /* entries of segments moved to the end since the last rebuild */
    uint32_t idx_token;
    uint64_t index_full_rebuilds, index_updates; /* counts, for tests and profiling */
    uint32_t first_reads;       /* block demand items one framework reads in a cycle at most */
    uint64_t block_reads;       /* block lookups so far (tests, profiling) */
    double index_expire_at;
    uint32_t *idx_off;          /* CSR: per agent slot, into idx_ent */
    uint32_t idx_off_cap;
    struct la_idxent {
        uint32_t fw;
        float tasks;            /* fw's pending tasks local to this agent (estimate; fills the
                                   padding after fw, so the entry stays 40 bytes) */
        uint64_t bytes[LOCUS_TIERS];
        /* Nothing that changes when only other agents' bytes do (fw's
         * rack total, its pending bytes, the score made of them): a
         * launch then rewrites the entries of its copies' agents only.
         * Readers take those from la_rack_total and la_fw. */
        uint32_t fexp;          /* copy of fw's refuse filter expiry on this agent (0: none),
                                   so the per-agent loops read it sequentially */
    } *idx_ent;
    uint32_t n_idx_ent, cap_idx_ent; /* room handed to segments, and allocated */
    uint64_t *rack_pairs;       /* index rebuild: the racks one framework touches */
    uint32_t n_allowed1;        /* frameworks allowed rack-local but not any, this cycle */
    uint32_t n_held_unplanned;  /* listed frameworks held back (node or rack level) that the
                                   plan does not serve, this cycle (0: agents skip that walk) */
    uint32_t *held_off;         /* per cycle, when held_ranked (held_on): per agent slot g, */
    uint32_t *held_ent;         /* (entry hint, rank, framework) of those frameworks' entries */
    uint32_t held_off_cap, held_cap; /* at [held_off[g], held_off[g + 1]), in rank order, read */
    int held_on;                /* instead of all g's entries (la_place.c) */
    uint64_t held_list_picks;   /* picks that read those lists (tests) */
    uint64_t rate_visits;       /* copy-frees scans made (stamps la_agent.rate_visit) */
    double release_rate;        /* task ends per second cluster-wide (decaying count, see
                                   la_note_release), at release_rate_at */
    double release_rate_at;
    double used_cpus;           /* CPUs allocated on live agents, summed at used_cpus_cycle */
    uint64_t used_cpus_cycle;
    uint8_t *fstate;            /* per cycle, by framework slot: 0 not listed (or, with offer
                                   slices, already sliced on this agent, or held back with its
                                   local tasks all offered), else 1 + allowed (a compact copy
                                   the per-agent loops read without touching la_fw) */
    uint32_t fstate_cap;
    uint8_t *urack;             /* per cycle, by framework slot: 1 when it is in ulist for
                                   agents in racks holding its data only (allowed rack-local,
                                   not yet any) */
    uint32_t urack_cap;
    /* Held-back walks in one role (per cycle, when a single role lists
     * clients and some framework is held back): candidates are compared on
     * a dense copy of their DRF keys (fw_key), and the agents' lists of
     * held-back frameworks are in the role's DRF order as the cycle sorted
     * it (rank). Keys only grow within a cycle, so such a walk stops at the
     * first framework ranked at or after the place of the best candidate's
     * key now. */
    int held_ranked;
    int held_rank_off;          /* test hook: never ranked, and the frameworks allowed
                                   rack-local read one by one instead of in ulist (every
                                   candidate is read) */
    uint64_t held_skips;        /* candidates the ranked walks passed over unread (tests) */
    struct la_drfkey {          /* a client's DRF order key (the id decides exact ties) */
        double share;
        uint64_t count, key8;
        uint32_t cs;
    } *rank_key;                /* by rank: the client and its starting key, so a client's
                                   key now is placed among them by a binary search over
                                   memory read in sequence */
    uint32_t n_rank_key, rank_key_cap;
    struct la_drfkey *fw_key;   /* when held_ranked, per framework slot: its listed client's
                                   DRF key now (la_make_offer keeps it), so the walks compare
                                   candidates without reading la_fw or la_client */
    uint32_t fw_key_cap;
    struct la_rkref {           /* per framework slot, per cycle: where its racks are, so the */
        const struct la_rackbytes *p; /* line a pick will search is fetched while the */
        uint32_t n;             /* other candidates are walked (a prefetch: never read) */
    } *fw_rk;
    uint32_t fw_rk_cap;
    uint8_t *fplanned;          /* per framework slot, per cycle: planned by la_place_plan (its
                                   cached work goes through the plan), read without la_fw */
    uint32_t fplanned_cap;
    uint64_t *rack_bytes;       /* index rebuild: one framework's bytes per rack (+1 if touched) */
    uint32_t cap_rack_bytes;
    uint32_t *loc_slot;         /* loc computation: per agent slot, the framework's loc entry
                                   there, valid where loc_stamp == loc_token (a new
                                   computation bumps the token instead of clearing) */
    uint32_t *loc_stamp, cap_loc_slot, loc_token;
    uint32_t *idx_newat;        /* index_update: positions of the entries it writes */
    uint32_t cap_idx_newat;
    /* Storage host name pointer (the store handle's interned name, stable
     * until it is closed) to agent slot + 1 (0: no agent), so each distinct
     * host is resolved once, not once per replica read. Valid for one store
     * handle, hint epoch (agents' host names) and host binding set. */
    la_u64map host_cache;
    const void *host_cache_store;
    uint64_t host_cache_epoch;
    /* Per framework slot: each demand item's part of its locality as last
     * read (la_hints.c), so a changed dataset re-reads only its own items. */
    struct la_items *fw_items;
    uint32_t cap_fw_items;
    /* placement engine, per cycle (la_place.c) */
    double *plan_free;          /* per agent slot x LA_MAX_RES: free resources not yet planned */
    uint32_t *plan_head;        /* per agent slot: first plan entry, LA_MAP_NONE if none */
    uint32_t *plan_reserved;    /* per agent slot: framework given the whole agent, or NONE */
    uint32_t plan_agent_cap;
    struct la_plan {            /* tasks of one framework planned on one agent */
        uint32_t agent, fw, next;
        uint32_t n_tasks;
        uint32_t unit_head;     /* its units: plan_units list */
        uint32_t best_tier;     /* of its node-local tasks (LOCUS_TIERS: none) */
        int level;              /* 0 node-local, 1 rack-local, 2 anywhere (best of its tasks) */
        uint64_t bytes[LOCUS_TIERS];
    } *plan;
    uint32_t n_plan, cap_plan;
    struct la_plan_unit { uint32_t unit, next; } *plan_units;
    uint32_t n_plan_units, cap_plan_units;
    struct align_buf *align;    /* align_slices' scratch, kept across cycles */
    uint32_t *plan_rack_off, *plan_rack_ag, *plan_rack_cur; /* live agents by rack */
    uint32_t cap_plan_rack, cap_plan_rack_ag, cap_plan_rack_cur;
    uint32_t *plan_room_ag;     /* live agents with room for the smallest planned task, */
    uint32_t n_room_ag, cap_room_ag, room_cur; /* in the cycle's order; those before room_cur have none left */
    double plan_min_task[2];    /* smallest planned task: cpus, mem */
    uint32_t plan_room;         /* agents where it still fits */
    int plan_racks_ready;       /* plan_rack_* built for this cycle (only a rack-local
                                   placement needs them) */
    uint64_t plan_replays;      /* frameworks whose slices the replay of their choice walked
                                   (tests, profiling) */
    int plan_replay_all;        /* test hook: replay every framework with two slices */
    uint8_t *plan_fit;          /* per agent slot, in a plan with planned work: the smallest
                                   planned task still fits (checked before plan_free is read) */
    uint8_t *plan_open;         /* ... and: offerable at the start of the cycle (live, active,
                                   resources to offer, not filtered for every framework) */
    uint32_t cap_plan_fit, cap_plan_open;
    int plan_open_valid;        /* plan_open was filled this cycle */
    double *plan_avail;         /* ... and, by agent slot, an open agent's free resources
                                   (n_res each), so the agent loop does not read the agent
                                   again */
    uint32_t cap_plan_avail;
    uint32_t *heap;             /* frameworks by projected share */
    uint32_t cap_heap;
    uint32_t *sliced;           /* per agent in a cycle: frameworks given a slice of it */
    uint32_t n_sliced, cap_sliced;

    /* offers of the last cycle */
    locus_offer *offers;
    size_t n_offers, cap_offers;
    locus_scalar *items;
    size_t n_items, cap_items;
    char *reasons;
    size_t n_reasons, cap_reasons;
    size_t *offer_aux;          /* per offer: first item, reason offset (fixed up at the end) */
    size_t cap_aux;

    locus_allocator_status st;

    struct la_roles *roles_ext; /* role tree, quota, fairness exclusions (la_roles.h); NULL: none set */
};

/* One candidate offer: who (role, client) and, under locality, why. */
typedef struct la_pick {
    uint32_t ri, li;            /* role position in role_order, client position in its list */
    uint32_t cs;                /* the client (locality: list order is not kept in a cycle) */
    uint32_t ui;                /* locality: its position in ulist, LA_MAP_NONE if unknown */
    double score;
    int level;
    uint64_t local[LOCUS_TIERS];
    uint64_t rack;
    double waited;
    double tasks;               /* locality: the framework's local pending tasks on the agent */
} la_pick;

/* la_core.c: logging, errors and shared helpers */
void la_log(locus_allocator *a, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int la_seterr(locus_allocator *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Grows *arr (zero-filling the new part) to hold at least need elements. */
int la_grow_to(void **arr, uint32_t *cap, uint32_t need, size_t elem);
/* The common case (room enough) without a call: index builds and
 * allocations ask for one more element thousands of times a cycle. */
static inline int la_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
    return need <= *cap ? 0 : la_grow_to(arr, cap, need, elem);
}
int la_growz(void **arr, size_t *cap, size_t need, size_t elem);
uint64_t la_rng_next(uint64_t *s);
void la_note_time(locus_allocator *a, double now);
uint32_t la_ticks_floor(const locus_allocator *a, double t);
uint32_t la_ticks_ceil(const locus_allocator *a, double t);
int la_res_index(locus_allocator *a, const char *name, int create, uint32_t *out);
int la_res_vec(locus_allocator *a, const locus_resources *r, int create, double *v,
               const char *what);
int la_res_empty(const double *v, uint32_t n);
void la_maybe_reload(locus_allocator *a, double now);

/* la_drf.c: the DRF order */
uint64_t la_key8(const char *s);
/* The DRF order short of the names: the lower share first, then the fewer
 * times chosen, then the first 8 bytes of the name (la_key8). <0 when x
 * comes first, >0 when y does, 0 on a tie (callers then compare names).
 * The sort, the client moves and the placement walks' ranked keys all
 * order by this one function, so they cannot disagree. */
static inline int la_drf_order(double share_x, uint64_t count_x, uint64_t key8_x, double share_y,
                               uint64_t count_y, uint64_t key8_y)
{
    if (share_x != share_y)
        return share_x < share_y ? -1 : 1;
    if (count_x != count_y)
        return count_x < count_y ? -1 : 1;
    if (key8_x != key8_y)
        return key8_x < key8_y ? -1 : 1;
    return 0;
}
double la_dominant(const locus_allocator *a, const double *alloc);
int la_cmp_client(const locus_allocator *a, uint32_t x, uint32_t y);
/* la_move_right over a role's client list, la_cmp_client inline (la_drf.c). */
void la_move_right_client(locus_allocator *a, uint32_t *arr, uint32_t n, uint32_t i);
int la_cmp_role(const locus_allocator *a, uint32_t x, uint32_t y);
int la_drf_resort(locus_allocator *a);
void la_move_right(locus_allocator *a, uint32_t *arr, uint32_t n, uint32_t i,
                   int (*cmp)(const locus_allocator *, uint32_t, uint32_t));
uint32_t la_list_find(locus_allocator *a, const la_role *ro, uint32_t cslot, int sorted);
uint32_t la_role_order_find(const locus_allocator *a, uint32_t r);
int la_drf_first(const locus_allocator *a, const la_agent *g, uint32_t now_t, la_pick *p);
int la_drf_before(const locus_allocator *a, uint32_t x, uint32_t y);
int la_scan_wanted(const locus_allocator *a, const la_agent *g);
uint32_t la_scan_pick(const locus_allocator *a, uint32_t gs, int use_loc);

/* la_state.c: agents, frameworks, allocations, filters */
void la_filters_expire(locus_allocator *a, la_agent *ag, uint32_t now_t);
int la_alloc_add(locus_allocator *a, uint32_t ag, uint32_t cs, const double *r);
void la_alloc_prefetch(const locus_allocator *a, uint32_t ag, uint32_t cs);
void la_mark_hints_dirty(locus_allocator *a);
int la_filtered(const la_agent *g, uint32_t fw, uint32_t now_t);
/* An agent handed resources back at host time now (a task ended). */
void la_note_release(locus_allocator *a, double now);
/* g's expected releases per second at host time now. */
double la_free_rate(locus_allocator *a, const la_agent *g, double now);
/* Fills avail with g's free resources; 1 when enough is free to offer. */
int la_allocatable(const locus_allocator *a, const la_agent *g, double *avail);

/* la_place.c: locality placement */
/* Key of block idx of dataset ds in la_fw.offered_blocks. */
uint64_t la_block_key(const char *ds, uint64_t idx);
/* The same key from la_hash_str(ds), for runs of blocks of one dataset. */
uint64_t la_block_key_h(uint64_t ds_hash, uint64_t idx);
const struct la_idxent *la_idx_find(const locus_allocator *a, uint32_t gs, uint32_t fw);
uint64_t la_rack_total(const locus_allocator *a, uint32_t rack, uint32_t fw);
int la_place_prepare(locus_allocator *a, double now);
int la_place_agent(locus_allocator *a, uint32_t gs, double *avail, uint32_t now_t, double now);
/* The cycle's plan: every pending cached task of every framework that
 * declared its task size claimed at most once, on its best free copy. */
int la_place_plan(locus_allocator *a, uint32_t now_t);
void la_place_free(locus_allocator *a);

/* la_offer.c: offers */
/* extra: appended to the reason (NULL: nothing). */
int la_make_offer(locus_allocator *a, uint32_t gs, const double *avail, const la_pick *p,
                  int use_loc, int hints_ok, double now, uint32_t slice_tasks, const char *extra);

/* la_state.c */
/* Frees what a framework slot owns; the slot itself stays. */
void la_fw_free_fields(la_fw *f);

/* la_hints.c */
void la_hints_init_default(locus_allocator *a);
void la_hints_close(locus_allocator *a);
/* Reopens the store after hints.path changed. */
void la_hints_path_changed(locus_allocator *a);
/* At create: opens hints.path when the policy is locality and the store is there. */
void la_hints_start(locus_allocator *a);
/* Takes this cycle's snapshot and brings the locality index up to date.
 * Returns 1 when locality can be used this cycle, 0 to run as drf. */
/* Demand d[0..n) replaces f's demand and names a subset of its block items
 * (tasks launched): f's units, counts and per-agent bytes are updated from
 * what was read before, without reading the store (each kept item's counted
 * bytes are copied into d). Returns 1 when done, 0
 * when the change is not such a subset (the caller then recomputes). */
int la_hints_demand_shrunk(locus_allocator *a, la_fw *f, la_demand *d, size_t n);
int la_hints_refresh(locus_allocator *a, double now);
void la_hints_free_index(locus_allocator *a);
void la_index_touch(locus_allocator *a, uint32_t fs);
void la_index_remove_fw(locus_allocator *a, uint32_t fs);
int la_index_rebuild(locus_allocator *a); /* the whole index from the frameworks' parts (tests) */
/* End of agent gs's entries in idx_ent (the index must cover gs). */
static inline uint32_t la_idx_end(const locus_allocator *a, uint32_t gs)
{
    return a->idx_off[gs] + a->idx_len[gs];
}

/* Where rack r should sit in a framework's n racks sorted by id, the ids
 * spreading over 0 .. n_racks: about r x n / n_racks, by a multiply with
 * rack_recip (a pick asks it up to twice per offer, and a 64-bit division
 * takes several times as long). It may come out one low, and is only where
 * a search starts; a rack id past n_racks gives a position past n, which
 * callers clamp. */
static inline uint32_t la_rack_pos(const locus_allocator *a, uint32_t r, uint32_t n)
{
    uint64_t frac = (uint64_t)r * a->rack_recip; /* r / n_racks in 0.32 fixed point */
    return (uint32_t)(frac >= (1ull << 32) ? n : (frac * n) >> 32);
}

/* Position of framework fw's entry in agent gs's segment, or where it would
 * go: a segment is ordered by framework slot, so a binary search (an agent
 * may hold data of a hundred frameworks, and this runs for every offer). */
static inline uint32_t la_idx_lower_bound(const locus_allocator *a, uint32_t gs, uint32_t fw)
{
    uint32_t lo = a->idx_off[gs], hi = la_idx_end(a, gs);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (a->idx_ent[mid].fw < fw)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Test hook: replaces the hint source (NULL: back to the store). */
void la_set_hint_provider(locus_allocator *a, const la_hint_provider *p);

/* The ABI functions, implemented by the core (la_plugin.c exports them). */
int la_create(const char *config_path, const locus_param *params, size_t n_params,
              const locus_host_services *host, locus_allocator **out, char *err, size_t errlen);
void la_destroy(locus_allocator *a);
const char *la_last_error(const locus_allocator *a);
int la_add_agent(locus_allocator *a, const locus_agent_info *agent, const locus_allocation *used,
                 size_t n_used, double now);
int la_remove_agent(locus_allocator *a, const char *agent_id);
int la_update_agent(locus_allocator *a, const locus_agent_info *agent);
int la_activate_agent(locus_allocator *a, const char *agent_id);
int la_deactivate_agent(locus_allocator *a, const char *agent_id);
int la_add_framework(locus_allocator *a, const locus_framework_info *fw,
                     const locus_allocation *used, size_t n_used, double now);
int la_remove_framework(locus_allocator *a, const char *framework_id);
int la_update_framework(locus_allocator *a, const locus_framework_info *fw);
int la_activate_framework(locus_allocator *a, const char *framework_id);
int la_deactivate_framework(locus_allocator *a, const char *framework_id);
int la_suppress(locus_allocator *a, const char *framework_id, const char *role);
int la_revive(locus_allocator *a, const char *framework_id, const char *role);
int la_recover(locus_allocator *a, const char *framework_id, const char *agent_id,
               const locus_resources *resources, double refuse_seconds, double now);
int la_update_weights(locus_allocator *a, const char *const *roles, const double *weights,
                      size_t n);
void la_pause(locus_allocator *a);
void la_resume(locus_allocator *a);
int la_set_demand(locus_allocator *a, const char *framework_id, const locus_demand_item *items,
                  size_t n);
int la_allocate(locus_allocator *a, double now, locus_offer_list *out);
int la_status(const locus_allocator *a, locus_allocator_status *out);
int la_reload_config(locus_allocator *a);
int la_set_task_resources(locus_allocator *a, const char *framework_id,
                          const locus_resources *per_task);

/* Appends text to offer reasons without printf: a reason of 100-300
 * characters is written for every offer, and formatting them with snprintf
 * (or copying them character by character with a bound check each) cost
 * more than choosing most offers. Truncates at cap - 1 bytes like snprintf;
 * buf stays terminated. */
typedef struct la_sbuf {
    char *buf;
    size_t len, cap;
} la_sbuf;

static inline void la_sb_put(la_sbuf *b, const char *s, size_t n)
{
    size_t room = b->cap - 1 - b->len;
    if (n > room)
        n = room;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static inline void la_sb_str(la_sbuf *b, const char *s)
{
    la_sb_put(b, s, strlen(s));
}

/* At most max characters of s. */
static inline void la_sb_strn(la_sbuf *b, const char *s, size_t max)
{
    la_sb_put(b, s, strnlen(s, max));
}

static inline void la_sb_u64(la_sbuf *b, uint64_t x)
{
    char tmp[24];
    size_t n = sizeof tmp;
    do {
        tmp[--n] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    la_sb_put(b, tmp + n, sizeof tmp - n);
}

#endif
