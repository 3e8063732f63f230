"""Errors at the call where the client knows the values (docs/guide.md "How it runs").

Index values and probabilities built from Python data (ints, lists, ranges, numpy
arrays, tensor(), integer arange) are checked when the op is called, with torch's
exception type and message, as torch does; nothing is recorded for the failing op, so
the next sync is clean.  A tensor written after it was made (in place, through a view,
by copy_) is not known any more: its error comes from the kernel at the next sync,
never from stale values.
"""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import torch_error, torch_message


def at_call(fn):
    """fn(td) raises at the call itself (not at a later sync) with torch's error."""
    want = torch_error(fn)
    with pytest.raises(Exception) as ei:
        fn(td)
    assert type(ei.value) is type(want), (type(ei.value), type(want), str(ei.value))
    assert str(ei.value) == str(want)
    td.synchronize()  # nothing failing was recorded


def at_sync(fn):
    """fn(td) records without raising; the kernel's error (torch's) comes at the sync."""
    want = torch_error(fn)
    fn(td)
    with pytest.raises(Exception) as ei:
        td.synchronize()
    assert type(ei.value) is type(want) and torch_message(ei.value) == str(want), str(ei.value)


def x(m):
    return m.arange(12.).reshape(3, 4)


# index made from each kind of Python data: list, numpy, range, tensor(), arange
def idx_list(m, vals):
    return list(vals)


def idx_numpy(m, vals):
    return np.array(vals)


def idx_tensor(m, vals):
    return m.tensor(vals)


INDEX_KINDS = {"list": idx_list, "numpy": idx_numpy, "tensor": idx_tensor}

ADV = {
    "get": lambda m, i: x(m)[i([0, 5])],
    "get_neg": lambda m, i: x(m)[i([-4])],
    "get_col": lambda m, i: x(m)[:, i([1, 4])],
    "get_two": lambda m, i: x(m)[i([0, 1]), i([1, 9])],
    "get_int_and_list": lambda m, i: x(m)[0, i([2, 4])],
    "set": lambda m, i: x(m).__setitem__(i([0, 5]), 1.0),
    "set_value_tensor": lambda m, i: x(m).__setitem__((slice(None), i([7])), m.ones(3, 1)),
    "index_put_": lambda m, i: x(m).index_put_((m.as_tensor(i([5])),), m.tensor(1.0)),
    "index_put_acc": lambda m, i: x(m).index_put_((m.as_tensor(i([5])),), m.tensor(1.0), accumulate=True),
}


@pytest.mark.parametrize("kind", sorted(INDEX_KINDS))
@pytest.mark.parametrize("case", sorted(ADV))
def test_advanced_indexing_at_call(case, kind):
    at_call(lambda m: ADV[case](m, lambda v: INDEX_KINDS[kind](m, v)))


def idx_t(m, vals, kind):
    if kind == "arange" and vals == "big":
        return m.arange(3, 5)
    return m.tensor(vals) if kind == "tensor" else m.as_tensor(np.array(vals))


OPS = {
    "index_select": lambda m, i: x(m).index_select(0, i([3])),
    "index_select_neg": lambda m, i: x(m).index_select(1, i([-1])),
    "index_add_": lambda m, i: x(m).index_add_(0, i([3]), m.ones(1, 4)),
    "index_copy_": lambda m, i: x(m).index_copy_(0, i([3]), m.ones(1, 4)),
    "index_copy_neg": lambda m, i: x(m).index_copy_(0, i([-1]), m.ones(1, 4)),
    "index_fill_": lambda m, i: x(m).index_fill_(1, i([4]), 1.0),
    "index_fill_neg": lambda m, i: x(m).index_fill_(1, i([-5]), 1.0),
    "gather": lambda m, i: x(m).gather(1, i([[0, 4], [9, 0]])),
    "gather_neg": lambda m, i: m.gather(x(m), 0, i([[0, -1]])),
    "scatter_": lambda m, i: x(m).scatter_(1, i([[4]]), 1.0),
    "scatter_src": lambda m, i: m.scatter(x(m), 1, i([[0, 4]]), m.ones(1, 2)),
    "scatter_add_": lambda m, i: x(m).scatter_add_(0, i([[3]]), m.ones(1, 1)),
    "scatter_reduce": lambda m, i: x(m).scatter_reduce(0, i([[3]]), m.ones(1, 1), "sum"),
    "take": lambda m, i: x(m).take(i([0, 12])),
    "take_neg": lambda m, i: m.take(x(m), i([-13])),
    "put_": lambda m, i: x(m).put_(i([12]), m.tensor([1.0])),
    "put_acc": lambda m, i: x(m).put_(i([-13]), m.tensor([1.0]), accumulate=True),
    "take_along_dim": lambda m, i: m.take_along_dim(x(m), i([[4]]), 1),
    "take_along_dim_flat": lambda m, i: m.take_along_dim(x(m), i([12])),
}


