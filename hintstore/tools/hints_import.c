/* JSON-lines import into a hint store batch (see hints_import.h). Every key
 * is checked: unknown keys, wrong types, negative numbers and unknown tiers
 * are refused with the reason, so a typo is never silently dropped; the
 * store's own limits (name and host lengths, replica count) are applied by
 * locus_hs_batch_put and reported in its words. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "hints_import.h"

static int only_keys(json_t *o, const char *const *allowed, const char *what, char *why,
                     size_t whylen)
{
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        size_t i = 0;
        while (allowed[i] && strcmp(key, allowed[i]) != 0)
            i++;
        if (!allowed[i]) {
            snprintf(why, whylen, "unknown key \"%s\"%s", key, what);
            return -1;
        }
    }
    return 0;
}

static int import_binding(locus_hs *hs, locus_hs_batch *b, json_t *o, char *why, size_t whylen)
{
    static const char *const keys[] = {"bind", "agent_hostname", "agent_id", NULL};
    if (only_keys(o, keys, " in a binding", why, whylen))
        return -1;
    json_t *bind = json_object_get(o, "bind"), *ah = json_object_get(o, "agent_hostname"),
           *id = json_object_get(o, "agent_id");
    if (!json_is_string(bind) || !json_is_string(ah) || (id && !json_is_string(id))) {
        snprintf(why, whylen, "a binding needs string \"bind\" and \"agent_hostname\""
                              " (and an optional string \"agent_id\")");
        return -1;
    }
    if (locus_hs_batch_bind_host(b, json_string_value(bind), json_string_value(ah),
                                 id ? json_string_value(id) : NULL) != 0) {
        snprintf(why, whylen, "%s", locus_hs_errstr(hs));
        return -1;
    }
    return 1;
}

static int import_block(locus_hs *hs, locus_hs_batch *b, json_t *o, char *why, size_t whylen)
{
    /* backend and updated_at_ms are what `dump --blocks` prints: accepted so
     * a dump reads back, but the batch's backend and commit time win. */
    static const char *const keys[] = {"dataset",  "index",   "bytes",        "replicas",
                                       "backend", "updated_at_ms", NULL};
    if (only_keys(o, keys, "", why, whylen))
        return -1;
    json_t *ds = json_object_get(o, "dataset"), *idx = json_object_get(o, "index"),
           *bytes = json_object_get(o, "bytes"), *reps = json_object_get(o, "replicas");
    if (!json_is_string(ds)) {
        snprintf(why, whylen, "\"dataset\" must be a string");
        return -1;
    }
    if (!json_is_integer(idx) || json_integer_value(idx) < 0) {
        snprintf(why, whylen, "\"index\" must be an integer >= 0");
        return -1;
    }
    if (!json_is_integer(bytes) || json_integer_value(bytes) < 0) {
        snprintf(why, whylen, "\"bytes\" must be an integer >= 0");
        return -1;
    }
    if (reps && !json_is_array(reps)) {
        snprintf(why, whylen, "\"replicas\" must be an array");
        return -1;
    }
    size_t n = reps ? json_array_size(reps) : 0;
    locus_hs_replica *r = calloc(n + 1, sizeof(*r));
    if (!r) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(reps, i), *h = json_object_get(e, "host"),
               *t = json_object_get(e, "tier");
        if (!json_is_object(e) || !json_is_string(h) || !json_is_string(t) ||
            json_object_size(e) != 2) {
            snprintf(why, whylen, "replica %zu must be {\"host\":\"...\",\"tier\":\"MEM|SSD|HDD\"}",
                     i);
            goto out;
        }
        if (locus_tier_parse(json_string_value(t), &r[i].tier) != 0) {
            snprintf(why, whylen, "replica %zu: unknown tier \"%s\"", i, json_string_value(t));
            goto out;
        }
        r[i].host = json_string_value(h);
    }
    locus_hs_block blk = {json_string_value(ds), (uint64_t)json_integer_value(idx),
                          (uint64_t)json_integer_value(bytes), r, n};
    if (locus_hs_batch_put(b, &blk) != 0)
        snprintf(why, whylen, "%s", locus_hs_errstr(hs));
    else
        rc = 0;
out:
    free(r);
    return rc;
}

int hints_import_line(locus_hs *hs, locus_hs_batch *b, const char *line, size_t len, char *why,
                      size_t whylen)
{
    json_error_t jerr;
    /* json_loadb, not json_loads: a NUL byte inside the line is an error,
     * not the silent end of it. */
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf(why, whylen, "column %d: %s", jerr.column, jerr.text);
        return -1;
    }
    int rc;
    if (!json_is_object(o)) {
        snprintf(why, whylen, "expected a JSON object");
        rc = -1;
    } else if (json_object_get(o, "bind")) {
        rc = import_binding(hs, b, o, why, whylen);
    } else {
        rc = import_block(hs, b, o, why, whylen);
    }
    json_decref(o);
    return rc;
}

int hints_import_stream(FILE *in, const char *name, locus_hs *hs, locus_hs_batch *b,
                        hints_import_counts *counts, char *err, size_t errlen)
{
    hints_import_counts n = {0, 0, 0};
    char *line = NULL, why[600];
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        n.lines++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        size_t sp = strspn(line, " \t");
        if ((ssize_t)sp == len)
            continue;
        int kind = hints_import_line(hs, b, line, (size_t)len, why, sizeof(why));
        if (kind < 0) {
            snprintf(err, errlen, "%s:%zu: %s", name, n.lines, why);
            rc = -1;
            break;
        }
        if (kind)
            n.bindings++;
        else
            n.blocks++;
    }
    if (rc == 0 && ferror(in)) {
        snprintf(err, errlen, "%s:%zu: read error: %s", name, n.lines + 1, strerror(errno));
        rc = -1;
    }
    free(line);
    if (counts)
        *counts = n;
    return rc;
}
