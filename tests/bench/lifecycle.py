#!/usr/bin/python3
"""lifecycle.py — memory and teardown of the execution model, measured against PyTorch.

Rows:
  loop peak memory   `for i in range(300): c = a + b` on 16 MiB tensors: the daemon's peak
                     resident memory over its idle baseline, against the peak of the same
                     program under PyTorch over its baseline (ratio: aim <= 1.1)
  train peak memory  20 Adam steps of an MLP (1024-2048-2048-10, batch 512): the same
                     comparison for a training loop (parameters, gradients, optimizer
                     state, activations saved for backward)
  SIGKILL -> freed   a client with a deep backlog of 16 MiB ops is SIGKILLed: seconds
                     until the daemon has ended its session and freed its memory
                     (median of 5; aim <= 0.1 s; PyTorch has no daemon, so no ratio)
  soak: RSS after end  12 client sessions (3 at a time) allocate and free a shifting mix of
                     tensors from 4 KiB to 96 MiB, then all end: the daemon's resident
                     memory over its idle baseline right after the last session ended
                     (blocks cached for reuse), and after the idle time (daemon started
                     with --cache-idle-seconds SOAK_IDLE, default 2): idle memory goes back
                     (aim: near 0; before the memfd allocator 2 GiB stayed resident).
                     Peak RSS of the soak is printed beside them.
Run: make bench (after bench.py), or directly with PYTHONPATH=build/python.
"""
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import tensord._C as _C

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DAEMON = os.environ.get("TENSORD_BIN") or os.path.join(ROOT, "build", "tensord")

PROGRAM = """
    import os
    def kib(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1])
    {setup}
    base = kib("VmRSS:")
{body}
    print(base, kib("VmHWM:"))
"""

LOOP = """
    a = torch.full((1 << 22,), 1.0)
    b = torch.full((1 << 22,), 2.0)
    for i in range(300):
        c = a + b
    assert c[0].item() == 3.0
"""

TRAIN = """
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1024, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, 2048),
                                torch.nn.ReLU(), torch.nn.Linear(2048, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(512, 1024), torch.randint(0, 10, (512,))
    for step in range(20):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() == loss.item()
"""

HOG = """
    import tensord as torch
    a = torch.full((1 << 22,), 1.0)
    b = torch.full((1 << 22,), 2.0)
    i = 0
    while True:
        c = (a + b) * 2
        if i == 20:
            torch.synchronize()
            print("running", flush=True)
        i += 1
"""


def kib_of(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    raise KeyError(key)


def start_daemon(tmp, *flags):
    sock = os.path.join(tmp, "bench.sock")
    proc = subprocess.Popen([DAEMON, "--listen", "unix:" + sock, "--log-level", "warn", *flags],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    while not os.path.exists(sock):
        if proc.poll() is not None:
            sys.exit("tensord exited with %s" % proc.returncode)
        time.sleep(0.01)
    return proc, "unix:" + sock


def run(code, env):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                         timeout=600)
    if out.returncode:
        sys.exit(out.stderr)
    return out.stdout


def peak(tmp, name, body):
    """The daemon's peak resident memory over its idle baseline while a client runs body,
    against the PyTorch process's peak over its baseline for the same body."""
    env = dict(os.environ)
    indented = textwrap.indent(textwrap.dedent(body), "    ")
    base, hwm = map(int, run(PROGRAM.format(setup="import torch", body=indented), env).split())
    torch_mib = (hwm - base) / 1024
    proc, addr = start_daemon(tmp)
    try:
        idle = kib_of(proc.pid, "VmRSS:")
        run(PROGRAM.format(setup="import tensord as torch", body=indented), dict(env, TENSORD_ADDRESS=addr))
        daemon_mib = (kib_of(proc.pid, "VmHWM:") - idle) / 1024
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
    return name, daemon_mib, torch_mib, "MiB", daemon_mib / torch_mib


def kill_to_free(tmp):
    proc, addr = start_daemon(tmp)
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    script = os.path.join(tmp, "hog.py")
    with open(script, "w") as f:
        f.write(textwrap.dedent(HOG))
    times = []
    try:
        base = _C.stats(addr)
        for _ in range(5):
            p = subprocess.Popen([sys.executable, script], env=env, stdout=subprocess.PIPE, text=True)
            p.stdout.readline()
            time.sleep(0.3)  # a backlog builds up
            t0 = time.perf_counter()
            p.send_signal(signal.SIGKILL)
            while True:
                s = _C.stats(addr)
                if s["sessions"] == base["sessions"] and s["bytes_in_use"] == base["bytes_in_use"]:
                    break
                time.sleep(0.001)
            times.append(time.perf_counter() - t0)
            p.wait()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
    return "SIGKILL -> memory freed", statistics.median(times), float("nan"), "s", float("nan")


SOAK = """
    import sys
    import tensord as torch
    k = int(sys.argv[1])
    torch.manual_seed(k)
    live = []
    for step in range(60):
        n = [1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22, 3 << 22, 6 << 22][(step * 7 + k) % 7]
        live.append(torch.rand(n + 977 * k))               # odd sizes: no two sessions alike
        live.append(torch.arange(100 + step))              # small tensors between them
        if len(live) > 10:
            del live[(step * 5 + k) % len(live)]
        if step % 10 == 9:
            x = sum(t.sum() for t in live[:4])
            x.item()
    print("done")
"""

SOAK_IDLE = float(os.environ.get("SOAK_IDLE", "2"))


def soak(tmp):
    """Daemon RSS (MiB over idle) right after a soak's sessions ended and after the idle time."""
    proc, addr = start_daemon(tmp, "--cache-idle-seconds", "%g" % SOAK_IDLE)
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    script = os.path.join(tmp, "soak.py")
    with open(script, "w") as f:
        f.write(textwrap.dedent(SOAK))
    try:
        idle = kib_of(proc.pid, "VmRSS:")
        for wave in range(4):
            ps = [subprocess.Popen([sys.executable, script, str(wave * 3 + i)], env=env, stdout=subprocess.PIPE,
                                   text=True) for i in range(3)]
            for p in ps:
                out, _ = p.communicate(timeout=600)
                if p.returncode or out.strip() != "done":
                    sys.exit("soak client failed")
        while _C.stats(addr)["sessions"]:
            time.sleep(0.01)
        ended = (kib_of(proc.pid, "VmRSS:") - idle) / 1024
        hwm = (kib_of(proc.pid, "VmHWM:") - idle) / 1024
        time.sleep(SOAK_IDLE + 1.5)
        after = (kib_of(proc.pid, "VmRSS:") - idle) / 1024
        s = _C.stats(addr)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
    print("soak: peak RSS %.0f MiB over idle; after the idle time: %d arenas, %d bytes reserved"
          % (hwm, s["arenas"], s["bytes_reserved"]))
    nan = float("nan")
    return [("soak: RSS after end", ended, nan, "MiB", nan),
            ("soak: RSS after %gs idle" % SOAK_IDLE, after, nan, "MiB", nan)]


def main():
    with tempfile.TemporaryDirectory(prefix="tensord-bench-") as tmp:
        rows = [peak(tmp, "loop peak memory (16 MiB)", LOOP), peak(tmp, "train peak memory (MLP)", TRAIN),
                kill_to_free(tmp)] + soak(tmp)
    print("%-28s %12s %12s %-11s %s" % ("workload", "tensord", "pytorch", "unit", "ratio"))
    for name, v_td, v_pt, unit, ratio in rows:
        print("%-28s %12.3f %12.3f %-11s %.2f" % (name, v_td, v_pt, unit, ratio))


if __name__ == "__main__":
    main()
