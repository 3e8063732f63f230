"""In-place ops on views inside an autograd graph (autograd/tape.c's view tracking and
CopySlices), compared with PyTorch 1.13 running the same program: the leaves' gradients,
the values, the grad_fn names (and their next_functions) of the bases and views, and the
errors; gradcheck/gradgradcheck in float64 for composite cases."""
import numpy as np
import pytest
import torch as T

import tensord as td


def _name(fn):
    # torch's name() keeps the C++ namespace of CopySlices/AccumulateGrad; compare the rest
    return None if fn is None else fn.name().rsplit("::", 1)[-1]


def _graph(t, nexts=True):
    """t's grad_fn name and its next_functions' names (the Nones left out: torch lists
    one for a scalar operand or index_put's values, tensord's nodes only have tensor
    inputs that can carry gradients)."""
    fn = t.grad_fn
    if fn is None:
        return None
    return _name(fn), tuple(_name(f) for f, _ in fn.next_functions if f is not None) if nexts else ()


def _leaves(m, shapes, seed):
    rng = np.random.default_rng(seed)
    return [m.tensor(rng.standard_normal(s), dtype=m.float64, requires_grad=True) for s in shapes]


def _np(t):
    return np.array(t.detach().tolist())


def _run(m, fn, shapes, seed):
    xs = _leaves(m, shapes, seed)
    loss, named = fn(m, *xs)
    # "name~": the node's name alone (its inputs differ by construction, see the case)
    graphs = {k: _graph(v, not k.endswith("~")) for k, v in named.items()}
    flags = {k: (v.requires_grad, v.is_leaf) for k, v in named.items()}
    values = {k: _np(v) for k, v in named.items()}
    loss.backward()
    grads = [None if x.grad is None else _np(x.grad) for x in xs]
    return graphs, flags, values, grads


def _same(fn, *shapes, seed=0):
    got = _run(td, fn, shapes, seed)
    want = _run(T, fn, shapes, seed)
    assert got[0] == want[0], "grad_fn graphs differ"
    assert got[1] == want[1], "(requires_grad, is_leaf) differ"
    for k in want[2]:
        np.testing.assert_allclose(got[2][k], want[2][k], rtol=1e-12, atol=1e-12, err_msg=k)
    for i, (g, w) in enumerate(zip(got[3], want[3])):
        assert (g is None) == (w is None), "leaf %d: grad %s, torch's %s" % (i, g, w)
        if w is not None:
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg="grad of leaf %d" % i)


# ---- programs: fn(m, *leaves) -> (loss, {name: tensor whose graph is compared})

def slice_mul_by_view(m, x):
    y = x * 2
    v = y[1:3]
    v.mul_(x[0:2])
    return y.sum(), {"y": y, "v": v}


def select_assign(m, x):
    y = x.clone()
    y[0] = 5 * x[3]
    return y.pow(2).sum(), {"y": y}


def base_without_grad(m, w):
    y = m.zeros(4, dtype=m.float64)
    v, other = y[1:3], y[0:2]
    v.mul_(w)
    v.add_(w)
    return (y * m.arange(4, dtype=m.float64)).sum() + other.sum(), {"y": y, "v": v, "other": other}


def view_of_view(m, x, w):
    y = x * 1
    r = y[1]
    v = r[0:2]
    v.add_(w)
    return (y * y).sum(), {"y": y, "r": r, "v": v}


def transpose_diagonal(m, x):
    y = x * 1
    d = y.t().diagonal()
    d.mul_(2)
    return (y * x).sum(), {"y": y, "d": d}


def diagonal_zero(m, x):
    y = x + 1
    d = y.diagonal()
    d.zero_()
    return (y * y).sum(), {"y": y, "d": d}


def select_fill(m, x):
    y = x * 1
    s = y.select(1, 0)
    s.fill_(2)
    return (y * y).sum(), {"y": y, "s": s}


def masked_assign_base(m, x):
    y = x * 1
    y[y > 0] = 0
    return (y * y).sum(), {"y": y}


def masked_assign_view(m, x):
    y = x * 1
    y[1][y[1] > 0] = 0
    return (y * y).sum(), {"y": y}


