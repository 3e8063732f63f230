/*
 * exec.c — glue between a validated record and a CPU kernel; see exec.h.
 *
 * Kernels see one dtype per op (kernels/kernel.h), so dtype plumbing happens here:
 * inputs of another dtype are copied into compute-dtype temporaries, float16/bfloat16
 * outputs are produced in float32 and converted (complex never takes that path: it is
 * computed as it is, by kernels/cpu/complex.c where that file has the op), and in-place results that cannot be
 * written directly (other dtype) go through a temporary and a copy_ into the view.
 *
 * Results with a destination (in-place: input 0; out=, TD_RF_OUT: the trailing inputs)
 * are computed straight into it when the kernel can write there: same dtype, and no
 * input shares memory with it in a way the kernel would trip over.  Element-wise ops
 * read element i before writing element i, so an input laid out exactly like the
 * destination (a.add_(b), add(a, b, out=a)) is fine; any other overlap goes through a
 * temporary, which gives the out-of-place result.  Element-wise kernels take strided
 * outputs; the others get their destination only when it is contiguous, presented at
 * offset 0 as the fresh outputs they were written for.
 * All temporaries are freed before returning, on every path.
 * UPLOAD's byte copy lives here too (td__exec_upload), because it is where the bool
 * rule is enforced on bytes that arrive from the network.
 */
#include <string.h>

#include "exec.h"

#define MAX_TEMPS (TD_MAX_INPUTS + 4)

struct temps {
    struct td_storage *s[MAX_TEMPS];
    int n;
};

static void temps_free(struct temps *t)
{
    for (int i = 0; i < t->n; i++)
        td_storage_unref(t->s[i]);
    t->n = 0;
}

static uint8_t kernel_dtype(uint8_t d)
{
    return (d == TD_DTYPE_FLOAT16 || d == TD_DTYPE_BFLOAT16) ? TD_DTYPE_FLOAT32 : d;
}

static void kt_of(struct td_kt *k, const struct td_meta *m, struct td_storage *s)
{
    k->m = *m;
    k->data = s->data;
}

/* dst[...] = src[...] with broadcasting and dtype conversion, via the copy_ kernel. */
static enum td_code run_copy(struct td_kt *dst, struct td_kt *src, struct td_status *st)
{
    struct td_kctx k = {.op = TD_OP_COPY_, .n_in = 2, .compute_dtype = dst->m.dtype};
    k.in[0] = dst;
    k.in[1] = src;
    enum td_code c = td_cpu_copy_(&k);
    return c ? td_status_set(st, c, "copy_: conversion failed") : TD_CODE_OK;
}

/* A fresh contiguous tensor shaped like m with dtype dt, kept in temps (or returned). */
static enum td_code new_tensor(const struct td_meta *m, uint8_t dt, struct td_kt *k, struct td_storage **owner,
                               struct td_status *st)
{
    struct td_meta cm;
    if (td_meta_contiguous(&cm, dt, m->ndim, m->sizes, st))
        return st->code;
    struct td_storage *s = td_storage_new(cm.storage_nbytes, st);
    if (!s)
        return st->code;
    kt_of(k, &cm, s);
    *owner = s;
    return TD_CODE_OK;
}

static enum td_code new_temp(const struct td_meta *m, uint8_t dt, struct td_kt *k, struct temps *t,
                             struct td_status *st)
{
    if (t->n >= MAX_TEMPS)
        return td_status_set(st, TD_CODE_INTERNAL, "too many temporaries");
    return new_tensor(m, dt, k, &t->s[t->n++], st) ? (t->n--, st->code) : TD_CODE_OK;
}

/* Dtype a kernel wants for input i. */
static int wanted_input_dtype(const struct td_op_args *a, const struct td_infer *inf, int i)
{
    switch (td_op_table[a->op].family) {
    case TD_FAM_CAST:
    case TD_FAM_COPY:
    case TD_FAM_FILL:
    case TD_FAM_OPTIM: return -1; /* as it is (OPTIM writes its inputs in place) */
    case TD_FAM_WHERE: return i == 0 ? TD_DTYPE_BOOL : inf->compute_dtype;
    case TD_FAM_INDEX: return td_meta_input_is_index((enum td_op)a->op, i) ? -1 : inf->compute_dtype;
    case TD_FAM_LINALG_PACKED: return a->op == TD_OP_LDL_SOLVE && i == 1 ? -1 : inf->compute_dtype; /* int32 pivots */
    case TD_FAM_LINALG_LU: return a->op == TD_OP_LU_SOLVE && i == 1 ? -1 : inf->compute_dtype; /* int32 pivots */
    case TD_FAM_CONV: return a->op == TD_OP_MAX_POOL_BACKWARD && i == 2 ? -1 : inf->compute_dtype; /* int64 indices */
    default: return inf->compute_dtype;
    }
}

