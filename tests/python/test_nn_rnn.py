"""tensord.nn's recurrent layers (RNN, LSTM, GRU, the cells) and nn.utils.rnn against
PyTorch 1.13: each layer built in both, torch's weights loaded into ours, the same float64
input; outputs, h_n (and c_n), the input's and initial states' gradients and every
parameter's gradient compared, for padded, batch_first, unbatched and packed input.
Then the argument errors (type and message as torch's), init, repr and state_dict keys."""
import math
import warnings
import zlib

import numpy as np
import pytest
import torch as T

import tensord as td
from tensord.nn.utils import rnn as TR
from torch.nn.utils import rnn as PR

TOL = dict(rtol=1e-7, atol=1e-9)


def _pair(factory):
    theirs = factory(T.nn).double()
    ours = factory(td.nn).double()
    ours.load_state_dict({k: td.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def _leaf(mod, a):
    return mod.tensor(a, dtype=mod.float64, requires_grad=True)


def _flat(result):
    """The tensors of a result: output (or packed data) then the states."""
    out, hidden = result if isinstance(result, tuple) else (result, ())
    if isinstance(out, (TR.PackedSequence, PR.PackedSequence)):
        out = out.data
    hidden = hidden if isinstance(hidden, tuple) else (hidden,)
    return [out] + list(hidden)


def _backward(mod, tensors, seed):
    """sum of each tensor times fixed weights, backpropagated."""
    rng = np.random.default_rng(seed)
    loss = 0
    for t in tensors:
        loss = loss + (t * mod.tensor(rng.standard_normal(tuple(t.shape)), dtype=t.dtype)).sum()
    loss.backward()


def _check(ours, theirs, call, arrays, seed=0):
    """call(mod, model, leaves) -> result; compares results and gradients."""
    xs_o = [_leaf(td, a) for a in arrays]
    xs_t = [_leaf(T, a) for a in arrays]
    ro, rt = _flat(call(td, ours, xs_o)), _flat(call(T, theirs, xs_t))
    assert len(ro) == len(rt)
    for a, b in zip(ro, rt):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **TOL)
    _backward(td, ro, seed)
    _backward(T, rt, seed)
    for a, b in zip(xs_o, xs_t):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL)
    po, pt = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert sorted(po) == sorted(pt)
    for k in pt:
        np.testing.assert_allclose(po[k].grad.numpy(), pt[k].grad.numpy(), err_msg=k, **TOL)


LAYERS = {
    "RNN": lambda nn: nn.RNN(4, 3),
    "RNN_relu_2layers": lambda nn: nn.RNN(4, 3, num_layers=2, nonlinearity="relu"),
    "RNN_bidir_nobias": lambda nn: nn.RNN(4, 3, bias=False, bidirectional=True),
    "LSTM": lambda nn: nn.LSTM(4, 3),
    "LSTM_2layers_bidir": lambda nn: nn.LSTM(4, 3, num_layers=2, bidirectional=True),
    "LSTM_batch_first": lambda nn: nn.LSTM(4, 5, num_layers=2, batch_first=True),
    "LSTM_proj": lambda nn: nn.LSTM(4, 5, num_layers=2, proj_size=2, bidirectional=True),
    "LSTM_nobias": lambda nn: nn.LSTM(4, 3, bias=False),
    "GRU": lambda nn: nn.GRU(4, 3),
    "GRU_3layers_bidir_bf": lambda nn: nn.GRU(4, 3, num_layers=3, bidirectional=True, batch_first=True),
    "GRU_nobias": lambda nn: nn.GRU(4, 3, num_layers=2, bias=False),
}


def _state_shapes(m, batch):
    dirs = 2 if m.bidirectional else 1
    out = m.proj_size if m.proj_size else m.hidden_size
    shapes = [(m.num_layers * dirs, batch, out)]
    if m.mode == "LSTM":
        shapes.append((m.num_layers * dirs, batch, m.hidden_size))
    return shapes


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("with_hx", [False, True])
def test_layer_matches_pytorch(name, with_hx):
    ours, theirs = _pair(LAYERS[name])
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # the same data every run
    seq, batch = 5, 3
    x = rng.standard_normal((batch, seq, 4) if ours.batch_first else (seq, batch, 4))
    states = [rng.standard_normal(s) for s in _state_shapes(ours, batch)] if with_hx else []

    def call(mod, model, xs):
        if not with_hx:
            return model(xs[0])
        hx = xs[1] if len(xs) == 2 else (xs[1], xs[2])
        return model(xs[0], hx)
    _check(ours, theirs, call, [x] + states)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("name", ["RNN", "LSTM_2layers_bidir", "GRU_3layers_bidir_bf", "LSTM_proj"])
