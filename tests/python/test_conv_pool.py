"""Convolution and pooling (nn.functional conv*/conv_transpose*/max_pool*/avg_pool*/
adaptive_*_pool*): forward results and input/weight/bias gradients against PyTorch 1.13
on identical inputs, across shapes, strides, paddings, dilations, groups, 1-3 spatial
dims and float32/float64; finite-difference gradcheck in float64; argument errors with
torch's types and messages."""
import numpy as np
import pytest
import torch as T
import torch.nn.functional as TF

import tensord as td
import tensord.nn.functional as F

TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-11)}


def _pair(shape, dtype, rng, requires_grad=True):
    a = rng.standard_normal(shape).astype(dtype)
    return (td.tensor(a, requires_grad=requires_grad), T.tensor(a, requires_grad=requires_grad))


def _check(ours, theirs, dtype):
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOL[dtype])


def _run_both(fn_td, fn_t, shapes, dtype, seed=0, bias=True):
    """fn on both libraries, then backward with the same output weights; checks the
    results and every input's gradient."""
    rng = np.random.default_rng(seed)
    pairs = [_pair(s, dtype, rng) for s in shapes]
    ours, theirs = fn_td(*[p[0] for p in pairs]), fn_t(*[p[1] for p in pairs])
    _check(ours, theirs, dtype)
    w = rng.standard_normal(tuple(theirs.shape)).astype(dtype)
    ours.backward(td.tensor(w))
    theirs.backward(T.tensor(w))
    for a, b in pairs:
        _check(a.grad, b.grad, dtype)


CONV2D = [  # input, weight, stride, padding, dilation, groups
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 0, 1, 1),
    ((2, 3, 8, 8), (4, 3, 3, 3), 1, 1, 1, 1),
    ((1, 4, 9, 7), (6, 2, 3, 2), (2, 1), (1, 0), (1, 2), 2),
    ((3, 6, 10, 10), (6, 1, 3, 3), 2, 1, 1, 6),      # depthwise
    ((2, 8, 5, 5), (4, 8, 1, 1), 1, 0, 1, 1),        # 1x1: no im2col
    ((2, 4, 6, 5), (5, 4, 1, 1), 2, 0, 1, 1),        # 1x1 strided
    ((2, 3, 11, 9), (2, 3, 5, 4), 3, 2, 2, 1),
    ((1, 2, 4, 4), (3, 2, 4, 4), 1, 0, 1, 1),        # kernel == input
    ((0, 3, 5, 5), (4, 3, 3, 3), 1, 1, 1, 1),        # empty batch
    ((2, 3, 1, 1), (2, 3, 3, 3), 1, 1, 1, 1),        # all padding but the centre
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", range(len(CONV2D)))
def test_conv2d_forward_backward(case, dtype):
    xs, ws, stride, padding, dilation, groups = CONV2D[case]
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    _run_both(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
              [xs, ws, (ws[0],)], dtype, seed=case)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_without_bias(dtype):
    _run_both(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1),
              [(2, 3, 6, 6), (5, 3, 3, 3)], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 4, 13), (6, 4, 3), dict()),
    ((3, 4, 13), (6, 2, 5), dict(stride=2, padding=2, dilation=2, groups=2)),
    ((4, 9), (3, 4, 3), dict(padding=1)),                                   # unbatched
    ((2, 3, 10), (4, 3, 4), dict(padding="same", dilation=3)),
    ((2, 3, 10), (4, 3, 4), dict(padding="same")),                         # odd total: extra on the right
    ((2, 3, 10), (4, 3, 4), dict(padding="valid")),
])
def test_conv1d(xs, ws, kw, dtype):
    _run_both(lambda x, w, b: F.conv1d(x, w, b, **kw), lambda x, w, b: TF.conv1d(x, w, b, **kw),
              [xs, ws, (ws[0],)], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 2, 5, 6, 4), (3, 2, 3, 3, 2), dict(padding=1)),
    ((1, 4, 6, 5, 7), (4, 2, 2, 3, 3), dict(stride=(2, 1, 2), padding=(0, 1, 1), dilation=(1, 1, 2), groups=2)),
    ((3, 5, 4, 4), (2, 3, 2, 2, 2), dict()),                                # unbatched
])
def test_conv3d(xs, ws, kw, dtype):
    _run_both(lambda x, w, b: F.conv3d(x, w, b, **kw), lambda x, w, b: TF.conv3d(x, w, b, **kw),
              [xs, ws, (ws[0],)], dtype)


