/*
 * reduce.cu — SUM MEAN PROD AMAX AMIN ALL ANY, and ARGMAX ARGMIN MAX_DIM MIN_DIM (first
 * occurrence, NaN counts as the extreme), over any set of dims, on the GPU.
 *
 * The plan is kernels/cpu/reduce.c's: kept dims (one output each) and reduced dims,
 * size-1 dims dropped, contiguous neighbours merged.  Three schedules:
 *   block: one thread block per output folds its reduced elements with all its threads
 *     (strided over the reduced index, so a contiguous run is read coalesced), then a
 *     tree in shared memory combines the partials; for few outputs with long reductions.
 *   thread: one thread per output folds its elements alone; for many outputs with short
 *     reductions, and for reductions over outer dims (sum over dim 0), where adjacent
 *     threads read adjacent elements.
 *   split: few outputs with very long reductions (a full sum) spread each output over
 *     up to 1024 blocks writing partials to stream-ordered scratch; a second kernel
 *     folds each output's partials in a fixed order (deterministic results).
 * Accumulators as on the CPU: double for floating sums and products, uint64 (wrapping)
 * for integer ones, the input type for max/min (NaN wins), bool for all/any.  Empty
 * reductions give the identity (mean: NaN); AMAX/AMIN of nothing are INVALID_ARGUMENT.
 * float16/bfloat16 inputs (the native path) fold as the float32 the CPU computes them
 * in, and results are stored through float32, as the CPU's cast back does.
 * Results differ from the CPU's only in the order float partial sums are added.
 * The STAT family's streaming rows (VAR ... AMINMAX) are here too, one block per output.
 */
#include <limits>
#include <type_traits>

#include "cuda_common.cuh"

enum { R_SUM, R_PROD, R_MAX, R_MIN, R_ALL, R_ANY };

#define SPLIT_CHUNK 16384 /* elements per block in the split schedule */
#define MAX_SPLIT 1024    /* blocks per output */

struct red_plan {
    int nk, nr;
    int64_t ks[TD_MAX_DIMS], kin[TD_MAX_DIMS], kout[TD_MAX_DIMS]; /* kept: size, input bytes, output elements */
    int64_t rs[TD_MAX_DIMS], rin[TD_MAX_DIMS];                    /* reduced: size, input bytes */
    int64_t kcount, rcount;
    const char *in;
    char *out;
    int odt, osz;
    double div;
};

/* T is the input's storage type (td_cu_elem: float16/bfloat16 fold as float, the
 * float32 the CPU computes them in) */
template <int R, typename T> struct acc_type {
    typedef typename td_cu_elem<T>::T C;
    typedef typename std::conditional<
        R == R_SUM || R == R_PROD,
        typename std::conditional<std::is_floating_point<C>::value, double, uint64_t>::type,
        typename std::conditional<R == R_ALL || R == R_ANY, bool, C>::type>::type type;
};

template <int R, typename A> __device__ __forceinline__ A fold(A acc, A x)
{
    switch (R) {
    case R_SUM: return acc + x;
    case R_PROD: return acc * x;
    case R_MAX: return (x > acc || x != x) ? x : acc;
    case R_MIN: return (x < acc || x != x) ? x : acc;
    case R_ALL: return acc && x;
    default: return acc || x; /* R_ANY */
    }
}

/* element at p, as the accumulator's type */
template <int R, typename T> __device__ __forceinline__ typename acc_type<R, T>::type lift(const char *p)
{
    typedef typename acc_type<R, T>::type A;
    typename td_cu_elem<T>::T x = td_cu_elem<T>::load(p);
    if constexpr (R == R_ALL || R == R_ANY)
        return x != 0;
    else if constexpr (std::is_floating_point<A>::value)
        return (A)x;
    else if constexpr (R == R_SUM || R == R_PROD)
        return (A)(int64_t)x; /* sign-extended, then wrapping uint64 arithmetic */
    else
        return x;
}

template <typename A> __device__ __forceinline__ void store(const red_plan &p, int64_t oo, A v)
{
    char *dst = p.out + oo * p.osz;
    if (std::is_floating_point<A>::value || p.div != 1)
        td_cu_store_f(p.odt, dst, (double)v / p.div);
    else
        td_cu_store_i(p.odt, dst, (int64_t)v);
}

__device__ __forceinline__ void unravel(const red_plan &p, int64_t m, int64_t *ki, int64_t *ko)
{
    int64_t i = 0, o = 0;
    for (int d = p.nk - 1; d >= 0; d--) {
        int64_t q = m / p.ks[d];
        i += (m - q * p.ks[d]) * p.kin[d];
        o += (m - q * p.ks[d]) * p.kout[d];
        m = q;
    }
    *ki = i;
    *ko = o;
}

