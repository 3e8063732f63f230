"""torch's LU family, triangular solves and matrix_exp on the LINALG_LU rows
(kernels/shape_linalg_lu.c; kernels/cpu/linalg_lu.c: LAPACK getrf/getrs and BLAS trsm;
kernels/cpu/linalg_matrix_exp.c: scaling and squaring of a Pade approximant), plus what
torch itself composes: lu_unpack (pivots to a permutation), linalg.lu (factor + unpack),
linalg.vander, tensorinv, tensorsolve.  Registered on tensord and tensord.linalg by
__init__/linalg.py.  Arguments are checked here with torch 1.13's messages in its order;
batch dims are broadcast here, so every operand of a row has the same batch.  A singular
matrix is getrf's info (an int32 output): the raising functions read it (a sync), the
solves return inf/nan as torch's CPU kernels do.  Complex matrices use LAPACK's c/z
routines; adjoints are conjugate transposes."""
import builtins
import math as _math
import sys as _sys

from . import _C
from ._C import ops
from . import _records as F
from ._dtype import DTYPES
from ._linalg import _broadcast_shapes, _mH

TB = _C.TensorBase
_TRANS = ("none", "transpose", "adjoint")  # op(A) of the solves: A, A^T, A^H
_F32, _F64, _I64, _I32 = DTYPES[0], DTYPES[1], DTYPES[4], DTYPES[5]
_C64, _C128 = DTYPES[10], DTYPES[11]
_LA_DTYPES = (_F32, _F64, _C64, _C128)
_T = _sys.modules[__name__.rpartition(".")[0]]

__all__ = ["matrix_exp", "lu", "lu_unpack", "lu_solve", "triangular_solve"]

for _n, _f in (("linalg_lu_factor", ("LU", "pivots")), ("linalg_lu_factor_ex", ("LU", "pivots", "info")),
               ("linalg_lu", ("P", "L", "U")), ("lu_unpack", ("P", "L", "U")),
               ("_lu_with_info", ("LU", "pivots", "info")), ("triangular_solve", ("solution", "cloned_coefficient"))):
    F.structseq(_n, _f)


def _square(A, fname):
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError("%s: A must be batches of square matrices, but they are %d by %d matrices"
                           % (fname, A.shape[-2], A.shape[-1]))


def _batch(A, B):
    """The broadcast of the batch dims (all but the last two) of A and B, with torch's
    message (which names B's size first)."""
    return tuple(_broadcast_shapes(list(B.shape[:-2]), list(A.shape[:-2])))


def _expand(t, batch, tail_dims=2):
    return F.expand(t, batch + tuple(t.shape[t.ndim - tail_dims:]))


# ---------------------------------------------------------------- LU

def _lu_checks(A, pivot, fname, api, arg="A"):
    F._check_tensor(A, api, arg)
    if A.ndim < 2:
        raise RuntimeError("%s: Expected tensor with 2 or more dimensions. Got size: %s instead"
                           % (fname, list(A.shape)))
    if A.dtype not in _LA_DTYPES:
        raise RuntimeError('"lu_cpu" not implemented for \'%s\'' % A.dtype._torch_name)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")


def _lu(A):
    """(LU, int32 pivots, int32 info) of A (..., m, n): one LU_FACTOR record (getrf)."""
    return ops.lu_factor(A)


def _raise_lu_info(info, fname):
    """torch's error for the first batch element whose U has an exact zero pivot (a sync)."""
    for i, v in enumerate(info.reshape(-1).tolist()):
        if v > 0:
            pre = "(Batch element %d): " % i if info.ndim else ""
            raise RuntimeError("%s: %sU[%d,%d] is zero and using it on lu_solve would result in a division by zero. "
                               "If you still want to perform the factorization, consider calling linalg.lu(A, pivot) "
                               "or linalg.lu_factor_ex(A, pivot)" % (fname, pre, v, v))


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    _lu_checks(A, pivot, "torch.lu_factor", "linalg_lu_factor_ex")
    LU, piv, info = _lu(A)
    if check_errors:
        _raise_lu_info(info, "torch.linalg.lu_factor_ex")
    return F._outs(F.return_types.linalg_lu_factor_ex(LU, piv, info), out, "linalg_lu_factor_ex")


def lu_factor(A, *, pivot=True, out=None):
    _lu_checks(A, pivot, "torch.lu_factor", "linalg_lu_factor")
    LU, piv, info = _lu(A)
    _raise_lu_info(info, "torch.linalg.lu_factor")
    return F._outs(F.return_types.linalg_lu_factor(LU, piv), out, "linalg_lu_factor")


def lu(A, pivot=True, get_infos=False, out=None):
    """torch.lu (deprecated in torch): (LU, pivots) or (LU, pivots, infos); never raises for
    a singular A, as torch 1.13's does not."""
    _lu_checks(A, pivot, "torch.lu_factor", "_lu_with_info", "input")
    LU, piv, info = _lu(A)
    if get_infos:
        return F._outs(F.return_types._lu_with_info(LU, piv, info), out, "lu")
    return F._outs((LU, piv), out, "lu")


