"""Functional ops: turn Python arguments into op records through the _C.ops entry points
(arguments named by proto/ops.args, packed in C).  Shape/dtype inference and most error
messages come from the C meta layer; only argument normalization lives here."""
import builtins
import math as _math

import numpy as _np

from . import _C
from . import _layout
from . import _op_numbers as O
from ._C import ops
from ._dtype import DTYPES, dtype as _dtype_cls, check_dtype, get_default_dtype

TB = _C.TensorBase
INPLACE = O.RF_INPLACE
SCALAR_LHS = O.RF_SCALAR_LHS
OUT = O.RF_OUT  # the inputs end with out= tensors the op writes into
_NUMBER = (builtins.bool, builtins.int, builtins.float)


def torch_node(t, name):
    """t, its grad_fn (when it has one) named as torch names the single op it runs for what
    tensord composes from several (print(loss) shows grad_fn=<MseLossBackward0>)."""
    _C._name_grad_fn(t, name)
    return t


def is_scalar(v):
    return isinstance(v, _NUMBER) or isinstance(v, (_np.bool_, _np.integer, _np.floating))


def is_complex_scalar(v):
    return isinstance(v, (builtins.complex, _np.complexfloating))


def _complex_operand(t, v):
    """A Python complex has no scalar-attribute wire form: it travels as the 0-d tensor
    of torch.result_type(t, v), which then promotes with t as the wrapped number would."""
    from ._tensor_new import tensor
    return tensor(builtins.complex(v), dtype=_C.result_type(t, v) if isinstance(t, TB) else None)


def _pyscalar(v):
    if isinstance(v, _NUMBER):
        return v
    if is_complex_scalar(v):
        return builtins.complex(v)
    if isinstance(v, (_np.bool_, _np.integer, _np.floating)):
        return v.item()
    raise TypeError


def scalar_arg(v, fname="", arg="other", pos=2):
    """A real scalar argument as a Python number; a non-scalar is torch's TypeError."""
    if isinstance(v, _NUMBER):
        return v
    if isinstance(v, (_np.bool_, _np.integer, _np.floating)):
        return v.item()
    raise TypeError("%s(): argument '%s' (position %d) must be Number, not %s"
                    % (fname, arg, pos, type(v).__name__))


def exporter(namespace, names):
    """export(name, fn) for a module that adds functions: binds fn in the module and lists
    it in its __all__.  Tensor's methods are declared in _tensor.py, never here."""
    def export(name, fn):
        namespace[name] = fn
        names.append(name)
    return export


def number_minus(s, t):
    """s - t for a Python number s."""
    return binary(ops.sub, s, t, "sub", scalar_lhs_ok=True)


def tp_name(v):
    """The name torch's messages give v's type (its C tp_name): numpy's types carry their
    module (numpy.float32, numpy.ndarray), builtins and Python classes do not."""
    t = type(v)
    return "numpy." + t.__name__ if t.__module__ == "numpy" else t.__name__


def _type_error(fname, arg, pos, v, want="Tensor"):
    return TypeError("%s(): argument '%s' (position %d) must be %s, not %s" % (fname, arg, pos, want, tp_name(v)))


def _check_tensor(t, fname, arg="input", pos=1):
    if not isinstance(t, TB):
        raise _type_error(fname, arg, pos, t)


def index_int(v, what="an integer"):
    """Python int from an int-like (bool excluded where torch excludes it)."""
    if isinstance(v, builtins.int):
        return builtins.int(v)
    if isinstance(v, TB):
        return v.__index__()
    if hasattr(v, "__index__"):
        return v.__index__()
    raise TypeError("'%s' object cannot be interpreted as %s" % (type(v).__name__, what))


# wrap_dim(d, nd): a dim in [0, nd) or PyTorch's IndexError (the meta layer's td_meta_wrap_dim)
wrap_dim = _C.wrap_dim


# ---------------------------------------------------------------- binary ops

def binary(entry, a, b, fname, inplace=False, scalar_lhs_ok=False, out=None, **attrs):
    """entry (a binary _C.ops entry) on a and b, either of which may be a Python scalar
    (the left one only when scalar_lhs_ok); attrs: the op's named attributes."""
    if isinstance(a, TB) and is_complex_scalar(b):
        b = _complex_operand(a, b)
    elif scalar_lhs_ok and isinstance(b, TB) and is_complex_scalar(a):
        a = _complex_operand(b, a)
    if isinstance(a, TB):
        if not isinstance(b, TB):
            if not is_scalar(b):
                raise _type_error(fname, "other", 2, b)
            b = _pyscalar(b)
    elif scalar_lhs_ok and is_scalar(a) and isinstance(b, TB):
        a = _pyscalar(a)
    else:
        raise _type_error(fname, "input", 1, a)
    if inplace:
        return entry(a, b, inplace=True, **attrs)
    if out is not None:
        _check_promoted_out(entry, a, b, out)
        return _into(entry, (a, b), attrs, out, fname)
    return entry(a, b, **attrs)


def _check_promoted_out(entry, a, b, out):
    """torch checks out's dtype (after the shapes) before its kernel's dtypes: for the
    ops whose result dtype is the operands' promoted one and whose kernels refuse some."""
    if entry.op in _PROMOTED_OUT and isinstance(out, TB) and _broadcasts(a, b):
        rt = _C.result_type(a, b) if isinstance(a, TB) else _C.result_type(b, a)
        if not _C.can_cast(rt, out.dtype):
            raise RuntimeError("result type %s can't be cast to the desired output type %s"
                               % (rt._torch_name, out.dtype._torch_name))


def _broadcasts(a, b):
    if not (isinstance(a, TB) and isinstance(b, TB)):
        return True
    try:
        _C.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except RuntimeError:
        return False  # the op raises torch's broadcast error itself
    return True


# the binary ops whose result dtype is the operands' promoted one and whose kernels refuse some
_PROMOTED_OUT = (O.BITWISE_AND, O.BITWISE_OR, O.BITWISE_XOR, O.LSHIFT, O.RSHIFT, O.HYPOT, O.LOGADDEXP, O.LOGADDEXP2)


