"""Gradient clipping (torch.nn.utils.clip_grad): the total norm of the gradients scaled
down to max_norm, or each gradient clamped; in place, outside autograd."""
import math
import warnings

from ... import _grad_mode
from ..._tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _pkg():
    import tensord
    return tensord


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """torch 2.6's: the norm of the tensors taken together (a 0-d tensor; 0 for none)."""
    t = _pkg()
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = [x for x in tensors if x is not None]
    norm_type = float(norm_type)
    if len(tensors) == 0:
        return t.tensor(0.0)
    with _grad_mode.no_grad():
        if norm_type == math.inf:
            norms = [x.detach().abs().max() for x in tensors]
            total_norm = norms[0] if len(norms) == 1 else t.max(t.stack(norms))
        else:
            total_norm = t.norm(t.stack([t.norm(x.detach(), norm_type) for x in tensors]), norm_type)
        if error_if_nonfinite and bool(t.logical_or(total_norm.isnan(), total_norm.isinf())):
            raise RuntimeError("The total norm of order %s for gradients from `parameters` is non-finite, so it "
                               "cannot be clipped. To disable this error and scale the gradients by the non-finite "
                               "norm anyway, set `error_if_nonfinite=False`" % norm_type)
    return total_norm


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """torch 2.6's: scales the gradients by max_norm / (total_norm + 1e-6) when that is
    below 1."""
    t = _pkg()
    grads = _grads(parameters)
    if not grads:
        return
    with _grad_mode.no_grad():
        clip_coef_clamped = t.clamp(float(max_norm) / (total_norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(clip_coef_clamped.to(g.dtype))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scales the gradients so that their joint norm is at most max_norm; returns that
    total norm (before clipping), a 0-d tensor."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    parameters = list(parameters)
    total_norm = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total_norm)
    return total_norm


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    warnings.warn("torch.nn.utils.clip_grad_norm is now deprecated in favor of torch.nn.utils.clip_grad_norm_.",
                  stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)


def clip_grad_value_(parameters, clip_value):
    """Clamps every gradient to [-clip_value, clip_value] in place."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    clip_value = float(clip_value)
    with _grad_mode.no_grad():
        for p in filter(lambda p: p.grad is not None, parameters):
            p.grad.clamp_(min=-clip_value, max=clip_value)
