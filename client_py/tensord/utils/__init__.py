"""tensord.utils, as torch.utils: hooks (RemovableHandle) and data (datasets, samplers,
DataLoader)."""
from . import hooks  # noqa: F401
from . import data  # noqa: F401
