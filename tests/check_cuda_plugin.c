/*
 * check_cuda_plugin.c — the CUDA plugin (build/libtensord_cuda.so) as the daemon sees
 * it: dlopen, td_device_backend_entry, the table's ABI and entries, and the kernel
 * lookup (which ops have device kernels).  Without a GPU, init() must report 0 devices
 * with the reason, and device calls must fail with a named error instead of crashing.
 * With a GPU (tests/gpu/run.sh) the "gpu" case also runs kernels and compares them
 * with references computed here on the host: conversions, broadcasting with alpha,
 * a scalar operand, strided copies, reductions, matmul, softmax, where.
 *
 * The plugin is TD_CUDA_PLUGIN or build/libtensord_cuda.so; when neither exists (no
 * nvcc where this was built) the suite prints why and passes without running.
 */
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kernels/device.h"
#include "../kernels/dtype.h"
#include "../kernels/op_attrs.h"

/* Built with ASan (make check), the CUDA driver's address reservations need the shadow
 * gap unprotected; ASan reads this hook before main. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "protect_shadow_gap=0"; }

/* stream_sync's code for a bad index a kernel met (kernels/cuda/cuda_common.cuh) */
#define TD_CU_ERR_INDEX 300000

static const char *plugin_path;
static void *lib;
static const struct td_device_backend *B;

static void load(void)
{
    lib = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(lib != NULL, "dlopen %s: %s", plugin_path, dlerror());
    td_device_entry_fn entry = (td_device_entry_fn)dlsym(lib, TD_DEVICE_ENTRY);
    ck_assert_msg(entry != NULL, "dlsym: %s", dlerror());
    B = entry();
    ck_assert_ptr_nonnull(B);
}

static void unload(void)
{
    /* no dlclose: the CUDA runtime's exit handlers must still find their code */
    B = NULL;
}

START_TEST(test_table)
{
    ck_assert_uint_eq(B->abi, TD_DEVICE_ABI);
    ck_assert_str_eq(B->kind, "cuda");
    void *const entries[] = {
        (void *)B->init, (void *)B->describe, (void *)B->error_string, (void *)B->is_fatal, (void *)B->get_props,
        (void *)B->mem_get_info, (void *)B->mem_alloc, (void *)B->mem_free, (void *)B->vmm_granularity,
        (void *)B->vmm_reserve, (void *)B->vmm_release, (void *)B->vmm_map, (void *)B->vmm_unmap,
        (void *)B->host_alloc, (void *)B->host_free, (void *)B->stream_new, (void *)B->stream_free,
        (void *)B->stream_sync, (void *)B->event_new, (void *)B->event_free, (void *)B->event_record,
        (void *)B->event_query, (void *)B->event_sync, (void *)B->stream_wait_event, (void *)B->event_elapsed_ms,
        (void *)B->memcpy_async, (void *)B->memset_async, (void *)B->kernel,
    };
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        ck_assert_msg(entries[i] != NULL, "entry %zu is NULL", i);
    /* the one exported symbol: nothing of the static CUDA runtime leaks out */
    ck_assert_ptr_null(dlsym(lib, "cudaGetDeviceCount"));
    ck_assert_ptr_null(dlsym(lib, "td__cuda_binary_kernel"));
}
END_TEST

START_TEST(test_init)
{
    char why[256] = "";
    int n = B->init(why, sizeof why);
    ck_assert_int_ge(n, 0);
    ck_assert_int_le(n, TD_MAX_DEVICES);
    char desc[256] = "";
    B->describe(desc, sizeof desc);
    ck_assert_msg(strstr(desc, "CUDA runtime 13.") != NULL, "describe: %s", desc);
    ck_assert_msg(strstr(desc, "cuBLASLt") != NULL, "describe: %s", desc);
    printf("check_cuda_plugin: %d device(s)%s%s; %s\n", n, n ? "" : ": ", n ? "" : why, desc);
    fflush(stdout);
    if (n > 0) {
        struct td_device_props p;
        ck_assert_int_eq(B->get_props(0, &p), 0);
        ck_assert_int_ge(p.major, 7);
        ck_assert_int_gt(p.multi_processor_count, 0);
        ck_assert_int_eq(p.warp_size, 32);
        ck_assert_uint_gt(p.total_memory, 1u << 30);
        return;
    }
    /* no GPU: a reason that names the failing call, and device calls that fail cleanly */
    ck_assert_msg(strncmp(why, "cudaGetDeviceCount", 18) == 0, "why: %s", why);
    void *p = (void *)1;
    int rc = B->mem_alloc(0, 1024, &p);
    ck_assert_int_ne(rc, 0);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(B->error_string(rc));
    ck_assert_int_gt(strlen(B->error_string(rc)), 0);
    td_stream_t s = NULL;
    ck_assert_int_ne(B->stream_new(0, &s), 0);
    ck_assert_ptr_null(s);
    ck_assert_uint_eq(B->vmm_granularity(0), 0);
    void *va = NULL;
    ck_assert_int_ne(B->vmm_reserve(0, 1 << 21, &va), 0);
}
END_TEST

START_TEST(test_errors)
{
    /* CUDA's codes: 700 illegal address and 719 launch failure are sticky, 2 (out of
     * memory) and 35 (driver too old) are not */
    ck_assert_int_eq(B->is_fatal(700), 1);
    ck_assert_int_eq(B->is_fatal(719), 1);
    ck_assert_int_eq(B->is_fatal(2), 0);
    ck_assert_int_eq(B->is_fatal(0), 0);
    ck_assert_msg(strstr(B->error_string(2), "memory") != NULL, "%s", B->error_string(2));
    ck_assert_msg(strstr(B->error_string(35), "driver") != NULL, "%s", B->error_string(35));
    /* a bad index found by a kernel (kernels/cuda/index_ops.cuh) is not sticky */
    ck_assert_int_eq(B->is_fatal(TD_CU_ERR_INDEX), 0);
    ck_assert_str_eq(B->error_string(TD_CU_ERR_INDEX), "index out of bounds in a device kernel");
}
END_TEST

START_TEST(test_kernel_lookup)
{
    /* COPY_ for every dtype (the executor casts with it), byte movers for complex */
    for (unsigned dt = 0; dt < TD_DTYPE_COUNT; dt++) {
        ck_assert_msg(B->kernel(TD_OP_COPY_, dt) != NULL, "COPY_ dtype %u", dt);
        ck_assert_msg(B->kernel(TD_OP_FILL_, dt) != NULL, "FILL_ dtype %u", dt);
    }
    const unsigned compute[] = {TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT64, TD_DTYPE_INT64, TD_DTYPE_INT32,
                                TD_DTYPE_INT16,   TD_DTYPE_INT8,    TD_DTYPE_UINT8, TD_DTYPE_BOOL};
    for (size_t i = 0; i < sizeof compute / sizeof compute[0]; i++) {
        ck_assert_ptr_nonnull(B->kernel(TD_OP_ADD, compute[i]));
        ck_assert_ptr_nonnull(B->kernel(TD_OP_EQ, compute[i]));
        ck_assert_ptr_nonnull(B->kernel(TD_OP_SUM, compute[i]));
        ck_assert_ptr_nonnull(B->kernel(TD_OP_WHERE, compute[i]));
    }
    ck_assert_ptr_nonnull(B->kernel(TD_OP_ARGMAX, TD_DTYPE_INT32));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_MAX_DIM, TD_DTYPE_FLOAT64));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_MATMUL, TD_DTYPE_FLOAT32));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_BMM, TD_DTYPE_FLOAT64));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_SOFTMAX, TD_DTYPE_FLOAT32));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_EXP, TD_DTYPE_FLOAT64));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_DIV, TD_DTYPE_FLOAT32));
    /* math_elem.cu: float rows, predicates on every compute dtype, integer ADDCMUL */
    const unsigned math_f[] = {TD_OP_TAN, TD_OP_ERFINV, TD_OP_DIGAMMA, TD_OP_LOGIT, TD_OP_NAN_TO_NUM, TD_OP_ATAN2,
                               TD_OP_XLOGY, TD_OP_FMOD, TD_OP_LERP, TD_OP_ADDCMUL, TD_OP_ADDCDIV, TD_OP_ISNAN};
    for (size_t i = 0; i < sizeof math_f / sizeof math_f[0]; i++) {
        ck_assert_msg(B->kernel(math_f[i], TD_DTYPE_FLOAT32) != NULL, "math op %u", math_f[i]);
        ck_assert_msg(B->half_kernel(math_f[i], TD_DTYPE_BFLOAT16) != NULL, "half math op %u", math_f[i]);
    }
    ck_assert_ptr_nonnull(B->kernel(TD_OP_ISFINITE, TD_DTYPE_INT8));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_NAN_TO_NUM, TD_DTYPE_INT32));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_ADDCMUL, TD_DTYPE_INT64));
    ck_assert_ptr_null(B->kernel(TD_OP_ADDCDIV, TD_DTYPE_INT64));
    ck_assert_ptr_null(B->kernel(TD_OP_FMOD, TD_DTYPE_INT32)); /* its division by zero is an error: staged */
    ck_assert_ptr_null(B->kernel(TD_OP_TAN, TD_DTYPE_INT32));
    /* creation and CAT: made on the device, not on the host and copied */
    const unsigned create[] = {TD_OP_EMPTY, TD_OP_FULL, TD_OP_ARANGE, TD_OP_LINSPACE, TD_OP_EYE, TD_OP_CAT};
    for (size_t i = 0; i < sizeof create / sizeof create[0]; i++)
        ck_assert_msg(B->kernel(create[i], TD_DTYPE_INT32) != NULL, "create op %u", create[i]);
    ck_assert_ptr_nonnull(B->kernel(TD_OP_EMPTY, TD_DTYPE_COMPLEX64));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_CAT, TD_DTYPE_COMPLEX128));
    ck_assert_ptr_nonnull(B->half_kernel(TD_OP_CAT, TD_DTYPE_FLOAT16));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_FLIP, TD_DTYPE_COMPLEX128));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_TRIU, TD_DTYPE_BOOL));
    ck_assert_ptr_nonnull(B->half_kernel(TD_OP_TRIL, TD_DTYPE_BFLOAT16));
    /* the STAT family's streaming rows; MEDIAN and MODE are staged */
    const unsigned stat[] = {TD_OP_VAR, TD_OP_STD, TD_OP_VAR_MEAN, TD_OP_STD_MEAN, TD_OP_LOGSUMEXP, TD_OP_NORM,
                             TD_OP_NANSUM, TD_OP_NANMEAN, TD_OP_COUNT_NONZERO, TD_OP_AMINMAX};
    for (size_t i = 0; i < sizeof stat / sizeof stat[0]; i++) {
        ck_assert_msg(B->kernel(stat[i], TD_DTYPE_FLOAT64) != NULL, "stat op %u", stat[i]);
        ck_assert_msg(B->half_kernel(stat[i], TD_DTYPE_FLOAT16) != NULL, "half stat op %u", stat[i]);
    }
    ck_assert_ptr_nonnull(B->kernel(TD_OP_COUNT_NONZERO, TD_DTYPE_BOOL));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_AMINMAX, TD_DTYPE_INT16));
    ck_assert_ptr_null(B->kernel(TD_OP_VAR, TD_DTYPE_INT32));
    /* MEDIAN and MODE sort their lanes with CUB: not in the ROCm build */
    bool cub = strcmp(B->kind, "cuda") == 0;
    ck_assert((B->kernel(TD_OP_MEDIAN, TD_DTYPE_FLOAT32) != NULL) == cub);
    ck_assert((B->kernel(TD_OP_MODE, TD_DTYPE_INT32) != NULL) == cub);
    ck_assert_ptr_null(B->kernel(TD_OP_MEDIAN_DIM, TD_DTYPE_BOOL));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_CUMMAX, TD_DTYPE_INT16));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_CUMMIN, TD_DTYPE_FLOAT64));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_LOGCUMSUMEXP, TD_DTYPE_FLOAT32));
    ck_assert_ptr_null(B->kernel(TD_OP_LOGCUMSUMEXP, TD_DTYPE_INT32));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_SEARCHSORTED, TD_DTYPE_INT8));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_HISTC, TD_DTYPE_FLOAT64));
    ck_assert_ptr_null(B->kernel(TD_OP_HISTC, TD_DTYPE_INT32));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_NONZERO, TD_DTYPE_BOOL));
    ck_assert_ptr_nonnull(B->kernel(TD_OP_NONZERO, TD_DTYPE_FLOAT64));
    ck_assert_ptr_null(B->kernel(TD_OP_NONZERO, TD_DTYPE_COMPLEX64));
    for (unsigned dt = 0; dt < TD_DTYPE_COUNT; dt++) {
        bool half = dt == TD_DTYPE_FLOAT16 || dt == TD_DTYPE_BFLOAT16;
        bool cx = dt == TD_DTYPE_COMPLEX64 || dt == TD_DTYPE_COMPLEX128;
        ck_assert_msg((B->kernel(TD_OP_GATHER, dt) != NULL) == !half, "GATHER dtype %u", dt);
        ck_assert_msg((B->kernel(TD_OP_INDEX, dt) != NULL) == !half, "INDEX dtype %u", dt);
        ck_assert_msg((B->kernel(TD_OP_INDEX_PUT, dt) != NULL) == !half, "INDEX_PUT dtype %u", dt);
        ck_assert_msg((B->kernel(TD_OP_SCATTER, dt) != NULL) == (!half && !cx), "SCATTER dtype %u", dt);
        bool fl = dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64;
        ck_assert_msg((B->kernel(TD_OP_SGD_STEP, dt) != NULL) == fl, "SGD_STEP dtype %u", dt);
        ck_assert_msg((B->kernel(TD_OP_ADAM_STEP, dt) != NULL) == fl, "ADAM_STEP dtype %u", dt);
        ck_assert_msg((B->kernel(TD_OP_MAX_POOL, dt) != NULL) == fl, "MAX_POOL dtype %u", dt);
        ck_assert_msg((B->kernel(TD_OP_MAX_POOL_BACKWARD, dt) != NULL) == fl, "MAX_POOL_BACKWARD dtype %u", dt);
        ck_assert_msg((B->kernel(TD_OP_ADAPTIVE_AVG_POOL_BACKWARD, dt) != NULL) == fl, "ADAPTIVE_AVG_POOL_BACKWARD %u", dt);
        /* convolution runs through cuDNN when the plugin finds libcudnn.so.9 (describe says) */
        char d[256];
        B->describe(d, sizeof d);
        bool dnn = strstr(d, "cuDNN 9.") != NULL && strcmp(B->kind, "cuda") == 0;
        ck_assert_msg((B->kernel(TD_OP_CONV, dt) != NULL) == (fl && dnn), "CONV dtype %u (%s)", dt, d);
        ck_assert_msg((B->kernel(TD_OP_CONV_BACKWARD_WEIGHT, dt) != NULL) == (fl && dnn), "CONV_BACKWARD_WEIGHT %u", dt);
        ck_assert_msg((B->kernel(TD_OP_RANDN, dt) != NULL) == fl, "RANDN dtype %u", dt);
        ck_assert_msg((B->kernel(TD_OP_BERNOULLI_, dt) != NULL) == (!half && !cx), "BERNOULLI_ dtype %u", dt);
        ck_assert_msg((B->kernel(TD_OP_RANDINT, dt) != NULL) == (!half && !cx), "RANDINT dtype %u", dt);
        ck_assert_ptr_null(B->kernel(TD_OP_BERNOULLI_P, dt)); /* range-checks p: staged */
        ck_assert_msg((B->kernel(TD_OP_CUMSUM, dt) != NULL) == (!half && !cx), "CUMSUM dtype %u", dt);
        ck_assert_msg((B->kernel(TD_OP_SORT, dt) != NULL) == (!half && !cx && strcmp(B->kind, "cuda") == 0), "SORT %u", dt);
        ck_assert_ptr_null(B->kernel(TD_OP_MULTINOMIAL, dt));
    }
    /* staged through the host: complex math, integer matmul, integer division (its
     * division by zero is an error the kernel could only see after the GPU ran),
     * transcendental ops on integers, bitwise ops on floats, ops with no kernel */
    ck_assert_ptr_null(B->kernel(TD_OP_ADD, TD_DTYPE_COMPLEX64));
    ck_assert_ptr_null(B->kernel(TD_OP_SUM, TD_DTYPE_COMPLEX128));
    ck_assert_ptr_null(B->kernel(TD_OP_MATMUL, TD_DTYPE_INT64));
    ck_assert_ptr_null(B->kernel(TD_OP_DIV, TD_DTYPE_INT64));
    ck_assert_ptr_null(B->kernel(TD_OP_REMAINDER, TD_DTYPE_INT32));
    ck_assert_ptr_null(B->kernel(TD_OP_EXP, TD_DTYPE_INT32));
    ck_assert_ptr_null(B->kernel(TD_OP_BITWISE_AND, TD_DTYPE_FLOAT32));
    ck_assert_ptr_null(B->kernel(TD_OP_SUB, TD_DTYPE_BOOL));
    ck_assert_ptr_null(B->kernel(TD_OP_NONE, TD_DTYPE_FLOAT32));
    ck_assert_ptr_null(B->kernel(TD_OP_ADD, TD_DTYPE_FLOAT16)); /* computed in float32 by the executor */
    /* ... unless half_kernel has the op: then float16/bfloat16 operands arrive as they are */
    for (unsigned dt = 0; dt < TD_DTYPE_COUNT; dt++) {
        bool half = dt == TD_DTYPE_FLOAT16 || dt == TD_DTYPE_BFLOAT16;
        const unsigned native[] = {TD_OP_ADD, TD_OP_MUL, TD_OP_DIV, TD_OP_EQ, TD_OP_EXP, TD_OP_SIGMOID, TD_OP_SUM,
                                   TD_OP_MEAN, TD_OP_ARGMAX, TD_OP_MAX_DIM, TD_OP_MATMUL, TD_OP_BMM, TD_OP_SOFTMAX,
                                   TD_OP_LOG_SOFTMAX, TD_OP_WHERE};
        for (size_t i = 0; i < sizeof native / sizeof native[0]; i++)
            ck_assert_msg((B->half_kernel(native[i], dt) != NULL) == half, "half_kernel op %u dtype %u", native[i], dt);
        ck_assert_ptr_null(B->half_kernel(TD_OP_BITWISE_AND, dt));
        char d[256];
        B->describe(d, sizeof d);
        bool dnn = strstr(d, "cuDNN 9.") != NULL && strcmp(B->kind, "cuda") == 0;
        ck_assert_msg((B->half_kernel(TD_OP_CONV, dt) != NULL) == (half && dnn), "half_kernel CONV dtype %u", dt);
        ck_assert_msg((B->half_kernel(TD_OP_CONV_BACKWARD_WEIGHT, dt) != NULL) == (half && dnn), "half CONV_BW %u", dt);
        ck_assert_msg((B->half_kernel(TD_OP_MAX_POOL, dt) != NULL) == half, "half MAX_POOL %u", dt);
        ck_assert_msg((B->half_kernel(TD_OP_AVG_POOL_BACKWARD, dt) != NULL) == half, "half AVG_POOL_BACKWARD %u", dt);
        ck_assert_ptr_null(B->half_kernel(TD_OP_MAX_POOL_BACKWARD, dt)); /* float32/64 atomics */
        ck_assert_ptr_null(B->half_kernel(TD_OP_SGD_STEP, dt));
        ck_assert_ptr_null(B->half_kernel(TD_OP_INDEX_PUT, dt));
        ck_assert_ptr_null(B->half_kernel(TD_OP_SCATTER, dt));
        ck_assert_msg((B->half_kernel(TD_OP_INDEX, dt) != NULL) == half, "half INDEX %u", dt);
        ck_assert_msg((B->half_kernel(TD_OP_GATHER, dt) != NULL) == half, "half GATHER %u", dt);
    }
    ck_assert_ptr_null(B->kernel(TD_OP_ADD, TD_DTYPE_COUNT));
    ck_assert_ptr_null(B->kernel(TD_OP_COUNT, TD_DTYPE_FLOAT32));
}
END_TEST

