/*
 * shape_conv.c — meta inference for the CONV family: CONV and its backward rows
 * (CONV_BACKWARD_INPUT, CONV_BACKWARD_WEIGHT), MAX_POOL / AVG_POOL / ADAPTIVE_*_POOL and
 * their backward rows, over 1-3 spatial dims of (N, C, *spatial) operands.
 *
 * The number of spatial dims is the length of the record's lists (each counted by its
 * own len word, all equal).  Every operand has the forward input's dtype (float32 or
 * float64: other dtypes are refused, so the executor never casts), except MAX_POOL's
 * int64 indices.  A backward row's forward input (or weight) is read for its shape only;
 * its grad_output must have exactly the forward output's shape.  Sizes are built with
 * checked arithmetic: strides, paddings, dilations and kernels arrive from the network.
 * Python normalizes torch's argument spellings (ints or tuples, unbatched input, 'same')
 * and words its argument errors before recording; the messages here are torch's for the
 * common spelling and guard the wire.  Layouts: proto/ops.args; geometry: conv_geom.h.
 */
#include <stdio.h>
#include <string.h>

#include "conv_geom.h"
#include "shape_internal.h"

enum kind { K_CONV, K_MAX, K_AVG, K_ADAPTIVE, K_MAX_BACKWARD };

static enum kind kind_of(enum td_op op)
{
    switch (op) {
    case TD_OP_CONV:
    case TD_OP_CONV_BACKWARD_INPUT:
    case TD_OP_CONV_BACKWARD_WEIGHT: return K_CONV;
    case TD_OP_MAX_POOL: return K_MAX;
    case TD_OP_AVG_POOL:
    case TD_OP_AVG_POOL_BACKWARD: return K_AVG;
    case TD_OP_MAX_POOL_BACKWARD: return K_MAX_BACKWARD;
    default: return K_ADAPTIVE;
    }
}

/* Which inputs are the forward input and (CONV rows) the weight. */
static int input_slot(enum td_op op)
{
    switch (op) {
    case TD_OP_CONV_BACKWARD_INPUT: return 2;
    case TD_OP_CONV_BACKWARD_WEIGHT:
    case TD_OP_MAX_POOL_BACKWARD:
    case TD_OP_AVG_POOL_BACKWARD:
    case TD_OP_ADAPTIVE_AVG_POOL_BACKWARD: return 1;
    default: return 0;
    }
}

static int weight_slot(enum td_op op) { return op == TD_OP_CONV_BACKWARD_WEIGHT ? 2 : 1; }

/* "2x5x5": a plane count and spatial sizes, as torch's pooling messages print them. */
static const char *dims_x(int64_t c, const int64_t *s, int n, char *buf, int len)
{
    int p = snprintf(buf, len, "%lld", (long long)c);
    for (int i = 0; i < n && p < len; i++)
        p += snprintf(buf + p, len - p, "x%lld", (long long)s[i]);
    return buf;
}

/* " kH: 3 kW: 3": one labelled value per spatial dim (torch's T/H/W names). */
static const char *labelled(const char *pfx, const int64_t *v, int n, char *buf, int len)
{
    static const char *const dim[] = {"T", "H", "W"};
    int p = 0;
    buf[0] = 0;
    for (int i = 0; i < n && p < len; i++)
        p += snprintf(buf + p, len - p, "%s%s%s: %lld", i ? " " : "", pfx, dim[3 - n + i], (long long)v[i]);
    return buf;
}

/* The n_lists lists of the record, their common length into *nsp. */
static enum td_code read_lists(const struct td_op_args *a, uint32_t counts_at, int n_lists, const int64_t **lists,
                               int *nsp, struct td_status *st)
{
    if (td__need_attrs(a, counts_at + (uint32_t)n_lists, st))
        return st->code;
    int64_t n = a->attrs[counts_at];
    for (int i = 1; i < n_lists; i++)
        if (a->attrs[counts_at + i] != n)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: every list needs one entry per spatial dim",
                                 td_op_name(a->op));
    if (n < 1 || n > TD_CONV_MAX_SP)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: expected 1 to %d spatial dims, got %lld",
                             td_op_name(a->op), TD_CONV_MAX_SP, (long long)n);
    if (a->n_attr != counts_at + (uint32_t)n_lists * (1 + (uint32_t)n))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: expected %u attribute words, got %u",
                             td_op_name(a->op), counts_at + (uint32_t)n_lists * (1 + (uint32_t)n), a->n_attr);
    for (int i = 0; i < n_lists; i++)
        lists[i] = a->attrs + counts_at + n_lists + i * n;
    *nsp = (int)n;
    return TD_CODE_OK;
}

