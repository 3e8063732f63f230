"""NAdam (Adam with Nesterov momentum and momentum decay), as torch 1.13's single-tensor
algorithm.  State: 'step' and 'mu_product' (float32 0-d tensors), 'exp_avg', 'exp_avg_sq'.

torch multiplies the float32 'mu_product' tensor by Python floats, which rounds each
factor to float32 first; the host mirror repeats that arithmetic in numpy float32 so the
step sizes are the ones torch computes."""
from .._creation import zeros_like
from .._grad_mode import no_grad
from .._tensor_new import tensor
from .optimizer import Optimizer, _check_betas, _check_nonnegative, _decayed_grad

__all__ = ['NAdam']


class NAdam(Optimizer):
    r"""Implements the NAdam algorithm, as torch.optim.NAdam (momentum schedule
    mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)))."""

    _setstate_group_defaults = (('foreach', None),)
    _setstate_tensor_scalars = ('step', 'mu_product')

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, foreach=None):
        _check_betas(lr, betas, eps, weight_decay)
        _check_nonnegative(momentum_decay=momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, foreach=foreach)
        super(NAdam, self).__init__(params, defaults)

    @no_grad()
    def step(self, closure=None):
        """Performs a single optimization step; closure (optional) reevaluates the model
        and returns the loss."""
        return self._step_groups(closure)

    def _step_group(self, group):
        params_with_grad, grads = self._params_with_grad(group, 'NAdam does not support sparse gradients',
                                                         self._init_state)
        states = [self.state[p] for p in params_with_grad]
        beta1, beta2 = group['betas']
        steps = self._advance_steps(params_with_grad)
        # numpy scalars of the tensors' dtypes, so the products round as torch's do
        mu_products = [self.state[p]['mu_product'].dtype._np(self._scalar_state(p, 'mu_product'))
                       for p in params_with_grad]
        _single_tensor_nadam(params_with_grad, grads, [s['exp_avg'] for s in states],
                             [s['exp_avg_sq'] for s in states], mu_products, steps,
                             beta1=beta1, beta2=beta2, lr=group['lr'],
                             weight_decay=group['weight_decay'],
                             momentum_decay=group['momentum_decay'], eps=group['eps'])
        for p, mu_product in zip(params_with_grad, mu_products):
            self._set_scalar_state(p, 'mu_product', float(mu_product))

    def _init_state(self, p, state):
        self._new_scalar_state(p, 'step', tensor(0.0), 0.0)
        self._new_scalar_state(p, 'mu_product', tensor(1.0), 1.0)
        state['exp_avg'] = zeros_like(p)
        state['exp_avg_sq'] = zeros_like(p)


def _single_tensor_nadam(params, grads, exp_avgs, exp_avg_sqs, mu_products, steps, *, beta1, beta2,
                         lr, weight_decay, momentum_decay, eps):
    """One NAdam update per parameter; steps: each one's step count after this step;
    mu_products: each one's product of momentum coefficients so far (numpy scalars of the
    state tensors' dtype), updated in place."""
    for i, param in enumerate(params):
        grad = _decayed_grad(param, grads[i], weight_decay)
        exp_avg = exp_avgs[i]
        exp_avg_sq = exp_avg_sqs[i]
        step = steps[i]

        bias_correction2 = 1 - beta2 ** step

        mu = beta1 * (1. - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1. - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))

        fp = type(mu_products[i])
        mu_product = mu_products[i] * fp(mu)
        mu_product_next = mu_product * fp(mu) * fp(mu_next)
        mu_products[i] = mu_product

        exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
        param.addcdiv_(grad, denom, value=(-lr * (1. - mu) / (1. - float(mu_product))))
        param.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1. - float(mu_product_next)))
