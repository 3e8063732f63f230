"""AdamW (Adam with decoupled weight decay, optionally amsgrad), as torch 1.13's
single-tensor algorithm.  State as Adam's: 'step', 'exp_avg', 'exp_avg_sq',
'max_exp_avg_sq' (amsgrad)."""
from .._grad_mode import no_grad
from .adam import _adam_step_group, _adam_update
from .optimizer import Optimizer, _check_betas, _no_differentiable

__all__ = ['AdamW']


class AdamW(Optimizer):
    r"""Implements the AdamW algorithm, as torch.optim.AdamW: the parameter decays by
    lr * weight_decay before the Adam update, instead of the gradient taking an L2 term."""

    _setstate_group_defaults = (('amsgrad', False), ('maximize', False), ('foreach', None),
                                ('capturable', False))
    _setstate_tensor_scalars = ('step',)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=1e-2, amsgrad=False, *, maximize=False,
                 foreach=None, capturable=False, differentiable=False, fused=None):
        _check_betas(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad,
                        foreach=foreach, maximize=maximize, capturable=capturable)
        _no_differentiable(differentiable)
        if fused is not None:  # torch 2.x's flag: the daemon's step is fused whatever it says
            defaults["fused"] = fused
        super(AdamW, self).__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        return self._step_groups(closure)

    def _step_group(self, group):
        _adam_step_group(self, group, 'AdamW does not support sparse gradients', _single_tensor_adamw,
                         decoupled=True)


def _single_tensor_adamw(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, *,
                         amsgrad, beta1, beta2, lr, weight_decay, eps, maximize):
    """One AdamW update per parameter; steps: each one's step count after this step."""
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        _adam_update(param, grad, exp_avgs[i], exp_avg_sqs[i], max_exp_avg_sqs[i] if amsgrad else None,
                     steps[i], beta1=beta1, beta2=beta2, lr=lr, eps=eps, decay=1 - lr * weight_decay)
