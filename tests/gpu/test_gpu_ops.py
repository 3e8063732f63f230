"""Every op of tests/python/test_devices.py's sweep, and a few larger cases, on cuda:0
against the same computation on the CPU (both through tensord).

Run by tests/gpu/daemon_checks.sh against a daemon it started (TENSORD_ADDRESS): on the GPU
machine with the CUDA plugin, here with stand-in GPUs.  On a real GPU the kernels differ
from the CPU's, so results are compared within tolerances fitting each dtype instead of bit
for bit: integers, bool and indices exactly; float64 to 1e-10 relative; float32 to 1e-5
relative (TF32 stays off: both torch.backends switches are turned off below, and the daemon is started without TENSORD_CUDA_ALLOW_TF32); float16
and bfloat16 to a few units of their last place.  TD_EXPECT_GPU=1 (set when the plugin was
loaded) also asserts that cuda:0 is a real GPU, not the host stand-in.
"""
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import tensord as td  # noqa: E402

td.backends.cudnn.allow_tf32 = False  # float32 exactness against the CPU (PyTorch's default is on)
td.backends.cuda.matmul.allow_tf32 = False
from test_devices import SWEEP, _run  # noqa: E402  (the op table: one list for both suites)

DEV = "cuda:0"
# (rtol, atol) per floating dtype; elementwise |got - want| <= atol + rtol * |want|
TOL = {"float64": (1e-10, 1e-12), "float32": (1e-5, 1e-6), "float16": (2e-3, 1e-3), "bfloat16": (1.6e-2, 1e-2)}


def test_device_is_what_was_asked():
    assert td.cuda.is_available(), "the daemon serves no GPU"
    name = td.cuda.get_device_name(0)
    print("cuda:0 is", name)
    if os.environ.get("TD_EXPECT_GPU") == "1":
        assert "stand-in" not in name, name


def as_np(t):
    """A CPU tensord tensor as float64/int64/bool numpy."""
    if t.dtype in (td.float16, td.bfloat16, td.float32, td.float64):
        return t.detach().double().numpy()
    return t.detach().numpy()


def close(got, want, what, norm=False):
    """got: a cuda:0 result, want: the CPU's."""
    assert got.device == td.device(DEV), (what, got.device)
    g = got.cpu()
    assert g.dtype is want.dtype and tuple(g.shape) == tuple(want.shape), (what, g.dtype, want.dtype, g.shape,
                                                                           want.shape)
    a, b = as_np(g), as_np(want)
    name = str(want.dtype).split(".")[-1]
    if name not in TOL:
        assert np.array_equal(a, b), "%s: integer/bool results differ:\n got %s\nwant %s" % (what, a, b)
        return
    assert np.array_equal(np.isnan(a), np.isnan(b)), (what, "NaN positions differ")
    a, b = np.nan_to_num(a, nan=0.0), np.nan_to_num(b, nan=0.0)
    rtol, atol = TOL[name]
    if norm:  # long accumulations: the error of the whole by the size of the whole
        err = np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)
        assert err <= rtol * 10, "%s: relative error %.3g > %.3g" % (what, err, rtol * 10)
        return
    bad = np.abs(a - b) > atol + rtol * np.abs(b)
    assert not bad.any(), "%s (%s): %d of %d differ, worst %.3g vs %.3g" % (
        what, name, bad.sum(), bad.size, a[bad].flat[0], b[bad].flat[0])


@pytest.mark.parametrize("name", sorted(SWEEP))
def test_sweep_op_on_gpu(name):
    fn, arrs = SWEEP[name]
    cpu = _run(fn, td, arrs)
    dev = _run(fn, td, arrs, DEV)
    assert len(cpu) == len(dev)
    for i, (c, d) in enumerate(zip(cpu, dev)):
        if isinstance(c, td.Tensor):
            close(d, c, "%s[%d]" % (name, i))