def _is_float_operand(v):
    if isinstance(v, TB):
        return v.dtype.is_floating_point or v.dtype.is_complex
    return isinstance(v, (builtins.float, _np.floating))


def _alpha(a, b, alpha, fname):
    """alpha= as the record takes it: None for 1 (no multiply), else the checked number."""
    if alpha is None or (alpha == 1 and isinstance(alpha, builtins.int) and not isinstance(alpha, builtins.bool)):
        return None
    if not is_scalar(alpha):
        raise TypeError("%s(): argument 'alpha' must be Number, not %s" % (fname, type(alpha).__name__))
    if isinstance(alpha, (builtins.float, _np.floating)) and not (_is_float_operand(a) or _is_float_operand(b)):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    if isinstance(alpha, (builtins.bool, _np.bool_)):
        is_bool = lambda v: (isinstance(v, TB) and v.dtype is DTYPES[9]) or isinstance(v, (builtins.bool, _np.bool_))
        if not (is_bool(a) and is_bool(b)):
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
    return _pyscalar(alpha)


def _complex_alpha(a, b, alpha):
    """other * alpha for a complex alpha (the wire's alpha is real), as torch's a + alpha * b."""
    cx = lambda v: (isinstance(v, TB) and v.dtype.is_complex) or is_complex_scalar(v)
    if not (cx(a) or cx(b)):
        raise RuntimeError("For non-complex input tensors, argument alpha must not be a complex number.")
    return mul(b, alpha) if isinstance(b, TB) else b * alpha


def add(input, other, *, alpha=1, out=None):
    if is_complex_scalar(alpha):
        return _out(binary(ops.add, input, _complex_alpha(input, other, alpha), "add"), out)
    return binary(ops.add, input, other, "add", out=out, alpha=_alpha(input, other, alpha, "add"))


_SUB_BOOL_MSG = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                 "invert a mask, use the `~` or `logical_not()` operator instead.")


