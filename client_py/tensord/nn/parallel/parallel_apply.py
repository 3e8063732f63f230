"""parallel_apply, as torch.nn.parallel's: each replica applied to its inputs.  The calls
are made in turn (each only records ops; the daemon runs them), and an exception in one
is raised with the device it happened on, as torch's."""

__all__ = ["parallel_apply"]


def parallel_apply(modules, inputs, kwargs_tup=None, devices=None):
    assert len(modules) == len(inputs)
    if kwargs_tup is None:
        kwargs_tup = ({},) * len(modules)
    outputs = []
    for i, (module, input, kwargs) in enumerate(zip(modules, inputs, kwargs_tup)):
        if not isinstance(input, (list, tuple)):
            input = (input,)
        try:
            outputs.append(module(*input, **kwargs))
        except Exception as e:
            raise type(e)("Caught %s in replica %d on device %s.\n%s" % (type(e).__name__, i,
                                                                          devices[i] if devices else i, e)) from e
    return outputs