R = np.random.default_rng(7)
BIG = {
    # sizes past one block/warp, odd shapes and strides: the schedules the small sweep misses
    "add_bcast_1M": (lambda m, a, b: a + b, [(R.uniform(-3, 3, (1024, 1031)), "float32"), (R.uniform(-3, 3, (1031,)),
                                                                                          "float32")]),
    "mul_transposed": (lambda m, a, b: a.t() * b, [(R.uniform(-3, 3, (700, 500)), "float32"),
                                                   (R.uniform(-3, 3, (500, 700)), "float32")]),
    "exp_f16": (lambda m, a: m.exp(a), [(R.uniform(-3, 3, (300000,)), "float16")]),
    "sum_4M": (lambda m, a: (a.sum(), a.sum(0), a.sum(1)), [(R.uniform(-1, 1, (2048, 2048)), "float32")]),
    "sum_int_4M": (lambda m, a: (a.sum(), a.amax(1)), [(R.integers(-1000, 1000, (2048, 2048)), "int64")]),
    "argmax_big": (lambda m, a: (a.argmax(1), a.argmin(0), a.max(1)[0]), [(R.uniform(-1, 1, (1000, 3000)), "float32")]),
    "softmax_big": (lambda m, a: (m.softmax(a, 1), m.log_softmax(a, 0)), [(R.uniform(-5, 5, (512, 2000)), "float32")]),
    "matmul_512": (lambda m, a, b: a @ b, [(R.uniform(-1, 1, (512, 384)), "float32"), (R.uniform(-1, 1, (384, 256)),
                                                                                     "float32")]),
    "bmm_f64": (lambda m, a, b: m.bmm(a, b), [(R.uniform(-1, 1, (8, 100, 70)), "float64"), (R.uniform(-1, 1, (8, 70, 90)),
                                                                                          "float64")]),
    "conv_16x32": (lambda m, x, w: m.nn.functional.conv2d(x, w, padding=1),
                   [(R.uniform(-1, 1, (4, 16, 32, 32)), "float32"), (R.uniform(-0.3, 0.3, (32, 16, 3, 3)), "float32")]),
    "sort_10k": (lambda m, a: tuple(m.sort(a, 0)), [(R.permutation(10000).astype(np.float64) / 7, "float32")]),
    "cast_bf16_big": (lambda m, a: (a.bfloat16(), a.half(), a.int()), [(R.uniform(-100, 100, (500000,)), "float32")]),
    # float16/bfloat16 on the native path (tensor-core matmul and conv, kernels that read
    # and write 16-bit operands); the CPU computes in float32 between casts
    "matmul_f16": (lambda m, a, b: a @ b, [(R.uniform(-1, 1, (512, 384)), "float16"), (R.uniform(-1, 1, (384, 256)),
                                                                                     "float16")]),
    "bmm_bf16": (lambda m, a, b: m.bmm(a, b), [(R.uniform(-1, 1, (8, 100, 70)), "bfloat16"),
                                               (R.uniform(-1, 1, (8, 70, 90)), "bfloat16")]),
    "reduce_softmax_f16": (lambda m, a, b: (a.sum(1), a.amax(0), a.argmax(1), m.softmax(a, 1), a * b + 1, a < b),
                           [(R.uniform(-4, 4, (300, 1000)), "float16"), (R.uniform(-4, 4, (1000,)), "float16")]),
    "conv_bf16": (lambda m, x, w: m.nn.functional.conv2d(x, w, padding=1),
                  [(R.uniform(-1, 1, (4, 16, 32, 32)), "bfloat16"), (R.uniform(-0.3, 0.3, (32, 16, 3, 3)), "bfloat16")]),
    # the CPU refuses float16 convolution (as torch 1.13 does): its twin is float32, cast
    "conv_f16": (lambda m, x, w: (m.nn.functional.conv2d(x, w, padding=1) if x.is_cuda else
                                  m.nn.functional.conv2d(x.float(), w.float(), padding=1).half()),
                 [(R.uniform(-1, 1, (4, 16, 32, 32)), "float16"), (R.uniform(-0.3, 0.3, (32, 16, 3, 3)), "float16")]),
    # results laid out as their inputs (kernels/shape.c iterator_layout): channels-last and
    # transposed outputs, walked in memory order by the device iterator
    "channels_last_elementwise": (lambda m, x, y: (lambda c: (c * 2 + y, m.relu(c), c.half(), c > 0))(
        x.contiguous(memory_format=m.channels_last)), [(R.uniform(-2, 2, (8, 32, 24, 24)), "float32"),
                                                        (R.uniform(-2, 2, (32, 1, 1)), "float32")]),
}
NORM = {"sum_4M", "matmul_512", "bmm_f64", "conv_16x32", "softmax_big"}


@pytest.mark.parametrize("name", sorted(BIG))
def test_big_op_on_gpu(name):
    fn, arrs = BIG[name]
    cpu = _run(fn, td, arrs)
    dev = _run(fn, td, arrs, DEV)
    for i, (c, d) in enumerate(zip(cpu, dev)):
        assert d.stride() == c.stride(), "%s[%d]: strides %s on the device, %s on the CPU" % (
            name, i, d.stride(), c.stride())
        close(d, c, "%s[%d]" % (name, i), norm=name in NORM and c.dtype in (td.float32, td.float64))
