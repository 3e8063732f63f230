"""Crafted messages on a raw gRPC stream get an error code, never a crash; the daemon keeps
serving other clients.  Protobuf fields are encoded by hand (no protoc)."""
import queue
import struct
import subprocess
import sys
import os

import grpc
import pytest

import tensord._C as _C
from tensord import _op_numbers as O

METHOD = "/tensord.v1.Tensord/Session"


# ---- minimal protobuf: varints and length-delimited fields
def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    return varint((num << 3) | 2) + varint(len(b)) + b


def decode(buf):
    """{field number: value} (varints as signed 64-bit ints, LEN fields as bytes)."""
    out, i = {}, 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(buf, i)
            out[num] = v - (1 << 64) if v >= 1 << 63 else v
        elif wt == 2:
            n, i = _read_varint(buf, i)
            out[num] = buf[i:i + n]
            i += n
        elif wt == 1:
            out[num] = buf[i:i + 8]
            i += 8
        elif wt == 5:
            out[num] = buf[i:i + 4]
            i += 4
        else:
            raise ValueError("bad wire type %d" % wt)
    return out


def _read_varint(buf, i):
    shift = v = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


ATTACH = field_varint(1, 1) + b"\x12\x02\x08\x02"  # seq 1, attach{wire_version=2}


def err_code(r):
    """A reply's error: the message's own code, else its first failed record's code."""
    if r.get(3, 0):
        return r[3]
    return decode(r[10]).get(2, 0) if 10 in r else 0


def msg(seq, records=b"", payload=b"", sync=True):
    m = field_varint(1, seq) + field_bytes(3, records)
    if payload:
        m += field_bytes(4, payload)
    if sync:
        m += field_varint(5, 1)
    return m


def record(op, outs=(), ins=(), attrs=(), flags=0, words=None, n_attr=None):
    body = struct.pack("<%dQ" % (len(outs) + len(ins)), *(list(outs) + list(ins)))
    body += struct.pack("<%dq" % len(attrs), *attrs)
    w = 1 + len(body) // 8 if words is None else words
    na = len(attrs) if n_attr is None else n_attr
    return struct.pack("<HHBBBB", w, op, len(outs), len(ins), na, flags) + body


class Stream:
    """One Session call driven message by message."""

    def __init__(self, address):
        self.ch = grpc.insecure_channel(address)
        self.q = queue.Queue()
        call = self.ch.stream_stream(METHOD, request_serializer=None, response_deserializer=None)
        self.replies = call(iter(self.q.get, None), timeout=30)

    def send(self, m):
        self.q.put(m)

    def reply(self):
        """The next ServerMsg as a dict, or None when the call ended with a status instead."""
        try:
            return decode(next(self.replies))
        except (StopIteration, grpc.RpcError):
            return None

    def close(self):
        self.q.put(None)
        self.ch.close()


def attached(address):
    s = Stream(address)
    s.send(ATTACH)
    r = s.reply()
    assert r is not None and r.get(2, 0) > 0, r  # session id
    return s


EMPTY4 = record(O.EMPTY, outs=(1,), attrs=(0, 1, 4))  # float32 [4] as handle 1
IMG = record(O.EMPTY, outs=(1,), attrs=(0, 4, 1, 1, 3, 3))  # float32 (1, 1, 3, 3) as handle 1
WGT = record(O.EMPTY, outs=(2,), attrs=(0, 4, 1, 1, 2, 2))  # float32 (1, 1, 2, 2) as handle 2

