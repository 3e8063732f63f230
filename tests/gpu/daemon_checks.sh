#!/bin/sh
# tests/gpu/daemon_checks.sh — the daemon's GPU path, for tests/gpu/run.sh (which calls it
# once its own steps are done) or alone.  Starts tensord with the CUDA plugin and runs, each
# step time-boxed:
#   gpu-ops     tests/gpu/test_gpu_ops.py: test_devices' op sweep and larger cases on cuda:0
#               against the CPU within dtype tolerances (TF32 off)
#   gpu-train   tests/gpu/train_check.py: a small CNN's loss falls on cuda:0, near the CPU's
#   gpu-bench   tests/bench/gpu.py against PyTorch, then its TF32 matmul against a second
#               daemon started with TENSORD_CUDA_ALLOW_TF32=1
# Without a GPU (no nvidia-smi, or it lists none, or no plugin) the same steps run against
# 2 host stand-in GPUs (--fake-gpus 2) and say so; only the real-GPU assertion skips.
#
# Works from the repository (build/ made by `make`) and from the unpacked bundle
# (`make gpu-bundle`), whose Python extension it first rebuilds for this python3.
# Environment: PYTHON (python3), PLUGIN (default build/libtensord_cuda.so), OUT (logs;
# build/gpu), SUMMARY (a file to append result rows to, run.sh's; else this script prints
# its own table last).  Exit status 1 if any step failed.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
OUT=${OUT:-$ROOT/build/gpu}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
OWN=
if [ -z "${SUMMARY:-}" ]; then
    SUMMARY=$OUT/daemon_summary.txt
    : > "$SUMMARY"
    OWN=1
fi
FAILED=0

step() { # step NAME SECONDS COMMAND...: run under a time limit, log to $OUT/NAME.log
    name=$1 limit=$2
    shift 2
    start=$(date +%s)
    echo "== $name (at most ${limit}s)"
    timeout -k 10 "$limit" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    if [ $rc = 0 ]; then res=ok; elif [ $rc = 124 ] || [ $rc = 137 ]; then res=FAIL note="timed out after ${limit}s"; else res=FAIL; fi
    [ $res = ok ] || FAILED=1
    printf '%-24s %-5s %4ss  %s\n' "$name" "$res" "$(($(date +%s) - start))" "$OUT/$name.log${note:+ ($note)}" >> "$SUMMARY"
    note=
    tail -n 4 "$OUT/$name.log"
}
skip() { printf '%-24s %-5s %4s   %s\n' "$1" skip - "$2" >> "$SUMMARY"; echo "== $1 skipped: $2"; }
note=

# ---- where the pieces are: the bundle keeps libraries in lib/, the repository has them installed
export PYTHONPATH=$ROOT/build/python
TENSORD=$ROOT/build/tensord
PLUGIN=${PLUGIN:-$ROOT/build/libtensord_cuda.so}
SUFFIX=$("$PY" -c "import sysconfig;print(sysconfig.get_config_var('EXT_SUFFIX'))")
if [ ! -f "$ROOT/build/python/tensord/_C$SUFFIX" ]; then
    if [ -f "$ROOT/lib/libtensord.so" ]; then
        step ext-build 120 sh tests/gpu/build_ext.sh "$PY"
    else
        skip ext-build "no build/python/tensord/_C$SUFFIX for $("$PY" -V 2>&1) and no bundle (make gpu-bundle)"
    fi
fi

# ---- GPU or stand-ins.  The plugin's cuBLAS(Lt)/cuDNN: the toolkit's (its rpath) or the
# venv's pip nvidia-* packages, put on the daemon's LD_LIBRARY_PATH only.
NVLIBS=$("$PY" -c 'import nvidia, os; p = nvidia.__path__[0]; print(":".join(os.path.join(p, x, "lib") for x in sorted(os.listdir(p)) if os.path.isdir(os.path.join(p, x, "lib"))))' 2>/dev/null)
WHY=
if ! command -v nvidia-smi > /dev/null; then
    WHY="no nvidia-smi: no NVIDIA driver here"
elif ! CARD=$(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -n 1) || [ -z "$CARD" ]; then
    WHY="nvidia-smi lists no GPU"
