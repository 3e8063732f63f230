/*
 * index.c — the indexing kernels: GATHER, SCATTER, INDEX, INDEX_PUT.
 *
 * All four move whole elements between a data tensor and positions named by int64
 * index tensors (which the executor passes as they are; data operands arrive in the
 * compute dtype).  Moves are byte copies of one element; only the accumulating forms
 * (scatter with reduce, index_put with accumulate) look at the dtype.
 *
 * Index values depend on data, so every one is checked here before it is used; a bad
 * one fails the op with PyTorch's message in k->msg (when given) and the code PyTorch's
 * exception maps to (OUT_OF_RANGE -> IndexError, INVALID_ARGUMENT -> RuntimeError).
 * Writes already made before a bad index is found stay made (as in PyTorch).
 *
 * Traversal: an odometer over a shape with one element-stride set per operand (a 0-d
 * tensor is treated as shape [1]).  INDEX/INDEX_PUT work serially; these ops are memory
 * bound and the index lookups dominate.  Out-of-place SCATTER/INDEX_PUT first copy self to
 * the output.  GATHER/SCATTER walk rows (index's last dim) with a loop per element size
 * and check each index as they use it; large ones split the rows over td_parallel_for
 * where that cannot change the result (see gather_scatter).  The other exceptions are the data-dependent selections, NONZERO and INDEX's mask mode
 * (x[mask] in one op): both count the selected elements per chunk in parallel, turn the
 * counts into each chunk's first output row (a prefix sum), then write in parallel.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "iter.h"

#define MAXOP 4
#define SEL_CHUNK 65536 /* mask elements per counting/writing chunk */

/* Modes of INDEX/INDEX_PUT: negative wrapping and the message PyTorch gives; INDEX's
 * M_MASK takes one bool mask instead of int64 index tensors (see index_mask). */
enum { M_ADV = 0, M_SELF = 1, M_TAKE = 2, M_FILL = 3, M_COPY = 4, M_MASK = 5, M_TARGET = 6 };


static inline void mov(char *d, const char *s, size_t es)
{
    switch (es) {
    case 1: *d = *s; break;
    case 2: memcpy(d, s, 2); break;
    case 4: memcpy(d, s, 4); break;
    default: memcpy(d, s, 8); break;
    }
}

/* *d = *d (+ or *) *s in dtype dt; integers wrap like PyTorch (unsigned arithmetic). */
static void acc(enum td_dtype dt, char *d, const char *s, bool mul)
{
#define ACC(T, UT)                                                                      \
    {                                                                                   \
        T a, b;                                                                         \
        memcpy(&a, d, sizeof a);                                                        \
        memcpy(&b, s, sizeof b);                                                        \
        a = mul ? (T)((UT)a * (UT)b) : (T)((UT)a + (UT)b);                              \
        memcpy(d, &a, sizeof a);                                                        \
        break;                                                                          \
    }
    switch (dt) {
    case TD_DTYPE_FLOAT32: {
        float a, b;
        memcpy(&a, d, 4), memcpy(&b, s, 4);
        a = mul ? a * b : a + b;
        memcpy(d, &a, 4);
        break;
    }
    case TD_DTYPE_FLOAT64: {
        double a, b;
        memcpy(&a, d, 8), memcpy(&b, s, 8);
        a = mul ? a * b : a + b;
        memcpy(d, &a, 8);
        break;
    }
    case TD_DTYPE_INT64: ACC(int64_t, uint64_t)
    case TD_DTYPE_INT32: ACC(int32_t, uint32_t)
    case TD_DTYPE_INT16: ACC(int16_t, uint32_t)
    case TD_DTYPE_INT8: ACC(int8_t, uint32_t)
    case TD_DTYPE_UINT8: ACC(uint8_t, uint32_t)
    case TD_DTYPE_BOOL: {
        bool a = *d != 0, b = *s != 0;
        *d = (char)(mul ? (a && b) : (a || b));
        break;
    }
#define ACC_CX(T)                                                                       \
    {                                                                                   \
        T a[2], b[2];                                                                   \
        memcpy(a, d, sizeof a);                                                         \
        memcpy(b, s, sizeof b);                                                         \
        T re = mul ? a[0] * b[0] - a[1] * b[1] : a[0] + b[0];                           \
        a[1] = mul ? a[0] * b[1] + a[1] * b[0] : a[1] + b[1];                           \
        a[0] = re;                                                                      \
        memcpy(d, a, sizeof a);                                                         \
        break;                                                                          \
    }
    case TD_DTYPE_COMPLEX64: ACC_CX(float)    /* torch 1.13's textbook product */
    case TD_DTYPE_COMPLEX128: ACC_CX(double)
    default: break;
    }
#undef ACC_CX
#undef ACC
}

/* Odometer over sizes[nd] (last dim fastest): advances ix and the operand offsets. */
static inline void odo_step(int nd, const int64_t *size, int64_t *ix, int nop, int64_t st[][TD_MAX_DIMS],
                            int64_t *off)
{
    for (int d = nd - 1; d >= 0; d--) {
        ix[d]++;
        for (int o = 0; o < nop; o++)
            off[o] += st[o][d];
        if (ix[d] < size[d])
            return;
        for (int o = 0; o < nop; o++)
            off[o] -= st[o][d] * size[d];
        ix[d] = 0;
    }
}

