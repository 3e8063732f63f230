/*
 * reduce.c — reductions over a set of dims: SUM MEAN PROD AMAX AMIN ALL ANY ARGMAX
 * ARGMIN MAX_DIM MIN_DIM.
 *
 * A plan splits the input dims into kept dims (one output element per combination)
 * and reduced dims, drops size-1 dims and merges dims that are contiguous within each
 * group.  Then one of two schedules runs:
 *   A (inner): each output folds its reduced elements; the innermost reduced run is
 *     folded with several independent lanes (vectorizable, and for float32 sums a
 *     float block sum flushed into a double, so long sums stay accurate).  A full
 *     reduction of a large contiguous run is split over threads into partials.
 *   B (outer): when the innermost kept dim is contiguous and the reduced ones are not
 *     (sum over dim 0 of a matrix), a row of accumulators is updated by whole input
 *     rows: acc[j] += in[r][j], a vectorized row-accumulate instead of a gather.
 * Arg reductions return the first occurrence, counting positions row-major over the
 * reduced dims (over all dims for the flattened argmax); NaN counts as the maximum
 * (and the minimum), as in PyTorch.  Empty reductions give the identity (sum 0, prod 1,
 * all true, any false, mean NaN); max/min/arg over an empty dim is INVALID_ARGUMENT.
 * Accumulators: double for floating sums and products, uint64 (wrapping) for integer
 * ones, the input type for max/min/arg, bool for all/any.  Outputs are converted to
 * their dtype on store.
 */
#pragma GCC optimize("O3")
#pragma GCC diagnostic ignored "-Wtype-limits"

#include <math.h>

#include "iter.h"

#define LANES 32
#define BLOCK 1024 /* elements per lane block before flushing into the accumulator */
#define CB 4096    /* longest accumulator row per task in schedule B */
#define MAX_PARTS 64

/* X(sfx, DT, T, sum acc type, sum lane type, lowest, highest) */
#define RED_TYPES(X)                                                             \
    X(f32, FLOAT32, float, double, float, -INFINITY, INFINITY)                   \
    X(f64, FLOAT64, double, double, double, -INFINITY, INFINITY)                 \
    X(i64, INT64, int64_t, uint64_t, uint64_t, INT64_MIN, INT64_MAX)             \
    X(i32, INT32, int32_t, uint64_t, uint64_t, INT32_MIN, INT32_MAX)             \
    X(i16, INT16, int16_t, uint64_t, uint64_t, INT16_MIN, INT16_MAX)             \
    X(i8, INT8, int8_t, uint64_t, uint64_t, INT8_MIN, INT8_MAX)                  \
    X(u8, UINT8, uint8_t, uint64_t, uint64_t, 0, UINT8_MAX)                      \
    X(b, BOOL, bool, uint64_t, uint64_t, false, true)

/* accumulator / lane type choices a reducer row names */
#define TYPE_SUM(T, SA, SL) SA
#define TYPE_SUMLANE(T, SA, SL) SL
#define TYPE_SELF(T, SA, SL) T
#define TYPE_BOOL(T, SA, SL) bool

struct red_impl {
    /* n accumulators set to the identity */
    void (*init)(void *acc, int64_t *idx, int64_t n);
    /* fold n elements at p (stride s bytes), positions i0.., into acc[0] */
    void (*fold_a)(const char *p, int64_t s, int64_t n, int64_t i0, void *acc, int64_t *idx);
    /* fold the contiguous row p[0..n), all at position i, into acc[0..n) */
    void (*fold_b)(const char *p, int64_t n, int64_t i, void *acc, int64_t *idx);
    /* acc[0] = acc[0] (+) acc2[0]; acc2 covers later positions */
    void (*comb)(void *acc, int64_t *idx, const void *acc2, const int64_t *idx2);
    /* acc[j] (divided by div unless div == 1) stored as dtype odt at dst */
    void (*store)(const void *acc, int64_t j, enum td_dtype odt, char *dst, double div);
};

