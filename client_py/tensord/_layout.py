"""torch.layout and torch.memory_format: the layout objects (every tensord tensor is
strided; the sparse layouts exist as names, for code that compares against them) and the
memory formats, which tensord honours as strides: channels_last is the NHWC order of a
4-d tensor's strides (channels_last_3d: NDHWC of a 5-d one), made by contiguous(),
to(), clone() and Module.to(memory_format=...) and tested by is_contiguous().  New tensors
made *_like another follow torch's preserve_format (like_order); elementwise results get
their layout in the meta rules (kernels/shape.c iterator_layout), as torch's
TensorIterator lays them out."""

__all__ = ["layout", "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc",
           "memory_format", "contiguous_format", "channels_last", "channels_last_3d", "preserve_format"]


class _Named:
    """A constant torch names torch.<name> (compared by identity, pickled by name)."""
    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return "torch." + self._name

    def __reduce__(self):
        return self._name


class layout(_Named):
    __slots__ = ()


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")


class memory_format(_Named):
    __slots__ = ()


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

# dims of the channels-last orders, outermost first: N, spatial..., C
_ORDERS = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def _order(fmt, ndim):
    """The dims of fmt's stride order, outermost first, for an ndim tensor (None: row-major)."""
    if fmt is None or fmt is contiguous_format:
        return None
    if fmt in _ORDERS:
        rank, order = _ORDERS[fmt]
        if ndim != rank:
            raise RuntimeError("required rank %d tensor to use %s format" % (rank, fmt._name))
        return order
    if fmt is preserve_format:
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    raise TypeError("memory_format must be a torch.memory_format, not %s" % type(fmt).__name__)


def is_dense_in(t, fmt):
    """t's strides are those of a dense tensor in format fmt (size-1 dims are free)."""
    if fmt is preserve_format:   # torch checks it as row-major
        return t.is_contiguous()
    order = _order(fmt, t.ndim)
    if order is None:
        return t.is_contiguous()
    expected = 1
    strides = t.stride()
    for d in reversed(order):
        if t.shape[d] != 1 and strides[d] != expected:
            return False
        expected *= t.shape[d]
    return True


def copy_in(t, fmt):
    """A copy of t with fmt's strides."""
    return copy_ordered(t, _order(fmt, t.ndim))


def copy_ordered(t, order):
    """A copy of t laid out densely with its dims in `order` (outermost first; None:
    row-major)."""
    from ._C import ops
    if order is None:
        return ops.clone(t)
    inverse = [order.index(d) for d in range(t.ndim)]
    return ops.clone(t.permute(*order)).permute(*inverse)


def contiguous_in(t, fmt):
    """t itself when already dense in fmt, else a copy with fmt's strides."""
    if fmt is preserve_format and t.is_contiguous():
        return t
    if _order(fmt, t.ndim) is None:
        return t.contiguous()
    return t if is_dense_in(t, fmt) else copy_in(t, fmt)


def restrided(t, fmt):
    """Tensor.to(memory_format=fmt): t when its strides already follow fmt, else a copy
    with fmt's strides (fresh ones, as torch's empty(memory_format=) gives)."""
    if fmt is preserve_format or suggest(t) is fmt:
        return t
    if fmt is contiguous_format and t.is_contiguous():
        return t
    return copy_in(t, fmt)


def suggest(t):
    """The memory format t's strides follow: channels_last(_3d) or contiguous_format (what
    preserve_format keeps)."""
    for fmt, (rank, _) in _ORDERS.items():
        if t.ndim == rank and not t.is_contiguous() and is_dense_in(t, fmt):
            return fmt
    return contiguous_format


def _dense(t):
    """torch's non-overlapping-and-dense test: the dims of size > 1 by increasing stride
    each step over exactly the ones inside them."""
    dims = sorted((st, sz) for st, sz in zip(t.stride(), t.shape) if sz > 1)
    want = 1
    for st, sz in dims:
        if st != want:
            return False
        want *= sz
    return True


def strides_like(t):
    """torch's suggest_memory_format: channels_last(_3d) when t's strides order its dims
    as that format does (gaps allowed; the ambiguous cases row-major), else
    contiguous_format."""
    if t.ndim not in (4, 5):
        return contiguous_format
    sizes, strides = t.shape, t.stride()
    if strides[1] == 0:
        return contiguous_format
    low = 0
    for d in ((1, 3, 2, 0) if t.ndim == 4 else (1, 4, 3, 2, 0)):
        if sizes[d] == 0 or strides[d] < low or (d == 0 and low == strides[1]):
            return contiguous_format
        low = strides[d] * (sizes[d] if sizes[d] > 1 else 1)
    return channels_last if t.ndim == 4 else channels_last_3d


def like_order(t, fmt):
    """The dims (outermost first) a new tensor made *_like(t, memory_format=fmt) is laid
    out in, or None for row-major.  preserve_format (the default) keeps t's own order when
    t is non-overlapping and dense, else the format its strides suggest, as torch does."""
    if fmt is None or fmt is preserve_format:
        if t.is_contiguous():
            return None
        if _dense(t):
            st = t.stride()
            return sorted(range(t.ndim), key=lambda d: (-st[d], d))
        fmt = strides_like(t)
    return _order(fmt, t.ndim)
