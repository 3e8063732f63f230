"""tensord.save / tensord.load against PyTorch 1.13's torch.save / torch.load (the zip
checkpoint format), both directions: every dtype, nested containers, shared storage of
views, requires_grad, map_location, weights_only's restricted unpickler (malicious pickles
are refused before anything runs), corrupt and legacy files; then the safetensors reader
and writer against hand-built files."""
import collections
import copyreg
import io
import json
import os
import pathlib
import pickle
import pickletools
import struct
import zipfile

import numpy as np
import pytest
import torch

import tensord as td

ALL_DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
              "complex64", "complex128"]


def np_data(name, shape, seed=0):
    rng = np.random.default_rng(seed)
    if name == "bool":
        return rng.random(shape) < 0.5
    if name.startswith("complex"):
        return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(name)
    if name.startswith(("float", "bfloat")):
        return rng.normal(size=shape) * 10
    lo = 0 if name == "uint8" else -100
    return rng.integers(lo, 100, shape).astype(name)


def td_tensor(a, name):
    return td.tensor(a, dtype=getattr(td, name))


def th_tensor(a, name):
    return torch.tensor(a).to(getattr(torch, name))


def values(t):
    """A numpy array of t's values (tensord or torch; bfloat16 as float32)."""
    if str(t.dtype) == "torch.bfloat16":
        t = t.float()
    return np.asarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t.numpy())


def assert_tensor_equal(got, want):
    assert str(got.dtype) == str(want.dtype), (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(values(got), values(want))


def td_roundtrip_to_torch(obj, **kw):
    buf = io.BytesIO()
    td.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, **kw)


def torch_roundtrip_to_td(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return td.load(buf, **kw)


# ------------------------------------------------------------------ tensors both ways

@pytest.mark.parametrize("name", ALL_DTYPES)
def test_tensord_save_torch_load(name):
    a = np_data(name, (3, 4))
    x = td_tensor(a, name)
    got = td_roundtrip_to_torch({"x": x, "col": x[:, 1], "scalar": x[1, 2], "empty": x[:0]})
    for k, t in {"x": x, "col": x[:, 1], "scalar": x[1, 2], "empty": x[:0]}.items():
        assert isinstance(got[k], torch.Tensor)
        assert_tensor_equal(got[k], t)
        assert got[k].stride() == t.stride() and got[k].storage_offset() == t.storage_offset()


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_torch_save_tensord_load(name):
    t = th_tensor(np_data(name, (2, 5), 1), name)
    got = torch_roundtrip_to_td([t, t.t(), t[1, 1:4], t[0, 0]])
    for g, w in zip(got, [t, t.t(), t[1, 1:4], t[0, 0]]):
        assert isinstance(g, td.Tensor)
        assert_tensor_equal(g, w)
        assert tuple(g.stride()) == w.stride() and g.storage_offset() == w.storage_offset()


def _state(m, seed=0):
    def mk(shape, name="float32"):
        a = np_data(name, shape, seed)
        return td_tensor(a, name) if m is td else th_tensor(a, name)
    model = collections.OrderedDict([("fc.weight", mk((4, 3))), ("fc.bias", mk((4,))),
                                     ("bn.num_batches_tracked", mk((), "int64"))])
    optim = {"state": {0: {"step": 3, "exp_avg": mk((4, 3)), "exp_avg_sq": mk((4, 3))}, 1: {"step": 3}},
             "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "params": [0, 1], "amsgrad": False,
                               "name": None}]}
    return {"model": model, "optimizer": optim, "epoch": 7, "tags": ["a", b"b", 2.5, True], "nested": [[mk((2,))]]}


def assert_same_structure(got, want):
    if isinstance(want, (torch.Tensor, td.Tensor)):
        assert isinstance(got, (torch.Tensor, td.Tensor))
        assert_tensor_equal(got, want)
    elif isinstance(want, dict):
        assert type(got) is type(want) and list(got) == list(want)
        for k in want:
            assert_same_structure(got[k], want[k])
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same_structure(g, w)
    else:
        assert type(got) is type(want) and got == want


