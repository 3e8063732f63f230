#!/bin/sh
# tests/gpu/check_bundle.sh BUNDLE.tar.xz — `make check-gpu-script`: proves the bundle is
# self-contained and the GPU machine's script runs end to end, here, without a GPU.
# Unpacks the bundle into a temporary directory and, with a clean environment (no build
# tree on any path, PATH=/usr/bin:/bin):
#   1. its daemon on 2 stand-in GPUs must load every non-glibc library from the bundle's lib/;
#   2. with the carried CUDA plugin (when there is one) the daemon must start, report why it
#      has no GPU, and serve the CPU;
#   3. tests/gpu/run.sh (tests/gpu/daemon_checks.sh alone when the bundle has no run.sh)
#      runs as on the GPU machine: GPU-only steps skip with their reason, the daemon steps run
#      on stand-in GPUs, the summary table comes last.
set -eu
TARBALL=$(readlink -f "$1")
PY=${PYTHON:-/usr/bin/python3}
TMP=$(mktemp -d /tmp/tensord-bundle.XXXXXX)
DPID=
cleanup() { [ -z "$DPID" ] || kill "$DPID" 2> /dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
tar -xJf "$TARBALL" -C "$TMP"
B=$TMP/gpu-bundle
CLEAN="env -i PATH=/usr/bin:/bin HOME=$TMP LANG=C.UTF-8"

echo "== check_bundle: 1. libraries from the bundle ($B)"
$CLEAN "$B/build/tensord" --listen "unix:$TMP/s1" --fake-gpus 2 --log-level warn &
DPID=$!
i=0
while [ ! -S "$TMP/s1.shm" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
outside=$(grep -o '/[^ ]*\.so[.0-9]*' "/proc/$DPID/maps" | sort -u | grep -v "^$B/lib/" |
    grep -v -E '/(libc|libm|libdl|librt|libpthread|libresolv|ld-linux-x86-64|libstdc\+\+|libgcc_s|libnss_[a-z]+)\.so' || true)
n=$(grep -o "$B/lib/[^ ]*" "/proc/$DPID/maps" | sort -u | wc -l)
kill "$DPID"
wait "$DPID" || true
DPID=
if [ -n "$outside" ]; then
    echo "check_bundle: the daemon loaded libraries from outside the bundle:"
    echo "$outside"
    exit 1
fi
echo "check_bundle: the daemon loaded $n libraries, all from the bundle's lib/ (besides glibc, libstdc++, libgcc_s)"

if [ -f "$B/build/libtensord_cuda.so" ]; then
    echo "== check_bundle: 2. the carried CUDA plugin without a GPU"
    $CLEAN "$B/build/tensord" --listen "unix:$TMP/s2" --cuda-plugin "$B/build/libtensord_cuda.so" \
        --log-level info > "$TMP/plugin.log" 2>&1 &
    DPID=$!
    i=0
    while [ ! -S "$TMP/s2.shm" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill "$DPID"
    wait "$DPID" || true
    DPID=
    grep -i 'gpu\|cuda' "$TMP/plugin.log" | head -n 3
    grep -q -i 'no gpu' "$TMP/plugin.log" || { echo "check_bundle: the daemon did not report why it has no GPU"; exit 1; }
fi

echo "== check_bundle: 3. the GPU machine's script"
SCRIPT=tests/gpu/daemon_checks.sh
[ -f "$B/tests/gpu/run.sh" ] && SCRIPT=tests/gpu/run.sh
PLUG=
[ -f "$B/build/libtensord_cuda.so" ] && PLUG=$B/build/libtensord_cuda.so
CHK=
[ -x "$B/build/gpu/check_cuda_plugin" ] && CHK=$B/build/gpu/check_cuda_plugin
# the GPU machine's python3 has torch; here it is /usr/bin/python3 (python3 on PATH lacks it)
mkdir -p "$TMP/bin"
ln -s "$PY" "$TMP/bin/python3"
$CLEAN PATH="$TMP/bin:/usr/bin:/bin" PYTHON="$PY" ${PLUG:+PLUGIN=$PLUG} ${CHK:+CHECK=$CHK} OUT="$TMP/out" sh "$B/$SCRIPT"
