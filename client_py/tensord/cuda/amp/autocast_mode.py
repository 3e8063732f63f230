"""torch.cuda.amp.autocast (float16 by default) and the custom_fwd/custom_bwd decorators
for autograd.Function methods."""
from ...amp import autocast_mode as _am
from ..._dtype import float16


class autocast(_am.autocast):
    def __init__(self, enabled=True, dtype=float16, cache_enabled=True):
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


def custom_fwd(fwd=None, *, cast_inputs=None):
    """torch.cuda.amp.custom_fwd: torch.amp.custom_fwd(device_type="cuda")."""
    return _am.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd):
    return _am.custom_bwd(bwd, device_type="cuda")
