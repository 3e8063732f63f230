"""Statistics and distances composed from existing ops, with torch 1.13's argument checks
and messages: cdist, dist, cov, corrcoef, combinations, trapezoid/trapz/
cumulative_trapezoid, quantile/nanquantile, histogram, histogramdd, renorm."""
import builtins
import itertools as _it
import sys as _sys

from . import _C
from . import _records as F
from ._dtype import DTYPES

TB = _C.TensorBase
_F32, _F64, _F16, _BF16, _I64, _I32, _I16, _I8, _U8, _BOOL = (DTYPES[i] for i in range(10))
_T = _sys.modules[__name__.rpartition(".")[0]]

__all__ = []

_rs = F.number_minus
_check = F._check_tensor
_export = F.exporter(globals(), __all__)
F.structseq("histogram", ("hist", "bin_edges"))
F.structseq("histogramdd", ("hist", "bin_edges"))


def _scalar_t(v, dt):
    return _T.full((), v, dtype=dt)


# ---------------------------------------------------------------- distances

def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    _check(x1, "cdist", "x1")
    _check(x2, "cdist", "x2", 2)
    for name, x in (("X1", x1), ("X2", x2)):
        if x.ndim < 2:
            raise RuntimeError("cdist only supports at least 2D tensors, %s got: %dD" % (name, x.ndim))
    for name, x in (("X1", x1), ("X2", x2)):
        if not x.dtype.is_floating_point:
            raise RuntimeError("cdist only supports floating-point dtypes, %s got: %s" % (name, x.dtype._torch_name))
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError("X1 and X2 must have the same number of columns. X1: %d X2: %d"
                           % (x1.shape[-1], x2.shape[-1]))
    if x1.dtype is not x2.dtype:
        raise RuntimeError("expected scalar type %s but found %s" % (x1.dtype._torch_name, x2.dtype._torch_name))
    p = builtins.float(p)
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    d = _T.sub(F.unsqueeze(x1, -2), F.unsqueeze(x2, -3))
    return _T.linalg.vector_norm(d, p, -1)


_export("cdist", cdist)


def dist(input, other, p=2):
    _check(input, "dist")
    _check(other, "dist", "other", 2)
    d = _T.sub(input, other)
    if not (d.dtype.is_floating_point or d.dtype.is_complex):
        raise RuntimeError("norm(): input dtype should be either floating point or complex. Got %s instead."
                           % d.dtype._torch_name)
    return _T.linalg.vector_norm(d, builtins.float(p))


_export("dist", dist)


# ---------------------------------------------------------------- cov, corrcoef

def cov(input, *, correction=1, fweights=None, aweights=None):
    _check(input, "cov")
    if input.ndim > 2:
        raise RuntimeError("cov(): expected input to have two or fewer dimensions but got an input with %d "
                           "dimensions" % input.ndim)
    x = input if input.ndim == 2 else F.reshape(input, (1, -1))
    n_obs = x.shape[1]
    w = None
    if fweights is not None:
        if fweights.ndim > 1:
            raise RuntimeError("cov(): expected fweights to have one or fewer dimensions but got fweights with %d "
                               "dimensions" % fweights.ndim)
        if fweights.dtype.is_floating_point or fweights.dtype is _BOOL:
            raise RuntimeError("cov(): expected fweights to have integral dtype but got fweights with %s dtype"
                               % fweights.dtype._torch_name)
        if fweights.numel() != n_obs:
            raise RuntimeError("cov(): expected fweights to have the same numel as there are observations in the "
                               "input but got %d != %d" % (fweights.numel(), n_obs))
        if n_obs and builtins.bool(_T.any(fweights < 0)):
            raise RuntimeError("cov(): fweights cannot be negative")
        w = fweights
    if aweights is not None:
        if aweights.ndim > 1:
            raise RuntimeError("cov(): expected aweights to have one or fewer dimensions but got aweights with %d "
                               "dimensions" % aweights.ndim)
        if not aweights.dtype.is_floating_point:
            raise RuntimeError("cov(): expected aweights to have floating point dtype but got aweights with %s "
                               "dtype" % aweights.dtype._torch_name)
        if aweights.numel() != n_obs:
            raise RuntimeError("cov(): expected aweights to have the same numel as there are observations in the "
                               "input but got %d != %d" % (aweights.numel(), n_obs))
        if n_obs and builtins.bool(_T.any(aweights < 0)):
            raise RuntimeError("cov(): aweights cannot be negative")
        w = aweights if w is None else _T.mul(w, aweights)
    if w is not None:
        w_sum = _T.sum(w)
        avg = _T.div(_T.sum(_T.mul(x, w), 1), w_sum)
    else:
        w_sum = n_obs
        avg = _T.div(_T.sum(x, 1), n_obs)
    if w is not None and correction != 0:
        if aweights is not None:
            norm = _T.sub(w_sum, _T.div(_T.mul(_T.sum(_T.mul(w, aweights)), correction), w_sum))
        else:
            norm = _T.sub(w_sum, correction)
    else:
        norm = _T.sub(_T.full((), w_sum, dtype=avg.dtype), correction) if not isinstance(w_sum, TB) \
            else _T.sub(w_sum, correction)
    norm = _T.clamp(norm, min=0)  # torch warns "degrees of freedom is <= 0" and uses 0
    xc = _T.sub(x, F.unsqueeze(avg, 1))
    xw = xc if w is None else _T.mul(xc, w)
    c = _T.mm(xc, F.t(xw))
    return F.squeeze(_T.div(c, norm))