def test_conv2d_same_padding_and_unbatched():
    for xs, ws, kw in [((2, 3, 7, 8), (4, 3, 4, 3), dict(padding="same", dilation=(1, 2))),
                       ((3, 7, 8), (4, 3, 3, 3), dict(padding=(1, 2)))]:
        _run_both(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw),
                  [xs, ws, (ws[0],)], "float64")


def test_conv2d_strided_operands():
    """Transposed input and weight views, computed as they are."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    ours = F.conv2d(td.tensor(x).transpose(2, 3), td.tensor(w).transpose(2, 3), padding=1)
    theirs = TF.conv2d(T.tensor(x).transpose(2, 3), T.tensor(w).transpose(2, 3), padding=1)
    _check(ours, theirs, "float64")


def test_conv_padding_mode_through_pad():
    """nn.Conv2d's padding_mode: pad first (reflect, replicate, circular), then convolve."""
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((3, 2, 3, 3))
    for mode in ("reflect", "replicate", "circular"):
        ours = F.conv2d(F.pad(td.tensor(x), (1, 1, 1, 1), mode=mode), td.tensor(w))
        theirs = TF.conv2d(TF.pad(T.tensor(x), (1, 1, 1, 1), mode=mode), T.tensor(w))
        _check(ours, theirs, "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n,xs,ws,kw", [
    (2, (2, 4, 3, 3), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    (2, (1, 4, 5, 4), (4, 2, 2, 3), dict(stride=(1, 2), padding=(0, 1), dilation=(2, 1), groups=2)),
    (1, (2, 3, 7), (3, 5, 4), dict(stride=3, padding=2, output_padding=2)),
    (2, (4, 3, 3), (4, 2, 3, 3), dict()),                                    # unbatched
    (3, (1, 2, 3, 2, 3), (2, 3, 2, 2, 2), dict(stride=2)),
])
def test_conv_transpose(n, xs, ws, kw, dtype):
    ours_fn = getattr(F, "conv_transpose%dd" % n)
    theirs_fn = getattr(TF, "conv_transpose%dd" % n)
    bias = ws[1] * kw.get("groups", 1)
    _run_both(lambda x, w, b: ours_fn(x, w, b, **kw), lambda x, w, b: theirs_fn(x, w, b, **kw),
              [xs, ws, (bias,)], dtype)


def test_conv_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(9)

    def mk(*s):
        return td.tensor(rng.standard_normal(s), requires_grad=True)

    x, w, b = mk(2, 4, 5, 4), mk(4, 2, 3, 2), mk(4)
    fn = lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2)  # noqa: E731
    assert td.autograd.gradcheck(fn, (x, w, b))
    assert td.autograd.gradgradcheck(fn, (x, w, b))
    x1, w1 = mk(2, 3, 6), mk(2, 3, 3)
    assert td.autograd.gradcheck(lambda x, w: F.conv1d(x, w, stride=2, padding=1), (x1, w1))
    xt, wt = mk(1, 2, 3, 3), mk(2, 3, 2, 2)
    assert td.autograd.gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2), (xt, wt))


def test_conv_grad_fn_name():
    x = td.ones(1, 1, 3, 3, requires_grad=True)
    y = F.conv2d(x, td.ones(1, 1, 2, 2))
    assert y.grad_fn.name() == TF.conv2d(T.ones(1, 1, 3, 3, requires_grad=True), T.ones(1, 1, 2, 2)).grad_fn.name()


# ---------------------------------------------------------------- pooling

