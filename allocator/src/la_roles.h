/* Role hierarchy, quota and fairness exclusions of the allocator core, as
 * Mesos 1.12's hierarchical allocator has them: role names with '/' form a
 * tree whose nodes are weighted and compared by their subtree's dominant share
 * ("a/b"'s allocation counts for "a"); roles below a quota guarantee come
 * first and every other offer leaves the headroom unsatisfied guarantees
 * need; an offer never takes a role (or an ancestor) over its quota limit;
 * resource names excluded from fair sharing count in no dominant share.
 *
 * The state lives in one struct hung off the instance (locus_allocator.
 * roles_ext), created by the first call that needs it, so an instance with
 * none of this set runs the flat DRF order unchanged. The DRF and offer code
 * call the la_roles_* hooks below only when roles_ext is set. */
#ifndef LA_ROLES_H
#define LA_ROLES_H

#include "la_core.h"

/* One node of the role tree: a role name or one of its prefixes. */
typedef struct la_rnode {
    char *name;                 /* full path, e.g. "a/b" */
    uint32_t parent;            /* node index, LA_MAP_NONE at the top */
    uint32_t depth;             /* 0 at the top */
    double alloc[LA_MAX_RES];   /* the subtree's allocation (offered or in use) */
    uint64_t count;             /* times the subtree was chosen */
    double share;               /* dominant share of alloc / weight */
    int has_guar, has_lim;      /* resolved quota of this exact role */
    double guar[LA_MAX_RES];
    double lim[LA_MAX_RES];     /* < 0: no limit on that resource */
} la_rnode;

/* A role's quota as given (names resolved to resource indices every cycle:
 * a name no agent has yet is unknown to the core). */
typedef struct la_quota_ent {
    char *role;
    locus_scalar *guar, *lim;   /* names owned */
    size_t n_guar, n_lim;
} la_quota_ent;

/* A decline filter of one role of a multi-role framework on one agent, as
 * Mesos's RefusedOfferFilter: it holds until `until` (host seconds) while
 * what the agent would offer is within `refused`. Keyed by slots, checked
 * against the names (slots are reused after removals). */
typedef struct la_rfilter {
    uint32_t agent, client;
    char *fw, *role, *agent_id;
    double until;
    double refused[LA_MAX_RES];
} la_rfilter;

struct la_roles {
    int ordered;                /* nested names or guarantees: the role order is computed here */
    int quota_on;               /* some guarantee or limit: offers are fitted to quota */
    int any_guar;
    uint8_t excluded[LA_MAX_RES]; /* resource index left out of dominant shares */
    char **excluded_names;
    size_t n_excluded_names;
    la_quota_ent *quotas;
    size_t n_quotas;
    la_rnode *nodes;
    uint32_t n_nodes, cap_nodes;
    la_strmap node_map;
    uint32_t *role_node;        /* per core role slot: its node */
    uint32_t n_roles_seen, cap_role_node;
    double free_[LA_MAX_RES];   /* unallocated on live agents, this cycle */
    double required[LA_MAX_RES]; /* headroom the unsatisfied guarantees need */
    la_rfilter *rf;             /* role filters (dense; n_rfilters of them) */
    uint32_t n_rfilters, cap_rf;
    la_u64map rf_map;           /* agent << 32 | client -> index in rf */
    int refused;                /* la_make_offer turned a pick down (filter, quota) */
    double rf_next_until;       /* earliest expiry among rf (0: none known) */
};

/* Frees roles_ext (la_destroy). */
void la_roles_free(locus_allocator *a);
/* Start of la_drf_resort: resolves names and syncs the tree with new roles. */
void la_roles_prepare(locus_allocator *a);
/* End of la_drf_resort: subtree allocations, headroom, the role order. */
void la_roles_resort(locus_allocator *a);
/* la_cmp_role when roles_ext->ordered. */
int la_roles_cmp_role(const locus_allocator *a, uint32_t x, uint32_t y);
/* The part of avail role slot r may be offered (quota limits, headroom) in
 * *out; 1 when that is still worth offering. */
int la_roles_fit(const locus_allocator *a, uint32_t r, const double *avail, double *out);
/* Can role slot r be offered anything of agent g? */
int la_roles_admits(const locus_allocator *a, uint32_t r, const la_agent *g);
/* After an offer of `given` to role slot r: tree, headroom and order. */
void la_roles_offered(locus_allocator *a, uint32_t r, const double *given);

/* Is client cs's role filtered on agent g (avail: what g would offer, or
 * NULL to compute it)? Only when roles_ext->n_rfilters. */
/* At the start of a cycle: drops the role filters expired by then, so the
 * cycle's fast paths (taken when no role filter is set) come back. */
void la_roles_expire_filters(locus_allocator *a);
int la_roles_rfiltered(const locus_allocator *a, uint32_t cs, const la_agent *g,
                       const double *avail);

/* ABI wrappers that also drop role filters. */
int la_roles_revive(locus_allocator *a, const char *framework_id, const char *role);
int la_roles_remove_framework(locus_allocator *a, const char *framework_id);
int la_roles_remove_agent(locus_allocator *a, const char *agent_id);

/* ABI 1.2 entry points. */
int la_set_quota(locus_allocator *a, const char *role, const locus_resources *guarantees,
                 const locus_resources *limits);
int la_set_fairness_excluded(locus_allocator *a, const char *const *names, size_t n);
int la_recover_role(locus_allocator *a, const char *framework_id, const char *role,
                    const char *agent_id, const locus_resources *resources,
                    double refuse_seconds, double now);
uint32_t la_max_resource_names(const locus_allocator *a);

#endif
