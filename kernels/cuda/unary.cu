/*
 * unary.cu — elementwise unary ops on the GPU (NEG ... BITWISE_NOT, LOGICAL_NOT), with
 * kernels/cpu/unary.c's semantics: ROUND is half-to-even, SIGN(NaN) is 0, RELU keeps
 * NaN and -0.0, integer NEG/ABS wrap, rounding ops are identities on integers, and
 * LOGICAL_NOT writes bool (or the input dtype in place).  Transcendentals use CUDA's
 * full-precision math (no fast-math intrinsics), within a few ulp of the CPU's.
 * float16/bfloat16 inputs (the native path) are computed in float and stored rounded.
 */
#include "elementwise_ops.cuh"

/* S: the input's storage type (td_cu_elem) */
template <int OP, typename S> static enum td_code run(struct td_kctx *k)
{
    int dt = k->compute_dtype, odt = k->out[0]->m.dtype;
    struct td_kt *ops[2] = {k->out[0], k->in[0]};
    struct td_cu_iter it;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    if (!td_cu_iter_init_elementwise(&it, 2, ops))
        return TD_CODE_INVALID_ARGUMENT;
    cudaStream_t s = td_cu_stream_of(k->stream);
    if (odt == dt)
        return td_cu_launch<2>(&it, s, un_f<OP, S, S>());
    if constexpr (OP == U_LOGICAL_NOT) {
        if (odt == TD_DTYPE_BOOL)
            return td_cu_launch<2>(&it, s, un_f<OP, S, bool>());
    }
    return TD_CODE_INVALID_ARGUMENT;
}

template <int OP, unsigned KINDS> static enum td_code row(struct td_kctx *k)
{
    int dt = k->compute_dtype;
    if (k->n_in != 1 || k->n_out < 1 || k->in[0]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    switch (dt) {
    case TD_DTYPE_FLOAT32: if constexpr ((KINDS & KF) != 0) return run<OP, float>(k); break;
    case TD_DTYPE_FLOAT64: if constexpr ((KINDS & KF) != 0) return run<OP, double>(k); break;
    case TD_DTYPE_FLOAT16: if constexpr ((KINDS & KF) != 0) return run<OP, td_cu_f16>(k); break;
    case TD_DTYPE_BFLOAT16: if constexpr ((KINDS & KF) != 0) return run<OP, td_cu_bf16>(k); break;
    case TD_DTYPE_INT64: if constexpr ((KINDS & KI) != 0) return run<OP, int64_t>(k); break;
    case TD_DTYPE_INT32: if constexpr ((KINDS & KI) != 0) return run<OP, int32_t>(k); break;
    case TD_DTYPE_INT16: if constexpr ((KINDS & KI) != 0) return run<OP, int16_t>(k); break;
    case TD_DTYPE_INT8: if constexpr ((KINDS & KI) != 0) return run<OP, int8_t>(k); break;
    case TD_DTYPE_UINT8: if constexpr ((KINDS & KI) != 0) return run<OP, uint8_t>(k); break;
    case TD_DTYPE_BOOL: if constexpr ((KINDS & KB) != 0) return run<OP, bool>(k); break;
    default: break;
    }
    return TD_CODE_INVALID_ARGUMENT;
}

/* dt: a compute dtype, or float16/bfloat16 for the native path (device.h's half_kernel) */
td_kernel_fn td__cuda_unary_kernel(unsigned op, unsigned dt)
{
    if (!td_cu_compute_dtype((int)dt) && !td_cu_is_half((int)dt))
        return NULL;
    unsigned kb = td_cu_dtype_is_float((int)dt) ? KF : dt == TD_DTYPE_BOOL ? KB : KI;
    switch (op) {
#define UN_CASE(R, N, K) \
    case TD_OP_##N: return ((K) & kb) ? row<R, (K)> : NULL;
        UN_OPS(UN_CASE)
#undef UN_CASE
    default: return NULL;
    }
}
