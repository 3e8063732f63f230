#!/bin/sh
# install_deps.sh — every Debian 12 package tensord needs to build, test and run.
# Idempotent: installs only what is missing.  Uses sudo when not root.
#   install_deps.sh          everything (make deps: build, tests, demo)
#   install_deps.sh build    what building the daemon and tensordctl needs (the image's build stage)
#   install_deps.sh coverage gcovr, for make coverage only (not make test's)
set -e
BUILD_PKGS="build-essential pkg-config libgrpc-dev libprotobuf-c-dev protobuf-c-compiler libopenblas-dev
liblapacke-dev libfftw3-dev libdnnl-dev libjemalloc-dev libsystemd-dev libmicrohttpd-dev python3"
PKGS="build-essential pkg-config procps libgrpc-dev libprotobuf-c-dev protobuf-c-compiler
libopenblas-dev liblapacke-dev libfftw3-dev libdnnl-dev libjemalloc-dev libsystemd-dev libmicrohttpd-dev check valgrind
python3-dev python3-numpy python3-pytest python3-hypothesis python3-torch python3-grpcio
python3-sklearn python3-tqdm python3-matplotlib
clang libclang-rt-14-dev"
[ "$1" = build ] && PKGS=$BUILD_PKGS
[ "$1" = coverage ] && PKGS=gcovr
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && { echo "deps: all installed"; exit 0; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "deps: installing$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