def masked_assign_tensor(m, x, w):
    y = x * 1
    y[1][y[1] > 0] = w[0]
    # tensord expands the value before index_put (ExpandBackward0 where torch has SelectBackward0)
    return (y * y).sum(), {"y~": y}


def index_assign_view(m, x, w):
    y = x * 1
    y[1, [0, 2]] = w[1:]
    return (y * y).sum(), {"y": y}


def augmented_assign(m, x):
    y = x * 1
    y[:, 1] += x[0]
    return (y * y).sum(), {"y": y}


def chain_of_inplace(m, x, w):
    y = x * 1
    v = y[0:2]
    v.mul_(w)
    v.add_(1)
    v.mul_(3)
    v.sigmoid_()
    return (y * y).sum() + v.sum(), {"y": y, "v": v}


def base_used_after(m, x):
    y = x * 2
    v = y[1:3]
    v.mul_(3)
    z = y * x
    return z.sum() + v.sum(), {"y": y, "v": v, "z": z}


def inplace_on_base_with_views(m, x):
    y = x * 2
    v = y[1:3]
    y.mul_(x)
    return (v * v).sum() + y.sum(), {"y": y, "v": v}


def view_of_temporary(m, x):
    y = (x * 1).t()
    y[0].mul_(2)
    return (y * y).sum(), {"y": y}


def two_views_interleaved(m, x, w):
    y = x * 1
    a, b = y[0], y[:, 1]
    a.mul_(w)
    b.add_(a.sum())
    return (y * y).sum() + a.sum() + b.sum(), {"y": y, "a": a, "b": b}


def copy_into_view(m, x, w):
    y = x.clone()
    y[1:, :2].copy_(w.transpose(0, 1))
    return (y.exp()).sum(), {"y": y}


CASES = [slice_mul_by_view, select_assign, base_without_grad, view_of_view, transpose_diagonal, diagonal_zero,
         select_fill, masked_assign_base, masked_assign_view, masked_assign_tensor, index_assign_view,
         augmented_assign, chain_of_inplace, base_used_after, inplace_on_base_with_views, view_of_temporary,
         two_views_interleaved, copy_into_view]
SHAPES = {
    slice_mul_by_view: [(4,)], select_assign: [(4,)], base_without_grad: [(2,)], view_of_view: [(3, 3), (2,)],
    transpose_diagonal: [(3, 3)], diagonal_zero: [(3, 3)], select_fill: [(3, 3)], masked_assign_base: [(3, 3)],
    masked_assign_view: [(3, 3)], masked_assign_tensor: [(3, 3), (3,)], index_assign_view: [(3, 3), (3,)],
    augmented_assign: [(3, 3)], chain_of_inplace: [(3, 2), (2,)], base_used_after: [(4,)],
    inplace_on_base_with_views: [(4,)], view_of_temporary: [(3, 2)], two_views_interleaved: [(3, 3), (3,)],
    copy_into_view: [(3, 3), (2, 2)],
}


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_same_as_torch(fn):
    _same(fn, *SHAPES[fn])


UNARY = ["relu_", "sigmoid_", "tanh_", "exp_", "neg_", "sin_", "abs_", "square_", "clamp_"]


@pytest.mark.parametrize("op", UNARY)
def test_unary_inplace_on_view(op):
    def fn(m, x):
        y = x * 1
        v = y[:, 1:]
        getattr(v, op)(*((-0.5, 0.5) if op == "clamp_" else ()))
        return (y * x).sum(), {"y": y, "v": v}
    _same(fn, (3, 3), seed=3)


BINARY = [("add_", True), ("sub_", True), ("mul_", True), ("div_", True), ("pow_", False), ("add_", False),
          ("mul_", False), ("div_", False)]


@pytest.mark.parametrize("op,tensor_operand", BINARY, ids=lambda p: str(p))
def test_binary_inplace_on_view(op, tensor_operand):
    def fn(m, x, w):
        y = x * x + 1 if op == "pow_" else x * 1  # (pow_ of a positive base)
        v = y.t()[1]
        getattr(v, op)(w.exp() if tensor_operand else 1.5)
        return (y * y).sum(), {"y": y, "v": v}
    _same(fn, (3, 3), (3,), seed=5)


