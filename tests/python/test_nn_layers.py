"""tensord.nn's layers and losses against PyTorch 1.13: each module built in both, torch's
weights copied into ours through load_state_dict, the same float64 inputs; the outputs,
the inputs' gradients and the parameters' gradients compared (every loss under each
reduction).  Then initialization (nn.init) and nn.utils against torch."""
import math
import warnings

import numpy as np
import pytest
import torch as T

import tensord as td
from tdhelpers import assert_raises_like

# input specs: ("f", shape[, domain]) a float input that requires grad, ("c", array) a float
# constant, ("i", array) an int64 constant
ACT = [("f", (3, 4))]


def _f(shape, domain="any"):
    return ("f", shape, domain)


LAYERS = {
    "Identity": (lambda nn: nn.Identity(), ACT),
    "Linear": (lambda nn: nn.Linear(4, 3), [_f((2, 4))]),
    "Linear3d": (lambda nn: nn.Linear(4, 3), [_f((2, 5, 4))]),
    "LinearNoBias": (lambda nn: nn.Linear(4, 3, bias=False), [_f((2, 4))]),
    "Bilinear": (lambda nn: nn.Bilinear(3, 2, 4), [_f((5, 3)), _f((5, 2))]),
    "Flatten": (lambda nn: nn.Flatten(), [_f((2, 3, 4))]),
    "Unflatten": (lambda nn: nn.Unflatten(1, (2, 2)), [_f((3, 4))]),
    "Embedding": (lambda nn: nn.Embedding(6, 3), [("i", np.array([[0, 2, 5], [2, 2, 1]]))]),
    "EmbeddingPadding": (lambda nn: nn.Embedding(6, 3, padding_idx=2), [("i", np.array([[0, 2, 5], [2, 2, 1]]))]),
    "EmbeddingScaleFreq": (lambda nn: nn.Embedding(6, 3, scale_grad_by_freq=True),
                           [("i", np.array([0, 2, 2, 1, 2]))]),
    "LayerNorm": (lambda nn: nn.LayerNorm(4), [_f((3, 4))]),
    "LayerNorm2": (lambda nn: nn.LayerNorm((3, 4), elementwise_affine=False), [_f((2, 3, 4))]),
    "GroupNorm": (lambda nn: nn.GroupNorm(2, 4), [_f((3, 4, 5))]),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(4), [_f((5, 4))]),
    "BatchNorm1d3": (lambda nn: nn.BatchNorm1d(3, momentum=None), [_f((4, 3, 2))]),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3, affine=False), [_f((2, 3, 2, 2))]),
    "BatchNorm2dNoStats": (lambda nn: nn.BatchNorm2d(3, track_running_stats=False), [_f((2, 3, 2, 2))]),
    "InstanceNorm1d": (lambda nn: nn.InstanceNorm1d(3, affine=True, track_running_stats=True), [_f((2, 3, 5))]),
    "InstanceNorm2d": (lambda nn: nn.InstanceNorm2d(3), [_f((2, 3, 2, 3))]),
    "InstanceNorm1d_unbatched": (lambda nn: nn.InstanceNorm1d(3, affine=True), [_f((3, 4))]),
    "PairwiseDistance": (lambda nn: nn.PairwiseDistance(p=3.0, keepdim=True), [_f((4, 3)), _f((4, 3))]),
    "CosineSimilarity": (lambda nn: nn.CosineSimilarity(dim=0), [_f((4, 3)), _f((4, 3))]),
    "Dropout_eval": (lambda nn: nn.Dropout(0.3).eval(), ACT),
    "Sequential": (lambda nn: nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.LayerNorm(5), nn.Linear(5, 2)),
                   [_f((3, 4))]),
    # activations
    "Threshold": (lambda nn: nn.Threshold(0.1, 20.0), [_f((3, 4), "away")]),
    "ReLU": (lambda nn: nn.ReLU(), [_f((3, 4), "away")]),
    "RReLU_eval": (lambda nn: nn.RReLU().eval(), [_f((3, 4), "away")]),
    "Hardtanh": (lambda nn: nn.Hardtanh(-0.5, 0.7), ACT),
    "ReLU6": (lambda nn: nn.ReLU6(), [("f", (3, 4), "wide")]),
    "Sigmoid": (lambda nn: nn.Sigmoid(), ACT),
    "Hardsigmoid": (lambda nn: nn.Hardsigmoid(), [("f", (3, 4), "wide")]),
    "Tanh": (lambda nn: nn.Tanh(), ACT),
    "SiLU": (lambda nn: nn.SiLU(), ACT),
    "Mish": (lambda nn: nn.Mish(), ACT),
    "Hardswish": (lambda nn: nn.Hardswish(), [("f", (3, 4), "wide")]),
    "ELU": (lambda nn: nn.ELU(alpha=0.7), [_f((3, 4), "away")]),
    "CELU": (lambda nn: nn.CELU(alpha=1.3), [_f((3, 4), "away")]),
    "SELU": (lambda nn: nn.SELU(), [_f((3, 4), "away")]),
    "GLU": (lambda nn: nn.GLU(), [_f((3, 4))]),
    "GELU": (lambda nn: nn.GELU(), ACT),
    "GELU_tanh": (lambda nn: nn.GELU(approximate="tanh"), ACT),
    "Hardshrink": (lambda nn: nn.Hardshrink(0.3), ACT),
    "LeakyReLU": (lambda nn: nn.LeakyReLU(0.2), [_f((3, 4), "away")]),
    "LogSigmoid": (lambda nn: nn.LogSigmoid(), ACT),
    "Softplus": (lambda nn: nn.Softplus(beta=2, threshold=1.5), ACT),
    "Softshrink": (lambda nn: nn.Softshrink(0.3), ACT),
    "PReLU": (lambda nn: nn.PReLU(), [_f((3, 4), "away")]),
    "PReLU_channels": (lambda nn: nn.PReLU(4, init=0.1), [_f((2, 4, 3), "away")]),
    "Softsign": (lambda nn: nn.Softsign(), ACT),
    "Tanhshrink": (lambda nn: nn.Tanhshrink(), ACT),
    "Softmin": (lambda nn: nn.Softmin(dim=1), ACT),
    "Softmax": (lambda nn: nn.Softmax(dim=0), ACT),
    "Softmax2d": (lambda nn: nn.Softmax2d(), [_f((2, 3, 2, 2))]),
    "LogSoftmax": (lambda nn: nn.LogSoftmax(dim=1), ACT),
    "PixelShuffle": (lambda nn: nn.PixelShuffle(2), [_f((2, 8, 3, 2))]),
    "PixelShuffle_unbatched": (lambda nn: nn.PixelShuffle(3), [_f((9, 2, 2))]),
    "PixelUnshuffle": (lambda nn: nn.PixelUnshuffle(2), [_f((2, 3, 4, 6))]),
    "PixelUnshuffle_5d": (lambda nn: nn.PixelUnshuffle(2), [_f((2, 2, 1, 4, 2))]),
    "LPPool1d": (lambda nn: nn.LPPool1d(2, 3, stride=2), [_f((2, 3, 9), "away")]),
    "LPPool2d": (lambda nn: nn.LPPool2d(3, (2, 3)), [_f((2, 2, 5, 6), "pos")]),
    "LPPool2d_ceil": (lambda nn: nn.LPPool2d(1.5, 2, stride=2, ceil_mode=True), [_f((1, 2, 5, 5), "pos")]),
    "LocalResponseNorm": (lambda nn: nn.LocalResponseNorm(3, alpha=0.2, beta=0.6, k=1.5), [_f((2, 5, 4))]),
    "LocalResponseNorm_4d": (lambda nn: nn.LocalResponseNorm(4), [_f((2, 6, 3, 2))]),
    "LocalResponseNorm_5d": (lambda nn: nn.LocalResponseNorm(2, alpha=0.5), [_f((1, 4, 2, 2, 3))]),
}