/* ---- kernels on a real GPU */

static td_stream_t S;

static struct td_kt kt(enum td_dtype dt, int nd, const int64_t *sizes, void *data)
{
    struct td_kt t;
    memset(&t, 0, sizeof t);
    t.m.dtype = (uint8_t)dt;
    t.m.ndim = (uint8_t)nd;
    int64_t st = 1;
    for (int d = nd - 1; d >= 0; d--) {
        t.m.sizes[d] = sizes[d];
        t.m.strides[d] = st;
        st *= sizes[d];
    }
    t.m.storage_nbytes = st * (int64_t)td_dtype_size(dt);
    t.data = data;
    return t;
}

static void *up(const void *h, size_t n)
{
    void *d = NULL;
    ck_assert_int_eq(B->mem_alloc(0, n, &d), 0);
    ck_assert_int_eq(B->memcpy_async(0, d, h, n, TD_COPY_H2D, S), 0);
    return d;
}

static void down(void *h, const void *d, size_t n)
{
    ck_assert_int_eq(B->memcpy_async(0, h, d, n, TD_COPY_D2H, S), 0);
    ck_assert_int_eq(B->stream_sync(0, S), 0);
}

static void *dalloc(size_t n)
{
    void *d = NULL;
    ck_assert_int_eq(B->mem_alloc(0, n, &d), 0);
    return d;
}

/* The kernel fn (kernel()'s, or half_kernel()'s) for op at compute dtype dt, on stream S. */
static enum td_code run_fn(td_kernel_fn fn, unsigned op, unsigned dt, int n_in, struct td_kt **in, int n_out,
                           struct td_kt **out, const int64_t *attrs, uint32_t n_attr, uint8_t flags)
{
    ck_assert_msg(fn != NULL, "no kernel for op %u dtype %u", op, dt);
    struct td_kctx k;
    memset(&k, 0, sizeof k);
    k.op = (uint16_t)op;
    k.flags = flags;
    k.compute_dtype = (uint8_t)dt;
    k.n_in = n_in;
    k.n_out = n_out;
    for (int i = 0; i < n_in; i++)
        k.in[i] = in[i];
    for (int i = 0; i < n_out; i++)
        k.out[i] = out[i];
    k.attrs = attrs;
    k.n_attr = n_attr;
    k.stream = S;
    k.device = 0;
    return fn(&k);
}

static enum td_code run(unsigned op, unsigned dt, int n_in, struct td_kt **in, int n_out, struct td_kt **out,
                        const int64_t *attrs, uint32_t n_attr, uint8_t flags)
{
    return run_fn(B->kernel(op, dt), op, dt, n_in, in, n_out, out, attrs, n_attr, flags);
}

