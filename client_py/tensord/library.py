"""torch.library's custom operators (torch 2.4: custom_op, register_autograd,
register_fake, register_kernel) for Python-defined ops: the op runs its Python function
eagerly (ops inside it are daemon records like any others), register_autograd makes it a
tensord.autograd.Function with the given backward, and it is reachable as
tensord.ops.<namespace>.<name>, as torch.ops.<namespace>.<name>."""
import functools

from .autograd.function import Function

__all__ = ["custom_op", "CustomOpDef", "register_autograd", "register_fake", "register_kernel"]


class _Namespace:
    def __init__(self, name):
        self._name = name

    def __getattr__(self, op):
        raise AttributeError("'_OpNamespace' '%s' object has no attribute '%s'" % (self._name, op))


class _Ops:
    """tensord.ops: the namespaces custom ops are registered in."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        ns = _Namespace(name)
        setattr(self, name, ns)
        return ns


ops = _Ops()


class CustomOpDef:
    def __init__(self, qualname, fn, mutates_args):
        self._qualname, self._fn, self._mutates_args = qualname, fn, mutates_args
        self._kernels, self._fake, self._autograd = {}, None, None
        functools.update_wrapper(self, fn)

    def _impl(self, args):
        from . import Tensor
        for a in args:
            if isinstance(a, Tensor) and a.device.type in self._kernels:
                return self._kernels[a.device.type]
        return self._fn

    def __call__(self, *args, **kwargs):
        impl = self._impl(args)
        if self._autograd is None:
            return impl(*args, **kwargs)
        return self._autograd.apply(impl, kwargs, *args)

    def register_kernel(self, device_types, fn=None):
        """fn runs instead of the default function when a tensor argument is on one of
        device_types ("cpu", "cuda")."""
        def register(f):
            for d in ([device_types] if isinstance(device_types, str) else list(device_types)):
                self._kernels[d] = f
            return f
        return register(fn) if fn is not None else register

    def register_fake(self, fn):
        """The meta ("fake") implementation: kept for the API (tensord computes shapes by
        running the op)."""
        self._fake = fn
        return fn

    def register_autograd(self, backward, *, setup_context=None):
        """backward(ctx, *grads) -> a gradient per input (None for non-tensors), after
        setup_context(ctx, inputs, output) saved what it needs."""
        class _Op(Function):
            @staticmethod
            def forward(ctx, impl, kwargs, *inputs):
                out = impl(*inputs, **kwargs)
                if setup_context is not None:
                    setup_context(ctx, inputs, out)
                return out

            @staticmethod
            def backward(ctx, *grads):
                got = backward(ctx, *grads)
                got = got if isinstance(got, tuple) else (got,)
                return (None, None) + got
        _Op.__name__ = self._qualname.replace("::", "_")
        self._autograd = _Op


def custom_op(name, fn=None, /, *, mutates_args, device_types=None, schema=None):
    """@custom_op("mylib::name", mutates_args=()) on a function of tensors: the op, also at
    tensord.ops.mylib.name."""
    if "::" not in name:
        raise ValueError('Expected `name` to be of the form "namespace::opname", got %r' % name)
    namespace, opname = name.split("::", 1)

    def make(f):
        op = CustomOpDef(name, f, mutates_args)
        if device_types is not None:
            op.register_kernel(device_types, f)
        setattr(getattr(ops, namespace), opname, op)
        return op
    return make(fn) if fn is not None else make


def register_autograd(op, backward, *, setup_context=None, lib=None):
    _resolve(op).register_autograd(backward, setup_context=setup_context)


def register_fake(op, fn=None, /, *, lib=None, _stacklevel=1):
    target = _resolve(op)
    return target.register_fake(fn) if fn is not None else target.register_fake


def register_kernel(op, device_types, fn=None, /, *, lib=None):
    return _resolve(op).register_kernel(device_types, fn)


def _resolve(op):
    if isinstance(op, CustomOpDef):
        return op
    if isinstance(op, str) and "::" in op:
        ns, name = op.split("::", 1)
        return getattr(getattr(ops, ns), name)
    raise ValueError('register_*: expected a custom op or its "namespace::name", got %r' % (op,))
