"""Graphs in the daemon (docs/design/graphs.md).  tensord.jit.trace: results against eager
tensord and PyTorch 1.13 (its own traced modules and training steps), the graph really run
(the Python code is not called again), constants by reference, new signatures captured
anew, and every case that must run eagerly doing so correctly, with a TracerWarning where
torch's tracer would have given a wrong graph.  tensord.cuda.CUDAGraph / graph(): PyTorch's
whole-network capture recipe replayed against PyTorch's eager steps, static outputs
written in place, and the errors of a capture."""
import warnings

import numpy as np
import pytest
import torch

import tensord as td
import tensord.nn as tnn
import tensord.nn.functional as TF
from tensord.jit import TracerWarning


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _twin_mlp(seed=0):
    """The same MLP in tensord and in torch (torch's initialization, copied over)."""
    torch.manual_seed(seed)
    ref = torch.nn.Sequential(torch.nn.Linear(12, 32), torch.nn.Tanh(), torch.nn.Linear(32, 5))
    mine = tnn.Sequential(tnn.Linear(12, 32), tnn.Tanh(), tnn.Linear(32, 5))
    with td.no_grad():
        for p, q in zip(mine.parameters(), ref.parameters()):
            p.copy_(td.tensor(q.detach().numpy()))
    return mine, ref


def test_traced_module_matches_torch_traced_module():
    mine, ref = _twin_mlp()
    mine.eval(), ref.eval()
    x = np.random.RandomState(0).randn(7, 12).astype(np.float32)
    with td.no_grad(), torch.no_grad():
        tm = td.jit.trace(mine, td.tensor(x))
        tr = torch.jit.trace(ref, torch.tensor(x))
        assert tm.graph_count == 1
        for seed in range(3):
            xi = np.random.RandomState(seed + 1).randn(7, 12).astype(np.float32)
            np.testing.assert_allclose(_np(tm(td.tensor(xi))), tr(torch.tensor(xi)).numpy(), rtol=1e-5, atol=1e-6)
        # another batch size is another signature: captured again
        xs = x[:3]
        np.testing.assert_allclose(_np(tm(td.tensor(xs))), tr(torch.tensor(xs)).numpy(), rtol=1e-5, atol=1e-6)
        assert tm.graph_count == 2
    assert list(tm.state_dict()) == list(mine.state_dict())
    assert isinstance(tm, tnn.Module) and tm.get_submodule("0") is mine[0]


def test_a_graph_run_does_not_call_python():
    calls = []

    def f(a, b):
        calls.append(1)
        return (a * b).sin() + b

    a, b = td.randn(4, 5), td.randn(4, 5)
    tf = td.jit.trace(f, (a, b))
    assert len(calls) == 1  # the capture
    for _ in range(3):
        a2, b2 = td.randn(4, 5), td.randn(4, 5)
        np.testing.assert_allclose(_np(tf(a2, b2)), np.sin(_np(a2) * _np(b2)) + _np(b2), rtol=1e-5, atol=1e-6)
    assert len(calls) == 1  # graphs, not Python (torch's tracer freezes side effects the same way)


def test_constants_are_held_by_reference():
    lin = tnn.Linear(3, 2)
    x = td.randn(4, 3)
    with td.no_grad():
        tm = td.jit.trace(lin, x)
        lin.weight.mul_(3)  # in place: the graph reads the same storage
        lin.bias.fill_(1.5)
        want = _np(x) @ _np(lin.weight).T + 1.5
        np.testing.assert_allclose(_np(tm(x)), want, rtol=1e-5, atol=1e-6)
        # a new parameter object (or .data rebound): a new capture, not the old storage
        lin.weight = tnn.Parameter(td.ones(2, 3))
        np.testing.assert_allclose(_np(tm(x)), np.repeat(_np(x).sum(1, keepdims=True), 2, 1) + 1.5, rtol=1e-5,
                                   atol=1e-6)
        assert tm.graph_count == 2
        lin.bias.data = td.zeros(2)
        np.testing.assert_allclose(_np(tm(x)), np.repeat(_np(x).sum(1, keepdims=True), 2, 1), rtol=1e-5, atol=1e-6)
        # train/eval is part of the signature
        drop = tnn.Sequential(tnn.Dropout(0.5)).eval()
        tdrop = td.jit.trace(drop, x)
        np.testing.assert_array_equal(_np(tdrop(x)), _np(x))
        drop.train()
        y = _np(tdrop(x))
        assert set(np.unique(np.round(y / np.where(_np(x) == 0, 1, _np(x)), 4))) <= {0.0, 2.0}


