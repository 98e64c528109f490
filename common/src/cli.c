/* The shared command-line convention (see locus/cli.h): the options every
 * Locus program takes, their messages and exit codes, --version and the one
 * hint store path lookup. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "locus/allocator.h"
#include "locus/cli.h"
#include "locus/hintstore.h"

#ifndef LOCUS_VERSION
#define LOCUS_VERSION "unknown"
#endif

void locus_cli_print_version(const char *tool, FILE *out)
{
    fprintf(out, "%s %s\nplugin ABI %d.%d\nhint store schema %d\n", tool, LOCUS_VERSION,
            LOCUS_ALLOCATOR_ABI_MAJOR, LOCUS_ALLOCATOR_ABI_MINOR, LOCUS_HS_SCHEMA_VERSION);
}

static void vreport(const locus_cli *cli, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", cli->tool);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int locus_cli_usage_error(const locus_cli *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cli, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", cli->tool);
    return LOCUS_EXIT_USAGE;
}

int locus_cli_fail(const locus_cli *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cli, fmt, ap);
    va_end(ap);
    return LOCUS_EXIT_FAILURE;
}

int locus_cli_add_override(locus_cli *cli, const char *key, size_t key_len, const char *value)
{
    if (cli->n_sets == LOCUS_CLI_MAX_SETS)
        return locus_cli_usage_error(cli, "at most %d --set options", LOCUS_CLI_MAX_SETS);
    char *copy = strndup(key, key_len);
    if (!copy)
        return locus_cli_fail(cli, "out of memory");
    cli->set_keys[cli->n_sets] = copy;
    cli->sets[cli->n_sets] = (locus_cfg_override){copy, value};
    cli->n_sets++;
    return -1;
}

int locus_cli_add_set(locus_cli *cli, const char *arg)
{
    const char *eq = strchr(arg, '=');
    const char *dot = eq ? memchr(arg, '.', (size_t)(eq - arg)) : NULL;
    if (!eq || !dot || dot == arg || dot + 1 == eq)
        return locus_cli_usage_error(cli, "--set wants section.key=value, not '%s'", arg);
    return locus_cli_add_override(cli, arg, (size_t)(eq - arg), eq + 1);
}

int locus_cli_option(locus_cli *cli, int opt, const char *arg)
{
    switch (opt) {
    case 'h':
        fputs(cli->usage, stdout);
        return LOCUS_EXIT_OK;
    case 'V':
        locus_cli_print_version(cli->tool, stdout);
        return LOCUS_EXIT_OK;
    case 'c':
        cli->config_path = arg;
        return -1;
    case 's':
        return locus_cli_add_set(cli, arg);
    case LOCUS_CLI_OPT_CHECK:
        cli->check = 1;
        return -1;
    case LOCUS_CLI_OPT_STORE:
        if (!*arg)
            return locus_cli_usage_error(cli, "--store wants a folder");
        cli->store_path = arg;
        return -1;
    case '?':
    case ':':
        /* locus_cli_getopt has already named the option. */
        fprintf(stderr, "Try '%s --help' for more information.\n", cli->tool);
        return LOCUS_EXIT_USAGE;
    default:
        return -2;
    }
}

int locus_cli_getopt(locus_cli *cli, int argc, char **argv, const char *shortopts,
                     const struct option *longopts)
{
    opterr = 0; /* getopt's own messages carry argv[0], not the tool name */
    int before = optind;
    int opt = getopt_long(argc, argv, shortopts, longopts, NULL);
    if (opt == '?' || opt == ':') {
        const char *word = optind - 1 >= before && optind - 1 < argc ? argv[optind - 1] : "";
        if (optopt && strncmp(word, "--", 2) != 0)
            fprintf(stderr, "%s: %s -%c\n", cli->tool,
                    opt == ':' || strchr(shortopts, optopt) ? "option needs a value:"
                                                             : "unknown option", optopt);
        else if (optopt && strchr(word, '='))
            fprintf(stderr, "%s: option takes no value: %s\n", cli->tool, word);
        else if (opt == ':' || optopt)
            fprintf(stderr, "%s: option needs a value: %s\n", cli->tool, word);
        else
            fprintf(stderr, "%s: unknown option '%s'\n", cli->tool, word);
    }
    return opt;
}

const char *locus_cli_store_path(const locus_cli *cli)
{
    if (cli && cli->store_path)
        return cli->store_path;
    const char *env = getenv(LOCUS_HINT_STORE_ENV);
    return env && *env ? env : LOCUS_HINT_STORE_DEFAULT;
}

void locus_cli_free(locus_cli *cli)
{
    for (size_t i = 0; i < cli->n_sets; i++)
        free(cli->set_keys[i]);
    cli->n_sets = 0;
}