_PROB = ("f", (4, 3), "prob")


def _labels(*v):
    return ("i", np.array(v))


LOSSES = {
    "L1Loss": (lambda nn, r: nn.L1Loss(reduction=r), [_f((4, 3)), ("c", (4, 3))]),
    "MSELoss": (lambda nn, r: nn.MSELoss(reduction=r), [_f((4, 3)), _f((4, 3))]),
    "SmoothL1Loss": (lambda nn, r: nn.SmoothL1Loss(reduction=r, beta=0.5), [_f((4, 3)), ("c", (4, 3))]),
    "HuberLoss": (lambda nn, r: nn.HuberLoss(reduction=r, delta=0.7), [_f((4, 3)), ("c", (4, 3))]),
    "CrossEntropyLoss": (lambda nn, r: nn.CrossEntropyLoss(reduction=r), [_f((4, 3)), _labels(0, 2, 1, 2)]),
    "CrossEntropyLoss_weight_ignore": (
        lambda nn, r: nn.CrossEntropyLoss(weight=_w(nn, [0.2, 1.0, 2.5]), ignore_index=1, reduction=r),
        [_f((4, 3)), _labels(0, 2, 1, 2)]),
    "CrossEntropyLoss_smoothing": (
        lambda nn, r: nn.CrossEntropyLoss(weight=_w(nn, [0.2, 1.0, 2.5]), label_smoothing=0.2, reduction=r),
        [_f((4, 3)), _labels(0, 2, 1, 2)]),
    "CrossEntropyLoss_smoothing_ignore": (
        lambda nn, r: nn.CrossEntropyLoss(ignore_index=0, label_smoothing=0.1, reduction=r),
        [_f((4, 3)), _labels(0, 2, 1, 2)]),
    "CrossEntropyLoss_probs": (lambda nn, r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.1,
                                                                weight=_w(nn, [1.0, 0.5, 2.0])),
                               [_f((4, 3)), ("c", (4, 3), "prob")]),
    "CrossEntropyLoss_nd": (lambda nn, r: nn.CrossEntropyLoss(reduction=r),
                            [_f((2, 3, 2, 2)), ("i", np.array([[[0, 1], [2, 2]], [[1, 1], [0, 2]]]))]),
    "CrossEntropyLoss_unbatched": (lambda nn, r: nn.CrossEntropyLoss(reduction=r), [_f((3,)), ("i", np.array(2))]),
    "NLLLoss": (lambda nn, r: nn.NLLLoss(reduction=r), [_f((4, 3)), _labels(0, 2, 1, 2)]),
    "NLLLoss_weight_ignore": (lambda nn, r: nn.NLLLoss(weight=_w(nn, [0.5, 1.0, 3.0]), ignore_index=2, reduction=r),
                              [_f((4, 3)), _labels(0, 2, 1, 2)]),
    "BCELoss": (lambda nn, r: nn.BCELoss(reduction=r), [_PROB, ("c", (4, 3), "prob")]),
    "BCELoss_weight": (lambda nn, r: nn.BCELoss(weight=_w(nn, [0.5, 1.0, 2.0]), reduction=r),
                       [_PROB, ("c", (4, 3), "prob")]),
    "BCEWithLogitsLoss": (lambda nn, r: nn.BCEWithLogitsLoss(reduction=r), [_f((4, 3)), ("c", (4, 3), "prob")]),
    "BCEWithLogitsLoss_weights": (lambda nn, r: nn.BCEWithLogitsLoss(weight=_w(nn, [0.5, 1.0, 2.0]),
                                                                     pos_weight=_w(nn, [2.0, 0.5, 1.5]), reduction=r),
                                  [_f((4, 3)), ("c", (4, 3), "prob")]),
    "KLDivLoss": (lambda nn, r: nn.KLDivLoss(reduction=r), [_f((4, 3)), ("c", (4, 3), "prob")]),
    "KLDivLoss_log_target": (lambda nn, r: nn.KLDivLoss(reduction=r, log_target=True), [_f((4, 3)), _f((4, 3))]),
    "SoftMarginLoss": (lambda nn, r: nn.SoftMarginLoss(reduction=r), [_f((4, 3)), ("c", (4, 3), "sign")]),
    "MarginRankingLoss": (lambda nn, r: nn.MarginRankingLoss(margin=0.3, reduction=r),
                          [_f((5,)), _f((5,)), ("c", (5,), "sign")]),
    "HingeEmbeddingLoss": (lambda nn, r: nn.HingeEmbeddingLoss(margin=0.8, reduction=r),
                           [_f((4, 3)), ("c", (4, 3), "sign")]),
    "CosineEmbeddingLoss": (lambda nn, r: nn.CosineEmbeddingLoss(margin=0.1, reduction=r),
                            [_f((4, 3)), _f((4, 3)), ("c", (4,), "sign")]),
    "PoissonNLLLoss": (lambda nn, r: nn.PoissonNLLLoss(reduction=r), [_f((4, 3)), ("c", (4, 3), "pos")]),
    "PoissonNLLLoss_full": (lambda nn, r: nn.PoissonNLLLoss(log_input=False, full=True, reduction=r),
                            [("f", (4, 3), "pos"), ("c", (4, 3), "count")]),
    "GaussianNLLLoss": (lambda nn, r: nn.GaussianNLLLoss(reduction=r), [_f((4, 3)), _f((4, 3)), ("f", (4, 3), "pos")]),
    "GaussianNLLLoss_full_homo": (lambda nn, r: nn.GaussianNLLLoss(full=True, reduction=r),
                                  [_f((4, 3)), _f((4, 3)), ("f", (4,), "pos")]),
    "TripletMarginLoss": (lambda nn, r: nn.TripletMarginLoss(margin=2.0, reduction=r),
                          [_f((4, 3)), _f((4, 3)), _f((4, 3))]),
    "TripletMarginLoss_swap_p1": (lambda nn, r: nn.TripletMarginLoss(margin=2.0, p=1, swap=True, reduction=r),
                                  [_f((4, 3)), _f((4, 3)), _f((4, 3))]),
    "MultiLabelSoftMarginLoss": (lambda nn, r: nn.MultiLabelSoftMarginLoss(weight=_w(nn, [0.5, 1.0, 2.0]),
                                                                           reduction=r),
                                 [_f((4, 3)), ("c", (4, 3), "bits")]),
}


