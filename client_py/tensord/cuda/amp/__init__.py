"""tensord.cuda.amp (torch.cuda.amp): autocast for the GPUs and GradScaler."""
from .autocast_mode import autocast, custom_bwd, custom_fwd  # noqa: F401
from .grad_scaler import GradScaler  # noqa: F401

__all__ = ["autocast", "custom_bwd", "custom_fwd", "GradScaler"]
