/*
 * random.c — the random family: in-place distributions (uniform_, normal_,
 * exponential_, cauchy_, log_normal_, geometric_, random_, bernoulli_), bernoulli with
 * a probability tensor, multinomial, randperm, poisson, binomial, and the
 * generator-state transfers.
 *
 * Every kernel draws from the session generator (k->rng: torch's CPU generator, rng.h)
 * serially, with torch's CPU samplers, in the order torch draws (memory order of the
 * output), so `manual_seed(s)` gives torch's values: bit for bit for float32 and
 * float64 (tests/python/test_random_stream.py checks them against torch).  Parameters
 * were validated by the meta rule (kernels/shape_random.c); kernels re-check only what
 * could crash.
 */
/* torch's build fuses some multiply-adds; those are explicit fma calls here and nothing
 * else may be fused, or the roundings would differ from torch's. */
#pragma GCC optimize("fp-contract=off")
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rng.h"
#include "iter.h"
#include "random.h"

#define NO_WORD UINT32_MAX /* a parameter the row does not have: f64_attr reads 0 */

static double f64_attr(const struct td_kctx *k, uint32_t i)
{
    double v = 0;
    if (i < k->n_attr)
        memcpy(&v, &k->attrs[i], sizeof v);
    return v;
}

/* Calls fn(r, ctx, elem) for every element of t in memory order (dims by decreasing
 * stride: what torch's TensorIterator walks for one output), so a seed fills a
 * transposed tensor as torch fills it. */
typedef void (*elem_fn)(struct td_rng *r, const void *ctx, char *p);

static void each_elem(struct td_rng *r, struct td_kt *t, elem_fn fn, const void *ctx)
{
    const struct td_meta *m = &t->m;
    int nd = 0, dim[TD_MAX_DIMS];
    for (int d = 0; d < m->ndim; d++) {
        if (m->sizes[d] == 0)
            return;
        if (m->sizes[d] > 1)
            dim[nd++] = d;
    }
    for (int i = 1; i < nd; i++) { /* insertion sort, stable: outermost = largest stride */
        int v = dim[i], j = i;
        for (; j > 0 && llabs(m->strides[dim[j - 1]]) < llabs(m->strides[v]); j--)
            dim[j] = dim[j - 1];
        dim[j] = v;
    }
    int64_t es = (int64_t)td_dtype_size((enum td_dtype)m->dtype), idx[TD_MAX_DIMS] = {0};
    int64_t n = td_meta_numel(m);
    char *p = t->data + m->offset * es;
    for (int64_t i = 0; i < n; i++) {
        fn(r, ctx, p);
        for (int q = nd - 1; q >= 0; q--) { /* odometer step */
            int d = dim[q];
            p += m->strides[d] * es;
            if (++idx[q] < m->sizes[d])
                break;
            p -= idx[q] * m->strides[d] * es;
            idx[q] = 0;
        }
    }
}

/* v as it reads back after a round trip through dtype dt */
static double rounded(enum td_dtype dt, double v)
{
    char tmp[8];
    td_store_f64(dt, tmp, v);
    return td_load_f64(dt, tmp);
}

static int mantissa_bits(enum td_dtype dt)
{
    return dt == TD_DTYPE_FLOAT16 ? 11 : dt == TD_DTYPE_BFLOAT16 ? 8 : dt == TD_DTYPE_FLOAT32 ? 24 : 53;
}

/* ---- uniform: torch's uniform_real, x * (to - from) + from as one fused step (its
 * build fuses it), with from, to and their difference in the tensor's dtype */

struct unif {
    enum td_dtype dt;
    double from, diff;   /* float64 */
    float ffrom, fdiff;  /* narrower dtypes */
    uint32_t mask;
    float scale;
};

static void gen_uniform_f64(struct td_rng *r, const void *c_, char *p)
{
    const struct unif *c = c_;
    td_store_f64(c->dt, p, fma(td_rng_unit(r), c->diff, c->from));
}

static void gen_uniform_f(struct td_rng *r, const void *c_, char *p)
{
    const struct unif *c = c_;
    float x = (float)(td_rng_u32(r) & c->mask) * c->scale;
    td_store_f64(c->dt, p, fmaf(x, c->fdiff, c->ffrom));
}

/* Contiguous uniform fills, a block of generator words at a time (the same draws as
 * gen_uniform_f / gen_uniform_f64, which go one element at a time) */
enum { WORDS = 1024 };

