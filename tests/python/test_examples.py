"""The shipped examples run for real: the C example against the test daemon, and the
Python demo with no TENSORD_ADDRESS, so it starts (and stops) its own private daemon."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_c_example():
    exe = os.environ.get("TENSORD_EXAMPLE", os.path.join(ROOT, "build", "example_c"))
    out = subprocess.run([exe, os.environ["TENSORD_ADDRESS"]], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "a @ b + 1 = [[8.5, 9], [19, 15]], sum = 51.5" in out.stdout
    assert "must match the size of tensor b" in out.stdout


def test_demo_starts_private_daemon(tmp_path):
    env = dict(os.environ)
    env.pop("TENSORD_ADDRESS", None)
    env["XDG_RUNTIME_DIR"] = str(tmp_path)  # no default daemon there: a private one must start
    env["ASAN_OPTIONS"] = "allocator_may_return_null=1:detect_leaks=1"
    demo = os.path.join(ROOT, "client_py", "examples", "demo.py")
    proc = subprocess.Popen([sys.executable, demo], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    # the private daemon of that process is gone with it
    left = subprocess.run(["pgrep", "-f", "private-%d.sock" % proc.pid], capture_output=True, text=True)
    assert left.stdout.strip() == "", "private daemon still running: " + left.stdout


def _digits(tmp_path, *args):
    script = os.path.join(ROOT, "client_py", "examples", "train_digits.py")
    out = subprocess.run([sys.executable, script, "--out", str(tmp_path), "--quiet", *args], capture_output=True,
                         text=True, timeout=900, env=dict(os.environ))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_train_digits_reaches_97_percent(tmp_path):
    """The README's training example: a CNN on scikit-learn's digits, 25 epochs."""
    lines = _digits(tmp_path).splitlines()
    acc = float(lines[-1].split()[3])
    assert acc >= 0.97, "\n".join(lines)
    assert (tmp_path / "curves.png").stat().st_size > 1000
    import tensord
    ckpt = tensord.load(str(tmp_path / "checkpoint.pt"))
    assert ckpt["epoch"] == 25 and len(ckpt["history"]["test_acc"]) == 25


def test_train_digits_checkpoint_resumes_and_loads_in_torch(tmp_path):
    import torch
    _digits(tmp_path, "--epochs", "2")
    out = _digits(tmp_path, "--epochs", "3", "--resume")
    assert "resumed from" in out and "epoch  3" in out and "epoch  1 " not in out
    ckpt = torch.load(str(tmp_path / "checkpoint.pt"))  # tensord's checkpoint in real PyTorch
    assert ckpt["epoch"] == 3 and set(ckpt["model"]) >= {"conv1.weight", "fc2.bias"}
    assert isinstance(ckpt["model"]["conv1.weight"], torch.Tensor)


def _hogwild(*args):
    script = os.path.join(ROOT, "client_py", "examples", "hogwild_digits.py")
    out = subprocess.run([sys.executable, script, "--quiet", *args], capture_output=True, text=True, timeout=900,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stdout + out.stderr
    last = out.stdout.splitlines()[-1].split()
    return float(last[2]), int(last[-1])


def test_hogwild_digits_two_processes_match_one():
    """PyTorch's mnist_hogwild pattern: two processes train one shared model lock-free and
    reach the accuracy one process reaches with the same number of epochs."""
    one, n1 = _hogwild("--num-processes", "1")
    two, n2 = _hogwild("--num-processes", "2")
    assert (n1, n2) == (1, 2)
    assert one >= 0.9 and two >= 0.9, (one, two)
    assert abs(one - two) <= 0.05, (one, two)


def test_hogwild_digits_spawn_trains_the_parents_model():
    """Under spawn the model travels as tokens: the trainers update the parent's parameters
    (an untrained model scores about 0.1)."""
    acc, n = _hogwild("--num-processes", "2", "--epochs", "3", "--start-method", "spawn")
    assert n == 2 and acc >= 0.4, acc  # 3 epochs: 0.55-0.7 over runs (lock-free updates race)
