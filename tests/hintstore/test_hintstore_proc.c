/* Hint store tests across processes, on a real LMDB environment: a reader's
 * snapshot stays consistent while a forked writer commits, and a writer
 * killed with SIGKILL in the middle of a large replace leaves the previous
 * complete generation readable (and the store writable). Children open their
 * own handle (an LMDB handle must not cross fork) and leave with _exit. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "hs_testutil.h"
#include "locus/hintstore.h"

#define N_DS 300
#define N_BLK 100
#define N_HOSTS 50

typedef struct fx {
    char *dir;
    locus_hs *hs;
    pid_t child;
} fx;

static locus_hs *open_store(const char *dir)
{
    locus_hs_options o = {.map_size = (size_t)512 << 20, .create = 1, .no_sync = 1};
    locus_hs *hs = NULL;
    char err[512];
    if (locus_hs_open(dir, &o, &hs, err, sizeof(err)) != 0)
        return NULL;
    return hs;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = hs_t_mkdtemp();
    if (!f->dir || !(f->hs = open_store(f->dir)))
        return -1;
    *state = f;
    return 0;
}

/* Reopens the fixture's handle; a store takes one writer at a time, so the
 * parent only reads while a forked child writes. */
static void reopen(fx *f, int read_only)
{
    locus_hs_close(f->hs);
    f->hs = NULL;
    locus_hs_options o = {.read_only = read_only, .no_sync = 1};
    char err[512];
    if (locus_hs_open(f->dir, &o, &f->hs, err, sizeof(err)) != 0)
        fail_msg("reopen %s: %s", f->dir, err);
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->child > 0) {
        kill(f->child, SIGKILL);
        waitpid(f->child, NULL, 0);
    }
    locus_hs_close(f->hs);
    hs_t_rmtree(f->dir);
    free(f);
    return 0;
}

/* Writes one full generation of backend "A": every block of every dataset,
 * sizes and hosts derived from gen so each generation differs everywhere. */
static int write_generation(locus_hs *hs, int gen, int64_t now, int notify_fd)
{
    locus_hs_batch *b;
    int rc = locus_hs_batch_begin(hs, "A", 1, &b);
    if (rc)
        return rc;
    for (int d = 0; d < N_DS; d++) {
        char name[32];
        snprintf(name, sizeof(name), "dataset-%04d", d);
        for (int i = 0; i < N_BLK; i++) {
            char h[3][16];
            locus_hs_replica r[3];
            for (int k = 0; k < 3; k++) {
                snprintf(h[k], sizeof(h[k]), "host%03d", (d * 7 + i * 3 + k * 11 + gen) % N_HOSTS);
                r[k].host = h[k];
                r[k].tier = (locus_tier)(1 + (i + k + gen) % 3);
            }
            locus_hs_block blk = {name, (uint64_t)i, (uint64_t)(1000 * gen + d + i + 1), r, 3};
            if ((rc = locus_hs_batch_put(b, &blk)) != 0) {
                locus_hs_batch_abort(b);
                return rc;
            }
        }
    }
    if (notify_fd >= 0 && write(notify_fd, "c", 1) != 1)
        _exit(3);
    return locus_hs_batch_commit(b, now);
}

typedef struct sum_ctx {
    locus_hs_snapshot *s;
    uint64_t total_all;
    int datasets, bad;
    uint64_t blk_total, blk_count;
} sum_ctx;

static int sum_block(const locus_hs_block_view *b, void *arg)
{
    sum_ctx *c = arg;
    c->blk_total += b->bytes;
    c->blk_count++;
    return 0;
}

/* Per-dataset summary check: three distinct replicas per block, so the
 * placement holds exactly three times the dataset's bytes. */
static int check_ds(const locus_hs_dataset *d, void *arg)
{
    sum_ctx *c = arg;
    uint64_t placed = 0;
    for (size_t i = 0; i < d->n_placement; i++)
        placed += d->placement[i].bytes;
    c->datasets++;
    c->total_all += d->total_bytes;
    if (placed != 3 * d->total_bytes)
        c->bad++;
    return 0;
}

/* Walks the snapshot: checks every summary against its blocks and returns
 * the grand total of bytes; fails the test on any mismatch. */
