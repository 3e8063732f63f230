"""replicate, as torch.nn.parallel's: one module per device whose parameters and buffers
are differentiable copies of the original's, so every replica's gradients reach the
original parameters.  A replica here is the original module called through
stateless.functional_call with the copies (the daemon runs a session's records in
order, so the replicas' calls do not overlap), which keeps the module's own Python code
and hooks; in-place buffer updates of replicas other than the first are lost, as torch's."""
from ..utils.stateless import functional_call

__all__ = ["replicate"]


class _Replica:
    def __init__(self, module, tensors):
        self.module = module
        self.tensors = tensors

    def __call__(self, *args, **kwargs):
        return functional_call(self.module, self.tensors, args, kwargs)


def replicate(network, devices, detach=False):
    """A callable per device: devices[0] gets the module itself when its tensors live there."""
    replicas = []
    for d in devices:
        dev = "cuda:%d" % d if isinstance(d, int) else d
        tensors = {}
        for name, t in list(network.named_parameters()) + list(network.named_buffers()):
            if str(t.device) != str(dev):
                c = t.to(dev)
                tensors[name] = c.detach() if detach else c
        replicas.append(_Replica(network, tensors) if tensors else network)
    return replicas
