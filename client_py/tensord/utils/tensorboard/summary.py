"""The bytes TensorBoard reads, written without the tensorboard package: protobuf wire
encoding of the Event, Summary and HistogramProto messages (tensorflow/core/util/event.proto,
summary.proto: field numbers below), and TFRecord framing with masked CRC-32C."""
import struct

__all__ = ["crc32c", "event", "histogram_value", "record", "scalar_value", "text_value"]

# ---- CRC-32C (Castagnoli), reflected, as TFRecord uses it

_POLY = 0x82F63B78
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def _masked(c):
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def record(data):
    """One TFRecord: length, its masked CRC, the data, the data's masked CRC."""
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", _masked(crc32c(head))) + data + struct.pack("<I", _masked(crc32c(data)))


# ---- protobuf wire format

def _varint(n):
    out = bytearray()
    n &= (1 << 64) - 1  # negative int64s as two's complement, as protobuf does
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def _bytes(field, data):
    return _key(field, 2) + _varint(len(data)) + data


def _double(field, v):
    return _key(field, 1) + struct.pack("<d", v)


def _float(field, v):
    return _key(field, 5) + struct.pack("<f", v)


def _int(field, v):
    return _key(field, 0) + _varint(int(v))


def _packed_doubles(field, values):
    return _bytes(field, b"".join(struct.pack("<d", v) for v in values))


# Summary.Value: tag 1, simple_value 2, histo 5, tensor 8, metadata 9
def scalar_value(tag, value):
    return _bytes(1, tag.encode()) + _float(2, float(value))


def histogram_value(tag, lo, hi, num, total, total_sq, limits, counts):
    """A HistogramProto (min 1, max 2, num 3, sum 4, sum_squares 5, bucket_limit 6, bucket 7)."""
    histo = (_double(1, lo) + _double(2, hi) + _double(3, num) + _double(4, total) + _double(5, total_sq) +
             _packed_doubles(6, limits) + _packed_doubles(7, counts))
    return _bytes(1, tag.encode()) + _bytes(5, histo)


def text_value(tag, text):
    """The text plugin's form: a string TensorProto (dtype 1 = DT_STRING 7, shape 2 with one
    dim of size 1, string_val 8) and metadata naming the plugin (plugin_data 1: name 1)."""
    tensor = _int(1, 7) + _bytes(2, _bytes(2, _int(1, 1))) + _bytes(8, text.encode())
    meta = _bytes(1, _bytes(1, b"text"))
    return _bytes(1, tag.encode()) + _bytes(9, meta) + _bytes(8, tensor)


def event(wall_time, step=None, values=None, file_version=None):
    """An Event (wall_time 1, step 2, file_version 3, summary 5 holding values as field 1)."""
    out = _double(1, wall_time)
    if step is not None:
        out += _int(2, step)
    if file_version is not None:
        out += _bytes(3, file_version.encode())
    if values is not None:
        out += _bytes(5, b"".join(_bytes(1, v) for v in values))
    return out
