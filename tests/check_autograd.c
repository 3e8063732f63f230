/*
 * check_autograd.c — autograd from C (autograd/ through tensord.h) against a real daemon:
 * gradients of small programs against their closed forms, higher order through
 * TD_AG_CREATE_GRAPH, the errors, custom functions, tensor and node hooks, retained handles.  The
 * suite runs under ASan/LSan: a node, meta or handle left behind fails it.
 */
#include <check.h>
#include <math.h>
#include <string.h>

#include "check_client.h"


static struct td_t vec(const double *v, int n, bool grad)
{
    struct td_t t;
    int64_t sizes[1] = {n};
    OK(td_from_data(c, TD_DTYPE_FLOAT64, 1, sizes, v, &t, st));
    if (grad)
        OK(td_requires_grad_(c, &t, true, st));
    return t;
}

static void expect(const struct td_t *t, const double *want, int n)
{
    double got[16];
    ck_assert_int_le(n, 16);
    OK(td_download(c, t, got, sizeof(double) * n, st));
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) < 1e-9, "element %d: %g, want %g", i, got[i], want[i]);
}

static struct td_t bin(enum td_op op, const struct td_t *a, const struct td_t *b)
{
    struct td_t o;
    OK(td_binary(c, op, a, b, &o, st));
    return o;
}

static struct td_t total(const struct td_t *a)
{
    struct td_t o;
    OK(td_reduce(c, TD_OP_SUM, a, NULL, 0, 0, &o, st));
    return o;
}

START_TEST(test_sum_of_squares)
{
    double xv[3] = {1, -2, 3};
    struct td_t x = vec(xv, 3, true), sq = bin(TD_OP_MUL, &x, &x), y = total(&sq);
    ck_assert(td_requires_grad(&y) && !td_is_leaf(&y) && td_is_leaf(&x));
    struct td_ag_node *fn = td_grad_fn(&y);
    ck_assert_str_eq(td_ag_node_name(fn), "SumBackward0");
    td_ag_node_unref(fn);
    const struct td_t *roots[1] = {&y};
    OK(td_backward(c, 1, roots, NULL, 0, NULL, 0, st));
    struct td_t g;
    ck_assert(td_grad_get(c, &x, &g));
    double want[3] = {2, -4, 6};
    expect(&g, want, 3);
    /* a second pass accumulates; MUL saved x, so the graph must have been retained */
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_ne(td_backward(c, 1, roots, NULL, 0, NULL, 0, &st), TD_CODE_OK);
    ck_assert_msg(strstr(st.msg, "backward through the graph a second time"), "%s", st.msg);
    td_release(c, &g);
    td_release(c, &y);
    td_release(c, &sq);
    td_release(c, &x);
}
END_TEST

START_TEST(test_broadcast_matmul_closed_form)
{
    /* y = sum((A @ x + b)^2): dy/dx = 2 A^T (A x + b), dy/db = 2 (A x + b) */
    double av[6] = {1, 2, 3, -1, 0.5, 2}, xv[3] = {0.5, -1, 2}, bv[1] = {0.25};
    int64_t as[2] = {2, 3}, bs[1] = {1};
    struct td_t A, b, x = vec(xv, 3, true), ax, r, sq, y;
    OK(td_from_data(c, TD_DTYPE_FLOAT64, 2, as, av, &A, st));
    OK(td_from_data(c, TD_DTYPE_FLOAT64, 1, bs, bv, &b, st));
    OK(td_requires_grad_(c, &b, true, st));
    OK(td_matmul(c, &A, &x, &ax, st));
    r = bin(TD_OP_ADD, &ax, &b); /* b broadcasts: its gradient sums */
    sq = bin(TD_OP_MUL, &r, &r);
    y = total(&sq);
    const struct td_t *roots[1] = {&y};
    OK(td_backward(c, 1, roots, NULL, 0, NULL, TD_AG_RETAIN_GRAPH, st));
    double res[2] = {0.25, 0.25}, gx[3] = {0}, gb = 0;
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 3; k++)
            res[i] += av[i * 3 + k] * xv[k];
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 2; i++)
            gx[k] += 2 * av[i * 3 + k] * res[i];
    gb = 2 * (res[0] + res[1]);
    struct td_t g;
    ck_assert(td_grad_get(c, &x, &g));
    expect(&g, gx, 3);
    td_release(c, &g);
    ck_assert(td_grad_get(c, &b, &g));
    expect(&g, &gb, 1);
    td_release(c, &g);
    struct td_t *all[] = {&A, &b, &x, &ax, &r, &sq, &y};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        td_release(c, all[i]);
}
END_TEST