def test_unbatched_input(name):
    ours, theirs = _pair(LAYERS[name])
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 4))
    states = [rng.standard_normal((s[0], s[2])) for s in _state_shapes(ours, 1)]

    def call(mod, model, xs):
        hx = xs[1] if len(xs) == 2 else (xs[1], xs[2])
        return model(xs[0], hx)
    _check(ours, theirs, call, [x] + states)
    _check(ours, theirs, lambda mod, model, xs: model(xs[0]), [x])


@pytest.mark.parametrize("name", ["RNN_bidir_nobias", "LSTM", "LSTM_2layers_bidir", "LSTM_proj",
                                  "GRU_3layers_bidir_bf"])
@pytest.mark.parametrize("lengths,enforce_sorted", [([5, 3, 3, 1], True), ([2, 5, 1, 4], False)])
def test_packed_sequence_input(name, lengths, enforce_sorted):
    """Packed input: the packed output, h_n (each sequence's state at its own last step)
    and the gradients of the padded input, with given initial states."""
    ours, theirs = _pair(LAYERS[name])
    rng = np.random.default_rng(2)
    bf = ours.batch_first
    batch, seq = len(lengths), max(lengths)
    x = rng.standard_normal((batch, seq, 4) if bf else (seq, batch, 4))
    states = [rng.standard_normal(s) for s in _state_shapes(ours, batch)]

    def call(mod, model, xs):
        U = TR if mod is td else PR
        packed = U.pack_padded_sequence(xs[0], lengths, batch_first=bf, enforce_sorted=enforce_sorted)
        hx = xs[1] if len(xs) == 2 else (xs[1], xs[2])
        out, hidden = model(packed, hx)
        padded, lens = U.pad_packed_sequence(out, batch_first=bf)
        assert lens.tolist() == lengths
        return (padded, hidden) if isinstance(hidden, tuple) else (padded, (hidden,))
    _check(ours, theirs, call, [x] + states)


def test_packed_output_fields():
    ours, theirs = _pair(LAYERS["GRU"])
    x = np.random.default_rng(3).standard_normal((4, 3, 4))
    po = ours(TR.pack_padded_sequence(td.tensor(x), [2, 4, 3], enforce_sorted=False))[0]
    pt = theirs(PR.pack_padded_sequence(T.tensor(x), [2, 4, 3], enforce_sorted=False))[0]
    assert isinstance(po, TR.PackedSequence)
    np.testing.assert_allclose(po.data.detach().numpy(), pt.data.detach().numpy(), **TOL)
    for f in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        assert getattr(po, f).tolist() == getattr(pt, f).tolist()
        assert getattr(po, f).dtype == td.int64


CELLS = {
    "RNNCell": lambda nn: nn.RNNCell(4, 3),
    "RNNCell_relu_nobias": lambda nn: nn.RNNCell(4, 3, bias=False, nonlinearity="relu"),
    "LSTMCell": lambda nn: nn.LSTMCell(4, 3),
    "LSTMCell_nobias": lambda nn: nn.LSTMCell(4, 3, bias=False),
    "GRUCell": lambda nn: nn.GRUCell(4, 3),
    "GRUCell_nobias": lambda nn: nn.GRUCell(4, 3, bias=False),
}


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_hx", [True, False])
def test_cell_matches_pytorch(name, batched, with_hx):
    ours, theirs = _pair(CELLS[name])
    rng = np.random.default_rng(4)
    lead = (2,) if batched else ()
    x = rng.standard_normal(lead + (4,))
    n_states = 2 if name.startswith("LSTM") else 1
    states = [rng.standard_normal(lead + (3,)) for _ in range(n_states)] if with_hx else []

    def call(mod, model, xs):
        if not with_hx:
            r = model(xs[0])
        else:
            r = model(xs[0], xs[1] if n_states == 1 else (xs[1], xs[2]))
        return (r[0], (r[1],)) if isinstance(r, tuple) else r
    _check(ours, theirs, call, [x] + states)
    assert repr(ours) == repr(theirs)


