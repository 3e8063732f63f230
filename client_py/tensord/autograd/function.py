"""torch.autograd.Function: forward and backward written in Python.  apply runs forward
with grad mode off, then makes its outputs the outputs of one node of libtensord's graph
whose backward calls back the class's backward in this process."""
import functools

from .. import _C
from .._grad_mode import no_grad


class _Packed:
    """A saved tensor given to saved-tensor hooks: what pack returned, and unpack."""

    __slots__ = ("obj", "unpack_hook")

    def __init__(self, obj, unpack_hook):
        self.obj, self.unpack_hook = obj, unpack_hook

    def unpack(self):
        t = self.unpack_hook(self.obj)
        if not isinstance(t, _C.TensorBase):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got result of type %s"
                            % type(t).__name__)
        return t


class FunctionCtx:
    """The ctx forward and backward share: saved tensors and flags, as torch's."""

    def __init__(self):
        self.to_save = ()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self.dirty = ()
        self.non_differentiable = ()
        self._freed = False

    def save_for_backward(self, *tensors):
        # detached aliases: the node holds ctx, so holding the outputs themselves would
        # make a cycle through C that Python's collector cannot see
        self.to_save = tuple(t.detach() if isinstance(t, _C.TensorBase) else t for t in tensors)
        from .graph import _current
        hooks = _current()
        if hooks is not None:  # saved-tensor hooks: keep what pack gives instead
            pack, unpack = hooks
            self.to_save = tuple(_Packed(pack(t), unpack) if isinstance(t, _C.TensorBase) and
                                 (t.is_floating_point() or t.is_complex()) else t for t in self.to_save)

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError("Trying to backward through the graph a second time (or directly access saved "
                               "tensors after they have already been freed). Specify retain_graph=True if you "
                               "need to backward through the graph a second time.")
        return tuple(t.unpack() if isinstance(t, _Packed) else t for t in self.to_save)

    def mark_dirty(self, *tensors):
        self.dirty = tensors

    def mark_non_differentiable(self, *tensors):
        self.non_differentiable = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class Function:
    """Subclass with static forward(ctx, *args) and backward(ctx, *grads); call apply."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use new-"
                           "style autograd function with static forward method.")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        tensors = [a for a in args if isinstance(a, _C.TensorBase)]
        ctx.needs_input_grad = tuple(isinstance(a, _C.TensorBase) and a.requires_grad for a in args)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        nondiff = {id(t) for t in ctx.non_differentiable}
        diff = [id(o) not in nondiff for o in outs if isinstance(o, _C.TensorBase)]
        # an input returned as-is comes back as a new tensor on its storage, as torch's
        # (the input keeps its own history)
        ins = {id(a) for a in tensors}
        if any(id(o) in ins for o in outs):
            with no_grad():
                outs = tuple(o.detach() if id(o) in ins else o for o in outs)
            out = outs[0] if single else outs
        out_tensors = [o for o in outs if isinstance(o, _C.TensorBase)]
        if _C.is_grad_enabled() and any(t.requires_grad for t in tensors):
            layout = [(o.shape, o.dtype) for o in out_tensors]  # not the outputs: no cycle through C
            is_tensor = [isinstance(a, _C.TensorBase) for a in args]
            name = getattr(cls, "_node_name", cls.__name__ + "Backward")  # (torch's own functions' names)
            _C.custom_apply(functools.partial(_call_backward, cls, ctx, is_tensor, diff, layout), name, tensors,
                            [o for o, d in zip(out_tensors, diff) if d])
        return out


def _call_backward(cls, ctx, is_tensor, diff, layout, *grads):
    from .. import zeros
    it = iter(grads)
    full = [next(it) if d else None for d in diff]
    if ctx.materialize_grads:
        full = [g if g is not None else zeros(s, dtype=dt) for g, (s, dt) in zip(full, layout)]
    res = cls.backward(ctx, *full)
    if not isinstance(res, tuple):
        res = (res,)
    if len(res) < len(is_tensor):
        raise RuntimeError("function %sBackward returned an incorrect number of gradients (expected %d, got %d)"
                           % (cls.__name__, len(is_tensor), len(res)))
    return tuple(g for t, g in zip(is_tensor, res) if t)


def once_differentiable(fn):
    """Marks a backward that is not itself differentiable (it runs with grad mode off)."""
    @functools.wraps(fn)
    def wrapped(ctx, *args):
        with no_grad():
            return fn(ctx, *args)
    return wrapped
