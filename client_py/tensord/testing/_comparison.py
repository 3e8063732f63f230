"""torch.testing.assert_close: compares tensors, scalars and (nested) sequences and
mappings of them as torch 1.13 does: attributes first (type, shape, dtype, stride when
asked), then values within atol + rtol * |expected|, with torch's default tolerances per
dtype and its messages.  Values are compared on the host in float64 (complex128)."""
import builtins
import collections.abc
import math

import numpy as _np

from .._dtype import bfloat16, complex64, complex128, dtype as _dtype_cls, float16, float32, float64

# torch's default (rtol, atol) per dtype; any other dtype compares exactly
_DEFAULT_TOLERANCES = {float16: (1e-3, 1e-5), bfloat16: (1.6e-2, 1e-5), float32: (1.3e-6, 1e-5),
                       float64: (1e-7, 1e-7), complex64: (1.3e-6, 1e-5), complex128: (1e-7, 1e-7)}


class _Pair:
    """One leaf comparison: actual and expected as numpy arrays plus what torch checks."""

    def __init__(self, actual, expected, is_scalar, dtypes):
        self.actual, self.expected, self.is_scalar, self.dtypes = actual, expected, is_scalar, dtypes


def _fail(msg, user_msg, id_):
    if user_msg is not None:
        raise AssertionError(user_msg if isinstance(user_msg, str) else user_msg(msg))
    if id_:
        msg += "\n\nThe failure occurred for item %s" % "".join("[%r]" % i for i in id_)
    raise AssertionError(msg)


def _as_array(t):
    from .._tensor import _host_array
    return _host_array(t)


def _tolerances(dt, rtol, atol):
    if (rtol is None) != (atol is None):
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted, but got no %s."
                         % ("rtol" if rtol is None else "atol"))
    if rtol is not None:
        return rtol, atol
    return _DEFAULT_TOLERANCES.get(dt, (0.0, 0.0))


def _fmt_index(flat, shape):
    return str(tuple(builtins.int(i) for i in _np.unravel_index(flat, shape)))


def _compare_values(a, b, rtol, atol, equal_nan, is_scalar, exact_int, user_msg, id_):
    cx = _np.iscomplexobj(a) or _np.iscomplexobj(b)
    a64 = a.astype(_np.complex128 if cx else _np.float64)
    b64 = b.astype(_np.complex128 if cx else _np.float64)
    with _np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        close = a64 == b64
        if rtol or atol:
            close = close | (_np.isfinite(a64) & _np.isfinite(b64) & (_np.abs(a64 - b64) <= atol + rtol * _np.abs(b64)))
        if equal_nan:
            close = close | (_np.isnan(a64) & _np.isnan(b64))
        if builtins.bool(close.all()):
            return
        abs_diff = _np.abs(a64 - b64)
        rel_diff = abs_diff / _np.abs(b64)
    if exact_int:
        rel_diff = rel_diff.astype(_np.float32).astype(_np.float64)
    what = "equal" if not (rtol or atol) else "close"
    tol_a = "" if not (rtol or atol) else " (up to %s allowed)" % atol
    tol_r = "" if not (rtol or atol) else " (up to %s allowed)" % rtol

    def num(v, int_like):
        return str(builtins.int(v)) if int_like and math.isfinite(v) else str(builtins.float(v))

    if is_scalar:
        msg = "Scalars are not %s!\n\nAbsolute difference: %s%s\nRelative difference: %s%s" % (
            what, num(abs_diff.reshape(-1)[0], exact_int), tol_a, rel_diff.reshape(-1)[0], tol_r)
        _fail(msg, user_msg, id_)
    mism = ~close.reshape(-1)
    n_bad, n = builtins.int(mism.sum()), close.size
    ad, rd = abs_diff.reshape(-1), rel_diff.reshape(-1)
    # torch reports the first position of the greatest difference, NaN winning (torch.max semantics)
    ia = builtins.int(_np.argmax(_np.where(_np.isnan(ad), _np.inf, ad))) if not _np.isnan(ad).any() \
        else builtins.int(_np.argmax(_np.isnan(ad)))
    ir = builtins.int(_np.argmax(_np.where(_np.isnan(rd), _np.inf, rd))) if not _np.isnan(rd).any() \
        else builtins.int(_np.argmax(_np.isnan(rd)))
    msg = ("Tensor-likes are not %s!\n\nMismatched elements: %d / %d (%.1f%%)\n"
           "Greatest absolute difference: %s at index %s%s\nGreatest relative difference: %s at index %s%s") % (
        what, n_bad, n, 100.0 * n_bad / n, num(ad[ia], exact_int), _fmt_index(ia, a.shape), tol_a,
        builtins.float(rd[ir]), _fmt_index(ir, a.shape), tol_r)
    _fail(msg, user_msg, id_)


