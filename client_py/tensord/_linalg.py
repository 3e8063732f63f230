"""Linear algebra: dot/mv/outer/addmm family, kron, tensordot, cross, einsum,
and the implementations behind the `tensord.linalg` namespace (linalg.py).

The BLAS-level functions and einsum are compositions of existing ops (matmul, bmm,
mul, sum, views).  The LAPACK-backed ones record one LINALG_* op (kernels/cpu/linalg*.c,
layouts in kernels/shape_linalg.c).  Their data-dependent failures (a singular matrix,
no convergence) come back as an `info` output: functions that must raise read it,
which is a sync, so the LinAlgError is raised at the user's call as in torch.

Every function takes float32/float64 and complex64/complex128 input, as torch: the
kernels call LAPACK's c/z routines for complex matrices, and the compositions here use
the conjugate transpose (_mH) where torch's definitions do (Vh = V^H, A = L L^H, pinv,
vecdot, lu_solve's adjoint).  Singular values, eigh's eigenvalues, slogdet's logabsdet,
lstsq's residuals and every norm are real for complex input; linalg.eig/eigvals always
return complex tensors.  No autograd yet.
"""
import builtins

from . import _C
from . import _op_numbers as O
from . import _records as F
from ._C import ops
from ._dtype import DTYPES

TB = _C.TensorBase
_F32, _F64, _I64 = DTYPES[0], DTYPES[1], DTYPES[4]
_C64, _C128 = DTYPES[10], DTYPES[11]
_LA_DTYPES = (_F32, _F64, _C64, _C128)  # what the LAPACK-backed functions compute in
_INF = float("inf")

