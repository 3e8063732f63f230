"""The activation functions of torch.nn.functional (softmax/log_softmax/softmin and the
elementwise ones: relu ... glu, prelu, rrelu) and the tensor helpers plain code uses
(one_hot, normalize, linear).  Compositions of tensord ops with torch 1.13's argument
rules, differentiable through them; losses are in _loss.py, the rest in functional.py."""
import builtins
import math
import warnings

from .. import _records as F

__all__ = ["softmax", "log_softmax", "softmin", "relu", "relu_", "relu6", "sigmoid", "tanh", "gelu", "silu",
           "elu", "elu_", "leaky_relu", "leaky_relu_", "softplus", "logsigmoid", "hardtanh", "hardtanh_",
           "one_hot", "normalize", "linear", "selu", "selu_", "celu", "celu_", "mish", "softsign", "tanhshrink",
           "softshrink", "hardsigmoid", "hardswish", "glu", "prelu", "rrelu", "rrelu_", "gumbel_softmax"]


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


def _inplace(input, r, inplace, node=None):
    """r, or r copied into input; node: torch's grad_fn name for r (see F.torch_node)"""
    if inplace:
        return F.copy_(input, r)
    return F.torch_node(r, node) if node else r


def relu(input, inplace=False):
    return F.relu_(input) if inplace else F.relu(input)


def relu_(input):
    return F.relu_(input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return F.clamp_(input, min_val, max_val)
    return F.torch_node(F.clamp(input, min_val, max_val), "HardtanhBackward0")


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
        r = F.mul(F.mul(input, 0.5), F.add(t.erf(F.mul(input, 1.0 / math.sqrt(2.0))), 1.0))
        return F.torch_node(r, "GeluBackward0")
    if approximate == "tanh":
        inner = F.mul(F.add(input, F.mul(F.mul(F.mul(input, input), input), 0.044715)), math.sqrt(2.0 / math.pi))
        return F.torch_node(F.mul(F.mul(input, 0.5), F.add(F.tanh(inner), 1.0)), "GeluBackward0")
    raise RuntimeError("approximate argument must be either none or tanh.")


def silu(input, inplace=False):
    return _inplace(input, F.mul(input, F.sigmoid(input)), inplace, "SiluBackward0")


def elu(input, alpha=1.0, inplace=False):
    neg = F.mul(_pkg().expm1(input), alpha)
    return _inplace(input, F.where(F.gt(input, 0), input, neg), inplace, "EluBackward0")


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _inplace(input, F.where(F.gt(input, 0), input, F.mul(input, negative_slope)), inplace,
                    "LeakyReluBackward0")


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def softplus(input, beta=1, threshold=20):
    bx = F.mul(input, beta)
    soft = F.div(F.log1p(F.exp(bx)), beta)
    return F.torch_node(F.where(F.gt(bx, threshold), input, soft), "SoftplusBackward0")


def logsigmoid(input):
    # min(x, 0) - log1p(exp(-|x|)): no overflow for large |x|
    return F.torch_node(F.sub(F.clamp(input, max=0.0), F.log1p(F.exp(F.neg(F.abs(input))))), "LogSigmoidBackward0")


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


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + Gumbel(0, 1) noise) / tau); with hard=True the forward value is the
    one-hot of the argmax and the gradient the soft sample's (the straight-through trick)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    T = _pkg()
    gumbels = T.empty_like(logits).exponential_().log().neg()
    y = softmax(F.div(F.add(logits, gumbels), tau), dim)
    if not hard:
        return y
    index = y.max(dim, keepdim=True)[1]
    one_hot_ = T.zeros_like(logits).scatter_(dim, index, 1.0)
    return F.add(F.sub(one_hot_, y.detach()), y)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    norm = _pkg().norm(input, p, dim, keepdim=True)
    r = F.div(input, F.expand_as(F.clamp(norm, min=eps), input))
    return F._out(r, out)


def _same_mm_dtype(input, weight):
    """torch's addmm check, which its linear (with a bias) and recurrent layers reach first;
    not under autocast, which casts both operands"""
    if input.dtype is not weight.dtype:
        from ..amp import autocast_mode
        if not (autocast_mode.is_autocast_cpu_enabled() or autocast_mode.is_autocast_enabled()):
            raise RuntimeError("mat1 and mat2 must have the same dtype")


