"""Checkpoints, as torch.serialization: tensord.save and tensord.load in PyTorch's zip
format (the one torch.save writes by default since 1.6), so files go both ways between
tensord and PyTorch; safetensors files through save_safetensors/load_safetensors
(_safetensors.py).

The zip holds, under one directory (tensord writes "archive/"; torch names it after the
file, and readers take whatever the first entry says):
    data.pkl     the object, pickled (protocol 2); each tensor is the call
                 torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
                 requires_grad, OrderedDict()), each storage a persistent id
                 ('storage', torch.<Type>Storage, key, location, numel)
    data/<key>   a storage's bytes, little-endian, aligned to 64 bytes in the file
    version      "3"
A storage is written once however many tensors (and storage objects, storage.py) view
it; load makes one tensord tensor per storage (a "base") and every saved tensor a view
of it (as_strided), so views that shared memory when saved share it after loading.  A
saved storage object loads as a TypedStorage over its base (torch 1.13 answers a
TypedStorage too, also for an UntypedStorage saved, as uint8); a map_location callable
gets the storage as an UntypedStorage, as torch's.

tensord writes globals under torch's names (torch.FloatStorage, torch.float32,
torch.Size, and any class of a tensord.X module as torch.X), and load maps torch.X back to
tensord.X, so checkpoints of objects whose classes both libraries have load in either.

What it does not do: the legacy pre-1.6 (non-zip) format, TorchScript archives, sparse
or quantized tensors (errors say so); save pickles with its own pickler (the pure-Python
pickle._Pickler, which can write torch's globals without importing torch), so
pickle_module other than pickle is refused."""
import _compat_pickle
import collections
import io
import os
import pickle
import pickletools
import struct
import sys
import warnings
import zipfile

import numpy as np

from . import _C, _daemon
from . import _records as F
from ._dtype import DTYPES, dtype as _dtype_cls, uint8
from ._safetensors import load_safetensors, read_safetensors_metadata, save_safetensors
from .storage import LEGACY_NAMES, TypedStorage, UntypedStorage
from ._size import Size, cuda_devices, device
from ._tensor_new import to_device

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "read_safetensors_metadata", "add_safe_globals",
           "get_safe_globals", "clear_safe_globals", "safe_globals"]

TB = _C.TensorBase
_STORAGE_NAMES = LEGACY_NAMES  # dtype -> torch's storage class name ("FloatStorage")
_STORAGE_DTYPES = {name: dt for dt, name in _STORAGE_NAMES.items()}
_STORAGE_DTYPES["UntypedStorage"] = uint8  # torch 2.x's bytes-only storage
_FORMAT_VERSION = b"3\n"
_MAX_VERSION = 10  # the newest zip format version torch 1.13's reader accepts
_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c  # the first object of a pre-1.6 (non-zip) torch checkpoint
_ALIGN = 64
UNSAFE_MESSAGE = ("Weights only load failed. Re-running `torch.load` with `weights_only` set to `False` will likely "
                  "succeed, but it can result in arbitrary code execution.Do it only if you get the file from a "
                  "trusted source. WeightsUnpickler error: ")


def _parameter_class():
    """tensord.nn.Parameter when the nn package defines it (looked up, never imported here)."""
    return getattr(sys.modules.get("tensord.nn"), "Parameter", None)


# ------------------------------------------------------------------------ saving

class _Global:
    """A name written as pickle's GLOBAL opcode (module, name); it need not be importable
    in this process (torch is not needed to write torch's names)."""

    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle's save_reduce wants a callable; this one is only written
        raise TypeError("%s.%s is only a name written into a checkpoint" % (self.module, self.name))