def test_outputs_keep_their_structure():
    w = td.randn(3)

    def f(a, scale, b):
        s = a * scale
        return {"sum": s + b, "pair": (s, a), "w": w, "n": 7, "list": [b.exp()]}

    a, b = td.randn(3), td.randn(3)
    tf = td.jit.trace(f, (a, 2.0, b))
    a2, b2 = td.randn(3), td.randn(3)
    out = tf(a2, 2.0, b2)
    assert out["pair"][1] is a2 and out["w"] is w and out["n"] == 7
    np.testing.assert_allclose(_np(out["sum"]), 2 * _np(a2) + _np(b2), rtol=1e-6)
    np.testing.assert_allclose(_np(out["pair"][0]), 2 * _np(a2), rtol=1e-6)
    np.testing.assert_allclose(_np(out["list"][0]), np.exp(_np(b2)), rtol=1e-6)
    # another Python value is another signature (torch bakes it in; here it is captured anew)
    np.testing.assert_allclose(_np(tf(a2, 3.0, b2)["sum"]), 3 * _np(a2) + _np(b2), rtol=1e-6)
    assert tf.graph_count == 2
    # a view of an input, and the same tensor passed twice
    tv = td.jit.trace(lambda x, y: (x.t(), x + y), (td.randn(2, 3), td.randn(2, 3)))
    z = td.randn(2, 3)
    v, s = tv(z, z)
    np.testing.assert_allclose(_np(v), _np(z).T)
    np.testing.assert_allclose(_np(s), 2 * _np(z))
    z.mul_(0)  # the view shares the input's storage, as eagerly
    np.testing.assert_array_equal(_np(v), np.zeros((3, 2), np.float32))
    # strides are part of the signature: what was a view of a contiguous input is captured
    # again for a transposed one (eagerly, reshape copies it; view raises torch's error)
    tr = td.jit.trace(lambda x: x.reshape(-1) * 2, td.randn(4, 3))
    tview = td.jit.trace(lambda x: x.view(-1) * 2, td.randn(4, 3))
    xt = td.randn(3, 4).t()
    np.testing.assert_array_equal(_np(tr(xt)), _np(xt).reshape(-1) * 2)
    assert tr.graph_count == 2
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        tview(xt)


def test_data_dependent_code_runs_eagerly_with_a_warning():
    def f(x):
        return x * x.sum().item() if x.sum().item() > 0 else -x

    with pytest.warns(TracerWarning, match="reads tensor data"):
        tf = td.jit.trace(f, td.ones(3))
    assert tf.graph_count == 0
    np.testing.assert_array_equal(_np(tf(td.ones(3))), [3, 3, 3])
    np.testing.assert_array_equal(_np(tf(-td.ones(3))), [1, 1, 1])  # the other branch: eager is right
    calls = []

    def g(x):
        calls.append(1)
        return x[x > 0]  # a data-dependent shape

    with pytest.warns(TracerWarning):
        tg = td.jit.trace(g, td.tensor([1.0, -1.0, 2.0]))
    np.testing.assert_array_equal(_np(tg(td.tensor([-1.0, 5.0]))), [5.0])
    assert len(calls) == 2
    cache = []

    def h(x):
        y = x * 2
        cache.append(y)  # a run would not update what the program keeps
        return y + 1

    with pytest.warns(TracerWarning, match="keeps 1 tensor"):
        th = td.jit.trace(h, td.ones(2))
    np.testing.assert_array_equal(_np(th(td.full((2,), 3.0))), [7, 7])
    np.testing.assert_array_equal(_np(cache[-1]), [6, 6])


