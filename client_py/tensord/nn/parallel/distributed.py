"""DistributedDataParallel (torch.nn.parallel.DistributedDataParallel) over tensord's
process groups (tensord.distributed): every rank starts from rank 0's parameters and
buffers, and the parameters' gradients are averaged over the ranks during backward (a
tensor hook per parameter; one all_reduce of them all once the last arrives), so every
rank's optimizer takes the same step.  no_sync() skips the averaging (gradient accumulation); the next synchronized
backward averages what was accumulated too, as torch's does."""
import contextlib

from ..modules.module import Module
from ... import _grad_mode
from ... import _records as F

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
        devices = {p.device for p in module.parameters()}
        if device_ids is not None and (len(device_ids) != 1 or len(devices) != 1 or
                                       next(iter(devices)).type != "cuda"):
            raise ValueError("DistributedDataParallel device_ids and output_device arguments only work with "
                             "single-device/multiple-device GPU modules or CPU modules, but got device_ids %s, "
                             "output_device %s, and module parameters %s." % (device_ids, output_device, devices))
        self.device_ids = None if device_ids is None else [next(iter(devices)).index]
        # inputs go to the module's device, as torch moves them to device_ids[0]
        self._input_device = next(iter(devices)) if device_ids is not None else None
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self._dist = dist
        self.process_group = process_group
        self._src = 0 if process_group is None else dist.get_global_rank(process_group, 0)
        with _grad_mode.no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(t, self._src, process_group)
        self._params = [p for p in module.parameters() if p.requires_grad]
        self._comm_hook = None
        self._ready = []  # (parameter, gradient) of this backward pass, in arrival order
        for p in self._params:
            p.register_hook(self._averager(p))

    def _averager(self, p):
        def average(grad):
            """As torch's buckets: the average over the ranks of the gradient p will hold,
            what earlier passes left in p.grad (no_sync's accumulation) included.  One
            all_reduce per dtype and device once every parameter's gradient has arrived (the
            earlier ones accumulate zeros meanwhile, then take the average), so every rank
            ends with the same bits.  find_unused_parameters=True reduces each gradient as
            it arrives instead (a parameter may get none)."""
            if not self.require_backward_grad_sync:
                return grad
            with _grad_mode.no_grad():
                if self.find_unused_parameters:
                    return self._reduce([(p, grad.detach())], grad)
                self._ready.append((p, grad.detach()))
                if len(self._ready) < len(self._params):
                    return grad.new_zeros(grad.shape)
                ready, self._ready = self._ready, []
                return self._reduce(ready, grad)
        return average

    def _reduce(self, ready, grad):
        """Averages p.grad + g over the ranks for every (p, g) in ready; the last one's
        share is returned for the engine to accumulate, the others are written into .grad."""
        totals = [g.clone() if p.grad is None else p.grad + g for p, g in ready]
        groups = {}
        for i, t in enumerate(totals):
            groups.setdefault((str(t.dtype), str(t.device)), []).append(i)
        for b, key in enumerate(sorted(groups)):
            idx = groups[key]
            flat = F.cat([totals[i].reshape(-1) for i in idx])
            if self._comm_hook is None:
                self._dist.all_reduce(flat, op=self._dist.ReduceOp.AVG, group=self.process_group)
            else:
                flat = self._run_comm_hook(b, b == len(groups) - 1, flat, [totals[i] for i in idx],
                                           [ready[i][0] for i in idx])
            at = 0
            for i in idx:
                n = totals[i].numel()
                totals[i] = flat[at:at + n].view(totals[i].shape)
                at += n
        for (p, _), t in zip(ready[:-1], totals[:-1]):
            p.grad.copy_(t)
        last, avg = ready[-1][0], totals[-1]
        if last.grad is None:
            return avg
        last.grad.copy_(avg)
        return grad.new_zeros(grad.shape)

    def register_comm_hook(self, state, hook):
        """hook(state, bucket) -> Future of the bucket's reduced gradients replaces DDP's
        averaging (torch.distributed.algorithms.ddp_comm_hooks has torch's); a bucket is the
        gradients of one dtype and device, flattened."""
        if not callable(hook):
            raise TypeError("Communication hook must be callable.")
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        self._comm_hook = (state, hook)

    def _run_comm_hook(self, index, is_last, flat, grads, params):
        state, hook = self._comm_hook
        views, at = [], 0
        for g in grads:
            views.append(flat[at:at + g.numel()].view(g.shape))
            at += g.numel()
        fut = hook(state, self._dist.GradBucket(index, is_last, flat, views, params))
        if not hasattr(fut, "wait"):
            raise RuntimeError("Communication hook: return annotation should be torch.futures.Future[torch.Tensor].")
        out = fut.wait()
        out = out[0] if isinstance(out, (list, tuple)) else out
        return out.reshape(-1).to(flat.dtype)

    def forward(self, *inputs, **kwargs):
        if self._ready and self.training:
            self._ready = []
            raise RuntimeError("Expected to have finished reduction in the prior iteration before starting a new one. "
                               "This error indicates that your module has parameters that were not used in producing "
                               "loss. You can enable unused parameter detection by passing the keyword argument "
                               "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`.")
        if self.broadcast_buffers and self.training:
            bufs = list(self.module.buffers())
            if bufs:
                with _grad_mode.no_grad():
                    for b in bufs:
                        self._dist.broadcast(b, self._src, self.process_group)
        if self._input_device is not None:
            inputs, kwargs = _to_device(inputs, self._input_device), _to_device(kwargs, self._input_device)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old


def _to_device(obj, device):
    """The tensors in obj (nested in tuples, namedtuples, lists and dicts) on device."""
    from ..._tensor import Tensor
    if isinstance(obj, Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_to_device(x, device) for x in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(x, device) for x in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _to_device(v, device)) for k, v in obj.items())
    return obj
