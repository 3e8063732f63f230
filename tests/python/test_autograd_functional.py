"""tensord.autograd.functional (vjp, jvp, vhp, hvp, jacobian, hessian) against torch 1.13's
module on the same float64 inputs: values, return structure (tuple or bare tensor), whether
results carry a graph, a further backward through create_graph=True results, and the errors
(strict mode, v validation, unsupported strategy/vectorize combinations), type and message."""
import numpy as np
import pytest
import torch as T

import tensord as td

RNG = np.random.default_rng(7)
X = RNG.uniform(-1, 1, (2, 3))
Y = RNG.uniform(-1, 1, (3,))
Z = RNG.uniform(-1, 1, (3,))
V2x3 = RNG.uniform(-1, 1, (2, 3))
V3 = RNG.uniform(-1, 1, (3,))
W3 = RNG.uniform(-1, 1, (3,))


def _t(m, a, requires_grad=False):
    return m.tensor(a, dtype=m.float64, requires_grad=requires_grad)


def _same(ours, ref, graph=None):
    """Same nesting (tuple, list or tensor), shapes and values; graph (create_graph's value): results
    carry a graph where torch's do (a structurally zero block has none), and none without create_graph."""
    if isinstance(ref, (tuple, list)):
        assert type(ours) is type(ref) and len(ours) == len(ref), (ours, ref)
        for o, r in zip(ours, ref):
            _same(o, r, graph)
        return
    assert isinstance(ours, td.Tensor), type(ours)
    assert tuple(ours.shape) == tuple(ref.shape)
    assert str(ours.dtype) == str(ref.dtype)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    if graph is not None:
        assert ours.requires_grad == ref.requires_grad
        assert graph or not ours.requires_grad


# functions written with tensor methods only, so the same code runs on both libraries;
# (function, input arrays, v for the outputs, v for the inputs)
FUNCS = {
    "one_in_one_out": (lambda x: x.exp().sum(dim=1), (X,), (V2x3[:, 0],), (V2x3,)),
    "two_in_two_out": (lambda x, y: (x * y.sin(), (x ** 2).sum() + y.prod()), (X, Y), (V2x3, V3[:1].reshape(())),
                       (V2x3, V3)),
    "two_in_one_out": (lambda y, z: 2 * y.exp() + 3 * z * y, (Y, Z), (V3,), (V3, W3)),
    "one_in_two_out": (lambda y: (y.tanh(), y.cumsum(0) * y), (Y,), (V3, W3), (V3,)),
}
SCALAR_FUNCS = {
    "one_in": (lambda x: (x ** 3).sum() + (x[0] * x[1]).tanh().sum(), (X,), (V2x3,)),
    "two_in": (lambda y, z: (y.sin() * z).sum() + (y ** 2).sum() * z.sum(), (Y, Z), (V3, W3)),
}


def _args(m, arrays, as_tuple):
    ts = tuple(_t(m, a) for a in arrays)
    return ts if as_tuple or len(ts) > 1 else ts[0]


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", list(FUNCS))
def test_vjp_and_jvp(name, create_graph):
    f, ins, v_out, v_in = FUNCS[name]
    n_out = 2 if "two_out" in name else 1
    for fn, v in (("vjp", v_out), ("jvp", v_in)):
        def run(m):
            vs = tuple(_t(m, a) for a in v)
            vs = vs if len(vs) > 1 else vs[0]
            return getattr(m.autograd.functional, fn)(f, _args(m, ins, False), vs, create_graph=create_graph)
        ours, ref = run(td), run(T)
        _same(ours, ref, graph=create_graph)
        assert isinstance(ours[0], tuple) == (n_out > 1)


@pytest.mark.parametrize("as_tuple", [False, True])
def test_tuple_of_one_input_keeps_tuples(as_tuple):
    f, ins, v_out, v_in = FUNCS["one_in_one_out"]
    for fn, v in (("vjp", v_out), ("jvp", v_in)):
        def run(m):
            vs = tuple(_t(m, a) for a in v)
            return getattr(m.autograd.functional, fn)(f, _args(m, ins, as_tuple), vs if as_tuple else vs[0])
        _same(run(td), run(T), graph=False)
    _same(td.autograd.functional.jacobian(f, _args(td, ins, as_tuple)),
          T.autograd.functional.jacobian(f, _args(T, ins, as_tuple)))


