"""Adam (with amsgrad, L2 weight decay and maximize), as torch 1.13's single-tensor
algorithm.  State per parameter: 'step' (a float32 0-d tensor), 'exp_avg', 'exp_avg_sq'
and, with amsgrad, 'max_exp_avg_sq'."""
import math

from .._complex import view_as_real
from .._creation import zeros_like
from .._records import maximum
from .._tensor_new import tensor
from . import _fused
from .optimizer import Optimizer, _check_betas, _decayed_grad, _no_differentiable, _use_grad_for_differentiable

__all__ = ['Adam']


def _init_adam_state(optimizer, p, amsgrad):
    state = optimizer.state[p]
    optimizer._new_scalar_state(p, 'step', tensor(0.0), 0.0)
    state['exp_avg'] = zeros_like(p)
    state['exp_avg_sq'] = zeros_like(p)
    if amsgrad:
        state['max_exp_avg_sq'] = zeros_like(p)


def _gather_adam_group(optimizer, group, sparse_error):
    """The group's parameters that have a gradient, with their grads and moment buffers
    (state created on the first step)."""
    amsgrad = group['amsgrad']
    params, grads = optimizer._params_with_grad(
        group, sparse_error, lambda p, state: _init_adam_state(optimizer, p, amsgrad))
    if group['capturable'] and params:
        # torch's update asserts this for every parameter; none is a CUDA tensor here
        raise AssertionError('If capturable=True, params and state_steps must be CUDA tensors.')
    states = [optimizer.state[p] for p in params]
    return (params, grads, [s['exp_avg'] for s in states], [s['exp_avg_sq'] for s in states],
            [s['max_exp_avg_sq'] for s in states] if amsgrad else [])


class Adam(Optimizer):
    r"""Implements the Adam algorithm, as torch.optim.Adam (L2 weight decay added to the
    gradient; amsgrad keeps the running maximum of the second moment)."""

    _setstate_group_defaults = (('amsgrad', False), ('maximize', False), ('foreach', None),
                                ('capturable', False), ('differentiable', False), ('fused', False))
    _setstate_tensor_scalars = ('step',)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0, amsgrad=False, *, foreach=None,
                 maximize=False, capturable=False,
                 differentiable=False, fused=False):
        _check_betas(lr, betas, eps, weight_decay)
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused)
        super(Adam, self).__init__(params, defaults)
        if fused:
            # tensord has no CUDA parameters, so torch's check always fails here
            raise RuntimeError("FusedAdam requires all the params to be CUDA, floating point")

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        return self._step_groups(closure)

    def _step_group(self, group):
        _adam_step_group(self, group, 'Adam does not support sparse gradients, please consider SparseAdam instead',
                         _single_tensor_adam)


def _adam_step_group(optimizer, group, sparse_error, single, decoupled=False):
    """One group's Adam or AdamW step (single: the single-tensor function; decoupled:
    AdamW's weight decay, for the fused kernel)."""
    params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs = _gather_adam_group(optimizer, group, sparse_error)
    beta1, beta2 = group['betas']
    _adam_group(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, optimizer._advance_steps(params),
                single, group, decoupled=decoupled, amsgrad=group['amsgrad'], beta1=beta1, beta2=beta2,
                lr=group['lr'], weight_decay=group['weight_decay'], eps=group['eps'],
                maximize=group['maximize'])


def _adam_group(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, single, group, *,
                decoupled=False, **kw):
    """Adam/AdamW over one group: fused records (optim/_fused.py) unless foreach=False,
    the single-tensor function for what they cannot take."""
    columns = [params, grads, exp_avgs, exp_avg_sqs] + ([max_exp_avg_sqs] if kw['amsgrad'] else [])
    if group.get('foreach') is False or not params:
        runs, rest = [], list(range(len(params)))
    else:
        runs, rest = _fused.split(columns, steps)
    for step, idx in runs:
        _fused.adam(_fused.flat(columns, idx), step=step, decoupled=decoupled, **kw)
    if rest:
        pick = lambda xs: [xs[i] for i in rest] if xs else []  # noqa: E731
        single(pick(params), pick(grads), pick(exp_avgs), pick(exp_avg_sqs), pick(max_exp_avg_sqs),
               pick(steps), **kw)


def _single_tensor_adam(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, *,
                        amsgrad, beta1, beta2, lr, weight_decay, eps, maximize):
    """One Adam update per parameter; steps: each one's step count after this step."""
    for i, param in enumerate(params):
        grad = _decayed_grad(param, grads[i], weight_decay, maximize)
        _adam_update(param, grad, exp_avgs[i], exp_avg_sqs[i], max_exp_avg_sqs[i] if amsgrad else None,
                     steps[i], beta1=beta1, beta2=beta2, lr=lr, eps=eps)


def _adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, *, beta1, beta2, lr, eps,
                 decay=None):
    """The Adam update of one parameter from its gradient (L2 term included), as Adam and
    AdamW do it; decay: AdamW's factor 1 - lr * weight_decay on the parameter first.
    max_exp_avg_sq: the amsgrad running maximum, or None."""
    if param.is_complex():
        grad = view_as_real(grad)
        exp_avg = view_as_real(exp_avg)
        exp_avg_sq = view_as_real(exp_avg_sq)
        param = view_as_real(param)

    if decay is not None:
        param.mul_(decay)

    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad.conj(), value=1 - beta2)

    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = math.sqrt(bias_correction2)

    if max_exp_avg_sq is not None:
        # torch 1.13 keeps the complex maximum buffer as it is (no real view)
        maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        denom = (max_exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    else:
        denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)

    param.addcdiv_(exp_avg, denom, value=-step_size)
