"""tensor() and the conversion under it: Python data (nested sequences of numbers or
one-element tensors, numpy arrays and scalars) to a new tensor, with torch's dtype
inference and integer range checks; also what as_tensor/from_numpy and the 0-d tensors
of Python scalars inside the ops use (the C++ side of this is PyTorch's tensor_new.cpp).
Below _records: it records only the upload, and CLONE/CAST, itself."""
import builtins
import sys as _sys

import numpy as _np

from . import _C, _daemon, _known
from ._C import ops
from ._dtype import bfloat16, bool_, float32, int64, check_dtype, from_numpy_dtype, get_default_dtype, \
    default_complex
from ._size import check_device

TB = _C.TensorBase
_ensure = _daemon.ensure


def _common(dtype, device, fname):
    """Checks a factory's dtype and device; the daemon's number of the device."""
    check_dtype(dtype)
    _ensure()
    return check_device(device)


def to_device(t, dev):
    """t on device number dev: t itself when it is there, else a contiguous copy."""
    if t._device_index == dev:
        return t
    with placed(dev):
        r = ops.empty(t.dtype, list(t.shape))
    ops.copy_(r, t)
    return r


class placed:
    """with placed(dev): ops without tensor inputs create on device number dev (the
    daemon's numbering; 0: the CPU, where they create anyway), so a factory's result is
    made where it is asked for, without a copy from the host."""

    __slots__ = ("dev",)

    def __init__(self, dev):
        self.dev = dev

    def __enter__(self):
        if self.dev:
            _C.set_device(self.dev)

    def __exit__(self, *exc):
        if self.dev:
            _C.set_device(0)
        return False


def _finish(t, requires_grad, dev=0):
    """A factory's result on device number dev (moved there when it was made elsewhere),
    made a leaf that requires grad when asked."""
    if t._device_index != dev:
        t = to_device(t, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


# ---------------------------------------------------------------- tensor()

def _leaf_value(x):
    if isinstance(x, (builtins.bool, builtins.int, builtins.float, builtins.complex)):
        return x
    if isinstance(x, (_np.bool_, _np.integer, _np.floating, _np.complexfloating)):
        return x.item()
    if isinstance(x, TB):
        if x.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return x.item()
    raise RuntimeError("Could not infer dtype of %s" % type(x).__name__)


def _is_seq(x):
    return isinstance(x, (list, tuple, _np.ndarray)) or (isinstance(x, TB) and x.ndim > 0)


def _flatten(data):
    """Nested sequences -> (shape, flat list of Python scalars), torch's rules."""
    shape = []
    p = data
    while _is_seq(p):
        n = len(p)
        shape.append(n)
        if n == 0:
            break
        p = p[0]
    if isinstance(p, str):
        raise ValueError("too many dimensions 'str'")
    flat = []
    nd = len(shape)

    def rec(obj, d):
        if d == nd:
            if _is_seq(obj):
                raise TypeError("'%s' object cannot be interpreted as an integer" % type(obj).__name__)
            flat.append(_leaf_value(obj))
            return
        if not _is_seq(obj):
            raise TypeError("not a sequence")
        if isinstance(obj, _np.ndarray) or isinstance(obj, TB):
            obj = obj.tolist()
        if len(obj) != shape[d]:
            raise ValueError("expected sequence of length %d at dim %d (got %d)" % (shape[d], d, len(obj)))
        for x in obj:
            rec(x, d + 1)

    rec(data, 0)
    return shape, flat


def _natural_dtype(flat):
    kind = -1
    for v in flat:
        if type(v) is builtins.bool:
            k = 0
        elif type(v) is builtins.int:
            k = 1
        elif type(v) is builtins.complex:
            k = 3
        else:
            k = 2
        if k > kind:
            kind = k
            if k == 3:
                break
    return (get_default_dtype(), bool_, int64, get_default_dtype(), default_complex())[kind + 1]


def _upload(arr, dt):
    """numpy array -> new tensor of dtype dt (arr is converted here)."""
    _ensure()
    if dt is bfloat16:
        t = _upload(arr, float32)
        return ops.cast(t, bfloat16)
    with _np.errstate(all="ignore"):
        a = _np.array(arr, dtype=dt._np, order="C", copy=False)  # keeps 0-d (ascontiguousarray does not)
    t = _C.from_buffer(dt._index, tuple(a.shape), memoryview(a.reshape(-1).view(_np.uint8)))
    return _known.remember(t, a)  # index values and probabilities are then checked at the call


def _from_ndarray(arr, dtype):
    src = from_numpy_dtype(arr.dtype) if arr.dtype.kind != "V" else None
    return _upload(arr, dtype or src)


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    dev = _common(dtype, device, "tensor")
    if isinstance(data, TB):
        t = data.to(dtype) if dtype is not None else data
        if device is None:
            dev = t._device_index
        return _finish(ops.clone(t) if t is data else t, requires_grad, dev)
    if isinstance(data, _np.ndarray):
        with placed(dev):
            t = _from_ndarray(data, dtype)
        return _finish(t, requires_grad, dev)
    if isinstance(data, _np.generic):
        with placed(dev):
            t = _from_ndarray(_np.asarray(data), dtype)
        return _finish(t, requires_grad, dev)
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    storages = _sys.modules.get("tensord.storage")  # looked up, not imported: storage builds on this module
    if storages is not None and storages.is_storage(data):
        t = storages.tensor_from_storage(data, dtype)
        return _finish(t, requires_grad, t._device_index if device is None else dev)
    shape, flat = _flatten(data)
    dt = dtype or _natural_dtype(flat)
    has_complex = builtins.any(type(v) is builtins.complex for v in flat)
    if has_complex and not dt.is_complex:
        if dt.is_floating_point:
            raise TypeError("must be real number, not complex")
        raise TypeError("'complex' object cannot be interpreted as an integer")
    if dt.is_complex:
        arr = _np.array(flat, dtype=_np.complex128)
    elif dt.is_floating_point or (dt is not bool_ and builtins.any(type(v) is builtins.float for v in flat)):
        arr = _np.array(flat, dtype=_np.float64)
    elif dt is bool_:
        arr = _np.array([builtins.bool(v) for v in flat], dtype=_np.bool_)
    else:
        try:
            arr = _np.array(flat, dtype=_np.int64)
        except OverflowError:
            raise RuntimeError("Overflow when unpacking long") from None
        except (ValueError, TypeError):
            with _np.errstate(all="ignore"):
                arr = _np.array(flat, dtype=_np.float64).astype(_np.int64)
    if not (dt.is_floating_point or dt.is_complex) and dt is not bool_ and arr.size:
        _check_int_range(arr, dt)
    with placed(dev):
        t = _upload(arr.reshape(shape), dt)
    return _finish(t, requires_grad, dev)


_INT_RANGE = {"int64": (-(1 << 63), (1 << 63) - 1), "int32": (-(1 << 31), (1 << 31) - 1),
              "int16": (-(1 << 15), (1 << 15) - 1), "int8": (-128, 127), "uint8": (-255, 255)}


def _check_int_range(arr, dt):
    """torch.tensor(data, dtype=<int>) refuses values that overflow (uint8 wraps negatives)."""
    lo, hi = _INT_RANGE[dt._name]
    if arr.dtype.kind == "f":
        bad = _np.isnan(arr).any() or arr.max() > hi or arr.min() < lo
    else:
        bad = int(arr.max()) > hi or int(arr.min()) < lo
    if bad:
        raise RuntimeError("value cannot be converted to type %s without overflow" % dt._name)
