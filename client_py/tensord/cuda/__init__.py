"""tensord.cuda (torch.cuda): the daemon's GPUs.

The daemon owns the devices (docs/design/devices.md): device_count() is the number it
serves, through its CUDA plugin or, on machines without a GPU, through host-memory
stand-ins (`tensord --fake-gpus N`).  Without a GPU, is_available() is False and what
needs a device raises as torch does: AssertionError("Torch not compiled with CUDA
enabled") when the daemon was built without CUDA, else RuntimeError saying why the
daemon found no device.  What torch answers without initializing CUDA (memory counters
of an uninitialized device, seeding) answers the same here.
"""

from .. import _C
from .._size import cuda_devices, cuda_index, cuda_ordinal, cuda_unavailable, as_device, _cuda
from .._tensor import (BFloat16Tensor, BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,
                       IntTensor, LongTensor, ShortTensor)  # noqa: F401  (torch.cuda.FloatTensor ...: CPU ones here)
from .memory import (empty_cache, max_memory_allocated, max_memory_cached, max_memory_reserved, mem_get_info,  # noqa: F401
                     memory_allocated, memory_cached, memory_reserved, memory_stats, memory_summary,
                     reset_accumulated_memory_stats, reset_max_memory_allocated, reset_max_memory_cached,
                     reset_peak_memory_stats, set_per_process_memory_fraction)
from .streams import Event, Stream, StreamContext, current_stream, default_stream, set_stream, stream  # noqa: F401
from .graphs import CUDAGraph, graph, graph_pool_handle, is_current_stream_capturing, make_graphed_callables  # noqa: F401

_DQ_PROPS = 1


def _lazy_init():
    if cuda_devices()[0] == 0:
        raise cuda_unavailable()


def is_available():
    try:
        return cuda_devices()[0] > 0
    except (RuntimeError, ConnectionError):
        return False


def device_count():
    try:
        return cuda_devices()[0]
    except (RuntimeError, ConnectionError):
        return 0


def is_initialized():
    return is_available()


def init():
    _lazy_init()




def current_device():
    _lazy_init()
    return _cuda["current"]


def set_device(device):
    index = device.index if hasattr(device, "index") else device
    if isinstance(device, str):
        index = as_device(device).index
    if index is not None and int(index) >= 0:
        _cuda["current"] = cuda_index(int(index))


class _CudaDeviceProperties:
    """What torch.cuda.get_device_properties answers."""

    def __init__(self, raw):
        import struct
        name = raw[:128].split(b"\0", 1)[0].decode("utf-8", "replace")
        total, major, minor, mp, warp, l2 = struct.unpack_from("<QiiiiQ", raw, 128)
        self.name, self.total_memory, self.major, self.minor = name, total, major, minor
        self.multi_processor_count, self.warp_size, self.l2_cache_size = mp, warp, l2
        self.is_integrated = False
        self.is_multi_gpu_board = False

    def __repr__(self):
        return ("_CudaDeviceProperties(name='%s', major=%d, minor=%d, total_memory=%dMB, multi_processor_count=%d)"
                % (self.name, self.major, self.minor, self.total_memory >> 20, self.multi_processor_count))


def get_device_properties(device):
    i = cuda_ordinal(device)
    return _CudaDeviceProperties(_C.device_query(1 + i, _DQ_PROPS))


def get_device_name(device=None):
    return get_device_properties(cuda_ordinal(device)).name


def get_device_capability(device=None):
    p = get_device_properties(cuda_ordinal(device))
    return p.major, p.minor


def synchronize(device=None):
    """Waits for the work this process queued on the device."""
    _C.device_ctrl(1 + cuda_ordinal(device), 2)


def is_bf16_supported():
    _lazy_init()
    return True


def get_rng_state(device="cuda"):
    """The devices' generator state (tensord keeps one for all devices: a torch CPU
    generator state, 5056 bytes; torch's CUDA state is 16 bytes of Philox seed and offset)."""
    _lazy_init()
    from .. import _random
    return _random._device_state()


def get_rng_state_all():
    return [get_rng_state()] * device_count()


def set_rng_state(new_state, device="cuda"):
    _lazy_init()
    from .. import _random
    _random._set_device_state(new_state)


def set_rng_state_all(new_states):
    for s in new_states:
        set_rng_state(s)


def initial_seed():
    _lazy_init()
    from .. import _random
    return _random._device_initial()


def manual_seed(seed):
    """Seeds the devices' generator only (torch.manual_seed seeds it and the CPU's):
    random ops on a device draw from it, never from the CPU's stream."""
    from .. import _random
    _random._seed_devices(seed)


def seed():
    import os
    manual_seed(int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1))


manual_seed_all = manual_seed
seed_all = seed


def get_arch_list():
    return ["sm_90"] if is_available() else []


def ipc_collect():
    _lazy_init()


class device:
    """Context manager that selects a CUDA device (torch.cuda.device); a negative index
    or None does nothing (as torch)."""

    def __init__(self, device):
        if device is None:
            self.idx = -1
        elif isinstance(device, (str,)) or hasattr(device, "type"):
            self.idx = as_device(device).index if as_device(device).type == "cuda" else -1
            if self.idx is None:
                self.idx = 0
        else:
            self.idx = int(device)
        self.prev_idx = -1

    def __enter__(self):
        if self.idx >= 0:
            self.prev_idx = current_device()
            set_device(self.idx)

    def __exit__(self, *exc):
        if self.prev_idx >= 0:
            set_device(self.prev_idx)
        return False


class device_of(device):
    """torch.cuda.device_of(obj): the device of a CUDA tensor; a CPU tensor selects none."""

    def __init__(self, obj):
        super().__init__(obj.get_device() if obj.is_cuda else -1)


class OutOfMemoryError(RuntimeError):
    """torch.cuda.OutOfMemoryError: what a device allocation the daemon refuses raises."""


_C.set_cuda_oom_error(OutOfMemoryError)
