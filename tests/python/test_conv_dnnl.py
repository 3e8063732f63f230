"""The float32 convolution kernels on both CPU paths (kernels/cpu/conv_dnnl.c through
oneDNN, kernels/cpu/conv.c's im2col + OpenBLAS) against PyTorch 1.13 computed in float64
on the same float32 inputs: forward with and without bias, input and weight gradients,
over groups (depthwise too), stride, padding, dilation, 1-3 spatial dims, batches of 0,
1 (a part with an OpenMP team), odd sizes (chunks of two sizes), non-contiguous operands,
first layers (few input channels: the input kept plain, the input gradient all plain),
transposed convolutions (CONV_BACKWARD_INPUT as a forward) and a session limited to one
thread.  The session's daemon takes the oneDNN path; a second daemon started with
TENSORD_CONV_IM2COL=1 runs this file as a script for the im2col path."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import torch as T
import torch.nn.functional as TF

import tensord as td
import tensord.nn.functional as F

# (spatial dims, input shape, weight shape, stride, padding, dilation, groups, bias)
CASES = [
    (2, (64, 3, 32, 32), (32, 3, 3, 3), 1, 1, 1, 1, True),       # the benchmark's first layer
    (2, (32, 1, 8, 8), (32, 1, 3, 3), 1, 1, 1, 1, True),         # digits CNN, first conv
    (2, (32, 32, 4, 4), (64, 32, 3, 3), 1, 1, 1, 1, True),       # digits CNN, second conv
    (2, (5, 16, 12, 11), (24, 16, 3, 3), 1, 1, 1, 1, True),      # odd batch, odd width
    (2, (3, 16, 13, 13), (16, 1, 3, 3), 2, 1, 1, 16, True),      # depthwise, stride 2
    (2, (2, 16, 10, 9), (32, 1, 5, 3), 1, (2, 1), 1, 16, False),  # depthwise multiplier 2
    (2, (4, 12, 10, 11), (18, 4, 3, 2), 2, (1, 0), 2, 3, True),  # groups, stride, dilation
    (2, (3, 8, 9, 9), (8, 8, 3, 3), 3, 0, 1, 1, False),          # input the last window never reads
    (2, (1, 24, 7, 7), (40, 24, 1, 1), 1, 0, 1, 1, True),        # batch 1, 1x1
    (2, (6, 32, 9, 9), (16, 16, 3, 3), (1, 2), 2, (2, 1), 2, False),
    (2, (0, 8, 6, 6), (8, 8, 3, 3), 1, 1, 1, 1, True),           # empty batch
    (1, (3, 8, 17), (12, 8, 5), 3, 2, 1, 1, True),
    (1, (4, 16, 30), (16, 4, 3), 1, 2, 3, 4, False),
    (3, (2, 8, 5, 6, 7), (12, 4, 3, 3, 3), (1, 2, 1), 1, (1, 1, 2), 2, True),
    (3, (3, 4, 6, 6, 6), (8, 4, 2, 2, 2), 2, 0, 1, 1, True),
]
CONV = {1: "conv1d", 2: "conv2d", 3: "conv3d"}


def _close(ours, ref):
    """float32 against a float64 reference: relative to the result's scale (long sums)."""
    ours, ref = ours.detach().numpy(), ref.detach().numpy()
    assert ours.shape == ref.shape
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5 * max(scale, 1.0))


def _operands(case, seed, noncontig):
    nd, xs, ws, *_ = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal(ws) / np.sqrt(np.prod(ws[1:]))).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    if noncontig:  # the same values, held transposed: the kernels read a strided view
        x = np.ascontiguousarray(np.swapaxes(x, 0, 1))
        w = np.ascontiguousarray(np.swapaxes(w, 0, 1))
    return rng, x, w, b


def _leaf(lib, a, dtype, noncontig):
    t = lib.tensor(a)
    if dtype is not None:
        t = t.to(dtype)
    if noncontig:
        t = t.transpose(0, 1)
    return t.requires_grad_()


def _compare(rng, ours, ref, leaves):
    """ours against ref, then the gradients of each (ours, ref) leaf pair for one random
    grad_output."""
    _close(ours, ref)
    g = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    ours.backward(td.tensor(g))
    ref.backward(T.tensor(g, dtype=T.float64))
    for a, b in leaves:
        _close(a.grad, b.grad)


