#!/usr/bin/python3
"""distributed.py — tensord.distributed against PyTorch's gloo, 2 ranks on this node.

  all_reduce 1K / 4M   ms per all_reduce (SUM) of 1000 / 4M float32 elements
  DDP MLP step         ms per DistributedDataParallel step (784-256-10 MLP, batch 64,
                       SGD), rank 0's time

Each side runs as two processes (`python -m tensord` for tensord); rank 0 prints its
medians.  Run: make bench (with the release daemon); --quick for a short run.
"""
import os
import socket
import subprocess
import sys
import textwrap

QUICK = "--quick" in sys.argv
REPS = 20 if QUICK else 100

RANK_SCRIPT = textwrap.dedent("""
    import statistics, sys, time
    import torch, torch.nn as nn, torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    REPS = int(sys.argv[1])
    dist.init_process_group("gloo")

    def median_ms(fn):
        for _ in range(5):
            fn()
        ts = []
        for _ in range(REPS):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts) * 1e3

    small, big = torch.ones(1000), torch.ones(4 << 20)
    rows = [("all_reduce 1K", median_ms(lambda: dist.all_reduce(small))),
            ("all_reduce 4M", median_ms(lambda: (dist.all_reduce(big), big[0].item())))]
    torch.manual_seed(0)
    model = DDP(nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        model.module[0].weight[0, 0].item()
    rows.append(("DDP MLP step", median_ms(step)))
    if dist.get_rank() == 0:
        for name, ms in rows:
            print("%s\\t%.4f" % (name, ms))
    dist.destroy_process_group()
""")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(tensord_side, path):
    port, procs = _free_port(), []
    for r in range(2):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(r), WORLD_SIZE="2")
        cmd = [sys.executable] + (["-m", "tensord"] if tensord_side else []) + [path, str(REPS)]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True))
    out = procs[0].communicate(timeout=900)[0]
    procs[1].wait(timeout=900)
    return dict((name, float(ms)) for name, ms in (line.split("\t") for line in out.splitlines()))


def main():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ranks.py")
        with open(path, "w") as f:
            f.write(RANK_SCRIPT)
        td = run(True, path)
        pt = run(False, path)
    print("%-24s %12s %12s %-8s %s" % ("workload", "tensord", "pytorch", "unit", "time ratio"))
    for name in td:
        print("%-24s %12.3f %12.3f %-8s %.2f" % (name, td[name], pt[name], "ms", td[name] / pt[name]))


if __name__ == "__main__":
    main()