__device__ __forceinline__ int64_t r_offset(const red_plan &p, int64_t r)
{
    int64_t off = 0;
    for (int d = p.nr - 1; d >= 0; d--) {
        int64_t q = r / p.rs[d];
        off += (r - q * p.rs[d]) * p.rin[d];
        r = q;
    }
    return off;
}

template <int R, typename T>
__global__ void __launch_bounds__(TD_CU_THREADS) red_block(const red_plan p, typename acc_type<R, T>::type init)
{
    typedef typename acc_type<R, T>::type A;
    __shared__ A part[TD_CU_THREADS];
    for (int64_t m = blockIdx.x; m < p.kcount; m += gridDim.x) {
        int64_t ki, ko;
        unravel(p, m, &ki, &ko);
        A acc = init;
        const char *base = p.in + ki;
        if (p.nr == 1) {
            for (int64_t r = threadIdx.x; r < p.rcount; r += blockDim.x)
                acc = fold<R, A>(acc, lift<R, T>(base + r * p.rin[0]));
        } else {
            for (int64_t r = threadIdx.x; r < p.rcount; r += blockDim.x)
                acc = fold<R, A>(acc, lift<R, T>(base + r_offset(p, r)));
        }
        part[threadIdx.x] = acc;
        __syncthreads();
        for (int w = TD_CU_THREADS / 2; w > 0; w >>= 1) {
            if ((int)threadIdx.x < w)
                part[threadIdx.x] = fold<R, A>(part[threadIdx.x], part[threadIdx.x + w]);
            __syncthreads();
        }
        if (threadIdx.x == 0)
            store(p, ko, part[0]);
        __syncthreads(); /* part[] is reused by the next output */
    }
}

template <int R, typename T>
__global__ void __launch_bounds__(TD_CU_THREADS) red_thread(const red_plan p, typename acc_type<R, T>::type init)
{
    typedef typename acc_type<R, T>::type A;
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t m = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; m < p.kcount; m += step) {
        int64_t ki, ko;
        unravel(p, m, &ki, &ko);
        A acc = init;
        const char *base = p.in + ki;
        for (int64_t r = 0; r < p.rcount; r++)
            acc = fold<R, A>(acc, lift<R, T>(base + r_offset(p, r)));
        store(p, ko, acc);
    }
}

/* Split schedule, pass 1: output m's reduced range is cut into nsplit chunks, one block
 * each; block b folds chunk b % nsplit of output b / nsplit into part[b]. */
template <int R, typename T>
__global__ void __launch_bounds__(TD_CU_THREADS) red_split(const red_plan p, typename acc_type<R, T>::type init,
                                                           int nsplit, int64_t chunk, typename acc_type<R, T>::type *part)
{
    typedef typename acc_type<R, T>::type A;
    __shared__ A tree[TD_CU_THREADS];
    int64_t m = blockIdx.x / nsplit, r0 = (int64_t)(blockIdx.x % nsplit) * chunk;
    int64_t r1 = r0 + chunk < p.rcount ? r0 + chunk : p.rcount;
    int64_t ki, ko;
    unravel(p, m, &ki, &ko);
    A acc = init;
    const char *base = p.in + ki;
    for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x)
        acc = fold<R, A>(acc, lift<R, T>(base + (p.nr == 1 ? r * p.rin[0] : r_offset(p, r))));
    tree[threadIdx.x] = acc;
    __syncthreads();
    for (int w = TD_CU_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w)
            tree[threadIdx.x] = fold<R, A>(tree[threadIdx.x], tree[threadIdx.x + w]);
        __syncthreads();
    }
    if (threadIdx.x == 0)
        part[blockIdx.x] = tree[0];
}

/* Split schedule, pass 2: one block per output folds its nsplit partials (in a fixed
 * order: the result does not depend on timing) and stores it. */
template <int R, typename T>
__global__ void __launch_bounds__(TD_CU_THREADS) red_combine(const red_plan p, typename acc_type<R, T>::type init,
                                                             int nsplit, const typename acc_type<R, T>::type *part)
{
    typedef typename acc_type<R, T>::type A;
    __shared__ A tree[TD_CU_THREADS];
    int64_t m = blockIdx.x, ki, ko;
    unravel(p, m, &ki, &ko);
    A acc = init;
    for (int i = threadIdx.x; i < nsplit; i += blockDim.x)
        acc = fold<R, A>(acc, part[m * nsplit + i]);
    tree[threadIdx.x] = acc;
    __syncthreads();
    for (int w = TD_CU_THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w)
            tree[threadIdx.x] = fold<R, A>(tree[threadIdx.x], tree[threadIdx.x + w]);
        __syncthreads();
    }
    if (threadIdx.x == 0)
        store(p, ko, tree[0]);
}

