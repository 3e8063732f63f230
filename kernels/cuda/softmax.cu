/*
 * softmax.cu — SOFTMAX and LOG_SOFTMAX along one dim, on the GPU.
 *
 * One thread block per lane (every index combination of the other dims): the block
 * finds the lane maximum (a NaN wins), sums exp(x - max), and writes exp(x - max) / sum
 * or x - max - log(sum), as kernels/cpu/math_dim.c does, in double like the CPU (so a
 * lane of all -inf gives NaN as in PyTorch).  Input and output keep their own strides
 * and the output its own dtype (stored with the CPU's conversion rules; float16/bfloat16
 * lanes are read as they are and stored through float32, as the CPU's casts do).
 * Follow-up for speed: float32 math for float32 lanes, a warp per lane for short lanes.
 */
#include "cuda_common.cuh"

struct sm_plan : td_cu_lanes {
    int odt;
    bool logsm;
};

template <typename T> __global__ void __launch_bounds__(TD_CU_THREADS) softmax_kernel(const sm_plan p)
{
    __shared__ double red[TD_CU_THREADS];
    for (int64_t m = blockIdx.x; m < p.lanes; m += gridDim.x) {
        const char *x;
        char *y;
        td_cu_lane_base(p, m, &x, &y);
        double mx = -INFINITY, sum = 0;
        for (int64_t j = threadIdx.x; j < p.len; j += blockDim.x) {
            double v = (double)td_cu_elem<T>::load(x + j * p.xs);
            if (v > mx || v != v)
                mx = v;
        }
        mx = td_cu_block_fold<TD_CU_FOLD_MAX>(mx, red);
        for (int64_t j = threadIdx.x; j < p.len; j += blockDim.x)
            sum += exp((double)td_cu_elem<T>::load(x + j * p.xs) - mx);
        sum = td_cu_block_fold<TD_CU_FOLD_SUM>(sum, red);
        double ls = log(sum);
        for (int64_t j = threadIdx.x; j < p.len; j += blockDim.x) {
            double v = (double)td_cu_elem<T>::load(x + j * p.xs);
            td_cu_store_f(p.odt, y + j * p.ys, p.logsm ? v - mx - ls : exp(v - mx) / sum);
        }
    }
}

static enum td_code cu_softmax(struct td_kctx *k)
{
    const struct td_meta *x = &k->in[0]->m;
    if (x->dtype != TD_DTYPE_FLOAT32 && x->dtype != TD_DTYPE_FLOAT64 && !td_cu_is_half(x->dtype))
        return TD_CODE_INVALID_ARGUMENT;
    sm_plan p;
    if (!td_cu_lanes_plan(k, TD_A_SOFTMAX_DIM, &p))
        return TD_CODE_INVALID_ARGUMENT;
    p.odt = k->out[0]->m.dtype;
    p.logsm = k->op == TD_OP_LOG_SOFTMAX;
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
    else if (x->dtype == TD_DTYPE_FLOAT16)
        softmax_kernel<td_cu_f16><<<blocks, pw, 0, s>>>(p);
    else if (x->dtype == TD_DTYPE_BFLOAT16)
        softmax_kernel<td_cu_bf16><<<blocks, pw, 0, s>>>(p);
    else
        softmax_kernel<float><<<blocks, pw, 0, s>>>(p);
    return td_cu_launched();
}

/* dt: float32/64, or float16/bfloat16 for the native path (device.h's half_kernel) */
td_kernel_fn td__cuda_softmax_kernel(unsigned op, unsigned dt)
{
    if (dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64 && !td_cu_is_half((int)dt))
        return NULL;
    return op == TD_OP_SOFTMAX || op == TD_OP_LOG_SOFTMAX ? cu_softmax : NULL;
}
