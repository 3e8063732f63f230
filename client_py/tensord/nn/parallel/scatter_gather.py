"""scatter and gather, as torch.nn.parallel's: tensors split into chunks along dim, one
per device (differentiable copies); lists, tuples and dicts recursed into; other objects
repeated.  gather concatenates the devices' outputs on the output device."""
from ..._tensor import Tensor

__all__ = ["scatter", "scatter_kwargs", "gather"]


def _dev(d):
    return "cuda:%d" % d if isinstance(d, int) else d


def scatter(inputs, target_gpus, dim=0):
    """inputs split over target_gpus: a list with one entry per device."""
    def scatter_map(obj):
        if isinstance(obj, Tensor):
            chunks = obj.chunk(len(target_gpus), dim)
            return [c.to(_dev(d)) for c, d in zip(chunks, target_gpus)]
        if isinstance(obj, tuple) and len(obj) > 0:
            return list(zip(*map(scatter_map, obj)))
        if isinstance(obj, list) and len(obj) > 0:
            return [list(i) for i in zip(*map(scatter_map, obj))]
        if isinstance(obj, dict) and len(obj) > 0:
            return [type(obj)(i) for i in zip(*map(scatter_map, obj.items()))]
        return [obj for _ in target_gpus]
    return scatter_map(inputs)


def scatter_kwargs(inputs, kwargs, target_gpus, dim=0):
    inputs = scatter(inputs, target_gpus, dim) if inputs else []
    kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    if len(inputs) < len(kwargs):
        inputs.extend(() for _ in range(len(kwargs) - len(inputs)))
    elif len(kwargs) < len(inputs):
        kwargs.extend({} for _ in range(len(inputs) - len(kwargs)))
    return tuple(inputs), tuple(kwargs)


def gather(outputs, target_device, dim=0):
    """The devices' outputs joined along dim on target_device (-1: the CPU)."""
    from ... import cat
    dest = "cpu" if target_device == -1 else _dev(target_device)

    def gather_map(outs):
        out = outs[0]
        if isinstance(out, Tensor):
            if out.dim() == 0:   # scalars become a vector, as torch's Gather
                return cat([o.to(dest).reshape(1) for o in outs], 0)
            return cat([o.to(dest) for o in outs], dim)
        if out is None:
            return None
        if isinstance(out, dict):
            if not all(len(out) == len(d) for d in outs):
                raise ValueError("All dicts must have the same number of keys")
            return type(out)((k, gather_map([d[k] for d in outs])) for k in out)
        return type(out)(map(gather_map, zip(*outs)))
    return gather_map(outputs)
