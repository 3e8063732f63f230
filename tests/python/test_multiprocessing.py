"""tensord.multiprocessing against torch.multiprocessing (1.13): tensors travel between
processes as capability tokens, every start method, real processes and the real daemon.
Each scenario runs in a fresh interpreter (start methods re-import __main__)."""
import os
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import start_daemon, stop_daemon

HEAD = """
import os, sys, time
import numpy as np
LIB = sys.argv[1]
if LIB == "torch":
    import torch
    import torch.multiprocessing as mp
else:
    import tensord as torch
    import tensord.multiprocessing as mp
"""


def _run(body, lib, env=None, timeout=240):
    script = HEAD + textwrap.dedent(body)
    p = subprocess.run([sys.executable, "-c", script, lib], env=dict(os.environ if env is None else env),
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, "rc %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout, p.stderr)
    return p.stdout.strip()


def _write_script(tmp_path, body, lib):
    # spawn and forkserver re-import the main module: it must be a file
    f = tmp_path / ("main_%s.py" % lib)
    f.write_text(HEAD + textwrap.dedent(body))
    return str(f)


QUEUE = """
def child(q, r, done):
    t = q.get()
    t.add_(1)                         # shared storage: the parent sees this write
    r.put(t * 2)
    r.put(torch.nn.Parameter(torch.ones(2)))
    done.wait()                       # torch's fd passing needs the sender alive

if __name__ == "__main__":
    out = []
    for method in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(method)
        q, r, done = ctx.Queue(), ctx.Queue(), ctx.Event()
        a = torch.arange(6, dtype=torch.float32)
        a.share_memory_()
        p = ctx.Process(target=child, args=(q, r, done))
        p.start()
        q.put(a)
        b = r.get()
        prm = r.get()
        done.set()
        p.join()
        out.append([method, a.tolist(), b.tolist(), a.is_shared(), b.is_shared(), p.exitcode,
                    type(prm).__name__, prm.requires_grad])
    print(out)
"""


def test_queue_every_start_method_like_torch(tmp_path):
    got = subprocess.run([sys.executable, _write_script(tmp_path, QUEUE, "td"), "td"], capture_output=True,
                         text=True, timeout=240)
    want = subprocess.run([sys.executable, _write_script(tmp_path, QUEUE, "torch"), "torch"], capture_output=True,
                          text=True, timeout=240)
    assert got.returncode == 0, got.stderr
    assert want.returncode == 0, want.stderr
    assert got.stdout == want.stdout
    assert "[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]" in got.stdout


POOL_SPAWN = """
def square(x):
    return x * x

def fails(i, n):
    if i == n:
        raise ValueError("boom in %d" % i)

if __name__ == "__main__":
    with mp.Pool(2) as pool:
        res = pool.map(square, [torch.tensor([1., 2.]), torch.tensor([3.])])
    print([r.tolist() for r in res])
    mp.spawn(fails, args=(5,), nprocs=2)          # nobody fails
    try:
        mp.spawn(fails, args=(1,), nprocs=2)
    except mp.ProcessRaisedException as e:
        print("raised", "ValueError: boom in 1" in str(e), e.error_index)
    print(sorted(mp.get_all_start_methods()))
"""


def test_pool_and_spawn_like_torch(tmp_path):
    outs = []
    for lib in ("td", "torch"):
        p = subprocess.run([sys.executable, _write_script(tmp_path, POOL_SPAWN, lib), lib], capture_output=True,
                           text=True, timeout=240)
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout)
    assert outs[0] == outs[1]
    assert "raised True 1" in outs[0]


STORAGE_QUEUE = """
def child(q, r, done):
    s, u = q.get(), q.get()
    s[0] = 42                         # the parent's storage: it sees both writes
    u[7] = 0x40                       # the high byte of element 1: 1.0 becomes 4.0
    r.put((type(s).__name__, type(u).__name__, s.tolist()))
    done.wait()

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    q, r, done = ctx.Queue(), ctx.Queue(), ctx.Event()
    a = torch.arange(4, dtype=torch.float32)
    a.share_memory_()
    p = ctx.Process(target=child, args=(q, r, done))
    p.start()
    q.put(a[2:].storage())
    q.put(a.storage().untyped())
    print(r.get(), a.tolist())
    done.set()
    p.join()
"""


def test_storages_travel_shared_like_torch():
    assert _run(STORAGE_QUEUE, "td") == _run(STORAGE_QUEUE, "torch")


def test_non_leaf_requiring_grad_is_refused_like_torch():
    body = """
    import multiprocessing.reduction as red, io
    x = torch.ones(2, requires_grad=True) * 2
    try:
        red.ForkingPickler(io.BytesIO()).dump(x)
    except RuntimeError as e:
        print(str(e).split(".")[0])
    """
    assert _run(body, "td") == _run(body, "torch")


