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
