"""Adamax (Adam with the infinity norm; weight decay, maximize), as torch 1.13's
single-tensor algorithm.  State: 'step' (a float32 0-d tensor), 'exp_avg', 'exp_inf'."""
from .._complex import view_as_real
from .._creation import zeros_like
from .._grad_mode import no_grad
from .._records import maximum
from .._tensor_new import tensor
from .optimizer import Optimizer, _check_betas, _decayed_grad

__all__ = ['Adamax']


class Adamax(Optimizer):
    r"""Implements the Adamax algorithm, as torch.optim.Adamax:
    exp_inf = max(beta2 * exp_inf, |g| + eps), p -= lr / (1 - beta1^t) * exp_avg / exp_inf."""

    _setstate_group_defaults = (('foreach', None), ('maximize', False))
    _setstate_tensor_scalars = ('step',)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False):
        _check_betas(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super(Adamax, self).__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        return self._step_groups(closure)

    def _step_group(self, group):
        params_with_grad, grads = self._params_with_grad(group, 'Adamax does not support sparse gradients',
                                                         self._init_state)
        states = [self.state[p] for p in params_with_grad]
        beta1, beta2 = group['betas']
        _single_tensor_adamax(params_with_grad, grads, [s['exp_avg'] for s in states],
                              [s['exp_inf'] for s in states], self._advance_steps(params_with_grad),
                              eps=group['eps'], beta1=beta1, beta2=beta2, lr=group['lr'],
                              weight_decay=group['weight_decay'], maximize=group['maximize'])

    def _init_state(self, p, state):
        self._new_scalar_state(p, 'step', tensor(0.0), 0.0)
        state['exp_avg'] = zeros_like(p)
        state['exp_inf'] = zeros_like(p)


def _single_tensor_adamax(params, grads, exp_avgs, exp_infs, steps, *, eps, beta1, beta2, lr,
                          weight_decay, maximize):
    """One Adamax update per parameter; steps: each one's step count after this step."""
    for i, param in enumerate(params):
        grad = _decayed_grad(param, grads[i], weight_decay, maximize)
        exp_avg = exp_avgs[i]
        exp_inf = exp_infs[i]
        step = steps[i]

        if param.is_complex():
            param = view_as_real(param)
            grad = view_as_real(grad)
            exp_avg = view_as_real(exp_avg)
            exp_inf = view_as_real(exp_inf)

        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        # torch takes amax over cat([beta2 * exp_inf, |g| + eps]): the same elementwise
        # maximum (NaN included), without the stacked copy
        maximum(exp_inf.mul_(beta2), grad.abs().add_(eps), out=exp_inf)

        bias_correction = 1 - beta1 ** step
        clr = lr / bias_correction
        param.addcdiv_(exp_avg, exp_inf, value=-clr)
