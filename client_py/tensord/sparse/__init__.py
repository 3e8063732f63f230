"""tensord.sparse (torch.sparse): sparse COO tensors (coo.py) and the functions on them —
mm, addmm, sum; torch.sparse_coo_tensor, Tensor.to_sparse and torch.mm/matmul/spmm with a
sparse operand come here."""
from .coo import SparseCooTensor, sparse_coo_tensor  # noqa: F401  (torch.sparse_coo_tensor)
from .coo import add as _add
from .coo import mm as _mm

__all__ = ["addmm", "mm", "sum"]


def mm(mat1, mat2):
    """mat1 @ mat2 with mat1 (or mat2) a sparse COO matrix: a strided result, differentiable
    with respect to the strided operand; sparse @ sparse gives a sparse result."""
    return _mm(mat1, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    """beta * mat + alpha * (mat1 @ mat2), mat1 sparse."""
    prod = _mm(mat1, mat2)
    return _add(mat * beta if beta != 1 else mat, prod * alpha if alpha != 1 else prod)


def sum(input, dim=None, dtype=None):
    """torch.sparse.sum: over every element (a 0-d strided tensor) or over dims, which
    when sparse ones remain gives a sparse tensor, else a strided one."""
    if not isinstance(input, SparseCooTensor):
        return input.sum() if dim is None else input.sum(dim)
    v = input._values() if dtype is None else input._values().to(dtype)
    if dim is None:
        return v.sum()
    dims = sorted({d % input.dim() for d in ([dim] if isinstance(dim, int) else dim)})
    nd = input.sparse_dim()
    sparse_dims, dense_dims = [d for d in dims if d < nd], [d - nd + 1 for d in dims if d >= nd]
    if dense_dims:
        v = v.sum(dense_dims)
    keep = [d for d in range(nd) if d not in sparse_dims]
    size = [input.shape[d] for d in keep] + [input.shape[d] for d in range(nd, input.dim()) if d not in dims]
    if not keep:
        return v.sum(0)
    return SparseCooTensor(input._indices()[keep], v, size, False).coalesce()


def _sparse_aware(dense_fn):
    """torch.mm/matmul/spmm: the strided function, or mm when an operand is sparse."""
    def fn(input, other, *args, **kwargs):
        if type(input) is SparseCooTensor or type(other) is SparseCooTensor:  # (one compare each: a hot path)
            if args or kwargs.get("out") is not None:
                raise NotImplementedError("tensord: out= with a sparse operand")
            return _mm(input, other)
        return dense_fn(input, other, *args, **kwargs)
    fn.__name__, fn.__qualname__, fn.__doc__ = dense_fn.__name__, dense_fn.__qualname__, dense_fn.__doc__
    return fn
