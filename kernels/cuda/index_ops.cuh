/*
 * index_ops.cuh — the per-element logic of the indexing kernels (index.cu): GATHER,
 * SCATTER (reduce none/add/multiply), INDEX and INDEX_PUT (accumulate), following
 * kernels/cpu/index.c.  The planners (host) and the element bodies (host and device)
 * live here so that tests/check_cuda_ops.cu runs the very same code on the host,
 * serially, against the CPU kernels.
 *
 * Bad indices.  The CPU fails the op with IndexError before it returns; a kernel only
 * learns of a bad index while the GPU runs, after the launch returned.  So a body that
 * meets one skips that element (nothing is read or written out of bounds; a GATHER or
 * INDEX output element gets 0) and records the index in the stream's error record
 * (struct td_cu_ierr, device memory, first writer wins by atomicCAS) and raises a flag
 * in mapped host memory.  The plugin's stream_sync sees the flag after the stream
 * drained, reads the record, clears both, and fails with TD_CU_ERR_INDEX, whose
 * error_string is the CPU's message for that index (td_cu_ierr_format).  The daemon
 * then fails the record that synchronized (a READ, .item(), synchronize) with
 * "CUDA error: index 7 is out of bounds for dimension 0 with size 5 (synchronize,
 * cuda:0)", a RuntimeError, as PyTorch's device-side assert is; unlike that assert it
 * is not sticky: the session and the device go on.
 *
 * Order: with duplicate indices, plain SCATTER/INDEX_PUT keep one of the writes (the
 * CPU keeps the last in row-major order); the accumulating forms use atomics, so float
 * sums may round differently from the CPU's serial order (as in PyTorch).
 */
#ifndef TD_CUDA_INDEX_OPS_CUH
#define TD_CUDA_INDEX_OPS_CUH

#include <stdio.h>
#include <type_traits>

#include "cuda_common.cuh"

/* INDEX/INDEX_PUT modes (kernels/cpu/index.c). */
enum { TD_CU_M_ADV = 0, TD_CU_M_SELF = 1, TD_CU_M_TAKE = 2, TD_CU_M_FILL = 3, TD_CU_M_COPY = 4, TD_CU_M_MASK = 5 };

/* The error record: kind says which of the CPU's messages applies. */
enum { TD_CU_IE_NONE = 0, TD_CU_IE_BOUNDS = 1, TD_CU_IE_SELF = 2, TD_CU_IE_TAKE = 3, TD_CU_IE_COPY = 4,
       TD_CU_IE_COUNT = 5, TD_CU_IE_POOL = 6, TD_CU_IE_NZCOUNT = 7 };
struct td_cu_ierr {
    unsigned int claim;    /* 0 until a writer claims the record (atomicCAS) */
    unsigned int kind;     /* written last, by the one writer that won it */
    int dim;
    long long value, size;
};
/* Where a launch reports: rec in device memory, flag in mapped host memory. */
struct td_cu_ierr_slot {
    struct td_cu_ierr *rec;
    volatile int *flag;
};

/* The CPU's message for a record (kernels/cpu/index.c's resolve and gather_scatter). */
static inline void td_cu_ierr_format(const struct td_cu_ierr *e, char *buf, size_t len)
{
    switch (e->kind) {
    case TD_CU_IE_SELF: snprintf(buf, len, "index out of range in self"); break;
    case TD_CU_IE_TAKE:
        snprintf(buf, len, "out of range: tried to access index %lld on a tensor of %lld elements.", e->value, e->size);
        break;
    case TD_CU_IE_COPY:
        snprintf(buf, len, "index_copy_(): index %lld is out of bounds for dimension %d with size %lld", e->value, e->dim,
                 e->size);
        break;
    case TD_CU_IE_COUNT: snprintf(buf, len, "index: the input changed after its count was taken"); break;
    case TD_CU_IE_NZCOUNT: snprintf(buf, len, "nonzero: the input changed after its count was taken"); break;
    case TD_CU_IE_POOL: snprintf(buf, len, "max_pool_backward: an index lies outside its input plane"); break;
    default:
        snprintf(buf, len, "index %lld is out of bounds for dimension %d with size %lld", e->value, e->dim, e->size);
        break;
    }
}

/* Records a bad index: the first writer fills the record, every writer raises the flag.
 * On the host (the tests) the slot is plain memory and the first call wins. */
