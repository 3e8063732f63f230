#!/bin/sh
# check_install.sh — the installed-header test (make check-install).
#   check_install.sh STAGE DAEMON [REINSTALL PYTHON]
# STAGE holds a `make install DESTDIR=STAGE PREFIX=/usr/local`.  Builds installed_client.c
# with only what pkg-config says about the staged tensord.pc (PKG_CONFIG_SYSROOT_DIR maps
# its /usr/local paths into the stage), in a directory outside the source tree so no
# source header can stand in for a missing installed one, then runs it against DAEMON
# listening on a private unix socket.  Given REINSTALL (a command that installs into STAGE
# again) and PYTHON, a Python client of the staged package keeps working while the package
# is installed over it (upgrade_client.py): an upgrade must never rewrite a library that a
# running trainer maps.  Exits non-zero on any failure.
set -eu
stage=$1
daemon=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pid=
client=
cleanup() {
    [ -z "$client" ] || kill "$client" 2>/dev/null || true
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

[ $# -ge 4 ] || exit 0
site=$("$4" -c "import sys;print('python%d.%d' % sys.version_info[:2])")
TENSORD_ADDRESS="unix:$work/tensord.sock" PYTHONPATH="$stage/usr/local/lib/$site/dist-packages" \
    "$4" "$here/upgrade_client.py" "$work/reinstalled" > "$work/upgrade.out" 2>&1 &
client=$!
i=0
until grep -q before "$work/upgrade.out" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -ge 600 ] || ! kill -0 $client 2>/dev/null; then
        cat "$work/upgrade.out"; exit 1
    fi
    sleep 0.05
done
sh -c "$3" >/dev/null
touch "$work/reinstalled"
if ! wait $client; then
    echo "check_install: a Python client died while the package was installed over it:"
    cat "$work/upgrade.out"
    exit 1
fi
cat "$work/upgrade.out"
echo "check_install: a running Python client survived an install over it"
