"""tensord.func (torch.func, PyTorch 2.x): function transforms over tensord's tape.
grad, grad_and_value, vjp, jacrev, jacfwd and hessian differentiate a function of tensors
(or of dicts, lists and tuples of them, such as a module's parameters for
functional_call) with the autograd engine, and compose: grad(grad(f)) is the second
derivative, since a transform keeps the graph when its inputs are themselves being
differentiated.  vmap maps a function over a dimension by calling it once per slice and
stacking the results (the same values as torch's batching rules, not their speed);
jacfwd computes the Jacobian in reverse mode (the same values)."""
from .. import _grad_mode
from .. import autograd as _autograd
from ..nn.utils.stateless import functional_call as _functional_call

__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "stack_module_state",
           "vjp", "vmap"]


def _tensor_type():
    from .._tensor import Tensor
    return Tensor


# ---- pytrees: tensors nested in dicts, lists and tuples

def _flatten(tree):
    """(leaves, rebuild): rebuild(new_leaves) makes the same structure around them."""
    T = _tensor_type()
    if isinstance(tree, T):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, dict):
        keys = list(tree)
        parts = [_flatten(tree[k]) for k in keys]
    elif isinstance(tree, (list, tuple)):
        keys = None
        parts = [_flatten(x) for x in tree]
    else:
        return [], lambda leaves: tree
    counts = [len(p[0]) for p in parts]
    leaves = [leaf for p in parts for leaf in p[0]]

    def rebuild(new):
        out, at = [], 0
        for (_, sub), n in zip(parts, counts):
            out.append(sub(new[at:at + n]))
            at += n
        if keys is not None:
            return type(tree)(zip(keys, out))
        if isinstance(tree, tuple) and hasattr(tree, "_fields"):
            return type(tree)(*out)
        return type(tree)(out)
    return leaves, rebuild


def _track(x):
    """x as an input to differentiate: a fresh leaf, or (when x is itself being
    differentiated by an enclosing transform) an alias that keeps its graph."""
    return x.view_as(x) if x.requires_grad else x.detach().requires_grad_(True)


def _argnums(argnums, n):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise RuntimeError("argnums must be non-empty")
    for a in nums:
        if not -n <= a < n:
            raise RuntimeError("Got argnums=%d, but only %d positional inputs" % (a, n))
    return tuple(a % n for a in nums), isinstance(argnums, int)


def _prepared(args, argnums):
    """The args with the differentiated ones tracked; their leaves; whether any input was
    already being differentiated (then results keep their graph)."""
    args = list(args)
    nums, single = _argnums(argnums, len(args))
    leaves, nested = [], False
    for a in nums:
        flat, rebuild = _flatten(args[a])
        nested = nested or any(t.requires_grad for t in flat)
        tracked = [_track(t) for t in flat]
        leaves.append((tracked, rebuild))
        args[a] = rebuild(tracked)
    return args, leaves, single, nested


def _grads_of(out, leaves, nested, grad_outputs=None):
    flat = [t for tracked, _ in leaves for t in tracked]
    gs = _autograd.grad(out, flat, grad_outputs, create_graph=nested, allow_unused=True)
    gs = [g if g is not None else t.new_zeros(t.shape) for g, t in zip(gs, flat)]
    if not nested:
        gs = [g.detach() for g in gs]
    res, at = [], 0
    for tracked, rebuild in leaves:
        res.append(rebuild(gs[at:at + len(tracked)]))
        at += len(tracked)
    return res


def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient of func's scalar output with respect to the argnums
    arguments, func's output)."""
    def wrapper(*args, **kwargs):
        with _grad_mode.enable_grad():
            args, leaves, single, nested = _prepared(args, argnums)
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should be a tuple: "
                                       "(output, aux) if has_aux is True")
                out, aux = out
            if not isinstance(out, _tensor_type()):
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got %s"
                                   % type(out).__name__)
            if out.dim() != 0:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                                   "tensor with %d dims. Maybe you wanted to use the vjp or jacrev APIs instead?"
                                   % out.dim())
            gs = _grads_of(out, leaves, nested)
        value = out if nested else out.detach()
        g = gs[0] if single else tuple(gs)
        return (g, (value, aux)) if has_aux else (g, value)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of func's scalar output with respect to its argnums arguments."""
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return wrapper


def _call_tracked(func, primals, has_aux):
    """func on the primals, every one tracked: (leaves, nested, output, aux)."""
    args, leaves, _, nested = _prepared(primals, tuple(range(len(primals))))
    out = func(*args)
    aux = None
    if has_aux:
        out, aux = out
    return leaves, nested, out, aux


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn): vjp_fn(cotangents) gives the vector-Jacobian products
    with respect to every primal, in a tuple."""
    with _grad_mode.enable_grad():
        leaves, nested, out, aux = _call_tracked(func, primals, has_aux)
    out_leaves, _ = _flatten(out)

    def vjp_fn(cotangents):
        cots, _ = _flatten(cotangents)
        if len(cots) != len(out_leaves):
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of "
                               "outputs to the function")
        with _grad_mode.enable_grad():
            return tuple(_grads_of(out_leaves, leaves, nested, cots))
    shown = out if nested else _flatten(out)[1]([t.detach() for t in out_leaves])
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), the Jacobian-vector product with tangents): J t computed as the
    derivative of a vector-Jacobian product u^T J with respect to u (the double-vjp
    identity), exact, through reverse mode."""
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to be tuples")
    if len(primals) != len(tangents):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same length")
    with _grad_mode.enable_grad():
        leaves, nested, out, aux = _call_tracked(func, primals, has_aux)
        outs, rebuild = _flatten(out)
        us = [o.new_zeros(o.shape).requires_grad_(True) for o in outs]
        flat_in = [t for tracked, _ in leaves for t in tracked]
        vjps = _autograd.grad(outs, flat_in, us, create_graph=True, allow_unused=True)
        tans = [t for tan in tangents for t in _flatten(tan)[0]]
        pairs = [(v, t) for v, t in zip(vjps, tans) if v is not None]
        jv = _autograd.grad([v for v, _ in pairs], us, [t for _, t in pairs], create_graph=nested,
                            allow_unused=True) if pairs else [None] * len(us)
        jv = [j if j is not None else o.new_zeros(o.shape) for j, o in zip(jv, outs)]
    if not nested:
        outs, jv = [o.detach() for o in outs], [j.detach() for j in jv]
    res = (rebuild(outs), rebuild(jv))
    return res + (aux,) if has_aux else res


