"""Activation checkpointing, as torch.utils.checkpoint: checkpoint(function, *args) runs
function without keeping its intermediate tensors and runs it again in the backward pass
(with the forward's random state and autocast state) to get the gradients, trading
compute for memory; checkpoint_sequential cuts a Sequential into segments so.

The recomputation is an autograd.Function whose backward runs a nested backward pass
through the recomputed graph (torch's use_reentrant=True algorithm): gradients reach the
inputs and, through that nested pass, the parameters function uses.  use_reentrant=False
(torch's saved-tensor-hooks variant) runs function normally here, keeping its
intermediates: the same gradients, without the memory saving."""
import warnings

from .. import _C
from .._grad_mode import enable_grad, no_grad
from ..autograd.function import Function

__all__ = ["checkpoint", "checkpoint_sequential", "detach_variable", "check_backward_validity"]


def detach_variable(inputs):
    """The tensors of the tuple detached, each requiring grad as before; others as they are."""
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: ",
                           type(inputs).__name__)
    out = []
    for inp in inputs:
        if not isinstance(inp, _C.TensorBase):
            out.append(inp)
            continue
        x = inp.detach()
        x.requires_grad = inp.requires_grad
        out.append(x)
    return tuple(out)


def check_backward_validity(inputs):
    if not any(isinstance(inp, _C.TensorBase) and inp.requires_grad for inp in inputs):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None")


def _autocast_state():
    from ..amp import autocast_mode as am
    return am._get(0), am._get(1)


class CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        from .. import get_rng_state
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.preserve_rng_state = preserve_rng_state
        ctx.autocast = _autocast_state()
        if preserve_rng_state:
            ctx.fwd_rng_state = get_rng_state()
        ctx.inputs = []
        ctx.tensor_indices = []
        tensors = []
        for i, arg in enumerate(args):
            if isinstance(arg, _C.TensorBase):
                tensors.append(arg)
                ctx.tensor_indices.append(i)
                ctx.inputs.append(None)
            else:
                ctx.inputs.append(arg)
        ctx.save_for_backward(*tensors)
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        from .. import get_rng_state, set_rng_state
        from ..autograd import backward
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        # the saved tensors are detached aliases: their requires_grad comes from the forward's inputs
        for i, need in zip(ctx.tensor_indices, [ctx.needs_input_grad[2 + i] for i in ctx.tensor_indices]):
            inputs[i] = inputs[i].detach()
            inputs[i].requires_grad = need
        now = get_rng_state() if ctx.preserve_rng_state else None
        if ctx.preserve_rng_state:
            set_rng_state(ctx.fwd_rng_state)
        amp_now = _autocast_state()
        try:
            for kind, (on, dt) in enumerate(ctx.autocast):
                _C.autocast_set(kind, on, dt._index)
            with enable_grad():
                outputs = ctx.run_function(*inputs)
        finally:
            for kind, (on, dt) in enumerate(amp_now):
                _C.autocast_set(kind, on, dt._index)
            if now is not None:
                set_rng_state(now)
        if isinstance(outputs, _C.TensorBase):
            outputs = (outputs,)
        with_grad, their_grads = [], []
        for out, g in zip(outputs, grads):
            if isinstance(out, _C.TensorBase) and out.requires_grad:
                with_grad.append(out)
                their_grads.append(g)
        if not with_grad:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        backward(with_grad, their_grads)
        return (None, None) + tuple(inp.grad if isinstance(inp, _C.TensorBase) else None for inp in inputs)


def checkpoint(function, *args, use_reentrant=True, **kwargs):
    """function(*args) without keeping its activations; recomputed in the backward pass."""
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        return CheckpointFunction.apply(function, preserve, *args)
    return function(*args, **kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=True, **kwargs):
    """A Sequential (or list of modules) run in `segments` checkpointed chunks; the last
    chunk runs normally, as torch's."""
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start, end, functions):
        def forward(input):
            for j in range(start, end + 1):
                input = functions[j](input)
            return input
        return forward

    from ..nn.modules.container import Sequential
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, functions), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)