static int64_t numel_of(int nd, const int64_t *size)
{
    int64_t n = 1;
    for (int d = 0; d < nd; d++)
        n *= size[d];
    return n;
}

/* Multi-index of row-major position i and its offsets for nop stride sets. */
static void unflatten(int64_t i, int nd, const int64_t *size, int64_t *ix, int nop, int64_t st[][TD_MAX_DIMS],
                      int64_t *off)
{
    for (int d = nd - 1; d >= 0; d--) {
        ix[d] = i % size[d];
        i /= size[d];
    }
    for (int o = 0; o < nop; o++) {
        off[o] = 0;
        for (int d = 0; d < nd; d++)
            off[o] += ix[d] * st[o][d];
    }
}

/* A 0-d tensor seen as [1] so every op has a dim to index. */
static struct td_meta as_1d(const struct td_meta *m)
{
    struct td_meta r = *m;
    if (r.ndim == 0) {
        r.ndim = 1;
        r.sizes[0] = 1;
        r.strides[0] = 0;
    }
    return r;
}

static inline char *elem(struct td_kt *t, int64_t off)
{
    return t->data + (t->m.offset + off) * (int64_t)td_dtype_size(t->m.dtype);
}

/* out = self unless they are the same view (the in-place case). */
static enum td_code copy_self(struct td_kctx *k)
{
    struct td_kt *out = k->out[0], *self = k->in[0];
    if (out->data == self->data && out->m.offset == self->m.offset &&
        !memcmp(out->m.strides, self->m.strides, sizeof(int64_t) * self->m.ndim))
        return TD_CODE_OK;
    return td__copy(out, self);
}

/* ---- GATHER / SCATTER: out[i][j] = self[index[i][j]][j] and the reverse ---- */

/* Walks index's shape row by row (a row is index's last dim); a is the tensor indexed
 * along dim (self for GATHER, the output for SCATTER), b the other one (output / src).
 * Rows are split over td_parallel_for when that cannot change the result: GATHER always
 * (it only reads a), SCATTER when dim is the last dim (each row then writes its own row
 * of a, in order) and the output is fresh (not in place, so writes past a bad index are
 * never seen).  A bad index stops its chunk; the first bad row is found again serially,
 * so the message names the same index the serial walk would. */
struct gs {
    struct td_kctx *k;
    int nouter;                     /* dims of the row walk: index's dims but the last */
    int64_t osize[TD_MAX_DIMS];
    int64_t st[3][TD_MAX_DIMS];     /* element strides of index, a, b over those dims */
    char *base[3];                  /* index, a, b at their offsets */
    int64_t inner, is[3];           /* row length and the element strides along it */
    int64_t lim, sa;                /* a's size and stride along dim */
    size_t es;
    enum td_dtype dt;
    int reduce;
    bool scatter;
    int64_t bad;                    /* first failing row, INT64_MAX when none */
};

/* One row for an element type T: returns false at the first bad index (its value in
 * *badv); scatter and unit strides are constants at each call so both loops are tight. */
#define GS_ROW(sfx, T)                                                                  \
    static inline bool gs_row_##sfx(const char *pi, char *pa, char *pb, int64_t n, int64_t si, int64_t sa_, \
                                    int64_t sb, int64_t lim, int64_t sd, bool scatter, int64_t *badv) \
    {                                                                                   \
        for (int64_t j = 0; j < n; j++) {                                               \
            int64_t v;                                                                  \
            memcpy(&v, pi + j * si * 8, 8);                                             \
            if ((uint64_t)v >= (uint64_t)lim) {                                         \
                *badv = v;                                                              \
                return false;                                                           \
            }                                                                           \
            char *x = pa + (j * sa_ + v * sd) * (int64_t)sizeof(T), *y = pb + j * sb * (int64_t)sizeof(T); \
            if (scatter)                                                                \
                memcpy(x, y, sizeof(T));                                                \
            else                                                                        \
                memcpy(y, x, sizeof(T));                                                \
        }                                                                               \
        return true;                                                                    \
    }
GS_ROW(1, uint8_t)
GS_ROW(2, uint16_t)
GS_ROW(4, uint32_t)
GS_ROW(8, uint64_t)
#undef GS_ROW

/* The accumulating scatter (reduce 1 add, 2 multiply): per element through acc. */
static bool gs_row_acc(const struct gs *g, const char *pi, char *pa, char *pb, int64_t *badv)
{
    int64_t es = (int64_t)g->es;
    for (int64_t j = 0; j < g->inner; j++) {
        int64_t v;
        memcpy(&v, pi + j * g->is[0] * 8, 8);
        if ((uint64_t)v >= (uint64_t)g->lim) {
            *badv = v;
            return false;
        }
        acc(g->dt, pa + (j * g->is[1] + v * g->sa) * es, pb + j * g->is[2] * es, g->reduce == 2);
    }
    return true;
}

