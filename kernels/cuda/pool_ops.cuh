/*
 * pool_ops.cuh — the per-element logic of the pooling kernels (pool.cu), following
 * kernels/cpu/pool.c: MAX_POOL and ADAPTIVE_MAX_POOL (values and int64 indices, an
 * index being the element's offset in its (n, c) plane), AVG_POOL, ADAPTIVE_AVG_POOL,
 * their backward rows, and MAX_POOL_BACKWARD.  Host-callable, so tests/check_cuda_ops.cu
 * runs them against the CPU kernels.
 *
 * Forward: one thread per output element walks its window in the CPU's order (a NaN
 * wins, the last one; ties keep the first maximum; sums in the compute type: float for
 * float16/bfloat16, which the CPU pools in float32 between its casts), so values
 * and indices are the CPU's bit for bit.  Average backward: one thread per input
 * element sums the gradients of the windows that hold it in increasing output order,
 * which is the order the CPU's serial scatter adds them in: bit for bit too.  Max
 * backward scatters with atomic adds (overlapping windows may round differently from
 * the CPU's order); an index outside its plane is reported through the stream's error
 * record (index_ops.cuh) with the CPU's message.
 */
#ifndef TD_CUDA_POOL_OPS_CUH
#define TD_CUDA_POOL_OPS_CUH

#include "index_ops.cuh"

enum { TD_CU_P_MAX, TD_CU_P_AVG, TD_CU_P_ADAPTIVE_AVG, TD_CU_P_ADAPTIVE_MAX };

struct td_cu_pool {
    int kind;
    bool cip, backward;   /* cip: count_include_pad */
    int64_t divisor;      /* 0: none */
    int64_t planes, X, P; /* planes, input and output plane sizes */
    int64_t in[3], out[3], k[3], s[3], p[3], d[3]; /* spatial dims padded to 3 with leading 1s */
    const char *x, *go;
    const int64_t *ix;
    char *y, *gx;
    int64_t *iy;
};

/* The plan of a pooling record (validated by the meta rule); data pointers are the
 * operands' (the caller makes x/go/ix dense first). */
