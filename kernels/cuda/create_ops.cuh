/*
 * create_ops.cuh — ARANGE's and LINSPACE's element i (create.cu), host-callable so
 * tests/check_cuda_ops.cu holds them against kernels/cpu/create.c.  The formulas are the
 * CPU's (PyTorch's): arange start + i * step in double (int64, wrapping, for integer
 * outputs); linspace stepping from both ends in the output's precision, integers through
 * double.  Products are rounded on their own (mul_rn): the CPU adds them unfused.
 */
#ifndef TD_CUDA_CREATE_OPS_CUH
#define TD_CUDA_CREATE_OPS_CUH

#include "elementwise_ops.cuh"

struct td_cu_arange {
    int dt;
    double fstart, fstep; /* floating outputs */
    int64_t istart, istep; /* integer outputs */
};

TD_CU_HD void td_cu_arange_elem(const struct td_cu_arange &a, char *out, int64_t i)
{
    if (td_cu_wide_is_f(a.dt))
        td_cu_store_f64(a.dt, out, a.fstart + mul_rn((double)i, a.fstep));
    else
        td_cu_store_i(a.dt, out, (int64_t)((uint64_t)a.istart + (uint64_t)i * (uint64_t)a.istep));
}

struct td_cu_linspace {
    int dt;
    int64_t n;
    double start, end;
};

/* n >= 2 (the CPU writes n == 1 as start) */
TD_CU_HD double td_cu_linspace_val(const struct td_cu_linspace &l, int64_t i)
{
    int64_t n = l.n;
    if (l.dt == TD_DTYPE_FLOAT32) {
        const float s0 = (float)l.start, s1 = (float)l.end;
        const float step = (s1 - s0) / (float)(n - 1);
        return i < n / 2 ? (double)(float)(s0 + mul_rn(step, (float)i)) : (double)(float)(s1 - mul_rn(step, (float)(n - i - 1)));
    }
    if (l.dt == TD_DTYPE_FLOAT64) {
        const double s0 = l.start, s1 = l.end;
        const double step = (s1 - s0) / (double)(n - 1);
        return i < n / 2 ? s0 + mul_rn(step, (double)i) : s1 - mul_rn(step, (double)(n - i - 1));
    }
    const int64_t s0 = (int64_t)l.start, s1 = (int64_t)l.end; /* integers: ends first, steps in double */
    const double step = ((double)s1 - (double)s0) / (double)(n - 1);
    return i < n / 2 ? (double)(int64_t)((double)s0 + mul_rn(step, (double)i))
                     : (double)(int64_t)((double)s1 - mul_rn(step, (double)(n - i - 1)));
}

TD_CU_HD void td_cu_linspace_elem(const struct td_cu_linspace &l, char *out, int64_t i)
{
    td_cu_store_f64(l.dt, out, l.n == 1 ? l.start : td_cu_linspace_val(l, i));
}

#endif
