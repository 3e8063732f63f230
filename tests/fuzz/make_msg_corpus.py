#!/usr/bin/python3
"""make_msg_corpus.py -- writes the seed corpora of fuzz_messages and fuzz_meta.

tests/fuzz/corpus_messages/: Session streams in fuzz_messages.c's layout (frames of a
2-byte length and a tensord.v1.ClientMsg, protobuf encoded by hand here so no protobuf
package is needed): an attach, attach carrying work, work after attach, a detach, a
second attach, a wrong wire version, plus KillSessionRequest / RevokeTokenRequest bytes.
Records come from make_corpus.py's SEEDS.

tests/fuzz/corpus_meta/: one op application each in fuzz_meta.c's layout: elementwise,
broadcasting, reductions, views, matmul, cat, conv, out= and in-place forms.
Run: /usr/bin/python3 tests/fuzz/make_msg_corpus.py
"""
import os
import struct

from make_corpus import OPS, SEEDS, F32, INT, rec

HERE = os.path.dirname(os.path.abspath(__file__))
WIRE_VERSION = 2


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field(num, wtype, body):
    key = varint(num << 3 | wtype)
    if wtype == 0:
        return key + varint(body)
    return key + varint(len(body)) + body


def attach(version=WIRE_VERSION, client=b"python pid 1", pid=1):
    return field(1, 0, version) + field(2, 2, client) + field(3, 0, pid)


def client_msg(seq, att=None, records=b"", payload=b"", sync=False, detach=False):
    m = field(1, 0, seq)
    if att is not None:
        m += field(2, 2, att)
    if records:
        m += field(3, 2, records)
    if payload:
        m += field(4, 2, payload)
    if sync:
        m += field(5, 0, 1)
    if detach:
        m += field(6, 0, 1)
    return m


def frames(*msgs):
    return b"".join(struct.pack("<H", len(m)) + m for m in msgs)


def message_seeds():
    seeds = {
        "attach_only": frames(client_msg(1, attach())),
        "attach_detach": frames(client_msg(1, attach()), client_msg(2, detach=True)),
        "attach_with_work": frames(client_msg(1, attach(), *SEEDS["add_views_read"], sync=True)),
        "no_attach": frames(client_msg(1, records=SEEDS["read_zero_bytes"][0])),
        "attach_twice": frames(client_msg(1, attach()), client_msg(2, attach())),
        "wrong_version": frames(client_msg(1, attach(version=1))),
        "kill_request": frames(field(1, 0, 7)),
        "revoke_request": frames(field(1, 2, bytes(range(16)))),
        "revoke_short": frames(field(1, 2, b"abc")),
    }
    for name in ("conv_pool", "full_release_empty_read", "device_ops", "bool_upload"):
        records, payload = SEEDS[name]
        seeds["stream_" + name] = frames(client_msg(1, attach()), client_msg(2, records=records, payload=payload),
                                         client_msg(3, sync=True), client_msg(4, detach=True))
    return seeds


FLOATS = 0  # default float index (float32)


def meta(dtype=F32, sizes=(), strides=None, device=0, offset=0, slack=0):
    """fuzz_meta's encoding of an input: strides 0 = contiguous for that dim."""
    strides = strides or [0] * len(sizes)
    return bytes([dtype, len(sizes), device, offset, slack, *sizes, *strides])


def attrs(*vals):
    out = bytearray()
    for v in vals:
        if -32 <= v < 96:
            out.append(v + 32)
        else:
            out += b"\x80" + struct.pack("<q", v)
    return bytes(out)


def app(op, ins=(), at=(), flags=0, device=0):
    return struct.pack("<HBBBB", OPS[op], flags, len(ins), FLOATS, device) + b"".join(ins) + attrs(*at)


def meta_seeds():
    a23 = meta(sizes=(2, 3))
    b3 = meta(sizes=(3,))
    return {
        "add": app("ADD", [a23, b3], [0, 0]),
        "mul_scalar": app("MUL", [a23], [INT, 3]),
        "sum_dim": app("SUM", [a23], [1, 0, -1, 0]),
        "transpose": app("TRANSPOSE", [a23], [0, 1]),
        "slice": app("SLICE", [a23], [1, 0, 3, 2]),
        "view": app("VIEW", [a23], [2, 3, 2]),
        "as_strided": app("AS_STRIDED", [a23], [2, 0, 3, 2, 1, 1]),
        "matmul": app("MATMUL", [a23, meta(sizes=(3, 4))]),
        "cat": app("CAT", [a23, a23], [0]),
        "empty": app("EMPTY", [], [F32, 2, 4, 5]),
        "conv": app("CONV", [meta(sizes=(1, 1, 3, 3)), meta(sizes=(1, 1, 2, 2))], [1, 2, 2, 2, 1, 1, 1, 0, 1, 2]),
        "add_out": app("ADD", [a23, a23, a23], [0, 0], flags=4),
        "add_inplace": app("ADD", [a23, a23], [0, 0], flags=1),
        "strided_input": app("EXP", [meta(sizes=(2, 3), strides=(1, 2), slack=3)]),
        "device_mix": app("ADD", [meta(sizes=(2,), device=1), meta(sizes=(), device=0)], [0, 0]),
    }


def write(dirname, seeds):
    out = os.path.join(HERE, dirname)
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(seeds), out))


if __name__ == "__main__":
    write("corpus_messages", message_seeds())
    write("corpus_meta", meta_seeds())
