"""The fused optimizer-step ops (OPTIM family: sgd_step, adam_step): one record steps a
whole parameter group in the daemon, and must follow torch 1.13's SGD and Adam/AdamW
exactly; bad groups are refused with a clear error."""
import numpy as np
import pytest
import torch as T

import tensord as td
from tensord._C import ops

DTYPES = [(np.float64, td.float64, 1e-12), (np.float32, td.float32, 2e-6)]
SHAPES = ((3, 4), (5,), ())


def _grads(rng, ps, dt):
    return [rng.standard_normal(p.shape).astype(dt) for p in ps]


@pytest.mark.parametrize("dt,tdt,tol", DTYPES)
@pytest.mark.parametrize("amsgrad,wd,adamw,maximize", [(False, 0, False, False), (True, 0.1, False, True),
                                                        (False, 0.1, True, False), (True, 0.05, True, True)])
def test_adam_step_matches_torch(dt, tdt, tol, amsgrad, wd, adamw, maximize):
    rng = np.random.default_rng(1)
    ps = [rng.standard_normal(s).astype(dt) for s in SHAPES]
    ref = [T.tensor(p, requires_grad=True) for p in ps]
    opt = (T.optim.AdamW if adamw else T.optim.Adam)(ref, lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=wd,
                                                     amsgrad=amsgrad, maximize=maximize)
    ours = [td.tensor(p) for p in ps]
    states = [[td.zeros(p.shape, dtype=tdt) for _ in range(3 if amsgrad else 2)] for p in ps]
    for step in range(1, 21):
        gs = _grads(rng, ps, dt)
        for t, g in zip(ref, gs):
            t.grad = T.tensor(g)
        opt.step()
        group = []
        for p, g, s in zip(ours, gs, states):
            group += [p, td.tensor(g)] + s
        ops.adam_step(*group, lr=0.01, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=wd, step=step,
                      amsgrad=amsgrad, maximize=maximize, decoupled=adamw)
        for a, b in zip(ours, ref):
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=tol, atol=tol)
    for s, p in zip(states, ref):
        np.testing.assert_allclose(s[0].numpy(), opt.state[p]["exp_avg"].numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dt,tdt,tol", DTYPES)
@pytest.mark.parametrize("mom,damp,nest,wd,maximize", [(0, 0, False, 0, False), (0.9, 0.1, False, 0.01, True),
                                                        (0.9, 0, True, 0, False)])
def test_sgd_step_matches_torch(dt, tdt, tol, mom, damp, nest, wd, maximize):
    rng = np.random.default_rng(2)
    ps = [rng.standard_normal(s).astype(dt) for s in SHAPES]
    ref = [T.tensor(p, requires_grad=True) for p in ps]
    opt = T.optim.SGD(ref, lr=0.05, momentum=mom, dampening=damp, nesterov=nest, weight_decay=wd, maximize=maximize)
    ours = [td.tensor(p) for p in ps]
    bufs = [td.empty(p.shape, dtype=tdt) for p in ps]  # set from the update on the first step
    for step in range(20):
        gs = _grads(rng, ps, dt)
        for t, g in zip(ref, gs):
            t.grad = T.tensor(g)
        opt.step()
        group = []
        for p, g, b in zip(ours, gs, bufs):
            group += [p, td.tensor(g)] + ([b] if mom else [])
        ops.sgd_step(*group, lr=0.05, momentum=mom, dampening=damp, weight_decay=wd, nesterov=nest,
                     maximize=maximize, first=step == 0)
        for a, b in zip(ours, ref):
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def test_bad_groups_are_refused():
    z = td.zeros
    with pytest.raises(RuntimeError, match="tensor 1 of parameter 0 differs from the parameter"):
        ops.adam_step(z(2), z(3), z(2), z(2), lr=0.1, beta1=0.9, beta2=0.9, eps=1e-8, step=1)
    with pytest.raises(RuntimeError, match="expected groups of 4 tensors, got 3"):
        ops.adam_step(z(2), z(2), z(2), lr=0.1, beta1=0.9, beta2=0.9, eps=1e-8, step=1)
    with pytest.raises(RuntimeError, match="is not contiguous"):
        ops.sgd_step(z(2, 2).t(), z(2, 2), lr=0.1)
    with pytest.raises(RuntimeError, match="the fused step takes float32 or float64"):
        ops.sgd_step(z(2, dtype=td.int64), z(2, dtype=td.int64), lr=0.1)
    p = z(3)
    ops.sgd_step(p, td.ones(3), lr=0.5)  # the session goes on
    np.testing.assert_allclose(p.numpy(), [-0.5] * 3)


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("SGD", dict(lr=0.1)),
                                     ("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01))])
def test_optimizers_fused_path_matches_single_tensor_path(name, kw):
    """Mixed groups: float32 and float64, a non-contiguous parameter (single-tensor
    fallback), a parameter added later (its own step count), one without a gradient."""
    rng = np.random.default_rng(5)

    def params():
        base = rng.standard_normal((4, 3))
        return [td.tensor(rng.standard_normal((3, 2)), requires_grad=True),
                td.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True),
                td.tensor(base).t().requires_grad_(), td.tensor(rng.standard_normal(2), requires_grad=True)]

    state = rng.bit_generator.state
    a = params()
    rng.bit_generator.state = state
    b = params()
    refs = [[T.tensor(p.detach().numpy(), requires_grad=True) for p in a]]
    opts = [getattr(td.optim, name)(a[:3], **kw), getattr(td.optim, name)(b[:3], foreach=False, **kw),
            getattr(T.optim, name)(refs[0][:3], **kw)]
    for step in range(12):
        if step == 4:
            for o, ps in zip(opts, (a, b, refs[0])):
                o.add_param_group({"params": [ps[3]]})
        for ps in (a, b, refs[0]):
            loss = sum(((p * p).sum() * (i + 1)) for i, p in enumerate(ps[:2])) + (ps[2] ** 3).sum() + \
                (ps[3] * 2).sum()
            loss.backward()
        a[1].grad = None if step % 3 == 0 else a[1].grad
        b[1].grad = None if step % 3 == 0 else b[1].grad
        refs[0][1].grad = None if step % 3 == 0 else refs[0][1].grad
        for o in opts:
            o.step()
            o.zero_grad()
    for x, y, r in zip(a, b, refs[0]):
        np.testing.assert_allclose(x.detach().numpy(), y.detach().numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(x.detach().numpy(), r.detach().numpy(), rtol=1e-5, atol=1e-6)