static int64_t fbits(double v)
{
    int64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double urand(unsigned *seed) { return (double)rand_r(seed) / RAND_MAX * 2 - 1; }

static void close_rel(double got, double want, double tol, const char *what, int i)
{
    double err = fabs(got - want) / (fabs(want) > 1 ? fabs(want) : 1);
    ck_assert_msg(err <= tol, "%s[%d]: got %.9g, want %.9g", what, i, got, want);
}

START_TEST(test_gpu)
{
    char why[256] = "";
    if (B->init(why, sizeof why) == 0) {
        printf("check_cuda_plugin: gpu case skipped: %s\n", why);
        fflush(stdout);
        return;
    }
    unsigned seed = 7;
    ck_assert_int_eq(B->stream_new(0, &S), 0);

    /* ADD with broadcasting and alpha: (2,3,4) + 2.5 * (3,1) */
    {
        float a[24], b[3], o[24];
        for (int i = 0; i < 24; i++)
            a[i] = (float)urand(&seed);
        for (int i = 0; i < 3; i++)
            b[i] = (float)urand(&seed);
        int64_t sa[] = {2, 3, 4}, sb[] = {3, 1};
        struct td_kt ta = kt(TD_DTYPE_FLOAT32, 3, sa, up(a, sizeof a)), tb = kt(TD_DTYPE_FLOAT32, 2, sb, up(b, sizeof b));
        struct td_kt to = kt(TD_DTYPE_FLOAT32, 3, sa, dalloc(sizeof o));
        struct td_kt *in[] = {&ta, &tb}, *out[] = {&to};
        int64_t attrs[] = {0, 0, TD_SCALAR_FLOAT, fbits(2.5)};
        ck_assert_int_eq(run(TD_OP_ADD, TD_DTYPE_FLOAT32, 2, in, 1, out, attrs, 4, 0), TD_CODE_OK);
        down(o, to.data, sizeof o);
        for (int i = 0; i < 24; i++)
            close_rel(o[i], a[i] + 2.5f * b[i / 4 % 3], 1e-6, "add", i);
    }
    /* scalar on the left, int32: 7 - x wraps like the CPU; comparisons to bool */
    {
        int32_t x[5] = {0, 1, -3, INT32_MIN, 1000}, o[5];
        uint8_t c[5];
        int64_t s5[] = {5};
        struct td_kt tx = kt(TD_DTYPE_INT32, 1, s5, up(x, sizeof x)), to = kt(TD_DTYPE_INT32, 1, s5, dalloc(sizeof o));
        struct td_kt tc = kt(TD_DTYPE_BOOL, 1, s5, dalloc(sizeof c));
        struct td_kt *in[] = {&tx}, *out[] = {&to}, *outc[] = {&tc};
        int64_t attrs[] = {TD_SCALAR_INT, 7, TD_SCALAR_INT, 1};
        ck_assert_int_eq(run(TD_OP_SUB, TD_DTYPE_INT32, 1, in, 1, out, attrs, 4, TD_RF_SCALAR_LHS), TD_CODE_OK);
        down(o, to.data, sizeof o);
        for (int i = 0; i < 5; i++)
            ck_assert_int_eq(o[i], (int32_t)(7u - (uint32_t)x[i]));
        int64_t ga[] = {TD_SCALAR_FLOAT, fbits(0.5)};
        ck_assert_int_eq(run(TD_OP_GT, TD_DTYPE_INT32, 1, in, 1, outc, ga, 2, 0), TD_CODE_OK);
        down(c, tc.data, sizeof c);
        for (int i = 0; i < 5; i++)
            ck_assert_int_eq(c[i], x[i] > 0); /* 0.5 as an int32 scalar is 0 */
    }
    /* COPY_: float32 -> float16 / bfloat16 / int8 with the CPU's rounding, and a
     * transposed (strided) source */
    {
        float f[12] = {0.1f, -2.5f, 65519.f, 65520.f, 1e-8f, -0.f, NAN, INFINITY, 3.5f, -128.7f, 300.f, 5.96e-8f};
        uint16_t h[12], bf[12];
        int8_t i8[12];
        int64_t s12[] = {12};
        struct td_kt tf = kt(TD_DTYPE_FLOAT32, 1, s12, up(f, sizeof f));
        struct td_kt th = kt(TD_DTYPE_FLOAT16, 1, s12, dalloc(sizeof h)), tb = kt(TD_DTYPE_BFLOAT16, 1, s12, dalloc(sizeof bf));
        struct td_kt ti = kt(TD_DTYPE_INT8, 1, s12, dalloc(sizeof i8));
        struct td_kt *c1[] = {&th, &tf}, *c2[] = {&tb, &tf}, *c3[] = {&ti, &tf};
        ck_assert_int_eq(run(TD_OP_COPY_, TD_DTYPE_FLOAT16, 2, c1, 0, NULL, NULL, 0, 0), TD_CODE_OK);
        ck_assert_int_eq(run(TD_OP_COPY_, TD_DTYPE_BFLOAT16, 2, c2, 0, NULL, NULL, 0, 0), TD_CODE_OK);
        ck_assert_int_eq(run(TD_OP_COPY_, TD_DTYPE_INT8, 2, c3, 0, NULL, NULL, 0, 0), TD_CODE_OK);
        down(h, th.data, sizeof h);
        down(bf, tb.data, sizeof bf);
        down(i8, ti.data, sizeof i8);
        for (int i = 0; i < 12; i++) {
            ck_assert_uint_eq(h[i], td_float_to_half(f[i]));
            ck_assert_uint_eq(bf[i], td_float_to_bf16(f[i]));
            char want;
            td_store_f64(TD_DTYPE_INT8, &want, f[i]); /* saturating store; the copy truncates instead */
            if (f[i] == f[i] && fabsf(f[i]) < 127)
                ck_assert_int_eq(i8[i], want);
        }
        double m[12], t[12];
        for (int i = 0; i < 12; i++)
            m[i] = urand(&seed);
        int64_t s34[] = {3, 4}, s43[] = {4, 3};
        struct td_kt src = kt(TD_DTYPE_FLOAT64, 2, s34, up(m, sizeof m)), dst = kt(TD_DTYPE_FLOAT64, 2, s43, dalloc(sizeof t));
        src.m.sizes[0] = 4, src.m.sizes[1] = 3, src.m.strides[0] = 1, src.m.strides[1] = 4; /* m^T */
        struct td_kt *c4[] = {&dst, &src};
        ck_assert_int_eq(run(TD_OP_COPY_, TD_DTYPE_FLOAT64, 2, c4, 0, NULL, NULL, 0, 0), TD_CODE_OK);
        down(t, dst.data, sizeof t);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++)
                ck_assert(t[i * 3 + j] == m[j * 4 + i]);
    }
    /* SUM over dim 1 of (5,7,3) float64; full SUM of 300001 float32 (one block
     * schedule); AMAX with a NaN; MEAN of int-valued floats */
    {
        double x[105], o[15];
        for (int i = 0; i < 105; i++)
            x[i] = urand(&seed);
        int64_t sx[] = {5, 7, 3}, so[] = {5, 3};
        struct td_kt tx = kt(TD_DTYPE_FLOAT64, 3, sx, up(x, sizeof x)), to = kt(TD_DTYPE_FLOAT64, 2, so, dalloc(sizeof o));
        struct td_kt *in[] = {&tx}, *out[] = {&to};
        int64_t attrs[] = {2, 0, -1, 0};
        ck_assert_int_eq(run(TD_OP_SUM, TD_DTYPE_FLOAT64, 1, in, 1, out, attrs, 4, 0), TD_CODE_OK);
        down(o, to.data, sizeof o);
        for (int i = 0; i < 5; i++)
            for (int k = 0; k < 3; k++) {
                double want = 0;
                for (int j = 0; j < 7; j++)
                    want += x[i * 21 + j * 3 + k];
                close_rel(o[i * 3 + k], want, 1e-12, "sum", i * 3 + k);
            }
        enum { N = 300001 };
        float *big = malloc(N * sizeof(float)), r;
        double want = 0;
        for (int i = 0; i < N; i++)
            big[i] = (float)urand(&seed), want += big[i];
        int64_t sn[] = {N};
        struct td_kt tb = kt(TD_DTYPE_FLOAT32, 1, sn, up(big, N * sizeof(float))), tr = kt(TD_DTYPE_FLOAT32, 0, sn, dalloc(4));
        struct td_kt *bin[] = {&tb}, *bout[] = {&tr};
        int64_t all[] = {1, 0, -1, 0};
        ck_assert_int_eq(run(TD_OP_SUM, TD_DTYPE_FLOAT32, 1, bin, 1, bout, all, 4, 0), TD_CODE_OK);
        down(&r, tr.data, 4);
        close_rel(r, want, 1e-5, "bigsum", 0);
        big[N / 2] = NAN;
        ck_assert_int_eq(B->memcpy_async(0, tb.data, big, N * sizeof(float), TD_COPY_H2D, S), 0);
        ck_assert_int_eq(run(TD_OP_AMAX, TD_DTYPE_FLOAT32, 1, bin, 1, bout, all, 4, 0), TD_CODE_OK);
        down(&r, tr.data, 4);
        ck_assert(r != r);
        free(big);
    }
    /* ARGMAX over dim 1 of (3,5) with ties (first wins) and a NaN (wins); MIN_DIM's
     * values and positions over dim 0 */
    {
        float x[15] = {1, 4, 4, 2, 0, NAN, 1, NAN, 9, 9, -1, -3, -3, -2, -1};
        int64_t idx[3], pos[5];
        float mins[5];
        int64_t s35[] = {3, 5}, s3[] = {3}, s5[] = {5};
        struct td_kt tx = kt(TD_DTYPE_FLOAT32, 2, s35, up(x, sizeof x)), ti = kt(TD_DTYPE_INT64, 1, s3, dalloc(sizeof idx));
        struct td_kt tv = kt(TD_DTYPE_FLOAT32, 1, s5, dalloc(sizeof mins)), tp = kt(TD_DTYPE_INT64, 1, s5, dalloc(sizeof pos));
        struct td_kt *in[] = {&tx}, *out[] = {&ti}, *out2[] = {&tv, &tp};
        int64_t d1[] = {2, 0, -1, 0}, d0[] = {1, 0, -1, 0};
        ck_assert_int_eq(run(TD_OP_ARGMAX, TD_DTYPE_FLOAT32, 1, in, 1, out, d1, 4, 0), TD_CODE_OK);
        down(idx, ti.data, sizeof idx);
        ck_assert_int_eq(idx[0], 1);
        ck_assert_int_eq(idx[1], 0);
        ck_assert_int_eq(idx[2], 0);
        ck_assert_int_eq(run(TD_OP_MIN_DIM, TD_DTYPE_FLOAT32, 1, in, 2, out2, d0, 4, 0), TD_CODE_OK);
        down(mins, tv.data, sizeof mins);
        down(pos, tp.data, sizeof pos);
        const int64_t want_pos[5] = {1, 2, 1, 2, 2};
        for (int j = 0; j < 5; j++) {
            ck_assert_int_eq(pos[j], want_pos[j]);
            float w = x[want_pos[j] * 5 + j];
            ck_assert(mins[j] == w || (mins[j] != mins[j] && w != w));
        }
    }
    /* MATMUL (2,33,17) @ (17,9) float32 and a 1-d right operand in float64 */
    {
        enum { M = 33, K = 17, P = 9 };
        float a[2 * M * K], b[K * P], c[2 * M * P];
        for (int i = 0; i < 2 * M * K; i++)
            a[i] = (float)urand(&seed);
        for (int i = 0; i < K * P; i++)
            b[i] = (float)urand(&seed);
        int64_t sa[] = {2, M, K}, sb[] = {K, P}, sc[] = {2, M, P};
        struct td_kt ta = kt(TD_DTYPE_FLOAT32, 3, sa, up(a, sizeof a)), tb = kt(TD_DTYPE_FLOAT32, 2, sb, up(b, sizeof b));
        struct td_kt tc = kt(TD_DTYPE_FLOAT32, 3, sc, dalloc(sizeof c));
        struct td_kt *in[] = {&ta, &tb}, *out[] = {&tc};
        ck_assert_int_eq(run(TD_OP_MATMUL, TD_DTYPE_FLOAT32, 2, in, 1, out, NULL, 0, 0), TD_CODE_OK);
        down(c, tc.data, sizeof c);
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < M; i++)
                for (int j = 0; j < P; j++) {
                    double want = 0;
                    for (int q = 0; q < K; q++)
                        want += (double)a[t * M * K + i * K + q] * b[q * P + j];
                    close_rel(c[t * M * P + i * P + j], want, 1e-5, "matmul", i * P + j);
                }
        /* batch dims that do not collapse (permuted) and a right operand with no unit
         * stride (every other column): both copied into contiguous batches first */
        {
            enum { M2 = 4, K2 = 3, P2 = 5 };
            float pa[6 * M2 * K2], pb[K2 * 2 * P2], pc[6 * M2 * P2];
            for (int i = 0; i < 6 * M2 * K2; i++)
                pa[i] = (float)urand(&seed);
            for (int i = 0; i < K2 * 2 * P2; i++)
                pb[i] = (float)urand(&seed);
            int64_t sa4[] = {2, 3, M2, K2}, sb2[] = {K2, P2}, sc4[] = {2, 3, M2, P2};
            struct td_kt tpa = kt(TD_DTYPE_FLOAT32, 4, sa4, up(pa, sizeof pa));
            struct td_kt tpb = kt(TD_DTYPE_FLOAT32, 2, sb2, up(pb, sizeof pb));
            struct td_kt tpc = kt(TD_DTYPE_FLOAT32, 4, sc4, dalloc(sizeof pc));
            tpa.m.strides[0] = M2 * K2, tpa.m.strides[1] = 2 * M2 * K2; /* stored as (3, 2, M, K) */
            tpb.m.strides[0] = 2 * P2, tpb.m.strides[1] = 2;            /* (K, 2P)[:, ::2] */
            struct td_kt *pin[] = {&tpa, &tpb}, *pout[] = {&tpc};
            ck_assert_int_eq(run(TD_OP_MATMUL, TD_DTYPE_FLOAT32, 2, pin, 1, pout, NULL, 0, 0), TD_CODE_OK);
            down(pc, tpc.data, sizeof pc);
            for (int b0 = 0; b0 < 2; b0++)
                for (int b1 = 0; b1 < 3; b1++)
                    for (int i = 0; i < M2; i++)
                        for (int j = 0; j < P2; j++) {
                            double want = 0;
                            for (int q = 0; q < K2; q++)
                                want += (double)pa[b0 * M2 * K2 + b1 * 2 * M2 * K2 + i * K2 + q] * pb[q * 2 * P2 + j * 2];
                            close_rel(pc[((b0 * 3 + b1) * M2 + i) * P2 + j], want, 1e-5, "matmul-copied", j);
                        }
        }
        double m2[6 * 5], v[5], y[6];
        for (int i = 0; i < 30; i++)
            m2[i] = urand(&seed);
        for (int i = 0; i < 5; i++)
            v[i] = urand(&seed);
        int64_t s65[] = {6, 5}, s5[] = {5}, s6[] = {6};
        struct td_kt tm = kt(TD_DTYPE_FLOAT64, 2, s65, up(m2, sizeof m2)), tv = kt(TD_DTYPE_FLOAT64, 1, s5, up(v, sizeof v));
        struct td_kt ty = kt(TD_DTYPE_FLOAT64, 1, s6, dalloc(sizeof y));
        struct td_kt *in2[] = {&tm, &tv}, *out2[] = {&ty};
        ck_assert_int_eq(run(TD_OP_MATMUL, TD_DTYPE_FLOAT64, 2, in2, 1, out2, NULL, 0, 0), TD_CODE_OK);
        down(y, ty.data, sizeof y);
        for (int i = 0; i < 6; i++) {
            double want = 0;
            for (int q = 0; q < 5; q++)
                want += m2[i * 5 + q] * v[q];
            close_rel(y[i], want, 1e-12, "mv", i);
        }
    }
    /* creation: FULL, ARANGE (int64, wrapping formula), EYE; CAT of two along dim 1 */
    {
        int64_t s23[] = {2, 3}, s5[] = {5}, s25[] = {2, 5};
        float full[6], ey[6], cat[10];
        int64_t ar[5];
        struct td_kt tf = kt(TD_DTYPE_FLOAT32, 2, s23, dalloc(sizeof full)), te = kt(TD_DTYPE_FLOAT32, 2, s23, dalloc(sizeof ey));
        struct td_kt ta = kt(TD_DTYPE_INT64, 1, s5, dalloc(sizeof ar)), tc = kt(TD_DTYPE_FLOAT32, 2, s25, dalloc(sizeof cat));
        struct td_kt *of[] = {&tf}, *oe[] = {&te}, *oa[] = {&ta}, *oc[] = {&tc};
        int64_t fa[] = {TD_DTYPE_FLOAT32, 2, 2, 3, TD_SCALAR_FLOAT, fbits(-1.25)};
        ck_assert_int_eq(run(TD_OP_FULL, TD_DTYPE_FLOAT32, 0, NULL, 1, of, fa, 6, 0), TD_CODE_OK);
        int64_t aa[] = {TD_DTYPE_INT64, 1, 5, TD_SCALAR_INT, -7, TD_SCALAR_INT, 3};
        ck_assert_int_eq(run(TD_OP_ARANGE, TD_DTYPE_INT64, 0, NULL, 1, oa, aa, 7, 0), TD_CODE_OK);
        int64_t ea[] = {TD_DTYPE_FLOAT32, 2, 2, 3};
        ck_assert_int_eq(run(TD_OP_EYE, TD_DTYPE_FLOAT32, 0, NULL, 1, oe, ea, 4, 0), TD_CODE_OK);
        struct td_kt *ci[] = {&tf, &te};
        int64_t dim1[] = {1};
        int64_t s22[] = {2, 2};
        struct td_kt te2 = kt(TD_DTYPE_FLOAT32, 2, s22, te.data); /* eye's first two columns */
        te2.m.strides[0] = 3;
        ci[1] = &te2;
        ck_assert_int_eq(run(TD_OP_CAT, TD_DTYPE_FLOAT32, 2, ci, 1, oc, dim1, 1, 0), TD_CODE_OK);
        down(full, tf.data, sizeof full);
        down(ar, ta.data, sizeof ar);
        down(ey, te.data, sizeof ey);
        down(cat, tc.data, sizeof cat);
        for (int i = 0; i < 6; i++) {
            ck_assert(full[i] == -1.25f);
            ck_assert(ey[i] == (i == 0 || i == 4 ? 1.0f : 0.0f));
        }
        for (int i = 0; i < 5; i++)
            ck_assert_int_eq(ar[i], -7 + 3 * i);
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 5; c++)
                ck_assert(cat[r * 5 + c] == (c < 3 ? -1.25f : (r == c - 3 ? 1.0f : 0.0f)));
    }
    /* FLIP over dims 0 and 2 of (2, 3, 4) int32; TRIL (diagonal -1) and TRIU (1) of a
     * transposed (4, 5) float32 view, TRIU in place */
    {
        int32_t f[24], g[24];
        for (int i = 0; i < 24; i++)
            f[i] = i * 7 - 30;
        int64_t s234[] = {2, 3, 4};
        struct td_kt tf = kt(TD_DTYPE_INT32, 3, s234, up(f, sizeof f)), tg = kt(TD_DTYPE_INT32, 3, s234, dalloc(sizeof g));
        struct td_kt *fi[] = {&tf}, *fo[] = {&tg};
        int64_t mask[] = {5};
        ck_assert_int_eq(run(TD_OP_FLIP, TD_DTYPE_INT32, 1, fi, 1, fo, mask, 1, 0), TD_CODE_OK);
        down(g, tg.data, sizeof g);
        for (int a0 = 0; a0 < 2; a0++)
            for (int a1 = 0; a1 < 3; a1++)
                for (int a2 = 0; a2 < 4; a2++)
                    ck_assert_int_eq(g[(a0 * 3 + a1) * 4 + a2], f[((1 - a0) * 3 + a1) * 4 + (3 - a2)]);
        float m[20], lo[20], hi[20];
        for (int i = 0; i < 20; i++)
            m[i] = (float)i + 0.5f;
        int64_t s54[] = {5, 4}, s45[] = {4, 5};
        struct td_kt tm = kt(TD_DTYPE_FLOAT32, 2, s54, up(m, sizeof m));
        struct td_kt tt = tm; /* its transpose: (4, 5) with strides (1, 4) */
        tt.m.sizes[0] = 4, tt.m.sizes[1] = 5, tt.m.strides[0] = 1, tt.m.strides[1] = 4;
        struct td_kt tl = kt(TD_DTYPE_FLOAT32, 2, s45, dalloc(sizeof lo));
        struct td_kt *ti[] = {&tt}, *tlo[] = {&tl}, *tin[] = {&tt};
        int64_t dm1[] = {-1}, d1[] = {1};
        ck_assert_int_eq(run(TD_OP_TRIL, TD_DTYPE_FLOAT32, 1, ti, 1, tlo, dm1, 1, 0), TD_CODE_OK);
        ck_assert_int_eq(run(TD_OP_TRIU, TD_DTYPE_FLOAT32, 1, ti, 1, tin, d1, 1, 0), TD_CODE_OK); /* in place */
        down(lo, tl.data, sizeof lo);
        down(hi, tm.data, sizeof hi);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 5; j++) {
                float v = m[j * 4 + i];
                ck_assert(lo[i * 5 + j] == (j - i <= -1 ? v : 0.0f));
                ck_assert(hi[j * 4 + i] == (j - i >= 1 ? v : 0.0f));
            }
    }
    /* SEARCHSORTED (right) of 5 values in a sorted row of 6; HISTC of 9 values in 4 bins */
    {
        float row[6] = {-1, 0, 0, 2, 5, NAN}, vals[5] = {0, -2, 2.5f, 7, NAN}, h[9] = {0, 0.5f, 1, 1.99f, 2, 3, 4, -1, NAN};
        int64_t pos[5];
        float bins[4];
        int64_t s6[] = {6}, s5[] = {5}, s9[] = {9}, s4[] = {4};
        struct td_kt tr = kt(TD_DTYPE_FLOAT32, 1, s6, up(row, sizeof row)), tv = kt(TD_DTYPE_FLOAT32, 1, s5, up(vals, sizeof vals));
        struct td_kt tp = kt(TD_DTYPE_INT64, 1, s5, dalloc(sizeof pos)), th = kt(TD_DTYPE_FLOAT32, 1, s9, up(h, sizeof h));
        struct td_kt tb = kt(TD_DTYPE_FLOAT32, 1, s4, dalloc(sizeof bins));
        struct td_kt *si[] = {&tr, &tv}, *so[] = {&tp}, *hi_[] = {&th}, *ho[] = {&tb};
        int64_t right[] = {1, 0}, hat[] = {4, fbits(0), fbits(4)};
        ck_assert_int_eq(run(TD_OP_SEARCHSORTED, TD_DTYPE_FLOAT32, 2, si, 1, so, right, 2, 0), TD_CODE_OK);
        ck_assert_int_eq(run(TD_OP_HISTC, TD_DTYPE_FLOAT32, 1, hi_, 1, ho, hat, 3, 0), TD_CODE_OK);
        down(pos, tp.data, sizeof pos);
        down(bins, tb.data, sizeof bins);
        const int64_t want_pos[5] = {3, 0, 4, 5, 6};
        const float want_bins[4] = {2, 2, 1, 2}; /* [0,1) [1,2) [2,3) [3,4]; -1 and NaN out */
        for (int i = 0; i < 5; i++)
            ck_assert_int_eq(pos[i], want_pos[i]);
        for (int i = 0; i < 4; i++)
            ck_assert(bins[i] == want_bins[i]);
    }
    /* NONZERO of a (3, 700) float32 with NaN and -0.0: the count, then the coordinates;
     * a wrong count writes nothing and reports at the sync */
    {
        enum { R = 3, C = 700 };
        static float x[R * C];
        static int64_t co[R * C * 2], cnt;
        int64_t want = 0;
        for (int i = 0; i < R * C; i++) {
            x[i] = i % 7 == 0 ? (float)(i % 3) - 1 : 0.0f;
            if (i == 5)
                x[i] = NAN;
            if (i == 6)
                x[i] = -0.0f;
            want += x[i] != 0;
        }
        int64_t sx[] = {R, C}, s0[1] = {0}, sw[] = {want, 2};
        struct td_kt tx = kt(TD_DTYPE_FLOAT32, 2, sx, up(x, sizeof x)), tc = kt(TD_DTYPE_INT64, 0, s0, dalloc(8));
        struct td_kt to = kt(TD_DTYPE_INT64, 2, sw, dalloc((size_t)want * 16));
        struct td_kt *in[] = {&tx}, *oc[] = {&tc}, *oo[] = {&to};
        int64_t count_only[] = {0, 1}, full[] = {want, 0};
        ck_assert_int_eq(run(TD_OP_NONZERO, TD_DTYPE_FLOAT32, 1, in, 1, oc, count_only, 2, 0), TD_CODE_OK);
        down(&cnt, tc.data, 8);
        ck_assert_int_eq(cnt, want);
        ck_assert_int_eq(run(TD_OP_NONZERO, TD_DTYPE_FLOAT32, 1, in, 1, oo, full, 2, 0), TD_CODE_OK);
        down(co, to.data, (size_t)want * 16);
        int64_t r = 0;
        for (int i = 0; i < R * C; i++)
            if (x[i] != 0) {
                ck_assert_int_eq(co[r * 2], i / C);
                ck_assert_int_eq(co[r * 2 + 1], i % C);
                r++;
            }
        int64_t wrong[] = {want - 1, 0};
        struct td_kt tw = kt(TD_DTYPE_INT64, 2, (int64_t[]){want - 1, 2}, dalloc((size_t)want * 16));
        struct td_kt *ow[] = {&tw};
        ck_assert_int_eq(run(TD_OP_NONZERO, TD_DTYPE_FLOAT32, 1, in, 1, ow, wrong, 2, 0), TD_CODE_OK);
        int e = B->stream_sync(0, S);
        ck_assert_int_ne(e, 0);
        ck_assert_str_eq(B->error_string(e), "nonzero: the input changed after its count was taken");
    }
    /* MEDIAN_DIM and MODE over dim 1 of a transposed (4, 6) int32 view; MEDIAN of all of a
     * float32 (2, 5) with a NaN row and ties */
    {
        int32_t a[24] = {5, 1, 4, 2, 2, 9, 7, 7, 3, 3, 8, 0, 1, 1, 1, 6, 6, 2, 9, 2, 2, 9, 9, 5}; /* (6, 4) */
        int32_t med[4], mode[4];
        int64_t mi[4], mo[4];
        int64_t s64[] = {6, 4}, s4[] = {4};
        struct td_kt ta = kt(TD_DTYPE_INT32, 2, s64, up(a, sizeof a)), tt = ta;
        tt.m.sizes[0] = 4, tt.m.sizes[1] = 6, tt.m.strides[0] = 1, tt.m.strides[1] = 4; /* a.t(): (4, 6) */
        struct td_kt t1 = kt(TD_DTYPE_INT32, 1, s4, dalloc(sizeof med)), t2 = kt(TD_DTYPE_INT64, 1, s4, dalloc(sizeof mi));
        struct td_kt t3 = kt(TD_DTYPE_INT32, 1, s4, dalloc(sizeof mode)), t4 = kt(TD_DTYPE_INT64, 1, s4, dalloc(sizeof mo));
        struct td_kt *in[] = {&tt}, *om[] = {&t1, &t2}, *oo[] = {&t3, &t4};
        int64_t d1[] = {2, 0, -1, 0};
        ck_assert_int_eq(run(TD_OP_MEDIAN_DIM, TD_DTYPE_INT32, 1, in, 2, om, d1, 4, 0), TD_CODE_OK);
        ck_assert_int_eq(run(TD_OP_MODE, TD_DTYPE_INT32, 1, in, 2, oo, d1, 4, 0), TD_CODE_OK);
        down(med, t1.data, sizeof med), down(mi, t2.data, sizeof mi), down(mode, t3.data, sizeof mode), down(mo, t4.data, sizeof mo);
        for (int r = 0; r < 4; r++) {
            int32_t row[6];
            for (int j = 0; j < 6; j++)
                row[j] = a[j * 4 + r];
            int32_t sorted[6];
            memcpy(sorted, row, sizeof row);
            for (int i = 1; i < 6; i++) /* insertion sort */
                for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
                    int32_t t = sorted[j];
                    sorted[j] = sorted[j - 1], sorted[j - 1] = t;
                }
            ck_assert_int_eq(med[r], sorted[2]);
            ck_assert_int_eq(row[mi[r]], med[r]);
            int best = 0, bv = 0;
            for (int i = 0; i < 6; i++) {
                int cnt = 0;
                for (int j = 0; j < 6; j++)
                    cnt += sorted[j] == sorted[i];
                if (cnt > best)
                    best = cnt, bv = sorted[i];
            }
            int64_t last = -1;
            for (int j = 0; j < 6; j++)
                if (row[j] == bv)
                    last = j;
            ck_assert_int_eq(mode[r], bv);
            ck_assert_int_eq(mo[r], last);
        }
        float f[10] = {3, 1, 2, 2, 5, NAN, 0, -1, 4, 4}, m0, m1;
        int64_t s25[] = {2, 5}, s0[1] = {0};
        struct td_kt tf = kt(TD_DTYPE_FLOAT32, 2, s25, up(f, sizeof f)), tm = kt(TD_DTYPE_FLOAT32, 0, s0, dalloc(4));
        struct td_kt tf0 = tf;
        tf0.m.ndim = 1, tf0.m.sizes[0] = 5, tf0.m.strides[0] = 1; /* the first row */
        struct td_kt *fin[] = {&tf}, *fin0[] = {&tf0}, *fo[] = {&tm};
        int64_t all[] = {3, 0, -1, 0}, all0[] = {1, 0, -1, 0};
        ck_assert_int_eq(run(TD_OP_MEDIAN, TD_DTYPE_FLOAT32, 1, fin, 1, fo, all, 4, 0), TD_CODE_OK);
        down(&m0, tm.data, 4);
        ck_assert(isnan(m0)); /* a NaN in the tensor: NaN */
        ck_assert_int_eq(run(TD_OP_MEDIAN, TD_DTYPE_FLOAT32, 1, fin0, 1, fo, all0, 4, 0), TD_CODE_OK);
        down(&m1, tm.data, 4);
        ck_assert(m1 == 2.0f); /* 1 2 2 3 5: the lower median */
    }
    /* STAT rows over dim 1 of (3, 1000) float64 (row 2 holds a NaN): VAR_MEAN (correction
     * 1), LOGSUMEXP, NORM p = 3, inf; AMINMAX */
    {
        enum { R = 3, C = 1000 };
        static double x[R * C], v[R], mu[R], l[R], n3[R], ni[R], lo[R], hi[R];
        for (int i = 0; i < R * C; i++)
            x[i] = urand(&seed) * 3 + 0.5;
        x[2 * C + 17] = NAN;
        int64_t sx[] = {R, C}, sr[] = {R};
        struct td_kt tx = kt(TD_DTYPE_FLOAT64, 2, sx, up(x, sizeof x));
        struct td_kt to[6];
        for (int i = 0; i < 6; i++)
            to[i] = kt(TD_DTYPE_FLOAT64, 1, sr, dalloc(sizeof v));
        struct td_kt *in[] = {&tx}, *vm[] = {&to[0], &to[1]}, *ol[] = {&to[2]}, *on3[] = {&to[3]}, *oni[] = {&to[4]};
        struct td_kt *mm[] = {&to[5], &to[0]};
        int64_t var_a[] = {2, 0, -1, 1}, lse_a[] = {2, 0, -1, 0}, n3_a[] = {2, 0, -1, fbits(3)}, ni_a[] = {2, 0, -1, fbits(INFINITY)};
        ck_assert_int_eq(run(TD_OP_VAR_MEAN, TD_DTYPE_FLOAT64, 1, in, 2, vm, var_a, 4, 0), TD_CODE_OK);
        down(v, to[0].data, sizeof v);
        down(mu, to[1].data, sizeof mu);
        ck_assert_int_eq(run(TD_OP_LOGSUMEXP, TD_DTYPE_FLOAT64, 1, in, 1, ol, lse_a, 4, 0), TD_CODE_OK);
        ck_assert_int_eq(run(TD_OP_NORM, TD_DTYPE_FLOAT64, 1, in, 1, on3, n3_a, 4, 0), TD_CODE_OK);
        ck_assert_int_eq(run(TD_OP_NORM, TD_DTYPE_FLOAT64, 1, in, 1, oni, ni_a, 4, 0), TD_CODE_OK);
        down(l, to[2].data, sizeof l);
        down(n3, to[3].data, sizeof n3);
        down(ni, to[4].data, sizeof ni);
        ck_assert_int_eq(run(TD_OP_AMINMAX, TD_DTYPE_FLOAT64, 1, in, 2, mm, lse_a, 4, 0), TD_CODE_OK);
        down(lo, to[5].data, sizeof lo);
        down(hi, to[0].data, sizeof hi);
        for (int r = 0; r < 2; r++) {
            double s = 0, m2 = 0, mx = -INFINITY, se = 0, s3 = 0, amax = 0, mn = INFINITY, mxx = -INFINITY;
            for (int c = 0; c < C; c++)
                s += x[r * C + c], mx = fmax(mx, x[r * C + c]), amax = fmax(amax, fabs(x[r * C + c])),
                s3 += pow(fabs(x[r * C + c]), 3), mn = fmin(mn, x[r * C + c]), mxx = fmax(mxx, x[r * C + c]);
            for (int c = 0; c < C; c++)
                m2 += (x[r * C + c] - s / C) * (x[r * C + c] - s / C), se += exp(x[r * C + c] - mx);
            close_rel(mu[r], s / C, 1e-12, "mean", r);
            close_rel(v[r], m2 / (C - 1), 1e-12, "var", r);
            close_rel(l[r], log(se) + mx, 1e-12, "logsumexp", r);
            close_rel(n3[r], pow(s3, 1.0 / 3), 1e-12, "norm 3", r);
            ck_assert(ni[r] == amax && lo[r] == mn && hi[r] == mxx);
        }
        ck_assert(isnan(v[2]) && isnan(mu[2]) && isnan(l[2]) && isnan(n3[2]) && isnan(ni[2]) && isnan(lo[2]) && isnan(hi[2]));
    }
    /* math_elem.cu: ATAN2 with a scalar left operand, LERP with a weight tensor, ISINF */
    {
        enum { E = 300 };
        float x[E], y[E], w[E], o[E];
        uint8_t bo[E];
        for (int i = 0; i < E; i++)
            x[i] = (float)(urand(&seed) * 4), y[i] = (float)(urand(&seed) * 4), w[i] = (float)urand(&seed);
        x[7] = INFINITY, x[8] = -INFINITY, x[9] = NAN;
        int64_t se[] = {E};
        struct td_kt tx = kt(TD_DTYPE_FLOAT32, 1, se, up(x, sizeof x)), ty = kt(TD_DTYPE_FLOAT32, 1, se, up(y, sizeof y));
        struct td_kt tw = kt(TD_DTYPE_FLOAT32, 1, se, up(w, sizeof w)), to = kt(TD_DTYPE_FLOAT32, 1, se, dalloc(sizeof o));
        struct td_kt tb = kt(TD_DTYPE_BOOL, 1, se, dalloc(sizeof bo));
        struct td_kt *in1[] = {&ty}, *in3[] = {&tx, &ty, &tw}, *inx[] = {&tx}, *out[] = {&to}, *outb[] = {&tb};
        int64_t sc[] = {TD_SCALAR_FLOAT, fbits(1.5)};
        ck_assert_int_eq(run(TD_OP_ATAN2, TD_DTYPE_FLOAT32, 1, in1, 1, out, sc, 2, TD_RF_SCALAR_LHS), TD_CODE_OK);
        down(o, to.data, sizeof o);
        for (int i = 0; i < E; i++)
            close_rel(o[i], atan2(1.5, (double)y[i]), 1e-6, "atan2", i);
        ck_assert_int_eq(run(TD_OP_LERP, TD_DTYPE_FLOAT32, 3, in3, 1, out, NULL, 0, 0), TD_CODE_OK);
        down(o, to.data, sizeof o);
        for (int i = 10; i < E; i++) /* exact: products rounded on their own */
            ck_assert_msg(o[i] == (fabsf(w[i]) < 0.5f ? x[i] + w[i] * (y[i] - x[i]) : y[i] - (y[i] - x[i]) * (1 - w[i])),
                          "lerp[%d]", i);
        ck_assert_int_eq(run(TD_OP_ISINF, TD_DTYPE_FLOAT32, 1, inx, 1, outb, NULL, 0, 0), TD_CODE_OK);
        down(bo, tb.data, sizeof bo);
        for (int i = 0; i < E; i++)
            ck_assert_int_eq(bo[i], isinf(x[i]) ? 1 : 0);
    }
    /* SOFTMAX and LOG_SOFTMAX over the last dim of (6,10) float32; EXP; WHERE */
    {
        float x[60], o[60], l[60];
        for (int i = 0; i < 60; i++)
            x[i] = (float)(urand(&seed) * 5);
        int64_t s[] = {6, 10};
        struct td_kt tx = kt(TD_DTYPE_FLOAT32, 2, s, up(x, sizeof x)), to = kt(TD_DTYPE_FLOAT32, 2, s, dalloc(sizeof o));
        struct td_kt tl = kt(TD_DTYPE_FLOAT32, 2, s, dalloc(sizeof l));
        struct td_kt *in[] = {&tx}, *out[] = {&to}, *outl[] = {&tl};
        int64_t attrs[] = {-1, -1};
        ck_assert_int_eq(run(TD_OP_SOFTMAX, TD_DTYPE_FLOAT32, 1, in, 1, out, attrs, 2, 0), TD_CODE_OK);
        ck_assert_int_eq(run(TD_OP_LOG_SOFTMAX, TD_DTYPE_FLOAT32, 1, in, 1, outl, attrs, 2, 0), TD_CODE_OK);
        down(o, to.data, sizeof o);
        down(l, tl.data, sizeof l);
        for (int r = 0; r < 6; r++) {
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j < 10; j++)
                mx = fmax(mx, x[r * 10 + j]);
            for (int j = 0; j < 10; j++)
                sum += exp(x[r * 10 + j] - mx);
            for (int j = 0; j < 10; j++) {
                close_rel(o[r * 10 + j], exp(x[r * 10 + j] - mx) / sum, 1e-6, "softmax", r * 10 + j);
                close_rel(l[r * 10 + j], x[r * 10 + j] - mx - log(sum), 1e-6, "log_softmax", r * 10 + j);
            }
        }
        ck_assert_int_eq(run(TD_OP_EXP, TD_DTYPE_FLOAT32, 1, in, 1, out, NULL, 0, 0), TD_CODE_OK);
        down(o, to.data, sizeof o);
        for (int i = 0; i < 60; i++)
            close_rel(o[i], exp(x[i]), 2e-6, "exp", i);
        uint8_t cond[10];
        for (int j = 0; j < 10; j++)
            cond[j] = j % 3 == 0;
        int64_t s10[] = {10};
        struct td_kt tcond = kt(TD_DTYPE_BOOL, 1, s10, up(cond, sizeof cond));
        struct td_kt *win[] = {&tcond, &tx, &tl};
        ck_assert_int_eq(run(TD_OP_WHERE, TD_DTYPE_FLOAT32, 3, win, 1, out, NULL, 0, 0), TD_CODE_OK);
        down(o, to.data, sizeof o);
        for (int i = 0; i < 60; i++)
            ck_assert(o[i] == (cond[i % 10] ? x[i] : l[i]));
    }
    ck_assert_int_eq(B->stream_sync(0, S), 0);
    ck_assert_int_eq(B->stream_free(0, S), 0);
    S = NULL;
    printf("check_cuda_plugin: gpu kernels match the host references\n");
    fflush(stdout);
}
END_TEST


