"""tensord.special's Bessel/Airy functions (airy_ai, bessel_y0/y1, modified_bessel_k0/k1 and the scaled
ones, spherical_bessel_j0) and orthogonal polynomials (Chebyshev T/U/V/W and shifted, Hermite H/He,
Laguerre, Legendre) against torch 1.13 over wide ranges (negative, zero, tiny, large, nan/inf) in float64
and float32, against scipy.special as an independent tight reference, with torch's dtype promotion,
special cases of n, errors and (absent) derivatives."""
import numpy as np
import pytest
import scipy.special as sc
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, to_torch

X_WIDE = np.concatenate([-np.logspace(-3, 2.5, 150), [0.0, -0.0], np.logspace(-300, -5, 12),
                         np.logspace(-3, 2.5, 200), np.linspace(-12, 25, 149), [1e3, 1e5, 1e300],
                         [np.inf, -np.inf, np.nan]])

# name -> (scipy reference, torch's own float64 error: its kernels are less accurate than scipy in places,
# bessel_j0/j1/y0/y1 by up to 8e-7 around x = 5, airy_ai by 3e-6 around x = -2.1 (measured against scipy); the
# comparison with scipy below is the tight one)
UNARY = {
    "airy_ai": (lambda x: sc.airy(x)[0], 5e-6),
    "bessel_y0": (sc.y0, 1e-6),
    "bessel_y1": (sc.y1, 1e-6),
    "modified_bessel_k0": (sc.k0, 1e-13),
    "modified_bessel_k1": (sc.k1, 1e-13),
    "scaled_modified_bessel_k0": (sc.k0e, 1e-13),
    "scaled_modified_bessel_k1": (sc.k1e, 1e-13),
    "spherical_bessel_j0": (lambda x: sc.spherical_jn(0, x), 1e-13),
    # the older ones behave the same way in torch 1.13 (no derivative, float32/float64 only)
    "bessel_j0": (sc.j0, 1e-6),
    "bessel_j1": (sc.j1, 1e-6),
    "modified_bessel_i0": (sc.i0, 1e-13),
    "modified_bessel_i1": (sc.i1, 1e-13),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float64(name):
    ref, torch_err = UNARY[name]
    got = getattr(td.special, name)(td.tensor(X_WIDE))
    want = getattr(torch.special, name)(torch.tensor(X_WIDE))
    assert_same(got, want, rtol=torch_err, atol=torch_err)
    g = to_torch(got).numpy()
    with np.errstate(all="ignore"):
        s = ref(X_WIDE)
    # scipy: near machine precision (the power series of Y near their cut-over at 12 lose a few digits:
    # 5e-13 absolute); where scipy has no finite value (inf/nan input, its airy above ~1e150) torch's hold
    fin = np.isfinite(s)
    assert np.allclose(g[fin], s[fin], rtol=2e-11, atol=1e-12), name
    # the exact special values are torch's
    special = ~np.isfinite(want.numpy())
    assert np.array_equal(g[special], want.numpy()[special], equal_nan=True)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float32_and_ints(name):
    # (torch's float32 kernels lose the phase of the oscillating ones at large |x|: compared up to 30)
    x = X_WIDE[np.abs(X_WIDE) <= 30].astype(np.float32)
    got = getattr(td.special, name)(td.tensor(x))
    want = getattr(torch.special, name)(torch.tensor(x))
    assert_same(got, want, rtol=2e-5, atol=2e-6)
    # integers and bool promote to the default dtype
    for dt in ("int64", "int32", "uint8", "bool"):
        xi = np.array([0, 1, 2, 3, 7, 20, 30]).astype(dt)
        got = getattr(td.special, name)(td.tensor(xi))
        want = getattr(torch.special, name)(torch.tensor(xi))
        assert_same(got, want, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_errors_out_and_grad(name):
    f, tf = getattr(td.special, name), getattr(torch.special, name)
    for dt in ("float16", "bfloat16", "complex64"):
        assert_raises_like(lambda: f(td.ones(2, dtype=getattr(td, dt))),
                           lambda: tf(torch.ones(2, dtype=getattr(torch, dt))))
    assert_raises_like(lambda: f(1.5), lambda: tf(1.5))
    # out=: written in place, dtype rules of out=
    o, to = td.empty(3, dtype=td.float64), torch.empty(3, dtype=torch.float64)
    r = f(td.tensor([0.5, 1.5, 3.0]), out=o)
    assert r is o
    assert_same(o, tf(torch.tensor([0.5, 1.5, 3.0]), out=to), rtol=1e-6, atol=1e-7)
    assert_raises_like(lambda: f(td.tensor([0.5]), out=td.empty(1, dtype=td.int64)),
                       lambda: tf(torch.tensor([0.5]), out=torch.empty(1, dtype=torch.int64)))
    # torch 1.13 has no derivative for these: the result does not require grad
    x, tx = td.tensor([0.5, 2.0], requires_grad=True), torch.tensor([0.5, 2.0], requires_grad=True)
    r, tr = f(x), tf(tx)
    assert r.requires_grad is tr.requires_grad is False
    assert r.grad_fn is None and tr.grad_fn is None
    assert_raises_like(lambda: f(x).sum().backward(), lambda: tf(tx).sum().backward())


POLYS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
         "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
         "legendre_polynomial_p"]
PX = np.array([2.0, -2.0, 1e200, -1e200, -0.5, 0.5, 0.3, -0.9, 0.999, -0.999999, 1.5, -1.5, 10.0, -10.0, 3.0,
               np.nan, np.inf, -np.inf, 1.0, -1.0, 0.0, -0.0, 1e-17, 0.25, 0.75, 1 - 2 ** -52, -1 + 2 ** -53])
# negative, fractional (truncated), nan/inf and out-of-int64 n included; up to the trigonometric
# form (n > 6 or 8) and long recurrences
PN = np.array([0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 15, 30, 100, 1000, -1, -3, -0.5, 0.5, 2.7, -2.7, np.nan, np.inf,
               -np.inf, 1e19, -1e19])


@pytest.mark.parametrize("name", POLYS)
def test_polynomial_float64(name):
    X, N = np.meshgrid(PX, PN)
    got = getattr(td.special, name)(td.tensor(X), td.tensor(N))
    want = getattr(torch.special, name)(torch.tensor(X), torch.tensor(N))
    assert_same(got, want, rtol=1e-9, atol=1e-11)
    # the special values exactly (n < 0 -> 0, |x| == 1, overflow -> nan as torch's recurrence)
    w = want.numpy()
    g = to_torch(got).numpy()
    edge = {"shifted": (X == 0) | (X == 1), "chebyshev": np.abs(X) == 1, "legendre": np.abs(X) == 1,
            "laguerre": X == 0, "hermite": np.zeros_like(X, dtype=bool)}[name.split("_")[0]]
    exact = ~np.isfinite(w) | (N < 0) | ~np.isfinite(N) | edge
    assert np.array_equal(g[exact], w[exact], equal_nan=True)


@pytest.mark.parametrize("name", POLYS)
def test_polynomial_independent_reference(name):
    """Against scipy's orthogonal polynomials (independent of torch)."""
    x = np.linspace(-0.99, 0.99, 41)
    kind = name.split("_")[-1]
    shifted = name.startswith("shifted")
    for n in (0, 1, 2, 5, 8, 9, 20):
        xs = 2 * x - 1 if shifted else x
        xs = np.clip(xs, -0.99, 0.99)
        xin = (xs + 1) / 2 if shifted else xs
        if kind == "t":
            ref = sc.eval_chebyt(n, xs)
        elif kind == "u":
            ref = sc.eval_chebyu(n, xs)
        elif kind == "v":  # V_n(x) = U_n(x) - U_{n-1}(x), W_n(x) = U_n(x) + U_{n-1}(x)
            ref = sc.eval_chebyu(n, xs) - (sc.eval_chebyu(n - 1, xs) if n else 0)
        elif kind == "w":
            ref = sc.eval_chebyu(n, xs) + (sc.eval_chebyu(n - 1, xs) if n else 0)
        elif name == "hermite_polynomial_h":
            ref = sc.eval_hermite(n, 3 * xs)
            xin = 3 * xs
        elif name == "hermite_polynomial_he":
            ref = sc.eval_hermitenorm(n, 3 * xs)
            xin = 3 * xs
        elif kind == "l":
            ref = sc.eval_laguerre(n, 5 * xs + 5)
            xin = 5 * xs + 5
        else:
            ref = sc.eval_legendre(n, xs)
        got = getattr(td.special, name)(td.tensor(xin), n).numpy()
        assert np.allclose(got, ref, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(ref).max())), (name, n)


