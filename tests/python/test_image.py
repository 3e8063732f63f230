"""The container image, built and run (slow: only with TENSORD_IMAGE_TEST=1; `make
check-image` builds it first with `make image`).  The daemon runs from the image as its
non-root user with the socket on a volume (a host directory); a Python client on the
host connects through that socket (on the shared-memory transport: memfds cross the
container boundary) and computes; the image's health check command answers; the runtime
stage lacks no library ldd asks for; SIGTERM stops the daemon cleanly.

Runs with buildah (chroot isolation), which works in VMs where `podman run` cannot set
rlimits; with podman available the same image runs as `podman run -v DIR:/run/tensord`."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

IMAGE = os.environ.get("TENSORD_IMAGE", "localhost/tensord:0.1.0")

pytestmark = pytest.mark.skipif(os.environ.get("TENSORD_IMAGE_TEST") != "1" or shutil.which("buildah") is None,
                                reason="image test: set TENSORD_IMAGE_TEST=1 (needs buildah and a built image; "
                                       "make check-image)")

WORKLOAD = textwrap.dedent("""
    import numpy as np, tensord as torch
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((64, 32)), rng.standard_normal((32, 16))
    got = (torch.from_numpy(a) @ torch.from_numpy(b)).relu().sum(0).numpy()
    assert np.allclose(got, np.maximum(a @ b, 0).sum(0))
    print(torch.transport())
""")


def buildah(*args, **kw):
    return subprocess.run(["buildah"] + list(args), capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture
def container():
    if buildah("inspect", "--type", "image", IMAGE).returncode != 0:
        pytest.fail("no image %s: run make image" % IMAGE)
    ctr = buildah("from", IMAGE).stdout.strip()
    vol = tempfile.mkdtemp(prefix="tensord-volume-")
    os.chmod(vol, 0o777)     # the container's user (tensord) creates the socket there
    yield ctr, vol
    buildah("rm", ctr)
    shutil.rmtree(vol, ignore_errors=True)


def test_image_serves_a_host_client(container):
    ctr, vol = container
    ldd = buildah("run", "--isolation", "chroot", ctr, "--", "ldd", "/usr/local/bin/tensord", "/usr/local/bin/tensordctl")
    assert ldd.returncode == 0 and "not found" not in ldd.stdout, ldd.stdout + ldd.stderr
    who = buildah("run", "--isolation", "chroot", ctr, "--", "id", "-un")
    assert who.stdout.strip() == "tensord", who.stdout + who.stderr

    errp = os.path.join(vol, "..", os.path.basename(vol) + ".stderr")
    with open(errp, "wb") as err:
        d = subprocess.Popen(["buildah", "run", "--isolation", "chroot", "-v", vol + ":/run/tensord", ctr, "--",
                              "/usr/local/bin/tensord", "--config", "/etc/tensord/tensord.conf"],
                             stdout=subprocess.DEVNULL, stderr=err)
    sock = os.path.join(vol, "tensord.sock")
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(sock):
            assert d.poll() is None, open(errp).read()
            assert time.monotonic() < deadline, open(errp).read()
            time.sleep(0.1)
        env = dict(os.environ, TENSORD_ADDRESS="unix:" + sock)
        p = subprocess.run([sys.executable, "-c", WORKLOAD], env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "shm"
        health = buildah("run", "--isolation", "chroot", "-v", vol + ":/run/tensord", ctr, "--",
                         "/usr/local/bin/tensordctl", "--address", "unix:/run/tensord/tensord.sock", "status")
        assert health.returncode == 0 and "sessions 0 (since start 1)" in health.stdout, health.stdout + health.stderr
        ctl = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build",
                           "tensordctl")
        st = subprocess.run([ctl, "--address", "unix:" + sock, "--json", "status"], capture_output=True, text=True,
                            timeout=60)
        daemon_pid = json.loads(st.stdout)["pid"]   # chroot isolation: no pid namespace
        # SIGTERM to the daemon itself (buildah run would SIGKILL it)
        os.kill(daemon_pid, signal.SIGTERM)
    finally:
        try:
            rc = d.wait(60)
        except subprocess.TimeoutExpired:
            d.kill()
            rc = "hung"
    log = open(errp).read()
    os.unlink(errp)
    assert "listening on unix:/run/tensord/tensord.sock" in log, log
    assert "stopped" in log and "ERROR" not in log, log
    assert rc == 0, log
