"""tensord.cpu.amp (torch.cpu.amp): autocast for the CPU (bfloat16 by default)."""
from ...amp import autocast_mode as _am
from ..._dtype import bfloat16

__all__ = ["autocast"]


class autocast(_am.autocast):
    def __init__(self, enabled=True, dtype=bfloat16, cache_enabled=True):
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)
