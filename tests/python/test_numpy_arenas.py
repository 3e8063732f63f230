"""numpy's own arrays in tensord storage (numpy's data-memory handler, NEP 49;
docs/design/shared_memory.md): with TENSORD_NUMPY_ARENAS=1, over the shared-memory transport
an array numpy allocates (64 KiB and up) is a tensord storage, so from_numpy/as_tensor of it share memory both ways as
torch.from_numpy does.  Every sharing check runs the same steps on torch 1.13 and compares.
Plus: small arrays copy (the documented difference), lifetimes in both orders (daemon bytes
back to where they were), numpy code keeps its results, a forked child gets its own copy,
a hook allocating arrays inside backward does not deadlock, the switch and gRPC copy.
The cache of freed blocks: reused without a daemon allocation, never while a from_numpy
view (or another process) can reach the block, zeroed for np.zeros, given back at
empty_cache(), on reconnect and under a session memory quota, forgotten in a forked child."""
import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import tensord as td
from conftest import start_daemon, stop_daemon

pytestmark = pytest.mark.skipif(td.transport() != "shm" or os.environ.get("TENSORD_NUMPY_ARENAS") == "0",
                                reason="numpy arenas need the shared-memory transport")

if td.transport() == "shm":
    # opt-in (TENSORD_NUMPY_ARENAS=1 at start-up); this process turns it on here, so the
    # suites after this one run with it too
    td._C.numpy_arena_install(64 * 1024, 32 << 20)

MIB = 1 << 20

BIG = 1 << 15  # elements: at least 64 KiB for every dtype below except bool/uint8/int8


def run_sub(script, file=False, **env):
    """Runs script in a fresh interpreter (from a file when it starts processes by spawn)."""
    e = dict(os.environ, TENSORD_NUMPY_ARENAS="1")
    e.update(env)
    e = {k: v for k, v in e.items() if v is not None}  # None: unset
    code = textwrap.dedent(script)
    if file:
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
            f.write(code)
        args = [f.name]
    else:
        args = ["-c", code]
    try:
        out = subprocess.run([sys.executable] + args, env=e, capture_output=True, text=True, timeout=120)
    finally:
        if file:
            os.unlink(f.name)
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


def cache():
    return td._C.numpy_arena_cache_stats()


def test_calloc_blocks_are_zero():
    """np.zeros of a fresh block relies on EMPTY's zeroing, of a cached one on memset."""
    hits = cache()["hits"]
    for _ in range(3):
        a = np.full(1 << 16, 7.5)
        del a
        z = np.zeros(1 << 16)  # the block a left in the cache
        assert not z.any()
        assert td.from_numpy(z).abs().sum().item() == 0.0
        del z
    assert cache()["hits"] >= hits + 3


