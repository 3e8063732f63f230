"""Complex tensors: view_as_real/view_as_complex, real/imag views, conj, angle, complex(),
polar(), the Tensor methods that go with them, and the complex-aware forms of the
creation and operand helpers (see "complex-aware wrappers" below).

real/imag are views (selects on view_as_real), as in torch.  conj() returns a conjugated
copy (torch returns a lazy conjugate view whose is_conj() is True; tensord has no conj bit,
so is_conj() is always False and resolve_conj() returns the tensor itself).  Everything
here is composed from op records; the daemon's complex kernels are kernels/cpu/complex.c.
"""
import builtins
import math as _math
import sys
import warnings

import numpy as _np

from . import _C
from . import _creation as _CR
from . import _ops as O
from . import _ops_py as F
from . import _tensor as _T
from ._dtype import DTYPES, complex64, complex128, complex_scalar_result, default_complex
from ._tensor import Tensor

TB = _C.TensorBase

__all__ = ["view_as_real", "view_as_complex", "real", "imag", "conj", "conj_physical", "resolve_conj",
           "resolve_neg", "is_conj", "is_complex", "angle", "complex", "polar", "sgn"]


def view_as_real(input):
    F._check_tensor(input, "view_as_real")
    return F._op1(O.VIEW_AS_REAL, (input,))


def view_as_complex(input):
    F._check_tensor(input, "view_as_complex")
    return F._op1(O.VIEW_AS_COMPLEX, (input,))


def real(input):
    F._check_tensor(input, "real")
    if not input.dtype.is_complex:
        return input
    return F.select(view_as_real(input), -1, 0)


def imag(input):
    F._check_tensor(input, "imag")
    if not input.dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return F.select(view_as_real(input), -1, 1)


def conj_physical(input):
    F._check_tensor(input, "conj_physical")
    if not input.dtype.is_complex:
        return input
    out = F.clone(input)
    _C.op(O.NEG, (imag(out),), (), F.INPLACE)
    return out


def conj(input):
    return conj_physical(input)


def resolve_conj(input):
    return input


resolve_neg = resolve_conj


def is_conj(input):
    return False


def is_complex(input):
    F._check_tensor(input, "is_complex")
    return input.dtype.is_complex


def angle(input):
    """Argument of each element; real inputs give 0 or pi (NaN stays NaN), as a float."""
    F._check_tensor(input, "angle")
    if input.dtype.is_complex:
        return F._op1(O.ATAN2, (imag(input), real(input)), [0, 0])
    x = input if input.dtype.is_floating_point else F.cast(input, F.get_default_dtype())
    r = F.where(F.lt(x, 0), _math.pi, 0.0)
    r = F.cast(r, x.dtype)
    return F.where(F.ne(x, x), x, r)


def _check_parts(a, b, fname):
    F._check_tensor(a, fname, "real" if fname == "complex" else "abs", 1)
    F._check_tensor(b, fname, "imag" if fname == "complex" else "angle", 2)
    ok = (a.dtype.is_floating_point and b.dtype.is_floating_point and a.dtype._name in ("float32", "float64")
          and b.dtype._name in ("float32", "float64"))
    if not ok:
        raise RuntimeError("Expected both inputs to be Half, Float or Double tensors but got %s and %s"
                           % (a.dtype._torch_name, b.dtype._torch_name))
    if a.dtype is not b.dtype:
        raise RuntimeError("Expected object of scalar type %s but got scalar type %s for second argument"
                           % (a.dtype._torch_name, b.dtype._torch_name))


def _from_parts(re, im):
    shape = list(F.add(F.mul(re, 0), F.mul(im, 0)).shape)  # the broadcast shape, errors as torch's
    out = F._op1(O.EMPTY, (), [re.dtype.to_complex()._index, len(shape)] + shape)
    pairs = view_as_real(out)
    _C.op(O.COPY_, (F.select(pairs, -1, 0), re), (), 0)
    _C.op(O.COPY_, (F.select(pairs, -1, 1), im), (), 0)
    return out


def complex(real, imag, *, out=None):
    _check_parts(real, imag, "complex")
    return F._out(_from_parts(real, imag), out)


def polar(abs, angle, *, out=None):
    _check_parts(abs, angle, "polar")
    return F._out(_from_parts(F.mul(abs, F.cos(angle)), F.mul(abs, F.sin(angle))), out)


def sgn(input):
    """z / |z| (0 where z == 0) for complex inputs; sign for real ones."""
    F._check_tensor(input, "sgn")
    if not input.dtype.is_complex:
        return F.sign(input)
    a = F.abs(input)
    return F.where(F.eq(a, 0), 0.0, F.div(input, F.cast(a, input.dtype)))


