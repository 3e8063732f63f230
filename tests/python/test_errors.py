"""Errors raise at the call site with torch's exception type and message."""
import numpy as np
import pytest
import torch

import tensord as td
from tensord._size import cuda_unavailable
from tdhelpers import assert_raises_like, assert_same, from_torch, assert_same_outcome


def both(shape, dtype=torch.float32):
    t = torch.zeros(shape, dtype=dtype)
    return from_torch(t), t


CASES = {
    "broadcast": lambda m, a, b: a + b,
    "broadcast_sub": lambda m, a, b: m.sub(a, b),
    "broadcast_cmp": lambda m, a, b: a < b,
    "broadcast_where": lambda m, a, b: m.where(a > 0, a, b),
    "maximum": lambda m, a, b: m.maximum(a, b),
    "inplace_shape": lambda m, a, b: m.zeros(3).add_(a),
    "matmul": lambda m, a, b: a @ a,
    "mm": lambda m, a, b: m.mm(a, a),
    "view": lambda m, a, b: a.view(7),
    "view_infer": lambda m, a, b: a.view(-1, 4),
    "view_stride": lambda m, a, b: a.t().view(6),
    "expand": lambda m, a, b: a.expand(3, 3),
    "expand_fewer": lambda m, a, b: a.expand(3),
    "permute": lambda m, a, b: a.permute(0, 1, 2),
    "permute_dup": lambda m, a, b: a.permute(0, 0),
    "cat": lambda m, a, b: m.cat([a, b]),
    "cat_dims": lambda m, a, b: m.cat([a, a[0]]),
    "cat_empty": lambda m, a, b: m.cat([]),
    "stack": lambda m, a, b: m.stack([a, b]),
    "narrow": lambda m, a, b: a.narrow(1, 2, 2),
    "t3d": lambda m, a, b: a.unsqueeze(0).t(),
    "bool_sub": lambda m, a, b: (a > 0) - (a > 0),
    "bool_neg": lambda m, a, b: -(a > 0),
    "bitwise_float": lambda m, a, b: a & a,
    "bitwise_not_float": lambda m, a, b: ~a,
    "mean_int": lambda m, a, b: a.long().mean(),
    "inplace_cast": lambda m, a, b: a.long().add_(1.5),
    "inplace_div_int": lambda m, a, b: a.long().div_(2),
    "where_cond": lambda m, a, b: m.where(a, a, a),
    "clamp_none": lambda m, a, b: m.clamp(a),
    "alpha_float_int": lambda m, a, b: m.add(a.long(), a.long(), alpha=0.5),
    "randint_range": lambda m, a, b: m.randint(3, 3, (2,)),
    "arange_step": lambda m, a, b: m.arange(0, 5, 0),
    "arange_sign": lambda m, a, b: m.arange(0, 5, -1),
    "eye_neg": lambda m, a, b: m.eye(-2),
    "linspace_neg": lambda m, a, b: m.linspace(0, 1, -3),
    "neg_size": lambda m, a, b: m.zeros(2, -3),
    "bool_multi": lambda m, a, b: bool(a),
    "bool_empty": lambda m, a, b: bool(a[:0]),
    "item_multi": lambda m, a, b: a.item(),
    "int_multi": lambda m, a, b: int(a),
    "float_multi": lambda m, a, b: float(a),
    "index_float": lambda m, a, b: [1, 2][a[0, 0]],
    "len_0d": lambda m, a, b: len(a[0, 0]),
    "iter_0d": lambda m, a, b: iter(a[0, 0]),
    "fill_tensor": lambda m, a, b: a.fill_(a[0]),
    "step_negative": lambda m, a, b: a[::-1],
    "step_zero": lambda m, a, b: a[:, ::0],
    "idx_range": lambda m, a, b: a[5],
    "idx_range_neg": lambda m, a, b: a[:, -4],
    "idx_too_many": lambda m, a, b: a[0, 0, 0],
    "idx_0d": lambda m, a, b: a[0, 0][0],
    "idx_type": lambda m, a, b: a["x"],
    "setitem_shape": lambda m, a, b: a.__setitem__(0, m.zeros(2)),
    "dim_range_sum": lambda m, a, b: a.sum(2),
    "dim_range_neg": lambda m, a, b: a.sum(-3),
    "dim_dup": lambda m, a, b: a.sum((1, -1)),
    "dim_range_transpose": lambda m, a, b: a.transpose(0, 2),
    "dim_range_unsqueeze": lambda m, a, b: a.unsqueeze(3),
    "dim_range_select": lambda m, a, b: a.select(2, 0),
    "dim_range_squeeze": lambda m, a, b: a.squeeze(2),
    "dim_range_argmax": lambda m, a, b: a.argmax(5),
    "dim_range_max": lambda m, a, b: a.max(2),
    "dim_range_flatten": lambda m, a, b: a.flatten(3),
    "dim_range_cat": lambda m, a, b: m.cat([a, a], 2),
    "select_range": lambda m, a, b: a.select(1, 3),
    "max_empty": lambda m, a, b: m.max(a[:0]),
    "amax_empty_dim": lambda m, a, b: m.amax(a[:0], 0),
    "sub_bool_scalar": lambda m, a, b: m.sub(a, True),
    "abs_bool": lambda m, a, b: m.abs(a > 0),
    "pow_int_negative_scalar": lambda m, a, b: a.long() ** -1,
    "add_str": lambda m, a, b: m.add(a, "x"),
    "add_str_lhs": lambda m, a, b: m.add("x", a),
    "method_str": lambda m, a, b: a.add("x"),
    "zeros_float": lambda m, a, b: m.zeros(2.5),
    "zeros_str": lambda m, a, b: m.zeros((2, "a")),
    "numpy_bf16": lambda m, a, b: a.bfloat16().numpy(),
    "tensor_ragged": lambda m, a, b: m.tensor([[1, 2], [3]]),
    "tensor_overflow": lambda m, a, b: m.tensor([2 ** 63]),
    "tensor_str": lambda m, a, b: m.tensor(["a"]),
    "op_list": lambda m, a, b: a + [1, 2],
    "op_none": lambda m, a, b: a * None,
    "floordiv_str": lambda m, a, b: a // "s",
    "div_mode": lambda m, a, b: m.div(a, a, rounding_mode="bad"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_error_matches_torch(name):
    f = CASES[name]
    a, ta = both((2, 3))
    b, tb = both((3, 2))
    assert_raises_like(lambda: f(td, a, b), lambda: f(torch, ta, tb))


def test_error_types():
    x = td.zeros(2, 3)
    with pytest.raises(IndexError):
        x[2]
    with pytest.raises(IndexError):
        x.sum(5)
    with pytest.raises(RuntimeError):
        x + td.zeros(4)
    with pytest.raises(TypeError):
        td.add(x, object())
    with pytest.raises(TypeError):
        x.to(object())
    # no GPU: torch's CPU-build AssertionError, or its no-driver RuntimeError when the
    # daemon has a CUDA plugin but no device (either way with the daemon's reason)
    no_gpu = type(cuda_unavailable())
    with pytest.raises(no_gpu):
        x.to("cuda")
    with pytest.raises(no_gpu):
        td.zeros(2, device="cuda")


def test_session_still_usable_after_errors():
    x = td.ones(3)
    for _ in range(20):
        with pytest.raises(RuntimeError):
            x + td.ones(4)
        with pytest.raises(IndexError):
            x[7]
    assert (x * 2).tolist() == [2.0, 2.0, 2.0]
    td.synchronize()


@pytest.mark.parametrize("name", ["maximum", "minimum", "logical_and", "logical_or", "logical_xor"])
@pytest.mark.parametrize("form", ["function", "method", "method_", "out", "none"])
def test_tensor_only_binary_ops_refuse_numbers(name, form):
    # (differential tester) torch's bindings of these have no Number overload
    if form == "method_" and name in ("maximum", "minimum"):
        return
    call = {"function": lambda L, t: getattr(L, name)(t, 2),
            "method": lambda L, t: getattr(t, name)(0.5),
            "method_": lambda L, t: getattr(t, name + "_")(True),
            "out": lambda L, t: getattr(L, name)(t, 2, out=L.empty(2)),
            "none": lambda L, t: getattr(t, name)(None)}[form]
    assert_raises_like(lambda: call(td, td.ones(2)), lambda: call(torch, torch.ones(2)))
    assert_same(getattr(td, name)(td.ones(2), td.zeros(2)), getattr(torch, name)(torch.ones(2), torch.zeros(2)))


@pytest.mark.parametrize("call", [
    lambda L: L.ones(3, dtype=L.int64).mean(dtype=L.int64),
    lambda L: L.ones(3, dtype=L.int64).mean(0),
    lambda L: L.ones(3, 2).split([1, 1], -2),
    lambda L: L.split(L.ones(3), [1, 1], -1),
    lambda L: L.relu(L.tensor([True])),
    lambda L: L.floor(L.tensor([True])),
    lambda L: L.round(L.tensor([True])),
    lambda L: L.abs(L.tensor([True])),
    lambda L: L.tensor([True]) ** L.tensor([False]),
    lambda L: L.pow(L.tensor([True]), True),
    lambda L: L.from_numpy(np.float32(1)),
    lambda L: L.from_numpy([1]),
], ids=["mean-dtype", "mean-int", "split-neg-dim", "split-fn", "relu-bool", "floor-bool", "round-bool", "abs-bool",
        "pow-bool", "pow-bool-scalar", "from_numpy-npscalar", "from_numpy-list"])
def test_messages_found_by_the_differential_tester(call):
    assert_raises_like(lambda: call(td), lambda: call(torch))


@pytest.mark.parametrize("call", [
    lambda L: L.tensor([True, False]) - True, lambda L: L.tensor([1, 2]) - True, lambda L: True - L.tensor([True]),
    lambda L: L.tensor([True]) - L.tensor([True, False, True]), lambda L: L.tensor([2]).sub_(False),
    lambda L: L.rsub(L.tensor([True]), True), lambda L: L.sub(True, L.tensor([1])),
    lambda L: L.cat([L.ones(2), L.ones(()), L.ones(())]), lambda L: L.cat([L.ones(0), L.ones(())]),
], ids=["bool-minus-True", "int-minus-True", "True-minus-bool", "bools-before-broadcast", "sub_-False", "rsub-bools",
        "sub-True-first", "cat-0d-position", "cat-0d-after-legacy-empty"])
def test_bool_subtraction_and_cat_of_0d(call):
    # (differential tester) a Python bool counts as a bool tensor; torch checks before broadcasting
    assert_raises_like(lambda: call(td), lambda: call(torch))


@pytest.mark.parametrize("call", [
    lambda L: L.bitwise_or(L.ones(2), L.ones(2), out=L.empty(2, dtype=L.int8)),
    lambda L: L.bitwise_and(L.ones(2, dtype=L.int64), 0.5, out=L.empty(2, dtype=L.int32)),
    lambda L: L.ones(2, dtype=L.int64).bitwise_and_(L.tensor(1.0, dtype=L.float16)),
    lambda L: L.ones((), dtype=L.int64).bitwise_and_(L.ones(4, dtype=L.float64)),
], ids=["out-float", "out-scalar", "inplace-cast", "inplace-shape"])
def test_bitwise_checks_output_before_the_kernel_dtype(call):
    # (differential tester) torch checks out=/self's shape and cast before its kernel's dtypes
    assert_raises_like(lambda: call(td), lambda: call(torch))


@pytest.mark.parametrize("call", [
    lambda L: L.tensor([True]) % L.tensor([True]), lambda L: L.tensor([True]).remainder_(True),
    lambda L: L.ones(2, dtype=L.int64).pow_(0.5), lambda L: L.ones(2, dtype=L.bool).pow_(2),
    lambda L: L.ones(2, dtype=L.int64).pow_(L.tensor(0.5)),
], ids=["remainder-bool", "remainder_-bool", "pow_-float-number", "pow_-bool", "pow_-float-tensor"])
def test_remainder_and_pow_dtype_messages(call):
    # (differential tester)
    assert_raises_like(lambda: call(td), lambda: call(torch))


def test_bitwise_out_checks_broadcast_before_dtype():
    def call(L):
        return L.bitwise_xor(L.ones(3, 2, dtype=L.int64), L.ones(3, dtype=L.int64), out=L.empty(0, dtype=L.bool))
    assert_raises_like(lambda: call(td), lambda: call(torch))


@pytest.mark.parametrize("name", ["neg", "abs", "trunc", "floor", "round", "sign", "bitwise_not", "frac", "square",
                                  "nan_to_num", "isnan", "isinf", "exp", "logical_not"])
@pytest.mark.parametrize("dts", [("float32", "int32"), ("int32", "float32"), ("float32", "float64"),
                                 ("int32", "int64"), ("bool", "float32")], ids=repr)
def test_unary_out_dtype_rules(name, dts):
    # (differential tester) most unary kernels take only an out of the input's dtype; the
    # float ones cast; isnan/isinf have no out=
    def run(L):
        return getattr(L, name)(L.ones(2, dtype=getattr(L, dts[0])), out=L.empty(2, dtype=getattr(L, dts[1])))
    assert_same_outcome(run, (RuntimeError, TypeError))


@pytest.mark.parametrize("name", ["logaddexp", "hypot", "logaddexp2"])
def test_float_only_binary_out_cast_checked_first(name):
    # (differential tester) torch checks out='s dtype before its kernel's
    def call(L):
        return getattr(L, name)(L.zeros(2, dtype=L.uint8), L.zeros(2, dtype=L.uint8), out=L.empty(2, dtype=L.bool))
    assert_raises_like(lambda: call(td), lambda: call(torch))
