/* Linked into a test binary, this mdb_version takes the place of LMDB's own
 * (the executable's definitions come first in symbol lookup) and reports a
 * release, 0.10.0, whose page format the hint store's batched B-tree walk
 * (hintstore_btree.c) does not read. The walk then declines, and every key
 * goes to LMDB's own search: the test's assertions, unchanged, check that
 * path; OTHER_LMDB_TESTS (other_lmdb_version.h) adds a last test that
 * checks the walk did ask. */
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "other_lmdb_version.h"

static int g_version_asked;

char *mdb_version(int *major, int *minor, int *patch)
{
    static char text[] = "LMDB 0.10.0: a page format the batched walk does not read";
    g_version_asked++;
    if (major)
        *major = 0;
    if (minor)
        *minor = 10;
    if (patch)
        *patch = 0;
    return text;
}

void test_walk_asked_lmdb_release(void **state)
{
    (void)state;
    assert_true(g_version_asked > 0);
}
