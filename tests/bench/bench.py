#!/usr/bin/python3
"""bench.py — the same workloads through tensord and through PyTorch, in one run.

Prints one line per workload with both figures and the ratio tensord/PyTorch of the
time taken (below 1.0 means tensord is faster).  Medians of several repetitions after
a warm-up; tensord timings include waiting for the daemon (a sync) at the end.
Run: make bench   (starts a private release daemon; --quick for a short run)
"""
import os
import statistics
import sys
import time

import numpy as np
import torch
import tensord

QUICK = "--quick" in sys.argv
REPS = 3 if QUICK else 7


def median_time(fn, reps=REPS):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def both(make_td, make_pt):
    return median_time(make_td), median_time(make_pt)


def small_adds():
    n = 2000 if QUICK else 20000
    a_np = np.random.rand(1000).astype(np.float32)
    ta, tb = tensord.from_numpy(a_np), tensord.from_numpy(a_np)
    pa, pb = torch.from_numpy(a_np), torch.from_numpy(a_np)

    def td():
        for _ in range(n):
            ta + tb
        tensord.synchronize()

    def pt():
        for _ in range(n):
            pa + pb

    t_td, t_pt = both(td, pt)
    return "small add (1000,) per op", t_td / n * 1e6, t_pt / n * 1e6, "us/op", t_td / t_pt


def matmul(n):
    a_np = np.random.rand(n, n).astype(np.float32)
    b_np = np.random.rand(n, n).astype(np.float32)
    ta, tb = tensord.from_numpy(a_np), tensord.from_numpy(b_np)
    pa, pb = torch.from_numpy(a_np), torch.from_numpy(b_np)

    def td():
        ta @ tb
        tensord.synchronize()

    t_td, t_pt = both(td, lambda: pa @ pb)
    flop = 2.0 * n ** 3
    return "matmul %dx%d float32" % (n, n), flop / t_td / 1e9, flop / t_pt / 1e9, "GFLOP/s", t_td / t_pt


def big_add():
    n = 16 << 20
    a_np = np.random.rand(n).astype(np.float32)
    ta, tb = tensord.from_numpy(a_np), tensord.from_numpy(a_np)
    pa, pb = torch.from_numpy(a_np), torch.from_numpy(a_np)

    def td():
        ta + tb
        tensord.synchronize()

    t_td, t_pt = both(td, lambda: pa + pb)
    nbytes = 3 * 4 * n
    return "add 16M float32", nbytes / t_td / 1e9, nbytes / t_pt / 1e9, "GB/s", t_td / t_pt


def big_sum():
    n = 16 << 20
    a_np = np.random.rand(n).astype(np.float32)
    ta, pa = tensord.from_numpy(a_np), torch.from_numpy(a_np)

    def td():
        ta.sum()
        tensord.synchronize()

    t_td, t_pt = both(td, lambda: pa.sum())
    nbytes = 4 * n
    return "sum 16M float32", nbytes / t_td / 1e9, nbytes / t_pt / 1e9, "GB/s", t_td / t_pt


def main():
    torch.set_num_threads(os.cpu_count() or 1)  # same cores as the daemon uses
    rows = [small_adds(), matmul(1024), matmul(2048), big_add(), big_sum()]
    print("%-28s %12s %12s %-8s %s" % ("workload", "tensord", "pytorch", "unit", "time ratio"))
    for name, v_td, v_pt, unit, ratio in rows:
        print("%-28s %12.2f %12.2f %-8s %.2f" % (name, v_td, v_pt, unit, ratio))
    print("(torch %s, %d threads)" % (torch.__version__, torch.get_num_threads()))


if __name__ == "__main__":
    main()