def _w(nn, values):
    mod = td if nn is td.nn else T
    return mod.tensor(values, dtype=mod.float64)


def _data(spec, rng):
    kind = spec[0]
    if kind == "i":
        return spec[1]
    shape, domain = spec[1], spec[2] if len(spec) > 2 else "any"
    x = rng.standard_normal(shape)
    if domain == "away":
        x = rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif domain == "wide":
        x = rng.uniform(-8, 8, shape)
    elif domain == "prob":
        x = rng.uniform(0.05, 0.95, shape)
    elif domain == "pos":
        x = rng.uniform(0.5, 2.0, shape)
    elif domain == "sign":
        x = rng.choice([-1.0, 1.0], shape)
    elif domain == "count":
        x = rng.integers(0, 5, shape).astype(np.float64)
    elif domain == "bits":
        x = rng.integers(0, 2, shape).astype(np.float64)
    return x


def _run(mod, model, specs, arrays):
    xs = []
    for spec, a in zip(specs, arrays):
        if spec[0] == "i":
            xs.append(mod.tensor(a, dtype=mod.int64))
        else:
            xs.append(mod.tensor(a, dtype=mod.float64, requires_grad=spec[0] == "f"))
    out = model(*xs)
    w = np.linspace(-1.0, 1.5, max(int(np.prod(out.shape)), 1)).reshape(tuple(out.shape))
    (out * mod.tensor(w, dtype=out.dtype)).sum().backward()
    grads = [x.grad.numpy() if x.grad is not None else None for x in xs]
    pgrads = {k: (p.grad.numpy() if p.grad is not None else None) for k, p in model.named_parameters()}
    return out.detach().numpy(), grads, pgrads