__all__ = ["dot", "vdot", "inner", "outer", "ger", "mv", "addmm", "addmv", "addmv_", "addbmm", "baddbmm", "addr",
           "kron", "tensordot", "cross", "einsum", "chain_matmul", "inverse", "det", "logdet", "slogdet", "cholesky",
           "cholesky_inverse", "cholesky_solve", "qr", "svd", "pinverse", "matrix_power"]


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a RuntimeError for data-dependent linalg failures."""


_RT = {n: F.structseq(n, f) for n, f in [
    ("linalg_inv_ex", ("inverse", "info")), ("linalg_solve_ex", ("result", "info")),
    ("linalg_cholesky_ex", ("L", "info")), ("linalg_slogdet", ("sign", "logabsdet")),
    ("slogdet", ("sign", "logabsdet")), ("linalg_qr", ("Q", "R")), ("qr", ("Q", "R")),
    ("linalg_svd", ("U", "S", "Vh")), ("svd", ("U", "S", "V")), ("linalg_eigh", ("eigenvalues", "eigenvectors")),
    ("linalg_eig", ("eigenvalues", "eigenvectors")),
    ("linalg_lstsq", ("solution", "residuals", "rank", "singular_values")),
]}  # F.structseq registers each on return_types


# ---------------------------------------------------------------- helpers

def _tensor_arg(t, fname, arg="input", pos=1):
    if not isinstance(t, TB):
        raise TypeError("%s(): argument '%s' (position %d) must be Tensor, not %s"
                        % (fname, arg, pos, type(t).__name__))


def _dname(dt):
    return dt._torch_name


def _shape(t):
    return list(t.shape)


def _mH(t):
    """The conjugate transpose of the last two dims (the transpose for real t)."""
    t = F.transpose(t, -2, -1)
    if t.dtype.is_complex:
        from ._complex import conj_physical
        t = conj_physical(t)
    return t


def _inexact(dt):
    return dt.is_floating_point or dt.is_complex


def _broadcast_shapes(a, b):
    """Broadcast two size lists with torch's message (the meta layer's td_meta_broadcast)."""
    return list(_C.broadcast_sizes(a, b))


def _expand_batch(t, batch, tail):
    return F.expand(t, list(batch) + list(tail))


def _scal(v, t):
    """v * t, skipping the multiply for v == 1."""
    if isinstance(v, builtins.bool) or v != 1:
        return F.mul(t, v)
    return t


def _read(t):
    """The elements of t as a flat list (a sync point)."""
    return t.reshape(-1).tolist()


def _first_bad(vals):
    for i, v in enumerate(vals):
        if v != 0:
            return i, v
    return None, 0


def _batch_prefix(info, i):
    return "(Batch element %d): " % i if info.ndim > 0 else ""


# ---------------------------------------------------------------- BLAS-level functions

def _dot_checks(input, other, fname):
    _tensor_arg(input, fname)
    _tensor_arg(other, fname, "other" if fname == "vdot" else "tensor", 2)
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError("1D tensors expected, but got %dD and %dD tensors" % (input.ndim, other.ndim))
    if input.dtype is not other.dtype:
        raise RuntimeError("dot : expected both vectors to have same dtype, but found %s and %s"
                           % (_dname(input.dtype), _dname(other.dtype)))
    if input.shape[0] != other.shape[0]:
        raise RuntimeError("inconsistent tensor size, expected tensor [%d] and src [%d] to have the same number of "
                           "elements, but got %d and %d elements respectively"
                           % (input.shape[0], other.shape[0], input.shape[0], other.shape[0]))
    if input.dtype in (DTYPES[2], DTYPES[9]):  # torch 1.13 has bfloat16 dot on CPU, not float16
        raise RuntimeError("\"%s\" not implemented for '%s'" % (fname, _dname(input.dtype)))


def dot(input, other, *, out=None):
    _dot_checks(input, other, "dot")
    return F._out(F.matmul(input, other), out)


def vdot(input, other, *, out=None):
    """conj(input) . other"""
    _dot_checks(input, other, "vdot")
    if input.dtype.is_complex:
        from ._complex import conj_physical
        input = conj_physical(input)
    return F._out(F.matmul(input, other), out)


def _same_dtype(a, b):
    if a.dtype is not b.dtype:
        raise RuntimeError("expected scalar type %s but found %s" % (_dname(a.dtype), _dname(b.dtype)))


def inner(input, other, *, out=None):
    _tensor_arg(input, "inner")
    _tensor_arg(other, "inner", "other", 2)
    if input.ndim == 0 or other.ndim == 0:
        return F._out(F.mul(input, other), out)
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError("inner() the last dimension must match on both input tensors but got shapes %s and %s"
                           % (_shape(input), _shape(other)))
    _same_dtype(input, other)
    return F._out(tensordot(input, other, dims=([-1], [-1])), out)


def outer(input, vec2, *, out=None):
    _tensor_arg(input, "outer")
    _tensor_arg(vec2, "outer", "vec2", 2)
    for t, n in ((input, "self"), (vec2, "vec2")):
        if t.ndim != 1:
            raise RuntimeError("outer: Expected 1-D argument %s, but got %d-D" % (n, t.ndim))
    return F._out(F.mul(F.unsqueeze(input, 1), vec2), out)


ger = outer


def mv(input, vec, *, out=None):
    _tensor_arg(input, "mv")
    _tensor_arg(vec, "mv", "vec", 2)
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError("vector + matrix @ vector expected, got 1, %d, %d" % (input.ndim, vec.ndim))
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError("size mismatch, got %d, %dx%d,%d" % (input.shape[0], input.shape[0], input.shape[1],
                                                                 vec.shape[0]))
    _same_dtype(input, vec)
    return F._out(F.matmul(input, vec), out)


def _add_scaled(input, prod, beta, alpha, fname):
    """beta * input + alpha * prod, input broadcast to prod's shape (torch's addmm rule)."""
    if input.dtype is not prod.dtype:   # the product ran under autocast: so does the sum, as torch's addmm
        from .amp.autocast_mode import lower_precision_operand
        input = lower_precision_operand(input)
    shape = _shape(prod)
    try:
        inp = F.expand(input, shape)
    except RuntimeError as e:
        raise RuntimeError(str(e)) from None
    if not _inexact(input.dtype) and not _inexact(prod.dtype):
        for v, n in ((beta, "beta"), (alpha, "alpha")):
            if isinstance(v, builtins.float) and v != int(v):
                raise RuntimeError("For integral input tensors, argument %s must not be a floating point number."
                                   % n)
    p = _scal(alpha, prod)
    if not isinstance(beta, builtins.bool) and beta == 0:
        return p  # beta == 0 ignores input entirely (nan and inf too), as torch does
    return F.add(_scal(beta, inp), p)


def _mm_checks(m1, m2, n1="mat1", n2="mat2"):
    for t, n in ((m1, n1), (m2, n2)):
        if t.ndim != 2:
            raise RuntimeError("%s must be a matrix, got %d-D tensor" % (n, t.ndim))
    if m1.shape[1] != m2.shape[0]:
        raise RuntimeError("%s and %s shapes cannot be multiplied (%dx%d and %dx%d)"
                           % (n1, n2, m1.shape[0], m1.shape[1], m2.shape[0], m2.shape[1]))
    if m1.dtype is not m2.dtype:
        raise RuntimeError("%s and %s must have the same dtype" % (n1, n2))


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    for t, n, p in ((input, "input", 1), (mat1, "mat1", 2), (mat2, "mat2", 3)):
        _tensor_arg(t, "addmm", n, p)
    _mm_checks(mat1, mat2)
    if input.dtype is not mat1.dtype:
        raise RuntimeError("self and mat2 must have the same dtype")
    return F._out(F.torch_node(_add_scaled(input, F.mm(mat1, mat2), beta, alpha, "addmm"), "AddmmBackward0"), out,
                  overlap=(O.MM, ()))


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    for t, n, p in ((input, "input", 1), (mat, "mat", 2), (vec, "vec", 3)):
        _tensor_arg(t, "addmv", n, p)
    if mat.ndim != 2 or vec.ndim != 1 or input.ndim > 1:
        raise RuntimeError("vector + matrix @ vector expected, got %d, %d, %d" % (input.ndim, mat.ndim, vec.ndim))
    if mat.shape[1] != vec.shape[0] or (input.ndim == 1 and input.shape[0] not in (1, mat.shape[0])):
        raise RuntimeError("size mismatch, got %d, %dx%d,%d" % (input.shape[0] if input.ndim else 1,
                                                                 mat.shape[0], mat.shape[1], vec.shape[0]))
    _same_dtype(mat, vec)
    _same_dtype(input, mat)
    return F._out(_add_scaled(input, F.matmul(mat, vec), beta, alpha, "addmv"), out,
                  overlap=(O.MM, ()))


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    for t, n in ((vec1, "vec1"), (vec2, "vec2")):
        if not isinstance(t, TB) or t.ndim != 1:
            raise RuntimeError("addr: Expected 1-D argument %s, but got %d-D" % (n, getattr(t, "ndim", 0)))
    return F._out(_add_scaled(input, outer(vec1, vec2), beta, alpha, "addr"), out,
                  overlap=(O.MM, ()))


def _bmm_checks(b1, b2):
    for t, n in ((b1, "batch1"), (b2, "batch2")):
        if t.ndim != 3:
            raise RuntimeError("%s must be a 3D tensor" % n)
    if b1.shape[0] != b2.shape[0]:
        raise RuntimeError("batch1 and batch2 must have same number of batches, got %d and %d"
                           % (b1.shape[0], b2.shape[0]))
    if b1.shape[2] != b2.shape[1]:
        raise RuntimeError("Incompatible matrix sizes for bmm (%dx%d and %dx%d)"
                           % (b1.shape[1], b1.shape[2], b2.shape[1], b2.shape[2]))


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    for t, n, p in ((input, "input", 1), (batch1, "batch1", 2), (batch2, "batch2", 3)):
        _tensor_arg(t, "addbmm", n, p)
    _bmm_checks(batch1, batch2)
    _same_dtype(input, batch1)
    _same_dtype(batch1, batch2)
    b, n, k = batch1.shape
    m = batch2.shape[2]
    # sum_b A_b @ B_b == [A_0 .. A_{b-1}] (n x bk) @ [B_0; ..; B_{b-1}] (bk x m): one GEMM
    a2 = F.reshape(F.permute(batch1, 1, 0, 2), n, b * k)
    b2 = F.reshape(batch2, b * k, m)
    return F._out(_add_scaled(input, F.mm(a2, b2), beta, alpha, "addbmm"), out,
                  overlap=(O.MM, ()))


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    for t, n, p in ((input, "input", 1), (batch1, "batch1", 2), (batch2, "batch2", 3)):
        _tensor_arg(t, "baddbmm", n, p)
    for t, n in ((batch1, "batch1"), (batch2, "batch2")):
        if t.ndim != 3:
            raise RuntimeError("%s must be a 3D tensor" % n)
    b, n, k = batch1.shape
    if batch2.shape[0] != b or batch2.shape[1] != k:
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: [%d, %d] but got: [%d, %d]."
                           % (b, k, batch2.shape[0], batch2.shape[1]))
    _same_dtype(input, batch1)
    _same_dtype(batch1, batch2)
    return F._out(_add_scaled(input, F.bmm(batch1, batch2), beta, alpha, "baddbmm"), out,
                  overlap=(O.MM, ()))


def _inplace(fn):
    def f(self, *args, **kw):
        r = fn(self, *args, **kw)
        if tuple(r.shape) != tuple(self.shape):
            raise RuntimeError("Bad in-place call: input tensor size %s and output tensor size %s should match"
                               % (_shape(self), _shape(r)))
        return F.copy_(self, r)
    f.__name__ = fn.__name__ + "_"
    return f


def kron(input, other, *, out=None):
    _tensor_arg(input, "kron")
    _tensor_arg(other, "kron", "other", 2)
    nd = builtins.max(input.ndim, other.ndim)
    sa = [1] * (nd - input.ndim) + _shape(input)
    sb = [1] * (nd - other.ndim) + _shape(other)
    ia, ib = [], []
    for x, y in zip(sa, sb):
        ia += [x, 1]
        ib += [1, y]
    prod = F.mul(F.reshape(input, ia), F.reshape(other, ib))
    return F._out(F.reshape(prod, [x * y for x, y in zip(sa, sb)]), out)


def tensordot(a, b, dims=2, out=None):
    _tensor_arg(a, "tensordot", "a")
    _tensor_arg(b, "tensordot", "b", 2)
    if isinstance(dims, TB):
        dims = dims.tolist()
    if isinstance(dims, builtins.int):
        if dims < 0:
            raise RuntimeError("tensordot expects dims >= 0, but got dims=%d" % dims)
        if dims > a.ndim or dims > b.ndim:
            raise RuntimeError("tensordot expects dims < ndim_a or ndim_b, but got dims=%d" % dims)
        da, db = list(range(-dims, 0)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, builtins.int) else list(da)
        db = [db] if isinstance(db, builtins.int) else list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    wa = [F.wrap_dim(d, a.ndim) for d in da]
    wb = [F.wrap_dim(d, b.ndim) for d in db]
    for x, y, ox, oy in zip(wa, wb, da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError("contracted dimensions need to match, but first has size %d in dim %d and second has "
                               "size %d in dim %d" % (a.shape[x], ox, b.shape[y], oy))
    _same_dtype(a, b)
    fa = [d for d in range(a.ndim) if d not in wa]
    fb = [d for d in range(b.ndim) if d not in wb]
    K = 1
    for d in wa:
        K *= a.shape[d]
    sa, sb = [a.shape[d] for d in fa], [b.shape[d] for d in fb]
    pa, pb = 1, 1
    for s in sa:
        pa *= s
    for s in sb:
        pb *= s
    am = F.reshape(F.permute(a, fa + wa), pa, K)
    bm = F.reshape(F.permute(b, wb + fb), K, pb)
    return F._out(F.reshape(F.mm(am, bm), sa + sb), out)


def _cross(input, other, dim, fname):
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    shape = _broadcast_shapes(_shape(input), _shape(other))
    d = F.wrap_dim(dim, len(shape))
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError("linalg.cross: inputs dimension %d must have length 3. Got %d and %d"
                           % (dim, input.shape[d], other.shape[d]))
    _same_dtype(input, other)
    a = [F.narrow(input, d, i, 1) for i in range(3)]
    b = [F.narrow(other, d, i, 1) for i in range(3)]
    parts = [F.sub(F.mul(a[(i + 1) % 3], b[(i + 2) % 3]), F.mul(a[(i + 2) % 3], b[(i + 1) % 3])) for i in range(3)]
    return F.cat(parts, d)


def cross(input, other, dim=None, *, out=None):
    _tensor_arg(input, "cross")
    _tensor_arg(other, "cross", "other", 2)
    if dim is None:  # torch.cross's deprecated default: the first dim of size 3
        if input.ndim == other.ndim:
            shape = _broadcast_shapes(_shape(input), _shape(other))
            dim = next((i for i, s in enumerate(shape) if s == 3), None)
        else:
            dim = -1
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return F._out(_cross(input, other, dim, "cross"), out)


def _linalg_cross(input, other, *, dim=-1, out=None):
    _tensor_arg(input, "linalg_cross")
    _tensor_arg(other, "linalg_cross", "other", 2)
    return F._out(_cross(input, other, dim, "linalg.cross"), out)


def chain_matmul(*matrices, out=None):
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if len(matrices) == 1:
        return F._out(F.clone(matrices[0]), out)
    return F._out(_multi_dot(list(matrices)), out)


# ---------------------------------------------------------------- einsum

def _einsum_parse(eq, ops):
    eq = eq.replace(" ", "")
    if "->" in eq:
        lhs, rhs = eq.split("->", 1)
    else:
        lhs, rhs = eq, None
    terms = lhs.split(",")
    if len(terms) > len(ops):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(ops):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    return terms, rhs


def _einsum_labels(term, nd, i, ell_nd):
    """Labels of one operand: letters, and '.k' for the k-th ellipsis dim (right-aligned)."""
    if term.count("...") > 1 or (term.replace("...", "").count(".")):
        raise RuntimeError("einsum(): found '.' for operand %d that is not part of any ellipsis" % i)
    for c in term.replace("...", ""):
        if not c.isalpha():
            raise RuntimeError("einsum(): invalid subscript given at index %d in the equation string, subscripts "
                               "must be in [a-zA-Z]" % term.index(c))
    if "..." not in term:
        if len(term) != nd:
            raise RuntimeError("einsum(): the number of subscripts in the equation (%d) does not match the number "
                               "of dimensions (%d) for operand %d and no ellipsis was given" % (len(term), nd, i))
        return list(term)
    pre, post = term.split("...")
    ne = nd - len(pre) - len(post)
    if ne < 0:
        raise RuntimeError("einsum(): the number of subscripts in the equation (%d) is more than the number of "
                           "dimensions (%d) for operand %d" % (len(pre) + len(post), nd, i))
    return list(pre) + [".%d" % (ell_nd - ne + k) for k in range(ne)] + list(post)


def _einsum_diag(t, labels):
    """Takes the diagonal over repeated labels: a strided view, each label once."""
    seen = {}
    sizes, strides = [], []
    out_labels = []
    for d, l in enumerate(labels):
        if l in seen:
            j = seen[l]
            if sizes[j] != t.shape[d]:
                raise RuntimeError("einsum(): subscript %s is repeated for operand %d but the sizes don't match, "
                                   "%d != %d" % (l, -1, t.shape[d], sizes[j]))
            strides[j] += t._strides[d]
            continue
        seen[l] = len(sizes)
        sizes.append(t.shape[d])
        strides.append(t._strides[d])
        out_labels.append(l)
    if len(out_labels) == len(labels):
        return t, labels
    return F.as_strided(t, sizes, strides), out_labels


def _sum_labels(t, labels, drop):
    dims = [i for i, l in enumerate(labels) if l in drop]
    if not dims:
        return t, labels
    return F.sum(t, dims), [l for l in labels if l not in drop]


def _contract(a, la, b, lb, keep):
    """Contracts two operands over their shared labels not in keep, with one bmm."""
    # a label of size 1 against size n that is summed away: sum the n side first
    for l in set(la) & set(lb):
        sa, sb = a.shape[la.index(l)], b.shape[lb.index(l)]
        if l not in keep and sa != sb:
            if sa == 1:
                b = F.sum(b, [lb.index(l)], True)
            else:
                a = F.sum(a, [la.index(l)], True)
    batch = [l for l in la if l in lb and l in keep]
    con = [l for l in la if l in lb and l not in keep]
    fa = [l for l in la if l not in lb]
    fb = [l for l in lb if l not in la]
    size = {}
    for t, ls in ((a, la), (b, lb)):
        for i, l in enumerate(ls):
            if size.get(l, 1) == 1:
                size[l] = t.shape[i]

    def prod(ls):
        p = 1
        for l in ls:
            p *= size[l]
        return p

    a = F.expand(F.permute(a, [la.index(l) for l in batch + fa + con]),
                 [size[l] for l in batch] + [a.shape[la.index(l)] for l in fa + con])
    b = F.expand(F.permute(b, [lb.index(l) for l in batch + con + fb]),
                 [size[l] for l in batch] + [b.shape[lb.index(l)] for l in con + fb])
    am = F.reshape(a, prod(batch), prod(fa), prod(con))
    bm = F.reshape(b, prod(batch), prod(con), prod(fb))
    r = F.bmm(am, bm)
    labels = batch + fa + fb
    return F.reshape(r, [size[l] for l in labels]), labels


def _sublist_eq(args):
    """einsum(op0, sublist0, op1, sublist1, ..., [out_sublist]) -> equation, operands."""
    def conv(sub):
        s = ""
        for v in sub:
            if v is Ellipsis:
                s += "..."
            else:
                v = int(v)
                if not 0 <= v < 52:
                    raise RuntimeError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
                s += chr(ord("A") + v) if v < 26 else chr(ord("a") + v - 26)
        return s
    ops, terms = [], []
    it = list(args)
    while len(it) >= 2 and isinstance(it[0], TB):
        ops.append(it.pop(0))
        terms.append(conv(it.pop(0)))
    eq = ",".join(terms)
    if it:
        eq += "->" + conv(it.pop(0))
    return eq, ops


def einsum(*args):
    if not args:
        raise TypeError("einsum(): must specify the equation string and at least one operand")
    if isinstance(args[0], TB):
        eq, ops = _sublist_eq(args)
    else:
        eq, ops = args[0], list(args[1:])
        if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
            ops = list(ops[0])
    if not isinstance(eq, str):
        raise TypeError("einsum(): argument 'equation' (position 1) must be str, not %s" % type(eq).__name__)
    for i, t in enumerate(ops):
        if not isinstance(t, TB):
            raise TypeError("expected Tensor as element %d in argument 1, but got %s" % (i, type(t).__name__))
    if not ops:
        raise RuntimeError("einsum(): must provide at least one operand")
    terms, rhs = _einsum_parse(eq, ops)
    ell_nd = 0
    for term, t in zip(terms, ops):
        if "..." in term:
            ell_nd = builtins.max(ell_nd, t.ndim - len(term.replace("...", "")))
    labels = [_einsum_labels(term, t.ndim, i, ell_nd) for i, (term, t) in enumerate(zip(terms, ops))]
    ell = [".%d" % k for k in range(ell_nd)]
    if rhs is None:
        counts = {}
        for ls in labels:
            for l in ls:
                if not l.startswith("."):
                    counts[l] = counts.get(l, 0) + 1
        out = ell + sorted(l for l, c in counts.items() if c == 1)
    else:
        if rhs.count("...") > 1:
            raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis")
        pre, post = rhs.split("...") if "..." in rhs else (rhs, "")
        out = list(pre) + (ell if "..." in rhs else []) + list(post)
        present = {l for ls in labels for l in ls}
        for l in pre + post:
            if not l.isalpha():
                raise RuntimeError("einsum(): invalid subscript given at index %d in the equation string, subscripts "
                                   "must be in [a-zA-Z]" % eq.index(l))
            if (pre + post).count(l) > 1:
                raise RuntimeError("einsum(): output subscript %s appears more than once in the output" % l)
            if l not in present:
                raise RuntimeError("einsum(): output subscript %s does not appear in the equation for any input "
                                   "operand" % l)
    work = []
    for i, (t, ls) in enumerate(zip(ops, labels)):
        try:
            work.append(_einsum_diag(t, ls))
        except RuntimeError as e:
            raise RuntimeError(str(e).replace("operand -1", "operand %d" % i)) from None
    # sizes must agree (or broadcast from 1) across operands
    seen = {}
    for i, (t, ls) in enumerate(work):
        for d, l in enumerate(ls):
            s = t.shape[d]
            if l in seen and seen[l] != s and s != 1 and seen[l] != 1:
                if l.startswith("."):
                    raise RuntimeError("einsum(): operands do not broadcast with remapped shapes")
                raise RuntimeError("einsum(): subscript %s has size %d for operand %d which does not broadcast with "
                                   "previously seen size %d" % (l, s, i, seen[l]))
            if l not in seen or seen[l] == 1:
                seen[l] = s
    # one dtype, as torch's bmm-based einsum wants
    dt = ops[0].dtype
    for t in ops[1:]:
        if t.dtype is not dt:
            raise RuntimeError("expected scalar type %s but found %s" % (_dname(dt), _dname(t.dtype)))
    # labels needed after step i: the output's and those of later operands
    t, ls = work[0]
    for j in range(1, len(work)):
        b, lb = work[j]
        keep = set(out) | {l for _, l2 in work[j + 1:] for l in l2}
        t, ls = _sum_labels(t, ls, {l for l in ls if l not in keep and l not in lb})
        b, lb = _sum_labels(b, lb, {l for l in lb if l not in keep and l not in ls})
        t, ls = _contract(t, ls, b, lb, keep)
    t, ls = _sum_labels(t, ls, {l for l in ls if l not in out})
    if len(work) == 1 and t is ops[0]:
        t = F.alias(t)
    t = F.permute(t, [ls.index(l) for l in out]) if ls != out else t
    return t


# ---------------------------------------------------------------- LAPACK-backed: torch.linalg

def _rename(e, old, new):
    msg = str(e)
    if msg.startswith(old):
        msg = new + msg[len(old):]
    return RuntimeError(msg)


def _raise_info(info, fname, what, err=LinAlgError):
    """Raises err for the first nonzero entry of an int info tensor (a sync)."""
    vals = _read(info)
    i, v = _first_bad(vals)
    if i is not None:
        raise err("%s: %s%s" % (fname, _batch_prefix(info, i), what(v)))


def _inv_msg(v):
    return ("The diagonal element %d is zero, the inversion could not be completed because the input matrix is "
            "singular." % v)


def _inv_ex(A, check_errors=False, fname="linalg.inv"):
    _tensor_arg(A, fname.replace(".", "_"), "A")
    X, info = ops.linalg_inv(A)
    if check_errors:
        _raise_info(info, fname, _inv_msg)
    return X, info


def inv(A, *, out=None):
    return F._out(_inv_ex(A, True)[0], out)


def inv_ex(A, *, check_errors=False, out=None):
    return F._outs(_RT["linalg_inv_ex"](*_inv_ex(A, check_errors, "linalg.inv_ex")), out, "linalg_inv_ex")


def inverse(input, *, out=None):
    return inv(input, out=out)


def _info_of_a(info, a_batch):
    """info over the broadcast batch -> over A's batch, as torch reports it (it depends on
    A's factorization only): broadcast copies of one A collapse to it."""
    for _ in range(info.ndim - len(a_batch)):
        info = F.select(info, 0, 0)
    for d, n in enumerate(a_batch):
        if n == 1 and info.shape[d] != 1:
            info = F.narrow(info, d, 0, 1)
    return F.contiguous(info)