template <int R, typename T> static typename acc_type<R, T>::type identity()
{
    typedef typename acc_type<R, T>::type A;
    switch (R) {
    case R_SUM: return (A)0;
    case R_PROD: return (A)1;
    case R_ALL: return (A)1;
    case R_ANY: return (A)0;
    case R_MAX:
        if constexpr (std::is_floating_point<A>::value)
            return -std::numeric_limits<A>::infinity();
        else
            return std::numeric_limits<A>::lowest();
    default:
        if constexpr (std::is_floating_point<A>::value)
            return std::numeric_limits<A>::infinity();
        else
            return std::numeric_limits<A>::max();
    }
}

static void push_dim(int *n, int64_t *sz, int64_t *in, int64_t *out, int64_t s, int64_t si, int64_t so)
{
    int k = *n;
    if (k > 0 && in[k - 1] == si * s && (!out || out[k - 1] == so * s)) {
        sz[k - 1] *= s;
        in[k - 1] = si;
        if (out)
            out[k - 1] = so;
        return;
    }
    sz[k] = s;
    in[k] = si;
    if (out)
        out[k] = so;
    *n = k + 1;
}

static enum td_code make_plan(red_plan *pl, struct td_kctx *k)
{
    const struct td_meta *im = &k->in[0]->m, *om = &k->out[0]->m;
    int nd = im->ndim, od = 0;
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr <= TD_A_REDUCE_KEEPDIM || (!td_cu_compute_dtype(im->dtype) && !td_cu_is_half(im->dtype)) || td_cu_dtype_size(om->dtype) == 0 || td_cu_dtype_is_complex(om->dtype))
        return TD_CODE_INVALID_ARGUMENT;
    uint64_t mask = (uint64_t)k->attrs[TD_A_REDUCE_DIM] & (nd >= 64 ? ~0ull : ((1ull << nd) - 1));
    bool keep = k->attrs[TD_A_REDUCE_KEEPDIM] != 0;
    int nred = __builtin_popcountll(mask);
    if (om->ndim != (keep ? nd : nd - nred))
        return TD_CODE_INVALID_ARGUMENT;
    memset(pl, 0, sizeof *pl);
    int64_t esz = td_cu_dtype_size(im->dtype);
    pl->kcount = pl->rcount = 1;
    for (int d = 0; d < nd; d++) {
        int64_t s = im->sizes[d], si = im->strides[d] * esz;
        if (mask >> d & 1) {
            pl->rcount *= s;
            od += keep;
            if (s != 1)
                push_dim(&pl->nr, pl->rs, pl->rin, NULL, s, si, 0);
            continue;
        }
        if (om->sizes[od] != s)
            return TD_CODE_INVALID_ARGUMENT;
        pl->kcount *= s;
        if (s != 1)
            push_dim(&pl->nk, pl->ks, pl->kin, pl->kout, s, si, om->strides[od]);
        od++;
    }
    if (pl->nr == 0) {
        pl->nr = 1;
        pl->rs[0] = 1;
        pl->rin[0] = 0;
    }
    pl->in = k->in[0]->data + im->offset * esz;
    pl->odt = om->dtype;
    pl->osz = td_cu_dtype_size(om->dtype);
    pl->out = k->out[0]->data + om->offset * (int64_t)pl->osz;
    pl->div = 1;
    return TD_CODE_OK;
}

