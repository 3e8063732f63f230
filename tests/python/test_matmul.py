"""matmul / mm / bmm / @ against torch 1.13 over 1-D..4-D shapes and dtypes."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, pair, rand_data

RNG = np.random.default_rng(3)

CASES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
         ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 2)), ((0, 3), (3, 4)), ((2, 0), (0, 4)), ((1, 1), (1, 1)),
         ((7, 33), (33, 17)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,))]


@pytest.mark.parametrize("shapes", CASES, ids=str)
@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int32"])
def test_matmul(shapes, dt):
    a, ta = pair(rand_data(shapes[0], dt, RNG, -3, 3), dt)
    b, tb = pair(rand_data(shapes[1], dt, RNG, -3, 3), dt)
    tol = dict(rtol=1e-5, atol=1e-5) if dt == "float32" else {}
    assert_same(td.matmul(a, b), torch.matmul(ta, tb), **tol)
    assert_same(a @ b, ta @ tb, **tol)
    assert_same(a.matmul(b), ta.matmul(tb), **tol)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_matmul_half(dt):
    a, ta = pair(rand_data((4, 8), dt, RNG, -2, 2), dt)
    b, tb = pair(rand_data((8, 3), dt, RNG, -2, 2), dt)
    want = (ta.float() @ tb.float()).to(ta.dtype)
    assert_same(a @ b, want, rtol=2e-2, atol=2e-2)


def test_mm_bmm_noncontiguous():
    a, ta = pair(rand_data((6, 4), "float64", RNG), "float64")
    b, tb = pair(rand_data((6, 5), "float64", RNG), "float64")
    assert_same(td.mm(a.t(), b), torch.mm(ta.t(), tb))
    assert_same(a.t().mm(b[:, ::2]), ta.t().mm(tb[:, ::2]))
    c, tc = pair(rand_data((3, 4, 5), "float64", RNG), "float64")
    d, tdd = pair(rand_data((3, 4, 2), "float64", RNG), "float64")
    assert_same(td.bmm(c.transpose(1, 2), d), torch.bmm(tc.transpose(1, 2), tdd))
    assert_same(c.transpose(1, 2) @ d, tc.transpose(1, 2) @ tdd)
    e, te = pair(rand_data((1, 4), "float64", RNG), "float64")
    assert_same(e.expand(3, 4) @ a.t(), te.expand(3, 4) @ ta.t())


def test_matmul_errors_match_torch():
    cases = [((2, 3), (2, 3)), ((3,), (4,)), ((), (3,))]
    for sa, sb in cases:
        try:
            torch.matmul(torch.zeros(sa), torch.zeros(sb))
        except RuntimeError as e:
            with pytest.raises(RuntimeError) as ei:
                td.matmul(td.zeros(sa), td.zeros(sb))
            assert str(ei.value) == str(e)
    with pytest.raises(RuntimeError, match="self must be a matrix"):
        td.mm(td.zeros(3), td.zeros(3, 3))
    with pytest.raises(RuntimeError, match="batch1 must be a 3D tensor"):
        td.bmm(td.zeros(3, 3), td.zeros(3, 3, 3))
    for f in (lambda m: m.zeros(2, 2) @ m.zeros(2, 2, dtype=m.float64),
              lambda m: m.bmm(m.zeros(1, 2, 2, dtype=m.int64), m.zeros(1, 2, 2)),
              lambda m: m.mv(m.zeros(2, 2), m.zeros(2, dtype=m.float16))):
        assert_raises_like(lambda: f(td), lambda: f(torch))


@pytest.mark.parametrize("a,b", [((3,), (4,)), ((2, 3), (4,)), ((3,), (4, 5)), ((2, 2, 3), (4,)), ((2, 3), (2, 4, 5)),
                                 ((2, 2, 3), (4, 5)), ((2, 2, 3), (2, 4, 5)), ((1, 2, 4), (1, 5, 1)),
                                 ((3, 1, 2, 3), (2, 4, 5)), ((0, 2), (3,)), ((2, 3), (1, 2, 4, 5)), ((3,), (2, 4, 5))],
                         ids=repr)
def test_matmul_size_mismatch_messages(a, b):
    # (differential tester) worded after the mv/mm/bmm torch folds the operands into
    assert_raises_like(lambda: td.matmul(td.ones(a), td.ones(b)), lambda: torch.matmul(torch.ones(a), torch.ones(b)))


@pytest.mark.parametrize("a,b", [((2, 2, 1), (2, 2, 1)), ((2, 3, 3), (2, 4, 0)), ((2, 3, 3), (3, 3, 1))], ids=repr)
def test_bmm_size_mismatch_messages(a, b):
    assert_raises_like(lambda: td.bmm(td.ones(a), td.ones(b)), lambda: torch.bmm(torch.ones(a), torch.ones(b)))


@pytest.mark.parametrize("fn", ["dot", "vdot"])
def test_dot_bfloat16(fn):
    # (differential tester) torch 1.13 has bfloat16 dot on CPU (float16 stays refused)
    a, ta = pair(rand_data((5,), "bfloat16", np.random.default_rng(3)), "bfloat16")
    b, tb = pair(rand_data((5,), "bfloat16", np.random.default_rng(4)), "bfloat16")
    assert_same(getattr(td, fn)(a, b), getattr(torch, fn)(ta, tb), rtol=2e-2, atol=5e-2)
    assert_raises_like(lambda: td.dot(td.ones(2, dtype=td.float16), td.ones(2, dtype=td.float16)),
                       lambda: torch.dot(torch.ones(2, dtype=torch.float16), torch.ones(2, dtype=torch.float16)))
