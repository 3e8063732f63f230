"""tensord.profiler and tensord.autograd.profiler: ranges timed between daemon syncs, the
steps a schedule records, the trace handler's files, compared with what PyTorch 1.13's
profiler records for the same program (its op events aside: tensord's ranges are the
user's, the steps' and the modules')."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

import tensord as td

PROGRAM = textwrap.dedent("""
    import json, os, sys, torch
    from torch.profiler import ProfilerActivity, profile, record_function, schedule, tensorboard_trace_handler
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4))
    x = torch.randn(32, 64)
    saved = []
    def on_ready(prof):
        saved.append([e.name for e in prof.events() if e.name.startswith("ProfilerStep")])
        tensorboard_trace_handler(sys.argv[1], worker_name="w")(prof)
    with profile(activities=[ProfilerActivity.CPU], schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
                 on_trace_ready=on_ready) as prof:
        for step in range(10):
            with record_function("train_step"):
                model(x).sum().backward()
            prof.step()
    print("cycles", saved)
    names = {e.key: e.count for e in prof.key_averages()}
    print("last cycle", names.get("train_step"), sorted(k for k in names if k.startswith("ProfilerStep")))
    files = sorted(f for f in os.listdir(sys.argv[1]) if f.startswith("w.") and f.endswith(".pt.trace.json"))
    for f in files:
        trace = json.load(open(os.path.join(sys.argv[1], f)))
        events = trace["traceEvents"] if isinstance(trace, dict) else trace  # (torch 1.13 writes a list)
        print("trace", sorted({e.get("name") for e in events if str(e.get("name")).startswith("ProfilerStep#")}),
              any(e.get("name") == "train_step" for e in events))
""")


def test_schedule_steps_and_trace_files_like_torch(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(td.__file__)))
    (tmp_path / "prog.py").write_text(PROGRAM)
    outs = []
    for args in ([], ["-m", "tensord"]):
        logdir = tmp_path / ("log" + str(len(outs)))
        r = subprocess.run([sys.executable, *args, "prog.py", str(logdir)], capture_output=True, text=True,
                           timeout=300, cwd=str(tmp_path), env=env)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout.splitlines())
    assert outs[1][:2] == outs[0][:2]
    assert outs[0][0] == "cycles [['ProfilerStep*', 'ProfilerStep*'], ['ProfilerStep*', 'ProfilerStep*']]"
    # tensord names each recorded step by its own number in the traces (torch 1.13 names step
    # N's range "ProfilerStep#<N-1>")
    assert outs[1][2:] == ["trace ['ProfilerStep#2', 'ProfilerStep#3'] True",
                           "trace ['ProfilerStep#6', 'ProfilerStep#7'] True"]
    assert outs[0][2:] == ["trace ['ProfilerStep#1', 'ProfilerStep#2'] True",
                           "trace ['ProfilerStep#5', 'ProfilerStep#6'] True"]


def _work(a):
    for _ in range(20):
        a = (a @ a).tanh()
    return a


def test_ranges_nest_and_time_the_daemons_work(tmp_path):
    import time
    a = td.randn(400, 400)
    td.synchronize()
    t0 = time.perf_counter()
    _work(a)
    td.synchronize()
    reference_us = (time.perf_counter() - t0) * 1e6
    with td.autograd.profiler.profile(with_modules=True) as prof:
        with td.autograd.profiler.record_function("outer"):
            with td.profiler.record_function("heavy"):
                a = _work(a)
            with td.profiler.record_function("empty"):
                pass
            td.nn.Linear(400, 2)(a)
    evs = {e.name: e for e in prof.function_events}
    outer, heavy, empty = evs["outer"], evs["heavy"], evs["empty"]
    assert heavy.cpu_parent is outer and empty.cpu_parent is outer and "nn.Module: Linear" in evs
    # the matmuls are timed inside the range (its end waits for them), not after it
    assert heavy.cpu_time_total > 0.3 * reference_us and heavy.cpu_time_total > empty.cpu_time_total
    kids = sum(c.cpu_time_total for c in outer.cpu_children)
    assert outer.self_cpu_time_total == pytest.approx(outer.cpu_time_total - kids)
    # the daemon's own op times, charged to the range that recorded them
    ops = {c.name: c for c in heavy.cpu_children}
    assert ops["tensord::matmul"].count == 20 and ops["tensord::tanh"].count == 20
    assert 0 < ops["tensord::matmul"].cpu_time_total <= heavy.cpu_time_total
    assert heavy.self_cpu_time_total < heavy.cpu_time_total
    table = prof.key_averages().table(sort_by="cpu_time_total")
    lines = table.splitlines()
    assert "Self CPU %" in lines[1] and lines[3].split()[0] == "outer" and lines[-1].startswith("Self CPU time total")
    path = tmp_path / "t.json"
    prof.export_chrome_trace(str(path))
    assert {e["name"] for e in json.load(open(path))["traceEvents"]} >= {"outer", "heavy", "empty"}
    with pytest.raises(RuntimeError, match="didn't finish"):
        td.autograd.profiler.profile().key_averages()


def test_op_counts_are_exact_and_bad_modes_refused():
    from tensord import _C
    x = td.ones(10)
    with td.autograd.profiler.profile() as prof:
        for _ in range(7):
            x = x + 1
        with td.profiler.record_function("r"):
            y = x * 2
        x.sum().item()
    rows = {e.key: e.count for e in prof.key_averages()}
    assert rows["tensord::add"] == 7 and rows["tensord::mul"] == 1 and rows["r"] == 1
    assert y.tolist() == [16.0] * 10
    with pytest.raises(RuntimeError, match="profile: mode must be 0 \\(stop\\), 1 \\(start\\) or 2 \\(read\\)"):
        _C.profile(7)
    assert _C.profile(2) == []  # not counting once the profile stopped
    assert td.ones(2).sum().item() == 2.0
