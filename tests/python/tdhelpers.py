"""Shared helpers: build the same data in tensord and in torch 1.13 (the reference) and
compare results, dtypes included."""
import numpy as np
import torch

import tensord as td

DTYPE_NAMES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"]
FLOAT_NAMES = DTYPE_NAMES[:4]
INT_NAMES = DTYPE_NAMES[4:9]


def tdt(name):
    return getattr(td, name)


def tht(name):
    return getattr(torch, name)


def rand_data(shape, name, rng, low=-5, high=5, nonzero=False):
    """numpy float64/int64/bool data suited to dtype `name`."""
    if name == "bool":
        return rng.random(shape) < 0.5
    if name in FLOAT_NAMES:
        a = rng.uniform(low, high, shape)
        if nonzero:
            a = np.where(np.abs(a) < 0.25, 1.5, a)
        return a
    lo = 0 if name == "uint8" else low
    a = rng.integers(lo, high + 1, shape)
    if nonzero:
        a = np.where(a == 0, 3, a)
    return a


def pair(data, name):
    """The same values as (tensord tensor, torch tensor) of dtype `name`."""
    t = torch.tensor(np.asarray(data)).to(tht(name))
    return from_torch(t), t


def from_torch(t):
    if t.dtype == torch.bfloat16:
        return td.tensor(t.float().numpy(), dtype=td.bfloat16)
    return td.tensor(t.numpy())


def to_torch(x):
    if x.dtype is td.bfloat16:
        return torch.from_numpy(x.detach().float().numpy()).bfloat16()
    return torch.from_numpy(x.detach().numpy())


_TOL = {"float16": (2e-3, 1e-3), "bfloat16": (1.6e-2, 1e-2), "float32": (1.3e-6, 1e-5), "float64": (1e-7, 1e-7)}


def assert_same(got, want, rtol=None, atol=None):
    """got: tensord tensor, want: torch tensor; same dtype, shape and values."""
    assert isinstance(got, td.Tensor), type(got)
    assert str(got.dtype) == str(want.dtype), (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape), (got.shape, want.shape)
    g = to_torch(got)
    if want.dtype.is_floating_point:
        r, a = _TOL[str(want.dtype)[6:]]
        r, a = rtol or r, atol or a
        ok = torch.allclose(g.double(), want.double(), rtol=r, atol=a, equal_nan=True)
        assert ok, "values differ:\n got %s\nwant %s" % (g, want)
    else:
        assert torch.equal(g, want), "values differ:\n got %s\nwant %s" % (g, want)


def torch_error(fn):
    """The exception fn(torch) raises (fn takes the module: torch or tensord)."""
    try:
        fn(torch)
    except Exception as e:  # noqa: BLE001
        return e
    raise AssertionError("torch did not raise")


DEFERRED = "\n  [tensord: "


def torch_message(e):
    """The PyTorch part of an error message: an error found while executing (raised at
    the next sync) carries a last line naming the op and the user's file:line."""
    msg = str(e)
    if DEFERRED in msg:
        head, tail = msg.split(DEFERRED, 1)
        assert tail.endswith("]") and " failed" in tail, msg
        return head
    return msg


def assert_raises_like(fn_td, fn_torch, prefix=None):
    """Both raise: same exception type and message (with prefix, the first prefix
    characters of the messages' first lines: where the messages name each library's
    classes, or torch's carries more)."""
    try:
        fn_torch()
    except Exception as e:
        want = e
    else:
        raise AssertionError("torch did not raise")
    try:
        fn_td()
        td.synchronize()  # an error only the kernel finds surfaces here (and is consumed)
    except Exception as e:
        assert type(e) is type(want), (type(e), type(want), str(e), str(want))
        if prefix is None:
            assert torch_message(e) == str(want), (str(e), str(want))
        else:
            assert str(e).split("\n")[0][:prefix] == str(want).split("\n")[0][:prefix], (str(e), str(want))
        return e
    raise AssertionError("tensord did not raise %r" % (want,))


def assert_same_outcome(run, errors=(RuntimeError,), check=None):
    """run(module) under torch and tensord: the same value (check(got, want), assert_same
    by default), or the same exception and message when torch raises one of errors."""
    try:
        want = run(torch)
    except errors:
        assert_raises_like(lambda: run(td), lambda: run(torch))
        return
    (check or assert_same)(run(td), want)


def rerun_under_fake_gpus(path, extra_env=None):
    """Runs test file `path` again under pytest in a subprocess with TENSORD_FAKE_GPUS=2,
    so that conftest's session daemon there serves 2 host stand-in GPUs (and is checked
    for a clean, sanitizer-quiet exit); fails with the child's output if it fails.  For
    modules that need a daemon with GPUs: the client holds one connection per process."""
    import os
    import subprocess
    import sys
    env = dict(os.environ)
    env["TENSORD_FAKE_GPUS"] = "2"
    env.update(extra_env or {})
    env.pop("TENSORD_ADDRESS", None)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", os.path.abspath(path)],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 0, out[-20000:]
    assert " passed" in out and " failed" not in out, out[-20000:]
