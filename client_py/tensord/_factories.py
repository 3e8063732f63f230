"""Creation ops composed from existing ops: logspace, range, tril_indices/triu_indices,
vander, block_diag, scalar_tensor, empty_strided, frombuffer, and the window functions
(hann, hamming, blackman, bartlett, kaiser).  torch 1.13's argument checks and messages."""
import builtins
import math as _math
import sys as _sys
import warnings as _warnings

import numpy as _np

from . import _C
from . import _records as F
from ._dtype import DTYPES, check_dtype, get_default_dtype

TB = _C.TensorBase
_F32, _F64, _F16, _BF16, _I64, _I32, _I16, _I8, _U8, _BOOL = (DTYPES[i] for i in builtins.range(10))
_INTS = (_U8, _I8, _I16, _I32, _I64)
_T = _sys.modules[__name__.rpartition(".")[0]]  # the package: its functions are looked up at call time

__all__ = []

_rs = F.number_minus
_check = F._check_tensor
_export = F.exporter(globals(), __all__)



def _not_impl(kernel, dt):
    return RuntimeError('"%s" not implemented for \'%s\'' % (kernel, dt._torch_name))


def _float_of(t):
    """torch's float result dtype of an elementwise function of `t` (ints -> default dtype)."""
    return t.dtype if t.dtype.is_floating_point else get_default_dtype()


def _full_like_dt(t, v, dt):
    return _T.full(tuple(t.shape), v, dtype=dt)


def _scalar_t(v, dt):
    return _T.full((), v, dtype=dt)



# ---------------------------------------------------------------- creation

def _placed(fn):
    """Factory fn with its device= and requires_grad= applied: built on the CPU, then moved
    to the device (checked first, as torch does) and made a leaf that requires grad."""
    import functools
    from ._tensor_new import _finish
    from ._size import check_device

    @functools.wraps(fn)
    def f(*args, device=None, requires_grad=False, **kw):
        dev = check_device(device)
        return _finish(fn(*args, **kw), requires_grad, dev)
    return f


def _factory_dtype(dtype, fname):
    check_dtype(dtype)
    return get_default_dtype() if dtype is None else dtype


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    cx = any(F.is_complex_scalar(v.item() if isinstance(v, F.TB) else v) for v in (start, end, base))
    dt = _factory_dtype(dtype, "logspace") if dtype is not None or not cx else get_default_dtype().to_complex()
    steps = F.index_int(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    if cx:  # complex endpoints: base ** (complex linspace), in complex128 then cast
        lin = _T.linspace(start, end, steps, dtype=DTYPES[11])
        return F._out(F.cast(_T.pow(base, lin), dt), out)
    lin = _T.linspace(builtins.float(start), builtins.float(end), steps, dtype=_F64)
    r = _T.pow(builtins.float(base), lin)
    if dt in _INTS:
        r = _T.round(r)
    return F._out(F.cast(r, dt), out)


logspace = _placed(logspace)
_export("logspace", logspace)


def _range(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    _warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                   "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                   "[start, end).", UserWarning, stacklevel=2)
    if end is None:
        start, end = 0, start
    dt = _factory_dtype(dtype, "range")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = builtins.int(_math.floor((end - start) / step)) + 1
    r = _T.add(_T.mul(_T.arange(n, dtype=_F64), builtins.float(step)), builtins.float(start))
    return F._out(F.cast(r, dt), out)


_range = _placed(_range)
_export("range", _range)


def _tri_indices(row, col, offset, dtype, lower, fname):
    row, col, offset = F.index_int(row), F.index_int(col), F.index_int(offset)
    check_dtype(dtype)
    dt = _I64 if dtype is None else dtype
    if dt not in (_I64, _I32, _I16, _I8, _U8):
        raise _not_impl(fname, dt)
    if row < 0:
        raise RuntimeError("row must be non-negative, got%d" % row)
    if col < 0:
        raise RuntimeError("col must be non-negative, got%d" % col)
    r, c = _np.indices((row, col))
    m = (c - r <= offset) if lower else (c - r >= offset)
    idx = _np.stack([r[m], c[m]]).astype(_np.int64)
    return F.cast(_T.tensor(idx, dtype=_I64), dt) if idx.size else _T.zeros((2, 0), dtype=dt)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, dtype, True, "tril_indices")


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    return _tri_indices(row, col, offset, dtype, False, "triu_indices")


tril_indices = _placed(tril_indices)
_export("tril_indices", tril_indices)
triu_indices = _placed(triu_indices)
_export("triu_indices", triu_indices)


def vander(x, N=None, increasing=False):
    _check(x, "vander", "x")
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else F.index_int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dt = _T.promote_types(x.dtype, _I64)
    if dt is _F16:
        raise _not_impl("cumprod_out_cpu", dt)
    xv = F.cast(x, dt)
    if n == 0:
        return _T.empty((x.shape[0], 0), dtype=dt)
    cols = [_T.ones((x.shape[0], 1), dtype=dt)]
    if n > 1:
        rep = F.expand(F.unsqueeze(xv, 1), x.shape[0], n - 1)
        cols.append(_T.cumprod(rep, 1))
    r = _T.cat(cols, 1)
    return r if increasing else _T.flip(r, (1,))


_export("vander", vander)


def block_diag(*tensors):
    for i, t in enumerate(tensors):
        if not isinstance(t, TB):
            raise TypeError("expected Tensor as element %d in argument 0, but got %s" % (i, type(t).__name__))
        if t.ndim > 2:
            raise RuntimeError("torch.block_diag: Input tensors must have 2 or fewer dimensions. Input %d has %d "
                               "dimensions" % (i, t.ndim))
    if not tensors:
        return _T.empty((1, 0))
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _T.promote_types(dt, t.dtype)
    mats = [F.reshape(t, (1, -1) if t.ndim < 2 else tuple(t.shape)) if t.ndim < 2 else t for t in tensors]
    mats = [F.reshape(t, (1, 1)) if t.ndim == 0 else m for t, m in zip(tensors, mats)]
    rows = builtins.sum(m.shape[0] for m in mats)
    cols = builtins.sum(m.shape[1] for m in mats)
    r = _T.zeros((rows, cols), dtype=dt)
    i = j = 0
    for m in mats:
        h, w = m.shape
        if h and w:
            F.copy_(r[i:i + h, j:j + w], m)
        i, j = i + h, j + w
    return r


_export("block_diag", block_diag)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=False, requires_grad=False):
    if not F.is_scalar(s):
        raise TypeError("scalar_tensor(): argument 's' (position 1) must be Number, not %s" % type(s).__name__)
    return _T.full((), s, dtype=_factory_dtype(dtype, "scalar_tensor"))


