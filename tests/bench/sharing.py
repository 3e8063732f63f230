#!/usr/bin/python3
"""sharing.py — tensors between processes, tensord against PyTorch in one run.

  handoff 100 MB    a fresh 100 MB float32 tensor put on a multiprocessing Queue until the
                    other process has it in hand (its get() returned and it read the last
                    element, checked by the sender): tensord passes a token, torch moves the
                    storage into shared memory and passes an fd; the same with a 4-byte
                    tensor (the fixed costs)
  dataloader        batches/s over a 60000x784 float32 TensorDataset (+ int64 labels),
                    batch 64, num_workers 0 and 2
  hogwild           samples/s of client_py/examples/hogwild_digits.py with 2 processes

Run: make bench (with the release daemon); --quick for a short run.
"""
import os
import statistics
import subprocess
import sys
import time

QUICK = "--quick" in sys.argv
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _receiver(q, ack):
    while True:
        t = q.get()
        if t is None:
            return
        v = t[-1].item()  # in hand: its last element read (tensord: the OPEN has run)
        ack.put((time.perf_counter(), v))  # CLOCK_MONOTONIC: comparable across processes
        del t


def handoff(torch, mp, reps, numel=25 * 1024 * 1024):
    torch.zeros(1).sum().item()  # connected before the fork: the receiver reaches the same daemon
    ctx = mp.get_context("fork")
    q, ack = ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=_receiver, args=(q, ack))
    p.start()
    times = []
    for i in range(reps + 1):
        t = torch.full((numel,), float(i))  # fresh each time
        t[0].item()  # made (tensord: the daemon has run it)
        t0 = time.perf_counter()
        q.put(t)
        t1, v = ack.get()
        if v != i:
            raise SystemExit("handoff: the receiver read %r, not %r" % (v, float(i)))
        if i:
            times.append(t1 - t0)
        del t
    q.put(None)
    p.join()
    return statistics.median(times)


def dataloader(torch, workers, batches):
    g = torch.Generator()
    g.manual_seed(0)
    x = torch.rand(60000, 784, generator=g)
    y = torch.randint(0, 10, (60000,), generator=g)
    ds = torch.utils.data.TensorDataset(x, y)
    dl = torch.utils.data.DataLoader(ds, batch_size=64, num_workers=workers, shuffle=True, generator=g)
    it = iter(dl)
    next(it)  # workers started, first batch in
    t0 = time.perf_counter()
    for _ in range(batches):
        xb, yb = next(it)
    float(xb[0, 0].item())
    dt = time.perf_counter() - t0
    del it
    return batches / dt


def hogwild(use_torch):
    args = [sys.executable, os.path.join(ROOT, "client_py", "examples", "hogwild_digits.py"), "--quiet",
            "--num-processes", "2", "--epochs", "3" if QUICK else "10"] + (["--torch"] if use_torch else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=1800, env=dict(os.environ))
    if out.returncode:
        raise SystemExit(out.stdout + out.stderr)
    last = out.stdout.splitlines()[-1].split()
    return float(last[4]), float(last[2])


def main():
    import torch
    import torch.multiprocessing as tmp
    import tensord
    import tensord.multiprocessing as dmp
    reps = 3 if QUICK else 7
    batches = 100 if QUICK else 600
    rows = []
    a, b = handoff(tensord, dmp, reps), handoff(torch, tmp, reps)
    rows.append(("handoff 100 MB (Queue)", a * 1e3, b * 1e3, "ms", a / b))
    a, b = handoff(tensord, dmp, reps, 1), handoff(torch, tmp, reps, 1)
    rows.append(("handoff 4 B (Queue)", a * 1e3, b * 1e3, "ms", a / b))
    for w in (0, 2):
        a, b = dataloader(tensord, w, batches), dataloader(torch, w, batches)
        rows.append(("dataloader %d workers" % w, a, b, "batches/s", a / b))
    (a, acc_a), (b, acc_b) = hogwild(False), hogwild(True)
    rows.append(("hogwild 2 processes", a, b, "samples/s", a / b))
    print("%-26s %12s %12s %-10s %s" % ("workload", "tensord", "pytorch", "unit", "tensord/pytorch"))
    for name, x, y, unit, r in rows:
        print("%-26s %12.3f %12.3f %-10s %.3f" % (name, x, y, unit, r))
    print("(hogwild test accuracy: tensord %.3f, pytorch %.3f; tensord transport %s; torch %s)"
          % (acc_a, acc_b, tensord.transport(), torch.__version__))


if __name__ == "__main__":
    main()
