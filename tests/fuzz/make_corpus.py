#!/usr/bin/python3
"""make_corpus.py -- writes the seed corpus of fuzz_records (tests/fuzz/corpus/).

Each seed is one client message in fuzz_records.c's input layout: a 2-byte payload
length, the payload, then op records (proto/td_record.h).  The seeds are the protocol
fuzzer's minimized cases (the byte-level cases of the "Execution you can trust" issue)
plus a few ordinary programs, so the fuzzer starts from deep paths.  Op numbers are
read from proto/ops.def (row order).  Run: /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = {}
with open(os.path.join(HERE, "..", "..", "proto", "ops.def")) as f:
    for line in f:
        m = re.match(r"\s*TD_OP\((\w+),", line)
        if m:
            OPS[m.group(1)] = len(OPS)

F32, BOOL, INT = 0, 9, 1  # enum td_dtype values used below; scalar kind INT = 1


def rec(op, outs=(), ins=(), attrs=(), flags=0):
    w = [h & (2**64 - 1) for h in (*outs, *ins, *attrs)]
    return struct.pack("<HHBBBB%dQ" % len(w), 1 + len(w), OPS[op], len(outs), len(ins), len(attrs), flags, *w)


def f64bits(v):
    return struct.unpack("<q", struct.pack("<d", v))[0]


SEEDS = {
    "read_zero_bytes": (rec("EMPTY", [1], attrs=[F32, 1, 4]) + rec("READ", ins=[1], attrs=[0, 0]), b""),
    "slice_huge_step": (rec("EMPTY", [1], attrs=[F32, 2, 4, 2]) + rec("SLICE", [2], [1], [0, 0, 4, 2**62]), b""),
    "bool_upload": (rec("EMPTY", [1], attrs=[BOOL, 1, 4]) + rec("UPLOAD", ins=[1], attrs=[0, 4, 0])
                    + rec("EXP", [2], [1]), b"\x00\x01\x02\xff"),
    "bool_empty": (rec("EMPTY", [1], attrs=[BOOL, 1, 4]) + rec("EXP", [2], [1]), b""),
    "as_strided_offset": (rec("EMPTY", [1], attrs=[F32, 1, 4])
                          + rec("AS_STRIDED", [2], [1], [1, 2**63 - 1, 4, 1]), b""),
    "empty_view_stride": (rec("EMPTY", [1], attrs=[F32, 1, 4]) + rec("AS_STRIDED", [2], [1], [1, 0, 0, 2**62])
                          + rec("MUL", [3], [2], [INT, 3]), b""),
    "view_of_empty": (rec("EMPTY", [1], attrs=[F32, 1, 0]) + rec("VIEW", [2], [1], [3, 0, 2**40, 2**40]), b""),
    "full_release_empty_read": (rec("FULL", [1], attrs=[F32, 1, 64, 2, f64bits(42.0)]) + rec("RELEASE", ins=[1])
                                + rec("EMPTY", [7], attrs=[F32, 1, 64]) + rec("READ", ins=[7], attrs=[0, 64]), b""),
    "add_views_read": (rec("EMPTY", [1], attrs=[F32, 2, 2, 3]) + rec("UPLOAD", ins=[1], attrs=[0, 24, 0])
                       + rec("TRANSPOSE", [2], [1], [0, 1]) + rec("ADD", [3], [1, 1], [0, 0])
                       + rec("SUM", [4], [2], [1, 0, -1, 0]) + rec("READ", ins=[3], attrs=[0, 24]),
                       struct.pack("<6f", 1, 2, 3, 4, 5, 6)),
    # convolution and pooling forward and backward on a (1, 1, 3, 3) image
    "conv_pool": (rec("EMPTY", [1], attrs=[F32, 4, 1, 1, 3, 3]) + rec("EMPTY", [2], attrs=[F32, 4, 1, 1, 2, 2])
                  + rec("CONV", [3], [1, 2], [1, 2, 2, 2, 1, 1, 1, 0, 1, 2])
                  + rec("CONV_BACKWARD_INPUT", [4], [3, 2, 1], [1, 2, 2, 2, 1, 1, 1, 0, 1, 2])
                  + rec("CONV_BACKWARD_WEIGHT", [5], [3, 1, 2], [1, 2, 2, 2, 1, 1, 1, 0, 1, 2])
                  + rec("MAX_POOL", [6, 7], [1], [1, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1])
                  + rec("MAX_POOL_BACKWARD", [8], [6, 1, 7])
                  + rec("AVG_POOL", [9], [1], [1, 0, 0, 3, 3, 3, 2, 2, 1, 1, 1, 1])
                  + rec("ADAPTIVE_MAX_POOL", [10, 11], [1], [2, 4, 2]), b""),
    # devices (2 host stand-ins): create on cuda:0, compute, copy to cuda:1 and to the CPU, read;
    # a second stream with an event between them
    "device_ops": (rec("SET_DEVICE", attrs=[1]) + rec("EMPTY", [1], attrs=[F32, 2, 2, 3])
                   + rec("UPLOAD", ins=[1], attrs=[0, 24, 0]) + rec("TRANSPOSE", [2], [1], [0, 1])
                   + rec("MUL", [3], [2], [INT, 3]) + rec("SUM", [4], [3], [1, 0, -1, 0])
                   + rec("SET_DEVICE", attrs=[2]) + rec("EMPTY", [5], attrs=[F32, 2, 3, 2])
                   + rec("COPY_", ins=[5, 3]) + rec("SET_DEVICE", attrs=[0]) + rec("EMPTY", [6], attrs=[F32, 2, 3, 2])
                   + rec("COPY_", ins=[6, 5]) + rec("READ", ins=[6], attrs=[0, 24])
                   + rec("STREAM_CTRL", attrs=[1, 0, 7, 0]) + rec("EVENT_CTRL", attrs=[1, 0, 8, 1])
                   + rec("STREAM_CTRL", attrs=[1, 2, 7, 0]) + rec("ADD", [9], [1, 1], [0, 0])
                   + rec("EVENT_CTRL", attrs=[1, 2, 8, 7]) + rec("STREAM_CTRL", attrs=[1, 3, 0, 8])
                   + rec("READ", ins=[9], attrs=[0, 24]),
                   struct.pack("<6f", 1, 2, 3, 4, 5, 6)),
    # a graph (daemon/graph.c): y = (x + w) * x with a dead x * x; after the upload's bytes,
    # the payload holds x's layout (float32[4]: kernels/shape_wire.c) and the body; defined
    # with w as its constant, run twice, read, freed
    "graph": (rec("EMPTY", [1], attrs=[F32, 1, 4]) + rec("UPLOAD", ins=[1], attrs=[0, 16, 0])
              + rec("EMPTY", [2], attrs=[F32, 1, 4]) + rec("UPLOAD", ins=[2], attrs=[0, 16, 0])
              + rec("GRAPH_DEFINE", ins=[2], attrs=[7, 1, 1, 1, 16, 24 + 3 * 32])
              + rec("GRAPH_RUN", [10], [1], [7]) + rec("GRAPH_RUN", [11], [10], [7])
              + rec("READ", ins=[11], attrs=[0, 16]) + rec("GRAPH_FREE", attrs=[7]),
              struct.pack("<4f", 1, 2, 3, 4) + struct.pack("<BBB5xqq", F32, 1, 0, 4, 1)
              + rec("ADD", [4], [1, 3], [0, 0]) + rec("MUL", [5], [1, 1], [0, 0]) + rec("MUL", [2], [4, 1], [0, 0])),
    # a graph defined by a message with no payload at all (UBSan once saw NULL + 0 there)
    "graph_no_payload": (rec("GRAPH_DEFINE", attrs=[9, 0, 0, 0, 0, 0]) + rec("GRAPH_RUN", attrs=[9]), b""),
}

if __name__ == "__main__":
    out = os.path.join(HERE, "corpus")
    os.makedirs(out, exist_ok=True)
    for name, (records, payload) in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(struct.pack("<H", len(payload)) + payload + records)
    print("wrote %d seeds to %s" % (len(SEEDS), out))