#define GEN_RED(rn, AK, LK, INIT, STEP, LSTEP, ISARG, sfx, T_, SA, SL, LOW, HIGH)               \
    typedef TYPE_##AK(T_, SA, SL) rn##_##sfx##_acc;                                            \
    static void rn##_##sfx##_init(void *acc_, int64_t *idx, int64_t n)                         \
    {                                                                                          \
        rn##_##sfx##_acc *a = acc_;                                                            \
        for (int64_t j = 0; j < n; j++)                                                        \
            a[j] = (rn##_##sfx##_acc)(INIT), idx[j] = 0;                                       \
    }                                                                                          \
    TD_CLONES static void rn##_##sfx##_fold_a(const char *p, int64_t s, int64_t n, int64_t i0,           \
                                    void *acc_, int64_t *idx)                                  \
    {                                                                                          \
        typedef rn##_##sfx##_acc A;                                                            \
        typedef TYPE_##LK(T_, SA, SL) L;                                                       \
        A acc = *(A *)acc_;                                                                    \
        int64_t ai = *idx, i = 0, dummy __attribute__((unused)) = 0;                           \
        const T_ *x = (const T_ *)p;                                                           \
        if (!(ISARG) && s == (int64_t)sizeof(T_)) {                                            \
            for (; i + BLOCK <= n; i += BLOCK) {                                               \
                L lane[LANES];                                                                 \
                L bad[LANES];                                                                  \
                bool anybad = false;                                                           \
                for (int j = 0; j < LANES; j++)                                                \
                    lane[j] = (L)(INIT), bad[j] = 0;                                           \
                for (int b = 0; b < BLOCK; b += LANES)                                         \
                    for (int j = 0; j < LANES; j++)                                            \
                        LSTEP(lane[j], (L)x[i + b + j], bad[j]);                               \
                for (int j = 0; j < LANES; j++) {                                              \
                    STEP(acc, ai, (A)lane[j], dummy);                                          \
                    anybad |= bad[j] != 0;                                                     \
                }                                                                              \
                if (anybad) /* a NaN the lane step ignored: fold the block exactly */          \
                    for (int b = 0; b < BLOCK; b++)                                            \
                        STEP(acc, ai, x[i + b], dummy);                                        \
            }                                                                                  \
        }                                                                                      \
        for (; i < n; i++)                                                                     \
            STEP(acc, ai, *(const T_ *)(p + i * s), i0 + i);                                   \
        *(A *)acc_ = acc;                                                                      \
        *idx = ai;                                                                             \
    }                                                                                          \
    TD_CLONES static void rn##_##sfx##_fold_b(const char *p, int64_t n, int64_t xi, void *acc_,         \
                                    int64_t *idx)                                              \
    {                                                                                          \
        typedef rn##_##sfx##_acc A;                                                            \
        A *a = acc_;                                                                           \
        const T_ *x = (const T_ *)p;                                                           \
        for (int64_t j = 0; j < n; j++) {                                                      \
            A acc = a[j];                                                                      \
            int64_t ai = idx[j];                                                               \
            STEP(acc, ai, x[j], xi);                                                           \
            a[j] = acc;                                                                        \
            idx[j] = ai;                                                                       \
        }                                                                                      \
    }                                                                                          \
    static void rn##_##sfx##_comb(void *acc_, int64_t *idx, const void *acc2,                 \
                                  const int64_t *idx2)                                         \
    {                                                                                          \
        typedef rn##_##sfx##_acc A;                                                            \
        A acc = *(A *)acc_;                                                                    \
        int64_t ai = *idx;                                                                     \
        STEP(acc, ai, *(const A *)acc2, *idx2);                                                \
        *(A *)acc_ = acc;                                                                      \
        *idx = ai;                                                                             \
    }                                                                                          \
    static void rn##_##sfx##_store(const void *acc_, int64_t j, enum td_dtype odt, char *dst,  \
                                   double div)                                                 \
    {                                                                                          \
        typedef rn##_##sfx##_acc A;                                                            \
        A v = ((const A *)acc_)[j];                                                            \
        if (_Generic(v, float: 1, double: 1, default: 0) || div != 1)                          \
            td_store_f64(odt, dst, (double)v / div);                                           \
        else                                                                                   \
            td_store_i64(odt, dst, (int64_t)v);                                                \
    }

