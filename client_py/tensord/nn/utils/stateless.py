"""functional_call, as torch.nn.utils.stateless: runs a module's forward with some of its
parameters and buffers replaced by the given tensors for that one call (the module's own
tensors are put back afterwards, also when forward raises)."""
import contextlib

__all__ = ["functional_call"]


def _split(name):
    *path, leaf = name.split(".")
    return path, leaf


def _owner(module, path):
    for p in path:
        module = getattr(module, p)
    return module


def _swap(module, name, value):
    """Sets module.<name> (dotted) to value, returning what was there and where it lived."""
    path, leaf = _split(name)
    owner = _owner(module, path)
    if leaf in owner._parameters:
        old = owner._parameters[leaf]
        owner._parameters[leaf] = value
        return owner, leaf, "_parameters", old
    if leaf in owner._buffers:
        old = owner._buffers[leaf]
        owner._buffers[leaf] = value
        return owner, leaf, "_buffers", old
    old = getattr(owner, leaf)
    setattr(owner, leaf, value)
    return owner, leaf, None, old


@contextlib.contextmanager
def _reparametrized(module, tensors):
    done = []
    try:
        for name, value in tensors.items():
            done.append(_swap(module, name, value))
        yield
    finally:
        for owner, leaf, where, old in reversed(done):
            if where is None:
                setattr(owner, leaf, old)
            else:
                getattr(owner, where)[leaf] = old


def functional_call(module, parameters_and_buffers, args, kwargs=None):
    """module(*args, **kwargs) with parameters_and_buffers (a dict of dotted names, as
    state_dict's keys) standing in for the module's own tensors."""
    if kwargs is None:
        kwargs = {}
    if not isinstance(args, tuple):
        args = (args,)
    with _reparametrized(module, parameters_and_buffers):
        return module(*args, **kwargs)
