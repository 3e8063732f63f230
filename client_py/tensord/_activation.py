"""torch's top-level rrelu and rrelu_ (ATen's form: a generator where nn.functional has
inplace); the other top-level activations are nn.functional's own (package __init__)."""
from . import _records as F
from .nn import _activation as NA

__all__ = []

_export = F.exporter(globals(), __all__)


def rrelu(input, lower=0.125, upper=0.3333333333333333, training=False, generator=None):
    F._check_tensor(input, "rrelu")
    return NA._rrelu(input, lower, upper, training, False, generator)


def rrelu_(input, lower=0.125, upper=0.3333333333333333, training=False, generator=None):
    F._check_tensor(input, "rrelu_")
    return NA._rrelu(input, lower, upper, training, True, generator)


_export("rrelu", rrelu)
_export("rrelu_", rrelu_)
