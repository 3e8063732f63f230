"""numpy's own arrays in tensord storage (numpy's data-memory handler, NEP 49;
docs/design/shared_memory.md): with TENSORD_NUMPY_ARENAS=1, over the shared-memory transport
an array numpy allocates (64 KiB and up) is a tensord storage, so from_numpy/as_tensor of it share memory both ways as
torch.from_numpy does.  Every sharing check runs the same steps on torch 1.13 and compares.
Plus: small arrays copy (the documented difference), lifetimes in both orders (daemon bytes
back to where they were), numpy code keeps its results, a forked child gets its own copy,
a hook allocating arrays inside backward does not deadlock, the switch and gRPC copy."""
import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import tensord as td

pytestmark = pytest.mark.skipif(td.transport() != "shm" or os.environ.get("TENSORD_NUMPY_ARENAS") == "0",
                                reason="numpy arenas need the shared-memory transport")

if td.transport() == "shm":
    # opt-in (TENSORD_NUMPY_ARENAS=1 at start-up); this process turns it on here, so the
    # suites after this one run with it too
    td._C.numpy_arena_install(64 * 1024, 32 << 20)

BIG = 1 << 15  # elements: at least 64 KiB for every dtype below except bool/uint8/int8


def run_sub(script, **env):
    e = dict(os.environ, TENSORD_NUMPY_ARENAS="1")
    e.update(env)
    e = {k: v for k, v in e.items() if v is not None}  # None: unset
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=e, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def both(fn):
    return fn(td), fn(torch)


def in_use():
    gc.collect()
    td.synchronize()
    td.ones(1).sum().item()  # queued releases travel with the next message
    return td.stats()["bytes_in_use"]


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.int64, np.int32, np.int16, np.uint8, np.bool_,
                                np.complex64])
def test_fresh_array_shares_both_ways(dt):
    n = 1 << 17  # 128 Ki elements: over the threshold for every dtype

    def run(lib):
        a = (np.arange(n) % 7).astype(dt).reshape(64, -1)
        t = lib.from_numpy(a)
        a[3, 5] = 1
        a[10] = 0
        r1 = t.sum().item()
        if dt is np.bool_:
            t.logical_not_()
        else:
            t.add_(2)
            t[5].mul_(3)
        return [r1, a.sum().item(), a[5, :7].tolist(), t[3].tolist()[:9]]
    r_td, r_pt = both(run)
    assert r_td == r_pt


@pytest.mark.parametrize("view", ["t", "slice", "step", "column", "3d"])
def test_views_of_fresh_arrays(view):
    f = {"t": lambda x: x.T, "slice": lambda x: x[3:, 100:], "step": lambda x: x[::3, 1::5],
         "column": lambda x: x[:, 17], "3d": lambda x: x.reshape(16, 16, -1)[1:, ::2, 3:]}[view]

    def run(lib):
        a = np.arange(256 * 300, dtype=np.float64).reshape(256, 300)
        v = f(a)
        t = lib.from_numpy(v)
        v[(0,) * v.ndim] = -7
        s = t.sum().item()
        t.mul_(-1)
        u = lib.as_tensor(f(a))  # a second view of the same array
        u.add_(0.5)
        return [s, a.sum().item(), a[:4, :4].tolist(), t.flatten()[:5].tolist(), t.shape == v.shape]
    r_td, r_pt = both(run)
    assert r_td == r_pt


def test_small_arrays_copy():
    """Below TENSORD_NUMPY_ARENA_MIN the array stays numpy's: from_numpy copies (torch
    would share; the documented difference)."""
    a = np.zeros(100)
    t = td.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 0.0
    assert torch.from_numpy(a)[0].item() == 5.0


def test_array_outlives_tensor_and_back():
    base = in_use()
    a = np.ones(1 << 20)  # 8 MiB
    assert in_use() >= base + (8 << 20)
    t = td.from_numpy(a[::2])
    del a
    t.mul_(3)
    assert t.sum().item() == 3.0 * (1 << 19)
    del t
    assert in_use() <= base + (1 << 16)

    a = np.full(1 << 20, 2.0)
    t = td.from_numpy(a)
    del t
    a += 1
    assert a.sum() == 3.0 * (1 << 20)
    del a
    assert in_use() <= base + (1 << 16)


