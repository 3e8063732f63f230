"""A small CNN trained a few steps on cuda:0 and on the CPU from the same start (tensord
both times): the GPU's loss must fall, and follow the CPU's loosely (float32 with TF32 off;
kernels and summation orders differ, so the trajectories drift apart slowly, never far).

Data: one of 10 fixed random images per label under noise (learnable: the loss falls).
Run by tests/gpu/daemon_checks.sh against its daemon (TENSORD_ADDRESS).  Exit 0 when both
hold; prints each step's losses and the time per step on each device.
"""
import sys
import time

import numpy as np

import tensord as torch

torch.backends.cudnn.allow_tf32 = False  # the CPU comparison is in float32
from tensord import nn

STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
F = nn.functional


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.c1(x))), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.fc(x.flatten(1))


def data(rng, n=64 * 8):
    templates = np.random.default_rng(99).standard_normal((10, 3, 16, 16))
    y = rng.integers(0, 10, n)
    x = (templates[y] + 1.5 * rng.standard_normal((n, 3, 16, 16))).astype(np.float32)
    return x, y


def train(device, x, y, init):
    torch.manual_seed(0)
    model = Net()
    model.load_state_dict(init)
    model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    xs, ys = torch.tensor(x).to(device), torch.tensor(y).to(device)
    losses, times = [], []
    for step in range(STEPS):
        b = (step % 8) * 64
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(xs[b:b + 64]), ys[b:b + 64])
        loss.backward()
        opt.step()
        losses.append(loss.item())  # a sync: the step is done
        times.append(time.perf_counter() - t0)
    return losses, float(np.median(times[2:]))


def main():
    x, y = data(np.random.default_rng(1))
    torch.manual_seed(0)
    init = {k: v.clone() for k, v in Net().state_dict().items()}
    gpu, tg = train("cuda:0", x, y, init)
    cpu, tc = train("cpu", x, y, init)
    ok = True
    print("step   cpu loss   gpu loss")
    for i, (c, g) in enumerate(zip(cpu, gpu)):
        print("%4d  %9.5f  %9.5f" % (i, c, g))
    first, last = np.mean(gpu[:4]), np.mean(gpu[-4:])
    if not last < 0.7 * first:
        print("FAIL: the GPU loss did not fall: first steps %.4f, last %.4f" % (first, last))
        ok = False
    drift = max(abs(c - g) / max(1.0, abs(c)) for c, g in zip(cpu, gpu))
    if not np.all(np.isfinite(gpu)) or drift > 0.05:
        print("FAIL: the GPU loss left the CPU's trajectory: worst relative gap %.3g" % drift)
        ok = False
    print("train: %d steps, loss %.4f -> %.4f (gpu), worst gap to cpu %.2g; ms/step gpu %.2f cpu %.2f; %s" % (
        STEPS, gpu[0], gpu[-1], drift, tg * 1e3, tc * 1e3, torch.cuda.get_device_name(0)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
