"""Autograd Functions nn.Module uses itself (torch.nn.modules._functions): the identity
that full backward hooks hang on."""
from ...autograd.function import Function


class BackwardHookFunction(Function):
    """Identity on its tensors; those that do not require grad stay without grad.  Its
    grad_fn (BackwardHookFunctionBackward) carries BackwardHook's node hooks."""

    @staticmethod
    def forward(ctx, *args):
        ctx.mark_non_differentiable(*[a for a in args if not a.requires_grad])
        return args

    @staticmethod
    def backward(ctx, *args):
        return args
