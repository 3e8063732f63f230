"""tensord demo: the main job on the embedded default.

    PYTHONPATH=build/python python3 client_py/examples/demo.py

`import tensord as torch` connects to $TENSORD_ADDRESS or the default socket, and
otherwise starts a private daemon for this process.  The script checks every result
against numpy and exits non-zero on a mismatch.
"""
import sys

import numpy as np

import tensord as torch

failures = []


def check(name, got, want, tol=1e-5):
    got = np.asarray(got.detach().numpy() if isinstance(got, torch.Tensor) else got, dtype=np.float64)
    ok = got.shape == np.shape(want) and np.allclose(got, want, rtol=tol, atol=tol)
    print("%-28s %s" % (name, "ok" if ok else "MISMATCH"))
    if not ok:
        failures.append(name)
        print("   got ", got, "\n   want", np.asarray(want))


# 1. tensors and broadcasting arithmetic
a = torch.arange(12, dtype=torch.float32).view(3, 4)
b = torch.tensor([1.0, -2.0, 0.5, 4.0])
na, nb = np.arange(12, dtype=np.float32).reshape(3, 4), np.array([1.0, -2.0, 0.5, 4.0], np.float32)
print(a)
c = (a + b) * 2 - a / (b + 3)
check("broadcast arithmetic", c, (na + nb) * 2 - na / (nb + 3))
check("column broadcast", a * torch.tensor([[1.0], [10.0], [100.0]]), na * np.array([[1.0], [10.0], [100.0]]))
check("int / promotion", torch.tensor([1, 2, 3]) / 2 + 0.5, np.array([1, 2, 3]) / 2 + 0.5)

# 2. reductions
check("sum", a.sum(), na.sum())
check("mean over dim 0", a.mean(0), na.mean(0))
check("max over dim 1", a.max(1).values, na.max(1))
check("argmax", a.argmax(dim=1), na.argmax(1))
check("sum keepdim", a.sum(-1, keepdim=True), na.sum(-1, keepdims=True))

# 3. least squares: y = X w + noise, solved by the normal equations
#    (X^T X) w = X^T y with a hand-written Gauss-Jordan on the small system,
#    then refined by gradient descent on the daemon.
torch.manual_seed(0)
n, d = 256, 3
X = torch.cat([torch.ones(n, 1, dtype=torch.float64), torch.rand(n, d - 1, dtype=torch.float64) * 4 - 2], dim=1)
w_true = torch.tensor([[0.5], [-1.25], [2.0]], dtype=torch.float64)
y = X @ w_true + torch.randn(n, 1, dtype=torch.float64) * 0.01

A = (X.t() @ X).tolist()
r = (X.t() @ y).tolist()
M = [row + rr for row, rr in zip(A, r)]
for i in range(d):
    p = max(range(i, d), key=lambda k: abs(M[k][i]))
    M[i], M[p] = M[p], M[i]
    piv = M[i][i]
    M[i] = [v / piv for v in M[i]]
    for k in range(d):
        if k != i:
            f = M[k][i]
            M[k] = [vk - f * vi for vk, vi in zip(M[k], M[i])]
w_ne = torch.tensor([[M[i][d]] for i in range(d)], dtype=torch.float64)

nX, ny = X.numpy(), y.numpy()
w_np = np.linalg.lstsq(nX, ny, rcond=None)[0]
check("normal equations", w_ne, w_np, tol=1e-8)

w = torch.zeros(d, 1, dtype=torch.float64)
lr = 0.1
for step in range(300):
    grad = X.t() @ (X @ w - y) / n
    w -= lr * grad
check("gradient descent", w, w_np, tol=1e-4)
resid = ((X @ w_ne - y) ** 2).mean().sqrt()
print("fitted w:", w_ne.flatten(), " residual rms: %.4f" % resid.item())
check("residual ~ noise", resid.item(), 0.01, tol=0.005)

# 4. views write through to the base
z = torch.zeros(3, 4)
z[1] = 5
z[:, 2] += 1
z.t()[0].fill_(-1)
nz = np.zeros((3, 4))
nz[1] = 5
nz[:, 2] += 1
nz[:, 0] = -1
check("writes through views", z, nz)

if failures:
    print("FAILED:", ", ".join(failures))
    sys.exit(1)
print("all results match numpy")
