"""tensord.nn.MultiheadAttention, functional.multi_head_attention_forward and the
Transformer modules against PyTorch 1.13: torch's weights loaded into ours, the same
float64 inputs and masks; outputs, attention weights, the inputs' gradients and every
parameter's gradient compared.  Then state_dict keys, repr, torch's fused inference
path for the encoder (zeros at padded positions) and the argument errors."""
import warnings

import numpy as np
import pytest
import torch as T

import tensord as td

TOL = dict(rtol=1e-7, atol=1e-9)
E, HEADS = 6, 2


def _pair(factory):
    theirs = factory(T.nn).double()
    ours = factory(td.nn).double()
    ours.load_state_dict({k: td.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def _leaf(mod, a):
    return mod.tensor(a, dtype=mod.float64, requires_grad=True)


def _const(mod, a):
    if a is None:
        return None
    if a.dtype == bool:
        return mod.tensor(a)
    return mod.tensor(a, dtype=mod.float64)


def _check(ours, theirs, call, arrays, consts=(), seed=0):
    """call(model, leaves, consts) -> tensor or tuple; compares values and gradients."""
    xo, xt = [_leaf(td, a) for a in arrays], [_leaf(T, a) for a in arrays]
    co, ct = [_const(td, c) for c in consts], [_const(T, c) for c in consts]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ro, rt = call(ours, xo, co), call(theirs, xt, ct)
    ro = [r for r in (ro if isinstance(ro, tuple) else (ro,))]
    rt = [r for r in (rt if isinstance(rt, tuple) else (rt,))]
    assert [r is None for r in ro] == [r is None for r in rt]
    ro, rt = [r for r in ro if r is not None], [r for r in rt if r is not None]
    rng = np.random.default_rng(seed)
    lo, lt = 0, 0
    for a, b in zip(ro, rt):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **TOL)
        w = rng.standard_normal(tuple(b.shape))
        lo, lt = lo + (a * td.tensor(w)).sum(), lt + (b * T.tensor(w)).sum()
    lo.backward()
    lt.backward()
    for a, b in zip(xo, xt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL)
    po, pt = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert sorted(po) == sorted(pt)
    for k in pt:
        assert (po[k].grad is None) == (pt[k].grad is None), k
        if pt[k].grad is not None:
            np.testing.assert_allclose(po[k].grad.numpy(), pt[k].grad.numpy(), err_msg=k, **TOL)


def _kpm(batch, src, seed=1):
    """A key padding mask with at least one unmasked key per row."""
    m = np.random.default_rng(seed).random((batch, src)) < 0.4
    m[:, 0] = False
    return m


MHA = {
    "plain": lambda nn: nn.MultiheadAttention(E, HEADS),
    "one_head_nobias": lambda nn: nn.MultiheadAttention(E, 1, bias=False),
    "bias_kv": lambda nn: nn.MultiheadAttention(E, HEADS, add_bias_kv=True),
    "zero_attn": lambda nn: nn.MultiheadAttention(E, HEADS, add_zero_attn=True),
    "bias_kv_zero_attn": lambda nn: nn.MultiheadAttention(E, 3, add_bias_kv=True, add_zero_attn=True),
    "kdim_vdim": lambda nn: nn.MultiheadAttention(E, HEADS, kdim=4, vdim=5),
    "batch_first": lambda nn: nn.MultiheadAttention(E, HEADS, batch_first=True),
}


def _mha_inputs(name, rng, L=4, S=5, N=3, batched=True):
    kd, vd = (4, 5) if name == "kdim_vdim" else (E, E)
    bf = name == "batch_first"

    def shape(n, d):
        if not batched:
            return (n, d)
        return (N, n, d) if bf else (n, N, d)
    return [rng.standard_normal(shape(L, E)), rng.standard_normal(shape(S, kd)), rng.standard_normal(shape(S, vd))]


MASKS = {
    "none": lambda rng, L, S, N, H: (None, None),
    "key_padding": lambda rng, L, S, N, H: (_kpm(N, S), None),
    "bool_2d": lambda rng, L, S, N, H: (None, np.triu(np.ones((L, S), dtype=bool), 1)),
    "float_2d": lambda rng, L, S, N, H: (None, rng.standard_normal((L, S))),
    "float_3d_and_padding": lambda rng, L, S, N, H: (_kpm(N, S), rng.standard_normal((N * H, L, S))),
    "bool_2d_and_padding": lambda rng, L, S, N, H: (_kpm(N, S, 2), np.triu(np.ones((L, S), dtype=bool), 2)),
}


@pytest.mark.parametrize("name", sorted(MHA))
@pytest.mark.parametrize("masks", sorted(MASKS))
def test_multihead_attention_matches_pytorch(name, masks):
    ours, theirs = _pair(MHA[name])
    rng = np.random.default_rng(3)
    arrays = _mha_inputs(name, rng)
    kpm, am = MASKS[masks](rng, 4, 5, 3, ours.num_heads)

    def call(m, xs, cs):
        return m(xs[0], xs[1], xs[2], key_padding_mask=cs[0], attn_mask=cs[1])
    _check(ours, theirs, call, arrays, (kpm, am))
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("need_weights,average", [(False, True), (True, False)])
def test_weights_options(need_weights, average):
    ours, theirs = _pair(MHA["plain"])
    arrays = _mha_inputs("plain", np.random.default_rng(4))

    def call(m, xs, cs):
        return m(xs[0], xs[1], xs[2], key_padding_mask=cs[0], need_weights=need_weights,
                 average_attn_weights=average)
    _check(ours, theirs, call, arrays, (_kpm(3, 5),))


@pytest.mark.parametrize("name", ["plain", "bias_kv", "kdim_vdim"])
def test_unbatched_attention(name):
    ours, theirs = _pair(MHA[name])
    rng = np.random.default_rng(5)
    arrays = _mha_inputs(name, rng, batched=False)
    mask = np.array([False, True, False, False, True])

    def call(m, xs, cs):
        return m(xs[0], xs[1], xs[2], key_padding_mask=cs[0], attn_mask=cs[1])
    _check(ours, theirs, call, arrays, (mask, rng.standard_normal((HEADS, 4, 5))))


@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention_one_tensor(batch_first):
    """query is key is value: the packed projection's one-matmul path."""
    ours, theirs = _pair(lambda nn: nn.MultiheadAttention(E, HEADS, batch_first=batch_first))
    x = np.random.default_rng(6).standard_normal((3, 4, E))
    _check(ours, theirs, lambda m, xs, cs: m(xs[0], xs[0], xs[0]), [x])
    # key is value but not query: the split (q; kv) path
    y = np.random.default_rng(7).standard_normal((3, 5, E) if batch_first else (5, 4, E))
    _check(ours, theirs, lambda m, xs, cs: m(xs[0], xs[1], xs[1]), [x, y])


def test_functional_static_kv_and_dropout_eval():
    rng = np.random.default_rng(8)
    L, N, S, hd = 3, 2, 4, E // HEADS
    arrays = [rng.standard_normal((L, N, E)), rng.standard_normal((N * HEADS, S, hd)),
              rng.standard_normal((N * HEADS, S, hd)), rng.standard_normal((3 * E, E)), rng.standard_normal(3 * E),
              rng.standard_normal((E, E)), rng.standard_normal(E)]

    def call(mod, xs):
        F = mod.nn.functional
        return F.multi_head_attention_forward(xs[0], xs[0], xs[0], E, HEADS, xs[3], xs[4], None, None, False, 0.5,
                                              xs[5], xs[6], training=False, static_k=xs[1], static_v=xs[2])
    xo, xt = [_leaf(td, a) for a in arrays], [_leaf(T, a) for a in arrays]
    (oo, wo), (ot, wt) = call(td, xo), call(T, xt)
    np.testing.assert_allclose(oo.detach().numpy(), ot.detach().numpy(), **TOL)
    np.testing.assert_allclose(wo.detach().numpy(), wt.detach().numpy(), **TOL)
    (oo.sum() + wo.sum()).backward()
    (ot.sum() + wt.sum()).backward()
    for a, b in zip(xo, xt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL)


def test_attention_dropout_in_training():
    m = td.nn.MultiheadAttention(E, HEADS, dropout=0.5).double()
    x = td.tensor(np.random.default_rng(9).standard_normal((4, 2, E)))
    w = m(x, x, x, average_attn_weights=False)[1].detach().numpy()
    # kept weights are scaled by 2, the rest zero: rows no longer sum to 1
    assert (w == 0).any() and not np.allclose(w.sum(-1), 1)
    m.eval()
    np.testing.assert_allclose(m(x, x, x)[1].detach().numpy().sum(-1), 1, rtol=1e-12)


def test_mha_init_and_keys():
    ours, theirs = td.nn.MultiheadAttention(E, HEADS, add_bias_kv=True), T.nn.MultiheadAttention(E, HEADS,
                                                                                                 add_bias_kv=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert np.all(ours.in_proj_bias.detach().numpy() == 0) and np.all(ours.out_proj.bias.detach().numpy() == 0)
    bound = np.sqrt(6 / (E + 3 * E))  # xavier_uniform_ of the (3E, E) weight
    assert np.abs(ours.in_proj_weight.detach().numpy()).max() <= bound
    sep = td.nn.MultiheadAttention(E, HEADS, kdim=3, vdim=2)
    assert sep.in_proj_weight is None and tuple(sep.k_proj_weight.shape) == (E, 3)
    assert list(sep.state_dict()) == list(T.nn.MultiheadAttention(E, HEADS, kdim=3, vdim=2).state_dict())


# ---------------------------------------------------------------- transformer layers

D, FF = 6, 8


def _enc_layer(nn, **kw):
    return nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, **kw)


def _dec_layer(nn, **kw):
    return nn.TransformerDecoderLayer(D, HEADS, FF, dropout=0.0, **kw)


ENCODER = {
    "layer_relu": lambda nn: _enc_layer(nn),
    "layer_gelu_norm_first": lambda nn: _enc_layer(nn, activation="gelu", norm_first=True),
    "layer_callable_bf": lambda nn: _enc_layer(nn, activation=nn.functional.silu, batch_first=True),
    "layer_module_act_eps": lambda nn: _enc_layer(nn, activation=nn.Tanh(), layer_norm_eps=1e-3),
    "encoder_norm": lambda nn: nn.TransformerEncoder(_enc_layer(nn), 2, norm=nn.LayerNorm(D)),
    "encoder_bf": lambda nn: nn.TransformerEncoder(_enc_layer(nn, batch_first=True, norm_first=True), 2),
}


@pytest.mark.parametrize("name", sorted(ENCODER))
@pytest.mark.parametrize("masks", ["none", "both"])
def test_encoder_matches_pytorch(name, masks):
    ours, theirs = _pair(ENCODER[name])
    rng = np.random.default_rng(10)
    bf = name.endswith("bf")
    x = rng.standard_normal((3, 5, D) if bf else (5, 3, D))
    consts = (None, None) if masks == "none" else (rng.standard_normal((5, 5)), _kpm(3, 5))
    if name.startswith("layer"):
        def call(m, xs, cs):
            return m(xs[0], src_mask=cs[0], src_key_padding_mask=cs[1])
    else:
        def call(m, xs, cs):
            return m(xs[0], mask=cs[0], src_key_padding_mask=cs[1])
    _check(ours, theirs, call, [x], consts)
    assert repr(ours) == repr(theirs)


DECODER = {
    "layer": lambda nn: _dec_layer(nn),
    "layer_norm_first_gelu_bf": lambda nn: _dec_layer(nn, norm_first=True, activation="gelu", batch_first=True),
    "decoder_norm": lambda nn: nn.TransformerDecoder(_dec_layer(nn), 2, norm=nn.LayerNorm(D)),
}


@pytest.mark.parametrize("name", sorted(DECODER))
def test_decoder_matches_pytorch(name):
    ours, theirs = _pair(DECODER[name])
    rng = np.random.default_rng(11)
    bf = name.endswith("bf")
    tgt = rng.standard_normal((3, 4, D) if bf else (4, 3, D))
    mem = rng.standard_normal((3, 5, D) if bf else (5, 3, D))
    causal = np.triu(np.full((4, 4), -np.inf), 1)

    def call(m, xs, cs):
        return m(xs[0], xs[1], tgt_mask=cs[0], memory_mask=cs[1], tgt_key_padding_mask=cs[2],
                 memory_key_padding_mask=cs[3])
    _check(ours, theirs, call, [tgt, mem], (causal, rng.standard_normal((4, 5)), _kpm(3, 4, 3), _kpm(3, 5, 4)))


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_pytorch(batch_first):
    def factory(nn):
        return nn.Transformer(D, HEADS, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=FF, dropout=0.0,
                              batch_first=batch_first)
    ours, theirs = _pair(factory)
    rng = np.random.default_rng(12)
    src = rng.standard_normal((3, 5, D) if batch_first else (5, 3, D))
    tgt = rng.standard_normal((3, 4, D) if batch_first else (4, 3, D))
    mask = T.nn.Transformer.generate_square_subsequent_mask(4).numpy()
    np.testing.assert_array_equal(td.nn.Transformer.generate_square_subsequent_mask(4).numpy(), mask)

    def call(m, xs, cs):
        return m(xs[0], xs[1], tgt_mask=cs[0], src_key_padding_mask=cs[1], memory_key_padding_mask=cs[1])
    _check(ours, theirs, call, [src, tgt], (mask, _kpm(3, 5)))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)


