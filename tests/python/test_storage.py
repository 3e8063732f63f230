"""Storages (tensord.storage) against torch 1.13 side by side: Tensor.storage(),
TypedStorage/UntypedStorage and the legacy FloatStorage... classes, values, dtypes,
printing, errors, aliasing both ways between tensors and their storages, set_ and the
constructors over storages, pickling, save/load with files going both ways."""
import copy
import io
import os
import pickle

import pytest
import torch

import tensord as td
from tdhelpers import assert_raises_like, assert_same, rerun_under_fake_gpus

LEGACY = ["FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage",
          "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage", "ComplexFloatStorage", "ComplexDoubleStorage"]
DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
          "complex64", "complex128"]


def both(fn):
    """fn(module) run on tensord and on torch."""
    return fn(td), fn(torch)


def grid(m):
    return m.arange(6.).reshape(2, 3)


# ------------------------------------------------------------------ what a storage is

@pytest.mark.parametrize("name", DTYPES)
def test_storage_of_each_dtype(name):
    got, want = both(lambda m: m.tensor([1, 0, 2.5]).to(getattr(m, name)).storage())
    assert str(got.dtype) == str(want.dtype)
    assert (got.size(), len(got), got.nbytes(), got.element_size()) == \
        (want.size(), len(want), want.nbytes(), want.element_size())
    assert got.tolist() == want.tolist() and list(got) == list(want)
    assert [type(v) for v in got.tolist()] == [type(v) for v in want.tolist()]
    assert repr(got) == repr(want) and str(got) == str(want)
    assert got.type() == want.type() and got.pickle_storage_type() == want.pickle_storage_type()
    assert (got.is_cuda, got.is_sparse, got.get_device(), str(got.device)) == \
        (want.is_cuda, want.is_sparse, want.get_device(), str(want.device))


def test_storage_views_whole_storage():
    for f in (lambda x: x[1], lambda x: x[:, 1:], lambda x: x.t(), lambda x: x.reshape(-1)[2:]):
        got, want = both(lambda m: f(grid(m)).storage())
        assert got.tolist() == want.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    x = td.arange(6.).reshape(2, 3)
    # views of one tensor: one storage, the same start (data_ptr), the tensor's start minus its offset
    assert x[1].storage().data_ptr() == x.storage().data_ptr() == x[:, 1].storage().data_ptr()
    assert x[1].data_ptr() - x.storage().data_ptr() == x[1].storage_offset() * x.element_size()
    assert x.storage().data_ptr() != x.clone().storage().data_ptr()
    assert x[1].storage() is not x.storage() and x[1].storage() != x.storage()  # new objects, as torch's
    assert td.tensor([]).storage().tolist() == [] and repr(td.tensor([]).storage()) == repr(torch.tensor([]).storage())
    a = td.ones(3, requires_grad=True)
    assert (a * 2).storage().tolist() == [2.0, 2.0, 2.0] and a.storage().tolist() == [1.0] * 3


def test_writes_alias_both_ways():
    x = td.arange(6.).reshape(2, 3)
    s = x[1].storage()
    s[0] = 10                      # storage -> tensor
    s[-1] = 7
    s[1:3] = 9.
    y = torch.arange(6.).reshape(2, 3)
    r = y[1].storage()
    r[0] = 10
    r[-1] = 7
    r[1:3] = 9.
    assert x.tolist() == y.tolist()
    x[1, 1] = -1                   # tensor -> storage
    assert s[4] == -1.0 and s.tolist() == x.reshape(-1).tolist()
    s.fill_(2)
    assert x.tolist() == [[2.0] * 3] * 2
    s.copy_(td.FloatStorage([9, 8, 7, 6, 5, 4]))
    assert x.tolist() == [[9.0, 8.0, 7.0], [6.0, 5.0, 4.0]]
    u = s.untyped()
    u[7] = 0x3f                    # the high byte of x[0, 1] = 8.0 (0x41000000, little-endian)
    ref = torch.tensor([9., 8.])
    ref.storage().untyped()[7] = 0x3f
    assert x[0, 1].item() == ref[1].item() == 0.5
    assert s.untyped() is u  # one untyped object per storage object, as torch's


