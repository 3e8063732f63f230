"""numpy's own arrays shared with tensors (numpy's data-memory handler, NEP 49;
docs/design/shared_memory.md, "numpy's own arrays"): on by default, an array numpy
allocates (64 KiB and up) is page-aligned private memory that from_numpy/as_tensor convert
into tensord storage the first time (over the shared-memory transport), so they share
memory both ways as torch.from_numpy does.  Every sharing check runs the same steps on
torch 1.13 and compares.  Plus: the conversion itself (the first from_numpy converts in
place, later ones reuse it, no daemon memory before), small and foreign arrays copy (the
documented difference), lifetimes in both orders (daemon bytes back to where they were),
freed converted memory is private again before numpy reuses it, numpy code keeps its
results, fork before and after a conversion (the child's arrays are its own), a hook
allocating arrays inside backward does not deadlock, a client change, the switch and gRPC
copy, a session memory quota, threads."""
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

MIB = 1 << 20

BIG = 1 << 15  # elements: at least 64 KiB for every dtype below except bool/uint8/int8


def run_sub(script, file=False, **env):
    """Runs script in a fresh interpreter (from a file when it starts processes by spawn)."""
    e = dict(os.environ)
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


def mapping_at(addr):
    """What /proc/self/maps says is mapped at addr: a path, "" or [heap] for private
    memory, "unmapped"."""
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if lo <= addr < hi:
                return parts[5].strip() if len(parts) > 5 else ""
    return "unmapped"


def counts():
    return td._C.numpy_arena_counts()


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


def test_first_from_numpy_converts_later_ones_reuse():
    base = in_use()
    a = np.arange(1 << 17, dtype=np.float64)  # 1 MiB
    addr = a.ctypes.data
    c0 = counts()
    assert in_use() <= base + (1 << 16)  # private memory: nothing in the daemon yet
    assert addr % 4096 == 0 and not mapping_at(addr).startswith("/memfd:")
    t = td.from_numpy(a)
    c1 = counts()
    assert c1["conversions"] == c0["conversions"] + 1 and c1["converted"] == c0["converted"] + 1
    assert a.ctypes.data == addr and a[:3].tolist() == [0.0, 1.0, 2.0]  # in place, bytes kept
    assert mapping_at(addr).startswith("/memfd:tensord")
    assert in_use() >= base + (1 << 20)
    u = td.as_tensor(a[10:])
    v = td.from_numpy(a.reshape(512, 256).T)
    c2 = counts()
    assert c2["conversions"] == c1["conversions"] and c2["reuses"] == c1["reuses"] + 2
    a[11] = -4.0
    assert u[1].item() == -4.0 and v[11, 0].item() == -4.0 and t[11].item() == -4.0
    v.mul_(2)
    assert a[11] == -8.0 and t[12].item() == 24.0
    del a, t, u, v
    assert in_use() <= base + (1 << 16)
    assert counts()["converted"] == c0["converted"]