template <int R, typename T> static enum td_code launch(const red_plan &pl, cudaStream_t s)
{
    if (pl.kcount == 0)
        return TD_CODE_OK;
    int64_t esz = sizeof(T);
    /* thread per output: short reductions, many outputs, or an outer-dim reduction whose
     * kept inner dim is contiguous (adjacent threads, adjacent elements) */
    bool outer = pl.nk > 0 && pl.kin[pl.nk - 1] == esz && pl.rin[pl.nr - 1] != esz && pl.kcount >= 1024;
    bool per_thread = pl.rcount <= 64 || pl.kcount >= 65536 || outer;
    auto init = identity<R, T>();
    /* few outputs with long reductions: spread each over many blocks (about 16k
     * elements per block), then combine the partials */
    if (!per_thread && pl.kcount <= 64 && pl.rcount >= 4 * SPLIT_CHUNK) {
        typedef typename acc_type<R, T>::type A;
        int64_t nsplit = (pl.rcount + SPLIT_CHUNK - 1) / SPLIT_CHUNK;
        if (nsplit > MAX_SPLIT)
            nsplit = MAX_SPLIT;
        int64_t chunk = (pl.rcount + nsplit - 1) / nsplit;
        A *part = NULL;
        if (cudaMallocAsync((void **)&part, (size_t)(pl.kcount * nsplit) * sizeof(A), s) == cudaSuccess) {
            red_split<R, T><<<(unsigned)(pl.kcount * nsplit), TD_CU_THREADS, 0, s>>>(pl, init, (int)nsplit, chunk, part);
            red_combine<R, T><<<(unsigned)pl.kcount, TD_CU_THREADS, 0, s>>>(pl, init, (int)nsplit, part);
            if (cudaFreeAsync(part, s) != cudaSuccess)
                (void)cudaGetLastError();
            return td_cu_launched();
        }
        (void)cudaGetLastError(); /* no scratch: the one-block schedule below needs none */
    }
    if (per_thread) {
        int64_t blocks = (pl.kcount + TD_CU_THREADS - 1) / TD_CU_THREADS;
        red_thread<R, T><<<(unsigned)(blocks < TD_CU_MAX_BLOCKS ? blocks : TD_CU_MAX_BLOCKS), TD_CU_THREADS, 0, s>>>(pl, init);
    } else {
        int64_t blocks = pl.kcount < TD_CU_MAX_BLOCKS ? pl.kcount : TD_CU_MAX_BLOCKS;
        red_block<R, T><<<(unsigned)blocks, TD_CU_THREADS, 0, s>>>(pl, init);
    }
    return td_cu_launched();
}

template <int R, bool MEAN, bool NONEMPTY> static enum td_code reduce(struct td_kctx *k)
{
    red_plan pl;
    enum td_code rc = make_plan(&pl, k);
    if (rc != TD_CODE_OK)
        return rc;
    if (NONEMPTY && pl.rcount == 0)
        return TD_CODE_INVALID_ARGUMENT;
    if (MEAN)
        pl.div = (double)pl.rcount;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    cudaStream_t s = td_cu_stream_of(k->stream);
    if (td_cu_is_half(k->in[0]->m.dtype)) {
        TD_CU_DISPATCH_HALF(k->in[0]->m.dtype, return launch<R, T>(pl, s));
    }
    TD_CU_DISPATCH(k->in[0]->m.dtype, return launch<R, T>(pl, s));
    return TD_CODE_INVALID_ARGUMENT;
}

/* ---- ARGMAX ARGMIN MAX_DIM MIN_DIM: (value, position) pairs.  Positions count
 * row-major over the reduced dims (the plan's reduced index r); the first occurrence
 * wins and NaN counts as the maximum and the minimum, as on the CPU.  A pair whose
 * position is NONE has seen nothing yet. */
#define NONE INT64_MAX

/* whether (x, xi) replaces (v, vi) */
template <bool MAX, typename T> __device__ __forceinline__ bool arg_better(T x, int64_t xi, T v, int64_t vi)
{
    if (xi == NONE)
        return false;
    if (vi == NONE)
        return true;
    bool xn = x != x, vn = v != v;
    if (xn || vn)
        return xn && (!vn || xi < vi);
    if (x == v)
        return xi < vi;
    return MAX ? x > v : x < v;
}

struct arg_out {
    char *idx;    /* int64 positions at ko * 8 */
    bool values;  /* MAX_DIM/MIN_DIM: the value goes to the plan's output too */
};

template <typename T> __device__ __forceinline__ void arg_store(const red_plan &p, const arg_out &o, int64_t ko, T v,
                                                                int64_t vi)
{
    *(int64_t *)(o.idx + ko * 8) = vi;
    if (o.values) {
        if constexpr (std::is_floating_point<T>::value)
            td_cu_store_f(p.odt, p.out + ko * p.osz, (double)v);
        else
            td_cu_store_i(p.odt, p.out + ko * p.osz, (int64_t)v);
    }
}

