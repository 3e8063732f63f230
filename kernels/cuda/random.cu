/*
 * random.cu — random sampling on the GPU with a counter-based Philox generator
 * (random_ops.cuh): RAND, RANDN, RANDINT, and the in-place samplers UNIFORM_,
 * NORMAL_, LOG_NORMAL_, EXPONENTIAL_, CAUCHY_, GEOMETRIC_, BERNOULLI_ (scalar p, what
 * dropout uses) and RANDOM_.  Each op takes one word of the session generator (k->rng)
 * as its Philox key; element i (the output's logical row-major index, as on the CPU)
 * reads counter (i, draw).  Samplers apply the CPU's transforms (kernels/cpu/random.c,
 * create.c) to those bits.  BERNOULLI_P (a probability tensor the CPU range-checks),
 * MULTINOMIAL, RANDPERM, POISSON, BINOMIAL and the state transfers stay staged.
 */
#include "random_ops.cuh"
#include "../rng.h"

struct rand_launch {
    struct td_cu_rand q;
    int nd;
    int64_t n, size[TD_MAX_DIMS], stride[TD_MAX_DIMS]; /* the output, strides in bytes */
    char *base;
};

__global__ void __launch_bounds__(TD_CU_THREADS) rand_kernel(const struct rand_launch L)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < L.n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t off = 0, r = i;
        for (int d = L.nd - 1; d >= 0; d--) {
            int64_t q = r / L.size[d];
            off += (r - q * L.size[d]) * L.stride[d];
            r = q;
        }
        td_cu_rand_elem(L.q, (uint64_t)i, L.base + off);
    }
}

static double f64_at(const struct td_kctx *k, uint32_t i)
{
    double v = 0;
    if (i < k->n_attr)
        memcpy(&v, &k->attrs[i], sizeof v);
    return v;
}

static int mantissa_bits(int64_t dt)
{
    return dt == TD_DTYPE_FLOAT16 ? 11 : dt == TD_DTYPE_BFLOAT16 ? 8 : dt == TD_DTYPE_FLOAT32 ? 24 : 53;
}

/* The sampler of record k; INVALID_ARGUMENT when the record is not one this runs. */
static enum td_code sampler_of(const struct td_kctx *k, struct td_cu_rand *q)
{
    memset(q, 0, sizeof *q);
    const struct td_kt *o = k->out[0];
    q->dt = o->m.dtype;
    q->final_dt = o->m.dtype;
    q->bits = 53;
    bool fl = q->dt == TD_DTYPE_FLOAT32 || q->dt == TD_DTYPE_FLOAT64;
    bool create = k->op == TD_OP_RAND || k->op == TD_OP_RANDN || k->op == TD_OP_RANDINT;
    if (create) {
        int64_t nd = k->n_attr >= TD_A_CREATE_SIZE ? k->attrs[TD_A_CREATE_NDIM] : -1;
        if (nd < 0 || nd > TD_MAX_DIMS || k->n_attr < (uint32_t)(TD_A_CREATE_SIZE + nd + (k->op == TD_OP_RANDINT ? 2 : 0)))
            return TD_CODE_INVALID_ARGUMENT;
        if (k->op == TD_OP_RANDINT) {
            const int64_t *x = k->attrs + TD_A_CREATE_SIZE + nd;
            int64_t low = x[TD_A_RANDINT_LOW_TAIL], high = x[TD_A_RANDINT_HIGH_TAIL];
            q->kind = TD_CU_R_INT;
            q->from = low;
            q->span = high > low ? (uint64_t)high - (uint64_t)low : 0;
            return TD_CODE_OK;
        }
        if (!fl)
            return TD_CODE_INVALID_ARGUMENT;
        if (k->op == TD_OP_RANDN) {
            q->kind = TD_CU_R_NORMAL, q->a = 0, q->b = 1;
        } else {
            q->kind = TD_CU_R_UNIFORM, q->a = 0, q->b = 1;
            q->bits = q->dt == TD_DTYPE_FLOAT32 ? mantissa_bits(k->attrs[TD_A_CREATE_DTYPE] == TD_DTYPE_FLOAT16 ||
                                                                        k->attrs[TD_A_CREATE_DTYPE] == TD_DTYPE_BFLOAT16
                                                                    ? k->attrs[TD_A_CREATE_DTYPE]
                                                                    : TD_DTYPE_FLOAT32)
                                                : 53;
        }
        return TD_CODE_OK;
    }
    if (k->n_in != 1)
        return TD_CODE_INVALID_ARGUMENT;
    switch (k->op) {
    case TD_OP_UNIFORM_:
        q->kind = TD_CU_R_UNIFORM, q->a = f64_at(k, TD_A_UNIFORM__FROM), q->b = f64_at(k, TD_A_UNIFORM__TO);
        if (k->n_attr > TD_A_UNIFORM__DTYPE && k->attrs[TD_A_UNIFORM__DTYPE] >= 0 &&
            k->attrs[TD_A_UNIFORM__DTYPE] < TD_DTYPE_COUNT)
            q->final_dt = (int)k->attrs[TD_A_UNIFORM__DTYPE];
        q->bits = mantissa_bits(q->final_dt);
        break;
    case TD_OP_NORMAL_: q->kind = TD_CU_R_NORMAL, q->a = f64_at(k, TD_A_NORMAL__MEAN), q->b = f64_at(k, TD_A_NORMAL__STD); break;
    case TD_OP_LOG_NORMAL_:
        q->kind = TD_CU_R_LOG_NORMAL, q->a = f64_at(k, TD_A_LOG_NORMAL__MEAN), q->b = f64_at(k, TD_A_LOG_NORMAL__STD);
        break;
    case TD_OP_EXPONENTIAL_: q->kind = TD_CU_R_EXPONENTIAL, q->a = f64_at(k, TD_A_EXPONENTIAL__LAMBD); break;
    case TD_OP_CAUCHY_: q->kind = TD_CU_R_CAUCHY, q->a = f64_at(k, TD_A_CAUCHY__MEDIAN), q->b = f64_at(k, TD_A_CAUCHY__SIGMA); break;
    case TD_OP_GEOMETRIC_: q->kind = TD_CU_R_GEOMETRIC, q->a = f64_at(k, TD_A_GEOMETRIC__P); break;
    case TD_OP_BERNOULLI_: q->kind = TD_CU_R_BERNOULLI, q->a = f64_at(k, TD_A_BERNOULLI__P); return TD_CODE_OK;
    case TD_OP_RANDOM_: {
        if (k->n_attr < TD_N_RANDOM_)
            return TD_CODE_INVALID_ARGUMENT;
        int64_t from = k->attrs[TD_A_RANDOM__FROM], to = k->attrs[TD_A_RANDOM__TO];
        if (!td_rng_span(from, to, &q->span))
            return TD_CODE_INVALID_ARGUMENT; /* the meta rule reports it first */
        q->kind = TD_CU_R_INT, q->from = from, q->full = q->span == 0;
        return TD_CODE_OK;
    }
    default: return TD_CODE_INVALID_ARGUMENT;
    }
    return fl ? TD_CODE_OK : TD_CODE_INVALID_ARGUMENT;
}

