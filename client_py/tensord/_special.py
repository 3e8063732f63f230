"""Special functions composed from elementwise ops, evaluated in float64 and cast to the
result dtype (so they are at least as accurate as torch's float32 kernels): modified Bessel
i0/i0e/i1/i1e, k0/k1 (+ scaled), bessel_j0/j1/y0/y1, spherical_bessel_j0, airy_ai (power series below
a cut-over, asymptotic expansions above, K's integral by the trapezoidal rule in between), the
orthogonal polynomials of torch.special (Chebyshev, Hermite, Laguerre, Legendre),
Hurwitz zeta (Euler-Maclaurin, as Cephes), polygamma, mvlgamma, the regularized incomplete
gamma functions (series / continued fraction with a fixed number of terms), ndtr, ndtri,
log_ndtr, erfcx, entr, xlog1py.  Used by tensord.special and the top-level functions."""
import builtins
from contextlib import nullcontext as _nullcontext
import math as _math
import sys as _sys
from fractions import Fraction as _Fr

from . import _C
from . import _records as F
from ._dtype import DTYPES, get_default_dtype

TB = _C.TensorBase
_F32, _F64 = DTYPES[0], DTYPES[1]
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


def _series(x, nu, sign, terms, harmonic=False):
    """sum_k sign^k (x/2)^(2k+nu) / (k! (k+nu)!) (I_nu for sign +1, J_nu for -1) for |x| moderate;
    with harmonic, also sum_k sign^k (H_k + H_{k+nu}) * that term, the logarithmic part of K_nu / Y_nu."""
    y = _T.mul(_T.mul(x, x), 0.25 * sign)
    term = _T.ones_like(x) if nu == 0 else _T.mul(x, 0.5)
    s = term
    hs = _T.mul(term, 1.0 if nu else 0.0) if harmonic else None
    h0, h1 = 0.0, (1.0 if nu else 0.0)  # H_k, H_{k+nu}
    for k in builtins.range(1, terms):
        term = _T.mul(term, _T.mul(y, 1.0 / (k * (k + nu))))
        s = _T.add(s, term)
        if harmonic:
            h0 += 1.0 / k
            h1 += 1.0 / (k + nu)
            hs = _T.add(hs, _T.mul(term, h0 + h1))
    return (s, hs) if harmonic else s


def _asym_terms(inv, nu, terms):
    """Yields a_k(nu) inv^k for k = 1..terms-1, a_k = prod_{j<=k} (4 nu^2 - (2j-1)^2) / (k! 8^k): the
    coefficients of the large-x expansions of I_nu, K_nu (inv = 1/x) and of J_nu, Y_nu."""
    mu = 4.0 * nu * nu
    coef = 1.0
    p = _T.ones_like(inv)
    for k in builtins.range(1, terms):
        coef *= (mu - (2 * k - 1) ** 2) / (k * 8.0)
        p = _T.mul(p, inv)
        yield k, _T.mul(p, coef)


def _asym_i_scaled(ax, nu, terms=18):
    """exp(-x) I_nu(x) for large x: 1/sqrt(2 pi x) sum_k (-1)^k a_k(nu) / x^k."""
    s = _T.ones_like(ax)
    for k, t in _asym_terms(_T.reciprocal(ax), nu, terms):
        s = _T.sub(s, t) if k % 2 else _T.add(s, t)
    return _T.div(s, _T.sqrt(_T.mul(ax, 2 * _math.pi)))


_CUT = 20.0


def _i_scaled(x, nu):
    """exp(-|x|) I_nu(x) in float64."""
    ax = _T.abs(x)
    small = ax <= _CUT
    xs = _T.where(small, x, _c(0.0))
    ser = _T.mul(_series(xs, nu, 1, 60), _T.exp(_T.neg(_T.abs(xs))))
    big = _asym_i_scaled(_T.where(small, _c(_CUT + 1), ax), nu)
    if nu == 1:
        big = _T.mul(big, _T.sign(x))
    return _T.where(small, ser, big)


