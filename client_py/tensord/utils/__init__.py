"""tensord.utils, as torch.utils: hooks (RemovableHandle), data (datasets, samplers,
DataLoader) and checkpoint (activation checkpointing)."""
from . import hooks  # noqa: F401
from . import data  # noqa: F401
from . import checkpoint  # noqa: F401
