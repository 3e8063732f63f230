"""Pickling tensors between processes, as torch.multiprocessing.reductions: a tensor
pickled by multiprocessing's ForkingPickler (Queue, Pipe, Pool, Process arguments under
spawn/forkserver) travels as a capability token of the daemon, never as its bytes.

Each pickle asks the daemon for a one-shot, pinned token (one round trip, whatever the
size): the receiving process opens it in its own session and gets a tensor on the same
storage (zero-copy; writes are seen by both, as with torch's shared memory).  A token is
consumed by its first unpickling, like the file descriptor torch passes; one that is
never unpickled dies with the sending process's session, or --share-linger seconds later
(default 30) so that a process may put a tensor and exit before the reader takes it.
See docs/design/sharing.md."""
from multiprocessing.reduction import ForkingPickler

from .. import _C, _daemon
from .._shared import mark_shared
from ..storage import TypedStorage, UntypedStorage

__all__ = ["init_reductions", "reduce_tensor", "rebuild_tensor", "reduce_storage", "rebuild_storage"]

from .._shared import ONE_SHOT, PINNED, preshare  # noqa: F401 (part of this module's API)
from .._shared import token_of as _token_of


def rebuild_tensor(token, desc, requires_grad):
    _daemon.ensure()
    t = _C.open(token, desc)
    mark_shared(t)
    if requires_grad:
        t.requires_grad_(True)
    return t


def reduce_tensor(tensor):
    if tensor.requires_grad and not tensor.is_leaf:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, since "
                           "autograd does not support crossing process boundaries.  If you just want to "
                           "transfer the data, call detach() on the tensor before serializing (e.g., putting "
                           "it on the queue).")
    token, desc = _token_of(tensor)
    return (rebuild_tensor, (token, desc, tensor.requires_grad))


def rebuild_parameter(token, desc, requires_grad):
    from ..nn.parameter import Parameter
    return Parameter(rebuild_tensor(token, desc, False), requires_grad)


def reduce_parameter(p):
    token, desc = _token_of(p)
    return (rebuild_parameter, (token, desc, p.requires_grad))


def rebuild_storage(token, desc, untyped):
    s = TypedStorage._over(rebuild_tensor(token, desc, False))
    return s.untyped() if untyped else s


def reduce_storage(storage):
    """A storage travels as a token of the tensor over it (its elements; a byte window
    that splits elements, as a copy of its bytes)."""
    token, desc = _token_of(storage._carrier())
    return (rebuild_storage, (token, desc, isinstance(storage, UntypedStorage)))


def init_reductions():
    from .._tensor import Tensor
    from ..nn.parameter import Parameter
    ForkingPickler.register(Tensor, reduce_tensor)
    ForkingPickler.register(Parameter, reduce_parameter)
    ForkingPickler.register(TypedStorage, reduce_storage)
    ForkingPickler.register(UntypedStorage, reduce_storage)
