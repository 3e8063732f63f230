"""The composed members of the scatter family (torch's indexing/mutating ops):
scatter_reduce, index_reduce, select/slice/diagonal/as_strided_scatter and fill_diagonal_,
with torch 1.13's argument checks and messages."""
import builtins
import sys as _sys

from . import _C, _known
from . import _op_numbers as O
from . import _records as F
from ._dtype import DTYPES

TB = _C.TensorBase
_F32, _F64, _F16, _BF16, _I64, _I32, _I16, _I8, _U8, _BOOL = (DTYPES[i] for i in range(10))
_T = _sys.modules[__name__.rpartition(".")[0]]

__all__ = []

_rs = F.number_minus
_check = F._check_tensor
_export = F.exporter(globals(), __all__)


def _scalar_t(v, dt):
    return _T.full((), v, dtype=dt)


# ---------------------------------------------------------------- scatter family

_SCATTER_REDUCE = ("sum", "prod", "mean", "amax", "amin")


def _targets(shape, dim, index):
    """Flat positions in a contiguous tensor of `shape` that scatter(dim, index) writes."""
    strides = _C.contiguous_strides(shape)
    ishape = tuple(index.shape)
    t = _T.mul(index, strides[dim]) if shape else F.cast(index, _I64)
    for k in builtins.range(len(ishape)):
        if k == dim:
            continue
        view = [1] * len(ishape)
        view[k] = ishape[k]
        t = _T.add(t, F.reshape(_T.mul(_T.arange(ishape[k]), strides[k]), tuple(view)))
    return F.reshape(t, (-1,))


def _scatter_reduce(input, dim, index, src, reduce, include_self, fname):
    _check(input, fname)
    _check(index, fname, "index", 3)
    _check(src, fname, "src", 4)
    if reduce not in _SCATTER_REDUCE:
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin.")
    d = F.wrap_dim(dim, input.ndim)
    if index.dtype is not _I64:
        raise RuntimeError("scatter(): Expected dtype int64 for index")
    if input.dtype is not src.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    nd = builtins.max(input.ndim, 1)
    if builtins.max(index.ndim, 1) != nd or builtins.max(src.ndim, 1) != nd:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    ishape = list(index.shape) or [1]
    sshape, xshape = list(src.shape) or [1], list(input.shape) or [1]
    for k in builtins.range(nd):
        if ishape[k] > sshape[k] or (k != d and ishape[k] > xshape[k]):
            raise RuntimeError("Expected index %s to be smaller than self %s apart from dimension %d and to be "
                               "smaller size than src %s" % (ishape, xshape, d, sshape))
    out = _T.clone(input)
    if index.numel() == 0:
        return out
    idx = F.reshape(index, tuple(ishape))
    n = xshape[d]
    known = _known.values(index)
    if known is not None:  # no sync needed: the client has the values
        v = _known.first_out_of_range(known, n, False)
    else:
        bad = _T.logical_or(idx < 0, idx >= n)
        v = _T.masked_select(idx, bad)[0].item() if builtins.bool(_T.any(bad)) else None
    if v is not None:
        raise RuntimeError("index %d is out of bounds for dimension %d with size %d" % (v, d, n))
    srcv = F.reshape(src, tuple(sshape))
    for k in builtins.range(nd):
        srcv = F.narrow(srcv, k, 0, ishape[k])
    tgt = _targets(xshape, d, idx)
    vals = F.reshape(_T.contiguous(srcv) if hasattr(_T, "contiguous") else F.contiguous(srcv), (-1,))
    flat = F.reshape(out, (-1,))
    dt = input.dtype
    touched = _T.index_put(_T.zeros(flat.shape, dtype=_BOOL), (tgt,), _scalar_t(True, _BOOL))
    if reduce in ("sum", "mean"):
        base = flat if include_self else _T.where(touched, _scalar_t(0, dt), flat)
        r = _T.index_put(base, (tgt,), vals, accumulate=True)
        if reduce == "mean":
            cnt = _T.index_put(_T.zeros(flat.shape, dtype=dt), (tgt,), _T.ones(vals.shape, dtype=dt),
                               accumulate=True)
            if include_self:
                cnt = _T.add(cnt, 1)
            cnt = _T.where(cnt == 0, _scalar_t(1, dt), cnt)
            q = _T.div(r, cnt, rounding_mode=None if dt.is_floating_point else "floor")
            r = _T.where(touched, F.cast(q, dt), flat)
    elif reduce == "prod":
        base = flat if include_self else _T.where(touched, _scalar_t(1, dt), flat)
        r = _T.scatter(base, 0, tgt, vals, reduce="multiply")
    else:
        perm = _T.argsort(vals, stable=True)
        t1, v1 = _T.take(tgt, perm), _T.take(vals, perm)
        order = _T.argsort(t1, stable=True)
        ts, vs = _T.take(t1, order), _T.take(v1, order)
        m = ts.shape[0]
        edge = _T.ne(F.narrow(ts, 0, 1, m - 1), F.narrow(ts, 0, 0, m - 1)) if m > 1 else _T.zeros((0,), dtype=_BOOL)
        one = _T.ones((1,), dtype=_BOOL)
        sel = _T.cat([edge, one]) if reduce == "amax" else _T.cat([one, edge])
        seg = _T.index_put(flat, (_T.masked_select(ts, sel),), _T.masked_select(vs, sel))
        if dt.is_floating_point:
            hasnan = _T.index_put(_T.zeros(flat.shape, dtype=_BOOL), (tgt,), _T.isnan(vals), accumulate=True)
            seg = _T.where(hasnan, _scalar_t(float("nan"), dt), seg)
        if include_self:
            r = _T.maximum(flat, seg) if reduce == "amax" else _T.minimum(flat, seg)
        else:
            r = seg
    return F.reshape(r, tuple(input.shape))


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True, out=None):
    return F._out(_scatter_reduce(input, dim, index, src, reduce, include_self, "scatter_reduce"), out)