def test_clone_cpu_copy_conversions():
    x = td.arange(4.)
    s = x.storage()
    c = s.clone()
    c[0] = 100
    assert x[0].item() == 0 and c.data_ptr() != s.data_ptr()
    assert s.cpu() is not s and s.cpu().data_ptr() == s.data_ptr()
    assert copy.copy(s).data_ptr() == s.data_ptr() and copy.deepcopy(s).data_ptr() != s.data_ptr()
    for conv in ("double", "float", "half", "bfloat16", "long", "int", "short", "char", "byte", "bool",
                 "complex_float", "complex_double"):
        got, want = both(lambda m: getattr(m.tensor([0, 1.5, -2, 3]).storage(), conv)())
        assert str(got.dtype) == str(want.dtype) and got.tolist() == want.tolist(), conv
        assert type(got) is td.TypedStorage
    assert s.float().data_ptr() != s.data_ptr()  # a copy even for the same dtype
    got, want = both(lambda m: m.UntypedStorage([1, 2, 255]).float())
    assert got.tolist() == want.tolist() and str(got.dtype) == str(want.dtype)


# ------------------------------------------------------------------ constructors

@pytest.mark.parametrize("name", LEGACY)
def test_legacy_classes(name):
    got, want = both(lambda m: getattr(m, name)([1, 0, 2]))
    assert type(got) is td.TypedStorage and repr(got) == repr(want)
    assert got.type() == want.type() == "torch." + name
    assert getattr(td, name).dtype is getattr(td, str(want.dtype)[6:])
    assert both(lambda m: len(getattr(m, name)(5))) == (5, 5)
    assert both(lambda m: len(getattr(m, name)())) == (0, 0)
    for other in LEGACY:
        assert isinstance(got, getattr(td, other)) == isinstance(want, getattr(torch, other))
    assert isinstance(got, td.TypedStorage) and not isinstance(got, td.UntypedStorage)
    assert issubclass(getattr(td, name), td.TypedStorage)


def test_constructors():
    assert td.Storage is td.FloatStorage
    for args, kw in [((3,), {"dtype": "int64"}), (([1, 2],), {"dtype": "int64"}), ((), {}), (([[1, 2], [3, 4]],), {}),
                     (((1, 2),), {"dtype": "float64"})]:
        got, want = both(lambda m: m.TypedStorage(*args, **{k: getattr(m, v) for k, v in kw.items()}))
        assert len(got) == len(want) and str(got.dtype) == str(want.dtype)
        if args and not isinstance(args[0], int):
            assert got.tolist() == want.tolist()
    assert both(lambda m: m.LongStorage([1.5, 2]).tolist()) == ([1, 2], [1, 2])
    got, want = both(lambda m: m.UntypedStorage([1, 2, 300]))
    assert got.tolist() == want.tolist() == [1, 2, 44] and repr(got) == repr(want)
    assert both(lambda m: m.UntypedStorage(4).nbytes()) == (4, 4)
    u = td.FloatStorage([1, 2, 3, 4]).untyped()
    w = td.TypedStorage(wrap_storage=u, dtype=td.float32)
    assert w.data_ptr() == u.data_ptr() and w.tolist() == [1, 2, 3, 4]
    assert td.FloatStorage(wrap_storage=u).tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize("call", [
    lambda m: m.FloatStorage(2.0),
    lambda m: m.FloatStorage(2, 3),
    lambda m: m.FloatStorage(dtype=m.float64),
    lambda m: m.FloatStorage(device="cpu"),
    lambda m: m.FloatStorage("ab"),
    lambda m: m.TypedStorage(1, 2),
    lambda m: m.TypedStorage(wrap_storage=m.FloatStorage(2).untyped()),
    lambda m: m.TypedStorage(wrap_storage=m.FloatStorage(2), dtype=m.float32),
    lambda m: m.TypedStorage(wrap_storage=m.FloatStorage(2).untyped(), dtype=m.float32, device="cpu"),
    lambda m: m.TypedStorage(3, wrap_storage=m.FloatStorage(2).untyped(), dtype=m.float32),
    lambda m: m.FloatStorage(wrap_storage=m.FloatStorage(2)),
    lambda m: m.storage._LegacyStorage(),
    lambda m: m.UntypedStorage(2.0),
    lambda m: m.UntypedStorage(-1),
    lambda m: m.FloatStorage(-1),
])
def test_constructor_errors(call):
    assert_raises_like(lambda: call(td), lambda: call(torch))