TD_CU_HD void td_cu_ierr_raise(const struct td_cu_ierr_slot &s, unsigned kind, long long value, int dim, long long size)
{
    if (!s.rec)
        return;
#ifdef __CUDA_ARCH__
    if (atomicCAS(&s.rec->claim, 0u, 1u) == 0u) {
        s.rec->value = value;
        s.rec->size = size;
        s.rec->dim = dim;
        __threadfence();
        s.rec->kind = kind;
    }
    *s.flag = 1;
    __threadfence_system();
#else
    if (s.rec->kind == TD_CU_IE_NONE) {
        s.rec->value = value, s.rec->size = size, s.rec->dim = dim, s.rec->kind = kind;
    }
    *s.flag = 1;
#endif
}

/* ---- accumulation: *d = *d (+ or *) s as kernels/cpu/index.c's acc (integers wrap,
 * bool or/and, complex add componentwise) */

struct td_cu_c64 {
    float v[2];
};
struct td_cu_c128 {
    double v[2];
};

template <typename T> TD_CU_HD T td_cu_acc(T a, T b, bool mul)
{
    if constexpr (std::is_same<T, bool>::value)
        return mul ? (a && b) : (a || b);
    else if constexpr (std::is_same<T, float>::value || std::is_same<T, double>::value)
        return mul ? a * b : a + b;
    else if constexpr (std::is_same<T, td_cu_c64>::value || std::is_same<T, td_cu_c128>::value) {
        T r = a; /* add only: SCATTER has no complex kernel */
        r.v[0] = a.v[0] + b.v[0];
        r.v[1] = a.v[1] + b.v[1];
        return r;
    } else {
        typedef typename std::conditional<sizeof(T) == 8, uint64_t, uint32_t>::type UT;
        return mul ? (T)((UT)a * (UT)b) : (T)((UT)a + (UT)b);
    }
}

#ifdef __CUDACC__
/* The same, atomically: hardware adds where they exist, else a CAS loop on the aligned
 * word holding the element (1- and 2-byte types share a 32-bit word). */
template <typename T> __device__ void td_cu_atomic_acc(T *p, T v, bool mul)
{
    if constexpr (std::is_same<T, td_cu_c64>::value || std::is_same<T, td_cu_c128>::value) {
        atomicAdd(&p->v[0], v.v[0]);
        atomicAdd(&p->v[1], v.v[1]);
    } else if constexpr (sizeof(T) == 4 && !std::is_integral<T>::value) {
        if (!mul) {
            atomicAdd((float *)p, (float)v);
            return;
        }
        unsigned *w = (unsigned *)p, old = *w, assumed;
        do {
            assumed = old;
            T nv = td_cu_acc(__uint_as_float(assumed), v, true);
            old = atomicCAS(w, assumed, __float_as_uint(nv));
        } while (old != assumed);
    } else if constexpr (sizeof(T) == 8 && !std::is_integral<T>::value) {
        if (!mul) {
            atomicAdd((double *)p, (double)v);
            return;
        }
        unsigned long long *w = (unsigned long long *)p, old = *w, assumed;
        do {
            assumed = old;
            T nv = td_cu_acc(__longlong_as_double((long long)assumed), v, true);
            old = atomicCAS(w, assumed, (unsigned long long)__double_as_longlong(nv));
        } while (old != assumed);
    } else if constexpr (sizeof(T) == 8) {
        if (!mul) {
            atomicAdd((unsigned long long *)p, (unsigned long long)v);
            return;
        }
        unsigned long long *w = (unsigned long long *)p, old = *w, assumed;
        do {
            assumed = old;
            old = atomicCAS(w, assumed, (unsigned long long)td_cu_acc((T)assumed, v, true));
        } while (old != assumed);
    } else if constexpr (sizeof(T) == 4) {
        if (!mul) {
            atomicAdd((unsigned *)p, (unsigned)v);
            return;
        }
        unsigned *w = (unsigned *)p, old = *w, assumed;
        do {
            assumed = old;
            old = atomicCAS(w, assumed, (unsigned)td_cu_acc((T)assumed, v, true));
        } while (old != assumed);
    } else { /* 1 or 2 bytes inside an aligned 32-bit word */
        uintptr_t a = (uintptr_t)p;
        unsigned *w = (unsigned *)(a & ~(uintptr_t)3);
        unsigned sh = (unsigned)(a & 3) * 8, mask = (sizeof(T) == 1 ? 0xffu : 0xffffu) << sh;
        unsigned old = *w, assumed;
        do {
            assumed = old;
            T cur;
            if constexpr (sizeof(T) == 1) {
                uint8_t b = (uint8_t)(assumed >> sh);
                memcpy(&cur, &b, 1);
            } else {
                uint16_t b = (uint16_t)(assumed >> sh);
                memcpy(&cur, &b, 2);
            }
            T nv = td_cu_acc(cur, v, mul);
            unsigned bits;
            if constexpr (sizeof(T) == 1) {
                uint8_t b;
                memcpy(&b, &nv, 1);
                bits = b;
            } else {
                uint16_t b;
                memcpy(&b, &nv, 2);
                bits = b;
            }
            old = atomicCAS(w, assumed, (assumed & ~mask) | (bits << sh));
        } while (old != assumed);
    }
}
#endif