MAX2D = [  # input, kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((2, 3, 9, 7), 3, 2, 1, 1, False),
    ((1, 2, 9, 7), 3, 2, 1, 1, True),
    ((2, 2, 10, 9), (3, 2), (2, 3), (1, 1), (2, 1), True),
    ((3, 6, 5), 2, 1, 1, 1, True),                                  # unbatched
    ((0, 2, 5, 5), 2, None, 0, 1, False),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", range(len(MAX2D)))
def test_max_pool2d(case, dtype):
    xs, k, s, p, d, ceil = MAX2D[case]
    kw = dict(stride=s, padding=p, dilation=d, ceil_mode=ceil)
    _run_both(lambda x: F.max_pool2d(x, k, **kw), lambda x: TF.max_pool2d(x, k, **kw), [xs], dtype, seed=case)
    rng = np.random.default_rng(case)
    a = rng.standard_normal(xs).astype(dtype)
    (yo, io), (yt, it) = F.max_pool2d(td.tensor(a), k, return_indices=True, **kw), \
        TF.max_pool2d(T.tensor(a), k, return_indices=True, **kw)
    assert io.dtype == td.int64
    np.testing.assert_array_equal(io.numpy(), it.numpy())
    np.testing.assert_array_equal(yo.numpy(), yt.numpy())


def test_max_pool_ties_and_nan_pick_torchs_index():
    a = np.array([[[[1.0, 1.0, 0.0], [1.0, np.nan, 2.0], [np.nan, 0.0, 3.0]]]])
    ours = F.max_pool2d(td.tensor(a), 2, stride=1, return_indices=True)
    theirs = TF.max_pool2d(T.tensor(a), 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pool_big_planes_split_mid_row(dtype):
    """Planes of 11700 outputs in rows of 78: the forward's chunks of outputs start and end
    inside rows; ties, NaN and -inf sprinkled in."""
    rng = np.random.default_rng(7)
    a = rng.integers(-3, 4, (2, 3, 301, 157)).astype(dtype)
    a.flat[rng.integers(0, a.size, 300)] = np.nan
    a.flat[rng.integers(0, a.size, 300)] = -np.inf
    kw = dict(stride=2, padding=1)
    (yo, io), (yt, it) = F.max_pool2d(td.tensor(a), 3, return_indices=True, **kw), \
        TF.max_pool2d(T.tensor(a), 3, return_indices=True, **kw)
    np.testing.assert_array_equal(io.numpy(), it.numpy())
    np.testing.assert_array_equal(yo.numpy(), yt.numpy())
    b = rng.standard_normal(a.shape).astype(dtype)
    for cip in (True, False):
        _check(F.avg_pool2d(td.tensor(b), 3, count_include_pad=cip, **kw),
               TF.avg_pool2d(T.tensor(b), 3, count_include_pad=cip, **kw), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n,xs,kw", [
    (1, (2, 3, 11), dict(kernel_size=3, stride=2, padding=1)),
    (1, (3, 10), dict(kernel_size=2, dilation=2, ceil_mode=True)),
    (3, (1, 2, 5, 6, 5), dict(kernel_size=(2, 3, 2), stride=2, padding=(1, 1, 0))),
])
def test_max_pool_1d_3d(n, xs, kw, dtype):
    _run_both(lambda x: getattr(F, "max_pool%dd" % n)(x, **kw), lambda x: getattr(TF, "max_pool%dd" % n)(x, **kw),
              [xs], dtype)


AVG = [  # n, input, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    (2, (2, 3, 8, 8), 2, None, 0, False, True, None),
    (2, (2, 3, 9, 7), 3, 2, 1, False, True, None),
    (2, (2, 3, 9, 7), 3, 2, 1, True, False, None),
    (2, (1, 2, 10, 9), (3, 2), (2, 3), (1, 1), True, True, None),
    (2, (2, 2, 7, 7), 3, 2, 1, True, True, 5),
    (2, (3, 6, 5), 2, 1, 1, True, False, None),
    (1, (2, 3, 11), 3, 2, 1, True, False, None),
    (1, (3, 10), 4, 3, 2, False, True, None),
    (3, (1, 2, 5, 6, 5), (2, 3, 2), 2, (1, 1, 0), True, False, 3),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", range(len(AVG)))
def test_avg_pool(case, dtype):
    n, xs, k, s, p, ceil, cip, div = AVG[case]
    kw = dict(stride=s, padding=p, ceil_mode=ceil, count_include_pad=cip)
    if n > 1:
        kw["divisor_override"] = div
    _run_both(lambda x: getattr(F, "avg_pool%dd" % n)(x, k, **kw), lambda x: getattr(TF, "avg_pool%dd" % n)(x, k, **kw),
              [xs], dtype, seed=case)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n,xs,size", [
    (2, (2, 3, 7, 5), (3, 2)),
    (2, (2, 3, 5, 5), 7),          # larger than the input: windows overlap
    (2, (3, 6, 9), (None, 4)),     # unbatched, None keeps the size
    (2, (2, 3, 8, 8), 1),          # global pooling
    (1, (2, 3, 10), 4),
    (3, (1, 2, 5, 4, 6), (2, 3, 4)),
])
def test_adaptive_pools(n, xs, size, dtype):
    _run_both(lambda x: getattr(F, "adaptive_avg_pool%dd" % n)(x, size),
              lambda x: getattr(TF, "adaptive_avg_pool%dd" % n)(x, size), [xs], dtype)
    _run_both(lambda x: getattr(F, "adaptive_max_pool%dd" % n)(x, size),
              lambda x: getattr(TF, "adaptive_max_pool%dd" % n)(x, size), [xs], dtype)
    rng = np.random.default_rng(1)
    a = rng.standard_normal(xs).astype(dtype)
    _, io = getattr(F, "adaptive_max_pool%dd" % n)(td.tensor(a), size, return_indices=True)
    _, it = getattr(TF, "adaptive_max_pool%dd" % n)(T.tensor(a), size, return_indices=True)
    np.testing.assert_array_equal(io.numpy(), it.numpy())


