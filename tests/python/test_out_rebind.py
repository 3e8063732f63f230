"""out= arguments (dtype check, resizing with PyTorch's warning, tuples for multi-output
ops), resize_/resize_as_/set_ and the in-place view ops, all against torch 1.13."""
import warnings

import numpy as np
import pytest
import torch

import tensord as td

RNG = np.random.default_rng(11)
A = RNG.standard_normal((3, 4)).astype(np.float32)
SQ = (RNG.standard_normal((3, 3)) + 3 * np.eye(3)).astype(np.float64)


def _mk(mod, v):
    return mod.tensor(v) if isinstance(v, np.ndarray) else v


def _run(mod, fn, args, kwargs, out):
    f = mod
    for part in fn.split("."):
        f = getattr(f, part)
    args = [_mk(mod, a) for a in args]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = f(*args, out=out, **kwargs)
    return r, [str(x.message) for x in w if issubclass(x.category, UserWarning)]


def _as_np(t):
    return t.numpy() if hasattr(t, "numpy") else np.asarray(t)


# (function, positional args, kwargs, out dtypes (one per output))
SINGLE = [
    ("add", [A, A], {}, ["float32"]),
    ("sum", [A, 0], {}, ["float32"]),
    ("sum", [A, 1], {}, ["float64"]),
    ("mean", [A, (0, 1)], {"keepdim": True}, ["float32"]),
    ("prod", [A, 1], {}, ["float32"]),
    ("amax", [A, 0], {}, ["float32"]),
    ("amin", [A, 1], {}, ["float32"]),
    ("all", [A > 0, 1], {}, ["bool"]),
    ("any", [A > 0, 0], {}, ["bool"]),
    ("argmax", [A, 1], {}, ["int64"]),
    ("nansum", [A, 0], {}, ["float32"]),
    ("clamp_min", [A, 0.0], {}, ["float32"]),
    ("clamp_max", [A, 0.0], {}, ["float32"]),
    ("msort", [A], {}, ["float32"]),
    ("masked_select", [A, A > 0], {}, ["float32"]),
    ("diag", [A], {}, ["float32"]),
    ("matmul", [A, A.T.copy()], {}, ["float32"]),
    ("logsumexp", [A, 1], {}, ["float32"]),
    ("zeros", [(2, 3)], {}, ["int32"]),
    ("ones", [(4,)], {}, ["float64"]),
    ("arange", [5], {}, ["float32"]),
    ("linspace", [0, 1, 5], {}, ["float64"]),
    ("eye", [3], {}, ["int64"]),
    ("full", [(2,), 7], {}, ["int16"]),
    ("linalg.inv", [SQ], {}, ["float64"]),
    ("linalg.svdvals", [SQ], {}, ["float64"]),
]
MULTI = [
    ("sort", [A, 1], {}, ["float32", "int64"]),
    ("topk", [A, 2], {}, ["float32", "int64"]),
    ("kthvalue", [A, 2, 0], {}, ["float32", "int64"]),
    ("max", [A, 1], {}, ["float32", "int64"]),
    ("min", [A, 0, True], {}, ["float32", "int64"]),
    ("median", [A, 1], {}, ["float32", "int64"]),
    ("mode", [A, 1], {}, ["float32", "int64"]),
    ("cummax", [A, 1], {}, ["float32", "int64"]),
    ("cummin", [A, 0], {}, ["float32", "int64"]),
    ("aminmax", [A], {"dim": 1}, ["float32", "float32"]),
    ("linalg.eigh", [SQ @ SQ.T], {}, ["float64", "float64"]),
    ("linalg.qr", [SQ], {}, ["float64", "float64"]),
    ("linalg.slogdet", [SQ], {}, ["float64", "float64"]),
]


def _outs(mod, dts, shape):
    return [mod.zeros(shape, dtype=getattr(mod, d)) for d in dts]


