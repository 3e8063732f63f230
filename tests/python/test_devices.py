"""Devices end to end against a daemon serving 2 host-memory stand-in GPUs (--fake-gpus).

The stand-in's kernels are the CPU kernels, and ops without a device kernel are staged
through host memory by the executor, so a computation on 'cuda' must give exactly what
the same computation gives on the CPU; the CPU results are checked against PyTorch 1.13,
as are device semantics and error messages.

The module needs its own daemon with fake GPUs, and the client holds one connection per
process: in an ordinary run (the session daemon has no GPUs) a single test re-runs this
file under pytest in a subprocess with TENSORD_FAKE_GPUS=2 in its environment, so that
conftest's session daemon there (which reads TENSORD_* settings from the environment)
serves 2 fake GPUs and is checked for a clean, sanitizer-quiet exit as usual.  It runs
three times: with the stand-ins' kernels; with none (--fake-gpu-staged), so that every op
goes through the executor's host staging (daemon/exec.c exec_staged); and with native
float16/bfloat16 kernels (--fake-gpu-half: daemon/exec.c native_half, as with the CUDA
plugin); all must give the same results.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_same, rerun_under_fake_gpus, to_torch

HERE = os.path.dirname(os.path.abspath(__file__))
IN_CHILD = os.environ.get("TENSORD_FAKE_GPUS") == "2"


if not IN_CHILD:
    @pytest.mark.parametrize("mode", ["kernels", "staged", "native-half"])
    def test_devices_under_two_fake_gpus(mode):
        # staged: no device kernels, every op staged through the host; native-half:
        # float16/bfloat16 operands reach the kernels as they are (device.h half_kernel)
        rerun_under_fake_gpus(__file__, {"TENSORD_FAKE_GPU_STAGED": "yes" if mode == "staged" else "no",
                                         "TENSORD_FAKE_GPU_HALF": "yes" if mode == "native-half" else "no"})


def rng(seed=0):
    return np.random.default_rng(seed)


def same_exact(got, want):
    """got (on a device) equals want (its CPU twin) bit for bit, dtype and shape too."""
    assert got.device.type == "cuda", got.device
    g = got.cpu()
    assert g.device.type == "cpu"
    assert g.dtype is want.dtype and tuple(g.shape) == tuple(want.shape), (g.dtype, want.dtype, g.shape, want.shape)
    a, b = to_torch(g), to_torch(want)
    if a.dtype.is_floating_point:
        assert torch.equal(a.isnan(), b.isnan()), (a, b)
        a, b = a.nan_to_num(0.0), b.nan_to_num(0.0)
    assert torch.equal(a, b), "device result differs from the CPU:\n got %s\nwant %s" % (a, b)


def flat(r):
    return list(r) if isinstance(r, (tuple, list)) else [r]


# ---------------------------------------------------------------------------------------------
# 1. op sweep: the same function on (tensord cpu, tensord cuda, torch)


def _mk(mod, arr, dtype_name, device=None):
    dt = getattr(mod, dtype_name)
    if mod is torch:
        t = torch.tensor(np.asarray(arr))
        return t.to(dt)
    if dtype_name == "bfloat16":
        t = td.tensor(np.asarray(arr, dtype=np.float32)).to(td.bfloat16)
    else:
        t = td.tensor(np.asarray(arr)).to(dt)
    return t.to(device) if device else t


R = rng(1)
A34 = R.uniform(-3, 3, (3, 4))
B34 = R.uniform(-3, 3, (3, 4))
B4 = R.uniform(0.5, 3, (4,))
P34 = R.uniform(0.1, 4, (3, 4))
A234 = R.uniform(-2, 2, (2, 3, 4))
M45 = R.uniform(-2, 2, (4, 5))
BM = R.uniform(-2, 2, (2, 4, 5))
I34 = R.integers(-6, 7, (3, 4))
J34 = R.integers(1, 5, (3, 4))
IDX = np.array([[0, 2, 1, 0], [2, 2, 0, 1]])
MASK = R.random((3, 4)) < 0.5
IMG = R.uniform(-1, 1, (2, 3, 6, 6))
KER = R.uniform(-0.5, 0.5, (4, 3, 3, 3))
KB = R.uniform(-0.5, 0.5, (4,))

# name: (fn(mod, *tensors), [(array, dtype)...], exact-vs-torch tolerance or None for default)
SWEEP = {
    "neg": (lambda m, a: -a, [(A34, "float32")]),
    "abs": (lambda m, a: m.abs(a), [(A34, "float32")]),
    "exp": (lambda m, a: m.exp(a), [(A34, "float32")]),
    "log": (lambda m, a: m.log(a), [(P34, "float32")]),
    "sqrt_f64": (lambda m, a: m.sqrt(a), [(P34, "float64")]),
    "tanh": (lambda m, a: m.tanh(a), [(A34, "float32")]),
    "sigmoid": (lambda m, a: m.sigmoid(a), [(A34, "float32")]),
    "sin_f16": (lambda m, a: m.sin(a), [(A34, "float16")]),
    "relu_bf16": (lambda m, a: m.relu(a), [(A34, "bfloat16")]),
    "add": (lambda m, a, b: a + b, [(A34, "float32"), (B34, "float32")]),
    "sub_bcast": (lambda m, a, b: a - b, [(A34, "float32"), (B4, "float32")]),
    "mul_bcast3": (lambda m, a, b: a * b, [(A234, "float32"), (B4, "float32")]),
    "div": (lambda m, a, b: a / b, [(A34, "float32"), (B4, "float32")]),
    "pow_scalar": (lambda m, a: a ** 2, [(A34, "float32")]),
    "rpow_scalar": (lambda m, a: 2.0 ** a, [(A34, "float32")]),
    "add_alpha": (lambda m, a, b: m.add(a, b, alpha=2.5), [(A34, "float64"), (B34, "float64")]),
    "scalar_mix": (lambda m, a: (a * 3 - 1.5) / 2 + 7, [(A34, "float32")]),
    "int_arith": (lambda m, a, b: a * b + a // b - a % b, [(I34, "int64"), (J34, "int64")]),
    "int32_promote": (lambda m, a, b: a + b, [(I34, "int32"), (B34, "float32")]),
    "int_div_true": (lambda m, a, b: a / b, [(I34, "int64"), (J34, "int64")]),
    "cmp": (lambda m, a, b: (a > b, a == a, a <= 0.5), [(A34, "float32"), (B34, "float32")]),
    "logic": (lambda m, a, b: (a & b, a | b, ~a, a ^ b), [(MASK, "bool"), (MASK.T.copy().T[::-1].copy(), "bool")]),
    "bitwise_int": (lambda m, a, b: (a & b, a | b, a ^ b), [(I34, "int32"), (J34, "int32")]),
    "maximum": (lambda m, a, b: (m.maximum(a, b), m.minimum(a, b)), [(A34, "float32"), (B34, "float32")]),
    "f16_arith": (lambda m, a, b: a * b + a, [(A34, "float16"), (B34, "float16")]),
    "bf16_arith": (lambda m, a, b: a * b - b, [(A34, "bfloat16"), (B34, "bfloat16")]),
    "sum_all": (lambda m, a: a.sum(), [(A234, "float64")]),
    "sum_dim": (lambda m, a: (a.sum(1), a.sum((0, 2), keepdim=True)), [(A234, "float64")]),
    "mean_keep": (lambda m, a: a.mean(-1, keepdim=True), [(A234, "float32")]),
    "prod": (lambda m, a: a.prod(0), [(A34, "float64")]),
    "max_dim": (lambda m, a: tuple(a.max(1)), [(A34, "float32")]),
    "min_all": (lambda m, a: (a.min(), a.amax(0), a.amin(1, keepdim=True)), [(A34, "float32")]),
    "var_std": (lambda m, a: (a.var(1), a.std(0, unbiased=False)), [(A34, "float64")]),
    "norm": (lambda m, a: (a.norm(), a.norm(dim=1)), [(A34, "float64")]),
    "logsumexp": (lambda m, a: m.logsumexp(a, 1), [(A34, "float64")]),
    "any_all": (lambda m, a: (a.any(), a.all(1), a.sum(0)), [(MASK, "bool")]),
    "int_sum": (lambda m, a: (a.sum(), a.sum(1)), [(I34, "int32")]),
    "argmax": (lambda m, a: (a.argmax(), a.argmax(1), a.argmin(0, keepdim=True)), [(A34, "float32")]),
    "matmul": (lambda m, a, b: a @ b, [(A34, "float64"), (M45, "float64")]),
    "matmul_f32": (lambda m, a, b: m.matmul(a, b), [(A34, "float32"), (M45, "float32")]),
    "mv": (lambda m, a, b: m.mv(a, b), [(A34, "float64"), (B4, "float64")]),
    "bmm": (lambda m, a, b: m.bmm(a, b), [(A234, "float64"), (BM, "float64")]),
    "linear": (lambda m, x, w, b: m.nn.functional.linear(x, w, b),
               [(A234, "float64"), (M45.T.copy(), "float64"), (B4[:1].repeat(5), "float64")]),
    "softmax": (lambda m, a: (m.softmax(a, 1), m.log_softmax(a, 0)), [(A34, "float64")]),
    "softmax_nn": (lambda m, a: m.nn.functional.softmax(a, dim=-1), [(A234, "float32")]),
    "cumsum": (lambda m, a: (a.cumsum(1), a.cumsum(0), m.cumprod(a, 1)), [(A34, "float64")]),
    "cumsum_int": (lambda m, a: a.cumsum(1), [(I34, "int64")]),
    "sort": (lambda m, a: tuple(m.sort(a, 1)) + tuple(m.sort(a, 0, descending=True)), [(A34, "float32")]),
    "topk": (lambda m, a: tuple(m.topk(a, 2, 1)) + tuple(a.topk(1, 0, largest=False)), [(A34, "float32")]),
    "where": (lambda m, c, a, b: m.where(c, a, b), [(MASK, "bool"), (A34, "float32"), (B34, "float32")]),
    "where_scalar": (lambda m, c, a: m.where(c, a, 0.0), [(MASK, "bool"), (A34, "float32")]),
    "clamp": (lambda m, a: (a.clamp(-1, 1), a.clamp(min=0.5), m.clamp(a, max=-0.5)), [(A34, "float32")]),
    "clamp_tensor": (lambda m, a, b: m.clamp(a, min=b), [(A34, "float32"), (B34, "float32")]),
    "gather": (lambda m, a, i: m.gather(a, 0, i), [(A34, "float32"), (IDX[:, :4] % 3, "int64")]),
    "scatter": (lambda m, a, i, s: a.scatter(1, i, s), [(A34, "float32"), (IDX % 4, "int64"), (B34, "float32")]),
    "scatter_add": (lambda m, a, i, s: a.scatter_add(1, i, s[:2]), [(A34, "float64"), (IDX % 4, "int64"),
                                                                    (B34, "float64")]),
    "index_select": (lambda m, a, i: (m.index_select(a, 1, i), a.index_select(0, i[:2] % 3)),
                     [(A34, "float32"), (np.array([3, 0, 2]), "int64")]),
    "adv_index": (lambda m, a, i: (a[i], a[:, i], a[i % 3, i]), [(A34, "float32"), (np.array([2, 0, 1]), "int64")]),
    "bool_index": (lambda m, a, k: a[k], [(A34, "float32"), (MASK, "bool")]),
    "masked": (lambda m, a, k: (a.masked_fill(k, -9.0), m.masked_select(a, k)), [(A34, "float32"), (MASK, "bool")]),
    "nonzero": (lambda m, a: (m.nonzero(a), a.sum()), [(MASK, "bool")]),
    "cat_stack": (lambda m, a, b: (m.cat([a, b]), m.cat([a, b], 1), m.stack([a, b], 2)),
                  [(A34, "float32"), (B34, "float32")]),
    "split_chunk": (lambda m, a: tuple(m.split(a, [1, 3], 1)) + tuple(a.chunk(3, 0)), [(A34, "float32")]),
    "transpose_ops": (lambda m, a, b: (a.t() + b.t(), (a.t() * 2).sum(0), a.t().contiguous(), a.t() @ b),
                      [(A34, "float32"), (B34, "float32")]),
    "slice_ops": (lambda m, a: (a[:, 1::2] * 3, a[1:, :2].exp(), a[::2].sum(1), a[:, 1]),
                  [(A234, "float32")]),
    "expand_ops": (lambda m, a: (a.expand(3, 4) + 1, a.unsqueeze(0).expand(2, 3, 4).sum(1)),
                   [(B34[:, :1], "float32")]),
    "permute_ops": (lambda m, a: (a.permute(2, 0, 1).softmax(0), a.permute(1, 2, 0).cumsum(2),
                                  a.permute(2, 1, 0).reshape(4, 6), a.transpose(0, 2).sort(1)[0]),
                    [(A234, "float32")]),
    "views_meta": (lambda m, a: (a.view(4, 3), a.reshape(-1), a.flatten(), a.unsqueeze(1).squeeze(1), a.flip(0),
                                 a.roll(1, 1), a.narrow(1, 1, 2), a.T.unbind(0)[1]),
                   [(A34, "float64")]),
    "diag_tril": (lambda m, a: (m.tril(a), m.triu(a, 1), m.diagonal(a), m.trace(a[:, :3])), [(A34, "float32")]),
    "casts": (lambda m, a: (a.double(), a.half(), a.bfloat16(), a.int(), a.long(), a.bool(), a.to(m.uint8),
                            a.to(m.int8)), [(A34 * 10, "float32")]),
    "casts_int": (lambda m, a: (a.float(), a.half(), a.bool(), a.to(m.int16)), [(I34, "int64")]),
    "conv2d": (lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, padding=1),
               [(IMG, "float32"), (KER, "float32"), (KB, "float32")]),
    "conv2d_stride": (lambda m, x, w: m.nn.functional.conv2d(x, w, stride=2), [(IMG, "float64"), (KER, "float64")]),
    "max_pool2d": (lambda m, x: (m.nn.functional.max_pool2d(x, 2), m.nn.functional.avg_pool2d(x, 3, 1)),
                   [(IMG, "float32")]),
    "max_pool2d_idx": (lambda m, x: tuple(m.nn.functional.max_pool2d(x, 2, return_indices=True)), [(IMG, "float32")]),
    "batch_norm_eval": (lambda m, x, rm, rv, w, b: m.nn.functional.batch_norm(x, rm, rv, w, b),
                        [(IMG, "float32"), (KB[:3], "float32"), (np.abs(KB[:3]) + 0.5, "float32"),
                         (KB[1:], "float32"), (KB[:3] * 2, "float32")]),
    "batch_norm_train": (lambda m, x: m.nn.functional.batch_norm(x, None, None, training=True),
                         [(IMG, "float64")]),
    "activations": (lambda m, a: (m.nn.functional.gelu(a), m.nn.functional.silu(a),
                                  m.nn.functional.leaky_relu(a, 0.1), m.nn.functional.softplus(a)),
                    [(A34, "float32")]),
    "losses": (lambda m, a, b, t: (m.nn.functional.mse_loss(a, b), m.nn.functional.cross_entropy(a, t)),
               [(A34, "float64"), (B34, "float64"), (np.array([0, 3, 1]), "int64")]),
    "layer_norm": (lambda m, a: m.nn.functional.layer_norm(a, (4,)), [(A234, "float64")]),
    "embedding": (lambda m, i, w: m.nn.functional.embedding(i, w), [(IDX % 4, "int64"), (M45, "float32")]),
    "unique_like": (lambda m, a: (m.zeros_like(a), m.ones_like(a), m.full_like(a, 3.5)), [(A34, "float32")]),
    # the CUDA plugin's math, STAT, scan, search, creation and movement rows
    "math_unary": (lambda m, a: (m.tan(a), m.atan(a), m.sinh(a), m.expm1(a), m.log2(m.abs(a) + 1), m.erf(a),
                                 m.erfinv(a / 4), m.lgamma(m.abs(a) + 0.5), m.digamma(a), m.frac(a),
                                 m.logit(m.sigmoid(a), eps=1e-3), m.nan_to_num(m.log(a))), [(A34, "float64")]),
    "math_pred": (lambda m, a: (m.isnan(m.log(a)), m.isinf(1 / (a - a)), m.isfinite(m.log(a)), m.signbit(a)),
                  [(A34, "float32")]),
    "math_binary": (lambda m, a, b: (m.atan2(a, b), m.hypot(a, b), m.copysign(a, b), m.xlogy(a, m.abs(b)),
                                     m.logaddexp(a, b), m.logaddexp2(a, b), m.fmod(a, b), m.fmod(a, -1.25)),
                    [(A34, "float32"), (B34, "float32")]),
    "math_ternary": (lambda m, a, b, c: (m.lerp(a, b, 0.3), m.lerp(a, b, c), m.addcmul(a, b, c, value=0.5),
                                         m.addcdiv(a, b, c + 4, value=-2)),
                     [(A34, "float32"), (B34, "float32"), (P34, "float32")]),
    "stat_more": (lambda m, a: (*m.var_mean(a, 1), *m.std_mean(a, 0), *m.aminmax(a), m.nansum(a),
                                m.count_nonzero(a > 0), a.norm(p=float("inf"), dim=1), a.norm(p=3)), [(A34, "float64")]),
    "cum_more": (lambda m, a: (*m.cummax(a, 1), *m.cummin(a, 0), m.logcumsumexp(a, 1)), [(A34, "float32")]),
    "search_hist": (lambda m, s, v: (m.searchsorted(s, v), m.searchsorted(s, v, right=True),
                                     m.histc(v, bins=5, min=-3, max=3)),
                    [(np.sort(A34.ravel()), "float32"), (B34, "float32")]),
    "flip_create": (lambda m, a: (m.flip(a, [0, 1]), m.fliplr(a), m.arange(2, 9, 0.5, device=a.device),
                                  m.linspace(-1, 1, 7, device=a.device), m.eye(3, 4, device=a.device),
                                  m.full((2, 3), 7, device=a.device), m.empty(2, 3, device=a.device).zero_()),
                    [(A34, "float32")]),
    "half_index": (lambda m, a, i: (a.index_select(1, i[0]), a[i[1]], m.cat([a, a], 0), m.flip(a, [1]), m.tril(a),
                                    m.gather(a, 1, i[:, :3].t().contiguous())),
                   [(A34, "float16"), (IDX, "int64")]),
}


def _run(fn, mod, arrs, device=None):
    ins = [_mk(mod, a, d, device) for a, d in arrs]
    return [r for r in flat(fn(mod, *ins))]


@pytest.mark.parametrize("name", sorted(SWEEP))
def test_op_sweep(name):
    fn, arrs = SWEEP[name]
    cpu = _run(fn, td, arrs)
    dev = _run(fn, td, arrs, "cuda")
    try:
        ref = _run(fn, torch, arrs)
    except RuntimeError as e:
        # torch 1.13's CPU build lacks some half kernels: the float32 result, rounded back
        if "not implemented for 'Half'" not in str(e) and "not implemented for 'BFloat16'" not in str(e):
            raise
        low = [d for _, d in arrs if d in ("float16", "bfloat16")][0]
        ref = [r.to(getattr(torch, low)) for r in _run(fn, torch, [(a, "float32" if d == low else d)
                                                                   for a, d in arrs])]
    assert len(cpu) == len(dev) == len(ref)
    for c, d, r in zip(cpu, dev, ref):
        if not isinstance(r, torch.Tensor):
            continue
        assert d.device == td.device("cuda", 0), (name, d.device)
        assert c.device == td.device("cpu")
        same_exact(d, c)
        assert_same(c, r, rtol=1e-4 if r.dtype == torch.float32 else None,
                    atol=1e-5 if r.dtype == torch.float32 else None)


def test_sweep_on_cuda1_matches():
    fn, arrs = SWEEP["conv2d"]
    same_exact(_run(fn, td, arrs, "cuda:1")[0].to("cuda:0"), _run(fn, td, arrs)[0])
    r = _run(SWEEP["sort"][0], td, SWEEP["sort"][1], "cuda:1")
    assert all(x.device == td.device("cuda:1") for x in r)


def test_inplace_on_device_views_writes_through():
    a = np.arange(12.0).reshape(3, 4)
    c, d, t = td.tensor(a), td.tensor(a, device="cuda"), torch.tensor(a)
    for x in (c, d, t):
        x[:, 1].add_(1)
        x[0].mul_(2)
        x.t()[2].sub_(0.5)
        x[1:, ::2].clamp_(max=7.0)
        x[2, 3] = -1.0
        x[:, 0] = x[:, 0] * 10
        x.diagonal().zero_()
        x[x > 20] = 20.0
    same_exact(d, c)
    assert_same(c, t)
    # an in-place op on a view of a device tensor with a broadcast CPU 0-dim operand
    d[1].mul_(td.tensor(3.0))
    t[1].mul_(3.0)
    assert_same(d.cpu(), t)


def test_inplace_int_and_half_on_device():
    for dt_name in ("int32", "float16", "bfloat16"):
        a = np.arange(12).reshape(3, 4)
        c, d = _mk(td, a, dt_name), _mk(td, a, dt_name, "cuda")
        for x in (c, d):
            x[:, 2:].add_(3)
            x.t()[1].mul_(2)
            x.fill_diagonal_(7) if hasattr(x, "fill_diagonal_") else x.diagonal().fill_(7)
        same_exact(d, c)


def test_half_conv_and_pool_on_device():
    # float16/bfloat16 convolution and pooling, refused on the CPU as torch does, run on a
    # GPU (as torch's): computed in float32 between two casts, so a device result is the
    # CPU's float32 result rounded once
    F = td.nn.functional
    r = rng(5)
    x32, w32 = r.standard_normal((2, 3, 8, 8)).astype(np.float32), r.standard_normal((4, 3, 3, 3)).astype(np.float32)
    for dt in (td.float16, td.bfloat16):
        x = td.tensor(x32).to(dt).to("cuda")
        w = td.tensor(w32).to(dt).to("cuda").requires_grad_()
        xf, wf = x.cpu().float(), w.detach().cpu().float().requires_grad_()
        y = F.conv2d(x, w, padding=1)
        same_exact(y, F.conv2d(xf, wf, padding=1).to(dt))
        for name, kw in (("max_pool2d", dict(kernel_size=2)), ("avg_pool2d", dict(kernel_size=3, stride=2)),
                         ("adaptive_avg_pool2d", dict(output_size=3)), ("adaptive_max_pool2d", dict(output_size=3))):
            same_exact(getattr(F, name)(y, **kw), getattr(F, name)(y.cpu().float(), **kw).to(dt))
        F.max_pool2d(y, 2).sum().backward()
        F.max_pool2d(F.conv2d(xf, wf, padding=1).to(dt).float(), 2).sum().backward()
        assert w.grad.dtype is dt and w.grad.is_cuda
        same_exact(w.grad, wf.grad.to(dt))


def test_out_on_device():
    a = td.tensor(A34, dtype=td.float32, device="cuda")
    b = td.tensor(B34, dtype=td.float32, device="cuda")
    out = td.empty(3, 4, device="cuda")
    r = td.add(a, b, out=out)
    assert r is out and out.device == td.device("cuda:0")
    same_exact(out, td.tensor(A34, dtype=td.float32) + td.tensor(B34, dtype=td.float32))
    # out= resized from a wrong shape stays on its device
    out2 = td.empty(0, device="cuda")
    td.matmul(a, b.t(), out=out2)
    assert out2.shape == (3, 3) and out2.is_cuda
    same_exact(out2, td.tensor(A34, dtype=td.float32) @ td.tensor(B34, dtype=td.float32).t())
    # out= on another device is an error, as torch
    with pytest.raises(RuntimeError, match="same device|Expected"):
        td.add(a, b, out=td.empty(3, 4))


def test_fp16_bf16_factories_on_device():
    for dt in (td.float16, td.bfloat16, td.int8, td.bool):
        z = td.zeros(2, 3, dtype=dt, device="cuda:1")
        o = td.ones(2, 3, dtype=dt, device="cuda:1")
        assert z.dtype is dt and z.device == td.device("cuda:1")
        assert (o.sum() if dt is not td.bool else o.all()).item() in (6, True)
        assert td.equal(z.cpu(), td.zeros(2, 3, dtype=dt))
    a = td.arange(10, device="cuda")
    assert a.is_cuda and a.tolist() == list(range(10))
    f = td.full((2, 2), 2.5, dtype=td.float16, device="cuda")
    assert f.cpu().tolist() == [[2.5, 2.5], [2.5, 2.5]]
    e = td.eye(3, device="cuda:1")
    assert e.device.index == 1 and e.cpu().tolist() == torch.eye(3).tolist()
    ls = td.linspace(0, 1, 5, device="cuda")
    assert ls.is_cuda and ls.cpu().tolist() == torch.linspace(0, 1, 5).tolist()


def test_random_on_device_shapes_and_ranges():
    td.manual_seed(0)
    r = td.rand(100, device="cuda")
    n = td.randn(4, 5, device="cuda:1", dtype=td.float64)
    i = td.randint(0, 7, (50,), device="cuda")
    p = td.randperm(10, device="cuda")
    assert r.is_cuda and n.device.index == 1 and i.is_cuda and p.is_cuda
    assert 0 <= r.min().item() and r.max().item() < 1
    assert n.dtype is td.float64 and n.shape == (4, 5)
    assert 0 <= i.min().item() and i.max().item() < 7
    assert sorted(p.tolist()) == list(range(10))


def test_device_draws_leave_the_cpu_stream_alone():
    """Device ops draw from the devices' generator (torch's CUDA generators), so the CPU's
    values after manual_seed are torch's whatever ran on a device in between; dropout,
    rrelu, randperm and conv_transpose2d run on the input's device."""
    torch.manual_seed(0)
    want = [torch.rand(3), torch.randn(20), torch.randperm(8), torch.empty(30).bernoulli_(0.4)]
    td.manual_seed(0)
    got = [td.rand(3)]
    x = td.ones(40, 3, device="cuda")
    drop = td.nn.functional.dropout(x, 0.5)
    rr = td.nn.functional.rrelu(-x, training=True)
    perm = td.randperm(6, device="cuda:1")
    ct = td.nn.functional.conv_transpose2d(td.ones(1, 2, 3, 3, device="cuda"), td.ones(2, 1, 2, 2, device="cuda"))
    td.randn(4, device="cuda").normal_()
    got += [td.randn(20), td.randperm(8), td.empty(30).bernoulli_(0.4)]
    for g, w in zip(got, want):
        assert np.array_equal(g.numpy(), w.numpy())
    assert drop.is_cuda and set(np.unique(drop.cpu().numpy())) <= {0.0, 2.0} and 0 < (drop == 0).sum().item() < 120
    r = rr.cpu().numpy()
    assert rr.is_cuda and ((r >= -1 / 3) & (r <= -1 / 8)).all()
    assert perm.device.index == 1 and sorted(perm.tolist()) == list(range(6))
    assert ct.is_cuda and ct.cpu().tolist() == torch.nn.functional.conv_transpose2d(
        torch.ones(1, 2, 3, 3), torch.ones(2, 1, 2, 2)).tolist()