START_TEST(test_second_derivative)
{
    double xv[2] = {0.5, 2};
    struct td_t x = vec(xv, 2, true), x2 = bin(TD_OP_MUL, &x, &x), x3 = bin(TD_OP_MUL, &x2, &x), y = total(&x3);
    const struct td_t *out[1] = {&y}, *in[1] = {&x};
    struct td_t g1[1], g2[1];
    OK(td_grad(c, 1, out, NULL, 1, in, g1, TD_AG_CREATE_GRAPH | TD_AG_RETAIN_GRAPH, st));
    double d1[2] = {3 * 0.25, 3 * 4};
    expect(&g1[0], d1, 2);
    struct td_t s = total(&g1[0]);
    const struct td_t *out2[1] = {&s};
    OK(td_grad(c, 1, out2, NULL, 1, in, g2, 0, st));
    double d2[2] = {6 * 0.5, 6 * 2};
    expect(&g2[0], d2, 2);
    struct td_t none;
    ck_assert(!td_grad_get(c, &x, &none)); /* td_grad leaves .grad alone */
    struct td_t *all[] = {&x, &x2, &x3, &y, &g1[0], &g2[0], &s};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        td_release(c, all[i]);
}
END_TEST

START_TEST(test_errors)
{
    double xv[2] = {1, 2};
    struct td_t x = vec(xv, 2, true), y = bin(TD_OP_MUL, &x, &x);
    struct td_status st = TD_STATUS_INIT;
    const struct td_t *roots[1] = {&y};
    ck_assert_int_ne(td_backward(c, 1, roots, NULL, 0, NULL, 0, &st), TD_CODE_OK);
    ck_assert_msg(strstr(st.msg, "only for scalar outputs"), "%s", st.msg);
    st = (struct td_status)TD_STATUS_INIT;
    const struct td_t *in[2] = {&x, &x};
    struct td_argval v[4];
    int n = td_op_default_values(TD_OP_ADD, v, 4);
    ck_assert_int_ne(td_op_values(c, TD_OP_ADD, TD_RF_INPLACE, in, 2, v, n, NULL, &st), TD_CODE_OK);
    ck_assert_msg(strstr(st.msg, "leaf Variable that requires grad"), "%s", st.msg);
    struct td_t i64;
    int64_t iv[1] = {1}, is[1] = {1};
    OK(td_from_data(c, TD_DTYPE_INT64, 1, is, iv, &i64, st));
    st = (struct td_status)TD_STATUS_INIT;
    ck_assert_int_ne(td_requires_grad_(c, &i64, true, &st), TD_CODE_OK);
    ck_assert_msg(strstr(st.msg, "floating point"), "%s", st.msg);
    /* grad mode off: nothing is recorded */
    td_grad_set_enabled(false);
    struct td_t z = bin(TD_OP_MUL, &x, &x);
    td_grad_set_enabled(true);
    ck_assert(!td_requires_grad(&z));
    struct td_t *all[] = {&x, &y, &i64, &z};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        td_release(c, all[i]);
}
END_TEST

/* a custom backward: twice the incoming gradient for its one input */
static enum td_code twice(void *ctx, td_client_t *cl, const struct td_t *gout, int n_out, struct td_t *gin, int n_in,
                          struct td_status *st)
{
    ++*(int *)ctx;
    return td_binary_scalar(cl, TD_OP_MUL, &gout[0], 2.0, &gin[0], st);
}

/* a hook that replaces the gradient by its triple */
static enum td_code triple(void *ctx, td_client_t *cl, struct td_t *g, struct td_status *st)
{
    struct td_t t;
    enum td_code code = td_binary_scalar(cl, TD_OP_MUL, g, 3.0, &t, st);
    if (!code) {
        td_release(cl, g);
        *g = t;
    }
    return code;
}

