"""nn.Module backward hooks against PyTorch 1.13: register_full_backward_hook (grad_input
and grad_output over the module's positional tensor inputs and outputs, zeros or None
where torch gives them, a returned tuple replacing grad_input, torch's errors for a wrong
count, for a non-None return when no input requires grad, for in-place changes of the
hooked tensors, and for mixing hook kinds), the deprecated register_backward_hook (a hook
on the output's grad_fn, with torch's warnings), the global hooks, removal, and the
grad_fn.register_hook they are built on."""
import warnings

import numpy as np
import pytest
import torch as T

import tensord as td

BOTH = [td, T]


def _arr(g):
    return None if g is None else g.detach().numpy().copy()


def _same(a, b):
    """Two logs of hook calls (nested lists/tuples of arrays, None and strings) agree."""
    assert type(a) == type(b) or (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))), (a, b)
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    else:
        assert a == b


def _recorder(log):
    def hook(module, grad_input, grad_output):
        log.append((type(module).__name__, [_arr(g) for g in grad_input], [_arr(g) for g in grad_output]))
    return hook


def _two_class(mod):
    class Two(mod.nn.Module):
        """Three outputs, one of them not a tensor; a keyword argument that is no input."""

        def forward(self, x, y, k=3):
            return x * 2, y * 3, k
    return Two


def _both(fn):
    """fn(mod) for tensord and torch; their results compared."""
    a, b = fn(td), fn(T)
    _same(a, b)
    return a


X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


@pytest.mark.parametrize("case", ["x_only", "y_unused", "both_used"])
def test_full_hook_grads_match_torch(case):
    def run(mod):
        log = []
        m = _two_class(mod)()
        m.register_full_backward_hook(_recorder(log))
        x = mod.tensor(X, requires_grad=True)
        y = mod.tensor(X[::-1].copy(), requires_grad=case != "x_only")
        a, b, k = m(x, y)
        loss = (a * a).sum() + ((b * b).sum() if case == "both_used" else 0)
        loss.backward()
        return log, a.grad_fn.name(), b.requires_grad, k
    log, name, b_req, k = _both(run)
    assert name == "BackwardHookFunctionBackward" and k == 3
    assert len(log) == 1


def test_full_hook_no_input_requires_grad_gives_none():
    def run(mod):
        mod.manual_seed(0)
        log = []
        lin = mod.nn.Linear(3, 2).double()
        with mod.no_grad():
            lin.weight.copy_(mod.tensor(X))
            lin.bias.fill_(0.5)
        lin.register_full_backward_hook(_recorder(log))
        lin(mod.tensor(X)).pow(2).sum().backward()
        return log, _arr(lin.weight.grad)
    log, _ = _both(run)
    assert log[0][1] == [None]


def test_full_hook_replaces_grad_input_and_chains():
    def run(mod):
        m = _two_class(mod)()
        m.register_full_backward_hook(lambda mm, gi, go: tuple(None if g is None else g * 10 for g in gi))
        m.register_full_backward_hook(lambda mm, gi, go: (gi[0] + 1, gi[1]))
        seen = []
        m.register_full_backward_hook(lambda mm, gi, go: seen.append(_arr(gi[0])))
        x = mod.tensor(X, requires_grad=True)
        a, _, _ = m(x, mod.tensor(X))
        (a * x).sum().backward()  # x's gradient: the hooked path plus a direct one
        return _arr(x.grad), seen
    _both(run)


def test_full_hook_in_sequential_sees_each_layer():
    def run(mod):
        mod.manual_seed(0)
        log = []
        net = mod.nn.Sequential(mod.nn.Linear(3, 4), mod.nn.Tanh(), mod.nn.Linear(4, 1)).double()
        for i, p in enumerate(net.parameters()):
            with mod.no_grad():
                p.copy_(mod.tensor(np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape)) * (i + 1)))
        for layer in net:
            layer.register_full_backward_hook(_recorder(log))
        net.register_full_backward_hook(_recorder(log))
        x = mod.tensor(X, requires_grad=True)
        net(x).sum().backward()
        return log, _arr(x.grad)
    log, _ = _both(run)
    assert len(log) == 4