def linear(input, weight, bias=None):
    if bias is not None and input.ndim >= 2:
        _same_mm_dtype(input, weight)
    r = F.matmul(input, F.t(weight) if weight.ndim == 2 else weight)
    if bias is not None and bias.dtype is not r.dtype:   # the matmul ran under autocast: the bias joins it
        from ..amp.autocast_mode import lower_precision_operand
        bias = lower_precision_operand(bias)
    r = r if bias is None else F.add(r, bias)
    if weight.ndim == 2 and input.ndim >= 2:
        # torch: addmm (mm) for a matrix; a higher-rank input flattened to one and viewed back
        node = ("AddmmBackward0" if bias is not None else "MmBackward0") if input.ndim == 2 else \
            "ViewBackward0" if bias is not None else "UnsafeViewBackward0"
        F.torch_node(r, node)
    return r


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    neg = F.mul(_pkg().expm1(input), _SELU_ALPHA)
    return _inplace(input, F.mul(F.where(F.gt(input, 0), input, neg), _SELU_SCALE), inplace, "EluBackward0")


def selu_(input):
    return selu(input, True)


def celu(input, alpha=1.0, inplace=False):
    neg = F.mul(_pkg().expm1(F.div(input, alpha)), alpha)
    return _inplace(input, F.where(F.gt(input, 0), input, neg), inplace, "CeluBackward0")


def celu_(input, alpha=1.0):
    return celu(input, alpha, True)


def mish(input, inplace=False):
    return _inplace(input, F.mul(input, F.tanh(softplus(input))), inplace, "MishBackward0")


def softsign(input):
    return F.div(input, F.add(F.abs(input), 1))


def tanhshrink(input):
    return F.sub(input, F.tanh(input))


def softshrink(input, lambd=0.5):
    if lambd < 0:
        raise RuntimeError("softshrink: lambda (%s) must be non-negative" % lambd)
    shrunk = F.sub(input, F.mul(F.sign(input), lambd))
    return F.where(F.gt(F.abs(input), lambd), shrunk, F.mul(input, 0))


def hardsigmoid(input, inplace=False):
    return _inplace(input, F.div(F.clamp(F.add(input, 3.0), 0.0, 6.0), 6.0), inplace, "HardsigmoidBackward0")


def hardswish(input, inplace=False):
    return _inplace(input, F.mul(input, F.div(F.clamp(F.add(input, 3.0), 0.0, 6.0), 6.0)), inplace,
                    "HardswishBackward0")


def glu(input, dim=-1):
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = F.wrap_dim(dim, input.ndim)
    n = input.shape[d]
    if n % 2:
        raise RuntimeError("Halving dimension must be even, but dimension %d is size %d" % (d, n))
    a, b = F.narrow(input, d, 0, n // 2), F.narrow(input, d, n // 2, n // 2)
    return F.mul(a, F.sigmoid(b))


def prelu(input, weight):
    w = weight
    if weight.numel() != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.numel() != channels:
            raise RuntimeError("Mismatch of parameter numbers and input channel size. Found parameter numbers = %d "
                               "and channel size = %d." % (weight.numel(), channels))
        if input.ndim >= 2:  # one slope per channel (dim 1)
            w = F.reshape(weight, [channels] + [1] * (input.ndim - 2))
    return F.torch_node(F.where(F.gt(input, 0), input, F.mul(w, input)), "PreluBackward0")


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    return _rrelu(input, lower, upper, training, inplace, None)


def _rrelu(input, lower, upper, training, inplace, generator):
    """Negative inputs scaled by a slope drawn from U(lower, upper) per element (training),
    else by the mean slope."""
    if not input.dtype.is_floating_point:
        raise RuntimeError("\"%s\" not implemented for '%s'"
                           % ("rrelu_with_noise_out_cpu" if training else "leaky_relu_cpu", input.dtype._torch_name))
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from .._random import uniform_
    from .._creation import empty
    slope = uniform_(empty(tuple(input.shape), dtype=input.dtype, device=input.device), lower, upper,
                     generator=generator)
    return _inplace(input, F.where(F.ge(input, 0), input, F.mul(input, slope)), inplace)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, True)
