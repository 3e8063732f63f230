"""tensord.nn: a minimal start (functional.pad and dropout); modules come with autograd."""
from . import functional  # noqa: F401
