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


def _channel_dims(x):
    return [0] + list(range(2, x.dim()))


def _per_channel(v, x):
    """v (C,) shaped to broadcast over x (N, C, ...)."""
    return v.reshape([1, -1] + [1] * (x.dim() - 2))


class SyncBatchNorm(Function):
    """Batch norm over the batches of every rank of a process group: the per-channel sums,
    squared sums and counts are all_reduced in forward, and in backward the sums of the
    gradient and of gradient times (x - mean), so each rank's input gradient is that of
    one batch norm over the union of the ranks' batches.  The weight's and bias's
    gradients stay local (DistributedDataParallel averages them)."""

    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, eps, momentum, process_group, world_size):
        from ... import distributed as dist
        from ..._creation import ones_like, zeros_like
        from ..._records import cat
        dims = _channel_dims(input)
        count = input.numel() // input.size(1)
        if count == 1 and world_size < 2:
            raise ValueError("Expected more than 1 value per channel when training, got input size {}"
                             .format(input.size()))
        from ..._dtype import bfloat16, float16
        x = input.float() if input.dtype in (float16, bfloat16) else input  # statistics in float32, as torch's
        c = input.size(1)
        stats = cat([x.sum(dims), (x * x).sum(dims), x.new_full((1,), float(count))])
        dist.all_reduce(stats, group=process_group)
        total = float(stats[2 * c].item())
        if total <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input size {}"
                             .format(input.size()))
        mean = stats[:c] / total
        var = (stats[c:2 * c] / total - mean * mean).clamp(min=0)
        invstd = (var + eps).rsqrt()
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype) * momentum)
        if running_var is not None:
            unbiased = var * (total / (total - 1))
            running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype) * momentum)
        w = weight if weight is not None else ones_like(mean)
        b = bias if bias is not None else zeros_like(mean)
        out = (x - _per_channel(mean, x)) * _per_channel(invstd * w.to(x.dtype), x) + _per_channel(b.to(x.dtype), x)
        ctx.save_for_backward(x, w, mean, invstd)
        ctx.total, ctx.process_group = total, process_group
        ctx.has_weight, ctx.has_bias = weight is not None, bias is not None
        return out.to(input.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        from ... import distributed as dist
        from ..._records import cat
        x, w, mean, invstd = ctx.saved_tensors
        dy = grad_output.to(x.dtype)
        dims = _channel_dims(x)
        xmu = x - _per_channel(mean, x)
        sum_dy = dy.sum(dims)
        sum_dy_xmu = (dy * xmu).sum(dims)
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            c = mean.numel()
            both = cat([sum_dy, sum_dy_xmu])
            dist.all_reduce(both, group=ctx.process_group)
            mean_dy, mean_dy_xmu = both[:c] / ctx.total, both[c:] / ctx.total
            grad_input = ((dy - _per_channel(mean_dy, x) - xmu * _per_channel(invstd * invstd * mean_dy_xmu, x))
                          * _per_channel(invstd * w.to(x.dtype), x)).to(grad_output.dtype)
        if ctx.has_weight and ctx.needs_input_grad[1]:
            grad_weight = (sum_dy_xmu * invstd).to(w.dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = sum_dy.to(w.dtype)
        return grad_input, grad_weight, grad_bias, None, None, None, None, None, None
