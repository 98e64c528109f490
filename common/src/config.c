/* Table-driven INI config (see locus/config.h).
 *
 * The lexer is our own (a line at a time, any length): `[section]` headers,
 * `key = value` lines, whole-line `#`/`;` comments and comments after a value
 * when the `#` or `;` follows a blank (so `a#b` stays a value). This file
 * also owns the meaning: which keys exist, their types, ranges and defaults,
 * and the error messages, each naming file:line and the key.
 *
 * A file that sets no key at all is refused: an empty or truncated file would
 * otherwise load as "all defaults" and, on a reload, silently switch a
 * running component to the defaults (for the allocator, another policy).
 *
 * All-or-nothing: every part is built in a scratch copy (defaults, file,
 * overrides) and copied over the caller's struct only when everything parsed.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "locus/config.h"
#include "locus/error.h"
#include "locus/util.h"

#define SEEN_MAX 512 /* keys per load tracked for duplicate detection */

typedef struct scratch_part {
    const locus_cfg_part *part;
    unsigned char *copy;      /* scratch target */
} scratch_part;

typedef struct load_ctx {
    scratch_part *parts;
    size_t n_parts;
    const char *origin;       /* file path, or "override" */
    int line;                 /* current line of the file */
    size_t n_entries;         /* key = value lines read from the file */
    char *err;
    size_t errlen;
    int status;               /* first error */
    struct { const locus_cfg_key *key; int line; } seen[SEEN_MAX];
    size_t n_seen;
} load_ctx;

static void *field(void *target, const locus_cfg_key *k)
{
    return (unsigned char *)target + k->offset;
}

static bool parse_bool(const char *v, int *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) { *out = 1; return true; }
        if (strcasecmp(v, no[i]) == 0) { *out = 0; return true; }
    }
    return false;
}

/* Integer with an optional binary size suffix when the unit is bytes. */
static bool parse_int(const char *v, const locus_cfg_key *k, int64_t *out)
{
    errno = 0;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (end == v || errno == ERANGE)
        return false;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end && k->unit && strcmp(k->unit, "bytes") == 0) {
        static const char *suffix[] = {"K", "M", "G", "T"};
        int found = -1;
        for (int i = 0; i < 4; i++) {
            size_t l = strlen(suffix[i]);
            if (strncasecmp(end, suffix[i], l) == 0 &&
                (end[l] == 0 || strcasecmp(end + l, "B") == 0 || strcasecmp(end + l, "iB") == 0)) {
                found = i;
                break;
            }
        }
        if (found < 0)
            return false;
        for (int i = 0; i <= found; i++) {
            if (n > INT64_MAX / 1024 || n < INT64_MIN / 1024)
                return false;
            n *= 1024;
        }
        end += strlen(end);
    }
    if (*end)
        return false;
    *out = n;
    return true;
}

static bool parse_double(const char *v, double *out)
{
    errno = 0;
    char *end = NULL;
    double d = strtod(v, &end);
    if (end == v || errno == ERANGE || !isfinite(d))
        return false;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return false;
    *out = d;
    return true;
}

static void describe_choices(const locus_cfg_key *k, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; k->choices && k->choices[i]; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", k->choices[i]);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
}

