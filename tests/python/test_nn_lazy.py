"""Lazy modules (LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*, LazyInstanceNorm*)
and what they rest on — Uninitialized{Parameter,Buffer} and the Tensor.data setter —
against torch 1.13: the same seed gives the same weights after the first forward, the
module becomes its cls_to_become, state_dicts load into lazy modules, errors match."""
import copy
import pickle
import warnings

import numpy as np
import pytest
import torch as T

import tensord as td

warnings.filterwarnings("ignore", message="Lazy modules are a new feature")


def test_tensor_data_setter():
    p = td.nn.Parameter(td.randn(3))
    p.data = td.ones(2, 2, dtype=td.float64)
    assert p.shape == (2, 2) and p.dtype == td.float64 and p.requires_grad and p.is_leaf
    (p * 2).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((2, 2), 2.0))
    # shares the new tensor's storage, as torch's
    src = td.zeros(3)
    x = td.randn(3, requires_grad=True)
    x.data = src
    src.add_(5)
    np.testing.assert_array_equal(x.detach().numpy(), np.full(3, 5.0))
    # a module's weight replaced through .data is what forward uses
    lin = td.nn.Linear(2, 3)
    lin.weight.data = td.zeros(3, 2)
    np.testing.assert_allclose(lin(td.ones(1, 2)).detach().numpy(), lin.bias.detach().numpy()[None])
    # an existing gradient of the old shape meets the new one: torch's error
    for mod in (td, T):
        y = mod.randn(3, requires_grad=True)
        (y * y).sum().backward()
        y.data = mod.ones(4)
        with pytest.raises(RuntimeError, match="must match the size"):
            (y * 3).sum().backward()
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got int"):
        x.data = 3


def _pair(factory, x):
    """our and torch's lazy module from the same seed, after one forward of x."""
    out = []
    for mod in (td, T):
        mod.manual_seed(0)
        m = factory(mod.nn).double()
        y = m(mod.tensor(x))
        out.append((m, y))
    return out


LAZY = [
    ("LazyLinear", lambda nn: nn.LazyLinear(4), (3, 5), "Linear"),
    ("LazyLinear_nobias", lambda nn: nn.LazyLinear(2, bias=False), (2, 3, 6), "Linear"),
    ("LazyConv1d", lambda nn: nn.LazyConv1d(3, 2), (2, 4, 7), "Conv1d"),
    ("LazyConv2d", lambda nn: nn.LazyConv2d(4, 3, padding=1, groups=2), (2, 6, 5, 5), "Conv2d"),
    ("LazyConv2d_unbatched", lambda nn: nn.LazyConv2d(2, 2), (3, 4, 4), "Conv2d"),
    ("LazyConv3d", lambda nn: nn.LazyConv3d(2, 2), (1, 3, 3, 3, 3), "Conv3d"),
    ("LazyConvTranspose1d", lambda nn: nn.LazyConvTranspose1d(3, 2, stride=2), (2, 4, 5), "ConvTranspose1d"),
    ("LazyConvTranspose2d", lambda nn: nn.LazyConvTranspose2d(2, 3), (2, 3, 4, 4), "ConvTranspose2d"),
    ("LazyConvTranspose3d", lambda nn: nn.LazyConvTranspose3d(2, 2), (1, 2, 2, 3, 2), "ConvTranspose3d"),
    ("LazyBatchNorm1d", lambda nn: nn.LazyBatchNorm1d(), (6, 4), "BatchNorm1d"),
    ("LazyBatchNorm2d", lambda nn: nn.LazyBatchNorm2d(momentum=0.3), (3, 2, 4, 4), "BatchNorm2d"),
    ("LazyBatchNorm3d", lambda nn: nn.LazyBatchNorm3d(affine=False), (2, 3, 2, 2, 2), "BatchNorm3d"),
    ("LazyInstanceNorm1d", lambda nn: nn.LazyInstanceNorm1d(affine=True), (2, 3, 6), "InstanceNorm1d"),
    ("LazyInstanceNorm2d", lambda nn: nn.LazyInstanceNorm2d(track_running_stats=True), (2, 3, 4, 4),
     "InstanceNorm2d"),
    ("LazyInstanceNorm3d", lambda nn: nn.LazyInstanceNorm3d(), (2, 2, 3, 3, 3), "InstanceNorm3d"),
]


