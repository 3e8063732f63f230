"""affine_grid and grid_sample (2-d) against torch 1.13: values and the gradients with
respect to the input, the grid and the affine matrices."""
import numpy as np
import pytest
import torch as T

import tensord as td

THETA = np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]], [[1.2, 0.0, -0.2], [0.3, 0.8, 0.0]]])


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border"])
def test_grid_sample_matches_torch(align_corners, mode, padding_mode):
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((2, 3, 5, 6)), rng.uniform(-1.2, 1.2, (2, 4, 7, 2))
    res = []
    for m in (T, td):
        xx, gg = m.tensor(x, requires_grad=True), m.tensor(g, requires_grad=True)
        out = m.nn.functional.grid_sample(xx, gg, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
        (out ** 2).sum().backward()
        # nearest sampling: torch gives the grid a zero gradient, tensord none
        res.append((out.detach().numpy(), xx.grad.numpy(), np.zeros(g.shape) if gg.grad is None else gg.grad.numpy()))
    for a, b in zip(*res):
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
