"""Shape and data movement: split/chunk/unbind, flip/roll/rot90, repeat/tile/
repeat_interleave, broadcasting helpers, movedim, unflatten, diag/diagonal/diag_embed,
tril/triu, meshgrid/cartesian_prod, Tensor.unfold, stacking helpers.

Most functions are compositions of the view ops (SLICE, SELECT, AS_STRIDED, EXPAND,
PERMUTE, VIEW), so they return views exactly where torch does; FLIP, TRIL and TRIU
are kernels (kernels/cpu/move.c, meta rules in kernels/shape_move.c)."""
import builtins

import numpy as _np

from . import _C
from ._C import ops
from . import _records as F
from ._dtype import int64

TB = _C.TensorBase
_INT = (builtins.int, _np.integer)

__all__ = [
    "split", "chunk", "unbind", "tensor_split", "hsplit", "vsplit", "dsplit", "flip", "fliplr", "flipud",
    "roll", "rot90", "tile", "repeat_interleave", "broadcast_to", "broadcast_tensors", "broadcast_shapes",
    "movedim", "moveaxis", "unflatten", "diag", "diagonal", "diag_embed", "diagflat", "tril", "triu",
    "meshgrid", "cartesian_prod", "ravel", "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack",
    "row_stack", "dstack", "column_stack", "narrow_copy",
]


def _int(v, what="an integer"):
    if isinstance(v, builtins.bool):
        raise TypeError("'bool' object cannot be interpreted as %s" % what)
    return F.index_int(v, what)


def _int_list(v, fname, arg):
    if isinstance(v, TB):
        return [builtins.int(x) for x in v.reshape(-1).tolist()]
    if isinstance(v, (list, tuple)):
        return [_int(x) for x in v]
    raise TypeError("%s(): argument '%s' must be tuple of ints, not %s" % (fname, arg, type(v).__name__))


def _slice(x, d, start, end):
    return ops.slice(x, d, start, end)


def _need_1d(x, fname):
    if x.ndim == 0:
        raise RuntimeError("%s expects at least a 1-dimensional tensor" % fname)


# ---------------------------------------------------------------- splitting

def split(tensor, split_size_or_sections, dim=0):
    F._check_tensor(tensor, "split", "tensor")
    _need_1d(tensor, "split")
    d = F.wrap_dim(dim, tensor.ndim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [_int(s) for s in split_size_or_sections]
        if builtins.any(s < 0 for s in sizes) or builtins.sum(sizes) != n:
            raise RuntimeError("split_with_sizes expects split_sizes to sum exactly to %d (input tensor's size at "
                               "dimension %d), but got split_sizes=%s" % (n, F.index_int(dim), sizes))  # dim as given
        out, pos = [], 0
        for s in sizes:
            out.append(F.torch_node(_slice(tensor, d, pos, pos + s), "SplitWithSizesBackward0"))
            pos += s
        return tuple(out)
    s = _int(split_size_or_sections)
    if s < 0:
        raise RuntimeError("split expects split_size be non-negative, but got split_size=%d" % s)
    if s == 0:
        if n != 0:
            raise RuntimeError("split_size can only be 0 if dimension size is 0, but got dimension size of %d" % n)
        return (F.alias(tensor),)
    if n == 0:
        return (F.alias(tensor),)
    return tuple(F.torch_node(_slice(tensor, d, i, builtins.min(i + s, n)), "SplitBackward0") for i in range(0, n, s))


def chunk(input, chunks, dim=0):
    F._check_tensor(input, "chunk")
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    chunks = _int(chunks)
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: %d" % chunks)
    d = F.wrap_dim(dim, input.ndim)
    n = input.shape[d]
    size = (n + chunks - 1) // chunks
    if size == 0:  # torch: an empty dim gives `chunks` empty pieces
        return tuple(F.alias(input) for _ in range(chunks)) if n == 0 else ()
    return split(input, size, d)


def unbind(input, dim=0):
    F._check_tensor(input, "unbind")
    d = F.wrap_dim(dim, input.ndim)  # first, as torch: a 0-d tensor's dim 1 is out of range
    if input.ndim == 0:
        raise IndexError("Dimension specified as %d but tensor has no dimensions" % d)
    return tuple(F.torch_node(ops.select(input, d, i), "UnbindBackward0") for i in range(input.shape[d]))


def tensor_split(input, indices_or_sections, dim=0):
    F._check_tensor(input, "tensor_split")
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = F.wrap_dim(dim, input.ndim)
    n = input.shape[d]
    ios = indices_or_sections
    if isinstance(ios, TB):
        if ios.dtype is not int64:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have dtype of long, but got %s"
                               % ios.dtype)
        if ios.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               "one-dimensional tensor, but got a tensor with %d dims" % ios.ndim)
        ios = ios.item() if ios.ndim == 0 else ios.tolist()
    if isinstance(ios, (list, tuple)):
        idx = [_int(i) for i in ios]
        out, start = [], 0
        for i in idx + [n]:
            e = i + n if i < 0 else i
            e = builtins.max(0, builtins.min(e, n))
            s = builtins.min(start, n)
            out.append(_slice(input, d, s, builtins.max(s, e)))
            start = e
        return tuple(out)
    sections = _int(ios)
    if sections <= 0:
        raise RuntimeError("number of sections must be larger than 0, got %d" % sections)
    q, r = divmod(n, sections)
    out, pos = [], 0
    for i in range(sections):
        s = q + (1 if i < r else 0)
        out.append(_slice(input, d, pos, pos + s))
        pos += s
    return tuple(out)


