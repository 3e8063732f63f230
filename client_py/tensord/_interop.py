"""Dtype control and interop: promote_types, result_type, can_cast (PyTorch's promotion
lattice: the C meta layer's td_promote_types / td_result_type / td_can_cast through _C,
no daemon round trip), Tensor.data_ptr-like identity."""
import numpy as _np

from . import _C
from . import storage as _storage
from ._dtype import bool_

TB = _C.TensorBase

__all__ = ["promote_types", "result_type", "can_cast", "set_default_dtype", "from_dlpack", "is_tensor", "is_storage"]

promote_types = _C.promote_types
can_cast = _C.can_cast


def result_type(tensor1, tensor2):
    return _C.result_type(tensor1, tensor2)


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
    return _storage.is_storage(obj)


# ---------------------------------------------------------------- DLPack
# Export goes through numpy(): over the shared-memory transport that is the tensor's own
# storage mapped into this process (zero-copy; numpy builds the DLManagedTensor capsule,
# which keeps the mapping's owner alive), over gRPC a host copy.  Import copies a
# producer's memory into the daemon (only memory the daemon created can back a tensor).

kDLCPU = 1


def __dlpack__(self, stream=None):
    if stream is not None and stream != -1:
        raise RuntimeError("tensord tensors live on the CPU: stream must be None")
    if self.requires_grad:
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
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
