/*
 * loss.c — the LOSS family's kernels: connectionist temporal classification (CTC_LOSS,
 * CTC_LOSS_BACKWARD), torch 1.13's CPU algorithm (Graves et al. 2006, eqs. 6-16 in log
 * space): the forward variables alpha over the extended target l' (blanks around and
 * between the labels, s = 0 .. 2 * target length), the negative log likelihood from the
 * last step's two final states; backward runs beta from the end and gives torch's
 * gradient, exp(log_probs) - exp(log sum_{s: l'_s = c} alpha beta + nll - log_probs)
 * (the gradient through a log_softmax in front), zero past each input length, zero
 * for an infinite nll under zero_infinity.
 *
 * shape_loss.c checked sizes and lengths; target values are checked here (a label
 * outside [0, C) fails the record).  Inputs may be strided; outputs are contiguous.
 * The sequences of a batch run in parallel on the intra-op pool; backward keeps beta for
 * two steps.  float64 arithmetic is element by element through libm, as torch's; float32
 * runs each step's log-sum-exps as vector rows (vmath.h: exps of non-positive arguments in
 * float lanes, logs evaluated in double), as accurate as torch's float32 (tested against a
 * float64 reference).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iter.h"  /* TD_CLONES */
#include "vmath.h"

struct ctc {
    const struct td_kt *lp, *tg, *grad, *nll, *alpha_in; /* alpha_in: backward's log_alpha */
    char *nll_out, *alpha_out, *grad_out;
    const int64_t *il, *tl, *tg_off; /* per sequence: lengths, where its labels start in targets */
    const char *lp0;                  /* log_probs' first element; ls: its strides in bytes */
    int64_t ls[3];
    int64_t T, N, C, L, blank;
    bool zero_infinity;
    atomic_int failed; /* a label out of range, or no memory */
};

/* the address of element e (an element index, offset included) of t */
static char *at(const struct td_kt *t, int64_t e) { return t->data + e * (int64_t)td_dtype_size(t->m.dtype); }

static int64_t label_at(const struct ctc *c, int64_t b, int64_t i)
{
    const struct td_kt *tg = c->tg;
    int64_t e = tg->m.offset + (tg->m.ndim == 1 ? (c->tg_off[b] + i) * tg->m.strides[0]
                                                 : b * tg->m.strides[0] + i * tg->m.strides[1]);
    return tg->m.dtype == TD_DTYPE_INT32 ? *(int32_t *)at(tg, e) : *(int64_t *)at(tg, e);
}

/* l' of sequence b into pr[0 .. 2 * tl]: blank at even s, the target's labels at odd s;
 * false (and the record fails) when a label is outside [0, C) */
static bool primes(struct ctc *c, int64_t b, int64_t *pr)
{
    for (int64_t i = 0; i < c->tl[b]; i++) {
        int64_t l = label_at(c, b, i);
        if (l < 0 || l >= c->C) {
            atomic_store(&c->failed, 1);
            return false;
        }
        pr[2 * i] = c->blank;
        pr[2 * i + 1] = l;
    }
    pr[2 * c->tl[b]] = c->blank;
    return true;
}

/* ---- rows of log-space arithmetic: float32 through vmath's vector exp/log (evaluated
 * in double, rounded once), float64 element by element through libm */

/* out[s] = log(e^a[s] + e^b[s] + e^c[s]) + d[s], -inf where a, b and c all are */
#define LSE3_ONE(FT, EXP, LOG, a, b, c, d)                                                     \
    ({                                                                                        \
        FT m_ = (a) > (b) ? (a) : (b);                                                        \
        m_ = m_ > (c) ? m_ : (c);                                                             \
        m_ == -INFINITY ? (FT)-INFINITY : LOG(EXP((a) - m_) + EXP((b) - m_) + EXP((c) - m_)) + m_ + (d); \
    })

