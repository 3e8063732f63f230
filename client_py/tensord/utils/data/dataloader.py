"""DataLoader, as torch.utils.data.dataloader: combines a dataset with a sampler (or a
batch sampler) and a collate_fn, and iterates over the batches.

num_workers=0 loads in the calling process.  num_workers > 0 starts worker processes
(_utils/worker.py) of the multiprocessing context (default: fork on Linux, as torch's);
each builds whole batches in its own tensord session and hands them to the main process
as capability tokens, so a batch never travels as bytes and a worker never waits for the
daemon (reserved tokens, filled without a round trip: docs/design/sharing.md).  Indices
reach each worker through a pipe of its own; batches come back on one result queue.
Batches come back in sampler order; at most prefetch_factor * num_workers are in
flight.  A worker's exception is raised in the main process with the worker's traceback
("Caught ValueError in DataLoader worker process 0."), a worker that dies gives torch's
"DataLoader worker (pid(s) ...) exited unexpectedly", timeout > 0 bounds each wait.
pin_memory is accepted and has no effect (tensord is CPU-only; torch also skips pinning
without CUDA)."""
import itertools
import math
import multiprocessing
import queue
import warnings

from ... import _random
from ..._creation import empty
from ..._dtype import int64
from ..._utils import ExceptionWrapper
from ._utils.collate import default_collate, default_convert
from ._utils.fetch import _DatasetKind
from ._utils import worker as _worker
from ._utils.worker import get_worker_info
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]


class _InfiniteConstantSampler(Sampler):
    """None forever: the sampler of an IterableDataset (the dataset decides the end)."""

    def __init__(self):
        super().__init__(None)

    def __iter__(self):
        while True:
            yield None


_FIXED_AFTER_INIT = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")


class DataLoader:
    """Iterates over dataset in batches: batch_size samples (None: no batching) in the
    order of sampler (default: sequential, or random with shuffle=True, drawn from
    generator or from tensord's default generator), collated by collate_fn
    (default_collate; default_convert without batching).  A batch_sampler gives whole
    batches of indices instead.  len() is the number of batches."""

    __initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=2, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor != 2:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order  # torch 2.6: out-of-order batches allowed; tensord's come in order anyway
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = _DatasetKind.Iterable
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 "shuffle={}".format(shuffle))
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 "sampler={}".format(sampler))
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 "got batch_sampler={}".format(batch_sampler))
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = _DatasetKind.Map

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")

        if sampler is None:
            if self._dataset_kind == _DatasetKind.Iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._IterableDataset_len_called = None
        self._iterator = None
        self.__initialized = True

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx):
        if ctx is not None:
            if self.num_workers <= 0:
                raise ValueError("multiprocessing_context can only be used with multi-process loading "
                                 "(num_workers > 0), but got num_workers={}".format(self.num_workers))
            if isinstance(ctx, str):
                valid = multiprocessing.get_all_start_methods()
                if ctx not in valid:
                    raise ValueError("multiprocessing_context option should specify a valid start method in {!r}, "
                                     "but got multiprocessing_context={!r}".format(valid, ctx))
                ctx = multiprocessing.get_context(ctx)
        self.__multiprocessing_context = ctx

    def __setattr__(self, attr, val):
        if self.__initialized and attr in _FIXED_AFTER_INIT:
            raise ValueError("{} attribute should not be set after {} is initialized"
                             .format(attr, self.__class__.__name__))
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        return _MultiProcessingDataLoaderIter(self)

    def __iter__(self):
        # persistent workers: one iterator (and its workers) for every pass
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self):
        if self._dataset_kind == _DatasetKind.Iterable:
            # the dataset's own estimate: torch trusts it the same way
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)


class _SingleProcessDataLoaderIter:
    """One pass over a DataLoader in the calling process."""

    def __init__(self, loader):
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._collate_fn = loader.collate_fn
        self._sampler_iter = iter(self._index_sampler)
        # torch draws the workers' base seed here on every pass, whatever num_workers
        # is; drawing it too keeps the generator's stream in the same place
        self._base_seed = _random.random_(empty((), dtype=int64), generator=loader.generator).item()
        self._num_yielded = 0
        self._dataset_fetcher = _DatasetKind.create_fetcher(self._dataset_kind, self._dataset, self._auto_collation,
                                                            self._collate_fn, self._drop_last)

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._index_sampler)

    def __next__(self):
        index = next(self._sampler_iter)
        data = self._dataset_fetcher.fetch(index)
        self._num_yielded += 1
        if self._dataset_kind == _DatasetKind.Iterable and self._IterableDataset_len_called is not None and \
                self._num_yielded > self._IterableDataset_len_called:
            warnings.warn("Length of IterableDataset {} was reported to be {} (when accessing len(dataloader)), "
                          "but {} samples have been fetched. ".format(self._dataset, self._IterableDataset_len_called,
                                                                      self._num_yielded))
        return data

    def __getstate__(self):
        raise NotImplementedError("{} cannot be pickled", self.__class__.__name__)



# how long the main process waits for a batch before it checks on the workers
_STATUS_CHECK_INTERVAL = 1.0


