/*
 * conv.cu — CONV (bias fused), CONV_BACKWARD_INPUT and CONV_BACKWARD_WEIGHT over 1-3
 * spatial dims, float32/float64 (and float16/bfloat16 natively: tensor cores, float32
 * accumulation), with groups, stride, padding and dilation, through
 * cuDNN 9's convolution API (cudnnConvolutionForward / BackwardData / BackwardFilter).
 *
 * cuDNN is not linked: libcudnn.so.9 is opened (dlopen) on the first lookup of a CONV
 * row, and when it or one of its functions is missing every CONV row has no kernel
 * (the executor stages them through the CPU's im2col + GEMM).  Operands follow
 * kernels/cpu/conv.c: input (N, C_in, *in), weight (C_out, C_in/groups, *k), bias
 * (C_out); the attributes are groups, the three list lengths (all equal to the spatial
 * dims, the meta rule checked the record) and the stride, padding and dilation lists.
 * A 1-d convolution is a 2-d one over a leading spatial dim of 1 (cuDNN wants 4-d
 * descriptors at least).  Operands that are not contiguous are first copied into
 * contiguous scratch with the plugin's COPY_.
 *
 * Each stream gets its own cuDNN handle (a handle serves one thread at a time; a
 * stream is driven by one session) and a workspace that grows to the largest request,
 * up to TD_CU_CONV_WS_MAX, freed with the stream.  Algorithms come from cuDNN's
 * heuristics (the *_v7 queries, no trial runs): the first one that succeeds within
 * the workspace limit with the wanted math, remembered per shape.  TF32 is off for
 * float32 (CUDNN_FMA_MATH) unless TENSORD_CUDA_ALLOW_TF32=1, as for matmul.  Results
 * match the CPU's within float rounding, not bit for bit (another summation order).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda_common.cuh"

#if TD_GPU_HAVE_CUDNN
#include <cudnn.h>

#define TD_CU_CONV_WS_MAX ((size_t)512 << 20)

/* ---- the cuDNN functions, from dlopen */
#define CUDNN_FNS(X)                                                                    \
    X(cudnnCreate) X(cudnnDestroy) X(cudnnSetStream) X(cudnnGetErrorString)               \
    X(cudnnCreateTensorDescriptor) X(cudnnDestroyTensorDescriptor) X(cudnnSetTensorNdDescriptor) \
    X(cudnnCreateFilterDescriptor) X(cudnnDestroyFilterDescriptor) X(cudnnSetFilterNdDescriptor) \
    X(cudnnCreateConvolutionDescriptor) X(cudnnDestroyConvolutionDescriptor)               \
    X(cudnnSetConvolutionNdDescriptor) X(cudnnSetConvolutionGroupCount) X(cudnnSetConvolutionMathType) \
    X(cudnnGetConvolutionForwardAlgorithm_v7) X(cudnnGetConvolutionBackwardDataAlgorithm_v7) \
    X(cudnnGetConvolutionBackwardFilterAlgorithm_v7) X(cudnnGetConvolutionForwardWorkspaceSize) \
    X(cudnnGetConvolutionBackwardDataWorkspaceSize) X(cudnnGetConvolutionBackwardFilterWorkspaceSize) \
    X(cudnnConvolutionForward) X(cudnnConvolutionBackwardData) X(cudnnConvolutionBackwardFilter) \
    X(cudnnAddTensor)

static struct {
#define X(f) decltype(&::f) f;
    CUDNN_FNS(X)
#undef X
} dnn;
static bool dnn_ok;
static pthread_once_t dnn_once = PTHREAD_ONCE_INIT;

static void dnn_load(void)
{
    void *h = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return;
    bool ok = true;
#define X(f) ok = ok && (dnn.f = (decltype(dnn.f))dlsym(h, #f)) != NULL;
    CUDNN_FNS(X)
#undef X
    dnn_ok = ok; /* the library stays open for the plugin's life */
}

/* ---- per-stream state: the handle and the workspace; legacy-stream kernels (NULL
 * stream) share one handle per device under a lock */

struct conv_stream {
    cudnnHandle_t h;
    void *ws;
    size_t ws_bytes;
};
static struct conv_stream legacy[TD_MAX_DEVICES];
static pthread_mutex_t legacy_mu = PTHREAD_MUTEX_INITIALIZER;

void td__cuda_conv_release(struct td_cu_stream *st)
{
    struct conv_stream *c = (struct conv_stream *)st->conv;
    if (!c)
        return;
    if (c->ws)
        (void)cudaFreeAsync(c->ws, st->s);
    if (c->h)
        dnn.cudnnDestroy(c->h);
    free(c);
    st->conv = NULL;
}

