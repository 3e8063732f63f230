"""torch's top-level (ATen-form) functions of nn ops and the small top-level extras, against
torch 1.13: positional arguments in ATen's order, int enums (loss reduction, embedding_bag
mode, grid_sampler modes), tuple results (native_*), gradients through autograd, and the
error types and messages."""
import warnings

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, from_torch

warnings.filterwarnings("ignore", category=UserWarning)
RNG = np.random.default_rng(4321)


def R(*shape, dtype=torch.float64, low=-2.0, high=2.0):
    return torch.from_numpy(RNG.uniform(low, high, shape)).to(dtype)


def _conv(x):
    if isinstance(x, torch.Tensor):
        return from_torch(x)
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, torch.Tensor) for v in x):
        return type(x)(from_torch(v) for v in x)
    return x


def _leaves(args, grad):
    """torch and tensord copies of args; those at the positions in grad require grad."""
    want = [a.detach().clone().requires_grad_(i in grad) if isinstance(a, torch.Tensor) else a
            for i, a in enumerate(args)]
    got = [_conv(a) for a in args]
    got = [g.requires_grad_(True) if i in grad else g for i, g in enumerate(got)]
    return want, got


def _compare(got, want, rtol, atol):
    if isinstance(want, torch.Tensor):
        assert_same(got, want.detach(), rtol, atol)
    elif isinstance(want, (tuple, list)):
        assert type(got) is type(want) or (isinstance(got, tuple) and isinstance(want, tuple)), (type(got), type(want))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _compare(g, w, rtol, atol)
    else:
        assert got == want, (got, want)


def both(name, *args, grad=(), rtol=None, atol=None, **kw):
    """td.<name>(*args, **kw) against torch.<name>: the results; with grad (positions of
    args), the gradients of a random weighting of the first result too."""
    want_args, got_args = _leaves(args, grad)
    want = getattr(torch, name)(*want_args, **kw)
    got = getattr(td, name)(*got_args, **_kw(kw))
    _compare(got, want, rtol, atol)
    if grad:
        w0 = want[0] if isinstance(want, tuple) else want
        g0 = got[0] if isinstance(got, tuple) else got
        wt = R(*w0.shape, dtype=w0.dtype)
        (w0 * wt).sum().backward()
        (g0 * _conv(wt)).sum().backward()
        for i in grad:
            assert_same(got_args[i].grad, want_args[i].grad, rtol, atol)
    return got


def _kw(kw):
    return {k: _conv(v) for k, v in kw.items()}


def errs(name, *args, prefix=None, **kw):
    return assert_raises_like(lambda: getattr(td, name)(*[_conv(a) for a in args], **_kw(kw)),
                              lambda: getattr(torch, name)(*args, **kw), prefix)


# ---------------------------------------------------------------- normalization

def test_batch_norm_aten_order():
    x, w, b = R(4, 3, 5), R(3), R(3)
    for training in (True, False):
        rm, rv = R(3), R(3, low=0.5, high=2.0)
        both("batch_norm", x, w, b, rm, rv, training, 0.2, 1e-5, False, grad=(0, 1, 2))
        # the running statistics move the same way
        trm, trv = rm.clone(), rv.clone()
        grm, grv = _conv(rm), _conv(rv)
        torch.batch_norm(x, w, b, trm, trv, training, 0.2, 1e-5, False)
        td.batch_norm(_conv(x), _conv(w), _conv(b), grm, grv, training, 0.2, 1e-5, False)
        assert_same(grm, trm)
        assert_same(grv, trv)
    both("batch_norm", x, None, None, None, None, True, 0.1, 1e-5, True, grad=(0,))
    both("batch_norm", R(1, 3), None, None, None, None, True, 0.1, 1e-5, False)  # one value per channel: no error
    errs("batch_norm", x, None, None, None, None, False, 0.1, 1e-5, False)
    errs("batch_norm", "x", None, None, None, None, False, 0.1, 1e-5, False)


