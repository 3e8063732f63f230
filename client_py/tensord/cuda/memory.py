"""torch.cuda memory functions over the daemon's caching allocator (daemon/device_alloc.c).

Allocated bytes are this process's (its session's tensors on the device), as in torch;
reserved bytes are the device's, since the daemon's cache serves every process on the
GPU ("device_allocated_bytes.*" in memory_stats counts everyone's tensors; tensordctl
shows each session's share).  Without a GPU they answer as torch does before CUDA
initializes: zeros.
"""
import struct

from .. import _C
from .._size import cuda_devices, cuda_ordinal

_DQ_MEMORY, _DC_EMPTY_CACHE, _DC_RESET_PEAK, _DC_SET_LIMIT = 2, 0, 1, 3
_FIELDS = ("device_allocated_bytes.current", "reserved_bytes.all.current", "device_allocated_bytes.peak",
           "reserved_bytes.all.peak", "allocation.all.allocated", "allocation.all.freed", "num_cache_hits",
           "num_ooms", "free_bytes", "total_bytes")


def _available():
    try:
        return cuda_devices()[0] > 0
    except (RuntimeError, ConnectionError):
        return False




def memory_stats(device=None):
    """A dict of the allocator's counters (torch's key names where they exist), plus
    "fragmentation": 1 - largest free block / free reserved bytes."""
    if not _available():
        return {}
    raw = _C.device_query(1 + cuda_ordinal(device), _DQ_MEMORY)
    words = struct.unpack_from("<10q", raw)
    stats = dict(zip(_FIELDS, words))
    stats["allocation.all.current"] = words[4] - words[5]
    stats["fragmentation"] = struct.unpack_from("<d", raw, 80)[0]
    mine, peak, limit = struct.unpack_from("<3q", raw, 88)
    stats["allocated_bytes.all.current"], stats["allocated_bytes.all.peak"] = mine, peak
    stats["limit"] = limit
    return stats


def _stat(key, device):
    return memory_stats(device).get(key, 0)


def memory_allocated(device=None):
    return _stat("allocated_bytes.all.current", device)


def max_memory_allocated(device=None):
    return _stat("allocated_bytes.all.peak", device)


def memory_reserved(device=None):
    return _stat("reserved_bytes.all.current", device)


def max_memory_reserved(device=None):
    return _stat("reserved_bytes.all.peak", device)


memory_cached, max_memory_cached = memory_reserved, max_memory_reserved


def mem_get_info(device=None):
    """(free, total) bytes of the device, as the driver reports them."""
    s = memory_stats(device)
    if not s:
        cuda_ordinal(device)  # raises like torch
    return s["free_bytes"], s["total_bytes"]


def empty_cache():
    """Gives the device memory cached by the daemon's allocator back to the driver."""
    for i in range(cuda_devices()[0] if _available() else 0):
        _C.device_ctrl(1 + i, _DC_EMPTY_CACHE)


def reset_peak_memory_stats(device=None):
    _C.device_ctrl(1 + cuda_ordinal(device), _DC_RESET_PEAK)


reset_max_memory_allocated = reset_max_memory_cached = reset_accumulated_memory_stats = reset_peak_memory_stats


def set_per_process_memory_fraction(fraction, device=None):
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if fraction < 0 or fraction > 1:
        raise ValueError("Invalid fraction value: %s. Allowed range: 0~1" % fraction)
    i = cuda_ordinal(device)
    total = memory_stats(i)["total_bytes"]
    _C.device_ctrl(1 + i, _DC_SET_LIMIT, max(int(fraction * total), 1))  # 0 is "no limit" to the daemon


def memory_summary(device=None, abbreviated=False):
    """A table of the allocator's counters, like torch's."""
    s = memory_stats(device)
    if not s:
        return "CUDA is not available on this tensord daemon."
    i = cuda_ordinal(device)

    def mib(n):
        return "%10.2f MiB" % (n / 2 ** 20)

    rows = [("Allocated memory", mib(s["allocated_bytes.all.current"]), mib(s["allocated_bytes.all.peak"])),
            ("Reserved memory", mib(s["reserved_bytes.all.current"]), mib(s["reserved_bytes.all.peak"])),
            ("Allocations", "%14d" % s["allocation.all.current"], "%14d" % s["allocation.all.allocated"]),
            ("Cache hits", "%14d" % s["num_cache_hits"], ""),
            ("Out-of-memory refusals", "%14d" % s["num_ooms"], ""),
            ("Fragmentation", "%14.4f" % s["fragmentation"], "")]
    lines = ["|" + "=" * 75 + "|",
             "|  tensord CUDA memory summary, device ID %-4d%30s|" % (i, ""),
             "|" + "-" * 75 + "|",
             "|  %-30s | %-18s | %-18s |" % ("Metric", "Current", "Peak / total"),
             "|" + "-" * 75 + "|"]
    lines += ["|  %-30s | %-18s | %-18s |" % r for r in rows]
    lines.append("|" + "=" * 75 + "|")
    return "\n".join(lines) + "\n"
