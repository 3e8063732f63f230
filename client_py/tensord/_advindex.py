"""Indexing, sorting and searching: gather/scatter, index_* ops, masked ops,
take/put, nonzero, advanced indexing (Tensor.__getitem__/__setitem__ with tensor/list/mask indices),
sort/argsort/topk/kthvalue, unique, bincount, histc, searchsorted, bucketize.

Everything is built on a handful of C ops (ops.def): GATHER, SCATTER, INDEX (self
indexed by k broadcast int64 tensors on consecutive dims from `dim`), INDEX_PUT (the
write form, with accumulate), NONZERO, SORT, SEARCHSORTED, HISTC.  Index values are
checked by the daemon when the op runs; when the client knows them (lists, ranges,
numpy arrays, tensor()/arange indices: _known) the same check is made at the call,
as torch does, and otherwise an out-of-range index raises at the next sync
(IndexError/RuntimeError with PyTorch's message).  Ops whose output size depends on
data (nonzero, boolean masks, unique, bincount) read a count first (a sync).
"""
import builtins

import numpy as _np

from . import _C, _known
from . import _op_numbers as O
from ._C import ops
from . import _records as F
from ._dtype import DTYPES
from ._indexing import _consumed_dims, _is_bool_index, _is_int_index, getitem as _basic_getitem
from ._records import TB, _check_tensor, _type_error, index_int, is_scalar, wrap_dim

_INT64, _INT32, _UINT8, _BOOL = DTYPES[4], DTYPES[5], DTYPES[8], DTYPES[9]
_FLOAT64 = DTYPES[1]

# INDEX / INDEX_PUT modes (kernels/cpu/index.c): negative wrapping and PyTorch's message
M_ADV, M_SELF, M_TAKE, M_FILL, M_COPY = 0, 1, 2, 3, 4
M_MASK = 5  # INDEX only: (self, bool mask) -> the selected elements in one op

# torch's deprecation warnings for writing an expanded tensor (its elements share memory)
_EXPANDED_WARNING = ("Use of %s on expanded tensors is deprecated. Please clone() the tensor before performing this "
                     "operation. This also applies to advanced indexing e.g. %s")


def _warn_if_expanded(t, fname, example):
    if _C.internal_overlap(t) == 1:
        import warnings
        warnings.warn(_EXPANDED_WARNING % (fname, example), UserWarning, stacklevel=4)

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "index_copy", "index_fill",
           "masked_fill", "masked_select", "masked_scatter", "take", "take_along_dim", "index_put", "nonzero",
           "argwhere", "where", "sort", "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive",
           "bincount", "histc", "searchsorted", "bucketize"]


# ---------------------------------------------------------------- helpers

def _tensor(data, dtype=None):
    from ._creation import tensor
    return tensor(data, dtype=dtype)


def _expand(t, sizes):
    sizes = list(sizes)
    if list(t.shape) == sizes:
        return t
    return ops.expand(t, sizes)


def _view(t, sizes):
    sizes = list(sizes)
    return F.reshape(t, sizes)


def _shape_str(s):
    return "[" + ", ".join(str(x) for x in s) + "]"


def _broadcast_shapes(shapes, msg):
    """torch.broadcast_shapes(*shapes) as a list, raising msg() instead of its error."""
    try:
        return list(_C.broadcast_shapes(*shapes))
    except RuntimeError:
        raise msg() from None


def _scalar_tensor(v, dtype):
    """0-d tensor of dtype from a Python number or a 0-d tensor."""
    if isinstance(v, TB):
        return F.cast(v, dtype)
    from ._creation import full
    return full((), F._pyscalar(v), dtype=dtype)


def _item(t):
    return t.item()


def _index_tensor(x):
    """A tensor/list/range/ndarray index as a tensor (int64 or bool); a sequence of
    Python or numpy values gives a known tensor (_known), checked at the call."""
    if isinstance(x, TB):
        return x
    if isinstance(x, range):
        x = list(x)
    if isinstance(x, _np.ndarray):
        if x.dtype.kind in "iu" and x.dtype != _np.uint8 and x.dtype != _np.int64:
            x = x.astype(_np.int64)  # torch reads an integer array as a sequence of ints
        return _tensor(x)
    t = _tensor(x)
    if t.numel() == 0 and t.dtype.is_floating_point:  # [] indexes nothing
        t = F.cast(t, _INT64)
    return t


def _count_nonzero(x):
    """The number of non-zero elements of x (a sync): NONZERO in count mode, one
    parallel pass over x in its own dtype."""
    if x.numel() == 0:
        return 0
    return builtins.int(_item(ops.nonzero(x, 0, count_only=True)))


def _nonzero_2d(x):
    """(count, ndim) int64 coordinates of the non-zero elements of x."""
    return ops.nonzero(x, _count_nonzero(x))


def _mask_to_indices(mask):
    """Bool mask -> one int64 index tensor per mask dim."""
    nz = _nonzero_2d(mask)
    return [ops.select(nz, 1, j) for j in range(mask.ndim)]


def _long_index(t, msg="tensors used as indices must be long, byte or bool tensors", exc=IndexError):
    if t.dtype is _INT64:
        return t
    raise exc(msg)


# ---------------------------------------------------------------- advanced indexing core

def _check_mask_shape(r, d, t):
    for j in range(t.ndim):
        if d + j >= r.ndim or t.shape[j] != r.shape[d + j]:
            raise IndexError("The shape of the mask %s at index %d does not match the shape of the indexed "
                             "tensor %s at index %d" % (_shape_str(t.shape), j, _shape_str(r.shape), d + j))