def _leaf(actual, expected, rtol, atol, equal_nan, check_dtype, check_stride, allow_subclasses, user_msg, id_):
    from .._tensor import Tensor
    if isinstance(actual, Tensor) or isinstance(expected, Tensor):
        if not (isinstance(actual, Tensor) and isinstance(expected, Tensor)):
            if not (allow_subclasses and _is_tensor_like(actual) and _is_tensor_like(expected)):
                raise TypeError("No comparison pair was able to handle inputs of type %s and %s."
                                % (type(actual), type(expected)))
            from .._creation import as_tensor
            actual, expected = as_tensor(actual), as_tensor(expected)
        if actual.shape != expected.shape:
            _fail("The values for attribute 'shape' do not match: %s != %s." % (actual.shape, expected.shape),
                  user_msg, id_)
        if check_dtype and actual.dtype is not expected.dtype:
            _fail("The values for attribute 'dtype' do not match: %s != %s." % (actual.dtype, expected.dtype),
                  user_msg, id_)
        if check_stride and actual.stride() != expected.stride():
            _fail("The values for attribute 'stride()' do not match: %s != %s." % (actual.stride(),
                                                                                   expected.stride()), user_msg, id_)
        dt = actual.dtype if actual.dtype is expected.dtype else _promote(actual.dtype, expected.dtype)
        rt, at = _tolerances(dt, rtol, atol)
        _compare_values(_as_array(actual), _as_array(expected), rt, at, equal_nan, actual.ndim == 0,
                        not (dt.is_floating_point or dt.is_complex), user_msg, id_)
        return
    scalars = (builtins.bool, builtins.int, builtins.float, builtins.complex)
    if isinstance(actual, scalars) and isinstance(expected, scalars):
        if type(actual) is not type(expected):
            _fail("The (d)types do not match: %s != %s." % (type(actual), type(expected)), user_msg, id_)
        dt = {builtins.float: float64, builtins.complex: complex128}.get(type(actual))
        rt, at = _tolerances(dt, rtol, atol)
        _compare_values(_np.array(actual), _np.array(expected), rt, at, equal_nan, True, dt is None, user_msg, id_)
        return
    if isinstance(actual, _np.ndarray) and isinstance(expected, _np.ndarray):
        from .._creation import from_numpy
        return _leaf(from_numpy(actual), from_numpy(expected), rtol, atol, equal_nan, check_dtype, check_stride,
                     allow_subclasses, user_msg, id_)
    raise TypeError("No comparison pair was able to handle inputs of type %s and %s." % (type(actual), type(expected)))


def _is_tensor_like(x):
    from .._tensor import Tensor
    return isinstance(x, (Tensor, _np.ndarray))


def _promote(a, b):
    from .. import promote_types
    return promote_types(a, b)


def _walk(actual, expected, id_, kw):
    seq = collections.abc.Sequence
    if isinstance(actual, seq) and not isinstance(actual, str) and isinstance(expected, seq) and \
            not isinstance(expected, str):
        if len(actual) != len(expected):
            _fail("The length of the sequences mismatch: %d != %d" % (len(actual), len(expected)), kw["user_msg"], id_)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _walk(a, e, id_ + (i,), kw)
        return
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        ka, ke = set(actual.keys()), set(expected.keys())
        if ka != ke:
            _fail("The keys of the mappings do not match:\nMissing keys in the actual mapping: %s\n"
                  "Additional keys in the actual mapping: %s" % (sorted(ke - ka, key=repr), sorted(ka - ke, key=repr)),
                  kw["user_msg"], id_)
        for k in actual:
            _walk(actual[k], expected[k], id_ + (k,), kw)
        return
    _leaf(actual, expected, id_=id_, **kw)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Asserts that actual and expected are close (torch.testing.assert_close)."""
    __tracebackhide__ = True
    if isinstance(rtol, _dtype_cls) or isinstance(atol, _dtype_cls):
        raise TypeError("rtol and atol must be numbers")
    _tolerances(None, rtol, atol)  # the both-or-neither check comes first, as in torch
    _walk(actual, expected, (), dict(rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=check_dtype,
                                     check_stride=check_stride, allow_subclasses=allow_subclasses, user_msg=msg))
