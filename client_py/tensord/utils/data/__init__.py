"""tensord.utils.data, as torch.utils.data: datasets, samplers, collation and the
DataLoader (in-process loading or worker processes; see dataloader.py).  Randomness (shuffle, random
samplers, random_split) comes from tensord's generators: deterministic for a seed, but
not the same order torch gives for that seed."""
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset,
                      random_split)
from .dataloader import DataLoader, _DatasetKind, get_worker_info, default_collate, default_convert
from .distributed import DistributedSampler

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
           "RandomSampler", "Sampler", "DistributedSampler", "SequentialSampler", "StackDataset", "Subset", "SubsetRandomSampler", "TensorDataset",
           "WeightedRandomSampler", "_DatasetKind", "default_collate", "default_convert",
           "get_worker_info", "random_split"]
