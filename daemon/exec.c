/*
 * exec.c — glue between a validated record and a CPU kernel; see exec.h.
 *
 * Kernels see one dtype per op (kernels/kernel.h), so dtype plumbing happens here:
 * inputs of another dtype are copied into compute-dtype temporaries, float16/bfloat16
 * outputs are produced in float32 and converted (complex never takes that path: it is
 * computed as it is, by kernels/cpu/complex.c where that file has the op), and in-place results that cannot be
 * written directly (other dtype) go through a temporary and a copy_ into the view.
 * All temporaries are freed before returning, on every path.
 * UPLOAD's byte copy lives here too (td__exec_upload), because it is where the bool
 * rule is enforced on bytes that arrive from the network.
 */
#include <string.h>

#include "exec.h"
#include "../kernels/shape_internal.h"

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
    case TD_FAM_FILL: return -1; /* as it is */
    case TD_FAM_WHERE: return i == 0 ? TD_DTYPE_BOOL : inf->compute_dtype;
    case TD_FAM_INDEX: return td__index_input_is_index(a->op, i) ? -1 : inf->compute_dtype;
    case TD_FAM_LAPACK: return a->op == TD_OP_LDL_SOLVE && i == 1 ? -1 : inf->compute_dtype; /* int32 pivots */
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

enum td_code td__exec_kernel(const struct td_op_args *a, const struct td_infer *inf, struct td_tensor *const *in,
                             const struct td_meta *out_m, struct td_tensor *res, struct td_rng *rng,
                             struct td_status *st)
{
    struct temps t = {.n = 0};
    struct td_kt kin[TD_MAX_INPUTS], kout[TD_MAX_OUTPUTS], final[TD_MAX_OUTPUTS];
    struct td_kctx k = {
        .op = a->op, .flags = a->flags, .compute_dtype = inf->compute_dtype, .n_in = a->n_in,
        .attrs = a->attrs, .n_attr = a->n_attr, .rng = rng,
    };
    /* CAST/CLONE handle every dtype; EMPTY writes nothing, so it needs no float32 stand-in */
    bool inplace = a->flags & TD_RF_INPLACE,
         cast_family = td_op_table[a->op].family == TD_FAM_CAST || a->op == TD_OP_EMPTY;
    int n_res = 0;
    if (prepare_inputs(a, inf, in, kin, &t, st))
        goto out_fail;
    for (int i = 0; i < a->n_in; i++)
        k.in[i] = &kin[i];
    k.n_out = inf->n_out;
    for (int j = 0; j < inf->n_out; j++) {
        uint8_t kd = cast_family ? out_m[j].dtype : kernel_dtype(out_m[j].dtype);
        if (inplace) {
            kt_of(&final[j], &in[0]->m, in[0]->storage);
            if (kd == in[0]->m.dtype)
                kout[j] = final[j];
            else if (new_temp(&out_m[j], kd, &kout[j], &t, st))
                goto out_fail;
        } else {
            if (new_tensor(&out_m[j], out_m[j].dtype, &final[j], &res[j].storage, st))
                goto out_fail;
            res[j].m = final[j].m;
            n_res++;
            if (kd == out_m[j].dtype)
                kout[j] = final[j];
            else if (new_temp(&out_m[j], kd, &kout[j], &t, st))
                goto out_fail;
        }
        k.out[j] = &kout[j];
    }
    char kmsg[TD_KMSG_LEN] = "";
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
        if (kout[j].data != final[j].data && run_copy(&final[j], &kout[j], st))
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