def test_device_generator_seed_and_state():
    td.cuda.manual_seed(3)
    a = td.rand(6, device="cuda")
    cpu = td.get_rng_state()
    td.cuda.manual_seed(3)  # seeds the devices' generator only
    assert np.array_equal(td.rand(6, device="cuda").cpu().numpy(), a.cpu().numpy())
    assert np.array_equal(td.get_rng_state().numpy(), cpu.numpy()) and td.cuda.initial_seed() == 3
    s = td.cuda.get_rng_state()
    b = td.randn(5, device="cuda")
    td.cuda.set_rng_state(s)
    assert np.array_equal(td.randn(5, device="cuda").cpu().numpy(), b.cpu().numpy())
    td.manual_seed(11)  # seeds every generator
    c = td.rand(4, device="cuda")
    td.manual_seed(11)
    assert np.array_equal(td.rand(4, device="cuda").cpu().numpy(), c.cpu().numpy()) and td.cuda.initial_seed() == 11
    with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
        td.cuda.set_rng_state(td.zeros(5056, dtype=td.uint8))
    # a CUDA state torch wrote (a checkpoint's: Philox seed and offset) seeds the devices' generator
    torch_state = td.tensor(list((1234).to_bytes(8, "little") + (96).to_bytes(8, "little")), dtype=td.uint8)
    td.cuda.set_rng_state(torch_state)
    d = td.rand(3, device="cuda")
    td.cuda.manual_seed(1234)
    assert np.array_equal(td.rand(3, device="cuda").cpu().numpy(), d.cpu().numpy()) and td.cuda.initial_seed() == 1234