def _check_kernel_dtype(dt, kernel):
    """torch 1.13's CPU kernels of the newer special functions take float32/float64 only."""
    if kernel and dt not in (_F32, _F64):
        raise RuntimeError("\"%s\" not implemented for '%s'" % (kernel, dt._torch_name))


def _unary(name, body, kernel=None, arg="input"):
    """A float64-evaluated unary function.  kernel (torch's CPU kernel name) marks the torch.special ones
    torch 1.13 defines without a derivative: float32/float64 only, and the result never requires grad
    (torch's has no grad_fn), rather than a graph through the expansion's pieces; arg: torch's name of
    the argument in its type error."""
    def f(input, *, out=None):
        F._check_tensor(input, "special_" + name if kernel else name, arg)
        dt = _res_dt(input)
        _check_kernel_dtype(input.dtype if input.dtype.is_complex else dt, kernel)
        with _T.no_grad() if kernel else _nullcontext():
            return F._out(F.cast(body(_f64(input)), dt), out)
    f.__name__ = f.__qualname__ = name
    return f


i0e = _unary("i0e", lambda x: _i_scaled(x, 0))
i1e = _unary("i1e", lambda x: _i_scaled(x, 1))


def _i(x, nu):
    return _T.mul(_i_scaled(x, nu), _T.exp(_T.abs(x)))


i0 = _unary("i0", lambda x: _i(x, 0))
i1 = _unary("i1", lambda x: _i(x, 1))
# torch.special's own kernels of the same values: no derivative, float32/float64 only
modified_bessel_i0 = _unary("modified_bessel_i0", lambda x: _i(x, 0), "modified_bessel_i0_cpu")
modified_bessel_i1 = _unary("modified_bessel_i1", lambda x: _i(x, 1), "modified_bessel_i1_cpu")


