"""A Python client of the installed package that must survive an install over it.

check_install.sh runs it against a daemon, waits for its first line (every library of the
package is loaded by then), installs the package again over the same files, then creates
the flag file named by argv[1]; this process then runs more ops through the same
libraries.  A library rewritten in place instead of replaced would fault here (SIGBUS).
"""
import os
import sys
import time

import numpy as np
import tensord as torch

a = torch.arange(6.0).reshape(2, 3)
print("before:", (a @ a.T).sum().item(), flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
x = np.arange(4096, dtype=np.float32).reshape(64, 64) / 4096
y = torch.from_numpy(x)
got = (y @ y).numpy()
assert np.allclose(got, x @ x, rtol=1e-5), "wrong matmul after the reinstall"
print("after:", float((a @ a.T).sum().item()), flush=True)
