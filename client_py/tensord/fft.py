"""tensord.fft (torch.fft): discrete Fourier transforms, computed by FFTW in the daemon.

Every transform is one of three op rows (proto/ops.def: FFT_C2C, FFT_R2C, FFT_C2R, over
a set of dims; kernels/cpu/fft.c), as ATen's _fft_c2c/_fft_r2c/_fft_c2r: this module
only does what torch's own frontend does around them — promote integer input to the
default float dtype and real input to complex where the transform is complex, resize
the signal to n/s (trim with narrow, zero-pad with cat), wrap dims, map norm to the
scaling mode.  fftfreq/rfftfreq/fftshift/ifftshift are compositions, as in torch;
the hfft family is irfft/rfft of a conjugate with the other scaling.  Every transform
is differentiable (the rows' formulas in proto/derivatives.def).
"""
import builtins

from . import _C
from . import _op_numbers as O  # noqa: F401 (a public name of tensord.fft: test_surface's baseline)
from ._C import ops as _ops
from . import _records as F
from ._complex import conj
from ._creation import arange, zeros
from ._dtype import dtype as _dtype_cls, float32 as _float32, get_default_dtype
from ._shape import roll

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn", "irfftn",
           "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def _mode(norm, forward):
    """The kernel's scaling: 0 none, 1 by 1/n, 2 by 1/sqrt(n), for a forward or inverse transform."""
    if norm is None or norm == "backward":
        return 0 if forward else 1
    if norm == "forward":
        return 1 if forward else 0
    if norm == "ortho":
        return 2
    raise RuntimeError('Invalid normalization mode: "%s"' % norm)


def _float_input(x, name, complex_ok=True):
    if not isinstance(x, _C.TensorBase):
        raise TypeError("%s(): argument 'input' (position 1) must be Tensor, not %s" % (name, type(x).__name__))
    if x.dtype.is_complex:
        if not complex_ok:
            raise RuntimeError("%s expects a real input tensor, but got %s" % (name, x.dtype._torch_name))
        return x
    if not x.dtype.is_floating_point:
        return F.cast(x, get_default_dtype())
    if x.dtype._name in ("float16", "bfloat16"):
        if _autocast_on(x):   # the FFTs are on autocast's float32 list
            return F.cast(x, _float32)
        raise RuntimeError("Unsupported dtype %s" % x.dtype._torch_name)
    return x


def _autocast_on(x):
    on, _ = _C.autocast_get(0 if x.device.type == "cpu" else 1)
    return on


def _to_complex(x):
    return x if x.dtype.is_complex else F.cast(x, x.dtype.to_complex())


def _resize(x, dim, n):
    """x with dim trimmed or zero-padded (at the end) to n elements."""
    if n < 1:
        raise RuntimeError("Invalid number of data points (%d) specified" % n)
    have = x.shape[dim]
    if n < have:
        return F.narrow(x, dim, 0, n)
    if n > have:
        shape = list(x.shape)
        shape[dim] = n - have
        return F.cat([x, zeros(shape, dtype=x.dtype)], dim)
    return x


def _dims_and_sizes(x, s, dim, name):
    """torch's rules for (s, dim) of the n-dimensional transforms: wrapped, unique dims and
    the signal size of each (None: keep the input's)."""
    if dim is not None:
        dims = [dim] if isinstance(dim, builtins.int) else list(dim)
        dims = [F.wrap_dim(d, x.ndim) for d in dims]
        if s is not None and len(s) != len(dims):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
    elif s is not None:
        if len(s) > x.ndim:
            raise RuntimeError("Got shape with %d values but input tensor only has %d dimensions." % (len(s), x.ndim))
        dims = list(builtins.range(x.ndim - len(s), x.ndim))
    else:
        dims = list(builtins.range(x.ndim))
    if len(set(dims)) != len(dims):
        raise RuntimeError("FFT dims must be unique")
    sizes = list(s) if s is not None else [None] * len(dims)
    sizes = [x.shape[d] if n is None or n == -1 else n for d, n in zip(dims, sizes)]
    if not dims:
        raise RuntimeError("%s: at least one dim is required" % name)  # torch: a no-op copy; see guide
    return dims, sizes


def _c2c(x, dims, norm, forward):
    return _ops.fft_c2c(x, _mode(norm, forward), 1 if forward else 0, dims)


def _r2c(x, dims, norm, forward):
    return _ops.fft_r2c(x, _mode(norm, forward), 0, dims)


def _c2r(x, dims, n_last, norm, forward):
    return _ops.fft_c2r(x, _mode(norm, forward), n_last, dims)


def _fftn_c2c(name, input, s, dim, norm, forward):
    x = _to_complex(_float_input(input, name))
    dims, sizes = _dims_and_sizes(x, s, dim, name)
    for d, n in zip(dims, sizes):
        x = _resize(x, d, n)
    return _c2c(x, dims, norm, forward)


def fft(input, n=None, dim=-1, norm=None):
    return _fftn_c2c("fft_fft", input, None if n is None else [n], [dim], norm, True)