@pytest.mark.parametrize("mode", [(False, "reverse-mode", False), (False, "reverse-mode", True),
                                  (True, "reverse-mode", False), (True, "forward-mode", False)])
@pytest.mark.parametrize("name", list(FUNCS))
def test_jacobian(name, mode):
    vectorize, strategy, create_graph = mode
    f, ins, _, _ = FUNCS[name]

    def run(m):
        return m.autograd.functional.jacobian(f, _args(m, ins, False), create_graph=create_graph,
                                              vectorize=vectorize, strategy=strategy)
    _same(run(td), run(T), graph=create_graph)


def test_jacobian_forward_mode_gives_the_output_dtype():
    def run(m, strategy):
        return m.autograd.functional.jacobian(lambda y: (y ** 2).float(), _t(m, Y), vectorize=True, strategy=strategy)
    for strategy in ("reverse-mode", "forward-mode"):
        _same(run(td, strategy), run(T, strategy))


def test_jacobian_of_output_independent_of_an_input_is_zero():
    def run(m):
        return m.autograd.functional.jacobian(lambda y, z: (y * 2, m.ones(2, dtype=m.float64)), (_t(m, Y), _t(m, Z)))
    _same(run(td), run(T), graph=False)


@pytest.mark.parametrize("mode", [(False, "reverse-mode", False), (False, "reverse-mode", True),
                                  (True, "reverse-mode", False), (True, "forward-mode", False)])
@pytest.mark.parametrize("name", list(SCALAR_FUNCS))
def test_hessian(name, mode):
    vectorize, strategy, create_graph = mode
    f, ins, _ = SCALAR_FUNCS[name]

    def run(m):
        return m.autograd.functional.hessian(f, _args(m, ins, False), create_graph=create_graph,
                                             vectorize=vectorize, outer_jacobian_strategy=strategy)
    ours, ref = run(td), run(T)
    # torch's forward-over-reverse leaks a graph into its result: compare values there
    _same(ours, ref, graph=None if strategy == "forward-mode" else create_graph)


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", list(SCALAR_FUNCS))
def test_vhp_and_hvp(name, create_graph):
    f, ins, v = SCALAR_FUNCS[name]
    for fn in ("vhp", "hvp"):
        def run(m):
            vs = tuple(_t(m, a) for a in v)
            return getattr(m.autograd.functional, fn)(f, _args(m, ins, False), vs if len(vs) > 1 else vs[0],
                                                      create_graph=create_graph)
        _same(run(td), run(T), graph=create_graph)


def test_v_may_be_none_for_single_elements():
    def run(m):
        F = m.autograd.functional
        one = _t(m, [0.7])
        return (F.vjp(lambda y: (y ** 2).sum(), _t(m, Y)), F.jvp(lambda a: a.exp() * 2, one),
                F.vhp(lambda a: (a ** 3).sum(), one), F.hvp(lambda a: (a.sin() * a).sum(), one))
    _same(run(td), run(T), graph=False)


FURTHER = {
    "vjp": lambda F, f, x, v: F.vjp(f, x, v, create_graph=True)[1],
    "jvp": lambda F, f, x, v: F.jvp(f, x, v, create_graph=True)[1],
    "vhp": lambda F, f, x, v: F.vhp(lambda a: (f(a) ** 2).sum(), x, v, create_graph=True)[1],
    "hvp": lambda F, f, x, v: F.hvp(lambda a: (f(a) ** 2).sum(), x, v, create_graph=True)[1],
    "jacobian": lambda F, f, x, v: F.jacobian(f, x, create_graph=True) * v,
    "hessian": lambda F, f, x, v: F.hessian(lambda a: (f(a) ** 2).sum(), x, create_graph=True).sum(0) * v,
}


@pytest.mark.parametrize("fn", list(FURTHER))
def test_create_graph_results_are_differentiable_through_a_prior_graph(fn):
    """The input already requires grad through an earlier op: with create_graph=True the result's
    graph reaches the leaf behind it (a further backward gives the leaf's gradient)."""
    def run(m):
        leaf = _t(m, Y, requires_grad=True)
        x = leaf * 1.5 + 0.25
        r = FURTHER[fn](m.autograd.functional, lambda a: a.sin() * a.exp(), x, _t(m, V3))
        (r * _t(m, W3)).sum().backward()
        return r, leaf.grad
    ours, ref = run(td), run(T)
    _same(ours, ref, graph=None)
    assert ours[0].requires_grad


