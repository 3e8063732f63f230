"""torch.jit.trace for tensord: a function or module captured into a graph the daemon holds
(docs/design/graphs.md), so that each later call sends one record instead of one per op.

The first call with a given signature — the tensors' sizes, strides, dtypes, devices and
requires_grad, the other arguments' values, grad mode, and for a module its tensors and
train/eval flags — runs the code eagerly while libtensord keeps its records; they become
a graph whose inputs are the call's tensors and whose constants are every other tensor the
code read (a module's parameters: the same storage, so later in-place updates are seen).
Later calls with that signature run the graph: no Python, one record.  As with torch's
tracer, Python control flow is frozen at the values the capture saw.

A signature runs eagerly instead (a TracerWarning says why, once) when its code reads data
(item(), printing, nonzero, ...), makes tensors from Python data, keeps tensors it made
(optimizer state on a first step, a new .grad, a cache: warm up first), steps an optimizer
that counts its steps in its records (Adam), or gives outputs that need autograd history
(grad mode with inputs or parameters that require grad).  An SGD step in the code guards
its options: when an lr scheduler changes one, the next call captures again."""
import gc
import threading
import warnings

from .. import _C

__all__ = ["TracerWarning", "TracedFunction", "TracedModule"]


class TracerWarning(Warning):
    """torch.jit.TracerWarning: a traced call that cannot run as a graph."""


_EAGER = "eager"
_capture_lock = threading.Lock()
# the capture under way: values its records were built from (guards) and why it cannot be a graph
_capture = {"guards": None, "taint": None}


def optimizer_step_captured(opt):
    """Optimizer.step inside a capture: an optimizer whose records depend only on its
    groups' options (SGD: _graph_options) adds a guard on them, so a graph is captured again
    when one changes (an lr scheduler); one that keeps a count in its records (Adam's step
    number, for its bias correction) cannot be a graph."""
    if _capture["guards"] is None:
        return
    keys = getattr(type(opt), "_graph_options", None)
    if keys is None:
        _capture["taint"] = _capture["taint"] or (
            "%s.step writes its step count into its records, a graph would repeat it (SGD steps can be "
            "captured)" % type(opt).__name__)
        return
    groups = opt.param_groups

    def options():
        return tuple(tuple(g[k] for k in keys) for g in groups)
    _capture["guards"].append((options, options()))


def _tensor_type():
    from .._tensor import Tensor
    return Tensor


def _flatten_in(obj, tensors, seen, Tensor):
    """The call's structure with tensors replaced by their index in `tensors` (each once)."""
    if isinstance(obj, Tensor):
        i = seen.get(id(obj))
        if i is None:
            i = seen[id(obj)] = len(tensors)
            tensors.append(obj)
        return ("T", i)
    t = type(obj)
    if t is tuple or t is list:
        return (t, tuple(_flatten_in(o, tensors, seen, Tensor) for o in obj))
    if t is dict:
        return (t, tuple((k, _flatten_in(v, tensors, seen, Tensor)) for k, v in obj.items()))
    hash(obj)  # a value the graph is specialized on; unhashable ones run eagerly
    return ("V", obj)


def _flatten_out(obj, inputs, mark, outs, seen, Tensor):
    """The result's structure: graph outputs (tensors the code made), inputs returned as
    they are, and everything else (older tensors, values) kept as the capture gave it."""
    if isinstance(obj, Tensor):
        if id(obj) in inputs:
            return ("I", inputs[id(obj)])
        if obj._handle <= mark:
            return ("K", obj)
        j = seen.get(id(obj))
        if j is None:
            j = seen[id(obj)] = len(outs)
            outs.append(obj)
        return ("T", j)
    t = type(obj)
    if t is tuple or t is list or (isinstance(obj, tuple) and hasattr(obj, "_fields")):
        return (t, tuple(_flatten_out(o, inputs, mark, outs, seen, Tensor) for o in obj))
    if t is dict:
        return (t, tuple((k, _flatten_out(v, inputs, mark, outs, seen, Tensor)) for k, v in obj.items()))
    return ("K", obj)


