"""torch's top-level dropouts, in ATen's form (input, p, train): dropout, alpha_dropout,
feature_dropout, feature_alpha_dropout and their in-place forms, native_dropout (the output
and its bool keep mask).  The masks and scaling are nn.functional's; these add torch's
positional arguments and RuntimeError messages."""
from . import _records as F
from .nn import functional as NF

__all__ = []

_check = F._check_tensor
_export = F.exporter(globals(), __all__)


def _p(p):
    if p < 0.0 or p > 1.0:
        raise RuntimeError("dropout probability has to be between 0 and 1, but got %s" % p)


def _feature(input):
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return [input.shape[0], input.shape[1]] + [1] * (input.ndim - 2)


def _make(name, feature, alpha, inplace):
    """One of the eight: feature zeroes whole (N, C) channels, alpha keeps SELU's statistics."""
    def fn(input, p, train):
        _check(input, name)
        _p(p)
        shape = _feature(input) if feature else input.shape
        if alpha:
            return NF._alpha_dropout(input, p, train, inplace, shape)
        return NF._dropout_shaped(input, p, train, inplace, shape)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = "torch.%s(input, p, train)" % name
    return fn


for _name, _feat, _alpha in (("dropout", False, False), ("feature_dropout", True, False),
                             ("alpha_dropout", False, True), ("feature_alpha_dropout", True, True)):
    _export(_name, _make(_name, _feat, _alpha, False))
    _export(_name + "_", _make(_name + "_", _feat, _alpha, True))


def native_dropout(input, p, train):
    """(output, mask): mask keeps each element with probability 1 - p (bool), output is
    input * mask / (1 - p); train False (None counts as True): a copy and an all-True mask."""
    _check(input, "native_dropout")
    from . import _creation
    if train is None or train:
        if p < 0.0 or p > 1.0:
            raise RuntimeError("bernoulli_ expects p to be in [0, 1], but got p=%s" % (1 - p))
        mask = F.cast(NF._keep_mask(input, p, input.shape), _creation.tensor(True).dtype)
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
        return F.mul(F.mul(input, mask), scale), mask
    return F.clone(input), _creation.ones_like(input, dtype=_creation.tensor(True).dtype)


_export("native_dropout", native_dropout)