TD_CLONES static void uniform_block_f(float *d, const uint32_t *w, int64_t b, const struct unif *c)
{
    for (int64_t j = 0; j < b; j++)
        d[j] = fmaf((float)(w[j] & c->mask) * c->scale, c->fdiff, c->ffrom);
}

TD_CLONES static void uniform_block_f64(double *d, const uint32_t *w, int64_t b, double from, double diff)
{
    for (int64_t j = 0; j < b; j++) {
        uint64_t u = ((uint64_t)w[2 * j] << 32 | w[2 * j + 1]) & ((UINT64_C(1) << 53) - 1);
        d[j] = fma((double)(int64_t)u * 0x1.0p-53, diff, from);
    }
}

void td__rand_uniform(struct td_rng *r, struct td_kt *o, double from, double to, enum td_dtype final)
{
    uint32_t w[WORDS];
    struct unif c = {.dt = (enum td_dtype)o->m.dtype};
    bool flat = td_meta_is_contiguous(&o->m); /* memory order is row-major: one loop */
    int64_t n = td_meta_numel(&o->m);
    if (final == TD_DTYPE_FLOAT64 || c.dt == TD_DTYPE_FLOAT64) {
        c.from = from, c.diff = to - from;
        if (flat && c.dt == TD_DTYPE_FLOAT64) {
            double *d = (double *)o->data + o->m.offset;
            for (int64_t i = 0; i < n; i += WORDS / 2) {
                int64_t b = n - i < WORDS / 2 ? n - i : WORDS / 2;
                td_rng_u32_n(r, w, 2 * b);
                uniform_block_f64(d + i, w, b, c.from, c.diff);
            }
            return;
        }
        each_elem(r, o, gen_uniform_f64, &c);
        return;
    }
    int bits = mantissa_bits(final);
    c.ffrom = (float)rounded(final, from);
    c.fdiff = (float)rounded(final, (double)((float)rounded(final, to) - c.ffrom));
    c.mask = (1u << bits) - 1, c.scale = 1.0f / (float)(1u << bits);
    if (flat && c.dt == TD_DTYPE_FLOAT32) {
        float *d = (float *)o->data + o->m.offset;
        for (int64_t i = 0; i < n; i += WORDS) {
            int64_t b = n - i < WORDS ? n - i : WORDS;
            td_rng_u32_n(r, w, b);
            uniform_block_f(d + i, w, b, &c);
        }
        return;
    }
    each_elem(r, o, gen_uniform_f, &c);
}

/* ---- normal: a contiguous float tensor of 16 or more elements is filled 16 at a time
 * (torch's normal_fill: all uniforms first, then Box-Muller on halves of each block of
 * 16, the last block redrawn and refilled when 16 does not divide n); anything else
 * draws one double normal at a time, through the generator's cached pair. */

struct normal {
    enum td_dtype dt;
    double mean, std;
    bool log;
};

static void gen_normal(struct td_rng *r, const void *c_, char *p)
{
    const struct normal *c = c_;
    double v = fma(td_rng_normal(r), c->std, c->mean);
    td_store_f64(c->dt, p, c->log ? exp(v) : v);
}

/* x rounded to float16 or bfloat16 (from float, to nearest even, as c10 converts) */
static float narrow(enum td_dtype dt, float x)
{
    return dt == TD_DTYPE_FLOAT16 ? td_half_to_float(td_float_to_half(x)) : td_bf16_to_float(td_float_to_bf16(x));
}

/* torch's normal_fill_16 in c10::Half / c10::BFloat16 arithmetic: every Half or
 * BFloat16 result rounds; bfloat16's log, sqrt, cos and sin round too (c10 overloads
 * them), half's are float's. */
static void normal16_narrow(float *d, float mean, float std, enum td_dtype dt)
{
    bool bf = dt == TD_DTYPE_BFLOAT16;
    float m = narrow(dt, mean), sd = narrow(dt, std);
    for (int j = 0; j < 8; j++) {
        float u1 = narrow(dt, 1.0f - d[j]), u2 = d[j + 8];
        float theta = narrow(dt, (float)(2.0 * M_PI * (double)u2)), radius;
        if (bf)
            radius = narrow(dt, sqrtf(narrow(dt, -2.0f * narrow(dt, logf(u1)))));
        else
            radius = narrow(dt, sqrtf(-2.0f * logf(u1)));
        if (bf) {
            d[j] = narrow(dt, narrow(dt, narrow(dt, radius * narrow(dt, cosf(theta))) * sd) + m);
            d[j + 8] = narrow(dt, narrow(dt, narrow(dt, radius * narrow(dt, sinf(theta))) * sd) + m);
        } else {
            d[j] = narrow(dt, fmaf(radius * cosf(theta), sd, m));
            d[j + 8] = narrow(dt, fmaf(radius * sinf(theta), sd, m));
        }
    }
}

