"""The generated bindings: one _C.ops entry point per op row, its arguments parsed in C by
the schema of proto/ops.args (keywords, defaults, kinds, errors), and the _C.fast paths
in front of the Python functions (torch.add, Tensor.sum, torch.matmul ...), which must
give exactly what the Python functions give, torch 1.13 being the reference."""
import importlib.util
import os

import numpy as np
import pytest
import torch

import tensord as td
from tensord import _C
from tensord import _op_numbers as O

ops = _C.ops
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
INTERNAL = {"none", "release", "upload", "read"}


def _gen_module():
    spec = importlib.util.spec_from_file_location("gen_ops", os.path.join(ROOT, "proto", "gen_ops.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def t(a):
    return td.tensor(np.asarray(a))


def test_every_row_has_an_entry_with_its_schema():
    gen = _gen_module()
    rows = gen.read_rows()
    fams, own = gen.read_schemas()
    assert [r["name"] for r in rows] == list(O.NAMES)
    for i, name in enumerate(O.NAMES):
        if name in INTERNAL:
            assert not hasattr(ops, name)
            continue
        e = getattr(ops, name)
        assert e.op == i
        ins, attrs = gen.schema_of(rows[i], fams, own)
        assert [a[0] for a in e.schema] == [a.name for a in ins + attrs]


def test_generated_tables_match_their_sources():
    # the flags per row, the record flags and the dtype table come from the C headers
    assert O.RF_INPLACE == 1 and O.RF_SCALAR_LHS == 2 and O.RF_OUT == 4
    assert O.FLAGS[O.ADD] & O.F_INPLACE_OK and not O.FLAGS[O.ISNAN] & O.F_INPLACE_OK
    assert [d[0] for d in O.DTYPES] == [str(d).split(".")[1] for d in td._dtype.DTYPES]
    for d in td._dtype.DTYPES:
        ref = getattr(torch, d._name)
        assert d.itemsize == torch.empty(0, dtype=ref).element_size() and d.is_floating_point == ref.is_floating_point
        assert d.is_complex == ref.is_complex


def test_gen_refuses_a_schema_that_disagrees_with_its_row():
    gen = _gen_module()
    row = dict(NAME="ADD", name="add", n_in=2, n_out=1, family="BINARY", flags=[])
    with pytest.raises(SystemExit, match="has 3 inputs"):
        gen.schema_of(row, {}, {"ADD": [gen.parse_input(x) for x in ("a", "b", "c")]})
    with pytest.raises(SystemExit, match="no schema"):
        gen.schema_of(dict(row, NAME="NEW", family="NEWFAM"), {}, {})
    bad = [gen.parse_input("a"), gen.parse_attr("k:int=None"), gen.parse_attr("x:int")]
    with pytest.raises(SystemExit, match="absent only at the end"):
        gen.schema_of(dict(row, n_in=1), {}, {"ADD": bad})
    with pytest.raises(SystemExit, match="bad attribute"):
        gen.parse_attr("x:nosuchkind")


def test_keywords_defaults_and_kinds_against_torch():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    x, ref = t(a), torch.from_numpy(a)
    np.testing.assert_allclose(ops.sum(x, dim=1, keepdim=True).numpy(), ref.sum(1, keepdim=True).numpy(), rtol=1e-6)
    np.testing.assert_allclose(ops.sum(x, [0, -1]).numpy(), ref.sum((0, 1)).numpy(), rtol=1e-5)
    assert ops.mean(x, -1, dtype=td.float64).dtype == td.float64
    np.testing.assert_array_equal(ops.div(x, 0.5, rounding_mode="floor").numpy(),
                                  torch.div(ref, 0.5, rounding_mode="floor").numpy())
    np.testing.assert_array_equal(ops.sub(2, x).numpy(), (2 - ref).numpy())  # a scalar left operand
    np.testing.assert_allclose(ops.add(x, x, alpha=3).numpy(), torch.add(ref, ref, alpha=3).numpy())
    np.testing.assert_array_equal(ops.clamp(x, has_min=True, min=-0.5).numpy(), ref.clamp(min=-0.5).numpy())
    v, i = ops.sort(x, descending=True)
    rv, ri = ref.sort(descending=True)
    np.testing.assert_array_equal(v.numpy(), rv.numpy())
    np.testing.assert_array_equal(i.numpy(), ri.numpy())
    assert ops.view(x, [2, 6]).shape == (2, 6) and ops.permute(x, (1, 0)).shape == (4, 3)
    assert ops.cat(x, x, dim=1).shape == (3, 8)
    f = ops.full(td.int32, torch.Size([2, 2]), 7)
    assert f.dtype == td.int32 and f.numpy().tolist() == [[7, 7], [7, 7]]
    q = ops.linalg_qr(t(np.eye(3)), mode="r")
    assert q[1].shape == (3, 3)


def test_argument_errors():
    x = t(np.ones((2, 3), np.float32))
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)"):
        ops.sum(x, dim=5)
    with pytest.raises(RuntimeError, match="dim 1 appears multiple times in the list of dims"):
        ops.sum(x, dim=[1, -1])
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        ops.sum(x, foo=1)
    with pytest.raises(TypeError, match="missing required argument 'dim0'"):
        ops.transpose(x)
    with pytest.raises(TypeError, match="multiple values for argument 'dim'"):
        ops.sum(x, 1, dim=1)
    with pytest.raises(TypeError, match="must be Tensor, not int"):
        ops.matmul(x, 3)
    with pytest.raises(TypeError, match="must be torch.dtype, not str"):
        ops.cast(x, "float64")
    with pytest.raises(ValueError, match="invalid rounding_mode 'round'"):
        ops.div(x, 2, rounding_mode="round")
    with pytest.raises(TypeError, match="at most one operand may be a scalar"):
        ops.add(1, 2)
    with pytest.raises(TypeError, match="takes 3 positional arguments but 4 were given"):
        ops.transpose(x, 0, 1, 2)


def test_inplace_out_and_check():
    x = t(np.arange(6, dtype=np.float32).reshape(2, 3))
    y = ops.clone(x)
    assert ops.add(y, 1, inplace=True) is y
    np.testing.assert_array_equal(y.numpy(), x.numpy() + 1)
    o = td.empty(2, 3)
    assert ops.mul(x, x, out=o) is o
    np.testing.assert_array_equal(o.numpy(), x.numpy() ** 2)
    wrong = td.zeros(1)
    assert ops.mul(x, x, out=wrong) is None  # not of the result's shape: nothing recorded
    np.testing.assert_array_equal(wrong.numpy(), [0])
    before = td._C.stats()["ops_executed"]
    assert ops.gather(x, td.zeros(2, 3, dtype=td.int64), 1, check=True) is None
    td.synchronize()
    with pytest.raises(RuntimeError, match="Expected dtype int64 for index"):
        ops.gather(x, td.zeros(2, 3), 1, check=True)
    assert td._C.stats()["ops_executed"] - before < 3  # the sync only: check recorded nothing


FAST = [("add", lambda m, a, b: m.add(a, b)), ("add alpha", lambda m, a, b: m.add(a, b, alpha=2)),
        ("add float alpha", lambda m, a, b: m.add(a, b, alpha=0.5)), ("add scalar", lambda m, a, b: m.add(a, 3)),
        ("method add", lambda m, a, b: a.add(b)), ("sub", lambda m, a, b: m.sub(a, b, alpha=3)),
        ("mul", lambda m, a, b: m.mul(a, 2.5)), ("div", lambda m, a, b: m.div(a, b)),
        ("div floor", lambda m, a, b: m.div(a, b, rounding_mode="floor")), ("matmul", lambda m, a, b: m.matmul(a, b.T)),
        ("method matmul", lambda m, a, b: a.matmul(b.T)), ("@", lambda m, a, b: a @ b.T),
        ("sum", lambda m, a, b: m.sum(a)), ("sum dim", lambda m, a, b: a.sum(dim=1)),
        ("sum dims keepdim", lambda m, a, b: m.sum(a, (0, 1), keepdim=True)),
        ("sum dtype", lambda m, a, b: a.sum(1, dtype=m.float64)), ("mean", lambda m, a, b: m.mean(a, -1)),
        ("exp", lambda m, a, b: m.exp(a)), ("method sqrt", lambda m, a, b: a.abs().sqrt()),
        ("lt", lambda m, a, b: m.lt(a, b)), ("ge scalar", lambda m, a, b: a.ge(0)),
        ("maximum", lambda m, a, b: m.maximum(a, b)), ("pow scalar lhs", lambda m, a, b: m.pow(2, a))]


@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("name,f", FAST, ids=[n for n, _ in FAST])
def test_fast_paths_match_torch(name, f, dtype):
    rng = np.random.default_rng(1)
    a = rng.integers(1, 5, (3, 4)).astype(dtype)
    b = rng.integers(1, 5, (3, 4)).astype(dtype)
    try:
        want = f(torch, torch.from_numpy(a), torch.from_numpy(b))
    except Exception as e:  # torch refuses (e.g. a float alpha on integers): so must tensord
        with pytest.raises(type(e)):
            f(td, t(a), t(b))
        return
    got = f(td, t(a), t(b))
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_fast_paths_are_c_and_fall_back_to_python():
    assert type(td.add).__name__ == "FastOp" and type(td.Tensor.sum).__name__ == "FastOp"
    assert td.add.__name__ == "add" and callable(td.add.__wrapped__)
    a = t(np.ones(3, np.float32))
    # what the C path does not take plainly goes to the Python function: same results as torch
    assert (td.add(a, 1j).numpy() == torch.add(torch.ones(3), 1j).numpy()).all()  # a complex scalar
    assert td.add(a, np.float32(2)).numpy().tolist() == [3, 3, 3]  # a numpy scalar
    o = td.empty(5)
    with pytest.warns(UserWarning, match="was resized"):
        td.add(a, a, out=o)  # out= of another shape: resized with torch's warning
    assert o.shape == (3,)
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool tensors"):
        td.sub(t(np.ones(3, bool)), True)  # a Python bool counts as a bool tensor, as torch's
    with pytest.raises(TypeError, match=r"add\(\): argument 'other' \(position 2\) must be Tensor, not str"):
        td.add(a, "x")
