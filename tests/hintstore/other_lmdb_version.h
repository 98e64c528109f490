/* A suite built with other_lmdb_version.c (HS_TEST_OTHER_LMDB) lists
 * OTHER_LMDB_TESTS last: the check that LMDB was asked for its release, and
 * so that the suite's lookups went through LMDB's own search. Elsewhere it
 * lists nothing. */
#ifndef OTHER_LMDB_VERSION_H
#define OTHER_LMDB_VERSION_H

#ifdef HS_TEST_OTHER_LMDB
void test_walk_asked_lmdb_release(void **state);
#define OTHER_LMDB_TESTS cmocka_unit_test(test_walk_asked_lmdb_release),
#else
#define OTHER_LMDB_TESTS
#endif

#endif
