/*
 * op.h — the op table of proto/ops.def expanded into C: enum td_op, names, arities,
 * shape families and flags.  Nothing here is written by hand per op.
 */
#ifndef TD_OP_H
#define TD_OP_H

#include <stdint.h>

#include "op_attrs.h" /* generated: the attribute word offsets of every op (proto/ops.args) */

enum td_op_flag {
    TD_F_DIFF = 1u << 0,        /* has a backward formula (autograd/) */
    TD_F_INPLACE_OK = 1u << 1,  /* accepts TD_RF_INPLACE */
    TD_F_ELEMENTWISE = 1u << 2, /* output element i depends on input element i only */
    TD_F_FLOAT_OUT = 1u << 3,   /* integer inputs give the default float dtype */
    TD_F_DEPRECATED = 1u << 4,  /* retired: kept for its number, rejected */
    TD_F_COMPLEX = 1u << 5,     /* accepts/produces complex64/complex128 (the gate in shape_complex.c) */
};

enum td_family {
    TD_FAM_CTRL, TD_FAM_CREATE, TD_FAM_BINARY, TD_FAM_UNARY, TD_FAM_WHERE, TD_FAM_CLAMP,
    TD_FAM_CAST, TD_FAM_COPY, TD_FAM_FILL, TD_FAM_REDUCE, TD_FAM_MATMUL, TD_FAM_VIEW,
    TD_FAM_CAT,
    /* math: pointwise functions with their own dtype rules, ops along one dim, statistics */
    TD_FAM_MATH_UNARY, TD_FAM_MATH_BINARY, TD_FAM_MATH_TERNARY, TD_FAM_SOFTMAX, TD_FAM_CUMULATIVE, TD_FAM_STAT,
    /* linear algebra: torch.linalg's LAPACK-backed ops */
    TD_FAM_LINALG,
    /* indexing and sorting */
    TD_FAM_INDEX, TD_FAM_SORT,
    /* data movement that needs a kernel (flip, tril, triu) and random sampling */
    TD_FAM_MOVE, TD_FAM_RANDOM,
    /* LAPACK's packed factor forms: Householder reflectors + tau (geqrf, orgqr, ormqr) and
     * LDL^T with sytrf pivots (ldl_factor, ldl_solve) */
    TD_FAM_LINALG_PACKED,
    /* discrete Fourier transforms over a set of dims (FFTW) */
    TD_FAM_FFT,
    /* LU factors and triangular solves (getrf, getrs, trsm) and matrix_exp */
    TD_FAM_LINALG_LU,
    /* fused optimizer steps writing a parameter group in place */
    TD_FAM_OPTIM,
    /* convolution and pooling over 1-3 spatial dims, forward and backward */
    TD_FAM_CONV,
    /* losses with a kernel of their own (CTC), forward and backward */
    TD_FAM_LOSS,
};

enum td_op {
#define TD_OP(NAME, name, nin, nout, fam, flags) TD_OP_##NAME,
#include "../proto/ops.def"
#undef TD_OP
    TD_OP_COUNT
};

struct td_op_info {
    const char *name;
    int8_t n_in; /* -1: variadic */
    int8_t n_out;
    uint8_t family;
    uint8_t flags;
};

extern const struct td_op_info td_op_table[TD_OP_COUNT];

/* The inputs a record writes, [*first, returned end): input 0 for in-place ops, copy_,
 * fill_, upload; the trailing out= tensors of a TD_RF_OUT record; all of an optimizer
 * step's; none otherwise.  The daemon marks failures and the client counts versions by it. */
int td_op_written_inputs(unsigned op, unsigned flags, int n_in, int *first);

static inline const char *td_op_name(unsigned op)
{
    return op < TD_OP_COUNT ? td_op_table[op].name : "unknown_op";
}

#endif
