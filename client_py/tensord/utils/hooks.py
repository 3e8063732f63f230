"""Handles that remove a registered hook, as torch.utils.hooks."""


class RemovableHandle:
    """Returned by Tensor.register_hook: remove() takes the hook out again."""

    def __init__(self, tensor, hook_id):
        self._tensor = tensor  # Tensor has no weakref slot; the handle keeps it alive
        self.id = hook_id

    def remove(self):
        if self._tensor is not None:
            self._tensor._remove_hook(self.id)
            self._tensor = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
