"""Sparse COO tensors (layout torch.sparse_coo): an int64 indices tensor (sparse_dim x nnz)
and a values tensor (nnz, *dense dims), both ordinary tensors in the daemon, with torch's
invariants (duplicates allowed until coalesce(), which sorts the entries and sums
duplicates).  Their operations are composed from dense ops: to_dense is an accumulating
index_put, a sparse @ dense product gathers the dense rows the entries name and adds
them into the result rows (index_select, index_add: differentiable with respect to the
dense operand), coalesce is a unique over the entries' linear positions.  A tensor
method sparse tensors lack raises NotImplementedError naming what they have."""
import builtins
import sys

from .._layout import sparse_coo
from .._size import Size

__all__ = ["SparseCooTensor", "sparse_coo_tensor", "to_sparse"]

F = sys.modules[__name__.split(".")[0]]  # the package: its functions looked up at call time
_SUPPORTED = ("to_dense coalesce is_coalesced indices values _indices _values _nnz sparse_dim dense_dim size dim "
              "numel to cpu cuda float double half long int t transpose sum mm matmul clone detach + - * / @")


def _tensor(x, dtype=None, device=None):
    from .. import _creation
    if isinstance(x, F.Tensor):
        return x.to(device=device if device is not None else x.device, dtype=dtype if dtype is not None else x.dtype)
    return _creation.tensor(x, dtype=dtype, device=device)


