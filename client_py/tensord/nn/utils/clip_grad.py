"""Gradient clipping (torch.nn.utils.clip_grad): the total norm of the gradients scaled
down to max_norm, or each gradient clamped; in place, outside autograd."""
import math
import warnings

from ... import _grad_mode
from ..._tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_"]


def _pkg():
    import tensord
    return tensord


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scales the gradients so that their joint norm is at most max_norm; returns that
    total norm (before clipping), a 0-d tensor."""
    t = _pkg()
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    max_norm, norm_type = float(max_norm), float(norm_type)
    if len(grads) == 0:
        return t.tensor(0.0)
    with _grad_mode.no_grad():
        if norm_type == math.inf:
            norms = [g.detach().abs().max() for g in grads]
            total_norm = norms[0] if len(norms) == 1 else t.max(t.stack(norms))
        else:
            total_norm = t.norm(t.stack([t.norm(g.detach(), norm_type) for g in grads]), norm_type)
        if error_if_nonfinite and bool(t.logical_or(total_norm.isnan(), total_norm.isinf())):
            raise RuntimeError("The total norm of order %s for gradients from `parameters` is non-finite, so it "
                               "cannot be clipped. To disable this error and scale the gradients by the non-finite "
                               "norm anyway, set `error_if_nonfinite=False`" % norm_type)
        clip_coef_clamped = t.clamp(max_norm / (total_norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(clip_coef_clamped.to(g.dtype))
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
