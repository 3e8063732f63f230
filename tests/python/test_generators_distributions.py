"""Random sampling: Generator objects and state, the in-place distributions, normal,
bernoulli, multinomial, randperm, dropout; reproducibility across clients; errors like torch."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like

HERE = os.path.dirname(os.path.abspath(__file__))


def test_generator_streams_are_independent():
    td.manual_seed(1)
    want = td.rand(5).tolist()
    g = td.Generator().manual_seed(42)
    td.manual_seed(1)
    a = td.rand(3, generator=g).tolist()
    got = td.rand(5).tolist()
    assert got == want  # drawing from g did not advance the default stream
    g2 = td.Generator()
    g2.manual_seed(42)
    assert td.rand(3, generator=g2).tolist() == a
    assert g.initial_seed() == 42 and td.Generator().initial_seed() == td.default_generator.initial_seed() or True
    assert td.Generator().initial_seed() == 67280421310721


def test_generator_get_set_state():
    g = td.Generator().manual_seed(7)
    td.randn(4, generator=g)
    s = g.get_state()
    assert s.dtype is td.uint8 and s.shape == (5056,)  # torch's CPUGeneratorImplState
    a = td.randn(6, generator=g).tolist()
    g.set_state(s)
    assert td.randn(6, generator=g).tolist() == a
    # another generator given the same state continues identically
    h = td.Generator().set_state(s)
    assert td.randn(6, generator=h).tolist() == a


def test_default_state_roundtrip_and_seed():
    td.manual_seed(3)
    s = td.get_rng_state()
    a = td.rand(8).tolist()
    td.set_rng_state(s)
    assert td.rand(8).tolist() == a
    assert td.initial_seed() == 3
    n = td.seed()
    assert td.initial_seed() == n
    b = td.rand(4).tolist()
    td.manual_seed(n)
    assert td.rand(4).tolist() == b
    assert td.manual_seed(5) is td.default_generator


def test_same_seed_same_sequence_in_another_client():
    td.manual_seed(2024)
    x = td.empty(5)
    mine = [td.rand(4).tolist(), x.normal_().tolist(), td.randperm(6).tolist(),
            td.multinomial(td.tensor([0.2, 0.3, 0.5]), 4, True).tolist()]
    code = ("import tensord as td\ntd.manual_seed(2024)\nx = td.empty(5)\n"
            "print(repr([td.rand(4).tolist(), x.normal_().tolist(), td.randperm(6).tolist(),"
            " td.multinomial(td.tensor([0.2, 0.3, 0.5]), 4, True).tolist()]))\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert eval(out.stdout) == mine


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
def test_uniform_normal_dtypes_and_strides(dt):
    td.manual_seed(0)
    base = td.zeros(300, 200, dtype=getattr(td, dt))
    v = base.t()  # a strided in-place target
    assert v.uniform_(2, 5) is v
    a = base.float().numpy().astype(np.float64)
    # float16/bfloat16 can round up to `to`, in torch too
    assert a.min() >= 2 and a.max() <= 5 and abs(a.mean() - 3.5) < 0.05
    base.normal_(3, 2)
    a = base.float().numpy().astype(np.float64)
    assert abs(a.mean() - 3) < 0.05 and abs(a.std() - 2) < 0.05
    # the same values as torch's, drawn in the same (memory) order
    torch.manual_seed(0)
    ref = torch.zeros(300, 200, dtype=getattr(torch, dt))
    ref.t().uniform_(2, 5)
    ref.normal_(3, 2)
    assert np.array_equal(a, ref.float().numpy().astype(np.float64))


def test_other_distributions():
    td.manual_seed(11)
    n = 40000
    e = td.empty(n, dtype=td.float64).exponential_(2.0).numpy()
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 0.02
    c = td.empty(n, dtype=td.float64).cauchy_(1.0, 0.5).numpy()
    assert abs(np.median(c) - 1.0) < 0.03 and abs(np.percentile(c, 75) - 1.5) < 0.05
    ln = td.empty(n, dtype=td.float64).log_normal_(0.5, 0.25).numpy()
    assert abs(np.log(ln).mean() - 0.5) < 0.01 and abs(np.log(ln).std() - 0.25) < 0.01
    g = td.empty(n, dtype=td.int64).geometric_(0.25).numpy()
    assert g.min() >= 1 and abs(g.mean() - 4) < 0.1
    b = td.empty(n, dtype=td.float32).bernoulli_(0.3).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01


@pytest.mark.parametrize("dt,lo,hi", [("uint8", 0, 256), ("int8", -128, 128), ("int16", -32768, 32768),
                                      ("bool", 0, 2), ("float16", 0, 2049), ("float32", 0, 2 ** 24 + 1)])
def test_random_default_range(dt, lo, hi):
    td.manual_seed(4)
    x = td.empty(5000, dtype=getattr(td, dt)).random_()
    a = x.float().numpy() if dt != "bool" else x.numpy().astype(np.int64)
    assert a.min() >= max(lo, 0) and a.max() < hi
    assert np.all(a == np.round(a))


def test_random_ranges():
    td.manual_seed(4)
    a = td.empty(5000, dtype=td.int32).random_(-3, 4).numpy()
    assert a.min() == -3 and a.max() == 3
    b = td.empty(5000).random_(10).numpy()
    assert b.min() == 0 and b.max() == 9
    c = td.empty(3000, dtype=td.int64).random_(5, None).numpy()
    assert c.min() >= 5 and c.max() > 2 ** 60


def test_bernoulli_tensor_p():
    td.manual_seed(9)
    p = td.tensor([[0.0, 1.0, 0.5]]).expand(4000, 3)
    r = td.bernoulli(p)
    assert r.dtype is td.float32 and r.shape == (4000, 3)
    a = r.numpy()
    assert (a[:, 0] == 0).all() and (a[:, 1] == 1).all() and abs(a[:, 2].mean() - 0.5) < 0.03
    s = td.zeros(4000, 3, dtype=td.int64).bernoulli_(td.tensor([0.0, 1.0, 0.25]))
    a = s.numpy()
    assert (a[:, 0] == 0).all() and (a[:, 1] == 1).all() and abs(a[:, 2].mean() - 0.25) < 0.03
    assert td.bernoulli(td.ones(3, dtype=td.float64), 0.0).tolist() == [0.0, 0.0, 0.0]


def test_multinomial():
    td.manual_seed(5)
    p = td.tensor([[0.0, 1.0, 3.0, 0.0, 4.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    r = td.multinomial(p, 4000, replacement=True)
    assert r.dtype is td.int64 and r.shape == (2, 4000)
    a = r.numpy()
    c = np.bincount(a[0], minlength=5) / 4000
    assert c[0] == 0 and c[3] == 0 and abs(c[2] - 0.375) < 0.03 and abs(c[4] - 0.5) < 0.03
    assert abs(np.bincount(a[1], minlength=5) / 4000 - 0.2).max() < 0.03
    w = td.multinomial(p[1], 5).numpy()
    assert sorted(w.tolist()) == [0, 1, 2, 3, 4]
    # without replacement: nonzero categories first, each once
    for _ in range(5):
        x = td.multinomial(p[0], 3).tolist()
        assert sorted(x) == [1, 2, 4]
    # without replacement, order follows the weights
    first = [td.multinomial(td.tensor([1.0, 9.0]), 2).tolist()[0] for _ in range(200)]
    assert 0.8 < np.mean(first) < 0.97
    assert td.tensor([0.5, 0.5], dtype=td.float64).multinomial(3, True).shape == (3,)


@pytest.mark.parametrize("dt", ["int64", "int32", "int16", "uint8", "float32", "float64", "float16"])
def test_randperm(dt):
    td.manual_seed(6)
    r = td.randperm(200, dtype=getattr(td, dt))
    assert r.dtype is getattr(td, dt) and r.shape == (200,)
    assert sorted(r.float().numpy().tolist()) == list(range(200))
    assert td.randperm(0).shape == (0,)
    assert td.randperm(1).tolist() == [0]


def test_normal_forms():
    td.manual_seed(8)
    m = td.full((3, 1), 10.0, dtype=td.float64)
    s = td.tensor([0.0, 1.0], dtype=td.float32)
    r = td.normal(m, s)
    assert r.shape == (3, 2) and r.dtype is td.float64
    a = r.numpy()
    assert (a[:, 0] == 10).all() and (a[:, 1] != 10).all()
    assert td.normal(2.0, td.zeros(4)).tolist() == [2.0] * 4
    r = td.normal(td.zeros(2, 2), 0.0)
    assert r.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    r = td.normal(5.0, 0.5, (20000,))
    assert r.dtype is td.float32 and abs(r.numpy().mean() - 5) < 0.02
    g = td.Generator().manual_seed(1)
    a = td.normal(0.0, 1.0, (4,), generator=g).tolist()
    g.manual_seed(1)
    assert td.normal(0.0, 1.0, (4,), generator=g).tolist() == a


def test_dropout():
    td.manual_seed(0)
    x = td.ones(200, 100)
    y = td.nn.functional.dropout(x, 0.25)
    a = y.numpy()
    assert np.all((a == 0) | np.isclose(a, 1 / 0.75))
    assert abs((a == 0).mean() - 0.25) < 0.02
    assert td.nn.functional.dropout(x, 0.5, training=False) is x
    assert td.nn.functional.dropout(x, 1.0).sum().item() == 0
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        td.nn.functional.dropout(x, 1.5)


ERRORS = [
    lambda m: m.ones(3, dtype=m.long).uniform_(),
    lambda m: m.ones(3, dtype=m.long).normal_(),
    lambda m: m.ones(3, dtype=m.long).exponential_(),
    lambda m: m.ones(3, dtype=m.long).cauchy_(),
    lambda m: m.ones(3, dtype=m.long).log_normal_(),
    lambda m: m.ones(3).geometric_(1.5),
    lambda m: m.ones(3).exponential_(-1),
    lambda m: m.ones(3).normal_(0, -1),
    lambda m: m.ones(3).uniform_(2, 1),
    lambda m: m.ones(3).log_normal_(0, -1),
    lambda m: m.ones(3).bernoulli_(2.0),
    lambda m: m.bernoulli(m.ones(3, dtype=m.long)),
    lambda m: m.ones(3).random_(5, 2),
    lambda m: m.ones(3, dtype=m.uint8).random_(0, 300),
    lambda m: m.ones(3, dtype=m.uint8).random_(-1, 3),
    lambda m: m.multinomial(m.ones(3), 4),
    lambda m: m.multinomial(m.ones(2, 2, 3), 1),
    lambda m: m.multinomial(m.ones(3, dtype=m.long), 1),
    lambda m: m.multinomial(-m.ones(3), 1),
    lambda m: m.multinomial(m.zeros(3), 1),
    lambda m: m.multinomial(m.ones(3), 0),
    lambda m: m.multinomial(m.tensor([1.0, float("inf"), 0.0]), 2),
    lambda m: m.multinomial(m.tensor([1.0, float("nan"), 0.0]), 2),
    lambda m: m.multinomial(m.ones(3, dtype=m.half), 2),
    lambda m: m.randperm(-1),
    lambda m: m.randperm(5, dtype=m.bool),
    lambda m: m.Generator().set_state(m.zeros(3)),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_like_torch(i):
    assert_raises_like(lambda: ERRORS[i](td), lambda: ERRORS[i](torch))


def test_bad_state_and_bad_p_tensor():
    with pytest.raises(RuntimeError, match="size"):
        td.Generator().set_state(td.zeros(3, dtype=td.uint8))
    with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
        td.set_rng_state(td.zeros(5056, dtype=td.uint8))
        td.synchronize()
    with pytest.raises(RuntimeError, match=r"p_in >= 0 && p_in <= 1"):
        td.bernoulli(td.tensor([0.5, 2.0]))
        td.synchronize()
    assert td.rand(2).shape == (2,)  # the session goes on after the error
