"""Autograd (autograd/ in C, tensord.autograd): every row of proto/derivatives.def checked
against finite differences (gradcheck, float64) and against PyTorch 1.13's gradients
for the same inputs; then the API's behaviour and errors, compared with PyTorch's."""
import os
import re
import zlib

import numpy as np
import pytest
import torch as T

import tensord as td

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def derivative_rows():
    rows = []
    with open(os.path.join(ROOT, "proto", "derivatives.def")) as f:
        for line in f:
            m = re.match(r"^([A-Z_0-9]+)\s", line)
            if m:
                rows.append(m.group(1))
    return rows


# domain: "any" normal values, "pos" in [0.5, 2], "unit" in (-0.9, 0.9), "gt1" in [1.2, 3],
# "away" |x| in [0.3, 2] (no kinks or poles at 0)
def _case(fn, *shapes, domain="any", check=True):
    return fn, shapes, domain, check


CASES = {
    "ADD": _case(lambda m, a, b: m.add(a, b, alpha=2), (2, 3), (3,)),
    "SUB": _case(lambda m, a, b: m.sub(a, b, alpha=0.5), (2, 1), (2, 3)),
    "MUL": _case(lambda m, a, b: a * b + 3 * a, (2, 3), (2, 3)),
    "DIV": _case(lambda m, a, b: a / b + 1 / b, (2, 3), (3,), domain="away"),
    "POW": _case(lambda m, a, b: a ** b + a ** 2 + 2 ** b, (2, 3), (2, 3), domain="pos"),
    "MAXIMUM": _case(lambda m, a, b: m.maximum(a, b), (2, 3), (2, 3)),
    "MINIMUM": _case(lambda m, a, b: m.minimum(a, b), (2, 3), (2, 3)),
    "ATAN2": _case(lambda m, a, b: m.atan2(a, b), (2, 3), (2, 3), domain="away"),
    "HYPOT": _case(lambda m, a, b: m.hypot(a, b), (2, 3), (2, 3), domain="away"),
    "LOGADDEXP": _case(lambda m, a, b: m.logaddexp(a, b), (2, 3), (2, 3)),
    "XLOGY": _case(lambda m, a, b: m.xlogy(a, b), (2, 3), (2, 3), domain="pos"),
    "LOGADDEXP2": _case(lambda m, a, b: m.logaddexp2(a, b), (2, 3), (2, 3)),
    "COPYSIGN": _case(lambda m, a, b: m.copysign(a, b) + m.copysign(a, -2.0), (2, 3), (2, 3), domain="away"),
    "FMOD": _case(lambda m, a, b: m.fmod(a, b) + m.fmod(a, 0.7), (2, 3), (2, 3), domain="away"),
    "REMAINDER": _case(lambda m, a, b: m.remainder(a, b) + m.remainder(a, 0.7), (2, 3), (2, 3), domain="away"),
    "LERP": _case(lambda m, a, b, c: m.lerp(a, b, c) + m.lerp(a, b, 0.3), (2, 3), (2, 3), (2, 3)),
    "NAN_TO_NUM": _case(lambda m, a: m.nan_to_num(a.log()), (2, 3)),
    "ADDCMUL": _case(lambda m, a, b, c: m.addcmul(a, b, c, value=0.5), (2, 3), (2, 3), (2, 3)),
    "ADDCDIV": _case(lambda m, a, b, c: m.addcdiv(a, b, c, value=0.5), (2, 3), (2, 3), (2, 3), domain="away"),
    "WHERE": _case(lambda m, a, b: m.where(a > b, a, b * 2), (2, 3), (2, 3)),
    "NEG": _case(lambda m, a: -a, (2, 3)),
    "ABS": _case(lambda m, a: a.abs(), (2, 3), domain="away"),
    "EXP": _case(lambda m, a: a.exp(), (2, 3)),
    "EXP2": _case(lambda m, a: m.exp2(a), (2, 3)),
    "EXPM1": _case(lambda m, a: m.expm1(a), (2, 3)),
    "LOG": _case(lambda m, a: a.log(), (2, 3), domain="pos"),
    "LOG2": _case(lambda m, a: m.log2(a), (2, 3), domain="pos"),
    "LOG10": _case(lambda m, a: m.log10(a), (2, 3), domain="pos"),
    "LOG1P": _case(lambda m, a: m.log1p(a), (2, 3), domain="pos"),
    "SQRT": _case(lambda m, a: a.sqrt(), (2, 3), domain="pos"),
    "RSQRT": _case(lambda m, a: a.rsqrt(), (2, 3), domain="pos"),
    "RECIPROCAL": _case(lambda m, a: a.reciprocal(), (2, 3), domain="away"),
    "SIN": _case(lambda m, a: a.sin(), (2, 3)),
    "COS": _case(lambda m, a: a.cos(), (2, 3)),
    "TAN": _case(lambda m, a: a.tan(), (2, 3), domain="unit"),
    "ASIN": _case(lambda m, a: a.asin(), (2, 3), domain="unit"),
    "ACOS": _case(lambda m, a: a.acos(), (2, 3), domain="unit"),
    "ATAN": _case(lambda m, a: a.atan(), (2, 3)),
    "SINH": _case(lambda m, a: a.sinh(), (2, 3)),
    "COSH": _case(lambda m, a: a.cosh(), (2, 3)),
    "TANH": _case(lambda m, a: a.tanh(), (2, 3)),
    "ASINH": _case(lambda m, a: a.asinh(), (2, 3)),
    "ACOSH": _case(lambda m, a: a.acosh(), (2, 3), domain="gt1"),
    "ATANH": _case(lambda m, a: a.atanh(), (2, 3), domain="unit"),
    "SIGMOID": _case(lambda m, a: a.sigmoid(), (2, 3)),
    "RELU": _case(lambda m, a: a.relu(), (2, 3), domain="away"),
    "ERF": _case(lambda m, a: m.erf(a), (2, 3)),
    "ERFC": _case(lambda m, a: m.erfc(a), (2, 3)),
    "FLOOR": _case(lambda m, a: a.floor() + a, (2, 3), domain="away"),
    "CEIL": _case(lambda m, a: a.ceil() + a, (2, 3), domain="away"),
    "ROUND": _case(lambda m, a: a.round() + a, (2, 3), domain="away"),
    "TRUNC": _case(lambda m, a: a.trunc() + a, (2, 3), domain="away"),
    "SIGN": _case(lambda m, a: a.sign() + a, (2, 3), domain="away"),
    "FRAC": _case(lambda m, a: m.frac(a), (2, 3), domain="away"),
    "CLAMP": _case(lambda m, a: a.clamp(-0.25, 0.25) + a.clamp(min=0.1), (2, 3), domain="away"),
    "CAST": _case(lambda m, a: a.float().double() * a, (2, 3), check=False),
    "CLONE": _case(lambda m, a: a.clone() * a, (2, 3)),
    "COPY_": _case(lambda m, a, b: (a * 1).copy_(b * 2) * a, (2, 3), (2, 3)),
    "FILL_": _case(lambda m, a: (a * 2).fill_(3.0) * a + a, (2, 3)),
    "SUM": _case(lambda m, a: a.sum(dim=1) + a.sum(), (2, 3)),
    "MEAN": _case(lambda m, a: a.mean(dim=0, keepdim=True) * a.mean(), (2, 3)),
    "SOFTMAX": _case(lambda m, a: m.softmax(a, dim=1) * a, (2, 3)),
    "LOG_SOFTMAX": _case(lambda m, a: m.log_softmax(a, dim=0) * a, (2, 3)),
    "MATMUL": _case(lambda m, a, b: a @ b, (2, 3, 4), (4, 2)),
    "MM": _case(lambda m, a, b: m.mm(a, b), (2, 3), (3, 4)),
    "BMM": _case(lambda m, a, b: m.bmm(a, b), (2, 2, 3), (2, 3, 2)),
    "LINALG_INV": _case(lambda m, a: m.linalg.inv(a + 3 * m.eye(3, dtype=a.dtype)) * a, (2, 3, 3)),
    "LINALG_DET": _case(lambda m, a: m.linalg.det(a + 2 * m.eye(3, dtype=a.dtype)) * 2, (2, 3, 3)),
    "LINALG_SLOGDET": _case(lambda m, a: m.linalg.slogdet(a + 2 * m.eye(3, dtype=a.dtype))[1] * 2
                            + m.logdet(a + 3 * m.eye(3, dtype=a.dtype)), (2, 3, 3)),
    "LINALG_SOLVE": _case(lambda m, a, b: m.linalg.solve(a + 3 * m.eye(3, dtype=a.dtype), b) * b, (2, 3, 3),
                          (2, 3, 2)),
    # the factorizations: inputs made symmetric positive definite or triangular where the
    # op needs it; losses of U, V, Q, R that do not depend on their columns' signs
    "LINALG_CHOLESKY": _case(lambda m, a: m.linalg.cholesky(a @ a.mT + 3 * m.eye(3, dtype=a.dtype)), (2, 3, 3)),
    "LINALG_QR": _case(lambda m, a: m.linalg.qr(a)[0] ** 2 @ m.linalg.qr(a)[1] ** 2, (2, 4, 3)),
    "LINALG_SVD": _case(lambda m, a: (m.linalg.svd(a)[0] ** 2 * m.linalg.svdvals(a).unsqueeze(-2))
                        @ m.linalg.svd(a)[2] ** 2, (2, 3, 3)),
    "LINALG_EIGH": _case(lambda m, a: m.linalg.eigh(a + a.mT)[1] ** 2 + m.linalg.eigvalsh(a + a.mT).unsqueeze(-1),
                         (2, 3, 3)),
    "LINALG_LSTSQ": _case(lambda m, a, b: m.linalg.lstsq(a, b).solution, (2, 4, 3), (2, 4, 2)),
    "LU_FACTOR": _case(lambda m, a: m.linalg.lu_factor(a)[0], (2, 3, 3)),
    "LU_SOLVE": _case(lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b), (2, 3, 3), (2, 3, 2)),
    "TRIANGULAR_SOLVE": _case(lambda m, a, b: m.linalg.solve_triangular(a + 3 * m.eye(3, dtype=a.dtype), b,
                                                                        upper=True), (2, 3, 3), (2, 3, 2)),
    "MATRIX_EXP": _case(lambda m, a: m.matrix_exp(a), (2, 3, 3)),
    "ORGQR": _case(lambda m, a, t: m.linalg.householder_product(a, t), (2, 4, 3), (2, 2)),
    "VIEW": _case(lambda m, a: a.view(6) * a.view(6), (2, 3)),
    "SQUEEZE": _case(lambda m, a: a.squeeze(1), (2, 1, 3)),
    "UNSQUEEZE": _case(lambda m, a: a.unsqueeze(0) * 2, (2, 3)),
    "EXPAND": _case(lambda m, a: a.expand(4, 3) * 2, (1, 3)),
    "TRANSPOSE": _case(lambda m, a: a.transpose(0, 1) @ a, (2, 3)),
    "PERMUTE": _case(lambda m, a: a.permute(2, 0, 1) * 2, (2, 3, 4)),
    "SLICE": _case(lambda m, a: a[:, 1:3] * 2, (2, 4)),
    "SELECT": _case(lambda m, a: a[1] * 2, (3, 2)),
    "AS_STRIDED": _case(lambda m, a: m.as_strided(a, (2, 2), (1, 2)) * 2, (2, 3)),
    "DIAGONAL": _case(lambda m, a: a.diagonal(1, 0, 2) * 2 + a.expand(2, 3, 3, 4).diagonal(0, 1, 2).sum(0)[:3],
                      (3, 3, 4)),
    "UNFOLD": _case(lambda m, a: a.unfold(1, 2, 1) * 2 + a.expand(2, 3, 4).unfold(2, 2, 1).sum(0), (3, 4)),
    "AMAX": _case(lambda m, a: m.amax(a, 1) * 2 + m.amax(a), (2, 3)),
    "AMIN": _case(lambda m, a: m.amin(a, 0, keepdim=True) * 2, (2, 3)),
    "MAX_DIM": _case(lambda m, a: m.max(a, 1)[0] * 2, (2, 3)),
    "MIN_DIM": _case(lambda m, a: m.min(a, 0, keepdim=True)[0] * 2, (2, 3)),
    "LOGSUMEXP": _case(lambda m, a: m.logsumexp(a, 1) * 2 + m.logsumexp(a, (0, 1)), (2, 3)),
    "VAR": _case(lambda m, a: m.var(a, 1) + m.var(a, unbiased=False), (2, 3)),
    "STD": _case(lambda m, a: m.std(a, 0) + m.std(a), (3, 2)),
    "NORM": _case(lambda m, a: m.norm(a, dim=1) + m.norm(a, p=3) + m.norm(a, p=1, dim=0).sum()
                  + m.norm(a, p=float("inf")), (2, 3), domain="away"),
    "VAR_MEAN": _case(lambda m, a: m.var_mean(a, 1)[0] * 2 + m.var_mean(a, 1)[1] * a.sum(1)
                      + m.var_mean(a, unbiased=False)[0], (2, 3)),
    "STD_MEAN": _case(lambda m, a: m.std_mean(a, 0, keepdim=True)[0] * m.std_mean(a, 0, keepdim=True)[1]
                      + m.std_mean(a)[1], (3, 2)),
    "NANSUM": _case(lambda m, a: m.nansum(m.where(a > 1.2, a.log(), a), 1) + m.nansum(a), (2, 3)),
    "NANMEAN": _case(lambda m, a: m.nanmean(m.where(a > 1.2, a.log(), a), 0) * 2 + m.nanmean(a), (3, 2)),
    "CUMMAX": _case(lambda m, a: m.cummax(a, 1)[0] * a + m.cummax(a, 0)[0], (3, 4)),
    "CUMMIN": _case(lambda m, a: m.cummin(a, -1)[0] * 2, (3, 4)),
    "SORT": _case(lambda m, a: m.sort(a, 1, descending=True)[0] * a + m.topk(a, 2, 0)[0].sum()
                  + m.kthvalue(a, 3, 1)[0].sum() + m.msort(a) * 2, (3, 4)),
    "MEDIAN": _case(lambda m, a: m.median(a) * a, (3, 5)),
    "MEDIAN_DIM": _case(lambda m, a: m.median(a, 1)[0] * 2 + m.median(a, 0, keepdim=True)[0].sum(), (3, 5)),
    "MODE": _case(lambda m, a: m.mode(a, 1)[0] * a[:, 0] + m.mode(a, 0)[0].sum(), (3, 4)),
    "PROD": _case(lambda m, a: m.prod(a, 1) * 2 + m.prod(a) + m.prod(a, 0, keepdim=True).sum(), (3, 4)),
    "CUMSUM": _case(lambda m, a: m.cumsum(a, 1) * a, (2, 3)),
    "CUMPROD": _case(lambda m, a: m.cumprod(a, 1) * a + m.cumprod(a, 0), (3, 4)),
    "LOGCUMSUMEXP": _case(lambda m, a: m.logcumsumexp(a, 1) * a + m.logcumsumexp(a * 30, 0), (3, 4)),
    "LOGIT": _case(lambda m, a: m.logit((a + 1) / 2.5) + m.logit((a + 1) / 2.5, eps=0.3), (2, 3), domain="unit"),
    "CAT": _case(lambda m, a, b: m.cat([a, b * 2, a], 1), (2, 3), (2, 2)),
    "FLIP": _case(lambda m, a: m.flip(a, [0, 1]) * a, (2, 3)),
    "TRIL": _case(lambda m, a: m.tril(a, -1) * 2 + m.tril(a), (3, 3)),
    "TRIU": _case(lambda m, a: m.triu(a, 1) * 2 + m.triu(a), (3, 3)),
    "GATHER": _case(lambda m, a: m.gather(a, 1, m.tensor([[0, 0, 2], [1, 2, 1]])), (2, 3)),
    "SCATTER": _case(lambda m, a, b: m.scatter(a, 1, m.tensor([[0, 1], [1, 2]]), b)
                     + m.scatter_add(a, 1, m.tensor([[0, 0], [2, 2]]), b), (2, 3), (2, 2)),
    "INDEX": _case(lambda m, a: m.index_select(a, 0, m.tensor([0, 2, 0])).sum(1) + a[m.tensor([1, 1]),
                   m.tensor([0, 1])].sum() + a[a > 0].sum(), (3, 2)),
    "INDEX_PUT": _case(lambda m, a, b: m.index_put(a, (m.tensor([0, 2]),), b)
                       + m.index_put(a, (m.tensor([1, 1]),), b, accumulate=True), (3, 2), (2, 2)),
    # convolution and pooling; a backward row is reached as the gradient of its forward op
    # taken with create_graph (the double backward torch's own formulas give)
    "CONV": _case(lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2),
                                                            groups=2), (2, 4, 5, 6), (6, 2, 3, 2), (6,)),
    "CONV_BACKWARD_INPUT": _case(lambda m, x, w: m.nn.functional.conv_transpose2d(x, w, stride=2, padding=1,
                                                                                   output_padding=1),
                                 (2, 4, 3, 3), (4, 3, 3, 3)),
    "CONV_BACKWARD_WEIGHT": _case(lambda m, x, w: m.autograd.grad((m.nn.functional.conv2d(x, w, stride=2) ** 2).sum(),
                                                                   w, create_graph=True)[0], (2, 3, 5, 5), (2, 3, 2, 2)),
    "CTC_LOSS": _case(lambda m, x: m.nn.functional.ctc_loss(x.log_softmax(2), m.tensor([[1, 2, 2], [3, 3, 0]]), [6, 5],
                                                            [3, 2], reduction="none"), (6, 2, 4)),
    "MAX_POOL": _case(lambda m, x: m.nn.functional.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
                      (2, 3, 7, 6)),
    "MAX_POOL_BACKWARD": _case(lambda m, x: m.autograd.grad((m.nn.functional.max_pool2d(x, 2) ** 2).sum(), x,
                                                            create_graph=True)[0], (2, 2, 4, 6)),
    "AVG_POOL": _case(lambda m, x: m.nn.functional.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True,
                                                              count_include_pad=False), (2, 3, 7, 6)),
    "AVG_POOL_BACKWARD": _case(lambda m, x: m.autograd.grad((m.nn.functional.avg_pool2d(x, 2, stride=1) ** 2).sum(),
                                                            x, create_graph=True)[0], (2, 2, 4, 5)),
    "ADAPTIVE_AVG_POOL": _case(lambda m, x: m.nn.functional.adaptive_avg_pool2d(x, (3, 2)), (2, 3, 7, 5)),
    "ADAPTIVE_AVG_POOL_BACKWARD": _case(lambda m, x: m.autograd.grad(
        (m.nn.functional.adaptive_avg_pool2d(x, (3, 2)) ** 2).sum(), x, create_graph=True)[0], (2, 2, 7, 5)),
    "ADAPTIVE_MAX_POOL": _case(lambda m, x: m.nn.functional.adaptive_max_pool2d(x, (3, 4)), (2, 3, 7, 5)),
    # special functions (branch dist)
    "LGAMMA": _case(lambda m, a: m.lgamma(a), (2, 3), domain="pos"),
    "DIGAMMA": _case(lambda m, a: m.digamma(a) * a, (2, 3), domain="pos"),
    "ERFINV": _case(lambda m, a: m.erfinv(a), (2, 3), domain="unit"),
    # complex views and torch.fft (branch complexgrad; complex inputs: test_autograd_complex.py)
    "VIEW_AS_REAL": _case(lambda m, a: m.view_as_real(m.view_as_complex(a) * 2j), (2, 3, 2)),
    "VIEW_AS_COMPLEX": _case(lambda m, a, b: m.view_as_real(m.view_as_complex(a) * m.view_as_complex(b)), (2, 2),
                             (2, 2)),
    "FFT_C2C": _case(lambda m, a: m.view_as_real(m.fft.fft(a, norm="ortho")), (2, 5)),
    "FFT_R2C": _case(lambda m, a: m.view_as_real(m.fft.rfft(a)), (2, 6)),
    "FFT_C2R": _case(lambda m, a: m.fft.irfft(m.view_as_complex(a), n=5), (2, 3, 2)),
}

