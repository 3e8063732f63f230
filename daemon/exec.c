/*
 * exec.c — glue between a validated record and a CPU kernel; see exec.h.
 *
 * Kernels see one dtype per op (kernels/kernel.h), so dtype plumbing happens here:
 * inputs of another dtype are copied into compute-dtype temporaries, float16/bfloat16
 * outputs are produced in float32 and converted, unless the device has a native kernel
 * for the op whose operands are all of one half dtype (half_kernel in kernels/device.h:
 * then nothing is cast) (complex never takes that path: it is
 * computed as it is, by kernels/cpu/complex.c where that file has the op), and in-place results that cannot be
 * written directly (other dtype) go through a temporary and a copy_ into the view.
 *
 * Results with a destination (in-place: input 0; out=, TD_RF_OUT: the trailing inputs;
 * copy_'s input 0) first pass torch's overlap checks (kernels/overlap.h, check_overlap
 * below): a destination whose elements share memory (an expand) or that overlaps an
 * input other than element for element fails with torch's RuntimeError, as a failed
 * record.  The client made the same checks at the call; the daemon repeats them because
 * only it knows every storage (tokens opened on one storage look unrelated to a client).
 * The overlaps torch lets through are views too hard to compare (not dense: a[::2]
 * against a[1::2], an as_strided output with no stride 0) and ops it does not check
 * (reductions, matmul's inputs, tril/triu, fill_).  What passes is computed straight
 * into the destination when the kernel can write there: same dtype, and no input shares
 * memory with it in a way the kernel would trip over.  Element-wise ops read element i
 * before writing element i, so an input laid out exactly like the destination
 * (a.add_(b), add(a, b, out=a)) is fine; any other overlap goes through a temporary
 * (writes_through, self_overlaps, copy_src_aside), which gives the out-of-place result
 * where torch's own depends on its loop order.  Element-wise kernels take strided
 * outputs; the others get their destination only when it is contiguous, presented at
 * offset 0 as the fresh outputs they were written for.
 * All temporaries are freed before returning, on every path.
 * UPLOAD's byte copy lives here too (td__exec_upload), because it is where the bool
 * rule is enforced on bytes that arrive from the network.
 */
#include <string.h>

#include "../kernels/overlap.h"
#include "device.h"
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

static const struct td_place cpu_place = {.device = TD_DEVICE_CPU};

/* dst[...] = src[...] with broadcasting and dtype conversion, via the copy_ kernel of
 * the place both are on. */
static enum td_code run_copy(const struct td_place *p, struct td_kt *dst, struct td_kt *src, struct td_status *st)
{
    struct td_kctx k = {.op = TD_OP_COPY_, .n_in = 2, .compute_dtype = dst->m.dtype};
    k.in[0] = dst;
    k.in[1] = src;
    k.stream = p->stream;
    k.device = p->device ? p->device - 1 : 0;
    k.options = p->options;
    td_kernel_fn fn = p->device ? p->b->kernel(TD_OP_COPY_, dst->m.dtype) : td_cpu_copy_;
    enum td_code c = fn ? fn(&k) : TD_CODE_UNIMPLEMENTED;
    return c ? td_status_set(st, c, "copy_: conversion failed") : TD_CODE_OK;
}

static struct td_storage *storage_new(const struct td_place *p, int64_t nbytes, struct td_status *st)
{
    return p->device ? td_device_storage_new(p->device, nbytes, p->stream, st) : td_storage_new(nbytes, st);
}

/* A fresh contiguous tensor shaped like m (not k's own meta) with dtype dt, kept in temps
 * (or returned).  Built in k itself: a whole-meta copy is a visible part of a small op. */
static enum td_code new_tensor(const struct td_place *p, const struct td_meta *m, uint8_t dt, struct td_kt *k,
                               struct td_storage **owner, struct td_status *st)
{
    if (td_meta_contiguous(&k->m, dt, m->ndim, m->sizes, st))
        return st->code;
    k->m.device = p->device;
    struct td_storage *s = storage_new(p, k->m.storage_nbytes, st);
    if (!s)
        return st->code;
    k->data = s->data;
    *owner = s;
    return TD_CODE_OK;
}

