"""Finding or starting the daemon (the embedded default) and connecting to it.

Order: $TENSORD_ADDRESS; else the default socket when it exists and answers (a daemon
that is shutting down does not answer: we fall back); else a private daemon started for
this process: $TENSORD_BIN, else the `tensord` next to the package in the build tree
(build/python/tensord/ -> build/tensord), else `tensord` on PATH.

The private daemon listens on a socket in a fresh 0700 directory (mkdtemp: no
guessable path, only this user can reach it) and is started with --parent-pid: it
shuts down when this process exits, however it dies (SIGKILL included), and removes
its directory.  It runs in its own session, so a Ctrl-C in the terminal reaches only
this process.

Threads: one connection per process, made once under a lock (ensure() is cheap after
that).  Fork: the child keeps the address but not the connection; its first call
connects its own session (the C extension abandons the parent's client in the child
without a call on it), and it never stops the parent's private daemon.
"""
import atexit
import os
import sys
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from . import _C

_state = {"connected": False, "proc": None, "address": None, "dir": None}
_lock = threading.Lock()

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
        # a daemon that got SIGTERM may still accept the attach and end the session
        # right after: one round trip proves it serves, else fall back
        _C.sync()
        return addr
    except (ConnectionError, RuntimeError):
        _C.disconnect()
        return None


def _private_dir():
    # a unix socket path has at most 107 bytes: a long $TMPDIR falls back to /tmp
    base = tempfile.gettempdir()
    if len(base) > 80:
        base = "/tmp"
    return tempfile.mkdtemp(prefix="tensord-", dir=base)


