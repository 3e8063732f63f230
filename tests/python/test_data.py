"""tensord.utils.data against torch.utils.data (PyTorch 1.13): datasets, samplers,
default_collate/default_convert (output structure, types, dtypes and values for every
supported input type), the DataLoader's batches, len, drop_last and errors.  Where torch
draws random indices, tensord's draws differ (another generator): those tests check the
properties (a permutation, within range, never a zero weight) and that a seed fixes them."""
import collections
import warnings

import numpy as np
import pytest
import torch

import tensord as td
from tdhelpers import assert_same

tdata, Tdata = td.utils.data, torch.utils.data
Point = collections.namedtuple("Point", "x y")
# torch's own collate of numpy bools warns (numpy deprecation inside torch.as_tensor)
pytestmark = pytest.mark.filterwarnings("ignore:In future, it will be an error for 'np.bool_':DeprecationWarning")


def _mod(m):
    return m.utils.data


def assert_like(got, want):
    """got (tensord's) has the structure, types, dtypes and values of want (torch's)."""
    if isinstance(want, torch.Tensor):
        assert_same(got, want)
    elif isinstance(want, dict):
        assert type(got) is type(want) and list(got) == list(want), (got, want)
        for k in want:
            assert_like(got[k], want[k])
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            assert_like(g, w)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == want.dtype and np.array_equal(got, want)
    else:
        assert type(got) is type(want) and got == want, (got, want)


def both_raise(fn):
    """fn(module) raises the same exception type and message for torch and tensord."""
    with pytest.raises(Exception) as want:
        fn(torch)
    with pytest.raises(type(want.value)) as got:
        fn(td)
    assert str(got.value) == str(want.value)


# ------------------------------------------------------------------ datasets

def _tensors(m):
    return m.tensor(np.arange(10)), m.tensor(np.arange(20.0).reshape(10, 2))


def test_tensor_dataset():
    ds, ref = tdata.TensorDataset(*_tensors(td)), Tdata.TensorDataset(*_tensors(torch))
    assert len(ds) == len(ref) == 10
    for i in (0, 3, -1, slice(2, 5)):
        assert_like(ds[i], ref[i])
    both_raise(lambda m: _mod(m).TensorDataset(m.zeros(3), m.zeros(4)))


def test_subset_concat_chain():
    for m in (td, torch):
        d = _mod(m)
        sub = d.Subset(np.arange(10, 20), [5, 1, 7])  # a list index goes to the dataset as one list
        assert [sub[i] for i in range(len(sub))] == [15, 11, 17] and list(sub[[0, 2]]) == [15, 17]
    ds, ref = tdata.TensorDataset(*_tensors(td)), Tdata.TensorDataset(*_tensors(torch))
    cat, tcat = tdata.ConcatDataset([ds, ds]), Tdata.ConcatDataset([ref, ref])
    assert len(cat) == len(tcat) == 20 and cat.cumulative_sizes == tcat.cumulative_sizes == [10, 20]
    for i in (0, 9, 10, 19, -1, -20):
        assert_like(cat[i], tcat[i])
    assert isinstance(ds + ds, tdata.ConcatDataset) and len(ds + ds) == 20
    both_raise(lambda m: _mod(m).ConcatDataset([_mod(m).TensorDataset(*_tensors(m))])[-11])
    both_raise(lambda m: _mod(m).ConcatDataset([]))
    both_raise(lambda m: _mod(m).ConcatDataset([_Stream(m, 3)]))
    chain = _Stream(td, 3) + _Stream(td, 2)
    assert isinstance(chain, tdata.ChainDataset) and list(chain) == [0, 1, 2, 0, 1] and len(chain) == 5
    both_raise(lambda m: list(_mod(m).ChainDataset([_Stream(m, 2), [1, 2]])))
    both_raise(lambda m: _mod(m).Dataset()[0])


class _StreamBase:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def _Stream(m, n):
    cls = type("Stream", (_StreamBase, _mod(m).IterableDataset), {})
    return cls(n)


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.5], [0.33, 0.33, 0.34], [0.1] * 10,
                                     [0.25, 0.25, 0.25, 0.25], [1.0]])
