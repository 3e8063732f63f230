"""`python -m tensord SCRIPT`: a PyTorch program run unchanged with `torch` bound to tensord
(tensord/_as_torch.py), against the same program under PyTorch 1.13 itself."""
import os
import subprocess
import sys
import textwrap

import pytest

TRAIN = textwrap.dedent("""
    import sys
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset
    from torch import optim

    torch.manual_seed(int(sys.argv[1]))
    x = torch.randn(64, 4)
    y = (x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) > 0).long()
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(3):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True):
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
        print("epoch %d loss %.6f" % (epoch, loss.item()))
    print("module", torch.__name__.split(".")[0], nn.Linear.__module__.split(".")[0])
""")

CHILDREN = textwrap.dedent("""
    import torch
    import torch.multiprocessing as mp


    def child(q):
        import torch.nn
        q.put((torch.__name__, torch.nn.__name__, torch.ones(3).sum().item()))


    if __name__ == "__main__":
        for method in ("spawn", "forkserver", "fork"):
            ctx = mp.get_context(method)
            q = ctx.Queue()
            p = ctx.Process(target=child, args=(q,))
            p.start()
            print(method, *q.get())
            p.join()
        import subprocess, sys
        out = subprocess.run([sys.executable, "-c", "import torch; print(torch.__name__)"], capture_output=True,
                             text=True, check=True)
        print("subprocess", out.stdout.strip())
""")


def _run(args, tmp_path):
    import tensord
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(tensord.__file__)))  # run from tmp_path
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
                          env=env)


def test_script_runs_unchanged_with_torchs_values(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    want = _run(["train.py", "5"], tmp_path)
    got = _run(["-m", "tensord", "train.py", "5"], tmp_path)
    assert want.returncode == 0 and got.returncode == 0, got.stderr
    *want_losses, want_mod = want.stdout.splitlines()
    *got_losses, got_mod = got.stdout.splitlines()
    assert want_mod == "module torch torch" and got_mod == "module tensord tensord"
    # same seed, same generator, same data order: the same losses
    for w, g in zip(want_losses, got_losses, strict=True):
        assert abs(float(w.split()[-1]) - float(g.split()[-1])) < 1e-5, (want.stdout, got.stdout)


def test_children_get_tensord_too(tmp_path):
    (tmp_path / "children.py").write_text(CHILDREN)
    got = _run(["-m", "tensord", "children.py"], tmp_path)
    assert got.returncode == 0, got.stderr
    assert got.stdout.splitlines() == ["spawn tensord tensord.nn 3.0", "forkserver tensord tensord.nn 3.0",
                                       "fork tensord tensord.nn 3.0", "subprocess tensord"]


def test_module_mode_and_arguments(tmp_path):
    pkg = tmp_path / "proj"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "cli.py").write_text("import sys, torch\nprint(torch.__name__, sys.argv[1:], torch.arange(3).tolist())\n")
    got = _run(["-m", "tensord", "-m", "proj.cli", "--flag", "x"], tmp_path)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == "tensord ['--flag', 'x'] [0, 1, 2]"


def test_missing_torch_module_is_named(tmp_path):
    (tmp_path / "onnx.py").write_text("import torch.onnx\n")
    got = _run(["-m", "tensord", "onnx.py"], tmp_path)
    assert got.returncode == 1
    assert "ModuleNotFoundError: No module named 'torch.onnx' (tensord has no tensord.onnx)" in got.stderr


def test_refused_once_pytorch_is_imported(tmp_path):
    code = "import torch\nfrom tensord import _as_torch\n_as_torch.install()\n"
    got = _run(["-c", code], tmp_path)
    assert got.returncode == 1
    assert "ImportError: PyTorch's torch is already imported in this process" in got.stderr


def test_usage(tmp_path):
    got = _run(["-m", "tensord"], tmp_path)
    assert got.returncode == 2 and got.stderr.startswith("usage: python -m tensord SCRIPT")