def _nsplit(input, ios, dim, name, need):
    if input.ndim < need:
        raise RuntimeError("torch.%s requires a tensor with at least %d dimension%s, but got a tensor with %d "
                           "dimensions!" % (name, need, "" if need == 1 else "s", input.ndim))
    if isinstance(ios, _INT) and not isinstance(ios, builtins.bool):
        n = input.shape[dim]
        if ios == 0 or n % ios:
            raise RuntimeError("torch.%s attempted to split along dimension %d, but the size of the dimension %d "
                               "is not divisible by the split_size %d!" % (name, dim, n, ios))
    return tensor_split(input, ios, dim)


def hsplit(input, indices_or_sections):
    return _nsplit(input, indices_or_sections, 1 if input.ndim > 1 else 0, "hsplit", 1)


def vsplit(input, indices_or_sections):
    return _nsplit(input, indices_or_sections, 0, "vsplit", 2)


def dsplit(input, indices_or_sections):
    return _nsplit(input, indices_or_sections, 2, "dsplit", 3)


# ---------------------------------------------------------------- flips, rolls, rotations

def flip(input, dims):
    F._check_tensor(input, "flip")
    if isinstance(dims, _INT) and not isinstance(dims, builtins.bool):
        dims = [dims]
    dims = _int_list(dims, "flip", "dims")
    if not dims:  # torch flips nothing; FLIP's dims kind reads [] as every dim
        return F.clone(input)
    return ops.flip(input, dims)  # wrapped, and checked for repeats, in C


def fliplr(input):
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, [1])


def flipud(input):
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, [0])


def _roll1(x, shift, d):
    n = x.shape[d]
    if n == 0:
        return x
    s = shift % n
    if s == 0:
        return F.clone(x)
    return ops.cat(_slice(x, d, n - s, n), _slice(x, d, 0, n - s), dim=d)


def roll(input, shifts, dims=None):
    F._check_tensor(input, "roll")
    sh = [shifts] if isinstance(shifts, _INT) else _int_list(shifts, "roll", "shifts")
    if dims is None:
        if len(sh) != 1:
            raise RuntimeError("shifts and dimensions must align. shifts: %d, dims:0" % len(sh))
        flat = F.reshape(input, -1)
        return F.torch_node(F.reshape(_roll1(flat, _int(sh[0]), 0), tuple(input.shape)), "RollBackward0")
    dm = [dims] if isinstance(dims, _INT) else _int_list(dims, "roll", "dims")
    if len(sh) != len(dm):
        raise RuntimeError("shifts and dimensions must align. shifts: %d, dims:%d" % (len(sh), len(dm)))
    if len(sh) == 0:
        raise RuntimeError("`shifts` required")
    r = input
    for s, d in zip(sh, dm):
        if input.ndim == 0:
            raise IndexError("Dimension specified as %d but tensor has no dimensions" % _int(d))
        r = _roll1(r, _int(s), F.wrap_dim(d, input.ndim))
    return r if r is input else F.torch_node(r, "RollBackward0")