def _hankel(xb, nu, terms=24):
    """The large-x Hankel expansion of J_nu / Y_nu: (sqrt(2 / (pi x)), P, Q) with
    J_nu = amp (P cos chi - Q sin chi), Y_nu = amp (P sin chi + Q cos chi), chi = x - (nu/2 + 1/4) pi."""
    P, Q = _T.ones_like(xb), _T.zeros_like(xb)
    for k, t in _asym_terms(_T.reciprocal(xb), nu, terms):
        if k % 2:
            Q = _T.add(Q, t) if (k // 2) % 2 == 0 else _T.sub(Q, t)
        else:
            P = _T.sub(P, t) if (k // 2) % 2 == 1 else _T.add(P, t)
    return _T.sqrt(_T.mul(_T.reciprocal(xb), 2.0 / _math.pi)), P, Q


_J_CUT = 12.0
_EULER = 0.57721566490153286061


def _bessel_jy(x, nu, second):
    """J_nu (second=False) or Y_nu (second=True) for nu in {0, 1}: power series up to _J_CUT
    (Y adds the logarithmic series), the Hankel expansion above."""
    ax = _T.abs(x)
    small = ax <= _J_CUT
    xs = _T.where(small, x, _c(1.0))
    if second:
        j, hs = _series(xs, nu, -1, 60, harmonic=True)
        lg = _T.add(_T.log(_T.mul(xs, 0.5)), _EULER)
        s = _T.mul(_T.sub(_T.mul(lg, j), _T.mul(hs, 0.5)), 2.0 / _math.pi)
        if nu == 1:
            s = _T.sub(s, _T.mul(_T.reciprocal(xs), 2.0 / _math.pi))
    else:
        s = _series(xs, nu, -1, 60)
    xb = _T.where(small, _c(_J_CUT + 1), ax)
    amp, P, Q = _hankel(xb, nu)
    chi = _T.sub(xb, (nu / 2.0 + 0.25) * _math.pi)
    c, sn = _T.cos(chi), _T.sin(chi)
    big = _T.mul(amp, _T.add(_T.mul(P, sn), _T.mul(Q, c)) if second else _T.sub(_T.mul(P, c), _T.mul(Q, sn)))
    if nu == 1 and not second:
        big = _T.mul(big, _T.sign(x))
    r = _T.where(small, s, big)
    if second:  # as torch: Y(0) = -inf, Y(x < 0) = nan, Y(inf) = nan
        r = _T.where(x == 0, _c(-float("inf")), r)
        r = _T.where(_T.logical_or(x < 0, _T.isinf(x)), _c(float("nan")), r)
    return r


bessel_j0 = _unary("bessel_j0", lambda x: _bessel_jy(x, 0, False), "bessel_j0_cpu")
bessel_j1 = _unary("bessel_j1", lambda x: _bessel_jy(x, 1, False), "bessel_j1_cpu")
bessel_y0 = _unary("bessel_y0", lambda x: _bessel_jy(x, 0, True), "bessel_y0_cpu")
bessel_y1 = _unary("bessel_y1", lambda x: _bessel_jy(x, 1, True), "bessel_y1_cpu")

_K_SMALL = 2.0
_K_STEP, _K_NODES = 0.1, 41


def _k_scaled(x, nu):
    """exp(x) K_nu(x) for x > _K_SMALL: the trapezoidal rule on the integral of
    exp(-x (cosh t - 1)) cosh(nu t) over t >= 0 (exponentially accurate for this analytic, fast-decaying
    integrand; t <= 4 suffices there) up to _CUT, the asymptotic sqrt(pi / 2x) sum_k a_k(nu) / x^k above."""
    mid = x <= _CUT
    xm = _T.where(mid, x, _c(_CUT))
    s = _T.full_like(xm, 0.5)
    for i in builtins.range(1, _K_NODES):
        t = i * _K_STEP
        s = _T.add(s, _T.mul(_T.exp(_T.mul(xm, 1.0 - _math.cosh(t))), _math.cosh(nu * t)))
    trap = _T.mul(s, _K_STEP)
    xb = _T.where(mid, _c(_CUT + 1), x)
    a = _T.ones_like(xb)
    for _, t in _asym_terms(_T.reciprocal(xb), nu, 18):
        a = _T.add(a, t)
    big = _T.mul(a, _T.sqrt(_T.mul(_T.reciprocal(xb), _math.pi / 2)))
    return _T.where(mid, trap, big)


def _bessel_k(x, nu, scaled):
    """K_nu(x) (times exp(x) when scaled) for nu in {0, 1}: the series with its logarithmic part up to
    _K_SMALL, _k_scaled above."""
    small = x <= _K_SMALL
    xs = _T.where(small, x, _c(1.0))
    i, hs = _series(xs, nu, 1, 30, harmonic=True)
    lg = _T.add(_T.log(_T.mul(xs, 0.5)), _EULER)
    ser = _T.sub(_T.mul(hs, 0.5), _T.mul(lg, i))
    if nu == 1:
        ser = _T.add(_T.neg(ser), _T.reciprocal(xs))
    xl = _T.where(small, _c(_K_SMALL * 2), x)
    big = _k_scaled(xl, nu)
    if scaled:
        ser = _T.mul(ser, _T.exp(xs))
    else:
        big = _T.mul(big, _T.exp(_T.neg(xl)))
    r = _T.where(small, ser, big)
    r = _T.where(x == 0, _c(float("inf")), r)
    return _T.where(x < 0, _c(float("nan")), r)


modified_bessel_k0 = _unary("modified_bessel_k0", lambda x: _bessel_k(x, 0, False), "modified_bessel_k0_cpu")
modified_bessel_k1 = _unary("modified_bessel_k1", lambda x: _bessel_k(x, 1, False), "modified_bessel_k1_cpu")
scaled_modified_bessel_k0 = _unary("scaled_modified_bessel_k0", lambda x: _bessel_k(x, 0, True),
                                   "scaled_modified_bessel_k0_cpu", "x")
scaled_modified_bessel_k1 = _unary("scaled_modified_bessel_k1", lambda x: _bessel_k(x, 1, True),
                                   "scaled_modified_bessel_k1_cpu", "x")

_AI0, _AIP0 = 0.355028053887817239260, 0.258819403792806798405  # Ai(0), -Ai'(0)
_AI_POS, _AI_NEG = 2.0, 12.0  # series for -(1.5 * 12)^(2/3) <= x <= 2


def _airy_ai(x):
    """Ai(x): the Maclaurin series Ai(0) f(x) + Ai'(0) g(x) near 0; for x > 2,
    Ai = sqrt(x / 3) / pi K_{1/3}(zeta); for zeta = 2/3 |x|^(3/2) > 12 on the negative side, the Hankel
    expansion of Ai(-x) = sqrt(x) / 3 (J_{1/3} + J_{-1/3})(zeta), whose two orders share P and Q."""
    ax = _T.abs(x)
    zeta = _T.mul(_T.mul(ax, _T.sqrt(ax)), 2.0 / 3.0)
    small = _T.logical_and(x <= _AI_POS, zeta <= _AI_NEG)
    xs = _T.where(small, x, _c(0.0))
    x3 = _T.mul(_T.mul(xs, xs), xs)
    tf, tg = _T.ones_like(xs), xs
    f, g = tf, tg
    for k in builtins.range(1, 40):
        tf = _T.mul(tf, _T.mul(x3, 1.0 / ((3 * k - 1) * 3 * k)))
        tg = _T.mul(tg, _T.mul(x3, 1.0 / (3 * k * (3 * k + 1))))
        f, g = _T.add(f, tf), _T.add(g, tg)
    ser = _T.sub(_T.mul(f, _AI0), _T.mul(g, _AIP0))
    pos = x > _AI_POS
    zp = _T.where(pos, zeta, _c(_K_SMALL * 2))
    right = _T.mul(_T.mul(_k_scaled(zp, 1.0 / 3.0), _T.exp(_T.neg(zp))),
                  _T.sqrt(_T.mul(_T.where(pos, x, _c(3.0)), 1.0 / (3.0 * _math.pi * _math.pi))))
    zn = _T.where(pos, _c(_AI_NEG + 1), zeta)
    amp, P, Q = _hankel(zn, 1.0 / 3.0)
    ph = _T.sub(zn, _math.pi / 4)
    left = _T.mul(_T.mul(amp, _T.sqrt(_T.mul(_T.where(pos, _c(1.0), ax), 1.0 / 3.0))),
                  _T.sub(_T.mul(P, _T.cos(ph)), _T.mul(Q, _T.sin(ph))))
    r = _T.where(small, ser, _T.where(pos, right, left))
    return _T.where(_T.isinf(x), _c(float("nan")), r)  # torch: Ai(+-inf) = nan


airy_ai = _unary("airy_ai", _airy_ai, "airy_ai_cpu", "x")


def _spherical_j0(x):
    """sin(x) / x, by its Taylor series below |x| = 0.5 (no 0/0, no cancellation); 0 at +-inf as torch."""
    small = _T.abs(x) < 0.5
    xs = _T.where(small, x, _c(1.0))
    y = _T.mul(_T.mul(xs, xs), -1.0)
    term, ser = _T.ones_like(xs), _T.ones_like(xs)
    for k in builtins.range(1, 10):
        term = _T.mul(term, _T.mul(y, 1.0 / ((2 * k) * (2 * k + 1))))
        ser = _T.add(ser, term)
    xl = _T.where(small, _c(1.0), x)
    r = _T.where(small, ser, _T.div(_T.sin(xl), xl))
    return _T.where(_T.isinf(x), _c(0.0), r)


spherical_bessel_j0 = _unary("spherical_bessel_j0", _spherical_j0, "spherical_bessel_j0_cpu", "x")


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
            _check_kernel_dtype(dt, name + "_cpu")  # integral: torch has no such kernel
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


# ---- orthogonal polynomials (torch.special.*_polynomial_*(input, n))

def _three_term(x, n, active, p1, step):
    """P_n(x) of the recurrence P_0 = 1, P_1 = p1, P_{k+1} = step(k, P_k, P_{k-1}), each element at its own
    degree n (>= 0); runs to the largest n among the active elements, or until they are all nan (the
    recurrence keeps a nan), so its cost is that many elementwise steps."""
    res = _T.where(n == 0, _c(1.0), p1)
    top = builtins.int(_T.where(active, n, _c(0.0)).max().item()) if n.numel() else 0
    p, q = _T.ones_like(x), p1
    for k in builtins.range(1, top):
        p, q = q, step(k, q, p)
        res = _T.where(n == k + 1, q, res)
        if k % 32 == 0:
            pending = _T.logical_and(active, n > k + 1)
            if not builtins.bool(_T.logical_and(pending, _T.logical_not(_T.isnan(q))).any().item()):
                res = _T.where(pending, q, res)
                break
    return res


def _cheb_edge(x, n, kind):
    """Chebyshev values at x = +-1 (taken by sign of x), as torch returns them exactly."""
    even = _T.fmod(n, 2.0) == 0
    pos = x > 0
    n21 = _T.add(_T.mul(n, 2.0), 1.0)
    if kind == "t":
        return _T.where(_T.logical_or(pos, even), _c(1.0), _c(-1.0))
    if kind == "u":
        m = _T.add(n, 1.0)
        return _T.where(_T.logical_or(pos, even), m, _T.neg(m))
    if kind == "v":
        return _T.where(pos, _c(1.0), _T.where(even, n21, _T.neg(n21)))
    return _T.where(pos, n21, _T.where(even, _c(1.0), _c(-1.0)))


def _chebyshev(x, n, kind):
    """Chebyshev polynomials of the first to fourth kind (kind "t", "u", "v", "w") as torch: exact values
    at |x| == 1, the trigonometric form for |x| < 1 and n > 6 (T) or 8, the recurrence elsewhere."""
    ax = _T.abs(x)
    one = ax == 1
    edge = _cheb_edge(x, n, kind)
    use_trig = _T.logical_and(ax < 1, n > (6 if kind == "t" else 8))
    th = _T.acos(_T.where(use_trig, x, _c(0.5)))
    if kind == "t":
        closed = _T.cos(_T.mul(n, th))
    elif kind == "u":
        m = _T.add(n, 1.0)
        s = _T.sin(th)
        closed = _T.where(s != 0, _T.div(_T.sin(_T.mul(m, th)), s),
                          _T.div(_T.mul(m, _T.cos(_T.mul(m, th))), x))
    else:
        a = _T.mul(_T.add(n, 0.5), th)
        if kind == "v":
            closed = _T.where(_T.sin(_T.mul(th, 0.5)) != 1, _T.div(_T.cos(a), _T.cos(_T.mul(th, 0.5))), edge)
        else:
            closed = _T.where(_T.cos(_T.mul(th, 0.5)) != 1, _T.div(_T.sin(a), _T.sin(_T.mul(th, 0.5))), edge)
    x2 = _T.mul(x, 2.0)
    p1 = {"t": x, "u": x2, "v": _T.sub(x2, 1.0), "w": _T.add(x2, 1.0)}[kind]
    active = _T.logical_and(_T.logical_not(_T.logical_or(use_trig, one)), n >= 2)
    rec = _three_term(x, n, active, p1, lambda k, q, p: _T.sub(_T.mul(x2, q), p))
    return _T.where(one, edge, _T.where(use_trig, closed, rec))


def _hermite_h(x, n):
    x2 = _T.mul(x, 2.0)
    return _three_term(x, n, n >= 2, x2, lambda k, q, p: _T.sub(_T.mul(x2, q), _T.mul(p, 2.0 * k)))


def _hermite_he(x, n):
    return _three_term(x, n, n >= 2, x, lambda k, q, p: _T.sub(_T.mul(x, q), _T.mul(p, 1.0 * k)))


def _laguerre(x, n):
    omx = _rs(1.0, x)
    r = _three_term(x, n, _T.logical_and(n >= 2, x != 0), omx,
                    lambda k, q, p: _T.div(_T.sub(_T.mul(_T.add(omx, 2.0 * k), q), _T.mul(p, 1.0 * k)), k + 1.0))
    return _T.where(x == 0, _c(1.0), r)


def _legendre(x, n):
    one = _T.abs(x) == 1
    r = _three_term(x, n, _T.logical_and(n >= 2, _T.logical_not(one)), x,
                    lambda k, q, p: _T.div(_T.sub(_T.mul(_T.mul(x, q), 2.0 * k + 1), _T.mul(p, 1.0 * k)), k + 1.0))
    return _T.where(one, _cheb_edge(x, n, "t"), r)


_INT64_LIMIT = 2.0 ** 63


def _poly(name, body):
    """torch.special.<name>(input, n): input and n tensors or one of them a number, broadcast; evaluated
    in float64 from both cast to the result dtype; n is truncated to an integer as torch's kernel does
    (nan, inf and values outside int64 count as negative) and n < 0 gives 0.  No derivative, as torch."""
    kernel = name + "_cpu"

    def f(input, n, *, out=None):
        if not isinstance(input, TB) and not isinstance(n, TB):
            raise TypeError("special_%s() received an invalid combination of arguments - got (%s, %s), but "
                            "expected one of:\n * (Tensor x, Tensor n, *, Tensor out)\n * (Number x, Tensor n, "
                            "*, Tensor out)\n * (Tensor x, Number n, *, Tensor out)\n"
                            % (name, type(input).__name__, type(n).__name__))
        dt = _T.result_type(input, n)
        if not dt.is_floating_point and not dt.is_complex:
            dt = get_default_dtype()
        _check_kernel_dtype(dt, kernel)
        with _T.no_grad():
            x = _f64(F.cast(_as_t(input), dt))
            d = _T.trunc(_f64(F.cast(_as_t(n), dt)))
            d = _T.where(_T.logical_and(_T.isfinite(d), _T.abs(d) < _INT64_LIMIT), d, _c(-1.0))
            x, d = _T.broadcast_tensors(x, d)
            r = _T.where(d < 0, _c(0.0), body(x, d))
            return F._out(F.cast(r, dt), out)
    f.__name__ = f.__qualname__ = name
    return f


chebyshev_polynomial_t = _poly("chebyshev_polynomial_t", lambda x, n: _chebyshev(x, n, "t"))
chebyshev_polynomial_u = _poly("chebyshev_polynomial_u", lambda x, n: _chebyshev(x, n, "u"))
chebyshev_polynomial_v = _poly("chebyshev_polynomial_v", lambda x, n: _chebyshev(x, n, "v"))
chebyshev_polynomial_w = _poly("chebyshev_polynomial_w", lambda x, n: _chebyshev(x, n, "w"))


def _shifted(kind):
    return lambda x, n: _chebyshev(_T.sub(_T.mul(x, 2.0), 1.0), n, kind)


shifted_chebyshev_polynomial_t = _poly("shifted_chebyshev_polynomial_t", _shifted("t"))
shifted_chebyshev_polynomial_u = _poly("shifted_chebyshev_polynomial_u", _shifted("u"))
shifted_chebyshev_polynomial_v = _poly("shifted_chebyshev_polynomial_v", _shifted("v"))
shifted_chebyshev_polynomial_w = _poly("shifted_chebyshev_polynomial_w", _shifted("w"))
hermite_polynomial_h = _poly("hermite_polynomial_h", _hermite_h)
hermite_polynomial_he = _poly("hermite_polynomial_he", _hermite_he)
laguerre_polynomial_l = _poly("laguerre_polynomial_l", _laguerre)
legendre_polynomial_p = _poly("legendre_polynomial_p", _legendre)