def test_nested_checkpoints_both_ways():
    got = td_roundtrip_to_torch(_state(td))
    assert isinstance(got["model"]["fc.weight"], torch.Tensor)
    assert_same_structure(got, _state(torch))
    back = torch_roundtrip_to_td(_state(torch))
    assert isinstance(back["model"]["fc.weight"], td.Tensor)
    assert_same_structure(back, _state(td))
    buf = io.BytesIO()
    td.save(_state(td), buf)
    buf.seek(0)
    assert_same_structure(td.load(buf), _state(td))


# ------------------------------------------------------------------ shared storage

def _data_records(raw):
    return sorted(n for n in zipfile.ZipFile(io.BytesIO(raw)).namelist() if "/data/" in n)


def test_views_share_storage_tensord_to_torch():
    a = td.arange(12, dtype=td.float32)
    b = td.arange(3, dtype=td.float64)
    views = [a, a[2:8], a.view(3, 4).t(), a[::3], b, b[1:]]
    buf = io.BytesIO()
    td.save(views, buf)
    assert _data_records(buf.getvalue()) == ["archive/data/0", "archive/data/1"]  # each storage once
    buf.seek(0)
    got = torch.load(buf)
    for g, w in zip(got, views):
        assert_tensor_equal(g, w)
    assert len({g.storage().data_ptr() for g in got[:4]}) == 1 and got[4].storage().data_ptr() != \
        got[0].storage().data_ptr()
    got[0].add_(100)  # torch's views see the write: one storage
    assert got[1][0].item() == 102 and got[2][0, 1].item() == 104 and got[3][1].item() == 103
    # a view alone still saves its whole storage, and torch sees the same offset
    only = td_roundtrip_to_torch(a[5:7])
    assert only.storage_offset() == 5 and len(only.storage()) == 12


def test_views_share_storage_torch_to_tensord():
    t = torch.arange(12.0)
    u = torch.ones(2, 2)
    got = torch_roundtrip_to_td([t, t[2:8], t.view(3, 4).t(), t[::3], u, u[1]])
    for g, w in zip(got, [t, t[2:8], t.view(3, 4).t(), t[::3], u, u[1]]):
        assert_tensor_equal(g, w)
    assert len({g._storage_key for g in got[:4]}) == 1 and len({g._storage_key for g in got[4:]}) == 1
    assert got[0]._storage_key != got[4]._storage_key
    got[0].add_(100)  # tensord's views of the one loaded storage see the write
    assert got[1].tolist()[0] == 102 and got[2].tolist()[0][1] == 104 and got[3].tolist()[1] == 103
    got[4].zero_()
    assert got[5].tolist() == [0, 0]


def test_shared_storage_tensord_roundtrip():
    a = td.arange(6, dtype=td.int32)
    buf = io.BytesIO()
    td.save({"a": a, "v": a[1:4]}, buf)
    buf.seek(0)
    got = td.load(buf)
    assert got["a"]._storage_key == got["v"]._storage_key
    got["v"].fill_(-1)
    assert got["a"].tolist() == [0, -1, -1, -1, 4, 5]


# ------------------------------------------------------------------ requires_grad, objects

def test_requires_grad_both_ways():
    w = td.ones(3)
    w.requires_grad = True
    got = td_roundtrip_to_torch({"w": w, "y": w * 2, "n": td.zeros(2)})
    assert got["w"].requires_grad and got["y"].requires_grad and not got["n"].requires_grad
    back = torch_roundtrip_to_td({"w": torch.ones(3, requires_grad=True), "n": torch.zeros(2),
                                  "p": torch.nn.Parameter(torch.full((2,), 2.0))})
    assert back["w"].requires_grad and not back["n"].requires_grad
    assert back["p"].requires_grad and back["p"].tolist() == [2.0, 2.0]
    frozen = torch_roundtrip_to_td(torch.nn.Parameter(torch.ones(1), requires_grad=False))
    assert not frozen.requires_grad
    (back["w"] * back["w"]).sum().backward()  # a leaf that accumulates a gradient
    assert back["w"].grad.tolist() == [2.0, 2.0, 2.0]


class Holder:
    """A plain object with tensors inside (pickled whole, by reference to this class)."""

    def __init__(self, t, tag):
        self.t, self.tag = t, tag