/* td_rng_normal16_f in normal16_narrow's shape */
static void normal16_plain(float *d, float mean, float std, enum td_dtype dt)
{
    (void)dt;
    td_rng_normal16_f(d, mean, std);
}

/* torch's normal_fill over n >= 16 contiguous floats: every uniform first (`bits` random
 * bits each: float16/bfloat16 draw theirs as Half / BFloat16), then Box-Muller on each
 * block of 16, the last block redrawn and redone when 16 does not divide n. */
static void normal_fill_f(struct td_rng *r, float *d, int64_t n, float mean, float std, enum td_dtype final)
{
    bool narrowed = final == TD_DTYPE_FLOAT16 || final == TD_DTYPE_BFLOAT16;
    void (*block)(float *, float, float, enum td_dtype) = narrowed ? normal16_narrow : normal16_plain;
    int bits = mantissa_bits(narrowed ? final : TD_DTYPE_FLOAT32);
    uint32_t mask = (1u << bits) - 1;
    float scale = 1.0f / (float)(1u << bits);
    for (int64_t i = 0; i < n; i++)
        d[i] = (float)(td_rng_u32(r) & mask) * scale;
    for (int64_t i = 0; i + 16 <= n; i += 16)
        block(d + i, mean, std, final);
    if (n % 16) {
        d += n - 16;
        for (int i = 0; i < 16; i++)
            d[i] = (float)(td_rng_u32(r) & mask) * scale;
        block(d, mean, std, final);
    }
}

void td__rand_normal(struct td_rng *r, struct td_kt *o, double mean, double std, enum td_dtype final)
{
    enum td_dtype dt = (enum td_dtype)o->m.dtype;
    int64_t n = td_meta_numel(&o->m);
    bool fill = n >= 16 && td_meta_is_contiguous(&o->m);
    if (fill && dt == TD_DTYPE_FLOAT32) {
        normal_fill_f(r, (float *)o->data + o->m.offset, n, (float)mean, (float)std, final);
        return;
    }
    if (fill && dt == TD_DTYPE_FLOAT64) {
        double *d = (double *)o->data + o->m.offset;
        for (int64_t i = 0; i < n; i++)
            d[i] = td_rng_unit(r);
        for (int64_t i = 0; i + 16 <= n; i += 16)
            td_rng_normal16(d + i, mean, std);
        if (n % 16) {
            d += n - 16;
            for (int i = 0; i < 16; i++)
                d[i] = td_rng_unit(r);
            td_rng_normal16(d, mean, std);
        }
        return;
    }
    struct normal c = {dt, mean, std, false};
    each_elem(r, o, gen_normal, &c);
}

/* ---- the other one-parameter distributions: torch's double samplers, cast */

struct dist {
    enum td_dtype dt;
    double a, b;
};

static void gen_exponential(struct td_rng *r, const void *c_, char *p)
{
    const struct dist *c = c_;
    td_store_f64(c->dt, p, -1.0 / c->a * log(1.0 - td_rng_unit(r)));
}

static void gen_cauchy(struct td_rng *r, const void *c_, char *p)
{
    const struct dist *c = c_;
    td_store_f64(c->dt, p, c->a + c->b * tan(M_PI * (td_rng_unit(r) - 0.5)));
}

static void gen_geometric(struct td_rng *r, const void *c_, char *p)
{
    const struct dist *c = c_;
    double v = ceil(log(td_rng_unit(r)) / log(1.0 - c->a));
    td_store_f64(c->dt, p, isfinite(v) ? v : 1); /* a draw of exactly 0 (2^-53): torch's inf */
}

static void gen_bernoulli(struct td_rng *r, const void *c_, char *p)
{
    const struct dist *c = c_;
    td_store_i64(c->dt, p, td_rng_unit(r) < c->a);
}

/* ---- integers: (a draw mod span) + from, torch's uniform_int_from_to: a 64-bit draw
 * when the span needs one and the dtype is one of the four torch gives 64-bit draws */