/* The floating dtypes torch 1.13 convolves and pools: float32/float64 everywhere,
 * float16/bfloat16 on a GPU, bfloat16 on the CPU where its CPU kernels take it
 * (bf16_cpu); else torch's "not implemented" message under its kernel's name.  The
 * 16-bit dtypes are computed in float32 (td__infer_conv). */
static enum td_code check_float(const struct td_meta *x, const char *kernel, bool bf16_cpu, struct td_status *st)
{
    bool half = x->dtype == TD_DTYPE_FLOAT16 || x->dtype == TD_DTYPE_BFLOAT16;
    if (x->dtype == TD_DTYPE_FLOAT32 || x->dtype == TD_DTYPE_FLOAT64 || (half && x->device != TD_DEVICE_CPU) ||
        (x->dtype == TD_DTYPE_BFLOAT16 && bf16_cpu))
        return TD_CODE_OK;
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "\"%s\" not implemented for '%s'", kernel,
                         td_dtype_torch_name((enum td_dtype)x->dtype));
}

/* Spatial sizes out of (N, C, *spatial) x; n, c; and every value of v in [lo, 2^40]. */
static void take_sizes(const struct td_meta *x, struct td_conv_geom *g)
{
    g->batch = x->sizes[0];
    g->c_in = g->c_out = x->sizes[1];
    for (int i = 0; i < g->nsp; i++)
        g->in[i] = x->sizes[2 + i];
}

static bool in_range(const int64_t *v, int n, int64_t lo)
{
    for (int i = 0; i < n; i++)
        if (v[i] < lo || v[i] > TD_MAX_NUMEL)
            return false;
    return true;
}

/* ---- convolution */

static enum td_code conv_attrs(const struct td_op_args *a, struct td_conv_geom *g, struct td_status *st)
{
    const int64_t *l[3];
    if (read_lists(a, TD_A_CONV_N_STRIDE, 3, l, &g->nsp, st))
        return st->code;
    int n = g->nsp;
    g->groups = a->attrs[TD_A_CONV_GROUPS];
    if (!in_range(l[0], n, 1))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "non-positive stride is not supported");
    if (!in_range(l[1], n, 0))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "negative padding is not supported");
    if (!in_range(l[2], n, 1))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "non-positive dilation is not supported");
    if (g->groups < 1 || g->groups > TD_MAX_NUMEL)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "non-positive groups is not supported");
    memcpy(g->stride, l[0], sizeof(int64_t) * n);
    memcpy(g->pad, l[1], sizeof(int64_t) * n);
    memcpy(g->dil, l[2], sizeof(int64_t) * n);
    return TD_CODE_OK;
}

/* A dtype as torch's C++ type names print it (caffe2::TypeMeta), in its conv2d message. */
static const char *cpp_type_name(enum td_dtype d)
{
    switch (d) {
    case TD_DTYPE_FLOAT32: return "float";
    case TD_DTYPE_FLOAT64: return "double";
    case TD_DTYPE_FLOAT16: return "c10::Half";
    case TD_DTYPE_BFLOAT16: return "c10::BFloat16";
    case TD_DTYPE_INT64: return "long int";
    case TD_DTYPE_INT32: return "int";
    case TD_DTYPE_INT16: return "short int";
    case TD_DTYPE_INT8: return "signed char";
    case TD_DTYPE_UINT8: return "unsigned char";
    case TD_DTYPE_BOOL: return "bool";
    case TD_DTYPE_COMPLEX64: return "c10::complex<float>";
    case TD_DTYPE_COMPLEX128: return "c10::complex<double>";
    default: return "unknown";
    }
}

