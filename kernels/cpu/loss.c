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
 * The sequences of a batch run in parallel on the intra-op pool; backward keeps one
 * T x L beta table per sequence in scratch memory.  Arithmetic is in the tensors' dtype,
 * as torch's.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernel.h"

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

#define CTC_KERNELS(FT, EXP, LOG, LOG1P)                                                                        \
    static FT lp_##FT(const struct ctc *c, int64_t t, int64_t b, int64_t k)                                     \
    {                                                                                                           \
        return *(const FT *)(c->lp0 + t * c->ls[0] + b * c->ls[1] + k * c->ls[2]);                              \
    }                                                                                                           \
    static FT vec_##FT(const struct td_kt *v, int64_t i)                                                        \
    {                                                                                                           \
        return *(FT *)at(v, v->m.offset + i * v->m.strides[0]);                                                 \
    }                                                                                                           \
    /* log(exp(a) + exp(b) + exp(c)), -inf when all are */                                                      \
    static FT lse3_##FT(FT a, FT b, FT c)                                                                       \
    {                                                                                                           \
        FT m = a > b ? a : b;                                                                                   \
        m = m > c ? m : c;                                                                                      \
        if (m == -INFINITY)                                                                                     \
            m = 0;                                                                                              \
        return LOG(EXP(a - m) + EXP(b - m) + EXP(c - m)) + m;                                                   \
    }                                                                                                           \
    static FT logadd_##FT(FT a, FT b)                                                                           \
    {                                                                                                           \
        if (a == -INFINITY)                                                                                     \
            return b;                                                                                           \
        if (b == -INFINITY)                                                                                     \
            return a;                                                                                           \
        FT m = a > b ? a : b;                                                                                   \
        return m + LOG1P(EXP(-(a > b ? a - b : b - a)));                                                        \
    }                                                                                                           \
    static void fwd_##FT(void *ctx, int64_t b0, int64_t b1)                                                     \
    {                                                                                                           \
        struct ctc *c = ctx;                                                                                    \
        int64_t *pr = malloc(sizeof(int64_t) * (size_t)c->L); /* l' of one sequence */                          \
        if (!pr) {                                                                                              \
            atomic_store(&c->failed, 2);                                                                        \
            return;                                                                                             \
        }                                                                                                       \
        for (int64_t b = b0; b < b1; b++) {                                                                     \
            FT *la = (FT *)c->alpha_out + b * c->T * c->L; /* (T, L) of sequence b */                          \
            int64_t il = c->il[b], tl = c->tl[b], S = 2 * tl + 1;                                               \
            for (int64_t i = 0; i < c->T * c->L; i++)                                                           \
                la[i] = -INFINITY;                                                                              \
            if (!primes(c, b, pr))                                                                              \
                continue;                                                                                       \
            if (il > 0) {                                                                                       \
                la[0] = lp_##FT(c, 0, b, c->blank);                                                             \
                if (tl > 0)                                                                                     \
                    la[1] = lp_##FT(c, 0, b, pr[1]);                                                   \
            }                                                                                                   \
            for (int64_t t = 1; t < il; t++)                                                                    \
                for (int64_t s = 0; s < S; s++) {                                                               \
                    int64_t l = pr[s];                                                                          \
                    const FT *prev = la + (t - 1) * c->L;                                                       \
                    FT a2 = s > 0 ? prev[s - 1] : -INFINITY;                                                    \
                    FT a3 = s > 1 && pr[s - 2] != l ? prev[s - 2] : -INFINITY;                         \
                    la[t * c->L + s] = lse3_##FT(prev[s], a2, a3) + lp_##FT(c, t, b, l);                        \
                }                                                                                               \
            FT *nll = (FT *)c->nll_out + b;                                                                     \
            if (il == 0) {                                                                                      \
                *nll = tl == 0 ? 0 : INFINITY;                                                                  \
                continue;                                                                                       \
            }                                                                                                   \
            const FT *last = la + (il - 1) * c->L;                                                              \
            *nll = -(tl == 0 ? last[0] : lse3_##FT(last[2 * tl], last[2 * tl - 1], -INFINITY));                 \
        }                                                                                                       \
        free(pr);                                                                                               \
    }                                                                                                           \
    static void bwd_##FT(void *ctx, int64_t b0, int64_t b1)                                                     \
    {                                                                                                           \
        struct ctc *c = ctx;                                                                                    \
        int64_t TT = c->T, L = c->L, C = c->C, NC = c->N * C;                                                   \
        FT *lb = malloc(sizeof(FT) * (size_t)(TT * L > 0 ? TT * L : 1)); /* beta of one sequence */             \
        int64_t *pr = malloc(sizeof(int64_t) * (size_t)L);                                                      \
        if (!lb || !pr) {                                                                                       \
            free(lb);                                                                                           \
            free(pr);                                                                                           \
            atomic_store(&c->failed, 2);                                                                        \
            return;                                                                                             \
        }                                                                                                       \
        for (int64_t b = b0; b < b1; b++) {                                                                     \
            FT *g = (FT *)c->grad_out + b * C; /* g[t * NC + k]: first log sums, then the gradient */           \
            int64_t il = c->il[b], tl = c->tl[b], S = 2 * tl + 1;                                               \
            FT nll = vec_##FT(c->nll, b), gr = vec_##FT(c->grad, b);                                            \
            for (int64_t t = 0; t < TT; t++)                                                                    \
                for (int64_t k = 0; k < C; k++)                                                                 \
                    g[t * NC + k] = t < il && !(c->zero_infinity && nll == INFINITY) ? -INFINITY : 0;           \
            if (il == 0 || (c->zero_infinity && nll == INFINITY) || !primes(c, b, pr))                           \
                continue;                                                                                       \
            const struct td_meta *am = &c->alpha_in->m;                                                         \
            const char *abase = at(c->alpha_in, am->offset + b * am->strides[0]);                               \
            for (int64_t i = 0; i < TT * L; i++)                                                                \
                lb[i] = -INFINITY;                                                                              \
            for (int64_t t = il - 1; t >= 0; t--)                                                               \
                for (int64_t s = S - 1; s >= 0; s--) {                                                          \
                    int64_t l = pr[s];                                                                          \
                    FT beta;                                                                                    \
                    if (t == il - 1) {                                                                          \
                        if (s < S - 2)                                                                          \
                            continue; /* only the two final states start */                                     \
                        beta = lp_##FT(c, t, b, l);                                                             \
                    } else {                                                                                    \
                        const FT *next = lb + (t + 1) * L;                                                      \
                        FT b2 = s < S - 1 ? next[s + 1] : -INFINITY;                                            \
                        FT b3 = s < S - 2 && pr[s + 2] != l ? next[s + 2] : -INFINITY;                 \
                        beta = lse3_##FT(next[s], b2, b3) + lp_##FT(c, t, b, l);                                \
                    }                                                                                           \
                    lb[t * L + s] = beta;                                                                       \
                    FT alpha = *(const FT *)(abase + (t * am->strides[1] + s * am->strides[2]) *                \
                                                       (int64_t)sizeof(FT));                                    \
                    g[t * NC + l] = logadd_##FT(g[t * NC + l], alpha + beta);                                   \
                }                                                                                               \
            for (int64_t t = 0; t < il; t++)                                                                    \
                for (int64_t k = 0; k < C; k++) {                                                               \
                    FT lp = lp_##FT(c, t, b, k);                                                                \
                    g[t * NC + k] = (EXP(lp) - EXP(g[t * NC + k] + nll - lp)) * gr;                             \
                }                                                                                               \
        }                                                                                                       \
        free(lb);                                                                                               \
        free(pr);                                                                                               \
    }
CTC_KERNELS(float, expf, logf, log1pf)
CTC_KERNELS(double, exp, log, log1p)

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
