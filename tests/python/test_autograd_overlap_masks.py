"""Gradients through views of tensors whose elements share memory (expand's stride 0,
transposed and other non-contiguous inputs of as_strided-based views: diagonal, unfold,
mask indexing) and masked gradients that must stay 0 where an infinite or NaN gradient
is masked out (relu, clamp, maximum/minimum, median, max()/min()), compared with PyTorch 1.13;
gradcheck/gradgradcheck in float64 where the formulas differentiate again."""
import math

import numpy as np
import pytest
import torch as T

import tensord as td


def _leaf(m, a):
    return m.tensor(np.asarray(a, dtype=np.float64), dtype=m.float64, requires_grad=True)


def _np(t):
    return np.array(t.detach().tolist(), dtype=np.float64)


def _grads(fn, *arrays):
    """fn(m, *leaves) -> loss, run under tensord and torch: both leaves' gradients."""
    out = []
    for m in (td, T):
        xs = [_leaf(m, a) for a in arrays]
        fn(m, *xs).backward()
        out.append([None if x.grad is None else _np(x.grad) for x in xs])
    return out


def _same_grads(fn, *arrays):
    got, want = _grads(fn, *arrays)
    for i, (g, w) in enumerate(zip(got, want)):
        assert (g is None) == (w is None)
        if w is not None:
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, err_msg="grad of leaf %d" % i)


def _w(m, *shape):
    """fixed distinct weights, so each element's gradient is told apart"""
    n = int(np.prod(shape))
    return m.arange(1.0, n + 1.0, dtype=m.float64).reshape(shape)


X = np.random.default_rng(0).standard_normal((2, 3))
SQ = np.random.default_rng(1).standard_normal((3, 3))

# views built on as_strided whose input is expanded (stride 0) or not contiguous: each
# expanded copy's gradient adds up in the leaf
VIEW_CASES = {
    "diagonal_expanded": (lambda m, x: ((x * 1).expand(4, 3, 3).diagonal(dim1=-2, dim2=-1) * _w(m, 4, 3)).sum(),
                          SQ),
    "diagonal_expanded_offset": (lambda m, x: ((x * 1).expand(2, 2, 3).diagonal(1, 1, 2) * _w(m, 2, 2)).sum(), X),
    "diagonal_expanded_dims": (lambda m, x: (x.unsqueeze(1).expand(2, 4, 3).diagonal(-1, 0, 2) * _w(m, 4, 2)).sum(),
                               X),
    "diagonal_expanded_row": (lambda m, x: (x[0].expand(3, 3).diagonal() * _w(m, 3)).sum(), X),
    "diagonal_transposed": (lambda m, x: (m.cat([x, x], 1).t().diagonal() * _w(m, 2)).sum(), X),
    "diagonal_transposed_offset": (lambda m, x: (x.t().diagonal(-1) * _w(m, 2)).sum(), X),
    "diagonal_permuted": (lambda m, x: (x.reshape(2, 3, 1).expand(2, 3, 3).permute(2, 0, 1).diagonal(0, 1, 2)
                                        * _w(m, 3, 2)).sum(), X),
    "mask_expanded": (lambda m, x: (lambda y: (y[y > -100] * _w(m, 18)).sum())((x * 1).expand(3, 2, 3)), X),
    "mask_expanded_part": (lambda m, x: (lambda y: (y[y > 0] ** 2).sum())(x.expand(3, 2, 3)), X),
    "mask_expanded_rows": (lambda m, x: (x.expand(2, 2, 3)[m.tensor([[True, False], [True, True]])]
                                         * _w(m, 3, 3)).sum(), X),
    "masked_select_expanded": (lambda m, x: (x.expand(2, 2, 3).masked_select(x > 0) ** 2).sum(), X),
    "getitem_expanded_steps": (lambda m, x: (x.expand(4, 2, 3)[1::2, :, ::2] * _w(m, 2, 2, 2)).sum(), X),
    "unfold_expanded": (lambda m, x: (x.expand(3, 2, 3).unfold(2, 2, 1) * _w(m, 3, 2, 2, 2)).sum(), X),
    "unfold_expanded_dim": (lambda m, x: (x.expand(4, 2, 3).unfold(0, 3, 1) * _w(m, 2, 2, 3, 3)).sum(), X),
    "unfold_transposed": (lambda m, x: (x.t().unfold(0, 2, 1) * _w(m, 2, 2, 2)).sum(), X),
    "as_strided_expanded": (lambda m, x: (x.expand(3, 2, 3).as_strided((2, 2), (3, 1), 1) * _w(m, 2, 2)).sum(), X),
    "as_strided_transposed": (lambda m, x: (m.as_strided(x.t(), (3, 2), (1, 3)) * _w(m, 3, 2)).sum(), X),
    "diag_embed_expanded": (lambda m, x: (m.diag_embed(x.expand(2, 2, 3)) * _w(m, 2, 2, 3, 3)).sum(), X),
    "trace_of_expanded": (lambda m, x: m.trace(x[:, :2].expand(2, 2) * 1) + x[0, 0].expand(2, 2).diagonal().sum(),
                          X),
}