def test_cells_unrolled_match_layer():
    """A cell stepped by hand over a sequence gives the layer's output with the same weights."""
    rng = np.random.default_rng(5)
    layer = td.nn.LSTM(4, 3).double()
    cell = td.nn.LSTMCell(4, 3).double()
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = td.tensor(rng.standard_normal((6, 2, 4)))
    out, (h, c) = layer(x)
    hc = None
    for t in range(6):
        hc = cell(x[t], hc)
        np.testing.assert_allclose(hc[0].detach().numpy(), out[t].detach().numpy(), **TOL)
    np.testing.assert_allclose(hc[1].detach().numpy(), c[0].detach().numpy(), **TOL)


def test_dropout_between_layers():
    """dropout=1 zeroes the first layer's output in training (deterministic, as torch),
    and nothing in eval."""
    ours, theirs = _pair(lambda nn: nn.LSTM(4, 3, num_layers=2, dropout=1.0))
    x = np.random.default_rng(6).standard_normal((5, 2, 4))
    _check(ours, theirs, lambda mod, model, xs: model(xs[0]), [x])
    ours.eval()
    theirs.eval()
    _check(ours, theirs, lambda mod, model, xs: model(xs[0]), [x])
    ours.train()
    d = td.nn.GRU(4, 3, num_layers=2, dropout=0.5).double()
    a, b = d(td.tensor(x))[0], d(td.tensor(x))[0]
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())  # a fresh mask each call


def test_state_dict_keys_shapes_and_init():
    for f in list(LAYERS.values()) + list(CELLS.values()):
        ours, theirs = f(td.nn), f(T.nn)
        so, st = ours.state_dict(), theirs.state_dict()
        assert list(so) == list(st)
        for k in st:
            assert tuple(so[k].shape) == tuple(st[k].shape), k
        bound = 1 / math.sqrt(ours.hidden_size)
        v = np.concatenate([p.detach().numpy().ravel() for p in ours.parameters()])
        # uniform(-bound, bound): inside the bounds, standard deviation bound / sqrt(3)
        assert v.min() >= -bound and v.max() <= bound
        assert abs(v.std() - bound / math.sqrt(3)) < 0.2 * bound
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    m = td.nn.LSTM(4, 3, num_layers=2, bidirectional=True)
    names = [[n for n, _ in theirs_names] for theirs_names in [T.nn.LSTM(4, 3, 2, bidirectional=True)
                                                             .named_parameters()]][0]
    assert [w for ws in m._all_weights for w in ws] == names
    assert m.all_weights[1][0] is m.weight_ih_l0_reverse
    m.flatten_parameters()


def test_module_conversion_keeps_weights_used():
    """double() and a reassigned weight are what forward uses (the flat weight list follows)."""
    m = td.nn.GRU(2, 2)
    m.double()
    x = td.tensor(np.ones((3, 1, 2)))
    assert m(x)[0].dtype == td.float64
    m.weight_hh_l0 = td.nn.Parameter(td.zeros(6, 2, dtype=td.float64))
    assert m._flat_weights[1] is m.weight_hh_l0


def _raises_like(fn_ours, fn_theirs):
    with pytest.raises(Exception) as et:
        fn_theirs()
    with pytest.raises(type(et.value)) as eo:
        fn_ours()
    assert str(eo.value) == str(et.value)


