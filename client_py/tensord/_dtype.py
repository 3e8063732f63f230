"""dtype objects, in the order of enum td_dtype (kernels/dtype.h)."""
import builtins

import numpy as _np

from . import _op_numbers as _O


class dtype:
    """A tensor element type (torch.dtype)."""

    __slots__ = ("_index", "_name", "is_floating_point", "is_complex", "is_signed", "itemsize", "_np",
                 "_torch_name")

    def __init__(self, index, name, itemsize, kind, npdtype, torch_name):
        self._index = index
        self._name = name
        self.itemsize = itemsize
        self.is_floating_point = kind == 2
        self.is_complex = kind == 3
        self.is_signed = name not in ("uint8", "bool")
        self._np = npdtype
        self._torch_name = torch_name

    def __repr__(self):
        return "torch." + self._name

    __str__ = __repr__

    def __reduce__(self):
        return (_dtype_by_name, (self._name,))

    def to_real(self):
        """complex64 -> float32, complex128 -> float64; real dtypes are returned as they are."""
        return _TO_REAL.get(self, self)

    def to_complex(self):
        """float32 -> complex64, float64 -> complex128 (float16 too gives complex64: tensord has no
        complex32); complex dtypes are returned as they are."""
        if self.is_complex:
            return self
        if self._name == "float64":
            return complex128
        if self.is_floating_point:
            return complex64
        raise RuntimeError("Unknown Complex ScalarType for %s" % self._torch_name)


def _np_dtype(name):
    return None if name == "bfloat16" else _np.dtype(name).type


# kernels/dtype.h's table, through _op_numbers (generated): enum order, name, itemsize, kind
DTYPES = tuple(dtype(i, n, size, kind, _np_dtype(n), tn) for i, (n, size, kind, tn) in enumerate(_O.DTYPES))
float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool_, complex64, complex128 = DTYPES
_TO_REAL = {complex64: float32, complex128: float64}

_BY_NAME = {d._name: d for d in DTYPES}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "long": int64,
                 "int": int32, "short": int16, "cfloat": complex64, "cdouble": complex128})

# numpy dtype -> tensord dtype
_FROM_NP = {_np.dtype(d._np): d for d in DTYPES if d._np is not None}


def _dtype_by_name(name):
    return _BY_NAME[name]


def from_numpy_dtype(npdt):
    d = _FROM_NP.get(_np.dtype(npdt))
    if d is None:
        raise TypeError(
            "can't convert np.ndarray of type numpy.%s. The only supported types are: float64, float32, "
            "float16, complex64, complex128, int64, int32, int16, int8, uint8, and bool." % _np.dtype(npdt).name)
    return d


_default = [float32]


def get_default_dtype():
    return _default[0]


def set_default_dtype(d):
    if not isinstance(d, dtype):
        raise TypeError("invalid dtype object: only floating-point types are supported as the default type")
    if d not in (float32, float64):
        raise TypeError("only floating-point types are supported as the default type")
    _default[0] = d


def check_dtype(d, what="dtype"):
    """None or a dtype; anything else is a TypeError like torch's argument parser."""
    if d is None or isinstance(d, dtype):
        return d
    raise TypeError("argument '%s' must be torch.dtype, not %s" % (what, type(d).__name__))


def default_complex():
    """complex128 when the default dtype is float64, else complex64 (torch's rule)."""
    return complex128 if _default[0] is float64 else complex64


def scalar_dtype(v):
    """The dtype a Python scalar gets when it becomes a tensor."""
    if isinstance(v, (builtins.bool, _np.bool_)):
        return bool_
    if isinstance(v, (builtins.int, _np.integer)):
        return int64
    if isinstance(v, (builtins.complex, _np.complexfloating)):
        return default_complex()
    return _default[0]


# ---- torch.finfo / torch.iinfo: machine limits of the floating-point and integer dtypes
# (bits, eps, max, min, tiny, smallest_normal, resolution) for float32/64/16: numpy's
# finfo; bfloat16: 8 exponent bits, 7 mantissa bits, as torch reports; a complex dtype
# reports its real counterpart.
_BF16 = {"bits": 16, "eps": 2.0 ** -7, "max": float.fromhex("0x1.fep127"), "tiny": 2.0 ** -126, "resolution": 0.01}


def _fmt(v):
    return "%g" % v


class finfo:
    """Machine limits of a floating-point dtype (torch.finfo)."""

    __slots__ = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")

    def __init__(self, type=None):  # noqa: A002  (torch's argument name)
        d = _default[0] if type is None else type
        if not isinstance(d, dtype):
            raise TypeError("finfo(): argument 'type' (position 1) must be torch.dtype, not %s"
                            % builtins.type(d).__name__)
        if not (d.is_floating_point or d.is_complex):
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        d = d.to_real()
        if d is bfloat16:
            lim = _BF16
        else:
            f = _np.finfo(d._np)
            lim = {"bits": f.bits, "eps": float(f.eps), "max": float(f.max), "tiny": float(f.tiny),
                   "resolution": 10.0 ** -builtins.int(f.precision)}
        self.bits, self.eps, self.max, self.tiny = lim["bits"], lim["eps"], lim["max"], lim["tiny"]
        self.min, self.smallest_normal, self.resolution, self.dtype = -self.max, self.tiny, lim["resolution"], d._name

    def __eq__(self, other):
        return isinstance(other, finfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))

    def __repr__(self):
        return "finfo(resolution=%s, min=%s, max=%s, eps=%s, smallest_normal=%s, tiny=%s, dtype=%s)" % (
            _fmt(self.resolution), _fmt(self.min), _fmt(self.max), _fmt(self.eps), _fmt(self.smallest_normal),
            _fmt(self.tiny), self.dtype)

    __str__ = __repr__


class iinfo:
    """Machine limits of an integer dtype (torch.iinfo)."""

    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, type):  # noqa: A002
        if not isinstance(type, dtype):
            raise TypeError("iinfo(): argument 'type' (position 1) must be torch.dtype, not %s"
                            % builtins.type(type).__name__)
        if type is bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if type.is_floating_point or type.is_complex:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        i = _np.iinfo(type._np)
        self.bits, self.max, self.min, self.dtype = i.bits, builtins.int(i.max), builtins.int(i.min), type._name

    def __eq__(self, other):
        return isinstance(other, iinfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

    def __repr__(self):
        return "iinfo(min=%s, max=%s, dtype=%s)" % (_fmt(self.min), _fmt(self.max), self.dtype)

    __str__ = __repr__