/* torch 1.13's CPU checks: conv2d with a bias compares the bias with the input first; a
 * float32 input goes to oneDNN (mkldnn), whose message names both tensor types; the
 * other paths report the weight as any op with a mismatched operand does.  (torch sends
 * some 1x1 float32 convolutions to its own kernel instead, by thread count: not followed.) */
static enum td_code conv_types(enum td_op op, const struct td_meta *x, const struct td_meta *w,
                               const struct td_meta *bias, int nsp, struct td_status *st)
{
    if (nsp == 2 && bias && bias->dtype != x->dtype)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Input type (%s) and bias type (%s) should be the same",
                             cpp_type_name((enum td_dtype)x->dtype), cpp_type_name((enum td_dtype)bias->dtype));
    const char *xn = td_dtype_torch_name((enum td_dtype)x->dtype), *wn = td_dtype_torch_name((enum td_dtype)w->dtype);
    if (x->dtype != w->dtype && op == TD_OP_CONV && x->dtype == TD_DTYPE_FLOAT32)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Input type (torch.%sTensor) and weight type (torch.%sTensor) should be the same or "
                             "input should be a MKLDNN tensor and weight is a dense tensor", xn, wn);
    if (x->dtype != w->dtype)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "expected scalar type %s but found %s", xn, wn);
    return check_float(x, nsp == 3 ? "slow_conv3d_cpu" : "slow_conv2d_cpu", true, st);
}

/* CONV's geometry from input x and weight w (any row of the three). */
static enum td_code conv_geom(const struct td_op_args *a, struct td_conv_geom *g, struct td_status *st)
{
    const struct td_meta *x = a->in[input_slot(a->op)], *w = a->in[weight_slot(a->op)];
    char b1[160], b2[160];
    if (conv_attrs(a, g, st))
        return st->code;
    int n = g->nsp;
    if (x->ndim != n + 2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Expected %dD (unbatched) or %dD (batched) input to conv%dd, but got input of size: %s",
                             n + 1, n + 2, n, td_meta_shape_str(x, b1, sizeof b1));
    if (w->ndim != n + 2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Expected %d-dimensional weight for %d-dimensional input %s, but got %d-dimensional "
                             "weight of size %s instead", n + 2, n + 2, td_meta_shape_str(x, b1, sizeof b1),
                             w->ndim, td_meta_shape_str(w, b2, sizeof b2));
    if (conv_types(a->op, x, w, a->op == TD_OP_CONV && a->n_in > 2 ? a->in[2] : NULL, n, st))
        return st->code;
    take_sizes(x, g);
    g->c_out = w->sizes[0];
    if (g->c_out % g->groups)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Given groups=%lld, expected weight to be divisible by %lld at dimension 0, but got "
                             "weight of size [%s] instead", (long long)g->groups, (long long)g->groups,
                             td_meta_shape_str(w, b1, sizeof b1));
    int64_t want_c;
    if (td_mul_overflow(w->sizes[1], g->groups, &want_c) || want_c != g->c_in)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Given groups=%lld, weight of size %s, expected input%s to have %lld channels, but got "
                             "%lld channels instead", (long long)g->groups, td_meta_shape_str(w, b1, sizeof b1),
                             td_meta_shape_str(x, b2, sizeof b2),
                             (long long)((uint64_t)w->sizes[1] * (uint64_t)g->groups),
                             (long long)g->c_in);
    int64_t padded[TD_CONV_MAX_SP], span[TD_CONV_MAX_SP];
    bool small = false;
    for (int i = 0; i < n; i++) {
        g->k[i] = w->sizes[2 + i];
        /* padded = in + 2 pad, span = dil (k - 1) + 1: each operand <= 2^40, so only the
           product can overflow */
        padded[i] = g->in[i] + 2 * g->pad[i];
        if (td_mul_overflow(g->dil[i], g->k[i] > 0 ? g->k[i] - 1 : 0, &span[i]) || span[i] > 4 * TD_MAX_NUMEL)
            span[i] = 4 * TD_MAX_NUMEL;
        span[i] += 1;
        small |= padded[i] < span[i] || g->k[i] == 0;
        g->out[i] = (padded[i] - span[i]) / g->stride[i] + 1;
    }
    if (small) {
        int p = snprintf(b1, sizeof b1, "(");
        int q = snprintf(b2, sizeof b2, "(");
        for (int i = 0; i < n; i++) {
            p += snprintf(b1 + p, sizeof b1 - p, i ? " x %lld" : "%lld", (long long)padded[i]);
            q += snprintf(b2 + q, sizeof b2 - q, i ? " x %lld" : "%lld", (long long)span[i]);
        }
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Calculated padded input size per channel: %s). Kernel size: %s). Kernel size can't be "
                             "greater than actual input size", b1, b2);
    }
    return TD_CODE_OK;
}

