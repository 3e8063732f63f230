"""jacobian and hessian, as torch.autograd.functional: one backward per output element."""
from .. import _C


def _tuple(x):
    return (x,) if isinstance(x, _C.TensorBase) else tuple(x)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """d func(inputs) / d inputs, shaped output.shape + input.shape (nested tuples as torch's)."""
    from .. import stack, zeros, zeros_like
    from . import grad
    single_in = isinstance(inputs, _C.TensorBase)
    inputs = tuple(x.detach().requires_grad_() for x in _tuple(inputs))
    out = func(*inputs)
    single_out = isinstance(out, _C.TensorBase)
    outs = _tuple(out)
    result = []
    for o in outs:
        per_in = [[] for _ in inputs]
        flat = o.reshape(-1)
        for j in range(flat.numel()):
            g = zeros_like(flat)
            g[j] = 1
            gs = grad([flat], list(inputs), [g], retain_graph=True, create_graph=create_graph, allow_unused=True)
            for i, (x, gi) in enumerate(zip(inputs, gs)):
                per_in[i].append(zeros_like(x) if gi is None else gi)
        row = tuple((stack(p) if p else zeros((0,) + tuple(x.shape), dtype=x.dtype)).reshape(tuple(o.shape) + tuple(x.shape))
                    for p, x in zip(per_in, inputs))
        result.append(row[0] if single_in else row)
    return result[0] if single_out else tuple(result)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Jacobian of func's gradient (func returns a single-element tensor)."""
    from . import grad
    single_in = isinstance(inputs, _C.TensorBase)

    def gradient(*xs):
        out = func(*xs)
        gs = grad([out], list(xs), create_graph=True, allow_unused=True)
        return gs[0] if single_in else gs

    return jacobian(gradient, inputs, create_graph=create_graph)
