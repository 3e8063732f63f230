"""Math functions: elementwise functions (trig, special, predicates, binary and
ternary), softmax/log_softmax, cumulative ops and statistics (var/std, norm, median, mode,
...).  Each function records one op of proto/ops.def (the C meta layer checks shapes and
dtypes and raises torch's errors); only argument normalization lives here.  Imported by
the package __init__, which re-exports __all__; Tensor's methods for them are declared in _tensor.py."""
import builtins

from . import _C
from . import _op_numbers as O
from . import _records as F
from ._C import ops
from ._dtype import DTYPES, check_dtype, get_default_dtype

TB = _C.TensorBase
_BOOL, _F32, _F64, _F16, _BF16 = DTYPES[9], DTYPES[0], DTYPES[1], DTYPES[2], DTYPES[3]

__all__ = []
# in-place variants torch has only as Tensor methods (not torch.<name>_)
_METHOD_ONLY = {"lerp", "addcmul", "addcdiv", "cumsum", "cumprod"} | {
    a for n, _, al, v in O.PYTHON if "m" in v for a in (n,) + al}


def _export(name, fn, inplace=None):
    globals()[name] = fn
    __all__.append(name)
    if inplace is not None:
        globals()[name + "_"] = inplace
        if name not in _METHOD_ONLY:
            __all__.append(name + "_")


# ---------------------------------------------------------------- unary

# the table-driven functions of this section (op table `py` lines marked M), made by _records
for _n, _op, _aliases, _v in O.PYTHON:
    if "M" in _v:
        for _a in (_n,) + _aliases:
            _export(_a, getattr(F, _a), inplace=getattr(F, _a + "_") if "i" in _v else None)


def _logit_attrs(eps):
    return {"has_eps": False} if eps is None else {"has_eps": True, "eps": builtins.float(eps)}


def logit(input, eps=None, *, out=None):
    F._check_tensor(input, "logit")
    return F._out(ops.logit(input, **_logit_attrs(eps)), out)


def logit_(self, eps=None):
    return ops.logit(self, inplace=True, **_logit_attrs(eps))


_export("logit", logit, inplace=logit_)

_FMAX = {0: 3.4028234663852886e38, 1: 1.7976931348623157e308, 2: 65504.0, 3: 3.3895313892515355e38}


def _nan_to_num_attrs(t, nan, posinf, neginf):
    big = _FMAX.get(t.dtype._index, 0.0)
    vals = (0.0 if nan is None else nan, big if posinf is None else posinf, -big if neginf is None else neginf)
    return [builtins.float(v) for v in vals]


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    F._check_tensor(input, "nan_to_num")
    if isinstance(out, TB) and out.dtype is not input.dtype:
        raise RuntimeError("nan_to_num: dtype of out: %s should be same as input: %s"
                           % (out.dtype._torch_name, input.dtype._torch_name))
    return F._out(ops.nan_to_num(input, *_nan_to_num_attrs(input, nan, posinf, neginf)), out,
                  overlap=(O.NAN_TO_NUM, (input,)))


def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
    return ops.nan_to_num(self, *_nan_to_num_attrs(self, nan, posinf, neginf), inplace=True)


_export("nan_to_num", nan_to_num, inplace=nan_to_num_)


def square(input, *, out=None):
    F._check_tensor(input, "square")
    rt = _C.result_type(input, 2)
    if isinstance(out, TB) and out.dtype is not rt:  # torch's square_out is pow's same-dtype kernel
        raise RuntimeError("Found dtype %s but expected %s" % (out.dtype._torch_name, rt._torch_name))
    return F.pow(input, 2, out=out)


def square_(self):
    return F.binary(ops.pow, self, 2, "square_", inplace=True)


_export("square", square, inplace=square_)


# ---------------------------------------------------------------- binary

_fmod_tensor = fmod  # noqa: F821


def fmod(input, other, *, out=None):  # noqa: F811
    if isinstance(input, TB) and not input.dtype.is_floating_point and isinstance(other, (builtins.int, builtins.bool)) \
            and other == 0 and input.numel():  # (an empty input divides nothing, as torch)
        raise RuntimeError("ZeroDivisionError")
    return _fmod_tensor(input, other, out=out)


_export("fmod", fmod, inplace=fmod_)  # noqa: F821


# ---------------------------------------------------------------- ternary

def _cweight(input, weight):
    # a complex scalar travels as a 0-d tensor of input's dtype (scalar attributes are real)
    if F.is_complex_scalar(weight) and isinstance(input, TB) and input.dtype.is_complex:
        from ._creation import full
        return full((), builtins.complex(weight), dtype=input.dtype)
    return weight


