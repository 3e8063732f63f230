/*
 * math_elem.cu — kernels/cpu/math_elem.c's elementwise math on the GPU: the float unary
 * rows TAN ... DIGAMMA, FRAC, LOGIT, NAN_TO_NUM (an identity on integers), the predicates
 * ISNAN ... SIGNBIT (every compute dtype, bool out), the binary rows ATAN2 ... FMOD
 * (floating; a scalar operand in attrs 0-1 when there is one input, TD_RF_SCALAR_LHS puts
 * it first), LERP (weight tensor or scalar), ADDCMUL (floating or integer) and ADDCDIV.
 * The per-element functions are math_ops.cuh's; operands keep their own strides through
 * the elementwise engine (cuda_common.cuh).  float16/bfloat16 run natively (device.h's
 * half_kernel).  Not here: integer FMOD, whose division by zero the CPU reports as an
 * error (the executor stages it).
 */
#include "math_ops.cuh"

template <typename F, int NOP> static enum td_code launch(struct td_kctx *k, struct td_kt **ops, F f)
{
    if (!td_cu_enter(k))
        return TD_CODE_INTERNAL;
    struct td_cu_iter it;
    if (!td_cu_iter_init_elementwise(&it, NOP, ops))
        return TD_CODE_INVALID_ARGUMENT;
    return td_cu_launch<NOP>(&it, td_cu_stream_of(k->stream), f);
}

static bool operands_are(struct td_kctx *k, int dt)
{
    if (k->n_out < 1)
        return false;
    for (int i = 0; i < k->n_in; i++)
        if (k->in[i]->m.dtype != dt)
            return false;
    return true;
}

static double attr_f64(const int64_t *w)
{
    double v;
    memcpy(&v, w, sizeof v);
    return v;
}

/* ---- unary float rows */

template <int OP, typename S> static enum td_code run1(struct td_kctx *k)
{
    math1_f<OP, S> f;
    f.f[0] = -1, f.f[1] = f.f[2] = 0;
    if (OP == M_LOGIT && k->n_attr >= TD_N_LOGIT)
        f.f[0] = k->attrs[TD_A_LOGIT_HAS_EPS] ? attr_f64(&k->attrs[TD_A_LOGIT_EPS]) : -1;
    if (OP == M_NAN_TO_NUM) {
        if (k->n_attr < TD_N_NAN_TO_NUM)
            return TD_CODE_INVALID_ARGUMENT;
        f.f[0] = attr_f64(&k->attrs[TD_A_NAN_TO_NUM_NAN]);
        f.f[1] = attr_f64(&k->attrs[TD_A_NAN_TO_NUM_POSINF]);
        f.f[2] = attr_f64(&k->attrs[TD_A_NAN_TO_NUM_NEGINF]);
    }
    struct td_kt *ops[2] = {k->out[0], k->in[0]};
    return launch<math1_f<OP, S>, 2>(k, ops, f);
}

