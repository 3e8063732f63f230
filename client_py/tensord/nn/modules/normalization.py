"""LayerNorm and GroupNorm (affine parameters initialized to ones and zeros), and the
local response normalizations over neighbouring channels (LocalResponseNorm, the legacy
CrossMapLRN2d)."""
import numbers

from ..._creation import empty
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["LayerNorm", "GroupNorm", "LocalResponseNorm", "CrossMapLRN2d", "RMSNorm"]


class _ShapeNorm(Module):
    """What LayerNorm and RMSNorm share: the normalized trailing shape, eps and the
    elementwise affine parameters (a weight of ones; LayerNorm's bias of zeros)."""

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]

    def __init__(self, normalized_shape, eps, elementwise_affine, with_bias, dtype):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        names = ["weight", "bias"] if with_bias else ["weight"]
        for name in names:
            if self.elementwise_affine:
                setattr(self, name, Parameter(empty(self.normalized_shape, dtype=dtype)))
            else:
                self.register_parameter(name, None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)
            if getattr(self, "bias", None) is not None:
                init.zeros_(self.bias)

    def extra_repr(self):
        return "{normalized_shape}, eps={eps}, elementwise_affine={elementwise_affine}".format(**self.__dict__)


class LayerNorm(_ShapeNorm):
    r"""Normalizes over the last dims (normalized_shape), with an elementwise affine map."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, device=None, dtype=None):
        super().__init__(normalized_shape, eps, elementwise_affine, True, dtype)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)


class RMSNorm(_ShapeNorm):
    r"""torch 2.4's RMSNorm: divides by the root mean square over the last dims
    (normalized_shape), with an elementwise scale (ones at first)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__(normalized_shape, eps, elementwise_affine, False, dtype)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)


class GroupNorm(Module):
    r"""Normalizes over groups of channels, with a per-channel affine map."""

    __constants__ = ["num_groups", "num_channels", "eps", "affine"]

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if self.affine:
            self.weight = Parameter(empty(num_channels, dtype=dtype))
            self.bias = Parameter(empty(num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return "{num_groups}, {num_channels}, eps={eps}, affine={affine}".format(**self.__dict__)


class _LRNBase(Module):
    __constants__ = ["size", "alpha", "beta", "k"]

    def __init__(self, size, alpha, beta, k):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def extra_repr(self):
        return "{size}, alpha={alpha}, beta={beta}, k={k}".format(**self.__dict__)


class LocalResponseNorm(_LRNBase):
    r"""Each channel divided by (k + alpha * mean of squares over `size` neighbouring
    channels) ** beta."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__(size, alpha, beta, k)

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)


def _lrn_windows(channels, size):
    """torch's legacy CrossMapLRN2d windows as a (C, C) 0/1 matrix: channel c sums the
    squares of channels max(0, c-p+1)..c+p-1 (p = (size-1)//2 + 1), and channel 0's too once
    the window has left it (its running sum never subtracts channel 0)."""
    import numpy as np
    p = int((size - 1) / 2 + 1)
    m = np.zeros((channels, channels))
    for c in range(channels):
        hi = min(c + p - 1, channels - 1)
        lo = c - p + 1 if c > p else 0
        m[c, lo:hi + 1] = 1
        m[c, 0] = 1
    return m


class CrossMapLRN2d(_LRNBase):
    r"""The legacy cross-channel LRN of (N, C, H, W) input: x * (k + alpha/size * sum of
    squares over a channel window) ** -beta, with torch's window (see _lrn_windows).  The
    gradient is this forward's exact one (torch's legacy backward assumes a centred window,
    so its gradients differ near channel 0)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__(size, alpha, beta, k)

    def forward(self, input):
        from ... import from_numpy
        if input.ndim != 4:
            # torch 1.13 asserts here (an AssertionError), without a message
            raise AssertionError("CrossMapLRN2d: Expected input to be 4D, got {}D instead.".format(input.ndim))
        n, c, h, w = input.shape
        m = from_numpy(_lrn_windows(c, self.size)).to(dtype=input.dtype, device=input.device)
        sums = m.matmul(input.mul(input).reshape(n, c, h * w)).reshape(n, c, h, w)
        return input * sums.mul(self.alpha / self.size).add(self.k).pow(-self.beta)
