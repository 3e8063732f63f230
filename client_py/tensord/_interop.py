"""Dtype control and interop: promote_types, result_type, can_cast (PyTorch's
promotion lattice, the same rule as td_promote_types / td__result_type in C, written
out here so no daemon round trip is needed), Tensor.data_ptr-like identity."""
import builtins

import numpy as _np

from . import _C
from ._dtype import DTYPES, bool_, float16, bfloat16, float32, get_default_dtype, int64, \
    uint8, default_complex, can_cast, check_dtype_arg as _check

TB = _C.TensorBase

__all__ = ["promote_types", "result_type", "can_cast", "set_default_dtype", "from_dlpack", "is_tensor", "is_storage"]

_KIND = {d: (0 if d is bool_ else 3 if d.is_complex else 2 if d.is_floating_point else 1) for d in DTYPES}


def _promote(a, b):
    if a is b:
        return a
    ka, kb = _KIND[a], _KIND[b]
    if ka == 3 or kb == 3:  # the complex type whose real part holds both
        return _promote(a.to_real(), b.to_real()).to_complex()
    if ka != kb:
        return a if ka > kb else b
    if ka == 2:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize > b.itemsize else b
    # integers: uint8 with a signed type needs a wider signed type
    if a is uint8 or b is uint8:
        other = b if a is uint8 else a
        return DTYPES[6] if other.itemsize == 1 else other  # int16 for int8
    return a if a.itemsize > b.itemsize else b


def promote_types(type1, type2):
    _check(type1, "promote_types", "type1", 1)
    _check(type2, "promote_types", "type2", 2)
    return _promote(type1, type2)


def _scalar_dtype(v):
    if isinstance(v, (builtins.bool, _np.bool_)):
        return bool_
    if isinstance(v, (builtins.int, _np.integer)):
        return int64
    if isinstance(v, (builtins.float, _np.floating)):
        return get_default_dtype()
    if isinstance(v, (builtins.complex, _np.complexfloating)):
        return default_complex()
    raise TypeError("result_type(): argument must be Tensor or Number, not %s" % type(v).__name__)


def result_type(tensor1, tensor2):
    """PyTorch's tiers: dimensioned tensors, then 0-d tensors, then Python scalars; a lower
    tier only counts when its kind (bool < int < float < complex) is higher; a complex lower
    tier keeps a float higher tier's precision (float32 tensor + 1j -> complex64)."""
    tiers = [None, None, None]
    for v in (tensor1, tensor2):
        if isinstance(v, TB):
            t = 0 if v.ndim else 1
            d = v.dtype
        else:
            t, d = 2, _scalar_dtype(v)
        tiers[t] = d if tiers[t] is None else _promote(tiers[t], d)
    r = None
    for d in tiers:
        if d is None:
            continue
        if r is None:
            r = d
        elif _KIND[d] == 3 and _KIND[r] == 2:
            r = r.to_complex()
        elif _KIND[d] > _KIND[r]:
            r = _promote(r, d)
    return r


def set_default_dtype(d):
    """Also tells the session (libtensord and the daemon), so scalar promotion and
    integer-to-float ops (int_tensor * 2.5, int_tensor / 2, exp(int_tensor)) follow it."""
    from . import _daemon
    from . import _dtype
    _dtype.set_default_dtype(d)
    _daemon.ensure()
    _C.set_default_float(d._index)


def data_ptr(self):
    """An address-like identity: equal for views starting at the same element of one storage.
    Not a host address (the data lives in the daemon)."""
    key = getattr(self, "_storage_key", None)
    if key is None:
        raise NotImplementedError("data_ptr() needs the extension's _storage_key")
    return (key << 44) + self._offset * self.element_size()


def is_tensor(obj):
    return isinstance(obj, TB)


def is_storage(obj):
    return False


# ---------------------------------------------------------------- DLPack
# The elements live in the daemon, so export hands out a host copy (numpy builds the
# DLManagedTensor capsule and owns its memory) and import copies into the daemon.  Both
# become zero-copy once CPU storage is mapped into clients (shared-memory transport).

kDLCPU = 1


def __dlpack__(self, stream=None):
    if stream is not None and stream != -1:
        raise RuntimeError("tensord tensors live on the CPU: stream must be None")
    if self.dtype is bool_:
        raise BufferError("DLPack export of bool tensors is not supported")
    return self.numpy().__dlpack__()


def __dlpack_device__(self):
    return (kDLCPU, 0)


class _Capsule:
    """Wraps a bare DLPack capsule (the legacy protocol) for np.from_dlpack."""

    def __init__(self, cap):
        self.cap = cap

    def __dlpack__(self, stream=None):
        return self.cap

    def __dlpack_device__(self):
        return (kDLCPU, 0)


def from_dlpack(ext_tensor):
    """A tensord tensor with a copy of a DLPack producer's CPU data (numpy, torch, ...)."""
    if isinstance(ext_tensor, TB):
        return ext_tensor
    if not hasattr(ext_tensor, "__dlpack__"):
        if type(ext_tensor).__name__ != "PyCapsule":
            raise TypeError("from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got %s"
                            % type(ext_tensor).__name__)
        ext_tensor = _Capsule(ext_tensor)
    dev = ext_tensor.__dlpack_device__()
    if int(dev[0]) != kDLCPU:
        raise RuntimeError("from_dlpack: tensord only imports CPU tensors (device type %d)" % int(dev[0]))
    from ._creation import tensor
    return tensor(_np.from_dlpack(ext_tensor))
