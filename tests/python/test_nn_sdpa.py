"""scaled_dot_product_attention (torch 2's signature) and torch 1.13's private
_scaled_dot_product_attention against torch 1.13's: outputs, attention weights and the
gradients of query, key and value, with bool and float masks, is_causal, batch dims;
dropout keeps the expected fraction and scale."""
import math

import numpy as np
import pytest
import torch as T

import tensord as td

rng = np.random.default_rng(4)


BATCHED = ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6))
SQUARE = ((4, 8), (4, 8), (4, 3))


# (is_causal only with as many queries as keys: there the triangles of every version agree)
@pytest.mark.parametrize("mask,shapes", [(m, s) for m in (None, "bool", "float") for s in (BATCHED, SQUARE)]
                         + [("causal", SQUARE), ("causal", ((2, 5, 6), (2, 5, 6), (2, 5, 2)))])
def test_matches_torch(mask, shapes):
    q, k, v = (rng.standard_normal(s) for s in shapes)
    L, S = shapes[0][-2], shapes[1][-2]
    m_bool = rng.uniform(size=(L, S)) > 0.3
    m_bool[:, 0] = True
    m_float = rng.standard_normal((L, S))
    res = []
    for m in (td, T):
        qs, ks, vs = (m.tensor(a, requires_grad=True) for a in (q, k, v))
        am = None
        if mask == "bool":
            am = m.tensor(m_bool)
        elif mask == "float":
            am = m.tensor(m_float)
        out, w = m.nn.functional._scaled_dot_product_attention(qs, ks, vs, am, 0.0, True, mask == "causal")
        (out * m.tensor(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))).sum().backward()
        res.append((out.detach().numpy(), w.detach().numpy(), qs.grad.numpy(), ks.grad.numpy(), vs.grad.numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # the public form: the same output; scale= replaces 1/sqrt(E)
    qs, ks, vs = (td.tensor(a) for a in (q, k, v))
    np.testing.assert_allclose(td.nn.functional.scaled_dot_product_attention(qs, ks, vs).numpy(),
                               T.nn.functional._scaled_dot_product_attention(*(T.tensor(a) for a in (q, k, v)))[0]
                               .numpy(), rtol=1e-10)
    s2 = td.nn.functional.scaled_dot_product_attention(qs, ks, vs, scale=0.5).numpy()
    ref = T.nn.functional._scaled_dot_product_attention(T.tensor(q) * (0.5 * math.sqrt(q.shape[-1])), T.tensor(k),
                                                          T.tensor(v))[0].numpy()
    np.testing.assert_allclose(s2, ref, rtol=1e-10)


def test_dropout_and_errors():
    q = td.ones(1, 64, 4, dtype=td.float64)
    v = td.eye(64, dtype=td.float64).unsqueeze(0)
    td.manual_seed(0)
    out = td.nn.functional.scaled_dot_product_attention(q, q, v, dropout_p=0.25)
    w = out.numpy()          # the attention weights themselves (v is the identity): 1/64 each, kept or dropped
    kept = w != 0
    assert 0.6 < kept.mean() < 0.9
    np.testing.assert_allclose(w[kept], 1 / 64 / 0.75)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        td.nn.functional.scaled_dot_product_attention(q, q, v, attn_mask=td.ones(64, 64), is_causal=True)


def test_sdpa_kernel_context():
    """torch 2.3's nn.attention.sdpa_kernel: the choice shows in torch.backends.cuda's
    switches inside the context and is undone after; attention computes the same."""
    from tensord.nn.attention import SDPBackend, sdpa_kernel
    q = td.randn(2, 3, 4)
    want = td.nn.functional.scaled_dot_product_attention(q, q, q)
    with sdpa_kernel(SDPBackend.MATH):
        assert td.backends.cuda.math_sdp_enabled() and not td.backends.cuda.flash_sdp_enabled()
        got = td.nn.functional.scaled_dot_product_attention(q, q, q)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]):
        assert td.backends.cuda.flash_sdp_enabled() and not td.backends.cuda.math_sdp_enabled()
    assert td.backends.cuda.math_sdp_enabled() and td.backends.cuda.flash_sdp_enabled()
    assert td.equal(got, want)
    with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend"):
        with sdpa_kernel([]):
            pass


def test_grouped_query_attention():
    """torch 2.5's enable_gqa: 2 key/value heads shared by 6 query heads equal attention
    with each key/value head repeated for its group (torch 1.13's SDPA on the repeated
    tensors is the reference)."""
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in [(2, 6, 5, 4), (2, 2, 7, 4), (2, 2, 7, 4)])
    got = td.nn.functional.scaled_dot_product_attention(td.tensor(q), td.tensor(k), td.tensor(v), is_causal=False,
                                                        enable_gqa=True)
    kr, vr = (T.tensor(x).repeat_interleave(3, dim=1) for x in (k, v))
    want = T.nn.functional._scaled_dot_product_attention(T.tensor(q), kr, vr)[0]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="must divide the number of heads in query"):
        td.nn.functional.scaled_dot_product_attention(td.tensor(q), td.ones(2, 4, 7, 4), td.ones(2, 4, 7, 4),
                                                      enable_gqa=True)
