/*
 * sort.cu — SORT (values and int64 indices; ascending or descending; with k, the first
 * k of the order: topk, kthvalue) on the GPU through CUB's radix sort, for the 8
 * compute dtypes.  As kernels/cpu/sort.c: stable in both directions (equal keys keep
 * their input order), NaN above everything (last ascending, first descending), -0.0
 * equal to +0.0.  The keys are sort_ops.cuh's order-preserving unsigned integers.
 *
 * Every slice along the dim is gathered into one array of keys with their global
 * positions; one stable radix sort orders the keys (descending sorts descend); when
 * there are several slices, a second stable sort by slice number regroups them, so
 * each slice keeps its keys' order.  Then the first k of each slice are written: the
 * index (position in the slice) and the value read back from the input at that index,
 * so NaN payloads and signed zeros come out as they went in.  Scratch is stream-ordered
 * (cudaMallocAsync).  The ROCm build has no CUB here: SORT is staged there.
 */
#include "sort_ops.cuh"

#if !TD_GPU_HIP
#include <cub/device/device_radix_sort.cuh>

struct sort_plan {
    int nk;
    int64_t lanes, len, kk, n;                        /* n = lanes * len */
    int64_t xs, vs, is;                               /* along the dim: bytes */
    int64_t ks[TD_MAX_DIMS], kx[TD_MAX_DIMS], kv[TD_MAX_DIMS], ki[TD_MAX_DIMS];
    const char *x;
    char *v, *ix;
};

__device__ __forceinline__ void lane_offs(const sort_plan &p, int64_t m, int64_t *ox, int64_t *ov, int64_t *oi)
{
    *ox = *ov = *oi = 0;
    for (int d = p.nk - 1; d >= 0; d--) {
        int64_t q = m / p.ks[d], i = m - q * p.ks[d];
        *ox += i * p.kx[d], *ov += i * p.kv[d], *oi += i * p.ki[d];
        m = q;
    }
}

template <typename T, typename K> __global__ void __launch_bounds__(TD_CU_THREADS) sort_gather(const sort_plan p, K *keys, int64_t *pos)
{
    for (int64_t g = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; g < p.n; g += (int64_t)gridDim.x * blockDim.x) {
        int64_t m = g / p.len, j = g - m * p.len, ox, ov, oi;
        lane_offs(p, m, &ox, &ov, &oi);
        keys[g] = td_cu_sort_key<T>(*(const T *)(p.x + ox + j * p.xs));
        pos[g] = g;
    }
}

/* slice numbers of the sorted positions, the keys of the regrouping sort */
__global__ void __launch_bounds__(TD_CU_THREADS) sort_lanes(const int64_t *pos, uint64_t *lane, int64_t n, int64_t len)
{
    for (int64_t g = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; g < n; g += (int64_t)gridDim.x * blockDim.x)
        lane[g] = (uint64_t)(pos[g] / len);
}

template <typename T> __global__ void __launch_bounds__(TD_CU_THREADS) sort_write(const sort_plan p, const int64_t *pos)
{
    int64_t total = p.lanes * p.kk;
    for (int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (int64_t)gridDim.x * blockDim.x) {
        int64_t m = t / p.kk, j = t - m * p.kk, ox, ov, oi;
        int64_t src = pos[m * p.len + j] - m * p.len; /* the position in its slice */
        lane_offs(p, m, &ox, &ov, &oi);
        *(T *)(p.v + ov + j * p.vs) = *(const T *)(p.x + ox + src * p.xs);
        *(int64_t *)(p.ix + oi + j * p.is) = src;
    }
}

static unsigned grid_for(int64_t n)
{
    int64_t b = (n + TD_CU_THREADS - 1) / TD_CU_THREADS;
    return (unsigned)(b < TD_CU_MAX_BLOCKS ? b : TD_CU_MAX_BLOCKS);
}