def _on_device_of(r, t):
    """Index tensor t on r's device: torch moves CPU indices to the indexed tensor's
    device, and refuses indices on another device."""
    if t._device_index == r._device_index:
        return t
    if t._device_index:
        from ._size import device_of
        raise RuntimeError("indices should be either on cpu or on the same device as the indexed tensor (%s)"
                           % device_of(r._device_index))
    from ._tensor_new import to_device
    return to_device(t, r._device_index)


def _mask_select(r, d, mask):
    """r[..., mask, ...] with the mask over r's dims d..d+mask.ndim-1: a count (one sync)
    and one INDEX op in mask mode, which writes the selected elements directly."""
    mask = _on_device_of(r, mask)
    return ops.index(r, mask, dim=d, mode=M_MASK, count=_count_nonzero(mask))


def _adv_entries(r, entries):
    """entries: [(dim, tensor)] on view r, ascending dims -> [(dim, int64 tensor)] with
    bool masks turned into coordinate tensors (one per mask dim)."""
    out = []
    for d, t in entries:
        t = _on_device_of(r, t)
        if t.dtype is _BOOL or t.dtype is _UINT8:
            _check_mask_shape(r, d, t)
            for j, it in enumerate(_mask_to_indices(t)):
                out.append((d + j, it))
        else:
            out.append((d, _long_index(t)))
    return out


def _known_entries(r, entries):
    """[(size of the indexed dim, values)] when every index's values are known, else None
    (a mask's coordinates are computed by the daemon: not known)."""
    known = []
    for d, t in entries:
        v = _known.values(t) if t.dtype is _INT64 else None
        if v is None:
            return None
        known.append((r.shape[d], v))
    return known


def _adv_plan(r, entries):
    """(base view, index tensors broadcast to one shape, first indexed dim) for INDEX."""
    entries = _adv_entries(r, entries)
    shapes = [list(t.shape) for _, t in entries]
    bshape = _broadcast_shapes(shapes, lambda: IndexError(
        "shape mismatch: indexing tensors could not be broadcast together with shapes "
        + ", ".join(_shape_str(s) for s in shapes)))
    if 0 not in bshape and builtins.any(r.shape[d] == 0 for d, _ in entries):
        # no value indexes an empty dim (torch's AdvancedIndex says so before any kernel)
        raise IndexError("index is out of bounds for dimension with size 0")
    idx = tuple(_expand(t, bshape) for _, t in entries)
    dims = [d for d, _ in entries]
    adjacent = builtins.all(dims[i] + 1 == dims[i + 1] for i in range(len(dims) - 1))
    if adjacent:
        return r, idx, dims[0]
    rest = [d for d in range(r.ndim) if d not in dims]
    perm = dims + rest
    return ops.permute(r, perm), idx, 0


def _indexed_shape(base, idx, dim):
    k = len(idx)
    return list(base.shape[:dim]) + list(idx[0].shape) + list(base.shape[dim + k:])


def _is_adv(x):
    if isinstance(x, (list, range, _np.ndarray)):
        return True
    return isinstance(x, TB) and x.ndim > 0


def _basic_pass(t, idx):
    """Applies ints/slices/None/Ellipsis (torch applies these first) and returns the view
    plus [(dim in the view, index tensor)] for the advanced indices."""
    idx = tuple(_index_tensor(x) if isinstance(x, (list, range, _np.ndarray)) else x for x in idx)
    idx, consumed = _consumed_dims(idx)
    if consumed > t.ndim:
        raise IndexError("too many indices for tensor of dimension %d" % t.ndim)
    fill = t.ndim - consumed
    basic, entries, d = [], [], 0
    for x in idx:
        if x is Ellipsis:
            basic.append(x)
            d += fill
        elif x is None or _is_bool_index(x) or isinstance(x, slice):
            basic.append(x)
            d += 1
        elif isinstance(x, TB) and x.ndim > 0:
            if x.dtype is not _BOOL and x.dtype is not _UINT8 and x.dtype is not _INT64:
                raise IndexError("tensors used as indices must be long, byte or bool tensors")
            m = x.ndim if x.dtype in (_BOOL, _UINT8) else 1
            entries.append((d, x))
            basic.extend([slice(None)] * m)
            d += m
        elif _is_int_index(x):
            basic.append(x)
        else:
            basic.append(x)  # the basic path raises the right error
    return _basic_getitem(t, tuple(basic)), entries


def needs_advanced(idx):
    if not isinstance(idx, tuple):
        idx = (idx,)
    return builtins.any(_is_adv(x) for x in idx)


def adv_getitem(t, idx):
    if not isinstance(idx, tuple):
        idx = (idx,)
    r, entries = _basic_pass(t, idx)
    if len(entries) == 1 and entries[0][1].dtype in (_BOOL, _UINT8) and entries[0][1].ndim > 0:
        d, mask = entries[0]
        _check_mask_shape(r, d, mask)
        return _mask_select(r, d, mask)
    known = _known_entries(r, entries)
    base, ix, dim = _adv_plan(r, entries)
    if known and _walks_indices(base, ix, dim):
        _known.check_advanced(known)
    return ops.index(base, *ix, dim=dim, mode=M_ADV)


def _walks_indices(base, ix, dim):
    """torch checks each index where its kernel reads or writes an element: with an empty
    result (another dim of size 0) an index out of range goes unnoticed, as in torch."""
    return 0 not in _indexed_shape(base, ix, dim)


