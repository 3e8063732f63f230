"""Adagrad (learning-rate decay, initial accumulator value, weight decay, maximize), as
torch 1.13's single-tensor algorithm for dense gradients.  State, created for every
parameter at construction as torch does: 'step' (a float32 0-d tensor) and 'sum'."""
from .._complex import view_as_real
from .._creation import full_like
from .._grad_mode import enable_grad, no_grad
from .._tensor import Tensor
from .._tensor_new import tensor
from .optimizer import Optimizer

__all__ = ['Adagrad']


class Adagrad(Optimizer):
    r"""Implements the Adagrad algorithm, as torch.optim.Adagrad: sum += g^2,
    p -= clr * g / (sqrt(sum) + eps) with clr = lr / (1 + (step - 1) * lr_decay)."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False):
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if not 0.0 <= lr_decay:
            raise ValueError("Invalid lr_decay value: {}".format(lr_decay))
        if not 0.0 <= weight_decay:
            raise ValueError("Invalid weight_decay value: {}".format(weight_decay))
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: {}".format(initial_accumulator_value))
        if not 0.0 <= eps:
            raise ValueError("Invalid epsilon value: {}".format(eps))
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

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault('foreach', None)
            group.setdefault('maximize', False)
        state_values = list(self.state.values())
        step_is_tensor = len(state_values) != 0 and isinstance(state_values[0]['step'], Tensor)
        if not step_is_tensor:
            for s in state_values:
                s['step'] = tensor(float(s['step']))

    def share_memory(self):
        """A no-op kept for torch's API: the state already lives in the daemon."""
        for group in self.param_groups:
            for p in group['params']:
                self.state[p]['sum'].share_memory_()

    @no_grad()
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()

        for group in self.param_groups:
            params_with_grad = []
            grads = []
            state_sums = []
            for p in group['params']:
                if p.grad is not None:
                    params_with_grad.append(p)
                    grads.append(p.grad)
                    state_sums.append(self.state[p]['sum'])

            _single_tensor_adagrad(params_with_grad, grads, state_sums,
                                   self._advance_steps(params_with_grad), lr=group['lr'],
                                   weight_decay=group['weight_decay'], lr_decay=group['lr_decay'],
                                   eps=group['eps'], maximize=group['maximize'])
        return loss


def _single_tensor_adagrad(params, grads, state_sums, steps, *, lr, weight_decay, lr_decay, eps,
                           maximize):
    """One Adagrad update per parameter; steps: each one's step count after this step."""
    for param, grad, state_sum, step in zip(params, grads, state_sums, steps):
        grad = grad if not maximize else -grad

        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)

        clr = lr / (1 + (step - 1) * lr_decay)

        if param.is_complex():
            grad = view_as_real(grad)
            state_sum = view_as_real(state_sum)
            param = view_as_real(param)
        state_sum.addcmul_(grad, grad, value=1)
        std = state_sum.sqrt().add_(eps)
        param.addcdiv_(grad, std, value=-clr)
