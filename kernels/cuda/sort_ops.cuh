/*
 * sort_ops.cuh — the order-preserving keys of sort.cu and the serial lane scan of
 * scan.cu's exact path.  Host-callable: tests/check_cuda_ops.cu checks that the keys
 * order like kernels/cpu/sort.c's comparison and that the scan equals math_dim.c's.
 *
 * A key is an unsigned integer whose order is the CPU's sort order for the element
 * type: NaN above everything (every NaN the same key, so NaNs keep their input order),
 * -0.0 equal to +0.0 (they compare equal on the CPU, so the stable sort keeps their
 * order), signed integers with the sign bit flipped, bool and uint8 as they are.
 * Radix sorting keys is stable in both directions, as the CPU's merge sort is.
 */
#ifndef TD_CUDA_SORT_OPS_CUH
#define TD_CUDA_SORT_OPS_CUH

#include "../special_fns.h"
#include "cuda_common.cuh"

template <typename T> struct td_cu_key_type {
    typedef typename std::conditional<sizeof(T) == 8, uint64_t, uint32_t>::type type;
};

template <typename T> TD_CU_HD typename td_cu_key_type<T>::type td_cu_sort_key(T v)
{
    if constexpr (std::is_same<T, float>::value) {
        if (v != v)
            return 0xffffffffu;
        uint32_t b = td_cu_f2u(v == 0 ? 0.0f : v);
        return b & 0x80000000u ? ~b : b | 0x80000000u;
    } else if constexpr (std::is_same<T, double>::value) {
        if (v != v)
            return ~(uint64_t)0;
        double z = v == 0 ? 0.0 : v;
        uint64_t b;
        memcpy(&b, &z, 8);
        return b & (UINT64_C(1) << 63) ? ~b : b | (UINT64_C(1) << 63);
    } else if constexpr (std::is_same<T, bool>::value || std::is_same<T, uint8_t>::value) {
        return (uint32_t)v;
    } else if constexpr (sizeof(T) == 8) {
        return (uint64_t)v ^ (UINT64_C(1) << 63);
    } else {
        return (uint32_t)(int32_t)v ^ 0x80000000u;
    }
}

/* Bits of the key that can differ (the radix passes needed). */
template <typename T> static inline int td_cu_key_bits(void)
{
    return std::is_same<T, bool>::value || std::is_same<T, uint8_t>::value ? 8 : sizeof(T) == 8 ? 64 : 32;
}

/* ---- CUMSUM / CUMPROD of one lane, serially, as math_dim.c: floats accumulate in
 * double, integers and bool in uint64 (wrapping); each partial is stored in the
 * output's dtype. */
template <typename T>
TD_CU_HD void td_cu_cum_lane(bool prod, const char *x, int64_t xs, char *y, int64_t ys, int ydt, int64_t n)
{
    if constexpr (std::is_same<T, float>::value || std::is_same<T, double>::value) {
        double acc = prod ? 1 : 0;
        for (int64_t j = 0; j < n; j++) {
            double v = (double)*(const T *)(x + j * xs);
            acc = prod ? acc * v : acc + v;
            td_cu_store_f64(ydt, y + j * ys, acc);
        }
    } else {
        uint64_t acc = prod ? 1 : 0;
        for (int64_t j = 0; j < n; j++) {
            uint64_t v = (uint64_t)(int64_t)*(const T *)(x + j * xs);
            acc = prod ? acc * v : acc + v;
            td_cu_store_i(ydt, y + j * ys, (int64_t)acc);
        }
    }
}

/* ---- SEARCHSORTED: the first position in row[0..n) (byte stride st) whose value is
 * > v (right) or >= v (left), in sort.c's order (NaN above everything) */
template <typename T> TD_CU_HD bool td_cu_key_less(T a, T b)
{
    if constexpr (std::is_floating_point<T>::value)
        return a == a && (b != b || a < b);
    else
        return a < b;
}

template <typename T> TD_CU_HD int64_t td_cu_bound(const char *row, int64_t n, int64_t st, T v, bool right)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        T r = *(const T *)(row + mid * st);
        if (right ? !td_cu_key_less(v, r) : td_cu_key_less(r, v))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- CUMMAX / CUMMIN (ATen's >= / <=: the last equal element's index; a NaN sticks)
 * and LOGCUMSUMEXP of one lane, serially, as math_dim.c: floats in double, integers in
 * int64; ix: the int64 indices (CUMMAX/CUMMIN), is their byte stride. */
template <typename T>
TD_CU_HD void td_cu_cumext_lane(int op, const char *x, int64_t xs, char *y, int64_t ys, int ydt, char *ix, int64_t is,
                                int64_t n)
{
    int64_t ai = 0;
    if constexpr (std::is_same<T, float>::value || std::is_same<T, double>::value) {
        double acc = op == TD_OP_LOGCUMSUMEXP ? -INFINITY : n ? (double)*(const T *)x : 0;
        for (int64_t j = 0; j < n; j++) {
            double v = (double)*(const T *)(x + j * xs);
            if (op == TD_OP_LOGCUMSUMEXP) {
                acc = td_log_add_exp_step(acc, v);
            } else {
                bool better = op == TD_OP_CUMMAX ? v >= acc : v <= acc;
                if (v != v || (acc == acc && better))
                    acc = v, ai = j;
                *(int64_t *)(ix + j * is) = ai;
            }
            td_cu_store_f64(ydt, y + j * ys, acc);
        }
    } else {
        int64_t best = n ? (int64_t)*(const T *)x : 0;
        for (int64_t j = 0; j < n; j++) {
            int64_t v = (int64_t)*(const T *)(x + j * xs);
            if (op == TD_OP_CUMMAX ? v >= best : v <= best)
                best = v, ai = j;
            td_cu_store_i(ydt, y + j * ys, best);
            *(int64_t *)(ix + j * is) = ai;
        }
    }
}

#endif
