"""Ordinary PyTorch tensor code, run unchanged: each script below is executed twice,
once with `torch` bound to PyTorch 1.13 and once bound to tensord, and every value it
reports must agree.  The first ones write gradients out by hand, as numerical code often
does; the training scripts at the end use autograd, nn, optim and DataLoader."""
import textwrap

import numpy as np
import pytest
import torch

import tensord

SCRIPTS = {
    "linear_regression_gd": """
        g = torch.Generator().manual_seed(0)
        X = torch.tensor(DATA_X)
        y = X @ torch.tensor([1.5, -2.0, 0.5]) + 0.25
        w = torch.zeros(3)
        b = torch.tensor(0.0)
        for step in range(200):
            pred = X @ w + b
            err = pred - y
            w -= 0.1 * (X.T @ err) / X.shape[0]
            b -= 0.1 * err.mean()
        report(w, b, ((X @ w + b - y) ** 2).mean())
    """,
    "kmeans": """
        pts = torch.tensor(DATA_PTS)
        centers = pts[[0, 50, 100]].clone()
        for it in range(10):
            d = torch.cdist(pts, centers)
            assign = d.argmin(dim=1)
            for k in range(3):
                members = pts[assign == k]
                if members.shape[0] > 0:
                    centers[k] = members.mean(dim=0)
        report(centers, torch.bincount(assign, minlength=3))
    """,
    "pca_svd": """
        A = torch.tensor(DATA_X)
        A = A - A.mean(dim=0, keepdim=True)
        U, S, Vh = torch.linalg.svd(A, full_matrices=False)
        explained = S ** 2 / (S ** 2).sum()
        proj = A @ Vh.T[:, :2]
        report(S, explained, proj.abs().sum(dim=0), torch.linalg.matrix_rank(A))
    """,
    "softmax_classifier_forward": """
        X = torch.tensor(DATA_X, dtype=torch.float64)
        W = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(3, 4)
        logits = X @ W
        p = torch.softmax(logits, dim=1)
        labels = logits.argmax(dim=1)
        nll = -torch.log_softmax(logits, dim=1).gather(1, labels[:, None]).mean()
        top2 = torch.topk(p, 2, dim=1)
        report(p.sum(dim=1), nll, top2.values[:5], top2.indices[:5], torch.unique(labels, return_counts=True))
    """,
    "solve_and_stats": """
        A = torch.tensor(DATA_SPD)
        b = torch.arange(4, dtype=A.dtype)
        x = torch.linalg.solve(A, b)
        L = torch.linalg.cholesky(A)
        w, V = torch.linalg.eigh(A)
        report(x, torch.dist(A @ x, b), torch.diagonal(L), w,
               torch.var_mean(A, dim=0, correction=1), torch.quantile(A.flatten(), 0.3), torch.median(A))
    """,
    "image_like_ops": """
        img = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8) / 100
        x = torch.nn.functional.pad(img, (1, 1, 1, 1), mode="reflect")
        patches = x.unfold(2, 3, 2).unfold(3, 3, 2)
        pooled = patches.amax(dim=(-1, -2))
        flipped = torch.flip(img, dims=[3])
        rolled = torch.roll(img, shifts=(1, -2), dims=(2, 3))
        mask = img > img.mean()
        report(pooled.shape, pooled.sum(), (flipped - rolled).abs().max(), mask.sum(), img[mask].std(),
               torch.where(mask, img, torch.zeros_like(img)).sum(dim=(2, 3)))
    """,
    "complex_fft_like": """
        n = 8
        k = torch.arange(n, dtype=torch.float64)
        M = torch.exp(-2j * torch.pi * torch.outer(k, k) / n)
        sig = torch.cos(2 * torch.pi * 2 * k / n) + 0.5 * torch.sin(2 * torch.pi * 3 * k / n)
        spec = M @ sig.to(torch.complex128)  # the signal is in bins 2 and 3
        w = torch.linalg.eigvals(torch.tensor([[0.0, -1.0], [1.0, 0.0]]))
        report(spec.abs(), spec.angle()[2:4], torch.view_as_real(spec)[2], w.imag.sort().values)
    """,
    "dtype_juggling": """
        a = torch.tensor([250, 5, 7], dtype=torch.uint8)
        b = a + 10
        c = a.to(torch.int16) * 300
        d = torch.tensor([1.5, -2.5, 3.5]).round()
        e = torch.tensor([7, -7]) // 2
        f = torch.full((2, 2), 3, dtype=torch.float16) / 7
        g = torch.tensor([1, 2, 3]).float().cumsum(0) / torch.tensor(2)
        report(b, c, d, e, f.float(), g, torch.result_type(a, 1.0), (a > 6).sum().item())
    """,

    "attention": """
        torch.manual_seed(0)
        q = torch.tensor(DATA_X[:8]).reshape(2, 4, 3)
        k = q.flip(1) * 0.5
        v = q.transpose(1, 2).contiguous().transpose(1, 2) + 1
        scores = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
        mask = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(mask, float('-inf'))
        att = scores.softmax(dim=-1)
        out = torch.einsum('bij,bjd->bid', att, v)
        report(att, out, repr(att[0, 0]), f"{out.sum().item():.4f}", out.new_zeros(2).tolist(),
               out.new_tensor([1, 2]).dtype)
    """,
    "one_hot_scatter": """
        labels = torch.tensor([2, 0, 1, 2, 1])
        oh = torch.nn.functional.one_hot(labels, num_classes=3)
        z = torch.zeros(5, 3).scatter_(1, labels.unsqueeze(1), 1.0)
        ranks = torch.argsort(torch.argsort(torch.tensor([3.0, 1.0, 2.0, 5.0, 4.0])))
        counts = torch.zeros(3, dtype=torch.long).index_add_(0, labels, torch.ones(5, dtype=torch.long))
        report(oh, z, ranks, counts, oh.dtype, torch.stack([labels * i for i in range(3)]).sum(0))
    """,
    "layernorm_manual": """
        x = torch.tensor(DATA_X).reshape(16, 12)
        mu = x.mean(-1, keepdim=True)
        var = x.var(-1, unbiased=False, keepdim=True)
        y = (x - mu) / torch.sqrt(var + 1e-5)
        with torch.no_grad():
            z = y.clamp(min=-1.0, max=1.0)
        report(y.mean(-1), y.std(-1, unbiased=False), z.abs().max(), x.numpy().shape,
               torch.from_numpy(x.numpy()).sum())
    """,
    "misc_idioms": """
        a = torch.arange(12).view(3, 4)
        b = a.permute(1, 0).contiguous().view(-1)
        c = torch.cat([a, a * 2], dim=0)[::2, 1::2]
        d = a.float().div_(3).floor_()
        e = torch.where(a % 2 == 0, a, -a)
        f = a.max(dim=1)
        g, h = torch.chunk(a, 2, dim=1)
        i = torch.nonzero(a > 8)
        j = a.sum().item() + len(a) + a.numel()
        k = torch.tensor([[1, 2], [3, 4]]).T.flatten().tolist()
        report(b, c, d, e, f.values, f.indices, g, h, i, j, k, a.dtype, a.is_contiguous(), a.t().is_contiguous())
    """,
    "autograd_regression": """
        X = torch.tensor(DATA_X, dtype=torch.float64)
        y = (X @ torch.tensor([1.5, -2.0, 0.5], dtype=torch.float64) + 0.25).sin()
        w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        b = torch.zeros((), dtype=torch.float64, requires_grad=True)
        losses = []
        for step in range(60):
            loss = ((torch.tanh(X @ w + b) - y) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                w -= 0.2 * w.grad
                b -= 0.2 * b.grad
            w.grad.zero_()
            b.grad = None
            losses.append(loss.item())
        report(losses[::10], w, b, w.requires_grad, loss.grad_fn is not None)
    """,
    "mlp_adam_cross_entropy": """
        torch.manual_seed(0)
        X = torch.tensor(DATA_X, dtype=torch.float64)
        labels = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()
        model = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)).double()
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.linspace(-0.7, 0.9, p.numel(), dtype=torch.float64).reshape(p.shape).cos())
        opt = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-4)
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
        losses = []
        for epoch in range(40):
            opt.zero_grad()
            loss = loss_fn(model(X), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            losses.append(loss.item())
        acc = (model(X).argmax(dim=1) == labels).float().mean()
        report(losses[::8], acc, model[0].weight[:2], opt.state_dict()["state"][0]["step"])
    """,
    "cnn_sgd_steplr_dataloader": """
        imgs = torch.tensor(DATA_X, dtype=torch.float64).reshape(-1, 1, 4, 4)[:, :, :, :]
        targets = (imgs.sum(dim=(1, 2, 3)) > 0).long()
        ds = torch.utils.data.TensorDataset(imgs, targets)
        loader = torch.utils.data.DataLoader(ds, batch_size=4, shuffle=False, drop_last=True)
        net = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                  torch.nn.Flatten(), torch.nn.Linear(12, 2)).double()
        with torch.no_grad():
            for i, p in enumerate(net.parameters()):
                p.copy_(torch.linspace(-0.4, 0.5 + i, p.numel(), dtype=torch.float64).reshape(p.shape).sin())
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        history = []
        for epoch in range(4):
            for xb, yb in loader:
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(net(xb), yb)
                loss.backward()
                opt.step()
            sched.step()
            history.append((loss.item(), sched.get_last_lr()[0]))
        report(history, net[0].bias, net[4].weight.grad[0])
    """,
}