/* A new output keeps the layout its meta rule gave it (an elementwise result of
 * channels-last or transposed inputs is laid out as they are, kernels/shape.c): the same
 * strides when they are dense, else row-major.  Same bytes either way. */
static void output_layout(struct td_kt *k, const struct td_meta *m)
{
    if (m->offset == 0 && !td_meta_is_contiguous(m) && td_meta_non_overlapping_and_dense(m))
        memcpy(k->m.strides, m->strides, sizeof(int64_t) * m->ndim);
}

static enum td_code new_temp(const struct td_place *p, const struct td_meta *m, uint8_t dt, struct td_kt *k,
                             struct temps *t, struct td_status *st)
{
    if (t->n >= MAX_TEMPS)
        return td_status_set(st, TD_CODE_INTERNAL, "too many temporaries");
    return new_tensor(p, m, dt, k, &t->s[t->n++], st) ? (t->n--, st->code) : TD_CODE_OK;
}

/* A 0-dim CPU tensor taking part in a device op, as PyTorch lets scalars do: its one
 * element copied to a device temporary. */
static enum td_code scalar_to_device(const struct td_place *p, struct td_kt *k, struct temps *t,
                                     struct td_status *st)
{
    struct td_kt host = *k;
    size_t es = td_dtype_size((enum td_dtype)host.m.dtype);
    if (new_temp(p, &host.m, host.m.dtype, k, t, st))
        return st->code;
    return td_device_copy(p->device, k->data, host.data + host.m.offset * (int64_t)es, es, TD_COPY_H2D, p->stream,
                          st);
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
    case TD_FAM_LOSS: return i == (a->op == TD_OP_CTC_LOSS ? 1 : 2) ? -1 : inf->compute_dtype; /* int targets */
    default: return inf->compute_dtype;
    }
}