def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
    r = _scatter_reduce(self, dim, index, src, reduce, include_self, "scatter_reduce_")
    _C.check_overlap(O.SCATTER, (self, index, src), inplace=True)  # scatter_'s checks, not copy_'s
    return F.copy_(self, r)


_export("scatter_reduce", scatter_reduce)


def _index_reduce(input, dim, index, source, reduce, include_self, fname):
    _check(input, fname)
    _check(index, fname, "index", 3)
    _check(source, fname, "source", 4)
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError("index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got %s."
                           % (reduce,))
    if index.ndim > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector")
    if index.dtype not in (_I64, _I32):
        raise RuntimeError("index_reduce_(): Expected dtype int32/int64 for index but got: %s" % index.dtype)
    if input.dtype is not source.dtype:
        raise RuntimeError("index_reduce_(): self (%s) and source (%s) must have the same scalar type"
                           % (input.dtype, source.dtype))
    d = F.wrap_dim(dim, input.ndim)
    nd = builtins.max(input.ndim, 1)
    sshape = list(source.shape) or [1]
    if index.numel() != sshape[d]:
        raise IndexError("index_reduce_(): Number of indices (%d) should be equal to source.size(dim) (%d)"
                         % (index.numel(), sshape[d]))
    view = [1] * nd
    view[d] = index.numel()
    idx = F.expand(F.reshape(F.cast(index, _I64), tuple(view)), *sshape)
    src = F.reshape(source, tuple(sshape))
    return _scatter_reduce(input, d, _T.contiguous(idx) if hasattr(_T, "contiguous") else F.contiguous(idx),
                           src, reduce, include_self, fname)


def index_reduce(input, dim, index, source, reduce, *, include_self=True, out=None):
    return F._out(_index_reduce(input, dim, index, source, reduce, include_self, "index_reduce"), out)


def index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    return F.copy_(self, _index_reduce(self, dim, index, source, reduce, include_self, "index_reduce_"))


_export("index_reduce", index_reduce)


def _embed(input, src, view_fn, fname):
    _check(input, fname)
    _check(src, fname, "src", 2)
    out = _T.clone(input)
    v = view_fn(out)
    if tuple(v.shape) != tuple(src.shape):
        raise RuntimeError("expected src to have a size equal to the slice of self. src size = %s, slice size = %s"
                           % (list(src.shape), list(v.shape)))
    F.copy_(v, src)
    return out


def select_scatter(input, src, dim, index):
    return _embed(input, src, lambda t: F.select(t, dim, index), "select_scatter")


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    def view(t):
        dd = F.wrap_dim(dim, t.ndim)
        sl = [builtins.slice(None)] * t.ndim
        sl[dd] = builtins.slice(start, end, step)
        return t[tuple(sl)]
    return _embed(input, src, view, "slice_scatter")


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    return _embed(input, src, lambda t: _T.diagonal(t, offset, dim1, dim2), "diagonal_scatter")


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    return _embed(input, src, lambda t: F.as_strided(t, size, stride, storage_offset), "as_strided_scatter")


for _n in ("select_scatter", "slice_scatter", "diagonal_scatter", "as_strided_scatter"):
    _export(_n, globals()[_n])


def fill_diagonal_(self, fill_value, wrap=False):
    nd = self.ndim
    if nd < 2:
        raise RuntimeError("dimensions must larger than 1")
    h, w = self.shape[0], self.shape[1]
    if nd > 2 and builtins.any(s != h for s in self.shape):
        raise RuntimeError("all dimensions of input must be of equal length")
    strides = self._strides
    size = builtins.min(h, w)
    step = builtins.sum(strides)
    if size:
        F.fill_(F.as_strided(self, [size], [step], self._offset), fill_value)
    if wrap and nd == 2 and h > w + 1:
        wrap_size = (self.numel() + w) // (w + 1) - size
        if wrap_size > 0:
            F.fill_(F.as_strided(self, [wrap_size], [step], self._offset + strides[0] * (w + 1)), fill_value)
    return self


