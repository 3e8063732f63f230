/*
 * create.c — creation ops: EMPTY FULL ARANGE LINSPACE EYE RAND RANDN RANDINT.
 *
 * The executor allocated out[0] (contiguous) with the dtype and sizes of the CREATE
 * layout; the op-specific attributes follow the sizes (proto/ops.args: TD_A_*_TAIL).
 * Output dtypes are never float16/bfloat16 here (the executor casts).  Values are
 * computed as PyTorch does: arange as start + i*step (double for float outputs, int64
 * for integer ones), linspace from both ends in the output's own precision, random
 * draws with the samplers of random.c (torch.rand is empty().uniform_() there too).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../rng.h"
#include "iter.h"
#include "random.h"

/* The op-specific attributes (need words after the sizes), or NULL when attrs are
 * malformed. */
static const int64_t *own_attrs(const struct td_kctx *k, uint32_t need)
{
    int64_t nd = k->n_attr >= TD_A_CREATE_SIZE ? k->attrs[TD_A_CREATE_NDIM] : -1;
    if (k->n_out < 1 || nd < 0 || nd > TD_MAX_DIMS)
        return NULL;
    int64_t at = TD_A_CREATE_SIZE + nd; /* the sizes' nd words come first */
    if (k->n_attr < at + need) /* out dtype may differ: f16/bf16 are produced in float32 */
        return NULL;
    return k->attrs + at;
}

static int64_t numel(const struct td_kt *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->m.ndim; d++)
        n *= t->m.sizes[d];
    return n;
}

/* Element i of contiguous t. */
static char *elem(const struct td_kt *t, int64_t i)
{
    size_t es = td_dtype_size((enum td_dtype)t->m.dtype);
    return t->data + (t->m.offset + i) * (int64_t)es;
}

/* torch.empty promises nothing about the values, but the daemon does: the block may have
 * held another session's tensor (or, from the block cache, the allocator's free-list
 * link), and a bool tensor must hold only 0 and 1 (kernels load it as _Bool).  Zeros
 * satisfy both; the cost is one memset, measured in docs/performance.md. */
enum td_code td_cpu_empty(struct td_kctx *k)
{
    if (k->n_out < 1)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *o = k->out[0];
    if ((k->flags & TD_RF_UNINIT) && o->m.dtype == TD_DTYPE_UINT8)
        return TD_CODE_OK; /* the client overwrites the block (proto/td_record.h) */
    memset(elem(o, 0), 0, (size_t)numel(o) * td_dtype_size((enum td_dtype)o->m.dtype));
    return TD_CODE_OK;
}

enum td_code td_cpu_full(struct td_kctx *k)
{
    const int64_t *x = own_attrs(k, TD_N_FULL_TAIL);
    char v[16]; /* complex128 is the widest element */
    if (!x || !td__scalar_kind_ok(x[TD_A_FULL_FILL_VALUE_TAIL]))
        return TD_CODE_INVALID_ARGUMENT;
    const int64_t *fill = x + TD_A_FULL_FILL_VALUE_TAIL;
    td__scalar_store((enum td_dtype)k->out[0]->m.dtype, v, fill[0], fill[1]);
    td__fill(k->out[0], v);
    return TD_CODE_OK;
}

enum td_code td_cpu_arange(struct td_kctx *k)
{
    const int64_t *x = own_attrs(k, TD_N_ARANGE_TAIL);
    if (!x || !td__scalar_kind_ok(x[TD_A_ARANGE_START_TAIL]) || !td__scalar_kind_ok(x[TD_A_ARANGE_STEP_TAIL]))
        return TD_CODE_INVALID_ARGUMENT;
    const int64_t *a0 = x + TD_A_ARANGE_START_TAIL, *a1 = x + TD_A_ARANGE_STEP_TAIL; /* kind, bits */
    struct td_kt *o = k->out[0];
    enum td_dtype dt = (enum td_dtype)o->m.dtype;
    int64_t n = numel(o);
    if (td_dtype_is_float(dt)) {
        double start = td__scalar_f64(a0[0], a0[1]);
        double step = td__scalar_f64(a1[0], a1[1]);
        for (int64_t i = 0; i < n; i++)
            td_store_f64(dt, elem(o, i), start + (double)i * step);
    } else {
        /* integer outputs: integer start/step (float ones truncated, as PyTorch's cast) */
        int64_t start = a0[0] == TD_SCALAR_FLOAT ? (int64_t)td__scalar_f64(a0[0], a0[1]) : a0[1];
        int64_t step = a1[0] == TD_SCALAR_FLOAT ? (int64_t)td__scalar_f64(a1[0], a1[1]) : a1[1];
        for (int64_t i = 0; i < n; i++)
            td_store_i64(dt, elem(o, i), (int64_t)((uint64_t)start + (uint64_t)i * (uint64_t)step));
    }
    return TD_CODE_OK;
}

