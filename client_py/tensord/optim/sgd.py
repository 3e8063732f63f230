"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize, as torch
1.13's single-tensor algorithm.  State: 'momentum_buffer' (None while momentum is 0)."""
from .._grad_mode import enable_grad
from .optimizer import Optimizer, _no_differentiable, _use_grad_for_differentiable, required

__all__ = ['SGD']


class SGD(Optimizer):
    r"""Implements stochastic gradient descent (optionally with momentum), as torch.optim.SGD.

    The momentum buffer starts as the first gradient: b_1 = g_1, then
    b_t = momentum * b_{t-1} + (1 - dampening) * g_t, and p -= lr * b_t (Nesterov:
    p -= lr * (g_t + momentum * b_t)).
    """

    def __init__(self, params, lr=required, momentum=0, dampening=0,
                 weight_decay=0, nesterov=False, *, maximize=False, foreach=None,
                 differentiable=False):
        if lr is not required and lr < 0.0:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if momentum < 0.0:
            raise ValueError("Invalid momentum value: {}".format(momentum))
        if weight_decay < 0.0:
            raise ValueError("Invalid weight_decay value: {}".format(weight_decay))
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach,
                        differentiable=differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super(SGD, self).__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault('nesterov', False)
            group.setdefault('maximize', False)
            group.setdefault('foreach', None)
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
            d_p_list = []
            momentum_buffer_list = []
            for p in group['params']:
                if p.grad is not None:
                    params_with_grad.append(p)
                    d_p_list.append(p.grad)
                    momentum_buffer_list.append(self.state[p].get('momentum_buffer'))

            _single_tensor_sgd(params_with_grad, d_p_list, momentum_buffer_list,
                               weight_decay=group['weight_decay'], momentum=group['momentum'],
                               lr=group['lr'], dampening=group['dampening'],
                               nesterov=group['nesterov'], maximize=group['maximize'])

            for p, momentum_buffer in zip(params_with_grad, momentum_buffer_list):
                self.state[p]['momentum_buffer'] = momentum_buffer
        return loss


def _single_tensor_sgd(params, d_p_list, momentum_buffer_list, *, weight_decay, momentum, lr,
                       dampening, nesterov, maximize):
    """One SGD update per parameter; momentum_buffer_list is updated in place (a None
    entry becomes the new buffer)."""
    for i, param in enumerate(params):
        d_p = d_p_list[i] if not maximize else -d_p_list[i]
        if weight_decay != 0:
            d_p = d_p.add(param, alpha=weight_decay)
        if momentum != 0:
            buf = momentum_buffer_list[i]
            if buf is None:
                buf = d_p.clone().detach()
                momentum_buffer_list[i] = buf
            else:
                buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
            if nesterov:
                d_p = d_p.add(buf, alpha=momentum)
            else:
                d_p = buf
        param.add_(d_p, alpha=-lr)
