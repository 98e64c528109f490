/* SWIM workload files (FB-2009, FB-2010 withInputPaths): one job per
 * tab-separated line, no header. Columns: 1 job id, 2 submit time (s),
 * 3 gap to the previous submit (s, checked as a number, not used), 4 map
 * input bytes, 5 shuffle bytes, 6 reduce output bytes, 7 input path
 * (withInputPaths only), 8-9 empty. A job whose trace names no path reads a
 * dataset of its own, "<job id>.input"; a job with no input bytes has no map
 * input. Lines are read one at a time into a bounded buffer (a line longer
 * than SWIM_MAX_LINE is an error, so a corrupt file cannot make us allocate
 * without limit). CRLF line ends, a UTF-8 byte-order mark and trailing blank
 * lines are accepted; a blank line followed by more jobs is not, since it
 * means a damaged file.
 * Every error names file:line and the column.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"
#include "trace_parse.h"

#define SWIM_MAX_LINE 65536
#define SWIM_MAX_COLS 9

static const char *const col_name[SWIM_MAX_COLS + 1] = {
    "", "job id", "submit time", "gap to previous submit", "map input bytes",
    "shuffle bytes", "reduce output bytes", "input path", "unused", "unused",
};

typedef struct field {
    const char *s;
    size_t len;
} field;

typedef struct swim_ctx {
    const char *name;
    uint64_t line;
    char *err;
    size_t errlen;
} swim_ctx;

static int col_err(const swim_ctx *c, int col, const field *v, const char *why)
{
    char q[200];
    sim_trace_quote(q, sizeof q, v->s, v->len);
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s:%llu: column %d (%s): %s %s", c->name,
                 (unsigned long long)c->line, col, col_name[col], q, why);
    return LOCUS_EPARSE;
}

static int line_err(const swim_ctx *c, const char *why)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s:%llu: %s", c->name, (unsigned long long)c->line, why);
    return LOCUS_EPARSE;
}

static int parse_u64(const swim_ctx *c, int col, const field *v, uint64_t *out)
{
    if (v->len == 0)
        return col_err(c, col, v, "is empty, expected a non-negative integer");
    uint64_t x = 0;
    for (size_t i = 0; i < v->len; i++) {
        unsigned d = (unsigned char)v->s[i] - '0';
        if (d > 9)
            return col_err(c, col, v, "is not a non-negative integer");
        if (x > (UINT64_MAX - d) / 10)
            return col_err(c, col, v, "is too large for a 64-bit count");
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

/* Non-negative decimal seconds: digits, an optional fraction and exponent.
 * Checked by hand first because strtod also takes hex, inf and nan. */
static int parse_seconds(const swim_ctx *c, int col, const field *v, double *out)
{
    size_t i = 0, digits = 0;
    const char *s = v->s;
    if (v->len == 0 || v->len > 64)
        return col_err(c, col, v, v->len ? "is not a non-negative number" :
                                           "is empty, expected a non-negative number");
    while (i < v->len && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < v->len && s[i] == '.')
        for (i++; i < v->len && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    if (digits && i < v->len && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = ++i;
        if (i < v->len && (s[i] == '+' || s[i] == '-'))
            e = ++i;
        while (i < v->len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == e)
            digits = 0;
    }
    if (!digits || i != v->len)
        return col_err(c, col, v, "is not a non-negative number");
    char buf[72];
    memcpy(buf, s, v->len);
    buf[v->len] = '\0';
    double x = strtod(buf, NULL);
    if (!isfinite(x))
        return col_err(c, col, v, "is out of range");
    *out = x;
    return 0;
}

static char *dup_field(const field *v)
{
    char *s = malloc(v->len + 1);
    if (s) {
        memcpy(s, v->s, v->len);
        s[v->len] = '\0';
    }
    return s;
}

/* Names and text fields must be printable: they end up in messages, JSON
 * and the hint store's keys. */
static int check_name(const swim_ctx *c, int col, const field *v)
{
    if (v->len == 0)
        return col_err(c, col, v, "is empty");
    for (size_t i = 0; i < v->len; i++) {
        unsigned char ch = (unsigned char)v->s[i];
        if (ch < 0x20 || ch == 0x7f)
            return col_err(c, col, v, "holds a control character");
    }
    return 0;
}

/* One line (CR already stripped) into job. */
static int parse_line(const swim_ctx *c, char *line, size_t len, sim_job *job)
{
    field f[SWIM_MAX_COLS];
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || line[i] == '\t') {
            if (n == SWIM_MAX_COLS) {
                char msg[160];
                snprintf(msg, sizeof msg,
                         "more than %d tab-separated columns (FB-2009 has 6, FB-2010 "
                         "withInputPaths 7 to 9)", SWIM_MAX_COLS);
                return line_err(c, msg);
            }
            f[n].s = line + start;
            f[n].len = i - start;
            n++;
            start = i + 1;
        }
    }
    if (n < 6) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "%d tab-separated column%s, expected 6 (FB-2009) or 7 to 9 (FB-2010 "
                 "withInputPaths)", n, n == 1 ? "" : "s");
        return line_err(c, msg);
    }
    for (int k = 7; k < n; k++)
        if (f[k].len)
            return col_err(c, k + 1, &f[k], "should be empty");

    int rc;
    double gap;
    uint64_t input;
    if ((rc = check_name(c, 1, &f[0])) || (rc = parse_seconds(c, 2, &f[1], &job->submit_s)) ||
        (rc = parse_seconds(c, 3, &f[2], &gap)) || (rc = parse_u64(c, 4, &f[3], &input)) ||
        (rc = parse_u64(c, 5, &f[4], &job->shuffle_bytes)) ||
        (rc = parse_u64(c, 6, &f[5], &job->output_bytes)))
        return rc;
    int has_path = n >= 7 && f[6].len > 0;
    if (has_path && (rc = check_name(c, 7, &f[6])))
        return rc;

    job->id = dup_field(&f[0]);
    job->role = strdup("*");
    if (!job->id || !job->role)
        return LOCUS_ENOMEM;
    job->map_compute_s = -1.0;
    job->reduce_compute_s = -1.0;
    if (input == 0)
        return 0;
    job->inputs = calloc(1, sizeof *job->inputs);
    if (!job->inputs)
        return LOCUS_ENOMEM;
    job->n_inputs = 1;
    job->inputs[0].bytes = input;
    if (has_path) {
        job->inputs[0].name = dup_field(&f[6]);
    } else {
        job->inputs[0].name = malloc(f[0].len + sizeof ".input");
        if (job->inputs[0].name) {
            memcpy(job->inputs[0].name, f[0].s, f[0].len);
            memcpy(job->inputs[0].name + f[0].len, ".input", sizeof ".input");
        }
    }
    return job->inputs[0].name ? 0 : LOCUS_ENOMEM;
}

