/*
 * scan.cu — CUMSUM and CUMPROD along one dim on the GPU, for the 8 compute dtypes,
 * output in its own dtype and strides (in place too); CUMMAX, CUMMIN (with indices) and
 * LOGCUMSUMEXP one lane per thread, the CPU's serial loop.  As kernels/cpu/math_dim.c:
 * floats accumulate in double, integers and bool in uint64 (wrapping), every partial
 * stored with the CPU's conversions.
 *
 * Two schedules.  Many lanes or short ones: one thread per lane runs the CPU's serial
 * loop (sort_ops.cuh's td_cu_cum_lane), equal to the CPU bit for bit.  A few long lanes
 * (fewer than 1024 lanes of more than 4096 elements): one block per lane scans tiles
 * of 2048 elements (8 per thread, then a block scan of the threads' totals, then the
 * running carry).  Integer results are still exact (uint64 arithmetic is associative);
 * float partial sums and products are grouped differently, so they may differ from the
 * CPU's in the last bits of the double accumulator (rarely visible in float32).
 */
#include "sort_ops.cuh"

#define SCAN_ITEMS 8
#define SCAN_TILE (TD_CU_THREADS * SCAN_ITEMS)

struct scan_plan : td_cu_lanes {
    int ydt;
    bool prod;
};

template <typename T> __global__ void __launch_bounds__(TD_CU_THREADS) scan_serial(const scan_plan p)
{
    for (int64_t m = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; m < p.lanes; m += (int64_t)gridDim.x * blockDim.x) {
        const char *x;
        char *y;
        td_cu_lane_base(p, m, &x, &y);
        td_cu_cum_lane<T>(p.prod, x, p.xs, y, p.ys, p.ydt, p.len);
    }
}

template <typename T, typename A> __global__ void __launch_bounds__(TD_CU_THREADS) scan_block(const scan_plan p)
{
    __shared__ A sh[TD_CU_THREADS];
    for (int64_t m = blockIdx.x; m < p.lanes; m += gridDim.x) {
        const char *x;
        char *y;
        td_cu_lane_base(p, m, &x, &y);
        A carry = p.prod ? (A)1 : (A)0;
        for (int64_t t0 = 0; t0 < p.len; t0 += SCAN_TILE) {
            A v[SCAN_ITEMS], run = p.prod ? (A)1 : (A)0;
            int64_t b = t0 + (int64_t)threadIdx.x * SCAN_ITEMS;
            for (int i = 0; i < SCAN_ITEMS; i++) {
                A e = p.prod ? (A)1 : (A)0;
                if (b + i < p.len) {
                    if constexpr (std::is_same<A, double>::value)
                        e = (double)*(const T *)(x + (b + i) * p.xs);
                    else
                        e = (uint64_t)(int64_t)*(const T *)(x + (b + i) * p.xs);
                }
                run = p.prod ? run * e : run + e;
                v[i] = run;
            }
            /* exclusive scan of the threads' totals */
            sh[threadIdx.x] = run;
            __syncthreads();
            for (int w = 1; w < TD_CU_THREADS; w <<= 1) {
                A o = threadIdx.x >= (unsigned)w ? sh[threadIdx.x - w] : (p.prod ? (A)1 : (A)0);
                __syncthreads();
                sh[threadIdx.x] = p.prod ? sh[threadIdx.x] * o : sh[threadIdx.x] + o;
                __syncthreads();
            }
            A before = threadIdx.x ? sh[threadIdx.x - 1] : (p.prod ? (A)1 : (A)0), total = sh[TD_CU_THREADS - 1];
            __syncthreads();
            A off = p.prod ? carry * before : carry + before;
            for (int i = 0; i < SCAN_ITEMS; i++)
                if (b + i < p.len) {
                    A r = p.prod ? off * v[i] : off + v[i];
                    if constexpr (std::is_same<A, double>::value)
                        td_cu_store_f64(p.ydt, y + (b + i) * p.ys, r);
                    else
                        td_cu_store_i(p.ydt, y + (b + i) * p.ys, (int64_t)r);
                }
            carry = p.prod ? carry * total : carry + total;
        }
    }
}

