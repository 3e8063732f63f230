"""Special functions composed from elementwise ops, evaluated in float64 and cast to the
result dtype (so they are at least as accurate as torch's float32 kernels): modified Bessel
i0/i0e/i1/i1e and bessel_j0/j1 (power series below a cut-over, asymptotic expansions above),
Hurwitz zeta (Euler-Maclaurin, as Cephes), polygamma, mvlgamma, the regularized incomplete
gamma functions (series / continued fraction with a fixed number of terms), ndtr, ndtri,
log_ndtr, erfcx, entr, xlog1py.  Used by tensord.special and the top-level functions."""
import builtins
import math as _math
import sys as _sys
from fractions import Fraction as _Fr

from . import _C
from . import _records as F
from ._dtype import DTYPES, get_default_dtype

TB = _C.TensorBase
_F32, _F64, _F16, _BF16, _I64, _BOOL = DTYPES[0], DTYPES[1], DTYPES[2], DTYPES[3], DTYPES[4], DTYPES[9]
_T = _sys.modules[__name__.rpartition(".")[0]]

__all__ = []

_rs = F.number_minus


def _res_dt(*ts):
    dt = None
    for t in ts:
        if isinstance(t, TB):
            dt = t.dtype if dt is None else _T.promote_types(dt, t.dtype)
    if dt is None or not dt.is_floating_point:
        return get_default_dtype()
    return dt


def _f64(t):
    return F.cast(t, _F64)


def _c(v):
    return _T.full((), v, dtype=_F64)


def _series_i(x, nu, terms):
    """sum_k (x/2)^(2k+nu) / (k! (k+nu)!) for |x| moderate."""
    y = _T.mul(_T.mul(x, x), 0.25)
    term = _T.ones_like(x) if nu == 0 else _T.mul(x, 0.5)
    s = term
    for k in builtins.range(1, terms):
        term = _T.mul(term, _T.mul(y, 1.0 / (k * (k + nu))))
        s = _T.add(s, term)
    return s


def _asym_i_scaled(ax, nu, terms=18):
    """exp(-x) I_nu(x) for large x: 1/sqrt(2 pi x) sum_k (-1)^k a_k(nu) / x^k."""
    mu = 4.0 * nu * nu
    s = _T.ones_like(ax)
    coef = 1.0
    inv = _T.reciprocal(ax)
    p = _T.ones_like(ax)
    for k in builtins.range(1, terms):
        coef *= -(mu - (2 * k - 1) ** 2) / (k * 8.0)
        p = _T.mul(p, inv)
        s = _T.add(s, _T.mul(p, coef))
    return _T.div(s, _T.sqrt(_T.mul(ax, 2 * _math.pi)))


_CUT = 20.0


def _i_scaled(x, nu):
    """exp(-|x|) I_nu(x) in float64."""
    ax = _T.abs(x)
    small = ax <= _CUT
    xs = _T.where(small, x, _c(0.0))
    ser = _T.mul(_series_i(xs, nu, 60), _T.exp(_T.neg(_T.abs(xs))))
    big = _asym_i_scaled(_T.where(small, _c(_CUT + 1), ax), nu)
    if nu == 1:
        big = _T.mul(big, _T.sign(x))
    return _T.where(small, ser, big)


def _unary(name, body):
    def f(input, *, out=None):
        F._check_tensor(input, name)
        dt = _res_dt(input)
        return F._out(F.cast(body(_f64(input)), dt), out)
    f.__name__ = f.__qualname__ = name
    return f


i0e = _unary("i0e", lambda x: _i_scaled(x, 0))
i1e = _unary("i1e", lambda x: _i_scaled(x, 1))
i0 = _unary("i0", lambda x: _T.mul(_i_scaled(x, 0), _T.exp(_T.abs(x))))
i1 = _unary("i1", lambda x: _T.mul(_i_scaled(x, 1), _T.exp(_T.abs(x))))


