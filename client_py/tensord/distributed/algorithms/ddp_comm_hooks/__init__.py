"""DistributedDataParallel communication hooks (torch.distributed.algorithms.ddp_comm_hooks):
default_hooks' allreduce and fp16/bf16 compression hooks and wrappers."""
from . import default_hooks  # noqa: F401