def test_full_hook_errors_match_torch():
    def wrong_count(mod):
        m = _two_class(mod)()
        m.register_full_backward_hook(lambda mm, gi, go: (None, None, None))
        a, _, _ = m(mod.tensor(X, requires_grad=True), mod.tensor(X))
        with pytest.raises(RuntimeError) as e:
            a.sum().backward()
        return str(e.value)

    def no_input_grad(mod):
        lin = mod.nn.Linear(3, 2)
        lin.register_full_backward_hook(lambda mm, gi, go: (mod.ones(1),))
        with pytest.raises(RuntimeError) as e:
            lin(mod.ones(1, 3)).sum().backward()
        return str(e.value)

    def inplace_output(mod):
        lin = mod.nn.Linear(3, 2)
        lin.register_full_backward_hook(lambda *a: None)
        out = lin(mod.ones(1, 3, requires_grad=True))
        with pytest.raises(RuntimeError) as e:
            out.add_(1)
        return str(e.value)

    def inplace_view_of_output(mod):
        lin = mod.nn.Linear(3, 2)
        lin.register_full_backward_hook(lambda *a: None)
        out = lin(mod.ones(2, 3, requires_grad=True))
        msgs = []
        for view in (lambda o: o[0], lambda o: o.view(-1)):
            with pytest.raises(RuntimeError) as e:
                view(out).add_(1)
            msgs.append(str(e.value))
        return msgs

    def inplace_input(mod):
        relu = mod.nn.ReLU(inplace=True)
        relu.register_full_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError) as e:
            relu(mod.ones(3, requires_grad=True) * 2)
        return str(e.value)

    def mixing(mod):
        m = mod.nn.Tanh()
        m.register_full_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError) as e:
            m.register_backward_hook(lambda *a: None)
        m2 = mod.nn.Tanh()
        m2.register_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError) as e2:
            m2.register_full_backward_hook(lambda *a: None)
        return str(e.value), str(e2.value)

    for fn in (wrong_count, no_input_grad, inplace_output, inplace_view_of_output, inplace_input, mixing):
        msg = _both(fn)
        assert msg


def test_full_hook_without_tensor_inputs_and_with_kwargs():
    def run(mod):
        log = []

        class NoIn(mod.nn.Module):
            def __init__(self):
                super().__init__()
                self.p = mod.nn.Parameter(mod.tensor([1.0, 2.0], dtype=mod.float64))

            def forward(self, x=None):
                return self.p * 2 if x is None else self.p * x

        n = NoIn()
        n.register_full_backward_hook(_recorder(log))
        n().sum().backward()
        n(x=mod.tensor([3.0, 4.0], dtype=mod.float64, requires_grad=True)).sum().backward()
        return log
    log = _both(run)
    assert log[0][1] == [] and log[1][1] == []


def test_hook_removal_and_no_grad():
    def run(mod):
        log = []
        m = mod.nn.Tanh()
        h = m.register_full_backward_hook(_recorder(log))
        x = mod.tensor(X, requires_grad=True)
        m(x).sum().backward()
        h.remove()
        m(x).sum().backward()
        h2 = m.register_full_backward_hook(_recorder(log))
        with mod.no_grad():
            out = m(x)
        with h2:
            m(x).sum().backward()
        m(x).sum().backward()
        return log, out.requires_grad, len(m._backward_hooks), m._is_full_backward_hook
    log, req, n, full = _both(run)
    assert len(log) == 2 and not req and n == 0 and full is True


def test_full_hook_dict_output_is_not_hooked():
    def run(mod):
        log = []

        class D(mod.nn.Module):
            def forward(self, x):
                return {"a": x * 2}
        d = D()
        d.register_full_backward_hook(_recorder(log))
        x = mod.tensor(X, requires_grad=True)
        d(x)["a"].sum().backward()
        return log, _arr(x.grad)
    log, _ = _both(run)
    assert log == []


def test_full_hook_gradients_pass_gradcheck():
    """A hooked module stays differentiable: the identity nodes pass gradients (and their
    own gradients) unchanged, checked against finite differences."""
    lin = td.nn.Linear(3, 2).double()
    calls = []
    lin.register_full_backward_hook(lambda m, gi, go: calls.append(1))
    x = td.tensor(X, requires_grad=True)
    assert td.autograd.gradcheck(lambda t: lin(t).tanh(), (x,))
    assert calls


def test_deprecated_hook_on_output_grad_fn():
    def run(mod):
        log = []
        relu = mod.nn.Tanh()
        relu.register_backward_hook(_recorder(log))
        x = mod.tensor(X, requires_grad=True)
        y = x * 1.5
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = relu(y)
        out.sum().backward()
        lin = mod.nn.Linear(3, 2, bias=False).double()
        lin.register_backward_hook(lambda m, gi, go: tuple(None if g is None else g * 0 for g in gi))
        x.grad = None
        lin(x).sum().backward()
        return log, [str(i.message) for i in w], _arr(x.grad), _arr(lin.weight.grad)
    _, warned, xg, _ = _both(run)
    assert warned == [] and not xg.any()


