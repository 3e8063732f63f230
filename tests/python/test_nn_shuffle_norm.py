"""pixel_shuffle/pixel_unshuffle/channel_shuffle errors, ChannelShuffle (torch 1.13 has no
derivative for it: forward against torch, gradient by gradcheck), LocalResponseNorm's
errors, the legacy CrossMapLRN2d (forward against torch; its gradient by gradcheck, since
torch's legacy backward is not its forward's derivative) and gumbel_softmax.  Values of
PixelShuffle, PixelUnshuffle, LPPool and LocalResponseNorm against torch are in
test_nn_layers.py."""
import numpy as np
import pytest
import torch as T

import tensord as td

rng = np.random.default_rng(7)


def _both(fn, *arrays):
    """fn applied by tensord and by torch: (ours, theirs, our exception, their exception)."""
    out = []
    for mod in (td, T):
        try:
            out.append((fn(mod, *[mod.tensor(a) for a in arrays]), None))
        except Exception as e:  # noqa: BLE001 (compared below)
            out.append((None, e))
    return out


def _same_error(fn, *arrays):
    (o, oe), (t, te) = _both(fn, *arrays)
    assert te is not None and oe is not None, (oe, te)
    assert type(oe) is type(te)
    assert str(oe) == str(te) or not str(te)   # torch's bare asserts say nothing


@pytest.mark.parametrize("fn,shape", [
    (lambda m, x: m.nn.functional.pixel_shuffle(x, 2), (1, 7, 4, 4)),
    (lambda m, x: m.nn.functional.pixel_shuffle(x, 2), (4, 4)),
    (lambda m, x: m.nn.functional.pixel_shuffle(x, 0), (1, 4, 2, 2)),
    (lambda m, x: m.nn.functional.pixel_unshuffle(x, 2), (1, 1, 5, 4)),
    (lambda m, x: m.nn.functional.pixel_unshuffle(x, 2), (1, 1, 4, 5)),
    (lambda m, x: m.nn.functional.pixel_unshuffle(x, -1), (1, 1, 4, 4)),
    (lambda m, x: m.nn.functional.channel_shuffle(x, 2), (1, 7, 4, 4)),
    (lambda m, x: m.nn.functional.channel_shuffle(x, 2), (2, 4)),
    (lambda m, x: m.nn.functional.channel_shuffle(x, 0), (1, 4, 2)),
    (lambda m, x: m.nn.functional.local_response_norm(x, 2), (2, 3)),
    (lambda m, x: m.nn.CrossMapLRN2d(3)(x), (2, 3, 4)),
])
def test_errors_match_torch(fn, shape):
    _same_error(fn, rng.standard_normal(shape))


@pytest.mark.parametrize("groups,shape", [(3, (2, 6, 2, 2)), (2, (3, 4, 5)), (1, (2, 3, 1, 2, 2)), (4, (1, 8, 3))])
def test_channel_shuffle_forward_and_gradient(groups, shape):
    a = rng.standard_normal(shape)
    ours = td.nn.ChannelShuffle(groups)(td.tensor(a))
    np.testing.assert_array_equal(ours.numpy(), T.nn.ChannelShuffle(groups)(T.tensor(a)).numpy())
    assert ours.is_contiguous()
    x = td.tensor(a, requires_grad=True)
    assert td.autograd.gradcheck(lambda t: td.nn.functional.channel_shuffle(t, groups), (x,))
    assert repr(td.nn.ChannelShuffle(groups)) == repr(T.nn.ChannelShuffle(groups))


@pytest.mark.parametrize("size,channels", [(3, 7), (5, 4), (2, 6), (1, 3), (4, 1)])
def test_cross_map_lrn2d_forward_matches_torch_and_gradient_is_exact(size, channels):
    a = rng.standard_normal((2, channels, 3, 2))
    ours = td.nn.CrossMapLRN2d(size, alpha=0.3, beta=0.8, k=1.2)
    theirs = T.nn.CrossMapLRN2d(size, alpha=0.3, beta=0.8, k=1.2)
    np.testing.assert_allclose(ours(td.tensor(a)).numpy(), theirs(T.tensor(a)).numpy(), rtol=1e-12)
    assert repr(ours) == repr(theirs)
    x = td.tensor(a, requires_grad=True)
    assert td.autograd.gradcheck(ours, (x,))


