"""The recurrences behind nn.RNN/LSTM/GRU and their cells (what torch's _VF.rnn_tanh,
rnn_relu, lstm, gru and the *_cell functions compute), composed from tensord ops so
autograd differentiates them.

One layer and direction runs on step-major flat data: x (N, input) holding the steps
one after another, step s having batch_sizes[s] rows (all equal for padded input; for
a PackedSequence they shrink as sequences end).  The input projection of every step is
one matmul (x W_ih^T + biases) before the loop; each step then costs one matmul with
W_hh and a few pointwise ops on (batch, gates) slices.  A sequence that ends leaves the
running state (its rows are the last ones, sequences being sorted longest first) and
its state is kept for h_n; the reverse direction starts with the longest-running rows
and takes the others' initial state as they begin.

Gate layouts are torch's: LSTM rows (i, f, g, o), GRU rows (r, z, n), so torch's
weights load unchanged.  LSTM computes sigmoid over all four gates at once (the g
quarter unused) to keep the per-step op count low."""
from .. import _records as F
from .._C import ops

__all__ = ["rnn_layers", "rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]


def _cols(x, start, end):
    return ops.slice(x, 1, start, end)


def _tanh_step(gi, state, w_hh_t, b_hh):
    return (ops.tanh(ops.add(gi, ops.mm(state[0], w_hh_t))),)


def _relu_step(gi, state, w_hh_t, b_hh):
    return (ops.relu(ops.add(gi, ops.mm(state[0], w_hh_t))),)


def _lstm_step(gi, state, w_hh_t, b_hh, w_hr_t=None):
    h, c = state
    hid = c.shape[1]
    gates = ops.add(gi, ops.mm(h, w_hh_t))
    s = ops.sigmoid(gates)
    g = ops.tanh(_cols(gates, 2 * hid, 3 * hid))
    c = ops.add(ops.mul(_cols(s, hid, 2 * hid), c), ops.mul(_cols(s, 0, hid), g))
    h = ops.mul(_cols(s, 3 * hid, 4 * hid), ops.tanh(c))
    if w_hr_t is not None:
        h = ops.mm(h, w_hr_t)
    return h, c


def _gru_step(gi, state, w_hh_t, b_hh):
    h = state[0]
    hid = h.shape[1]
    gh = ops.mm(h, w_hh_t)
    if b_hh is not None:
        gh = ops.add(gh, b_hh)
    rz = ops.sigmoid(ops.add(_cols(gi, 0, 2 * hid), _cols(gh, 0, 2 * hid)))
    n = ops.tanh(ops.add(_cols(gi, 2 * hid, 3 * hid), ops.mul(_cols(rz, 0, hid), _cols(gh, 2 * hid, 3 * hid))))
    # (1 - z) * n + z * h
    return (ops.add(n, ops.mul(_cols(rz, hid, 2 * hid), ops.sub(h, n))),)


_STEPS = {"RNN_TANH": _tanh_step, "RNN_RELU": _relu_step, "LSTM": _lstm_step, "GRU": _gru_step}


def _input_projection(mode, x, w_ih, b_ih, b_hh):
    """x W_ih^T + b_ih, with b_hh folded in where it is only added (not GRU's)."""
    gi = ops.mm(x, F.t(w_ih))
    if b_ih is not None:
        gi = ops.add(gi, b_ih if mode == "GRU" else ops.add(b_ih, b_hh))
    return gi


def _direction(mode, x, sizes, state0, weights, reverse):
    """One layer in one direction: (outputs (N, hidden), final state tuple)."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    step = _STEPS[mode]
    gi_all = _input_projection(mode, x, w_ih, b_ih, b_hh)
    w_hh_t = F.t(w_hh)
    extra = () if w_hr is None else (F.t(w_hr),)
    offsets = [0]
    for n in sizes:
        offsets.append(offsets[-1] + n)
    outs = []
    if not reverse:
        state = tuple(ops.slice(s, 0, 0, sizes[0]) for s in state0) if sizes[0] != state0[0].shape[0] else state0
        ended = []  # states of the sequences that stopped, latest (lowest rows) last
        for i, n in enumerate(sizes):
            if n < state[0].shape[0]:
                ended.append(tuple(ops.slice(s, 0, n, s.shape[0]) for s in state))
                state = tuple(ops.slice(s, 0, 0, n) for s in state)
            state = step(ops.slice(gi_all, 0, offsets[i], offsets[i + 1]), state, w_hh_t, b_hh, *extra)
            outs.append(state[0])
        if ended:
            state = tuple(ops.cat(*([state[k]] + [e[k] for e in reversed(ended)]), dim=0)
                          for k in range(len(state)))
    else:
        state = tuple(ops.slice(s, 0, 0, sizes[-1]) for s in state0) if sizes[-1] != state0[0].shape[0] else state0
        for i in range(len(sizes) - 1, -1, -1):
            n, have = sizes[i], state[0].shape[0]
            if n > have:  # sequences that start here (counted from their end) take their h_0
                state = tuple(ops.cat(s, ops.slice(s0, 0, have, n), dim=0) for s, s0 in zip(state, state0))
            state = step(ops.slice(gi_all, 0, offsets[i], offsets[i + 1]), state, w_hh_t, b_hh, *extra)
            outs.append(state[0])
        outs.reverse()
    return (ops.cat(*outs, dim=0) if len(outs) > 1 else outs[0]), state


def rnn_layers(mode, x, sizes, hx, weights, num_layers, dropout, training, bidirectional):
    """A stack of recurrent layers on flat step-major x (N, input_size).

    sizes: Python ints, rows per step.  hx: (h_0,) or (h_0, c_0), each (layers *
    directions, batch, *).  weights: per layer and direction, (w_ih, w_hh, b_ih, b_hh,
    w_hr) with None for what is absent.  Returns (output (N, directions * out), (h_n,)
    or (h_n, c_n))."""
    dirs = 2 if bidirectional else 1
    finals = [[] for _ in hx]
    layer_in = x
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            state0 = tuple(ops.select(h, 0, k) for h in hx)
            out, state = _direction(mode, layer_in, sizes, state0, weights[k], d == 1)
            outs.append(out)
            for acc, s in zip(finals, state):
                acc.append(s)
        layer_in = outs[0] if dirs == 1 else ops.cat(*outs, dim=1)
        if dropout and training and layer < num_layers - 1:
            from .functional import dropout as _dropout
            layer_in = _dropout(layer_in, dropout, True)
    return layer_in, tuple(F.stack(acc, 0) for acc in finals)


# ---------------------------------------------------------------- cells: one step, batch (B, input)

def _cell_checks(input, hx, hidden_size, name="hidden0"):
    in_size = input.shape[1]
    for h in hx:
        if input.shape[0] != h.shape[0]:
            raise RuntimeError("Input batch size %d doesn't match %s batch size %d" % (input.shape[0], name,
                                                                                     h.shape[0]))
        if h.shape[1] != hidden_size:
            raise RuntimeError("%s has inconsistent hidden_size: got %d, expected %d" % (name, h.shape[1],
                                                                                        hidden_size))
    return in_size


def _check_input_size(input, w_ih):
    if input.shape[1] != w_ih.shape[1]:
        raise RuntimeError("input has inconsistent input_size: got %d expected %d" % (input.shape[1],
                                                                                   w_ih.shape[1]))


def _cell(mode, input, hx, w_ih, w_hh, b_ih, b_hh):
    _check_input_size(input, w_ih)
    _cell_checks(input, hx, w_hh.shape[1])
    gi = _input_projection(mode, input, w_ih, b_ih, b_hh)
    return _STEPS[mode](gi, hx, F.t(w_hh), b_hh)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _cell("RNN_TANH", input, (hx,), w_ih, w_hh, b_ih, b_hh)[0]


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _cell("RNN_RELU", input, (hx,), w_ih, w_hh, b_ih, b_hh)[0]


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    hx = tuple(hx)
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    return _cell("LSTM", input, hx, w_ih, w_hh, b_ih, b_hh)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _cell("GRU", input, (hx,), w_ih, w_hh, b_ih, b_hh)[0]