def _build(spec, outs, ins):
    kind, v = spec
    if kind == "T":
        return outs[v]
    if kind == "I":
        return ins[v]
    if kind == "K":
        return v
    if kind is dict:
        return {k: _build(s, outs, ins) for k, s in v}
    items = [_build(s, outs, ins) for s in v]
    if kind is list:
        return items
    return tuple(items) if kind is tuple else kind(*items)


class _Graph:
    """One signature's graph: freed in the daemon with this object."""

    __slots__ = ("id", "n_out", "spec", "guards")

    def __init__(self, gid, n_out, spec, guards):
        self.id, self.n_out, self.spec, self.guards = gid, n_out, spec, guards

    def __del__(self):
        try:
            _C.graph_free(self.id)
        except Exception:
            pass  # the session is gone, and its graphs with it


class _Graphs:
    """Graphs of one callable, by signature."""

    def __init__(self, fn, name, state_key=None, state_handles=None):
        self.fn, self.name, self.state_key, self.state_handles = fn, name, state_key, state_handles
        self.graphs = {}
        self.warned = set()
        self.saved = []  # graphs unpickled with a module, defined again at the first call

    def __call__(self, *args, **kwargs):
        if kwargs or _C.graph_capturing():  # inside another capture: its records are that graph's
            return self.fn(*args, **kwargs)
        if self.saved:
            self._load_saved()
        Tensor = _tensor_type()
        tensors = []
        try:
            spec = _flatten_in(args, tensors, {}, Tensor)
        except TypeError:
            return self.fn(*args)
        grad = _C.is_grad_enabled()
        if grad and any(t.requires_grad for t in tensors):
            return self.fn(*args)  # the outputs need history
        extra = self.state_key() if self.state_key is not None else None
        if extra is _EAGER:
            return self.fn(*args)
        key = (spec, tuple((t.shape, t._strides, t.dtype, t.device) for t in tensors), grad, extra)
        g = self.graphs.get(key)
        if g is None:
            return self._capture(key, args, tensors)
        if g is _EAGER:
            return self.fn(*args)
        for value, seen in g.guards:
            if value() != seen:  # an option its records hold changed: a new capture
                del self.graphs[key]
                return self._capture(key, args, tensors)
        try:
            outs = _C.graph_run(g.id, tensors, g.n_out)
        except RuntimeError as e:
            if "no such graph" not in str(e):
                raise
            del self.graphs[key]  # a new session (reconnected, or a forked child): capture again
            return self._capture(key, args, tensors)
        return _build(g.spec, outs, tensors)

    def count(self):
        return sum(g is not _EAGER for g in self.graphs.values())

    def __getstate__(self):
        # graph ids belong to this process's session: a module's graphs travel as saved bytes
        # and their constants (tensors, pickled with the module's own, storage shared), and
        # are defined again where they are loaded; a function's are captured again
        state = dict(self.__dict__)
        saved = list(self.saved)
        for key, g in self.graphs.items() if self.state_handles is not None else ():
            if g is _EAGER or g.guards:
                continue
            spec, sig, grad, (handles, flags) = key
            saved.append((spec, sig, grad, flags, _C.graph_save(g.id), _C.graph_constants(g.id), g.n_out, g.spec))
        state["graphs"], state["warned"], state["saved"] = {}, set(), saved
        return state

    def _load_saved(self):
        saved, self.saved = self.saved, []
        handles = self.state_handles()
        for spec, sig, grad, flags, data, consts, n_out, out_spec in saved:
            try:
                gid = _C.graph_load(data, consts)
            except (RuntimeError, TypeError, ValueError, IndexError):
                continue  # (not this module's tensors any more): captured again when called
            self.graphs[(spec, sig, grad, (handles, flags))] = _Graph(gid, n_out, out_spec, [])

    def _eager(self, key, why):
        self.graphs[key] = _EAGER
        if why not in self.warned:
            self.warned.add(why)
            warnings.warn("tensord.jit.trace: %s runs eagerly for these inputs: %s" % (self.name, why),
                          TracerWarning, stacklevel=3)

    def _capture(self, key, args, tensors):
        if not _capture_lock.acquire(blocking=False):
            return self.fn(*args)  # another thread is capturing
        try:
            _C.graph_begin()
            _capture["guards"], _capture["taint"] = [], None
            try:
                mark = _C.graph_mark()
                out = self.fn(*args)
                outs = []
                spec = _flatten_out(out, {id(t): i for i, t in enumerate(tensors)}, mark, outs, {},
                                    _tensor_type())
                if _C.is_grad_enabled() and any(o.requires_grad for o in outs):
                    _C.graph_abort()
                    self.graphs[key] = _EAGER  # results with autograd history: nothing to warn about
                    return out
                gc.collect()  # tensors in reference cycles that the code dropped
                guards, taint = _capture["guards"], _capture["taint"]
            except BaseException:
                _C.graph_abort()
                raise
            finally:
                _capture["guards"] = _capture["taint"] = None
            if taint:
                _C.graph_abort()
                self._eager(key, taint)
                return out
            try:
                gid = _C.graph_end(tensors, outs)
            except (RuntimeError, TypeError, ValueError) as e:
                self._eager(key, str(e))
                return out
            self.graphs[key] = _Graph(gid, len(outs), spec, guards)
            return out
        finally:
            _capture_lock.release()


