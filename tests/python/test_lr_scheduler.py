"""tensord.optim.lr_scheduler against PyTorch 1.13's: every scheduler drives an optimizer
with two parameter groups for 40 steps, and the learning rates (and the momentum or
beta1 that CyclicLR/OneCycleLR cycle) must be the very numbers torch computes; then the
deprecated step(epoch) closed forms, ReduceLROnPlateau on scripted metrics, state_dict
round trips and the errors."""
import math
import warnings

import numpy as np
import pytest
import torch as T

import tensord as td

LIBS = (T, td)
STEPS = 40


def _optimizer(m, cls="SGD", **kw):
    """Two groups (lr 0.1 and 0.05) of one tensor each; SGD has momentum for the cyclers."""
    a = m.zeros(2, requires_grad=True)
    b = m.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if cls == "SGD":
        return m.optim.SGD(groups, lr=0.1, momentum=0.9, **kw)
    return getattr(m.optim, cls)(groups, lr=0.1, **kw)


def _snapshot(opt, sched):
    groups = [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]
    return groups, list(sched.get_last_lr())


class _Scale:
    """A callable object as lr_lambda: its __dict__ goes into state_dict."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, epoch):
        return self.rate ** epoch


SCHEDULERS = {
    "LambdaLR": lambda m, o: m.optim.lr_scheduler.LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-list": lambda m, o: m.optim.lr_scheduler.LambdaLR(o, [lambda e: 1 / (e + 1), _Scale(0.9)]),
    "MultiplicativeLR": lambda m, o: m.optim.lr_scheduler.MultiplicativeLR(o, lambda e: 0.97),
    "StepLR": lambda m, o: m.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda m, o: m.optim.lr_scheduler.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3),
    "ConstantLR": lambda m, o: m.optim.lr_scheduler.ConstantLR(o, factor=0.25, total_iters=6),
    "LinearLR": lambda m, o: m.optim.lr_scheduler.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=15),
    "LinearLR-down": lambda m, o: m.optim.lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=9),
    "ExponentialLR": lambda m, o: m.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda m, o: m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        o, T_0=5, T_mult=2, eta_min=0.002),
    "CosineAnnealingWarmRestarts-1": lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=7),
    "CyclicLR-triangular": lambda m, o: m.optim.lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR-triangular2": lambda m, o: m.optim.lr_scheduler.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=3, step_size_down=5, mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: m.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.97, base_momentum=0.7),
    "CyclicLR-scale_fn": lambda m, o: m.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=6, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations",
        cycle_momentum=False),
    "OneCycleLR": lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=STEPS + 1),
    "OneCycleLR-linear-3phase": lambda m, o: m.optim.lr_scheduler.OneCycleLR(
        o, max_lr=[0.5, 0.2], epochs=5, steps_per_epoch=9, anneal_strategy="linear", three_phase=True,
        pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
    "PolynomialLR": lambda m, o: m.optim.lr_scheduler.PolynomialLR(o, total_iters=25, power=2.0),
    "PolynomialLR-linear": lambda m, o: m.optim.lr_scheduler.PolynomialLR(o, total_iters=8),
    "SequentialLR": lambda m, o: m.optim.lr_scheduler.SequentialLR(
        o, [m.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=5),
            m.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
            m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8)], milestones=[6, 20]),
    "ChainedScheduler": lambda m, o: m.optim.lr_scheduler.ChainedScheduler(
        [m.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=4),
         m.optim.lr_scheduler.ExponentialLR(o, gamma=0.95),
         m.optim.lr_scheduler.StepLR(o, step_size=10, gamma=0.5)]),
}

ADAM_SCHEDULERS = {  # OneCycleLR cycles Adam's beta1
    "OneCycleLR-adam": lambda m, o: m.optim.lr_scheduler.OneCycleLR(o, max_lr=0.3, total_steps=STEPS + 1,
                                                                   pct_start=0.4),
}


def _run(m, make, steps=STEPS, cls="SGD"):
    opt = _optimizer(m, cls)
    sched = make(m, opt)
    seq = [_snapshot(opt, sched)]
    for _ in range(steps):
        opt.step()
        sched.step()
        seq.append(_snapshot(opt, sched))
    return opt, sched, seq


@pytest.mark.parametrize("name", list(SCHEDULERS) + list(ADAM_SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    make = SCHEDULERS.get(name) or ADAM_SCHEDULERS[name]
    cls = "Adam" if name in ADAM_SCHEDULERS else "SGD"
    # SequentialLR's step(0) warns about the epoch argument in both libraries
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, ref = _run(T, make, cls=cls)
        _, _, got = _run(td, make, cls=cls)
    assert len(got) == STEPS + 1
    for i, (a, b) in enumerate(zip(ref, got)):
        assert b == a, "step %d" % i  # the same float operations: equal numbers
    # the schedule is not trivially constant
    assert len({s[1][0] for s in got}) > 1


def _state_keys(sd):
    return sorted(k for k in sd if k != "_scale_fn_ref")


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_state_dict_matches_torch_and_round_trips(name):
    """state_dict's keys are torch's (CyclicLR's unpicklable '_scale_fn_ref' left out); a
    fresh scheduler on a fresh optimizer that loads it after 15 steps continues the
    sequence exactly (the optimizer's param_groups travel separately, as in torch)."""
    make = SCHEDULERS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, tsched, _ = _run(T, make, steps=15)
        opt, sched, seq = _run(td, make, steps=15)
    sd = sched.state_dict()
    assert _state_keys(sd) == _state_keys(tsched.state_dict())
    assert "optimizer" not in sd
    for k in ("last_epoch", "base_lrs", "_last_lr", "_step_count"):
        if k in tsched.state_dict():
            assert sd[k] == tsched.state_dict()[k], k

    opt2 = _optimizer(td)
    sched2 = make(td, opt2)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sd)
    assert _state_keys(sched2.state_dict()) == _state_keys(sd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(15):
            for o, s in ((opt, sched), (opt2, sched2)):
                o.step()
                s.step()
            assert _snapshot(opt2, sched2) == _snapshot(opt, sched)


def test_lambda_state_dict_keeps_callable_objects():
    opt = _optimizer(td)
    sched = SCHEDULERS["LambdaLR-list"](td, opt)
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"rate": 0.9}]
    opt2 = _optimizer(td)
    sched2 = td.optim.lr_scheduler.LambdaLR(opt2, [lambda e: 1.0, _Scale(0.5)])
    sched2.load_state_dict(sd)
    assert sched2.lr_lambdas[1].rate == 0.9
    assert "lr_lambdas" in sd  # the caller's dict is left whole


