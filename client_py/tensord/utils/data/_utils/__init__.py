"""The DataLoader's helpers, as torch.utils.data._utils: collation, dataset fetchers,
worker information."""
from . import collate, fetch, worker  # noqa: F401