/* ---- float16/bfloat16 kernels (half_kernel): operands and results in the 16-bit dtype,
 * computed in float32; against host references from the same rounded inputs */

static uint16_t to_half(enum td_dtype dt, float f) { return dt == TD_DTYPE_FLOAT16 ? td_float_to_half(f) : td_float_to_bf16(f); }
static float from_half(enum td_dtype dt, uint16_t h) { return dt == TD_DTYPE_FLOAT16 ? td_half_to_float(h) : td_bf16_to_float(h); }

static enum td_code run_half(unsigned op, enum td_dtype dt, int n_in, struct td_kt **in, struct td_kt **out,
                             const int64_t *attrs, uint32_t n_attr)
{
    return run_fn(B->half_kernel(op, dt), op, dt, n_in, in, 1, out, attrs, n_attr, 0);
}

START_TEST(test_gpu_half)
{
    char why[256] = "";
    if (B->init(why, sizeof why) == 0) {
        printf("check_cuda_plugin: gpu half case skipped: %s\n", why);
        fflush(stdout);
        return;
    }
    enum td_dtype dt = _i ? TD_DTYPE_BFLOAT16 : TD_DTYPE_FLOAT16;
    double tol = dt == TD_DTYPE_FLOAT16 ? 2e-3 : 1.6e-2; /* one rounding of the result, plus the sums */
    unsigned seed = 11;
    ck_assert_int_eq(B->stream_new(0, &S), 0);
    enum { M = 37, K = 64, P = 24 };
    static uint16_t a[M * K], b[K * P], c[M * P], o[M * K];
    static float fa[M * K], fb[K * P];
    for (int i = 0; i < M * K; i++)
        fa[i] = from_half(dt, a[i] = to_half(dt, (float)urand(&seed)));
    for (int i = 0; i < K * P; i++)
        fb[i] = from_half(dt, b[i] = to_half(dt, (float)urand(&seed)));
    int64_t sa[] = {M, K}, sb[] = {K, P}, sc[] = {M, P}, sr[] = {M};
    struct td_kt ta = kt(dt, 2, sa, up(a, sizeof a)), tb = kt(dt, 2, sb, up(b, sizeof b));
    struct td_kt tc = kt(dt, 2, sc, dalloc(sizeof c)), to = kt(dt, 2, sa, dalloc(sizeof o));
    struct td_kt tr = kt(dt, 1, sr, dalloc(M * 2));
    /* matmul on the tensor cores, float32 accumulation */
    struct td_kt *in[] = {&ta, &tb}, *out[] = {&tc};
    ck_assert_int_eq(run_half(TD_OP_MATMUL, dt, 2, in, out, NULL, 0), TD_CODE_OK);
    down(c, tc.data, sizeof c);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < P; j++) {
            double want = 0;
            for (int q = 0; q < K; q++)
                want += (double)fa[i * K + q] * fb[q * P + j];
            close_rel(from_half(dt, c[i * P + j]), want, tol, "half matmul", i * P + j);
        }
    /* a * 2.5: one rounding of the float32 product, bit for bit; exp(a) */
    int64_t sc25[] = {TD_SCALAR_FLOAT, fbits(2.5)};
    struct td_kt *ina[] = {&ta}, *outo[] = {&to};
    ck_assert_int_eq(run_half(TD_OP_MUL, dt, 1, ina, outo, sc25, 2), TD_CODE_OK);
    down(o, to.data, sizeof o);
    for (int i = 0; i < M * K; i++)
        ck_assert_msg(o[i] == to_half(dt, fa[i] * 2.5f), "half mul[%d]", i);
    ck_assert_int_eq(run_half(TD_OP_EXP, dt, 1, ina, outo, NULL, 0), TD_CODE_OK);
    down(o, to.data, sizeof o);
    for (int i = 0; i < M * K; i++)
        close_rel(from_half(dt, o[i]), exp(fa[i]), tol, "half exp", i);
    /* row sums and softmax rows */
    int64_t red[] = {2, 0, -1, 0}, sm[] = {1, -1};
    struct td_kt *outr[] = {&tr};
    ck_assert_int_eq(run_half(TD_OP_SUM, dt, 1, ina, outr, red, 4), TD_CODE_OK);
    uint16_t rs[M];
    down(rs, tr.data, sizeof rs);
    for (int i = 0; i < M; i++) {
        double want = 0;
        for (int q = 0; q < K; q++)
            want += fa[i * K + q];
        close_rel(from_half(dt, rs[i]), want, tol, "half sum", i);
    }
    ck_assert_int_eq(run_half(TD_OP_SOFTMAX, dt, 1, ina, outo, sm, 2), TD_CODE_OK);
    down(o, to.data, sizeof o);
    for (int i = 0; i < M; i++) {
        double mx = -INFINITY, sum = 0;
        for (int q = 0; q < K; q++)
            mx = fmax(mx, fa[i * K + q]);
        for (int q = 0; q < K; q++)
            sum += exp(fa[i * K + q] - mx);
        for (int q = 0; q < K; q++)
            close_rel(from_half(dt, o[i * K + q]), exp(fa[i * K + q] - mx) / sum, tol, "half softmax", i * K + q);
    }
    ck_assert_int_eq(B->stream_sync(0, S), 0);
    ck_assert_int_eq(B->stream_free(0, S), 0);
    S = NULL;
    printf("check_cuda_plugin: gpu %s kernels match the host references\n", dt == TD_DTYPE_FLOAT16 ? "float16" : "bfloat16");
    fflush(stdout);
}
END_TEST


