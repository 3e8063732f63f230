#!/bin/sh
# tests/gpu/make_bundle.sh BUILD BUNDLE — stages what the GPU machine needs in BUNDLE
# (laid out like the repository, so tests/gpu/run.sh runs the same from either) and packs
# it as BUNDLE.tar.xz, the file that travels (`make gpu-bundle`):
#   build/tensord, build/tensordctl   linked with DT_RPATH $ORIGIN/../lib
#   build/libtensord_cuda.so          the CUDA plugin, when it was built here, and
#   build/gpu/check_cuda_plugin       its Check suite (run.sh's plugin-smoke step)
#   build/python/tensord/             the Python package's .py files; tests/gpu/build_ext.sh
#                                     builds its _C extension there for that python3
#   lib/                              libtensord.so and every library ldd names for the
#                                     three binaries except glibc's, libstdc++ and libgcc_s
#                                     (the GPU machine's are newer, and torch needs those)
#   client_py/ext, client_c, kernels, proto   the extension's sources and headers (and
#                                     kernels/cuda with the Makefile, to rebuild the plugin)
#   include/python3.12                Python 3.12's headers when found here (a fallback)
#   tests/gpu, tests/python/{test_devices,tdhelpers}.py, tests/bench/gpu.py
set -eu
B=$1
OUTB=$2
rm -rf "$OUTB" "$OUTB.tar.xz"
mkdir -p "$OUTB/build/python" "$OUTB/lib" "$OUTB/tests/python" "$OUTB/tests/bench" "$OUTB/client_py/ext" \
    "$OUTB/client_c" "$OUTB/kernels" "$OUTB/proto"
cp "$B/bundle/tensord" "$B/bundle/tensordctl" "$OUTB/build/"
cp "$B/bundle/libtensord.so" "$OUTB/lib/"
if [ -f "$B/libtensord_cuda.so" ]; then
    cp "$B/libtensord_cuda.so" "$OUTB/build/"
    strip --strip-debug "$OUTB/build/libtensord_cuda.so" # the fatbin stays; -g is most of its size
    # the plugin's Check suite built lean for the GPU machine (static Check), for run.sh
    if [ -x "$B/gpu/check_cuda_plugin" ]; then
        mkdir -p "$OUTB/build/gpu"
        cp "$B/gpu/check_cuda_plugin" "$OUTB/build/gpu/"
    fi
else
    echo "make_bundle: no $B/libtensord_cuda.so: the GPU machine builds the plugin with its nvcc"
fi

# every non-glibc library the binaries load, under its soname
ldd "$B/bundle/tensord" "$B/bundle/tensordctl" "$B/bundle/libtensord.so" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' |
    sort -u | while read -r soname path; do
        case $soname in
        libc.so.* | libm.so.* | libdl.so.* | librt.so.* | libpthread.so.* | libresolv.so.* | ld-linux*) ;;
        libstdc++.so.* | libgcc_s.so.*) ;;
        libtensord.so) ;;
        *) cp -L "$path" "$OUTB/lib/$soname" ;;
        esac
    done
if env -u LD_LIBRARY_PATH ldd "$OUTB/build/tensord" "$OUTB/build/tensordctl" "$OUTB/lib/libtensord.so" | grep 'not found'; then
    echo "make_bundle: unresolved libraries" >&2
    exit 1
fi

# the Python package without the extension built here (another python) and the .d files
(cd "$B/python" && find tensord -name '*.py') | while read -r f; do
    mkdir -p "$OUTB/build/python/$(dirname "$f")"
    cp "$B/python/$f" "$OUTB/build/python/$f"
done
cp client_py/ext/*.c client_py/ext/*.h "$OUTB/client_py/ext/"
cp client_c/*.h "$OUTB/client_c/"
cp kernels/*.h "$OUTB/kernels/"
cp proto/*.h proto/ops.def "$OUTB/proto/"
if [ -d kernels/cuda ]; then
    cp -r kernels/cuda "$OUTB/kernels/"
    cp Makefile "$OUTB/"
fi
# Python 3.12's headers, for a GPU machine whose python3 (3.12) came without them
# (build_ext.sh uses them only then); PY312_INCLUDE names them, else pyenv's are looked for.
PY312=${PY312_INCLUDE:-$(ls -d "$HOME"/.pyenv/versions/3.12.*/include/python3.12 2> /dev/null | tail -n 1)}
if [ -n "$PY312" ] && [ -f "$PY312/Python.h" ]; then
    mkdir -p "$OUTB/include"
    cp -r "$PY312" "$OUTB/include/python3.12"
fi
cp -r tests/gpu "$OUTB/tests/"
rm -rf "$OUTB/tests/gpu/__pycache__"
cp tests/python/test_devices.py tests/python/tdhelpers.py "$OUTB/tests/python/"
cp tests/bench/gpu.py "$OUTB/tests/bench/"

tar -C "$(dirname "$OUTB")" -cf - "$(basename "$OUTB")" | xz -1 -T0 > "$OUTB.tar.xz"
echo "make_bundle: $OUTB $(du -sm "$OUTB" | cut -f1) MiB, $OUTB.tar.xz $(du -k "$OUTB.tar.xz" | cut -f1) KiB" \
    "($(ls "$OUTB/lib" | wc -l) libraries$([ -f "$OUTB/build/libtensord_cuda.so" ] && echo ', CUDA plugin'))"
