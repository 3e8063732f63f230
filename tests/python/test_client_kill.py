"""A client SIGKILLed mid-stream: the daemon keeps serving and frees everything it held."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import tensord._C as _C

SCRIPT = textwrap.dedent("""
    import sys
    import tensord as torch
    keep = []
    i = 0
    while True:
        keep.append(torch.full((256, 256), float(i)) + 1)
        i += 1
        if i == 20:
            torch.synchronize()
            print("running", flush=True)
""")


def _stats(addr):
    return _C.stats(addr)


def test_killed_client_is_cleaned_up(fresh_daemon, tmp_path):
    addr = fresh_daemon["address"]
    base = _stats(addr)
    script = tmp_path / "hog.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, TENSORD_ADDRESS=addr)
    p = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        line = p.stdout.readline()
        assert line.strip() == "running", p.stderr.read()
        time.sleep(0.3)
        busy = _stats(addr)
        assert busy["sessions"] == base["sessions"] + 1
        assert busy["tensors"] > base["tensors"] and busy["bytes_in_use"] > base["bytes_in_use"]
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    deadline = time.monotonic() + 10
    while True:
        s = _stats(addr)
        if (s["sessions"], s["tensors"], s["bytes_in_use"]) == (base["sessions"], base["tensors"],
                                                                 base["bytes_in_use"]):
            break
        assert time.monotonic() < deadline, (base, s)
        time.sleep(0.1)
    # the daemon still serves a normal client
    out = subprocess.run([sys.executable, "-c", "import tensord as t; print((t.arange(10) * 2).sum().item())"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "90"