scalar_tensor = _placed(scalar_tensor)
_export("scalar_tensor", scalar_tensor)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    size, stride = [F.index_int(s) for s in size], [F.index_int(s) for s in stride]
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    n = 1 + builtins.sum((s - 1) * st for s, st in zip(size, stride)) if all(s > 0 for s in size) else 0
    base = _T.empty((n,), dtype=_factory_dtype(dtype, "empty_strided"), device=device)
    r = F.as_strided(base, size, stride, 0)
    return r.requires_grad_(True) if requires_grad else r


_export("empty_strided", empty_strided)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A copy of the buffer's elements (tensord tensors live in the daemon, so the buffer is not shared)."""
    check_dtype(dtype)
    mv = memoryview(buffer).cast("B")
    n, esz = len(mv), dtype.itemsize
    if n == 0:
        raise ValueError("both buffer length (0) and count (%d) must not be 0" % count)
    if offset < 0 or offset >= n:
        raise ValueError("offset (%d bytes) must be non-negative and no greater than buffer length (%d bytes) "
                         "minus 1" % (offset, n))
    if count < 0:
        if (n - offset) % esz:
            raise ValueError("buffer length (%d bytes) after offset (%d bytes) must be a multiple of element size "
                             "(%d)" % (n - offset, offset, esz))
        count = (n - offset) // esz
    elif offset + count * esz > n:
        raise ValueError("requested buffer length (%d * %d bytes) after offset (%d bytes) must not be greater than "
                         "actual buffer length (%d bytes)" % (count, esz, offset, n))
    raw = bytes(mv[offset:offset + count * esz])
    if dtype is _BF16:
        u = _np.frombuffer(raw, dtype=_np.uint16).astype(_np.uint32) << 16
        return F.cast(_T.from_numpy(u.view(_np.float32).copy()), _BF16)
    return _T.from_numpy(_np.frombuffer(raw, dtype=dtype._np).copy())


_export("frombuffer", frombuffer)



def _window(name, n, periodic, dtype, body):
    n = F.index_int(n)
    check_dtype(dtype)
    dt = get_default_dtype() if dtype is None else dtype
    if not dt.is_floating_point:
        raise RuntimeError("%s expects floating point dtypes, got: TensorOptions(dtype=%s, device=cpu, layout=Strided "
                           "(default), requires_grad=false (default), pinned_memory=false, memory_format=(nullopt))"
                           % (name, {_I64: "long int", _I32: "int", _I16: "short int", _I8: "signed char",
                                     _U8: "unsigned char", _BOOL: "bool"}[dt]))
    if n < 0:
        raise RuntimeError("%s requires non-negative window_length, got window_length=%d" % (name, n))
    if n == 0:
        return _T.empty((0,), dtype=dt)
    if n == 1:
        return _T.ones((1,), dtype=dt)
    m = n + 1 if periodic else n
    k = _T.arange(n, dtype=_F64)
    return F.cast(body(k, m), dt)


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    return hamming_window(window_length, periodic, 0.5, 0.5, dtype=dtype, _name="hann_window")


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False, _name="hamming_window"):
    return _window(_name, window_length, periodic, dtype,
                   lambda k, m: _rs(alpha, _T.mul(_T.cos(_T.mul(k, 2 * _math.pi / (m - 1))), beta)))


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    def body(k, m):
        a = _T.mul(k, 2 * _math.pi / (m - 1))
        return _T.add(_rs(0.42, _T.mul(_T.cos(a), 0.5)), _T.mul(_T.cos(_T.mul(a, 2.0)), 0.08))
    return _window("blackman_window", window_length, periodic, dtype, body)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    def body(k, m):
        v = _T.mul(k, 2.0 / (m - 1))
        return _T.where(v <= 1.0, v, _rs(2.0, v))
    return _window("bartlett_window", window_length, periodic, dtype, body)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False):
    from . import _special as S

    def body(k, m):
        a = (m - 1) / 2.0
        t = _T.div(_T.sub(k, a), a)
        inner = _T.sqrt(_T.clamp(_rs(1.0, _T.mul(t, t)), min=0.0))
        return _T.div(S.i0(_T.mul(inner, builtins.float(beta))), S.i0(_scalar_t(builtins.float(beta), _F64)))
    return _window("kaiser_window", window_length, periodic, dtype, body)


for _n in ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"):
    globals()[_n] = _placed(globals()[_n])
    _export(_n, globals()[_n])