def lerp(input, end, weight, *, out=None):
    F._check_tensor(input, "lerp")
    F._check_tensor(end, "lerp", "end", 2)
    weight = _cweight(input, weight)
    if not isinstance(weight, TB):
        weight = F.scalar_arg(weight, "lerp", "weight", 3)
    return F._out(ops.lerp(input, end, weight), out,
                  overlap=(O.LERP, [x for x in (input, end, weight) if isinstance(x, TB)]))


def lerp_(self, end, weight):
    weight = _cweight(self, weight)
    if not isinstance(weight, TB):
        weight = F.scalar_arg(weight, "lerp_", "weight", 2)
    return ops.lerp(self, end, weight, inplace=True)


_export("lerp", lerp, inplace=lerp_)


_ADDCDIV_MSG = (
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform a true "
    "division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as (input + value * "
    "torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) "
    "for float inputs. The future addcdiv behavior is just the latter implementation: (input + value * tensor1 / "
    "tensor2), for all dtypes.")


def _check_addcdiv(entry, t1, t2):
    # the C layer has the same check, but its status message is capped at 256 bytes
    inexact = lambda t: t.dtype.is_floating_point or t.dtype.is_complex
    if entry is ops.addcdiv and isinstance(t1, TB) and isinstance(t2, TB) and not inexact(t1) and not inexact(t2):
        raise RuntimeError(_ADDCDIV_MSG)


def _addc(entry, name):
    def scalar(value):
        return F.scalar_arg(value, name, "value", 4)

    def f(input, tensor1, tensor2, *, value=1, out=None):
        F._check_tensor(input, name)
        F._check_tensor(tensor1, name, "tensor1", 2)
        F._check_tensor(tensor2, name, "tensor2", 3)
        _check_addcdiv(entry, tensor1, tensor2)
        overlap = (entry.op, (input, tensor1, tensor2))
        if F.is_complex_scalar(value):
            return F._out(F.add(input, scaled(value, tensor1, tensor2)), out, overlap=overlap)
        return F._out(entry(input, tensor1, tensor2, scalar(value)), out, overlap=overlap)

    def f_(self, tensor1, tensor2, *, value=1):
        _check_addcdiv(entry, tensor1, tensor2)
        if F.is_complex_scalar(value):
            _C.check_overlap(entry.op, (self, tensor1, tensor2), inplace=True)
            return F.add_(self, scaled(value, tensor1, tensor2))
        return entry(self, tensor1, tensor2, scalar(value), inplace=True)

    def scaled(value, t1, t2):
        # a complex value (the wire's scalar is real): torch's value * t1 * t2 (or / t2), composed
        return (F.mul if entry is ops.addcmul else F.div)(F.mul(t1, value), t2)
    f.__name__ = f.__qualname__ = name
    return f, f_


for _n in ("addcmul", "addcdiv"):
    _f, _f_ = _addc(getattr(ops, _n), _n)
    _export(_n, _f, inplace=_f_)


# ---------------------------------------------------------------- isclose / allclose / equal

def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    F._check_tensor(input, "isclose")
    F._check_tensor(other, "isclose", "other", 2)
    if input.dtype is not other.dtype:
        raise RuntimeError("%s did not match %s" % (input.dtype._torch_name, other.dtype._torch_name))
    if rtol < 0:
        raise RuntimeError("rtol must be greater than or equal to zero, but got %s" % rtol)
    if atol < 0:
        raise RuntimeError("atol must be greater than or equal to zero, but got %s" % atol)
    close = F.eq(input, other)
    if equal_nan and (input.dtype.is_floating_point or input.dtype.is_complex):
        close = F.logical_or(close, F.logical_and(F.ne(input, input), F.ne(other, other)))
    if rtol == 0 and atol == 0:
        return close
    a, b = input, other
    if not (a.dtype.is_floating_point or a.dtype.is_complex):  # torch 1.13: integers in the default float
        a, b = F.cast(a, get_default_dtype()), F.cast(b, get_default_dtype())
    allowed = F.add(F.abs(F.mul(b, rtol)), atol)
    actual = F.abs(F.sub(a, b))
    return F.logical_or(close, F.logical_and(isfinite(actual), F.le(actual, allowed)))  # noqa: F821


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return builtins.bool(F.all(isclose(input, other, rtol, atol, equal_nan)).item())


_export("isclose", isclose)
_export("allclose", allclose)


# ---------------------------------------------------------------- softmax / cumulative

def _dim_op(entry, name, input, dim, dtype):
    F._check_tensor(input, name)
    if dim is None:
        raise TypeError("%s() missing required argument 'dim' (pos 2)" % name)
    dim = F.index_int(dim)
    return entry(input, dim, check_dtype(dtype))


def softmax(input, dim, dtype=None):
    return _dim_op(ops.softmax, "softmax", input, dim, dtype)


def log_softmax(input, dim, dtype=None):
    return _dim_op(ops.log_softmax, "log_softmax", input, dim, dtype)


