/*
 * conv_dnnl.c — CONV (bias fused), CONV_BACKWARD_INPUT and CONV_BACKWARD_WEIGHT for
 * float32 through oneDNN (Debian's libdnnl 2.x, the library PyTorch's CPU convolutions
 * use); conv.c's run() decides which shapes come here (td__conv_dnnl returning false
 * sends a shape back to its im2col path).
 *
 * oneDNN's fast kernels read and write blocked layouts (channels in blocks of 8 or 16), so
 * each primitive is asked for the layouts it likes (format "any"); our dense row-major
 * operands are reordered into them and the results back, by oneDNN reorders, a chunk of
 * ~1 MiB of input and output per call so the copies stay in cache (keeps_plain: a first
 * layer's input keeps our layout).
 *
 * Threads: Debian builds oneDNN on OpenMP, whose team size is per calling thread.  We do
 * not let it spread a call over its own threads: the batch is split over our intra-op
 * pool as the im2col path does (one part per thread, each part one oneDNN call on one
 * OpenMP thread), so a session's set_num_threads, the pool's one-job-at-a-time rule and
 * its cancellation between parts hold here too, and no OpenMP team spins against the
 * pool.  Only when the batch is smaller than the session's thread count does a part get
 * the spare threads as an OpenMP team.
 *
 * Building a primitive (descriptor, implementation search, JIT code) costs 20-150 us and
 * more, as much as a small convolution itself, so the primitives for one geometry, part
 * size and team size are built once and kept in a process-wide table (a bounded list
 * under a mutex; entries are never changed once published, so executing them needs no
 * lock: oneDNN primitives may run concurrently, each call with its own scratchpad, which
 * we allocate, from td_scratch_alloc, so the daemon's memory cap bounds it).
 */
#include <dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"

/* The one OpenMP runtime call used (libgomp's C ABI): declared here rather than through
 * <omp.h>, which clang (the fuzz build) has only with libomp-dev installed. */
void omp_set_num_threads(int n);

/* the three tensors of a convolution, in forward naming: the input, the weight and the
   output (their gradients in the backward ops) */
enum { T_SRC, T_WEI, T_DST, T_N };

/* what identifies a primitive set: op, spatial dims, part's batch, team size, bias, then
   the geometry (padded spatial fields) */
#define KEY_LEN (8 + 5 * TD_CONV_MAX_SP)
struct prims {
    int64_t key[KEY_LEN];
    bool ok;                   /* false: oneDNN has only reference code for it (im2col wins) */
    dnnl_primitive_t conv;
    size_t conv_scratch;
    dnnl_memory_desc_t plain[T_N], md[T_N]; /* our layout, the one conv reads / writes */
    dnnl_primitive_t reorder[T_N];          /* plain <-> md where they differ, else NULL */
    size_t reorder_scratch[T_N];
};

#define CHUNK_BYTES (INT64_C(1) << 20) /* input + output of a forward / backward input call */
#define FEW_CHANNELS 4 /* input channels below which the input keeps its plain layout (keeps_plain) */
#define CACHE_MAX 256 /* geometries kept; past it, primitives are built and dropped per call */
static struct prims *cache[CACHE_MAX];
static int n_cached;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static dnnl_engine_t engine;
static bool disabled; /* TENSORD_CONV_IM2COL=1, or no CPU engine */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
    const char *e = getenv("TENSORD_CONV_IM2COL");
    disabled = (e && *e && strcmp(e, "0") != 0) || dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success;
}