@pytest.mark.parametrize("fn", ["vjp", "jvp", "vhp", "hvp"])
def test_create_graph_keeps_the_graph_of_v(fn):
    def run(m):
        v = _t(m, V3, requires_grad=True)
        r = getattr(m.autograd.functional, fn)(lambda a: (a.sin() * a).sum() if fn in ("vhp", "hvp") else a.exp() * a,
                                               _t(m, Y), v * 2, create_graph=True)[1]
        (r * _t(m, W3)).sum().backward()
        return r, v.grad
    _same(run(td), run(T), graph=True)


def test_inputs_are_new_tensors_distinct_from_captured_ones():
    """func sees new tensor objects: a captured x is a constant, so d(a * x)/da is diag(x)."""
    def run(m, create_graph):
        x = _t(m, Y, requires_grad=create_graph)
        return (m.autograd.functional.jacobian(lambda a: a * x, x, create_graph=create_graph),
                m.autograd.functional.vjp(lambda a: a * x, x, x * 0 + 1, create_graph=create_graph)[1])
    for cg in (False, True):
        _same(run(td, cg), run(T, cg), graph=cg)


def test_grad_mode_of_the_caller():
    """Under no_grad the products are computed all the same, without a graph unless create_graph."""
    def run(m, create_graph):
        with m.no_grad():
            return m.autograd.functional.vjp(lambda a: a.exp(), _t(m, Y), _t(m, V3), create_graph=create_graph)
    for cg in (False, True):
        _same(run(td, cg), run(T, cg), graph=cg)


