/*
 * conv.h — what the CONV family's CPU kernels (conv.c, pool.c) share: the record's
 * geometry re-derived and checked, operands as dense arrays, and a split of the batch
 * over the intra-op pool in at most one part per thread (so each part can own scratch).
 */
#ifndef TD_CPU_CONV_H
#define TD_CPU_CONV_H

#include "../conv_geom.h"
#include "iter.h"

/* Re-runs the meta rule over k (outputs included) and fills g: every size the kernels
 * index with is then proven.  INVALID_ARGUMENT otherwise. */
enum td_code td__conv_setup(struct td_kctx *k, struct td_conv_geom *g);

/* t's elements, dense in row-major order: t's own memory when it is contiguous, else a
 * copy in *scratch (the caller frees it).  NULL when out of memory. */
const void *td__conv_dense(const struct td_kt *t, void **scratch);

/* fn(ctx, part, n0, n1) for parts of [0, n) items, run on the pool: *parts (at most
 * max_parts, at least 1) parts of consecutive items. */
typedef void (*td_conv_part_fn)(void *ctx, int part, int64_t n0, int64_t n1);
int td__conv_parts(int64_t n, int max_parts);
void td__conv_run_parts(int64_t n, int parts, td_conv_part_fn fn, void *ctx);

/* out[i] = sum over the parts' acc[q][i], i < n (float32 or float64; a double sum). */
void td__conv_sum_parts(void *out, char **acc, int parts, int64_t n, bool f64);

/* The float32 kernels through oneDNN (conv_dnnl.c) on dense operands (those the op
 * reads; NULL for the others): true when it took the geometry (*rc its result), false
 * when the caller's im2col path is to run it (float64, empty shapes, geometries oneDNN
 * has only reference code for, TENSORD_CONV_IM2COL=1). */
bool td__conv_dnnl(struct td_kctx *k, const struct td_conv_geom *g, const void *x, const void *w, const void *bias,
                   const void *go, void *out, enum td_code *rc);

#endif