class SparseCooTensor:
    """A sparse COO tensor (what torch.sparse_coo_tensor and Tensor.to_sparse make)."""

    is_sparse = True
    is_sparse_csr = False
    layout = sparse_coo
    requires_grad = False
    grad_fn = None
    is_leaf = True
    __array_priority__ = 1001  # numpy operands defer to these

    def __init__(self, indices, values, size, coalesced):
        self._i, self._v, self._size, self._coalesced = indices, values, Size(size), coalesced

    # ---- what it is
    @property
    def shape(self):
        return self._size

    def size(self, dim=None):
        return self._size if dim is None else self._size[dim]

    def dim(self):
        return len(self._size)

    ndim = property(dim)

    @property
    def dtype(self):
        return self._v.dtype

    @property
    def device(self):
        return self._v.device

    @property
    def is_cuda(self):
        return self._v.is_cuda

    def numel(self):
        n = 1
        for s in self._size:
            n *= s
        return n

    def __len__(self):
        if not self._size:
            raise TypeError("len() of a 0-d tensor")
        return self._size[0]

    def _indices(self):
        return self._i

    def _values(self):
        return self._v

    def indices(self):
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._i

    def values(self):
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._v

    def _nnz(self):
        return self._i.shape[1]

    def sparse_dim(self):
        return self._i.shape[0]

    def dense_dim(self):
        return self.dim() - self.sparse_dim()

    def is_coalesced(self):
        return self._coalesced

    def __repr__(self):
        """torch's: the indices and values (without their dtype), then size, nnz, the dtype
        unless default, the device unless the CPU, the layout."""
        from .._dtype import bool_, int64
        from .._printing import _array_str
        _print_array, get_default_dtype = F._tensor._print_array, F.get_default_dtype
        pad = "       values=tensor("
        if self._v.numel():
            ind = repr(self._i).replace("\n", "\n" + " " * len("tensor(indices="))
            val = _array_str(_print_array(self._v), self.dtype.is_floating_point, len(pad))
        else:  # torch shows empty indices and values with their sizes, not their dtypes
            ind = "tensor([], size=%s)" % (tuple(self._i.shape),)
            val = "[], size=%s" % (tuple(self._v.shape),)
        size = "(%s)" % ", ".join(str(n) for n in self._size) if len(self._size) != 1 else "(%d,)" % self._size[0]
        tail = ["size=" + size, "nnz=%d" % self._nnz()]
        if self.dtype not in (get_default_dtype(), int64, bool_):
            tail.append("dtype=" + str(self.dtype))
        if self.is_cuda:
            tail.append("device='%s'" % self.device)
        tail.append("layout=torch.sparse_coo")
        return "tensor(indices=%s,\n%s%s),\n       %s)" % (ind, pad, val, ", ".join(tail))

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotImplementedError("tensord: %s is not supported on sparse COO tensors (they have: %s); "
                                  "to_dense() gives a strided tensor" % (name, _SUPPORTED))

    # ---- conversions
    def coalesce(self):
        """Entries sorted in row-major order of their positions, duplicates summed."""
        if self._coalesced:
            return self
        nd = self.sparse_dim()
        if self._nnz() == 0:
            return SparseCooTensor(self._i, self._v, self._size, True)
        linear = self._i[0]
        for d in range(1, nd):
            linear = linear * self._size[d] + self._i[d]
        uniq, inverse = F.unique(linear, sorted=True, return_inverse=True)
        values = self._v.new_zeros([uniq.shape[0]] + list(self._v.shape[1:])).index_add(0, inverse, self._v)
        rows = []
        rest = uniq
        for d in range(nd - 1, -1, -1):
            rows.append(F.remainder(rest, self._size[d]))
            rest = F.div(rest, self._size[d], rounding_mode="floor")
        return SparseCooTensor(F.stack(rows[::-1]), values, self._size, True)

    def to_dense(self, dtype=None):
        out = self._v.new_zeros(list(self._size))
        if self._nnz():
            out = out.index_put(tuple(self._i[d] for d in range(self.sparse_dim())), self._v, accumulate=True)
        return out if dtype is None else out.to(dtype)

    def to_sparse(self, sparse_dim=None):
        return self

    def to(self, *args, **kwargs):
        v = self._v.to(*args, **kwargs)
        return SparseCooTensor(self._i.to(v.device), v, self._size, self._coalesced)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else device)

    def float(self):
        return self.to(_dtype("float32"))

    def double(self):
        return self.to(_dtype("float64"))

    def half(self):
        return self.to(_dtype("float16"))

    def long(self):
        return self.to(_dtype("int64"))

    def int(self):
        return self.to(_dtype("int32"))

    def clone(self):
        return SparseCooTensor(self._i.clone(), self._v.clone(), self._size, self._coalesced)

    def detach(self):
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad:
            raise NotImplementedError("tensord: sparse tensors that require grad are not supported (the dense "
                                      "operand of a sparse @ dense product gets its gradient)")
        return self

    def transpose(self, dim0, dim1):
        nd = self.sparse_dim()
        dim0, dim1 = dim0 % self.dim(), dim1 % self.dim()
        if dim0 >= nd or dim1 >= nd:
            raise NotImplementedError("tensord: transposing a dense dimension of a sparse tensor")
        order = list(range(nd))
        order[dim0], order[dim1] = order[dim1], order[dim0]
        size = list(self._size)
        size[dim0], size[dim1] = size[dim1], size[dim0]
        return SparseCooTensor(self._i[order], self._v, size, False)

    def t(self):
        if self.dim() > 2:
            raise RuntimeError("t() expects a tensor with <= 2 dimensions, but self is %dD" % self.dim())
        return self if self.dim() < 2 else self.transpose(0, 1)

    # ---- arithmetic
    def _scaled(self, fn):
        return SparseCooTensor(self._i, fn(self._v), self._size, self._coalesced)

    def __neg__(self):
        return self._scaled(F.neg)

    def __mul__(self, other):
        if isinstance(other, (builtins.int, builtins.float, builtins.bool)) or _is_scalar_tensor(other):
            return self._scaled(lambda v: v * other)
        raise NotImplementedError("tensord: sparse * tensor (only a sparse tensor times a number)")

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, (builtins.int, builtins.float)) or _is_scalar_tensor(other):
            return self._scaled(lambda v: v / other)
        raise NotImplementedError("tensord: sparse / tensor (only a sparse tensor divided by a number)")

    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return add(self, -other)

    def __rsub__(self, other):
        return add(other, -self)

    def __matmul__(self, other):
        return mm(self, other)

    def __rmatmul__(self, other):
        return mm(other, self)

    def mm(self, other):
        return mm(self, other)

    matmul = mm

    def sum(self, dim=None, keepdim=False, dtype=None):
        from . import sum as sparse_sum
        if keepdim:
            raise NotImplementedError("tensord: keepdim on a sparse sum")
        return sparse_sum(self, dim, dtype=dtype)


def _dtype(name):
    from .. import _dtype as D
    return getattr(D, name)


