"""The stateless tensor functions of torch.nn.functional that plain tensor code uses:
softmax/log_softmax/softmin, the elementwise activations, one_hot, normalize, linear.
Compositions of tensord ops with torch 1.13's argument rules (losses, convolution and
pooling are not here yet)."""
import builtins
import math
import warnings

from .. import _records as F

__all__ = ["softmax", "log_softmax", "softmin", "relu", "relu_", "relu6", "sigmoid", "tanh", "gelu", "silu",
           "elu", "elu_", "leaky_relu", "leaky_relu_", "softplus", "logsigmoid", "hardtanh", "hardtanh_",
           "one_hot", "normalize", "linear"]


def _pkg():
    from .. import _math  # noqa: F401  (softmax lives there; imported late: nn loads first)
    import tensord
    return tensord


def _softmax_dim(name, ndim, stacklevel):
    warnings.warn("Implicit dimension choice for %s has been deprecated. Change the call to include dim=X as an "
                  "argument." % name, UserWarning, stacklevel=stacklevel + 1)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return _pkg().softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _pkg().log_softmax(input, dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, _stacklevel)
    if dtype is not None:
        input = F.cast(input, dtype)
    return _pkg().softmax(F.neg(input), dim)


def _inplace(input, r, inplace):
    return F.copy_(input, r) if inplace else r


def relu(input, inplace=False):
    return F.relu_(input) if inplace else F.relu(input)


def relu_(input):
    return F.relu_(input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return F.clamp_(input, min_val, max_val) if inplace else F.clamp(input, min_val, max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, True)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def sigmoid(input):
    warnings.warn("nn.functional.sigmoid is deprecated. Use torch.sigmoid instead.", UserWarning, stacklevel=2)
    return F.sigmoid(input)


def tanh(input):
    warnings.warn("nn.functional.tanh is deprecated. Use torch.tanh instead.", UserWarning, stacklevel=2)
    return F.tanh(input)


def gelu(input, approximate="none"):
    t = _pkg()
    if approximate == "none":
        return F.mul(F.mul(input, 0.5), F.add(t.erf(F.mul(input, 1.0 / math.sqrt(2.0))), 1.0))
    if approximate == "tanh":
        inner = F.mul(F.add(input, F.mul(F.mul(F.mul(input, input), input), 0.044715)), math.sqrt(2.0 / math.pi))
        return F.mul(F.mul(input, 0.5), F.add(F.tanh(inner), 1.0))
    raise RuntimeError("approximate argument must be either none or tanh.")


def silu(input, inplace=False):
    return _inplace(input, F.mul(input, F.sigmoid(input)), inplace)


def elu(input, alpha=1.0, inplace=False):
    neg = F.mul(_pkg().expm1(input), alpha)
    return _inplace(input, F.where(F.gt(input, 0), input, neg), inplace)


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _inplace(input, F.where(F.gt(input, 0), input, F.mul(input, negative_slope)), inplace)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def softplus(input, beta=1, threshold=20):
    bx = F.mul(input, beta)
    soft = F.div(F.log1p(F.exp(bx)), beta)
    return F.where(F.gt(bx, threshold), input, soft)


def logsigmoid(input):
    # min(x, 0) - log1p(exp(-|x|)): no overflow for large |x|
    return F.sub(F.clamp(input, max=0.0), F.log1p(F.exp(F.neg(F.abs(input)))))


def one_hot(tensor, num_classes=-1):
    F._check_tensor(tensor, "one_hot", "tensor")
    if tensor.dtype._name != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor.")
    n = tensor.numel()
    if num_classes == -1:
        if n == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = builtins.int(F.amax(tensor).item()) + 1
    if n:
        if F.amin(tensor).item() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if F.amax(tensor).item() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    classes = _pkg().arange(num_classes)
    return F.cast(F.eq(F.unsqueeze(tensor, -1), classes), tensor.dtype)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    norm = _pkg().norm(input, p, dim, keepdim=True)
    r = F.div(input, F.expand_as(F.clamp(norm, min=eps), input))
    return F._out(r, out)


def linear(input, weight, bias=None):
    r = F.matmul(input, F.t(weight) if weight.ndim == 2 else weight)
    return r if bias is None else F.add(r, bias)
