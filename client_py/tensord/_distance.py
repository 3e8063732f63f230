"""Distances and similarities (pdist, pairwise_distance, cosine_similarity), the deprecated
top-level norms (frobenius_norm, nuclear_norm, native_norm) and the thresholding
activations (threshold, threshold_, hardshrink), with torch 1.13's checks.

Compositions of existing ops; tensord.nn.functional re-exports the nn-flavoured ones."""
import builtins
import sys as _sys

from . import _C
from . import _records as F

TB = _C.TensorBase
_T = _sys.modules[__name__.rpartition(".")[0]]

__all__ = []

_check = F._check_tensor
_export = F.exporter(globals(), __all__)


def _not_impl(kernel, dt):
    return RuntimeError('"%s" not implemented for \'%s\'' % (kernel, dt._torch_name))


def _number(v, fname, arg, pos):
    """A Scalar argument: a Python number or a one-element tensor."""
    if isinstance(v, TB):
        return v.item()
    if not F.is_scalar(v) or isinstance(v, builtins.complex):
        raise TypeError("%s(): argument '%s' (position %d) must be Number, not %s" % (fname, arg, pos, type(v).__name__))
    return v


def _in_dtype(v, dt):
    """Scalar v as it lands in a tensor of dtype dt (C truncation for integer dtypes)."""
    if dt.is_floating_point or dt.is_complex:
        return v
    return builtins.int(builtins.bool(v)) if dt is _T.bool else builtins.int(v)


# ---------------------------------------------------------------- thresholds

def threshold(input, threshold, value, *, out=None):
    """x where x > threshold, else value (NaN stays NaN)."""
    _check(input, "threshold")
    th, v = _number(threshold, "threshold", "threshold", 2), _number(value, "threshold", "value", 3)
    if input.dtype is _T.bool or input.dtype.is_complex:
        raise _not_impl("threshold_cpu", input.dtype)
    r = _T.where(_T.le(input, th), _T.full((), _in_dtype(v, input.dtype), dtype=input.dtype), input)
    return F._out(r, out)


def threshold_(input, threshold, value):
    _check(input, "threshold_")
    return F.copy_(input, _T.threshold(input, threshold, value))


def hardshrink(input, lambd=0.5, *, out=None):
    """0 where -lambd <= x <= lambd, else x."""
    _check(input, "hardshrink")
    lam = _number(lambd, "hardshrink", "lambd", 2)
    if not input.dtype.is_floating_point:
        raise _not_impl("hardshrink_cpu", input.dtype)
    inside = _T.logical_and(_T.ge(input, -lam), _T.le(input, lam))
    return F._out(_T.where(inside, _T.zeros((), dtype=input.dtype), input), out)


_export("threshold", threshold)
_export("threshold_", threshold_)
_export("hardshrink", hardshrink)


# ---------------------------------------------------------------- deprecated top-level norms

def _norm_dtype(input):
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError("norm(): input dtype should be either floating point or complex. Got %s instead."
                           % input.dtype._torch_name)


def frobenius_norm(input, dim=(), keepdim=False, *, out=None):
    """sqrt(sum |x|^2) over dim (all dims when empty); at most two dims, as torch 1.13."""
    _check(input, "frobenius_norm")
    dims = [F.index_int(d) for d in ((dim,) if not isinstance(dim, (tuple, list)) else dim)]
    if len(dims) > 2:
        raise RuntimeError("Expected at most 2 dimensions, but got %d dimensions instead." % len(dims))
    if len(dims) == 2 and F.wrap_dim(dims[0], input.ndim) == F.wrap_dim(dims[1], input.ndim):
        raise RuntimeError("Expected dims to be different, got %s instead" % dims)
    _norm_dtype(input)
    x = _T.abs(input) if input.dtype.is_complex else input
    r = _T.linalg.vector_norm(x, 2, dim=dims if dims else None, keepdim=builtins.bool(keepdim))
    return F._out(r, out)