START_TEST(test_custom_function_and_hook)
{
    double xv[2] = {1, 2};
    struct td_t x = vec(xv, 2, true), out;
    td_grad_set_enabled(false);
    out = bin(TD_OP_ADD, &x, &x); /* the function's forward, outside the graph */
    td_grad_set_enabled(true);
    int calls = 0;
    struct td_ag_custom fn = {.backward = twice, .ctx = &calls, .name = "TwiceBackward"};
    const struct td_t *in[1] = {&x};
    OK(td_ag_custom_apply(c, &fn, in, 1, &out, 1, st));
    struct td_ag_node *node = td_grad_fn(&out);
    ck_assert_str_eq(td_ag_node_name(node), "TwiceBackward");
    td_ag_node_unref(node);
    int id = -1;
    {
        struct td_status st = TD_STATUS_INIT;
        id = td_ag_hook_add(c, &x, triple, NULL, NULL, &st);
        ck_assert_int_gt(id, 0);
    }
    struct td_t y = total(&out);
    const struct td_t *roots[1] = {&y};
    OK(td_backward(c, 1, roots, NULL, 0, NULL, 0, st));
    ck_assert_int_eq(calls, 1);
    struct td_t g;
    ck_assert(td_grad_get(c, &x, &g));
    double want[2] = {6, 6};
    expect(&g, want, 2);
    td_ag_hook_remove(&x, id);
    struct td_t *all[] = {&x, &out, &y, &g};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        td_release(c, all[i]);
}
END_TEST

/* a node hook: sees x * w's gradients (x's, none for w) and the output's, and replaces
 * x's by its triple */
static enum td_code node_triple(void *ctx, td_client_t *cl, struct td_t *gin, int n_in, const struct td_t *gout,
                                int n_out, struct td_status *st)
{
    int *seen = ctx;
    seen[0] = n_in;
    seen[1] = n_out;
    seen[2] = gin[0].handle != 0;
    seen[3] = gin[1].handle != 0;
    seen[4] = gout[0].handle != 0;
    return triple(NULL, cl, &gin[0], st);
}

/* a node pre-hook: the output's gradient doubled */
static enum td_code node_pre_double(void *ctx, td_client_t *cl, struct td_t *gout, int n_out, struct td_status *st)
{
    struct td_t t;
    enum td_code code = td_binary_scalar(cl, TD_OP_MUL, &gout[0], 2.0, &t, st);
    if (!code) {
        td_release(cl, &gout[0]);
        gout[0] = t;
    }
    ++*(int *)ctx;
    return code;
}

START_TEST(test_node_hook)
{
    double xv[2] = {1, 2}, wv[2] = {5, 7};
    struct td_t x = vec(xv, 2, true), w = vec(wv, 2, false), y = bin(TD_OP_MUL, &x, &w);
    struct td_ag_node *node = td_grad_fn(&y);
    int seen[5] = {0}, noop_seen[5] = {0}, pre_calls = 0;
    {
        struct td_status st = TD_STATUS_INIT;
        ck_assert_int_eq(td_ag_node_hook_add(node, node_triple, seen, NULL, &st), 1);
        ck_assert_int_eq(td_ag_node_hook_add(node, node_triple, noop_seen, NULL, &st), 2);
        ck_assert_int_eq(td_ag_node_prehook_add(node, node_pre_double, &pre_calls, NULL, &st), 1);
    }
    td_ag_node_hook_remove(node, 2);
    td_ag_node_unref(node);
    struct td_t z = total(&y);
    const struct td_t *roots[1] = {&z};
    OK(td_backward(c, 1, roots, NULL, 0, NULL, 0, st));
    ck_assert_int_eq(seen[0], 2);
    ck_assert_int_eq(seen[1], 1);
    ck_assert(seen[2] && !seen[3] && seen[4]);
    ck_assert_int_eq(noop_seen[0], 0);
    ck_assert_int_eq(pre_calls, 1);
    struct td_t g;
    ck_assert(td_grad_get(c, &x, &g));
    double want[2] = {30, 42}; /* w, doubled before the node, tripled after */
    expect(&g, want, 2);
    struct td_t *all[] = {&x, &w, &y, &z, &g};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        td_release(c, all[i]);
}
END_TEST

