/*
 * create.cu — the creation ops on the GPU: EMPTY (zeroed, as on the CPU: a device block
 * may have held another session's tensor), FULL, ARANGE, LINSPACE, EYE, with
 * kernels/cpu/create.c's values (create_ops.cuh).  The executor allocated out[0]
 * contiguous, of the record's dtype (float16/bfloat16 arrive as float32 and are cast
 * after, except EMPTY's); the op-specific attributes follow the sizes (TD_A_*_TAIL).
 * Without these, a tensor made on a device was made on the host and copied over.
 */
#include "create_ops.cuh"

/* The op-specific attributes (need words after the sizes), or NULL when malformed. */
static const int64_t *own_attrs(const struct td_kctx *k, uint32_t need)
{
    int64_t nd = k->n_attr >= TD_A_CREATE_SIZE ? k->attrs[TD_A_CREATE_NDIM] : -1;
    if (k->n_out < 1 || nd < 0 || nd > TD_MAX_DIMS || k->n_attr < TD_A_CREATE_SIZE + nd + need)
        return NULL;
    return k->attrs + TD_A_CREATE_SIZE + nd;
}

static int64_t numel(const struct td_kt *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->m.ndim; d++)
        n *= t->m.sizes[d];
    return n;
}

static char *base(const struct td_kt *t) { return t->data + t->m.offset * (int64_t)td_cu_dtype_size(t->m.dtype); }

static enum td_code cu_empty(struct td_kctx *k)
{
    if (k->n_out < 1 || !td_cu_enter(k))
        return k->n_out < 1 ? TD_CODE_INVALID_ARGUMENT : TD_CODE_INTERNAL;
    const struct td_kt *o = k->out[0];
    size_t n = (size_t)numel(o) * (size_t)td_cu_dtype_size(o->m.dtype);
    if (n && cudaMemsetAsync(base(o), 0, n, td_cu_stream_of(k->stream)) != cudaSuccess) {
        (void)cudaGetLastError();
        return TD_CODE_INTERNAL;
    }
    return TD_CODE_OK;
}

static enum td_code cu_full(struct td_kctx *k)
{
    const int64_t *x = own_attrs(k, TD_N_FULL_TAIL);
    if (!x)
        return TD_CODE_INVALID_ARGUMENT;
    return td__cuda_fill(k, k->out[0], x + TD_A_FULL_FILL_VALUE_TAIL);
}

template <typename P, typename E>
__global__ void __launch_bounds__(TD_CU_THREADS) index_fill(const P p, char *out, int64_t es, int64_t n, E elem)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        elem(p, out + i * es, i);
}

struct arange_elem {
    __device__ void operator()(const td_cu_arange &a, char *out, int64_t i) const { td_cu_arange_elem(a, out, i); }
};
struct linspace_elem {
    __device__ void operator()(const td_cu_linspace &l, char *out, int64_t i) const { td_cu_linspace_elem(l, out, i); }
};

template <typename P, typename E> static enum td_code run_index_fill(struct td_kctx *k, const P &p, E elem)
{
    const struct td_kt *o = k->out[0];
    int64_t n = numel(o);
    if (n == 0)
        return TD_CODE_OK;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    int64_t blocks = (n + TD_CU_THREADS - 1) / TD_CU_THREADS;
    index_fill<P, E><<<(unsigned)(blocks < TD_CU_MAX_BLOCKS ? blocks : TD_CU_MAX_BLOCKS), TD_CU_THREADS, 0,
                        td_cu_stream_of(k->stream)>>>(p, base(o), td_cu_dtype_size(o->m.dtype), n, elem);
    return td_cu_launched();
}

static double scalar_f64(const int64_t *s)
{
    double v;
    memcpy(&v, &s[1], sizeof v);
    return s[0] == TD_SCALAR_FLOAT ? v : (double)s[1];
}

static enum td_code cu_arange(struct td_kctx *k)
{
    const int64_t *x = own_attrs(k, TD_N_ARANGE_TAIL);
    if (!x || !td_cu_scalar_kind_ok(x[TD_A_ARANGE_START_TAIL]) || !td_cu_scalar_kind_ok(x[TD_A_ARANGE_STEP_TAIL]))
        return TD_CODE_INVALID_ARGUMENT;
    const int64_t *a0 = x + TD_A_ARANGE_START_TAIL, *a1 = x + TD_A_ARANGE_STEP_TAIL;
    td_cu_arange a;
    a.dt = k->out[0]->m.dtype;
    a.fstart = scalar_f64(a0), a.fstep = scalar_f64(a1);
    /* integer outputs: float start/step truncated, as PyTorch's cast */
    a.istart = a0[0] == TD_SCALAR_FLOAT ? (int64_t)a.fstart : a0[1];
    a.istep = a1[0] == TD_SCALAR_FLOAT ? (int64_t)a.fstep : a1[1];
    return run_index_fill(k, a, arange_elem());
}

static enum td_code cu_linspace(struct td_kctx *k)
{
    const int64_t *x = own_attrs(k, TD_N_LINSPACE_TAIL);
    if (!x)
        return TD_CODE_INVALID_ARGUMENT;
    td_cu_linspace l;
    l.dt = k->out[0]->m.dtype;
    l.n = numel(k->out[0]);
    memcpy(&l.start, &x[TD_A_LINSPACE_START_TAIL], 8);
    memcpy(&l.end, &x[TD_A_LINSPACE_END_TAIL], 8);
    return run_index_fill(k, l, linspace_elem());
}

static enum td_code cu_eye(struct td_kctx *k)
{
    struct td_kt *o = k->out[0];
    if (!own_attrs(k, 0) || o->m.ndim != 2)
        return TD_CODE_INVALID_ARGUMENT;
    const int64_t zero[2] = {TD_SCALAR_INT, 0}, one[2] = {TD_SCALAR_INT, 1};
    enum td_code c = td__cuda_fill(k, o, zero);
    if (c)
        return c;
    struct td_kt d = *o; /* the diagonal, as a 1-d view */
    d.m.ndim = 1;
    d.m.sizes[0] = o->m.sizes[0] < o->m.sizes[1] ? o->m.sizes[0] : o->m.sizes[1];
    d.m.strides[0] = o->m.strides[0] + o->m.strides[1];
    return td__cuda_fill(k, &d, one);
}

td_kernel_fn td__cuda_create_kernel(unsigned op, unsigned dt)
{
    if (!td_cu_compute_dtype((int)dt))
        return op == TD_OP_EMPTY && td_cu_dtype_size((int)dt) ? cu_empty : NULL;
    switch (op) {
    case TD_OP_EMPTY: return cu_empty;
    case TD_OP_FULL: return cu_full;
    case TD_OP_ARANGE: return cu_arange;
    case TD_OP_LINSPACE: return cu_linspace;
    case TD_OP_EYE: return cu_eye;
    default: return NULL;
    }
}
