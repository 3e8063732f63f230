/*
 * check_shape.c — the meta layer (kernels/shape*.c): broadcasting, type promotion,
 * reductions, matmul, views and their bounds, error codes and messages, and a loop
 * over every op row feeding garbage attributes that must be rejected, never crash; the
 * "overflow" case holds the protocol fuzzer's size/stride/offset reproducers.
 * Reference values are PyTorch 1.13's documented behaviour.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/meta.h"

static struct td_meta mk(enum td_dtype dt, int nd, const int64_t *sizes)
{
    struct td_meta m;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(td_meta_contiguous(&m, dt, nd, sizes, &st), TD_CODE_OK);
    return m;
}

static enum td_code infer(unsigned op, unsigned flags, const struct td_meta *const *in, int n_in, const int64_t *attrs,
                          int n_attr, struct td_meta *out, struct td_infer *inf, struct td_status *st)
{
    struct td_op_args a = {.op = (uint16_t)op, .flags = (uint8_t)flags, .n_in = (uint16_t)n_in, .in = in,
                           .attrs = attrs, .n_attr = (uint32_t)n_attr, .default_float = TD_DTYPE_FLOAT32};
    return td_meta_infer(&a, out, inf, st);
}

START_TEST(test_broadcast)
{
    int64_t s1[] = {3, 1, 5}, s2[] = {4, 1};
    struct td_meta a = mk(TD_DTYPE_FLOAT32, 3, s1), b = mk(TD_DTYPE_FLOAT32, 2, s2), out[2];
    const struct td_meta *in[] = {&a, &b};
    int64_t attrs[2] = {0, 0};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(infer(TD_OP_ADD, 0, in, 2, attrs, 2, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].ndim, 3);
    ck_assert_int_eq(out[0].sizes[0], 3);
    ck_assert_int_eq(out[0].sizes[1], 4);
    ck_assert_int_eq(out[0].sizes[2], 5);
    int64_t s3[] = {3, 4};
    struct td_meta c = mk(TD_DTYPE_FLOAT32, 2, s3);
    in[1] = &c;
    ck_assert_int_eq(infer(TD_OP_ADD, 0, in, 2, attrs, 2, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "The size of tensor a (5) must match the size of tensor b (4) at non-singleton dimension 2");
}
END_TEST

/* A new elementwise result is laid out as torch's TensorIterator lays it out (the
 * strides below are torch 1.13's for the same inputs). */
START_TEST(test_elementwise_layout)
{
    int64_t s4[] = {2, 3, 4, 5}, s2[] = {4, 3}, attrs[2] = {0, 0};
    struct td_meta cl = mk(TD_DTYPE_FLOAT32, 4, s4), rm = mk(TD_DTYPE_FLOAT32, 4, s4), t = mk(TD_DTYPE_FLOAT32, 2, s2);
    const int64_t cls[] = {60, 1, 15, 3};
    memcpy(cl.strides, cls, sizeof cls);
    t.strides[0] = 1, t.strides[1] = 4; /* a (3, 4) tensor transposed */
    struct td_meta out[2];
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    const struct td_meta *in[2] = {&cl, &rm};
    ck_assert_int_eq(infer(TD_OP_ADD, 0, in, 2, attrs, 2, out, &inf, &st), TD_CODE_OK); /* cl + rm: cl decides */
    ck_assert(!memcmp(out[0].strides, cls, sizeof cls));
    in[0] = &rm, in[1] = &cl; /* rm + cl: rm decides, row-major */
    ck_assert_int_eq(infer(TD_OP_ADD, 0, in, 2, attrs, 2, out, &inf, &st), TD_CODE_OK);
    ck_assert(td_meta_is_contiguous(&out[0]));
    in[0] = &t;
    ck_assert_int_eq(infer(TD_OP_EXP, 0, in, 1, NULL, 0, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].strides[0], 1);
    ck_assert_int_eq(out[0].strides[1], 4);
    int64_t srow[] = {3};
    struct td_meta row = mk(TD_DTYPE_FLOAT32, 1, srow); /* t + row: row broadcasts, t decides */
    in[1] = &row;
    ck_assert_int_eq(infer(TD_OP_ADD, 0, in, 2, attrs, 2, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].strides[0], 1);
    ck_assert_int_eq(out[0].strides[1], 4);
    int64_t cast[] = {TD_DTYPE_FLOAT64};
    in[0] = &cl; /* to(dtype) keeps the layout */
    ck_assert_int_eq(infer(TD_OP_CAST, 0, in, 1, cast, 1, out, &inf, &st), TD_CODE_OK);
    ck_assert(!memcmp(out[0].strides, cls, sizeof cls));
    ck_assert_int_eq(infer(TD_OP_CLONE, 0, in, 1, NULL, 0, out, &inf, &st), TD_CODE_OK); /* clone: row-major */
    ck_assert(td_meta_is_contiguous(&out[0]));
}
END_TEST

/* The generator records: an old-form MANUAL_SEED (no generators word) still seeds them
 * all; a generator number other than 0 or 1 is refused. */
