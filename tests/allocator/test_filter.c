/* The per-agent refuse filter set against a plain array model: sparse and
 * dense forms, lengthening, deletion (backward shift), expiry with callbacks
 * and the earliest remaining expiry. */
#include "la_test.h"

static uint32_t dropped[4096];
static int n_dropped;
static void on_drop(void *ctx, uint32_t fw)
{
    (void)ctx;
    dropped[n_dropped++] = fw;
}

static void test_fset_against_model(void **state)
{
    (void)state;
    for (uint32_t nfw = 3; nfw <= 3000; nfw *= 7) {
        la_fset s = {0};
        uint32_t model[3000] = {0};
        uint64_t x = 88172645463325252ULL + nfw;
        int went_dense = 0, was_sparse = 0;
        for (int step = 0; step < 20000; step++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            uint32_t fw = (uint32_t)(x % nfw), op = (uint32_t)((x >> 20) % 10);
            if (op < 6) {
                uint32_t exp = 1 + (uint32_t)((x >> 32) % 1000);
                int added;
                assert_int_equal(la_fset_set(&s, fw, exp, nfw, &added), 0);
                assert_int_equal(added, model[fw] == 0);
                if (exp > model[fw])
                    model[fw] = exp;
            } else if (op < 9) {
                assert_int_equal(la_fset_del(&s, fw), model[fw] != 0);
                model[fw] = 0;
            } else {
                uint32_t now = (uint32_t)((x >> 32) % 1000), want_min = UINT32_MAX;
                int want_drops = 0;
                for (uint32_t i = 0; i < nfw; i++) {
                    if (model[i] && model[i] <= now) {
                        model[i] = 0;
                        want_drops++;
                    } else if (model[i] && model[i] < want_min) {
                        want_min = model[i];
                    }
                }
                n_dropped = 0;
                assert_int_equal(la_fset_expire(&s, now, on_drop, NULL), want_min);
                assert_int_equal(n_dropped, want_drops);
                for (int i = 0; i < n_dropped; i++)
                    assert_int_equal(la_fset_get(&s, dropped[i]), 0);
            }
            was_sparse |= s.n && !s.dense;
            went_dense |= s.dense;
            uint32_t n = 0;
            for (uint32_t i = 0; i < nfw; i++) {
                n += model[i] != 0;
                if (step % 97 == 0)
                    assert_int_equal(la_fset_get(&s, i), model[i]);
            }
            assert_int_equal(s.n, n);
        }
        assert_true(was_sparse);
        /* Every framework filtered (DeclineOffers): the dense form. */
        for (uint32_t i = 0; i < nfw; i++) {
            int added;
            assert_int_equal(la_fset_set(&s, i, 5000, nfw, &added), 0);
        }
        assert_int_equal(s.n, nfw);
        went_dense |= s.dense;
        if (nfw > 3)
            assert_true(went_dense);
        for (uint32_t i = 0; i < nfw; i++)
            assert_int_equal(la_fset_get(&s, i), 5000);
        n_dropped = 0;
        assert_int_equal(la_fset_expire(&s, 5000, on_drop, NULL), UINT32_MAX);
        assert_int_equal(n_dropped, (int)nfw);
        assert_int_equal(s.n, 0);
        la_fset_free(&s);
        la_fset_free(&s); /* twice: no-op */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fset_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
