/*
 * random.c — the random family: in-place distributions (uniform_, normal_,
 * exponential_, cauchy_, log_normal_, geometric_, random_, bernoulli_), bernoulli with
 * a probability tensor, multinomial, randperm, and the generator-state transfers.
 *
 * Every kernel draws from the session generator (k->rng) serially, in row-major order
 * of the output's logical elements, so the same seed gives the same values whatever
 * the output's strides, on every machine.  Parameters were validated by the meta rule
 * (kernels/shape_random.c); kernels re-check only what could crash.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rng.h"
#include "iter.h"

#define RNG_STATE_BYTES 32


#define NO_WORD UINT32_MAX /* a parameter the row does not have: f64_attr reads 0 */

static double f64_attr(const struct td_kctx *k, uint32_t i)
{
    double v = 0;
    if (i < k->n_attr)
        memcpy(&v, &k->attrs[i], sizeof v);
    return v;
}

/* Calls fn(ctx, elem) for every element of t in row-major logical order. */
typedef void (*elem_fn)(struct td_kctx *k, const void *ctx, char *p);

static void each_elem(struct td_kctx *k, struct td_kt *t, elem_fn fn, const void *ctx)
{
    const struct td_meta *m = &t->m;
    int64_t es = (int64_t)td_dtype_size((enum td_dtype)m->dtype), idx[TD_MAX_DIMS] = {0};
    int64_t n = td_meta_numel(m);
    char *p = t->data + m->offset * es;
    for (int64_t i = 0; i < n; i++) {
        fn(k, ctx, p);
        for (int d = m->ndim - 1; d >= 0; d--) { /* odometer step */
            p += m->strides[d] * es;
            if (++idx[d] < m->sizes[d])
                break;
            p -= idx[d] * m->strides[d] * es;
            idx[d] = 0;
        }
    }
}

struct dist {
    enum td_dtype dt;
    double a, b;
    int bits;           /* uniform_: random bits that fit the final dtype's mantissa */
    enum td_dtype final; /* uniform_: the tensor's own dtype (f16/bf16 arrive as float32) */
};

static void put(enum td_dtype dt, char *p, double v) { td_store_f64(dt, p, v); }

/* uniform in [0, 1) with `bits` random bits, so rounding to the dtype never gives 1 */
static double unit(struct td_rng *r, int bits) { return (double)(td_rng_next(r) >> (64 - bits)) / (double)(UINT64_C(1) << bits); }

/* v as it reads back after a round trip through dtype dt */
static double rounded(enum td_dtype dt, double v)
{
    char tmp[8];
    td_store_f64(dt, tmp, v);
    return td_load_f64(dt, tmp);
}

static void gen_uniform(struct td_kctx *k, const void *c_, char *p)
{
    const struct dist *c = c_;
    double v = c->a;
    /* from + (to - from) * u can round up to `to` in the final dtype: draw again
     * (deterministic; bounded for ranges too narrow for the dtype) */
    for (int tries = 0; tries < 64; tries++) {
        double x = c->a + (c->b - c->a) * unit(k->rng, c->bits);
        if (!(c->b > c->a) || rounded(c->final, x) < c->b) {
            v = x;
            break;
        }
    }
    put(c->dt, p, v);
}

static void gen_normal(struct td_kctx *k, const void *c_, char *p)
{
    const struct dist *c = c_;
    put(c->dt, p, c->a + c->b * td_rng_normal(k->rng));
}

static void gen_log_normal(struct td_kctx *k, const void *c_, char *p)
{
    const struct dist *c = c_;
    put(c->dt, p, exp(c->a + c->b * td_rng_normal(k->rng)));
}

static void gen_exponential(struct td_kctx *k, const void *c_, char *p)
{
    const struct dist *c = c_;
    double u = 1.0 - td_rng_uniform(k->rng); /* (0, 1] */
    put(c->dt, p, -log(u) / c->a);
}

static void gen_cauchy(struct td_kctx *k, const void *c_, char *p)
{
    const struct dist *c = c_;
    put(c->dt, p, c->a + c->b * tan(M_PI * (td_rng_uniform(k->rng) - 0.5)));
}

static void gen_geometric(struct td_kctx *k, const void *c_, char *p)
{
    const struct dist *c = c_;
    double u = 1.0 - td_rng_uniform(k->rng); /* (0, 1] */
    double v = ceil(log(u) / log1p(-c->a));
    put(c->dt, p, v > 0 ? v : 1);
}