def _solve_ex(A, B, left, check_errors):
    fname = "linalg.solve"
    _tensor_arg(A, "linalg_solve", "A")
    _tensor_arg(B, "linalg_solve", "B", 2)
    if A.ndim < 2:
        raise RuntimeError("%s: The input tensor A must have at least 2 dimensions." % fname)
    if A.dtype not in _LA_DTYPES:
        ops.linalg_solve(A, A, check=True)  # raises: the meta layer words the dtype error
    if B.ndim == 0:
        raise RuntimeError("%s: The input tensor B must have at least 2 dimensions." % fname)
    if A.dtype is not B.dtype:
        raise RuntimeError("%s: Expected A and B to have the same dtype, but found A of type %s and B of type %s "
                           "instead" % (fname, _dname(A.dtype), _dname(B.dtype)))
    n = A.shape[-1]
    if A.shape[-2] != n:
        raise RuntimeError("%s: A must be batches of square matrices, but they are %d by %d matrices"
                           % (fname, A.shape[-2], n))
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and _shape(B) == _shape(A)[:-1])
    Bm = F.unsqueeze(B, -1) if vector else B
    if not left:
        A, Bm = F.transpose(A, -2, -1), F.transpose(Bm, -2, -1)
    if Bm.shape[-2] != n:
        r, c = (Bm.shape[-2], Bm.shape[-1]) if left else (Bm.shape[-1], Bm.shape[-2])
        raise RuntimeError("%s: Incompatible shapes of A and B for the equation %s (%dx%d and %dx%d)"
                           % (fname, "AX = B" if left else "XA = B", n, n, r, c))
    batch = _broadcast_shapes(_shape(A)[:-2], _shape(Bm)[:-2])
    A2 = _expand_batch(A, batch, [n, n])
    B2 = _expand_batch(Bm, batch, _shape(Bm)[-2:])
    X, info = ops.linalg_solve(A2, B2)
    info = _info_of_a(info, _shape(A)[:-2])
    if check_errors:
        _raise_info(info, "torch.linalg.solve", lambda v: "The solver failed because the input matrix is singular.")
    if not left:
        X = F.transpose(X, -2, -1)
    if vector:
        X = F.squeeze(X, -1)
    return X, info