_SUB_BOOLS_MSG = ("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                  "`logical_xor()` operator instead.")


def _is_bool(v):
    return isinstance(v, (builtins.bool, _np.bool_)) or (isinstance(v, TB) and v.dtype is DTYPES[9])


def _no_bool_scalar(other, input=None):
    # the C meta layer sees tensor dtypes; a Python bool operand is only known here (torch
    # counts it as a bool tensor: t - True with t bool is its two-bool-tensors error)
    if isinstance(other, (builtins.bool, _np.bool_)):
        raise RuntimeError(_SUB_BOOLS_MSG if _is_bool(input) else _SUB_BOOL_MSG)


def sub(input, other, *, alpha=1, out=None):
    _no_bool_scalar(other, input)
    _no_bool_scalar(input, other)
    if is_complex_scalar(alpha):
        return _out(binary(ops.sub, input, _complex_alpha(input, other, alpha), "sub"), out)
    return binary(ops.sub, input, other, "sub", out=out, alpha=_alpha(input, other, alpha, "sub"))


subtract = sub


def add_(self, other, *, alpha=1):
    if is_complex_scalar(alpha):
        return binary(ops.add, self, _complex_alpha(self, other, alpha), "add_", inplace=True)
    return binary(ops.add, self, other, "add_", inplace=True, alpha=_alpha(self, other, alpha, "add_"))


def sub_(self, other, *, alpha=1):
    _no_bool_scalar(other, self)
    if is_complex_scalar(alpha):
        return binary(ops.sub, self, _complex_alpha(self, other, alpha), "sub_", inplace=True)
    return binary(ops.sub, self, other, "sub_", inplace=True, alpha=_alpha(self, other, alpha, "sub_"))


def mul(input, other, *, out=None):
    return binary(ops.mul, input, other, "mul", out=out)


multiply = mul

def _round_mode(m):
    if m is None or (isinstance(m, str) and m in ("trunc", "floor")):
        return m
    raise RuntimeError("div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '%s'" % (m,))


def div(input, other, *, rounding_mode=None, out=None):
    return binary(ops.div, input, other, "div", out=out, rounding_mode=_round_mode(rounding_mode))


divide = div


def true_divide(input, other, *, out=None):
    return binary(ops.div, input, other, "true_divide", out=out)


def floor_divide(input, other, *, out=None):
    return binary(ops.div, input, other, "floor_divide", out=out, rounding_mode="floor")


def pow(input, exponent, *, out=None):
    return binary(ops.pow, input, exponent, "pow", scalar_lhs_ok=True, out=out)


def remainder(input, other, *, out=None):
    return binary(ops.remainder, input, other, "remainder", scalar_lhs_ok=True, out=out)


def fmod_unsupported(*a, **k):
    raise NotImplementedError("fmod is not implemented by tensord yet")


def _binfn(entry, name):
    def f(input, other, *, out=None):
        return binary(entry, input, other, name, out=out)
    f.__name__ = f.__qualname__ = name
    return _C.fast(entry.op, f)


def _math_binary(entry, name, scalar_ok, scalar_lhs_ok=False):
    """torch's binding of the MATH_BINARY functions: Tensor other always; a Number where
    torch has that overload (scalar_ok; the first operand too with scalar_lhs_ok)."""
    def check(a, b):
        if not scalar_ok:
            _check_tensor(a, name)
            _check_tensor(b, name, "other", 2)
        elif not isinstance(a, TB) and not (scalar_lhs_ok and isinstance(b, TB)):
            if isinstance(b, TB) and is_scalar(a):
                raise TypeError("%s() received an invalid combination of arguments - got (%s, Tensor)"
                                % (name, type(a).__name__))
            _check_tensor(a, name)

    def f(input, other, *, out=None):
        check(input, other)
        if out is not None:
            _check_promoted_out(entry, input, other, out)
        return _out(binary(entry, input, other, name, scalar_lhs_ok=scalar_lhs_ok), out,
                    overlap=(entry.op, [x for x in (input, other) if isinstance(x, TB)]))

    def f_(self, other):
        check(self, other)
        return binary(entry, self, other, name + "_", inplace=True)
    f.__name__ = f.__qualname__ = name
    f_.__name__ = f_.__qualname__ = name + "_"
    return f, f_


def bitwise_left_shift(input, other, *, out=None):
    return binary(ops.lshift, input, other, "bitwise_left_shift", scalar_lhs_ok=True, out=out)


def bitwise_right_shift(input, other, *, out=None):
    return binary(ops.rshift, input, other, "bitwise_right_shift", scalar_lhs_ok=True, out=out)

# name -> (entry, attributes) of the in-place binary ops whose functions are written out
# above (those of the op table's `py` lines are made with the table, below)
BINARY_INPLACE = {
    "mul_": (ops.mul, {}), "true_divide_": (ops.div, {}), "floor_divide_": (ops.div, {"rounding_mode": "floor"}),
    "pow_": (ops.pow, {}), "remainder_": (ops.remainder, {}),
    "bitwise_left_shift_": (ops.lshift, {}), "bitwise_right_shift_": (ops.rshift, {}),
}


def _binary_inplace(name, entry, attrs):
    def f(self, other):
        return binary(entry, self, other, name, inplace=True, **attrs)
    f.__name__ = f.__qualname__ = name
    return f


for _n, (_o, _tail) in BINARY_INPLACE.items():
    globals()[_n] = _binary_inplace(_n, _o, _tail)


def div_(self, other, *, rounding_mode=None):
    return binary(ops.div, self, other, "div_", inplace=True, rounding_mode=_round_mode(rounding_mode))


# the hot spellings go straight to C (ext/fast.c) in front of the functions above (the
# table-driven unary and binary functions are wrapped where they are made)
add = _C.fast(O.ADD, add)
sub = subtract = _C.fast(O.SUB, sub)
mul = multiply = _C.fast(O.MUL, mul)
div = divide = _C.fast(O.DIV, div)
add_ = _C.fast(O.ADD, add_, True)
sub_ = _C.fast(O.SUB, sub_, True)
div_ = _C.fast(O.DIV, div_, True)
mul_ = multiply_ = _C.fast(O.MUL, mul_, True)  # noqa: F821


_RESIZE_WARNING = (
    "An output with one or more elements was resized since it had shape %s, which does not match the required "
    "output shape %s. This behavior is deprecated, and in a future PyTorch release outputs will not be resized "
    "unless they have zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, to zero "
    "elements with t.resize_(0).")


def _check_out_overlap(overlap, out):
    """torch's overlap checks of out= for an op composed here (kernels/overlap.c):
    overlap is (op row it is checked like, the user's input tensors[, INDEX mode])."""
    if overlap is not None:
        _C.check_overlap(overlap[0], overlap[1], out, mode=overlap[2] if len(overlap) > 2 else 0)


def _store(out, r):
    """copy_(out, r) for an out= filled from a computed result, which copy_'s own overlap
    rules must not judge (the op's are checked by _check_out_overlap): a result that
    still shares memory with out is set aside first, and an out whose elements share
    memory (an expand) gets at each location its last element's value, as torch's
    kernels that accept such an out leave it."""
    if _C.overlap(out, r) == 2:
        r = ops.clone(r)
    if _C.internal_overlap(out) == 1:
        for d in range(out.ndim):
            n = out.shape[d]
            if n > 1 and out._strides[d] == 0:
                out, r = ops.slice(out, d, n - 1, n), ops.slice(r, d, n - 1, n)
    copy_(out, r)


def _out(r, out, fname=None, warn=True, stacklevel=3, overlap=None):
    """Stores result r into the user's out= tensor the way PyTorch does: the result
    dtype must be castable to out's; a wrongly shaped out is resized (rebound to new
    storage; ops warn unless it was empty, factories resize silently).  overlap: see
    _check_out_overlap (None: the op checks nothing)."""
    if out is None:
        return r
    if not isinstance(out, TB):
        raise TypeError("%sargument 'out' must be Tensor, not %s"
                        % (fname + "(): " if fname else "", type(out).__name__))
    _check_out_overlap(overlap, out)
    if not _C.can_cast(r.dtype, out.dtype):
        raise RuntimeError("result type %s can't be cast to the desired output type %s"
                           % (r.dtype._torch_name, out.dtype._torch_name))
    if out._device_index != r._device_index:
        from ._size import device_of
        raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, %s and "
                           "%s!" % (device_of(r._device_index), device_of(out._device_index)))
    if tuple(out.shape) == tuple(r.shape):
        _store(out, r)
        return out
    if warn and out.numel():
        import warnings
        warnings.warn(_RESIZE_WARNING % (list(out.shape), list(r.shape)), UserWarning, stacklevel=stacklevel)
    # a fresh tensor, never r itself: r may be one of the caller's tensors
    _C.set_device(out._device_index)  # on out's device
    try:
        fresh = ops.empty(out.dtype, r.shape)
    finally:
        _C.set_device(0)
    copy_(fresh, r)
    _C.swap(out, fresh)
    return out


def _into(entry, args, attrs, out, fname=None, stacklevel=5):
    """entry(*args, **attrs) with its result written straight into out when out has the
    result's exact shape and dtype (one record, no temporary; the daemon keeps PyTorch's
    semantics when out overlaps an input); otherwise computed out of place and stored by
    _out.  stacklevel: frames from _out up to the user's call (user, op, [binary,] _into, _out)."""
    if isinstance(out, TB) and entry(*args, out=out, **attrs) is not None:
        return out
    return _out(entry(*args, **attrs), out, fname, stacklevel=stacklevel)


