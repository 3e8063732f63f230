"""tensordctl against a real daemon: status and sessions agree with what a client holds
and did (pid, uid, command line, transport, ops), --json on every command, top's
refreshes, kill ends the session (its client gets an error, its memory goes back), and
who may do what: another uid (nobody, via setpriv when root) sees none of root's
sessions and cannot kill them; no daemon is exit status 3."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import tempfile

import pytest

from conftest import ROOT, start_daemon, stop_daemon

CTL = os.environ.get("TENSORD_CTL", os.path.join(ROOT, "build", "tensordctl"))

HOLDER = textwrap.dedent("""
    import sys, tensord as torch
    x = torch.ones(256, 1024)          # 1 MiB of float32
    for _ in range(50):
        x = x + 1
    assert x[0, 0].item() == 51.0
    print("ready", flush=True)
    sys.stdin.readline()               # hold the session until told
    try:
        (x * 2).sum().item()
        print("still-alive", flush=True)
    except Exception as e:
        print("error", type(e).__name__, str(e).replace("\\n", " "), flush=True)
""")


def ctl(addr, *args, user=None):
    cmd = [CTL, "--address", addr] + list(args)
    if user is not None:
        cmd = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def daemon1(tmp_path, scratch):
    _SCRIPT[:] = [os.path.join(scratch, "holder.py")]
    proc, addr, errp = start_daemon(str(tmp_path))
    yield addr
    rc, err = stop_daemon(proc, errp)
    assert "ERROR: AddressSanitizer" not in err, err
    assert rc == 0, err


@pytest.fixture(scope="module")
def scratch():
    """A directory every uid can enter (pytest's tmp_path is root's alone)."""
    d = tempfile.mkdtemp(prefix="tensordctl-test-")
    os.chmod(d, 0o755)
    with open(os.path.join(d, "holder.py"), "w") as f:
        f.write(HOLDER)
    os.chmod(os.path.join(d, "holder.py"), 0o644)
    yield d
    shutil.rmtree(d, ignore_errors=True)


_SCRIPT = []


def holder(addr, marker="holder-marker", user=None):
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    cmd = [sys.executable, _SCRIPT[0], marker]
    if user is not None:
        cmd = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups"] + cmd
        env["HOME"] = "/"
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    line = p.stdout.readline()
    assert line.strip() == "ready", line + p.stderr.read()
    return p


def finish(p):
    out, err = p.communicate("go\n", timeout=60)
    assert p.returncode == 0, err
    return out.strip()


def test_status_json_and_text(daemon1):
    p = holder(daemon1)
    try:
        r = ctl(daemon1, "--json", "status")
        assert r.returncode == 0, r.stderr
        s = json.loads(r.stdout)
        version = subprocess.run([os.environ.get("TENSORD_BIN", os.path.join(ROOT, "build", "tensord")),
                                  "--version"], capture_output=True, text=True).stdout.split()[1]
        assert s["version"] == version
        assert s["sessions"] == 1 and s["sessions_total"] == 1
        assert s["ops_executed"] >= 50
        assert s["uptime_s"] > 0 and s["pid"] > 0
        cpu = s["devices"][0]
        assert cpu["name"] == "cpu"
        # the test daemon has no GPU (no fake ones either): it says why, and lists the CPU only
        assert s["gpus"].startswith("no GPU: ") and len(s["gpus"]) > len("no GPU: ") and len(s["devices"]) == 1
        assert cpu["allocated"] >= 1 << 20          # the held 1 MiB tensor
        assert cpu["peak"] >= cpu["allocated"] and cpu["reserved"] >= cpu["allocated"]
        r = ctl(daemon1, "status")
        assert r.returncode == 0 and "sessions 1 (since start 1)" in r.stdout and "\ncpu " in r.stdout, r.stdout
    finally:
        finish(p)


def test_sessions_lists_the_client(daemon1):
    p = holder(daemon1, marker="sessions-marker-42")
    try:
        r = ctl(daemon1, "sessions", "--json")
        assert r.returncode == 0, r.stderr
        rows = json.loads(r.stdout)
        assert len(rows) == 1
        s = rows[0]
        assert s["pid"] == p.pid and s["uid"] == os.getuid() and s["gid"] == os.getgid()
        assert "sessions-marker-42" in s["cmdline"]
        assert s["transport"] == "shm"
        assert s["ops_executed"] >= 50 and s["ops_per_s"] > 0
        r = ctl(daemon1, "sessions")
        assert r.returncode == 0 and "sessions-marker-42" in r.stdout and " shm " in r.stdout, r.stdout
    finally:
        finish(p)


def test_top_refreshes(daemon1):
    p = holder(daemon1)
    try:
        r = ctl(daemon1, "top", "-n", "2", "-d", "0.2", "--json")
        assert r.returncode == 0, r.stderr
        frames = [json.loads(l) for l in r.stdout.splitlines()]
        assert len(frames) == 2
        for f in frames:
            assert f["status"]["sessions"] == 1 and f["sessions"][0]["pid"] == p.pid
        r = ctl(daemon1, "top", "-n", "1")
        assert r.returncode == 0 and "OPS/S" in r.stdout
    finally:
        finish(p)


def test_kill_ends_the_session(daemon1):
    p = holder(daemon1)
    rows = json.loads(ctl(daemon1, "--json", "sessions").stdout)
    r = ctl(daemon1, "--json", "kill", str(rows[0]["id"]))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"killed": rows[0]["id"]}
    out = finish(p)
    assert out.startswith("error"), out
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        s = json.loads(ctl(daemon1, "--json", "status").stdout)
        if s["sessions"] == 0:
            break
        time.sleep(0.05)
    assert s["sessions"] == 0 and s["devices"][0]["allocated"] == 0


def test_kill_unknown_and_bad_ids(daemon1):
    r = ctl(daemon1, "kill", "12345")
    assert r.returncode == 1 and "no session 12345" in r.stderr
    r = ctl(daemon1, "kill", "abc")
    assert r.returncode == 2 and "wants a session id" in r.stderr
    r = ctl(daemon1, "frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_no_daemon_is_status_3(tmp_path):
    r = ctl("unix:%s/none.sock" % tmp_path, "status")
    assert r.returncode == 3 and "no tensord answers" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root to run a client as nobody (setpriv)")
def test_other_uid_sees_and_kills_only_its_own(scratch):
    _SCRIPT[:] = [os.path.join(scratch, "holder.py")]
    proc, addr, errp = start_daemon(scratch)
    sock = addr[len("unix:"):]
    os.chmod(sock, 0o666)       # let nobody connect at all: the daemon decides the rest
    os.chmod(sock + ".shm", 0o666)
    nobody = 65534
    mine = holder(addr)
    theirs = holder(addr, marker="nobodys-session", user=nobody)
    try:
        rows = json.loads(ctl(addr, "--json", "sessions").stdout)   # root: both
        assert sorted(r["uid"] for r in rows) == sorted([0, nobody])
        root_id = [r["id"] for r in rows if r["uid"] == 0][0]
        their_id = [r["id"] for r in rows if r["uid"] == nobody][0]
        r = ctl(addr, "--json", "sessions", user=nobody)             # nobody: its own only
        assert r.returncode == 0, r.stderr
        seen = json.loads(r.stdout)
        assert [s["id"] for s in seen] == [their_id] and "nobodys-session" in seen[0]["cmdline"]
        r = ctl(addr, "kill", str(root_id), user=nobody)
        assert r.returncode == 1 and "belongs to another user" in r.stderr, r.stderr
        r = ctl(addr, "kill", str(their_id), user=nobody)            # its own: allowed
        assert r.returncode == 0, r.stderr
    finally:
        out_mine = finish(mine)
        out_theirs, _ = theirs.communicate("go\n", timeout=60)
        rc, err = stop_daemon(proc, errp)
    assert out_mine == "still-alive"
    assert out_theirs.startswith("error"), out_theirs
    assert rc == 0, err


SHARER = textwrap.dedent("""
    import sys, tensord as torch
    from tensord import _C
    t = torch.ones(1000)                       # 4000 bytes
    tok, desc = _C.share(t, 0)                 # a multi-use token, not pinned
    print(tok.hex(), repr(desc), flush=True)
    sys.stdin.readline()                       # revoked meanwhile
    try:
        _C.open(tok, desc).sum().item()         # the failed OPEN shows at this sync
        print("opened", flush=True)
    except Exception as e:
        print("error", type(e).__name__, flush=True)