# matmul's 1-d rules, each a gradient path of its own
MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,)), ((1, 2, 3), (2, 3, 2))]


def _data(shape, domain, rng):
    x = rng.standard_normal(shape)
    if domain == "pos":
        x = rng.uniform(0.5, 2.0, shape)
    elif domain == "unit":
        x = rng.uniform(-0.9, 0.9, shape)
    elif domain == "gt1":
        x = rng.uniform(1.2, 3.0, shape)
    elif domain == "away":
        x = rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return x


def _grads(mod, fn, arrays):
    xs = [mod.tensor(a, dtype=mod.float64, requires_grad=True) for a in arrays]
    out = fn(mod, *xs)
    weights = np.linspace(-1.0, 1.0, int(np.prod(out.shape)) or 1).reshape(tuple(out.shape))
    out.backward(mod.tensor(weights, dtype=out.dtype))
    return [None if x.grad is None else x.grad.numpy() for x in xs]


def test_every_derivative_row_has_a_case():
    assert sorted(derivative_rows()) == sorted(CASES), "add a case for each row of proto/derivatives.def"


@pytest.mark.parametrize("op", sorted(CASES))
def test_gradient_matches_pytorch(op):
    fn, shapes, domain, _ = CASES[op]
    rng = np.random.default_rng(zlib.crc32(op.encode()))  # the same data every run
    arrays = [_data(s, domain, rng) for s in shapes]
    ours, theirs = _grads(td, fn, arrays), _grads(T, fn, arrays)
    for g, r in zip(ours, theirs):
        assert (g is None) == (r is None)
        if r is not None:
            np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("op", sorted(op for op in CASES if CASES[op][3]))
