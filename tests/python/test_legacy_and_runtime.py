"""torch.Tensor(...) and the legacy tensor types, finfo/iinfo, torch.testing,
torch.backends and torch.cuda on a CPU-only daemon: each against torch 1.13."""
import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same

LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor",
          "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]


@pytest.mark.parametrize("args", [([1, 2],), ([[1, 2], [3, 4]],), ([],), ((2, 3),), ([1.5, -2],)])
def test_tensor_constructor_data(args):
    assert_same(td.Tensor(*args), torch.Tensor(*args))
    assert_same(td.Tensor(np.array(args[0])), torch.Tensor(np.array(args[0])))


def test_tensor_constructor_sizes():
    assert td.Tensor(2, 3).shape == (2, 3) and td.Tensor(2, 3).dtype is td.float32
    assert td.Tensor(td.Size([4])).shape == (4,)
    assert td.Tensor(0).shape == (0,)
    assert_same(td.Tensor(), torch.Tensor())
    x = td.zeros(3, dtype=td.int64)
    y = td.Tensor(x)  # an alias of x, dtype kept (as torch)
    y[0] = 7
    assert y.dtype is td.int64 and x.tolist() == [7, 0, 0]


def test_tensor_constructor_errors():
    for args in [("a",), (2.5,), (-1,)]:
        assert_raises_like(lambda: td.Tensor(*args), lambda: torch.Tensor(*args))


def test_tensor_constructor_default_dtype():
    td.set_default_dtype(td.float64)
    try:
        assert td.Tensor([1]).dtype is td.float64 and td.Tensor().type() == "torch.DoubleTensor"
    finally:
        td.set_default_dtype(td.float32)


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_types(name):
    T, R = getattr(td, name), getattr(torch, name)
    assert_same(T([1, 0, 2]), R([1, 0, 2]))
    assert T(2, 3).shape == (2, 3) and T(2, 3).dtype is T.dtype and str(T.dtype) == str(R.dtype)
    assert T(2).type() == R(2).type() == "torch." + name
    assert isinstance(T([1]), T) and isinstance(T([1]), td.Tensor)
    others = [n for n in LEGACY if n != name]
    assert not any(isinstance(T([1]), getattr(td, n)) for n in others)
    assert not isinstance([1], T) and repr(T) == repr(R)
    assert T([1]).type(getattr(td, others[0])).type() == "torch." + others[0]


def test_legacy_dtype_mismatch():
    with pytest.raises(TypeError):
        td.FloatTensor(td.tensor([1, 2]))
    assert td.LongTensor(td.tensor([1, 2])).dtype is td.int64


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "bfloat16", "complex64", "complex128"])
def test_finfo(name):
    a, b = td.finfo(getattr(td, name)), torch.finfo(getattr(torch, name))
    for f in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(a, f) == getattr(b, f), f
    assert repr(a) == repr(b)


@pytest.mark.parametrize("name", ["int64", "int32", "int16", "int8", "uint8"])
def test_iinfo(name):
    a, b = td.iinfo(getattr(td, name)), torch.iinfo(getattr(torch, name))
    assert (a.bits, a.max, a.min, a.dtype) == (b.bits, b.max, b.min, b.dtype)
    assert repr(a) == repr(b)


def test_finfo_iinfo_errors():
    assert repr(td.finfo()) == repr(torch.finfo())
    for f in (lambda m: m.finfo(m.int32), lambda m: m.iinfo(m.float32), lambda m: m.iinfo(m.bool),
              lambda m: m.finfo(3)):
        assert_raises_like(lambda: f(td), lambda: f(torch))


def _close_cases(m):
    t = m.tensor
    return [
        (t([1., 2., 3.]), t([1., 2.5, 3.]), {}),
        (t([[1, 2], [3, 4]]), t([[1, 2], [3, 5]]), {}),
        (t([1., 2.]), t([1., 2., 3.]), {}),
        (t([1., 2.]), t([1., 2.], dtype=m.float64), {}),
        (1.0, 1.5, {}),
        (t([1.]), t([1.]), {"rtol": 1}),
        (t([float("nan")]), t([float("nan")]), {}),
        ([t([1.]), t([2.])], [t([1.]), t([3.])], {}),
        ({"a": t([1.])}, {"a": t([2.])}, {}),
        (t([True, False]), t([True, True]), {}),
        (t([1.]), t([2.]), {"msg": "custom"}),
        (t(1.), t(2.), {}),
        (1, 2, {}),
        (1, 1.0, {}),
        (t([1.]), [1.], {}),
        (t([1.0, 1.1]), t([1.0, 1.0]), {"rtol": 0.0, "atol": 0.2}),
        (t([float("nan")]), t([float("nan")]), {"equal_nan": True}),
        (t([1., 2.], dtype=m.float16), t([1., 2.002], dtype=m.float16), {}),
    ]