def test_whole_objects_dtypes_sizes_devices():
    obj = Holder(td.arange(3), "h")
    got = td_roundtrip_to_torch(obj)
    assert isinstance(got, Holder) and got.tag == "h" and got.t.tolist() == [0, 1, 2]
    assert isinstance(got.t, torch.Tensor)
    meta = td_roundtrip_to_torch([td.float16, td.bool, td.Size([2, 3]), td.device("cpu")])
    assert meta == [torch.float16, torch.bool, torch.Size([2, 3]), torch.device("cpu")]
    assert type(meta[2]) is torch.Size
    back = torch_roundtrip_to_td([torch.bfloat16, torch.complex128, torch.Size([4]), torch.device("cpu"),
                                  Holder(torch.ones(1), 2)])
    assert back[:2] == [td.bfloat16, td.complex128] and type(back[2]) is td.Size and list(back[2]) == [4]
    assert str(back[3]) == "cpu" and isinstance(back[4].t, td.Tensor) and back[4].t.tolist() == [1.0]


def test_tensord_classes_travel_as_torch_classes():
    ds = td.utils.data.TensorDataset(td.arange(4), td.ones(4))
    got = td_roundtrip_to_torch(ds)
    assert type(got) is torch.utils.data.TensorDataset and got.tensors[0].tolist() == [0, 1, 2, 3]
    back = torch_roundtrip_to_td(torch.utils.data.TensorDataset(torch.arange(2)))
    assert type(back) is td.utils.data.TensorDataset and back.tensors[0].tolist() == [0, 1]


# ------------------------------------------------------------------ files and map_location

def test_file_kinds(tmp_path):
    x = td.tensor([1.5, 2.5])
    for dest in (str(tmp_path / "a.pt"), tmp_path / "b.pt"):
        td.save(x, dest)
        assert td.load(dest).tolist() == [1.5, 2.5] and torch.load(dest).tolist() == [1.5, 2.5]
    with open(tmp_path / "c.pt", "wb") as f:
        td.save(x, f)
    with open(tmp_path / "c.pt", "rb") as f:
        assert td.load(f).tolist() == [1.5, 2.5]
    torch.save(torch.tensor([3]), tmp_path / "d.pt")
    assert td.load(pathlib.Path(tmp_path / "d.pt")).tolist() == [3]


class _NoSeek(io.RawIOBase):
    def __init__(self, data):
        self.inner = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        return self.inner.readinto(b)

    def seekable(self):
        return False

    def seek(self, *a):
        raise io.UnsupportedOperation("seek")

    def tell(self):
        raise io.UnsupportedOperation("tell")


def test_unseekable_file_refused():
    buf = io.BytesIO()
    td.save(td.ones(1), buf)
    with pytest.raises(io.UnsupportedOperation, match="You can only torch.load from a file that is seekable"):
        td.load(_NoSeek(buf.getvalue()))
    with pytest.raises(io.UnsupportedOperation, match="You can only torch.load from a file that is seekable"):
        torch.load(_NoSeek(buf.getvalue()))


def _torch_archive(obj, storages, prefix="archive", version=b"3\n", extra=None, protocol=2, skip=()):
    """A zip in torch's layout written by hand: obj is pickled with the storages (name ->
    (torch storage class, location, raw bytes, numel)) as persistent ids; the records of
    the keys in skip are left out."""
    class P(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, _SRef):
                cls, loc, _, numel = storages[o.key]
                return ("storage", cls, o.key, loc, numel)
            return None
    pk = io.BytesIO()
    P(pk, protocol=protocol).dump(obj)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(prefix + "/data.pkl", pk.getvalue())
        for key, (_, _, raw, _) in storages.items():
            if key not in skip:
                z.writestr(prefix + "/data/" + key, raw)
        for name, data in (extra or {}).items():
            z.writestr(prefix + "/" + name, data)
        if version is not None:
            z.writestr(prefix + "/version", version)
    return out.getvalue()


class _SRef:
    def __init__(self, key):
        self.key = key


