"""torch.nn.grad: the gradients of a convolution with respect to its input or its weight,
given the gradient of its output — through the convolution's own backward (autograd on
a stand-in of the other operand)."""
from .. import _grad_mode
from .. import autograd
from . import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]


def _operand_grad(conv, which, x, w, grad_output, stride, padding, dilation, groups):
    """The gradient of conv(x, w) with respect to x (which 0) or w (which 1) given its
    output's, the other operand held fixed; the one asked for is a size (a stand-in of
    zeros takes its place)."""
    with _grad_mode.enable_grad():
        ops = [x, w]
        other = ops[1 - which]
        ops[which] = other.new_zeros(list(ops[which])).requires_grad_(True)
        ops[1 - which] = other.detach()
        out = conv(ops[0], ops[1], None, stride, padding, dilation, groups)
        if list(out.shape) != list(grad_output.shape):
            raise ValueError("grad_output has shape %s where the convolution gives %s"
                             % (list(grad_output.shape), list(out.shape)))
        return autograd.grad(out, ops[which], grad_output)[0]


def _input_grad(conv, input_size, weight, grad_output, *args):
    return _operand_grad(conv, 0, input_size, weight, grad_output, *args)


def _weight_grad(conv, input, weight_size, grad_output, *args):
    return _operand_grad(conv, 1, input, weight_size, grad_output, *args)


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _input_grad(F.conv1d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _weight_grad(F.conv1d, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _input_grad(F.conv2d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _weight_grad(F.conv2d, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _input_grad(F.conv3d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    return _weight_grad(F.conv3d, input, weight_size, grad_output, stride, padding, dilation, groups)
