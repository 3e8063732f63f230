"""Linear algebra composed from existing ops: LU with partial pivoting
(one batched elimination step per column: argmax pivot, row swap by gather, rank-1
update), lu_unpack/lu_solve, solve_triangular/triangular_solve (the triangle handed to
linalg.solve), matrix_exp (scaling and squaring of a degree-18 Taylor polynomial),
linalg.vander, tensorinv, tensorsolve.  Registered on tensord and tensord.linalg by
__init__/linalg.py.  Complex matrices work throughout: the LU pivot is the largest
|re| + |im| (LAPACK's icamax, so the pivots are torch's), adjoints are conjugate
transposes, and matrix_exp computes in complex128."""
import builtins
import math as _math
import sys as _sys

from . import _C
from . import _records as F
from ._dtype import DTYPES

TB = _C.TensorBase
_F32, _F64, _I64, _I32 = DTYPES[0], DTYPES[1], DTYPES[4], DTYPES[5]
_C64, _C128 = DTYPES[10], DTYPES[11]
_LA_DTYPES = (_F32, _F64, _C64, _C128)
_T = _sys.modules[__name__.rpartition(".")[0]]

__all__ = ["matrix_exp", "lu", "lu_unpack", "lu_solve", "triangular_solve"]

for _n, _f in (("linalg_lu_factor", ("LU", "pivots")), ("linalg_lu_factor_ex", ("LU", "pivots", "info")),
               ("linalg_lu", ("P", "L", "U")), ("lu_unpack", ("P", "L", "U")),
               ("_lu_with_info", ("LU", "pivots", "info")), ("triangular_solve", ("solution", "cloned_coefficient"))):
    F.structseq(_n, _f)


def _float_mat(A, fname, arg="A"):
    F._check_tensor(A, fname)
    if A.ndim < 2:
        raise RuntimeError("%s: The input tensor %s must have at least 2 dimensions." % (fname, arg))
    if A.dtype not in _LA_DTYPES:
        raise RuntimeError("%s: Expected a floating point or complex tensor as input. Got %s"
                           % (fname, A.dtype._torch_name))


def _square(A, fname):
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError("%s: A must be batches of square matrices, but they are %d by %d matrices"
                           % (fname, A.shape[-2], A.shape[-1]))


# ---------------------------------------------------------------- LU

def _lu(A):
    """(LU, pivots int32, info int32) of A (..., m, n) by Doolittle elimination with partial pivoting."""
    m, n = A.shape[-2], A.shape[-1]
    k = builtins.min(m, n)
    batch = tuple(A.shape[:-2])
    U = _T.clone(_T.contiguous(A)) if hasattr(_T, "contiguous") else _T.clone(A)
    U = F.reshape(_T.clone(U), batch + (m, n))
    rows = _T.arange(m)
    piv_cols, info = [], _T.zeros(batch, dtype=_I64)
    for j in builtins.range(k):
        col = U[..., j:, j]
        if col.dtype.is_complex:  # LAPACK's icamax: |re| + |im|
            col = _T.add(_T.abs(_T.real(col)), _T.abs(_T.imag(col)))
        else:
            col = _T.abs(col)
        p = _T.add(_T.argmax(col, -1), j)  # (...,)
        piv_cols.append(p)
        pe = F.unsqueeze(p, -1)
        idx = _T.where(rows == j, pe, _T.where(rows == pe, _T.full((), j, dtype=_I64), rows))  # (..., m)
        idx = F.expand(F.unsqueeze(idx, -1), *(batch + (m, n)))
        F.copy_(U, _T.gather(_T.clone(U), len(batch), idx))  # the row dim, counted from the front
        pv = U[..., j, j]
        zero = pv == 0
        info = _T.where(_T.logical_and(zero, info == 0), _T.full((), j + 1, dtype=_I64), info)
        if j + 1 < m:
            below = U[..., j + 1:, j]
            lcol = _T.where(F.unsqueeze(zero, -1), below, _T.div(below, F.unsqueeze(_T.where(zero, 1.0, pv), -1)))
            F.copy_(below, lcol)
            if j + 1 < n:
                blk = U[..., j + 1:, j + 1:]
                F.copy_(blk, _T.sub(blk, _T.mul(F.unsqueeze(lcol, -1), F.unsqueeze(U[..., j, j + 1:], -2))))
    if k:
        pivots = F.cast(_T.add(_T.stack(piv_cols, -1), 1), _I32)
    else:
        pivots = _T.zeros(batch + (0,), dtype=_I32)
    return U, pivots, F.cast(info, _I32)


