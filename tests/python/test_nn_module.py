"""nn.Module, nn.Parameter and the containers against PyTorch 1.13: registration through
attributes and its errors, the iterators, state_dict / load_state_dict (keys, metadata,
torch's error report), train/eval, dtype moves, hooks, repr (the same strings for the
same model), dir, pickling and deepcopy, and each container's list/dict behaviour."""
import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch as T

import tensord as td

BOTH = [td, T]


def _net_class(mod):
    nn = mod.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)
            self.block = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Dropout(0.2))
            self.norm = nn.BatchNorm1d(4)
            self.register_buffer("steps", mod.zeros(1))
            self.register_buffer("scratch", mod.ones(2), persistent=False)
            self.scale = nn.Parameter(mod.ones(1))

        def forward(self, x):
            return self.norm(self.block(self.fc(x))) * self.scale

    return Net


Net = _net_class(td)  # module level: picklable
Net.__qualname__ = "Net"
_TorchNet = _net_class(T)


def _model(mod):
    return Net() if mod is td else _TorchNet()


# ---------------------------------------------------------------- Parameter

def test_parameter_shares_storage_and_is_a_leaf():
    data = td.tensor([1.0, 2.0])
    p = td.nn.Parameter(data)
    assert isinstance(p, td.Tensor) and isinstance(p, td.nn.Parameter)
    assert p.requires_grad and p.is_leaf and not data.requires_grad
    data.add_(1)  # the same storage
    np.testing.assert_allclose(p.detach().numpy(), [2.0, 3.0])
    assert not td.nn.Parameter(data, requires_grad=False).requires_grad
    assert td.nn.Parameter().shape == T.nn.Parameter().shape


def test_parameter_repr_matches_pytorch():
    for a in ([1.0, 2.0], [[0.5, -1.0], [2.0, 3.0]]):
        assert repr(td.nn.Parameter(td.tensor(a))) == repr(T.nn.Parameter(T.tensor(a)))
        assert str(td.nn.Parameter(td.tensor(a))) == str(T.nn.Parameter(T.tensor(a)))
    assert repr(td.nn.Parameter(td.tensor([1.0]), requires_grad=False)) == \
        repr(T.nn.Parameter(T.tensor([1.0]), requires_grad=False))


def test_parameter_gradient_flows():
    p = td.nn.Parameter(td.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [2.0, 4.0])


def test_parameter_pickle_and_deepcopy():
    p = td.nn.Parameter(td.tensor([1.0, 2.0]))
    for q in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p)):
        assert type(q) is td.nn.Parameter and q.requires_grad and q.is_leaf
        np.testing.assert_allclose(q.detach().numpy(), [1.0, 2.0])
    t = td.tensor([3.0], requires_grad=True)
    u = pickle.loads(pickle.dumps(t))
    assert u.requires_grad and u.is_leaf
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(t * 2)


# ---------------------------------------------------------------- registration

def test_registration_through_attributes_matches_pytorch():
    for mod in BOTH:
        m = _model(mod)
        assert list(m._parameters) == ["scale"]
        assert list(m._buffers) == ["steps", "scratch"]
        assert list(m._modules) == ["fc", "block", "norm"]
        m.extra = 3
        assert "extra" in m.__dict__
        m.scale = None  # a parameter slot may be emptied
        assert m._parameters["scale"] is None and m.scale is None
        del m.fc
        assert "fc" not in m._modules
        with pytest.raises(AttributeError, match="'Net' object has no attribute 'fc'"):
            m.fc


@pytest.mark.parametrize("case", range(9))
def test_registration_errors_match_pytorch(case):
    msgs = []
    for mod in BOTH:
        nn = mod.nn
        m = nn.Linear(2, 2)
        actions = [
            lambda: m.register_buffer("a.b", mod.ones(1)),
            lambda: m.register_buffer("", mod.ones(1)),
            lambda: m.register_buffer("weight", mod.ones(1)),
            lambda: m.register_buffer("x", [1]),
            lambda: m.register_parameter("y", mod.ones(1)),
            lambda: setattr(m, "weight", mod.ones(2, 2)),
            lambda: m.add_module("z", 3),
            lambda: m.add_module("a.b", nn.ReLU()),
            lambda: setattr(m, "bias", 5),
        ]
        with pytest.raises(Exception) as e:
            actions[case]()
        msgs.append((type(e.value), str(e.value)))
    assert msgs[0] == msgs[1]


