/*
 * check_loss.c — the LOSS family's CPU kernels (kernels/cpu/loss.c) on a case small
 * enough to enumerate by hand, float32 and float64, padded and concatenated targets, on
 * the intra-op pool; a label out of range failing the record; and the meta rule
 * (kernels/shape_loss.c) with torch's messages.  Python's test_losses_ctc.py compares
 * everything else against PyTorch.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_kernel_tensors.h"

static double get(const struct td_kt *t, int64_t i)
{
    return td_load_f64((enum td_dtype)t->m.dtype, t->data + i * (int64_t)td_dtype_size(t->m.dtype));
}

static enum td_code run(enum td_op op, enum td_dtype dt, struct td_kt **in, int n_in, struct td_kt **out, int n_out,
                        const int64_t *attrs, int n_attr)
{
    struct td_kctx k = {.op = op, .compute_dtype = dt, .n_in = n_in, .n_out = n_out, .attrs = attrs,
                        .n_attr = (uint32_t)n_attr};
    for (int i = 0; i < n_in; i++)
        k.in[i] = in[i];
    for (int i = 0; i < n_out; i++)
        k.out[i] = out[i];
    return td_cpu_kernels[op](&k);
}

/* Two steps of two classes (blank 0, label 1), each step 1/2 each.  Sequence 0, target
 * "1": the alignments 11, 01, 10, probability 3/4.  Sequence 1, empty target: 00, 1/4.
 * torch's gradient, exp(log_probs) - posterior: sequence 0 has label 1 at a step in two
 * of its three alignments, so (1/2 - 1/3, 1/2 - 2/3) at both steps; sequence 1 always
 * blank, (1/2 - 1, 1/2 - 0), times its output gradient 2. */
START_TEST(test_ctc_by_hand)
{
    enum td_dtype dt = _i & 1 ? TD_DTYPE_FLOAT64 : TD_DTYPE_FLOAT32;
    bool concat = _i & 2;
    double h = log(0.5), lp_v[8] = {h, h, h, h, h, h, h, h};
    struct td_kt *lp = mk(dt, 3, (int64_t[]){2, 2, 2}, lp_v);
    struct td_kt *tg = concat ? mk(TD_DTYPE_INT64, 1, (int64_t[]){1}, (double[]){1})
                              : mk(TD_DTYPE_INT32, 2, (int64_t[]){2, 1}, (double[]){1, 5}); /* 5: padding */
    struct td_kt *nll = mk(dt, 1, (int64_t[]){2}, NULL), *alpha = mk(dt, 3, (int64_t[]){2, 2, 3}, NULL);
    int64_t attrs[] = {0, 0, 2, 2, 2, 2, 1, 0}; /* blank, zero_infinity, N, N, input lengths, target lengths */
    ck_assert_int_eq(run(TD_OP_CTC_LOSS, dt, (struct td_kt *[]){lp, tg}, 2, (struct td_kt *[]){nll, alpha}, 2,
                         attrs, 8), TD_CODE_OK);
    ck_assert_double_eq_tol(get(nll, 0), -log(0.75), 1e-6);
    ck_assert_double_eq_tol(get(nll, 1), -log(0.25), 1e-6);
    struct td_kt *g = mk(dt, 1, (int64_t[]){2}, (double[]){1, 2}), *gin = mk(dt, 3, (int64_t[]){2, 2, 2}, NULL);
    ck_assert_int_eq(run(TD_OP_CTC_LOSS_BACKWARD, dt, (struct td_kt *[]){g, lp, tg, nll, alpha}, 5, &gin, 1, attrs,
                         8), TD_CODE_OK);
    double want[8] = {0.5 - 1.0 / 3, 0.5 - 2.0 / 3, 2 * (0.5 - 1), 2 * 0.5,  /* t 0: (seq 0), (seq 1, grad 2) */
                      0.5 - 1.0 / 3, 0.5 - 2.0 / 3, 2 * (0.5 - 1), 2 * 0.5}; /* t 1 */
    for (int i = 0; i < 8; i++)
        ck_assert_double_eq_tol(get(gin, i), want[i], 1e-6);
    free_all();
}
END_TEST

START_TEST(test_ctc_label_out_of_range)
{
    struct td_kt *lp = mk(TD_DTYPE_FLOAT64, 3, (int64_t[]){2, 1, 2}, NULL);
    struct td_kt *tg = mk(TD_DTYPE_INT64, 2, (int64_t[]){1, 1}, (double[]){2});
    struct td_kt *nll = mk(TD_DTYPE_FLOAT64, 1, (int64_t[]){1}, NULL);
    struct td_kt *alpha = mk(TD_DTYPE_FLOAT64, 3, (int64_t[]){1, 2, 3}, NULL);
    int64_t attrs[] = {0, 0, 1, 1, 2, 1};
    ck_assert_int_eq(run(TD_OP_CTC_LOSS, TD_DTYPE_FLOAT64, (struct td_kt *[]){lp, tg}, 2,
                         (struct td_kt *[]){nll, alpha}, 2, attrs, 6), TD_CODE_INVALID_ARGUMENT);
    free_all();
}
END_TEST

START_TEST(test_ctc_rule)
{
    struct td_meta lp, tg, out[TD_MAX_OUTPUTS];
    struct td_status st;
    ck_assert_int_eq(td_meta_contiguous(&lp, TD_DTYPE_FLOAT32, 3, (int64_t[]){4, 2, 5}, &st), TD_CODE_OK);
    ck_assert_int_eq(td_meta_contiguous(&tg, TD_DTYPE_INT64, 2, (int64_t[]){2, 3}, &st), TD_CODE_OK);
    const struct td_meta *in[2] = {&lp, &tg};
    int64_t ok[] = {0, 0, 2, 2, 4, 3, 3, 1};
    ck_assert_int_eq(infer(TD_OP_CTC_LOSS, in, 2, ok, 8, out, &st), TD_CODE_OK);
    ck_assert_int_eq(out[1].ndim, 3);
    ck_assert_int_eq(out[1].sizes[0], 2);
    ck_assert_int_eq(out[1].sizes[1], 4);
    ck_assert_int_eq(out[1].sizes[2], 7);
    int64_t too_long[] = {0, 0, 2, 2, 5, 3, 3, 1};
    ck_assert_int_eq(infer(TD_OP_CTC_LOSS, in, 2, too_long, 8, out, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "Expected input_lengths to have value at most 4, but got value 5 (while checking "
                             "arguments for ctc_loss_cpu)");
    int64_t short_targets[] = {0, 0, 2, 2, 4, 3, 4, 1};
    ck_assert_int_eq(infer(TD_OP_CTC_LOSS, in, 2, short_targets, 8, out, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "Expected tensor to have size at least 4 at dimension 1, but got size 3 for argument "
                             "#2 'targets' (while checking arguments for ctc_loss_cpu)");
    int64_t blank[] = {5, 0, 2, 2, 4, 3, 3, 1};
    ck_assert_int_eq(infer(TD_OP_CTC_LOSS, in, 2, blank, 8, out, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "blank must be in label range");
    int64_t miscounted[] = {0, 0, 2, 2, 4, 3, 3};
    ck_assert_int_eq(infer(TD_OP_CTC_LOSS, in, 2, miscounted, 7, out, &st), TD_CODE_INVALID_ARGUMENT);
}
END_TEST

static Suite *loss_suite(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("ctc");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, pool_up, pool_down);
    tcase_add_loop_test(tc, test_ctc_by_hand, 0, 4);
    tcase_add_test(tc, test_ctc_label_out_of_range);
    tcase_add_test(tc, test_ctc_rule);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(loss_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