static uint64_t verify_snapshot(locus_hs_snapshot *s, int want_datasets)
{
    sum_ctx c = {.s = s};
    assert_int_equal(locus_hs_snapshot_foreach_dataset(s, check_ds, &c), 0);
    assert_int_equal(c.bad, 0);
    assert_int_equal(c.datasets, want_datasets);
    /* blocks: summed per dataset through the block iterator */
    uint64_t from_blocks = 0;
    for (int d = 0; d < N_DS; d++) {
        char name[32];
        const locus_hs_dataset *v;
        snprintf(name, sizeof(name), "dataset-%04d", d);
        sum_ctx b = {.s = s};
        assert_int_equal(locus_hs_snapshot_foreach_block(s, name, sum_block, &b), 0);
        if (locus_hs_snapshot_dataset(s, name, &v) == 0) {
            assert_int_equal(v->total_bytes, b.blk_total);
            assert_int_equal(v->block_count, b.blk_count);
        } else {
            assert_int_equal(b.blk_count, 0);
        }
        from_blocks += b.blk_total;
    }
    assert_int_equal(from_blocks, c.total_all);
    assert_int_equal(locus_hs_snapshot_decode_errors(s), 0);
    return c.total_all;
}

static uint64_t generation_of(locus_hs_snapshot *s)
{
    const locus_hs_meta *m;
    assert_int_equal(locus_hs_snapshot_meta(s, &m), 0);
    return m->writer_generation;
}

static void test_snapshot_isolated_from_writer(void **state)
{
    fx *f = *state;
    assert_int_equal(write_generation(f->hs, 1, 1000, -1), 0);
    reopen(f, 1);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    uint64_t g0 = generation_of(s);
    uint64_t total0 = verify_snapshot(s, N_DS);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0) {
        close(fds[0]);
        locus_hs *hs = open_store(f->dir); /* own handle */
        if (!hs)
            _exit(2);
        int rc = 0;
        for (int g = 2; g < 8 && rc == 0; g++) {
            rc = write_generation(hs, g, 1000 * g, -1);
            /* incremental deletes too, so block counts move */
            locus_hs_batch *b;
            if (rc == 0 && (rc = locus_hs_batch_begin(hs, "A", 0, &b)) == 0) {
                for (int d = 0; d < N_DS && rc == 0; d += 3) {
                    char name[32];
                    snprintf(name, sizeof(name), "dataset-%04d", d);
                    rc = locus_hs_batch_delete(b, name, (uint64_t)g);
                }
                if (rc)
                    locus_hs_batch_abort(b);
                else
                    rc = locus_hs_batch_commit(b, 1000 * g + 1);
            }
            if (g == 2 && write(fds[1], "1", 1) != 1)
                _exit(3);
        }
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    char ch;
    assert_int_equal(read(fds[0], &ch, 1), 1); /* the child has committed */
    int rounds = 0, status = 0;
    pid_t done = 0;
    while (done == 0) {
        assert_int_equal(generation_of(s), g0);
        assert_int_equal(verify_snapshot(s, N_DS), total0);
        rounds++;
        done = waitpid(f->child, &status, WNOHANG);
    }
    f->child = 0;
    close(fds[0]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* after every commit, the old snapshot still reads its generation */
    assert_int_equal(generation_of(s), g0);
    assert_int_equal(verify_snapshot(s, N_DS), total0);
    locus_hs_snapshot_close(s);
    assert_true(rounds >= 1);

    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(generation_of(s), g0 + 12);
    assert_true(verify_snapshot(s, N_DS) != total0);
    locus_hs_snapshot_close(s);
}

static void test_writer_killed_mid_replace(void **state)
{
    fx *f = *state;
    assert_int_equal(write_generation(f->hs, 1, 1000, -1), 0);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    uint64_t g0 = generation_of(s), total0 = verify_snapshot(s, N_DS);
    locus_hs_snapshot_close(s);
    reopen(f, 1);

    /* Kill the child just after it starts its commit. Should a commit ever
     * finish first, take its result as the new baseline and try again. */
    int killed_mid = 0;
    for (int attempt = 0; attempt < 4 && !killed_mid; attempt++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        f->child = fork();
        assert_true(f->child >= 0);
        if (f->child == 0) {
            close(fds[0]);
            locus_hs *hs = open_store(f->dir);
            if (!hs)
                _exit(2);
            int rc = write_generation(hs, 2 + attempt, 5000, fds[1]);
            if (rc == 0 && write(fds[1], "d", 1) != 1)
                _exit(3);
            _exit(rc == 0 ? 0 : 1);
        }
        close(fds[1]);
        char ch;
        assert_int_equal(read(fds[0], &ch, 1), 1); /* commit begins */
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
        kill(f->child, SIGKILL);
        int status;
        waitpid(f->child, &status, 0);
        f->child = 0;
        killed_mid = read(fds[0], &ch, 1) != 1; /* no "done" byte */
        close(fds[0]);
        if (!killed_mid) {
            assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
            g0 = generation_of(s);
            total0 = verify_snapshot(s, N_DS);
            locus_hs_snapshot_close(s);
        }
    }
    assert_true(killed_mid);

    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(generation_of(s), g0);
    assert_int_equal(verify_snapshot(s, N_DS), total0);
    locus_hs_snapshot_close(s);
    /* the dead writer's locks (LMDB's and writer.lock) are recovered: a new
     * writer opens and the store takes the next write */
    reopen(f, 0);
    assert_int_equal(write_generation(f->hs, 9, 9000, -1), 0);
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(generation_of(s), g0 + 1);
    assert_true(verify_snapshot(s, N_DS) != total0);
    locus_hs_snapshot_close(s);
}

/* Another process grows the map (a probe restarted with a larger map_size)
 * and fills it past this process's mapping: the next snapshot and batch here
 * adopt the new size instead of failing, also when the snapshot renews the
 * read transaction an earlier one left. */
static void test_map_grown_by_other_process(void **state)
{
    fx *f = *state;
    locus_hs_close(f->hs);
    hs_t_rmtree(f->dir);
    f->dir = hs_t_mkdtemp();
    locus_hs_options small = {.map_size = (size_t)1 << 20, .create = 1, .no_sync = 1};
    char err[512];
    f->hs = NULL;
    assert_non_null(f->dir);
    assert_int_equal(locus_hs_open(f->dir, &small, &f->hs, err, sizeof(err)), 0);
    reopen(f, 1);
    /* A snapshot opened and closed first leaves its read transaction reset
     * for the next one to renew: that renewal must notice the grown map. */
    locus_hs_snapshot *s0;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s0), 0);
    locus_hs_snapshot_close(s0);
    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0) {
        locus_hs *hs = open_store(f->dir); /* 512 MiB: grows the map */
        _exit(hs && write_generation(hs, 1, 1000, -1) == 0 ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(f->child, &status, 0), f->child);
    f->child = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    locus_hs_snapshot *s;
    assert_int_equal(locus_hs_snapshot_open(f->hs, &s), 0);
    assert_int_equal(generation_of(s), 1);
    verify_snapshot(s, N_DS);
    locus_hs_stats st;
    assert_int_equal(locus_hs_snapshot_stats(s, &st), 0);
    assert_true(st.map_size > ((size_t)1 << 20));
    assert_true(st.used_bytes > ((size_t)1 << 20));
    locus_hs_snapshot_close(s);
    /* a writer asking for the small map keeps the grown one */
    locus_hs_close(f->hs);
    f->hs = NULL;
    assert_int_equal(locus_hs_open(f->dir, &small, &f->hs, err, sizeof(err)), 0);
    assert_int_equal(write_generation(f->hs, 2, 2000, -1), 0);
}

