"""Pointwise math composed from existing ops: fmax/fmin, gcd/lcm, sinc, heaviside, ldexp,
frexp, nextafter, float_power, positive, rsub, and the elementwise predicates and small
"other operations" of torch's docs (trace, diff, gradient, isin, isreal, is_nonzero, is_same_size,
is_signed).  Each function checks its arguments with torch 1.13's messages and records
ordinary ops."""
import builtins
import math as _math
import sys as _sys


from . import _C
from . import _records as F
from ._dtype import DTYPES, get_default_dtype

TB = _C.TensorBase
_F32, _F64, _F16, _BF16, _I64, _I32, _I16, _I8, _U8, _BOOL = (DTYPES[i] for i in builtins.range(10))
_C128 = DTYPES[11]
_INTS = (_U8, _I8, _I16, _I32, _I64)
_T = _sys.modules[__name__.rpartition(".")[0]]  # the package: its functions are looked up at call time

__all__ = []

_rs = F.number_minus
_check = F._check_tensor
_export = F.exporter(globals(), __all__)
F.structseq("frexp", ("mantissa", "exponent"))



def _not_impl(kernel, dt):
    return RuntimeError('"%s" not implemented for \'%s\'' % (kernel, dt._torch_name))


def _float_of(t):
    """torch's float result dtype of an elementwise function of `t` (ints -> default dtype)."""
    return t.dtype if t.dtype.is_floating_point else get_default_dtype()


def _full_like_dt(t, v, dt):
    return _T.full(tuple(t.shape), v, dtype=dt)


def _scalar_t(v, dt):
    return _T.full((), v, dtype=dt)


# ---------------------------------------------------------------- elementwise

def trace(input):
    _check(input, "trace")
    if input.ndim != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim %d" % input.ndim)
    if input.dtype in (_BOOL, _F16, _BF16):
        raise _not_impl("trace", input.dtype)
    return F.torch_node(_T.sum(_T.diagonal(input)), "TraceBackward0")


_export("trace", trace)


def diff(input, n=1, dim=-1, prepend=None, append=None, *, out=None):
    _check(input, "diff")
    if input.ndim < 1:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    n = builtins.max(F.index_int(n), 0)  # torch 1.13 returns the input for a negative order
    d = F.wrap_dim(dim, input.ndim)
    for extra in (prepend, append):
        if extra is None:
            continue
        _check(extra, "diff", "prepend" if extra is prepend else "append", 4 if extra is prepend else 5)
        if extra.ndim != input.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        for i in builtins.range(input.ndim):
            if i != d and extra.shape[i] != input.shape[i]:
                raise RuntimeError("diff expects the shape of tensor to prepend or append to match that of input "
                                   "except along the differencing dimension; input.size(%d) = %d, but got "
                                   "tensor.size(%d) = %d" % (i, input.shape[i], i, extra.shape[i]))
    x = input
    if prepend is not None or append is not None:
        x = _T.cat([t for t in (prepend, input, append) if t is not None], d)
    for _ in builtins.range(n):
        m = x.shape[d]
        if m == 0:
            break
        hi, lo = F.narrow(x, d, 1, m - 1), F.narrow(x, d, 0, m - 1)
        x = _T.logical_xor(hi, lo) if x.dtype is _BOOL else _T.sub(hi, lo)
    if n == 0 or x is input:
        x = _T.clone(x)
    return F._out(x, out)


_export("diff", diff)


_GRADIENT_SIGNATURES = "".join(" * (Tensor input, *, %s)\n" % s for s in (
    "tuple of ints dim, int edge_order", "Number spacing, tuple of ints dim, int edge_order",
    "Number spacing, int dim, int edge_order", "tuple of Scalars spacing, int dim, int edge_order",
    "tuple of Scalars spacing, tuple of ints dim, int edge_order", "tuple of Tensors spacing, int dim, int edge_order",
    "tuple of Tensors spacing, tuple of ints dim, int edge_order"))


