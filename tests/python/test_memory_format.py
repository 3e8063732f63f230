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
