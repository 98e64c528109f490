/* Hint store under damage and faults, on real LMDB files in a temporary
 * folder: a truncated data.mdb and zeroed meta pages are refused with a
 * message naming the file (no SIGBUS, no "another schema version"), a full
 * file system, a file size limit and a permission error are reported with the
 * path and the OS reason, and the store's files come out group-writable.
 * Every open that could crash runs in a forked child so a crash is a failed
 * check, not a dead test binary. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "hs_testutil.h"
#include "locus/hintstore.h"

typedef struct fx {
    char *dir;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->dir = hs_t_mkdtemp();
    *state = f;
    return f->dir ? 0 : -1;
}

static int teardown(void **state)
{
    fx *f = *state;
    chmod(f->dir, 0700);
    hs_t_rmtree(f->dir);
    free(f);
    return 0;
}

/* Writes n blocks spread over 50 datasets and 40 hosts in one commit;
 * returns the commit status and leaves the handle's message in err. */
static int fill(locus_hs *hs, int n, char *err, size_t errlen)
{
    locus_hs_batch *b;
    int rc = locus_hs_batch_begin(hs, "A", 1, &b);
    for (int i = 0; rc == 0 && i < n; i++) {
        char ds[32], host[32];
        snprintf(ds, sizeof ds, "dataset-%03d", i % 50);
        snprintf(host, sizeof host, "host-%02d.example", i % 40);
        locus_hs_replica r = {host, LOCUS_TIER_MEM};
        locus_hs_block blk = {ds, (uint64_t)i, 1u << 20, &r, 1};
        rc = locus_hs_batch_put(b, &blk);
    }
    if (rc == 0)
        rc = locus_hs_batch_commit(b, 1000);
    else
        locus_hs_batch_abort(b);
    snprintf(err, errlen, "%s", locus_hs_errstr(hs));
    return rc;
}

static void make_store(const char *dir, int blocks)
{
    locus_hs_options o = {.create = 1, .no_sync = 1};
    locus_hs *hs = NULL;
    char err[512];
    if (locus_hs_open(dir, &o, &hs, err, sizeof err))
        fail_msg("open %s: %s", dir, err);
    assert_int_equal(fill(hs, blocks, err, sizeof err), 0);
    locus_hs_close(hs);
}

/* In a child: opens the store (read-only or not) and, if that works, reads
 * every dataset. Exit 0 = refused with a message containing every needle and
 * the expected status; 1 = opened; 2 = wrong status or message. */
static int open_in_child(const char *dir, int read_only, int want, const char *n1,
                         const char *n2)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        locus_hs_options o = {.read_only = read_only};
        locus_hs *hs = NULL;
        char err[512] = "";
        int rc = locus_hs_open(dir, &o, &hs, err, sizeof err);
        if (rc == 0) {
            locus_hs_snapshot *s;
            if (locus_hs_snapshot_open(hs, &s) == 0) {
                locus_hs_stats st;
                locus_hs_snapshot_stats(s, &st);
                locus_hs_snapshot_close(s);
            }
            _exit(1);
        }
        int ok = rc == want && !hs && strstr(err, dir) && strstr(err, "data.mdb") &&
                 (!n1 || strstr(err, n1)) && (!n2 || strstr(err, n2)) &&
                 !strstr(err, "schema version");
        if (!ok)
            fprintf(stderr, "open %s: status %d, message: %s\n", dir, rc, err);
        _exit(ok ? 0 : 2);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("opening %s killed the reader with signal %d", dir, WTERMSIG(status));
    return WEXITSTATUS(status);
}

static void test_truncated_data_file(void **state)
{
    fx *f = *state;
    make_store(f->dir, 20000);
    char data[600];
    snprintf(data, sizeof data, "%s/data.mdb", f->dir);
    struct stat st;
    assert_int_equal(stat(data, &st), 0);
    assert_true(st.st_size > 64 * 4096);
    assert_int_equal(truncate(data, st.st_size / 2), 0);
    assert_int_equal(open_in_child(f->dir, 1, LOCUS_ECORRUPT, "truncated", "needs"), 0);
    assert_int_equal(open_in_child(f->dir, 0, LOCUS_ECORRUPT, "truncated", "needs"), 0);
    /* shorter than the meta pages themselves */
    assert_int_equal(truncate(data, 100), 0);
    assert_int_equal(open_in_child(f->dir, 1, LOCUS_ECORRUPT, "truncated", NULL), 0);
}