def test_transformer_eval_with_dropout_and_unbatched():
    ours, theirs = _pair(lambda nn: nn.Transformer(D, HEADS, 1, 1, FF))  # dropout 0.1, eval: none
    ours.eval()
    theirs.eval()
    rng = np.random.default_rng(13)
    _check(ours, theirs, lambda m, xs, cs: m(xs[0], xs[1]), [rng.standard_normal((5, D)), rng.standard_normal((4, D))])


def test_encoder_inference_path_zeroes_padding():
    """Eval, no grad, batch_first, a left-aligned padding mask: torch runs a nested tensor
    and returns zeros at padded positions (then the final norm)."""
    def factory(nn):
        return nn.TransformerEncoder(nn.TransformerEncoderLayer(D, HEADS, FF, batch_first=True), 2,
                                     norm=nn.LayerNorm(D))
    ours, theirs = _pair(factory)
    ours.eval()
    theirs.eval()
    rng = np.random.default_rng(14)
    x = rng.standard_normal((3, 5, D))
    kpm = np.zeros((3, 5), dtype=bool)
    kpm[0, 3:] = kpm[2, 1:] = True
    for mask in (kpm, kpm[:, ::-1].copy()):  # left aligned (nested path) and not
        with T.no_grad(), td.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: nested tensors are a prototype
            o = ours(td.tensor(x), src_key_padding_mask=td.tensor(mask)).numpy()
            t = theirs(T.tensor(x), src_key_padding_mask=T.tensor(mask)).numpy()
        np.testing.assert_allclose(o, t, rtol=1e-7, atol=1e-7)


