"""Adagrad (learning-rate decay, initial accumulator value, weight decay, maximize), as
torch 1.13's single-tensor algorithm for dense gradients.  State, created for every
parameter at construction as torch does: 'step' (a float32 0-d tensor) and 'sum'."""
from .._complex import view_as_real
from .._creation import full_like
from .._grad_mode import no_grad
from .._tensor_new import tensor
from .optimizer import Optimizer, _check_nonnegative, _decayed_grad

__all__ = ['Adagrad']


class Adagrad(Optimizer):
    r"""Implements the Adagrad algorithm, as torch.optim.Adagrad: sum += g^2,
    p -= clr * g / (sqrt(sum) + eps) with clr = lr / (1 + (step - 1) * lr_decay)."""

    _setstate_group_defaults = (('foreach', None), ('maximize', False))
    _setstate_tensor_scalars = ('step',)

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False):
        _check_nonnegative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        foreach=foreach, maximize=maximize)
        super(Adagrad, self).__init__(params, defaults)

        for group in self.param_groups:
            for p in group['params']:
                self._new_scalar_state(p, 'step', tensor(0.0), 0.0)
                init_value = complex(initial_accumulator_value, initial_accumulator_value) \
                    if p.is_complex() else initial_accumulator_value
                self.state[p]['sum'] = full_like(p, init_value)

    def share_memory(self):
        """A no-op kept for torch's API: the state already lives in the daemon."""
        for group in self.param_groups:
            for p in group['params']:
                self.state[p]['sum'].share_memory_()

    @no_grad()
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        return self._step_groups(closure)

    def _step_group(self, group):
        params_with_grad, grads = self._params_with_grad(group)
        _single_tensor_adagrad(params_with_grad, grads, [self.state[p]['sum'] for p in params_with_grad],
                               self._advance_steps(params_with_grad), lr=group['lr'],
                               weight_decay=group['weight_decay'], lr_decay=group['lr_decay'],
                               eps=group['eps'], maximize=group['maximize'])


def _single_tensor_adagrad(params, grads, state_sums, steps, *, lr, weight_decay, lr_decay, eps,
                           maximize):
    """One Adagrad update per parameter; steps: each one's step count after this step."""
    for param, grad, state_sum, step in zip(params, grads, state_sums, steps):
        grad = _decayed_grad(param, grad, weight_decay, maximize)

        clr = lr / (1 + (step - 1) * lr_decay)

        if param.is_complex():
            grad = view_as_real(grad)
            state_sum = view_as_real(state_sum)
            param = view_as_real(param)
        state_sum.addcmul_(grad, grad, value=1)
        std = state_sum.sqrt().add_(eps)
        param.addcdiv_(grad, std, value=-clr)