def test_unconverted_arrays_make_no_daemon_allocation():
    td.synchronize()
    allocs = td.stats()["allocs"]
    c0 = counts()
    for i in range(200):
        x = np.full(3 * MIB // 16, float(i))  # 1.5 MiB
        y = x * 2.0
        assert y[-1] == 2.0 * i
        del x, y
    td.synchronize()
    assert td.stats()["allocs"] == allocs
    assert counts()["conversions"] == c0["conversions"]


@pytest.mark.parametrize("n", [1 << 17, 5 << 20])  # its own pages kept aside, or not (over 16 MiB)
def test_freed_converted_memory_is_private_again(n):
    """numpy frees a converted array while the tensor lives: the tensor keeps the bytes,
    and an array numpy allocates at the same address later is not the tensor's memory."""
    a = np.arange(n, dtype=np.float64)
    addr = a.ctypes.data
    t = td.from_numpy(a)
    assert mapping_at(addr).startswith("/memfd:")  # the storage's pages, at the array's address
    released = counts()["released"]
    del a
    assert counts()["released"] == released + 1
    assert not mapping_at(addr).startswith("/memfd:")  # private memory again (or unmapped)
    again = None
    keep = []
    for i in range(8):
        b = np.empty(n)
        b.fill(-1.0)
        if b.ctypes.data == addr:
            again = b
        keep.append(b)
    np.testing.assert_array_equal(t.numpy(), np.arange(n, dtype=np.float64))
    t.add_(1)
    for b in keep:
        assert (b == -1.0).all()
    if again is not None:  # glibc usually hands the same pages back
        again[0] = 5.0
        assert t[0].item() == 1.0


def test_many_converted_arrays_at_once():
    """More converted arrays than the pages kept aside cover (64 MiB): each keeps sharing,
    and after they are freed, the arrays numpy makes in their place are private."""
    arrs = [np.full(1 << 20, float(i)) for i in range(12)]  # 12 x 8 MiB
    ts = [td.from_numpy(a) for a in arrs]
    for i, (a, t) in enumerate(zip(arrs, ts)):
        a[7] = -i
        t[8] = 100 + i
    assert [t[7].item() for t in ts] == [-float(i) for i in range(12)]
    assert [a[8] for a in arrs] == [100.0 + i for i in range(12)]
    del arrs
    fresh = [np.full(1 << 20, -1.0) for _ in range(12)]
    for i, t in enumerate(ts):
        t.add_(1)
        assert t[0].item() == i + 1.0
    assert all((f == -1.0).all() for f in fresh)


def test_arrays_that_cannot_convert_copy():
    out = run_sub("""
        import ctypes, threading
        import numpy as np
        before = np.zeros(1 << 16)                      # allocated before tensord's handler
        import tensord as td
        cases = {"before": before,
                 "small": np.zeros(100),                  # under the threshold
                 "frombuffer": np.frombuffer(bytearray(1 << 19), np.float64),  # not numpy's memory
                 "ctypes": np.ctypeslib.as_array((ctypes.c_double * (1 << 16))())}
        box = []
        th = threading.Thread(target=lambda: box.append(np.zeros(1 << 16)))  # a fresh numpy context
        th.start(); th.join()
        cases["thread"] = box[0]
        got = []
        for name, a in cases.items():
            t = td.from_numpy(a)
            a[0] = 1
            got.append("%s=%s" % (name, t[0].item()))
        print(" ".join(got), td._C.numpy_arena_counts()["conversions"])
    """)
    assert out == "before=0.0 small=0.0 frombuffer=0.0 ctypes=0.0 thread=0.0 0"


def test_array_outlives_tensor_and_back():
    base = in_use()
    a = np.ones(1 << 20)  # 8 MiB
    t = td.from_numpy(a[::2])
    assert in_use() >= base + (8 << 20)
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
        rng = np.random.default_rng(3)
        x = rng.standard_normal((300, 300))
        y = x @ x.T + np.eye(300)
        td.from_numpy(y).mul_(1.0)                                          # converted
        w = np.linalg.solve(y, np.ones(300))
        s = np.sort(np.concatenate([x.ravel(), y.ravel()]))
        g = np.fromiter((i * 0.5 for i in range(50000)), dtype=np.float64)  # grows by realloc
        z = np.zeros(10000)
        z.resize(40000, refcheck=False)                                     # realloc: moves
        z[-1] = 4
        zs = td.as_tensor(z).sum().item()
        z.resize(39000, refcheck=False)                                     # a converted one, in place
        z[0] = zs
        f = np.fft.rfft(s[:65536]).real
        c = td._C.numpy_arena_counts()
        print(repr([float(w.sum()), float(s[::1000].sum()), float(g.sum()), float(z.sum()), float(f[:10].sum()),
                    c["arrays"] > 0 and c["conversions"] == 2]))
    """
    on = run_sub(script)
    off = run_sub(script, TENSORD_NUMPY_ARENAS="0")
    assert on.replace("True]", "X]") == off.replace("False]", "X]") and on.endswith("True]")


def test_forked_child_gets_its_own_copy():
    """Converted before the fork: the child's array is its own (fork's copy-on-write, as
    for every other array), and it can convert it again into its own session."""
    base = in_use()
    a = np.arange(1 << 16, dtype=np.float64)
    t = td.from_numpy(a)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            a[0] = -1  # the child's copy
            b = np.ones(1 << 16)
            u = td.from_numpy(a)  # converted into the child's session
            u.add_(10)
            msg = repr([a[:2].tolist(), float(b.sum()), td._C.numpy_arena_counts()["converted"]])
            del a, b, u
            gc.collect()  # frees an inherited array: never into the parent's session
            os.write(w, msg.encode())
        finally:
            os._exit(0)
    os.close(w)
    got = os.read(r, 1000).decode()
    os.waitpid(pid, 0)
    assert got == repr([[9.0, 11.0], float(1 << 16), 1])
    assert a[0] == 0.0 and t[0].item() == 0.0
    t.add_(1)
    assert a[1] == 2.0
    del a, t
    assert in_use() <= base + (1 << 16)


def test_fork_before_conversion():
    """An array not yet converted is plain copy-on-write memory at fork; parent and child
    then convert it each into their own session and never see each other's writes."""
    a = np.zeros(1 << 17)
    a[:4] = [1, 2, 3, 4]
    r, w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.read(go_r, 1)  # the parent has converted and written its copy
            t = td.from_numpy(a)
            t.mul_(100)
            a[3] = -1
            msg = repr([a[:4].tolist(), t[:4].tolist(), td._C.numpy_arena_counts()["converted"]])
            os.write(w, msg.encode())
        finally:
            os._exit(0)
    os.close(w)
    t = td.from_numpy(a)
    t.add_(1)
    os.write(go_w, b"x")
    got = os.read(r, 1000).decode()
    os.waitpid(pid, 0)
    assert got == repr([[100.0, 200.0, 300.0, -1.0], [100.0, 200.0, 300.0, -1.0], 1])
    assert a[:4].tolist() == [2.0, 3.0, 4.0, 5.0] and t[3].item() == 5.0