def _bessel_j(x, nu):
    ax = _T.abs(x)
    small = ax <= 12.0
    xs = _T.where(small, x, _c(0.0))
    y = _T.mul(_T.mul(xs, xs), -0.25)
    term = _T.ones_like(xs) if nu == 0 else _T.mul(xs, 0.5)
    s = term
    for k in builtins.range(1, 60):
        term = _T.mul(term, _T.mul(y, 1.0 / (k * (k + nu))))
        s = _T.add(s, term)
    xb = _T.where(small, _c(13.0), ax)
    mu = 4.0 * nu * nu
    inv8 = _T.reciprocal(_T.mul(xb, 8.0))
    P, Q = _T.ones_like(xb), _T.zeros_like(xb)
    coef, pw = 1.0, _T.ones_like(xb)
    for k in builtins.range(1, 24):
        coef *= (mu - (2 * k - 1) ** 2) / k
        pw = _T.mul(pw, inv8)
        t = _T.mul(pw, coef)
        if k % 2:
            Q = _T.add(Q, t) if (k // 2) % 2 == 0 else _T.sub(Q, t)
        else:
            P = _T.sub(P, t) if (k // 2) % 2 == 1 else _T.add(P, t)
    chi = _T.sub(xb, (nu / 2.0 + 0.25) * _math.pi)
    amp = _T.sqrt(_T.mul(_T.reciprocal(xb), 2.0 / _math.pi))
    big = _T.mul(amp, _T.sub(_T.mul(P, _T.cos(chi)), _T.mul(Q, _T.sin(chi))))
    if nu == 1:
        big = _T.mul(big, _T.sign(x))
    return _T.where(small, s, big)


bessel_j0 = _unary("bessel_j0", lambda x: _bessel_j(x, 0))
bessel_j1 = _unary("bessel_j1", lambda x: _bessel_j(x, 1))


def _bernoulli(n):
    B = [_Fr(0)] * (n + 1)
    for m in builtins.range(n + 1):
        A = [_Fr(0)] * (m + 1)
        for j in builtins.range(m + 1):
            A[j] = _Fr(1, j + 1)
            for jj in builtins.range(j, 0, -1):
                A[jj - 1] = jj * (A[jj - 1] - A[jj])
        B[m] = A[0]
    return B


_B = _bernoulli(24)
_ZETA_A = [builtins.float(_Fr(_math.factorial(2 * k)) / _B[2 * k]) for k in builtins.range(1, 13)]


def _zeta64(x, q):
    """Hurwitz zeta(x, q) for float64 tensors (Cephes' Euler-Maclaurin scheme)."""
    x, q = _T.broadcast_tensors(x, q)
    s = _T.pow(q, _T.neg(x))
    a = q
    for _ in builtins.range(9):
        a = _T.add(a, 1.0)
        s = _T.add(s, _T.pow(a, _T.neg(x)))
    w = a
    b = _T.pow(a, _T.neg(x))
    s = _T.add(s, _T.div(_T.mul(b, w), _T.sub(x, 1.0)))
    s = _T.sub(s, _T.mul(b, 0.5))
    fa = _T.ones_like(x)
    k = 0.0
    for i in builtins.range(12):
        fa = _T.mul(fa, _T.add(x, k))
        b = _T.div(b, w)
        s = _T.add(s, _T.div(_T.mul(fa, b), _ZETA_A[i]))
        k += 1.0
        fa = _T.mul(fa, _T.add(x, k))
        b = _T.div(b, w)
        k += 1.0
    nan, inf = _c(float("nan")), _c(float("inf"))
    s = _T.where(q <= 0, _T.where(q == _T.floor(q), inf, _T.where(x != _T.floor(x), nan, s)), s)
    s = _T.where(x < 1, nan, s)
    s = _T.where(x == 1, inf, s)
    return s


def _as_t(v, like=None):
    return v if isinstance(v, TB) else _T.tensor(builtins.float(v), dtype=_F64)


def zeta(input, other, *, out=None):
    if not isinstance(input, TB) and not isinstance(other, TB):
        F._check_tensor(input, "special_zeta")
    dt = _res_dt(input, other)
    return F._out(F.cast(_zeta64(_f64(_as_t(input)), _f64(_as_t(other))), dt), out)


def polygamma(n, input, *, out=None):
    F._check_tensor(input, "polygamma", "input", 2)
    n = F.index_int(n)
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    dt = _res_dt(input)
    x = _f64(input)
    if n == 0:
        r = _T.digamma(x)
    else:
        fac = (-1.0) ** (n + 1) * _math.factorial(n)
        r = _T.mul(_zeta64(_T.full_like(x, n + 1.0), x), fac)
    return F._out(F.cast(r, dt), out)


def polygamma_(self, n):
    return F.copy_(self, polygamma(n, self))


def mvlgamma(input, p, *, out=None):
    F._check_tensor(input, "mvlgamma")
    p = F.index_int(p)
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    dt = _res_dt(input)
    x = _f64(input)
    r = _T.full_like(x, p * (p - 1) / 4.0 * _math.log(_math.pi))
    for j in builtins.range(p):
        r = _T.add(r, _T.lgamma(_T.sub(x, j / 2.0)))
    return F._out(F.cast(r, dt), out)


def mvlgamma_(self, p):
    return F.copy_(self, mvlgamma(self, p))


def multigammaln(input, p, *, out=None):
    return mvlgamma(input, p, out=out)


# ---- incomplete gamma

_IG_TERMS = 160


def _igam_series(a, x):
    """P(a, x) by its power series (good for x < a + 1)."""
    ap = a
    d = _T.reciprocal(a)
    s = d
    for _ in builtins.range(_IG_TERMS):
        ap = _T.add(ap, 1.0)
        d = _T.mul(d, _T.div(x, ap))
        s = _T.add(s, d)
    lg = _T.sub(_T.sub(_T.mul(a, _T.log(x)), x), _T.lgamma(a))
    return _T.mul(s, _T.exp(lg))


def _igamc_cf(a, x):
    """Q(a, x) by Lentz's continued fraction (good for x >= a + 1)."""
    tiny = 1e-300
    b = _T.sub(_T.add(x, 1.0), a)
    c = _T.full_like(b, 1.0 / tiny)
    d = _T.reciprocal(b)
    h = d
    for i in builtins.range(1, _IG_TERMS):
        an = _T.mul(_T.sub(a, i), i)
        b = _T.add(b, 2.0)
        d = _T.add(_T.mul(an, d), b)
        d = _T.where(_T.abs(d) < tiny, _c(tiny), d)
        c = _T.add(b, _T.div(an, c))
        c = _T.where(_T.abs(c) < tiny, _c(tiny), c)
        d = _T.reciprocal(d)
        h = _T.mul(h, _T.mul(d, c))
    lg = _T.sub(_T.sub(_T.mul(a, _T.log(x)), x), _T.lgamma(a))
    return _T.mul(_T.exp(lg), h)


def _igam(a, x, upper):
    a, x = _T.broadcast_tensors(a, x)
    pos = _T.logical_and(a > 0, x > 0)
    aa = _T.where(pos, a, _c(1.0))
    xx = _T.where(pos, x, _c(1.0))
    use_series = xx < _T.add(aa, 1.0)
    xs = _T.where(use_series, xx, _T.zeros_like(xx) + 0.5)
    xc = _T.where(use_series, _T.add(aa, 2.0), xx)
    p_ser = _igam_series(aa, xs)
    q_cf = _igamc_cf(aa, xc)
    p = _T.where(use_series, p_ser, _rs(1.0, q_cf))
    q = _T.where(use_series, _rs(1.0, p_ser), q_cf)
    r = q if upper else p
    nan = _c(float("nan"))
    # edges as Cephes/torch: x == 0 -> P 0 (Q 1); a == 0 -> P 1 (Q 0); x inf -> P 1; negative -> nan
    zero_x, zero_a = x == 0, a == 0
    r = _T.where(zero_x, _c(1.0 if upper else 0.0), r)
    r = _T.where(_T.logical_and(zero_a, x > 0), _c(0.0 if upper else 1.0), r)
    r = _T.where(_T.logical_and(_T.isinf(x), a > 0), _c(0.0 if upper else 1.0), r)
    r = _T.where(_T.logical_or(_T.logical_or(a < 0, x < 0), _T.logical_and(zero_a, zero_x)), nan, r)
    r = _T.where(_T.logical_or(_T.isnan(a), _T.isnan(x)), nan, r)
    return r


def _igfn(name, upper):
    def f(input, other, *, out=None):
        F._check_tensor(input, name)
        F._check_tensor(other, name, "other", 2)
        dt = _T.promote_types(input.dtype, other.dtype)
        if not dt.is_floating_point:
            raise RuntimeError('"%s_cpu" not implemented for \'%s\'' % (name, {DTYPES[4]: "Long", DTYPES[5]: "Int",
                               DTYPES[6]: "Short", DTYPES[7]: "Char", DTYPES[8]: "Byte", _BOOL: "Bool"}[dt]))
        return F._out(F.cast(_igam(_f64(input), _f64(other), upper), dt), out)

    def f_(self, other):
        return F.copy_(self, f(self, other))
    f.__name__ = f.__qualname__ = name
    return f, f_


igamma, igamma_ = _igfn("igamma", False)
igammac, igammac_ = _igfn("igammac", True)


# ---- normal distribution

_SQRT1_2 = _math.sqrt(0.5)


def _ndtr64(x):
    return _T.mul(_T.erfc(_T.mul(x, -_SQRT1_2)), 0.5)


ndtr = _unary("ndtr", _ndtr64)


def _ndtri64(p):
    q = _T.minimum(p, _rs(1.0, p))
    central = _T.mul(_T.erfinv(_T.sub(_T.mul(p, 2.0), 1.0)), _math.sqrt(2.0))
    qs = _T.where(q > 0, q, _c(0.5))
    t = _T.sqrt(_T.mul(_T.log(qs), -2.0))
    num = _T.add(_T.add(_T.mul(_T.mul(t, t), 0.010328), _T.mul(t, 0.802853)), 2.515517)
    den = _T.add(_T.add(_T.add(_T.mul(_T.pow(t, 3), 0.001308), _T.mul(_T.mul(t, t), 0.189269)),
                       _T.mul(t, 1.432788)), 1.0)
    tail = _T.neg(_T.sub(t, _T.div(num, den)))  # lower-tail quantile of q
    tail = _T.where(p > 0.5, _T.neg(tail), tail)
    x = _T.where(_T.abs(_T.sub(p, 0.5)) < 0.45, central, tail)
    for _ in builtins.range(4):  # Newton on ndtr(x) = p, from whichever tail is exact
        lower = x < 0
        cdf = _T.where(lower, _ndtr64(x), _ndtr64(_T.neg(x)))
        target = _T.where(lower, p, _rs(1.0, p))
        pdf = _T.mul(_T.exp(_T.mul(_T.mul(x, x), -0.5)), 1.0 / _math.sqrt(2 * _math.pi))
        step = _T.div(_T.sub(cdf, target), pdf)
        step = _T.where(lower, step, _T.neg(step))
        ok = _T.logical_and(_T.isfinite(step), pdf > 0)
        x = _T.where(ok, _T.sub(x, step), x)
    x = _T.where(p == 0, _c(-float("inf")), x)
    x = _T.where(p == 1, _c(float("inf")), x)
    x = _T.where(_T.logical_or(_T.logical_or(p < 0, p > 1), _T.isnan(p)), _c(float("nan")), x)
    return x


ndtri = _unary("ndtri", _ndtri64)


def _log_ndtr64(x):
    direct = _T.log(_ndtr64(x))
    upper = _T.log1p(_T.neg(_ndtr64(_T.neg(x))))
    xa = _T.where(x < -20, x, _c(-21.0))
    z = _T.reciprocal(_T.mul(xa, xa))
    ser, term = _T.ones_like(z), _T.ones_like(z)
    for k in builtins.range(1, 10):
        term = _T.mul(term, _T.mul(z, -(2 * k - 1)))
        ser = _T.add(ser, term)
    asym = _T.sub(_T.sub(_T.mul(_T.mul(xa, xa), -0.5), _T.log(_T.neg(xa))), 0.5 * _math.log(2 * _math.pi))
    asym = _T.add(asym, _T.log(ser))
    return _T.where(x > 0, upper, _T.where(x < -20, asym, direct))


log_ndtr = _unary("log_ndtr", _log_ndtr64)


def _erfcx64(x):
    xb = _T.where(x > 10, x, _c(11.0))
    z = _T.reciprocal(_T.mul(_T.mul(xb, xb), 2.0))
    ser, term = _T.ones_like(z), _T.ones_like(z)
    for k in builtins.range(1, 12):
        term = _T.mul(term, _T.mul(z, -(2 * k - 1)))
        ser = _T.add(ser, term)
    asym = _T.div(ser, _T.mul(xb, _math.sqrt(_math.pi)))
    xs = _T.where(x > 10, _c(0.0), x)
    direct = _T.mul(_T.exp(_T.mul(xs, xs)), _T.erfc(xs))
    return _T.where(x > 10, asym, direct)


erfcx = _unary("erfcx", _erfcx64)


def entr(input, *, out=None):
    F._check_tensor(input, "entr")
    dt = _res_dt(input)
    x = _f64(input)
    r = _T.where(x > 0, _T.neg(_T.mul(x, _T.log(_T.where(x > 0, x, _c(1.0))))), _c(0.0))
    r = _T.where(x < 0, _c(-float("inf")), r)
    r = _T.where(_T.isnan(x), x, r)
    return F._out(F.cast(r, dt), out)


def xlog1py(input, other, *, out=None):
    if not isinstance(input, TB) and not isinstance(other, TB):
        F._check_tensor(input, "special_xlog1py")
    dt = _res_dt(input, other)
    x, y = _f64(_as_t(input)), _f64(_as_t(other))
    r = _T.where(_T.logical_and(x == 0, _T.logical_not(_T.isnan(y))), _c(0.0), _T.mul(x, _T.log1p(y)))
    return F._out(F.cast(r, dt), out)


def sinc(input, *, out=None):
    return _T.sinc(input, out=out)


def i0_(self):
    return F.copy_(self, i0(self))


def _polygamma_method(self, n):
    return polygamma(n, self)


# top-level torch functions that live here (their Tensor methods are declared in _tensor.py)
__all__ += ["i0", "i0_", "igamma", "igammac", "polygamma", "mvlgamma"]
