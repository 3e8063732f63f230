"""Autograd on complex tensors and torch.fft (PyTorch's convention: the gradient of a real
loss with respect to z = x + iy is dL/dx + i dL/dy, the conjugate Wirtinger derivative
times 2; a real input mixed with complex ones gets the real part).  Each case is checked
against PyTorch 1.13's gradients for the same inputs and output weights, and against
finite differences with tensord.autograd.gradcheck in complex128/float64."""
import zlib

import numpy as np
import pytest
import torch as T

import tensord as td


def _arr(spec, rng):
    """spec: (shape, kind): 'c' complex, 'r' real, 'cp' complex away from 0 and the
    negative real axis (log, sqrt, pow), 'rp' real in [0.5, 2]."""
    shape, kind = spec
    if kind == "rp":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "r":
        return rng.standard_normal(shape)
    z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    if kind == "cp":
        z = rng.uniform(0.5, 2.0, shape) * np.exp(1j * rng.uniform(-2.0, 2.0, shape))
    return z


C, R, CP, RP = "c", "r", "cp", "rp"


def _case(fn, *specs, gg=False):
    return fn, specs, gg


CASES = {
    # elementwise
    "abs": _case(lambda m, z: z.abs(), ((2, 3), C), gg=True),
    "angle": _case(lambda m, z: m.angle(z), ((2, 3), C), gg=True),
    "real_imag": _case(lambda m, z: z.real * 2 + z.imag ** 2, ((2, 3), C), gg=True),
    "conj": _case(lambda m, z: z.conj() * z[0], ((2, 3), C), gg=True),
    "conj_physical": _case(lambda m, z: m.conj_physical(z) + 1, ((3,), C)),
    "sgn": _case(lambda m, z: m.sgn(z), ((2, 3), C)),
    "mul_div": _case(lambda m, a, b: a * b + a / b, ((2, 3), C), ((3,), CP), gg=True),
    "add_sub": _case(lambda m, a, b: m.add(a, b, alpha=2) - b * 0.5, ((2, 3), C), ((2, 3), C)),
    "pow": _case(lambda m, a, b: a ** b + a ** 2 + a ** 0.5, ((2, 3), CP), ((2, 3), C), gg=True),
    "exp": _case(lambda m, z: z.exp(), ((2, 3), C), gg=True),
    "log": _case(lambda m, z: z.log(), ((2, 3), CP), gg=True),
    "sqrt": _case(lambda m, z: z.sqrt(), ((2, 3), CP)),
    "sin_cos": _case(lambda m, z: z.sin() + z.cos(), ((2, 3), C), gg=True),
    "tanh": _case(lambda m, z: z.tanh(), ((2, 3), C)),
    "sigmoid": _case(lambda m, z: z.sigmoid(), ((2, 3), C)),
    "reciprocal": _case(lambda m, z: z.reciprocal(), ((2, 3), CP)),
    "scalar_ops": _case(lambda m, z: (z * (2 - 1j) + 1j) / (1 + 2j), ((2, 3), C)),
    # views and constructors
    "view_as_real": _case(lambda m, z: m.view_as_real(z) ** 2, ((2, 3), C), gg=True),
    "view_as_complex": _case(lambda m, x: m.view_as_complex(x) ** 2, ((3, 2), R), gg=True),
    "view_as_real_of_view": _case(lambda m, z: m.view_as_real(z.t()[1:]), ((3, 2), C)),
    "complex": _case(lambda m, a, b: m.complex(a, b) ** 2, ((2, 3), R), ((3,), R), gg=True),
    "polar": _case(lambda m, a, b: m.polar(a, b), ((2, 3), RP), ((2, 3), R)),
    # reductions and BLAS
    "sum_mean": _case(lambda m, z: z.sum(0) * z.mean(), ((2, 3), C)),
    "prod": _case(lambda m, z: z.prod(1) + z.prod(), ((2, 3), C)),
    "cumprod": _case(lambda m, z: m.cumprod(z, 1), ((2, 3), C)),
    "cumsum": _case(lambda m, z: m.cumsum(z, 0) * z, ((3, 2), C)),
    "matmul": _case(lambda m, a, b: a @ b, ((2, 3), C), ((3, 4), C), gg=True),
    "mm": _case(lambda m, a, b: m.mm(a, b), ((2, 3), C), ((3, 2), C)),
    "bmm": _case(lambda m, a, b: m.bmm(a, b), ((2, 2, 3), C), ((2, 3, 2), C)),
    "matvec": _case(lambda m, a, b: a @ b, ((2, 3), C), ((3,), C)),
    "dot": _case(lambda m, a, b: m.dot(a, b), ((3,), C), ((3,), C)),
    "vdot": _case(lambda m, a, b: m.vdot(a, b), ((3,), C), ((3,), C), gg=True),
    "linalg_inv": _case(lambda m, a: m.linalg.inv(a), ((2, 3, 3), C), gg=True),
    "linalg_det": _case(lambda m, a: m.linalg.det(a), ((2, 2, 2), C)),
    "linalg_slogdet": _case(lambda m, a: m.view_as_real(m.linalg.slogdet(a)[0]) * m.linalg.slogdet(a)[1].unsqueeze(-1),
                            ((2, 2, 2), C)),
    "linalg_solve": _case(lambda m, a, b: m.linalg.solve(a, b), ((3, 3), C), ((3, 2), C)),
    "var_std_norm": _case(lambda m, z: z.var(1) + z.std() + z.norm() + m.linalg.vector_norm(z, 3, dim=0).sum(),
                          ((2, 3), C)),
    # as_strided views of non-contiguous inputs (diagonal of a slice or a transpose)
    "diag_trace": _case(lambda m, z: m.diag(z[:, :2]) * m.trace(z[1:, :2]) + z.t().diagonal(1).sum(), ((3, 3), C),
                        gg=True),
    "diag_of_real_slice": _case(lambda m, x: m.diag(x[:, 1:]) + m.as_strided(x.t(), (2, 2), (1, 3), 1).sum(),
                                ((3, 3), R)),
    "flip_cat_index": _case(lambda m, z: m.cat([z.flip(0), z[[0, 1, 1]] * 2]) + m.roll(z, 1, 1).sum(),
                            ((3, 2), C)),
    # real leaves mixed with complex tensors: the real part of the gradient
    "real_times_complex": _case(lambda m, x, z: x * z + x.exp() * 1j, ((2, 3), R), ((2, 3), C), gg=True),
    "real_matmul_complex": _case(lambda m, x, z: x.to(z.dtype) @ z, ((2, 3), R), ((3, 2), C)),
    "cast_to_complex": _case(lambda m, x: x.to(m.complex128).exp(), ((2, 3), R)),
    # torch.fft
    "fft": _case(lambda m, z: m.fft.fft(z), ((2, 5), C), gg=True),
    "fft_n_pad": _case(lambda m, z: m.fft.fft(z, n=7, dim=0), ((4, 2), C)),
    "fft_n_trim_ortho": _case(lambda m, z: m.fft.fft(z, n=3, norm="ortho"), ((2, 5), C)),
    "ifft": _case(lambda m, z: m.fft.ifft(z), ((2, 5), C)),
    "ifft_forward": _case(lambda m, z: m.fft.ifft(z, norm="forward"), ((6,), C)),
    "fft_of_real": _case(lambda m, x: m.fft.fft(x, norm="forward"), ((2, 4), R)),
    "fft2": _case(lambda m, z: m.fft.fft2(z), ((2, 3, 4), C)),
    "ifft2_s": _case(lambda m, z: m.fft.ifft2(z, s=(2, 5), norm="ortho"), ((3, 4), C)),
    "fftn": _case(lambda m, z: m.fft.fftn(z, dim=(0, 2)), ((2, 3, 3), C)),
    "ifftn": _case(lambda m, z: m.fft.ifftn(z, norm="forward"), ((3, 2, 2), C)),
    "rfft_even": _case(lambda m, x: m.fft.rfft(x), ((2, 6), R), gg=True),
    "rfft_odd": _case(lambda m, x: m.fft.rfft(x, norm="ortho"), ((2, 5), R)),
    "rfft_n": _case(lambda m, x: m.fft.rfft(x, n=8, dim=0, norm="forward"), ((5, 2), R)),
    "rfft_abs_sum": _case(lambda m, x: m.fft.rfft(x).abs().sum(), ((7,), R)),
    "irfft_even": _case(lambda m, z: m.fft.irfft(z), ((2, 4), C), gg=True),
    "irfft_odd_n": _case(lambda m, z: m.fft.irfft(z, n=7, norm="ortho"), ((2, 4), C)),
    "irfft_trim": _case(lambda m, z: m.fft.irfft(z, n=4, dim=0, norm="forward"), ((5, 2), C)),
    "rfft2": _case(lambda m, x: m.fft.rfft2(x), ((2, 3, 4), R)),
    "irfft2": _case(lambda m, z: m.fft.irfft2(z, s=(3, 5)), ((3, 3), C)),
    "rfftn": _case(lambda m, x: m.fft.rfftn(x, norm="ortho"), ((3, 2, 5), R)),
    "irfftn": _case(lambda m, z: m.fft.irfftn(z, dim=(0, 1)), ((3, 3, 2), C)),
    "hfft": _case(lambda m, z: m.fft.hfft(z), ((2, 4), C), gg=True),
    "hfft_n_ortho": _case(lambda m, z: m.fft.hfft(z, n=5, norm="ortho"), ((4,), C)),
    "ihfft": _case(lambda m, x: m.fft.ihfft(x), ((2, 6), R)),
    "ihfft_forward": _case(lambda m, x: m.fft.ihfft(x, n=5, norm="forward"), ((2, 4), R)),
    "hfftn": _case(lambda m, z: m.fft.hfftn(z, s=(3, 5), norm="ortho"), ((2, 3, 3), C)),
    "hfft2": _case(lambda m, z: m.fft.hfft2(z), ((3, 3), C), gg=True),
    "ihfftn": _case(lambda m, x: m.fft.ihfftn(x, dim=(0, 1), norm="forward"), ((3, 4, 2), R)),
    "ihfft2": _case(lambda m, x: m.fft.ihfft2(x, s=(2, 5)), ((3, 4), R)),
    "fftshift": _case(lambda m, z: m.fft.fftshift(m.fft.fft(z)), ((2, 5), C)),
    "ifftshift": _case(lambda m, x: m.fft.ifftshift(m.fft.rfft2(x), dim=0), ((3, 4), R)),
    "roundtrip": _case(lambda m, x: m.fft.irfft(m.fft.rfft(x) * m.fft.rfft(x).conj(), n=6), ((6,), R)),
}