struct irange {
    enum td_dtype dt;
    int64_t from;
    uint64_t span;
    bool wide;
};

static void gen_int(struct td_rng *r, const void *c_, char *p)
{
    const struct irange *c = c_;
    int64_t v;
    if (c->span == 0) /* the full int64 range: the draw itself */
        v = (int64_t)td_rng_u64(r);
    else
        v = (int64_t)((c->wide ? td_rng_u64(r) % c->span : td_rng_u32(r) % c->span) + (uint64_t)c->from);
    if (td_dtype_is_float(c->dt))
        td_store_f64(c->dt, p, (double)v);
    else
        td_store_i64(c->dt, p, v);
}

void td__rand_ints(struct td_rng *r, struct td_kt *o, int64_t from, uint64_t span)
{
    enum td_dtype dt = (enum td_dtype)o->m.dtype;
    bool wide64 = dt == TD_DTYPE_INT64 || dt == TD_DTYPE_FLOAT64 || dt == TD_DTYPE_FLOAT32;
    struct irange c = {dt, from, span, wide64 && span >= (UINT64_C(1) << 32)};
    each_elem(r, o, gen_int, &c);
}

/* fn draws with the row's parameters at words i0 and i1. */
static enum td_code run_dist(struct td_kctx *k, elem_fn fn, uint32_t i0, uint32_t i1)
{
    if (k->n_in != 1 || k->n_out != 1 || !k->rng || k->n_attr <= i0)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *o = k->out[0];
    struct dist c = {(enum td_dtype)o->m.dtype, f64_attr(k, i0), f64_attr(k, i1)};
    each_elem(k->rng, o, fn, &c);
    return TD_CODE_OK;
}

/* The tensor's own dtype (the attribute at word i; float16/bfloat16 arrive as float32). */
static enum td_dtype final_dtype(const struct td_kctx *k, uint32_t i)
{
    if (k->n_attr > i && td_dtype_valid(k->attrs[i]))
        return (enum td_dtype)k->attrs[i];
    return (enum td_dtype)k->out[0]->m.dtype;
}

enum td_code td_cpu_uniform_(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out != 1 || !k->rng || k->n_attr <= TD_A_UNIFORM__TO)
        return TD_CODE_INVALID_ARGUMENT;
    td__rand_uniform(k->rng, k->out[0], f64_attr(k, TD_A_UNIFORM__FROM), f64_attr(k, TD_A_UNIFORM__TO),
                     final_dtype(k, TD_A_UNIFORM__DTYPE));
    return TD_CODE_OK;
}

enum td_code td_cpu_normal_(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out != 1 || !k->rng || k->n_attr <= TD_A_NORMAL__STD)
        return TD_CODE_INVALID_ARGUMENT;
    td__rand_normal(k->rng, k->out[0], f64_attr(k, TD_A_NORMAL__MEAN), f64_attr(k, TD_A_NORMAL__STD),
                    final_dtype(k, TD_A_NORMAL__DTYPE));
    return TD_CODE_OK;
}

enum td_code td_cpu_log_normal_(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out != 1 || !k->rng || k->n_attr <= TD_A_LOG_NORMAL__STD)
        return TD_CODE_INVALID_ARGUMENT;
    struct normal c = {(enum td_dtype)k->out[0]->m.dtype, f64_attr(k, TD_A_LOG_NORMAL__MEAN),
                       f64_attr(k, TD_A_LOG_NORMAL__STD), true};
    each_elem(k->rng, k->out[0], gen_normal, &c);
    return TD_CODE_OK;
}

enum td_code td_cpu_exponential_(struct td_kctx *k)
{
    return run_dist(k, gen_exponential, TD_A_EXPONENTIAL__LAMBD, NO_WORD);
}

enum td_code td_cpu_cauchy_(struct td_kctx *k)
{
    return run_dist(k, gen_cauchy, TD_A_CAUCHY__MEDIAN, TD_A_CAUCHY__SIGMA);
}

enum td_code td_cpu_geometric_(struct td_kctx *k)
{
    return run_dist(k, gen_geometric, TD_A_GEOMETRIC__P, NO_WORD);
}

/* bernoulli_(p) of a contiguous float32/float64/bool/uint8 tensor (dropout's masks):
 * gen_bernoulli's draws, a block of words at a time.  u * 2^-53 < p is exact in double. */
