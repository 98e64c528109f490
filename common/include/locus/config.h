/* Table-driven config files shared by the allocator and the probe.
 *
 * Format: INI, `[section]` headers and `key = value` lines of any length,
 * `#` or `;` comments on their own line or after a value (preceded by a
 * blank); a file that sets no key is refused. A component describes its keys once in a table
 * of locus_cfg_key (type, default, unit, range, help) and gets from it the
 * parser, the range checks, the error messages (file:line: section.key: why),
 * the override syntax for module parameters (`section.key=value`) and the
 * generated reference docs. Loading is all-or-nothing: on any error the target
 * struct is left exactly as it was, so a bad reload keeps the previous config.
 */
#ifndef LOCUS_CONFIG_H
#define LOCUS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum locus_cfg_type {
    LOCUS_CFG_BOOL,   /* stored as int: true/false, yes/no, on/off, 1/0 */
    LOCUS_CFG_INT,    /* stored as int64_t; unit "bytes" also takes K/M/G/T (powers of 1024) */
    LOCUS_CFG_DOUBLE, /* stored as double */
    LOCUS_CFG_STRING, /* stored as char * (heap, owned by the struct; see locus_cfg_free) */
    LOCUS_CFG_ENUM    /* stored as int: index into choices */
} locus_cfg_type;

typedef struct locus_cfg_key {
    const char *section;         /* INI section, e.g. "policy" */
    const char *name;            /* key within the section, e.g. "fairness_slack" */
    locus_cfg_type type;
    size_t offset;               /* offsetof(target struct, field) */
    const char *default_value;   /* textual default, parsed like a file value; "" for empty string */
    double min, max;             /* inclusive range for INT and DOUBLE */
    const char *unit;            /* "s", "bytes", "bytes/s", "" ... (for docs and messages) */
    const char *const *choices;  /* NULL-terminated names, for ENUM */
    const char *help;            /* one sentence for docs and the example file */
} locus_cfg_key;

/* A `section.key` = value pair given outside the file (Mesos module
 * parameters, command-line flags). */
typedef struct locus_cfg_override {
    const char *key;
    const char *value;
} locus_cfg_override;

/* Builds a config into *target (a struct of target_size bytes described by
 * keys): defaults, then the file at path (NULL: no file), then the overrides
 * in order. Returns 0, or LOCUS_ECONFIG / LOCUS_EIO / LOCUS_ENOMEM with a
 * message in err naming the file and line (or "override" and the key). On
 * error *target is untouched; on success its previous strings are freed. */
int locus_cfg_load(const locus_cfg_key *keys, size_t n_keys, void *target, size_t target_size,
                   const char *path, const locus_cfg_override *overrides, size_t n_overrides,
                   char *err, size_t errlen);

/* One table of keys and its target, for files whose sections are described
 * by several modules (the probe: core keys plus one table per backend). */
typedef struct locus_cfg_part {
    const locus_cfg_key *keys;
    size_t n_keys;
    void *target;
    size_t target_size;
} locus_cfg_part;

/* locus_cfg_load over several parts: a key belongs to the first part whose
 * table names it; a key no part names is an error. All-or-nothing across
 * parts. */
int locus_cfg_load_parts(const locus_cfg_part *parts, size_t n_parts, const char *path,
                         const locus_cfg_override *overrides, size_t n_overrides,
                         char *err, size_t errlen);

/* Frees the STRING fields of *target and sets them to NULL. NULL target: no-op. */
void locus_cfg_free(const locus_cfg_key *keys, size_t n_keys, void *target);

/* Finds a key by "section.name"; NULL if unknown. */
const locus_cfg_key *locus_cfg_find(const locus_cfg_key *keys, size_t n_keys, const char *dotted);

/* Writes a Markdown table (key, type, default, unit, range, meaning). */
int locus_cfg_write_reference(const locus_cfg_key *keys, size_t n_keys, FILE *out);

/* Writes a complete example file: every key commented with its help, unit,
 * range, and set to its default. */
int locus_cfg_write_example(const locus_cfg_key *keys, size_t n_keys, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
