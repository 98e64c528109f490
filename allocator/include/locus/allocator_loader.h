/* Host side of the allocator ABI: load a plugin .so and check it.
 *
 * locus_allocator_load() dlopens the file, resolves
 * LOCUS_ALLOCATOR_ENTRY_SYMBOL, and refuses the plugin (LOCUS_EABI) when its
 * abi_major differs from the host's or its struct_size does not cover the
 * callbacks every host needs; the message names both versions. Used by
 * locus-sim, the Mesos module adapter and the test hosts.
 */
#ifndef LOCUS_ALLOCATOR_LOADER_H
#define LOCUS_ALLOCATOR_LOADER_H

#include "locus/allocator.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct locus_allocator_plugin {
    void *dl_handle;                 /* from dlopen */
    const locus_allocator_api *api;  /* valid until locus_allocator_unload */
    char path[4096];
} locus_allocator_plugin;

/* Returns 0, LOCUS_EIO (dlopen/dlsym failed), or LOCUS_EABI, with err set. */
int locus_allocator_load(const char *path, locus_allocator_plugin *out, char *err, size_t errlen);
/* dlcloses. NULL or never-loaded: no-op. */
void locus_allocator_unload(locus_allocator_plugin *p);

/* Default plugin path of this build/installation (the built-in Locus policy). */
const char *locus_allocator_default_plugin_path(void);

#ifdef __cplusplus
}
#endif
#endif
