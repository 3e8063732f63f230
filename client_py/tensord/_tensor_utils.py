"""Small tensor utilities composed from existing ops: fill/fill_/zero_, clamp_min_/clamp_max_,
split_with_sizes, detach, sum_to_size, Tensor.new, is_shared/share_memory_, the Python
callable maps (apply_/map_/map2_), is_set_to and pin_memory/is_pinned."""
import builtins
import sys as _sys


from . import _C
from . import _records as F
from . import _shared
from . import storage as _storage
from ._dtype import DTYPES

TB = _C.TensorBase
_F32, _F64, _F16, _BF16, _I64, _I32, _I16, _I8, _U8, _BOOL = (DTYPES[i] for i in builtins.range(10))
_INTS = (_U8, _I8, _I16, _I32, _I64)
_T = _sys.modules[__name__.rpartition(".")[0]]  # the package: its functions are looked up at call time

__all__ = []

_rs = F.number_minus
_check = F._check_tensor
_export = F.exporter(globals(), __all__)

# ---------------------------------------------------------------- small tensor utilities

def fill(input, value):
    _check(input, "fill")
    return F.fill_(_T.empty_like(input), value)


def fill_(input, value):
    _check(input, "fill_")
    return F.fill_(input, value)


def zero_(input):
    _check(input, "zero_")
    return F.fill_(input, 0)


_export("fill", fill)
_export("fill_", fill_)
_export("zero_", zero_)


def clamp_min_(input, min):
    return F.clamp_(input, min=min)


def clamp_max_(input, max):
    return F.clamp_(input, max=max)


_export("clamp_min_", clamp_min_)
_export("clamp_max_", clamp_max_)


def split_with_sizes(input, split_sizes, dim=0):
    _check(input, "split_with_sizes")
    sizes = [F.index_int(s) for s in split_sizes]
    d = F.wrap_dim(dim, input.ndim)
    n = input.shape[d]
    if builtins.sum(sizes) != n or builtins.any(s < 0 for s in sizes):
        raise RuntimeError("split_with_sizes expects split_sizes to sum exactly to %d (input tensor's size at "
                           "dimension %d), but got split_sizes=%s" % (n, F.index_int(dim), sizes))  # dim as given
    out, start = [], 0
    for s in sizes:
        out.append(F.narrow(input, d, start, s))
        start += s
    return tuple(out)


_export("split_with_sizes", split_with_sizes)


def detach(input):
    """A view sharing storage with input, outside the autograd graph."""
    _check(input, "detach")
    return F.detach(input)


_export("detach", detach)


def sum_to_size(self, *size):
    s = F.sizes_arg(size, "sum_to_size", "size")
    shape = list(self.shape)
    lead = len(shape) - len(s)
    ok = lead >= 0 and builtins.all(t == 1 or t == shape[lead + i] for i, t in enumerate(s))
    if not ok:
        raise RuntimeError("size {%s} is not expandable to size {%s}." % (list(s), shape))
    dims = list(builtins.range(lead)) + [lead + i for i, t in enumerate(s) if t == 1 and shape[lead + i] != 1]
    r = _T.sum(self, dims, keepdim=True) if dims else self
    return F.reshape(r, tuple(s)) if lead or dims else self


def _opts(dt):
    return ("dtype=%s, device=cpu, layout=Strided, requires_grad=false (default), pinned_memory=false (default), "
            "memory_format=(nullopt)" % F.CPP_TYPE_NAMES[dt._name])


def new(self, *args, **kw):
    """Legacy Tensor.new: new(*sizes) is uninitialized, new(sequence) holds the data, new(tensor)
    views it, new(storage) views all of the storage; all with self's dtype."""
    dt = self.dtype
    if len(args) == 1 and _storage.is_storage(args[0]):
        return F.alias(_storage.tensor_over(args[0], dt, "new"))
    if len(args) == 1 and isinstance(args[0], TB):
        if args[0].dtype is not dt:
            raise TypeError("expected TensorOptions(%s) (got TensorOptions(%s))" % (_opts(dt), _opts(args[0].dtype)))
        return F.alias(args[0])
    if len(args) == 1 and isinstance(args[0], (list, tuple)) and not isinstance(args[0], _T.Size):
        return _T.tensor(args[0], dtype=dt)
    if not args:
        return _T.empty((0,), dtype=dt)
    return _T.empty(*args, dtype=dt)




def is_shared(self):
    """True after share_memory_(), for a tensor received from another process and for one
    inherited through fork (its storage is the parent's); False otherwise, as torch answers
    for process-private CPU tensors."""
    return _shared.is_shared(self)


def share_memory_(self):
    """Marks the tensor shared (is_shared()); its storage already lives in the daemon, where
    any process given a token (tensord.multiprocessing) or a forked child reaches it, so
    nothing moves."""
    _shared.mark_shared(self)
    return self




# ---------------------------------------------------------------- elementwise Python callables

def _callable_map(name, self, others, fn):
    """self[i] = fn(self[i], *others[i]) by a Python call per element, as torch's CPU-only
    apply_/map_/map2_ (the values go through the host once each way)."""
    import numpy as np
    if self.requires_grad and _T.is_grad_enabled():
        raise RuntimeError("Can't call %s() on Variable that requires grad. Use var.detach().%s() instead."
                           % (name, name))
    if self.device.type != "cpu":
        raise TypeError("%s is only implemented on CPU tensors" % name)
    for o, arg in zip(others, ("'other'",) if len(others) == 1 else ("argument 'x'", "argument 'y'")):
        if o.dtype is not self.dtype:
            raise TypeError("%s: expected %s for %s (got %s)" % (name, self.type(), arg, o.type()))
    arrays = [np.broadcast_to(o.detach().numpy(), tuple(self.shape)) for o in others]
    mine = self.detach().numpy()
    out = np.frompyfunc(fn, 1 + len(others), 1)(mine, *arrays)
    F.copy_(self, _T.tensor(np.asarray(out, dtype=mine.dtype).reshape(mine.shape), dtype=self.dtype))
    return self


def apply_(self, callable):
    return _callable_map("apply_", self, [], callable)


def map_(self, tensor, callable):
    return _callable_map("map_", self, [tensor], callable)


def map2_(self, x, y, callable):
    return _callable_map("map2_", self, [x, y], callable)


def is_set_to(self, tensor):
    """Both views have the same storage, offset, sizes and strides."""
    return (self.data_ptr() == tensor.data_ptr() and tuple(self.shape) == tuple(tensor.shape)
            and self.stride() == tensor.stride() and self.dtype == tensor.dtype)


def pin_memory(self, device=None):
    """CPU tensors live in the daemon's arenas, which its GPU transfers stage through pinned
    buffers of its own: with a GPU the tensor is returned as it is (is_pinned() True); without
    one, torch's refusal."""
    if not _T.cuda.is_available():
        raise NotImplementedError("Could not run 'aten::_pin_memory' with arguments from the 'CUDA' backend. "
                                  "(tensord: no GPU, so no pinned memory)")
    if self.device.type != "cpu":
        raise RuntimeError("cannot pin '%s' only dense CPU tensors can be pinned" % self.type())
    return self


def is_pinned(self, device=None):
    return self.device.type == "cpu" and _T.cuda.is_available()