# ---- errors and grad mode

def test_view_of_leaf_raises():
    for m in (td, T):
        x = m.ones(4, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                               "in-place operation."):
            x[0:2].mul_(2)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            x[1] = 3.0
        with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad"):
            x.mul_(2)


def test_no_grad_inplace_on_views_allowed():
    for m in (td, T):
        x = m.tensor([1., 2., 3., 4.], requires_grad=True)
        with m.no_grad():
            x[0:2].mul_(2)
            x[3] = 7
        assert x.grad_fn is None and x.is_leaf and x.requires_grad
        assert x.detach().tolist() == [2., 4., 3., 7.]
        (x * x).sum().backward()
        assert x.grad.tolist() == [4., 8., 6., 14.]


def test_untracked_inplace_records_nothing():
    # grad mode off: the view's in-place op leaves the base's graph as it was
    for m in (td, T):
        x = m.tensor([1., 2., 3.], requires_grad=True)
        y = x * 2
        with m.no_grad():
            y[0:2].add_(1)
        assert _name(y.grad_fn) == "MulBackward0"
        y.sum().backward()
        assert x.grad.tolist() == [2., 2., 2.]


@pytest.mark.parametrize("where", ["through_view", "base_saved_view_modified", "view_saved_base_modified"])
def test_saved_tensor_modified_through_view_raises(where):
    for m in (td, T):
        x = m.tensor([1., 2., 3., 4.], requires_grad=True)
        y = x * 2
        if where == "through_view":
            z = y.pow(2)
            y[0:2].mul_(2)
        elif where == "base_saved_view_modified":
            z = y.pow(2)
            y[3] = 0
        else:
            v = y[1:3]
            z = v.pow(2)
            y.mul_(2)
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation has been "
                                               "modified by an inplace operation"):
            z.sum().backward()


def test_second_backward_through_copyslices_needs_retain_graph():
    for m in (td, T):
        x = m.tensor([1., 2., 3.], requires_grad=True)
        y = x * 1
        y[0:2].mul_(x[1:])
        y.sum().backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.sum().backward()


def test_repr_and_names():
    x = td.tensor([1., 2.], requires_grad=True)
    y = x * 1
    y[0] = 3.0
    assert "grad_fn=<CopySlices>" in repr(y)
    assert y.grad_fn.name() == "torch::autograd::CopySlices"
    assert repr(y.grad_fn).startswith("<CopySlices object at ")
    assert _name(y[0].grad_fn) == "SelectBackward0"


@pytest.mark.parametrize("use_view", [False, True])
def test_hooks_and_retain_grad_follow_the_history(use_view):
    # hooks and retain_grad on a base whose history an in-place op on a view rebased, and
    # on the view whose grad_fn was regenerated (used afterwards, or not)
    def prog(m):
        x = m.tensor([1., 2., 3., 4.], requires_grad=True)
        y = x * 1
        v = y[1:3]
        v.mul_(x[:2])
        seen = []
        y.register_hook(lambda g: seen.append(_np(g)))
        y.retain_grad()
        v.retain_grad()
        v.register_hook(lambda g: seen.append(_np(g)))
        ((y * y).sum() + (v.sum() if use_view else 0)).backward()
        return _np(x.grad), seen, _np(y.grad), None if v.grad is None else _np(v.grad)
    got, want = prog(td), prog(T)
    np.testing.assert_allclose(got[0], want[0])
    assert len(got[1]) == len(want[1])
    for g, w in zip(got[1], want[1]):
        np.testing.assert_allclose(g, w)
    np.testing.assert_allclose(got[2], want[2])
    assert (got[3] is None) == (want[3] is None)
    if want[3] is not None:
        np.testing.assert_allclose(got[3], want[3])


