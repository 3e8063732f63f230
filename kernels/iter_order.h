/*
 * iter_order.h — the memory order of an N-d walk, shared by the CPU iterator
 * (cpu/iter.h) and the CUDA one (cuda/cuda_common.cuh): for elementwise ops, whose result
 * does not depend on the order, the dims are walked by operand 0's strides, smallest
 * innermost, so a channels-last or transposed output walks as one flat run once the
 * iterator merges its dims.
 */
#ifndef TD_ITER_ORDER_H
#define TD_ITER_ORDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* size[k] and stride[k * maxop + o] (bytes) for dims k = 0 (innermost) .. ndim - 1:
 * sorted, stably, by |stride of operand 0|; left alone when operand 0 has a zero stride
 * (a reduction's output, whose accumulation follows the row-major order). */
static inline void td_iter_memory_order(int ndim, int64_t *size, int64_t *stride, int maxop)
{
    for (int k = 0; k < ndim; k++)
        if (stride[k * maxop] == 0)
            return;
    for (int k = 1; k < ndim; k++) {
        int64_t sz = size[k], st[8];
        if (maxop > 8)
            return;
        memcpy(st, stride + k * maxop, sizeof(int64_t) * (size_t)maxop);
        int j = k;
        for (; j > 0 && llabs(stride[(j - 1) * maxop]) > llabs(st[0]); j--) {
            size[j] = size[j - 1];
            memcpy(stride + j * maxop, stride + (j - 1) * maxop, sizeof(int64_t) * (size_t)maxop);
        }
        size[j] = sz;
        memcpy(stride + j * maxop, st, sizeof(int64_t) * (size_t)maxop);
    }
}

#endif
