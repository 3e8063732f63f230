"""Automatic mixed precision against torch 1.13: CPU autocast (bfloat16) gives torch's
result dtypes and values op by op, gradients come back in float32 outside the region,
nesting, decorators and the argument warnings; without a GPU, CUDA autocast and
GradScaler disable themselves with torch's warnings.  Under two stand-in GPUs (the file
reruns itself): CUDA autocast's float16/float32/promote lists, and GradScaler's scaling,
unscaling, skipped steps and scale updates against a numpy reference."""
import math
import os
import warnings

import numpy as np
import pytest
import torch as T

import tensord as td
from tdhelpers import rerun_under_fake_gpus

IN_CHILD = os.environ.get("TENSORD_FAKE_GPUS") == "2"
rng = np.random.default_rng(0)

# name -> (function of (module, tensors...), input shapes); floats in float32
CPU_CASES = {
    "matmul": (lambda m, a, b: a @ b, [(4, 5), (5, 3)]),
    "mm": (lambda m, a, b: m.mm(a, b), [(4, 5), (5, 3)]),
    "bmm": (lambda m, a, b: m.bmm(a, b), [(2, 4, 5), (2, 5, 3)]),
    "addmm": (lambda m, c, a, b: m.addmm(c, a, b), [(4, 3), (4, 5), (5, 3)]),
    "baddbmm": (lambda m, c, a, b: m.baddbmm(c, a, b, beta=0.5), [(2, 4, 3), (2, 4, 5), (2, 5, 3)]),
    "linear": (lambda m, x, w, b: m.nn.functional.linear(x, w, b), [(4, 5), (3, 5), (3,)]),
    "conv2d": (lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, padding=1), [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    "conv1d": (lambda m, x, w: m.nn.functional.conv1d(x, w), [(2, 3, 7), (4, 3, 3)]),
    "conv_transpose2d": (lambda m, x, w: m.nn.functional.conv_transpose2d(x, w, stride=2), [(1, 3, 4, 4), (3, 2, 3, 3)]),
    "softmax_after_matmul": (lambda m, a, b: m.softmax(a @ b, 1), [(4, 5), (5, 3)]),
    "relu_sum": (lambda m, a, b: (a @ b).relu().sum(), [(4, 5), (5, 3)]),
    "cat_promotes": (lambda m, a, b, c: m.cat([a @ b, c]), [(4, 5), (5, 3), (2, 3)]),
    "addcmul_promotes": (lambda m, a, b, c: m.addcmul(c, a @ b, c), [(4, 5), (5, 3), (4, 3)]),
    "inv_fp32": (lambda m, a: m.linalg.inv((a @ a.t()).diagonal_scatter(m.full((4,), 9.0).to(m.bfloat16))), [(4, 5)]),
    "prod_fp32": (lambda m, a: (a @ a.t()).prod(1), [(4, 5)]),
    "rfft_fp32": (lambda m, a: m.fft.rfft(a.to(m.bfloat16)).abs(), [(4, 8)]),
    "plain_float32": (lambda m, a: m.exp(a) + a.sum(), [(4, 5)]),
    "float64_untouched": (lambda m, a: a.double() @ a.double().t(), [(4, 5)]),
}


def _run(mod, fn, arrays, grad=False):
    xs = [mod.tensor(a, dtype=mod.float32, requires_grad=grad) for a in arrays]
    with mod.autocast("cpu"):
        y = fn(mod, *xs)
    return y, xs


@pytest.mark.parametrize("name", sorted(CPU_CASES))
def test_cpu_autocast_matches_torch(name):
    # the convolutions in bfloat16 as torch's CPU list has them (conv_transpose2d stays
    # float32 there)
    fn, shapes = CPU_CASES[name]
    arrays = [rng.standard_normal(s) for s in shapes]
    ours, _ = _run(td, fn, arrays)
    theirs = _run(T, fn, arrays)[0]
    assert str(ours.dtype) == str(theirs.dtype)
    # bfloat16 keeps 8 bits: the values agree to a few of its ulps
    np.testing.assert_allclose(ours.float().numpy(), theirs.float().numpy(), rtol=3e-2, atol=3e-2)


def test_cpu_autocast_backward_in_float32_and_model_training():
    a, w = rng.standard_normal((8, 6)), rng.standard_normal((4, 6))
    res = {}
    for m in (td, T):
        x = m.tensor(a, dtype=m.float32)
        lin = m.nn.Linear(6, 4)
        with m.no_grad():
            lin.weight.copy_(m.tensor(w))
            lin.bias.zero_()
        with m.autocast("cpu"):
            out = lin(x)
            loss = m.nn.functional.cross_entropy(out, m.tensor([0, 1, 2, 3, 0, 1, 2, 3]))
        loss.backward()
        res[m] = (str(out.dtype), str(loss.dtype), str(lin.weight.grad.dtype), lin.weight.grad.numpy())
    assert res[td][:3] == res[T][:3]
    np.testing.assert_allclose(res[td][3], res[T][3], rtol=3e-2, atol=3e-3)


def test_nesting_decorator_and_state():
    a = td.randn(3, 3)
    assert not td.is_autocast_cpu_enabled()
    with td.autocast("cpu"):
        assert td.is_autocast_cpu_enabled() and td.get_autocast_cpu_dtype() == td.bfloat16
        assert (a @ a).dtype == td.bfloat16
        with td.autocast("cpu", enabled=False):
            assert (a @ a).dtype == td.float32
        with td.cpu.amp.autocast():
            assert (a @ a).dtype == td.bfloat16
        assert (a @ a).dtype == td.bfloat16
    assert not td.is_autocast_cpu_enabled() and (a @ a).dtype == td.float32

    @td.autocast("cpu")
    def f(x):
        return x @ x
    assert f(a).dtype == td.bfloat16 and (a @ a).dtype == td.float32
    # in-place and out= ops are left alone
    with td.autocast("cpu"):
        out = td.empty(3, 3)
        td.matmul(a, a, out=out)
        assert out.dtype == td.float32


def _reference_scaler(grads_per_step, init, growth, backoff, interval):
    """numpy GradScaler: (scales used, steps taken) per step."""
    scale, tracker, out = init, 0, []
    for g in grads_per_step:
        found = not np.all(np.isfinite(g * scale))
        out.append((scale, not found))
        if found:
            scale, tracker = scale * backoff, 0
        else:
            tracker += 1
            if tracker == interval:
                scale, tracker = scale * growth, 0
    return out


def _scaler_trajectory(device):
    # gradients of sum(w * k): k per step, an inf at steps 2 and 5
    ks = [1.0, 2.0, math.inf, 0.5, 1.5, math.inf, 1.0, 1.0, 2.0]
    ref = _reference_scaler([np.array([k]) for k in ks], 1024.0, 2.0, 0.25, 3)
    w = td.nn.Parameter(td.ones(3, device=device))
    opt = td.optim.SGD([w], lr=0.01)
    scaler = td.amp.GradScaler(device, init_scale=1024.0, growth_factor=2.0, backoff_factor=0.25, growth_interval=3)
    expect_w = np.ones(3)
    for step, k in enumerate(ks):
        opt.zero_grad()
        assert scaler.get_scale() == ref[step][0], step
        kk = td.full((3,), k, device=device)
        scaler.scale((w * kk).sum()).backward()
        scaler.unscale_(opt)
        if ref[step][1]:
            np.testing.assert_allclose(w.grad.cpu().numpy(), np.full(3, k))   # unscaled
            expect_w -= 0.01 * k
        scaler.step(opt)
        scaler.update()
        np.testing.assert_allclose(w.detach().cpu().numpy(), expect_w, rtol=1e-6)
    return scaler, w, opt


if not IN_CHILD:
    @pytest.mark.parametrize("call", [
        lambda m: m.autocast("cpu", dtype=m.float16),
        lambda m: m.autocast("cuda"),
    ])
    def test_warnings_match_torch(call):
        msgs = []
        for m in (td, T):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                ctx = call(m)
                try:
                    with ctx:
                        y = str((m.ones(2, 2) @ m.ones(2, 2)).dtype)
                except RuntimeError as e:   # CPU float16: warned at construction, refused on entry
                    y = str(e)
            msgs.append(([str(x.message) for x in w], y))
        assert msgs[0] == msgs[1]
        with pytest.raises(RuntimeError, match="must be 'cuda' or 'cpu'"):
            td.autocast("xpu")

    def test_grad_scaler_without_a_gpu_matches_torch():
        res = []
        for m in (td, T):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                scaler = m.cuda.amp.GradScaler()
            p = m.nn.Parameter(m.ones(2))
            opt = m.optim.SGD([p], lr=0.5)
            loss = (p * 3).sum()
            scaled = scaler.scale(loss)
            scaled.backward()
            scaler.step(opt)
            scaler.update()
            res.append(([str(x.message) for x in w], scaler.is_enabled(), scaler.get_scale(), scaler.state_dict(),
                         scaled.item(), p.detach().numpy().tolist()))
        assert res[0] == res[1]

    def test_cpu_grad_scaler_trajectory():
        """torch 2.x's torch.amp.GradScaler("cpu"): the reference's scales and skipped steps."""
        scaler, w, _ = _scaler_trajectory("cpu")
        assert scaler._scale.device.type == "cpu" and w.grad.device.type == "cpu"

    def test_amp_under_two_fake_gpus():
        rerun_under_fake_gpus(__file__)
else:
    def test_cuda_autocast_lists():
        a = td.randn(4, 5, device="cuda")
        b = td.randn(5, 3, device="cuda")
        c = td.randn(4, 3, device="cuda").double()
        with td.cuda.amp.autocast():
            assert td.is_autocast_enabled() and td.get_autocast_gpu_dtype() == td.float16
            y = a @ b
            assert y.dtype == td.float16
            assert td.softmax(y, 1).dtype == td.float32           # the float32 list
            assert td.exp(y).dtype == td.float32 and y.sum().dtype == td.float32
            assert (y + 1).dtype == td.float16                     # not listed: runs in its input's dtype
            assert td.addcmul(c, y, y).dtype == td.float64         # promote: the widest
            assert (a.cpu() @ b.cpu()).dtype == td.float32         # CPU autocast is off
        np.testing.assert_allclose(y.float().cpu().numpy(), (a.cpu() @ b.cpu()).numpy(), rtol=5e-3, atol=5e-3)
        with td.autocast("cuda", dtype=td.bfloat16):
            assert (a @ b).dtype == td.bfloat16

    def test_grad_scaler_trajectory():
        scaler, w, opt = _scaler_trajectory("cuda")
        sd = scaler.state_dict()
        assert set(sd) == {"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"}
        other = td.cuda.amp.GradScaler()
        other.load_state_dict(sd)
        assert other.get_scale() == scaler.get_scale()
        with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
            scaler.scale(w.sum()).backward()
            scaler.unscale_(opt)
            scaler.unscale_(opt)

    def test_float16_training_with_autocast_and_scaler():
        """The same steps with autocast and a GradScaler as in float32: the loss falls alike
        (within float16's rounding), the master weights and their gradients stay float32."""
        def train(amp):
            td.manual_seed(0)
            model = td.nn.Sequential(td.nn.Linear(8, 16), td.nn.ReLU(), td.nn.Linear(16, 2)).cuda()
            opt = td.optim.SGD(model.parameters(), lr=0.1)
            scaler = td.cuda.amp.GradScaler(enabled=amp)
            x = td.randn(64, 8, device="cuda")
            y = (x[:, 0] > 0).long()
            losses = []
            for _ in range(60):
                opt.zero_grad()
                with td.autocast("cuda", enabled=amp):
                    out = model(x)
                    assert out.dtype == (td.float16 if amp else td.float32)
                    loss = td.nn.functional.cross_entropy(out, y)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                losses.append(loss.item())
                assert model[0].weight.dtype == td.float32 and model[0].weight.grad.dtype == td.float32
            return losses
        amp, ref = train(True), train(False)
        assert ref[-1] < ref[0] * 0.6
        assert abs(amp[-1] - ref[-1]) < 0.01 * ref[0] and abs(amp[0] - ref[0]) < 0.01 * ref[0]


def test_amp_custom_fwd_with_a_device_type():
    """torch 2.4's torch.amp.custom_fwd/custom_bwd(device_type=...): on the CPU, forward runs
    with autocast off and its inputs cast (cast_inputs), backward under the forward's state."""
    seen = {}

    class Scale(td.autograd.Function):
        @staticmethod
        @td.amp.custom_fwd(device_type="cpu", cast_inputs=td.float32)
        def forward(ctx, x):
            seen["fwd"] = (x.dtype, td.is_autocast_cpu_enabled())
            return x * 2

        @staticmethod
        @td.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen["bwd"] = td.is_autocast_cpu_enabled()
            return g * 2

    x = td.ones(3, dtype=td.bfloat16, requires_grad=True)
    with td.autocast("cpu", dtype=td.bfloat16):
        y = Scale.apply(x)
    y.sum().backward()
    assert seen == {"fwd": (td.float32, False), "bwd": True}
    assert y.dtype == td.float32 and x.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        td.amp.custom_fwd(device_type=1)