def _value_for(base, ix, dim, value, dtype):
    """value as a tensor of dtype broadcast to the indexed shape."""
    shape = _indexed_shape(base, ix, dim)
    if isinstance(value, TB):
        if value.dtype is not dtype:  # torch's index_put_ does not convert tensors
            raise RuntimeError("Index put requires the source and destination dtypes match, got %s for the "
                               "destination and %s for the source." % (_tname(dtype), _tname(value.dtype)))
        v = value
        if v._storage_key == base._storage_key:
            v = F.clone(v)
    elif is_scalar(value):
        v = _scalar_tensor(value, dtype)
    else:
        v = _tensor(value, dtype=dtype)
    if v._device_index != base._device_index and (v.ndim == 0 or not isinstance(value, TB)):
        # Python values and 0-dim CPU tensors go where the indexed tensor is (as torch)
        from ._tensor_new import to_device
        v = to_device(v, base._device_index)
    while v.ndim > len(shape) and v.shape[0] == 1:  # torch drops leading 1s of the value
        v = ops.select(v, 0, 0)
    vs = list(v.shape)
    if len(vs) > len(shape) or builtins.any(x != 1 and x != y for x, y in zip(vs[::-1], shape[::-1])):
        raise RuntimeError("shape mismatch: value tensor of shape %s cannot be broadcast to indexing result of "
                           "shape %s" % (_shape_str(vs), _shape_str(shape)))
    return _expand(v, shape)


def _fills_through_mask(entries, value, accumulate):
    """torch's index_put_ runs masked_fill_(mask, value.item()) for one bool/uint8 index and
    a one-element value: the value is then read as a number, whatever its dtype."""
    return (not accumulate and len(entries) == 1 and entries[0][1].dtype in (_BOOL, _UINT8) and
            (not isinstance(value, TB) or value.numel() == 1))


def _check_put_overlap(r, entries, value, accumulate):
    """torch's index_put_ on r: a warning when r is expanded; no overlap of r with the
    value or a long index, except where torch fills through a bool mask with a one-element
    value (masked_fill_, value read as a number; its own warning for an expanded r)."""
    _warn_if_expanded(r, "index_put_", "tensor[indices] = tensor")
    if _fills_through_mask(entries, value, accumulate):
        _warn_if_expanded(r, "masked_fill_", "tensor[mask] = scalar")
        return
    if isinstance(value, TB):
        _C.assert_overlap(r, value, full=True)
    for _, ix in entries:
        if ix.dtype is _INT64:
            _C.assert_overlap(r, ix, full=True)


def adv_setitem(t, idx, value, accumulate=False):
    if not isinstance(idx, tuple):
        idx = (idx,)
    r, entries = _basic_pass(t, idx)
    # only index tensors (and ...): t itself is written, as torch's, whose grad_fn is then
    # IndexPutBackward0; a `:` or another basic index makes torch write a view (CopySlices)
    if builtins.all(_is_adv(x) or x is Ellipsis for x in idx):
        r = t
    known = _known_entries(r, entries)
    _check_put_overlap(r, entries, value, accumulate)
    base, ix, dim = _adv_plan(r, entries)
    if isinstance(value, TB) and value.dtype is not t.dtype and _fills_through_mask(entries, value, accumulate):
        value = value.item()  # as torch's masked_fill_(mask, value.item()): a number, checked against t's dtype
    v = _value_for(base, ix, dim, value, t.dtype)
    if known and _walks_indices(base, ix, dim):
        _known.check_advanced(known)
    ops.index_put(base, v, *ix, dim=dim, mode=M_ADV, accumulate=builtins.bool(accumulate), inplace=True)


# ---------------------------------------------------------------- gather / scatter

def gather(input, dim, index, *, sparse_grad=False, out=None):
    _check_tensor(input, "gather")
    _check_tensor(index, "gather", "index", 3)
    d = index_int(dim)
    _known.raise_before(_gather_error(input, index, d), ops.gather, input, index, d)
    return F._out(ops.gather(input, index, d), out, overlap=(O.GATHER, (input, index)))


def _gather_error(self, index, dim):
    """gather/scatter with known index values: the first outside [0, self.size(dim))."""
    vals = _known.values(index)
    if vals is None or not -builtins.max(self.ndim, 1) <= dim < builtins.max(self.ndim, 1):
        return None
    d = dim % builtins.max(self.ndim, 1)
    size = self.shape[d] if self.ndim else 1
    return _known.range_error(vals, size, False, RuntimeError,
                              "index %%d is out of bounds for dimension %d with size %d" % (d, size))


_REDUCE = {None: 0, "add": 1, "multiply": 2}


def _scatter(input, dim, index, src, value, reduce, inplace, fname):
    _check_tensor(input, fname)
    _check_tensor(index, fname, "index", 3)
    if src is None:
        src = value
    if reduce not in _REDUCE:
        raise RuntimeError("reduce argument must be either add or multiply.")
    if not isinstance(src, TB):
        if not (is_scalar(src) or F.is_complex_scalar(src)):
            raise _type_error(fname, "src", 4, src)
        # torch converts the value as it writes each element: an empty index checks nothing
        v = ops.full(input.dtype, [], F._pyscalar(src)) if not index.numel() and is_scalar(src) else \
            _scalar_tensor(src, input.dtype)
        src = _expand(v, index.shape)
        if index.ndim == 0:
            src = ops.unsqueeze(src, 0) if input.ndim else src
    d = index_int(dim)
    _known.raise_before(_gather_error(input, index, d), ops.scatter, input, index, src, d, reduce, inplace=inplace)
    return ops.scatter(input, index, src, d, reduce, inplace=inplace)


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    return _scatter(input, dim, index, src, value, reduce, False, "scatter")


def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
    return _scatter(self, dim, index, src, value, reduce, True, "scatter_")


def scatter_add(input, dim, index, src):
    _check_tensor(src, "scatter_add", "src", 4)
    return _scatter(input, dim, index, src, None, "add", False, "scatter_add")


def scatter_add_(self, dim, index, src):
    _check_tensor(src, "scatter_add_", "src", 4)
    return _scatter(self, dim, index, src, None, "add", True, "scatter_add_")