def solve(A, B, *, left=True, out=None):
    return F._out(_solve_ex(A, B, left, True)[0], out)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    return F._outs(_RT["linalg_solve_ex"](*_solve_ex(A, B, left, check_errors)), out, "linalg_solve_ex")


def det(A, *, out=None):
    _tensor_arg(A, "linalg_det", "A")
    return F._out(ops.linalg_det(A), out)


def _slogdet(A):
    _tensor_arg(A, "linalg_slogdet", "A")
    return ops.linalg_slogdet(A)


def _linalg_slogdet(A, *, out=None):
    return F._outs(_RT["linalg_slogdet"](*_slogdet(A)), out, "linalg_slogdet")


def slogdet(input):
    """torch.slogdet: as linalg.slogdet, as torch.return_types.slogdet."""
    return _RT["slogdet"](*_slogdet(input))


def logdet(input):
    """log(det(input)): NaN for a negative real determinant; complex input gives the
    complex logarithm logabsdet + log(sign), as torch."""
    try:
        sign, la = _slogdet(input)
    except RuntimeError as e:
        raise _rename(e, "linalg.slogdet:", "logdet:") from None
    if input.dtype.is_complex:
        return F.add(F.log(sign), la)
    from ._creation import full_like
    return F.where(F.lt(sign, 0), full_like(la, float("nan")), la)


