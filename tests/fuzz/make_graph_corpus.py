#!/usr/bin/python3
"""make_graph_corpus.py -- writes the seed corpus of fuzz_graph (tests/fuzz/corpus_graph/):
saved graphs in td_graph_save's format (client_c/graph.h), written field by field here.
Run: /usr/bin/python3 tests/fuzz/make_graph_corpus.py
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
F32 = 0


def rec(op, outs=(), ins=(), attrs=()):
    w = [*outs, *ins, *attrs]
    return struct.pack("<HHBBBB%dQ" % len(w), 1 + len(w), OPS[op], len(outs), len(ins), len(attrs), 0, *w)


def meta(dtype, sizes, device=0, strides=None):
    if strides is None:  # contiguous
        strides = [1] * len(sizes)
        for d in range(len(sizes) - 2, -1, -1):
            strides[d] = strides[d + 1] * sizes[d + 1]
    return struct.pack("<BBB5x%dq%dq" % (len(sizes), len(sizes)), dtype, len(sizes), device, *sizes, *strides)


def graph(ins, outs, consts, out_src, out_const, in_written, cw, body):
    head = b"TDGRAPH1" + struct.pack("<4IQ", len(ins), len(outs), len(consts), len(cw), len(body) // 8)
    pad = b"\0" * ((4 - len(ins) % 4) % 4)
    return (head + b"".join(ins + outs + consts) + struct.pack("<%di" % len(outs), *out_src)
            + struct.pack("<%di" % len(outs), *out_const) + bytes(in_written) + pad
            + struct.pack("<%dI" % len(cw), *cw) + body)


SEEDS = {
    # y = (x + w) * x: input x, output y, constant w (local handles 1, 2, 3; temporary 4)
    "add_mul": graph([meta(F32, [4])], [meta(F32, [4])], [meta(F32, [4])], [-1], [-1], [0], [],
                     rec("ADD", [4], [1, 3], [0, 0]) + rec("MUL", [2], [4, 1], [0, 0])),
    # an output viewing its input, one viewing the constant it writes in place
    "views": graph([meta(F32, [2, 3])], [meta(F32, [3, 2], strides=[1, 3]), meta(F32, [6])], [meta(F32, [6])],
                   [0, -2], [-1, 0],
                   [0], [0], rec("TRANSPOSE", [2], [1], [0, 1]) + rec("VIEW", [3], [4], [1, 6])),
}

if __name__ == "__main__":
    out = os.path.join(HERE, "corpus_graph")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("wrote %d seeds to %s" % (len(SEEDS), out))
