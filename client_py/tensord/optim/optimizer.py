"""tensord.optim.Optimizer: the base class of the optimizers, as torch 1.13's.

It holds the parameter groups (params plus the options a group overrides), the
per-parameter state, zero_grad, state_dict/load_state_dict in torch's format (state keyed
by the parameters' positions over all groups, 'params' as lists of those positions) and
the repr.  The algorithms live in one module per optimizer, each a step() that gathers a
group's tensors and a _single_tensor_<name>() that updates them with in-place ops under
no_grad.

Scalar state kept as 0-d tensors (torch's 'step' counts, NAdam's 'mu_product') is
mirrored on the host (_scalar_state/_set_scalar_state): reading such a tensor is a round
trip to the daemon, and a step needs its value for every parameter.  The mirror is keyed
by the tensor's identity, so a tensor that was replaced (load_state_dict, assignment) is
read once; an in-place change made to one by hand outside the optimizer is not seen.
"""
import functools
import warnings
from collections import abc as container_abcs, defaultdict
from copy import deepcopy
from itertools import chain

from .. import _C
from .._grad_mode import enable_grad, is_grad_enabled, set_grad_enabled
from .._runtime import typename
from .._tensor import Tensor
from .._tensor_new import tensor

__all__ = ['Optimizer']


class _RequiredParameter(object):
    """Singleton class representing a required parameter for an Optimizer."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _use_grad_for_differentiable(func):
    """step() runs with grad mode on only for a differentiable optimizer (torch's decorator)."""
    @functools.wraps(func)
    def _use_grad(self, *args, **kwargs):
        if _C.graph_capturing():  # its options go into the records: tensord.jit guards them
            from ..jit._trace import optimizer_step_captured
            optimizer_step_captured(self)
        prev_grad = is_grad_enabled()
        try:
            set_grad_enabled(self.defaults['differentiable'])
            ret = func(self, *args, **kwargs)
        finally:
            set_grad_enabled(prev_grad)
        return ret
    return _use_grad


def _no_differentiable(differentiable):
    # torch's differentiable=True runs the update inside the autograd graph (tensor-valued
    # bias corrections, out-of-place copies); tensord's optimizers only have the plain path.
    if differentiable:
        raise NotImplementedError("tensord.optim: differentiable=True is not supported")


def _check_nonnegative(**options):
    """torch's checks that options are >= 0 (NaN fails too), in the order given."""
    for name, value in options.items():
        if not 0.0 <= value:
            label = {'lr': 'learning rate', 'eps': 'epsilon value'}.get(name, name + ' value')
            raise ValueError("Invalid {}: {}".format(label, value))


def _check_betas(lr, betas, eps, weight_decay):
    """The argument checks Adam, AdamW, Adamax, NAdam and RAdam share."""
    _check_nonnegative(lr=lr, eps=eps)
    for i in (0, 1):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError("Invalid beta parameter at index {}: {}".format(i, betas[i]))
    _check_nonnegative(weight_decay=weight_decay)


def _decayed_grad(param, grad, weight_decay, maximize=False):
    """The gradient an update follows: negated for maximize, plus the L2 term
    weight_decay * param (a new tensor; grad itself is left as it is)."""
    grad = grad if not maximize else -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    return grad


class Optimizer(object):
    r"""Base class for all optimizers.

    Args:
        params (iterable): an iterable of Tensors or of dicts (parameter groups: 'params'
            plus the options that group overrides).
        defaults (dict): the default values of the optimization options.
    """

    # What torch's __setstate__ fills in for a state saved by an older version: the group
    # options (name, default) a subclass added later, and the per-parameter scalar state
    # it now keeps as 0-d tensors where it was a Python number.
    _setstate_group_defaults = ()
    _setstate_tensor_scalars = ()

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._host_scalars = {}

        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be "
                            "an iterable of Tensors or dicts, but got " + typename(params))

        self.state = defaultdict(dict)
        self.param_groups = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{'params': param_groups}]

        for param_group in param_groups:
            self.add_param_group(param_group)

    def __getstate__(self):
        return {
            'defaults': self.defaults,
            'state': self.state,
            'param_groups': self.param_groups,
        }

    def __setstate__(self, state):
        self._host_scalars = {}
        self.__dict__.update(state)
        self.defaults.setdefault('differentiable', False)
        for group in self.param_groups:
            for name, default in self._setstate_group_defaults:
                group.setdefault(name, default)
        state_values = list(self.state.values())
        for key in self._setstate_tensor_scalars:
            # torch looks at the first parameter's state only
            if not (len(state_values) != 0 and isinstance(state_values[0][key], Tensor)):
                for s in state_values:
                    s[key] = tensor(float(s[key]))

    def __repr__(self):
        format_string = self.__class__.__name__ + ' ('
        for i, group in enumerate(self.param_groups):
            format_string += '\n'
            format_string += 'Parameter Group {0}\n'.format(i)
            for key in sorted(group.keys()):
                if key != 'params':
                    format_string += '    {0}: {1}\n'.format(key, group[key])
        format_string += ')'
        return format_string

    # ---- scalar state mirrored on the host
    def _scalar_state(self, p, key):
        """self.state[p][key] (a 0-d tensor) as a Python float, read from the daemon only
        when the mirror does not hold this very tensor."""
        t = self.state[p][key]
        got = self._host_scalars.get((id(p), key))
        if got is not None and got[0] is t:
            return got[1]
        v = float(t.item())
        self._host_scalars[(id(p), key)] = (t, v)
        return v

    def _new_scalar_state(self, p, key, t, value):
        """Sets self.state[p][key] to the new 0-d tensor t, whose value is known to be value."""
        self.state[p][key] = t
        self._host_scalars[(id(p), key)] = (t, float(value))

    def _set_scalar_state(self, p, key, value):
        """Writes value into the 0-d tensor self.state[p][key] (one in-place record)."""
        t = self.state[p][key]
        t.fill_(value)
        self._host_scalars[(id(p), key)] = (t, float(value))

    def _advance_steps(self, params):
        """state[p]['step'] += 1 for each p (torch's step_t += 1); returns the new counts."""
        steps = []
        for p in params:
            v = self._scalar_state(p, 'step') + 1
            t = self.state[p]['step']
            t.add_(1)
            self._host_scalars[(id(p), 'step')] = (t, v)
            steps.append(v)
        return steps

    # ---- state_dict
    def state_dict(self):
        r"""Returns the state of the optimizer as a :class:`dict` with two entries:
        'state' (each parameter's state, keyed by its position over all groups) and
        'param_groups' (each group's options, 'params' holding those positions)."""
        param_mappings = {}
        start_index = 0

        def pack_group(group):
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != 'params'}
            param_mappings.update({id(p): i for i, p in enumerate(group['params'], start_index)
                                   if id(p) not in param_mappings})
            packed['params'] = [param_mappings[id(p)] for p in group['params']]
            start_index += len(packed['params'])
            return packed
        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        return {
            'state': packed_state,
            'param_groups': param_groups,
        }

    def load_state_dict(self, state_dict):
        r"""Loads the optimizer state (an object returned by :meth:`state_dict`; it is
        deep-copied, and floating-point state takes each parameter's dtype)."""
        state_dict = deepcopy(state_dict)
        groups = self.param_groups
        saved_groups = state_dict['param_groups']

        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of "
                             "parameter groups")
        param_lens = (len(g['params']) for g in groups)
        saved_lens = (len(g['params']) for g in saved_groups)
        if any(p_len != s_len for p_len, s_len in zip(param_lens, saved_lens)):
            raise ValueError("loaded state dict contains a parameter group "
                             "that doesn't match the size of optimizer's group")

        id_map = {old_id: p for old_id, p in
                  zip(chain.from_iterable((g['params'] for g in saved_groups)),
                      chain.from_iterable((g['params'] for g in groups)))}

        def cast(param, value, key=None):
            """value with its tensors in param's dtype (the 'step' counts keep theirs)."""
            if isinstance(value, Tensor):
                if key != "step" and param.is_floating_point():
                    value = value.to(param.dtype)
                return value
            elif isinstance(value, dict):
                return {k: cast(param, v, key=k) for k, v in value.items()}
            elif isinstance(value, (str, bytes)):
                return value
            elif isinstance(value, container_abcs.Iterable):
                return type(value)(cast(param, v) for v in value)
            else:
                return value

        # state of unknown keys is kept as is (torch keeps it for backward compatibility)
        state = defaultdict(dict)
        for k, v in state_dict['state'].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group['params'] = group['params']
            return new_group
        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({'state': state, 'param_groups': param_groups})

    # ---- gradients and steps
    def zero_grad(self, set_to_none=False):
        r"""Sets the gradients of all optimized tensors to zero, or to None with
        set_to_none=True (which records nothing on the daemon)."""
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        if p.grad.grad_fn is not None:
                            p.grad.detach_()
                        else:
                            p.grad.requires_grad_(False)
                        p.grad.zero_()

    def step(self, closure):
        r"""Performs a single optimization step (parameter update).

        Args:
            closure (Callable): A closure that reevaluates the model and returns the
                loss. Optional for most optimizers.
        """
        raise NotImplementedError

    def _step_groups(self, closure):
        """The body of the optimizers' step(): the closure's loss (evaluated with grad
        enabled, None without a closure), then self._step_group(group) for each group."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _params_with_grad(self, group, sparse_error=None, init_state=None):
        """The group's parameters that have a gradient, and those gradients.  A sparse
        gradient raises RuntimeError(sparse_error) where one is given; init_state(p, state)
        fills in the state of a parameter that has none yet (its first step)."""
        params, grads = [], []
        for p in group['params']:
            if p.grad is None:
                continue
            if sparse_error is not None and p.grad.is_sparse:
                raise RuntimeError(sparse_error)
            params.append(p)
            grads.append(p.grad)
            if init_state is not None and len(self.state[p]) == 0:
                init_state(p, self.state[p])
        return params, grads

    def add_param_group(self, param_group):
        r"""Adds a parameter group (a dict: 'params' and the options it overrides) to the
        optimizer's param_groups; options it leaves out take the defaults."""
        assert isinstance(param_group, dict), "param group must be a dict"

        params = param_group['params']
        if isinstance(params, Tensor):
            param_group['params'] = [params]
        elif isinstance(params, set):
            raise TypeError('optimizer parameters need to be organized in ordered collections, but '
                            'the ordering of tensors in sets will change between runs. Please use a list instead.')
        else:
            param_group['params'] = list(params)

        for param in param_group['params']:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, "
                                "but one of the params is " + typename(param))
            if not self.defaults.get('differentiable', None) and \
                    not (param.is_leaf or getattr(param, 'retains_grad', False)):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required optimization parameter " +
                                 name)
            else:
                param_group.setdefault(name, default)

        # identity, not ==: Tensor.__eq__ is elementwise (Tensor.__hash__ is the id)
        ids = [id(p) for p in param_group['params']]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; "
                          "see github.com/pytorch/pytorch/issues/40967 for more information", stacklevel=3)

        param_set = set()
        for group in self.param_groups:
            param_set.update(id(p) for p in group['params'])
        if not param_set.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)
