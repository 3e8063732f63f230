"""tensord.func (torch 2.x's torch.func) against PyTorch 1.13's autograd computing the same
quantities: gradients and their composition, Jacobians, Hessians, vector-Jacobian
products, vmap, and per-sample gradients (vmap of grad over functional_call)."""
import numpy as np
import pytest
import torch as T

import tensord as td
from tensord.func import (functional_call, grad, grad_and_value, hessian, jacfwd, jacrev, jvp, stack_module_state, vjp,
                          vmap)

RNG = np.random.default_rng(0)
X = RNG.standard_normal(5).astype(np.float64)


def f_td(x):
    return (td.sin(x) * x ** 2).sum()


def f_t(x):
    return (T.sin(x) * x ** 2).sum()


def test_grad_and_its_composition():
    x = td.tensor(X)
    tx = T.tensor(X, requires_grad=True)
    g1, = T.autograd.grad(f_t(tx), tx, create_graph=True)
    np.testing.assert_allclose(grad(f_td)(x).numpy(), g1.detach().numpy(), rtol=1e-12)
    # d/dx of the gradient's sum: grad(lambda x: grad(f)(x).sum())
    g2, = T.autograd.grad(g1.sum(), tx)
    np.testing.assert_allclose(grad(lambda x: grad(f_td)(x).sum())(x).numpy(), g2.numpy(), rtol=1e-12)
    s = td.tensor(0.3, dtype=td.float64)
    assert grad(grad(grad(td.sin)))(s).item() == pytest.approx(-np.cos(0.3), rel=1e-12)
    g, v = grad_and_value(f_td)(x)
    assert v.item() == pytest.approx(f_t(T.tensor(X)).item()) and not v.requires_grad and not g.requires_grad
    (ga, gb), aux = grad(lambda a, b: ((a * b).sum(), "aux"), argnums=(0, 1), has_aux=True)(x, x * 2)
    np.testing.assert_allclose(ga.numpy(), X * 2)
    np.testing.assert_allclose(gb.numpy(), X)
    assert aux == "aux"
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor, got tensor with 1 dims"):
        grad(td.sin)(x)


def test_jacobians_hessian_and_vjp_like_torch():
    def g_td(x):
        return td.stack([x[0] * x[1], td.exp(x[2]), x.sum() ** 2])

    def g_t(x):
        return T.stack([x[0] * x[1], T.exp(x[2]), x.sum() ** 2])
    x3 = X[:3]
    want = T.autograd.functional.jacobian(g_t, T.tensor(x3))
    for jac in (jacrev, jacfwd):
        np.testing.assert_allclose(jac(g_td)(td.tensor(x3)).numpy(), want.numpy(), rtol=1e-12)
    np.testing.assert_allclose(hessian(f_td)(td.tensor(X)).numpy(),
                               T.autograd.functional.hessian(f_t, T.tensor(X)).numpy(), rtol=1e-10)
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))
    ja, jb = jacrev(lambda p, q: p @ q, argnums=(0, 1))(td.tensor(a), td.tensor(b))
    wa, wb = T.autograd.functional.jacobian(lambda p, q: p @ q, (T.tensor(a), T.tensor(b)))
    np.testing.assert_allclose(ja.numpy(), wa.numpy())
    np.testing.assert_allclose(jb.numpy(), wb.numpy())
    v = RNG.standard_normal(3)
    out, fn = vjp(g_td, td.tensor(x3))
    w_out, w_vjp = T.autograd.functional.vjp(g_t, T.tensor(x3), T.tensor(v))
    np.testing.assert_allclose(out.numpy(), w_out.numpy())
    np.testing.assert_allclose(fn(td.tensor(v))[0].numpy(), w_vjp.numpy(), rtol=1e-12)


