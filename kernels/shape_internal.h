/*
 * shape_internal.h — what the meta layer's files (kernels/shape*.c) share among
 * themselves: the operand and dtype helpers of shape.c and each family's rule.  Not
 * public and not installed: the daemon and the clients see only meta.h.
 */
#ifndef TD_SHAPE_INTERNAL_H
#define TD_SHAPE_INTERNAL_H

#include "meta.h"

const char *td__sizes_str(const int64_t *sizes, int ndim, char *buf, int len);
enum td_code td__need_attrs(const struct td_op_args *a, uint32_t n, struct td_status *st);
enum td_code td__need_inputs(const struct td_op_args *a, int lo, int hi, struct td_status *st);
enum td_code td__check_scalar(const int64_t *w, struct td_status *st);
/* Integer division, remainder or fmod of a non-empty result by a Python scalar 0: torch
 * raises "ZeroDivisionError" at the call, so the meta layer does too (a zero inside a
 * tensor divisor is data: the kernel finds it).  Call after out is inferred. */
enum td_code td__check_scalar_zero_divisor(const struct td_op_args *a, const struct td_meta *out,
                                           const struct td_infer *inf, struct td_status *st);
enum td_code td__broadcast(int64_t *sizes, int *ndim, const struct td_meta *b, struct td_status *st);
enum td_dtype td__result_type(const struct td_meta *const *in, int n_in, const int64_t *scalar,
                              enum td_dtype default_float);

/* shape.c: output like input 0 (contiguous), or input 0 itself for TD_RF_INPLACE */
enum td_code td__same_as_input(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                               struct td_status *st);

/* shape_reduce.c: the REDUCE and MATMUL families */
enum td_code td__infer_reduce(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                              struct td_status *st);
enum td_code td__infer_matmul(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                              struct td_status *st);
/* shape_view.c: the VIEW family */
enum td_code td__infer_view(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                            struct td_status *st);
/* shape_move.c: CAT and the MOVE family (FLIP, TRIL, TRIU) */
enum td_code td__infer_cat(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                           struct td_status *st);
enum td_code td__infer_move(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                            struct td_status *st);
/* shape_random.c: the RANDOM family */
enum td_code td__infer_random(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                              struct td_status *st);

/* shape_math.c: MATH_UNARY/MATH_BINARY/MATH_TERNARY, SOFTMAX/CUMULATIVE, STAT */
enum td_code td__infer_math_elem(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st);
enum td_code td__infer_math_dim(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                struct td_status *st);
enum td_code td__infer_math_stat(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st);

/* shape_index.c: the INDEX (GATHER/SCATTER/INDEX/INDEX_PUT/NONZERO) and SORT
 * (SORT/SEARCHSORTED/HISTC) families; td_meta_input_is_index (meta.h) lives there too */
enum td_code td__infer_index(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                             struct td_status *st);
enum td_code td__infer_sort(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                            struct td_status *st);

/* shape_linalg.c: the LINALG family (torch.linalg's LAPACK-backed ops) */
enum td_code td__infer_linalg(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                              struct td_status *st);
/* shape_linalg.c, for every linalg family: out = (x's batch dims, i.e. all but its last
 * two, then n_tail (0-2) trailing sizes t0, t1) of dtype dt, contiguous. */
enum td_code td__la_batch_out(const struct td_meta *x, enum td_dtype dt, int n_tail, int64_t t0, int64_t t1,
                              struct td_meta *out, struct td_status *st);
/* shape_linalg_packed.c: the LINALG_PACKED family (geqrf, orgqr, ormqr, ldl_factor, ldl_solve) */
enum td_code td__infer_linalg_packed(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                     struct td_status *st);
/* shape_linalg_lu.c: the LINALG_LU family (lu_factor, lu_solve, triangular_solve, matrix_exp) */
enum td_code td__infer_linalg_lu(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                                 struct td_status *st);
/* shape_optim.c: fused optimizer steps (no outputs: params and states in place) */
enum td_code td__infer_optim(const struct td_op_args *a, struct td_infer *inf, struct td_status *st);
/* shape_fft.c: the FFT family (fft_c2c, fft_r2c, fft_c2r) */
enum td_code td__infer_fft(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                           struct td_status *st);

/* shape_conv.c: the CONV family (convolution and pooling, forward and backward) */
enum td_code td__infer_conv(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                            struct td_status *st);

/* shape_loss.c: the LOSS family (CTC_LOSS and its backward) */
enum td_code td__infer_loss(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                            struct td_status *st);

/* shape_complex.c: the complex gate (rows without TD_F_COMPLEX refuse complex operands, with
 * PyTorch's message) and VIEW_AS_REAL / VIEW_AS_COMPLEX (out starts as a copy of input 0) */
enum td_code td__complex_gate_inputs(const struct td_op_args *a, struct td_status *st);
enum td_code td__complex_gate_outputs(const struct td_op_args *a, const struct td_meta *out, int n_out,
                                      struct td_status *st);
enum td_code td__infer_complex_view(const struct td_op_args *a, struct td_meta *out, struct td_status *st);

/* f16/bf16 are computed in float32 (the executor casts in and out). */
static inline uint8_t td__compute_dtype(enum td_dtype d)
{
    return (d == TD_DTYPE_FLOAT16 || d == TD_DTYPE_BFLOAT16) ? TD_DTYPE_FLOAT32 : d;
}

/* Elementwise ops whose common dtype d is a 16-bit float: operands of other dtypes are
   rounded to d first (int 2049 is 2048 in float16), then computed in float32. */
static inline void td__round_operands(struct td_infer *inf, enum td_dtype d)
{
    inf->round_inputs = d == TD_DTYPE_FLOAT16 || d == TD_DTYPE_BFLOAT16;
    inf->round_dtype = (uint8_t)d;
}

/* Contiguous element-wise output of the given sizes; for in-place records also checks
 * that self keeps its shape and can hold the result dtype. */
/* torch's suggest_memory_format: x's strides order its dims as channels-last(-3d) does */
bool td__channels_last_like(const struct td_meta *x);
/* m (4-d or 5-d, dense) laid out channels-last */
void td__channels_last(struct td_meta *m);
enum td_code td__elementwise_out(const struct td_op_args *a, const int64_t *sizes, int nd, enum td_dtype out_dt,
                                 struct td_meta *out, struct td_infer *inf, struct td_status *st);

/* The operand checks every broadcasting binary op starts with: one or two inputs (the
 * other a scalar attribute), broadcast sizes into sizes/nd and the result type. */
enum td_code td__binary_operands(const struct td_op_args *a, int64_t *sizes, int *nd, enum td_dtype *rt,
                                 struct td_status *st);

#endif
