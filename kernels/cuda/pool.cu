/*
 * pool.cu — the pooling rows of the CONV family on the GPU, float32/float64, 1-3
 * spatial dims: MAX_POOL, ADAPTIVE_MAX_POOL (values and int64 indices), AVG_POOL,
 * ADAPTIVE_AVG_POOL, AVG_POOL_BACKWARD, ADAPTIVE_AVG_POOL_BACKWARD, MAX_POOL_BACKWARD.
 * cuDNN's pooling gives no indices, so these are the plugin's own kernels; the element
 * logic is pool_ops.cuh (shared with the host tests).  Operands that are not
 * contiguous are first copied to contiguous scratch (td__cuda_dense).
 */
#include "pool_ops.cuh"

const void *td__cuda_dense(struct td_kctx *k, struct td_kt *t, void **scratch, enum td_code *fail)
{
    const struct td_meta *m = &t->m;
    int64_t st = 1, n = 1;
    bool ok = true;
    for (int d = m->ndim - 1; d >= 0; d--) {
        if (m->sizes[d] != 1 && m->strides[d] != st)
            ok = false;
        st *= m->sizes[d];
        n *= m->sizes[d];
    }
    *scratch = NULL;
    int es = td_cu_dtype_size(m->dtype);
    if (ok)
        return t->data + m->offset * es;
    cudaStream_t s = td_cu_stream_of(k->stream);
    if (cudaMallocAsync(scratch, (size_t)(n > 0 ? n : 1) * es, s) != cudaSuccess) {
        (void)cudaGetLastError();
        *scratch = NULL;
        *fail = TD_CODE_RESOURCE_EXHAUSTED;
        return NULL;
    }
    struct td_kt d;
    memset(&d, 0, sizeof d);
    d.m.dtype = m->dtype;
    d.m.ndim = m->ndim;
    st = 1;
    for (int i = m->ndim - 1; i >= 0; i--)
        d.m.sizes[i] = m->sizes[i], d.m.strides[i] = st, st *= m->sizes[i];
    d.m.storage_nbytes = n * es;
    d.data = (char *)*scratch;
    struct td_kctx c;
    memset(&c, 0, sizeof c);
    c.op = TD_OP_COPY_;
    c.compute_dtype = m->dtype;
    c.n_in = 2;
    c.in[0] = &d;
    c.in[1] = t;
    c.stream = k->stream;
    c.device = k->device;
    td_kernel_fn cp = td__cuda_copy_kernel(TD_OP_COPY_, m->dtype);
    if (!cp || (*fail = cp(&c)) != TD_CODE_OK) {
        if (!cp)
            *fail = TD_CODE_INVALID_ARGUMENT;
        (void)cudaFreeAsync(*scratch, s);
        *scratch = NULL;
        return NULL;
    }
    return *scratch;
}

template <typename T> __global__ void __launch_bounds__(TD_CU_THREADS) pool_fwd(const struct td_cu_pool q, int64_t n)
{
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        td_cu_pool_fwd<T>(q, e);
}

template <typename T> __global__ void __launch_bounds__(TD_CU_THREADS) pool_avg_back(const struct td_cu_pool q, int64_t n)
{
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        td_cu_avg_back<T>(q, e);
}

template <typename T>
__global__ void __launch_bounds__(TD_CU_THREADS) pool_max_back(const struct td_cu_pool q, int64_t n, const struct td_cu_ierr_slot err)
{
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        td_cu_max_back<T>(q, e, err);
}

static unsigned grid_for(int64_t n)
{
    int64_t b = (n + TD_CU_THREADS - 1) / TD_CU_THREADS;
    return (unsigned)(b < TD_CU_MAX_BLOCKS ? b : TD_CU_MAX_BLOCKS);
}