_REBUILD_TENSOR_V2 = _Global("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _Global("torch._utils", "_rebuild_parameter")
_TORCH_SIZE = _Global("torch", "Size")
_TORCH_DEVICE = _Global("torch", "device")
_STORAGE_GLOBALS = {dt: _Global("torch", name) for dt, name in _STORAGE_NAMES.items()}
_UNTYPED_GLOBAL = _Global("torch.storage", "UntypedStorage")
_DTYPE_GLOBALS = {dt: _Global("torch", dt._name) for dt in DTYPES}


class _StorageRef:
    """A storage being saved: its key in the archive, a tensor viewing it and the type it
    is saved as (a dtype, or None for an UntypedStorage: its bytes, as uint8)."""

    __slots__ = ("key", "dtype", "numel", "tensor")

    def __init__(self, key, tensor, dt):
        self.key, self.dtype, self.tensor = key, dt, tensor
        self.numel = tensor._storage_nbytes // (dt.itemsize if dt is not None else 1)


def _torch_module(module):
    """tensord.X -> torch.X (tensord mirrors torch's layout); other modules unchanged."""
    if module == "tensord" or module.startswith("tensord."):
        return "torch" + module[len("tensord"):]
    return module


class _Pickler(pickle._Pickler):
    """pickle's pure-Python pickler, taught torch's forms: tensors reduce to
    _rebuild_tensor_v2 over a persistent storage id, dtypes/Size/device to torch's
    globals, tensord.X classes to torch.X."""

    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file, protocol):
        super().__init__(file, protocol)
        self.storages = {}  # storage key of the session -> _StorageRef, in the order first met
        self.keep = []  # the tensors of the storage objects met

    def _write_global(self, module, name):
        self.write(pickle.GLOBAL + (module + "\n" + name + "\n").encode("utf-8"))

    def save_marker(self, obj):
        self._write_global(obj.module, obj.name)
        self.memoize(obj)

    def save_dtype(self, obj):
        self.save(_DTYPE_GLOBALS[obj])

    dispatch[_Global] = save_marker
    dispatch[_dtype_cls] = save_dtype

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", None) or ""
        torch_module = _torch_module(module)
        if torch_module == module:
            return super().save_global(obj, name)
        self._write_global(torch_module, name or obj.__qualname__)
        self.memoize(obj)

    def persistent_id(self, obj):
        if isinstance(obj, (TypedStorage, UntypedStorage)):
            obj = self._storage_object(obj)
        if type(obj) is _StorageRef:
            kind = _STORAGE_GLOBALS[obj.dtype] if obj.dtype is not None else _UNTYPED_GLOBAL
            return ("storage", kind, obj.key, str(obj.tensor.device), obj.numel)
        return None

    def _storage_object(self, s):
        """A storage object: its daemon storage when it covers all of it, else (a byte
        window of an UntypedStorage) a copy of its elements, saved on its own."""
        t = s._carrier()
        if t._offset != 0 or t.numel() * t.element_size() != t._storage_nbytes:
            t = F.clone(t)
        self.keep.append(t)  # alive until the archive is written (a copy's key must not be reused)
        return self._storage_of(t, s.dtype if isinstance(s, TypedStorage) else None)

    def reducer_override(self, obj):
        if isinstance(obj, TB):
            return self._reduce_tensor(obj)
        if isinstance(obj, Size):
            return (_TORCH_SIZE, (tuple(obj),))
        if isinstance(obj, device):
            return (_TORCH_DEVICE, (str(obj),))
        return NotImplemented

    def _storage_of(self, t, dt):
        ref = self.storages.get(t._storage_key)
        if ref is None:
            ref = self.storages[t._storage_key] = _StorageRef(str(len(self.storages)), t, dt)
        elif ref.dtype is not dt:
            raise RuntimeError("Cannot save multiple tensors or storages that view the same data as different types")
        return ref

    def _reduce_tensor(self, t):
        param = _parameter_class()
        if param is not None and isinstance(t, param):
            return (_REBUILD_PARAMETER, (F.detach(t), t.requires_grad, collections.OrderedDict()))
        return (_REBUILD_TENSOR_V2, (self._storage_of(t, t.dtype), t._offset, tuple(t.shape), tuple(t._strides),
                                     t.requires_grad, collections.OrderedDict()))


