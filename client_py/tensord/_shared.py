"""Which tensors this process counts as shared (Tensor.is_shared): those marked by
share_memory_() or pickled for another process, those opened from a token, and those
inherited through fork (their storage key carries the top bit, client_py/ext/share.c)."""

_shared_keys = set()


def mark_shared(t):
    _shared_keys.add(t._storage_key)


def is_shared(t):
    k = t._storage_key
    return k in _shared_keys or k >> 63 == 1
