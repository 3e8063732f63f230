"""torch.autocast: a context manager (and decorator) under which ops run in mixed
precision.  The policy lives in libtensord (client_c/autocast.c: which op rows compute in
the lower dtype, which in float32, which in their widest input dtype), per thread, as
torch's; this module holds torch's argument rules and the per-kind state switches that
the torch namespace exposes (is_autocast_enabled, get_autocast_cpu_dtype, ...)."""
import functools
import warnings

from .. import _C
from .._dtype import DTYPES, bfloat16, float16

__all__ = ["autocast", "is_autocast_enabled", "is_autocast_cpu_enabled", "set_autocast_enabled",
           "set_autocast_cpu_enabled", "get_autocast_gpu_dtype", "get_autocast_cpu_dtype", "set_autocast_gpu_dtype",
           "set_autocast_cpu_dtype", "is_autocast_cache_enabled", "set_autocast_cache_enabled",
           "clear_autocast_cache", "autocast_increment_nesting", "autocast_decrement_nesting"]

_CPU, _GPU = 0, 1


def _get(kind):
    on, index = _C.autocast_get(kind)
    return on, DTYPES[index]


def _set(kind, enabled=None, dtype=None):
    on, d = _get(kind)
    _C.autocast_set(kind, on if enabled is None else bool(enabled), (d if dtype is None else dtype)._index)


def is_autocast_enabled():
    return _get(_GPU)[0]


def is_autocast_cpu_enabled():
    return _get(_CPU)[0]


def set_autocast_enabled(enabled):
    _set(_GPU, enabled=enabled)


def set_autocast_cpu_enabled(enabled):
    _set(_CPU, enabled=enabled)


def get_autocast_gpu_dtype():
    return _get(_GPU)[1]


def get_autocast_cpu_dtype():
    return _get(_CPU)[1]


def set_autocast_gpu_dtype(dtype):
    _set(_GPU, dtype=dtype)


def set_autocast_cpu_dtype(dtype):
    _set(_CPU, dtype=dtype)


_cache = {"enabled": True, "nesting": 0}


def is_autocast_cache_enabled():
    return _cache["enabled"]


def set_autocast_cache_enabled(enabled):
    """Recorded only: libtensord casts a weight again at each use (no cast cache)."""
    _cache["enabled"] = bool(enabled)


def clear_autocast_cache():
    """Nothing to clear (no cast cache)."""


def autocast_increment_nesting():
    _cache["nesting"] += 1
    return _cache["nesting"]


def autocast_decrement_nesting():
    _cache["nesting"] -= 1
    return _cache["nesting"]


class autocast:
    """autocast(device_type, dtype=None, enabled=True, cache_enabled=None): ops on that
    device type run in mixed precision inside the block (or the decorated function)."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if device_type not in ("cuda", "cpu"):
            raise RuntimeError("User specified autocast device_type must be 'cuda' or 'cpu'")
        self.device = device_type
        self._kind = _GPU if device_type == "cuda" else _CPU
        self.fast_dtype = get_autocast_gpu_dtype() if device_type == "cuda" else get_autocast_cpu_dtype()
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else cache_enabled
        if dtype is not None:
            self.fast_dtype = dtype
        if device_type == "cpu":
            if enabled and self.fast_dtype is not bfloat16:
                warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                              "CPU Autocast only supports dtype of torch.bfloat16 currently.")
                enabled = False
        else:
            from .. import cuda
            if enabled and not cuda.is_available():
                warnings.warn("User provided device_type of 'cuda', but CUDA is not available. Disabling")
                enabled = False
            elif enabled and self.fast_dtype is bfloat16 and not cuda.is_bf16_supported():
                raise RuntimeError("Current CUDA Device does not support bfloat16. Please switch dtype to float16.")
            elif enabled and self.fast_dtype not in (float16, bfloat16):
                raise RuntimeError("In CUDA autocast, but the target dtype is not supported. Disabling autocast.\n"
                                   "CUDA Autocast only supports dtypes of torch.float16 and torch.bfloat16 currently.")
        self._enabled = bool(enabled)

    def __enter__(self):
        if self._kind == _CPU and self.fast_dtype is not bfloat16:   # torch warned at construction, raises here
            raise RuntimeError("Currently, AutocastCPU only support Bfloat16 as the autocast_cpu_dtype")
        self.prev = _get(self._kind)
        self.prev_cache = is_autocast_cache_enabled()
        _C.autocast_set(self._kind, self._enabled, self.fast_dtype._index)
        set_autocast_cache_enabled(self._cache_enabled)
        autocast_increment_nesting()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        autocast_decrement_nesting()
        _C.autocast_set(self._kind, self.prev[0], self.prev[1]._index)
        set_autocast_cache_enabled(self.prev_cache)
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return decorate_autocast


def lower_precision_operand(t):
    """For the composite ops torch puts on the lower-precision list whole (linear's bias,
    addmm's input): t in the autocast dtype when autocast is on for t's device kind and t
    is eligible (floating, not float64), else t."""
    if t is None or not t.is_floating_point():
        return t
    on, d = _get(_CPU if t.device.type == "cpu" else _GPU)
    return t.to(d) if on and t.dtype is not d and t.dtype._name != "float64" else t


def _autocast_on(device_type):
    return is_autocast_enabled() if device_type == "cuda" else is_autocast_cpu_enabled()


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """torch 2.4's torch.amp.custom_fwd: runs a Function's forward with autocast as the
    caller had it on device_type, or (cast_inputs=dtype) with autocast off and its floating
    tensors on that device cast to dtype; backward (custom_bwd) then runs with the
    forward's autocast state."""
    if not isinstance(device_type, str):
        raise ValueError("Expected `device_type` of type `str`, got: `%s`" % type(device_type))
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._fwd_used_autocast = _autocast_on(device_type)
        if cast_inputs is None or not args[0]._fwd_used_autocast:
            return fwd(*args, **kwargs)

        def cast(v):
            if isinstance(v, _C.TensorBase) and v.is_floating_point() and v.device.type == device_type:
                return v.to(cast_inputs)
            return v
        with autocast(device_type, enabled=False):
            return fwd(*[cast(a) for a in args], **{k: cast(v) for k, v in kwargs.items()})
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type=None):
    """torch.amp.custom_bwd: backward under the autocast state its forward had."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        with autocast(device_type or "cuda", enabled=getattr(args[0], "_fwd_used_autocast", False)):
            return bwd(*args, **kwargs)
    return decorate_bwd