_export("cov", cov)


def corrcoef(input):
    _check(input, "corrcoef")
    if input.ndim > 2:
        raise RuntimeError("corrcoef(): expected input to have two or fewer dimensions but got an input with %d "
                           "dimensions" % input.ndim)
    c = cov(input)
    if c.ndim == 0:
        return _T.div(c, c)
    sd = _T.sqrt(_T.diagonal(c))
    c = _T.div(c, F.unsqueeze(sd, 1))
    c = _T.div(c, F.unsqueeze(sd, 0))
    return _T.clamp(c, -1, 1)


_export("corrcoef", corrcoef)


def combinations(input, r=2, with_replacement=False):
    _check(input, "combinations")
    if input.ndim != 1:
        raise RuntimeError("Expect a 1D vector, but got shape %s" % list(input.shape))
    r = F.index_int(r)
    if r < 0:
        raise RuntimeError("Expect a non-negative number, but got %d" % r)
    if r == 0:
        return _T.empty((0,), dtype=input.dtype)
    gen = _it.combinations_with_replacement if with_replacement else _it.combinations
    idx = list(gen(builtins.range(input.shape[0]), r))
    if not idx:
        return _T.empty((0, r), dtype=input.dtype)
    it = _T.tensor(idx, dtype=_I64)
    return F.reshape(_T.index_select(input, 0, F.reshape(it, (-1,))), (len(idx), r))


_export("combinations", combinations)


# ---------------------------------------------------------------- trapezoid

def _trap(y, x, dx, dim, cumulative, fname):
    _check(y, fname, "y")
    if y.dtype is _BOOL:
        raise RuntimeError("%s: received a bool input for `y`, but bool is not supported" % fname)
    d = F.wrap_dim(dim, y.ndim)
    n = y.shape[d]

    def total(t):
        return _T.cumsum(t, d) if cumulative else _T.sum(t, d)
    if n == 0 or (cumulative and n == 1):
        shape = list(y.shape)
        if cumulative:
            shape[d] = builtins.max(n - 1, 0)
        else:
            del shape[d]
        dt = y.dtype if y.dtype.is_floating_point else _T.get_default_dtype()
        return _T.zeros(tuple(shape), dtype=dt)
    ysum = _T.add(F.narrow(y, d, 1, n - 1), F.narrow(y, d, 0, n - 1))
    if x is None:
        return _T.mul(total(ysum), builtins.float(dx) / 2.0 if F.is_scalar(dx) else _T.div(dx, 2.0))
    if x.dtype is _BOOL:
        raise RuntimeError("%s: received a bool input for `x`, but bool is not supported" % fname)
    if x.ndim == 1:
        if x.shape[0] != n:
            raise RuntimeError("%s: There must be one `x` value for each sample point" % fname)
        shape = [1] * y.ndim
        shape[d] = n
        xv = F.reshape(x, tuple(shape))
    else:
        xv = x
    m = xv.shape[d] if xv.ndim > d else 0
    dxs = _T.sub(F.narrow(xv, d, 1, m - 1), F.narrow(xv, d, 0, m - 1))
    return _T.div(total(_T.mul(dxs, ysum)), 2.0)


