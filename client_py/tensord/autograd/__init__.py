"""tensord.autograd, as torch.autograd: backward and grad over the graph that libtensord's
autograd/ (C) records for every op on tensors that require grad; Function for backwards
written in Python; gradcheck and gradgradcheck against finite differences."""
from .. import _C
from .._grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled  # noqa: F401
from .anomaly_mode import detect_anomaly, set_detect_anomaly  # noqa: F401
from .function import Function, once_differentiable  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401
from . import anomaly_mode, function, functional, graph, profiler, gradcheck as _gradcheck_mod  # noqa: F401

__all__ = ["Function", "backward", "grad", "gradcheck", "gradgradcheck", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "functional", "detect_anomaly", "set_detect_anomaly", "Variable"]


def Variable(data, requires_grad=False, volatile=False):
    """The pre-0.4 wrapper, as torch keeps it: the tensor itself (requires_grad set)."""
    if requires_grad:
        data.requires_grad_()
    return data


def _as_tuple(x, what):
    if isinstance(x, _C.TensorBase):
        return (x,)
    if x is None:
        return ()
    return tuple(x)


def _grads_for(outputs, grads, what):
    grads = _as_tuple(grads, what) if grads is not None else (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError("%s should be a sequence of length %d, got %d" % (what, len(outputs), len(grads)))
    for g in grads:
        if g is not None and not isinstance(g, _C.TensorBase):
            raise TypeError("%s can be either Tensors or None, but got %s" % (what, type(g).__name__))
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    """Adds the gradients of tensors (weighted by grad_tensors) into the leaves' .grad."""
    tensors = _as_tuple(tensors, "tensors")
    grads = _grads_for(tensors, grad_tensors if grad_tensors is not None else grad_variables, "grad_tensors")
    inputs = _as_tuple(inputs, "inputs")
    if inputs is not None and len(inputs) == 0 and not isinstance(inputs, tuple):
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    if retain_graph is None:
        retain_graph = create_graph
    _C.backward(tensors, grads, inputs, bool(retain_graph), bool(create_graph))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=False, is_grads_batched=False):
    """The gradients of outputs with respect to inputs, as a tuple (None for an unused input
    with allow_unused=True); .grad fields are left alone."""
    if is_grads_batched:
        raise NotImplementedError("tensord: autograd.grad(is_grads_batched=True) is not supported yet")
    outputs = _as_tuple(outputs, "outputs")
    inputs = _as_tuple(inputs, "inputs")
    grads = _grads_for(outputs, grad_outputs, "grad_outputs")
    if retain_graph is None:
        retain_graph = create_graph
    return _C.grad(outputs, inputs, grads, bool(retain_graph), bool(create_graph), bool(allow_unused))