def _inputs(mod, arrays):
    return [mod.tensor(a, dtype=mod.complex128 if np.iscomplexobj(a) else mod.float64, requires_grad=True)
            for a in arrays]


def _weights(out):
    n = int(np.prod(tuple(out.shape)))
    w = np.linspace(-1.0, 1.0, n or 1)[:n]
    if out.dtype.is_complex:
        w = w + 1j * np.linspace(0.5, -0.7, n or 1)[:n]
    return w.reshape(tuple(out.shape))


def _grads(mod, fn, arrays):
    xs = _inputs(mod, arrays)
    out = fn(mod, *xs)
    out.backward(mod.tensor(_weights(out), dtype=out.dtype))
    return [None if x.grad is None else (x.grad.resolve_conj().numpy(), str(x.grad.dtype)) for x in xs]


def _arrays(name, specs):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return [_arr(s, rng) for s in specs]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_pytorch(name):
    fn, specs, _ = CASES[name]
    arrays = _arrays(name, specs)
    ours, theirs = _grads(td, fn, arrays), _grads(T, fn, arrays)
    for g, r in zip(ours, theirs):
        assert (g is None) == (r is None)
        if r is not None:
            assert g[1].replace("tensord", "torch") == r[1]
            np.testing.assert_allclose(g[0], r[0], rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, specs, _ = CASES[name]
    xs = _inputs(td, _arrays(name, specs))
    assert td.autograd.gradcheck(lambda *a: fn(td, *a), xs)


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n][2]))
def test_gradgradcheck(name):
    fn, specs, _ = CASES[name]
    xs = _inputs(td, _arrays(name, specs))
    assert td.autograd.gradgradcheck(lambda *a: fn(td, *a), xs)