CLOSED_FORM = {
    "StepLR": lambda m, o: m.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda m, o: m.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 7, 7], gamma=0.2),
    "ConstantLR": lambda m, o: m.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=5),
    "LinearLR": lambda m, o: m.optim.lr_scheduler.LinearLR(o, start_factor=0.3, total_iters=6),
    "ExponentialLR": lambda m, o: m.optim.lr_scheduler.ExponentialLR(o, gamma=0.8),
    "CosineAnnealingLR": lambda m, o: m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=6),
    "PolynomialLR": lambda m, o: m.optim.lr_scheduler.PolynomialLR(o, total_iters=7, power=0.5),
    "LambdaLR": lambda m, o: m.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + e)),
    "CosineAnnealingWarmRestarts": lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    "CosineAnnealingWarmRestarts-1": lambda m, o: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=4),
}

EPOCHS = [3, 1, 8, 8, 0, 12, 5.5, 2.25, 30, 6]


@pytest.mark.parametrize("name", list(CLOSED_FORM))
def test_step_with_epoch_matches_torch(name):
    """The deprecated step(epoch): the closed forms, with torch's deprecation warning."""
    res = {}
    for m in LIBS:
        opt = _optimizer(m)
        sched = CLOSED_FORM[name](m, opt)
        seq = []
        for e in EPOCHS:
            if isinstance(e, float) and "Warm" not in name:
                continue
            opt.step()
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                sched.step(e)
            seq.append((sched.get_last_lr(), sched.last_epoch,
                        [str(x.message)[:40] for x in w if "epoch parameter" in str(x.message)]))
        res[m] = seq
    assert res[td] == res[T]


PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.95, 0.96, 0.91, 0.9, 0.9, 0.9, 0.9, 0.899, 0.95, 1.2, 0.5, 0.5, 0.5, 0.5,
                   0.5, 0.5, 0.49999, 0.4, 0.41, 0.42, 0.43, 0.44, 0.45, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3,
                   0.3, 0.31, 0.29, 0.29, 0.29, 0.29, 0.29]

PLATEAU = [
    dict(),
    dict(patience=2),
    dict(mode="max", patience=1, factor=0.5),
    dict(patience=1, threshold=0.05, threshold_mode="abs", cooldown=2),
    dict(patience=0, factor=0.5, min_lr=[0.02, 0.01]),
    dict(mode="max", threshold_mode="abs", threshold=0.0, patience=2, cooldown=1, min_lr=0.03, eps=1e-3),
]


@pytest.mark.parametrize("kw", PLATEAU, ids=lambda kw: "-".join("%s=%s" % kv for kv in sorted(kw.items())) or "default")
def test_reduce_lr_on_plateau_matches_torch(kw):
    res = {}
    for m in LIBS:
        opt = _optimizer(m)
        sched = m.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        seq = []
        for i, v in enumerate(PLATEAU_METRICS):
            opt.step()
            # a 0-d tensor metric half of the time (read with float(), as torch does)
            sched.step(m.tensor(v, dtype=m.float64) if i % 2 else v)
            seq.append((sched._last_lr, sched.best, sched.num_bad_epochs, sched.cooldown_counter,
                        sched.last_epoch))
        res[m] = seq, sorted(sched.state_dict())
    assert res[td] == res[T]
    if "patience" in kw:  # these reduce the lr at least once over the metrics
        assert len({s[0][0] for s in res[td][0]}) > 1


def test_reduce_lr_on_plateau_round_trip():
    opt = _optimizer(td)
    sched = td.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=1)
    for v in PLATEAU_METRICS[:10]:
        sched.step(v)
    opt2 = _optimizer(td)
    sched2 = td.optim.lr_scheduler.ReduceLROnPlateau(opt2)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    assert sched2.mode_worse == -math.inf and sched2.mode == "max"
    for v in PLATEAU_METRICS[10:]:
        sched.step(v)
        sched2.step(v)
        assert sched2._last_lr == sched._last_lr


def test_get_lr_outside_step_warns():
    for m in LIBS:
        sched = m.optim.lr_scheduler.StepLR(_optimizer(m), step_size=3)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            sched.get_lr()
        assert any("please use `get_last_lr()`" in str(x.message) for x in w)


def test_resume_with_last_epoch():
    """last_epoch != -1 needs 'initial_lr' in every group; with it the schedule resumes."""
    res = {}
    for m in LIBS:
        opt = _optimizer(m)
        with pytest.raises(KeyError) as ei:
            m.optim.lr_scheduler.StepLR(opt, step_size=3, last_epoch=4)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
        sched = m.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
        seq = [sched.get_last_lr()]
        for _ in range(8):
            opt.step()
            sched.step()
            seq.append(sched.get_last_lr())
        res[m] = str(ei.value), seq
    assert res[td] == res[T]


def _one_cycle_overrun(m):
    opt = _optimizer(m)
    sched = m.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(4):
        opt.step()
        sched.step()