def test_numpy_workload_keeps_its_results():
    script = """
        import numpy as np, tensord as td
        td.transport()
        rng = np.random.default_rng(3)
        x = rng.standard_normal((300, 300))
        y = x @ x.T + np.eye(300)
        w = np.linalg.solve(y, np.ones(300))
        s = np.sort(np.concatenate([x.ravel(), y.ravel()]))
        g = np.fromiter((i * 0.5 for i in range(50000)), dtype=np.float64)  # grows by realloc
        z = np.zeros(1000)
        z.resize(40000, refcheck=False)                                     # realloc into a block
        z[-1] = 4
        f = np.fft.rfft(s[:65536]).real
        print(repr([float(w.sum()), float(s[::1000].sum()), float(g.sum()), float(z.sum()), float(f[:10].sum()),
                    td._C.numpy_arena_stats()[0] > 0]))
    """
    on = run_sub(script)
    off = run_sub(script, TENSORD_NUMPY_ARENAS="0")
    assert on.replace("True]", "X]") == off.replace("False]", "X]") and on.endswith("True]")


def test_forked_child_gets_its_own_copy():
    base = in_use()
    a = np.arange(1 << 16, dtype=np.float64)
    t = td.from_numpy(a)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            a[0] = -1  # the child's copy, as fork's copy-on-write gives for malloc'd memory
            b = np.ones(1 << 16)
            msg = repr([a[:2].tolist(), float(b.sum())])
            del a, b
            gc.collect()  # frees an inherited block: never the parent's session
            os.write(w, msg.encode())
        finally:
            os._exit(0)
    os.close(w)
    got = os.read(r, 1000).decode()
    os.waitpid(pid, 0)
    assert got == repr([[-1.0, 1.0], float(1 << 16)])
    assert a[0] == 0.0 and t[0].item() == 0.0
    t.add_(1)
    assert a[1] == 2.0
    del a, t
    assert in_use() <= base + (1 << 16)


def test_hook_allocating_arrays_inside_backward():
    """The engine calls the hook with the client's lock held: the allocator must not wait."""
    out = run_sub("""
        import numpy as np, tensord as td
        x = td.ones(8, requires_grad=True)
        seen = []
        def hook(g):
            a = np.ones(1 << 16)          # large: would be a block
            seen.append(float(a.sum()))
            del a
            return g * 2
        x.register_hook(hook)
        (x * 3).sum().backward()
        print(seen, x.grad.tolist())
    """)
    assert out == "[65536.0] [6.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0]"


def test_array_outlives_its_client():
    out = run_sub("""
        import numpy as np, tensord as td
        from tensord import _C
        td.transport()  # connects: arrays allocated before that are numpy's own
        a = np.arange(1 << 16, dtype=np.float64)
        t = td.from_numpy(a)
        t.add_(1)
        _C.disconnect()
        a[0] = 100  # still mapped, now private
        print(a[:3].tolist(), _C.numpy_arena_stats())
        del a, t
    """)
    assert out == "[100.0, 2.0, 3.0] (0, 0)"


@pytest.mark.parametrize("env", [{"TENSORD_NUMPY_ARENAS": None}, {"TENSORD_NUMPY_ARENAS": "0"},
                                 {"TENSORD_TRANSPORT": "grpc"}])
def test_switched_off_or_grpc_copies(env):
    out = run_sub("""
        import numpy as np, tensord as td
        a = np.zeros(1 << 16)
        t = td.from_numpy(a)
        a[0] = 1
        print(t[0].item(), td._C.numpy_arena_stats())
    """, **env)
    assert out == "0.0 (0, 0)"


def test_threshold_from_env():
    out = run_sub("""
        import numpy as np, tensord as td
        td.transport()
        a = np.zeros(100)
        t = td.from_numpy(a)
        a[0] = 1
        print(t[0].item())
    """, TENSORD_NUMPY_ARENA_MIN="512")
    assert out == "1.0"


def test_calloc_blocks_are_zero():
    """np.zeros of a block relies on EMPTY's zeroing: reuse after a dirty block is freed."""
    for _ in range(3):
        a = np.full(1 << 16, 7.5)
        del a
        z = np.zeros(1 << 16)
        assert not z.any()
        assert td.from_numpy(z).abs().sum().item() == 0.0
