"""Conv*, ConvTranspose* and the pooling layers against torch 1.13: default initialization
shapes and bounds, identical results and gradients (input, weight, bias) for torch's
weights loaded through load_state_dict, reprs, and torch's argument errors."""
import zlib

import numpy as np
import pytest
import torch as T

import tensord as td


def _both(name, args, kw, shape, **fw):
    rng = np.random.default_rng(zlib.crc32(repr((name, args, kw)).encode()))  # the same data every run
    ref = getattr(T.nn, name)(*args, **kw).double()
    ours = getattr(td.nn, name)(*args, **kw).double()
    ours.load_state_dict({k: td.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x = rng.standard_normal(shape)
    xt, xo = T.tensor(x, requires_grad=True), td.tensor(x, requires_grad=True)
    yt, yo = ref(xt, **fw), ours(xo, **fw)
    if isinstance(yt, tuple):
        np.testing.assert_array_equal(yo[1].numpy(), yt[1].numpy())
        yt, yo = yt[0], yo[0]
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = rng.standard_normal(tuple(yt.shape))
    yt.backward(T.tensor(w))
    yo.backward(td.tensor(w))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (n, p), (_, q) in zip(ref.named_parameters(), ours.named_parameters()):
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=n)
    assert repr(ours) == repr(ref)


CONV = [
    ("Conv1d", (3, 4, 3), dict(stride=2, padding=1), (2, 3, 9)),
    ("Conv1d", (4, 4, 3), dict(padding="same", dilation=2, groups=2, padding_mode="reflect"), (2, 4, 9)),
    ("Conv2d", (3, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 0), bias=False), (2, 3, 7, 6)),
    ("Conv2d", (4, 6, 3), dict(padding=1, groups=2, padding_mode="circular"), (1, 4, 5, 5)),
    ("Conv2d", (2, 3, 3), dict(padding="valid"), (2, 6, 6)),
    ("Conv3d", (2, 3, 2), dict(padding=1), (1, 2, 4, 3, 3)),
    ("ConvTranspose1d", (3, 2, 3), dict(stride=2, padding=1, output_padding=1), (2, 3, 5)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, groups=2, dilation=1, bias=False), (1, 4, 3, 4)),
    ("ConvTranspose3d", (2, 2, 2), dict(stride=2), (1, 2, 2, 2, 3)),
]
POOL = [
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)),
    ("MaxPool2d", (2,), dict(return_indices=True), (2, 3, 6, 6)),
    ("MaxPool2d", ((3, 2),), dict(stride=1, dilation=(1, 2), ceil_mode=True), (1, 2, 6, 7)),
    ("MaxPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 8)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True, divisor_override=4), (2, 3, 7, 6)),
    ("AvgPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 7, 5)),
    ("AdaptiveMaxPool2d", ((3, 2),), dict(return_indices=True), (2, 3, 7, 5)),
    ("AdaptiveMaxPool1d", (3,), {}, (2, 3, 8)),
]


@pytest.mark.parametrize("name,args,kw,shape", CONV + POOL)
def test_layer_matches_torch(name, args, kw, shape):
    _both(name, args, kw, shape)


def test_conv_transpose_output_size():
    _both("ConvTranspose2d", (2, 3, 3), dict(stride=2, padding=1), (1, 2, 4, 4), output_size=[8, 8])
    with pytest.raises(ValueError, match="requested an output size of"):
        td.nn.ConvTranspose2d(2, 3, 3, stride=2)(td.zeros(1, 2, 4, 4), output_size=[20, 20])


def test_default_init_bounds_and_shapes():
    td.manual_seed(0)
    c = td.nn.Conv2d(4, 8, 3, groups=2)
    assert tuple(c.weight.shape) == (8, 2, 3, 3) and c.weight.requires_grad
    bound = 1 / np.sqrt(2 * 9)  # kaiming_uniform_(a=sqrt(5)) gives 1/sqrt(fan_in), as the bias
    w, b = c.weight.detach().numpy(), c.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound and w.std() > bound / 3
    t = td.nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert tuple(t.weight.shape) == (4, 3, 3, 3)


def test_argument_errors_match_torch():
    for mod in (td, T):
        with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
            mod.nn.Conv2d(3, 4, 3, groups=2)
        with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
            mod.nn.Conv1d(2, 2, 3, stride=2, padding="same")
        with pytest.raises(ValueError, match="Invalid padding string 'full'"):
            mod.nn.Conv1d(2, 2, 3, padding="full")
        with pytest.raises(ValueError, match="padding_mode must be one of"):
            mod.nn.Conv1d(2, 2, 3, padding_mode="mirror")
        with pytest.raises(RuntimeError, match="expected input"):
            mod.nn.Conv2d(3, 4, 3)(mod.zeros(1, 2, 5, 5))


def test_small_cnn_trains_like_torch():
    """Five SGD steps of conv-pool-linear: parameters stay equal to torch's."""
    def build(m):
        return m.nn.Sequential(m.nn.Conv2d(1, 4, 3, padding=1), m.nn.ReLU(), m.nn.MaxPool2d(2), m.nn.Flatten(),
                               m.nn.Linear(4 * 4 * 4, 3)).double()
    ref, ours = build(T), build(td)
    ours.load_state_dict({k: td.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 1, 8, 8)), rng.integers(0, 3, 6)
    opts = T.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9), td.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):
        for m, model, opt in ((T, ref, opts[0]), (td, ours, opts[1])):
            opt.zero_grad()
            m.nn.functional.cross_entropy(model(m.tensor(x)), m.tensor(y)).backward()
            opt.step()
    for (n, p), (_, q) in zip(ref.named_parameters(), ours.named_parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-9, atol=1e-11, err_msg=n)