static enum td_code cu_cum(struct td_kctx *k)
{
    scan_plan p;
    if (!td_cu_lanes_plan(k, TD_A_CUMULATIVE_DIM, &p))
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_meta *x = &k->in[0]->m;
    p.ydt = k->out[0]->m.dtype;
    p.prod = k->op == TD_OP_CUMPROD;
    if (p.lanes == 0 || p.len == 0)
        return TD_CODE_OK;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    cudaStream_t s = td_cu_stream_of(k->stream);
    bool block = p.lanes < 1024 && p.len > 4096;
    int64_t nb = block ? p.lanes : (p.lanes + TD_CU_THREADS - 1) / TD_CU_THREADS;
    unsigned g = (unsigned)(nb < TD_CU_MAX_BLOCKS ? nb : TD_CU_MAX_BLOCKS);
    bool fl = x->dtype == TD_DTYPE_FLOAT32 || x->dtype == TD_DTYPE_FLOAT64;
    if (block && fl) {
        TD_CU_DISPATCH(x->dtype, scan_block<T, double><<<g, TD_CU_THREADS, 0, s>>>(p));
    } else if (block) {
        TD_CU_DISPATCH(x->dtype, scan_block<T, uint64_t><<<g, TD_CU_THREADS, 0, s>>>(p));
    } else {
        TD_CU_DISPATCH(x->dtype, scan_serial<T><<<g, TD_CU_THREADS, 0, s>>>(p));
    }
    return td_cu_launched();
}

/* CUMMAX / CUMMIN (values and int64 indices) and LOGCUMSUMEXP: one thread per lane
 * runs the CPU's serial loop (sort_ops.cuh's td_cu_cumext_lane), bit for bit. */
struct ext_plan : td_cu_lanes {
    int op, ydt;
    char *ix;         /* the indices' base; their element strides are the values' */
    int64_t ix_per_y; /* bytes of index per byte of value: 8 / the value size */
};

template <typename T> __global__ void __launch_bounds__(TD_CU_THREADS) cumext_serial(const ext_plan p)
{
    for (int64_t m = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; m < p.lanes; m += (int64_t)gridDim.x * blockDim.x) {
        const char *x;
        char *y;
        td_cu_lane_base(p, m, &x, &y);
        char *ix = p.ix ? p.ix + (y - p.y) * p.ix_per_y : NULL;
        td_cu_cumext_lane<T>(p.op, x, p.xs, y, p.ys, p.ydt, ix, p.ys * p.ix_per_y, p.len);
    }
}

static enum td_code cu_cumext(struct td_kctx *k)
{
    ext_plan p;
    if (!td_cu_lanes_plan(k, TD_A_CUMULATIVE_DIM, &p))
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_meta *x = &k->in[0]->m, *y = &k->out[0]->m;
    p.op = k->op;
    p.ydt = y->dtype;
    p.ix = NULL;
    p.ix_per_y = 0;
    bool fl = x->dtype == TD_DTYPE_FLOAT32 || x->dtype == TD_DTYPE_FLOAT64;
    if (k->op == TD_OP_LOGCUMSUMEXP && !fl)
        return TD_CODE_INVALID_ARGUMENT;
    if (k->op != TD_OP_LOGCUMSUMEXP) {
        const struct td_meta *im;
        int ey = td_cu_dtype_size(y->dtype);
        /* the indices laid out as the values (fresh outputs are), 8 bytes to the element */
        if (k->n_out < 2 || (im = &k->out[1]->m)->dtype != TD_DTYPE_INT64 || im->ndim != y->ndim ||
            memcmp(im->strides, y->strides, sizeof(int64_t) * y->ndim) != 0 || ey == 0 || 8 % ey != 0)
            return TD_CODE_INVALID_ARGUMENT;
        p.ix = k->out[1]->data + im->offset * 8;
        p.ix_per_y = 8 / ey;
    }
    if (p.lanes == 0 || p.len == 0)
        return TD_CODE_OK;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    int64_t nb = (p.lanes + TD_CU_THREADS - 1) / TD_CU_THREADS;
    unsigned g = (unsigned)(nb < TD_CU_MAX_BLOCKS ? nb : TD_CU_MAX_BLOCKS);
    TD_CU_DISPATCH(x->dtype, cumext_serial<T><<<g, TD_CU_THREADS, 0, td_cu_stream_of(k->stream)>>>(p));
    return td_cu_launched();
}

td_kernel_fn td__cuda_scan_kernel(unsigned op, unsigned dt)
{
    if (!td_cu_compute_dtype((int)dt))
        return NULL;
    switch (op) {
    case TD_OP_CUMSUM:
    case TD_OP_CUMPROD: return cu_cum;
    case TD_OP_CUMMAX:
    case TD_OP_CUMMIN: return cu_cumext;
    case TD_OP_LOGCUMSUMEXP: return td_cu_dtype_is_float((int)dt) ? cu_cumext : NULL;
    default: return NULL;
    }
}