ERRORS = [
    ("bad input size", lambda nn, m: nn.LSTM(5, 3)(m.randn(4, 3, 6))),
    ("4-D input", lambda nn, m: nn.GRU(5, 3)(m.randn(4, 3, 5, 2))),
    ("bad h0 batch", lambda nn, m: nn.LSTM(5, 3)(m.randn(4, 3, 5), (m.randn(1, 2, 3), m.randn(1, 3, 3)))),
    ("bad c0 size", lambda nn, m: nn.LSTM(5, 3)(m.randn(4, 3, 5), (m.randn(1, 3, 3), m.randn(1, 3, 2)))),
    ("bad h0 layers", lambda nn, m: nn.GRU(5, 3)(m.randn(4, 3, 5), m.randn(2, 3, 3))),
    ("2-D hx batched", lambda nn, m: nn.GRU(5, 3)(m.randn(4, 3, 5), m.randn(3, 3))),
    ("3-D hx unbatched", lambda nn, m: nn.RNN(5, 3)(m.randn(4, 5), m.randn(1, 1, 3))),
    ("lstm 2-D hx batched", lambda nn, m: nn.LSTM(5, 3)(m.randn(4, 3, 5), (m.randn(3, 3), m.randn(1, 3, 3)))),
    ("lstm 3-D hx unbatched", lambda nn, m: nn.LSTM(5, 3)(m.randn(4, 5), (m.randn(1, 1, 3), m.randn(1, 3)))),
    ("1-D input", lambda nn, m: nn.RNN(5, 3)(m.randn(5))),
    ("nonlinearity", lambda nn, m: nn.RNN(5, 3, nonlinearity="x")),
    ("proj_size on GRU", lambda nn, m: nn.GRU(5, 3, proj_size=2)),
    ("proj_size too big", lambda nn, m: nn.LSTM(5, 3, proj_size=3)),
    ("proj_size negative", lambda nn, m: nn.LSTM(5, 3, proj_size=-1)),
    ("dropout range", lambda nn, m: nn.LSTM(5, 3, dropout=2)),
    ("dropout bool", lambda nn, m: nn.LSTM(5, 3, dropout=True)),
    ("cell input size", lambda nn, m: nn.LSTMCell(4, 3)(m.randn(2, 5))),
    ("cell hx batch", lambda nn, m: nn.LSTMCell(4, 3)(m.randn(2, 4), (m.randn(3, 3), m.randn(2, 3)))),
    ("cell cx size", lambda nn, m: nn.LSTMCell(4, 3)(m.randn(2, 4), (m.randn(2, 3), m.randn(2, 2)))),
    ("cell 3-D input", lambda nn, m: nn.GRUCell(4, 3)(m.randn(2, 2, 4))),
    ("gru cell hx size", lambda nn, m: nn.GRUCell(4, 3)(m.randn(2, 4), m.randn(2, 2))),
    ("rnn cell nonlinearity", lambda nn, m: nn.RNNCell(4, 3, nonlinearity="sigmoid")(m.randn(2, 4))),
]


@pytest.mark.parametrize("name", [e[0] for e in ERRORS])
def test_errors_match_pytorch(name):
    fn = dict(ERRORS)[name]
    _raises_like(lambda: fn(td.nn, td), lambda: fn(T.nn, T))


def test_dropout_warning_single_layer():
    with pytest.warns(UserWarning, match="dropout option adds dropout after all but last recurrent layer"):
        td.nn.LSTM(3, 2, dropout=0.5)


# ---------------------------------------------------------------- nn.utils.rnn

def _seqs(mod, lens, feat=(2,), seed=7):
    rng = np.random.default_rng(seed)
    return [mod.tensor(rng.standard_normal((n,) + feat), requires_grad=True) for n in lens]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_value", [0.0, -1.5])
def test_pad_sequence(batch_first, padding_value):
    so, st = _seqs(td, [3, 5, 1]), _seqs(T, [3, 5, 1])
    po = TR.pad_sequence(so, batch_first, padding_value)
    pt = PR.pad_sequence(st, batch_first, padding_value)
    np.testing.assert_allclose(po.detach().numpy(), pt.detach().numpy())
    w = np.random.default_rng(0).standard_normal(tuple(pt.shape))
    (po * td.tensor(w)).sum().backward()
    (pt * T.tensor(w)).sum().backward()
    for a, b in zip(so, st):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())
    for a, b in zip(TR.unpad_sequence(po, td.tensor([3, 5, 1]), batch_first),
                    PR.unpad_sequence(pt.detach().clone(), T.tensor([3, 5, 1]), batch_first)):
        np.testing.assert_allclose(a.detach().numpy(), b.numpy())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", [([4, 4, 2, 1], True), ([2, 4, 1, 3], False),
                                                    ([3, 1, 3, 2], False)])
