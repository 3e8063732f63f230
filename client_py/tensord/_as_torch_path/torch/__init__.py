# `torch` in a process started by one that ran `python -m tensord` (its PYTHONPATH starts
# with this directory): tensord under PyTorch's name (tensord/_as_torch.py).
import sys

from tensord import _as_torch

_as_torch.install()
sys.modules[__name__] = sys.modules["tensord"]
