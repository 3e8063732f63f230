"""tensord.cuda (torch.cuda) on a daemon without GPUs: is_available() is False and
device_count() 0; what needs a device raises torch 1.13's AssertionError("Torch not
compiled with CUDA enabled"); what torch answers without initializing CUDA (memory
counters, seeding, the device context manager) answers the same here.  The GPU
backend will answer from the daemon's devices."""
import contextlib

from .._tensor import (BFloat16Tensor, BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,
                       IntTensor, LongTensor, ShortTensor)  # noqa: F401  (torch.cuda.FloatTensor ...: CPU ones here)

_NO_CUDA = "Torch not compiled with CUDA enabled"


def _lazy_init():
    raise AssertionError(_NO_CUDA)


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def init():
    _lazy_init()


def current_device():
    _lazy_init()


def set_device(device):
    index = device.index if hasattr(device, "index") else device
    if index is not None and int(index) >= 0:
        _lazy_init()


def synchronize(device=None):
    _lazy_init()


def get_device_name(device=None):
    _lazy_init()


def get_device_capability(device=None):
    _lazy_init()


def get_device_properties(device):
    _lazy_init()


def is_bf16_supported():
    _lazy_init()


def current_stream(device=None):
    _lazy_init()


def default_stream(device=None):
    _lazy_init()


def mem_get_info(device=None):
    _lazy_init()


def get_rng_state(device="cuda"):
    _lazy_init()


def get_rng_state_all():
    return []


def set_rng_state(new_state, device="cuda"):
    _lazy_init()


def initial_seed():
    _lazy_init()


def manual_seed(seed):
    """Queued until CUDA initializes in torch; nothing to seed here."""


manual_seed_all = seed = seed_all = manual_seed


def get_arch_list():
    return []


def empty_cache():
    """No device cache to empty."""


def ipc_collect():
    _lazy_init()


def memory_stats(device=None):
    return {}


def memory_allocated(device=None):
    return 0


memory_reserved = max_memory_allocated = max_memory_reserved = memory_cached = max_memory_cached = memory_allocated


def reset_peak_memory_stats(device=None):
    _lazy_init()


reset_max_memory_allocated = reset_max_memory_cached = reset_accumulated_memory_stats = reset_peak_memory_stats


class device:
    """Context manager that selects a CUDA device (torch.cuda.device); entering it needs
    a GPU, except for a negative index, which does nothing (as torch)."""

    def __init__(self, device):
        self.idx = device.index if hasattr(device, "index") else (-1 if device is None else int(device))
        self.prev_idx = -1

    def __enter__(self):
        if self.idx >= 0:
            _lazy_init()

    def __exit__(self, *exc):
        return False


class device_of(device):
    """torch.cuda.device_of(obj): a CPU tensor selects no device."""

    def __init__(self, obj):
        super().__init__(-1)


class Stream:
    def __new__(cls, *args, **kwargs):
        _lazy_init()


class Event:
    def __new__(cls, *args, **kwargs):
        _lazy_init()


@contextlib.contextmanager
def stream(stream):
    if stream is not None:
        _lazy_init()
    yield


class OutOfMemoryError(RuntimeError):
    """torch.cuda.OutOfMemoryError."""