static void gen_bernoulli(struct td_kctx *k, const void *c_, char *p)
{
    const struct dist *c = c_;
    td_store_i64(c->dt, p, td_rng_uniform(k->rng) < c->a);
}

struct irange {
    enum td_dtype dt;
    int64_t from;
    uint64_t span;
};

static void gen_random(struct td_kctx *k, const void *c_, char *p)
{
    const struct irange *c = c_;
    int64_t v = (int64_t)((uint64_t)c->from + td_rng_below(k->rng, c->span));
    if (td_dtype_is_float(c->dt))
        td_store_f64(c->dt, p, (double)v);
    else
        td_store_i64(c->dt, p, v);
}

static int mantissa_bits(int64_t dt)
{
    return dt == TD_DTYPE_FLOAT16 ? 11 : dt == TD_DTYPE_BFLOAT16 ? 8 : dt == TD_DTYPE_FLOAT32 ? 24 : 53;
}

/* fn draws with the row's parameters at words i0 and i1. */
static enum td_code run_dist(struct td_kctx *k, elem_fn fn, uint32_t i0, uint32_t i1)
{
    if (k->n_in != 1 || k->n_out != 1 || !k->rng || k->n_attr <= i0)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *o = k->out[0];
    struct dist c = {(enum td_dtype)o->m.dtype, f64_attr(k, i0), f64_attr(k, i1), 53, (enum td_dtype)o->m.dtype};
    if (fn == gen_uniform && k->n_attr > TD_A_UNIFORM__DTYPE && td_dtype_valid(k->attrs[TD_A_UNIFORM__DTYPE]))
        c.final = (enum td_dtype)k->attrs[TD_A_UNIFORM__DTYPE];
    c.bits = mantissa_bits(c.final);
    each_elem(k, o, fn, &c);
    return TD_CODE_OK;
}

enum td_code td_cpu_uniform_(struct td_kctx *k)
{
    return run_dist(k, gen_uniform, TD_A_UNIFORM__FROM, TD_A_UNIFORM__TO);
}

enum td_code td_cpu_normal_(struct td_kctx *k)
{
    return run_dist(k, gen_normal, TD_A_NORMAL__MEAN, TD_A_NORMAL__STD);
}

enum td_code td_cpu_log_normal_(struct td_kctx *k)
{
    return run_dist(k, gen_log_normal, TD_A_LOG_NORMAL__MEAN, TD_A_LOG_NORMAL__STD);
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

enum td_code td_cpu_bernoulli_(struct td_kctx *k)
{
    return run_dist(k, gen_bernoulli, TD_A_BERNOULLI__P, NO_WORD);
}

enum td_code td_cpu_random_(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out != 1 || !k->rng || k->n_attr < TD_N_RANDOM_)
        return TD_CODE_INVALID_ARGUMENT;
    int64_t from = k->attrs[TD_A_RANDOM__FROM], to = k->attrs[TD_A_RANDOM__TO];
    if (from >= to)
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "random_ expects 'from' to be less than 'to', but got from=%lld >= to=%lld",
                    (long long)from, (long long)to);
    struct td_kt *o = k->out[0];
    struct irange c = {(enum td_dtype)o->m.dtype, from, (uint64_t)to - (uint64_t)from};
    each_elem(k, o, gen_random, &c);
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
        td_store_f64(od, op + i * (int64_t)td_dtype_size(od), td_rng_uniform(k->rng) < pv ? 1.0 : 0.0);
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

/* One row: n draws from weights w[0..cats) (validated), into out (int64, stride os). */
static enum td_code multinomial_row(struct td_rng *r, const double *w, int64_t cats, int64_t n, bool repl,
                                    int64_t *out, int64_t os, double *cdf, struct key *keys)
{
    if (repl) {
        double total = 0;
        for (int64_t c = 0; c < cats; c++)
            cdf[c] = total += w[c];
        for (int64_t s = 0; s < n; s++) {
            double u = td_rng_uniform(r) * total;
            int64_t lo = 0, hi = cats - 1; /* first c with cdf[c] > u, skipping zero weights */
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (cdf[mid] > u)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            while (lo > 0 && w[lo] == 0)
                lo--;
            out[s * os] = lo;
        }
        return TD_CODE_OK;
    }
    /* without replacement: the n largest w / E, E ~ Exp(1) (what torch does too) */
    for (int64_t c = 0; c < cats; c++) {
        double e = -log(1.0 - td_rng_uniform(r));
        keys[c].k = w[c] / e;
        keys[c].i = c;
    }
    qsort(keys, (size_t)cats, sizeof *keys, key_desc);
    for (int64_t s = 0; s < n; s++)
        out[s * os] = keys[s].i;
    return TD_CODE_OK;
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
    bool repl = k->attrs[TD_A_MULTINOMIAL_REPLACEMENT] != 0;
    if (o->m.sizes[nd - 1] != n)
        return TD_CODE_INVALID_ARGUMENT;
    if (n <= 0)
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "cannot sample n_sample <= 0 samples");
    if (cats <= 0 || (!repl && n > cats))
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "cannot sample n_sample > prob_dist.size(-1) samples without replacement");
    /* torch checks every value first without replacement; with it, row by row (entry, then sum) */
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
        rc = multinomial_row(k->rng, w, cats, n, repl, orow, o->m.strides[nd - 1], w + cats, keys);
    }