def test_device_generator_objects():
    """Generator(device='cuda') drives ops placed on a device; a generator of the other
    device type is refused as torch refuses it."""
    g = td.Generator(device="cuda").manual_seed(3)
    assert g.device == td.device("cuda", 0)
    a = td.randn(4, device="cuda", generator=g)
    b = td.empty(5, device="cuda").uniform_(generator=g)
    p = td.randperm(7, device="cuda", generator=g)
    g.manual_seed(3)
    assert np.array_equal(td.randn(4, device="cuda", generator=g).cpu().numpy(), a.cpu().numpy())
    assert np.array_equal(td.empty(5, device="cuda").uniform_(generator=g).cpu().numpy(), b.cpu().numpy())
    assert td.randperm(7, device="cuda", generator=g).tolist() == p.tolist()
    with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but found 'cpu'"):
        td.rand(2, device="cuda", generator=td.Generator())
    with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator but found 'cuda'"):
        td.rand(2, generator=g)


# ---------------------------------------------------------------------------------------------
# 2. device semantics


def test_device_objects_and_placement():
    x = td.arange(6.0).reshape(2, 3)
    y = x.to("cuda")
    assert y.device == td.device("cuda", 0) and str(y.device) == "cuda:0"
    assert y.is_cuda and not y.is_cpu and y.get_device() == 0
    assert x.get_device() == -1 and not x.is_cuda and x.device == td.device("cpu")
    z = y.to("cuda:1")
    assert z.device == td.device("cuda:1") and z.get_device() == 1
    assert z.to("cuda:1") is z and y.to("cuda:0") is y and x.to("cpu") is x and x.cpu() is x
    assert y.cuda() is y and y.cuda(0) is y
    assert y.cuda(1).device.index == 1
    same_exact(z, x)
    same_exact(z.to("cuda:0"), x)
    assert z.cpu().tolist() == x.tolist()
    assert td.zeros(2, device=td.device("cuda", 1)).device == td.device("cuda:1")
    assert td.zeros(2, device=0).device == td.device("cuda:0")
    assert td.ones(2, device=1).device == td.device("cuda:1")
    assert td.empty(3, device="cuda").device == td.device("cuda:0")
    # result devices follow the inputs
    assert (z * 2).device.index == 1 and z.sum().device.index == 1 and z[0].device.index == 1
    assert (z @ z.t()).device.index == 1
    with pytest.raises(RuntimeError, match="Invalid device, must be cuda device"):
        x.cuda("cpu")


