"""torch.cuda.amp.autocast (float16 by default) and the custom_fwd/custom_bwd decorators
for autograd.Function methods."""
import functools

from ...amp import autocast_mode as _am
from ..._dtype import float16


class autocast(_am.autocast):
    def __init__(self, enabled=True, dtype=float16, cache_enabled=True):
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


def custom_fwd(fwd=None, *, cast_inputs=None):
    """Runs a Function's forward with autocast as the caller had it, or (cast_inputs=dtype)
    with autocast off and its floating GPU tensors cast to dtype; backward (custom_bwd)
    then runs with the forward's autocast state."""
    if fwd is None:
        return functools.partial(custom_fwd, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._fwd_used_autocast = _am.is_autocast_enabled()
        if cast_inputs is None:
            return fwd(*args, **kwargs)
        if not args[0]._fwd_used_autocast:
            return fwd(*args, **kwargs)

        def cast(v):
            from ..._tensor import Tensor
            if isinstance(v, Tensor) and v.is_floating_point() and v.device.type == "cuda":
                return v.to(cast_inputs)
            return v
        with autocast(enabled=False):
            return fwd(*[cast(a) for a in args], **{k: cast(v) for k, v in kwargs.items()})
    return decorate_fwd


def custom_bwd(bwd):
    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        with autocast(enabled=getattr(args[0], "_fwd_used_autocast", False)):
            return bwd(*args, **kwargs)
    return decorate_bwd
