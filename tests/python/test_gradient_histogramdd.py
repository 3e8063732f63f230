"""torch.gradient (every spacing form, dims, edge orders, dtypes, gradients through it) and
torch.histogramdd (bin counts, lists of counts, bin-edge tensors, range, weight, density,
the return type) against torch 1.13, with torch's errors."""
import warnings

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, from_torch

warnings.filterwarnings("ignore", category=UserWarning)
RNG = np.random.default_rng(99)


def R(*shape, dtype=torch.float64):
    return torch.from_numpy(RNG.uniform(-3, 3, shape)).to(dtype)


def _conv(x):
    if isinstance(x, torch.Tensor):
        return from_torch(x)
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, torch.Tensor) for v in x):
        return type(x)(from_torch(v) for v in x)
    return x


def _kw(kw):
    return {k: _conv(v) for k, v in kw.items()}


COORDS = (torch.tensor([0.0, 1.5, 4.0], dtype=torch.float64), torch.tensor([0.0, 1.0, 3.0, 7.0], dtype=torch.float64),
          torch.tensor([-1.0, 0.5, 1.0, 3.0, 7.5], dtype=torch.float64))

GRADIENT_CASES = [
    {}, {"spacing": 2.0}, {"spacing": 3}, {"spacing": [2.0, 3.0, 0.5]}, {"dim": 1}, {"dim": -1},
    {"dim": [0, 2], "edge_order": 2}, {"edge_order": 2}, {"spacing": 2, "dim": (1,)},
    {"spacing": [2, 3], "dim": (1, 2)}, {"spacing": [0.5], "dim": 2, "edge_order": 2},
    {"spacing": COORDS}, {"spacing": COORDS, "edge_order": 2}, {"spacing": COORDS[1:2], "dim": 1},
    {"spacing": COORDS[2:], "dim": (2,), "edge_order": 2},
]


@pytest.mark.parametrize("kw", GRADIENT_CASES)
def test_gradient_values(kw):
    x = R(3, 4, 5)
    want = torch.gradient(x, **kw)
    got = td.gradient(_conv(x), **_kw(kw))
    assert isinstance(got, tuple) and len(got) == len(want)
    for g, w in zip(got, want):
        assert_same(g, w)


@pytest.mark.parametrize("kw", [{}, {"edge_order": 2}, {"spacing": COORDS, "edge_order": 2},
                                {"spacing": [2.0, 1.0, 3.0]}])
def test_gradient_differentiable(kw):
    x = R(3, 4, 5)
    weights = [R(3, 4, 5) for _ in range(3)]
    xt = x.clone().requires_grad_()
    sum((g * w).sum() for g, w in zip(torch.gradient(xt, **kw), weights)).backward()
    xg = _conv(x).requires_grad_()
    sum((g * _conv(w)).sum() for g, w in zip(td.gradient(xg, **_kw(kw)), weights)).backward()
    assert_same(xg.grad, xt.grad)


@pytest.mark.parametrize("case", [
    (torch.arange(5), {}), (torch.arange(5), {"spacing": 2}), (torch.arange(5), {"spacing": 2.0}),
    (torch.arange(5), {"spacing": (torch.tensor([0, 1, 3, 4, 8]),)}),
    (torch.arange(5.0), {"spacing": (torch.tensor([0.0, 1, 3, 4, 8], dtype=torch.float64),)}),
    (torch.arange(6, dtype=torch.float32).reshape(2, 3), {"edge_order": 1}),
    (torch.tensor([1 + 1j, 2, 4j, 3]), {}),
])
def test_gradient_dtypes(case):
    x, kw = case
    want = torch.gradient(x, **kw)
    got = td.gradient(_conv(x), **_kw(kw))
    for g, w in zip(got, want):
        assert_same(g, w)


def test_gradient_scalar_input():
    assert td.gradient(td.tensor(3.0)) == () and torch.gradient(torch.tensor(3.0)) == ()


@pytest.mark.parametrize("x, kw", [
    (R(2, 3, 4), {"spacing": [1.0, 2.0]}),
    (R(2, 3, 4), {"spacing": [1.0, 2.0], "dim": 1}),
    (R(2, 3, 4), {"spacing": [1.0, 2.0], "dim": [0, 1, 2]}),
    (R(2, 3, 4), {"spacing": (torch.arange(2.0), torch.arange(3.0))}),
    (R(2, 3, 4), {"spacing": (torch.ones(2, 2),), "dim": 0}),
    (R(2, 3, 4), {"spacing": (torch.tensor(2.0),), "dim": 0}),
    (R(2, 3, 4), {"dim": [0, 0]}),
    (R(2, 3, 4), {"dim": 3}),
    (R(2, 3, 4), {"edge_order": 0}),
    (R(2, 3, 4), {"edge_order": 3}),
    (R(2, 1), {}),
    (R(2, 1), {"dim": 1}),
    (R(3, 2), {"edge_order": 2}),
    (torch.zeros(0), {}),
    (torch.tensor([True, False, True]), {}),
    (R(3), {"spacing": torch.tensor([0.0, 1.0, 2.0])}),
])
def test_gradient_errors(x, kw):
    assert_raises_like(lambda: td.gradient(_conv(x), **_kw(kw)), lambda: torch.gradient(x, **kw))


