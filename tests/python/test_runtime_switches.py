"""Process-level switches of the torch namespace against torch 1.13: determinism flags
and debug modes, float32 matmul precision tied to backends.cuda.matmul.allow_tf32,
set_default_tensor_type, warn_always, anomaly mode, the has_* facts, get_device and the
torch.random module (fork_rng restores the generator)."""
import numpy as np
import pytest
import torch as T

import tensord as td


def test_determinism_flags_follow_torch():
    for m in (td, T):
        m.use_deterministic_algorithms(True, warn_only=True)
        assert m.are_deterministic_algorithms_enabled() and m.is_deterministic_algorithms_warn_only_enabled()
        assert m.get_deterministic_debug_mode() == 1
        m.set_deterministic_debug_mode("error")
        assert m.get_deterministic_debug_mode() == 2 and not m.is_deterministic_algorithms_warn_only_enabled()
        m.set_deterministic_debug_mode(0)
        assert not m.are_deterministic_algorithms_enabled() and m.get_deterministic_debug_mode() == 0
    for bad in ("loud", 3):
        errs = []
        for m in (td, T):
            with pytest.raises(RuntimeError) as e:
                m.set_deterministic_debug_mode(bad)
            errs.append(str(e.value))
        assert errs[0] == errs[1]


def test_float32_matmul_precision_is_the_tf32_switch():
    try:
        for m in (td, T):
            assert m.get_float32_matmul_precision() == "highest"
            m.set_float32_matmul_precision("medium")
            assert m.backends.cuda.matmul.allow_tf32 is True and m.get_float32_matmul_precision() == "medium"
            m.backends.cuda.matmul.allow_tf32 = False
            assert m.get_float32_matmul_precision() == "highest"
            m.backends.cuda.matmul.allow_tf32 = True
            assert m.get_float32_matmul_precision() in ("high", "medium")
            m.set_float32_matmul_precision("highest")
            assert m.backends.cuda.matmul.allow_tf32 is False
        with pytest.raises(RuntimeError):
            td.set_float32_matmul_precision("low")
    finally:
        td.set_float32_matmul_precision("highest")
        T.set_float32_matmul_precision("highest")


def test_set_default_tensor_type():
    try:
        td.set_default_tensor_type(td.DoubleTensor)
        assert td.get_default_dtype() == td.float64 and td.tensor([1.5]).dtype == td.float64
        td.set_default_tensor_type("torch.FloatTensor")
        assert td.get_default_dtype() == td.float32
        with pytest.raises(TypeError):
            td.set_default_tensor_type("torch.cuda.FloatTensor")
    finally:
        td.set_default_dtype(td.float32)


def test_small_switches_and_facts():
    for m in (td, T):
        m.set_warn_always(True)
        assert m.is_warn_always_enabled()
        m.set_warn_always(False)
        assert not m.is_warn_always_enabled()
        m.set_anomaly_enabled(True)
        assert m.is_anomaly_enabled()
        m.set_anomaly_enabled(False)
        assert not m.is_anomaly_enabled()
        assert m.get_device(m.zeros(2)) == -1
    assert td.has_lapack and td.has_spectral and not td.has_cuda
    x = td.tensor([0.0, -1.0], requires_grad=True)
    td.set_anomaly_enabled(True)
    try:
        with pytest.raises(RuntimeError, match="returned nan values"):
            td.sqrt(x).sum().backward()
    finally:
        td.set_anomaly_enabled(False)


def test_random_module_and_fork_rng():
    td.random.manual_seed(7)
    assert td.random.initial_seed() == 7
    a = td.rand(3).numpy()
    td.random.manual_seed(7)
    with td.random.fork_rng():
        td.rand(100)                 # draws inside the block ...
    b = td.rand(3).numpy()           # ... leave the stream after it as it was
    np.testing.assert_array_equal(a, b)
    state = td.random.get_rng_state()
    c = td.rand(2).numpy()
    td.random.set_rng_state(state)
    np.testing.assert_array_equal(td.rand(2).numpy(), c)