out:
    free(w);
    free(keys);
    return rc;
}

enum td_code td_cpu_randperm(struct td_kctx *k)
{
    if (k->n_in != 0 || k->n_out != 1 || !k->rng)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *o = k->out[0];
    enum td_dtype dt = (enum td_dtype)o->m.dtype;
    int64_t n = td_meta_numel(&o->m), es = (int64_t)td_dtype_size(dt);
    if (o->m.ndim != 1 || !td_meta_is_contiguous(&o->m))
        return TD_CODE_INVALID_ARGUMENT;
    int64_t *perm = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!perm)
        return TD_CODE_RESOURCE_EXHAUSTED;
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int64_t j = (int64_t)td_rng_below(k->rng, (uint64_t)i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    char *base = o->data + o->m.offset * es;
    for (int64_t i = 0; i < n; i++) {
        if (td_dtype_is_float(dt))
            td_store_f64(dt, base + i * es, (double)perm[i]);
        else
            td_store_i64(dt, base + i * es, perm[i]);
    }
    free(perm);
    return TD_CODE_OK;
}

enum td_code td_cpu_get_rng_state(struct td_kctx *k)
{
    if (k->n_in != 1 || !k->rng || k->in[0]->m.dtype != TD_DTYPE_UINT8 || td_meta_numel(&k->in[0]->m) != RNG_STATE_BYTES)
        return TD_CODE_INVALID_ARGUMENT;
    _Static_assert(sizeof(struct td_rng) == RNG_STATE_BYTES, "generator state is 32 bytes");
    memcpy(k->in[0]->data + k->in[0]->m.offset, k->rng->s, RNG_STATE_BYTES);
    return TD_CODE_OK;
}

enum td_code td_cpu_set_rng_state(struct td_kctx *k)
{
    if (k->n_in != 1 || !k->rng || k->in[0]->m.dtype != TD_DTYPE_UINT8 || td_meta_numel(&k->in[0]->m) != RNG_STATE_BYTES)
        return TD_CODE_INVALID_ARGUMENT;
    uint64_t s[4];
    memcpy(s, k->in[0]->data + k->in[0]->m.offset, RNG_STATE_BYTES);
    if (!(s[0] | s[1] | s[2] | s[3])) /* xoshiro's one fixed point: it would emit zeros forever */
        return td__kernel_fail(k, TD_CODE_INVALID_ARGUMENT, "set_rng_state: the generator state must not be all zeros");
    memcpy(k->rng->s, s, RNG_STATE_BYTES);
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
            p *= td_rng_uniform(r);
            x++;
        } while (p > e);
        return (double)x;
    }
    double slam = sqrt(lam), loglam = log(lam), b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
    double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
        double u = td_rng_uniform(r) - 0.5, v = td_rng_uniform(r), us = 0.5 - fabs(u);
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
        double q = -log1p(-p), x = 0, sum = 0;
        for (;;) {
            sum += ceil(log(1.0 - td_rng_uniform(r)) / -q);
            if (sum > n)
                return x;
            x++;
        }
    }
    double spq = sqrt(n * p * (1 - p)), b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * p;
    double c = n * p + 0.5, vr = 0.92 - 4.2 / b, alpha = (2.83 + 5.1 / b) * spq, lpq = log(p / (1 - p));
    double m = floor((n + 1) * p), h = lgamma(m + 1) + lgamma(n - m + 1);
    for (;;) {
        double u = td_rng_uniform(r) - 0.5, v = td_rng_uniform(r), us = 0.5 - fabs(u);
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