def _chol_msg(v):
    return ("The factorization could not be completed because the input is not positive-definite (the leading minor "
            "of order %d is not positive-definite)." % v)


def _cholesky_ex(A, upper, check_errors, fname="linalg.cholesky"):
    _tensor_arg(A, "linalg_cholesky", "A")
    L, info = ops.linalg_cholesky(A, bool(upper))
    if check_errors:
        _raise_info(info, fname, _chol_msg)
    return L, info


def _linalg_cholesky(A, *, upper=False, out=None):
    return F._out(_cholesky_ex(A, upper, True)[0], out)


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    return F._outs(_RT["linalg_cholesky_ex"](*_cholesky_ex(A, upper, check_errors)), out, "linalg_cholesky_ex")


def cholesky(input, upper=False, *, out=None):
    """torch.cholesky (deprecated in torch, same factor as linalg.cholesky)."""
    _tensor_arg(input, "cholesky")
    if not _inexact(input.dtype):
        raise RuntimeError("\"cholesky_cpu\" not implemented for '%s'" % _dname(input.dtype))
    try:
        return F._out(_cholesky_ex(input, upper, True, "cholesky")[0], out)
    except RuntimeError as e:
        if isinstance(e, LinAlgError):
            raise
        raise _rename(e, "linalg.cholesky:", "cholesky:") from None


def cholesky_solve(input, input2, upper=False, *, out=None):
    """Solves A X = B given A's Cholesky factor input2 (A = L L^H, or U^H U when upper)."""
    _tensor_arg(input, "cholesky_solve")
    _tensor_arg(input2, "cholesky_solve", "input2", 2)
    L = _mH(input2) if upper else input2
    a = F.matmul(L, _mH(L))
    return F._out(solve(a, input), out)


def cholesky_inverse(input, upper=False, *, out=None):
    _tensor_arg(input, "cholesky_inverse")
    L = _mH(input) if upper else input
    return F._out(inv(F.matmul(L, _mH(L))), out)


_QR_MODES = ("reduced", "complete", "r")


def _qr(A, mode):
    _tensor_arg(A, "linalg_qr", "A")
    if mode not in _QR_MODES:
        raise RuntimeError("qr received unrecognized mode '%s' but expected one of 'reduced' (default), 'r', or "
                           "'complete'" % (mode,))
    return ops.linalg_qr(A, mode)


def _linalg_qr(A, mode="reduced", *, out=None):
    return F._outs(_RT["linalg_qr"](*_qr(A, mode)), out, "linalg_qr")


def qr(input, some=True, *, out=None):
    return F._outs(_RT["qr"](*_qr(input, "reduced" if some else "complete")), out, "qr")


def _svd_check(A, S):
    """torch raises when gesdd fails; the kernel marks that with NaN singular values."""
    if S.numel() and F.any(F.ne(S, S)).item():
        if F.all(F.eq(F.sub(A, A), 0)).item():  # finite input: x - x is 0 except for inf and nan
            raise LinAlgError("linalg.svd: The algorithm failed to converge because the input matrix is "
                              "ill-conditioned or has too many repeated singular values (error code: 1).")
        raise LinAlgError("linalg.svd: The algorithm failed to converge because the input matrix contained "
                          "non-finite values.")


def _needs_grad(A):
    """Whether A's factorization is recorded for backward: then the singular vectors and
    eigenvectors are computed even for the values alone (torch does the same), as their
    derivative is formed from them."""
    from ._grad_mode import is_grad_enabled
    return A.requires_grad and is_grad_enabled()