def test_accelerator_api():
    """torch.accelerator (torch 2.x) over the daemon's devices, as tensord.cuda's."""
    acc = td.accelerator
    assert acc.is_available() and acc.device_count() == td.cuda.device_count() == 2
    assert acc.current_accelerator() == td.device("cuda") and str(acc.current_accelerator()) == "cuda"
    assert td.distributed.get_default_backend_for_device(acc.current_accelerator()) == "nccl"
    assert acc.current_device_index() == 0
    with acc.device_index(1):
        assert acc.current_device_index() == 1 and td.zeros(1, device="cuda").device.index == 1
        with acc.device_index(None):
            assert acc.current_device_index() == 1
    assert acc.current_device_index() == 0
    acc.set_device_index("cuda:1")
    try:
        assert td.cuda.current_device() == 1 and acc.current_device_idx() == 1
        x = td.ones(256, device=td.device("%s:%d" % (acc.current_accelerator(), 1)))
        acc.synchronize()
        assert acc.memory_allocated(1) >= 1024 and acc.max_memory_allocated(1) >= acc.memory_allocated(1)
        assert acc.memory_stats(1)["allocated_bytes.all.current"] == acc.memory_allocated(1)
        free, total = acc.get_memory_info(1)
        assert 0 < free <= total
        assert acc.current_stream() == td.cuda.current_stream(1)
        del x
    finally:
        acc.set_device_index(0)
    with pytest.raises(ValueError, match="doesn't match the current accelerator"):
        acc.set_device_index("cpu")


def test_default_device_and_device_context():
    """torch 2.x's set_default_device/get_default_device and `with torch.device(d)`:
    factories without a device create there (tensor(), zeros, randn, arange, a module's
    parameters); *_like, .to(), from_numpy and computed results are unaffected."""
    try:
        td.set_default_device("cuda:1")
        assert td.get_default_device() == td.device("cuda:1")
        made = [td.zeros(2), td.tensor([1.0, 2.0]), td.randn(3), td.arange(4), td.nn.Linear(2, 2).weight,
                td.full((2,), 7.0), td.empty(1)]
        assert all(m.device == td.device("cuda:1") for m in made), [m.device for m in made]
        assert td.from_numpy(np.ones(2)).device.type == "cpu" and td.zeros(2, device="cpu").device.type == "cpu"
        with td.device("cpu"):
            assert td.ones(2).device.type == "cpu"
            with td.device("cuda:0"):
                assert td.ones(2).device == td.device("cuda:0")
            assert td.ones(2).device.type == "cpu"
        assert td.ones(2).device == td.device("cuda:1")
        x = td.ones(3, device="cpu")
        assert td.zeros_like(x).device.type == "cpu" and (x + 1).device.type == "cpu"
    finally:
        td.set_default_device(None)
    assert td.get_default_device() == td.device("cpu") and td.zeros(1).device.type == "cpu"
    with td.device("cuda"):
        assert td.zeros(1).device == td.device("cuda:0")
    assert td.zeros(1).device.type == "cpu"


def test_save_on_cpu_keeps_saved_tensors_on_the_host():
    """torch.autograd.graph.save_on_cpu: a device model's saved tensors held as CPU copies
    until backward, the gradients those of a plain backward."""
    td.manual_seed(0)
    model = td.nn.Sequential(td.nn.Linear(8, 16), td.nn.Tanh(), td.nn.Linear(16, 2)).cuda()
    x = td.randn(4, 8, device="cuda")
    model(x).pow(2).sum().backward()
    want = [p.grad.cpu().numpy() for p in model.parameters()]
    model.zero_grad()
    held = []
    hooks = td.autograd.graph.save_on_cpu()
    pack = hooks.pack_hook
    hooks.pack_hook = lambda t: held.append(pack(t)) or held[-1]
    with hooks:
        y = model(x).pow(2).sum()
    assert held and all(p[1].device.type == "cpu" and p[0].type == "cuda" for p in held)
    y.backward()
    for p, w in zip(model.parameters(), want):
        assert p.grad.device.type == "cuda"
        np.testing.assert_allclose(p.grad.cpu().numpy(), w, rtol=1e-6)


