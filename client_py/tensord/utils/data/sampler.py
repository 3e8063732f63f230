"""Samplers, as torch.utils.data.sampler: iterables of dataset indices (BatchSampler:
of lists of indices) that the DataLoader draws from.

Every random draw goes through tensord's generators (tensord._random): a sampler given
a seeded tensord.Generator, or run after tensord.manual_seed, yields the same indices in
every run: the indices torch draws for the same seed (the generator is torch's, and the
samplers draw as torch's do)."""
import itertools

from ... import _random
from ..._creation import as_tensor, empty
from ..._dtype import float64, int64


__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler", "SubsetRandomSampler",
           "WeightedRandomSampler"]


class Sampler:
    """Base class: subclasses define __iter__ (the indices) and usually __len__."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError

    def __class_getitem__(cls, item):  # Sampler[int] in annotations
        return cls


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


def _check_bool(name, v, exc=TypeError):
    if not isinstance(v, bool):
        raise exc("%s should be a boolean value, but got %s=%s" % (name, name, v))


def _check_positive(name, v):
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise ValueError("%s should be a positive integer value, but got %s=%s" % (name, name, v))


def _epoch_generator(generator):
    """generator, or else a fresh one seeded from the default generator (so that
    tensord.manual_seed fixes every epoch's order without fixing them to one order)."""
    if generator is not None:
        return generator
    seed = int(_random.random_(empty((), dtype=int64)).item())
    return _random.Generator().manual_seed(seed)


class RandomSampler(Sampler):
    """A random permutation of the indices (replacement=False; num_samples larger than the
    dataset concatenates permutations) or num_samples uniform draws (replacement=True)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        _check_bool("replacement", self.replacement)
        _check_positive("num_samples", self.num_samples)

    @property
    def num_samples(self):
        # the dataset may grow or shrink after the sampler is made
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        g = _epoch_generator(self.generator)
        if self.replacement:
            # drawn 32 at a time, as torch does, so that a long epoch costs few round trips
            for _ in range(self.num_samples // 32):
                yield from _random.randint(high=n, size=(32,), dtype=int64, generator=g).tolist()
            yield from _random.randint(high=n, size=(self.num_samples % 32,), dtype=int64, generator=g).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from _random.randperm(n, generator=g).tolist()
            yield from _random.randperm(n, generator=g).tolist()[:self.num_samples % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a new order each epoch)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        for i in _random.randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices in [0, len(weights)), index i drawn with probability
    proportional to weights[i] (tensord.multinomial)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError("num_samples should be a positive integer value, but got num_samples={}"
                             .format(num_samples))
        if not isinstance(replacement, bool):
            raise ValueError("replacement should be a boolean value, but got replacement={}".format(replacement))
        w = as_tensor(weights, dtype=float64)
        if len(w.shape) != 1:
            raise ValueError("weights should be a 1d sequence but given weights have shape {}"
                             .format(tuple(w.shape)))
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        drawn = _random.multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator)
        yield from iter(drawn.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of sampler into lists of batch_size (the last one shorter
    unless drop_last)."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError("batch_size should be a positive integer value, but got batch_size={}"
                             .format(batch_size))
        if not isinstance(drop_last, bool):
            raise ValueError("drop_last should be a boolean value, but got drop_last={}".format(drop_last))
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        # islice takes a batch's indices at C speed: the sampler is consumed exactly as
        # torch's loop consumes it, batch_size indices per batch, lazily
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if len(batch) < self.batch_size:
                if batch and not self.drop_last:
                    yield batch
                return
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