def test_pool_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(4)
    x = td.tensor(rng.standard_normal((2, 2, 6, 5)), requires_grad=True)
    for fn in (lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
               lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
               lambda x: F.adaptive_avg_pool2d(x, (4, 3)),
               lambda x: F.adaptive_max_pool2d(x, (2, 3))):
        assert td.autograd.gradcheck(fn, (x,))
        assert td.autograd.gradgradcheck(fn, (x,))


# ---------------------------------------------------------------- errors


def _same_error(fn):
    """fn(module, functional) raises the same exception type and message in both."""
    with pytest.raises(Exception) as theirs:
        fn(T, TF)
    with pytest.raises(Exception) as ours:
        fn(td, F)
    assert type(ours.value).__name__ == type(theirs.value).__name__
    assert str(ours.value) == str(theirs.value)


ERRORS = {
    "channels": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 3, 3, 3)),
    "group_channels": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 2, 3, 3), groups=3),
    "groups_divide": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), groups=4),
    "bias_size": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), m.ones(5)),
    "bias_rank": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), m.ones(6, 1)),
    "kernel_too_big": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 7, 7)),
    "kernel_too_big_dilated": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), dilation=(1, 3)),
    "input_rank": lambda m, f: f.conv2d(m.ones(4, 5), m.ones(6, 4, 3, 3)),
    "input_rank_1d": lambda m, f: f.conv1d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3)),
    "stride_zero": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), stride=0),
    "stride_len": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), stride=(1, 2, 3)),
    "padding_negative": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), padding=-1),
    "dilation_zero": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), dilation=0),
    "groups_zero": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), groups=0),
    "same_strided": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), padding="same", stride=2),
    "padding_string": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), padding="foo"),
    "dtype_mismatch": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3, dtype=m.float64)),
    "bias_dtype": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5), m.ones(6, 4, 3, 3), m.ones(6, dtype=m.float64)),
    # float64 data into a float32 model: conv2d checks the bias first, the others the weight
    "double_input_bias": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5, dtype=m.float64), m.ones(6, 4, 3, 3), m.ones(6)),
    "double_input": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5, dtype=m.float64), m.ones(6, 4, 3, 3)),
    "long_input_bias": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5, dtype=m.int64), m.ones(6, 4, 3, 3), m.ones(6)),
    "conv1d_double_bias": lambda m, f: f.conv1d(m.ones(2, 4, 5, dtype=m.float64), m.ones(6, 4, 3), m.ones(6)),
    "conv3d_double_bias": lambda m, f: f.conv3d(m.ones(1, 2, 3, 3, 3, dtype=m.float64), m.ones(2, 2, 2, 2, 2),
                                                m.ones(2)),
    "transposed_dtype": lambda m, f: f.conv_transpose2d(m.ones(2, 4, 5, 5), m.ones(4, 6, 3, 3, dtype=m.float64)),
    "half": lambda m, f: f.conv2d(m.ones(2, 4, 5, 5, dtype=m.float16), m.ones(6, 4, 3, 3, dtype=m.float16)),
    "pool_pad": lambda m, f: f.max_pool2d(m.ones(2, 4, 5, 5), 3, padding=2),
    "pool_stride": lambda m, f: f.max_pool2d(m.ones(2, 4, 5, 5), 3, stride=-1),
    "pool_kernel_zero": lambda m, f: f.max_pool2d(m.ones(2, 4, 5, 5), 0, stride=1),
    "pool_dilation": lambda m, f: f.max_pool2d(m.ones(2, 4, 5, 5), 3, dilation=0),
    "pool_kernel_len": lambda m, f: f.max_pool2d(m.ones(2, 4, 5, 5), (3, 3, 3)),
    "pool_too_small": lambda m, f: f.max_pool2d(m.ones(2, 4, 5, 5), 7),
    "pool_rank": lambda m, f: f.max_pool2d(m.ones(5, 5), 2),
    "pool_empty": lambda m, f: f.max_pool2d(m.ones(2, 4, 0, 5), 2),
    "pool_long": lambda m, f: f.max_pool2d(m.ones(2, 4, 5, 5, dtype=m.int64), 2),
    "pool_1d_rank": lambda m, f: f.max_pool1d(m.ones(4, 5, 2, 2), 2),
    "pool_1d_kernel": lambda m, f: f.max_pool1d(m.ones(2, 4, 5), (2, 2)),
    "avg_pad": lambda m, f: f.avg_pool2d(m.ones(2, 4, 5, 5), 3, padding=2),
    "avg_divisor": lambda m, f: f.avg_pool2d(m.ones(2, 4, 5, 5), 2, divisor_override=0),
    "avg_too_small": lambda m, f: f.avg_pool2d(m.ones(2, 4, 5, 5), 7),
    "avg_1d_rank": lambda m, f: f.avg_pool1d(m.ones(4, 5, 2, 2), 2),
    "adaptive_len": lambda m, f: f.adaptive_avg_pool2d(m.ones(2, 4, 5, 5), (2, 2, 2)),
    "adaptive_negative": lambda m, f: f.adaptive_avg_pool2d(m.ones(2, 4, 5, 5), (-1, 2)),
    "adaptive_empty": lambda m, f: f.adaptive_avg_pool2d(m.ones(2, 4, 0, 5), (2, 2)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    _same_error(ERRORS[name])


def test_other_dtypes_are_refused_clearly():
    with pytest.raises(RuntimeError, match="not implemented for 'Int'"):
        F.conv2d(td.ones(1, 1, 3, 3, dtype=td.int32), td.ones(1, 1, 2, 2, dtype=td.int32))
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        F.avg_pool2d(td.ones(1, 1, 3, 3, dtype=td.int64), 2)


def _bf16_pair(shape, rng):
    a = rng.standard_normal(shape).astype(np.float32)
    return td.tensor(a).to(td.bfloat16), T.tensor(a).to(T.bfloat16)


@pytest.mark.parametrize("name", ["conv1d", "conv2d", "conv3d", "max_pool1d", "max_pool2d", "avg_pool2d",
                                  "adaptive_max_pool2d", "adaptive_avg_pool2d"])
def test_bfloat16_on_the_cpu_as_torch(name):
    # torch 1.13 convolves and pools bfloat16 on the CPU (2-d pools and below), computing
    # in float32 and rounding once; tensord computes in float32 between two casts
    rng = np.random.default_rng(3)
    cases = {
        "conv1d": ([(2, 3, 9), (4, 3, 3), (4,)], dict(stride=2)),
        "conv2d": ([(2, 3, 7, 7), (4, 3, 3, 3), (4,)], dict(padding=1)),
        "conv3d": ([(1, 2, 4, 4, 4), (3, 2, 3, 3, 3)], {}),
        "max_pool1d": ([(2, 3, 9)], dict(kernel_size=2)),
        "max_pool2d": ([(2, 3, 7, 7)], dict(kernel_size=3, stride=2, padding=1)),
        "avg_pool2d": ([(2, 3, 7, 7)], dict(kernel_size=3, stride=2, padding=1)),
        "adaptive_max_pool2d": ([(2, 3, 7, 7)], dict(output_size=3)),
        "adaptive_avg_pool2d": ([(2, 3, 7, 7)], dict(output_size=4)),
    }
    shapes, kw = cases[name]
    pairs = [_bf16_pair(s, rng) for s in shapes]
    ours = getattr(F, name)(*[p[0] for p in pairs], **kw)
    theirs = getattr(TF, name)(*[p[1] for p in pairs], **kw)
    assert ours.dtype is td.bfloat16 and tuple(ours.shape) == tuple(theirs.shape)
    a, b = ours.float().numpy(), theirs.float().numpy()
    if "pool" in name and "avg" not in name:
        np.testing.assert_array_equal(a, b)  # a max is one of the inputs
    else:  # sums in another order: at most one bfloat16 rounding step apart
        np.testing.assert_allclose(a, b, rtol=8e-3, atol=8e-3 * np.abs(b).max())


def test_bfloat16_conv_backward_on_the_cpu():
    rng = np.random.default_rng(4)
    (x, tx), (w, tw) = _bf16_pair((2, 3, 6, 6), rng), _bf16_pair((4, 3, 3, 3), rng)
    x.requires_grad_(), tx.requires_grad_(), w.requires_grad_(), tw.requires_grad_()
    F.conv2d(x, w, stride=2).sum().backward()
    TF.conv2d(tx, tw, stride=2).sum().backward()
    for g, tg in ((x.grad, tx.grad), (w.grad, tw.grad)):
        assert g.dtype is td.bfloat16
        np.testing.assert_allclose(g.float().numpy(), tg.float().numpy(), rtol=1e-2, atol=1e-2 * tg.float().abs().max().item())


@pytest.mark.parametrize("case", ["half conv2d", "half max_pool2d", "half adaptive_avg_pool2d", "bf16 max_pool3d"])
def test_half_on_the_cpu_is_refused_as_torch(case):
    kind, name = case.split()
    dt = (td.float16, T.float16) if kind == "half" else (td.bfloat16, T.bfloat16)
    shape = (1, 2, 4, 4, 4) if name.endswith("3d") else (1, 2, 5, 5)
    args = {"conv2d": lambda m, x, d: (x, m.ones(3, 2, 3, 3, dtype=d)), "max_pool2d": lambda m, x, d: (x, 2),
            "adaptive_avg_pool2d": lambda m, x, d: (x, 2), "max_pool3d": lambda m, x, d: (x, 2)}[name]
    with pytest.raises(RuntimeError) as theirs:
        getattr(TF, name)(*args(T, T.ones(shape, dtype=dt[1]), dt[1]))
    with pytest.raises(RuntimeError) as ours:
        getattr(F, name)(*args(td, td.ones(shape, dtype=dt[0]), dt[0]))
    want = str(theirs.value)
    assert "not implemented for" in want and want.split(" not implemented")[1] == str(ours.value).split(" not implemented")[1]


def test_zero_input_channels_backward():
    """A convolution over zero input channels (an empty weight's kernel volume): zeros, and
    the weight's backward accumulates nothing (the fuzzer found its scratch memset of
    NULL, which UBSan aborts on).  torch 1.13 gives its output 0 channels instead of the
    weight's 4: the values (none, or zeros) and the gradients agree."""
    x = td.rand(2, 0, 5, 5, requires_grad=True)
    w = td.rand(4, 0, 3, 3, requires_grad=True)
    y = td.nn.functional.conv2d(x, w)
    y.sum().backward()
    assert y.shape == (2, 4, 3, 3) and y.abs().sum().item() == 0
    assert w.grad.shape == (4, 0, 3, 3) and x.grad.shape == (2, 0, 5, 5)
    assert td.ones(2).sum().item() == 2.0  # the daemon is still there