def test_pack_and_pad_roundtrip(batch_first, lengths, enforce_sorted):
    rng = np.random.default_rng(8)
    shape = (len(lengths), 5, 2) if batch_first else (5, len(lengths), 2)
    x = rng.standard_normal(shape)
    xo, xt = _leaf(td, x), _leaf(T, x)
    po = TR.pack_padded_sequence(xo, td.tensor(lengths), batch_first, enforce_sorted)
    pt = PR.pack_padded_sequence(xt, T.tensor(lengths), batch_first, enforce_sorted)
    np.testing.assert_allclose(po.data.detach().numpy(), pt.data.detach().numpy())
    assert po.batch_sizes.tolist() == pt.batch_sizes.tolist()
    for f in ("sorted_indices", "unsorted_indices"):
        a, b = getattr(po, f), getattr(pt, f)
        assert (a is None and b is None) or a.tolist() == b.tolist()
    oo, lo = TR.pad_packed_sequence(po, batch_first, padding_value=9.0, total_length=6)
    ot, lt = PR.pad_packed_sequence(pt, batch_first, padding_value=9.0, total_length=6)
    np.testing.assert_allclose(oo.detach().numpy(), ot.detach().numpy())
    assert lo.tolist() == lt.tolist() and lo.dtype == td.int64
    w = rng.standard_normal(tuple(ot.shape))
    (oo * td.tensor(w)).sum().backward()
    (ot * T.tensor(w)).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy())


def test_pack_sequence_and_unpack():
    so, st = _seqs(td, [4, 2, 1], (3,)), _seqs(T, [4, 2, 1], (3,))
    po, pt = TR.pack_sequence(so), PR.pack_sequence(st)
    np.testing.assert_allclose(po.data.detach().numpy(), pt.data.detach().numpy())
    assert po.batch_sizes.tolist() == pt.batch_sizes.tolist()
    uo, ut = TR.unpack_sequence(po), PR.unpack_sequence(pt)
    assert len(uo) == len(ut)
    for a, b in zip(uo, ut):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())
    po2 = TR.pack_sequence(_seqs(td, [1, 4, 2], (3,)), enforce_sorted=False)
    pt2 = PR.pack_sequence(_seqs(T, [1, 4, 2], (3,)), enforce_sorted=False)
    assert po2.sorted_indices.tolist() == pt2.sorted_indices.tolist()
    assert TR.invert_permutation(td.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    assert TR.invert_permutation(None) is None


def test_packed_sequence_is_a_named_tuple():
    p = TR.PackedSequence(td.ones(3, 2), td.tensor([2, 1]))
    data, batch_sizes, s, u = p
    assert p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert s is None and u is None and batch_sizes.tolist() == [2, 1]
    p2 = TR.PackedSequence((td.ones(3, 2), td.tensor([2, 1])), sorted_indices=td.tensor([1, 0]))
    assert p2.unsorted_indices.tolist() == [1, 0]
    assert p.double().data.dtype == td.float64 and p.to(td.float32) is p


UTIL_ERRORS = [
    ("unsorted", lambda U, m: U.pack_padded_sequence(m.zeros(4, 3, 2), [2, 3, 1])),
    ("zero length", lambda U, m: U.pack_padded_sequence(m.zeros(4, 3, 2), [3, 1, 0])),
    ("lengths count", lambda U, m: U.pack_padded_sequence(m.zeros(4, 3, 2), [3, 2])),
    ("2-D lengths", lambda U, m: U.pack_padded_sequence(m.zeros(4, 3, 2), [[3, 2, 1]])),
    ("total_length", lambda U, m: U.pad_packed_sequence(U.pack_padded_sequence(m.zeros(4, 3, 2), [3, 2, 1]),
                                                        total_length=2)),
    ("pad not iterable", lambda U, m: U.pad_sequence(5)),
    ("pad empty", lambda U, m: U.pad_sequence([])),
    ("pad trailing", lambda U, m: U.pad_sequence([m.zeros(2, 3), m.zeros(3, 4)])),
]


@pytest.mark.parametrize("name", [e[0] for e in UTIL_ERRORS])
def test_util_errors_match_pytorch(name):
    fn = dict(UTIL_ERRORS)[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _raises_like(lambda: fn(TR, td), lambda: fn(PR, T))