def _lu_checks(A, pivot, fname):
    F._check_tensor(A, fname)
    if A.ndim < 2:
        raise RuntimeError("%s: Expected tensor with 2 or more dimensions. Got size: %s instead"
                           % (fname, list(A.shape)))
    if A.dtype not in _LA_DTYPES:
        raise RuntimeError('"lu_cpu" not implemented for \'%s\'' % A.dtype._torch_name)
    if not pivot:
        raise RuntimeError("LU without pivoting is not implemented on the CPU")


def _raise_lu_info(info, fname):
    if info.numel() and builtins.bool(_T.any(info > 0)):
        flat = F.reshape(info, (-1,))
        i = builtins.int(_T.argmax(F.cast(flat > 0, _I32)).item())
        v = builtins.int(flat[i].item())
        pre = "(Batch element %d): " % i if info.ndim else ""
        raise RuntimeError("%s: %sU[%d,%d] is zero and using it on lu_solve would result in a division by zero. If "
                          "you still want to perform the factorization, consider calling linalg.lu(A, pivot) or "
                          "linalg.lu_factor_ex(A, pivot)" % (fname, pre, v, v))


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    _lu_checks(A, pivot, "torch.lu_factor_ex")
    LU, piv, info = _lu(A)
    if check_errors:
        _raise_lu_info(info, "torch.linalg.lu_factor_ex")
    return F.return_types.linalg_lu_factor_ex(LU, piv, info)


def lu_factor(A, *, pivot=True, out=None):
    _lu_checks(A, pivot, "torch.lu_factor")
    LU, piv, info = _lu(A)
    _raise_lu_info(info, "torch.linalg.lu_factor")
    return F.return_types.linalg_lu_factor(LU, piv)


def lu(A, pivot=True, get_infos=False, out=None):
    """torch.lu (deprecated in torch): (LU, pivots) or (LU, pivots, infos)."""
    _lu_checks(A, pivot, "torch.lu_factor")
    LU, piv, info = _lu(A)
    if get_infos:
        return F.return_types._lu_with_info(LU, piv, info)
    _raise_lu_info(info, "torch.linalg.lu_factor")
    return LU, piv


def _perm_from_pivots(piv, m):
    """perm[..., i] = the row of A that sits at row i of P^T A."""
    batch = tuple(piv.shape[:-1])
    perm = F.expand(_T.arange(m), *(batch + (m,)))
    perm = _T.clone(perm)
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
    return F.return_types.lu_unpack(P, L, U)


def _linalg_lu(A, *, pivot=True, out=None):
    _lu_checks(A, pivot, "linalg.lu")
    LU, piv, _ = _lu(A)
    P, L, U = lu_unpack(LU, piv)
    return F.return_types.linalg_lu(P, L, U)


# ---------------------------------------------------------------- triangular solves