def _name_of(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


class TracedFunction:
    """What trace() gives for a function (torch.jit.ScriptFunction's place): calling it runs
    the function's graph for the signature (docs/design/graphs.md)."""

    def __init__(self, fn):
        self._fn = fn
        self._graphs = _Graphs(fn, _name_of(fn))
        self.__name__ = getattr(fn, "__name__", "traced")
        self.__qualname__ = getattr(fn, "__qualname__", self.__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    def __call__(self, *args, **kwargs):
        return self._graphs(*args, **kwargs)

    graph_count = property(lambda self: self._graphs.count(), doc="How many signatures run as graphs.")

    def __repr__(self):
        return "<tensord.jit traced function %s>" % self.__qualname__


def _module_base():
    from ..nn.modules.module import Module
    return Module


class TracedModule(_module_base()):
    """What trace() gives for a module: the same parameters, buffers and submodules (its
    state_dict is the original's), with forward running the graph of each signature.  Its
    signature includes the module's tensors (a parameter replaced or moved starts a new
    capture) and train/eval flags."""

    def __init__(self, orig):
        super().__init__()
        self.__dict__["_actual_module"] = orig
        self.__dict__["_parameters"] = orig._parameters
        self.__dict__["_buffers"] = orig._buffers
        self.__dict__["_modules"] = orig._modules
        self.__dict__["_graphs"] = _Graphs(orig, type(orig).__name__, self._state_key, self._state_handles)
        self.training = orig.training

    def _state_handles(self):
        orig = self._actual_module
        return tuple(t._handle for t in orig.parameters()) + tuple(t._handle for t in orig.buffers())

    def _state_key(self):
        orig = self._actual_module
        if _C.is_grad_enabled() and any(t.requires_grad for t in orig.parameters()):
            return _EAGER  # training: the outputs need history
        return self._state_handles(), tuple(m.training for m in orig.modules())

    def train(self, mode=True):
        self._actual_module.train(mode)
        self.training = mode
        return self

    def forward(self, *args, **kwargs):
        return self._graphs(*args, **kwargs)

    graph_count = TracedFunction.graph_count

    def extra_repr(self):
        return "original_name=%s" % type(self._actual_module).__name__

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_actual_module"], name)