static enum td_code prepare_inputs(const struct td_op_args *a, const struct td_infer *inf,
                                   struct td_tensor *const *in, struct td_kt *kin, struct temps *t,
                                   struct td_status *st)
{
    for (int i = 0; i < a->n_in; i++) {
        kt_of(&kin[i], &in[i]->m, in[i]->storage);
        int want = wanted_input_dtype(a, inf, i);
        if (want < 0 || want == in[i]->m.dtype)
            continue;
        struct td_kt orig = kin[i];
        if (new_temp(&in[i]->m, (uint8_t)want, &kin[i], t, st) || run_copy(&kin[i], &orig, st))
            return st->code;
    }
    return TD_CODE_OK;
}

static const char *first_byte(const struct td_kt *t)
{
    return t->data + t->m.offset * (int64_t)td_dtype_size(t->m.dtype);
}

/* First and one-past-last byte a view touches; lo == hi when it has no element. */
static void span_of(const struct td_kt *t, const char **lo, const char **hi)
{
    int64_t es = (int64_t)td_dtype_size(t->m.dtype), last = 0;
    *lo = *hi = first_byte(t);
    for (int d = 0; d < t->m.ndim; d++) {
        if (t->m.sizes[d] == 0)
            return;
        last += (t->m.sizes[d] - 1) * t->m.strides[d];
    }
    *hi = *lo + (last + 1) * es;
}

/* Whether two element positions of t can name one memory location (expand, odd as_strided):
 * the dims of size > 1, by increasing stride, must each step over all the smaller ones. */
static bool self_overlaps(const struct td_meta *m)
{
    int64_t st[TD_MAX_DIMS], sz[TD_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < m->ndim; d++) {
        if (m->sizes[d] == 0)
            return false;
        if (m->sizes[d] == 1)
            continue;
        int i = n++;
        for (; i > 0 && st[i - 1] > m->strides[d]; i--) {
            st[i] = st[i - 1];
            sz[i] = sz[i - 1];
        }
        st[i] = m->strides[d];
        sz[i] = m->sizes[d];
    }
    int64_t reach = 0; /* furthest element offset the smaller dims reach */
    for (int i = 0; i < n; i++) {
        if (st[i] <= reach)
            return true;
        reach += (sz[i] - 1) * st[i];
    }
    return false;
}

static bool same_layout(const struct td_kt *x, const struct td_kt *y)
{
    if (x->m.dtype != y->m.dtype || x->m.ndim != y->m.ndim || first_byte(x) != first_byte(y))
        return false;
    for (int d = 0; d < x->m.ndim; d++)
        if (x->m.sizes[d] != y->m.sizes[d] || (x->m.sizes[d] > 1 && x->m.strides[d] != y->m.strides[d]))
            return false;
    return true;
}

/* Whether the kernel may write its result straight into dst (already of the kernel's dtype). */
static bool writes_through(unsigned op, const struct td_kt *dst, struct td_kt *const *in, int n_in)
{
    bool elementwise = td_op_table[op].flags & TD_F_ELEMENTWISE;
    const char *lo, *hi;
    if ((!elementwise && !td_meta_is_contiguous(&dst->m)) || self_overlaps(&dst->m))
        return false;
    span_of(dst, &lo, &hi);
    for (int i = 0; i < n_in; i++) {
        const char *ilo, *ihi;
        span_of(in[i], &ilo, &ihi);
        if (ilo < hi && lo < ihi && !(elementwise && same_layout(dst, in[i])))
            return false;
    }
    return true;
}

/* copy_(dst, src) where src overlaps dst other than element for element
 * (x[1:].copy_(x[:-1])): the kernel's chunked copy would read what it already wrote, so
 * src is set aside first, giving the out-of-place result (PyTorch refuses the overlap). */
static enum td_code copy_src_aside(struct td_kt *kin, struct temps *t, struct td_status *st)
{
    const char *lo, *hi, *slo, *shi;
    span_of(&kin[0], &lo, &hi);
    span_of(&kin[1], &slo, &shi);
    if (!(slo < hi && lo < shi) || same_layout(&kin[0], &kin[1]))
        return TD_CODE_OK;
    struct td_kt orig = kin[1];
    if (new_temp(&orig.m, orig.m.dtype, &kin[1], t, st) || run_copy(&kin[1], &orig, st))
        return st->code;
    return TD_CODE_OK;
}

/* dst as a non-element-wise kernel expects an output: contiguous at offset 0. */
static void at_offset_zero(struct td_kt *k, const struct td_kt *dst)
{
    int64_t skip = dst->m.offset * (int64_t)td_dtype_size(dst->m.dtype);
    *k = *dst;
    k->data += skip;
    k->m.offset = 0;
    k->m.storage_nbytes -= skip;
}

/* Output j's final tensor and the one the kernel writes: a destination (in-place or
 * out=) when the record has one, else a fresh tensor in res[j]; kout is a temporary
 * when the kernel's dtype differs or it cannot write through. */