/* ---- the geometry, from the validated record */

enum { C_FWD, C_BWD_DATA, C_BWD_FILTER };

struct conv_geom {
    int kind, nsp, nd; /* nd: descriptor dims, 2 + max(nsp, 2) */
    int x[5], w[5], y[5];
    int stride[3], pad[3], dil[3], groups;
};

struct algo_entry {
    struct conv_geom g;
    int dt, dev, tf32, algo;
    size_t ws;
};
#define ALGO_CACHE 64
static struct algo_entry algo_cache[ALGO_CACHE];
static int algo_n, algo_next;
static pthread_mutex_t algo_mu = PTHREAD_MUTEX_INITIALIZER;

static bool to_int(int64_t v, int *out)
{
    if (v < 0 || v > INT32_MAX)
        return false;
    *out = (int)v;
    return true;
}

/* sizes of an (N, C, *sp) tensor into cuDNN dims, a 1-d one with a leading 1 */
static bool dims_of(const struct td_meta *m, int nsp, int *d)
{
    if (m->ndim != nsp + 2)
        return false;
    int j = 0;
    for (int i = 0; i < 2; i++)
        if (!to_int(m->sizes[i], &d[j++]))
            return false;
    if (nsp == 1)
        d[j++] = 1;
    for (int i = 0; i < nsp; i++)
        if (!to_int(m->sizes[2 + i], &d[j++]))
            return false;
    return true;
}

static enum td_code geom_of(const struct td_kctx *k, struct conv_geom *g)
{
    memset(g, 0, sizeof *g);
    g->kind = k->op == TD_OP_CONV ? C_FWD : k->op == TD_OP_CONV_BACKWARD_INPUT ? C_BWD_DATA : C_BWD_FILTER;
    if (k->n_attr < 4 || k->n_out < 1 || k->n_in < 2 || k->n_in > 3)
        return TD_CODE_INVALID_ARGUMENT;
    int64_t n = k->attrs[1];
    if (n < 1 || n > 3 || k->attrs[2] != n || k->attrs[3] != n || k->n_attr != 4 + 3 * (uint32_t)n ||
        (g->kind != C_FWD && k->n_in != 3))
        return TD_CODE_INVALID_ARGUMENT;
    g->nsp = (int)n;
    g->nd = 2 + (n < 2 ? 2 : (int)n);
    if (!to_int(k->attrs[0], &g->groups) || g->groups < 1)
        return TD_CODE_INVALID_ARGUMENT;
    int j = 0;
    if (n == 1)
        g->stride[0] = 1, g->pad[0] = 0, g->dil[0] = 1, j = 1;
    for (int i = 0; i < n; i++, j++)
        if (!to_int(k->attrs[4 + i], &g->stride[j]) || !to_int(k->attrs[4 + n + i], &g->pad[j]) ||
            !to_int(k->attrs[4 + 2 * n + i], &g->dil[j]))
            return TD_CODE_INVALID_ARGUMENT;
    const struct td_meta *x, *w, *y;
    switch (g->kind) {
    case C_FWD: x = &k->in[0]->m, w = &k->in[1]->m, y = &k->out[0]->m; break;
    case C_BWD_DATA: y = &k->in[0]->m, w = &k->in[1]->m, x = &k->out[0]->m; break;
    default: y = &k->in[0]->m, x = &k->in[1]->m, w = &k->out[0]->m; break;
    }
    if (!dims_of(x, g->nsp, g->x) || !dims_of(w, g->nsp, g->w) || !dims_of(y, g->nsp, g->y))
        return TD_CODE_INVALID_ARGUMENT;
    return TD_CODE_OK;
}

static void packed_strides(int nd, const int *d, int *s)
{
    s[nd - 1] = 1;
    for (int i = nd - 2; i >= 0; i--)
        s[i] = s[i + 1] * (d[i + 1] > 0 ? d[i + 1] : 1);
}

/* ---- running one convolution */

struct descs {
    cudnnTensorDescriptor_t x, y, b;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t c;
};

static void descs_free(struct descs *d)
{
    if (d->x)
        dnn.cudnnDestroyTensorDescriptor(d->x);
    if (d->y)
        dnn.cudnnDestroyTensorDescriptor(d->y);
    if (d->b)
        dnn.cudnnDestroyTensorDescriptor(d->b);
    if (d->w)
        dnn.cudnnDestroyFilterDescriptor(d->w);
    if (d->c)
        dnn.cudnnDestroyConvolutionDescriptor(d->c);
}