/* A second writer (a second probe on the same store) is refused with the
 * first one's pid while the first lives, and starts once it has exited. */
static void test_second_writer_refused(void **state)
{
    fx *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0) {
        close(fds[0]);
        locus_hs_options o = {.create = 1, .no_sync = 1};
        char err[512];
        locus_hs *hs = NULL;
        int rc = locus_hs_open(f->dir, &o, &hs, err, sizeof(err));
        char want[64];
        snprintf(want, sizeof(want), "pid %ld", (long)getppid());
        int ok = rc == LOCUS_EBUSY && !hs && strstr(err, "already has a writer") &&
                 strstr(err, want) && strstr(err, f->dir);
        locus_hs_options ro = {.read_only = 1};
        ok = ok && locus_hs_open(f->dir, &ro, &hs, err, sizeof(err)) == 0; /* readers still open */
        locus_hs_close(hs);
        if (write(fds[1], ok ? "y" : "n", 1) != 1)
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    char ch = 0;
    assert_int_equal(read(fds[0], &ch, 1), 1);
    close(fds[0]);
    int status;
    waitpid(f->child, &status, 0);
    f->child = 0;
    assert_int_equal(ch, 'y');
    locus_hs_close(f->hs); /* the first writer goes: the next one starts */
    f->hs = NULL;
    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child == 0) {
        locus_hs *hs = open_store(f->dir);
        _exit(hs && write_generation(hs, 1, 1000, -1) == 0 ? 0 : 1);
    }
    waitpid(f->child, &status, 0);
    f->child = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshot_isolated_from_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_killed_mid_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_writer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_grown_by_other_process, setup, teardown),
    };
    return cmocka_run_group_tests_name("hintstore-proc", tests, NULL, NULL);
}
