#!/usr/bin/python3
"""make_ring_corpus.py -- writes the seed corpus of fuzz_ring (tests/fuzz/corpus_ring/).

Each seed is fuzz_ring.c's input: a geometry byte, a 2-byte starting offset, then client
steps (c < 0xf0: write the next c+1 bytes; c >= 0xf0: move the tail by a signed 16-bit
displacement).  The messages are the record seeds of tests/fuzz/corpus (fuzz_records'
layout: 2-byte payload length, payload, records) framed as struct td_ring_msg, written in
uneven pieces and placed so that they wrap around the ring's end and 2^64.
Run: /usr/bin/python3 tests/fuzz/make_ring_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SYNC, DETACH = 1, 2


def frame(records, payload, flags=SYNC, seq=1):
    return struct.pack("<IIQQQ", flags, 0, seq, len(records), len(payload)) + records + payload


def steps(data, piece):
    out = b""
    for i in range(0, len(data), piece):
        chunk = data[i:i + piece]
        out += bytes([len(chunk) - 1]) + chunk
    return out


def seed(geometry, start, body):
    return bytes([geometry]) + struct.pack("<H", start) + body


def main():
    src = os.path.join(HERE, "corpus")
    dst = os.path.join(HERE, "corpus_ring")
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        raw = open(os.path.join(src, name), "rb").read()
        plen = min(raw[0] | raw[1] << 8, len(raw) - 2)
        payload, records = raw[2:2 + plen], raw[2 + plen:]
        msgs = frame(records, payload, seq=1) + frame(records, payload, SYNC | DETACH, seq=2)
        with open(os.path.join(dst, name), "wb") as f:  # wraps the 4 KiB ring's end
            f.write(seed(0, 4096 - 20, steps(msgs, 37)))
        with open(os.path.join(dst, name + "_2p64"), "wb") as f:  # indices cross 2^64
            f.write(seed(4, 65536 - 8, steps(msgs, 200)))
    hostile = frame(b"", b"") + b"\x00" * 8
    with open(os.path.join(dst, "tail_backwards"), "wb") as f:
        f.write(seed(0, 0, steps(hostile, 16) + b"\xf0" + struct.pack("<h", -64)))
    with open(os.path.join(dst, "tail_past_ring"), "wb") as f:
        f.write(seed(0, 0, b"\xf5" + struct.pack("<h", 5000) + steps(hostile, 40)))
    with open(os.path.join(dst, "bad_header"), "wb") as f:
        f.write(seed(1, 7, steps(struct.pack("<IIQQQ", 0x80, 0, 1, 2**64 - 1, 2), 32)))


if __name__ == "__main__":
    main()
