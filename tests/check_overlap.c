/*
 * check_overlap.c — PyTorch's memory-overlap rules (kernels/overlap.c): the layout
 * classes (non-overlapping and dense, internal overlap, full / partial / too hard), and
 * which op refuses what before writing a destination.  Reference outcomes are torch
 * 1.13's, as tests/python/test_overlap.py compares them op by op through the client.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/overlap.h"

static const char *const PARTIAL_MSG =
    "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory "
    "location. Please clone() the tensor before performing the operation.";
static const char *const INTERNAL_MSG =
    "unsupported operation: more than one element of the written-to tensor refers to a single memory location. "
    "Please clone() the tensor before performing the operation.";

/* A float32 view (sizes, strides) at offset on a 64-element storage. */
static struct td_meta view(int nd, const int64_t *sizes, const int64_t *strides, int64_t offset)
{
    struct td_meta m = {.dtype = TD_DTYPE_FLOAT32, .ndim = (uint8_t)nd, .offset = offset, .storage_nbytes = 256};
    for (int d = 0; d < nd; d++) {
        m.sizes[d] = sizes[d];
        m.strides[d] = strides[d];
    }
    return m;
}

static struct td_meta vec(int64_t n, int64_t stride, int64_t offset)
{
    return view(1, &n, &stride, offset);
}

START_TEST(test_dense_and_internal)
{
    struct td_meta m = view(2, (int64_t[]){3, 4}, (int64_t[]){4, 1}, 0);
    ck_assert(td_meta_non_overlapping_and_dense(&m));
    m = view(2, (int64_t[]){3, 4}, (int64_t[]){1, 3}, 0); /* a transpose */
    ck_assert(td_meta_non_overlapping_and_dense(&m));
    m = view(2, (int64_t[]){3, 2}, (int64_t[]){4, 1}, 0); /* m[:, :2] */
    ck_assert(!td_meta_non_overlapping_and_dense(&m));
    ck_assert_int_eq(td_meta_internal_overlap(&m), TD_MEM_OVERLAP_TOO_HARD);
    m = view(2, (int64_t[]){1, 5}, (int64_t[]){99, 1}, 0); /* size-1 dims take no room */
    ck_assert(td_meta_non_overlapping_and_dense(&m));
    m = view(0, NULL, NULL, 3); /* 0-dim */
    ck_assert(td_meta_non_overlapping_and_dense(&m));
    m = vec(5, 0, 0); /* zeros(1).expand(5) */
    ck_assert_int_eq(td_meta_internal_overlap(&m), TD_MEM_OVERLAP_YES);
    m = view(2, (int64_t[]){3, 2}, (int64_t[]){1, 1}, 0); /* as_strided overlap: no stride 0 */
    ck_assert_int_eq(td_meta_internal_overlap(&m), TD_MEM_OVERLAP_TOO_HARD);
    m = vec(1, 0, 0); /* a size-1 expand is no overlap */
    ck_assert_int_eq(td_meta_internal_overlap(&m), TD_MEM_OVERLAP_NO);
}
END_TEST

START_TEST(test_overlap_status)
{
    struct td_meta a = vec(5, 1, 0), b = vec(4, 1, 1), c = vec(4, 1, 0);
    ck_assert_int_eq(td_meta_overlap(&b, &c), TD_OVERLAP_PARTIAL); /* a[1:] vs a[:-1] */
    ck_assert_int_eq(td_meta_overlap(&a, &a), TD_OVERLAP_FULL);
    struct td_meta lo = vec(2, 1, 0), hi = vec(2, 1, 3);
    ck_assert_int_eq(td_meta_overlap(&lo, &hi), TD_OVERLAP_NO);
    struct td_meta m = view(2, (int64_t[]){3, 3}, (int64_t[]){3, 1}, 0),
                   t = view(2, (int64_t[]){3, 3}, (int64_t[]){1, 3}, 0);
    ck_assert_int_eq(td_meta_overlap(&m, &t), TD_OVERLAP_PARTIAL); /* m vs m.t(): same bytes, other strides */
    /* torch compares whole stride lists: a 0-dim a[0] and the 1-element a[:1] are partial */
    struct td_meta e0 = view(0, NULL, NULL, 0), e1 = vec(1, 1, 0);
    ck_assert_int_eq(td_meta_overlap(&e0, &e1), TD_OVERLAP_PARTIAL);
    struct td_meta even = vec(3, 2, 0), odd = vec(3, 2, 1);
    ck_assert_int_eq(td_meta_overlap(&even, &odd), TD_OVERLAP_TOO_HARD);
    struct td_meta empty = vec(0, 1, 0);
    ck_assert_int_eq(td_meta_overlap(&empty, &a), TD_OVERLAP_NO);
    /* bytes, not elements: a float64 view's first half against a float32 view */
    struct td_meta d = {.dtype = TD_DTYPE_FLOAT64, .ndim = 1, .sizes = {1}, .strides = {1}, .storage_nbytes = 256};
    ck_assert_int_eq(td_meta_overlap(&d, &c), TD_OVERLAP_PARTIAL);
}
END_TEST