def test_random_split_lengths(lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = tdata.random_split(range(10), lengths, generator=td.Generator().manual_seed(1))
        want = Tdata.random_split(range(10), lengths, generator=torch.Generator().manual_seed(1))
    assert [len(s) for s in got] == [len(s) for s in want]
    assert sorted(i for s in got for i in s.indices) == list(range(10))


def test_random_split_deterministic_and_errors():
    def split(seed):
        return [s.indices for s in tdata.random_split(range(30), [10, 20], generator=td.Generator().manual_seed(seed))]
    assert split(5) == split(5) and split(5) != split(6)
    td.manual_seed(3)
    a = [s.indices for s in tdata.random_split(range(30), [0.5, 0.5])]
    td.manual_seed(3)
    assert a == [s.indices for s in tdata.random_split(range(30), [0.5, 0.5])]
    both_raise(lambda m: _mod(m).random_split(range(10), [3, 6]))
    both_raise(lambda m: _mod(m).random_split(range(10), [1.5, -0.5]))
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        tdata.random_split(range(1), [0.5, 0.5])


# ------------------------------------------------------------------ samplers

def test_sequential_and_batch_sampler():
    assert list(tdata.SequentialSampler(range(5))) == list(Tdata.SequentialSampler(range(5)))
    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True), (0, 2, False)]:
        got = tdata.BatchSampler(tdata.SequentialSampler(range(n)), bs, drop)
        want = Tdata.BatchSampler(Tdata.SequentialSampler(range(n)), bs, drop)
        assert list(got) == list(want) and len(got) == len(want)
    for bs, drop in [(0, False), (-1, False), (True, False), (2.0, False), (2, 1), (2, None)]:
        both_raise(lambda m: _mod(m).BatchSampler(range(4), bs, drop))


def test_batch_sampler_consumes_its_sampler_lazily_like_torch():
    def run(data):
        seen = []

        def gen():
            for i in range(7):
                seen.append(i)
                yield i
        it = iter(data.BatchSampler(gen(), 3, False))
        first = next(it)
        return first, len(seen), list(it), len(seen)
    assert run(tdata) == run(Tdata)


def _draw(sampler_fn, seed):
    return list(sampler_fn(td.Generator().manual_seed(seed)))


def test_random_sampler():
    perm = _draw(lambda g: tdata.RandomSampler(range(20), generator=g), 1)
    assert sorted(perm) == list(range(20)) and perm == _draw(lambda g: tdata.RandomSampler(range(20), generator=g), 1)
    assert perm != _draw(lambda g: tdata.RandomSampler(range(20), generator=g), 2)
    more = _draw(lambda g: tdata.RandomSampler(range(5), num_samples=13, generator=g), 0)
    assert len(more) == 13 and sorted(more[:5]) == sorted(more[5:10]) == list(range(5))
    rep = tdata.RandomSampler(range(7), replacement=True, num_samples=70, generator=td.Generator().manual_seed(4))
    drawn = list(rep)
    assert len(rep) == len(drawn) == 70 and set(drawn) <= set(range(7)) and len(set(drawn)) > 1
    td.manual_seed(9)
    s = tdata.RandomSampler(range(10))
    first, second = list(s), list(s)
    assert first != second  # each epoch draws a new order from the default generator
    td.manual_seed(9)
    assert [list(s), list(s)] == [first, second]
    for kw in [dict(replacement=1), dict(num_samples=0), dict(num_samples=2.0)]:
        both_raise(lambda m: _mod(m).RandomSampler(range(3), **kw))
    both_raise(lambda m: _mod(m).RandomSampler([]))


def test_subset_and_weighted_samplers():
    idx = [3, 8, 11, 40]
    got = _draw(lambda g: tdata.SubsetRandomSampler(idx, generator=g), 2)
    assert sorted(got) == idx and got == _draw(lambda g: tdata.SubsetRandomSampler(idx, generator=g), 2)
    assert len(tdata.SubsetRandomSampler(idx)) == 4
    w = tdata.WeightedRandomSampler([0.0, 1.0, 3.0, 0.0], 50, generator=td.Generator().manual_seed(1))
    drawn = list(w)
    assert len(w) == len(drawn) == 50 and set(drawn) == {1, 2} and drawn.count(2) > drawn.count(1)
    assert drawn == list(tdata.WeightedRandomSampler([0.0, 1.0, 3.0, 0.0], 50,
                                                     generator=td.Generator().manual_seed(1)))
    assert str(w.weights.dtype) == str(Tdata.WeightedRandomSampler([0.0, 1.0], 1).weights.dtype)
    norep = list(tdata.WeightedRandomSampler([1, 2, 3, 4, 5], 5, replacement=False))
    assert sorted(norep) == [0, 1, 2, 3, 4]
    for args in [([1.0], 0), ([1.0], True), ([1.0], 1.5), ([[1.0, 2.0]], 1)]:
        both_raise(lambda m: _mod(m).WeightedRandomSampler(*args))
    both_raise(lambda m: _mod(m).WeightedRandomSampler([1.0], 1, replacement=0))


