"""tensord.utils, as torch.utils: hooks (RemovableHandle)."""
from . import hooks  # noqa: F401