def _perm_from_pivots(piv, m):
    """perm[..., i] = the row of A that sits at row i of P^T A (torch composes this too)."""
    batch = tuple(piv.shape[:-1])
    perm = _T.clone(F.expand(_T.arange(m), *(batch + (m,))))
    rows = _T.arange(m)
    p = F.cast(piv, _I64)
    for j in builtins.range(piv.shape[-1]):
        pj = F.unsqueeze(_T.sub(p[..., j], 1), -1)
        idx = _T.where(rows == j, pj, _T.where(rows == pj, _T.full((), j, dtype=_I64), rows))
        perm = _T.gather(perm, -1, idx)
    return perm


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    F._check_tensor(LU_data, "lu_unpack", "LU_data")
    F._check_tensor(LU_pivots, "lu_unpack", "LU_pivots", 2)
    if LU_pivots.dtype is not _I32:
        raise RuntimeError("lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.\n"
                           "Note: this function is intended to be used with the output produced by "
                           "torch.linalg.lu_factor")
    m, n = LU_data.shape[-2], LU_data.shape[-1]
    k = builtins.min(m, n)
    empty = _T.empty((0,), dtype=LU_data.dtype)
    if unpack_data:
        L = _T.tril(LU_data[..., :, :k], -1)
        L = _T.add(L, _T.eye(m, k, dtype=LU_data.dtype))
        U = _T.triu(LU_data[..., :k, :])
    else:
        L = U = empty
    if unpack_pivots:
        perm = _perm_from_pivots(LU_pivots, m)
        P = F.cast(_T.eq(F.unsqueeze(_T.arange(m), -1), F.unsqueeze(perm, -2)), LU_data.dtype)
    else:
        P = empty
    return F._outs(F.return_types.lu_unpack(P, L, U), out, "lu_unpack")


def _linalg_lu(A, *, pivot=True, out=None):
    _lu_checks(A, pivot, "linalg.lu", "linalg_lu")
    LU, piv, _ = _lu(A)
    return F._outs(F.return_types.linalg_lu(*lu_unpack(LU, piv)), out, "linalg_lu")


def _lu_solve_checks(LU, pivots, B, left):
    fn = "linalg.lu_solve"
    F._check_tensor(LU, "linalg_lu_solve", "LU")
    F._check_tensor(pivots, "linalg_lu_solve", "pivots", 2)
    F._check_tensor(B, "linalg_lu_solve", "B", 3)
    if LU.dtype in (DTYPES[2], DTYPES[3]):
        raise RuntimeError('"linalg.lu_solve_cpu" not implemented for \'%s\'' % LU.dtype._torch_name)
    if LU.dtype not in _LA_DTYPES:
        raise RuntimeError("torch.linalg.lu_solve: Expected a floating point or complex tensor as input. Got %s"
                           % LU.dtype._torch_name)
    if LU.ndim < 2:
        raise RuntimeError("torch.linalg.lu_solve: The input tensor A must have at least 2 dimensions.")
    _square(LU, "torch.linalg.lu_solve")
    if B.ndim < 2:
        raise RuntimeError("%s: The input tensor B must have at least 2 dimensions." % fn)
    if LU.dtype is not B.dtype:
        raise RuntimeError("%s: Expected LU and B to have the same dtype, but found LU of type %s and B of type %s "
                           "instead" % (fn, LU.dtype._torch_name, B.dtype._torch_name))
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError("%s: Incompatible shapes of A and B for the equation %s (%dx%d and %dx%d)"
                           % (fn, "AX = B" if left else "XA = B", n, n, B.shape[-2], B.shape[-1]))
    if pivots.dtype is not _I32:
        raise RuntimeError("%s: pivots should be a Tensor of scalar type torch.int32" % fn)
    if pivots.ndim == 0 or pivots.shape[-1] != LU.shape[-1]:
        raise RuntimeError("%s: Number of pivots per batch should be same as the dimension of the matrix" % fn)
    if tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise RuntimeError("%s: Expected LU.shape[:-1] and pivots.shape to be the same, but got pivots with shape %s "
                           "instead" % (fn, list(pivots.shape)))


def _linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    _lu_solve_checks(LU, pivots, B, left)
    # X A = B is A^T X^T = B^T, and X A^H = B is A X^H = B^H: one getrs either way
    rhs = B if left else (_mH(B) if adjoint else F.transpose(B, -2, -1))
    trans = (2 if adjoint else 0) if left else (0 if adjoint else 1)
    batch = _batch(LU, rhs)
    X = ops.lu_solve(_expand(LU, batch), _expand(pivots, batch, 1), _expand(rhs, batch), _TRANS[trans])
    if not left:
        X = _mH(X) if adjoint else F.transpose(X, -2, -1)
    return F._out(X, out)


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    return _linalg_lu_solve(LU_data, LU_pivots, b, out=out)


# ---------------------------------------------------------------- triangular solves