def test_to_device_and_dtype_together():
    x = td.tensor(A34, dtype=td.float64)
    for args, kw in [(("cuda", td.float16), {}), ((), {"device": "cuda:1", "dtype": td.int32}),
                     ((td.device("cuda", 0),), {"dtype": td.bfloat16})]:
        y = x.to(*args, **kw)
        want_dt = kw.get("dtype", args[1] if len(args) > 1 else None)
        assert y.dtype is want_dt
        assert y.is_cuda
        same_exact(y, x.to(want_dt))
        back = y.to("cpu", td.float64)
        assert back.device.type == "cpu" and back.dtype is td.float64
    # to(other) takes its device and dtype
    o = td.zeros(1, dtype=td.float32, device="cuda:1")
    y = x.to(o)
    assert y.device.index == 1 and y.dtype is td.float32
    # copy=True on the same device makes a new tensor
    d = x.cuda()
    c = d.to("cuda", copy=True)
    assert c is not d and c.is_cuda
    c.add_(1)
    assert d.cpu().tolist() == x.tolist()


def test_to_device_is_differentiable():
    x = td.tensor(A34, requires_grad=True)
    tx = torch.tensor(A34, requires_grad=True)
    y = (x.cuda() * 3).exp().sum()
    ty = (tx * 3).exp().sum()
    y.backward()
    ty.backward()
    assert x.grad is not None and x.grad.device.type == "cpu"
    assert_same(x.grad, tx.grad)


def test_copy_across_devices():
    src = td.tensor(A34, dtype=td.float64)
    # cpu -> cuda with dtype conversion
    dst = td.zeros(3, 4, dtype=td.float32, device="cuda")
    dst.copy_(src)
    same_exact(dst, src.float())
    # cuda:0 -> cuda:1 with broadcasting
    row = td.tensor(B4, dtype=td.float32, device="cuda:0")
    d1 = td.empty(3, 4, dtype=td.float64, device="cuda:1")
    d1.copy_(row)
    same_exact(d1, td.tensor(B4, dtype=td.float32).double().expand(3, 4))
    # cuda -> cpu into a non-contiguous destination
    host = td.zeros(4, 3, dtype=td.float32)
    host.t().copy_(dst)
    assert torch.equal(to_torch(host), torch.tensor(A34, dtype=torch.float32).t())
    # non-contiguous device source, non-contiguous device destination on the other GPU
    big = td.zeros(4, 6, dtype=td.float32, device="cuda:1")
    big[:, ::2].copy_(dst.t())
    want = torch.zeros(4, 6)
    want[:, ::2] = torch.tensor(A34, dtype=torch.float32).t()
    assert torch.equal(to_torch(big.cpu()), want)
    # a 0-dim CPU source fills a device tensor
    dst.copy_(td.tensor(2.5))
    assert dst.cpu().unique().tolist() == [2.5]
    # int -> bool device copy
    bdst = td.zeros(3, 4, dtype=td.bool, device="cuda")
    bdst.copy_(td.tensor(I34))
    assert torch.equal(to_torch(bdst.cpu()), torch.tensor(I34).bool())
    # a non-contiguous source moved with .to
    nc = td.tensor(A234)[:, ::2, 1:].transpose(0, 2)
    same_exact(nc.to("cuda:1"), nc.contiguous())


def test_tensor_factory_and_like_keep_device():
    t = td.tensor([[1, 2], [3, 4]], device="cuda")
    assert t.is_cuda and t.dtype is td.int64 and t.tolist() == [[1, 2], [3, 4]]
    t1 = td.tensor(np.array([1.5, 2.5], dtype=np.float32), device="cuda:1")
    assert t1.device.index == 1 and t1.dtype is td.float32
    t2 = td.tensor(t1)  # copies keep the source's device
    assert t2.device.index == 1 and t2.tolist() == [1.5, 2.5]
    t3 = td.tensor(t1, device="cpu")
    assert t3.device.type == "cpu"
    t4 = td.tensor(3.0, device="cuda")
    assert t4.dim() == 0 and t4.is_cuda and t4.item() == 3.0
    for f in (td.zeros_like, td.ones_like, td.empty_like, td.rand_like, td.randn_like):
        r = f(t1)
        assert r.device == t1.device and r.dtype is td.float32 and r.shape == t1.shape
    assert td.full_like(t1, 7).device.index == 1
    assert td.zeros_like(t1, device="cpu").device.type == "cpu"
    assert td.randint_like(t, 5).is_cuda
    assert t1.new_zeros(3).device.index == 1 and t1.new_ones(2, 2).device.index == 1
    assert t1.new_tensor([1.0]).device.index == 1 and t1.new_full((2,), 1.0).device.index == 1
    assert t1.new_empty(4).device.index == 1


def test_repr_matches_torch():
    cases = [
        lambda m: m.tensor([[1.5, 2.0], [3.0, -4.25]]),
        lambda m: m.tensor([1, 2, 3]),
        lambda m: m.tensor(2.5),
        lambda m: m.tensor([True, False]),
        lambda m: m.tensor([1.0, 2.0], dtype=m.float16),
        lambda m: m.zeros(0),
        lambda m: m.tensor([1.0, 2.0], requires_grad=True),
    ]
    for mk in cases:
        want = repr(mk(torch))
        got = repr(mk(td).to("cuda"))
        # torch prints device='cuda:0' before dtype= and grad_fn/requires_grad
        if want.endswith(")"):
            body = want[:-1]
            parts = body.split(", dtype=")
            if len(parts) == 2:
                expect = parts[0] + ", device='cuda:0', dtype=" + parts[1] + ")"
            elif ", requires_grad=True" in body:
                expect = body.replace(", requires_grad=True", ", device='cuda:0', requires_grad=True") + ")"
            else:
                expect = body + ", device='cuda:0')"
        got_req = got
        if "requires_grad" in want:
            # .to on a leaf is an op: the device copy has a grad_fn, not requires_grad=True
            got_req = repr(mk(td).detach().to("cuda").requires_grad_())
        assert got_req == expect, (got_req, expect)
    s = str(td.ones(2, 2, device="cuda:1"))
    assert s == "tensor([[1., 1.],\n        [1., 1.]], device='cuda:1')"


