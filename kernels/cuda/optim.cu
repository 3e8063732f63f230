/*
 * optim.cu — SGD_STEP and ADAM_STEP on the GPU: a whole parameter group in one launch
 * (per dtype, per 32 parameters), every element updated by optim_ops.cuh's functors,
 * the CPU's arithmetic bit for bit.  shape_optim.c checked the group: each parameter's
 * tensors have its shape and dtype (float32 or float64) and are contiguous, so they are
 * walked as flat arrays from their offsets, in place.
 */
#include "optim_ops.cuh"

#define OPT_MAX 32 /* parameters per launch: the launch carries their pointers by value */

struct opt_batch {
    int n;                       /* parameters */
    int64_t start[OPT_MAX + 1];  /* first flat element of each, and the total */
    char *t[OPT_MAX][5];         /* param, grad, then the states (NULL when absent) */
};

/* The parameter holding flat element i: the last start <= i. */
__device__ int find_param(const struct opt_batch &b, int64_t i)
{
    int lo = 0, hi = b.n - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (b.start[mid] <= i)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

template <typename T> __global__ void __launch_bounds__(TD_CU_THREADS) sgd_kernel(const struct opt_batch b, const struct td_cu_sgd s)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < b.start[b.n]; i += (int64_t)gridDim.x * blockDim.x) {
        int j = find_param(b, i);
        td_cu_sgd_elem<T>(s, (T *)b.t[j][0], (const T *)b.t[j][1], (T *)b.t[j][2], i - b.start[j]);
    }
}

template <typename T> __global__ void __launch_bounds__(TD_CU_THREADS) adam_kernel(const struct opt_batch b, const struct td_cu_adam s)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < b.start[b.n]; i += (int64_t)gridDim.x * blockDim.x) {
        int j = find_param(b, i);
        td_cu_adam_elem<T>(s, (T *)b.t[j][0], (const T *)b.t[j][1], (T *)b.t[j][2], (T *)b.t[j][3], (T *)b.t[j][4],
                           i - b.start[j]);
    }
}

static double f64_attr(const struct td_kctx *k, int at)
{
    double v;
    memcpy(&v, &k->attrs[at], 8);
    return v;
}

static char *base(const struct td_kt *t) { return t->data + t->m.offset * (int64_t)td_cu_dtype_size(t->m.dtype); }

static enum td_code flush(const struct td_kctx *k, struct opt_batch *b, int dt, const struct td_cu_sgd *sgd,
                          const struct td_cu_adam *adam)
{
    if (b->n == 0 || b->start[b->n] == 0) {
        b->n = 0;
        return TD_CODE_OK;
    }
    int64_t blocks = (b->start[b->n] + TD_CU_THREADS - 1) / TD_CU_THREADS;
    unsigned g = (unsigned)(blocks < TD_CU_MAX_BLOCKS ? blocks : TD_CU_MAX_BLOCKS);
    cudaStream_t s = td_cu_stream_of(k->stream);
    if (sgd && dt == TD_DTYPE_FLOAT64)
        sgd_kernel<double><<<g, TD_CU_THREADS, 0, s>>>(*b, *sgd);
    else if (sgd)
        sgd_kernel<float><<<g, TD_CU_THREADS, 0, s>>>(*b, *sgd);
    else if (dt == TD_DTYPE_FLOAT64)
        adam_kernel<double><<<g, TD_CU_THREADS, 0, s>>>(*b, *adam);
    else
        adam_kernel<float><<<g, TD_CU_THREADS, 0, s>>>(*b, *adam);
    b->n = 0;
    return td_cu_launched();
}

static enum td_code cu_optim(struct td_kctx *k)
{
    bool is_sgd = k->op == TD_OP_SGD_STEP;
    if (k->n_attr < (is_sgd ? (int)TD_N_SGD_STEP : (int)TD_N_ADAM_STEP))
        return TD_CODE_INVALID_ARGUMENT;
    struct td_cu_sgd sgd;
    struct td_cu_adam adam;
    memset(&sgd, 0, sizeof sgd);
    memset(&adam, 0, sizeof adam);
    int per;
    if (is_sgd) {
        sgd.lr = f64_attr(k, TD_A_SGD_STEP_LR), sgd.momentum = f64_attr(k, TD_A_SGD_STEP_MOMENTUM);
        sgd.dampening = f64_attr(k, TD_A_SGD_STEP_DAMPENING), sgd.wd = f64_attr(k, TD_A_SGD_STEP_WEIGHT_DECAY);
        sgd.nesterov = k->attrs[TD_A_SGD_STEP_NESTEROV] != 0, sgd.maximize = k->attrs[TD_A_SGD_STEP_MAXIMIZE] != 0;
        sgd.first = k->attrs[TD_A_SGD_STEP_FIRST] != 0;
        per = sgd.momentum != 0 ? 3 : 2;
    } else {
        adam.lr = f64_attr(k, TD_A_ADAM_STEP_LR), adam.beta1 = f64_attr(k, TD_A_ADAM_STEP_BETA1);
        adam.beta2 = f64_attr(k, TD_A_ADAM_STEP_BETA2), adam.eps = f64_attr(k, TD_A_ADAM_STEP_EPS);
        adam.wd = f64_attr(k, TD_A_ADAM_STEP_WEIGHT_DECAY), adam.amsgrad = k->attrs[TD_A_ADAM_STEP_AMSGRAD] != 0;
        adam.maximize = k->attrs[TD_A_ADAM_STEP_MAXIMIZE] != 0, adam.decoupled = k->attrs[TD_A_ADAM_STEP_DECOUPLED] != 0;
        td_cu_adam_consts(&adam, (double)k->attrs[TD_A_ADAM_STEP_STEP]);
        per = adam.amsgrad ? 5 : 4;
    }
    if (k->n_in % per)
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    /* one pass per dtype, so a launch has one element type */
    static const int dts[2] = {TD_DTYPE_FLOAT32, TD_DTYPE_FLOAT64};
    for (int pass = 0; pass < 2; pass++) {
        struct opt_batch b;
        memset(&b, 0, sizeof b);
        for (int i = 0; i + per <= k->n_in; i += per) {
            const struct td_kt *p = k->in[i];
            if (p->m.dtype != TD_DTYPE_FLOAT32 && p->m.dtype != TD_DTYPE_FLOAT64)
                return TD_CODE_INVALID_ARGUMENT;
            if (p->m.dtype != dts[pass])
                continue;
            int64_t n = 1;
            for (int d = 0; d < p->m.ndim; d++)
                n *= p->m.sizes[d];
            for (int j = 0; j < per; j++)
                b.t[b.n][j] = base(k->in[i + j]);
            b.start[b.n + 1] = b.start[b.n] + n;
            b.n++;
            if (b.n == OPT_MAX) {
                enum td_code c = flush(k, &b, dts[pass], is_sgd ? &sgd : NULL, &adam);
                if (c)
                    return c;
                b.start[0] = 0;
            }
        }
        enum td_code c = flush(k, &b, dts[pass], is_sgd ? &sgd : NULL, &adam);
        if (c)
            return c;
    }
    return TD_CODE_OK;
}

td_kernel_fn td__cuda_optim_kernel(unsigned op, unsigned dt)
{
    if (dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64)
        return NULL;
    return op == TD_OP_SGD_STEP || op == TD_OP_ADAM_STEP ? cu_optim : NULL;
}