START_TEST(test_generator_records)
{
    struct td_meta out[2];
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    int64_t seed_only[1] = {42}, bad[2] = {42, 2}, ok[2] = {42, 1};
    ck_assert_int_eq(infer(TD_OP_MANUAL_SEED, 0, NULL, 0, seed_only, 1, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(infer(TD_OP_MANUAL_SEED, 0, NULL, 0, ok, 2, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(infer(TD_OP_MANUAL_SEED, 0, NULL, 0, bad, 2, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    int64_t n[1] = {5056};
    struct td_meta state = mk(TD_DTYPE_UINT8, 1, n);
    const struct td_meta *in[1] = {&state};
    int64_t gen_bad[1] = {7}, gen_dev[1] = {1};
    ck_assert_int_eq(infer(TD_OP_GET_RNG_STATE, 0, in, 1, gen_dev, 1, out, &inf, &st), TD_CODE_OK);
    st = (struct td_status)TD_STATUS_INIT;
    ck_assert_int_eq(infer(TD_OP_SET_RNG_STATE, 0, in, 1, gen_bad, 1, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "set_rng_state: generator must be 0 (cpu) or 1 (devices)");
}
END_TEST

/* (a dtype, a 0-d?, b dtype or scalar kind, expected) from torch.result_type */
START_TEST(test_promotion)
{
    int64_t s[] = {2};
    struct {
        enum td_dtype a;
        int a_dim;
        int b; /* >= 0 dtype of a 1-d tensor; -1 int scalar; -2 float scalar; -3 bool scalar */
        enum td_dtype want;
    } cases[] = {
        {TD_DTYPE_INT32, 1, -2, TD_DTYPE_FLOAT32},  {TD_DTYPE_INT8, 1, -1, TD_DTYPE_INT8},
        {TD_DTYPE_BOOL, 1, -1, TD_DTYPE_INT64},     {TD_DTYPE_UINT8, 1, TD_DTYPE_INT8, TD_DTYPE_INT16},
        {TD_DTYPE_FLOAT16, 1, TD_DTYPE_BFLOAT16, TD_DTYPE_FLOAT32},
        {TD_DTYPE_FLOAT64, 0, TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT32}, /* 0-d double loses to 1-d float */
        {TD_DTYPE_INT64, 1, TD_DTYPE_FLOAT16, TD_DTYPE_FLOAT16},  {TD_DTYPE_FLOAT16, 1, -2, TD_DTYPE_FLOAT16},
        {TD_DTYPE_BOOL, 1, -3, TD_DTYPE_BOOL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct td_meta a = mk(cases[i].a, cases[i].a_dim, s), b, out[2];
        const struct td_meta *in[2] = {&a, &b};
        int64_t attrs[2] = {0, 0};
        int n_in = 2;
        if (cases[i].b >= 0) {
            b = mk((enum td_dtype)cases[i].b, 1, s);
        } else {
            n_in = 1;
            attrs[0] = cases[i].b == -1 ? TD_SCALAR_INT : cases[i].b == -2 ? TD_SCALAR_FLOAT : TD_SCALAR_BOOL;
            attrs[1] = 1;
        }
        if (cases[i].a_dim == 0) { /* put the 0-d tensor second, as a + b with a 1-d float */
            in[0] = &b;
            in[1] = &a;
        }
        struct td_infer inf;
        struct td_status st = TD_STATUS_INIT;
        ck_assert_int_eq(infer(TD_OP_MUL, 0, in, n_in, attrs, 2, out, &inf, &st), TD_CODE_OK);
        ck_assert_msg(out[0].dtype == cases[i].want, "case %zu: got %s want %s", i, td_dtype_names[out[0].dtype],
                      td_dtype_names[cases[i].want]);
    }
}
END_TEST

START_TEST(test_inplace_rules)
{
    int64_t s[] = {2, 3}, s1[] = {3};
    struct td_meta a = mk(TD_DTYPE_INT64, 2, s), b = mk(TD_DTYPE_FLOAT32, 1, s1), out[2];
    const struct td_meta *in[] = {&a, &b};
    int64_t attrs[2] = {0, 0};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(infer(TD_OP_ADD, TD_RF_INPLACE, in, 2, attrs, 2, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "result type Float can't be cast to the desired output type Long");
    td_status_clear(&st);
    in[0] = &b; /* (3,) += (2,3) cannot broadcast into the output */
    in[1] = &a;
    ck_assert_int_eq(infer(TD_OP_ADD, TD_RF_INPLACE, in, 2, attrs, 2, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "output with shape [3] doesn't match the broadcast shape [2, 3]");
}
END_TEST

START_TEST(test_unary_and_div_dtypes)
{
    int64_t s[] = {4};
    struct td_meta a = mk(TD_DTYPE_INT32, 1, s), out[2];
    const struct td_meta *in[] = {&a, &a};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(infer(TD_OP_EXP, 0, in, 1, NULL, 0, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_FLOAT32);
    ck_assert_int_eq(infer(TD_OP_ABS, 0, in, 1, NULL, 0, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_INT32);
    int64_t div_true[3] = {0, 0, TD_ROUND_NONE}, div_floor[3] = {0, 0, TD_ROUND_FLOOR};
    ck_assert_int_eq(infer(TD_OP_DIV, 0, in, 2, div_true, 3, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_FLOAT32);
    ck_assert_int_eq(infer(TD_OP_DIV, 0, in, 2, div_floor, 3, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_INT32);
    ck_assert_int_eq(infer(TD_OP_LT, 0, in, 2, div_floor, 2, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_BOOL);
    struct td_meta f = mk(TD_DTYPE_FLOAT32, 1, s);
    in[0] = &f;
    ck_assert_int_eq(infer(TD_OP_BITWISE_AND, 0, in, 2, div_floor, 2, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "\"bitwise_and_cpu\" not implemented for 'Float'");
}
END_TEST

START_TEST(test_reduce)
{
    int64_t s[] = {2, 3, 4};
    struct td_meta a = mk(TD_DTYPE_INT32, 3, s), out[2];
    const struct td_meta *in[] = {&a};
    int64_t attrs[4] = {0x5, 0, -1, 0}; /* dims 0 and 2 */
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(infer(TD_OP_SUM, 0, in, 1, attrs, 4, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].ndim, 1);
    ck_assert_int_eq(out[0].sizes[0], 3);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_INT64);
    attrs[1] = 1;
    ck_assert_int_eq(infer(TD_OP_AMAX, 0, in, 1, attrs, 4, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].ndim, 3);
    ck_assert_int_eq(out[0].sizes[0], 1);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_INT32);
    ck_assert_int_eq(infer(TD_OP_MEAN, 0, in, 1, attrs, 4, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    td_status_clear(&st);
    int64_t maxdim[4] = {0x2, 0, -1, 0};
    ck_assert_int_eq(infer(TD_OP_MAX_DIM, 0, in, 1, maxdim, 4, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(inf.n_out, 2);
    ck_assert_int_eq(out[1].dtype, TD_DTYPE_INT64);
    int64_t bad[4] = {0x10, 0, -1, 0};
    ck_assert_int_eq(infer(TD_OP_SUM, 0, in, 1, bad, 4, out, &inf, &st), TD_CODE_OUT_OF_RANGE);
}
END_TEST

START_TEST(test_matmul)
{
    int64_t s1[] = {5, 1, 2, 3}, s2[] = {4, 3, 7}, s3[] = {3};
    struct td_meta a = mk(TD_DTYPE_FLOAT32, 4, s1), b = mk(TD_DTYPE_FLOAT32, 3, s2), v = mk(TD_DTYPE_FLOAT32, 1, s3),
                   out[2];
    const struct td_meta *in[] = {&a, &b};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(infer(TD_OP_MATMUL, 0, in, 2, NULL, 0, out, &inf, &st), TD_CODE_OK);
    int64_t want[] = {5, 4, 2, 7};
    ck_assert_int_eq(out[0].ndim, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(out[0].sizes[i], want[i]);
    in[1] = &v; /* (5,1,2,3) @ (3,) -> (5,1,2) */
    ck_assert_int_eq(infer(TD_OP_MATMUL, 0, in, 2, NULL, 0, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].ndim, 3);
    in[0] = &v; /* (3,) @ (3,) -> 0-d */
    ck_assert_int_eq(infer(TD_OP_MATMUL, 0, in, 2, NULL, 0, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].ndim, 0);
    int64_t m1[] = {2, 3}, m2[] = {4, 5};
    struct td_meta x = mk(TD_DTYPE_FLOAT32, 2, m1), y = mk(TD_DTYPE_FLOAT32, 2, m2);
    in[0] = &x;
    in[1] = &y;
    ck_assert_int_eq(infer(TD_OP_MM, 0, in, 2, NULL, 0, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
}
END_TEST

START_TEST(test_views)
{
    int64_t s[] = {2, 3, 4};
    struct td_meta a = mk(TD_DTYPE_FLOAT64, 3, s), out[2];
    const struct td_meta *in[] = {&a};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    int64_t tr[2] = {0, 2};
    ck_assert_int_eq(infer(TD_OP_TRANSPOSE, 0, in, 1, tr, 2, out, &inf, &st), TD_CODE_OK);
    ck_assert(inf.out_is_view);
    ck_assert_int_eq(out[0].sizes[0], 4);
    ck_assert_int_eq(out[0].strides[0], 1);
    ck_assert_int_eq(out[0].strides[2], 12);
    struct td_meta t = out[0];
    in[0] = &t; /* viewing a transposed tensor flat is impossible */
    int64_t flat[2] = {1, -1};
    ck_assert_int_eq(infer(TD_OP_VIEW, 0, in, 1, flat, 2, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    td_status_clear(&st);
    in[0] = &a;
    ck_assert_int_eq(infer(TD_OP_VIEW, 0, in, 1, flat, 2, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].sizes[0], 24);
    int64_t sl[4] = {2, -3, 100, 2}; /* a[..., -3::2] -> indices 1, 3 */
    ck_assert_int_eq(infer(TD_OP_SLICE, 0, in, 1, sl, 4, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].sizes[2], 2);
    ck_assert_int_eq(out[0].offset, 1);
    ck_assert_int_eq(out[0].strides[2], 2);
    int64_t sel[2] = {1, 3};
    ck_assert_int_eq(infer(TD_OP_SELECT, 0, in, 1, sel, 2, out, &inf, &st), TD_CODE_OUT_OF_RANGE);
    ck_assert_str_eq(st.msg, "index 3 is out of bounds for dimension 1 with size 3");
    td_status_clear(&st);
    int64_t ex[4] = {3, 5, -1, -1}; /* expand (2,3,4) to (5,2,3,4)? needs 4 dims: wrong count */
    ck_assert_int_eq(infer(TD_OP_EXPAND, 0, in, 1, ex, 4, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    td_status_clear(&st);
    /* as_strided beyond the storage is refused */
    int64_t as[6] = {2, 0, 4, 7, 7, 1};
    ck_assert_int_eq(infer(TD_OP_AS_STRIDED, 0, in, 1, as, 6, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    td_status_clear(&st);
    int64_t as_ok[6] = {2, 1, 4, 5, 5, 1};
    ck_assert_int_eq(infer(TD_OP_AS_STRIDED, 0, in, 1, as_ok, 6, out, &inf, &st), TD_CODE_OK);
}
END_TEST

START_TEST(test_cat)
{
    int64_t s1[] = {2, 3}, s2[] = {2, 5}, e[] = {0};
    struct td_meta a = mk(TD_DTYPE_FLOAT32, 2, s1), b = mk(TD_DTYPE_FLOAT64, 2, s2), z = mk(TD_DTYPE_FLOAT32, 1, e),
                   out[2];
    const struct td_meta *in[] = {&a, &z, &b};
    int64_t dim[1] = {-1};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(infer(TD_OP_CAT, 0, in, 3, dim, 1, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].sizes[1], 8);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_FLOAT64);
    dim[0] = 0;
    ck_assert_int_eq(infer(TD_OP_CAT, 0, in, 3, dim, 1, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 5 "
                             "for tensor number 2 in the list.");
}
END_TEST

START_TEST(test_create_limits)
{
    int64_t attrs[4] = {TD_DTYPE_FLOAT32, 2, -1, 3};
    struct td_meta out[2];
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(infer(TD_OP_EMPTY, 0, NULL, 0, attrs, 4, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "Trying to create tensor with negative dimension -1: [-1, 3]");
    td_status_clear(&st);
    int64_t huge[4] = {TD_DTYPE_FLOAT32, 2, INT64_C(1) << 32, INT64_C(1) << 32};
    ck_assert_int_eq(infer(TD_OP_EMPTY, 0, NULL, 0, huge, 4, out, &inf, &st), TD_CODE_RESOURCE_EXHAUSTED);
    td_status_clear(&st);
    int64_t bad_dtype[3] = {99, 1, 4};
    ck_assert_int_eq(infer(TD_OP_EMPTY, 0, NULL, 0, bad_dtype, 3, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
}
END_TEST

/* Every row, fed random attributes and inputs (including hostile metas): any code is
 * fine, but outputs that claim success must lie inside their storage. */
START_TEST(test_fuzz_every_op)
{
    srand(1234u + (unsigned)_i);
    for (int iter = 0; iter < 400; iter++) {
        int64_t s[3] = {rand() % 4, rand() % 4, 1 + rand() % 3};
        struct td_meta m[3];
        for (int k = 0; k < 3; k++)
            m[k] = mk((enum td_dtype)(rand() % TD_DTYPE_COUNT), rand() % 4, s);
        if (iter % 7 == 0)
            m[0].strides[0] = INT64_MAX / 2; /* out of bounds view: must be rejected */
        const struct td_meta *in[3] = {&m[0], &m[1], &m[2]};
        int64_t attrs[24];
        for (int k = 0; k < 24; k++)
            attrs[k] = (rand() % 3 == 0) ? (int64_t)rand() - RAND_MAX / 2 : rand() % 4 - 1;
        struct td_meta out[TD_MAX_OUTPUTS];
        struct td_infer inf;
        struct td_status st = TD_STATUS_INIT;
        enum td_code c = infer((unsigned)_i, (unsigned)(rand() % 4), in, rand() % 4, attrs, rand() % 25, out, &inf, &st);
        bool gated = !(td_op_table[_i].flags & TD_F_COMPLEX);
        if (c == TD_CODE_OK)
            for (int j = 0; j < inf.n_out; j++) {
                ck_assert_msg(td_meta_check_bounds(&out[j]), "op %s produced an out-of-bounds output",
                              td_op_name((unsigned)_i));
                /* the complex gate: a row without TD_F_COMPLEX never makes a complex tensor */
                ck_assert_msg(!gated || !td_dtype_is_complex(out[j].dtype), "op %s passed the complex gate",
                              td_op_name((unsigned)_i));
            }
        else
            ck_assert_msg(st.msg[0] != 0, "op %s failed without a message", td_op_name((unsigned)_i));
    }
}
END_TEST

/* The helpers _C exposes: result_type operand by operand (torch.result_type), and both
 * broadcasting rules (binary ops; torch.broadcast_shapes with its checks and their order). */
START_TEST(test_meta_helpers)
{
    struct td_result_type r;
    td_result_type_init(&r);
    ck_assert_int_eq(td_result_type_get(&r, TD_DTYPE_FLOAT64), TD_DTYPE_FLOAT64);
    td_result_type_add(&r, TD_DTYPE_INT32, TD_TIER_DIM);
    td_result_type_add(&r, TD_DTYPE_INT64, TD_TIER_ZERO_DIM); /* same kind, lower tier: ignored */
    ck_assert_int_eq(td_result_type_get(&r, TD_DTYPE_FLOAT32), TD_DTYPE_INT32);
    td_result_type_add(&r, TD_DTYPE_FLOAT32, TD_TIER_NUMBER); /* int32 tensor * 2.5 */
    ck_assert_int_eq(td_result_type_get(&r, TD_DTYPE_FLOAT32), TD_DTYPE_FLOAT32);
    td_result_type_init(&r);
    td_result_type_add(&r, TD_DTYPE_FLOAT64, TD_TIER_DIM);
    td_result_type_add(&r, TD_DTYPE_COMPLEX64, TD_TIER_NUMBER); /* float64 tensor * 1j */
    ck_assert_int_eq(td_result_type_get(&r, TD_DTYPE_FLOAT32), TD_DTYPE_COMPLEX128);

    int64_t sz[TD_MAX_DIMS] = {2, 1}, b[2] = {3, 4}, c[2] = {5, 4};
    int nd = 2;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(td_meta_broadcast(sz, &nd, b + 1, 1, &st), TD_CODE_OK);
    ck_assert(nd == 2 && sz[0] == 2 && sz[1] == 4);
    ck_assert_int_eq(td_meta_broadcast(sz, &nd, c, 2, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "The size of tensor a (2) must match the size of tensor b (5) at non-singleton "
                             "dimension 0");
    ck_assert(nd == 2 && sz[0] == 2); /* unchanged by the failed call */

    int64_t acc[TD_MAX_DIMS], neg[2] = {-1, 4}, ok[3] = {7, 1, 4};
    nd = 0;
    ck_assert_int_eq(td_meta_broadcast_shapes_add(acc, &nd, b, 2, NULL), TD_CODE_OK);
    ck_assert_int_eq(td_meta_broadcast_shapes_add(acc, &nd, ok, 3, NULL), TD_CODE_OK);
    ck_assert(nd == 3 && acc[0] == 7 && acc[1] == 3 && acc[2] == 4);
    struct td_status s2 = TD_STATUS_INIT;
    neg[1] = 5; /* the last dim mismatches before the negative one is seen, as in torch */
    ck_assert_int_eq(td_meta_broadcast_shapes_add(acc, &nd, neg, 2, &s2), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(s2.msg, "Shape mismatch: objects cannot be broadcast to a single shape");
    struct td_status s3 = TD_STATUS_INIT;
    neg[1] = 4;
    ck_assert_int_eq(td_meta_broadcast_shapes_add(acc, &nd, neg, 2, &s3), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(s3.msg, "Trying to create tensor with negative dimension (-1): (-1)");
}
END_TEST

/* complex64/complex128 promotion against torch.promote_types / torch.result_type */
START_TEST(test_complex_promotion)
{
    static const struct {
        enum td_dtype a, b, want;
    } pt[] = {
        {TD_DTYPE_COMPLEX64, TD_DTYPE_FLOAT64, TD_DTYPE_COMPLEX128},
        {TD_DTYPE_FLOAT16, TD_DTYPE_COMPLEX64, TD_DTYPE_COMPLEX64},
        {TD_DTYPE_BFLOAT16, TD_DTYPE_COMPLEX64, TD_DTYPE_COMPLEX64},
        {TD_DTYPE_INT64, TD_DTYPE_COMPLEX64, TD_DTYPE_COMPLEX64},
        {TD_DTYPE_BOOL, TD_DTYPE_COMPLEX128, TD_DTYPE_COMPLEX128},
        {TD_DTYPE_COMPLEX64, TD_DTYPE_COMPLEX128, TD_DTYPE_COMPLEX128},
        {TD_DTYPE_FLOAT32, TD_DTYPE_COMPLEX64, TD_DTYPE_COMPLEX64},
    };
    for (size_t i = 0; i < sizeof pt / sizeof pt[0]; i++) {
        ck_assert_int_eq(td_promote_types(pt[i].a, pt[i].b), pt[i].want);
        ck_assert_int_eq(td_promote_types(pt[i].b, pt[i].a), pt[i].want);
    }
    ck_assert(td_can_cast(TD_DTYPE_FLOAT64, TD_DTYPE_COMPLEX64));
    ck_assert(!td_can_cast(TD_DTYPE_COMPLEX64, TD_DTYPE_FLOAT64));
    ck_assert(td_can_cast(TD_DTYPE_COMPLEX128, TD_DTYPE_COMPLEX64));
    ck_assert_str_eq(td_dtype_torch_name(TD_DTYPE_COMPLEX128), "ComplexDouble");
    /* a 0-d complex128 keeps a dimensioned float32's precision: complex64 (torch) */
    int64_t s1[1] = {3};
    struct td_meta f = mk(TD_DTYPE_FLOAT32, 1, s1), z = mk(TD_DTYPE_COMPLEX128, 0, NULL),
                   i = mk(TD_DTYPE_INT32, 1, s1), out[TD_MAX_OUTPUTS];
    const struct td_meta *fz[2] = {&f, &z}, *iz[2] = {&i, &z};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(infer(TD_OP_ADD, 0, fz, 2, (int64_t[4]){0}, 4, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_COMPLEX64);
    ck_assert_int_eq(infer(TD_OP_MUL, 0, iz, 2, (int64_t[4]){0}, 4, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_COMPLEX128);
    /* abs of complex is real; true division keeps complex */
    struct td_meta c = mk(TD_DTYPE_COMPLEX64, 1, s1);
    const struct td_meta *cc[2] = {&c, &c};
    ck_assert_int_eq(infer(TD_OP_ABS, 0, cc, 1, NULL, 0, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_FLOAT32);
    ck_assert_int_eq(infer(TD_OP_DIV, 0, cc, 2, (int64_t[4]){0}, 3, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_COMPLEX64);
}
END_TEST

/* rows without TD_F_COMPLEX refuse complex operands with torch's message */
START_TEST(test_complex_gate)
{
    int64_t s1[1] = {3}, attrs[8] = {0};
    struct td_meta c = mk(TD_DTYPE_COMPLEX64, 1, s1), d = mk(TD_DTYPE_COMPLEX128, 1, s1), out[TD_MAX_OUTPUTS];
    const struct td_meta *cc[2] = {&c, &c}, *dd[2] = {&d, &d};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(infer(TD_OP_LT, 0, cc, 2, attrs, 2, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "\"lt_cpu\" not implemented for 'ComplexFloat'");
    td_status_clear(&st);
    ck_assert_int_eq(infer(TD_OP_MAXIMUM, 0, dd, 2, attrs, 2, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "maximum not implemented for complex tensors.");
    td_status_clear(&st);
    int64_t sort_attrs[4] = {0, 0, 1, -1};
    ck_assert_int_eq(infer(TD_OP_SORT, 0, dd, 1, sort_attrs, 4, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "\"sorting_kernel_method_name\" not implemented for 'ComplexDouble'");
    td_status_clear(&st);
    int64_t clamp_attrs[6] = {1, TD_SCALAR_INT, 0, 0, 0, 0};
    ck_assert_int_eq(infer(TD_OP_CLAMP, 0, cc, 1, clamp_attrs, 6, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "clamp is not supported for complex types");
    td_status_clear(&st);
    /* a complex output from a gated creation row */
    int64_t ar[7] = {TD_DTYPE_COMPLEX64, 1, 3, TD_SCALAR_INT, 0, TD_SCALAR_INT, 1};
    ck_assert_int_eq(infer(TD_OP_ARANGE, 0, NULL, 0, ar, 7, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "\"arange_cpu\" not implemented for 'ComplexFloat'");
    td_status_clear(&st);
    int64_t div_floor[3] = {0, 0, TD_ROUND_FLOOR};
    ck_assert_int_eq(infer(TD_OP_DIV, 0, cc, 2, div_floor, 3, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "\"div_floor_cpu\" not implemented for 'ComplexFloat'");
    td_status_clear(&st);
    /* view_as_real: a dtype-changing view on the same storage */
    ck_assert_int_eq(infer(TD_OP_VIEW_AS_REAL, 0, cc, 1, NULL, 0, out, &inf, &st), TD_CODE_OK);
    ck_assert(inf.out_is_view && out[0].dtype == TD_DTYPE_FLOAT32 && out[0].ndim == 2);
    ck_assert(out[0].sizes[1] == 2 && out[0].strides[0] == 2 && out[0].strides[1] == 1);
    ck_assert(td_meta_check_bounds(&out[0]));
    struct td_meta r = out[0];
    const struct td_meta *rr[1] = {&r};
    ck_assert_int_eq(infer(TD_OP_VIEW_AS_COMPLEX, 0, rr, 1, NULL, 0, out, &inf, &st), TD_CODE_OK);
    ck_assert(out[0].dtype == TD_DTYPE_COMPLEX64 && out[0].ndim == 1 && out[0].strides[0] == 1);
}
END_TEST

/* ---- crafted sizes, strides and offsets (the protocol fuzzer's cases): each is refused
 * with a status, or answered as PyTorch would, without signed overflow (this suite runs
 * under UBSan, which aborts on it) ---- */

/* A hand-made view on a storage of nbytes, as a hostile record could describe it. */
static struct td_meta raw_view(int nd, const int64_t *sizes, const int64_t *strides, int64_t offset,
                               int64_t nbytes)
{
    struct td_meta m = {.dtype = TD_DTYPE_FLOAT32, .ndim = (uint8_t)nd, .offset = offset, .storage_nbytes = nbytes};
    for (int i = 0; i < nd; i++)
        m.sizes[i] = sizes[i], m.strides[i] = strides[i];
    return m;
}

START_TEST(test_overflow_bounds_offset)
{
    int64_t one[1] = {1}, big[1] = {INT64_C(1) << 40};
    /* offset + span and (last + 1) * itemsize used to wrap */
    struct td_meta m = raw_view(1, one, one, INT64_MAX, 4);
    ck_assert(!td_meta_check_bounds(&m));
    m = raw_view(0, NULL, NULL, INT64_C(1) << 62, 4);
    ck_assert(!td_meta_check_bounds(&m));
    m = raw_view(1, big, big, 0, INT64_MAX); /* (size - 1) * stride past the limit */
    ck_assert(!td_meta_check_bounds(&m));
    m = raw_view(1, one, one, 0, 4);
    ck_assert(td_meta_check_bounds(&m));

    /* the same through AS_STRIDED, as the record arrives */
    struct td_meta a = mk(TD_DTYPE_FLOAT32, 1, one), out[TD_MAX_OUTPUTS];
    const struct td_meta *in[] = {&a};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    int64_t as[4] = {1, INT64_MAX, 4, 1};
    ck_assert_int_eq(infer(TD_OP_AS_STRIDED, 0, in, 1, as, 4, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_msg(strstr(st.msg, "out of bounds for storage of size 4"), "%s", st.msg);
    td_status_clear(&st);
    int64_t as0[2] = {0, INT64_C(1) << 62}; /* 0-d view at a huge offset */
    ck_assert_int_eq(infer(TD_OP_AS_STRIDED, 0, in, 1, as0, 2, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_overflow_slice_step)
{
    int64_t s[2] = {2, 4};
    struct td_meta a = mk(TD_DTYPE_FLOAT32, 2, s), out[TD_MAX_OUTPUTS];
    const struct td_meta *in[] = {&a};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    /* x[::2**62] is one row, as in PyTorch; the stride of a 1-element dim is free */
    int64_t sl[4] = {0, 0, 4, INT64_C(1) << 62};
    ck_assert_int_eq(infer(TD_OP_SLICE, 0, in, 1, sl, 4, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].sizes[0], 1);
    ck_assert(td_meta_check_bounds(&out[0]));
    int64_t sl_max[4] = {1, 1, INT64_MAX, INT64_MAX}; /* end - start + step used to wrap */
    ck_assert_int_eq(infer(TD_OP_SLICE, 0, in, 1, sl_max, 4, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].sizes[1], 1);
    ck_assert_int_eq(out[0].offset, 1);
    ck_assert(td_meta_check_bounds(&out[0]));

    /* an empty view may have a large size and stride in another dim: start * stride overflows */
    int64_t es[2] = {0, INT64_C(1) << 40}, et[2] = {1, INT64_C(1) << 40};
    struct td_meta e = raw_view(2, es, et, 0, 0);
    ck_assert(td_meta_check_bounds(&e));
    in[0] = &e;
    int64_t sl_e[4] = {1, INT64_C(1) << 40, INT64_MAX, 1};
    ck_assert_int_eq(infer(TD_OP_SLICE, 0, in, 1, sl_e, 4, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_msg(strstr(st.msg, "slice: storage offset overflows"), "%s", st.msg);
    td_status_clear(&st);
    /* unsqueeze multiplies size by stride for the new dim: no overflow, a view in bounds */
    int64_t us[1] = {1}; /* the new dim 1 takes size 2^40 * stride 2^40 */
    ck_assert_int_eq(infer(TD_OP_UNSQUEEZE, 0, in, 1, us, 1, out, &inf, &st), TD_CODE_OK);
    ck_assert(td_meta_check_bounds(&out[0]));
}
END_TEST

START_TEST(test_overflow_empty_view)
{
    int64_t one[1] = {1}, zero[1] = {0}, huge[1] = {INT64_C(1) << 62};
    /* a size-0 dim used to end the check before the strides were looked at */
    struct td_meta e = raw_view(1, zero, huge, 0, 4);
    ck_assert(!td_meta_check_bounds(&e));
    e = raw_view(1, zero, one, INT64_MAX, 4);
    ck_assert(!td_meta_check_bounds(&e));
    int64_t sz3[3] = {0, INT64_C(1) << 40, INT64_C(1) << 40}, st3[3] = {1, 1, 1};
    e = raw_view(3, sz3, st3, 0, 0); /* empty, but the other sizes multiply past 2^40 */
    ck_assert(!td_meta_check_bounds(&e));

    struct td_meta a = mk(TD_DTYPE_FLOAT32, 1, one), out[TD_MAX_OUTPUTS];
    const struct td_meta *in[] = {&a};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    int64_t as[4] = {1, 0, 0, INT64_C(1) << 62};
    ck_assert_int_eq(infer(TD_OP_AS_STRIDED, 0, in, 1, as, 4, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    td_status_clear(&st);
    /* a binary op on such a view (a record naming a crafted handle) is refused at its input */
    e = raw_view(1, zero, huge, 0, 4);
    in[0] = &e;
    int64_t scal[2] = {TD_SCALAR_INT, 3};
    ck_assert_int_eq(infer(TD_OP_MUL, 0, in, 1, scal, 2, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "mul: input 0 lies outside its storage");
    td_status_clear(&st);
    /* empty views that PyTorch allows still pass: x[4:, 3:] of a 4x3 tensor */
    int64_t s43[2] = {4, 3};
    struct td_meta x = mk(TD_DTYPE_FLOAT32, 2, s43), y;
    in[0] = &x;
    int64_t sl0[4] = {0, 4, 4, 1}, sl1[4] = {1, 3, 3, 1};
    ck_assert_int_eq(infer(TD_OP_SLICE, 0, in, 1, sl0, 4, out, &inf, &st), TD_CODE_OK);
    y = out[0];
    in[0] = &y;
    ck_assert_int_eq(infer(TD_OP_SLICE, 0, in, 1, sl1, 4, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].offset, 15);
    ck_assert(td_meta_check_bounds(&out[0]));
}
END_TEST

START_TEST(test_overflow_view_of_empty)
{
    int64_t zero[1] = {0};
    struct td_meta a = mk(TD_DTYPE_FLOAT32, 1, zero), out[TD_MAX_OUTPUTS];
    const struct td_meta *in[] = {&a};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    int64_t v[4] = {3, 0, INT64_C(1) << 40, INT64_C(1) << 40};
    ck_assert_int_eq(infer(TD_OP_VIEW, 0, in, 1, v, 4, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "view: shape '[0, 1099511627776, 1099511627776]' is too large (its strides pass "
                             "the 2^40-element limit)");
    td_status_clear(&st);
    int64_t ok[4] = {3, 0, 5, 7};
    ck_assert_int_eq(infer(TD_OP_VIEW, 0, in, 1, ok, 4, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].strides[0], 35);
    ck_assert(td_meta_check_bounds(&out[0]));
}
END_TEST

START_TEST(test_read_empty_range)
{
    int64_t s[1] = {4};
    struct td_meta a = mk(TD_DTYPE_FLOAT32, 1, s), out[TD_MAX_OUTPUTS];
    const struct td_meta *in[] = {&a};
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    int64_t rd[2] = {0, 0};
    ck_assert_int_eq(infer(TD_OP_READ, 0, in, 1, rd, 2, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "read: empty byte range at 0");
    td_status_clear(&st);
    int64_t up[3] = {0, 0, 0}; /* an empty UPLOAD is what td_from_data sends for an empty tensor */
    ck_assert_int_eq(infer(TD_OP_UPLOAD, 0, in, 1, up, 3, out, &inf, &st), TD_CODE_OK);
}
END_TEST

/* the LINALG_LU rows: output shapes and dtypes, and the operands they refuse */
START_TEST(test_linalg_lu)
{
    int64_t sa[3] = {2, 3, 4}, sq[3] = {2, 3, 3}, sp[2] = {2, 3}, sb[3] = {2, 3, 5}, sr[3] = {2, 5, 3};
    struct td_meta a = mk(TD_DTYPE_COMPLEX64, 3, sa), q = mk(TD_DTYPE_FLOAT64, 3, sq), p = mk(TD_DTYPE_INT32, 2, sp),
                   p64 = mk(TD_DTYPE_INT64, 2, sp), b = mk(TD_DTYPE_FLOAT64, 3, sb), r = mk(TD_DTYPE_FLOAT64, 3, sr),
                   out[TD_MAX_OUTPUTS];
    struct td_infer inf;
    struct td_status st = TD_STATUS_INIT;
    const struct td_meta *fa[1] = {&a};
    ck_assert_int_eq(infer(TD_OP_LU_FACTOR, 0, fa, 1, NULL, 0, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(inf.n_out, 3);
    ck_assert_int_eq(out[0].dtype, TD_DTYPE_COMPLEX64);
    ck_assert_int_eq(out[1].dtype, TD_DTYPE_INT32);
    ck_assert_int_eq(out[1].ndim, 2);
    ck_assert_int_eq(out[1].sizes[1], 3); /* min(m, n) pivots */
    ck_assert_int_eq(out[2].ndim, 1);
    const struct td_meta *ls[3] = {&q, &p, &b};
    int64_t trans[1] = {2};
    ck_assert_int_eq(infer(TD_OP_LU_SOLVE, 0, ls, 3, trans, 1, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].sizes[2], 5);
    ls[1] = &p64;
    ck_assert_int_eq(infer(TD_OP_LU_SOLVE, 0, ls, 3, trans, 1, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "linalg.lu_solve: pivots should be a Tensor of scalar type torch.int32");
    td_status_clear(&st);
    const struct td_meta *ts[2] = {&q, &r};
    int64_t right[4] = {1, 0, 0, 0}, left[4] = {1, 1, 0, 0};
    ck_assert_int_eq(infer(TD_OP_TRIANGULAR_SOLVE, 0, ts, 2, right, 4, out, &inf, &st), TD_CODE_OK);
    ck_assert_int_eq(out[0].sizes[1], 5);
    ck_assert_int_eq(infer(TD_OP_TRIANGULAR_SOLVE, 0, ts, 2, left, 4, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "linalg.solve_triangular: Incompatible shapes of A and B for the equation AX = B "
                             "(3x3 and 5x3)");
    td_status_clear(&st);
    ck_assert_int_eq(infer(TD_OP_MATRIX_EXP, 0, fa, 1, NULL, 0, out, &inf, &st), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(st.msg, "linalg.matrix_exp: A must be batches of square matrices, but they are 3 by 4 matrices");
}
END_TEST

/* Found by fuzz_meta: HISTC and SEARCHSORTED read a->in[0] (and in[1]) before checking
 * that the record has them.  Every op, given 0..3 inputs in an array of exactly that
 * many pointers (as records carry) and 0 or 6 attributes, reads only what it was given:
 * ASan sees any read past the arrays. */
START_TEST(test_inputs_read_within)
{
    int64_t s23[2] = {2, 3};
    struct td_meta m = mk(TD_DTYPE_FLOAT32, 2, s23);
    for (int n_in = 0; n_in <= 3; n_in++)
        for (int n_attr = 0; n_attr <= 6; n_attr += 6) {
            const struct td_meta **in = malloc(n_in ? (size_t)n_in * sizeof *in : 1);
            int64_t *attrs = calloc(n_attr ? (size_t)n_attr : 1, sizeof *attrs);
            ck_assert(in && attrs);
            for (int i = 0; i < n_in; i++)
                in[i] = &m;
            struct td_meta out[TD_MAX_OUTPUTS];
            struct td_infer inf;
            struct td_status st = TD_STATUS_INIT;
            enum td_code code = infer((unsigned)_i, 0, in, n_in, attrs, n_attr, out, &inf, &st);
            ck_assert_int_eq(code, st.code);
            free(in);
            free(attrs);
        }
}
END_TEST

static Suite *shape_suite(void)
{
    Suite *s = suite_create("shape");
    TCase *tc = tcase_create("rules");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_broadcast);
    tcase_add_test(tc, test_elementwise_layout);
    tcase_add_test(tc, test_generator_records);
    tcase_add_test(tc, test_promotion);
    tcase_add_test(tc, test_inplace_rules);
    tcase_add_test(tc, test_unary_and_div_dtypes);
    tcase_add_test(tc, test_reduce);
    tcase_add_test(tc, test_matmul);
    tcase_add_test(tc, test_views);
    tcase_add_test(tc, test_cat);
    tcase_add_test(tc, test_create_limits);
    tcase_add_test(tc, test_complex_promotion);
    tcase_add_test(tc, test_meta_helpers);
    tcase_add_test(tc, test_complex_gate);
    tcase_add_test(tc, test_linalg_lu);
    suite_add_tcase(s, tc);
    TCase *ov = tcase_create("overflow");
    tcase_set_timeout(ov, 30);
    tcase_add_test(ov, test_overflow_bounds_offset);
    tcase_add_test(ov, test_overflow_slice_step);
    tcase_add_test(ov, test_overflow_empty_view);
    tcase_add_test(ov, test_overflow_view_of_empty);
    tcase_add_test(ov, test_read_empty_range);
    suite_add_tcase(s, ov);
    TCase *fz = tcase_create("fuzz");
    tcase_set_timeout(fz, 60);
    tcase_add_loop_test(fz, test_fuzz_every_op, 0, TD_OP_COUNT);
    tcase_add_loop_test(fz, test_inputs_read_within, 0, TD_OP_COUNT);
    suite_add_tcase(s, fz);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(shape_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
