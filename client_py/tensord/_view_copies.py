"""Conjugate transposes (H mH mT adjoint), the *_copy variants of view functions and the
unsafe_* splits, and a few in-place aliases and top-level spellings of methods.  All of it
composes existing view ops; no kernel."""
import builtins
import sys as _sys

from . import _C, _advindex
from . import _records as F

TB = _C.TensorBase
_T = _sys.modules[__name__.rpartition(".")[0]]  # the package: its functions are looked up at call time

__all__ = []

_check = F._check_tensor
_export = F.exporter(globals(), __all__)


# ---------------------------------------------------------------- conjugate transposes

def _mH(self, what="tensor.mH"):
    if self.ndim == 1:
        raise RuntimeError("%s is only supported on matrices or batches of matrices. Got 1-D tensor." % what)
    t = F.transpose(self, -2, -1) if self.ndim else F.alias(self)
    return _T.conj(t) if t.dtype.is_complex else t  # conj is an eager copy in tensord


def _H(self):
    if self.ndim not in (0, 2):
        raise RuntimeError("tensor.H is only supported on matrices (2-D tensors). Got %d-D tensor.%s"
                           % (self.ndim, " For batches of matrices, consider using tensor.mH" if self.ndim > 2 else ""))
    return _mH(self)


def adjoint(input):
    _check(input, "adjoint")
    return _mH(input, "tensor.adjoint()")


_export("adjoint", adjoint)



# ---------------------------------------------------------------- in-place aliases, top-level spellings

def detach_(input):
    """input, cut from the autograd graph in place."""
    _check(input, "detach_")
    return _C.TensorBase.detach_(input)


_export("detach_", detach_)


def negative_(input):
    _check(input, "negative_")
    return input.neg_()


def fix_(input):
    _check(input, "fix_")
    return input.trunc_()


def sgn_(self):
    return F.copy_(self, _T.sgn(self))


_export("negative_", negative_)
_export("fix_", fix_)
_export("index_put_", _advindex.index_put_)
_export("put", _advindex.put)


def resize_as_(input, the_template, memory_format=None):
    return input.resize_as_(the_template, memory_format=memory_format)


_export("resize_as_", resize_as_)


def as_strided_(input, size, stride, storage_offset=None):
    """input rebound in place to the view as_strided gives (Tensor.as_strided_)."""
    _check(input, "as_strided_")
    return input.as_strided_(size, stride, storage_offset)


_export("as_strided_", as_strided_)


def new_empty_strided(self, size, stride, *, dtype=None, layout=None, device=None, pin_memory=False,
                      requires_grad=False):
    return _T.empty_strided(size, stride, dtype=self.dtype if dtype is None else dtype,
                            device=self.device if device is None else device, requires_grad=requires_grad)




# ---------------------------------------------------------------- unsafe splits (views, as in torch)

def unsafe_chunk(input, chunks, dim=0):
    _check(input, "unsafe_chunk")
    return _T.chunk(input, chunks, dim)


def unsafe_split(input, split_size, dim=0):
    _check(input, "unsafe_split")
    return _T.split(input, split_size, dim)


def unsafe_split_with_sizes(input, split_sizes, dim=0):
    _check(input, "unsafe_split_with_sizes")
    return _T.split_with_sizes(input, split_sizes, dim)


for _n in ("unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes"):
    _export(_n, globals()[_n])


# ---------------------------------------------------------------- *_copy: a view function, then a copy

def _dense_strides(sizes, strides):
    """ATen's infer_dense_strides: dense strides in the memory order of `strides` (stable
    insertion sort from the innermost dim; 0-stride dims keep their place)."""
    nd = len(sizes)
    perm = list(builtins.range(nd - 1, -1, -1))

    def swap(d0, d1):
        s0, s1 = strides[d0], strides[d1]
        if s0 == 0 or s1 == 0:
            return 0
        if s0 != s1:
            return -1 if s0 < s1 else 1
        return 1 if sizes[d0] > sizes[d1] else 0
    for i in builtins.range(1, nd):
        d1 = i
        for j in builtins.range(1, i + 1):
            d0 = i - j
            c = swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    out, cur = [0] * nd, 1
    for d in perm:
        out[d] = cur
        if sizes[d] > 1:
            cur *= sizes[d]
    return out


