"""nn.Parameter: a Tensor subclass that Module registers as a parameter.  A Parameter
holds another reference to its data's handle (same storage) with autograd state of its
own: a leaf, requires_grad=True by default (_C._make_subclass, as torch's)."""
from collections import OrderedDict

from .. import _C
from .._tensor import Tensor


class Parameter(Tensor):
    r"""A kind of Tensor that is to be considered a module parameter.

    Parameter(data=None, requires_grad=True): data's storage is shared, not copied."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from .._creation import empty
            data = empty(0)
        return _C._make_subclass(cls, data, requires_grad)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        from .. import _records as F
        result = type(self)(F.clone(self.data), self.requires_grad)
        memo[id(self)] = result
        return result

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (self.data, self.requires_grad, OrderedDict()))


def _rebuild_parameter(data, requires_grad, backward_hooks):
    return Parameter(data, requires_grad)


def is_lazy(param):
    return False  # no UninitializedParameter in tensord