/* Parses value into target's field. where = "file:line" or "override". */
static int apply(void *target, const locus_cfg_key *k, const char *value, const char *where,
                 char *err, size_t errlen)
{
    switch (k->type) {
    case LOCUS_CFG_BOOL: {
        int b;
        if (!parse_bool(value, &b)) {
            locus_errf(err, errlen, "%s: %s.%s: '%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
                    where, k->section, k->name, value);
            return LOCUS_ECONFIG;
        }
        *(int *)field(target, k) = b;
        return 0;
    }
    case LOCUS_CFG_INT: {
        int64_t n;
        if (!parse_int(value, k, &n)) {
            locus_errf(err, errlen, "%s: %s.%s: '%s' is not an integer%s", where, k->section, k->name,
                    value, k->unit && strcmp(k->unit, "bytes") == 0 ? " (optionally with K, M, G or T)" : "");
            return LOCUS_ECONFIG;
        }
        if ((double)n < k->min || (double)n > k->max) {
            locus_errf(err, errlen, "%s: %s.%s: %lld is out of range [%.17g, %.17g]%s%s", where,
                    k->section, k->name, (long long)n, k->min, k->max, k->unit && *k->unit ? " " : "",
                    k->unit ? k->unit : "");
            return LOCUS_ECONFIG;
        }
        *(int64_t *)field(target, k) = n;
        return 0;
    }
    case LOCUS_CFG_DOUBLE: {
        double d;
        if (!parse_double(value, &d)) {
            locus_errf(err, errlen, "%s: %s.%s: '%s' is not a number", where, k->section, k->name, value);
            return LOCUS_ECONFIG;
        }
        if (d < k->min || d > k->max) {
            locus_errf(err, errlen, "%s: %s.%s: %.17g is out of range [%.17g, %.17g]%s%s", where,
                    k->section, k->name, d, k->min, k->max, k->unit && *k->unit ? " " : "",
                    k->unit ? k->unit : "");
            return LOCUS_ECONFIG;
        }
        *(double *)field(target, k) = d;
        return 0;
    }
    case LOCUS_CFG_STRING: {
        char *copy = strdup(value);
        if (!copy) {
            locus_errf(err, errlen, "%s: %s.%s: out of memory", where, k->section, k->name);
            return LOCUS_ENOMEM;
        }
        char **slot = (char **)field(target, k);
        free(*slot);
        *slot = copy;
        return 0;
    }
    case LOCUS_CFG_ENUM:
        for (int i = 0; k->choices && k->choices[i]; i++) {
            if (strcmp(k->choices[i], value) == 0) {
                *(int *)field(target, k) = i;
                return 0;
            }
        }
        {
            char choices[256];
            describe_choices(k, choices, sizeof choices);
            locus_errf(err, errlen, "%s: %s.%s: '%s' is not one of: %s", where, k->section, k->name,
                    value, choices);
        }
        return LOCUS_ECONFIG;
    }
    locus_errf(err, errlen, "%s: %s.%s: key has an unknown type", where, k->section, k->name);
    return LOCUS_ECONFIG;
}

static const locus_cfg_key *find_key(const locus_cfg_key *keys, size_t n, const char *section,
                                     size_t section_len, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(keys[i].section) == section_len &&
            strncmp(keys[i].section, section, section_len) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    }
    return NULL;
}

const locus_cfg_key *locus_cfg_find(const locus_cfg_key *keys, size_t n_keys, const char *dotted)
{
    if (!keys || !dotted)
        return NULL;
    const char *dot = strrchr(dotted, '.');
    if (!dot)
        return NULL;
    return find_key(keys, n_keys, dotted, (size_t)(dot - dotted), dot + 1);
}

/* The key and the scratch struct it belongs to, or NULL. */
static const locus_cfg_key *lookup(load_ctx *c, const char *section, size_t section_len,
                                   const char *name, void **target)
{
    for (size_t p = 0; p < c->n_parts; p++) {
        const locus_cfg_part *part = c->parts[p].part;
        const locus_cfg_key *k = find_key(part->keys, part->n_keys, section, section_len, name);
        if (k) {
            *target = c->parts[p].copy;
            return k;
        }
    }
    return NULL;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    load_ctx *c = user;
    char where[4200];
    snprintf(where, sizeof where, "%s:%d", c->origin, c->line);
    void *target = NULL;
    const locus_cfg_key *k = lookup(c, section, strlen(section), name, &target);
    if (!k) {
        if (!*section)
            locus_errf(c->err, c->errlen, "%s: key '%s' is outside any [section]", where, name);
        else
            locus_errf(c->err, c->errlen, "%s: unknown key '%s' in section [%s]", where, name, section);
        c->status = LOCUS_ECONFIG;
        return 0;
    }
    for (size_t i = 0; i < c->n_seen; i++) {
        if (c->seen[i].key == k) {
            locus_errf(c->err, c->errlen, "%s: %s.%s is set twice (first at line %d)", where,
                    k->section, k->name, c->seen[i].line);
            c->status = LOCUS_ECONFIG;
            return 0;
        }
    }
    if (c->n_seen < SEEN_MAX) {
        c->seen[c->n_seen].key = k;
        c->seen[c->n_seen].line = c->line;
        c->n_seen++;
    }
    int rc = apply(target, k, value, where, c->err, c->errlen);
    if (rc) {
        c->status = rc;
        return 0;
    }
    return 1;
}

static void free_strings(const locus_cfg_key *keys, size_t n, void *target)
{
    for (size_t i = 0; i < n; i++) {
        if (keys[i].type == LOCUS_CFG_STRING) {
            char **slot = (char **)field(target, &keys[i]);
            free(*slot);
            *slot = NULL;
        }
    }
}

void locus_cfg_free(const locus_cfg_key *keys, size_t n_keys, void *target)
{
    if (!keys || !target)
        return;
    free_strings(keys, n_keys, target);
}

