"""Storages, as torch.storage (PyTorch 1.13): TypedStorage (what Tensor.storage()
returns), UntypedStorage (its bytes), the legacy typed classes (FloatStorage, ...,
subclasses of _LegacyStorage as torch's; tensord/__init__.py exports them), and what
Tensor.storage()/set_() and the tensor constructors need to go between tensors and storages.

tensord keeps no storage objects of its own: a storage is a daemon storage (refcounted,
shared by every view of it; tensors of one storage have one _storage_key), and a
storage object here is a 1-d contiguous tensor over it from element 0 (as_strided on a
detached alias), so writes through the storage are writes to the daemon storage that
every tensor viewing it sees, and the other way round.  TypedStorage holds that tensor
(its dtype is the storage's); UntypedStorage holds one too plus a byte window on it
(byte slices of an UntypedStorage are views, as torch's), and reads/writes bytes by
moving the elements that cover them.

What it does not do: the daemon has no dtype views, so an UntypedStorage cannot be
reinterpreted as another dtype in place (TypedStorage(wrap_storage=u, dtype=d) and
Tensor.set_(u) with another dtype raise NotImplementedError; byte copies such as
copy_ between storages of different dtypes and UntypedStorage.type() go through the
host); resize_ of a storage viewed by tensors is refused (a daemon storage cannot grow in
place: Tensor.resize_ gives the tensor a new storage instead); quantized dtypes, meta
device, from_file, the IPC hooks torch.multiprocessing uses (tensord.multiprocessing
shares by token instead)."""
import builtins
import collections.abc
import sys as _sys

from . import _C, _daemon
from . import _records as F
from . import _shared
from ._dtype import bfloat16, bool_, complex64, complex128, dtype as _dtype_cls, float16, float32, float64, \
    get_default_dtype, int8, int16, int32, int64, uint8
from ._size import device as _device

__all__ = ["TypedStorage", "UntypedStorage"]

TB = _C.TensorBase
_T = _sys.modules[__name__.rpartition(".")[0]]  # the package: tensor/empty are looked up at call time
                                               # (they build on Tensor, whose module imports this one)

# the legacy class of each dtype (torch 1.13's list; new dtypes get none)
LEGACY_NAMES = {float32: "FloatStorage", float64: "DoubleStorage", float16: "HalfStorage",
                bfloat16: "BFloat16Storage", int64: "LongStorage", int32: "IntStorage", int16: "ShortStorage",
                int8: "CharStorage", uint8: "ByteStorage", bool_: "BoolStorage",
                complex64: "ComplexFloatStorage", complex128: "ComplexDoubleStorage"}
_LEGACY_BY_NAME = {}  # "FloatStorage" -> the class, filled by legacy_class

# the C++ element type torch's set_ names in its dtype error
_CPP_NAMES = {float32: "float", float64: "double", float16: "c10::Half", bfloat16: "c10::BFloat16",
              int64: "long int", int32: "int", int16: "short int", int8: "signed char", uint8: "unsigned char",
              bool_: "bool", complex64: "c10::complex<float>", complex128: "c10::complex<double>"}


def _torch_class(cls):
    """A class as torch's messages print it: <class 'torch.storage.TypedStorage'>."""
    module = cls.__module__
    if module == "tensord" or module.startswith("tensord."):
        module = "torch" + module[len("tensord"):]
    return "<class '%s.%s'>" % (module, cls.__qualname__)


def _is_index(x):
    return isinstance(x, builtins.int)


def _whole(t):
    """The 1-d tensor over all of t's storage from element 0, outside autograd."""
    n = t._storage_nbytes // t.element_size()
    return F.as_strided(F.detach(t), [n], [1], 0)


def _empty(n, dt, device):
    """A new 1-d tensor of n uninitialized elements: a new storage's."""
    if device.type == "cuda" and not _T.cuda.is_available():
        raise RuntimeError("torch.UntypedStorage(): Storage device not recognized: cuda")
    return _T.empty(n, dtype=dt, device=device)


