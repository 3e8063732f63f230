/*
 * sort.c — SORT (stable, ascending or descending, values + int64 indices),
 * SEARCHSORTED (left/right insertion points) and HISTC (equal-width histogram).
 *
 * SORT works slice by slice along its dim: the slice is copied into a buffer of
 * (value, index) pairs, which is merge-sorted (stable, so equal keys keep their order in
 * both directions, as torch's stable sort) or, with stable false, sorted by torch's
 * unstable algorithm (libstdc++'s introsort, so ties end up where torch puts them), then
 * values and indices are written out.
 * With attribute k (topk, kthvalue) only the first k of that order are written; when k
 * is small against the slice a bounded heap selects them instead (same result).
 * NaN sorts as the largest value (last ascending, first descending), as in PyTorch.
 * Slices are spread over td_parallel_for; each range allocates its own scratch.
 * Data operands arrive in the compute dtype (never float16/bfloat16).
 */
#pragma GCC diagnostic ignored "-Wtype-limits"

#include <math.h>
#include <stdlib.h>

#include "iter.h"

/* a < b in the sort order: NaN is larger than everything (and equal to NaN). */
#define LESS_FLOAT(a, b) (!isnan(a) && (isnan(b) || (a) < (b)))
#define LESS_PLAIN(a, b) ((a) < (b))

/* The key types sort, topk and searchsorted instantiate (f16/bf16 arrive as float32). */
#define NUM_KEY_TYPES(X)                   \
    X(f32, float, LESS_FLOAT, FLOAT32)     \
    X(f64, double, LESS_FLOAT, FLOAT64)    \
    X(i64, int64_t, LESS_PLAIN, INT64)     \
    X(i32, int32_t, LESS_PLAIN, INT32)     \
    X(i16, int16_t, LESS_PLAIN, INT16)     \
    X(i8, int8_t, LESS_PLAIN, INT8)        \
    X(u8, uint8_t, LESS_PLAIN, UINT8)
#define KEY_TYPES(X) NUM_KEY_TYPES(X) X(b, bool, LESS_PLAIN, BOOL)

/* Stable sort of (value, index) pairs: insertion sort of runs of RUN, then bottom-up
 * merges ping-ponging between a and b.  The pairs carry their values, so merging reads
 * memory in order (sorting a permutation by key[perm[i]] jumped around the keys).
 * Returns the buffer holding the result.  x goes before y only when it sorts strictly
 * before, so equal keys keep their order in both directions. */
#define RUN 16
#define GEN_KV(sfx, T, LESS, DT) \
    struct kv_##sfx {            \
        T v;                     \
        int64_t i;               \
    };
