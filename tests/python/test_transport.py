"""The shared-memory transport from Python, with real daemons and real processes: a local
client moves onto the rings on its own and says so; TENSORD_TRANSPORT=grpc and a daemon
without a side socket keep it on gRPC; results agree with numpy either way, for messages
far larger than the rings; a client SIGKILLed mid-upload on the rings is cleaned up; a
client whose daemon dies gets ConnectionError at its next call, never a hang."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

import tensord as torch
import tensord._C as _C
from conftest import start_daemon, stop_daemon

PROBE = textwrap.dedent("""
    import numpy as np, tensord as torch
    a = np.random.default_rng(0).standard_normal((1500, 1100)).astype(np.float32)  # 6.6 MB
    t = torch.from_numpy(a)
    b = (t * 2 + 1).numpy()
    assert np.array_equal(b, a * 2 + 1)
    print(torch.transport())
""")


def _run(addr, env_extra=None, script=PROBE):
    env = dict(os.environ, TENSORD_ADDRESS=addr, **(env_extra or {}))
    p = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_this_process_is_on_the_rings():
    assert torch.transport() == "shm"
    x = torch.arange(10.0)
    assert (x * x).sum().item() == 285.0


def test_transport_choice(fresh_daemon):
    addr = fresh_daemon["address"]
    assert _run(addr) == "shm"
    assert _run(addr, {"TENSORD_TRANSPORT": "grpc"}) == "grpc"


def test_daemon_without_side_socket_serves_grpc(tmp_path):
    proc, addr, errp = start_daemon(str(tmp_path), extra_env={"TENSORD_NO_SHM": "1"})
    try:
        assert not os.path.exists(addr[len("unix:"):] + ".shm")
        assert _run(addr) == "grpc"
    finally:
        rc, err = stop_daemon(proc, errp)
    assert rc == 0, err


def test_side_socket_mode_follows_grpc_socket(fresh_daemon):
    sock = fresh_daemon["address"][len("unix:"):]
    assert os.stat(sock + ".shm").st_mode & 0o777 == os.stat(sock).st_mode & 0o777


def test_side_socket_removed_at_exit(tmp_path):
    proc, addr, errp = start_daemon(str(tmp_path))
    side = addr[len("unix:"):] + ".shm"
    assert os.path.exists(side)
    rc, err = stop_daemon(proc, errp)
    assert rc == 0, err
    assert not os.path.exists(side)


UPLOADER = textwrap.dedent("""
    import numpy as np, tensord as torch
    print(torch.transport(), flush=True)
    keep = []
    a = np.ones((1024, 1024), np.float32)
    while True:
        keep.append(torch.from_numpy(a) + 1)   # 4 MiB uploads streaming through the rings
""")


def _fds(pid):
    return sorted(os.listdir("/proc/%d/fd" % pid))


def test_client_killed_mid_upload_on_rings(fresh_daemon):
    addr = fresh_daemon["address"]
    base = _C.stats(addr)
    fds = _fds(fresh_daemon["proc"].pid)
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    p = subprocess.Popen([sys.executable, "-c", UPLOADER], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "shm", p.stderr.read()
        deadline = time.monotonic() + 60
        while _C.stats(addr)["bytes_in_use"] < (40 << 20):
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < deadline, "the uploader never got going"
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
        p.stdout.close()
        p.stderr.close()
    deadline = time.monotonic() + 20
    while True:
        s = _C.stats(addr)
        if s["sessions"] == base["sessions"] and s["bytes_in_use"] == base["bytes_in_use"]:
            break
        assert time.monotonic() < deadline, s
        time.sleep(0.05)
    # its ring memfd and side socket are closed (and its arenas, once the cache is
    # emptied), and no file was ever made for them
    _run(addr, script="import tensord; tensord.cpu.empty_cache(); tensord.synchronize()")
    deadline = time.monotonic() + 10
    while len(_fds(fresh_daemon["proc"].pid)) > len(fds) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_fds(fresh_daemon["proc"].pid)) <= len(fds), (fds, _fds(fresh_daemon["proc"].pid))
    assert not [f for f in os.listdir("/dev/shm") if "tensord" in f]
    assert _run(addr) == "shm"  # the daemon goes on


WAITER = textwrap.dedent("""
    import sys, time, tensord as torch
    x = torch.ones(3)
    print(torch.transport(), flush=True)
    sys.stdin.readline()           # the daemon is killed meanwhile
    t0 = time.monotonic()
    try:
        (x + 1).sum().item()
    except ConnectionError as e:
        print("ConnectionError", round(time.monotonic() - t0, 1), e, flush=True)
""")


def test_daemon_death_is_a_connection_error(tmp_path):
    proc, addr, errp = start_daemon(str(tmp_path))
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    p = subprocess.Popen([sys.executable, "-c", WAITER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "shm", p.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        out, err = p.communicate("\n", timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert out.startswith("ConnectionError"), (out, err)
    assert float(out.split()[1]) < 5.0, out