class _TRef:
    """Pickles as torch's tensor call over storage key."""

    def __init__(self, key, offset, size, stride, requires_grad=False):
        self.args = (_SRef(key), offset, size, stride, requires_grad, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


def _f32(vals):
    return np.asarray(vals, "<f4").tobytes()


def _cuda_file():
    return _torch_archive([_TRef("0", 0, (3,), (1,))], {"0": (torch.FloatStorage, "cuda:0", _f32([1, 2, 3]), 3)})


def test_map_location():
    raw = _cuda_file()
    with pytest.raises(RuntimeError) as want:
        torch.load(io.BytesIO(raw))
    with pytest.raises(RuntimeError) as got:
        td.load(io.BytesIO(raw))
    assert str(got.value) == str(want.value)
    for ml in ("cpu", td.device("cpu"), {"cuda:0": "cpu"}, lambda s, loc: s):
        assert td.load(io.BytesIO(raw), map_location=ml)[0].tolist() == [1, 2, 3]
        assert torch.load(io.BytesIO(raw), map_location=ml if not isinstance(ml, td.device) else "cpu")[0] \
            .tolist() == [1, 2, 3]
    # the callable gets each storage as an UntypedStorage (its bytes), as torch 1.13's
    seen, seen_torch = [], []
    td.load(io.BytesIO(raw), map_location=lambda s, loc: seen.append((type(s).__name__, s.tolist(), loc)) or s)
    torch.load(io.BytesIO(raw), map_location=lambda s, loc: seen_torch.append((type(s).__name__, s.tolist(), loc)) or s)
    assert seen == seen_torch == [("UntypedStorage", list(_f32([1, 2, 3])), "cuda:0")]
    cpu = io.BytesIO()
    td.save(td.ones(2), cpu)
    assert td.load(io.BytesIO(cpu.getvalue()), map_location=lambda s, loc: None).tolist() == [1, 1]
    with pytest.raises(RuntimeError, match="CUDA device"):
        td.load(io.BytesIO(cpu.getvalue()), map_location="cuda:0")
    with pytest.raises(RuntimeError, match="must return the storage"):
        td.load(io.BytesIO(cpu.getvalue()), map_location=lambda s, loc: td.zeros(5))


# ------------------------------------------------------------------ weights_only

class Evil:
    """Unpickling runs os.system: creates the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch " + self.marker,))


def test_weights_only_loads_checkpoints():
    got = torch_roundtrip_to_td(_state(torch), weights_only=True)  # bytes pickle as _codecs.encode: allowed
    assert_same_structure(got, _state(td))
    buf = io.BytesIO()
    td.save(_state(td), buf)
    assert_same_structure(td.load(io.BytesIO(buf.getvalue()), weights_only=True), _state(td))
    # torch 1.13's weights_only unpickler has neither _codecs.encode (bytes) nor BINFLOAT (floats)
    buf = io.BytesIO()
    td.save({"model": _state(td)["model"], "epoch": 7, "names": ["fc", "bn"]}, buf)
    assert_same_structure(torch.load(io.BytesIO(buf.getvalue()), weights_only=True),
                          {"model": _state(torch)["model"], "epoch": 7, "names": ["fc", "bn"]})


def test_weights_only_refuses_code(tmp_path):
    marker = str(tmp_path / "pwned")
    buf = io.BytesIO()
    torch.save({"w": torch.ones(1), "x": Evil(marker)}, buf)
    with pytest.raises(pickle.UnpicklingError) as want:
        torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
    with pytest.raises(pickle.UnpicklingError) as got:
        td.load(io.BytesIO(buf.getvalue()), weights_only=True)
    assert str(got.value) == str(want.value) and "Unsupported class posix.system" in str(got.value)
    assert not os.path.exists(marker)
    td.load(io.BytesIO(buf.getvalue()))  # the full unpickler does run it: the payload is real
    assert os.path.exists(marker)


class Config:
    """A plain class a checkpoint may hold: weights_only refuses it unless allowed."""

    def __init__(self, lr):
        self.lr = lr


def test_safe_globals_allow_named_classes():
    """torch 2.x's add_safe_globals / safe_globals: a whole module saved by torch 1.13 loads
    with weights_only=True once its classes are allowed, as tensord's classes; the allowance
    ends with the with-block; anything else is still refused."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    buf = io.BytesIO()
    torch.save({"model": model, "config": Config(0.1)}, buf)
    raw = buf.getvalue()
    with pytest.raises(pickle.UnpicklingError, match="Unsupported class"):
        td.load(io.BytesIO(raw), weights_only=True)
    allow = [td.nn.Sequential, td.nn.Linear, td.nn.ReLU, Config, set]
    with td.serialization.safe_globals(allow):
        assert Config in td.serialization.get_safe_globals()
        got = td.load(io.BytesIO(raw), weights_only=True)
    assert td.serialization.get_safe_globals() == []
    assert isinstance(got["model"][0], td.nn.Linear) and got["config"].lr == 0.1
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(got["model"](td.tensor(x)).detach().numpy(),
                               model(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    with pytest.raises(pickle.UnpicklingError, match="Unsupported class"):
        td.load(io.BytesIO(raw), weights_only=True)
    # (object, "module.name"): a class pickled under a name that no longer imports
    buf = io.BytesIO()
    td.save({"config": Config(0.5)}, buf)
    moved = _renamed_module(buf.getvalue(), Config.__module__, "old.place")
    td.serialization.add_safe_globals([(Config, "old.place.Config")])
    try:
        assert td.load(io.BytesIO(moved), weights_only=True)["config"].lr == 0.5
        with pytest.raises(ValueError, match="Expected tuple of length 2"):
            td.serialization.add_safe_globals([(Config,)])
    finally:
        td.serialization.clear_safe_globals()
    assert td.serialization.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError, match="Unsupported class old.place.Config"):
        td.load(io.BytesIO(moved), weights_only=True)


def _renamed_module(archive, old, new):
    """The archive with data.pkl's GLOBAL references to module old renamed new (protocol 2
    spells them as text lines)."""
    z_in = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z_out:
        for info in z_in.infolist():
            data = z_in.read(info)
            if info.filename.endswith("data.pkl"):
                assert (b"c" + old.encode() + b"\n") in data
                data = data.replace(b"c" + old.encode() + b"\n", b"c" + new.encode() + b"\n")
            z_out.writestr(info, data)
    return out.getvalue()


def test_weights_only_refuses_ext_opcode_and_objects(tmp_path, monkeypatch):
    marker = str(tmp_path / "ext")
    copyreg.add_extension("posix", "system", 0xF1)
    try:
        raw = pickle.dumps(Evil(marker), protocol=2)
    finally:
        copyreg.remove_extension("posix", "system", 0xF1)
    assert any(op.name == "EXT1" for op, _, _ in pickletools.genops(raw))
    archive = _torch_archive(None, {})
    z_in = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("archive/data.pkl", raw)
        z.writestr("archive/version", z_in.read("archive/version"))
    copyreg.add_extension("posix", "system", 0xF1)
    try:
        with pytest.raises(pickle.UnpicklingError, match="Unsupported class posix.system"):
            td.load(io.BytesIO(out.getvalue()), weights_only=True)
    finally:
        copyreg.remove_extension("posix", "system", 0xF1)
    assert not os.path.exists(marker)
    buf = io.BytesIO()
    td.save([Holder(td.ones(1), "x")], buf)
    with pytest.raises(pickle.UnpicklingError, match="Unsupported class test_serialization.Holder"):
        td.load(io.BytesIO(buf.getvalue()), weights_only=True)
    with pytest.raises(RuntimeError, match="Can not safely load weights"):
        td.load(io.BytesIO(buf.getvalue()), pickle_module=pickle, weights_only=True)
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(pickle.UnpicklingError, match="Unsupported class"):
        td.load(io.BytesIO(buf.getvalue()))


# ------------------------------------------------------------------ the format, corrupt and legacy files

def test_archive_layout():
    a = td.arange(5, dtype=td.float32)
    buf = io.BytesIO()
    td.save({"a": a, "b": td.zeros(3, dtype=td.int64)}, buf)
    raw = buf.getvalue()
    z = zipfile.ZipFile(io.BytesIO(raw))
    assert z.namelist() == ["archive/data.pkl", "archive/data/0", "archive/data/1", "archive/version"]
    assert z.read("archive/version") == b"3\n"
    assert np.frombuffer(z.read("archive/data/0"), "<f4").tolist() == [0, 1, 2, 3, 4]
    for info in z.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        if "/data/" in info.filename:  # data aligned to 64 bytes, as torch writes it
            start = info.header_offset + 30 + len(info.filename) + len(info.extra)
            assert start % 64 == 0 and raw[start:start + 4] == z.read(info.filename)[:4]
    pkl = z.read("archive/data.pkl")
    assert pkl[:2] == b"\x80\x02"
    globals_ = [arg for op, arg, _ in pickletools.genops(pkl) if op.name == "GLOBAL"]
    assert "torch._utils _rebuild_tensor_v2" in globals_ and "torch FloatStorage" in globals_ and \
        "torch LongStorage" in globals_ and "collections OrderedDict" in globals_
    buf2 = io.BytesIO()
    td.save({"a": a, "b": td.zeros(3, dtype=td.int64)}, buf2)
    assert buf2.getvalue() == raw  # deterministic bytes


def test_legacy_and_unsupported_save_options():
    buf = io.BytesIO()
    torch.save(torch.ones(2), buf, _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="legacy \\(non-zip\\) format"):
        td.load(io.BytesIO(buf.getvalue()))
    with pytest.raises(NotImplementedError, match="zip format"):
        td.save(td.ones(1), io.BytesIO(), _use_new_zipfile_serialization=False)
    with pytest.raises(NotImplementedError, match="pickle_module"):
        td.save(td.ones(1), io.BytesIO(), pickle_module=json)


def _both_raise(raw, exc=RuntimeError):
    with pytest.raises(exc) as want:
        torch.load(io.BytesIO(raw))
    with pytest.raises(exc) as got:
        td.load(io.BytesIO(raw))
    return str(got.value), str(want.value)


def test_corrupt_files():
    good = io.BytesIO()
    td.save([td.arange(4)], good)
    good = good.getvalue()
    got, want = _both_raise(good[:-30])
    assert got == "PytorchStreamReader failed reading zip archive: failed finding central directory" and \
        want.startswith(got)
    got, want = _both_raise(b"", EOFError)
    assert got == want == "Ran out of input"
    with pytest.raises(RuntimeError, match="Invalid magic number; corrupt file"):
        td.load(io.BytesIO(pickle.dumps(12345)))
    no_pkl = io.BytesIO()
    with zipfile.ZipFile(no_pkl, "w") as z:
        z.writestr("archive/version", b"3\n")
    got, want = _both_raise(no_pkl.getvalue())
    assert got == "PytorchStreamReader failed locating file data.pkl: file not found" and want.startswith(got)
    got, want = _both_raise(_torch_archive([], {}, version=b"99\n"))
    assert got.startswith("Attempted to read a PyTorch file with version 99, but the maximum supported version "
                          "for reading is 10.") and "Attempted to read a PyTorch file with version 99" in want


def test_corrupt_storages():
    short = _torch_archive([_TRef("0", 0, (3,), (1,))], {"0": (torch.FloatStorage, "cpu", _f32([1, 2]), 3)})
    with pytest.raises(RuntimeError, match="data/0 holds 8 bytes, but its storage is 3 elements"):
        td.load(io.BytesIO(short))
    outside = _torch_archive([_TRef("0", 2, (3,), (1,))], {"0": (torch.FloatStorage, "cpu", _f32([1, 2, 3]), 3)})
    with pytest.raises(RuntimeError, match="reaches past its storage of 3 elements"):
        td.load(io.BytesIO(outside))
    missing = _torch_archive([_TRef("7", 0, (1,), (1,))], {"7": (torch.FloatStorage, "cpu", _f32([1]), 1)},
                             skip=("7",))
    with pytest.raises(RuntimeError, match="failed locating file data/7"):
        td.load(io.BytesIO(missing))
    negative = _torch_archive([_TRef("0", 0, (2,), (-1,))], {"0": (torch.FloatStorage, "cpu", _f32([1, 2]), 2)})
    with pytest.raises(RuntimeError, match="invalid view"):
        td.load(io.BytesIO(negative))


def test_archive_variants():
    """Another archive name, a big-endian byteorder record (torch 2.x writes one), an
    UntypedStorage, torch.cuda storage types, a TorchScript archive, an unknown global."""
    ok = _torch_archive([_TRef("0", 1, (2,), (1,))], {"0": (torch.DoubleStorage, "cpu",
                                                           np.asarray([1, 2, 3], "<f8").tobytes(), 3)},
                        prefix="my_model")
    assert td.load(io.BytesIO(ok))[0].tolist() == [2, 3] and torch.load(io.BytesIO(ok))[0].tolist() == [2, 3]
    big = _torch_archive([_TRef("0", 0, (3,), (1,))], {"0": (torch.IntStorage, "cpu",
                                                            np.asarray([1, -2, 300], ">i4").tobytes(), 3)},
                         extra={"byteorder": b"big"})
    assert td.load(io.BytesIO(big))[0].tolist() == [1, -2, 300]
    bigc = _torch_archive([_TRef("0", 0, (1,), (1,))], {"0": (torch.ComplexDoubleStorage, "cpu",
                                                             np.asarray([1.5 - 2j], ">c16").tobytes(), 1)},
                          extra={"byteorder": b"big"})
    assert td.load(io.BytesIO(bigc))[0].tolist() == [1.5 - 2j]
    cuda_typed = _torch_archive([_TRef("0", 0, (1,), (1,))], {"0": (torch.cuda.FloatStorage, "cpu", _f32([4]), 1)})
    assert td.load(io.BytesIO(cuda_typed))[0].tolist() == [4.0]
    script = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.ReLU()), script)
    with pytest.raises(RuntimeError, match="TorchScript"):
        td.load(io.BytesIO(script.getvalue()))
    unknown = io.BytesIO()
    with zipfile.ZipFile(unknown, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02ctorch.no_such_module\nThing\nq\x00.")
        z.writestr("archive/version", b"3\n")
    with pytest.raises(pickle.UnpicklingError, match="torch.no_such_module.Thing, which tensord does not have"):
        td.load(io.BytesIO(unknown.getvalue()))


# ------------------------------------------------------------------ safetensors

ST_CODES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64",
            "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL", "complex64": "C64"}