/* the execution argument of tensor t in op's primitive */
static int arg_of(unsigned op, int t)
{
    static const int arg[3][T_N] = {
        {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
        {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST},
        {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST},
    };
    return arg[op == TD_OP_CONV ? 0 : op == TD_OP_CONV_BACKWARD_INPUT ? 1 : 2][t];
}

/* which of the three tensors op writes */
static int out_tensor(unsigned op)
{
    return op == TD_OP_CONV ? T_DST : op == TD_OP_CONV_BACKWARD_INPUT ? T_SRC : T_WEI;
}

static void prims_free(struct prims *p)
{
    if (!p)
        return;
    dnnl_primitive_destroy(p->conv);
    for (int i = 0; i < T_N; i++)
        dnnl_primitive_destroy(p->reorder[i]);
    free(p);
}

static size_t scratch_size(const_dnnl_primitive_desc_t pd)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    return md ? dnnl_memory_desc_get_size(md) : 0;
}

/* The three tensors' dims for a batch of n; the weight's with a leading group dim when
   groups > 1 (oneDNN's grouped layout). */
static int dims_of(const struct td_conv_geom *g, int64_t n, int t, dnnl_dims_t d, dnnl_format_tag_t *tag)
{
    static const dnnl_format_tag_t act[] = {dnnl_ncw, dnnl_nchw, dnnl_ncdhw};
    static const dnnl_format_tag_t wei[] = {dnnl_oiw, dnnl_oihw, dnnl_oidhw};
    static const dnnl_format_tag_t gwei[] = {dnnl_goiw, dnnl_goihw, dnnl_goidhw};
    int s = g->nsp - 1, nd = 0;
    if (t == T_WEI) {
        if (g->groups > 1)
            d[nd++] = g->groups;
        d[nd++] = g->c_out / g->groups;
        d[nd++] = g->c_in / g->groups;
        *tag = g->groups > 1 ? gwei[s] : wei[s];
    } else {
        d[nd++] = n;
        d[nd++] = t == T_SRC ? g->c_in : g->c_out;
        *tag = act[s];
    }
    for (int i = 0; i < g->nsp; i++)
        d[nd++] = t == T_WEI ? g->k[i] : t == T_SRC ? g->in[i] : g->out[i];
    return nd;
}

/* A first layer's few input channels (an image's 1-3) would fill a channel block of 8 or
   16 with padding, so its input keeps our plain layout: the forward then runs oneDNN's
   first-layer JIT kernel (plain input, blocked weight and output; ~5x less time than its
   GEMM-based all-plain code, which is what it picks for a plain output), and the input
   gradient runs all plain (GEMM-based: no JIT kernel writes a plain input gradient, and
   blocked, with 3 channels padded to 16, it is slower than im2col); oneDNN's choice of
   layouts picks plain inputs for the weight gradient by itself (docs/performance.md,
   2026-12-07). */
static bool keeps_plain(unsigned op, const struct td_conv_geom *g, int t)
{
    if (g->groups != 1 || g->c_in >= FEW_CHANNELS || op == TD_OP_CONV_BACKWARD_WEIGHT)
        return false;
    return op == TD_OP_CONV_BACKWARD_INPUT || t == T_SRC;
}

static bool is_reference(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl)
        return true;
    return strncmp(impl, "ref", 3) == 0;
}

/* The convolution primitive descriptor of op for a batch of n (bias: CONV's bias), with
   oneDNN's choice of layouts; NULL where oneDNN does not take the geometry. */