def _errors(m):
    """Each entry: name, a call that raises under torch 1.13."""
    F = m.autograd.functional
    x, v = _t(m, Y), _t(m, V3)
    w = _t(m, Z, requires_grad=True)  # captured by func: outputs with a graph not from the inputs
    lin = lambda a: a * 2  # noqa: E731
    through_w = lambda a, b: (a ** 2).sum() + (b * w).sum()  # noqa: E731
    return [
        ("list inputs", lambda: F.jacobian(lin, [x])),
        ("int input", lambda: F.vhp(lambda a: a.sum(), (x, 3), v)),
        ("list outputs", lambda: F.jacobian(lambda a: [a], x)),
        ("int output", lambda: F.vjp(lambda a: 3, x, v)),
        ("forward-mode int output", lambda: F.jacobian(lambda a: 3, x, strategy="forward-mode", vectorize=True)),
        ("list v", lambda: F.jvp(lin, x, [v])),
        ("int in v", lambda: F.jvp(lambda a, b: a, (x, x), (v, 3))),
        ("v size", lambda: F.jvp(lin, x, m.ones(2, dtype=m.float64))),
        ("v size in tuple", lambda: F.vjp(lambda a, b: (a, b), (x, x), (v, m.ones(2, dtype=m.float64)))),
        ("v length", lambda: F.jvp(lambda a, b: a, (x, x), (v,))),
        ("v single", lambda: F.hvp(lambda a: a.sum(), x, (v, v))),
        ("vjp v None", lambda: F.vjp(lin, x)),
        ("jvp v None", lambda: F.jvp(lin, x)),
        ("vhp v None", lambda: F.vhp(lambda a: a.sum(), x)),
        ("hvp v None", lambda: F.hvp(lambda a: a.sum(), (x[:1], x[:1]))),
        ("vhp tuple output", lambda: F.vhp(lambda a: (a.sum(),), x, v)),
        ("hvp non-scalar", lambda: F.hvp(lin, x, v)),
        ("hessian tuple output", lambda: F.hessian(lambda a: (a.sum(),), x)),
        ("hessian non-scalar", lambda: F.hessian(lin, x)),
        ("hessian list output", lambda: F.hessian(lambda a: [a.sum()], x)),
        ("strict constant output", lambda: F.vjp(lambda a: m.ones(3, dtype=m.float64), x, v, strict=True)),
        ("strict jvp constant output", lambda: F.jvp(lambda a: (lin(a), a.detach()), x, v, strict=True)),
        ("strict vjp unused input", lambda: F.vjp(lambda a, b: lin(a), (x, x), v, strict=True)),
        ("strict jvp unused input", lambda: F.jvp(lambda a, b: lin(a), (x, x), (v, v), strict=True)),
        ("strict vjp linear create_graph", lambda: F.vjp(lin, x, v, strict=True, create_graph=True)),
        ("strict jvp linear create_graph", lambda: F.jvp(lin, x, v, strict=True, create_graph=True)),
        ("strict jvp output from a captured tensor", lambda: F.jvp(lambda a: (lin(a), w * 3), x, v, strict=True)),
        ("strict vhp jacobian from a captured tensor", lambda: F.vhp(through_w, (x, x), (v, v), strict=True)),
        ("strict hvp jacobian from a captured tensor", lambda: F.hvp(through_w, (x, x), (v, v), strict=True)),
        ("strict jacobian unused input", lambda: F.jacobian(lambda a, b: lin(a), (x, x), strict=True)),
        ("strict jacobian linear create_graph",
         lambda: F.jacobian(lambda a, b: (b ** 2, lin(a)), (x, x), strict=True, create_graph=True)),
        ("strict vhp linear gradient create_graph", lambda: F.vhp(lambda a: (a * a).sum(), x, v, strict=True,
                                                                  create_graph=True)),
        ("strict hvp linear gradient create_graph", lambda: F.hvp(lambda a: (a * a).sum(), x, v, strict=True,
                                                                  create_graph=True)),
        ("strict hessian linear gradient create_graph",
         lambda: F.hessian(lambda a: (a * a).sum(), x, strict=True, create_graph=True)),
        ("strict hessian linear", lambda: F.hessian(lambda a: lin(a).sum(), x, strict=True)),
        ("strict hessian constant", lambda: F.hessian(lambda a: m.ones((), dtype=m.float64), x, strict=True)),
        ("strict vhp linear", lambda: F.vhp(lambda a: lin(a).sum(), x, v, strict=True)),
        ("strict hvp linear", lambda: F.hvp(lambda a: lin(a).sum(), x, v, strict=True)),
        ("strict vectorize", lambda: F.jacobian(lin, x, strict=True, vectorize=True)),
        ("strict vectorize constant", lambda: F.jacobian(lambda a: a.detach(), x, strict=True, vectorize=True)),
        ("hessian strict vectorize", lambda: F.hessian(lambda a: (a ** 3).sum(), x, strict=True, vectorize=True)),
        ("bad strategy", lambda: F.jacobian(lin, x, strategy="sideways")),
        ("hessian bad strategy", lambda: F.hessian(lambda a: a.sum(), x, outer_jacobian_strategy="sideways")),
        ("forward-mode create_graph", lambda: F.jacobian(lin, x, strategy="forward-mode", create_graph=True)),
        ("forward-mode strict", lambda: F.jacobian(lin, x, strategy="forward-mode", strict=True, vectorize=True)),
        ("forward-mode bad input", lambda: F.jacobian(lin, 3, strategy="forward-mode")),
        ("forward-mode without vectorize", lambda: F.jacobian(lin, x, strategy="forward-mode")),
        ("hessian forward-mode without vectorize",
         lambda: F.hessian(lambda a: (a ** 3).sum(), x, outer_jacobian_strategy="forward-mode")),
        ("hessian forward-mode create_graph",
         lambda: F.hessian(lambda a: (a ** 3).sum(), x, outer_jacobian_strategy="forward-mode", vectorize=True,
                           create_graph=True)),
        ("hessian forward-mode strict",
         lambda: F.hessian(lambda a: (a ** 3).sum(), x, outer_jacobian_strategy="forward-mode", vectorize=True,
                           strict=True)),
    ]


@pytest.mark.parametrize("i", range(len(_errors(T))), ids=[n for n, _ in _errors(T)])
def test_errors_as_torch(i):
    name, ref_call = _errors(T)[i]
    with pytest.raises(Exception) as ref:
        ref_call()
    with pytest.raises(type(ref.value)) as ours:
        _errors(td)[i][1]()
    assert str(ours.value) == str(ref.value), name


def test_strict_mode_passes_where_torch_computes():
    """strict=True on functions that pass torch's checks gives the same results."""
    def run(m):
        F = m.autograd.functional
        x, v = _t(m, Y), _t(m, V3)
        f = lambda a, b: (a.sin() * b).sum()  # noqa: E731
        return (F.jacobian(lambda a: a.exp(), x, strict=True, create_graph=True),
                F.hessian(lambda a: (a ** 3).sum(), x, strict=True),
                F.vhp(f, (x, x * 2), (v, v), strict=True), F.hvp(f, (x, x * 2), (v, v), strict=True),
                F.jvp(lambda a: a.exp(), x, v, strict=True, create_graph=True))
    _same(run(td), run(T))