# ------------------------------------------------------------------ collate

def _arr(m, a):
    return m.tensor(np.asarray(a))


# each case builds a batch (a list of samples) for module m
COLLATE_CASES = {
    "tensor_f32": lambda m: [_arr(m, np.float32([1, 2])), _arr(m, np.float32([3, 4]))],
    "tensor_i64_2d": lambda m: [_arr(m, np.arange(6).reshape(2, 3)), _arr(m, np.arange(6, 12).reshape(2, 3))],
    "tensor_scalar_bool": lambda m: [_arr(m, True), _arr(m, False), _arr(m, True)],
    "ndarray_f64": lambda m: [np.ones((2, 2)), np.zeros((2, 2))],
    "ndarray_i8": lambda m: [np.int8([1, 2]), np.int8([3, 4])],
    "ndarray_u8_0d": lambda m: [np.array(3, np.uint8), np.array(4, np.uint8)],
    "np_float32": lambda m: [np.float32(1.5), np.float32(2.5)],
    "np_float64": lambda m: [np.float64(1.5), np.float64(2.5)],
    "np_int16": lambda m: [np.int16(1), np.int16(-2)],
    "np_int32": lambda m: [np.int32(1), np.int32(7)],
    "np_int64": lambda m: [np.int64(1), np.int64(7)],
    "np_uint8": lambda m: [np.uint8(1), np.uint8(255)],
    "np_bool": lambda m: [np.bool_(True), np.bool_(False)],
    "float": lambda m: [1.5, 2.25, -3.0],
    "int": lambda m: [1, 2, 3],
    "bool": lambda m: [True, False],
    "str": lambda m: ["a", "bc"],
    "bytes": lambda m: [b"a", b"bc"],
    "np_str": lambda m: [np.str_("a"), np.str_("b")],
    "dict": lambda m: [{"x": 1, "y": _arr(m, np.float32([1, 2]))}, {"x": 2, "y": _arr(m, np.float32([3, 4]))}],
    "ordered_dict": lambda m: [collections.OrderedDict([("b", 1.0), ("a", "s")]),
                               collections.OrderedDict([("b", 2.0), ("a", "t")])],
    "list": lambda m: [[1, 2.0, "a"], [3, 4.0, "b"]],
    "tuple": lambda m: [(1, np.float32(2)), (3, np.float32(4))],
    "namedtuple": lambda m: [Point(1, _arr(m, np.float64([1]))), Point(2, _arr(m, np.float64([2])))],
    "nested": lambda m: [{"a": [(1, {"b": np.ones(2)})], "c": Point("p", 1.0)},
                         {"a": [(2, {"b": np.zeros(2)})], "c": Point("q", 2.0)}],
    "sample_tuple": lambda m: [(_arr(m, np.float32([1.0])), 0), (_arr(m, np.float32([2.0])), 1)],
}


@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_collate_like_torch(case):
    build = COLLATE_CASES[case]
    assert_like(tdata.default_collate(build(td)), Tdata.default_collate(build(torch)))


@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_convert_like_torch(case):
    build = COLLATE_CASES[case]
    for got, want in zip(build(td), build(torch)):
        assert_like(tdata.default_convert(got), Tdata.default_convert(want))


@pytest.mark.parametrize("batch", [
    [None, None], [{1, 2}, {3}], [object(), object()], [np.array(["a", "b"]), np.array(["c", "d"])],
    [np.array([object()]), np.array([object()])], [[1, 2], [3]], [1 + 2j, 3j],
], ids=["none", "set", "object", "str_array", "object_array", "ragged", "complex"])
def test_default_collate_errors(batch):
    both_raise(lambda m: _mod(m).default_collate(batch))


def test_default_convert_keeps_string_arrays():
    a = np.array(["x", "y"])
    assert tdata.default_convert(a) is a and Tdata.default_convert(a) is a
    assert tdata.default_convert(None) is None


def test_collate_fn_map():
    def plus_one(batch, *, collate_fn_map=None):
        return [b + 1 for b in batch]
    cmap = {int: plus_one}
    assert tdata._utils.collate.collate([(1, 2), (3, 4)], collate_fn_map=cmap) == \
        Tdata._utils.collate.collate([(1, 2), (3, 4)], collate_fn_map=cmap) == [[2, 4], [3, 5]]


# ------------------------------------------------------------------ DataLoader

def _batches(loader):
    return [b for b in loader]