def test_freed_blocks_are_reused_without_the_daemon():
    rng = np.random.default_rng(0)

    def step():
        x = rng.standard_normal(3 * MIB // 16)  # 1.5 MiB
        ref = x.copy()
        x *= 2.0
        np.testing.assert_array_equal(x, ref * 2.0)
    step()  # the blocks one step needs at once
    c0 = cache()
    assert c0["blocks"] >= 2
    base = td.stats()["allocs"]
    for i in range(200):
        step()
    c1 = cache()
    assert c1["daemon_allocs"] == c0["daemon_allocs"]
    assert c1["hits"] >= c0["hits"] + 200
    td.synchronize()
    assert td.stats()["allocs"] == base  # not one EMPTY for all those arrays


def test_sizes_round_to_classes_and_realloc_in_place():
    a = np.empty(100_001, np.uint8)
    del a
    hits = cache()["hits"]
    b = np.empty(100_003, np.uint8)  # the same class (1/8 of a power of two)
    assert cache()["hits"] == hits + 1
    b[:] = 3
    b.resize(100_100, refcheck=False)  # grows within its class: stays, keeps its bytes
    assert (b[:100_003] == 3).all() and b.shape == (100_100,)


def test_aliased_block_is_never_reused_while_the_tensor_lives():
    n = 1 << 17
    a = np.arange(n, dtype=np.float64)
    t = td.from_numpy(a)
    a[1] = -5.0        # through the array ...
    assert t[1].item() == -5.0
    t[2] = 11.0        # ... and through the tensor
    assert a[2] == 11.0
    ref = a.copy()
    released = cache()["released"]
    del a
    gc.collect()
    assert cache()["released"] == released + 1  # back to the daemon, not into the cache
    keep = [np.full(n, float(i)) for i in range(8)] + [np.zeros(n) for _ in range(4)]
    keep += [np.empty(n) for _ in range(4)]
    for k in keep[-4:]:
        k.fill(-1.0)
    np.testing.assert_array_equal(t.numpy(), ref)
    del keep
    for _ in range(20):
        x = np.ones(n)
        x *= 7
        del x
    np.testing.assert_array_equal(t.numpy(), ref)
    t.add_(1)
    np.testing.assert_array_equal(t.numpy(), ref + 1)


def test_aliased_block_handed_to_another_process_outlives_the_array():
    out = run_sub("""
        import numpy as np, tensord as td
        import tensord.multiprocessing as mp

        def child(q, r, go):
            t = q.get()
            go.wait()  # the parent has dropped its array and tensor, and allocated more
            r.put(float(t.sum().item()))
            r.put(t[:3].tolist())

        if __name__ == "__main__":
            td.transport()
            ctx = mp.get_context("spawn")
            q, r, go = ctx.Queue(), ctx.Queue(), ctx.Event()
            p = ctx.Process(target=child, args=(q, r, go))
            p.start()
            a = np.arange(1 << 17, dtype=np.float64)
            t = td.from_numpy(a)
            a[0] = 1000.0
            q.put(t)
            expect = float(a.sum())
            del a, t
            junk = [np.full(1 << 17, -3.0) for _ in range(10)]
            for _ in range(10):
                x = np.empty(1 << 17); x.fill(9.0); del x
            go.set()
            got, head = r.get(), r.get()
            p.join()
            print(got == expect, head)
    """, file=True)
    assert out == "True [1000.0, 1.0, 2.0]"


def test_empty_cache_gives_the_blocks_back():
    td.cpu.empty_cache()  # what earlier tests left cached
    base = in_use()
    arrs = [np.empty(2 * MIB, np.uint8) for _ in range(4)]
    del arrs
    assert cache()["bytes"] >= 8 * MIB
    assert in_use() >= base + 8 * MIB  # cached blocks still count as the session's
    td.cpu.empty_cache()
    assert cache()["blocks"] == 0
    assert in_use() <= base + (1 << 16)


def test_cache_is_bounded():
    lim = cache()["limit"]
    arrs = [np.empty(4 * MIB, np.uint8) for _ in range(3 * lim // (4 * MIB))]
    del arrs
    c = cache()
    assert 0 < c["bytes"] <= lim


def test_forked_child_forgets_the_parents_cache():
    a = np.empty(3 * MIB, np.uint8)
    addr = a.ctypes.data
    del a  # cached in the parent
    assert cache()["blocks"] >= 1
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            c0 = cache()["blocks"]
            b = np.empty(3 * MIB, np.uint8)  # before the child connects: numpy's memory
            b.fill(1)
            td.ones(1).sum().item()        # the child's own session
            c = np.empty(3 * MIB, np.uint8)
            c.fill(2)
            t = td.from_numpy(c)
            ok = [c0, b.ctypes.data != addr, c.ctypes.data != addr, t[5].item()]
            os.write(w, repr(ok).encode())
        finally:
            os._exit(0)
    os.close(w)
    got = os.read(r, 1000).decode()
    os.waitpid(pid, 0)
    assert got == "[0, True, True, 2]"
    d = np.empty(3 * MIB, np.uint8)  # the parent's cached block, untouched by the child
    assert d.ctypes.data == addr


def test_reconnect_drops_the_cache():
    out = run_sub("""
        import numpy as np, tensord as td
        from tensord import _C, _daemon
        td.transport()
        for _ in range(3):
            a = np.empty(1 << 20, np.uint8); del a
        before = _C.numpy_arena_cache_stats()["blocks"]
        _daemon.reconnect()
        after = _C.numpy_arena_cache_stats()["blocks"]
        a = np.arange(1 << 17, dtype=np.float64)
        t = td.from_numpy(a)
        a[3] = -1
        t.mul_(2)
        del a
        b = np.empty(1 << 20, np.uint8); del b
        b = np.empty(1 << 20, np.uint8); del b
        s = _C.numpy_arena_cache_stats()
        print(before, after, t[:4].tolist(), s["blocks"], s["hits"] >= 1)
    """)
    assert out == "1 0 [0.0, 2.0, 4.0, -2.0] 1 True"


@pytest.fixture
def quota_daemon(tmp_path):
    proc, addr, errp = start_daemon(str(tmp_path), extra_env={"TENSORD_SESSION_MEMORY_LIMIT": "32M"})
    yield addr
    rc, err = stop_daemon(proc, errp)
    assert rc == 0 and "ERROR: AddressSanitizer" not in err, err


def test_cache_within_the_session_quota(quota_daemon):
    """The cache holds at most an eighth of the quota, and gives its blocks back when an
    allocation (numpy's or an op's) runs out of memory: it never makes the session fail."""
    out = run_sub("""
        import numpy as np, tensord as td
        from tensord import _C
        MIB = 1 << 20
        x = td.ones(26 * MIB // 4)                 # 26 MiB of the 32
        lim = _C.numpy_arena_cache_stats()["limit"]
        arrs = [np.empty(MIB, np.uint8) for _ in range(4)]
        del arrs
        held = _C.numpy_arena_cache_stats()["bytes"]   # 4 MiB cached: 30 in use
        a = np.ones(3 * MIB // 8)                  # 3 MiB, another class: over the quota ...
        blocks = _C.numpy_arena_stats()[0]         # ... unless the cache gives way
        after = _C.numpy_arena_cache_stats()["bytes"]
        a += 1
        del a
        arrs = [np.empty(MIB, np.uint8) for _ in range(3)]
        del arrs
        y = td.ones(5 * MIB // 4)                  # an op: 26 + 3 cached + 5 > 32
        try:
            y.sum().item()
            op = "ok"
        except RuntimeError as e:
            op = "quota" if "quota" in str(e) else str(e)
        empty = _C.numpy_arena_cache_stats()["bytes"]
        z = td.ones(5 * MIB // 4)                  # fits with the cache given back
        print(lim, held, blocks, after, op, empty, z.sum().item() == 5 * MIB // 4, x[0].item())
    """, TENSORD_ADDRESS=quota_daemon, TENSORD_NUMPY_ARENA_CACHE="64M")
    lim, held, blocks, after, op, empty, ok, x0 = out.split()
    assert int(lim) == 4 * MIB
    assert int(held) == 4 * MIB and int(blocks) == 1 and int(after) == 0
    assert op in ("ok", "quota") and int(empty) == 0 and ok == "True" and x0 == "1.0"


def test_threads_allocate_and_free_concurrently():
    """Threads in copies of the connecting thread's context (so numpy's allocator is ours
    there too) allocate, share and free at once, with and without the GIL in the handler;
    every array keeps its own values, and nothing leaks into the table."""
    import contextvars
    import threading
    blocks0 = td._C.numpy_arena_stats()[0]
    errors = []

    def work(seed):
        try:
            rng = np.random.default_rng(seed)
            for i in range(150):
                n = int(rng.integers(1 << 13, 1 << 16))
                a = np.full(n, float(seed * 1000 + i))
                b = np.zeros(n)
                assert not b.any()
                b += a  # numpy releases the GIL in the loop; others allocate meanwhile
                if i % 25 == 0:
                    # shared, or a copy when the allocation found the client busy with
                    # another thread's call (numpy's memory then: the documented limit)
                    t = td.from_numpy(b)
                    t.add_(1)
                    v = seed * 1000 + i
                    assert (t.numpy() == v + 1).all()
                    assert (b == v + 1).all() or (b == v).all()
                    del t
                else:
                    assert (b == seed * 1000 + i).all()
                del a, b
        except BaseException as e:  # reported below
            errors.append(e)

    ts = [threading.Thread(target=contextvars.copy_context().run, args=(work, s)) for s in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    gc.collect()
    assert td._C.numpy_arena_stats()[0] == blocks0
    c = cache()
    assert c["bytes"] <= c["limit"] and c["hits"] > 0
