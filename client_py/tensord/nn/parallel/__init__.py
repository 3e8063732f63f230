"""tensord.nn.parallel (torch.nn.parallel): DataParallel over the daemon's GPUs, and the
scatter / replicate / parallel_apply / gather steps it is made of, and
DistributedDataParallel over tensord.distributed's process groups."""
from .data_parallel import DataParallel, data_parallel  # noqa: F401
from .scatter_gather import gather, scatter  # noqa: F401
from .replicate import replicate  # noqa: F401
from .parallel_apply import parallel_apply  # noqa: F401
from .distributed import DistributedDataParallel  # noqa: F401

__all__ = ["DataParallel", "data_parallel", "gather", "scatter", "replicate", "parallel_apply",
           "DistributedDataParallel"]
