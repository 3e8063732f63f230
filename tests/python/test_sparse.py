"""Sparse COO tensors (tensord.sparse) against PyTorch 1.13's: construction and its errors,
coalesce, to_dense/to_sparse, sums, products with strided tensors and their gradients, and
a graph-convolution training program (the pattern of pytorch/examples' gcn) run under
`python -m tensord` and under PyTorch, losses compared."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch as T

import tensord as td

IDX = [[0, 1, 1, 2, 0], [2, 0, 2, 1, 2]]  # (0, 2) twice: uncoalesced
VAL = [3.0, 4.0, 5.0, -1.0, 0.5]


def both(fn):
    return fn(T), fn(td)


def test_construction_coalesce_and_dense_like_torch():
    want, got = both(lambda m: m.sparse_coo_tensor(IDX, VAL, (3, 4)))
    assert got.is_sparse and got.layout == td.sparse_coo and not got.is_coalesced()
    assert (got._nnz(), got.sparse_dim(), got.dense_dim(), list(got.shape)) == (5, 2, 0, [3, 4])
    np.testing.assert_array_equal(got.to_dense().numpy(), want.to_dense().numpy())
    wc, gc = want.coalesce(), got.coalesce()
    assert gc.is_coalesced() and gc._nnz() == wc._nnz() == 4
    np.testing.assert_array_equal(gc.indices().numpy(), wc.indices().numpy())
    np.testing.assert_array_equal(gc.values().numpy(), wc.values().numpy())
    assert repr(gc) == repr(wc)
    with pytest.raises(RuntimeError, match="Cannot get indices on an uncoalesced tensor"):
        got.indices()
    # size inferred; float64 and int32 values; a dense dimension; empty
    for make in (lambda m: m.sparse_coo_tensor(IDX, m.tensor(VAL, dtype=m.float64)),
                 lambda m: m.sparse_coo_tensor(IDX, m.tensor([1, 2, 3, 4, 5], dtype=m.int32), (4, 3)),
                 lambda m: m.sparse_coo_tensor([[0, 2]], [[1.0, 2.0], [3.0, 4.0]], (3, 2)),
                 lambda m: m.zeros(2, 3).to_sparse(),
                 lambda m: m.tensor([[0.0, 2.0], [0.0, 0.0]]).to_sparse(1),
                 lambda m: m.tensor([[0.0, 2.0], [-1.5, 0.0]]).to_sparse()):
        w, g = both(make)
        assert repr(g) == repr(w)
        np.testing.assert_array_equal(g.to_dense().numpy(), w.to_dense().numpy())


@pytest.mark.parametrize("bad", [
    lambda m: m.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,)),
    lambda m: m.sparse_coo_tensor([[0, -1]], [1.0, 2.0], (3,)),
    lambda m: m.sparse_coo_tensor([[0, 1]], [1.0, 2.0, 3.0], (3,)),
    lambda m: m.sparse_coo_tensor([0, 1], [1.0, 2.0], (3,)),
])
def test_construction_errors_like_torch(bad):
    with pytest.raises(RuntimeError) as want:
        bad(T)
    with pytest.raises(RuntimeError) as got:
        bad(td)
    assert str(got.value).split("\n")[0] == str(want.value).split("\n")[0]


def test_sums_scaling_and_addition_like_torch():
    w, g = both(lambda m: m.sparse_coo_tensor(IDX, VAL, (3, 4)))
    assert td.sparse.sum(g).item() == T.sparse.sum(w).item()
    for dim in (0, 1, (0, 1)):
        a, b = T.sparse.sum(w, dim), td.sparse.sum(g, dim)
        a = a.to_dense() if a.is_sparse else a
        b = b.to_dense() if b.is_sparse else b
        np.testing.assert_allclose(b.numpy(), a.numpy())
    for op in (lambda s: s * 2, lambda s: -s, lambda s: s / 4, lambda s: s + s, lambda s: s - s.coalesce(),
               lambda s: s.t(), lambda s: s.coalesce() + s.coalesce()):
        np.testing.assert_allclose(op(g).to_dense().numpy(), op(w).to_dense().numpy())
    dense = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose((td.tensor(dense) + g).numpy(), (T.tensor(dense) + w).numpy())
    with pytest.raises(RuntimeError) as want:
        w + T.tensor(dense)
    with pytest.raises(RuntimeError) as got:
        g + td.tensor(dense)
    assert str(got.value) == str(want.value)
    # torch.eye(V) + an int64 sparse adjacency (gcn's self loops): float, strided
    a, b = both(lambda m: m.eye(3, 4) + m.sparse_coo_tensor(IDX, m.ones(5), (3, 4), dtype=m.int64))
    assert b.dtype == td.float32 and not b.is_sparse
    np.testing.assert_array_equal(b.numpy(), a.numpy())
    with pytest.raises(NotImplementedError, match="exp is not supported on sparse COO tensors"):
        g.exp()


def test_products_and_gradients_like_torch():
    rng = np.random.default_rng(0)
    d = rng.standard_normal((4, 3)).astype(np.float32)
    res = []
    for m in (T, td):
        s = m.sparse_coo_tensor(IDX, VAL, (3, 4))
        x = m.tensor(d, requires_grad=True)
        y1 = m.sparse.mm(s, x)
        y2 = m.spmm(s, x) * 2 + s @ x + m.mm(s, x)
        y3 = m.sparse.addmm(m.ones(3, 3), s, x, beta=0.5, alpha=2.0)
        (y1.sum() + (y2 * y2).sum() + y3.pow(3).sum()).backward()
        vec = s.coalesce() @ m.tensor(d[:, 0]) if m is td else m.mv(s, m.tensor(d[:, 0]))
        res.append([y1.detach().numpy(), y2.detach().numpy(), y3.detach().numpy(), x.grad.numpy(), vec.numpy()])
    for got, want in zip(res[1], res[0]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # strided @ sparse (torch 1.13 lacks it; torch 2.x has it): against strided @ strided
    s = td.sparse_coo_tensor(IDX, VAL, (3, 4))
    a = td.tensor(rng.standard_normal((2, 3)).astype(np.float32))
    np.testing.assert_allclose((a @ s).numpy(), (a @ s.to_dense()).numpy(), rtol=1e-6)
    np.testing.assert_allclose((s @ s.t()).to_dense().numpy(), (s.to_dense() @ s.to_dense().t()).numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        s @ td.ones(3, 2)
    with pytest.raises(NotImplementedError, match="require grad"):
        td.sparse_coo_tensor(IDX, VAL, (3, 4), requires_grad=True)


GCN = textwrap.dedent("""
    import numpy as np
    import torch
    from torch import nn
    import torch.nn.functional as F

    class GraphConv(nn.Module):
        def __init__(self, input_dim, output_dim):
            super().__init__()
            self.kernel = nn.Parameter(torch.Tensor(input_dim, output_dim))
            nn.init.xavier_normal_(self.kernel)

        def forward(self, input_tensor, adj_mat):
            support = torch.mm(input_tensor, self.kernel)
            return torch.spmm(adj_mat, support)

    class GCN(nn.Module):
        def __init__(self, input_dim, hidden_dim, output_dim):
            super().__init__()
            self.gc1, self.gc2 = GraphConv(input_dim, hidden_dim), GraphConv(hidden_dim, output_dim)
            self.dropout = nn.Dropout(0.5)

        def forward(self, x, adj):
            x = self.dropout(F.relu(self.gc1(x, adj)))
            return F.log_softmax(self.gc2(x, adj), dim=1)

    rng = np.random.default_rng(7)
    V, FEAT, E = 120, 40, 400
    features = torch.FloatTensor((rng.random((V, FEAT)) < 0.1).astype(np.int32))
    scale = 1 / torch.sum(features, dim=1)
    scale[scale == float("inf")] = 0
    features = torch.diag(scale).to_sparse() @ features
    labels = torch.LongTensor(rng.integers(0, 4, V))
    edges = rng.integers(0, V, (E, 2))
    adj = torch.sparse_coo_tensor(edges.T, torch.ones(E), (V, V), dtype=torch.int64)
    adj = torch.eye(V) + adj
    degree = torch.sqrt(1 / torch.sum(adj, dim=1))
    degree[degree == float("inf")] = 0
    degree = torch.diag(degree).to_sparse()
    adj = degree @ (degree @ adj.t()).t()  # D A D, through products torch 1.13 has
    features, adj = features.to_sparse(), adj.to_sparse()
    print("nnz", features._nnz(), adj._nnz(), adj.is_coalesced())
    torch.manual_seed(42)
    model = GCN(FEAT, 16, 4)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    for epoch in range(15):
        model.train()
        opt.zero_grad()
        loss = F.nll_loss(model(features, adj)[:80], labels[:80])
        loss.backward()
        opt.step()
        print("epoch", epoch, round(loss.item(), 4))
    model.eval()
    with torch.no_grad():
        out = model(features, adj)[80:]
    print("accuracy", round((out.argmax(1) == labels[80:]).float().mean().item(), 4))
""")


def test_graph_convolution_program_like_torch(tmp_path):
    (tmp_path / "gcn.py").write_text(GCN)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(td.__file__)))
    runs = [subprocess.run([sys.executable, *args, "gcn.py"], capture_output=True, text=True, timeout=300,
                           cwd=str(tmp_path), env=env) for args in ([], ["-m", "tensord"])]
    for r in runs:
        assert r.returncode == 0, r.stderr
    want, got = (r.stdout.splitlines() for r in runs)
    assert len(want) == 17 and got[0] == want[0]
    for w, g in zip(want[1:], got[1:], strict=True):
        assert w.split()[:-1] == g.split()[:-1]
        assert abs(float(w.split()[-1]) - float(g.split()[-1])) < 2e-4, (want, got)


def test_compressed_layouts_refused_clearly():
    for name in ("to_sparse_csr", "to_sparse_csc", "to_sparse_bsr", "to_sparse_bsc"):
        with pytest.raises(NotImplementedError, match="sparse COO tensors only"):
            getattr(td.ones(2, 2), name)()