static dnnl_primitive_desc_t conv_pd(unsigned op, const struct td_conv_geom *g, int64_t n, bool bias,
                                     const_dnnl_primitive_attr_t attr)
{
    dnnl_memory_desc_t md[T_N], bmd;
    dnnl_dims_t d, strides, dil, pad_l, pad_r;
    dnnl_format_tag_t tag;
    for (int t = 0; t < T_N; t++) {
        int nd = dims_of(g, n, t, d, &tag);
        if (dnnl_memory_desc_init_by_tag(&md[t], nd, d, dnnl_f32, keeps_plain(op, g, t) ? tag : dnnl_format_tag_any) != dnnl_success)
            return NULL;
    }
    dnnl_dims_t bd = {g->c_out};
    if (dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x) != dnnl_success)
        return NULL;
    for (int i = 0; i < g->nsp; i++) {
        strides[i] = g->stride[i];
        dil[i] = g->dil[i] - 1; /* oneDNN counts the gaps */
        pad_l[i] = g->pad[i];
        /* what the last window reaches past the input (negative: input it never reads) */
        pad_r[i] = (g->out[i] - 1) * g->stride[i] + (g->k[i] - 1) * g->dil[i] + 1 - g->in[i] - g->pad[i];
    }
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t fwd = NULL, pd = NULL;
    const dnnl_alg_kind_t alg = dnnl_convolution_direct;
    dnnl_prop_kind_t prop = op == TD_OP_CONV ? dnnl_forward_inference : dnnl_forward_training;
    if (dnnl_dilated_convolution_forward_desc_init(&cd, prop, alg, &md[T_SRC], &md[T_WEI], bias ? &bmd : NULL,
                                                   &md[T_DST], strides, dil, pad_l, pad_r) != dnnl_success ||
        dnnl_primitive_desc_create(&fwd, &cd, attr, engine, NULL) != dnnl_success)
        return NULL;
    if (op == TD_OP_CONV)
        return fwd;
    dnnl_status_t s = op == TD_OP_CONV_BACKWARD_INPUT
                          ? dnnl_dilated_convolution_backward_data_desc_init(&cd, alg, &md[T_SRC], &md[T_WEI],
                                                                             &md[T_DST], strides, dil, pad_l, pad_r)
                          : dnnl_dilated_convolution_backward_weights_desc_init(
                                &cd, alg, &md[T_SRC], &md[T_WEI], NULL, &md[T_DST], strides, dil, pad_l, pad_r);
    if (s != dnnl_success || dnnl_primitive_desc_create(&pd, &cd, attr, engine, fwd) != dnnl_success)
        pd = NULL;
    dnnl_primitive_desc_destroy(fwd);
    return pd;
}

/* The primitives for op on a batch of n with a team of nt; NULL when out of memory. */
static struct prims *prims_build(unsigned op, const struct td_conv_geom *g, int64_t n, int nt, bool bias,
                                 const int64_t *key)
{
    struct prims *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    memcpy(p->key, key, sizeof p->key);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    omp_set_num_threads(nt); /* the scratchpad a primitive asks for depends on the team */
    if (dnnl_primitive_attr_create(&attr) != dnnl_success ||
        dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success)
        goto fail;
    if (!(pd = conv_pd(op, g, n, bias, attr)) || is_reference(pd))
        goto done; /* not ok: im2col */
    if (dnnl_primitive_create(&p->conv, pd) != dnnl_success)
        goto fail;
    p->conv_scratch = scratch_size(pd);
    for (int t = 0; t < T_N; t++) {
        dnnl_dims_t d;
        dnnl_format_tag_t tag;
        int nd = dims_of(g, n, t, d, &tag);
        p->md[t] = *dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg_of(op, t));
        if (dnnl_memory_desc_init_by_tag(&p->plain[t], nd, d, dnnl_f32, tag) != dnnl_success)
            goto fail;
        if (dnnl_memory_desc_equal(&p->md[t], &p->plain[t]))
            continue;
        dnnl_primitive_desc_t rpd;
        bool out = t == out_tensor(op);
        if (dnnl_reorder_primitive_desc_create(&rpd, out ? &p->md[t] : &p->plain[t], engine,
                                               out ? &p->plain[t] : &p->md[t], engine, attr) != dnnl_success)
            goto fail;
        p->reorder_scratch[t] = scratch_size(rpd);
        dnnl_status_t s = dnnl_primitive_create(&p->reorder[t], rpd);
        dnnl_primitive_desc_destroy(rpd);
        if (s != dnnl_success)
            goto fail;
    }
    p->ok = true;
done:
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    return p;
fail: /* a geometry oneDNN accepted but could not build: leave it to im2col */
    dnnl_primitive_destroy(p->conv);
    p->conv = NULL;
    for (int t = 0; t < T_N; t++) {
        dnnl_primitive_destroy(p->reorder[t]);
        p->reorder[t] = NULL;
    }
    p->ok = false;
    goto done;
}