template <bool MAX, typename S> __global__ void __launch_bounds__(TD_CU_THREADS) arg_block(const red_plan p, const arg_out o)
{
    typedef typename td_cu_elem<S>::T T;
    __shared__ T val[TD_CU_THREADS];
    __shared__ int64_t pos[TD_CU_THREADS];
    for (int64_t m = blockIdx.x; m < p.kcount; m += gridDim.x) {
        int64_t ki, ko;
        unravel(p, m, &ki, &ko);
        T v = T(0);
        int64_t vi = NONE;
        const char *base = p.in + ki;
        for (int64_t r = threadIdx.x; r < p.rcount; r += blockDim.x) { /* increasing r: first wins */
            T x = td_cu_elem<S>::load(base + (p.nr == 1 ? r * p.rin[0] : r_offset(p, r)));
            if (arg_better<MAX, T>(x, r, v, vi))
                v = x, vi = r;
        }
        val[threadIdx.x] = v;
        pos[threadIdx.x] = vi;
        __syncthreads();
        for (int w = TD_CU_THREADS / 2; w > 0; w >>= 1) {
            if ((int)threadIdx.x < w && arg_better<MAX, T>(val[threadIdx.x + w], pos[threadIdx.x + w], val[threadIdx.x],
                                                           pos[threadIdx.x])) {
                val[threadIdx.x] = val[threadIdx.x + w];
                pos[threadIdx.x] = pos[threadIdx.x + w];
            }
            __syncthreads();
        }
        if (threadIdx.x == 0)
            arg_store(p, o, ko, val[0], pos[0]);
        __syncthreads();
    }
}

template <bool MAX, typename S> __global__ void __launch_bounds__(TD_CU_THREADS) arg_thread(const red_plan p, const arg_out o)
{
    typedef typename td_cu_elem<S>::T T;
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t m = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; m < p.kcount; m += step) {
        int64_t ki, ko;
        unravel(p, m, &ki, &ko);
        T v = T(0);
        int64_t vi = NONE;
        const char *base = p.in + ki;
        for (int64_t r = 0; r < p.rcount; r++) {
            T x = td_cu_elem<S>::load(base + r_offset(p, r));
            if (arg_better<MAX, T>(x, r, v, vi))
                v = x, vi = r;
        }
        arg_store(p, o, ko, v, vi);
    }
}

template <bool MAX, typename T> static enum td_code arg_launch(const red_plan &pl, const arg_out &o, cudaStream_t s)
{
    if (pl.kcount == 0)
        return TD_CODE_OK;
    int64_t esz = sizeof(T);
    bool outer = pl.nk > 0 && pl.kin[pl.nk - 1] == esz && pl.rin[pl.nr - 1] != esz && pl.kcount >= 1024;
    if (pl.rcount <= 64 || pl.kcount >= 65536 || outer) {
        int64_t blocks = (pl.kcount + TD_CU_THREADS - 1) / TD_CU_THREADS;
        arg_thread<MAX, T><<<(unsigned)(blocks < TD_CU_MAX_BLOCKS ? blocks : TD_CU_MAX_BLOCKS), TD_CU_THREADS, 0, s>>>(pl, o);
    } else {
        arg_block<MAX, T><<<(unsigned)(pl.kcount < TD_CU_MAX_BLOCKS ? pl.kcount : TD_CU_MAX_BLOCKS), TD_CU_THREADS, 0, s>>>(pl, o);
    }
    return td_cu_launched();
}

/* BOTH: MAX_DIM/MIN_DIM (values in out[0], positions in out[1]); else ARGMAX/ARGMIN */
template <bool MAX, bool BOTH> static enum td_code arg_reduce(struct td_kctx *k)
{
    red_plan pl;
    enum td_code rc = make_plan(&pl, k);
    if (rc != TD_CODE_OK)
        return rc;
    if (pl.rcount == 0)
        return TD_CODE_INVALID_ARGUMENT;
    arg_out o;
    const struct td_meta *om = &k->out[0]->m;
    if (BOTH) {
        if (k->n_out < 2)
            return TD_CODE_INVALID_ARGUMENT;
        const struct td_meta *m1 = &k->out[1]->m;
        if (m1->dtype != TD_DTYPE_INT64 || m1->ndim != om->ndim ||
            memcmp(m1->strides, om->strides, sizeof(int64_t) * om->ndim) != 0)
            return TD_CODE_INVALID_ARGUMENT;
        o.idx = k->out[1]->data + m1->offset * 8;
        o.values = true;
    } else {
        if (om->dtype != TD_DTYPE_INT64)
            return TD_CODE_INVALID_ARGUMENT;
        o.idx = pl.out;
        o.values = false;
    }
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    cudaStream_t s = td_cu_stream_of(k->stream);
    if (td_cu_is_half(k->in[0]->m.dtype)) {
        TD_CU_DISPATCH_HALF(k->in[0]->m.dtype, return arg_launch<MAX, T>(pl, o, s));
    }
    TD_CU_DISPATCH(k->in[0]->m.dtype, return arg_launch<MAX, T>(pl, o, s));
    return TD_CODE_INVALID_ARGUMENT;
}
#undef NONE