#define GS_CALL(sfx)                                                                    \
    (contig ? (g->scatter ? gs_row_##sfx(pi, pa, pb, n, 1, g->is[1], 1, g->lim, g->sa, true, badv)            \
                          : gs_row_##sfx(pi, pa, pb, n, 1, g->is[1], 1, g->lim, g->sa, false, badv))          \
            : (g->scatter ? gs_row_##sfx(pi, pa, pb, n, g->is[0], g->is[1], g->is[2], g->lim, g->sa, true, badv) \
                          : gs_row_##sfx(pi, pa, pb, n, g->is[0], g->is[1], g->is[2], g->lim, g->sa, false, badv)))

/* The row at element offsets off[3]; false (value in *badv) on a bad index. */
static bool gs_row(const struct gs *g, const int64_t *off, int64_t *badv)
{
    const char *pi = g->base[0] + off[0] * 8;
    char *pa = g->base[1] + off[1] * (int64_t)g->es, *pb = g->base[2] + off[2] * (int64_t)g->es;
    int64_t n = g->inner;
    /* unit strides for index and b; a steps 1 along the row, or 0 when dim is the row */
    bool contig = g->is[0] == 1 && (g->is[1] == 1 || g->is[1] == 0) && g->is[2] == 1;
    if (g->reduce)
        return gs_row_acc(g, pi, pa, pb, badv);
    switch (g->es) {
    case 1: return GS_CALL(1);
    case 2: return GS_CALL(2);
    case 4: return GS_CALL(4);
    default: return GS_CALL(8);
    }
}
#undef GS_CALL

static void gs_range(void *ctx, int64_t r0, int64_t r1)
{
    struct gs *g = ctx;
    int64_t ix[TD_MAX_DIMS], off[3], badv;
    if (r0 > __atomic_load_n(&g->bad, __ATOMIC_RELAXED))
        return; /* an earlier row already failed */
    unflatten(r0, g->nouter, g->osize, ix, 3, g->st, off);
    for (int64_t r = r0; r < r1; r++) {
        if (!gs_row(g, off, &badv)) {
            int64_t cur = __atomic_load_n(&g->bad, __ATOMIC_RELAXED);
            while (r < cur && !__atomic_compare_exchange_n(&g->bad, &cur, r, true, __ATOMIC_RELAXED,
                                                           __ATOMIC_RELAXED))
                ;
            return;
        }
        odo_step(g->nouter, g->osize, ix, 3, g->st, off);
    }
}

static enum td_code gather_scatter(struct td_kctx *k, struct td_kt *ti, struct td_kt *ta, struct td_kt *tb,
                                   int64_t dim, int reduce)
{
    struct td_meta mi = as_1d(&ti->m), ma = as_1d(&ta->m), mb = as_1d(&tb->m);
    int nd = mi.ndim;
    int64_t n = numel_of(nd, mi.sizes);
    if (n == 0)
        return TD_CODE_OK;
    if (ma.ndim != nd || mb.ndim != nd || dim >= nd)
        return TD_CODE_INVALID_ARGUMENT;
    struct gs g = {.k = k, .nouter = nd - 1, .inner = mi.sizes[nd - 1], .lim = ma.sizes[dim], .sa = ma.strides[dim],
                   .es = td_dtype_size(ma.dtype), .dt = (enum td_dtype)ma.dtype, .reduce = reduce,
                   .scatter = k->op == TD_OP_SCATTER, .bad = INT64_MAX};
    const struct td_meta *m[3] = {&mi, &ma, &mb};
    struct td_kt *t[3] = {ti, ta, tb};
    for (int o = 0; o < 3; o++) {
        g.base[o] = t[o]->data + m[o]->offset * (int64_t)td_dtype_size(m[o]->dtype);
        for (int d = 0; d < nd - 1; d++)
            g.st[o][d] = o == 1 && d == dim ? 0 : m[o]->strides[d];
        g.is[o] = o == 1 && dim == nd - 1 ? 0 : m[o]->strides[nd - 1];
    }
    memcpy(g.osize, mi.sizes, sizeof(int64_t) * (size_t)(nd - 1));
    int64_t rows = n / g.inner;
    bool par = !g.scatter || (dim == nd - 1 && !(k->flags & TD_RF_INPLACE));
    if (par && n > TD_GRAIN)
        td_parallel_for(rows, TD_GRAIN / g.inner + 1, gs_range, &g);
    else
        gs_range(&g, 0, rows);
    if (g.bad == INT64_MAX)
        return TD_CODE_OK;
    int64_t ix[TD_MAX_DIMS], off[3], v = 0;
    unflatten(g.bad, g.nouter, g.osize, ix, 3, g.st, off);
    const char *pi = g.base[0] + off[0] * 8; /* the failing row: its first bad value */
    for (int64_t j = 0; j < g.inner; j++) {
        memcpy(&v, pi + j * g.is[0] * 8, 8);
        if ((uint64_t)v >= (uint64_t)g.lim)
            break;
    }
    return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "index %lld is out of bounds for dimension %d with size %lld",
                (long long)v, (int)dim, (long long)g.lim);
}

enum td_code td_cpu_gather(struct td_kctx *k)
{
    if (k->n_in != 2 || k->n_out < 1 || k->n_attr < TD_N_GATHER || k->in[1]->m.dtype != TD_DTYPE_INT64)
        return TD_CODE_INVALID_ARGUMENT;
    int64_t dim = k->attrs[TD_A_GATHER_DIM];
    if (dim < 0)
        dim += k->in[0]->m.ndim ? k->in[0]->m.ndim : 1;
    if (dim < 0)
        return TD_CODE_INVALID_ARGUMENT;
    return gather_scatter(k, k->in[1], k->in[0], k->out[0], dim, 0);
}

enum td_code td_cpu_scatter(struct td_kctx *k)
{
    if (k->n_in != 3 || k->n_out < 1 || k->n_attr < TD_N_SCATTER || k->in[1]->m.dtype != TD_DTYPE_INT64 ||
        k->in[2]->m.dtype != k->out[0]->m.dtype || k->attrs[TD_A_SCATTER_REDUCE] < 0 ||
        k->attrs[TD_A_SCATTER_REDUCE] > 2)
        return TD_CODE_INVALID_ARGUMENT;
    int64_t dim = k->attrs[TD_A_SCATTER_DIM];
    if (dim < 0)
        dim += k->in[0]->m.ndim ? k->in[0]->m.ndim : 1;
    if (dim < 0)
        return TD_CODE_INVALID_ARGUMENT;
    enum td_code c = copy_self(k);
    return c ? c : gather_scatter(k, k->in[1], k->out[0], k->in[2], dim, (int)k->attrs[TD_A_SCATTER_REDUCE]);
}

/* ---- INDEX / INDEX_PUT: self[:dim] x (idx0..idxk-1) x self[dim+k:] ---- */

struct ix_plan {
    int64_t dim, mode;
    int k;
    struct td_kt **idx;
    struct td_meta self;          /* the indexed tensor (input self or output) */
    int nout;                     /* dims of the outer walk: pre + index dims */
    int64_t osize[TD_MAX_DIMS];   /* outer sizes */
    int npost;                    /* trailing dims copied whole */
    int64_t psize[TD_MAX_DIMS];
};

/* Self offset for index position (its offset in each index tensor is ioff[j]). */
static enum td_code resolve(struct td_kctx *k, const struct ix_plan *p, const int64_t *ioff, int64_t *soff)
{
    for (int j = 0; j < p->k; j++) {
        int64_t v, lim = p->self.sizes[p->dim + j], raw;
        memcpy(&v, elem(p->idx[j], ioff[j]), 8);
        raw = v;
        bool wrap = p->mode == M_ADV || p->mode == M_TAKE || p->mode == M_FILL;
        if (wrap && v < 0)
            v += lim;
        if (v < 0 || v >= lim) {
            switch (p->mode) {
            case M_SELF: return td__kernel_fail(k, TD_CODE_OUT_OF_RANGE, "index out of range in self");
            case M_TARGET: /* nll_loss's class picked per sample */
                return td__kernel_fail(k, TD_CODE_OUT_OF_RANGE, "Target %lld is out of bounds.", (long long)raw);
            case M_TAKE:
                return td__kernel_fail(k, TD_CODE_OUT_OF_RANGE, "out of range: tried to access index %lld on a tensor of %lld "
                            "elements.", (long long)raw, (long long)lim);
            case M_COPY:
                return td__kernel_fail(k, TD_CODE_OUT_OF_RANGE, "index_copy_(): index %lld is out of bounds for dimension %d "
                            "with size %lld", (long long)raw, (int)(p->dim + j), (long long)lim);
            default:
                return td__kernel_fail(k, TD_CODE_OUT_OF_RANGE, "index %lld is out of bounds for dimension %d with size %lld",
                            (long long)raw, (int)(p->mode == M_FILL ? p->dim + j : j), (long long)lim);
            }
        }
        *soff += v * p->self.strides[p->dim + j];
    }
    return TD_CODE_OK;
}

/* Walks the outer positions; at each, moves the trailing block between self (at the
 * resolved offset) and other (the indexed-shape tensor: INDEX's output, INDEX_PUT's values). */
static enum td_code index_walk(struct td_kctx *k, struct ix_plan *p, struct td_kt *self, struct td_kt *other,
                               bool put, bool accumulate)
{
    const struct td_meta *om = &other->m;
    int k_ = p->k, ni = p->idx[0]->m.ndim, pre = (int)p->dim;
    /* operands of the outer walk: 0 self (pre dims), 1 other, 2.. index tensors */
    int nop = 2 + k_;
    int64_t (*st)[TD_MAX_DIMS] = calloc((size_t)nop, sizeof *st);
    int64_t *off = calloc((size_t)nop, sizeof *off);
    enum td_code c = TD_CODE_OK;
    if (!st || !off) {
        c = TD_CODE_RESOURCE_EXHAUSTED;
        goto out_free;
    }
    for (int d = 0; d < p->nout; d++) {
        st[0][d] = d < pre ? p->self.strides[d] : 0;
        st[1][d] = om->ndim ? om->strides[d] : 0;
        for (int j = 0; j < k_; j++)
            st[2 + j][d] = d < pre ? 0 : p->idx[j]->m.strides[d - pre];
    }
    int64_t pst[2][TD_MAX_DIMS];
    for (int d = 0; d < p->npost; d++) {
        pst[0][d] = p->self.strides[pre + k_ + d];
        pst[1][d] = om->strides[pre + ni + d];
    }
    int64_t n = numel_of(p->nout, p->osize), pn = numel_of(p->npost, p->psize), ix[TD_MAX_DIMS] = {0};
    if (pn == 0 && p->mode == M_ADV)
        goto out_free; /* t[idx] moves no element: torch's kernel checks no index either */
    size_t es = td_dtype_size(p->self.dtype);
    /* the trailing post dims that are one contiguous run in both self and other move as
     * one block (a row gather of a row-major matrix: one memmove per index value) */
    int nwalk = p->npost;
    int64_t run = 1;
    while (nwalk > 0 && pst[0][nwalk - 1] == run && pst[1][nwalk - 1] == run)
        run *= p->psize[--nwalk];
    int64_t nrun = run ? pn / run : 0;
    for (int64_t q = 0; q < n; q++) {
        int64_t soff = off[0];
        if ((c = resolve(k, p, off + 2, &soff)))
            goto out_free;
        int64_t pix[TD_MAX_DIMS] = {0}, poff[2] = {soff, off[1]};
        for (int64_t r = 0; r < nrun; r++) {
            char *ps = elem(self, poff[0]), *po = elem(other, poff[1]);
            if (!put && run > 1)
                memmove(po, ps, (size_t)run * es);
            else if (!put)
                mov(po, ps, es);
            else if (accumulate)
                for (int64_t e = 0; e < run; e++)
                    acc((enum td_dtype)p->self.dtype, ps + e * (int64_t)es, po + e * (int64_t)es, false);
            else if (run > 1)
                memmove(ps, po, (size_t)run * es);
            else
                mov(ps, po, es);
            odo_step(nwalk, p->psize, pix, 2, pst, poff);
        }
        odo_step(p->nout, p->osize, ix, nop, st, off);
    }
out_free:
    free(st);
    free(off);
    return c;
}

static enum td_code plan_index(struct td_kctx *k, int first, struct ix_plan *p, const struct td_meta *self)
{
    p->k = k->n_in - first;
    p->idx = k->in + first;
    p->dim = k->attrs[TD_A_INDEX_DIM]; /* INDEX_PUT's dim and mode alike (op.c) */
    p->mode = k->attrs[TD_A_INDEX_MODE];
    p->self = *self;
    if (p->k < 1 || p->dim < 0 || p->dim + p->k > self->ndim || p->mode < 0 || p->mode > M_TARGET || p->mode == M_MASK)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_meta *i0 = &p->idx[0]->m;
    for (int j = 0; j < p->k; j++)
        if (p->idx[j]->m.dtype != TD_DTYPE_INT64 || p->idx[j]->m.ndim != i0->ndim ||
            memcmp(p->idx[j]->m.sizes, i0->sizes, sizeof(int64_t) * i0->ndim))
            return TD_CODE_INVALID_ARGUMENT;
    int pre = (int)p->dim;
    p->nout = pre + i0->ndim;
    p->npost = self->ndim - pre - p->k;
    if (p->nout + p->npost > TD_MAX_DIMS)
        return TD_CODE_INVALID_ARGUMENT;
    memcpy(p->osize, self->sizes, sizeof(int64_t) * pre);
    memcpy(p->osize + pre, i0->sizes, sizeof(int64_t) * i0->ndim);
    memcpy(p->psize, self->sizes + pre + p->k, sizeof(int64_t) * p->npost);
    return TD_CODE_OK;
}

/* other must have the indexed shape: osize + psize. */
static bool indexed_shape_ok(const struct ix_plan *p, const struct td_meta *m)
{
    if (m->ndim != p->nout + p->npost)
        return false;
    return !memcmp(m->sizes, p->osize, sizeof(int64_t) * p->nout) &&
           !memcmp(m->sizes + p->nout, p->psize, sizeof(int64_t) * p->npost);
}

static enum td_code index_mask(struct td_kctx *k);

enum td_code td_cpu_index(struct td_kctx *k)
{
    struct ix_plan p;
    if (k->n_attr > TD_A_INDEX_MODE && k->attrs[TD_A_INDEX_MODE] == M_MASK)
        return index_mask(k);
    if (k->n_out < 1 || k->n_attr < TD_A_INDEX_COUNT || plan_index(k, 1, &p, &k->in[0]->m) || /* count: M_MASK's */
        !indexed_shape_ok(&p, &k->out[0]->m))
        return TD_CODE_INVALID_ARGUMENT;
    return index_walk(k, &p, k->in[0], k->out[0], false, false);
}

enum td_code td_cpu_index_put(struct td_kctx *k)
{
    struct ix_plan p;
    if (k->n_out < 1 || k->n_attr < TD_N_INDEX_PUT || k->n_in < 3 || k->in[1]->m.dtype != k->out[0]->m.dtype ||
        plan_index(k, 2, &p, &k->out[0]->m) || !indexed_shape_ok(&p, &k->in[1]->m))
        return TD_CODE_INVALID_ARGUMENT;
    enum td_code c = copy_self(k);
    return c ? c : index_walk(k, &p, k->out[0], k->in[1], true, k->attrs[TD_A_INDEX_PUT_ACCUMULATE] != 0);
}

/* ---- selections: NONZERO and INDEX's mask mode ----
 *
 * Both select the elements of one tensor t that are non-zero, in row-major order.  t is
 * cut into chunks of SEL_CHUNK elements; pass 1 counts each chunk (in parallel), a prefix
 * sum gives each chunk its first output row, pass 2 lets every chunk write its rows (in
 * parallel again).  A count that disagrees with the one the client learned first fails
 * the op before anything is written. */

static bool is_nonzero(enum td_dtype dt, const char *p)
{
    switch (dt) {
    case TD_DTYPE_FLOAT32: return *(const float *)p != 0;
    case TD_DTYPE_FLOAT64: return *(const double *)p != 0;
    case TD_DTYPE_INT64: return *(const int64_t *)p != 0;
    case TD_DTYPE_INT32: return *(const int32_t *)p != 0;
    case TD_DTYPE_INT16: return *(const int16_t *)p != 0;
    default: return *p != 0; /* int8, uint8, bool */
    }
}

struct sel {
    struct td_kctx *k;
    struct td_kt *t;          /* the tested tensor */
    struct td_meta tm;        /* its meta, a 0-d tensor as [1] */
    bool flat8;               /* contiguous 1-byte elements: tested 8 at a time */
    int64_t n, nch, *rows;    /* elements, chunks, first row of each chunk (nch + 1) */
    void (*write)(const struct sel *s, int64_t b, int64_t e, int64_t row, int64_t cnt);
    /* INDEX mask mode: out[p][row][q] = x[pre p][mask position][post q] */
    struct td_kt *x, *out;
    int64_t xst[TD_MAX_DIMS]; /* x's strides over the mask dims */
    int64_t P, Q, count, *preoff, *postoff;
    bool xflat;               /* x's offset of mask position i is i * s1 */
    int64_t s1;
};

/* 1 per non-zero byte of w, summed (bytes may hold any value, not only 0/1). */
static inline int64_t nz8(uint64_t w)
{
    const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL, hi = 0x8080808080808080ULL;
    uint64_t t = ((((w & lo7) + lo7) | w) & hi) >> 7;
    return (int64_t)((t * 0x0101010101010101ULL) >> 56);
}

static int64_t sel_count(const struct sel *s, int64_t b, int64_t e)
{
    int64_t c = 0;
    if (s->flat8) {
        const uint8_t *p = (const uint8_t *)s->t->data + s->t->m.offset;
        int64_t i = b;
        for (; i + 8 <= e; i += 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            c += nz8(w);
        }
        for (; i < e; i++)
            c += p[i] != 0;
        return c;
    }
    int nd = s->tm.ndim;
    int64_t st[1][TD_MAX_DIMS], ix[TD_MAX_DIMS], off[1];
    memcpy(st[0], s->tm.strides, sizeof st[0]);
    unflatten(b, nd, s->tm.sizes, ix, 1, st, off);
    enum td_dtype dt = (enum td_dtype)s->tm.dtype;
    for (int64_t i = b; i < e; i++) {
        c += is_nonzero(dt, elem(s->t, off[0]));
        odo_step(nd, s->tm.sizes, ix, 1, st, off);
    }
    return c;
}

static void sel_count_range(void *ctx, int64_t c0, int64_t c1)
{
    struct sel *s = ctx;
    for (int64_t c = c0; c < c1; c++) {
        int64_t b = c * SEL_CHUNK, e = b + SEL_CHUNK < s->n ? b + SEL_CHUNK : s->n;
        s->rows[c] = sel_count(s, b, e);
    }
}

static void sel_write_range(void *ctx, int64_t c0, int64_t c1)
{
    const struct sel *s = ctx;
    for (int64_t c = c0; c < c1; c++) {
        int64_t b = c * SEL_CHUNK, e = b + SEL_CHUNK < s->n ? b + SEL_CHUNK : s->n;
        if (s->rows[c + 1] > s->rows[c])
            s->write(s, b, e, s->rows[c], s->rows[c + 1] - s->rows[c]);
    }
}

/* Pass 1: s->rows[c] = first row of chunk c, s->rows[s->nch] = the total.  The caller
 * frees s->rows. */
static enum td_code sel_prepare(struct sel *s)
{
    s->tm = as_1d(&s->t->m);
    s->n = td_meta_numel(&s->tm);
    s->flat8 = td_dtype_size(s->tm.dtype) == 1 && td_meta_is_contiguous(&s->tm);
    s->nch = (s->n + SEL_CHUNK - 1) / SEL_CHUNK;
    s->rows = malloc(sizeof(int64_t) * (size_t)(s->nch + 1));
    if (!s->rows)
        return TD_CODE_RESOURCE_EXHAUSTED;
    td_parallel_for(s->nch, 1, sel_count_range, s);
    int64_t total = 0;
    for (int64_t c = 0; c < s->nch; c++) {
        int64_t v = s->rows[c];
        s->rows[c] = total;
        total += v;
    }
    s->rows[s->nch] = total;
    return TD_CODE_OK;
}

/* Counts, checks the total against count, writes.  s->t, s->write and the writer's
 * fields are set by the caller. */
static enum td_code sel_run(struct sel *s, int64_t count, const char *what)
{
    enum td_code c = sel_prepare(s);
    if (c)
        return c;
    if (s->rows[s->nch] != count) {
        free(s->rows);
        return td__kernel_fail(s->k, TD_CODE_INVALID_ARGUMENT, "%s: the input changed after its count was taken", what);
    }
    td_parallel_for(s->nch, 1, sel_write_range, s);
    free(s->rows);
    return TD_CODE_OK;
}

/* The fast case of the mask mode: no pre/post dims, a contiguous mask, x flat over it.
 * Branch-free: every position is stored at the next row, which only advances when the
 * mask is set; stops once the chunk's cnt rows are written, so nothing lands past them. */
#define SEL_FLAT(T)                                                                     \
    {                                                                                   \
        for (int64_t i = 0, w = 0; i < n && w < cnt; i++) {                             \
            memcpy(o + w * (int64_t)sizeof(T), xs + i * s1 * (int64_t)sizeof(T), sizeof(T)); \
            w += m[i] != 0;                                                             \
        }                                                                               \
        break;                                                                          \
    }

static void write_mask(const struct sel *s, int64_t b, int64_t e, int64_t row, int64_t cnt)
{
    size_t es = td_dtype_size(s->x->m.dtype);
    if (s->flat8 && s->xflat && s->P == 1 && s->Q == 1) {
        const uint8_t *m = (const uint8_t *)s->t->data + s->t->m.offset + b;
        const char *xs = elem(s->x, b * s->s1);
        char *o = elem(s->out, row);
        int64_t n = e - b, s1 = s->s1;
        switch (es) {
        case 1: SEL_FLAT(uint8_t)
        case 2: SEL_FLAT(uint16_t)
        case 4: SEL_FLAT(uint32_t)
        default: SEL_FLAT(uint64_t)
        }
        return;
    }
    int nd = s->tm.ndim;
    int64_t st[2][TD_MAX_DIMS], ix[TD_MAX_DIMS], off[2];
    memcpy(st[0], s->tm.strides, sizeof st[0]);
    memcpy(st[1], s->xst, sizeof st[1]);
    unflatten(b, nd, s->tm.sizes, ix, 2, st, off);
    enum td_dtype dt = (enum td_dtype)s->tm.dtype;
    for (int64_t i = b; i < e; i++) {
        if (is_nonzero(dt, elem(s->t, off[0]))) {
            for (int64_t p = 0; p < s->P; p++)
                for (int64_t q = 0; q < s->Q; q++)
                    mov(elem(s->out, (p * s->count + row) * s->Q + q), elem(s->x, s->preoff[p] + off[1] + s->postoff[q]),
                        es);
            row++;
        }
        odo_step(nd, s->tm.sizes, ix, 2, st, off);
    }
}
#undef SEL_FLAT

/* Offsets of every position of a (sizes, strides) walk, row-major; NULL on no memory. */
static int64_t *walk_offsets(int nd, const int64_t *size, const int64_t *stride, int64_t n)
{
    int64_t *r = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1)), st[1][TD_MAX_DIMS], ix[TD_MAX_DIMS] = {0},
            off[1] = {0};
    if (!r)
        return NULL;
    memcpy(st[0], stride, sizeof(int64_t) * nd);
    for (int64_t i = 0; i < n; i++) {
        r[i] = off[0];
        odo_step(nd, size, ix, 1, st, off);
    }
    return r;
}

