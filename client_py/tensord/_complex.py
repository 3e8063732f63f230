"""Complex tensors: view_as_real/view_as_complex, real/imag views, conj, angle, complex(),
polar(), and the method-only spellings that go with them (declared on Tensor in _tensor.py).
Complex Python scalars in operators and factories are handled where those live
(_records.binary, _creation.full, ...).

real/imag are views (selects on view_as_real), as in torch.  conj() returns a conjugated
copy (torch returns a lazy conjugate view whose is_conj() is True; tensord has no conj bit,
so is_conj() is always False and resolve_conj() returns the tensor itself).  Everything
here is composed from op records; the daemon's complex kernels are kernels/cpu/complex.c.
"""
import builtins
import math as _math

from . import _C
from . import _op_numbers as O
from ._C import ops
from . import _records as F
from ._dtype import complex64, complex128

TB = _C.TensorBase

__all__ = ["view_as_real", "view_as_complex", "real", "imag", "conj", "conj_physical", "conj_physical_", "resolve_conj",
           "resolve_neg", "is_conj", "is_complex", "angle", "complex", "polar", "sgn"]


def view_as_real(input):
    F._check_tensor(input, "view_as_real")
    return ops.view_as_real(input)


def view_as_complex(input):
    F._check_tensor(input, "view_as_complex")
    return ops.view_as_complex(input)


def real(input):
    F._check_tensor(input, "real")
    if not input.dtype.is_complex:
        return input
    return F.select(view_as_real(input), -1, 0)


def imag(input):
    F._check_tensor(input, "imag")
    if not input.dtype.is_complex:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return F.select(view_as_real(input), -1, 1)


def _pairs(re, im):
    """The complex tensor whose (re, im) pairs are re and im (real, one shape): one cat
    record, differentiable (no in-place write through a dtype-changing view)."""
    return ops.view_as_complex(ops.cat(F.unsqueeze(re, -1), F.unsqueeze(im, -1), dim=re.ndim))


def conj_physical(input):
    F._check_tensor(input, "conj_physical")
    if not input.dtype.is_complex:
        return input
    return _pairs(real(input), ops.neg(imag(input)))


def conj(input):
    return conj_physical(input)


def resolve_conj(input):
    return input


resolve_neg = resolve_conj


def is_conj(input):
    return False


def is_complex(input):
    F._check_tensor(input, "is_complex")
    return input.dtype.is_complex


def angle(input):
    """Argument of each element; real inputs give 0 or pi (NaN stays NaN), as a float."""
    F._check_tensor(input, "angle")
    if input.dtype.is_complex:
        re, im = real(input), imag(input)
        if not (input.requires_grad and _C.is_grad_enabled()):
            return ops.atan2(im, re)
        # torch's gradient is 0 at z == 0, where atan2's is 0/0: the gradient goes through
        # atan2(im, 1) there (the value stays atan2's, so angle(-0.0) is still pi)
        zero = F.eq(input, 0)
        return F.where(zero, ops.atan2(im, re).detach(), ops.atan2(im, F.where(zero, 1.0, re)))
    x = input if input.dtype.is_floating_point else F.cast(input, F.get_default_dtype())
    r = F.where(F.lt(x, 0), _math.pi, 0.0)
    r = F.cast(r, x.dtype)
    return F.where(F.ne(x, x), x, r)


def _check_parts(a, b, fname):
    F._check_tensor(a, fname, "real" if fname == "complex" else "abs", 1)
    F._check_tensor(b, fname, "imag" if fname == "complex" else "angle", 2)
    ok = (a.dtype.is_floating_point and b.dtype.is_floating_point and a.dtype._name in ("float32", "float64")
          and b.dtype._name in ("float32", "float64"))
    if not ok:
        raise RuntimeError("Expected both inputs to be Half, Float or Double tensors but got %s and %s"
                           % (a.dtype._torch_name, b.dtype._torch_name))
    if a.dtype is not b.dtype:
        raise RuntimeError("Expected object of scalar type %s but got scalar type %s for second argument"
                           % (a.dtype._torch_name, b.dtype._torch_name))


def from_parts(re, im):
    shape = list(F.add(F.mul(re, 0), F.mul(im, 0)).shape)  # the broadcast shape, errors as torch's
    return _pairs(F.expand(re, *shape), F.expand(im, *shape))


def complex(real, imag, *, out=None):
    _check_parts(real, imag, "complex")
    return F._out(from_parts(real, imag), out)


def polar(abs, angle, *, out=None):
    _check_parts(abs, angle, "polar")
    return F._out(from_parts(F.mul(abs, F.cos(angle)), F.mul(abs, F.sin(angle))), out)


def sgn(input):
    """z / |z| (0 where z == 0) for complex inputs; sign for real ones."""
    F._check_tensor(input, "sgn")
    if not input.dtype.is_complex:
        return F.sign(input)
    a = F.abs(input)
    zero = F.eq(a, 0)
    # |z| replaced by 1 where z == 0, so that the masked branch's gradient is 0, not 0/0
    return F.where(zero, 0.0, F.div(input, F.cast(F.where(zero, 1.0, a), input.dtype)))


def binary_fallback(opn, a, b, flags):
    """_C's operator slots call this when a scalar operand is a Python complex."""
    inplace = builtins.bool(flags & F.INPLACE)
    name = O.NAMES[opn]  # opn: the slot's op number, naming its entry
    return F.binary(getattr(ops, name), a, b, name + ("_" if inplace else ""), inplace=inplace, scalar_lhs_ok=True)


_C.set_binary_fallback(binary_fallback)


def conj_physical_(input):
    F._check_tensor(input, "conj_physical_")
    if input.dtype.is_complex:
        if input.requires_grad and _C.is_grad_enabled():
            # an in-place write of input (its history rebased, a leaf refused), not of a
            # view of another dtype, which autograd does not track back to input
            ops.copy_(input, conj_physical(input))
            return input
        ops.neg(imag(input), inplace=True)
    return input


# ---- method-only spellings (Tensor declares its methods in _tensor.py)


def cfloat(self):
    return F.cast(self, complex64)


def cdouble(self):
    return F.cast(self, complex128)