def trapezoid(y, x=None, *, dx=None, dim=-1):
    if x is not None and not isinstance(x, TB):
        if dx is not None:
            raise TypeError("trapezoid() received an invalid combination of arguments")
        x, dx = None, x
    if x is not None and dx is not None:
        raise TypeError("trapezoid() received an invalid combination of arguments - got (Tensor, Tensor, dx=%s)"
                        % type(dx).__name__)
    return _trap(y, x, 1 if dx is None else dx, dim, False, "trapezoid")


def trapz(y, x=None, *, dx=None, dim=-1):
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    if x is not None and not isinstance(x, TB):
        x, dx = None, x
    return _trap(y, x, 1 if dx is None else dx, dim, True, "cumulative_trapezoid")


for _n in ("trapezoid", "trapz", "cumulative_trapezoid"):
    _export(_n, globals()[_n])


# ---------------------------------------------------------------- quantile

_INTERP = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan, fname, out):
    _check(input, fname)
    if input.numel() == 0:
        raise RuntimeError("%s() input tensor must be non-empty" % fname)
    if input.dtype not in (_F32, _F64):
        raise RuntimeError("%s() input tensor must be either float or double dtype" % fname)
    if isinstance(q, TB):
        if q.ndim > 1:
            raise RuntimeError("%s() q must be a scalar or 1D tensor" % fname)
        if q.dtype is not input.dtype:
            raise RuntimeError("%s() q tensor must be same dtype as the input tensor" % fname)
        if q.numel() and not builtins.bool(_T.all(_T.logical_and(q >= 0, q <= 1))):
            raise RuntimeError("%s() q values must be in the range [0, 1]" % fname)
        scalar_q = q.ndim == 0
        qt = F.reshape(q, (-1,))
    else:
        qf = builtins.float(q)
        if not 0 <= qf <= 1:
            raise RuntimeError("%s() q must be in the range [0, 1] but got %s" % (fname, q))
        scalar_q = True
        qt = _T.full((1,), qf, dtype=input.dtype)
    if interpolation not in _INTERP:
        raise RuntimeError("%s() interpolation must be one of linear, lower, higher, midpoint or nearest, but got %s"
                           % (fname, interpolation))
    if dim is None:
        x = F.reshape(input, (-1,))
        red = [1] * input.ndim if keepdim else []
    else:
        d = F.wrap_dim(dim, input.ndim)
        x = _T.movedim(input, d, -1) if input.ndim else F.reshape(input, (1,))
        red = list(input.shape)
        if input.ndim:
            if keepdim:
                red[d] = 1
            else:
                del red[d]
    s = _T.sort(x, -1)[0]
    n = s.shape[-1]
    if ignore_nan:
        valid = _T.sum(_T.logical_not(_T.isnan(s)), -1, keepdim=True)
        ranks = _T.mul(qt, _T.sub(valid, 1))
        ranks = _T.where(ranks < 0, _scalar_t(0, ranks.dtype), ranks)
    else:
        ranks = _T.mul(qt, n - 1)
        ranks = _T.where(_T.any(_T.isnan(s), -1, keepdim=True), _scalar_t(n - 1, ranks.dtype), ranks)
    ranks = F.cast(ranks, input.dtype)
    if interpolation == "lower":
        ranks = _T.floor(ranks)
    elif interpolation == "higher":
        ranks = _T.ceil(ranks)
    elif interpolation == "nearest":
        ranks = _T.round(ranks)
    below = F.cast(_T.floor(ranks), _I64)
    lead = list(s.shape[:-1])
    if ranks.ndim != s.ndim:
        ranks = F.expand(ranks, *(lead + [qt.shape[0]]))
        below = F.expand(below, *(lead + [qt.shape[0]]))
    r = _T.gather(s, -1, below)
    if interpolation in ("linear", "midpoint"):
        above = F.cast(_T.ceil(ranks), _I64)
        va = _T.gather(s, -1, above)
        w = _T.sub(ranks, F.cast(below, input.dtype)) if interpolation == "linear" else 0.5
        r = _T.lerp(r, va, w if isinstance(w, TB) else _T.full_like(r, w))
    r = _T.movedim(r, -1, 0)
    r = F.reshape(r, tuple(red) if scalar_q else tuple([qt.shape[0]] + red))
    return F._out(r, out)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile", out)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    return _quantile(input, q, dim, keepdim, interpolation, True, "quantile", out)  # torch's messages say quantile()