def test_grad_needing_calls_run_eagerly_and_backprop():
    mine, ref = _twin_mlp(1)
    x = np.random.RandomState(3).randn(4, 12).astype(np.float32)
    tm = td.jit.trace(mine, td.tensor(x))  # grad mode, parameters that require grad
    assert tm.graph_count == 0
    out = tm(td.tensor(x))
    assert out.grad_fn is not None
    out.pow(2).sum().backward()
    r = ref(torch.tensor(x))
    r.pow(2).sum().backward()
    for p, q in zip(mine.parameters(), ref.parameters()):
        np.testing.assert_allclose(_np(p.grad), q.grad.numpy(), rtol=1e-4, atol=1e-5)
    # an input that requires grad, for a function: eager too, and differentiable
    f = td.jit.trace(lambda a: (a * a).sum(), td.ones(3))
    a = td.tensor([1.0, 2.0, 3.0], requires_grad=True)
    f(a).backward()
    np.testing.assert_array_equal(_np(a.grad), [2, 4, 6])


def _step_fn(model, opt, lib, F):
    def step(x, y):
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()
    return step


def test_a_traced_training_step_trains_as_torch_does():
    """A whole step (forward, backward, SGD with momentum) after a warm-up step: one record
    per step, and the same trajectory as PyTorch's eager steps — with a StepLR schedule,
    whose lr changes make the next call capture again."""
    mine, ref = _twin_mlp(2)
    o_m = td.optim.SGD(mine.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    o_r = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    rs = np.random.RandomState(5)
    X = rs.randn(10, 16, 12).astype(np.float32)
    Y = rs.randint(0, 5, (10, 16))
    sch_m = td.optim.lr_scheduler.StepLR(o_m, step_size=3, gamma=0.5)
    sch_r = torch.optim.lr_scheduler.StepLR(o_r, step_size=3, gamma=0.5)
    s_m = _step_fn(mine, o_m, td, TF)
    s_r = _step_fn(ref, o_r, torch, torch.nn.functional)
    s_m(td.tensor(X[0]), td.tensor(Y[0]))  # warm-up: .grad and the momentum buffers exist
    s_r(torch.tensor(X[0]), torch.tensor(Y[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracerWarning)
        traced = td.jit.trace(s_m, (td.tensor(X[1]), td.tensor(Y[1])))
    assert traced.graph_count == 1
    s_r(torch.tensor(X[1]), torch.tensor(Y[1]))
    for i in range(2, 10):
        lm = traced(td.tensor(X[i]), td.tensor(Y[i])).item()
        lr = s_r(torch.tensor(X[i]), torch.tensor(Y[i])).item()
        assert abs(lm - lr) < 1e-4 * max(1, abs(lr)), (i, lm, lr)
        sch_m.step()
        sch_r.step()
    assert o_m.param_groups[0]["lr"] == o_r.param_groups[0]["lr"] == 0.1 * 0.5 ** 2
    assert traced.graph_count == 1  # the latest lr's graph (each earlier one freed)
    for p, q in zip(mine.parameters(), ref.parameters()):
        np.testing.assert_allclose(_np(p), q.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_steps_a_graph_cannot_repeat_run_eagerly():
    """Adam writes its step count into its records (a graph would repeat it), before and after
    a warm-up: the step runs eagerly, with a warning, and still trains as torch does.  (A
    step that makes state during the capture is refused too: test_client_captures_refused.)"""
    mine, ref = _twin_mlp(4)
    o_m, o_r = td.optim.Adam(mine.parameters(), lr=1e-2), torch.optim.Adam(ref.parameters(), lr=1e-2)
    s_m = _step_fn(mine, o_m, td, TF)
    s_r = _step_fn(ref, o_r, torch, torch.nn.functional)
    rs = np.random.RandomState(6)
    X, Y = rs.randn(4, 8, 12).astype(np.float32), rs.randint(0, 5, (4, 8))
    with pytest.warns(TracerWarning, match="step count"):
        traced = td.jit.trace(s_m, (td.tensor(X[0]), td.tensor(Y[0])))
    s_r(torch.tensor(X[0]), torch.tensor(Y[0]))
    with pytest.warns(TracerWarning, match="step count"):  # warmed up now: the count still stops it
        traced = td.jit.trace(s_m, (td.tensor(X[1]), td.tensor(Y[1])))
    s_r(torch.tensor(X[1]), torch.tensor(Y[1]))
    for i in range(2, 4):
        assert abs(traced(td.tensor(X[i]), td.tensor(Y[i])).item() - s_r(torch.tensor(X[i]), torch.tensor(Y[i])).item()) < 1e-4
    assert traced.graph_count == 0


def test_random_ops_draw_anew_each_run():
    def f(x):
        return TF.dropout(x, 0.5, training=True) + td.randn(x.shape)

    x = td.ones(64)
    tf = td.jit.trace(f, x)
    td.manual_seed(11)
    eager = [_np(f(x)) for _ in range(3)]
    td.manual_seed(11)
    graph = [_np(tf(x)) for _ in range(3)]
    assert tf.graph_count == 1
    for e, g in zip(eager, graph):
        np.testing.assert_array_equal(e, g)
    assert not np.array_equal(graph[0], graph[1])


def test_is_tracing_and_nested_traces():
    seen = []

    def inner(x):
        seen.append(td.jit.is_tracing())
        return x + 1

    ti = td.jit.trace(inner, td.ones(2))
    assert seen == [True] and not td.jit.is_tracing()
    to = td.jit.trace(lambda x: ti(x) * 2, td.ones(2))  # inner runs eagerly inside the capture
    np.testing.assert_array_equal(_np(to(td.full((2,), 3.0))), [8, 8])
    assert to.graph_count == 1


def test_trace_module_and_bad_inputs():
    lin = tnn.Linear(2, 2)
    with td.no_grad():
        tm = td.jit.trace_module(lin, {"forward": td.ones(1, 2)})
        assert isinstance(tm, td.jit.TracedModule) and tm.graph_count == 1
        with pytest.raises(RuntimeError, match="size mismatch|shapes cannot be multiplied|mat1 and mat2"):
            tm(td.ones(1, 3))  # a new signature: captured eagerly, torch's own error
    with pytest.raises(RuntimeError, match="can not be None"):
        td.jit.trace(lin)


def test_saved_and_copied_traces_capture_their_own():
    import copy
    import io
    m = tnn.Sequential(tnn.Linear(4, 3), tnn.ReLU()).eval()
    x = td.randn(2, 4)
    with td.no_grad():
        tm = td.jit.trace(m, x)
        buf = io.BytesIO()
        td.jit.save(tm, buf)
        buf.seek(0)
        loaded = td.jit.load(buf)
        assert isinstance(loaded, td.jit.TracedModule) and loaded.graph_count == 0
        np.testing.assert_allclose(_np(loaded(x)), _np(m(x)), rtol=1e-6)
        twin = copy.deepcopy(tm)
        np.testing.assert_allclose(_np(twin(x)), _np(m(x)), rtol=1e-6)
        del twin  # its graphs go; the original's stay
        np.testing.assert_allclose(_np(tm(x)), _np(m(x)), rtol=1e-6)
        assert tm.graph_count == 1


LOAD_TRACED = """
import sys
import tensord as td
tm, x, want = td.jit.load(sys.argv[1]), td.load(sys.argv[2]), td.load(sys.argv[3])
calls = []
inner = tm._actual_module.forward
tm._actual_module.forward = lambda *a: calls.append(1) or inner(*a)
with td.no_grad():
    ok = td.allclose(tm(x), want)
    tm._actual_module[0].weight.mul_(-1)  # the loaded graph reads the loaded module's weights
    ok2 = td.allclose(tm(x), inner(x))
print(ok, ok2, tm.graph_count, len(calls))
"""


def test_saved_traced_module_runs_its_graph_in_another_process(tmp_path):
    """jit.save of a traced module keeps its graphs (the body and its constants, pickled with
    the module's tensors and sharing their storage): another process runs the graph without
    calling Python forward, and sees in-place updates of the loaded weights."""
    import subprocess
    import sys
    m = tnn.Sequential(tnn.Linear(4, 3), tnn.ReLU(), tnn.Linear(3, 2)).eval()
    x = td.randn(2, 4)
    with td.no_grad():
        tm = td.jit.trace(m, x)
        want = tm(x)
    td.jit.save(tm, str(tmp_path / "m.pt"))
    td.save(x, str(tmp_path / "x.pt"))
    td.save(want, str(tmp_path / "want.pt"))
    script = tmp_path / "load.py"
    script.write_text(LOAD_TRACED)
    p = subprocess.run([sys.executable, str(script), str(tmp_path / "m.pt"), str(tmp_path / "x.pt"),
                        str(tmp_path / "want.pt")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["True", "True", "1", "0"]  # Python forward never called by the traced module


def test_graphs_survive_fork():
    import tensord.multiprocessing as mp
    f = td.jit.trace(lambda a: a * 3 + 1, td.ones(3))
    f(td.ones(3))
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_calls, args=(f, q))
    p.start()
    got = q.get(timeout=60)
    p.join(60)
    assert p.exitcode == 0
    assert got == [4.0, 7.0, 10.0]


def _child_calls(f, q):
    # the parent's graphs belong to its session: the child captures its own, and a graph
    # the child made first is never taken for the parent's
    g = td.jit.trace(lambda a: a - 100, td.ones(3))
    g(td.ones(3))
    q.put(f(td.tensor([1.0, 2.0, 3.0])).tolist())


def test_cuda_graph_whole_network_capture_matches_torch():
    """torch's recipe (docs "Whole-network capture"): warm up, capture forward, backward and
    the optimizer step with set_to_none grads, then copy each batch into the static inputs
    and replay; losses, .grad and parameters follow PyTorch's eager steps."""
    mine, ref = _twin_mlp(7)
    o_m = td.optim.SGD(mine.parameters(), lr=0.1, momentum=0.9)
    o_r = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    rs = np.random.RandomState(8)
    X, Y = rs.randn(6, 16, 12).astype(np.float32), rs.randint(0, 5, (6, 16))
    static_x, static_y = td.tensor(X[0]), td.tensor(Y[0])
    for i in range(2):  # warm-up, both sides
        o_m.zero_grad(set_to_none=True)
        TF.cross_entropy(mine(static_x), static_y).backward()
        o_m.step()
        o_r.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(ref(torch.tensor(X[0])), torch.tensor(Y[0])).backward()
        o_r.step()
    g = td.cuda.CUDAGraph()
    o_m.zero_grad(set_to_none=True)
    with td.cuda.graph(g):
        assert td.cuda.is_current_stream_capturing()
        static_loss = TF.cross_entropy(mine(static_x), static_y)
        static_loss.backward()
        o_m.step()
    assert not td.cuda.is_current_stream_capturing()
    o_r.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(ref(torch.tensor(X[0])), torch.tensor(Y[0])).backward()
    o_r.step()  # the capture ran once, as torch's does
    for i in range(1, 6):
        static_x.copy_(td.tensor(X[i]))
        static_y.copy_(td.tensor(Y[i]))
        g.replay()
        o_r.zero_grad(set_to_none=True)
        lr = torch.nn.functional.cross_entropy(ref(torch.tensor(X[i])), torch.tensor(Y[i]))
        lr.backward()
        o_r.step()
        assert abs(static_loss.item() - lr.item()) < 1e-4, i
        for p, q in zip(mine.parameters(), ref.parameters()):
            np.testing.assert_allclose(_np(p.grad), q.grad.numpy(), rtol=1e-4, atol=1e-5)
    for p, q in zip(mine.parameters(), ref.parameters()):
        np.testing.assert_allclose(_np(p), q.detach().numpy(), rtol=1e-4, atol=1e-5)
    g.reset()
    with pytest.raises(RuntimeError, match="must be captured"):
        g.replay()


def test_cuda_graph_static_outputs_and_errors():
    x = td.arange(4.0)
    g = td.cuda.CUDAGraph()
    with td.cuda.graph(g):
        y = x * 2 + 1
        z = y.sum()
    x.copy_(td.tensor([10.0, 20.0, 30.0, 40.0]))
    np.testing.assert_array_equal(_np(y), [1, 3, 5, 7])  # not until the replay
    head = y[:2]  # a view: the replay writes the same storage
    g.replay()
    np.testing.assert_array_equal(_np(y), [21, 41, 61, 81])
    np.testing.assert_array_equal(_np(head), [21, 41])
    assert z.item() == 204
    with pytest.raises(RuntimeError, match="already owns a captured graph"):
        g.capture_begin()
    bad = td.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="reads tensor data"):
        with td.cuda.graph(bad):
            (x * 3).sum().item()
    assert not td.cuda.is_current_stream_capturing()
    with pytest.raises(ValueError, match="boom"):
        with td.cuda.graph(td.cuda.CUDAGraph()):
            x + 1
            raise ValueError("boom")
    assert not td.cuda.is_current_stream_capturing()  # aborted: eager again
    np.testing.assert_array_equal(_np(x + 1), [11, 21, 31, 41])
    assert g.pool() is not None and td.cuda.graph_pool_handle() is not None
    many = td.cuda.CUDAGraph()  # more outputs than a record names: the graph holds their handles
    with td.cuda.graph(many):
        kept = [x * k for k in range(300)]
    x.fill_(1.0)
    many.replay()
    assert [t[0].item() for t in kept[:3]] == [0.0, 1.0, 2.0] and kept[299][3].item() == 299.0


def test_make_graphed_callables_trains_as_torch():
    """A module graphed (forward and backward graphs behind an autograd.Function) trains
    as PyTorch's eager twin; in another train/eval mode it runs its own forward."""
    mine, ref = _twin_mlp(9)
    rs = np.random.RandomState(10)
    X, Y = rs.randn(5, 16, 12).astype(np.float32), rs.randint(0, 5, (5, 16))
    graphed = td.cuda.make_graphed_callables(mine, (td.tensor(X[0]),))
    assert graphed is mine
    o_m = td.optim.SGD(mine.parameters(), lr=0.1, momentum=0.9)
    o_r = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for i in range(5):
        o_m.zero_grad()
        lm = TF.cross_entropy(graphed(td.tensor(X[i])), td.tensor(Y[i]))
        lm.backward()
        o_m.step()
        o_r.zero_grad()
        lr = torch.nn.functional.cross_entropy(ref(torch.tensor(X[i])), torch.tensor(Y[i]))
        lr.backward()
        o_r.step()
        assert abs(lm.item() - lr.item()) < 1e-4, i
    for p, q in zip(mine.parameters(), ref.parameters()):
        np.testing.assert_allclose(_np(p), q.detach().numpy(), rtol=1e-4, atol=1e-5)
    mine.eval()
    ref.eval()
    with td.no_grad():
        np.testing.assert_allclose(_np(mine(td.tensor(X[0]))), ref(torch.tensor(X[0])).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_make_graphed_function_gradients():
    def f(a, b):
        return a * b, (a.sin() * b).sum()

    a0, b0 = td.randn(5, requires_grad=True), td.randn(5, requires_grad=True)
    gf, gg = td.cuda.make_graphed_callables((f, lambda v: v * 3), ((a0, b0), (td.randn(2, requires_grad=True),)),
                                            num_warmup_iters=1)
    a_np, b_np = np.random.RandomState(11).randn(2, 5).astype(np.float32)
    a, b = td.tensor(a_np, requires_grad=True), td.tensor(b_np, requires_grad=True)
    prod, total = gf(a, b)
    (prod.sum() * 2 + total).backward()
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    (ta * tb).sum().mul(2).add((ta.sin() * tb).sum()).backward()
    np.testing.assert_allclose(_np(a.grad), ta.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(b.grad), tb.grad.numpy(), rtol=1e-5, atol=1e-6)
    v = td.ones(2, requires_grad=True)
    gg(v).sum().backward()
    np.testing.assert_array_equal(_np(v.grad), [3, 3])
    hooked = tnn.Linear(2, 2)
    hooked.register_forward_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match="must not have hooks"):
        td.cuda.make_graphed_callables(hooked, (td.ones(1, 2),))