def _svd(A, full_matrices, compute_uv):
    _tensor_arg(A, "linalg_svd", "A")
    U, S, Vh = ops.linalg_svd(A, bool(full_matrices), bool(compute_uv) or _needs_grad(A))
    _svd_check(A, S)
    return U, S, Vh


def _linalg_svd(A, full_matrices=True, *, driver=None, out=None):
    return F._outs(_RT["linalg_svd"](*_svd(A, full_matrices, True)), out, "linalg_svd")


def svdvals(A, *, driver=None, out=None):
    return F._out(_svd(A, False, False)[1], out)


def svd(input, some=True, compute_uv=True, *, out=None):
    """torch.svd: V (not Vh); compute_uv=False gives zero-filled full-size U and V."""
    return F._outs(_svd_legacy(input, some, compute_uv), out, "svd")


def _svd_legacy(input, some, compute_uv):
    _tensor_arg(input, "svd")
    if input.ndim < 2:
        raise RuntimeError("linalg.svd: input should have at least 2 dimensions, but has %d dimensions instead"
                           % input.ndim)
    if not compute_uv:
        from ._creation import zeros
        S = _svd(input, False, False)[1]
        b, m, n = _shape(input)[:-2], input.shape[-2], input.shape[-1]
        return _RT["svd"](zeros(b + [m, m], dtype=input.dtype), S, zeros(b + [n, n], dtype=input.dtype))
    U, S, Vh = _svd(input, not some, True)
    return _RT["svd"](U, S, _mH(Vh))


def _uplo(UPLO):
    if UPLO not in ("L", "U", "l", "u"):
        raise RuntimeError("Expected UPLO argument to be 'L' or 'U', but got %s" % (UPLO,))
    return UPLO in ("U", "u")


def _eigh(A, UPLO, compute_v, fname):
    _tensor_arg(A, fname.replace(".", "_"), "A")
    up = _uplo(UPLO)
    w, V, info = ops.linalg_eigh(A, up, bool(compute_v) or _needs_grad(A))
    _raise_info(info, "linalg.eigh", lambda v: "The algorithm failed to converge because the input matrix is "
                "ill-conditioned or has too many repeated eigenvalues (error code: %d)." % v)
    return w, V


def eigh(A, UPLO="L", *, out=None):
    return F._outs(_RT["linalg_eigh"](*_eigh(A, UPLO, True, "linalg.eigh")), out, "linalg_eigh")


def eigvalsh(A, UPLO="L", *, out=None):
    return F._out(_eigh(A, UPLO, False, "linalg.eigvalsh")[0], out)


def _eig(A, fname):
    """(w, V) as complex tensors, like torch: geev gives wr, wi and V where a conjugate pair
    (wi[j] > 0, wi[j+1] < 0) stores its eigenvector's real part in column j and imaginary part
    in column j+1; real eigenvalues have real eigenvectors.  LAPACK's order and normalization
    (unit 2-norm, largest component real) are kept.  Complex A: the kernel's w and V are
    the result as they are."""
    from ._complex import from_parts
    _tensor_arg(A, fname.replace(".", "_"), "A")
    try:
        wr, wi, V = ops.linalg_eig(A)
    except RuntimeError as e:
        raise _rename(e, "linalg.eig:", fname + ":") from None
    if wr.numel() and F.any(F.ne(wr, wr)).item():
        raise LinAlgError("%s: The algorithm failed to converge because the input matrix is ill-conditioned or "
                          "has too many repeated eigenvalues (error code: 1)." % fname)
    if A.dtype.is_complex:
        return wr, V
    w = from_parts(wr, wi)
    first, second = F.unsqueeze(F.gt(wi, 0), -2), F.unsqueeze(F.lt(wi, 0), -2)  # (..., 1, n) column masks
    n = V.shape[-1]
    zero = F.mul(F.narrow(V, -1, 0, builtins.min(n, 1)), 0)
    nxt = F.cat([F.narrow(V, -1, builtins.min(n, 1), builtins.max(n - 1, 0)), zero], -1)  # column j+1 at j
    prv = F.cat([zero, F.narrow(V, -1, 0, builtins.max(n - 1, 0))], -1)  # column j-1 at j
    re = F.where(second, prv, V)
    im = F.where(first, nxt, F.where(second, F.neg(V), F.mul(V, 0)))
    return w, from_parts(re, im)


def eig(A, *, out=None):
    return _RT["linalg_eig"](*_eig(A, "linalg.eig"))


def eigvals(A, *, out=None):
    return F._out(_eig(A, "linalg.eigvals")[0], out)


_DRIVERS = {None: 0, "gelsy": 0, "gelsd": 1, "gelss": 2, "gels": 3}


def lstsq(A, B, rcond=None, *, driver=None):
    fname = "torch.linalg.lstsq"
    _tensor_arg(A, "linalg_lstsq", "self")
    _tensor_arg(B, "linalg_lstsq", "b", 2)
    if A.ndim < 2:
        raise RuntimeError("%s: input must have at least 2 dimensions." % fname)
    if B.ndim < 1:
        raise RuntimeError("%s: other must have at least 1 dimension." % fname)
    for t in (A, B):
        if t.dtype not in _LA_DTYPES:
            raise RuntimeError("This function doesn't handle types other than float and double")
    if A.dtype is not B.dtype:
        raise RuntimeError("%s: Expected input and other to have the same dtype, but got input's dtype %s and "
                           "other's dtype %s" % (fname, _dname(A.dtype), _dname(B.dtype)))
    if driver not in _DRIVERS:
        raise RuntimeError("%s: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)" % fname)
    drv = _DRIVERS[driver]
    if not (A.ndim >= B.ndim and A.ndim - B.ndim <= 1):
        raise RuntimeError("%s: input.dim() must be greater or equal to other.dim() and (input.dim() - other.dim()) "
                           "<= 1" % fname)
    vector = B.ndim == A.ndim - 1
    m, n = A.shape[-2], A.shape[-1]
    if vector:
        if B.shape[-1] != m:
            raise RuntimeError("%s: input.size(-2) should match other.size(-1)" % fname)
        B = F.unsqueeze(B, -1)
    elif B.shape[-2] != m:
        raise RuntimeError("%s: input.size(-2) should match other.size(-2)" % fname)
    batch = _broadcast_shapes(_shape(A)[:-2], _shape(B)[:-2])
    A2 = _expand_batch(A, batch, [m, n])
    B2 = _expand_batch(B, batch, _shape(B)[-2:])
    rc = -1.0 if rcond is None else float(rcond)
    X, rank, sv = ops.linalg_lstsq(A2, B2, rc, driver)
    from ._creation import tensor
    if drv != 0:
        vals = _read(rank)
        bad = next((v for v in vals if v < 0), None)
        if bad is not None:
            if drv == 3:
                raise LinAlgError("%s: The least squares solution could not be computed because the input matrix "
                                  "does not have full rank (error code: %d)." % (fname, -bad))
            raise LinAlgError("%s: The algorithm failed to converge because the input matrix is ill-conditioned or "
                              "has too many repeated singular values (error code: %d)." % (fname, -bad))
    sol = F.contiguous(F.narrow(X, -2, 0, n))
    real_dt = _F64 if A.dtype in (_F64, _C128) else _F32
    residuals = tensor([], dtype=real_dt)
    if m > n and drv != 0:
        if drv == 3 or all(v == n for v in vals):
            tail = F.narrow(X, -2, n, m - n).detach()  # torch's residuals take no gradient
            if tail.dtype.is_complex:
                tail = F.abs(tail)
            residuals = F.sum(F.mul(tail, tail), -2)
    if vector:
        sol = F.squeeze(sol, -1)
    rank_out = tensor([], dtype=_I64) if drv == 3 else _unbroadcast(rank, _shape(A)[:-2], 0)
    sv_out = _unbroadcast(sv, _shape(A)[:-2], 1) if drv in (1, 2) else tensor([], dtype=real_dt)
    return _RT["linalg_lstsq"](sol, residuals, rank_out, sv_out)


