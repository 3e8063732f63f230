"""tensord.jit (torch.jit), for programs that use it.  trace() captures a function or a
module into graphs the daemon holds (_trace.py, docs/design/graphs.md): each later call
with the same signature is one record.  tensord has no TorchScript compiler: script()
returns what it is given, which runs eagerly — the daemon batches its op records all the
same.  The decorators (ignore, unused, export), annotations (Final,
annotate, Attribute), is_scripting/is_tracing (False), fork/wait (a Future of a call run
at once), freeze/optimize_for_inference (the module as it is) behave as torch's do for
code that runs both scripted and eagerly.  save() and load() write and read tensord.save
archives of the whole module (pickled, not TorchScript: torch.jit.load cannot read them,
and load() runs the pickle's code, as torch.load(weights_only=False) does)."""
import builtins
import typing

from .. import _C
from ..futures import Future
from ._trace import TracedFunction, TracedModule, TracerWarning

__all__ = ["Attribute", "Final", "ScriptFunction", "ScriptModule", "annotate", "enable_onednn_fusion", "export",
           "fork", "freeze", "ignore", "interface", "is_scripting", "is_tracing", "isinstance", "load",
           "onednn_fusion_enabled", "optimize_for_inference", "save", "script", "script_method",
           "set_fusion_strategy", "trace", "trace_module", "TracedModule", "TracerWarning", "unused", "wait"]

Final = typing.Final
_state = {"onednn_fusion": False, "fusion_strategy": [("STATIC", 2), ("DYNAMIC", 10)]}


def _module_base():
    from ..nn.modules.module import Module
    return Module


class ScriptFunction:
    """What torch.jit.script gives for a function; here the type of nothing (script returns
    the function itself), kept for isinstance checks and annotations."""


class ScriptModule(_module_base()):
    """Base class of old-style scripted modules (with @script_method); an nn.Module here."""


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    if optimize is not None:
        import warnings
        warnings.warn("`optimize` is deprecated and has no effect. Use `with torch.jit.optimized_execution() "
                      "instead", FutureWarning, stacklevel=2)
    return obj


def script_method(fn):
    return fn


def _as_tuple(inputs):
    return inputs if builtins.isinstance(inputs, tuple) else (inputs,)


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
          strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None,
          example_kwarg_inputs=None):
    """A TracedModule for a module, a TracedFunction otherwise, captured on the example
    inputs (keyword inputs: the function itself, run once, as there is no graph of them)."""
    if example_inputs is None and example_kwarg_inputs is None:
        raise RuntimeError("example_kwarg_inputs and example_inputs can not be None at the same time")
    if example_kwarg_inputs is not None:
        func(**example_kwarg_inputs)
        return func
    traced = TracedModule(func) if builtins.isinstance(func, _module_base()) else TracedFunction(func)
    traced(*_as_tuple(example_inputs))
    return traced


def trace_module(mod, inputs, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
                 strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None):
    """inputs: {method name: example inputs}: forward is traced (a TracedModule), the other
    methods run once."""
    if not builtins.isinstance(inputs, dict):
        raise AttributeError("expected a dictionary of (method_name, input) pairs")
    traced = TracedModule(mod) if "forward" in inputs else mod
    for name, args in inputs.items():
        getattr(traced, name)(*_as_tuple(args))
    return traced


def ignore(drop=False, **kwargs):
    """@ignore and @ignore(drop=...): the function, left to Python (as it is anyway)."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def is_scripting():
    return False


def is_tracing():
    """True while trace() captures (the code runs eagerly once)."""
    return _C.graph_capturing()


def annotate(the_type, the_value):
    return the_value


class Attribute:
    """Attribute(value, type): in eager code, the value itself."""

    def __new__(cls, value, type=None):
        return value


def isinstance(obj, target_type):
    """Checks against typing containers too (List[int], Dict[str, Tensor], Optional[T])."""
    origin = typing.get_origin(target_type)
    if origin is None:
        return builtins.isinstance(obj, target_type)
    args = typing.get_args(target_type)
    if origin is typing.Union:
        return any(isinstance(obj, a) for a in args)
    if not builtins.isinstance(obj, origin):
        return False
    if origin in (list, set, frozenset) and args:
        return all(isinstance(x, args[0]) for x in obj)
    if origin is dict and args:
        return all(isinstance(k, args[0]) and isinstance(v, args[1]) for k, v in obj.items())
    if origin is tuple and args:
        return len(args) == len(obj) and all(isinstance(x, a) for x, a in zip(obj, args))
    return True


def fork(func, *args, **kwargs):
    """A Future of func(*args, **kwargs), run now (ops record asynchronously anyway)."""
    fut = Future()
    try:
        fut.set_result(func(*args, **kwargs))
    except Exception as e:
        fut.set_exception(e)
    return fut


def wait(future):
    return future.wait()


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    if mod.training:
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. Please call .eval() on "
                           "your module before freezing.")
    return mod


def optimize_for_inference(mod, other_methods=None):
    return mod.eval() if mod.training else mod


def enable_onednn_fusion(enabled):
    _state["onednn_fusion"] = bool(enabled)


def onednn_fusion_enabled():
    return _state["onednn_fusion"]


def set_fusion_strategy(strategy):
    old, _state["fusion_strategy"] = _state["fusion_strategy"], list(strategy)
    return old


def save(m, f, _extra_files=None):
    from ..serialization import save as _save
    _save(m, f)


def load(f, map_location=None, _extra_files=None):
    from ..serialization import load as _load
    return _load(f, map_location=map_location, weights_only=False)