def test_gradcheck(op):
    fn, shapes, domain, _ = CASES[op]
    rng = np.random.default_rng(7)
    xs = [td.tensor(_data(s, domain, rng), dtype=td.float64, requires_grad=True) for s in shapes]
    assert td.autograd.gradcheck(lambda *a: fn(td, *a), xs)


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_ranks_match_pytorch(sa, sb):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(sa), rng.standard_normal(sb)]
    for g, r in zip(_grads(td, lambda m, a, b: a @ b, arrays), _grads(T, lambda m, a, b: a @ b, arrays)):
        np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("op", ["MUL", "DIV", "EXP", "TANH", "SIGMOID", "LOG", "MATMUL", "SOFTMAX", "SUM",
                                "LOGCUMSUMEXP", "CUMPROD", "MEDIAN", "DIGAMMA", "VIEW_AS_COMPLEX", "FFT_C2C", "FFT_R2C",
                                "FFT_C2R"])
def test_gradgradcheck(op):
    fn, shapes, domain, _ = CASES[op]
    rng = np.random.default_rng(11)
    xs = [td.tensor(_data(s, domain, rng), dtype=td.float64, requires_grad=True) for s in shapes]
    assert td.autograd.gradgradcheck(lambda *a: fn(td, *a), xs)


# ---------------------------------------------------------------- the API

