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

make_graphed_callables returns the callables as they are: their graphs would need the
autograd history a graph does not keep (they compute the same, eagerly)."""
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


def make_graphed_callables(callables, sample_args, num_warmup_iters=3, allow_unused_input=False, pool=None):
    """The callables themselves (a tuple when given a tuple): run eagerly, they compute
    what their graphed forms would."""
    return callables