def test_numpy_item_tolist():
    d = td.tensor(A34, device="cuda")
    with pytest.raises(TypeError) as e:
        d.numpy()
    with pytest.raises(TypeError) as te:
        torch.tensor(A34).to("meta").numpy()  # torch without CUDA: same message shape, other device
    assert str(e.value) == str(te.value).replace("meta", "cuda:0")
    assert str(e.value) == ("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                            "to host memory first.")
    assert np.array_equal(d.cpu().numpy(), A34)
    assert d.sum().item() == pytest.approx(A34.sum())
    assert d[1, 2].item() == A34[1, 2]
    assert d.tolist() == A34.tolist()
    assert td.tensor([True, False], device="cuda:1").tolist() == [True, False]
    assert int(td.tensor(5, device="cuda")) == 5 and float(td.tensor(0.5, device="cuda")) == 0.5
    assert bool(td.tensor([1], device="cuda"))


def test_invalid_ordinal():
    for dev in ("cuda:5", td.device("cuda", 2), 7):
        with pytest.raises(RuntimeError, match="^CUDA error: invalid device ordinal$"):
            td.zeros(1, device=dev)
    x = td.ones(2)
    with pytest.raises(RuntimeError, match="^CUDA error: invalid device ordinal$"):
        x.to("cuda:2")
    with pytest.raises(RuntimeError, match="^CUDA error: invalid device ordinal$"):
        x.cuda(3)
    with pytest.raises(RuntimeError, match="Device index must not be negative"):
        td.zeros(1, device=-1)


SAME_DEVICE = "Expected all tensors to be on the same device, but found at least two devices, %s and %s!"


def test_cross_device_errors():
    c = td.ones(3)
    g0 = td.ones(3, device="cuda")
    g1 = td.ones(3, device="cuda:1")
    with pytest.raises(RuntimeError) as e:
        g0 + c
    assert str(e.value) == SAME_DEVICE % ("cuda:0", "cpu")
    with pytest.raises(RuntimeError) as e:
        c + g0
    assert str(e.value) == SAME_DEVICE % ("cpu", "cuda:0") or str(e.value) == SAME_DEVICE % ("cuda:0", "cpu")
    with pytest.raises(RuntimeError) as e:
        g0 * g1
    assert str(e.value) == SAME_DEVICE % ("cuda:0", "cuda:1")
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        td.cat([g0, c])
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        td.matmul(g0.reshape(1, 3), td.ones(3, 1))
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        td.where(g0 > 0, g0, g1)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        g0.add_(g1)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        g0.index_select(0, td.tensor([0, 1]))


def test_zero_dim_cpu_with_device_allowed():
    g = td.tensor(A34, device="cuda:1")
    s = td.tensor(2.0)
    for r, w in [(g + s, A34 + 2.0), (s * g, A34 * 2.0), (g - s, A34 - 2.0), (td.maximum(g, s), np.maximum(A34, 2.0)),
                 (td.where(g > 0, g, s), np.where(A34 > 0, A34, 2.0))]:
        assert r.device.index == 1
        assert np.allclose(r.cpu().numpy(), w, rtol=0, atol=0)
    g.mul_(td.tensor(0.5))
    assert np.array_equal(g.cpu().numpy(), A34 * 0.5)
    # a 0-dim device tensor with a CPU tensor is not allowed (torch allows only the CPU scalar)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        td.ones(3) + td.tensor(1.0, device="cuda")


# ---------------------------------------------------------------------------------------------
# 3. autograd and nn on device


def _mlp_data():
    r = rng(5)
    return (r.normal(size=(8, 6)), r.normal(size=(6, 10)) * 0.3, r.normal(size=(10,)) * 0.1,
            r.normal(size=(10, 3)) * 0.3, r.integers(0, 3, (8,)))


def _mlp(m, device, x, w1, b1, w2, y):
    params = [m.tensor(a, dtype=m.float32, device=device, requires_grad=True) for a in (w1, b1, w2)]
    xt = m.tensor(x, dtype=m.float32, device=device)
    yt = m.tensor(y, device=device)
    h = (xt @ params[0] + params[1]).relu()
    h = m.nn.functional.dropout(h, 0.0)
    loss = m.nn.functional.cross_entropy(h @ params[2], yt) + (params[0] ** 2).sum() * 1e-3
    loss.backward()
    return loss, params


def test_mlp_backward_on_device():
    data = _mlp_data()
    lc, pc = _mlp(td, None, *data)
    lg, pg = _mlp(td, "cuda", *data)
    lt, pt = _mlp(torch, None, *data)
    assert lg.is_cuda and lg.grad_fn is not None
    same_exact(lg.detach(), lc.detach())
    for a, b, t in zip(pg, pc, pt):
        assert a.grad is not None and a.grad.device == td.device("cuda:0")
        same_exact(a.grad, b.grad)
        assert_same(b.grad, t.grad, rtol=1e-4, atol=1e-6)


def test_user_code_in_backward_creates_on_the_cpu():
    """Hooks and a custom function's backward run while the engine works on cuda:1; as in
    torch, .cpu() there gives a CPU tensor and a factory without device= creates on the
    CPU, while ops on the gradient stay on its device."""
    seen = []

    class Twice(td.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            seen.append(("function", str(g.device), str(td.zeros(1).device), str(g.cpu().device)))
            return g * 2

    def hook(g):
        seen.append(("tensor hook", str(g.device), str(td.ones(2).device), str(g.detach().cpu().device)))
        return g + 1

    lin = td.nn.Linear(3, 2).to("cuda:1")
    lin.register_full_backward_hook(
        lambda m, gi, go: seen.append(("module hook", str(go[0].device), str(td.empty(1).device),
                                       str(go[0].cpu().device))))
    x = td.ones(4, 3, device="cuda:1", requires_grad=True)
    x.register_hook(hook)
    Twice.apply(lin(x)).sum().backward()
    assert sorted(seen) == [("function", "cuda:1", "cpu", "cpu"), ("module hook", "cuda:1", "cpu", "cpu"),
                            ("tensor hook", "cuda:1", "cpu", "cpu")]
    want = (lin.weight.detach().cpu().sum(0) * 2 + 1).numpy()
    assert x.grad.device == td.device("cuda:1")
    np.testing.assert_allclose(x.grad.cpu().numpy(), np.broadcast_to(want, (4, 3)), rtol=1e-6)
    assert td.zeros(1).device.type == "cpu"  # and after backward


def test_autograd_on_cuda1_with_views_and_index():
    a = np.arange(12.0).reshape(3, 4) / 7
    outs = []
    for dev in (None, "cuda:1"):
        x = td.tensor(a, device=dev, requires_grad=True)
        y = (x[:, 1:].t() * x[0, 1:]).softmax(0)
        z = (y.sum(1) * td.tensor([1.0, 2.0, 3.0], device=dev)).sum() + x[[0, 2]].cumsum(1).mean()
        z.backward()
        outs.append(x.grad)
    assert outs[1].device.index == 1
    same_exact(outs[1], outs[0])


def _net(m):
    m.manual_seed(0)
    return m.nn.Sequential(m.nn.Linear(6, 10), m.nn.ReLU(), m.nn.Linear(10, 3))


def test_module_to_cuda_and_optimizers():
    x, _, _, _, y = _mlp_data()
    base = _net(td)
    state = {k: v.clone() for k, v in base.state_dict().items()}
    for opt_name in ("SGD", "Adam"):
        results = []
        for move in (None, "to", "cuda"):
            net = _net(td)
            net.load_state_dict(state)
            if move == "to":
                r = net.to("cuda")
                assert r is net
            elif move == "cuda":
                net.cuda(1)
            dev = next(net.parameters()).device
            if move:
                assert all(p.is_cuda and p.device == dev for p in net.parameters())
                assert isinstance(net[0].weight, td.nn.Parameter) and net[0].weight.requires_grad
            kw = {"lr": 0.1, "momentum": 0.9} if opt_name == "SGD" else {"lr": 0.01}
            opt = getattr(td.optim, opt_name)(net.parameters(), **kw)
            xt, yt = td.tensor(x, dtype=td.float32, device=dev), td.tensor(y, device=dev)
            for _ in range(3):
                opt.zero_grad()
                loss = td.nn.functional.cross_entropy(net(xt), yt)
                loss.backward()
                opt.step()
            results.append([p.detach() for p in net.parameters()])
        for ps in results[1:]:
            for a, b in zip(ps, results[0]):
                same_exact(a, b)
    # torch reference for SGD from the same start
    tnet = torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.ReLU(), torch.nn.Linear(10, 3))
    tnet.load_state_dict({k: to_torch(v) for k, v in state.items()})
    topt = torch.optim.SGD(tnet.parameters(), lr=0.1, momentum=0.9)
    net = _net(td)
    net.load_state_dict(state)
    net.to(td.device("cuda", 0))
    opt = td.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tnet(torch.tensor(x, dtype=torch.float32)), torch.tensor(y)).backward()
        topt.step()
        opt.zero_grad()
        td.nn.functional.cross_entropy(net(td.tensor(x, dtype=td.float32, device="cuda")),
                                       td.tensor(y, device="cuda")).backward()
        opt.step()
    for a, b in zip(net.parameters(), tnet.parameters()):
        assert_same(a.detach().cpu(), b.detach(), rtol=1e-4, atol=1e-6)


def test_module_to_dtype_device_buffers_and_back():
    bn = td.nn.BatchNorm1d(4)
    bn.to("cuda:1", td.float64)
    assert bn.weight.dtype is td.float64 and bn.weight.device.index == 1
    assert bn.running_mean.device.index == 1 and bn.running_mean.dtype is td.float64
    assert bn.num_batches_tracked.dtype is td.int64 and bn.num_batches_tracked.device.index == 1
    x = td.tensor(A34, device="cuda:1")
    bn(x)
    tbn = torch.nn.BatchNorm1d(4).double()
    tbn(torch.tensor(A34))
    assert_same(bn.running_mean.cpu(), tbn.running_mean)
    assert_same(bn.running_var.cpu(), tbn.running_var)
    assert bn.num_batches_tracked.item() == 1
    bn.cpu()
    assert bn.weight.device.type == "cpu" and bn.running_var.device.type == "cpu"
    lin = td.nn.Linear(3, 2)
    lin.to(td.ones(1, dtype=td.float16, device="cuda"))
    assert lin.weight.dtype is td.float16 and lin.weight.is_cuda
    with pytest.raises(RuntimeError, match="^CUDA error: invalid device ordinal$"):
        lin.to("cuda:4")


def test_other_factories_take_device():
    cases = [
        lambda m, d: m.logspace(0, 2, 5, device=d),
        lambda m, d: m.tril_indices(3, 4, device=d),
        lambda m, d: m.triu_indices(4, 3, 1, device=d),
        lambda m, d: m.scalar_tensor(2.5, device=d),
        lambda m, d: m.hann_window(6, device=d),
        lambda m, d: m.kaiser_window(5, device=d, dtype=m.float64),
        lambda m, d: m.empty_strided((2, 3), (1, 2), device=d).fill_(1.5),
        lambda m, d: m.full((2,), 3, device=d),
    ]
    for mk in cases:
        got = mk(td, "cuda:1")
        assert got.device == td.device("cuda:1"), got.device
        assert_same(got.cpu(), mk(torch, "cpu"))
    w = td.hann_window(4, device="cuda", requires_grad=True)
    assert w.requires_grad and w.is_leaf and w.is_cuda
    with pytest.raises(RuntimeError, match="^CUDA error: invalid device ordinal$"):
        td.tril_indices(2, 2, device="cuda:3")


# ---------------------------------------------------------------------------------------------
# 4. tensord.cuda


def _settle():
    """Tensors dropped by earlier code are freed by the daemon once their releases ran."""
    import gc
    gc.collect()
    td.cuda.synchronize(0)
    td.cuda.synchronize(1)