def test_leaf_flags_and_grad_fn_names():
    for mod in (td, T):
        x = mod.ones(3, requires_grad=True)
        y = (x * 2).sum()
        assert x.is_leaf and x.grad_fn is None and x.requires_grad
        assert not y.is_leaf and y.grad_fn.name() == "SumBackward0"
        (fn, nr), = y.grad_fn.next_functions
        assert fn.name() == "MulBackward0" and nr == 0
        assert fn.next_functions[0][0].name() == "torch::autograd::AccumulateGrad"
        assert repr(y).endswith("grad_fn=<SumBackward0>)")
        assert repr(x).endswith("requires_grad=True)")


def test_grad_fn_classes_are_named_as_torch():
    """Scripts print type(t.grad_fn).__name__: torch has a class per kind of node, a custom
    Function's in torch.autograd.function."""
    got = {}
    for mod in (td, T):
        class Twice(mod.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = mod.ones(3, requires_grad=True)
        y = (Twice.apply(x) + 1).sum()
        add = y.grad_fn.next_functions[0][0]
        twice = add.next_functions[0][0]
        acc = (x * 1).grad_fn.next_functions[0][0]
        got[mod] = ([type(n).__name__ for n in (y.grad_fn, add, twice, acc)], type(add).__module__,
                    type(twice).__module__.replace(mod.__name__, "M"), repr(twice).split(" object")[0].replace(
                        mod.__name__, "M"), type(y.grad_fn) is type((x * 3).sum().grad_fn),
                    type(add) is type(y.grad_fn))
        y.backward()
        assert x.grad.tolist() == [2.0, 2.0, 2.0]
    assert got[td] == got[T]


def _node_name_cases(mod):
    """(label, result) of nn functions that tensord composes from several ops and torch runs
    as one: their results' grad_fn must carry torch's name (print(loss) shows it)."""
    F, nn = mod.nn.functional, mod.nn
    rng = np.random.default_rng(3)
    x = mod.tensor(rng.standard_normal((4, 3)), dtype=mod.float32, requires_grad=True)
    y = mod.tensor(rng.standard_normal((4, 3)), dtype=mod.float32)
    p = mod.tensor(rng.random((4, 3)), dtype=mod.float32)
    t = mod.tensor([0, 1, 2, 1])
    img = mod.tensor(rng.standard_normal((2, 3, 4, 4)), dtype=mod.float32, requires_grad=True)
    W = mod.tensor(rng.standard_normal((5, 3)), dtype=mod.float32, requires_grad=True)
    b = mod.tensor(rng.standard_normal(5), dtype=mod.float32, requires_grad=True)
    out = []
    for red in ("mean", "sum", "none"):
        out += [("mse", F.mse_loss(x, y, reduction=red)), ("smooth_l1", F.smooth_l1_loss(x, y, reduction=red)),
                ("smooth_l1_0", F.smooth_l1_loss(x, y, reduction=red, beta=0.0)),
                ("huber", F.huber_loss(x, y, reduction=red)),
                ("bce", F.binary_cross_entropy(x.sigmoid(), p, weight=p, reduction=red)),
                ("bce_logits", F.binary_cross_entropy_with_logits(x, p, pos_weight=mod.ones(3), reduction=red)),
                ("nll", F.nll_loss(x, t, reduction=red)), ("nll_1d", F.nll_loss(x[0], t[0], reduction=red)),
                ("ce", F.cross_entropy(x, t, reduction=red, weight=mod.ones(3), ignore_index=1)),
                ("ce_3d", F.cross_entropy(x.reshape(2, 3, 2), t.reshape(2, 2) % 3, reduction=red)),
                ("ce_4d", F.cross_entropy(x.reshape(1, 3, 2, 2), t.reshape(1, 2, 2) % 3, reduction=red)),
                ("ce_prob", F.cross_entropy(x, p, reduction=red)), ("l1", F.l1_loss(x, y, reduction=red))]
    out += [("linear", F.linear(x, W, b)), ("linear_nobias", F.linear(x, W)),
            ("linear_3d", F.linear(x.view(2, 2, 3), W, b)), ("linear_3d_nobias", F.linear(x.view(2, 2, 3), W)),
            ("module_linear", nn.Linear(3, 2)(x)), ("gelu", F.gelu(x)), ("gelu_tanh", F.gelu(x, approximate="tanh")),
            ("silu", F.silu(x)), ("leaky", F.leaky_relu(x, 0.1)), ("elu", F.elu(x)), ("selu", F.selu(x)),
            ("celu", F.celu(x)), ("softplus", F.softplus(x)), ("hardtanh", F.hardtanh(x)), ("relu6", F.relu6(x)),
            ("mish", F.mish(x)), ("hardswish", F.hardswish(x)), ("hardsigmoid", F.hardsigmoid(x)),
            ("logsigmoid", F.logsigmoid(x)), ("prelu", F.prelu(x, mod.tensor([0.25]))),
            ("batch_norm", nn.BatchNorm2d(3)(img)), ("batch_norm_eval", nn.BatchNorm1d(3).eval()(x)),
            ("layer_norm", nn.LayerNorm(3)(x)), ("group_norm", nn.GroupNorm(1, 3)(img)),
            ("embedding", nn.Embedding(5, 3, padding_idx=0)(mod.tensor([[1, 0]]))),
            ("max_pool2d", F.max_pool2d(img, 2)), ("max_pool2d_unbatched", F.max_pool2d(img[0], 2)),
            ("max_pool1d", F.max_pool1d(x[None], 2)), ("avg_pool2d", F.avg_pool2d(img, 2)),
            ("avg_pool2d_unbatched", F.avg_pool2d(img[0], 2)), ("avg_pool1d", F.avg_pool1d(x[None], 2)),
            ("adaptive_avg_unbatched", F.adaptive_avg_pool2d(img[0], 2)),
            ("adaptive_max_1d", F.adaptive_max_pool1d(x[None], 2)),
            ("adaptive_avg_1x1", F.adaptive_avg_pool2d(img, 1)), ("adaptive_avg", F.adaptive_avg_pool2d(img, 2)),
            ("adaptive_max", F.adaptive_max_pool2d(img, 2)), ("masked_fill", x.masked_fill(x > 0, 0.0)),
            ("pad", F.pad(x, (1, 1)))]
    return out


def _overload_name_cases(mod):
    """Tensor ops whose torch node names the overload (or kernel) that ran: matmul by the
    operands' ranks, reductions with and without dim, scalar or tensor operands, ..."""
    rng = np.random.default_rng(4)
    x = mod.tensor(rng.standard_normal((4, 3)), dtype=mod.float32, requires_grad=True)
    v = mod.tensor(rng.standard_normal(3), dtype=mod.float32, requires_grad=True)
    b3 = mod.tensor(rng.standard_normal((2, 4, 3)), dtype=mod.float32, requires_grad=True)
    W = mod.tensor(rng.standard_normal((3, 5)), dtype=mod.float32, requires_grad=True)
    sq = mod.tensor(rng.standard_normal((3, 3)), dtype=mod.float32, requires_grad=True)
    return [("mm", x @ W), ("mv", x @ v), ("vm", v @ W), ("dot", v @ v), ("b3m", b3 @ W), ("bmm", b3 @ b3.mT),
            ("mb3", sq @ b3.mT.contiguous()), ("v_b3", v @ b3.mT), ("max", x.max()), ("min", x.min()), ("max_dim", x.max(1)[0]),
            ("min_dim", x.min(0).values), ("amax", x.amax(1)), ("norm", x.norm()), ("norm_dim", x.norm(dim=1)),
            ("vector_norm", mod.linalg.vector_norm(x)), ("linalg_norm_inf", mod.linalg.vector_norm(x, float("inf"))),
            ("clamp", x.clamp(0, 1)), ("clamp_min", x.clamp(min=0)), ("clamp_t", x.clamp(min=mod.zeros(3))),
            ("t", x.t()), ("T", x.T), ("T3", b3.T), ("transpose", x.transpose(0, 1)), ("stack", mod.stack([x, x])),
            ("stack_last", mod.stack([x, x], -1)), ("repeat", x.repeat(2, 1)), ("chunk", x.chunk(2)[1]),
            ("split", x.split(1)[0]), ("split_sizes", x.split([1, 3])[1]), ("unbind", x.unbind(1)[2]),
            ("squeeze_dim", x[None].squeeze(0)), ("squeeze", x[None].squeeze()), ("rsub", 1 - x), ("sub", x - 1),
            ("rdiv", 2 / x), ("div", x / 2), ("pow", x ** 2), ("pow_t", x ** x), ("rpow", 2 ** x),
            ("sum", x.sum()), ("sum_dim", x.sum(1)), ("sum_keep", x.sum(0, keepdim=True)), ("mean", x.mean()),
            ("mean_dim", x.mean(-1)), ("to", x.to(mod.float64)), ("double", x.double()),
            ("masked_select", x.masked_select(x > 0)), ("topk", x.topk(2)[0]), ("diag", sq.diag()),
            ("diag_1d", v.diag()), ("trace", sq.trace()), ("addmm", mod.addmm(v, x, W[:, :3])),
            ("roll", x.roll(1, 0)), ("roll_flat", x.roll(2))]


def test_overloads_show_torchs_node_names():
    got = [(k, v.grad_fn.name()) for k, v in _overload_name_cases(td)]
    want = [(k, v.grad_fn.name()) for k, v in _overload_name_cases(T)]
    assert got == want


def test_composed_functions_show_torchs_node_names():
    got = [(k, v.grad_fn.name()) for k, v in _node_name_cases(td)]
    want = [(k, v.grad_fn.name()) for k, v in _node_name_cases(T)]
    assert got == want
    x = td.tensor([1.0, 2.0], requires_grad=True)
    loss = td.nn.functional.mse_loss(x, td.zeros(2))
    assert repr(loss) == "tensor(2.5000, grad_fn=<MseLossBackward0>)"
    assert type(loss.grad_fn).__name__ == "MseLossBackward0"
    loss.backward()  # the renamed node still runs its own formula
    assert x.grad.tolist() == [1.0, 2.0]
    with td.no_grad():
        assert td.nn.functional.mse_loss(x, td.zeros(2)).grad_fn is None


def test_gradients_accumulate_and_reset():
    x = td.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_no_grad_and_detach():
    x = td.ones(2, requires_grad=True)
    with td.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert not x.detach().requires_grad and td.is_grad_enabled()
    with td.set_grad_enabled(False):
        assert not (x + 1).requires_grad
    assert (x + 1).requires_grad


def test_errors_match_pytorch():
    for mod in (td, T):
        x = mod.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            (x * 2).backward()
        y = (x.exp()).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.backward()
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            x.add_(1)
        with pytest.raises(RuntimeError, match="only Tensors of floating point"):
            mod.ones(2, dtype=mod.int64).requires_grad_()
        with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
            mod.ones(2).sum().backward()
        z = x.exp()
        w = z.sum()
        z.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            w.backward()


def test_retain_graph_and_retain_grad():
    x = td.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    y = (h * 3).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [12.0, 24.0])
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 6.0])


