"""torch's Householder and LDL building blocks: geqrf, linalg.householder_product (and its
alias orgqr), ormqr, linalg.ldl_factor(_ex) and linalg.ldl_solve, on the LINALG_PACKED
family's rows (kernels/shape_linalg_packed.c, kernels/cpu/linalg_packed.c: LAPACK geqrf, orgqr, ormqr,
sytrf, sytrs).  Arguments are checked here with torch 1.13's messages, in its order.
float32 and float64 only (torch also takes complex: refused here with a clear message)."""
import builtins
import sys as _sys

from . import _C
from . import _records as F
from ._C import ops

TB = _C.TensorBase
_T = _sys.modules[__name__.rpartition(".")[0]]

__all__ = []

_check = F._check_tensor
_export = F.exporter(globals(), __all__)

F.structseq("geqrf", ("a", "tau"))
F.structseq("linalg_ldl_factor", ("LD", "pivots"))
F.structseq("linalg_ldl_factor_ex", ("LD", "pivots", "info"))


def _real_kernel(x, kernel):
    if x.dtype.is_complex:
        raise RuntimeError("%s: complex input is not supported by tensord yet" % kernel)
    if x.dtype not in (_T.float32, _T.float64):
        raise RuntimeError('"%s" not implemented for \'%s\'' % (kernel, x.dtype._torch_name))


def geqrf(input, *, out=None):
    _check(input, "geqrf")
    if input.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    _real_kernel(input, "geqrf_cpu")
    a, tau = ops.geqrf(input)
    return F._outs(F.return_types.geqrf(a, tau), out, "geqrf")


def householder_product(input, tau, *, out=None):
    fn = "torch.linalg.householder_product"
    _check(input, "linalg_householder_product")
    _check(tau, "linalg_householder_product", "tau", 2)
    if input.ndim < 2:
        raise RuntimeError("%s: input must have at least 2 dimensions." % fn)
    if input.shape[-2] < input.shape[-1]:
        raise RuntimeError("%s: input.shape[-2] must be greater than or equal to input.shape[-1]" % fn)
    if tau.ndim and input.shape[-1] < tau.shape[-1]:
        raise RuntimeError("%s: input.shape[-1] must be greater than or equal to tau.shape[-1]" % fn)
    if input.ndim - tau.ndim != 1:
        raise RuntimeError("%s: Expected tau to have one dimension less than input, but got tau.ndim equal to %d and "
                           "input.ndim is equal to %d" % (fn, tau.ndim, input.ndim))
    if tuple(tau.shape[:-1]) != tuple(input.shape[:-2]):
        raise RuntimeError("%s: Expected batch dimensions of tau to be equal to input.shape[:-2], but got %s"
                           % (fn, list(tau.shape[:-1])))
    if tau.dtype is not input.dtype:
        raise RuntimeError("%s: tau dtype %s does not match input dtype %s"
                           % (fn, tau.dtype._torch_name, input.dtype._torch_name))
    _real_kernel(input, "orgqr_cpu")
    return F._out(ops.orgqr(input, tau), out)


def orgqr(input, tau):
    return householder_product(input, tau)


def ormqr(input, tau, other, left=True, transpose=False, *, out=None):
    fn = "torch.ormqr"
    _check(input, "ormqr")
    _check(tau, "ormqr", "input2", 2)
    _check(other, "ormqr", "input3", 3)
    if input.ndim < 2:
        raise RuntimeError("%s: input must have at least 2 dimensions." % fn)
    if other.ndim < 2:
        raise RuntimeError("%s: other must have at least 2 dimensions." % fn)
    side = -2 if left else -1
    k = tau.shape[-1] if tau.ndim else 1
    if other.shape[side] < k:
        raise RuntimeError("%s: other.shape[%d] must be greater than or equal to tau.shape[-1]" % (fn, side))
    if other.shape[side] != input.shape[-2]:
        raise RuntimeError("%s: other.shape[%d] must be equal to input.shape[-2]" % (fn, side))
    if k > input.shape[-1]:
        raise RuntimeError("%s: tau.shape[-1] must be less than or equal to input.shape[-1]" % fn)
    if input.ndim - tau.ndim != 1:
        raise RuntimeError("%s: Expected tau to have one dimension less than input, but got tau.ndim equal to %d and "
                           "input.ndim is equal to %d" % (fn, tau.ndim, input.ndim))
    if input.ndim != other.ndim:
        raise RuntimeError("%s: Expected other to have the same number of dimensions as input, but got other.ndim "
                           "equal to %d and input.ndim is equal to %d" % (fn, other.ndim, input.ndim))
    if tuple(tau.shape[:-1]) != tuple(input.shape[:-2]):
        raise RuntimeError("%s: Expected batch dimensions of tau to be equal to input.shape[:-2], but got %s"
                           % (fn, list(tau.shape[:-1])))
    if tuple(other.shape[:-2]) != tuple(input.shape[:-2]):
        raise RuntimeError("%s: Expected batch dimensions of other to be equal to input.shape[:-2], but got %s"
                           % (fn, list(other.shape[:-2])))
    for t, name in ((tau, "tau"), (other, "other")):
        if t.dtype is not input.dtype:
            raise RuntimeError("%s: Expected input and %s to have the same dtype, but input has dtype%s and %s has "
                               "dtype %s" % (fn, name, input.dtype._torch_name, name, t.dtype._torch_name))
    _real_kernel(input, "ormqr_cpu")
    r = ops.ormqr(input, tau, other, builtins.bool(left), builtins.bool(transpose))
    return F._out(r, out)


