"""tensord.backends.cudnn (torch.backends.cudnn): cuDNN's flags; no cuDNN is present."""
import sys
import types
from contextlib import contextmanager

from .._options import _state as _options, set_tf32

enabled = True
benchmark = False
benchmark_limit = None  # as torch on a build without cuDNN
deterministic = False


def is_available():
    return False


def version():
    return None


def is_acceptable(tensor):
    return False


def set_flags(_enabled=None, _benchmark=None, _benchmark_limit=None, _deterministic=None, _allow_tf32=None):
    """Sets the flags given (not None) and returns the previous ones, as torch."""
    global enabled, benchmark, benchmark_limit, deterministic
    orig = (enabled, benchmark, benchmark_limit, deterministic, _options["cudnn_tf32"])
    if _enabled is not None:
        enabled = _enabled
    if _benchmark is not None:
        benchmark = _benchmark
    if _benchmark_limit is not None:
        benchmark_limit = _benchmark_limit
    if _deterministic is not None:
        deterministic = _deterministic
    if _allow_tf32 is not None:
        set_tf32("cudnn_tf32", _allow_tf32)
    return orig


@contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False, allow_tf32=True):
    orig = set_flags(enabled, benchmark, benchmark_limit, deterministic, allow_tf32)
    try:
        yield
    finally:
        set_flags(*orig)


class _CudnnModule(types.ModuleType):
    """allow_tf32 is the session's kernel option (float32 convolutions on the GPU may use
    TF32), so assigning it tells the daemon, as torch.backends.cudnn.allow_tf32 = ... does
    for PyTorch's cuDNN calls."""

    @property
    def allow_tf32(self):
        return _options["cudnn_tf32"]

    @allow_tf32.setter
    def allow_tf32(self, value):
        set_tf32("cudnn_tf32", value)


sys.modules[__name__].__class__ = _CudnnModule
