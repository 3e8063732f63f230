"""Interop: numpy()/__array__ for every dtype, DLPack both ways (export shares memory on the
shared-memory transport; import copies),
is_tensor, element_size, data_ptr identity for views, torch.Size as a tuple, printoptions."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import DTYPE_NAMES, pair, rand_data

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("dt", DTYPE_NAMES)
def test_numpy_and_array(dt):
    a, b = pair(rand_data((3, 4), dt, RNG), dt)
    if dt == "bfloat16":
        with pytest.raises(TypeError, match="Got unsupported ScalarType BFloat16"):
            a.numpy()
        with pytest.raises(TypeError, match="Got unsupported ScalarType BFloat16"):
            b.numpy()
        return
    n = a.t().numpy()
    assert n.dtype == b.numpy().dtype and n.shape == (4, 3)
    np.testing.assert_array_equal(n, b.t().numpy())
    np.testing.assert_array_equal(np.asarray(a), b.numpy())
    assert np.asarray(a, dtype=np.float64).dtype == np.float64
    assert a.element_size() == b.element_size()


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8"])
def test_dlpack_roundtrips(dt):
    a, b = pair(rand_data((2, 3), dt, RNG), dt)
    assert a.__dlpack_device__() == (1, 0)
    np.testing.assert_array_equal(np.from_dlpack(a.t()), b.t().numpy())
    t = torch.from_dlpack(a)  # torch consumes our capsule
    assert torch.equal(t, b)
    back = td.from_dlpack(b)  # we consume torch's
    assert str(back.dtype) == str(b.dtype) and back.tolist() == b.tolist()
    assert td.from_dlpack(np.arange(4, dtype=dt)).tolist() == list(range(4))
    assert td.from_dlpack(torch.utils.dlpack.to_dlpack(b)).tolist() == b.tolist()
    n, nb = np.from_dlpack(a), np.from_dlpack(b)
    before = n.tolist()
    a.fill_(0)
    b.fill_(0)
    if td.transport() == "shm":  # the tensor's own memory, as torch's is
        assert n.tolist() == nb.tolist() == np.zeros((2, 3)).tolist()
    else:  # over gRPC, a copy
        assert n.tolist() == before


def test_dlpack_errors():
    with pytest.raises(BufferError):
        td.ones(2, dtype=td.bool).__dlpack__()
    with pytest.raises(TypeError):
        td.from_dlpack([1, 2])


def test_is_tensor_and_identity():
    x = td.zeros(4, 4)
    assert td.is_tensor(x) and not td.is_tensor(np.zeros(2)) and not td.is_tensor([1])
    v = x[1:, 2:]
    assert x.data_ptr() == x.view(16).data_ptr() == x.t().data_ptr()
    assert v.data_ptr() == x.data_ptr() + (1 * 4 + 2) * 4
    assert x[1].data_ptr() == x.data_ptr() + 16
    assert x.clone().data_ptr() != x.data_ptr()
    assert td.zeros(2).data_ptr() != td.zeros(2).data_ptr()
    y = td.zeros(3, dtype=td.float64)
    assert y[2:].data_ptr() - y.data_ptr() == 16


def test_size_is_a_tuple():
    s = td.zeros(2, 3, 4).shape
    ts = torch.zeros(2, 3, 4).shape
    assert s == ts == (2, 3, 4) and isinstance(s, tuple)
    assert repr(s) == repr(ts) and str(s) == str(ts)
    assert s[1:] == ts[1:] and repr(s[1:]) == repr(ts[1:])
    assert s + (5,) == ts + (5,) and repr(s + (5,)) == repr(ts + (5,))
    assert s.numel() == ts.numel() and len(s) == 3 and list(s) == [2, 3, 4]
    assert td.Size([1, 2]) == torch.Size([1, 2]) and hash(td.Size([1, 2])) == hash((1, 2))
    a, b, c = s
    assert (a, b, c) == (2, 3, 4) and s.index(3) == 1 and s.count(2) == 1


def test_printoptions_like_torch():
    data = np.linspace(-1000, 1000, 2001) / 7
    a, b = pair(data, "float64")
    try:
        for kw in ({"precision": 2}, {"threshold": 5, "edgeitems": 2}, {"linewidth": 40}, {"sci_mode": True},
                   {"profile": "short"}):
            td.set_printoptions(**kw)
            torch.set_printoptions(**kw)
            assert repr(a) == repr(b), kw
            assert repr(a[:7].float()) == repr(b[:7].float()), kw
    finally:
        td.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