/* ---- pooling */

static enum td_code pool_attrs(const struct td_op_args *a, struct td_conv_geom *g, struct td_status *st)
{
    bool max = a->op == TD_OP_MAX_POOL;
    const int64_t *l[4];
    uint32_t counts = max ? TD_A_MAX_POOL_N_KERNEL : TD_A_AVG_POOL_N_KERNEL;
    if (read_lists(a, counts, max ? 4 : 3, l, &g->nsp, st))
        return st->code;
    int n = g->nsp;
    char b[120];
    if (!in_range(l[0], n, 1))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "kernel size should be greater than zero, but got %s",
                             labelled("k", l[0], n, b, sizeof b));
    if (!in_range(l[1], n, 1))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "stride should be greater than zero, but got %s",
                             labelled("d", l[1], n, b, sizeof b));
    for (int i = 0; i < n; i++)
        if (l[2][i] < 0)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "pad must be non-negative, but got pad: %lld",
                                 (long long)l[2][i]);
    if (max && !in_range(l[3], n, 1))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "dilation should be greater than zero, but got %s",
                             labelled("dilation", l[3], n, b, sizeof b));
    for (int i = 0; i < n; i++) {
        g->k[i] = l[0][i];
        g->stride[i] = l[1][i];
        g->pad[i] = l[2][i];
        g->dil[i] = max ? l[3][i] : 1;
        if (g->pad[i] > g->k[i] / 2)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "pad should be at most half of kernel size, but got pad=%lld and kernel_size=%lld",
                                 (long long)g->pad[i], (long long)g->k[i]);
    }
    g->ceil_mode = a->attrs[0] != 0;
    if (!max) {
        g->count_include_pad = a->attrs[TD_A_AVG_POOL_COUNT_INCLUDE_PAD] != 0;
        g->divisor = a->attrs[TD_A_AVG_POOL_DIVISOR_OVERRIDE];
    }
    return TD_CODE_OK;
}

/* Input x of a pool: (N, C, *spatial), every non-batch dim non-empty. */
static enum td_code pool_input(const struct td_meta *x, int n, const char *name, struct td_status *st)
{
    char b[160];
    if (x->ndim != n + 2)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "non-empty %dD or %dD (batch mode) tensor expected for input",
                             n + 1, n + 2);
    for (int i = 1; i < x->ndim; i++)
        if (x->sizes[i] == 0) {
            if (name)
                return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                     "%s(): Expected input to have non-zero size for non-batch dimensions, but input "
                                     "has sizes %s with dimension %d being empty", name,
                                     td_meta_shape_str(x, b, sizeof b), i);
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                                 "Expected %dD or %dD (batch mode) tensor with optional 0 dim batch size for input, "
                                 "but got:%s", n + 1, n + 2, td_meta_shape_str(x, b, sizeof b));
        }
    return TD_CODE_OK;
}

