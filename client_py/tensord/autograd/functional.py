"""vjp, jvp, vhp, hvp, jacobian and hessian, as torch.autograd.functional (1.13): built on
autograd.grad over the graph libtensord records. jvp and hvp use the double-backward trick
(the gradient of a vjp with respect to its grad_outputs), as torch does, so the values agree
with torch's to rounding. jacobian takes one backward per output element; vectorize=True gives
the same Jacobian the same way, and strategy="forward-mode" (which torch allows only with
vectorize=True) gives the same values through reverse mode, in the output's dtype as torch's."""
from .. import _C
from .._grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_OUTPUTS = "outputs of the user-provided function"


# ---------------------------------------------------------------- argument handling

def _as_tuple(x, arg_name, fn_name):
    """(was it a tuple, x as a tuple of tensors): only a tuple counts as one, as in torch
    (a list is a wrong type)."""
    is_tuple = isinstance(x, tuple)
    xs = x if is_tuple else (x,)
    for i, el in enumerate(xs):
        if not isinstance(el, _C.TensorBase):
            where = "value at index %d" % i if is_tuple else "given %s" % arg_name
            raise TypeError("The %s given to %s must be either a Tensor or a tuple of Tensors but the %s has type %s."
                            % (arg_name, fn_name, where, type(el)))
    return is_tuple, xs


def _unpack(res, is_tuple):
    """Undoes _as_tuple on a result: is_tuple is one flag, or (outer, inner) for a tuple of tuples."""
    if isinstance(is_tuple, tuple):
        outer, inner = is_tuple
        if not inner:
            res = tuple(el[0] for el in res)
        return res if outer else res[0]
    return res if is_tuple else res[0]


def _fresh(tensors, create_graph, need_graph):
    """New tensor objects for tensors, so that func's own captures of the caller's tensors stay
    distinct from the inputs we differentiate with respect to; with create_graph, a tensor that
    already requires grad keeps its graph (a view of itself), else it is detached."""
    out = []
    for t in tensors:
        if create_graph and t.requires_grad:
            out.append(t.view_as(t))
        else:
            out.append(t.detach().requires_grad_(need_graph))
    return tuple(out)


def _finish(res, create_graph):
    """Results leave without history unless the caller asked for a graph (nested tuples too)."""
    if create_graph:
        return res
    return tuple(r.detach() if isinstance(r, _C.TensorBase) else _finish(r, create_graph) for r in res)


def _prepare_v(v, refs, is_refs_tuple, create_graph, fn_name, none_message):
    """v as a tuple matching refs' count and sizes (torch's messages), or None where refs is a
    single one-element tensor."""
    if v is None:
        if len(refs) != 1 or refs[0].numel() != 1:
            raise RuntimeError(none_message)
        return None
    v = _fresh(_as_tuple(v, "v", fn_name)[1], create_graph, need_graph=False)
    if len(v) != len(refs):
        if is_refs_tuple:
            raise RuntimeError("v is a tuple of invalid length: should be %d but got %d." % (len(refs), len(v)))
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (el, ref) in enumerate(zip(v, refs)):
        if el.size() != ref.size():
            raise RuntimeError("%sv has invalid size: should be %s but got %s."
                               % ("Entry %d in " % i if is_refs_tuple else "", ref.size(), el.size()))
    return v


_NOT_DIFFERENTIABLE = {
    "outputs": "Output {} of the user-provided function does not require gradients. The outputs must be"
               " computed in a differentiable manner from the input when running in strict mode.",
    "grad_inputs": "The gradient with respect to input {} is independent of the inputs of the"
                   " user-provided function. This is not allowed in strict mode.",
    "jacobian": "While computing the hessian, found that the jacobian of the user-provided function with"
                " respect to input {} is independent of the input. This is not allowed in strict mode. You"
                " should ensure that your function is twice differentiable and that the jacobian depends on"
                " the inputs (this would be violated by a linear function for example).",
}