def test_register_plain_tensor_as_parameter_type_error():
    for mod in BOTH:
        m = mod.nn.Linear(2, 2)
        with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' object to parameter 'y' "
                                            r"\(torch.nn.Parameter or None required\)"):
            m.register_parameter("y", mod.ones(1))


def test_assignment_before_init_raises():
    for mod in BOTH:
        class Bad(mod.nn.Module):
            def __init__(self):
                self.w = mod.nn.Parameter(mod.ones(1))

        with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__\(\) call"):
            Bad()


def test_forward_missing_raises_like_pytorch():
    for mod in BOTH:
        with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required "forward" function'):
            mod.nn.Module()(1)


# ---------------------------------------------------------------- iterators

def test_named_iterators_match_pytorch():
    ours, theirs = _model(td), _model(T)
    for fn in ("named_parameters", "named_buffers", "named_children", "named_modules"):
        assert [k for k, _ in getattr(ours, fn)()] == [k for k, _ in getattr(theirs, fn)()], fn
    assert [k for k, _ in ours.named_parameters(recurse=False)] == ["scale"]
    assert [k for k, _ in ours.named_parameters(prefix="net")] == [k for k, _ in theirs.named_parameters(prefix="net")]
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 7
    assert len(list(ours.buffers())) == len(list(theirs.buffers())) == 5
    assert [type(c).__name__ for c in ours.children()] == ["Linear", "Sequential", "BatchNorm1d"]
    assert [type(c).__name__ for c in ours.modules()] == [type(c).__name__ for c in theirs.modules()]


def test_shared_parameters_and_modules_are_listed_once():
    for mod in BOTH:
        nn = mod.nn
        lin = nn.Linear(2, 2)
        seq = nn.Sequential(lin, lin)
        assert len(list(seq.parameters())) == 2
        assert [k for k, _ in seq.named_modules()] == ["", "0"]
        assert [k for k, _ in seq.named_modules(remove_duplicate=False)] == ["", "0", "1"]
    seq = td.nn.Sequential(lin := td.nn.Linear(2, 2), lin)
    assert [k for k, _ in seq.named_parameters(remove_duplicate=False)] == ["0.weight", "0.bias", "1.weight",
                                                                            "1.bias"]


def test_get_submodule_parameter_buffer():
    for mod in BOTH:
        m = _model(mod)
        assert m.get_submodule("block.0") is m.block[0]
        assert m.get_parameter("block.0.weight") is m.block[0].weight
        assert m.get_buffer("norm.running_mean") is m.norm.running_mean
        with pytest.raises(AttributeError, match="Sequential has no attribute `9`"):
            m.get_submodule("block.9")


# ---------------------------------------------------------------- state dicts

def test_state_dict_keys_metadata_and_values():
    ours, theirs = _model(td), _model(T)
    sd, tsd = ours.state_dict(), theirs.state_dict()
    assert isinstance(sd, OrderedDict) and list(sd) == list(tsd)
    assert sd._metadata == tsd._metadata
    assert not sd["fc.weight"].requires_grad and sd["fc.weight"].grad_fn is None
    assert ours.state_dict(keep_vars=True)["fc.weight"] is ours.fc.weight
    assert list(ours.state_dict(prefix="m.")) == list(theirs.state_dict(prefix="m."))