def take_along_dim(input, indices, dim=None, *, out=None):
    _check_tensor(input, "take_along_dim")
    _check_tensor(indices, "take_along_dim", "indices", 2)
    if indices.dtype is not _INT64:
        raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got %s"
                           % _tname(indices.dtype))
    if dim is None:
        flat = F.reshape(input, [-1])
        _known.raise_before(_gather_error(flat, indices, 0), ops.gather, flat, F.reshape(indices, [-1]), 0)
        return F._out(ops.gather(flat, F.reshape(indices, [-1]), 0), out)
    d = wrap_dim(dim, input.ndim)
    if input.ndim != indices.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           "but got %d dimensions for input, and %d dimensions for indices"
                           % (input.ndim, indices.ndim))
    si, sx = list(indices.shape), list(input.shape)
    si[d], sx[d] = 1, 1
    b = _broadcast_shapes([si, sx], lambda: RuntimeError(
        "shape mismatch: indexing tensors could not be broadcast together"))
    bi, bx = list(b), list(b)
    bi[d], bx[d] = indices.shape[d], input.shape[d]
    ex, ei = _expand(input, bx), _expand(indices, bi)
    _known.raise_before(_gather_error(input, indices, d), ops.gather, ex, ei, d)
    return F._out(ops.gather(ex, ei, d), out)


# ---------------------------------------------------------------- index_* ops

def _index_vector(index, fname):
    if not isinstance(index, TB):
        raise _type_error(fname, "index", 3, index)
    if index.ndim > 1:
        raise IndexError("%s(): Index is supposed to be a vector" % fname)
    if index.dtype is _INT32:
        index = F.cast(index, _INT64)
    if index.dtype is not _INT64:
        raise RuntimeError("%s(): Expected dtype int32 or int64 for index" % fname)
    return F.reshape(index, [-1])


def index_select(input, dim, index, *, out=None):
    _check_tensor(input, "index_select")
    idx = _index_vector(index, "index_select")
    d = wrap_dim(dim, input.ndim)
    size = input.shape[d] if input.ndim else 1
    if input.ndim > 1 and d == 1:  # torch 1.13 has a separate dim-1 kernel, with its own message
        err = _known.range_error(_known.values(index), size, False, RuntimeError,
                                 "INDICES element is out of DATA bounds, id=%%d axis_dim=%d" % size)
    else:
        err = _known.range_error(_known.values(index), size, False, IndexError, "index out of range in self")
    _known.raise_before(err, ops.index, input if input.ndim else F.unsqueeze(input, 0), idx,
                        dim=d if input.ndim else 0, mode=M_SELF)
    overlap = (O.INDEX, (input, index), M_SELF)
    if input.ndim == 0:
        r = ops.index(F.unsqueeze(input, 0), idx, dim=0, mode=M_SELF)
        return F._out(F.reshape(r, []) if r.numel() == 1 else r, out, overlap=overlap)
    return F._out(ops.index(input, idx, dim=d, mode=M_SELF), out, overlap=overlap)


def _index_put_dim(self, dim, index, source, mode, accumulate, inplace, fname):
    """self.index_{add,copy}_(dim, index, source) through INDEX_PUT."""
    _check_tensor(self, fname)
    idx = _index_vector(index, fname)
    d = wrap_dim(dim, self.ndim)
    base = self if self.ndim else F.unsqueeze(self, 0)
    src = source if source.ndim else F.unsqueeze(source, 0)
    n = idx.shape[0]
    if src.ndim and src.ndim > d and src.shape[d] != n or (src.ndim <= d and n != 1):
        if mode == M_COPY:
            raise IndexError("index_copy_(): Number of indices (%d) should be equal to source.size(dim) (%d)"
                             % (n, src.shape[d] if src.ndim > d else 1))
        raise RuntimeError("%s(): Number of indices (%d) should be equal to source.size(dim): (%d), for dim: %d"
                           % (fname.rstrip("_") + "_", n, src.shape[d] if src.ndim > d else 1, d))
    if source.dtype is not self.dtype:
        if mode == M_COPY:
            raise RuntimeError("index_copy_(): self and source expected to have the same dtype, but got (self) %s "
                               "and (source) %s" % (_tname(self.dtype), _tname(source.dtype)))
        raise RuntimeError("%s(): self (%s) and source (%s) must have the same scalar type"
                           % (fname.rstrip("_") + "_", _tname(self.dtype), _tname(source.dtype)))
    size = base.shape[d]
    if mode == M_COPY:
        err = _known.range_error(_known.values(index), size, False, IndexError,
                                 "index_copy_(): index %%d is out of bounds for dimension %d with size %d" % (d, size))
    else:
        err = _known.range_error(_known.values(index), size, False, IndexError, "index out of range in self")
    _known.raise_before(err, ops.index_put, base, src, idx, dim=d, mode=mode, accumulate=accumulate,
                        inplace=inplace)
    if inplace:
        ops.index_put(base, src, idx, dim=d, mode=mode, accumulate=accumulate, inplace=True)
        return self
    r = ops.index_put(base, src, idx, dim=d, mode=mode, accumulate=accumulate)
    return r if self.ndim else F.reshape(r, [])


def _tname(dt):
    return dt._torch_name


def _alpha_source(source, alpha, fname):
    if alpha is None or (not isinstance(alpha, builtins.bool) and alpha == 1):
        return source
    # torch scales in the source's dtype (a bool source with alpha=2 stays bool)
    return F.cast(F.mul(source, alpha), source.dtype)


def index_add(input, dim, index, source, *, alpha=1, out=None):
    _check_tensor(source, "index_add", "source", 4)
    return F._out(_index_put_dim(input, dim, index, _alpha_source(source, alpha, "index_add"), M_SELF, True,
                                 False, "index_add"), out)