def _is_scalar_tensor(x):
    return isinstance(x, F.Tensor) and x.dim() == 0


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None, requires_grad=False,
                      check_invariants=None):
    """torch.sparse_coo_tensor: entries at indices (sparse_dim x nnz) with values (nnz,
    *dense dims); size inferred from the largest index when not given."""
    if requires_grad:
        raise NotImplementedError("tensord: sparse tensors that require grad are not supported (the dense "
                                  "operand of a sparse @ dense product gets its gradient)")
    v = _tensor(values, dtype=dtype, device=device)
    i = _tensor(indices, dtype=_dtype("int64"), device=v.device)  # as torch: any dtype, as int64
    if i.dim() != 2:
        raise RuntimeError("indices must be sparse_dim x nnz, but got: %s" % (list(i.shape),))
    if v.dim() < 1:
        raise RuntimeError("values must have at least one dimension (nnz), got a 0-d tensor")
    if i.shape[1] != v.shape[0]:
        raise RuntimeError("indices and values must have same nnz, but got nnz from indices: %d, nnz from values: %d"
                           % (i.shape[1], v.shape[0]))
    nd, nnz = i.shape[0], i.shape[1]
    lows = i.amin(1).tolist() if nnz else [0] * nd
    highs = i.amax(1).tolist() if nnz else [-1] * nd
    for d in range(nd):
        if lows[d] < 0:
            raise RuntimeError("found negative index %d for dim %d" % (lows[d], d))
    if size is None:
        size = [h + 1 for h in highs] + list(v.shape[1:])
    size = [builtins.int(s) for s in size]
    if len(size) != nd + v.dim() - 1:
        raise RuntimeError("number of dimensions must be sparse_dim (%d) + dense_dim (%d), but got %d"
                           % (nd, v.dim() - 1, len(size)))
    for d in range(nd):
        if highs[d] >= size[d]:
            raise RuntimeError("size is inconsistent with indices: for dim %d, size is %d but found index %d"
                               % (d, size[d], highs[d]))
    if list(v.shape[1:]) != size[nd:]:
        raise RuntimeError("values has incorrect size, expected %s, got %s" % ([nnz] + size[nd:], list(v.shape)))
    return SparseCooTensor(i, v, size, False)


def to_sparse(dense, sparse_dim=None):
    """Tensor.to_sparse: the nonzero entries of a strided tensor (all its dims sparse,
    or the first sparse_dim), coalesced."""
    nd = dense.dim() if sparse_dim is None else sparse_dim
    if not 0 < nd <= dense.dim():
        raise RuntimeError("sparse_dim must be between 1 and %d, got %s" % (dense.dim(), sparse_dim))
    if dense.dim() == 0:
        raise RuntimeError("tensord: a 0-d tensor has no sparse form")
    flag = dense != 0
    for _ in range(dense.dim() - nd):
        flag = flag.any(-1)
    idx = flag.nonzero().t().contiguous()
    values = dense[tuple(idx[d] for d in range(nd))]
    return SparseCooTensor(idx, values.detach(), list(dense.shape), True)


def add(a, b):
    """sparse + sparse: sparse (coalesced when both were); sparse + strided: strided."""
    sa, sb = isinstance(a, SparseCooTensor), isinstance(b, SparseCooTensor)
    if sa and sb:
        if list(a.shape) != list(b.shape):
            raise RuntimeError("add: expected 'self' and 'other' to have same size, but self has size %s while "
                               "other has size %s (FYI: dense-sparse addition does not currently support "
                               "broadcasting)" % (list(a.shape), list(b.shape)))
        out = SparseCooTensor(F.cat([a._i, b._i], 1), F.cat([a._v, b._v.to(a._v.dtype)]), a.shape, False)
        return out.coalesce() if a._coalesced and b._coalesced else out  # (as torch: uncoalesced stays so)
    if isinstance(a, (builtins.int, builtins.float)) or isinstance(b, (builtins.int, builtins.float)):
        raise NotImplementedError("tensord: adding a number to a sparse tensor (it would be dense)")
    if sa:  # torch's refusal: the strided result belongs to the strided operand's add
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
    return a + b.to_dense()


def mm(a, b):
    """a @ b with a or b sparse (2-D, no dense dims): strided, differentiable with respect
    to the strided operand; sparse @ sparse is sparse."""
    sa, sb = isinstance(a, SparseCooTensor), isinstance(b, SparseCooTensor)
    if sa and sb:
        return to_sparse(mm(a, b.to_dense()))
    if sb:  # strided @ sparse = (sparse^T @ strided^T)^T
        return mm(b.t(), a.t()).t()
    if a.dim() != 2 or a.dense_dim() != 0:
        raise RuntimeError("tensord: sparse @ tensor needs a 2-D sparse matrix without dense dims, got size %s "
                           "with %d dense dims" % (list(a.shape), a.dense_dim()))
    vec = b.dim() == 1
    d = b.unsqueeze(1) if vec else b
    if d.dim() != 2:
        raise RuntimeError("mat2 must be a matrix, got %d-D tensor" % b.dim())
    if a.shape[1] != d.shape[0]:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)"
                           % (a.shape[0], a.shape[1], d.shape[0], d.shape[1]))
    dtype = F.result_type(a._v, d)
    rows, cols = a._i[0], a._i[1]
    gathered = d.index_select(0, cols).to(dtype) * a._v.to(dtype).unsqueeze(1)
    out = d.new_zeros([a.shape[0], d.shape[1]], dtype=dtype).index_add(0, rows, gathered)
    return out.squeeze(1) if vec else out
