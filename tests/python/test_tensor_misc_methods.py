"""Tensor methods against torch 1.13: retains_grad and output_nr, the Python callable maps
apply_/map_/map2_ (values, broadcasting, the requires-grad error), is_set_to,
pin_memory/is_pinned without a GPU, and flip's spellings."""
import numpy as np
import pytest
import torch as T

import tensord as td
from tdhelpers import assert_raises_like


def test_retains_grad_and_output_nr():
    res = []
    for m in (td, T):
        x = m.randn(4, requires_grad=True)
        y = x * 2
        y.retain_grad()
        a, b = (x * 3).chunk(2)
        mx, idx = (x * 1).max(0)
        res.append((y.retains_grad, x.retains_grad, y.output_nr, x.output_nr, mx.output_nr))
    assert res[0] == res[1]


def test_callable_maps_match_torch():
    base = np.arange(6.0).reshape(2, 3)
    out = []
    for m in (td, T):
        z = m.tensor(base)
        z.apply_(lambda v: v * 10 - 1)
        z.map_(m.tensor([1.0, 2.0, 3.0], dtype=m.float64), lambda a, b: a * b)    # broadcast over rows
        z.map2_(m.ones(2, 3, dtype=m.float64), m.tensor([[2.0], [3.0]], dtype=m.float64), lambda a, b, c: a + b + c)
        i = m.arange(5)
        i.apply_(lambda v: v * v)
        out.append((z.numpy(), i.numpy(), str(i.dtype)))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])
    assert out[0][2] == out[1][2]
    for call in (lambda m: m.ones(2, requires_grad=True).apply_(lambda v: v),
                 lambda m: m.zeros(3, dtype=m.float64).map_(m.ones(3), lambda a, b: a),
                 lambda m: m.zeros(3, dtype=m.float64).map2_(m.ones(3, dtype=m.float64), m.ones(3), lambda a, b, c: a)):
        assert_raises_like(lambda: call(td), lambda: call(T))


def test_is_set_to_and_pinning():
    for m in (td, T):
        z = m.arange(4.0)
        assert z.is_set_to(z) and not z.is_set_to(z.clone()) and not z[1:].is_set_to(z)
        assert z.view(2, 2).is_set_to(z.view(2, 2)) and not z.view(2, 2).is_set_to(z)
        assert z.is_pinned() is False
        with pytest.raises(NotImplementedError, match="Could not run 'aten::_pin_memory'"):
            z.pin_memory()


def test_flip_spellings():
    a = np.arange(24).reshape(2, 3, 4)
    for args in [(0, 2), ((0, 2),), ([1],), (1,), (-1, 0)]:
        np.testing.assert_array_equal(td.tensor(a).flip(*args).numpy(), T.tensor(a).flip(*args).numpy())
    assert_raises_like(lambda: td.tensor(a).flip(), lambda: T.tensor(a).flip())


def test_backend_flags_to_dense_resize_prelu():
    a = np.arange(6.0).reshape(2, 3) - 2
    res = []
    for m in (td, T):
        x = m.tensor(a)
        flags = [getattr(x, n) for n in ("is_mkldnn", "is_mps", "is_ipu", "is_xpu", "is_vulkan", "is_ort",
                                         "is_nested", "is_sparse_csr")] + [x.is_distributed(), x.to_dense() is x]
        with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
            r = x.resize(3, 2)
        res.append((flags, tuple(r.shape), r is x, r.numpy().tolist(), x.prelu(m.tensor([0.25], dtype=m.float64)).numpy()))
    assert res[0][:4] == res[1][:4]
    np.testing.assert_allclose(res[0][4], res[1][4])