def _outs(rs, out, fname, overlap=None):
    """_out for each result of a multi-output op; out must be a tuple of as many tensors."""
    if out is None:
        return rs
    if not isinstance(out, (tuple, list)) or len(out) != len(rs):
        raise TypeError("%s(): argument 'out' must be tuple of %d Tensors" % (fname, len(rs)))
    if builtins.all(isinstance(o, TB) for o in out):
        _check_out_overlap(overlap, tuple(out))
    res = [_out(r, o, fname) for r, o in zip(rs, out)]
    return type(rs)(res) if type(rs) in (tuple, list) else type(rs)(*res)  # return_types take fields


# ---------------------------------------------------------------- unary ops

def _unfn(entry, name):
    def f(input, *, out=None):
        _check_tensor(input, name)
        if out is not None:
            _unary_out_check(entry, name, input, out)
            return _into(entry, (input,), {}, out, name, stacklevel=4)
        return entry(input)

    def f_(self):
        return entry(self, inplace=True)
    f.__name__ = f.__qualname__ = name
    f_.__name__ = f_.__qualname__ = name + "_"
    return _C.fast(entry.op, f), _C.fast(entry.op, f_, True) if O.FLAGS[entry.op] & O.F_INPLACE_OK else f_


# torch's unary bindings without out= (isnan(x, out=o) is its TypeError), and those whose
# out may hold another dtype (bool results); the others' kernels take only an out of the
# input's dtype, unless they compute in floats (F_FLOAT_OUT: out= casts, checked by _out)
_NO_OUT = ("isnan", "isinf", "isfinite")
_ANY_OUT = ("logical_not", "signbit", "isposinf", "isneginf")


def _unary_out_check(entry, name, input, out):
    """torch's out= rules of a unary op (name: its torch name; entry: its op row)."""
    if name == "neg" and input.dtype is DTYPES[9]:
        return  # its bool refusal comes first
    if name in _NO_OUT:
        raise TypeError("%s() got an unexpected keyword argument 'out'" % name)
    if isinstance(out, TB) and out.dtype is not input.dtype and name not in _ANY_OUT and \
            not O.FLAGS[entry.op] & O.F_FLOAT_OUT and not input.dtype.is_complex:
        raise RuntimeError("Found dtype %s but expected %s" % (out.dtype._torch_name, input.dtype._torch_name))


def _tensor_other(entry, name, pos):
    """A BINARY row whose torch binding takes a Tensor other only (variant t): a number is
    torch's TypeError, so no C fast path (which records numbers) goes in front.  pos is
    other's position: 2 in the function, 1 in the method."""
    def f(input, other, *, out=None):
        _check_tensor(input, name)
        _check_tensor(other, name, "other", pos)
        return binary(entry, input, other, name, out=out)

    def f_(self, other):
        _check_tensor(other, name + "_", "other", 1)
        return binary(entry, self, other, name + "_", inplace=True)
    f.__name__ = f.__qualname__ = name
    f_.__name__ = f_.__qualname__ = name + "_"
    return f, f_


# name -> (method, in-place method) of the variant-t rows, for _tensor.py
TENSOR_OTHER_METHODS = {}


def _table_functions(name, op, variants):
    """The function (and in-place variant or None) of an op table `py` line, by family."""
    entry, fam = getattr(ops, O.NAMES[op]), O.FAMILIES[op]
    if fam in ("UNARY", "MATH_UNARY"):
        return _unfn(entry, name)
    if fam == "BINARY" and "t" in variants:
        TENSOR_OTHER_METHODS[name] = _tensor_other(entry, name, 1)
        return _tensor_other(entry, name, 2)
    if fam == "BINARY":
        return _binfn(entry, name), _binary_inplace(name + "_", entry, {})
    return _math_binary(entry, name, "s" in variants, "l" in variants)


# every torch function that is exactly one op (the `py` lines of proto/ops.args), aliases too
_g = globals()
for _n, _op, _aliases, _v in O.PYTHON:
    _f, _f_ = _table_functions(_n, _op, _v)
    for _a in (_n,) + _aliases:
        _g[_a] = _f
        if "i" in _v:
            _g[_a + "_"] = _f_


def round(input, *, decimals=0, out=None):
    _check_tensor(input, "round")
    if decimals:
        raise NotImplementedError("round(decimals=...) is not implemented by tensord yet")
    if out is not None:
        _unary_out_check(ops.round, "round", input, out)
    return _out(ops.round(input), out)


# ---------------------------------------------------------------- where / clamp

def _as_0d(v, like):
    if is_complex_scalar(v):
        return _complex_operand(like, v)
    from ._tensor_new import tensor
    # torch wraps the number: it takes result_type(like, v), so where(m, 0, int16) is int16
    return tensor(_pyscalar(v), dtype=_C.result_type(like, v) if isinstance(like, TB) else None)


def where(condition, input=None, other=None, *, out=None):
    if input is None and other is None:
        raise NotImplementedError("where(condition) (nonzero) is not implemented by tensord yet")
    _check_tensor(condition, "where", "condition", 1)
    if not isinstance(input, TB):
        if not (is_scalar(input) or is_complex_scalar(input)):
            raise _type_error("where", "input", 2, input)
        input = _as_0d(input, other)
    if not isinstance(other, TB):
        if not (is_scalar(other) or is_complex_scalar(other)):
            raise _type_error("where", "other", 3, other)
        other = _as_0d(other, input)
    if out is not None:
        return _into(ops.where, (condition, input, other), {}, out, "where")
    return ops.where(condition, input, other)


def _clamp_attrs(min, max):
    return {"has_min": min is not None, "min": 0 if min is None else scalar_arg(min, "clamp", "min", 2),
            "has_max": max is not None, "max": 0 if max is None else scalar_arg(max, "clamp", "max", 2)}


def _clamp_tensors(input, min, max):
    """clamp with tensor bounds, by selection rather than maximum/minimum: a tie gives
    its gradient to input, as torch's clamp_backward; NaN where an operand is NaN."""
    r, nan = input, None
    for bound, beyond in ((min, lt), (max, gt)):  # noqa: F821 (op-table functions)
        if bound is not None:
            r = where(beyond(r, bound), bound, r)
    if r is input:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    for t in (input, min, max):
        if isinstance(t, TB) and t.dtype.is_floating_point:
            m = isnan(t)  # noqa: F821
            nan = m if nan is None else logical_or(nan, m)  # noqa: F821
    return r if nan is None else where(nan, _math.nan, r)