/* float32 without TF32: FMA kernels only; float64 has no tensor-core math to refuse;
 * float16/bfloat16 (the native path): the tensor cores */
static cudnnMathType_t math_of(cudnnDataType_t t, bool tf32)
{
    if (t == CUDNN_DATA_HALF || t == CUDNN_DATA_BFLOAT16)
        return CUDNN_TENSOR_OP_MATH;
    return t == CUDNN_DATA_FLOAT && !tf32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
}

static cudnnDataType_t dnn_type(int dt)
{
    switch (dt) {
    case TD_DTYPE_FLOAT64: return CUDNN_DATA_DOUBLE;
    case TD_DTYPE_FLOAT16: return CUDNN_DATA_HALF;
    case TD_DTYPE_BFLOAT16: return CUDNN_DATA_BFLOAT16;
    default: return CUDNN_DATA_FLOAT;
    }
}

static cudnnStatus_t descs_make(const struct conv_geom *g, cudnnDataType_t t, bool tf32, struct descs *d)
{
    cudnnStatus_t s;
    int sx[5], sy[5];
    packed_strides(g->nd, g->x, sx);
    packed_strides(g->nd, g->y, sy);
    int nsp = g->nd - 2;
    if ((s = dnn.cudnnCreateTensorDescriptor(&d->x)) || (s = dnn.cudnnCreateTensorDescriptor(&d->y)) ||
        (s = dnn.cudnnCreateFilterDescriptor(&d->w)) || (s = dnn.cudnnCreateConvolutionDescriptor(&d->c)) ||
        (s = dnn.cudnnSetTensorNdDescriptor(d->x, t, g->nd, g->x, sx)) ||
        (s = dnn.cudnnSetTensorNdDescriptor(d->y, t, g->nd, g->y, sy)) ||
        (s = dnn.cudnnSetFilterNdDescriptor(d->w, t, CUDNN_TENSOR_NCHW, g->nd, g->w)) ||
        /* 16-bit data accumulates in float32, as the CPU computes it */
        (s = dnn.cudnnSetConvolutionNdDescriptor(d->c, nsp, g->pad, g->stride, g->dil, CUDNN_CROSS_CORRELATION,
                                                 t == CUDNN_DATA_DOUBLE ? t : CUDNN_DATA_FLOAT)) ||
        (s = dnn.cudnnSetConvolutionGroupCount(d->c, g->groups)) ||
        (s = dnn.cudnnSetConvolutionMathType(d->c, math_of(t, tf32))))
        return s;
    return CUDNN_STATUS_SUCCESS;
}

/* The algorithm for g (cached), and its workspace size. */
static cudnnStatus_t pick_algo(cudnnHandle_t h, const struct conv_geom *g, const struct descs *d, int dt, int dev,
                               bool tf32, int *algo, size_t *ws)
{
    pthread_mutex_lock(&algo_mu);
    for (int i = 0; i < algo_n; i++) {
        struct algo_entry *e = &algo_cache[i];
        if (e->dt == dt && e->dev == dev && e->tf32 == tf32 && !memcmp(&e->g, g, sizeof *g)) {
            *algo = e->algo, *ws = e->ws;
            pthread_mutex_unlock(&algo_mu);
            return CUDNN_STATUS_SUCCESS;
        }
    }
    pthread_mutex_unlock(&algo_mu);
    cudnnMathType_t want = math_of(dnn_type(dt), tf32);
    int n = 0, found = -1;
    size_t need = 0;
    cudnnStatus_t s;
    /* the three perf structs share their leading fields; one loop per kind */
#define PICK(PERF, QUERY, SIZE, ...)                                                    \
    {                                                                                   \
        PERF perf[16];                                                                  \
        if ((s = dnn.QUERY(h, __VA_ARGS__, 16, &n, perf)))                              \
            return s;                                                                   \
        /* pass 0: the descriptor's math type only; pass 1: any that runs */            \
        for (int pass = 0; pass < 2 && found < 0; pass++)                               \
            for (int i = 0; i < n && found < 0; i++) {                                  \
                size_t b = 0;                                                           \
                if (perf[i].status || (pass == 0 && perf[i].mathType != want))          \
                    continue;                                                           \
                if (dnn.SIZE(h, __VA_ARGS__, perf[i].algo, &b) || b > TD_CU_CONV_WS_MAX) \
                    continue;                                                           \
                found = (int)perf[i].algo, need = b;                                    \
            }                                                                           \
    }
    if (g->kind == C_FWD)
        PICK(cudnnConvolutionFwdAlgoPerf_t, cudnnGetConvolutionForwardAlgorithm_v7,
             cudnnGetConvolutionForwardWorkspaceSize, d->x, d->w, d->c, d->y)
    else if (g->kind == C_BWD_DATA)
        PICK(cudnnConvolutionBwdDataAlgoPerf_t, cudnnGetConvolutionBackwardDataAlgorithm_v7,
             cudnnGetConvolutionBackwardDataWorkspaceSize, d->w, d->y, d->c, d->x)
    else
        PICK(cudnnConvolutionBwdFilterAlgoPerf_t, cudnnGetConvolutionBackwardFilterAlgorithm_v7,
             cudnnGetConvolutionBackwardFilterWorkspaceSize, d->x, d->y, d->c, d->w)
#undef PICK
    if (found < 0)
        return CUDNN_STATUS_NOT_SUPPORTED;
    *algo = found, *ws = need;
    pthread_mutex_lock(&algo_mu);
    struct algo_entry *e = &algo_cache[algo_n < ALGO_CACHE ? algo_n++ : (algo_next++ % ALGO_CACHE)];
    e->g = *g, e->dt = dt, e->dev = dev, e->tf32 = tf32, e->algo = found, e->ws = need;
    pthread_mutex_unlock(&algo_mu);
    return CUDNN_STATUS_SUCCESS;
}

static enum td_code dnn_fail(struct td_kctx *k, cudnnStatus_t s)
{
    if (k->msg)
        snprintf(k->msg, TD_KMSG_LEN, "cuDNN error: %s", dnn.cudnnGetErrorString(s));
    return TD_CODE_INTERNAL;
}

static enum td_code cu_conv(struct td_kctx *k)
{
    struct conv_geom g;
    enum td_code c = geom_of(k, &g);
    if (c)
        return c;
    int dt = k->compute_dtype;
    if ((dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64 && !td_cu_is_half(dt)) || k->out[0]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    struct td_cu_stream *st = (struct td_cu_stream *)k->stream;
    cudaStream_t s = td_cu_stream_of(st);
    struct td_kt *o = k->out[0];
    int64_t on = 1, es = td_cu_dtype_size(dt);
    for (int i = 0; i < o->m.ndim; i++)
        on *= o->m.sizes[i];
    if (on == 0)
        return TD_CODE_OK;
    char *op = o->data + o->m.offset * es;
    /* operands with no elements (batch 0, no input channels): a sum of nothing */
    bool empty = false;
    for (int i = 0; i < g.nd; i++)
        empty |= g.x[i] == 0 || g.w[i] == 0 || g.y[i] == 0;
    /* the executor allocates outputs contiguous */
    if (empty) {
        if (cudaMemsetAsync(op, 0, (size_t)(on * es), s) != cudaSuccess) {
            (void)cudaGetLastError();
            return TD_CODE_INTERNAL;
        }
        if (g.kind != C_FWD || k->n_in < 3)
            return TD_CODE_OK;
    }
    struct conv_stream *cs;
    bool locked = false;
    int dev = st ? st->dev : k->device;
    if (st) {
        if (!st->conv && !(st->conv = calloc(1, sizeof(struct conv_stream))))
            return TD_CODE_RESOURCE_EXHAUSTED;
        cs = (struct conv_stream *)st->conv;
    } else {
        if (dev < 0 || dev >= TD_MAX_DEVICES)
            return TD_CODE_INVALID_ARGUMENT;
        pthread_mutex_lock(&legacy_mu);
        locked = true;
        cs = &legacy[dev];
    }
    cudnnStatus_t ds = CUDNN_STATUS_SUCCESS;
    struct descs d;
    memset(&d, 0, sizeof d);
    void *scr[3] = {NULL, NULL, NULL};
    const void *ip[3] = {NULL, NULL, NULL};
    bool tf32 = dt == TD_DTYPE_FLOAT32 && (td__cuda_allow_tf32 || (k->options & TD_KOPT_CUDNN_TF32));
    cudnnDataType_t t = dnn_type(dt); /* scaling factors: double for double data, else float */
    double one64 = 1, zero64 = 0;
    float one32 = 1, zero32 = 0;
    const void *one = dt == TD_DTYPE_FLOAT64 ? (const void *)&one64 : (const void *)&one32;
    const void *zero = dt == TD_DTYPE_FLOAT64 ? (const void *)&zero64 : (const void *)&zero32;
    int algo = 0;
    size_t ws = 0;
    if (!cs->h) {
        if ((ds = dnn.cudnnCreate(&cs->h))) {
            cs->h = NULL;
            goto out;
        }
    }
    if ((ds = dnn.cudnnSetStream(cs->h, s)))
        goto out;
    if (!empty) {
        if ((ds = descs_make(&g, t, tf32, &d)))
            goto out;
        /* BACKWARD rows' third operand only carries the shape */
        for (int i = 0; i < k->n_in; i++)
            if ((g.kind == C_FWD || i < 2) && !(ip[i] = td__cuda_dense(k, k->in[i], &scr[i], &c)))
                goto out;
        if ((ds = pick_algo(cs->h, &g, &d, dt, dev, tf32, &algo, &ws)))
            goto out;
        if (ws > cs->ws_bytes) {
            if (cs->ws)
                (void)cudaFreeAsync(cs->ws, s);
            cs->ws = NULL, cs->ws_bytes = 0;
            if (cudaMallocAsync(&cs->ws, ws, s) != cudaSuccess) {
                (void)cudaGetLastError();
                cs->ws = NULL;
                c = TD_CODE_RESOURCE_EXHAUSTED;
                goto out;
            }
            cs->ws_bytes = ws;
        }
        if (g.kind == C_FWD)
            ds = dnn.cudnnConvolutionForward(cs->h, one, d.x, ip[0], d.w, ip[1], d.c, (cudnnConvolutionFwdAlgo_t)algo,
                                             cs->ws, cs->ws_bytes, zero, d.y, op);
        else if (g.kind == C_BWD_DATA)
            ds = dnn.cudnnConvolutionBackwardData(cs->h, one, d.w, ip[1], d.y, ip[0], d.c,
                                                  (cudnnConvolutionBwdDataAlgo_t)algo, cs->ws, cs->ws_bytes, zero, d.x, op);
        else
            ds = dnn.cudnnConvolutionBackwardFilter(cs->h, one, d.x, ip[1], d.y, ip[0], d.c,
                                                    (cudnnConvolutionBwdFilterAlgo_t)algo, cs->ws, cs->ws_bytes, zero, d.w,
                                                    op);
        if (ds)
            goto out;
    }
    if (g.kind == C_FWD && k->n_in == 3) { /* y += bias over (1, C_out, 1, ...) */
        int bd[5] = {1, g.y[1], 1, 1, 1}, bs[5], ys[5];
        packed_strides(g.nd, bd, bs);
        packed_strides(g.nd, g.y, ys);
        if (!(ip[2] = td__cuda_dense(k, k->in[2], &scr[2], &c)))
            goto out;
        if ((!d.y && ((ds = dnn.cudnnCreateTensorDescriptor(&d.y)) || (ds = dnn.cudnnSetTensorNdDescriptor(d.y, t, g.nd, g.y, ys)))) ||
            (ds = dnn.cudnnCreateTensorDescriptor(&d.b)) || (ds = dnn.cudnnSetTensorNdDescriptor(d.b, t, g.nd, bd, bs)) ||
            (ds = dnn.cudnnAddTensor(cs->h, one, d.b, ip[2], one, d.y, op)))
            goto out;
    }
out:
    if (locked)
        pthread_mutex_unlock(&legacy_mu);
    descs_free(&d);
    for (int i = 0; i < 3; i++)
        if (scr[i])
            (void)cudaFreeAsync(scr[i], s);
    if (ds)
        return dnn_fail(k, ds);
    if (c)
        return c;
    return td_cu_launched();
}

td_kernel_fn td__cuda_conv_kernel(unsigned op, unsigned dt)
{
    if (op != TD_OP_CONV && op != TD_OP_CONV_BACKWARD_INPUT && op != TD_OP_CONV_BACKWARD_WEIGHT)
        return NULL;
    /* float16/bfloat16: the native path (device.h's half_kernel) */
    if (dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64 && !td_cu_is_half((int)dt))
        return NULL;
    pthread_once(&dnn_once, dnn_load);
    return dnn_ok ? cu_conv : NULL;
}

#else /* no cuDNN (the ROCm build): the executor stages the CONV rows */

void td__cuda_conv_release(struct td_cu_stream *st) { (void)st; }

td_kernel_fn td__cuda_conv_kernel(unsigned op, unsigned dt)
{
    (void)op, (void)dt;
    return NULL;
}
#endif
