"""torch.layout and torch.memory_format against torch 1.13: channels_last(_3d) strides
from contiguous(), to(), clone() (preserve_format keeps them) and Module.to(), is_contiguous
for each format, values unchanged, ops on channels-last inputs, and the errors."""
import numpy as np
import pytest
import torch as T

import tensord as td
from tdhelpers import assert_raises_like

rng = np.random.default_rng(0)


def test_names_and_reprs():
    for name in ("strided", "sparse_coo", "sparse_csr", "contiguous_format", "channels_last", "channels_last_3d",
                 "preserve_format"):
        assert repr(getattr(td, name)) == repr(getattr(T, name))
    assert td.randn(2).layout is td.strided
    assert isinstance(td.strided, td.layout) and isinstance(td.channels_last, td.memory_format)


@pytest.mark.parametrize("shape,fmt", [((2, 3, 4, 5), "channels_last"), ((2, 3, 2, 4, 5), "channels_last_3d"),
                                       ((1, 3, 1, 1), "channels_last"), ((2, 1, 4, 1), "channels_last")])
def test_strides_match_torch(shape, fmt):
    a = rng.standard_normal(shape)
    res = {}
    for m in (td, T):
        x = m.tensor(a)
        f = getattr(m, fmt)
        cl = x.contiguous(memory_format=f)
        to = x.to(memory_format=f)
        kept = cl.clone()                              # preserve_format
        back = cl.contiguous()
        same = x.contiguous(memory_format=m.preserve_format)   # already row-major: itself
        res[m] = [(t.stride(), t.is_contiguous(), t.is_contiguous(memory_format=f), t.numpy().tolist())
                  for t in (cl, to, kept, back, cl.clone(memory_format=m.contiguous_format), same,
                            cl.to(memory_format=m.contiguous_format))]
    assert res[td] == res[T]


def test_ops_on_channels_last_inputs_and_module_to():
    x = rng.standard_normal((2, 3, 6, 6))
    outs = {}
    for m in (td, T):
        m.manual_seed(0)
        conv = m.nn.Conv2d(3, 4, 3).double()
        w = np.linspace(-1, 1, conv.weight.numel()).reshape(tuple(conv.weight.shape))
        with m.no_grad():
            conv.weight.copy_(m.tensor(w))
            conv.bias.zero_()
        conv = conv.to(memory_format=m.channels_last)
        xi = m.tensor(x).contiguous(memory_format=m.channels_last)
        y = conv(xi)
        outs[m] = (conv.weight.stride(), conv.weight.is_contiguous(memory_format=m.channels_last),
                   y.detach().numpy(), (xi * 2 + 1).sum((2, 3)).numpy())
    assert outs[td][0] == outs[T][0] and outs[td][1] and outs[T][1]
    np.testing.assert_allclose(outs[td][2], outs[T][2], rtol=1e-12)
    np.testing.assert_allclose(outs[td][3], outs[T][3], rtol=1e-12)


@pytest.mark.parametrize("call", [
    lambda m: m.randn(2, 3).contiguous(memory_format=m.channels_last),
    lambda m: m.randn(2, 3, 4, 5).contiguous(memory_format=m.channels_last_3d),
    lambda m: m.randn(2, 3).t().contiguous(memory_format=m.preserve_format),
])
def test_errors_match_torch(call):
    assert_raises_like(lambda: call(td), lambda: call(T))


# ---- layouts of new results: what torch's TensorIterator and empty_like(preserve_format) give

def _inputs(m, seed=1):
    r = np.random.default_rng(seed)
    cl = m.tensor(r.standard_normal((2, 3, 4, 5)).astype(np.float32)).contiguous(memory_format=m.channels_last)
    rm = m.tensor(r.standard_normal((2, 3, 4, 5)).astype(np.float32))
    t = m.tensor(r.standard_normal((5, 4)).astype(np.float32)).t()
    p3 = m.tensor(r.standard_normal((3, 4, 2)).astype(np.float32)).permute(2, 0, 1)
    return cl, rm, t, p3


