/*
 * pool.c — the pooling kernels of the CONV family for float32/float64 over 1-3 spatial
 * dims: MAX_POOL and ADAPTIVE_MAX_POOL (values and int64 indices), their shared backward
 * MAX_POOL_BACKWARD (grad_output added at the indices), AVG_POOL / AVG_POOL_BACKWARD and
 * ADAPTIVE_AVG_POOL / ADAPTIVE_AVG_POOL_BACKWARD.
 *
 * Every output position walks its window: the forward spreads all planes' outputs over
 * the intra-op pool (one big plane too), the backwards, which add into shared input
 * positions, spread whole (n, c) planes.  The windows are torch's: max pooling's dilated
 * window clipped to the input (a NaN wins, the last one; ties keep the first maximum),
 * average pooling's window clipped to the padded input for count_include_pad's divisor
 * and then to the input, adaptive windows [floor(o in / out), ceil((o + 1) in / out)).
 * An index is the element's offset in its plane, as torch's; indices given to the
 * backward are range-checked (they may come from anywhere).  Spatial dims are padded to 3
 * (leading size-1 dims).  Not here: argument checks (kernels/shape_conv.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"

enum pool_kind { P_MAX, P_AVG, P_ADAPTIVE_AVG, P_ADAPTIVE_MAX };

struct pplan {
    enum pool_kind kind;
    bool f64, cip;   /* cip: count_include_pad */
    int64_t divisor; /* 0: none */
    int64_t es, planes, X, P; /* X, P: input and output plane sizes */
    int64_t in[3], out[3], k[3], s[3], p[3], d[3];
    const char *x, *go;
    const int64_t *ix;
    char *y, *gx;
    int64_t *iy;
    int bad; /* backward: an index outside its plane */
};

/* Output o's window along dim i: [*a, *b) in steps of *st; *padded is its length clipped
 * to the padded input (average pooling's count_include_pad divisor). */
static inline void window(const struct pplan *q, int i, int64_t o, int64_t *a, int64_t *b, int64_t *st, double *padded)
{
    int64_t n = q->in[i];
    *st = 1;
    if (q->kind == P_ADAPTIVE_AVG || q->kind == P_ADAPTIVE_MAX) {
        int64_t m = q->out[i]; /* o < m, products up to 2^80: computed in 128 bits */
        *a = (int64_t)((__int128)o * n / m);
        *b = (int64_t)(((__int128)(o + 1) * n + m - 1) / m);
        *padded = (double)(*b - *a);
        return;
    }
    int64_t s = o * q->s[i] - q->p[i];
    if (q->kind == P_AVG) {
        int64_t e = s + q->k[i] < n + q->p[i] ? s + q->k[i] : n + q->p[i];
        *padded = (double)(e - s);
        *a = s < 0 ? 0 : s;
        *b = e < n ? e : n;
        return;
    }
    int64_t d = q->d[i], e = s + (q->k[i] - 1) * d + 1;
    if (s < 0)
        s += (-s + d - 1) / d * d;
    *a = s;
    *b = e < n ? e : n;
    *st = d;
    *padded = 0;
}

/* A position in the forward's flat output [0, planes * P): its plane, coordinates and
 * window.  The forward splits that range, not the planes, so one big plane is spread over
 * the pool and a cancelled session stops within a chunk of outputs.  A step along the last
 * dim works out that dim's window only (dims 0 and 1 change once a row). */
struct opos {
    int64_t pl, o[3];
    int64_t a[3], b[3], st[3]; /* the window: [a, b) in steps of st per dim */
    double len[3];             /* its length clipped to the padded input, per dim */
};

/* windows of dims [from, 3) */
static inline void opos_window(const struct pplan *q, struct opos *p, int from)
{
    for (int i = from; i < 3; i++)
        window(q, i, p->o[i], &p->a[i], &p->b[i], &p->st[i], &p->len[i]);
}

static void opos_at(const struct pplan *q, int64_t u, struct opos *p)
{
    int64_t op = u % q->P;
    p->pl = u / q->P;
    p->o[2] = op % q->out[2];
    p->o[1] = op / q->out[2] % q->out[1];
    p->o[0] = op / q->out[2] / q->out[1];
    opos_window(q, p, 0);
}

