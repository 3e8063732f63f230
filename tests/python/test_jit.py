"""tensord.jit, tensord.compile and tensord.futures: programs that use torch.jit (script,
trace, save/load, fork/wait) and torch.compile run under `python -m tensord` and print
what the same program prints under PyTorch 1.13 (which scripts and traces for real; it
has no torch.compile, so there the program runs its model uncompiled: the reference for
tensord's eager compile)."""
import os
import subprocess
import sys
import textwrap
from typing import Dict, List, Optional

import pytest

import tensord as td

PROGRAM = textwrap.dedent("""
    from typing import List
    import torch, torch.nn as nn, torch.nn.functional as F

    @torch.jit.script
    def gelu_ish(x: torch.Tensor, k: float = 1.5) -> torch.Tensor:
        return x * torch.sigmoid(k * x)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 2)

        def forward(self, x):
            return self.fc2(gelu_ish(self.fc1(x)))

        @torch.jit.ignore
        def describe(self) -> str:
            return "block"

        @torch.jit.export
        def scaled(self, x: torch.Tensor) -> torch.Tensor:
            return self.forward(x) * 2

    def r(t):
        return [round(v, 5) for v in t.detach().flatten().tolist()]

    torch.manual_seed(0)
    x = torch.randn(5, 4)
    print("script fn", r(gelu_ish(x[0])), r(gelu_ish(x[0], 0.5)))
    scripted = torch.jit.script(Block())
    print("script module", r(scripted(x)), r(scripted.scaled(x[:1])), torch.jit.is_scripting())
    traced = torch.jit.trace(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), (x,))
    print("trace", r(traced(x)))
    traced_fn = torch.jit.trace(lambda a, b: a * b + 1, (x, x))
    print("trace fn", r(traced_fn(x[:1], x[:1])))
    torch.jit.save(scripted, "block.pt")
    loaded = torch.jit.load("block.pt")
    print("save/load", r(loaded(x)) == r(scripted(x)))
    fut = torch.jit.fork(gelu_ish, x[1])
    print("fork/wait", r(torch.jit.wait(fut)))
    done = torch.futures.Future()
    chained = done.then(lambda f: f.value() * 3)
    done.set_result(torch.ones(2))
    print("futures", r(chained.wait()), r(torch.futures.collect_all([done, chained]).wait()[1].value()))
    print("isinstance", torch.jit.isinstance([1, 2], List[int]), torch.jit.isinstance([1, "a"], List[int]))
    model = Block()
    compiled = torch.compile(model) if hasattr(torch, "compile") else model
    opt = torch.optim.SGD(compiled.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        loss = F.mse_loss(compiled(x), torch.ones(5, 2))
        loss.backward()
        opt.step()
    print("compiled training", round(loss.item(), 5), r(model.fc2.bias))
""")


def _run(args, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(td.__file__)))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
                          env=env)


def test_jit_and_compile_programs_print_torchs_values(tmp_path):
    (tmp_path / "prog.py").write_text(PROGRAM)
    want = _run(["prog.py"], tmp_path)
    got = _run(["-m", "tensord", "prog.py"], tmp_path)
    assert want.returncode == 0, want.stderr
    assert got.returncode == 0, got.stderr
    assert got.stdout.splitlines() == want.stdout.splitlines()
    assert len(want.stdout.splitlines()) == 9


def test_compiled_module_wraps_as_torchs():
    lin = td.nn.Linear(3, 2)
    c = td.compile(lin)
    assert c._orig_mod is lin and c.weight is lin.weight and c.in_features == 3
    assert list(c.state_dict()) == ["_orig_mod.weight", "_orig_mod.bias"]  # torch's keys for compiled models
    x = td.randn(4, 3)
    assert td.equal(c(x), lin(x))
    assert td.compile(lin, disable=True) is lin
    f = td.compile(mode="reduce-overhead")(lambda t: t * 2)
    assert f(td.ones(2)).tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="Either mode or options"):
        td.compile(lin, mode="max-autotune", options={})
    with pytest.raises(RuntimeError, match="expects a callable"):
        td.compile(3)


def test_jit_helpers():
    jit = td.jit
    assert jit.annotate(List[int], []) == [] and jit.Attribute(3, int) == 3
    assert jit.isinstance({"a": td.ones(1)}, Dict[str, td.Tensor])
    assert jit.isinstance(None, Optional[int]) and not jit.isinstance("x", Optional[int])
    m = td.nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="only implemented for modules in eval mode"):
        jit.freeze(m)
    assert jit.freeze(m.eval()) is m
    with pytest.raises(RuntimeError, match="can not be None at the same time"):
        jit.trace(m)
    fut = jit.fork(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        fut.wait()
    f = td.futures.Future()
    with pytest.raises(RuntimeError, match="not completed"):
        f.value()
    f.set_result(1)
    with pytest.raises(RuntimeError, match="only be marked completed once"):
        f.set_result(2)
    assert td.futures.wait_all([f, jit.fork(lambda: 2)]) == [1, 2]
