"""Handles that remove a registered hook, as torch.utils.hooks: RemovableHandle for hooks
kept in a dict (nn.Module's forward hooks), and its form for a tensor's hooks, which the
C tape keeps by id."""
import weakref


class RemovableHandle:
    """A handle which provides the capability to remove a hook (torch.utils.hooks.RemovableHandle).

    hooks_dict maps ids to hooks; remove() deletes this handle's id from it (and from
    extra_dict, when given).  The dicts are held weakly, as torch does."""

    next_id = 0

    def __init__(self, hooks_dict, *, extra_dict=None):
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        self.extra_dict_ref = weakref.ref(extra_dict) if extra_dict is not None else None

    def remove(self):
        for ref in (self.hooks_dict_ref, self.extra_dict_ref):
            d = ref() if ref is not None else None
            if d is not None and self.id in d:
                del d[self.id]

    def __getstate__(self):
        if self.extra_dict_ref is None:
            return (self.hooks_dict_ref(), self.id)
        return (self.hooks_dict_ref(), self.id, self.extra_dict_ref())

    def __setstate__(self, state):
        # the dict gone: a handle that removes nothing
        self.hooks_dict_ref = weakref.ref(state[0]) if state[0] is not None else (lambda: None)
        self.id = state[1]
        RemovableHandle.next_id = max(RemovableHandle.next_id, self.id + 1)
        self.extra_dict_ref = None if len(state) < 3 or state[2] is None else weakref.ref(state[2])

    def __enter__(self):
        return self

    def __exit__(self, type, value, tb):
        self.remove()


class _TensorHookHandle(RemovableHandle):
    """Tensor.register_hook's handle: the hook lives on the tensor's autograd state (C),
    under the id the tape gave it."""

    def __init__(self, tensor, hook_id):
        self._tensor = tensor  # Tensor has no weakref slot; the handle keeps it alive
        self.id = hook_id
        self.hooks_dict_ref = self.extra_dict_ref = None

    def remove(self):
        if self._tensor is not None:
            self._tensor._remove_hook(self.id)
            self._tensor = None