def ifft(input, n=None, dim=-1, norm=None):
    return _fftn_c2c("fft_ifft", input, None if n is None else [n], [dim], norm, False)


def fftn(input, s=None, dim=None, norm=None):
    return _fftn_c2c("fft_fftn", input, s, dim, norm, True)


def ifftn(input, s=None, dim=None, norm=None):
    return _fftn_c2c("fft_ifftn", input, s, dim, norm, False)


def fft2(input, s=None, dim=(-2, -1), norm=None):
    return fftn(input, s, dim, norm)


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    return ifftn(input, s, dim, norm)


def _rfftn(name, input, s, dim, norm, forward=True):
    x = _float_input(input, name, complex_ok=False)
    dims, sizes = _dims_and_sizes(x, s, dim, name)
    for d, n in zip(dims, sizes):
        x = _resize(x, d, n)
    return _r2c(x, dims, norm, forward)


def rfft(input, n=None, dim=-1, norm=None):
    return _rfftn("rfft", input, None if n is None else [n], [dim], norm)


def rfftn(input, s=None, dim=None, norm=None):
    return _rfftn("rfftn", input, s, dim, norm)


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    return rfftn(input, s, dim, norm)


def _irfftn(name, input, s, dim, norm, forward=False):
    x = _to_complex(_float_input(input, name))
    dims, sizes = _dims_and_sizes(x, s, dim, name)
    last = dims[-1]
    n_last = sizes[-1] if s is not None and s[-1] not in (None, -1) else 2 * (x.shape[last] - 1)
    if n_last < 1:
        raise RuntimeError("Invalid number of data points (%d) specified" % n_last)
    for d, n in zip(dims[:-1], sizes[:-1]):
        x = _resize(x, d, n)
    x = _resize(x, last, n_last // 2 + 1)
    return _c2r(x, dims, n_last, norm, forward)


def irfft(input, n=None, dim=-1, norm=None):
    return _irfftn("irfft", input, None if n is None else [n], [dim], norm)


def irfftn(input, s=None, dim=None, norm=None):
    return _irfftn("irfftn", input, s, dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    return irfftn(input, s, dim, norm)


def hfft(input, n=None, dim=-1, norm=None):
    """The FFT of a Hermitian-symmetric signal given by its first half: irfft of the conjugate
    with forward scaling (as torch)."""
    x = _to_complex(_float_input(input, "hfft"))
    return _irfftn("hfft", conj(x), None if n is None else [n], [dim], norm, forward=True)


def ihfft(input, n=None, dim=-1, norm=None):
    """The inverse of hfft: the conjugate of rfft with inverse scaling (as torch)."""
    return conj(_rfftn("ihfft", input, None if n is None else [n], [dim], norm, forward=False))


def hfftn(input, s=None, dim=None, norm=None):
    """The n-dimensional hfft: irfftn of the conjugate with the other scaling (the
    Hermitian-completed spectrum's forward FFT is real, so equal to its conjugate)."""
    x = _to_complex(_float_input(input, "hfftn"))
    return _irfftn("hfftn", conj(x), s, dim, norm, forward=True)


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    return hfftn(input, s, dim, norm)


def ihfftn(input, s=None, dim=None, norm=None):
    """The inverse of hfftn: the conjugate of rfftn with the other scaling."""
    return conj(_rfftn("ihfftn", input, s, dim, norm, forward=False))


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    return ihfftn(input, s, dim, norm)


def fftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Sample frequencies of an n-point fft: [0, 1, ..., (n-1)//2, -(n//2), ..., -1] / (d n)."""
    if dtype is not None and not isinstance(dtype, _dtype_cls):
        raise TypeError("fftfreq(): argument 'dtype' must be torch.dtype, not %s" % type(dtype).__name__)
    dt = dtype or get_default_dtype()
    k = F.cat([arange((n + 1) // 2, dtype=dt, device=device), arange(-(n // 2), 0, dtype=dt, device=device)])
    return F.mul(k, 1.0 / (n * d))


def rfftfreq(n, d=1.0, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """Sample frequencies of an n-point rfft: [0, 1, ..., n//2] / (d n)."""
    dt = dtype or get_default_dtype()
    return F.mul(arange(n // 2 + 1, dtype=dt, device=device), 1.0 / (n * d))


def _shift(input, dim, half):
    dims = list(builtins.range(input.ndim)) if dim is None else \
        [dim] if isinstance(dim, builtins.int) else list(dim)
    dims = [F.wrap_dim(d, input.ndim) for d in dims]
    return roll(input, [half(input.shape[d]) for d in dims], dims)


def fftshift(input, dim=None):
    """Moves the zero frequency to the centre: roll by size // 2 along dim (all dims by default)."""
    return _shift(input, dim, lambda s: s // 2)


def ifftshift(input, dim=None):
    """The inverse of fftshift: roll by (size + 1) // 2."""
    return _shift(input, dim, lambda s: (s + 1) // 2)
