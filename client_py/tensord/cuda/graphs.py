"""torch.cuda.graphs for tensord: CUDAGraph and the graph() context capture into a graph
the daemon stores (docs/design/graphs.md, "Held captures"), replay() runs it again.

As with CUDA graphs, the captured region runs once as it is captured; tensors that existed
before it are read by reference (copy new data into a static input, then replay), and
every tensor the region made that the program still holds (its static outputs, a .grad
made by backward, an optimizer's state) is an output that each replay writes the new value
into, so the same Python tensors (and their views) show the new results.  A region that reads data
(item(), printing, nonzero) or makes tensors from Python data raises at capture end, as
CUDA's capture refuses synchronizing calls.  The daemon runs graphs on every device, the
CPU included, so this works wherever the region's tensors live.

make_graphed_callables (torch's) captures each callable's forward and its backward
(autograd.grad of its outputs with respect to its tensor arguments and parameters) into
two graphs after warm-up iterations, and returns a callable — for a module, the module
with its forward replaced while it stays in the capture's train/eval mode — that copies
its arguments into the static ones, replays the forward graph and hands back its outputs
as an autograd.Function whose backward replays the backward graph."""
import gc

from .. import _C

__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "is_current_stream_capturing", "make_graphed_callables"]


def is_current_stream_capturing():
    """True while a graph is being captured (by CUDAGraph, graph or tensord.jit.trace)."""
    return _C.graph_capturing()


class _Pool:
    """What graph_pool_handle gives: the daemon's caching allocator serves every graph, so a
    pool is only a token graphs may share."""


def graph_pool_handle():
    return _Pool()


class CUDAGraph:
    """A captured region (torch.cuda.CUDAGraph)."""

    def __init__(self):
        self._id = None
        self._pool = None

    def capture_begin(self, pool=None, capture_error_mode="global"):
        if self._id is not None:
            raise RuntimeError("This CUDAGraph instance already owns a captured graph. To capture a new graph, "
                               "create a new instance.")
        if capture_error_mode not in ("global", "thread_local", "relaxed"):
            raise ValueError("Unknown capture_error_mode %r" % (capture_error_mode,))
        self._pool = pool if pool is not None else _Pool()
        _C.graph_begin()

    def capture_end(self):
        try:
            gc.collect()  # tensors in reference cycles the region dropped are not its outputs
        finally:
            try:
                self._id, _ = _C.graph_end_held()
            except TypeError as e:  # FAILED_PRECONDITION: what the capture cannot hold
                raise RuntimeError(str(e)) from None

    def _abort(self):
        _C.graph_abort()

    def replay(self):
        if self._id is None:
            raise RuntimeError("CUDA graph must be captured before replay")
        _C.graph_replay(self._id)

    def reset(self):
        if self._id is not None:
            gid, self._id = self._id, None
            _C.graph_free(gid)

    def pool(self):
        return self._pool

    def enable_debug_mode(self):
        pass

    def debug_dump(self, debug_path):
        raise RuntimeError("tensord graphs have no CUDA debug dump (docs/design/graphs.md describes their body)")

    def __del__(self):
        try:
            self.reset()
        except Exception:
            pass


class graph:
    """with tensord.cuda.graph(g): ... captures the block into g (torch.cuda.graph)."""

    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode="global"):
        self.cuda_graph = cuda_graph
        self.pool = () if pool is None else (pool,)
        self.capture_error_mode = capture_error_mode

    def __enter__(self):
        gc.collect()
        self.cuda_graph.capture_begin(*self.pool, capture_error_mode=self.capture_error_mode)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.cuda_graph._abort()
            return False
        self.cuda_graph.capture_end()
        return False


def _flat_outputs(out):
    if isinstance(out, (tuple, list)):
        return tuple(out), type(out)
    return (out,), None


def _graphed(fn, args, num_warmup_iters, allow_unused_input):
    """One callable's graphed form (make_graphed_callables)."""
    from ..autograd import Function, grad
    from .._creation import empty_like, ones_like
    from ..nn.modules.module import Module
    if isinstance(fn, Module) and (fn._forward_hooks or fn._forward_pre_hooks or fn._backward_hooks):
        raise RuntimeError("Modules must not have hooks registered at the time they are passed. However, "
                           "registering hooks on modules after passing them through make_graphed_callables is "
                           "allowed.")
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    params = tuple(fn.parameters()) if isinstance(fn, Module) else ()
    static_inputs = args + params
    diff_inputs = [t for t in static_inputs if t.requires_grad]

    def backward_of(outs, grad_outputs):
        diff = [(o, g) for o, g in zip(outs, grad_outputs) if o.requires_grad]
        if not diff or not diff_inputs:
            return ()
        return grad([o for o, _ in diff], diff_inputs, grad_outputs=[g for _, g in diff], only_inputs=True,
                    allow_unused=allow_unused_input)

    for _ in range(num_warmup_iters):  # eager iterations: lazily made state exists before capture
        outs, _ = _flat_outputs(fn(*args))
        backward_of(outs, [ones_like(o) for o in outs])
    del outs
    fwd = CUDAGraph()
    with graph(fwd):
        static_outputs, container = _flat_outputs(fn(*args))
    static_grad_outputs = tuple(empty_like(o) if o.requires_grad else None for o in static_outputs)
    bwd = CUDAGraph()
    with graph(bwd):
        grads = iter(backward_of(static_outputs, static_grad_outputs))
        static_grad_inputs = tuple(next(grads) if t.requires_grad else None for t in static_inputs)

    class Graphed(Function):
        @staticmethod
        def forward(ctx, *inputs):
            for static, given in zip(static_inputs[:len(args)], inputs):
                if static is not given:
                    static.copy_(given)
            fwd.replay()
            return tuple(o.detach() for o in static_outputs)

        @staticmethod
        def backward(ctx, *grad_outputs):
            for static, given in zip(static_grad_outputs, grad_outputs):
                if static is not None and given is not None:
                    static.copy_(given)
            bwd.replay()
            return tuple(g.detach() if g is not None else None for g in static_grad_inputs)

    def functionalized(*user_args):
        out = Graphed.apply(*(tuple(user_args) + params))
        if container is None:
            return out[0]
        return container(out)
    functionalized.graphs = (fwd, bwd)  # kept alive with the callable
    if not isinstance(fn, Module):
        return functionalized
    training, plain = fn.training, fn.forward

    def forward(*user_args):
        return functionalized(*user_args) if fn.training == training else plain(*user_args)
    fn.forward = forward
    return fn


def make_graphed_callables(callables, sample_args, num_warmup_iters=3, allow_unused_input=False, pool=None):
    """Graphed versions of callables (a tuple of them for a tuple): see the module's note."""
    just_one = not isinstance(callables, tuple)
    if just_one:
        callables, sample_args = (callables,), (sample_args,)
    if len(callables) != len(sample_args):
        raise ValueError("make_graphed_callables: one tuple of sample arguments per callable")
    out = tuple(_graphed(fn, args, num_warmup_iters, allow_unused_input) for fn, args in zip(callables, sample_args))
    return out[0] if just_one else out