/* PyTorch's linspace kernel: step from both ends, first half from start. */
#define LINSPACE_FILL(T, S, start_, end_)                                   \
    do {                                                                    \
        const T s0 = (T)(start_), s1 = (T)(end_);                           \
        const S step = ((S)s1 - (S)s0) / (S)(n - 1);                        \
        for (int64_t i = 0; i < n; i++)                                     \
            vals[i] = i < n / 2 ? (double)(T)(s0 + step * (S)i)             \
                                : (double)(T)(s1 - step * (S)(n - i - 1));  \
    } while (0)

enum td_code td_cpu_linspace(struct td_kctx *k)
{
    const int64_t *x = own_attrs(k, TD_N_LINSPACE_TAIL);
    if (!x)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *o = k->out[0];
    enum td_dtype dt = (enum td_dtype)o->m.dtype;
    int64_t n = numel(o);
    double start, end;
    memcpy(&start, &x[TD_A_LINSPACE_START_TAIL], 8);
    memcpy(&end, &x[TD_A_LINSPACE_END_TAIL], 8);
    if (n == 0)
        return TD_CODE_OK;
    if (n == 1) {
        td_store_f64(dt, elem(o, 0), start);
        return TD_CODE_OK;
    }
    double *vals = malloc((size_t)n * sizeof(double));
    if (!vals)
        return TD_CODE_RESOURCE_EXHAUSTED;
    if (dt == TD_DTYPE_FLOAT32)
        LINSPACE_FILL(float, float, start, end);
    else if (dt == TD_DTYPE_FLOAT64)
        LINSPACE_FILL(double, double, start, end);
    else /* integers: ends converted first, steps in double, then truncated */
        LINSPACE_FILL(int64_t, double, start, end);
    for (int64_t i = 0; i < n; i++)
        td_store_f64(dt, elem(o, i), vals[i]);
    free(vals);
    return TD_CODE_OK;
}

enum td_code td_cpu_eye(struct td_kctx *k)
{
    struct td_kt *o = k->out[0];
    char zero[16] = {0}, one[16];
    if (!own_attrs(k, 0) || o->m.ndim != 2)
        return TD_CODE_INVALID_ARGUMENT;
    enum td_dtype dt = (enum td_dtype)o->m.dtype;
    size_t es = td_dtype_size(dt);
    td_store_i64(dt, one, 1);
    td__fill(o, zero);
    int64_t n = o->m.sizes[0] < o->m.sizes[1] ? o->m.sizes[0] : o->m.sizes[1];
    for (int64_t i = 0; i < n; i++)
        memcpy(o->data + (o->m.offset + i * (o->m.strides[0] + o->m.strides[1])) * (int64_t)es,
               one, es);
    return TD_CODE_OK;
}

enum td_code td_cpu_rand(struct td_kctx *k)
{
    struct td_kt *o = k->out[0];
    if (!own_attrs(k, 0) || !k->rng || !td_dtype_is_float((enum td_dtype)o->m.dtype))
        return TD_CODE_INVALID_ARGUMENT;
    /* the requested dtype (the attribute: float16/bfloat16 are produced in float32)
     * decides how many random bits a value takes, as in torch */
    int64_t want = k->attrs[TD_A_CREATE_DTYPE];
    td__rand_uniform(k->rng, o, 0.0, 1.0, td_dtype_valid(want) ? (enum td_dtype)want : (enum td_dtype)o->m.dtype);
    return TD_CODE_OK;
}

enum td_code td_cpu_randn(struct td_kctx *k)
{
    struct td_kt *o = k->out[0];
    if (!own_attrs(k, 0) || !k->rng || !td_dtype_is_float((enum td_dtype)o->m.dtype))
        return TD_CODE_INVALID_ARGUMENT;
    int64_t want = k->attrs[TD_A_CREATE_DTYPE];
    td__rand_normal(k->rng, o, 0.0, 1.0, td_dtype_valid(want) ? (enum td_dtype)want : (enum td_dtype)o->m.dtype);
    return TD_CODE_OK;
}

enum td_code td_cpu_randint(struct td_kctx *k)
{
    const int64_t *x = own_attrs(k, TD_N_RANDINT_TAIL);
    if (!x || !k->rng)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *o = k->out[0];
    int64_t low = x[TD_A_RANDINT_LOW_TAIL], high = x[TD_A_RANDINT_HIGH_TAIL];
    uint64_t span;
    if (!td_rng_span(low, high, &span) || high == TD_RNG_TO_NONE)
        return numel(o) == 0 ? TD_CODE_OK : TD_CODE_INVALID_ARGUMENT;
    td__rand_ints(k->rng, o, low, span);
    return TD_CODE_OK;
}
