/*
 * optim_ops.cuh — the per-element updates of the fused optimizer steps (optim.cu),
 * SGD_STEP and ADAM_STEP, following kernels/cpu/optim.c (torch 1.13's single-tensor
 * SGD and Adam/AdamW) operation for operation.  Host-callable, so
 * tests/check_cuda_ops.cu runs them against the CPU kernel and requires equal bits.
 *
 * Every product is rounded on its own (td_cu_mul_rn): the device compiler would
 * otherwise fuse a product and a sum into one FMA, one rounding fewer than the CPU
 * kernel (built without contraction) does.  Constants are converted to T exactly where
 * the CPU converts them; the host computes the double-precision ones (step size, bias
 * corrections) once, with the CPU's formulas.
 */
#ifndef TD_CUDA_OPTIM_OPS_CUH
#define TD_CUDA_OPTIM_OPS_CUH

#include <math.h>

#include "cuda_common.cuh"

template <typename T> TD_CU_HD T td_cu_mul_rn(T a, T b)
{
#if defined(__CUDA_ARCH__)
    if constexpr (sizeof(T) == 4)
        return __fmul_rn(a, b);
    else
        return __dmul_rn(a, b);
#else
    return a * b;
#endif
}

struct td_cu_sgd {
    double lr, momentum, dampening, wd;
    bool nesterov, maximize, first, has_buf;
};

template <typename T> TD_CU_HD void td_cu_sgd_elem(const struct td_cu_sgd &s, T *p, const T *g, T *buf, int64_t i)
{
    T d = s.maximize ? -g[i] : g[i];
    if (s.wd != 0)
        d = d + td_cu_mul_rn((T)s.wd, p[i]);
    if (buf) {
        buf[i] = s.first ? d : td_cu_mul_rn(buf[i], (T)s.momentum) + td_cu_mul_rn(d, (T)(1 - s.dampening));
        d = s.nesterov ? d + td_cu_mul_rn((T)s.momentum, buf[i]) : buf[i];
    }
    p[i] = p[i] + td_cu_mul_rn(d, (T)(-s.lr));
}

struct td_cu_adam {
    double lr, beta1, beta2, eps, wd, step_size, bc2_sqrt;
    bool amsgrad, maximize, decoupled;
};

/* step: the step number attribute; the double constants as optim.c computes them */
static inline void td_cu_adam_consts(struct td_cu_adam *a, double step)
{
    a->step_size = a->lr / (1 - pow(a->beta1, step));
    a->bc2_sqrt = sqrt(1 - pow(a->beta2, step));
}

template <typename T>
TD_CU_HD void td_cu_adam_elem(const struct td_cu_adam &s, T *p, const T *g, T *m, T *v, T *vmax, int64_t i)
{
    T grad = s.maximize ? -g[i] : g[i];
    if (s.wd != 0 && s.decoupled)
        p[i] = td_cu_mul_rn(p[i], (T)(1 - s.lr * s.wd));
    else if (s.wd != 0)
        grad = grad + td_cu_mul_rn((T)s.wd, p[i]);
    m[i] = td_cu_mul_rn(m[i], (T)s.beta1) + td_cu_mul_rn(grad, (T)(1 - s.beta1));
    v[i] = td_cu_mul_rn(v[i], (T)s.beta2) + td_cu_mul_rn(td_cu_mul_rn(grad, grad), (T)(1 - s.beta2));
    T second = v[i];
    if (vmax) {
        vmax[i] = vmax[i] > v[i] ? vmax[i] : v[i];
        second = vmax[i];
    }
    T denom = (T)sqrt((double)second) / (T)s.bc2_sqrt + (T)s.eps;
    p[i] = p[i] + td_cu_mul_rn(m[i] / denom, (T)(-s.step_size));
}

#endif