/* the next output along the last dim; past a row's end its window is never read */
static inline void opos_step(const struct pplan *q, struct opos *p)
{
    p->o[2]++;
    opos_window(q, p, 2);
}

/* the first output of the next row */
static void opos_next_row(const struct pplan *q, struct opos *p)
{
    p->o[2] = 0;
    for (int i = 1; i >= 0; i--) {
        if (++p->o[i] < q->out[i]) {
            opos_window(q, p, i);
            return;
        }
        p->o[i] = 0;
    }
    p->pl++;
    opos_window(q, p, 0);
}

/* true when the window holds an element */
static inline bool opos_any(const struct opos *p)
{
    return p->b[0] > p->a[0] && p->b[1] > p->a[1] && p->b[2] > p->a[2];
}

/* Loops BODY over the flat outputs [u0, u1) (u0 < planes * P), row by row (a row: one
 * plane's outputs along the last dim): u and its position p.  `continue` in BODY goes on
 * to the next output. */
#define FOR_OUTPUTS(q, u0, u1, u, p)                                                                 \
    struct opos p;                                                                                   \
    opos_at(q, u0, &p);                                                                              \
    for (int64_t u = u0, row_end_; u < u1; opos_next_row(q, &p))                                     \
        for (row_end_ = u + ((q)->out[2] - p.o[2] < u1 - u ? (q)->out[2] - p.o[2] : u1 - u);         \
             u < row_end_; u++, opos_step(q, &p))

#define FOR_WINDOW(q, a, b, st, idx)                                                  \
    for (int64_t i0 = a[0]; i0 < b[0]; i0 += st[0])                                   \
        for (int64_t i1 = a[1]; i1 < b[1]; i1 += st[1])                               \
            for (int64_t i2 = a[2], idx = (i0 * (q)->in[1] + i1) * (q)->in[2] + i2; i2 < b[2]; \
                 i2 += st[2], idx += st[2])

/* average pooling's divisor for a window (the padded window's size may pass 2^63: a double) */
static double divide_by(const struct pplan *q, const int64_t *a, const int64_t *b, double padded)
{
    if (q->divisor)
        return (double)q->divisor;
    if (q->kind == P_AVG && q->cip)
        return padded;
    return (double)((b[0] - a[0]) * (b[1] - a[1]) * (b[2] - a[2]));
}

