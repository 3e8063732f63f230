"""Process-level knobs and helpers of the torch namespace: get/set_num_threads,
get/set_num_interop_threads, set_flush_denormal, typename."""
import builtins
import sys as _sys


from . import _C
from . import _records as F
from ._C import ops
from ._dtype import DTYPES

TB = _C.TensorBase
_F32, _F64, _F16, _BF16, _I64, _I32, _I16, _I8, _U8, _BOOL = (DTYPES[i] for i in builtins.range(10))
_INTS = (_U8, _I8, _I16, _I32, _I64)
_T = _sys.modules[__name__.rpartition(".")[0]]  # the package: its functions are looked up at call time

__all__ = []

_rs = F.number_minus
_check = F._check_tensor
_export = F.exporter(globals(), __all__)

_num_threads = [0]


def get_num_threads():
    """The session's intra-op thread limit last set by set_num_threads, else the host's CPU count
    (the daemon's default pool size)."""
    import os
    return _num_threads[0] or os.cpu_count() or 1


def set_num_threads(int):  # noqa: A002  (torch's argument name)
    """The session's intra-op thread limit: the ops recorded after it run on at most that
    many of the daemon's threads, BLAS included (a SET_NUM_THREADS record in the stream)."""
    n = F.index_int(int)
    if n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    from . import _daemon
    _daemon.ensure()
    ops.set_num_threads(builtins.min(n, 4096))
    _num_threads[0] = n


_export("get_num_threads", get_num_threads)
_export("set_num_threads", set_num_threads)
# ---------------------------------------------------------------- process knobs

def set_flush_denormal(mode):
    """torch answers whether this CPU can flush denormals (x86 with SSE3: True) and sets the
    mode for its own threads.  tensord computes in the daemon, whose floating-point mode
    this does not change; it answers as torch does on x86-64."""
    if not isinstance(mode, builtins.bool):
        raise TypeError("set_flush_denormal(): argument 'mode' (position 1) must be bool, not %s"
                        % type(mode).__name__)
    return True


_interop = {"n": 1}


def get_num_interop_threads():
    """What was set (1 by default): the daemon sizes its own thread pool."""
    return _interop["n"]


def set_num_interop_threads(num):
    """Accepted and reported back by get_num_interop_threads; the daemon sizes its own pool."""
    n = F.index_int(num)
    if n <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _interop["n"] = n


def typename(o):
    """torch.typename: o.type() for tensors ('torch.FloatTensor'), else module.qualname as torch spells it."""
    if isinstance(o, TB):
        return o.type()
    module = ""
    if getattr(o, "__module__", None) not in (None, "builtins", "__builtin__"):
        module = o.__module__ + "."
    if hasattr(o, "__qualname__"):
        return module + o.__qualname__
    if hasattr(o, "__name__"):
        return module + o.__name__
    return module + o.__class__.__name__


for _n in ("set_flush_denormal", "get_num_interop_threads", "set_num_interop_threads", "typename"):
    _export(_n, globals()[_n])
