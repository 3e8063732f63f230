"""Who gets in, with real daemons, clients and certificates: TCP is refused at start-up
without a token, and without TLS unless insecure-tcp on loopback; with TLS and a token
a client computes, a wrong or missing token is refused (UNAUTHENTICATED), a plain-text
client never gets through, and TCP callers get no admin calls; a uid the socket's mode
shuts out cannot connect.  (Admin calls refused to a non-admin uid: test_tensordctl;
another session's handle numbers answered as unknown: check_rpc.)"""
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from conftest import ROOT, _binary, start_daemon, stop_daemon

CTL = os.environ.get("TENSORD_CTL", os.path.join(ROOT, "build", "tensordctl"))
PROBE = textwrap.dedent("""
    import numpy as np, tensord as torch
    a = np.arange(20.0).reshape(4, 5)
    assert np.allclose((torch.from_numpy(a) * 3).sum(0).numpy(), (a * 3).sum(0))
    print(torch.transport())
""")


@pytest.fixture(scope="module")
def pki():
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a test certificate")
    d = tempfile.mkdtemp(prefix="tensord-auth-")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/key.pem",
                        "-out", d + "/cert.pem", "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    token = secrets.token_hex(24)
    with open(d + "/token", "w") as f:
        f.write(token + "\n")
    yield {"dir": d, "cert": d + "/cert.pem", "key": d + "/key.pem", "token_file": d + "/token", "token": token}
    shutil.rmtree(d, ignore_errors=True)


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORD_")}
    env["ASAN_OPTIONS"] = "allocator_may_return_null=1:detect_leaks=1"
    env.update(extra)
    return env


def _start(args, tmp_path):
    errp = str(tmp_path / "err")
    with open(errp, "wb") as err:
        proc = subprocess.Popen([_binary(), "--log-level", "info", "--threads", "1"] + args, env=_env(),
                                stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, open(errp).read()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(errp).read())
        if m:
            return proc, "127.0.0.1:" + m.group(1), errp
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _stop(proc, errp):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, open(errp).read()
    err = open(errp).read()
    assert "ERROR: AddressSanitizer" not in err, err
    return err


def _client(addr, **env):
    return subprocess.run([sys.executable, "-c", PROBE], env=_env(TENSORD_ADDRESS=addr, PYTHONPATH=os.environ.get(
        "PYTHONPATH", ""), **env), capture_output=True, text=True, timeout=120)


def _refused_at_start(args):
    p = subprocess.run([_binary()] + args, env=_env(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, p.stderr
    return p.stderr


def test_tcp_refused_without_token_or_tls(pki):
    err = _refused_at_start(["--listen", "127.0.0.1:0"])
    assert "TCP address 127.0.0.1:0 needs a bearer token" in err
    err = _refused_at_start(["--listen", "127.0.0.1:0", "--token-file", pki["token_file"]])
    assert "TCP address 127.0.0.1:0 needs TLS" in err
    # insecure-tcp is for loopback only
    err = _refused_at_start(["--listen", "0.0.0.0:0", "--token-file", pki["token_file"], "--insecure-tcp", "yes"])
    assert "TCP address 0.0.0.0:0 needs TLS" in err
    err = _refused_at_start(["--listen", "127.0.0.1:0", "--token-file", pki["token_file"], "--tls-cert", pki["cert"]])
    assert "tls-cert and tls-key go together" in err


def test_short_token_and_missing_files_refused(pki, tmp_path):
    short = tmp_path / "short"
    short.write_text("abc\n")
    err = _refused_at_start(["--listen", "127.0.0.1:0", "--token-file", str(short)])
    assert "shorter than 16 characters" in err
    err = _refused_at_start(["--listen", "127.0.0.1:0", "--token-file", str(tmp_path / "none")])
    assert "cannot read the token file" in err


def test_tls_and_token(pki, tmp_path):
    proc, addr, errp = _start(["--listen", "127.0.0.1:0", "--tls-cert", pki["cert"], "--tls-key", pki["key"],
                               "--token-file", pki["token_file"]], tmp_path)
    try:
        ok = _client(addr, TENSORD_TLS_CA=pki["cert"], TENSORD_TOKEN_FILE=pki["token_file"])
        assert ok.returncode == 0 and ok.stdout.strip() == "grpc", ok.stderr
        ok = _client(addr, TENSORD_TLS_CA=pki["cert"], TENSORD_TOKEN=pki["token"])
        assert ok.returncode == 0, ok.stderr
        wrong = _client(addr, TENSORD_TLS_CA=pki["cert"], TENSORD_TOKEN=pki["token"][:-1] + "x")
        assert wrong.returncode != 0 and "missing or wrong bearer token" in wrong.stderr, wrong.stderr
        none = _client(addr, TENSORD_TLS_CA=pki["cert"])
        assert none.returncode != 0 and "missing or wrong bearer token" in none.stderr, none.stderr
        plain = _client(addr, TENSORD_TOKEN=pki["token"])      # no TLS: nothing gets through
        assert plain.returncode != 0 and "ConnectionError" in plain.stderr, plain.stderr
        env = _env(TENSORD_TLS_CA=pki["cert"], TENSORD_TOKEN=pki["token"])
        st = subprocess.run([CTL, "--address", addr, "status"], env=env, capture_output=True, text=True, timeout=60)
        assert st.returncode == 0 and "tensord " in st.stdout, st.stderr
        ls = subprocess.run([CTL, "--address", addr, "sessions"], env=env, capture_output=True, text=True, timeout=60)
        assert ls.returncode == 1 and "admin calls need a local (unix socket) caller" in ls.stderr, ls.stderr
        bad = subprocess.run([CTL, "--address", addr, "status"], env=_env(TENSORD_TLS_CA=pki["cert"],
                             TENSORD_TOKEN="x" * 48), capture_output=True, text=True, timeout=60)
        assert bad.returncode == 1 and "missing or wrong bearer token" in bad.stderr
    finally:
        err = _stop(proc, errp)
    assert "refused: missing or wrong bearer token" in err


def test_insecure_tcp_on_loopback_still_needs_the_token(pki, tmp_path):
    proc, addr, errp = _start(["--listen", "127.0.0.1:0", "--insecure-tcp", "yes", "--token-file", pki["token_file"]],
                              tmp_path)
    try:
        ok = _client(addr, TENSORD_TOKEN=pki["token"])
        assert ok.returncode == 0, ok.stderr
        wrong = _client(addr, TENSORD_TOKEN="y" * 48)
        assert wrong.returncode != 0 and "missing or wrong bearer token" in wrong.stderr
    finally:
        err = _stop(proc, errp)
    assert "plain TCP without TLS (insecure-tcp)" in err


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root to run a client as nobody (setpriv)")
def test_uid_shut_out_by_socket_mode():
    d = tempfile.mkdtemp(prefix="tensord-mode-")
    os.chmod(d, 0o755)
    proc, addr, errp = start_daemon(d)
    try:
        os.chmod(addr[len("unix:"):], 0o660)   # owner and group only, as tensord.socket makes it
        cmd = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", sys.executable, "-c", PROBE]
        p = subprocess.run(cmd, env=_env(TENSORD_ADDRESS=addr, PYTHONPATH=os.environ.get("PYTHONPATH", ""),
                                         HOME="/"), capture_output=True, text=True, timeout=120)
        assert p.returncode != 0 and "ConnectionError" in p.stderr, p.stderr
        assert _client(addr).returncode == 0     # the owner still gets in
    finally:
        rc, err = stop_daemon(proc, errp)
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, err
