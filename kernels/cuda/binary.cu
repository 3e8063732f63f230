/*
 * binary.cu — elementwise binary ops on the GPU: ADD (alpha) SUB (alpha) MUL DIV (true,
 * trunc, floor) POW REMAINDER MAXIMUM MINIMUM, the bitwise ops and shifts, and the
 * comparisons and LOGICAL_* (bool output, or the compute dtype in place).
 *
 * Semantics are kernels/cpu/binary.c's: integer arithmetic wraps (computed in unsigned
 * types), MAXIMUM/MINIMUM propagate NaN, floor division and remainder follow Python,
 * integer pow with a negative exponent truncates.  One operand may be the record's
 * scalar attribute (TD_RF_SCALAR_LHS says which side), passed by value.
 * float16 and bfloat16 (the native path) load into float, compute there and store
 * rounded, as the CPU does between its casts.
 * Not here: integer DIV (trunc/floor) and REMAINDER, whose division by zero the CPU
 * reports as an error: a kernel cannot report a value-dependent error without waiting
 * for the GPU, so kernel() names none for them and the executor stages those ops.
 */
#include "elementwise_ops.cuh"

/* dtype kinds each arithmetic row accepts (binary.c's BIN_ARITH) */
static const uint8_t arith_kinds[C_EQ] = {
    /* ADD SUB MUL */ KF | KI | KB, KF | KI, KF | KI | KB,
    /* DIV DIVT DIVF */ KF, KF, KF,
    /* POW REM MAX MIN */ KF | KI, KF, KF | KI | KB, KF | KI | KB,
    /* BAND BOR BXOR */ KI | KB, KI | KB, KI | KB,
    /* SHL SHR */ KI, KI,
};

