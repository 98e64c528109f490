/* Dataset patterns of the Redis backend (see backend_redis_pattern.h).
 *
 * Prefix-and-capture instead of full globs: a dataset is a key family, and
 * the common shape is a hash-tagged name ("{ds}:part"), which a prefix and a
 * terminating suffix describe exactly while matching in one memmem. With a
 * single item the server filters too (SCAN MATCH), so unrelated keys never
 * cross the network. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "locus/error.h"

#include "backend_redis_pattern.h"

typedef struct pattern {
    char *prefix;       /* literal text the key starts with */
    size_t prefix_len;
    char *suffix;       /* text ending the captured name; NULL for fixed names */
    size_t suffix_len;
    char *name;         /* fixed dataset name when suffix is NULL */
    size_t name_len;
} pattern;

struct probe_redis_patterns {
    pattern *items;
    size_t n;
    char *glob;
};

void probe_redis_patterns_free(probe_redis_patterns *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].prefix);
        free(p->items[i].suffix);
        free(p->items[i].name);
    }
    free(p->items);
    free(p->glob);
    free(p);
}

static char *dup_span(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Appends s (n bytes) to glob with Redis glob specials escaped. */
static char *glob_escape(char *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strchr("*?[]\\", s[i]))
            *out++ = '\\';
        *out++ = s[i];
    }
    return out;
}

static int parse_item(const char *item, size_t len, pattern *pt, char *err, size_t errlen)
{
    const char *eq = memchr(item, '=', len);
    const char *body = item;
    size_t body_len = len;
    if (eq) {
        body = eq + 1;
        body_len = len - (size_t)(eq - item) - 1;
        if (eq == item) {
            snprintf(err, errlen, "redis.datasets: item '%.*s': empty name before '='", (int)len, item);
            return LOCUS_ECONFIG;
        }
    }
    const char *star = memchr(body, '*', body_len);
    if (body_len == 0) {
        snprintf(err, errlen, "redis.datasets: item '%.*s': empty key prefix", (int)len, item);
        return LOCUS_ECONFIG;
    }
    if (star && memchr(star + 1, '*', body_len - (size_t)(star - body) - 1)) {
        snprintf(err, errlen, "redis.datasets: item '%.*s': more than one '*'", (int)len, item);
        return LOCUS_ECONFIG;
    }
    if (star && eq) {
        snprintf(err, errlen, "redis.datasets: item '%.*s': a named item takes a plain prefix, no '*'",
                 (int)len, item);
        return LOCUS_ECONFIG;
    }
    if (star && star == body + body_len - 1) {
        snprintf(err, errlen,
                 "redis.datasets: item '%.*s': '*' must be followed by the text that ends the name",
                 (int)len, item);
        return LOCUS_ECONFIG;
    }
    if (star) {
        pt->prefix_len = (size_t)(star - body);
        pt->suffix_len = body_len - pt->prefix_len - 1;
        pt->prefix = dup_span(body, pt->prefix_len);
        pt->suffix = dup_span(star + 1, pt->suffix_len);
        if (!pt->prefix || !pt->suffix)
            return LOCUS_ENOMEM;
    } else {
        pt->prefix_len = body_len;
        pt->prefix = dup_span(body, body_len);
        pt->name_len = eq ? (size_t)(eq - item) : body_len;
        pt->name = dup_span(item, pt->name_len);
        if (!pt->prefix || !pt->name)
            return LOCUS_ENOMEM;
    }
    return 0;
}

/* First occurrence of needle in hay (memmem is a GNU extension). */
static const char *find_span(const char *hay, size_t n, const char *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, m) == 0)
            return hay + i;
    return NULL;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

int probe_redis_patterns_parse(const char *spec, probe_redis_patterns **out, char *err,
                               size_t errlen)
{
    *out = NULL;
    probe_redis_patterns *p = calloc(1, sizeof *p);
    if (!p)
        return LOCUS_ENOMEM;
    size_t cap = 1;
    for (const char *c = spec ? spec : ""; *c; c++)
        cap += *c == ',';
    p->items = calloc(cap, sizeof *p->items);
    if (!p->items) {
        free(p);
        return LOCUS_ENOMEM;
    }
    const char *s = spec ? spec : "";
    while (*s) {
        const char *end = strchr(s, ',');
        if (!end)
            end = s + strlen(s);
        const char *a = s, *b = end;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        if (b > a) {
            int rc = parse_item(a, (size_t)(b - a), &p->items[p->n], err, errlen);
            p->n++;
            if (rc) {
                probe_redis_patterns_free(p);
                return rc;
            }
        }
        s = *end ? end + 1 : end;
    }
    if (p->n == 0) {
        snprintf(err, errlen, "redis.datasets: no dataset pattern given");
        probe_redis_patterns_free(p);
        return LOCUS_ECONFIG;
    }
    if (p->n == 1) {
        const pattern *pt = &p->items[0];
        p->glob = malloc(2 * (pt->prefix_len + pt->suffix_len) + 3);
        if (!p->glob) {
            probe_redis_patterns_free(p);
            return LOCUS_ENOMEM;
        }
        char *o = glob_escape(p->glob, pt->prefix, pt->prefix_len);
        *o++ = '*';
        if (pt->suffix) {
            o = glob_escape(o, pt->suffix, pt->suffix_len);
            *o++ = '*';
        }
        *o = '\0';
    }
    *out = p;
    return 0;
}

int probe_redis_patterns_match(const probe_redis_patterns *p, const char *key, size_t len,
                               const char **name, size_t *name_len)
{
    for (size_t i = 0; i < p->n; i++) {
        const pattern *pt = &p->items[i];
        if (len < pt->prefix_len || memcmp(key, pt->prefix, pt->prefix_len) != 0)
            continue;
        if (!pt->suffix) {
            *name = pt->name;
            *name_len = pt->name_len;
            return 1;
        }
        const char *start = key + pt->prefix_len;
        const char *hit = find_span(start, len - pt->prefix_len, pt->suffix, pt->suffix_len);
        if (hit && hit > start) {
            *name = start;
            *name_len = (size_t)(hit - start);
            return 1;
        }
    }
    return 0;
}

const char *probe_redis_patterns_glob(const probe_redis_patterns *p)
{
    return p->glob;
}
