"""Hooks, as torch.utils.hooks: RemovableHandle for hooks kept in a dict (nn.Module's
forward hooks), its forms for a tensor's and a grad_fn's hooks, which the C tape keeps by
id; and BackwardHook, which runs nn.Module's full backward hooks: the module's tensor
inputs and outputs pass through an identity Function (BackwardHookFunction) whose
grad_fn's hooks see grad_output (output side) and grad_input (input side)."""
import weakref

from .. import _C


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


class _NodeHookHandle(RemovableHandle):
    """A grad_fn's register_hook / register_prehook handle: the hook lives on the node (C),
    under its id."""

    def __init__(self, node, hook_id, pre=False):
        self._node = node
        self.id = hook_id
        self._pre = pre
        self.hooks_dict_ref = self.extra_dict_ref = None

    def remove(self):
        if self._node is not None:
            self._node._remove_hook(self.id, self._pre)
            self._node = None


class BackwardHook:
    """One call of a module with full backward hooks: setup_input_hook and
    setup_output_hook route its tensor inputs and outputs through BackwardHookFunction;
    the hooks run once the gradients of the inputs are known (on the input side's node),
    or on the output side's when no input requires grad."""

    def __init__(self, module, user_hooks):
        self.user_hooks = user_hooks
        self.module = module
        self.grad_outputs = None
        self.n_outputs = -1
        self.output_tensors_index = None
        self.n_inputs = -1
        self.input_tensors_index = None

    @staticmethod
    def _pack_with_none(indices, values, size):
        res = [None] * size
        for i, v in zip(indices, values):
            res[i] = v
        return tuple(res)

    @staticmethod
    def _unpack_none(indices, values):
        return tuple(values[i] for i in indices)

    def _set_user_hook(self, grad_fn):
        def hook(grad_input, _):
            if self.grad_outputs is None:
                return None  # the gradient reached the inputs without passing the outputs (double backward)
            res = self._pack_with_none(self.input_tensors_index, grad_input, self.n_inputs)
            for user_hook in self.user_hooks:
                out = user_hook(self.module, res, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(res):
                    raise RuntimeError("Backward hook returned an invalid number of grad_input, got %d, but "
                                       "expected %d" % (len(out), len(res)))
                res = out
            self.grad_outputs = None
            return self._unpack_none(self.input_tensors_index, res)
        grad_fn.register_hook(hook)

    def _apply_on_tensors(self, fn, args):
        """args with its tensors replaced by BackwardHookFunction's outputs (fn given their
        grad_fn), and the tensors' positions; args and None when nothing needs grad."""
        from ..nn.modules._functions import BackwardHookFunction
        idx = [i for i, a in enumerate(args) if isinstance(a, _C.TensorBase)]
        tensors = [args[i] for i in idx]
        if not (any(t.requires_grad for t in tensors) and _C.is_grad_enabled()):
            return args, None
        new_tensors = BackwardHookFunction.apply(*tensors)
        if len(new_tensors) == 0:
            raise RuntimeError("Cannot set Module backward hook for a Module with no input Tensors.")
        grad_fns = [t.grad_fn for t in new_tensors
                    if t.grad_fn is not None and t.grad_fn.name() == "BackwardHookFunctionBackward"]
        if not grad_fns:
            raise RuntimeError("Error while setting up backward hooks. Please open an issue with a code sample to "
                               "reproduce this.")
        fn(grad_fns[0])
        out = list(args)
        for i, t in zip(idx, new_tensors):
            out[i] = t
        return tuple(out), idx

    def setup_input_hook(self, args):
        res, idx = self._apply_on_tensors(self._set_user_hook, args)
        self.n_inputs = len(args)
        self.input_tensors_index = idx
        return res

    def setup_output_hook(self, args):
        def fn(grad_fn):
            def hook(_, grad_output):
                self.grad_outputs = self._pack_with_none(self.output_tensors_index, grad_output, self.n_outputs)
                if self.input_tensors_index is None:  # no input needs grad: the hooks run here
                    grad_inputs = self._pack_with_none([], [], self.n_inputs)
                    for user_hook in self.user_hooks:
                        res = user_hook(self.module, grad_inputs, self.grad_outputs)
                        if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                            raise RuntimeError("Backward hook for Modules where no input requires gradient should "
                                               "always return None or None for all gradients.")
                    self.grad_outputs = None
            grad_fn.register_hook(hook)

        is_tuple = isinstance(args, tuple)
        res, idx = self._apply_on_tensors(fn, args if is_tuple else (args,))
        self.n_outputs = len(args) if is_tuple else 1
        self.output_tensors_index = idx
        return res if is_tuple else res[0]