def _unbroadcast(t, a_batch, tail):
    """t (broadcast batch dims, then `tail` dims) back to A's batch dims: torch reports rank
    and singular values per matrix of A, not per broadcast problem."""
    while t.ndim - tail > len(a_batch):
        t = F.select(t, 0, 0)
    for i, s in enumerate(a_batch):
        if s == 1 and t.shape[i] != 1:
            t = F.narrow(t, i, 0, 1)
    return t


# ---------------------------------------------------------------- compositions over svd/eigh

def _tol(S, atol, rtol, m, n, smax):
    """torch's rank tolerance: max(atol, rtol * smax); default rtol eps * max(m, n)."""
    eps = 1.1920928955078125e-07 if S.dtype is _F32 else 2.220446049250313e-16
    if rtol is None:
        rtol = eps * builtins.max(m, n) if atol is None or (not isinstance(atol, TB) and atol == 0) else 0.0
    atol = 0.0 if atol is None else atol
    t = F.mul(smax, rtol)
    return F.maximum(t, atol) if isinstance(atol, TB) else F.clamp(t, min=float(atol))


def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None, out=None):
    if not isinstance(A, TB) or A.ndim < 2 or A.dtype not in _LA_DTYPES:
        d = "%s{%s}" % (_dname(A.dtype), _shape(A)) if isinstance(A, TB) else type(A).__name__
        raise RuntimeError("linalg.pinv(%s): expected a tensor with 2 or more dimensions of float, double, cfloat or "
                           "cdouble types" % d)
    if rcond is not None:
        rtol = rcond
    m, n = A.shape[-2], A.shape[-1]
    from ._creation import zeros
    if m == 0 or n == 0:
        return F._out(zeros(_shape(A)[:-2] + [n, m], dtype=A.dtype), out)
    if hermitian:
        w, V = _eigh(A, "L", True, "linalg.eigh")
        aw = F.abs(w)
        tol = _tol(w, atol, rtol, m, n, F.unsqueeze(F.amax(aw, -1), -1))
        winv = F.where(F.gt(aw, tol), F.reciprocal(w), zeros((), dtype=w.dtype))
        r = F.matmul(F.mul(V, F.unsqueeze(winv, -2)), _mH(V))
        return F._out(r, out)
    U, S, Vh = _svd(A, False, True)
    tol = _tol(S, atol, rtol, m, n, F.unsqueeze(F.amax(S, -1), -1))
    sinv = F.where(F.gt(S, tol), F.reciprocal(S), zeros((), dtype=S.dtype))
    r = F.matmul(F.mul(_mH(Vh), F.unsqueeze(sinv, -2)), _mH(U))
    return F._out(r, out)


def pinverse(input, rcond=1e-15):
    return pinv(input, rtol=rcond)


def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    _tensor_arg(A, "linalg_matrix_rank")
    if A.ndim < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions.")
    if A.dtype not in _LA_DTYPES:
        raise RuntimeError("This function doesn't handle types other than float and double")
    if tol is not None:
        atol, rtol = tol, 0.0
    m, n = A.shape[-2], A.shape[-1]
    from ._creation import zeros
    if m == 0 or n == 0:
        return F._out(zeros(_shape(A)[:-2], dtype=_I64), out)
    S = F.abs(_eigh(A, "L", False, "linalg.eigh")[0]) if hermitian else _svd(A, False, False)[1]
    tol = _tol(S, atol, rtol, m, n, F.unsqueeze(F.amax(S, -1), -1))
    return F._out(F.sum(F.gt(S, tol), -1), out)


# ---------------------------------------------------------------- norms

def _float_check(A, fname):
    if not _inexact(A.dtype):
        raise RuntimeError("%s: Expected a floating point or complex tensor as input. Got %s"
                           % (fname, _dname(A.dtype)))


