/*
 * conv_geom.h — the geometry of a CONV-family record (convolution and pooling over 1-3
 * spatial dims): sizes, kernel, stride, padding and dilation per spatial dim.
 * kernels/shape_conv.c reads it off a record and checks it (the meta rule); the CPU
 * kernels (kernels/cpu/conv.c, pool.c) read it again from records that rule has passed,
 * so they index with proven sizes.  Not installed: the clients see only meta.h.
 */
#ifndef TD_CONV_GEOM_H
#define TD_CONV_GEOM_H

#include <stdbool.h>
#include <stdint.h>

#include "meta.h"

#define TD_CONV_MAX_SP 3 /* spatial dims: conv1d/2d/3d, pool1d/2d/3d */

struct td_conv_geom {
    int nsp;                       /* spatial dims */
    int64_t batch, c_in, c_out;    /* pools: c_out == c_in (the planes) */
    int64_t groups;                /* CONV rows; 1 for the pools */
    int64_t in[TD_CONV_MAX_SP];    /* the forward input's spatial sizes */
    int64_t out[TD_CONV_MAX_SP];   /* the forward output's */
    int64_t k[TD_CONV_MAX_SP];     /* kernel (conv: weight's trailing sizes); adaptive: unused */
    int64_t stride[TD_CONV_MAX_SP], pad[TD_CONV_MAX_SP], dil[TD_CONV_MAX_SP];
    bool ceil_mode, count_include_pad;
    int64_t divisor; /* AVG_POOL's divisor_override; 0: none */
};

/* The geometry of a CONV-family record, every operand and attribute checked (PyTorch's
 * messages where torch has one): INVALID_ARGUMENT otherwise.  The forward input is the
 * row's `input` operand (a backward row's shape carrier). */
enum td_code td_conv_geom_of(const struct td_op_args *a, struct td_conv_geom *g, struct td_status *st);

/* Product of the spatial sizes s[0..nsp) (each proven <= 2^40, their product too). */
static inline int64_t td_conv_plane(const int64_t *s, int nsp)
{
    int64_t n = 1;
    for (int i = 0; i < nsp; i++)
        n *= s[i];
    return n;
}

#endif