def test_gumbel_softmax_soft_and_hard():
    logits = td.tensor(rng.standard_normal((64, 5)), requires_grad=True)
    td.manual_seed(3)
    soft = td.nn.functional.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(1).detach().numpy(), np.ones(64), rtol=1e-12)
    assert (soft.detach().numpy() > 0).all()
    td.manual_seed(3)
    hard = td.nn.functional.gumbel_softmax(logits, tau=0.5, hard=True)
    h = hard.detach().numpy()
    # the same noise: the one-hot picks the soft sample's argmax
    np.testing.assert_array_equal(h.argmax(1), soft.detach().numpy().argmax(1))
    np.testing.assert_array_equal(np.sort(h, 1)[:, -1], np.ones(64))
    assert h.sum() == 64
    # straight through: the hard sample's gradient is the soft sample's
    w = td.tensor(rng.standard_normal((64, 5)))
    g_hard = td.autograd.grad((hard * w).sum(), logits)[0].numpy()
    g_soft = td.autograd.grad((soft * w).sum(), logits)[0].numpy()
    np.testing.assert_allclose(g_hard, g_soft, rtol=1e-10, atol=1e-12)
    # samples follow softmax(logits): the argmax frequencies of many draws
    base = np.array([[0.5, -1.0, 2.0, 0.0]])
    draws = td.nn.functional.gumbel_softmax(td.tensor(np.repeat(base, 20000, 0)), hard=True).numpy()
    p = np.exp(base[0]) / np.exp(base[0]).sum()
    np.testing.assert_allclose(draws.mean(0), p, atol=0.015)
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        td.nn.functional.gumbel_softmax(logits, eps=1e-3)


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_rms_norm_against_its_formula(dtype):
    """torch 2.4's RMSNorm and F.rms_norm (absent from 1.13): x / sqrt(mean(x^2) + eps) * w,
    eps the dtype's epsilon when None, 16-bit inputs computed in float32; the gradient
    against finite differences."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5))
    w = rng.uniform(0.5, 1.5, (4, 5))
    m = td.nn.RMSNorm([4, 5], dtype=getattr(td, dtype))
    assert repr(m) == "RMSNorm((4, 5), eps=None, elementwise_affine=True)" and m.weight.tolist() == [[1.0] * 5] * 4
    with td.no_grad():
        m.weight.copy_(td.tensor(w))
    xi = td.tensor(x, dtype=getattr(td, dtype))
    got = m(xi)
    xr = xi.double().numpy()
    eps = float(td.finfo(getattr(td, dtype)).eps)  # the input dtype's (bfloat16's for bfloat16)
    want = xr / np.sqrt((xr ** 2).mean((1, 2), keepdims=True) + eps) * m.weight.double().detach().numpy()
    tol = 2e-2 if dtype == "bfloat16" else 1e-6
    assert got.dtype == getattr(td, dtype)
    np.testing.assert_allclose(got.double().detach().numpy(), want, rtol=tol, atol=tol)
    np.testing.assert_allclose(td.nn.functional.rms_norm(xi, (5,), eps=0.1).double().numpy(),
                               xr / np.sqrt((xr ** 2).mean(2, keepdims=True) + 0.1), rtol=tol, atol=tol)
    if dtype == "float64":
        xg = td.tensor(x[:1, :2, :3], requires_grad=True)
        assert td.autograd.gradcheck(lambda v: td.nn.functional.rms_norm(v, (2, 3), eps=1e-3), (xg,))
    with pytest.raises(RuntimeError, match="expected input with shape \\[\\*, 4, 5\\]"):
        m(td.ones(3, 5, 4, dtype=getattr(td, dtype)))
