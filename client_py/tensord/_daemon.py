"""Finding or starting the daemon (the embedded default) and connecting to it.

Order: $TENSORD_ADDRESS; else the default socket when it exists and answers; else a
private daemon started for this process: $TENSORD_BIN, else the `tensord` next to the
package in the build tree (build/python/tensord/ -> build/tensord), else `tensord` on
PATH.  It listens on unix:/tmp/tensord-<uid>/private-<pid>.sock and is stopped at exit.
"""
import atexit
import os
import shutil
import signal
import subprocess
import time

from . import _C

_state = {"connected": False, "proc": None, "address": None}

CONNECT_TIMEOUT_MS = 10000


def _find_binary():
    b = os.environ.get("TENSORD_BIN")
    if b:
        return b
    here = os.path.dirname(os.path.abspath(__file__))
    cand = os.path.normpath(os.path.join(here, "..", "..", "tensord"))
    if os.path.isfile(cand) and os.access(cand, os.X_OK):
        return cand
    b = shutil.which("tensord")
    if b:
        return b
    raise RuntimeError("tensord: no daemon reachable and no tensord binary found "
                       "(set TENSORD_ADDRESS, or TENSORD_BIN, or put tensord on PATH)")


def _default_alive():
    try:
        addr = _C.default_address()
    except Exception:
        return None
    if addr.startswith("unix:"):
        path = addr[5:]
        if not os.path.exists(path):
            return None
    try:
        _C.connect(addr, 1000)
        return addr
    except ConnectionError:
        return None


def _start_private():
    binary = _find_binary()
    d = "/tmp/tensord-%d" % os.getuid()
    os.makedirs(d, mode=0o700, exist_ok=True)
    try:
        os.chmod(d, 0o700)
    except OSError:
        pass
    path = os.path.join(d, "private-%d.sock" % os.getpid())
    if os.path.exists(path):
        os.unlink(path)
    addr = "unix:" + path
    proc = subprocess.Popen([binary, "--listen", addr, "--log-level", "warn"],
                            stdin=subprocess.DEVNULL, close_fds=True, preexec_fn=_die_with_parent)
    _state["proc"] = proc
    deadline = time.monotonic() + CONNECT_TIMEOUT_MS / 1000.0
    while True:
        if proc.poll() is not None:
            raise RuntimeError("tensord: the private daemon %s exited with status %d" % (binary, proc.returncode))
        if os.path.exists(path):
            try:
                _C.connect(addr, 1000)
                return addr
            except ConnectionError:
                pass
        if time.monotonic() > deadline:
            _stop_private()
            raise ConnectionError("tensord: the private daemon did not answer on %s within %d s"
                                  % (addr, CONNECT_TIMEOUT_MS // 1000))
        time.sleep(0.02)


def _die_with_parent():
    # the private daemon must not outlive a client killed before its atexit hook runs
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _stop_private():
    proc = _state["proc"]
    _state["proc"] = None
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except OSError:
        pass


def _at_exit():
    if _state["connected"]:
        _state["connected"] = False
        try:
            _C.disconnect()
        except Exception:
            pass
    _stop_private()


def ensure():
    """Connects on first use; cheap afterwards."""
    if _state["connected"]:
        return
    env = os.environ.get("TENSORD_ADDRESS")
    if env:
        _C.connect(env, CONNECT_TIMEOUT_MS)
        addr = env
    else:
        addr = _default_alive() or _start_private()
    _state["address"] = addr
    _state["connected"] = True


def address():
    ensure()
    return _state["address"]


def private_daemon_pid():
    p = _state["proc"]
    return p.pid if p is not None else None


atexit.register(_at_exit)
