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

__all__ = ["init_reductions", "reduce_tensor", "rebuild_tensor"]

ONE_SHOT, PINNED = 1, 2

# tokens made ahead of pickling (preshare): id(tensor) -> (tensor, token, description)
_preshared = {}


def preshare(obj):
    """Makes the tokens of every tensor in obj (nested lists, tuples, dicts) in one round
    trip, for the pickling that follows (a DataLoader batch: one sync, not one per tensor)."""
    from .._tensor import Tensor
    found = []

    def walk(o):
        if isinstance(o, Tensor):
            if not (o.requires_grad and not o.is_leaf) and id(o) not in _preshared:
                found.append(o)
        elif isinstance(o, (list, tuple)):
            for x in o:
                walk(x)
        elif isinstance(o, dict):
            for x in o.values():
                walk(x)

    walk(obj)
    if len(found) < 2:
        return
    _daemon.export_address()
    for t, (token, desc) in zip(found, _C.share_many(found, ONE_SHOT | PINNED)):
        mark_shared(t)
        _preshared[id(t)] = (t, token, desc)


def _token_of(tensor):
    entry = _preshared.pop(id(tensor), None)
    if entry is not None and entry[0] is tensor:
        return entry[1], entry[2]
    _daemon.export_address()
    token, desc = _C.share(tensor, ONE_SHOT | PINNED)
    mark_shared(tensor)
    return token, desc


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


def init_reductions():
    from .._tensor import Tensor
    from ..nn.parameter import Parameter
    ForkingPickler.register(Tensor, reduce_tensor)
    ForkingPickler.register(Parameter, reduce_parameter)