TD_CLONES static void lse3_row_float(const float *a, const float *b, const float *c, const float *d, float *out,
                                     int64_t n)
{
    int64_t s = 0;
    for (; s + 8 <= n; s += 8) {
        vm_f8 va, vb, vc, vd;
        memcpy(&va, a + s, sizeof va);
        memcpy(&vb, b + s, sizeof vb);
        memcpy(&vc, c + s, sizeof vc);
        memcpy(&vd, d + s, sizeof vd);
        vm_f8 m = VM_FSEL8(va > vb, va, vb);
        m = VM_FSEL8(m > vc, m, vc);
        vm_fi8 none = m == VM_FSPLAT8(-INFINITY);
        m = VM_FSEL8(none, VM_FSPLAT8(0.0f), m); /* no inf - inf */
        /* arguments <= 0: the float-lane exp; the sum is >= 1 unless none */
        vm_f8 sum = vm_expf_neg8(va - m) + vm_expf_neg8(vb - m) + vm_expf_neg8(vc - m);
        vm_f4 h[2];
        memcpy(&h[0], &sum, sizeof h[0]);
        memcpy(&h[1], (const float *)&sum + 4, sizeof h[1]);
        h[0] = __builtin_convertvector(vm4_logf(__builtin_convertvector(h[0], vm_d4)), vm_f4);
        h[1] = __builtin_convertvector(vm4_logf(__builtin_convertvector(h[1], vm_d4)), vm_f4);
        vm_f8 r;
        memcpy(&r, &h[0], sizeof h[0]);
        memcpy((float *)&r + 4, &h[1], sizeof h[1]);
        r = r + m + vd;
        r = VM_FSEL8(none, VM_FSPLAT8(-INFINITY), r);
        memcpy(out + s, &r, sizeof r);
    }
    for (; s < n; s++)
        out[s] = LSE3_ONE(float, expf, logf, a[s], b[s], c[s], d[s]);
}

static void lse3_row_double(const double *a, const double *b, const double *c, const double *d, double *out,
                            int64_t n)
{
    for (int64_t s = 0; s < n; s++)
        out[s] = LSE3_ONE(double, exp, log, a[s], b[s], c[s], d[s]);
}

/* y[i] = e^x[i] for x[i] <= 0 (or -inf): the float-lane exp */
TD_CLONES static void expneg_row_float(const float *x, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        vm_f8 f;
        memcpy(&f, x + i, sizeof f);
        f = vm_expf_neg8(f);
        memcpy(y + i, &f, sizeof f);
    }
    for (; i < n; i++)
        y[i] = expf(x[i]);
}

static void expneg_row_double(const double *x, double *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = exp(x[i]);
}

/* y[i] = e^x[i] */
TD_CLONES static void exp_row_float(const float *x, float *y, int64_t n)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        vm_f4 f;
        memcpy(&f, x + i, sizeof f);
        f = __builtin_convertvector(vm4_expf(__builtin_convertvector(f, vm_d4)), vm_f4);
        memcpy(y + i, &f, sizeof f);
    }
    for (; i < n; i++)
        y[i] = expf(x[i]);
}

static void exp_row_double(const double *x, double *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = exp(x[i]);
}

/* Per sequence: the recursions run a whole time step at a time over the extended
 * target (alpha[t][s] from alpha[t-1][s], [s-1] and [s-2] where l'_s differs from
 * l'_{s-2}; beta mirrored), as rows: the three shifted operands, the step's log_probs and
 * the result each one row of scratch, so the log-sum-exps of a step run as vectors.  The
 * log sums of alpha beta per class (the gradient's second term) are a maximum per class,
 * then one exp per s and one log per class touched. */