BAD_RECORDS = {
    "truncated_header": b"\x01\x00\x05",
    "header_only_words_zero": struct.pack("<HHBBBB", 0, O.ADD, 0, 0, 0, 0),
    "huge_word_count": struct.pack("<HHBBBB", 1000, O.ADD, 1, 2, 0, 0) + b"\0" * 8,
    "max_word_count": struct.pack("<HHBBBB", 0xFFFF, O.EMPTY, 1, 0, 2, 0) + b"\0" * 24,
    "counts_exceed_words": record(O.ADD, outs=(5,), ins=(1, 1), attrs=(0, 0), words=2),
    "n_attr_exceeds_words": record(O.EMPTY, outs=(5,), attrs=(0, 0), n_attr=200),
    "unknown_op": record(999, outs=(5,), attrs=(0,)),
    "op_none": record(O.NONE),
    "unknown_handles": record(O.ADD, outs=(5,), ins=(12345, 12346), attrs=(0, 0)),
    "handle_zero": record(O.NEG, outs=(0,), ins=(0,)),
    "as_strided_oob": EMPTY4 + record(O.AS_STRIDED, outs=(2,), ins=(1,), attrs=(1, 0, 100, 1)),
    "as_strided_negative": EMPTY4 + record(O.AS_STRIDED, outs=(2,), ins=(1,), attrs=(1, -5, 2, 1)),
    "as_strided_huge_stride": EMPTY4 + record(O.AS_STRIDED, outs=(2,), ins=(1,), attrs=(2, 0, 2, 2, 1 << 62, 1)),
    "empty_2_pow_41": record(O.EMPTY, outs=(1,), attrs=(0, 3, 1 << 20, 1 << 20, 2)),
    "empty_overflow": record(O.EMPTY, outs=(1,), attrs=(0, 2, 1 << 62, 1 << 62)),
    "empty_negative": record(O.EMPTY, outs=(1,), attrs=(0, 1, -1)),
    "empty_bad_dtype": record(O.EMPTY, outs=(1,), attrs=(42, 1, 4)),
    "empty_many_dims": record(O.EMPTY, outs=(1,), attrs=(0, 40) + (1,) * 40),
    "read_beyond": EMPTY4 + record(O.READ, ins=(1,), attrs=(0, 1000)),
    "read_negative": EMPTY4 + record(O.READ, ins=(1,), attrs=(-8, 8)),
    "upload_beyond_payload": EMPTY4 + record(O.UPLOAD, ins=(1,), attrs=(0, 16, 1 << 40)),
    "duplicate_output": EMPTY4 + EMPTY4,
    "view_bad_ndim": EMPTY4 + record(O.VIEW, outs=(2,), ins=(1,), attrs=(-3,)),
    "cat_no_inputs": record(O.CAT, outs=(2,), attrs=(0,)),
    "binary_bad_scalar_kind": EMPTY4 + record(O.ADD, outs=(2,), ins=(1,), attrs=(9, 0)),
    "reduce_bad_mask": EMPTY4 + record(O.SUM, outs=(2,), ins=(1,), attrs=(1 << 40, 0, -1, 0)),
    "inplace_no_variant": EMPTY4 + record(O.MATMUL, ins=(1, 1), flags=1),
    # the protocol fuzzer's cases (size/stride/offset arithmetic that used to overflow)
    "read_zero_bytes": EMPTY4 + record(O.READ, ins=(1,), attrs=(0, 0)),
    "as_strided_max_offset": EMPTY4 + record(O.AS_STRIDED, outs=(2,), ins=(1,), attrs=(1, 2**63 - 1, 4, 1)),
    "as_strided_0d_huge_offset": EMPTY4 + record(O.AS_STRIDED, outs=(2,), ins=(1,), attrs=(0, 2**62)),
    "empty_view_huge_stride_then_mul": EMPTY4 + record(O.AS_STRIDED, outs=(2,), ins=(1,), attrs=(1, 0, 0, 2**62))
    + record(O.MUL, outs=(3,), ins=(2,), attrs=(1, 3)),
    "view_of_empty_huge": record(O.EMPTY, outs=(1,), attrs=(0, 1, 0))
    + record(O.VIEW, outs=(2,), ins=(1,), attrs=(3, 0, 2**40, 2**40)),
    # DIAGONAL/UNFOLD with dims, sizes and steps out of range
    "diagonal_bad_dims": EMPTY4 + record(O.DIAGONAL, outs=(3,), ins=(1,), attrs=(0, 0, 5)),
    "diagonal_same_dims": EMPTY4 + record(O.DIAGONAL, outs=(3,), ins=(1,), attrs=(0, 0, 0)),
    "diagonal_words_missing": EMPTY4 + record(O.DIAGONAL, outs=(3,), ins=(1,), attrs=(0,)),
    "unfold_huge_size": EMPTY4 + record(O.UNFOLD, outs=(2,), ins=(1,), attrs=(0, 2**62, 1)),
    "unfold_negative": EMPTY4 + record(O.UNFOLD, outs=(2,), ins=(1,), attrs=(-2**63, -5, -1)),
    "slice_offset_overflow_empty": record(O.EMPTY, outs=(1,), attrs=(0, 1, 0))
    + record(O.AS_STRIDED, outs=(2,), ins=(1,), attrs=(2, 0, 0, 2**40, 1, 2**40))
    + record(O.SLICE, outs=(3,), ins=(2,), attrs=(1, 2**40, 2**62, 1)),
    # convolution and pooling (CONV family): hostile geometry, shapes that disagree, indices
    # outside their plane (the kernel checks each before following it)
    "conv_huge_stride": IMG + WGT + record(O.CONV, outs=(3,), ins=(1, 2), attrs=(1, 2, 2, 2, 1 << 62, 1, 0, 0, 1, 1)),
    "conv_huge_dilation": IMG + WGT + record(O.CONV, outs=(3,), ins=(1, 2),
                                             attrs=(1, 2, 2, 2, 1, 1, 0, 0, 1 << 40, 1 << 40)),
    "conv_uneven_lists": IMG + WGT + record(O.CONV, outs=(3,), ins=(1, 2), attrs=(1, 2, 1, 2, 1, 1, 0, 1, 1)),
    "conv_words_missing": IMG + WGT + record(O.CONV, outs=(3,), ins=(1, 2), attrs=(1, 2, 2, 2, 1, 1, 0, 0, 1)),
    "conv_groups_huge": IMG + WGT + record(O.CONV, outs=(3,), ins=(1, 2), attrs=(1 << 62, 2, 2, 2, 1, 1, 0, 0, 1, 1)),
    "conv_backward_input_wrong_grad": IMG + WGT + record(O.CONV_BACKWARD_INPUT, outs=(3,), ins=(1, 2, 1),
                                                         attrs=(1, 2, 2, 2, 1, 1, 0, 0, 1, 1)),
    "max_pool_huge_kernel": IMG + record(O.MAX_POOL, outs=(3, 4), ins=(1,),
                                         attrs=(0, 2, 2, 2, 2, 1 << 40, 1 << 40, 1, 1, 0, 0, 1 << 40, 1 << 40)),
    "max_pool_backward_bad_index": IMG + record(O.FULL, outs=(5,), attrs=(0, 4, 1, 1, 2, 2, 1, 1))
    + record(O.FULL, outs=(6,), attrs=(4, 4, 1, 1, 2, 2, 1, 100))
    + record(O.MAX_POOL_BACKWARD, outs=(7,), ins=(5, 1, 6)),
    "adaptive_pool_huge_output": IMG + record(O.ADAPTIVE_AVG_POOL, outs=(3,), ins=(1,), attrs=(2, 1 << 30, 1 << 30)),
}