def test_cuda_availability_and_properties():
    assert td.cuda.is_available() and td.cuda.is_initialized()
    assert td.cuda.device_count() == 2
    for i in range(2):
        p = td.cuda.get_device_properties(i)
        assert p.name == td.cuda.get_device_name(i) == td.cuda.get_device_name(td.device("cuda", i))
        assert isinstance(p.name, str) and p.name
        assert p.total_memory > 0 and p.multi_processor_count >= 1
        cap = td.cuda.get_device_capability(i)
        assert cap == (p.major, p.minor) and all(isinstance(v, int) for v in cap)
        assert repr(p).startswith("_CudaDeviceProperties(name='%s', major=%d" % (p.name, p.major))
        free, total = td.cuda.mem_get_info(i)
        assert total == p.total_memory and 0 <= free <= total
    assert td.cuda.get_device_name() == td.cuda.get_device_name(0)
    with pytest.raises(RuntimeError, match="^CUDA error: invalid device ordinal$"):
        td.cuda.get_device_properties(2)
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        td.cuda.get_device_name("cpu")


def test_cuda_synchronize_and_results():
    x = td.ones(256, 256, device="cuda:1")
    y = x @ x
    td.cuda.synchronize()
    td.cuda.synchronize(1)
    td.cuda.synchronize(td.device("cuda:1"))
    td.cuda.synchronize("cuda:0")
    assert y[0, 0].item() == 256.0


def test_memory_allocated_tracks_tensors():
    _settle()
    base = td.cuda.memory_allocated(1)
    base0 = td.cuda.memory_allocated(0)
    x = td.empty(1000, dtype=td.float32, device="cuda:1")  # 4000 bytes, rounded to 512: 4096
    td.cuda.synchronize(1)
    assert td.cuda.memory_allocated(1) - base == 4096
    assert td.cuda.memory_allocated(0) == base0  # the other GPU's figures do not move
    y = td.empty(3, dtype=td.float64, device="cuda:1")  # 24 bytes -> 512
    td.cuda.synchronize(1)
    assert td.cuda.memory_allocated(1) - base == 4096 + 512
    assert td.cuda.memory_allocated(td.device("cuda:1")) == td.cuda.memory_allocated(1)
    del x, y
    _settle()
    assert td.cuda.memory_allocated(1) == base
    s = td.cuda.memory_stats(1)
    for k in ("allocated_bytes.all.current", "reserved_bytes.all.current", "allocated_bytes.all.peak",
              "reserved_bytes.all.peak", "allocation.all.allocated", "allocation.all.freed", "num_ooms"):
        assert k in s and isinstance(s[k], int), k
    assert s["allocated_bytes.all.current"] == base
    assert s["reserved_bytes.all.current"] >= s["allocated_bytes.all.current"]
    assert s["allocation.all.allocated"] >= s["allocation.all.freed"] + 0


def test_peak_and_empty_cache():
    _settle()
    with td.cuda.device(1):
        td.cuda.reset_peak_memory_stats()
        base = td.cuda.memory_allocated()
        assert td.cuda.max_memory_allocated() == base
        big = td.zeros(3 << 20, dtype=td.uint8, device="cuda")  # 3 MiB: a large block
        td.cuda.synchronize()
        assert td.cuda.max_memory_allocated() == base + (3 << 20)
        assert td.cuda.memory_reserved() >= base + (3 << 20)
        del big
        _settle()
        assert td.cuda.memory_allocated() == base
        assert td.cuda.max_memory_allocated() == base + (3 << 20)  # the peak stays
        cached = td.cuda.memory_reserved()
        assert cached >= 3 << 20  # freed blocks stay cached
        td.cuda.empty_cache()
        assert td.cuda.memory_reserved() <= cached - (3 << 20)
        td.cuda.reset_peak_memory_stats(1)
        assert td.cuda.max_memory_allocated(1) == base
        assert td.cuda.max_memory_reserved(1) == td.cuda.memory_reserved(1)


def test_per_process_memory_fraction_is_this_sessions_quota():
    total = td.cuda.get_device_properties(1).total_memory
    keep = td.empty(1 << 20, dtype=td.uint8, device="cuda:1")  # 1 MiB held before the limit
    td.cuda.set_per_process_memory_fraction(4 / 1024, 1)  # 4 MiB of the stand-in's 1 GiB
    try:
        assert td.cuda.memory_stats(1)["limit"] == int(4 / 1024 * total)
        ok = td.empty(2 << 20, dtype=td.uint8, device="cuda:1")  # fits: 3 MiB in use
        assert ok.fill_(7)[-3:].tolist() == [7, 7, 7]
        with pytest.raises(td.cuda.OutOfMemoryError, match=r"CUDA out of memory\. Tried to allocate 2\.00 MiB \(GPU 1\)\. "
                                               r"This session's memory quota on the device is 4\.00 MiB"):
            td.empty(2 << 20, dtype=td.uint8, device="cuda:1")[:1].tolist()
        # the failure was this op's alone: the session goes on, other devices unaffected
        assert td.ones(3, device="cuda:0").sum().item() == 3
        del ok
        again = td.empty(2 << 20, dtype=td.uint8, device="cuda:1")
        assert again.zero_()[-2:].tolist() == [0, 0]
        del again
    finally:
        td.cuda.set_per_process_memory_fraction(1.0, 1)
    assert td.cuda.memory_stats(1)["limit"] == total
    del keep
    with pytest.raises(ValueError, match="Allowed range"):
        td.cuda.set_per_process_memory_fraction(1.5)
    with pytest.raises(TypeError):
        td.cuda.set_per_process_memory_fraction(1)