def _no_conj_function(mod):
    class NoConj(mod.autograd.Function):
        @staticmethod
        def forward(ctx, z, w):
            ctx.save_for_backward(z, w)
            return z * w

        @staticmethod
        def backward(ctx, g):
            z, w = ctx.saved_tensors
            return g * w, g * z  # missing .conj(): right for real inputs only
    return NoConj


def test_gradcheck_catches_a_missing_conj_as_torchs_does():
    rng = np.random.default_rng(1)
    cplx = [_arr(((3,), C), rng), _arr(((3,), C), rng)]
    real = [_arr(((3,), R), rng), _arr(((3,), R), rng)]
    for mod in (td, T):
        f = _no_conj_function(mod).apply
        assert not mod.autograd.gradcheck(f, tuple(_inputs(mod, cplx)), raise_exception=False)
        assert mod.autograd.gradcheck(f, tuple(_inputs(mod, real)))
        good = lambda z, w: z * w  # noqa: E731
        assert mod.autograd.gradcheck(good, tuple(_inputs(mod, cplx)))


def test_inplace_on_complex_views_matches_pytorch():
    a = np.array([1 + 2j, -0.5 + 1j, 2 - 1j, 0.3 + 0.1j])
    res = []
    for m in (td, T):
        z = m.tensor(a, requires_grad=True)
        y = z * 2
        y[1:3].mul_(1j)
        y[0].add_(z[2] * z[1])
        y.view(2, 2)[1].div_(z[0])
        (y * m.tensor([1j, 2, -1 + 1j, 0.5])).real.sum().backward()
        res.append((y.detach().resolve_conj().numpy(), z.grad.resolve_conj().numpy(), y.grad_fn.name()))
    np.testing.assert_allclose(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])
    assert res[0][2] == res[1][2]