def clamp(input, min=None, max=None, *, out=None):
    _check_tensor(input, "clamp")
    if isinstance(min, TB) or isinstance(max, TB):  # torch's clamp.Tensor overload
        return _out(torch_node(_clamp_tensors(input, min, max), "ClampBackward0"), out,
                    overlap=(O.CLAMP, [x for x in (input, min, max) if isinstance(x, TB)]))
    if out is not None:
        return _into(ops.clamp, (input,), _clamp_attrs(min, max), out, "clamp", stacklevel=4)
    return ops.clamp(input, **_clamp_attrs(min, max))


def clamp_(self, min=None, max=None):
    if isinstance(min, TB) or isinstance(max, TB):
        _C.check_overlap(O.CLAMP, [x for x in (self, min, max) if isinstance(x, TB)], inplace=True)
        return copy_(self, clamp(self, min, max))
    attrs = _clamp_attrs(min, max)
    rt = self.dtype
    for v in (min, max):
        if v is not None:
            rt = _C.promote_types(rt, _C.result_type(self, attrs["min" if v is min else "max"]))
    if not _C.can_cast(rt, self.dtype):  # torch's scalar clamp_ names the C++ type here
        raise RuntimeError("result type %s can't be cast to the desired output type %s"
                           % (rt._torch_name, CPP_TYPE_NAMES[self.dtype._name]))
    return ops.clamp(self, inplace=True, **attrs)


clip, clip_ = clamp, clamp_


def clamp_min(input, min, *, out=None):
    return clamp(input, min=min, out=out)


def clamp_max(input, max, *, out=None):
    return clamp(input, max=max, out=out)


# ---------------------------------------------------------------- reductions

def _full_mask(nd):
    return (1 << nd) - 1 if nd else 1


def dim_mask(t, dim):
    nd = t.ndim
    if dim is None:
        return _full_mask(nd)
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return _full_mask(nd)
        mask = 0
        for d in dim:
            w = wrap_dim(d, nd)
            if (mask >> w) & 1:
                raise RuntimeError("dim %d appears multiple times in the list of dims" % w)
            mask |= 1 << w
        return mask
    return 1 << wrap_dim(dim, nd)


def _reduce(entry, input, dim, keepdim, dtype=None, flatten=False, name="", out=None):
    """The reduction; with out, written straight into it when it fits (_into)."""
    _check_tensor(input, name)
    check_dtype(dtype)
    if isinstance(dim, (list, tuple)) and len(dim) == 0:
        dim = None
    args = (input, dim, builtins.bool(keepdim), dtype, flatten)
    if out is not None:
        return _into(entry, args, {}, out, name)
    return entry(*args)


def _dim_or_dtype(dim, dtype):
    if isinstance(dim, _dtype_cls):
        return None, dim
    return dim, dtype


def _out_dtype(dtype, out):
    """sum/prod/nansum with out= compute in out's dtype (the input is cast first), as torch."""
    return out.dtype if dtype is None and isinstance(out, TB) else dtype


def _same_dtype_out(input, out):
    if isinstance(out, TB) and isinstance(input, TB) and out.dtype is not input.dtype:
        raise RuntimeError("Expected the dtype for input and out to match, but got %s for input's dtype and %s for "
                           "out's dtype." % (input.dtype._torch_name, out.dtype._torch_name))


def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    dim, dtype = _dim_or_dtype(dim, dtype)
    dtype = _out_dtype(dtype, out)
    return _reduce(ops.sum, input, dim, keepdim, dtype, name="sum", out=out)


def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    dim, dtype = _dim_or_dtype(dim, dtype)
    return _reduce(ops.mean, input, dim, keepdim, dtype, name="mean", out=out)


sum = _C.fast(O.SUM, sum)
mean = _C.fast(O.MEAN, mean)


def prod(input, dim=None, keepdim=False, *, dtype=None, out=None):
    dim, dtype = _dim_or_dtype(dim, dtype)
    dtype = _out_dtype(dtype, out)
    if dim is not None and isinstance(dim, (list, tuple)):
        raise TypeError("prod(): argument 'dim' (position 2) must be int, not %s" % type(dim).__name__)
    return _reduce(ops.prod, input, dim, keepdim, dtype, name="prod", out=out)


