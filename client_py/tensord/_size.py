"""torch.Size and torch.device."""


class Size(tuple):
    """The shape of a tensor: a tuple of ints printed as torch.Size([2, 3])."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
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


CPU = device("cpu")


def check_device(d):
    """Only CPU tensors exist so far; anything else raises like torch without CUDA."""
    if d is None:
        return
    dv = d if isinstance(d, device) else device(d) if isinstance(d, str) else None
    if dv is None:
        if isinstance(d, int):
            raise AssertionError("Torch not compiled with CUDA enabled")
        raise TypeError("device must be a str or torch.device, not %s" % type(d).__name__)
    if dv.type != "cpu":
        raise AssertionError("Torch not compiled with CUDA enabled")