BUF = bytes(range(1, 13))  # 12 bytes


@pytest.mark.parametrize("call", [
    lambda m: m.FloatStorage.from_buffer(BUF, "little"),
    lambda m: m.FloatStorage.from_buffer(BUF, "big"),
    lambda m: m.FloatStorage.from_buffer(bytearray(BUF), "native", count=2, offset=4),
    lambda m: m.FloatStorage.from_buffer(BUF, "little", offset=12),
    lambda m: m.ComplexFloatStorage.from_buffer(BUF[:8], "big"),
    lambda m: m.LongStorage.from_buffer(BUF[:8], "big"),
    lambda m: m.ByteStorage.from_buffer(BUF),
    lambda m: m.CharStorage.from_buffer(b"\xff\x01"),
    lambda m: m.TypedStorage.from_buffer(BUF, "little"),
    lambda m: m.TypedStorage.from_buffer(BUF[:8], "little", dtype=m.int32),
    lambda m: m.UntypedStorage.from_buffer(BUF, "big", dtype=m.float32),
])
def test_from_buffer(call):
    got, want = both(call)
    assert type(got).__name__ == type(want).__name__ and repr(got) == repr(want)


@pytest.mark.parametrize("call", [
    lambda m: m.FloatStorage.from_buffer(BUF),
    lambda m: m.BoolStorage.from_buffer(BUF),
    lambda m: m.FloatStorage.from_buffer(BUF, "middle"),
    lambda m: m.FloatStorage.from_buffer(BUF, "little", count=4),
    lambda m: m.FloatStorage.from_buffer(BUF[:5], "little"),
    lambda m: m.FloatStorage.from_buffer(BUF, "little", offset=2),
    lambda m: m.FloatStorage.from_buffer(BUF, "little", offset=13),
    lambda m: m.FloatStorage.from_buffer(BUF, "little", offset=-1),
    lambda m: m.FloatStorage.from_buffer("abcd", "little"),
    lambda m: m.FloatStorage.from_buffer(BUF, "little", dtype=m.float32),
    lambda m: m.UntypedStorage.from_buffer(BUF, "little"),
])
def test_from_buffer_errors(call):
    assert_raises_like(lambda: call(td), lambda: call(torch))


# ------------------------------------------------------------------ indexing

@pytest.mark.parametrize("op", [
    lambda s: s[6], lambda s: s[-7], lambda s: s[1.0], lambda s: s["a"], lambda s: s[True], lambda s: s[1:3],
    lambda s: s.__setitem__(6, 1.), lambda s: s.__setitem__(1.0, 7), lambda s: s.__setitem__(0, "a"),
    lambda s: s.__setitem__(0, s), lambda s: s.__setitem__("a", 1),
])
def test_typed_index_errors(op):
    assert_raises_like(lambda: op(td.arange(6.).storage()), lambda: op(torch.arange(6.).storage()))


@pytest.mark.parametrize("op", [
    lambda u: u[24], lambda u: u[1.0], lambda u: u[::2], lambda u: u.__setitem__(7, 1.5),
    lambda u: u.__setitem__(30, 1), lambda u: u.__setitem__("a", 1), lambda u: u.fill_(1.5),
    lambda u: u.__setitem__(slice(1, 3), td.tensor([5, 6]) if isinstance(u, td.UntypedStorage) else
                            torch.tensor([5, 6])),
    lambda u: u.copy_(type(u)(3)),
])
def test_untyped_errors(op):
    assert_raises_like(lambda: op(td.arange(6.).storage().untyped()),
                       lambda: op(torch.arange(6.).storage().untyped()), prefix=20)