def stack_module_state(models):
    """({name: parameters stacked over the models}, {name: buffers stacked}) for vmapping
    one functional_call over an ensemble; the stacked parameters are new leaves."""
    from .. import stack
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({type(m) for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    params = {name: stack([dict(m.named_parameters())[name].detach() for m in models]).requires_grad_(p.requires_grad)
              for name, p in models[0].named_parameters()}
    buffers = {name: stack([dict(m.named_buffers())[name] for m in models])
               for name, _ in models[0].named_buffers()}
    return params, buffers


def jacrev(func, argnums=0, has_aux=False):
    """The Jacobian of func's output with respect to its argnums arguments (tensors), as
    output.shape + input.shape."""
    def wrapper(*args, **kwargs):
        nums, single = _argnums(argnums, len(args))
        with _grad_mode.enable_grad():
            args = list(args)
            nested = any(args[a].requires_grad for a in nums)
            for a in nums:
                args[a] = _track(args[a])
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                out, aux = out
            flat = out.reshape(-1)
            rows = [[] for _ in nums]
            for k in range(flat.numel()):
                gs = _autograd.grad(flat[k], [args[a] for a in nums], retain_graph=True, create_graph=nested,
                                    allow_unused=True)
                for j, (g, a) in enumerate(zip(gs, nums)):
                    rows[j].append(g if g is not None else args[a].new_zeros(args[a].shape))
            jacs = []
            for j, a in enumerate(nums):
                jac = _stack(rows[j], args[a].new_zeros((0,) + tuple(args[a].shape)))
                jac = jac.reshape(tuple(out.shape) + tuple(args[a].shape))
                jacs.append(jac if nested else jac.detach())
        res = jacs[0] if single else tuple(jacs)
        return (res, aux) if has_aux else res
    return wrapper


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian (computed in reverse mode: the same values as forward mode)."""
    return jacrev(func, argnums, has_aux)


def hessian(func, argnums=0):
    return jacfwd(jacrev(func, argnums), argnums)


def _stack(parts, empty):
    from .. import stack
    return stack(parts) if parts else empty


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """func mapped over dimension in_dims of its inputs (an int for all, or one per
    positional argument: an int or None for an argument passed whole), the results stacked
    along out_dims — one call per index."""
    def wrapper(*args, **kwargs):
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError("vmap(%s, in_dims=%s, ...)(<inputs>): in_dims is not compatible with the structure "
                             "of `inputs`. in_dims has structure %d but inputs has structure %d."
                             % (getattr(func, "__name__", "f"), in_dims, len(dims), len(args)))
        sizes = set()
        flat_args = []
        for a, d in zip(args, dims):
            leaves, rebuild = _flatten(a)
            if d is not None:
                for t in leaves:
                    if t.dim() == 0:
                        raise ValueError("vmap(%s, in_dims=%s, ...)(<inputs>): Got in_dim=%d for an input but the "
                                         "input is of type torch.Tensor with no dimensions"
                                         % (getattr(func, "__name__", "f"), in_dims, d))
                    sizes.add(t.shape[d])
            flat_args.append((leaves, rebuild, d))
        if len(sizes) != 1:
            raise ValueError("vmap: Expected all tensors to have the same size in the mapped dimension, got sizes %s "
                             "for the mapped dimension" % sorted(sizes) if sizes else
                             "vmap: at least one input must be mapped (in_dims all None)")
        n = sizes.pop()
        outs = []
        for i in range(n):
            call = [rebuild([t.select(d, i) for t in leaves]) if d is not None else rebuild(leaves)
                    for leaves, rebuild, d in flat_args]
            outs.append(func(*call, **kwargs))
        first, rebuild = _flatten(outs[0])
        per = [_flatten(o)[0] for o in outs]
        odims = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(first)
        from .. import stack
        return rebuild([stack([p[k] for p in per], odims[k]) for k in range(len(first))])
    return wrapper


def functional_call(module, parameter_and_buffer_dicts, args, kwargs=None, *, tie_weights=True, strict=False):
    """module's forward with the given tensors (a dict, or a tuple of dicts) in place of its
    parameters and buffers, for this one call."""
    if isinstance(parameter_and_buffer_dicts, (list, tuple)):
        merged = {}
        for d in parameter_and_buffer_dicts:
            for k, v in d.items():
                if k in merged:
                    raise ValueError("%s appeared in multiple dictionaries; behavior of functional call is "
                                     "ambiguous" % k)
                merged[k] = v
    else:
        merged = parameter_and_buffer_dicts
    if strict:
        expected = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}
        missing, unexpected = sorted(expected - set(merged)), sorted(set(merged) - expected)
        if missing or unexpected:
            raise RuntimeError("Error(s) in reparametrizing for %s:\n\tUnexpected key(s): %s.\n\tMissing key(s): %s."
                               % (type(module).__name__, ", ".join(unexpected), ", ".join(missing)))
    return _functional_call(module, merged, args if isinstance(args, tuple) else (args,), kwargs)
