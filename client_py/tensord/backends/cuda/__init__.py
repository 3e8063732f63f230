"""tensord.backends.cuda (torch.backends.cuda): CUDA's matmul flags and switches; the
CPU build has no CUDA (is_built() is False until the GPU backend lands)."""
import contextlib

from .._options import set_tf32, tf32_state


class cuBLASModule:
    """torch.backends.cuda.matmul: allow_tf32 (float32 matmuls on the GPU may use TF32
    tensor cores; this process's session tells the daemon) and
    allow_fp16_reduced_precision_reduction."""

    def __init__(self):
        self.allow_fp16_reduced_precision_reduction = True

    @property
    def allow_tf32(self):   # one switch with torch.set_float32_matmul_precision
        return tf32_state("matmul_tf32")

    @allow_tf32.setter
    def allow_tf32(self, value):
        set_tf32("matmul_tf32", value)


matmul = cuBLASModule()
_state = {"flash": True, "math": True, "linalg": "default"}


def is_built():
    return False


def preferred_linalg_library(backend=None):
    if backend is not None:
        _state["linalg"] = backend if isinstance(backend, str) else str(backend)
    return _state["linalg"]


def flash_sdp_enabled():
    return _state["flash"]


def enable_flash_sdp(enabled):
    _state["flash"] = bool(enabled)


def math_sdp_enabled():
    return _state["math"]


def enable_math_sdp(enabled):
    _state["math"] = bool(enabled)


@contextlib.contextmanager
def sdp_kernel(enable_flash=True, enable_math=True):
    prev = (_state["flash"], _state["math"])
    _state["flash"], _state["math"] = enable_flash, enable_math
    try:
        yield
    finally:
        _state["flash"], _state["math"] = prev
