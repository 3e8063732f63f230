/*
 * shape_fft.c — meta inference for the FFT family: discrete Fourier transforms over a
 * set of dims, as ATen's _fft_c2c/_fft_r2c/_fft_c2r (the client resizes the signal to
 * n/s and picks the dims; torch.fft's functions are compositions of these three).
 *
 * Attributes: [norm, x, d0, ..., dk-1], 1 <= k <= ndim, the dims distinct and in
 * [0, ndim).  norm: 0 none, 1 divide by the signal size N (product of the transformed
 * sizes), 2 divide by sqrt(N).
 *   FFT_C2C  complex input; x 1 forward (e^-i), 0 backward (e^+i): same sizes and dtype
 *   FFT_R2C  float32/float64 input, x 0: the one-sided spectrum, the last listed dim
 *            n -> n/2 + 1, complex64/complex128
 *   FFT_C2R  complex input, x = the real length n of the last listed dim, whose input
 *            size must be n/2 + 1 (Hermitian half): real output with that dim n
 * Every transformed size is at least 1 (torch: "Invalid number of data points").  Outputs
 * are contiguous; the compute dtype is the input's (no casting: the client casts).
 */
#include "shape_internal.h"

static enum td_code fail(const struct td_op_args *a, const char *what, struct td_status *st)
{
    return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "%s: %s", td_op_name(a->op), what);
}

enum td_code td__infer_fft(const struct td_op_args *a, struct td_meta *out, struct td_infer *inf,
                           struct td_status *st)
{
    if (td__need_inputs(a, 1, 1, st) || td__need_attrs(a, TD_A_FFT_DIMS + 1, st)) /* at least one dim */
        return st->code;
    const struct td_meta *x = a->in[0];
    enum td_dtype dt = (enum td_dtype)x->dtype;
    const int64_t *dims = a->attrs + TD_A_FFT_DIMS; /* the last attribute: k words */
    int64_t n = a->attrs[TD_A_FFT_X];
    int k = (int)(a->n_attr - TD_A_FFT_DIMS);
    bool seen[TD_MAX_DIMS] = {false};
    if (k > x->ndim)
        return fail(a, "more dims than the input has", st);
    if (a->attrs[TD_A_FFT_NORM] < 0 || a->attrs[TD_A_FFT_NORM] > 2)
        return fail(a, "invalid norm mode", st);
    for (int i = 0; i < k; i++) {
        int64_t d = dims[i];
        if (d < 0 || d >= x->ndim || seen[d])
            return td_status_set(st, TD_CODE_OUT_OF_RANGE, "%s: dims must be distinct and in [0, %d)",
                                 td_op_name(a->op), x->ndim);
        seen[d] = true;
    }
    bool want_complex = a->op != TD_OP_FFT_R2C;
    if (dt != (want_complex ? TD_DTYPE_COMPLEX64 : TD_DTYPE_FLOAT32) &&
        dt != (want_complex ? TD_DTYPE_COMPLEX128 : TD_DTYPE_FLOAT64))
        return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Unsupported dtype %s", td_dtype_torch_name(dt));
    int64_t sizes[TD_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        sizes[i] = x->sizes[i];
    int last = (int)dims[k - 1];
    enum td_dtype odt = dt;
    switch (a->op) {
    case TD_OP_FFT_C2C:
        if (n != 0 && n != 1)
            return fail(a, "direction must be 0 or 1", st);
        break;
    case TD_OP_FFT_R2C:
        odt = td_dtype_to_complex(dt);
        sizes[last] = x->sizes[last] / 2 + 1;
        break;
    case TD_OP_FFT_C2R:
        if (n < 1 || n > TD_MAX_NUMEL || x->sizes[last] != n / 2 + 1)
            return fail(a, "the last dim must hold n/2 + 1 elements of the n-point signal", st);
        odt = td_dtype_to_real(dt);
        sizes[last] = n;
        break;
    default: return td_status_set(st, TD_CODE_INTERNAL, "op %u is not an FFT-family op", a->op);
    }
    for (int i = 0; i < k; i++)
        if (x->sizes[dims[i]] < 1)
            return td_status_set(st, TD_CODE_INVALID_ARGUMENT, "Invalid number of data points (%lld) specified",
                                 (long long)x->sizes[dims[i]]);
    inf->n_out = 1;
    inf->compute_dtype = dt;
    return td_meta_contiguous(&out[0], odt, x->ndim, sizes, st);
}
