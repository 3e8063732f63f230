"""tensord.multiprocessing, as torch.multiprocessing: Python's multiprocessing with
tensors that travel between processes by reference (reductions.py).

Everything of the standard module is here (Process, Queue, SimpleQueue, Pool, Pipe,
get_context, set_start_method, ...); importing this module registers the tensor
reductions with multiprocessing's ForkingPickler.  Every start method works: a child
never uses its parent's connection; a forked child connects on its first call and opens
the tensors it inherited through its parent's fork grant; a spawn or forkserver child
connects to the parent's daemon (its address is exported as $TENSORD_ADDRESS before the
child starts: Process.start connects the parent first when it never has).  spawn() runs a function in nprocs processes as torch's does."""
import multiprocessing
import multiprocessing.process
import sys

from multiprocessing import *  # noqa: F401,F403

from .. import _daemon
from .reductions import init_reductions
from .spawn import (ProcessContext, ProcessExitedException, ProcessRaisedException, SpawnContext,
                    start_processes, spawn)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies", "spawn",
           "start_processes", "ProcessContext", "SpawnContext", "ProcessExitedException",
           "ProcessRaisedException"]
__all__ += multiprocessing.__all__

init_reductions()

# torch's strategies choose how bytes reach the other process; here only a token travels
_sharing_strategy = "file_descriptor"
_all_sharing_strategies = {"file_descriptor", "file_system"}


def set_sharing_strategy(new_strategy):
    """Accepted for torch's API (the names it knows); tensord always passes a token."""
    global _sharing_strategy
    assert new_strategy in _all_sharing_strategies
    _sharing_strategy = new_strategy


def get_sharing_strategy():
    return _sharing_strategy


def get_all_sharing_strategies():
    return set(_all_sharing_strategies)


# a spawn/forkserver child reads $TENSORD_ADDRESS (a fork child keeps the parent's state):
# exported now if connected, else when this process connects (_daemon.ensure)
if _daemon._state["connected"]:
    _daemon.export_address()


def _reaching_this_daemon(start):
    def start_process(self):
        # A child started before this process ever connected would find no address and
        # start a private daemon of its own, whose tensors this process cannot open: so
        # connect first (finding or starting the daemon) and export its address.
        _daemon.export_address()
        return start(self)
    start_process.__wrapped__ = start
    start_process.__doc__ = start.__doc__
    return start_process


if not hasattr(multiprocessing.process.BaseProcess.start, "__wrapped__"):
    multiprocessing.process.BaseProcess.start = _reaching_this_daemon(multiprocessing.process.BaseProcess.start)
if sys.platform == "win32":  # pragma: no cover
    raise ImportError("tensord.multiprocessing needs a POSIX system")