PADS = [
    ("ConstantPad1d", (2, 1.5), (2, 3, 4)), ("ConstantPad2d", ((1, 0, 2, 1), -1.0), (1, 2, 3, 3)),
    ("ConstantPad3d", (1, 0.5), (1, 1, 2, 2, 2)), ("ZeroPad2d", ((1, 2, 0, 1),), (2, 3, 3)),
    ("ConstantPad2d", ((-1, 2, 1, -1), 0.5), (1, 2, 4, 4)),
    ("ReflectionPad1d", (2,), (2, 3, 5)), ("ReflectionPad2d", ((1, 2, 2, 1),), (1, 2, 4, 4)),
    ("ReflectionPad3d", (1,), (1, 1, 3, 3, 3)), ("ReplicationPad1d", ((3, 1),), (2, 3, 4)),
    ("ReplicationPad2d", (2,), (1, 2, 3, 3)), ("ReplicationPad3d", ((1, 0, 1, 2, 0, 1),), (1, 1, 2, 3, 3)),
]


@pytest.mark.parametrize("name,args,shape", PADS)
def test_padding_layers_match_torch(name, args, shape):
    _both(name, args, {}, shape)


FOLDS = [((2, 3, 5, 6), dict(kernel_size=3)), ((1, 2, 6, 5), dict(kernel_size=(2, 3), dilation=(2, 1), padding=1,
                                                                    stride=(2, 1))),
         ((3, 4, 4), dict(kernel_size=2, stride=2))]


@pytest.mark.parametrize("shape,kw", FOLDS)
def test_unfold_and_fold_match_torch(shape, kw):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    got = []
    for m in (T, td):
        xx = m.tensor(x, requires_grad=True)
        cols = m.nn.Unfold(**kw)(xx)
        back = m.nn.Fold(tuple(shape[-2:]), **kw)(cols * 1.5)
        (back ** 2).sum().backward()
        got.append((cols.detach().numpy(), back.detach().numpy(), xx.grad.numpy()))
    for a, b in zip(*got):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    assert repr(td.nn.Unfold(**kw)) == repr(T.nn.Unfold(**kw))


def test_fold_errors_match_torch():
    for m in (td, T):
        with pytest.raises(RuntimeError, match="expected size of input's dimension 2 to match"):
            m.nn.functional.fold(m.zeros(1, 4, 5), (3, 3), 2)
        with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
            m.nn.functional.fold(m.zeros(1, 5, 4), (3, 3), 2)


@pytest.mark.parametrize("dim,kw", [(1, {"stride": 2, "padding": 1}), (2, {"dilation": 2, "groups": 2}),
                                    (3, {"padding": 1})])
def test_nn_grad_conv_input_and_weight_like_torch(dim, kw):
    """torch.nn.grad.conv{1,2,3}d_input/_weight against torch 1.13's."""
    rng = np.random.default_rng(dim)
    shape = (2, 4) + (6,) * dim
    wshape = (6, 4 // kw.get("groups", 1)) + (3,) * dim
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(wshape).astype(np.float32)
    conv = getattr(T.nn.functional, "conv%dd" % dim)
    gshape = conv(T.tensor(x), T.tensor(w), **kw).shape
    g = rng.standard_normal(tuple(gshape)).astype(np.float32)
    res = []
    for m in (T, td):
        gi = getattr(m.nn.grad, "conv%dd_input" % dim)(list(shape), m.tensor(w), m.tensor(g), **kw)
        gw = getattr(m.nn.grad, "conv%dd_weight" % dim)(m.tensor(x), list(wshape), m.tensor(g), **kw)
        res.append((gi.numpy(), gw.numpy()))
    for got, want in zip(res[1], res[0]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