ERRORS = [
    ("not-optimizer", lambda m: m.optim.lr_scheduler.StepLR(object(), step_size=2)),
    ("plateau-not-optimizer", lambda m: m.optim.lr_scheduler.ReduceLROnPlateau(3)),
    ("lambda-count", lambda m: m.optim.lr_scheduler.LambdaLR(_optimizer(m), [lambda e: 1.0])),
    ("constant-factor", lambda m: m.optim.lr_scheduler.ConstantLR(_optimizer(m), factor=1.5)),
    ("linear-start", lambda m: m.optim.lr_scheduler.LinearLR(_optimizer(m), start_factor=-0.1)),
    ("linear-end", lambda m: m.optim.lr_scheduler.LinearLR(_optimizer(m), end_factor=2.0)),
    ("warm-T0", lambda m: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(_optimizer(m), T_0=0)),
    ("warm-Tmult", lambda m: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(_optimizer(m), T_0=2, T_mult=1.5)),
    ("warm-epoch", lambda m: m.optim.lr_scheduler.CosineAnnealingWarmRestarts(_optimizer(m), T_0=2).step(-1)),
    ("cyclic-mode", lambda m: m.optim.lr_scheduler.CyclicLR(_optimizer(m), 0.01, 0.1, mode="bad")),
    ("cyclic-list", lambda m: m.optim.lr_scheduler.CyclicLR(_optimizer(m), [0.01], 0.1)),
    ("cyclic-momentum", lambda m: m.optim.lr_scheduler.CyclicLR(_optimizer(m, "Adagrad"), 0.01, 0.1)),
    ("onecycle-none", lambda m: m.optim.lr_scheduler.OneCycleLR(_optimizer(m), max_lr=0.1)),
    ("onecycle-total", lambda m: m.optim.lr_scheduler.OneCycleLR(_optimizer(m), max_lr=0.1, total_steps=0)),
    ("onecycle-epochs", lambda m: m.optim.lr_scheduler.OneCycleLR(_optimizer(m), 0.1, epochs=2.0, steps_per_epoch=3)),
    ("onecycle-spe", lambda m: m.optim.lr_scheduler.OneCycleLR(_optimizer(m), 0.1, epochs=2, steps_per_epoch=-3)),
    ("onecycle-pct", lambda m: m.optim.lr_scheduler.OneCycleLR(_optimizer(m), 0.1, total_steps=5, pct_start=1)),
    ("onecycle-anneal", lambda m: m.optim.lr_scheduler.OneCycleLR(_optimizer(m), 0.1, total_steps=5,
                                                                   anneal_strategy="exp")),
    ("onecycle-momentum", lambda m: m.optim.lr_scheduler.OneCycleLR(_optimizer(m, "Adagrad"), 0.1, total_steps=5)),
    ("onecycle-overrun", _one_cycle_overrun),
    ("plateau-factor", lambda m: m.optim.lr_scheduler.ReduceLROnPlateau(_optimizer(m), factor=1.0)),
    ("plateau-mode", lambda m: m.optim.lr_scheduler.ReduceLROnPlateau(_optimizer(m), mode="mean")),
    ("plateau-threshold-mode", lambda m: m.optim.lr_scheduler.ReduceLROnPlateau(_optimizer(m), threshold_mode="x")),
    ("plateau-min-lr", lambda m: m.optim.lr_scheduler.ReduceLROnPlateau(_optimizer(m), min_lr=[0.1])),
    ("sequential-milestones", lambda m: (lambda o: m.optim.lr_scheduler.SequentialLR(
        o, [m.optim.lr_scheduler.StepLR(o, 2)], milestones=[3]))(_optimizer(m))),
    ("sequential-optimizer", lambda m: (lambda o, o2: m.optim.lr_scheduler.SequentialLR(
        o, [m.optim.lr_scheduler.StepLR(o2, 2)], milestones=[]))(_optimizer(m), _optimizer(m))),
    ("chained-optimizer", lambda m: m.optim.lr_scheduler.ChainedScheduler(
        [m.optim.lr_scheduler.StepLR(_optimizer(m), 2), m.optim.lr_scheduler.StepLR(_optimizer(m), 2)])),
]


@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(name, fn):
    caught = []
    for m in LIBS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Exception) as ei:
                fn(m)
        caught.append(ei)
    assert caught[1].type is caught[0].type
    assert str(caught[1].value) == str(caught[0].value)


def test_names_match_torch():
    assert set(td.optim.lr_scheduler.__all__) == set(T.optim.lr_scheduler.__all__)
    assert td.optim.lr_scheduler._LRScheduler is td.optim.lr_scheduler.LRScheduler
    for name in T.optim.lr_scheduler.__all__:
        assert hasattr(td.optim.lr_scheduler, name)


def test_schedulers_drive_training():
    """A scheduler's lrs reach the optimizer's step: SGD under StepLR on a quadratic,
    against torch."""
    res = {}
    for m in LIBS:
        x = m.tensor(np.array([3.0, -2.0]), requires_grad=True)
        opt = m.optim.SGD([x], lr=0.2, momentum=0.5)
        sched = m.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        for _ in range(12):
            opt.zero_grad()
            ((x - 1) ** 2).sum().backward()
            opt.step()
            sched.step()
        res[m] = x.detach().numpy()
    np.testing.assert_allclose(res[td], res[T], rtol=1e-12)
