"""torch.library custom ops (torch 2.4's custom_op, register_autograd, register_kernel,
register_fake; PyTorch 1.13 lacks them): the op computes what its function computes, is
reachable through tensord.ops, and differentiates through its registered backward,
checked against finite differences and the closed form."""
import numpy as np
import pytest

import tensord as td


def test_custom_op_with_autograd_and_kernels():
    @td.library.custom_op("testlib::scaled_sin", mutates_args=())
    def scaled_sin(x: td.Tensor, k: float) -> td.Tensor:
        return td.sin(x) * k

    calls = []

    def setup_context(ctx, inputs, output):
        x, k = inputs
        ctx.save_for_backward(x)
        ctx.k = k

    def backward(ctx, g):
        calls.append("backward")
        (x,) = ctx.saved_tensors
        return g * td.cos(x) * ctx.k, None

    scaled_sin.register_autograd(backward, setup_context=setup_context)
    assert td.ops.testlib.scaled_sin is scaled_sin
    x = td.tensor([0.1, 0.7, -1.2], dtype=td.float64, requires_grad=True)
    y = td.ops.testlib.scaled_sin(x, 3.0)
    np.testing.assert_allclose(y.detach().numpy(), np.sin(x.detach().numpy()) * 3.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * np.cos(x.detach().numpy()))
    assert calls == ["backward"]
    assert td.autograd.gradcheck(lambda v: scaled_sin(v, 0.5), (td.tensor([0.3, -0.4], dtype=td.float64,
                                                                          requires_grad=True),))

    @scaled_sin.register_kernel("cpu")
    def _(x, k):  # a device-specific implementation replaces the default on that device
        calls.append("cpu kernel")
        return td.sin(x) * k
    with td.no_grad():
        scaled_sin(td.ones(2), 1.0)
    assert calls[-1] == "cpu kernel"

    @td.library.register_fake("testlib::scaled_sin")
    def _fake(x, k):
        return td.empty_like(x)
    with pytest.raises(ValueError, match='of the form "namespace::opname"'):
        td.library.custom_op("nonamespace", mutates_args=())(lambda x: x)