/* ---- indexing and optimizer steps on a real GPU */

static struct td_kt ktv(enum td_dtype dt, int nd, const int64_t *sizes, const void *h)
{
    int64_t n = 1;
    for (int d = 0; d < nd; d++)
        n *= sizes[d];
    size_t bytes = (size_t)(n ? n : 1) * td_dtype_size(dt);
    return kt(dt, nd, sizes, h ? up(h, bytes) : dalloc(bytes));
}

START_TEST(test_gpu_index_optim)
{
    char why[256] = "";
    if (B->init(why, sizeof why) == 0) {
        printf("check_cuda_plugin: gpu index/optim case skipped: %s\n", why);
        fflush(stdout);
        return;
    }
    unsigned seed = 11;
    ck_assert_int_eq(B->stream_new(0, &S), 0);

    /* GATHER along dim 1 of a (4, 5) float32, index (4, 3) */
    float x[20], g[12];
    int64_t gi[12];
    for (int i = 0; i < 20; i++)
        x[i] = (float)urand(&seed);
    for (int i = 0; i < 12; i++)
        gi[i] = rand_r(&seed) % 5;
    int64_t s45[] = {4, 5}, s43[] = {4, 3};
    struct td_kt tx = ktv(TD_DTYPE_FLOAT32, 2, s45, x), tgi = ktv(TD_DTYPE_INT64, 2, s43, gi);
    struct td_kt tg = ktv(TD_DTYPE_FLOAT32, 2, s43, NULL);
    {
        struct td_kt *in[] = {&tx, &tgi}, *out[] = {&tg};
        int64_t a[] = {1};
        ck_assert_int_eq(run(TD_OP_GATHER, TD_DTYPE_FLOAT32, 2, in, 1, out, a, 1, 0), TD_CODE_OK);
        down(g, tg.data, sizeof g);
        for (int i = 0; i < 12; i++)
            ck_assert(g[i] == x[i / 3 * 5 + gi[i]]);
    }
    /* SCATTER add with many duplicates: int32 / int16 / uint8 / bool (sub-word CAS) exact,
     * float64 within rounding; multiply on int64 (wrapping) exact */
    {
        enum { M = 4096, L = 7 };
        static int64_t si[M];
        static int32_t v32[M];
        static double v64[M];
        for (int i = 0; i < M; i++)
            si[i] = rand_r(&seed) % L, v32[i] = rand_r(&seed) % 2001 - 1000, v64[i] = urand(&seed);
        int64_t sm[] = {M}, sl[] = {L};
        struct td_kt ti = ktv(TD_DTYPE_INT64, 1, sm, si);
        const enum td_dtype dts[] = {TD_DTYPE_INT32, TD_DTYPE_INT16, TD_DTYPE_UINT8, TD_DTYPE_BOOL, TD_DTYPE_INT64,
                                     TD_DTYPE_FLOAT64};
        for (int c = 0; c < 6; c++) {
            enum td_dtype dt = dts[c];
            int reduce = dt == TD_DTYPE_INT64 ? 2 : 1;
            size_t es = td_dtype_size(dt);
            static char src[M * 8], self[L * 8], got[L * 8];
            double want[L];
            for (int j = 0; j < L; j++) {
                want[j] = reduce == 2 ? 3 : j; /* self's values */
                if (dt == TD_DTYPE_FLOAT64)
                    ((double *)self)[j] = want[j];
                else
                    td_store_i64(dt, self + j * es, (int64_t)want[j]);
            }
            uint64_t prod[L];
            for (int j = 0; j < L; j++)
                prod[j] = 3;
            for (int i = 0; i < M; i++) {
                if (dt == TD_DTYPE_FLOAT64)
                    ((double *)src)[i] = v64[i], want[si[i]] += v64[i];
                else if (reduce == 2)
                    td_store_i64(dt, src + i * es, v32[i] % 5), prod[si[i]] *= (uint64_t)(int64_t)(v32[i] % 5);
                else
                    td_store_i64(dt, src + i * es, v32[i]), want[si[i]] += dt == TD_DTYPE_BOOL ? (v32[i] != 0) : v32[i];
            }
            struct td_kt tself = ktv(dt, 1, sl, self), tsrc = ktv(dt, 1, sm, src), to = ktv(dt, 1, sl, NULL);
            struct td_kt *in[] = {&tself, &ti, &tsrc}, *out[] = {&to};
            int64_t a[] = {0, reduce};
            ck_assert_int_eq(run(TD_OP_SCATTER, dt, 3, in, 1, out, a, 2, 0), TD_CODE_OK);
            down(got, to.data, L * es);
            for (int j = 0; j < L; j++) {
                if (dt == TD_DTYPE_FLOAT64)
                    close_rel(((double *)got)[j], want[j], 1e-12, "scatter add f64", j);
                else if (reduce == 2)
                    ck_assert_int_eq(td_load_i64(dt, got + j * es), (int64_t)prod[j]);
                else if (dt == TD_DTYPE_BOOL)
                    ck_assert_int_eq(td_load_i64(dt, got + j * es), want[j] != 0);
                else { /* wraps in the element type */
                    char w[8];
                    td_store_i64(dt, w, (int64_t)(uint64_t)(int64_t)want[j]);
                    ck_assert_msg(!memcmp(w, got + j * es, es), "scatter add dtype %d [%d]: got %lld want %lld", dt, j,
                                  (long long)td_load_i64(dt, got + j * es), (long long)td_load_i64(dt, w));
                }
            }
        }
    }
    /* INDEX, advanced, two index tensors with negative values: x[i0, i1] over (4, 5) */
    {
        int64_t i0[6] = {0, -1, 3, 2, -4, 1}, i1[6] = {4, -5, 0, 2, 3, -1}, s6[] = {6};
        float o[6];
        struct td_kt t0 = ktv(TD_DTYPE_INT64, 1, s6, i0), t1 = ktv(TD_DTYPE_INT64, 1, s6, i1), to = ktv(TD_DTYPE_FLOAT32, 1, s6, NULL);
        struct td_kt *in[] = {&tx, &t0, &t1}, *out[] = {&to};
        int64_t a[] = {0, 0};
        ck_assert_int_eq(run(TD_OP_INDEX, TD_DTYPE_FLOAT32, 3, in, 1, out, a, 2, 0), TD_CODE_OK);
        down(o, to.data, sizeof o);
        for (int i = 0; i < 6; i++)
            ck_assert(o[i] == x[(i0[i] + 4) % 4 * 5 + (i1[i] + 5) % 5]);
        /* INDEX_PUT accumulate, float32 with duplicates, into x (out of place) */
        float v[6] = {1, 2, 3, 4, 5, 6}, r[20], want[20];
        int64_t d0[6] = {1, 1, 1, 0, 3, 1}, d1[6] = {2, 2, 2, 0, 4, 2};
        struct td_kt tv = ktv(TD_DTYPE_FLOAT32, 1, s6, v), u0 = ktv(TD_DTYPE_INT64, 1, s6, d0), u1 = ktv(TD_DTYPE_INT64, 1, s6, d1);
        struct td_kt tr = ktv(TD_DTYPE_FLOAT32, 2, s45, NULL);
        struct td_kt *pin[] = {&tx, &tv, &u0, &u1}, *pout[] = {&tr};
        int64_t pa[] = {0, 0, 1};
        ck_assert_int_eq(run(TD_OP_INDEX_PUT, TD_DTYPE_FLOAT32, 4, pin, 1, pout, pa, 3, 0), TD_CODE_OK);
        down(r, tr.data, sizeof r);
        memcpy(want, x, sizeof want);
        for (int i = 0; i < 6; i++)
            want[d0[i] * 5 + d1[i]] += v[i];
        for (int i = 0; i < 20; i++)
            close_rel(r[i], want[i], 1e-6, "index_put accumulate", i);
    }
    /* INDEX mask mode over several chunks: x[mask] of 5000 float32 */
    {
        enum { M = 5000 };
        static float mx[M], mo[M];
        static uint8_t mk[M];
        int64_t cnt = 0, sm[] = {M};
        for (int i = 0; i < M; i++)
            mx[i] = (float)i, mk[i] = rand_r(&seed) % 3 == 0, cnt += mk[i];
        int64_t sc[] = {cnt};
        struct td_kt tmx = ktv(TD_DTYPE_FLOAT32, 1, sm, mx), tmk = ktv(TD_DTYPE_BOOL, 1, sm, mk), to = ktv(TD_DTYPE_FLOAT32, 1, sc, NULL);
        struct td_kt *in[] = {&tmx, &tmk}, *out[] = {&to};
        int64_t a[] = {0, 5, cnt};
        ck_assert_int_eq(run(TD_OP_INDEX, TD_DTYPE_FLOAT32, 2, in, 1, out, a, 3, 0), TD_CODE_OK);
        down(mo, to.data, sizeof(float) * (size_t)cnt);
        for (int i = 0, r = 0; i < M; i++)
            if (mk[i])
                ck_assert_msg(mo[r++] == (float)i, "mask row %d", r - 1);
        /* a count that does not match: reported at the next sync, nothing written */
        int64_t bad[] = {0, 5, cnt - 1}, sc1[] = {cnt - 1};
        struct td_kt to1 = ktv(TD_DTYPE_FLOAT32, 1, sc1, NULL);
        struct td_kt *out1[] = {&to1};
        ck_assert_int_eq(run(TD_OP_INDEX, TD_DTYPE_FLOAT32, 2, in, 1, out1, bad, 3, 0), TD_CODE_OK);
        int e = B->stream_sync(0, S);
        ck_assert_int_eq(e, TD_CU_ERR_INDEX);
        ck_assert_str_eq(B->error_string(e), "index: the input changed after its count was taken");
    }
    /* a bad index: the kernel is queued, the next sync names it with the CPU's message,
     * the device goes on */
    {
        int64_t bi[12];
        memcpy(bi, gi, sizeof bi);
        bi[7] = 9;
        struct td_kt tb = ktv(TD_DTYPE_INT64, 2, s43, bi);
        struct td_kt *in[] = {&tx, &tb}, *out[] = {&tg};
        int64_t a[] = {1};
        ck_assert_int_eq(run(TD_OP_GATHER, TD_DTYPE_FLOAT32, 2, in, 1, out, a, 1, 0), TD_CODE_OK);
        int e = B->stream_sync(0, S);
        ck_assert_int_eq(e, TD_CU_ERR_INDEX);
        ck_assert_int_eq(B->is_fatal(e), 0);
        ck_assert_str_eq(B->error_string(e), "index 9 is out of bounds for dimension 1 with size 5");
        ck_assert_int_eq(B->stream_sync(0, S), 0);
        int64_t m1[] = {-7}, s1[] = {1};
        struct td_kt tm1 = ktv(TD_DTYPE_INT64, 1, s1, m1), to = ktv(TD_DTYPE_FLOAT32, 2, (int64_t[]){1, 5}, NULL);
        struct td_kt *iin[] = {&tx, &tm1}, *iout[] = {&to};
        int64_t ia[] = {0, 1}; /* index_select: "index out of range in self" */
        ck_assert_int_eq(run(TD_OP_INDEX, TD_DTYPE_FLOAT32, 2, iin, 1, iout, ia, 2, 0), TD_CODE_OK);
        e = B->stream_sync(0, S);
        ck_assert_int_eq(e, TD_CU_ERR_INDEX);
        ck_assert_str_eq(B->error_string(e), "index out of range in self");
        /* and kernels still run */
        struct td_kt *gin[] = {&tx, &tgi}, *gout[] = {&tg};
        ck_assert_int_eq(run(TD_OP_GATHER, TD_DTYPE_FLOAT32, 2, gin, 1, gout, a, 1, 0), TD_CODE_OK);
        down(g, tg.data, sizeof g);
        for (int i = 0; i < 12; i++)
            ck_assert(g[i] == x[i / 3 * 5 + gi[i]]);
    }
    /* SGD (momentum, nesterov, weight decay) over 40 parameters (two launches) and
     * AdamW with amsgrad over 3, float32, bit for bit against optim.c's arithmetic
     * (this file is built without FMA contraction, as the CPU kernels are) */
    {
        enum { NP = 40 };
        static float hp[NP][300], hg[NP][300], hb[NP][300], rp[NP][300], rb[NP][300];
        struct td_kt tp[NP], tgr[NP], tbuf[NP], *in[3 * NP];
        for (int j = 0; j < NP; j++) {
            int64_t n[] = {1 + j * 7};
            for (int i = 0; i < n[0]; i++)
                hp[j][i] = (float)urand(&seed), hg[j][i] = (float)urand(&seed), hb[j][i] = (float)urand(&seed);
            tp[j] = ktv(TD_DTYPE_FLOAT32, 1, n, hp[j]), tgr[j] = ktv(TD_DTYPE_FLOAT32, 1, n, hg[j]);
            tbuf[j] = ktv(TD_DTYPE_FLOAT32, 1, n, hb[j]);
            in[3 * j] = &tp[j], in[3 * j + 1] = &tgr[j], in[3 * j + 2] = &tbuf[j];
        }
        double lr = 0.05, mom = 0.9, damp = 0, wd = 1e-4;
        int64_t a[] = {fbits(lr), fbits(mom), fbits(damp), fbits(wd), 1, 0, 0};
        ck_assert_int_eq(run(TD_OP_SGD_STEP, TD_DTYPE_FLOAT32, 3 * NP, in, 0, NULL, a, 7, 0), TD_CODE_OK);
        for (int j = 0; j < NP; j++) {
            int n = 1 + j * 7;
            down(rp[j], tp[j].data, sizeof(float) * n);
            down(rb[j], tbuf[j].data, sizeof(float) * n);
            for (int i = 0; i < n; i++) {
                float d = hg[j][i];
                d = d + (float)wd * hp[j][i];
                float b = hb[j][i] * (float)mom + d * (float)(1 - damp);
                d = d + (float)mom * b;
                float p = hp[j][i] + d * (float)(-lr);
                ck_assert_msg(rb[j][i] == b && rp[j][i] == p, "sgd param %d [%d]: %.9g %.9g want %.9g %.9g", j, i,
                              rp[j][i], rb[j][i], p, b);
            }
        }
        enum { NA = 3, L = 1000 };
        static float ap[NA][L], ag[NA][L], am[NA][L], av[NA][L], ax[NA][L], got[5][L];
        struct td_kt at[NA][5], *ain[5 * NA];
        int64_t sl[] = {L};
        for (int j = 0; j < NA; j++) {
            for (int i = 0; i < L; i++)
                ap[j][i] = (float)urand(&seed), ag[j][i] = (float)urand(&seed), am[j][i] = (float)urand(&seed) * 0.1f,
                av[j][i] = (float)fabs(urand(&seed)) * 0.01f, ax[j][i] = (float)fabs(urand(&seed)) * 0.01f;
            float *h[5] = {ap[j], ag[j], am[j], av[j], ax[j]};
            for (int t = 0; t < 5; t++)
                at[j][t] = ktv(TD_DTYPE_FLOAT32, 1, sl, h[t]), ain[5 * j + t] = &at[j][t];
        }
        double b1 = 0.9, b2 = 0.999, eps = 1e-8, awd = 0.01, alr = 1e-3;
        int64_t step = 7;
        int64_t aa[] = {fbits(alr), fbits(b1), fbits(b2), fbits(eps), fbits(awd), step, 1, 0, 1};
        ck_assert_int_eq(run(TD_OP_ADAM_STEP, TD_DTYPE_FLOAT32, 5 * NA, ain, 0, NULL, aa, 9, 0), TD_CODE_OK);
        double step_size = alr / (1 - pow(b1, (double)step)), bc2 = sqrt(1 - pow(b2, (double)step));
        for (int j = 0; j < NA; j++) {
            for (int t = 0; t < 5; t++)
                if (t != 1)
                    down(got[t], at[j][t].data, sizeof(float) * L);
            for (int i = 0; i < L; i++) {
                float p = ap[j][i], gr = ag[j][i];
                p = p * (float)(1 - alr * awd);
                float m = am[j][i] * (float)b1 + gr * (float)(1 - b1);
                float v = av[j][i] * (float)b2 + gr * gr * (float)(1 - b2);
                float vm = ax[j][i] > v ? ax[j][i] : v;
                float denom = (float)sqrt((double)vm) / (float)bc2 + (float)eps;
                p = p + (m / denom) * (float)(-step_size);
                ck_assert_msg(got[0][i] == p && got[2][i] == m && got[3][i] == v && got[4][i] == vm,
                              "adam param %d [%d]: %.9g want %.9g", j, i, got[0][i], p);
            }
        }
    }
    ck_assert_int_eq(B->stream_sync(0, S), 0);
    ck_assert_int_eq(B->stream_free(0, S), 0);
    S = NULL;
    printf("check_cuda_plugin: gpu index and optimizer kernels match the host references\n");
    fflush(stdout);
}
END_TEST