def test_inplace_on_non_leaf_rebases_history():
    for mod in (td, T):
        x = mod.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        y.mul_(x)
        y.add_(1)
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0, 12.0])


def test_hooks():
    x = td.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    (x * 2).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 20.0])
    h.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_autograd_grad_and_higher_order():
    x = td.tensor([0.5, 1.5], dtype=td.float64, requires_grad=True)
    (g,) = td.autograd.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([0.5, 1.5]) ** 2)
    (g2,) = td.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g2.numpy(), 6 * np.array([0.5, 1.5]))
    assert x.grad is None
    y = td.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        td.autograd.grad((x * 2).sum(), [x, y])
    _, none = td.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert none is None


def test_backward_inputs_limits_accumulation():
    a = td.ones(2, requires_grad=True)
    b = td.ones(2, requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    assert a.grad is not None and b.grad is None


def test_custom_function():
    class Cube(td.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x ** 3 * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2 * ctx.k, None

    x = td.tensor([1.0, 2.0], dtype=td.float64, requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    (y.sin()).sum().backward()
    ref = T.tensor([1.0, 2.0], dtype=T.float64, requires_grad=True)
    (T.sin(ref ** 3 * 2)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref.grad.numpy())


def test_out_argument_with_grad_raises():
    x = td.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        td.add(x, x, out=td.empty(2))


def test_long_chain_frees_without_recursion():
    x = td.ones(4, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones(4))
    del y


def test_anomaly_mode_names_the_node():
    x = td.tensor([0.0, 1.0], requires_grad=True)
    with td.autograd.detect_anomaly():
        assert td.autograd.anomaly_mode.is_anomaly_enabled()
        y = (x.sqrt() * 0).sum()  # sqrt's gradient at 0 is inf; times 0 is nan
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values in its 0th output"):
            y.backward()
    assert not td.autograd.anomaly_mode.is_anomaly_enabled()
    (x.sqrt() * 0).sum().backward()  # off again: no check
    ref = T.tensor([0.0, 1.0], requires_grad=True)
    with T.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values in its 0th output"):
            (ref.sqrt() * 0).sum().backward()


def test_op_without_formula_raises_at_backward():
    """A float result of an op with no derivative yet keeps the graph and raises at
    backward, never silently drops the gradient (torch's not_implemented)."""
    x = td.tensor([[3.0, 1.0], [2.0, 4.0]], requires_grad=True)
    y = td.histc(x, bins=4)
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="the derivative for 'histc' is not implemented"):
        y.sum().backward()
    assert not x.argmax().requires_grad  # integer results never require grad


# Differentiable rows whose derivative is still to come: backward through them raises
# torch's "not implemented" error.  The list must be exact, so a new TD_F_DIFF row without
# a formula (or a formula for one of these without removing it here) fails this test.
NOT_YET = {"AMINMAX"}


def test_every_differentiable_row_has_a_derivative_or_is_listed():
    diff = set()
    with open(os.path.join(ROOT, "proto", "ops.def")) as f:
        for line in f:
            m = re.match(r"^TD_OP\(\s*(\w+)\s*,.*TD_F_DIFF", line)
            if m:
                diff.add(m.group(1))
    have = set(derivative_rows())
    assert have <= diff, "derivatives.def rows for ops not flagged TD_F_DIFF: %s" % sorted(have - diff)
    assert diff - have == NOT_YET, "update NOT_YET: missing %s, listed but done %s" % (
        sorted(diff - have - NOT_YET), sorted(NOT_YET & have))


def test_grad_of_non_leaf_warns_as_torch():
    for mod in (td, T):
        x = mod.ones(2, requires_grad=True)
        y = x * 2
        with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
            assert y.grad is None
        y.retain_grad()
        y.sum().backward()
        np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])