def index_add_(self, dim, index, source, *, alpha=1):
    _check_tensor(source, "index_add_", "source", 4)
    if isinstance(self, TB) and isinstance(index, TB):  # the source is scaled first: checked as given
        _C.check_overlap(O.INDEX_PUT, (self, source, index), inplace=True, mode=M_SELF)
    return _index_put_dim(self, dim, index, _alpha_source(source, alpha, "index_add_"), M_SELF, True, True,
                          "index_add_")


def index_copy(input, dim, index, source):
    _check_tensor(source, "index_copy", "source", 4)
    return _index_put_dim(input, dim, index, source, M_COPY, False, False, "index_copy")


def index_copy_(self, dim, index, source):
    _check_tensor(source, "index_copy_", "source", 4)
    return _index_put_dim(self, dim, index, source, M_COPY, False, True, "index_copy_")


def _index_fill(self, dim, index, value, inplace):
    fname = "index_fill_" if inplace else "index_fill"
    _check_tensor(self, fname)
    if isinstance(value, TB) and value.ndim != 0:
        raise RuntimeError("index_fill_ only supports a 0-dimensional value tensor, but got tensor with %d "
                           "dimension(s)." % value.ndim)
    if not isinstance(value, TB) and not (is_scalar(value) or F.is_complex_scalar(value)):
        raise _type_error(fname, "value", 3, value, "Number")
    idx = _index_vector(index, fname)
    d = wrap_dim(dim, self.ndim)
    if inplace:
        _warn_if_expanded(self, "index_fill_", "tensor[mask] = scalar")
    base = self if self.ndim else F.unsqueeze(self, 0)
    shape = list(base.shape)
    shape[d] = idx.shape[0]
    v = _expand(_scalar_tensor(value, self.dtype), shape)
    err = _known.range_error(_known.values(index), base.shape[d], True, IndexError,
                             "index %%d is out of bounds for dimension %d with size %d" % (d, base.shape[d]))
    _known.raise_before(err, ops.index_put, base, v, idx, dim=d, mode=M_FILL, inplace=inplace)
    if inplace:
        ops.index_put(base, v, idx, dim=d, mode=M_FILL, inplace=True)
        return self
    r = ops.index_put(base, v, idx, dim=d, mode=M_FILL)
    return r if self.ndim else F.reshape(r, [])


def index_fill(input, dim, index, value):
    return _index_fill(input, dim, index, value, False)


def index_fill_(self, dim, index, value):
    return _index_fill(self, dim, index, value, True)


def _indices_tuple(indices, fname):
    if not isinstance(indices, (tuple, list)):
        raise TypeError("%s(): argument 'indices' (position 1) must be tuple of Tensors, not %s"
                        % (fname, type(indices).__name__))
    return tuple(indices)


def index_put_(self, indices, values, accumulate=False):
    indices = _indices_tuple(indices, "index_put_")
    _check_tensor(values, "index_put_", "values", 2)
    if values.dtype is not self.dtype:
        raise RuntimeError("Index put requires the source and destination dtypes match, got %s for the destination "
                           "and %s for the source." % (_tname(self.dtype), _tname(values.dtype)))
    if len(indices) > self.ndim:
        raise IndexError("too many indices for tensor of dimension %d" % self.ndim)
    adv_setitem(self, tuple(x if x is not None else slice(None) for x in indices), values, accumulate)
    return self


def index_put(input, indices, values, accumulate=False):
    return index_put_(F.clone(input), indices, values, accumulate)


# ---------------------------------------------------------------- take / put

def take(input, index):
    _check_tensor(input, "take")
    _check_tensor(index, "take", "index", 2)
    if index.dtype is not _INT64:
        raise RuntimeError("take(): Expected a long tensor for index, but got %s" % _tname(index.dtype))
    flat = F.reshape(input, [-1])
    n = flat.shape[0]
    if n == 0 and index.numel():
        raise IndexError("take(): tried to take from an empty tensor")
    err = _known.range_error(_known.values(index), n, True, IndexError,
                             "out of range: tried to access index %%d on a tensor of %d elements." % n)
    _known.raise_before(err, ops.index, flat, index, dim=0, mode=M_TAKE)
    return ops.index(flat, index, dim=0, mode=M_TAKE)


def put_(self, index, source, accumulate=False):
    _check_tensor(index, "put_", "index", 1)
    _check_tensor(source, "put_", "source", 2)
    if index.dtype is not _INT64:
        raise RuntimeError("put_(): Expected a long tensor for index, but got %s" % _tname(index.dtype))
    if source.dtype is not self.dtype:
        raise RuntimeError("put_(): self and source expected to have the same dtype, but got self.dtype = %s and "
                           "source.dtype = %s" % (_tname(self.dtype), _tname(source.dtype)))
    if source.numel() != index.numel():
        raise RuntimeError("put_(): Expected source and index to have the same number of elements, but got source "
                           "with %d elements and index with %d" % (source.numel(), index.numel()))
    n = self.numel()
    if n == 0 and index.numel():
        raise IndexError("put_(): Tried to put elements into an empty tensor")
    _C.check_overlap(O.INDEX_PUT, (self, source, index), inplace=True, mode=M_TAKE)
    err = _known.range_error(_known.values(index), n, True, IndexError,
                             "out of range: tried to access index %%d on a tensor of %d elements." % n)
    if err is not None:
        raise err
    target = self if self.is_contiguous() else ops.clone(self)  # row-major: flat indices are logical ones
    flat = F.reshape(target, [-1])
    src = F.reshape(source, list(index.shape))
    ops.index_put(flat, src, index, dim=0, mode=M_TAKE, accumulate=builtins.bool(accumulate), inplace=True)
    if target is not self:
        F.copy_(self, target)
    return self