def _pair(factory):
    """torch's module and ours, ours loaded with torch's weights (float64)."""
    theirs = factory(T.nn).double()
    ours = factory(td.nn).double()
    ours.load_state_dict({k: td.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def _compare(ours, theirs, specs, seed):
    rng = np.random.default_rng(seed)
    arrays = [_data(s, rng) for s in specs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o, g, pg = _run(td, ours, specs, arrays)
        ro, rg, rpg = _run(T, theirs, specs, arrays)
    np.testing.assert_allclose(o, ro, rtol=1e-7, atol=1e-9)
    for a, b in zip(g, rg):
        assert (a is None) == (b is None)
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    assert sorted(pg) == sorted(rpg)
    for k in rpg:
        np.testing.assert_allclose(pg[k], rpg[k], rtol=1e-7, atol=1e-9, err_msg=k)
    return ours, theirs


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_pytorch(name):
    factory, specs = LAYERS[name]
    ours, theirs = _compare(*_pair(factory), specs, abs(hash(name)) % 2**32)
    # running statistics and counters moved the same way
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-7, atol=1e-9, err_msg=k)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_loss_matches_pytorch(name, reduction):
    factory, specs = LOSSES[name]
    _compare(*_pair(lambda nn: factory(nn, reduction)), specs, abs(hash(name)) % 2**32)


def test_kl_div_batchmean_and_warning():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)), rng.uniform(0.1, 0.9, (4, 3))
    ours = td.nn.functional.kl_div(td.tensor(a), td.tensor(b), reduction="batchmean")
    np.testing.assert_allclose(ours.item(), T.nn.functional.kl_div(T.tensor(a), T.tensor(b),
                                                                   reduction="batchmean").item())
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        td.nn.functional.kl_div(td.tensor(a), td.tensor(b))


def test_batchnorm_eval_uses_running_stats():
    ours, theirs = _pair(lambda nn: nn.BatchNorm1d(3))
    rng = np.random.default_rng(1)
    for _ in range(3):  # move the running stats in training first
        x = rng.standard_normal((6, 3)) * 2 + 1
        ours(td.tensor(x))
        theirs(T.tensor(x))
    ours.eval()
    theirs.eval()
    _compare(ours, theirs, [_f((4, 3))], 5)
    assert ours.num_batches_tracked.item() == 3


def test_embedding_max_norm_renormalizes_rows():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((5, 3)) * 3
    idx = np.array([[0, 3], [3, 4]])
    ours = td.nn.Embedding.from_pretrained(td.tensor(w), freeze=False, max_norm=1.5)
    theirs = T.nn.Embedding.from_pretrained(T.tensor(w), freeze=False, max_norm=1.5)
    np.testing.assert_allclose(ours(td.tensor(idx)).detach().numpy(), theirs(T.tensor(idx)).detach().numpy())
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy())
    assert repr(ours) == repr(theirs) == "Embedding(5, 3, max_norm=1.5)"


def test_dropout_training_statistics_and_scaling():
    td.manual_seed(0)
    x = td.ones(20000)
    y = td.nn.Dropout(0.3)(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    xg = td.ones(100, requires_grad=True)
    out = td.nn.functional.dropout(xg, 0.5, training=True)
    out.sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), (out.detach().numpy() != 0) * 2.0)
    np.testing.assert_array_equal(td.nn.functional.dropout(x, 0.5, training=False).numpy(), x.numpy())
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        td.nn.Dropout(1.5)


def test_dropout2d_zeroes_whole_channels():
    td.manual_seed(1)
    y = td.nn.Dropout2d(0.5)(td.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))


def test_functional_activations_inplace_and_errors():
    for mod in (td, T):
        x = mod.tensor([-1.0, 0.5, 2.0])
        mod.nn.functional.relu(x, inplace=True)
        np.testing.assert_allclose(x.numpy(), [0.0, 0.5, 2.0])
        with pytest.raises(RuntimeError, match="Halving dimension must be even"):
            mod.nn.functional.glu(mod.ones(3, 3))
        with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
            mod.nn.functional.gelu(mod.ones(2), approximate="x")


