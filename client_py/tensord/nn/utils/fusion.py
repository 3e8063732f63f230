"""Folding a BatchNorm in eval mode into the convolution before it, as
torch.nn.utils.fusion: w' = w * gamma / sqrt(var + eps) per output channel and
b' = (b - mean) * gamma / sqrt(var + eps) + beta."""
import copy

from ..._grad_mode import no_grad
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights"]


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of conv computing bn(conv(x)) as bn stands (eval mode only)."""
    assert not (conv.training or bn.training), "Fusion only for eval!"
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """The folded (weight, bias) as Parameters."""
    import tensord as T
    with no_grad():
        if conv_b is None:
            conv_b = T.zeros_like(bn_rm)
        if bn_w is None:
            bn_w = T.ones_like(bn_rm)
        if bn_b is None:
            bn_b = T.zeros_like(bn_rm)
        scale = bn_w * T.rsqrt(bn_rv + bn_eps)
        # per output channel: dim 0 of a convolution's weight, dim 1 of a transposed one's
        shape = [1] * conv_w.ndim
        shape[1 if transpose else 0] = -1
        w = conv_w * scale.reshape(shape)
        b = (conv_b - bn_rm) * scale + bn_b
    return Parameter(w, conv_w.requires_grad), Parameter(b, conv_b.requires_grad)
