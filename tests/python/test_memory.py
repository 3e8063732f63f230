"""The CPU caching allocator seen from clients (docs/design/memory.md): the daemon's
memory counters return to their baseline once every session has ended (SIGKILLed ones
included), idle cached memory goes back to the system after --cache-idle-seconds, at
tensord.cpu.empty_cache() and under memory pressure (--cache-pressure-percent), and a session over --session-memory-limit fails alone with
PyTorch's out-of-memory message naming the quota.  Each test has its own daemon, so
its counters are its own."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import tensord._C as _C
from conftest import start_daemon, stop_daemon

MIB = 1 << 20


@pytest.fixture
def mem_daemon(tmp_path, request):
    proc, addr, errp = start_daemon(str(tmp_path), extra_env=request.param)
    yield addr
    rc, err = stop_daemon(proc, errp)
    assert "ERROR: AddressSanitizer" not in err, err
    assert "runtime error:" not in err, err
    assert rc == 0, "tensord exited with %r; stderr:\n%s" % (rc, err)


def run_client(addr, body, timeout=120):
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    code = "import tensord as torch\n" + textwrap.dedent(body)
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout


def wait_for(addr, pred, what, limit=60.0):
    """Polls the daemon's stats until pred holds (a deadline only against hangs)."""
    deadline = time.monotonic() + limit
    while True:
        s = _C.stats(addr)
        if pred(s):
            return s
        assert time.monotonic() < deadline, "%s never happened: %r" % (what, s)
        time.sleep(0.1)


WORK = """
    import numpy as np
    keep = [torch.full((1 << 22,), 1.0) for _ in range(3)]     # 16 MiB each: large arena
    small = [torch.arange(100 + i) for i in range(200)]          # small arena
    big = torch.zeros(40 << 20, dtype=torch.uint8)              # an arena of its own
    for i in range(20):
        c = keep[0] + keep[1] * i
        del c
    assert big.sum().item() == 0 and small[1].sum().item() == 100 * 101 // 2
    torch.synchronize()
"""


@pytest.mark.parametrize("mem_daemon", [{"TENSORD_CACHE_IDLE_SECONDS": "1"}], indirect=True)
def test_stats_return_to_baseline_and_idle_memory_goes_back(mem_daemon):
    addr = mem_daemon
    base = _C.stats(addr)
    assert base["arenas"] == 0 and base["bytes_reserved"] == 0
    run_client(addr, textwrap.dedent(WORK) + "print(torch.cpu.memory_allocated())\n")
    # a client SIGKILLed while holding tensors
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    code = "import tensord as torch\n" + textwrap.dedent(WORK) + "print('held', flush=True)\nimport time\ntime.sleep(600)\n"
    p = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    held = _C.stats(addr)
    assert held["bytes_in_use"] >= 3 * 16 * MIB + 40 * MIB
    assert len(held["session_memory"]) == 1
    assert held["session_memory"][0]["bytes_in_use"] == held["bytes_in_use"]
    assert held["bytes_reserved"] >= held["bytes_in_use"]
    p.send_signal(signal.SIGKILL)
    p.wait()
    p.stdout.close()
    s = wait_for(addr, lambda s: s["sessions"] == 0 and s["bytes_in_use"] == 0, "the sessions' end")
    assert s["storages"] == base["storages"] == 0
    assert s["tensors"] == 0
    assert s["session_memory"] == []
    assert s["bytes_reserved_peak"] >= held["bytes_in_use"]
    assert s["bytes_peak"] >= held["bytes_in_use"]
    # no live block: once idle for a second every arena is released and closed
    s = wait_for(addr, lambda s: s["arenas"] == 0, "the idle release")
    assert s["bytes_reserved"] == 0
    assert s["bytes_cached"] == 0
    assert s["alloc_releases"] > 0


@pytest.mark.parametrize("mem_daemon", [{"TENSORD_CACHE_IDLE_SECONDS": "3600"}], indirect=True)
def test_empty_cache_gives_memory_back(mem_daemon):
    out = run_client(mem_daemon, """
        a = torch.ones(16 << 20)                       # 64 MiB
        b = torch.ones(1000)
        assert a.sum().item() == 16 << 20
        assert torch.cpu.memory_allocated() >= 64 << 20
        del a
        r0 = torch.cpu.memory_reserved()
        assert r0 >= 64 << 20, r0
        assert torch.cpu.memory_allocated() < 1 << 20
        torch.cpu.empty_cache()
        r1 = torch.cpu.memory_reserved()
        assert r1 < 1 << 20, r1
        assert b.sum().item() == 1000                  # live tensors are untouched
        st = torch.cpu.memory_stats()
        assert st["allocated_bytes.all.peak"] >= 64 << 20
        assert st["reserved_bytes.all.peak"] >= 64 << 20
        c = torch.ones(16 << 20)                       # the cache fills again as needed
        assert c.sum().item() == 16 << 20
        print(r0, r1)
    """)
    r0, r1 = map(int, out.split())
    assert r1 < r0
    s = wait_for(mem_daemon, lambda s: s["sessions"] == 0, "the session's end")
    assert s["bytes_in_use"] == 0 and s["storages"] == 0


