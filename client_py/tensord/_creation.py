"""Creation ops: tensor(), from_numpy, factories and random numbers."""
import builtins
import functools
import math as _math

import numpy as _np

from . import _C, _daemon, _known, _layout
from ._C import ops
from ._dtype import DTYPES, bool_, float64, int64, check_dtype, get_default_dtype, default_complex, from_numpy_dtype
from ._records import TB, index_int, is_scalar, is_complex_scalar, scalar_arg, sizes_arg, cast, _out, \
    checked_value, complex_fill_value, tp_name
from ._size import check_device
from ._tensor_new import _INT_RANGE, _common, _finish, _from_ndarray, placed, tensor

_ensure = _daemon.ensure


def _factory_sizes(args, kw_size, fname):
    if kw_size is not None:
        if args:
            raise TypeError("%s() got multiple values for argument 'size'" % fname)
        args = (kw_size,)
    if len(args) == 1 and isinstance(args[0], (builtins.float, str)) or (
            len(args) == 1 and not isinstance(args[0], (tuple, list, builtins.int, _np.integer, TB))):
        raise TypeError("%s(): argument 'size' (position 1) must be tuple of SymInts, not %s"
                        % (fname, type(args[0]).__name__))
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    out = []
    for i, s in enumerate(args):
        if isinstance(s, (builtins.bool, _np.bool_)) or not (
                isinstance(s, (builtins.int, _np.integer)) or
                (isinstance(s, TB) and s.ndim == 0 and not s.dtype.is_floating_point)):
            raise TypeError("%s(): argument 'size' must be tuple of SymInts, but found element of type %s at pos %d"
                            % (fname, type(s).__name__, i + 1))
        out.append(builtins.int(s))
    return out