def test_hook_on_non_leaf():
    def prog(m):
        x = m.tensor([1., 2.], requires_grad=True)
        y = x * 2
        seen = []
        y.register_hook(lambda g: seen.append(_np(g)))
        y.register_hook(lambda g: g * 3)
        (y * y).sum().backward()
        return seen, _np(x.grad)
    got, want = prog(td), prog(T)
    assert len(got[0]) == len(want[0]) == 1
    np.testing.assert_allclose(got[0][0], want[0][0])
    np.testing.assert_allclose(got[1], want[1])


# ---- higher order and gradcheck

def _higher(m, fn, shapes, seed):
    xs = _leaves(m, shapes, seed)
    loss, _ = fn(m, *xs)
    gs = m.autograd.grad(loss, xs, create_graph=True)
    s = builtins_sum(g.pow(2).sum() for g in gs)
    return [_np(g) for g in gs], [_np(h) for h in m.autograd.grad(s, xs, allow_unused=True)]


def builtins_sum(it):
    total = None
    for t in it:
        total = t if total is None else total + t
    return total


@pytest.mark.parametrize("fn", [slice_mul_by_view, select_assign, view_of_view, transpose_diagonal,
                                chain_of_inplace, augmented_assign, two_views_interleaved, copy_into_view],
                         ids=lambda f: f.__name__)
def test_double_backward_same_as_torch(fn):
    got, want = _higher(td, fn, SHAPES[fn], 7), _higher(T, fn, SHAPES[fn], 7)
    for g, w in zip(got[0] + got[1], want[0] + want[1]):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def _composite_a(x, w):
    y = x * x
    y[1:3].mul_(w)
    y[0] = x[3] * w[0]
    return y


def _composite_b(x, w):
    y = x * 1.5
    y.t()[1].add_(w)
    d = y.diagonal()
    d.mul_(w.sin())
    return y * 1


def _composite_c(x, w):
    y = x * x
    y[y > 0] = 0.5
    y[:, 0][1:].copy_(w[:2] * 3)
    y[2].sigmoid_()
    return y.sum(0)


@pytest.mark.parametrize("f,shapes", [(_composite_a, [(4,), (2,)]), (_composite_b, [(3, 3), (3,)]),
                                      (_composite_c, [(3, 3), (3,)])], ids=["a", "b", "c"])
def test_gradcheck(f, shapes):
    xs = _leaves(td, shapes, 11)
    assert td.autograd.gradcheck(f, xs)
    assert td.autograd.gradgradcheck(f, xs)


# ---- views made with grad mode off, detached aliases

NO_GRAD_MSG = "A view was created in no_grad mode and is being modified inplace with grad mode enabled"


def test_view_made_in_no_grad_raises_when_written_with_grad():
    for m in (td, T):
        x = m.tensor([1., 2., 3., 4.], requires_grad=True)
        y = x * 2
        with m.no_grad():
            v = y[0:2]
            w = v[0:1]
        assert v.requires_grad and v.grad_fn is None
        for t in (v, w):
            with pytest.raises(RuntimeError, match=NO_GRAD_MSG):
                t.mul_(x[0:t.shape[0]])
        with pytest.raises(RuntimeError, match=NO_GRAD_MSG):
            v.mul_(2)
        with m.no_grad():
            v.mul_(2)  # both in no_grad: allowed, not recorded
        assert _name(y.grad_fn) == "MulBackward0"


@pytest.mark.parametrize("how", ["detach", "data"])
def test_detached_alias_is_its_own_base(how):
    # detach()/.data share the storage but not the history: in-place ops on them and on
    # their views are recorded on the alias, the original's graph is left alone
    def prog(m):
        x = m.tensor([1., 2., 3., 4.], requires_grad=True)
        y = x * 2
        d = y.detach() if how == "detach" else y.data
        d[1:3].mul_(x[:2])
        d.add_(x)
        names = _graph(d), _graph(y)
        (d * d).sum().backward()
        return names, _np(x.grad), _np(y)
    got, want = prog(td), prog(T)
    assert got[0] == want[0]
    np.testing.assert_allclose(got[1], want[1])
    np.testing.assert_allclose(got[2], want[2])


