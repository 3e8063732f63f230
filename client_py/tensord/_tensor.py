"""tensord.Tensor: the Python subclass of the C type _C.TensorBase, and the one place its
methods are declared: those written here (metadata, conversions, operators, in-place
metadata changes), then the functions of the other modules that are also methods, in a
table at the end of the class body grouped as PyTorch's docs group them.  No other module
sets attributes on Tensor; the function modules only know _C.TensorBase."""
import builtins

import numpy as _np

from . import _C
from ._C import ops
from . import _op_numbers as O
from . import _records as F
from . import _advindex, _complex, _distance, _grad_mode, _indexing, _interop, _linalg, _linalg_householder, \
    _linalg_lu, _linalg_utils, _math, _pointwise, _printing, _random, _records, _scatter, _shape, _special, \
    _statistics, _tensor_utils, _view_copies
from . import _layout, _spectral
from . import storage as _storage
from ._dtype import DTYPES, bfloat16, bool_, complex64, complex128, float16, float32, float64, int8, int16, \
    int32, int64, uint8, dtype as _dtype_cls, get_default_dtype
from ._size import CPU, as_device as _as_device, check_device, device as _device_cls, device_of
from ._tensor_new import to_device as _to_device

TB = _C.TensorBase


def _host_array(t, allow_bf16=True):
    """The elements as a numpy array (a copy); f16 stays f16, bf16 becomes float32."""
    dt = t.dtype
    if dt is bfloat16:
        if not allow_bf16:
            raise TypeError("Got unsupported ScalarType BFloat16")
        t = F.cast(t, float32)
        dt = float32
    b = _C.to_bytes(t)
    return _np.frombuffer(b, dtype=dt._np).reshape(tuple(t.shape))


def _numpy_view(t):
    """t's elements as a numpy array over its storage, mapped into this process (zero-copy,
    writable, shared both ways as torch's numpy()), or None when the storage cannot be
    mapped here (a remote daemon, the gRPC transport).  The array keeps t's storage alive;
    while it lives, ops on that storage finish before they return (libtensord's
    td_storage_map), so reading or writing the array never races the daemon."""
    if t.numel() == 0 or t._device_index:
        return None
    sv = _C.storage_view(t)
    if sv is None:
        return None
    npdt = _np.dtype(t.dtype._np)
    item = npdt.itemsize
    raw = _np.frombuffer(sv, dtype=_np.uint8)
    start = t.storage_offset() * item
    usable = (raw.size - start) // item * item
    elems = raw[start:start + usable].view(npdt)
    return _np.lib.stride_tricks.as_strided(elems, shape=tuple(t.shape), strides=[s * item for s in t.stride()],
                                            writeable=True)


def _print_array(t):
    a = _host_array(t)
    if a.dtype == _np.float16:
        a = a.astype(_np.float32)
    return a


_TYPE_NAMES = {float32: "FloatTensor", float64: "DoubleTensor", float16: "HalfTensor", bfloat16: "BFloat16Tensor",
               int64: "LongTensor", int32: "IntTensor", int16: "ShortTensor", int8: "CharTensor",
               uint8: "ByteTensor", bool_: "BoolTensor"}


class _method_pos:
    """Tensor.add(x) reports `other` as position 1 where torch.add(t, x) says position 2."""

    def __enter__(self):
        return self

    def __exit__(self, et, e, tb):
        if et is TypeError and "(position 2)" in str(e):
            raise TypeError(str(e).replace("(position 2)", "(position 1)")) from None
        return False


_contiguous_strides = _C.contiguous_strides  # the meta layer's (td_meta_contiguous)


def _legacy_new(dt, args, device):
    """torch.Tensor(...) and the legacy constructors (FloatTensor, ...) as torch 1.13:
    no argument: an empty 1-d tensor; ints or a torch.Size: uninitialized of that shape;
    a tensor: that tensor (an alias; a legacy type checks its dtype); a storage: a 1-d
    view of all of it; data: a copy."""
    from ._creation import empty, tensor
    from ._size import Size
    check_device(device)
    want = dt or get_default_dtype()
    if not args:
        return empty(0, dtype=want)
    if len(args) == 1 and isinstance(args[0], TB):
        if dt is not None and args[0].dtype is not dt:
            raise TypeError("expected %s (got %s)" % (dt, args[0].dtype))
        return F.alias(args[0])
    if len(args) == 1 and _storage.is_storage(args[0]):
        return F.alias(_storage.tensor_over(args[0], want, "new"))
    if builtins.all(isinstance(a, builtins.int) and not isinstance(a, builtins.bool) for a in args) or \
            (len(args) == 1 and isinstance(args[0], Size)):
        sizes = tuple(args[0]) if isinstance(args[0], Size) else args
        for s in sizes:
            if s < 0:
                raise RuntimeError("Trying to create tensor with negative dimension %d: %s" % (s, list(sizes)))
        return empty(sizes, dtype=want)
    if len(args) == 1:
        data = args[0]
        if isinstance(data, (builtins.str, builtins.bytes)):
            raise TypeError("new(): invalid data type '%s'" % type(data).__name__)
        if isinstance(data, (builtins.float, builtins.complex, builtins.bool)) or not hasattr(data, "__len__"):
            raise TypeError("new(): data must be a sequence (got %s)" % type(data).__name__)
        return tensor(data, dtype=want)
    raise TypeError("new() received an invalid combination of arguments - got (%s)"
                    % ", ".join(type(a).__name__ for a in args))