LOADER_CASES = {
    "default": lambda m: dict(dataset=_mod(m).TensorDataset(*_tensors(m))),
    "batch3": lambda m: dict(dataset=_mod(m).TensorDataset(*_tensors(m)), batch_size=3),
    "batch3_drop": lambda m: dict(dataset=_mod(m).TensorDataset(*_tensors(m)), batch_size=3, drop_last=True),
    "batch5_drop": lambda m: dict(dataset=_mod(m).TensorDataset(*_tensors(m)), batch_size=5, drop_last=True),
    "no_batching": lambda m: dict(dataset=[np.float32([1, 2]), (np.int64(3), "s")], batch_size=None),
    "batch_sampler": lambda m: dict(dataset=list(range(10)), batch_sampler=[[0, 3], [9], [1, 2, 4]]),
    "sampler": lambda m: dict(dataset=list(range(10)), sampler=[9, 7, 5, 3], batch_size=3),
    "collate_fn": lambda m: dict(dataset=list(range(7)), batch_size=2, collate_fn=lambda b: sum(b)),
    "dicts": lambda m: dict(dataset=[{"img": np.full((2, 2), i, np.float32), "label": i} for i in range(5)],
                            batch_size=2),
    "iterable": lambda m: dict(dataset=_Stream(m, 7), batch_size=3),
    "iterable_drop": lambda m: dict(dataset=_Stream(m, 7), batch_size=3, drop_last=True),
    "iterable_unbatched": lambda m: dict(dataset=_Stream(m, 3), batch_size=None),
    "shuffle_false": lambda m: dict(dataset=list(range(5)), batch_size=2, shuffle=False),
}


@pytest.mark.parametrize("case", sorted(LOADER_CASES))
def test_dataloader_like_torch(case):
    got = tdata.DataLoader(**LOADER_CASES[case](td))
    want = Tdata.DataLoader(**LOADER_CASES[case](torch))
    assert len(got) == len(want)
    g, w = _batches(got), _batches(want)
    assert_like(g, w)
    assert_like(_batches(got), w)  # a second epoch: the same batches


def _tensor_dataset(m):
    rng = np.random.default_rng(3)
    arrays = (rng.standard_normal((13, 3, 2)).astype(np.float32), rng.integers(-5, 5, 13),
              rng.standard_normal(13) > 0, rng.standard_normal((13, 4))[:, ::2])  # the last not contiguous
    return _mod(m).TensorDataset(*(m.tensor(a) for a in arrays))


@pytest.mark.parametrize("batch_sampler", [
    [[0, 1, 2], [12, 12, 3], [5]],                   # repeats
    [(4, 2), range(6, 9), np.array([1, 0]), np.array([7, 3], np.int32)],  # tuples, ranges, numpy
    [[-1, 0], [-13]],                                # negative: sample by sample, as torch
    [[np.int64(2), 11], [np.uint8(1)]],              # numpy scalars
])
def test_tensor_dataset_whole_batches_like_torch(batch_sampler):
    # a TensorDataset under default_collate is indexed once per tensor by the batch's indices
    # (not sample by sample + stack): the batches must be what torch stacks
    got = _batches(tdata.DataLoader(_tensor_dataset(td), batch_sampler=batch_sampler))
    want = _batches(Tdata.DataLoader(_tensor_dataset(torch), batch_sampler=batch_sampler))
    assert_like(got, want)
    g = td.Generator().manual_seed(5)
    shuffled = _batches(tdata.DataLoader(_tensor_dataset(td), batch_size=4, shuffle=True, generator=g))
    order = [i for b in tdata.DataLoader(list(range(13)), batch_size=4, shuffle=True,
                                         generator=td.Generator().manual_seed(5)) for i in b.tolist()]
    want = _batches(Tdata.DataLoader(_tensor_dataset(torch), batch_size=4, sampler=order))
    assert_like(shuffled, want)


@pytest.mark.parametrize("bad", [[[0, 13]], [[-14]], [[0.0, 1.0]], [[True, 0]]])
def test_tensor_dataset_bad_batch_indices_like_torch(bad):
    both_raise(lambda m: _batches(_mod(m).DataLoader(_tensor_dataset(m), batch_sampler=bad)))


@pytest.mark.parametrize("kw", [
    dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=3), dict(persistent_workers=True),
    dict(sampler=[0, 1], shuffle=True), dict(batch_sampler=[[0]], batch_size=2), dict(batch_sampler=[[0]], drop_last=True),
    dict(batch_sampler=[[0]], shuffle=True), dict(batch_sampler=[[0]], sampler=[0]),
    dict(batch_size=None, drop_last=True), dict(batch_size=0), dict(multiprocessing_context="spawn"),
], ids=lambda kw: ",".join(kw))
def test_dataloader_argument_errors(kw):
    both_raise(lambda m: _mod(m).DataLoader(list(range(4)), **kw))


