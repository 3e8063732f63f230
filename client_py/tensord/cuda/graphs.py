"""torch.cuda.graphs for tensord: CUDA graph capture is not supported (the daemon runs a
session's op records in order as they arrive; there is no capture mode), so
is_current_stream_capturing() is False, capturing raises a clear RuntimeError, and
make_graphed_callables returns the callables as they are (they compute the same, run
eagerly)."""

__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "is_current_stream_capturing", "make_graphed_callables"]

_NO_CAPTURE = ("tensord does not capture CUDA graphs (the daemon runs each session's op records as they arrive); "
               "run the code without torch.cuda.graph")


def is_current_stream_capturing():
    return False


def graph_pool_handle():
    raise RuntimeError(_NO_CAPTURE)


class CUDAGraph:
    def __init__(self, *args, **kwargs):
        pass

    def capture_begin(self, *args, **kwargs):
        raise RuntimeError(_NO_CAPTURE)

    def capture_end(self):
        raise RuntimeError(_NO_CAPTURE)

    def replay(self):
        raise RuntimeError(_NO_CAPTURE)

    def reset(self):
        pass


class graph:
    def __init__(self, cuda_graph, pool=None, stream=None, capture_error_mode="global"):
        self.cuda_graph = cuda_graph

    def __enter__(self):
        raise RuntimeError(_NO_CAPTURE)

    def __exit__(self, *exc):
        return False


def make_graphed_callables(callables, sample_args, num_warmup_iters=3, allow_unused_input=False, pool=None):
    """The callables themselves (a tuple when given a tuple): run eagerly, they compute
    what their graphed forms would."""
    return callables