@pytest.mark.parametrize("shape", [(0,), (2,), (3, 4)], ids=["empty", "wrong", "maybe_right"])
@pytest.mark.parametrize("case", SINGLE, ids=lambda c: c[0])
def test_single_out_matches_torch(case, shape):
    fn, args, kw, dts = case
    o_t, o_d = _outs(torch, dts, shape)[0], _outs(td, dts, shape)[0]
    r_t, w_t = _run(torch, fn, args, kw, o_t)
    r_d, w_d = _run(td, fn, args, kw, o_d)
    assert r_t is o_t and r_d is o_d
    assert tuple(o_d.shape) == tuple(o_t.shape) and str(o_d.dtype) == str(o_t.dtype)
    np.testing.assert_allclose(_as_np(o_d), _as_np(o_t), rtol=1e-5, atol=1e-6)
    assert len(w_d) == len(w_t)
    if w_t:
        assert w_d[0] == w_t[0].split(" (Triggered internally")[0]


@pytest.mark.parametrize("case", MULTI, ids=lambda c: c[0])
def test_multi_out_matches_torch(case):
    fn, args, kw, dts = case
    o_t, o_d = _outs(torch, dts, (0,)), _outs(td, dts, (0,))
    r_t, _ = _run(torch, fn, args, kw, tuple(o_t))
    r_d, _ = _run(td, fn, args, kw, tuple(o_d))
    assert type(r_d).__name__ == type(r_t).__name__.replace("_out", ""), (type(r_d), type(r_t))
    for a, b, x in zip(o_d, o_t, r_d):
        assert x is a
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype)
        if fn.startswith("linalg."):  # factors are unique up to signs
            np.testing.assert_allclose(np.abs(_as_np(a)), np.abs(_as_np(b)), rtol=1e-6, atol=1e-8)
        else:
            np.testing.assert_allclose(_as_np(a), _as_np(b), rtol=1e-6, atol=1e-6)


def test_out_dtype_that_cannot_hold_the_result():
    for mod in (torch, td):
        with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
            mod.add(mod.ones(3), mod.ones(3), out=mod.zeros(3, dtype=mod.int64))
        with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
            mod.add(mod.ones(3, dtype=mod.int64), 1, out=mod.zeros(3, dtype=mod.bool))
        with pytest.raises(RuntimeError, match="Expected the dtype for input and out to match, but got Float for "
                           "input's dtype and Long for out's dtype."):
            mod.amax(mod.ones(2, 3), 0, out=mod.zeros(3, dtype=mod.int64))
        # sum and prod cast the input to out's dtype first
        o = mod.zeros(3, dtype=mod.int64)
        mod.sum(mod.full((2, 3), 1.5), 0, out=o)
        assert o.tolist() == [2, 2, 2]


def test_out_is_not_a_tensor_or_tuple():
    with pytest.raises(TypeError, match="argument 'out' must be Tensor, not list"):
        td.add(td.ones(2), 1, out=[1, 2])
    with pytest.raises(TypeError, match="argument 'out' must be tuple of 2 Tensors"):
        td.sort(td.ones(3), out=td.ones(3))


def test_resized_out_does_not_alias_the_input():
    # a composite may hand back one of its inputs; resizing must copy, not rebind to it
    x = td.arange(4.0)
    o = td.zeros(1)
    with pytest.warns(UserWarning, match="An output with one or more elements was resized"):
        td.clamp(x, min=-10.0, out=o)
    o.fill_(5.0)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0] and o.tolist() == [5.0] * 4