@pytest.mark.parametrize("name", POLYS)
def test_polynomial_float32(name):
    x = np.concatenate([np.linspace(-1, 1, 21), [-3.0, -1.5, 1.5, 3.0, 0.0, np.nan]]).astype(np.float32)
    n = np.array([0, 1, 2, 4, 7, 9, 12, -1], dtype=np.float32)
    X, N = np.meshgrid(x, n)
    got = getattr(td.special, name)(td.tensor(X), td.tensor(N))
    want = getattr(torch.special, name)(torch.tensor(X), torch.tensor(N))
    # torch runs the recurrence in float32: its rounding grows with n and the values' size
    scale = np.maximum(1.0, np.nan_to_num(np.abs(want.numpy()), nan=1.0))
    assert str(got.dtype) == str(want.dtype)
    assert np.allclose(got.numpy() / scale, want.numpy() / scale, rtol=0, atol=2e-5, equal_nan=True)


@pytest.mark.parametrize("name", POLYS)
def test_polynomial_dtypes_scalars_broadcast(name):
    f, tf = getattr(td.special, name), getattr(torch.special, name)
    cases = [
        (lambda L: L.tensor([0.5, -0.25, 2.0]), lambda L: 3),
        (lambda L: L.tensor([1, 2, -1]), lambda L: 3),
        (lambda L: L.tensor([1, 2, -1]), lambda L: L.tensor([3, 2, 4])),
        (lambda L: L.tensor([True, False]), lambda L: L.tensor([3])),
        (lambda L: 0.5, lambda L: L.tensor([3, 4])),
        (lambda L: 2, lambda L: L.tensor([3, 4])),
        (lambda L: L.tensor([0.5]), lambda L: 2.7),
        (lambda L: L.tensor([0.5]), lambda L: -2),
        (lambda L: L.tensor([0.5]), lambda L: L.tensor(2.7, dtype=L.float64)),
        (lambda L: L.tensor([0.5], dtype=L.float64), lambda L: L.tensor([2.5], dtype=L.float32)),
        (lambda L: L.tensor([0.5], dtype=L.float64), lambda L: L.tensor([4], dtype=L.int32)),
        (lambda L: L.tensor([[0.5], [0.2], [-3.0]]), lambda L: L.tensor([1, 2, 3, 11])),
        (lambda L: L.tensor([[0.5, 0.2]]).t(), lambda L: L.tensor([[1, 9]])),
        (lambda L: L.ones(0), lambda L: 3),
        (lambda L: L.tensor(0.3), lambda L: L.tensor(12)),
    ]
    for mx, mn in cases:
        assert_same(f(mx(td), mn(td)), tf(mx(torch), mn(torch)), rtol=1e-5, atol=1e-5)
    for dt in ("float16", "bfloat16", "complex64"):
        assert_raises_like(lambda: f(td.ones(2, dtype=getattr(td, dt)), 2),
                           lambda: tf(torch.ones(2, dtype=getattr(torch, dt)), 2))
    assert_raises_like(lambda: f(0.5, 3), lambda: tf(0.5, 3))
    o, to = td.empty(2, dtype=td.float64), torch.empty(2, dtype=torch.float64)
    assert f(td.tensor([0.5, 0.7]), 4, out=o) is o
    assert_same(o, tf(torch.tensor([0.5, 0.7]), 4, out=to), rtol=1e-6, atol=1e-7)
    x, tx = td.tensor([0.5], requires_grad=True), torch.tensor([0.5], requires_grad=True)
    n, tn = td.tensor([3.0], requires_grad=True), torch.tensor([3.0], requires_grad=True)
    assert f(x, n).requires_grad is tf(tx, tn).requires_grad is False
    assert_raises_like(lambda: f(x, n).sum().backward(), lambda: tf(tx, tn).sum().backward())


def test_polynomial_large_degree():
    """The trigonometric Chebyshev form for huge n, long recurrences, and overflow to nan as torch."""
    x = torch.tensor([0.3, -0.7, 0.999, 0.0], dtype=torch.float64)
    for name, n in (("chebyshev_polynomial_t", 10 ** 9), ("chebyshev_polynomial_w", 123457),
                    ("legendre_polynomial_p", 5000), ("laguerre_polynomial_l", 3000),
                    ("hermite_polynomial_h", 4000), ("hermite_polynomial_he", 600)):
        nn = torch.tensor([n, 3, n - 1, n])
        assert_same(getattr(td.special, name)(td.tensor(x.numpy()), td.tensor(nn.numpy())),
                    getattr(torch.special, name)(x, nn), rtol=1e-8, atol=1e-10)