@pytest.mark.parametrize("name", sorted(VIEW_CASES))
def test_views_of_overlapping_inputs_match_torch(name):
    fn, x = VIEW_CASES[name]
    _same_grads(fn, x)


def test_views_of_overlapping_inputs_gradgradcheck():
    """The as_strided backward is made of index/index_put ops: differentiable again."""
    x = _leaf(td, X)
    sq = _leaf(td, SQ)
    fns = [lambda a: a.expand(3, 3, 3).diagonal(0, -2, -1) ** 2,
           lambda a: a.t().diagonal(-1) ** 3,
           lambda a: a.expand(2, 2, 3).unfold(2, 2, 1) ** 2,
           lambda a: (lambda y: y[y > 0] ** 2)(a.expand(2, 2, 3)),
           lambda a: a.expand(4, 2, 3)[1::2, :, ::2] ** 2]
    for i, f in enumerate(fns):
        a = sq if i == 0 else x
        assert td.autograd.gradcheck(f, (a,)), i
        assert td.autograd.gradgradcheck(f, (a,)), i


def test_expanded_view_keeps_per_element_gradients_through_mask():
    """y[mask] of an expanded y: y's own gradient is per element, as torch's (indexing's
    view of the whole tensor is not a storage-level as_strided)."""
    got = []
    for m in (td, T):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x.expand(3, 2)
        y.retain_grad()
        (y[y > 1.5] * m.arange(3.0)).sum().backward()
        got.append((_np(y.grad), _np(x.grad)))
    for g, w in zip(got[0], got[1]):
        np.testing.assert_allclose(g, w)


INF, NAN = math.inf, math.nan

# an infinite gradient reaches a masked-out element: torch selects (where/masked_fill),
# so that element's gradient is 0, not inf * 0 = nan
MASK_CASES = {
    "clamp_min": (lambda m, x: (1 / (x.clamp(min=1) - 1))[m.tensor([False, True])].sum(), [0.5, 3.0]),
    "clamp_max": (lambda m, x: (1 / (x.clamp(max=1) - 1))[m.tensor([False, True])].sum(), [1.5, 0.0]),
    "clamp_both": (lambda m, x: (1 / (x.clamp(0, 1) - 1))[m.tensor([False, True, True])].sum(), [1.5, 0.5, -1.0]),
    "clamp_min_method": (lambda m, x: (1 / (x.clamp_min(1) - 1))[m.tensor([False, True])].sum(), [0.5, 3.0]),
    "clamp_tensor_min": (lambda m, x: (1 / (x.clamp(min=m.ones(2, dtype=m.float64)) - 1))[m.tensor([False, True])]
                         .sum(), [0.5, 3.0]),
    "relu": (lambda m, x: (1 / x.relu())[m.tensor([False, True])].sum(), [-1.0, 2.0]),
    "relu_nan_input": (lambda m, x: (x.relu() * 2).sum(), [NAN, 2.0]),
    "hardtanh": (lambda m, x: (1 / (m.nn.functional.hardtanh(x) - 1))[m.tensor([False, True])].sum(), [2.0, 0.5]),
    "relu6": (lambda m, x: (1 / (m.nn.functional.relu6(x) - 6))[m.tensor([False, True])].sum(), [7.0, 0.5]),
    "hardsigmoid": (lambda m, x: (1 / m.nn.functional.hardsigmoid(x))[m.tensor([False, True])].sum(), [-4.0, 0.5]),
    "threshold": (lambda m, x: (1 / m.nn.functional.threshold(x, 1.0, 1.0) - 1)[m.tensor([False, True])].sum(),
                  [0.5, 3.0]),
    "leaky_relu_0": (lambda m, x: (1 / m.nn.functional.leaky_relu(x, 0.0))[m.tensor([False, True])].sum(),
                     [-1.0, 3.0]),
    "maximum_input": (lambda m, x: (1 / (m.maximum(x, m.ones(2, dtype=m.float64)) - 1))[m.tensor([False, True])]
                      .sum(), [0.5, 3.0]),
    "maximum_other": (lambda m, x: (1 / (m.maximum(m.tensor([1.0, 2.0], dtype=m.float64), x) - 1))
                      [m.tensor([False, True])].sum(), [0.5, 3.0]),
    "minimum_input": (lambda m, x: (1 / (m.minimum(x, m.ones(2, dtype=m.float64)) - 1))[m.tensor([False, True])]
                      .sum(), [1.5, 0.0]),
    "maximum_nan": (lambda m, x: m.maximum(x, m.ones(2, dtype=m.float64)).sum(), [NAN, 0.0]),
    "maximum_tie": (lambda m, x: (m.maximum(x, m.ones(2, dtype=m.float64)) * m.tensor([2.0, 3.0],
                                                                                       dtype=m.float64)).sum(),
                    [1.0, 0.0]),
    "minimum_tie": (lambda m, x: (m.minimum(x, m.ones(2, dtype=m.float64)) * m.tensor([2.0, 3.0],
                                                                                       dtype=m.float64)).sum(),
                    [1.0, 2.0]),
    "median_nan": (lambda m, x: x.median() * 3, [NAN, 0.0, 1.0, NAN]),
    "median_tie": (lambda m, x: x.median() * 3, [1.0, 1.0, 0.0, 5.0]),
    "median_inf_grad": (lambda m, x: (1 / (x.median() - 1)) * 1, [1.0, 0.0, 5.0]),
    # max()/min() of all elements select (torch's evenly_distribute_backward); amax/amin
    # multiply by the mask, as torch's (nan where an infinite gradient is masked out)
    "max_all_nan": (lambda m, x: x.max() * 2, [NAN, 1.0, NAN]),
    "min_all_nan": (lambda m, x: x.min() * 2, [1.0, NAN, 0.0]),
    "max_all_inf_grad": (lambda m, x: 1 / (x.max() - 5), [5.0, 1.0]),
    "min_all_tie": (lambda m, x: x.min() * 3, [1.0, 1.0, 3.0]),
    "amax_inf_grad": (lambda m, x: 1 / (x.amax() - 5), [5.0, 1.0]),
    "amax_nan": (lambda m, x: x.amax() * 2, [NAN, 1.0, NAN]),
    "amin_dim_tie": (lambda m, x: (x.view(2, 2).amin(1) * m.tensor([2.0, 3.0], dtype=m.float64)).sum(),
                     [1.0, 1.0, 0.0, 4.0]),
}