def rot90(input, k=1, dims=(0, 1)):
    F._check_tensor(input, "rot90")
    dims = _int_list(dims, "rot90", "dims")
    if len(dims) != 2:
        raise RuntimeError("expected total rotation dims == 2, but got dims = %d" % len(dims))
    nd = input.ndim
    if nd < 2:
        raise RuntimeError("expected total dims >= 2, but got total dims = %d" % nd)
    d0, d1 = dims
    if d0 == d1 or (d0 - d1) % nd == 0:
        raise RuntimeError("expected rotation dims to be different, but got dim0 = %d and dim1 = %d" % (d0, d1))
    if not -nd <= d0 < nd:
        raise RuntimeError("Rotation dim0 out of range, dim0 = %d" % d0)
    if not -nd <= d1 < nd:
        raise RuntimeError("Rotation dim1 out of range, dim1 = %d" % d1)
    k = _int(k) % 4
    if k == 1:
        return F.transpose(flip(input, [d1]), d0, d1)
    if k == 2:
        return flip(input, [d0, d1])
    if k == 3:
        return F.transpose(flip(input, [d0]), d0, d1)
    return F.clone(input)


# ---------------------------------------------------------------- repeats

def tile(input, dims):
    F._check_tensor(input, "tile")
    if isinstance(dims, builtins.int) and not isinstance(dims, builtins.bool):
        dims = (dims,)  # torch's int[] argument takes a single int
    if not isinstance(dims, (tuple, list)):
        raise TypeError("tile(): argument 'dims' (position 2) must be tuple of ints, not %s" % type(dims).__name__)
    dims = [_int(x) for x in dims]
    if len(dims) < input.ndim:
        dims = [1] * (input.ndim - len(dims)) + dims
    return input.repeat(*dims) if dims else F.clone(input)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    from ._creation import arange, tensor
    if repeats is None:  # repeat_interleave(repeats): indices repeated repeats[i] times
        reps = input
        if reps.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        return repeat_interleave(arange(reps.numel(), dtype=reps.dtype), reps, 0)
    F._check_tensor(input, "repeat_interleave")
    x = input
    if dim is None:
        x = F.reshape(x, -1)
        d = 0
    else:
        d = F.wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        x = F.reshape(x, 1)
    n = x.shape[d]
    if isinstance(repeats, TB):
        if repeats.dtype.is_floating_point or repeats.dtype.itemsize == 1 and repeats.dtype.is_signed is False \
                and repeats.dtype._name == "bool":
            raise RuntimeError("repeat_interleave only accept int32/int64 tensor as repeats")
        if repeats.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        reps = repeats.reshape(-1).tolist()
        if len(reps) == 1:
            repeats = reps[0]
        else:
            if len(reps) != n:
                raise RuntimeError("repeats must have the same size as input along dim")
            if builtins.any(r < 0 for r in reps):
                raise RuntimeError("repeats can not be negative")
            pieces = []
            for i, r in enumerate(reps):
                if r:
                    sz = list(x.shape)
                    sz[d] = r
                    pieces.append(F.expand(_slice(x, d, i, i + 1), sz))
            if not pieces:
                sz = list(x.shape)
                sz[d] = 0
                return F.contiguous(F.expand(_slice(x, d, 0, 0), sz))
            return F.cat_many(pieces, d)
    r = _int(repeats)
    if r < 0:
        raise RuntimeError("repeats can not be negative")
    shape = list(x.shape)
    e = F.unsqueeze(x, d + 1)
    esz = shape[:d + 1] + [r] + shape[d + 1:]
    shape[d] *= r
    return F.reshape(F.expand(e, esz), shape)


# ---------------------------------------------------------------- broadcasting

# torch.broadcast_shapes, its checks and messages included (td_meta_broadcast_shapes_add)
broadcast_shapes = _C.broadcast_shapes


