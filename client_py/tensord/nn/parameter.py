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


class Buffer(Tensor):
    r"""torch 2.5's nn.Buffer: assigned to a Module attribute, it is registered as a buffer
    (persistent=False: left out of the state_dict).  Shares data's storage."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from .._creation import empty
            data = empty(0)
        t = _C._make_subclass(cls, data.detach(), data.requires_grad)
        t.persistent = persistent
        return t


class UninitializedTensorMixin:
    """A parameter or buffer of a lazy module before its first forward: an empty tensor
    until materialize() gives it its shape (new storage, as the Tensor.data setter) and
    turns it into its cls_to_become.  Unlike torch's, its .shape reads (0,) rather than
    raising: tensord's own code reads shapes of every tensor it is given."""

    __slots__ = ()   # so that a buffer can become a plain Tensor (same object layout)
    cls_to_become = Tensor

    def materialize(self, shape, device=None, dtype=None):
        from .._creation import empty
        self.data = empty(shape, device=self.device if device is None else device,
                          dtype=self.dtype if dtype is None else dtype)
        self.__class__ = self.cls_to_become

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call `forward` to initialize "
                           "the parameters before calling `module.share_memory()`.")

    def __repr__(self):
        return "<{}>".format(self.__class__.__name__)

    __str__ = __repr__

    def __reduce_ex__(self, proto):
        return (self.__class__, (self.requires_grad,))


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter of a lazy module before its first forward (see LazyLinear)."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        from .._creation import empty
        return _C._make_subclass(cls, empty(0, device=device, dtype=dtype), requires_grad)

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, self.device, self.dtype)
        return memo[id(self)]


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer of a lazy module before its first forward (LazyBatchNorm's running stats)."""

    __slots__ = ()

    def __new__(cls, requires_grad=False, device=None, dtype=None):
        from .._creation import empty
        return _C._make_subclass(cls, empty(0, device=device, dtype=dtype), requires_grad)


def is_lazy(param):
    return isinstance(param, UninitializedTensorMixin)