/* ---- the STAT family's streaming rows (kernels/cpu/math_stat.c's row_f / row_i): VAR
 * STD VAR_MEAN STD_MEAN (two passes: the mean, then the squared deviations), LOGSUMEXP
 * (the maximum, then the shifted sum), NORM (any p), NANSUM NANMEAN COUNT_NONZERO
 * AMINMAX.  One block per output folds its row in double (float inputs, as the CPU's
 * double scratch row) or int64 (integer inputs: sums wrap, extremes exact), with the
 * CPU's formulas; only the order of float sums differs.  MEDIAN, MEDIAN_DIM and MODE
 * (sorting a row) are staged. */

struct stat_args {
    int op;
    double p, corr; /* NORM's p; VAR's correction */
    char *out1;     /* VAR_MEAN/STD_MEAN's mean, AMINMAX's max: same layout as out[0] */
    int odt1, osz1;
};

template <typename S> __device__ __forceinline__ double stat_at(const red_plan &p, const char *base, int64_t r)
{
    return (double)td_cu_elem<S>::load(base + (p.nr == 1 ? r * p.rin[0] : r_offset(p, r)));
}

template <typename S> __global__ void __launch_bounds__(TD_CU_THREADS) stat_block(const red_plan p, const stat_args a)
{
    __shared__ double red[TD_CU_THREADS];
    int64_t n = p.rcount;
    for (int64_t m = blockIdx.x; m < p.kcount; m += gridDim.x) {
        int64_t ki, ko;
        unravel(p, m, &ki, &ko);
        const char *base = p.in + ki;
        double r0 = 0, r1 = 0, acc = 0, mx;
        switch (a.op) {
        case TD_OP_VAR:
        case TD_OP_STD:
        case TD_OP_VAR_MEAN:
        case TD_OP_STD_MEAN: {
            for (int64_t r = threadIdx.x; r < n; r += blockDim.x)
                acc += stat_at<S>(p, base, r);
            double mean = td_cu_block_fold<TD_CU_FOLD_SUM>(acc, red) / (double)n, m2 = 0;
            for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
                double d = stat_at<S>(p, base, r) - mean;
                m2 += __dmul_rn(d, d);
            }
            m2 = td_cu_block_fold<TD_CU_FOLD_SUM>(m2, red);
            double c = (double)n - a.corr, var = m2 / (c > 0 ? c : 0);
            r0 = (a.op == TD_OP_STD || a.op == TD_OP_STD_MEAN) ? sqrt(var) : var;
            r1 = mean;
            break;
        }
        case TD_OP_LOGSUMEXP:
            mx = -INFINITY;
            for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
                double v = stat_at<S>(p, base, r);
                if (v > mx || v != v)
                    mx = v;
            }
            mx = td_cu_block_fold<TD_CU_FOLD_MAX>(mx, red);
            if (isinf(mx))
                mx = 0;
            for (int64_t r = threadIdx.x; r < n; r += blockDim.x)
                acc += exp(stat_at<S>(p, base, r) - mx);
            r0 = log(td_cu_block_fold<TD_CU_FOLD_SUM>(acc, red)) + mx;
            break;
        case TD_OP_NORM:
            if (isinf(a.p)) { /* the largest (smallest) |x|; a NaN wins */
                bool up = a.p > 0;
                mx = up ? 0 : INFINITY;
                for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
                    double v = fabs(stat_at<S>(p, base, r));
                    if (v != v || (up ? v > mx : v < mx))
                        mx = mx != mx ? mx : v;
                }
                r0 = n ? (up ? td_cu_block_fold<TD_CU_FOLD_MAX>(mx, red) : td_cu_block_fold<TD_CU_FOLD_MIN>(mx, red)) : 0;
                break;
            }
            for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
                double v = fabs(stat_at<S>(p, base, r));
                acc += a.p == 0 ? (double)(v != 0) : a.p == 1 ? v : a.p == 2 ? __dmul_rn(v, v) : pow(v, a.p);
            }
            acc = td_cu_block_fold<TD_CU_FOLD_SUM>(acc, red);
            r0 = a.p == 0 || a.p == 1 ? acc : a.p == 2 ? sqrt(acc) : pow(acc, 1 / a.p);
            break;
        case TD_OP_NANSUM:
        case TD_OP_NANMEAN: {
            double cnt = 0;
            for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
                double v = stat_at<S>(p, base, r);
                if (v == v)
                    acc += v, cnt += 1;
            }
            acc = td_cu_block_fold<TD_CU_FOLD_SUM>(acc, red);
            r0 = a.op == TD_OP_NANSUM ? acc : acc / td_cu_block_fold<TD_CU_FOLD_SUM>(cnt, red);
            break;
        }
        case TD_OP_COUNT_NONZERO:
            for (int64_t r = threadIdx.x; r < n; r += blockDim.x)
                acc += stat_at<S>(p, base, r) != 0;
            r0 = td_cu_block_fold<TD_CU_FOLD_SUM>(acc, red); /* exact below 2^53 */
            break;
        default: { /* TD_OP_AMINMAX: a NaN makes both NaN */
            double lo = INFINITY, hi = -INFINITY;
            for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
                double v = stat_at<S>(p, base, r);
                lo = (lo != lo || v != v) ? (lo != lo ? lo : v) : v < lo ? v : lo;
                hi = (hi != hi || v != v) ? (hi != hi ? hi : v) : v > hi ? v : hi;
            }
            r0 = td_cu_block_fold<TD_CU_FOLD_MIN>(lo, red);
            r1 = td_cu_block_fold<TD_CU_FOLD_MAX>(hi, red);
            if (r0 != r0 || r1 != r1)
                r0 = r1 = r0 != r0 ? r0 : r1;
            break;
        }
        }
        if (threadIdx.x == 0) {
            char *dst = p.out + ko * p.osz;
            if (a.op == TD_OP_COUNT_NONZERO)
                td_cu_store_i(p.odt, dst, (int64_t)r0);
            else
                td_cu_store_f64(p.odt, dst, r0);
            if (a.out1)
                td_cu_store_f64(a.odt1, a.out1 + ko * a.osz1, r1);
        }
    }
}