template <typename T> TD_CU_HD void td_cu_acc_at(T *p, T v, bool mul)
{
#ifdef __CUDA_ARCH__
    td_cu_atomic_acc(p, v, mul);
#else
    *p = td_cu_acc(*p, v, mul);
#endif
}

/* Element types by size, for the byte-moving forms. */
struct td_cu_b16 {
    uint64_t w[2];
};

/* ---- GATHER / SCATTER: walk index's shape; a is indexed along dim (GATHER's self,
 * SCATTER's output), b is the other (GATHER's output, SCATTER's src). */

struct td_cu_gs_plan {
    int nd, dim, reduce; /* reduce: 0 none, 1 add, 2 multiply */
    bool scatter;
    int64_t n, lim, sa;  /* elements, a's size and element stride along dim */
    int64_t size[TD_MAX_DIMS], ist[TD_MAX_DIMS], ast[TD_MAX_DIMS], bst[TD_MAX_DIMS];
    const int64_t *ix;
    char *a, *b;         /* at their offsets */
};

static inline char *td_cu_at(const struct td_kt *t)
{
    return t->data + t->m.offset * (int64_t)td_cu_dtype_size(t->m.dtype);
}

/* The plan of k (GATHER or SCATTER, after SCATTER's output holds self). */
static inline enum td_code td_cu_gs_plan_make(const struct td_kctx *k, struct td_cu_gs_plan *p)
{
    memset(p, 0, sizeof *p);
    bool sc = k->op == TD_OP_SCATTER;
    if (k->n_out < 1 || k->n_in != (sc ? 3 : 2) || k->n_attr < (sc ? (int)TD_N_SCATTER : (int)TD_N_GATHER) ||
        k->in[1]->m.dtype != TD_DTYPE_INT64)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *ti = k->in[1], *ta = sc ? k->out[0] : k->in[0], *tb = sc ? k->in[2] : k->out[0];
    if (ta->m.dtype != tb->m.dtype)
        return TD_CODE_INVALID_ARGUMENT;
    int64_t dim = k->attrs[0]; /* TD_A_GATHER_DIM == TD_A_SCATTER_DIM */
    if (dim < 0)
        dim += k->in[0]->m.ndim ? k->in[0]->m.ndim : 1;
    p->reduce = sc ? (int)k->attrs[TD_A_SCATTER_REDUCE] : 0;
    if (dim < 0 || p->reduce < 0 || p->reduce > 2)
        return TD_CODE_INVALID_ARGUMENT;
    /* a 0-d tensor is [1] */
    int nd = ti->m.ndim ? ti->m.ndim : 1;
    int nda = ta->m.ndim ? ta->m.ndim : 1, ndb = tb->m.ndim ? tb->m.ndim : 1;
    p->n = 1;
    for (int d = 0; d < ti->m.ndim; d++)
        p->n *= ti->m.sizes[d];
    if (p->n == 0)
        return TD_CODE_OK;
    if (nda != nd || ndb != nd || dim >= nd)
        return TD_CODE_INVALID_ARGUMENT;
    p->nd = nd;
    p->dim = (int)dim;
    p->scatter = sc;
    for (int d = 0; d < nd; d++) {
        p->size[d] = ti->m.ndim ? ti->m.sizes[d] : 1;
        p->ist[d] = ti->m.ndim ? ti->m.strides[d] : 0;
        p->ast[d] = ta->m.ndim && d != dim ? ta->m.strides[d] : 0;
        p->bst[d] = tb->m.ndim ? tb->m.strides[d] : 0;
    }
    p->lim = ta->m.ndim ? ta->m.sizes[dim] : 1;
    p->sa = ta->m.ndim ? ta->m.strides[dim] : 0;
    p->ix = (const int64_t *)td_cu_at(ti);
    p->a = td_cu_at(ta);
    p->b = td_cu_at(tb);
    return TD_CODE_OK;
}