#define GEN_POOL(sfx, T)                                                                           \
    static void max_range_##sfx(const struct pplan *q, int64_t u0, int64_t u1)                     \
    {                                                                                                \
        T *y = (T *)q->y;                                                                            \
        FOR_OUTPUTS(q, u0, u1, u, p) {                                                               \
            const T *x = (const T *)q->x + p.pl * q->X;                                              \
            const int64_t *a = p.a, *b = p.b, *st = p.st;                                            \
            int64_t best = (a[0] * q->in[1] + a[1]) * q->in[2] + a[2];                               \
            T m = -INFINITY;                                                                         \
            bool nan = false;                                                                        \
            /* m's chain is a max instruction and best's a mask, no branch on the data */           \
            FOR_WINDOW(q, a, b, st, idx)                                                             \
            {                                                                                        \
                T v = x[idx];                                                                        \
                uint64_t take = (uint64_t)0 - (uint64_t)(v > m);                                     \
                best = (int64_t)(((uint64_t)idx & take) | ((uint64_t)best & ~take));                 \
                m = v > m ? v : m;                                                                   \
                nan |= v != v;                                                                       \
            }                                                                                        \
            if (nan) /* a NaN wins, the last one */                                                  \
                FOR_WINDOW(q, a, b, st, idx)                                                         \
                if (x[idx] != x[idx]) {                                                              \
                    best = idx;                                                                      \
                    m = x[idx];                                                                      \
                }                                                                                    \
            y[u] = m;                                                                                \
            if (q->iy)                                                                               \
                q->iy[u] = best;                                                                     \
        }                                                                                            \
    }                                                                                                \
    static void avg_range_##sfx(const struct pplan *q, int64_t u0, int64_t u1)                     \
    {                                                                                                \
        T *y = (T *)q->y;                                                                            \
        FOR_OUTPUTS(q, u0, u1, u, p) {                                                               \
            const T *x = (const T *)q->x + p.pl * q->X;                                              \
            const int64_t *a = p.a, *b = p.b, *st = p.st;                                            \
            T sum = 0;                                                                               \
            if (!opos_any(&p)) {                                                                     \
                y[u] = 0;                                                                            \
                continue;                                                                            \
            }                                                                                        \
            FOR_WINDOW(q, a, b, st, idx)                                                             \
            sum += x[idx];                                                                           \
            y[u] = sum / (T)divide_by(q, a, b, p.len[0] * p.len[1] * p.len[2]);                      \
        }                                                                                            \
    }                                                                                                \
    static void avg_back_plane_##sfx(const struct pplan *q, const T *go, T *gx)                      \
    {                                                                                                \
        memset(gx, 0, sizeof(T) * (size_t)q->X);                                                     \
        if (!q->P) /* no output: no turn at all, even when an outer dim is huge */                   \
            return;                                                                                  \
        FOR_OUTPUTS(q, 0, q->P, op, p) {                                                             \
            const int64_t *a = p.a, *b = p.b, *st = p.st;                                            \
            if (!opos_any(&p))                                                                       \
                continue;                                                                            \
            T g = go[op] / (T)divide_by(q, a, b, p.len[0] * p.len[1] * p.len[2]);                    \
            FOR_WINDOW(q, a, b, st, idx)                                                             \
            gx[idx] += g;                                                                            \
        }                                                                                            \
    }                                                                                                \
    static bool max_back_plane_##sfx(const struct pplan *q, const T *go, const int64_t *ix, T *gx)   \
    {                                                                                                \
        memset(gx, 0, sizeof(T) * (size_t)q->X);                                                     \
        for (int64_t op = 0; op < q->P; op++) {                                                      \
            if (ix[op] < 0 || ix[op] >= q->X)                                                        \
                return false;                                                                        \
            gx[ix[op]] += go[op];                                                                    \
        }                                                                                            \
        return true;                                                                                 \
    }
GEN_POOL(f32, float)
GEN_POOL(f64, double)

/* flat outputs [u0, u1) of the op (all planes) */
static void forward_range(void *ctx, int64_t u0, int64_t u1)
{
    const struct pplan *q = ctx;
    if (q->kind == P_MAX || q->kind == P_ADAPTIVE_MAX)
        q->f64 ? max_range_f64(q, u0, u1) : max_range_f32(q, u0, u1);
    else
        q->f64 ? avg_range_f64(q, u0, u1) : avg_range_f32(q, u0, u1);
}

static void backward_planes(void *ctx, int64_t p0, int64_t p1)
{
    struct pplan *q = ctx;
    for (int64_t pl = p0; pl < p1; pl++) {
        const char *go = q->go + pl * q->P * q->es;
        char *gx = q->gx + pl * q->X * q->es;
        if (!q->ix)
            q->f64 ? avg_back_plane_f64(q, (const double *)go, (double *)gx)
                   : avg_back_plane_f32(q, (const float *)go, (float *)gx);
        else if (!(q->f64 ? max_back_plane_f64(q, (const double *)go, q->ix + pl * q->P, (double *)gx)
                          : max_back_plane_f32(q, (const float *)go, q->ix + pl * q->P, (float *)gx)))
            __atomic_store_n(&q->bad, 1, __ATOMIC_RELAXED);
    }
}

static enum pool_kind kind_of(enum td_op op)
{
    switch (op) {
    case TD_OP_MAX_POOL: return P_MAX;
    case TD_OP_ADAPTIVE_MAX_POOL: return P_ADAPTIVE_MAX;
    case TD_OP_ADAPTIVE_AVG_POOL:
    case TD_OP_ADAPTIVE_AVG_POOL_BACKWARD: return P_ADAPTIVE_AVG;
    default: return P_AVG; /* MAX_POOL_BACKWARD reads indices only */
    }
}

