"""torch.distributions.utils: parameter broadcasting, logits/probs conversions, the
lazy_property descriptor and the tril <-> vector helpers the distributions share."""
from functools import update_wrapper
from numbers import Number

import tensord as torch

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant


def broadcast_all(*values):
    """Broadcasts tensors and numbers together; numbers take the dtype of the first tensor
    (the default dtype when there is none)."""
    if not all(isinstance(v, (torch.Tensor, Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    if not all(isinstance(v, torch.Tensor) for v in values):
        dtype = next((v.dtype for v in values if isinstance(v, torch.Tensor)), torch.get_default_dtype())
        values = [v if isinstance(v, torch.Tensor) else torch.tensor(v, dtype=dtype) for v in values]
    return torch.broadcast_tensors(*values)


def _broadcast_params(*values):
    """broadcast_all(*values) and the batch shape of a distribution with those parameters:
    () when every value is a Python number, else the broadcast shape."""
    tensors = broadcast_all(*values)
    if all(isinstance(v, Number) for v in values):
        return tensors, torch.Size()
    return tensors, tensors[0].size()


def _standard_normal(shape, dtype, device=None):
    return torch.empty(shape, dtype=dtype).normal_()


def _clamp_values(x, min=None, max=None):
    """x clamped, with x's gradient everywhere.  torch clamps a detached alias in place;
    here that would bump the version of a tensor the graph saved (DIV saves its result)."""
    return x + (x.clamp(min=min, max=max) - x).detach()


def _set_where(t, mask, value):
    """t with value where mask holds: torch's t[mask] = value, without writing in place into
    a tensor a graph may hold."""
    return torch.where(mask, torch.full_like(t, value), t)


def _sum_rightmost(value, dim):
    """Sums out the dim rightmost dimensions of value."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:-dim]) + (-1,)).sum(-1)


def _bce_with_logits(logits, target):
    """nn.functional.binary_cross_entropy_with_logits(reduction='none'), overflow-safe.
    max(l, 0) is written (l + |l|) / 2 so that the gradient at l = 0 is sigmoid(0) - target,
    as torch's, rather than a one-sided subgradient."""
    abs_logits = logits.abs()
    return (logits + abs_logits) / 2 - logits * target + torch.log1p(torch.exp(-abs_logits))


def logits_to_probs(logits, is_binary=False):
    """Log odds to probabilities (binary: sigmoid), else softmax over the last dimension."""
    if is_binary:
        return torch.sigmoid(logits)
    return torch.softmax(logits, dim=-1)


def clamp_probs(probs):
    eps = torch.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """Probabilities (clamped away from 0 and 1) to logits (binary: log odds)."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return torch.log(ps_clamped) - torch.log1p(-ps_clamped)
    return torch.log(ps_clamped)


class lazy_property:
    """A non-data descriptor computing the attribute on first access (with grad enabled,
    so a parameter derived from a leaf keeps its history), then caching it on the instance."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with torch.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    """Looks like a property to documentation tools and like a lazy_property to
    Distribution's argument validation (which skips parameters not yet computed)."""

    def __init__(self, wrapped):
        property.__init__(self, wrapped)


class _BinaryProbsLogits:
    """Mixed in by the families of Bernoulli trials (Bernoulli, Binomial, Geometric): of
    probs and logits (log odds) one is given, the other computed on first use."""

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)


def _check_probs_or_logits(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def _enumerate_values(values, batch_shape, expand):
    """enumerate_support's result: values along dim 0, then the batch dimensions (of size
    1 unless expand)."""
    values = values.view((-1,) + (1,) * len(batch_shape))
    if expand:
        values = values.expand((-1,) + tuple(batch_shape))
    return values


def _tril_mask(n, diag):
    arange = torch.arange(n)
    return arange < arange.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat, diag=0):
    """The lower-triangular entries of a (batch of) D x D matrix, in row order."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat[..., _tril_mask(n, diag)]


def vec_to_tril_matrix(vec, diag=0):
    """The inverse of tril_matrix_to_vec: a (batch of) lower-triangular D x D matrix."""
    # the positive root of D**2 + (1+2*diag)*D - |diag|*(diag+1) - 2*vec.shape[-1] = 0
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    eps = torch.finfo(vec.dtype).eps
    if round(n) - n > eps:
        raise ValueError(f"The size of last dimension is {vec.shape[-1]} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    mat = vec.new_zeros(tuple(vec.shape[:-1]) + (n, n))
    mat[..., _tril_mask(n, diag)] = vec
    return mat
