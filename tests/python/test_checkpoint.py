"""torch.utils.checkpoint against torch 1.13: the same outputs and gradients (inputs and
parameters) as torch's checkpoint and as running without it, dropout recomputed with the
forward's random state, checkpoint_sequential, the warnings and errors, and the point of
it: the daemon holds less memory between forward and backward."""
import warnings

import numpy as np
import pytest
import torch as T
import torch.utils.checkpoint  # noqa: F401  (torch does not import it by itself)

import tensord as td


def _model(m):
    m.manual_seed(0)
    return m.nn.Sequential(m.nn.Linear(6, 8), m.nn.Tanh(), m.nn.Linear(8, 8), m.nn.ReLU(), m.nn.Linear(8, 3)).double()


def _grads(m, model, x, use_ckpt, seq=False):
    xi = m.tensor(x, requires_grad=True)
    if seq:
        y = m.utils.checkpoint.checkpoint_sequential(model, 2, xi)
    elif use_ckpt:
        y = m.utils.checkpoint.checkpoint(lambda a: model[2:](model[:2](a)), xi)
    else:
        y = model(xi)
    (y * m.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)))).sum().backward()
    return y.detach().numpy(), xi.grad.numpy(), {k: p.grad.numpy() for k, p in model.named_parameters()}


@pytest.mark.parametrize("seq", [False, True])
def test_matches_torch_and_plain_run(seq):
    x = np.random.default_rng(0).standard_normal((5, 6))
    ours, theirs = _model(td), _model(T)
    ours.load_state_dict({k: td.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    a = _grads(td, ours, x, True, seq)
    b = _grads(T, theirs, x, True, seq)
    ours.zero_grad(set_to_none=True)
    c = _grads(td, ours, x, False)
    for got, want in ((a, b), (a, c)):
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
        for k in want[2]:
            np.testing.assert_allclose(got[2][k], want[2][k], rtol=1e-12, err_msg=k)


def test_dropout_is_recomputed_with_the_forwards_random_state():
    x = td.randn(64, 32, dtype=td.float64, requires_grad=True)
    drop = td.nn.Dropout(0.5)

    def f(t):
        return drop(t * 2)
    td.manual_seed(3)
    y = td.utils.checkpoint.checkpoint(f, x)
    y.sum().backward()
    g = x.grad.numpy().copy()
    # the gradient is 4 (2 * 1/(1-p)) exactly where the forward kept an element
    kept = y.detach().numpy() != 0
    np.testing.assert_array_equal(g != 0, kept)
    np.testing.assert_allclose(g[kept], 4.0)
    # and the random stream after the backward is where the forward left it
    td.manual_seed(3)
    f(x.detach())
    after_plain = td.rand(3).numpy()
    td.manual_seed(3)
    z = td.utils.checkpoint.checkpoint(f, x)
    z.sum().backward()
    np.testing.assert_array_equal(td.rand(3).numpy(), after_plain)


def test_warnings_and_errors():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        td.utils.checkpoint.checkpoint(lambda a: a * 2, td.ones(2))
    assert any("None of the inputs have requires_grad=True" in str(x.message) for x in w)
    with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
        td.utils.checkpoint.checkpoint(lambda a: a, td.ones(2), foo=1)
    x = td.ones(2, requires_grad=True)
    y = td.utils.checkpoint.checkpoint(lambda a: (a * 2).detach(), x)
    with pytest.raises(RuntimeError):
        y.sum().backward()
    # use_reentrant=False: the same gradients (without the recomputation)
    x = td.tensor([1.0, 2.0], requires_grad=True)
    td.utils.checkpoint.checkpoint(lambda a: (a ** 3).sum(), x, use_reentrant=False).backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])


def test_activations_are_not_kept():
    x = td.randn(256, 256, requires_grad=True)

    def chain(t):
        for _ in range(8):
            t = (t * 1.01).tanh()
        return t
    td.cpu.synchronize()
    base = td.cpu.memory_allocated()
    y = chain(x).sum()
    td.cpu.synchronize()
    plain = td.cpu.memory_allocated() - base
    y.backward()
    del y
    x.grad = None
    td.cpu.synchronize()
    base = td.cpu.memory_allocated()
    y = td.utils.checkpoint.checkpoint(chain, x).sum()
    td.cpu.synchronize()
    ckpt = td.cpu.memory_allocated() - base
    y.backward()
    # 8 tanh outputs (and their multiplications) are saved without checkpointing: at least
    # 8 matrices of 256 KiB; with it, only the input and the output
    assert plain >= 8 * 256 * 256 * 4
    assert ckpt < plain / 4
    np.testing.assert_allclose(x.grad.numpy().shape, (256, 256))


def test_recomputation_runs_under_the_forwards_autocast():
    x0 = np.random.default_rng(5).standard_normal((3, 4))
    grads = []
    for ckpt in (True, False):
        td.manual_seed(0)
        lin = td.nn.Linear(4, 4)
        x = td.tensor(x0, dtype=td.float32, requires_grad=True)
        with td.autocast("cpu"):
            y = td.utils.checkpoint.checkpoint(lin, x) if ckpt else lin(x)
            assert y.dtype == td.bfloat16
        (y.float() * td.arange(12.0).reshape(3, 4)).sum().backward()
        grads.append((x.grad.numpy(), lin.weight.grad.numpy()))
    # the recomputed graph is the bfloat16 one: the gradients are the same bits
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])
