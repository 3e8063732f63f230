"""safetensors files (the format of huggingface's safetensors package), read and written
in Python: tensord.serialization.save_safetensors / load_safetensors.

Layout: 8 bytes, a little-endian u64 N; N bytes of UTF-8 JSON, an object mapping each
tensor's name to {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]} and
optionally "__metadata__" to an object of strings; then the data: each tensor's
elements, row-major, little-endian, at [begin, end) counted from the end of the header.

The reader checks the header as strictly as the reference implementation: the JSON must
be an object starting with '{', each entry must name a known dtype, a shape of
non-negative ints and offsets whose span is exactly the tensor's size, and the spans must
tile the data section with no gap, overlap or byte left over.  Every failure is a
ValueError that says what is wrong and where.  The writer orders tensors by element size
(largest first), then by name, and pads the header with spaces to 8 bytes, as the
reference writer does, so every tensor's data is aligned.  Each tensor is written whole;
views that share memory are written as separate copies and load as separate tensors.
Pickle is never involved, so loading a safetensors file runs no code from it."""
import json
import os
import struct

from . import _C, _daemon
from ._dtype import bfloat16, bool_, complex64, float16, float32, float64, int8, int16, int32, int64, uint8

__all__ = ["save_safetensors", "load_safetensors", "read_safetensors_metadata"]

_CODES = {float64: "F64", float32: "F32", float16: "F16", bfloat16: "BF16", int64: "I64", int32: "I32",
          int16: "I16", int8: "I8", uint8: "U8", bool_: "BOOL", complex64: "C64"}
_DTYPES = {code: dt for dt, code in _CODES.items()}
# dtypes of the format that tensord has no tensors for
_FOREIGN = {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4"}
_MAX_HEADER = 100_000_000  # the reference reader's limit


def _err(what):
    return ValueError("safetensors: " + what)


def save_safetensors(tensors, path, metadata=None):
    """Writes tensors (a dict of str -> tensor) to path (a path, PathLike or binary file
    object) in the safetensors format; metadata is an optional dict of str -> str."""
    if not isinstance(tensors, dict):
        raise TypeError("save_safetensors expects a dict of str -> Tensor, got %s" % type(tensors).__name__)
    header = {}
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in metadata.items()):
            raise TypeError("save_safetensors: metadata must be a dict of str -> str")
        header["__metadata__"] = dict(metadata)
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError("save_safetensors: tensor names must be str, got %r" % (name,))
        if name == "__metadata__":
            raise ValueError("save_safetensors: '__metadata__' is reserved for the metadata")
        if not isinstance(t, _C.TensorBase):
            raise TypeError("save_safetensors: %r is a %s, not a Tensor" % (name, type(t).__name__))
        if t.dtype not in _CODES:
            raise ValueError("save_safetensors: %r has dtype %s, which the safetensors format cannot hold"
                             % (name, t.dtype))
    order = sorted(tensors, key=lambda n: (-tensors[n].dtype.itemsize, n))
    chunks, offset = [], 0
    for name in order:
        t = tensors[name]
        raw = _C.to_bytes(t.detach())  # the view's elements, row-major
        header[name] = {"dtype": _CODES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    if isinstance(path, (str, os.PathLike)):
        with open(path, "wb") as fh:
            _write(fh, text, chunks)
    else:
        _write(path, text, chunks)


def _write(fh, text, chunks):
    fh.write(struct.pack("<Q", len(text)))
    fh.write(text)
    for c in chunks:
        fh.write(c)


def _read_all(path):
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as fh:
            return fh.read()
    if isinstance(path, (bytes, bytearray, memoryview)):
        return bytes(path)
    return path.read()


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise _err("header: duplicate key %r" % k)
        d[k] = v
    return d


def _parse_header(buf):
    """(entries {name: (dtype, shape, begin, end)}, metadata or None, start of the data)."""
    if len(buf) < 8:
        raise _err("file too short (%d bytes) for the 8-byte header length" % len(buf))
    (n,) = struct.unpack("<Q", buf[:8])
    if n > _MAX_HEADER:
        raise _err("header too large (%d bytes; at most %d)" % (n, _MAX_HEADER))
    if 8 + n > len(buf):
        raise _err("header length %d exceeds the file (%d bytes after the length)" % (n, len(buf) - 8))
    try:
        text = buf[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as e:
        raise _err("header is not valid UTF-8 (%s)" % e) from None
    if not text.startswith("{"):
        raise _err("header does not start with '{'")
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise _err("header is not valid JSON (%s)" % e) from None
    metadata = header.pop("__metadata__", None)
    if metadata is not None and (not isinstance(metadata, dict) or
                                 not all(isinstance(v, str) for v in metadata.values())):
        raise _err("__metadata__ must be an object of strings")
    entries = {name: _parse_entry(name, info) for name, info in header.items()}
    _check_tiling(entries, len(buf) - 8 - n)
    return entries, metadata, 8 + n


def _is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _parse_entry(name, info):
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise _err("tensor %r: expected exactly the keys dtype, shape and data_offsets" % name)
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if code not in _DTYPES:
        if code in _FOREIGN:
            raise _err("tensor %r: dtype %s has no tensord dtype" % (name, code))
        raise _err("tensor %r: unknown dtype %r" % (name, code))
    if not isinstance(shape, list) or not all(_is_count(s) for s in shape):
        raise _err("tensor %r: shape %r is not a list of non-negative integers" % (name, shape))
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_count(o) for o in offsets) or \
            offsets[0] > offsets[1]:
        raise _err("tensor %r: data_offsets %r is not [begin, end] with 0 <= begin <= end" % (name, offsets))
    dt = _DTYPES[code]
    numel = 1
    for s in shape:
        numel *= s
    if offsets[1] - offsets[0] != numel * dt.itemsize:
        raise _err("tensor %r: data_offsets %r span %d bytes, but shape %s of %s needs %d"
                   % (name, offsets, offsets[1] - offsets[0], shape, code, numel * dt.itemsize))
    return dt, shape, offsets[0], offsets[1]


def _check_tiling(entries, data_len):
    """The spans, in order, must cover [0, data_len) exactly: no gap, no overlap."""
    pos = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if begin != pos:
            what = "overlaps the previous tensor" if begin < pos else "leaves a gap after the previous tensor"
            raise _err("tensor %r: data_offsets [%d, %d] %s (expected to begin at %d)" % (name, begin, end, what, pos))
        pos = end
    if pos != data_len:
        if pos > data_len:
            raise _err("the tensors need %d data bytes but the file has %d (truncated?)" % (pos, data_len))
        raise _err("the data section has %d bytes that no tensor covers" % (data_len - pos))


def load_safetensors(path):
    """The tensors of a safetensors file (path, PathLike, binary file object or bytes) as a
    dict of name -> tensor, in name order."""
    buf = _read_all(path)
    entries, _, start = _parse_header(buf)
    out = {}
    if entries:
        _daemon.ensure()  # this may be the process's first use of tensord
    for name in sorted(entries):
        dt, shape, begin, end = entries[name]
        raw = buf[start + begin:start + end]
        if dt is bool_ and raw and max(raw) > 1:
            raise _err("tensor %r: BOOL data holds bytes other than 0 and 1" % name)
        out[name] = _C.from_buffer(dt._index, tuple(shape), raw)
    return out


def read_safetensors_metadata(path):
    """The file's __metadata__ (a dict of str -> str), or None when it has none."""
    _, metadata, _ = _parse_header(_read_all(path))
    return metadata