/* the reducers: step(acc, ai, x, xi) folds element x at position xi into (acc, ai) */
#define SUM_STEP(acc, ai, x, xi) acc = (A)(acc + (A)(x))
#define PROD_STEP(acc, ai, x, xi) acc = (A)(acc * (A)(x))
#define MAX_STEP(acc, ai, x, xi) acc = ((x) > acc || (x) != (x)) ? (x) : acc
#define MIN_STEP(acc, ai, x, xi) acc = ((x) < acc || (x) != (x)) ? (x) : acc
#define ALL_STEP(acc, ai, x, xi) acc = acc & ((x) != 0)
#define ANY_STEP(acc, ai, x, xi) acc = acc | ((x) != 0)
/* lane steps (contiguous blocks, no positions): max/min compare plainly and add up
 * x - x, which is NaN for a NaN (or an infinity): then the block is folded again with the
 * exact step.  Cheaper than the exact step, and it vectorizes as compare-and-blend. */
#define SUM_LSTEP(l, x, bad) l = l + (x)
#define PROD_LSTEP(l, x, bad) l = l * (x)
#define MAX_LSTEP(l, x, bad) l = (x) > l ? (x) : l, bad = bad + ((x) - (x))
#define MIN_LSTEP(l, x, bad) l = (x) < l ? (x) : l, bad = bad + ((x) - (x))
#define ALL_LSTEP(l, x, bad) l = l & ((x) != 0)
#define ANY_LSTEP(l, x, bad) l = l | ((x) != 0)
#define ARG_LSTEP(l, x, bad) (void)0 /* arg reductions never take the lane path */
#define ARGMAX_STEP(acc, ai, x, xi)                        \
    if ((x) > acc || ((x) != (x) && acc == acc)) {         \
        acc = (x);                                         \
        ai = (xi);                                         \
    }
#define ARGMIN_STEP(acc, ai, x, xi)                        \
    if ((x) < acc || ((x) != (x) && acc == acc)) {         \
        acc = (x);                                         \
        ai = (xi);                                         \
    }
#define GEN_ALL_RED(sfx, DT, T, SA, SL, LOW, HIGH)                                       \
    GEN_RED(sum, SUM, SUMLANE, 0, SUM_STEP, SUM_LSTEP, 0, sfx, T, SA, SL, LOW, HIGH)                \
    GEN_RED(prod, SUM, SUM, 1, PROD_STEP, PROD_LSTEP, 0, sfx, T, SA, SL, LOW, HIGH)                 \
    GEN_RED(max, SELF, SELF, LOW, MAX_STEP, MAX_LSTEP, 0, sfx, T, SA, SL, LOW, HIGH)                \
    GEN_RED(min, SELF, SELF, HIGH, MIN_STEP, MIN_LSTEP, 0, sfx, T, SA, SL, LOW, HIGH)               \
    GEN_RED(all, BOOL, BOOL, true, ALL_STEP, ALL_LSTEP, 0, sfx, T, SA, SL, LOW, HIGH)               \
    GEN_RED(any, BOOL, BOOL, false, ANY_STEP, ANY_LSTEP, 0, sfx, T, SA, SL, LOW, HIGH)              \
    GEN_RED(argmax, SELF, SELF, LOW, ARGMAX_STEP, ARG_LSTEP, 1, sfx, T, SA, SL, LOW, HIGH)          \
    GEN_RED(argmin, SELF, SELF, HIGH, ARGMIN_STEP, ARG_LSTEP, 1, sfx, T, SA, SL, LOW, HIGH)
RED_TYPES(GEN_ALL_RED)

enum { R_SUM, R_PROD, R_MAX, R_MIN, R_ALL, R_ANY, R_ARGMAX, R_ARGMIN, R_COUNT };

#define IMPL(rn, sfx) {rn##_##sfx##_init, rn##_##sfx##_fold_a, rn##_##sfx##_fold_b, \
                       rn##_##sfx##_comb, rn##_##sfx##_store}