@pytest.mark.parametrize("name", sorted(MASK_CASES))
def test_masked_gradients_match_torch(name):
    fn, v = MASK_CASES[name]
    got, want = _grads(fn, v)
    np.testing.assert_array_equal(np.isnan(got[0]), np.isnan(want[0]))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-7, equal_nan=True)  # torch rounds hardsigmoid's 1/6


def test_clamp_with_tensor_bounds_matches_torch():
    """Ties give their gradient to input, as torch's clamp_backward (maximum/minimum would
    share them); min > max gives max; NaN operands give NaN."""
    xv = [1.0, 0.0, 2.0, 5.0, 0.5, -1.0, 3.0]
    lov = [1.0, 0.0, 3.0, 0.0, 0.0, -2.0, 1.0]
    hiv = [2.0, 0.0, 1.0, 5.0, 1.0, 0.0, 2.0]
    got, want = _grads(lambda m, x, lo, hi: (m.clamp(x, lo, hi) * _w(m, 7)).sum(), xv, lov, hiv)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w)
    got, want = _grads(lambda m, x, lo: (m.clamp(x, min=lo) * _w(m, 7)).sum(), xv, lov)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w)
    got, want = _grads(lambda m, x, hi: (x.clamp(max=hi) * _w(m, 7)).sum(), xv, hiv)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w)
    vals = []
    for m in (td, T):
        x = m.tensor([NAN, 1.0, 1.0, 5.0, 0.0])
        lo = m.tensor([0.0, NAN, 2.0, 0.0, 3.0])
        hi = m.tensor([0.0, 0.0, 1.0, NAN, 2.0])
        r = m.clamp(x, lo, hi)
        vals.append((_np(r), _np(m.clamp(x, min=lo)), _np(m.clamp(x, max=hi)), str(r.dtype).split(".")[-1],
                     _np(m.clamp(m.tensor([1, 5]), max=m.tensor([2.0, 2.0])))))
    for g, w in zip(vals[0], vals[1]):
        if isinstance(w, str):
            assert g == w
        else:
            np.testing.assert_array_equal(g, w)
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        td.clamp(td.ones(2), None, None)