/* Element i of the walk; E is the element type (by size, or the compute type T when
 * reducing). */
template <typename E> TD_CU_HD void td_cu_gs_elem(const struct td_cu_gs_plan &p, int64_t i, const struct td_cu_ierr_slot &err)
{
    int64_t io = 0, ao = 0, bo = 0, r = i;
    for (int d = p.nd - 1; d >= 0; d--) {
        int64_t q = r / p.size[d], c = r - q * p.size[d];
        r = q;
        io += c * p.ist[d];
        ao += c * p.ast[d];
        bo += c * p.bst[d];
    }
    int64_t v = p.ix[io];
    E *y = (E *)p.b + bo;
    if ((uint64_t)v >= (uint64_t)p.lim) {
        td_cu_ierr_raise(err, TD_CU_IE_BOUNDS, v, p.dim, p.lim);
        if (!p.scatter)
            memset((void *)y, 0, sizeof(E));
        return;
    }
    E *x = (E *)p.a + ao + v * p.sa;
    if (!p.scatter)
        *y = *x;
    else if (!p.reduce)
        *x = *y;
    else if constexpr (!std::is_same<E, td_cu_b16>::value) /* reducing launches pass the compute type */
        td_cu_acc_at(x, *y, p.reduce == 2);
}

/* ---- INDEX / INDEX_PUT: the walk covers the indexed shape, other's shape:
 * self[:dim] x (index dims) x self[dim+k:]; self is INDEX's input, INDEX_PUT's output. */

struct td_cu_ix_plan {
    int nd, pre, ni, k, mode;
    bool put, accumulate;
    int64_t n, dim;
    int64_t size[TD_MAX_DIMS];            /* walk sizes */
    int64_t sst[TD_MAX_DIMS];             /* self's strides over the walk (0 on index dims) */
    int64_t ost[TD_MAX_DIMS];             /* other's strides */
    int64_t ist[TD_MAX_DIMS][TD_MAX_DIMS]; /* index j's strides over its own dims */
    int64_t lim[TD_MAX_DIMS], dst[TD_MAX_DIMS]; /* self's size and stride along dim + j */
    const int64_t *ix[TD_MAX_DIMS];
    char *self, *other;
};

/* INDEX (first 1: inputs self, indices...) or INDEX_PUT (first 2: self, values,
 * indices...; self is then the output, already holding the input). */
