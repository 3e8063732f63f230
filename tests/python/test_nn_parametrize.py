"""nn.utils.parametrize and nn.utils.parametrizations (orthogonal, spectral_norm),
stateless.functional_call, fuse_conv_bn_eval/weights and skip_init against torch 1.13:
the same modules, weights (copied through state_dict) and inputs give the same
parametrized tensors, outputs, gradients, state_dict keys, reprs and errors."""
import copy
import pickle

import numpy as np
import pytest
import torch as T

import tensord as td
from tdhelpers import assert_raises_like

rng = np.random.default_rng(5)


def _sym(mod):
    class Symmetric(mod.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()
    return Symmetric()


def _scale(mod):
    class Scale(mod.nn.Module):
        def forward(self, X):
            return X * 2

        def right_inverse(self, A):
            return A / 2
    return Scale()


def _load(ours, theirs):
    ours.load_state_dict({k: td.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def test_register_forward_backward_and_state_dict():
    mods = {}
    for mod in (td, T):
        lin = mod.nn.Linear(3, 3).double()
        mod.nn.utils.parametrize.register_parametrization(lin, "weight", _sym(mod))
        mod.nn.utils.parametrize.register_parametrization(lin, "weight", _scale(mod))
        mods[mod] = lin
    ours, theirs = mods[td], mods[T]
    _load(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert type(ours).__name__ == "ParametrizedLinear"
    assert td.nn.utils.parametrize.type_before_parametrizations(ours) is td.nn.Linear
    assert td.nn.utils.parametrize.is_parametrized(ours) and td.nn.utils.parametrize.is_parametrized(ours, "weight")
    assert not td.nn.utils.parametrize.is_parametrized(ours, "bias")
    assert not td.nn.utils.parametrize.is_parametrized(td.nn.Linear(2, 2))
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
    w = ours.weight.detach().numpy()
    np.testing.assert_allclose(w, w.T)
    x = rng.standard_normal((4, 3))
    res = []
    for mod, m in ((td, ours), (T, theirs)):
        y = m(mod.tensor(x))
        (y * mod.tensor(np.linspace(-1, 1, 12).reshape(4, 3))).sum().backward()
        res.append((y.detach().numpy(), m.parametrizations.weight.original.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)
    # assignment goes through the right inverses (last first)
    a = rng.standard_normal((3, 3))
    a = a + a.T
    for mod, m in ((td, ours), (T, theirs)):
        with mod.no_grad():
            m.weight = mod.tensor(a)
    np.testing.assert_allclose(ours.parametrizations.weight.original.detach().numpy(),
                               theirs.parametrizations.weight.original.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.detach().numpy(), a, rtol=1e-12)
    # other instances of the class are untouched
    assert type(td.nn.Linear(3, 3)) is td.nn.Linear


def test_cached_and_remove():
    lin = td.nn.Linear(3, 3)
    calls = []

    class Counting(td.nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 1

    td.nn.utils.parametrize.register_parametrization(lin, "weight", Counting())
    calls.clear()       # (registering checked the parametrization once)
    with td.nn.utils.parametrize.cached():
        a, b = lin.weight, lin.weight
    assert len(calls) == 1 and a is b
    lin.weight
    assert len(calls) == 2
    before = lin.weight.detach().numpy()
    td.nn.utils.parametrize.remove_parametrizations(lin, "weight")
    assert type(lin) is td.nn.Linear and isinstance(lin.weight, td.nn.Parameter)
    assert not hasattr(lin, "parametrizations")
    np.testing.assert_array_equal(lin.weight.detach().numpy(), before)
    # leave_parametrized=False gives back the original
    lin2 = td.nn.Linear(2, 2)
    td.nn.utils.parametrize.register_parametrization(lin2, "weight", _sym(td))
    orig = lin2.parametrizations.weight.original.detach().numpy().copy()
    td.nn.utils.parametrize.remove_parametrizations(lin2, "weight", leave_parametrized=False)
    np.testing.assert_array_equal(lin2.weight.detach().numpy(), orig)


@pytest.mark.parametrize("call", [
    lambda m: m.nn.utils.parametrize.register_parametrization(m.nn.Linear(2, 2), "nope", _sym(m)),
    lambda m: m.nn.utils.parametrize.remove_parametrizations(m.nn.Linear(2, 2), "weight"),
    lambda m: m.nn.utils.parametrize.register_parametrization(m.nn.Linear(2, 3), "weight", _RowSum(m)),
    lambda m: pickle.dumps(m.nn.utils.parametrize.register_parametrization(m.nn.Linear(2, 2), "weight", _sym(m))),
    lambda m: m.nn.utils.parametrizations.orthogonal(m.nn.Linear(2, 2), orthogonal_map="nope"),
    lambda m: m.nn.utils.parametrizations.orthogonal(m.nn.Linear(2, 2), name="bias"),
])
def test_errors_match_torch(call):
    # (module reprs inside messages name each library's classes alike: the first 50 characters)
    assert_raises_like(lambda: call(td), lambda: call(T), prefix=50)


def _RowSum(mod):
    class RowSum(mod.nn.Module):
        def forward(self, X):
            return X.sum(0)
    return RowSum()


def test_deepcopy_of_a_parametrized_module():
    lin = td.nn.Linear(3, 3)
    td.nn.utils.parametrize.register_parametrization(lin, "weight", _sym(td))
    clone = copy.deepcopy(lin)
    assert type(clone).__name__ == "ParametrizedLinear"
    np.testing.assert_array_equal(clone.weight.detach().numpy(), lin.weight.detach().numpy())
    with td.no_grad():
        clone.parametrizations.weight.original.add_(1)
    assert not np.allclose(clone.weight.detach().numpy(), lin.weight.detach().numpy())


@pytest.mark.parametrize("shape,omap,triv", [
    ((4, 4), None, True), ((5, 3), None, True), ((3, 5), "cayley", True), ((4, 4), "householder", True),
    ((5, 3), "householder", False), ((4, 4), "matrix_exp", True),
])
def test_orthogonal_matches_torch(shape, omap, triv):
    mods = {}
    for mod in (td, T):
        mod.manual_seed(0)
        lin = mod.nn.Linear(shape[1], shape[0], bias=False).double()
        mods[mod] = mod.nn.utils.parametrizations.orthogonal(lin, orthogonal_map=omap, use_trivialization=triv)
    ours, theirs = mods[td], mods[T]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _load(ours, theirs)
    w, rw = ours.weight.detach().numpy(), theirs.weight.detach().numpy()
    np.testing.assert_allclose(w, rw, rtol=1e-9, atol=1e-12)
    q = w if shape[0] >= shape[1] else w.T
    np.testing.assert_allclose(q.T @ q, np.eye(min(shape)), atol=1e-12)
    # assigning an orthogonal matrix: the parametrized weight is that matrix
    if triv or omap == "householder":
        target = np.linalg.qr(rng.standard_normal((max(shape), min(shape))))[0]
        target = target if shape[0] >= shape[1] else target.T
        with td.no_grad():
            ours.weight = td.tensor(target)
        np.testing.assert_allclose(ours.weight.detach().numpy(), target, atol=1e-10)


def test_orthogonal_trains():
    td.manual_seed(1)
    lin = td.nn.utils.parametrizations.orthogonal(td.nn.Linear(4, 4, bias=False).double(), orthogonal_map="cayley")
    opt = td.optim.SGD(lin.parameters(), lr=0.1)
    x = td.randn(16, 4, dtype=td.float64)
    target = x.flip(1)     # a permutation: orthogonal, reachable
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = ((lin(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < first * 0.5
    w = lin.weight.detach().numpy()
    np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-10)


@pytest.mark.parametrize("factory,x", [
    (lambda nn: nn.Linear(5, 4), (3, 5)),
    (lambda nn: nn.Conv2d(2, 3, 3), (1, 2, 5, 5)),
    (lambda nn: nn.ConvTranspose2d(3, 2, 2), (1, 3, 3, 3)),
])
def test_spectral_norm_parametrization_matches_torch(factory, x):
    mods = {}
    for mod in (td, T):
        mods[mod] = mod.nn.utils.parametrizations.spectral_norm(factory(mod.nn).double())
    ours, theirs = mods[td], mods[T]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _load(ours, theirs)
    a = rng.standard_normal(x)
    for _ in range(3):    # training: each forward advances the power iteration alike
        y, ry = ours(td.tensor(a)), theirs(T.tensor(a))
        np.testing.assert_allclose(y.detach().numpy(), ry.detach().numpy(), rtol=1e-9, atol=1e-12)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-9)
    s = np.linalg.svd(ours.parametrizations.weight.original.detach().numpy().reshape(
        ours.weight.shape[0], -1) if not isinstance(ours, td.nn.ConvTranspose2d) else
        np.moveaxis(ours.parametrizations.weight.original.detach().numpy(), 1, 0).reshape(
            ours.weight.shape[1], -1), compute_uv=False)
    w = ours.weight.detach().numpy()
    ws = np.linalg.svd(w.reshape(w.shape[0], -1) if not isinstance(ours, td.nn.ConvTranspose2d)
                       else np.moveaxis(w, 1, 0).reshape(w.shape[1], -1), compute_uv=False)
    np.testing.assert_allclose(ws[0], 1.0, rtol=1e-3)   # after enough power iterations
    assert s[0] > 0


def test_functional_call():
    lin = td.nn.Linear(3, 2)
    w, b = td.randn(2, 3, requires_grad=True), td.randn(2)
    x = td.randn(4, 3)
    y = td.nn.utils.stateless.functional_call(lin, {"weight": w, "bias": b}, (x,))
    np.testing.assert_allclose(y.detach().numpy(), (x.numpy() @ w.detach().numpy().T) + b.numpy(), rtol=1e-6)
    y.sum().backward()
    assert w.grad is not None and lin.weight.grad is None
    assert lin.weight is not w                          # the module's own tensors are back
    seq = td.nn.Sequential(td.nn.Linear(3, 3), td.nn.BatchNorm1d(3))
    mean = td.zeros(3)
    td.nn.utils.stateless.functional_call(seq, {"1.running_mean": mean}, td.randn(5, 3))
    assert mean.abs().sum().item() > 0                  # the given buffer was updated in place
    assert seq[1].running_mean.abs().sum().item() == 0

    class Boom(td.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = td.nn.Parameter(td.ones(1))

        def forward(self, x):
            raise ValueError("boom")
    m = Boom()
    own = m.p
    with pytest.raises(ValueError):
        td.nn.utils.stateless.functional_call(m, {"p": td.zeros(1)}, (td.ones(1),))
    assert m.p is own


@pytest.mark.parametrize("transpose", [False, True])
def test_fuse_conv_bn_matches_torch(transpose):
    res = []
    for mod in (td, T):
        mod.manual_seed(0)
        conv = (mod.nn.ConvTranspose2d(3, 4, 2) if transpose else mod.nn.Conv2d(3, 4, 3)).double().eval()
        bn = mod.nn.BatchNorm2d(4).double().eval()
        res.append((conv, bn))
    (c, b), (rc, rb) = res
    _load(c, rc)
    _load(b, rb)
    stats = {"running_mean": rng.standard_normal(4), "running_var": rng.uniform(0.5, 2, 4),
             "weight": rng.standard_normal(4), "bias": rng.standard_normal(4)}
    for mod, bn in ((td, b), (T, rb)):
        with mod.no_grad():
            for k, v in stats.items():
                getattr(bn, k).copy_(mod.tensor(v))
    x = rng.standard_normal((2, 3, 6, 6))
    fused = td.nn.utils.fuse_conv_bn_eval(c, b, transpose=transpose)
    rfused = T.nn.utils.fuse_conv_bn_eval(rc, rb, transpose=transpose)
    np.testing.assert_allclose(fused(td.tensor(x)).detach().numpy(), rfused(T.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fused(td.tensor(x)).detach().numpy(), b(c(td.tensor(x))).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    assert isinstance(fused.weight, td.nn.Parameter)
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        td.nn.utils.fuse_conv_bn_eval(c.train(), b)


def test_skip_init():
    m = td.nn.utils.skip_init(td.nn.Linear, 4, 3)
    assert type(m) is td.nn.Linear and m.weight.shape == (3, 4)
    assert td.nn.Linear.reset_parameters is not None and "reset_parameters" in td.nn.Linear.__dict__
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg"):
        td.nn.utils.skip_init(td.nn.ReLU)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrized_weight_norm_like_the_hook_form(dim):
    """torch 2.1's parametrizations.weight_norm (absent from 1.13) against torch 1.13's hook
    form: the same weight, output and gradients (original0/original1 as weight_g/weight_v),
    torch 2.x's state_dict keys."""
    rng = np.random.default_rng(2)
    w, b, x = rng.standard_normal((4, 3)), rng.standard_normal(4), rng.standard_normal((5, 3))
    ref = T.nn.Linear(3, 4).double()
    ref.weight.data, ref.bias.data = T.tensor(w), T.tensor(b)
    ref = T.nn.utils.weight_norm(ref, dim=dim)
    m = td.nn.Linear(3, 4).double()
    m.weight.data, m.bias.data = td.tensor(w), td.tensor(b)
    m = td.nn.utils.parametrizations.weight_norm(m, dim=dim)
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    np.testing.assert_allclose(m.weight.detach().numpy(), w, rtol=1e-12)
    (ref(T.tensor(x)) ** 2).sum().backward()
    (m(td.tensor(x)) ** 2).sum().backward()
    orig = m.parametrizations.weight
    np.testing.assert_allclose(orig.original0.grad.numpy(), ref.weight_g.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(orig.original1.grad.numpy(), ref.weight_v.grad.numpy(), rtol=1e-10)
