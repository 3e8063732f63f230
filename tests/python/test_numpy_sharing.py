"""numpy() over the shared-memory transport: the array is the tensor's own storage, mapped
into this process, so it shares memory both ways as torch's numpy() does.  Every check runs
the same steps on torch 1.13 and compares: in-place ops seen by the array, array writes seen
by later ops, views (transposes, slices, steps, expand), every dtype numpy has, from_numpy and
as_tensor of such an array aliasing the tensor.  Plus what torch cannot show: the array keeps
the storage alive after the tensor is gone and frees it when it goes, a forked child reads it,
and a client on gRPC gets a copy."""
import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import pair, rand_data

RNG = np.random.default_rng(11)

pytestmark = pytest.mark.skipif(td.transport() != "shm", reason="numpy() copies over gRPC (tested below)")


def both(fn):
    """fn(lib) with lib = tensord and torch; returns both results as lists."""
    return fn(td), fn(torch)


def test_inplace_ops_seen_by_the_array():
    def run(lib):
        t = lib.arange(12.0).reshape(3, 4)
        a = t.numpy()
        t.add_(1)
        t[1].mul_(10)
        t.t()[0].fill_(-1)
        return a.tolist()
    r_td, r_pt = both(run)
    assert r_td == r_pt


def test_array_writes_seen_by_later_ops():
    def run(lib):
        t = lib.zeros(2, 5, dtype=lib.float64)
        a = t.numpy()
        a[0] = 3.5
        a[:, 4] = -2
        s = (t * 2).sum().item()
        t.add_(1)
        a[1, 1] += 100  # after an op that wrote t: the array shows its result
        return [s, t.tolist(), a.tolist()]
    r_td, r_pt = both(run)
    assert r_td == r_pt


@pytest.mark.parametrize("view", ["t", "slice", "step", "expand", "select", "diagonal"])
def test_views(view):
    f = {"t": lambda x: x.t(), "slice": lambda x: x[1:, 2:], "step": lambda x: x[::2, ::3],
         "expand": lambda x: x[:1].expand(4, 6), "select": lambda x: x[:, 3], "diagonal": lambda x: x.diagonal()}[view]

    def run(lib):
        t = lib.arange(24.0).reshape(4, 6)
        a = f(t).numpy()
        t.mul_(2)
        return [a.shape, a.strides, a.tolist()]
    r_td, r_pt = both(run)
    assert r_td == r_pt


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool",
                                "complex64", "complex128"])
def test_dtypes_share(dt):
    a, b = pair(rand_data((3, 4), dt, RNG), dt)
    na, nb = a.numpy(), b.numpy()
    assert na.dtype == nb.dtype and na.tolist() == nb.tolist()
    a.zero_()
    b.zero_()
    assert na.tolist() == nb.tolist()
    if dt != "bool":
        na[1, 2] = 1
        nb[1, 2] = 1
        assert a.tolist() == b.tolist()


def test_force_copies():
    t = td.ones(3)
    a = t.numpy(force=True)
    t.zero_()
    assert a.tolist() == [1.0, 1.0, 1.0]


def test_from_numpy_and_as_tensor_alias():
    def run(lib):
        t = lib.arange(10.0)
        a = t.numpy()
        u = lib.from_numpy(a[2:8:2])
        v = lib.as_tensor(a)
        u.mul_(100)
        v[0] = -5
        return [t.tolist(), u.tolist(), v.tolist()]
    r_td, r_pt = both(run)
    assert r_td == r_pt


def test_array_keeps_storage_alive():
    base = td.stats()["bytes_in_use"]
    t = td.full((1 << 20,), 7.0)  # 4 MiB
    a = t[10:].numpy()
    del t
    gc.collect()
    td.synchronize()
    assert a[0] == 7.0 and a[-1] == 7.0 and td.stats()["bytes_in_use"] >= (4 << 20)
    del a
    gc.collect()
    td.ones(1).sum().item()  # the release travels with the next message
    assert td.stats()["bytes_in_use"] < base + (1 << 20)


def test_forked_child_reads_the_array():
    t = td.arange(6.0)
    a = t.numpy()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(w, repr(a.tolist()).encode())
        finally:
            os._exit(0)
    os.close(w)
    got = os.read(r, 1000).decode()
    os.waitpid(pid, 0)
    assert got == repr([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])


def test_grpc_client_gets_a_copy():
    script = textwrap.dedent("""
        import tensord as td
        t = td.ones(3)
        a = t.numpy()
        t.zero_()
        print(td.transport(), a.tolist(), t.tolist())
    """)
    env = dict(os.environ, TENSORD_TRANSPORT="grpc")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "grpc [1.0, 1.0, 1.0] [0.0, 0.0, 0.0]"