#define CTC_KERNELS(FT, EXP, LOG)                                                                               \
    static FT lp_##FT(const struct ctc *c, int64_t t, int64_t b, int64_t k)                                     \
    {                                                                                                           \
        return *(const FT *)(c->lp0 + t * c->ls[0] + b * c->ls[1] + k * c->ls[2]);                              \
    }                                                                                                           \
    static FT vec_##FT(const struct td_kt *v, int64_t i)                                                        \
    {                                                                                                           \
        return *(FT *)at(v, v->m.offset + i * v->m.strides[0]);                                                 \
    }                                                                                                           \
    /* scratch of one sequence: pr (l'), skip (l'_s may take s-2), rows x4 of L or C */                     \
    struct ctc_scratch_##FT {                                                                                   \
        int64_t *pr;                                                                                            \
        bool *skip;                                                                                             \
        FT *r1, *r2, *r3, *r4;                                                                                  \
    };                                                                                                          \
    static bool scratch_##FT(struct ctc *c, struct ctc_scratch_##FT *w)                                         \
    {                                                                                                           \
        int64_t n = (c->L > c->C ? c->L : c->C) + 4;                                                            \
        w->pr = malloc(sizeof(int64_t) * (size_t)c->L);                                                         \
        w->skip = malloc((size_t)c->L);                                                                         \
        w->r1 = malloc(sizeof(FT) * 4 * (size_t)n);                                                             \
        if (!w->pr || !w->skip || !w->r1) {                                                                     \
            free(w->pr), free(w->skip), free(w->r1);                                                            \
            atomic_store(&c->failed, 2);                                                                        \
            return false;                                                                                       \
        }                                                                                                       \
        w->r2 = w->r1 + n, w->r3 = w->r2 + n, w->r4 = w->r3 + n;                                                \
        return true;                                                                                            \
    }                                                                                                           \
    static void scratch_free_##FT(struct ctc_scratch_##FT *w)                                                   \
    {                                                                                                           \
        free(w->pr), free(w->skip), free(w->r1);                                                                \
    }                                                                                                           \
    /* l' and its skips for sequence b; false: a label out of range */                                         \
    static bool primes_##FT(struct ctc *c, int64_t b, struct ctc_scratch_##FT *w)                              \
    {                                                                                                           \
        if (!primes(c, b, w->pr))                                                                               \
            return false;                                                                                       \
        for (int64_t s = 0; s <= 2 * c->tl[b]; s++)                                                             \
            w->skip[s] = s > 1 && w->pr[s - 2] != w->pr[s];                                                     \
        return true;                                                                                            \
    }                                                                                                           \
    static void fwd_##FT(void *ctx, int64_t b0, int64_t b1)                                                     \
    {                                                                                                           \
        struct ctc *c = ctx;                                                                                    \
        struct ctc_scratch_##FT w;                                                                              \
        if (!scratch_##FT(c, &w))                                                                               \
            return;                                                                                             \
        for (int64_t b = b0; b < b1; b++) {                                                                     \
            FT *la = (FT *)c->alpha_out + b * c->T * c->L; /* (T, L) of sequence b */                          \
            int64_t il = c->il[b], tl = c->tl[b], S = 2 * tl + 1;                                               \
            for (int64_t i = 0; i < c->T * c->L; i++)                                                           \
                la[i] = -INFINITY;                                                                              \
            if (!primes_##FT(c, b, &w))                                                                         \
                continue;                                                                                       \
            if (il > 0) {                                                                                       \
                la[0] = lp_##FT(c, 0, b, c->blank);                                                             \
                if (tl > 0)                                                                                     \
                    la[1] = lp_##FT(c, 0, b, w.pr[1]);                                                          \
            }                                                                                                   \
            for (int64_t t = 1; t < il; t++) {                                                                  \
                const FT *prev = la + (t - 1) * c->L;                                                           \
                for (int64_t s = 0; s < S; s++) {                                                               \
                    w.r1[s] = s > 0 ? prev[s - 1] : -INFINITY;                                                  \
                    w.r2[s] = w.skip[s] ? prev[s - 2] : -INFINITY;                                              \
                    w.r3[s] = lp_##FT(c, t, b, w.pr[s]);                                                        \
                }                                                                                               \
                lse3_row_##FT(prev, w.r1, w.r2, w.r3, la + t * c->L, S);                                        \
            }                                                                                                   \
            FT *nll = (FT *)c->nll_out + b;                                                                     \
            if (il == 0) {                                                                                      \
                *nll = tl == 0 ? 0 : INFINITY;                                                                  \
                continue;                                                                                       \
            }                                                                                                   \
            const FT *last = la + (il - 1) * c->L;                                                              \
            FT ninf = -INFINITY;                                                                                \
            *nll = -(tl == 0 ? last[0] : LSE3_ONE(FT, EXP, LOG, last[2 * tl], last[2 * tl - 1], ninf, (FT)0)); \
        }                                                                                                       \
        scratch_free_##FT(&w);                                                                                  \
    }                                                                                                           \
    static void bwd_##FT(void *ctx, int64_t b0, int64_t b1)                                                     \
    {                                                                                                           \
        struct ctc *c = ctx;                                                                                    \
        int64_t TT = c->T, L = c->L, C = c->C, NC = c->N * C;                                                   \
        FT *lb = malloc(sizeof(FT) * (size_t)(2 * L + 1)); /* beta of steps t + 1 and t */                      \
        FT *sums = malloc(sizeof(FT) * (size_t)(C ? C : 1));                                                    \
        struct ctc_scratch_##FT w;                                                                              \
        if (!lb || !sums || !scratch_##FT(c, &w)) {                                                             \
            free(lb);                                                                                           \
            free(sums);                                                                                         \
            atomic_store(&c->failed, 2);                                                                        \
            return;                                                                                             \
        }                                                                                                       \
        for (int64_t b = b0; b < b1; b++) {                                                                     \
            FT *g = (FT *)c->grad_out + b * C; /* g[t * NC + k]: first log sums, then the gradient */           \
            int64_t il = c->il[b], tl = c->tl[b], S = 2 * tl + 1;                                               \
            FT nll = vec_##FT(c->nll, b), gr = vec_##FT(c->grad, b);                                            \
            bool dead = c->zero_infinity && nll == INFINITY;                                                    \
            for (int64_t t = 0; t < TT; t++)                                                                    \
                for (int64_t k = 0; k < C; k++)                                                                 \
                    g[t * NC + k] = t < il && !dead ? -INFINITY : 0;                                            \
            if (il == 0 || dead || !primes_##FT(c, b, &w))                                                      \
                continue;                                                                                       \
            const struct td_meta *am = &c->alpha_in->m;                                                         \
            const char *abase = at(c->alpha_in, am->offset + b * am->strides[0]);                               \
            FT *next = lb, *cur = lb + L; /* beta at t + 1 and t */                                             \
            for (int64_t s = 0; s < S; s++)                                                                     \
                cur[s] = s < S - 2 ? -INFINITY : lp_##FT(c, il - 1, b, w.pr[s]);                                \
            for (int64_t t = il - 1; t >= 0; t--) {                                                             \
                if (t < il - 1) {                                                                               \
                    FT *tmp = next;                                                                             \
                    next = cur, cur = tmp;                                                                      \
                    for (int64_t s = 0; s < S; s++) {                                                           \
                        w.r1[s] = s < S - 1 ? next[s + 1] : -INFINITY;                                          \
                        w.r2[s] = s < S - 2 && w.skip[s + 2] ? next[s + 2] : -INFINITY;                         \
                        w.r3[s] = lp_##FT(c, t, b, w.pr[s]);                                                    \
                    }                                                                                           \
                    lse3_row_##FT(next, w.r1, w.r2, w.r3, cur, S);                                              \
                }                                                                                               \
                /* log sum over s with l'_s = k of alpha beta: the maximum per class, then */                   \
                /* one exp per s (in a row) and one log per class */                                            \
                FT *gt = g + t * NC;                                                                            \
                for (int64_t s = 0; s < S; s++) {                                                               \
                    FT ab = *(const FT *)(abase + (t * am->strides[1] + s * am->strides[2]) * (int64_t)sizeof(FT)) + cur[s]; \
                    w.r4[s] = ab;                                                                               \
                    gt[w.pr[s]] = ab > gt[w.pr[s]] ? ab : gt[w.pr[s]];                                          \
                }                                                                                               \
                for (int64_t s = 0; s < S; s++) {                                                               \
                    FT mk = gt[w.pr[s]];                                                                        \
                    w.r1[s] = mk == -INFINITY ? (FT)-INFINITY : w.r4[s] - mk;                                   \
                    sums[w.pr[s]] = 0;                                                                          \
                }                                                                                               \
                expneg_row_##FT(w.r1, w.r2, S);                                                                 \
                for (int64_t s = 0; s < S; s++)                                                                 \
                    sums[w.pr[s]] += w.r2[s];                                                                   \
                for (int64_t s = 0; s < S; s++) {                                                               \
                    int64_t k = w.pr[s];                                                                        \
                    if (sums[k] > 0 && gt[k] != -INFINITY) {                                                    \
                        gt[k] += LOG(sums[k]);                                                                  \
                        sums[k] = 0; /* each class once */                                                      \
                    }                                                                                           \
                }                                                                                               \
            }                                                                                                   \
            for (int64_t t = 0; t < il; t++) { /* e^lp - e^(log sum + nll - lp), times the loss's gradient */   \
                FT *gt = g + t * NC;                                                                            \
                for (int64_t k = 0; k < C; k++) {                                                               \
                    FT lp = lp_##FT(c, t, b, k);                                                                \
                    w.r1[k] = lp;                                                                               \
                    w.r2[k] = gt[k] + nll - lp;                                                                 \
                }                                                                                               \
                exp_row_##FT(w.r1, w.r3, C);                                                                    \
                exp_row_##FT(w.r2, w.r4, C);                                                                    \
                for (int64_t k = 0; k < C; k++)                                                                 \
                    gt[k] = (w.r3[k] - w.r4[k]) * gr;                                                           \
            }                                                                                                   \
        }                                                                                                       \
        free(lb);                                                                                               \
        free(sums);                                                                                             \
        scratch_free_##FT(&w);                                                                                  \
    }
CTC_KERNELS(float, expf, logf)
CTC_KERNELS(double, exp, log)

/* lengths from the attribute words; tg_off (N) caller-freed: each sequence's first label */
static enum td_code ctc_setup(struct td_kctx *k, struct ctc *c, const struct td_kt *lp, const struct td_kt *tg)
{
    memset(c, 0, sizeof *c);
    c->lp = lp;
    c->tg = tg;
    c->lp0 = at(lp, lp->m.offset);
    for (int d = 0; d < 3; d++)
        c->ls[d] = lp->m.strides[d] * (int64_t)td_dtype_size(lp->m.dtype);
    c->T = lp->m.sizes[0];
    c->N = lp->m.sizes[1];
    c->C = lp->m.sizes[2];
    c->blank = k->attrs[TD_A_CTC_LOSS_BLANK];
    c->zero_infinity = k->attrs[TD_A_CTC_LOSS_ZERO_INFINITY] != 0;
    c->il = k->attrs + TD_A_CTC_LOSS_INPUT_LENGTHS;
    c->tl = c->il + c->N;
    int64_t *off = malloc(sizeof(int64_t) * (size_t)(c->N ? c->N : 1)), pos = 0, max_tl = 0;
    if (!off)
        return TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t b = 0; b < c->N; b++) {
        off[b] = pos;
        pos += c->tl[b];
        max_tl = c->tl[b] > max_tl ? c->tl[b] : max_tl;
    }
    c->tg_off = off;
    c->L = 2 * max_tl + 1;
    return TD_CODE_OK;
}

static enum td_code ctc_finish(struct td_kctx *k, struct ctc *c)
{
    free((void *)c->tg_off);
    int f = atomic_load(&c->failed);
    if (f == 2)
        return TD_CODE_RESOURCE_EXHAUSTED;
    if (f == 1) {
        if (k->msg)
            snprintf(k->msg, TD_KMSG_LEN, "ctc_loss: a target label is outside [0, %lld)", (long long)c->C);
        return TD_CODE_INVALID_ARGUMENT;
    }
    return TD_CODE_OK;
}

enum td_code td_cpu_ctc_loss(struct td_kctx *k)
{
    struct ctc c;
    if (ctc_setup(k, &c, k->in[0], k->in[1]))
        return TD_CODE_RESOURCE_EXHAUSTED;
    c.nll_out = at(k->out[0], k->out[0]->m.offset);
    c.alpha_out = at(k->out[1], k->out[1]->m.offset);
    td_parallel_for(c.N, 1, k->compute_dtype == TD_DTYPE_FLOAT32 ? fwd_float : fwd_double, &c);
    return ctc_finish(k, &c);
}

enum td_code td_cpu_ctc_loss_backward(struct td_kctx *k)
{
    struct ctc c;
    if (ctc_setup(k, &c, k->in[1], k->in[2]))
        return TD_CODE_RESOURCE_EXHAUSTED;
    c.grad = k->in[0];
    c.nll = k->in[3];
    c.alpha_in = k->in[4];
    c.grad_out = at(k->out[0], k->out[0]->m.offset);
    td_parallel_for(c.N, 1, k->compute_dtype == TD_DTYPE_FLOAT32 ? bwd_float : bwd_double, &c);
    return ctc_finish(k, &c);
}

/* ---- LOSS_INPUT_CHECK: every element in [0, 1] (NaN fails), torch's message */

struct unit_check {
    enum td_dtype dt;
    atomic_bool bad; /* the loop may run on several threads */
};

static void in_unit_range(void *ctx, char **ptr, const int64_t *stride, int64_t n)
{
    struct unit_check *c = ctx;
    for (int64_t i = 0; i < n; i++) {
        double v = td_load_f64(c->dt, ptr[0] + i * stride[0]);
        if (!(v >= 0 && v <= 1)) {
            atomic_store(&c->bad, true);
            return;
        }
    }
}

enum td_code td_cpu_loss_input_check(struct td_kctx *k)
{
    if (k->n_in != 1 || !td_dtype_is_float((enum td_dtype)k->in[0]->m.dtype))
        return TD_CODE_INVALID_ARGUMENT;
    struct unit_check c = {.dt = (enum td_dtype)k->in[0]->m.dtype};
    atomic_init(&c.bad, false);
    struct td_iter it;
    if (!td_iter_init_elementwise(&it, 1, k->in))
        return TD_CODE_INVALID_ARGUMENT;
    td_iter_run(&it, in_unit_range, &c);
    if (atomic_load(&c.bad))
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "all elements of input should be between 0 and 1");
    return TD_CODE_OK;
}
