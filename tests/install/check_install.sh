#!/bin/sh
# check_install.sh — the installed-header test (make check-install).
#   check_install.sh STAGE DAEMON
# STAGE holds a `make install DESTDIR=STAGE PREFIX=/usr/local`.  Builds installed_client.c
# with only what pkg-config says about the staged tensord.pc (PKG_CONFIG_SYSROOT_DIR maps
# its /usr/local paths into the stage), in a directory outside the source tree so no
# source header can stand in for a missing installed one, then runs it against DAEMON
# listening on a private unix socket.  Exits non-zero on any failure.
set -eu
stage=$1
daemon=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap "exit 1" INT TERM

export PKG_CONFIG_PATH="$stage/usr/local/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$stage"
export PKG_CONFIG_LIBDIR="$PKG_CONFIG_PATH"
flags=$(pkg-config --cflags --libs tensord)
echo "pkg-config tensord: $flags"
cp "$here/installed_client.c" "$work/"
(cd "$work" && ${CC:-cc} -std=c11 -Wall -Wextra -Werror -o installed_client installed_client.c $flags)

"$daemon" --listen "unix:$work/tensord.sock" --log-level warn &
pid=$!
LD_LIBRARY_PATH="$stage/usr/local/lib" "$work/installed_client" "unix:$work/tensord.sock"
