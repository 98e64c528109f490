/* One command-line convention for every Locus program.
 *
 * Each tool parses its argv with getopt_long and hands the shared options to
 * locus_cli_option(): -h/--help (usage on stdout, exit 0), -V/--version
 * (version, plugin ABI, store schema), -c/--config FILE, -s/--set
 * section.key=value (repeatable), --check, --store PATH. getopt_long accepts
 * `--opt value` and `--opt=value` alike. Exit codes are the same everywhere:
 * 0 success, 1 runtime failure, 2 usage error; every message starts with
 * `locus-TOOL: `. The hint store path has one name (--store) and one
 * environment variable (LOCUS_HINT_STORE) in every tool.
 */
#ifndef LOCUS_CLI_H
#define LOCUS_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "locus/config.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    LOCUS_EXIT_OK = 0,
    LOCUS_EXIT_FAILURE = 1, /* runtime failure: bad file, store error, ... */
    LOCUS_EXIT_USAGE = 2    /* bad command line */
};

#define LOCUS_HINT_STORE_ENV "LOCUS_HINT_STORE"
#define LOCUS_HINT_STORE_DEFAULT "/var/lib/locus/hints"
#define LOCUS_CLI_MAX_SETS 64

/* getopt values of the long-only shared options (outside the char range). */
enum { LOCUS_CLI_OPT_CHECK = 0x1001, LOCUS_CLI_OPT_STORE = 0x1002 };

/* Short options and long-option entries every tool puts first in its own
 * tables; a tool leaves out what it does not take (locus_cli_option then
 * never sees it). */
#define LOCUS_CLI_SHORTOPTS "hVc:s:"
#define LOCUS_CLI_LONGOPTS                                                     \
    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},    \
    {"config", required_argument, NULL, 'c'},                                  \
    {"set", required_argument, NULL, 's'},                                     \
    {"check", no_argument, NULL, LOCUS_CLI_OPT_CHECK},                         \
    {"store", required_argument, NULL, LOCUS_CLI_OPT_STORE}

/* What the shared options collected. */
typedef struct locus_cli {
    const char *tool;        /* "locus-probe": message prefix and --version name */
    const char *usage;       /* full --help text */
    const char *config_path; /* -c/--config, or NULL */
    const char *store_path;  /* --store, or NULL (see locus_cli_store_path) */
    int check;               /* --check given */
    locus_cfg_override sets[LOCUS_CLI_MAX_SETS]; /* -s/--set, in order */
    char *set_keys[LOCUS_CLI_MAX_SETS];          /* owned copies of the keys */
    size_t n_sets;
} locus_cli;

/* getopt_long with the tool's own messages: an unknown option or a missing
 * value is reported as "locus-TOOL: ..." and returned as '?'. */
int locus_cli_getopt(locus_cli *cli, int argc, char **argv, const char *shortopts,
                     const struct option *longopts);

/* Handles one getopt_long result. Returns -1 when the option was a shared
 * one and parsing goes on, an exit code (0 after --help/--version, 2 after a
 * usage error, already reported) when the program should stop, and -2 when
 * opt is not a shared option (the tool handles it). '?' and ':' from
 * getopt_long count as shared: a usage error. */
int locus_cli_option(locus_cli *cli, int opt, const char *arg);

/* Reports a usage error ("locus-TOOL: message" and a pointer to --help) on
 * stderr; returns LOCUS_EXIT_USAGE. */
int locus_cli_usage_error(const locus_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reports a runtime failure ("locus-TOOL: message") on stderr; returns
 * LOCUS_EXIT_FAILURE. */
int locus_cli_fail(const locus_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "TOOL VERSION", the plugin ABI and the hint store schema. */
void locus_cli_print_version(const char *tool, FILE *out);

/* The hint store folder: --store, else $LOCUS_HINT_STORE, else the default. */
const char *locus_cli_store_path(const locus_cli *cli);

/* Adds one section.key=value override; returns 0, or a usage error (2). */
int locus_cli_add_set(locus_cli *cli, const char *arg);

/* Adds the override key[0..key_len) = value (value is not copied: it must
 * outlive the cli, like argv and getenv strings); returns -1, or an exit
 * code after reporting. */
int locus_cli_add_override(locus_cli *cli, const char *key, size_t key_len, const char *value);

/* Frees the copies kept by -s/--set. */
void locus_cli_free(locus_cli *cli);

#ifdef __cplusplus
}
#endif
#endif
