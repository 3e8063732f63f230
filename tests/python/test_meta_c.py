"""The C meta layer's rules as the Python package sees them through _C: promotion
(promote_types, can_cast, result_type), wrap_dim, broadcasting and contiguous strides,
against torch 1.13, errors (type and message) included."""
import itertools
import warnings

import numpy as np
import pytest
import torch

import tensord as td
from tensord import _C
from tdhelpers import assert_raises_like

ALL = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
       "complex64", "complex128"]
PAIRS = list(itertools.product(ALL, ALL))
# Python numbers, and numpy scalars as torch's argument parser reads them (numpy.bool_ and
# numpy.complex64 count as floats there)
NUMBERS = [True, 3, 2.5, 1j, np.int8(1), np.int64(1), np.float32(1), np.float64(1), np.bool_(1),
           np.complex64(1), np.complex128(1)]


def _td(name):
    return getattr(td, name)


def _th(name):
    return getattr(torch, name)


def test_promote_types_and_can_cast_every_pair():
    for a, b in PAIRS:
        assert str(td.promote_types(_td(a), _td(b))) == str(torch.promote_types(_th(a), _th(b))), (a, b)
        assert td.can_cast(_td(a), _td(b)) == torch.can_cast(_th(a), _th(b)), (a, b)


def test_promote_types_and_can_cast_take_keywords():
    assert td.promote_types(type1=td.uint8, type2=td.int8) is td.int16
    assert td.can_cast(**{"from": td.float32, "to": td.int8}) is False


@pytest.mark.parametrize("fn", [
    lambda m: m.promote_types(1, m.int8),
    lambda m: m.promote_types(m.int8, "a"),
    lambda m: m.promote_types(m.int8, m.zeros(1)),
    lambda m: m.can_cast(1, m.int8),
    lambda m: m.can_cast(m.int8, None),
])
def test_dtype_argument_errors(fn):
    assert_raises_like(lambda: fn(td), lambda: fn(torch))


@pytest.mark.parametrize("shape", [(2,), ()], ids=["dim", "0d"])
def test_result_type_tensor_and_number(shape):
    """torch has complex32 and no complex bfloat16: tensord widens those results to complex64"""
    for a in ALL:
        x, tx = td.zeros(shape, dtype=_td(a)), torch.zeros(shape, dtype=_th(a))
        for s in NUMBERS:
            for got, want in ((lambda: td.result_type(x, s), lambda: torch.result_type(tx, s)),
                              (lambda: td.result_type(s, x), lambda: torch.result_type(s, tx))):
                try:
                    with warnings.catch_warnings():  # numpy.complex64 read as a float
                        warnings.simplefilter("ignore")
                        w = want()
                except RuntimeError:  # torch: "Unknown Complex ScalarType for BFloat16"
                    assert a == "bfloat16" and got() is td.complex64
                    continue
                if str(w) == "torch.complex32":
                    assert a == "float16" and got() is td.complex64
                    continue
                assert str(got()) == str(w), (a, shape, s)


def test_result_type_tensor_tiers():
    """dimensioned tensors outrank 0-d tensors: every pair, every order of tiers"""
    for a, b in PAIRS:
        for sa, sb in (((2,), (2,)), ((), (2,)), ((2,), ()), ((), ())):
            x, y = td.zeros(sa, dtype=_td(a)), td.zeros(sb, dtype=_td(b))
            tx, ty = torch.zeros(sa, dtype=_th(a)), torch.zeros(sb, dtype=_th(b))
            want = str(torch.result_type(tx, ty))
            want = "torch.complex64" if want == "torch.complex32" else want
            assert str(td.result_type(x, y)) == want, (a, b, sa, sb)


def test_result_type_two_numbers():
    for s, t in itertools.product([True, 3, 2.5, 1j], repeat=2):
        assert str(td.result_type(s, t)) == str(torch.result_type(s, t)), (s, t)