def _from_bytes(dt, raw, device):
    """A new 1-d tensor of dtype dt holding raw (whole elements), on device."""
    _daemon.ensure()
    t = _C.from_buffer(dt._index, (len(raw) // dt.itemsize,), bytes(raw))
    return t if device.type == "cpu" else t.to(device)


class _StorageBase:
    """What TypedStorage and UntypedStorage share: both hold _t, a 1-d contiguous tensor
    over the storage's elements (an UntypedStorage a byte window on it)."""

    is_sparse = False

    @property
    def device(self):
        return self._t.device

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    def get_device(self):
        return self._t.get_device() if self.is_cuda else None  # torch 1.13's storages: None on the CPU

    def __len__(self):
        return self.size()

    def __iter__(self):
        return iter(self.tolist())

    def __str__(self):
        info = "[%s of size %d]" % (self._describe(), len(self))
        return " " + "\n ".join(str(v) for v in self.tolist()) + "\n" + info

    __repr__ = __str__

    def __copy__(self):  # another object on the same storage, as torch's
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.__dict__.pop("_untyped", None)  # its own untyped(), as torch's copy wraps a copy of it
        return other

    def __deepcopy__(self, memo):
        return self.clone()

    def __sizeof__(self):
        return object.__sizeof__(self) + self.nbytes()

    def is_shared(self):
        return _shared.is_shared(self._t)

    def share_memory_(self):
        """Marks the storage shared: it lives in the daemon already (Tensor.share_memory_)."""
        _shared.mark_shared(self._t)
        return self

    def is_pinned(self):
        return self._t.is_pinned()

    def pin_memory(self):
        return self._rewrap(self._carrier().pin_memory())

    def cpu(self):
        return self.__copy__() if self.device.type == "cpu" else self._rewrap(self._carrier().cpu())

    def cuda(self, device=None, non_blocking=False, **kwargs):
        return self._rewrap(self._carrier().cuda(device))

    def clone(self):
        return self._rewrap(F.clone(self._carrier()))

    def _to(self, dt):
        if not isinstance(dt, _dtype_cls):
            raise TypeError("Argument 'dtype' must be torch.dtype, not %s" % type(dt))
        src = self._elements()
        return TypedStorage._over(F.clone(src) if src.dtype is dt else F.cast(src, dt))

    def double(self):
        return self._to(float64)

    def float(self):
        return self._to(float32)

    def half(self):
        return self._to(float16)

    def bfloat16(self):
        return self._to(bfloat16)

    def long(self):
        return self._to(int64)

    def int(self):
        return self._to(int32)

    def short(self):
        return self._to(int16)

    def char(self):
        return self._to(int8)

    def byte(self):
        return self._to(uint8)

    def bool(self):
        return self._to(bool_)

    def complex_float(self):
        return self._to(complex64)

    def complex_double(self):
        return self._to(complex128)

    def __reduce__(self):
        # the bytes and the dtype: unpickled as a new storage (torch's pickles copy too)
        dt = getattr(self, "dtype", None)
        return (_rebuild_storage, (None if dt is None else dt._name, str(self.device), self._read(0, self.nbytes())))


# ------------------------------------------------------------------ UntypedStorage

class UntypedStorage(_StorageBase):
    """A storage's bytes (torch.UntypedStorage): UntypedStorage(nbytes), UntypedStorage(
    sequence of ints) (each taken modulo 256), or TypedStorage.untyped().  Indexing gives
    ints 0..255; slices (step 1) are views on the same bytes."""

    def __init__(self, *args, device=None):
        dev = _device("cpu" if device is None else device)
        if len(args) > 1:
            raise TypeError("torch.UntypedStorage(): too many arguments")
        arg = args[0] if args else 0
        if _is_index(arg):
            if arg < 0:
                raise RuntimeError("[enforce fail at alloc_cpu.cpp:52] ((ptrdiff_t)nbytes) >= 0. alloc_cpu() seems to "
                                   "have been called with negative number: %d" % (arg % (1 << 64)))
            t = _empty(arg, uint8, dev)
        elif isinstance(arg, collections.abc.Sequence) and not isinstance(arg, (str, bytes)):
            t = F.cast(_T.tensor(list(arg), dtype=int64, device=dev), uint8)
        else:
            raise RuntimeError("torch.UntypedStorage(): Expected a sequence type, but got %s" % type(arg).__name__)
        self._set(t, 0, t.numel())

    def _set(self, t, lo, n):
        self._t, self._lo, self._n = t, lo, n
        return self

    @classmethod
    def _window(cls, t, lo, n):
        return cls.__new__(cls)._set(t, lo, n)

    def _describe(self):
        return "torch.storage.UntypedStorage(device=%s)" % self.device

    def size(self):
        return self._n

    def nbytes(self):
        return self._n

    def element_size(self):
        return 1

    def data_ptr(self):
        return self._t.data_ptr() + self._lo

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return "torch.storage.UntypedStorage"
        return _convert_bytes(self, dtype)

    def untyped(self):
        return self

    # ---- bytes: the elements of _t that cover [a, b) of the window, moved whole
    def _cover(self, a, b):
        isz = self._t.element_size()
        e0, e1 = (self._lo + a) // isz, -(-(self._lo + b) // isz)
        return F.as_strided(self._t, [e1 - e0], [1], self._t._offset + e0), (self._lo + a) - e0 * isz

    def _read(self, a, b):
        if b <= a:
            return b""
        part, skip = self._cover(a, b)
        return _C.to_bytes(part)[skip:skip + b - a]

    def _write(self, a, data):
        if not data:
            return
        part, skip = self._cover(a, a + len(data))
        whole = part.numel() * part.element_size()
        raw = bytearray(data) if skip == 0 and whole == len(data) else bytearray(_C.to_bytes(part))
        raw[skip:skip + len(data)] = data
        F.copy_(part, _from_bytes(part.dtype, raw, part.device))

    def _elements(self):
        """The bytes as a uint8 tensor: _t itself when it is uint8, else a copy."""
        if self._t.dtype is uint8:
            return F.as_strided(self._t, [self._n], [1], self._t._offset + self._lo)
        return _from_bytes(uint8, self._read(0, self._n), self.device)

    def _carrier(self):
        """A tensor holding the window's bytes: a view of _t where the window is whole
        elements, else a uint8 copy (for moves and copies, which keep the element type)."""
        t = self._typed_view()
        return t if t is not None else self._elements()

    def _rewrap(self, t):
        return UntypedStorage._window(t, 0, t.numel() * t.element_size())

    def tolist(self):
        return list(self._read(0, self._n))

    # ---- indexing
    def _wrap(self, idx, n):
        if idx >= n or idx < -n:
            raise IndexError("index %d out of range for storage of size %d" % (idx, n))
        return idx % n

    def _span(self, sl):
        start, stop, step = sl.indices(self._n)
        if step != 1:
            raise RuntimeError("Trying to slice with a step of %d, but only a step of 1 is supported" % step)
        return start, max(start, stop)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            a, b = self._span(idx)
            return UntypedStorage._window(self._t, self._lo + a, b - a)
        if not _is_index(idx):
            raise TypeError("can't index a torch.UntypedStorage with %s" % type(idx).__name__)
        return self._read(self._wrap(idx, self._n), self._wrap(idx, self._n) + 1)[0]

    def _fill_bytes(self, a, b, value):
        if not _is_index(value):
            raise RuntimeError("can only set storage content with a int types, but got %s instead"
                               % type(value).__name__)
        self._write(a, bytes([value % 256]) * (b - a))

    def __setitem__(self, idx, value):
        if isinstance(idx, slice):
            return self._fill_bytes(*self._span(idx), value)
        if not _is_index(idx):
            raise RuntimeError("can't index a torch.UntypedStorage with %s" % type(idx).__name__)
        if idx >= self._n or idx < -self._n:
            raise RuntimeError("out of bounds")
        i = idx % self._n
        self._fill_bytes(i, i + 1, value)

    def fill_(self, value):
        if not _is_index(value):
            raise RuntimeError("fill_ expects int, but got %s" % type(value).__name__)
        self._fill_bytes(0, self._n, value)
        return self

    def copy_(self, source, non_blocking=None):
        """Copies source's bytes (a storage of the same number of bytes, any dtype)."""
        if isinstance(source, TypedStorage):
            source = source.untyped()
        if not isinstance(source, UntypedStorage):
            raise TypeError("copy_(): argument 'src' (position 1) must be torch.UntypedStorage, not %s"
                            % type(source).__name__)
        if source._n != self._n:
            raise RuntimeError("size does not match")
        mine, theirs = self._typed_view(), source._typed_view()
        if mine is not None and theirs is not None and mine.dtype is theirs.dtype:
            F.copy_(mine, theirs)  # in the daemon, no bytes through this process
        else:
            self._write(0, source._read(0, source._n))
        return self

    @classmethod
    def from_buffer(cls, buffer, byte_order=None, count=-1, offset=0, *, dtype=None):
        """The bytes of buffer's elements of dtype (read in byte_order), a copy."""
        if dtype is None:
            raise RuntimeError("argument 'dtype' cannot be None")
        return _typed_from_buffer(buffer, byte_order, count, offset, dtype).untyped()

    def _typed_view(self):
        """The window as a 1-d tensor of _t's dtype, or None when it splits elements."""
        isz = self._t.element_size()
        if self._lo % isz or self._n % isz:
            return None
        return F.as_strided(self._t, [self._n // isz], [1], self._t._offset + self._lo // isz)


# ------------------------------------------------------------------ TypedStorage

class TypedStorage(_StorageBase):
    """A storage read as elements of one dtype (what Tensor.storage() returns):
    TypedStorage(size or sequence, dtype=, device=) or TypedStorage(wrap_storage=
    untyped, dtype=).  Indexing by int gives Python scalars; setting takes ints and
    slices, as torch's."""

    def __new__(cls, *args, wrap_storage=None, dtype=None, device=None):
        if cls is _LegacyStorage:
            raise RuntimeError("Only child classes of _LegacyStorage can be instantiated")
        if cls is TypedStorage:
            return super().__new__(cls)
        return _legacy_new(cls, args, wrap_storage, dtype, device)

    def __init__(self, *args, device=None, dtype=None, wrap_storage=None):
        if wrap_storage is not None:
            self._t = _wrapped(args, wrap_storage, dtype, device)
            return
        dt = get_default_dtype() if dtype is None else dtype
        dev = _device("cpu" if device is None else device)
        if len(args) > 1:
            raise RuntimeError(_INIT_ERROR + "\nToo many positional arguments")
        if not args:
            self._t = _empty(0, dt, dev)
        elif _is_index(args[0]):
            if args[0] < 0:
                raise RuntimeError("[enforce fail at alloc_cpu.cpp:52] ((ptrdiff_t)nbytes) >= 0. alloc_cpu() seems to "
                                   "have been called with negative number: %d" % ((args[0] * dt.itemsize) % (1 << 64)))
            self._t = _empty(args[0], dt, dev)
        elif isinstance(args[0], collections.abc.Sequence):
            self._t = F.reshape(_T.tensor(args[0], dtype=dt, device=dev), [-1])
        else:
            raise TypeError(_INIT_ERROR + "\nArgument type not recognized: %s" % type(args[0]))

    @classmethod
    def _over(cls, t):
        """The TypedStorage whose elements are t (a 1-d contiguous tensor), no copy."""
        s = TypedStorage.__new__(TypedStorage)
        s._t = t
        return s

    @classmethod
    def _of(cls, tensor):
        """tensor.storage(): the whole storage tensor views."""
        return cls._over(_whole(tensor))

    @property
    def dtype(self):
        return self._t.dtype

    def _describe(self):
        return "torch.storage.TypedStorage(dtype=%s, device=%s)" % (self.dtype, self.device)

    def _elements(self):
        return self._t

    _carrier = _elements

    def _rewrap(self, t):
        return TypedStorage._over(t)

    def _read(self, a, b):
        return self.untyped()._read(a, b)

    def untyped(self):
        u = self.__dict__.get("_untyped")
        if u is None:  # one object per storage object, as torch's untyped() returns its own
            u = self._untyped = UntypedStorage._window(self._t, 0, self.nbytes())
        return u

    def size(self):
        return self._t.numel()

    def nbytes(self):
        return self._t.numel() * self._t.element_size()

    def element_size(self):
        return self.dtype.itemsize

    def data_ptr(self):
        return self._t.data_ptr()

    def tolist(self):
        return self._t.tolist()

    def pickle_storage_type(self):
        return LEGACY_NAMES[self.dtype]

    def _get_legacy_storage_class(self):
        if self.device.type != "cpu":
            return None
        return _LEGACY_BY_NAME.get(LEGACY_NAMES.get(self.dtype))

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            if self.device.type == "cuda":  # torch.cuda's legacy classes (tensord has none to construct)
                return "torch.cuda." + LEGACY_NAMES[self.dtype]
            legacy = self._get_legacy_storage_class()
            if legacy is not None:
                return "torch." + legacy.__name__
            return "torch.storage.TypedStorage"
        return _convert_bytes(self.untyped(), dtype)

    @classmethod
    def from_buffer(cls, buffer, byte_order=None, count=-1, offset=0, *, dtype=None, device=None):
        """A new storage holding count elements of buffer (all: -1) from byte offset,
        read in byte_order ('native', 'little' or 'big'; needed beyond 1-byte ints)."""
        if cls is TypedStorage:
            dtype = get_default_dtype() if dtype is None else dtype
            if device is not None and _device(device).type != "cpu":
                raise RuntimeError("TypedStorage.from_buffer: Not available for device %s" % _device(device).type)
        elif dtype is not None:
            raise RuntimeError("from_buffer: 'dtype' can only be specified in UntypedStorage.from_buffer and "
                               "TypedStorage.from_buffer")
        elif device is not None:
            raise RuntimeError("from_buffer: 'device' can only be specified in UntypedStorage.from_buffer and "
                               "TypedStorage.from_buffer")
        return _typed_from_buffer(buffer, byte_order, count, offset, dtype or cls.dtype)

    def resize_(self, size):
        raise NotImplementedError("TypedStorage.resize_: a daemon storage cannot grow in place (tensors viewing it "
                                  "would not see it); tensord has Tensor.resize_, which gives the tensor a new storage")

    # ---- indexing: through a tensor over the storage, so values convert and check as torch's
    def __getitem__(self, idx):
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        if not isinstance(idx, builtins.int):
            raise RuntimeError("can't index a %s with %s" % (_torch_class(type(self)), type(idx)))
        if type(idx) is not builtins.int:
            raise TypeError("can't index a %s with %s" % (_torch_class(type(self)), type(idx)))
        n = self.size()
        if idx >= n or idx < -n:
            raise IndexError("index %d out of range for storage of size %d" % (idx, n))
        return F.select(self._t, 0, idx % n).item()

    def __setitem__(self, idx, value):
        if not isinstance(idx, (builtins.int, slice)):
            raise RuntimeError("can't index a %s with %s" % (_torch_class(type(self)), type(idx)))
        if isinstance(value, _StorageBase):
            raise RuntimeError("cannot set item with value type %s" % _torch_class(type(value)))
        self._t[idx] = value

    def fill_(self, value):
        self[0:len(self)] = value
        return self

    def copy_(self, source, non_blocking=None):
        self.untyped().copy_(source.untyped(), non_blocking)
        return self


_INIT_ERROR = ("TypedStorage.__init__ received an invalid combination of arguments. Expected one of:\n"
               " * (*, torch.device device, torch.dtype dtype)\n"
               " * (int size, *, torch.device device, torch.dtype dtype)\n"
               " * (Sequence data, *, torch.device device, torch.dtype dtype)\n"
               " * (*, UntypedStorage wrap_storage, torch.dtype dtype)")


def _wrapped(args, wrap_storage, dtype, device):
    """The elements tensor of TypedStorage(wrap_storage=u, dtype=d): u's bytes read as d,
    which needs u to hold d's elements (the daemon has no dtype views)."""
    if args:
        raise RuntimeError(_INIT_ERROR + "\nNo positional arguments should be given when using 'wrap_storage'")
    if dtype is None:
        raise RuntimeError(_INIT_ERROR + "\nArgument 'dtype' must be specified")
    if not isinstance(dtype, _dtype_cls):
        raise TypeError(_INIT_ERROR + "\nArgument 'dtype' must be torch.dtype, not %s" % type(dtype))
    if device is not None:
        raise RuntimeError(_INIT_ERROR + "\nArgument 'device' should not be specified when 'wrap_storage' is given")
    if not isinstance(wrap_storage, UntypedStorage):
        raise TypeError(_INIT_ERROR + "\nArgument 'wrap_storage' must be UntypedStorage, but got %s"
                        % _torch_class(type(wrap_storage)))
    t = wrap_storage._typed_view()
    if t is None or t.dtype is not dtype:
        raise NotImplementedError("TypedStorage(wrap_storage=..., dtype=%s): these bytes hold %s elements, and tensord "
                                  "has no dtype views (the daemon cannot read one storage as another dtype)"
                                  % (dtype, wrap_storage._t.dtype))
    return t


def _convert_bytes(untyped, target):
    """UntypedStorage.type(T): T(nbytes) filled with the bytes, which fits only where T's
    elements are bytes (torch's "size does not match" otherwise)."""
    if isinstance(target, str):
        name = target.rpartition(".")[2]
        if name.endswith("Tensor"):  # torch copies the bytes into a tensor of that type, which fails so
            raise TypeError("copy_(): argument 'other' (position 1) must be Tensor, not torch.storage.UntypedStorage")
        target = _LEGACY_BY_NAME.get(name)
        if target is None:
            raise ValueError("invalid type: '%s'" % name)
    if not (isinstance(target, type) and issubclass(target, _LegacyStorage)):
        raise TypeError("type(): expected a storage type, got %s" % target)
    if target.dtype.itemsize != 1:
        raise RuntimeError("size does not match")
    return TypedStorage._over(_from_bytes(target.dtype, untyped._read(0, untyped.nbytes()), untyped.device))


def _typed_from_buffer(buffer, byte_order, count, offset, dt):
    """TypedStorage.from_buffer: checks and messages as torch's (which name the offset
    as the buffer length and the other way round)."""
    try:
        raw = memoryview(buffer).cast("B")
    except TypeError:
        raise TypeError("a bytes-like object is required, not '%s'" % type(buffer).__name__) from None
    if byte_order is None and dt not in (uint8, int8):
        raise RuntimeError("function missing required argument 'byte_order' (pos 2)")
    if byte_order not in (None, "native", "little", "big"):
        raise ValueError("invalid byte_order '%s' (expected 'big', 'little', or 'native')" % byte_order)
    n, isz = len(raw), dt.itemsize
    if offset < 0 or offset > n:
        raise ValueError("offset must be non-negative and no greater than buffer length (%d) , but got %d"
                         % (offset, n))
    if count < 0:
        if (n - offset) % isz:
            raise ValueError("buffer size (%d) must be a multiple of element size (%d)" % (n, isz))
        count = (n - offset) // isz
    elif offset + count * isz > n:
        raise ValueError("buffer has only %d elements after offset %d, but specified a size of %d"
                         % (n - offset, offset, count))
    data = bytes(raw[offset:offset + count * isz])
    word = isz // 2 if dt.is_complex else isz  # a complex number is two words, each swapped
    if word > 1 and byte_order == ("little" if _sys.byteorder == "big" else "big"):
        data = b"".join(data[i:i + word][::-1] for i in range(0, len(data), word))
    if dt is bool_:
        data = bytes(1 if v else 0 for v in data)
    return TypedStorage._over(_from_bytes(dt, data, _device("cpu")))


def _rebuild_storage(dtype_name, device, raw):
    """What a pickled storage unpickles through: a new storage holding raw."""
    dev = _device(device)
    if dtype_name is None:
        return UntypedStorage._window(_from_bytes(uint8, raw, dev), 0, len(raw))
    return TypedStorage._over(_from_bytes(getattr(_T, dtype_name), raw, dev))


# ------------------------------------------------------------------ the legacy classes

class _LegacyStorageMeta(type):
    """isinstance(s, FloatStorage) asks s's dtype (and device), as torch's metaclass."""

    def __instancecheck__(cls, instance):
        if type(instance) is TypedStorage:
            return instance.device.type == "cpu" and instance.dtype is cls.dtype
        return type.__instancecheck__(cls, instance)


class _LegacyStorage(TypedStorage, metaclass=_LegacyStorageMeta):
    """The base of FloatStorage and the other legacy classes: constructing one makes a
    TypedStorage of the class's dtype on the CPU."""

    @classmethod
    def _new_shared(cls, size):
        return TypedStorage(size, dtype=cls.dtype).share_memory_()


def legacy_class(dt):
    """The legacy storage class of dtype dt (FloatStorage for float32), made once."""
    name = LEGACY_NAMES[dt]
    cls = _LEGACY_BY_NAME.get(name)
    if cls is None:
        cls = _LEGACY_BY_NAME[name] = _LegacyStorageMeta(name, (_LegacyStorage,), {"dtype": dt,
                                                                                  "__module__": "tensord"})
    return cls


def _legacy_new(cls, args, wrap_storage, dtype, device):
    """FloatStorage(...): FloatStorage(), (size), (sequence) or (wrap_storage=untyped)."""
    err = ("%s.__new__ received an invalid combination of arguments. Expected one of:\n * no arguments\n"
           " * (int size)\n * (Sequence data)\n * (*, UntypedStorage wrap_storage)" % _torch_class(cls))
    if device is not None:
        raise RuntimeError(err + "\nKeyword argument 'device' cannot be specified")
    if dtype is not None:
        raise RuntimeError(err + "\nKeyword argument 'dtype' cannot be specified")
    if wrap_storage is None:
        if len(args) > 1:
            raise RuntimeError(err + "\nToo many positional arguments")
        if args and not _is_index(args[0]) and not isinstance(args[0], collections.abc.Sequence):
            raise TypeError(err + "\nArgument type not recognized: %s" % type(args[0]))
        return TypedStorage(*args, dtype=cls.dtype, device="cpu")
    if args:
        raise RuntimeError(err + "\nNo positional arguments should be given when using 'wrap_storage'")
    if not isinstance(wrap_storage, UntypedStorage):
        raise TypeError(err + "\nArgument 'wrap_storage' must be UntypedStorage, but got %s"
                        % _torch_class(type(wrap_storage)))
    if wrap_storage.device.type != "cpu":
        raise RuntimeError(err + "\nDevice of 'wrap_storage' must be cpu, but got %s" % wrap_storage.device.type)
    return TypedStorage(wrap_storage=wrap_storage, dtype=cls.dtype)


# ------------------------------------------------------------------ tensors over storages

def is_storage(obj):
    return isinstance(obj, _StorageBase)


def tensor_over(storage, dt, what):
    """The 1-d tensor of dtype dt over storage (a TypedStorage of dt, or an UntypedStorage
    holding dt's elements), for set_ and the constructors; what says who asks, for torch's
    error: "set_" or "new"."""
    if isinstance(storage, TypedStorage):
        if storage.dtype is not dt:
            expected = _CPP_NAMES[dt] if what == "set_" else dt._torch_name
            raise RuntimeError("Expected a Storage of type %s or an UntypedStorage, but got type %s for argument 1 "
                               "'storage'" % (expected, storage.dtype._torch_name))
        return storage._t
    t = storage._typed_view()
    if t is None or t.dtype is not dt:
        raise NotImplementedError("a %s tensor over an UntypedStorage holding %s elements: tensord has no dtype views "
                                  "(the daemon cannot read one storage as another dtype)" % (dt, storage._t.dtype))
    return t


def tensor_from_storage(storage, dtype):
    """torch.tensor(storage): a TypedStorage of the wanted dtype (dtype=, else the
    default) is taken as it is (the tensor views it, as torch 1.13's does); an
    UntypedStorage's bytes are read as that dtype (else int64, as torch's: a copy)."""
    if isinstance(storage, UntypedStorage):
        dt = dtype or int64
        n = storage.nbytes() // dt.itemsize * dt.itemsize
        return _from_bytes(dt, storage._read(0, n), storage.device)
    dt = dtype or get_default_dtype()
    if storage.dtype is not dt:
        raise RuntimeError("Expected a Storage of type %s or an UntypedStorage, but got %s"
                           % (dt._torch_name, storage.dtype._torch_name))
    return F.alias(storage._t)


FloatStorage, DoubleStorage, HalfStorage, BFloat16Storage = (legacy_class(d) for d in (float32, float64, float16,
                                                                                       bfloat16))
LongStorage, IntStorage, ShortStorage, CharStorage, ByteStorage = (legacy_class(d) for d in (int64, int32, int16, int8,
                                                                                          uint8))
BoolStorage, ComplexFloatStorage, ComplexDoubleStorage = (legacy_class(d) for d in (bool_, complex64, complex128))