static struct td_t slice1(const struct td_t *t, int64_t start, int64_t end)
{
    struct td_slice_args a = {.dim = 0, .start = start, .end = end, .step = 1};
    const struct td_t *in[1] = {t};
    struct td_t o;
    OK(td_rec_slice(c, 0, in, 1, &a, &o, st));
    return o;
}

static void mul_(struct td_t *self, const struct td_t *other, struct td_status *st)
{
    const struct td_t *in[2] = {self, other};
    struct td_argval v[4];
    int n = td_op_default_values(TD_OP_MUL, v, 4);
    td_op_values(c, TD_OP_MUL, TD_RF_INPLACE, in, 2, v, n, NULL, st);
}

static void expect_name(const struct td_t *t, const char *name)
{
    struct td_ag_node *fn = td_grad_fn(t);
    ck_assert_ptr_nonnull(fn);
    ck_assert_str_eq(td_ag_node_name(fn), name);
    td_ag_node_unref(fn);
}

/* y = x*x; y[1:3] *= x[0:2]: y's history becomes CopySlices, the view's AsStridedBackward0;
 * first and second derivatives against their closed forms; nothing leaks (LSan) */
START_TEST(test_inplace_on_view)
{
    double xv[4] = {1, 2, 3, 4};
    struct td_t x = vec(xv, 4, true), y = bin(TD_OP_MUL, &x, &x), v = slice1(&y, 1, 3), xs = slice1(&x, 0, 2);
    OK((mul_(&v, &xs, st), st->code));
    expect_name(&y, "torch::autograd::CopySlices");
    expect_name(&v, "AsStridedBackward0");
    struct td_t s = total(&y);
    const struct td_t *out[1] = {&s}, *in[1] = {&x};
    struct td_t g1[1], g2[1];
    OK(td_grad(c, 1, out, NULL, 1, in, g1, TD_AG_CREATE_GRAPH | TD_AG_RETAIN_GRAPH, st));
    double d1[4] = {2 * 1 + 2 * 2, 2 * 2 * 1 + 3 * 3, 2 * 3 * 2, 2 * 4};
    expect(&g1[0], d1, 4);
    struct td_t s1 = total(&g1[0]);
    const struct td_t *out2[1] = {&s1};
    OK(td_grad(c, 1, out2, NULL, 1, in, g2, 0, st));
    double d2[4] = {2 + 2 * 2, 2 * 2 + 2 * 1 + 2 * 3, 2 * 3 + 2 * 2, 2};
    expect(&g2[0], d2, 4);
    /* a view of a leaf that requires grad cannot be written in place */
    struct td_t xv2 = slice1(&x, 1, 2);
    struct td_status est = TD_STATUS_INIT;
    mul_(&xv2, &xs, &est);
    ck_assert_msg(strstr(est.msg, "a view of a leaf Variable that requires grad"), "%s", est.msg);
    struct td_t *all[] = {&x, &y, &v, &xs, &s, &g1[0], &s1, &g2[0], &xv2};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        td_release(c, all[i]);
}
END_TEST

static struct td_t op_w(enum td_op op, const struct td_t *x, const int64_t *w, int nw)
{
    const struct td_t *in[1] = {x};
    struct td_t o;
    OK(td_op(c, op, 0, in, 1, w, nw, &o, st));
    return o;
}

/* sum |spectrum|^2 through the FFT rows and complex abs, against Parseval: for C2C,
 * sum |F z|^2 = n sum |z|^2, so z's gradient (torch's convention dL/dx + i dL/dy) is 2 n z;
 * for an ortho R2C of n = 5 the half spectrum holds (sum x^2 + (sum x)^2 / 5) / 2, whose
 * gradient is x + mean(x) */