def put(input, index, source, accumulate=False):
    return put_(F.clone(input), index, source, accumulate)


# ---------------------------------------------------------------- masks

def _check_mask(mask, fname):
    _check_tensor(mask, fname, "mask", 2)
    if mask.dtype is _UINT8:
        return F.cast(mask, _BOOL)
    if mask.dtype is not _BOOL:
        raise RuntimeError("%s only supports boolean masks, but got mask with dtype %s"
                           % (fname, mask.dtype._name if mask.dtype._name != "uint8" else "unsigned char"))
    return mask


def _mask_value(input, value, fname):
    if isinstance(value, TB):
        if value.ndim != 0:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with %d "
                               "dimension(s)." % value.ndim)
        return F.cast(value, input.dtype)
    if not (is_scalar(value) or F.is_complex_scalar(value)):
        raise _type_error(fname, "value", 3, value, "Number")
    return _scalar_tensor(value, input.dtype)


def masked_fill(input, mask, value):
    _check_tensor(input, "masked_fill")
    mask = _check_mask(mask, "masked_fill_")
    return F.torch_node(ops.where(mask, _mask_value(input, value, "masked_fill"), input), "MaskedFillBackward0")


def masked_fill_(self, mask, value):
    mask = _check_mask(mask, "masked_fill_")
    r = ops.where(mask, _mask_value(self, value, "masked_fill_"), self)
    if tuple(r.shape) != tuple(self.shape):
        raise RuntimeError("output with shape %s doesn't match the broadcast shape %s"
                           % (_shape_str(self.shape), _shape_str(r.shape)))
    _C.assert_overlap(self, mask)
    if _C.internal_overlap(self) != 1:
        return F.copy_(self, r)
    # an expanded self (deprecated in torch, not refused): a location shared along a
    # stride-0 dim gets value when any of its elements is masked, as torch's loop leaves it
    _warn_if_expanded(self, "masked_fill_", "tensor[mask] = scalar")
    t, m = self, _expand(mask, list(self.shape))
    for d in range(self.ndim):
        if self.shape[d] > 1 and self._strides[d] == 0:
            t, m = ops.slice(t, d, 0, 1), F.any(m, d, True)
    F.copy_(t, ops.where(m, _mask_value(self, value, "masked_fill_"), t))
    return self


def _broadcast_pair(a, b):
    s = _broadcast_shapes([list(a.shape), list(b.shape)], lambda: RuntimeError(
        "The size of tensor a (%s) must match the size of tensor b (%s) at non-singleton dimension"
        % (a.shape, b.shape)))
    return _expand(a, s), _expand(b, s)


def masked_select(input, mask, *, out=None):
    _check_tensor(input, "masked_select")
    given = mask
    mask = _check_mask(mask, "masked_select:")
    x, m = _broadcast_pair(input, mask)
    if x.ndim == 0:
        x, m = F.reshape(x, [1]), F.reshape(m, [1])
    return F._out(F.torch_node(_mask_select(x, 0, m), "MaskedSelectBackward0"), out, "masked_select",
                  overlap=(O.INDEX, (input, given), M_MASK))


def masked_scatter_(self, mask, source):
    mask = _check_mask(mask, "masked_scatter_")
    _check_tensor(source, "masked_scatter_", "source", 2)
    if source.dtype is not self.dtype:
        raise RuntimeError("masked_scatter: expected self and source to have same dtypes but got%s and %s"
                           % (self.dtype._torch_name, source.dtype._torch_name))
    m = _expand(mask, list(self.shape))
    ix = tuple(_mask_to_indices(m)) if self.ndim else None
    n = ix[0].shape[0] if ix else _count_nonzero(m)
    if source.numel() < n:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    _C.assert_overlap(self)
    vals = ops.slice(F.reshape(source, [-1]), 0, 0, n)
    if _C.overlap(self, vals):  # torch reads source as it writes; here it is read first
        vals = ops.clone(vals)
    if not self.ndim:
        if n:
            F.copy_(self, F.reshape(vals, []))
        return self
    ops.index_put(self, vals, *ix, dim=0, mode=M_ADV, inplace=True)
    return self


def masked_scatter(input, mask, source):
    m = _check_mask(mask, "masked_scatter")
    x, m = _broadcast_pair(input, m)
    return masked_scatter_(F.clone(x), m, source)


# ---------------------------------------------------------------- nonzero / where

def nonzero(input, *, out=None, as_tuple=False):
    _check_tensor(input, "nonzero")
    if as_tuple:
        x = input if input.ndim else F.reshape(input, [1])
        nz = _nonzero_2d(x)
        return tuple(F.contiguous(ops.select(nz, 1, j)) for j in range(x.ndim))
    return F._out(_nonzero_2d(input), out, overlap=(O.NONZERO, (input,)))


def argwhere(input):
    return nonzero(input)


_where2 = F.where


def where(condition, input=None, other=None, *, out=None):
    if input is None and other is None:
        _check_tensor(condition, "where", "condition", 1)
        return nonzero(condition, as_tuple=True)
    return _where2(condition, input, other, out=out)


# ---------------------------------------------------------------- sorting

_sort_rt, _topk_rt, _kthvalue_rt = (F.structseq(n) for n in ("sort", "topk", "kthvalue"))


def _sort_raw(input, dim, descending, k=None, stable=True):
    """SORT; with k, only the first k of the sorted order along dim (a partial selection).
    stable=False puts equal keys where torch's unstable CPU sort does."""
    return ops.sort(input, index_int(dim), builtins.bool(descending), builtins.bool(stable), k)