def _need_dim_if_empty(input, dim, name):
    """torch's amax/amin errors for an empty reduction, which the record's dim mask cannot
    word: over every dim (dim=()) it asks for a dim; otherwise it names the first empty
    dim listed as the user wrote it (-1, not 1)."""
    if not isinstance(input, TB) or input.numel() != 0:
        return
    dims = list(dim) if isinstance(dim, (list, tuple)) else [dim]
    if not dims:
        raise RuntimeError("%s(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                           "reduction dim with the 'dim' argument." % name)
    for d in dims:
        if isinstance(d, (builtins.int, _np.integer)) and -input.ndim <= d < builtins.max(input.ndim, 1) \
                and input.ndim and input.shape[d] == 0:
            raise IndexError("%s(): Expected reduction dim %d to have non-zero size." % (name, d))


def amax(input, dim=(), keepdim=False, *, out=None):
    _same_dtype_out(input, out)
    _need_dim_if_empty(input, dim, "amax")
    return _reduce(ops.amax, input, dim, keepdim, name="amax", out=out)


def amin(input, dim=(), keepdim=False, *, out=None):
    _same_dtype_out(input, out)
    _need_dim_if_empty(input, dim, "amin")
    return _reduce(ops.amin, input, dim, keepdim, name="amin", out=out)


def _truthy(input):
    # torch 1.13's all/any cast a complex input to bool first, which keeps only the real part
    # (with the "discards the imaginary part" warning); count_nonzero/nonzero/logical_* test z != 0
    return cast(input, DTYPES[9]) if isinstance(input, TB) and input.dtype.is_complex else input


def all(input, dim=None, keepdim=False, *, out=None):
    input = _truthy(input)
    return _reduce(ops.all, input, dim, keepdim, name="all", out=out)


def any(input, dim=None, keepdim=False, *, out=None):
    input = _truthy(input)
    return _reduce(ops.any, input, dim, keepdim, name="any", out=out)


def argmax(input, dim=None, keepdim=False, *, out=None):
    if dim is None:
        return _reduce(ops.argmax, input, None, keepdim, flatten=True, name="argmax", out=out)
    return _reduce(ops.argmax, input, index_int(dim), keepdim, name="argmax", out=out)


def argmin(input, dim=None, keepdim=False, *, out=None):
    if dim is None:
        return _reduce(ops.argmin, input, None, keepdim, flatten=True, name="argmin", out=out)
    return _reduce(ops.argmin, input, index_int(dim), keepdim, name="argmin", out=out)


class return_types:
    """torch.return_types: the named tuples multi-output functions return (structseq)."""


def structseq(name, fields=("values", "indices")):
    """torch.return_types.<name>: a tuple with named fields, registered on return_types
    (where pickle finds it)."""

    def __new__(cls, *vals):
        if len(vals) != len(fields):
            raise TypeError("torch.return_types.%s takes a sequence of length %d" % (name, len(fields)))
        return tuple.__new__(cls, vals)

    def __repr__(self):
        body = ",\n".join("%s=%r" % (f, v) for f, v in zip(fields, self))
        return "torch.return_types.%s(\n%s)" % (name, body)

    def __reduce__(self):
        return (type(self), tuple(self))

    ns = {"__slots__": (), "__new__": __new__, "__repr__": __repr__, "__reduce__": __reduce__,
          "n_fields": len(fields), "n_sequence_fields": len(fields), "_fields": tuple(fields),
          "__module__": __name__, "__qualname__": "return_types." + name}
    for k, f in enumerate(fields):
        ns[f] = property(lambda self, k=k: self[k])
    cls = type(name, (tuple,), ns)
    setattr(return_types, name, cls)
    return cls


structseq("max")
structseq("min")


def _minmax(name, red_op, dim_op, cls, binop, input, dim=None, keepdim=False, other=None):
    _check_tensor(input, name)
    if isinstance(dim, TB):
        return binop(input, dim)
    if dim is None:
        if keepdim:
            raise TypeError("%s() received an invalid combination of arguments - got (Tensor, keepdim=bool)" % name)
        try:
            return red_op(input, flatten=True)  # max() of all elements: its own backward (formula.c)
        except RuntimeError as e:
            msg = str(e)
            if msg.startswith("a"):  # "amax(): ..." -> "max(): ..."
                raise RuntimeError(msg[1:]) from None
            raise
    return cls(*dim_op(input, index_int(dim), builtins.bool(keepdim)))


def _minmax_out(name, r, out, input):
    if isinstance(r, tuple):
        return _outs(r, out, name, overlap=(O.MAX_DIM if name == "max" else O.MIN_DIM, (input,)))
    return _out(r, out, name)


def _no_complex_all(input, name, dim):
    # torch names its all-elements kernel here; the C gate cannot tell max() from amax()
    if dim is None and isinstance(input, TB) and input.dtype.is_complex:
        raise RuntimeError("\"%s_all\" not implemented for '%s'" % (name, input.dtype._torch_name))


def max(input, dim=None, keepdim=False, *, out=None):
    _no_complex_all(input, "max", dim)
    r = _minmax_out("max", _minmax("max", ops.amax, ops.max_dim, return_types.max, maximum, input, dim, keepdim), out,
                    input)
    return torch_node(r, "MaxBackward1") if dim is None and isinstance(r, TB) else r  # torch's max() overload


def min(input, dim=None, keepdim=False, *, out=None):
    _no_complex_all(input, "min", dim)
    r = _minmax_out("min", _minmax("min", ops.amin, ops.min_dim, return_types.min, minimum, input, dim, keepdim), out,
                    input)
    return torch_node(r, "MinBackward1") if dim is None and isinstance(r, TB) else r


# ---------------------------------------------------------------- matmul

def matmul(input, other, *, out=None):
    _check_tensor(input, "matmul")
    _check_tensor(other, "matmul", "other", 2)
    return ops.matmul(input, other) if out is None else _into(ops.matmul, (input, other), {}, out, "matmul", stacklevel=4)


matmul = _C.fast(O.MATMUL, matmul)


def mm(input, mat2, *, out=None):
    _check_tensor(input, "mm")
    _check_tensor(mat2, "mm", "mat2", 2)
    return ops.mm(input, mat2) if out is None else _into(ops.mm, (input, mat2), {}, out, "mm", stacklevel=4)


def bmm(input, mat2, *, out=None):
    _check_tensor(input, "bmm")
    _check_tensor(mat2, "bmm", "mat2", 2)
    return ops.bmm(input, mat2) if out is None else _into(ops.bmm, (input, mat2), {}, out, "bmm", stacklevel=4)


# ---------------------------------------------------------------- views

def sizes_arg(args, fname, argname="size"):
    """Sizes given as varargs or one tuple/list/Size -> list of ints."""
    if len(args) == 0:  # t.permute(), t.expand(): the binding's missing argument (an empty tuple is fine)
        raise TypeError('%s() missing 1 required positional arguments: "%s"' % (fname, argname))
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    out = []
    for i, s in enumerate(args):
        if isinstance(s, builtins.bool) or not (isinstance(s, (builtins.int, _np.integer)) or
                                                (isinstance(s, TB) and s.ndim == 0 and not s.dtype.is_floating_point)):
            if len(args) == 1 or not isinstance(args, (tuple, list)):
                raise TypeError("%s(): argument '%s' (position 1) must be tuple of ints, not %s"
                                % (fname, argname, type(s).__name__))
            raise TypeError("%s(): argument '%s' must be tuple of ints, but found element of type %s at pos %d"
                            % (fname, argname, type(s).__name__, i + 1))
        out.append(builtins.int(s))
    return out


def view(input, *shape):
    if len(shape) == 1 and isinstance(shape[0], _dtype_cls):
        raise NotImplementedError("view(dtype) is not implemented by tensord yet")
    if not shape:
        raise TypeError("view() received an invalid combination of arguments - got (), but expected one of:\n"
                        " * (torch.dtype dtype)\n * (tuple of SymInts size)\n")
    s = sizes_arg(shape, "view")
    return ops.view(input, s)


def reshape(input, *shape):
    s = sizes_arg(shape, "reshape", "shape")
    try:
        return ops.view(input, s)
    except RuntimeError as e:
        if "view size is not compatible" not in str(e):
            raise
    return ops.view(ops.clone(input), s)


def alias(input):
    """A new tensor object viewing exactly the same elements."""
    return ops.as_strided(input, input._offset, input.shape, input._strides)


def detach(input):
    """An alias of input outside the autograd graph (recorded with grad mode off); not a
    view for autograd, as torch's: in-place ops on it may be recorded."""
    prev = _C.set_grad_enabled(False)
    try:
        return _C.TensorBase.detach_(alias(input))
    finally:
        _C.set_grad_enabled(prev)


def as_strided(input, size, stride, storage_offset=None):
    size, stride = list(size), list(stride)
    off = input._offset if storage_offset is None else builtins.int(storage_offset)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    return ops.as_strided(input, off, size, stride)


def permute(input, *dims):
    d = sizes_arg(dims, "permute", "dims")
    return ops.permute(input, d)


def transpose(input, dim0, dim1):
    return ops.transpose(input, index_int(dim0), index_int(dim1))


swapaxes = swapdims = transpose


def t(input):
    if input.ndim > 2:
        raise RuntimeError("t() expects a tensor with <= 2 dimensions, but self is %dD" % input.ndim)
    if input.ndim < 2:
        return alias(input)
    return torch_node(ops.transpose(input, 0, 1), "TBackward0")


def expand(input, *sizes):
    s = sizes_arg(sizes, "expand")
    return ops.expand(input, s)


def expand_as(input, other):
    return expand(input, tuple(other.shape))


def squeeze(input, dim=None):
    r = ops.squeeze(input, dim)
    return r if dim is None or r is input else torch_node(r, "SqueezeBackward1")  # torch's squeeze.dim


def unsqueeze(input, dim):
    return ops.unsqueeze(input, index_int(dim))


def flatten(input, start_dim=0, end_dim=-1):
    nd = input.ndim
    if nd == 0:
        return reshape(input, 1)
    s, e = wrap_dim(start_dim, nd), wrap_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return alias(input)
    shape = list(input.shape)
    n = 1
    for x in shape[s:e + 1]:
        n *= x
    return reshape(input, shape[:s] + [n] + shape[e + 1:])


def narrow(input, dim, start, length):
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.ndim)
    start, length = index_int(start), index_int(length)
    n = input.shape[d]
    if start < -n or start > n:
        raise IndexError("start out of range (expected to be in range of [%d, %d], but got %d)" % (-n, n, start))
    if start < 0:
        start += n
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > n:
        raise RuntimeError("start (%d) + length (%d) exceeds dimension size (%d)." % (start, length, n))
    return ops.slice(input, d, start, start + length)


