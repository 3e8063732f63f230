"""Which tensors this process counts as shared (Tensor.is_shared): those marked by
share_memory_() or pickled for another process, those opened from a token, and those
inherited through fork (their storage key carries the top bit, client_py/ext/share.c).
Also the tokens the tensor reductions of tensord.multiprocessing pickle: reserved ahead
(SHARE_RESERVE) and filled without waiting (SHARE_INTO), made for a whole DataLoader
batch at once by preshare."""
import atexit
import multiprocessing.util
import os
import signal
import threading

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


# tokens this process's session reserved (SHARE_RESERVE) and has not filled yet; a forked
# child starts without them (they are its parent's).  Reserved in growing rounds (16, 32,
# ... 1024 tokens per round trip), so a short-lived producer reserves little.
_reserved = []
_reserve_next = [16]
_atexit_set = [False]
_RESERVE_MAX = 1024


def _forget_reserved():
    _reserved.clear()
    _reserve_next[0] = 16
    _atexit_set[0] = False


os.register_at_fork(after_in_child=_forget_reserved)


class _ChildExit:
    """multiprocessing's children end in os._exit, without atexit.  Their finalizers run
    in priority order from a snapshot taken at exit, so ours is registered as the child
    starts (multiprocessing's after-fork hooks run after its registry is cleared), not
    when the first token is reserved: that can happen during the exit itself, in a
    queue's feeder thread while it is being joined (priority -5), too late for the
    snapshot.  Priority -10: after the feeders have put (and so filled) everything."""

    @staticmethod
    def register(_self):
        multiprocessing.util.Finalize(None, _at_process_exit, exitpriority=-10)
        # Pool.terminate() ends its workers with SIGTERM, which runs no finalizer: a
        # worker's last results may still be records in the daemon's queue when it is
        # told to go, and the session's end would drop them (the parent's open then
        # fails).  So a child that has no SIGTERM handler of its own waits for its records
        # first (bounded: SIGALRM after 10 s), then dies of the SIGTERM as it would have.
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(10)
    try:
        if _C.connected():
            _C.sync()
    except Exception:
        pass
    os.kill(os.getpid(), signal.SIGTERM)


_CHILD_EXIT = _ChildExit()
multiprocessing.util.register_after_fork(_CHILD_EXIT, _ChildExit.register)


def _reserved_tokens(n):
    if len(_reserved) < n:
        _daemon.export_address()
        if not _atexit_set[0]:
            # registered after the client's own exit hook (set at import), so this one runs
            # first (atexit runs hooks in reverse order); multiprocessing's children have
            # theirs from the start (_ChildExit)
            atexit.register(drop_reserved)
            _atexit_set[0] = True
        k = max(n - len(_reserved), _reserve_next[0])
        _reserve_next[0] = min(2 * _reserve_next[0], _RESERVE_MAX)
        _reserved.extend(_C.share_reserve(k, ONE_SHOT | PINNED))
    taken = _reserved[-n:]
    del _reserved[-n:]
    return taken


def _at_process_exit():
    """A multiprocessing child's end: the tokens it filled must exist before its session
    ends (a put is not waited for: docs/design/sharing.md), so its records run first."""
    if _C.connected():
        try:
            _C.sync()
        except Exception:
            pass
    drop_reserved()


def drop_reserved():
    """Gives back the reserved tokens this process did not use (recorded, not waited
    for): a reserved token outlives a SIGKILLed owner for a while, so that an opener
    learns what happened; unused ones need not."""
    if _C.connected():
        for tok in _reserved:
            try:
                _C.revoke(tok)
            except Exception:
                break
    _forget_reserved()


def preshare(obj):
    """Makes the tokens of every tensor in obj (nested lists, tuples, dicts) for the
    pickling that follows (a DataLoader batch), without waiting for the daemon: each
    fills a token reserved ahead (one round trip per many tokens), so the
    batch can travel before its records have run; the process that opens it waits in
    the daemon until they have (docs/design/sharing.md)."""
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
    if not found:
        return
    tokens = _reserved_tokens(len(found))
    for t, token, desc in zip(found, tokens, _C.share_into(found, tokens)):
        mark_shared(t)
        _preshared[id(t)] = (t, token, desc)


def token_of(tensor):
    """A one-shot pinned token for tensor (the one preshare made, else a reserved one
    filled now, without waiting for the daemon)."""
    entry = _preshared.pop(id(tensor), None)
    if entry is not None and entry[0] is tensor:
        return entry[1], entry[2]
    token = _reserved_tokens(1)
    desc = _C.share_into([tensor], token)[0]
    mark_shared(tensor)
    return token[0], desc
