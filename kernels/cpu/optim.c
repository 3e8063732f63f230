/*
 * optim.c — the OPTIM family's kernels: one record steps a whole parameter group, each
 * parameter's (param, grad, state...) walked as flat contiguous arrays (shape_optim.c
 * checked that) and written in place.  The arithmetic follows torch 1.13's
 * single-tensor SGD and Adam/AdamW step for step, so trajectories match torch's.
 * Parameters are split across the intra-op pool by element ranges.
 */
#pragma GCC optimize("O3") /* the step loops vectorize */
#include <math.h>
#include <string.h>

#include "iter.h" /* TD_CLONES */

static double f64_attr(const struct td_kctx *k, int at)
{
    double v;
    memcpy(&v, &k->attrs[at], 8);
    return v;
}

static char *base(const struct td_kt *t) { return t->data + t->m.offset * (int64_t)td_dtype_size(t->m.dtype); }

/* ---- SGD ---- */

struct sgd {
    double lr, momentum, dampening, wd;
    bool nesterov, maximize, first;
    char *p, *g, *buf;
};

#define SGD_RANGE(T)                                                                    \
    static void sgd_##T(void *ctx, int64_t b, int64_t e)                                \
    {                                                                                   \
        const struct sgd *s = ctx;                                                      \
        T *p = (T *)s->p, *g = (T *)s->g, *buf = (T *)s->buf;                           \
        for (int64_t i = b; i < e; i++) {                                               \
            T d = s->maximize ? -g[i] : g[i];                                           \
            if (s->wd != 0)                                                             \
                d = d + (T)s->wd * p[i];                                                \
            if (buf) {                                                                  \
                buf[i] = s->first ? d : buf[i] * (T)s->momentum + d * (T)(1 - s->dampening); \
                d = s->nesterov ? d + (T)s->momentum * buf[i] : buf[i];                 \
            }                                                                           \
            p[i] = p[i] + d * (T)(-s->lr);                                              \
        }                                                                               \
    }
SGD_RANGE(float)
SGD_RANGE(double)

enum td_code td_cpu_sgd_step(struct td_kctx *k)
{
    struct sgd s = {
        .lr = f64_attr(k, TD_A_SGD_STEP_LR), .momentum = f64_attr(k, TD_A_SGD_STEP_MOMENTUM),
        .dampening = f64_attr(k, TD_A_SGD_STEP_DAMPENING), .wd = f64_attr(k, TD_A_SGD_STEP_WEIGHT_DECAY),
        .nesterov = k->attrs[TD_A_SGD_STEP_NESTEROV] != 0, .maximize = k->attrs[TD_A_SGD_STEP_MAXIMIZE] != 0,
        .first = k->attrs[TD_A_SGD_STEP_FIRST] != 0,
    };
    int per = s.momentum != 0 ? 3 : 2;
    for (int i = 0; i + per <= k->n_in; i += per) {
        const struct td_kt *p = k->in[i];
        s.p = base(p);
        s.g = base(k->in[i + 1]);
        s.buf = per == 3 ? base(k->in[i + 2]) : NULL;
        int64_t n = td_meta_numel(&p->m);
        td_parallel_for(n, 1 << 14, p->m.dtype == TD_DTYPE_FLOAT64 ? sgd_double : sgd_float, &s);
    }
    return TD_CODE_OK;
}

/* ---- Adam / AdamW ---- */

struct adam {
    double lr, beta1, beta2, eps, wd, step_size, bc2_sqrt;
    bool amsgrad, maximize, decoupled;
    char *p, *g, *m, *v, *vmax;
};

/* One element range.  `coupled` (weight decay added to the gradient) and `ams` are
 * constants at each call below, so each combination is its own loop without branches,
 * which vectorizes; maximize and decoupled decay are multiplications by constants (by
 * -1 or 1, and by 1 when off: exact).  sqrtf of a float equals the float rounding of
 * sqrt in double (no double-rounding error for sqrt). */
