/*
 * index.cu — GATHER, SCATTER (reduce none/add/multiply), INDEX (every mode, the mask
 * mode included) and INDEX_PUT (accumulate) on the GPU.  The element logic is in
 * index_ops.cuh (shared with the host tests); this file launches it.
 *
 * Kept from kernels/cpu/index.c: negative wrapping per mode, no wrapping for
 * GATHER/SCATTER, integer accumulation wraps, bool accumulates as or/and, out-of-place
 * SCATTER/INDEX_PUT first copy self to the output.  Changed, as on every GPU: a bad
 * index is reported at the stream's next synchronization (index_ops.cuh), and with
 * duplicate indices the surviving write, or the rounding of a float sum, may differ
 * from the CPU's serial order.
 *
 * NONZERO (its count, or the coordinates once the client has the count) runs the mask
 * mode's passes over any compute dtype.
 *
 * Dtypes: the byte movers (GATHER, INDEX, plain SCATTER/INDEX_PUT) by element size, so
 * every compute dtype and complex; SCATTER at the 8 compute dtypes (its multiply has
 * no complex atomic); INDEX_PUT's accumulate at the 8 compute dtypes and complex.
 * GATHER and INDEX take float16/bfloat16 as they are (the native path): an embedding
 * lookup in a half table then reads the rows it needs, not a float32 copy of the table.
 */
#include "index_ops.cuh"

template <typename E>
__global__ void __launch_bounds__(TD_CU_THREADS) gs_kernel(const struct td_cu_gs_plan p, const struct td_cu_ierr_slot err)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += (int64_t)gridDim.x * blockDim.x)
        td_cu_gs_elem<E>(p, i, err);
}

template <typename E>
__global__ void __launch_bounds__(TD_CU_THREADS) ix_kernel(const struct td_cu_ix_plan p, const struct td_cu_ierr_slot err)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += (int64_t)gridDim.x * blockDim.x)
        td_cu_ix_elem<E>(p, i, err);
}

static unsigned grid_for(int64_t n)
{
    int64_t b = (n + TD_CU_THREADS - 1) / TD_CU_THREADS;
    return (unsigned)(b < TD_CU_MAX_BLOCKS ? b : TD_CU_MAX_BLOCKS);
}

/* out = self unless they are the same view (in place), with the plugin's COPY_. */
static enum td_code copy_self(struct td_kctx *k)
{
    struct td_kt *out = k->out[0], *self = k->in[0];
    if (out->data == self->data && out->m.offset == self->m.offset && out->m.ndim == self->m.ndim &&
        !memcmp(out->m.strides, self->m.strides, sizeof(int64_t) * self->m.ndim))
        return TD_CODE_OK;
    td_kernel_fn cp = td__cuda_copy_kernel(TD_OP_COPY_, out->m.dtype);
    if (!cp)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kctx c;
    memset(&c, 0, sizeof c);
    c.op = TD_OP_COPY_;
    c.compute_dtype = out->m.dtype;
    c.n_in = 2;
    c.in[0] = out;
    c.in[1] = self;
    c.stream = k->stream;
    c.device = k->device;
    return cp(&c);
}

/* Launches body<E> for the element size (or the compute type when accumulating). */
#define BY_SIZE(es, KERNEL, ...)                                                        \
    switch (es) {                                                                       \
    case 1: KERNEL<uint8_t><<<g, TD_CU_THREADS, 0, s>>>(__VA_ARGS__); break;            \
    case 2: KERNEL<uint16_t><<<g, TD_CU_THREADS, 0, s>>>(__VA_ARGS__); break;           \
    case 4: KERNEL<uint32_t><<<g, TD_CU_THREADS, 0, s>>>(__VA_ARGS__); break;           \
    case 8: KERNEL<uint64_t><<<g, TD_CU_THREADS, 0, s>>>(__VA_ARGS__); break;           \
    case 16: KERNEL<td_cu_b16><<<g, TD_CU_THREADS, 0, s>>>(__VA_ARGS__); break;         \
    default: return TD_CODE_INVALID_ARGUMENT;                                           \
    }

#define BY_TYPE(dt, KERNEL, ...)                                                        \
    switch (dt) {                                                                       \
    case TD_DTYPE_COMPLEX64: KERNEL<td_cu_c64><<<g, TD_CU_THREADS, 0, s>>>(__VA_ARGS__); break; \
    case TD_DTYPE_COMPLEX128: KERNEL<td_cu_c128><<<g, TD_CU_THREADS, 0, s>>>(__VA_ARGS__); break; \
    default: TD_CU_DISPATCH(dt, KERNEL<T><<<g, TD_CU_THREADS, 0, s>>>(__VA_ARGS__));    \
    }