@pytest.mark.filterwarnings("ignore:scatter_reduce")
@pytest.mark.parametrize("kind", ["tensor", "numpy"])
@pytest.mark.parametrize("case", sorted(OPS))
def test_index_ops_at_call(case, kind):
    at_call(lambda m: OPS[case](m, lambda v: idx_t(m, v, kind)))


def test_range_and_arange_indices():
    # torch reads a range as a sequence of ints
    assert td.arange(12).reshape(3, 4)[range(0, 3, 2)].tolist() == [[0, 1, 2, 3], [8, 9, 10, 11]]
    assert td.arange(5)[range(0)].tolist() == []
    at_call(lambda m: x(m)[range(0, 12, 5)])
    at_call(lambda m: x(m)[m.arange(4)])
    at_call(lambda m: x(m).index_select(1, m.arange(2, 5)))
    at_call(lambda m: x(m).take(m.arange(10, 13)))
    at_call(lambda m: x(m)[:, m.arange(-5, 0)])
    # integer numpy arrays of any width index like lists
    at_call(lambda m: x(m)[np.array([1, 3], dtype=np.int32)])
    assert td.arange(6)[np.array([5, 0], dtype=np.int16)].tolist() == [5, 0]


def test_shape_only_index_errors():
    at_call(lambda m: m.zeros(0)[[0]])
    at_call(lambda m: m.zeros(3, 0)[[0], [1]])
    at_call(lambda m: m.zeros(0).take(m.tensor([0])))
    at_call(lambda m: m.zeros(0).put_(m.tensor([0]), m.tensor([1.0])))
    at_call(lambda m: x(m)[0, 9])
    at_call(lambda m: m.zeros(2, 3, 4)[None, 0, 9])
    at_call(lambda m: m.zeros(2, 3, 4)[..., 9])


def test_argument_errors_come_before_value_errors():
    # a shape error of the op wins over a bad index value, as in torch
    at_call(lambda m: x(m).gather(1, m.tensor([9])))
    at_call(lambda m: x(m).scatter_(1, m.tensor([[9]]), m.ones(2, 2, dtype=m.int64)))
    at_call(lambda m: x(m).__setitem__([0, 5], m.ones(3)))


BAD_P = {
    "above": lambda m: m.bernoulli(m.tensor([0.5, 1.5])),
    "below": lambda m: m.bernoulli(m.tensor([-0.5])),
    "nan": lambda m: m.bernoulli(m.tensor([float("nan")])),
    "float64": lambda m: m.bernoulli(m.tensor([[0.1], [2.0]], dtype=m.float64)),
    "inplace_tensor_p": lambda m: m.zeros(3).bernoulli_(m.tensor([0.5, 1.5, 0.1])),
    "from_numpy": lambda m: m.bernoulli(m.from_numpy(np.array([0.2, 1.2]))),
    "p_broadcast": lambda m: m.zeros(2, 2).bernoulli_(m.tensor([0.0, -1.0])),
}


@pytest.mark.parametrize("name", sorted(BAD_P))
def test_bernoulli_p_at_call(name):
    at_call(BAD_P[name])


MULTI = {
    "negative": ([0.5, -1.0], 1, False),
    "inf": ([0.5, float("inf")], 1, False),
    "nan": ([0.5, float("nan")], 1, False),
    "zero_sum": ([0.0, 0.0], 1, False),
    "rows_values_first": ([[0.0, 0.0], [1.0, -1.0]], 1, False),
    "negative_repl": ([0.5, -1.0], 1, True),
    "inf_repl": ([0.5, float("inf")], 2, True),
    "nan_repl": ([0.5, float("nan")], 1, True),
    "zero_sum_repl": ([[0.0, 0.0], [1.0, 1.0]], 2, True),
    "rows_sum_first_repl": ([[0.0, 0.0], [1.0, -1.0]], 2, True),
    "rows_entry_first_repl": ([[1.0, float("inf")], [0.0, 0.0]], 2, True),
}


@pytest.mark.parametrize("name", sorted(MULTI))
def test_multinomial_at_call(name):
    p, n, repl = MULTI[name]
    at_call(lambda m: m.multinomial(m.tensor(p), n, repl))