""")


def test_tokens_listed_and_revoked(scratch):
    proc, daemon1, errp = start_daemon(scratch, name="tokens.sock")
    sock = daemon1[len("unix:"):]
    os.chmod(sock, 0o666)       # let nobody connect: the daemon decides what it may see
    env = dict(os.environ, TENSORD_ADDRESS=daemon1)
    p = subprocess.Popen([sys.executable, "-c", SHARER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        tok = p.stdout.readline().split()[0]
        rows = json.loads(ctl(daemon1, "--json", "tokens").stdout)
        sessions = json.loads(ctl(daemon1, "--json", "sessions").stdout)
        mine = [r for r in rows if r["token"] == tok]
        assert len(mine) == 1, rows
        assert mine[0]["session"] == sessions[0]["id"] and mine[0]["kind"] == "multi"
        assert mine[0]["bytes"] == 4000 and mine[0]["linger_s"] == -1 and not mine[0]["pinned"]
        assert tok in ctl(daemon1, "tokens").stdout
        # another uid sees none of root's tokens and cannot revoke them
        if os.geteuid() == 0:
            r = ctl(daemon1, "--json", "tokens", user=65534)
            assert r.returncode == 0 and json.loads(r.stdout) == [], r.stdout + r.stderr
            r = ctl(daemon1, "revoke", tok, user=65534)
            assert r.returncode == 1 and "no such token" in r.stderr, r.stderr
        r = ctl(daemon1, "--json", "revoke", tok)
        assert r.returncode == 0 and json.loads(r.stdout) == {"revoked": tok}, r.stderr
        assert not [r for r in json.loads(ctl(daemon1, "--json", "tokens").stdout) if r["token"] == tok]
        r = ctl(daemon1, "revoke", tok)
        assert r.returncode == 1 and "no such token" in r.stderr
        r = ctl(daemon1, "revoke", "xyz")
        assert r.returncode == 2 and "32 hex digits" in r.stderr
        out, err = p.communicate("go\n", timeout=60)
        assert out.strip() == "error RuntimeError", out + err
    finally:
        if p.poll() is None:
            p.kill()
        rc, err = stop_daemon(proc, errp)
    assert rc == 0 and "ERROR: AddressSanitizer" not in err, err