def _tri(A, upper, unitriangular):
    T = _T.triu(A) if upper else _T.tril(A)
    if unitriangular:
        n = A.shape[-1]
        eye = _T.eye(n, dtype=A.dtype)
        T = _T.add(_T.mul(T, _T.logical_not(_T.eye(n, dtype=DTYPES[9]))), eye)
    return T


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """linalg.solve_triangular; the triangle of A goes to linalg.solve (an exactly singular
    triangle raises LinAlgError where torch returns inf/nan)."""
    F._check_tensor(A, "linalg_solve_triangular")
    F._check_tensor(B, "linalg_solve_triangular", "B", 2)
    for name, t in (("A", A), ("B", B)):
        if t.ndim < 2:
            raise RuntimeError("linalg.solve_triangular: The input tensor %s must have at least 2 dimensions." % name)
    dt = _T.promote_types(A.dtype, B.dtype)
    if dt not in _LA_DTYPES:
        raise RuntimeError('"triangular_solve_cpu" not implemented for \'%s\'' % dt._torch_name)
    A, B = F.cast(A, dt), F.cast(B, dt)
    _square(A, "linalg.solve_triangular")
    return F._out(_T.linalg.solve(_tri(A, upper, unitriangular), B, left=left), out)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    F._check_tensor(b, "triangular_solve")
    F._check_tensor(A, "triangular_solve", "A", 2)
    for name, t in (("b", b), ("A", A)):
        if t.ndim < 2:
            raise RuntimeError("torch.triangular_solve: The input tensor %s must have at least 2 dimensions."
                               % name)
    if A.dtype is not b.dtype:
        raise RuntimeError("triangular_solve: Expected b and A to have the same dtype, but found b of type %s and A "
                           "of type %s instead." % (b.dtype._torch_name, A.dtype._torch_name))
    _square(A, "torch.triangular_solve")
    T = _tri(A, upper, unitriangular)
    if transpose:
        T = F.transpose(T, -2, -1)
    x = _T.linalg.solve(T, b)
    return F.return_types.triangular_solve(x, _T.clone(A))


def _mH(t):
    from ._linalg import _mH as mh
    return mh(t)


def _lu_solve(LU, pivots, B, left, adjoint):
    P, L, U = lu_unpack(LU, pivots)
    if not left:  # X A = B  <=>  A^H X^H = B^H
        X = _lu_solve(LU, pivots, _mH(B), True, not adjoint)
        return _mH(X)
    if adjoint:  # (P L U)^H X = B  ->  X = P (L^H \\ (U^H \\ B))
        y = _T.linalg.solve(_mH(U), B)
        z = _T.linalg.solve(_mH(L), y)
        return _T.matmul(P, z)
    y = _T.linalg.solve(L, _T.matmul(F.transpose(P, -2, -1), B))
    return _T.linalg.solve(U, y)


def _linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    F._check_tensor(LU, "linalg_lu_solve", "LU")
    F._check_tensor(pivots, "linalg_lu_solve", "pivots", 2)
    F._check_tensor(B, "linalg_lu_solve", "B", 3)
    if B.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    _square(LU, "linalg.lu_solve")
    if LU.dtype is not B.dtype:
        raise RuntimeError("linalg.lu_solve: Expected LU and B to have the same dtype, but found LU of type %s and B "
                           "of type %s instead" % (LU.dtype._torch_name, B.dtype._torch_name))
    return F._out(_lu_solve(LU, pivots, B, left, adjoint), out)


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    return _linalg_lu_solve(LU_data, LU_pivots, b, out=out)


# ---------------------------------------------------------------- matrix_exp

def matrix_exp(A):
    F._check_tensor(A, "matrix_exp")
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_exp: The input tensor A must have at least 2 dimensions.")
    _square(A, "linalg.matrix_exp")
    if A.dtype not in _LA_DTYPES:
        raise RuntimeError("matrix_exp: Expected a floating point or complex tensor as input. Got %s"
                           % A.dtype._torch_name)
    n = A.shape[-1]
    if A.numel() == 0:
        return _T.clone(A)
    wide = _C128 if A.dtype.is_complex else _F64
    X = F.cast(A, wide)
    norm = builtins.float(_T.max(_T.sum(_T.abs(X), -1)).item())
    if not _math.isfinite(norm):
        return F.cast(_T.full(tuple(A.shape), float("nan"), dtype=wide), A.dtype)
    s = builtins.max(0, builtins.int(_math.ceil(_math.log2(norm))) + 1) if norm > 0.5 else 0
    X = _T.mul(X, 0.5 ** s)
    eye = _T.eye(n, dtype=wide)
    R, term = F.expand(eye, *tuple(X.shape)), F.expand(eye, *tuple(X.shape))
    for k in builtins.range(1, 19):
        term = _T.mul(_T.matmul(term, X), 1.0 / k)
        R = _T.add(R, term)
    for _ in builtins.range(s):
        R = _T.matmul(R, R)
    return F.cast(R, A.dtype)


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

