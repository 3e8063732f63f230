"""torch.compile (torch 2.x) for programs that call it: tensord has no compiler, so a
compiled function or module runs eagerly, as torch's backend="eager" does — the daemon
batches its op records all the same.  A module comes back wrapped as torch wraps it
(OptimizedModule: `_orig_mod`, attribute access through to it, state_dict keys prefixed
"_orig_mod."), so code that unwraps or saves compiled models behaves as under torch."""
import functools

from .nn.modules.module import Module

__all__ = ["compile"]


class OptimizedModule(Module):
    def __init__(self, mod):
        super().__init__()
        self._orig_mod = mod

    def forward(self, *args, **kwargs):
        return self._orig_mod(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,
            disable=False):
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                 options=options, disable=disable)
    if disable:
        return model
    if isinstance(model, Module):
        return OptimizedModule(model)
    if not callable(model):
        raise RuntimeError("torch.compile() expects a callable, got %s" % type(model).__name__)

    @functools.wraps(model)
    def compiled(*args, **kwargs):
        return model(*args, **kwargs)
    return compiled
