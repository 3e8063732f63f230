"""Adam (with amsgrad, L2 weight decay and maximize), as torch 1.13's single-tensor
algorithm.  State per parameter: 'step' (a float32 0-d tensor), 'exp_avg', 'exp_avg_sq'
and, with amsgrad, 'max_exp_avg_sq'."""
import math

from .._complex import view_as_real
from .._creation import zeros_like
from .._grad_mode import enable_grad
from .._records import maximum
from .._tensor import Tensor
from .._tensor_new import tensor
from . import _fused
from .optimizer import Optimizer, _no_differentiable, _use_grad_for_differentiable

__all__ = ['Adam']


def _check_betas(lr, betas, eps, weight_decay):
    """The argument checks Adam, AdamW, Adamax, NAdam and RAdam share (torch's messages)."""
    if not 0.0 <= lr:
        raise ValueError("Invalid learning rate: {}".format(lr))
    if not 0.0 <= eps:
        raise ValueError("Invalid epsilon value: {}".format(eps))
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError("Invalid beta parameter at index 0: {}".format(betas[0]))
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError("Invalid beta parameter at index 1: {}".format(betas[1]))
    if not 0.0 <= weight_decay:
        raise ValueError("Invalid weight_decay value: {}".format(weight_decay))


def _steps_as_tensors(optimizer):
    """torch's __setstate__ conversion of state saved with Python-number steps."""
    state_values = list(optimizer.state.values())
    step_is_tensor = len(state_values) != 0 and isinstance(state_values[0]['step'], Tensor)
    if not step_is_tensor:
        for s in state_values:
            s['step'] = tensor(float(s['step']))


def _init_adam_state(optimizer, p, amsgrad):
    state = optimizer.state[p]
    optimizer._new_scalar_state(p, 'step', tensor(0.0), 0.0)
    state['exp_avg'] = zeros_like(p)
    state['exp_avg_sq'] = zeros_like(p)
    if amsgrad:
        state['max_exp_avg_sq'] = zeros_like(p)


def _gather_adam_group(optimizer, group, name):
    """The group's parameters that have a gradient, with their grads and moment buffers
    (state created on the first step)."""
    params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs = [], [], [], [], []
    for p in group['params']:
        if p.grad is None:
            continue
        params.append(p)
        if p.grad.is_sparse:
            raise RuntimeError(name)
        grads.append(p.grad)
        state = optimizer.state[p]
        if len(state) == 0:
            _init_adam_state(optimizer, p, group['amsgrad'])
        exp_avgs.append(state['exp_avg'])
        exp_avg_sqs.append(state['exp_avg_sq'])
        if group['amsgrad']:
            max_exp_avg_sqs.append(state['max_exp_avg_sq'])
        if group['capturable']:
            raise AssertionError('If capturable=True, params and state_steps must be CUDA tensors.')
    return params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs


class Adam(Optimizer):
    r"""Implements the Adam algorithm, as torch.optim.Adam (L2 weight decay added to the
    gradient; amsgrad keeps the running maximum of the second moment)."""

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

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault('amsgrad', False)
            group.setdefault('maximize', False)
            group.setdefault('foreach', None)
            group.setdefault('capturable', False)
            group.setdefault('differentiable', False)
            group.setdefault('fused', False)
        _steps_as_tensors(self)

    @_use_grad_for_differentiable
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()

        for group in self.param_groups:
            params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs = _gather_adam_group(
                self, group, 'Adam does not support sparse gradients, please consider SparseAdam instead')
            beta1, beta2 = group['betas']
            _adam_group(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, self._advance_steps(params),
                        _single_tensor_adam, group, amsgrad=group['amsgrad'], beta1=beta1, beta2=beta2,
                        lr=group['lr'], weight_decay=group['weight_decay'], eps=group['eps'],
                        maximize=group['maximize'])
        return loss


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
        grad = grads[i] if not maximize else -grads[i]
        exp_avg = exp_avgs[i]
        exp_avg_sq = exp_avg_sqs[i]
        step = steps[i]

        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)

        if param.is_complex():
            grad = view_as_real(grad)
            exp_avg = view_as_real(exp_avg)
            exp_avg_sq = view_as_real(exp_avg_sq)
            param = view_as_real(param)

        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad.conj(), value=1 - beta2)

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = math.sqrt(bias_correction2)

        if amsgrad:
            maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])
            denom = (max_exp_avg_sqs[i].sqrt() / bias_correction2_sqrt).add_(eps)
        else:
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)

        param.addcdiv_(exp_avg, denom, value=-step_size)
