"""affine_grid and grid_sample (2-d and 3-d) against torch 1.13: values and the gradients
with respect to the input, the grid and the affine matrices, for every mode, padding mode
and align_corners, and torch's errors."""
import numpy as np
import pytest
import torch as T

import tensord as td
from tdhelpers import assert_raises_like

THETA = np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]], [[1.2, 0.0, -0.2], [0.3, 0.8, 0.0]]])
THETA3 = np.array([[[0.9, 0.2, 0.1, 0.0], [-0.1, 1.1, 0.05, 0.1], [0.0, 0.2, 0.8, -0.1]],
                   [[1.2, 0.0, -0.2, 0.1], [0.3, 0.8, 0.0, 0.0], [0.1, -0.1, 1.0, 0.2]]])


def _sample_both(x, g, **kw):
    res = []
    for m in (T, td):
        xx, gg = m.tensor(x, requires_grad=True), m.tensor(g, requires_grad=True)
        out = m.nn.functional.grid_sample(xx, gg, **kw)
        (out ** 2).sum().backward()
        # nearest sampling: torch gives the grid a zero gradient, tensord none
        res.append((out.detach().numpy(), xx.grad.numpy(), np.zeros(g.shape) if gg.grad is None else gg.grad.numpy()))
    return res


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_matches_torch(align_corners, mode, padding_mode):
    rng = np.random.default_rng(0)
    # grid points well beyond [-1, 1] exercise the padding (reflection folds several times)
    x, g = rng.standard_normal((2, 3, 5, 6)), rng.uniform(-2.5, 2.5, (2, 4, 7, 2))
    for a, b in zip(*_sample_both(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_3d_matches_torch(align_corners, mode, padding_mode):
    rng = np.random.default_rng(2)
    x, g = rng.standard_normal((2, 2, 4, 5, 3)), rng.uniform(-1.8, 1.8, (2, 3, 2, 4, 3))
    for a, b in zip(*_sample_both(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-10)


def test_grid_sample_single_pixel_reflection():
    # a size-1 dim: reflection has no span (torch returns coordinate 0)
    x, g = np.random.default_rng(3).standard_normal((1, 1, 1, 4)), np.array([[[[0.3, 0.7], [-1.5, 2.0]]]])
    for a, b in zip(*_sample_both(x, g, padding_mode="reflection", align_corners=True)):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_and_sampling_matches_torch(align_corners):
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 6))
    res = []
    for m in (T, td):
        th, xx = m.tensor(THETA, requires_grad=True), m.tensor(x)
        grid = m.nn.functional.affine_grid(th, (2, 3, 4, 7), align_corners=align_corners)
        out = m.nn.functional.grid_sample(xx, grid, align_corners=align_corners)
        (out ** 2).sum().backward()
        res.append((grid.detach().numpy(), out.detach().numpy(), th.grad.numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_3d_and_sampling_matches_torch(align_corners):
    x = np.random.default_rng(4).standard_normal((2, 2, 4, 5, 3))
    res = []
    for m in (T, td):
        th, xx = m.tensor(THETA3, requires_grad=True), m.tensor(x)
        grid = m.nn.functional.affine_grid(th, (2, 2, 3, 4, 5), align_corners=align_corners)
        out = m.nn.functional.grid_sample(xx, grid, align_corners=align_corners, padding_mode="border")
        (out ** 2).sum().backward()
        res.append((grid.detach().numpy(), out.detach().numpy(), th.grad.numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("call", [
    lambda m: m.nn.functional.grid_sample(m.randn(1, 1, 2, 2, 2), m.randn(1, 2, 2, 2, 3), mode="bicubic"),
    lambda m: m.nn.functional.grid_sample(m.randn(1, 1, 2, 2), m.randn(1, 2, 2, 2), mode="foo"),
    lambda m: m.nn.functional.grid_sample(m.randn(1, 1, 2, 2), m.randn(1, 2, 2, 2), padding_mode="foo"),
    lambda m: m.nn.functional.grid_sample(m.randn(1, 1, 2, 2), m.randn(1, 2, 2, 3)),
    lambda m: m.nn.functional.grid_sample(m.randn(1, 1, 2, 2), m.randn(2, 2, 2, 2)),
    lambda m: m.nn.functional.grid_sample(m.randn(1, 1, 2, 2, 2), m.randn(1, 2, 2, 2)),
    lambda m: m.nn.functional.affine_grid(m.randn(1, 2, 3), (1, 1, 2, 2, 2)),
    lambda m: m.nn.functional.affine_grid(m.randn(1, 2, 3), (1, 1, 2)),
])
def test_errors_match_torch(call):
    assert_raises_like(lambda: call(td), lambda: call(T))
