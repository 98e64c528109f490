/* An external program built against an installed Locus prefix: writes a
 * block into a new hint store, reads it back through a snapshot, and loads
 * the installed allocator plugin through the installed loader, which must
 * find the plugin inside the same prefix.
 *
 * usage: consumer STORE_DIR PREFIX   (exit 0 when everything holds) */
#include <stdio.h>
#include <string.h>

#include <locus/allocator_loader.h>
#include <locus/error.h>
#include <locus/hintstore.h>

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "consumer: " __VA_ARGS__);                        \
            fputc('\n', stderr);                                              \
            return 1;                                                         \
        }                                                                     \
    } while (0)

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: consumer STORE_DIR PREFIX");
    char err[512] = "";
    locus_hs_options o = {.create = 1, .no_sync = 1};
    locus_hs *hs = NULL;
    int rc = locus_hs_open(argv[1], &o, &hs, err, sizeof err);
    CHECK(rc == 0, "open %s: %s (%s)", argv[1], err, locus_strerror(rc));

    locus_hs_batch *b = NULL;
    CHECK(locus_hs_batch_begin(hs, "consumer", 1, &b) == 0, "batch: %s", locus_hs_errstr(hs));
    locus_hs_replica r[2] = {{"store-1", LOCUS_TIER_MEM}, {"store-2", LOCUS_TIER_HDD}};
    locus_hs_block blk = {"events", 7, 4096, r, 2};
    CHECK(locus_hs_batch_put(b, &blk) == 0, "put: %s", locus_hs_errstr(hs));
    CHECK(locus_hs_batch_commit(b, 1000) == 0, "commit: %s", locus_hs_errstr(hs));

    locus_hs_snapshot *s = NULL;
    CHECK(locus_hs_snapshot_open(hs, &s) == 0, "snapshot: %s", locus_hs_errstr(hs));
    const locus_hs_dataset *d = NULL;
    CHECK(locus_hs_snapshot_dataset(s, "events", &d) == 0, "dataset events missing");
    CHECK(d->total_bytes == 4096 && d->block_count == 1 && d->n_placement == 2,
          "dataset events: %llu bytes, %llu blocks, %zu placements",
          (unsigned long long)d->total_bytes, (unsigned long long)d->block_count, d->n_placement);
    rc = locus_hs_snapshot_dataset(s, "absent", &d);
    CHECK(rc == LOCUS_ENOTFOUND, "absent dataset gave %d", rc);
    locus_hs_snapshot_close(s);
    locus_hs_close(hs);
    CHECK(strcmp(locus_strerror(LOCUS_ENOTFOUND), "not found") == 0, "locus_strerror: '%s'",
          locus_strerror(LOCUS_ENOTFOUND));
    CHECK(strcmp(locus_tier_name(LOCUS_TIER_SSD), "SSD") == 0, "tier name");

    /* The default plugin is the prefix's own. */
    const char *plugin = locus_allocator_default_plugin_path();
    CHECK(strncmp(plugin, argv[2], strlen(argv[2])) == 0,
          "default plugin %s is outside the prefix %s", plugin, argv[2]);
    locus_allocator_plugin p;
    rc = locus_allocator_load(plugin, &p, err, sizeof err);
    CHECK(rc == 0, "load %s: %s", plugin, err);
    CHECK(p.api->abi_major == LOCUS_ALLOCATOR_ABI_MAJOR, "plugin ABI %u, host %d",
          (unsigned)p.api->abi_major, LOCUS_ALLOCATOR_ABI_MAJOR);
    CHECK(strcmp(p.api->name, "locus") == 0, "plugin name '%s'", p.api->name);
    locus_allocator_unload(&p);
    printf("consumer: ok (%s)\n", plugin);
    return 0;
}