elif [ ! -f "$PLUGIN" ]; then
    WHY="no CUDA plugin at $PLUGIN"
fi
if [ -z "$WHY" ]; then
    DARGS="--cuda-plugin $PLUGIN"
    export TD_EXPECT_GPU=1
    printf '%-24s %s\n' card "$CARD (plugin $PLUGIN)" >> "$SUMMARY"
else
    DARGS="--fake-gpus 2 --fake-gpu-memory 2G"
    export TD_EXPECT_GPU=0
    printf '%-24s %s\n' card "none: $WHY; the steps below ran on 2 host stand-in GPUs" >> "$SUMMARY"
fi
echo "== daemon: $TENSORD $DARGS${WHY:+ ($WHY)}"

SOCKDIR=$(mktemp -d /tmp/tensord-gpu.XXXXXX)
DPID=
start_daemon() { # start_daemon NAME [VAR=VALUE...]: the daemon in the background on $SOCKDIR/NAME
    sock=$SOCKDIR/$1
    shift
    # shellcheck disable=SC2086
    env "$@" LD_LIBRARY_PATH="$NVLIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$TENSORD" --listen "unix:$sock" \
        --log-level info $DARGS > "$OUT/daemon-$(basename "$sock").log" 2>&1 &
    DPID=$!
    i=0
    while [ ! -S "$sock.shm" ] && [ $i -lt 300 ]; do
        kill -0 $DPID 2> /dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    export TENSORD_ADDRESS=unix:$sock
    [ -S "$sock.shm" ]
}
stop_daemon() { # SIGTERM; a clean exit is part of the result
    [ -n "$DPID" ] || return 0
    kill -TERM $DPID 2> /dev/null
    wait $DPID
    rc=$?
    DPID=
    return $rc
}
trap 'stop_daemon; rm -rf "$SOCKDIR"' EXIT

if start_daemon main; then
    grep -i 'gpu\|cuda\|device' "$OUT/daemon-main.log" | head -n 5
    step gpu-ops 180 "$PY" -m pytest -q -p no:cacheprovider -rf tests/gpu/test_gpu_ops.py
    step gpu-train 120 "$PY" tests/gpu/train_check.py 30
    step gpu-bench 240 "$PY" tests/bench/gpu.py --json "$OUT/bench.json"
    start=$(date +%s)
    if stop_daemon; then res=ok; else res=FAIL FAILED=1; fi
    printf '%-24s %-5s %4ss  %s\n' daemon-exit $res "$(($(date +%s) - start))" "$OUT/daemon-main.log (exit status)" >> "$SUMMARY"
else
    printf '%-24s %-5s %4s   %s\n' daemon-start FAIL - "$OUT/daemon-main.log" >> "$SUMMARY"
    FAILED=1
    tail -n 20 "$OUT/daemon-main.log"
fi
if start_daemon tf32 TENSORD_CUDA_ALLOW_TF32=1; then
    step gpu-bench-tf32 90 "$PY" tests/bench/gpu.py --tf32 --json "$OUT/bench_tf32.json"
    stop_daemon
fi
[ -n "$TD_EXPECT_GPU" ] && [ "$TD_EXPECT_GPU" = 1 ] || skip gpu-real "cuda:0 is a stand-in: $WHY"

# ---- benchmark ratios (tensord / PyTorch; for times and the allocator, PyTorch / tensord: above 1 is better)
"$PY" - "$OUT/bench.json" "$OUT/bench_tf32.json" >> "$SUMMARY" << 'PYEOF'
import json, sys
for path in sys.argv[1:]:
    try:
        d = json.load(open(path))
    except (OSError, ValueError):
        continue
    for r in d["rows"]:
        print("bench %-22s %-14s %7.3fx  tensord %-9.4g torch %-9.4g %-7s %s%s" % (
            r["name"], r["size"], r["ratio"], r["tensord"], r["torch"], r["unit"], r["check"],
            "" if d["real"] else " (stand-in: meaningless)"))
PYEOF

if [ -n "$OWN" ]; then
    echo
    echo "== tensord daemon GPU checks ($(hostname), $(date -u +%FT%TZ))"
    printf '%-24s %-5s %5s  %s\n' STEP RESULT TIME LOG
    cat "$SUMMARY"
fi
exit $FAILED