def check_case(case, seed=0, noncontig=False):
    nd, xs, ws, stride, padding, dilation, groups, bias = case
    rng, x, w, b = _operands(case, seed, noncontig)
    tx, tw, tb = (_leaf(td, a, None, noncontig and a is not b) for a in (x, w, b))
    px, pw, pb = (_leaf(T, a, T.float64, noncontig and a is not b) for a in (x, w, b))
    if noncontig:
        assert not tx.is_contiguous()
    fn = CONV[nd]
    ours = getattr(F, fn)(tx, tw, tb if bias else None, stride, padding, dilation, groups)
    ref = getattr(TF, fn)(px, pw, pb if bias else None, stride, padding, dilation, groups)
    _compare(rng, ours, ref, [(tx, px), (tw, pw)] + ([(tb, pb)] if bias else []))


# (input shape, weight shape (in, out/groups, k...), stride, padding, output_padding, groups, dilation)
TRANSPOSED = [
    ((4, 16, 7, 7), (16, 8, 3, 3), 2, 1, 1, 1, 1),
    ((2, 12, 5, 6), (12, 2, 3, 2), (1, 2), 0, 0, 3, (2, 1)),
    ((3, 8, 11), (8, 16, 4), 3, 1, 2, 1, 1),
]


def check_transposed(case, seed=0):
    xs, ws, stride, padding, out_pad, groups, dilation = case
    nd = len(xs) - 2
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    tx, tw = (td.tensor(a, requires_grad=True) for a in (x, w))
    px, pw = (T.tensor(a, dtype=T.float64, requires_grad=True) for a in (x, w))
    fn = "conv_transpose%dd" % nd
    ours = getattr(F, fn)(tx, tw, None, stride, padding, out_pad, groups, dilation)
    ref = getattr(TF, fn)(px, pw, None, stride, padding, out_pad, groups, dilation)
    _compare(rng, ours, ref, [(tx, px), (tw, pw)])


@pytest.mark.parametrize("case", CASES, ids=lambda c: "%dd-%s-%s" % (c[0], "x".join(map(str, c[1])), "x".join(map(str, c[2]))))
def test_conv_matches_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", [CASES[2], CASES[4], CASES[6], CASES[12], CASES[13]], ids=str)
def test_conv_noncontiguous_operands(case):
    check_case(case, seed=1, noncontig=True)


@pytest.mark.parametrize("case", TRANSPOSED, ids=str)
def test_conv_transpose_matches_torch(case):
    check_transposed(case)


def test_conv_one_thread_session():
    """A session limited to one thread: one part, one OpenMP thread per call."""
    before = td.get_num_threads()
    td.set_num_threads(1)
    try:
        for case in (CASES[0], CASES[3], CASES[8], CASES[13]):
            check_case(case, seed=2)
    finally:
        td.set_num_threads(before)


def test_conv_repeated_shapes_reuse_primitives():
    """The same geometry many times (cached primitives) and interleaved with others gives
    the same answers each time."""
    for _ in range(3):
        for case in (CASES[2], CASES[5], CASES[11]):
            check_case(case, seed=3)


def run_all():
    for case in CASES:
        check_case(case)
    for case in (CASES[2], CASES[4], CASES[6], CASES[12], CASES[13]):
        check_case(case, seed=1, noncontig=True)
    for case in TRANSPOSED:
        check_transposed(case)


def test_im2col_path_forced():
    """The same cases through a daemon whose convolutions all take the im2col path."""
    from conftest import start_daemon, stop_daemon
    d = tempfile.mkdtemp(prefix="tensord-im2col-")
    proc, addr, errp = start_daemon(d, extra_env={"TENSORD_CONV_IM2COL": "1"})
    try:
        env = dict(os.environ, TENSORD_ADDRESS=addr)
        p = subprocess.run([sys.executable, os.path.abspath(__file__)], env=env, capture_output=True, text=True,
                           timeout=600)
    finally:
        rc, err = stop_daemon(proc, errp)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "ok" in p.stdout
    assert rc == 0 and "ERROR: AddressSanitizer" not in err and "runtime error:" not in err, err


if __name__ == "__main__":
    run_all()
    print("ok")
