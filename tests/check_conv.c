/*
 * check_conv.c — the CONV family's CPU kernels (kernels/cpu/conv.c, pool.c) on tiny cases
 * with hand-computed answers, float32 and float64, on the intra-op pool; float32 (oneDNN,
 * conv_dnnl.c, where it takes the shape) against float64 (im2col) on a grouped, strided,
 * padded, dilated case, so both paths run under ASan/UBSan; and the meta
 * rule (kernels/shape_conv.c) refusing bad records with torch's messages.  Python's
 * test_conv_pool.py compares everything else against PyTorch.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_kernel_tensors.h"

static void expect(const struct td_kt *t, const double *want, int n)
{
    for (int i = 0; i < n; i++) {
        double got = td_load_f64((enum td_dtype)t->m.dtype, t->data + i * (int64_t)td_dtype_size(t->m.dtype));
        ck_assert_msg(got > want[i] - 1e-5 && got < want[i] + 1e-5, "element %d: got %g, want %g", i, got, want[i]);
    }
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

static const double X9[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}; /* a 3x3 image */
static const double W4[] = {1, 0, 0, -1};               /* out = x[i, j] - x[i + 1, j + 1] */
static const int64_t S_X[] = {1, 1, 3, 3}, S_W[] = {1, 1, 2, 2}, S_O[] = {1, 1, 2, 2}, S_B[] = {1};

START_TEST(test_conv_forward)
{
    enum td_dtype dt = _i ? TD_DTYPE_FLOAT64 : TD_DTYPE_FLOAT32;
    struct td_kt *x = mk(dt, 4, S_X, X9), *w = mk(dt, 4, S_W, W4), *b = mk(dt, 1, S_B, (double[]){0.5});
    struct td_kt *o = mk(dt, 4, S_O, NULL);
    /* groups 1; stride, padding, dilation (1, 1), (0, 0), (1, 1) */
    int64_t plain[] = {1, 2, 2, 2, 1, 1, 0, 0, 1, 1};
    ck_assert_int_eq(run(TD_OP_CONV, dt, (struct td_kt *[]){x, w, b}, 3, &o, 1, plain, 10), TD_CODE_OK);
    expect(o, (double[]){-3.5, -3.5, -3.5, -3.5}, 4);
    /* stride 2, padding 1: each window holds one corner of the image or none */
    int64_t strided[] = {1, 2, 2, 2, 2, 2, 1, 1, 1, 1};
    ck_assert_int_eq(run(TD_OP_CONV, dt, (struct td_kt *[]){x, w}, 2, &o, 1, strided, 10), TD_CODE_OK);
    expect(o, (double[]){-1, -3, -7, -4}, 4);
    free_all();
}
END_TEST

START_TEST(test_conv_backward)
{
    enum td_dtype dt = _i ? TD_DTYPE_FLOAT64 : TD_DTYPE_FLOAT32;
    struct td_kt *x = mk(dt, 4, S_X, X9), *w = mk(dt, 4, S_W, W4), *go = mk(dt, 4, S_O, (double[]){1, 1, 1, 1});
    struct td_kt *gx = mk(dt, 4, S_X, NULL), *gw = mk(dt, 4, S_W, NULL);
    int64_t attrs[] = {1, 2, 2, 2, 1, 1, 0, 0, 1, 1};
    ck_assert_int_eq(run(TD_OP_CONV_BACKWARD_INPUT, dt, (struct td_kt *[]){go, w, x}, 3, &gx, 1, attrs, 10),
                     TD_CODE_OK);
    expect(gx, (double[]){1, 1, 0, 1, 0, -1, 0, -1, -1}, 9);
    /* gW[k] = the sum of the 2x2 block of x at offset k */
    ck_assert_int_eq(run(TD_OP_CONV_BACKWARD_WEIGHT, dt, (struct td_kt *[]){go, x, w}, 3, &gw, 1, attrs, 10),
                     TD_CODE_OK);
    expect(gw, (double[]){12, 16, 24, 28}, 4);
    free_all();
}
END_TEST

/* float32 (oneDNN's path: 4 input channels per group) against float64 (im2col) on the
 * same values: forward with bias, input and weight gradients; batch 3 over 2 threads. */
