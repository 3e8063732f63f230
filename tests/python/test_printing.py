"""repr() of tensors must equal torch 1.13's."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import from_torch

CASES = [
    lambda: torch.tensor([1.0, 2.0]),
    lambda: torch.tensor([[1, 2], [3, 4]]),
    lambda: torch.tensor([1, 2], dtype=torch.int32),
    lambda: torch.tensor([True, False]),
    lambda: torch.tensor(3.0),
    lambda: torch.tensor(3),
    lambda: torch.tensor(True),
    lambda: torch.tensor(-0.5, dtype=torch.float64),
    lambda: torch.tensor([]),
    lambda: torch.zeros(0, dtype=torch.int64),
    lambda: torch.zeros(2, 0),
    lambda: torch.zeros(0, 3, dtype=torch.int32),
    lambda: torch.tensor([1.5, 2.25, -3.125]),
    lambda: torch.tensor([1e-5, 1.0]),
    lambda: torch.tensor([1e10, 1.0]),
    lambda: torch.tensor([1e8, 1.0, 3.0]),
    lambda: torch.tensor([1.0, 1000.0, 100000.0]),
    lambda: torch.tensor([0.1, 0.0001]),
    lambda: torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0]),
    lambda: torch.tensor([float("nan"), 1.5]),
    lambda: torch.tensor([0.0, -0.0]),
    lambda: torch.tensor([1.0, 2.0], dtype=torch.float64),
    lambda: torch.tensor([1.0, 2.5], dtype=torch.float16),
    lambda: torch.tensor([1.0, 2.5], dtype=torch.bfloat16),
    lambda: torch.tensor([-1, 100, 7], dtype=torch.int8),
    lambda: torch.tensor([200, 3], dtype=torch.uint8),
    lambda: torch.arange(1000),
    lambda: torch.arange(1001),
    lambda: torch.arange(2000.0).view(40, 50),
    lambda: torch.arange(24.0).view(2, 3, 4) / 7,
    lambda: torch.arange(5000).view(10, 10, 50),
    lambda: torch.linspace(-1, 1, 30),
    lambda: torch.arange(40.0).view(2, 20) * 1e-3,
    lambda: torch.arange(100).view(4, 25),
    lambda: torch.tensor([[True, False, True], [False, False, True]]),
    lambda: torch.tensor([[1e-8, 2.0], [3.0, 4.0]]),
    lambda: torch.tensor([123456789.0]),
    lambda: torch.tensor([[[1.0]]]),
    lambda: torch.tensor([0.1, 0.2, 0.3]) * 3,
    lambda: torch.tensor([1, -2, 3], dtype=torch.int16),
    lambda: torch.full((3, 3), 2.5, dtype=torch.float64),
    lambda: torch.arange(12.0).view(3, 4).t(),
]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_repr_matches_torch(i):
    t = CASES[i]()
    x = from_torch(t)
    assert repr(x) == repr(t)
    assert str(x) == str(t)


def test_print_through_views_and_ops():
    t = torch.arange(20.0).view(4, 5)
    x = td.arange(20.0).view(4, 5)
    assert repr(x.t()[1:, ::2]) == repr(t.t()[1:, ::2])
    assert repr(x / 3) == repr(t / 3)
    assert repr(x.sum(0)) == repr(t.sum(0))
    assert repr(x.max(1)) == repr(t.max(1))


def test_printoptions():
    try:
        td.set_printoptions(precision=2)
        torch.set_printoptions(precision=2)
        assert repr(td.tensor([1.12345])) == repr(torch.tensor([1.12345]))
        td.set_printoptions(threshold=5)
        torch.set_printoptions(threshold=5)
        assert repr(td.arange(10)) == repr(torch.arange(10))
    finally:
        td.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert repr(td.arange(10)) == repr(torch.arange(10))


def test_print_builtin():
    import io
    import contextlib
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print(td.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert buf.getvalue() == "tensor([[1., 2.],\n        [3., 4.]])\n"