def _gradient_dims(input, spacing, dim, edge_order):
    """torch 1.13's checks of gradient's arguments; the dims it differentiates along."""
    if isinstance(spacing, TB):  # coordinates come one tensor per dim, in a sequence
        raise TypeError("gradient() received an invalid combination of arguments - got (Tensor, spacing=Tensor), "
                        "but expected one of:\n" + _GRADIENT_SIGNATURES)
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if dim is None:
        dims = list(builtins.range(input.ndim))
    else:
        dims = [F.wrap_dim(d, input.ndim) for d in ([dim] if isinstance(dim, builtins.int) else dim)]
        seen = set()
        for d in dims:
            if d in seen:
                raise RuntimeError("dim %d appears multiple times in the list of dims" % d)
            seen.add(d)
    if isinstance(spacing, (list, tuple)):
        if dim is None and len(spacing) != len(dims):
            raise RuntimeError("torch.gradient expected spacing to be unspecified, a scalar or a list of length %d "
                               "but got a list of length %d" % (input.ndim, len(spacing)))
        if dim is not None and len(spacing) != len(dims):
            raise RuntimeError("torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                               "arguments to have the same length, but got a spacing argument of length %d and a dim "
                               "argument of length %d." % (len(spacing), len(dims)))
        for h in spacing:
            if isinstance(h, TB) and h.ndim != 1:
                raise RuntimeError("torch.gradient expected each element of spacing to have one dimension, but got "
                                   "an element with %d dimensions!" % h.ndim)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    return dims


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Central differences inside, one-sided ones (first or second order) at the two ends,
    per dim: spacing a number (uniform), one number per dim, or one 1-D tensor of
    coordinates per dim (the non-uniform formulas, as numpy.gradient's).  Differentiable."""
    _check(input, "gradient")
    dims = _gradient_dims(input, spacing, dim, edge_order)
    hs = list(spacing) if isinstance(spacing, (list, tuple)) else [spacing] * len(dims)
    return builtins.tuple(_gradient_along(input, d, h, edge_order) for d, h in zip(dims, hs))


def _gradient_along(x, d, h, edge_order):
    n = x.shape[d]

    def s(a, b=None):  # x[a:b] along d, negative bounds from the end
        a = a + n if a < 0 else a
        b = n if b is None else b + n if b < 0 else b
        return F.narrow(x, d, a, b - a)

    sub, mul, div, add = _T.sub, _T.mul, _T.div, _T.add
    if isinstance(h, TB):
        dx = _T.diff(h)  # the coordinates' steps
        shape = [1] * x.ndim
        shape[d] = -1
        dx1, dx2 = dx[:-1], dx[1:]
        a = F.reshape(div(_T.neg(dx2), mul(dx1, add(dx1, dx2))), shape)
        b = F.reshape(div(sub(dx2, dx1), mul(dx1, dx2)), shape)
        c = F.reshape(div(dx1, mul(dx2, add(dx1, dx2))), shape)
        center = add(add(mul(a, s(0, -2)), mul(b, s(1, -1))), mul(c, s(2)))
        h0, h1, hl, hm = dx[0], dx[1] if n > 2 else dx[0], dx[-1], dx[-2] if n > 2 else dx[-1]
        if edge_order == 1:
            first = div(sub(s(1, 2), s(0, 1)), h0)
            last = div(sub(s(-1), s(-2, -1)), hl)
        else:
            first = add(add(mul(s(0, 1), div(_T.neg(add(mul(h0, 2.0), h1)), mul(h0, add(h0, h1)))),
                            mul(s(1, 2), div(add(h0, h1), mul(h0, h1)))),
                        mul(s(2, 3), div(_T.neg(h0), mul(h1, add(h0, h1)))))
            last = add(add(mul(s(-3, -2), div(hl, mul(hm, add(hl, hm)))),
                           mul(s(-2, -1), div(_T.neg(add(hl, hm)), mul(hl, hm)))),
                       mul(s(-1), div(add(mul(hl, 2.0), hm), mul(hl, add(hl, hm)))))
    else:
        h = h.item() if isinstance(h, TB) else h
        center = div(div(sub(s(2), s(0, -2)), h), 2)
        if edge_order == 1:
            first = div(sub(s(1, 2), s(0, 1)), h)
            last = div(sub(s(-1), s(-2, -1)), h)
        else:
            first = div(sub(add(mul(s(0, 1), -1.5), mul(s(1, 2), 2.0)), mul(s(2, 3), 0.5)), h)
            last = div(add(add(mul(s(-3, -2), 0.5), mul(s(-2, -1), -2.0)), mul(s(-1), 1.5)), h)
    return _T.cat([first, center, last], d)


_export("gradient", gradient)


def _fminmax(name, pick):
    def f(input, other, *, out=None):
        _check(input, name)
        _check(other, name, "other", 2)
        if input.dtype.is_complex or other.dtype.is_complex:
            raise RuntimeError("%s not implemented for complex tensors." % name)
        m = pick(input, other)
        r = _T.where(_T.isnan(other), input, m) if m.dtype.is_floating_point else m
        if m.dtype.is_floating_point:
            r = _T.where(_T.isnan(input), other, r)
        return F._out(F.cast(r, m.dtype) if r.dtype is not m.dtype else r, out)
    f.__name__ = f.__qualname__ = name
    return f


fmax = _fminmax("fmax", lambda a, b: _T.maximum(a, b))
fmin = _fminmax("fmin", lambda a, b: _T.minimum(a, b))
_export("fmax", fmax)
_export("fmin", fmin)


def _int_binary_check(a, b, fname, kernel):
    _check(a, fname)
    _check(b, fname, "other", 2)
    dt = _T.promote_types(a.dtype, b.dtype)
    if dt not in _INTS:
        raise _not_impl(kernel, dt)
    return dt


def _gcd(a, b, dt):
    a, b = _T.abs(F.cast(a, dt)), _T.abs(F.cast(b, dt))
    a, b = _T.broadcast_tensors(a, b)
    a, b = _T.clone(a), _T.clone(b)
    zero = _scalar_t(0, dt)
    while builtins.bool(_T.any(b != 0)):
        for _ in builtins.range(4):  # a few Euclid steps per sync
            nz = b != 0
            r = _T.fmod(a, _T.where(nz, b, _scalar_t(1, dt)))
            a, b = _T.where(nz, b, a), _T.where(nz, r, zero)
    return a


def gcd(input, other, *, out=None):
    dt = _int_binary_check(input, other, "gcd", "gcd_cpu")
    return F._out(_gcd(input, other, dt), out)


def lcm(input, other, *, out=None):
    dt = _int_binary_check(input, other, "lcm", "lcm_cpu")
    g = _gcd(input, other, dt)
    a, b = F.cast(input, dt), F.cast(other, dt)
    q = _T.div(a, _T.where(g == 0, _scalar_t(1, dt), g), rounding_mode="trunc")
    # a / g * b is computed in int (C promotion) and wraps to dt only at the end, as torch's kernel
    r = _T.where(g == 0, _scalar_t(0, dt), F.cast(_T.abs(_T.mul(F.cast(q, _I64), F.cast(b, _I64))), dt))
    return F._out(r, out)


def _inplace_of(fn, name):
    def f_(self, other):
        r = fn(self, other)
        if r.dtype is not self.dtype and not _T.can_cast(r.dtype, self.dtype):
            raise RuntimeError("result type %s can't be cast to the desired output type %s"
                               % (r.dtype._torch_name, self.dtype._torch_name))
        if tuple(r.shape) != tuple(self.shape):
            raise RuntimeError("output with shape %s doesn't match the broadcast shape %s"
                               % (list(self.shape), list(r.shape)))
        return F.copy_(self, r)
    f_.__name__ = f_.__qualname__ = name
    return f_


gcd_, lcm_ = _inplace_of(gcd, "gcd_"), _inplace_of(lcm, "lcm_")
for _n in ("gcd", "lcm", "gcd_", "lcm_"):
    _export(_n, globals()[_n])


def _unary_float(name, body, allow_half=True, kernel=None):
    """An elementwise function whose result is floating (ints/bool -> default dtype)."""
    def f(input, *, out=None):
        _check(input, name)
        if not allow_half and input.dtype in (_F16,):
            raise _not_impl(kernel or name + "_cpu", input.dtype)
        keep = input.dtype.is_floating_point or (input.dtype.is_complex and name == "sinc")
        x = input if keep else F.cast(input, get_default_dtype())
        return F._out(body(x), out)

    def f_(self):
        if not (self.dtype.is_floating_point or (self.dtype.is_complex and name == "sinc")):
            raise RuntimeError("result type Float can't be cast to the desired output type %s" % self.dtype._torch_name)
        return F.copy_(self, f(self))
    f.__name__ = f.__qualname__ = name
    f_.__name__ = f_.__qualname__ = name + "_"
    return f, f_


def _sinc(x):
    px = _T.mul(x, _math.pi)
    wide_dt = DTYPES[11] if x.dtype.is_complex else _F64  # complex sinc: sin(pi z) / (pi z) too
    wide = F.cast(px, wide_dt) if x.dtype is not wide_dt else px
    r = _T.div(_T.sin(wide), wide)
    r = _T.where(x == 0, _scalar_t(1.0, r.dtype), r)
    return F.cast(r, x.dtype)


for _n, _b, _h in (("deg2rad", lambda x: _T.mul(x, _math.pi / 180.0), True),
                   ("rad2deg", lambda x: _T.mul(x, 180.0 / _math.pi), True),
                   ("sinc", _sinc, False)):
    _f, _f_ = _unary_float(_n, _b, _h)
    _export(_n, _f)
    _export(_n + "_", _f_)


def heaviside(input, values, *, out=None):
    _check(input, "heaviside")
    _check(values, "heaviside", "values", 2)
    if input.dtype.is_complex or values.dtype.is_complex:
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    dt = input.dtype
    if dt is _BOOL:
        r = _T.where(input, _scalar_t(True, dt), values)
    else:
        r = _T.where(input == 0, values, F.cast(input > 0, dt))
    return F._out(r, out)


def heaviside_(self, values):
    return F.copy_(self, heaviside(self, values))


_export("heaviside", heaviside)


def ldexp(input, other, *, out=None):
    _check(input, "ldexp")
    _check(other, "ldexp", "other", 2)
    return F._out(_T.mul(input, _T.pow(2.0, other)), out)


def ldexp_(self, other):
    _check(other, "ldexp_", "other", 1)
    return self.mul_(_T.pow(2.0, other))


_export("ldexp", ldexp)
_export("ldexp_", ldexp_)

# (precision bits, minimum normal exponent) of each float dtype
_FLOAT_FMT = {_F64: (53, -1022), _F32: (24, -126), _F16: (11, -14), _BF16: (8, -126)}


def _pow2(e, dt=_F64):
    """2**e exactly for an integer tensor e in [-1074, 1023] (products of exact powers of two)."""
    e = F.cast(e, _I64)
    neg = e < 0
    a = _T.abs(e)
    r = _T.ones(tuple(e.shape), dtype=dt)
    for k in builtins.range(11):
        bit = _T.remainder(_T.div(a, 1 << k, rounding_mode="floor"), 2) != 0
        up, down = 2.0 ** (1 << k) if (1 << k) < 1024 else _math.inf, 2.0 ** -(1 << k)
        r = _T.where(bit, _T.mul(r, _T.where(neg, _scalar_t(down, dt), _scalar_t(up, dt))), r)
    return r


def _exponent(ax):
    """floor(log2(ax)) as int64 for finite ax > 0 (float64 input), exact."""
    e = F.cast(_T.floor(_T.log2(ax)), _I64)
    e = _T.clamp(e, -1074, 1023)
    e = _T.where(_T.mul(_pow2(e), 1.0) > ax, e - 1, e)
    e = _T.where(_T.mul(_pow2(_T.clamp(e + 1, max=1023)), 1.0) <= ax, _T.clamp(e + 1, max=1023), e)
    return e


def _scale2(x, e):
    """x * 2**e without overflow of the power (e in [-2100, 2100])."""
    h = _T.div(e, 2, rounding_mode="floor")
    return _T.mul(_T.mul(x, _pow2(h)), _pow2(e - h))


def frexp(input, *, out=None):
    _check(input, "frexp")
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    x = F.cast(input, _F64)
    ax = _T.abs(x)
    ok = _T.logical_and(_T.isfinite(x), x != 0)
    safe = _T.where(ok, ax, _scalar_t(1.0, _F64))
    e = _T.where(ok, _exponent(safe) + 1, _scalar_t(0, _I64))
    m = _T.where(ok, _scale2(x, -e), x)
    r = F.return_types.frexp(F.cast(m, input.dtype), F.cast(e, _I32))
    return F._outs(r, out, "frexp")


_export("frexp", frexp)


def nextafter(input, other, *, out=None):
    _check(input, "nextafter")
    _check(other, "nextafter", "other", 2)
    dt = _T.promote_types(input.dtype, other.dtype)
    if dt not in (_F32, _F64, _BF16):
        raise _not_impl("nextafter_cpu", dt)
    p, emin = _FLOAT_FMT[dt]
    x, y = F.cast(F.cast(input, dt), _F64), F.cast(F.cast(other, dt), _F64)
    x, y = _T.broadcast_tensors(x, y)
    ax = _T.abs(x)
    fin = _T.logical_and(_T.isfinite(x), x != 0)
    e = _T.clamp(_exponent(_T.where(fin, ax, _scalar_t(1.0, _F64))), min=emin)
    ulp = _pow2(e - (p - 1))
    # stepping toward zero from an exact power of two (normal range) takes half a spacing
    pow2_exact = _T.logical_and(_T.mul(_pow2(e), 1.0) == ax, e > emin)
    ulp_down = _T.where(pow2_exact, _T.mul(ulp, 0.5), ulp)
    away = _T.logical_xor(y > x, x < 0)  # moving away from zero
    step = _T.where(away, ulp, ulp_down)
    toward_up = y > x
    r = _T.where(toward_up, _T.add(x, step), _T.sub(x, step))
    tiny = _scalar_t(2.0 ** (emin - p + 1), _F64)
    r = _T.where(x == 0, _T.where(y > 0, tiny, _T.neg(tiny)), r)
    big = {_F64: 1.7976931348623157e308, _F32: 3.4028234663852886e38, _BF16: 3.3895313892515355e38}[dt]
    r = _T.where(_T.isinf(x), _T.where(toward_up, _scalar_t(-big, _F64), _scalar_t(big, _F64)), r)
    r = _T.where(x == y, y, r)
    r = _T.where(_T.logical_or(_T.isnan(x), _T.isnan(y)), _T.add(x, y), r)
    return F._out(F.cast(r, dt), out)


def nextafter_(self, other):
    return F.copy_(self, nextafter(self, other))


_export("nextafter", nextafter)


def float_power(input, exponent, *, out=None):
    if isinstance(out, TB):
        want = _C128 if builtins.any(isinstance(v, TB) and v.dtype.is_complex or isinstance(v, builtins.complex)
                                     for v in (input, exponent)) else _F64
        if out.dtype is not want:  # torch computes in double and stores only into that dtype
            raise RuntimeError("the output given to float_power has dtype %s but the operation's result requires "
                               "dtype %s" % (out.dtype._torch_name, want._torch_name))
    if not isinstance(input, TB):
        if not F.is_scalar(input) or not isinstance(exponent, TB):
            _check(input, "float_power")
        return F._out(_T.pow(builtins.float(input), F.cast(exponent, _F64)), out)
    e = F.cast(exponent, _F64) if isinstance(exponent, TB) else builtins.float(exponent)
    return F._out(_T.pow(F.cast(input, _F64), e), out)


def float_power_(self, exponent):
    if self.dtype is not _F64:
        raise RuntimeError("the base given to float_power_ has dtype %s but the operation's result requires dtype "
                           "Double" % self.dtype._torch_name)
    return F.copy_(self, float_power(self, exponent))


_export("float_power", float_power)


def positive(input):
    _check(input, "positive")
    if input.dtype is _BOOL:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


_export("positive", positive)


def rsub(input, other, *, alpha=1):
    if not isinstance(input, TB):
        raise TypeError("rsub() received an invalid combination of arguments - got (%s, %s), but expected one of:\n"
                        " * (Tensor input, Tensor other, *, Number alpha)\n"
                        " * (Tensor input, Number other, Number alpha)"
                        % (type(input).__name__, type(other).__name__))
    if input.dtype is _BOOL and F._is_bool(other):
        raise RuntimeError(F._SUB_BOOLS_MSG)
    if isinstance(other, TB):
        return _T.sub(other, input, alpha=alpha)
    F._alpha(input, other, alpha, "rsub")
    a = input if alpha == 1 else _T.mul(input, alpha)
    return _T.add(_T.neg(a), other)


_export("rsub", rsub)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    if not isinstance(elements, TB) and not isinstance(test_elements, TB):
        raise TypeError("isin() received an invalid combination of arguments - got (%s, %s)"
                        % (type(elements).__name__, type(test_elements).__name__))
    e = elements if isinstance(elements, TB) else _T.tensor(elements)
    t = test_elements if isinstance(test_elements, TB) else _T.tensor(test_elements)
    for x in (e, t):
        if x.dtype is _BOOL:
            raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    dt = _T.promote_types(e.dtype, t.dtype)
    ef, tf = F.cast(e, dt), F.reshape(F.cast(t, dt), -1)
    if tf.numel() == 0:
        r = _T.zeros(tuple(e.shape), dtype=_BOOL)
    else:
        s, _ = _T.sort(tf)
        flat = F.reshape(ef, -1)
        pos = _T.clamp(_T.searchsorted(s, flat), max=s.numel() - 1)
        r = F.reshape(_T.eq(_T.take(s, pos), flat), tuple(e.shape))
    return _T.logical_not(r) if invert else r


_export("isin", isin)


def isreal(input):
    _check(input, "isreal")
    return _T.ones(tuple(input.shape), dtype=_BOOL)


_export("isreal", isreal)


def is_nonzero(input):
    _check(input, "is_nonzero")
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input.item())


def is_same_size(input, other):
    _check(input, "is_same_size")
    _check(other, "is_same_size", "other", 2)
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input):
    _check(input, "is_signed")
    return input.dtype not in (_U8, _BOOL)


for _n in ("is_nonzero", "is_same_size", "is_signed"):
    _export(_n, globals()[_n])