/* The cached primitives for the key, built on a miss; *owned when they are not cached
   (the caller frees them). */
static struct prims *prims_get(unsigned op, const struct td_conv_geom *g, int64_t n, int nt, bool bias, bool *owned)
{
    int64_t key[KEY_LEN] = {op, g->nsp, n, nt, bias, g->c_in, g->c_out, g->groups};
    for (int i = 0; i < g->nsp; i++) {
        int64_t *f = key + 8 + i * 5;
        f[0] = g->in[i];
        f[1] = g->k[i];
        f[2] = g->stride[i];
        f[3] = g->pad[i];
        f[4] = g->dil[i];
    }
    *owned = false;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < n_cached; i++)
        if (!memcmp(cache[i]->key, key, sizeof key)) {
            struct prims *p = cache[i];
            pthread_mutex_unlock(&cache_lock);
            return p;
        }
    struct prims *p = prims_build(op, g, n, nt, bias, key);
    if (p && n_cached < CACHE_MAX)
        cache[n_cached++] = p;
    else
        *owned = p != NULL;
    pthread_mutex_unlock(&cache_lock);
    return p;
}

/* ---- execution */

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

struct job {
    unsigned op;
    const struct td_conv_geom *g;
    struct prims *pr[2];  /* for chunks of c batch elements, and for the last, shorter one */
    int64_t c;            /* the chunk: batch elements per oneDNN call */
    int nt;               /* OpenMP team per part */
    const char *x, *w, *bias, *go;
    char *out;
    char *wt[2];          /* the weight reordered once per primitive set (forward, backward input) */
    char **scratch;       /* per part: reordered operands and the primitives' scratchpads */
    char **acc;           /* backward weight, per part: its plain gradient, and room for */
    char **more;          /* a later chunk's, added to it */
    int64_t w_n;          /* weight elements */
    int64_t x_n, y_n;     /* elements of one batch element of input, output */
    int64_t n_chunks;
    atomic_int_fast64_t next; /* the next chunk to claim */
    atomic_bool failed;
};

/* Executes prim on args with a scratchpad at sp (user scratchpad mode). */
static bool exec(dnnl_primitive_t prim, dnnl_stream_t s, int nargs, dnnl_exec_arg_t *args, dnnl_memory_t *mems,
                 int *nmem, const dnnl_memory_desc_t *sp_md, void *sp)
{
    if (sp_md) {
        if (dnnl_memory_create(&mems[*nmem], sp_md, engine, sp) != dnnl_success)
            return false;
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, mems[(*nmem)++]};
    }
    return dnnl_primitive_execute(prim, s, nargs, args) == dnnl_success;
}

static dnnl_memory_t mem_of(const dnnl_memory_desc_t *md, void *ptr, dnnl_memory_t *mems, int *nmem)
{
    if (dnnl_memory_create(&mems[*nmem], md, engine, ptr) != dnnl_success)
        return NULL;
    return mems[(*nmem)++];
}

static const dnnl_memory_desc_t *scratch_md(const_dnnl_primitive_t prim)
{
    const_dnnl_primitive_desc_t pd;
    if (dnnl_primitive_get_primitive_desc(prim, &pd) != dnnl_success)
        return NULL;
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    return md && dnnl_memory_desc_get_size(md) ? md : NULL;
}

/* Batch elements [n0, n1) (a chunk) on stream s: inputs reordered into the primitive's
   layouts, the convolution, its result back into ours. */