def test_nan_reductions_give_nan_elements_no_gradient():
    for mod in (td, T):
        x = mod.tensor([[1.0, float("nan"), 2.0], [float("nan"), 4.0, 6.0]], requires_grad=True)
        (mod.nansum(x) + mod.nanmean(x, 1).sum()).backward()
        np.testing.assert_allclose(x.grad.numpy(), [[1.5, 0, 1.5], [0, 1.5, 1.5]])


def test_overlapping_strided_views_accumulate():
    """unfold's windows and as_strided views overlap: each element's gradient sums over
    every window that reads it (elements outside the input get none), as in torch."""
    cases = [(5, lambda m, x: (x.unfold(0, 3, 1) * m.arange(9.0, dtype=m.float64).view(3, 3)).sum()),
             (12, lambda m, x: (m.as_strided(x.view(3, 4)[1:], (3, 2), (1, 2), 1)
                                * m.arange(6.0, dtype=m.float64).view(3, 2)).sum()),
             (12, lambda m, x: (m.as_strided(x, (4, 3), (2, 1)) ** 2).sum())]
    for n, fn in cases:
        got = []
        for m in (td, T):
            x = m.arange(float(n), dtype=m.float64).requires_grad_()
            fn(m, x).backward()
            got.append(x.grad.numpy())
        np.testing.assert_allclose(got[0], got[1])
    x = td.tensor(np.random.default_rng(0).standard_normal(7), requires_grad=True)
    assert td.autograd.gradcheck(lambda a: a.unfold(0, 3, 2) * 2, (x,))