static inline enum td_code td_cu_pool_plan_make(const struct td_kctx *k, struct td_cu_pool *q)
{
    memset(q, 0, sizeof *q);
    const struct td_meta *x, *o;
    switch (k->op) {
    case TD_OP_MAX_POOL: q->kind = TD_CU_P_MAX; break;
    case TD_OP_ADAPTIVE_MAX_POOL: q->kind = TD_CU_P_ADAPTIVE_MAX; break;
    case TD_OP_ADAPTIVE_AVG_POOL: case TD_OP_ADAPTIVE_AVG_POOL_BACKWARD: q->kind = TD_CU_P_ADAPTIVE_AVG; break;
    case TD_OP_AVG_POOL: case TD_OP_AVG_POOL_BACKWARD: case TD_OP_MAX_POOL_BACKWARD: q->kind = TD_CU_P_AVG; break;
    default: return TD_CODE_INVALID_ARGUMENT;
    }
    q->backward = k->op == TD_OP_MAX_POOL_BACKWARD || k->op == TD_OP_AVG_POOL_BACKWARD ||
                  k->op == TD_OP_ADAPTIVE_AVG_POOL_BACKWARD;
    if (k->n_out < 1 || k->n_in < 1 || (q->backward && k->n_in < 2) ||
        ((k->op == TD_OP_MAX_POOL || k->op == TD_OP_ADAPTIVE_MAX_POOL) && k->n_out < 2) ||
        (k->op == TD_OP_MAX_POOL_BACKWARD && k->n_in < 3))
        return TD_CODE_INVALID_ARGUMENT;
    x = q->backward ? &k->in[1]->m : &k->in[0]->m; /* the forward input (its shape) */
    o = q->backward ? &k->in[0]->m : &k->out[0]->m; /* the forward output (its shape) */
    int nsp = x->ndim - 2;
    if (nsp < 1 || nsp > 3 || o->ndim != x->ndim)
        return TD_CODE_INVALID_ARGUMENT;
    /* kernel, stride, padding (and dilation) lists of the sliding pools */
    const int64_t *kl = NULL, *sl = NULL, *pl = NULL, *dl = NULL;
    if (k->op == TD_OP_MAX_POOL) {
        if (k->n_attr != (uint32_t)(TD_A_MAX_POOL_KERNEL_SIZE + 4 * nsp) || k->attrs[TD_A_MAX_POOL_N_KERNEL] != nsp)
            return TD_CODE_INVALID_ARGUMENT;
        kl = k->attrs + TD_A_MAX_POOL_KERNEL_SIZE, sl = kl + nsp, pl = sl + nsp, dl = pl + nsp;
    } else if (k->op == TD_OP_AVG_POOL || k->op == TD_OP_AVG_POOL_BACKWARD) {
        if (k->n_attr != (uint32_t)(TD_A_AVG_POOL_KERNEL_SIZE + 3 * nsp) || k->attrs[TD_A_AVG_POOL_N_KERNEL] != nsp)
            return TD_CODE_INVALID_ARGUMENT;
        kl = k->attrs + TD_A_AVG_POOL_KERNEL_SIZE, sl = kl + nsp, pl = sl + nsp;
        q->cip = k->attrs[TD_A_AVG_POOL_COUNT_INCLUDE_PAD] != 0;
        q->divisor = k->attrs[TD_A_AVG_POOL_DIVISOR_OVERRIDE];
    }
    q->planes = x->sizes[0] * x->sizes[1];
    if (o->sizes[0] != x->sizes[0] || o->sizes[1] != x->sizes[1])
        return TD_CODE_INVALID_ARGUMENT;
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - nsp);
        q->in[i] = j < 0 ? 1 : x->sizes[2 + j];
        q->out[i] = j < 0 ? 1 : o->sizes[2 + j];
        q->k[i] = j < 0 || !kl ? 1 : kl[j];
        q->s[i] = j < 0 || !sl ? 1 : sl[j];
        q->p[i] = j < 0 || !pl ? 0 : pl[j];
        q->d[i] = j < 0 || !dl ? 1 : dl[j];
        if (q->k[i] < 1 || q->s[i] < 1 || q->d[i] < 1 || q->p[i] < 0)
            return TD_CODE_INVALID_ARGUMENT;
    }
    q->X = q->in[0] * q->in[1] * q->in[2];
    q->P = q->out[0] * q->out[1] * q->out[2];
    if (q->backward) {
        q->go = td_cu_at(k->in[0]);
        q->gx = td_cu_at(k->out[0]);
        q->ix = k->op == TD_OP_MAX_POOL_BACKWARD ? (const int64_t *)td_cu_at(k->in[2]) : NULL;
    } else {
        q->x = td_cu_at(k->in[0]);
        q->y = td_cu_at(k->out[0]);
        q->iy = k->n_out > 1 ? (int64_t *)td_cu_at(k->out[1]) : NULL;
    }
    return TD_CODE_OK;
}

/* floor(a b / c) and the remainder, exactly, for a b up to 2^128 and a quotient that
 * fits: 64-bit math when the product does, else binary long division (no 128-bit
 * division: the ROCm build's device compiler has none). */
TD_CU_HD uint64_t td_cu_muldiv(uint64_t a, uint64_t b, uint64_t c, uint64_t *rem)
{
    if (a == 0 || b <= UINT64_MAX / a) {
        *rem = a * b % c;
        return a * b / c;
    }
    uint64_t al = a & 0xffffffffu, ah = a >> 32, bl = b & 0xffffffffu, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    uint64_t lo = (ll & 0xffffffffu) | (mid << 32), hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    uint64_t q = 0, r = 0;
    for (int i = 127; i >= 0; i--) {
        r = (r << 1) | ((i >= 64 ? hi >> (i - 64) : lo >> i) & 1);
        if (r >= c) {
            r -= c;
            if (i < 64)
                q |= (uint64_t)1 << i;
        }
    }
    *rem = r;
    return q;
}

