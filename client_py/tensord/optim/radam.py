"""RAdam (Adam with the variance rectification term), as torch 1.13's single-tensor
algorithm.  State: 'step' (a float32 0-d tensor), 'exp_avg', 'exp_avg_sq'."""
import math

from .._creation import zeros_like
from .._grad_mode import no_grad
from .._tensor_new import tensor
from .optimizer import Optimizer, _check_betas, _decayed_grad

__all__ = ['RAdam']


class RAdam(Optimizer):
    r"""Implements the RAdam algorithm, as torch.optim.RAdam: the adaptive step is used
    once the approximated SMA length rho_t exceeds 5, plain momentum SGD before."""

    _setstate_group_defaults = (('foreach', None),)
    _setstate_tensor_scalars = ('step',)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None):
        _check_betas(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach)
        super(RAdam, self).__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        return self._step_groups(closure)

    def _step_group(self, group):
        params_with_grad, grads = self._params_with_grad(group, 'RAdam does not support sparse gradients',
                                                         self._init_state)
        states = [self.state[p] for p in params_with_grad]
        beta1, beta2 = group['betas']
        _single_tensor_radam(params_with_grad, grads, [s['exp_avg'] for s in states],
                             [s['exp_avg_sq'] for s in states], self._advance_steps(params_with_grad),
                             beta1=beta1, beta2=beta2, lr=group['lr'], weight_decay=group['weight_decay'],
                             eps=group['eps'])

    def _init_state(self, p, state):
        self._new_scalar_state(p, 'step', tensor(0.0), 0.0)
        state['exp_avg'] = zeros_like(p)
        state['exp_avg_sq'] = zeros_like(p)


def _single_tensor_radam(params, grads, exp_avgs, exp_avg_sqs, steps, *, beta1, beta2, lr,
                         weight_decay, eps):
    """One RAdam update per parameter; steps: each one's step count after this step."""
    for i, param in enumerate(params):
        grad = _decayed_grad(param, grads[i], weight_decay)
        exp_avg = exp_avgs[i]
        exp_avg_sq = exp_avg_sqs[i]
        step = steps[i]

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step

        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

        bias_corrected_exp_avg = exp_avg / bias_correction1

        # the maximum and the current length of the approximated SMA
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2

        if rho_t > 5.:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                             ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive_lr = math.sqrt(bias_correction2) / exp_avg_sq.sqrt().add_(eps)
            param.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
        else:
            param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