def test_token_is_one_shot_and_unknown_tokens_fail():
    body = """
    from tensord import _C
    a = torch.arange(5)
    tok, desc = _C.share(a, 1)
    assert _C.open(tok, desc).tolist() == [0, 1, 2, 3, 4]
    for t in (tok, bytes(16), os.urandom(16)):
        try:
            _C.open(t, desc).tolist()
            print("opened")
        except RuntimeError as e:
            print("unknown shared-tensor token" in str(e))
    # a multi-use token: opened twice, then revoked
    tok2, desc2 = _C.share(a, 0)
    x, y = _C.open(tok2, desc2), _C.open(tok2, desc2)
    x.add_(10)
    print(y.tolist(), a.tolist())
    _C.revoke(tok2)
    try:
        _C.open(tok2, desc2).tolist()
    except RuntimeError as e:
        print("revoked" in str(e))
    # a view description outside the storage is refused by the daemon
    bad = (desc[0], desc[1], 0, (100,), (1,))
    try:
        _C.open(_C.share(a, 1)[0], bad).tolist()
    except RuntimeError as e:
        print("outside" in str(e))
    """
    assert _run(body, "td").split("\n") == ["True"] * 3 + ["[10, 11, 12, 13, 14] [10, 11, 12, 13, 14]"] + \
        ["True", "True"]