def _ldl_check(A, fn):
    _check(A, fn.rpartition(".")[2])
    fn = "torch.linalg.ldl_factor_ex"
    if A.ndim < 2:
        raise RuntimeError("%s: The input tensor A must have at least 2 dimensions." % fn)
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError("%s: A must be batches of square matrices, but they are %d by %d matrices"
                           % (fn, A.shape[-2], A.shape[-1]))
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise RuntimeError("%s: Expected a floating point or complex tensor as input. Got %s"
                           % (fn, A.dtype._torch_name))
    _real_kernel(A, "ldl_factor_kernel_cpu")


def _ldl_raise(info, fn):
    """torch 1.13 reports sytrf's info > 0 (a zero pivot) through an internal assert."""
    bad = [builtins.int(v) for v in info.reshape(-1).tolist() if v != 0]
    if bad:
        raise RuntimeError('false INTERNAL ASSERT FAILED at "./aten/src/ATen/native/BatchLinearAlgebra.cpp":1491, '
                           'please report a bug to PyTorch. %s: Unknown error code: %d.' % (fn, bad[0]))


def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    _ldl_check(A, "linalg_ldl_factor_ex")
    LD, piv, info = ops.ldl_factor(A, builtins.bool(hermitian))
    if check_errors:
        _ldl_raise(info, "torch.linalg.ldl_factor_ex")
    return F._outs(F.return_types.linalg_ldl_factor_ex(LD, piv, info), out, "linalg_ldl_factor_ex")


def ldl_factor(A, *, hermitian=False, out=None):
    _ldl_check(A, "linalg_ldl_factor")
    LD, piv, info = ops.ldl_factor(A, builtins.bool(hermitian))
    _ldl_raise(info, "torch.linalg.ldl_factor")
    return F._outs(F.return_types.linalg_ldl_factor(LD, piv), out, "linalg_ldl_factor")


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    fn = "torch.linalg.ldl_solve"
    _check(LD, "linalg_ldl_solve", "LD", 1)
    _check(pivots, "linalg_ldl_solve", "pivots", 2)
    _check(B, "linalg_ldl_solve", "B", 3)
    if LD.ndim < 2:
        raise RuntimeError("%s: The input tensor A must have at least 2 dimensions." % fn)
    if LD.shape[-1] != LD.shape[-2]:
        raise RuntimeError("%s: A must be batches of square matrices, but they are %d by %d matrices"
                           % (fn, LD.shape[-2], LD.shape[-1]))
    F.wrap_dim(-2, B.ndim)
    if B.shape[-2] != LD.shape[-1]:
        raise RuntimeError("Incompatible matrix sizes for %s: each A matrix is %d by %d but each b matrix is %d by %d"
                           % (fn, LD.shape[-2], LD.shape[-1], B.shape[-2], B.shape[-1]))
    if tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise RuntimeError("%s: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots with shape %s "
                           "instead" % (fn, list(pivots.shape)))
    if pivots.dtype not in (_T.int32, _T.int64):
        raise RuntimeError("%s: Expected pivots to be integers. Got %s" % (fn, pivots.dtype._torch_name))
    if B.dtype is not LD.dtype:
        raise RuntimeError("Expected b and A to have the same dtype, but found b of type %s and A of type %s instead."
                           % (B.dtype._torch_name, LD.dtype._torch_name))
    _real_kernel(LD, "ldl_solve_cpu")
    batch = _T.broadcast_shapes(tuple(LD.shape[:-2]), tuple(B.shape[:-2]))
    n = LD.shape[-1]
    LDb = F.expand(LD, tuple(batch) + (n, n))
    pb = F.expand(F.cast(pivots, _T.int32), tuple(batch) + (n,))
    Bb = F.expand(B, tuple(batch) + tuple(B.shape[-2:]))
    return F._out(ops.ldl_solve(LDb, pb, Bb, builtins.bool(hermitian)), out)


_export("geqrf", geqrf)
_export("orgqr", orgqr)
_export("ormqr", ormqr)
