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
 * MEDIAN, MEDIAN_DIM and MODE sort their lanes the same way, then pick per lane.
 * SEARCHSORTED (a binary search per value, sort_ops.cuh's td_cu_bound) and HISTC
 * (atomic uint64 counts) need no CUB and run in both builds.
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

/* ---- MEDIAN (every dim), MEDIAN_DIM and MODE (one dim), as math_stat.c: each lane
 * is sorted by SORT above (stable, NaN last) into scratch, then one thread per lane
 * picks: the lower median, or the first NaN when the lane has one; the most frequent
 * value (the smallest on ties, NaNs equal to each other) and its last index. */
struct pick_plan {
    int op, nk, es, dt;
    bool fl;
    int64_t lanes, len, ss;                                               /* ss: byte stride along the lane */
    int64_t ks[TD_MAX_DIMS], ksc[TD_MAX_DIMS], ko0[TD_MAX_DIMS], ko1[TD_MAX_DIMS]; /* bytes */
    const char *sv;
    const int64_t *si; /* the sorted values and their positions (scratch, x's shape) */
    char *o0, *o1;     /* o1: the index output, or NULL */
};

template <typename T> __global__ void __launch_bounds__(TD_CU_THREADS) pick_kernel(const pick_plan p)
{
    for (int64_t m = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; m < p.lanes; m += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = m, os = 0, o0 = 0, o1 = 0;
        for (int d = p.nk - 1; d >= 0; d--) {
            int64_t q = r / p.ks[d], i = r - q * p.ks[d];
            os += i * p.ksc[d], o0 += i * p.ko0[d], o1 += i * p.ko1[d];
            r = q;
        }
        const char *v = p.sv + os;
        const int64_t *ix = (const int64_t *)((const char *)p.si + os / p.es * 8);
        int64_t n = p.len, st = p.ss / p.es, at = 0;
#define VAL(j) (*(const T *)(v + (j) * p.ss))
#define ISNAN(j) (p.fl && VAL(j) != VAL(j))
        if (p.op != TD_OP_MODE) {
            at = (n - 1) / 2;
            if (n && ISNAN(n - 1)) /* a NaN: the first one */
                for (at = n - 1; at > 0 && ISNAN(at - 1); at--)
                    ;
        } else {
            int64_t best = 0, run = 0;
            for (int64_t j = 0; j < n; j++) {
                bool same = j && (VAL(j) == VAL(j - 1) || (ISNAN(j) && ISNAN(j - 1)));
                run = same ? run + 1 : 1;
                if (run > best)
                    best = run, at = j;
                else if (run == best && VAL(at) == VAL(j))
                    at = j;
            }
        }
#undef VAL
#undef ISNAN
        if (n == 0) {
            td_cu_store_f64(p.dt, p.o0 + o0, p.fl ? NAN : 0.0); /* an empty lane: NaN, or 0 */
            if (p.o1)
                *(int64_t *)(p.o1 + o1) = 0;
            continue;
        }
        memcpy(p.o0 + o0, v + at * p.ss, (size_t)p.es);
        if (p.o1)
            *(int64_t *)(p.o1 + o1) = ix[at * st];
    }
}

static enum td_code cu_median_mode(struct td_kctx *k)
{
    bool all = k->op == TD_OP_MEDIAN;
    int nout = all ? 1 : 2;
    if (k->n_in != 1 || k->n_out < nout || k->n_attr < TD_N_MEDIAN)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *x = k->in[0];
    const struct td_meta *xm = &x->m, *om = &k->out[0]->m;
    int nd = xm->ndim, es = td_cu_dtype_size(xm->dtype);
    uint64_t mask = (uint64_t)k->attrs[TD_A_MEDIAN_DIM] & (nd >= 64 ? ~0ull : ((1ull << nd) - 1));
    bool keep = k->attrs[TD_A_MEDIAN_KEEPDIM] != 0;
    int dim = nd ? __builtin_ctzll(mask | (1ull << 63)) : 0;
    if (om->dtype != xm->dtype || (!all && (k->out[1]->m.dtype != TD_DTYPE_INT64 || k->out[1]->m.ndim != om->ndim)) ||
        (!all && nd && __builtin_popcountll(mask) != 1))
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    cudaStream_t s = td_cu_stream_of(k->stream);
    int64_t n = 1;
    for (int d = 0; d < nd; d++)
        n *= xm->sizes[d];
    /* the lanes to sort: x itself, or (MEDIAN) x flattened into one contiguous lane */
    struct td_kt src = *x, sv, si;
    void *scr[3] = {NULL, NULL, NULL};
    enum td_code c = TD_CODE_OK;
    if (all) {
        if (!td__cuda_dense(k, x, &scr[0], &c))
            return c;
        src.data = scr[0] ? (char *)scr[0] : x->data + xm->offset * es;
        src.m.offset = 0, src.m.ndim = 1, src.m.sizes[0] = n, src.m.strides[0] = 1;
        dim = 0, nd = 1;
    }
    sv = src, si = src;
    if (cudaMallocAsync(&scr[1], (size_t)(n ? n : 1) * es, s) != cudaSuccess ||
        cudaMallocAsync(&scr[2], (size_t)(n ? n : 1) * 8, s) != cudaSuccess) {
        (void)cudaGetLastError();
        c = TD_CODE_RESOURCE_EXHAUSTED;
        goto out;
    }
    {
        int64_t st = 1; /* both scratch tensors contiguous in the lanes' shape */
        for (int d = nd - 1; d >= 0; d--)
            sv.m.strides[d] = si.m.strides[d] = st, st *= src.m.sizes[d];
        sv.m.offset = si.m.offset = 0;
        sv.data = (char *)scr[1], si.data = (char *)scr[2];
        si.m.dtype = TD_DTYPE_INT64;
        int64_t len = nd ? src.m.sizes[dim] : 1;
        struct td_kctx sk;
        memset(&sk, 0, sizeof sk);
        int64_t sa[4] = {dim, 0, 1, len};
        sk.op = TD_OP_SORT, sk.compute_dtype = xm->dtype, sk.n_in = 1, sk.n_out = 2;
        sk.in[0] = &src, sk.out[0] = &sv, sk.out[1] = &si, sk.attrs = sa, sk.n_attr = 4;
        sk.stream = k->stream, sk.device = k->device;
        if (n && (c = cu_sort(&sk)) != TD_CODE_OK)
            goto out;
        pick_plan p;
        memset(&p, 0, sizeof p);
        p.op = k->op, p.es = es, p.dt = xm->dtype, p.fl = xm->dtype == TD_DTYPE_FLOAT32 || xm->dtype == TD_DTYPE_FLOAT64;
        p.len = len, p.ss = nd ? sv.m.strides[dim] * es : es;
        p.sv = sv.data, p.si = (const int64_t *)si.data;
        p.o0 = k->out[0]->data + om->offset * es;
        p.o1 = all ? NULL : k->out[1]->data + k->out[1]->m.offset * 8;
        p.lanes = 1;
        int od = 0; /* the outputs' dims: x's kept dims, and the reduced one when keepdim */
        for (int d = 0; d < nd; d++) {
            bool red = all || d == dim;
            if (!red) {
                p.lanes *= src.m.sizes[d];
                if (src.m.sizes[d] != 1) {
                    p.ks[p.nk] = src.m.sizes[d], p.ksc[p.nk] = sv.m.strides[d] * es;
                    p.ko0[p.nk] = om->strides[od] * es;
                    p.ko1[p.nk] = all ? 0 : k->out[1]->m.strides[od] * 8;
                    p.nk++;
                }
            }
            od += !red || (keep && !all);
        }
        if (p.lanes) {
            int64_t nb = (p.lanes + TD_CU_THREADS - 1) / TD_CU_THREADS;
            TD_CU_DISPATCH(xm->dtype, pick_kernel<T><<<(unsigned)(nb < TD_CU_MAX_BLOCKS ? nb : TD_CU_MAX_BLOCKS),
                                                        TD_CU_THREADS, 0, s>>>(p));
            c = td_cu_launched();
        }
    }
out:
    for (int i = 0; i < 3; i++)
        if (scr[i])
            (void)cudaFreeAsync(scr[i], s);
    return c;
}

#define HAVE_CU_SORT 1
#endif /* ROCm: no CUB in this build (hipCUB would be the counterpart): SORT is staged */

/* ---- SEARCHSORTED (sort.c's): one thread per value binary-searches its row of the
 * sorted sequence (the one row, or the row paired with the value's leading indices) */
struct ss_args {
    const char *s, *v;
    char *o;
    int vnd;
    bool batched, right, i32;
    int64_t n, len, sstep;                                    /* values; row length and byte stride */
    int64_t vsz[TD_MAX_DIMS], vst[TD_MAX_DIMS], sst[TD_MAX_DIMS]; /* byte strides */
};

template <typename T> __global__ void __launch_bounds__(TD_CU_THREADS) ss_kernel(const ss_args a)
{
    for (int64_t p = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; p < a.n; p += (int64_t)gridDim.x * blockDim.x) {
        int64_t voff = 0, soff = 0, rem = p;
        for (int d = a.vnd - 1; d >= 0; d--) {
            int64_t i = rem % a.vsz[d];
            rem /= a.vsz[d];
            voff += i * a.vst[d];
            if (a.batched && d < a.vnd - 1)
                soff += i * a.sst[d];
        }
        int64_t r = td_cu_bound<T>(a.s + soff, a.len, a.sstep, *(const T *)(a.v + voff), a.right);
        if (a.i32)
            ((int32_t *)a.o)[p] = (int32_t)r;
        else
            ((int64_t *)a.o)[p] = r;
    }
}

static enum td_code cu_searchsorted(struct td_kctx *k)
{
    if (k->n_in != 2 || k->n_out < 1 || k->n_attr < TD_N_SEARCHSORTED)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *s = k->in[0], *v = k->in[1], *o = k->out[0];
    const struct td_meta *sm = &s->m, *vm = &v->m;
    if (sm->dtype != vm->dtype || sm->ndim < 1 || o->m.ndim != vm->ndim || (sm->ndim > 1 && sm->ndim != vm->ndim) ||
        (o->m.dtype != TD_DTYPE_INT32 && o->m.dtype != TD_DTYPE_INT64) || !td_cu_compute_dtype(sm->dtype) ||
        sm->dtype == TD_DTYPE_BOOL)
        return TD_CODE_INVALID_ARGUMENT;
    ss_args a;
    memset(&a, 0, sizeof a);
    int64_t es = td_cu_dtype_size(sm->dtype);
    a.s = s->data + sm->offset * es, a.v = v->data + vm->offset * es;
    a.i32 = o->m.dtype == TD_DTYPE_INT32;
    a.o = o->data + o->m.offset * (a.i32 ? 4 : 8);
    a.vnd = vm->ndim, a.batched = sm->ndim > 1, a.right = k->attrs[TD_A_SEARCHSORTED_RIGHT] != 0;
    a.len = sm->sizes[sm->ndim - 1], a.sstep = sm->strides[sm->ndim - 1] * es;
    a.n = 1;
    for (int d = 0; d < vm->ndim; d++) {
        a.vsz[d] = vm->sizes[d], a.vst[d] = vm->strides[d] * es, a.n *= vm->sizes[d];
        if (a.batched)
            a.sst[d] = sm->strides[d] * es;
    }
    if (a.n == 0)
        return TD_CODE_OK;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    int64_t nb = (a.n + TD_CU_THREADS - 1) / TD_CU_THREADS;
    unsigned g = (unsigned)(nb < TD_CU_MAX_BLOCKS ? nb : TD_CU_MAX_BLOCKS);
    TD_CU_DISPATCH(sm->dtype, ss_kernel<T><<<g, TD_CU_THREADS, 0, td_cu_stream_of(k->stream)>>>(a));
    return td_cu_launched();
}

/* ---- HISTC (sort.c's): counts in uint64 by atomic adds (exact, so the order does not
 * matter), then stored in the output's float dtype */
template <typename T> struct hist_f {
    double lo, hi;
    int64_t bins;
    unsigned long long *cnt;
    __device__ void operator()(char **p) const
    {
        double v = (double)*(const T *)p[0];
        if (v >= lo && v <= hi) {
            int64_t b = hi > lo ? (int64_t)(__dmul_rn(v - lo, (double)bins) / (hi - lo)) : 0;
            atomicAdd(&cnt[b >= bins ? bins - 1 : b], 1ULL);
        }
    }
};

__global__ void __launch_bounds__(TD_CU_THREADS) hist_store(const unsigned long long *cnt, char *o, int dt, int es,
                                                              int64_t bins)
{
    for (int64_t b = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; b < bins; b += (int64_t)gridDim.x * blockDim.x)
        td_cu_store_f64(dt, o + b * es, (double)cnt[b]);
}

static enum td_code cu_histc(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr < TD_N_HISTC)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *x = k->in[0], *o = k->out[0];
    int dt = x->m.dtype;
    int64_t bins = k->attrs[TD_A_HISTC_BINS];
    double lo, hi;
    memcpy(&lo, &k->attrs[TD_A_HISTC_MIN], sizeof lo);
    memcpy(&hi, &k->attrs[TD_A_HISTC_MAX], sizeof hi);
    if ((dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64) || o->m.dtype != dt || o->m.ndim != 1 ||
        o->m.sizes[0] != bins || bins <= 0 || !(lo <= hi) || (bins > 1 && o->m.strides[0] != 1))
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    cudaStream_t s = td_cu_stream_of(k->stream);
    unsigned long long *cnt = NULL;
    if (cudaMallocAsync((void **)&cnt, (size_t)bins * sizeof *cnt, s) != cudaSuccess) {
        (void)cudaGetLastError();
        return TD_CODE_RESOURCE_EXHAUSTED;
    }
    enum td_code c = TD_CODE_OK;
    struct td_kt *ops[1] = {x};
    struct td_cu_iter it;
    if (cudaMemsetAsync(cnt, 0, (size_t)bins * sizeof *cnt, s) != cudaSuccess) {
        (void)cudaGetLastError();
        c = TD_CODE_INTERNAL;
    } else if (!td_cu_iter_init(&it, 1, ops)) {
        c = TD_CODE_INVALID_ARGUMENT;
    } else {
        c = dt == TD_DTYPE_FLOAT64 ? td_cu_launch<1>(&it, s, hist_f<double>{lo, hi, bins, cnt})
                                   : td_cu_launch<1>(&it, s, hist_f<float>{lo, hi, bins, cnt});
        if (c == TD_CODE_OK) {
            int64_t nb = (bins + TD_CU_THREADS - 1) / TD_CU_THREADS;
            hist_store<<<(unsigned)(nb < TD_CU_MAX_BLOCKS ? nb : TD_CU_MAX_BLOCKS), TD_CU_THREADS, 0, s>>>(
                cnt, o->data + o->m.offset * td_cu_dtype_size(dt), dt, td_cu_dtype_size(dt), bins);
            c = td_cu_launched();
        }
    }
    if (cudaFreeAsync(cnt, s) != cudaSuccess)
        (void)cudaGetLastError();
    return c;
}

td_kernel_fn td__cuda_sort_kernel(unsigned op, unsigned dt)
{
    if (!td_cu_compute_dtype((int)dt))
        return NULL;
    switch (op) {
#ifdef HAVE_CU_SORT
    case TD_OP_SORT: return cu_sort;
    case TD_OP_MEDIAN:
    case TD_OP_MEDIAN_DIM:
    case TD_OP_MODE: return dt != TD_DTYPE_BOOL ? cu_median_mode : NULL;
#endif
    case TD_OP_SEARCHSORTED: return dt != TD_DTYPE_BOOL ? cu_searchsorted : NULL;
    case TD_OP_HISTC: return dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64 ? cu_histc : NULL;
    default: return NULL;
    }
}