def _dims_list(x, dim):
    if dim is None:
        return list(range(x.ndim))
    if isinstance(dim, (builtins.int, TB)) and not isinstance(dim, (list, tuple)):
        return [F.index_int(dim)]
    return [F.index_int(d) for d in dim]


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    _tensor_arg(x, "linalg_vector_norm", "input")
    if not F.is_scalar(ord):
        raise TypeError("linalg_vector_norm(): argument 'ord' must be Number, not %s" % type(ord).__name__)
    _float_check(x, "linalg.vector_norm")
    if dtype is not None:
        if x.dtype.is_complex and not dtype.is_complex:
            raise RuntimeError("linalg.vector_norm: dtype should be complex for complex inputs, but got %s"
                               % _dname(dtype))
        x = F.cast(x, dtype)
    if x.dtype.is_complex:  # every norm of x is one of |x|
        x = F.abs(x)
    dims = _dims_list(x, dim)
    red = None if dim is None else dims
    ord = float(ord)
    if abs(ord) == _INF:
        name = "inf" if ord > 0 else "-inf"
        if x.numel() == 0:
            if dim is None or x.ndim == 0:
                raise RuntimeError("linalg.vector_norm cannot compute the %s norm on an empty tensor because the "
                                   "operation does not have an identity" % name)
            for d in dims:
                if x.shape[F.wrap_dim(d, x.ndim)] == 0:
                    raise RuntimeError("linalg.vector_norm cannot compute the %s norm on the dimension %d"
                                       "because this dimension is empty and the operation does not have an identity"
                                       % (name, d))
        fn = F.amax if ord > 0 else F.amin
        return F._out(F.torch_node(fn(F.abs(x), () if red is None else red, keepdim), "LinalgVectorNormBackward0"),
                      out)
    if red is None:
        red = list(range(x.ndim)) if x.ndim else None
    if ord == 0:
        r = F.sum(F.cast(F.ne(x, 0), x.dtype), red, keepdim)
    elif ord == 1:
        r = F.sum(F.abs(x), red, keepdim)
    elif ord == 2:
        r = F.sqrt(F.sum(F.mul(x, x), red, keepdim))
    else:
        r = F.pow(F.sum(F.pow(F.abs(x), ord), red, keepdim), 1.0 / ord)
    return F._out(F.torch_node(r, "LinalgVectorNormBackward0"), out)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    _tensor_arg(A, "linalg_matrix_norm", "input")
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    _float_check(A, "linalg.matrix_norm")
    if not isinstance(dim, (list, tuple)) or len(dim) != 2:
        raise RuntimeError("linalg.matrix_norm: dim must be a 2-tuple. Got %s"
                           % (" ".join(str(d) for d in dim) if isinstance(dim, (list, tuple)) else dim))
    d0, d1 = F.wrap_dim(dim[0], A.ndim), F.wrap_dim(dim[1], A.ndim)
    if d0 == d1:
        raise RuntimeError("linalg.matrix_norm: dims must be different. Got (%d, %d)" % tuple(dim))
    if dtype is not None:
        A = F.cast(A, dtype)
    if ord in ("fro", "nuc"):
        if ord == "fro":
            return F._out(vector_norm(A, 2, (d0, d1), keepdim), out)
        S = svdvals(F.permute(A, [d for d in range(A.ndim) if d not in (d0, d1)] + [d0, d1]))
        r = F.sum(S, -1)
    elif isinstance(ord, str) or not F.is_scalar(ord) or float(ord) not in (1, -1, 2, -2, _INF, -_INF):
        raise RuntimeError("linalg.matrix_norm: Order %s not supported." % (ord,))
    else:
        ord = float(ord)
        if abs(ord) == 2:
            S = svdvals(F.permute(A, [d for d in range(A.ndim) if d not in (d0, d1)] + [d0, d1]))
            if S.shape[-1] == 0:  # torch reduces the empty singular values with amax/amin
                raise IndexError("%s(): Expected reduction dim -1 to have non-zero size."
                                 % ("amax" if ord > 0 else "amin"))
            r = (F.amax if ord > 0 else F.amin)(S, -1)
        else:
            # 1: max column sum (sum over rows d0, then max over d1); inf: rows and columns swapped
            s_dim, m_dim = (d0, d1) if abs(ord) == 1 else (d1, d0)
            s = F.sum(F.abs(A), s_dim, True)
            r = (F.amax if ord > 0 else F.amin)(s, m_dim, True)
            r = F.squeeze(r, [d0, d1]) if not keepdim else r
            return F._out(r, out)
    if keepdim:
        r = F.unsqueeze(F.unsqueeze(r, builtins.min(d0, d1)), builtins.max(d0, d1))
    return F._out(r, out)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    _tensor_arg(A, "linalg_norm", "input")
    if dim is not None and not isinstance(dim, (list, tuple)):
        dim = (dim,)
    if dim is not None:
        if len(dim) == 1 and not isinstance(ord, str):
            return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
        if len(dim) != 2:
            raise RuntimeError("linalg.matrix_norm: dim must be a 2-tuple. Got %s" % " ".join(str(d) for d in dim))
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    if A.ndim not in (1, 2):
        raise RuntimeError("linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got %dD."
                           % A.ndim)
    if A.ndim == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)


def cond(A, p=None, *, out=None):
    _tensor_arg(A, "linalg_cond")
    if A.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    if p is None or p in (2, -2):
        S = svdvals(A)
        r = F.div(F.amax(S, -1), F.amin(S, -1))
        return F._out(r if p != -2 else F.reciprocal(r), out)
    return F._out(F.mul(matrix_norm(A, p), matrix_norm(inv(A), p)), out)


# ---------------------------------------------------------------- products of several matrices

def matrix_power(A, n, *, out=None):
    _tensor_arg(A, "linalg_matrix_power")
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError("linalg.matrix_power: A must be batches of square matrices, but they are %d by %d "
                           "matrices" % (A.shape[-2], A.shape[-1]))
    n = F.index_int(n)
    if n == 0:
        from ._creation import eye
        return F._out(F.contiguous(F.expand(eye(A.shape[-1], dtype=A.dtype), _shape(A))), out)
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else F.matmul(result, base)
        n >>= 1
        if n:
            base = F.matmul(base, base)
    return F._out(F.clone(result) if result is A else result, out)


def _multi_dot(tensors):
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError("multi_dot(): expected at least 2 tensors but got %d" % len(ts))
    for i, t in enumerate(ts):
        _tensor_arg(t, "linalg_multi_dot", "tensors")
        if 0 < i < len(ts) - 1 and t.ndim != 2:
            raise RuntimeError("multi_dot(): tensor %d must be 2D but got %dD" % (i, t.ndim))
    if ts[0].ndim not in (1, 2):
        raise RuntimeError("multi_dot(): the first tensor must be 1D or 2D but got %dD" % ts[0].ndim)
    if ts[-1].ndim not in (1, 2):
        raise RuntimeError("multi_dot(): the last tensor must be 1D or 2D but got %dD" % ts[-1].ndim)
    for i, t in enumerate(ts[1:], 1):
        if t.dtype is not ts[0].dtype:
            raise RuntimeError("multi_dot(): all tensors must have be the same dtype but tensor 0 is %s and tensor "
                               "%d %s" % (_dname(ts[0].dtype).lower(), i, _dname(t.dtype).lower()))
    first_1d, last_1d = ts[0].ndim == 1, ts[-1].ndim == 1
    if first_1d:
        ts[0] = F.unsqueeze(ts[0], 0)
    if last_1d:
        ts[-1] = F.unsqueeze(ts[-1], 1)
    for i in range(len(ts) - 1):
        if ts[i].shape[1] != ts[i + 1].shape[0]:
            raise RuntimeError("multi_dot(): tensors %d and %d with shapes %s and %s cannot be multiplied"
                               % (i, i + 1, _shape(ts[i]), _shape(ts[i + 1])))
    r = _chain(ts)
    if first_1d and last_1d:
        return F.reshape(r, [])
    if first_1d:
        return F.squeeze(r, 0)
    if last_1d:
        return F.squeeze(r, -1)
    return r


def _chain(ts):
    """The matrix chain in the cheapest order (the classic O(n^3) dynamic programme)."""
    n = len(ts)
    if n <= 2:
        return F.mm(ts[0], ts[1]) if n == 2 else ts[0]
    p = [ts[0].shape[0]] + [t.shape[1] for t in ts]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for ln in range(1, n):
        for i in range(n - ln):
            j = i + ln
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def build(i, j):
        if i == j:
            return ts[i]
        k = split[i][j]
        return F.mm(build(i, k), build(k + 1, j))
    return build(0, n - 1)


def multi_dot(tensors, *, out=None):
    return F._out(_multi_dot(tensors), out)


def vecdot(x, y, *, dim=-1, out=None):
    """sum(conj(x) * y) over dim."""
    _tensor_arg(x, "linalg_vecdot", "x")
    _tensor_arg(y, "linalg_vecdot", "y", 2)
    if x.dtype.is_complex:
        from ._complex import conj_physical
        x = conj_physical(x)
    return F._out(F.sum(F.mul(x, y), dim), out)


# ---------------------------------------------------------------- in-place methods

addmm_, addmv_, addbmm_, baddbmm_, addr_ = (_inplace(f) for f in (addmm, addmv, addbmm, baddbmm, addr))
