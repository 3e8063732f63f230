"""Fault tests of the daemon under its clients (issue 12, item 6):

- A soak: 8 client processes run mixed workloads (ops, syncs, numpy(), tensors shared
  through tensord.multiprocessing queues, a DataLoader with workers) against one daemon,
  each checking its results against numpy; random clients are SIGKILLed (with their
  worker processes) at random moments and replaced, for a bounded time.  Afterwards: the
  daemon's bytes_in_use is back to its baseline once every session has ended and the
  share tokens of the killed clients have lingered out (--share-linger 1), its log has
  no error, its resident memory stayed bounded, and it still computes.
- The daemon SIGKILLed and restarted on the same socket: a client's next call raises
  ConnectionError (no hang), and a new client's connection to the new daemon works.
- A session over its memory quota fails that op alone while another session computes.

Each test has its own daemon, so its counters are its own."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import tensord._C as _C
from conftest import start_daemon, stop_daemon

SOAK_SECONDS = float(os.environ.get("TENSORD_SOAK_SECONDS", "25"))
CLIENTS = 8
MIB = 1 << 20

# One client: rounds of a workload picked at random until the stop file appears; every
# result is checked against numpy (a wrong value exits 3, which the test reports).
CLIENT = textwrap.dedent("""
    import os, random, sys
    import numpy as np
    import tensord as torch
    import tensord.multiprocessing as mp
    from tensord.utils.data import DataLoader, TensorDataset

    def producer(q, n):
        for i in range(n):
            q.put(torch.full((64, 64), float(i)))
        q.put(None)

    def ops(rng):
        a = rng.standard_normal((96, 96)).astype(np.float32)
        b = rng.standard_normal((96, 96)).astype(np.float32)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        c = (ta @ tb).relu() + ta * 0.5
        np.testing.assert_allclose(c.numpy(), np.maximum(a @ b, 0) + a * 0.5, rtol=1e-4, atol=1e-4)
        keep = [torch.ones(1 << 16) * i for i in range(8)]       # held across a sync
        torch.synchronize()
        assert sum(k.sum().item() for k in keep) == (1 << 16) * 28

    def shared(rng):
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=producer, args=(q, 6))
        p.start()
        got = []
        while True:
            t = q.get(timeout=60)
            if t is None:
                break
            got.append(t.sum().item())
        p.join(60)
        assert got == [64 * 64 * float(i) for i in range(6)], got

    def loader(rng):
        x = torch.arange(64 * 8, dtype=torch.float32).reshape(64, 8)
        dl = DataLoader(TensorDataset(x), batch_size=16, num_workers=2)
        total = sum(b[0].sum().item() for b in dl)
        assert total == float(sum(range(64 * 8))), total

    rng = np.random.default_rng(int(sys.argv[1]))
    pick = random.Random(int(sys.argv[1]))
    print("up", flush=True)
    while not os.path.exists(sys.argv[2]):
        try:
            pick.choice([ops, ops, shared, loader])(rng)
        except AssertionError as e:
            print("wrong result:", e, flush=True)
            sys.exit(3)
    print("ok", flush=True)
