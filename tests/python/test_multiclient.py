"""Three client processes share one daemon at once, each checking its own results."""
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import tensord as torch

    k = int(sys.argv[1])
    rng = np.random.default_rng(k)
    for it in range(30):
        a = rng.standard_normal((16, 8))
        b = rng.standard_normal((8, 4))
        x, y = torch.tensor(a), torch.tensor(b)
        r = (x @ y * k + 1).sum(0)
        want = (a @ b * k + 1).sum(0)
        assert np.allclose(r.numpy(), want, rtol=1e-10, atol=1e-10), (k, it)
        z = torch.arange(100, dtype=torch.int64) * k
        assert z.sum().item() == 4950 * k
        m = torch.full((50,), float(k)).view(5, 10)
        m[2] += 1
        assert m.sum().item() == 50 * k + 10
    torch.manual_seed(k)
    s1 = torch.rand(5).tolist()
    torch.manual_seed(k)
    assert torch.rand(5).tolist() == s1
    print("ok", k)
""")


def test_three_clients_at_once(daemon, tmp_path):
    script = tmp_path / "client.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, TENSORD_ADDRESS=daemon["address"])
    procs = [subprocess.Popen([sys.executable, str(script), str(k)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in (1, 2, 3)]
    for k, p in zip((1, 2, 3), procs):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == "ok %d" % k


HEAVY = textwrap.dedent("""
    import sys, time
    import tensord as torch
    a = torch.randn(384, 384)
    torch.synchronize()
    print("go", flush=True)
    t0 = time.monotonic()
    for _ in range(int(sys.argv[1])):
        a = torch.tanh(a @ a) # a long stream of work, never read until the end
    a.sum().item()
    print("heavy done", flush=True)
""")

LIGHT = textwrap.dedent("""
    import tensord as torch
    x = torch.zeros(4)
    for i in range(100):
        x = x + 1
        assert x[0].item() == i + 1   # a sync: waits for this session's work only
    print("light done", flush=True)
""")


def test_busy_session_does_not_starve_another(fresh_daemon, tmp_path):
    """A session with seconds of queued matmuls and one doing a hundred small syncs: the
    small one finishes long before the busy one (each session runs on its own worker, the
    busy one's queue is bounded), so neither waits behind the other's backlog."""
    env = dict(os.environ, TENSORD_ADDRESS=fresh_daemon["address"])
    heavy = subprocess.Popen([sys.executable, "-c", HEAVY, "1500"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert heavy.stdout.readline().strip() == "go", heavy.stderr.read()
        light = subprocess.run([sys.executable, "-c", LIGHT], env=env, capture_output=True, text=True, timeout=300)
        assert light.returncode == 0 and light.stdout.strip() == "light done", light.stderr
        assert heavy.poll() is None, "the busy session finished first: it was not busy enough to show anything"
    finally:
        heavy.kill()
        heavy.wait()
        heavy.stdout.close()
        heavy.stderr.close()
