/*
 * autocast.c — torch.autocast for every client of libtensord.  While a thread has
 * autocast on for a device kind (0 the CPU, 1 the GPUs), td_op looks the op up in that
 * kind's policy, torch 1.13's lists restricted to the op rows tensord has:
 *
 *   LOW      matmul, mm, bmm, convolution (conv_transpose on GPUs only): floating inputs other than
 *            float64 are cast to the autocast dtype (bfloat16 on the CPU, float16 on
 *            GPUs by default);
 *   FP32     the precision-sensitive ops (GPU: exp, log, pow, softmax, sums ...; CPU:
 *            prod, the decompositions, FFTs ...): float16/bfloat16 inputs go to float32;
 *   PROMOTE  ops mixing several floating inputs (addcmul, atan2, cat, index_put ...):
 *            all to the widest.
 *
 * The casts are ordinary CAST records, so autograd sees them and gradients come back in
 * the inputs' own dtypes.  In-place and out= records are left alone, as torch leaves
 * them, and so are the casts themselves and the backward pass's ops (the engine turns
 * autocast off for its pass, as torch's backward runs without it; code the pass runs,
 * such as a checkpoint's recomputation, may turn it on again).  torch's per-region weight-cast cache
 * is not kept: a weight is cast again at each use.
 */
#include <stdlib.h>
#include <string.h>

#include "autocast.h"
#include "td_ops.h"

enum { AMP_NONE = 0, AMP_LOW, AMP_FP32, AMP_PROMOTE };

static _Thread_local struct {
    bool on[2];
    bool set[2]; /* dtype chosen (else the kind's default) */
    enum td_dtype dtype[2];
    int paused;
} amp;

/* torch 1.13's CPU list has conv1d-3d (bfloat16 convolutions on the CPU compute in float32
 * between casts); its conv_transpose stays float32 under CPU autocast */
static const enum td_op cpu_low[] = {TD_OP_MATMUL, TD_OP_MM, TD_OP_BMM, TD_OP_CONV};
static const enum td_op cpu_fp32[] = {
    TD_OP_PROD, TD_OP_LINALG_INV, TD_OP_LINALG_SOLVE, TD_OP_LINALG_CHOLESKY, TD_OP_LINALG_QR, TD_OP_LINALG_SVD,
    TD_OP_LINALG_EIGH, TD_OP_LINALG_EIG, TD_OP_LINALG_LSTSQ, TD_OP_GEQRF, TD_OP_ORGQR, TD_OP_ORMQR, TD_OP_LU_FACTOR,
    TD_OP_LU_SOLVE, TD_OP_TRIANGULAR_SOLVE, TD_OP_FFT_C2C, TD_OP_FFT_R2C, TD_OP_FFT_C2R, TD_OP_VIEW_AS_COMPLEX,
    TD_OP_CTC_LOSS};
static const enum td_op gpu_low[] = {TD_OP_MATMUL, TD_OP_MM, TD_OP_BMM, TD_OP_CONV, TD_OP_CONV_BACKWARD_INPUT};
static const enum td_op gpu_fp32[] = {
    TD_OP_ACOS, TD_OP_ASIN, TD_OP_COSH, TD_OP_ERFINV, TD_OP_EXP, TD_OP_EXPM1, TD_OP_LOG, TD_OP_LOG10, TD_OP_LOG2,
    TD_OP_LOG1P, TD_OP_RECIPROCAL, TD_OP_RSQRT, TD_OP_SINH, TD_OP_TAN, TD_OP_POW, TD_OP_SOFTMAX,
    TD_OP_LOG_SOFTMAX, TD_OP_SUM, TD_OP_PROD, TD_OP_CUMSUM, TD_OP_CUMPROD, TD_OP_NORM, TD_OP_LOGSUMEXP,
    TD_OP_CTC_LOSS};
static const enum td_op promote[] = {TD_OP_ADDCMUL, TD_OP_ADDCDIV, TD_OP_ATAN2, TD_OP_CAT, TD_OP_INDEX_PUT,
                                     TD_OP_SCATTER, TD_OP_LERP};

static uint8_t policy[2][TD_OP_COUNT];

static void fill(int kind, const enum td_op *ops, size_t n, uint8_t what)
{
    for (size_t i = 0; i < n; i++)
        policy[kind][ops[i]] = what;
}

static void policy_init(void)
{
    fill(0, cpu_low, sizeof cpu_low / sizeof *cpu_low, AMP_LOW);
    fill(0, cpu_fp32, sizeof cpu_fp32 / sizeof *cpu_fp32, AMP_FP32);
    fill(1, gpu_low, sizeof gpu_low / sizeof *gpu_low, AMP_LOW);
    fill(1, gpu_fp32, sizeof gpu_fp32 / sizeof *gpu_fp32, AMP_FP32);
    fill(1, promote, sizeof promote / sizeof *promote, AMP_PROMOTE);
    fill(0, promote, sizeof promote / sizeof *promote, AMP_PROMOTE);
}