def nuclear_norm(input, dim=None, keepdim=False, *, out=None):
    """Sum of singular values of the matrices in dims `dim` (the whole 2-D input by default).
    nuclear_norm(input, True) is torch's keepdim overload."""
    _check(input, "nuclear_norm")
    if isinstance(dim, builtins.bool):
        dim, keepdim = None, dim
    if dim is None:
        if input.ndim != 2:
            raise RuntimeError("Expected a tensor with 2 dimensions, but got a tensor with %d dimensions instead."
                               % input.ndim)
        dims = [0, 1]
    else:
        dims = [F.index_int(d) for d in dim]
        if len(dims) != 2:
            raise RuntimeError("nuclear norm requires a 'dim' argument of size 2")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError("linalg.svd: Expected a floating point or complex tensor as input. Got %s"
                           % input.dtype._torch_name)
    return F._out(_T.linalg.matrix_norm(input, "nuc", dim=tuple(dims), keepdim=builtins.bool(keepdim)), out)


def native_norm(input, p=2, dim=None, keepdim=False, dtype=None):
    """torch 1.13 has a kernel only for sparse tensors (tensord has none): a dense input
    gets its dispatcher's NotImplementedError."""
    _check(input, "native_norm")
    overload = "" if dim is None else ".ScalarOpt_dim_dtype"
    raise NotImplementedError("Could not run 'aten::native_norm%s' with arguments from the 'CPU' backend. This could "
                              "be because the operator doesn't exist for this backend, or was omitted during the "
                              "selective/custom build process (if using custom build). 'aten::native_norm%s' is only "
                              "available for these backends: [SparseCPU]." % (overload, overload))


def norm_except_dim(v, pow=2, dim=0):  # noqa: A002  (torch's argument name)
    """The pow-norm over every dim but dim, kept as size-1 dims (weight_norm's magnitude);
    dim -1: the norm of all of v."""
    _check(v, "norm_except_dim", "v")
    if dim == -1:
        return _T.norm(v, pow)
    d = F.wrap_dim(dim, v.ndim)
    dims = [i for i in builtins.range(v.ndim) if i != d]
    return _T.norm(v, pow, dims, True) if dims else _T.abs(v)


_export("frobenius_norm", frobenius_norm)
_export("nuclear_norm", nuclear_norm)
_export("native_norm", native_norm)
_export("norm_except_dim", norm_except_dim)


# ---------------------------------------------------------------- distances

def pdist(input, p=2):
    """p-norm distances between the rows of a 2-D input, pairs (i, j) with i < j in row-major order."""
    _check(input, "pdist")
    if input.ndim != 2:
        raise RuntimeError("pdist only supports 2D tensors, got: %dD" % input.ndim)
    if not input.dtype.is_floating_point:
        raise RuntimeError("pdist only supports floating-point dtypes")
    if not p >= 0:
        raise RuntimeError("pdist only supports non-negative p values")
    if input.dtype in (_T.float16, _T.bfloat16):
        raise _not_impl("pdist", input.dtype)
    n = input.shape[0]
    ij = _T.triu_indices(n, n, 1)
    diff = _T.sub(_T.index_select(input, 0, ij[0]), _T.index_select(input, 0, ij[1]))
    return _T.linalg.vector_norm(diff, p, dim=1)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """norm(x1 - x2 + eps, p) over the last dim of the broadcast shape."""
    _check(x1, "pairwise_distance", "x1", 1)
    _check(x2, "pairwise_distance", "x2", 2)
    last = builtins.max(x1.ndim, x2.ndim) - 1
    return _T.norm(_T.add(_T.sub(x1, x2), eps), p, last, builtins.bool(keepdim))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(|x1|, eps) * max(|x2|, eps)) along dim, after broadcasting."""
    _check(x1, "cosine_similarity", "x1", 1)
    _check(x2, "cosine_similarity", "x2", 2)
    dt = _T.result_type(x1, x2)
    if not dt.is_floating_point:
        raise RuntimeError("expected common dtype to be floating point, yet common dtype is %s" % dt._torch_name)
    a, b = _T.broadcast_tensors(F.cast(x1, dt), F.cast(x2, dt))
    d = F.wrap_dim(dim, a.ndim)
    na = _T.clamp_min(_T.linalg.vector_norm(a, 2, dim=d, keepdim=True), eps)
    nb = _T.clamp_min(_T.linalg.vector_norm(b, 2, dim=d, keepdim=True), eps)
    return _T.sum(_T.mul(_T.div(a, na), _T.div(b, nb)), d)


for _n in ("pdist", "pairwise_distance", "cosine_similarity"):
    _export(_n, globals()[_n])