static enum td_code prepare_inputs(const struct td_place *p, const struct td_op_args *a, const struct td_infer *inf,
                                   struct td_tensor *const *in, struct td_kt *kin, struct temps *t,
                                   struct td_status *st)
{
    for (int i = 0; i < a->n_in; i++) {
        kt_of(&kin[i], &in[i]->m, in[i]->storage);
        if (in[i]->m.device != p->device && scalar_to_device(p, &kin[i], t, st))
            return st->code;
        int want = wanted_input_dtype(a, inf, i);
        if (want < 0 || want == in[i]->m.dtype)
            continue;
        struct td_kt orig = kin[i];
        if (inf->round_inputs && want == inf->compute_dtype && want != inf->round_dtype &&
            in[i]->m.dtype != inf->round_dtype) {
            /* through the common 16-bit dtype first, as torch casts the operand to it */
            if (new_temp(p, &in[i]->m, inf->round_dtype, &kin[i], t, st) || run_copy(p, &kin[i], &orig, st))
                return st->code;
            orig = kin[i];
        }
        if (new_temp(p, &in[i]->m, (uint8_t)want, &kin[i], t, st) || run_copy(p, &kin[i], &orig, st))
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
    for (int d = 0; d < m->ndim; d++)
        if (m->sizes[d] == 0)
            return false;
    int n = td_meta_dims_by_stride(m, st, sz);
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

/* copy_(dst, src) where src overlaps dst other than element for element in a way torch
 * lets through (views too hard to compare: x[2::2].copy_(x[:-2:2]); partial overlaps of
 * dense views were refused by check_overlap): the kernel's chunked copy would read what
 * it already wrote, so src is set aside first, giving the out-of-place result. */
static enum td_code copy_src_aside(const struct td_place *p, struct td_kt *kin, struct temps *t,
                                   struct td_status *st)
{
    const char *lo, *hi, *slo, *shi;
    span_of(&kin[0], &lo, &hi);
    span_of(&kin[1], &slo, &shi);
    if (!(slo < hi && lo < shi) || same_layout(&kin[0], &kin[1]))
        return TD_CODE_OK;
    struct td_kt orig = kin[1];
    if (new_temp(p, &orig.m, orig.m.dtype, &kin[1], t, st) || run_copy(p, &kin[1], &orig, st))
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

/* Output j's final tensor and the one the kernel writes (*kw): a destination (in-place or
 * out=) when the record has one, else a fresh tensor in res[j]; the kernel writes final
 * itself, or kout: a temporary when the kernel's dtype differs or it cannot write
 * through, or final's bytes seen at offset zero. */
static enum td_code place_output(const struct td_place *p, const struct td_op_args *a, struct td_tensor *dst,
                                 const struct td_meta *out_m, uint8_t kd, struct td_kctx *k, struct td_kt *final,
                                 struct td_kt *kout, struct td_kt **kw, struct td_tensor *res, struct temps *t,
                                 struct td_status *st)
{
    *kw = final;
    if (!dst) {
        if (new_tensor(p, out_m, out_m->dtype, final, &res->storage, st))
            return st->code;
        output_layout(final, out_m);
        res->m = final->m;
        /* only elementwise kernels write any layout: another writes row-major, copied in */
        bool elementwise = td_op_table[a->op].flags & TD_F_ELEMENTWISE;
        if (kd == out_m->dtype && (elementwise || td_meta_is_contiguous(&final->m)))
            return TD_CODE_OK;
        *kw = kout;
        if (new_temp(p, out_m, kd, kout, t, st)) {
            td_storage_unref(res->storage);
            res->storage = NULL;
            return st->code;
        }
        if (elementwise)
            output_layout(kout, out_m);
        return TD_CODE_OK;
    }
    kt_of(final, &dst->m, dst->storage);
    bool direct = kd == dst->m.dtype;
    if (direct && (a->flags & TD_RF_OUT)) {
        direct = writes_through(a->op, final, k->in, k->n_in);
        if (direct && !(td_op_table[a->op].flags & TD_F_ELEMENTWISE)) {
            at_offset_zero(kout, final);
            *kw = kout;
            return TD_CODE_OK;
        }
    } else if (direct && (td_op_table[a->op].flags & TD_F_ELEMENTWISE)) {
        /* in-place: other in-place kernels read and write self themselves, as before */
        direct = writes_through(a->op, final, k->in, k->n_in);
    }
    if (direct)
        return TD_CODE_OK;
    *kw = kout;
    return new_temp(p, out_m, kd, kout, t, st);
}

/* The kernel that runs op at the place: the device backend's, or the CPU's (complex
 * compute dtypes go to kernels/cpu/complex.c where it has the op). */
static td_kernel_fn kernel_at(const struct td_place *p, unsigned op, uint8_t compute)
{
    if (p->device)
        return p->b->kernel(op, compute);
    td_kernel_fn fn = td_dtype_is_complex((enum td_dtype)compute) ? td__cpu_complex_kernel(op) : NULL;
    return fn ? fn : td_cpu_kernels[op];
}

/* A device kernel failed: the backend's sticky error, if the stream has one, is the
 * real cause (a launch failure, an illegal address); true with st set from it. */
static bool device_fault(const struct td_place *p, unsigned op, struct td_status *st)
{
    int e = p->b->stream_sync(p->device - 1, p->stream);
    if (!e)
        return false;
    td_device_error(p->device, e, td_op_name(op), st);
    return true;
}

/* The device's native kernel for a float16/bfloat16 op (device.h's half_kernel): every
 * operand the float32 kernel would get cast has one half dtype h, and every floating
 * result is h too; then nothing is cast.  NULL: the float32 kernel between casts. */
static td_kernel_fn native_half(const struct td_place *p, const struct td_op_args *a, const struct td_infer *inf,
                                struct td_tensor *const *in, const struct td_meta *out_m, uint8_t *h)
{
    if (!p->device || !p->b->half_kernel || inf->compute_dtype != TD_DTYPE_FLOAT32)
        return NULL;
    *h = 0;
    for (int i = 0; i < a->n_in; i++) {
        if (wanted_input_dtype(a, inf, i) != TD_DTYPE_FLOAT32)
            continue;
        uint8_t d = in[i]->m.dtype;
        if ((d != TD_DTYPE_FLOAT16 && d != TD_DTYPE_BFLOAT16) || (*h && d != *h))
            return NULL;
        *h = d;
    }
    if (!*h)
        return NULL;
    for (int j = 0; j < inf->n_out; j++)
        if (td_dtype_is_inexact((enum td_dtype)out_m[j].dtype) && out_m[j].dtype != *h)
            return NULL;
    return p->b->half_kernel(a->op, *h);
}

/* Runs the op with the kernels of place p, where all its operands are. */
static enum td_code exec_at(const struct td_place *p, const struct td_op_args *a, const struct td_infer *inf,
                            struct td_tensor *const *in, const struct td_meta *out_m, struct td_tensor *res,
                            struct td_rng *rng, struct td_status *st)
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
    k.stream = p->stream;
    k.device = p->device ? p->device - 1 : 0;
    k.options = p->options;
    uint8_t half = 0;
    struct td_infer half_inf;
    td_kernel_fn fn = native_half(p, &ops, inf, in, out_m, &half);
    if (fn) { /* operands arrive as they are: compute "in" the half dtype */
        half_inf = *inf;
        half_inf.compute_dtype = half;
        inf = &half_inf;
        k.compute_dtype = half;
    }
    if (prepare_inputs(p, &ops, inf, in, kin, &t, st) || (a->op == TD_OP_COPY_ && copy_src_aside(p, kin, &t, st)))
        goto out_fail;
    for (int i = 0; i < ops.n_in; i++)
        k.in[i] = &kin[i];
    k.n_out = inf->n_out;
    for (int j = 0; j < inf->n_out; j++) {
        uint8_t kd = cast_family || (fn && out_m[j].dtype == half) ? out_m[j].dtype : kernel_dtype(out_m[j].dtype);
        struct td_tensor *dst = inplace ? in[0] : into ? in[ops.n_in + j] : NULL;
        if (place_output(p, &ops, dst, &out_m[j], kd, &k, &final[j], &kout[j], &k.out[j], &res[j], &t, st))
            goto out_fail;
        n_res += !dst;
    }
    char kmsg[TD_KMSG_LEN];
    kmsg[0] = 0;
    k.msg = kmsg;
    if (!fn)
        fn = kernel_at(p, a->op, inf->compute_dtype);
    enum td_code c = fn ? fn(&k) : TD_CODE_UNIMPLEMENTED;
    if (c && p->device && device_fault(p, a->op, st))
        goto out_fail; /* the device's own error (a fatal one takes the device out of service) */
    if (c && kmsg[0]) {
        td_status_set(st, c, "%s", kmsg);
        goto out_fail;
    }
    if (c) {
        td_status_set(st, c, "%s: kernel failed (%s)", td_op_name(a->op), td_code_name(c));
        goto out_fail;
    }
    for (int j = 0; j < inf->n_out; j++)
        if (k.out[j] != &final[j] && first_byte(k.out[j]) != first_byte(&final[j]) &&
            run_copy(p, &final[j], k.out[j], st))
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

/* ---- devices: ops without a device kernel, and copies between devices */

/* The bytes a view reaches: [*first, *first + returned) of its storage (0: none). */
static int64_t view_span(const struct td_meta *m, int64_t *first)
{
    int64_t es = (int64_t)td_dtype_size((enum td_dtype)m->dtype), last = 0;
    *first = m->offset * es;
    for (int d = 0; d < m->ndim; d++) {
        if (m->sizes[d] == 0)
            return 0;
        last += (m->sizes[d] - 1) * m->strides[d];
    }
    return (last + 1) * es;
}

/* A host copy of the bytes device tensor t's view reaches, viewed like t. */
static enum td_code span_to_host(const struct td_place *p, const struct td_tensor *t, struct td_tensor *h,
                                 struct td_status *st)
{
    int64_t first, n = view_span(&t->m, &first);
    h->m = t->m;
    h->m.device = TD_DEVICE_CPU;
    h->m.offset = 0;
    h->m.storage_nbytes = n;
    h->fail = NULL;
    if (!(h->storage = td_storage_new(n, st)))
        return st->code;
    return td_device_copy(p->device, h->storage->data, t->storage->data + first, (uint64_t)n, TD_COPY_D2H, p->stream,
                          st);
}

/*
 * An op the device's backend has no kernel for: its device operands' bytes are copied
 * to the host, the CPU kernels run there, and the results (new outputs, and the inputs
 * the op writes) are copied back.  Correct for every op, and as slow as three copies;
 * it is how an op works on a device before its device kernel exists.
 */
static enum td_code exec_staged(const struct td_place *p, const struct td_op_args *a, const struct td_infer *inf,
                                struct td_tensor *const *in, const struct td_meta *out_m, struct td_tensor *res,
                                struct td_rng *rng, struct td_status *st)
{
    struct td_tensor host[TD_MAX_INPUTS], *hin[TD_MAX_INPUTS], hres[TD_MAX_OUTPUTS];
    struct td_meta hout[TD_MAX_OUTPUTS];
    int n_host = 0, first_w, end_w = td_op_written_inputs(a->op, a->flags, a->n_in, &first_w);
    enum td_code c = TD_CODE_OK;
    for (int i = 0; i < a->n_in && !c; i++) {
        hin[i] = in[i];
        if (in[i]->m.device == TD_DEVICE_CPU)
            continue;
        c = span_to_host(p, in[i], &host[i], st);
        if (host[i].storage)
            n_host = i + 1;
        hin[i] = &host[i];
    }
    for (int j = 0; j < inf->n_out; j++) {
        hout[j] = out_m[j];
        hout[j].device = TD_DEVICE_CPU;
        hres[j].storage = NULL;
        hres[j].fail = NULL;
    }
    if (!c)
        c = exec_at(&cpu_place, a, inf, hin, hout, hres, rng, st);
    bool new_outputs = !(a->flags & (TD_RF_INPLACE | TD_RF_OUT));
    int n_made = 0;
    for (int j = 0; !c && new_outputs && j < inf->n_out; j++) {
        int64_t n = hres[j].storage->nbytes;
        res[j].m = hres[j].m;
        res[j].m.device = p->device;
        res[j].fail = NULL;
        if (!(res[j].storage = td_device_storage_new(p->device, n, p->stream, st)))
            c = st->code;
        else
            n_made = j + 1, c = td_device_copy(p->device, res[j].storage->data, hres[j].storage->data, (uint64_t)n,
                                               TD_COPY_H2D, p->stream, st);
    }
    for (int i = first_w; !c && i < end_w; i++) {
        if (in[i]->m.device == TD_DEVICE_CPU)
            continue;
        int64_t first, n = view_span(&in[i]->m, &first);
        c = td_device_copy(p->device, in[i]->storage->data + first, host[i].storage->data, (uint64_t)n, TD_COPY_H2D,
                           p->stream, st);
    }
    if (c)
        for (int j = 0; j < n_made; j++) {
            td_storage_unref(res[j].storage);
            res[j].storage = NULL;
        }
    for (int j = 0; j < inf->n_out; j++)
        td_storage_unref(hres[j].storage);
    for (int i = 0; i < n_host; i++)
        if (hin[i] == &host[i])
            td_storage_unref(host[i].storage);
    return c;
}

static bool same_shape(const struct td_meta *x, const struct td_meta *y)
{
    return x->dtype == y->dtype && x->ndim == y->ndim && !memcmp(x->sizes, y->sizes, sizeof(int64_t) * x->ndim);
}

/*
 * copy_ between devices (tensor.to, .cuda(), .cpu()): one transfer when both views are
 * contiguous and alike; else the source's bytes come to the host, the CPU copy kernel
 * broadcasts and converts there, and a contiguous result goes to the destination.
 */
static enum td_code exec_transfer(const struct td_place *dp, const struct td_place *sp, struct td_tensor *dst,
                                  struct td_tensor *src, struct td_status *st)
{
    int64_t es = (int64_t)td_dtype_size((enum td_dtype)dst->m.dtype);
    char *dbase = dst->storage->data + dst->m.offset * es, *sbase = src->storage->data + src->m.offset * es;
    if (same_shape(&dst->m, &src->m) && td_meta_is_contiguous(&dst->m) && td_meta_is_contiguous(&src->m)) {
        uint64_t n = (uint64_t)(td_meta_numel(&dst->m) * es);
        if (dp->device == TD_DEVICE_CPU)
            return td_device_copy(sp->device, dbase, sbase, n, TD_COPY_D2H, sp->stream, st);
        if (sp->device == TD_DEVICE_CPU)
            return td_device_copy(dp->device, dbase, sbase, n, TD_COPY_H2D, dp->stream, st);
    }
    struct td_tensor hsrc = *src;
    struct td_kt kd, ks;
    struct temps t = {.n = 0};
    enum td_code c = TD_CODE_OK;
    if (src->m.device != TD_DEVICE_CPU) {
        if (span_to_host(sp, src, &hsrc, st))
            goto out;
        t.s[t.n++] = hsrc.storage;
    }
    kt_of(&ks, &hsrc.m, hsrc.storage);
    if (dst->m.device == TD_DEVICE_CPU) {
        kt_of(&kd, &dst->m, dst->storage);
        c = run_copy(&cpu_place, &kd, &ks, st);
        goto out;
    }
    /* on the host in the destination's dtype and shape, then its bytes over */
    if (new_temp(&cpu_place, &dst->m, dst->m.dtype, &kd, &t, st) || run_copy(&cpu_place, &kd, &ks, st))
        goto out;
    if (td_meta_is_contiguous(&dst->m)) {
        c = td_device_copy(dp->device, dbase, kd.data, (uint64_t)(td_meta_numel(&dst->m) * es), TD_COPY_H2D,
                           dp->stream, st);
        goto out;
    }
    /* a strided destination: through a contiguous device temporary and the device's copy_ */
    struct td_kt kdev, kfinal;
    if (new_temp(dp, &dst->m, dst->m.dtype, &kdev, &t, st) ||
        td_device_copy(dp->device, kdev.data, kd.data, (uint64_t)kdev.m.storage_nbytes, TD_COPY_H2D, dp->stream,
                       st))
        goto out;
    kt_of(&kfinal, &dst->m, dst->storage);
    if (dp->b->kernel(TD_OP_COPY_, dst->m.dtype)) {
        c = run_copy(dp, &kfinal, &kdev, st);
    } else { /* no device copy_: the destination's span round-trips through the host */
        struct td_tensor hd;
        if (span_to_host(dp, dst, &hd, st))
            goto out;
        t.s[t.n++] = hd.storage;
        struct td_kt khd;
        kt_of(&khd, &hd.m, hd.storage);
        int64_t first, n = view_span(&dst->m, &first);
        if (!run_copy(&cpu_place, &khd, &kd, st))
            c = td_device_copy(dp->device, dst->storage->data + first, hd.storage->data, (uint64_t)n, TD_COPY_H2D,
                               dp->stream, st);
    }
out:
    temps_free(&t);
    return c ? c : st->code;
}

/* Whether the device runs the op itself (its kernel, and copy_ for the casts). */
static bool device_runs(const struct td_place *p, const struct td_op_args *a, const struct td_infer *inf)
{
    return p->b->kernel(a->op, inf->compute_dtype) && p->b->kernel(TD_OP_COPY_, inf->compute_dtype);
}

/* torch's overlap checks on the record's destinations (kernels/overlap.h): the client
 * made them at the call already, but only the daemon knows every storage (two tokens
 * opened on one storage look unrelated to the client), and it trusts no client. */
static enum td_code check_overlap(const struct td_op_args *a, struct td_tensor *const *in, struct td_status *st)
{
    struct td_operand_id ids[TD_MAX_INPUTS];
    for (int i = 0; i < a->n_in; i++) {
        ids[i].tensor = (uint64_t)(uintptr_t)in[i];
        ids[i].storage = (uint64_t)(uintptr_t)in[i]->storage;
    }
    return td_meta_check_overlap(a, ids, st);
}

enum td_code td__exec_kernel(const struct td_op_args *a, const struct td_infer *inf, struct td_tensor *const *in,
                             const struct td_meta *out_m, struct td_tensor *res, struct td_rng *rng,
                             const struct td_place *p, const struct td_place *src, struct td_status *st)
{
    if (td_meta_overlap_checked(a) && check_overlap(a, in, st))
        return st->code;
    if (a->op == TD_OP_COPY_ && a->n_in == 2 && in[0]->m.device != in[1]->m.device)
        return exec_transfer(p, src, in[0], in[1], st);
    if (p->device != TD_DEVICE_CPU && !device_runs(p, a, inf))
        return exec_staged(p, a, inf, in, out_m, res, rng, st);
    return exec_at(p, a, inf, in, out_m, res, rng, st);
}