def sort(input, dim=-1, descending=False, stable=False, *, out=None):
    _check_tensor(input, "sort")
    if isinstance(dim, builtins.bool):  # sort(x, stable=..) positional forms are rare; dim must be int
        raise TypeError("sort(): argument 'dim' must be int, not bool")
    v, i = _sort_raw(input, dim, descending, stable=stable)
    return F._outs(_sort_rt(v, i), out, "sort", overlap=(O.SORT, (input,)))


def argsort(input, dim=-1, descending=False, stable=False):
    _check_tensor(input, "argsort")
    return _sort_raw(input, dim, descending, stable=stable)[1]


def msort(input, *, out=None):
    _check_tensor(input, "msort")
    return F._out(_sort_raw(input, 0, False)[0], out, "msort", overlap=(O.SORT, (input,)))


def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    _check_tensor(input, "topk")
    k = index_int(k)
    d = wrap_dim(dim, input.ndim)
    size = input.shape[d] if input.ndim else 1
    if k < 0 or k > size:
        raise RuntimeError("selected index k out of range")
    v, i = _sort_raw(input, d, largest) if input.ndim == 0 else _sort_raw(input, d, largest, k)
    return F._outs(_topk_rt(F.torch_node(v, "TopkBackward0"), i), out, "topk", overlap=(O.SORT, (input,)))


def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    _check_tensor(input, "kthvalue")
    if input.dtype.is_complex:
        raise RuntimeError("\"kthvalue_cpu\" not implemented for '%s'" % input.dtype._torch_name)
    k = index_int(k)
    d = wrap_dim(dim, input.ndim)
    size = input.shape[d] if input.ndim else 1
    if size == 0:
        raise IndexError("kthvalue(): Expected reduction dim %d to have non-zero size." % d)
    if k < 1 or k > size:
        raise RuntimeError("kthvalue(): selected number k out of range for dimension %d" % d)
    overlap = (O.SORT, (input,))
    if input.ndim == 0:
        return F._outs(_kthvalue_rt(*_sort_raw(input, d, False)), out, "kthvalue", overlap=overlap)
    v, i = _sort_raw(input, d, False, k)  # the k smallest in order: the last is the answer
    if keepdim:
        return F._outs(_kthvalue_rt(F.contiguous(ops.slice(v, d, k - 1, k)),
                                    F.contiguous(ops.slice(i, d, k - 1, k))), out, "kthvalue", overlap=overlap)
    return F._outs(_kthvalue_rt(F.contiguous(ops.select(v, d, k - 1)),
                                F.contiguous(ops.select(i, d, k - 1))), out, "kthvalue", overlap=overlap)


# ---------------------------------------------------------------- unique / bincount / histc

def _runs(flat):
    """For a 1-D tensor: (start positions of runs of equal values, int64)."""
    n = flat.shape[0]
    if n == 0:
        return _tensor([], dtype=_INT64)
    head = ops.slice(flat, 0, 1, n)
    prev = ops.slice(flat, 0, 0, n - 1)
    first = _scalar_tensor(True, _BOOL)
    change = F.cat([F.reshape(first, [1]), F.ne(head, prev)])
    return F.reshape(ops.select(_nonzero_2d(change), 1, 0), [-1])


def _run_outputs(flat, starts, values, shape, return_inverse, return_counts, inverse_fn):
    out = [values]
    if return_inverse:
        out.append(F.reshape(inverse_fn(), list(shape)))
    if return_counts:
        n = flat.shape[0]
        m = starts.shape[0]
        ends = F.cat([ops.slice(starts, 0, 1, m), _tensor([n], dtype=_INT64)]) if m else starts
        out.append(F.sub(ends, starts))
    return out[0] if len(out) == 1 else tuple(out)