def _real_view_programs():
    def scale_real_part(m, z):
        y = z * 2
        y.real.mul_(3)
        return y, (y * m.tensor([1j, 2, -1 + 1j, 0.5])).real.sum(), None

    def add_into_pairs(m, z):
        y = z * 1
        m.view_as_real(y)[1:3, 1].add_(z.abs()[:2])
        return y, (y * y).imag.sum(), None

    def views_regenerated(m, z):
        y = z * (1 + 1j)
        r, v = y.imag, m.view_as_real(y)
        y.mul_(2)  # the base rebased: r and v get new grad_fns
        y[0:2].imag.copy_(z.real[2:])
        return y, (r * 3).sum() + (v ** 2).sum() + (y.conj() * z).real.sum(), (r, v)

    def assemble(m, z):
        y = m.zeros(4, dtype=m.complex128)
        y.real.copy_(z.real * 2)
        y.imag.copy_(z.abs())
        return y, (y * y).real.sum(), None
    return [scale_real_part, add_into_pairs, views_regenerated, assemble]


@pytest.mark.parametrize("prog", _real_view_programs(), ids=lambda f: f.__name__)
def test_inplace_through_real_views_matches_pytorch(prog):
    """In-place ops on view_as_real's output, .real, .imag rewrite the complex base's
    history (CopySlices), and its views are regenerated, as torch's."""
    a = np.array([1 + 2j, -0.5 + 1j, 2 - 1j, 0.3 + 0.1j])
    res = []
    for m in (td, T):
        z = m.tensor(a, requires_grad=True)
        y, loss, views = prog(m, z)
        names = [y.grad_fn.name()] + [v.grad_fn.name() for v in views or ()]
        loss.backward()
        res.append((y.detach().resolve_conj().numpy(), z.grad.resolve_conj().numpy(), names))
    np.testing.assert_allclose(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])
    assert res[0][2] == res[1][2]


def test_inplace_through_real_views_gradgradcheck():
    def f(z):
        y = z * z
        y.imag.mul_(z.real)
        return y
    z = _inputs(td, [_arr(((3,), C), np.random.default_rng(2))])[0]
    assert td.autograd.gradcheck(f, (z,)) and td.autograd.gradgradcheck(f, (z,))