static enum td_code cu_gather_scatter(struct td_kctx *k)
{
    if (k->n_out < 1 || k->n_in < 2)
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    enum td_code c;
    if (k->op == TD_OP_SCATTER && (c = copy_self(k)))
        return c;
    struct td_cu_gs_plan p;
    if ((c = td_cu_gs_plan_make(k, &p)))
        return c;
    if (p.n == 0)
        return TD_CODE_OK;
    struct td_cu_ierr_slot err;
    if (!td__cuda_ierr_slot(k, &err))
        return TD_CODE_RESOURCE_EXHAUSTED;
    cudaStream_t s = td_cu_stream_of(k->stream);
    unsigned g = grid_for(p.n);
    int dt = k->out[0]->m.dtype;
    if (p.reduce) {
        BY_TYPE(dt, gs_kernel, p, err);
    } else {
        BY_SIZE(td_cu_dtype_size(dt), gs_kernel, p, err);
    }
    return td_cu_launched();
}

/* ---- the mask mode: counts per chunk, an exclusive scan of the counts, writes */

/* Block-wide exclusive scan of v over TD_CU_THREADS threads; *total gets the sum. */
__device__ int64_t block_scan(int64_t v, int64_t *sh, int64_t *total)
{
    int t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (int w = 1; w < (int)blockDim.x; w <<= 1) {
        int64_t add = t >= w ? sh[t - w] : 0;
        __syncthreads();
        sh[t] += add;
        __syncthreads();
    }
    int64_t incl = sh[t];
    *total = sh[blockDim.x - 1];
    __syncthreads();
    return incl - v;
}

/* The selection passes of the mask mode and NONZERO, over positions 0..m of a
 * selector sel (sel(i): whether position i is taken; sel.m, sel.count: the positions and
 * the count the client took): counts per chunk, then (mask_scan) each chunk's first row,
 * then every taken position written with its row by put(i, row). */
template <typename Sel> __global__ void __launch_bounds__(TD_CU_THREADS) chunk_count(const Sel sel, int64_t *counts, int64_t nch)
{
    __shared__ int64_t sh[TD_CU_THREADS];
    for (int64_t c = blockIdx.x; c < nch; c += gridDim.x) {
        int64_t b = c * TD_CU_MASK_CHUNK + threadIdx.x * 4, n = 0, total;
        for (int64_t i = b; i < b + 4 && i < sel.m; i++)
            n += sel(i);
        block_scan(n, sh, &total);
        if (threadIdx.x == 0)
            counts[c] = total;
    }
}

/* counts[0..nch) -> first row of each chunk, counts[nch] the total; one block */
__global__ void __launch_bounds__(TD_CU_THREADS) mask_scan(int64_t *counts, int64_t nch)
{
    __shared__ int64_t sh[TD_CU_THREADS];
    int64_t carry = 0;
    for (int64_t b = 0; b < nch; b += blockDim.x) {
        int64_t i = b + threadIdx.x, v = i < nch ? counts[i] : 0, total;
        int64_t ex = block_scan(v, sh, &total);
        if (i < nch)
            counts[i] = carry + ex;
        carry += total;
    }
    if (threadIdx.x == 0)
        counts[nch] = carry;
}

/* A count that no longer holds (the input changed after it was taken) writes nothing
 * and raises `kind` for the next sync. */
template <typename Sel, typename Put>
__global__ void __launch_bounds__(TD_CU_THREADS) chunk_write(const Sel sel, const Put put, const int64_t *rows, int64_t nch,
                                                             const struct td_cu_ierr_slot err, unsigned kind)
{
    __shared__ int64_t sh[TD_CU_THREADS];
    if (rows[nch] != sel.count) {
        if (blockIdx.x == 0 && threadIdx.x == 0)
            td_cu_ierr_raise(err, kind, rows[nch], 0, sel.count);
        return;
    }
    for (int64_t c = blockIdx.x; c < nch; c += gridDim.x) {
        int64_t b = c * TD_CU_MASK_CHUNK + threadIdx.x * 4, n = 0, total;
        bool taken[4];
        for (int j = 0; j < 4; j++) {
            taken[j] = b + j < sel.m && sel(b + j);
            n += taken[j];
        }
        int64_t row = rows[c] + block_scan(n, sh, &total);
        for (int j = 0; j < 4; j++)
            if (taken[j])
                put(b + j, row++);
    }
}

/* Scratch for the selection passes over m positions: nch chunk counts and the total;
 * g, the blocks to launch.  NULL when the device is out of memory. */