# ---------------------------------------------------------------- complex-aware wrappers
# Complex Python scalars have no wire form (a scalar attribute is bool/int/float), and the
# creation and operand helpers predate complex dtypes.  The wrappers below add the complex
# cases in front of them and leave every other call to the original.  A complex scalar
# operand becomes the 0-d tensor of torch.result_type(tensor, scalar): it then promotes
# with the tensor exactly as the wrapped number would.


def _is_complex_scalar(v):
    return isinstance(v, (builtins.complex, _np.complexfloating))


def _complex_operand(t, v):
    return _CR.tensor(builtins.complex(v), dtype=complex_scalar_result(t, v))


def _w_binary(orig):
    def binary(opn, a, b, fname, attrs_tail=(), inplace=False, scalar_lhs_ok=False):
        if isinstance(a, TB) and _is_complex_scalar(b):
            b = _complex_operand(a, b)
        elif scalar_lhs_ok and isinstance(b, TB) and _is_complex_scalar(a):
            a = _complex_operand(b, a)
        return orig(opn, a, b, fname, attrs_tail, inplace, scalar_lhs_ok)
    return binary


def binary_fallback(opn, a, b, flags):
    """_C's operator slots call this when a scalar operand is a Python complex."""
    inplace = builtins.bool(flags & F.INPLACE)
    return F.binary(opn, a, b, O.NAMES[opn] + ("_" if inplace else ""), inplace=inplace, scalar_lhs_ok=True)


def _w_where(orig):
    def where(condition, input=None, other=None):
        if _is_complex_scalar(input):
            input = _complex_operand(other, input) if isinstance(other, TB) else _CR.tensor(builtins.complex(input))
        if _is_complex_scalar(other):
            other = _complex_operand(input, other) if isinstance(input, TB) else _CR.tensor(builtins.complex(other))
        if input is None and other is None:
            return orig(condition)
        return orig(condition, input, other)
    return where


_DISCARD_IMAG = "Casting complex values to real discards the imaginary part"


def _warn_discard_imag(src, dst):
    if src.is_complex and not dst.is_complex:
        warnings.warn(_DISCARD_IMAG, UserWarning, stacklevel=4)


def _w_copy(orig):
    def copy_(self, src, *args, **kw):
        if isinstance(self, TB) and isinstance(src, TB):
            _warn_discard_imag(src.dtype, self.dtype)
        return orig(self, src, *args, **kw)
    return copy_


def _w_cast(orig):
    def cast(input, dt):
        if input.dtype is not dt:
            _warn_discard_imag(input.dtype, dt)
        return orig(input, dt)
    return cast


# the C++ type torch names in "value cannot be converted to type ... without overflow"
_CPP_TYPES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
              "int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t", "uint8": "uint8_t",
              "bool": "bool"}


def _fill_value(v, dt):
    """A complex fill value as a 0-d tensor of dt; a real dt takes it only without an imaginary part."""
    v = builtins.complex(v)
    if not dt.is_complex:
        if v.imag != 0:
            raise RuntimeError("value cannot be converted to type %s without overflow" % _CPP_TYPES[dt._name])
        return _CR.tensor(v.real, dtype=dt)
    return _CR.tensor(v, dtype=dt)


def _w_fill(orig):
    def fill_(self, value):
        if _is_complex_scalar(value) and isinstance(self, TB):
            return F.copy_(self, _fill_value(value, self.dtype))
        return orig(self, value)
    return fill_


def _isclose_complex(input, other, rtol, atol, equal_nan):
    r = F.logical_or(F.eq(input, other), F.le(F.abs(F.sub(input, other)), F.add(F.mul(F.abs(other), rtol), atol)))
    if equal_nan:
        r = F.logical_or(r, F.logical_and(F.ne(input, input), F.ne(other, other)))
    return r


def _w_isclose(orig):
    def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        if isinstance(input, TB) and isinstance(other, TB) and input.dtype.is_complex and other.dtype is input.dtype:
            return _isclose_complex(input, other, rtol, atol, equal_nan)
        return orig(input, other, rtol, atol, equal_nan)
    return isclose


def _w_allclose(orig):
    def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        if isinstance(input, TB) and isinstance(other, TB) and input.dtype.is_complex and other.dtype is input.dtype:
            return builtins.bool(F.all(_isclose_complex(input, other, rtol, atol, equal_nan)).item())
        return orig(input, other, rtol, atol, equal_nan)
    return allclose


# ---- creation