def _check_requires_grad(tensors, kind, strict):
    """strict mode: every tensor (outputs, or gradients about to be differentiated again) must
    be there and carry a graph."""
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None:
            raise RuntimeError("The output of the user-provided function is independent of input %d."
                               " This is not allowed in strict mode." % i)
        if not t.requires_grad:
            raise RuntimeError(_NOT_DIFFERENTIABLE[kind].format(i))


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that carry a graph (None for an unreached input; all None
    when no output has a graph)."""
    from . import grad
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return grad([o for o, _ in pairs], inputs, [g for _, g in pairs], retain_graph=retain_graph,
                create_graph=create_graph, allow_unused=True)


_INDEPENDENT = {
    "back": "The output of the user-provided function is independent of input {}. This is not allowed in"
            " strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {} in the grad_outputs"
                  " when using the double backward trick to compute forward mode gradients. This is not"
                  " allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {}. This is not"
                   " allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {} in the"
                         " grad_jacobian. This is not allowed in strict mode as it prevents from using the"
                         " double backward trick to replace forward mode AD.",
}


def _zeros_for_none(grads, refs, strict, create_graph, stage):
    """grads with None replaced by zeros shaped as refs (strict: an error instead; strict with
    create_graph: also an error for a gradient without a graph)."""
    from .. import zeros_like
    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_INDEPENDENT[stage].format(i))
            g = zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if stage.startswith("double") else "jacobian"
            raise RuntimeError("The %s of the user-provided function is independent of input %d. This is not"
                               " allowed in strict mode when create_graph=True." % (what, i))
        res.append(g)
    return tuple(res)


def _call(func, inputs, fn_name):
    return _as_tuple(func(*inputs), _OUTPUTS, fn_name)


# ---------------------------------------------------------------- products

def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, shaped as the inputs."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _call(func, inputs, "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        v = _prepare_v(v, outputs, is_outputs_tuple, create_graph, "vjp",
                       "The vector v can only be None if the user-provided function returns a single Tensor"
                       " with a single element.")
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _zeros_for_none(_grad(outputs, inputs, v, create_graph), inputs, strict, create_graph, "back")
    return (_unpack(_finish(outputs, create_graph), is_outputs_tuple),
            _unpack(_finish(res, create_graph), is_inputs_tuple))


_V_FOR_INPUT = ("The vector v can only be None if the input to the user-provided function is a single Tensor"
                " with a single element.")


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, shaped as the outputs, by the double-backward
    trick: vjp(u) = J^T u is linear in u, so its gradient with respect to u, weighted by v, is J v."""
    from .. import zeros_like
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "jvp", _V_FOR_INPUT)
        is_outputs_tuple, outputs = _call(func, inputs, "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        # u's value never reaches the result (the backward is linear in it): zeros are safe
        u = tuple(zeros_like(o, requires_grad=True) for o in outputs)
        grad_inputs = _grad(outputs, inputs, u, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _zeros_for_none(_grad(grad_inputs, u, v, create_graph), outputs, strict, create_graph, "back_trick")
    return (_unpack(_finish(outputs, create_graph), is_outputs_tuple),
            _unpack(_finish(res, create_graph), is_outputs_tuple))


def _scalar_gradient(func, inputs, v, create_graph, strict, fn_name):
    """The first half of vhp and hvp: inputs, v, func's single-element output and its gradient
    (with a graph, to be differentiated again)."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _fresh(inputs, create_graph, need_graph=True)
    v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, fn_name, _V_FOR_INPUT)
    is_outputs_tuple, outputs = _call(func, inputs, fn_name)
    _check_requires_grad(outputs, "outputs", strict)
    if is_outputs_tuple:
        raise RuntimeError("The function given to %s should return a single Tensor" % fn_name)
    if outputs[0].numel() != 1:
        raise RuntimeError("The Tensor returned by the function given to %s should contain a single element"
                           % fn_name)
    jac = _grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict)
    return is_inputs_tuple, inputs, v, outputs, jac


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a func with a single-element output."""
    with enable_grad():
        is_inputs_tuple, inputs, v, outputs, jac = _scalar_gradient(func, inputs, v, create_graph, strict, "vhp")
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _zeros_for_none(_grad(jac, inputs, v, create_graph), inputs, strict, create_graph, "double_back")
    return _unpack(_finish(outputs, create_graph), False), _unpack(_finish(res, create_graph), is_inputs_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a func with a single-element output, by the double-backward trick
    on the gradient (as jvp does on func)."""
    from .. import zeros_like
    with enable_grad():
        is_inputs_tuple, inputs, v, outputs, jac = _scalar_gradient(func, inputs, v, create_graph, strict, "hvp")
        u = tuple(zeros_like(x, requires_grad=True) for x in inputs)
        double_back = _grad(jac, inputs, u, create_graph=True)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _zeros_for_none(_grad(double_back, u, v, create_graph), inputs, strict, create_graph,
                              "double_back_trick")
    return _unpack(_finish(outputs, create_graph), False), _unpack(_finish(res, create_graph), is_inputs_tuple)


# ---------------------------------------------------------------- jacobian and hessian

def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """d func(inputs) / d inputs: for output i and input j a tensor shaped output_i.shape +
    input_j.shape, nested in tuples as the outputs and inputs were."""
    assert strategy in ("forward-mode", "reverse-mode"), (
        'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your function has more'
        ' outputs than inputs, "forward-mode" tends to be more performant. Otherwise, prefer to use'
        ' "reverse-mode".')
    forward = strategy == "forward-mode"
    if forward:
        if create_graph:
            raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and'
                                      ' `strategy="forward-mode"` are not supported together (yet). Please'
                                      ' either set `create_graph=False` or `strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"`'
                               ' are not supported together (yet). Please either set `strict=False` or'
                               ' `strategy="reverse-mode"`.')
        _as_tuple(inputs, "inputs", "jacobian")
        if not vectorize:
            # torch's message, missing space included
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                                      "only implemented for `vectorize=True`.")
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _fresh(inputs, create_graph, need_graph=True)
        outs = func(*inputs)
        # torch's forward mode names the outputs without the function (its "given to None")
        is_outputs_tuple, outputs = (_as_tuple(outs, "outputs", None) if forward
                                     else _as_tuple(outs, _OUTPUTS, "jacobian"))
        _check_requires_grad(outputs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not"
                               " supported together. Please either set `strict=False` or `vectorize=False`.")
        res = tuple(_jacobian_of(i, out, inputs, create_graph, strict, forward) for i, out in enumerate(outputs))
    res = _finish(res, create_graph)
    if forward:
        res = [list(r) for r in res]  # torch's forward mode nests lists where it keeps the nesting
    return _unpack(res, (is_outputs_tuple, is_inputs_tuple))


def _jacobian_of(i, out, inputs, create_graph, strict, forward):
    """The Jacobians of output i with respect to each input, one backward per element of out."""
    from .. import stack, zeros_like
    rows = tuple([] for _ in inputs)
    flat = out.reshape(-1)
    for j in range(out.numel()):
        vj = _grad((flat[j],), inputs, retain_graph=True, create_graph=create_graph)
        for k, (g, x) in enumerate(zip(vj, inputs)):
            if g is None:
                if strict:
                    raise RuntimeError("Output %d of the user-provided function is independent of input %d."
                                       " This is not allowed in strict mode." % (i, k))
                g = zeros_like(x)
            elif strict and create_graph and not g.requires_grad:
                # torch names the output's index here
                raise RuntimeError("The jacobian of the user-provided function is independent of input %d. This"
                                   " is not allowed in strict mode when create_graph=True." % i)
            rows[k].append(g)
    jac = tuple(stack(r, dim=0).view(tuple(out.shape) + tuple(x.shape)) for r, x in zip(rows, inputs))
    # forward mode carries tangents in the output's dtype, reverse mode gradients in the input's
    return tuple(t.to(out.dtype) for t in jac) if forward else jac


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Jacobian of the gradient of func (which returns a single-element tensor): for inputs
    i and j a tensor shaped input_i.shape + input_j.shape, nested as the inputs were."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    assert outer_jacobian_strategy in ("forward-mode", "reverse-mode"), (
        'Expected strategy to be either "forward-mode" or "reverse-mode".')

    def scalar_func(*xs):
        out = func(*xs)
        is_tuple, outs = _as_tuple(out, _OUTPUTS, "hessian")
        _check_requires_grad(outs, "outputs", strict)
        if is_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        return out.squeeze()

    def gradient(*xs):
        jac = jacobian(scalar_func, xs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(gradient, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _unpack(res, (is_inputs_tuple, is_inputs_tuple))
