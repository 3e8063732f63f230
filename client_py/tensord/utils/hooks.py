"""Handles that remove a registered hook, as torch.utils.hooks."""
import weakref


class RemovableHandle:
    """Returned by Tensor.register_hook: remove() takes the hook out again."""

    def __init__(self, tensor, hook_id):
        self._tensor = weakref.ref(tensor)
        self.id = hook_id

    def remove(self):
        t = self._tensor()
        if t is not None:
            t._remove_hook(self.id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
