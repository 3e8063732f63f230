#!/bin/sh
# tests/gpu/run.sh — the one script to run on a GPU machine (H100/H200, see
# /work/shared/TOOLCHAIN.md "The GPU machine"): finds the GPU, builds the CUDA plugin
# for sm_90 unless a built one is given, runs the plugin's Check suite (which runs
# kernels on the GPU and compares them with host references), again under
# compute-sanitizer's memcheck and racecheck, and prints a summary table last.  Every step runs even when one fails; the exit status is 1 if any failed.
#
#   tests/gpu/run.sh                 build build/libtensord_cuda.so here (needs nvcc), test it
#   PLUGIN=path/libtensord_cuda.so CHECK=path/check_cuda_plugin tests/gpu/run.sh
#                                    test binaries carried from a Debian build
#                                    (`make build/libtensord_cuda.so build/gpu/check_cuda_plugin`:
#                                    the suite links Check statically, needs no other library)
#
# cuBLASLt comes from the toolkit, or from the venv's nvidia-* pip packages (found
# below and put on LD_LIBRARY_PATH).  It ends with the daemon's GPU
# path: tests/gpu/daemon_checks.sh, called last (the daemon with the plugin: every op
# against the CPU, a training run, the benchmarks against PyTorch).
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
OUT=${OUT:-$ROOT/build/gpu}
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
FAILED=0

step() { # step NAME COMMAND...: run, log to $OUT/NAME.log, record the result
    name=$1; shift
    start=$(date +%s)
    if "$@" > "$OUT/$name.log" 2>&1; then res=ok; else res=FAIL; FAILED=1; fi
    printf '%-24s %-5s %4ss  %s\n' "$name" "$res" "$(( $(date +%s) - start ))" "$OUT/$name.log" >> "$SUMMARY"
    tail -n 5 "$OUT/$name.log"
}

skip() { printf '%-24s %-5s %4s   %s\n' "$1" skip - "$2" >> "$SUMMARY"; }

# ---- the machine
if command -v nvidia-smi > /dev/null; then
    step gpu-info nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
else
    skip gpu-info "nvidia-smi not found: no NVIDIA driver here"
fi

# cuBLAS(Lt)/cuDNN from pip's nvidia-* packages when the toolkit lacks them
for d in $(python3 -c 'import nvidia, os; p = nvidia.__path__[0]; print(" ".join(os.path.join(p, x, "lib") for x in sorted(os.listdir(p))))' 2>/dev/null); do
    [ -d "$d" ] && LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"

# ---- the plugin
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
if [ -n "${PLUGIN:-}" ]; then
    skip build-plugin "using $PLUGIN"
elif [ -x "$NVCC" ]; then
    step build-plugin make --no-print-directory NVCC="$NVCC" build/libtensord_cuda.so
    PLUGIN=$ROOT/build/libtensord_cuda.so
else
    skip build-plugin "no nvcc and no PLUGIN="
    PLUGIN=$ROOT/build/libtensord_cuda.so
fi
if [ -f "$PLUGIN" ]; then
    step plugin-exports sh -c "nm -D --defined-only '$PLUGIN' | awk '\$2 ~ /^[A-TV-Z]\$/ {print \$3}' | sort -u | tee /dev/stderr | grep -qx td_device_backend_entry"
    if command -v cuobjdump > /dev/null; then
        step plugin-sm90 sh -c "cuobjdump --list-elf '$PLUGIN' | tee /dev/stderr | grep -q sm_90"
    else
        step plugin-sm90 sh -c "python3 tests/gpu/fatbin_archs.py '$PLUGIN' | tee /dev/stderr | grep -q 'sass sm_90'"
    fi
    step plugin-ldd sh -c "ldd '$PLUGIN'; ! ldd '$PLUGIN' | grep -q 'not found'"
fi

# ---- the plugin's Check suite (kernels on the GPU against host references).  Built
# here when Check and the daemon's libraries exist, else carried in as CHECK=.
if [ -z "${CHECK:-}" ]; then
    CHECK=$ROOT/build/gpu/check_cuda_plugin
    if [ ! -x "$CHECK" ] && [ -x "$NVCC" ] && pkg-config --exists check 2> /dev/null; then
        step build-check make --no-print-directory NVCC="$NVCC" build/gpu/check_cuda_plugin
    elif [ ! -x "$CHECK" ]; then
        skip build-check "no nvcc to build it (a machine without CUDA: nothing to check)"
    fi
fi
if [ -x "$CHECK" ] && [ -f "$PLUGIN" ]; then
    # (an ASan build of the suite needs ASAN_OPTIONS=protect_shadow_gap=0 next to the driver)
    step plugin-smoke env TD_CUDA_PLUGIN="$PLUGIN" CK_DEFAULT_TIMEOUT=300 \
        ASAN_OPTIONS=detect_leaks=0:protect_shadow_gap=0 "$CHECK"
    grep -q "gpu kernels match" "$OUT/plugin-smoke.log" || { [ -z "$(command -v nvidia-smi)" ] || {
        echo "plugin-smoke: the gpu case did not run" >> "$OUT/plugin-smoke.log"; FAILED=1; }; }
    # the same kernels under compute-sanitizer: out-of-bounds or misaligned accesses,
    # races in shared memory (one process: CK_FORK=no)
    SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2> /dev/null || true)
    if [ -n "$SAN" ] && command -v nvidia-smi > /dev/null; then
        step plugin-memcheck env TD_CUDA_PLUGIN="$PLUGIN" CK_FORK=no "$SAN" --tool memcheck --error-exitcode 1 "$CHECK"
        step plugin-racecheck env TD_CUDA_PLUGIN="$PLUGIN" CK_FORK=no "$SAN" --tool racecheck --error-exitcode 1 "$CHECK"
    else
        skip plugin-memcheck "no compute-sanitizer or no GPU"
    fi
else
    skip plugin-smoke "no check_cuda_plugin binary (set CHECK=) or no plugin"
fi

# ---- the daemon's GPU path: tensord with the plugin, ops against the CPU, training, benchmarks
SUMMARY="$SUMMARY" OUT="$OUT" PLUGIN="$PLUGIN" sh "$ROOT/tests/gpu/daemon_checks.sh" || FAILED=1

echo
echo "== tensord GPU run summary ($(hostname), $(date -u +%FT%TZ))"
printf '%-24s %-5s %5s  %s\n' STEP RESULT TIME LOG
cat "$SUMMARY"
exit $FAILED