@pytest.mark.parametrize("prog", ["self", "other_view", "detached_self"])
def test_operand_on_the_written_storage_raises(prog):
    # the operand was saved for backward and shares the written storage (torch's shared
    # version counter); additions save nothing and go through
    for m in (td, T):
        x = m.tensor([1., 2., 3., 4.], requires_grad=True)
        y = x * 1
        if prog == "self":
            y.mul_(y)
        elif prog == "other_view":
            y[0:2].mul_(y[2:4])
        else:
            y[1:3].mul_(y[1:3].detach())
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        z = x * 1
        z[0:2].add_(z[2:4])
        z.sum().backward()
        assert x.grad.tolist() == [1., 1., 2., 2.]


# ---- more writers through views: advanced indices, index_* and masked ops

def _m_idx(m, *v):
    return m.tensor(list(v), dtype=m.int64)


WRITERS = {
    "adv_columns": lambda m, y, w: y.__setitem__((slice(None), [0, 2]), w[:2] * 2),
    "adv_nonadjacent": lambda m, y, w: y.view(3, 1, 3).__setitem__(([0, 2], slice(None), [1, 0]), w[0]),
    "adv_accumulate": lambda m, y, w: y[1].index_put_((_m_idx(m, 0, 0, 2),), w, accumulate=True),
    "masked_fill": lambda m, y, w: y[1:].masked_fill_(y[1:] > 0, 0.5),
    "index_add": lambda m, y, w: y.t()[1:].index_add_(1, _m_idx(m, 2, 0), w[:2].expand(2, 2) * 1),
    "index_fill": lambda m, y, w: y[:, 1:].index_fill_(0, _m_idx(m, 1), -1.0),
    "clamp": lambda m, y, w: y[0:2].clamp_(min=-0.2, max=0.3),
    "addcmul": lambda m, y, w: y.diagonal().addcmul_(w, w, value=0.5),
    "lerp": lambda m, y, w: y[2].lerp_(w, 0.25),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_writers_through_views(writer):
    def fn(m, x, w):
        y = x * 1
        WRITERS[writer](m, y, w)
        return (y * y * x).sum(), {"y~": y}
    _same(fn, (3, 3), (3,), seed=13)


# ---- many slices of one tensor: their gradients are added into the input's gradient in
# place (autograd/engine.c view_grad_in_place), whatever the order gradients arrive in

def _many_slices(m, x, extra):
    y = x * 1.5                                    # an intermediate whose gradient the slices fill
    loss = 0
    if extra == "whole_first":
        loss = (y * y).sum()                       # a whole-tensor gradient arrives too
    for t in range(y.shape[0]):
        loss = loss + (y[t] * (t + 1)).sum()       # SELECT per step
    loss = loss + (y[2:5] ** 2).sum() + y[:, 1:3].sum() * 2   # overlapping SLICEs, two dims
    if extra == "whole_last":
        loss = loss + y.sum() * 0.25
    if extra == "transposed":
        z = y.transpose(0, 1)
        loss = loss + sum((z[b] * z[b]).sum() for b in range(z.shape[0]))
    return loss


@pytest.mark.parametrize("extra", ["none", "whole_first", "whole_last", "transposed"])
def test_gradients_of_many_slices_same_as_torch(extra):
    a = np.random.default_rng(5).standard_normal((12, 4, 3))
    xt, xd = T.tensor(a, requires_grad=True), td.tensor(a, requires_grad=True)
    _many_slices(T, xt, extra).backward()
    _many_slices(td, xd, extra).backward()
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_slices_gradient_with_hook_retain_grad_and_double_backward():
    a = np.random.default_rng(6).standard_normal((6, 5))
    res = []
    for m in (T, td):
        x = m.tensor(a, requires_grad=True)
        y = x.sin()
        y.retain_grad()
        seen = []
        y.register_hook(lambda g: seen.append(g.clone()))
        loss = sum((y[i] ** 3).sum() for i in range(6)) + (y[1:4] * y[2:5]).sum()
        (g,) = (m.autograd.grad(loss, x, create_graph=True))
        g.sum().backward()
        res.append((x.grad.detach().numpy(), y.grad.detach().numpy(), seen[0].detach().numpy()))
    for got, want in zip(res[1], res[0]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
