/*
 * move.c — data-movement kernels that views cannot express: FLIP (a copy through
 * negated strides) and TRIL/TRIU (keep one triangle of the last two dims, zero the
 * rest).  Both move bytes only, so one loop per element size serves every dtype.
 */
#include <string.h>

#include "iter.h"

enum td_code td_cpu_flip(struct td_kctx *k)
{
    if (k->n_in != 1 || k->n_out != 1 || k->n_attr < TD_N_FLIP)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt src = *k->in[0];
    uint64_t mask = (uint64_t)k->attrs[TD_A_FLIP_DIMS];
    if (src.m.dtype != k->out[0]->m.dtype)
        return TD_CODE_INVALID_ARGUMENT;
    /* the iterator walks negative strides as well as positive ones */
    for (int d = 0; d < src.m.ndim; d++)
        if (((mask >> d) & 1) && src.m.sizes[d] > 1) {
            src.m.offset += (src.m.sizes[d] - 1) * src.m.strides[d];
            src.m.strides[d] = -src.m.strides[d];
        }
    return td__copy(k->out[0], &src);
}

/* Element (i0..) of t at linear row-major position `lin` of the leading dims. */
static char *batch_base(const struct td_kt *t, int64_t lin, int nbatch)
{
    int64_t off = t->m.offset;
    for (int d = nbatch - 1; d >= 0; d--) {
        int64_t n = t->m.sizes[d];
        off += (lin % n) * t->m.strides[d];
        lin /= n;
    }
    return t->data + off * (int64_t)td_dtype_size((enum td_dtype)t->m.dtype);
}

static enum td_code tri(struct td_kctx *k, bool lower)
{
    if (k->n_in != 1 || k->n_out != 1 || k->n_attr < TD_N_TRIL) /* TRIU's layout alike (op.c) */
        return TD_CODE_INVALID_ARGUMENT;
    const struct td_kt *x = k->in[0];
    struct td_kt *o = k->out[0];
    int nd = x->m.ndim;
    if (nd < 2 || o->m.ndim != nd || x->m.dtype != o->m.dtype)
        return TD_CODE_INVALID_ARGUMENT;
    int64_t diag = k->attrs[TD_A_TRIL_DIAGONAL], rows = x->m.sizes[nd - 2], cols = x->m.sizes[nd - 1], batch = 1;
    for (int d = 0; d < nd - 2; d++)
        batch *= x->m.sizes[d];
    size_t es = td_dtype_size((enum td_dtype)x->m.dtype);
    int64_t xs0 = x->m.strides[nd - 2] * (int64_t)es, xs1 = x->m.strides[nd - 1] * (int64_t)es;
    int64_t os0 = o->m.strides[nd - 2] * (int64_t)es, os1 = o->m.strides[nd - 1] * (int64_t)es;
    if (rows == 0 || cols == 0)
        return TD_CODE_OK;
    for (int64_t b = 0; b < batch; b++) {
        const char *xb = batch_base(x, b, nd - 2);
        char *ob = batch_base(o, b, nd - 2);
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                bool keep = lower ? j - i <= diag : j - i >= diag;
                char *dst = ob + i * os0 + j * os1;
                if (keep) {
                    const char *src = xb + i * xs0 + j * xs1;
                    if (src != dst)
                        memcpy(dst, src, es);
                } else {
                    memset(dst, 0, es); /* all-zero bytes are 0, 0.0 and false */
                }
            }
    }
    return TD_CODE_OK;
}

enum td_code td_cpu_tril(struct td_kctx *k) { return tri(k, true); }
enum td_code td_cpu_triu(struct td_kctx *k) { return tri(k, false); }