def test_instance_layer_group_norm():
    x, w, b = R(2, 4, 6), R(4), R(4)
    both("instance_norm", x, w, b, None, None, True, 0.1, 1e-5, False, grad=(0, 1, 2))
    both("instance_norm", x, w, b, R(4), R(4, low=0.5), False, 0.1, 1e-5, False, grad=(0,))
    errs("instance_norm", x, None, None, None, None, False, 0.1, 1e-5, False)
    both("layer_norm", x, [6], R(6), R(6), grad=(0, 2))
    both("layer_norm", x, (4, 6), eps=1e-3, cudnn_enable=False, grad=(0,))
    errs("layer_norm", x, [5])
    both("group_norm", x, 2, w, b, 1e-5, True, grad=(0, 2, 3))
    both("group_norm", x, 4)
    errs("group_norm", x, 3)


def test_native_norms_return_statistics():
    x = R(2, 3, 4)
    both("native_layer_norm", x, [4], R(4), R(4), 1e-5, grad=(0,))
    both("native_layer_norm", x, [3, 4], None, None, 1e-5)
    both("native_group_norm", x, R(3), R(3), 2, 3, 4, 3, 1e-5, grad=(0, 1))
    both("native_group_norm", R(2, 4, 2, 3), None, None, 2, 4, 6, 2, 1e-5)
    errs("native_group_norm", x, None, None, 2, 3, 5, 3, 1e-5)
    rm, rv = R(3), R(3, low=0.5)
    both("native_batch_norm", x, R(3), R(3), rm, rv, True, 0.1, 1e-5, grad=(0,))
    both("native_batch_norm", x, None, None, None, None, True, 0.1, 1e-5)
    r = both("native_batch_norm", x, None, None, R(3), R(3, low=0.5), False, 0.1, 1e-5)
    assert tuple(r[1].shape) == (0,) and tuple(r[2].shape) == (0,)


def test_native_norm_is_sparse_only():
    e = errs("native_norm", R(3), prefix=70)
    assert "SparseCPU" in str(e)


# ---------------------------------------------------------------- dropouts

DROPOUTS = ["dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout"]


@pytest.mark.parametrize("name", DROPOUTS)
def test_dropout_forms(name):
    x = _conv(R(8, 6, 5))
    assert getattr(td, name)(x, 0.5, False) is x  # torch too: the input itself
    assert getattr(torch, name)(R(2), 0.5, False) is not None
    y = getattr(td, name)(x, 0.0, True)
    assert_same(y, torch.from_numpy(x.detach().numpy()))
    y = getattr(td, name)(x, 0.4, True).detach().numpy()
    xs = x.detach().numpy()
    if name in ("dropout", "feature_dropout"):
        kept = y != 0
        np.testing.assert_allclose(y[kept], xs[kept] / 0.6, rtol=1e-12)
    else:  # alpha dropout: a * x (kept) or a * x' + b (dropped), keeping SELU's statistics
        alpha_p = -1.7580993408473766
        a = 1.0 / np.sqrt((alpha_p ** 2 * 0.4 + 1) * 0.6)
        b = -a * alpha_p * 0.4
        kept = np.isclose(y, a * xs + b, rtol=1e-9)
        dropped = np.isclose(y, a * alpha_p + b, rtol=1e-9)
        assert (kept | dropped).all()
        assert kept.any() and dropped.any()
    if name.startswith("feature"):  # whole (N, C) channels share one draw
        k = kept.reshape(8 * 6, 5)
        assert (k.all(1) | ~k.any(1)).all()
    # in place: the same tensor, now holding the result
    z = _conv(R(4, 5))
    assert getattr(td, name + "_")(z, 0.3, True) is z
    errs(name, R(3, 4), 1.5, True)
    errs(name + "_", R(3, 4), -0.1, False)
    if name.startswith("feature"):
        errs(name, R(3), 0.5, True)


def test_dropout_gradient_through_the_mask():
    x = td.ones(200, dtype=td.float64, requires_grad=True)
    y = td.dropout(x, 0.25, True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), y.detach().numpy())  # d(x * m / 0.75)/dx = m / 0.75 = y at x = 1


