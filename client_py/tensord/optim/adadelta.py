"""Adadelta (weight decay, maximize), as torch 1.13's single-tensor algorithm.  State:
'step' (a Python int, as torch's), 'square_avg', 'acc_delta'."""
from .._complex import view_as_complex, view_as_real
from .._creation import zeros_like
from .._grad_mode import no_grad
from .optimizer import Optimizer, _check_nonnegative, _decayed_grad

__all__ = ['Adadelta']


class Adadelta(Optimizer):
    r"""Implements the Adadelta algorithm, as torch.optim.Adadelta:
    square_avg = rho * square_avg + (1 - rho) * g^2,
    delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g,
    acc_delta = rho * acc_delta + (1 - rho) * delta^2, p -= lr * delta."""

    _setstate_group_defaults = (('foreach', None), ('maximize', False))

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 maximize=False):
        _check_nonnegative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError("Invalid rho value: {}".format(rho))
        _check_nonnegative(eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach)
        super(Adadelta, self).__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        return self._step_groups(closure)

    def _step_group(self, group):
        params_with_grad, grads = self._params_with_grad(group, 'Adadelta does not support sparse gradients',
                                                         _init_adadelta_state)
        states = [self.state[p] for p in params_with_grad]
        for state in states:
            state['step'] += 1

        _single_tensor_adadelta(params_with_grad, grads, [s['square_avg'] for s in states],
                                [s['acc_delta'] for s in states], lr=group['lr'], rho=group['rho'],
                                eps=group['eps'], weight_decay=group['weight_decay'],
                                maximize=group['maximize'])


def _init_adadelta_state(p, state):
    state['step'] = 0
    state['square_avg'] = zeros_like(p)
    state['acc_delta'] = zeros_like(p)


def _single_tensor_adadelta(params, grads, square_avgs, acc_deltas, *, lr, rho, eps,
                            weight_decay, maximize):
    """One Adadelta update per parameter."""
    for param, grad, square_avg, acc_delta in zip(params, grads, square_avgs, acc_deltas):
        grad = _decayed_grad(param, grad, weight_decay, maximize)

        is_complex_param = param.is_complex()
        if is_complex_param:
            square_avg = view_as_real(square_avg)
            acc_delta = view_as_real(acc_delta)
            grad = view_as_real(grad)

        square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        std = square_avg.add(eps).sqrt_()
        delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
        acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        if is_complex_param:
            delta = view_as_complex(delta)
        param.add_(delta, alpha=-lr)
