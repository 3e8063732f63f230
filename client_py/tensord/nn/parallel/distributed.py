"""DistributedDataParallel (torch.nn.parallel.DistributedDataParallel) over tensord's
process groups (tensord.distributed): every rank starts from rank 0's parameters and
buffers, and each parameter's gradient is averaged over the ranks as backward produces it
(a tensor hook per parameter, an all_reduce each), so every rank's optimizer takes the
same step.  no_sync() skips the averaging (gradient accumulation); the next synchronized
backward averages what was accumulated too, as torch's does."""
import contextlib

from ..modules.module import Module
from ... import _grad_mode

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        from ... import distributed as dist
        if not dist.is_initialized():
            raise RuntimeError("Default process group has not been initialized, please make sure to call "
                               "init_process_group.")
        if not any(p.requires_grad for p in module.parameters()):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self.module = module
        self.device_ids = device_ids
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self._dist = dist
        with _grad_mode.no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(t, 0)
        for p in module.parameters():
            if p.requires_grad:
                p.register_hook(self._averager(p))

    def _averager(self, p):
        def average(grad):
            """As torch's buckets: the average over the ranks of the gradient p will hold, what
            earlier backward passes left in p.grad (no_sync's accumulation) included.  With a
            p.grad already there, it becomes the average itself and this pass adds zeros, so
            every rank ends with the same bits."""
            if not self.require_backward_grad_sync:
                return grad
            with _grad_mode.no_grad():
                total = grad.detach().clone() if p.grad is None else p.grad + grad.detach()
                self._dist.all_reduce(total, op=self._dist.ReduceOp.AVG)
                if p.grad is None:
                    return total
                p.grad.copy_(total)
                return grad.new_zeros(grad.shape)
        return average

    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and self.training:
            bufs = list(self.module.buffers())
            if bufs:
                with _grad_mode.no_grad():
                    for b in bufs:
                        self._dist.broadcast(b, 0)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old