/* ---- convolution (cuDNN) and pooling on a real GPU */

/* Direct convolution over spatial dims padded to 3: y (forward, bias added), gx
 * (backward input) and gw (backward weight) from x, w, gy; all in double. */
struct cgeom {
    int64_t N, C, O, G, in[3], k[3], out[3], s[3], p[3], d[3];
};

static int64_t xi(const struct cgeom *g, int64_t n, int64_t c, const int64_t *i)
{
    return (((n * g->C + c) * g->in[0] + i[0]) * g->in[1] + i[1]) * g->in[2] + i[2];
}
static int64_t wi(const struct cgeom *g, int64_t o, int64_t c, const int64_t *k)
{
    return (((o * (g->C / g->G) + c) * g->k[0] + k[0]) * g->k[1] + k[1]) * g->k[2] + k[2];
}
static int64_t yi(const struct cgeom *g, int64_t n, int64_t o, const int64_t *q)
{
    return (((n * g->O + o) * g->out[0] + q[0]) * g->out[1] + q[1]) * g->out[2] + q[2];
}

static void conv_ref(const struct cgeom *g, const double *x, const double *w, const double *b, const double *gy,
                     double *y, double *gx, double *gw)
{
    int64_t cg = g->C / g->G, og = g->O / g->G;
    int64_t nx = g->N * g->C * g->in[0] * g->in[1] * g->in[2], nw = g->O * cg * g->k[0] * g->k[1] * g->k[2];
    memset(gx, 0, sizeof(double) * (size_t)nx);
    memset(gw, 0, sizeof(double) * (size_t)nw);
    int64_t q[3], k[3], i[3];
    for (int64_t n = 0; n < g->N; n++)
        for (int64_t o = 0; o < g->O; o++)
            for (q[0] = 0; q[0] < g->out[0]; q[0]++)
                for (q[1] = 0; q[1] < g->out[1]; q[1]++)
                    for (q[2] = 0; q[2] < g->out[2]; q[2]++) {
                        double acc = b ? b[o] : 0;
                        int64_t gg = o / og, yo = yi(g, n, o, q);
                        for (int64_t c = 0; c < cg; c++)
                            for (k[0] = 0; k[0] < g->k[0]; k[0]++)
                                for (k[1] = 0; k[1] < g->k[1]; k[1]++)
                                    for (k[2] = 0; k[2] < g->k[2]; k[2]++) {
                                        bool in = true;
                                        for (int t = 0; t < 3; t++) {
                                            i[t] = q[t] * g->s[t] - g->p[t] + k[t] * g->d[t];
                                            in &= i[t] >= 0 && i[t] < g->in[t];
                                        }
                                        if (!in)
                                            continue;
                                        int64_t xo = xi(g, n, gg * cg + c, i), wo = wi(g, o, c, k);
                                        acc += x[xo] * w[wo];
                                        gx[xo] += gy[yo] * w[wo];
                                        gw[wo] += gy[yo] * x[xo];
                                    }
                        y[yo] = acc;
                    }
}

/* a float32 or float64 device tensor from doubles */
static struct td_kt up_as(enum td_dtype dt, int nd, const int64_t *sizes, const double *v, int64_t n)
{
    void *h = malloc((size_t)(n ? n : 1) * 8);
    for (int64_t i = 0; i < n; i++)
        if (dt == TD_DTYPE_FLOAT32)
            ((float *)h)[i] = (float)v[i];
        else
            ((double *)h)[i] = v[i];
    struct td_kt t = ktv(dt, nd, sizes, h);
    ck_assert_int_eq(B->stream_sync(0, S), 0); /* the upload read h */
    free(h);
    return t;
}

static void down_as(enum td_dtype dt, const struct td_kt *t, double *v, int64_t n)
{
    void *h = malloc((size_t)(n ? n : 1) * 8);
    down(h, t->data, (size_t)n * td_dtype_size(dt));
    for (int64_t i = 0; i < n; i++)
        v[i] = dt == TD_DTYPE_FLOAT32 ? ((float *)h)[i] : ((double *)h)[i];
    free(h);
}