/* S: the operands' storage type; T: the type the op computes in (td_cu_elem) */
template <int OP, typename S> static enum td_code run(struct td_kctx *k)
{
    typedef typename td_cu_elem<S>::T T;
    typedef typename alpha_type<T>::type AL;
    int dt = k->compute_dtype;
    struct td_kt *ops[3];
    T s = T(0);
    int mode = 0;
    ops[0] = k->out[0];
    if (k->n_in == 2) {
        ops[1] = k->in[0];
        ops[2] = k->in[1];
    } else if (k->n_in == 1 && k->n_attr >= TD_N_BINARY && td_cu_scalar_kind_ok(k->attrs[TD_A_BINARY_OPERAND])) {
        s = td_cu_scalar<T>(k->attrs[TD_A_BINARY_OPERAND], k->attrs[TD_A_BINARY_OPERAND + 1]);
        mode = (k->flags & TD_RF_SCALAR_LHS) ? 1 : 2;
        ops[1] = ops[2] = k->in[0];
    } else {
        return TD_CODE_INVALID_ARGUMENT;
    }
    if (ops[1]->m.dtype != dt || ops[2]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    AL al = AL(1);
    if ((OP == B_ADD || OP == B_SUB) && k->n_attr >= TD_N_ADD) {
        const int64_t *a = k->attrs + TD_A_ADD_ALPHA;
        if (!td_cu_scalar_kind_ok(a[0]))
            return TD_CODE_INVALID_ARGUMENT;
        double af;
        memcpy(&af, &a[1], sizeof af);
        if (a[0] != TD_SCALAR_FLOAT)
            af = (double)a[1];
        int64_t ai = a[0] == TD_SCALAR_FLOAT ? (int64_t)af : a[1];
        if constexpr (std::is_floating_point<T>::value)
            al = (AL)af;
        else
            al = (AL)ai;
    }
    int odt = ops[0]->m.dtype;
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    struct td_cu_iter it;
    if (!td_cu_iter_init_elementwise(&it, 3, ops))
        return TD_CODE_INVALID_ARGUMENT;
    cudaStream_t st = td_cu_stream_of(k->stream);
    if constexpr (OP >= C_EQ) {
        if (odt == TD_DTYPE_BOOL)
            return td_cu_launch<3>(&it, st, bin_f<OP, S, bool, AL>{s, al, mode});
        if (odt == dt)
            return td_cu_launch<3>(&it, st, bin_f<OP, S, S, AL>{s, al, mode});
        return TD_CODE_INVALID_ARGUMENT;
    } else {
        if (odt != dt)
            return TD_CODE_INVALID_ARGUMENT;
        return td_cu_launch<3>(&it, st, bin_f<OP, S, S, AL>{s, al, mode});
    }
}

/* run<OP, T> for row OP at compute dtype dt, when the row accepts dt's kind */
template <int OP> static enum td_code row(struct td_kctx *k)
{
    int dt = k->compute_dtype;
    if constexpr (OP >= C_EQ) {
        if (td_cu_is_half(dt)) {
            TD_CU_DISPATCH_HALF(dt, return run<OP, T>(k));
        }
        TD_CU_DISPATCH(dt, return run<OP, T>(k));
    } else {
        unsigned kinds = arith_kinds[OP];
        switch (dt) {
        case TD_DTYPE_FLOAT32: if constexpr ((OP != B_BAND && OP != B_BOR && OP != B_BXOR && OP != B_SHL && OP != B_SHR)) return run<OP, float>(k); break;
        case TD_DTYPE_FLOAT64: if constexpr ((OP != B_BAND && OP != B_BOR && OP != B_BXOR && OP != B_SHL && OP != B_SHR)) return run<OP, double>(k); break;
        case TD_DTYPE_FLOAT16: if constexpr ((OP != B_BAND && OP != B_BOR && OP != B_BXOR && OP != B_SHL && OP != B_SHR)) return run<OP, td_cu_f16>(k); break;
        case TD_DTYPE_BFLOAT16: if constexpr ((OP != B_BAND && OP != B_BOR && OP != B_BXOR && OP != B_SHL && OP != B_SHR)) return run<OP, td_cu_bf16>(k); break;
#define INT_CASE(DT, CT) \
        case TD_DTYPE_##DT: if constexpr (OP != B_DIV && OP != B_DIVT && OP != B_DIVF && OP != B_REM) { if (kinds & KI) return run<OP, CT>(k); } break;
        INT_CASE(INT64, int64_t)
        INT_CASE(INT32, int32_t)
        INT_CASE(INT16, int16_t)
        INT_CASE(INT8, int8_t)
        INT_CASE(UINT8, uint8_t)
#undef INT_CASE
        case TD_DTYPE_BOOL:
            if constexpr (OP == B_ADD || OP == B_MUL || OP == B_MAX || OP == B_MIN || OP == B_BAND || OP == B_BOR || OP == B_BXOR)
                return run<OP, bool>(k);
            break;
        default: break;
        }
        (void)kinds;
    }
    return TD_CODE_INVALID_ARGUMENT;
}

static enum td_code cu_div(struct td_kctx *k)
{
    int64_t mode = k->n_attr >= TD_N_DIV ? k->attrs[TD_A_DIV_ROUNDING_MODE] : TD_ROUND_NONE;
    switch (mode) {
    case TD_ROUND_NONE: return row<B_DIV>(k);
    case TD_ROUND_TRUNC: return row<B_DIVT>(k);
    case TD_ROUND_FLOOR: return row<B_DIVF>(k);
    default: return TD_CODE_INVALID_ARGUMENT;
    }
}

static unsigned kind_bit(unsigned dt)
{
    return td_cu_dtype_is_float((int)dt) ? KF : dt == TD_DTYPE_BOOL ? KB : KI;
}

/* dt: a compute dtype, or float16/bfloat16 for the native path (device.h's half_kernel) */
td_kernel_fn td__cuda_binary_kernel(unsigned op, unsigned dt)
{
    if (!td_cu_compute_dtype((int)dt) && !td_cu_is_half((int)dt))
        return NULL;
    unsigned kb = kind_bit(dt);
    switch (op) {
#define ARITH(OPN, R) \
    case TD_OP_##OPN: return (arith_kinds[R] & kb) ? row<R> : NULL;
        ARITH(ADD, B_ADD)
        ARITH(SUB, B_SUB)
        ARITH(MUL, B_MUL)
        ARITH(POW, B_POW)
        ARITH(REMAINDER, B_REM)
        ARITH(MAXIMUM, B_MAX)
        ARITH(MINIMUM, B_MIN)
        ARITH(BITWISE_AND, B_BAND)
        ARITH(BITWISE_OR, B_BOR)
        ARITH(BITWISE_XOR, B_BXOR)
        ARITH(LSHIFT, B_SHL)
        ARITH(RSHIFT, B_SHR)
#undef ARITH
    case TD_OP_DIV: return kb == KF ? cu_div : NULL;
    case TD_OP_EQ: return row<C_EQ>;
    case TD_OP_NE: return row<C_NE>;
    case TD_OP_LT: return row<C_LT>;
    case TD_OP_LE: return row<C_LE>;
    case TD_OP_GT: return row<C_GT>;
    case TD_OP_GE: return row<C_GE>;
    case TD_OP_LOGICAL_AND: return row<C_LAND>;
    case TD_OP_LOGICAL_OR: return row<C_LOR>;
    case TD_OP_LOGICAL_XOR: return row<C_LXOR>;
    default: return NULL;
    }
}