START_TEST(test_conv_paths_agree)
{
    static const int64_t sx[] = {3, 8, 7, 6}, sw[] = {6, 4, 3, 2}, sb[] = {6}, so[] = {3, 6, 4, 4};
    /* groups 2; stride (2, 1), padding (1, 0), dilation (1, 2) */
    static const int64_t attrs[] = {2, 2, 2, 2, 2, 1, 1, 0, 1, 2};
    double vx[3 * 8 * 7 * 6], vw[6 * 4 * 3 * 2], vo[3 * 6 * 4 * 4];
    for (int i = 0; i < (int)(sizeof vx / sizeof *vx); i++)
        vx[i] = (double)((i * 37) % 23) / 11.0 - 1.0;
    for (int i = 0; i < (int)(sizeof vw / sizeof *vw); i++)
        vw[i] = (double)((i * 13) % 17) / 8.0 - 1.0;
    for (int i = 0; i < (int)(sizeof vo / sizeof *vo); i++)
        vo[i] = (double)((i * 7) % 19) / 9.0 - 1.0;
    const double vb[] = {0.5, -1, 0.25, 2, 0, -0.75};
    struct td_kt *r[2][3];
    for (int d = 0; d < 2; d++) {
        enum td_dtype dt = d ? TD_DTYPE_FLOAT64 : TD_DTYPE_FLOAT32;
        struct td_kt *x = mk(dt, 4, sx, vx), *w = mk(dt, 4, sw, vw), *b = mk(dt, 1, sb, vb);
        struct td_kt *go = mk(dt, 4, so, vo);
        r[d][0] = mk(dt, 4, so, NULL);
        r[d][1] = mk(dt, 4, sx, NULL);
        r[d][2] = mk(dt, 4, sw, NULL);
        ck_assert_int_eq(run(TD_OP_CONV, dt, (struct td_kt *[]){x, w, b}, 3, &r[d][0], 1, attrs, 10), TD_CODE_OK);
        ck_assert_int_eq(run(TD_OP_CONV_BACKWARD_INPUT, dt, (struct td_kt *[]){go, w, x}, 3, &r[d][1], 1, attrs, 10),
                         TD_CODE_OK);
        ck_assert_int_eq(run(TD_OP_CONV_BACKWARD_WEIGHT, dt, (struct td_kt *[]){go, x, w}, 3, &r[d][2], 1, attrs, 10),
                         TD_CODE_OK);
    }
    for (int o = 0; o < 3; o++) {
        int64_t n = r[0][o]->m.storage_nbytes / 4;
        for (int64_t i = 0; i < n; i++) {
            double a = ((const float *)r[0][o]->data)[i], b = ((const double *)r[1][o]->data)[i];
            ck_assert_msg(a > b - 1e-4 * (1 + (b < 0 ? -b : b)) && a < b + 1e-4 * (1 + (b < 0 ? -b : b)),
                          "output %d element %ld: float32 %g, float64 %g", o, (long)i, a, b);
        }
    }
    free_all();
}
END_TEST

START_TEST(test_pools)
{
    enum td_dtype dt = _i ? TD_DTYPE_FLOAT64 : TD_DTYPE_FLOAT32;
    struct td_kt *x = mk(dt, 4, S_X, X9), *y = mk(dt, 4, S_O, NULL), *ix = mk(TD_DTYPE_INT64, 4, S_O, NULL);
    /* ceil_mode 0; kernel 2, stride 1, padding 0, dilation 1 */
    int64_t mp[] = {0, 2, 2, 2, 2, 2, 2, 1, 1, 0, 0, 1, 1};
    ck_assert_int_eq(run(TD_OP_MAX_POOL, dt, &x, 1, (struct td_kt *[]){y, ix}, 2, mp, 13), TD_CODE_OK);
    expect(y, (double[]){5, 6, 8, 9}, 4);
    expect(ix, (double[]){4, 5, 7, 8}, 4);
    struct td_kt *go = mk(dt, 4, S_O, (double[]){1, 2, 3, 4}), *gx = mk(dt, 4, S_X, NULL);
    ck_assert_int_eq(run(TD_OP_MAX_POOL_BACKWARD, dt, (struct td_kt *[]){go, x, ix}, 3, &gx, 1, NULL, 0), TD_CODE_OK);
    expect(gx, (double[]){0, 0, 0, 0, 1, 2, 0, 3, 4}, 9);
    /* an index outside its plane is refused, never followed */
    ((int64_t *)ix->data)[2] = 9;
    ck_assert_int_eq(run(TD_OP_MAX_POOL_BACKWARD, dt, (struct td_kt *[]){go, x, ix}, 3, &gx, 1, NULL, 0),
                     TD_CODE_INVALID_ARGUMENT);
    /* ceil_mode 0, count_include_pad 1, no divisor; kernel 2, stride 1, padding 0 */
    int64_t ap[] = {0, 1, 0, 2, 2, 2, 2, 2, 1, 1, 0, 0};
    ck_assert_int_eq(run(TD_OP_AVG_POOL, dt, &x, 1, &y, 1, ap, 12), TD_CODE_OK);
    expect(y, (double[]){3, 4, 6, 7}, 4);
    ck_assert_int_eq(run(TD_OP_AVG_POOL_BACKWARD, dt, (struct td_kt *[]){go, x}, 2, &gx, 1, ap, 12), TD_CODE_OK);
    expect(gx, (double[]){0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1}, 9);
    /* adaptive to 2x2 over 3x3: windows [0, 2) and [1, 3) per dim, as above */
    int64_t ad[] = {2, 2, 2};
    ck_assert_int_eq(run(TD_OP_ADAPTIVE_AVG_POOL, dt, &x, 1, &y, 1, ad, 3), TD_CODE_OK);
    expect(y, (double[]){3, 4, 6, 7}, 4);
    free_all();
}
END_TEST

