"""torch.autograd.graph's saved-tensor hooks: saved_tensors_hooks(pack, unpack) makes
every floating tensor saved for backward while it is active (on this thread) go through
pack when saved and unpack when backward needs it — libtensord's tape keeps the packed
object instead of the tensor (td_ag_saved_hooks_push); save_on_cpu keeps CPU copies of
device tensors; disable_saved_tensors_hooks forbids hooks.  Tensors of integer and bool
dtype (indices, masks) are kept as they are, and a tensor that went through the hooks
carries no history into a double backward."""
import threading

from .. import _C

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]

_local = threading.local()


def _stack(name):
    s = getattr(_local, name, None)
    if s is None:
        s = []
        setattr(_local, name, s)
    return s


def _current():
    """This thread's innermost (pack, unpack), or None (custom Functions' saves use it)."""
    s = _stack("hooks")
    return s[-1] if s else None


def _described(e):
    """torch's RuntimeError text for an exception raised in a hook: "Type: message", then
    the stack innermost first (pybind11's error_already_set)."""
    frames, tb = [], e.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    stack = list(reversed(frames[1:]))  # the hook's frames (the first is _torch_style's)
    f = frames[0][0].f_back if frames else None
    while f is not None:
        stack.append((f, f.f_lineno))
        f = f.f_back
    where = "".join("  %s(%d): %s\n" % (fr.f_code.co_filename, line, fr.f_code.co_name) for fr, line in stack)
    return "%s: %s\n\nAt:\n%s" % (type(e).__name__, e, where)


def _torch_style(hook):
    def call(x):
        try:
            return hook(x)
        except Exception as e:
            raise RuntimeError(_described(e)) from None
    return call


class saved_tensors_hooks:
    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        disabled = _stack("disabled")
        if disabled:
            raise RuntimeError(disabled[-1])
        pair = (_torch_style(self.pack_hook), _torch_style(self.unpack_hook))
        _C._saved_hooks_push(*pair)
        _stack("hooks").append(pair)
        return self

    def __exit__(self, *exc):
        _stack("hooks").pop()
        _C._saved_hooks_pop()
        return False


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors kept as CPU copies (device memory freed until backward), copied back
    to their device when used."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack(t):
            return t.device, t.to("cpu", copy=True)

        def unpack(packed):
            device, t = packed
            return t.to(device, non_blocking=pin_memory)
        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:
    """While active, entering saved_tensors_hooks raises RuntimeError(error_message)."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        _stack("disabled").append(self.error_message)
        return self

    def __exit__(self, *exc):
        _stack("disabled").pop()
        return False
