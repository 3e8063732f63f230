"""RMSprop (optionally centered, with momentum, weight decay and maximize), as torch
1.13's single-tensor algorithm.  State: 'step' (a Python int, as torch's), 'square_avg',
'momentum_buffer' (momentum > 0), 'grad_avg' (centered)."""
from .._complex import view_as_real
from .._creation import zeros_like
from .optimizer import Optimizer, _check_nonnegative, _decayed_grad, _no_differentiable, _use_grad_for_differentiable

__all__ = ['RMSprop']


class RMSprop(Optimizer):
    r"""Implements RMSprop, as torch.optim.RMSprop: square_avg = alpha * square_avg +
    (1 - alpha) * g^2, p -= lr * g / (sqrt(square_avg) + eps) (centered: the variance
    square_avg - grad_avg^2 replaces square_avg; momentum: a buffer of those updates)."""

    _setstate_group_defaults = (('momentum', 0), ('centered', False), ('foreach', None),
                                ('maximize', False), ('differentiable', False))

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, foreach=None, maximize=False, differentiable=False):
        _check_nonnegative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super(RMSprop, self).__init__(params, defaults)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        return self._step_groups(closure)

    def _step_group(self, group):
        momentum, centered = group['momentum'], group['centered']

        def init_state(p, state):
            state['step'] = 0
            state['square_avg'] = zeros_like(p)
            if momentum > 0:
                state['momentum_buffer'] = zeros_like(p)
            if centered:
                state['grad_avg'] = zeros_like(p)

        params_with_grad, grads = self._params_with_grad(group, 'RMSprop does not support sparse gradients',
                                                         init_state)
        states = [self.state[p] for p in params_with_grad]
        for state in states:
            state['step'] += 1

        _single_tensor_rmsprop(params_with_grad, grads, [s['square_avg'] for s in states],
                               [s['grad_avg'] for s in states] if centered else [],
                               [s['momentum_buffer'] for s in states] if momentum > 0 else [],
                               lr=group['lr'], alpha=group['alpha'], eps=group['eps'],
                               weight_decay=group['weight_decay'], momentum=momentum,
                               centered=centered, maximize=group['maximize'])


def _single_tensor_rmsprop(params, grads, square_avgs, grad_avgs, momentum_buffer_list, *,
                           lr, alpha, eps, weight_decay, momentum, centered, maximize):
    """One RMSprop update per parameter."""
    for i, param in enumerate(params):
        grad = _decayed_grad(param, grads[i], weight_decay, maximize)
        square_avg = square_avgs[i]

        is_complex_param = param.is_complex()
        if is_complex_param:
            param = view_as_real(param)
            grad = view_as_real(grad)
            square_avg = view_as_real(square_avg)

        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)

        if centered:
            grad_avg = grad_avgs[i]
            if is_complex_param:
                grad_avg = view_as_real(grad_avg)
            grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha)
            avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(eps)

        if momentum > 0:
            buf = momentum_buffer_list[i]
            if is_complex_param:
                buf = view_as_real(buf)
            buf.mul_(momentum).addcdiv_(grad, avg)
            param.add_(buf, alpha=-lr)
        else:
            param.addcdiv_(grad, avg, value=-lr)