def test_no_false_errors():
    """Valid known indices give torch's values; torch's own leniency is kept."""
    a, ra = x(td), x(torch)
    cases = [
        lambda m, t: t[[0, -3, 2]],
        lambda m, t: t[:, m.tensor([-4, 3])],
        lambda m, t: t.index_fill(1, m.tensor([-1, 0]), 7.0),  # index_fill wraps negatives
        lambda m, t: t.take(m.tensor([-12, 11])),  # so does take
        lambda m, t: t.gather(1, m.tensor([[3, 0]])),
        lambda m, t: t.index_select(0, m.arange(3)),
        lambda m, t: m.take_along_dim(t, m.tensor([[0], [3], [1]]), 1),
        lambda m, t: t[range(2, -1, -1)],
        lambda m, t: t.clone().index_put_((m.tensor([2, 0]),), m.tensor(5.0), accumulate=True),
    ]
    for c in cases:
        assert c(td, a).tolist() == c(torch, ra).tolist()
    # bernoulli at the ends of [0, 1]; multinomial with more samples than non-zero weights
    assert td.bernoulli(td.tensor([0.0, 1.0])).tolist() == [0.0, 1.0]
    assert td.multinomial(td.tensor([0.0, 1.0, 1.0]), 3).shape == (3,)  # torch 1.13 allows it
    td.synchronize()


def test_written_index_is_not_checked_against_stale_values():
    """An index changed after it was made is unknown: valid now -> no error at all;
    invalid now -> the kernel's error at the next sync."""
    a = x(td)
    i = td.tensor([0, 5])
    i.sub_(5)  # now [-5, 0]: out of range, found by the kernel
    r = a[i]
    with pytest.raises(IndexError, match="index -5 is out of bounds for dimension 0 with size 3"):
        r.tolist()
    j = td.tensor([0, 5])
    j[1] = 2  # written through a view: now valid
    assert a[j].tolist() == [[0, 1, 2, 3], [8, 9, 10, 11]]
    k = td.tensor([[7]])
    k.view(-1).copy_(td.tensor([1]))  # copy_ into a view
    assert a.gather(1, k).tolist() == [[1.0]]
    g = td.tensor([[1]])
    g.add_(100)
    at_sync(lambda m: None if m is td and a.gather(1, g) is None else
            (x(m).gather(1, m.tensor([[101]])) if m is torch else None))
    p = td.tensor([0.5, 1.5])
    p.fill_(0.5)
    assert td.bernoulli(p).shape == (2,)
    q = td.tensor([0.5, 0.5])
    q[0] = -1.0
    with pytest.raises(RuntimeError) as ei:
        td.bernoulli(q)
        td.synchronize()
    assert torch_message(ei.value).startswith("Expected p_in >= 0")
    td.synchronize()


def test_numpy_source_changed_after_tensor():
    """tensor() copies: changing the numpy array later changes nothing (no stale check)."""
    n = np.array([0, 1])
    t = td.from_numpy(n)
    n[1] = 99
    assert x(td)[t].shape == (2, 4)
    td.synchronize()


def test_computed_indices_stay_deferred():
    """Values made by the daemon are not known: their errors come at the next sync."""
    at_sync(lambda m: x(m).index_select(0, m.ones(1, dtype=m.int64) * 3))
    at_sync(lambda m: x(m)[m.ones(2, dtype=m.int64) * 3])


ZERO_SCALAR = {
    "floordiv": lambda m: m.tensor([5, 3]) // 0,
    "mod": lambda m: m.tensor([5, 3]) % 0,
    "remainder_u8": lambda m: m.remainder(m.tensor([5, 3], dtype=m.uint8), 0),
    "fmod": lambda m: m.fmod(m.tensor([5, 3]), 0),
    "div_trunc": lambda m: m.div(m.tensor([5, 3]), 0, rounding_mode="trunc"),
    "bool_floordiv": lambda m: m.tensor([True]) // 0,
    "inplace": lambda m: m.tensor([5, 3]).remainder_(0),
}


@pytest.mark.parametrize("name", sorted(ZERO_SCALAR))
def test_integer_division_by_scalar_zero_at_call(name):
    at_call(ZERO_SCALAR[name])


def test_division_by_scalar_zero_that_torch_allows():
    for fn in (lambda m: m.tensor([], dtype=m.int64) // 0, lambda m: m.tensor([5, 3]) // 0.0,
               lambda m: m.tensor([5.0]) % 0):
        got, want = fn(td), fn(torch)
        assert got.tolist() == want.tolist() or (got.isnan().tolist() == want.isnan().tolist())