def test_loss_argument_errors_match_pytorch():
    for mod in (td, T):
        F = mod.nn.functional
        with pytest.raises(ValueError, match="Using a target size .* is deprecated"):
            F.binary_cross_entropy(mod.full((2, 2), 0.5), mod.ones(2))
        with pytest.raises(ValueError, match=r"Target size \(torch.Size\(\[2\]\)\) must be the same as input size"):
            F.binary_cross_entropy_with_logits(mod.ones(2, 2), mod.ones(2))
        with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)"):
            F.nll_loss(mod.ones(3, 4), mod.tensor([0, 1]))
        with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
            F.mse_loss(mod.ones(2), mod.ones(2), reduction="foo")
        with pytest.warns(UserWarning, match="Using a target size"):
            F.mse_loss(mod.ones(2, 1), mod.ones(2))
        with pytest.raises(ValueError, match="var has negative entry"):
            F.gaussian_nll_loss(mod.ones(2), mod.ones(2), -mod.ones(2))
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            assert mod.nn.MSELoss(size_average=False).reduction == "sum"


@pytest.mark.parametrize("shape,target", [((2, 3), [0, 3]), ((2, 3), [-1, 0]), ((2, 3, 4), [[0, 1, 2, 5], [0] * 4]),
                                          ((3,), 7)])
def test_class_target_out_of_bounds_raises_as_pytorch(shape, target):
    """A wrong label: torch's IndexError "Target 3 is out of bounds." (tensord's kernel
    finds it, so it surfaces at the next sync); ignore_index stays allowed."""
    def run(mod, fn):
        x = mod.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape), dtype=mod.float32)
        return fn(x, mod.tensor(target)).item()
    for fn in ("cross_entropy", "nll_loss"):
        assert_raises_like(lambda: run(td, getattr(td.nn.functional, fn)), lambda: run(T, getattr(T.nn.functional, fn)))
    if len(shape) == 2:
        ok = [1, -100]
        got = td.nn.functional.cross_entropy(td.ones(*shape), td.tensor(ok)).item()
        assert got == pytest.approx(T.nn.functional.cross_entropy(T.ones(*shape), T.tensor(ok)).item())


@pytest.mark.parametrize("shape,tshape,tdtype", [
    ((2, 3), (2, 3), "int64"), ((2, 3), (2,), "float32"), ((2, 3), (2, 1), "int64"), ((2, 3), (2, 3), "float32"),
    ((3,), (), "int64"), ((3,), (1,), "int64"), ((2, 3, 4), (2, 3), "int64"), ((2, 3, 4), (2, 4, 1), "int64"),
    ((2, 3), (2,), "int32"), ((2, 3), (3,), "int64"), ((3,), (3,), "float32"), ((2, 3, 4), (2, 3, 4), "float32"),
    ((2, 3, 4, 5), (2, 4), "int64"), ((2, 3, 4, 5), (2, 4, 6), "int64"), ((2, 3, 4, 5), (3, 4, 5), "int64"),
    ((2, 3, 4, 5), (2, 4, 5), "float32"), ((2, 3), (), "int64"), ((3,), (2, 2), "int64"), ((2, 3), (2,), "uint8"), ((2, 3), (2,), "bool"),
    ((2, 3), (2,), "float64"), ((2, 3, 4), (2, 4), "float32"), ((2, 3, 4, 5), (2, 4, 5), "int64"),
    ((2, 3, 4, 5, 2), (2, 4, 5, 2), "int64")])
def test_class_target_checks_match_pytorch(shape, tshape, tdtype):
    """cross_entropy picks class probabilities by the target's shape (torch's rule), and
    nll_loss checks ranks, sizes and the target dtype in torch's order, with its messages."""
    def run(mod, fn):
        x = mod.ones(shape).cumsum(-1)
        return getattr(mod.nn.functional, fn)(x, mod.zeros(tshape, dtype=getattr(mod, tdtype))).item()
    for fn in ("cross_entropy", "nll_loss"):
        try:
            want = run(T, fn)
        except (RuntimeError, ValueError):
            assert_raises_like(lambda: run(td, fn), lambda: run(T, fn))
        else:
            assert run(td, fn) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("case", ["linear", "linear_3d", "linear_long", "linear_nobias", "linear_1d", "lstm", "gru",
                                  "rnn_double_model", "vector_matmul"])
