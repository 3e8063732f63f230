/*
 * check_kernel_tensors.h — what the Check suites that call CPU kernels directly share
 * (check_conv.c, check_loss.c): host tensors (up to 16 contiguous ones at a time, made by
 * mk() and freed together by free_all()), the meta rule's answer for a record (infer),
 * and the intra-op pool as a fixture (pool_up, pool_down).
 */
#ifndef TD_CHECK_KERNEL_TENSORS_H
#define TD_CHECK_KERNEL_TENSORS_H

#include <stdlib.h>
#include <string.h>

#include "../kernels/kernel.h"

static struct td_kt ts[16];
static void *bufs[16];
static int nts;

static void free_all(void)
{
    for (int i = 0; i < nts; i++)
        free(bufs[i]);
    nts = 0;
}

/* A contiguous tensor of the given sizes, filled from vals (NULL: zeros). */
static struct td_kt *mk(enum td_dtype dt, int nd, const int64_t *sizes, const double *vals)
{
    struct td_kt *t = &ts[nts];
    int64_t n = 1;
    memset(t, 0, sizeof *t);
    t->m.dtype = (uint8_t)dt;
    t->m.ndim = (uint8_t)nd;
    for (int d = nd - 1; d >= 0; d--) {
        t->m.sizes[d] = sizes[d];
        t->m.strides[d] = n;
        n *= sizes[d];
    }
    t->m.storage_nbytes = n * (int64_t)td_dtype_size(dt);
    t->data = bufs[nts++] = calloc((size_t)(n ? n : 1), td_dtype_size(dt));
    for (int64_t i = 0; vals && i < n; i++)
        td_store_f64(dt, t->data + i * (int64_t)td_dtype_size(dt), vals[i]);
    return t;
}

/* The meta layer's answer for a record of op over in (outputs in out); st cleared first. */
static enum td_code infer(enum td_op op, const struct td_meta *const *in, int n_in, const int64_t *attrs, int n_attr,
                          struct td_meta *out, struct td_status *st)
{
    struct td_op_args a = {.op = op, .n_in = (uint16_t)n_in, .in = in, .attrs = attrs, .n_attr = (uint32_t)n_attr,
                           .default_float = TD_DTYPE_FLOAT32};
    struct td_infer inf;
    td_status_clear(st);
    return td_meta_infer(&a, out, &inf, st);
}

static void pool_up(void) { td_parallel_init(2); }
static void pool_down(void) { td_parallel_fini(); }

#endif
