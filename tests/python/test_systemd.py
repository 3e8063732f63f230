"""tensord under systemd, without systemd as PID 1: the notify protocol received on a
test NOTIFY_SOCKET (READY=1, STATUS=, WATCHDOG=1 with WATCHDOG_USEC, STOPPING=1),
socket activation through systemd-socket-activate (the gRPC socket, and the side socket
of the shared-memory transport), the units checked by systemd-analyze verify, the
sysusers/tmpfiles entries applied to a scratch root, the config file and its overrides,
journald priority prefixes, and peers identified by SO_PEERCRED in the log."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import ROOT, _binary

DEPLOY = os.path.join(ROOT, "deploy")
ENV_BASE = {"ASAN_OPTIONS": "allocator_may_return_null=1:detect_leaks=1",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}

PROBE = textwrap.dedent("""
    import numpy as np, tensord as torch
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert np.array_equal((torch.from_numpy(a) @ torch.from_numpy(a.T)).numpy(), a @ a.T)
    print(torch.transport())
""")


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENSORD_", "NOTIFY_SOCKET", "WATCHDOG_", "LISTEN_",
                                                                      "JOURNAL_STREAM"))}
    env.update(ENV_BASE)
    env.update(extra)
    return env


def _client(addr, **extra):
    env = dict(os.environ, TENSORD_ADDRESS=addr, **extra)
    p = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def _wait_path(path, proc, errp, timeout=30):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, "tensord exited %s:\n%s" % (proc.returncode, open(errp).read())
        assert time.monotonic() < deadline, "no %s" % path
        time.sleep(0.02)


def _stop(proc, errp):
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(30)
    err = open(errp, errors="replace").read()
    assert "ERROR: AddressSanitizer" not in err, err
    assert "runtime error:" not in err, err
    assert rc == 0, err
    return err


class NotifySocket:
    """An AF_UNIX datagram socket standing in for systemd's notify socket."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def read_until(self, pred, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.messages.append(data)
            if pred(data):
                return data
        raise AssertionError("no such notify message; got %r" % self.messages)

    def close(self):
        self.sock.close()


# ---- the notify protocol

def test_notify_ready_status_watchdog_stopping(tmp_path):
    ns = NotifySocket(str(tmp_path / "notify"))
    sock = str(tmp_path / "d.sock")
    errp = str(tmp_path / "err")
    env = _env(NOTIFY_SOCKET=ns.path, WATCHDOG_USEC="200000")  # a ping every 100 ms
    with open(errp, "wb") as err:
        proc = subprocess.Popen([_binary(), "--listen", "unix:" + sock, "--log-level", "warn", "--threads", "1"],
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        ns.read_until(lambda m: m.startswith("STATUS=listening on unix:" + sock))
        ns.read_until(lambda m: "READY=1" in m)
        assert os.path.exists(sock)  # READY comes once it listens
        assert _client("unix:" + sock) == "shm"
        ns.read_until(lambda m: m == "WATCHDOG=1")
        ns.read_until(lambda m: m == "WATCHDOG=1")
        proc.send_signal(signal.SIGTERM)
        ns.read_until(lambda m: m.startswith("STOPPING=1"))
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        ns.close()


def test_no_watchdog_pings_without_watchdog_usec(tmp_path):
    ns = NotifySocket(str(tmp_path / "notify"))
    sock = str(tmp_path / "d.sock")
    errp = str(tmp_path / "err")
    with open(errp, "wb") as err:
        proc = subprocess.Popen([_binary(), "--listen", "unix:" + sock, "--log-level", "warn"],
                                env=_env(NOTIFY_SOCKET=ns.path, WATCHDOG_USEC="200000", WATCHDOG_PID="1"),
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        ns.read_until(lambda m: "READY=1" in m)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        ns.read_until(lambda m: m.startswith("STOPPING=1"))
        assert "WATCHDOG=1" not in ns.messages  # WATCHDOG_PID names another process
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        ns.close()


# ---- socket activation

def _activate(tmp_path, shm):
    sock = str(tmp_path / "act.sock")
    errp = str(tmp_path / "err")
    cmd = ["systemd-socket-activate", "-l", sock]
    if shm:  # a nested activator adds the seqpacket socket and passes the first one on
        cmd += ["systemd-socket-activate", "--seqpacket", "-l", sock + ".shm"]
    cmd += [_binary(), "--log-level", "info", "--threads", "1"]
    with open(errp, "wb") as err:
        proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=err)
    _wait_path(sock, proc, errp)  # the activator execs the rest at the first connection
    return proc, sock, errp


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None, reason="no systemd-socket-activate")
def test_socket_activation_with_side_socket(tmp_path):
    proc, sock, errp = _activate(tmp_path, shm=True)
    try:
        assert _client("unix:" + sock) == "shm"
        assert _client("unix:" + sock, TENSORD_TRANSPORT="grpc") == "grpc"
    finally:
        err = _stop(proc, errp)
    assert "shared-memory side socket unix:%s.shm (socket activation)" % sock in err
    assert "listening on unix:" + sock in err