def test_load_state_dict_copies_values_in_place():
    ours, theirs = _model(td), _model(T)
    w = ours.fc.weight
    result = ours.load_state_dict({k: td.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert ours.fc.weight is w  # the same Parameter, new values
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []


def _errors(mod, change, strict=True):
    m = _model(mod)
    sd = m.state_dict()
    change(mod, sd)
    try:
        return ("ok", m.load_state_dict(sd, strict=strict))
    except Exception as e:
        return (type(e), str(e))


@pytest.mark.parametrize("change", [
    lambda mod, sd: sd.pop("fc.bias"),
    lambda mod, sd: sd.__setitem__("extra.weight", mod.ones(1)),
    lambda mod, sd: sd.__setitem__("fc.weight", mod.ones(5, 3)),
    lambda mod, sd: (sd.pop("norm.running_var"), sd.__setitem__("scale2", mod.ones(1)),
                     sd.__setitem__("block.0.bias", mod.ones(3))),
    lambda mod, sd: sd.__setitem__("fc.weight", [1.0]),
])
def test_load_state_dict_errors_match_pytorch(change):
    ours, theirs = _errors(td, change), _errors(T, change)
    assert ours[0] is theirs[0]
    assert ours[1] == theirs[1]


def test_load_state_dict_not_strict_returns_keys():
    def change(mod, sd):
        sd.pop("fc.bias")
        sd["junk"] = mod.ones(1)
    ours, theirs = _errors(td, change, strict=False)[1], _errors(T, change, strict=False)[1]
    assert ours.missing_keys == theirs.missing_keys == ["fc.bias"]
    assert ours.unexpected_keys == theirs.unexpected_keys == ["junk"]
    assert repr(ours) == repr(theirs)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class 'list'>."):
        _model(td).load_state_dict([1])


def test_batchnorm_old_checkpoint_without_counter_loads():
    for mod in BOTH:
        m = mod.nn.BatchNorm1d(3)
        sd = m.state_dict()
        del sd["num_batches_tracked"]
        sd._metadata[""]["version"] = 1
        assert m.load_state_dict(sd).missing_keys == []


# ---------------------------------------------------------------- modes, grads, dtypes

def test_train_eval_and_requires_grad():
    m = _model(td)
    assert m.training and m.block[2].training
    m.eval()
    assert not m.training and not m.block[2].training and not m.norm.training
    m.train()
    assert m.norm.training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        m.train("yes")
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_zero_grad_and_backward_through_model():
    m = _model(td)
    m(td.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all((p.grad.numpy() == 0).all() for p in m.parameters())
    m.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in m.parameters())


def test_dtype_moves_keep_parameter_objects():
    m = _model(td)
    w = m.fc.weight
    m(td.randn(4, 3)).sum().backward()
    m.double()
    assert m.fc.weight is w and w.dtype is td.float64 and w.requires_grad and w.grad.dtype is td.float64
    assert m.norm.running_mean.dtype is td.float64 and m.norm.num_batches_tracked.dtype is td.int64
    m.to(td.float32)
    assert w.dtype is td.float32
    m.half().float()
    assert m.steps.dtype is td.float32
    assert m.cpu() is m and m.to("cpu") is m
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex dtypes"):
        m.to(td.int64)
    out = m.double()(td.randn(4, 3, dtype=td.float64))
    assert out.dtype is td.float64


def test_apply_visits_children_first():
    for mod in BOTH:
        seen = []
        _model(mod).apply(lambda m: seen.append(type(m).__name__))
        assert seen[-1] == "Net" and seen[0] == "Linear"
    ours, theirs = [], []
    _model(td).apply(lambda m: ours.append(type(m).__name__))
    _model(T).apply(lambda m: theirs.append(type(m).__name__))
    assert ours == theirs


# ---------------------------------------------------------------- hooks

def test_forward_hooks_and_removable_handles():
    for mod in BOTH:
        lin = mod.nn.Linear(2, 2)
        calls = []
        h1 = lin.register_forward_pre_hook(lambda m, inp: (inp[0] * 0,))
        h2 = lin.register_forward_hook(lambda m, inp, out: calls.append(out.shape) or out + 1)
        out = lin(mod.ones(3, 2))
        np.testing.assert_allclose(out.detach().numpy(), (lin.bias + 1).detach().numpy()[None].repeat(3, 0))
        assert calls == [mod.Size([3, 2])]
        h1.remove()
        h2.remove()
        h2.remove()  # twice is fine
        assert not lin._forward_hooks and not lin._forward_pre_hooks
        with lin.register_forward_hook(lambda m, i, o: o * 0):
            assert (lin(mod.ones(1, 2)).detach().numpy() == 0).all()
        assert not lin._forward_hooks


def test_pre_hook_returning_non_tuple_is_wrapped():
    lin = td.nn.Identity()
    lin.register_forward_pre_hook(lambda m, inp: inp[0] + 1)
    np.testing.assert_allclose(lin(td.zeros(2)).numpy(), [1.0, 1.0])


def test_state_dict_and_load_hooks():
    m = td.nn.Linear(2, 2)
    m._register_state_dict_hook(lambda mod, sd, prefix, meta: sd.__setitem__(prefix + "tag", td.ones(1)))
    assert "tag" in m.state_dict()
    seen = []
    m.register_load_state_dict_post_hook(lambda mod, keys: seen.append(list(keys.unexpected_keys)))
    m.load_state_dict(td.nn.Linear(2, 2).state_dict())
    assert seen == [[]]


# ---------------------------------------------------------------- repr and dir

def _repr_models(mod):
    nn = mod.nn
    return [
        _model(mod),
        nn.Sequential(OrderedDict([("conv", nn.Linear(2, 3, bias=False)), ("act", nn.LeakyReLU(0.2, inplace=True)),
                                   ("drop", nn.Dropout(p=0.1)), ("out", nn.Softmax(dim=1))])),
        nn.ModuleList([nn.ReLU(), nn.GELU(approximate="tanh"), nn.ELU(inplace=True), nn.ReLU6(), nn.Hardtanh()]),
        nn.ModuleDict({"a": nn.LayerNorm((2, 3)), "b": nn.GroupNorm(2, 4), "c": nn.Embedding(5, 2, padding_idx=0)}),
        nn.ParameterList([nn.Parameter(mod.ones(2, 3)), nn.Parameter(mod.ones(4))]),
        nn.ParameterDict({"x": nn.Parameter(mod.ones(2)), "y": nn.Parameter(mod.ones(1, 2, dtype=mod.float64))}),
        nn.Sequential(nn.Flatten(), nn.Unflatten(1, (2, 2)), nn.PReLU(3), nn.Softplus(beta=2), nn.Threshold(0.1, 2),
                      nn.Softshrink(), nn.Hardshrink(0.2), nn.GLU(), nn.Bilinear(2, 3, 4), nn.Identity(),
                      nn.CrossEntropyLoss(), nn.BatchNorm2d(3, momentum=None), nn.RReLU(), nn.SiLU(inplace=True),
                      nn.CELU(), nn.SELU(), nn.Mish(), nn.Hardswish(), nn.LogSoftmax(0), nn.Softmin()),
        nn.Sequential(),
    ]


@pytest.mark.parametrize("i", range(8))
def test_repr_matches_pytorch(i):
    assert repr(_repr_models(td)[i]) == repr(_repr_models(T)[i])


def test_extra_repr_multiline_and_dir():
    for mod in BOTH:
        class Custom(mod.nn.Module):
            def extra_repr(self):
                return "a=1\nb=2"
        c = Custom()
        c.lin = mod.nn.Linear(1, 1)
        assert repr(c) == "Custom(\n  a=1\n  b=2\n  (lin): Linear(in_features=1, out_features=1, bias=True)\n)"
    ours, theirs = dir(_model(td)), dir(_model(T))
    for name in ("fc", "block", "scale", "steps", "forward", "state_dict", "training"):
        assert name in ours and name in theirs


# ---------------------------------------------------------------- pickling

def test_pickle_roundtrip_of_a_whole_model():
    m = _model(td)
    m(td.randn(6, 3))  # move the running stats
    m2 = pickle.loads(pickle.dumps(m))
    assert repr(m2) == repr(m)
    for (k, v), (k2, v2) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(v.numpy(), v2.numpy())
    assert type(m2.fc.weight) is td.nn.Parameter and m2.fc.weight.requires_grad
    assert "scratch" in m2._non_persistent_buffers_set
    m2.eval()
    m.eval()
    x = td.randn(2, 3)
    np.testing.assert_allclose(m2(x).detach().numpy(), m(x).detach().numpy())
    m3 = copy.deepcopy(m)
    assert m3.fc.weight is not m.fc.weight and m3.fc.weight.is_leaf
    np.testing.assert_array_equal(m3.fc.weight.detach().numpy(), m.fc.weight.detach().numpy())


# ---------------------------------------------------------------- containers

def test_sequential_behaviour():
    for mod in BOTH:
        nn = mod.nn
        a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
        s = nn.Sequential(a, b)
        assert len(s) == 2 and s[0] is a and s[-1] is b and list(s) == [a, b]
        assert isinstance(s[0:1], nn.Sequential) and list(s[0:1]) == [a]
        s.append(c)
        assert list(s._modules) == ["0", "1", "2"]
        del s[0]
        assert list(s._modules) == ["0", "1"] and s[0] is b
        s[1] = a
        assert s[1] is a
        s.insert(0, c)
        assert list(s) == [c, b, a]
        assert len(s + nn.Sequential(a)) == 4 and len(s * 2) == 6
        with pytest.raises(IndexError, match="index 5 is out of range"):
            s[5]
        assert s.pop(0) is c and len(s) == 2
    s = td.nn.Sequential(td.nn.Linear(2, 3), td.nn.ReLU())
    assert tuple(s(td.ones(4, 2)).shape) == (4, 3)


def test_module_list_and_dict_behaviour():
    for mod in BOTH:
        nn = mod.nn
        ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
        ml.append(nn.Sigmoid())
        ml.extend([nn.ELU()])
        ml.insert(1, nn.GELU())
        assert [type(m).__name__ for m in ml] == ["ReLU", "GELU", "Tanh", "Sigmoid", "ELU"]
        assert type(ml[1:3]).__name__ == "ModuleList" and len(ml[1:3]) == 2
        del ml[0]
        assert list(ml._modules) == ["0", "1", "2", "3"]
        with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable"):
            ml.extend(nn.ReLU())
        md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
        md["c"] = nn.Sigmoid()
        assert list(md) == ["b", "a", "c"] and "a" in md and len(md) == 3
        assert type(md.pop("b")).__name__ == "ReLU" and list(md.keys()) == ["a", "c"]
        md.update([("d", nn.ELU())])
        assert [k for k, _ in md.items()] == ["a", "c", "d"]
        with pytest.raises(ValueError, match="ModuleDict update sequence element #0 has length 1; 2 is required"):
            md.update([("x",)])


def test_parameter_list_and_dict_behaviour():
    for mod in BOTH:
        nn = mod.nn
        pl = nn.ParameterList([mod.ones(2), nn.Parameter(mod.zeros(3))])
        assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
        pl.append(mod.ones(1))
        pl.extend([mod.ones(4)])
        assert [tuple(p.shape) for p in pl] == [(2,), (3,), (1,), (4,)]
        assert len(list(pl.parameters())) == 4 and len(pl[1:]) == 3
        with pytest.raises(TypeError, match="ParameterList.extend should be called with an iterable"):
            pl.extend(mod.ones(2))
        with pytest.raises(RuntimeError, match="ParameterList should not be called."):
            pl()
        pd = nn.ParameterDict({"w": mod.ones(2)})
        pd["b"] = nn.Parameter(mod.zeros(1))
        assert list(pd) == ["w", "b"] and isinstance(pd["w"], nn.Parameter) and "b" in pd
        assert [k for k, _ in pd.named_parameters()] == ["w", "b"]
        assert tuple(pd.pop("w").shape) == (2,) and len(pd) == 1
        assert pd.get("missing", 7) == 7
        with pytest.raises(TypeError, match="Index given to ParameterDict cannot be used as a key"):
            pd[1] = mod.ones(1)


def test_containers_register_with_state_dict_and_optimizable():
    ours = td.nn.ModuleList([td.nn.Linear(2, 2), td.nn.Linear(2, 1)])
    theirs = T.nn.ModuleList([T.nn.Linear(2, 2), T.nn.Linear(2, 1)])
    assert list(ours.state_dict()) == list(theirs.state_dict())
    pd = td.nn.ParameterDict({"a": td.ones(2)})
    (pd["a"] * 3).sum().backward()
    np.testing.assert_allclose(pd["a"].grad.numpy(), [3.0, 3.0])


def test_buffer_assignment_and_module_compile():
    """torch 2.5's nn.Buffer (assigned as an attribute it registers a buffer, persistent or
    not) and torch 2.2's Module.compile (eager here: the module computes as before)."""
    class M(td.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = td.nn.Linear(2, 2)
            self.scale = td.nn.Buffer(td.full((2,), 3.0))
            self.cache = td.nn.Buffer(td.zeros(1), persistent=False)

        def forward(self, x):
            return self.lin(x) * self.scale

    m = M()
    assert [n for n, _ in m.named_buffers()] == ["scale", "cache"]
    assert list(m.state_dict()) == ["scale", "lin.weight", "lin.bias"]  # own entries first, as torch
    assert not m.scale.requires_grad and m.scale.tolist() == [3.0, 3.0]
    x = td.randn(4, 2)
    before = m(x)
    assert m.compile() is None and m.compile(mode="max-autotune") is None
    assert td.equal(m(x), before)
    with pytest.raises(RuntimeError, match="Either mode or options"):
        m.compile(mode="default", options={})


def test_torch2_module_methods():
    """Module.to_empty (also in 1.13), set_submodule and the public state-dict hooks of
    torch 2.x: what they do, against torch 1.13 where it has them."""
    for m in (td, T):
        net = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.ReLU())
        e = net.to_empty(device="cpu")
        assert e is net and net[0].weight.shape == (3, 2) and isinstance(net[0].weight, m.nn.Parameter)
    net = td.nn.Sequential(td.nn.Linear(2, 3), td.nn.Sequential(td.nn.ReLU()))
    net.set_submodule("1.0", td.nn.Tanh())
    assert isinstance(net[1][0], td.nn.Tanh)
    with pytest.raises(AttributeError, match="has no attribute `9`"):
        net.set_submodule("1.9", td.nn.Tanh(), strict=True)
    calls = []
    net.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append(("pre", prefix)))
    net.register_state_dict_post_hook(lambda mod, sd, prefix, meta: sd.pop("0.bias"))
    net.register_load_state_dict_pre_hook(
        lambda mod, sd, prefix, meta, strict, missing, unexpected, errors: calls.append(("load", sorted(sd))))
    sd = net.state_dict()
    assert list(sd) == ["0.weight"] and calls == [("pre", "")]
    net.load_state_dict(dict(sd, **{"0.bias": td.zeros(3)}))
    assert calls[-1] == ("load", ["0.bias", "0.weight"])


def test_forward_hooks_with_kwargs_prepend_and_always_call():
    """torch 2.x's forward hook options (1.13 lacks them): with_kwargs hooks see and may
    replace the keyword arguments, prepend runs a hook first, always_call hooks also run
    (with output None) when forward raises."""
    log = []

    class Wrap(td.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = td.nn.Linear(2, 2)

        def forward(self, x, scale=1.0):
            if scale < 0:
                raise ValueError("negative scale")
            return self.lin(x) * scale

    w = Wrap()
    with td.no_grad():
        w.lin.weight.fill_(1.0)
        w.lin.bias.fill_(0.0)
    w.register_forward_pre_hook(lambda m, a, kw: log.append(("pre-kw", sorted(kw))) or (a, dict(kw, scale=2.0)),
                                with_kwargs=True)
    w.register_forward_pre_hook(lambda m, a: log.append("pre-first"), prepend=True)
    w.register_forward_hook(lambda m, a, kw, out: log.append(("post-kw", kw["scale"])) or out + 1, with_kwargs=True)
    h = w.register_forward_hook(lambda m, a, out: log.append(("always", out is None)), always_call=True)
    assert w(td.ones(1, 2), scale=0.5).tolist() == [[5.0, 5.0]]
    assert log == ["pre-first", ("pre-kw", ["scale"]), ("post-kw", 2.0), ("always", False)]
    log.clear()
    w.register_forward_pre_hook(lambda m, a, kw: (a, dict(kw, scale=-1.0)), with_kwargs=True)
    with pytest.raises(ValueError, match="negative scale"):
        w(td.ones(1, 2))
    assert log == ["pre-first", ("pre-kw", []), ("always", True)]
    h.remove()
    bad = Wrap()
    bad.register_forward_pre_hook(lambda m, a, kw: 3, with_kwargs=True)
    with pytest.raises(RuntimeError, match="must return None or a tuple of \\(new_args, new_kwargs\\)"):
        bad(td.ones(1, 2))