static enum td_code pool_geom(const struct td_op_args *a, struct td_conv_geom *g, struct td_status *st)
{
    const struct td_meta *x = a->in[input_slot(a->op)];
    if (pool_attrs(a, g, st) || pool_input(x, g->nsp, NULL, st))
        return st->code;
    char kernel[32];
    snprintf(kernel, sizeof kernel, "%s_pool%dd", a->op == TD_OP_MAX_POOL ? "max" : "avg", g->nsp);
    if (check_float(x, kernel, g->nsp <= 2, st))
        return st->code;
    take_sizes(x, g);
    bool bad = false;
    for (int i = 0; i < g->nsp; i++) {
        /* torch's pooling_output_shape: (in + 2p - dil (k - 1) - 1 [+ s - 1]) / s + 1, rounded
           down; with ceil_mode a last window starting in the right padding is dropped */
        int64_t span, s = g->stride[i], num;
        if (td_mul_overflow(g->dil[i], g->k[i] - 1, &span) || span > 4 * TD_MAX_NUMEL)
            span = 4 * TD_MAX_NUMEL;
        num = g->in[i] + 2 * g->pad[i] - span - 1 + (g->ceil_mode ? s - 1 : 0);
        int64_t o = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
        if (g->ceil_mode && o > 0 && (o - 1) * s >= g->in[i] + g->pad[i])
            o--;
        g->out[i] = o;
        bad |= o < 1;
    }
    if (bad) {
        char b1[160], b2[160];
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Given input size: (%s). Calculated output size: (%s). Output size is too small",
                             dims_x(g->c_in, g->in, g->nsp, b1, sizeof b1),
                             dims_x(g->c_in, g->out, g->nsp, b2, sizeof b2));
    }
    return TD_CODE_OK;
}

static enum td_code adaptive_geom(const struct td_op_args *a, struct td_conv_geom *g, struct td_status *st)
{
    const struct td_meta *x = a->in[input_slot(a->op)];
    const int64_t *l[1];
    if (read_lists(a, TD_A_ADAPTIVE_AVG_POOL_NDIM, 1, l, &g->nsp, st))
        return st->code;
    char name[40];
    snprintf(name, sizeof name, "adaptive_%s_pool%dd", a->op == TD_OP_ADAPTIVE_MAX_POOL ? "max" : "avg", g->nsp);
    if (!in_range(l[0], g->nsp, 0))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "%s: elements of output_size must be greater than or equal to 0", name);
    if (pool_input(x, g->nsp, name, st) || check_float(x, name, g->nsp <= 2, st))
        return st->code;
    take_sizes(x, g);
    memcpy(g->out, l[0], sizeof(int64_t) * g->nsp);
    g->groups = 1;
    return TD_CODE_OK;
}

/* MAX_POOL_BACKWARD (grad_output, input, indices): any spatial output sizes (the adaptive
 * pool's may exceed the input's); indices are range-checked by the kernel. */
static enum td_code max_backward_geom(const struct td_op_args *a, struct td_conv_geom *g, struct td_status *st)
{
    const struct td_meta *go = a->in[0], *x = a->in[1], *ix = a->in[2];
    if (x->ndim < 3 || x->ndim > 2 + TD_CONV_MAX_SP)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "max_pool_backward: expected input of 3 to 5 dims, got %d",
                             x->ndim);
    g->nsp = x->ndim - 2;
    take_sizes(x, g);
    if (check_float(x, "max_pool_backward", g->nsp <= 2, st))
        return st->code;
    bool ok = go->ndim == x->ndim && go->dtype == x->dtype && ix->ndim == x->ndim && ix->dtype == TD_DTYPE_INT64 &&
              go->sizes[0] == x->sizes[0] && go->sizes[1] == x->sizes[1] &&
              !memcmp(go->sizes, ix->sizes, sizeof(int64_t) * go->ndim);
    if (!ok)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "max_pool_backward: grad_output, input and int64 indices disagree in shape or dtype");
    memcpy(g->out, go->sizes + 2, sizeof(int64_t) * g->nsp);
    g->groups = 1;
    return TD_CODE_OK;
}

/* A backward row's grad_output: the forward output's sizes and the input's dtype. */
static enum td_code check_grad_output(const struct td_op_args *a, const struct td_conv_geom *g, struct td_status *st)
{
    const struct td_meta *go = a->in[0], *x = a->in[input_slot(a->op)];
    int64_t want[2 + TD_CONV_MAX_SP] = {g->batch, g->c_out};
    memcpy(want + 2, g->out, sizeof(int64_t) * g->nsp);
    if (go->ndim == g->nsp + 2 && !memcmp(go->sizes, want, sizeof(int64_t) * go->ndim) && go->dtype == x->dtype)
        return TD_CODE_OK;
    char b1[160], b2[160];
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                         "%s: expected grad_output of size %s and dtype %s, got %s of %s", td_op_name(a->op),
                         td__sizes_str(want, g->nsp + 2, b1, sizeof b1), td_dtype_torch_name((enum td_dtype)x->dtype),
                         td_meta_shape_str(go, b2, sizeof b2), td_dtype_torch_name((enum td_dtype)go->dtype));
}