/* INDEX mode M_MASK: inputs (x, mask bool/uint8 of x's dims dim..dim+km-1), attributes
 * dim, mode M_MASK, count; output x.shape[:dim] + [count] + x.shape[dim+km:], contiguous. */
static enum td_code index_mask(struct td_kctx *k)
{
    if (k->n_in != 2 || k->n_out < 1 || k->n_attr < TD_N_INDEX)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *x = k->in[0], *mk = k->in[1], *o = k->out[0];
    const struct td_meta *xm = &x->m, *mm = &mk->m, *om = &o->m;
    int64_t dim = k->attrs[TD_A_INDEX_DIM], count = k->attrs[TD_A_INDEX_COUNT];
    int km = mm->ndim;
    if ((mm->dtype != TD_DTYPE_BOOL && mm->dtype != TD_DTYPE_UINT8) || km < 1 || dim < 0 || dim + km > xm->ndim ||
        memcmp(mm->sizes, xm->sizes + dim, sizeof(int64_t) * km) || count < 0 || count > td_meta_numel(mm))
        return TD_CODE_INVALID_ARGUMENT;
    int pre = (int)dim, post = xm->ndim - pre - km;
    if (om->ndim != pre + 1 + post || om->dtype != xm->dtype || !td_meta_is_contiguous(om) ||
        memcmp(om->sizes, xm->sizes, sizeof(int64_t) * pre) || om->sizes[pre] != count ||
        memcmp(om->sizes + pre + 1, xm->sizes + pre + km, sizeof(int64_t) * post))
        return TD_CODE_INVALID_ARGUMENT;
    struct sel s = {.k = k, .t = mk, .write = write_mask, .x = x, .out = o, .count = count};
    memcpy(s.xst, xm->strides + pre, sizeof(int64_t) * km);
    s.P = numel_of(pre, xm->sizes);
    s.Q = numel_of(post, xm->sizes + pre + km);
    /* x flat over the mask dims: stride of dim d = s1 * (elements after d) */
    s.s1 = xm->strides[pre + km - 1];
    s.xflat = true;
    int64_t inner = 1;
    for (int d = km - 1; d >= 0; d--) {
        if (mm->sizes[d] > 1 && xm->strides[pre + d] != s.s1 * inner)
            s.xflat = false;
        inner *= mm->sizes[d] > 0 ? mm->sizes[d] : 1;
    }
    s.preoff = walk_offsets(pre, xm->sizes, xm->strides, s.P);
    s.postoff = walk_offsets(post, xm->sizes + pre + km, xm->strides + pre + km, s.Q);
    enum td_code c = s.preoff && s.postoff ? sel_run(&s, count, "index") : TD_CODE_RESOURCE_EXHAUSTED;
    free(s.preoff);
    free(s.postoff);
    return c;
}