def cumsum(input, dim, *, dtype=None, out=None):
    return F._out(_dim_op(ops.cumsum, "cumsum", input, dim, dtype), out, overlap=(O.CUMSUM, (input,)))


def cumprod(input, dim, *, dtype=None, out=None):
    return F._out(_dim_op(ops.cumprod, "cumprod", input, dim, dtype), out, overlap=(O.CUMPROD, (input,)))


def cumsum_(self, dim, *, dtype=None):
    dim = F.index_int(dim)
    return ops.cumsum(self, dim, check_dtype(dtype), inplace=True)


def cumprod_(self, dim, *, dtype=None):
    dim = F.index_int(dim)
    return ops.cumprod(self, dim, check_dtype(dtype), inplace=True)


def logcumsumexp(input, dim, *, out=None):
    return F._out(_dim_op(ops.logcumsumexp, "logcumsumexp", input, dim, None), out,
                  overlap=(O.LOGCUMSUMEXP, (input,)))


_RT = {n: F.structseq(n) for n in ("cummax", "cummin", "median", "mode", "nanmedian")}
_RT["aminmax"] = F.structseq("aminmax", ("min", "max"))


def cummax(input, dim, *, out=None):
    return F._outs(_RT["cummax"](*_dim_op(ops.cummax, "cummax", input, dim, None)), out, "cummax")


def cummin(input, dim, *, out=None):
    return F._outs(_RT["cummin"](*_dim_op(ops.cummin, "cummin", input, dim, None)), out, "cummin")


for _n in ("softmax", "log_softmax", "logcumsumexp", "cummax", "cummin"):
    _export(_n, globals()[_n])
_export("cumsum", cumsum, inplace=cumsum_)
_export("cumprod", cumprod, inplace=cumprod_)


# ---------------------------------------------------------------- statistics

def _stat(entry, name, input, dim, keepdim, dtype=None, extra=0):
    """entry, a @STAT row (NORM: extra is p), over dim (None, an int or a list of dims)."""
    F._check_tensor(input, name)
    return entry(input, dim, builtins.bool(keepdim), check_dtype(dtype), extra)


def _correction(unbiased, correction, name):
    if correction is not None:
        if unbiased is not None:
            raise RuntimeError("%s: can't specify both unbiased and correction" % name)
        return builtins.int(correction)
    return 0 if unbiased is False else 1


def _var_args(name, dim, unbiased, keepdim, correction):
    if isinstance(dim, builtins.bool):  # var(x, False): the unbiased overload
        dim, unbiased = None, dim
    return dim, _correction(unbiased, correction, name), keepdim


