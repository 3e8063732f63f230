"""tensord.utils.tensorboard (torch.utils.tensorboard): SummaryWriter, writing TensorBoard
event files without the tensorboard package."""
from .writer import SummaryWriter  # noqa: F401

__all__ = ["SummaryWriter"]