def test_dataloader_workers_over_a_converted_dataset():
    """TensorDataset(from_numpy(X)) with forked workers, as torch: the same batches, and X
    still the dataset's memory in the parent afterwards (each worker got its own copy of
    the converted X at fork; its tensors read the parent's storage)."""
    def run(lib):
        x = np.arange(16384 * 8, dtype=np.float32).reshape(16384, 8)  # 512 KiB
        y = np.arange(16384, dtype=np.int64) * 3                        # 128 KiB
        ds = lib.utils.data.TensorDataset(lib.from_numpy(x), lib.from_numpy(y))
        dl = lib.utils.data.DataLoader(ds, batch_size=2000, num_workers=2)
        batches = [(b[0].numpy().copy(), b[1].numpy().copy()) for b in dl]
        x[5, 1] = -1.0
        ds.tensors[1][7] = -9
        return batches, ds.tensors[0][5, 1].item(), int(y[7])
    (got, g1, g2), (want, w1, w2) = both(run)
    assert len(got) == len(want) == 9
    for (a, b), (c, d) in zip(got, want):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert (g1, g2) == (w1, w2) == (-1.0, -9)


def test_two_threads_convert_one_array():
    """Two threads share one fresh array at once: one converts, the other waits for it
    and reuses its block."""
    import threading
    a = np.arange(1 << 18, dtype=np.float64)
    c0 = counts()
    out = [None, None]
    go = threading.Barrier(2)

    def share(i):
        go.wait()
        out[i] = td.from_numpy(a)

    ts = [threading.Thread(target=share, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    c1 = counts()
    assert c1["conversions"] == c0["conversions"] + 1 and c1["reuses"] == c0["reuses"] + 1
    out[0][3] = -1.0
    out[1][4] = -2.0
    assert a[3] == -1.0 and a[4] == -2.0 and out[1][3].item() == -1.0 and out[0][4].item() == -2.0


def test_hook_allocating_arrays_inside_backward():
    """The engine calls the hook with the client's lock held: the allocator must not wait."""
    out = run_sub("""
        import numpy as np, tensord as td
        x = td.ones(8, requires_grad=True)
        seen = []
        def hook(g):
            a = np.ones(1 << 16)          # large: the handler's
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
        a = np.arange(1 << 16, dtype=np.float64)
        t = td.from_numpy(a)
        t.add_(1)
        _C.disconnect()
        a[0] = 100  # still mapped, now private
        print(a[:3].tolist(), _C.numpy_arena_stats())
        del a, t
    """)
    assert out == "[100.0, 2.0, 3.0] (0, 0)"


def test_reconnect_converts_again():
    out = run_sub("""
        import numpy as np, tensord as td
        from tensord import _C, _daemon
        a = np.arange(1 << 17, dtype=np.float64)
        t = td.from_numpy(a)
        t.add_(1)
        _daemon.reconnect()
        before = _C.numpy_arena_stats()[0]   # private again, its bytes kept
        a[0] = -1
        u = td.from_numpy(a)                 # converted into the new session
        u.mul_(2)
        print(before, a[:3].tolist(), _C.numpy_arena_stats()[0], _C.numpy_arena_counts()["conversions"])
    """)
    assert out == "0 [-2.0, 4.0, 6.0] 1 2"


@pytest.mark.parametrize("env", [{"TENSORD_NUMPY_ARENAS": "0"}, {"TENSORD_TRANSPORT": "grpc"}])
def test_switched_off_or_grpc_copies(env):
    out = run_sub("""
        import numpy as np, tensord as td
        a = np.zeros(1 << 16)
        t = td.from_numpy(a)
        a[0] = 1
        print(t[0].item(), td._C.numpy_arena_stats())
    """, **env)
    assert out == "0.0 (0, 0)"


def test_on_by_default():
    out = run_sub("""
        import numpy as np, tensord as td
        a = np.zeros(1 << 16)
        t = td.from_numpy(a)
        a[0] = 1
        print(t[0].item(), np.core.multiarray.get_handler_name(a))
    """, TENSORD_NUMPY_ARENAS=None)
    assert out == "1.0 tensord_arena"


def test_threshold_from_env():
    out = run_sub("""
        import numpy as np, tensord as td
        a = np.zeros(1000)
        t = td.from_numpy(a)
        a[0] = 1
        print(t[0].item())
    """, TENSORD_NUMPY_ARENA_MIN="512")
    assert out == "1.0"


def test_calloc_memory_is_zero():
    """np.zeros gets zeros also where libc hands back memory an earlier array wrote, or a
    converted array used."""
    for i in range(3):
        a = np.full(1 << 16, 7.5)
        if i == 1:
            td.from_numpy(a).add_(1)
        del a
        z = np.zeros(1 << 16)
        assert not z.any()
        assert td.from_numpy(z).abs().sum().item() == 0.0
        del z


def test_realloc_in_place():
    a = np.empty(100_001, np.uint8)
    a[:] = 3
    addr = a.ctypes.data
    a.resize(100_100, refcheck=False)  # within its pages: stays, keeps its bytes
    assert a.ctypes.data == addr and (a[:100_001] == 3).all() and a.shape == (100_100,)
    t = td.from_numpy(a)
    a.resize(100_200, refcheck=False)  # converted: still in place, still shared
    t[0] = 9
    assert a.ctypes.data == addr and a[0] == 9
    a.resize(1 << 20, refcheck=False)  # moves: a copy of the bytes in new private memory
    t[1] = 7
    assert a[0] == 9 and a[1] == 3 and (a[2:100_001] == 3).all()


def test_aliased_memory_is_never_reused_while_the_tensor_lives():
    n = 1 << 17
    a = np.arange(n, dtype=np.float64)
    t = td.from_numpy(a)
    a[1] = -5.0        # through the array ...
    assert t[1].item() == -5.0
    t[2] = 11.0        # ... and through the tensor
    assert a[2] == 11.0
    ref = a.copy()
    del a
    gc.collect()
    keep = [np.full(n, float(i)) for i in range(8)] + [np.zeros(n) for _ in range(4)]
    keep += [np.empty(n) for _ in range(4)]
    for k in keep[-4:]:
        k.fill(-1.0)
    np.testing.assert_array_equal(t.numpy(), ref)
    del keep
    for _ in range(20):
        x = np.ones(n)
        x *= 7
        td.from_numpy(x).add_(1)
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
                x = np.empty(1 << 17); x.fill(9.0); td.from_numpy(x); del x
            go.set()
            got, head = r.get(), r.get()
            p.join()
            print(got == expect, head)
    """, file=True)
    assert out == "True [1000.0, 1.0, 2.0]"


@pytest.fixture
def quota_daemon(tmp_path):
    proc, addr, errp = start_daemon(str(tmp_path), extra_env={"TENSORD_SESSION_MEMORY_LIMIT": "32M"})
    yield addr
    rc, err = stop_daemon(proc, errp)
    assert rc == 0 and "ERROR: AddressSanitizer" not in err, err


def test_conversion_within_the_session_quota(quota_daemon):
    """Unconverted arrays are not the session's bytes; a conversion is, and one over the
    quota falls back to the copy, which fails with the quota's error."""
    out = run_sub("""
        import numpy as np, tensord as td
        from tensord import _C
        MIB = 1 << 20
        big = [np.ones(MIB // 8) for _ in range(64)]     # 64 MiB of arrays: numpy's business
        x = td.ones(20 * MIB // 4)                        # 20 MiB of the 32
        a = np.ones(4 * MIB // 8)
        t = td.from_numpy(a)                              # 4 MiB more: fits
        a[0] = 7
        ok = t[0].item()
        b = np.ones(16 * MIB // 8)
        try:
            td.from_numpy(b).sum().item()               # 16 MiB more: over
            err = "none"
        except RuntimeError as e:
            err = "quota" if "quota" in str(e) or "out of memory" in str(e) else str(e)
        c = _C.numpy_arena_counts()
        print(ok, err, c["conversions"], c["fallbacks"], x[0].item(), len(big))
    """, TENSORD_ADDRESS=quota_daemon)
    assert out == "7.0 quota 1 1 1.0 64"


def test_threads_allocate_and_free_concurrently():
    """Threads in copies of the connecting thread's context (so numpy's allocator is ours
    there too) allocate, share and free at once, with and without the GIL in the handler;
    every array keeps its own values, and nothing leaks into the table."""
    import contextvars
    import threading
    c0 = counts()
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
                    # shared, or a copy when the conversion found the client busy with
                    # another thread's call for too long
                    t = td.from_numpy(b)
                    t.add_(1)
                    v = seed * 1000 + i
                    assert (t.numpy() == v + 1).all()
                    assert (b == v + 1).all() or (b == v).all()
                    u = td.from_numpy(b[1:])
                    del t, u
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
    c = counts()
    assert c["arrays"] == c0["arrays"] and c["converted"] == c0["converted"]
    assert c["conversions"] > c0["conversions"]