def test_prod_gradient_with_zeros_matches_torch():
    """One zero in a slice: the others' product goes to it; two zeros: nothing."""
    x = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 1.0], [1.5, 2.0, -1.0, 0.5]])
    got = []
    for m in (td, T):
        t = m.tensor(x, requires_grad=True)
        (m.prod(t, 1) * m.tensor([1.0, 2.0, 3.0], dtype=m.float64)).sum().backward()
        u = m.tensor(x[0], requires_grad=True)
        m.prod(u).backward()
        got.append((t.grad.numpy(), u.grad.numpy()))
    for a, b in zip(*got):
        np.testing.assert_allclose(a, b)


def _grad_pair(fn, x, dtype, upstream=None):
    """The gradient of fn at x under tensord and under torch, as numpy arrays."""
    out = []
    for mod in (td, T):
        a = mod.tensor(x, dtype=getattr(mod, dtype), requires_grad=True)
        y = fn(mod, a)
        y.backward(mod.tensor(upstream, dtype=getattr(mod, dtype)) if upstream is not None else None)
        out.append(a.grad.numpy())
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cumprod_gradient_with_zeros_matches_pytorch(dtype):
    rng = np.random.default_rng(5)
    x = rng.uniform(0.5, 2.0, (6, 5)) * rng.choice([-1, 1], (6, 5))
    x[0, 0] = 0                  # a zero first
    x[1, 2] = 0                  # one zero inside
    x[2, 1] = x[2, 3] = 0        # two zeros
    x[3, 4] = 0                  # a zero last
    x[4, 0] = x[4, 4] = 0        # zeros at both ends
    g = rng.standard_normal((6, 5))
    for dim in (1, 0, -1):
        ours, theirs = _grad_pair(lambda m, a: m.cumprod(a, dim), x, dtype, g)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_median_gradient_goes_where_pytorch_sends_it():
    # ties: torch shares the full median's gradient evenly among the equal elements
    for x in ([1.0, 2.0, 2.0, 3.0], [[5.0, 1.0], [5.0, 5.0]], [4.0, 4.0, 4.0], [7.0]):
        ours, theirs = _grad_pair(lambda m, a: m.median(a) * 3, x, "float64")
        np.testing.assert_array_equal(ours, theirs)


def test_logcumsumexp_gradient_is_stable_as_pytorch():
    x = np.array([[1000.0, -1000.0, 0.0, 999.0], [-800.0, -900.0, -1000.0, 80.0]])
    g = np.array([[1.0, 0.0, -2.0, 0.5], [0.0, 0.0, 3.0, -1.0]])
    for dtype in ("float32", "float64"):
        for dim in (0, 1):
            ours, theirs = _grad_pair(lambda m, a: m.logcumsumexp(a, dim), x, dtype, g)
            assert np.isfinite(ours).all()
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_digamma_gradient_over_its_domain_matches_pytorch(dtype):
    # the reflection below 1/2 (negative non-integers), the recurrence, the series far out
    x = np.array([-3.7, -2.5, -0.9, -0.1, 0.05, 0.3, 0.5, 0.9, 1.0, 2.5, 6.0, 7.3, 40.0, 1e4])
    ours, theirs = _grad_pair(lambda m, a: m.digamma(a), x, dtype, np.ones_like(x))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5 if dtype == "float32" else 1e-9)


def test_passes_with_targets_run_only_what_leads_to_them_like_torch():
    """autograd.grad and backward(inputs=) run only the nodes on a path to their targets:
    retained .grad is filled where the gradient was computed (autograd.grad too), hooks of
    tensors off the path do not fire, and nothing beyond a target runs."""
    def run(m):
        out = []
        x = m.ones(3, requires_grad=True)
        y = x * 2
        y.retain_grad()
        m.autograd.grad((y * y).sum(), x)
        out.append(y.grad.tolist())
        x = m.ones(3, requires_grad=True)
        w = m.ones(3, requires_grad=True)
        y = x * 2
        y.retain_grad()
        fired = []
        y.register_hook(lambda g: fired.append("y"))
        (y * y * w).sum().backward(inputs=[w])
        out.append((y.grad, x.grad, w.grad.tolist(), fired))
        x = m.ones(3, requires_grad=True)
        y = x * 3
        z = y.sin()
        z.retain_grad()
        x.register_hook(lambda g: fired.append("x"))
        (gy,) = m.autograd.grad((z * z).sum(), y)       # stops at y: x's hook does not fire
        out.append((round(float(gy.sum()), 12), round(float(z.grad.sum()), 12), fired[1:], x.grad))
        return out
    assert run(td) == run(T)


