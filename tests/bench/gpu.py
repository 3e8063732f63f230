#!/usr/bin/python3
"""gpu.py — GPU benchmarks side by side with PyTorch, as ratios (docs/performance.md "GPU figures").

tensord on cuda:0 of the daemon at TENSORD_ADDRESS, PyTorch on its own cuda:0 in the same
process.  Each workload: inputs drawn at random (never zeros) once, identical for both; a
warm-up; then the median over REPS timings, each a synchronize, a batch of calls, a
synchronize, divided by the batch.  Results are checked against PyTorch's by relative
error ‖a − b‖ / ‖b‖ before any figure counts.  Sizes grow from small to the full size
only while one call stays under a budget, so an op the plugin still stages through the
host is measured, at a size it can do, instead of stalling the run.

  float32 / TF32 / bf16 matmul   TFLOP/s (TF32: --tf32, against a daemon started with
                                 TENSORD_CUDA_ALLOW_TF32=1; float32 runs with TF32 off)
  elementwise add                GB/s moved (2 reads + 1 write), and a device-to-device copy
                                 of each (the copy bandwidth the add is held against)
  reduction                      GB/s read by a full sum and a row sum
  conv forward+backward          TFLOP/s of a ResNet 3x3 layer (cuDNN's TF32 off for torch)
  ResNet-style training step     ms per SGD step of a small residual CNN (on a real GPU
                                 also under autocast float16 with a GradScaler)
  allocator                      peak reserved / peak allocated over a fragmenting trace
                                 of allocations and frees (the caching allocators' waste)

Without a CUDA PyTorch (this Debian VM: torch 1.13 CPU, the daemon on stand-in GPUs) the
same code runs small sizes as a smoke test, under a banner: those numbers mean nothing.
Options: --json PATH (rows for tests/gpu/daemon_checks.sh), --only WORD[,WORD], --tf32.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

import tensord as td

ARGS = sys.argv[1:]
ONLY = ARGS[ARGS.index("--only") + 1].split(",") if "--only" in ARGS else None
JSON = ARGS[ARGS.index("--json") + 1] if "--json" in ARGS else None
TF32 = "--tf32" in ARGS
REAL = torch.cuda.is_available() and "stand-in" not in td.cuda.get_device_name(0)
TDEV = td.device("cuda:0")
PDEV = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
REPS = 7 if REAL else 3
BUDGET = 0.5 if REAL else 0.2  # seconds one call may take before the ladder stops growing
ROWS = []


def psync():
    if PDEV.type == "cuda":
        torch.cuda.synchronize()


def median_time(fn, sync, batch, reps=REPS):
    times = []
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        sync()
        times.append((time.perf_counter() - t0) / batch)
    return statistics.median(times)


def one_call(fn, sync):
    """Seconds of one call (after one warm-up call): sizes the batch and stops the ladder."""
    fn()
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


def both(td_fn, pt_fn):
    """(tensord seconds, torch seconds) per call."""
    t1 = one_call(td_fn, td.cuda.synchronize)  # warm-up done; slow calls (staged ops) get fewer repetitions
    tt = median_time(td_fn, td.cuda.synchronize, max(1, min(50, int(0.02 / max(t1, 1e-6)))), REPS if t1 < BUDGET else 2)
    t2 = one_call(pt_fn, psync)
    pt = median_time(pt_fn, psync, max(1, min(50, int(0.02 / max(t2, 1e-6)))), REPS if t2 < BUDGET else 2)
    return tt, pt, t1


def rel_err(a_td, b_pt):
    a = a_td.detach().cpu().double().numpy()
    b = b_pt.detach().cpu().double().numpy()
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def pair(shape, dtype="float32", scale=1.0, seed=0):
    """The same random values as (tensord, torch) tensors on their cuda:0."""
    a = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)
    t = td.tensor(a).to(TDEV)
    p = torch.from_numpy(a).to(PDEV)
    if dtype != "float32":
        t, p = t.to(getattr(td, dtype)), p.to(getattr(torch, dtype))
    return t, p


def row(name, size, unit, td_val, pt_val, err, tol, higher_better=True, note=""):
    ok = err is None or (err == err and err <= tol)
    ratio = (td_val / pt_val if higher_better else pt_val / td_val) if td_val and pt_val else float("nan")
    r = dict(name=name, size=size, unit=unit, tensord=td_val, torch=pt_val, ratio=ratio, err=err,
             check="ok" if ok else "FAIL", note=note)
    ROWS.append(r)
    print("%-22s %-16s %10.4g %10.4g %-8s ratio %6.3f  err %-9s %s %s" % (
        name, size, td_val, pt_val, unit, ratio, "-" if err is None else "%.2g" % err, r["check"], note), flush=True)


def want(name):
    return ONLY is None or any(w in name for w in ONLY)


def ladder(sizes, run):
    """run(size) -> seconds of one tensord call; stops growing past the budget."""
    for s in sizes:
        if run(s) > BUDGET:
            break


def bench_matmul(kind):
    dt = {"fp32": "float32", "tf32": "float32", "bf16": "bfloat16"}[kind]
    tol = {"fp32": 1e-5, "tf32": 5e-3, "bf16": 1e-2}[kind]
    td.backends.cuda.matmul.allow_tf32 = kind == "tf32"  # the same switch on both sides
    if PDEV.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = kind == "tf32"

    def run(n):
        a, pa = pair((n, n), dt, seed=1)
        b, pb = pair((n, n), dt, seed=2)
        tt, pt, t1 = both(lambda: td.matmul(a, b), lambda: torch.matmul(pa, pb))
        k = min(n, 256)  # check a block of rows: the whole product would be a large download
        err = rel_err(td.matmul(a[:k], b), torch.matmul(pa[:k], pb))
        fl = 2.0 * n ** 3
        row("matmul %s" % kind, "%dx%d" % (n, n), "TFLOP/s", fl / tt / 1e12, fl / pt / 1e12, err, tol)
        return t1
    ladder([1024, 4096, 8192] if REAL else [128, 256], run)


def bench_add():
    def run(n):
        a, pa = pair((n,), seed=3)
        b, pb = pair((n,), seed=4)
        c, pc = td.empty(n, device=TDEV), torch.empty(n, device=PDEV)
        tt, pt, t1 = both(lambda: td.add(a, b, out=c), lambda: torch.add(pa, pb, out=pc))
        err = rel_err(c[:1 << 20], pc[:1 << 20])
        gb = 3 * 4 * n / 1e9
        row("add float32", "%dM" % (n >> 20), "GB/s", gb / tt, gb / pt, err, 1e-6)
        tc, pcp, _ = both(lambda: c.copy_(a), lambda: pc.copy_(pa))
        gb2 = 2 * 4 * n / 1e9
        row("copy d2d float32", "%dM" % (n >> 20), "GB/s", gb2 / tc, gb2 / pcp, None, 0)
        # the add against the device's copy bandwidth (torch's copy: the card as measured)
        row("add / copy bw", "%dM" % (n >> 20), "frac", (gb / tt) / (gb2 / pcp), (gb / pt) / (gb2 / pcp), None, 0)
        return t1
    ladder([1 << 24, 1 << 26, 1 << 28] if REAL else [1 << 20], run)


def bench_reduce():
    def run(n):
        a, pa = pair((n, n), seed=5)
        tt, pt, t1 = both(lambda: a.sum(), lambda: pa.sum())
        err = rel_err(a.sum(), pa.sum())
        gb = 4 * n * n / 1e9
        row("sum all", "%dx%d" % (n, n), "GB/s", gb / tt, gb / pt, err, 1e-5)
        tt, pt, _ = both(lambda: a.sum(1), lambda: pa.sum(1))
        err = rel_err(a.sum(1), pa.sum(1))
        row("sum dim 1", "%dx%d" % (n, n), "GB/s", gb / tt, gb / pt, err, 1e-5)
        return t1
    ladder([2048, 8192] if REAL else [512], run)


def bench_conv():
    td.backends.cudnn.allow_tf32 = False  # float32 on both sides (both default to TF32 on)
    if PDEV.type == "cuda":
        torch.backends.cudnn.allow_tf32 = False

    def run(nb):
        x, px = pair((nb, 64, 56, 56), seed=6)
        w, pw = pair((64, 64, 3, 3), scale=0.05, seed=7)
        g, pg = pair((nb, 64, 56, 56), seed=8)
        for t in (x, w, px, pw):
            t.requires_grad_(True)

        def tdf():
            x.grad = w.grad = None
            td.nn.functional.conv2d(x, w, padding=1).backward(g)

        def ptf():
            px.grad = pw.grad = None
            torch.nn.functional.conv2d(px, pw, padding=1).backward(pg)
        tt, pt, t1 = both(tdf, ptf)
        err = max(rel_err(td.nn.functional.conv2d(x, w, padding=1), torch.nn.functional.conv2d(px, pw, padding=1)),
                  rel_err(w.grad, pw.grad), rel_err(x.grad, px.grad))
        fl = 3 * 2.0 * nb * 64 * 64 * 9 * 56 * 56  # forward, input grad, weight grad
        row("conv3x3 fwd+bwd", "%dx64x56x56" % nb, "TFLOP/s", fl / tt / 1e12, fl / pt / 1e12, err, 1e-4)
        return t1
    ladder([2, 8, 32] if REAL else [1], run)


def resnet(mod):
    nn = mod.nn

    class Block(nn.Module):
        def __init__(self, c_in, c, stride):
            super().__init__()
            self.c1 = nn.Conv2d(c_in, c, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(c)
            self.c2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(c)
            self.skip = (nn.Sequential(nn.Conv2d(c_in, c, 1, stride, bias=False), nn.BatchNorm2d(c))
                         if stride != 1 or c_in != c else nn.Identity())

        def forward(self, x):
            y = nn.functional.relu(self.b1(self.c1(x)))
            return nn.functional.relu(self.b2(self.c2(y)) + self.skip(x))

    return nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                         Block(32, 32, 1), Block(32, 64, 2), Block(64, 128, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))


def bench_resnet(amp=False):
    """amp: the step under autocast(float16) with a GradScaler, both sides (tensord's
    float16 convolutions and matmuls on the tensor cores, the native half path)."""
    def run(nb):
        torch.manual_seed(0)
        pm = resnet(torch)
        tm = resnet(td)
        tm.load_state_dict({k: td.tensor(v.numpy()) for k, v in pm.state_dict().items()})
        pm.to(PDEV)
        tm.to(TDEV)
        x, px = pair((nb, 3, 32, 32), seed=9)
        y = np.random.default_rng(10).integers(0, 10, nb)
        ty, py = td.tensor(y).to(TDEV), torch.from_numpy(y).to(PDEV)
        to = td.optim.SGD(tm.parameters(), lr=0.01, momentum=0.9)
        po = torch.optim.SGD(pm.parameters(), lr=0.01, momentum=0.9)
        scalers = {"td": td.cuda.amp.GradScaler(), "pt": torch.cuda.amp.GradScaler()} if amp else {}
        first = {}

        def step(mod, m, o, xx, yy, key):
            o.zero_grad()
            if amp:
                with mod.autocast(device_type="cuda", dtype=mod.float16):
                    loss = mod.nn.functional.cross_entropy(m(xx), yy)
                sc = scalers[key]
                sc.scale(loss).backward()
                sc.step(o)
                sc.update()
            else:
                loss = mod.nn.functional.cross_entropy(m(xx), yy)
                loss.backward()
                o.step()
            first.setdefault(key, loss)
        tt, pt, t1 = both(lambda: step(td, tm, to, x, ty, "td"), lambda: step(torch, pm, po, px, py, "pt"))
        a, b = first["td"].item(), first["pt"].item()
        err = abs(a - b) / abs(b)
        row("resnet amp step" if amp else "resnet train step", "%dx3x32x32" % nb, "ms", tt * 1e3, pt * 1e3, err,
            1e-2 if amp else 1e-4, higher_better=False)
        return t1
    ladder([32, 128] if REAL else [8], run)


def fragmenting_trace(mod, dev, scale):
    """A fixed trace of allocations and frees of mixed sizes: (peak reserved, peak allocated)."""
    rng = np.random.default_rng(11)
    cuda = mod.cuda
    if not cuda.is_available():
        return None
    cuda.synchronize()
    cuda.empty_cache()
    cuda.reset_peak_memory_stats(dev)
    live = []
    for i in range(600):
        if live and (rng.random() < 0.45 or len(live) > 40):
            live.pop(int(rng.integers(len(live))))
        else:
            nbytes = int(np.exp(rng.uniform(np.log(64 << 10), np.log(scale))))
            t = mod.empty(nbytes // 4, device=dev)
            t.fill_(1.5)  # touched, so that it is really made
            live.append(t)
        if i % 150 == 149:  # phases: large blocks freed, smaller ones in their place
            live = live[::2]
    cuda.synchronize()
    res = cuda.max_memory_reserved(dev), cuda.max_memory_allocated(dev)
    del live
    cuda.empty_cache()
    return res


def bench_alloc():
    scale = (64 << 20) if REAL else (4 << 20)
    t = fragmenting_trace(td, TDEV, scale)
    p = fragmenting_trace(torch, PDEV, scale) if PDEV.type == "cuda" else None
    tr = t[0] / t[1]
    pr = p[0] / p[1] if p else float("nan")
    row("alloc reserved/alloc", "600 ops", "x", tr, pr, None, 0, higher_better=False,
        note="peak %.0f/%.0f MiB; aim <= 1.05" % (t[0] / 2 ** 20, t[1] / 2 ** 20))
    ROWS[-1]["ratio"] = tr  # the figure itself is the result (torch's beside it)


def main():
    if REAL:
        print("== tensord GPU benchmarks: %s (torch %s on %s)" % (td.cuda.get_device_name(0), torch.__version__,
                                                               torch.cuda.get_device_name(0)))
    else:
        print("=" * 78)
        print("== SMOKE RUN: no CUDA PyTorch here (torch %s) and/or the daemon serves stand-in GPUs (%s):"
              % (torch.__version__, td.cuda.get_device_name(0)))
        print("== tensord's 'cuda:0' is host memory and PyTorch runs on the CPU. THESE NUMBERS MEAN NOTHING;")
        print("== this only proves the benchmark code runs and the results agree.")
        print("=" * 78)
    print("%-22s %-16s %10s %10s %-8s" % ("workload", "size", "tensord", "torch", "unit"))
    if TF32:
        if want("matmul"):
            bench_matmul("tf32")
    else:
        for name, fn in [("matmul fp32", lambda: bench_matmul("fp32")), ("matmul bf16", lambda: bench_matmul("bf16")),
                         ("add", bench_add), ("reduce", bench_reduce), ("conv", bench_conv),
                         ("resnet", bench_resnet), ("alloc", bench_alloc)]:
            if want(name):
                fn()
        if REAL and want("resnet amp"):  # the smoke run's torch (CPU) has no float16 autocast
            bench_resnet(amp=True)
    if JSON:
        with open(JSON, "w") as f:
            json.dump(dict(real=REAL, device=td.cuda.get_device_name(0), rows=ROWS), f, indent=1)
    bad = [r["name"] for r in ROWS if r["check"] != "ok"]
    if bad:
        print("results differ from PyTorch's: " + ", ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
