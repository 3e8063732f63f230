"""nn.EmbeddingBag / functional.embedding_bag and functional.interpolate / nn.Upsample
against PyTorch 1.13: the same float64 weights and inputs; outputs and the gradients of
the weight, the per-sample weights and the resampled input compared; the argument
errors (type and message)."""
import warnings

import numpy as np
import pytest
import torch as T

import tensord as td

TOL = dict(rtol=1e-7, atol=1e-9)


def _grads_match(out_o, out_t, leaves_o, leaves_t, seed=0):
    np.testing.assert_allclose(out_o.detach().numpy(), out_t.detach().numpy(), **TOL)
    w = np.random.default_rng(seed).standard_normal(tuple(out_t.shape))
    (out_o * td.tensor(w)).sum().backward()
    (out_t * T.tensor(w)).sum().backward()
    for a, b in zip(leaves_o, leaves_t):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL)


BAGS = [
    # (mode, input, offsets, include_last_offset, padding_idx, per_sample_weights)
    ("sum", [1, 2, 4, 5, 4, 3, 2, 9], [0, 4], False, None, False),
    ("mean", [1, 2, 4, 5, 4, 3, 2, 9], [0, 3, 3, 6], False, None, False),
    ("max", [1, 2, 4, 5, 4, 3, 2, 9], [0, 3, 3, 6], False, None, False),
    ("sum", [1, 2, 4, 5, 4, 3, 2, 9], [0, 2, 5, 8], True, None, True),
    ("mean", [1, 2, 4, 2, 2, 3, 2, 9], [0, 3, 5], False, 2, False),
    ("max", [1, 2, 4, 2, 2, 3, 2, 9], [0, 3, 5], False, 2, False),
    ("sum", [[1, 2, 4], [5, 4, 3]], None, False, None, True),
    ("mean", [[1, 2, 4], [5, 4, 3]], None, False, 4, False),
    ("max", [[1, 2, 4], [5, 4, 3]], None, False, None, False),
]


