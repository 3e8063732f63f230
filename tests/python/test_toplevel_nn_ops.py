"""The nn.functional ops torch 1.13 also exposes at its top level (torch.conv2d,
torch.pixel_shuffle, torch.max_pool2d, ..., torch.conv_tbc) against torch's own, values
and gradients, and conv_tbc's errors."""
import numpy as np
import pytest
import torch as T

import tensord as td
from tdhelpers import assert_raises_like

rng = np.random.default_rng(8)

CASES = {
    "conv1d": (lambda m, x, w: m.conv1d(x, w, None, 2, 1), [(2, 3, 9), (4, 3, 3)]),
    "conv2d": (lambda m, x, w, b: m.conv2d(x, w, b, 1, 1, 1, 1), [(1, 2, 5, 5), (3, 2, 3, 3), (3,)]),
    "conv3d": (lambda m, x, w: m.conv3d(x, w), [(1, 2, 4, 4, 4), (2, 2, 2, 2, 2)]),
    "conv_transpose1d": (lambda m, x, w: m.conv_transpose1d(x, w, None, 2), [(1, 3, 5), (3, 2, 3)]),
    "conv_transpose2d": (lambda m, x, w: m.conv_transpose2d(x, w), [(1, 3, 4, 4), (3, 2, 2, 2)]),
    "conv_transpose3d": (lambda m, x, w: m.conv_transpose3d(x, w), [(1, 2, 3, 3, 3), (2, 1, 2, 2, 2)]),
    "conv_tbc": (lambda m, x, w, b: m.conv_tbc(x, w, b, 1), [(7, 2, 3), (3, 3, 4), (4,)]),
    "pixel_shuffle": (lambda m, x: m.pixel_shuffle(x, 2), [(1, 8, 3, 3)]),
    "pixel_unshuffle": (lambda m, x: m.pixel_unshuffle(x, 2), [(1, 2, 4, 6)]),
    "channel_shuffle": (lambda m, x: m.channel_shuffle(x, 2), [(1, 4, 3)]),
    "prelu": (lambda m, x, w: m.prelu(x, w), [(2, 3, 4), (3,)]),
    "selu_celu": (lambda m, x: m.selu(x) + m.celu(x, 0.5), [(3, 4)]),
    "avg_pool1d": (lambda m, x: m.avg_pool1d(x, 3, 2, 1, True, False), [(2, 3, 10)]),
    "max_pool1d": (lambda m, x: m.max_pool1d(x, 2), [(2, 3, 8)]),
    "max_pool2d": (lambda m, x: m.max_pool2d(x, 3, 2, 1, 1, True), [(1, 2, 7, 7)]),
    "max_pool3d": (lambda m, x: m.max_pool3d(x, 2), [(1, 1, 4, 4, 4)]),
    "max_pool1d_with_indices": (lambda m, x: m.max_pool1d_with_indices(x, 2)[0], [(1, 2, 6)]),
    "adaptive_avg_pool1d": (lambda m, x: m.adaptive_avg_pool1d(x, 3), [(2, 3, 8)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    fn, shapes = CASES[name]
    arrays = [rng.standard_normal(s) for s in shapes]
    if name == "channel_shuffle":   # torch 1.13 has no derivative for it: values only
        np.testing.assert_array_equal(fn(td, td.tensor(arrays[0])).numpy(), fn(T, T.tensor(arrays[0])).numpy())
        return
    res = []
    for m in (td, T):
        xs = [m.tensor(a, requires_grad=True) for a in arrays]
        y = fn(m, *xs)
        (y * m.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)))).sum().backward()
        res.append([y.detach().numpy()] + [x.grad.numpy() for x in xs])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shapes", [[(7, 2, 3), (3, 2, 4), (4,)], [(7, 2), (3, 3, 4), (4,)],
                                    [(7, 2, 3), (3, 3, 4), (5,)], [(7, 2, 3), (3, 4), (4,)]])
def test_conv_tbc_errors_match_torch(shapes):
    arrays = [rng.standard_normal(s) for s in shapes]
    assert_raises_like(lambda: td.conv_tbc(*[td.tensor(a) for a in arrays]),
                       lambda: T.conv_tbc(*[T.tensor(a) for a in arrays]))
