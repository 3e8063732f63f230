"""Dataset fetchers, as torch.utils.data._utils.fetch: turn the sampler's next index (or
list of indices) into a collated batch, for map-style and iterable datasets."""
import numpy as _np

from .... import _C, _daemon
from ...._C import ops as _ops
from ...._advindex import M_SELF as _M_SELF
from ...._dtype import int64 as _int64

_INT64_INDEX = _int64._index


class _BaseDatasetFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last

    def fetch(self, possibly_batched_index):
        raise NotImplementedError()


class _IterableDatasetFetcher(_BaseDatasetFetcher):
    """Takes len(index) samples from the dataset's iterator (the index values are ignored:
    the sampler is an endless stream of None) and stops at its end."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        super().__init__(dataset, auto_collation, collate_fn, drop_last)
        self.dataset_iter = iter(dataset)
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in possibly_batched_index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
            if len(data) == 0 or (self.drop_last and len(data) < len(possibly_batched_index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
        return self.collate_fn(data)


class _MapDatasetFetcher(_BaseDatasetFetcher):
    """dataset[i] for each index of the batch (or dataset.__getitems__(indices) when the
    dataset has one), then collate_fn.

    A TensorDataset collated by default_collate takes a shortcut with the same result:
    the batch's indices go to the daemon as one int64 tensor and each tensor is indexed
    once by them (one INDEX record per tensor: what stacking the samples gives), so a
    batch costs 1 + len(tensors) records instead of two per sample.  Indices that are
    not plain in-range integers take the per-sample path, which raises torch's errors."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        super().__init__(dataset, auto_collation, collate_fn, drop_last)
        from ..dataset import TensorDataset
        from .collate import default_collate
        self._whole_batch = (auto_collation and type(dataset) is TensorDataset and collate_fn is default_collate
                             and len(dataset.tensors) > 0)

    def _fetch_whole_batch(self, index):
        """The batch of a TensorDataset in 1 + len(tensors) records, or None when index
        is not a non-empty sequence of integers (not bools) in [0, len(dataset))."""
        if type(index) in (list, tuple):
            types = set(map(type, index))
            if bool in types or _np.bool_ in types:  # t[True] is not t[1]
                return None
        elif type(index) not in (range, _np.ndarray):
            return None
        a = _np.asarray(index)
        if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "iu":
            return None
        tensors = self.dataset.tensors
        if a.min() < 0 or a.max() >= tensors[0].shape[0]:
            return None  # negative or out of range: per sample, as torch indexes them
        a = _np.ascontiguousarray(a, dtype=_np.int64)
        _daemon.ensure()
        idx = _C.from_buffer(_INT64_INDEX, (a.size,), memoryview(a.view(_np.uint8)))
        return [_ops.index(t, idx, dim=0, mode=_M_SELF) for t in tensors]

    def fetch(self, possibly_batched_index):
        if self._whole_batch:
            data = self._fetch_whole_batch(possibly_batched_index)
            if data is not None:
                return data
        if self.auto_collation:
            if getattr(self.dataset, "__getitems__", None):
                data = self.dataset.__getitems__(possibly_batched_index)
            else:
                data = [self.dataset[idx] for idx in possibly_batched_index]
        else:
            data = self.dataset[possibly_batched_index]
        return self.collate_fn(data)


class _DatasetKind:
    Map = 0
    Iterable = 1

    @staticmethod
    def create_fetcher(kind, dataset, auto_collation, collate_fn, drop_last):
        if kind == _DatasetKind.Map:
            return _MapDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)
        return _IterableDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)