def select(input, dim, index):
    index = index_int(index)
    try:
        return ops.select(input, index_int(dim), index)
    except IndexError as e:
        if "out of bounds" not in str(e):
            raise
        d = wrap_dim(dim, input.ndim)
        raise IndexError("select(): index %d out of range for tensor of size %s at dimension %d"
                         % (index, list(input.shape), d)) from None


def contiguous(input, memory_format=None):
    if input.is_contiguous():
        return input
    return ops.clone(input)


def clone(input, *, memory_format=None):
    _check_tensor(input, "clone")
    # preserve_format (the default) keeps a dense input's strides, as torch's empty_like does
    return _layout.copy_ordered(input, _layout.like_order(input, memory_format))


_DISCARD_IMAG = "Casting complex values to real discards the imaginary part"


def _warn_discard_imag(src, dst):
    if src.is_complex and not dst.is_complex:
        import warnings
        warnings.warn(_DISCARD_IMAG, UserWarning, stacklevel=3)


def copy_(self, src, non_blocking=False):
    if not isinstance(src, TB):
        raise TypeError("copy_(): argument 'other' (position 1) must be Tensor, not %s" % type(src).__name__)
    _warn_discard_imag(src.dtype, self.dtype)
    ops.copy_(self, src)
    return self


# the C++ type torch names in "value cannot be converted to type ... without overflow"
CPP_TYPES = {"float32": "float", "float64": "double", "float16": "at::Half", "bfloat16": "at::BFloat16",
             "int64": "int64_t", "int32": "int", "int16": "int16_t", "int8": "int8_t", "uint8": "uint8_t",
             "bool": "bool", "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


_INT_LIMITS = {"int64": (-2**63, 2**63 - 1), "int32": (-2**31, 2**31 - 1), "int16": (-2**15, 2**15 - 1),
               "int8": (-128, 127), "uint8": (0, 255)}
_FLOAT_MAX = {"float16": 65504.0, "bfloat16": 3.3895313892515355e38, "float32": 3.4028234663852886e38}


_RANGES = dict(_INT_LIMITS, bool=(0, 1), float16=(-65504.0, 65504.0), bfloat16=(-3.3895313892515355e38, 3.39e38),
               float32=(-3.4028234663852886e38, 3.4028234663852886e38), float64=(-_math.inf, _math.inf))


def _may_overflow(src, dst):
    """Whether a value of dtype src can fail checked_value for dst (src's range exceeds dst's)."""
    if src is dst or dst._name == "bool" or src.is_complex or dst.is_complex:
        return False
    (lo, hi), (dlo, dhi) = _RANGES[src._name], _RANGES[dst._name]
    return lo < dlo or hi > dhi or (src.is_floating_point and not dst.is_floating_point)


def checked_value(v, dt):
    """v (a real Python number) as torch's Scalar.to<T>() reads a fill value (fill_, full,
    masked_fill_, index_fill_, scatter_'s value, t[i] = v): RuntimeError when it does not
    fit dt.  As c10::checked_convert: infinities and NaN fit the floating dtypes, NaN no
    integer one; a negative int fits uint8 while two's complement wraps it (-1 is 255);
    bool takes anything."""
    name = dt._name
    if isinstance(v, builtins.bool) or name == "bool":
        return v
    if name in _INT_LIMITS:
        lo, hi = _INT_LIMITS[name]
        if name == "uint8" and isinstance(v, builtins.int):
            ok = v <= hi and -v <= hi
        else:
            ok = v == v and lo <= v <= hi
    elif name in _FLOAT_MAX:
        ok = v != v or builtins.abs(v) == _math.inf or builtins.abs(v) <= _FLOAT_MAX[name]
    else:
        return v
    if not ok:
        raise RuntimeError("value cannot be converted to type %s without overflow" % CPP_TYPES[name])
    return v


# the C++ type names of torch's scalar clamp_ message (the compiler's spellings)
CPP_TYPE_NAMES = dict(CPP_TYPES, int64="long int", int16="short int", int8="signed char", uint8="unsigned char",
                      float16="c10::Half", bfloat16="c10::BFloat16")


def complex_fill_value(v, dt):
    """A complex fill value as a 0-d tensor of dt; a real dt takes it only without an imaginary part."""
    from ._tensor_new import tensor
    v = builtins.complex(v)
    if not dt.is_complex:
        if v.imag != 0:
            raise RuntimeError("value cannot be converted to type %s without overflow" % CPP_TYPES[dt._name])
        return tensor(v.real, dtype=dt)
    return tensor(v, dtype=dt)


def fill_(self, value):
    if is_complex_scalar(value) and isinstance(self, TB):
        return copy_(self, complex_fill_value(value, self.dtype))
    if isinstance(value, TB):
        if value.ndim != 0:
            raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor with %d dimensions."
                               % value.ndim)
        if _may_overflow(value.dtype, self.dtype):  # torch fills with value.item(), checked
            checked_value(value.item(), self.dtype)
        # torch's fill_ reads the value first and checks no overlap: not copy_'s rules
        if _C.internal_overlap(self) == 1:
            value = value.item()
        else:
            return copy_(self, ops.clone(value) if _C.overlap(self, value) else value)
    ops.fill_(self, checked_value(scalar_arg(value, "fill_", "value", 1), self.dtype))
    return self


