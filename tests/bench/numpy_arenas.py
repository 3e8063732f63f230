"""What numpy's allocator in tensord storage costs (docs/performance.md, "numpy arenas"):
each case runs in a fresh process with the handler on (default) and off
(TENSORD_NUMPY_ARENAS=0), against the same daemon.

    PYTHONPATH=build/python python3 tests/bench/numpy_arenas.py
"""
import os
import subprocess
import sys
import textwrap

CASE = textwrap.dedent("""
    import time, numpy as np, tensord as td
    td.transport()
    def best(f, n, reps=5):
        r = []
        for _ in range(reps):
            t0 = time.perf_counter(); f(n); r.append((time.perf_counter() - t0) / n)
        return min(r) * 1e6
    def alloc(n, size):
        for _ in range(n):
            a = np.empty(size, dtype=np.uint8); a[0] = 1; del a
    def workload(n):
        rng = np.random.default_rng(0)
        for _ in range(n):
            x = rng.standard_normal((256, 256))
            y = (x @ x.T + 1.0) * 0.5
            s = np.sort(y, axis=1)[:, ::2].copy()
            float(s.sum())
    def share(n):
        for _ in range(n):
            a = np.ones(1 << 17)
            td.from_numpy(a).add_(1)
    print("%.2f %.2f %.2f %.1f %.1f" % (best(lambda n: alloc(n, 1 << 20), 200), best(lambda n: alloc(n, 64 << 10), 200),
                                    best(lambda n: alloc(n, 4 << 10), 2000), best(workload, 20), best(share, 50)))
""")


def run(env):
    out = subprocess.run([sys.executable, "-c", CASE], env=dict(os.environ, **env), capture_output=True, text=True,
                         timeout=600)
    if out.returncode:
        raise SystemExit(out.stderr)
    return [float(x) for x in out.stdout.split()]


def main():
    on, off = run({}), run({"TENSORD_NUMPY_ARENAS": "0"})
    names = ["np.empty 1 MiB + free", "np.empty 64 KiB + free", "np.empty 4 KiB + free (below threshold)",
             "numpy workload (256x256 matmul, sort, copy)", "from_numpy(np.ones(1 MiB)).add_(1)"]
    print("%-46s %12s %12s %7s" % ("us per iteration", "arenas on", "arenas off", "ratio"))
    for n, a, b in zip(names, on, off):
        print("%-46s %12.2f %12.2f %7.2f" % (n, a, b, a / b if b else float("nan")))


if __name__ == "__main__":
    main()