def test_backward_inputs_fill_a_non_leaf_grad_like_torch():
    import warnings

    def run(m):
        out = []
        for retain in (False, True):
            x = m.ones(3, requires_grad=True)
            y = x * 2
            if retain:
                y.retain_grad()
            (y * y).sum().backward(inputs=[y])
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                g = y.grad
            out.append((g.tolist(), x.grad, len(w)))
        return out
    assert run(td) == run(T)


def test_version_counter_like_torch():
    """Tensor._version: the in-place writes of a tensor and its views (torch's shared
    version counter), out= and copy_ included."""
    def versions(m):
        a = m.ones(3, requires_grad=True)
        b = a.exp()
        v = b[1:]
        seen = [b._version]
        b.add_(1)
        seen += [b._version, v._version]
        v.mul_(2)
        seen += [b._version, a._version, m.zeros(2)._version]
        o = m.empty(3)
        m.add(m.ones(3), 1, out=o)
        o.copy_(m.ones(3))
        o.zero_()
        seen += [o._version, b.detach()._version, (b * 1)._version]
        return seen
    assert versions(td) == versions(T)


@pytest.mark.parametrize("case", ["output", "output_twice", "leaf_input", "anomaly", "input_latest",
                                  "input_two_inplace", "input_of_a_base", "input_in_a_loop", "input_out"])
def test_modified_saved_tensor_message_like_torch(case):
    """torch's error, with the shape, the node (a saved output's: the saving node; a saved
    input's: the tensor's latest, its in-place ops included) and both versions."""
    def run(m):
        if case == "input_latest":
            b = m.ones(3, requires_grad=True) * 2
            c = b.sin()
            b.add_(3)
            c.sum().backward()
        elif case == "input_two_inplace":
            b = m.ones(2, 2, requires_grad=True) * 2
            c = b @ b
            b.add_(1)
            b.mul_(2)
            c.sum().backward()
        elif case == "input_of_a_base":
            b = m.ones(4, requires_grad=True) + 0
            v = b[:2]
            c = b.cos()
            v.mul_(3)  # through a view: the base's history becomes CopySlices
            c.sum().backward()
        elif case == "input_in_a_loop":
            x = m.ones(3, requires_grad=True) * 1
            outs = []
            for _ in range(50):
                outs.append(x.sin())
                x.mul_(1.01)
            sum(o.sum() for o in outs).backward()
        elif case == "input_out":
            a = m.ones(3, requires_grad=True)
            b = a * 2
            c = b.sin()
            b.copy_(a * 3)  # torch names copy_'s C++ node
            c.sum().backward()
        elif case == "output":
            y = m.ones(2, 3, requires_grad=True).exp()
            s = y.sum()
            y.mul_(2)
            s.backward()
        elif case == "output_twice":
            y = m.ones(3, requires_grad=True).exp()
            y.add_(1)  # before it is saved: fine
            z = y.sigmoid()
            y.add_(1)
            y[0].mul_(2)
            z.sum().backward()
        elif case == "leaf_input":
            x = m.ones(4, requires_grad=True)
            w = m.ones(4)
            (x * w).sum()
            s = (x * w).sum()
            w.add_(1)
            s.backward()
        else:
            with m.autograd.set_detect_anomaly(True):
                y = m.ones(2, requires_grad=True).tanh()
                s = y.sum()
                y.div_(3)
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    s.backward()
    with pytest.raises(RuntimeError) as want:
        run(T)
    with pytest.raises(RuntimeError) as got:
        run(td)
    assert str(got.value) == str(want.value)


def test_as_subclass_like_torch():
    """Tensor.as_subclass: an alias of the tensor as the subclass (torch's AliasBackward0 in
    grad mode), sharing storage; gradients flow through it."""
    def run(m):
        class Sub(m.Tensor):
            pass
        a = m.ones(3, requires_grad=True)
        b = a * 2
        c = b.as_subclass(Sub)
        (c * 3).sum().backward()
        d = m.zeros(2).as_subclass(Sub)
        e = m.zeros(2)
        e.as_subclass(Sub)[0] = 5  # a write through the alias reaches the original
        with pytest.raises(RuntimeError, match="does not inherit from Tensor"):
            e.as_subclass(int)
        return (type(c).__name__, type(c.grad_fn).__name__, c.requires_grad, a.grad.tolist(), type(d).__name__,
                d.requires_grad, d.grad_fn, e.tolist(), isinstance(c, m.Tensor))
    assert run(td) == run(T)


def test_saved_tensors_hooks_like_torch():
    """torch.autograd.graph.saved_tensors_hooks: pack sees the tensors ops save (the same
    set as torch's for these ops, custom Functions' too), backward uses what unpack gives,
    gradients are torch's; errors in the hooks surface as torch's."""
    def run(m):
        packed, unpacked = [], []

        def pack(t):
            packed.append(tuple(t.shape))
            return ("box", t * 1)

        def unpack(p):
            unpacked.append(p[0])
            return p[1]

        class Cube(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 3 * x * x * g

        x = m.tensor([0.5, 1.5, 2.0], requires_grad=True)
        w = m.tensor([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], requires_grad=True)
        with m.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = (w @ x).sin() * x.sum() + Cube.apply(x).sum()
        y.sum().backward()
        out = [sorted(packed), len(unpacked), [round(v, 5) for v in x.grad.tolist()],
               [round(v, 5) for v in w.grad.flatten().tolist()]]
        a = m.ones(3, requires_grad=True)
        with m.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t * 0):  # unpack decides
            c = a * a
        c.sum().backward()
        out.append(a.grad.tolist())
        for hooks in ((lambda t: 1 / 0, lambda t: t), (lambda t: t, lambda t: 3)):
            try:
                with m.autograd.graph.saved_tensors_hooks(*hooks):
                    d = a.exp()
                d.sum().backward()
                out.append("no error")
            except (RuntimeError, TypeError) as e:
                out.append((type(e).__name__, str(e).split("\n")[0]))
        with m.autograd.graph.disable_saved_tensors_hooks("not here"):
            try:
                with m.autograd.graph.saved_tensors_hooks(pack, unpack):
                    pass
            except RuntimeError as e:
                out.append(str(e))
        return out
    got, want = run(td), run(T)
    assert got == want
    assert want[-3:] == [("RuntimeError", "ZeroDivisionError: division by zero"),
                         ("TypeError", "Output of saved tensor unpack_hook expected to be a Tensor but got result of "
                                       "type int"), "not here"]