static int apply_defaults(const locus_cfg_part *part, void *target, char *err, size_t errlen)
{
    for (size_t i = 0; i < part->n_keys; i++) {
        const locus_cfg_key *k = &part->keys[i];
        if (k->type == LOCUS_CFG_STRING)
            *(char **)field(target, k) = NULL; /* scratch copy must not free the caller's strings */
    }
    for (size_t i = 0; i < part->n_keys; i++) {
        const locus_cfg_key *k = &part->keys[i];
        int rc = apply(target, k, k->default_value ? k->default_value : "", "default", err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

static void trim(char **start, char **end)
{
    while (*start < *end && (**start == ' ' || **start == '\t'))
        (*start)++;
    while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r' ||
                             (*end)[-1] == '\n'))
        (*end)--;
}

/* Cuts a value at a `#` or `;` that starts a comment (preceded by a blank). */
static void cut_comment(char *v, char **end)
{
    for (char *p = v; p < *end; p++) {
        if ((*p == '#' || *p == ';') && p > v && (p[-1] == ' ' || p[-1] == '\t')) {
            *end = p;
            return;
        }
    }
}

/* One line (NUL-terminated, no length limit). Returns 0 or an error code. */
static int lex_line(load_ctx *c, char *line, char **section)
{
    char *s = line, *e = line + strlen(line);
    trim(&s, &e);
    if (s == e || *s == '#' || *s == ';')
        return 0;
    *e = 0;
    if (*s == '[') {
        char *close = strchr(s, ']');
        char *after = close ? close + 1 : NULL;
        if (after) {
            char *ae = e;
            trim(&after, &ae);
            if (after < ae && *after != '#' && *after != ';')
                close = NULL;
        }
        if (!close) {
            locus_errf(c->err, c->errlen, "%s:%d: syntax error (section header without ']')",
                       c->origin, c->line);
            return LOCUS_ECONFIG;
        }
        char *ns = s + 1, *ne = close;
        trim(&ns, &ne);
        *ne = 0;
        char *copy = strdup(ns);
        if (!copy) {
            locus_errf(c->err, c->errlen, "%s:%d: out of memory", c->origin, c->line);
            return LOCUS_ENOMEM;
        }
        free(*section);
        *section = copy;
        return 0;
    }
    char *eq = strchr(s, '=');
    if (!eq) {
        locus_errf(c->err, c->errlen, "%s:%d: syntax error (expected [section] or key = value)",
                   c->origin, c->line);
        return LOCUS_ECONFIG;
    }
    char *ks = s, *ke = eq;
    trim(&ks, &ke);
    *ke = 0;
    if (!*ks) {
        locus_errf(c->err, c->errlen, "%s:%d: syntax error (no key before '=')", c->origin, c->line);
        return LOCUS_ECONFIG;
    }
    char *vs = eq + 1, *ve = e;
    trim(&vs, &ve);
    cut_comment(vs, &ve);
    trim(&vs, &ve);
    *ve = 0;
    c->n_entries++;
    return on_entry(c, *section ? *section : "", ks, vs) ? 0 : c->status;
}

static int load_file(load_ctx *c, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        int e = errno;
        locus_errf(c->err, c->errlen, "%s: cannot open config file: %s", path, strerror(e));
        return LOCUS_EIO;
    }
    c->origin = path;
    c->line = 0;
    c->n_entries = 0;
    char *line = NULL, *section = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (!rc && (n = getline(&line, &cap, fp)) >= 0) {
        c->line++;
        if (memchr(line, 0, (size_t)n)) {
            locus_errf(c->err, c->errlen, "%s:%d: NUL byte in the line (not a text file?)", path,
                       c->line);
            rc = LOCUS_ECONFIG;
            break;
        }
        rc = lex_line(c, line, &section);
    }
    if (!rc && ferror(fp)) {
        locus_errf(c->err, c->errlen, "%s: cannot read config file: %s", path, strerror(errno));
        rc = LOCUS_EIO;
    }
    if (!rc && c->n_entries == 0) {
        locus_errf(c->err, c->errlen,
                   "%s: the file sets no key (empty or only comments); refusing to fall back to "
                   "every default", path);
        rc = LOCUS_ECONFIG;
    }
    free(line);
    free(section);
    fclose(fp);
    return rc;
}

static int apply_override(load_ctx *c, const locus_cfg_override *o)
{
    const char *dot = o->key ? strrchr(o->key, '.') : NULL;
    void *target = NULL;
    const locus_cfg_key *k =
        dot ? lookup(c, o->key, (size_t)(dot - o->key), dot + 1, &target) : NULL;
    if (!k) {
        locus_errf(c->err, c->errlen, "override: unknown key '%s' (expected section.key)",
                o->key ? o->key : "(null)");
        return LOCUS_ECONFIG;
    }
    return apply(target, k, o->value ? o->value : "", "override", c->err, c->errlen);
}

