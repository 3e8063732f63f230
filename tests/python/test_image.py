"""The container image, built and run (slow: only with TENSORD_IMAGE_TEST=1; `make
check-image` builds it first with `make image`).  The daemon runs from the image as its
non-root user with the socket on a volume (a host directory); a Python client on the
host connects through that socket (on the shared-memory transport: memfds cross the
container boundary) and computes; the image's health check command answers; the runtime
stage lacks no library ldd asks for; SIGTERM stops the daemon cleanly.

The GPU variant (docker/Dockerfile.gpu, `make check-image-gpu`, TENSORD_GPU_IMAGE names
it): the same, plus the CUDA plugin and its libraries in /usr/local/lib/tensord with
nothing missing for ldd; on a machine without an NVIDIA driver (this one) the daemon
says "no NVIDIA driver" and serves the CPU.

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
GPU_IMAGE = os.environ.get("TENSORD_GPU_IMAGE")

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


def _container(image):
    if buildah("inspect", "--type", "image", image).returncode != 0:
        pytest.fail("no image %s: run make image (make image-gpu)" % image)
    ctr = buildah("from", image).stdout.strip()
    vol = tempfile.mkdtemp(prefix="tensord-volume-")
    os.chmod(vol, 0o777)     # the container's user (tensord) creates the socket there
    return ctr, vol


def _remove(ctr, vol):
    buildah("rm", ctr)
    shutil.rmtree(vol, ignore_errors=True)


@pytest.fixture
def container():
    ctr, vol = _container(IMAGE)
    yield ctr, vol
    _remove(ctr, vol)


@pytest.fixture
def gpu_container():
    if not GPU_IMAGE:
        pytest.skip("GPU image test: set TENSORD_GPU_IMAGE (make check-image-gpu)")
    ctr, vol = _container(GPU_IMAGE)
    yield ctr, vol
    _remove(ctr, vol)


def test_image_serves_a_host_client(container):
    _serve_a_host_client(*container)


def test_gpu_image_serves_the_cpu_without_a_driver(gpu_container):
    ctr, vol = gpu_container
    ldd = buildah("run", "--isolation", "chroot", ctr, "--", "ldd", "/usr/local/lib/tensord/libtensord_cuda.so")
    assert ldd.returncode == 0 and "not found" not in ldd.stdout, ldd.stdout + ldd.stderr
    assert "/usr/local/lib/tensord/libcublasLt" in ldd.stdout, ldd.stdout
    log = _serve_a_host_client(ctr, vol)
    assert "no GPU: no NVIDIA driver" in log and "serving the CPU" in log, log


def _serve_a_host_client(ctr, vol):
    """Runs the image's daemon with the socket volume, a host client computes, health
    check, SIGTERM; returns the daemon's log."""
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
    return log