static bool bernoulli_contiguous(struct td_rng *r, struct td_kt *o, double p)
{
    enum td_dtype dt = (enum td_dtype)o->m.dtype;
    if (!td_meta_is_contiguous(&o->m) ||
        !(dt == TD_DTYPE_FLOAT32 || dt == TD_DTYPE_FLOAT64 || dt == TD_DTYPE_BOOL || dt == TD_DTYPE_UINT8))
        return false;
    enum { BLOCK = 512 };
    uint32_t w[2 * BLOCK];
    uint8_t hit[BLOCK];
    int64_t n = td_meta_numel(&o->m);
    char *base = o->data + o->m.offset * (int64_t)td_dtype_size(dt);
    for (int64_t i = 0; i < n; i += BLOCK) {
        int64_t b = n - i < BLOCK ? n - i : BLOCK;
        td_rng_u32_n(r, w, 2 * b);
        for (int64_t j = 0; j < b; j++) {
            uint64_t u = ((uint64_t)w[2 * j] << 32 | w[2 * j + 1]) & ((UINT64_C(1) << 53) - 1);
            hit[j] = (double)(int64_t)u * 0x1.0p-53 < p;
        }
        if (dt == TD_DTYPE_FLOAT32)
            for (int64_t j = 0; j < b; j++)
                ((float *)base)[i + j] = hit[j];
        else if (dt == TD_DTYPE_FLOAT64)
            for (int64_t j = 0; j < b; j++)
                ((double *)base)[i + j] = hit[j];
        else
            memcpy(base + i, hit, (size_t)b);
    }
    return true;
}

enum td_code td_cpu_bernoulli_(struct td_kctx *k)
{
    if (k->n_in == 1 && k->n_out == 1 && k->rng && k->n_attr > TD_A_BERNOULLI__P &&
        bernoulli_contiguous(k->rng, k->out[0], f64_attr(k, TD_A_BERNOULLI__P)))
        return TD_CODE_OK;
    return run_dist(k, gen_bernoulli, TD_A_BERNOULLI__P, NO_WORD);
}

enum td_code td_cpu_random_(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out != 1 || !k->rng || k->n_attr < TD_N_RANDOM_)
        return TD_CODE_INVALID_ARGUMENT;
    int64_t from = k->attrs[TD_A_RANDOM__FROM], to = k->attrs[TD_A_RANDOM__TO];
    uint64_t span;
    if (!td_rng_span(from, to, &span))
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "random_ expects 'from' to be less than 'to', but got from=%lld >= to=%lld",
                    (long long)from, (long long)to);
    td__rand_ints(k->rng, k->out[0], from, span);
    return TD_CODE_OK;
}

/* bernoulli(p): out[i] = 1 with probability p[i]; p outside [0, 1] fails like torch */
enum td_code td_cpu_bernoulli_p(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out != 1 || !k->rng)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *p = k->in[0], *o = k->out[0];
    enum td_dtype pd = (enum td_dtype)p->m.dtype, od = (enum td_dtype)o->m.dtype;
    int64_t n = td_meta_numel(&o->m), pes = (int64_t)td_dtype_size(pd), idx[TD_MAX_DIMS] = {0};
    if (p->m.ndim != o->m.ndim || !td_dtype_is_float(pd) || !td_meta_is_contiguous(&o->m))
        return TD_CODE_INVALID_ARGUMENT;
    const char *pp = p->data + p->m.offset * pes;
    char *op = o->data + o->m.offset * (int64_t)td_dtype_size(od);
    for (int64_t i = 0; i < n; i++) {
        double pv = td_load_f64(pd, pp);
        if (!(pv >= 0 && pv <= 1))
            return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT,
                        "Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error message be "
                        "improved?  If so, please report an enhancement request to PyTorch.)");
        /* torch's bernoulli_distribution<float> for float p, <double> for double p */
        bool hit = pd == TD_DTYPE_FLOAT64 ? td_rng_unit(k->rng) < pv : td_rng_unit_f(k->rng) < (float)pv;
        td_store_f64(od, op + i * (int64_t)td_dtype_size(od), hit ? 1.0 : 0.0);
        for (int d = p->m.ndim - 1; d >= 0; d--) {
            pp += p->m.strides[d] * pes;
            if (++idx[d] < p->m.sizes[d])
                break;
            pp -= idx[d] * p->m.strides[d] * pes;
            idx[d] = 0;
        }
    }
    return TD_CODE_OK;
}

