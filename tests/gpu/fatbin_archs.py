#!/usr/bin/env python3
"""List the GPU code a shared object embeds: one line per fatbin entry, "sass sm_90" or
"ptx compute_90".  A stand-in for `cuobjdump --list-elf/--list-ptx` where the toolkit
lacks cuobjdump: it reads the .nv_fatbin section's entry headers (kind 1 = PTX, 2 = ELF;
the architecture is the entry header's 32-bit field at byte 28).

usage: fatbin_archs.py LIB.so
"""
import struct
import subprocess
import sys
import tempfile

MAGIC = 0xBA55ED50


def entries(data):
    off = 0
    while off + 16 <= len(data):
        magic, _ver, hsize, fsize = struct.unpack_from("<IHHQ", data, off)
        if magic != MAGIC:
            break
        e, end = off + hsize, off + hsize + fsize
        while e + 32 <= end:
            kind, _unk, ehsize, size = struct.unpack_from("<HHIQ", data, e)
            arch = struct.unpack_from("<I", data, e + 28)[0]
            yield kind, arch
            e += ehsize + size
        off = end
        while off < len(data) and data[off] == 0:  # sections are padded between fatbins
            off += 1


def main():
    lib = sys.argv[1]
    with tempfile.NamedTemporaryFile() as tmp:
        subprocess.run(["objcopy", "-O", "binary", "--only-section=.nv_fatbin", lib, tmp.name], check=True)
        data = open(tmp.name, "rb").read()
    seen = set()
    for kind, arch in entries(data):
        name = {1: "ptx compute_%d", 2: "sass sm_%d"}.get(kind, "kind%d %%d" % kind) % arch
        if name not in seen:
            seen.add(name)
            print(name)
    return 0 if seen else 1


if __name__ == "__main__":
    sys.exit(main())