def test_float64_data_into_float32_layers_raises_as_pytorch(case):
    """The usual mistake (numpy's float64 into a float32 model): torch's messages come from
    the kernel each layer reaches (addmm for linear with a bias and the recurrent layers)."""
    def run(m):
        d = m.float64
        return {"linear": lambda: m.nn.Linear(2, 3)(m.ones(4, 2, dtype=d)),
                "linear_3d": lambda: m.nn.Linear(2, 3)(m.ones(5, 4, 2, dtype=d)),
                "linear_long": lambda: m.nn.Linear(2, 3)(m.ones(4, 2, dtype=m.int64)),
                "linear_nobias": lambda: m.nn.Linear(2, 3, bias=False)(m.ones(4, 2, dtype=d)),
                "linear_1d": lambda: m.nn.Linear(2, 3)(m.ones(2, dtype=d)),
                "lstm": lambda: m.nn.LSTM(2, 3)(m.ones(4, 1, 2, dtype=d)),
                "gru": lambda: m.nn.GRU(2, 3, batch_first=True)(m.ones(1, 4, 2, dtype=d)),
                "rnn_double_model": lambda: m.nn.RNN(2, 3).double()(m.ones(4, 1, 2)),
                "vector_matmul": lambda: m.ones(3, dtype=d) @ m.ones(3)}[case]()
    assert_raises_like(lambda: run(td), lambda: run(T))


def test_autocast_lets_linear_mix_dtypes():
    for mod in (td, T):
        with mod.autocast("cpu", dtype=mod.bfloat16):
            assert mod.nn.Linear(2, 3)(mod.ones(4, 2, dtype=mod.bfloat16)).dtype is mod.bfloat16


def test_layer_norm_and_group_norm_errors():
    for mod in (td, T):
        with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[5\], expected input with shape \[\*, 5\]"):
            mod.nn.functional.layer_norm(mod.ones(2, 3), (5,))
        with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
            mod.nn.GroupNorm(3, 4)
        with pytest.raises(ValueError, match="expected 4D input"):
            mod.nn.BatchNorm2d(3)(mod.ones(2, 3))
        with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
            mod.nn.BatchNorm1d(3)(mod.ones(1, 3))


# ---------------------------------------------------------------- nn.init

def test_init_deterministic_exact():
    w = td.empty(3, 5)
    td.nn.init.constant_(w, 0.25)
    np.testing.assert_array_equal(w.numpy(), np.full((3, 5), 0.25, np.float32))
    td.nn.init.eye_(w)
    np.testing.assert_array_equal(w.numpy(), np.eye(3, 5, dtype=np.float32))
    td.nn.init.ones_(w)
    assert (w.numpy() == 1).all()
    td.nn.init.zeros_(w)
    assert (w.numpy() == 0).all()
    c, r = td.empty(4, 2, 3, 3), T.empty(4, 2, 3, 3)
    td.nn.init.dirac_(c, groups=2)
    T.nn.init.dirac_(r, groups=2)
    np.testing.assert_array_equal(c.numpy(), r.numpy())
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        td.nn.init.eye_(td.empty(2, 2, 2))
    # the deprecated spellings: the same values, torch's warning
    for name in ("eye", "dirac", "constant"):
        args = (0.5,) if name == "constant" else ()
        msgs = []
        for m in (td, T):
            t = m.empty(3, 3, 3) if name == "dirac" else m.empty(3, 5)
            with pytest.warns(UserWarning) as w:
                getattr(m.nn.init, name)(t, *args)
            msgs.append((str(w[0].message), t.numpy().tolist()))
        assert msgs[0] == msgs[1]


@pytest.mark.parametrize("nonlin,param", [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                                          ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
                                          ("conv2d", None)])
def test_calculate_gain_matches_pytorch(nonlin, param):
    assert td.nn.init.calculate_gain(nonlin, param) == T.nn.init.calculate_gain(nonlin, param)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        td.nn.init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        td.nn.init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("fn,kwargs,shape", [
    ("kaiming_uniform_", {"a": math.sqrt(5)}, (64, 48)),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, (32, 16, 3, 3)),
    ("xavier_uniform_", {"gain": 2.0}, (64, 48)),
    ("uniform_", {"a": -0.3, "b": 0.7}, (64, 48)),
])
def test_uniform_inits_bounds_match_pytorch(fn, kwargs, shape):
    td.manual_seed(0)
    ours = getattr(td.nn.init, fn)(td.empty(*shape), **kwargs).numpy()
    theirs = getattr(T.nn.init, fn)(T.empty(*shape), **kwargs).numpy()
    # both draw uniformly in the same interval: the extremes agree to a few percent
    span = theirs.max() - theirs.min()
    assert abs(ours.max() - theirs.max()) < 0.03 * span and abs(ours.min() - theirs.min()) < 0.03 * span
    assert abs(ours.mean() - theirs.mean()) < 0.03 * span and abs(ours.std() - theirs.std()) < 0.05 * theirs.std()


@pytest.mark.parametrize("fn,kwargs,std", [
    ("normal_", {"mean": 0.5, "std": 2.0}, 2.0),
    ("kaiming_normal_", {"nonlinearity": "relu"}, math.sqrt(2.0 / 200)),
    ("xavier_normal_", {}, math.sqrt(2.0 / 300)),
])
def test_normal_inits_statistics(fn, kwargs, std):
    td.manual_seed(1)
    w = getattr(td.nn.init, fn)(td.empty(100, 200), **kwargs).numpy()
    assert abs(w.std() - std) < 0.03 * std
    assert abs(w.mean() - kwargs.get("mean", 0.0)) < 0.03 * std


