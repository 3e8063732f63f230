"""Indexing ops against torch 1.13: gather/scatter, index_* ops, masked ops, take/put,
nonzero, advanced indexing get/set, with out-of-range indices found by the kernel."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, from_torch, pair, rand_data, assert_same_outcome

RNG = np.random.default_rng(7)


def both(shape, dt="float32", noncontig=False):
    a, b = pair(rand_data(shape, dt, RNG), dt)
    if noncontig and len(shape) >= 2:
        a, b = a.transpose(0, 1), b.transpose(0, 1)
    return a, b


def idx(data):
    t = torch.tensor(data, dtype=torch.int64)
    return from_torch(t), t


@pytest.mark.parametrize("dt", ["float32", "float64", "int16", "uint8"])
@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("noncontig", [False, True])
def test_gather_scatter_large(dt, dim, noncontig):
    # large enough for the parallel row split; index and self possibly strided
    a, b = both((300, 260), dt, noncontig=noncontig)  # (260, 300) when transposed
    shape = (b.shape[0] - 3, b.shape[1] - 5)
    r = torch.from_numpy(RNG.integers(0, b.shape[dim], shape if not noncontig else shape[::-1]))
    ri = r.t() if noncontig else r
    ti = from_torch(r).transpose(0, 1) if noncontig else from_torch(r)
    assert_same(a.gather(dim, ti), b.gather(dim, ri))
    tf, rf = idx(RNG.integers(0, b.shape[dim], tuple(b.shape)))
    assert_same(td.take_along_dim(a, tf, dim), torch.take_along_dim(b, rf, dim))
    # scatter with one index per target (a permutation along dim) and scatter_add with duplicates
    n = b.shape[dim]
    perm = np.stack([RNG.permutation(n) for _ in range(b.shape[1 - dim])], 1 - dim)
    tp, rp = idx(perm)
    s, rs = both(tuple(b.shape), dt)
    assert_same(a.scatter(dim, tp, s), b.scatter(dim, rp, rs))
    if dt in ("float64", "int16"):
        small = torch.from_numpy(RNG.integers(-3, 4, shape)).to(rs.dtype)
        assert_same(a.scatter_add(dim, ti, from_torch(small)), b.scatter_add(dim, ri, small))
    a2, b2 = a.clone(), b.clone()
    a2.scatter_(dim, tp, s)
    b2.scatter_(dim, rp, rs)
    assert_same(a2, b2)


@pytest.mark.parametrize("bad", [-1, 256, 1 << 40])
@pytest.mark.parametrize("pos", [(0, 0), (2000, 100), (4095, 255)])
def test_gather_scatter_large_errors(bad, pos):
    x, rx = both((4096, 256))
    r = torch.from_numpy(RNG.integers(0, 256, (4096, 256)))
    r[pos] = bad
    ti = from_torch(r)
    assert_raises_like(lambda: x.gather(1, ti), lambda: rx.gather(1, r))
    assert_raises_like(lambda: x.scatter(1, ti, 1.0), lambda: rx.scatter(1, r, 1.0))
    assert_raises_like(lambda: x.scatter_add(1, ti, x), lambda: rx.scatter_add(1, r, rx))
    rt = r.t().contiguous()
    assert_raises_like(lambda: x.gather(0, from_torch(rt)[:256]), lambda: rx.gather(0, rt[:256]))
    assert_same(x + 1, rx + 1)


@pytest.mark.parametrize("dt", ["float32", "float16", "int64", "bool", "uint8"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather_scatter(dt, dim):
    a, b = both((3, 4), dt, noncontig=True)  # (4, 3) transposed view
    n = b.shape[dim]
    ti, ri = idx(RNG.integers(0, n, (2, 3)))
    assert_same(td.gather(a, dim, ti), torch.gather(b, dim, ri))
    assert_same(a.gather(dim, ti), b.gather(dim, ri))
    s, rs = both((2, 3), dt)
    assert_same(a.scatter(dim, ti, s), b.scatter(dim, ri, rs))
    assert_same(td.scatter(a, dim, ti, 1), torch.scatter(b, dim, ri, 1))
    if dt != "bool":
        # unique indices along dim so the result does not depend on write order
        u = np.stack([RNG.permutation(n)[:2] for _ in range(3)], 1) if dim == 0 else \
            np.stack([RNG.permutation(n)[:3] for _ in range(2)], 0)
        tu, ru = idx(u)
        assert_same(a.scatter_add(dim, tu, s), b.scatter_add(dim, ru, rs))
        assert_same(a.clone().scatter_(dim, tu, s, reduce="multiply"),
                    b.clone().scatter_(dim, ru, rs, reduce="multiply"))
    a2, b2 = a.clone(), b.clone()
    a2.scatter_(dim, ti, s)
    b2.scatter_(dim, ri, rs)
    assert_same(a2, b2)


def test_scatter_add_duplicates_and_inplace_view():
    a, b = both((5,), "float64")
    ti, ri = idx([0, 0, 4, 4, 4])
    s, rs = both((5,), "float64")
    assert_same(a.scatter_add(0, ti, s), b.scatter_add(0, ri, rs))
    base, rbase = both((4, 6), "float32")
    v, rv = base[:, 1:5], rbase[:, 1:5]
    v.scatter_add_(1, td.tensor([[0, 3]] * 4), td.ones(4, 2))
    rv.scatter_add_(1, torch.tensor([[0, 3]] * 4), torch.ones(4, 2))
    assert_same(base, rbase)


def test_gather_scatter_errors():
    x, rx = both((2, 3))
    assert_raises_like(lambda: td.gather(x, 1, td.tensor([[5]])), lambda: torch.gather(rx, 1, torch.tensor([[5]])))
    assert_raises_like(lambda: td.gather(x, 1, td.tensor([[-1]])), lambda: torch.gather(rx, 1, torch.tensor([[-1]])))
    assert_raises_like(lambda: td.gather(x, 1, td.tensor([1])), lambda: torch.gather(rx, 1, torch.tensor([1])))
    assert_raises_like(lambda: td.gather(x, 0, td.tensor([[1, 1, 1, 1]])),
                       lambda: torch.gather(rx, 0, torch.tensor([[1, 1, 1, 1]])))
    assert_raises_like(lambda: td.gather(x, 1, td.tensor([[1]], dtype=td.int32)),
                       lambda: torch.gather(rx, 1, torch.tensor([[1]], dtype=torch.int32)))
    assert_raises_like(lambda: td.gather(x, 5, td.tensor([[1]])), lambda: torch.gather(rx, 5, torch.tensor([[1]])))
    assert_raises_like(lambda: x.scatter(1, td.tensor([[5]]), 1.0), lambda: rx.scatter(1, torch.tensor([[5]]), 1.0))
    assert_raises_like(lambda: x.scatter(1, td.tensor([[1]]), td.ones(2, 3, dtype=td.int64)),
                       lambda: rx.scatter(1, torch.tensor([[1]]), torch.ones(2, 3, dtype=torch.int64)))
    assert_raises_like(lambda: x.scatter(1, td.tensor([[1]]), 1.0, reduce="foo"),
                       lambda: rx.scatter(1, torch.tensor([[1]]), 1.0, reduce="foo"))
    # the session is usable after a kernel-time error
    assert_same(x + 1, rx + 1)


@pytest.mark.parametrize("dt", ["float32", "bfloat16", "int32", "bool"])
def test_index_select_take_along(dt):
    a, b = both((4, 5, 3), dt)
    for dim in (0, 1, -1):
        ti, ri = idx(RNG.integers(0, b.shape[dim], 6))
        assert_same(td.index_select(a, dim, ti), torch.index_select(b, dim, ri))
        assert_same(a.index_select(dim, ti.to(td.int32)), b.index_select(dim, ri.int()))
    ti, ri = idx(RNG.integers(0, 5, (4, 2, 3)))
    assert_same(td.take_along_dim(a, ti, 1), torch.take_along_dim(b, ri, 1))
    ti, ri = idx(RNG.integers(-60, 60, (2, 3)))
    assert_same(td.take(a, ti), torch.take(b, ri))
    ti, ri = idx([7, 0, 59])
    assert_same(td.take_along_dim(a, ti), torch.take_along_dim(b, ri))
    e, re = idx(np.zeros((0,), np.int64))
    assert_same(td.index_select(a, 1, e), torch.index_select(b, 1, re))
    s, rs = pair(np.array(5.0), "float32")
    assert_same(td.index_select(s, 0, td.tensor([0])), torch.index_select(rs, 0, torch.tensor([0])))


@pytest.mark.parametrize("dt", ["float32", "int64", "uint8", "complex64"])
def test_row_blocks_of_index_and_index_put(dt):
    # the kernel moves the trailing dims that are contiguous in both tensors as one block:
    # whole rows, partly contiguous tails (a strided middle dim) and single elements
    a, b = both((6, 4, 5, 3), dt)
    views = [(a, b), (a[:, :, ::2], b[:, :, ::2]), (a[:, 1:3], b[:, 1:3]), (a.transpose(1, 3), b.transpose(1, 3))]
    for x, rx in views:
        for dim in (0, 1):
            ti, ri = idx(RNG.integers(0, rx.shape[dim], 7))
            assert_same(x.index_select(dim, ti), rx.index_select(dim, ri))
        ti, ri = idx([5, 0, 5, 2])
        assert_same(x[ti], rx[ri])
        v, rv = pair(rand_data(tuple(rx[ri].shape), dt, RNG), dt)
        for accumulate in (False, True):
            y, ry = x.clone(), rx.clone()
            if not accumulate:  # distinct rows: with duplicates the winner is unspecified
                ti, ri = idx([5, 0, 3, 2])
            y.index_put_((ti,), v, accumulate=accumulate)
            ry.index_put_((ri,), rv, accumulate=accumulate)
            assert_same(y, ry)


def test_index_errors():
    x, rx = both((2, 3))
    cases = [
        (lambda m: m.index_select(x if m is td else rx, 0, m.tensor([5]))),
        (lambda m: m.index_select(x if m is td else rx, 0, m.tensor([-1]))),
        (lambda m: m.index_select(x if m is td else rx, 0, m.tensor([[0]]))),
        (lambda m: m.index_select(x if m is td else rx, 0, m.tensor([0.]))),
        (lambda m: m.take(x if m is td else rx, m.tensor([6]))),
        (lambda m: (x if m is td else rx).clone().put_(m.tensor([6]), m.tensor([1.]))),
        (lambda m: (x if m is td else rx).clone().index_add_(0, m.tensor([6]), m.ones(1, 3))),
        (lambda m: (x if m is td else rx).clone().index_add_(0, m.tensor([0]), m.ones(2, 3))),
        (lambda m: (x if m is td else rx).clone().index_add_(0, m.tensor([0]), m.ones(1, 3, dtype=m.int64))),
        (lambda m: (x if m is td else rx).clone().index_copy_(0, m.tensor([6]), m.ones(1, 3))),
        (lambda m: (x if m is td else rx).clone().index_copy_(0, m.tensor([-1]), m.ones(1, 3))),
        (lambda m: (x if m is td else rx).clone().index_copy_(0, m.tensor([0]), m.ones(2, 3))),
        (lambda m: (x if m is td else rx).clone().index_fill_(0, m.tensor([6]), 1)),
        (lambda m: (x if m is td else rx).clone().index_fill_(1, m.tensor([-4]), 2)),
        (lambda m: (x if m is td else rx).clone().index_put_((m.tensor([6]),), m.tensor([1.]))),
        (lambda m: m.take_along_dim(x if m is td else rx, m.tensor([[6]]), 1)),
    ]
    for c in cases:
        assert_raises_like(lambda: c(td), lambda: c(torch))


@pytest.mark.parametrize("dt", ["float32", "int64", "float16"])
def test_index_add_copy_fill(dt):
    a, b = both((4, 3, 2), dt, noncontig=True)  # (3, 4, 2)
    for dim in (0, 1, 2):
        n = b.shape[dim]
        perm = RNG.permutation(n)[:2]
        ti, ri = idx(perm)
        shape = list(b.shape)
        shape[dim] = 2
        s, rs = pair(rand_data(shape, dt, RNG), dt)
        assert_same(a.index_copy(dim, ti, s), b.index_copy(dim, ri, rs))
        assert_same(a.index_fill(dim, ti, -2), b.index_fill(dim, ri, -2))
        assert_same(a.index_fill(dim, ti, td.tensor(3).to(a.dtype)), b.index_fill(dim, ri, torch.tensor(3).to(b.dtype)))
        alpha = 2 if dt != "float16" else 1
        dup, rdup = idx([perm[0], perm[0]])
        assert_same(td.index_add(a, dim, dup, s, alpha=alpha), torch.index_add(b, dim, rdup, rs, alpha=alpha))
        a2, b2 = a.clone(), b.clone()
        a2.index_add_(dim, dup, s)
        b2.index_add_(dim, rdup, rs)
        assert_same(a2, b2)


@pytest.mark.parametrize("dt", ["float32", "int16", "bool", "bfloat16"])
def test_masked_fill_select(dt):
    a, b = both((3, 4), dt)
    m = RNG.random((3, 4)) < 0.5
    tm, rm = pair(m, "bool")
    assert_same(a.masked_fill(tm, 1), b.masked_fill(rm, 1))
    assert_same(td.masked_fill(a, tm[0], td.tensor(0)), torch.masked_fill(b, rm[0], torch.tensor(0)))
    a2, b2 = a.clone(), b.clone()
    a2.masked_fill_(tm, 0)
    b2.masked_fill_(rm, 0)
    assert_same(a2, b2)
    assert_same(td.masked_select(a, tm), torch.masked_select(b, rm))
    assert_same(a.masked_select(tm[1]), b.masked_select(rm[1]))
    src, rsrc = both((12,), dt)
    assert_same(a.masked_scatter(tm, src), b.masked_scatter(rm, rsrc))


def test_masked_errors():
    x, rx = both((2, 3))
    assert_raises_like(lambda: x.masked_fill(td.ones(2, 2, 3, dtype=td.bool).t if False else td.tensor([True, False]), 1.),
                       lambda: rx.masked_fill(torch.tensor([True, False]), 1.))
    assert_raises_like(lambda: x.masked_fill_(td.ones(2, 2, 3, dtype=td.bool), 1.),
                       lambda: rx.masked_fill_(torch.ones(2, 2, 3, dtype=torch.bool), 1.))
    assert_raises_like(lambda: x.masked_fill(td.ones(3, dtype=td.bool), td.tensor([1., 2])),
                       lambda: rx.masked_fill(torch.ones(3, dtype=torch.bool), torch.tensor([1., 2])))


def test_take_put_index_put():
    a, b = both((4, 3), "float32", noncontig=True)
    ti, ri = idx([[0, -1], [5, 3]])
    s, rs = both((2, 2), "float32")
    a2, b2 = a.clone(), b.clone()
    a2.put_(ti, s)
    b2.put_(ri, rs)
    assert_same(a2, b2)
    assert_same(a.put(ti, s, accumulate=True), b.put(ri, rs, accumulate=True))
    a3, b3 = a.clone(), b.clone()  # non-contiguous target
    a3 = a3.t()
    b3 = b3.t()
    a3.put_(ti, s, accumulate=True)
    b3.put_(ri, rs, accumulate=True)
    assert_same(a3, b3)
    i0, r0 = idx([0, 0, 2])
    i1, r1 = idx([1, 1, 3])
    v, rv = both((3,), "float32")
    assert_same(a.clone().index_put_((i0, i1), v, accumulate=True), b.clone().index_put_((r0, r1), rv, accumulate=True))
    assert_same(td.index_put(a, (i0,), td.tensor(9.)), torch.index_put(b, (r0,), torch.tensor(9.)))
    mask, rmask = pair([True, False, True], "bool")
    assert_same(a.clone().index_put_((mask,), td.tensor(1.)), b.clone().index_put_((rmask,), torch.tensor(1.)))


@pytest.mark.parametrize("dt", ["float32", "int8", "bool"])
@pytest.mark.parametrize("shape", [(), (0,), (5,), (3, 4), (2, 3, 2)])
def test_nonzero_where_argwhere(dt, shape):
    a, b = pair(rand_data(shape, dt, RNG, low=-1, high=1), dt)
    assert_same(td.nonzero(a), torch.nonzero(b))
    assert_same(a.argwhere(), b.argwhere())
    got, want = td.nonzero(a, as_tuple=True), torch.nonzero(b, as_tuple=True)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_same(g, w)
    if dt == "bool":
        for g, w in zip(td.where(a), torch.where(b)):
            assert_same(g, w)


GET_INDICES = [
    lambda m: ([0, 2],),
    lambda m: (m.tensor([[0, 1], [2, 2]]),),
    lambda m: (np.array([1, -1]),),
    lambda m: (slice(None), [3, 0, 1]),
    lambda m: ([0, 1], [1, 2]),
    lambda m: ([[0], [2]], [1, 3]),
    lambda m: ([0, 1], slice(None), [0, 1]),
    lambda m: (Ellipsis, [1, 0]),
    lambda m: (None, [1, 0], None, 1),
    lambda m: (1, slice(None), [0, 1]),
    lambda m: (slice(1, 3), [0, 1], slice(None, None, 2)),
    lambda m: (m.tensor([True, False, True]),),
    lambda m: (m.tensor([[True, False, True, False], [False] * 4, [True] * 4]),),
    lambda m: (slice(None), m.tensor([False, True, True, False])),
    lambda m: (m.tensor([True, False, True]), slice(None), [1, 0]),
    lambda m: ([True, False, True],),
    lambda m: (m.tensor([], dtype=m.int64),),
    lambda m: ([],),
]


@pytest.mark.parametrize("k", range(len(GET_INDICES)))
def test_advanced_getitem(k):
    a, b = both((3, 4, 2), "float32")
    ia, ib = GET_INDICES[k](td), GET_INDICES[k](torch)
    assert_same(a[ia], b[ib])
    # non-contiguous base
    a2, b2 = a.permute(1, 0, 2)[:3, :, :], b.permute(1, 0, 2)[:3, :, :]
    if k not in (12, 13, 14):  # masks are shape-specific
        a2, b2 = a2[:, :4 if a2.shape[1] >= 4 else None], b2[:, :4 if b2.shape[1] >= 4 else None]


@pytest.mark.parametrize("k", range(len(GET_INDICES)))
def test_advanced_setitem(k):
    a, b = both((3, 4, 2), "int32")
    ia, ib = GET_INDICES[k](td), GET_INDICES[k](torch)
    a[ia] = 7
    b[ib] = 7
    assert_same(a, b)
    shape = list(b[ib].shape)
    v = rand_data(shape[-1:], "int32", RNG)  # broadcast along leading dims
    a[ia] = td.tensor(v).to(td.int32)
    b[ib] = torch.tensor(v).int()
    assert_same(a, b)

    def bad(m, t):
        t[GET_INDICES[k](m)] = m.ones(shape[-1:], dtype=m.float64)
    assert_raises_like(lambda: bad(td, a), lambda: bad(torch, b))


def test_advanced_index_errors():
    x, rx = both((2, 3))
    for f in [lambda m, t: t[m.tensor([5])], lambda m, t: t[m.tensor([-3])], lambda m, t: t[:, m.tensor([3])],
              lambda m, t: t[m.tensor([0.])], lambda m, t: t[m.tensor([True])],
              lambda m, t: t[m.tensor([0], dtype=m.int32)], lambda m, t: t[[0, 1], [0, 1, 2]],
              lambda m, t: t[[0], [5]]]:
        assert_raises_like(lambda: f(td, x), lambda: f(torch, rx))

    def bad_set(m, t):
        t[[0, 1]] = m.ones(3, 2)
    assert_raises_like(lambda: bad_set(td, x), lambda: bad_set(torch, rx))


def test_setitem_view_and_non_adjacent():
    a, b = both((4, 5, 6), "float64")
    va, vb = a[1:, ::2], b[1:, ::2]
    va[[0, 2], :, [1, 3]] = td.arange(6.).reshape(2, 3).to(td.float64)
    vb[[0, 2], :, [1, 3]] = torch.arange(6.).reshape(2, 3).double()
    assert_same(a, b)
    a[a > 0] = 0.0
    b[b > 0] = 0.0
    assert_same(a, b)


def test_hostile_records_are_rejected():
    """Records a well-behaved client never sends: errors, never a crash."""
    from tensord import _C, _op_numbers as O
    x = td.arange(6.).reshape(2, 3)
    i = td.tensor([0, 1])
    f = td.tensor([0., 1.])
    bad = [
        (O.INDEX, (x, i), [-1, 0]), (O.INDEX, (x, i), [2, 0]), (O.INDEX, (x, i), [0, 9]),
        (O.INDEX, (x, f), [0, 0]), (O.INDEX, (x, i, td.tensor([0, 1, 2])), [0, 0]), (O.INDEX, (x,), [0, 0]),
        (O.INDEX_PUT, (x, td.ones(3), i), [0, 0, 0]), (O.INDEX_PUT, (x, td.ones(2, 3, dtype=td.int64), i), [0, 0, 0]),
        (O.GATHER, (x, i), [0]), (O.SCATTER, (x, i, x), [0, 7]), (O.SORT, (x,), [99, 0, 0]),
        (O.SEARCHSORTED, (x, td.ones(3, 3)), [0, 0]), (O.HISTC, (x,), [0, 0, 0]), (O.NONZERO, (x,), [99]),
    ]
    for opn, ins, attrs in bad:
        with pytest.raises((RuntimeError, IndexError)):
            _C.op(opn, ins, attrs, 0)
    _C.op(O.NONZERO, (x,), [2], 0)  # a wrong count is only visible to the kernel
    with pytest.raises(RuntimeError, match="nonzero"):
        td.synchronize()
    assert_same(x + 1, torch.arange(6.).reshape(2, 3) + 1)


@pytest.mark.parametrize("vdt", ["int64", "float32", "bool", "float64"])
@pytest.mark.parametrize("index", ["mask", "mask_list", "empty_mask", "mask_after_slice", "long"])
def test_setitem_one_element_value_through_a_mask_takes_any_dtype(vdt, index):
    # (differential tester) torch's index_put_ fills through masked_fill_(mask, value.item())
    # for one bool index and a one-element value; other indices need matching dtypes
    def run(L):
        x = L.arange(6, dtype=L.float64).reshape(2, 3) if index != "empty_mask" else L.zeros(0, dtype=L.float64)
        ix = {"mask": (L.tensor([[True, False, True], [False, False, True]]),),
              "mask_list": ([False, True],), "empty_mask": (L.tensor([], dtype=L.bool),),
              "mask_after_slice": (slice(None), L.tensor([True, False, True])),
              "long": (L.tensor([1]),)}[index]
        x[ix] = L.tensor([3], dtype=getattr(L, vdt))
        return x
    if vdt == "float64":
        assert_same(run(td), run(torch))
        return
    assert_raises_like(lambda: run(td), lambda: run(torch)) if index == "long" else assert_same(run(td), run(torch))


def test_index_add_bool_with_alpha():
    # (differential tester) alpha scales the source in the source's dtype
    def run(L):
        x = L.tensor([False, False, True])
        return x.index_add_(0, L.tensor([0, 2]), L.tensor([True, False]), alpha=2)
    assert_same(run(td), run(torch))


def _set(x, i, v):
    x[i] = v
    return x


@pytest.mark.parametrize("call", [
    lambda L: L.zeros(2, 0)[[2]], lambda L: L.zeros(2, 0)[L.tensor([5, -7])], lambda L: L.zeros(2, 0)[L.arange(3) * 2],
    lambda L: _set(L.zeros(2, 0), [3], 1.0), lambda L: _set(L.zeros(2, 0), L.arange(3) + 2, L.ones(3, 0)),
], ids=["known", "known-negative", "computed", "set-known", "set-computed"])
def test_out_of_range_index_into_an_empty_result(call):
    # (differential tester) torch checks an index where its kernel moves an element: none here
    assert_same(call(td), call(torch))


def test_out_of_range_index_with_elements_still_raises():
    assert_raises_like(lambda: td.zeros(3)[td.arange(3) + 3], lambda: torch.zeros(3)[torch.arange(3) + 3])


@pytest.mark.parametrize("v", [-1.5, 2.7, 300.0])
def test_setitem_mask_value_read_as_a_checked_number(v):
    # (differential tester) the one-element value is value.item(), converted with torch's check
    def run(L):
        x = L.zeros(4, dtype=L.uint8)
        x[L.tensor([True, True, False, False])] = L.tensor([v])
        return x
    assert_same_outcome(run)


def test_scatter_value_with_an_empty_index_converts_nothing():
    # (differential tester) torch converts the value per element written
    def run(L):
        return L.zeros(2, dtype=L.uint8).scatter_(0, L.zeros(0, dtype=L.int64), -0.5)
    assert_same(run(td), run(torch))


@pytest.mark.parametrize("v,dt", [(-2.5, "float16"), (300, "int64"), (7.0, "float32"), (-1, "int64")])
@pytest.mark.parametrize("where", ["slice", "ellipsis", "int-to-0d", "fill_"])
def test_assigning_a_0d_tensor_reads_a_checked_number(v, dt, where):
    # (differential tester) torch's copy_to fills from a 0-d CPU value (value.item()) unless
    # the shapes agree (then copy_, unchecked)
    def run(L):
        x = L.zeros(3, 2, dtype=L.uint8)
        val = L.tensor(v, dtype=getattr(L, dt))
        if where == "slice":
            x[1:] = val
        elif where == "ellipsis":
            x[...] = val
        elif where == "int-to-0d":
            x[0, 1] = val
        else:
            x.fill_(val)
        return x
    assert_same_outcome(run)


@pytest.mark.parametrize("call", [
    lambda L: L.zeros(1, 0).expand(3, 0).add_(1),
    lambda L: L.zeros(1, 0).expand(3, 0).copy_(L.ones(3, 0)),
    lambda L: L.zeros(1, 0).expand(3, 0).scatter_(0, L.zeros(1, 0, dtype=L.int64), 1.0),
    lambda L: L.zeros(1, 0, 1).expand(3, 0, 1).scatter_(1, L.zeros(3, 0, 1, dtype=L.int64), L.ones(3, 0, 1)),
    lambda L: L.add(L.ones(3, 0), 1, out=L.zeros(1, 0).expand(3, 0)),
], ids=["add_", "copy_", "scatter_-value", "scatter_-src", "out"])
def test_an_empty_expanded_tensor_can_be_written(call):
    # (differential tester) torch counts an empty tensor as dense: no overlap error
    assert_same(call(td), call(torch))