int locus_cfg_load_parts(const locus_cfg_part *parts, size_t n_parts, const char *path,
                         const locus_cfg_override *overrides, size_t n_overrides, char *err,
                         size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    load_ctx *c = calloc(1, sizeof *c);
    scratch_part *sp = calloc(n_parts ? n_parts : 1, sizeof *sp);
    if (!c || !sp) {
        free(c);
        free(sp);
        locus_errf(err, errlen, "out of memory");
        return LOCUS_ENOMEM;
    }
    c->parts = sp;
    c->n_parts = n_parts;
    c->err = err;
    c->errlen = errlen;
    int rc = 0;
    for (size_t p = 0; p < n_parts && !rc; p++) {
        sp[p].part = &parts[p];
        sp[p].copy = malloc(parts[p].target_size ? parts[p].target_size : 1);
        if (!sp[p].copy) {
            locus_errf(err, errlen, "out of memory");
            rc = LOCUS_ENOMEM;
            break;
        }
        /* Fields no key describes keep the caller's values. */
        memcpy(sp[p].copy, parts[p].target, parts[p].target_size);
        rc = apply_defaults(&parts[p], sp[p].copy, err, errlen);
    }
    if (!rc && path)
        rc = load_file(c, path);
    for (size_t i = 0; !rc && i < n_overrides; i++)
        rc = apply_override(c, &overrides[i]);
    for (size_t p = 0; p < n_parts; p++) {
        if (!sp[p].copy)
            continue;
        if (!rc) {
            free_strings(parts[p].keys, parts[p].n_keys, parts[p].target);
            memcpy(parts[p].target, sp[p].copy, parts[p].target_size);
        } else {
            free_strings(parts[p].keys, parts[p].n_keys, sp[p].copy);
        }
        free(sp[p].copy);
    }
    free(sp);
    free(c);
    return rc;
}

int locus_cfg_load(const locus_cfg_key *keys, size_t n_keys, void *target, size_t target_size,
                   const char *path, const locus_cfg_override *overrides, size_t n_overrides,
                   char *err, size_t errlen)
{
    locus_cfg_part part = {keys, n_keys, target, target_size};
    return locus_cfg_load_parts(&part, 1, path, overrides, n_overrides, err, errlen);
}

static const char *type_name(const locus_cfg_key *k)
{
    switch (k->type) {
    case LOCUS_CFG_BOOL: return "bool";
    case LOCUS_CFG_INT: return "integer";
    case LOCUS_CFG_DOUBLE: return "number";
    case LOCUS_CFG_STRING: return "string";
    case LOCUS_CFG_ENUM: return "choice";
    }
    return "?";
}

static void describe_range(const locus_cfg_key *k, char *buf, size_t len)
{
    if (k->type == LOCUS_CFG_INT || k->type == LOCUS_CFG_DOUBLE)
        snprintf(buf, len, "%.15g .. %.15g", k->min, k->max);
    else if (k->type == LOCUS_CFG_ENUM)
        describe_choices(k, buf, len);
    else if (k->type == LOCUS_CFG_BOOL)
        snprintf(buf, len, "true, false");
    else
        snprintf(buf, len, "-");
}

int locus_cfg_write_reference(const locus_cfg_key *keys, size_t n_keys, FILE *out)
{
    if (fprintf(out, "| key | type | default | unit | range | meaning |\n|---|---|---|---|---|---|\n") < 0)
        return LOCUS_EIO;
    for (size_t i = 0; i < n_keys; i++) {
        const locus_cfg_key *k = &keys[i];
        char range[256];
        describe_range(k, range, sizeof range);
        const char *def = k->default_value && *k->default_value ? k->default_value : "(empty)";
        if (fprintf(out, "| `%s.%s` | %s | `%s` | %s | %s | %s |\n", k->section, k->name,
                    type_name(k), def, k->unit && *k->unit ? k->unit : "-", range,
                    k->help ? k->help : "") < 0)
            return LOCUS_EIO;
    }
    return 0;
}

int locus_cfg_write_example(const locus_cfg_key *keys, size_t n_keys, FILE *out)
{
    const char *section = NULL;
    for (size_t i = 0; i < n_keys; i++) {
        const locus_cfg_key *k = &keys[i];
        if (!section || strcmp(section, k->section) != 0) {
            section = k->section;
            if (fprintf(out, "%s[%s]\n", i ? "\n" : "", section) < 0)
                return LOCUS_EIO;
        }
        char range[256];
        describe_range(k, range, sizeof range);
        if (fprintf(out, "# %s\n# type: %s; unit: %s; range: %s\n%s = %s\n", k->help ? k->help : "",
                    type_name(k), k->unit && *k->unit ? k->unit : "-", range, k->name,
                    k->default_value ? k->default_value : "") < 0)
            return LOCUS_EIO;
    }
    return 0;
}
