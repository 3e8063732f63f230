"""ctc_loss / nn.CTCLoss against PyTorch 1.13: losses and gradients with respect to
log_probs (torch's alpha-beta gradient, which is exp(log_probs) minus the posteriors)
for padded and concatenated targets, lengths as tuples or tensors, each reduction,
unbatched input, other blanks, empty targets, impossible targets with and without
zero_infinity (inf loss and NaN gradient as torch, or zeros), float32; gradcheck through
a log_softmax in float64; torch's argument errors."""
import numpy as np
import pytest
import torch as T

import tensord as td


def _log_probs(Tn, N, C, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return np.log(rng.dirichlet(np.ones(C), (Tn, N) if N else (Tn,))).astype(dtype)


def _run(mod, lp, targets, il, tl, as_tensor=False, module=False, **kw):
    x = mod.tensor(lp, requires_grad=True)
    tg = mod.tensor(targets)
    if as_tensor:
        il, tl = mod.tensor(il), mod.tensor(tl)
    if module:
        loss = mod.nn.CTCLoss(**kw)(x, tg, il, tl)
    else:
        loss = mod.nn.functional.ctc_loss(x, tg, il, tl, **kw)
    (loss.sum() if loss.ndim else loss).backward()
    return loss.detach().numpy(), x.grad.numpy()


def _compare(*args, rtol=1e-10, atol=1e-12, **kw):
    (l0, g0), (l1, g1) = _run(T, *args, **kw), _run(td, *args, **kw)
    assert l0.shape == l1.shape
    np.testing.assert_allclose(l1, l0, rtol=rtol, atol=atol)
    np.testing.assert_allclose(g1, g0, rtol=rtol, atol=atol)
    return l1, g1


PADDED = np.array([[1, 2, 2, 3], [3, 1, 0, 0], [4, 4, 4, 1], [2, 0, 0, 0]])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_padded_targets_match_torch(reduction, as_tensor):
    _compare(_log_probs(9, 4, 5), PADDED, [9, 7, 9, 3], [4, 2, 3, 1], as_tensor=as_tensor, reduction=reduction)


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_concatenated_targets_match_torch(reduction):
    tl = [4, 2, 3, 1]
    flat = np.concatenate([PADDED[n, :k] for n, k in enumerate(tl)])
    _compare(_log_probs(9, 4, 5, seed=1), flat, (9, 8, 9, 6), tuple(tl), reduction=reduction)


def test_module_blank_and_empty_targets_match_torch():
    tg = np.array([[0, 1, 2], [2, 2, 2], [1, 1, 1]])  # blank 3
    _compare(_log_probs(7, 3, 4, seed=2), tg, [7, 7, 5], [3, 0, 2], module=True, blank=3)
    _compare(_log_probs(7, 3, 4, seed=2), tg, [7, 7, 5], [3, 0, 2], module=True, blank=3, reduction="sum")


def test_unbatched_matches_torch():
    for red in ("none", "mean", "sum"):
        loss, _ = _compare(_log_probs(8, 0, 5, seed=3), np.array([1, 3, 3]), [8], [3], reduction=red)
        assert loss.shape == ()
    _compare(_log_probs(8, 0, 5, seed=3), np.array([1, 3, 3]), 8, 3, as_tensor=True)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_impossible_targets_match_torch(zero_infinity):
    """A target that needs more steps than the input has (repeats need a blank between)."""
    tg = np.array([[1, 1, 1], [2, 3, 0], [1, 2, 3]])
    (l0, g0), (l1, g1) = [_run(m, _log_probs(4, 3, 5, seed=4), tg, [4, 4, 2], [3, 2, 3], reduction="none",
                               zero_infinity=zero_infinity) for m in (T, td)]
    np.testing.assert_allclose(l1, l0, rtol=1e-10)
    np.testing.assert_array_equal(np.isnan(g1), np.isnan(g0))
    np.testing.assert_allclose(np.nan_to_num(g1), np.nan_to_num(g0), rtol=1e-10, atol=1e-12)
    assert np.isinf(l0[0]) != zero_infinity and np.isinf(l0[2]) != zero_infinity


def test_float32_matches_torch():
    _compare(_log_probs(9, 4, 5, dtype=np.float32), PADDED, [9, 7, 9, 3], [4, 2, 3, 1], rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_float32_long_targets_as_accurate_as_torch(zero_infinity):
    """float32 steps run as vector rows over the extended target (targets of 40: 81
    states), repeated labels (no skip), an impossible sequence, lengths that end early.
    float32 itself errs here by ~1e-4 (200 steps of log-sum-exp, and the gradient's
    difference of two exps): tensord's error against a float64 reference must stay within
    torch's own float32 error (twice it, plus a little)."""
    rng = np.random.default_rng(11)
    tg = rng.integers(1, 30, (5, 40))
    tg[1, 5:9] = 7                                  # a run of one label
    tg[2, :] = np.repeat(np.arange(1, 21), 2)       # every label twice: needs 80 steps
    lp = _log_probs(200, 5, 30, seed=11, dtype=np.float32)
    args = (tg, [200, 190, 60, 200, 150], [40, 33, 40, 1, 17])
    kw = dict(zero_infinity=zero_infinity, reduction="none")
    l64, g64 = _run(T, lp.astype(np.float64), *args, **kw)
    (lt, gt), (ld, gd) = _run(T, lp, *args, **kw), _run(td, lp, *args, **kw)
    np.testing.assert_array_equal(np.isinf(ld), np.isinf(lt))
    np.testing.assert_array_equal(np.isnan(gd), np.isnan(gt))
    for ours, theirs, ref in ((ld, lt, l64), (gd, gt, g64)):
        fin = np.isfinite(ref)
        assert np.abs(ours - ref)[fin].max() <= 2 * np.abs(theirs - ref)[fin].max() + 1e-5


def test_longer_sequence_matches_torch():
    rng = np.random.default_rng(5)
    tg = rng.integers(1, 20, (6, 12))
    _compare(_log_probs(40, 6, 20, seed=5), tg, [40, 38, 33, 40, 25, 30], [12, 10, 7, 12, 5, 1])


def test_gradcheck_through_log_softmax():
    """torch's gradient is the gradient through a log_softmax (it adds exp(log_probs),
    which log_softmax's backward removes): finite differences agree there."""
    x = td.tensor(np.random.default_rng(6).standard_normal((6, 2, 4)), requires_grad=True)
    tg = td.tensor([[1, 2, 2], [3, 1, 0]])
    for red in ("sum", "mean"):
        assert td.autograd.gradcheck(
            lambda v: td.nn.functional.ctc_loss(v.log_softmax(2), tg, [6, 5], [3, 2], reduction=red), (x,))


def test_grad_fn_name():
    x = td.tensor(_log_probs(5, 2, 4), requires_grad=True)
    loss = td.nn.functional.ctc_loss(x, td.tensor([[1, 2], [3, 0]]), [5, 5], [2, 1], reduction="none")
    assert loss.grad_fn.name() == "CtcLossBackward0"


@pytest.mark.parametrize("case", ["input_too_long", "targets_too_short", "concat_size", "batch", "blank", "reduction",
                                  "int_lengths"])
def test_errors_match_torch(case):
    def call(mod):
        x = mod.tensor(_log_probs(3, 2, 4))
        tg, il, tl, kw = mod.tensor([[1, 1, 1], [2, 3, 0]]), [3, 3], [3, 2], {}
        if case == "input_too_long":
            il = [4, 3]
        elif case == "targets_too_short":
            tl = [4, 2]
        elif case == "concat_size":
            tg = mod.tensor([1, 1, 1, 2, 3])
            tl = [3, 3]
        elif case == "batch":
            il = [3]
        elif case == "blank":
            kw["blank"] = 4
        elif case == "reduction":
            kw["reduction"] = "avg"
        elif case == "int_lengths":
            il, tl = 3, 3
        with pytest.raises(Exception) as e:
            mod.nn.functional.ctc_loss(x, tg, il, tl, **kw)
        return e
    a, b = call(td), call(T)
    assert type(a.value) is type(b.value)
    if case != "int_lengths":
        assert str(a.value) == str(b.value)


def test_label_out_of_range_fails_the_record():
    """torch reads past the classes; here the kernel refuses the record."""
    x = td.tensor(_log_probs(5, 2, 4))
    with pytest.raises(RuntimeError, match="target label is outside"):
        td.nn.functional.ctc_loss(x, td.tensor([[1, 7], [2, 0]]), [5, 5], [2, 1]).item()


def test_autocast_runs_in_float32():
    """ctc_loss is on torch's float32 autocast lists: bfloat16 log_probs give a float32
    loss and a bfloat16 gradient."""
    out = []
    for m in (T, td):
        x = m.tensor(_log_probs(6, 2, 5, seed=7, dtype=np.float32)).bfloat16().requires_grad_()
        with m.autocast("cpu"):
            loss = m.nn.functional.ctc_loss(x, m.tensor([[1, 2], [3, 0]]), [6, 6], [2, 1], reduction="none")
        loss.sum().backward()
        out.append((loss.dtype, loss.detach().numpy(), x.grad.dtype, x.grad.float().numpy()))
    (d0, l0, gd0, g0), (d1, l1, gd1, g1) = out
    assert str(d0) == str(d1) == "torch.float32" and str(gd0) == str(gd1) == "torch.bfloat16"
    np.testing.assert_allclose(l1, l0, rtol=1e-6)
    np.testing.assert_allclose(g1, g0, rtol=1e-2, atol=1e-2)
