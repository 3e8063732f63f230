"""RMSprop (optionally centered, with momentum, weight decay and maximize), as torch
1.13's single-tensor algorithm.  State: 'step' (a Python int, as torch's), 'square_avg',
'momentum_buffer' (momentum > 0), 'grad_avg' (centered)."""
from .._complex import view_as_real
from .._creation import zeros_like
from .._grad_mode import enable_grad
from .optimizer import Optimizer, _no_differentiable, _use_grad_for_differentiable

__all__ = ['RMSprop']


class RMSprop(Optimizer):
    r"""Implements RMSprop, as torch.optim.RMSprop: square_avg = alpha * square_avg +
    (1 - alpha) * g^2, p -= lr * g / (sqrt(square_avg) + eps) (centered: the variance
    square_avg - grad_avg^2 replaces square_avg; momentum: a buffer of those updates)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, foreach=None, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if not 0.0 <= eps:
            raise ValueError("Invalid epsilon value: {}".format(eps))
        if not 0.0 <= momentum:
            raise ValueError("Invalid momentum value: {}".format(momentum))
        if not 0.0 <= weight_decay:
            raise ValueError("Invalid weight_decay value: {}".format(weight_decay))
        if not 0.0 <= alpha:
            raise ValueError("Invalid alpha value: {}".format(alpha))
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super(RMSprop, self).__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault('momentum', 0)
            group.setdefault('centered', False)
            group.setdefault('foreach', None)
            group.setdefault('maximize', False)
            group.setdefault('differentiable', False)

    @_use_grad_for_differentiable
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
            square_avgs = []
            grad_avgs = []
            momentum_buffer_list = []
            for p in group['params']:
                if p.grad is None:
                    continue
                params_with_grad.append(p)
                if p.grad.is_sparse:
                    raise RuntimeError('RMSprop does not support sparse gradients')
                grads.append(p.grad)
                state = self.state[p]
                if len(state) == 0:
                    state['step'] = 0
                    state['square_avg'] = zeros_like(p)
                    if group['momentum'] > 0:
                        state['momentum_buffer'] = zeros_like(p)
                    if group['centered']:
                        state['grad_avg'] = zeros_like(p)
                square_avgs.append(state['square_avg'])
                if group['momentum'] > 0:
                    momentum_buffer_list.append(state['momentum_buffer'])
                if group['centered']:
                    grad_avgs.append(state['grad_avg'])
                state['step'] += 1

            _single_tensor_rmsprop(params_with_grad, grads, square_avgs, grad_avgs,
                                   momentum_buffer_list, lr=group['lr'], alpha=group['alpha'],
                                   eps=group['eps'], weight_decay=group['weight_decay'],
                                   momentum=group['momentum'], centered=group['centered'],
                                   maximize=group['maximize'])
        return loss


def _single_tensor_rmsprop(params, grads, square_avgs, grad_avgs, momentum_buffer_list, *,
                           lr, alpha, eps, weight_decay, momentum, centered, maximize):
    """One RMSprop update per parameter."""
    for i, param in enumerate(params):
        grad = grads[i]
        grad = grad if not maximize else -grad
        square_avg = square_avgs[i]

        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)

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
