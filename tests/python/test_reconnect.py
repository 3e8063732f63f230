"""Reconnecting after the daemon went away (tensord.reconnect, set_auto_reconnect),
with real daemons killed and restarted:

- a system daemon SIGKILLed and restarted on the same socket: the client's next call
  raises ConnectionError; reconnect() opens a session on the new daemon, new tensors
  compute (checked against numpy), old ones raise RuntimeError, the default dtype carries
  over; reconnect() while no daemon answers raises ConnectionError and can be retried.
- TENSORD_RECONNECT=1 with a private daemon that is SIGKILLed: the call that finds the
  loss raises ConnectionError, the next one runs on a new private daemon (another pid).
- The same over the gRPC transport (TENSORD_TRANSPORT=grpc).
"""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import _binary, start_daemon, stop_daemon

CLIENT = textwrap.dedent("""
    import sys, time
    import numpy as np
    import tensord as torch
    torch.set_default_dtype(torch.float64)
    a = torch.ones(100, 100)
    assert a.sum().item() == 10000
    print("ready", flush=True)
    sys.stdin.readline()                     # the daemon is killed meanwhile
    try:
        (a @ a).sum().item()
        raise SystemExit("no ConnectionError")
    except ConnectionError as e:
        assert "lost connection to tensord" in str(e), e
    try:
        torch.reconnect(timeout=0.5)         # not restarted yet: no daemon answers
        raise SystemExit("reconnect without a daemon")
    except ConnectionError:
        pass
    print("down", flush=True)
    sys.stdin.readline()                     # restarted now
    torch.reconnect()
    x = np.arange(12.0).reshape(3, 4)
    t = torch.from_numpy(x)
    np.testing.assert_allclose((t @ t.T).numpy(), x @ x.T)
    h = (torch.arange(3) / 2).numpy()     # integer true division: the default float, in both
    assert h.dtype == np.float64 and h.tolist() == [0.0, 0.5, 1.0], h
    try:
        a.sum().item()
        raise SystemExit("old tensor usable")
    except RuntimeError as e:
        assert "session that was closed" in str(e), e
    print("ok", torch.transport(), flush=True)
""")


@pytest.mark.parametrize("transport", ["default", "grpc"])
def test_reconnect_after_restart(tmp_path, transport):
    proc, addr, errp = start_daemon(str(tmp_path))
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    if transport == "grpc":
        env["TENSORD_TRANSPORT"] = "grpc"
    p = subprocess.Popen([sys.executable, "-c", CLIENT], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        os.unlink(addr[len("unix:"):])   # a supervisor's restart finds a stale socket
        os.unlink(addr[len("unix:"):] + ".shm")
        p.stdin.write("go\n")
        p.stdin.flush()
        line = p.stdout.readline().strip()
        assert line == "down", line + p.stderr.read()
        proc, addr2, errp = start_daemon(str(tmp_path))
        assert addr2 == addr
        out, err = p.communicate("go\n", timeout=120)
        assert p.returncode == 0, out + err
        want = "ok grpc" if transport == "grpc" else "ok shm"
        assert out.strip() == want, out + err
    finally:
        if p.poll() is None:
            p.kill()
        rc, err = stop_daemon(proc, errp)
    assert rc == 0 and "ERROR" not in err, err


def test_auto_reconnect_private_daemon(tmp_path):
    script = textwrap.dedent("""
        import os, signal, time
        import numpy as np
        import tensord as torch
        from tensord import _daemon
        a = torch.arange(10) * 2
        assert a.sum().item() == 90
        first = _daemon.private_daemon_pid()
        os.kill(first, signal.SIGKILL)
        time.sleep(0.3)
        try:
            a.sum().item()
            raise SystemExit("no ConnectionError")
        except ConnectionError:
            pass
        b = torch.arange(5) * 3             # reconnects first: a new private daemon
        assert b.tolist() == [0, 3, 6, 9, 12], b.tolist()
        second = _daemon.private_daemon_pid()
        assert second not in (None, first), (first, second)
        try:
            a.tolist()
            raise SystemExit("old tensor usable")
        except RuntimeError as e:
            assert "session that was closed" in str(e), e
        print("ok")
    """)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path), TENSORD_BIN=_binary(), TENSORD_RECONNECT="1")
    env.pop("TENSORD_ADDRESS", None)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == "ok"