/* td_meta_check_overlap on a record of op with flags; ids: tensor ids (storage 1 for all
 * unless noted).  Returns the code, msg gets the message. */
static enum td_code check(unsigned op, unsigned flags, int n, const struct td_meta *const *in,
                          const uint64_t *tensors, const int64_t *attrs, int n_attr, char *msg)
{
    struct td_operand_id ids[8];
    for (int i = 0; i < n; i++)
        ids[i] = (struct td_operand_id){tensors[i], 1};
    struct td_op_args a = {.op = (uint16_t)op, .flags = (uint8_t)flags, .n_in = (uint16_t)n, .in = in,
                           .attrs = attrs, .n_attr = (uint32_t)n_attr};
    struct td_status st = TD_STATUS_INIT;
    enum td_code c = td_meta_check_overlap(&a, ids, &st);
    strcpy(msg, st.msg);
    return c;
}

START_TEST(test_elementwise_rules)
{
    char msg[512];
    struct td_meta a = vec(5, 1, 0), hi = vec(4, 1, 1), lo = vec(4, 1, 0), ex = vec(5, 0, 0), o = vec(5, 1, 8);
    /* a[1:].add_(a[:-1]) */
    ck_assert_int_eq(check(TD_OP_ADD, TD_RF_INPLACE, 2, (const struct td_meta *[]){&hi, &lo}, (uint64_t[]){1, 2},
                           NULL, 0, msg), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(msg, PARTIAL_MSG);
    /* add(a[1:], a[:-1], out=a[1:]): the out= tensor is not self, so input 0 is checked too */
    ck_assert_int_eq(check(TD_OP_ADD, TD_RF_OUT, 3, (const struct td_meta *[]){&hi, &lo, &hi},
                           (uint64_t[]){1, 2, 3}, NULL, 0, msg), TD_CODE_INVALID_ARGUMENT);
    /* a.mul_(a), add(a, a, out=a): one tensor, element for element */
    ck_assert_int_eq(check(TD_OP_MUL, TD_RF_INPLACE, 2, (const struct td_meta *[]){&a, &a}, (uint64_t[]){1, 1},
                           NULL, 0, msg), TD_CODE_OK);
    ck_assert_int_eq(check(TD_OP_ADD, TD_RF_OUT, 3, (const struct td_meta *[]){&a, &a, &a}, (uint64_t[]){1, 1, 1},
                           NULL, 0, msg), TD_CODE_OK);
    /* zeros(1).expand(5).add_(1) */
    ck_assert_int_eq(check(TD_OP_ADD, TD_RF_INPLACE, 1, (const struct td_meta *[]){&ex}, (uint64_t[]){1}, NULL, 0,
                           msg), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(msg, INTERNAL_MSG);
    /* an expanded input is too hard to tell: allowed */
    ck_assert_int_eq(check(TD_OP_ADD, TD_RF_INPLACE, 2, (const struct td_meta *[]){&a, &ex}, (uint64_t[]){1, 2},
                           NULL, 0, msg), TD_CODE_OK);
    /* disjoint bytes of one storage */
    ck_assert_int_eq(check(TD_OP_SUB, TD_RF_INPLACE, 2, (const struct td_meta *[]){&o, &a}, (uint64_t[]){1, 2},
                           NULL, 0, msg), TD_CODE_OK);
}
END_TEST

START_TEST(test_copy_fill_and_others)
{
    char msg[512];
    struct td_meta hi = vec(4, 1, 1), lo = vec(4, 1, 0), ex = vec(4, 0, 0), one = vec(4, 1, 20);
    ck_assert_int_eq(check(TD_OP_COPY_, 0, 2, (const struct td_meta *[]){&hi, &lo}, (uint64_t[]){1, 2}, NULL, 0,
                           msg), TD_CODE_INVALID_ARGUMENT);
    ck_assert_int_eq(check(TD_OP_COPY_, 0, 2, (const struct td_meta *[]){&ex, &one}, (uint64_t[]){1, 2}, NULL, 0,
                           msg), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(msg, INTERNAL_MSG);
    /* x.copy_(x) returns at once, even expanded; so does the same data under another handle */
    ck_assert_int_eq(check(TD_OP_COPY_, 0, 2, (const struct td_meta *[]){&ex, &ex}, (uint64_t[]){1, 1}, NULL, 0,
                           msg), TD_CODE_OK);
    ck_assert_int_eq(check(TD_OP_COPY_, 0, 2, (const struct td_meta *[]){&ex, &ex}, (uint64_t[]){1, 2}, NULL, 0,
                           msg), TD_CODE_OK);
    /* fill_ checks nothing; nor do reductions with out= */
    ck_assert_int_eq(check(TD_OP_FILL_, 0, 1, (const struct td_meta *[]){&ex}, (uint64_t[]){1}, NULL, 0, msg),
                     TD_CODE_OK);
    ck_assert_int_eq(check(TD_OP_SUM, TD_RF_OUT, 2, (const struct td_meta *[]){&lo, &hi}, (uint64_t[]){1, 2}, NULL,
                           0, msg), TD_CODE_OK);
    /* matmul refuses only an out= overlapping itself */
    struct td_meta m = view(2, (int64_t[]){2, 2}, (int64_t[]){2, 1}, 0),
                   me = view(2, (int64_t[]){2, 2}, (int64_t[]){0, 0}, 0);
    ck_assert_int_eq(check(TD_OP_MM, TD_RF_OUT, 3, (const struct td_meta *[]){&m, &m, &m}, (uint64_t[]){1, 1, 1},
                           NULL, 0, msg), TD_CODE_OK);
    ck_assert_int_eq(check(TD_OP_MM, TD_RF_OUT, 3, (const struct td_meta *[]){&m, &m, &me}, (uint64_t[]){1, 1, 2},
                           NULL, 0, msg), TD_CODE_INVALID_ARGUMENT);
    /* the dim reductions with indices check their values output like TensorIterator */
    struct td_meta v2 = vec(2, 1, 0), idx = vec(2, 1, 40);
    ck_assert_int_eq(check(TD_OP_MAX_DIM, TD_RF_OUT, 3, (const struct td_meta *[]){&m, &v2, &idx},
                           (uint64_t[]){1, 2, 3}, NULL, 0, msg), TD_CODE_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_index_rules)
{
    char msg[512];
    struct td_meta a = vec(5, 1, 0), two = vec(2, 1, 0), far = vec(2, 1, 30);
    struct td_meta idx = {.dtype = TD_DTYPE_INT64, .ndim = 1, .sizes = {2}, .strides = {1}, .offset = 10,
                          .storage_nbytes = 256};
    int64_t attrs[3] = {0, 1, 0}; /* dim 0, mode 1 (index_select) */
    /* cat / index_select refuse full overlap too: cat([a], out=a) */
    ck_assert_int_eq(check(TD_OP_CAT, TD_RF_OUT, 2, (const struct td_meta *[]){&a, &a}, (uint64_t[]){1, 1}, NULL, 0,
                           msg), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(msg, PARTIAL_MSG);
    ck_assert_int_eq(check(TD_OP_INDEX, TD_RF_OUT, 3, (const struct td_meta *[]){&a, &idx, &two},
                           (uint64_t[]){1, 2, 3}, attrs, 2, msg), TD_CODE_INVALID_ARGUMENT);
    ck_assert_int_eq(check(TD_OP_INDEX, TD_RF_OUT, 3, (const struct td_meta *[]){&two, &idx, &far},
                           (uint64_t[]){1, 2, 3}, attrs, 2, msg), TD_CODE_OK);
    /* index_put_ (mode 0): an expanded self is only deprecated; the values may not overlap */
    struct td_meta ex = vec(5, 0, 0), i5 = idx;
    int64_t put[3] = {0, 0, 0};
    ck_assert_int_eq(check(TD_OP_INDEX_PUT, TD_RF_INPLACE, 3, (const struct td_meta *[]){&ex, &far, &i5},
                           (uint64_t[]){1, 2, 3}, put, 3, msg), TD_CODE_OK);
    ck_assert_int_eq(check(TD_OP_INDEX_PUT, TD_RF_INPLACE, 3, (const struct td_meta *[]){&a, &two, &i5},
                           (uint64_t[]){1, 2, 3}, put, 3, msg), TD_CODE_INVALID_ARGUMENT);
    /* index_add_ (mode 1) refuses an expanded self */
    int64_t add[3] = {0, 1, 1};
    ck_assert_int_eq(check(TD_OP_INDEX_PUT, TD_RF_INPLACE, 3, (const struct td_meta *[]){&ex, &far, &i5},
                           (uint64_t[]){1, 2, 3}, add, 3, msg), TD_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(msg, INTERNAL_MSG);
}
END_TEST

static Suite *overlap_suite(void)
{
    Suite *s = suite_create("overlap");
    TCase *tc = tcase_create("rules");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_dense_and_internal);
    tcase_add_test(tc, test_overlap_status);
    tcase_add_test(tc, test_elementwise_rules);
    tcase_add_test(tc, test_copy_fill_and_others);
    tcase_add_test(tc, test_index_rules);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(overlap_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