def test_deprecated_hook_warnings_match_torch():
    def run(mod):
        out = []
        net = mod.nn.Sequential(mod.nn.Linear(3, 2), mod.nn.ReLU())
        net.register_backward_hook(lambda *a: None)

        class Dict(mod.nn.Module):
            def forward(self, x):
                return {"a": x.exp()}
        d = Dict()
        d.register_backward_hook(lambda *a: None)
        for m, arg in ((net, mod.ones(2, 3, requires_grad=True)), (d, mod.ones(2, requires_grad=True))):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                m(arg)
            out.append([str(i.message) for i in w])
        return out
    _both(run)


def test_global_hooks_match_torch():
    def run(mod):
        M = mod.nn.modules.module
        log = []
        was = M._global_is_full_backward_hook
        try:
            M._global_is_full_backward_hook = None
            h = M.register_module_full_backward_hook(_recorder(log))
            x = mod.tensor(X, requires_grad=True)
            mod.nn.Tanh()(x).sum().backward()
            with pytest.raises(RuntimeError) as e:
                M.register_module_backward_hook(lambda *a: None)
            h.remove()
            mod.nn.Tanh()(x).sum().backward()
            state = M._global_is_full_backward_hook
        finally:
            M._global_is_full_backward_hook = was
        return log, str(e.value), state
    log, _, state = _both(run)
    assert len(log) == 1 and state is True


def test_grad_fn_register_hook_matches_torch():
    def run(mod):
        log = []
        x = mod.tensor(X, requires_grad=True)
        w = mod.tensor(X * 0.5)
        y = x * w  # (the node's inputs as torch's: two tensors, the second needing no grad)

        def post(grad_inputs, grad_outputs):
            log.append(([_arr(g) for g in grad_inputs], [_arr(g) for g in grad_outputs]))
            return (grad_inputs[0] * 3, None)
        h = y.grad_fn.register_hook(post)
        y.sum().backward(retain_graph=True)
        g1 = _arr(x.grad)
        h.remove()
        y.sum().backward()

        def wrong(grad_inputs, grad_outputs):
            return (grad_inputs[0],)
        z = x * w
        z.grad_fn.register_hook(wrong)
        with pytest.raises(RuntimeError) as e:
            z.sum().backward()
        return log, g1, _arr(x.grad), str(e.value)
    _both(run)


def test_function_returning_input_as_is():
    """An input returned from a custom Function comes back as a new tensor (the input
    keeps its history) that may not be modified in place."""
    def run(mod):
        class Id(mod.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a

            @staticmethod
            def backward(ctx, g):
                return g * 2
        x = mod.tensor(X, requires_grad=True)
        y = Id.apply(x)
        y.sum().backward()
        with pytest.raises(RuntimeError) as e:
            Id.apply(x).mul_(2)
        return y is x, x.is_leaf, y.grad_fn.name(), _arr(x.grad), str(e.value)
    _both(run)


def test_full_hook_shared_module_and_non_tensor_inputs():
    """A module called twice hooks each call; a positional non-tensor input gets None."""
    def run(mod):
        log = []

        class Scale(mod.nn.Module):
            def forward(self, x, factor):
                return x * factor
        m = Scale()
        m.register_full_backward_hook(_recorder(log))
        x = mod.tensor(X, requires_grad=True)
        y = m(m(x, 2.0).tanh(), 3.0)
        y.sum().backward()
        return log, _arr(x.grad)
    log, _ = _both(run)
    assert len(log) == 2 and all(entry[1][1] is None for entry in log)


def test_grad_fn_register_prehook_matches_torch():
    def run(mod):
        log = []
        x = mod.tensor(X, requires_grad=True)
        w = mod.tensor(X * 0.5)
        y = x * w

        def pre(grad_outputs):
            log.append([_arr(g) for g in grad_outputs])
            return (grad_outputs[0] * 10,)
        h = y.grad_fn.register_prehook(pre)
        y.sum().backward(retain_graph=True)
        g1 = _arr(x.grad)
        h.remove()
        y.sum().backward()
        errors = []
        for bad in (lambda go: (go[0], go[0]), lambda go: [go[0]]):
            z = x * w
            z.grad_fn.register_prehook(bad)
            with pytest.raises((RuntimeError, TypeError)) as e:
                z.sum().backward()
            errors.append((type(e.value).__name__, str(e.value)))
        return log, g1, _arr(x.grad), errors
    _both(run)