def zero_(self):
    return fill_(self, 0)


def cast(input, dt):
    if input.dtype is dt:
        return input
    _warn_discard_imag(input.dtype, dt)
    return ops.cast(input, dt)


def cat(tensors, dim=0, *, out=None):
    if isinstance(tensors, TB) or not isinstance(tensors, (list, tuple)):
        raise TypeError("cat(): argument 'tensors' (position 1) must be tuple of Tensors, not %s"
                        % type(tensors).__name__)
    for i, x in enumerate(tensors):
        if not isinstance(x, TB):
            raise TypeError("expected Tensor as element %d in argument 0, but got %s" % (i, type(x).__name__))
    dim = index_int(dim)
    if dim < 0:  # normalized against the first tensor that is not a legacy empty [0]
        ref = next((x for x in tensors if not (x.ndim == 1 and x.shape[0] == 0)), tensors[0] if tensors else None)
        if ref is not None and ref.ndim > 0:
            dim = wrap_dim(dim, ref.ndim)
    if out is not None:
        return _into(ops.cat, tuple(tensors), {"dim": dim}, out, "cat", stacklevel=4)
    return cat_many(tensors, dim)


def cat_many(tensors, dim):
    """ops.cat for any number of tensors: a record takes at most 255 inputs, so longer
    lists are joined in rounds (each round's results in order)."""
    tensors = list(tensors)
    while len(tensors) > 254:
        tensors = [ops.cat(*tensors[i:i + 254], dim=dim) for i in range(0, len(tensors), 254)]
    return ops.cat(*tensors, dim=dim)


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    if isinstance(tensors, TB) or not isinstance(tensors, (list, tuple)):
        raise TypeError("stack(): argument 'tensors' (position 1) must be tuple of Tensors, not %s"
                        % type(tensors).__name__)
    if len(tensors) == 0:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, x in enumerate(tensors):
        if not isinstance(x, TB):
            raise TypeError("expected Tensor as element %d in argument 0, but got %s" % (i, type(x).__name__))
    s0 = tuple(tensors[0].shape)
    d = wrap_dim(dim, len(s0) + 1)  # torch wraps dim (for the first tensor) before comparing shapes
    for i, x in enumerate(tensors):
        if tuple(x.shape) != s0:
            raise RuntimeError("stack expects each tensor to be equal size, but got %s at entry 0 and %s at entry %d"
                               % (list(s0), list(x.shape), i))
    if s0 and d < len(s0) and len(tensors) <= 254:
        # joined along dim d, then dim d split into (n, its size): two records, not n + 1
        return _out(torch_node(ops.view(ops.cat(*tensors, dim=d), s0[:d] + (len(tensors),) + s0[d:]),
                               "StackBackward0"), out, overlap=(O.CAT, tensors))
    return _out(torch_node(cat_many([unsqueeze(x, d) for x in tensors], d), "StackBackward0"), out,
                overlap=(O.CAT, tensors) if len(tensors) < 255 else None)


def numel(input):
    return input.numel()


def is_tensor(obj):
    return isinstance(obj, TB)


def is_floating_point(input):
    return input.dtype.is_floating_point


def equal(input, other):
    if tuple(input.shape) != tuple(other.shape):
        return False
    return builtins.bool(all(eq(input, other)).item())