def test_typed_set_values():
    for idx, value in [(0, True), (slice(None), 0.5), (slice(0, 4, 2), 1.), (-1, 7), (0, td.tensor(3.))]:
        got, want = both(lambda m: m.arange(6.))
        got.storage()[idx] = value
        want.storage()[idx] = torch.tensor(value.item()) if isinstance(value, td.Tensor) else value
        assert got.tolist() == want.tolist()
    got, want = both(lambda m: m.LongStorage([1, 2]))
    got[0], want[0] = 1.7, 1.7
    assert got.tolist() == want.tolist()
    got, want = both(lambda m: m.ComplexFloatStorage([1, 2]))
    got[0], want[0] = 1 + 2j, 1 + 2j
    got[1:], want[1:] = 3j, 3j
    assert got.tolist() == want.tolist() == [1 + 2j, 3j]
    got, want = both(lambda m: m.FloatStorage([1, 2]))
    got[0], want[0] = 5 + 0j, 5 + 0j
    assert got.tolist() == want.tolist()
    assert_raises_like(lambda: got.__setitem__(0, 1 + 2j), lambda: want.__setitem__(0, 1 + 2j))


def test_untyped_bytes():
    got, want = both(lambda m: m.arange(6.).reshape(2, 3).storage().untyped())
    assert got.tolist() == want.tolist() and repr(got) == repr(want)
    assert (got.size(), got.nbytes(), got.element_size(), got.type()) == \
        (want.size(), want.nbytes(), want.element_size(), want.type())
    for sl in (slice(4, 8), slice(-4, None), slice(5, 2), slice(0, 100), slice(3, 9)):
        assert got[sl].tolist() == want[sl].tolist() and repr(got[sl]) == repr(want[sl])
        assert got[sl].data_ptr() - got.data_ptr() == want[sl].data_ptr() - want.data_ptr()
    assert (got[0], got[-1], got[7]) == (want[0], want[-1], want[7])
    x = td.arange(6.)
    u = x.storage().untyped()
    v = u[4:8]                     # a view: writes reach the tensor (bytes of 1.0: 00 00 80 3f)
    v[3] = 0x40
    v[1:3] = 0
    assert x[1].item() == 2.0
    u[8:12] = 0
    assert x[2].item() == 0.0
    w = td.UntypedStorage(8).fill_(300)
    assert w.tolist() == [44] * 8 and td.UntypedStorage(2).fill_(-1).tolist() == [255, 255]
    f = td.FloatStorage(2)
    f.copy_(td.IntStorage([1, 2]))  # bytes reinterpreted, as torch's copy_
    assert f.tolist() == torch.FloatStorage(2).copy_(torch.IntStorage([1, 2])).tolist()
    assert_raises_like(lambda: td.FloatStorage(2).copy_(td.DoubleStorage(2)),
                       lambda: torch.FloatStorage(2).copy_(torch.DoubleStorage(2)))
    assert_raises_like(lambda: td.FloatStorage(2).type(td.DoubleStorage),
                       lambda: torch.FloatStorage(2).type(torch.DoubleStorage))
    b = td.FloatStorage([1.0]).type("torch.ByteStorage")
    assert b.tolist() == torch.FloatStorage([1.0]).type("torch.ByteStorage").tolist() == [0, 0, 128, 63]


# ------------------------------------------------------------------ tensors over storages

def test_set_to_storage():
    x = td.arange(6.)
    s = x.storage()
    y = td.tensor([]).set_(s)
    assert y.tolist() == x.tolist() and y.data_ptr() == s.data_ptr()
    y[0] = 5
    assert x[0].item() == 5
    for args in [(1, (2, 2), (1, 2)), (1, (2, 2)), (0, [2, 3], [3, 1]), (2, (0,))]:
        got = td.tensor([]).set_(td.arange(6.).storage(), *args)
        want = torch.tensor([]).set_(torch.arange(6.).storage(), *args)
        assert_same(got, want)
        assert (got.storage_offset(), got.stride()) == (want.storage_offset(), want.stride())
    z = td.tensor([]).set_(source=s, storage_offset=3, size=[3], stride=[1])
    assert z.storage_offset() == 3 and z.is_set_to(x[3:])
    u = td.UntypedStorage([1, 2, 3, 4])
    t = td.tensor([], dtype=td.uint8).set_(u[1:3])
    assert t.tolist() == [2, 3] and t.data_ptr() - u.data_ptr() == 1
    assert td.tensor([]).set_(td.FloatStorage([1, 2]).untyped()).tolist() == [1, 2]