def _has_complex(data):
    if _is_complex_scalar(data):
        return True
    if isinstance(data, (list, tuple)):
        return builtins.any(_has_complex(x) for x in data)
    return isinstance(data, TB) and data.dtype.is_complex and data.ndim > 0


def _plain(data):
    """Nested lists of Python numbers (tensors and numpy scalars turned into their values)."""
    if isinstance(data, TB):
        return data.tolist()
    if isinstance(data, _np.generic):
        return data.item()
    if isinstance(data, (list, tuple)):
        return [_plain(x) for x in data]
    return data


def _w_tensor(orig):
    def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
        if isinstance(data, (TB, _np.ndarray, _np.generic, str)) or not (
                (dtype is not None and dtype.is_complex) or _has_complex(data)):
            return orig(data, dtype=dtype, device=device, requires_grad=requires_grad, pin_memory=pin_memory)
        F.check_dtype(dtype)
        arr = _np.array(_plain(data), dtype=_np.complex128)
        if dtype is None:
            dtype = default_complex()
        elif not dtype.is_complex:
            if dtype.is_floating_point:
                raise TypeError("must be real number, not complex")
            raise TypeError("'complex' object cannot be interpreted as an integer")
        return _CR._finish(_CR._upload(arr, dtype), requires_grad)
    return tensor


def _full_complex(s, v, dt):
    t = F._op1(O.EMPTY, (), [dt._index, len(s)] + list(s))
    return F.copy_(t, _fill_value(v, dt))


def _w_full(orig):
    def full(size, fill_value, *, out=None, dtype=None, **kw):
        if isinstance(fill_value, TB) and fill_value.numel() == 1 and fill_value.dtype.is_complex:
            fill_value = fill_value.item()
        if not _is_complex_scalar(fill_value):
            return orig(size, fill_value, out=out, dtype=dtype, **kw)
        s = _CR._factory_sizes((size,), None, "full")
        _CR._common(dtype, kw.get("device"), "full")
        return F._out(_full_complex(s, fill_value, dtype or default_complex()), out)
    return full


def _w_full_like(orig):
    def full_like(input, fill_value, *, dtype=None, **kw):
        if not _is_complex_scalar(fill_value):
            return orig(input, fill_value, dtype=dtype, **kw)
        s, dt = _CR._like(input, dtype)
        return _full_complex(s, fill_value, dt)
    return full_like


def _random_complex(opn, dt, s):
    """A complex dtype draws its real and imaginary parts as pairs of its real dtype
    (randn: each part with variance 1/2, as torch)."""
    pairs = F._op1(opn, (), [dt.to_real()._index, len(s) + 1] + list(s) + [2])
    if opn == O.RANDN:
        _C.op(O.MUL, (pairs,), list(_C.scalar(_math.sqrt(0.5))), F.INPLACE)
    return view_as_complex(pairs)


def _mk_random(opn, fname):
    def wrap(orig):
        def f(*size, dtype=None, **kw):
            if dtype is None or not dtype.is_complex:
                return orig(*size, dtype=dtype, **kw)
            s = _CR._factory_sizes(size, kw.pop("size", None), fname)
            return _random_complex(opn, dtype, s)
        f.__name__ = f.__qualname__ = fname
        return f
    return wrap


def _mk_random_like(opn, fname):
    def wrap(orig):
        def f(input, *, dtype=None, **kw):
            dt = dtype or (input.dtype if isinstance(input, TB) else None)
            if dt is None or not dt.is_complex:
                return orig(input, dtype=dtype, **kw)
            return _random_complex(opn, dt, list(input.shape))
        f.__name__ = f.__qualname__ = fname
        return f
    return wrap


_WRAPPERS = {
    "binary": _w_binary, "where": _w_where, "copy_": _w_copy, "cast": _w_cast, "fill_": _w_fill,
    "isclose": _w_isclose, "allclose": _w_allclose, "tensor": _w_tensor, "full": _w_full,
    "full_like": _w_full_like, "rand": _mk_random(O.RAND, "rand"), "randn": _mk_random(O.RANDN, "randn"),
    "rand_like": _mk_random_like(O.RAND, "rand_like"), "randn_like": _mk_random_like(O.RANDN, "randn_like"),
}


# ---- linalg.eig / eigvals: complex results from LAPACK geev's real packed form