/* ---- NONZERO: (count, ndim) coordinates of the non-zero elements, row-major ---- */

/* NONZERO's writer: the coordinates of each selected position, one row of ndim each. */
static void write_coords(const struct sel *s, int64_t b, int64_t e, int64_t row, int64_t cnt)
{
    int nd = s->t->m.ndim; /* 0 for a 0-d input: rows of no coordinates */
    int64_t *dst = (int64_t *)s->out->data + s->out->m.offset + row * nd;
    if (nd == 0)
        return;
    if (s->flat8 && nd == 1) { /* branch-free, as SEL_FLAT */
        const uint8_t *m = (const uint8_t *)s->t->data + s->t->m.offset;
        for (int64_t i = b, w = 0; i < e && w < cnt; i++) {
            dst[w] = i;
            w += m[i] != 0;
        }
        return;
    }
    int64_t st[1][TD_MAX_DIMS], ix[TD_MAX_DIMS], off[1];
    memcpy(st[0], s->tm.strides, sizeof st[0]);
    unflatten(b, nd, s->tm.sizes, ix, 1, st, off);
    enum td_dtype dt = (enum td_dtype)s->tm.dtype;
    for (int64_t i = b; i < e; i++) {
        if (is_nonzero(dt, elem(s->t, off[0]))) {
            memcpy(dst, ix, sizeof(int64_t) * nd);
            dst += nd;
        }
        odo_step(nd, s->tm.sizes, ix, 1, st, off);
    }
}