@pytest.mark.parametrize("name", DTYPES[1:])
def test_set_dtype_error(name):
    assert_raises_like(lambda: td.tensor([], dtype=getattr(td, name)).set_(td.FloatStorage(2)),
                       lambda: torch.tensor([], dtype=getattr(torch, name)).set_(torch.FloatStorage(2)))


@pytest.mark.parametrize("call", [
    lambda m: m.tensor([]).set_(m.FloatStorage(4), 1),
    lambda m: m.tensor([]).set_(m.FloatStorage(4), size=(2,)),
    lambda m: m.tensor([]).set_(m.FloatStorage(4), -1, (2,), (1,)),
    lambda m: m.tensor([]).set_(m.FloatStorage(4), 0, (2, -1), (1, 1)),
    lambda m: m.tensor([]).set_(m.FloatStorage(4), 0, (2, 2), (1,)),
    lambda m: m.ones(2, requires_grad=True).set_(m.FloatStorage(4)),
    lambda m: m.LongTensor(m.FloatStorage(2)),
    lambda m: m.Tensor(m.DoubleStorage(2)),
    lambda m: m.tensor([1.]).new(m.DoubleStorage(2)),
    lambda m: m.tensor(m.LongStorage([1, 2])),
    lambda m: m.tensor(m.FloatStorage([1, 2]), dtype=m.float64),
])
def test_tensor_over_storage_errors(call):
    assert_raises_like(lambda: call(td), lambda: call(torch), prefix=70)


def test_constructors_over_storages():
    s = td.FloatStorage([1, 2, 3])
    for make in (lambda m, s: m.FloatTensor(s), lambda m, s: m.Tensor(s), lambda m, s: m.tensor(s),
                 lambda m, s: m.as_tensor(s), lambda m, s: m.tensor([1.]).new(s)):
        t = make(td, s)
        want = make(torch, torch.FloatStorage([1, 2, 3]))
        assert_same(t, want)
        assert t.data_ptr() == s.data_ptr()  # a view of the storage, as torch 1.13's
    assert td.LongTensor(td.LongStorage([4, 5])).tolist() == [4, 5]
    r = td.tensor(s, requires_grad=True)
    assert r.requires_grad and r.is_leaf
    got, want = both(lambda m: m.tensor(m.UntypedStorage([1, 2, 3])))
    assert_same(got, want)
    got, want = both(lambda m: m.tensor(m.UntypedStorage([0, 0, 128, 63, 0, 0, 0, 64]), dtype=m.float32))
    assert_same(got, want)
    assert td.arange(3.).storage_type() is td.FloatStorage and td.arange(3).storage_type() is td.LongStorage
    assert td.is_storage(s) and td.is_storage(s.untyped()) and not td.is_storage(td.ones(1))
    assert not td.is_tensor(s)


def test_sharing_state():
    x = td.ones(3)
    assert not x.storage().is_shared() and x.storage().is_pinned() == x.is_pinned()  # pinned only with GPUs
    x.share_memory_()
    assert x.storage().is_shared() and x[1:].storage().is_shared()
    s = td.FloatStorage(3)
    assert s.share_memory_() is s and s.is_shared() and td.tensor([]).set_(s).is_shared()
    assert s.untyped().is_shared()


# ------------------------------------------------------------------ pickling, save/load

def test_pickle():
    for s in (td.arange(6.).reshape(2, 3)[1].storage(), td.LongStorage([1, 2]), td.BoolStorage([True, False]),
              td.BFloat16Storage([0.1, 2]), td.UntypedStorage([1, 2, 3])):
        r = pickle.loads(pickle.dumps(s))
        assert type(r) is type(s) and r.tolist() == s.tolist() and r.data_ptr() != s.data_ptr()
        assert getattr(r, "dtype", None) is getattr(s, "dtype", None)


