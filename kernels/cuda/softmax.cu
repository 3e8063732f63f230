/*
 * softmax.cu — SOFTMAX and LOG_SOFTMAX along one dim, on the GPU.
 *
 * One thread block per lane (every index combination of the other dims): the block
 * finds the lane maximum (a NaN wins), sums exp(x - max), and writes exp(x - max) / sum
 * or x - max - log(sum), as kernels/cpu/math_dim.c does, in double like the CPU (so a
 * lane of all -inf gives NaN as in PyTorch).  Input and output keep their own strides
 * and the output its own dtype (stored with the CPU's conversion rules).
 * Follow-up for speed: float32 math for float32 lanes, a warp per lane for short lanes.
 */
#include "cuda_common.cuh"

struct sm_plan {
    int nk;
    int64_t ks[TD_MAX_DIMS], kin[TD_MAX_DIMS], kout[TD_MAX_DIMS]; /* other dims: size, bytes in, bytes out */
    int64_t lanes, len, din, dout;                                /* the softmax dim: length, bytes in, bytes out */
    const char *in;
    char *out;
    int odt;
    bool logsm;
};

template <bool MAX> __device__ double block_fold(double v, double *red)
{
    red[threadIdx.x] = v;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) {
            double a = red[threadIdx.x], b = red[threadIdx.x + w];
            red[threadIdx.x] = MAX ? ((b > a || b != b) ? b : a) : a + b;
        }
        __syncthreads();
    }
    double r = red[0];
    __syncthreads(); /* red[] is reused by the next fold */
    return r;
}

template <typename T> __global__ void __launch_bounds__(TD_CU_THREADS) softmax_kernel(const sm_plan p)
{
    __shared__ double red[TD_CU_THREADS];
    for (int64_t m = blockIdx.x; m < p.lanes; m += gridDim.x) {
        int64_t ki = 0, ko = 0, r = m;
        for (int d = p.nk - 1; d >= 0; d--) {
            int64_t q = r / p.ks[d], i = r - q * p.ks[d];
            ki += i * p.kin[d];
            ko += i * p.kout[d];
            r = q;
        }
        const char *x = p.in + ki;
        char *y = p.out + ko;
        double mx = -INFINITY, sum = 0;
        for (int64_t j = threadIdx.x; j < p.len; j += blockDim.x) {
            double v = (double)*(const T *)(x + j * p.din);
            if (v > mx || v != v)
                mx = v;
        }
        mx = block_fold<true>(mx, red);
        for (int64_t j = threadIdx.x; j < p.len; j += blockDim.x)
            sum += exp((double)*(const T *)(x + j * p.din) - mx);
        sum = block_fold<false>(sum, red);
        double ls = log(sum);
        for (int64_t j = threadIdx.x; j < p.len; j += blockDim.x) {
            double v = (double)*(const T *)(x + j * p.din);
            td_cu_store_f(p.odt, y + j * p.dout, p.logsm ? v - mx - ls : exp(v - mx) / sum);
        }
    }
}

static enum td_code cu_softmax(struct td_kctx *k)
{
    const struct td_meta *x = &k->in[0]->m;
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr <= TD_A_SOFTMAX_DIM || x->dtype != k->compute_dtype ||
        (x->dtype != TD_DTYPE_FLOAT32 && x->dtype != TD_DTYPE_FLOAT64))
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_meta *o = &k->out[0]->m;
    if (o->ndim != x->ndim || td_cu_dtype_size(o->dtype) == 0 || td_cu_dtype_is_complex(o->dtype))
        return TD_CODE_INVALID_ARGUMENT;
    for (int i = 0; i < x->ndim; i++)
        if (o->sizes[i] != x->sizes[i])
            return TD_CODE_INVALID_ARGUMENT;
    int64_t d = k->attrs[TD_A_SOFTMAX_DIM];
    int nd1 = x->ndim ? x->ndim : 1;
    if (d < 0)
        d += nd1;
    if (d < 0 || d >= nd1)
        return TD_CODE_INVALID_ARGUMENT;
    sm_plan p;
    memset(&p, 0, sizeof p);
    int64_t ei = td_cu_dtype_size(x->dtype), eo = td_cu_dtype_size(o->dtype);
    p.in = k->in[0]->data + x->offset * ei;
    p.out = k->out[0]->data + o->offset * eo;
    p.odt = o->dtype;
    p.logsm = k->op == TD_OP_LOG_SOFTMAX;
    p.len = x->ndim ? x->sizes[d] : 1;
    p.din = x->ndim ? x->strides[d] * ei : 0;
    p.dout = x->ndim ? o->strides[d] * eo : 0;
    p.lanes = 1;
    for (int i = 0; i < x->ndim; i++) {
        if (i == d)
            continue;
        p.lanes *= x->sizes[i];
        if (x->sizes[i] != 1) {
            p.ks[p.nk] = x->sizes[i];
            p.kin[p.nk] = x->strides[i] * ei;
            p.kout[p.nk] = o->strides[i] * eo;
            p.nk++;
        }
    }
    if (p.lanes == 0 || p.len == 0)
        return TD_CODE_OK;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    unsigned blocks = (unsigned)(p.lanes < TD_CU_MAX_BLOCKS ? p.lanes : TD_CU_MAX_BLOCKS);
    unsigned threads = p.len >= TD_CU_THREADS ? TD_CU_THREADS : (unsigned)((p.len + 31) / 32 * 32);
    /* the tree fold needs a power of two */
    unsigned pw = 32;
    while (pw < threads)
        pw <<= 1;
    cudaStream_t s = td_cu_stream_of(k->stream);
    if (x->dtype == TD_DTYPE_FLOAT64)
        softmax_kernel<double><<<blocks, pw, 0, s>>>(p);
    else
        softmax_kernel<float><<<blocks, pw, 0, s>>>(p);
    return td_cu_launched();
}

td_kernel_fn td__cuda_softmax_kernel(unsigned op, unsigned dt)
{
    if (dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64)
        return NULL;
    return op == TD_OP_SOFTMAX || op == TD_OP_LOG_SOFTMAX ? cu_softmax : NULL;
}