def test_memory_allocated_is_this_sessions_own():
    """Another process's tensors on the same GPU count in the device's figures, not ours."""
    base = td.cuda.memory_allocated(0)
    dev_base = td.cuda.memory_stats(0)["device_allocated_bytes.current"]
    code = ("import tensord as td, sys\n"
            "x = td.empty(1 << 20, dtype=td.uint8, device='cuda:0'); x.zero_().sum().item()\n"
            "print(td.cuda.memory_allocated(0), flush=True); sys.stdin.readline()\n")
    env = dict(os.environ, TENSORD_ADDRESS=td._daemon.address())
    p = subprocess.Popen([sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    try:
        assert int(p.stdout.readline()) == 1 << 20
        assert td.cuda.memory_allocated(0) == base
        assert td.cuda.memory_stats(0)["device_allocated_bytes.current"] == dev_base + (1 << 20)
    finally:
        p.stdin.write("\n")
        p.stdin.close()
        p.wait(timeout=60)


def test_memory_summary():
    s = td.cuda.memory_summary(0)
    assert isinstance(s, str) and "Allocated memory" in s and "Reserved memory" in s and "device ID 0" in s
    assert "device ID 1" in td.cuda.memory_summary(device=1)


def test_streams_and_events():
    s = td.cuda.Stream()
    assert s.device == td.device("cuda:0")
    assert td.cuda.current_stream() == td.cuda.default_stream(0)
    s1 = td.cuda.Stream(device=1)
    assert s1.device_index == 1 and s1 != s
    start, end = td.cuda.Event(enable_timing=True), td.cuda.Event(enable_timing=True)
    with td.cuda.stream(s):
        start.record()
        x = td.randn(128, 128, device="cuda")
        for _ in range(3):
            x = (x @ x).tanh()
        end.record()
    end.synchronize()
    assert end.query() and s.query()
    ms = start.elapsed_time(end)
    assert isinstance(ms, float) and ms > 0
    ev = s1.record_event()
    s.wait_event(ev)
    s.wait_stream(s1)
    s1.synchronize()
    assert x.is_cuda and x.shape == (128, 128)
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        td.cuda.Event().elapsed_time(end)


def test_device_context_manager_and_current_device():
    assert td.cuda.current_device() == 0
    assert td.zeros(1, device="cuda").device == td.device("cuda:0")
    with td.cuda.device(1):
        assert td.cuda.current_device() == 1
        assert td.zeros(1, device="cuda").device == td.device("cuda:1")
        assert td.ones(2).cuda().device == td.device("cuda:1")
        assert td.tensor([1.0]).to("cuda").device.index == 1
        assert td.tensor([1.0], device="cuda:0").device.index == 0  # an explicit index wins
        with td.cuda.device("cuda:0"):
            assert td.cuda.current_device() == 0
        assert td.cuda.current_device() == 1
    assert td.cuda.current_device() == 0
    with td.cuda.device(-1):
        assert td.cuda.current_device() == 0
    with td.cuda.device(None):
        assert td.cuda.current_device() == 0
    g = td.ones(2, device="cuda:1")
    with td.cuda.device_of(g):
        assert td.cuda.current_device() == 1
    with td.cuda.device_of(td.ones(1)):
        assert td.cuda.current_device() == 0
    td.cuda.set_device(1)
    try:
        assert td.cuda.current_device() == 1 and td.empty(1, device="cuda").get_device() == 1
    finally:
        td.cuda.set_device(0)
    with pytest.raises(RuntimeError, match="^CUDA error: invalid device ordinal$"):
        td.cuda.set_device(2)


# ---------------------------------------------------------------------------------------------
# 5. a daemon without GPUs

_NO_GPU_SCRIPT = r"""
import tensord as td
print("available", td.cuda.is_available(), td.cuda.device_count())
for f in (lambda: td.zeros(1, device="cuda"), lambda: td.ones(2).cuda(), lambda: td.ones(2).to("cuda:0"),
          lambda: td.cuda.current_device(), lambda: td.tensor([1.0], device=0)):
    try:
        f()
        print("no error")
    except Exception as e:
        print("raised", type(e).__name__, str(e))
print("cpu", td.ones(2).device, td.cuda.memory_allocated(), td.cuda.memory_stats())
"""


def _plugin_path():
    """The CUDA plugin the build made beside the daemon under test, or None."""
    d = os.path.dirname(os.environ.get("TENSORD_BIN", ""))
    for p in ("libtensord_cuda.so", "../libtensord_cuda.so"):
        if os.path.exists(os.path.join(d, p)):
            return os.path.abspath(os.path.join(d, p))
    return None


@pytest.mark.parametrize("load", ["default", "explicit-plugin"])
def test_daemon_without_fake_gpus_has_no_cuda(tmp_path, load):
    """No GPU here: the daemon serves the CPU and says why.  default: without a plugin it
    was built without CUDA (torch's CPU-build AssertionError); with one but no NVIDIA
    driver it does not even load it.  explicit-plugin (--cuda-plugin): the plugin loads
    and its CUDA runtime finds no device."""
    from conftest import start_daemon, stop_daemon
    plugin = _plugin_path()
    if load == "explicit-plugin" and not plugin:
        pytest.skip("the CUDA plugin was not built (no nvcc): nothing to load")
    env = dict(os.environ)
    env.pop("TENSORD_FAKE_GPUS", None)
    os.environ.pop("TENSORD_FAKE_GPUS")
    if load == "explicit-plugin":
        os.environ["TENSORD_CUDA_PLUGIN"] = plugin
    try:
        proc, addr, errp = start_daemon(str(tmp_path))
    finally:
        os.environ["TENSORD_FAKE_GPUS"] = "2"
        os.environ.pop("TENSORD_CUDA_PLUGIN", None)
    try:
        env["TENSORD_ADDRESS"] = addr
        r = subprocess.run([sys.executable, "-c", _NO_GPU_SCRIPT], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        out = r.stdout.decode()
        assert r.returncode == 0, out
    finally:
        rc, err = stop_daemon(proc, errp)
    assert rc == 0 and "ERROR: AddressSanitizer" not in err and "runtime error:" not in err, err
    lines = out.splitlines()
    assert lines[0] == "available False 0", out
    if not plugin:  # torch's CPU build: the same AssertionError everywhere
        assert lines[1:6] == ["raised AssertionError Torch not compiled with CUDA enabled"] * 5, out
    else:  # torch's no-driver RuntimeError, with the daemon's reason
        assert all(ln.startswith("raised RuntimeError Found no NVIDIA driver on your system") for ln in lines[1:6]), out
        reason = "cudaGetDeviceCount" if load == "explicit-plugin" else "no NVIDIA driver on this machine"
        assert all(reason in ln for ln in lines[1:6]), out
    assert lines[6] == "cpu cpu 0 {}", out


def test_cpu_indices_for_device_tensors():
    a = td.tensor(A34, device="cuda:1")
    mask, idx = td.tensor(MASK), td.tensor([2, 0])
    c, t = td.tensor(A34), torch.tensor(A34)
    same_exact(a[mask], c[mask])
    same_exact(a[idx], c[idx])
    same_exact(a[idx, 1:], c[idx, 1:])
    for x in (a, c, t):
        x[torch.tensor([1, 2]) if x is t else td.tensor([1, 2])] = 0.25
        x[torch.tensor(MASK) if x is t else mask] += 1.0
        x[:, [0, 3]] = torch.tensor(-3.0, dtype=torch.float64) if x is t else td.tensor(-3.0, dtype=td.float64)
    same_exact(a, c)
    assert_same(c, t)
    with pytest.raises(RuntimeError) as e:
        td.ones(3)[td.tensor([0], device="cuda")]
    assert str(e.value) == "indices should be either on cpu or on the same device as the indexed tensor (cpu)"


def test_save_load_keeps_devices(tmp_path):
    """torch.save of device tensors records their device (as torch does); load puts them
    back there, or where map_location says; files go both ways with torch 1.13."""
    a = td.arange(6.0, device="cuda:1").reshape(2, 3)
    state = {"a": a, "view": a[:, 1], "cpu": td.ones(2)}
    path = str(tmp_path / "ck.pt")
    td.save(state, path)
    back = td.load(path)
    assert back["a"].device == td.device("cuda:1") and back["cpu"].device == td.device("cpu")
    same_exact(back["a"], a.cpu())
    same_exact(back["view"], a[:, 1].cpu())
    back["view"].fill_(-1)  # views still share their storage after loading
    assert back["a"][:, 1].tolist() == [-1.0, -1.0]
    assert td.load(path, map_location="cuda:0")["a"].device == td.device("cuda:0")
    assert td.load(path, map_location={"cuda:1": "cpu"})["a"].device == td.device("cpu")
    t = torch.load(path, map_location="cpu")  # torch 1.13 (CPU build) reads it with a map_location
    assert torch.equal(t["a"], torch.arange(6.0).reshape(2, 3))
    with pytest.raises(RuntimeError, match="Attempting to deserialize object on a CUDA device"):
        torch.load(path)  # torch without CUDA refuses the cuda:1 location, so it was written
    with pytest.raises(RuntimeError, match="on CUDA device 5 but torch.cuda.device_count\\(\\) is 2"):
        td.load(path, map_location={"cuda:1": "cuda:5"})


def test_shared_device_tensor_between_processes():
    """tensord.multiprocessing passes a CUDA tensor as a token, as torch passes a CUDA IPC
    handle: the receiver gets the same device memory; a description claiming another
    device is refused by the daemon (device memory is never taken for host memory)."""
    from tensord._shared import ONE_SHOT, PINNED, token_of
    a = td.arange(6.0, device="cuda:1")
    token, desc = token_of(a)
    b = td._C.open(token, desc)
    assert b.device == td.device("cuda:1")
    b[0] = 42.0
    assert a[0].item() == 42.0  # one storage
    token, desc = td._C.share(a, ONE_SHOT | PINNED)
    lie = desc[:5] + (0,)  # the same view, said to be on the CPU
    with pytest.raises(RuntimeError, match="open: the shared storage is on cuda:1, the view says cpu"):
        td._C.open(token, lie).tolist()
    code = ("import sys, tensord as td, tensord.multiprocessing as mp\n"
            "def child(q, r):\n"
            "    t = q.get(); t.mul_(2); r.put((str(t.device), t.sum().item()))\n"
            "if __name__ == '__main__':\n"
            "    ctx = mp.get_context('spawn'); q, r = ctx.Queue(), ctx.Queue()\n"
            "    t = td.ones(4, device='cuda:0')\n"
            "    p = ctx.Process(target=child, args=(q, r)); p.start(); q.put(t)\n"
            "    print(r.get(timeout=60), t.sum().item()); p.join(60)\n")
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "td_mp_cuda_%d.py" % os.getpid())
    with open(path, "w") as f:
        f.write(code)
    try:
        r = subprocess.run([sys.executable, path], env=dict(os.environ, TENSORD_ADDRESS=td._daemon.address()),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    finally:
        os.unlink(path)
    assert r.stdout.decode().strip().splitlines()[-1] == "('cuda:0', 8.0) 8.0", r.stdout.decode()


def test_graphs_on_devices():
    """A CUDA-graph capture and a traced function on the stand-in GPUs: the replayed and
    the traced results equal the same computation on the CPU; inputs on another device
    than the capture's are refused by the graph's check."""
    x_np = np.random.RandomState(12).randn(3, 4).astype(np.float32)
    x = td.tensor(x_np, device="cuda:0")
    w = td.tensor(np.ones((4, 2), np.float32), device="cuda:0")
    g = td.cuda.CUDAGraph()
    with td.cuda.graph(g):
        y = (x @ w).relu() * 2
    new = np.random.RandomState(13).randn(3, 4).astype(np.float32)
    x.copy_(td.tensor(new))
    g.replay()
    assert y.device == td.device("cuda:0")
    np.testing.assert_allclose(y.cpu().numpy(), np.maximum(new @ np.ones((4, 2)), 0) * 2, rtol=1e-5, atol=1e-6)
    f = td.jit.trace(lambda a, b: (a * b).sum(0), (x, x))
    a = td.tensor(x_np, device="cuda:1")
    np.testing.assert_allclose(f(a, a).cpu().numpy(), (x_np * x_np).sum(0), rtol=1e-5)  # cuda:1: captured anew
    assert f.graph_count == 2
    with pytest.raises(RuntimeError, match="captured for float32\\[3, 4\\] \\(strides \\[4, 1\\]\\) on cuda:0"):
        td._C.graph_run(f._graphs.graphs[next(iter(f._graphs.graphs))].id, [a.cpu()], 1)  # (x passed twice: one input)


if not IN_CHILD:
    # the ordinary run collects only the subprocess runner above
    for _name in [n for n in globals() if n.startswith("test_") and n != "test_devices_under_two_fake_gpus"]:
        del globals()[_name]