def test_vmap():
    a = RNG.standard_normal((4, 3))
    b = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(vmap(td.dot, in_dims=(0, 1))(td.tensor(a), td.tensor(b)).numpy(),
                               np.einsum("ij,ji->i", a, b))
    # an argument passed whole, a dict input, outputs stacked along dim 1, nested vmap
    out = vmap(lambda r, m: {"p": r @ m, "s": r.sum()}, in_dims=(0, None))(td.tensor(a), td.tensor(b))
    np.testing.assert_allclose(out["p"].numpy(), a @ b)
    np.testing.assert_allclose(out["s"].numpy(), a.sum(1))
    np.testing.assert_allclose(vmap(td.mul, out_dims=1)(td.tensor(a), td.tensor(a)).numpy(), (a * a).T)
    np.testing.assert_allclose(vmap(vmap(td.mul))(td.tensor(a), td.tensor(a)).numpy(), a * a)
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        vmap(td.add)(td.ones(2), td.ones(3))


def test_per_sample_gradients_like_torch():
    """torch.func's per-sample-gradient recipe: vmap(grad(loss), in_dims=(None, None, 0, 0))
    over functional_call, against a loop of torch 1.13 autograd."""
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    y = RNG.standard_normal((6, 2)).astype(np.float32)
    td.manual_seed(0)
    model = td.nn.Sequential(td.nn.Linear(4, 8), td.nn.Tanh(), td.nn.Linear(8, 2))
    ref = T.nn.Sequential(T.nn.Linear(4, 8), T.nn.Tanh(), T.nn.Linear(8, 2))
    ref.load_state_dict({k: T.tensor(v.detach().numpy()) for k, v in model.state_dict().items()})
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss(p, b, xi, yi):
        out = functional_call(model, (p, b), (xi.unsqueeze(0),))
        return ((out - yi.unsqueeze(0)) ** 2).mean()
    per = vmap(grad(loss), in_dims=(None, None, 0, 0))(params, buffers, td.tensor(x), td.tensor(y))
    for i in range(6):
        ref.zero_grad()
        ((ref(T.tensor(x[i:i + 1])) - T.tensor(y[i:i + 1])) ** 2).mean().backward()
        for name, p in ref.named_parameters():
            np.testing.assert_allclose(per[name][i].numpy(), p.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert not any(p.grad is not None for p in model.parameters())  # the module's own tensors untouched
    with pytest.raises(RuntimeError, match="Missing key\\(s\\): 0.bias"):
        functional_call(model, {"0.weight": params["0.weight"]}, (td.tensor(x),), strict=True)


def test_jvp_and_model_ensembling():
    """jvp against PyTorch 1.13's autograd.functional.jvp; stack_module_state + vmap over
    functional_call (torch.func's ensembling recipe) against each model run alone."""
    def g_td(x, y):
        return td.sin(x) * y, (x * y).sum()

    def g_t(x, y):
        return T.sin(x) * y, (x * y).sum()
    x, y, tx, ty = (RNG.standard_normal(4) for _ in range(4))
    (o1, o2), (j1, j2) = jvp(g_td, (td.tensor(x), td.tensor(y)), (td.tensor(tx), td.tensor(ty)))
    (w1, w2), (v1, v2) = T.autograd.functional.jvp(g_t, (T.tensor(x), T.tensor(y)), (T.tensor(tx), T.tensor(ty)))
    for got, want in ((o1, w1), (o2, w2), (j1, v1), (j2, v2)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
    models = [td.nn.Linear(3, 2) for _ in range(4)]
    params, buffers = stack_module_state(models)
    assert params["weight"].shape == (4, 2, 3) and params["weight"].requires_grad and buffers == {}
    xb = td.randn(5, 3)
    out = vmap(lambda p, b, x: functional_call(models[0], (p, b), (x,)), in_dims=(0, 0, None))(params, buffers, xb)
    for i, m in enumerate(models):
        np.testing.assert_allclose(out[i].detach().numpy(), m(xb).detach().numpy(), rtol=1e-6)