def test_gradient_allows_one_size_dims_it_skips():
    x = R(2, 1)
    assert_same(td.gradient(_conv(x), dim=0)[0], torch.gradient(x, dim=0)[0])


# ---------------------------------------------------------------- histogramdd

def _same_hist(got, want):
    assert type(got).__name__ == "histogramdd"
    assert_same(got.hist, want.hist)
    assert_same(got[0], want[0])
    assert isinstance(got.bin_edges, tuple) and len(got.bin_edges) == len(want.bin_edges)
    for g, w in zip(got.bin_edges, want.bin_edges):
        assert_same(g, w)


def _pts(*shape, dtype=torch.float32):
    return torch.from_numpy(RNG.normal(size=shape)).to(dtype)


W30 = torch.from_numpy(RNG.uniform(0, 1, 30)).float()
EDGES = [torch.tensor([-1.0, 0.0, 1.0]), torch.tensor([-2.0, 0.5, 1.0, 2.0])]


@pytest.mark.parametrize("args, kw", [
    ((3,), {}), (([2, 3],), {}), (([2, 3, 4],), {}), ((EDGES,), {}), ((EDGES,), {"density": True}),
    ((3,), {"range": [-1.0, 1.0, -0.5, 2.0], "weight": W30}), ((4,), {"density": True, "weight": W30}),
    ((3, [-1.0, 1.0, -1.0, 1.0], W30, True), {}), ((5,), {"range": (-1.0, 1.0, 0.0, 0.0)}),
])
def test_histogramdd_2d(args, kw):
    x = _pts(30, 2)
    want = torch.histogramdd(x, *args, **kw)
    got = td.histogramdd(_conv(x), *[_conv(a) for a in args], **_kw(kw))
    _same_hist(got, want)


@pytest.mark.parametrize("x, bins", [
    (_pts(4, 5, 3, dtype=torch.float64), 2), (_pts(4, 5, 3, dtype=torch.float64), [2, 3, 4]),
    (torch.ones(4, 2), 3), (torch.zeros(0, 2), 3), (_pts(20, 1), 6), (_pts(50, 3), [1, 2, 5]),
])
def test_histogramdd_shapes(x, bins):
    _same_hist(td.histogramdd(_conv(x), bins, density=False), torch.histogramdd(x, bins))
    if x.numel():
        _same_hist(td.histogramdd(_conv(x), bins, density=True), torch.histogramdd(x, bins, density=True))


@pytest.mark.parametrize("x, args, kw", [
    (_pts(10), (3,), {}),
    (_pts(10, 2), (3,), {"range": [-1.0, 1.0]}),
    (_pts(10, 2), (3,), {"range": [1.0, 0.0, 0.0, 1.0]}),
    (_pts(10, 2), ([2, 0],), {}),
    (_pts(10, 2), ([2, -1],), {}),
    (_pts(10, 2), (0,), {}),
    (_pts(10, 2), (-1,), {}),
    (_pts(10, 2), ([torch.tensor([0.0, 1.0])],), {}),
    (_pts(10, 2), ([torch.tensor([0.0, 1.0])] * 3,), {}),
    (_pts(10, 2), ([torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0], dtype=torch.float64)],), {}),
    (_pts(10, 2), ([torch.tensor([0.0, 1.0]), torch.tensor([2.0])],), {}),
    (_pts(10, 2), ([torch.tensor([0.0, 1.0]), torch.tensor([[2.0, 3.0]])],), {}),
    (_pts(10, 2), (3,), {"weight": torch.rand(9)}),
    (_pts(10, 2), (3,), {"weight": torch.rand(10, dtype=torch.float64)}),
    (torch.randint(0, 3, (10, 2)), (3,), {}),
])
def test_histogramdd_errors(x, args, kw):
    assert_raises_like(lambda: td.histogramdd(_conv(x), *[_conv(a) for a in args], **_kw(kw)),
                       lambda: torch.histogramdd(x, *args, **kw))


def test_histogram_shares_the_binning():
    x = _pts(40)
    for bins in (5, torch.tensor([-3.0, -1.0, 0.0, 0.5, 3.0])):
        want = torch.histogram(x, bins, weight=torch.ones(40), density=True)
        got = td.histogram(_conv(x), _conv(bins), weight=td.ones(40), density=True)
        assert_same(got.hist, want.hist)
        assert_same(got.bin_edges, want.bin_edges)
    for bad in (0, torch.tensor([1.0])):
        assert_raises_like(lambda: td.histogram(_conv(x), _conv(bad)), lambda: torch.histogram(x, bad))
    want = torch.histogram(x.reshape(5, 8), 4, weight=torch.arange(40.0).reshape(8, 5))  # flattened, both
    got = td.histogram(_conv(x.reshape(5, 8)), 4, weight=td.arange(40.0).reshape(8, 5))
    assert_same(got.hist, want.hist)
    for shape in ((39,), (4, 9)):
        assert_raises_like(lambda: td.histogram(_conv(x), 3, weight=td.ones(shape)),
                           lambda: torch.histogram(x, 3, weight=torch.ones(shape)))
    assert_raises_like(lambda: td.histogram(_conv(x), 3, weight=td.ones(40, dtype=td.float64)),
                       lambda: torch.histogram(x, 3, weight=torch.ones(40, dtype=torch.float64)))
