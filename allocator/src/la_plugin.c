/* The Locus allocator plugin: the ABI table over the policy core. The only
 * exported symbol is locus_allocator_entry (built with -fvisibility=hidden);
 * everything else, including the core's functions, stays private to the .so
 * so two copies of the plugin (or a host that links the core) never clash. */
#include "la_core.h"
#include "la_roles.h"

static const locus_allocator_api la_api = {
    LOCUS_ALLOCATOR_API_HEADER("locus", LOCUS_ALLOCATOR_VERSION),
    .create = la_create,
    .destroy = la_destroy,
    .last_error = la_last_error,
    .add_agent = la_add_agent,
    .remove_agent = la_roles_remove_agent,
    .update_agent = la_update_agent,
    .activate_agent = la_activate_agent,
    .deactivate_agent = la_deactivate_agent,
    .add_framework = la_add_framework,
    .remove_framework = la_roles_remove_framework,
    .update_framework = la_update_framework,
    .activate_framework = la_activate_framework,
    .deactivate_framework = la_deactivate_framework,
    .suppress = la_suppress,
    .revive = la_roles_revive,
    .recover = la_recover,
    .update_weights = la_update_weights,
    .pause = la_pause,
    .resume = la_resume,
    .set_demand = la_set_demand,
    .allocate = la_allocate,
    .status = la_status,
    .reload_config = la_reload_config,
    .set_task_resources = la_set_task_resources,
    .set_quota = la_set_quota,
    .set_fairness_excluded = la_set_fairness_excluded,
    .recover_role = la_recover_role,
    .max_resource_names = la_max_resource_names,
};

LOCUS_ALLOCATOR_EXPORT const locus_allocator_api *locus_allocator_entry(void)
{
    return &la_api;
}
