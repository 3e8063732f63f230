"""Dataset fetchers, as torch.utils.data._utils.fetch: turn the sampler's next index (or
list of indices) into a collated batch, for map-style and iterable datasets."""


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
    each tensor indexed once by the batch's indices ([x[idx], y[idx]]: what stacking the
    samples gives), so a batch costs a few ops instead of two per sample."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        super().__init__(dataset, auto_collation, collate_fn, drop_last)
        from ..dataset import TensorDataset
        from .collate import default_collate
        self._whole_batch = (auto_collation and type(dataset) is TensorDataset and collate_fn is default_collate
                             and len(dataset.tensors) > 0)

    def fetch(self, possibly_batched_index):
        if self._whole_batch:
            from ...._creation import as_tensor
            from ...._dtype import int64
            idx = as_tensor(list(possibly_batched_index), dtype=int64)
            return [t[idx] for t in self.dataset.tensors]
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
