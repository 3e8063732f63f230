"""tensord.accelerator (torch.accelerator, PyTorch 2.6+): the device-generic API over the
node's accelerator, which for tensord is the daemon's CUDA devices (tensord.cuda).
Without a GPU, current_accelerator() is None and is_available() False, as in a CPU build
of PyTorch."""
from .. import cuda as _cuda
from .._size import as_device as _as_device

__all__ = ["current_accelerator", "current_device_idx", "current_device_index", "current_stream", "device_count",
           "device_index", "is_available", "set_device_idx", "set_device_index", "set_stream", "synchronize",
           "empty_cache", "max_memory_allocated", "max_memory_reserved", "memory_allocated", "memory_reserved",
           "memory_stats", "reset_accumulated_memory_stats", "reset_peak_memory_stats", "get_memory_info"]


def device_count():
    return _cuda.device_count()


def is_available():
    return _cuda.is_available()


def current_accelerator(check_available=False):
    """torch.device("cuda") when the daemon serves GPUs, else None."""
    if not _cuda.is_available():
        return None
    return _as_device("cuda")


def _index(device):
    """An accelerator device's index: an int, "cuda:N", torch.device; None: the current one."""
    if device is None:
        return current_device_index()
    if isinstance(device, int):
        return device
    d = _as_device(device)
    if d.type != "cuda":
        raise ValueError("%s doesn't match the current accelerator cuda." % d.type)
    return current_device_index() if d.index is None else d.index


def current_device_index():
    return _cuda.current_device()


def set_device_index(device):
    _cuda.set_device(_index(device))


current_device_idx = current_device_index
set_device_idx = set_device_index


def current_stream(device=None):
    return _cuda.current_stream(_index(device))


def set_stream(stream):
    _cuda.set_stream(stream)


def synchronize(device=None):
    _cuda.synchronize(None if device is None else _index(device))


class device_index:
    """Context manager that makes device index `device` current (None: does nothing)."""

    def __init__(self, device):
        self._inner = _cuda.device(-1 if device is None else device)

    def __enter__(self):
        self._inner.__enter__()
        return self

    def __exit__(self, *exc):
        return self._inner.__exit__(*exc)


def empty_cache():
    _cuda.empty_cache()


def memory_stats(device_index=None):
    return _cuda.memory_stats(device_index)


def memory_allocated(device_index=None):
    return _cuda.memory_allocated(device_index)


def max_memory_allocated(device_index=None):
    return _cuda.max_memory_allocated(device_index)


def memory_reserved(device_index=None):
    return _cuda.memory_reserved(device_index)


def max_memory_reserved(device_index=None):
    return _cuda.max_memory_reserved(device_index)


def reset_accumulated_memory_stats(device_index=None):
    _cuda.reset_accumulated_memory_stats(device_index)


def reset_peak_memory_stats(device_index=None):
    _cuda.reset_peak_memory_stats(device_index)


def get_memory_info(device_index=None):
    """(free, total) bytes of the device."""
    return _cuda.mem_get_info(device_index)