static pthread_once_t policy_once = PTHREAD_ONCE_INIT;

static enum td_dtype default_dtype(int kind) { return kind ? TD_DTYPE_FLOAT16 : TD_DTYPE_BFLOAT16; }

void td_autocast_set(int kind, bool enabled, enum td_dtype dtype)
{
    if (kind < 0 || kind > 1)
        return;
    pthread_once(&policy_once, policy_init);
    amp.on[kind] = enabled;
    amp.dtype[kind] = dtype;
    amp.set[kind] = true;
}

bool td_autocast_enabled(int kind) { return kind >= 0 && kind <= 1 && amp.on[kind]; }

enum td_dtype td_autocast_dtype(int kind)
{
    if (kind < 0 || kind > 1)
        return TD_DTYPE_FLOAT32;
    return amp.set[kind] ? amp.dtype[kind] : default_dtype(kind);
}

int td__amp_pause(void) { return amp.paused++; }
void td__amp_resume(int was) { amp.paused = was; }

unsigned td__amp_suspend(void)
{
    unsigned was = (amp.on[0] ? 1u : 0u) | (amp.on[1] ? 2u : 0u);
    amp.on[0] = amp.on[1] = false;
    return was;
}

void td__amp_restore(unsigned was)
{
    amp.on[0] = was & 1u;
    amp.on[1] = (was & 2u) != 0;
}

bool td__amp_wants(enum td_op op, unsigned flags, const struct td_t *const *in, int n_in)
{
    if ((!amp.on[0] && !amp.on[1]) || amp.paused || !n_in || (flags & (TD_RF_INPLACE | TD_RF_OUT)))
        return false;
    int kind = in[0]->m.device != TD_DEVICE_CPU;
    return amp.on[kind] && (unsigned)op < TD_OP_COUNT && policy[kind][op] != AMP_NONE;
}

static bool eligible(const struct td_t *t)
{
    enum td_dtype d = (enum td_dtype)t->m.dtype;
    return td_dtype_is_float(d) && d != TD_DTYPE_FLOAT64;
}

/* torch's promotion of two floating dtypes: the wider; float16 with bfloat16 is float32 */
static enum td_dtype wider(enum td_dtype a, enum td_dtype b)
{
    if (a == b)
        return a;
    if (a == TD_DTYPE_FLOAT64 || b == TD_DTYPE_FLOAT64)
        return TD_DTYPE_FLOAT64;
    return TD_DTYPE_FLOAT32;
}

enum td_code td__amp_op(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                        const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st)
{
    int kind = in[0]->m.device != TD_DEVICE_CPU;
    uint8_t what = policy[kind][op];
    enum td_dtype target = what == AMP_FP32 ? TD_DTYPE_FLOAT32 : td_autocast_dtype(kind);
    if (what == AMP_PROMOTE) {
        bool any = false;
        for (int i = 0; i < n_in; i++) {
            enum td_dtype d = (enum td_dtype)in[i]->m.dtype;
            if (td_dtype_is_float(d)) {
                target = any ? wider(target, d) : d;
                any = true;
            }
        }
        if (!any)
            return td_op(c, op, flags, in, n_in, attrs, n_attr, out, st);
    }
    struct td_t small[4];
    const struct td_t *few[4];
    struct td_t *casts = n_in <= 4 ? small : calloc((size_t)n_in, sizeof *casts);
    const struct td_t **args = n_in <= 4 ? few : calloc((size_t)n_in, sizeof *args);
    if (!casts || !args) {
        if (casts != small)
            free(casts);
        if (args != few)
            free(args);
        return td_status_set(st, TD_CODE_RESOURCE_EXHAUSTED, "out of memory in autocast");
    }
    enum td_code code = TD_CODE_OK;
    int was = td__amp_pause();
    for (int i = 0; i < n_in; i++) {
        enum td_dtype d = (enum td_dtype)in[i]->m.dtype;
        bool cast = d != target && (what == AMP_PROMOTE  ? td_dtype_is_float(d)
                                    : what == AMP_FP32   ? d == TD_DTYPE_FLOAT16 || d == TD_DTYPE_BFLOAT16
                                                         : eligible(in[i]));
        casts[i].handle = 0;
        args[i] = in[i];
        if (cast && !code) {
            code = td_rec_cast(c, 0, &in[i], 1, &(struct td_cast_args){.dtype = target}, &casts[i], st);
            if (!code)
                args[i] = &casts[i];
        }
    }
    if (!code)
        code = td_op(c, op, flags, args, n_in, attrs, n_attr, out, st);
    td__amp_resume(was);
    for (int i = 0; i < n_in; i++)
        if (args[i] == &casts[i])
            td_release(c, &casts[i]);
    if (casts != small)
        free(casts);
    if (args != few)
        free(args);
    return code;
}