static enum td_code place_output(const struct td_op_args *a, struct td_tensor *dst, const struct td_meta *out_m,
                                 uint8_t kd, struct td_kctx *k, struct td_kt *final, struct td_kt *kout,
                                 struct td_tensor *res, struct temps *t, struct td_status *st)
{
    if (!dst) {
        if (new_tensor(out_m, out_m->dtype, final, &res->storage, st))
            return st->code;
        res->m = final->m;
        if (kd == out_m->dtype) {
            *kout = *final;
        } else if (new_temp(out_m, kd, kout, t, st)) {
            td_storage_unref(res->storage);
            res->storage = NULL;
            return st->code;
        }
        return TD_CODE_OK;
    }
    kt_of(final, &dst->m, dst->storage);
    bool direct = kd == dst->m.dtype;
    if (direct && (a->flags & TD_RF_OUT)) {
        direct = writes_through(a->op, final, k->in, k->n_in);
        if (direct && !(td_op_table[a->op].flags & TD_F_ELEMENTWISE)) {
            at_offset_zero(kout, final);
            return TD_CODE_OK;
        }
    } else if (direct && (td_op_table[a->op].flags & TD_F_ELEMENTWISE)) {
        /* in-place: other in-place kernels read and write self themselves, as before */
        direct = writes_through(a->op, final, k->in, k->n_in);
    }
    return direct ? (*kout = *final, TD_CODE_OK) : new_temp(out_m, kd, kout, t, st);
}

enum td_code td__exec_kernel(const struct td_op_args *a, const struct td_infer *inf, struct td_tensor *const *in,
                             const struct td_meta *out_m, struct td_tensor *res, struct td_rng *rng,
                             struct td_status *st)
{
    /* No initializers for the big arrays below (td_kctx and rec_ctx hold 255 input
     * pointers): zeroing them cost more than a small op's kernel.  Only the entries
     * below n_in / n_out are ever read. */
    struct temps t;
    t.n = 0;
    struct td_kt kin[TD_MAX_INPUTS], kout[TD_MAX_OUTPUTS], final[TD_MAX_OUTPUTS];
    /* out= destinations trail the operands; the kernel sees the operands only */
    struct td_op_args ops = *a;
    ops.n_in = (uint16_t)(a->n_in - td_meta_n_dst(a));
    ops.flags = a->flags & ~TD_RF_OUT;
    struct td_kctx k;
    k.op = a->op;
    k.flags = ops.flags;
    k.compute_dtype = inf->compute_dtype;
    k.n_in = ops.n_in;
    k.n_out = 0;
    k.attrs = a->attrs;
    k.n_attr = a->n_attr;
    k.rng = rng;
    /* CAST/CLONE handle every dtype; EMPTY writes nothing, so it needs no float32 stand-in */
    bool inplace = a->flags & TD_RF_INPLACE, into = a->flags & TD_RF_OUT,
         cast_family = td_op_table[a->op].family == TD_FAM_CAST || a->op == TD_OP_EMPTY;
    int n_res = 0;
    if (prepare_inputs(&ops, inf, in, kin, &t, st) || (a->op == TD_OP_COPY_ && copy_src_aside(kin, &t, st)))
        goto out_fail;
    for (int i = 0; i < ops.n_in; i++)
        k.in[i] = &kin[i];
    k.n_out = inf->n_out;
    for (int j = 0; j < inf->n_out; j++) {
        uint8_t kd = cast_family ? out_m[j].dtype : kernel_dtype(out_m[j].dtype);
        struct td_tensor *dst = inplace ? in[0] : into ? in[ops.n_in + j] : NULL;
        if (place_output(&ops, dst, &out_m[j], kd, &k, &final[j], &kout[j], &res[j], &t, st))
            goto out_fail;
        n_res += !dst;
        k.out[j] = &kout[j];
    }
    char kmsg[TD_KMSG_LEN];
    kmsg[0] = 0;
    k.msg = kmsg;
    /* complex compute dtypes go to kernels/cpu/complex.c where it has the op */
    td_kernel_fn fn = td_dtype_is_complex((enum td_dtype)inf->compute_dtype) ? td__cpu_complex_kernel(a->op) : NULL;
    enum td_code c = (fn ? fn : td_cpu_kernels[a->op])(&k);
    if (c && kmsg[0]) {
        td_status_set(st, c, "%s", kmsg);
        goto out_fail;
    }
    if (c) {
        td_status_set(st, c, "%s: kernel failed (%s)", td_op_name(a->op), td_code_name(c));
        goto out_fail;
    }
    for (int j = 0; j < inf->n_out; j++)
        if (first_byte(&kout[j]) != first_byte(&final[j]) && run_copy(&final[j], &kout[j], st))
            goto out_fail;
    temps_free(&t);
    return TD_CODE_OK;

out_fail:
    for (int j = 0; j < n_res; j++) {
        td_storage_unref(res[j].storage);
        res[j].storage = NULL;
    }
    temps_free(&t);
    return st->code;
}

void td__exec_upload(enum td_dtype dt, char *dst, const uint8_t *src, size_t len)
{
    if (!len)
        return; /* src is NULL for an empty payload */
    if (dt != TD_DTYPE_BOOL) {
        memcpy(dst, src, len);
        return;
    }
    for (size_t i = 0; i < len; i++)
        dst[i] = src[i] != 0;
}
