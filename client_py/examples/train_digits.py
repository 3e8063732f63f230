#!/usr/bin/python3
"""Trains a small CNN on scikit-learn's bundled digits (8x8 images, no download) with
tensord: nn, optim, DataLoader, checkpoints, resume.  The same file runs under PyTorch by
changing only the import line below.

  train_digits.py [--epochs N] [--out DIR] [--resume] [--quiet] [--seed S] [--device cuda]

Writes DIR/checkpoint.pt after every epoch (model, optimizer, epoch, history) and
DIR/curves.png (loss and accuracy per epoch).  --resume continues from the checkpoint.
"""
import argparse
import os
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import tensord as torch  # the only line to change for PyTorch: import torch

nn = torch.nn
F = torch.nn.functional
DataLoader = torch.utils.data.DataLoader
TensorDataset = torch.utils.data.TensorDataset


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 2 * 2, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))  # 8x8 -> 4x4
        x = self.pool(F.relu(self.conv2(x)))  # 4x4 -> 2x2
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def data(seed=0):
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)


def evaluate(model, loader, loss_fn, device):
    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            loss_sum += loss_fn(out, yb).item() * len(yb)
            correct += (out.argmax(dim=1) == yb).sum().item()
            total += len(yb)
    return loss_sum / total, correct / total


def progress(iterable, desc, quiet):
    if quiet:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, leave=False, file=sys.stdout)


def plot(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.plot(epochs, history["train_loss"], label="train")
    a.plot(epochs, history["test_loss"], label="test")
    a.set_xlabel("epoch")
    a.set_ylabel("loss")
    a.legend()
    b.plot(epochs, history["test_acc"], label="test accuracy")
    b.set_xlabel("epoch")
    b.set_ylabel("accuracy")
    b.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--out", default="digits-run")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")

    torch.manual_seed(args.seed)
    x_tr, x_te, y_tr, y_te = data()
    train = TensorDataset(torch.tensor(x_tr), torch.tensor(y_tr))
    test = TensorDataset(torch.tensor(x_te), torch.tensor(y_te))
    train_loader = DataLoader(train, batch_size=32, shuffle=True)
    test_loader = DataLoader(test, batch_size=256)

    device = torch.device(args.device)
    model = DigitsCNN().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    start = 0
    if args.resume and os.path.exists(ckpt_path):
        ckpt = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        history, start = ckpt["history"], ckpt["epoch"]
        print("resumed from %s at epoch %d" % (ckpt_path, start))

    t0 = time.perf_counter()
    for epoch in range(start, args.epochs):
        model.train()
        total, loss_sum = 0, 0.0
        for xb, yb in progress(train_loader, "epoch %d" % (epoch + 1), args.quiet):
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(yb)
            total += len(yb)
        sched.step()
        test_loss, test_acc = evaluate(model, test_loader, loss_fn, device)
        history["train_loss"].append(loss_sum / total)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
        print("epoch %2d  train loss %.4f  test loss %.4f  test accuracy %.4f"
              % (epoch + 1, loss_sum / total, test_loss, test_acc))
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "epoch": epoch + 1, "history": history}, ckpt_path)
    plot(history, os.path.join(args.out, "curves.png"))
    acc = history["test_acc"][-1] if history["test_acc"] else float("nan")
    print("final test accuracy %.4f (%.1f s)" % (acc, time.perf_counter() - t0))
    return acc


if __name__ == "__main__":
    main()