PRESSURE_WORK = """
    a = torch.ones(16 << 20)                           # 64 MiB
    assert a.sum().item() == 16 << 20
    del a
    torch.synchronize()
"""


@pytest.mark.parametrize("mem_daemon", [{"TENSORD_CACHE_IDLE_SECONDS": "3600", "TENSORD_CACHE_PRESSURE_PERCENT": "100"}],
                         indirect=True)
def test_memory_pressure_gives_cached_memory_back(mem_daemon):
    """At 100% the machine is always short of memory (MemAvailable < MemTotal): cached
    memory goes back within the housekeeping period, long before the idle time."""
    run_client(mem_daemon, PRESSURE_WORK)
    s = wait_for(mem_daemon, lambda s: s["sessions"] == 0 and s["bytes_cached"] < MIB, "the pressure release",
                 limit=30)
    assert s["alloc_pressure_releases"] >= 1
    assert s["bytes_in_use"] == 0


@pytest.mark.parametrize("mem_daemon", [{"TENSORD_CACHE_IDLE_SECONDS": "3600", "TENSORD_CACHE_PRESSURE_PERCENT": "0"}],
                         indirect=True)
def test_no_pressure_release_when_turned_off(mem_daemon):
    run_client(mem_daemon, PRESSURE_WORK)
    wait_for(mem_daemon, lambda s: s["sessions"] == 0, "the session's end")
    time.sleep(2.5)  # two housekeeping periods and more
    s = _C.stats(mem_daemon)
    assert s["bytes_cached"] >= 64 * MIB
    assert s["alloc_pressure_releases"] == 0


@pytest.mark.parametrize("mem_daemon", [{"TENSORD_SESSION_MEMORY_LIMIT": "32M"}], indirect=True)
def test_session_quota_fails_only_that_session(mem_daemon):
    out = run_client(mem_daemon, """
        a = torch.ones(4 << 20)                        # 16 MiB: within the quota
        try:
            b = torch.ones(6 << 20)                    # 24 MiB more: over it
            b.sum().item()
        except RuntimeError as e:
            print("error:", e)
        else:
            raise AssertionError("no out-of-memory error")
        assert a.sum().item() == 4 << 20               # the session goes on
        del a
        c = torch.ones(6 << 20)                        # fits once a is gone
        assert c.sum().item() == 6 << 20
        assert torch.cpu.memory_stats()["session.limit"] == 32 << 20
    """)
    assert "DefaultCPUAllocator: can't allocate memory" in out, out
    assert "quota" in out and "32.00 MiB" in out, out
    # another session has its own quota: it is not charged for the first one's tensors
    run_client(mem_daemon, """
        x = torch.ones(7 << 20)
        assert x.sum().item() == 7 << 20
    """)
    s = wait_for(mem_daemon, lambda s: s["sessions"] == 0, "the sessions' end")
    assert s["alloc_ooms"] >= 1 and s["bytes_in_use"] == 0


@pytest.mark.parametrize("mem_daemon", [{"TENSORD_MAX_MEMORY": "64M"}], indirect=True)
def test_kernel_scratch_over_the_memory_cap_fails_cleanly(mem_daemon):
    """A kernel's scratch is bounded by --max-memory like tensors are: a convolution whose
    im2col columns would need ~3.9 GB (a 61x61 kernel over a 512x512 image) fails with
    torch's out-of-memory message instead of reaching malloc, and the session goes on."""
    out = run_client(mem_daemon, """
        import tensord.nn.functional as F
        x = torch.ones(1, 1, 512, 512)
        w = torch.ones(1, 1, 61, 61)
        try:
            F.conv2d(x, w, padding=30).sum().item()
        except RuntimeError as e:
            print("error:", e)
        else:
            raise AssertionError("no out-of-memory error")
        y = F.conv2d(x[:, :, :64, :64], w[:, :, :3, :3], padding=1)   # small: still works
        assert y[0, 0, 10, 10].item() == 9.0
    """)
    assert "DefaultCPUAllocator: can't allocate memory: you tried to allocate" in out, out
