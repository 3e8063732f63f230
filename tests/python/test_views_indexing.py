"""Views and basic indexing against torch 1.13, including writes through views."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_same, pair, rand_data

RNG = np.random.default_rng(11)


def base(shape=(4, 5, 6), dt="float32"):
    return pair(rand_data(shape, dt, RNG), dt)


INDICES = [0, -1, 3, (1, 2), (1, -2, 3), slice(None), slice(1, 3), slice(None, None, 2), slice(-3, None),
           slice(1, None, 3), slice(10, 20), slice(-100, 2), (slice(None), 1), (Ellipsis, 2), (1, Ellipsis),
           (None, 1), (slice(None), None, slice(1, 4, 2)), (Ellipsis, None), (2, slice(None), slice(0, 6, 4)),
           (None, Ellipsis, None), Ellipsis, (), (True,), (1, False), (slice(3, 1),), (0, 0, 0)]


@pytest.mark.parametrize("idx", INDICES, ids=repr)
def test_getitem(idx):
    x, tx = base()
    assert_same(x[idx], tx[idx])
    # through a non-contiguous view too
    y, ty = x.transpose(0, 2), tx.transpose(0, 2)
    assert_same(y[idx], ty[idx])


@pytest.mark.parametrize("idx", INDICES, ids=repr)
def test_setitem_scalar_and_tensor(idx):
    x, tx = base()
    x[idx] = 7.5
    tx[idx] = 7.5
    assert_same(x, tx)
    v, tv = pair(rand_data(tuple(tx[idx].shape), "float32", RNG), "float32")
    x[idx] = v
    tx[idx] = tv
    assert_same(x, tx)


def test_setitem_broadcast_and_cast():
    x, tx = base((3, 4), "int64")
    r, tr = pair([1.9, 2.2, -3.7, 4.0], "float32")
    x[1] = r
    tx[1] = tr
    x[:, 2] = 5
    tx[:, 2] = 5
    x[0:2] = td.tensor([[9, 8, 7, 6]])
    tx[0:2] = torch.tensor([[9, 8, 7, 6]])
    assert_same(x, tx)
    with pytest.raises(RuntimeError, match="The expanded size of the tensor"):
        x[0] = td.tensor([1, 2, 3])


def test_writes_through_views_reach_base():
    x, tx = base((4, 6))
    for f in [lambda a: a[1], lambda a: a[:, 2], lambda a: a.t()[3], lambda a: a.view(2, 12)[1],
              lambda a: a.view(24)[5:9], lambda a: a[::2, ::3], lambda a: a.narrow(1, 2, 3),
              lambda a: a.select(0, -1), lambda a: a.unsqueeze(0)[0, 2], lambda a: a.permute(1, 0)[2:4],
              lambda a: a[None][0][..., 1], lambda a: a.reshape(6, 4)[0], lambda a: a.flatten()[7:11],
              lambda a: a.squeeze()[0]]:
        v, tv = f(x), f(tx)
        v.add_(1.0)
        tv.add_(1.0)
        v.mul_(2)
        tv.mul_(2)
        v.fill_(-1) if v.numel() < 3 else v.copy_(td.ones(v.shape) * 3)
        tv.fill_(-1) if tv.numel() < 3 else tv.copy_(torch.ones(tv.shape) * 3)
        assert_same(x, tx)
    # chained indexing assignment
    x[2][3] = 100
    tx[2][3] = 100
    x.t()[0][1] = -100
    tx.t()[0][1] = -100
    assert_same(x, tx)


@pytest.mark.parametrize("shape,new", [((2, 3, 4), (6, 4)), ((2, 3, 4), (-1,)), ((2, 3, 4), (4, -1, 2)), ((6,), (1, 6, 1)),
                                       ((), (1,)), ((1,), ()), ((0, 3), (3, 0)), ((0, 3), (-1, 5))], ids=str)
def test_view_reshape(shape, new):
    x, tx = base(shape)
    assert_same(x.view(new), tx.view(new))
    if new:
        assert_same(x.view(*new), tx.view(*new))
    assert_same(x.reshape(new), tx.reshape(new))
    assert_same(td.reshape(x, new), torch.reshape(tx, new))
    assert shares_storage(x, x.view(new))


def test_reshape_copies_only_when_needed():
    x, tx = base((4, 6))
    y = x.t()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        y.view(24)
    r = y.reshape(24)
    assert_same(r, tx.t().reshape(24))
    assert not shares_storage(x, r)
    r2 = x.reshape(3, 8)
    assert shares_storage(x, r2)
    assert_same(y.reshape(2, 2, 6), tx.t().reshape(2, 2, 6))
    with pytest.raises(RuntimeError, match=r"shape '\[5\]' is invalid for input of size 24"):
        x.reshape(5)


def shares_storage(base, view):
    """Behavioural check: writing through `view` changes `base`."""
    if view.numel() == 0:
        return True
    before = base.clone()
    view.add_(1)
    changed = not td.equal(before, base)
    view.sub_(1)
    return changed


def test_view_ops():
    x, tx = base((2, 3, 4))
    cases = [lambda a: a.permute(2, 0, 1), lambda a: a.permute((1, 2, 0)), lambda a: a.permute(-1, 0, 1),
             lambda a: a.transpose(0, 2), lambda a: a.transpose(-1, -2), lambda a: a[0].t(), lambda a: a[0].T,
             lambda a: a.T, lambda a: a[:, :1].expand(5, 2, 3, 4)[1], lambda a: a[:, :1].expand(-1, 3, -1),
             lambda a: a.unsqueeze(0), lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(2),
             lambda a: a[:, :1].squeeze(), lambda a: a[:, :1].squeeze(1), lambda a: a[:, :1].squeeze(0),
             lambda a: a.unsqueeze(1).squeeze(-3), lambda a: a.flatten(), lambda a: a.flatten(1),
             lambda a: a.flatten(0, 1), lambda a: a.flatten(-2, -1), lambda a: a.narrow(2, 1, 2),
             lambda a: a.narrow(-1, 0, 0), lambda a: a.select(1, 2), lambda a: a.select(-1, -1),
             lambda a: a.t() if a.dim() <= 2 else a[0], lambda a: a.contiguous(), lambda a: a.transpose(0, 1).contiguous(),
             lambda a: a.clone(), lambda a: a[0].expand_as(a), lambda a: a.view_as(a.view(4, 6)),
             lambda a: a.swapaxes(0, 1), lambda a: a.mT, lambda a: a.repeat(2, 1, 1), lambda a: a[0, 0].repeat(3, 2)]
    for i, f in enumerate(cases):
        assert_same(f(x), f(tx))
    assert_same(td.permute(x, (2, 1, 0)), torch.permute(tx, (2, 1, 0)))
    assert_same(td.transpose(x, 0, 1), torch.transpose(tx, 0, 1))
    assert_same(td.squeeze(x[:1]), torch.squeeze(tx[:1]))
    assert_same(td.unsqueeze(x, 3), torch.unsqueeze(tx, 3))
    assert_same(td.flatten(x), torch.flatten(tx))
    assert_same(td.narrow(x, 0, 1, 1), torch.narrow(tx, 0, 1, 1))
    assert_same(td.select(x, 0, 1), torch.select(tx, 0, 1))
    assert_same(td.t(x[0]), torch.t(tx[0]))
    s, ts = pair(3.5, "float32")
    assert_same(s.flatten(), ts.flatten())
    assert_same(s.t(), ts.t())
    assert_same(s.unsqueeze(0), ts.unsqueeze(0))


def test_contiguous_and_clone_semantics():
    x = td.arange(12).view(3, 4)
    assert x.contiguous() is x
    y = x.t()
    c = y.contiguous()
    assert c is not y and c.is_contiguous() and c.tolist() == y.tolist()
    k = x.clone()
    k.add_(1)
    assert x.tolist() == td.arange(12).view(3, 4).tolist()


def test_copy_():
    x, tx = base((3, 4))
    s, ts = pair(rand_data((4,), "int32", RNG), "int32")
    x.copy_(s)
    tx.copy_(ts)
    assert_same(x, tx)
    x.t().copy_(td.ones(4, 3) * 2)
    tx.t().copy_(torch.ones(4, 3) * 2)
    assert_same(x, tx)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_stack(dim):
    a, ta = base((2, 3), "float32")
    b, tb = base((2, 3), "float32")
    c, tc = base((2, 3), "int32")
    assert_same(td.cat([a, b], dim), torch.cat([ta, tb], dim))
    assert_same(td.cat((a, b.t().t(), c), dim=dim), torch.cat((ta, tb, tc), dim=dim))
    assert_same(td.stack([a, b, c], dim), torch.stack([ta, tb, tc], dim))
    assert_same(td.stack([a.t(), b.t()], dim=dim), torch.stack([ta.t(), tb.t()], dim=dim))
    assert_same(td.cat([a, td.zeros(0)], dim), torch.cat([ta, torch.zeros(0)], dim))
    s, ts = pair(1.5, "float32")
    assert_same(td.stack([s, s]), torch.stack([ts, ts]))


def test_cat_stack_errors():
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 0"):
        td.cat([td.zeros(2, 3), td.zeros(2, 4)])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        td.stack([td.zeros(2), td.zeros(3)])
    with pytest.raises(RuntimeError, match="stack expects a non-empty TensorList"):
        td.stack([])
    with pytest.raises(RuntimeError, match="zero-dimensional tensor"):
        td.cat([td.tensor(1.0), td.tensor(2.0)])


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16", "int64", "int8", "uint8", "bool"])
def test_conversions(dt):
    x, tx = pair(rand_data((2, 3), dt, RNG), dt)
    for m in ["float", "double", "half", "bfloat16", "long", "int", "short", "char", "byte", "bool"]:
        assert_same(getattr(x, m)(), getattr(tx, m)())
    assert_same(x.to(td.float64), tx.to(torch.float64))
    assert_same(x.to("cpu", td.int32), tx.to("cpu", torch.int32))
    assert_same(x.to(dtype=td.int16), tx.to(dtype=torch.int16))
    assert x.to(x.dtype) is x and x.to("cpu") is x
    assert x.to(x.dtype, copy=True) is not x
    assert_same(x.type(td.float32), tx.type(torch.float32))
    assert x.type() == tx.type()
    assert_same(x.t().float(), tx.t().float())


def test_iter_len_and_item():
    x, tx = base((3, 2))
    assert len(x) == 3
    for a, b in zip(x, tx):
        assert_same(a, b)
    assert x[1, 1].item() == tx[1, 1].item()
    assert isinstance(td.tensor(3).item(), int) and isinstance(td.tensor(True).item(), bool)
    assert td.tensor([2.5], dtype=td.bfloat16).item() == 2.5
    assert x.tolist() == tx.tolist()
    assert x.t().tolist() == tx.t().tolist()
    assert td.tensor(4.0).tolist() == 4.0
    assert np.array_equal(np.asarray(x), tx.numpy())
    assert td.tensor([1, 2], dtype=td.float16).numpy().dtype == np.float16
    with pytest.raises(TypeError, match="Got unsupported ScalarType BFloat16"):
        td.zeros(2, dtype=td.bfloat16).numpy()
    assert int(td.tensor([7])) == 7 and float(td.tensor(2.5)) == 2.5
    assert [10, 20, 30][td.tensor(1)] == 20
    assert bool(td.tensor([1])) and not bool(td.tensor(0.0))
    assert 3.0 in td.tensor([1.0, 3.0]) and 4 not in td.tensor([1, 3])
    assert f"{td.tensor(3.14159):.2f}" == "3.14"
