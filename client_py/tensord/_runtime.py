"""Process-level knobs and helpers of the torch namespace: get/set_num_threads,
get/set_num_interop_threads, set_flush_denormal, typename, the determinism switches,
float32 matmul precision (TF32), set_default_tensor_type, warn_always, anomaly mode and
the has_* build facts."""
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


def init_num_threads():
    """torch sets up OpenMP's thread pool for the calling thread; tensord's threads are the
    daemon's, sized by set_num_threads: nothing to do."""
    return None


_export("get_num_threads", get_num_threads)
_export("set_num_threads", set_num_threads)
_export("init_num_threads", init_num_threads)
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


_determinism = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Recorded for are_deterministic_algorithms_enabled(): tensord's CPU kernels are
    deterministic already (fixed reduction orders per thread count), so nothing changes."""
    _determinism["mode"], _determinism["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled():
    return _determinism["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    return _determinism["warn_only"]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode):
    if isinstance(debug_mode, builtins.str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               + debug_mode)
        debug_mode = _DEBUG_MODES[debug_mode]
    elif not isinstance(debug_mode, builtins.int):
        raise TypeError("debug_mode must be str or int, but got %s" % type(debug_mode))
    if debug_mode not in (0, 1, 2):
        raise RuntimeError("invalid value of debug_mode, expected 0, 1, or 2, but got %d" % debug_mode)
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    if not _determinism["mode"]:
        return 0
    return 1 if _determinism["warn_only"] else 2


_matmul_precision = ["high"]   # what "not highest" reads as


def set_float32_matmul_precision(precision):
    """"highest": float32 matmuls in full float32; "high"/"medium": the GPU may use TF32
    (one switch with torch.backends.cuda.matmul.allow_tf32, as torch's)."""
    from .backends._options import set_tf32
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError("Invalid float32 matmul precision: %s" % (precision,))
    if precision != "highest":
        _matmul_precision[0] = precision
    set_tf32("matmul_tf32", precision != "highest")


def get_float32_matmul_precision():
    from .backends._options import tf32_state
    return _matmul_precision[0] if tf32_state("matmul_tf32") else "highest"


_TENSOR_TYPES = {"torch.FloatTensor": "float32", "torch.DoubleTensor": "float64", "torch.HalfTensor": "float16",
                 "torch.BFloat16Tensor": "bfloat16"}


def set_default_tensor_type(t):
    """The default floating dtype from a tensor type (torch.DoubleTensor or its name);
    tensord keeps tensors on the CPU by default, so CUDA types are refused."""
    name = t if isinstance(t, builtins.str) else "torch." + getattr(t, "__name__", builtins.str(t))
    if name not in _TENSOR_TYPES:
        raise TypeError("invalid type: '%s' (tensord sets the default floating point tensor type only)" % name)
    _T.set_default_dtype(getattr(_T, _TENSOR_TYPES[name]))


_warn_always = [False]


def set_warn_always(b):
    """Warnings torch gives once per process are given every time (recorded; tensord's own
    once-only warnings go through the warnings module's registry)."""
    _warn_always[0] = bool(b)


def is_warn_always_enabled():
    return _warn_always[0]


def is_anomaly_enabled():
    from .autograd import anomaly_mode
    return anomaly_mode.is_anomaly_enabled()


def set_anomaly_enabled(enabled, check_nan=True):
    """Anomaly mode on or off (tensord's checks are the NaN checks: check_nan=False turns
    them off with it)."""
    _C.set_anomaly_enabled(bool(enabled) and bool(check_nan))


def is_anomaly_check_nan_enabled():
    from .autograd import anomaly_mode
    return anomaly_mode.is_anomaly_enabled()


def get_device(t):
    """The tensor's device index: -1 for the CPU, as torch."""
    return t.get_device()


def is_distributed(input):
    """False: no tensord tensor is distributed (Tensor.is_distributed)."""
    _check(input, "is_distributed")
    return input.is_distributed()


def compiled_with_cxx11_abi():
    """torch: whether it was built with _GLIBCXX_USE_CXX11_ABI=1, which extensions built
    against it must match.  tensord links no C++ into clients; True, as Debian's torch
    (GCC's default ABI), so scripts that branch on it take the common path."""
    return True


# what this build has, as torch's has_* flags (LAPACK through OpenBLAS, FFTs through FFTW)
has_cuda = has_cudnn = has_mkl = has_mkldnn = has_mps = has_openmp = False
has_lapack = has_spectral = True

__all__ += ["use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
            "is_deterministic_algorithms_warn_only_enabled", "set_deterministic_debug_mode",
            "get_deterministic_debug_mode", "set_float32_matmul_precision", "get_float32_matmul_precision",
            "set_default_tensor_type", "set_warn_always", "is_warn_always_enabled", "is_anomaly_enabled",
            "set_anomaly_enabled", "is_anomaly_check_nan_enabled", "get_device", "has_cuda", "has_cudnn", "has_mkl",
            "has_mkldnn", "has_mps", "has_openmp", "has_lapack", "has_spectral", "is_distributed",
            "compiled_with_cxx11_abi"]