static void plan_of(const struct td_conv_geom *g, enum td_op op, enum td_dtype dt, struct pplan *q)
{
    memset(q, 0, sizeof *q);
    q->kind = kind_of(op);
    q->f64 = dt == TD_DTYPE_FLOAT64;
    q->es = (int64_t)td_dtype_size(dt);
    q->cip = g->count_include_pad;
    q->divisor = g->divisor;
    q->planes = g->batch * g->c_in;
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - g->nsp);
        q->in[i] = j < 0 ? 1 : g->in[j];
        q->out[i] = j < 0 ? 1 : g->out[j];
        q->k[i] = j < 0 ? 1 : g->k[j];
        q->s[i] = j < 0 ? 1 : g->stride[j];
        q->p[i] = j < 0 ? 0 : g->pad[j];
        q->d[i] = j < 0 ? 1 : g->dil[j];
    }
    q->X = q->in[0] * q->in[1] * q->in[2];
    q->P = q->out[0] * q->out[1] * q->out[2];
}

static char *base(const struct td_kt *t) { return t->data + t->m.offset * (int64_t)td_dtype_size(t->m.dtype); }

/* backward: planes per chunk, about TD_GRAIN elements of work */
static int64_t grain_of(const struct pplan *q)
{
    int64_t work = q->X > q->P ? q->X : q->P;
    return work >= TD_GRAIN ? 1 : TD_GRAIN / (work ? work : 1);
}

/* forward: outputs per chunk, about TD_GRAIN window elements (a window clipped to the
 * input; adaptive windows are at most ceil(in / out) + 1 long) */
static int64_t output_grain_of(const struct pplan *q)
{
    int64_t w = 1;
    for (int i = 0; i < 3; i++) {
        int64_t n = q->kind == P_ADAPTIVE_AVG || q->kind == P_ADAPTIVE_MAX ? q->in[i] / (q->out[i] ? q->out[i] : 1) + 1
                                                                            : q->k[i];
        n = n < q->in[i] ? n : q->in[i];
        w = w < TD_GRAIN ? w * (n > 1 ? n : 1) : w;
    }
    return w >= TD_GRAIN ? 1 : TD_GRAIN / w;
}

static enum td_code run(struct td_kctx *k)
{
    struct td_conv_geom g;
    enum td_code rc = td__conv_setup(k, &g);
    if (rc)
        return rc;
    struct pplan q;
    plan_of(&g, (enum td_op)k->op, (enum td_dtype)k->compute_dtype, &q);
    bool backward = k->op == TD_OP_MAX_POOL_BACKWARD || k->op == TD_OP_AVG_POOL_BACKWARD ||
                    k->op == TD_OP_ADAPTIVE_AVG_POOL_BACKWARD;
    void *s[2] = {NULL, NULL};
    if (backward) {
        q.go = td__conv_dense(k->in[0], &s[0]);
        q.gx = base(k->out[0]);
        if (k->op == TD_OP_MAX_POOL_BACKWARD && !(q.ix = td__conv_dense(k->in[2], &s[1])))
            q.go = NULL;
        if (q.go)
            td_parallel_for(q.planes, grain_of(&q), backward_planes, &q);
    } else {
        q.x = td__conv_dense(k->in[0], &s[0]);
        q.y = base(k->out[0]);
        q.iy = k->n_out > 1 ? (int64_t *)base(k->out[1]) : NULL;
        if (q.x)
            td_parallel_for(q.planes * q.P, output_grain_of(&q), forward_range, &q);
    }
    rc = !(backward ? q.go : q.x) ? TD_CODE_RESOURCE_EXHAUSTED : TD_CODE_OK;
    if (!rc && q.bad)
        rc = td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "max_pool_backward: an index lies outside its input plane");
    free(s[0]);
    free(s[1]);
    return rc;
}

enum td_code td_cpu_max_pool(struct td_kctx *k) { return run(k); }
enum td_code td_cpu_max_pool_backward(struct td_kctx *k) { return run(k); }
enum td_code td_cpu_avg_pool(struct td_kctx *k) { return run(k); }
enum td_code td_cpu_avg_pool_backward(struct td_kctx *k) { return run(k); }
enum td_code td_cpu_adaptive_avg_pool(struct td_kctx *k) { return run(k); }
enum td_code td_cpu_adaptive_avg_pool_backward(struct td_kctx *k) { return run(k); }
enum td_code td_cpu_adaptive_max_pool(struct td_kctx *k) { return run(k); }
