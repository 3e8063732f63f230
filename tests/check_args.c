/*
 * check_args.c — the op argument schema (proto/ops.args, generated into td_ops.c) as
 * libtensord packs it: the words of each kind, defaults and optional tails, the errors
 * of td_op_pack, and a loop over every row proving that the schema's layout gives the
 * meta layer at least the attribute words its rule requires.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "tensord.h"

static int pack(enum td_op op, const struct td_argval *v, int n, int64_t *w)
{
    struct td_status st = TD_STATUS_INIT;
    int k = td_op_pack(op, v, n, w, 64, &st);
    ck_assert_msg(k >= 0, "%s: %s", td_op_name(op), st.msg);
    return k;
}

START_TEST(test_list_and_count)
{
    int64_t sizes[] = {2, 3}, strides[] = {3, 1}, w[64];
    struct td_argval view[2] = {{.w = {0}}, {.list = sizes, .n = 2}};
    ck_assert_int_eq(pack(TD_OP_VIEW, view, 2, w), 3);
    ck_assert(w[0] == 2 && w[1] == 2 && w[2] == 3);
    /* AS_STRIDED: ndim, storage offset, sizes, strides (one count for both lists) */
    struct td_argval as[4] = {{.w = {0}}, {.w = {5}}, {.list = sizes, .n = 2}, {.list = strides, .n = 2}};
    ck_assert_int_eq(pack(TD_OP_AS_STRIDED, as, 4, w), 6);
    int64_t want[] = {2, 5, 2, 3, 3, 1};
    ck_assert_mem_eq(w, want, sizeof want);
    /* FFT: the dims list is the uncounted tail */
    int64_t dims[] = {0, 1};
    struct td_argval fft[3] = {{.w = {2}}, {.w = {1}}, {.list = dims, .n = 2}};
    ck_assert_int_eq(pack(TD_OP_FFT_C2C, fft, 3, w), 4);
    ck_assert(w[0] == 2 && w[1] == 1 && w[2] == 0 && w[3] == 1);
}
END_TEST

START_TEST(test_defaults_and_optional_tail)
{
    struct td_argval v[8];
    int64_t w[64];
    /* ADD: the operand slot, then alpha absent: two words, no multiply */
    int n = td_op_default_values(TD_OP_ADD, v, 8);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(pack(TD_OP_ADD, v, n, w), 2);
    struct td_argval *alpha = td_op_value(TD_OP_ADD, v, "alpha");
    ck_assert_ptr_nonnull(alpha);
    alpha->absent = false;
    alpha->w[0] = TD_SCALAR_INT;
    alpha->w[1] = 3;
    ck_assert_int_eq(pack(TD_OP_ADD, v, n, w), 4);
    ck_assert(w[2] == TD_SCALAR_INT && w[3] == 3);
    ck_assert_ptr_null(td_op_value(TD_OP_ADD, v, "rounding_mode"));
    /* SORT: dim -1, ascending, stable; k absent */
    n = td_op_default_values(TD_OP_SORT, v, 8);
    ck_assert_int_eq(pack(TD_OP_SORT, v, n, w), 3);
    ck_assert(w[0] == -1 && w[1] == 0 && w[2] == 1);
    /* SUM: dtype None is -1 */
    n = td_op_default_values(TD_OP_SUM, v, 8);
    ck_assert_int_eq(pack(TD_OP_SUM, v, n, w), 4);
    ck_assert_int_eq(w[2], -1);
    /* NORM: p defaults to 2.0 (a double's bits) */
    n = td_op_default_values(TD_OP_NORM, v, 8);
    ck_assert_int_eq(pack(TD_OP_NORM, v, n, w), 4);
    double p;
    memcpy(&p, &w[3], 8);
    ck_assert(p == 2.0);
    /* CLAMP: has_min 0, min (int 0), has_max 0, max (int 0) */
    n = td_op_default_values(TD_OP_CLAMP, v, 8);
    ck_assert_int_eq(pack(TD_OP_CLAMP, v, n, w), 6);
    int64_t clamp[] = {0, TD_SCALAR_INT, 0, 0, TD_SCALAR_INT, 0};
    ck_assert_mem_eq(w, clamp, sizeof clamp);
}
END_TEST

START_TEST(test_pack_errors)
{
    struct td_argval v[4] = {{.w = {0}}};
    int64_t w[4], big[300];
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(td_op_pack(TD_OP_TRANSPOSE, v, 1, w, 4, &st), -1);
    ck_assert_int_eq(st.code, TD_CODE_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(st.msg, "expected 2 attribute values"));
    memset(big, 0, sizeof big);
    struct td_argval view[2] = {{.w = {0}}, {.list = big, .n = 300}};
    st = (struct td_status)TD_STATUS_INIT;
    ck_assert_int_eq(td_op_pack(TD_OP_VIEW, view, 2, w, 4, &st), -1);
    ck_assert_ptr_nonnull(strstr(st.msg, "too many attribute words"));
    view[1].n = -1;
    st = (struct td_status)TD_STATUS_INIT;
    ck_assert_int_eq(td_op_pack(TD_OP_VIEW, view, 2, w, 4, &st), -1);
}
END_TEST

/* Every row: inputs as the schema lists them (2x2 float32, one for a variadic list),
 * defaults (required ones zero, each list one element): the meta layer may refuse the
 * values, never the attribute count. */
START_TEST(test_every_row_has_the_words_its_rule_needs)
{
    int64_t sizes[] = {2, 2}, one[] = {0};
    struct td_meta m;
    struct td_status st = TD_STATUS_INIT;
    ck_assert_int_eq(td_meta_contiguous(&m, TD_DTYPE_FLOAT32, 2, sizes, &st), TD_CODE_OK);
    const struct td_meta *in[8] = {&m, &m, &m, &m, &m, &m, &m, &m}; /* (CTC_LOSS_BACKWARD reads five) */
    for (int op = 1; op < TD_OP_COUNT; op++) {
        const struct td_op_schema *s = &td_op_schemas[op];
        ck_assert_msg(s->args || td_op_table[op].n_in == 0, "%s has no schema", td_op_name(op));
        ck_assert_int_le(s->n_inputs, 8);
        struct td_argval v[16];
        int n = td_op_default_values(op, v, 16);
        for (int i = 0; i < n; i++)
            if (s->args[s->n_inputs + i].kind == TD_ARG_INTS) {
                v[i].list = one;
                v[i].n = 1;
            }
        int64_t w[64];
        int k = pack(op, v, n, w);
        struct td_op_args a = {.op = (uint16_t)op, .n_in = s->n_inputs, .in = in, .attrs = w, .n_attr = (uint32_t)k,
                               .default_float = TD_DTYPE_FLOAT32};
        struct td_meta out[TD_MAX_OUTPUTS];
        struct td_infer inf;
        st = (struct td_status)TD_STATUS_INIT;
        td_meta_infer(&a, out, &inf, &st);
        ck_assert_msg(!strstr(st.msg, "attributes"), "%s: %s", td_op_name(op), st.msg);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("args");
    TCase *tc = tcase_create("schema");
    tcase_add_test(tc, test_list_and_count);
    tcase_add_test(tc, test_defaults_and_optional_tail);
    tcase_add_test(tc, test_pack_errors);
    tcase_add_test(tc, test_every_row_has_the_words_its_rule_needs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