def _aliased(arr):
    """A tensor over the same memory as arr when arr lies in a tensor storage mapped into
    this process (it came from numpy() of a tensord tensor), as torch shares memory
    between from_numpy(t.numpy()) and t; None otherwise (the caller copies)."""
    sv = arr
    while sv is not None and not isinstance(sv, _C.StorageView):
        sv = sv.obj if isinstance(sv, memoryview) else getattr(sv, "base", None)
    if arr.dtype.kind == "V" or not arr.dtype.isnative:
        return None
    if sv is None:
        return _arena_aliased(arr)
    t = sv.tensor
    if from_numpy_dtype(arr.dtype) is not t.dtype:
        return None
    item = arr.itemsize
    off = arr.__array_interface__["data"][0] - sv.address
    if off < 0 or off % item or builtins.any(s < 0 or s % item for s in arr.strides):
        return None
    return t.detach().as_strided(arr.shape, [s // item for s in arr.strides], off // item)


def _arena_aliased(arr):
    """A tensor over arr's memory when numpy allocated it through tensord's handler
    (installed at import: docs/design/shared_memory.md), converting it into tensord
    storage the first time; else None."""
    root = arr
    while isinstance(root.base, _np.ndarray):
        root = root.base
    if root.base is not None or not root.flags.owndata or not arr.size:
        return None
    try:
        dt = from_numpy_dtype(arr.dtype)
    except (TypeError, ValueError, KeyError):
        return None
    item = arr.itemsize
    off = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    if off < 0 or off % item or builtins.any(s < 0 or s % item for s in arr.strides):
        return None
    _daemon.ensure()  # the conversion needs the session
    return _C.arena_view(root.__array_interface__["data"][0], dt._index, item, off // item, tuple(arr.shape),
                         tuple(s // item for s in arr.strides))


def as_tensor(data, dtype=None, device=None):
    check_dtype(dtype)
    if isinstance(data, TB):
        return data if dtype is None or data.dtype is dtype else cast(data, dtype)
    if isinstance(data, _np.ndarray) and (dtype is None or from_numpy_dtype(data.dtype) is dtype):
        t = _aliased(data)
        if t is not None:
            return t
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray):
    if not isinstance(ndarray, _np.ndarray):
        raise TypeError("expected np.ndarray (got %s)" % tp_name(ndarray))
    t = _aliased(ndarray)
    return t if t is not None else _from_ndarray(ndarray, None)


# ---------------------------------------------------------------- factories

def _factory_out(f):
    """out= for a factory as in PyTorch: the result takes out's dtype unless dtype= says
    otherwise, then lands in out (resized if its shape differs)."""
    @functools.wraps(f)
    def g(*args, out=None, dtype=None, **kw):
        if out is None:
            return f(*args, dtype=dtype, **kw)
        if not isinstance(out, TB):
            raise TypeError("%s(): argument 'out' must be Tensor, not %s" % (f.__name__, type(out).__name__))
        r = f(*args, dtype=dtype or out.dtype, **kw)
        if f.__name__ == "arange" and out.numel() and out.numel() != r.numel():
            import warnings
            warnings.warn("The number of elements in the out tensor of shape %s is %d which does not match the "
                          "computed number of elements %d. Note that this may occur as a result of rounding error. "
                          "The out tensor will be resized to a tensor of shape (%d,)."
                          % (list(out.shape), out.numel(), r.numel(), r.numel()), UserWarning, stacklevel=2)
        return _out(r, out, f.__name__, warn=False)
    return g


@_factory_out
def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          memory_format=None, **kw):
    s = _factory_sizes(size, kw.pop("size", None), "empty")
    dev = _common(dtype, device, "empty")
    order = None if memory_format is None else _layout._order(memory_format, len(s))
    with placed(dev):
        if order is None:
            t = ops.empty(dtype or get_default_dtype(), s)
        else:  # channels_last(_3d): made with the dims in memory order, viewed back
            t = ops.permute(ops.empty(dtype or get_default_dtype(), [s[d] for d in order]),
                            [order.index(d) for d in range(len(order))])
    return _finish(t, requires_grad, dev)


def _full_dtype(v):
    if isinstance(v, (builtins.bool, _np.bool_)):
        return bool_
    if isinstance(v, (builtins.int, _np.integer)):
        return int64
    if is_complex_scalar(v):
        return default_complex()
    return get_default_dtype()


def _filled(dt, s, v, fname):
    """FULL; a complex value (no scalar-attribute form) is copied in from a 0-d tensor."""
    if is_complex_scalar(v):
        t = ops.empty(dt, s)
        ops.copy_(t, complex_fill_value(v, dt))
        return t
    return ops.full(dt, s, checked_value(scalar_arg(v, fname, "fill_value", 2), dt))


def _random(entry, dt, s):
    """RAND/RANDN; a complex dtype draws (re, im) pairs of its real dtype (randn: each
    part with variance 1/2, as torch) and views them as complex."""
    if not dt.is_complex:
        return entry(dt, s)
    pairs = entry(dt.to_real(), list(s) + [2])
    if entry is ops.randn:
        ops.mul(pairs, _math.sqrt(0.5), inplace=True)
    return ops.view_as_complex(pairs)


@_factory_out
def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    s = _factory_sizes((size,), None, "full")
    dev = _common(dtype, device, "full")
    if isinstance(fill_value, TB):
        fill_value = fill_value.item()
    with placed(dev):
        t = _filled(dtype or _full_dtype(fill_value), s, fill_value, "full")
    return _finish(t, requires_grad, dev)


@_factory_out
def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, **kw):
    s = _factory_sizes(size, kw.pop("size", None), "zeros")
    dev = _common(dtype, device, "zeros")
    with placed(dev):
        t = ops.full(dtype or get_default_dtype(), s, 0)
    return _finish(t, requires_grad, dev)


@_factory_out
def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, **kw):
    s = _factory_sizes(size, kw.pop("size", None), "ones")
    dev = _common(dtype, device, "ones")
    with placed(dev):
        t = ops.full(dtype or get_default_dtype(), s, 1)
    return _finish(t, requires_grad, dev)


def _like(t, dtype, device):
    if not isinstance(t, TB):
        raise TypeError("argument 'input' (position 1) must be Tensor, not %s" % type(t).__name__)
    check_dtype(dtype)
    return list(t.shape), dtype or t.dtype, t._device_index if device is None else check_device(device)


