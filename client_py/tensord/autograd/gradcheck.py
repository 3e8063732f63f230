"""gradcheck and gradgradcheck, as torch.autograd's: the analytical Jacobian (one
backward per output element) against central finite differences, in the inputs' dtype
(use float64 or complex128)."""
import numpy as _np

from .. import _C


class GradcheckError(RuntimeError):
    pass


def _tensors(x):
    return (x,) if isinstance(x, _C.TensorBase) else tuple(x)


def _flat_outputs(fn, inputs):
    return [o for o in _tensors(fn(*inputs)) if isinstance(o, _C.TensorBase)]


def _reals(t):
    """t's values as float64: a complex tensor as its (re, im) pairs, flattened."""
    a = _np.array(t.detach().numpy()).reshape(-1)
    return a.astype(_np.complex128).view(_np.float64) if a.dtype.kind == "c" else a.astype(_np.float64)


# Complex inputs and outputs are checked as torch's gradcheck does, through the real
# Jacobian of the function on (re, im) pairs: an output's real part is reached with grad
# output 1, its imaginary part with 1j (the real loss Re(conj(v) out)); a complex input's
# gradient dL/dx + i dL/dy fills the columns of its real and imaginary parts.

def _numerical(fn, inputs, i, eps):
    """d outputs / d inputs[i] by central differences: a list per output of
    (real numel_out, real numel_in)."""
    from .. import tensor
    x = inputs[i]
    cplx = x.dtype.is_complex
    flat = _reals(x)
    cols = []
    for j in range(flat.size):
        vals = []
        for sign in (1, -1):
            pert = flat.copy()
            pert[j] += sign * eps
            arr = pert.view(_np.complex128) if cplx else pert
            args = list(inputs)
            # requires_grad kept: gradgradcheck's function differentiates inside
            args[i] = tensor(arr.reshape(tuple(x.shape)), dtype=x.dtype, requires_grad=x.requires_grad)
            vals.append([_reals(o) for o in _flat_outputs(fn, args)])
        cols.append([(a - b) / (2 * eps) for a, b in zip(*vals)])
    return [_np.stack([c[k] for c in cols], axis=1) if cols else _np.zeros((0, 0)) for k in range(len(cols[0]))] \
        if cols else []


def _analytical(outputs, inputs, i, create):
    """d outputs / d inputs[i] by one backward per real output element."""
    from .. import tensor
    from . import grad
    out = []
    n_in = _reals(inputs[i]).size
    for o in outputs:
        cplx = o.dtype.is_complex
        rows = []
        for j in range(o.numel()):
            for unit in ((1, 1j) if cplx else (1,)):
                g = _np.zeros(o.numel(), dtype=_np.complex128 if cplx else _np.float64)
                g[j] = unit
                g = tensor(g.reshape(tuple(o.shape)), dtype=o.dtype)
                (gi,) = grad([o], [inputs[i]], [g], retain_graph=True, allow_unused=True)
                rows.append(_np.zeros(n_in) if gi is None else _reals(gi))
        out.append(_np.stack(rows) if rows else _np.zeros((0, n_in)))
    return out


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, check_undefined_grad=True,
              nondet_tol=0.0, check_grad_dtypes=False, check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False):
    """True when func's analytical gradients match finite differences for every input that requires grad."""
    inputs = _tensors(inputs)
    outputs = _flat_outputs(func, inputs)
    for i, x in enumerate(inputs):
        if not (isinstance(x, _C.TensorBase) and x.requires_grad):
            continue
        num = _numerical(func, inputs, i, eps)
        ana = _analytical(outputs, inputs, i, False)
        for k, (n, a) in enumerate(zip(num, ana)):
            if not _np.allclose(a, n, rtol=rtol, atol=atol):
                if raise_exception:
                    raise GradcheckError("Jacobian mismatch for output %d with respect to input %d,\nnumerical:%s\n"
                                         "analytical:%s\n" % (k, i, n, a))
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, gen_non_contig_grad_outputs=False,
                  raise_exception=True, nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
                  check_batched_grad=False, check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False):
    """gradcheck of the function inputs -> (gradients of func's outputs . grad_outputs)."""
    from .. import randn_like
    from . import grad
    inputs = _tensors(inputs)
    outputs = _flat_outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = [randn_like(o).requires_grad_() for o in outputs]
    grad_outputs = list(_tensors(grad_outputs))
    diff = [x for x in inputs if isinstance(x, _C.TensorBase) and x.requires_grad]
    n = len(inputs)

    def first_grads(*args):
        outs = _flat_outputs(func, args[:n])
        wrt = [a for a in args[:n] if isinstance(a, _C.TensorBase) and a.requires_grad]
        gs = grad(outs, wrt, list(args[n:]), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    del diff
    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
