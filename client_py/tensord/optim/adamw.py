"""AdamW (Adam with decoupled weight decay, optionally amsgrad), as torch 1.13's
single-tensor algorithm.  State as Adam's: 'step', 'exp_avg', 'exp_avg_sq',
'max_exp_avg_sq' (amsgrad)."""
import math

from .._complex import view_as_real
from .._grad_mode import enable_grad, no_grad
from .._records import maximum
from .adam import _adam_group, _check_betas, _gather_adam_group, _steps_as_tensors
from .optimizer import Optimizer

__all__ = ['AdamW']


class AdamW(Optimizer):
    r"""Implements the AdamW algorithm, as torch.optim.AdamW: the parameter decays by
    lr * weight_decay before the Adam update, instead of the gradient taking an L2 term."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=1e-2, amsgrad=False, *, maximize=False,
                 foreach=None, capturable=False):
        _check_betas(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad,
                        foreach=foreach, maximize=maximize, capturable=capturable)
        super(AdamW, self).__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault('amsgrad', False)
            group.setdefault('maximize', False)
            group.setdefault('foreach', None)
            group.setdefault('capturable', False)
        _steps_as_tensors(self)

    @no_grad()
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()

        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs = _gather_adam_group(
                self, group, 'AdamW does not support sparse gradients')
            beta1, beta2 = group['betas']
            _adam_group(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, self._advance_steps(params),
                        _single_tensor_adamw, group, decoupled=True, amsgrad=group['amsgrad'], beta1=beta1,
                        beta2=beta2, lr=group['lr'], weight_decay=group['weight_decay'], eps=group['eps'],
                        maximize=group['maximize'])
        return loss


def _single_tensor_adamw(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, *,
                         amsgrad, beta1, beta2, lr, weight_decay, eps, maximize):
    """One AdamW update per parameter; steps: each one's step count after this step."""
    for i, param in enumerate(params):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg = exp_avgs[i]
        exp_avg_sq = exp_avg_sqs[i]
        step = steps[i]

        if param.is_complex():
            grad = view_as_real(grad)
            exp_avg = view_as_real(exp_avg)
            exp_avg_sq = view_as_real(exp_avg_sq)
            param = view_as_real(param)

        param.mul_(1 - lr * weight_decay)

        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = math.sqrt(bias_correction2)

        if amsgrad:
            maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])
            denom = (max_exp_avg_sqs[i].sqrt() / bias_correction2_sqrt).add_(eps)
        else:
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)

        param.addcdiv_(exp_avg, denom, value=-step_size)