def _serves_normal_client(address):
    env = dict(os.environ, TENSORD_ADDRESS=address)
    out = subprocess.run([sys.executable, "-c", "import tensord as t; print((t.ones(3) + 2).sum().item())"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "9.0"


@pytest.fixture(scope="module")
def bad_daemon(tmp_path_factory):
    from conftest import start_daemon, stop_daemon
    d = str(tmp_path_factory.mktemp("bad"))
    proc, addr, errp = start_daemon(d)
    yield addr
    rc, err = stop_daemon(proc, errp)
    assert "ERROR: AddressSanitizer" not in err, err
    assert "runtime error:" not in err, err
    assert rc == 0, "tensord exited with %r; stderr:\n%s" % (rc, err)


@pytest.mark.parametrize("name", list(BAD_RECORDS))
def test_malformed_records(bad_daemon, name):
    before = _C.stats(bad_daemon)
    s = attached(bad_daemon)
    try:
        s.send(msg(2, BAD_RECORDS[name]))
        r = s.reply()
        assert r is not None, "no reply to a synced message"
        assert err_code(r) != 0, "code 0 for %s: %r" % (name, r)
        assert r.get(1) == 2
    finally:
        s.close()
    after = _C.stats(bad_daemon)
    assert after["errors"] + after["bad_messages"] > before["errors"] + before["bad_messages"]


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff\xff", b"\x0a\x05abc", b"\x12\x02\x08\x07",
                                     field_varint(1, 1) + field_bytes(3, b"x" * 8), b"\x12\x80"], ids=repr)
def test_garbage_first_message(bad_daemon, garbage):
    s = Stream(bad_daemon)
    try:
        s.send(garbage)
        r = s.reply()
        # either an error reply (code != 0) or the call ends with an error status
        assert r is None or r.get(3, 0) != 0 or r.get(2, 0) == 0, r
    finally:
        s.close()


def test_garbage_after_attach(bad_daemon):
    s = attached(bad_daemon)
    try:
        s.send(b"\xff" * 7)
        r = s.reply()
        assert r is None or err_code(r) != 0, r
    finally:
        s.close()


