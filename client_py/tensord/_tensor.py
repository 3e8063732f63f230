"""tensord.Tensor: the Python subclass of the C type _C.TensorBase."""
import builtins

import numpy as _np

from . import _C
from . import _op_numbers as O
from . import _records as F
from . import _indexing, _printing
from ._dtype import DTYPES, bfloat16, bool_, float16, float32, float64, int8, int16, int32, int64, uint8, \
    dtype as _dtype_cls, get_default_dtype
from ._size import CPU, check_device, device as _device_cls

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
    a tensor: that tensor (an alias; a legacy type checks its dtype); data: a copy."""
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
    requires_grad = False
    grad = None
    grad_fn = None
    is_leaf = True
    is_cuda = False
    is_sparse = False
    is_quantized = False
    is_meta = False

    __hash__ = object.__hash__

    # ---- metadata
    @property
    def device(self):
        return CPU

    @property
    def data(self):
        return self

    @property
    def T(self):
        if self.ndim <= 2:
            return F.t(self)
        return F.permute(self, list(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self):
        if self.ndim == 1:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
        return F.transpose(self, -2, -1) if self.ndim else F.alias(self)

    @property
    def layout(self):
        return "torch.strided"

    def requires_grad_(self, requires_grad=True):
        if requires_grad:
            raise NotImplementedError("autograd is not implemented by tensord yet")
        return self

    def detach(self):
        return F.alias(self)

    def detach_(self):
        return self

    def nelement(self):
        return self.numel()

    def ndimension(self):
        return self.ndim

    def get_device(self):
        return -1

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
        return _host_array(self, allow_bf16=False).copy()

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
        from ._creation import tensor
        return (_rebuild, (self.numpy() if self.dtype is not bfloat16 else F.cast(self, float32).numpy(),
                           self.dtype._name))

    def __deepcopy__(self, memo):
        return F.clone(self)

    # ---- dtype / device conversions
    def to(self, *args, **kwargs):
        dt = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError("to() got an unexpected keyword argument '%s'" % next(iter(kwargs)))
        for a in args:
            if isinstance(a, _dtype_cls):
                dt = a
            elif isinstance(a, (str, _device_cls, builtins.int)) and not isinstance(a, builtins.bool):
                dev = a
            elif isinstance(a, TB):
                dt = a.dtype
            elif isinstance(a, builtins.bool):
                pass  # non_blocking / copy positional flags
            else:
                raise TypeError("to() received an invalid combination of arguments - got (%s)" % type(a).__name__)
        if dev is not None:
            dv = dev if isinstance(dev, _device_cls) else _device_cls(dev) if isinstance(dev, str) else None
            if dv is None or dv.type != "cpu":
                raise AssertionError("Torch not compiled with CUDA enabled")
        r = self if dt is None else F.cast(self, dt)
        if copy and r is self:
            r = F.clone(self)
        return r

    def cpu(self):
        return self

    def cuda(self, *a, **k):
        raise AssertionError("Torch not compiled with CUDA enabled")

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
        return _indexing.getitem(self, idx)

    def __setitem__(self, idx, value):
        _indexing.setitem(self, idx, value)

    # ---- operators not in C slots
    def __floordiv__(self, other):
        if not (isinstance(other, TB) or F.is_scalar(other)):
            return NotImplemented
        return F.floor_divide(self, other)

    def __rfloordiv__(self, other):
        if not F.is_scalar(other):
            return NotImplemented
        return F.binary(O.DIV, other, self, "floor_divide", (2,), scalar_lhs_ok=True)

    def __ifloordiv__(self, other):
        return F.binary(O.DIV, self, other, "floor_divide_", (2,), inplace=True)

    def __mod__(self, other):
        if not (isinstance(other, TB) or F.is_scalar(other)):
            return NotImplemented
        return F.remainder(self, other)

    def __rmod__(self, other):
        if not F.is_scalar(other):
            return NotImplemented
        return F.binary(O.REMAINDER, other, self, "remainder", scalar_lhs_ok=True)

    def __imod__(self, other):
        return F.binary(O.REMAINDER, self, other, "remainder_", inplace=True)

    def __pow__(self, other, mod=None):
        if not (isinstance(other, TB) or F.is_scalar(other)):
            return NotImplemented
        return F.pow(self, other)

    def __rpow__(self, other):
        if not F.is_scalar(other):
            return NotImplemented
        return F.binary(O.POW, other, self, "pow", scalar_lhs_ok=True)

    def __ipow__(self, other):
        return F.binary(O.POW, self, other, "pow_", inplace=True)

    def _bitop(self, opn, other, name, lhs=False, inplace=False):
        if not (isinstance(other, TB) or F.is_scalar(other)):
            return NotImplemented
        if lhs:
            return F.binary(opn, other, self, name, scalar_lhs_ok=True)
        return F.binary(opn, self, other, name, inplace=inplace)

    def __and__(self, o): return self._bitop(O.BITWISE_AND, o, "bitwise_and")
    def __rand__(self, o): return self._bitop(O.BITWISE_AND, o, "bitwise_and", lhs=True)
    def __iand__(self, o): return self._bitop(O.BITWISE_AND, o, "bitwise_and_", inplace=True)
    def __or__(self, o): return self._bitop(O.BITWISE_OR, o, "bitwise_or")
    def __ror__(self, o): return self._bitop(O.BITWISE_OR, o, "bitwise_or", lhs=True)
    def __ior__(self, o): return self._bitop(O.BITWISE_OR, o, "bitwise_or_", inplace=True)
    def __xor__(self, o): return self._bitop(O.BITWISE_XOR, o, "bitwise_xor")
    def __rxor__(self, o): return self._bitop(O.BITWISE_XOR, o, "bitwise_xor", lhs=True)
    def __ixor__(self, o): return self._bitop(O.BITWISE_XOR, o, "bitwise_xor_", inplace=True)
    def __lshift__(self, o): return self._bitop(O.LSHIFT, o, "__lshift__")
    def __rlshift__(self, o): return self._bitop(O.LSHIFT, o, "__rlshift__", lhs=True)
    def __ilshift__(self, o): return self._bitop(O.LSHIFT, o, "__ilshift__", inplace=True)
    def __rshift__(self, o): return self._bitop(O.RSHIFT, o, "__rshift__")
    def __rrshift__(self, o): return self._bitop(O.RSHIFT, o, "__rrshift__", lhs=True)
    def __irshift__(self, o): return self._bitop(O.RSHIFT, o, "__irshift__", inplace=True)

    def __invert__(self):
        if self.dtype.is_floating_point:
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return F.bitwise_not(self)

    def __abs__(self):
        return F.abs(self)

    def __pos__(self):
        return self

    def __matmul__(self, other):
        if not isinstance(other, TB):
            return NotImplemented
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return NotImplemented

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

    def where(self, condition, other):
        return F.where(condition, self, other)

    def sum(self, dim=None, keepdim=False, *, dtype=None):
        return F.sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim=False, *, dtype=None):
        return F.mean(self, dim, keepdim, dtype=dtype)

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
        return F.reshape(y, final)

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
        grown = F._op1(O.EMPTY, (), (self.dtype._index, 1, self._offset + n))
        if have:
            F.copy_(F.as_strided(grown, [have], [1], 0), F.as_strided(self, [have], [1], 0))
        return self._rebind(F.as_strided(grown, s, strides, self._offset))

    def resize_as_(self, the_template, memory_format=None):
        return self.resize_(tuple(the_template.shape))

    def set_(self, source=None, storage_offset=None, size=None, stride=None):
        """set_() empties the tensor; set_(t) makes it a view of all of t; with offset,
        size and stride it views t's storage (tensord has no separate Storage objects)."""
        if source is None:
            return self._rebind(F._op1(O.EMPTY, (), (self.dtype._index, 1, 0)))
        if not isinstance(source, _C.TensorBase):
            raise TypeError("set_(): argument 'source' must be Tensor, not %s" % type(source).__name__)
        if source.dtype is not self.dtype:
            raise RuntimeError("Could not set tensor of type %s to a tensor of type %s"
                               % (source.dtype._torch_name, self.dtype._torch_name))
        if size is None:
            return self._rebind(F.as_strided(source, tuple(source.shape), source._strides, source._offset))
        size = F.sizes_arg((size,), "set_")
        if stride is None:
            stride = _contiguous_strides(size)
        return self._rebind(F.as_strided(source, size, list(stride), 0 if storage_offset is None else storage_offset))

    def contiguous(self, memory_format=None):
        return F.contiguous(self)

    def copy_(self, src, non_blocking=False):
        return F.copy_(self, src)

    def fill_(self, value):
        return F.fill_(self, value)

    def zero_(self):
        return F.zero_(self)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        from ._creation import tensor
        return tensor(data, dtype=dtype or self.dtype)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        from ._creation import empty
        return empty(*size, dtype=dtype or self.dtype)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        from ._creation import zeros
        return zeros(*size, dtype=dtype or self.dtype)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        from ._creation import ones
        return ones(*size, dtype=dtype or self.dtype)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        from ._creation import full
        return full(size, fill_value, dtype=dtype or self.dtype)

    def uniform_(self, a=0.0, b=1.0):
        from ._creation import rand
        r = rand(*self.shape, dtype=self.dtype if self.dtype.is_floating_point else float32)
        if a != 0.0 or b != 1.0:
            r = r * (b - a) + a
        return F.copy_(self, r)

    def normal_(self, mean=0.0, std=1.0):
        from ._creation import randn
        r = randn(*self.shape, dtype=self.dtype if self.dtype.is_floating_point else float32)
        if mean != 0.0 or std != 1.0:
            r = r * std + mean
        return F.copy_(self, r)

    # the hot spellings go straight to C (ext/fastcall.c) in front of the methods above
    add = _C.fast_binary(O.ADD, 0, True, add)
    sub = subtract = _C.fast_binary(O.SUB, 0, True, sub)
    mul = multiply = _C.fast_binary(O.MUL, 0, False, mul)
    div = divide = _C.fast_binary(O.DIV, 0, False, div)
    add_ = _C.fast_binary(O.ADD, F.INPLACE, True, add_)
    sub_ = subtract_ = _C.fast_binary(O.SUB, F.INPLACE, True, sub_)
    div_ = divide_ = _C.fast_binary(O.DIV, F.INPLACE, False, div_)


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