/* NONZERO's count mode: the number of non-zero elements into a 0-d int64. */
static enum td_code count_nonzero(struct td_kctx *k, struct td_kt *x, struct td_kt *o)
{
    if (o->m.ndim != 0 || o->m.dtype != TD_DTYPE_INT64)
        return TD_CODE_INVALID_ARGUMENT;
    struct sel s = {.k = k, .t = x};
    enum td_code c = sel_prepare(&s);
    if (c)
        return c;
    int64_t total = s.rows[s.nch];
    free(s.rows);
    memcpy(elem(o, 0), &total, sizeof total);
    return TD_CODE_OK;
}

enum td_code td_cpu_nonzero(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr < TD_A_NONZERO_COUNT_ONLY) /* count_only may be left out */
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *x = k->in[0], *o = k->out[0];
    int64_t count = k->attrs[TD_A_NONZERO_COUNT];
    if (k->n_attr >= TD_N_NONZERO && k->attrs[TD_A_NONZERO_COUNT_ONLY] == 1)
        return count_nonzero(k, x, o);
    if (o->m.ndim != 2 || o->m.sizes[0] != count || o->m.sizes[1] != x->m.ndim || o->m.dtype != TD_DTYPE_INT64 ||
        !td_meta_is_contiguous(&o->m))
        return TD_CODE_INVALID_ARGUMENT;
    struct sel s = {.k = k, .t = x, .write = write_coords, .out = o};
    return sel_run(&s, count, "nonzero");
}
