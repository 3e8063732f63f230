"""Lifetimes of the private daemon and of a lost daemon, with real processes.

- The private daemon (--parent-pid) exits when the Python process that started it dies,
  however it dies: SIGKILL at random moments (during import, daemon start-up, connect,
  computation), 20 times; its socket directory goes with it.
- A daemon killed with SIGKILL: the client's next call raises ConnectionError at once.
- A daemon on the default socket that is shutting down: a new client falls back to a
  private daemon cleanly.
"""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

from conftest import _binary, start_daemon

BUSY = textwrap.dedent("""
    import sys
    import tensord as torch
    from tensord import _daemon
    x = torch.full((64, 64), 1.0)
    print(_daemon.private_daemon_pid(), _daemon._state["dir"], flush=True)
    i = 0
    while True:
        x = (x + 1) * 0.5
        i += 1
        if i % 50 == 0:
            x.sum().item()
""")


def _private_env(tmp_path):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path), TENSORD_BIN=_binary())
    env.pop("TENSORD_ADDRESS", None)
    return env


def _daemons_of(parent_pid):
    """Live (non-zombie) tensord processes started with --parent-pid parent_pid."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % d) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"--parent-pid" in argv and argv[argv.index(b"--parent-pid") + 1] == str(parent_pid).encode() \
                and state != "Z":
            found.append(int(d))
    return found


def _wait_gone(parent_pid, timeout=15):
    deadline = time.monotonic() + timeout
    while _daemons_of(parent_pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_private_daemon_dies_with_sigkilled_parent(tmp_path):
    rng = random.Random(1234)
    env = _private_env(tmp_path)
    script = tmp_path / "busy.py"
    script.write_text(BUSY)
    # how long the start takes on this machine now (a loaded CI machine takes seconds), so
    # that the random moments below reach past it as often whatever the load
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    p.stdout.readline()
    start_up = time.monotonic() - t0
    p.send_signal(signal.SIGKILL)
    p.communicate()
    assert _wait_gone(p.pid), "the private daemon outlived its SIGKILLed parent"
    started = 0
    for rep in range(20):
        p = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        # a random moment: from the import to well into the computation
        time.sleep(rng.uniform(0.0, 2.0 * start_up + 0.5))
        p.send_signal(signal.SIGKILL)
        out, _ = p.communicate()
        assert _wait_gone(p.pid), "rep %d: the private daemon outlived its SIGKILLed parent" % rep
        if out.strip():
            started += 1
            dpid, d = out.split()
            deadline = time.monotonic() + 5
            while os.path.exists(d) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not os.path.exists(d), "rep %d: %s left behind" % (rep, d)
    assert started >= 5, "too few kills after the daemon started (%d of 20)" % started


def test_private_daemon_socket_dir_is_private(tmp_path):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import os, stat
        import tensord as torch
        from tensord import _daemon
        torch.zeros(1).item()
        d = _daemon._state["dir"]
        st = os.stat(d)
        assert stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
        assert _daemon.address() == "unix:" + os.path.join(d, "tensord.sock")
        assert "tensord-%d" % os.getpid() not in d        # nothing derived from the pid
        print(d)
    """)], env=_private_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    d = out.stdout.strip()
    deadline = time.monotonic() + 10
    while os.path.exists(d) and time.monotonic() < deadline:   # removed at a clean exit too
        time.sleep(0.05)
    assert not os.path.exists(d)


def test_parent_pid_already_gone(tmp_path):
    """--parent-pid naming a process that is not (any more) tensord's parent: the parent
    died before tensord could watch it, so it exits at once without serving."""
    sock = tmp_path / "s.sock"
    gone = subprocess.Popen(["true"])
    gone.wait()
    p = subprocess.run([_binary(), "--listen", "unix:%s" % sock, "--parent-pid", str(gone.pid)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert not sock.exists()


def test_daemon_sigkilled_next_call_raises_connection_error(tmp_path):
    script = textwrap.dedent("""
        import os, signal, time, threading
        import tensord as torch
        from tensord import _daemon
        a = torch.arange(10) * 2
        assert a.sum().item() == 90
        os.kill(_daemon.private_daemon_pid(), signal.SIGKILL)
        time.sleep(0.3)
        for f in (lambda: (a + 1).sum().item(), lambda: a.tolist(), lambda: torch.zeros(3).tolist(),
                  torch.synchronize):
            t0 = time.monotonic()
            try:
                f()
                raise SystemExit("no error")
            except ConnectionError as e:
                assert "tensord" in str(e), e
            assert time.monotonic() - t0 < 2.0
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], env=_private_env(tmp_path), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == "ok"


def test_daemon_sigkilled_during_sync(tmp_path):
    """The daemon dies while the client waits for an answer: ConnectionError, no hang."""
    script = textwrap.dedent("""
        import sys, time
        import tensord as torch
        a = torch.full((400, 400), 1.0, dtype=torch.float64)
        a.sum().item()
        print("ready", flush=True)
        t0 = time.monotonic()
        try:
            for _ in range(1000):
                a = (a @ a) * 0.0025
                a.sum().item()
            print("no error")
        except ConnectionError as e:
            print("ConnectionError", time.monotonic() - t0)
    """)
    proc, addr, _ = start_daemon(str(tmp_path))
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    p = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    out, err = p.communicate(timeout=30)
    assert out.startswith("ConnectionError"), out + err


def test_default_daemon_shutting_down_falls_back(tmp_path):
    """A client that connects while the daemon on the default socket is shutting down
    either gets it (before it stopped) or falls back to a private daemon; it never fails."""
    env = _private_env(tmp_path)
    sockdir = tmp_path / "tensord"
    sockdir.mkdir(mode=0o700)
    client = textwrap.dedent("""
        import tensord as torch
        assert (torch.arange(100) * 2).sum().item() == 9900
        print("ok")
    """)
    rng = random.Random(7)
    for rep in range(6):
        denv = dict(env)
        d = subprocess.Popen([_binary(), "--log-level", "warn", "--threads", "1"], env=denv,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not (sockdir / "tensord.sock").exists():
            assert time.monotonic() < deadline and d.poll() is None
            time.sleep(0.02)
        d.send_signal(signal.SIGTERM)
        time.sleep(rng.uniform(0.0, 0.1))
        c = subprocess.Popen([sys.executable, "-c", client], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        out, err = c.communicate(timeout=120)
        assert c.returncode == 0 and out.strip() == "ok", "rep %d: %s%s" % (rep, out, err)
        d.wait(30)