/* Output o's window along dim i: [*a, *b) in steps of *st; *padded its length clipped
 * to the padded input (count_include_pad's divisor).  pool.c's window(). */
TD_CU_HD void td_cu_pool_window(const struct td_cu_pool &q, int i, int64_t o, int64_t *a, int64_t *b, int64_t *st,
                                double *padded)
{
    int64_t n = q.in[i];
    *st = 1;
    if (q.kind == TD_CU_P_ADAPTIVE_AVG || q.kind == TD_CU_P_ADAPTIVE_MAX) {
        uint64_t m = (uint64_t)q.out[i], r; /* products up to 2^80 */
        *a = (int64_t)td_cu_muldiv((uint64_t)o, (uint64_t)n, m, &r);
        *b = (int64_t)td_cu_muldiv((uint64_t)(o + 1), (uint64_t)n, m, &r);
        *b += r != 0; /* ceil */
        *padded = (double)(*b - *a);
        return;
    }
    int64_t s = o * q.s[i] - q.p[i];
    if (q.kind == TD_CU_P_AVG) {
        int64_t e = s + q.k[i] < n + q.p[i] ? s + q.k[i] : n + q.p[i];
        *padded = (double)(e - s);
        *a = s < 0 ? 0 : s;
        *b = e < n ? e : n;
        return;
    }
    int64_t d = q.d[i], e = s + (q.k[i] - 1) * d + 1;
    if (s < 0)
        s += (-s + d - 1) / d * d;
    *a = s;
    *b = e < n ? e : n;
    *st = d;
    *padded = 0;
}

TD_CU_HD bool td_cu_pool_window3(const struct td_cu_pool &q, const int64_t *o, int64_t *a, int64_t *b, int64_t *st,
                                 double *padded)
{
    double len;
    bool any = true;
    *padded = 1;
    for (int i = 0; i < 3; i++) {
        td_cu_pool_window(q, i, o[i], &a[i], &b[i], &st[i], &len);
        *padded *= len;
        any &= b[i] > a[i];
    }
    return any;
}

TD_CU_HD double td_cu_pool_divisor(const struct td_cu_pool &q, const int64_t *a, const int64_t *b, double padded)
{
    if (q.divisor)
        return (double)q.divisor;
    if (q.kind == TD_CU_P_AVG && q.cip)
        return padded;
    return (double)((b[0] - a[0]) * (b[1] - a[1]) * (b[2] - a[2]));
}

/* Forward: output element e (plane e / P, position e % P).  S: the storage type
 * (td_cu_elem: float16/bfloat16 computed in float, as the CPU between its casts). */
template <typename S> TD_CU_HD void td_cu_pool_fwd(const struct td_cu_pool &q, int64_t e)
{
    typedef typename td_cu_elem<S>::T T;
    int64_t pl = e / q.P, op = e - pl * q.P;
    int64_t o[3] = {op / (q.out[1] * q.out[2]), op / q.out[2] % q.out[1], op % q.out[2]};
    int64_t a[3], b[3], st[3];
    double padded;
    const S *x = (const S *)q.x + pl * q.X;
    S *y = (S *)q.y;
    bool any = td_cu_pool_window3(q, o, a, b, st, &padded);
    if (q.kind == TD_CU_P_MAX || q.kind == TD_CU_P_ADAPTIVE_MAX) {
        int64_t best = (a[0] * q.in[1] + a[1]) * q.in[2] + a[2];
        T m = -INFINITY;
        for (int64_t i0 = a[0]; i0 < b[0]; i0 += st[0])
            for (int64_t i1 = a[1]; i1 < b[1]; i1 += st[1])
                for (int64_t i2 = a[2], idx = (i0 * q.in[1] + i1) * q.in[2] + i2; i2 < b[2]; i2 += st[2], idx += st[2]) {
                    T v = td_cu_elem<S>::load((const char *)(x + idx));
                    if (v > m || v != v) {
                        m = v;
                        best = idx;
                    }
                }
        td_cu_elem<S>::store((char *)(y + e), m);
        if (q.iy)
            q.iy[e] = best;
        return;
    }
    T sum = 0;
    if (!any) {
        td_cu_elem<S>::store((char *)(y + e), T(0));
        return;
    }
    for (int64_t i0 = a[0]; i0 < b[0]; i0 += st[0])
        for (int64_t i1 = a[1]; i1 < b[1]; i1 += st[1])
            for (int64_t i2 = a[2], idx = (i0 * q.in[1] + i1) * q.in[2] + i2; i2 < b[2]; i2 += st[2], idx += st[2])
                sum += td_cu_elem<S>::load((const char *)(x + idx));
    td_cu_elem<S>::store((char *)(y + e), sum / (T)td_cu_pool_divisor(q, a, b, padded));
}