static bool run_chunk(struct job *j, int part_i, int64_t n0, int64_t n1, bool first, dnnl_stream_t s)
{
    int which = n1 - n0 == j->c ? 0 : 1;
    const struct prims *p = j->pr[which];
    int ot = out_tensor(j->op);
    bool bwd_w = j->op == TD_OP_CONV_BACKWARD_WEIGHT, ok = false;
    dnnl_memory_t mems[16];
    int nmem = 0;
    /* our operands for the chunk, plain: input, weight, output */
    char *plain[T_N] = {
        (char *)(j->op == TD_OP_CONV_BACKWARD_INPUT ? j->out : j->x) + n0 * j->x_n * 4,
        bwd_w ? (first ? j->acc : j->more)[part_i] : (char *)j->w,
        (char *)(j->op == TD_OP_CONV ? j->out : j->go) + n0 * j->y_n * 4,
    };
    /* and as the primitive reads them: the part's scratch where a reorder is needed (the
       forward's weight was reordered once, before the parts) */
    char *buf[T_N], *sp = j->scratch[part_i];
    for (int t = 0; t < T_N; t++) {
        buf[t] = plain[t];
        if (t == T_WEI && !bwd_w)
            buf[t] = p->reorder[t] ? j->wt[which] : plain[t];
        else if (p->reorder[t]) {
            buf[t] = sp;
            sp += align64(dnnl_memory_desc_get_size(&p->md[t]));
        }
    }
    for (int t = 0; t < T_N; t++)
        if (t != ot && p->reorder[t] && (t != T_WEI || bwd_w)) {
            dnnl_memory_t a = mem_of(&p->plain[t], plain[t], mems, &nmem), b = mem_of(&p->md[t], buf[t], mems, &nmem);
            dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, a}, {DNNL_ARG_TO, b}};
            if (!a || !b || !exec(p->reorder[t], s, 2, args, mems, &nmem, scratch_md(p->reorder[t]), sp))
                goto out;
        }
    dnnl_exec_arg_t args[T_N + 2];
    int na = 0;
    for (int t = 0; t < T_N; t++) {
        dnnl_memory_t m = mem_of(&p->md[t], buf[t], mems, &nmem);
        if (!m)
            goto out;
        args[na++] = (dnnl_exec_arg_t){arg_of(j->op, t), m};
    }
    if (j->bias) {
        dnnl_dims_t bd = {j->g->c_out};
        dnnl_memory_desc_t bmd;
        dnnl_memory_t m;
        if (dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x) != dnnl_success ||
            !(m = mem_of(&bmd, (void *)j->bias, mems, &nmem)))
            goto out;
        args[na++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, m};
    }
    if (!exec(p->conv, s, na, args, mems, &nmem, scratch_md(p->conv), sp))
        goto out;
    if (p->reorder[ot]) { /* the result back into our layout */
        dnnl_memory_t a = mem_of(&p->md[ot], buf[ot], mems, &nmem), b = mem_of(&p->plain[ot], plain[ot], mems, &nmem);
        dnnl_exec_arg_t rargs[3] = {{DNNL_ARG_FROM, a}, {DNNL_ARG_TO, b}};
        if (!a || !b || !exec(p->reorder[ot], s, 2, rargs, mems, &nmem, scratch_md(p->reorder[ot]), sp))
            goto out;
    }
    ok = dnnl_stream_wait(s) == dnnl_success;
    if (ok && bwd_w && !first) {
        float *acc = (float *)j->acc[part_i], *more = (float *)j->more[part_i];
        for (int64_t i = 0; i < j->w_n; i++)
            acc[i] += more[i];
    }
out:
    for (int i = 0; i < nmem; i++)
        dnnl_memory_destroy(mems[i]);
    return ok;
}

/* Part part_i: chunks claimed one at a time from the job's counter until none is left, on
   one stream.  Claiming rather than a fixed share: on a machine whose cores are shared, a
   pool thread that is descheduled holds up at most the chunk it is in, not half the batch
   (docs/performance.md, "Convolution, first layer, second pass"). */
