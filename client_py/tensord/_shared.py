"""Which tensors this process counts as shared (Tensor.is_shared): those marked by
share_memory_() or pickled for another process, those opened from a token, and those
inherited through fork (their storage key carries the top bit, client_py/ext/share.c).
Also the tokens made ahead of pickling (preshare), which the tensor reductions of
tensord.multiprocessing take before asking the daemon for one."""
from . import _C, _daemon

ONE_SHOT, PINNED = 1, 2

_shared_keys = set()

# tokens made ahead of pickling: id(tensor) -> (tensor, token, description)
_preshared = {}


def mark_shared(t):
    _shared_keys.add(t._storage_key)


def is_shared(t):
    k = t._storage_key
    return k in _shared_keys or k >> 63 == 1


def preshare(obj):
    """Makes the tokens of every tensor in obj (nested lists, tuples, dicts) in one round
    trip, for the pickling that follows (a DataLoader batch: one sync, not one per tensor)."""
    found = []

    def walk(o):
        if isinstance(o, _C.TensorBase):
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


def token_of(tensor):
    """A one-shot pinned token for tensor (the one preshare made, else a new one)."""
    entry = _preshared.pop(id(tensor), None)
    if entry is not None and entry[0] is tensor:
        return entry[1], entry[2]
    _daemon.export_address()
    token, desc = _C.share(tensor, ONE_SHOT | PINNED)
    mark_shared(tensor)
    return token, desc
