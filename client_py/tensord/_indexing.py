"""Basic indexing: ints, slices with positive steps, None, Ellipsis and bools become a
chain of SELECT / SLICE / UNSQUEEZE views; assignment writes through that view.
Indices with tensors, lists or arrays (advanced indexing) are _advindex's: Tensor.__getitem__
and __setitem__ send them there (_needs_advanced), and _advindex builds on the helpers here."""
import builtins

import numpy as _np

from ._C import ops
from ._records import TB, alias, copy_, fill_, is_scalar, index_int

_END = (1 << 63) - 1


def _is_int_index(x):
    if isinstance(x, (builtins.bool, _np.bool_)):
        return False
    if isinstance(x, (builtins.int, _np.integer)):
        return True
    if isinstance(x, TB):
        return x.ndim == 0 and not x.dtype.is_floating_point and x.dtype._name != "bool"
    return False


def _is_bool_index(x):
    if isinstance(x, (builtins.bool, _np.bool_)):
        return True
    return isinstance(x, TB) and x.ndim == 0 and x.dtype._name == "bool"


def _needs_advanced(idx):
    for x in (idx if isinstance(idx, tuple) else (idx,)):
        if isinstance(x, (list, range, _np.ndarray)) or (isinstance(x, TB) and x.ndim > 0):
            return True
    return False


def _consumed_dims(idx):
    """(idx with only its first Ellipsis kept, how many tensor dims its entries consume):
    None and scalar bools consume none, a bool/uint8 mask as many as it has dims."""
    consumed, n_ell = 0, 0
    for x in idx:
        if x is Ellipsis:
            n_ell += 1
        elif x is None or _is_bool_index(x):
            pass
        elif isinstance(x, TB) and x.ndim > 0 and x.dtype._name in ("bool", "uint8"):
            consumed += x.ndim
        else:
            consumed += 1
    # torch accepts several ellipses; only the first one expands
    if n_ell > 1:
        first = idx.index(Ellipsis)
        idx = tuple(x for i, x in enumerate(idx) if x is not Ellipsis or i == first)
    return idx, consumed


def _normalize(t, idx):
    if not isinstance(idx, tuple):
        idx = (idx,)
    idx, consumed = _consumed_dims(idx)
    nd = t.ndim
    if consumed > nd:
        if nd == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError("too many indices for tensor of dimension %d" % nd)
    return idx, nd - consumed


def getitem(t, idx):
    idx, fill = _normalize(t, idx)
    r, d = t, 0
    for pos, x in enumerate(idx):
        if x is Ellipsis:
            d += fill
        elif x is None:
            r = ops.unsqueeze(r, d)
            d += 1
        elif _is_bool_index(x):
            r = ops.unsqueeze(r, d)
            if not builtins.bool(x):
                r = ops.slice(r, d, 0, 0)
            d += 1
        elif isinstance(x, slice):
            step = 1 if x.step is None else index_int(x.step)
            if step == 0:
                raise ValueError("slice step cannot be zero")
            if step < 0:
                raise ValueError("step must be greater than zero")
            start = 0 if x.start is None else index_int(x.start)
            stop = _END if x.stop is None else index_int(x.stop)
            if not (start == 0 and stop == _END and step == 1):
                r = ops.slice(r, d, start, stop, step)
            d += 1
        elif _is_int_index(x):
            i, size = index_int(x), r.shape[d]
            if not -size <= i < size:
                # torch names the index's position in the subscript, not the view's dim
                raise IndexError("index %d is out of bounds for dimension %d with size %d" % (i, pos, size))
            r = ops.select(r, d, i)
        elif isinstance(x, (TB, list, _np.ndarray)):  # a 0-d float/bool tensor: not an index
            raise IndexError("tensors used as indices must be long, byte or bool tensors")
        elif isinstance(x, str):
            raise TypeError("new(): invalid data type 'str'")
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                             "are valid indices (got %s)" % type(x).__name__)
    if r is t:
        r = alias(t)
    return r


def setitem(t, idx, value):
    v = getitem(t, idx)
    if isinstance(value, TB) and value.ndim == 0 and v.ndim != 0 and value._device_index == 0:
        fill_(v, value)  # torch's copy_to fills from a 0-d CPU value (value.item(), checked) unless shapes agree
    elif isinstance(value, TB):
        # torch drops leading size-1 dims of the value (slicePrefix1sSize) before copying
        while value.ndim > v.ndim and value.shape[0] == 1:
            value = ops.select(value, 0, 0)
        if tuple(value.shape) != tuple(v.shape):
            s = list(v.shape)
            value = ops.expand(value, s)
        copy_(v, value)
    elif is_scalar(value) or type(value) is builtins.complex:  # a Python complex (torch refuses numpy's here)
        fill_(v, value)
    else:
        from ._creation import tensor
        if not isinstance(value, (list, tuple, _np.ndarray)):
            raise TypeError("can't assign a %s to a %s" % (type(value).__name__, t.type()))
        setitem(t, idx, tensor(value, dtype=t.dtype))