@pytest.mark.skipif(shutil.which("systemd-socket-activate") is None, reason="no systemd-socket-activate")
def test_socket_activation_stream_only_makes_its_side_socket(tmp_path):
    proc, sock, errp = _activate(tmp_path, shm=False)
    try:
        assert _client("unix:" + sock) == "shm"
        assert os.path.exists(sock + ".shm")
    finally:
        _stop(proc, errp)
    assert os.path.exists(sock)  # systemd's socket: the daemon leaves it in place


def test_inherited_socket_of_wrong_kind_refused(tmp_path):
    """An inherited UDP socket is not something tensord serves: a clear start-up error."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    # the LISTEN_FDS protocol by hand: the socket as fd 3, LISTEN_PID the daemon's own
    script = ("import os, sys; os.dup2(%d, 3); os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1'); "
              "os.execv(sys.argv[1], sys.argv[1:])" % u.fileno())
    p = subprocess.run([sys.executable, "-c", script, _binary(), "--log-level", "info"], env=_env(),
                       pass_fds=(u.fileno(),), capture_output=True, text=True, timeout=60)
    u.close()
    assert p.returncode == 1, p.stderr
    assert "inherited fd 3 is not a listening unix socket" in p.stderr, p.stderr


# ---- unit files

def _copy_units(tmp_path):
    d = tmp_path / "units"
    d.mkdir()
    svc = open(os.path.join(DEPLOY, "tensord.service")).read()
    svc = svc.replace("/usr/local/bin/tensord", os.path.abspath(_binary()))
    svc = svc.replace("/etc/tensord/tensord.conf", os.path.join(DEPLOY, "tensord.conf"))
    (d / "tensord.service").write_text(svc)
    shutil.copy(os.path.join(DEPLOY, "tensord.socket"), d / "tensord.socket")
    return d


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_units_verify(tmp_path):
    d = _copy_units(tmp_path)
    p = subprocess.run(["systemd-analyze", "verify", str(d / "tensord.service"), str(d / "tensord.socket")],
                       capture_output=True, text=True, timeout=60)
    ours = [l for l in (p.stdout + p.stderr).splitlines() if "tensord." in l]
    assert p.returncode == 0 and not ours, p.stdout + p.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_units_verify_catches_a_missing_binary(tmp_path):
    """The check above can fail: a unit whose ExecStart is missing is refused."""
    d = _copy_units(tmp_path)
    svc = (d / "tensord.service").read_text().replace(os.path.abspath(_binary()), "/nonexistent/tensord")
    (d / "tensord.service").write_text(svc)
    p = subprocess.run(["systemd-analyze", "verify", str(d / "tensord.service")], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode != 0 and "/nonexistent/tensord" in p.stderr


def test_unit_hardening_and_activation_keys():
    svc = open(os.path.join(DEPLOY, "tensord.service")).read()
    for key in ("Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                "PrivateTmp=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "UMask=0077", "User=tensord",
                "DeviceAllow=/dev/nvidiactl rw", "--config /etc/tensord/tensord.conf"):
        assert key in svc, key
    sock = open(os.path.join(DEPLOY, "tensord.socket")).read()
    for key in ("ListenStream=/run/tensord/tensord.sock", "ListenSequentialPacket=/run/tensord/tensord.sock.shm",
                "SocketGroup=tensord", "SocketMode=0660", "FileDescriptorName="):
        assert key in sock, key


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("systemd-sysusers") is None,
                    reason="systemd-sysusers --root needs root")
def test_sysusers_and_tmpfiles_apply(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "run").mkdir()
    p = subprocess.run(["systemd-sysusers", "--root", str(root), os.path.join(DEPLOY, "tensord.sysusers")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    passwd = (root / "etc" / "passwd").read_text()
    group = (root / "etc" / "group").read_text()
    assert any(l.startswith("tensord:") and l.endswith(":/usr/sbin/nologin") for l in passwd.splitlines()), passwd
    assert any(l.startswith("tensord:") for l in group.splitlines()), group
    p = subprocess.run(["systemd-tmpfiles", "--root", str(root), "--create", os.path.join(DEPLOY, "tensord.tmpfiles")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    st = os.stat(root / "run" / "tensord")
    assert st.st_mode & 0o777 == 0o750


# ---- the config file

def _debug_line(args, env=None, timeout=60):
    """Runs the daemon until it listens, returns (rc, stderr)."""
    p = subprocess.run([_binary(), "--print-config"] + args, env=env or _env(), capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def test_shipped_config_parses():
    rc, out, err = _debug_line(["--config", os.path.join(DEPLOY, "tensord.conf")])
    assert rc == 0, err
    assert "listen = unix:/run/tensord/tensord.sock" in out.splitlines()
    assert "log-level = info" in out.splitlines()


def test_config_layers(tmp_path):
    conf = tmp_path / "t.conf"
    conf.write_text("# a comment\n\nthreads = 3   # inline comment\nmax-memory = 1G\nlisten = unix:/a\n"
                    "listen = \"unix:/b\"\nlog-level = warn\ncache-pressure-percent = 2.5\n")
    rc, out, err = _debug_line(["--config", str(conf)])
    assert rc == 0, err
    lines = out.splitlines()
    assert "threads = 3" in lines and "max-memory = 1073741824" in lines and "log-level = warn" in lines
    assert "cache-pressure-percent = 2.5" in lines
    assert [l for l in lines if l.startswith("listen")] == ["listen = unix:/a", "listen = unix:/b"]
    # the environment overrides the file, a whole list at a time
    rc, out, err = _debug_line(["--config", str(conf)], env=_env(TENSORD_THREADS="5", TENSORD_LISTEN="unix:/c,unix:/d"))
    lines = out.splitlines()
    assert "threads = 5" in lines
    assert [l for l in lines if l.startswith("listen")] == ["listen = unix:/c", "listen = unix:/d"]
    # flags override both; TENSORD_CONFIG names the file
    rc, out, err = _debug_line(["--threads", "7", "--listen", "unix:/e"],
                               env=_env(TENSORD_CONFIG=str(conf), TENSORD_THREADS="5"))
    lines = out.splitlines()
    assert "threads = 7" in lines and "max-memory = 1073741824" in lines
    assert [l for l in lines if l.startswith("listen")] == ["listen = unix:/e"]


@pytest.mark.parametrize("text,line,words", [
    ("threads = 2\nbogus = 1\n", 2, "unknown key 'bogus'"),
    ("\n\nthreads = lots\n", 3, "threads wants a number"),
    ("max-memory = 12Q\n", 1, "max-memory wants a size"),
    ("log-level = loud\n", 1, "unknown log level 'loud'"),
    ("just words\n", 1, "expected 'key = value'"),
    ("insecure-tcp = maybe\n", 1, "insecure-tcp wants yes or no"),
    ("socket-mode = 0999\n", 1, "socket-mode wants an octal file mode"),
    ("cache-pressure-percent = 101\n", 1, "cache-pressure-percent wants a percentage from 0 to 100"),
])
def test_config_errors_name_file_and_line(tmp_path, text, line, words):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    p = subprocess.run([_binary(), "--config", str(conf)], env=_env(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "%s:%d: " % (conf, line) in p.stderr and words in p.stderr, p.stderr


def test_config_missing_file_and_bad_env(tmp_path):
    p = subprocess.run([_binary(), "--config", str(tmp_path / "none.conf")], env=_env(), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "none.conf: cannot read the config file" in p.stderr, p.stderr
    p = subprocess.run([_binary()], env=_env(TENSORD_THREADS="0"), capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "TENSORD_THREADS: threads wants a number" in p.stderr, p.stderr
    p = subprocess.run([_binary(), "--max-memory", "x"], env=_env(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "--max-memory: max-memory wants a size" in p.stderr, p.stderr


def test_daemon_serves_on_the_config_files_socket(tmp_path):
    sock = str(tmp_path / "c.sock")
    conf = tmp_path / "t.conf"
    conf.write_text("listen = unix:%s\nthreads = 2\nlog-level = debug\n" % sock)
    errp = str(tmp_path / "err")
    with open(errp, "wb") as err:
        proc = subprocess.Popen([_binary(), "--config", str(conf)], env=_env(), stdout=subprocess.DEVNULL, stderr=err)
    _wait_path(sock, proc, errp)
    try:
        assert _client("unix:" + sock) == "shm"
    finally:
        err = _stop(proc, errp)
    assert "2 intra-op threads" in err
    # the peer, identified by SO_PEERCRED, is in the session's log lines
    assert "opened (uid %d gid %d pid " % (os.getuid(), os.getgid()) in err, err


def test_socket_mode_applies_to_both_sockets(tmp_path):
    sock = str(tmp_path / "m.sock")
    errp = str(tmp_path / "err")
    with open(errp, "wb") as err:
        proc = subprocess.Popen([_binary(), "--listen", "unix:" + sock, "--socket-mode", "0660"], env=_env(),
                                stdout=subprocess.DEVNULL, stderr=err)
    _wait_path(sock, proc, errp)
    try:
        assert os.stat(sock).st_mode & 0o777 == 0o660
        assert os.stat(sock + ".shm").st_mode & 0o777 == 0o660
    finally:
        _stop(proc, errp)


# ---- journald

def test_journal_stream_gets_priority_prefixes(tmp_path):
    sock = str(tmp_path / "j.sock")
    errp = str(tmp_path / "err")
    with open(errp, "wb") as err:
        st = os.fstat(err.fileno())
        env = _env(JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        proc = subprocess.Popen([_binary(), "--listen", "unix:" + sock, "--log-level", "info"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    _wait_path(sock, proc, errp)
    bad = tmp_path / "bad.conf"
    bad.write_text("x\n")
    _stop(proc, errp)
    lines = [l for l in open(errp).read().splitlines() if l.startswith("<")]
    assert "<6>INFO listening on unix:" + sock in lines, lines
    assert "<6>INFO stopped" in lines
    # not the journal (another file's identity): the plain format
    with open(errp, "wb") as err:
        env = _env(JOURNAL_STREAM="1:1")
        proc = subprocess.Popen([_binary(), "--listen", "unix:" + sock, "--log-level", "info"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    _wait_path(sock, proc, errp)
    out = _stop(proc, errp)
    assert "tensord[%d]: INFO listening on unix:%s" % (proc.pid, sock) in out