def test_valid_read_then_daemon_still_serves(bad_daemon):
    s = attached(bad_daemon)
    try:
        full = record(O.FULL, outs=(1,), attrs=(5, 1, 3) + tuple(_C.scalar(7)))  # int32 [3] = 7
        s.send(msg(2, full + record(O.READ, ins=(1,), attrs=(0, 12))))
        r = s.reply()
        assert r is not None and err_code(r) == 0, r
        assert struct.unpack("<3i", r[6]) == (7, 7, 7)
        s.send(msg(3, record(O.READ, ins=(1,), attrs=(4, 100))))
        r = s.reply()
        assert r is not None and err_code(r) != 0
    finally:
        s.close()
    _serves_normal_client(bad_daemon)
    for _ in range(50):
        st = _C.stats(bad_daemon)
        if st["sessions"] == 0:
            break
        import time
        time.sleep(0.1)
    assert _C.stats(bad_daemon)["sessions"] == 0


# ---- crafted records that are valid: answered as PyTorch would, never a sanitizer report

def _one_message(address, records, payload=b""):
    """Runs one synced message in a fresh session; returns the reply dict."""
    s = attached(address)
    try:
        s.send(msg(2, records, payload))
        r = s.reply()
        assert r is not None, "no reply to a synced message"
        return r
    finally:
        s.close()


def test_slice_huge_step_is_one_row(bad_daemon):
    # x[::2**62] of a 2x4 tensor is its first row (the stride * step product used to overflow)
    data = struct.pack("<8f", *range(8))
    recs = (record(O.EMPTY, outs=(1,), attrs=(0, 2, 2, 4)) + record(O.UPLOAD, ins=(1,), attrs=(0, 32, 0))
            + record(O.SLICE, outs=(2,), ins=(1,), attrs=(0, 0, 4, 2**62))
            + record(O.CLONE, outs=(3,), ins=(2,)) + record(O.READ, ins=(3,), attrs=(0, 16)))
    r = _one_message(bad_daemon, recs, data)
    assert err_code(r) == 0, r
    assert struct.unpack("<4f", r[6]) == (0, 1, 2, 3)
    _serves_normal_client(bad_daemon)


def test_bool_upload_is_normalized(bad_daemon):
    # bytes 2 and 255 uploaded into a bool tensor read back as True (1): bool storage holds only 0/1
    recs = (record(O.EMPTY, outs=(1,), attrs=(9, 1, 4)) + record(O.UPLOAD, ins=(1,), attrs=(0, 4, 0))
            + record(O.EXP, outs=(2,), ins=(1,)) + record(O.READ, ins=(1,), attrs=(0, 4))
            + record(O.READ, ins=(2,), attrs=(0, 16)))
    r = _one_message(bad_daemon, recs, b"\x00\x01\x02\xff")
    assert err_code(r) == 0, r
    assert r[6][:4] == b"\x00\x01\x01\x01"
    e = 2.7182817459106445  # float32(e)
    assert struct.unpack("<4f", r[6][4:]) == (1.0, e, e, e)
    _serves_normal_client(bad_daemon)


def test_empty_bool_is_false(bad_daemon):
    recs = (record(O.EMPTY, outs=(1,), attrs=(9, 1, 64)) + record(O.EXP, outs=(2,), ins=(1,))
            + record(O.READ, ins=(1,), attrs=(0, 64)))
    r = _one_message(bad_daemon, recs)
    assert err_code(r) == 0, r
    assert r[6] == bytes(64)


def test_empty_never_shows_another_sessions_data(bad_daemon):
    # session A fills 1 MiB with 42.0 and frees it; session B's EMPTY of the same size (the
    # release build hands back the very block) reads zeros: no 42.0, no free-list pointer
    n = 1 << 18
    full = record(O.FULL, outs=(1,), attrs=(0, 1, n) + tuple(_C.scalar(42.0)))
    r = _one_message(bad_daemon, full + record(O.RELEASE, ins=(1,)))
    assert err_code(r) == 0, r
    chunk = 1 << 16
    recs = record(O.EMPTY, outs=(7,), attrs=(0, 1, n))
    recs += b"".join(record(O.READ, ins=(7,), attrs=(off, chunk)) for off in range(0, 4 * n, chunk))
    r = _one_message(bad_daemon, recs)
    assert err_code(r) == 0, r
    assert len(r[6]) == 4 * n
    assert r[6] == bytes(len(r[6]))
    _serves_normal_client(bad_daemon)
