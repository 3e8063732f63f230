"""What tensord's numpy data-memory handler costs (docs/performance.md, "numpy arenas").

Each column runs in a fresh process against one daemon started here: the handler on (the
default: page-aligned private memory, converted into tensord storage by from_numpy), off
(TENSORD_NUMPY_ARENAS=0: numpy's own allocator, from_numpy copies), and PyTorch 1.13
(numpy's allocator, torch.from_numpy shares in-process).  The columns alternate, ROUNDS
times, so that a loaded machine shows as a range (min-max of the per-round best of 5)
rather than as a difference.

    PYTHONPATH=build/python /usr/bin/python3 tests/bench/numpy_arenas.py [rounds]
"""
import os
import subprocess
import sys
import tempfile
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAEMON = os.environ.get("TENSORD_BIN") or os.path.join(ROOT, "build", "tensord")

CASE = textwrap.dedent("""
    import sys, time, numpy as np
    if sys.argv[1] == "torch":
        import torch as td
    else:
        import tensord as td
        td.transport()
    def best(f, n, reps=5):
        f(max(1, n // 10))  # warm: caches filled
        r = []
        for _ in range(reps):
            t0 = time.perf_counter(); f(n); r.append((time.perf_counter() - t0) / n)
        return min(r) * 1e6
    def alloc(n, size):
        for _ in range(n):
            a = np.empty(size, dtype=np.uint8); a[0] = 1; del a
    def zeros(n):
        for _ in range(n):
            a = np.zeros(1 << 17); a[0] = 1; del a
    def workload(n):
        rng = np.random.default_rng(0)
        for _ in range(n):
            x = rng.standard_normal((256, 256))
            y = (x @ x.T + 1.0) * 0.5
            s = np.sort(y, axis=1)[:, ::2].copy()
            float(s.sum())
    data = np.ones(16 << 20, np.float32)  # a 64 MiB dataset, live
    def fork(n):
        import os
        for _ in range(n):
            pid = os.fork()
            if pid == 0:
                os._exit(int(data[5]) - 1)
            os.waitpid(pid, 0)
    def share(n):
        for _ in range(n):
            a = np.ones(1 << 17)
            td.from_numpy(a).add_(1)
    kept = np.ones(1 << 17)
    def share_again(n):
        for _ in range(n):
            td.from_numpy(kept).add_(1)
    r = [best(lambda n: alloc(n, 1 << 20), 1000), best(lambda n: alloc(n, 64 << 10), 1000),
         best(lambda n: alloc(n, 4 << 10), 2000), best(zeros, 500), best(workload, 20), best(share, 50),
         best(share_again, 50), best(fork, 5, 3)]
    dt = td.from_numpy(data)  # from now on the dataset is shared with a tensor
    r.append(best(fork, 5, 3))
    print(" ".join("%.2f" % x for x in r))
""")

NAMES = ["np.empty 1 MiB + free", "np.empty 64 KiB + free", "np.empty 4 KiB + free (below threshold)",
         "np.zeros 1 MiB + free", "numpy workload (256x256 matmul, sort, copy)",
         "from_numpy(np.ones(1 MiB)).add_(1)", "from_numpy(a).add_(1), a 1 MiB array shared before",
         "os.fork() + child exit, a 64 MiB array live", "os.fork() + child exit, a 64 MiB array live, from_numpy'd"]
COLUMNS = [("on", {}, "tensord"),
           ("off", {"TENSORD_NUMPY_ARENAS": "0"}, "tensord"),
           ("torch", {}, "torch")]


def start_daemon(tmp):
    sock = os.path.join(tmp, "bench.sock")
    proc = subprocess.Popen([DAEMON, "--listen", "unix:" + sock, "--log-level", "warn"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    while not (os.path.exists(sock) and os.path.exists(sock + ".shm")):
        if proc.poll() is not None:
            sys.exit("tensord exited with %s" % proc.returncode)
        time.sleep(0.01)
    return proc, "unix:" + sock


def run(addr, env, which):
    out = subprocess.run([sys.executable, "-c", CASE, which], env=dict(os.environ, TENSORD_ADDRESS=addr, **env),
                         capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise SystemExit(out.stderr)
    return [float(x) for x in out.stdout.split()]


def span(xs):
    xs = [x for x in xs if x == x]
    if not xs:
        return "-"
    lo, hi = min(xs), max(xs)
    return ("%.2f" % lo if lo == hi else "%.2f-%.2f" % (lo, hi)) if hi < 10 else \
        ("%.0f" % lo if round(lo) == round(hi) else "%.0f-%.0f" % (lo, hi))


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    res = {name: [] for name, _, _ in COLUMNS}
    with tempfile.TemporaryDirectory() as tmp:
        proc, addr = start_daemon(tmp)
        try:
            for _ in range(rounds):
                for name, env, which in COLUMNS:
                    res[name].append(run(addr, env, which))
        finally:
            proc.terminate()
            proc.wait()
    print("us per iteration, min-max over %d alternating rounds (each the best of 5)" % rounds)
    print("| case | " + " | ".join(n for n, _, _ in COLUMNS) + " |")
    print("| --- |" + " --- |" * len(COLUMNS))
    for i, case in enumerate(NAMES):
        print("| %s | %s |" % (case, " | ".join(span([r[i] for r in res[n]]) for n, _, _ in COLUMNS)))


if __name__ == "__main__":
    main()