template <typename T> static enum td_code sort_typed(struct td_kctx *k, const sort_plan &p, bool desc)
{
    typedef typename td_cu_key_type<T>::type K;
    cudaStream_t s = td_cu_stream_of(k->stream);
    K *keys[2] = {NULL, NULL};
    int64_t *pos[2] = {NULL, NULL};
    uint64_t *lane = NULL;
    void *tmp = NULL;
    size_t tb1 = 0, tb2 = 0;
    enum td_code rc = TD_CODE_RESOURCE_EXHAUSTED;
    int bits = td_cu_key_bits<T>();
    int lbits = 1;
    while (lbits < 64 && ((uint64_t)1 << lbits) < (uint64_t)p.lanes)
        lbits++;
    size_t n = (size_t)p.n;
    /* temporary storage sizes first (no work is done) */
    if ((desc ? cub::DeviceRadixSort::SortPairsDescending(NULL, tb1, keys[0], keys[1], pos[0], pos[1], p.n, 0, bits, s)
              : cub::DeviceRadixSort::SortPairs(NULL, tb1, keys[0], keys[1], pos[0], pos[1], p.n, 0, bits, s)) !=
            cudaSuccess ||
        (p.lanes > 1 && cub::DeviceRadixSort::SortPairs(NULL, tb2, lane, lane, pos[1], pos[0], p.n, 0, lbits, s) != cudaSuccess)) {
        (void)cudaGetLastError();
        return TD_CODE_INTERNAL;
    }
    size_t tb = tb1 > tb2 ? tb1 : tb2;
    if (cudaMallocAsync((void **)&keys[0], n * sizeof(K), s) != cudaSuccess ||
        cudaMallocAsync((void **)&keys[1], n * sizeof(K), s) != cudaSuccess ||
        cudaMallocAsync((void **)&pos[0], n * 8, s) != cudaSuccess || cudaMallocAsync((void **)&pos[1], n * 8, s) != cudaSuccess ||
        (p.lanes > 1 && cudaMallocAsync((void **)&lane, n * 8, s) != cudaSuccess) ||
        cudaMallocAsync(&tmp, tb ? tb : 1, s) != cudaSuccess)
        goto out;
    sort_gather<T, K><<<grid_for(p.n), TD_CU_THREADS, 0, s>>>(p, keys[0], pos[0]);
    if ((desc ? cub::DeviceRadixSort::SortPairsDescending(tmp, tb1, keys[0], keys[1], pos[0], pos[1], p.n, 0, bits, s)
              : cub::DeviceRadixSort::SortPairs(tmp, tb1, keys[0], keys[1], pos[0], pos[1], p.n, 0, bits, s)) != cudaSuccess) {
        rc = TD_CODE_INTERNAL;
        goto out;
    }
    if (p.lanes > 1) { /* regroup by slice, stably: pos[1] -> pos[0] */
        sort_lanes<<<grid_for(p.n), TD_CU_THREADS, 0, s>>>(pos[1], lane, p.n, p.len);
        uint64_t *lane_out = (uint64_t *)keys[0]; /* free now; big enough only for 64-bit keys */
        bool own = sizeof(K) != 8;
        if (own && cudaMallocAsync((void **)&lane_out, n * 8, s) != cudaSuccess)
            goto out;
        cudaError_t e = cub::DeviceRadixSort::SortPairs(tmp, tb2, lane, lane_out, pos[1], pos[0], p.n, 0, lbits, s);
        if (own)
            (void)cudaFreeAsync(lane_out, s);
        if (e != cudaSuccess) {
            rc = TD_CODE_INTERNAL;
            goto out;
        }
        sort_write<T><<<grid_for(p.lanes * p.kk), TD_CU_THREADS, 0, s>>>(p, pos[0]);
    } else {
        sort_write<T><<<grid_for(p.lanes * p.kk), TD_CU_THREADS, 0, s>>>(p, pos[1]);
    }
    rc = td_cu_launched();
out:
    if (rc != TD_CODE_OK)
        (void)cudaGetLastError();
    for (int i = 0; i < 2; i++) {
        if (keys[i])
            (void)cudaFreeAsync(keys[i], s);
        if (pos[i])
            (void)cudaFreeAsync(pos[i], s);
    }
    if (lane)
        (void)cudaFreeAsync(lane, s);
    if (tmp)
        (void)cudaFreeAsync(tmp, s);
    return rc;
}

static enum td_code cu_sort(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 2 || k->n_attr < TD_A_SORT_K || k->in[0]->m.dtype != k->compute_dtype)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_meta *x = &k->in[0]->m, *v = &k->out[0]->m, *ix = &k->out[1]->m;
    int nd = x->ndim;
    int64_t dim = k->attrs[TD_A_SORT_DIM], want = k->n_attr >= TD_N_SORT ? k->attrs[TD_A_SORT_K] : -1;
    if (dim < 0)
        dim += nd ? nd : 1;
    if (dim < 0 || dim >= (nd ? nd : 1) || v->dtype != x->dtype || ix->dtype != TD_DTYPE_INT64 || v->ndim != nd ||
        ix->ndim != nd)
        return TD_CODE_INVALID_ARGUMENT;
    sort_plan p;
    memset(&p, 0, sizeof p);
    p.len = nd ? x->sizes[dim] : 1;
    p.kk = nd ? v->sizes[dim] : 1;
    if (p.kk > p.len || (nd && ix->sizes[dim] != p.kk) || (want >= 0 && nd && want != p.kk))
        return TD_CODE_INVALID_ARGUMENT;
    int64_t es = td_cu_dtype_size(x->dtype);
    p.x = k->in[0]->data + x->offset * es;
    p.v = k->out[0]->data + v->offset * es;
    p.ix = k->out[1]->data + ix->offset * 8;
    p.xs = nd ? x->strides[dim] * es : 0, p.vs = nd ? v->strides[dim] * es : 0, p.is = nd ? ix->strides[dim] * 8 : 0;
    p.lanes = 1;
    for (int i = 0; i < nd; i++) {
        if (i == dim)
            continue;
        if (v->sizes[i] != x->sizes[i] || ix->sizes[i] != x->sizes[i])
            return TD_CODE_INVALID_ARGUMENT;
        p.lanes *= x->sizes[i];
        if (x->sizes[i] != 1) {
            p.ks[p.nk] = x->sizes[i], p.kx[p.nk] = x->strides[i] * es, p.kv[p.nk] = v->strides[i] * es;
            p.ki[p.nk] = ix->strides[i] * 8;
            p.nk++;
        }
    }
    p.n = p.lanes * p.len;
    if (p.n == 0 || p.kk == 0)
        return TD_CODE_OK;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    bool desc = k->attrs[TD_A_SORT_DESCENDING] != 0;
    TD_CU_DISPATCH(x->dtype, return sort_typed<T>(k, p, desc));
    return TD_CODE_OK;
}

td_kernel_fn td__cuda_sort_kernel(unsigned op, unsigned dt)
{
    if (!td_cu_compute_dtype((int)dt))
        return NULL;
    return op == TD_OP_SORT ? cu_sort : NULL;
}

#else /* ROCm: no CUB in this build (hipCUB would be the counterpart) */

td_kernel_fn td__cuda_sort_kernel(unsigned op, unsigned dt)
{
    (void)op, (void)dt;
    return NULL;
}
#endif