static int64_t *chunk_rows(int64_t m, cudaStream_t s, int64_t *nch, unsigned *g)
{
    int64_t *rows = NULL;
    *nch = (m + TD_CU_MASK_CHUNK - 1) / TD_CU_MASK_CHUNK;
    *g = (unsigned)(*nch < TD_CU_MAX_BLOCKS ? *nch : TD_CU_MAX_BLOCKS);
    if (cudaMallocAsync((void **)&rows, sizeof(int64_t) * (size_t)(*nch + 1), s) != cudaSuccess) {
        (void)cudaGetLastError();
        return NULL;
    }
    return rows;
}

struct mask_sel {
    struct td_cu_mask_plan p;
    int64_t m, count;
    __device__ bool operator()(int64_t i) const { return td_cu_mask_at(p, i); }
};

template <typename E> struct mask_put {
    struct td_cu_mask_plan p;
    __device__ void operator()(int64_t i, int64_t row) const { td_cu_mask_write<E>(p, i, row); }
};

static enum td_code cu_index_mask(struct td_kctx *k)
{
    struct td_cu_mask_plan p;
    enum td_code c = td_cu_mask_plan_make(k, &p);
    if (c)
        return c;
    if (p.m == 0 || p.P == 0 || p.Q == 0)
        return TD_CODE_OK;
    struct td_cu_ierr_slot err;
    if (!td__cuda_ierr_slot(k, &err))
        return TD_CODE_RESOURCE_EXHAUSTED;
    cudaStream_t s = td_cu_stream_of(k->stream);
    int64_t nch;
    unsigned g;
    int64_t *rows = chunk_rows(p.m, s, &nch, &g);
    if (!rows)
        return TD_CODE_RESOURCE_EXHAUSTED;
    mask_sel sel = {p, p.m, p.count};
    chunk_count<<<g, TD_CU_THREADS, 0, s>>>(sel, rows, nch);
    mask_scan<<<1, TD_CU_THREADS, 0, s>>>(rows, nch);
#define MASK_WRITE(E) chunk_write<<<g, TD_CU_THREADS, 0, s>>>(sel, mask_put<E>{p}, rows, nch, err, TD_CU_IE_COUNT)
    switch (td_cu_dtype_size(k->in[0]->m.dtype)) {
    case 1: MASK_WRITE(uint8_t); break;
    case 2: MASK_WRITE(uint16_t); break;
    case 4: MASK_WRITE(uint32_t); break;
    case 8: MASK_WRITE(uint64_t); break;
    default: MASK_WRITE(td_cu_b16); break;
    }
#undef MASK_WRITE
    enum td_code r = td_cu_launched();
    (void)cudaFreeAsync(rows, s);
    return r;
}

/* ---- NONZERO (index.c's): the positions of x's non-zero elements (NaN counts, -0.0
 * does not) in row-major order as (count, ndim) int64 coordinates, by the mask mode's
 * count / scan / write passes.  The count the client took first must still hold, else
 * nothing is written and the CPU's error comes at the next sync.  count_only: the
 * number itself, into a 0-d int64. */
struct nz_plan {
    const char *x;
    int nd;
    int64_t m, count;
    int64_t size[TD_MAX_DIMS], st[TD_MAX_DIMS]; /* byte strides */
    int64_t *out;
};

template <typename T> struct nz_sel {
    nz_plan p;
    int64_t m, count;
    __device__ bool operator()(int64_t i) const { return *(const T *)(p.x + td_cu_walk_off(p.nd, p.size, p.st, i)) != 0; }
};

/* the row-major coordinates of position i as output row `row` */
struct nz_put {
    nz_plan p;
    __device__ void operator()(int64_t i, int64_t row) const
    {
        for (int d = p.nd - 1; d >= 0; d--) {
            p.out[row * p.nd + d] = i % p.size[d];
            i /= p.size[d];
        }
    }
};