def test_native_dropout():
    x = _conv(R(20, 10))
    out, mask = td.native_dropout(x, 0.3, True)
    assert mask.dtype is td.bool and out.dtype is td.float64
    np.testing.assert_allclose(out.detach().numpy(), x.detach().numpy() * mask.detach().numpy() / 0.7, rtol=1e-12)
    assert 0 < mask.detach().numpy().sum() < 200
    out, mask = td.native_dropout(x, 0.3, None)  # None: train
    assert not mask.detach().numpy().all()
    both("native_dropout", R(3, 4), 0.5, False)
    both("native_dropout", R(3, 4), 0.0, True)
    o, m = td.native_dropout(x, 1.0, True)
    assert not m.detach().numpy().any() and not o.detach().numpy().any()
    errs("native_dropout", R(3), 1.5, True)


# ---------------------------------------------------------------- losses: reduction as an int

@pytest.mark.parametrize("reduction", [0, 1, 2, 3])
def test_losses_int_reduction(reduction):
    x, y = R(4, 5), R(4, 5)
    both("kl_div", x, R(4, 5, low=0.1, high=1.0), reduction, grad=(0,))
    both("kl_div", x, y, reduction, log_target=True, grad=(0, 1))
    t01 = R(4, 5, low=0.0, high=1.0)
    both("binary_cross_entropy_with_logits", x, t01, R(4, 5, low=0.1), R(5, low=0.5), reduction, grad=(0, 1))
    both("binary_cross_entropy_with_logits", x, t01, reduction=reduction, grad=(0,))
    sign = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    both("cosine_embedding_loss", x, y, sign, 0.1, reduction, grad=(0, 1))
    both("margin_ranking_loss", R(6), R(6), torch.tensor([1.0, -1, 1, 1, -1, -1], dtype=torch.float64), 0.2,
         reduction, grad=(0, 1))
    both("hinge_embedding_loss", x, torch.sign(y), 0.5, reduction, grad=(0,))
    both("triplet_margin_loss", x, y, R(4, 5), 1.0, 2.0, 1e-6, True, reduction, grad=(0, 1, 2))
    both("triplet_margin_loss", x, y, R(4, 5), margin=0.5, p=1.0, reduction=reduction)
    both("poisson_nll_loss", x, R(4, 5, low=0.0, high=3.0), True, False, 1e-8, reduction, grad=(0,))
    both("poisson_nll_loss", R(4, 5, low=0.1, high=2.0), R(4, 5, low=0.0, high=3.0), False, True, 1e-8, reduction,
         grad=(0,))


@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_ctc_loss_int_reduction(reduction):
    lp = torch.log_softmax(R(6, 2, 4), 2)
    targets = torch.tensor([[1, 2], [1, 1]])
    both("ctc_loss", lp, targets, [6, 5], [2, 2], 0, reduction, False, grad=(0,))
    both("ctc_loss", lp, targets, torch.tensor([6, 5]), torch.tensor([2, 1]), 0, reduction, True, grad=(0,))


def test_loss_default_reduction_is_none():
    # ATen declares Mean; torch 1.13's Python binding parses that default as 0 (none)
    x, y = R(4, 5), R(4, 5)
    sign = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    both("kl_div", x, R(4, 5, low=0.1, high=1.0))
    both("binary_cross_entropy_with_logits", x, R(4, 5, low=0.0, high=1.0))
    both("cosine_embedding_loss", x, y, sign)
    both("margin_ranking_loss", x, y, torch.sign(y))
    both("hinge_embedding_loss", x, torch.sign(y))
    both("triplet_margin_loss", x, y, R(4, 5))
    both("ctc_loss", torch.log_softmax(R(6, 2, 4), 2), torch.tensor([[1, 2], [1, 1]]), [6, 5], [2, 2])


def test_losses_broadcast_without_nn_functional_checks():
    x = R(4, 5)
    both("margin_ranking_loss", x[0], x[1], torch.sign(x), grad=(0, 1))  # nn.functional refuses unequal ranks
    both("kl_div", x, R(1, 5, low=0.1), 1, grad=(0,))
    # (torch 1.13's backward fails for a broadcast input: values only)
    both("binary_cross_entropy_with_logits", x[0], R(4, 5, low=0.0, high=1.0), None, None, 2)
    both("binary_cross_entropy_with_logits", R(4, 1), R(4, 5, low=0.0, high=1.0), None, R(5), 1)
    errs("binary_cross_entropy_with_logits", x, R(4, 1))
    errs("binary_cross_entropy_with_logits", x, R(3, 5))
    errs("triplet_margin_loss", x, x, x[0])
    errs("cosine_embedding_loss", x, x[0], torch.ones(4, dtype=torch.float64))
    errs("cosine_embedding_loss", x, x, torch.ones(3, dtype=torch.float64))