def broadcast_to(input, size):
    F._check_tensor(input, "broadcast_to")
    return F.expand(input, tuple(size))


def broadcast_tensors(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        if not isinstance(t, TB):
            raise TypeError("expected Tensor as element %d in argument 0, but got %s" % (i, type(t).__name__))
    shape = _C.broadcast_sizes(*(t.shape for t in tensors))
    return tuple(F.expand(t, shape) for t in tensors)


# ---------------------------------------------------------------- dims

def movedim(input, source, destination):
    F._check_tensor(input, "movedim")
    src = [source] if isinstance(source, _INT) else _int_list(source, "movedim", "source")
    dst = [destination] if isinstance(destination, _INT) else _int_list(destination, "movedim", "destination")
    if len(src) != len(dst):
        raise RuntimeError("movedim: Invalid source or destination dims: source (%s dims) should contain the same "
                           "number of dims as destination (%s dims)" % (src, dst))
    nd = input.ndim
    ws = [F.wrap_dim(s, nd) for s in src]
    wd = [F.wrap_dim(s, nd) for s in dst]
    if len(set(ws)) != len(ws):
        raise RuntimeError("movedim: repeated dim in `source` (%s)" % src)
    if len(set(wd)) != len(wd):
        raise RuntimeError("movedim: repeated dim in `destination` (%s)" % dst)
    if nd == 0:
        return F.alias(input)
    order = [-1] * nd
    for s, d in zip(ws, wd):
        order[d] = s
    rest = iter(i for i in range(nd) if i not in ws)
    order = [o if o >= 0 else next(rest) for o in order]
    return F.permute(input, order)


moveaxis = movedim


def unflatten(input, dim, sizes):
    F._check_tensor(input, "unflatten")
    d = F.wrap_dim(dim, input.ndim)
    sizes = [_int(s) for s in sizes]
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = input.shape[d]
    if sizes.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in sizes:
        if s != -1:
            known *= s
    if (-1 not in sizes and known != n) or (-1 in sizes and (known == 0 or n % known)):
        raise RuntimeError("unflatten: Provided sizes %s don't multiply up to the size of dim %d (%d) in the input "
                           "tensor" % (sizes, d, n))
    shape = list(input.shape)
    return F.view(input, shape[:d] + sizes + shape[d + 1:]) if input.is_contiguous() else \
        F.reshape(input, shape[:d] + sizes + shape[d + 1:])


def ravel(input):
    return F.reshape(input, -1)


def narrow_copy(input, dim, start, length):
    return F.contiguous(F.narrow(input, dim, start, length))  # torch's: a row-major copy


# ---------------------------------------------------------------- diagonals and triangles

def diagonal(input, offset=0, dim1=0, dim2=1):
    F._check_tensor(input, "diagonal")
    nd = input.ndim
    d1, d2 = F.wrap_dim(dim1, nd), F.wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError("diagonal dimensions cannot be identical %d, %d" % (_int(dim1), _int(dim2)))
    return ops.diagonal(input, _int(offset), d1, d2)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    F._check_tensor(input, "diag_embed")
    from ._creation import zeros
    nd = input.ndim + 1
    d1, d2 = F.wrap_dim(dim1, nd), F.wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError("diagonal dimensions cannot be identical %d, %d" % (_int(dim1), _int(dim2)))
    if input.ndim == 0:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got -1)")
    offset = _int(offset)
    n = input.shape[-1] + builtins.abs(offset)
    rest = list(input.shape[:-1])
    shape = []
    for i in range(nd):
        shape.append(n if i in (d1, d2) else rest.pop(0))
    out = zeros(shape, dtype=input.dtype)
    F.copy_(diagonal(out, offset, d1, d2), input)
    return out


def diag(input, diagonal=0, *, out=None):
    return F._out(F.torch_node(_diag(input, diagonal), "DiagBackward0"), out, "diag")


def _diag(input, diagonal):
    F._check_tensor(input, "diag")
    from ._creation import zeros
    k = _int(diagonal)
    if input.ndim == 1:
        n = input.shape[0] + builtins.abs(k)
        out = zeros((n, n), dtype=input.dtype)
        F.copy_(globals()["diagonal"](out, k), input)
        return out
    if input.ndim == 2:
        return F.clone(globals()["diagonal"](input, k))
    raise RuntimeError("matrix or a vector expected")


