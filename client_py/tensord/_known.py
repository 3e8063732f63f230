"""Values the client knows: tensors made from Python data keep a copy of it.

torch checks index ranges, bernoulli's p and multinomial's weights at the call; tensord
runs ops later in the daemon, where such a check can only fail at the next sync.  When
the values come from the user's own Python data (ints, lists, ranges, numpy arrays,
`tensor()`, `as_tensor`, `from_numpy`, integer `arange`) the client still has them, so
the check is made here, at the user's line, with torch's exception and message.

`remember(t, values)` keeps a read-only copy on the tensor object (small tensors only)
and registers its storage with libtensord, which gives the storage a new version
whenever a record writes it through any view (`_C.known_set`/`known_get`).  `values(t)`
returns the copy only while the storage is unwritten, so an index changed in place
(`idx.add_(100)`, `idx[0] = 7`, `copy_` into a view) is never checked against stale
values: its error surfaces at the next sync, found by the kernel, as before.  Tensors
computed by ops (`ones(3) * 10`, views, casts) are not known.

The checks here never raise where torch would not: each mirrors the kernel's rule and
message (kernels/cpu/index.c, random.c), which the daemon keeps making anyway.
"""
import numpy as _np

from . import _C

MAX_KNOWN = 1 << 16  # elements: larger tensors are not copied (the daemon checks them)


def remember(t, arr):
    """t was just created from arr (numpy, t's shape and element values): keep a copy."""
    if arr.size <= MAX_KNOWN and arr.dtype.kind in "biuf":
        a = _np.array(arr, copy=True)  # the caller's array may change later
        a.flags.writeable = False
        _C.known_set(t, a)
    return t


def values(t):
    """t's elements as a numpy array when the client knows them, else None."""
    return _C.known_get(t)


def first_out_of_range(vals, size, wrap):
    """The first value (row-major) outside [0, size) (wrap: [-size, size)), or None."""
    v = vals.reshape(-1)
    bad = (v >= size) | (v < (-size if wrap else 0))
    if not bad.any():
        return None
    return int(v[int(_np.argmax(bad))])


def range_error(vals, size, wrap, exc, fmt):
    """exc(fmt % value) for the first value out of range, or None (vals None: unknown)."""
    if vals is None:
        return None
    v = first_out_of_range(vals, size, wrap)
    return None if v is None else exc(fmt % v if "%d" in fmt else fmt)


def raise_before(err, entry, *args, **kw):
    """Raises err, a value error found before recording entry(*args, **kw) (a _C.ops entry)
    — unless the op's arguments are themselves wrong: torch checks those first, so that
    error wins."""
    if err is not None:
        entry(*args, check=True, **kw)
        raise err


def check_advanced(known):
    """Advanced indexing with index tensors j = 0..k-1 (known: [(size of the dim j
    indexes, values)], values broadcastable): torch's kernel walks the broadcast
    positions in order and, at each, the indices in order; negative indices wrap."""
    arrs = _np.broadcast_arrays(*[v for _, v in known])
    bad = [((a >= s) | (a < -s)).reshape(-1) for (s, _), a in zip(known, arrs)]
    anybad = _np.logical_or.reduce(bad) if len(bad) > 1 else bad[0]
    if not anybad.any():
        return
    pos = int(_np.argmax(anybad))
    for j, b in enumerate(bad):
        if b[pos]:
            raise IndexError("index %d is out of bounds for dimension %d with size %d"
                             % (int(arrs[j].reshape(-1)[pos]), j, known[j][0]))


BERNOULLI_P = ("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error message be "
               "improved?  If so, please report an enhancement request to PyTorch.)")


def bernoulli_p_error(p):
    """bernoulli with a tensor p: every p in [0, 1] (nan fails); the error when p is known
    and has a value outside, else None."""
    vals = values(p)
    if vals is not None and vals.dtype.kind == "f" and vals.size and not ((vals >= 0) & (vals <= 1)).all():
        return RuntimeError(BERNOULLI_P)
    return None


def check_multinomial(vals, replacement):
    """torch's weight checks (vals: 1-D or 2-D float weights, known).  Without
    replacement every value is checked first, then each row's sum; with replacement
    row by row: each entry, then the row's sum."""
    rows = vals.reshape(-1, vals.shape[-1]).astype(_np.float64)
    if not replacement:
        if not (_np.isfinite(rows) & (rows >= 0)).all():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        if not (rows.sum(axis=-1) > 0).all():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        return
    neg, inf = ~(rows >= 0), _np.isinf(rows) & (rows >= 0)
    row_bad = (neg | inf).any(axis=-1) | ~(rows.sum(axis=-1) > 0)
    if not row_bad.any():
        return
    r = int(_np.argmax(row_bad))
    bad = neg[r] | inf[r]
    if bad.any():
        which = "< 0" if neg[r][int(_np.argmax(bad))] else "= infinity or NaN"
        raise RuntimeError("invalid multinomial distribution (encountering probability entry %s)" % which)
    raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