def _trsm(A, B, upper, left, unitriangular, trans):
    """One TRIANGULAR_SOLVE record on A and B broadcast to a common batch."""
    batch = _batch(A, B)
    X = ops.triangular_solve(_expand(A, batch), _expand(B, batch), builtins.bool(upper), builtins.bool(left),
                             builtins.bool(unitriangular), _TRANS[trans])
    return X, batch


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    fn = "linalg.solve_triangular"
    F._check_tensor(A, "linalg_solve_triangular")
    F._check_tensor(B, "linalg_solve_triangular", "B", 2)
    for name, t in (("A", A), ("B", B)):
        if t.ndim < 2:
            raise RuntimeError("%s: The input tensor %s must have at least 2 dimensions." % (fn, name))
    _square(A, fn)
    dt = A.dtype  # torch 1.13 solves in A's dtype: B is cast to it (a complex B loses its imaginary part)
    if dt not in _LA_DTYPES:
        raise RuntimeError('"triangular_solve_cpu" not implemented for \'%s\'' % dt._torch_name)
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError("%s: Incompatible shapes of A and B for the equation %s (%dx%d and %dx%d)"
                           % (fn, "AX = B" if left else "XA = B", n, n, B.shape[-2], B.shape[-1]))
    if B.dtype.is_complex and not dt.is_complex:
        B = _T.real(B)
    X, _ = _trsm(A, F.cast(B, dt), upper, left, unitriangular, 0)
    return F._out(X, out)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    fn = "torch.triangular_solve"
    F._check_tensor(b, "triangular_solve")
    F._check_tensor(A, "triangular_solve", "A", 2)
    for name, t in (("b", b), ("A", A)):
        if t.ndim < 2:
            raise RuntimeError("%s: Expected %s to have at least 2 dimensions, but it has %d dimensions instead"
                               % (fn, name, t.ndim))
    if A.dtype is not b.dtype:
        raise RuntimeError("Expected b and A to have the same dtype, but found b of type %s and A "
                           "of type %s instead." % (b.dtype._torch_name, A.dtype._torch_name))
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError("A must be batches of square matrices, but they are %d by %d matrices"
                           % (A.shape[-2], A.shape[-1]))
    if A.dtype not in _LA_DTYPES:
        raise RuntimeError('"triangular_solve_cpu" not implemented for \'%s\'' % A.dtype._torch_name)
    if b.shape[-2] != A.shape[-1]:
        raise RuntimeError("Incompatible matrix sizes for triangular_solve: each A matrix is %d by %d but each b "
                           "matrix is %d by %d" % (A.shape[-2], A.shape[-1], b.shape[-2], b.shape[-1]))
    x, batch = _trsm(A, b, upper, True, unitriangular, 1 if transpose else 0)  # torch transposes, never conjugates
    return F._outs(F.return_types.triangular_solve(x, _T.clone(_expand(A, batch))), out, "triangular_solve")


# ---------------------------------------------------------------- matrix_exp

def matrix_exp(A):
    F._check_tensor(A, "matrix_exp")
    return ops.matrix_exp(A)  # the meta layer words torch's rank, square and dtype errors


# ---------------------------------------------------------------- linalg extras

def _linalg_vander(x, *, N=None):
    F._check_tensor(x, "linalg_vander", "x")
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    n = x.shape[-1] if N is None else F.index_int(N)
    if n < 2:
        raise RuntimeError("N must be greater than 1.")
    dt = _T.promote_types(x.dtype, _I64)
    xv = F.cast(x, dt)
    ones = _T.ones(tuple(x.shape) + (1,), dtype=dt)
    rep = F.expand(F.unsqueeze(xv, -1), *(tuple(x.shape) + (n - 1,)))
    return _T.cat([ones, _T.cumprod(rep, -1)], -1)


def _linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    return _T.diagonal(A, offset, dim1, dim2)


def tensorinv(A, ind=2, *, out=None):
    F._check_tensor(A, "linalg_tensorinv", "A")
    ind = F.index_int(ind)
    if ind <= 0:
        raise RuntimeError("Expected a strictly positive integer for 'ind', but got %d" % ind)
    lead, tail = list(A.shape[:ind]), list(A.shape[ind:])
    p = _math.prod(lead)
    q = _math.prod(tail)
    if p != q:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           "prod(self.shape[:ind]), but got %d != %d" % (q, p))
    inv = _T.linalg.inv(F.reshape(A, (p, q)))
    return F._out(F.reshape(inv, tuple(tail + lead)), out)


def tensorsolve(A, B, dims=None, *, out=None):
    F._check_tensor(A, "linalg_tensorsolve", "A")
    F._check_tensor(B, "linalg_tensorsolve", "B", 2)
    if dims is not None:
        nd = A.ndim
        src = [F.wrap_dim(d, nd) for d in dims]
        A = _T.movedim(A, src, list(builtins.range(nd - len(src), nd)))
    rest = list(A.shape[B.ndim:])
    q = _math.prod(rest)
    if _math.prod(A.shape[:B.ndim]) != q or tuple(A.shape[:B.ndim]) != tuple(B.shape):
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           "prod(self.shape[:other.ndim]), but got %d != %d"
                           % (q, _math.prod(A.shape[:B.ndim])))
    x = _T.linalg.solve(F.reshape(A, (B.numel(), q)), F.reshape(B, (B.numel(),)))
    return F._out(F.reshape(x, tuple(rest)), out)