def _unique_dim(input, dim, consecutive, return_inverse, return_counts, argname):
    """unique / unique_consecutive along dim: the slices along dim compared as rows
    (dim swapped with dim 0, the rest flattened, as torch does); unique sorts the rows
    lexicographically with one stable sort per column, last column first."""
    if isinstance(dim, (builtins.bool, builtins.float)) or not isinstance(dim, builtins.int):
        raise TypeError("%s must be int, not %s" % (argname, type(dim).__name__))
    from ._creation import empty, zeros
    nd = input.ndim
    if nd == 0:
        raise IndexError("Dimension specified as %d but tensor has no dimensions" % dim)
    d = wrap_dim(dim, nd)
    sizes = list(input.shape)
    if sizes[d] == 0:
        if sizes.count(0) != 1:
            raise RuntimeError("Number of zero sized dimensions is more than one, so unique cannot be applied ")
        out = [empty(sizes, dtype=input.dtype)]
        if return_inverse:
            out.append(empty(0, dtype=_INT64))
        if return_counts:
            out.append(empty(0, dtype=_INT64))
        return out[0] if len(out) == 1 else tuple(out)
    if 0 in sizes:
        raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique cannot be applied")
    order = list(range(nd))  # torch flattens transpose(dim, 0) (not movedim): that fixes the order
    order[0], order[d] = d, 0
    rest = [sizes[i] for i in order[1:]]
    n = sizes[d]
    x = F.reshape(F.contiguous(F.permute(input, order)), [n, -1])
    m = x.shape[1]
    if consecutive:
        xs, perm = x, None
    else:
        key = x if input.dtype not in (DTYPES[2], DTYPES[3]) else F.cast(x, DTYPES[0])  # no f16 sort kernel
        perm = None
        for j in range(m - 1, -1, -1):
            col = ops.select(key, 1, j)
            if perm is not None:
                col = ops.index(col, perm, dim=0, mode=M_ADV)
            o = _sort_raw(col, 0, False)[1]
            perm = o if perm is None else ops.index(perm, o, dim=0, mode=M_ADV)
        xs = ops.index(x, perm, dim=0, mode=M_ADV)
    first = F.reshape(_scalar_tensor(True, _BOOL), [1])
    if n > 1:
        diff = F.ne(ops.slice(xs, 0, 1, n), ops.slice(xs, 0, 0, n - 1))
        change = F.cat([first, F.any(diff, 1)])
    else:
        change = first
    starts = F.reshape(ops.select(_nonzero_2d(change), 1, 0), [-1])
    u = starts.shape[0]
    vals = F.reshape(ops.index(xs, starts, dim=0, mode=M_ADV), [u] + rest)
    out = [F.contiguous(F.permute(vals, order))]
    if return_inverse:
        gid = F.sub(ops.cumsum(change, 0, _INT64), 1)
        if perm is None:
            inv = gid
        else:
            inv = zeros(n, dtype=_INT64)
            ops.index_put(inv, gid, perm, dim=0, mode=M_ADV, inplace=True)
        out.append(inv)
    if return_counts:
        ends = F.cat([ops.slice(starts, 0, 1, u), _tensor([n], dtype=_INT64)])
        out.append(F.sub(ends, starts))
    return out[0] if len(out) == 1 else tuple(out)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    _check_tensor(input, "unique")
    if input.dtype.is_complex:
        raise RuntimeError("\"unique\" not implemented for '%s'" % input.dtype._torch_name)
    if dim is not None:
        return _unique_dim(input, dim, False, return_inverse, return_counts,
                           "unique_dim(): argument 'dim' (position 2)")
    flat = F.reshape(input, [-1])
    s = _sort_raw(flat, 0, False)[0]
    starts = _runs(s)
    values = ops.index(s, starts, dim=0, mode=M_ADV)

    def inv():
        if values.dtype is _BOOL:  # searchsorted has no bool kernel (as in torch)
            return searchsorted(F.cast(values, _UINT8), F.cast(flat, _UINT8))
        return searchsorted(values, flat)
    return _run_outputs(s, starts, values, input.shape, return_inverse, return_counts, inv)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    _check_tensor(input, "unique_consecutive")
    if input.dtype.is_complex:
        raise RuntimeError("\"unique\" not implemented for '%s'" % input.dtype._torch_name)
    if dim is not None:
        return _unique_dim(input, dim, True, return_inverse, return_counts,
                           "unique_consecutive(): argument 'dim'")
    flat = F.reshape(input, [-1])
    starts = _runs(flat)
    values = ops.index(flat, starts, dim=0, mode=M_ADV)

    def inv():
        from ._creation import arange
        return F.sub(searchsorted(starts, arange(flat.shape[0]), right=True), 1)
    return _run_outputs(flat, starts, values, input.shape, return_inverse, return_counts, inv)


def bincount(input, weights=None, minlength=0):
    _check_tensor(input, "bincount")
    if input.dtype.is_complex:
        raise RuntimeError("\"bincount_cpu\" not implemented for '%s'" % input.dtype._torch_name)
    minlength = index_int(minlength)
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if input.ndim != 1 or input.dtype.is_floating_point or input.dtype is _BOOL:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None and (weights.ndim != 1 or weights.shape[0] != input.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    n = input.shape[0]
    size = minlength
    if n:
        if _item(F.amin(input)) < 0:
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        size = builtins.max(size, builtins.int(_item(F.amax(input))) + 1)
    from ._creation import zeros
    if weights is None:
        dt = _INT64
        vals = _expand(_scalar_tensor(1, dt), [n])
    else:
        dt = weights.dtype if weights.dtype in (DTYPES[0], DTYPES[1]) else _FLOAT64
        vals = F.cast(weights, dt)
    r = zeros(size, dtype=dt)
    idx = F.cast(input, _INT64)
    if n:
        ops.index_put(r, vals, idx, dim=0, mode=M_ADV, accumulate=True, inplace=True)
    return r


def histc(input, bins=100, min=0, max=0, *, out=None):
    _check_tensor(input, "histc")
    bins = index_int(bins)
    lo, hi = builtins.float(min), builtins.float(max)
    if input.dtype.is_floating_point and bins > 0 and lo == hi and input.numel():
        lo, hi = builtins.float(_item(F.amin(input))), builtins.float(_item(F.amax(input)))
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    return F._out(ops.histc(input, bins, lo, hi), out)


# ---------------------------------------------------------------- searching

def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None, out=None):
    _check_tensor(sorted_sequence, "searchsorted", "sorted_sequence", 1)
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError("torch.searchsorted(): side can only be 'left' or 'right' but got %s" % side)
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    scalar = not isinstance(input, TB)
    if scalar:
        if not is_scalar(input):
            raise _type_error("searchsorted", "input", 2, input)
        input = _tensor(F._pyscalar(input))
    if sorter is not None:
        if sorter.dtype is not _INT64:
            raise RuntimeError("torch.searchsorted(): sorter must be a tensor of long dtype but got dtype %s"
                               % _tname(sorter.dtype))
        if tuple(sorter.shape) != tuple(sorted_sequence.shape):
            raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same size, but got "
                               "boundary tensor %s and got sorter tensor %s"
                               % (_shape_str(sorted_sequence.shape), _shape_str(sorter.shape)))
        sorted_sequence = ops.gather(sorted_sequence, sorter, sorted_sequence.ndim - 1)
    r = ops.searchsorted(sorted_sequence, input, builtins.bool(right), builtins.bool(out_int32))
    return F._out(r, out)


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    _check_tensor(boundaries, "bucketize", "boundaries", 2)
    if boundaries.ndim != 1:
        raise RuntimeError("boundaries tensor must be 1 dimension, but got dim(%d)" % boundaries.ndim)
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)