static inline enum td_code td_cu_ix_plan_make(const struct td_kctx *k, struct td_cu_ix_plan *p)
{
    memset(p, 0, sizeof *p);
    bool put = k->op == TD_OP_INDEX_PUT;
    int first = put ? 2 : 1;
    if (k->n_out < 1 || k->n_in < first + 1 || k->n_attr < (put ? (int)TD_N_INDEX_PUT : (int)TD_A_INDEX_COUNT))
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *self = put ? k->out[0] : k->in[0], *other = put ? k->in[1] : k->out[0];
    const struct td_meta *sm = &self->m, *om = &other->m;
    p->k = k->n_in - first;
    p->dim = k->attrs[TD_A_INDEX_DIM];
    p->mode = (int)k->attrs[TD_A_INDEX_MODE];
    p->put = put;
    p->accumulate = put && k->attrs[TD_A_INDEX_PUT_ACCUMULATE] != 0;
    if (p->k < 1 || p->k > TD_MAX_DIMS || p->dim < 0 || p->dim + p->k > sm->ndim || p->mode < 0 ||
        p->mode > TD_CU_M_COPY || sm->dtype != om->dtype)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_meta *i0 = &k->in[first]->m;
    for (int j = 0; j < p->k; j++) {
        const struct td_meta *im = &k->in[first + j]->m;
        if (im->dtype != TD_DTYPE_INT64 || im->ndim != i0->ndim || memcmp(im->sizes, i0->sizes, sizeof(int64_t) * i0->ndim))
            return TD_CODE_INVALID_ARGUMENT;
    }
    p->pre = (int)p->dim;
    p->ni = i0->ndim;
    int npost = sm->ndim - p->pre - p->k;
    p->nd = p->pre + p->ni + npost;
    if (p->nd > TD_MAX_DIMS || om->ndim != p->nd)
        return TD_CODE_INVALID_ARGUMENT;
    p->n = 1;
    for (int d = 0; d < p->nd; d++) {
        int64_t want = d < p->pre ? sm->sizes[d] : d < p->pre + p->ni ? i0->sizes[d - p->pre] : sm->sizes[d - p->ni + p->k];
        if (om->sizes[d] != want)
            return TD_CODE_INVALID_ARGUMENT;
        p->size[d] = want;
        p->n *= want;
        p->sst[d] = d < p->pre ? sm->strides[d] : d < p->pre + p->ni ? 0 : sm->strides[d - p->ni + p->k];
        p->ost[d] = om->strides[d];
    }
    for (int j = 0; j < p->k; j++) {
        const struct td_kt *t = k->in[first + j];
        for (int d = 0; d < p->ni; d++)
            p->ist[j][d] = t->m.strides[d];
        p->ix[j] = (const int64_t *)td_cu_at(t);
        p->lim[j] = sm->sizes[p->dim + j];
        p->dst[j] = sm->strides[p->dim + j];
    }
    p->self = td_cu_at(self);
    p->other = td_cu_at(other);
    return TD_CODE_OK;
}

template <typename E> TD_CU_HD void td_cu_ix_elem(const struct td_cu_ix_plan &p, int64_t i, const struct td_cu_ierr_slot &err)
{
    int64_t so = 0, oo = 0, r = i, c[TD_MAX_DIMS];
    for (int d = p.nd - 1; d >= 0; d--) {
        int64_t q = r / p.size[d];
        c[d] = r - q * p.size[d];
        r = q;
        so += c[d] * p.sst[d];
        oo += c[d] * p.ost[d];
    }
    E *o = (E *)p.other + oo;
    bool wrap = p.mode == TD_CU_M_ADV || p.mode == TD_CU_M_TAKE || p.mode == TD_CU_M_FILL;
    for (int j = 0; j < p.k; j++) {
        int64_t io = 0;
        for (int d = 0; d < p.ni; d++)
            io += c[p.pre + d] * p.ist[j][d];
        int64_t v = p.ix[j][io], raw = v, lim = p.lim[j];
        if (wrap && v < 0)
            v += lim;
        if (v < 0 || v >= lim) {
            switch (p.mode) {
            case TD_CU_M_SELF: td_cu_ierr_raise(err, TD_CU_IE_SELF, raw, 0, lim); break;
            case TD_CU_M_TAKE: td_cu_ierr_raise(err, TD_CU_IE_TAKE, raw, 0, lim); break;
            case TD_CU_M_COPY: td_cu_ierr_raise(err, TD_CU_IE_COPY, raw, (int)(p.dim + j), lim); break;
            default:
                td_cu_ierr_raise(err, TD_CU_IE_BOUNDS, raw, (int)(p.mode == TD_CU_M_FILL ? p.dim + j : j), lim);
                break;
            }
            if (!p.put)
                memset((void *)o, 0, sizeof(E));
            return;
        }
        so += v * p.dst[j];
    }
    E *s = (E *)p.self + so;
    if (!p.put)
        *o = *s;
    else if (!p.accumulate)
        *s = *o;
    else if constexpr (!std::is_same<E, td_cu_b16>::value)
        td_cu_acc_at(s, *o, false);
}

/* ---- INDEX's mask mode: out[p][row][q] = x[pre p][mask position][post q] for the
 * mask's non-zero positions in row-major order; rows come from a prefix count of the
 * mask (index.cu: per-chunk counts, a scan, then a write pass). */

#define TD_CU_MASK_CHUNK 1024 /* mask elements per block: 256 threads x 4 */

struct td_cu_mask_plan {
    int mnd, pnd, qnd;                    /* dims of the mask, the pre and the post walks */
    int64_t m, P, Q, count;               /* mask elements, pre and post products, rows */
    int64_t msize[TD_MAX_DIMS], mst[TD_MAX_DIMS], xmst[TD_MAX_DIMS]; /* mask's and x's strides over the mask dims */
    int64_t psize[TD_MAX_DIMS], pst[TD_MAX_DIMS], qsize[TD_MAX_DIMS], qst[TD_MAX_DIMS];
    const uint8_t *mask;                  /* bool/uint8: non-zero bytes select */
    char *x, *out;
};