def _stats(addr):
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    out = subprocess.run([sys.executable, "-c", "from tensord import _C; print(_C.stats())"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return eval(out.stdout)


def _wait_baseline(addr, base, keys=("sessions", "tensors", "storages", "bytes_in_use"), timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        s = _stats(addr)
        if all(s[k] == base[k] for k in keys) or time.monotonic() > deadline:
            return s
        time.sleep(0.2)


KILLED_HOLDER = """
import signal
from tensord import _C
ctx = mp.get_context("fork")

def holder(q, ready):
    t = q.get()                        # opened: this session holds the storage too
    t.add_(1); t.sum().item()
    ready.set()
    time.sleep(600)

big = torch.zeros(1 << 20)             # 4 MiB
q, ready = ctx.Queue(), ctx.Event()
ps = [ctx.Process(target=holder, args=(q, ready)) for _ in range(2)]
for p in ps:
    p.start()
q.put(big); q.put(big[: 1000])
assert ready.wait(60)
time.sleep(0.5)
for p in ps:
    os.kill(p.pid, signal.SIGKILL)
    p.join()
print(float(big[0].item()), float(big[2000].item()))
del big
import gc; gc.collect()
torch.zeros(1).item()
"""


def test_sigkilled_holders_leave_nothing(fresh_daemon, tmp_path):
    """Processes holding a shared tensor are SIGKILLed: the storage lives on with the
    parent, and once the parent is gone too the daemon is back at its baseline."""
    addr = fresh_daemon["address"]
    base = _stats(addr)
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    out = _run(KILLED_HOLDER, "td", env=env)
    assert out.split()[0] in ("1.0", "2.0") and out.split()[1] == "1.0", out
    s = _wait_baseline(addr, base)
    for k in ("sessions", "tensors", "storages", "bytes_in_use"):
        assert s[k] == base[k], (k, s, base)


PUT_AND_EXIT = """
ctx = mp.get_context("fork")

def producer(q):
    q.put(torch.arange(1000) * 3)      # then exits at once: the token outlives it
    q.close(); q.join_thread()

q = ctx.Queue()
p = ctx.Process(target=producer, args=(q,))
p.start()
p.join()
t = q.get()
print(int(t.sum().item()))
q2 = ctx.Queue()
p = ctx.Process(target=producer, args=(q2,))
p.start(); p.join()
print("unopened")                      # never taken: reclaimed after the linger time
"""


def test_pinned_token_outlives_its_producer_then_expires(tmp_path):
    proc, addr, errp = start_daemon(str(tmp_path), args=("--share-linger", "1"))
    try:
        base = _stats(addr)
        out = _run(PUT_AND_EXIT, "td", env=dict(os.environ, TENSORD_ADDRESS=addr))
        assert out.split("\n") == [str(3 * 999 * 1000 // 2), "unopened"]
        time.sleep(1.5)
        s = _wait_baseline(addr, base)
        for k in ("sessions", "tensors", "storages", "bytes_in_use"):
            assert s[k] == base[k], (k, s, base)
    finally:
        rc, err = stop_daemon(proc, errp)
    assert rc == 0 and "AddressSanitizer" not in err, err


KILLED_BEFORE_FILL = """
import signal
ctx = mp.get_context("fork")

def producer(q):
    a = torch.rand(512, 512)
    for _ in range(200):                   # a backlog in the daemon, then the put: the token
        a = a @ a / 512                    # travels before the daemon has run its fill
    q.put(a)
    q.close(); q.join_thread()             # the token is on the pipe
    os.kill(os.getpid(), signal.SIGKILL)   # before the backlog has run

q = ctx.Queue()
p = ctx.Process(target=producer, args=(q,))
p.start()
t = q.get()
p.join()
try:
    print("got", t.shape == (512, 512) and bool(torch.isfinite(t).all().item()))
except RuntimeError as e:
    print("error", "ended before it was made" in str(e))
print((torch.ones(3) * 2).sum().item())   # this session goes on
"""


def test_producer_killed_before_its_fill_ran(tmp_path):
    # the hand-over does not wait for the daemon: a producer SIGKILLed right after its put
    # may die before its records (and the token's fill) ran; the opener then gets a clear
    # error where it uses the tensor (or the tensor, if the fill made it), never a hang,
    # and the daemon returns to its baseline
    proc, addr, errp = start_daemon(str(tmp_path), args=("--share-linger", "1"))
    try:
        base = _stats(addr)
        out = _run(KILLED_BEFORE_FILL, "td", env=dict(os.environ, TENSORD_ADDRESS=addr)).split("\n")
        assert out[0] in ("got True", "error True") and out[1] == "6.0", out
        time.sleep(1.5)
        s = _wait_baseline(addr, base)
        for k in ("sessions", "tensors", "storages", "bytes_in_use"):
            assert s[k] == base[k], (k, s, base)
    finally:
        rc, err = stop_daemon(proc, errp)
    assert rc == 0 and "AddressSanitizer" not in err, err


PRIVATE = """
import tensord as torch
import tensord.multiprocessing as mp
from tensord import _daemon

def child(q, r):
    t = q.get()
    t.mul_(2)
    r.put(t.sum())

if __name__ == "__main__":
    a = torch.arange(4.)
    for m in ("spawn", "forkserver", "fork"):
        ctx = mp.get_context(m)
        q, r = ctx.Queue(), ctx.Queue()
        p = ctx.Process(target=child, args=(q, r))
        p.start()
        q.put(a)
        s = r.get()
        p.join()
        print(m, s.item(), a.tolist(), _daemon.private_daemon_pid() is not None)
"""


def test_children_reach_the_parents_private_daemon(tmp_path):
    """No TENSORD_ADDRESS: the parent starts its private daemon, and spawn/forkserver
    children find it through the address exported for them."""
    f = tmp_path / "main.py"
    f.write_text(PRIVATE)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    env.pop("TENSORD_ADDRESS", None)
    p = subprocess.run([sys.executable, str(f)], env=env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:3] == ["spawn 12.0 [0.0, 2.0, 4.0, 6.0] True",
                                        "forkserver 24.0 [0.0, 4.0, 8.0, 12.0] True",
                                        "fork 48.0 [0.0, 8.0, 16.0, 24.0] True"]


CHILD_FIRST = """
import tensord as torch
import tensord.multiprocessing as mp
from tensord import _daemon

def child(q):
    q.put(torch.arange(3.) * 2)

if __name__ == "__main__":
    for m in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(m)
        q = ctx.Queue()
        p = ctx.Process(target=child, args=(q,))
        p.start()  # the parent has not touched tensord yet (first round)
        t = q.get()
        p.join()
        print(m, t.tolist(), _daemon.private_daemon_pid() is not None)
"""


def test_children_started_before_the_parent_connected(tmp_path):
    """No TENSORD_ADDRESS and a parent that never used tensord before starting its child:
    the child's tensors are still the parent's to open (Process.start connects the parent
    and exports its daemon's address first), under every start method."""
    f = tmp_path / "main.py"
    f.write_text(CHILD_FIRST)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    env.pop("TENSORD_ADDRESS", None)
    p = subprocess.run([sys.executable, str(f)], env=env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:3] == ["fork [0.0, 2.0, 4.0] True", "spawn [0.0, 2.0, 4.0] True",
                                        "forkserver [0.0, 2.0, 4.0] True"]


SHORT_PRODUCERS = """
class Slow:
    # pickled by the queue's feeder thread after producer() has returned
    def __reduce__(self):
        time.sleep(0.2)
        return (int, (0,))

def producer(q, n):
    import multiprocessing.util as util
    # tensord's exit hook is there from the child's start (priority -10: after the feeders)
    q.put(sum(1 for key in util._finalizer_registry if key[0] == -10))
    q.put(Slow())
    for i in range(n):
        q.put(torch.full((64, 64), float(i)))
    q.put(None)

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    for k in range(5):
        q = ctx.Queue()
        p = ctx.Process(target=producer, args=(q, 6))
        p.start()
        assert q.get(timeout=60) == 1
        assert q.get(timeout=60) == 0
        got = []
        while True:
            t = q.get(timeout=60)
            if t is None:
                break
            got.append(t.sum().item())
        p.join(60)
        assert got == [64 * 64 * float(i) for i in range(6)], got
    print("ok")
"""


def test_producer_ending_right_after_its_puts(tmp_path):
    """A child that puts and returns at once: its queue's feeder pickles (and so reserves
    and fills tokens) while the child is already exiting; every tensor must still arrive
    (the child's exit hook is registered when it starts, not at its first reservation:
    registered during the exit, it missed the exit's snapshot of finalizers).  A slow
    first item makes the feeder pickle the tensors after the child returned."""
    proc, addr, errp = start_daemon(str(tmp_path), args=("--share-linger", "1"))
    try:
        p = subprocess.run([sys.executable, _write_script(tmp_path, SHORT_PRODUCERS, "td"), "td"],
                           env=dict(os.environ, TENSORD_ADDRESS=addr), capture_output=True, text=True, timeout=240)
        assert p.returncode == 0, p.stderr[-3000:]
        assert p.stdout.strip() == "ok"
    finally:
        stop_daemon(proc, errp)