#define IMPL_COL(sfx, DT, ...)                                                               \
    [TD_DTYPE_##DT] = {IMPL(sum, sfx), IMPL(prod, sfx), IMPL(max, sfx), IMPL(min, sfx),     \
                       IMPL(all, sfx), IMPL(any, sfx), IMPL(argmax, sfx), IMPL(argmin, sfx)},
static const struct red_impl red_tab[TD_DTYPE_COUNT][R_COUNT] = {RED_TYPES(IMPL_COL)};

/* ---- planning */

enum store_mode { ST_VALUE, ST_INDEX, ST_BOTH };

struct plan {
    const struct red_impl *im;
    int nk, nr;
    int64_t ks[TD_MAX_DIMS], kin[TD_MAX_DIMS], kout[TD_MAX_DIMS]; /* kept: size, bytes, out elems */
    int64_t rs[TD_MAX_DIMS], rin[TD_MAX_DIMS];                    /* reduced: size, bytes */
    int64_t kcount, rcount;
    const char *in;
    char *out0, *out1;
    size_t osz0;
    enum td_dtype odt0;
    enum store_mode mode;
    double div;
    size_t esz;
};

/* Appends dim (size, in, out) to a group, merging it into the previous one when the
 * pair is contiguous (out == NULL: the reduced group has no output strides). */
static void push_dim(int *n, int64_t *sz, int64_t *in, int64_t *out, int64_t s, int64_t si,
                     int64_t so)
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

