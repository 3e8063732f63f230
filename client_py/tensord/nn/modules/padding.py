"""The padding layers, as torch 1.13's: constant (ConstantPad, ZeroPad2d), reflection and
replication over 1-3 trailing dims, all through nn.functional.pad."""
from .. import functional as F
from .module import Module

__all__ = ["ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad2d", "ReflectionPad1d", "ReflectionPad2d",
           "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d"]


def _padding(n, padding):
    """An int pads every side; else a tuple of 2n numbers (left, right, top, bottom, ...)."""
    if isinstance(padding, int):
        return (padding,) * (2 * n)
    return tuple(padding)


class _PadNd(Module):
    __constants__ = ["padding", "mode"]
    _n = 1
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _padding(self._n, padding)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return "{}".format(self.padding)


class _ConstantPadNd(_PadNd):
    __constants__ = ["padding", "value"]

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return "padding={}, value={}".format(self.padding, self.value)


class ConstantPad1d(_ConstantPadNd):
    r"""Pads the last dim with a constant."""
    _n = 1


class ConstantPad2d(_ConstantPadNd):
    r"""Pads the last two dims with a constant."""
    _n = 2


class ConstantPad3d(_ConstantPadNd):
    r"""Pads the last three dims with a constant."""
    _n = 3


class ZeroPad2d(ConstantPad2d):
    r"""Pads the last two dims with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return "{}".format(self.padding)


class ReflectionPad1d(_PadNd):
    r"""Pads the last dim with its reflection."""
    _n, mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    r"""Pads the last two dims with their reflection."""
    _n, mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    r"""Pads the last three dims with their reflection."""
    _n, mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    r"""Pads the last dim by repeating its edge."""
    _n, mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    r"""Pads the last two dims by repeating their edges."""
    _n, mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    r"""Pads the last three dims by repeating their edges."""
    _n, mode = 3, "replicate"