static inline enum td_code td_cu_mask_plan_make(const struct td_kctx *k, struct td_cu_mask_plan *p)
{
    memset(p, 0, sizeof *p);
    if (k->n_in != 2 || k->n_out < 1 || k->n_attr < TD_N_INDEX)
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *x = k->in[0], *mk = k->in[1], *o = k->out[0];
    const struct td_meta *xm = &x->m, *mm = &mk->m, *om = &o->m;
    int64_t dim = k->attrs[TD_A_INDEX_DIM], count = k->attrs[TD_A_INDEX_COUNT];
    int km = mm->ndim;
    if ((mm->dtype != TD_DTYPE_BOOL && mm->dtype != TD_DTYPE_UINT8) || km < 1 || dim < 0 || dim + km > xm->ndim ||
        memcmp(mm->sizes, xm->sizes + dim, sizeof(int64_t) * km) || count < 0)
        return TD_CODE_INVALID_ARGUMENT;
    int pre = (int)dim, post = xm->ndim - pre - km;
    if (om->ndim != pre + 1 + post || om->dtype != xm->dtype || memcmp(om->sizes, xm->sizes, sizeof(int64_t) * pre) ||
        om->sizes[pre] != count || memcmp(om->sizes + pre + 1, xm->sizes + pre + km, sizeof(int64_t) * post))
        return TD_CODE_INVALID_ARGUMENT;
    /* the output is contiguous (the executor allocated it) */
    int64_t st = 1;
    for (int d = om->ndim - 1; d >= 0; d--) {
        if (om->sizes[d] != 1 && om->strides[d] != st)
            return TD_CODE_INVALID_ARGUMENT;
        st *= om->sizes[d];
    }
    p->mnd = km, p->pnd = pre, p->qnd = post, p->count = count;
    p->m = 1, p->P = 1, p->Q = 1;
    for (int d = 0; d < km; d++) {
        p->msize[d] = mm->sizes[d], p->mst[d] = mm->strides[d], p->xmst[d] = xm->strides[pre + d];
        p->m *= mm->sizes[d];
    }
    if (count > p->m)
        return TD_CODE_INVALID_ARGUMENT;
    for (int d = 0; d < pre; d++)
        p->psize[d] = xm->sizes[d], p->pst[d] = xm->strides[d], p->P *= xm->sizes[d];
    for (int d = 0; d < post; d++)
        p->qsize[d] = xm->sizes[pre + km + d], p->qst[d] = xm->strides[pre + km + d], p->Q *= p->qsize[d];
    p->mask = (const uint8_t *)td_cu_at(mk);
    p->x = td_cu_at(x);
    p->out = td_cu_at(o);
    return TD_CODE_OK;
}

/* Element offset of position i of a (size, stride) walk. */
TD_CU_HD int64_t td_cu_walk_off(int nd, const int64_t *size, const int64_t *st, int64_t i)
{
    int64_t off = 0;
    for (int d = nd - 1; d >= 0; d--) {
        int64_t q = i / size[d];
        off += (i - q * size[d]) * st[d];
        i = q;
    }
    return off;
}

TD_CU_HD bool td_cu_mask_at(const struct td_cu_mask_plan &p, int64_t i)
{
    return p.mask[td_cu_walk_off(p.mnd, p.msize, p.mst, i)] != 0;
}

/* Writes the selected mask position i as output row `row` (every pre and post element). */
template <typename E> TD_CU_HD void td_cu_mask_write(const struct td_cu_mask_plan &p, int64_t i, int64_t row)
{
    int64_t xo = td_cu_walk_off(p.mnd, p.msize, p.xmst, i);
    for (int64_t a = 0; a < p.P; a++) {
        int64_t po = td_cu_walk_off(p.pnd, p.psize, p.pst, a);
        for (int64_t b = 0; b < p.Q; b++)
            ((E *)p.out)[(a * p.count + row) * p.Q + b] = ((const E *)p.x)[po + xo + td_cu_walk_off(p.qnd, p.qsize, p.qst, b)];
    }
}

#endif