def _made_like(t, memory_format, s, make):
    """make(sizes) in t's memory layout (_layout.like_order): made with the dims in memory
    order, then viewed back, so its values are filled in memory order as torch fills them."""
    order = _layout.like_order(t, memory_format)
    if order is None:
        return make(s)
    inverse = [order.index(d) for d in range(len(order))]
    return ops.permute(make([s[d] for d in order]), inverse)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    s, dt, dev = _like(input, dtype, device)
    with placed(dev):
        t = _made_like(input, memory_format, s, lambda z: ops.empty(dt, z))
    return _finish(t, requires_grad, dev)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    s, dt, dev = _like(input, dtype, device)
    with placed(dev):
        t = _made_like(input, memory_format, s, lambda z: ops.full(dt, z, 0))
    return _finish(t, requires_grad, dev)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    s, dt, dev = _like(input, dtype, device)
    with placed(dev):
        t = _made_like(input, memory_format, s, lambda z: ops.full(dt, z, 1))
    return _finish(t, requires_grad, dev)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    s, dt, dev = _like(input, dtype, device)
    if isinstance(fill_value, TB):
        fill_value = fill_value.item()
    with placed(dev):
        t = _made_like(input, memory_format, s, lambda z: _filled(dt, z, fill_value, "full_like"))
    return _finish(t, requires_grad, dev)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    s, dt, dev = _like(input, dtype, device)
    with placed(dev):
        t = _made_like(input, memory_format, s, lambda z: _random(ops.rand, dt, z))
    return _finish(t, requires_grad, dev)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None):
    s, dt, dev = _like(input, dtype, device)
    with placed(dev):
        if dt.is_complex or _layout.like_order(input, memory_format) is None:
            t = _made_like(input, memory_format, s, lambda z: _random(ops.randn, dt, z))
        else:  # torch's normal_ on a non-contiguous tensor: one value at a time, memory order
            t = ops.normal_(_made_like(input, memory_format, s, lambda z: ops.empty(dt, z)), 0.0, 1.0, dt,
                            inplace=True)
    return _finish(t, requires_grad, dev)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None, requires_grad=False,
                 memory_format=None):
    if high is None:
        low, high = 0, low
    s, dt, dev = _like(input, dtype, device)
    with placed(dev):
        t = _made_like(input, memory_format, s, lambda z: ops.randint(dt, z, index_int(low), index_int(high)))
    return _finish(t, False, dev)


def _num(v, name):
    if isinstance(v, TB):
        v = v.item()
    if isinstance(v, (_np.bool_, _np.integer, _np.floating)):
        v = v.item()
    if not isinstance(v, (builtins.int, builtins.float)):
        raise TypeError("arange(): argument '%s' must be Number, not %s" % (name, type(v).__name__))
    return v


