"""tensord.cpu (torch.cpu): the daemon's CPU device and its caching allocator.

CPU tensors live in the daemon's memfd arenas under a caching allocator
(docs/design/memory.md): freed blocks stay cached for reuse and go back to the system
after --cache-idle-seconds (default 10 s), under memory pressure, or at empty_cache().
The memory functions answer like their torch.cuda namesakes: memory_allocated and
max_memory_allocated for this process's session, memory_reserved and
max_memory_reserved for the daemon (its arenas are shared by every session).
"""
from .. import _C, _daemon

__all__ = ["current_device", "device_count", "empty_cache", "is_available", "max_memory_allocated",
           "max_memory_reserved", "memory_allocated", "memory_reserved", "memory_stats", "synchronize"]


def is_available():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def synchronize(device=None):
    """Waits for every op recorded so far."""
    _daemon.ensure()
    _C.sync()


def empty_cache():
    """Gives every free cached block of the daemon's CPU allocator back to the system now,
    after the ops (and tensor releases) recorded before it; live tensors are untouched."""
    _daemon.ensure()
    _C.ops.empty_cache()
    _C.sync()


def _stats():
    synchronize()  # releases recorded so far are counted
    return _C.stats(_daemon.address())


def _session_row(s):
    me = _C.session()
    for row in s["session_memory"]:
        if row["session"] == me:
            return row
    return {"bytes_in_use": 0, "bytes_peak": 0, "limit": 0}


def memory_stats(device=None):
    """The allocator's counters, with torch.cuda.memory_stats' key names where one fits:
    allocated_bytes.all.{current,peak} for this session, reserved_bytes.all.{current,peak},
    inactive_split_bytes.all.current (free bytes still backed), num_alloc_retries,
    num_ooms, and the daemon's arenas, fragmentation and session quota."""
    s = _stats()
    me = _session_row(s)
    return {
        "allocated_bytes.all.current": me["bytes_in_use"],
        "allocated_bytes.all.peak": me["bytes_peak"],
        "reserved_bytes.all.current": s["bytes_reserved"],
        "reserved_bytes.all.peak": s["bytes_reserved_peak"],
        "inactive_split_bytes.all.current": s["bytes_cached"],
        "num_ooms": s["alloc_ooms"],
        "num_alloc_retries": 0,
        "daemon.allocated_bytes.current": s["bytes_in_use"],
        "daemon.allocated_bytes.peak": s["bytes_peak"],
        "daemon.free_bytes": s["bytes_free"],
        "daemon.largest_free_block": s["bytes_largest_free"],
        "daemon.arenas": s["arenas"],
        "daemon.fragmentation": s["fragmentation"],
        "session.limit": me["limit"],
    }


def memory_allocated(device=None):
    """Bytes of live tensor storage this process's session holds."""
    return _session_row(_stats())["bytes_in_use"]


def max_memory_allocated(device=None):
    return _session_row(_stats())["bytes_peak"]


def memory_reserved(device=None):
    """Bytes the daemon's CPU allocator holds from the system (all sessions)."""
    return _stats()["bytes_reserved"]


def max_memory_reserved(device=None):
    return _stats()["bytes_reserved_peak"]