class _MultiProcessingDataLoaderIter:
    """One pass over a DataLoader with worker processes (persistent workers: every pass)."""

    def __init__(self, loader):
        from ... import _daemon, multiprocessing as _mp  # noqa: F401 (registers the tensor reductions)
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._prefetch_factor = loader.prefetch_factor
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._persistent_workers = loader.persistent_workers
        self._generator = loader.generator
        ctx = loader.multiprocessing_context or multiprocessing
        if ctx.get_start_method() != "fork":
            _daemon.export_address()  # spawn/forkserver workers connect to this daemon
        else:
            _daemon.ensure()  # a forked worker opens what it inherits through our grant
        self._shutdown = False
        self._workers_done_event = ctx.Event()
        self._worker_result_queue = ctx.Queue()
        self._index_queues, self._workers = [], []
        self._base_seed = _random.random_(empty((), dtype=int64), generator=loader.generator).item()
        for i in range(self._num_workers):
            # indices go down a pipe of their own, written by this thread (no feeder thread to
            # wake per batch); a write waits only while the pipe is full, until the worker takes
            # its next message (its results go through the result queue's feeder: never blocked)
            index_reader, index_queue = ctx.Pipe(duplex=False)
            w = ctx.Process(target=_worker._worker_loop,
                            args=(self._dataset_kind, self._dataset, index_reader, self._worker_result_queue,
                                  self._workers_done_event, self._auto_collation, self._collate_fn,
                                  self._drop_last, self._base_seed, loader.worker_init_fn, i, self._num_workers,
                                  self._persistent_workers))
            w.daemon = True
            w.start()
            index_reader.close()  # the worker's end: a dead worker's pipe then refuses writes
            self._index_queues.append(index_queue)
            self._workers.append(w)
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._send_idx = 0  # next batch index to send to a worker
        self._rcvd_idx = 0  # next batch index to hand out
        self._task_info = {}  # idx -> (worker_id,) while in flight, (worker_id, data) once arrived
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # a new pass on persistent workers: a fresh base seed, and every worker restarts
            self._base_seed = _random.random_(empty((), dtype=int64), generator=loader.generator).item()
            for worker_id in range(self._num_workers):
                self._send_index(worker_id, _worker._ResumeIteration(self._base_seed))
            resume = self._num_workers
            while resume > 0:
                ok, data = self._get_data()
                if ok and isinstance(data[0], _worker._ResumeIteration):
                    resume -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._index_sampler)

    def _try_put_index(self):
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):  # the next worker still taking work
            worker_queue_idx = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker_queue_idx]:
                break
        else:
            return
        self._send_index(worker_queue_idx, (self._send_idx, index))
        self._task_info[self._send_idx] = (worker_queue_idx,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _try_get_data(self, timeout):
        try:
            return True, self._worker_result_queue.get(timeout=timeout)
        except queue.Empty:
            failed = [w for w in self._workers if self._workers_status[self._workers.index(w)] and not w.is_alive()]
            if failed:
                self._shutdown_workers()
                raise RuntimeError("DataLoader worker (pid(s) {}) exited unexpectedly"
                                   .format(", ".join(str(w.pid) for w in failed))) from None
            return False, None

    def _get_data(self):
        if self._timeout > 0:
            ok, data = self._try_get_data(self._timeout)
            if ok:
                return ok, data
            self._shutdown_workers()
            raise RuntimeError("DataLoader timed out after {} seconds".format(self._timeout))
        while True:
            ok, data = self._try_get_data(_STATUS_CHECK_INTERVAL)
            if ok:
                return ok, data

    def _next_data(self):
        while True:
            # skip the batches of workers that ended (an iterable dataset ran out there)
            while self._rcvd_idx < self._send_idx:
                info = self._task_info[self._rcvd_idx]
                if len(info) == 2 or self._workers_status[info[0]]:
                    break
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                data = self._task_info.pop(self._rcvd_idx)[1]
                return self._process_data(data)
            assert not self._shutdown and self._tasks_outstanding > 0
            _, (idx, data) = self._get_data()
            self._tasks_outstanding -= 1
            if self._dataset_kind == _DatasetKind.Iterable and \
                    isinstance(data, _worker._IterableDatasetStopIteration):
                if self._persistent_workers:
                    self._workers_status[data.worker_id] = False
                else:
                    self._mark_worker_as_unavailable(data.worker_id)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx] += (data,)  # early: kept until its turn
            else:
                del self._task_info[idx]
                return self._process_data(data)

    def _process_data(self, data):
        self._rcvd_idx += 1
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if self._dataset_kind == _DatasetKind.Iterable and self._IterableDataset_len_called is not None and \
                self._num_yielded > self._IterableDataset_len_called:
            warnings.warn("Length of IterableDataset {} was reported to be {} (when accessing len(dataloader)), "
                          "but {} samples have been fetched. ".format(self._dataset, self._IterableDataset_len_called,
                                                                      self._num_yielded))
        return data

    def _send_index(self, worker_id, msg):
        try:
            self._index_queues[worker_id].send(msg)
        except OSError:
            pass  # the worker is gone: waiting for its batch finds out and says so

    def _mark_worker_as_unavailable(self, worker_id, shutdown=False):
        self._send_index(worker_id, None)  # the worker ends its loop
        self._workers_status[worker_id] = False

    def _shutdown_workers(self):
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._workers_done_event.set()
            for worker_id in range(len(self._workers)):
                if self._persistent_workers or self._workers_status[worker_id]:
                    self._mark_worker_as_unavailable(worker_id, shutdown=True)
            for w in self._workers:
                w.join(timeout=_worker.MP_STATUS_CHECK_INTERVAL)
            for q in self._index_queues:
                q.close()
            self._worker_result_queue.cancel_join_thread()
            self._worker_result_queue.close()
        finally:
            for w in self._workers:
                if w.is_alive():
                    w.terminate()

    def __getstate__(self):
        raise NotImplementedError("{} cannot be pickled", self.__class__.__name__)

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:
            pass
