"""Variable-length sequences for the recurrent layers (torch.nn.utils.rnn): PackedSequence,
pack_padded_sequence / pad_packed_sequence, pad_sequence / unpad_sequence,
pack_sequence / unpack_sequence, invert_permutation.

A PackedSequence holds the time steps one after another, each with only the sequences
still running at that step (longest first): data (sum(batch_sizes), *) and batch_sizes,
an int64 tensor of the number of sequences at each step.  Packing and padding are one
index_select each (indices computed here from the lengths), so autograd carries the
gradient through them.  Lengths are read back to Python (they decide the layout)."""
from collections import namedtuple

import numpy as np

from ... import _records as F
from ..._tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _pkg():
    import tensord
    return tensord


PackedSequence_ = namedtuple("PackedSequence_", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


def _bind(optional, fn):
    return None if optional is None else fn(optional)


class PackedSequence(PackedSequence_):
    r"""Holds the data and list of batch_sizes of a packed sequence (torch's named tuple)."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            # PackedSequence((data, batch_sizes), sorted_indices=...)
            assert isinstance(data, (list, tuple)) and len(data) == 2
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def cpu(self, *args, **kwargs):
        return self.to(*args, **kwargs)

    def cuda(self, *args, **kwargs):
        data = self.data.cuda(*args, **kwargs)
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def pin_memory(self):
        return self

    def double(self):
        return self.to(dtype=_pkg().double)

    def float(self):
        return self.to(dtype=_pkg().float)

    def half(self):
        return self.to(dtype=_pkg().half)

    def long(self):
        return self.to(dtype=_pkg().long)

    def int(self):
        return self.to(dtype=_pkg().int)

    def short(self):
        return self.to(dtype=_pkg().short)

    def char(self):
        return self.to(dtype=_pkg().int8)

    def byte(self):
        return self.to(dtype=_pkg().uint8)

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    """The inverse of a permutation of 0..n-1 (None stays None)."""
    if permutation is None:
        return None
    p = np.asarray(permutation.tolist(), dtype=np.int64)
    out = np.empty_like(p)
    out[p] = np.arange(p.size)
    return _pkg().tensor(out, dtype=_pkg().int64)


def _lengths_list(lengths):
    """lengths (a tensor or a sequence of ints) as a list of ints, checked as torch's
    _pack_padded_sequence checks it."""
    t = _pkg()
    if isinstance(lengths, Tensor):
        if lengths.dtype.is_floating_point:
            lengths = lengths.to(t.int64)
        if lengths.ndim != 1:
            raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got %dD cpu Long tensor"
                               % lengths.ndim)
        return [int(v) for v in lengths.tolist()]
    arr = np.asarray(lengths)
    if arr.ndim != 1:
        raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got %dD cpu Long tensor"
                           % arr.ndim)
    return [int(v) for v in arr.astype(np.int64)]


def _batch_sizes(lengths):
    """Sequences running at each step, for lengths sorted longest first."""
    return [sum(1 for n in lengths if n > step) for step in range(lengths[0] if lengths else 0)]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    r"""Packs a (T, B, *) (or (B, T, *)) tensor of padded sequences of the given lengths."""
    t = _pkg()
    lens = _lengths_list(lengths)
    if enforce_sorted:
        sorted_indices = None
    else:
        # torch.sort's (unstable) order, equal lengths included: sorted_indices and the
        # packed rows come out as torch's
        sorted_lens, sorted_indices = t.sort(t.tensor(lens, dtype=t.int64), descending=True)
        order, lens = sorted_indices.tolist(), sorted_lens.tolist()
    batch_dim = 0 if batch_first else 1
    batch, steps = input.shape[batch_dim], input.shape[1 - batch_dim]
    if len(lens) != batch:
        raise RuntimeError("Expected `len(lengths)` to be equal to batch_size, but got %d (batch_size=%d)"
                           % (len(lens), batch))
    if any(a < b for a, b in zip(lens, lens[1:])):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You "
                           "can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                           "sidestep this requirement if you do not need ONNX exportability.")
    if lens and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if lens and lens[0] > steps:
        raise RuntimeError("Expected the longest sequence length to be at most the padded length %d, but got %d"
                           % (steps, lens[0]))
    sizes = _batch_sizes(lens)
    # row of the flattened input for each packed row: step-major, sorted batch order
    src = list(range(batch)) if sorted_indices is None else order
    rows = [(b * steps + s) if batch_first else (s * batch + b) for s, n in enumerate(sizes) for b in src[:n]]
    flat = F.reshape(input, [batch * steps] + list(input.shape[2:]))
    data = t.index_select(flat, 0, t.tensor(rows, dtype=t.int64))
    return PackedSequence(data, t.tensor(sizes, dtype=t.int64), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    r"""The inverse of pack_padded_sequence: (padded tensor, lengths)."""
    t = _pkg()
    sizes = [int(v) for v in sequence.batch_sizes.tolist()]
    max_seq_length = len(sizes)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, but "
                             "got total_length={} and max sequence length being {}".format(total_length,
                                                                                          max_seq_length))
        max_seq_length = total_length
    data = sequence.data
    batch = sizes[0]
    lengths = [sum(1 for n in sizes if n > b) for b in range(batch)]
    # each padded (step, sequence) cell takes a packed row, or the padding row appended last
    pad_row = len(data)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    idx = np.full((max_seq_length, batch), pad_row, dtype=np.int64)
    for s, n in enumerate(sizes):
        idx[s, :n] = np.arange(offsets[s], offsets[s] + n)
    if batch_first:
        idx = idx.T
    unsorted = sequence.unsorted_indices
    if unsorted is not None:
        perm = np.asarray(unsorted.tolist(), dtype=np.int64)
        idx = idx[perm] if batch_first else idx[:, perm]
        lengths = [lengths[i] for i in perm]
    fill = t.full([1] + list(data.shape[1:]), padding_value, dtype=data.dtype)
    padded = t.index_select(t.cat([data, fill]), 0, t.tensor(idx.reshape(-1), dtype=t.int64))
    padded = F.reshape(padded, list(idx.shape) + list(data.shape[1:]))
    return padded, t.tensor(lengths, dtype=t.int64)


def pad_sequence(sequences, batch_first=False, padding_value=0.0):
    r"""Stacks tensors of shape (L_i, *) into one (max L, B, *) (or (B, max L, *)), padded."""
    t = _pkg()
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    try:
        sequences = tuple(sequences)
    except TypeError:
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of type: %s"
                           % type(sequences)) from None
    if len(sequences) == 0:
        raise RuntimeError("received an empty list of sequences")
    first = sequences[0]
    trailing = list(first.shape[1:])
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        if list(s.shape[1:]) != trailing:
            d = next(i for i, (a, b) in enumerate(zip(s.shape[1:], trailing)) if a != b) \
                if len(s.shape) == len(first.shape) else 0
            raise RuntimeError("The size of tensor a (%d) must match the size of tensor b (%d) at non-singleton "
                               "dimension %d" % (trailing[d], s.shape[1 + d], d + 1))
        if s.dtype != first.dtype:
            s = s.to(first.dtype)
        if s.shape[0] < longest:
            s = t.cat([s, t.full([longest - s.shape[0]] + trailing, padding_value, dtype=first.dtype)])
        rows.append(s)
    return t.stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    r"""The inverse of pad_sequence: a list of the unpadded sequences.  (torch transposes
    a time-major input in place on the way; this leaves the argument as it is.)"""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = _lengths_list(lengths)
    return [padded_sequences[b, :n] for b, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted=True):
    r"""Packs a list of variable-length tensors (longest first unless enforce_sorted=False)."""
    lengths = [v.size(0) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    r"""The inverse of pack_sequence: the list of sequences."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
