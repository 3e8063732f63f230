"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize, as torch
1.13's single-tensor algorithm.  State: 'momentum_buffer' (None while momentum is 0)."""
from .._creation import empty_like
from . import _fused
from .optimizer import Optimizer, _decayed_grad, _no_differentiable, _use_grad_for_differentiable, required

__all__ = ['SGD']


class SGD(Optimizer):
    r"""Implements stochastic gradient descent (optionally with momentum), as torch.optim.SGD.

    The momentum buffer starts as the first gradient: b_1 = g_1, then
    b_t = momentum * b_{t-1} + (1 - dampening) * g_t, and p -= lr * b_t (Nesterov:
    p -= lr * (g_t + momentum * b_t)).
    """

    _setstate_group_defaults = (('nesterov', False), ('maximize', False), ('foreach', None),
                                ('differentiable', False))

    def __init__(self, params, lr=required, momentum=0, dampening=0,
                 weight_decay=0, nesterov=False, *, maximize=False, foreach=None,
                 differentiable=False, fused=None):
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
        if fused is not None:  # torch 2.x's flag: the daemon's step is fused whatever it says
            defaults["fused"] = fused
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super(SGD, self).__init__(params, defaults)

    # what its records take from each group: a traced step (tensord.jit) is captured again
    # when one changes (a scheduler's lr); the step itself keeps no count
    _graph_options = ('lr', 'momentum', 'dampening', 'weight_decay', 'nesterov', 'maximize')

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        return self._step_groups(closure)

    def _step_group(self, group):
        params_with_grad, d_p_list = self._params_with_grad(group)
        momentum_buffer_list = [self.state[p].get('momentum_buffer') for p in params_with_grad]

        _sgd_group(params_with_grad, d_p_list, momentum_buffer_list, group,
                   weight_decay=group['weight_decay'], momentum=group['momentum'],
                   lr=group['lr'], dampening=group['dampening'],
                   nesterov=group['nesterov'], maximize=group['maximize'])

        for p, momentum_buffer in zip(params_with_grad, momentum_buffer_list):
            self.state[p]['momentum_buffer'] = momentum_buffer


def _sgd_group(params, grads, bufs, group, **kw):
    """SGD over one group: fused records (optim/_fused.py) unless foreach=False, the
    single-tensor function for what they cannot take.  Buffers a first step creates are
    set in bufs."""
    if group.get('foreach') is False or not params:
        return _single_tensor_sgd(params, grads, bufs, **kw)
    momentum = kw['momentum']
    # one record takes buffers that all exist, or all start now (torch's first step)
    first = [i for i, b in enumerate(bufs) if b is None]
    if momentum != 0:
        for i in first:
            bufs[i] = empty_like(params[i])
    columns = [params, grads] + ([bufs] if momentum != 0 else [])
    keys = [i in set(first) for i in range(len(params))]
    runs, rest = _fused.split(columns, keys)
    for is_first, idx in runs:
        pick = lambda xs: [xs[i] for i in idx]  # noqa: E731
        _fused.sgd(pick(params), pick(grads), pick(bufs), first=bool(is_first), **kw)
    if rest:
        sub = [None if i in set(first) else bufs[i] for i in rest]
        _single_tensor_sgd([params[i] for i in rest], [grads[i] for i in rest], sub, **kw)
        for i, b in zip(rest, sub):
            bufs[i] = b


def _single_tensor_sgd(params, d_p_list, momentum_buffer_list, *, weight_decay, momentum, lr,
                       dampening, nesterov, maximize):
    """One SGD update per parameter; momentum_buffer_list is updated in place (a None
    entry becomes the new buffer)."""
    for i, param in enumerate(params):
        d_p = _decayed_grad(param, d_p_list[i], weight_decay, maximize)
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