def _eig(A, fname):
    """(w, V) as complex tensors, like torch: geev gives wr, wi and V where a conjugate pair
    (wi[j] > 0, wi[j+1] < 0) stores its eigenvector's real part in column j and imaginary part
    in column j+1; real eigenvalues have real eigenvectors.  LAPACK's order and normalization
    (unit 2-norm, largest component real) are kept."""
    from . import _linalg as L
    L._tensor_arg(A, fname.replace(".", "_"), "A")
    try:
        wr, wi, V = L._la_op(O.LINALG_EIG, (A,))
    except RuntimeError as e:
        raise L._rename(e, "linalg.eig:", fname + ":") from None
    if wr.numel() and F.any(F.ne(wr, wr)).item():
        raise L.LinAlgError("%s: The algorithm failed to converge because the input matrix is ill-conditioned or "
                            "has too many repeated eigenvalues (error code: 1)." % fname)
    w = _from_parts(wr, wi)
    first, second = F.unsqueeze(F.gt(wi, 0), -2), F.unsqueeze(F.lt(wi, 0), -2)  # (..., 1, n) column masks
    n = V.shape[-1]
    zero = F.mul(F.narrow(V, -1, 0, builtins.min(n, 1)), 0)
    nxt = F.cat([F.narrow(V, -1, builtins.min(n, 1), builtins.max(n - 1, 0)), zero], -1)  # column j+1 at j
    prv = F.cat([zero, F.narrow(V, -1, 0, builtins.max(n - 1, 0))], -1)  # column j-1 at j
    re = F.where(second, prv, V)
    im = F.where(first, nxt, F.where(second, F.neg(V), F.mul(V, 0)))
    return w, _from_parts(re, im)


def _mk_vdot(orig):
    def vdot(input, other, *, out=None):
        """conj(input) . other"""
        if isinstance(input, TB) and input.dtype.is_complex:
            input = conj_physical(input)
        return orig(input, other, out=out)
    vdot.__name__ = vdot.__qualname__ = "vdot"
    return vdot


def _alpha_words_complex(orig):
    def f(a, b, alpha, fname):
        # a float alpha is fine for complex operands (the integral-input rule does not apply)
        if isinstance(alpha, (builtins.float, _np.floating)) and builtins.any(
                isinstance(v, TB) and v.dtype.is_complex for v in (a, b)):
            return tuple(_C.scalar(builtins.float(alpha)))
        return orig(a, b, alpha, fname)
    return f


def _install():
    """Wraps whatever each name is bound to where callers look it up (the helper modules'
    globals, which their own functions call through; the tensord namespace; the Tensor
    methods), so later definitions by other modules keep working underneath."""
    pkg = sys.modules[__package__]
    for ns in (F, _CR, pkg, Tensor):
        for name, wrap in _WRAPPERS.items():
            if ns is Tensor and name not in ("isclose", "allclose"):
                continue  # Tensor.where etc. take self first: they call the functions above
            cur = ns.__dict__.get(name) if ns is Tensor else getattr(ns, name, None)
            if cur is not None and callable(cur) and not isinstance(cur, type):
                setattr(ns, name, wrap(cur))
    from . import _linalg
    _linalg._eig = _eig  # eig and eigvals call it through the module global
    _linalg.vdot = _mk_vdot(_linalg.vdot)
    for target in (pkg, Tensor):
        if hasattr(target, "vdot"):
            setattr(target, "vdot", _linalg.vdot)
    if hasattr(F, "_alpha_words"):
        F._alpha_words = _alpha_words_complex(F._alpha_words)
    _C.set_binary_fallback(binary_fallback)


# ---- Tensor methods and properties
Tensor.real = property(real)
Tensor.imag = property(imag)
for _n in ("conj", "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "angle", "sgn"):
    setattr(Tensor, _n, globals()[_n])


def _conj_physical_(self):
    if self.dtype.is_complex:
        _C.op(O.NEG, (imag(self),), (), F.INPLACE)
    return self


Tensor.conj_physical_ = _conj_physical_
Tensor.cfloat = lambda self: F.cast(self, complex64)
Tensor.cdouble = lambda self: F.cast(self, complex128)
Tensor.is_complex = lambda self: self.dtype.is_complex
_T._TYPE_NAMES.update({complex64: "ComplexFloatTensor", complex128: "ComplexDoubleTensor"})


def _real_value(self, ctype):
    if self.numel() != 1:
        raise ValueError("only one element tensors can be converted to Python scalars")
    v = self.item()
    if isinstance(v, builtins.complex):
        if v.imag != 0:
            raise RuntimeError("value cannot be converted to type %s without overflow" % ctype)
        v = v.real
    return v


Tensor.__int__ = lambda self: builtins.int(_real_value(self, "int64_t"))
Tensor.__float__ = lambda self: builtins.float(_real_value(self, "double"))
_index0 = Tensor.__index__


def _index(self):
    if self.dtype.is_complex:
        raise TypeError("only integer tensors of a single element can be converted to an index")
    return _index0(self)


Tensor.__index__ = _index
_install()