def test_loss_reduction_must_be_int():
    x = R(3)
    errs("kl_div", x, x, "mean")
    errs("hinge_embedding_loss", x, x, 1.0, "mean")
    errs("hinge_embedding_loss", x, x, 1.0, 1.5)
    errs("hinge_embedding_loss", x, x, 1.0, True)
    errs("margin_ranking_loss", x, x, x, 0.0, "sum")
    errs("kl_div", "x", x)


# ---------------------------------------------------------------- layers

def test_embedding_weight_first():
    w = R(6, 3)
    idx = torch.tensor([[0, 4], [2, 2]])
    both("embedding", w, idx, grad=(0,))
    both("embedding", w, idx, 2, grad=(0,))  # padding_idx: no gradient for row 2
    both("embedding", w, idx, -1, True, grad=(0,))  # negative: no padding; counts scale the gradient
    both("embedding", w, idx.int(), padding_idx=4, scale_grad_by_freq=True, sparse=False, grad=(0,))
    errs("embedding", w, torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_four_results(mode, padding_idx):
    w = R(6, 3)
    idx, offsets = torch.tensor([0, 5, 2, 2, 4]), torch.tensor([0, 2, 2])
    both("embedding_bag", w, idx, offsets, False, mode, False, None, False, padding_idx, grad=(0,))
    both("embedding_bag", w, idx, torch.tensor([0, 2, 5]), False, mode, False, None, True, grad=(0,))
    # float32 and float16 sums take torch's fast path: no offset2bag
    both("embedding_bag", w.float(), idx, offsets, False, mode, False, None, False, padding_idx, grad=(0,))

def test_embedding_bag_per_sample_weights():
    w = R(6, 3)
    idx, offsets = torch.tensor([0, 5, 2, 2, 4]), torch.tensor([0, 2])
    both("embedding_bag", w, idx, offsets, False, 0, False, R(5), grad=(0, 6))


def test_convolution_one_entry():
    x = R(2, 2, 7)
    both("convolution", x, R(4, 2, 3), R(4), [2], [1], [1], False, [0], 1, grad=(0, 1, 2))
    both("convolution", R(1, 4, 5, 6), R(6, 2, 3, 2), None, [1, 2], [1, 0], [1, 1], False, [0, 0], 2, grad=(0, 1))
    both("convolution", R(1, 2, 5, 5), R(4, 2, 3, 3), None, [1], [1], [1], False, [0], 1)  # one entry for both dims
    both("convolution", x, R(2, 3, 3), R(3), [2], [1], [1], True, [1], 1, grad=(0, 1, 2))
    both("convolution", R(1, 2, 4, 4), R(2, 3, 3, 3), None, [2, 1], [0, 1], [1, 1], True, [1, 0], 1, grad=(0, 1))
    errs("convolution", x, R(4, 2, 3), None, 1, [1], [1], False, [0], 1)
    errs("convolution", x, R(4, 2, 3), None, [1], [1], [1], False, [], 1)


def test_adaptive_max_pool1d_pair():
    both("adaptive_max_pool1d", R(2, 3, 7), 3, grad=(0,))
    both("adaptive_max_pool1d", R(3, 8), [4], grad=(0,))
    errs("adaptive_max_pool1d", R(3, 4, 5, 6), [2])


def test_constant_pad_nd():
    x = R(2, 3, 4)
    both("constant_pad_nd", x, [1, 2], grad=(0,))
    both("constant_pad_nd", x, [1, 2, 0, -1], 2.5, grad=(0,))
    both("constant_pad_nd", x, pad=[0, 0, 1, 1, 2, 0], value=-1)
    errs("constant_pad_nd", x, [1, 2, 3])
    errs("constant_pad_nd", x, [1] * 8)


@pytest.mark.parametrize("interp", [0, 1, 2])
@pytest.mark.parametrize("padding", [0, 1, 2])
def test_grid_sampler_int_modes(interp, padding):
    x, grid = R(1, 2, 4, 5), R(1, 3, 3, 2, low=-1.2, high=1.2)
    g = (0, 1) if interp != 1 else (0,)
    both("grid_sampler", x, grid, interp, padding, interp == 2, grad=g)


def test_rrelu_generator():
    x = R(50)
    both("rrelu", x, 0.1, 0.3, False, None, grad=(0,))
    both("rrelu", x)
    g = td.Generator().manual_seed(3)
    a = td.rrelu(_conv(x), 0.1, 0.3, True, g).detach().numpy()
    g.manual_seed(3)
    b = td.rrelu(_conv(x), 0.1, 0.3, True, generator=g).detach().numpy()
    np.testing.assert_array_equal(a, b)  # the generator draws the slopes
    xs = x.detach().numpy()
    neg = xs < 0
    np.testing.assert_array_equal(a[~neg], xs[~neg])
    slope = a[neg] / xs[neg]
    assert (slope >= 0.1 - 1e-12).all() and (slope <= 0.3 + 1e-12).all()
    z = _conv(x)
    assert td.rrelu_(z, 0.1, 0.3, True, g) is z


def test_argument_errors_as_torch():
    x = R(2, 3)
    errs("batch_norm", x, None, R(2), R(4), None, True, 0.1, 1e-5, False)
    errs("batch_norm", x, R(4), None, None, None, True, 0.1, 1e-5, False)
    errs("group_norm", R(3), 1)
    errs("group_norm", torch.tensor(1.0), 1)
    errs("layer_norm", torch.arange(4), [4])
    errs("convolution", R(2, 5), R(4, 2, 3), None, [1], [0], [1], False, [0], 1)
    errs("adaptive_max_pool1d", R(2, 3, 4), [2, 2])
    errs("adaptive_max_pool1d", R(2, 3, 4), [])
    for name in DROPOUTS:  # torch scales its noise in the input's dtype
        errs(name, torch.arange(4).reshape(2, 2), 0.5, True)
        errs(name, torch.tensor([[True, False]]), 0.5, True)
    both("dropout", torch.arange(4), 1.0, True)
    errs("rrelu", torch.arange(4))
    errs("rrelu", torch.arange(4), 0.1, 0.3, True)
    errs("lstm_cell", R(3, 4), (R(3, 2),), R(8, 4), R(8, 2))
    errs("lstm_cell", R(3, 4), (R(3, 2), R(3, 2), R(3, 2)), R(8, 4), R(8, 2))
    errs("bilinear", R(3, 4), R(2, 3, 5), R(2, 4, 5))
    errs("bilinear", R(2, 3, 4), R(2, 2, 5), R(2, 4, 5))
    errs("bilinear", R(3, 4), R(3, 5), R(2, 3, 5))
    errs("bilinear", R(3, 4), R(3, 5), R(2, 4, 6))
    errs("bilinear", R(3, 4), R(3, 5), R(2, 4, 5), R(3))


def test_nn_functional_shares_the_checks():
    import torch.nn.functional as TF
    F = td.nn.functional
    x = R(2, 3)
    for fn in (lambda m, a: m.batch_norm(a, None, None, weight=_same(m, R(4)), training=True),
               lambda m, a: m.layer_norm(_same(m, torch.arange(4)), [4]),
               lambda m, a: m.dropout(_same(m, torch.arange(4)), 0.5),
               lambda m, a: m.rrelu(_same(m, torch.arange(4))),
               lambda m, a: m.bilinear(a, _same(m, R(3, 5)), _same(m, R(2, 4, 5)))):
        assert_raises_like(lambda: fn(F, _conv(x)), lambda: fn(TF, x))


def _same(m, t):
    """t for torch, its copy for tensord (m: the nn.functional module in use)."""
    return t if m.__name__.startswith("torch") else _conv(t)


def test_same_argument_forms():
    x = R(3, 4)
    both("bilinear", x, R(3, 5), R(2, 4, 5), R(2), grad=(0, 1, 2, 3))
    both("celu_", x.clone(), 0.7)
    both("selu_", x.clone())
    h, c = R(3, 2), R(3, 2)
    w_ih, w_hh, b_ih, b_hh = R(8, 4), R(8, 2), R(8), R(8)
    both("lstm_cell", x, (h, c), w_ih, w_hh, b_ih, b_hh, grad=(0, 2, 3))
    both("gru_cell", x, h, R(6, 4), R(6, 2), R(6), R(6), grad=(0, 1, 2))
    both("rnn_tanh_cell", x, h, R(2, 4), R(2, 2), grad=(0, 1, 2))
    both("rnn_relu_cell", x, h, R(2, 4), R(2, 2), R(2), R(2), grad=(0, 2))


# ---------------------------------------------------------------- tensor extras

def test_in_place_top_level_forms():
    base = R(6)
    got = _conv(base.clone())
    want = base.clone()
    assert td.as_strided_(got, [2, 2], [1, 2], 1) is got
    torch.as_strided_(want, [2, 2], [1, 2], 1)
    assert_same(got, want)
    assert tuple(got.stride()) == (1, 2)
    a, m, v = R(2), R(2, 3), R(3)
    ta, ga = a.clone(), _conv(a)
    assert td.addmv_(ga, _conv(m), _conv(v), beta=2, alpha=3) is ga
    assert_same(ga, torch.addmv_(ta, m, v, beta=2, alpha=3))
    z = torch.tensor([1 + 2j, -3j])
    gz = _conv(z)
    assert td.conj_physical_(gz) is gz
    assert_same(gz, torch.conj_physical_(z.clone()))
    r = R(3)
    both("conj_physical_", r)
    errs("conj_physical_", "x")


def test_runtime_extras():
    x = _conv(R(3))
    assert td.is_distributed(x) is False and torch.is_distributed(R(3)) is False
    assert x.is_distributed() is False
    errs("is_distributed", 3)
    assert td.init_num_threads() is None and torch.init_num_threads() is None
    assert td.compiled_with_cxx11_abi() is torch.compiled_with_cxx11_abi()


def test_grid_sampler_by_rank_and_affine_grid_generator():
    both("grid_sampler_2d", R(1, 2, 3, 4), R(1, 2, 2, 2, low=-1.0, high=1.0), 2, 1, False, grad=(0, 1))
    both("grid_sampler_3d", R(1, 1, 3, 3, 3), R(1, 2, 2, 2, 3, low=-1.0, high=1.0), 1, 2, True, grad=(0,))
    both("grid_sampler_3d", R(1, 1, 3, 3, 3), R(1, 2, 2, 2, 3, low=-1.0, high=1.0), 0, 0, False, grad=(0, 1))
    errs("grid_sampler_2d", R(1, 1, 3, 3, 3), R(1, 2, 2, 2, 3), 0, 0, False)
    errs("grid_sampler_3d", R(1, 1, 3, 3), R(1, 2, 2, 2), 0, 0, False)
    errs("grid_sampler_3d", R(1, 1, 3, 3, 3), R(1, 2, 2, 2, 3), 2, 0, False)
    both("affine_grid_generator", R(2, 2, 3), [2, 1, 4, 5], False, grad=(0,))
    both("affine_grid_generator", R(2, 3, 4), [2, 1, 4, 5, 3], True, grad=(0,))
    errs("affine_grid_generator", R(2, 2, 3), [2, 1, 4, 5, 6], True)


def test_embedding_renorm_():
    w = R(5, 3, low=-3.0, high=3.0)
    tw, gw = w.clone(), _conv(w)
    assert td.embedding_renorm_(gw, _conv(torch.tensor([0, 2, 2])), 0.5, 2.0) is gw
    torch.embedding_renorm_(tw, torch.tensor([0, 2, 2]), 0.5, 2.0)
    assert_same(gw, tw)
    errs("embedding_renorm_", w, torch.tensor([0.0, 2.0]), 0.5, 2.0)


@pytest.mark.parametrize("shape, pw, dim", [((3, 4), 2, 0), ((3, 4), 2, -1), ((3, 4), 3, 1), ((3, 4, 5), 2, 1),
                                            ((3,), 2, 0), ((2, 3, 4), 1, 2)])
def test_norm_except_dim(shape, pw, dim):
    both("norm_except_dim", R(*shape), pw, dim, grad=(0,))