START_TEST(test_fft_parseval)
{
    double zv[8] = {1, 0.5, -2, 1, 0.25, -1, 3, 2}, xv[5] = {1, -2, 0.5, 3, -1};
    int64_t n4[1] = {4};
    struct td_t z, x = vec(xv, 5, true);
    OK(td_from_data(c, TD_DTYPE_COMPLEX128, 1, n4, zv, &z, st));
    OK(td_requires_grad_(c, &z, true, st));
    int64_t c2c[3] = {0, 1, 0}, r2c[3] = {2, 0, 0};
    struct td_t f = op_w(TD_OP_FFT_C2C, &z, c2c, 3), fa = op_w(TD_OP_ABS, &f, NULL, 0), fs = bin(TD_OP_MUL, &fa, &fa);
    struct td_t r = op_w(TD_OP_FFT_R2C, &x, r2c, 3), ra = op_w(TD_OP_ABS, &r, NULL, 0), rs = bin(TD_OP_MUL, &ra, &ra);
    struct td_t y = total(&fs), y2 = total(&rs);
    expect_name(&f, "FftC2CBackward0");
    const struct td_t *roots[2] = {&y, &y2};
    OK(td_backward(c, 2, roots, NULL, 0, NULL, 0, st));
    struct td_t gz, gx;
    ck_assert(td_grad_get(c, &z, &gz) && td_grad_get(c, &x, &gx));
    ck_assert_int_eq(gz.m.dtype, TD_DTYPE_COMPLEX128);
    double wz[8], wx[5], mean = (1 - 2 + 0.5 + 3 - 1) / 5.0;
    for (int i = 0; i < 8; i++)
        wz[i] = 8 * zv[i];
    for (int i = 0; i < 5; i++)
        wx[i] = xv[i] + mean;
    expect(&gz, wz, 8);
    expect(&gx, wx, 5);
    struct td_t *all[] = {&z, &x, &f, &fa, &fs, &r, &ra, &rs, &y, &y2, &gz, &gx};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        td_release(c, all[i]);
}
END_TEST

/* y = 2 z; view_as_real(y)[:, 0] *= 3 rebases the complex y (CopySlices); the real view
 * taken before is regenerated (ViewAsRealBackward0); L = sum(view_as_real(y)) =
 * sum(6 re + 2 im), so z's gradient is 6 + 2i everywhere */
START_TEST(test_inplace_through_real_view)
{
    double zv[4] = {1, 0.5, -2, 1}, two[1] = {2}, three[1] = {3};
    int64_t n2[1] = {2};
    struct td_t z, t2 = vec(two, 1, false), t3 = vec(three, 1, false);
    OK(td_from_data(c, TD_DTYPE_COMPLEX128, 1, n2, zv, &z, st));
    OK(td_requires_grad_(c, &z, true, st));
    struct td_t y = bin(TD_OP_MUL, &z, &t2), v = op_w(TD_OP_VIEW_AS_REAL, &y, NULL, 0);
    int64_t sel[2] = {1, 0};
    struct td_t re = op_w(TD_OP_SELECT, &v, sel, 2);
    OK((mul_(&re, &t3, st), st->code));
    expect_name(&y, "torch::autograd::CopySlices");
    expect_name(&v, "ViewAsRealBackward0");
    expect_name(&re, "AsStridedBackward0");
    struct td_t l = total(&v);
    const struct td_t *roots[1] = {&l};
    OK(td_backward(c, 1, roots, NULL, 0, NULL, 0, st));
    struct td_t g;
    ck_assert(td_grad_get(c, &z, &g));
    double want[4] = {6, 2, 6, 2};
    expect(&g, want, 4);
    struct td_t *all[] = {&z, &t2, &t3, &y, &v, &re, &l, &g};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        td_release(c, all[i]);
}
END_TEST

START_TEST(test_retained_handle_outlives_release)
{
    double xv[3] = {4, 5, 6};
    struct td_t x = vec(xv, 3, false);
    struct td_t y = td_retain(c, &x);
    td_release(c, &x);
    expect(&y, xv, 3); /* still there: one reference left */
    td_release(c, &y);
    OK(td_sync(c, st));
}
END_TEST