_export("quantile", quantile)
_export("nanquantile", nanquantile)


# ---------------------------------------------------------------- histogram

def _dtype_word(dt):
    return str(dt).split(".")[-1].replace("float32", "float").replace("float64", "double")


def _bin_edges(x, i, bins, rng, dt):
    """Dimension i's bin edges: bins a 1-D tensor of edges, or a count spread evenly over
    rng (else the data's min..max, widened by 0.5 each way when it is one value)."""
    if isinstance(bins, TB):
        if bins.dtype is not dt:
            raise RuntimeError("torch.histogramdd: input tensor and bins tensors should have the same dtype, but got "
                               "input with dtype %s and bins for dimension %d with dtype %s"
                               % (_dtype_word(dt), i, _dtype_word(bins.dtype)))
        if bins.ndim != 1:
            raise RuntimeError("torch.histogramdd: bins tensor should have one dimension, but got %d dimensions in "
                               "the bins tensor for dimension %d" % (bins.ndim, i))
        if bins.shape[0] == 1:
            raise RuntimeError("torch.histogram(): bins must be > 0, but got 0 for dimension %d" % i)
        if bins.shape[0] == 0:
            raise RuntimeError("torch.histogramdd: bins tensor should have at least 1 element, but got 0 elements in "
                               "the bins tensor for dimension %d" % i)
        return _T.clone(bins)
    nb = F.index_int(bins)
    if nb == 0:
        raise RuntimeError("torch.histogram(): bins must be > 0, but got 0 for dimension %d" % i)
    if nb < 0:
        raise RuntimeError("torch.histogramdd: bins tensor should have at least 1 element, but got %d elements in the "
                           "bins tensor for dimension %d" % (nb + 1, i))
    col = F.select(x, 1, i)
    if rng is not None:
        lo, hi = builtins.float(rng[2 * i]), builtins.float(rng[2 * i + 1])
    elif col.numel():
        lo, hi = builtins.float(_T.min(col).item()), builtins.float(_T.max(col).item())
    else:
        lo, hi = 0.0, 1.0
    if lo > hi:
        raise RuntimeError("torch.histogramdd: min should not exceed max, but got min %g max %g for dimension %d"
                           % (lo, hi, i))
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return _T.linspace(lo, hi, nb + 1, dtype=dt)


def _histogramdd(x, bins, rng, weight, density):
    """(hist, [edges per dim]) of the M points of x (M, N): a point outside some dimension's
    edges is not counted; each bin is right-open but the last, which holds its upper edge."""
    dt = x.dtype
    N = x.shape[1]
    if isinstance(bins, (list, tuple)):
        if bins and isinstance(bins[0], TB) and len(bins) != N:
            raise RuntimeError("torch.histogramdd: expected %d sequences of bin edges for a %d-dimensional "
                               "histogram but got %d" % (N, N, len(bins)))
        if len(bins) < N:  # torch 1.13 reads past the list (garbage counts); its message for a count of 0
            raise RuntimeError("torch.histogram(): bins must be > 0, but got 0 for dimension %d" % len(bins))
        bins = list(bins)[:N]
    else:
        bins = [bins] * N
    if rng is not None and len(rng) != 2 * N:
        raise RuntimeError("torch.histogramdd: for a %d-dimensional histogram range should have %d elements, but got "
                           "%d" % (N, 2 * N, len(rng)))
    edges = [_bin_edges(x, i, b, rng, dt) for i, b in enumerate(bins)]
    counts = [e.shape[0] - 1 for e in edges]
    size = 1
    for c in counts:
        size *= c
    hist = _T.zeros((size,), dtype=dt)
    if x.shape[0] and size and N:
        flat, inside = None, None
        for i, e in enumerate(edges):
            col = F.select(x, 1, i)
            ok = _T.logical_and(col >= e[0], col <= e[counts[i]])
            pos = _T.clamp(_T.sub(_T.searchsorted(e, F.contiguous(col), right=True), 1), 0, counts[i] - 1)
            flat = pos if flat is None else _T.add(_T.mul(flat, counts[i]), pos)
            inside = ok if inside is None else _T.logical_and(inside, ok)
        pos = _T.masked_select(flat, inside)
        if pos.numel():
            wv = _T.ones((pos.shape[0],), dtype=dt) if weight is None else _T.masked_select(weight, inside)
            hist = F.cast(_T.index_put(hist, (pos,), wv, accumulate=True), dt)
    hist = F.reshape(hist, counts)
    if density and N:
        volume = None
        for i, e in enumerate(edges):
            w = F.reshape(_T.diff(e), [counts[i] if j == i else 1 for j in builtins.range(N)])
            volume = w if volume is None else _T.mul(volume, w)
        hist = _T.div(hist, _T.mul(_T.sum(hist), volume))
    return hist, edges