def test_init_same_seed_same_values_and_no_grad():
    p = td.nn.Parameter(td.empty(4, 4))
    td.manual_seed(7)
    a = td.nn.init.kaiming_uniform_(p).detach().numpy().copy()
    td.manual_seed(7)
    b = td.nn.init.kaiming_uniform_(p).detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_trunc_normal_and_orthogonal():
    td.manual_seed(3)
    w = td.nn.init.trunc_normal_(td.empty(200, 100), std=1.0, a=-1.0, b=1.5).numpy()
    assert w.min() >= -1.0 and w.max() <= 1.5 and abs(w.mean() - 0.153) < 0.02  # the truncated normal's mean
    q = td.nn.init.orthogonal_(td.empty(6, 4), gain=2.0).numpy().astype(np.float64)
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-5)
    q = td.nn.init.orthogonal_(td.empty(3, 5)).numpy().astype(np.float64)
    np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-5)


def test_default_init_of_linear_within_torch_bounds():
    td.manual_seed(0)
    lin = td.nn.Linear(50, 30)
    bound = 1 / math.sqrt(50)  # kaiming_uniform_(a=sqrt(5)) gives exactly 1/sqrt(fan_in)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    emb = td.nn.Embedding(10, 4, padding_idx=3)
    assert (emb.weight.detach().numpy()[3] == 0).all()


# ---------------------------------------------------------------- nn.utils

@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_clip_grad_norm_matches_pytorch(norm_type):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    res = []
    for mod in (td, T):
        ps = [mod.tensor(a, requires_grad=True) for a in arrays]
        for p, a in zip(ps, arrays):
            (p * mod.tensor(a * 3)).sum().backward()
        total = mod.nn.utils.clip_grad_norm_(ps, 1.5, norm_type=norm_type)
        res.append((total.item(), [p.grad.numpy() for p in ps]))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    for a, b in zip(res[0][1], res[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_get_total_norm_and_clip_grads_with_norm_like_clip_grad_norm(norm_type):
    """torch 2.6's two halves of clip_grad_norm_ (absent from 1.13): the same total and the
    same scaled gradients as torch 1.13's clip_grad_norm_."""
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    tp = [T.tensor(a, requires_grad=True) for a in arrays]
    dp = [td.tensor(a, requires_grad=True) for a in arrays]
    for ps, mod in ((tp, T), (dp, td)):
        for p, a in zip(ps, arrays):
            (p * mod.tensor(a * 3)).sum().backward()
    want = T.nn.utils.clip_grad_norm_(tp, 1.5, norm_type=norm_type)
    total = td.nn.utils.get_total_norm([p.grad for p in dp], norm_type)
    td.nn.utils.clip_grads_with_norm_(dp, 1.5, total)
    assert total.item() == pytest.approx(want.item(), rel=1e-12)
    for a, b in zip(tp, dp):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-12)
    assert td.nn.utils.get_total_norm([]).item() == 0.0


def test_clip_grad_value_and_nonfinite():
    for mod in (td, T):
        p = mod.tensor([1.0, -2.0, 3.0], requires_grad=True)
        (p * mod.tensor([5.0, -5.0, 0.5])).sum().backward()
        mod.nn.utils.clip_grad_value_([p], 1.0)
        np.testing.assert_allclose(p.grad.numpy(), [1.0, -1.0, 0.5])
        q = mod.tensor([1.0], requires_grad=True)
        (q * float("inf")).sum().backward()
        with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from `parameters` is "
                                               "non-finite"):
            mod.nn.utils.clip_grad_norm_(q, 1.0, error_if_nonfinite=True)


