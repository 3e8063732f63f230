"""torch.nn.grad: the gradients of a convolution with respect to its input or its weight,
given the gradient of its output — through the convolution's own backward (autograd on
a stand-in of the other operand)."""
from .. import _grad_mode
from .. import autograd
from . import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]


def _input_grad(conv, input_size, weight, grad_output, stride, padding, dilation, groups):
    with _grad_mode.enable_grad():
        x = weight.new_zeros(list(input_size)).requires_grad_(True)
        out = conv(x, weight.detach(), None, stride, padding, dilation, groups)
        if list(out.shape) != list(grad_output.shape):
            raise ValueError("grad_output has shape %s where the convolution of an input of size %s gives %s"
                             % (list(grad_output.shape), list(input_size), list(out.shape)))
        return autograd.grad(out, x, grad_output)[0]


def _weight_grad(conv, input, weight_size, grad_output, stride, padding, dilation, groups):
    with _grad_mode.enable_grad():
        w = input.new_zeros(list(weight_size)).requires_grad_(True)
        out = conv(input.detach(), w, None, stride, padding, dilation, groups)
        if list(out.shape) != list(grad_output.shape):
            raise ValueError("grad_output has shape %s where the convolution with a weight of size %s gives %s"
                             % (list(grad_output.shape), list(weight_size), list(out.shape)))
        return autograd.grad(out, w, grad_output)[0]


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
