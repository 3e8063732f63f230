"""binary_cross_entropy beyond the cases of test_nn_layers: torch's input check (every
element in [0, 1], NaN refused) and torch's gradients where a sigmoid saturated to exactly
0 or 1 (the input's finite, as torch's (x - t) / max(x (1 - x), 1e-12); the target's
infinite), against torch 1.13."""
import numpy as np
import pytest
import torch as T

import tensord as td
from tdhelpers import torch_message


@pytest.mark.parametrize("bad", [[0.5, 1.5], [0.5, float("nan")], [-0.1, 0.3], [[0.2, 0.7], [0.4, 2.0]]])
def test_out_of_range_input_raises_like_torch(bad):
    with pytest.raises(RuntimeError) as want:
        T.nn.functional.binary_cross_entropy(T.tensor(bad).t() if isinstance(bad[0], list) else T.tensor(bad),
                                             T.zeros(2, 2) if isinstance(bad[0], list) else T.zeros(2))
    with pytest.raises(RuntimeError) as got:
        x = td.tensor(bad).t() if isinstance(bad[0], list) else td.tensor(bad)
        td.nn.functional.binary_cross_entropy(x, td.zeros(2, 2) if isinstance(bad[0], list) else td.zeros(2)).item()
    assert torch_message(got.value) == str(want.value)
    assert td.ones(2).sum().item() == 2.0  # the session goes on


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_saturated_inputs_gradient_like_torch(reduction):
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 0.999, 1e-7], dtype=np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.2, 1.0, 0.0], dtype=np.float32)
    w = np.linspace(0.5, 2.0, 7).astype(np.float32)
    res = []
    for m in (T, td):
        xi = m.tensor(x, requires_grad=True)
        loss = m.nn.functional.binary_cross_entropy(xi, m.tensor(t), weight=m.tensor(w), reduction=reduction)
        (loss.sum() if reduction == "none" else loss).backward()
        res.append((loss.detach().numpy(), xi.grad.numpy()))
    (a, ga), (b, gb) = res
    np.testing.assert_allclose(b, a, rtol=1e-6)
    assert np.isfinite(gb).all()
    np.testing.assert_allclose(gb, ga, rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_target_gradient_at_saturated_inputs_like_torch(reduction):
    """The target's gradient is log(1 - x) - log(x) unclamped, as torch's: +inf at x = 0,
    -inf at x = 1, NaN where the incoming gradient or the weight is 0 there."""
    x = np.array([0.0, 1.0, 0.3, 0.0, 1.0, 0.7], dtype=np.float32)
    t = np.array([0.2, 0.7, 0.5, 1.0, 0.0, 0.1], dtype=np.float32)
    w = np.array([1.0, 2.0, 1.0, 0.0, 1.0, 3.0], dtype=np.float32)
    g = np.array([1.0, -1.0, 2.0, 0.5, 0.0, 1.0], dtype=np.float32)
    res = []
    for m in (T, td):
        xi, ti = m.tensor(x, requires_grad=True), m.tensor(t, requires_grad=True)
        loss = m.nn.functional.binary_cross_entropy(xi, ti, weight=m.tensor(w), reduction=reduction)
        loss.backward(m.tensor(g) if reduction == "none" else None)
        res.append((loss.detach().numpy(), ti.grad.numpy(), xi.grad.numpy()))
    for got, want in zip(res[1], res[0]):
        np.testing.assert_allclose(got, want, rtol=1e-6)  # inf, -inf and NaN where torch has them


def test_sigmoid_then_bce_trains_through_saturation():
    """DCGAN's Sigmoid + BCELoss: a logit of 30 saturates float32's sigmoid to exactly 1."""
    res = []
    for m in (T, td):
        z = m.tensor([30.0, -30.0, 0.5], requires_grad=True)
        loss = m.nn.BCELoss()(m.sigmoid(z), m.tensor([0.0, 1.0, 1.0]))
        loss.backward()
        res.append((loss.item(), z.grad.numpy()))
    assert res[0][0] == pytest.approx(res[1][0], rel=1e-6)
    np.testing.assert_allclose(res[1][1], res[0][1], rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("target_grad", [False, True])
def test_double_backward_like_torch(reduction, target_grad):
    """Second derivatives (a gradient penalty through BCE): torch's double backward, for
    the input and the target, saturated inputs included."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0.05, 0.95, 9), [0.0, 1.0, 1e-9]])
    t = np.concatenate([rng.uniform(0, 1, 9), [0.0, 1.0, 0.0]])
    w = rng.uniform(0.5, 2.0, 12)
    res = []
    for m in (T, td):
        xi = m.tensor(x, requires_grad=True)
        ti = m.tensor(t, requires_grad=target_grad)
        wi = m.tensor(w)
        loss = m.nn.functional.binary_cross_entropy(xi, ti, weight=wi, reduction=reduction)
        loss = loss.sum() if reduction == "none" else loss
        gx, = m.autograd.grad(loss, xi, create_graph=True)
        penalty = (gx * m.linspace(-1, 2, 12, dtype=m.float64)).sum()
        wrt = [xi] + ([ti] if target_grad else [])
        res.append([gx.detach().numpy()] + [g.numpy() for g in m.autograd.grad(penalty, wrt)])
    for got, want in zip(res[1], res[0]):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_weight_requiring_grad_refused_like_torch():
    msgs = []
    for m in (T, td):
        x, t, w = m.full((3,), 0.25), m.full((3,), 0.5), m.ones(3, requires_grad=True)
        with m.no_grad():  # allowed where grad mode is off
            assert m.nn.functional.binary_cross_entropy(x, t, weight=w).item() == pytest.approx(0.8369882)
        with pytest.raises(RuntimeError) as e:
            m.nn.functional.binary_cross_entropy(x, t, weight=w)
        msgs.append(str(e.value) if m is T else torch_message(e.value))
    assert msgs[1] == msgs[0]