#define GEN_SORT(sfx, T, LESS, DT)                                                               \
    static inline __attribute__((always_inline)) struct kv_##sfx *                           \
    msort_##sfx##_dir(struct kv_##sfx *a, struct kv_##sfx *b, int64_t n, const bool desc)   \
    {                                                                                        \
        for (int64_t lo = 0; lo < n; lo += RUN) {                                            \
            int64_t hi = lo + RUN < n ? lo + RUN : n;                                        \
            for (int64_t k = lo + 1; k < hi; k++) {                                          \
                struct kv_##sfx x = a[k];                                                    \
                int64_t j = k;                                                               \
                for (; j > lo && (desc ? LESS(a[j - 1].v, x.v) : LESS(x.v, a[j - 1].v)); j--) \
                    a[j] = a[j - 1];                                                         \
                a[j] = x;                                                                    \
            }                                                                                \
        }                                                                                    \
        for (int64_t w = RUN; w < n; w *= 2) {                                               \
            for (int64_t lo = 0; lo < n; lo += 2 * w) {                                      \
                int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n; \
                int64_t i = lo, j = mid, o = lo;                                             \
                while (i < mid && j < hi) {                                                  \
                    bool take_j = desc ? LESS(a[i].v, a[j].v) : LESS(a[j].v, a[i].v);        \
                    b[o++] = take_j ? a[j++] : a[i++];                                       \
                }                                                                            \
                while (i < mid)                                                              \
                    b[o++] = a[i++];                                                         \
                while (j < hi)                                                               \
                    b[o++] = a[j++];                                                         \
            }                                                                                \
            struct kv_##sfx *t = a;                                                          \
            a = b, b = t;                                                                    \
        }                                                                                    \
        return a;                                                                            \
    }                                                                                        \
    /* slice xb (n elements, stride xs) sorted into values vb (stride vs), indices ib (is); \
     * stable false: the order torch's unstable sort leaves equal keys in (introsort_*) */ \
    static bool sort_slice_##sfx(const void *xb_, int64_t xs, int64_t n, int64_t k, bool desc, \
                                 bool stable, void *vb_, int64_t vs, int64_t *ib, int64_t is,  \
                                 void *scratch)                                              \
    {                                                                                        \
        const T *xb = xb_;                                                                   \
        T *vb = vb_;                                                                         \
        struct kv_##sfx *a = scratch, *b = a + n, *r = a;                                    \
        for (int64_t i = 0; i < n; i++)                                                      \
            a[i].v = xb[i * xs], a[i].i = i;                                                 \
        if (!stable)                                                                         \
            introsort_##sfx(a, n, desc);                                                     \
        else                                                                                 \
            r = desc ? msort_##sfx##_dir(a, b, n, true) : msort_##sfx##_dir(a, b, n, false); \
        for (int64_t i = 0; i < k; i++)                                                      \
            vb[i * vs] = r[i].v, ib[i * is] = r[i].i;                                        \
        return true;                                                                         \
    }

/* torch.sort(stable=False) on the CPU is std::sort over (value, index) pairs, and the
 * order it leaves equal keys in is visible (indices; pack_padded_sequence's
 * sorted_indices).  This is the same algorithm step for step as libstdc++'s, which
 * Debian's torch is built with: introsort (median of three moved to the front, unguarded
 * partition, recursion on the right part, heap sort past depth 2 log2 n) down to runs of
 * 16, then one insertion sort over the whole. */