template <int OP> static enum td_code row1(struct td_kctx *k)
{
    int dt = k->compute_dtype;
    if (k->n_in != 1 || !operands_are(k, dt) || k->out[0]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    switch (dt) {
    case TD_DTYPE_FLOAT32: return run1<OP, float>(k);
    case TD_DTYPE_FLOAT64: return run1<OP, double>(k);
    case TD_DTYPE_FLOAT16: return run1<OP, td_cu_f16>(k);
    case TD_DTYPE_BFLOAT16: return run1<OP, td_cu_bf16>(k);
    default: break;
    }
    if (OP != M_NAN_TO_NUM)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *ops[2] = {k->out[0], k->in[0]}; /* integers and bool: a copy */
    switch (td_cu_dtype_size(dt)) {
    case 8: return launch<move_f<uint64_t>, 2>(k, ops, move_f<uint64_t>());
    case 4: return launch<move_f<uint32_t>, 2>(k, ops, move_f<uint32_t>());
    case 2: return launch<move_f<uint16_t>, 2>(k, ops, move_f<uint16_t>());
    default: return launch<move_f<uint8_t>, 2>(k, ops, move_f<uint8_t>());
    }
}

/* ---- predicates */

template <int OP> static enum td_code row_pred(struct td_kctx *k)
{
    int dt = k->compute_dtype;
    if (k->n_in != 1 || !operands_are(k, dt) || k->out[0]->m.dtype != TD_DTYPE_BOOL)
        return TD_CODE_INVALID_ARGUMENT;
    struct td_kt *ops[2] = {k->out[0], k->in[0]};
    if (td_cu_is_half(dt)) {
        TD_CU_DISPATCH_HALF(dt, return launch<pred_f<OP, T>, 2>(k, ops, pred_f<OP, T>()));
    }
    TD_CU_DISPATCH(dt, return launch<pred_f<OP, T>, 2>(k, ops, pred_f<OP, T>()));
    return TD_CODE_INVALID_ARGUMENT;
}

/* ---- binary float rows */

template <int OP, typename S> static enum td_code run2(struct td_kctx *k)
{
    typedef typename td_cu_elem<S>::T T;
    math2_f<OP, S> f;
    f.s = T(0);
    f.mode = 0;
    struct td_kt *ops[3] = {k->out[0], k->in[0], k->in[0]};
    if (k->n_in == 2) {
        ops[2] = k->in[1];
    } else if (k->n_in == 1 && k->n_attr >= TD_N_MATH_BINARY &&
               td_cu_scalar_kind_ok(k->attrs[TD_A_MATH_BINARY_OPERAND])) {
        f.s = td_cu_scalar<T>(k->attrs[TD_A_MATH_BINARY_OPERAND], k->attrs[TD_A_MATH_BINARY_OPERAND + 1]);
        f.mode = (k->flags & TD_RF_SCALAR_LHS) ? 1 : 2;
    } else {
        return TD_CODE_INVALID_ARGUMENT;
    }
    return launch<math2_f<OP, S>, 3>(k, ops, f);
}

template <int OP> static enum td_code row2(struct td_kctx *k)
{
    int dt = k->compute_dtype;
    if (!operands_are(k, dt) || k->out[0]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    switch (dt) {
    case TD_DTYPE_FLOAT32: return run2<OP, float>(k);
    case TD_DTYPE_FLOAT64: return run2<OP, double>(k);
    case TD_DTYPE_FLOAT16: return run2<OP, td_cu_f16>(k);
    case TD_DTYPE_BFLOAT16: return run2<OP, td_cu_bf16>(k);
    default: return TD_CODE_INVALID_ARGUMENT;
    }
}

/* ---- LERP, ADDCMUL, ADDCDIV */

template <int OP, typename S> static enum td_code run3(struct td_kctx *k)
{
    typedef typename td_cu_elem<S>::T T;
    math3_f<OP, S> f;
    f.ws = f.v = T(0);
    f.vi = 0;
    f.has_ws = false;
    struct td_kt *ops[4];
    ops[0] = k->out[0];
    if (OP == M3_LERP) {
        const int64_t *s = k->attrs + TD_A_LERP_OPERAND;
        ops[1] = k->in[0], ops[2] = k->in[1], ops[3] = k->in[1];
        if (k->n_in == 3) {
            ops[3] = k->in[2];
        } else if (k->n_in == 2 && k->n_attr >= TD_N_MATH_BINARY && td_cu_scalar_kind_ok(s[0])) {
            f.ws = td_cu_scalar<T>(s[0], s[1]);
            f.has_ws = true;
        } else {
            return TD_CODE_INVALID_ARGUMENT;
        }
    } else {
        const int64_t *v = k->attrs + TD_A_ADDCMUL_VALUE; /* ADDCDIV's alike */
        if (k->n_in != 3 || k->n_attr < TD_N_ADDCMUL || !td_cu_scalar_kind_ok(v[0]))
            return TD_CODE_INVALID_ARGUMENT;
        f.v = td_cu_scalar<T>(v[0], v[1]);
        if (v[0] == TD_SCALAR_FLOAT) {
            double d;
            memcpy(&d, &v[1], sizeof d);
            f.vi = (int64_t)d;
        } else {
            f.vi = v[1];
        }
        ops[1] = k->in[1], ops[2] = k->in[2], ops[3] = k->in[0];
    }
    return launch<math3_f<OP, S>, 4>(k, ops, f);
}

template <int OP> static enum td_code row3(struct td_kctx *k)
{
    int dt = k->compute_dtype;
    if (!operands_are(k, dt) || k->out[0]->m.dtype != dt)
        return TD_CODE_INVALID_ARGUMENT;
    switch (dt) {
    case TD_DTYPE_FLOAT32: return run3<OP, float>(k);
    case TD_DTYPE_FLOAT64: return run3<OP, double>(k);
    case TD_DTYPE_FLOAT16: return run3<OP, td_cu_f16>(k);
    case TD_DTYPE_BFLOAT16: return run3<OP, td_cu_bf16>(k);
    default: break;
    }
    if constexpr (OP == M3_ADDCMUL) {
        switch (dt) {
        case TD_DTYPE_INT64: return run3<OP, int64_t>(k);
        case TD_DTYPE_INT32: return run3<OP, int32_t>(k);
        case TD_DTYPE_INT16: return run3<OP, int16_t>(k);
        case TD_DTYPE_INT8: return run3<OP, int8_t>(k);
        case TD_DTYPE_UINT8: return run3<OP, uint8_t>(k);
        default: break;
        }
    }
    return TD_CODE_INVALID_ARGUMENT;
}

/* dt: a compute dtype, or float16/bfloat16 for the native path (device.h's half_kernel) */
td_kernel_fn td__cuda_math_kernel(unsigned op, unsigned dt)
{
    bool half = td_cu_is_half((int)dt), fl = td_cu_dtype_is_float((int)dt);
    if (!td_cu_compute_dtype((int)dt) && !half)
        return NULL;
    bool integer = !fl && dt != TD_DTYPE_BOOL;
    switch (op) {
#define CASE1(R, N) \
    case TD_OP_##N: return fl || R == M_NAN_TO_NUM ? row1<R> : NULL;
        MATH1_OPS(CASE1)
#undef CASE1
#define CASEP(R, N) \
    case TD_OP_##N: return row_pred<R>;
        MATH_PRED_OPS(CASEP)
#undef CASEP
#define CASE2(R, N) \
    case TD_OP_##N: return fl ? row2<R> : NULL;
        MATH2_OPS(CASE2)
#undef CASE2
    case TD_OP_LERP: return fl ? row3<M3_LERP> : NULL;
    case TD_OP_ADDCMUL: return fl || integer ? row3<M3_ADDCMUL> : NULL;
    case TD_OP_ADDCDIV: return fl ? row3<M3_ADDCDIV> : NULL;
    default: return NULL;
    }
}
