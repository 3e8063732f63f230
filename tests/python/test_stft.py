"""stft and istft against torch 1.13: spectrograms for windows, hops, win_length < n_fft,
center and padding modes, normalized, onesided or not, batched and complex inputs, the
real (return_complex=False) layout; istft inverts them (with and without length=),
gradients of both, and torch's errors and warnings."""
import warnings

import numpy as np
import pytest
import torch as T

import tensord as td

rng = np.random.default_rng(1)


def _win(m, name, n, dtype):
    if name is None:
        return None
    return getattr(m, name + "_window")(n, dtype=getattr(m, dtype))


CASES = [
    dict(n_fft=16),
    dict(n_fft=16, window="hann", hop_length=5),
    dict(n_fft=32, win_length=20, window="hamming", center=False),
    dict(n_fft=16, win_length=10, hop_length=3, pad_mode="constant"),
    dict(n_fft=12, window="hann", normalized=True, onesided=False),
    dict(n_fft=16, window="blackman", pad_mode="replicate", hop_length=8),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("shape,dtype", [((100,), "float64"), ((3, 90), "float64"), ((64,), "float32")])
def test_stft_matches_torch(case, shape, dtype):
    kw = dict(CASES[case])
    x = rng.standard_normal(shape)
    res = []
    for m in (td, T):
        k = dict(kw)
        k["window"] = _win(m, k.pop("window", None), k.get("win_length", k["n_fft"]), dtype)
        xi = m.tensor(x, dtype=getattr(m, dtype), requires_grad=True)
        s = m.stft(xi, return_complex=True, **k)
        r = m.stft(xi.detach(), return_complex=False, **k)
        (s.abs() ** 2).sum().backward()
        res.append((s.detach().numpy(), r.numpy(), xi.grad.numpy()))
    tol = dict(rtol=1e-9, atol=1e-9) if dtype == "float64" else dict(rtol=1e-4, atol=1e-4)
    for a, b in zip(*res):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **tol)


def test_stft_of_complex_input_and_window():
    x = rng.standard_normal(60) + 1j * rng.standard_normal(60)
    outs = [m.stft(m.tensor(x), 8, window=m.hann_window(8, dtype=m.float64), return_complex=True).numpy()
            for m in (td, T)]
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match="Cannot have onesided output if window or input is complex"):
        td.stft(td.tensor(x), 8, onesided=True, return_complex=True)


@pytest.mark.parametrize("kw,length", [(dict(n_fft=16, window="hann"), None), (dict(n_fft=16, window="hann"), 97),
                                       (dict(n_fft=20, hop_length=5, window="hann", win_length=16), 120),
                                       (dict(n_fft=16, hop_length=16), None),
                                       (dict(n_fft=12, window="hann", normalized=True, onesided=False), None)])
def test_istft_inverts_and_matches_torch(kw, length):
    x = rng.standard_normal((2, 120))
    res = []
    for m in (td, T):
        k = dict(kw)
        k["window"] = _win(m, k.pop("window", None), k.get("win_length", k["n_fft"]), "float64")
        spec = m.stft(m.tensor(x), return_complex=True, **k).detach().requires_grad_()
        y = m.istft(spec, length=length, **{a: b for a, b in k.items() if a != "pad_mode"})
        (y ** 2).sum().backward()
        res.append((y.detach().numpy(), spec.grad.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-9, atol=1e-10)
    n = res[0][0].shape[1]
    np.testing.assert_allclose(res[0][0], x[:, :n], atol=1e-10)      # a perfect reconstruction


def test_errors_and_warnings_match_torch():
    x = np.random.default_rng(2).standard_normal(100)
    calls = [
        lambda m, t: m.stft(t, 200, return_complex=True),
        lambda m, t: m.stft(t, 16, hop_length=0, return_complex=True),
        lambda m, t: m.stft(t, 16, win_length=20, return_complex=True),
        lambda m, t: m.stft(t, 16, window=m.ones(10, dtype=m.float64), return_complex=True),
        lambda m, t: m.istft(m.stft(t, 8, return_complex=True), 8, window=m.zeros(8, dtype=m.float64)),
    ]
    for call in calls:
        errs = []
        for m in (td, T):
            with pytest.raises(RuntimeError) as e:
                call(m, m.tensor(x))
            errs.append(str(e.value))
        # the same complaint (torch names its tensors by type; the reasons are compared, and
        # for the overlap-add check only its words: torch 1.13 prints a bool tensor there)
        ours, theirs = (e.split(" : ")[-1].split(") ")[-1] for e in errs)
        if theirs.startswith("window overlap add min"):
            ours, theirs = ours[:22], theirs[:22]
        assert ours == theirs
    for m in (td, T):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            r = m.stft(m.tensor(x), 16)
        assert r.shape == (9, 26, 2)
        assert any("require the return_complex parameter" in str(a.message) for a in w)