static enum td_code cu_nonzero(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr < TD_A_NONZERO_COUNT_ONLY)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *x = k->in[0], *o = k->out[0];
    const struct td_meta *xm = &x->m, *om = &o->m;
    bool count_only = k->n_attr >= TD_N_NONZERO && k->attrs[TD_A_NONZERO_COUNT_ONLY] == 1;
    nz_plan p;
    memset(&p, 0, sizeof p);
    p.count = k->attrs[TD_A_NONZERO_COUNT];
    if (om->dtype != TD_DTYPE_INT64 || !td_cu_compute_dtype(xm->dtype) ||
        (count_only ? om->ndim != 0 : om->ndim != 2 || om->sizes[0] != p.count || om->sizes[1] != xm->ndim ||
                                          (p.count > 1 && xm->ndim > 0 && om->strides[0] != xm->ndim) ||
                                          (xm->ndim > 1 && om->strides[1] != 1)))
        return TD_CODE_INVALID_ARGUMENT;
    int es = td_cu_dtype_size(xm->dtype);
    p.x = x->data + xm->offset * es;
    p.nd = xm->ndim;
    p.m = 1;
    for (int d = 0; d < xm->ndim; d++)
        p.size[d] = xm->sizes[d], p.st[d] = xm->strides[d] * es, p.m *= xm->sizes[d];
    p.out = (int64_t *)(o->data + om->offset * 8);
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    cudaStream_t s = td_cu_stream_of(k->stream);
    if (p.m == 0) {
        if (count_only && cudaMemsetAsync(p.out, 0, 8, s) != cudaSuccess) {
            (void)cudaGetLastError();
            return TD_CODE_INTERNAL;
        }
        return TD_CODE_OK;
    }
    struct td_cu_ierr_slot err;
    if (!count_only && !td__cuda_ierr_slot(k, &err))
        return TD_CODE_RESOURCE_EXHAUSTED;
    int64_t nch;
    unsigned g;
    int64_t *rows = chunk_rows(p.m, s, &nch, &g);
    if (!rows)
        return TD_CODE_RESOURCE_EXHAUSTED;
    enum td_code r = TD_CODE_OK;
    TD_CU_DISPATCH(xm->dtype, chunk_count<<<g, TD_CU_THREADS, 0, s>>>(nz_sel<T>{p, p.m, p.count}, rows, nch));
    mask_scan<<<1, TD_CU_THREADS, 0, s>>>(rows, nch);
    if (count_only) {
        if (cudaMemcpyAsync(p.out, rows + nch, 8, cudaMemcpyDeviceToDevice, s) != cudaSuccess) {
            (void)cudaGetLastError();
            r = TD_CODE_INTERNAL;
        }
    } else {
        TD_CU_DISPATCH(xm->dtype, chunk_write<<<g, TD_CU_THREADS, 0, s>>>(nz_sel<T>{p, p.m, p.count}, nz_put{p}, rows, nch,
                                                                           err, TD_CU_IE_NZCOUNT));
    }
    if (r == TD_CODE_OK)
        r = td_cu_launched();
    (void)cudaFreeAsync(rows, s);
    return r;
}

static enum td_code cu_index(struct td_kctx *k)
{
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    if (k->op == TD_OP_INDEX && k->n_attr > TD_A_INDEX_MODE && k->attrs[TD_A_INDEX_MODE] == TD_CU_M_MASK)
        return cu_index_mask(k);
    enum td_code c;
    if (k->op == TD_OP_INDEX_PUT) {
        if (k->n_out < 1 || k->n_in < 3)
            return TD_CODE_INVALID_ARGUMENT;
        if ((c = copy_self(k)))
            return c;
    }
    struct td_cu_ix_plan p;
    if ((c = td_cu_ix_plan_make(k, &p)))
        return c;
    if (p.n == 0)
        return TD_CODE_OK;
    struct td_cu_ierr_slot err;
    if (!td__cuda_ierr_slot(k, &err))
        return TD_CODE_RESOURCE_EXHAUSTED;
    cudaStream_t s = td_cu_stream_of(k->stream);
    unsigned g = grid_for(p.n);
    int dt = k->out[0]->m.dtype;
    if (p.accumulate) {
        BY_TYPE(dt, ix_kernel, p, err);
    } else {
        BY_SIZE(td_cu_dtype_size(dt), ix_kernel, p, err);
    }
    return td_cu_launched();
}

/* float16/bfloat16 on the native path (device.h's half_kernel): the pure byte movers,
 * GATHER and INDEX (every mode); the accumulating rows keep the float32 path */
td_kernel_fn td__cuda_index_half_kernel(unsigned op, unsigned dt)
{
    if (!td_cu_is_half((int)dt))
        return NULL;
    return op == TD_OP_GATHER ? cu_gather_scatter : op == TD_OP_INDEX ? cu_index : NULL;
}

td_kernel_fn td__cuda_index_kernel(unsigned op, unsigned dt)
{
    bool cx = dt == TD_DTYPE_COMPLEX64 || dt == TD_DTYPE_COMPLEX128;
    if (!td_cu_compute_dtype((int)dt) && !cx)
        return NULL;
    switch (op) {
    case TD_OP_NONZERO: return cx ? NULL : cu_nonzero;
    case TD_OP_GATHER: return cu_gather_scatter;
    case TD_OP_SCATTER: return cx ? NULL : cu_gather_scatter;
    case TD_OP_INDEX:
    case TD_OP_INDEX_PUT: return cu_index;
    default: return NULL;
    }
}
