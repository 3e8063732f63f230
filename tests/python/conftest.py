"""pytest set-up for the tensord Python suites.

One daemon for the whole session: $TENSORD_BIN (the Makefile's pytest target passes the
ASan/UBSan build) on a temporary unix socket.  TENSORD_ADDRESS is set before any test
module imports tensord.  At the end the daemon gets SIGTERM; it must exit 0 with no
sanitizer report on stderr.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

_DAEMON = {}


def _binary():
    b = os.environ.get("TENSORD_BIN")
    if b:
        return b
    for cand in ("build/asan/tensord", "build/tensord"):
        p = os.path.join(ROOT, cand)
        if os.path.isfile(p):
            return p
    raise RuntimeError("set TENSORD_BIN to the tensord binary")


def release_binary():
    """The release daemon beside the sanitized one (for tests that move gigabytes), or the
    sanitized one when there is none."""
    b = _binary()
    cand = os.path.join(os.path.dirname(os.path.dirname(b)), "tensord") if "/asan/" in b else b
    return cand if os.path.isfile(cand) else b


def start_daemon(tmpdir, name="tensord.sock", extra_env=None, binary=None, args=()):
    """Starts a daemon on unix:tmpdir/name; returns (proc, address, stderr_path)."""
    sock = os.path.join(tmpdir, name)
    addr = "unix:" + sock
    errp = os.path.join(tmpdir, name + ".stderr")
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "allocator_may_return_null=1:detect_leaks=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    env.pop("TENSORD_ADDRESS", None)
    if extra_env:
        env.update(extra_env)
    with open(errp, "wb") as err:
        proc = subprocess.Popen([binary or _binary(), "--listen", addr, "--log-level", "warn", "--threads", "2"]
                                + list(args),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env)
    deadline = time.monotonic() + 30
    # the side socket (shared-memory transport) is bound just after the gRPC one
    want = [sock] if env.get("TENSORD_NO_SHM") else [sock, sock + ".shm"]
    while not all(os.path.exists(w) for w in want):
        if proc.poll() is not None:
            raise RuntimeError("tensord exited with %s:\n%s" % (proc.returncode, open(errp).read()))
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("tensord did not create its socket")
        time.sleep(0.02)
    return proc, addr, errp


def stop_daemon(proc, errp, timeout=30):
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = "hung (killed)"
    err = open(errp, errors="replace").read()
    return rc, err


def pytest_configure(config):
    tmp = tempfile.mkdtemp(prefix="tensord-pytest-")
    proc, addr, errp = start_daemon(tmp)
    os.environ["TENSORD_ADDRESS"] = addr
    _DAEMON.update(proc=proc, address=addr, stderr=errp, tmp=tmp)


def pytest_unconfigure(config):
    proc = _DAEMON.get("proc")
    if proc is not None and proc.poll() is None:
        stop_daemon(proc, _DAEMON["stderr"])
    shutil.rmtree(_DAEMON.get("tmp", ""), ignore_errors=True)


@pytest.fixture(scope="session")
def daemon():
    """The session's daemon; at teardown it must stop cleanly with a clean stderr."""
    yield _DAEMON
    if "tensord" in sys.modules:
        try:
            sys.modules["tensord"]._C.disconnect()
            sys.modules["tensord"]._daemon._state["connected"] = False
        except Exception:
            pass
    rc, err = stop_daemon(_DAEMON["proc"], _DAEMON["stderr"])
    assert "ERROR: AddressSanitizer" not in err, err
    assert "runtime error:" not in err, err
    assert rc == 0, "tensord exited with %r; stderr:\n%s" % (rc, err)


@pytest.fixture(scope="session", autouse=True)
def _daemon_checked_at_end(daemon):
    yield


@pytest.fixture
def fresh_daemon(tmp_path):
    """A separate daemon for tests that count sessions or kill clients."""
    proc, addr, errp = start_daemon(str(tmp_path))
    yield {"proc": proc, "address": addr, "stderr": errp}
    rc, err = stop_daemon(proc, errp)
    assert "ERROR: AddressSanitizer" not in err, err
    assert "runtime error:" not in err, err
    assert rc == 0, "tensord exited with %r; stderr:\n%s" % (rc, err)