def _save(m, obj):
    b = io.BytesIO()
    m.save(obj, b)
    return b.getvalue()


def test_save_storage_files_both_ways():
    x, y = both(lambda m: m.arange(6.).reshape(2, 3))
    raw_td, raw_torch = _save(td, [x[1], x.storage()]), _save(torch, [y[1], y.storage()])
    for raw in (raw_td, raw_torch):
        a, s = td.load(io.BytesIO(raw))
        assert type(s) is td.TypedStorage and s.dtype is td.float32 and s.tolist() == list(range(6))
        assert a.storage().data_ptr() == s.data_ptr()  # still one storage
        s[3] = 30
        assert a[0].item() == 30
        b, r = torch.load(io.BytesIO(raw))
        assert type(r) is torch.storage.TypedStorage and r.tolist() == list(range(6))
        assert b.storage().data_ptr() == r.data_ptr()
    got = td.load(io.BytesIO(_save(torch, torch.UntypedStorage([1, 2, 3]))))
    want = torch.load(io.BytesIO(_save(td, td.UntypedStorage([1, 2, 3]))))
    assert repr(got) == repr(want) == repr(torch.load(io.BytesIO(_save(torch, torch.UntypedStorage([1, 2, 3])))))
    assert_raises_like(lambda: td.save([x, x.storage().untyped()], io.BytesIO()),
                       lambda: torch.save([y, y.storage().untyped()], io.BytesIO()))
    u = td.FloatStorage([1, 2, 3]).untyped()[4:8]  # a byte window: saved on its own
    assert torch.load(io.BytesIO(_save(td, u))).tolist() == list(torch.FloatStorage([2]).untyped())
    assert type(td.load(io.BytesIO(_save(td, td.DoubleStorage([1.5]))), weights_only=True)) is td.TypedStorage


def test_what_tensord_cannot_do():
    """The daemon has no dtype views and cannot grow a storage in place (docs/guide.md,
    Storages): these raise instead of silently not aliasing."""
    u = td.FloatStorage([1, 2]).untyped()
    with pytest.raises(NotImplementedError, match="no dtype views"):
        td.TypedStorage(wrap_storage=u, dtype=td.int32)
    with pytest.raises(NotImplementedError, match="no dtype views"):
        td.tensor([], dtype=td.uint8).set_(u)
    with pytest.raises(NotImplementedError, match="no dtype views"):
        td.ByteTensor(u)
    with pytest.raises(NotImplementedError, match="cannot grow"):
        td.FloatStorage(2).resize_(4)
    with pytest.raises(RuntimeError, match="out of bounds"):
        td.tensor([]).set_(td.FloatStorage(4), 1, (7,))


if os.environ.get("TENSORD_FAKE_GPUS") != "2":
    def test_storages_under_two_fake_gpus():
        rerun_under_fake_gpus(__file__)
else:
    def test_cuda_storages():
        x = td.arange(4., device="cuda:1")
        s = x[1:].storage()
        assert s.device == td.device("cuda:1") and s.is_cuda and s.get_device() == 1
        assert s.type() == "torch.cuda.FloatStorage" and not isinstance(s, td.FloatStorage)
        assert repr(s).endswith("[torch.storage.TypedStorage(dtype=torch.float32, device=cuda:1) of size 4]")
        s[0] = 7
        s.untyped()[7] = 0x40
        assert x.tolist() == [7.0, 4.0, 2.0, 3.0]
        c = s.cpu()
        assert c.device.type == "cpu" and c.tolist() == s.tolist() and c.cuda().device == td.device("cuda:0")
        y = td.tensor([], device="cuda:1").set_(s, 2, (2,))
        assert y.device == td.device("cuda:1") and y.tolist() == [2.0, 3.0]
        b = io.BytesIO()
        td.save(s, b)
        got = td.load(io.BytesIO(b.getvalue()), map_location=lambda st, loc: st.cuda(0) if loc == "cuda:1" else None)
        assert got.device == td.device("cuda:0") and got.tolist() == s.tolist()
        assert torch.load(io.BytesIO(b.getvalue()), map_location="cpu").tolist() == s.tolist()
