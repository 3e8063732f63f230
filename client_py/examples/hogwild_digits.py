#!/usr/bin/python3
"""Hogwild training on scikit-learn's bundled digits: N processes train one shared model
at once, without locks, as PyTorch's mnist_hogwild example does.  The same file runs under
PyTorch with --torch.

  hogwild_digits.py [--num-processes N] [--epochs E] [--start-method fork|spawn|forkserver]
                    [--torch] [--quiet] [--seed S]

The parent builds the model and calls model.share_memory(); each trainer process gets the
model (inherited through fork, or pickled as capability tokens under spawn), reads its
share of the training set through a DistributedSampler and updates the parameters in
place with its own SGD optimizer.  Every process's updates land on the same storage in
the daemon, so the parent evaluates the result when they are done.  The last line:
"test accuracy A  samples/s S  processes N".
"""
import argparse
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


# the library, chosen before anything is defined: a spawn child re-imports this file with
# the parent's arguments and must define the same classes
if "--torch" in sys.argv:
    import torch
    import torch.multiprocessing as mp
else:
    import tensord as torch  # the only difference from PyTorch's version: import torch
    import tensord.multiprocessing as mp

nn = torch.nn
F = torch.nn.functional


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return F.log_softmax(self.fc3(x), dim=1)


def data(seed=0):
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    ds = torch.utils.data.TensorDataset
    return ds(torch.from_numpy(xtr), torch.from_numpy(ytr)), ds(torch.from_numpy(xte), torch.from_numpy(yte))


def train(rank, args, model, dataset):
    torch.manual_seed(args.seed + rank)
    torch.set_num_threads(1)
    sampler = torch.utils.data.DistributedSampler(dataset, num_replicas=args.num_processes, rank=rank,
                                                  seed=args.seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    model.train()
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        total = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.detach()
        # one value read per epoch: the sync that sends this process's updates
        mean = float(total.item()) / len(loader)
        if not args.quiet:
            print("process %d  epoch %2d  loss %.4f" % (rank, epoch, mean), flush=True)


def evaluate(model, dataset):
    model.eval()
    x, y = dataset.tensors
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean().item())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num-processes", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start-method", default="fork", choices=["fork", "spawn", "forkserver"])
    ap.add_argument("--torch", action="store_true", help="run with PyTorch instead of tensord")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    train_set, test_set = data()
    model = Net()
    model.share_memory()  # gradients are allocated lazily in each process: not shared
    ctx = mp.get_context(args.start_method)
    t0 = time.perf_counter()
    procs = []
    for rank in range(args.num_processes):
        p = ctx.Process(target=train, args=(rank, args, model, train_set))
        p.start()
        procs.append(p)
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    if any(p.exitcode != 0 for p in procs):
        sys.exit("a trainer process failed: exit codes %s" % [p.exitcode for p in procs])
    acc = evaluate(model, test_set)
    samples = args.epochs * len(train_set)
    print("test accuracy %.4f  samples/s %.0f  processes %d" % (acc, samples / elapsed, args.num_processes))
    return acc


if __name__ == "__main__":
    main()