START_TEST(test_rule_errors)
{
    struct td_meta out[TD_MAX_OUTPUTS];
    struct td_meta x, w, g;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(td_meta_contiguous(&x, TD_DTYPE_FLOAT32, 4, (int64_t[]){2, 4, 5, 5}, &st), TD_CODE_OK);
    ck_assert_int_eq(td_meta_contiguous(&w, TD_DTYPE_FLOAT32, 4, (int64_t[]){6, 3, 3, 3}, &st), TD_CODE_OK);
    int64_t attrs[] = {1, 2, 2, 2, 1, 1, 0, 0, 1, 1};
    const struct td_meta *in[3] = {&x, &w, &g};
    ck_assert_int_eq(infer(TD_OP_CONV, in, 2, attrs, 10, out, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "Given groups=1, weight of size [6, 3, 3, 3], expected input[2, 4, 5, 5] to have 3 "
                             "channels, but got 4 channels instead");
    td_status_clear(&st);
    /* list lengths that disagree, a word missing, a stride of 2^62 */
    int64_t uneven[] = {1, 2, 1, 2, 1, 1, 0, 1, 1};
    ck_assert_int_eq(infer(TD_OP_CONV, in, 2, uneven, 9, out, &st), TD_CODE_INVALID_ARGUMENT);
    td_status_clear(&st);
    ck_assert_int_eq(infer(TD_OP_CONV, in, 2, attrs, 9, out, &st), TD_CODE_INVALID_ARGUMENT);
    td_status_clear(&st);
    int64_t huge[] = {1, 2, 2, 2, INT64_C(1) << 62, 1, 0, 0, 1, 1};
    ck_assert_int_eq(infer(TD_OP_CONV, in, 2, huge, 10, out, &st), TD_CODE_INVALID_ARGUMENT);
    td_status_clear(&st);
    /* a backward row's grad_output must have the forward output's shape */
    ck_assert_int_eq(td_meta_contiguous(&w, TD_DTYPE_FLOAT32, 4, (int64_t[]){6, 4, 3, 3}, &st), TD_CODE_OK);
    ck_assert_int_eq(td_meta_contiguous(&g, TD_DTYPE_FLOAT32, 4, (int64_t[]){2, 6, 3, 4}, &st), TD_CODE_OK);
    const struct td_meta *bi[3] = {&g, &w, &x};
    ck_assert_int_eq(infer(TD_OP_CONV_BACKWARD_INPUT, bi, 3, attrs, 10, out, &st), TD_CODE_INVALID_ARGUMENT);
    td_status_clear(&st);
    g.sizes[3] = 3;
    ck_assert_int_eq(infer(TD_OP_CONV_BACKWARD_INPUT, bi, 3, attrs, 10, out, &st), TD_CODE_OK);
    int64_t mp[] = {0, 2, 2, 2, 2, 3, 3, 1, 1, 2, 2, 1, 1};
    const struct td_meta *px[1] = {&x};
    ck_assert_int_eq(infer(TD_OP_MAX_POOL, px, 1, mp, 13, out, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "pad should be at most half of kernel size, but got pad=2 and kernel_size=3");
}
END_TEST

static Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, pool_up, pool_down);
    tcase_add_loop_test(tc, test_conv_forward, 0, 2);
    tcase_add_loop_test(tc, test_conv_backward, 0, 2);
    tcase_add_test(tc, test_conv_paths_agree);
    tcase_add_loop_test(tc, test_pools, 0, 2);
    tcase_add_test(tc, test_rule_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