static void part(void *ctx, int part_i, int64_t p0, int64_t p1)
{
    (void)p0, (void)p1;
    struct job *j = ctx;
    dnnl_stream_t s = NULL;
    bool ok = dnnl_stream_create(&s, engine, dnnl_stream_default_flags) == dnnl_success, first = true;
    omp_set_num_threads(j->nt);
    for (int64_t ch; ok && !atomic_load(&j->failed) && (ch = atomic_fetch_add(&j->next, 1)) < j->n_chunks;) {
        int64_t n0 = ch * j->c, n1 = n0 + j->c < j->g->batch ? n0 + j->c : j->g->batch;
        ok = run_chunk(j, part_i, n0, n1, first, s);
        first = false;
    }
    dnnl_stream_destroy(s);
    if (ok && first && j->op == TD_OP_CONV_BACKWARD_WEIGHT) /* no chunk came its way: it adds nothing */
        memset(j->acc[part_i], 0, (size_t)j->w_n * 4);
    if (!ok)
        atomic_store(&j->failed, true);
}

/* Bytes of one part's scratch for p: the operands it reorders (the weight too, in the
   backward weight op: the part's own gradient), then room for the largest scratchpad. */
static size_t part_bytes(const struct prims *p, unsigned op)
{
    size_t b = 0, sp = p->conv_scratch;
    for (int t = 0; t < T_N; t++) {
        if (p->reorder[t] && (t != T_WEI || op == TD_OP_CONV_BACKWARD_WEIGHT))
            b += align64(dnnl_memory_desc_get_size(&p->md[t]));
        sp = p->reorder_scratch[t] > sp ? p->reorder_scratch[t] : sp;
    }
    return b + sp;
}

/* The weight of forward / backward input in p's layout, into *dst (scratch from k). */
static enum td_code weight_in(struct td_kctx *k, const struct prims *p, const void *w, char **dst)
{
    *dst = NULL;
    if (!p->reorder[T_WEI])
        return TD_CODE_OK;
    size_t sp = p->reorder_scratch[T_WEI], bytes = align64(dnnl_memory_desc_get_size(&p->md[T_WEI]));
    if (!(*dst = td_scratch_alloc(k, bytes + sp)))
        return TD_CODE_RESOURCE_EXHAUSTED;
    dnnl_stream_t s = NULL;
    dnnl_memory_t mems[3];
    int nmem = 0;
    bool ok = false;
    if (dnnl_stream_create(&s, engine, dnnl_stream_default_flags) == dnnl_success) {
        dnnl_memory_t a = mem_of(&p->plain[T_WEI], (void *)w, mems, &nmem), b = mem_of(&p->md[T_WEI], *dst, mems, &nmem);
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, a}, {DNNL_ARG_TO, b}};
        ok = a && b && exec(p->reorder[T_WEI], s, 2, args, mems, &nmem, scratch_md(p->reorder[T_WEI]), *dst + bytes) &&
             dnnl_stream_wait(s) == dnnl_success;
    }
    for (int i = 0; i < nmem; i++)
        dnnl_memory_destroy(mems[i]);
    dnnl_stream_destroy(s);
    return ok ? TD_CODE_OK : TD_CODE_INTERNAL;
}