LAYOUT_CASES = {
    "unary_cl": lambda m, cl, rm, t, p3: cl.exp(),
    "unary_t": lambda m, cl, rm, t, p3: t.sin(),
    "unary_permuted": lambda m, cl, rm, t, p3: p3.abs(),
    "unary_sliced": lambda m, cl, rm, t, p3: cl[:, :, ::2].neg(),
    "binary_cl_rm": lambda m, cl, rm, t, p3: cl + rm,
    "binary_rm_cl": lambda m, cl, rm, t, p3: rm * cl,
    "binary_cl_scalar": lambda m, cl, rm, t, p3: cl - 2,
    "binary_t_t": lambda m, cl, rm, t, p3: t * t,
    "binary_t_row": lambda m, cl, rm, t, p3: t + m.ones(5),
    "binary_t_col": lambda m, cl, rm, t, p3: t + m.ones(4, 1),
    "binary_broadcast_cl": lambda m, cl, rm, t, p3: cl + m.ones(3, 1, 1),
    "binary_expanded": lambda m, cl, rm, t, p3: m.ones(3, 1, 5).expand(3, 4, 5) + m.ones(4, 1).t().unsqueeze(2),
    "compare": lambda m, cl, rm, t, p3: cl > 0,
    "where": lambda m, cl, rm, t, p3: m.where(cl > 0, cl, rm),
    "clamp": lambda m, cl, rm, t, p3: t.clamp(min=0),
    "math_binary": lambda m, cl, rm, t, p3: m.atan2(t, t),
    "activation": lambda m, cl, rm, t, p3: m.nn.functional.gelu(cl),
    "to_half": lambda m, cl, rm, t, p3: cl.half(),
    "to_double_t": lambda m, cl, rm, t, p3: t.double(),
    "to_double_sliced": lambda m, cl, rm, t, p3: t[::2].double(),
    "to_double_permuted_sliced": lambda m, cl, rm, t, p3: p3[:, ::2].double(),
    "clone": lambda m, cl, rm, t, p3: (cl.clone(), t.clone(), cl[:, :, ::2].clone()),
    "like": lambda m, cl, rm, t, p3: (m.zeros_like(cl), m.ones_like(t), m.full_like(cl[:, :, ::2], 3),
                                      m.empty_like(cl, memory_format=m.contiguous_format).fill_(1)),
    "empty_channels_last": lambda m, cl, rm, t, p3: m.empty(2, 3, 4, 5, memory_format=m.channels_last).fill_(2),
    "conv2d": lambda m, cl, rm, t, p3: m.nn.functional.conv2d(cl, m.ones(2, 3, 3, 3) / 9, padding=1),
    "conv2d_weight_cl": lambda m, cl, rm, t, p3: m.nn.functional.conv2d(
        rm, (m.ones(2, 3, 3, 3) / 9).contiguous(memory_format=m.channels_last)),
    "max_pool": lambda m, cl, rm, t, p3: m.nn.functional.max_pool2d(cl, 2, return_indices=True),
    "avg_pool": lambda m, cl, rm, t, p3: m.nn.functional.avg_pool2d(cl, 2),
    "adaptive_pools": lambda m, cl, rm, t, p3: (m.nn.functional.adaptive_avg_pool2d(cl, 1),
                                                m.nn.functional.adaptive_max_pool2d(cl, 2)[0]),
    "cat": lambda m, cl, rm, t, p3: (m.cat([cl, cl], 1), m.cat([cl, rm], 0), m.cat([rm, cl], 3)),
    # torch gives these row-major results whatever the input's layout
    "softmax": lambda m, cl, rm, t, p3: m.softmax(cl, 1),
    "cumsum": lambda m, cl, rm, t, p3: t.cumsum(0),
    "layer_norm": lambda m, cl, rm, t, p3: m.nn.functional.layer_norm(cl, (5,)),
    "batch_norm": lambda m, cl, rm, t, p3: m.nn.functional.batch_norm(cl, m.zeros(3), m.ones(3), training=True),
}


@pytest.mark.parametrize("name", sorted(LAYOUT_CASES))
def test_result_layout_matches_torch(name):
    got, want = LAYOUT_CASES[name](td, *_inputs(td)), LAYOUT_CASES[name](T, *_inputs(T))
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got, want):
        assert g.stride() == w.stride() and g.shape == w.shape
        assert g.is_contiguous() == w.is_contiguous()
        assert g.is_contiguous(memory_format=td.channels_last) == w.is_contiguous(memory_format=T.channels_last) \
            if g.ndim == 4 else True
        np.testing.assert_allclose(g.float().numpy(), w.float().numpy(), rtol=1e-5, atol=1e-6)


def test_view_of_a_transposed_result_fails_like_torch():
    # torch keeps the transposed layout, so a flat view of the result is refused
    assert_raises_like(lambda: (td.ones(3, 4).t() + 1).view(-1), lambda: (T.ones(3, 4).t() + 1).view(-1))
    assert (td.ones(3, 4).t() + 1).reshape(-1).tolist() == [2.0] * 12


def test_random_like_fills_in_memory_order():
    for m in (td, T):
        m.manual_seed(4)
    cl_t = T.empty(2, 3, 4, 5).contiguous(memory_format=T.channels_last)
    cl_d = td.empty(2, 3, 4, 5).contiguous(memory_format=td.channels_last)
    for f in ("rand_like", "randn_like"):
        a, b = getattr(T, f)(cl_t), getattr(td, f)(cl_d)
        assert a.stride() == b.stride() and np.array_equal(a.numpy(), b.numpy()), f


def test_convert_conv2d_weight_memory_format_like_torch():
    strides = []
    for m in (T, td):
        net = m.nn.Sequential(m.nn.Conv2d(3, 4, 3), m.nn.Sequential(m.nn.ConvTranspose2d(4, 2, 2)), m.nn.Linear(2, 2))
        out = m.nn.utils.convert_conv2d_weight_memory_format(net, m.channels_last)
        assert out is net
        strides.append([net[0].weight.stride(), net[1][0].weight.stride(), net[2].weight.stride(),
                        net[0].weight.is_contiguous(memory_format=m.channels_last)])
    assert strides[0] == strides[1]