def _start_private(connect=None):
    connect = connect or _C.connect
    binary = _find_binary()
    d = _private_dir()
    _state["dir"] = d
    path = os.path.join(d, "tensord.sock")
    addr = "unix:" + path
    proc = subprocess.Popen([binary, "--listen", addr, "--parent-pid", str(os.getpid()), "--log-level", "warn"],
                            stdin=subprocess.DEVNULL, close_fds=True, start_new_session=True)
    _state["proc"] = proc
    deadline = time.monotonic() + CONNECT_TIMEOUT_MS / 1000.0
    while True:
        if proc.poll() is not None:
            _stop_private()
            raise RuntimeError("tensord: the private daemon %s exited with status %d" % (binary, proc.returncode))
        if os.path.exists(path):
            try:
                connect(addr, 1000)
                return addr
            except ConnectionError:
                pass
        if time.monotonic() > deadline:
            _stop_private()
            raise ConnectionError("tensord: the private daemon did not answer on %s within %d s"
                                  % (addr, CONNECT_TIMEOUT_MS // 1000))
        time.sleep(0.02)


def _stop_private():
    proc, d = _state["proc"], _state["dir"]
    _state["proc"] = _state["dir"] = None
    if proc is not None and proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        except OSError:
            pass
    if d is not None:
        # the daemon removes it on a clean exit; this covers one that was killed
        shutil.rmtree(d, ignore_errors=True)


def _at_exit():
    if _state["connected"]:
        _state["connected"] = False
        try:
            _C.disconnect()
        except Exception:
            pass
    _stop_private()


def _after_fork_child():
    # The connection is the parent's (the extension already dropped it without a call);
    # the private daemon, its directory and the lock state are the parent's too.
    global _lock
    _lock = threading.Lock()
    _state["connected"] = False
    _state["proc"] = None
    _state["dir"] = None


def _before_fork():
    # The session's fork grant, after everything recorded so far has run: the child opens
    # the tensors it inherited through it (docs/design/sharing.md).  A failure only means
    # the child cannot use inherited tensors (it says so at their first use).
    if _state["connected"]:
        try:
            _C.fork_prepare()
        except Exception:
            pass


def _connect():
    addr = _state["address"] or os.environ.get("TENSORD_ADDRESS")
    if addr:
        # an address known from before (a forked child reaches its parent's daemon)
        _C.connect(addr, CONNECT_TIMEOUT_MS)
        return addr
    return _default_alive() or _start_private()


def _env_bytes(name, default):
    """An environment variable holding a byte count, with an optional K, M or G suffix."""
    v = os.environ.get(name, "").strip().upper()
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(v[-1:], 1)
    try:
        return int(v[:-1] if scale > 1 else v) * scale
    except ValueError:
        return default


def _numpy_arenas():
    """numpy's data-memory handler (docs/design/shared_memory.md, "numpy's own arrays"):
    arrays of TENSORD_NUMPY_ARENA_MIN bytes (64 KiB) and more get page-aligned private
    memory of their own, which from_numpy/as_tensor convert into tensord storage the first
    time they alias it, so that they share memory both ways as torch.from_numpy does.
    Installed when tensord is imported, in the importing thread's numpy context, unless
    TENSORD_NUMPY_ARENAS=0; converting needs the shared-memory transport (else a copy)."""
    if os.environ.get("TENSORD_NUMPY_ARENAS", "1") == "0":
        return
    _C.numpy_arena_install(_env_bytes("TENSORD_NUMPY_ARENA_MIN", 64 << 10))


def ensure():
    """Connects on first use (once per process, whichever thread comes first); cheap
    afterwards."""
    if _state["connected"]:
        return
    with _lock:
        if _state["connected"]:
            return
        _state["address"] = _connect()
        _state["connected"] = True
        _session_options()
        if "tensord.multiprocessing" in sys.modules and _state["address"]:
            # processes it starts (spawn, forkserver) reach this daemon
            os.environ["TENSORD_ADDRESS"] = _state["address"]


def reconnect(timeout=CONNECT_TIMEOUT_MS / 1000.0):
    """A new session after the daemon went away (docs/guide.md, "How it runs"): on the
    same address, waiting up to timeout seconds for a restarted daemon to answer there; or,
    when this process's private daemon died, on a new private daemon.  The old session's
    tensors are gone: using one raises RuntimeError.  The default dtype, the current device
    and the queue depth carry over.  With a daemon still serving, it opens a fresh session
    there all the same.  Before any connection it just connects."""
    with _lock:
        if not _state["connected"]:
            _state["address"] = _connect()
        else:
            proc = _state["proc"]
            if proc is not None and proc.poll() is not None:
                # our private daemon died (its parent-pid watch means it never restarts
                # by itself): start another, its socket in a new directory
                _stop_private()
                _state["address"] = _start_private(connect=_C.reconnect)
            else:
                _C.reconnect(_state["address"], max(1, int(timeout * 1000)))
        _state["connected"] = True
        _session_options()
    return _state["address"]


def _session_options():
    """The kernel options torch.backends' TF32 switches set, for a new session."""
    options = sys.modules.get("tensord.backends._options")
    if options is not None:
        options.resend()


def _auto_reconnect():
    reconnect()


def set_auto_reconnect(on=True):
    """Opt-in: when the daemon went away, the call after the one that raised
    ConnectionError reconnects first (reconnect()), so a long-running program goes on
    with new tensors while the lost ones raise RuntimeError.  TENSORD_RECONNECT=1 in the
    environment turns it on at import."""
    _C.set_reconnect_hook(_auto_reconnect if on else None)


def address():
    ensure()
    return _state["address"]


def export_address():
    """Connects if needed and puts the daemon's address in $TENSORD_ADDRESS, so that
    processes started from here (multiprocessing's spawn and forkserver) reach the same
    daemon."""
    addr = address()
    if addr and os.environ.get("TENSORD_ADDRESS") != addr:
        os.environ["TENSORD_ADDRESS"] = addr
    return addr


def private_daemon_pid():
    p = _state["proc"]
    return p.pid if p is not None else None


atexit.register(_at_exit)
if os.environ.get("TENSORD_RECONNECT", "0") == "1":
    set_auto_reconnect(True)
os.register_at_fork(before=_before_fork, after_in_child=_after_fork_child)


_numpy_arenas()
