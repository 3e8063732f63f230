"""tensord.cuda.amp (torch.cuda.amp): autocast for the GPUs and GradScaler."""
from .autocast_mode import autocast, custom_bwd, custom_fwd  # noqa: F401
from ...amp.grad_scaler import GradScaler as _GradScaler


class GradScaler(_GradScaler):
    """torch.cuda.amp.GradScaler: torch.amp.GradScaler("cuda", ...)."""

    def __init__(self, init_scale=2. ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                 enabled=True):
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)

__all__ = ["autocast", "custom_bwd", "custom_fwd", "GradScaler"]