@_factory_out
def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    start, end, step = _num(start, "start"), _num(end, "end"), _num(step, "step")
    dev = _common(dtype, device, "arange")
    isf = builtins.any(isinstance(v, builtins.float) for v in (start, end, step))
    dt = dtype or (get_default_dtype() if isf else int64)
    fs, fe, fst = builtins.float(start), builtins.float(end), builtins.float(step)
    n_float = None
    if isf and dt._name in _INT_RANGE and _math.isfinite(fs) and _math.isfinite(fe) and _math.isfinite(fst):
        # torch converts bounds and step to int64 (its accumulate type) for an integer dtype,
        # so 0.5 is a zero step; only int64 also counts the elements from the converted bounds
        if dt._name != "int64":
            n_float = _math.ceil((fe - fs) / fst) if fst else 0
        start, end, step = builtins.int(fs), builtins.int(fe), builtins.int(fst)
        fs, fe, fst = builtins.float(start), builtins.float(end), builtins.float(step)
        isf = False
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not (_math.isfinite(fs) and _math.isfinite(fe)):
        raise RuntimeError("unsupported range: %s -> %s" % (_fmt_num(start), _fmt_num(end)))
    if (fst > 0 and fe < fs) or (fst < 0 and fe > fs):
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if n_float is not None:
        n = n_float
    elif isf:
        n = _math.ceil((fe - fs) / fst)
    else:
        n = -((start - end) // step)  # exact ceil((end - start) / step)
    n = builtins.max(0, n)
    with placed(dev):
        t = ops.arange(dt, [n], start, step)
    if not isf and dt._name in _INT_RANGE and n <= _known.MAX_KNOWN and builtins.abs(step) < (1 << 62):
        # integer ranges are exact: known like tensor()'s values (when they fit the dtype)
        lo, hi = _INT_RANGE[dt._name]
        last = start + (n - 1) * step
        if n and lo <= builtins.min(start, last) and builtins.max(start, last) <= hi and dt._name != "uint8":
            _known.remember(t, _np.arange(n, dtype=_np.int64) * step + start)
    return _finish(t, requires_grad, dev)


def _fmt_num(v):
    if isinstance(v, builtins.float) and _math.isnan(v):
        return "nan"
    if isinstance(v, builtins.float) and _math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return str(v)


def _cnum(v):
    v = v.item() if isinstance(v, TB) else v
    return builtins.complex(v) if is_complex_scalar(v) else None


@_factory_out
def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    cs, ce = _cnum(start), _cnum(end)
    if cs is not None or ce is not None:
        # complex endpoints: torch's complex step is (end - start) / (steps - 1) part by part
        cs = builtins.complex(_num(start, "start")) if cs is None else cs
        ce = builtins.complex(_num(end, "end")) if ce is None else ce
        dt = dtype or get_default_dtype().to_complex()
        rdt = dt.to_real() if dt.is_complex else dt
        re = linspace(cs.real, ce.real, steps, dtype=rdt, device=device)
        im = linspace(cs.imag, ce.imag, steps, dtype=rdt, device=device)
        from ._complex import from_parts
        r = from_parts(re, im) if dt.is_complex else cast(from_parts(re, im), dt)
        return _finish(r, requires_grad, r._device_index)  # the parts are on device already
    start, end = _num(start, "start"), _num(end, "end")
    steps = index_int(steps)
    dev = _common(dtype, device, "linspace")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = dtype or get_default_dtype()
    with placed(dev):
        t = ops.linspace(dt, [steps], builtins.float(start), builtins.float(end))
    return _finish(t, requires_grad, dev)


@_factory_out
def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    n = index_int(n)
    m = n if m is None else index_int(m)
    dev = _common(dtype, device, "eye")
    if n < 0:
        raise RuntimeError("n must be greater or equal to 0, got %d" % n)
    if m < 0:
        raise RuntimeError("m must be greater or equal to 0, got %d" % m)
    with placed(dev):
        t = ops.eye(dtype or get_default_dtype(), [n, m])
    return _finish(t, requires_grad, dev)


@_factory_out
def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, **kw):
    s = _factory_sizes(size, kw.pop("size", None), "rand")
    dev = _common(dtype, device, "rand")
    with placed(dev):
        t = _random(ops.rand, dtype or get_default_dtype(), s)
    return _finish(t, requires_grad, dev)


@_factory_out
def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, **kw):
    s = _factory_sizes(size, kw.pop("size", None), "randn")
    dev = _common(dtype, device, "randn")
    with placed(dev):
        t = _random(ops.randn, dtype or get_default_dtype(), s)
    return _finish(t, requires_grad, dev)


@_factory_out
def randint(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, low=None, high=None):
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if low is not None:
        args.insert(0, low)
    if high is not None:
        args.append(high)
    if size is None:
        raise TypeError("randint() missing 1 required positional arguments: \"size\"")
    if len(args) == 1:
        lo, hi = 0, args[0]
    elif len(args) == 2:
        lo, hi = args
    else:
        raise TypeError("randint() received an invalid combination of arguments")
    s = _factory_sizes((size,), None, "randint")
    dev = _common(dtype, device, "randint")
    with placed(dev):
        t = ops.randint(dtype or int64, s, index_int(lo), index_int(hi))
    return _finish(t, requires_grad, dev)


class Generator:
    """What manual_seed returns (the default CPU generator lives in the daemon)."""

    def __init__(self, seed):
        self._seed = seed
        self.device = "cpu"

    def initial_seed(self):
        return self._seed

    def manual_seed(self, seed):
        return manual_seed(seed)


def manual_seed(seed):
    seed = index_int(seed)
    if seed < -(1 << 63) or seed >= (1 << 64):
        raise RuntimeError("Overflow when unpacking long")
    _ensure()
    w = seed & ((1 << 64) - 1)
    if w >= 1 << 63:
        w -= 1 << 64
    ops.manual_seed(w)
    return Generator(seed)