struct key {
    double k;
    int64_t i;
};

static int key_desc(const void *a_, const void *b_)
{
    const struct key *a = a_, *b = b_;
    if (a->k != b->k)
        return a->k > b->k ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* x rounded to the probabilities' precision (float for every dtype but float64) */
static double in_prec(bool f64, double x) { return f64 ? x : (double)(float)x; }

/* One row of n draws from weights w[0..cats) (validated), into out (int64, stride os),
 * torch 1.13's way.  Without replacement: the n largest w / E with E ~ Exp(1)
 * drawn for every category.  With: a binary search of one uniform per draw in the
 * normalised running sum. */
static void multinomial_row(struct td_rng *r, const double *w, int64_t cats, int64_t n, bool repl, bool f64,
                            int64_t *out, int64_t os, double *cdf, struct key *keys)
{
    if (repl) {
        double total = 0;
        for (int64_t c = 0; c < cats; c++)
            cdf[c] = total = in_prec(f64, total + w[c]);
        for (int64_t c = 0; c < cats; c++)
            cdf[c] = in_prec(f64, cdf[c] / total);
        cdf[cats - 1] = 1;
        for (int64_t s = 0; s < n; s++) {
            double u = td_rng_unit(r);
            int64_t lo = 0, hi = cats; /* the first c with cdf[c] >= u */
            while (hi > lo) {
                int64_t mid = lo + (hi - lo) / 2;
                if (cdf[mid] < u)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            out[s * os] = lo;
        }
        return;
    }
    for (int64_t c = 0; c < cats; c++) {
        double e = in_prec(f64, -1.0 * log(1.0 - td_rng_unit(r)));
        keys[c].k = in_prec(f64, w[c] / e);
        keys[c].i = c;
    }
    qsort(keys, (size_t)cats, sizeof *keys, key_desc);
    for (int64_t s = 0; s < n; s++)
        out[s * os] = keys[s].i;
}

enum td_code td_cpu_multinomial(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out != 1 || !k->rng || k->n_attr < TD_N_MULTINOMIAL)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *p = k->in[0], *o = k->out[0];
    enum td_dtype pd = (enum td_dtype)p->m.dtype;
    int nd = p->m.ndim;
    if ((nd != 1 && nd != 2) || o->m.dtype != TD_DTYPE_INT64 || o->m.ndim != nd || !td_dtype_is_float(pd))
        return TD_CODE_INVALID_ARGUMENT;
    int64_t rows = nd == 2 ? p->m.sizes[0] : 1, cats = p->m.sizes[nd - 1], n = k->attrs[TD_A_MULTINOMIAL_NUM_SAMPLES];
    int64_t rs = nd == 2 ? p->m.strides[0] : 0, cs = p->m.strides[nd - 1], es = (int64_t)td_dtype_size(pd);
    bool repl = k->attrs[TD_A_MULTINOMIAL_REPLACEMENT] != 0, f64 = pd == TD_DTYPE_FLOAT64;
    if (o->m.sizes[nd - 1] != n)
        return TD_CODE_INVALID_ARGUMENT;
    if (n <= 0)
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "cannot sample n_sample <= 0 samples");
    if (cats <= 0 || (!repl && n > cats))
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "cannot sample n_sample > prob_dist.size(-1) samples without replacement");
    /* torch checks every value first without replacement; with it, row by row (entry,
     * then sum) */
    if (!repl)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cats; c++) {
                double v = td_load_f64(pd, p->data + (p->m.offset + r * rs + c * cs) * es);
                if (!(v >= 0) || isinf(v))
                    return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT,
                                "probability tensor contains either `inf`, `nan` or element < 0");
            }
    double *w = malloc(sizeof(double) * (size_t)cats * 2);
    struct key *keys = malloc(sizeof(struct key) * (size_t)cats);
    enum td_code rc = TD_CODE_OK;
    if (!w || !keys) {
        rc = td__kernel_fail(k, TD_CODE_RESOURCE_EXHAUSTED, "multinomial: out of memory for %lld categories", (long long)cats);
        goto out;
    }
    int64_t *ob = (int64_t *)o->data + o->m.offset;
    for (int64_t r = 0; r < rows && !rc; r++) {
        const char *row = p->data + (p->m.offset + r * rs) * es;
        double total = 0;
        for (int64_t c = 0; c < cats; c++) {
            w[c] = td_load_f64(pd, row + c * cs * es);
            if (!(w[c] >= 0) || isinf(w[c])) {
                rc = td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "invalid multinomial distribution (encountering probability entry %s)",
                          w[c] >= 0 ? "= infinity or NaN" : "< 0");
                goto out;
            }
            total += w[c];
        }
        if (!(total > 0)) {
            rc = td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "invalid multinomial distribution (sum of probabilities <= 0)");
            goto out;
        }
        int64_t *orow = ob + (nd == 2 ? r * o->m.strides[0] : 0);
        multinomial_row(k->rng, w, cats, n, repl, f64, orow, o->m.strides[nd - 1], w + cats, keys);
    }
