"""torch.Size and torch.device."""

import os


class Size(tuple):
    """The shape of a tensor: a tuple of ints printed as torch.Size([2, 3])."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
        for s in sizes:  # plain ints (every shape a tensor reports) need no conversion
            if type(s) is not int:
                break
        else:
            return tuple.__new__(cls, sizes)
        for s in sizes:
            if not isinstance(s, int) and not hasattr(s, "__index__"):
                raise TypeError("torch.Size() takes an iterable of 'int' (item %d is '%s')"
                                % (sizes.index(s), type(s).__name__))
        return super().__new__(cls, (s.__index__() for s in sizes))

    def __repr__(self):
        return "torch.Size([" + ", ".join(str(s) for s in self) + "])"

    __str__ = __repr__

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(other) + tuple(self))

    def __reduce__(self):
        return (Size, (tuple(self),))

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n


class device:
    """torch.device: tensord serves 'cpu' today."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError("device() received an invalid combination of arguments")
        t, _, idx = type.partition(":")
        if t not in ("cpu", "cuda"):
            raise RuntimeError("Expected one of cpu, cuda device type at start of device string: " + type)
        if idx:
            index = int(idx)
        self.type, self.index = t, index

    def __repr__(self):
        if self.index is None:
            return "device(type='%s')" % self.type
        return "device(type='%s', index=%d)" % (self.type, self.index)

    def __str__(self):
        return self.type if self.index is None else "%s:%d" % (self.type, self.index)

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))

    def __enter__(self):
        """with torch.device(d): factories without a device create on d (torch 2.x)."""
        _default_device["stack"].append(_default_device["device"])
        set_default_device(self)
        return self

    def __exit__(self, *exc):
        _default_device["device"] = _default_device["stack"].pop()
        return False


CPU = device("cpu")


# ---- device numbers: 0 is the CPU, 1 + i is cuda:i (the daemon's numbering)

_NO_CUDA = "Torch not compiled with CUDA enabled"
_cuda = {"pid": None, "count": 0, "why": "", "current": 0}


def cuda_devices():
    """(count, why none) of the daemon's GPUs, asked once per process."""
    if _cuda["pid"] != os.getpid():
        from . import _C, _daemon
        _daemon.ensure()
        q = _C.device_query(0, 0)
        _cuda["count"] = int.from_bytes(q[:8], "little", signed=True)
        _cuda["why"] = q[8:].split(b"\0", 1)[0].decode("utf-8", "replace")
        _cuda["pid"] = os.getpid()
    return _cuda["count"], _cuda["why"]


def cuda_unavailable():
    """The error torch raises when a CUDA device is asked for and none exists."""
    n, why = cuda_devices()
    if why.startswith("tensord was built without CUDA"):
        return AssertionError(_NO_CUDA)
    return RuntimeError("Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and "
                        "installed a driver from http://www.nvidia.com/Download/index.aspx (tensord: %s)" % why)


def cuda_index(index):
    """Checks a CUDA ordinal (None: the current device) against the daemon's GPUs."""
    n, _ = cuda_devices()
    if n == 0:
        raise cuda_unavailable()
    if index is None:
        index = _cuda["current"]
    if index < 0 or index >= n:
        raise RuntimeError("CUDA error: invalid device ordinal")
    return index


def cuda_ordinal(device):
    """The CUDA ordinal torch.cuda's functions take: an int, a str or torch.device of type
    cuda, or None (the current device); checked against the daemon's GPUs."""
    if device is None:
        return cuda_index(None)
    if isinstance(device, int) and not isinstance(device, bool):
        return cuda_index(device)
    d = as_device(device)
    if d.type != "cuda":
        raise ValueError("Expected a cuda device, but got: %s" % d)
    return cuda_index(d.index)


def as_device(d):
    """str / int (a CUDA ordinal) / torch.device -> torch.device, unchecked."""
    if isinstance(d, device):
        return d
    if isinstance(d, str):
        return device(d)
    if isinstance(d, int) and not isinstance(d, bool):
        if d < 0:
            raise RuntimeError("Device index must not be negative")
        return device("cuda", d)
    raise TypeError("device must be a str or torch.device, not %s" % type(d).__name__)


_default_device = {"device": None, "stack": []}  # set_default_device's (None: the CPU)


def set_default_device(d):
    """torch.set_default_device: where factories create when given no device (None: the CPU)."""
    if d is not None:
        d = as_device(d)
        check_device(d)
    _default_device["device"] = d if d is not None and d.type != "cpu" else None


def get_default_device():
    d = _default_device["device"]
    if d is None:
        return CPU
    return device("cuda", cuda_index(d.index)) if d.index is None else d


def check_device(d):
    """The daemon's number for device d (None: the default device, the CPU unless
    set_default_device said otherwise); raises like torch for a device that does not
    exist."""
    if d is None:
        d = _default_device["device"]
        if d is None:
            return 0
    dv = as_device(d)
    if dv.type == "cpu":
        return 0
    return 1 + cuda_index(dv.index)


def device_of(number):
    """torch.device of a daemon device number."""
    return CPU if number == 0 else _CUDA[number - 1]


_CUDA = [device("cuda", i) for i in range(16)]