@pytest.mark.parametrize("kw", [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])],
                         ids=lambda kw: next(iter(kw)))
def test_dataloader_iterable_errors(kw):
    both_raise(lambda m: _mod(m).DataLoader(_Stream(m, 3), **kw))


def test_dataloader_fixed_attributes():
    for attr in ("batch_size", "sampler", "drop_last", "dataset"):
        both_raise(lambda m: setattr(_mod(m).DataLoader(list(range(4))), attr, None))
    dl = tdata.DataLoader(list(range(4)))
    dl.collate_fn = lambda b: b  # not fixed
    assert _batches(dl) == [[0], [1], [2], [3]]


def test_dataloader_shuffle():
    ds = list(range(23))

    def epochs(loader, n=2):
        return [[i for b in loader for i in b.tolist()] for _ in range(n)]
    a = epochs(tdata.DataLoader(ds, batch_size=4, shuffle=True, generator=td.Generator().manual_seed(7)))
    b = epochs(tdata.DataLoader(ds, batch_size=4, shuffle=True, generator=td.Generator().manual_seed(7)))
    assert a == b and sorted(a[0]) == ds and sorted(a[1]) == ds and a[0] != a[1] and a[0] != ds
    c = epochs(tdata.DataLoader(ds, batch_size=4, shuffle=True, generator=td.Generator().manual_seed(8)))
    assert c != a
    td.manual_seed(11)
    d = epochs(tdata.DataLoader(ds, batch_size=4, shuffle=True, drop_last=True))
    td.manual_seed(11)
    assert d == epochs(tdata.DataLoader(ds, batch_size=4, shuffle=True, drop_last=True))
    assert all(len(e) == 20 for e in d)
    assert len(tdata.DataLoader(ds, batch_size=4, shuffle=True, drop_last=True)) == 5


def test_dataloader_workers_same_batches():
    """num_workers > 0 loads in worker processes (tests/python/test_dataloader_workers.py
    covers them); the batches are torch's, in order."""
    dl = tdata.DataLoader(list(range(5)), batch_size=2, num_workers=2, persistent_workers=True,
                          prefetch_factor=4)
    assert dl.num_workers == 2
    assert_like(_batches(dl), _batches(Tdata.DataLoader(list(range(5)), batch_size=2)))
    assert_like(_batches(dl), _batches(Tdata.DataLoader(list(range(5)), batch_size=2)))
    assert tdata.get_worker_info() is None


def test_dataloader_iterator_and_getitems():
    class Batched(tdata.Dataset):
        calls = []

        def __getitems__(self, idx):
            self.calls.append(list(idx))
            return [i * 10 for i in idx]

        def __len__(self):
            return 5
    assert [b.tolist() for b in tdata.DataLoader(Batched(), batch_size=2)] == [[0, 10], [20, 30], [40]]
    assert Batched.calls == [[0, 1], [2, 3], [4]]
    it = iter(tdata.DataLoader(list(range(5)), batch_size=2))
    assert len(it) == 3 and next(it).tolist() == [0, 1]
    with pytest.warns(UserWarning, match="Length of IterableDataset"):
        class Liar(_StreamBase, tdata.IterableDataset):
            def __len__(self):
                return 1
        dl = tdata.DataLoader(Liar(3), batch_size=None)
        assert len(dl) == 1
        assert [int(x) for x in dl] == [0, 1, 2]


def test_stack_dataset_and_in_order():
    """torch 2.1's StackDataset (tuple or dict samples, equal lengths) batched by the
    DataLoader (in_order=False accepted: batches come in order anyway)."""
    a = tdata.TensorDataset(td.arange(6.0))
    b = [i * 10 for i in range(6)]
    st = tdata.StackDataset(a, b)
    assert len(st) == 6 and st[2] == (a[2], 20)
    sd = tdata.StackDataset(x=a, y=b)
    batches = list(tdata.DataLoader(sd, batch_size=4, in_order=False))
    assert [bt["y"].tolist() for bt in batches] == [[0, 10, 20, 30], [40, 50]]
    assert batches[0]["x"][0].tolist() == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        tdata.StackDataset(a, b[:3])
    with pytest.raises(ValueError, match="both types are given"):
        tdata.StackDataset(a, y=b)