/* td_set_data: the leaf keeps requires_grad and its gradient, takes the source's storage
 * (a write to the source shows through) and, with another shape, gets gradients of it */
START_TEST(test_set_data)
{
    double xv[3] = {1, 2, 3}, nv[2] = {10, 20};
    struct td_t x = vec(xv, 3, true), sq = bin(TD_OP_MUL, &x, &x), y = total(&sq);
    const struct td_t *roots[1] = {&y};
    OK(td_backward(c, 1, roots, NULL, 0, NULL, 0, st));
    struct td_t src = vec(nv, 2, false);
    td_set_data(c, &x, &src);
    ck_assert(td_requires_grad(&x) && td_is_leaf(&x));
    ck_assert_int_eq(x.m.ndim, 1);
    ck_assert_int_eq(x.m.sizes[0], 2);
    expect(&x, nv, 2);
    struct td_t g;
    ck_assert(td_grad_get(c, &x, &g)); /* the old gradient stays, as torch's */
    double gwant[3] = {2, 4, 6};
    expect(&g, gwant, 3);
    td_release(c, &g);
    OK(td_grad_set(c, &x, NULL, st));
    struct td_t sq2 = bin(TD_OP_MUL, &x, &x), y2 = total(&sq2);
    const struct td_t *roots2[1] = {&y2};
    OK(td_backward(c, 1, roots2, NULL, 0, NULL, 0, st));
    ck_assert(td_grad_get(c, &x, &g));
    double want[2] = {20, 40};
    expect(&g, want, 2);
    td_release(c, &g);
    td_release(c, &y2);
    td_release(c, &sq2);
    td_release(c, &y);
    td_release(c, &sq);
    td_release(c, &src);
    td_release(c, &x);
    OK(td_sync(c, st));
}
END_TEST

/* autocast from C: a matmul under CPU autocast runs in bfloat16, an op off the lists in
 * its inputs' dtype; the backward pass runs without autocast, so the leaf's gradient is
 * float32 and close to the exact one (2 * sum over columns of A) */
START_TEST(test_autocast)
{
    float av[4] = {1, 2, 3, 4}, xv[2] = {0.5f, -1};
    int64_t sa[2] = {2, 2}, sx[1] = {2};
    struct td_t A, x;
    OK(td_from_data(c, TD_DTYPE_FLOAT32, 2, sa, av, &A, st));
    OK(td_from_data(c, TD_DTYPE_FLOAT32, 1, sx, xv, &x, st));
    OK(td_requires_grad_(c, &A, true, st));
    td_autocast_set(0, true, TD_DTYPE_BFLOAT16);
    ck_assert(td_autocast_enabled(0) && !td_autocast_enabled(1));
    struct td_t ax;
    OK(td_matmul(c, &A, &x, &ax, st));
    ck_assert_int_eq(ax.m.dtype, TD_DTYPE_BFLOAT16);
    struct td_t twice = bin(TD_OP_ADD, &ax, &ax);
    ck_assert_int_eq(twice.m.dtype, TD_DTYPE_BFLOAT16);
    struct td_t y = total(&twice);
    td_autocast_set(0, false, TD_DTYPE_BFLOAT16);
    ck_assert(!td_autocast_enabled(0));
    const struct td_t *roots[1] = {&y};
    OK(td_backward(c, 1, roots, NULL, 0, NULL, 0, st));
    struct td_t g;
    ck_assert(td_grad_get(c, &A, &g));
    ck_assert_int_eq(g.m.dtype, TD_DTYPE_FLOAT32);
    float got[4], want[4] = {1, -2, 1, -2}; /* d/dA of sum(2 A x): 2 x^T in every row */
    OK(td_download(c, &g, got, sizeof got, st));
    for (int i = 0; i < 4; i++)
        ck_assert_msg(got[i] == want[i], "element %d: %g, want %g", i, got[i], want[i]);
    struct td_t *rel[] = {&g, &y, &twice, &ax, &x, &A};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++)
        td_release(c, rel[i]);
    OK(td_sync(c, st));
}
END_TEST