out:
    free(w);
    free(keys);
    return rc;
}

/* torch's shuffle: position i takes the element a draw mod (n - i) further on */
enum td_code td_cpu_randperm(struct td_kctx *k)
{
    if (k->n_in != 0 || k->n_out != 1 || !k->rng)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *o = k->out[0];
    enum td_dtype dt = (enum td_dtype)o->m.dtype;
    int64_t n = td_meta_numel(&o->m), es = (int64_t)td_dtype_size(dt);
    if (o->m.ndim != 1 || !td_meta_is_contiguous(&o->m))
        return TD_CODE_INVALID_ARGUMENT;
    char *base = o->data + o->m.offset * es;
    /* int64 (the default) in place; other dtypes through an int64 buffer */
    int64_t *perm = dt == TD_DTYPE_INT64 ? (int64_t *)base : malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!perm)
        return TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = 0; i < n - 1; i++) {
        uint32_t x = td_rng_u32(k->rng);
        uint64_t left = (uint64_t)(n - i); /* a 32-bit division when it fits: the same remainder */
        int64_t j = i + (int64_t)(left <= UINT32_MAX ? x % (uint32_t)left : x % left), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    if (dt == TD_DTYPE_INT64)
        return TD_CODE_OK;
    for (int64_t i = 0; i < n; i++) {
        if (td_dtype_is_float(dt))
            td_store_f64(dt, base + i * es, (double)perm[i]);
        else
            td_store_i64(dt, base + i * es, perm[i]);
    }
    free(perm);
    return TD_CODE_OK;
}

/* The state is torch's CPUGeneratorImplState byte for byte (rng.h). */
enum td_code td_cpu_get_rng_state(struct td_kctx *k)
{
    if (k->n_in != 1 || !k->rng || k->in[0]->m.dtype != TD_DTYPE_UINT8 || td_meta_numel(&k->in[0]->m) != TD_RNG_STATE_BYTES ||
        !td_meta_is_contiguous(&k->in[0]->m))
        return TD_CODE_INVALID_ARGUMENT;
    memcpy(k->in[0]->data + k->in[0]->m.offset, k->rng, TD_RNG_STATE_BYTES);
    return TD_CODE_OK;
}

enum td_code td_cpu_set_rng_state(struct td_kctx *k)
{
    if (k->n_in != 1 || !k->rng || k->in[0]->m.dtype != TD_DTYPE_UINT8 || td_meta_numel(&k->in[0]->m) != TD_RNG_STATE_BYTES ||
        !td_meta_is_contiguous(&k->in[0]->m))
        return TD_CODE_INVALID_ARGUMENT;
    struct td_rng s;
    memcpy(&s, k->in[0]->data + k->in[0]->m.offset, TD_RNG_STATE_BYTES);
    if (!td_rng_check(&s))
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "Invalid mt19937 state");
    *k->rng = s;
    return TD_CODE_OK;
}

/* ---- samplers with a parameter tensor: poisson(rate), binomial(count, prob) */

/* Poisson(lam): multiplication of uniforms below 10, Hormann's PTRS (transformed
 * rejection with squeeze) above, as torch does; inf gives INT64_MIN as a double
 * (what torch 1.13 returns), the meta rule's caller has refused negative and NaN rates. */
static double poisson_draw(struct td_rng *r, double lam)
{
    if (lam == 0)
        return 0;
    if (isinf(lam))
        return (double)INT64_MIN;
    if (lam < 10) {
        double e = exp(-lam), p = 1.0;
        int64_t x = -1;
        do {
            p *= td_rng_unit(r);
            x++;
        } while (p > e);
        return (double)x;
    }
    double slam = sqrt(lam), loglam = log(lam), b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
    double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
        double u = td_rng_unit(r) - 0.5, v = td_rng_unit(r), us = 0.5 - fabs(u);
        double k = floor((2 * a / us + b) * u + lam + 0.43);
        if (us >= 0.07 && v <= vr)
            return k;
        if (k < 0 || (us < 0.013 && v > us))
            continue;
        if (log(v) + log(inv_alpha) - log(a / (us * us) + b) <= -lam + k * loglam - lgamma(k + 1))
            return k;
    }
}