static enum td_code check_bias(const struct td_op_args *a, const struct td_conv_geom *g, struct td_status *st)
{
    if (a->n_in < 3)
        return TD_CODE_OK;
    const struct td_meta *b = a->in[2], *x = a->in[0], *w = a->in[1];
    char b1[160], b2[160];
    if (b->ndim != 1 || b->sizes[0] != g->c_out)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT,
                             "Given weight of size %s, expected bias to be 1-dimensional with %lld elements, but got "
                             "bias of size %s instead", td_meta_shape_str(w, b1, sizeof b1), (long long)g->c_out,
                             td_meta_shape_str(b, b2, sizeof b2));
    if (b->dtype != x->dtype)
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Input type (%s) and bias type (%s) should be the same",
                             x->dtype == TD_DTYPE_FLOAT32 ? "float" : "double",
                             b->dtype == TD_DTYPE_FLOAT64 ? "double" : b->dtype == TD_DTYPE_FLOAT32 ? "float"
                                                                     : td_dtype_torch_name((enum td_dtype)b->dtype));
    return TD_CODE_OK;
}

enum td_code td_conv_geom_of(const struct td_op_args *a, struct td_conv_geom *g, struct td_status *st)
{
    memset(g, 0, sizeof *g);
    g->groups = 1;
    int n_in = td_op_table[a->op].n_in;
    if (a->op == TD_OP_CONV ? td__need_inputs(a, 2, 3, st) : td__need_inputs(a, n_in, n_in, st))
        return st->code;
    switch (kind_of((enum td_op)a->op)) {
    case K_CONV:
        if (conv_geom(a, g, st))
            return st->code;
        break;
    case K_MAX:
    case K_AVG:
        if (pool_geom(a, g, st))
            return st->code;
        break;
    case K_ADAPTIVE:
        if (adaptive_geom(a, g, st))
            return st->code;
        break;
    case K_MAX_BACKWARD: return max_backward_geom(a, g, st);
    }
    if (a->op == TD_OP_CONV)
        return check_bias(a, g, st);
    if (input_slot(a->op) != 0) /* a backward row */
        return check_grad_output(a, g, st);
    return TD_CODE_OK;
}

enum td_code td__infer_conv(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                            struct td_status *st)
{
    struct td_conv_geom g;
    if (td_conv_geom_of(a, &g, st))
        return st->code;
    const struct td_meta *x = a->in[input_slot(a->op)];
    enum td_dtype dt = (enum td_dtype)x->dtype;
    inf->n_out = td_op_table[a->op].n_out;
    inf->compute_dtype = td__compute_dtype(dt);
    int64_t sizes[2 + TD_CONV_MAX_SP] = {g.batch, g.c_out};
    memcpy(sizes + 2, g.out, sizeof(int64_t) * g.nsp);
    switch (a->op) {
    case TD_OP_CONV_BACKWARD_INPUT:
    case TD_OP_MAX_POOL_BACKWARD:
    case TD_OP_AVG_POOL_BACKWARD:
    case TD_OP_ADAPTIVE_AVG_POOL_BACKWARD: return td_meta_contiguous(&out[0], dt, x->ndim, x->sizes, st);
    case TD_OP_CONV_BACKWARD_WEIGHT: {
        const struct td_meta *w = a->in[2];
        return td_meta_contiguous(&out[0], dt, w->ndim, w->sizes, st);
    }
    default:
        break;
    }
    /* the forward ops keep a channels-last input's layout, as torch's CPU kernels do
     * (convolution: 2-d only, and a channels-last weight too, as its mkldnn path) */
    bool cl = a->op == TD_OP_CONV ? x->ndim == 4 && (td__channels_last_like(x) || td__channels_last_like(a->in[1]))
                                  : td__channels_last_like(x);
    for (int j = 0; j < inf->n_out; j++) {
        if (td_meta_contiguous(&out[j], j ? TD_DTYPE_INT64 : dt, g.nsp + 2, sizes, st))
            return st->code;
        if (cl)
            td__channels_last(&out[j]);
    }
    return TD_CODE_OK;
}