/* integer (and bool) inputs: NANSUM (wrapping), COUNT_NONZERO, AMINMAX, folded in int64 */
template <typename S> __global__ void __launch_bounds__(TD_CU_THREADS) stat_block_int(const red_plan p, const stat_args a)
{
    __shared__ int64_t lo_s[TD_CU_THREADS], hi_s[TD_CU_THREADS];
    int64_t n = p.rcount;
    for (int64_t m = blockIdx.x; m < p.kcount; m += gridDim.x) {
        int64_t ki, ko;
        unravel(p, m, &ki, &ko);
        const char *base = p.in + ki;
        uint64_t sum = 0;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (int64_t r = threadIdx.x; r < n; r += blockDim.x) {
            int64_t v = (int64_t)td_cu_elem<S>::load(base + (p.nr == 1 ? r * p.rin[0] : r_offset(p, r)));
            sum += a.op == TD_OP_COUNT_NONZERO ? (uint64_t)(v != 0) : (uint64_t)v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        lo_s[threadIdx.x] = a.op == TD_OP_AMINMAX ? lo : (int64_t)sum;
        hi_s[threadIdx.x] = hi;
        __syncthreads();
        for (int w = blockDim.x / 2; w > 0; w >>= 1) {
            if ((int)threadIdx.x < w) {
                int64_t x = lo_s[threadIdx.x], y = lo_s[threadIdx.x + w];
                lo_s[threadIdx.x] = a.op == TD_OP_AMINMAX ? (y < x ? y : x) : (int64_t)((uint64_t)x + (uint64_t)y);
                hi_s[threadIdx.x] = hi_s[threadIdx.x + w] > hi_s[threadIdx.x] ? hi_s[threadIdx.x + w] : hi_s[threadIdx.x];
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) {
            bool empty = n == 0; /* the CPU's aminmax of nothing: 0 and 0 */
            td_cu_store_i(p.odt, p.out + ko * p.osz, a.op == TD_OP_AMINMAX && empty ? 0 : lo_s[0]);
            if (a.out1)
                td_cu_store_i(a.odt1, a.out1 + ko * a.osz1, empty ? 0 : hi_s[0]);
        }
        __syncthreads();
    }
}

static enum td_code cu_stat(struct td_kctx *k)
{
    red_plan pl;
    enum td_code rc = make_plan(&pl, k);
    if (rc != TD_CODE_OK)
        return rc;
    int idt = k->in[0]->m.dtype;
    bool fl = td_cu_dtype_is_float(idt);
    stat_args a;
    a.op = k->op;
    a.p = 2, a.corr = (double)k->attrs[TD_A_STAT_EXTRA];
    if (k->op == TD_OP_NORM)
        memcpy(&a.p, &k->attrs[TD_A_NORM_P], sizeof a.p);
    a.out1 = NULL, a.odt1 = 0, a.osz1 = 0;
    bool two = k->op == TD_OP_VAR_MEAN || k->op == TD_OP_STD_MEAN || k->op == TD_OP_AMINMAX;
    if (two) {
        const struct td_meta *m0 = &k->out[0]->m, *m1;
        if (k->n_out < 2 || (m1 = &k->out[1]->m)->ndim != m0->ndim ||
            memcmp(m1->strides, m0->strides, sizeof(int64_t) * m0->ndim) != 0)
            return TD_CODE_INVALID_ARGUMENT;
        a.odt1 = m1->dtype, a.osz1 = td_cu_dtype_size(m1->dtype);
        a.out1 = k->out[1]->data + m1->offset * (int64_t)a.osz1;
    }
    if (!fl && k->op != TD_OP_NANSUM && k->op != TD_OP_COUNT_NONZERO && k->op != TD_OP_AMINMAX)
        return TD_CODE_INVALID_ARGUMENT;
    if (pl.kcount == 0)
        return TD_CODE_OK;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    cudaStream_t s = td_cu_stream_of(k->stream);
    unsigned blocks = (unsigned)(pl.kcount < TD_CU_MAX_BLOCKS ? pl.kcount : TD_CU_MAX_BLOCKS);
    switch (idt) {
    case TD_DTYPE_FLOAT32: stat_block<float><<<blocks, TD_CU_THREADS, 0, s>>>(pl, a); break;
    case TD_DTYPE_FLOAT64: stat_block<double><<<blocks, TD_CU_THREADS, 0, s>>>(pl, a); break;
    case TD_DTYPE_FLOAT16: stat_block<td_cu_f16><<<blocks, TD_CU_THREADS, 0, s>>>(pl, a); break;
    case TD_DTYPE_BFLOAT16: stat_block<td_cu_bf16><<<blocks, TD_CU_THREADS, 0, s>>>(pl, a); break;
    case TD_DTYPE_INT64: stat_block_int<int64_t><<<blocks, TD_CU_THREADS, 0, s>>>(pl, a); break;
    case TD_DTYPE_INT32: stat_block_int<int32_t><<<blocks, TD_CU_THREADS, 0, s>>>(pl, a); break;
    case TD_DTYPE_INT16: stat_block_int<int16_t><<<blocks, TD_CU_THREADS, 0, s>>>(pl, a); break;
    case TD_DTYPE_INT8: stat_block_int<int8_t><<<blocks, TD_CU_THREADS, 0, s>>>(pl, a); break;
    case TD_DTYPE_UINT8: stat_block_int<uint8_t><<<blocks, TD_CU_THREADS, 0, s>>>(pl, a); break;
    case TD_DTYPE_BOOL: stat_block_int<bool><<<blocks, TD_CU_THREADS, 0, s>>>(pl, a); break;
    default: return TD_CODE_INVALID_ARGUMENT;
    }
    return td_cu_launched();
}

/* dt: a compute dtype, or float16/bfloat16 for the native path (device.h's half_kernel) */
td_kernel_fn td__cuda_reduce_kernel(unsigned op, unsigned dt)
{
    if (!td_cu_compute_dtype((int)dt) && !td_cu_is_half((int)dt))
        return NULL;
    switch (op) {
    case TD_OP_SUM: return reduce<R_SUM, false, false>;
    case TD_OP_MEAN: return reduce<R_SUM, true, false>;
    case TD_OP_PROD: return reduce<R_PROD, false, false>;
    case TD_OP_AMAX: return reduce<R_MAX, false, true>;
    case TD_OP_AMIN: return reduce<R_MIN, false, true>;
    case TD_OP_ALL: return reduce<R_ALL, false, false>;
    case TD_OP_ANY: return reduce<R_ANY, false, false>;
    case TD_OP_ARGMAX: return arg_reduce<true, false>;
    case TD_OP_ARGMIN: return arg_reduce<false, false>;
    case TD_OP_MAX_DIM: return arg_reduce<true, true>;
    case TD_OP_MIN_DIM: return arg_reduce<false, true>;
    case TD_OP_VAR:
    case TD_OP_STD:
    case TD_OP_VAR_MEAN:
    case TD_OP_STD_MEAN:
    case TD_OP_LOGSUMEXP:
    case TD_OP_NORM:
    case TD_OP_NANMEAN: return td_cu_dtype_is_float((int)dt) ? cu_stat : NULL;
    case TD_OP_NANSUM:
    case TD_OP_COUNT_NONZERO:
    case TD_OP_AMINMAX: return cu_stat;
    default: return NULL;
    }
}