/* the gradient of sum(f(A)) for a 2x2 A, f an op whose first output is the matrix */
static void linalg_grad(enum td_op op, const double *av, const int64_t *w, int nw, bool sum_out1, const double *want)
{
    int64_t sizes[2] = {2, 2};
    struct td_t A, out[TD_MAX_OUTPUTS], y, g;
    OK(td_from_data(c, TD_DTYPE_FLOAT64, 2, sizes, av, &A, st));
    OK(td_requires_grad_(c, &A, true, st));
    const struct td_t *in[1] = {&A};
    OK(td_op(c, op, 0, in, 1, w, nw, out, st));
    y = total(&out[sum_out1 ? 1 : 0]);
    const struct td_t *roots[1] = {&y};
    OK(td_backward(c, 1, roots, NULL, 0, NULL, 0, st));
    ck_assert(td_grad_get(c, &A, &g));
    expect(&g, want, 4);
    td_release(c, &g);
    td_release(c, &y);
    for (int k = 0; k < td_op_table[op].n_out; k++)
        td_release(c, &out[k]);
    td_release(c, &A);
}

START_TEST(test_linalg_closed_forms)
{
    /* cholesky of diag(4, 9): L = diag(2, 3); the symmetric gradient of sum(L) */
    double chol[4] = {4, 0, 0, 9}, gchol[4] = {0.25, 0.25, 0.25, 1.0 / 6};
    int64_t lower[1] = {0};
    linalg_grad(TD_OP_LINALG_CHOLESKY, chol, lower, 1, false, gchol);
    /* sum(exp(diag(a, b))): e^a, e^b on the diagonal, (e^a - e^b) / (a - b) off it */
    double ex[4] = {1, 0, 0, 2}, dd = (exp(1) - exp(2)) / (1 - 2), gex[4] = {exp(1), dd, dd, exp(2)};
    linalg_grad(TD_OP_MATRIX_EXP, ex, NULL, 0, false, gex);
    /* the eigenvalues' sum is the trace */
    double sym[4] = {2, 1, 1, 3}, eye[4] = {1, 0, 0, 1};
    int64_t vecs[2] = {0, 1};
    linalg_grad(TD_OP_LINALG_EIGH, sym, vecs, 2, false, eye);
    /* the singular values of diag(3, 2) move with its diagonal alone */
    double dg[4] = {3, 0, 0, 2};
    int64_t uv[2] = {0, 1};
    linalg_grad(TD_OP_LINALG_SVD, dg, uv, 2, true, eye);
}
END_TEST

START_TEST(test_linalg_error_frees_everything)
{
    /* qr with mode 'r' computes no Q: backward raises torch's error, leaking nothing */
    double av[4] = {1, 2, 3, 4};
    int64_t sizes[2] = {2, 2}, mode_r[1] = {2};
    struct td_t A, out[2], y;
    OK(td_from_data(c, TD_DTYPE_FLOAT64, 2, sizes, av, &A, st));
    OK(td_requires_grad_(c, &A, true, st));
    const struct td_t *in[1] = {&A};
    OK(td_op(c, TD_OP_LINALG_QR, 0, in, 1, mode_r, 1, out, st));
    y = total(&out[1]);
    const struct td_t *roots[1] = {&y};
    struct td_status e = TD_STATUS_INIT;
    ck_assert_int_eq(td_backward(c, 1, roots, NULL, 0, NULL, 0, &e), TD_CODE_INVALID_ARGUMENT);
    ck_assert_msg(strstr(e.msg, "not computed when mode='r'"), "%s", e.msg);
    struct td_t *all[] = {&A, &out[0], &out[1], &y};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        td_release(c, all[i]);
    OK(td_sync(c, st));
}
END_TEST