def test_inplace_on_view_as_complex_raises():
    """torch also tracks in-place ops on view_as_complex's output back to the real base;
    tensord does not (docs/design/autograd.md, limits): it raises instead of losing the
    gradient."""
    x = td.randn(3, 2, dtype=td.float64, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="view_as_complex"):
        td.view_as_complex(x).mul_(2)
    with pytest.raises(RuntimeError, match="view_as_complex"):
        td.view_as_complex(x)[1:].add_(1)
    with td.no_grad():
        w = x.detach() * 2
        td.view_as_complex(w).mul_(1j)  # without autograd: written through
    np.testing.assert_allclose(w.numpy(), np.stack([-2 * x.detach().numpy()[:, 1], 2 * x.detach().numpy()[:, 0]], 1))


def test_issue_example_rfft_abs_sum():
    a = np.linspace(-1, 2, 8)
    grads = []
    for m in (td, T):
        x = m.tensor(a, requires_grad=True)
        m.fft.rfft(x).abs().sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-7)


def test_grad_fn_names_match_pytorch():
    for mod in (td, T):
        x = mod.randn(4, dtype=mod.float64, requires_grad=True)
        z = mod.randn(4, dtype=mod.complex128, requires_grad=True)
        names = [mod.view_as_real(z).grad_fn.name(), mod.view_as_complex(mod.stack([x, x], -1)).grad_fn.name()]
        spec = mod.fft.rfft(x)
        names.append(spec.grad_fn.name())
        names.append(mod.fft.fft(z).grad_fn.name())
        names.append(mod.fft.irfft(z).grad_fn.name())
        names.append(z.abs().grad_fn.name())
        if mod is td:
            ours = names
    assert ours == names


def test_leaf_conj_physical_inplace_raises_like_torch():
    for mod in (td, T):
        z = mod.randn(3, dtype=mod.complex128, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            z.conj_physical_()


def test_conj_physical_inplace_on_intermediate():
    a = np.array([1 + 2j, -0.5 + 1j, 2 - 1j])
    grads = []
    for m in (td, T):
        z = m.tensor(a, requires_grad=True)
        y = z * 2
        y.conj_physical_()
        (y * m.tensor([1j, 2, -1 + 1j])).real.sum().backward()
        grads.append(z.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])


def test_complex_values_without_grad_unchanged():
    z = td.tensor([1 + 2j, -3 - 0.5j])
    assert z.conj().tolist() == [1 - 2j, -3 + 0.5j]
    assert td.complex(td.tensor([1.0, 2.0]), td.tensor(3.0)).tolist() == [1 + 3j, 2 + 3j]
    w = z.clone()
    w.conj_physical_()
    assert w.tolist() == [1 - 2j, -3 + 0.5j]


def test_complex64_matches_pytorch():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6)).astype(np.float32)
    z = (rng.standard_normal(4) + 1j * rng.standard_normal(4)).astype(np.complex64)
    res = []
    for m in (td, T):
        xt, zt = m.tensor(x, requires_grad=True), m.tensor(z, requires_grad=True)
        spec = m.fft.rfft(xt, norm="ortho")
        loss = (spec.abs() ** 2).sum() + (m.fft.ifft(zt) * zt.conj()).real.sum() + m.angle(zt).sum()
        loss.backward()
        assert xt.grad.dtype == m.float32 and zt.grad.dtype == m.complex64
        res.append((xt.grad.numpy(), zt.grad.resolve_conj().numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fn", [lambda m, z: m.angle(z), lambda m, z: m.sgn(z).real * 2 + m.sgn(z).imag,
                                lambda m, z: z.abs()], ids=["angle", "sgn", "abs"])
def test_gradient_at_zero_matches_pytorch(fn):
    a = np.array([0j, 1 + 1j, -2 + 0j, complex(-0.0, 0.0)])
    res = []
    for m in (td, T):
        z = m.tensor(a, requires_grad=True)
        out = fn(m, z)
        out.sum().backward()
        res.append((out.detach().numpy(), z.grad.resolve_conj().numpy()))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])