class Tensor(TB):
    """A tensor living in the tensord daemon.

    Tensor(...) constructs as torch 1.13's torch.Tensor (see _legacy_new); tensors
    are otherwise made by tensord's functions (tensor, zeros, ...)."""

    __slots__ = ()

    def __new__(cls, *args, device=None):
        return _legacy_new(None, args, device)
    __array_priority__ = 1000
    is_cpu = property(lambda self: self._device_index == 0)
    is_cuda = property(lambda self: self._device_index != 0)
    is_sparse = False
    is_quantized = False
    # other backends and layouts torch knows: never a tensord tensor
    is_mkldnn = is_mps = is_ipu = is_xpu = is_vulkan = is_ort = is_nested = is_sparse_csr = False

    def is_distributed(self):
        return False

    def to_dense(self, dtype=None):
        """A strided tensor is dense already: itself (or a cast copy with dtype)."""
        return self if dtype is None else self.to(dtype)

    def as_subclass(self, cls):
        """This tensor as an instance of cls (a Tensor subclass): an alias of it (the same
        storage; in grad mode a view whose node torch names AliasBackward0), as torch's."""
        if not (isinstance(cls, type) and issubclass(cls, Tensor)):
            raise RuntimeError("Creating a Tensor subclass from a class that does not inherit from Tensor is not "
                               "possible. Make sure your class inherits from Tensor.")
        alias = self
        if self.requires_grad and _grad_mode.is_grad_enabled():
            alias = self.view_as(self)
            _C._name_grad_fn(alias, "AliasBackward0")
        return _C._make_subclass(cls, alias, False, True)

    def to_sparse(self, sparse_dim=None):
        """Its nonzero entries as a sparse COO tensor (tensord.sparse)."""
        from .sparse.coo import to_sparse
        return to_sparse(self, sparse_dim)

    to_sparse_coo = to_sparse

    def _compressed_layout(self, *args, **kwargs):
        raise NotImplementedError("tensord has sparse COO tensors only (to_sparse()); the compressed layouts "
                                  "(CSR, CSC, BSR, BSC) are not supported")

    to_sparse_csr = to_sparse_csc = to_sparse_bsr = to_sparse_bsc = _compressed_layout

    def resize(self, *sizes):
        """The deprecated non-in-place resize: a copy resized with resize_."""
        import warnings
        warnings.warn("non-inplace resize is deprecated")
        return F.clone(self).resize_(*sizes)

    def prelu(self, weight):
        from .nn.functional import prelu
        return prelu(self, weight)
    is_meta = False

    __hash__ = object.__hash__

    # ---- metadata
    @property
    def device(self):
        return device_of(self._device_index)

    @property
    def data(self):
        return F.detach(self)

    @data.setter
    def data(self, new):
        self._set_data(new)

    @property
    def T(self):
        if self.ndim == 2:  # torch 1.13's T is a permute of every dim
            return F.torch_node(F.t(self), "PermuteBackward0")
        if self.ndim < 2:
            return F.t(self)
        return F.permute(self, list(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self):
        if self.ndim == 1:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
        return F.transpose(self, -2, -1) if self.ndim else F.alias(self)

    @property
    def layout(self):
        return _layout.strided

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    def detach(self):
        return F.detach(self)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Computes the gradient of this tensor with respect to the graph's leaves (autograd/ in C)."""
        from . import autograd
        autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook):
        """hook(grad) -> None or a replacement gradient, called when this tensor's gradient is computed."""
        from .utils.hooks import _TensorHookHandle
        return _TensorHookHandle(self, self._register_hook(hook))

    def nelement(self):
        return self.numel()

    def ndimension(self):
        return self.ndim

    def get_device(self):
        return self._device_index - 1

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def is_complex(self):
        return self.dtype.is_complex

    # ---- conversions
    def item(self):
        n = self.numel()
        if n != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return _host_array(self).reshape(-1)[0].item()

    def tolist(self):
        return _host_array(self).tolist()

    def numpy(self, *, force=False):
        if self._device_index and not force:
            raise TypeError("can't convert %s device type tensor to numpy. Use Tensor.cpu() to copy the tensor to "
                            "host memory first." % self.device)
        if not force and self.requires_grad and _C.is_grad_enabled():
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.dtype is bfloat16:
            raise TypeError("Got unsupported ScalarType BFloat16")
        a = None if force else _numpy_view(self)
        return a if a is not None else _host_array(self, allow_bf16=False).copy()

    def __array__(self, dtype=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def _scalar_value(self, what):
        if self.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __bool__(self):
        n = self.numel()
        if n == 0:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
        if n > 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return builtins.bool(self.item())

    def _real_value(self, ctype):
        if self.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        v = self.item()
        if isinstance(v, builtins.complex):
            if v.imag != 0:
                raise RuntimeError("value cannot be converted to type %s without overflow" % ctype)
            v = v.real
        return v

    def __int__(self):
        return builtins.int(self._real_value("int64_t"))

    def __float__(self):
        return builtins.float(self._real_value("double"))

    def __complex__(self):
        return complex(self._scalar_value("complex"))

    def __index__(self):
        if self.numel() != 1 or self.dtype.is_floating_point or self.dtype.is_complex or self.dtype is bool_:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return builtins.int(self.item())

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (F.select(self, 0, i) for i in range(self.shape[0]))

    def __contains__(self, element):
        if isinstance(element, TB) or F.is_scalar(element):
            return builtins.bool(F.any(F.eq(self, element)).item())
        raise RuntimeError("Tensor.__contains__ only supports Tensor or scalar, but you passed in a %s."
                           % type(element))

    def __repr__(self, *, tensor_contents=None):
        return _printing.tensor_repr(self, _print_array, get_default_dtype())

    __str__ = __repr__

    def __format__(self, spec):
        if self.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, proto):
        # the values (numpy bytes), the dtype and requires_grad: unpickled as a leaf, as torch's
        data = self.detach()
        return (_rebuild, (data.numpy() if self.dtype is not bfloat16 else F.cast(data, float32).numpy(),
                           self.dtype._name, self.requires_grad))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment")
        if id(self) in memo:
            return memo[id(self)]
        r = F.detach(F.clone(self)) if self.requires_grad else F.clone(self)
        if self.requires_grad:
            r.requires_grad_(True)
        memo[id(self)] = r
        return r

    # ---- dtype / device conversions
    def to(self, *args, **kwargs):
        dt = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        fmt = kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError("to() got an unexpected keyword argument '%s'" % next(iter(kwargs)))
        for a in args:
            if isinstance(a, _dtype_cls):
                dt = a
            elif isinstance(a, (str, _device_cls, builtins.int)) and not isinstance(a, builtins.bool):
                dev = a
            elif isinstance(a, TB):
                dt, dev = a.dtype, a.device  # to(other): other's dtype and device
            elif isinstance(a, builtins.bool):
                pass  # non_blocking / copy positional flags
            else:
                raise TypeError("to() received an invalid combination of arguments - got (%s)" % type(a).__name__)
        n = self._device_index if dev is None else check_device(dev)
        r = self if dt is None else F.cast(self, dt)
        if n != r._device_index:
            r = _to_device(r, n)
        elif copy and r is self:
            r = F.clone(self)
        if fmt is not None:
            r = _layout.restrided(r, fmt)
        return r

    def record_stream(self, stream):
        """The tensor's device memory is also used by work queued on stream: once freed, it
        is reused only after that work (torch.Tensor.record_stream)."""
        from .cuda.streams import record_stream
        record_stream(self, stream)

    def cpu(self, memory_format=None):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        if device is None:
            device = "cuda"
        elif isinstance(device, builtins.int) and not isinstance(device, builtins.bool):
            device = _device_cls("cuda", device)
        elif _as_device(device).type != "cuda":
            raise RuntimeError("Invalid device, must be cuda device")
        return self.to(device)

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return "torch." + _TYPE_NAMES[self.dtype]
        if isinstance(dtype, _LegacyType):
            dtype = dtype.dtype
        if isinstance(dtype, str):
            for d, n in _TYPE_NAMES.items():
                if dtype in ("torch." + n, n):
                    return F.cast(self, d)
            raise ValueError("invalid type: '%s'" % dtype)
        return F.cast(self, dtype)

    def type_as(self, other):
        return F.cast(self, other.dtype)

    def float(self):
        return F.cast(self, float32)

    def double(self):
        return F.cast(self, float64)

    def half(self):
        return F.cast(self, float16)

    def bfloat16(self):
        return F.cast(self, bfloat16)

    def long(self):
        return F.cast(self, int64)

    def int(self):
        return F.cast(self, int32)

    def short(self):
        return F.cast(self, int16)

    def char(self):
        return F.cast(self, int8)

    def byte(self):
        return F.cast(self, uint8)

    def bool(self):
        return F.cast(self, bool_)

    # ---- indexing
    def __getitem__(self, idx):
        if type(idx) is int and self.ndim:  # x[i] (datasets, loops): one SELECT, torch's IndexError from C
            return ops.select(self, 0, idx)
        if _indexing._needs_advanced(idx):
            return _advindex.adv_getitem(self, idx)
        return _indexing.getitem(self, idx)

    def __setitem__(self, idx, value):
        if _indexing._needs_advanced(idx):
            return _advindex.adv_setitem(self, idx, value)
        _indexing.setitem(self, idx, value)

    # ---- operators not in C slots
    def __floordiv__(self, other):
        if not (isinstance(other, TB) or F.is_scalar(other)):
            return NotImplemented
        return F.floor_divide(self, other)

    def __rfloordiv__(self, other):
        if not F.is_scalar(other):
            return NotImplemented
        return F.binary(ops.div, other, self, "floor_divide", scalar_lhs_ok=True, rounding_mode="floor")

    def __ifloordiv__(self, other):
        return F.binary(ops.div, self, other, "floor_divide_", inplace=True, rounding_mode="floor")

    def __mod__(self, other):
        if not (isinstance(other, TB) or F.is_scalar(other)):
            return NotImplemented
        return F.remainder(self, other)

    def __rmod__(self, other):
        if not F.is_scalar(other):
            return NotImplemented
        return F.binary(ops.remainder, other, self, "remainder", scalar_lhs_ok=True)

    def __imod__(self, other):
        return F.binary(ops.remainder, self, other, "remainder_", inplace=True)

    def __pow__(self, other, mod=None):
        if not (isinstance(other, TB) or F.is_scalar(other)):
            return NotImplemented
        return F.pow(self, other)

    def __rpow__(self, other):
        if not F.is_scalar(other):
            return NotImplemented
        return F.binary(ops.pow, other, self, "pow", scalar_lhs_ok=True)

    def __ipow__(self, other):
        return F.binary(ops.pow, self, other, "pow_", inplace=True)

    def _bitop(self, entry, other, name, lhs=False, inplace=False):
        if not (isinstance(other, TB) or F.is_scalar(other)):
            return NotImplemented
        if lhs:
            return F.binary(entry, other, self, name, scalar_lhs_ok=True)
        return F.binary(entry, self, other, name, inplace=inplace)

    def __and__(self, o): return self._bitop(ops.bitwise_and, o, "bitwise_and")
    def __rand__(self, o): return self._bitop(ops.bitwise_and, o, "bitwise_and", lhs=True)
    def __iand__(self, o): return self._bitop(ops.bitwise_and, o, "bitwise_and_", inplace=True)
    def __or__(self, o): return self._bitop(ops.bitwise_or, o, "bitwise_or")
    def __ror__(self, o): return self._bitop(ops.bitwise_or, o, "bitwise_or", lhs=True)
    def __ior__(self, o): return self._bitop(ops.bitwise_or, o, "bitwise_or_", inplace=True)
    def __xor__(self, o): return self._bitop(ops.bitwise_xor, o, "bitwise_xor")
    def __rxor__(self, o): return self._bitop(ops.bitwise_xor, o, "bitwise_xor", lhs=True)
    def __ixor__(self, o): return self._bitop(ops.bitwise_xor, o, "bitwise_xor_", inplace=True)
    def __lshift__(self, o): return self._bitop(ops.lshift, o, "__lshift__")
    def __rlshift__(self, o): return self._bitop(ops.lshift, o, "__rlshift__", lhs=True)
    def __ilshift__(self, o): return self._bitop(ops.lshift, o, "__ilshift__", inplace=True)
    def __rshift__(self, o): return self._bitop(ops.rshift, o, "__rshift__")
    def __rrshift__(self, o): return self._bitop(ops.rshift, o, "__rrshift__", lhs=True)
    def __irshift__(self, o): return self._bitop(ops.rshift, o, "__irshift__", inplace=True)

    def __invert__(self):
        if self.dtype.is_floating_point:
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return F.bitwise_not(self)

    def __abs__(self):
        return F.abs(self)

    def __pos__(self):
        return self

    # ---- methods with torch's method signatures
    def add(self, other, *, alpha=1):
        with _method_pos():
            return F.add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        with _method_pos():
            return F.sub(self, other, alpha=alpha)

    def mul(self, other):
        with _method_pos():
            return F.mul(self, other)

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        with _method_pos():
            return F.div(self, other, rounding_mode=rounding_mode)

    subtract = sub

    def add_(self, other, *, alpha=1):
        return F.add_(self, other, alpha=alpha)

    def sub_(self, other, *, alpha=1):
        return F.sub_(self, other, alpha=alpha)

    subtract_ = sub_

    divide = div

    def div_(self, other, *, rounding_mode=None):
        return F.div_(self, other, rounding_mode=rounding_mode)

    divide_ = div_

    def clamp(self, min=None, max=None):
        return F.clamp(self, min, max)

    clip = clamp

    def clamp_(self, min=None, max=None):
        return F.clamp_(self, min, max)

    clip_ = clamp_

    def clamp_min(self, min):
        return F.clamp(self, min=min)

    def clamp_max(self, max):
        return F.clamp(self, max=max)

    def where(self, condition, y):
        return _advindex.where(condition, self, y)

    def sum(self, dim=None, keepdim=False, *, dtype=None):
        return F.sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim=False, *, dtype=None):
        return F.mean(self, dim, keepdim, dtype=dtype)

    sum = _C.fast(O.SUM, sum)
    mean = _C.fast(O.MEAN, mean)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        return F.prod(self, dim, keepdim, dtype=dtype)

    def amax(self, dim=(), keepdim=False):
        return F.amax(self, dim, keepdim)

    def amin(self, dim=(), keepdim=False):
        return F.amin(self, dim, keepdim)

    def max(self, dim=None, keepdim=False):
        return F.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return F.min(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return F.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return F.argmin(self, dim, keepdim)

    def all(self, dim=None, keepdim=False):
        return F.all(self, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        return F.any(self, dim, keepdim)

    def view(self, *shape):
        return F.view(self, *shape)

    def view_as(self, other):
        return F.view(self, tuple(other.shape))

    def reshape(self, *shape):
        return F.reshape(self, *shape)

    def reshape_as(self, other):
        return F.reshape(self, tuple(other.shape))

    def permute(self, *dims):
        return F.permute(self, *dims)

    def expand(self, *sizes):
        return F.expand(self, *sizes)

    def repeat(self, *sizes):
        s = F.sizes_arg(sizes, "repeat", "repeats")
        if len(s) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                               "dimensions of tensor")
        x = self.reshape([1] * (len(s) - self.ndim) + list(self.shape))
        inter, final = [], []
        for r, n in zip(s, x.shape):
            inter += [r, n]
            final.append(r * n)
        y = x.reshape([v for n in x.shape for v in (1, n)]).expand(*inter)
        r = F.reshape(y, final)
        if r._storage_key == self._storage_key:  # a new tensor, as torch's
            r = F.clone(r)
        return F.torch_node(r, "RepeatBackward0")

    def squeeze(self, dim=None):
        return F.squeeze(self, dim)

    # In-place metadata changes: build the new view (or storage), then rebind this object
    # to it; other views of the old storage keep what they had, as in PyTorch.
    def _rebind(self, new):
        _C.swap(self, new)
        return self

    def squeeze_(self, dim=None):
        return self._rebind(F.squeeze(self, dim))

    def unsqueeze_(self, dim):
        return self._rebind(F.unsqueeze(self, dim))

    def t_(self):
        return self._rebind(F.t(self))

    def transpose_(self, dim0, dim1):
        return self._rebind(F.transpose(self, dim0, dim1))

    swapaxes_ = swapdims_ = transpose_

    def as_strided_(self, size, stride, storage_offset=None):
        return self._rebind(F.as_strided(self, size, stride, storage_offset))

    def resize_(self, *sizes, memory_format=None):
        """Contiguous with the new sizes from the same storage offset; the storage grows
        (old elements kept, the rest uninitialized) when it is too small."""
        s = list(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else list(sizes)
        s = [F.index_int(v) for v in s]
        if builtins.any(n < 0 for n in s):
            raise RuntimeError("numel: integer multiplication overflow")  # torch's words
        strides, n = _contiguous_strides(s), 1
        for v in s:
            n *= v
        have = self._storage_nbytes // self.element_size()
        if self._offset + n <= have:
            return self._rebind(F.as_strided(self, s, strides, self._offset))
        grown = ops.empty(self.dtype, [self._offset + n])
        if have:
            F.copy_(F.as_strided(grown, [have], [1], 0), F.as_strided(self, [have], [1], 0))
        return self._rebind(F.as_strided(grown, s, strides, self._offset))

    def resize_as_(self, the_template, memory_format=None):
        return self.resize_(tuple(the_template.shape))

    def set_(self, source=None, storage_offset=None, size=None, stride=None):
        """set_() empties the tensor; set_(t) makes it a view of all of t; set_(storage) a
        1-d view of all of the storage; with offset, size and stride it views t's storage
        (or the storage) from there.  The tensor keeps its own autograd state (a leaf stays
        a leaf), as torch's."""
        if _storage.is_storage(source):
            if (storage_offset is None) != (size is None):
                got = ["torch.storage." + type(source).__name__]
                got += [type(storage_offset).__name__] if storage_offset is not None else ["size=" + type(size).__name__]
                raise TypeError(_SET_ARGS_ERROR % ", ".join(got))
            source = _storage.tensor_over(source, self.dtype, "set_")
            if size is None:
                size, stride, storage_offset = tuple(source.shape), (1,), 0
            storage_offset = source._offset + storage_offset
            if stride is None:
                stride = _contiguous_strides(F.sizes_arg((size,), "set_"))
        elif source is not None and not isinstance(source, _C.TensorBase):
            raise TypeError("set_(): argument 'source' must be Tensor, not %s" % type(source).__name__)
        if source is not None and source.dtype is not self.dtype:
            raise RuntimeError("Could not set tensor of type %s to a tensor of type %s"
                               % (source.dtype._torch_name, self.dtype._torch_name))
        if self.requires_grad and self.is_leaf and _C.is_grad_enabled():
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if source is None:
            view = ops.empty(self.dtype, [0])
        elif size is None:
            view = F.as_strided(source, tuple(source.shape), source._strides, source._offset)
        else:
            size = F.sizes_arg((size,), "set_")
            if builtins.any(n < 0 for n in size):
                raise RuntimeError("numel: integer multiplication overflow")  # torch's words
            if stride is None:
                stride = _contiguous_strides(size)
            if len(stride) != len(size):
                raise RuntimeError("unequal size length (%d) and stride length (%d)" % (len(size), len(stride)))
            if storage_offset is not None and storage_offset < 0:
                raise RuntimeError("Tensor: invalid storage offset %d" % storage_offset)
            view = F.as_strided(source, size, list(stride), 0 if storage_offset is None else storage_offset)
        self._set_data(F.detach(view))
        return self

    def storage(self):
        """The storage self views (a TypedStorage over all of it, from element 0)."""
        return _storage.TypedStorage._of(self)

    def storage_type(self):
        return _storage.legacy_class(self.dtype)

    def contiguous(self, memory_format=None):
        if memory_format is None:
            return F.contiguous(self)
        return _layout.contiguous_in(self, memory_format)

    def is_contiguous(self, memory_format=None):
        if memory_format is None or memory_format is _layout.contiguous_format:
            return TB.is_contiguous(self)
        return _layout.is_dense_in(self, memory_format)

    def copy_(self, src, non_blocking=False):
        return F.copy_(self, src)

    def fill_(self, value):
        return F.fill_(self, value)

    def zero_(self):
        return F.zero_(self)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        from ._creation import tensor
        return tensor(data, dtype=dtype or self.dtype, device=self.device if device is None else device,
                      requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        from ._creation import empty
        return empty(*size, dtype=dtype or self.dtype, device=self.device if device is None else device,
                     requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from ._creation import zeros
        return zeros(*size, dtype=dtype or self.dtype, device=self.device if device is None else device,
                     requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from ._creation import ones
        return ones(*size, dtype=dtype or self.dtype, device=self.device if device is None else device,
                    requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        from ._creation import full
        return full(size, fill_value, dtype=dtype or self.dtype, device=self.device if device is None else device,
                    requires_grad=requires_grad)

    # ================================================================ methods defined with the functions
    # The methods below are the module-level functions (self as their first argument), declared
    # here so that this class body is the one place Tensor gets its methods from; grouped as
    # PyTorch's docs group the functions, sorted by name within a group.

    # ---- Tensor attributes, predicates and conversions
    __dlpack__ = _interop.__dlpack__
    __dlpack_device__ = _interop.__dlpack_device__
    cdouble = _complex.cdouble
    cfloat = _complex.cfloat
    data_ptr = _interop.data_ptr
    detach_ = _view_copies.detach_
    imag = property(_complex.imag)
    is_conj = _complex.is_conj
    is_inference = _grad_mode.is_inference
    is_neg = _grad_mode.is_neg
    is_nonzero = _pointwise.is_nonzero
    is_same_size = _pointwise.is_same_size
    is_shared = _tensor_utils.is_shared
    apply_ = _tensor_utils.apply_
    map_ = _tensor_utils.map_
    map2_ = _tensor_utils.map2_
    is_set_to = _tensor_utils.is_set_to
    pin_memory = _tensor_utils.pin_memory
    is_pinned = _tensor_utils.is_pinned
    is_signed = _pointwise.is_signed
    new = _tensor_utils.new
    new_empty_strided = _view_copies.new_empty_strided
    real = property(_complex.real)
    resolve_conj = _complex.resolve_conj
    resolve_neg = _complex.resolve_neg
    share_memory_ = _tensor_utils.share_memory_

    # ---- Indexing, slicing, joining, mutating
    adjoint = _view_copies.adjoint
    argwhere = _advindex.argwhere
    as_strided = _records.as_strided
    as_strided_scatter = _scatter.as_strided_scatter
    broadcast_to = _shape.broadcast_to
    chunk = _shape.chunk
    clone = _records.clone
    diagonal_scatter = _scatter.diagonal_scatter
    dsplit = _shape.dsplit
    expand_as = _records.expand_as
    fill_diagonal_ = _scatter.fill_diagonal_
    flatten = _records.flatten
    gather = _advindex.gather
    H = property(_view_copies._H)
    hsplit = _shape.hsplit
    index_add = _advindex.index_add
    index_add_ = _advindex.index_add_
    index_copy = _advindex.index_copy
    index_copy_ = _advindex.index_copy_
    index_fill = _advindex.index_fill
    index_fill_ = _advindex.index_fill_
    index_put = _advindex.index_put
    index_put_ = _advindex.index_put_
    index_reduce = _scatter.index_reduce
    index_reduce_ = _scatter.index_reduce_
    index_select = _advindex.index_select
    masked_fill = _advindex.masked_fill
    masked_fill_ = _advindex.masked_fill_
    masked_scatter = _advindex.masked_scatter
    masked_scatter_ = _advindex.masked_scatter_
    masked_select = _advindex.masked_select
    mH = property(_view_copies._mH)
    moveaxis = _shape.moveaxis
    movedim = _shape.movedim
    narrow = _records.narrow
    narrow_copy = _shape.narrow_copy
    nonzero = _advindex.nonzero
    put = _advindex.put
    put_ = _advindex.put_
    ravel = _shape.ravel
    scatter = _advindex.scatter
    scatter_ = _advindex.scatter_
    scatter_add = _advindex.scatter_add
    scatter_add_ = _advindex.scatter_add_
    scatter_reduce = _scatter.scatter_reduce
    scatter_reduce_ = _scatter.scatter_reduce_
    select = _records.select
    select_scatter = _scatter.select_scatter
    slice_scatter = _scatter.slice_scatter
    split = _shape.split
    split_with_sizes = _tensor_utils.split_with_sizes
    swapaxes = _records.swapaxes
    swapdims = _records.swapdims
    t = _records.t
    take = _advindex.take
    take_along_dim = _advindex.take_along_dim
    tensor_split = _shape.tensor_split
    tile = _shape.tile
    transpose = _records.transpose
    unbind = _shape.unbind
    unflatten = _shape.unflatten
    unfold = _shape.unfold
    unsafe_chunk = _view_copies.unsafe_chunk
    unsafe_split = _view_copies.unsafe_split
    unsafe_split_with_sizes = _view_copies.unsafe_split_with_sizes
    unsqueeze = _records.unsqueeze
    vsplit = _shape.vsplit

    # ---- Random sampling (in place)
    bernoulli = _random.bernoulli
    bernoulli_ = _random.bernoulli_
    cauchy_ = _random.cauchy_
    exponential_ = _random.exponential_
    geometric_ = _random.geometric_
    log_normal_ = _random.log_normal_
    multinomial = _random.multinomial
    normal_ = _random.normal_
    random_ = _random.random_
    uniform_ = _random.uniform_

    # ---- Pointwise ops
    abs = _records.abs
    abs_ = _records.abs_
    absolute = _records.absolute
    absolute_ = _records.absolute_
    acos = _math.acos
    acos_ = _math.acos_
    acosh = _math.acosh
    acosh_ = _math.acosh_
    addcdiv = _math.addcdiv
    addcdiv_ = _math.addcdiv_
    addcmul = _math.addcmul
    addcmul_ = _math.addcmul_
    angle = _complex.angle
    arccos = _math.arccos
    arccos_ = _math.arccos_
    arccosh = _math.arccosh
    arccosh_ = _math.arccosh_
    arcsin = _math.arcsin
    arcsin_ = _math.arcsin_
    arcsinh = _math.arcsinh
    arcsinh_ = _math.arcsinh_
    arctan = _math.arctan
    arctan_ = _math.arctan_
    arctan2 = _math.arctan2
    arctan2_ = _math.arctan2_
    arctanh = _math.arctanh
    arctanh_ = _math.arctanh_
    asin = _math.asin
    asin_ = _math.asin_
    asinh = _math.asinh
    asinh_ = _math.asinh_
    atan = _math.atan
    atan_ = _math.atan_
    atan2 = _math.atan2
    atan2_ = _math.atan2_
    atanh = _math.atanh
    atanh_ = _math.atanh_
    bitwise_and = _records.bitwise_and
    bitwise_and_ = _records.bitwise_and_
    bitwise_left_shift = _records.bitwise_left_shift
    bitwise_left_shift_ = _records.bitwise_left_shift_
    bitwise_not = _records.bitwise_not
    bitwise_not_ = _records.bitwise_not_
    bitwise_or = _records.bitwise_or
    bitwise_or_ = _records.bitwise_or_
    bitwise_right_shift = _records.bitwise_right_shift
    bitwise_right_shift_ = _records.bitwise_right_shift_
    bitwise_xor = _records.bitwise_xor
    bitwise_xor_ = _records.bitwise_xor_
    ceil = _records.ceil
    ceil_ = _records.ceil_
    clamp_max_ = _tensor_utils.clamp_max_
    clamp_min_ = _tensor_utils.clamp_min_
    conj = _complex.conj
    conj_physical = _complex.conj_physical
    conj_physical_ = _complex.conj_physical_
    copysign = _math.copysign
    copysign_ = _math.copysign_
    cos = _records.cos
    cos_ = _records.cos_
    cosh = _math.cosh
    cosh_ = _math.cosh_
    deg2rad = _pointwise.deg2rad
    deg2rad_ = _pointwise.deg2rad_
    digamma = _math.digamma
    digamma_ = _math.digamma_
    erf = _math.erf
    erf_ = _math.erf_
    erfc = _math.erfc
    erfc_ = _math.erfc_
    erfinv = _math.erfinv
    erfinv_ = _math.erfinv_
    exp = _records.exp
    exp_ = _records.exp_
    exp2 = _math.exp2
    exp2_ = _math.exp2_
    expm1 = _math.expm1
    expm1_ = _math.expm1_
    fix = _records.fix
    fix_ = _view_copies.fix_
    float_power = _pointwise.float_power
    float_power_ = _pointwise.float_power_
    floor = _records.floor
    floor_ = _records.floor_
    floor_divide = _records.floor_divide
    floor_divide_ = _records.floor_divide_
    fmod = _math.fmod
    fmod_ = _math.fmod_
    frac = _math.frac
    frac_ = _math.frac_
    frexp = _pointwise.frexp
    gcd = _pointwise.gcd
    gcd_ = _pointwise.gcd_
    hardshrink = _distance.hardshrink
    heaviside = _pointwise.heaviside
    heaviside_ = _pointwise.heaviside_
    hypot = _math.hypot
    hypot_ = _math.hypot_
    i0 = _special.i0
    i0_ = _special.i0_
    igamma = _special.igamma
    igamma_ = _special.igamma_
    igammac = _special.igammac
    igammac_ = _special.igammac_
    lcm = _pointwise.lcm
    lcm_ = _pointwise.lcm_
    ldexp = _pointwise.ldexp
    ldexp_ = _pointwise.ldexp_
    lerp = _math.lerp
    lerp_ = _math.lerp_
    lgamma = _math.lgamma
    lgamma_ = _math.lgamma_
    log = _records.log
    log_ = _records.log_
    log10 = _math.log10
    log10_ = _math.log10_
    log1p = _records.log1p
    log1p_ = _records.log1p_
    log2 = _math.log2
    log2_ = _math.log2_
    logaddexp = _math.logaddexp
    logaddexp2 = _math.logaddexp2
    logical_and, logical_and_ = _records.TENSOR_OTHER_METHODS["logical_and"]
    logical_not = _records.logical_not
    logical_not_ = _records.logical_not_
    logical_or, logical_or_ = _records.TENSOR_OTHER_METHODS["logical_or"]
    logical_xor, logical_xor_ = _records.TENSOR_OTHER_METHODS["logical_xor"]
    logit = _math.logit
    logit_ = _math.logit_
    mul_ = _records.mul_
    multiply_ = _records.multiply_
    mvlgamma = _special.mvlgamma
    mvlgamma_ = _special.mvlgamma_
    nan_to_num = _math.nan_to_num
    nan_to_num_ = _math.nan_to_num_
    neg = _records.neg
    neg_ = _records.neg_
    negative = _records.negative
    negative_ = _view_copies.negative_
    nextafter = _pointwise.nextafter
    nextafter_ = _pointwise.nextafter_
    polygamma = _special._polygamma_method
    polygamma_ = _special.polygamma_
    positive = _pointwise.positive
    pow = _records.pow
    pow_ = _records.pow_
    rad2deg = _pointwise.rad2deg
    rad2deg_ = _pointwise.rad2deg_
    reciprocal = _records.reciprocal
    reciprocal_ = _records.reciprocal_
    relu = _records.relu
    relu_ = _records.relu_
    remainder = _records.remainder
    remainder_ = _records.remainder_
    round = _records.round
    round_ = _records.round_
    rsqrt = _records.rsqrt
    rsqrt_ = _records.rsqrt_
    sgn = _complex.sgn
    sgn_ = _view_copies.sgn_
    sigmoid = _records.sigmoid
    sigmoid_ = _records.sigmoid_
    sign = _records.sign
    sign_ = _records.sign_
    signbit = _math.signbit
    sin = _records.sin
    sin_ = _records.sin_
    sinc = _pointwise.sinc
    sinc_ = _pointwise.sinc_
    sinh = _math.sinh
    sinh_ = _math.sinh_
    sqrt = _records.sqrt
    sqrt_ = _records.sqrt_
    square = _math.square
    square_ = _math.square_
    tan = _math.tan
    tan_ = _math.tan_
    tanh = _records.tanh
    tanh_ = _records.tanh_
    true_divide = _records.true_divide
    true_divide_ = _records.true_divide_
    trunc = _records.trunc
    trunc_ = _records.trunc_
    xlogy = _math.xlogy
    xlogy_ = _math.xlogy_

    # ---- Reduction ops
    aminmax = _math.aminmax
    count_nonzero = _math.count_nonzero
    dist = _statistics.dist
    logsumexp = _math.logsumexp
    median = _math.median
    mode = _math.mode
    nanmean = _math.nanmean
    nanmedian = _math.nanmedian
    nanquantile = _statistics.nanquantile
    nansum = _math.nansum
    norm = _math.norm
    quantile = _statistics.quantile
    stft = _spectral.stft
    istft = _spectral.istft
    std = _math.std
    sum_to_size = _tensor_utils.sum_to_size
    unique = _advindex.unique
    unique_consecutive = _advindex.unique_consecutive
    var = _math.var

    # ---- Comparison ops
    allclose = _math.allclose
    argsort = _advindex.argsort
    eq = _records.eq
    eq_ = _records.eq_
    equal = _records.equal
    fmax = _pointwise.fmax
    fmin = _pointwise.fmin
    ge = _records.ge
    ge_ = _records.ge_
    greater = _records.greater
    greater_ = _records.gt_
    greater_equal = _records.greater_equal
    greater_equal_ = _records.ge_
    gt = _records.gt
    gt_ = _records.gt_
    isclose = _math.isclose
    isfinite = _math.isfinite
    isinf = _math.isinf
    isnan = _math.isnan
    isneginf = _math.isneginf
    isposinf = _math.isposinf
    isreal = _pointwise.isreal
    kthvalue = _advindex.kthvalue
    le = _records.le
    le_ = _records.le_
    less = _records.less
    less_ = _records.lt_
    less_equal = _records.less_equal
    less_equal_ = _records.le_
    lt = _records.lt
    lt_ = _records.lt_
    maximum = _records.TENSOR_OTHER_METHODS["maximum"][0]
    minimum = _records.TENSOR_OTHER_METHODS["minimum"][0]
    msort = _advindex.msort
    ne = _records.ne
    ne_ = _records.ne_
    not_equal = _records.not_equal
    not_equal_ = _records.ne_
    sort = _advindex.sort
    topk = _advindex.topk

    # ---- Other operations
    bincount = _advindex.bincount
    corrcoef = _statistics.corrcoef
    cov = _statistics.cov
    cummax = _math.cummax
    cummin = _math.cummin
    cumprod = _math.cumprod
    cumprod_ = _math.cumprod_
    cumsum = _math.cumsum
    cumsum_ = _math.cumsum_
    diag = _shape.diag
    diag_embed = _shape.diag_embed
    diagflat = _shape.diagflat
    diagonal = _shape.diagonal
    diff = _pointwise.diff
    def flip(self, *dims):   # the method also takes the dims spread out: x.flip(0, 2)
        if not dims:
            raise TypeError('flip() missing 1 required positional arguments: "dims"')
        return _shape.flip(self, dims[0] if len(dims) == 1 else list(dims))
    fliplr = _shape.fliplr
    flipud = _shape.flipud
    histc = _advindex.histc
    histogram = _statistics.histogram
    log_softmax = _math.log_softmax
    logcumsumexp = _math.logcumsumexp
    renorm = _statistics.renorm
    renorm_ = _statistics.renorm_
    repeat_interleave = _shape.repeat_interleave
    roll = _shape.roll
    rot90 = _shape.rot90
    softmax = _math.softmax
    trace = _pointwise.trace
    tril = _shape.tril
    tril_ = _shape.tril_
    triu = _shape.triu
    triu_ = _shape.triu_

    # ---- BLAS and LAPACK ops
    addbmm = _linalg.addbmm
    addbmm_ = _linalg.addbmm_
    addmm = _linalg.addmm
    addmm_ = _linalg.addmm_
    addmv = _linalg.addmv
    addmv_ = _linalg.addmv_
    addr = _linalg.addr
    addr_ = _linalg.addr_
    baddbmm = _linalg.baddbmm
    baddbmm_ = _linalg.baddbmm_
    bmm = _records.bmm
    cholesky = _linalg.cholesky
    cholesky_inverse = _linalg.cholesky_inverse
    cholesky_solve = _linalg.cholesky_solve
    cross = _linalg.cross
    det = _linalg.det
    dot = _linalg.dot
    eig = _linalg_utils.eig
    geqrf = _linalg_householder.geqrf
    ger = _linalg.ger
    inner = _linalg.inner
    inverse = _linalg.inverse
    kron = _linalg.kron
    logdet = _linalg.logdet
    lstsq = _linalg_utils.lstsq
    lu = _linalg_lu.lu
    lu_solve = _linalg_lu.lu_solve
    matmul = _records.matmul
    matrix_exp = _linalg_lu.matrix_exp
    matrix_power = _linalg.matrix_power
    mm = _records.mm
    mv = _linalg.mv
    orgqr = _linalg_householder.orgqr
    ormqr = _linalg_householder.ormqr
    outer = _linalg.outer
    pinverse = _linalg.pinverse
    qr = _linalg.qr
    slogdet = _linalg.slogdet
    solve = _linalg_utils.solve
    svd = _linalg.svd
    symeig = _linalg_utils.symeig
    triangular_solve = _linalg_lu.triangular_solve
    vdot = _linalg.vdot

    # the hot spellings go straight to C (ext/fast.c) in front of the methods above
    add = _C.fast(O.ADD, add)
    sub = subtract = _C.fast(O.SUB, sub)
    mul = multiply = _C.fast(O.MUL, mul)
    div = divide = _C.fast(O.DIV, div)
    add_ = _C.fast(O.ADD, add_, True)
    sub_ = subtract_ = _C.fast(O.SUB, sub_, True)
    div_ = divide_ = _C.fast(O.DIV, div_, True)


_SET_ARGS_ERROR = ("set_() received an invalid combination of arguments - got (%s), but expected one of:\n"
                   " * ()\n * (torch.Storage source)\n"
                   " * (torch.Storage source, int storage_offset, tuple of ints size, tuple of ints stride)\n"
                   " * (Tensor source)\n"
                   " * (Tensor source, SymInt storage_offset, tuple of SymInts size, tuple of SymInts stride)\n")


class _LegacyType(type):
    """The metaclass of the legacy tensor types: FloatTensor(...) constructs a float32
    tensor as Tensor(...) does, and isinstance(t, FloatTensor) checks t's dtype (as torch's
    tensortype; they are not subclasses of Tensor)."""

    def __call__(cls, *args, device=None):
        return _legacy_new(cls.dtype, args, device)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __repr__(cls):
        return "<class 'torch.%s'>" % cls.__name__


def _legacy_type(dt):
    name = _TYPE_NAMES[dt]
    return _LegacyType(name, (), {"dtype": dt, "is_cuda": False, "is_sparse": False, "__module__": "torch",
                                  "__doc__": "torch 1.13's legacy %s: a %s tensor." % (name, dt)})


FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, LongTensor, IntTensor, ShortTensor, CharTensor, \
    ByteTensor, BoolTensor = (_legacy_type(d) for d in _TYPE_NAMES)
# type()'s names of the complex dtypes (tensord has no legacy constructors for them)
_TYPE_NAMES.update({complex64: "ComplexFloatTensor", complex128: "ComplexDoubleTensor"})


def _rebuild(arr, dtname, requires_grad=False):
    from ._creation import tensor
    from ._dtype import _dtype_by_name
    return tensor(arr, dtype=_dtype_by_name(dtname), requires_grad=requires_grad)
