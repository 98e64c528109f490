/* Linked into a test binary, this mdb_version takes the place of LMDB's own
 * (the executable's definitions come first in symbol lookup) and reports a
 * release, 0.10.0, whose page format the hint store's batched B-tree walk
 * (hintstore_btree.c) does not read. The walk then declines, and every key
 * goes to LMDB's own search: the test's assertions, unchanged, check that
 * path. hs_test_lmdb_version_asked counts the questions, so a test can show
 * the walk did ask. */
#include <lmdb.h>
#include <stddef.h>

int hs_test_lmdb_version_asked;

char *mdb_version(int *major, int *minor, int *patch)
{
    static char text[] = "LMDB 0.10.0: a page format the batched walk does not read";
    hs_test_lmdb_version_asked++;
    if (major)
        *major = 0;
    if (minor)
        *minor = 10;
    if (patch)
        *patch = 0;
    return text;
}