DATA = {
    "DATA_X": np.random.default_rng(0).standard_normal((64, 3)).round(3).tolist(),
    "DATA_PTS": np.concatenate([np.random.default_rng(1).normal(c, 0.3, (50, 2))
                                for c in ((0, 0), (3, 3), (0, 4))]).round(3).tolist(),
    "DATA_SPD": (lambda m: (m @ m.T + 4 * np.eye(4)).round(6).tolist())(
        np.random.default_rng(2).standard_normal((4, 4))),
}


def _flat(v):
    """Reported values as nested Python data (tensors -> (dtype, values))."""
    if isinstance(v, (torch.Tensor, tensord.Tensor)):
        return ("tensor", str(v.dtype), v.tolist())
    if isinstance(v, (tuple, list)):
        return [_flat(x) for x in v]
    if isinstance(v, (torch.dtype, tensord.dtype)):
        return str(v)
    return v


def _run(mod, src):
    out = []
    ns = {"torch": mod, "report": lambda *vs: out.extend(_flat(v) for v in vs)}
    ns.update(DATA)
    exec(textwrap.dedent(src), ns)  # noqa: S102 - the scripts above, nothing external
    return out


def _close(a, b, path="value", tol=2e-5):
    if isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), (path, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, "%s[%d]" % (path, i), tol)
    elif isinstance(a, tuple) and a and a[0] == "tensor":
        assert a[1] == b[1], (path, a[1], b[1])
        _close(a[2], b[2], path, tol)
    elif isinstance(a, float) or isinstance(b, float) or isinstance(a, complex) or isinstance(b, complex):
        np.testing.assert_allclose(np.asarray(a, dtype=complex), np.asarray(b, dtype=complex),
                                   rtol=tol, atol=tol, err_msg=path)
    else:
        assert a == b, (path, a, b)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_runs_unchanged(name):
    want = _run(torch, SCRIPTS[name])
    got = _run(tensord, SCRIPTS[name])
    _close(got, want)