def _copy(t):
    """A fresh tensor with t's values and the strides torch's clone (preserve_format) gives:
    t's own when t is non-overlapping and dense, else dense ones in t's memory order."""
    sizes, strides = list(t.shape), list(t._strides)
    if _C.internal_overlap(t) != 0:  # 0: non-overlapping and dense (kernels/overlap.c)
        strides = _dense_strides(sizes, strides)
    return F.copy_(_T.empty_strided(sizes, strides, dtype=t.dtype), t)


def _copy_out(r, out, fname):
    """torch 1.13's *_copy out=: copies into out, broadcasting (no resize), casting."""
    if out is None:
        return r
    if not isinstance(out, TB):
        raise TypeError("%s(): argument 'out' must be Tensor, not %s" % (fname, type(out).__name__))
    F.copy_(out, r)
    return out


def _copy_outs(rs, out, fname):
    rs = tuple(_copy(r) for r in rs)
    if out is None:
        return rs
    if not isinstance(out, (list, tuple)) or not builtins.all(isinstance(o, TB) for o in out):
        raise TypeError("%s(): argument 'out' must be tuple of Tensors, not %s" % (fname, type(out).__name__))
    if len(out) != len(rs):
        raise RuntimeError("%s_Tensor_out() expected an out= argument of size %d, got size %d"
                           % (fname, len(rs), len(out)))
    for o, r in zip(out, rs):
        F.copy_(o, r)
    return None


def _view_copy(name, view):
    fname = name + "_copy"

    def f(input, *args, out=None, **kw):
        _check(input, fname)
        return _copy_out(_copy(view(input, *args, **kw)), out, fname)
    f.__name__ = f.__qualname__ = fname
    return f


def _slice_view(input, dim=0, start=None, end=None, step=1):
    d = F.wrap_dim(dim, input.ndim)
    step = F.index_int(step)
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    return input[(builtins.slice(None),) * d + (builtins.slice(start, end, step),)]


def _expand_view(input, size, *, implicit=False):
    return F.expand(input, size)


def _squeeze_view(input, dim=None):
    return F.squeeze(input) if dim is None else F.squeeze(input, F.index_int(dim))


def _view_view(input, size):
    """view_copy copies first, so any input takes any compatible size (a reshape)."""
    if isinstance(size, _T.dtype):
        return input.view(size)
    if not isinstance(size, (tuple, list)):
        raise TypeError("view_copy() received an invalid combination of arguments - got (Tensor, %s), but expected "
                        "one of:\n * (Tensor input, torch.dtype dtype, *, Tensor out)\n * (Tensor input, tuple of "
                        "SymInts size, *, Tensor out)\n" % type(size).__name__)
    return F.reshape(input, *size)


_VIEWS = {
    "alias": F.alias, "detach": F.detach, "as_strided": F.as_strided, "diagonal": lambda x, offset=0, dim1=0, dim2=1:
    _T.diagonal(x, offset, dim1, dim2), "expand": _expand_view, "permute": lambda x, dims: F.permute(x, dims),
    "select": F.select, "slice": _slice_view, "squeeze": _squeeze_view, "t": F.t, "transpose": F.transpose,
    "unfold": lambda x, dimension, size, step: x.unfold(dimension, size, step), "unsqueeze": F.unsqueeze,
    "view": _view_view, "view_as_real": lambda x: _T.view_as_real(x), "view_as_complex": lambda x: _T.view_as_complex(x),
}
for _n, _v in _VIEWS.items():
    _export(_n + "_copy", _view_copy(_n, _v))


def split_copy(input, split_size, dim=0, *, out=None):
    _check(input, "split_copy")
    return _copy_outs(_T.split(input, split_size, dim), out, "split_copy")


def split_with_sizes_copy(input, split_sizes, dim=0, *, out=None):
    _check(input, "split_with_sizes_copy")
    return _copy_outs(_T.split_with_sizes(input, split_sizes, dim), out, "split_with_sizes_copy")


def unbind_copy(input, dim=0, *, out=None):
    _check(input, "unbind_copy")
    return _copy_outs(_T.unbind(input, dim), out, "unbind_copy")


for _n in ("split_copy", "split_with_sizes_copy", "unbind_copy"):
    _export(_n, globals()[_n])