static void test_zeroed_meta_pages(void **state)
{
    fx *f = *state;
    make_store(f->dir, 100);
    char data[600];
    snprintf(data, sizeof data, "%s/data.mdb", f->dir);
    FILE *fp = fopen(data, "r+b");
    assert_non_null(fp);
    static char zeros[2 * 4096];
    assert_int_equal(fwrite(zeros, 1, sizeof zeros, fp), sizeof zeros);
    fclose(fp);
    assert_int_equal(open_in_child(f->dir, 1, LOCUS_ECORRUPT, "zeroed or damaged", "corrupt"), 0);
    assert_int_equal(open_in_child(f->dir, 0, LOCUS_ECORRUPT, "zeroed or damaged", "corrupt"), 0);
}

static void test_files_group_writable(void **state)
{
    fx *f = *state;
    mode_t old = umask(022);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/store", f->dir);
    make_store(sub, 10);
    umask(old);
    const char *files[] = {"data.mdb", "lock.mdb", "writer.lock"};
    for (size_t i = 0; i < 3; i++) {
        char p[700];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", sub, files[i]);
        assert_int_equal(stat(p, &st), 0);
        if ((st.st_mode & 0777) != 0664)
            fail_msg("%s has mode %o, want 664", p, (unsigned)(st.st_mode & 0777));
    }
}

/* A commit that cannot grow the file: exit 0 when it failed with a message
 * naming data.mdb and `reason`. */
static void commit_must_fail_naming(const char *dir, const char *reason, rlim_t fsize)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        locus_hs_options o = {.create = 1, .no_sync = 1};
        locus_hs *hs = NULL;
        char err[512];
        if (locus_hs_open(dir, &o, &hs, err, sizeof err))
            _exit(3);
        if (fsize) {
            struct rlimit rl = {fsize, fsize};
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        int rc = fill(hs, 30000, err, sizeof err);
        int ok = rc != 0 && strstr(err, dir) && strstr(err, "data.mdb") && strstr(err, reason);
        if (!ok)
            fprintf(stderr, "commit: status %d, message: %s\n", rc, err);
        _exit(ok ? 0 : 2);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_file_size_limit_named(void **state)
{
    fx *f = *state;
    make_store(f->dir, 10);
    char data[600];
    struct stat st;
    snprintf(data, sizeof data, "%s/data.mdb", f->dir);
    assert_int_equal(stat(data, &st), 0);
    commit_must_fail_naming(f->dir, "EFBIG", (rlim_t)st.st_size + 64 * 1024);
}

/* A real full file system: a 256 KiB tmpfs (needs root to mount). */
static void test_disk_full_named(void **state)
{
    fx *f = *state;
    if (geteuid() != 0 || mount("locus-test", f->dir, "tmpfs", 0, "size=256k") != 0)
        skip();
    char sub[600];
    snprintf(sub, sizeof sub, "%s/store", f->dir);
    make_store(sub, 10);
    commit_must_fail_naming(sub, "ENOSPC", 0);
    umount(f->dir);
}

static void test_permission_denied_named(void **state)
{
    fx *f = *state;
    make_store(f->dir, 10);
    assert_int_equal(chmod(f->dir, 0700), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && setuid(65534) != 0) /* root reads anything: be nobody */
            _exit(3);
        locus_hs_options o = {.read_only = 1};
        locus_hs *hs = NULL;
        char err[512];
        int rc = locus_hs_open(f->dir, &o, &hs, err, sizeof err);
        int ok = rc != 0 && strstr(err, f->dir) && strstr(err, strerror(EACCES));
        if (!ok)
            fprintf(stderr, "open: status %d, message: %s\n", rc, err);
        _exit(ok ? 0 : 2);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_truncated_data_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zeroed_meta_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_group_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_size_limit_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permission_denied_named, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