static void conv_case(enum td_dtype dt, int nsp, const struct cgeom *g0, bool bias, bool strided_x)
{
    struct cgeom g = *g0;
    int nd = nsp + 2;
    int64_t xs[5] = {g.N, g.C}, ws[5] = {g.O, g.C / g.G}, ys[5] = {g.N, g.O};
    for (int t = 0; t < nsp; t++) {
        int j = 3 - nsp + t;
        xs[2 + t] = g.in[j], ws[2 + t] = g.k[j];
        g.out[j] = (g.in[j] + 2 * g.p[j] - g.d[j] * (g.k[j] - 1) - 1) / g.s[j] + 1;
        ys[2 + t] = g.out[j];
    }
    for (int j = 0; j < 3 - nsp; j++)
        g.in[j] = g.k[j] = g.out[j] = g.s[j] = g.d[j] = 1, g.p[j] = 0;
    int64_t nx = 1, nw = 1, ny = 1;
    for (int t = 0; t < nd; t++)
        nx *= xs[t], nw *= ws[t], ny *= ys[t];
    double *x = malloc(sizeof(double) * nx), *w = malloc(sizeof(double) * nw), *b = malloc(sizeof(double) * g.O);
    double *gy = malloc(sizeof(double) * ny), *y = malloc(sizeof(double) * ny), *gx = malloc(sizeof(double) * nx);
    double *gw = malloc(sizeof(double) * nw), *got = malloc(sizeof(double) * (nx > nw ? (nx > ny ? nx : ny) : (nw > ny ? nw : ny)));
    unsigned seed = (unsigned)(nsp * 31 + dt);
    for (int64_t i = 0; i < nx; i++)
        x[i] = urand(&seed);
    for (int64_t i = 0; i < nw; i++)
        w[i] = urand(&seed);
    for (int64_t i = 0; i < g.O; i++)
        b[i] = urand(&seed);
    for (int64_t i = 0; i < ny; i++)
        gy[i] = urand(&seed);
    conv_ref(&g, x, w, bias ? b : NULL, gy, y, gx, gw);
    struct td_kt tx = up_as(dt, nd, xs, x, nx), tw = up_as(dt, nd, ws, w, nw), tb = up_as(dt, 1, &g.O, b, g.O);
    struct td_kt tgy = up_as(dt, nd, ys, gy, ny);
    if (strided_x) { /* the same values through a view with N and C swapped in memory */
        double *xt = malloc(sizeof(double) * nx);
        int64_t plane = nx / (g.N * g.C);
        for (int64_t n = 0; n < g.N; n++)
            for (int64_t c = 0; c < g.C; c++)
                memcpy(xt + (c * g.N + n) * plane, x + (n * g.C + c) * plane, sizeof(double) * plane);
        tx = up_as(dt, nd, xs, xt, nx);
        tx.m.strides[0] = plane, tx.m.strides[1] = g.N * plane;
        free(xt);
    }
    int64_t attrs[4 + 9] = {g.G, nsp, nsp, nsp};
    for (int t = 0; t < nsp; t++) {
        int j = 3 - nsp + t;
        attrs[4 + t] = g.s[j], attrs[4 + nsp + t] = g.p[j], attrs[4 + 2 * nsp + t] = g.d[j];
    }
    uint32_t na = 4 + 3 * (uint32_t)nsp;
    double tol = dt == TD_DTYPE_FLOAT32 ? 1e-4 : 1e-11;
    struct td_kt ty = ktv(dt, nd, ys, NULL), tgx = ktv(dt, nd, xs, NULL), tgw = ktv(dt, nd, ws, NULL);
    struct td_kt *fin[] = {&tx, &tw, &tb}, *fout[] = {&ty};
    ck_assert_int_eq(run(TD_OP_CONV, dt, bias ? 3 : 2, fin, 1, fout, attrs, na, 0), TD_CODE_OK);
    down_as(dt, &ty, got, ny);
    for (int64_t i = 0; i < ny; i++)
        close_rel(got[i], y[i], tol, "conv", (int)i);
    struct td_kt *din[] = {&tgy, &tw, &tx}, *dout[] = {&tgx};
    ck_assert_int_eq(run(TD_OP_CONV_BACKWARD_INPUT, dt, 3, din, 1, dout, attrs, na, 0), TD_CODE_OK);
    down_as(dt, &tgx, got, nx);
    for (int64_t i = 0; i < nx; i++)
        close_rel(got[i], gx[i], tol, "conv_backward_input", (int)i);
    struct td_kt *win[] = {&tgy, &tx, &tw}, *wout[] = {&tgw};
    ck_assert_int_eq(run(TD_OP_CONV_BACKWARD_WEIGHT, dt, 3, win, 1, wout, attrs, na, 0), TD_CODE_OK);
    down_as(dt, &tgw, got, nw);
    for (int64_t i = 0; i < nw; i++)
        close_rel(got[i], gw[i], tol * 4, "conv_backward_weight", (int)i);
    free(x), free(w), free(b), free(gy), free(y), free(gx), free(gw), free(got);
}

START_TEST(test_gpu_conv_pool)
{
    char why[256] = "";
    if (B->init(why, sizeof why) == 0) {
        printf("check_cuda_plugin: gpu conv/pool case skipped: %s\n", why);
        fflush(stdout);
        return;
    }
    ck_assert_int_eq(B->stream_new(0, &S), 0);
    if (B->kernel(TD_OP_CONV, TD_DTYPE_FLOAT32)) {
        /* 2-d, groups 2, stride 2, padding 1, bias; 1-d dilated; 3-d; a 1x1; float32 and float64 */
        struct cgeom c2 = {.N = 2, .C = 4, .O = 6, .G = 2, .in = {1, 9, 7}, .k = {1, 3, 3}, .s = {1, 2, 2}, .p = {0, 1, 1}, .d = {1, 1, 1}};
        struct cgeom c1 = {.N = 3, .C = 3, .O = 5, .G = 1, .in = {1, 1, 20}, .k = {1, 1, 4}, .s = {1, 1, 1}, .p = {0, 0, 2}, .d = {1, 1, 3}};
        struct cgeom c3 = {.N = 1, .C = 2, .O = 3, .G = 1, .in = {5, 6, 4}, .k = {2, 3, 2}, .s = {1, 2, 1}, .p = {1, 1, 0}, .d = {1, 1, 2}};
        struct cgeom c11 = {.N = 4, .C = 8, .O = 16, .G = 1, .in = {1, 5, 5}, .k = {1, 1, 1}, .s = {1, 1, 1}, .p = {0, 0, 0}, .d = {1, 1, 1}};
        for (int f = 0; f < 2; f++) {
            enum td_dtype dt = f ? TD_DTYPE_FLOAT64 : TD_DTYPE_FLOAT32;
            conv_case(dt, 2, &c2, true, false);
            conv_case(dt, 2, &c2, false, true);
            conv_case(dt, 1, &c1, true, false);
            conv_case(dt, 3, &c3, true, false);
            conv_case(dt, 2, &c11, false, false);
        }
    } else {
        printf("check_cuda_plugin: no cuDNN: convolution left to the executor's staging\n");
    }
    /* pooling: max 2x2 stride 2 with indices and its backward; average 3x3 padded
     * (count_include_pad off) and its backward; global adaptive average (1x1) */
    {
        enum { N = 2, C = 3, H = 6, W = 8 };
        static float x[N * C * H * W], y[N * C * 3 * 4], gy[N * C * 3 * 4], gx[N * C * H * W];
        static int64_t ix[N * C * 3 * 4];
        unsigned seed = 5;
        for (int i = 0; i < N * C * H * W; i++)
            x[i] = (float)(rand_r(&seed) % 9) * 0.25f; /* ties: the first maximum wins */
        for (int i = 0; i < N * C * 12; i++)
            gy[i] = (float)urand(&seed);
        int64_t xs[] = {N, C, H, W}, ys[] = {N, C, 3, 4};
        struct td_kt tx = ktv(TD_DTYPE_FLOAT32, 4, xs, x), ty = ktv(TD_DTYPE_FLOAT32, 4, ys, NULL);
        struct td_kt ti = ktv(TD_DTYPE_INT64, 4, ys, NULL), tgy = ktv(TD_DTYPE_FLOAT32, 4, ys, gy);
        struct td_kt tgx = ktv(TD_DTYPE_FLOAT32, 4, xs, NULL);
        int64_t ma[] = {0, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 1, 1};
        struct td_kt *in[] = {&tx}, *out[] = {&ty, &ti};
        ck_assert_int_eq(run(TD_OP_MAX_POOL, TD_DTYPE_FLOAT32, 1, in, 2, out, ma, 13, 0), TD_CODE_OK);
        down(y, ty.data, sizeof y);
        down(ix, ti.data, sizeof ix);
        for (int pl = 0; pl < N * C; pl++)
            for (int oh = 0; oh < 3; oh++)
                for (int ow = 0; ow < 4; ow++) {
                    float m = -INFINITY;
                    int64_t best = 0;
                    for (int kh = 0; kh < 2; kh++)
                        for (int kw = 0; kw < 2; kw++) {
                            int64_t idx = (oh * 2 + kh) * W + ow * 2 + kw;
                            if (x[pl * H * W + idx] > m)
                                m = x[pl * H * W + idx], best = idx;
                        }
                    int o = (pl * 3 + oh) * 4 + ow;
                    ck_assert_msg(y[o] == m && ix[o] == best, "max_pool [%d]: %g@%lld want %g@%lld", o, y[o],
                                  (long long)ix[o], m, (long long)best);
                }
        struct td_kt *bin[] = {&tgy, &tx, &ti}, *bout[] = {&tgx};
        ck_assert_int_eq(run(TD_OP_MAX_POOL_BACKWARD, TD_DTYPE_FLOAT32, 3, bin, 1, bout, NULL, 0, 0), TD_CODE_OK);
        down(gx, tgx.data, sizeof gx);
        for (int i = 0; i < N * C * H * W; i++) {
            float want = 0;
            for (int o = 0; o < N * C * 12; o++)
                if (o / 12 == i / (H * W) && ix[o] == i % (H * W))
                    want += gy[o];
            ck_assert_msg(gx[i] == want, "max_pool_backward [%d]: %g want %g", i, gx[i], want);
        }
        /* a bad index for the backward: reported at the next sync */
        ix[5] = H * W;
        struct td_kt tbad = ktv(TD_DTYPE_INT64, 4, ys, ix);
        struct td_kt *bbin[] = {&tgy, &tx, &tbad};
        ck_assert_int_eq(run(TD_OP_MAX_POOL_BACKWARD, TD_DTYPE_FLOAT32, 3, bbin, 1, bout, NULL, 0, 0), TD_CODE_OK);
        int e = B->stream_sync(0, S);
        ck_assert_int_eq(e, TD_CU_ERR_INDEX);
        ck_assert_str_eq(B->error_string(e), "max_pool_backward: an index lies outside its input plane");
        /* average 3x3, stride 1, padding 1, count_include_pad off: output H x W */
        static float a[N * C * H * W], ga[N * C * H * W];
        struct td_kt ta = ktv(TD_DTYPE_FLOAT32, 4, xs, NULL), tga = ktv(TD_DTYPE_FLOAT32, 4, xs, NULL);
        int64_t aa[] = {0, 0, 0, 2, 2, 2, 3, 3, 1, 1, 1, 1};
        struct td_kt *aout[] = {&ta};
        ck_assert_int_eq(run(TD_OP_AVG_POOL, TD_DTYPE_FLOAT32, 1, in, 1, aout, aa, 12, 0), TD_CODE_OK);
        down(a, ta.data, sizeof a);
        struct td_kt *abin[] = {&tx, &tx}, *about[] = {&tga}; /* grad_output: x itself (same shape) */
        ck_assert_int_eq(run(TD_OP_AVG_POOL_BACKWARD, TD_DTYPE_FLOAT32, 2, abin, 1, about, aa, 12, 0), TD_CODE_OK);
        down(ga, tga.data, sizeof ga);
        for (int pl = 0; pl < N * C; pl++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++) {
                    float s = 0;
                    int cnt = 0;
                    for (int dh = -1; dh <= 1; dh++)
                        for (int dw = -1; dw <= 1; dw++)
                            if (h + dh >= 0 && h + dh < H && w + dw >= 0 && w + dw < W)
                                s += x[pl * H * W + (h + dh) * W + w + dw], cnt++;
                    close_rel(a[pl * H * W + h * W + w], s / cnt, 1e-6, "avg_pool", pl * H * W + h * W + w);
                    /* backward: each window holding (h, w) gives x[window] / its count */
                    double g = 0;
                    for (int dh = -1; dh <= 1; dh++)
                        for (int dw = -1; dw <= 1; dw++) {
                            int oh = h + dh, ow = w + dw;
                            if (oh < 0 || oh >= H || ow < 0 || ow >= W)
                                continue;
                            int n = ((oh > 0) + 1 + (oh < H - 1)) * ((ow > 0) + 1 + (ow < W - 1));
                            g += (double)x[pl * H * W + oh * W + ow] / n;
                        }
                    close_rel(ga[pl * H * W + h * W + w], g, 1e-5, "avg_pool_backward", pl * H * W + h * W + w);
                }
        /* global average: adaptive to 1x1 */
        float gm[N * C];
        int64_t gs[] = {N, C, 1, 1}, ga2[] = {2, 1, 1};
        struct td_kt tgm = ktv(TD_DTYPE_FLOAT32, 4, gs, NULL);
        struct td_kt *gout[] = {&tgm};
        ck_assert_int_eq(run(TD_OP_ADAPTIVE_AVG_POOL, TD_DTYPE_FLOAT32, 1, in, 1, gout, ga2, 3, 0), TD_CODE_OK);
        down(gm, tgm.data, sizeof gm);
        for (int pl = 0; pl < N * C; pl++) {
            double s = 0;
            for (int i = 0; i < H * W; i++)
                s += x[pl * H * W + i];
            close_rel(gm[pl], s / (H * W), 1e-6, "adaptive_avg_pool", pl);
        }
    }
    ck_assert_int_eq(B->stream_sync(0, S), 0);
    ck_assert_int_eq(B->stream_free(0, S), 0);
    S = NULL;
    printf("check_cuda_plugin: gpu convolution and pooling kernels match the host references\n");
    fflush(stdout);
}
END_TEST

/* ---- the device generator on a real GPU */

struct rng_state {
    uint64_t s[4]; /* kernels/rng.h's struct td_rng */
};

static enum td_code run_rng(unsigned op, unsigned dt, int n_in, struct td_kt **in, struct td_kt *out, const int64_t *attrs,
                            uint32_t n_attr, struct rng_state *r)
{
    td_kernel_fn fn = B->kernel(op, dt);
    ck_assert_msg(fn != NULL, "no kernel for op %u dtype %u", op, dt);
    struct td_kctx k;
    memset(&k, 0, sizeof k);
    k.op = (uint16_t)op;
    k.compute_dtype = (uint8_t)dt;
    k.n_in = n_in;
    k.n_out = 1;
    for (int i = 0; i < n_in; i++)
        k.in[i] = in[i];
    k.out[0] = out;
    k.attrs = attrs;
    k.n_attr = n_attr;
    k.rng = (struct td_rng *)r;
    k.stream = S;
    return fn(&k);
}