#define GEN_INTROSORT(sfx, T, LESS, DT)                                                          \
    static inline bool ilt_##sfx(const struct kv_##sfx *x, const struct kv_##sfx *y, bool desc) \
    {                                                                                        \
        return desc ? LESS(y->v, x->v) : LESS(x->v, y->v);                                   \
    }                                                                                        \
    static inline void iswap_##sfx(struct kv_##sfx *x, struct kv_##sfx *y)                   \
    {                                                                                        \
        struct kv_##sfx t = *x;                                                              \
        *x = *y, *y = t;                                                                     \
    }                                                                                        \
    /* std::__adjust_heap: sift the hole down to a leaf, then val up from there */           \
    static void adjust_heap_##sfx(struct kv_##sfx *f, int64_t hole, int64_t len, struct kv_##sfx val, \
                                  bool desc)                                                 \
    {                                                                                        \
        int64_t top = hole, child = hole;                                                    \
        while (child < (len - 1) / 2) {                                                      \
            child = 2 * (child + 1);                                                         \
            if (ilt_##sfx(&f[child], &f[child - 1], desc))                                   \
                child--;                                                                     \
            f[hole] = f[child], hole = child;                                                \
        }                                                                                    \
        if ((len & 1) == 0 && child == (len - 2) / 2) {                                      \
            child = 2 * (child + 1);                                                         \
            f[hole] = f[child - 1], hole = child - 1;                                        \
        }                                                                                    \
        for (int64_t parent = (hole - 1) / 2; hole > top && ilt_##sfx(&f[parent], &val, desc); \
             parent = (hole - 1) / 2)                                                        \
            f[hole] = f[parent], hole = parent;                                              \
        f[hole] = val;                                                                       \
    }                                                                                        \
    static void heap_sort_##sfx(struct kv_##sfx *f, int64_t len, bool desc)                  \
    {                                                                                        \
        for (int64_t parent = (len - 2) / 2; len >= 2 && parent >= 0; parent--)              \
            adjust_heap_##sfx(f, parent, len, f[parent], desc);                              \
        while (len > 1) {                                                                    \
            len--;                                                                           \
            struct kv_##sfx val = f[len];                                                    \
            f[len] = f[0];                                                                   \
            adjust_heap_##sfx(f, 0, len, val, desc);                                         \
        }                                                                                    \
    }                                                                                        \
    /* std::__unguarded_partition_pivot over [lo, hi): returns the cut */                    \
    static int64_t partition_##sfx(struct kv_##sfx *a, int64_t lo, int64_t hi, bool desc)    \
    {                                                                                        \
        struct kv_##sfx *x = &a[lo + 1], *y = &a[lo + (hi - lo) / 2], *z = &a[hi - 1];       \
        if (ilt_##sfx(x, y, desc))                                                           \
            iswap_##sfx(&a[lo], ilt_##sfx(y, z, desc) ? y : ilt_##sfx(x, z, desc) ? z : x);  \
        else                                                                                 \
            iswap_##sfx(&a[lo], ilt_##sfx(x, z, desc) ? x : ilt_##sfx(y, z, desc) ? z : y);  \
        int64_t f = lo + 1, l = hi;                                                          \
        for (;;) {                                                                           \
            while (ilt_##sfx(&a[f], &a[lo], desc))                                           \
                f++;                                                                         \
            l--;                                                                             \
            while (ilt_##sfx(&a[lo], &a[l], desc))                                           \
                l--;                                                                         \
            if (!(f < l))                                                                    \
                return f;                                                                    \
            iswap_##sfx(&a[f], &a[l]);                                                       \
            f++;                                                                             \
        }                                                                                    \
    }                                                                                        \
    static void introsort_loop_##sfx(struct kv_##sfx *a, int64_t lo, int64_t hi, int depth, bool desc) \
    {                                                                                        \
        while (hi - lo > 16) {                                                               \
            if (depth == 0) {                                                                \
                heap_sort_##sfx(a + lo, hi - lo, desc);                                      \
                return;                                                                      \
            }                                                                                \
            depth--;                                                                         \
            int64_t cut = partition_##sfx(a, lo, hi, desc);                                  \
            introsort_loop_##sfx(a, cut, hi, depth, desc);                                   \
            hi = cut;                                                                        \
        }                                                                                    \
    }                                                                                        \
    /* std::__unguarded_linear_insert: a smaller key is known to lie somewhere before i */  \
    static inline void linear_insert_##sfx(struct kv_##sfx *a, int64_t i, bool desc)         \
    {                                                                                        \
        struct kv_##sfx val = a[i];                                                          \
        for (; ilt_##sfx(&val, &a[i - 1], desc); i--)                                        \
            a[i] = a[i - 1];                                                                 \
        a[i] = val;                                                                          \
    }                                                                                        \
    static void introsort_##sfx(struct kv_##sfx *a, int64_t n, bool desc)                    \
    {                                                                                        \
        if (n < 2)                                                                           \
            return;                                                                          \
        int lg = 63 - __builtin_clzll((unsigned long long)n);                                \
        introsort_loop_##sfx(a, 0, n, 2 * lg, desc);                                         \
        int64_t head = n > 16 ? 16 : n;                                                      \
        for (int64_t i = 1; i < head; i++) { /* std::__insertion_sort of the first run */   \
            if (ilt_##sfx(&a[i], &a[0], desc)) {                                             \
                struct kv_##sfx val = a[i];                                                  \
                memmove(a + 1, a, (size_t)i * sizeof *a);                                    \
                a[0] = val;                                                                  \
            } else {                                                                         \
                linear_insert_##sfx(a, i, desc);                                             \
            }                                                                                \
        }                                                                                    \
        for (int64_t i = head; i < n; i++)                                                   \
            linear_insert_##sfx(a, i, desc);                                                 \
    }
#define GEN_SORTS(sfx, T, LESS, DT) GEN_KV(sfx, T, LESS, DT) GEN_INTROSORT(sfx, T, LESS, DT) GEN_SORT(sfx, T, LESS, DT)
KEY_TYPES(GEN_SORTS)

/* bytes of sort scratch for n pairs of dtype dt (both ping-pong buffers) */
static size_t sort_scratch(enum td_dtype dt, int64_t n)
{
    size_t pair = td_dtype_size(dt) <= 8 ? 16 : 2 * td_dtype_size(dt);
    return 2 * (size_t)n * pair + 16;
}

static void sort_keys(enum td_dtype dt, const void *xb, int64_t xs, int64_t n, int64_t k, bool desc, bool stable,
                      void *vb, int64_t vs, int64_t *ib, int64_t is, void *scratch)
{
    switch (dt) {
#define SORT_CASE(sfx, T, LESS, DT) \
    case TD_DTYPE_##DT: sort_slice_##sfx(xb, xs, n, k, desc, stable, vb, vs, ib, is, scratch); break;
        KEY_TYPES(SORT_CASE)
#undef SORT_CASE
    default: break; /* f16/bf16 never reach kernels */
    }
}

/* Partial selection (SORT with k): a heap of the k best seen so far whose root is the
 * worst of them; an element replaces the root only when it sorts strictly before it, so
 * equal keys keep the lower index, as the stable sort would.  Then a heap sort puts the
 * k winners in order.  O(n log k), usually ~n compares with the root. */
#define GEN_TOPK(sfx, T, LESS, DT)                                                               \
    static inline bool bef_##sfx(T a, int64_t ia, T b, int64_t ib, bool desc)                 \
    {                                                                                        \
        if (desc ? LESS(b, a) : LESS(a, b))                                                  \
            return true;                                                                     \
        return !(desc ? LESS(a, b) : LESS(b, a)) && ia < ib;                                 \
    }                                                                                        \
    static void sift_##sfx(T *hv, int64_t *hi, int64_t p, int64_t m, bool desc)              \
    {                                                                                        \
        T v = hv[p];                                                                         \
        int64_t iv = hi[p];                                                                  \
        for (;;) {                                                                           \
            int64_t c = 2 * p + 1;                                                           \
            if (c >= m)                                                                      \
                break;                                                                       \
            if (c + 1 < m && bef_##sfx(hv[c], hi[c], hv[c + 1], hi[c + 1], desc))            \
                c++;                                                                         \
            if (!bef_##sfx(v, iv, hv[c], hi[c], desc))                                       \
                break;                                                                       \
            hv[p] = hv[c], hi[p] = hi[c], p = c;                                             \
        }                                                                                    \
        hv[p] = v, hi[p] = iv;                                                               \
    }                                                                                        \
    static void topk_##sfx(const void *xb_, int64_t xs, int64_t n, int64_t k, bool desc, T *hv, int64_t *hi) \
    {                                                                                        \
        const T *xb = xb_;                                                                   \
        int64_t m = 0;                                                                       \
        for (int64_t i = 0; i < n; i++) {                                                    \
            T v = xb[i * xs];                                                                \
            if (m < k) { /* sift up */                                                       \
                int64_t p = m++;                                                             \
                while (p > 0 && bef_##sfx(hv[(p - 1) / 2], hi[(p - 1) / 2], v, i, desc)) {   \
                    hv[p] = hv[(p - 1) / 2], hi[p] = hi[(p - 1) / 2];                        \
                    p = (p - 1) / 2;                                                         \
                }                                                                            \
                hv[p] = v, hi[p] = i;                                                        \
                continue;                                                                    \
            }                                                                                \
            if (!(desc ? LESS(hv[0], v) : LESS(v, hv[0])))                                   \
                continue;                                                                    \
            hv[0] = v, hi[0] = i;                                                            \
            sift_##sfx(hv, hi, 0, m, desc);                                                  \
        }                                                                                    \
        for (int64_t e = m - 1; e > 0; e--) {                                                \
            T tv = hv[0];                                                                    \
            int64_t ti = hi[0];                                                              \
            hv[0] = hv[e], hi[0] = hi[e], hv[e] = tv, hi[e] = ti;                            \
            sift_##sfx(hv, hi, 0, e, desc);                                                  \
        }                                                                                    \
    }
KEY_TYPES(GEN_TOPK)

/* The k first of slice xb (n elements, stride xs elements) into hv (values) and hi. */
static void topk_keys(enum td_dtype dt, const void *xb, int64_t xs, int64_t n, int64_t k, bool desc, void *hv,
                      int64_t *hi)
{
    switch (dt) {
#define TOPK_CASE(sfx, T, LESS, DT) \
    case TD_DTYPE_##DT: topk_##sfx(xb, xs, n, k, desc, hv, hi); break;
        KEY_TYPES(TOPK_CASE)
#undef TOPK_CASE
    default: break; /* f16/bf16 never reach kernels */
    }
}

/* The slices of x along dim: `outer` of them, element j of slice s at base(s) + j * st. */
struct sort_job {
    struct td_kt *x, *vals, *idx;
    int dim;
    int64_t len, k; /* k: outputs' length along dim (len for a full sort) */
    bool desc, heap; /* heap: partial selection (topk_keys) instead of the merge sort */
    bool stable;     /* false: torch's unstable order of equal keys (full sorts only) */
    bool failed;
};

/* Offset (elements, before m->offset) of slice s of m: s counts the other dims row-major. */
static int64_t slice_base(const struct td_meta *m, int dim, int64_t s)
{
    int64_t off = 0;
    for (int d = m->ndim - 1; d >= 0; d--) {
        if (d == dim)
            continue;
        off += (s % m->sizes[d]) * m->strides[d];
        s /= m->sizes[d];
    }
    return off;
}

static void sort_range(void *ctx, int64_t begin, int64_t end)
{
    struct sort_job *j = ctx;
    int64_t n = j->len, kk = j->k;
    enum td_dtype dt = (enum td_dtype)j->x->m.dtype;
    size_t es = td_dtype_size(dt);
    /* heap: key[i], perm[i] hold the i-th winner; sort: pairs in scratch */
    char *key = j->heap ? malloc(kk * es + 1) : NULL;
    int64_t *perm = j->heap ? malloc(sizeof(int64_t) * (kk + 1)) : NULL;
    void *scratch = j->heap ? NULL : malloc(sort_scratch(dt, n));
    if (j->heap ? !key || !perm : !scratch) {
        j->failed = true;
        goto out_free;
    }
    const struct td_meta *xm = &j->x->m, *vm = &j->vals->m, *im = &j->idx->m;
    int64_t xs = xm->ndim ? xm->strides[j->dim] : 0, vs = vm->ndim ? vm->strides[j->dim] : 0;
    int64_t is = im->ndim ? im->strides[j->dim] : 0;
    for (int64_t s = begin; s < end; s++) {
        const char *xb = j->x->data + (xm->offset + slice_base(xm, j->dim, s)) * (int64_t)es;
        char *vb = j->vals->data + (vm->offset + slice_base(vm, j->dim, s)) * (int64_t)es;
        int64_t *ib = (int64_t *)j->idx->data + im->offset + slice_base(im, j->dim, s);
        if (!j->heap) {
            sort_keys(dt, xb, xs, n, kk, j->desc, j->stable, vb, vs, ib, is, scratch);
            continue;
        }
        topk_keys(dt, xb, xs, n, kk, j->desc, key, perm);
        for (int64_t i = 0; i < kk; i++) {
            memcpy(vb + i * vs * (int64_t)es, key + i * es, es);
            ib[i * is] = perm[i];
        }
    }
out_free:
    free(key);
    free(perm);
    free(scratch);
}

enum td_code td_cpu_sort(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 2 || k->n_attr < TD_A_SORT_K) /* k may be left out */
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *x = k->in[0];
    int nd = x->m.ndim;
    int64_t dim = k->attrs[TD_A_SORT_DIM], want = k->n_attr >= TD_N_SORT ? k->attrs[TD_A_SORT_K] : -1;
    if (dim < 0)
        dim += nd ? nd : 1;
    if (dim < 0 || dim >= (nd ? nd : 1) || k->out[0]->m.dtype != x->m.dtype ||
        k->out[1]->m.dtype != TD_DTYPE_INT64 || k->out[0]->m.ndim != nd || k->out[1]->m.ndim != nd)
        return TD_CODE_INVALID_ARGUMENT;
    int64_t total = td_meta_numel(&x->m), len = nd ? x->m.sizes[dim] : 1;
    int64_t kk = nd ? k->out[0]->m.sizes[dim] : 1;
    if (kk > len || (nd && k->out[1]->m.sizes[dim] != kk) ||
        (want >= 0 && nd && want != kk))
        return TD_CODE_INVALID_ARGUMENT;
    if (total == 0 || kk == 0)
        return TD_CODE_OK;
    /* the heap wins while k is a small part of the slice; beyond that sort it all */
    bool heap = kk < len && kk <= len / 8;
    bool stable = k->attrs[TD_A_SORT_STABLE] != 0 || want >= 0; /* topk keeps the stable order */
    struct sort_job j = {x, k->out[0], k->out[1], (int)dim, len, kk, k->attrs[TD_A_SORT_DESCENDING] != 0, heap,
                         stable, false};
    int64_t grain = len >= 4096 ? 1 : 4096 / len;
    td_parallel_for(total / len, grain, sort_range, &j);
    return j.failed ? TD_CODE_RESOURCE_EXHAUSTED : TD_CODE_OK;
}

/* ---- SEARCHSORTED ---- */

/* First position in row[0..n) (stride st) whose value is > v (right) or >= v (left). */
#define GEN_BOUND(sfx, T, LESS, DT)                                                                \
    static int64_t bound_##sfx(const char *row_, int64_t n, int64_t st, const char *vp, bool right) \
    {                                                                                          \
        const T *row = (const T *)row_;                                                        \
        T v;                                                                                   \
        memcpy(&v, vp, sizeof v);                                                              \
        int64_t lo = 0, hi = n;                                                                \
        while (lo < hi) {                                                                      \
            int64_t mid = lo + (hi - lo) / 2;                                                  \
            T r = row[mid * st];                                                               \
            bool go_right = right ? !LESS(v, r) : LESS(r, v);                                  \
            if (go_right)                                                                      \
                lo = mid + 1;                                                                  \
            else                                                                               \
                hi = mid;                                                                      \
        }                                                                                      \
        return lo;                                                                             \
    }
NUM_KEY_TYPES(GEN_BOUND)

typedef int64_t (*bound_fn)(const char *row, int64_t n, int64_t st, const char *vp, bool right);

static bound_fn bound_for(enum td_dtype dt)
{
    switch (dt) {
#define BOUND_CASE(sfx, T, LESS, DT) \
    case TD_DTYPE_##DT: return bound_##sfx;
        NUM_KEY_TYPES(BOUND_CASE)
#undef BOUND_CASE
    default: return NULL;
    }
}

enum td_code td_cpu_searchsorted(struct td_kctx *k)
{
    if (k->n_in != 2 || k->n_out < 1 || k->n_attr < TD_N_SEARCHSORTED)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *s = k->in[0], *v = k->in[1], *o = k->out[0];
    const struct td_meta *sm = &s->m, *vm = &v->m;
    bound_fn bound = bound_for((enum td_dtype)sm->dtype);
    if (!bound || sm->dtype != vm->dtype || sm->ndim < 1 || o->m.ndim != vm->ndim ||
        (sm->ndim > 1 && sm->ndim != vm->ndim))
        return TD_CODE_INVALID_ARGUMENT;
    int64_t n = td_meta_numel(vm), len = sm->sizes[sm->ndim - 1], sst = sm->strides[sm->ndim - 1];
    size_t es = td_dtype_size(sm->dtype);
    bool right = k->attrs[TD_A_SEARCHSORTED_RIGHT] != 0, i32 = o->m.dtype == TD_DTYPE_INT32;
    for (int64_t p = 0; p < n; p++) {
        /* p counts values row-major; a batched sequence pairs its rows with the value rows */
        int64_t voff = 0, rem = p, soff = 0;
        for (int d = vm->ndim - 1; d >= 0; d--) {
            int64_t i = rem % vm->sizes[d];
            rem /= vm->sizes[d];
            voff += i * vm->strides[d];
            if (sm->ndim > 1 && d < vm->ndim - 1)
                soff += i * sm->strides[d];
        }
        const char *row = s->data + (sm->offset + soff) * (int64_t)es;
        int64_t r = bound(row, len, sst, v->data + (vm->offset + voff) * (int64_t)es, right);
        if (i32)
            ((int32_t *)o->data)[o->m.offset + p] = (int32_t)r;
        else
            ((int64_t *)o->data)[o->m.offset + p] = r;
    }
    return TD_CODE_OK;
}

/* ---- HISTC ---- */

enum td_code td_cpu_histc(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out < 1 || k->n_attr < TD_N_HISTC)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *x = k->in[0], *o = k->out[0];
    enum td_dtype dt = (enum td_dtype)x->m.dtype;
    int64_t bins = k->attrs[TD_A_HISTC_BINS];
    double lo, hi;
    memcpy(&lo, &k->attrs[TD_A_HISTC_MIN], sizeof lo);
    memcpy(&hi, &k->attrs[TD_A_HISTC_MAX], sizeof hi);
    if ((dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64) || o->m.dtype != dt || o->m.ndim != 1 ||
        o->m.sizes[0] != bins || bins <= 0 || !(lo <= hi) || !td_meta_is_contiguous(&o->m))
        return TD_CODE_INVALID_ARGUMENT;
    double *cnt = calloc((size_t)bins, sizeof *cnt);
    if (!cnt)
        return TD_CODE_RESOURCE_EXHAUSTED;
    struct td_meta m = x->m;
    int64_t n = td_meta_numel(&m), ix[TD_MAX_DIMS] = {0}, off[1] = {0}, st[1][TD_MAX_DIMS];
    memcpy(st[0], m.strides, sizeof st[0]);
    size_t es = td_dtype_size(dt);
    for (int64_t p = 0; p < n; p++) {
        const char *ep = x->data + (m.offset + off[0]) * (int64_t)es;
        double v = dt == TD_DTYPE_FLOAT32 ? (double)*(const float *)ep : *(const double *)ep;
        if (v >= lo && v <= hi) {
            int64_t b = hi > lo ? (int64_t)((v - lo) * (double)bins / (hi - lo)) : 0;
            if (b >= bins)
                b = bins - 1;
            cnt[b] += 1;
        }
        for (int d = m.ndim - 1; d >= 0; d--) {
            off[0] += st[0][d];
            if (++ix[d] < m.sizes[d])
                break;
            off[0] -= st[0][d] * m.sizes[d];
            ix[d] = 0;
        }
    }
    for (int64_t b = 0; b < bins; b++)
        td_store_f64(dt, o->data + (o->m.offset + b) * (int64_t)es, cnt[b]);
    free(cnt);
    return TD_CODE_OK;
}