def _rebuild(arr, dtname):
    from ._creation import tensor
    from ._dtype import _dtype_by_name
    return tensor(arr, dtype=_dtype_by_name(dtname))


# methods that are the functional op with self first
_SAME = ("true_divide", "floor_divide", "pow", "remainder", "maximum", "minimum", "eq", "ne",
         "lt", "le", "gt", "ge", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
         "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
         "bitwise_right_shift", "matmul", "mm", "bmm",
         "transpose", "swapaxes", "swapdims", "t", "expand_as", "unsqueeze", "flatten", "narrow", "select",
         "clone", "equal", "as_strided", "round")  # isclose/allclose: _math attaches them
for _n in _SAME:
    setattr(Tensor, _n, getattr(F, _n))
for _n in list(F.UNARY) + list(F.UNARY_ALIASES):
    if _n != "round":
        setattr(Tensor, _n, getattr(F, _n))
    setattr(Tensor, _n + "_", getattr(F, _n + "_"))


def _mk_inplace(name, opn, tail):
    def f(self, other):
        return F.binary(opn, self, other, name, tail, inplace=True)
    f.__name__ = f.__qualname__ = name
    return f


for _n, (_o, _tail) in F.BINARY_INPLACE.items():
    setattr(Tensor, _n, _mk_inplace(_n, _o, _tail))
Tensor.mul_ = Tensor.multiply_ = _C.fast_binary(O.MUL, F.INPLACE, False, Tensor.mul_)
Tensor.not_equal_ = Tensor.ne_