def test_parameters_vector_roundtrip():
    lin = td.nn.Linear(3, 2)
    v = td.nn.utils.parameters_to_vector(lin.parameters())
    assert tuple(v.shape) == (8,)
    np.testing.assert_allclose(v.detach().numpy()[:6], lin.weight.detach().numpy().reshape(-1))
    td.nn.utils.vector_to_parameters(td.arange(8.0), lin.parameters())
    np.testing.assert_allclose(lin.weight.detach().numpy(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(lin.bias.detach().numpy(), [6.0, 7.0])
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        td.nn.utils.vector_to_parameters([1.0], lin.parameters())


def test_training_steps_track_pytorch():
    """Twenty SGD steps of a small classifier (Embedding, LayerNorm, Linear, GELU,
    BatchNorm, CrossEntropy with label smoothing), by hand, from the same weights:
    the parameters stay equal to torch's."""
    def build(nn):
        return nn.ModuleDict({"emb": nn.Embedding(7, 4, padding_idx=0), "norm": nn.LayerNorm(4),
                              "fc": nn.Linear(8, 6), "act": nn.GELU(), "bn": nn.BatchNorm1d(6),
                              "out": nn.Linear(6, 3)})

    def step(mod, m, tokens, labels):
        e = m["norm"](m["emb"](tokens)).flatten(1)
        logits = m["out"](m["bn"](m["act"](m["fc"](e))))
        loss = mod.nn.functional.cross_entropy(logits, labels, label_smoothing=0.05)
        m.zero_grad()
        loss.backward()
        with mod.no_grad():
            for p in m.parameters():
                p.sub_(p.grad * 0.1)
        return loss.item()

    ours, theirs = _pair(build)
    rng = np.random.default_rng(9)
    for _ in range(20):
        tokens, labels = rng.integers(0, 7, (5, 2)), rng.integers(0, 3, 5)
        a = step(td, ours, td.tensor(tokens), td.tensor(labels))
        b = step(T, theirs, T.tensor(tokens), T.tensor(labels))
        np.testing.assert_allclose(a, b, rtol=1e-9)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-8, atol=1e-10, err_msg=k)


@pytest.mark.parametrize("kw", [{}, {"p": 2, "margin": 0.5}, {"weight": True}, {"reduction": "none"},
                                {"reduction": "sum"}])
def test_multi_margin_loss_matches_torch(kw):
    rng = np.random.default_rng(0)
    x, y, w = rng.standard_normal((4, 5)), np.array([0, 3, 4, 1]), rng.random(5)
    out = []
    for m in (T, td):
        xx = m.tensor(x, requires_grad=True)
        k = dict(kw, weight=m.tensor(w)) if "weight" in kw else kw
        loss = m.nn.MultiMarginLoss(**k)(xx, m.tensor(y))
        loss.sum().backward()
        out.append((loss.detach().numpy(), xx.grad.numpy()))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "none", "sum"])
def test_multilabel_margin_loss_matches_torch(reduction):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5))
    t = np.array([[3, 0, -1, 1, 2], [1, 2, 4, -1, 0], [0, 1, 2, 3, 4], [-1, 0, 0, 0, 0]])
    out = []
    for m in (T, td):
        xx = m.tensor(x, requires_grad=True)
        loss = m.nn.MultiLabelMarginLoss(reduction=reduction)(xx, m.tensor(t))
        loss.sum().backward()
        out.append((loss.detach().numpy(), xx.grad.numpy()))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for m in (T, td):
        with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
            m.nn.MultiMarginLoss(p=3)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    ref = T.nn.utils.weight_norm(T.nn.Linear(4, 3).double(), dim=dim)
    ours = td.nn.utils.weight_norm(td.nn.Linear(4, 3).double(), dim=dim)
    assert sorted(ours.state_dict()) == sorted(ref.state_dict()) == ["bias", "weight_g", "weight_v"]
    ours.load_state_dict({k: td.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).random((2, 4))
    a, b = ref(T.tensor(x)), ours(td.tensor(x))
    (a ** 2).sum().backward()
    (b ** 2).sum().backward()
    np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-12)
    theirs = dict(ref.named_parameters())
    for n, q in ours.named_parameters():
        np.testing.assert_allclose(q.grad.numpy(), theirs[n].grad.numpy(), rtol=1e-10, err_msg=n)
    T.nn.utils.remove_weight_norm(ref)
    td.nn.utils.remove_weight_norm(ours)
    assert sorted(dict(ours.named_parameters())) == ["bias", "weight"]
    np.testing.assert_allclose(ours.weight.detach().numpy(), ref.weight.detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        td.nn.utils.remove_weight_norm(ours)


@pytest.mark.parametrize("kind", ["linear", "conv", "conv_transpose"])
def test_spectral_norm_matches_torch(kind):
    """Same buffers in, same power iterations (training), same outputs, gradients and
    buffers out; eval mode stops the iteration; remove_spectral_norm leaves w / sigma."""
    def build(m):
        return {"linear": lambda: m.nn.Linear(5, 4), "conv": lambda: m.nn.Conv2d(2, 3, 2),
                "conv_transpose": lambda: m.nn.ConvTranspose2d(2, 3, 2)}[kind]().double()
    ref = T.nn.utils.spectral_norm(build(T), n_power_iterations=2)
    ours = td.nn.utils.spectral_norm(build(td), n_power_iterations=2)
    assert sorted(ours.state_dict()) == sorted(ref.state_dict())
    ours.load_state_dict({k: td.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 5) if kind == "linear" else (1, 2, 4, 4))
    for _ in range(3):
        a, b = ref(T.tensor(x)), ours(td.tensor(x))
        (a ** 2).sum().backward()
        (b ** 2).sum().backward()
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.weight_u.numpy(), ref.weight_u.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.weight_orig.grad.numpy(), ref.weight_orig.grad.numpy(), rtol=1e-9)
    ref.eval()
    ours.eval()
    np.testing.assert_allclose(ours(td.tensor(x)).detach().numpy(), ref(T.tensor(x)).detach().numpy(), rtol=1e-10)
    T.nn.utils.remove_spectral_norm(ref)
    td.nn.utils.remove_spectral_norm(ours)
    np.testing.assert_allclose(ours.weight.detach().numpy(), ref.weight.detach().numpy(), rtol=1e-10)
