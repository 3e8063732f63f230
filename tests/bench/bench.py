#!/usr/bin/python3
"""bench.py — the same workloads through tensord and through PyTorch, in one run.

Prints one line per workload with both figures and the ratio tensord/PyTorch of the
time taken (below 1.0 means tensord is faster).  Medians of several repetitions after
a warm-up; tensord timings include waiting for the daemon (a sync) at the end.
Run: make bench   (starts a private release daemon; --quick for a short run;
--only WORD[,WORD] runs the workloads whose name contains one of the words)
"""
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import tensord

QUICK = "--quick" in sys.argv
ONLY = sys.argv[sys.argv.index("--only") + 1].split(",") if "--only" in sys.argv else None
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


RTT_SCRIPT = """
import statistics, sys, time
import tensord
from tensord import _C
x = tensord.ones(4)
n = int(sys.argv[1])
def one():
    t0 = time.perf_counter()
    for _ in range(n):
        x.add_(1)
        _C.sync()
    return (time.perf_counter() - t0) / n
one()
print(tensord.transport(), statistics.median(one() for _ in range(5)) * 1e6)
"""


def sync_round_trip():
    """One tiny op and a sync (the client waits for the daemon's answer), per iteration,
    on this process's transport and, in a child process, on gRPC; PyTorch's column is
    the same op without a daemon (what a round trip adds is the difference)."""
    import subprocess
    n = 2000 if QUICK else 20000
    px = torch.ones(4)
    t_pt = median_time(lambda: [px.add_(1) for _ in range(n)]) / n * 1e6
    rows = []
    for env in ({}, {"TENSORD_TRANSPORT": "grpc"}):
        out = subprocess.run([sys.executable, "-c", RTT_SCRIPT, str(n // 4 if env else n)],
                             env=dict(os.environ, TENSORD_ADDRESS=tensord._daemon.address(), **env),
                             capture_output=True, text=True, check=True).stdout.split()
        rows.append(("add_ + sync (%s)" % out[0], float(out[1]), t_pt, "us/op", float(out[1]) / t_pt))
    return rows


def spellings():
    """Per-op time of the function and method spellings against the operator spelling
    (tensord only: the ratio is spelling / operator; aim <= 1.1)."""
    n = 2000 if QUICK else 20000
    a = tensord.from_numpy(np.random.rand(1000).astype(np.float32))
    b = tensord.from_numpy(np.random.rand(1000).astype(np.float32))
    m = tensord.from_numpy(np.random.rand(8, 8).astype(np.float32))
    x = tensord.from_numpy(np.random.rand(32, 32).astype(np.float32))

    def loop(f):
        def run():
            for _ in range(n):
                f()
            tensord.synchronize()
        return median_time(run) / n * 1e6

    add = loop(lambda: a + b)
    iadd = loop(lambda: a.__iadd__(b))
    mm = loop(lambda: m @ m)
    # sum and exp have no operator spelling: their base is the op's raw _C.ops entry
    red = loop(lambda: tensord._C.ops.sum(x, 1))
    rows = []
    for name, f, base, base_name in (
            ("torch.add(a, b)", lambda: tensord.add(a, b), add, "a + b"),
            ("a.add(b)", lambda: a.add(b), add, "a + b"),
            ("torch.add(a, b, alpha=2)", lambda: tensord.add(a, b, alpha=2), add, "a + b"),
            ("a.mul(b)", lambda: a.mul(b), add, "a + b"),
            ("a.add_(b)", lambda: a.add_(b), iadd, "a += b"),
            ("torch.matmul(m, m)", lambda: tensord.matmul(m, m), mm, "m @ m"),
            ("m.matmul(m)", lambda: m.matmul(m), mm, "m @ m"),
            ("x.sum(dim=1)", lambda: x.sum(dim=1), red, "ops.sum(x, 1)"),
            ("torch.sum(x, 1)", lambda: tensord.sum(x, 1), red, "ops.sum(x, 1)"),
            ("torch.exp(a)", lambda: tensord.exp(a), loop(lambda: tensord._C.ops.exp(a)), "ops.exp(a)"),
            ("a.lt(b)", lambda: a.lt(b), loop(lambda: a < b), "a < b")):
        t = loop(f)
        rows.append(("%s vs %s" % (name, base_name), t, base, "us/op", t / base))
    return rows


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


def channels_last_block():
    """A conv net's activation block on channels-last tensors: the results stay
    channels-last and the elementwise walks run in memory order (one flat run)."""
    x = np.random.rand(32, 64, 56, 56).astype(np.float32)
    tx = tensord.from_numpy(x).contiguous(memory_format=tensord.channels_last)
    px = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
    ts, tb = tensord.rand(64, 1, 1), tensord.rand(64, 1, 1)
    ps, pb = torch.from_numpy(ts.numpy()), torch.from_numpy(tb.numpy())

    def td():
        tensord.relu(tx * ts + tb)
        tensord.synchronize()

    return timed_pair("relu(x*s+b) 32x64x56x56 NHWC", td, lambda: torch.relu(px * ps + pb),
                      3 * 2 * x.nbytes / 1e9, "GB/s")


def timed_pair(name, td_fn, pt_fn, work, unit):
    """work / time for both; ratio of times.  td_fn must end with a sync."""
    t_td, t_pt = both(td_fn, pt_fn)
    return name, work / t_td, work / t_pt, unit, t_td / t_pt


def both_tensors(a_np):
    return tensord.from_numpy(a_np), torch.from_numpy(a_np)


def gather_rows():
    x = np.random.rand(4096, 256).astype(np.float32)
    idx = np.random.randint(0, 256, size=(4096, 256)).astype(np.int64)
    tx, px = both_tensors(x)
    ti, pi = both_tensors(idx)

    def td():
        tx.gather(1, ti)
        tensord.synchronize()

    return timed_pair("gather (4096,256) dim 1", td, lambda: px.gather(1, pi), x.nbytes / 1e9, "GB/s")


def bool_mask():
    x = np.random.rand(1 << 22).astype(np.float32)
    tx, px = both_tensors(x)
    tm, pm = tx > 0.5, px > 0.5

    def td():
        tx[tm]  # the count is read first: a sync inside
        tensord.synchronize()

    return timed_pair("boolean mask 4M float32", td, lambda: px[pm], x.nbytes / 1e9, "GB/s")


def sort_topk():
    x = np.random.rand(256, 4096).astype(np.float32)
    tx, px = both_tensors(x)

    def td_sort():
        tx.sort(dim=1)
        tensord.synchronize()

    def td_topk():
        tx.topk(16, dim=1)
        tensord.synchronize()

    n = x.size / 1e6
    return [timed_pair("sort (256,4096) dim 1", td_sort, lambda: px.sort(dim=1), n, "Melem/s"),
            timed_pair("topk 16 of (256,4096)", td_topk, lambda: px.topk(16, dim=1), n, "Melem/s")]


def reduce_dim():
    x = np.random.rand(4096, 4096).astype(np.float32)
    tx, px = both_tensors(x)

    def td0():
        tx.sum(dim=0)
        tensord.synchronize()

    def td1():
        tx.amax(dim=1)
        tensord.synchronize()

    gb = x.nbytes / 1e9
    return [timed_pair("sum (4096,4096) dim 0", td0, lambda: px.sum(dim=0), gb, "GB/s"),
            timed_pair("amax (4096,4096) dim 1", td1, lambda: px.amax(dim=1), gb, "GB/s")]


def softmax():
    x = np.random.rand(4096, 1024).astype(np.float32)
    tx, px = both_tensors(x)

    def td():
        tensord.softmax(tx, dim=1)
        tensord.synchronize()

    return timed_pair("softmax (4096,1024) dim 1", td, lambda: torch.softmax(px, dim=1), x.nbytes / 1e9, "GB/s")


def einsum():
    a = np.random.rand(64, 128, 64).astype(np.float32)
    b = np.random.rand(64, 64, 128).astype(np.float32)
    ta, pa = both_tensors(a)
    tb, pb = both_tensors(b)

    def td():
        tensord.einsum("bij,bjk->bik", ta, tb)
        tensord.synchronize()

    flop = 2.0 * 64 * 128 * 64 * 128
    return timed_pair("einsum bij,bjk->bik", td, lambda: torch.einsum("bij,bjk->bik", pa, pb), flop / 1e9,
                      "GFLOP/s")


def batched_solve():
    a = (np.random.rand(256, 32, 32) + 32 * np.eye(32)).astype(np.float64)
    b = np.random.rand(256, 32, 4).astype(np.float64)
    ta, pa = both_tensors(a)
    tb, pb = both_tensors(b)

    def td():
        tensord.linalg.solve(ta, tb)
        tensord.synchronize()

    return timed_pair("linalg.solve 256x(32,32)", td, lambda: torch.linalg.solve(pa, pb), 256 / 1e3,
                      "K solves/s")


def batched_lu_factor():
    a = np.random.rand(256, 32, 32).astype(np.float64)
    ta, pa = both_tensors(a)

    def td():
        tensord.linalg.lu_factor_ex(ta)
        tensord.synchronize()

    return timed_pair("lu_factor_ex 256x(32,32)", td, lambda: torch.linalg.lu_factor_ex(pa), 256 / 1e3,
                      "K factors/s")


def big_unary(name):
    n = 16 << 20
    a_np = (np.random.rand(n).astype(np.float32) - 0.5) * 20
    ta, pa = both_tensors(a_np)
    tf, pf = getattr(tensord, name), getattr(torch, name)

    def td():
        tf(ta)
        tensord.synchronize()

    return timed_pair("%s 16M float32" % name, td, lambda: pf(pa), 8 * n / 1e9, "GB/s")


def into_existing():
    """Results written into tensors that already exist: add with out=, mul_ in place,
    copy_ into a preallocated tensor (16M float32 each; no output allocation on either side)."""
    n = 16 << 20
    a_np = np.random.rand(n).astype(np.float32)
    b_np = np.random.rand(n).astype(np.float32)
    ta, pa = both_tensors(a_np)
    tb, pb = both_tensors(b_np)
    to, po = tensord.empty(n), torch.empty(n)

    def td_add():
        tensord.add(ta, tb, out=to)
        tensord.synchronize()

    def td_mul():
        to.mul_(tb)
        tensord.synchronize()

    def td_copy():
        to.copy_(ta)
        tensord.synchronize()

    return [timed_pair("add 16M float32 out=", td_add, lambda: torch.add(pa, pb, out=po), 12 * n / 1e9, "GB/s"),
            timed_pair("mul_ 16M float32", td_mul, lambda: po.mul_(pb), 12 * n / 1e9, "GB/s"),
            timed_pair("copy_ 16M float32", td_copy, lambda: po.copy_(pa), 8 * n / 1e9, "GB/s")]

def autograd_chain():
    """Forward + backward of a 100-op elementwise chain on small tensors: the cost of
    recording nodes and running the backward pass (aim <= 0.5x PyTorch's time)."""
    n = 5 if QUICK else 20
    x_np = np.random.rand(64).astype(np.float32)

    def chain(mod, x):
        y = x
        for i in range(25):
            y = (y * 1.01 + 0.1).tanh() - y * 0.5
        return y.sum()

    def td():
        for _ in range(n):
            x = tensord.tensor(x_np, requires_grad=True)
            chain(tensord, x).backward()
            x.grad
        tensord.synchronize()

    def pt():
        for _ in range(n):
            x = torch.tensor(x_np, requires_grad=True)
            chain(torch, x).backward()
            x.grad

    t_td, t_pt = both(td, pt)
    return "autograd 100-op chain f+b", t_td / n * 1e3, t_pt / n * 1e3, "ms/pass", t_td / t_pt


def ctc_loss():
    """ctc_loss forward + backward through a log_softmax (the LOSS family's CTC_LOSS and
    CTC_LOSS_BACKWARD kernels against torch's C++ kernel), float32, padded targets: a short
    sequence (T 50, batch 16, 20 classes, targets of 10) and a longer one (T 200,
    batch 32, 30 classes, targets of 40)."""
    rows = []
    for Tn, N, C, S in ((50, 16, 20, 10), (200, 32, 30, 40)):
        rng = np.random.default_rng(0)
        x_np = rng.standard_normal((Tn, N, C)).astype(np.float32)
        tg_np = rng.integers(1, C, (N, S))
        il, tl = [Tn] * N, [S] * N

        def run(mod):
            def f():
                x = mod.tensor(x_np, requires_grad=True)
                mod.nn.functional.ctc_loss(x.log_softmax(2), mod.tensor(tg_np), il, tl).backward()
                x.grad.sum().item()  # (a sync on tensord's side)
            return f
        t_td, t_pt = both(run(tensord), run(torch))
        rows.append(("ctc_loss T%d N%d C%d S%d f+b" % (Tn, N, C, S), t_td * 1e3, t_pt * 1e3, "ms/call", t_td / t_pt))
    return rows


def conv2d():
    """nn.functional.conv2d as a first layer (batch 64, 3->32 channels, 32x32, 3x3, padding 1):
    forward alone, then forward and backward (input, weight and bias gradients); and a
    2x2 max_pool2d over its output, forward and backward."""
    import torch.nn.functional as PF
    import tensord.nn.functional as TF
    x_np = np.random.rand(64, 3, 32, 32).astype(np.float32)
    w_np = (np.random.rand(32, 3, 3, 3).astype(np.float32) - 0.5) / 3
    b_np = np.random.rand(32).astype(np.float32)
    g_np = np.random.rand(64, 32, 32, 32).astype(np.float32)
    p_np = np.random.rand(64, 32, 16, 16).astype(np.float32)
    tx, px = both_tensors(x_np)
    tw, pw = both_tensors(w_np)
    tb, pb = both_tensors(b_np)
    tg, pg = both_tensors(g_np)
    tp, pp = both_tensors(p_np)
    flop = 2.0 * 64 * 32 * 32 * 32 * 27  # multiply-adds of the forward

    def td_fwd():
        TF.conv2d(tx, tw, tb, padding=1)
        tensord.synchronize()

    rows = [timed_pair("conv2d 64x3x32x32 3x3 fwd", td_fwd, lambda: PF.conv2d(px, pw, pb, padding=1), flop / 1e9,
                       "GFLOP/s")]
    for t in (tx, tw, tb, px, pw, pb):
        t.requires_grad_()

    def td_fb():
        tx.grad = tw.grad = tb.grad = None
        TF.conv2d(tx, tw, tb, padding=1).backward(tg)
        tensord.synchronize()

    def pt_fb():
        px.grad = pw.grad = pb.grad = None
        PF.conv2d(px, pw, pb, padding=1).backward(pg)

    rows.append(timed_pair("conv2d 64x3x32x32 3x3 fwd+bwd", td_fb, pt_fb, 3 * flop / 1e9, "GFLOP/s"))
    ty, py = both_tensors(g_np)
    ty.requires_grad_()
    py.requires_grad_()

    def td_pool():
        ty.grad = None
        TF.max_pool2d(ty, 2).backward(tp)
        tensord.synchronize()

    def pt_pool():
        py.grad = None
        PF.max_pool2d(py, 2).backward(pp)

    rows.append(timed_pair("max_pool2d 64x32x32x32 f+b", td_pool, pt_pool, 64 * 32 * 32 * 32 * 4 / 1e9, "GB/s"))
    return rows


def digits_training():
    """Training throughput (samples/s) of an MLP and a CNN on scikit-learn's digits, the
    same loop in both libraries: DataLoader (batch 32, shuffled), forward, cross entropy,
    backward, Adam step.  The ratio is time ratio (< 1: tensord faster)."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x_np = (d.images / 16.0).astype(np.float32)[:, None]
    y_np = d.target.astype(np.int64)
    epochs = 1 if QUICK else 2

    def mlp(m):
        return m.nn.Sequential(m.nn.Flatten(), m.nn.Linear(64, 128), m.nn.ReLU(), m.nn.Linear(128, 10))

    def cnn(m):
        return m.nn.Sequential(m.nn.Conv2d(1, 32, 3, padding=1), m.nn.ReLU(), m.nn.MaxPool2d(2),
                               m.nn.Conv2d(32, 64, 3, padding=1), m.nn.ReLU(), m.nn.MaxPool2d(2), m.nn.Flatten(),
                               m.nn.Linear(256, 128), m.nn.ReLU(), m.nn.Linear(128, 10))

    def run(m, build, sync):
        m.manual_seed(0)
        model = build(m)
        opt = m.optim.Adam(model.parameters(), lr=1e-3)
        ds = m.utils.data.TensorDataset(m.tensor(x_np), m.tensor(y_np))
        loader = m.utils.data.DataLoader(ds, batch_size=32, shuffle=True)
        t0 = time.perf_counter()
        for _ in range(epochs):
            for xb, yb in loader:
                opt.zero_grad()
                m.nn.functional.cross_entropy(model(xb), yb).backward()
                opt.step()
        sync()
        return time.perf_counter() - t0

    rows = []
    n = epochs * len(y_np)
    for name, build in (("digits MLP train", mlp), ("digits CNN train", cnn)):
        run(tensord, build, tensord.synchronize)  # warm-up
        t_td = min(run(tensord, build, tensord.synchronize) for _ in range(2))
        t_pt = min(run(torch, build, lambda: None) for _ in range(2))
        rows.append((name, n / t_td, n / t_pt, "samples/s", t_td / t_pt))
    return rows


def token_model_step(build, vocab, shape, make_opt):
    """Seconds per training step of build(torch) and build(tensord), the same weights, on
    random token ids of `shape`: cross entropy over vocab, backward, make_opt's step."""
    pm, tm = build(torch), build(tensord)
    tm.load_state_dict({k: tensord.tensor(v.numpy()) for k, v in pm.state_dict().items()})
    rng = np.random.default_rng(0)
    x_np, y_np = rng.integers(0, vocab, shape), rng.integers(0, vocab, shape).reshape(-1)

    def stepper(mod, model):
        opt = make_opt(mod, model.parameters())
        x, y = mod.tensor(x_np), mod.tensor(y_np)

        def step():
            opt.zero_grad()
            loss = mod.nn.functional.cross_entropy(model(x).reshape(-1, vocab), y)
            loss.backward()
            opt.step()
            if mod is tensord:
                tensord.synchronize()
        return step

    return both(stepper(tensord, tm), stepper(torch, pm))


def lstm_step():
    """One training step of a small LSTM language model, the same weights on both sides:
    embedding (vocabulary 1000, 200) -> 2-layer LSTM (200 -> 200) -> Linear (200 -> 1000)
    over a (35, 32) batch of token ids, cross-entropy, backward and an SGD step."""
    vocab, emb, hidden, batch, seq = 1000, 200, 200, 32, 35

    def build(mod):
        nn = mod.nn

        class LM(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(vocab, emb)
                self.rnn = nn.LSTM(emb, hidden, 2)
                self.out = nn.Linear(hidden, vocab)

            def forward(self, x):
                return self.out(self.rnn(self.emb(x))[0])
        return LM()

    t_td, t_pt = token_model_step(build, vocab, (seq, batch), lambda mod, ps: mod.optim.SGD(ps, lr=0.1))
    return "LSTM LM train step", t_td * 1e3, t_pt * 1e3, "ms/step", t_td / t_pt


def gpt_step():
    """One training step of a minGPT-style model (karpathy/minGPT's block, written out):
    2 blocks of LayerNorm, causal self-attention (masked softmax, dropout 0.1), a tanh-GELU
    MLP with x ** 3, embedding 192 over 6 heads, a (16, 128) batch of token ids, cross
    entropy, backward, AdamW.  The same weights on both sides; dropout on."""
    vocab, emb, heads, batch, seq, layers = 65, 192, 6, 16, 128, 2

    def build(mod):
        nn, F = mod.nn, mod.nn.functional

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.ln1, self.ln2 = nn.LayerNorm(emb), nn.LayerNorm(emb)
                self.attn, self.proj = nn.Linear(emb, 3 * emb), nn.Linear(emb, emb)
                self.fc, self.out = nn.Linear(emb, 4 * emb), nn.Linear(4 * emb, emb)
                self.drop = nn.Dropout(0.1)
                self.register_buffer("mask", mod.tril(mod.ones(seq, seq)).view(1, 1, seq, seq))

            def forward(self, x):
                b, t, c = x.size()
                q, k, v = self.attn(self.ln1(x)).split(emb, dim=2)
                q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(c // heads))
                att = self.drop(F.softmax(att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf")), dim=-1))
                x = x + self.drop(self.proj((att @ v).transpose(1, 2).contiguous().view(b, t, c)))
                h = self.fc(self.ln2(x))
                h = 0.5 * h * (1.0 + mod.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * mod.pow(h, 3.0))))
                return x + self.drop(self.out(h))

        class GPT(nn.Module):
            def __init__(self):
                super().__init__()
                self.tok, self.pos = nn.Embedding(vocab, emb), nn.Embedding(seq, emb)
                self.blocks = nn.Sequential(*[Block() for _ in range(layers)])
                self.ln, self.head = nn.LayerNorm(emb), nn.Linear(emb, vocab, bias=False)

            def forward(self, idx):
                x = self.tok(idx) + self.pos(mod.arange(idx.size(1)))
                return self.head(self.ln(self.blocks(x)))
        return GPT()

    t_td, t_pt = token_model_step(build, vocab, (batch, seq), lambda mod, ps: mod.optim.AdamW(ps, lr=5e-4))
    return "GPT train step", t_td * 1e3, t_pt * 1e3, "ms/step", t_td / t_pt


# (name as printed, function giving one row or a list of rows)
def traced_step():
    """Microseconds per SGD training step (forward, cross entropy, backward, momentum step)
    of the digits MLP at batch 32, over one pass of the data: tensord eager, tensord with
    the step traced into a daemon graph (tensord.jit.trace after a warm-up step: one record
    per step), and PyTorch eager, which both ratios compare against."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x_np = (d.images / 16.0).astype(np.float32).reshape(-1, 64)
    y_np = d.target.astype(np.int64)
    n = len(y_np) // 32 * 32

    def setup(m, trace):
        m.manual_seed(0)
        model = m.nn.Sequential(m.nn.Linear(64, 128), m.nn.ReLU(), m.nn.Linear(128, 10))
        opt = m.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        xs = [m.tensor(x_np[i:i + 32]) for i in range(0, n, 32)]
        ys = [m.tensor(y_np[i:i + 32]) for i in range(0, n, 32)]

        def step(x, y):
            opt.zero_grad(set_to_none=False)
            loss = m.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.detach()
        step(xs[0], ys[0])  # warm-up: .grad and the momentum buffers exist
        if trace:
            step = m.jit.trace(step, (xs[0], ys[0]))

        def epoch():
            for x, y in zip(xs, ys):
                loss = step(x, y)
            loss.item()
        return epoch

    t_eager = median_time(setup(tensord, False)) / (n // 32) * 1e6
    t_graph = median_time(setup(tensord, True)) / (n // 32) * 1e6
    t_pt = median_time(setup(torch, False)) / (n // 32) * 1e6
    return [("MLP SGD step, eager", t_eager, t_pt, "us/step", t_eager / t_pt),
            ("MLP SGD step, jit.trace", t_graph, t_pt, "us/step", t_graph / t_pt)]


WORKLOADS = [("spellings", spellings), ("small add", small_adds), ("sync round trip", sync_round_trip), ("matmul 1024", lambda: matmul(1024)),
             ("matmul 2048", lambda: matmul(2048)), ("add 16M", big_add), ("sum 16M", big_sum),
             ("exp 16M", lambda: big_unary("exp")), ("sin 16M", lambda: big_unary("sin")),
             ("channels-last block", channels_last_block),
             ("gather", gather_rows), ("boolean mask", bool_mask), ("sort topk", sort_topk),
             ("sum dim 0 amax dim 1", reduce_dim), ("softmax", softmax), ("einsum", einsum),
             ("linalg.solve", batched_solve), ("lu_factor", batched_lu_factor),
             ("into existing", into_existing), ("autograd chain", autograd_chain), ("conv2d", conv2d),
             ("ctc_loss", ctc_loss),
             ("digits training", digits_training), ("traced step", traced_step), ("LSTM step", lstm_step),
             ("GPT step", gpt_step)]


def main():
    torch.set_num_threads(os.cpu_count() or 1)  # same cores as the daemon uses
    rows = []
    for name, fn in WORKLOADS:
        if ONLY and not any(w in name for w in ONLY):
            continue
        r = fn()
        rows += r if isinstance(r, list) else [r]
    print("%-28s %12s %12s %-11s %s" % ("workload", "tensord", "pytorch", "unit", "time ratio"))
    for name, v_td, v_pt, unit, ratio in rows:
        print("%-28s %12.2f %12.2f %-11s %.2f" % (name, v_td, v_pt, unit, ratio))
    print("(torch %s, %d threads)" % (torch.__version__, torch.get_num_threads()))


if __name__ == "__main__":
    main()