def test_masked_formulas_gradgradcheck():
    """The selected formulas differentiate again (points away from ties and bounds)."""
    x = _leaf(td, [[0.3, -1.2, 2.5], [-0.7, 1.9, 0.1]])
    o = _leaf(td, [[1.0, -0.5, 2.0], [0.2, 0.4, -1.0]])
    lo = _leaf(td, [[0.0, -2.0, 0.0], [-1.0, 0.0, -0.5]])
    hi = _leaf(td, [[1.0, 0.0, 2.0], [0.0, 1.0, 0.5]])
    cases = [(lambda a: a.relu() * a, (x,)),
             (lambda a: a.clamp(-0.5, 1.0) ** 2, (x,)),
             (lambda a, b: td.maximum(a, b) ** 2, (x, o)),
             (lambda a, b: td.minimum(a, b) * a, (x, o)),
             (lambda a, b, c: td.clamp(a, b, c) ** 2, (x, lo, hi)),
             (lambda a: a.median() ** 2, (x,)),
             (lambda a: a.max() ** 2, (x,)),
             (lambda a: a.amin(1) ** 2, (x,))]
    for f, args in cases:
        assert td.autograd.gradcheck(f, args)
        assert td.autograd.gradgradcheck(f, args)


def test_diagonal_unfold_keep_each_elements_gradient_like_torch():
    """diagonal and unfold are views of their own (torch's DiagonalBackward0 and
    UnfoldBackward0): an expanded input's copies each get their own gradient, not equal
    shares of their memory's."""
    def run(m):
        out = []
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        y = x.expand(2, 2)
        y.retain_grad()
        d = y.diagonal()
        (d * m.tensor([3.0, 5.0], dtype=m.float64)).sum().backward()
        out += [d.grad_fn.name(), _np(y.grad), _np(x.grad)]
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        y = x.expand(3, 2)
        y.retain_grad()
        u = y.unfold(0, 2, 1)
        (u * _w(m, 2, 2, 2)).sum().backward()
        out += [u.grad_fn.name(), _np(y.grad), _np(x.grad)]
        return out
    for g, w in zip(run(td), run(T)):
        if isinstance(w, str):
            assert g == w
        else:
            np.testing.assert_allclose(g, w)


@pytest.mark.parametrize("args", [(0, 0, 1), (1, 0, 1), (-1, 0, 1), (2, 1, -1), (-2, -1, 0), (5, 0, 1),
                                  (-4, 2, 0), (0, -3, -1)])
def test_diagonal_views_match_torch(args):
    a = np.arange(24.0).reshape(2, 3, 4)
    got, want = td.tensor(a).diagonal(*args), T.tensor(a).diagonal(*args)
    assert tuple(got.shape) == tuple(want.shape) and got.stride() == want.stride()
    assert got.storage_offset() == want.storage_offset()
    np.testing.assert_array_equal(_np(got), _np(want))
    e = td.tensor(a[0]).expand(2, 3, 4).diagonal(*args)
    np.testing.assert_array_equal(_np(e), _np(T.tensor(a[0]).expand(2, 3, 4).diagonal(*args)))


@pytest.mark.parametrize("args", [(0, 2, 1), (1, 2, 2), (-1, 4, 3), (2, 1, 1), (1, 0, 1), (2, 2, 5)])
def test_unfold_views_match_torch(args):
    a = np.arange(60.0).reshape(3, 4, 5)
    got, want = td.tensor(a).unfold(*args), T.tensor(a).unfold(*args)
    assert tuple(got.shape) == tuple(want.shape) and got.stride() == want.stride()
    np.testing.assert_array_equal(_np(got), _np(want))
    s = td.tensor(a).transpose(1, 2)[:, 1:].unfold(*args)
    np.testing.assert_array_equal(_np(s), _np(T.tensor(a).transpose(1, 2)[:, 1:].unfold(*args)))


def test_diagonal_unfold_are_views_and_raise_torchs_errors():
    got = []
    for m in (td, T):
        x = m.zeros(3, 4)
        x.diagonal(1).fill_(1.0)
        x.unfold(1, 2, 2)[:, 0, 1].fill_(2.0)
        got.append((_np(x).tolist(), _np(m.tensor(7.0).unfold(0, 1, 1)).tolist(),
                    tuple(m.tensor(7.0).unfold(0, 0, 1).shape), tuple(x.diagonal(2**62).shape),
                    tuple(x.diagonal(-2**62, 1, 0).shape), _np(x.unfold(1, 2, 2**62)).tolist(),
                    _np(x.t().unfold(0, 0, 2**40)).tolist()))
    assert got[0] == got[1]
    assert got[0][0] != np.zeros((3, 4)).tolist()
    for fn in (lambda m: m.zeros(2, 3).diagonal(0, 1, -1),
               lambda m: m.zeros(2, 3).unfold(1, 4, 1),
               lambda m: m.zeros(2, 3).unfold(1, 2, 0)):
        with pytest.raises(RuntimeError) as want:
            fn(T)
        with pytest.raises(RuntimeError) as got:
            fn(td)
        assert str(got.value) == str(want.value)