def _mk_var(entry, name, two):
    def f(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
        d, c, k = _var_args(name, dim, unbiased, keepdim, correction)
        r = _stat(entry, name, input, d, k, extra=c)
        return tuple(r) if two else F._out(r, out)
    f.__name__ = f.__qualname__ = name
    return f


for _n, _two in (("var", False), ("std", False), ("var_mean", True), ("std_mean", True)):
    _export(_n, _mk_var(getattr(ops, _n), _n, _two))


def logsumexp(input, dim, keepdim=False, *, out=None):
    return F._out(_stat(ops.logsumexp, "logsumexp", input, dim, keepdim), out)


def _nuclear_norm(input, dim, keepdim, dtype):
    """torch.norm(p='nuc'): the sum of the singular values of the matrices on dim (2 dims)."""
    if dtype is not None:
        raise ValueError("dtype argument is not supported in nuclear norm")
    nd = input.ndim
    if dim is None:
        if nd != 2:
            raise RuntimeError("Expected a tensor with 2 dimensions, but got a tensor with %d dimension%s instead."
                               % (nd, "" if nd == 1 else "s"))
        dim = (0, 1)
    if isinstance(dim, builtins.int) and not isinstance(dim, builtins.bool):
        dim = (dim,)
    if len(dim) != 2:
        raise RuntimeError("nuclear norm requires a 'dim' argument of size 2")
    d0, d1 = F.wrap_dim(dim[0], nd), F.wrap_dim(dim[1], nd)
    if d0 == d1:
        raise RuntimeError("duplicate or invalid dimensions")
    from ._linalg import svdvals
    S = svdvals(F.permute(input, [d for d in range(nd) if d not in (d0, d1)] + [d0, d1]))
    r = F.sum(S, -1)
    if keepdim:
        r = F.unsqueeze(F.unsqueeze(r, builtins.min(d0, d1)), builtins.max(d0, d1))
    return r


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    F._check_tensor(input, "norm")
    if isinstance(p, str):
        if p == "nuc":
            return F._out(_nuclear_norm(input, dim, keepdim, dtype), out)
        if p != "fro":
            raise RuntimeError("only valid string values are 'fro' and 'nuc', found %s" % p)
        if dtype is not None:
            raise ValueError("dtype argument is not supported in frobenius norm")
        p = 2.0
    elif p is None:
        p = 2.0
    if isinstance(dim, (builtins.int,)) and not isinstance(dim, builtins.bool):
        dim = (dim,)
    return F._out(_stat(ops.norm, "norm", input, dim, keepdim, dtype, builtins.float(p)), out)


def nansum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    dim, dtype = F._dim_or_dtype(dim, dtype)
    dtype = F._out_dtype(dtype, out)
    return F._out(_stat(ops.nansum, "nansum", input, dim, keepdim, dtype), out, "nansum")


def nanmean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    dim, dtype = F._dim_or_dtype(dim, dtype)
    return F._out(_stat(ops.nanmean, "nanmean", input, dim, keepdim, dtype), out)


def count_nonzero(input, dim=None):
    return _stat(ops.count_nonzero, "count_nonzero", input, dim, False)


def aminmax(input, *, dim=None, keepdim=False, out=None):
    F._check_tensor(input, "aminmax")
    if dim is None:
        r = _stat(ops.aminmax, "aminmax", input, None, keepdim)
    else:
        r = _stat(ops.aminmax, "aminmax", input, F.index_int(dim), keepdim, extra=1)
    return F._outs(_RT["aminmax"](*r), out, "aminmax", overlap=(O.AMINMAX, (input,)))


def median(input, dim=None, keepdim=False, *, out=None):
    F._check_tensor(input, "median")
    if dim is None:
        if input.numel() == 0 and not (input.dtype.is_floating_point or input.dtype.is_complex):
            # torch: a float NaN cast to the dtype (x86's integer indefinite; True for bool)
            from ._creation import full
            return F._out(F.cast(full((), float("nan")), input.dtype), out, "median")
        return F._out(_stat(ops.median, "median", input, None, False), out, "median")
    return F._outs(_RT["median"](*_stat(ops.median_dim, "median", input, F.index_int(dim), keepdim)), out, "median",
                   overlap=(O.MEDIAN_DIM, (input,)))


def nanmedian(input, dim=None, keepdim=False, *, out=None):
    r = _nanmedian(input, dim, keepdim)
    return F._outs(r, out, "nanmedian") if isinstance(r, tuple) else F._out(r, out, "nanmedian")


def _nanmedian(input, dim, keepdim):
    """median ignoring NaN (the lower median of the non-NaN values; NaN where a slice is
    all NaN): a stable sort (NaN sorts last), the count of non-NaN values per slice and
    a gather at (count - 1) // 2.  Non-float dtypes have no NaN: median itself."""
    F._check_tensor(input, "nanmedian")
    if input.dtype not in (_F32, _F64):
        if dim is None:
            return median(input)
        return _RT["nanmedian"](*median(input, dim, keepdim))
    from ._advindex import sort, gather
    from ._creation import full, empty
    if dim is None:
        if input.numel() == 0:
            return full((), float("nan"), dtype=input.dtype)
        flat = F.reshape(input, [-1])
        k = F.floor_divide(F.clamp_min(F.sub(F.sum(F.eq(flat, flat)), 1), 0), 2)
        return F.reshape(gather(sort(flat)[0], 0, F.reshape(k, [1])), [])
    nd = input.ndim
    d = F.wrap_dim(dim, nd)
    x = input if nd else F.reshape(input, [1])
    if x.shape[d] == 0:
        raise IndexError("median(): Expected reduction dim %d to have non-zero size." % d)
    if x.numel() == 0:
        shape = list(x.shape)
        if keepdim:
            shape[d] = 1
        else:
            del shape[d]
        return _RT["nanmedian"](empty(shape, dtype=x.dtype), empty(shape, dtype=DTYPES[4]))
    v, i = sort(x, d, stable=True)
    k = F.floor_divide(F.clamp_min(F.sub(F.sum(F.eq(x, x), d, True, dtype=DTYPES[4]), 1), 0), 2)
    vals, idx = gather(v, d, k), gather(i, d, k)
    if nd == 0:
        vals, idx = F.reshape(vals, []), F.reshape(idx, [])
    elif not keepdim:
        vals, idx = F.squeeze(vals, d), F.squeeze(idx, d)
    return _RT["nanmedian"](vals, idx)


def mode(input, dim=-1, keepdim=False, *, out=None):
    F._check_tensor(input, "mode")
    return F._outs(_RT["mode"](*_stat(ops.mode, "mode", input, F.index_int(dim), keepdim)), out, "mode",
                   overlap=(O.MODE, (input,)))


for _n in ("logsumexp", "norm", "nansum", "nanmean", "count_nonzero", "aminmax", "median", "nanmedian", "mode"):
    _export(_n, globals()[_n])