static enum td_code cu_pool(struct td_kctx *k)
{
    struct td_cu_pool q;
    enum td_code c = td_cu_pool_plan_make(k, &q);
    if (c)
        return c;
    int dt = k->compute_dtype;
    bool half = td_cu_is_half(dt);
    if ((dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64 && !half) || k->out[0]->m.dtype != dt ||
        (half && k->op == TD_OP_MAX_POOL_BACKWARD))
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    cudaStream_t s = td_cu_stream_of(k->stream);
    bool f64 = dt == TD_DTYPE_FLOAT64;
    void *scr[2] = {NULL, NULL};
    if (q.backward) {
        int64_t n = q.planes * q.X;
        if (n == 0)
            return TD_CODE_OK;
        c = TD_CODE_OK;
        if (!(q.go = (const char *)td__cuda_dense(k, k->in[0], &scr[0], &c)))
            return c;
        if (k->op == TD_OP_MAX_POOL_BACKWARD) {
            struct td_cu_ierr_slot err;
            if (!(q.ix = (const int64_t *)td__cuda_dense(k, k->in[2], &scr[1], &c)))
                goto out;
            if (!td__cuda_ierr_slot(k, &err)) {
                c = TD_CODE_RESOURCE_EXHAUSTED;
                goto out;
            }
            if (cudaMemsetAsync(q.gx, 0, (size_t)n * (f64 ? 8 : 4), s) != cudaSuccess) {
                (void)cudaGetLastError();
                c = TD_CODE_INTERNAL;
                goto out;
            }
            int64_t m = q.planes * q.P;
            if (m > 0) {
                if (f64)
                    pool_max_back<double><<<grid_for(m), TD_CU_THREADS, 0, s>>>(q, m, err);
                else
                    pool_max_back<float><<<grid_for(m), TD_CU_THREADS, 0, s>>>(q, m, err);
            }
        } else if (f64) {
            pool_avg_back<double><<<grid_for(n), TD_CU_THREADS, 0, s>>>(q, n);
        } else if (half) {
            TD_CU_DISPATCH_HALF(dt, pool_avg_back<T><<<grid_for(n), TD_CU_THREADS, 0, s>>>(q, n));
        } else {
            pool_avg_back<float><<<grid_for(n), TD_CU_THREADS, 0, s>>>(q, n);
        }
    } else {
        int64_t n = q.planes * q.P;
        if (n == 0)
            return TD_CODE_OK;
        c = TD_CODE_OK;
        if (!(q.x = (const char *)td__cuda_dense(k, k->in[0], &scr[0], &c)))
            return c;
        if (f64) {
            pool_fwd<double><<<grid_for(n), TD_CU_THREADS, 0, s>>>(q, n);
        } else if (half) {
            TD_CU_DISPATCH_HALF(dt, pool_fwd<T><<<grid_for(n), TD_CU_THREADS, 0, s>>>(q, n));
        } else {
            pool_fwd<float><<<grid_for(n), TD_CU_THREADS, 0, s>>>(q, n);
        }
    }
    c = td_cu_launched();
out:
    for (int i = 0; i < 2; i++)
        if (scr[i])
            (void)cudaFreeAsync(scr[i], s);
    return c;
}

/* dt: float32/64, or float16/bfloat16 for the native path (device.h's half_kernel; not
 * MAX_POOL_BACKWARD, whose atomic adds are float32/64) */
td_kernel_fn td__cuda_pool_kernel(unsigned op, unsigned dt)
{
    if (dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64 && (!td_cu_is_half((int)dt) || op == TD_OP_MAX_POOL_BACKWARD))
        return NULL;
    switch (op) {
    case TD_OP_MAX_POOL:
    case TD_OP_ADAPTIVE_MAX_POOL:
    case TD_OP_AVG_POOL:
    case TD_OP_ADAPTIVE_AVG_POOL:
    case TD_OP_AVG_POOL_BACKWARD:
    case TD_OP_ADAPTIVE_AVG_POOL_BACKWARD:
    case TD_OP_MAX_POOL_BACKWARD: return cu_pool;
    default: return NULL;
    }
}