#define ADAM_RUN(T, SQRT)                                                                          \
    static inline __attribute__((always_inline)) void adam_run_##T(const struct adam *s, int64_t b, \
                                                                   int64_t e, bool coupled, bool ams) \
    {                                                                                              \
        T *p = (T *)s->p, *g = (T *)s->g, *m = (T *)s->m, *v = (T *)s->v, *vmax = (T *)s->vmax;    \
        const T sign = s->maximize ? (T)-1 : (T)1, wd = (T)s->wd, b1 = (T)s->beta1,                \
                nb1 = (T)(1 - s->beta1), b2 = (T)s->beta2, nb2 = (T)(1 - s->beta2),                \
                bc2 = (T)s->bc2_sqrt, eps = (T)s->eps, step = (T)(-s->step_size),                  \
                decay = s->decoupled && s->wd != 0 ? (T)(1 - s->lr * s->wd) : (T)1;                \
        for (int64_t i = b; i < e; i++) {                                                          \
            T grad = g[i] * sign, pi = p[i] * decay;                                               \
            if (coupled)                                                                           \
                grad = grad + wd * pi;                                                             \
            T mi = m[i] * b1 + grad * nb1, vi = v[i] * b2 + grad * grad * nb2, second = vi;        \
            m[i] = mi;                                                                             \
            v[i] = vi;                                                                             \
            if (ams) {                                                                             \
                second = vmax[i] > vi ? vmax[i] : vi;                                              \
                vmax[i] = second;                                                                  \
            }                                                                                      \
            T denom = SQRT(second) / bc2 + eps;                                                    \
            p[i] = pi + (mi / denom) * step;                                                       \
        }                                                                                          \
    }                                                                                              \
    TD_CLONES static void adam_##T(void *ctx, int64_t b, int64_t e)                                \
    {                                                                                              \
        const struct adam *s = ctx;                                                                \
        bool coupled = s->wd != 0 && !s->decoupled;                                                \
        if (coupled)                                                                               \
            s->amsgrad ? adam_run_##T(s, b, e, true, true) : adam_run_##T(s, b, e, true, false);   \
        else                                                                                       \
            s->amsgrad ? adam_run_##T(s, b, e, false, true) : adam_run_##T(s, b, e, false, false); \
    }
ADAM_RUN(float, sqrtf)
ADAM_RUN(double, sqrt)

enum td_code td_cpu_adam_step(struct td_kctx *k)
{
    struct adam s = {
        .lr = f64_attr(k, TD_A_ADAM_STEP_LR), .beta1 = f64_attr(k, TD_A_ADAM_STEP_BETA1),
        .beta2 = f64_attr(k, TD_A_ADAM_STEP_BETA2), .eps = f64_attr(k, TD_A_ADAM_STEP_EPS),
        .wd = f64_attr(k, TD_A_ADAM_STEP_WEIGHT_DECAY), .amsgrad = k->attrs[TD_A_ADAM_STEP_AMSGRAD] != 0,
        .maximize = k->attrs[TD_A_ADAM_STEP_MAXIMIZE] != 0, .decoupled = k->attrs[TD_A_ADAM_STEP_DECOUPLED] != 0,
    };
    double step = (double)k->attrs[TD_A_ADAM_STEP_STEP];
    s.step_size = s.lr / (1 - pow(s.beta1, step));
    s.bc2_sqrt = sqrt(1 - pow(s.beta2, step));
    int per = s.amsgrad ? 5 : 4;
    for (int i = 0; i + per <= k->n_in; i += per) {
        const struct td_kt *p = k->in[i];
        s.p = base(p);
        s.g = base(k->in[i + 1]);
        s.m = base(k->in[i + 2]);
        s.v = base(k->in[i + 3]);
        s.vmax = s.amsgrad ? base(k->in[i + 4]) : NULL;
        int64_t n = td_meta_numel(&p->m);
        td_parallel_for(n, 1 << 14, p->m.dtype == TD_DTYPE_FLOAT64 ? adam_double : adam_float, &s);
    }
    return TD_CODE_OK;
}