def _storage_bytes(ref):
    t = F.detach(ref.tensor)
    return _C.to_bytes(F.as_strided(t, [t._storage_nbytes // t.element_size()], [1], 0))


def _write_record(z, name, data, align):
    """Writes one stored (uncompressed) entry; with align, pads the local header's extra
    field so the data starts at a multiple of 64 bytes, as torch's writer does."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    if align:
        header = 30 + len(name.encode("utf-8")) + 4
        if len(data) * 1.05 > zipfile.ZIP64_LIMIT:
            header += 20  # zipfile adds a zip64 extra record after ours
        pad = -(z.fp.tell() + header) % _ALIGN
        info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
    z.writestr(info, data)


def save(obj, f, pickle_module=pickle, pickle_protocol=2, _use_new_zipfile_serialization=True):
    """Saves obj (tensors, containers of them, state dicts, any picklable object) to f (a
    path, a PathLike or a binary file object) in torch's zip checkpoint format; torch.load
    reads it."""
    if not _use_new_zipfile_serialization:
        raise NotImplementedError("tensord.save writes only the zip format (torch's default since 1.6); "
                                  "_use_new_zipfile_serialization=False is not supported")
    if pickle_module is not None and pickle_module is not pickle:
        raise NotImplementedError("tensord.save pickles with its own pickler (a pickle._Pickler); "
                                  "pickle_module=%r is not supported" % (pickle_module,))
    buf = io.BytesIO()
    p = _Pickler(buf, pickle_protocol)
    p.dump(obj)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            _write_archive(fh, buf.getvalue(), p.storages.values())
    else:
        _write_archive(f, buf.getvalue(), p.storages.values())


def _write_archive(fh, pkl, storages):
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as z:
        _write_record(z, "archive/data.pkl", pkl, False)
        for ref in storages:
            _write_record(z, "archive/data/" + ref.key, _storage_bytes(ref), True)
        _write_record(z, "archive/version", _FORMAT_VERSION, False)


# ------------------------------------------------------------------------ loading

class _StorageType:
    """What a torch.<Type>Storage global unpickles to: the storage's dtype."""

    __slots__ = ("dtype",)

    def __init__(self, dt):
        self.dtype = dt


def _check_sizes(name, v):
    if not isinstance(v, (tuple, list)) or not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        raise RuntimeError("tensord.load: corrupt checkpoint: a tensor's %s is %r, not a tuple of ints" % (name, v))


def _view_of(storage, storage_offset, size, stride):
    """The saved tensor as a view of its storage's base tensor, after checking that the
    view stays inside the storage (the file may be corrupt or hostile)."""
    if isinstance(storage, TypedStorage):
        storage = storage._t
    if not isinstance(storage, TB):
        raise RuntimeError("tensord.load: corrupt checkpoint: a tensor's storage is a %s" % type(storage).__name__)
    _check_sizes("size", size)
    _check_sizes("stride", stride)
    if len(size) != len(stride) or not isinstance(storage_offset, int) or storage_offset < 0 or \
            any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise RuntimeError("tensord.load: corrupt checkpoint: invalid view (offset %r, size %r, stride %r)"
                           % (storage_offset, tuple(size), tuple(stride)))
    n = storage.numel()
    if all(size):
        last = storage_offset + sum((s - 1) * st for s, st in zip(size, stride))
        if last >= n:
            raise RuntimeError("tensord.load: corrupt checkpoint: a tensor of size %s, stride %s at offset %d "
                               "reaches past its storage of %d elements" % (list(size), list(stride),
                                                                            storage_offset, n))
    return F.as_strided(storage, list(size), list(stride), storage_offset)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _view_of(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    t = _view_of(storage, storage_offset, size, stride)
    if requires_grad:
        t.requires_grad = True
    return t


def _rebuild_parameter(data, requires_grad, backward_hooks):
    param = _parameter_class()
    if param is not None:
        return param(data, requires_grad)
    data.requires_grad = bool(requires_grad)  # no tensord.nn.Parameter: a tensor that requires grad
    return data


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    p = _rebuild_parameter(data, requires_grad, backward_hooks)
    for k, v in (state or {}).items():
        setattr(p, k, v)
    return p


_REBUILDS = {"_rebuild_tensor": _rebuild_tensor, "_rebuild_tensor_v2": _rebuild_tensor_v2,
             "_rebuild_parameter": _rebuild_parameter}


def _torch_global(module, name, weights_only):
    """The tensord object for torch's global module.name, or None when there is none.
    weights_only allows only the rebuild functions, storages, dtypes, Size, device and
    Parameter."""
    if module == "torch._utils" and name in _REBUILDS:
        return _REBUILDS[name]
    if module.startswith("torch") and name in _STORAGE_DTYPES:  # torch.FloatStorage, torch.cuda.FloatStorage, ...
        return _StorageType(_STORAGE_DTYPES[name])
    if module == "torch":
        if name in ("Size", "device"):
            return Size if name == "Size" else device
        dt = getattr(sys.modules["tensord"], name, None)
        if isinstance(dt, _dtype_cls):
            return dt
    if module == "torch.nn.parameter" and name == "Parameter":
        return _parameter_class()
    if weights_only:
        return None
    if module == "torch._utils" and name == "_rebuild_parameter_with_state":
        return _rebuild_parameter_with_state
    if module == "torch" or module.startswith("torch."):
        return _tensord_attr("tensord" + module[len("torch"):], name)
    return None


def _tensord_attr(module, name):
    try:
        __import__(module)
    except ImportError:
        return None
    obj = sys.modules[module]
    for part in name.split("."):
        obj = getattr(obj, part, None)
    return obj


class _Loader:
    """One torch zip archive being read: its records and the bases of the storages
    loaded so far (one per key, so views of one storage share it)."""

    def __init__(self, fh, map_location):
        try:
            self.zip = zipfile.ZipFile(fh)
        except zipfile.BadZipFile:
            raise RuntimeError("PytorchStreamReader failed reading zip archive: failed finding central directory") \
                from None
        names = self.zip.namelist()
        if not names:
            raise RuntimeError("PytorchStreamReader failed reading zip archive: no records")
        self.prefix = names[0].split("/", 1)[0] + "/"  # the archive's directory, as torch's reader finds it
        self.map_location = map_location
        self.storages = {}
        if self.prefix + "constants.pkl" in names:
            raise RuntimeError("tensord.load: this is a TorchScript archive (torch.jit.save), which tensord cannot "
                               "load")
        self._check_version()
        order = self.get_record("byteorder", optional=True)
        if order not in (None, b"little", b"big"):
            raise RuntimeError("tensord.load: unknown byteorder record %r" % order)
        self.big_endian = order == b"big"

    def get_record(self, name, optional=False):
        try:
            return self.zip.read(self.prefix + name)
        except KeyError:
            if optional:
                return None
            raise RuntimeError("PytorchStreamReader failed locating file %s: file not found" % name) from None
        except (zipfile.BadZipFile, OSError, ValueError) as e:  # a damaged entry or CRC mismatch
            raise RuntimeError("PytorchStreamReader failed reading file %s: %s" % (name, e)) from None

    def _check_version(self):
        raw = self.get_record("version", optional=True)
        if raw is None:
            raw = self.get_record(".data/version")
        try:
            v = int(raw.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            raise RuntimeError("tensord.load: corrupt checkpoint: version record %r is not a number" % raw) from None
        if v < 1 or v > _MAX_VERSION:
            raise RuntimeError("Attempted to read a PyTorch file with version %d, but the maximum supported version "
                               "for reading is %d. Your PyTorch installation may be too old." % (v, _MAX_VERSION))

    def persistent_load(self, saved_id):
        if not isinstance(saved_id, tuple) or len(saved_id) != 5:
            raise pickle.UnpicklingError("unsupported persistent id encountered")
        typename, storage_type, key, location, numel = saved_id
        typename = typename.decode("ascii") if isinstance(typename, bytes) else typename
        if typename != "storage":
            raise RuntimeError("Unknown typename for persistent_load, expected 'storage' but got '%s'" % typename)
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or \
                not isinstance(numel, int) or numel < 0:
            raise RuntimeError("tensord.load: corrupt checkpoint: invalid storage id %r" % (saved_id,))
        location = location.decode("ascii") if isinstance(location, bytes) else location
        if key not in self.storages:
            base = self._load_storage(storage_type.dtype, numel, key, location)
            self.storages[key] = TypedStorage._over(base)  # one object per key, as torch's loaded_storages
        storage = self.storages[key]
        if storage.dtype is not storage_type.dtype:
            raise RuntimeError("tensord.load: storage %s is read as %s and as %s; tensord has no dtype views"
                               % (key, storage.dtype, storage_type.dtype))
        return storage

    def _load_storage(self, dt, numel, key, location):
        raw = self.get_record("data/" + key)
        if len(raw) != numel * dt.itemsize:
            raise RuntimeError("tensord.load: corrupt checkpoint: data/%s holds %d bytes, but its storage is %d "
                               "elements of %s (%d bytes)" % (key, len(raw), numel, dt, numel * dt.itemsize))
        if self.big_endian and dt.itemsize > 1:
            word = dt.itemsize // 2 if dt.is_complex else dt.itemsize
            raw = np.frombuffer(raw, np.uint8).reshape(-1, word)[:, ::-1].tobytes()
        _daemon.ensure()  # load may be the process's first use of tensord
        base = _C.from_buffer(dt._index, (numel,), raw)
        return _restore(base, location, self.map_location)


def _device_number(location, dt):
    """The daemon's device number for a storage location ('cpu', 'cuda:1', a device);
    torch's errors for a CUDA location without CUDA or beyond the devices there are."""
    loc = str(location)
    if loc == "cpu":
        return 0
    if loc.startswith("cuda"):
        n, _ = cuda_devices()
        if n == 0:
            raise RuntimeError("Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is "
                               "False. If you are running on a CPU-only machine, please use torch.load with "
                               "map_location=torch.device('cpu') to map your storages to the CPU.")
        index = device(loc).index or 0
        if index >= n:
            raise RuntimeError("Attempting to deserialize object on CUDA device %d but torch.cuda.device_count() is "
                               "%d. Please use torch.load with map_location to map your storages to an existing "
                               "device." % (index, n))
        return 1 + index
    raise RuntimeError("don't know how to restore data location of torch.%s (tagged with %s)"
                       % (_STORAGE_NAMES.get(dt, "Storage"), loc))


def _restore(base, location, map_location):
    """map_location applied to one storage (its base tensor): None keeps the saved
    location, a str/device names the target, a dict maps saved locations, a callable
    (storage, location) gets the storage as an UntypedStorage (as torch's) and returns
    the UntypedStorage to use (None: the default)."""
    if map_location is None:
        target = location
    elif isinstance(map_location, dict):
        target = map_location.get(location, location)
    elif isinstance(map_location, (str, device)):
        target = map_location
    elif callable(map_location):
        r = map_location(TypedStorage._over(base).untyped(), location)
        if r is None:
            target = location
        else:
            t = r._typed_view() if isinstance(r, UntypedStorage) else None
            if t is None or t.dtype is not base.dtype or t.numel() != base.numel():
                raise RuntimeError("tensord.load: map_location must return the storage it was given (an "
                                   "UntypedStorage of %d bytes holding %s elements) or None"
                                   % (base.numel() * base.element_size(), base.dtype))
            return t
    else:
        target = map_location
    return to_device(base, _device_number(target, base.dtype))


def _encode(text, encoding="utf-8"):
    """What protocol-2 pickles of bytes call (_codecs.encode(str, 'latin1')), narrowed to
    str.encode: weights_only allows it as torch 2.x does."""
    if not isinstance(text, str) or not isinstance(encoding, str):
        raise RuntimeError("_codecs.encode: expected (str, str)")
    return text.encode(encoding)


# ---- the globals weights_only=True also allows (torch 2.x's add_safe_globals)
_safe_globals = []


def add_safe_globals(safe_globals):
    """Allows these classes and functions in `load(weights_only=True)` too, as torch 2.x's
    torch.serialization.add_safe_globals: each an object, or (object, "module.name") for
    an object pickled under another name."""
    for g in safe_globals:
        if isinstance(g, tuple) and not (len(g) == 2 and isinstance(g[1], str)):
            raise ValueError("Expected tuple of length 2 (global, str of callable full path), but got %r" % (g,))
    _safe_globals.extend(safe_globals)


def get_safe_globals():
    return list(_safe_globals)


def clear_safe_globals():
    _safe_globals.clear()


class safe_globals:
    """with safe_globals([...]): add_safe_globals for the block only."""

    def __init__(self, safe_globals):
        self.globals = list(safe_globals)

    def __enter__(self):
        self.saved = list(_safe_globals)
        add_safe_globals(self.globals)

    def __exit__(self, *exc):
        _safe_globals[:] = self.saved
        return False


def _allowed_global(module, name):
    """The object module.name when add_safe_globals allows it, else None."""
    if (module, name) in _compat_pickle.NAME_MAPPING:  # protocol 2's Python 2 names (__builtin__.set)
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    full = module + "." + name
    # a tensord object a checkpoint names by its torch name (torch.nn.modules.linear.Linear)
    as_torch = _torch_global(module, name, False) if module == "torch" or module.startswith("torch.") else None
    for g in _safe_globals:
        if isinstance(g, tuple):
            if g[1] == full:
                return g[0]
        elif g is as_torch or (getattr(g, "__module__", None), getattr(g, "__qualname__", None)) == (module, name):
            return g
    return None


def _unpickler_class(base, loader, weights_only):
    class Unpickler(base):
        def find_class(self, module, name):
            obj = _torch_global(module, name, weights_only)
            if obj is not None:
                return obj
            if weights_only:
                if module == "collections" and name == "OrderedDict":
                    return collections.OrderedDict
                if module == "_codecs" and name == "encode":
                    return _encode
                obj = _allowed_global(module, name)
                if obj is not None:
                    return obj
                raise RuntimeError("Unsupported class %s.%s" % (module, name))
            if module == "torch" or module.startswith("torch."):
                raise pickle.UnpicklingError("tensord.load: the checkpoint refers to %s.%s, which tensord does not "
                                             "have" % (module, name))
            return super().find_class(module, name)

        def persistent_load(self, saved_id):
            return loader.persistent_load(saved_id)

    return Unpickler


class _open_for_read:
    """A path is opened (and closed); a file object is used as it is and must be seekable."""

    def __init__(self, f):
        self.f, self.opened = f, None

    def __enter__(self):
        if isinstance(self.f, (str, os.PathLike)):
            self.opened = open(self.f, "rb")
            return self.opened
        try:
            self.f.seek(self.f.tell())
        except (io.UnsupportedOperation, AttributeError) as e:
            raise type(e)(str(e) + ". You can only torch.load from a file that is seekable. Please pre-load the "
                          "data into a buffer like io.BytesIO and try to load from it instead.") from None
        return self.f

    def __exit__(self, *exc):
        if self.opened is not None:
            self.opened.close()
        return False


def _is_zipfile(fh):
    start = fh.tell()
    head = fh.read(4)
    fh.seek(start)
    return head == b"PK\x03\x04"


class _MagicUnpickler(pickle.Unpickler):
    """Reads only the leading number of a legacy file: no global may be loaded."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError("not a legacy checkpoint")


def _legacy_error(fh):
    try:
        magic = _MagicUnpickler(fh).load()
    except EOFError:
        raise
    except Exception:
        magic = None
    if magic == _LEGACY_MAGIC:
        raise RuntimeError("tensord.load: this checkpoint is in torch's legacy (non-zip) format, written by "
                           "PyTorch before 1.6 or with _use_new_zipfile_serialization=False; tensord reads only the "
                           "zip format. Load it in PyTorch and save it again with torch.save's defaults.")
    raise RuntimeError("Invalid magic number; corrupt file?")


def _check_pickle(data):
    """Refuses a malformed data.pkl before unpickling it.  CPython's unpickler sizes things
    from the stream before it reads them: a PUT's memo index (the memo grows, zeroed, to it)
    and a BYTES8/BYTEARRAY8's length (allocated first) -- gigabytes for one damaged byte.
    pickletools walks the opcodes without building anything and fails on an argument longer
    than what remains or an unknown opcode; a valid pickle numbers its memo slots from 0 and
    each PUT takes at least 2 bytes, so an index of len(data) or more is corruption too."""
    try:
        with warnings.catch_warnings():  # a damaged STRING's escapes warn while decoded
            warnings.simplefilter("ignore", DeprecationWarning)
            for op, arg, _ in pickletools.genops(data):
                if op.name in ("PUT", "BINPUT", "LONG_BINPUT") and arg >= len(data):
                    raise ValueError("memo index %d in a pickle of %d bytes" % (arg, len(data)))
    except (ValueError, TypeError, struct.error, UnicodeDecodeError) as e:
        raise pickle.UnpicklingError("tensord.load: corrupt checkpoint: data.pkl: %s" % e) from None


def load(f, map_location=None, pickle_module=None, *, weights_only=False, **pickle_load_args):
    """Loads an object saved by tensord.save or by torch.save (zip format) from f (a path,
    a PathLike or a seekable binary file object).  Tensors come back on the CPU, views of
    one storage as views of one tensord tensor, with requires_grad as saved.

    map_location: None, 'cpu', a tensord.device, a dict {saved location: location} or a
    callable(storage, location) -> storage or None (the storage is a 1-d tensord tensor).
    weights_only=True unpickles with a restricted unpickler: only tensors (the rebuild
    functions and storages), Parameter, dtypes, Size, device, OrderedDict, pickle's
    primitive types and containers, and what add_safe_globals/safe_globals allow; anything
    else raises pickle.UnpicklingError before it is called.  torch 1.13's default is weights_only=False (the full pickle: load only
    files you trust).  The environment variable TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 forces it."""
    if os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in ("1", "y", "yes", "true"):
        weights_only = True
    if weights_only:
        if pickle_module is not None:
            raise RuntimeError("Can not safely load weights when expiclit picke_module is specified")
        pickle_module = pickle
    elif pickle_module is None:
        pickle_module = pickle
    pickle_load_args.setdefault("encoding", "utf-8")
    with _open_for_read(f) as fh:
        if not _is_zipfile(fh):
            _legacy_error(fh)
        loader = _Loader(fh, map_location)
        data = loader.get_record("data.pkl")
        _check_pickle(data)
        if not weights_only:
            return _unpickler_class(pickle_module.Unpickler, loader, False)(io.BytesIO(data), **pickle_load_args) \
                .load()
        try:
            return _unpickler_class(pickle.Unpickler, loader, True)(io.BytesIO(data), **pickle_load_args).load()
        except (RuntimeError, pickle.UnpicklingError) as e:
            raise pickle.UnpicklingError(UNSAFE_MESSAGE + str(e)) from None