def test_views_of_a_resized_out_keep_the_old_storage():
    # documented difference: torch grows the shared storage, tensord rebinds out alone
    o = td.zeros(2)
    v = o[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        td.add(td.ones(3), 1, out=o)
    o.fill_(9)
    assert v.tolist() == [0.0] and o.tolist() == [9.0, 9.0, 9.0]


@pytest.mark.parametrize("op,args", [
    ("t_", ()), ("transpose_", (0, 1)), ("swapaxes_", (1, 0)), ("swapdims_", (0, 1)),
    ("unsqueeze_", (1,)), ("unsqueeze_", (-1,)), ("squeeze_", ()), ("squeeze_", (0,)),
    ("as_strided_", ((2, 2), (1, 2))), ("as_strided_", ((3,), (2,), 1)),
])
def test_inplace_view_ops(op, args):
    res = []
    for mod in (torch, td):
        x = mod.arange(6.0).reshape(1, 2, 3)[0]
        base = x
        r = getattr(x, op)(*args)
        assert r is x is base
        x.mul_(10)  # still a view of the same storage
        res.append((tuple(x.shape), x.stride(), x.storage_offset(), x.tolist()))
    assert res[0] == res[1]


@pytest.mark.parametrize("start,sizes", [
    (0, (2, 2)), (0, (6,)), (2, (2, 2)), (0, (3, 3)), (1, (4, 2)), (0, (0,)), (0, ()), (3, (2, 0, 5)),
])
def test_resize_(start, sizes):
    got = []
    for mod in (torch, td):
        base = mod.arange(6.0)
        x = base[start:]
        x.resize_(sizes)
        n = int(np.prod(sizes)) if sizes else 1
        keep = max(0, min(n, 6 - start))
        vals = x.reshape(-1)[:keep].tolist()
        got.append((tuple(x.shape), x.stride(), x.storage_offset(), x.is_contiguous(), vals))
        if start + n <= 6:  # fits: still a view of base's storage
            x.fill_(-1) if n else None
            assert (base.tolist()[start:start + n] == [-1.0] * n) or n == 0
    assert got[0] == got[1]


def test_resize_as_and_set_():
    for mod in (torch, td):
        x = mod.arange(4)
        x.resize_as_(mod.zeros(2, 2))
        assert tuple(x.shape) == (2, 2) and x.tolist() == [[0, 1], [2, 3]]
        s = mod.arange(10.0)
        w = mod.empty(0)
        w.set_(s)
        assert w.data_ptr() == s.data_ptr() and w.tolist() == s.tolist()
        w.set_()
        assert tuple(w.shape) == (0,)
        with pytest.raises(RuntimeError):
            mod.empty(0, dtype=mod.int64).set_(s)
        with pytest.raises(RuntimeError, match="numel: integer multiplication overflow"):
            mod.zeros(2).resize_(-1, 2)


# ---- out= written straight into the destination (TD_RF_OUT records)

def _ops_executed():
    td.synchronize()
    return td.stats()["ops_executed"]


def test_direct_out_is_one_record():
    """A correctly shaped out of the result dtype takes one record (no temporary, no copy_);
    another dtype goes through the result and a copy_."""
    a, b = td.ones(64), td.arange(64.0)
    o = td.empty(64)
    h = o._handle
    head, a32 = o[:32], a[:32]  # views are records too: made before counting
    n0 = _ops_executed()
    td.add(a, b, out=o)
    td.mul(o, 2, out=o)
    td.exp(a32, out=head)
    assert _ops_executed() - n0 == 3
    assert o._handle == h
    want = (np.arange(64.0) + 1) * 2
    want[:32] = np.e
    np.testing.assert_allclose(o.numpy(), want, rtol=1e-6)
    o64 = td.empty(64, dtype=td.float64)
    n0 = _ops_executed()
    td.add(a, b, out=o64)
    assert _ops_executed() - n0 > 1
    np.testing.assert_allclose(o64.numpy(), np.arange(64.0) + 1)


def test_direct_out_reductions_matmul_cat_clamp():
    """sum/mean/amax/argmax, matmul/mm/bmm, cat and clamp write into a fitting out with one
    record each, into views too, with torch's values."""
    res = []
    for mod in (torch, td):
        a = mod.arange(12.0).reshape(3, 4) - 5
        at, a2, at2, a4 = a.t(), a.expand(2, 3, 4), a.t().expand(2, 4, 3), a.expand(4, 3, 4)
        o = [mod.zeros(4), mod.zeros(3, 1), mod.zeros(3, dtype=mod.int64), mod.zeros(3, 3), mod.zeros(2, 3, 3),
             mod.zeros(6, 4), mod.zeros(8, 4)[::2, :][:3], mod.zeros(3, 4)]
        ops = [lambda: mod.sum(a, 0, out=o[0]), lambda: mod.mean(a, 1, keepdim=True, out=o[1]),
               lambda: mod.argmax(a, 1, out=o[2]), lambda: mod.matmul(a, at, out=o[3]),
               lambda: mod.bmm(a2, at2, out=o[4]), lambda: mod.cat([a, a], 0, out=o[5]),
               lambda: mod.amax(a4, 0, out=o[6]), lambda: mod.clamp(a, -1, 2, out=o[7])]
        if mod is td:
            n0 = _ops_executed()
        for f in ops:
            assert f() is not None
        if mod is td:
            assert _ops_executed() - n0 == len(ops)  # one record each: no temporary, no copy_
        res.append([x.tolist() for x in o])
    assert res[0] == res[1]


@pytest.mark.parametrize("case", [
    "transposed", "strided", "offset", "alias_lhs", "alias_rhs", "broadcast_into", "shifted", "row_of_out",
    "compare_bool", "int_scalar", "expanded_out",
])
def test_direct_out_matches_torch(case):
    res = []
    for mod in (torch, td):
        a = mod.arange(12.0).reshape(3, 4)
        b = mod.arange(4.0) - 1.5
        if case == "transposed":
            o = mod.zeros(4, 3).t()
            r = mod.add(a, b, alpha=2, out=o)
        elif case == "strided":
            o = mod.zeros(3, 8)[:, ::2]
            r = mod.mul(a, b, out=o)
        elif case == "offset":
            o = mod.zeros(20)[5:17].view(3, 4)
            r = mod.sub(a, 1, out=o)
        elif case == "alias_lhs":
            o = a
            r = mod.add(a, b, out=a)
        elif case == "alias_rhs":
            o = a
            r = mod.div(b, a + 1, out=a)
        elif case == "broadcast_into":
            o = mod.zeros(3, 4)
            r = mod.maximum(a[:1], b, out=o)
        elif case == "shifted":  # partial overlap: both refuse it at the call
            x = mod.arange(8.0)
            with pytest.raises(RuntimeError, match="refer to a single memory location"):
                mod.add(x[1:], 1, out=x[:-1])
            res.append(x.tolist())  # nothing written
            continue
        elif case == "row_of_out":  # a row of self: a partial overlap, refused by both
            with pytest.raises(RuntimeError, match="refer to a single memory location"):
                a.add_(a[0])
            res.append(a.tolist())
            continue
        elif case == "compare_bool":
            o = mod.zeros(3, 4, dtype=mod.bool)
            r = mod.gt(a, 5, out=o)
        elif case == "int_scalar":
            o = mod.zeros(3, 4, dtype=mod.int64)
            r = mod.remainder(a.long(), 5, out=o)
        else:
            o = mod.zeros(1, 4).expand(3, 4)
            r = mod.neg(b, out=o[0])
        assert r is o or case == "expanded_out"
        res.append(o.tolist())
    assert res[0] == res[1]


def test_direct_out_errors_at_the_call():
    o = td.zeros(3, 4)
    with pytest.raises(RuntimeError, match="must match the size"):
        td.add(td.ones(3, 4), td.ones(5), out=o)
    assert o.tolist() == [[0.0] * 4] * 3


@pytest.mark.parametrize("case", ["shift_right", "shift_left", "transpose"])
def test_copy_into_partially_overlapping_self(case):
    """copy_ from a source that overlaps the destination other than element for element:
    torch's error at the call, and nothing written."""
    for mod in (torch, td):
        x = mod.arange(70000.0)
        dst, src = {"shift_right": (x[1:], x[:-1]), "shift_left": (x[:-1], x[1:]),
                    "transpose": (x[:40000].view(200, 200), x[:40000].view(200, 200).t())}[case]
        with pytest.raises(RuntimeError, match=r"^unsupported operation: some elements of the input tensor and the "
                                               r"written-to tensor refer to a single memory location\. Please clone"):
            dst.copy_(src)
        np.testing.assert_array_equal(x.numpy(), np.arange(70000.0))


@pytest.mark.parametrize("case", ["strided_shift", "itself"])
def test_copy_into_overlapping_self(case):
    """Overlaps torch allows: the same tensor, and layouts too hard to compare (not dense),
    which are read whole before any is written here (torch's own result then depends on
    its loop order: "Please clone()" in its words)."""
    x, n = td.arange(70000.0), np.arange(70000.0)
    if case == "strided_shift":
        x[2::2].copy_(x[:-2:2])
        n[2::2] = n[:-2:2].copy()
    else:
        x.copy_(x)
    np.testing.assert_array_equal(x.numpy(), n)
