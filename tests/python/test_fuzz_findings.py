"""What the libFuzzer targets found (tests/fuzz), replayed as a client can send it, each
against an independent expectation.  (fuzz_meta's findings, inputs read before checking
that a record has them, are check_shape's test_inputs_read_within.)

- fuzz_messages: adaptive pooling to an output with a size-0 dim and a huge other dim,
  (2**40, 0), is an empty tensor, but the kernel walked 2**40 empty rows (hours).  Run in
  a child with its own private daemon and a time limit, so a regression fails, not hangs.
"""
import os
import subprocess
import sys
import textwrap

from conftest import _binary


def test_adaptive_pool_to_an_empty_huge_output(tmp_path):
    script = textwrap.dedent("""
        import tensord as torch
        import tensord.nn.functional as F
        x = torch.ones(1, 1, 3, 3)
        for f in (F.adaptive_max_pool2d, F.adaptive_avg_pool2d):
            y = f(x, (2**40, 0))
            assert tuple(y.shape) == (1, 1, 2**40, 0), y.shape
            assert y.sum().item() == 0.0
        y = F.adaptive_max_pool3d(torch.ones(1, 1, 2, 2, 2), (2**30, 0, 2**10))
        assert tuple(y.shape) == (1, 1, 2**30, 0, 2**10), y.shape
        torch.synchronize()
        print("ok")
    """)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path), TENSORD_BIN=_binary())
    env.pop("TENSORD_ADDRESS", None)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr
