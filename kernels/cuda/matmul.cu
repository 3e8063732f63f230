/*
 * matmul.cu — MATMUL, MM and BMM in float32, float64, float16 and bfloat16 through cuBLASLt.
 *
 * Operands are reduced to a batch of (n x k) @ (k x m) products exactly as
 * kernels/cpu/matmul.c does (1-d left operand = a row, 1-d right operand = a column,
 * batch dims broadcast with stride 0).  cuBLASLt is column-major, so the row-major
 * product C = A B is computed as C^T = B^T A^T: a row-major matrix with unit column
 * stride is its transpose in column-major with the row stride as leading dimension;
 * one with unit row stride is column-major as it is (passed transposed).  Every
 * product is one strided-batched call: an operand whose batch dims do not collapse
 * into one stride, or whose matrices have no unit stride, is first copied (the
 * elementwise engine) into a contiguous batch in stream-ordered scratch.
 *
 * float16/bfloat16 (the native path, device.h's half_kernel) multiply on the tensor
 * cores with FP32 accumulation and one rounding of the result, as the CPU's float32
 * product between its casts (only the summation order differs).
 * Float32 uses full-precision FP32 compute unless TENSORD_CUDA_ALLOW_TF32=1 was set
 * when the plugin initialized (torch.backends.cuda.matmul.allow_tf32's default is off).
 * Pointer alignments are declared to the heuristic (cuBLASLt assumes 256 bytes unless
 * told).  The workspace is per stream (two streams must not share one), allocated on
 * the stream's first product and freed with the stream.
 * Integer and bool products have no device kernel here (the executor stages them).
 */
#include <mutex>

#include "elementwise_ops.cuh"

#if TD_GPU_HAVE_BLASLT
#include <cublasLt.h>

#define WORKSPACE_BYTES (32u << 20) /* what NVIDIA recommends for Hopper */

static std::mutex handle_mu;
static cublasLtHandle_t handles[TD_MAX_DEVICES];

static cublasLtHandle_t handle_for(int dev)
{
    if (dev < 0 || dev >= TD_MAX_DEVICES)
        return NULL;
    std::lock_guard<std::mutex> g(handle_mu);
    if (!handles[dev] && cublasLtCreate(&handles[dev]) != CUBLAS_STATUS_SUCCESS)
        handles[dev] = NULL;
    return handles[dev];
}

struct mat {
    char *p;
    int64_t rows, cols, rs, cs; /* element strides */
};

/* A column-major description of row-major m: op (transposed or not), the stored
 * matrix's rows and leading dim.  False when neither stride is 1. */
struct lt_view {
    cublasOperation_t op;
    int64_t rows, cols, ld;
};

static bool col_major_view(const struct mat *m, struct lt_view *v)
{
    int64_t r = m->rows, c = m->cols;
    int64_t rs = r == 1 ? (c > 1 ? c : 1) : m->rs, cs = c == 1 ? 1 : m->cs;
    if (cs == 1 && rs >= (c > 1 ? c : 1)) { /* rows contiguous: m^T is column-major, ld = row stride */
        *v = {CUBLAS_OP_N, c, r, rs};
        return true;
    }
    rs = r == 1 ? 1 : m->rs;
    cs = c == 1 ? (r > 1 ? r : 1) : m->cs;
    if (rs == 1 && cs >= (r > 1 ? r : 1)) { /* columns contiguous: m column-major, used transposed */
        *v = {CUBLAS_OP_T, r, c, cs};
        return true;
    }
    return false;
}

static int64_t align_of(const void *p, int64_t batch_stride_bytes)
{
    uint64_t a = (uint64_t)(uintptr_t)p | (uint64_t)batch_stride_bytes | 256u;
    return (int64_t)(a & (~a + 1)); /* lowest set bit */
}

struct gemm_job {
    cudaDataType_t type;
    cublasComputeType_t compute;
    size_t esz;
    struct mat a, b, c; /* C = A B, row-major views */
    int64_t k, batch, sa, sb, sc; /* batch count and element strides */
};

static cublasStatus_t layout(cublasLtMatrixLayout_t *l, cudaDataType_t t, const struct lt_view *v, int64_t batch,
                             int64_t stride_elems)
{
    cublasStatus_t st = cublasLtMatrixLayoutCreate(l, t, (uint64_t)v->rows, (uint64_t)v->cols, v->ld);
    if (st != CUBLAS_STATUS_SUCCESS || batch <= 1)
        return st;
    int32_t bc = (int32_t)batch;
    cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc);
    return cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride_elems,
                                            sizeof stride_elems);
}

/* One (batched) product on stream st; all three views are known to be valid. */
static enum td_code lt_gemm(struct td_cu_stream *st, cudaStream_t s, cublasLtHandle_t h, const struct gemm_job *j)
{
    struct lt_view va, vb, vc;
    if (!col_major_view(&j->a, &va) || !col_major_view(&j->b, &vb) || !col_major_view(&j->c, &vc) ||
        vc.op != CUBLAS_OP_N)
        return TD_CODE_INTERNAL;
    /* column-major D (m x n) = op(B^T view) (m x k) * op(A^T view) (k x n) */
    cublasOperation_t opa = vb.op, opb = va.op;
    cublasLtMatmulDesc_t desc = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    enum td_code rc = TD_CODE_INTERNAL;
    cudaDataType_t scale = j->type == CUDA_R_64F ? CUDA_R_64F : CUDA_R_32F;
    if (cublasLtMatmulDescCreate(&desc, j->compute, scale) != CUBLAS_STATUS_SUCCESS)
        return TD_CODE_INTERNAL;
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa);
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb);
    if (layout(&la, j->type, &vb, j->batch, j->sb) != CUBLAS_STATUS_SUCCESS ||
        layout(&lb, j->type, &va, j->batch, j->sa) != CUBLAS_STATUS_SUCCESS ||
        layout(&lc, j->type, &vc, j->batch, j->sc) != CUBLAS_STATUS_SUCCESS)
        goto out;
    if (cublasLtMatmulPreferenceCreate(&pref) != CUBLAS_STATUS_SUCCESS)
        goto out;
    {
        uint64_t ws = st ? st->workspace_bytes : 0;
        uint32_t al_a = (uint32_t)align_of(j->b.p, j->sb * (int64_t)j->esz);
        uint32_t al_b = (uint32_t)align_of(j->a.p, j->sa * (int64_t)j->esz);
        uint32_t al_c = (uint32_t)align_of(j->c.p, j->sc * (int64_t)j->esz);
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a, sizeof al_a);
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b, sizeof al_b);
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_c, sizeof al_c);
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_c, sizeof al_c);
        if (cublasLtMatmulAlgoGetHeuristic(h, desc, la, lb, lc, lc, pref, 1, &heur, &found) != CUBLAS_STATUS_SUCCESS ||
            found < 1)
            goto out;
        double one64 = 1, zero64 = 0;
        float one32 = 1, zero32 = 0;
        const void *alpha = scale == CUDA_R_64F ? (const void *)&one64 : (const void *)&one32;
        const void *beta = scale == CUDA_R_64F ? (const void *)&zero64 : (const void *)&zero32;
        if (cublasLtMatmul(h, desc, alpha, j->b.p, la, j->a.p, lb, beta, j->c.p, lc, j->c.p, lc, &heur.algo,
                           st ? st->workspace : NULL, st ? st->workspace_bytes : 0, s) == CUBLAS_STATUS_SUCCESS)
            rc = TD_CODE_OK;
    }
out:
    if (pref)
        cublasLtMatmulPreferenceDestroy(pref);
    if (lc)
        cublasLtMatrixLayoutDestroy(lc);
    if (lb)
        cublasLtMatrixLayoutDestroy(lb);
    if (la)
        cublasLtMatrixLayoutDestroy(la);
    cublasLtMatmulDescDestroy(desc);
    return rc;
}

/* One stride for the whole flattened batch (out batch sizes, operand strides s), as a
 * strided-batched call needs; false when the dims do not collapse. */
static bool batch_uniform(const int64_t *sizes, const int64_t *s, int nbo, int64_t *stride)
{
    int64_t run = 1;
    bool first = true;
    *stride = 0;
    for (int j = nbo - 1; j >= 0; j--) {
        if (sizes[j] == 1)
            continue;
        if (first)
            *stride = s[j], first = false;
        else if (s[j] != *stride * run)
            return false;
        run *= sizes[j];
    }
    return true;
}

/* Copies operand m (batch strides s over the out batch sizes) into fresh stream-ordered
 * scratch as a contiguous batch of row-major matrices; m and *stride then describe the
 * copy.  *scratch is for the caller to free (cudaFreeAsync). */
static bool materialize(struct mat *m, int64_t *stride, const int64_t *sizes, const int64_t *s, int nbo,
                        int64_t nbatch, int dt, cudaStream_t st, void **scratch)
{
    struct td_kt src, dst;
    size_t esz = (size_t)td_cu_dtype_size(dt);
    memset(&src, 0, sizeof src);
    memset(&dst, 0, sizeof dst);
    src.m.dtype = dst.m.dtype = (uint8_t)dt;
    src.m.ndim = dst.m.ndim = (uint8_t)(nbo + 2);
    for (int j = 0; j < nbo; j++)
        src.m.sizes[j] = sizes[j], src.m.strides[j] = s[j];
    src.m.sizes[nbo] = m->rows, src.m.strides[nbo] = m->rs;
    src.m.sizes[nbo + 1] = m->cols, src.m.strides[nbo + 1] = m->cs;
    src.data = m->p;
    int64_t n = 1;
    for (int j = nbo + 1; j >= 0; j--)
        dst.m.sizes[j] = src.m.sizes[j], dst.m.strides[j] = n, n *= src.m.sizes[j];
    if (cudaMallocAsync(scratch, (size_t)n * esz, st) != cudaSuccess) {
        (void)cudaGetLastError();
        *scratch = NULL;
        return false;
    }
    dst.data = (char *)*scratch;
    struct td_kt *ops[2] = {&dst, &src};
    struct td_cu_iter it;
    if (!td_cu_iter_init(&it, 2, ops))
        return false;
    if ((esz == 8   ? td_cu_launch<2>(&it, st, move_f<uint64_t>())
         : esz == 4 ? td_cu_launch<2>(&it, st, move_f<uint32_t>())
                    : td_cu_launch<2>(&it, st, move_f<uint16_t>())) != TD_CODE_OK)
        return false;
    *m = (struct mat){(char *)*scratch, m->rows, m->cols, m->cols, 1};
    *stride = nbatch > 1 ? m->rows * m->cols : 0;
    return true;
}

static void as_mat(const struct td_kt *t, bool left, size_t esz, struct mat *m, int *nbatch)
{
    const struct td_meta *tm = &t->m;
    int nd = tm->ndim;
    char *p = t->data + tm->offset * (int64_t)esz;
    if (nd == 1) {
        *m = left ? (struct mat){p, 1, tm->sizes[0], 0, tm->strides[0]} : (struct mat){p, tm->sizes[0], 1, tm->strides[0], 0};
        *nbatch = 0;
        return;
    }
    *m = (struct mat){p, tm->sizes[nd - 2], tm->sizes[nd - 1], tm->strides[nd - 2], tm->strides[nd - 1]};
    *nbatch = nd - 2;
}

template <typename W> struct zero_f {
    __device__ void operator()(char **p) const { *(W *)p[0] = 0; }
};

static bool batch_stride(const struct td_meta *tm, int tb, int nb, int j, int64_t size, int64_t *stride)
{
    int d = j - (nb - tb);
    *stride = 0;
    if (d < 0 || tm->sizes[d] == 1)
        return true;
    *stride = tm->strides[d];
    return tm->sizes[d] == size;
}

static bool ensure_workspace(struct td_cu_stream *st)
{
    if (!st || st->workspace)
        return true;
    if (cudaMalloc(&st->workspace, WORKSPACE_BYTES) != cudaSuccess) {
        (void)cudaGetLastError();
        st->workspace = NULL;
        return true; /* run without one: fewer algorithms, still correct */
    }
    st->workspace_bytes = WORKSPACE_BYTES;
    return true;
}

static enum td_code cu_matmul(struct td_kctx *k)
{
    int dt = k->compute_dtype;
    if (k->n_in != 2 || k->n_out < 1 || (dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64 && !td_cu_is_half(dt)))
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *ta = k->in[0], *tb = k->in[1];
    struct td_kt *tc = k->out[0];
    const struct td_meta *om = &tc->m;
    if (ta->m.dtype != dt || tb->m.dtype != dt || om->dtype != dt || ta->m.ndim < 1 || tb->m.ndim < 1)
        return TD_CODE_INVALID_ARGUMENT;
    if (k->op == TD_OP_MM && (ta->m.ndim != 2 || tb->m.ndim != 2))
        return TD_CODE_INVALID_ARGUMENT;
    if (k->op == TD_OP_BMM && (ta->m.ndim != 3 || tb->m.ndim != 3 || ta->m.sizes[0] != tb->m.sizes[0]))
        return TD_CODE_INVALID_ARGUMENT;
    size_t esz = (size_t)td_cu_dtype_size(dt);
    struct mat a, b, c;
    int na, nb;
    as_mat(ta, true, esz, &a, &na);
    as_mat(tb, false, esz, &b, &nb);
    int a1 = ta->m.ndim == 1, b1 = tb->m.ndim == 1;
    int nbo = om->ndim - (a1 ? 0 : 1) - (b1 ? 0 : 1);
    if (a.cols != b.rows || nbo < 0 || nbo < na || nbo < nb)
        return TD_CODE_INVALID_ARGUMENT;
    c = (struct mat){tc->data + om->offset * (int64_t)esz, a.rows, b.cols, a1 ? 0 : om->strides[nbo],
                     b1 ? 0 : om->strides[om->ndim - 1]};
    if ((!a1 && om->sizes[nbo] != a.rows) || (!b1 && om->sizes[om->ndim - 1] != b.cols))
        return TD_CODE_INVALID_ARGUMENT;
    int64_t sa[TD_MAX_DIMS], sb[TD_MAX_DIMS], nbatch = 1;
    for (int j = 0; j < nbo; j++) {
        if (!batch_stride(&ta->m, na, nbo, j, om->sizes[j], &sa[j]) ||
            !batch_stride(&tb->m, nb, nbo, j, om->sizes[j], &sb[j]))
            return TD_CODE_INVALID_ARGUMENT;
        nbatch *= om->sizes[j];
    }
    if (nbatch == 0 || c.rows == 0 || c.cols == 0)
        return TD_CODE_OK;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    struct td_cu_stream *st = (struct td_cu_stream *)k->stream;
    cudaStream_t s = td_cu_stream_of(k->stream);
    struct lt_view v;
    if (!col_major_view(&c, &v) || v.op != CUBLAS_OP_N)
        return TD_CODE_UNIMPLEMENTED; /* the executor allocates outputs contiguous: never here */
    if (a.cols == 0) { /* empty inner dim: zeros */
        struct td_kt *ops[1] = {tc};
        struct td_cu_iter it;
        if (!td_cu_iter_init(&it, 1, ops))
            return TD_CODE_INVALID_ARGUMENT;
        return esz == 8   ? td_cu_launch<1>(&it, s, zero_f<uint64_t>())
               : esz == 4 ? td_cu_launch<1>(&it, s, zero_f<uint32_t>())
                          : td_cu_launch<1>(&it, s, zero_f<uint16_t>());
    }
    cublasLtHandle_t h = handle_for(st ? st->dev : k->device);
    if (!h)
        return TD_CODE_INTERNAL;
    ensure_workspace(st);

    /* one strided-batched call: an operand whose batch dims do not collapse into one
     * stride, or whose matrices cuBLASLt cannot read (no unit stride), is first copied
     * into a contiguous batch */
    int64_t ba, bbs, bc;
    struct lt_view tmp;
    if (!batch_uniform(om->sizes, om->strides, nbo, &bc))
        return TD_CODE_UNIMPLEMENTED; /* outputs are contiguous: never here */
    bool copy_a = !batch_uniform(om->sizes, sa, nbo, &ba) || !col_major_view(&a, &tmp);
    bool copy_b = !batch_uniform(om->sizes, sb, nbo, &bbs) || !col_major_view(&b, &tmp);
    void *scr_a = NULL, *scr_b = NULL;
    enum td_code rc = TD_CODE_OK;
    if ((copy_a && !materialize(&a, &ba, om->sizes, sa, nbo, nbatch, dt, s, &scr_a)) ||
        (copy_b && !materialize(&b, &bbs, om->sizes, sb, nbo, nbatch, dt, s, &scr_b))) {
        rc = TD_CODE_RESOURCE_EXHAUSTED;
    } else {
        gemm_job job;
        job.type = dt == TD_DTYPE_FLOAT64    ? CUDA_R_64F
                   : dt == TD_DTYPE_FLOAT16  ? CUDA_R_16F
                   : dt == TD_DTYPE_BFLOAT16 ? CUDA_R_16BF
                                             : CUDA_R_32F;
        job.compute = dt == TD_DTYPE_FLOAT64 ? CUBLAS_COMPUTE_64F
                      : dt == TD_DTYPE_FLOAT32 && (td__cuda_allow_tf32 || (k->options & TD_KOPT_ALLOW_TF32))
                          ? CUBLAS_COMPUTE_32F_FAST_TF32
                          : CUBLAS_COMPUTE_32F;
        job.esz = esz;
        job.k = a.cols;
        job.a = a, job.b = b, job.c = c;
        job.batch = nbatch, job.sa = ba, job.sb = bbs, job.sc = bc;
        rc = lt_gemm(st, s, h, &job);
    }
    /* stream-ordered frees: the memory stays valid for the work queued before them */
    if (scr_a && cudaFreeAsync(scr_a, s) != cudaSuccess)
        (void)cudaGetLastError();
    if (scr_b && cudaFreeAsync(scr_b, s) != cudaSuccess)
        (void)cudaGetLastError();
    if (rc != TD_CODE_OK) {
        (void)cudaGetLastError();
        return rc;
    }
    return td_cu_launched();
}

/* dt: float32/64, or float16/bfloat16 for the native path (device.h's half_kernel) */
td_kernel_fn td__cuda_matmul_kernel(unsigned op, unsigned dt)
{
    if (dt != TD_DTYPE_FLOAT32 && dt != TD_DTYPE_FLOAT64 && !td_cu_is_half((int)dt))
        return NULL;
    return op == TD_OP_MATMUL || op == TD_OP_MM || op == TD_OP_BMM ? cu_matmul : NULL;
}

void td__cuda_stream_release(struct td_cu_stream *st)
{
    if (st->workspace)
        cudaFree(st->workspace);
    st->workspace = NULL;
    st->workspace_bytes = 0;
}

#else /* no cuBLASLt (the ROCm build): the executor stages matmul through the host */

td_kernel_fn td__cuda_matmul_kernel(unsigned op, unsigned dt)
{
    (void)op, (void)dt;
    return NULL;
}

void td__cuda_stream_release(struct td_cu_stream *st)
{
    (void)st;
}
#endif