def _check_weight(input, weight, shape):
    if weight is None:
        return None
    _check(weight, "histogramdd", "weight", 4)
    if tuple(weight.shape) != tuple(shape):
        raise RuntimeError("torch.histogramdd: if weight tensor is provided it should have the same shape as the "
                           "input tensor excluding its innermost dimension, but got input with shape %s and "
                           "weight with shape %s" % (list(input.shape), list(weight.shape)))
    if weight.dtype is not input.dtype:
        raise RuntimeError("torch.histogramdd: if weight tensor is provided, input tensor and weight tensor should "
                           "have the same dtype, but got input(%s), and weight(%s)"
                           % (_dtype_word(input.dtype), _dtype_word(weight.dtype)))
    return F.reshape(weight, (-1,))


def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    _check(input, "histogram")
    if input.dtype not in (_F32, _F64):
        raise RuntimeError('"histogramdd" not implemented for \'%s\'' % input.dtype._torch_name)
    x = F.reshape(input, (-1, 1))  # torch flattens both: any weight of input's numel fits
    w = _check_weight(x, None if weight is None else F.reshape(weight, (-1,)), x.shape[:-1])
    rng = None if range is None else (range[0], range[1])
    hist, edges = _histogramdd(x, [bins], rng, w, density)
    return F._outs(F.return_types.histogram(hist, edges[0]), out, "histogram")


def histogramdd(input, bins, range=None, weight=None, density=False):
    """The points are input's last dim (one coordinate per dimension of the histogram)."""
    _check(input, "histogramdd")
    if input.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    if input.dtype not in (_F32, _F64):
        raise RuntimeError('"histogramdd" not implemented for \'%s\'' % input.dtype._torch_name)
    N = input.shape[-1]
    w = _check_weight(input, weight, input.shape[:-1])
    hist, edges = _histogramdd(F.reshape(input, (-1, N)), bins, range, w, density)
    return F.return_types.histogramdd(hist, builtins.tuple(edges))


_export("histogramdd", histogramdd)
_export("histogram", histogram)


# ---------------------------------------------------------------- renorm

def renorm(input, p, dim, maxnorm, *, out=None):
    _check(input, "renorm")
    p, maxnorm = builtins.float(p), builtins.float(maxnorm)
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError("renorm: expected maxnorm to be >= 0 but got %s" % _num(maxnorm))
    if input.ndim <= 1:
        raise RuntimeError("renorm: input needs at least 2 dimensions, got %d dimensions" % input.ndim)
    if not input.dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got %s"
                           % input.dtype._torch_name)
    d = F.wrap_dim(dim, input.ndim)
    dims = [i for i in builtins.range(input.ndim) if i != d]
    norm = _T.linalg.vector_norm(input, p, dims, keepdim=True)
    factor = _T.where(norm > maxnorm, _T.mul(_T.reciprocal(_T.add(norm, 1e-7)), maxnorm), _scalar_t(1.0, norm.dtype))
    return F._out(_T.mul(input, F.cast(factor, input.dtype)), out)


def _num(v):
    return "%d" % v if v == builtins.int(v) else "%g" % v


def renorm_(self, p, dim, maxnorm):
    return F.copy_(self, renorm(self, p, dim, maxnorm))


_export("renorm", renorm)