def test_result_type_numbers_follow_the_default_dtype():
    td.set_default_dtype(td.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for a in ALL:
            x, tx = td.zeros(2, dtype=_td(a)), torch.zeros(2, dtype=_th(a))
            for s in (2.5, 1j):
                want = str(torch.result_type(tx, s))
                if want == "torch.complex32":
                    continue
                assert str(td.result_type(x, s)) == want, (a, s)
        assert td.result_type(1, 1j) is td.complex128
    finally:
        td.set_default_dtype(td.float32)
        torch.set_default_dtype(torch.float32)
    assert td.result_type(1, 1j) is td.complex64


def test_binary_ops_agree_with_result_type():
    for a in ALL:
        x = td.ones(2, dtype=_td(a))
        for s in (True, 3, 2.5, 1j):
            assert (x * s).dtype is td.result_type(x, s), (a, s)


@pytest.mark.parametrize("v", ["a", None, [1], np.array(1)])
def test_result_type_rejects_non_numbers(v):
    with pytest.raises(TypeError):
        td.result_type(td.zeros(2), v)


BROADCAST_OK = [
    ((2, 1), (3, 1, 4), (1,)), (), (3, (2, 1)), ((0,), (1,)), ((1, 0), (3, 1)), ([2, 3], (1,)),
    (torch.Size([2, 3]), [1]), ((), (4,)), ((1,), ()),
]


@pytest.mark.parametrize("shapes", BROADCAST_OK)
def test_broadcast_shapes(shapes):
    got = td.broadcast_shapes(*shapes)
    assert isinstance(got, td.Size) and tuple(got) == tuple(torch.broadcast_shapes(*shapes))


@pytest.mark.parametrize("shapes", [
    ((2, 3), (3, 2)), ((2, 3), (4, 3)), ((0,), (2,)),
    ((2, 3), (-1, 3)), (-2,), ((2, 3), (-1, 4)),  # torch checks sign and match dim by dim, from the last
    ((2, 3), "ab"), ((2, 3), 3.0), ((2,), None),
])
def test_broadcast_shapes_errors(shapes):
    assert_raises_like(lambda: td.broadcast_shapes(*shapes), lambda: torch.broadcast_shapes(*shapes))


@pytest.mark.parametrize("shapes", [((2, 3), (3, 2)), ((4, 1, 3), (2, 3), (5, 1, 1)), ((2,), (3, 1), (1, 4))])
def test_broadcast_tensors_uses_the_op_rule(shapes):
    fn = lambda m: [tuple(t.shape) for t in m.broadcast_tensors(*[m.ones(s) for s in shapes])]  # noqa: E731
    try:
        want = fn(torch)
    except RuntimeError:
        assert_raises_like(lambda: fn(td), lambda: fn(torch))
    else:
        assert fn(td) == want


@pytest.mark.parametrize("nd", [0, 1, 2, 3])
def test_wrap_dim_matches_torch(nd):
    for d in range(-5, 5):
        # cumsum wraps its dim against ndim, 0-d tensors accepting 0 and -1, as every op does
        try:
            torch.zeros([2] * nd).cumsum(d)
        except IndexError as e:
            with pytest.raises(IndexError) as got:
                _C.wrap_dim(d, nd)
            assert str(got.value) == str(e), (d, nd)
        else:
            assert _C.wrap_dim(d, nd) == d % max(nd, 1), (d, nd)


@pytest.mark.parametrize("fn", [
    lambda m: m.zeros(2, 3).narrow(5, 0, 1),
    lambda m: m.zeros(2, 3).flatten(0, -3),
    lambda m: m.zeros(()).unbind(1),
    lambda m: m.zeros(()).unbind(-1),
    lambda m: m.zeros(2, 3).movedim(2, 0),
    lambda m: m.zeros(2, 3).transpose(0, 2),
])
def test_wrap_dim_errors_at_ops(fn):
    assert_raises_like(lambda: fn(td), lambda: fn(torch))


def test_wrap_dim_accepts_int_likes():
    assert _C.wrap_dim(True, 2) == 1 and _C.wrap_dim(np.int64(-1), 2) == 1
    assert _C.wrap_dim(td.tensor(-2), 3) == 1
    with pytest.raises(TypeError, match="'float' object cannot be interpreted as an integer"):
        _C.wrap_dim(1.5, 2)


@pytest.mark.parametrize("sizes", [(), (3,), (2, 3, 4), (2, 0, 3), (0,), (1, 1, 5), (4, 1)])
def test_contiguous_strides(sizes):
    assert _C.contiguous_strides(sizes) == torch.empty(sizes).stride()
    assert td.empty(sizes).stride() == torch.empty(sizes).stride()


def test_resize_uses_contiguous_strides():
    x, tx = td.zeros(2, 3), torch.zeros(2, 3)
    assert x.resize_(4, 0, 5).stride() == tx.resize_(4, 0, 5).stride()
