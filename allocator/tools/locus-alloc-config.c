/* locus-alloc-config: prints the allocator's config reference (Markdown, for
 * docs/config.md) or a complete example file (allocator/locus.conf.example),
 * both generated from the one key table, or checks a config file together
 * with --set overrides, the way the Mesos module would load them. Follows the
 * shared command-line convention of locus/cli.h. */
#include <stdio.h>
#include <string.h>

#include "la_config.h"
#include "locus/cli.h"
#include "locus/error.h"

static const char usage[] =
    "usage: locus-alloc-config --check [-c] FILE [--set section.key=value]...\n"
    "       locus-alloc-config --print-reference | --print-example\n"
    "\n"
    "Checks an allocator config file (the Mesos module's `config` parameter) or\n"
    "prints what every key means, both from the allocator's key table.\n"
    "\n"
    "  -c, --config FILE      the config file to check (or give FILE as an argument)\n"
    "  -s, --set K=V          override one key, as a module parameter would\n"
    "      --check            load the file and overrides, report errors, exit\n"
    "      --print-reference  print the Markdown table of every key (docs/config.md)\n"
    "      --print-example    print a commented example file (locus.conf.example)\n"
    "  -h, --help             this text\n"
    "  -V, --version          version, plugin ABI and hint store schema\n"
    "\n"
    "Exit status: 0 ok, 1 the file is invalid, 2 bad command line.\n";

enum { OPT_REFERENCE = 0x2001, OPT_EXAMPLE };

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        LOCUS_CLI_LONGOPTS,
        {"print-reference", no_argument, NULL, OPT_REFERENCE},
        {"print-example", no_argument, NULL, OPT_EXAMPLE},
        /* Earlier spellings, kept so existing scripts go on working. */
        {"reference", no_argument, NULL, OPT_REFERENCE},
        {"example", no_argument, NULL, OPT_EXAMPLE},
        {NULL, 0, NULL, 0}};
    locus_cli cli = {.tool = "locus-alloc-config", .usage = usage};
    int print = 0, opt, rc = LOCUS_EXIT_OK;
    while ((opt = locus_cli_getopt(&cli, argc, argv, LOCUS_CLI_SHORTOPTS, opts)) != -1) {
        if (opt == OPT_REFERENCE || opt == OPT_EXAMPLE) {
            print = opt;
            continue;
        }
        int stop = locus_cli_option(&cli, opt, optarg);
        if (stop == -2)
            stop = locus_cli_usage_error(&cli, "option --store does not apply here");
        if (stop >= 0) {
            locus_cli_free(&cli);
            return stop;
        }
    }
    if (optind < argc && !cli.config_path)
        cli.config_path = argv[optind++];
    if (optind < argc)
        rc = locus_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    else if (print && (cli.check || cli.config_path || cli.n_sets))
        rc = locus_cli_usage_error(&cli, "--print-* takes no config file, --check or --set");
    else if (print)
        rc = (print == OPT_REFERENCE
                  ? locus_cfg_write_reference(la_config_keys, la_config_n_keys, stdout)
                  : locus_cfg_write_example(la_config_keys, la_config_n_keys, stdout))
                 ? locus_cli_fail(&cli, "cannot write to standard output")
                 : LOCUS_EXIT_OK;
    else if (!cli.config_path && !cli.check)
        rc = locus_cli_usage_error(&cli, "nothing to do: give --check FILE or --print-reference");
    else if (!cli.config_path)
        rc = locus_cli_usage_error(&cli, "--check wants a config file (-c FILE)");
    else {
        la_config c = {0};
        char err[1024];
        if (la_config_load(&c, cli.config_path, cli.sets, cli.n_sets, err, sizeof err))
            rc = locus_cli_fail(&cli, "%s", err);
        else
            printf("%s: ok\n", cli.config_path);
        la_config_free(&c);
    }
    locus_cli_free(&cli);
    return rc;
}