def st_file(header, data, pad=True):
    """A safetensors file by hand (the spec: u64 LE header length, JSON header, data)."""
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def test_safetensors_roundtrip(tmp_path):
    tensors = {n: td_tensor(np_data(n, (2, 3), i), n) for i, n in enumerate(ST_CODES)}
    tensors["view"] = tensors["float32"].t()
    tensors["empty"] = td.zeros(0, 4)
    path = tmp_path / "m.safetensors"
    td.serialization.save_safetensors(tensors, path, metadata={"format": "pt", "step": "7"})
    got = td.serialization.load_safetensors(path)
    assert list(got) == sorted(tensors)
    for k, t in tensors.items():
        assert_tensor_equal(got[k], t)
    assert td.serialization.read_safetensors_metadata(str(path)) == {"format": "pt", "step": "7"}
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert n % 8 == 0 and header["__metadata__"] == {"format": "pt", "step": "7"}
    order = sorted((v["data_offsets"], k) for k, v in header.items() if k != "__metadata__")
    sizes = [np.dtype(ST_NP.get(header[k]["dtype"], "u2")).itemsize for _, k in order]
    assert sizes == sorted(sizes, reverse=True)  # largest elements first: every tensor aligned
    assert header["float32"] == {"dtype": "F32", "shape": [2, 3], "data_offsets": header["float32"]["data_offsets"]}
    f32 = header["view"]["data_offsets"]
    np.testing.assert_array_equal(np.frombuffer(raw[8 + n + f32[0]:8 + n + f32[1]], "<f4").reshape(3, 2),
                                  values(tensors["view"]))
    assert td.serialization.read_safetensors_metadata(st_file({}, b"")) is None


