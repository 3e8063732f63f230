"""ASGD (averaged SGD; weight decay, maximize), as torch 1.13's single-tensor algorithm.
State: 'step', 'eta' (the decayed learning rate), 'mu' (the averaging rate), each a
float32 0-d tensor mirrored on the host, and 'ax' (the running average of the parameter)."""
import math
import struct

from .._complex import view_as_real
from .._creation import zeros_like
from .._grad_mode import no_grad
from .._tensor_new import tensor
from .optimizer import Optimizer, _check_nonnegative, _decayed_grad

__all__ = ['ASGD']


def _f32(v):
    """v as torch's float32 0-d state tensors hold it."""
    return struct.unpack('f', struct.pack('f', v))[0]


class ASGD(Optimizer):
    r"""Implements Averaged Stochastic Gradient Descent, as torch.optim.ASGD:
    p = p * (1 - lambd * eta) - eta * g; ax averages p from step t0 on;
    eta = lr / (1 + lambd * lr * t) ** alpha, mu = 1 / max(1, t - t0)."""

    _setstate_group_defaults = (('foreach', None), ('maximize', False))
    _setstate_tensor_scalars = ('step', 'eta', 'mu')

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False):
        _check_nonnegative(lr=lr, weight_decay=weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super(ASGD, self).__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        return self._step_groups(closure)

    def _init_state(self, group):
        def init(p, state):
            self._new_scalar_state(p, 'step', tensor(0.0), 0.0)
            self._new_scalar_state(p, 'eta', tensor(group['lr']), _f32(group['lr']))
            self._new_scalar_state(p, 'mu', tensor(1.0), 1.0)
            state['ax'] = zeros_like(p)
        return init

    def _step_group(self, group):
        params, grads = self._params_with_grad(group, 'ASGD does not support sparse gradients',
                                               self._init_state(group))
        steps = self._advance_steps(params)
        lambd, lr, t0, alpha = group['lambd'], group['lr'], group['t0'], group['alpha']
        for p, g, step in zip(params, grads, steps):
            eta, mu = self._scalar_state(p, 'eta'), self._scalar_state(p, 'mu')
            ax = self.state[p]['ax']
            grad = _decayed_grad(p, g, group['weight_decay'], group['maximize'])
            param = p
            if p.is_complex():
                param, grad, ax = view_as_real(p), view_as_real(grad), view_as_real(ax)
            param.mul_(1 - lambd * eta)
            param.add_(grad, alpha=-eta)
            if mu != 1:
                ax.add_(param.sub(ax).mul(mu))
            else:
                ax.copy_(param)
            # torch keeps eta and mu as float32 tensors: round as it does
            self._set_scalar_state(p, 'eta', _f32(lr / math.pow(1 + lambd * lr * step, alpha)))
            self._set_scalar_state(p, 'mu', _f32(1 / max(1, step - t0)))
