"""Rprop (resilient backpropagation; maximize), as torch 1.13's single-tensor algorithm.
State: 'step' (an int, as torch's), 'prev' (the previous gradient) and 'step_size' (the
per-element step)."""
from .._complex import view_as_real
from .._creation import full_like, ones_like, zeros_like
from .._grad_mode import no_grad
from .optimizer import Optimizer

__all__ = ['Rprop']


class Rprop(Optimizer):
    r"""Implements the resilient backpropagation algorithm, as torch.optim.Rprop: each
    element's step grows by etaplus while its gradient keeps its sign and shrinks by
    etaminus when it flips (that step is then skipped), within step_sizes;
    p -= sign(g) * step."""

    _setstate_group_defaults = (('foreach', None), ('maximize', False))

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), foreach=None, maximize=False):
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError("Invalid eta values: {}, {}".format(etas[0], etas[1]))
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize)
        super(Rprop, self).__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        return self._step_groups(closure)

    def _init_state(self, group):
        def init(p, state):
            state['step'] = 0
            state['prev'] = zeros_like(p)
            lr = complex(group['lr'], group['lr']) if p.is_complex() else group['lr']
            state['step_size'] = full_like(p.grad, lr)
        return init

    def _step_group(self, group):
        params, grads = self._params_with_grad(group, 'Rprop does not support sparse gradients',
                                               self._init_state(group))
        etaminus, etaplus = group['etas']
        lo, hi = group['step_sizes']
        for p, grad in zip(params, grads):
            state = self.state[p]
            state['step'] += 1
            prev, step_size = state['prev'], state['step_size']
            grad = grad if not group['maximize'] else -grad
            param = p
            if p.is_complex():
                param, grad, prev, step_size = (view_as_real(p), view_as_real(grad), view_as_real(prev),
                                                view_as_real(step_size))
            same = grad.mul(prev).sign()
            factor = ones_like(same).masked_fill_(same > 0, etaplus).masked_fill_(same < 0, etaminus)
            step_size.mul_(factor).clamp_(lo, hi)
            # after a sign flip the element rests this step (and its gradient is forgotten)
            grad = grad.masked_fill(same < 0, 0)
            param.addcmul_(grad.sign(), step_size, value=-1)
            prev.copy_(grad)