/* Reads one line without its '\n' into buf. Returns the length, -1 at end
 * of file, -2 if longer than cap - 1 (the rest of the line is skipped). */
static long read_line(FILE *f, char *buf, size_t cap)
{
    size_t n = 0;
    int ch;
    while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
        if (n + 1 >= cap) {
            while ((ch = getc_unlocked(f)) != EOF && ch != '\n')
                ;
            return -2;
        }
        buf[n++] = (char)ch;
    }
    if (ch == EOF && n == 0)
        return -1;
    buf[n] = '\0';
    return (long)n;
}

static int is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

int sim_trace_parse_swim(FILE *f, const char *name, sim_trace_builder *b, char *err, size_t errlen)
{
    swim_ctx c = {.name = name, .line = 0, .err = err, .errlen = errlen};
    char *buf = malloc(SWIM_MAX_LINE);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", name);
        return LOCUS_ENOMEM;
    }
    uint64_t blank_line = 0; /* first blank line since the last job, 0 if none */
    int rc = 0;
    flockfile(f);
    for (;;) {
        long n = read_line(f, buf, SWIM_MAX_LINE);
        if (n == -1)
            break;
        c.line++;
        if (n == -2) {
            char msg[80];
            snprintf(msg, sizeof msg, "line longer than %d bytes", SWIM_MAX_LINE - 1);
            rc = line_err(&c, msg);
            break;
        }
        size_t len = (size_t)n;
        char *line = buf;
        if (c.line == 1 && len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
            line += 3; /* a UTF-8 byte-order mark some editors add */
            len -= 3;
        }
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (memchr(line, '\0', len) || memchr(line, '\r', len)) {
            rc = line_err(&c, "holds a NUL or carriage-return byte inside the line");
            break;
        }
        if (is_blank(line, len)) {
            if (!blank_line)
                blank_line = c.line;
            continue;
        }
        if (blank_line) {
            c.line = blank_line;
            rc = line_err(&c, "blank line inside the trace (only trailing blank lines are allowed)");
            break;
        }
        sim_job job = {0};
        rc = parse_line(&c, line, len, &job);
        if (rc == 0) {
            uint64_t dup = 0;
            int r = sim_tb_add(b, &job, c.line, &dup);
            if (r == SIM_TB_EORDER) {
                char msg[200];
                snprintf(msg, sizeof msg,
                         "is earlier than the previous job's %.17g (submit times must not decrease)",
                         sim_tb_last_submit(b));
                field v = {line + strlen(job.id) + 1, 0};
                v.len = strcspn(v.s, "\t");
                rc = col_err(&c, 2, &v, msg);
            } else if (r == SIM_TB_EDUP) {
                char msg[80];
                snprintf(msg, sizeof msg, "repeats the job id of line %llu", (unsigned long long)dup);
                field v = {job.id, strlen(job.id)};
                rc = col_err(&c, 1, &v, msg);
            } else if (r == LOCUS_ENOMEM) {
                rc = r;
            }
            sim_job_clear(&job);
            if (r == SIM_TB_STOP)
                break;
        } else {
            sim_job_clear(&job);
        }
        if (rc == LOCUS_ENOMEM)
            snprintf(err, errlen, "%s:%llu: out of memory", name, (unsigned long long)c.line);
        if (rc)
            break;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error: %s", name, strerror(errno ? errno : EIO));
        rc = LOCUS_EIO;
    }
    funlockfile(f);
    free(buf);
    if (rc == 0)
        rc = sim_tb_all_skipped(b, name, err, errlen);
    if (rc == 0 && b->t->n_jobs == 0 && !b->stopped) {
        snprintf(err, errlen, "%s: no jobs (an empty SWIM trace)", name);
        rc = LOCUS_EPARSE;
    }
    return rc;
}
