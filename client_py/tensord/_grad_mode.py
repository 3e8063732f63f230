"""Grad-mode state (is_grad_enabled, no_grad, enable_grad, set_grad_enabled, inference_mode,
is_inference_mode_enabled) and the tensor predicates that go with it (is_inference, is_neg).
The grad mode itself lives in libtensord (per thread), where autograd/ records the graph."""
import builtins
import sys as _sys

from . import _C
from . import _records as F

TB = _C.TensorBase
_T = _sys.modules[__name__.rpartition(".")[0]]  # the package: its functions are looked up at call time

__all__ = []

_check = F._check_tensor
_export = F.exporter(globals(), __all__)

# ---------------------------------------------------------------- predicates and modes

def is_neg(input):
    _check(input, "is_neg")
    return False  # tensord has no lazy negation views


_export("is_neg", is_neg)


def is_inference(input):
    """False: tensord does not tag tensors made under inference_mode (there is no autograd to opt out of)."""
    _check(input, "is_inference")
    return False


_export("is_inference", is_inference)

_grad = {"inference": False}


def _apply(state):
    """Sets the mode: grad mode in libtensord, the rest here."""
    _C.set_grad_enabled(state.get("enabled", _C.is_grad_enabled()))
    _grad["inference"] = state.get("inference", _grad["inference"])


def _state():
    return {"enabled": _C.is_grad_enabled(), "inference": _grad["inference"]}


def is_grad_enabled():
    return _C.is_grad_enabled()


def is_inference_mode_enabled():
    return _grad["inference"]


class _GradMode:
    """A context manager and decorator that sets the grad mode for its extent, as torch's
    grad-mode classes do.  tensord records no autograd graph yet, so only the state
    that is_grad_enabled()/is_inference_mode_enabled() report changes; grad mode off means
    ops record no autograd graph."""
    _target = None

    def _set(self):
        return {"enabled": self._target}

    def __enter__(self):
        self._prev = _state()
        _apply(self._set())
        return None

    def __exit__(self, *exc):
        _apply(self._prev)
        return False

    def __call__(self, fn):
        def wrapped(*a, **k):
            with self.__class__(*self._args):
                return fn(*a, **k)
        wrapped.__name__, wrapped.__qualname__, wrapped.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        return wrapped

    def clone(self):
        return self.__class__(*self._args)


class no_grad(_GradMode):
    _target, _args = False, ()


class enable_grad(_GradMode):
    _target, _args = True, ()


class set_grad_enabled(_GradMode):
    """Sets the mode at once (usable as a plain call), and restores it at the end of a with block."""

    def __init__(self, mode):
        if not isinstance(mode, builtins.bool):
            raise TypeError("enabled must be a bool (got %s)" % type(mode).__name__)
        self._prev = _state()
        self._args = (mode,)
        _apply({"enabled": mode})

    def __enter__(self):
        return None


class inference_mode(_GradMode):
    def __init__(self, mode=True):
        self._args = (mode,)

    def _set(self):
        m = builtins.bool(self._args[0])
        return {"enabled": not m, "inference": m}


for _n in ("is_grad_enabled", "is_inference_mode_enabled", "no_grad", "enable_grad", "set_grad_enabled",
           "inference_mode"):
    _export(_n, globals()[_n])