""")


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def _wait_for(addr, pred, what, limit=60.0):
    deadline = time.monotonic() + limit
    while True:
        s = _C.stats(addr)
        if pred(s):
            return s
        assert time.monotonic() < deadline, "%s never happened: %r" % (what, s)
        time.sleep(0.1)


def _client_env(addr):
    return dict(os.environ, TENSORD_ADDRESS=addr)


def test_soak_random_sigkills(tmp_path):
    proc, addr, errp = start_daemon(str(tmp_path), args=("--share-linger", "1"))
    try:
        base = _C.stats(addr)
        stop = str(tmp_path / "stop")
        rnd = random.Random(12)
        seed = [0]

        def spawn():
            seed[0] += 1
            return subprocess.Popen([sys.executable, "-c", CLIENT, str(seed[0]), stop], env=_client_env(addr),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)  # its own group: SIGKILL takes its workers too

        clients = [spawn() for _ in range(CLIENTS)]
        killed, peak_rss = 0, 0
        end = time.monotonic() + SOAK_SECONDS
        while time.monotonic() < end:
            time.sleep(rnd.uniform(0.2, 1.5))
            i = rnd.randrange(len(clients))
            victim = clients[i]
            if victim.poll() is None:
                os.killpg(victim.pid, signal.SIGKILL)
                killed += 1
            victim.wait()
            out, err = victim.communicate()
            assert victim.returncode in (0, -signal.SIGKILL), (victim.returncode, out, err)
            assert "wrong result" not in out, out
            clients[i] = spawn()
            peak_rss = max(peak_rss, _rss_kib(proc.pid))
        open(stop, "w").close()
        for c in clients:
            out, err = c.communicate(timeout=120)
            assert c.returncode == 0 and out.strip().endswith("ok"), (c.returncode, out, err)
        assert killed >= 5

        # every session ended, the killed clients' tokens lingered out, nothing leaked
        s = _wait_for(addr, lambda s: s["sessions"] == 0 and s["bytes_in_use"] == base["bytes_in_use"],
                      "the sessions' end with no bytes in use")
        assert s["storages"] == base["storages"] and s["tensors"] == base["tensors"]
        assert s["session_memory"] == []
        assert s["sessions_total"] > CLIENTS + killed
        # resident memory: the clients' live tensors are a few MiB each; the arenas they used
        # stay cached (PyTorch's caching allocator keeps them too), the sanitizer build adds
        # its quarantine (256 MiB) and shadow.  1 GiB is far above that and far below what a
        # leak of every killed client's memory would reach over the run.
        peak_rss = max(peak_rss, _rss_kib(proc.pid))
        assert peak_rss < 1024 * 1024, "daemon RSS %d KiB" % peak_rss
        print("soak: %d clients killed, %d sessions, %d ops, daemon peak RSS %d MiB"
              % (killed, s["sessions_total"], s["ops_executed"], peak_rss >> 10))

        # it still serves
        out = subprocess.run([sys.executable, "-c", "import tensord as t; print(t.arange(10).sum().item())"],
                             env=_client_env(addr), capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "45", out.stderr
    finally:
        rc, err = stop_daemon(proc, errp)
    assert "ERROR" not in err and "runtime error:" not in err, err
    assert rc == 0, "tensord exited with %r; stderr:\n%s" % (rc, err)


def test_daemon_killed_and_restarted_on_the_same_socket(tmp_path):
    proc, addr, errp = start_daemon(str(tmp_path))
    script = textwrap.dedent("""
        import sys, time
        import tensord as torch
        a = torch.ones(100, 100)
        assert a.sum().item() == 10000
        print("ready", flush=True)
        sys.stdin.readline()                  # the daemon is killed (and restarted) meanwhile
        t0 = time.monotonic()
        try:
            (a @ a).sum().item()
            print("no error")
        except ConnectionError as e:
            print("ConnectionError %.1f" % (time.monotonic() - t0))
    """)
    p = subprocess.Popen([sys.executable, "-c", script], env=_client_env(addr), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    os.unlink(addr[len("unix:"):])             # what a supervisor's restart finds: a stale socket
    proc, addr2, errp = start_daemon(str(tmp_path))
    assert addr2 == addr
    try:
        out, err = p.communicate("go\n", timeout=60)
        assert out.startswith("ConnectionError"), out + err
        new = subprocess.run([sys.executable, "-c", "import tensord as t; print((t.ones(3) * 2).sum().item())"],
                             env=_client_env(addr), capture_output=True, text=True, timeout=60)
        assert new.stdout.strip() == "6.0", new.stderr
    finally:
        rc, err = stop_daemon(proc, errp)
    assert rc == 0 and "ERROR" not in err, err


def test_out_of_memory_fails_only_that_session(tmp_path):
    proc, addr, errp = start_daemon(str(tmp_path), args=("--session-memory-limit", "32M"))
    worker = textwrap.dedent("""
        import os, sys
        import numpy as np
        import tensord as torch
        a = np.arange(256 * 256, dtype=np.float32).reshape(256, 256) / 65536
        t = torch.from_numpy(a)
        print("computing", flush=True)
        i = 0
        while not os.path.exists(sys.argv[1]):          # until the other session is done
            np.testing.assert_allclose((t @ t + i).numpy(), a @ a + i, rtol=1e-5)
            i += 1
        print("ok", i, flush=True)
    """)
    hog = textwrap.dedent("""
        import tensord as torch
        keep = torch.ones(4 << 20)                     # 16 MiB of the 32 MiB quota
        for _ in range(5):
            try:
                torch.ones(6 << 20).sum().item()        # 24 MiB more
                print("no error")
            except RuntimeError as e:
                assert "can't allocate memory" in str(e), e
        assert keep.sum().item() == 4 << 20            # the session goes on
        print("oom ok")
    """)
    try:
        stop = str(tmp_path / "stop")
        w = subprocess.Popen([sys.executable, "-c", worker, stop], env=_client_env(addr), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        assert w.stdout.readline().strip() == "computing"
        h = subprocess.run([sys.executable, "-c", hog], env=_client_env(addr), capture_output=True, text=True,
                           timeout=120)
        assert h.returncode == 0 and h.stdout.strip() == "oom ok", h.stdout + h.stderr
        open(stop, "w").close()
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0 and out.startswith("ok"), out + err
        s = _wait_for(addr, lambda s: s["sessions"] == 0, "the sessions' end")
        assert s["alloc_ooms"] >= 5 and s["bytes_in_use"] == 0
    finally:
        rc, err = stop_daemon(proc, errp)
    assert rc == 0 and "runtime error:" not in err, err
