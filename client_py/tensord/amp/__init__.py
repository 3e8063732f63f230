"""tensord.amp (torch.amp): autocast, GradScaler, and the custom_fwd/custom_bwd
decorators for autograd.Function methods."""
from .autocast_mode import autocast, custom_bwd, custom_fwd  # noqa: F401
from .grad_scaler import GradScaler  # noqa: F401

__all__ = ["autocast", "custom_bwd", "custom_fwd", "GradScaler"]