START_TEST(test_modified_saved_input_names_latest_node)
{
    /* z = sin(y) saves y; 1000 in-place ops on y later, backward names y's latest node
     * (torch's "which is output 0 of AddBackward0") and frees the chain of histories */
    double xv[2] = {1, 2};
    struct td_t x = vec(xv, 2, true), y, z, s;
    OK(td_binary_scalar(c, TD_OP_MUL, &x, 2.0, &y, st));
    const struct td_t *in[1] = {&y};
    OK(td_op(c, TD_OP_SIN, 0, in, 1, NULL, 0, &z, st));
    struct td_argval v[4];
    for (int i = 0; i < 1000; i++) {
        struct td_t k = vec(xv, 2, false);
        const struct td_t *args[2] = {&y, &k};
        enum td_op op = i == 999 ? TD_OP_ADD : TD_OP_MUL;
        int n = td_op_default_values(op, v, 4);
        OK(td_op_values(c, op, TD_RF_INPLACE, args, 2, v, n, NULL, st));
        td_release(c, &k);
    }
    s = total(&z);
    const struct td_t *roots[1] = {&s};
    struct td_status e = TD_STATUS_INIT;
    ck_assert_int_eq(td_backward(c, 1, roots, NULL, 0, NULL, 0, &e), TD_CODE_INVALID_ARGUMENT);
    ck_assert_msg(strstr(e.msg, "which is output 0 of AddBackward0, is at version 1000; expected version 0"),
                  "%s", e.msg);
    struct td_t *all[] = {&x, &y, &z, &s};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        td_release(c, all[i]);
    OK(td_sync(c, st));
}
END_TEST

/* saved-tensor hooks from C: pack keeps its own reference in a box, unpack hands one
 * back; every box is dropped once the graph goes (LSan checks), with or without backward */
static int packs, unpacks, drops;

static enum td_code box_pack(void *ctx, td_client_t *cl, const struct td_t *t, void **packed, struct td_status *st)
{
    struct td_t *box = malloc(sizeof *box);
    *box = td_retain(cl, t);
    *packed = box;
    packs++;
    return TD_CODE_OK;
}

static enum td_code box_unpack(void *ctx, td_client_t *cl, void *packed, struct td_t *out, struct td_status *st)
{
    *out = td_retain(cl, (const struct td_t *)packed);
    unpacks++;
    return TD_CODE_OK;
}

static void box_drop(void *ctx, void *packed)
{
    td_release(c, (struct td_t *)packed);
    free(packed);
    drops++;
}

START_TEST(test_saved_tensor_hooks)
{
    double xv[2] = {3, -2};
    for (int with_backward = 0; with_backward < 2; with_backward++) {
        packs = unpacks = drops = 0;
        struct td_t x = vec(xv, 2, true), y, s;
        OK(td_ag_saved_hooks_push(box_pack, box_unpack, box_drop, NULL, NULL, st));
        y = bin(TD_OP_MUL, &x, &x); /* saves x twice */
        td_ag_saved_hooks_pop();
        s = total(&y);
        ck_assert_int_eq(packs, 2);
        if (with_backward) {
            const struct td_t *roots[1] = {&s};
            OK(td_backward(c, 1, roots, NULL, 0, NULL, 0, st));
            ck_assert_int_eq(unpacks, 2);
            double want[2] = {6, -4};
            struct td_t g;
            ck_assert(td_grad_get(c, &x, &g));
            expect(&g, want, 2);
            td_release(c, &g);
        }
        struct td_t *all[] = {&x, &y, &s};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            td_release(c, all[i]);
        ck_assert_int_eq(drops, 2);
    }
    OK(td_sync(c, st));
}
END_TEST

Suite *autograd_suite(void)
{
    Suite *s = suite_create("autograd");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, client_setup, client_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sum_of_squares);
    tcase_add_test(tc, test_broadcast_matmul_closed_form);
    tcase_add_test(tc, test_second_derivative);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_custom_function_and_hook);
    tcase_add_test(tc, test_node_hook);
    tcase_add_test(tc, test_retained_handle_outlives_release);
    tcase_add_test(tc, test_inplace_on_view);
    tcase_add_test(tc, test_set_data);
    tcase_add_test(tc, test_autocast);
    tcase_add_test(tc, test_linalg_closed_forms);
    tcase_add_test(tc, test_linalg_error_frees_everything);
    tcase_add_test(tc, test_fft_parseval);
    tcase_add_test(tc, test_inplace_through_real_view);
    tcase_add_test(tc, test_modified_saved_input_names_latest_node);
    tcase_add_test(tc, test_saved_tensor_hooks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(autograd_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
