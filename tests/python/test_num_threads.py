"""torch.set_num_threads as the session's intra-op thread limit (a SET_NUM_THREADS record;
the daemon side, thread-local limit and single-threaded BLAS, is tested in
tests/check_ops_cpu.c test_thread_limit), and results that stay right under any limit."""
import numpy as np
import pytest

import tensord as td


@pytest.fixture
def restore_threads():
    before = td.get_num_threads()
    yield
    td.set_num_threads(before)


def test_round_trip(restore_threads):
    for n in (1, 3, 2):
        td.set_num_threads(n)
        assert td.get_num_threads() == n


def test_rejects_non_positive(restore_threads):
    with pytest.raises(RuntimeError):
        td.set_num_threads(0)
    with pytest.raises(TypeError):
        td.set_num_threads(1.5)


@pytest.mark.parametrize("n", [1, 2, 64])
def test_results_under_limit(n, restore_threads):
    rng = np.random.default_rng(n)
    a = rng.standard_normal((300, 260))
    b = rng.standard_normal((260, 280))
    x = rng.standard_normal(1 << 17).astype(np.float32)
    td.set_num_threads(n)
    got = (td.tensor(a) @ td.tensor(b)).numpy()
    np.testing.assert_allclose(got, a @ b, rtol=1e-10, atol=1e-10)
    # a wide product splits by columns when several threads are allowed
    got = (td.tensor(a[:20]) @ td.tensor(b)).numpy()
    np.testing.assert_allclose(got, a[:20] @ b, rtol=1e-10, atol=1e-10)
    tx = td.from_numpy(x)
    assert abs(tx.sum().item() - float(x.astype(np.float64).sum())) < 1e-2
    np.testing.assert_allclose((tx * 2 + 1).numpy(), x * 2 + 1, rtol=1e-6)
    s, _ = td.sort(tx)
    np.testing.assert_array_equal(s.numpy(), np.sort(x))


def test_limit_is_per_session(restore_threads):
    """The record travels in the op stream: ops recorded before it are unaffected, and a
    sync in between changes nothing."""
    a = td.ones(512, 512)
    td.set_num_threads(1)
    td.synchronize()
    assert (a @ a)[0, 0].item() == 512.0
    td.set_num_threads(2)
    assert (a @ a)[511, 511].item() == 512.0
