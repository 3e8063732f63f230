"""DataLoader worker processes, as torch.utils.data._utils.worker: the loop each worker
runs, and get_worker_info().

A worker is a process of the DataLoader's multiprocessing context (fork by default on
Linux, as torch's).  It takes (index, sampler indices) from its index pipe, builds the
batch with the dataset fetcher in its own tensord session and puts (index, batch) on the
shared result queue; tensors travel as capability tokens (tensord.multiprocessing), so
the main process opens the batch the worker built, with no copy.  Under fork the dataset
is inherited (its tensors opened through the parent's fork grant on first use); under
spawn/forkserver it arrives pickled, its tensors as tokens too."""
import os
import random

from ...._utils import ExceptionWrapper
from .... import _shared
from .fetch import _DatasetKind

__all__ = ["get_worker_info", "WorkerInfo"]

# how often a waiting worker checks that the main process is still there (torch's interval)
MP_STATUS_CHECK_INTERVAL = 5.0

_worker_info = None


class WorkerInfo:
    """id, num_workers, seed and dataset (this worker's copy) of the current worker."""
    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError("Cannot assign attributes to {} objects".format(self.__class__.__name__))
        return super().__setattr__(key, val)

    def __repr__(self):
        items = ["{}={}".format(k, getattr(self, k)) for k in self.__keys]
        return "{}({})".format(self.__class__.__name__, ", ".join(items))


def get_worker_info():
    """In a DataLoader worker: its WorkerInfo (id, num_workers, seed, dataset); None in
    the main process."""
    return _worker_info


class _IterableDatasetStopIteration:
    def __init__(self, worker_id):
        self.worker_id = worker_id


class _ResumeIteration:
    """Sent to persistent workers at the start of a new pass (an iterable dataset's
    fetcher starts over)."""

    def __init__(self, seed=None):
        self.seed = seed


class _ParentWatchdog:
    """Whether the process that started this worker is still there."""

    def __init__(self):
        self.ppid = os.getppid()
        self.dead = False

    def is_alive(self):
        if not self.dead:
            self.dead = os.getppid() != self.ppid
        return not self.dead


def _seed_worker(seed):
    from .... import _random
    random.seed(seed)
    _random.manual_seed(seed)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        return
    # numpy's global state, seeded per worker too (so that workers never repeat each other's
    # draws); from the same seed, not torch's exact numpy state
    np.random.seed(seed % (1 << 32))


def _sync():
    # a worker's writes to shared tensors (worker_init_fn's, say) reach the daemon at a sync;
    # made at the points where torch's shared-memory writes are already visible to the parent
    from .... import _C
    if _C.connected():
        try:
            _C.sync()
        except Exception:
            pass


def _worker_loop(dataset_kind, dataset, index_queue, data_queue, done_event, auto_collation, collate_fn,
                 drop_last, base_seed, init_fn, worker_id, num_workers, persistent_workers):
    global _worker_info
    try:
        seed = base_seed + worker_id
        _seed_worker(seed)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        init_exception = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
                _sync()
            fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_exception = ExceptionWrapper(where="in DataLoader worker process {}".format(worker_id))
        iteration_end = False
        watchdog = _ParentWatchdog()
        while watchdog.is_alive():
            try:
                if not index_queue.poll(MP_STATUS_CHECK_INTERVAL):
                    continue
                r = index_queue.recv()
            except EOFError:
                break  # the main process is gone
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, None))
                iteration_end = False
                if r.seed is not None:
                    _seed_worker(r.seed + worker_id)
                fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
                continue
            if r is None:
                break  # the main process is done with this worker
            if done_event.is_set() or iteration_end:
                continue  # draining: nothing more is wanted
            idx, index = r
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:
                    if isinstance(e, StopIteration) and dataset_kind == _DatasetKind.Iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where="in DataLoader worker process {}".format(worker_id))
            if not isinstance(data, (ExceptionWrapper, _IterableDatasetStopIteration)):
                try:
                    _shared.preshare(data)  # the batch's tokens in one round trip
                except Exception:
                    pass  # pickling makes them one by one, and reports what fails
            data_queue.put((idx, data))
            del data, idx, index, r
    except KeyboardInterrupt:
        pass
    _shared.drop_reserved()
    _sync()
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