START_TEST(test_gpu_random)
{
    char why[256] = "";
    if (B->init(why, sizeof why) == 0) {
        printf("check_cuda_plugin: gpu random case skipped: %s\n", why);
        fflush(stdout);
        return;
    }
    ck_assert_int_eq(B->stream_new(0, &S), 0);
    enum { N = 1 << 20 };
    static float v[N], w[N];
    static double d[N];
    int64_t sz[] = {N}, small[] = {1000};
    struct td_kt t = ktv(TD_DTYPE_FLOAT32, 1, sz, NULL), t2 = ktv(TD_DTYPE_FLOAT32, 1, small, NULL);
    struct td_kt td = ktv(TD_DTYPE_FLOAT64, 1, sz, NULL);
    struct rng_state r0 = {{1, 2, 3, 4}}, r = r0, r2 = r0;
    /* rand: in [0, 1), mean 1/2, variance 1/12; the same state gives the same values,
     * whatever the tensor's size (so whatever the grid) */
    int64_t ra[] = {TD_DTYPE_FLOAT32, 1, N}, ra2[] = {TD_DTYPE_FLOAT32, 1, 1000};
    ck_assert_int_eq(run_rng(TD_OP_RAND, TD_DTYPE_FLOAT32, 0, NULL, &t, ra, 3, &r), TD_CODE_OK);
    ck_assert_int_eq(run_rng(TD_OP_RAND, TD_DTYPE_FLOAT32, 0, NULL, &t2, ra2, 3, &r2), TD_CODE_OK);
    ck_assert(!memcmp(&r, &r2, sizeof r) && memcmp(&r, &r0, sizeof r)); /* one word each */
    down(v, t.data, sizeof(float) * N);
    down(w, t2.data, sizeof(float) * 1000);
    ck_assert(!memcmp(v, w, sizeof(float) * 1000));
    double m = 0, m2 = 0;
    for (int i = 0; i < N; i++) {
        ck_assert(v[i] >= 0 && v[i] < 1);
        m += v[i], m2 += (double)v[i] * v[i];
    }
    m /= N, m2 = m2 / N - m * m;
    ck_assert_msg(fabs(m - 0.5) < 5 * sqrt(1.0 / 12 / N) && fabs(m2 - 1.0 / 12) < 1e-3, "rand mean %g var %g", m, m2);
    /* the next op has a new key: different values */
    ck_assert_int_eq(run_rng(TD_OP_RAND, TD_DTYPE_FLOAT32, 0, NULL, &t2, ra2, 3, &r), TD_CODE_OK);
    down(w, t2.data, sizeof(float) * 1000);
    ck_assert(memcmp(v, w, sizeof(float) * 1000));
    /* randn float64: moments and tail frequencies of the normal */
    int64_t rn[] = {TD_DTYPE_FLOAT64, 1, N};
    ck_assert_int_eq(run_rng(TD_OP_RANDN, TD_DTYPE_FLOAT64, 0, NULL, &td, rn, 3, &r), TD_CODE_OK);
    down(d, td.data, sizeof(double) * N);
    double s = 0, s2 = 0, s4 = 0, tail = 0;
    for (int i = 0; i < N; i++)
        s += d[i], s2 += d[i] * d[i], s4 += d[i] * d[i] * d[i] * d[i], tail += fabs(d[i]) > 1.959963984540054;
    ck_assert_msg(fabs(s / N) < 5 / sqrt((double)N) && fabs(s2 / N - 1) < 0.01 && fabs(s4 / N - 3) < 0.05 &&
                      fabs(tail / N - 0.05) < 5 * sqrt(0.0475 / N),
                  "randn: mean %g, E x^2 %g, E x^4 %g, P(|x| > 1.96) %g", s / N, s2 / N, s4 / N, tail / N);
    /* bernoulli_(p = 0.2) in place on a strided (every other element) float32 view: the
     * elements between stay untouched */
    for (int i = 0; i < N; i++)
        v[i] = 7;
    struct td_kt tv = ktv(TD_DTYPE_FLOAT32, 1, sz, v);
    struct td_kt view = tv;
    view.m.sizes[0] = N / 2, view.m.strides[0] = 2;
    int64_t ba[] = {fbits(0.2)};
    struct td_kt *bin[] = {&view};
    ck_assert_int_eq(run_rng(TD_OP_BERNOULLI_, TD_DTYPE_FLOAT32, 1, bin, &view, ba, 1, &r), TD_CODE_OK);
    down(v, tv.data, sizeof(float) * N);
    double ones = 0;
    for (int i = 0; i < N; i++) {
        if (i % 2)
            ck_assert(v[i] == 7);
        else
            ck_assert(v[i] == 0 || v[i] == 1), ones += v[i];
    }
    ck_assert_msg(fabs(ones / (N / 2) - 0.2) < 5 * sqrt(0.16 / (N / 2)), "bernoulli: %g", ones / (N / 2));
    /* randint(-5, 5) int64: every value, none outside, counts alike */
    static int64_t iv[N];
    int64_t ia[] = {TD_DTYPE_INT64, 1, N, -5, 5};
    struct td_kt ti = ktv(TD_DTYPE_INT64, 1, sz, NULL);
    ck_assert_int_eq(run_rng(TD_OP_RANDINT, TD_DTYPE_INT64, 0, NULL, &ti, ia, 5, &r), TD_CODE_OK);
    down(iv, ti.data, sizeof iv);
    double cnt[10] = {0}, chi = 0;
    for (int i = 0; i < N; i++) {
        ck_assert(iv[i] >= -5 && iv[i] < 5);
        cnt[iv[i] + 5]++;
    }
    for (int j = 0; j < 10; j++)
        chi += (cnt[j] - N / 10.0) * (cnt[j] - N / 10.0) / (N / 10.0);
    ck_assert_msg(chi < 27.9, "randint chi2 %g", chi); /* 9 degrees of freedom, 0.1% */
    /* normal_(mean 3, std 0.5) in place, float32 */
    int64_t na[] = {fbits(3), fbits(0.5)};
    struct td_kt *nin[] = {&t};
    ck_assert_int_eq(run_rng(TD_OP_NORMAL_, TD_DTYPE_FLOAT32, 1, nin, &t, na, 2, &r), TD_CODE_OK);
    down(v, t.data, sizeof(float) * N);
    m = 0, m2 = 0;
    for (int i = 0; i < N; i++)
        m += v[i], m2 += (double)v[i] * v[i];
    m /= N, m2 = m2 / N - m * m;
    ck_assert_msg(fabs(m - 3) < 5 * 0.5 / sqrt((double)N) && fabs(m2 - 0.25) < 0.005, "normal_ mean %g var %g", m, m2);
    ck_assert_int_eq(B->stream_sync(0, S), 0);
    ck_assert_int_eq(B->stream_free(0, S), 0);
    S = NULL;
    printf("check_cuda_plugin: gpu random kernels have the expected distributions\n");
    fflush(stdout);
}
END_TEST

/* ---- sorting and cumulative ops on a real GPU */

struct vi {
    double v;
    int64_t i;
};

static bool less_cpu(double a, double b) { return !isnan(a) && (isnan(b) || a < b); } /* sort.c's order */
static int cmp_asc(const void *x, const void *y)
{
    const struct vi *a = x, *b = y;
    return less_cpu(a->v, b->v) ? -1 : less_cpu(b->v, a->v) ? 1 : (a->i > b->i) - (a->i < b->i);
}
static int cmp_desc(const void *x, const void *y)
{
    const struct vi *a = x, *b = y;
    return less_cpu(b->v, a->v) ? -1 : less_cpu(a->v, b->v) ? 1 : (a->i > b->i) - (a->i < b->i);
}

/* sorts x (rows x cols, float32, along dim) on the GPU and checks values (bits) and
 * indices against a stable host sort; k < 0: all */
static void sort_case(int rows, int cols, int dim, bool desc, int64_t kk, unsigned seed)
{
    int64_t n = (int64_t)rows * cols, len = dim ? cols : rows, lanes = n / len, k = kk < 0 ? len : kk;
    float *x = malloc(sizeof(float) * n), *v = malloc(sizeof(float) * lanes * k);
    int64_t *ix = malloc(sizeof(int64_t) * lanes * k);
    struct vi *r = malloc(sizeof(struct vi) * len);
    const float sp[] = {NAN, -0.0f, 0.0f, INFINITY, -INFINITY, 1.5f, -1.5f};
    for (int64_t i = 0; i < n; i++)
        x[i] = rand_r(&seed) % 8 == 0 ? sp[rand_r(&seed) % 7] : (float)(rand_r(&seed) % 50) - 25;
    int64_t xs[] = {rows, cols}, os[] = {dim ? rows : k, dim ? k : cols};
    struct td_kt tx = ktv(TD_DTYPE_FLOAT32, 2, xs, x), tv = ktv(TD_DTYPE_FLOAT32, 2, os, NULL), ti = ktv(TD_DTYPE_INT64, 2, os, NULL);
    struct td_kt *in[] = {&tx}, *out[] = {&tv, &ti};
    int64_t at[] = {dim, desc, 1, kk};
    ck_assert_int_eq(run(TD_OP_SORT, TD_DTYPE_FLOAT32, 1, in, 2, out, at, 4, 0), TD_CODE_OK);
    down(v, tv.data, sizeof(float) * lanes * k);
    down(ix, ti.data, sizeof(int64_t) * lanes * k);
    for (int64_t m = 0; m < lanes; m++) {
        for (int64_t j = 0; j < len; j++)
            r[j].v = x[dim ? m * cols + j : j * cols + m], r[j].i = j;
        qsort(r, (size_t)len, sizeof *r, desc ? cmp_desc : cmp_asc);
        for (int64_t j = 0; j < k; j++) {
            int64_t o = dim ? m * k + j : j * cols + m;
            float want = x[dim ? m * cols + r[j].i : r[j].i * cols + m];
            ck_assert_msg(ix[o] == r[j].i && !memcmp(&v[o], &want, 4), "sort %dx%d dim %d desc %d k %lld lane %lld [%lld]: "
                          "%g@%lld want %g@%lld", rows, cols, dim, desc, (long long)kk, (long long)m, (long long)j, v[o],
                          (long long)ix[o], want, (long long)r[j].i);
        }
    }
    free(x), free(v), free(ix), free(r);
}

START_TEST(test_gpu_sort_scan)
{
    char why[256] = "";
    if (B->init(why, sizeof why) == 0) {
        printf("check_cuda_plugin: gpu sort/scan case skipped: %s\n", why);
        fflush(stdout);
        return;
    }
    ck_assert_int_eq(B->stream_new(0, &S), 0);
    sort_case(37, 1000, 1, false, -1, 1);
    sort_case(37, 1000, 1, true, -1, 2);
    sort_case(500, 64, 0, false, -1, 3); /* along a strided dim */
    sort_case(64, 3000, 1, true, 5, 4); /* topk */
    sort_case(1, 1 << 20, 1, false, -1, 5); /* one long slice */
    sort_case(1, 1 << 20, 1, true, 10, 6);
    /* int8 slices, descending: stability among many equal keys */
    {
        enum { R = 300, C = 257 };
        static int8_t x[R * C], v[R * C];
        static int64_t ix[R * C];
        unsigned seed = 9;
        for (int i = 0; i < R * C; i++)
            x[i] = (int8_t)(rand_r(&seed) % 256 - 128);
        int64_t xs[] = {R, C};
        struct td_kt tx = ktv(TD_DTYPE_INT8, 2, xs, x), tv = ktv(TD_DTYPE_INT8, 2, xs, NULL), ti = ktv(TD_DTYPE_INT64, 2, xs, NULL);
        struct td_kt *in[] = {&tx}, *out[] = {&tv, &ti};
        int64_t at[] = {1, 1, 1};
        ck_assert_int_eq(run(TD_OP_SORT, TD_DTYPE_INT8, 1, in, 2, out, at, 3, 0), TD_CODE_OK);
        down(v, tv.data, sizeof v);
        down(ix, ti.data, sizeof ix);
        for (int m = 0; m < R; m++)
            for (int j = 0; j < C; j++) {
                int o = m * C + j;
                ck_assert(v[o] == x[m * C + ix[o]]);
                if (j)
                    ck_assert(v[o - 1] > v[o] || (v[o - 1] == v[o] && ix[o - 1] < ix[o]));
            }
    }
    /* cumsum float32 over many short lanes: the CPU's serial double accumulation, bit for bit */
    {
        enum { R = 1000, C = 37 };
        static float x[R * C], y[R * C];
        unsigned seed = 10;
        for (int i = 0; i < R * C; i++)
            x[i] = (float)urand(&seed) * 1000;
        int64_t xs[] = {R, C};
        struct td_kt tx = ktv(TD_DTYPE_FLOAT32, 2, xs, x), ty = ktv(TD_DTYPE_FLOAT32, 2, xs, NULL);
        struct td_kt *in[] = {&tx}, *out[] = {&ty};
        int64_t at[] = {1};
        ck_assert_int_eq(run(TD_OP_CUMSUM, TD_DTYPE_FLOAT32, 1, in, 1, out, at, 1, 0), TD_CODE_OK);
        down(y, ty.data, sizeof y);
        for (int m = 0; m < R; m++) {
            double acc = 0;
            for (int j = 0; j < C; j++) {
                acc += x[m * C + j];
                ck_assert_msg(y[m * C + j] == (float)acc, "cumsum [%d][%d]", m, j);
            }
        }
        /* cumprod along dim 0 (strided lanes) */
        int64_t a0[] = {0};
        ck_assert_int_eq(run(TD_OP_CUMPROD, TD_DTYPE_FLOAT32, 1, in, 1, out, a0, 1, 0), TD_CODE_OK);
        down(y, ty.data, sizeof y);
        for (int c = 0; c < C; c++) {
            double acc = 1;
            for (int m = 0; m < 20; m++) {
                acc *= x[m * C + c];
                ck_assert_msg(y[m * C + c] == (float)acc, "cumprod [%d][%d]", m, c);
            }
        }
    }
    /* a few long lanes: the block scan; float64 within rounding, int64 exact (wrapping) */
    {
        enum { R = 3, C = 100000 };
        static double x[R * C], y[R * C];
        static int64_t xi[R * C], yi[R * C];
        unsigned seed = 11;
        for (int i = 0; i < R * C; i++)
            x[i] = urand(&seed), xi[i] = (int64_t)rand_r(&seed) * 1000003 - ((int64_t)1 << 40);
        int64_t xs[] = {R, C};
        struct td_kt tx = ktv(TD_DTYPE_FLOAT64, 2, xs, x), ty = ktv(TD_DTYPE_FLOAT64, 2, xs, NULL);
        struct td_kt txi = ktv(TD_DTYPE_INT64, 2, xs, xi), tyi = ktv(TD_DTYPE_INT64, 2, xs, NULL);
        struct td_kt *in[] = {&tx}, *out[] = {&ty}, *ini[] = {&txi}, *outi[] = {&tyi};
        int64_t at[] = {1};
        ck_assert_int_eq(run(TD_OP_CUMSUM, TD_DTYPE_FLOAT64, 1, in, 1, out, at, 1, 0), TD_CODE_OK);
        down(y, ty.data, sizeof y);
        for (int m = 0; m < R; m++) {
            double acc = 0;
            for (int j = 0; j < C; j++) {
                acc += x[m * C + j];
                ck_assert_msg(fabs(y[m * C + j] - acc) <= 1e-9 * (1 + fabs(acc)) * sqrt((double)j + 1), "cumsum long [%d][%d]", m, j);
            }
        }
        for (int prod = 0; prod < 2; prod++) {
            ck_assert_int_eq(run(prod ? TD_OP_CUMPROD : TD_OP_CUMSUM, TD_DTYPE_INT64, 1, ini, 1, outi, at, 1, 0), TD_CODE_OK);
            down(yi, tyi.data, sizeof yi);
            for (int m = 0; m < R; m++) {
                uint64_t acc = prod;
                for (int j = 0; j < C; j++) {
                    acc = prod ? acc * (uint64_t)xi[m * C + j] : acc + (uint64_t)xi[m * C + j];
                    ck_assert_msg(yi[m * C + j] == (int64_t)acc, "%s long int64 [%d][%d]", prod ? "cumprod" : "cumsum", m, j);
                }
            }
        }
    }
    ck_assert_int_eq(B->stream_sync(0, S), 0);
    ck_assert_int_eq(B->stream_free(0, S), 0);
    S = NULL;
    printf("check_cuda_plugin: gpu sort and scan kernels match the host references\n");
    fflush(stdout);
}
END_TEST

static Suite *plugin_suite(void)
{
    Suite *s = suite_create("cuda_plugin");
    TCase *tc = tcase_create("plugin");
    tcase_add_checked_fixture(tc, load, unload);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_init);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_kernel_lookup);
    tcase_add_test(tc, test_gpu);
    tcase_add_loop_test(tc, test_gpu_half, 0, 2);
    tcase_add_test(tc, test_gpu_index_optim);
    tcase_add_test(tc, test_gpu_conv_pool);
    tcase_add_test(tc, test_gpu_random);
    tcase_add_test(tc, test_gpu_sort_scan);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    plugin_path = getenv("TD_CUDA_PLUGIN");
    if (!plugin_path || !*plugin_path)
        plugin_path = "build/libtensord_cuda.so";
    if (access(plugin_path, R_OK) != 0) {
        printf("check_cuda_plugin: skipped: %s not built (no nvcc where this was built; set NVCC=... or TD_CUDA_PLUGIN)\n",
               plugin_path);
        return EXIT_SUCCESS;
    }
    SRunner *sr = srunner_create(plugin_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