ST_NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1",
         "BOOL": "?", "C64": "<c8"}


def test_safetensors_hand_built():
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    b = np.array([[1, -2]], dtype="<i8")
    bf = np.array([1.5, -2.0], "<f4").view("<u4") >> 16  # bfloat16 bits of exactly representable values
    data = b.tobytes() + a.tobytes() + bf.astype("<u2").tobytes()
    header = {"b": {"dtype": "I64", "shape": [1, 2], "data_offsets": [0, 16]},
              "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [16, 40]},
              "h": {"dtype": "BF16", "shape": [2], "data_offsets": [40, 44]},
              "s": {"dtype": "F32", "shape": [], "data_offsets": [44, 44 + 4]}}
    got = td.serialization.load_safetensors(st_file(header, data + np.float32(9).tobytes(), pad=False))
    np.testing.assert_array_equal(got["a"].numpy(), a)
    np.testing.assert_array_equal(got["b"].numpy(), b)
    assert got["h"].dtype is td.bfloat16 and got["h"].float().tolist() == [1.5, -2.0]
    assert got["s"].shape == () and got["s"].item() == 9.0
    assert list(got) == ["a", "b", "h", "s"]


def _f4(n, begin=0, shape=None):
    return {"dtype": "F32", "shape": [n] if shape is None else shape, "data_offsets": [begin, begin + 4 * n]}