bool td__conv_dnnl(struct td_kctx *k, const struct td_conv_geom *g, const void *x, const void *w, const void *bias,
                   const void *go, void *out, enum td_code *rc)
{
    pthread_once(&once, init_once);
    if (disabled || k->compute_dtype != TD_DTYPE_FLOAT32 || g->batch == 0 || g->c_in == 0 || g->c_out == 0 ||
        td_conv_plane(g->out, g->nsp) == 0)
        return false;
    struct job j = {.op = k->op, .g = g, .x = x, .w = w, .bias = bias, .go = go, .out = out};
    j.x_n = g->c_in * td_conv_plane(g->in, g->nsp);
    j.y_n = g->c_out * td_conv_plane(g->out, g->nsp);
    bool owned[2] = {false, false}, bwd_w = k->op == TD_OP_CONV_BACKWARD_WEIGHT;
    /* the chunk: the part's whole share for the weight gradient (each part's gradient is one
       call's), else as many elements as keep the reordered operands near the cache */
    int64_t share = (g->batch + td__conv_parts(g->batch, TD_MAX_THREADS) - 1) / td__conv_parts(g->batch, TD_MAX_THREADS);
    j.w_n = g->c_out * (g->c_in / g->groups) * td_conv_plane(g->k, g->nsp);
    j.c = CHUNK_BYTES / ((j.x_n + j.y_n) * 4);
    if (bwd_w && j.c * (j.x_n + j.y_n) < j.w_n) /* a chunk's gradient costs an add of the weight's size */
        j.c = (j.w_n + j.x_n + j.y_n - 1) / (j.x_n + j.y_n);
    j.c = j.c < 1 ? 1 : j.c > share ? share : j.c;
    int64_t n_chunks = (g->batch + j.c - 1) / j.c, last = g->batch - (n_chunks - 1) * j.c;
    int parts = td__conv_parts(n_chunks, TD_MAX_THREADS), threads = td_parallel_threads();
    j.nt = threads / parts > 1 ? threads / parts : 1;
    int n_pr = last != j.c ? 2 : 1;
    for (int i = 0; i < n_pr; i++)
        j.pr[i] = prims_get(k->op, g, i ? last : j.c, j.nt, bias != NULL, &owned[i]);
    bool taken = j.pr[0] && j.pr[0]->ok && (n_pr == 1 || (j.pr[1] && j.pr[1]->ok));
    *rc = TD_CODE_OK;
    if (!taken)
        goto out_prims;
    size_t per_part = 0;
    for (int i = 0; i < n_pr; i++) {
        size_t b = part_bytes(j.pr[i], k->op);
        per_part = b > per_part ? b : per_part;
    }
    int64_t w_n = j.w_n;
    j.scratch = calloc((size_t)parts, sizeof *j.scratch);
    j.acc = calloc((size_t)parts, sizeof *j.acc);
    j.more = calloc((size_t)parts, sizeof *j.more);
    if (!j.scratch || !j.acc || !j.more)
        *rc = TD_CODE_RESOURCE_EXHAUSTED;
    for (int i = 0; !*rc && i < parts; i++) {
        if (per_part && !(j.scratch[i] = td_scratch_alloc(k, per_part)))
            *rc = TD_CODE_RESOURCE_EXHAUSTED;
        if (!bwd_w || *rc)
            continue;
        j.acc[i] = parts == 1 ? out : td_scratch_alloc(k, (uint64_t)w_n * 4);
        if (n_chunks > 1)
            j.more[i] = td_scratch_alloc(k, (uint64_t)w_n * 4);
        if (!j.acc[i] || (n_chunks > 1 && !j.more[i]))
            *rc = TD_CODE_RESOURCE_EXHAUSTED;
    }
    for (int i = 0; !*rc && !bwd_w && i < n_pr; i++)
        *rc = weight_in(k, j.pr[i], w, &j.wt[i]);
    if (!*rc) {
        atomic_init(&j.failed, false);
        atomic_init(&j.next, 0);
        j.n_chunks = n_chunks;
        td__conv_run_parts(parts, parts, part, &j);
        if (atomic_load(&j.failed))
            *rc = TD_CODE_INTERNAL;
    }
    if (!*rc && bwd_w && parts > 1)
        td__conv_sum_parts(out, (char **)j.acc, parts, w_n, false);
    for (int i = 0; j.scratch && i < parts; i++)
        free(j.scratch[i]);
    for (int i = 0; j.acc && i < parts; i++)
        if (j.acc[i] != out)
            free(j.acc[i]);
    for (int i = 0; j.more && i < parts; i++)
        free(j.more[i]);
    free(j.scratch);
    free(j.acc);
    free(j.more);
    for (int i = 0; i < 2; i++)
        free(j.wt[i]);
out_prims:
    for (int i = 0; i < 2; i++)
        if (owned[i])
            prims_free(j.pr[i]);
    return taken;
}
