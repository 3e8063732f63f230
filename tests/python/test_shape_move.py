"""Shape and data movement against torch 1.13: split/chunk/unbind/tensor_split,
flip/roll/rot90, repeat/tile/repeat_interleave, broadcasting, movedim, unflatten,
diag/diagonal/diag_embed, tril/triu, meshgrid, cartesian_prod, unfold, pad."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tensord as td
from tdhelpers import assert_raises_like, assert_same, pair, rand_data

RNG = np.random.default_rng(7)


def make(shape, dt="float32", transpose=False):
    """(tensord, torch) with the same data; transpose=True gives non-contiguous views."""
    if transpose and len(shape) >= 2:
        s = list(shape)
        s[-1], s[-2] = s[-2], s[-1]
        a, b = pair(rand_data(s, dt, RNG), dt)
        return a.transpose(-1, -2), b.transpose(-1, -2)
    return pair(rand_data(shape, dt, RNG), dt)


def same(got, want):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), (len(got), len(want))
        for g, w in zip(got, want):
            same(g, w)
    else:
        assert_same(got, want)


def run(fn, shape, dt="float32", transpose=False):
    a, b = make(shape, dt, transpose)
    same(fn(td, a), fn(torch, b))


CASES = [
    ("split_int", (5, 3), lambda m, x: m.split(x, 2)),
    ("split_sizes", (5, 3), lambda m, x: m.split(x, [1, 0, 4], 0)),
    ("split_neg_dim", (3, 7), lambda m, x: x.split(3, -1)),
    ("split_empty", (0, 3), lambda m, x: m.split(x, 2)),
    ("chunk", (7, 2), lambda m, x: m.chunk(x, 3)),
    ("chunk_more", (2, 5), lambda m, x: x.chunk(4, 1)),
    ("chunk_empty", (0, 2), lambda m, x: m.chunk(x, 3)),
    ("unbind", (3, 4), lambda m, x: m.unbind(x, 1)),
    ("tensor_split_sec", (7, 2), lambda m, x: m.tensor_split(x, 3)),
    ("tensor_split_idx", (7, 2), lambda m, x: m.tensor_split(x, [1, 5, -1, 10])),
    ("tensor_split_idx_desc", (7, 2), lambda m, x: m.tensor_split(x, [4, 2])),
    ("hsplit", (2, 6), lambda m, x: m.hsplit(x, 3)),
    ("vsplit", (4, 2), lambda m, x: m.vsplit(x, [1, 3])),
    ("flip", (2, 3, 4), lambda m, x: m.flip(x, [0, 2])),
    ("flip_neg", (2, 3, 4), lambda m, x: x.flip(-1)),
    ("flip_0d", (), lambda m, x: m.flip(x, [])),
    ("flip_empty", (0, 3), lambda m, x: m.flip(x, [0, 1])),
    ("fliplr", (3, 4), lambda m, x: m.fliplr(x)),
    ("flipud", (3, 4), lambda m, x: m.flipud(x)),
    ("roll_flat", (3, 4), lambda m, x: m.roll(x, 5)),
    ("roll_dims", (3, 4), lambda m, x: m.roll(x, (1, -7), (0, 1))),
    ("roll_one", (3, 4), lambda m, x: x.roll(2, 1)),
    ("rot90_1", (3, 4), lambda m, x: m.rot90(x)),
    ("rot90_2", (3, 4), lambda m, x: m.rot90(x, 2)),
    ("rot90_3", (2, 3, 4), lambda m, x: m.rot90(x, -1, [2, 0])),
    ("rot90_0", (3, 4), lambda m, x: m.rot90(x, 4)),
    ("repeat", (2, 3), lambda m, x: x.repeat(2, 1, 3)),
    ("tile", (2, 3), lambda m, x: m.tile(x, (2,))),
    ("tile_more", (2, 3), lambda m, x: x.tile((2, 1, 2))),
    ("repeat_interleave_int", (2, 3), lambda m, x: m.repeat_interleave(x, 2)),
    ("repeat_interleave_dim", (2, 3), lambda m, x: m.repeat_interleave(x, 3, dim=1)),
    ("repeat_interleave_t", (3, 2), lambda m, x: x.repeat_interleave(m.tensor([1, 0, 2]), dim=0)),
    ("repeat_interleave_t1", (3, 2), lambda m, x: x.repeat_interleave(m.tensor([2]), dim=-1)),
    ("repeat_interleave_rep", (), lambda m, x: m.repeat_interleave(m.tensor([1, 3, 0, 2]))),
    ("broadcast_to", (3, 1), lambda m, x: m.broadcast_to(x, (2, 3, 4))),
    ("broadcast_tensors", (3, 1), lambda m, x: m.broadcast_tensors(x, m.zeros(4), m.ones(2, 1, 1))),
    ("expand_as", (3, 1), lambda m, x: x.expand_as(m.zeros(2, 3, 5))),
    ("movedim", (2, 3, 4), lambda m, x: m.movedim(x, 0, -1)),
    ("movedim_multi", (2, 3, 4, 5), lambda m, x: m.moveaxis(x, (0, 3), (2, 0))),
    ("swapaxes", (2, 3, 4), lambda m, x: m.swapaxes(x, 0, 2)),
    ("unflatten", (2, 12), lambda m, x: m.unflatten(x, 1, (3, -1, 2))),
    ("unflatten_m", (2, 12), lambda m, x: x.unflatten(-1, (4, 3))),
    ("diag_vec", (4,), lambda m, x: m.diag(x)),
    ("diag_vec_k", (3,), lambda m, x: m.diag(x, -2)),
    ("diag_mat", (3, 5), lambda m, x: m.diag(x, 1)),
    ("diag_mat_neg", (3, 5), lambda m, x: x.diag(-2)),
    ("diagonal", (3, 4, 5), lambda m, x: m.diagonal(x)),
    ("diagonal_args", (3, 4, 5), lambda m, x: m.diagonal(x, -1, 2, 0)),
    ("diagonal_far", (3, 4), lambda m, x: x.diagonal(7)),
    ("diag_embed", (2, 3), lambda m, x: m.diag_embed(x)),
    ("diag_embed_args", (2, 3), lambda m, x: m.diag_embed(x, 1, 0, 2)),
    ("diagflat", (2, 2), lambda m, x: m.diagflat(x, -1)),
    ("tril", (3, 4), lambda m, x: m.tril(x)),
    ("tril_k", (2, 3, 4), lambda m, x: m.tril(x, 1)),
    ("triu_k", (2, 4, 3), lambda m, x: m.triu(x, -1)),
    ("triu_far", (3, 3), lambda m, x: x.triu(10)),
    ("tril_empty", (0, 3), lambda m, x: x.tril()),
    ("meshgrid_ij", (3,), lambda m, x: m.meshgrid(x, x[:2], indexing="ij")),
    ("meshgrid_xy", (3,), lambda m, x: m.meshgrid(x, x[:2], x[1:], indexing="xy")),
    ("cartesian_prod", (3,), lambda m, x: m.cartesian_prod(x, x[:2])),
    ("cartesian_one", (3,), lambda m, x: m.cartesian_prod(x)),
    ("unfold", (5, 3), lambda m, x: x.unfold(0, 2, 2)),
    ("unfold_last", (2, 7), lambda m, x: x.unfold(-1, 3, 1)),
    ("ravel", (2, 3), lambda m, x: m.ravel(x)),
    ("atleast_3d", (3,), lambda m, x: m.atleast_3d(x)),
    ("hstack", (2, 3), lambda m, x: m.hstack([x, x])),
    ("vstack", (3,), lambda m, x: m.vstack([x, x])),
    ("dstack", (2, 3), lambda m, x: m.dstack((x, x))),
    ("column_stack", (3,), lambda m, x: m.column_stack((x, m.zeros(3, 2)))),
]


@pytest.mark.parametrize("name,shape,fn", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, shape, fn):
    run(fn, shape)


@pytest.mark.parametrize("name", ["flip", "rot90_3", "tril_k", "diagonal_args", "roll_dims", "diag_embed",
                                  "repeat_interleave_t", "unfold", "split_sizes", "movedim_multi"])
def test_noncontiguous(name):
    _, shape, fn = next(c for c in CASES if c[0] == name)
    run(fn, shape, transpose=True)


@pytest.mark.parametrize("dt", ["float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"])
def test_kernels_all_dtypes(dt):
    for fn in (lambda m, x: m.flip(x, [0, 1]), lambda m, x: m.tril(x, -1), lambda m, x: m.triu(x, 1),
               lambda m, x: m.roll(x, 1, 0), lambda m, x: m.diag_embed(x), lambda m, x: m.rot90(x)):
        run(fn, (3, 4), dt, transpose=True)


def test_views_share_storage():
    x = td.zeros(3, 4)
    x.diagonal().fill_(1)
    x.unfold(1, 2, 2)[0, 0].fill_(5)
    x.split(2, 1)[1][2].fill_(7)
    t = torch.zeros(3, 4)
    t.diagonal().fill_(1)
    t.unfold(1, 2, 2)[0, 0].fill_(5)
    t.split(2, 1)[1][2].fill_(7)
    assert_same(x, t)


def test_inplace_tril_triu_on_view():
    a, b = make((4, 5), "float32")
    a.t().tril_(1)
    b.t().tril_(1)
    a[1:].triu_()
    b[1:].triu_()
    assert_same(a, b)


def test_broadcast_shapes():
    assert td.broadcast_shapes((2, 1), (3, 1, 4), (1,)) == torch.broadcast_shapes((2, 1), (3, 1, 4), (1,))
    assert td.broadcast_shapes() == torch.broadcast_shapes()
    assert td.broadcast_shapes(3, (2, 1)) == torch.broadcast_shapes(3, (2, 1))


PAD = [
    ((2, 3), (1, 2), "constant", None),
    ((2, 3), (1, 2, 0, 1), "constant", 1.5),
    ((2, 3, 4), (-1, 2, 1, -1), "constant", None),
    ((1, 2, 5), (2, 3), "reflect", None),
    ((1, 2, 4, 4), (1, 2, 3, 0), "reflect", None),
    ((1, 2, 3), (2, 4), "replicate", None),
    ((1, 1, 3, 3), (1, 1, 2, 0), "replicate", None),
    ((1, 2, 4), (2, 3), "circular", None),
    ((1, 1, 3, 4), (4, 0, 1, 3), "circular", None),
    ((1, 1, 3, 4), (-1, 2, 0, 1), "circular", None),
]


@pytest.mark.parametrize("shape,p,mode,value", PAD)
def test_pad(shape, p, mode, value):
    a, b = make(shape, transpose=True)
    kw = {} if value is None else {"value": value}
    assert_same(td.nn.functional.pad(a, p, mode=mode, **kw), TF.pad(b, p, mode=mode, **kw))


@pytest.mark.parametrize("dt", ["int64", "bool", "float16"])
def test_pad_dtypes(dt):
    a, b = make((2, 3), dt)
    assert_same(td.nn.functional.pad(a, (1, 1, 2, 0)), TF.pad(b, (1, 1, 2, 0)))


ERRORS = [
    lambda m: m.split(m.ones(3, 4), [1, 1]),
    lambda m: m.split(m.ones(3, 4), 0),
    lambda m: m.split(m.ones(3, 4), -1),
    lambda m: m.chunk(m.ones(3, 4), 0),
    lambda m: m.chunk(m.tensor(1.), 2),
    lambda m: m.unbind(m.tensor(1.)),
    lambda m: m.tensor_split(m.ones(3), 0),
    lambda m: m.tensor_split(m.tensor(1.), 2),
    lambda m: m.flip(m.ones(2, 3), [0, 0]),
    lambda m: m.flip(m.ones(2, 3), [2]),
    lambda m: m.fliplr(m.ones(3)),
    lambda m: m.flipud(m.ones(())),
    lambda m: m.roll(m.ones(3, 3), [1, 2], [0]),
    lambda m: m.rot90(m.ones(3, 3), 1, [0]),
    lambda m: m.rot90(m.ones(3, 3), 1, [0, 0]),
    lambda m: m.rot90(m.ones(3), 1, [0, 1]),
    lambda m: m.ones(3, 4).repeat(2),
    lambda m: m.repeat_interleave(m.ones(3, 4), m.tensor([1, 2]), dim=0),
    lambda m: m.repeat_interleave(m.ones(3, 4), -1),
    lambda m: m.broadcast_shapes((2, 3), (3, 2)),
    lambda m: m.broadcast_tensors(m.ones(2, 3), m.ones(3, 2)),
    lambda m: m.movedim(m.ones(3, 4), (0, 1), (0,)),
    lambda m: m.movedim(m.ones(3, 4), (0, 0), (0, 1)),
    lambda m: m.movedim(m.ones(3, 4), 0, 5),
    lambda m: m.unflatten(m.ones(3, 4), 1, (3, 2)),
    lambda m: m.unflatten(m.ones(3, 4), 1, ()),
    lambda m: m.diag(m.ones(2, 2, 2)),
    lambda m: m.diagonal(m.ones(3, 3), 0, 0, 0),
    lambda m: m.diagonal(m.ones(3, 3), 0, 0, 2),
    lambda m: m.diag_embed(m.ones(2, 3), 1, 0, 0),
    lambda m: m.tril(m.ones(3)),
    lambda m: m.triu(m.ones(())),
    lambda m: m.ones(3, 4).unfold(0, 4, 1),
    lambda m: m.ones(3, 4).unfold(0, 2, 0),
    lambda m: m.ones(3, 4).unfold(2, 2, 1),
    lambda m: m.meshgrid(m.ones(2), m.ones(3), indexing="foo"),
    lambda m: m.meshgrid(m.ones(2), m.ones(3, dtype=m.long), indexing="ij"),
    lambda m: m.nn.functional.pad(m.ones(3, 4), (1,)),
    lambda m: m.nn.functional.pad(m.ones(3, 4), (1, 1, 1, 1, 1, 1)),
    lambda m: m.nn.functional.pad(m.ones(1, 3, 4), (4, 3), mode="reflect"),
    lambda m: m.nn.functional.pad(m.ones(1, 3, 4), (1, 1), mode="foo"),
    lambda m: m.nn.functional.pad(m.ones(1, 3, 4), (5, 1), mode="circular"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_like_torch(i):
    assert_raises_like(lambda: ERRORS[i](td), lambda: ERRORS[i](torch))


@pytest.mark.parametrize("shape,size", [((1, 1), (1, 1, -1)), ((2, 3), (1, 2, 3)), ((2, 3), (1, 1, 2, 3)),
                                        ((3,), (1, 4, 3)), ((3, 1), (2, 1, 3, 4)), ((), (1, 1))], ids=repr)
def test_expand_new_size_one_dims_keep_contiguous_strides(shape, size):
    # (differential tester) torch's inferExpandGeometry: a new size-1 dim is not stride 0
    got, want = td.ones(shape).expand(*size), torch.ones(shape).expand(*size)
    assert got.stride() == want.stride() and got.is_contiguous() == want.is_contiguous()


@pytest.mark.parametrize("call", [lambda L: L.ones(2).permute(), lambda L: L.ones(2).expand(),
                                  lambda L: L.ones(2).view(), lambda L: L.ones(2).reshape(),
                                  lambda L: L.ones(2).repeat()], ids=["permute", "expand", "view", "reshape", "repeat"])
def test_size_methods_without_arguments(call):
    assert_raises_like(lambda: call(td), lambda: call(torch))


def test_stack_wraps_dim_before_comparing_shapes():
    # (differential tester)
    assert_raises_like(lambda: td.stack([td.ones(()), td.ones(2)], -2),
                       lambda: torch.stack([torch.ones(()), torch.ones(2)], -2))


@pytest.mark.parametrize("reps", [[1], [1, 1], [2]], ids=repr)
def test_repeat_returns_a_new_tensor(reps):
    # (differential tester) repeat([1]) wrote through to its input
    def run(L):
        x = L.tensor([0, -3])
        r = x.repeat(reps)
        r.view(-1)[0] = 7
        return x, r
    for g, w in zip(run(td), run(torch)):
        assert_same(g, w)


@pytest.mark.parametrize("call", [lambda L: L.tril(L.ones(0)), lambda L: L.triu(L.ones(0, dtype=L.int8), 1),
                                  lambda L: L.gather(L.zeros(0, 3, 2), 2, L.zeros(1, 0, 0, dtype=L.int64))],
                         ids=["tril", "triu", "gather"])
def test_empty_inputs_torch_accepts(call):
    assert_same(call(td), call(torch))


@pytest.mark.parametrize("call", [
    lambda L: L.tril(L.ones(2)), lambda L: L.roll(L.ones(()), 1, 0), lambda L: L.roll(L.ones(()), 1, -1),
    lambda L: L.lerp(L.ones(3, dtype=L.float16), L.ones(4, dtype=L.int64), 0.5),
    lambda L: L.float_power(L.ones(2), 2, out=L.empty(0, dtype=L.float32)),
    lambda L: L.float_power(L.ones(2, dtype=L.int32), L.ones(2), out=L.empty(0, dtype=L.int16)),
], ids=["tril-1d", "roll-0d", "roll-0d-neg", "lerp-dtype-first", "float_power-out-float", "float_power-out-int"])
def test_more_errors_found_by_the_differential_tester(call):
    assert_raises_like(lambda: call(td), lambda: call(torch))
