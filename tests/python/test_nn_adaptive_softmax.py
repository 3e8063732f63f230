"""AdaptiveLogSoftmaxWithLoss against torch 1.13 with the same weights: forward's output
and loss, the gradients of the input and of every parameter, log_prob, predict, the
unbatched form and the errors."""
import numpy as np
import pytest
import torch as T

import tensord as td
from tdhelpers import assert_raises_like

rng = np.random.default_rng(3)


def _pair(*args, **kw):
    theirs = T.nn.AdaptiveLogSoftmaxWithLoss(*args, **kw).double()
    ours = td.nn.AdaptiveLogSoftmaxWithLoss(*args, **kw).double()
    ours.load_state_dict({k: td.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("cfg,target", [
    ((8, 10, [4, 8]), [0, 3, 4, 9, 5, 1, 8, 2]),
    ((6, 20, [3, 10, 15], 2.0, True), [19, 0, 11, 4, 14, 2]),
    ((5, 7, [2]), [0, 1, 1, 0]),                    # every target in the shortlist
    ((5, 7, [2]), [6, 3, 5]),                       # none in it
])
def test_forward_backward_log_prob_predict(cfg, target):
    ours, theirs = _pair(*cfg)
    assert repr(ours) == repr(theirs)
    x = rng.standard_normal((len(target), cfg[0]))
    res = []
    for mod, m in ((td, ours), (T, theirs)):
        xi = mod.tensor(x, requires_grad=True)
        out, loss = m(xi, mod.tensor(target))
        (loss + (out * mod.tensor(np.linspace(0, 1, len(target)))).sum()).backward()
        res.append((out.detach().numpy(), loss.item(), xi.grad.numpy(),
                    {k: p.grad.numpy() for k, p in m.named_parameters() if p.grad is not None},
                    m.log_prob(mod.tensor(x)).detach().numpy(), m.predict(mod.tensor(x)).numpy()))
    (o, l, g, pg, lp, pr), (ro, rl, rg, rpg, rlp, rpr) = res
    np.testing.assert_allclose(o, ro, rtol=1e-10)
    np.testing.assert_allclose(l, rl, rtol=1e-10)
    np.testing.assert_allclose(g, rg, rtol=1e-10, atol=1e-13)
    assert sorted(pg) == sorted(rpg)
    for k in rpg:
        np.testing.assert_allclose(pg[k], rpg[k], rtol=1e-10, atol=1e-13, err_msg=k)
    np.testing.assert_allclose(lp, rlp, rtol=1e-10)
    np.testing.assert_allclose(np.exp(lp).sum(1), np.ones(len(target)), rtol=1e-10)
    np.testing.assert_array_equal(pr, rpr)


def test_unbatched():
    ours, theirs = _pair(4, 9, [3, 6])
    x = rng.standard_normal(4)
    o = ours(td.tensor(x), td.tensor(7))
    r = theirs(T.tensor(x), T.tensor(7))
    assert o.output.shape == () and r.output.shape == ()
    np.testing.assert_allclose(o.output.item(), r.output.item(), rtol=1e-10)
    np.testing.assert_allclose(o.loss.item(), r.loss.item(), rtol=1e-10)
    # (torch 1.13's log_prob and predict take batches only; ours also one sample)
    np.testing.assert_allclose(ours.log_prob(td.tensor(x)).detach().numpy(),
                               theirs.log_prob(T.tensor(x[None]))[0].detach().numpy(), rtol=1e-10)
    assert ours.predict(td.tensor(x)).item() == theirs.predict(T.tensor(x[None]))[0].item()


@pytest.mark.parametrize("call", [
    lambda m: m.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [5, 3]),
    lambda m: m.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [0, 3]),
    lambda m: m.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3, 10]),
    lambda m: m.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3, 3]),
    lambda m: m.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3])(m.randn(2, 4), m.tensor([1, 10])),
    lambda m: m.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3])(m.randn(2, 4), m.tensor([1])),
    lambda m: m.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3])(m.randn(2, 4), m.tensor([[1]])),
    lambda m: m.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3])(m.randn(2, 4), m.tensor(1)),
])
def test_errors_match_torch(call):
    assert_raises_like(lambda: call(td), lambda: call(T))