/* Binomial(n, p) for p <= 0.5: inversion (waiting times of a geometric) when n p < 10,
 * Hormann's BTRS above. */
static double binomial_small_p(struct td_rng *r, double n, double p)
{
    if (n * p < 10) {
        double logq = log1p(-p), x = 0, sum = 0;
        for (;;) {
            sum += ceil(log(td_rng_unit(r)) / logq);
            if (sum > n)
                return x;
            x++;
        }
    }
    double spq = sqrt(n * p * (1 - p)), b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * p;
    double c = n * p + 0.5, vr = 0.92 - 4.2 / b, alpha = (2.83 + 5.1 / b) * spq, lpq = log(p / (1 - p));
    double m = floor((n + 1) * p), h = lgamma(m + 1) + lgamma(n - m + 1);
    for (;;) {
        double u = td_rng_unit(r) - 0.5, v = td_rng_unit(r), us = 0.5 - fabs(u);
        double k = floor((2 * a / us + b) * u + c);
        if (k < 0 || k > n)
            continue;
        if (us >= 0.07 && v <= vr)
            return k;
        v = log(v * alpha / (a / (us * us) + b));
        if (v <= h - lgamma(k + 1) - lgamma(n - k + 1) + (k - m) * lpq)
            return k;
    }
}

static double binomial_draw(struct td_rng *r, double n, double p)
{
    if (isnan(n) || isnan(p))
        return NAN;
    n = floor(n);
    if (n <= 0 || p <= 0)
        return 0;
    if (p >= 1)
        return n;
    return p <= 0.5 ? binomial_small_p(r, n, p) : n - binomial_small_p(r, n, 1 - p);
}

/* Element i (row-major) of t as a double. */
static double elem_at(const struct td_kt *t, int64_t i)
{
    const struct td_meta *m = &t->m;
    int64_t off = m->offset;
    for (int d = m->ndim - 1; d >= 0; d--) {
        off += (i % m->sizes[d]) * m->strides[d];
        i /= m->sizes[d];
    }
    enum td_dtype dt = (enum td_dtype)m->dtype;
    return td_load_f64(dt, t->data + off * (int64_t)td_dtype_size(dt));
}

enum td_code td_cpu_poisson(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out != 1 || !k->rng || !td_meta_is_contiguous(&k->out[0]->m))
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *o = k->out[0];
    enum td_dtype od = (enum td_dtype)o->m.dtype;
    int64_t n = td_meta_numel(&o->m), es = (int64_t)td_dtype_size(od);
    if (td_meta_numel(&k->in[0]->m) != n)
        return TD_CODE_INVALID_ARGUMENT;
    for (int64_t i = 0; i < n; i++) {
        double lam = elem_at(k->in[0], i);
        if (!(lam >= 0))
            return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "invalid Poisson rate, expected rate to be non-negative");
        td_store_f64(od, o->data + (o->m.offset + i) * es, poisson_draw(k->rng, lam));
    }
    return TD_CODE_OK;
}

enum td_code td_cpu_binomial(struct td_kctx *k)
{
    if (k->n_in != 2 || k->n_out != 1 || !k->rng || !td_meta_is_contiguous(&k->out[0]->m))
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *o = k->out[0];
    enum td_dtype od = (enum td_dtype)o->m.dtype;
    int64_t n = td_meta_numel(&o->m), es = (int64_t)td_dtype_size(od);
    if (td_meta_numel(&k->in[0]->m) != n || td_meta_numel(&k->in[1]->m) != n)
        return TD_CODE_INVALID_ARGUMENT;
    for (int64_t i = 0; i < n; i++)
        td_store_f64(od, o->data + (o->m.offset + i) * es,
                     binomial_draw(k->rng, elem_at(k->in[0], i), elem_at(k->in[1], i)));
    return TD_CODE_OK;
}

/* SET_DEFAULT_DTYPE is a stream control the session executes; it never reaches a kernel. */
enum td_code td_cpu_set_default_dtype(struct td_kctx *k) { return TD_CODE_INTERNAL; }