static enum td_code cu_random(struct td_kctx *k)
{
    if (k->n_out < 1 || !k->rng)
        return TD_CODE_INVALID_ARGUMENT;
    struct rand_launch L;
    memset(&L, 0, sizeof L);
    enum td_code c = sampler_of(k, &L.q);
    if (c)
        return c;
    const struct td_kt *o = k->out[0];
    int es = td_cu_dtype_size(o->m.dtype);
    L.n = 1;
    for (int d = 0; d < o->m.ndim; d++) {
        L.size[d] = o->m.sizes[d], L.stride[d] = o->m.strides[d] * es;
        L.n *= o->m.sizes[d];
    }
    L.nd = o->m.ndim;
    L.base = o->data + o->m.offset * es;
    if (L.n == 0)
        return TD_CODE_OK;
    if (L.q.kind == TD_CU_R_INT && L.q.span == 0 && !L.q.full)
        return TD_CODE_INVALID_ARGUMENT;
    /* one 64-bit draw of the session's generator per op: the same seed, the same device values */
    L.q.key = td_rng_u64((struct td_rng *)k->rng);
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    int64_t blocks = (L.n + TD_CU_THREADS - 1) / TD_CU_THREADS;
    rand_kernel<<<(unsigned)(blocks < TD_CU_MAX_BLOCKS ? blocks : TD_CU_MAX_BLOCKS), TD_CU_THREADS, 0,
                  td_cu_stream_of(k->stream)>>>(L);
    return td_cu_launched();
}

td_kernel_fn td__cuda_random_kernel(unsigned op, unsigned dt)
{
    bool fl = dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64;
    switch (op) {
    case TD_OP_RAND:
    case TD_OP_RANDN:
    case TD_OP_UNIFORM_:
    case TD_OP_NORMAL_:
    case TD_OP_LOG_NORMAL_:
    case TD_OP_EXPONENTIAL_:
    case TD_OP_CAUCHY_:
    case TD_OP_GEOMETRIC_: return fl ? cu_random : NULL;
    case TD_OP_RANDINT:
    case TD_OP_RANDOM_:
    case TD_OP_BERNOULLI_: return td_cu_compute_dtype((int)dt) ? cu_random : NULL;
    default: return NULL;
    }
}
