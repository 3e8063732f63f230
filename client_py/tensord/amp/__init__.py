"""tensord.amp (torch.amp): autocast."""
from .autocast_mode import autocast  # noqa: F401

__all__ = ["autocast"]