def test_transformer_parameters_xavier_initialized():
    m = td.nn.Transformer(D, HEADS, 1, 1, FF)
    w = m.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6 / (D + FF))
    assert np.abs(w).max() <= bound and np.abs(w).max() > bound / 2
    # the clones are independent copies
    assert m.encoder.layers[0].linear1.weight is not td.nn.TransformerEncoder(
        m.encoder.layers[0], 2).layers[0].linear1.weight


def _raises_like(fn_ours, fn_theirs):
    with pytest.raises(Exception) as et:
        fn_theirs()
    with pytest.raises(type(et.value)) as eo:
        fn_ours()
    assert str(eo.value) == str(et.value)


def _mha_call(m, nn, mod, *shapes, **kw):
    return nn.MultiheadAttention(E, HEADS, **kw).double()(*[mod.zeros(s, dtype=mod.float64) for s in shapes],
                                                          **{k: v(mod) for k, v in m.items()})


ERRORS = [
    ("heads do not divide", lambda nn, mod: nn.MultiheadAttention(E, 4)),
    ("4-D query", lambda nn, mod: _mha_call({}, nn, mod, (1, 2, 3, E), (1, 2, 3, E), (1, 2, 3, E))),
    ("2-D key for 3-D query", lambda nn, mod: _mha_call({}, nn, mod, (2, 3, E), (2, E), (2, 3, E))),
    ("embed dim", lambda nn, mod: nn.MultiheadAttention(E, HEADS).double()(*[mod.zeros(2, 3, 4, dtype=mod.float64)] * 3)),
    ("key/value shapes", lambda nn, mod: _mha_call({}, nn, mod, (2, 3, E), (4, 3, E), (5, 3, E))),
    ("2-D mask shape", lambda nn, mod: _mha_call({"attn_mask": lambda m: m.zeros(2, 3, dtype=m.bool)}, nn, mod,
                                                 (2, 3, E), (4, 3, E), (4, 3, E))),
    ("3-D mask shape", lambda nn, mod: _mha_call({"attn_mask": lambda m: m.zeros(2, 2, 4, dtype=m.bool)}, nn, mod,
                                                 (2, 3, E), (4, 3, E), (4, 3, E))),
    ("padding mask dims", lambda nn, mod: _mha_call({"key_padding_mask": lambda m: m.zeros(3, dtype=m.bool)}, nn,
                                                    mod, (2, 3, E), (4, 3, E), (4, 3, E))),
    ("padding mask shape", lambda nn, mod: _mha_call({"key_padding_mask": lambda m: m.zeros(3, 5, dtype=m.bool)}, nn,
                                                     mod, (2, 3, E), (4, 3, E), (4, 3, E))),
    ("int padding mask", lambda nn, mod: _mha_call({"key_padding_mask": lambda m: m.zeros(3, 4, dtype=m.int64)}, nn,
                                                   mod, (2, 3, E), (4, 3, E), (4, 3, E))),
    ("int attn mask", lambda nn, mod: _mha_call({"attn_mask": lambda m: m.zeros(2, 4, dtype=m.int64)}, nn, mod,
                                                (2, 3, E), (4, 3, E), (4, 3, E))),
    ("activation name", lambda nn, mod: nn.TransformerEncoderLayer(D, HEADS, activation="tanh")),
    ("src/tgt batch", lambda nn, mod: nn.Transformer(D, HEADS, 1, 1, FF)(mod.zeros(5, 3, D), mod.zeros(4, 2, D))),
    ("d_model", lambda nn, mod: nn.Transformer(D, HEADS, 1, 1, FF)(mod.zeros(5, 3, D + 1), mod.zeros(4, 3, D + 1))),
]


@pytest.mark.parametrize("name", [e[0] for e in ERRORS])
def test_errors_match_pytorch(name):
    fn = dict(ERRORS)[name]
    _raises_like(lambda: fn(td.nn, td), lambda: fn(T.nn, T))
