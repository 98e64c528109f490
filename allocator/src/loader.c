/* Host side of the allocator ABI: dlopen a policy plugin and check it.
 *
 * The plugin exports one function returning a static struct whose first
 * fields are abi_major and struct_size. The loader refuses a plugin whose
 * major version differs from the host's, or whose struct is too small to hold
 * every callback a host calls without a NULL check, before any callback runs;
 * the message names both versions so an operator sees which side is old.
 * RTLD_LOCAL keeps the plugin's symbols out of the host's namespace, so two
 * policies can be loaded side by side (the simulator compares them).
 */
#define _GNU_SOURCE /* dladdr */
#include "locus/allocator_loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Callbacks every host calls without checking them for NULL: allocate and
 * everything before it. status and reload_config are optional (NULL =
 * unsupported), so a plugin built before they existed is still accepted. */
#define LOADER_REQUIRED_SIZE (offsetof(locus_allocator_api, allocate) + sizeof(void *))

static int fail(locus_allocator_plugin *out, int code, char *err, size_t errlen, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));
static int fail(locus_allocator_plugin *out, int code, char *err, size_t errlen, const char *fmt,
                ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    if (out->dl_handle)
        dlclose(out->dl_handle);
    memset(out, 0, sizeof *out);
    return code;
}

int locus_allocator_load(const char *path, locus_allocator_plugin *out, char *err, size_t errlen)
{
    if (!out)
        return LOCUS_EINVAL;
    memset(out, 0, sizeof *out);
    if (!path || !*path)
        return fail(out, LOCUS_EINVAL, err, errlen, "allocator plugin: empty path");
    if (strlen(path) >= sizeof out->path)
        return fail(out, LOCUS_EINVAL, err, errlen, "%s: allocator plugin path too long", path);
    snprintf(out->path, sizeof out->path, "%s", path);

    dlerror();
    out->dl_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!out->dl_handle) {
        const char *why = dlerror();
        return fail(out, LOCUS_EIO, err, errlen, "cannot load allocator plugin: %s",
                    why ? why : path);
    }

    /* POSIX dlsym returns void *; converting it to a function pointer is
     * the documented way (memcpy avoids the object/function cast warning). */
    void *sym = dlsym(out->dl_handle, LOCUS_ALLOCATOR_ENTRY_SYMBOL);
    if (!sym)
        return fail(out, LOCUS_EIO, err, errlen, "%s: no symbol %s (not a Locus allocator plugin)",
                    path, LOCUS_ALLOCATOR_ENTRY_SYMBOL);
    locus_allocator_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const locus_allocator_api *api = entry();
    if (!api)
        return fail(out, LOCUS_EABI, err, errlen, "%s: %s returned NULL", path,
                    LOCUS_ALLOCATOR_ENTRY_SYMBOL);
    if (api->abi_major != LOCUS_ALLOCATOR_ABI_MAJOR)
        return fail(out, LOCUS_EABI, err, errlen,
                    "%s: refused: plugin ABI %u.%u, host ABI %d.%d (major versions differ)", path,
                    (unsigned)api->abi_major, (unsigned)api->abi_minor, LOCUS_ALLOCATOR_ABI_MAJOR,
                    LOCUS_ALLOCATOR_ABI_MINOR);
    if (api->struct_size < LOADER_REQUIRED_SIZE)
        return fail(out, LOCUS_EABI, err, errlen,
                    "%s: refused: plugin ABI %u.%u has struct_size %u, host ABI %d.%d needs at "
                    "least %zu",
                    path, (unsigned)api->abi_major, (unsigned)api->abi_minor,
                    (unsigned)api->struct_size, LOCUS_ALLOCATOR_ABI_MAJOR,
                    LOCUS_ALLOCATOR_ABI_MINOR, (size_t)LOADER_REQUIRED_SIZE);
    if (!api->create || !api->destroy || !api->allocate || !api->add_agent ||
        !api->add_framework || !api->recover)
        return fail(out, LOCUS_EABI, err, errlen,
                    "%s: refused: plugin %s leaves a required callback NULL", path,
                    api->name ? api->name : "?");
    out->api = api;
    if (err && errlen)
        err[0] = '\0';
    return 0;
}

void locus_allocator_unload(locus_allocator_plugin *p)
{
    if (!p || !p->dl_handle)
        return;
    dlclose(p->dl_handle);
    memset(p, 0, sizeof *p);
}

#ifndef LOCUS_INSTALL_LIBDIR
#define LOCUS_INSTALL_LIBDIR "lib"
#endif

/* LIBDIR/locus/locus-allocator.so beside the library or program holding
 * this code, when it exists: an installed prefix finds its own plugin even
 * after being moved, and never the build tree's. */
static int plugin_beside_self(char *out, size_t len)
{
    Dl_info info;
    if (!dladdr((void *)&plugin_beside_self, &info) || !info.dli_fname)
        return 0;
    char self[PATH_MAX];
    if (!realpath(info.dli_fname, self))
        return 0;
    char *slash = strrchr(self, '/');
    if (!slash)
        return 0;
    *slash = 0;
    /* A program sits in PREFIX/bin, the library in LIBDIR. */
    size_t n = strlen(self);
    if (n >= 4 && strcmp(self + n - 4, "/bin") == 0) {
        self[n - 4] = 0;
        n = (size_t)snprintf(out, len, "%s/%s/locus/locus-allocator.so", self, LOCUS_INSTALL_LIBDIR);
    } else {
        n = (size_t)snprintf(out, len, "%s/locus/locus-allocator.so", self);
    }
    return n < len && access(out, R_OK) == 0;
}

const char *locus_allocator_default_plugin_path(void)
{
    /* Beside this code when installed; else the build tree's plugin while it
     * exists (tests, the simulator run from the build folder); else the
     * configured install path. */
    static char beside[PATH_MAX];
    if (plugin_beside_self(beside, sizeof beside))
        return beside;
    static const char *const build = LOCUS_PLUGIN_BUILD_PATH;
    if (access(build, R_OK) == 0)
        return build;
    return LOCUS_PLUGIN_INSTALL_PATH;
}