ST_BAD = [
    ("short", b"\x01\x02", "file too short"),
    ("header_past_end", struct.pack("<Q", 100) + b"{}", "header length 100 exceeds the file"),
    ("header_huge", struct.pack("<Q", 200_000_000) + b"{}", "header too large"),
    ("not_object", st_file(b"[1, 2]", b""), "does not start with '{'"),
    ("bad_json", st_file(b"{\"a\": ", b""), "not valid JSON"),
    ("bad_utf8", st_file(b"{\"\xff\": 1}", b""), "not valid UTF-8"),
    ("duplicate", st_file(b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                          b'"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', bytes(4)), "duplicate key"),
    ("unknown_dtype", st_file({"a": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)),
     "unknown dtype 'F33'"),
    ("foreign_dtype", st_file({"a": {"dtype": "U16", "shape": [2], "data_offsets": [0, 4]}}, bytes(4)),
     "dtype U16 has no tensord dtype"),
    ("extra_key", st_file({"a": dict(_f4(1), extra=1)}, bytes(4)), "exactly the keys"),
    ("bad_shape", st_file({"a": _f4(1, shape=[-1])}, bytes(4)), "not a list of non-negative integers"),
    ("float_shape", st_file({"a": _f4(1, shape=[1.0])}, bytes(4)), "not a list of non-negative integers"),
    ("reversed_offsets", st_file({"a": {"dtype": "F32", "shape": [0], "data_offsets": [4, 0]}}, bytes(4)),
     "0 <= begin <= end"),
    ("size_mismatch", st_file({"a": _f4(2, shape=[3])}, bytes(8)), "span 8 bytes, but shape \\[3\\] of F32 needs 12"),
    ("overlap", st_file({"a": _f4(2), "b": _f4(2, begin=4)}, bytes(12)), "overlaps the previous tensor"),
    ("gap", st_file({"a": _f4(1), "b": _f4(1, begin=8)}, bytes(12)), "leaves a gap"),
    ("out_of_range", st_file({"a": _f4(4)}, bytes(8)), "need 16 data bytes but the file has 8"),
    ("leftover", st_file({"a": _f4(1)}, bytes(8)), "4 bytes that no tensor covers"),
    ("bad_metadata", st_file({"__metadata__": {"k": 1}}, b""), "__metadata__ must be an object of strings"),
    ("bad_bool", st_file({"a": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\x01\x07"),
     "bytes other than 0 and 1"),
]


@pytest.mark.parametrize("raw,msg", [c[1:] for c in ST_BAD], ids=[c[0] for c in ST_BAD])
def test_safetensors_rejects(raw, msg):
    with pytest.raises(ValueError, match="safetensors: .*" + msg):
        td.serialization.load_safetensors(raw)


def test_safetensors_save_errors(tmp_path):
    p = tmp_path / "x.safetensors"
    save = td.serialization.save_safetensors
    with pytest.raises(ValueError, match="complex128"):
        save({"c": td.zeros(1, dtype=td.complex128)}, p)
    with pytest.raises(ValueError, match="reserved"):
        save({"__metadata__": td.zeros(1)}, p)
    with pytest.raises(TypeError, match="metadata must be a dict of str -> str"):
        save({"a": td.zeros(1)}, p, metadata={"k": 1})
    with pytest.raises(TypeError, match="not a Tensor"):
        save({"a": [1, 2]}, p)
    with pytest.raises(TypeError, match="names must be str"):
        save({1: td.zeros(1)}, p)
    buf = io.BytesIO()
    save({"a": td.ones(2)}, buf)
    assert td.serialization.load_safetensors(buf.getvalue())["a"].tolist() == [1, 1]


def test_load_as_first_use(tmp_path):
    """load (and load_safetensors) connect to the daemon when nothing else has yet."""
    import subprocess
    import sys
    torch.save({"a": torch.arange(3)}, tmp_path / "x.pt")
    td.serialization.save_safetensors({"b": td.ones(2)}, tmp_path / "x.safetensors")
    code = ("import tensord; print(tensord.load(%r)['a'].tolist(), "
            "tensord.serialization.load_safetensors(%r)['b'].tolist())" % (str(tmp_path / "x.pt"),
                                                                         str(tmp_path / "x.safetensors")))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0, 1, 2] [1.0, 1.0]"