static TD_CU_HD int64_t td_cu_floordiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* Average backward: input element e (plane e / X) gathers the windows holding it. */
template <typename S> TD_CU_HD void td_cu_avg_back(const struct td_cu_pool &q, int64_t e)
{
    typedef typename td_cu_elem<S>::T T;
    int64_t pl = e / q.X, ip = e - pl * q.X;
    int64_t x[3] = {ip / (q.in[1] * q.in[2]), ip / q.in[2] % q.in[1], ip % q.in[2]}, lo[3], hi[3];
    for (int i = 0; i < 3; i++) {
        if (q.kind == TD_CU_P_ADAPTIVE_AVG) { /* o in [floor(x m / n), ceil((x + 1) m / n) - 1] */
            uint64_t n = (uint64_t)q.in[i], m = (uint64_t)q.out[i], r;
            lo[i] = (int64_t)td_cu_muldiv((uint64_t)x[i], m, n, &r);
            hi[i] = (int64_t)td_cu_muldiv((uint64_t)(x[i] + 1), m, n, &r) + (r != 0) - 1;
        } else { /* o s - p <= x < o s - p + k */
            lo[i] = td_cu_floordiv(x[i] + q.p[i] - q.k[i], q.s[i]) + 1;
            hi[i] = td_cu_floordiv(x[i] + q.p[i], q.s[i]);
        }
        lo[i] = lo[i] < 0 ? 0 : lo[i];
        hi[i] = hi[i] > q.out[i] - 1 ? q.out[i] - 1 : hi[i];
    }
    const S *go = (const S *)q.go + pl * q.P;
    T acc = 0;
    int64_t o[3], a[3], b[3], st[3];
    double padded;
    for (o[0] = lo[0]; o[0] <= hi[0]; o[0]++)
        for (o[1] = lo[1]; o[1] <= hi[1]; o[1]++)
            for (o[2] = lo[2]; o[2] <= hi[2]; o[2]++) {
                if (!td_cu_pool_window3(q, o, a, b, st, &padded))
                    continue;
                if (x[0] < a[0] || x[0] >= b[0] || x[1] < a[1] || x[1] >= b[1] || x[2] < a[2] || x[2] >= b[2])
                    continue;
                acc += td_cu_elem<S>::load((const char *)(go + (o[0] * q.out[1] + o[1]) * q.out[2] + o[2])) /
                       (T)td_cu_pool_divisor(q, a, b, padded);
            }
    td_cu_elem<S>::store((char *)((S *)q.gx + e), acc);
}

/* Max backward: output element e adds its gradient at its index (gx zeroed first). */
template <typename T> TD_CU_HD void td_cu_max_back(const struct td_cu_pool &q, int64_t e, const struct td_cu_ierr_slot &err)
{
    int64_t pl = e / q.P, v = q.ix[e];
    if (v < 0 || v >= q.X) {
        td_cu_ierr_raise(err, TD_CU_IE_POOL, v, 0, q.X);
        return;
    }
    td_cu_acc_at((T *)q.gx + pl * q.X + v, ((const T *)q.go)[e], false);
}

#endif