@pytest.mark.parametrize("name,factory,shape,becomes", LAZY, ids=[c[0] for c in LAZY])
def test_lazy_module_matches_torch(name, factory, shape, becomes):
    x = np.random.default_rng(1).standard_normal(shape)
    m0, m1 = factory(td.nn), factory(T.nn)
    assert repr(m0) == repr(m1)
    assert m0.has_uninitialized_params() == m1.has_uninitialized_params()
    (ours, y), (theirs, ry) = _pair(factory, x)
    assert type(ours) is getattr(td.nn, becomes) and type(theirs) is getattr(T.nn, becomes)
    assert repr(ours) == repr(theirs)
    rs = theirs.state_dict()
    assert list(ours.state_dict()) == list(rs)
    for k, v in ours.state_dict().items():
        assert v.shape == rs[k].shape and str(v.dtype) == str(rs[k].dtype), k
    for p in ours.parameters():
        assert type(p) is td.nn.Parameter and p.requires_grad
    # the default initialization's bounds (tensord's generator is not torch's: docs/guide.md)
    w = ours.state_dict().get("weight")
    if w is not None and w.ndim > 1:
        fan_in = w.shape[1] * int(np.prod(w.shape[2:]))
        assert np.abs(w.numpy()).max() <= 1 / np.sqrt(fan_in)
    # the same weights and input: the same output (the running stats too, for the norms)
    before = {k: v.numpy().copy() for k, v in rs.items()}
    fresh = factory(td.nn).double()
    fresh.load_state_dict({k: td.tensor(v) for k, v in before.items()})
    theirs2 = factory(T.nn).double()
    theirs2.load_state_dict({k: T.tensor(v) for k, v in before.items()})
    np.testing.assert_allclose(fresh(td.tensor(x)).detach().numpy(), theirs2(T.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    for k, v in theirs2.state_dict().items():
        np.testing.assert_allclose(fresh.state_dict()[k].numpy(), v.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("lazy,eager,x", [
    (lambda nn: nn.LazyLinear(4), lambda nn: nn.Linear(5, 4), (3, 5)),
    (lambda nn: nn.LazyConv2d(3, 2, groups=1), lambda nn: nn.Conv2d(2, 3, 2), (1, 2, 4, 4)),
    (lambda nn: nn.LazyBatchNorm1d(), lambda nn: nn.BatchNorm1d(3), (4, 3)),
])
def test_lazy_initialization_is_the_eager_one(lazy, eager, x):
    first = td.randn(*x)
    td.manual_seed(5)
    a = lazy(td.nn)
    a(first)
    td.manual_seed(5)
    b = eager(td.nn)
    ours = dict(a.named_parameters())
    for k, v in b.named_parameters():   # (the buffers moved with the forward)
        np.testing.assert_array_equal(ours[k].detach().numpy(), v.detach().numpy(), err_msg=k)


def test_lazy_state_dict_round_trip_and_placeholders():
    lazy = td.nn.LazyLinear(3)
    assert isinstance(lazy.weight, td.nn.UninitializedParameter)
    assert repr(lazy.weight) == "<UninitializedParameter>"
    # an uninitialized module's state_dict keeps the placeholders; loading it into another lazy
    # module keeps that one lazy
    sd = lazy.state_dict()
    assert isinstance(sd["weight"], td.nn.UninitializedParameter)
    other = td.nn.LazyLinear(3)
    other.load_state_dict(sd)
    assert other.has_uninitialized_params()
    # a trained module's state_dict materializes a lazy one with its shapes and values
    src = td.nn.Linear(5, 3)
    other.load_state_dict(src.state_dict())
    assert not other.has_uninitialized_params()
    assert other.weight.shape == (3, 5)
    x = td.randn(2, 5)
    np.testing.assert_allclose(other(x).detach().numpy(), src(x).detach().numpy())
    assert type(other) is td.nn.Linear
    # pickling and deepcopy of a lazy module keep it lazy
    for clone in (copy.deepcopy(td.nn.LazyLinear(2)), pickle.loads(pickle.dumps(td.nn.LazyLinear(2)))):
        assert clone.has_uninitialized_params()
        assert clone(td.randn(4, 7)).shape == (4, 2)
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        td.nn.LazyConv2d(4, 3, groups=2)(td.randn(1, 3, 5, 5))
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d"):
        td.nn.LazyConv2d(4, 3)(td.randn(5, 5))
    with pytest.warns(UserWarning, match="Lazy modules are a new feature"):
        td.nn.LazyLinear(1)


def test_lazy_module_trains_with_an_optimizer_made_after_the_first_forward():
    td.manual_seed(0)
    model = td.nn.Sequential(td.nn.LazyLinear(8), td.nn.ReLU(), td.nn.LazyLinear(1))
    x = td.randn(64, 4)
    y = x.sum(1, keepdim=True)
    model(x)
    opt = td.optim.SGD(model.parameters(), lr=0.05)
    first = None
    for _ in range(100):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first / 10