static enum td_code make_plan(struct plan *pl, struct td_kctx *k, int rid, enum store_mode mode)
{
    const struct td_meta *im = &k->in[0]->m, *om = &k->out[0]->m;
    int nd = im->ndim, od = 0;
    if (k->n_in != 1 || k->n_attr <= TD_A_REDUCE_KEEPDIM || !td_dtype_valid(im->dtype) || !td_dtype_valid(om->dtype))
        return TD_CODE_INVALID_ARGUMENT;
    uint64_t mask = (uint64_t)k->attrs[TD_A_REDUCE_DIM] & (nd >= 64 ? ~0ull : ((1ull << nd) - 1));
    bool keep = k->attrs[TD_A_REDUCE_KEEPDIM] != 0;
    int nred = __builtin_popcountll(mask);
    if (om->ndim != (keep ? nd : nd - nred))
        return TD_CODE_INVALID_ARGUMENT;
    memset(pl, 0, sizeof *pl);
    pl->im = &red_tab[im->dtype][rid];
    if (!pl->im->init || im->dtype == TD_DTYPE_FLOAT16 || im->dtype == TD_DTYPE_BFLOAT16)
        return TD_CODE_INVALID_ARGUMENT;
    pl->esz = td_dtype_size((enum td_dtype)im->dtype);
    pl->kcount = pl->rcount = 1;
    for (int d = 0; d < nd; d++) {
        int64_t s = im->sizes[d], si = im->strides[d] * (int64_t)pl->esz;
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
    if (pl->nr == 0) { /* nothing (or only size-1 dims) to reduce: one element each */
        pl->nr = 1;
        pl->rs[0] = 1;
    }
    pl->in = k->in[0]->data + im->offset * (int64_t)pl->esz;
    pl->odt0 = (enum td_dtype)om->dtype;
    pl->osz0 = td_dtype_size(pl->odt0);
    pl->out0 = k->out[0]->data + om->offset * (int64_t)pl->osz0;
    pl->mode = mode;
    pl->div = 1;
    if (mode == ST_INDEX && pl->odt0 != TD_DTYPE_INT64)
        return TD_CODE_INVALID_ARGUMENT;
    if (mode == ST_BOTH) {
        const struct td_meta *m1 = &k->out[1]->m;
        if (k->n_out < 2 || m1->dtype != TD_DTYPE_INT64 || m1->ndim != om->ndim ||
            memcmp(m1->strides, om->strides, sizeof(int64_t) * om->ndim) != 0)
            return TD_CODE_INVALID_ARGUMENT;
        pl->out1 = k->out[1]->data + m1->offset * 8;
    }
    return TD_CODE_OK;
}

/* ---- execution */

/* Output j of an accumulator row lands at output element offset oo. */
static void store_one(const struct plan *pl, const void *acc, const int64_t *idx, int64_t j,
                      int64_t oo)
{
    if (pl->mode != ST_INDEX)
        pl->im->store(acc, j, pl->odt0, pl->out0 + oo * (int64_t)pl->osz0, pl->div);
    if (pl->mode == ST_INDEX)
        memcpy(pl->out0 + oo * 8, &idx[j], 8);
    if (pl->mode == ST_BOTH)
        memcpy(pl->out1 + oo * 8, &idx[j], 8);
}

/* Kept combination m (over the first nk dims) to input bytes and output elements. */
static void unravel(const struct plan *pl, int nk, int64_t m, int64_t *in_off, int64_t *out_off)
{
    *in_off = *out_off = 0;
    for (int d = nk - 1; d >= 0; d--) {
        int64_t i = m % pl->ks[d];
        m /= pl->ks[d];
        *in_off += i * pl->kin[d];
        *out_off += i * pl->kout[d];
    }
}

/* Reduced combination r over the first nr dims to input bytes. */
static int64_t r_offset(const struct plan *pl, int nr, int64_t r)
{
    int64_t off = 0;
    for (int d = nr - 1; d >= 0; d--) {
        off += (r % pl->rs[d]) * pl->rin[d];
        r /= pl->rs[d];
    }
    return off;
}

/* Folds every reduced element below base into (acc, idx), innermost run at a time. */
static void fold_all(const struct plan *pl, const char *base, void *acc, int64_t *idx)
{
    int64_t inner = pl->rs[pl->nr - 1], outer = pl->rcount / (inner ? inner : 1);
    if (inner == 0)
        return;
    for (int64_t r = 0; r < outer; r++)
        pl->im->fold_a(base + r_offset(pl, pl->nr - 1, r), pl->rin[pl->nr - 1], inner,
                       r * inner, acc, idx);
}

static void task_a(void *ctx, int64_t b, int64_t e)
{
    const struct plan *pl = ctx;
    for (int64_t m = b; m < e; m++) {
        uint64_t acc;
        int64_t idx, ki, ko;
        unravel(pl, pl->nk, m, &ki, &ko);
        pl->im->init(&acc, &idx, 1);
        fold_all(pl, pl->in + ki, &acc, &idx);
        store_one(pl, &acc, &idx, 0, ko);
    }
}

/* Row chunk of schedule B: long enough that each input row is read as one sequential
 * run (pages, prefetch), short enough to give two threads work and stay in L1/L2. */
static int64_t chunk_b(int64_t len)
{
    if (len <= 512)
        return len;
    int64_t c = ((len + 1) / 2 + 63) / 64 * 64;
    return c < CB ? c : CB;
}

static void task_b(void *ctx, int64_t b, int64_t e)
{
    const struct plan *pl = ctx;
    int64_t len_all = pl->ks[pl->nk - 1], cb = chunk_b(len_all), nch = (len_all + cb - 1) / cb;
    uint64_t acc[CB];
    int64_t idx[CB];
    for (int64_t t = b; t < e; t++) {
        int64_t ki, ko, j0 = t % nch * cb, len = len_all - j0 < cb ? len_all - j0 : cb;
        unravel(pl, pl->nk - 1, t / nch, &ki, &ko);
        const char *base = pl->in + ki + j0 * pl->kin[pl->nk - 1];
        pl->im->init(acc, idx, len);
        for (int64_t r = 0; r < pl->rcount; r++)
            pl->im->fold_b(base + r_offset(pl, pl->nr, r), len, r, acc, idx);
        for (int64_t j = 0; j < len; j++)
            store_one(pl, acc, idx, j, ko + (j0 + j) * pl->kout[pl->nk - 1]);
    }
}

/* A full reduction of one long run, split into partials combined in order. */
struct parts {
    const struct plan *pl;
    int64_t per;
    uint64_t acc[MAX_PARTS];
    int64_t idx[MAX_PARTS];
};

static void task_part(void *ctx, int64_t b, int64_t e)
{
    struct parts *ps = ctx;
    const struct plan *pl = ps->pl;
    for (int64_t t = b; t < e; t++) {
        int64_t r0 = t * ps->per, n = pl->rs[0] - r0 < ps->per ? pl->rs[0] - r0 : ps->per;
        pl->im->init(&ps->acc[t], &ps->idx[t], 1);
        pl->im->fold_a(pl->in + r0 * pl->rin[0], pl->rin[0], n, r0, &ps->acc[t], &ps->idx[t]);
    }
}

static void run_plan(struct plan *pl)
{
    if (pl->kcount == 0)
        return;
    if (pl->kcount == 1 && pl->nr == 1 && pl->rcount >= 4 * TD_GRAIN) {
        struct parts ps = {.pl = pl};
        int64_t np = pl->rcount / (2 * TD_GRAIN) < MAX_PARTS ? pl->rcount / (2 * TD_GRAIN)
                                                              : MAX_PARTS;
        ps.per = (pl->rcount + np - 1) / np;
        np = (pl->rcount + ps.per - 1) / ps.per;
        td_parallel_for(np, 1, task_part, &ps);
        for (int64_t t = 1; t < np; t++)
            pl->im->comb(&ps.acc[0], &ps.idx[0], &ps.acc[t], &ps.idx[t]);
        store_one(pl, ps.acc, ps.idx, 0, 0);
        return;
    }
    int64_t work = pl->rcount > 0 ? pl->rcount : 1;
    bool outer = pl->nk > 0 && pl->kin[pl->nk - 1] == (int64_t)pl->esz && pl->ks[pl->nk - 1] >= 16 &&
                 pl->rin[pl->nr - 1] != (int64_t)pl->esz;
    if (outer) {
        int64_t len = pl->ks[pl->nk - 1], nch = (len + chunk_b(len) - 1) / chunk_b(len);
        int64_t per_task = work * chunk_b(len);
        td_parallel_for(pl->kcount / len * nch, (TD_GRAIN + per_task - 1) / per_task, task_b, pl);
    } else {
        td_parallel_for(pl->kcount, (TD_GRAIN + work - 1) / work, task_a, pl);
    }
}

static enum td_code reduce(struct td_kctx *k, int rid, enum store_mode mode, bool need_nonempty,
                           bool mean)
{
    struct plan pl;
    enum td_code rc = make_plan(&pl, k, rid, mode);
    if (rc != TD_CODE_OK)
        return rc;
    if (need_nonempty && pl.rcount == 0)
        return TD_CODE_INVALID_ARGUMENT;
    if (mean)
        pl.div = (double)pl.rcount;
    run_plan(&pl);
    return TD_CODE_OK;
}

enum td_code td_cpu_sum(struct td_kctx *k) { return reduce(k, R_SUM, ST_VALUE, false, false); }
enum td_code td_cpu_mean(struct td_kctx *k) { return reduce(k, R_SUM, ST_VALUE, false, true); }
enum td_code td_cpu_prod(struct td_kctx *k) { return reduce(k, R_PROD, ST_VALUE, false, false); }
enum td_code td_cpu_amax(struct td_kctx *k) { return reduce(k, R_MAX, ST_VALUE, true, false); }
enum td_code td_cpu_amin(struct td_kctx *k) { return reduce(k, R_MIN, ST_VALUE, true, false); }
enum td_code td_cpu_all(struct td_kctx *k) { return reduce(k, R_ALL, ST_VALUE, false, false); }
enum td_code td_cpu_any(struct td_kctx *k) { return reduce(k, R_ANY, ST_VALUE, false, false); }
enum td_code td_cpu_argmax(struct td_kctx *k) { return reduce(k, R_ARGMAX, ST_INDEX, true, false); }
enum td_code td_cpu_argmin(struct td_kctx *k) { return reduce(k, R_ARGMIN, ST_INDEX, true, false); }
enum td_code td_cpu_max_dim(struct td_kctx *k) { return reduce(k, R_ARGMAX, ST_BOTH, true, false); }
enum td_code td_cpu_min_dim(struct td_kctx *k) { return reduce(k, R_ARGMIN, ST_BOTH, true, false); }