@pytest.mark.parametrize("i", range(len(_close_cases(torch))))
def test_assert_close(i):
    a, b, kw = _close_cases(td)[i]
    ta, tb, _ = _close_cases(torch)[i]
    try:
        torch.testing.assert_close(ta, tb, **kw)
    except Exception as e:  # noqa: BLE001
        with pytest.raises(type(e)) as got:
            td.testing.assert_close(a, b, **kw)
        assert str(got.value).replace("tensord._tensor.Tensor", "torch.Tensor") == str(e)
    else:
        td.testing.assert_close(a, b, **kw)


def test_make_tensor():
    for dt in (td.float32, td.float64, td.int64, td.uint8, td.bool, td.complex64):
        x = td.testing.make_tensor(3, 4, dtype=dt, low=-2, high=2)
        assert x.shape == (3, 4) and x.dtype is dt
        if dt.is_floating_point or not (dt.is_complex or dt is td.bool):
            assert x.double().abs().max().item() <= 2


def test_backends():
    cudnn = td.backends.cudnn
    for f in ("enabled", "benchmark", "deterministic", "allow_tf32", "benchmark_limit"):
        assert getattr(cudnn, f) == getattr(torch.backends.cudnn, f)
    cudnn.benchmark = True
    assert td.backends.cudnn.benchmark is True
    cudnn.benchmark = False
    with cudnn.flags(enabled=False, deterministic=True):
        assert not cudnn.enabled and cudnn.deterministic
    assert cudnn.enabled and not cudnn.deterministic
    assert td.backends.cuda.matmul.allow_tf32 is torch.backends.cuda.matmul.allow_tf32
    # the TF32 switches are the session's kernel options in the daemon: set, read back,
    # restored by flags() as torch's are; the daemon refuses bits it does not know
    for mod, name in ((td, "td"), (torch, "torch")):
        c = mod.backends.cudnn
        assert c.allow_tf32 is True
        c.allow_tf32 = False
        assert c.allow_tf32 is False, name
        with c.flags(enabled=True, allow_tf32=True):
            assert c.allow_tf32 is True, name
        assert c.allow_tf32 is False, name
        c.allow_tf32 = True
        mod.backends.cuda.matmul.allow_tf32 = True
        assert mod.backends.cuda.matmul.allow_tf32 is True
        mod.backends.cuda.matmul.allow_tf32 = False
    with pytest.raises(RuntimeError, match="device_ctrl: unknown options 0x8"):
        td._C.device_ctrl(0, 4, 8)
    assert td.backends.cudnn.is_available() is torch.backends.cudnn.is_available()
    assert td.backends.mps.is_available() is torch.backends.mps.is_available()
    assert td.backends.cuda.is_built() is torch.backends.cuda.is_built()
    assert isinstance(td.backends.mkldnn.is_available(), bool) and isinstance(td.backends.openmp.is_available(), bool)


def test_cuda_module():
    """A daemon without GPUs (tests/python/test_devices.py has the ones with)."""
    import tensord.cuda as tc
    from tensord._size import cuda_devices
    assert tc.is_available() is False and tc.device_count() == 0 and tc.is_initialized() is False
    assert tc.memory_allocated() == 0 and tc.max_memory_allocated() == 0 and tc.memory_stats() == {}
    tc.manual_seed(1), tc.manual_seed_all(1), tc.empty_cache()
    names = ("synchronize", "current_device", "get_device_name", "init", "is_bf16_supported", "current_stream",
             "initial_seed", "get_rng_state", "mem_get_info")
    why = cuda_devices()[1]
    if why.startswith("tensord was built without CUDA"):  # what torch's CPU build says
        for name in names:
            assert_raises_like(lambda: getattr(tc, name)(), lambda: getattr(torch.cuda, name)())
        assert_raises_like(lambda: tc.get_device_properties(0), lambda: torch.cuda.get_device_properties(0))
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            td.zeros(2, device="cuda")
    else:  # a CUDA plugin without a usable GPU: torch's no-driver error, with the daemon's reason
        assert why
        for name in names:
            with pytest.raises(RuntimeError, match="Found no NVIDIA driver on your system"):
                getattr(tc, name)()
        with pytest.raises(RuntimeError, match="Found no NVIDIA driver"):
            td.zeros(2, device="cuda")
    assert td.version.cuda is None