@pytest.mark.parametrize("case", range(len(BAGS)))
def test_embedding_bag_matches_pytorch(case):
    mode, inp, offs, last, pad, psw = BAGS[case]

    def factory(nn):
        return nn.EmbeddingBag(10, 3, mode=mode, include_last_offset=last, padding_idx=pad)
    theirs = factory(T.nn).double()
    ours = factory(td.nn).double()
    ours.load_state_dict({k: td.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(case)
    w = rng.standard_normal(np.shape(inp)) if psw else None

    def call(mod, model):
        x = mod.tensor(inp)
        o = None if offs is None else mod.tensor(offs)
        p = None if w is None else mod.tensor(w, requires_grad=True)
        return model(x, o, p), p
    (oo, po), (ot, pt) = call(td, ours), call(T, theirs)
    _grads_match(oo, ot, [ours.weight] + ([po] if psw else []), [theirs.weight] + ([pt] if psw else []))


def test_embedding_bag_scale_grad_by_freq_and_from_pretrained():
    """Each row's gradient divided by its index's count in the input, as F.embedding's
    scale_grad_by_freq (torch 1.13's embedding_bag CPU backward looks the counts up at
    the wrong positions: for [2, 2, 5] it scales index 5 by 1/2; the reference here is
    torch's embedding followed by the bag sums)."""
    w = np.random.default_rng(1).standard_normal((6, 2))
    wo, wt = td.tensor(w, requires_grad=True), T.tensor(w, requires_grad=True)
    x = [3, 1, 1, 2, 1, 5, 2]
    oo = td.nn.functional.embedding_bag(td.tensor(x), wo, td.tensor([0, 2]), scale_grad_by_freq=True, mode="sum")
    rows = T.nn.functional.embedding(T.tensor(x), wt, scale_grad_by_freq=True)
    ot = T.stack([rows[:2].sum(0), rows[2:].sum(0)])
    _grads_match(oo, ot, [wo], [wt])
    bag = td.nn.EmbeddingBag.from_pretrained(td.tensor(w), mode="max")
    assert not bag.weight.requires_grad and bag.mode == "max"


EB_ERRORS = [
    ("2-D with offsets", lambda F, m, w: F.embedding_bag(m.tensor([[1, 2]]), w, m.tensor([0]))),
    ("1-D without offsets", lambda F, m, w: F.embedding_bag(m.tensor([1, 2]), w)),
    ("3-D input", lambda F, m, w: F.embedding_bag(m.tensor([[[1]]]), w)),
    ("mode", lambda F, m, w: F.embedding_bag(m.tensor([[1, 2]]), w, mode="min")),
    ("max freq", lambda F, m, w: F.embedding_bag(m.tensor([[1, 2]]), w, mode="max", scale_grad_by_freq=True)),
    ("psw shape", lambda F, m, w: F.embedding_bag(m.tensor([[1, 2]]), w, per_sample_weights=m.ones(3))),
    ("psw mean", lambda F, m, w: F.embedding_bag(m.tensor([[1, 2]]), w, per_sample_weights=m.ones(1, 2))),
]


@pytest.mark.parametrize("name", [e[0] for e in EB_ERRORS])
def test_embedding_bag_errors(name):
    fn = dict(EB_ERRORS)[name]
    with pytest.raises(Exception) as et:
        fn(T.nn.functional, T, T.ones(4, 2))
    with pytest.raises(type(et.value)) as eo:
        fn(td.nn.functional, td, td.ones(4, 2))
    assert str(eo.value) == str(et.value).replace("torch.Tensor", "tensord.Tensor")


INTERP = [
    # (input shape, kwargs)
    ((2, 3, 5), dict(size=9, mode="nearest")),
    ((2, 3, 5), dict(scale_factor=1.7, mode="nearest")),
    ((1, 2, 5), dict(size=3, mode="nearest")),
    ((2, 3, 4, 5), dict(scale_factor=(2, 1.5), mode="nearest")),
    ((2, 3, 4, 5), dict(size=(7, 3), mode="nearest-exact")),
    ((2, 3, 5), dict(size=8, mode="linear")),
    ((2, 3, 5), dict(size=8, mode="linear", align_corners=True)),
    ((2, 3, 5), dict(scale_factor=2.5, mode="linear")),
    ((2, 3, 5), dict(scale_factor=2.5, mode="linear", recompute_scale_factor=True)),
    ((2, 2, 4, 5), dict(size=(6, 9), mode="bilinear")),
    ((2, 2, 4, 5), dict(size=(3, 2), mode="bilinear", align_corners=True)),
    ((2, 2, 4, 5), dict(scale_factor=1.5, mode="bilinear")),
    ((1, 2, 3, 4, 2), dict(size=(5, 3, 4), mode="trilinear")),
    ((1, 2, 3, 4, 2), dict(scale_factor=2, mode="nearest")),
    ((2, 2, 6, 6), dict(size=(3, 4), mode="area")),
    ((2, 2, 6, 6), dict(scale_factor=0.5, mode="area")),
    ((2, 2, 5, 4), dict(size=(1, 1), mode="bilinear", align_corners=True)),
]


@pytest.mark.parametrize("case", range(len(INTERP)))
def test_interpolate_matches_pytorch(case):
    shape, kw = INTERP[case]
    x = np.random.default_rng(case).standard_normal(shape)
    xo, xt = td.tensor(x, requires_grad=True), T.tensor(x, requires_grad=True)
    _grads_match(td.nn.functional.interpolate(xo, **kw), T.nn.functional.interpolate(xt, **kw), [xo], [xt])


@pytest.mark.parametrize("factory", [lambda nn: nn.Upsample(scale_factor=2, mode="nearest"),
                                     lambda nn: nn.Upsample(size=(5, 7), mode="bilinear"),
                                     lambda nn: nn.UpsamplingNearest2d(scale_factor=(2, 3)),
                                     lambda nn: nn.UpsamplingBilinear2d(size=6)])
def test_upsample_modules(factory):
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 3))
    xo, xt = td.tensor(x, requires_grad=True), T.tensor(x, requires_grad=True)
    mo, mt = factory(td.nn), factory(T.nn)
    assert repr(mo) == repr(mt)
    _grads_match(mo(xo), mt(xt), [xo], [xt])


def test_deprecated_upsample_functions_warn():
    x = np.random.default_rng(4).standard_normal((1, 1, 2, 3))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        o = td.nn.functional.upsample_bilinear(td.tensor(x), scale_factor=2)
        assert any("deprecated" in str(m.message) for m in w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = T.nn.functional.upsample_bilinear(T.tensor(x), scale_factor=2)
    np.testing.assert_allclose(o.numpy(), t.numpy(), **TOL)


INTERP_ERRORS = [
    ("both", lambda F, x: F.interpolate(x, size=3, scale_factor=2)),
    ("neither", lambda F, x: F.interpolate(x)),
    ("align nearest", lambda F, x: F.interpolate(x, size=3, align_corners=True)),
    ("size length", lambda F, x: F.interpolate(x, size=(3, 4))),
    ("scale length", lambda F, x: F.interpolate(x, scale_factor=(3, 4))),
    ("recompute with size", lambda F, x: F.interpolate(x, size=3, recompute_scale_factor=True)),
    ("bilinear 3-D", lambda F, x: F.interpolate(x, size=3, mode="bilinear")),
    ("linear 4-D", lambda F, x: F.interpolate(x.unsqueeze(0), size=(3, 3), mode="linear")),
    ("antialias linear", lambda F, x: F.interpolate(x, size=3, mode="linear", antialias=True)),
    ("2-D input", lambda F, x: F.interpolate(x[0], size=3)),
]


@pytest.mark.parametrize("name", [e[0] for e in INTERP_ERRORS])
def test_interpolate_errors(name):
    fn = dict(INTERP_ERRORS)[name]
    with pytest.raises(Exception) as et:
        fn(T.nn.functional, T.zeros(1, 2, 4))
    with pytest.raises(type(et.value)) as eo:
        fn(td.nn.functional, td.zeros(1, 2, 4))
    assert str(eo.value) == str(et.value)