def diagflat(input, offset=0):
    return _diag(F.reshape(input, -1), offset)


def tril(input, diagonal=0, *, out=None):
    F._check_tensor(input, "tril")
    if input.ndim == 1 and input.numel() == 0:  # torch returns an empty 1-D input before checking its dims
        return F._out(F.clone(input), out)
    return F._out(ops.tril(input, _int(diagonal)), out)


def triu(input, diagonal=0, *, out=None):
    F._check_tensor(input, "triu")
    if input.ndim == 1 and input.numel() == 0:  # torch returns an empty 1-D input before checking its dims
        return F._out(F.clone(input), out)
    return F._out(ops.triu(input, _int(diagonal)), out)


def tril_(self, diagonal=0):
    ops.tril(self, _int(diagonal), inplace=True)
    return self


def triu_(self, diagonal=0):
    ops.triu(self, _int(diagonal), inplace=True)
    return self


# ---------------------------------------------------------------- grids

def meshgrid(*tensors, indexing=None):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError('torch.meshgrid: indexing must be one of "xy" or "ij", but received: %s' % indexing)
    if not tensors:
        return ()
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: %s" % t)
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    ts = list(tensors)
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t.numel() for t in ts]
    out = []
    for i, t in enumerate(ts):
        v = [1] * len(ts)
        v[i] = -1
        out.append(F.expand(F.reshape(t, v), shape))
    if swap:
        out[0], out[1] = out[1], out[0]
    return tuple(out)


def cartesian_prod(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError("Expect a 1D vector, but got shape %s" % list(t.shape))
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return F.stack([F.reshape(g, -1) for g in grids], 1)


# ---------------------------------------------------------------- Tensor.unfold and stacking helpers

def unfold(self, dimension, size, step):
    nd = self.ndim
    d = F.wrap_dim(dimension, nd)
    size, step = _int(size), _int(step)
    n = self.shape[d] if nd else 1
    if size > n:
        raise RuntimeError("maximum size for tensor at dimension %d is %d but size is %d" % (d, n, size))
    if step <= 0:
        raise RuntimeError("step is %d but must be > 0" % step)
    if size < 0:
        raise RuntimeError("size is %d but must be >= 0" % size)
    return ops.unfold(self, d, size, step)


def atleast_1d(*tensors):
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    r = tuple(F.reshape(t, 1) if t.ndim == 0 else t for t in ts)
    return r[0] if len(tensors) == 1 and isinstance(tensors[0], TB) else r


def atleast_2d(*tensors):
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    r = tuple(F.reshape(t, (1, 1)) if t.ndim == 0 else F.unsqueeze(t, 0) if t.ndim == 1 else t for t in ts)
    return r[0] if len(tensors) == 1 and isinstance(tensors[0], TB) else r


def atleast_3d(*tensors):
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors

    def one(t):
        if t.ndim == 0:
            return F.reshape(t, (1, 1, 1))
        if t.ndim == 1:
            return F.reshape(t, (1, -1, 1))
        if t.ndim == 2:
            return F.unsqueeze(t, -1)
        return t
    r = tuple(one(t) for t in ts)
    return r[0] if len(tensors) == 1 and isinstance(tensors[0], TB) else r


def hstack(tensors, *, out=None):
    ts = atleast_1d(*tensors) if len(tensors) != 1 else (atleast_1d(tensors[0]),)
    return F.cat(list(ts), 0 if ts[0].ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    ts = atleast_2d(*tensors) if len(tensors) != 1 else (atleast_2d(tensors[0]),)
    return F.cat(list(ts), 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None):
    ts = atleast_3d(*tensors) if len(tensors) != 1 else (atleast_3d(tensors[0]),)
    return F.cat(list(ts), 2, out=out)


def column_stack(tensors, *, out=None):
    ts = [F.reshape(t, (-1, 1)) if t.ndim <= 1 else t for t in tensors]
    return F.cat(ts, 1, out=out)
