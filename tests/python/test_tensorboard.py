"""tensord.utils.tensorboard.SummaryWriter: the event files it writes, read back by an
independent decoder — TFRecord frames checked with CRC-32C (the algorithm checked on its
standard test vector) and the Event protos parsed by the protobuf library from a schema
with TensorFlow's field numbers (event.proto, summary.proto, tensor.proto)."""
import glob
import os
import struct

import numpy as np
import pytest

import tensord as td
from tensord.utils.tensorboard import SummaryWriter
from tensord.utils.tensorboard.summary import crc32c

from google.protobuf import descriptor_pb2  # (python3-protobuf: a dependency of python3-grpcio)


def _messages():
    """Event and its parts, from TensorFlow's field numbers, as protobuf message classes."""
    from google.protobuf import descriptor_pool, message_factory
    F = descriptor_pb2.FieldDescriptorProto
    f = descriptor_pb2.FileDescriptorProto(name="tb_check.proto", package="tbcheck", syntax="proto3")

    def msg(name, fields):
        m = f.message_type.add(name=name)
        for fname, num, ftype, label, tname in fields:
            fd = m.field.add(name=fname, number=num, type=ftype, label=label)
            if tname:
                fd.type_name = ".tbcheck." + tname
    OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    msg("PluginData", [("plugin_name", 1, F.TYPE_STRING, OPT, None), ("content", 2, F.TYPE_BYTES, OPT, None)])
    msg("SummaryMetadata", [("plugin_data", 1, F.TYPE_MESSAGE, OPT, "PluginData")])
    msg("Dim", [("size", 1, F.TYPE_INT64, OPT, None)])
    msg("TensorShape", [("dim", 2, F.TYPE_MESSAGE, REP, "Dim")])
    msg("Tensor", [("dtype", 1, F.TYPE_INT32, OPT, None), ("tensor_shape", 2, F.TYPE_MESSAGE, OPT, "TensorShape"),
                   ("string_val", 8, F.TYPE_BYTES, REP, None)])
    msg("Histogram", [("min", 1, F.TYPE_DOUBLE, OPT, None), ("max", 2, F.TYPE_DOUBLE, OPT, None),
                      ("num", 3, F.TYPE_DOUBLE, OPT, None), ("sum", 4, F.TYPE_DOUBLE, OPT, None),
                      ("sum_squares", 5, F.TYPE_DOUBLE, OPT, None), ("bucket_limit", 6, F.TYPE_DOUBLE, REP, None),
                      ("bucket", 7, F.TYPE_DOUBLE, REP, None)])
    msg("Value", [("tag", 1, F.TYPE_STRING, OPT, None), ("simple_value", 2, F.TYPE_FLOAT, OPT, None),
                  ("histo", 5, F.TYPE_MESSAGE, OPT, "Histogram"), ("tensor", 8, F.TYPE_MESSAGE, OPT, "Tensor"),
                  ("metadata", 9, F.TYPE_MESSAGE, OPT, "SummaryMetadata")])
    msg("Summary", [("value", 1, F.TYPE_MESSAGE, REP, "Value")])
    msg("Event", [("wall_time", 1, F.TYPE_DOUBLE, OPT, None), ("step", 2, F.TYPE_INT64, OPT, None),
                  ("file_version", 3, F.TYPE_STRING, OPT, None), ("summary", 5, F.TYPE_MESSAGE, OPT, "Summary")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    desc = pool.FindMessageTypeByName("tbcheck.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def _masked(c):
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _events(path):
    Event = _messages()
    data, at, out = open(path, "rb").read(), 0, []
    while at < len(data):
        (n,) = struct.unpack_from("<Q", data, at)
        assert struct.unpack_from("<I", data, at + 8)[0] == _masked(crc32c(data[at:at + 8]))
        body = data[at + 12:at + 12 + n]
        assert struct.unpack_from("<I", data, at + 12 + n)[0] == _masked(crc32c(body))
        out.append(Event.FromString(body))
        at += 16 + n
    return out


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720)
    assert crc32c(b"") == 0


def test_scalars_histograms_and_text_read_back(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.standard_normal(1000)
    with SummaryWriter(log_dir=str(tmp_path / "run"), max_queue=2) as w:
        assert w.get_logdir() == str(tmp_path / "run")
        for step in range(3):
            w.add_scalar("loss/train", td.tensor(1.5 - step), global_step=step, walltime=100.0 + step)
        w.add_histogram("weights", td.tensor(values), global_step=7)
        w.add_histogram("counts", values, global_step=8, bins=10)
        w.add_text("notes", "hello **tensorboard**", global_step=1)
        w.add_scalars("lr", {"a": 0.1, "b": 0.2}, global_step=4)
        with pytest.raises(NotImplementedError, match="add_image is not supported"):
            w.add_image("img", td.zeros(3, 2, 2))
    files = glob.glob(str(tmp_path / "run" / "events.out.tfevents.*"))
    assert len(files) == 1
    ev = _events(files[0])
    assert ev[0].file_version == "brain.Event:2"
    scalars = [(e.step, e.wall_time, e.summary.value[0].tag, e.summary.value[0].simple_value) for e in ev[1:4]]
    assert scalars == [(0, 100.0, "loss/train", 1.5), (1, 101.0, "loss/train", 0.5), (2, 102.0, "loss/train", -0.5)]
    h = ev[4].summary.value[0].histo
    assert ev[4].step == 7 and h.num == 1000 and sum(h.bucket) == 1000
    assert h.min == pytest.approx(values.min()) and h.max == pytest.approx(values.max())
    assert h.sum == pytest.approx(values.sum()) and h.sum_squares == pytest.approx((values ** 2).sum())
    assert list(h.bucket_limit) == sorted(h.bucket_limit) and h.bucket_limit[-1] >= values.max()
    h10 = ev[5].summary.value[0].histo
    want, _ = np.histogram(values, bins=10)
    assert list(h10.bucket) == want.astype(float).tolist()
    t = ev[6].summary.value[0]
    assert t.tag == "notes/text_summary" and t.metadata.plugin_data.plugin_name == "text"
    assert list(t.tensor.string_val) == [b"hello **tensorboard**"] and t.tensor.dtype == 7
    for sub, value in (("lr_a", 0.1), ("lr_b", 0.2)):
        (path,) = glob.glob(str(tmp_path / "run" / sub / "events.out.tfevents.*"))
        e = _events(path)[1]
        assert e.step == 4 and e.summary.value[0].tag == "lr"
        assert e.summary.value[0].simple_value == pytest.approx(value)


def test_default_log_dir_and_torch_spelling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp")
    assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_exp")
    w.close()
    assert glob.glob(os.path.join(w.get_logdir(), "events.out.tfevents.*"))
