"""multi_margin_loss and multilabel_margin_loss beyond the (N, C) cases of test_nn_layers:
unbatched inputs (the output's shape as torch's), p/margin/weight together, gradcheck in
float64, and torch 1.13's argument errors."""
import numpy as np
import pytest
import torch as T

import tensord as td

X = np.random.default_rng(0).standard_normal((4, 5))
W = np.random.default_rng(1).random(5)


def _both(fn):
    out = []
    for m in (T, td):
        x = m.tensor(X, requires_grad=True)
        loss = fn(m, x)
        (loss.sum() if loss.ndim else loss).backward()
        out.append((loss.detach().numpy(), x.grad.numpy()))
    (a, ga), (b, gb) = out
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb, ga, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("target", [np.array(3), np.array([3])])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_multi_margin_unbatched(target, reduction):
    _both(lambda m, x: m.nn.functional.multi_margin_loss(x[1], m.tensor(target), p=2, margin=0.7,
                                                         weight=m.tensor(W), reduction=reduction))


def test_multi_margin_p2_margin_weight_module():
    y = np.array([4, 0, 2, 2])
    _both(lambda m, x: m.nn.MultiMarginLoss(p=2, margin=1.5, weight=m.tensor(W), reduction="sum")(x, m.tensor(y)))


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_multilabel_margin_unbatched(reduction):
    _both(lambda m, x: m.nn.functional.multilabel_margin_loss(x[2], m.tensor([4, 1, -1, 0, 0]), reduction=reduction))


def test_gradcheck_float64():
    x = td.tensor(X, requires_grad=True)
    y, t = td.tensor([4, 0, 2, 1]), td.tensor([[3, 0, -1, 1, 2], [1, 2, 4, -1, 0], [0, 1, 2, 3, 4], [2, -1, 0, 0, 0]])
    F = td.nn.functional
    assert td.autograd.gradcheck(lambda v: F.multi_margin_loss(v, y, p=2, margin=0.5, weight=td.tensor(W)), (x,))
    assert td.autograd.gradcheck(lambda v: F.multi_margin_loss(v, y, reduction="none"), (x,))
    assert td.autograd.gradcheck(lambda v: F.multilabel_margin_loss(v, t, reduction="sum"), (x,))


@pytest.mark.parametrize("case", ["mm_target_size", "mm_range", "mm_3d", "ml_target_size", "ml_3d"])
def test_errors_match_torch(case):
    def call(m):
        F = m.nn.functional
        x = m.tensor(X)
        with pytest.raises(Exception) as e:
            if case == "mm_target_size":
                F.multi_margin_loss(x, m.tensor([0, 1]))
            elif case == "mm_range":
                F.multi_margin_loss(x, m.tensor([0, 1, 7, 2]))
            elif case == "mm_3d":
                F.multi_margin_loss(x.reshape(2, 2, 5), m.tensor([0, 1]))
            elif case == "ml_target_size":
                F.multilabel_margin_loss(x, m.tensor([0, 1]))
            else:
                F.multilabel_margin_loss(x.reshape(2, 2, 5), m.tensor([[0, 1]]))
        return e.value
    a, b = call(td), call(T)
    assert type(a) is type(b) and str(a) == str(b)
