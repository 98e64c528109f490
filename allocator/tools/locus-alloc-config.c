/* locus-alloc-config: prints the allocator's config reference (Markdown, for
 * docs/config.md) or a complete example file (allocator/locus.conf.example),
 * both generated from the one key table, or checks a config file. */
#include <stdio.h>
#include <string.h>

#include "la_config.h"
#include "locus/error.h"

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--example") == 0)
        return locus_cfg_write_example(la_config_keys, la_config_n_keys, stdout) ? 1 : 0;
    if (argc == 2 && strcmp(argv[1], "--reference") == 0)
        return locus_cfg_write_reference(la_config_keys, la_config_n_keys, stdout) ? 1 : 0;
    if (argc == 3 && strcmp(argv[1], "--check") == 0) {
        la_config c = {0};
        char err[512];
        int rc = la_config_load(&c, argv[2], NULL, 0, err, sizeof err);
        la_config_free(&c);
        if (rc) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("%s: ok\n", argv[2]);
        return 0;
    }
    fprintf(stderr, "usage: %s --example | --reference | --check FILE\n", argv[0]);
    return 2;
}
