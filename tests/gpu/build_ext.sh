#!/bin/sh
# tests/gpu/build_ext.sh [PYTHON] — builds the Python package's _C extension for PYTHON
# (default python3) into build/python/tensord, linked against lib/libtensord.so of the
# bundle this script sits in (tests/gpu/make_bundle.sh): the extension built on Debian is
# for its python 3.11, the GPU machine's is 3.12.  Fails with the reason when that
# python has no headers (Python.h; the bundle may carry its minor version's) or no numpy.
set -eu
cd "$(dirname "$0")/../.."
PY=${1:-python3}
CC=${CC:-$(command -v cc || command -v gcc || echo cc)}
PY_INC=$("$PY" -c "import sysconfig;print(sysconfig.get_paths()['include'])")
NP_INC=$("$PY" -c "import numpy;print(numpy.get_include())") || { echo "build_ext: $PY has no numpy"; exit 1; }
SUFFIX=$("$PY" -c "import sysconfig;print(sysconfig.get_config_var('EXT_SUFFIX'))")
if [ ! -f "$PY_INC/Python.h" ]; then
    VER=$("$PY" -c "import sys;print('python%d.%d' % sys.version_info[:2])")
    if [ -f "include/$VER/Python.h" ]; then
        # the bundle's copy of the same minor version's headers (same ABI)
        echo "build_ext: $PY ($("$PY" -V 2>&1)) has no headers ($PY_INC/Python.h is missing): using the bundle's include/$VER"
        PY_INC=$(pwd)/include/$VER
    else
        echo "build_ext: $PY ($("$PY" -V 2>&1)) has no headers: $PY_INC/Python.h is missing, and the bundle has no include/$VER"
        exit 1
    fi
fi
OUTD=build/python/tensord
mkdir -p build/ext-obj
# the Makefile's flags for the extension (release, no -Werror: another compiler may warn more)
FLAGS="-std=c11 -D_GNU_SOURCE -O2 -g -fPIC -Wall -Wno-unused-parameter -Wno-missing-field-initializers
    -fno-strict-aliasing -DTD_VERSION=\"0.1.0\" -I$PY_INC -I$NP_INC -Iclient_c"
pids=""
for c in client_py/ext/*.c; do
    # shellcheck disable=SC2086
    $CC $FLAGS -c "$c" -o "build/ext-obj/$(basename "$c" .c).o" &
    pids="$pids $!"
done
for p in $pids; do wait "$p"; done
$CC -shared -o "$OUTD/_C$SUFFIX" build/ext-obj/*.o -Llib -ltensord -Wl,--disable-new-dtags,-rpath,'$ORIGIN/../../../lib'
echo "build_ext: $OUTD/_C$SUFFIX for $("$PY" -V 2>&1)"
