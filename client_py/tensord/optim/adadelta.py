"""Adadelta (weight decay, maximize), as torch 1.13's single-tensor algorithm.  State:
'step' (a Python int, as torch's), 'square_avg', 'acc_delta'."""
from .._complex import view_as_complex, view_as_real
from .._creation import zeros_like
from .._grad_mode import enable_grad, no_grad
from .optimizer import Optimizer

__all__ = ['Adadelta']


class Adadelta(Optimizer):
    r"""Implements the Adadelta algorithm, as torch.optim.Adadelta:
    square_avg = rho * square_avg + (1 - rho) * g^2,
    delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g,
    acc_delta = rho * acc_delta + (1 - rho) * delta^2, p -= lr * delta."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 maximize=False):
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if not 0.0 <= rho <= 1.0:
            raise ValueError("Invalid rho value: {}".format(rho))
        if not 0.0 <= eps:
            raise ValueError("Invalid epsilon value: {}".format(eps))
        if not 0.0 <= weight_decay:
            raise ValueError("Invalid weight_decay value: {}".format(weight_decay))
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach)
        super(Adadelta, self).__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault('foreach', None)
            group.setdefault('maximize', False)

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
            square_avgs = []
            acc_deltas = []
            for p in group['params']:
                if p.grad is None:
                    continue
                params_with_grad.append(p)
                if p.grad.is_sparse:
                    raise RuntimeError('Adadelta does not support sparse gradients')
                grads.append(p.grad)
                state = self.state[p]
                if len(state) == 0:
                    state['step'] = 0
                    state['square_avg'] = zeros_like(p)
                    state['acc_delta'] = zeros_like(p)
                square_avgs.append(state['square_avg'])
                acc_deltas.append(state['acc_delta'])
                state['step'] += 1

            _single_tensor_adadelta(params_with_grad, grads, square_avgs, acc_deltas,
                                    lr=group['lr'], rho=group['rho'], eps=group['eps'],
                                    weight_decay=group['weight_decay'], maximize=group['maximize'])
        return loss


def _single_tensor_adadelta(params, grads, square_avgs, acc_deltas, *, lr, rho, eps,
                            weight_decay, maximize):
    """One Adadelta update per parameter."""
    for param, grad, square_avg, acc_delta in zip(params, grads, square_avgs, acc_deltas):
        grad = grad if not maximize else -grad
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)

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
